//! Small dense kernels for the learning steps of the gain networks.
//!
//! The steps of both models factor `A = alpha I + W diag(g) W^T` (`N x N`) once per step and
//! solve with it. At the smallest sizes the papers use (`N` = 2, 3, 6) a general-purpose dense
//! library spends most of a step allocating and dispatching, so a plain Cholesky on reused
//! contiguous buffers is several times faster (`cargo xtask bench-gain`). Written for a
//! compile-time size (below) it stays about twice as fast as faer's blocked kernels up to
//! `N = SMALL_N = 16` (offline step with `K = 2N`: 5.9 us at `N = 16` against 11 us at 17);
//! the instances are compiled for every size up to there. [`Chol`]
//! holds that factor `A = L L^T` when `A` is positive definite and `N <= SMALL_N`; otherwise the
//! caller falls back to [`super::solve::Factor`] (faer's blocked Cholesky or, for an indefinite
//! `A`, a pivoted LU after a singularity check). Both give the same results to rounding.
//!
//! The arithmetic is written once, for a compile-time size `N` (`with_const_n!` picks the
//! instance for the runtime size), so that the short loops are unrolled and vectorised. The
//! online steps ([`Workspace::respond_and_project`]) and the offline gain step
//! ([`Workspace::offline_gradient`]) run on reused buffers without allocating; the offline
//! step solves all `N` right-hand sides of `A^{-1} C A^{-1}` together, with exactly the
//! operations of one solve per column (a test checks this bit for bit), so results do not
//! depend on which path ran.

use faer::{Mat, MatRef};

/// `Some($f::<N>(args))` for the runtime size `$n` in `1..=SMALL_N`, `None` otherwise: the
/// kernels below are written for a compile-time size, so that their short loops are unrolled
/// and vectorised; the operations and their order are those of a loop over a runtime size.
macro_rules! with_const_n {
    ($n:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $n {
            1 => Some($f::<1>($($arg),*)),
            2 => Some($f::<2>($($arg),*)),
            3 => Some($f::<3>($($arg),*)),
            4 => Some($f::<4>($($arg),*)),
            5 => Some($f::<5>($($arg),*)),
            6 => Some($f::<6>($($arg),*)),
            7 => Some($f::<7>($($arg),*)),
            8 => Some($f::<8>($($arg),*)),
            9 => Some($f::<9>($($arg),*)),
            10 => Some($f::<10>($($arg),*)),
            11 => Some($f::<11>($($arg),*)),
            12 => Some($f::<12>($($arg),*)),
            13 => Some($f::<13>($($arg),*)),
            14 => Some($f::<14>($($arg),*)),
            15 => Some($f::<15>($($arg),*)),
            16 => Some($f::<16>($($arg),*)),
            _ => None,
        }
    };
}

/// Largest `N` for which [`Chol`] is used (measured against faer's path at 16 and 17, see the
/// module docs; the papers' sizes are 2, 3, 6 and 10).
pub(crate) const SMALL_N: usize = 16;

/// The Cholesky factor `L` (lower triangle of a column-major `n x n` buffer) of
/// `A = alpha I + W diag(g) W^T`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chol {
    n: usize,
    l: Vec<f64>,
    /// `1 / l_jj`: the solves multiply instead of dividing.
    inv_diag: Vec<f64>,
}

impl Chol {
    /// Forms `A` (lower triangle: `a_ij = alpha delta_ij + sum_k w_ik g_k w_jk`) and factors it.
    /// `None` when `N > SMALL_N` or `A` is not (numerically) positive definite, including NaN.
    pub(crate) fn of_frame(w: MatRef<'_, f64>, g: &[f64], alpha: f64) -> Option<Self> {
        if w.nrows() > SMALL_N {
            return None;
        }
        Self::of_dense_frame(&dense(w), w.nrows(), g, alpha)
    }

    /// [`Self::of_frame`] for `W` given as a contiguous column-major buffer `wv` of `n` rows.
    pub(crate) fn of_dense_frame(wv: &[f64], n: usize, g: &[f64], alpha: f64) -> Option<Self> {
        let mut chol = Self::default();
        chol.refactor(wv, n, g, alpha).then_some(chol)
    }

    /// Factors `alpha I + W diag(g) W^T` into this factor's buffers (no allocation once they
    /// have grown to size); `false`, leaving the factor unusable, where [`Self::of_frame`] gives
    /// `None`.
    pub(crate) fn refactor(&mut self, wv: &[f64], n: usize, g: &[f64], alpha: f64) -> bool {
        self.n = 0;
        if n == 0 || n > SMALL_N || wv.len() != n * g.len() {
            return false;
        }
        self.l.clear();
        self.l.resize(n * n, 0.0);
        self.inv_diag.clear();
        self.inv_diag.resize(n, 0.0);
        let (l, d) = (&mut self.l[..], &mut self.inv_diag[..]);
        if with_const_n!(n, form_and_factor(wv, g, alpha, l, d)) == Some(true) {
            self.n = n;
            true
        } else {
            false
        }
    }

    /// Solves `A x = b` in place for one column `b` (length `n`): `L u = b`, then `L^T x = u`.
    pub(crate) fn solve_col(&self, b: &mut [f64]) {
        let (l, d) = (&self.l[..], &self.inv_diag[..]);
        with_const_n!(self.n, solve_col_n(l, d, b));
    }

    /// `A^{-1} B` for the columns of `b`.
    pub(crate) fn solve(&self, b: MatRef<'_, f64>) -> Mat<f64> {
        solve_columns(self.n, b, |col| self.solve_col(col))
    }

    /// `A^{-1} C A^{-1}` for symmetric `C`, symmetrised: `X = A^{-1} C`, then
    /// `A^{-1} X^T` (`= A^{-1} C A^{-1}` since `A` and `C` are symmetric).
    pub(crate) fn sandwich(&self, c: MatRef<'_, f64>) -> Mat<f64> {
        let n = self.n;
        let (mut x, mut out) = (Vec::new(), vec![0.0; n * n]);
        self.sandwich_into(c, &mut x, &mut out);
        Mat::from_fn(n, n, |i, j| out[j * n + i])
    }

    /// [`Self::sandwich`] into `out` (column-major `n x n`), with `x` as scratch: no
    /// allocation once `x` has grown.
    ///
    /// All `n` right-hand sides are solved together, stored by rows (`x[i n + col]`), so the
    /// substitutions run along contiguous rows; each column sees exactly the operations of
    /// [`Self::solve_col`], in the same order.
    pub(crate) fn sandwich_into(&self, c: MatRef<'_, f64>, x: &mut Vec<f64>, out: &mut [f64]) {
        let n = self.n;
        x.clear();
        x.resize(n * n, 0.0);
        // X = A^{-1} C: right-hand side `col` is column `col` of C.
        for (i, row) in x.chunks_exact_mut(n).enumerate() {
            for (col, v) in row.iter_mut().enumerate() {
                *v = c[(i, col)];
            }
        }
        self.solve_rows(x);
        // Y = A^{-1} X^T: right-hand side `j` is row `j` of X; Y by rows into `out`.
        for (i, row) in out.chunks_exact_mut(n).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = x[j * n + i];
            }
        }
        self.solve_rows(out);
        // out <- (Y + Y^T) / 2, symmetric, so the same by rows or by columns.
        for i in 0..n {
            for j in 0..i {
                let v = 0.5 * (out[i * n + j] + out[j * n + i]);
                out[i * n + j] = v;
                out[j * n + i] = v;
            }
            out[i * n + i] = 0.5 * (out[i * n + i] + out[i * n + i]);
        }
    }

    /// Solves `A X = B` in place for the `n` right-hand sides stored by rows in `b`
    /// (`b[i n + col]`): [`Self::solve_col`] applied to every column at once.
    fn solve_rows(&self, b: &mut [f64]) {
        let (l, d) = (&self.l[..], &self.inv_diag[..]);
        with_const_n!(self.n, solve_rows_n(l, d, b));
    }
}

/// Forms the lower triangle of `A = alpha I + W diag(g) W^T` in `l` (`a_ij = sum_k w_ik (g_k
/// w_jk)`, then `alpha` on the diagonal) and factors it in place (left-looking, column by
/// column): `l_jj = sqrt(a_jj - sum_{p<j} l_jp^2)`, `l_ij = (a_ij - sum_{p<j} l_ip l_jp) /
/// l_jj`, with `1 / l_jj` in `inv_diag`. `false` if `A` is not (numerically) positive definite.
fn form_and_factor<const N: usize>(
    wv: &[f64],
    g: &[f64],
    alpha: f64,
    l: &mut [f64],
    inv_diag: &mut [f64],
) -> bool {
    let (l, inv_diag) = (&mut l[..N * N], &mut inv_diag[..N]);
    for (col, &gk) in wv.chunks_exact(N).zip(g) {
        for j in 0..N {
            let s = gk * col[j];
            for i in j..N {
                l[j * N + i] += col[i] * s;
            }
        }
    }
    for i in 0..N {
        l[i * N + i] += alpha;
    }
    for j in 0..N {
        for p in 0..j {
            let ljp = l[p * N + j];
            if ljp != 0.0 {
                for i in j..N {
                    l[j * N + i] -= l[p * N + i] * ljp;
                }
            }
        }
        let d = l[j * N + j];
        // Not positive definite, or NaN/inf (for which the comparison is false too).
        if !(d.is_finite() && d > 0.0) {
            return false;
        }
        let d = d.sqrt();
        l[j * N + j] = d;
        let inv = 1.0 / d;
        inv_diag[j] = inv;
        for i in j + 1..N {
            l[j * N + i] *= inv;
        }
    }
    true
}

/// `A x = b` for one column: `u_j = (b_j - sum_{p<j} l_jp u_p) / l_jj` (right-looking), then
/// `x_j = (u_j - sum_{i>j} l_ij x_i) / l_jj`, the sum taken in increasing `i`.
fn solve_col_n<const N: usize>(l: &[f64], inv_diag: &[f64], b: &mut [f64]) {
    let (l, inv_diag, b) = (&l[..N * N], &inv_diag[..N], &mut b[..N]);
    for j in 0..N {
        let v = b[j] * inv_diag[j];
        b[j] = v;
        for i in j + 1..N {
            b[i] -= l[j * N + i] * v;
        }
    }
    for j in (0..N).rev() {
        let mut s = 0.0;
        for i in j + 1..N {
            s += l[j * N + i] * b[i];
        }
        b[j] = (b[j] - s) * inv_diag[j];
    }
}

/// [`solve_col_n`] for the `N` right-hand sides stored by rows in `b` (`b[i N + col]`): the
/// same operations on every column, in the same order, along contiguous rows.
fn solve_rows_n<const N: usize>(l: &[f64], inv_diag: &[f64], b: &mut [f64]) {
    let (l, inv_diag, b) = (&l[..N * N], &inv_diag[..N], &mut b[..N * N]);
    for j in 0..N {
        let inv = inv_diag[j];
        let mut u = [0.0; N];
        for c in 0..N {
            u[c] = b[j * N + c] * inv;
            b[j * N + c] = u[c];
        }
        for i in j + 1..N {
            let lij = l[j * N + i];
            for c in 0..N {
                b[i * N + c] -= lij * u[c];
            }
        }
    }
    for j in (0..N).rev() {
        let mut s = [0.0; N];
        for i in j + 1..N {
            let lij = l[j * N + i];
            for c in 0..N {
                s[c] += lij * b[i * N + c];
            }
        }
        for c in 0..N {
            b[j * N + c] = (b[j * N + c] - s[c]) * inv_diag[j];
        }
    }
}

/// LU factors with partial pivoting of a small general matrix (Algorithm 3's
/// `alpha I + W_nr diag(g) W_rn`, not symmetric), accepted only with a certificate of
/// non-singularity (see [`Lu::certify`]); otherwise the caller takes the checked general path.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lu {
    n: usize,
    /// `L` (unit diagonal, below) and `U` (on and above), column-major `n x n`.
    lu: Vec<f64>,
    /// Row `j` was swapped with row `piv[j]` at step `j`.
    piv: Vec<usize>,
}

impl Lu {
    /// Factors `a` (column-major `n x n`) into these buffers if `n <= SMALL_N` and `a` is far
    /// from singular: `1 / ||A^{-1}||_F > 1e3 n eps max(||A||_F, scale)`. Since
    /// `sigma_min = 1 / ||A^{-1}||_2 >= 1 / ||A^{-1}||_F` and `sigma_max <= ||A||_F`, an accepted
    /// matrix passes `Factor::general`'s test `sigma_min > n eps max(sigma_max, scale)` with a
    /// margin of 1e3 for the rounding of the computed inverse. `false` otherwise (NaN
    /// included), leaving the factors unusable.
    pub(crate) fn certify(&mut self, a: &[f64], n: usize, scale: f64) -> bool {
        self.n = 0;
        if n == 0 || n > SMALL_N || a.len() != n * n || !a.iter().all(|v| v.is_finite()) {
            return false;
        }
        self.lu.clear();
        self.lu.extend_from_slice(a);
        self.piv.clear();
        self.piv.resize(n, 0);
        let (m, piv) = (&mut self.lu[..], &mut self.piv[..]);
        if with_const_n!(n, lu_factor_n(m, piv)) != Some(true) {
            return false;
        }
        self.n = n;
        // ||A^{-1}||_F from the inverse's columns A^{-1} e_j.
        let mut inv_sq = 0.0;
        let mut e = [0.0; SMALL_N];
        for j in 0..n {
            let e = &mut e[..n];
            e.iter_mut().for_each(|v| *v = 0.0);
            e[j] = 1.0;
            self.solve_col(e);
            inv_sq += e.iter().map(|v| v * v).sum::<f64>();
        }
        let a_fro = a.iter().map(|v| v * v).sum::<f64>().sqrt();
        let bound = 1e3 * n as f64 * f64::EPSILON * a_fro.max(scale);
        if inv_sq.is_finite() && a_fro > 0.0 && 1.0 / inv_sq.sqrt() > bound {
            true
        } else {
            self.n = 0;
            false
        }
    }

    /// Solves `A x = b` in place for one column `b` (length `n`).
    pub(crate) fn solve_col(&self, b: &mut [f64]) {
        let (m, piv) = (&self.lu[..], &self.piv[..]);
        with_const_n!(self.n, lu_solve_n(m, piv, b));
    }
}

/// In-place LU with partial pivoting (right-looking): at step `j` the row of the largest
/// `|a_ij|`, `i >= j`, is swapped into place, `l_ij = a_ij / a_jj` below the pivot and
/// `a_ic -= l_ij a_jc` on the trailing block. `false` on a zero pivot.
fn lu_factor_n<const N: usize>(a: &mut [f64], piv: &mut [usize]) -> bool {
    let (a, piv) = (&mut a[..N * N], &mut piv[..N]);
    for j in 0..N {
        let mut p = j;
        for i in j + 1..N {
            if a[j * N + i].abs() > a[j * N + p].abs() {
                p = i;
            }
        }
        piv[j] = p;
        if a[j * N + p] == 0.0 {
            return false;
        }
        if p != j {
            for c in 0..N {
                a.swap(c * N + j, c * N + p);
            }
        }
        let inv = 1.0 / a[j * N + j];
        for i in j + 1..N {
            a[j * N + i] *= inv;
        }
        for c in j + 1..N {
            let ajc = a[c * N + j];
            for i in j + 1..N {
                a[c * N + i] -= a[j * N + i] * ajc;
            }
        }
    }
    true
}

/// `A x = b` from [`lu_factor_n`]'s factors: the row swaps, `L u = P b`, then `U x = u`.
fn lu_solve_n<const N: usize>(a: &[f64], piv: &[usize], b: &mut [f64]) {
    let (a, piv, b) = (&a[..N * N], &piv[..N], &mut b[..N]);
    for j in 0..N {
        b.swap(j, piv[j]);
    }
    for j in 0..N {
        let bj = b[j];
        for i in j + 1..N {
            b[i] -= a[j * N + i] * bj;
        }
    }
    for j in (0..N).rev() {
        let bj = b[j] / a[j * N + j];
        b[j] = bj;
        for i in 0..j {
            b[i] -= a[j * N + i] * bj;
        }
    }
}

/// `A^{-1} B` column by column, with `solve_col` solving one column of length `n` in place.
fn solve_columns(n: usize, b: MatRef<'_, f64>, solve_col: impl Fn(&mut [f64])) -> Mat<f64> {
    let mut out = Mat::zeros(n, b.ncols());
    let mut buf = vec![0.0; n];
    for t in 0..b.ncols() {
        for (i, v) in buf.iter_mut().enumerate() {
            *v = b[(i, t)];
        }
        solve_col(&mut buf);
        for (i, &v) in buf.iter().enumerate() {
            out[(i, t)] = v;
        }
    }
    out
}

/// Reusable buffers of the online and offline steps: `W` as a contiguous column-major buffer,
/// the factor, solve buffers, the interneuron inputs of a batch and the offline gradient.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workspace {
    /// `W`, column-major (`n x K`).
    pub(crate) wv: Vec<f64>,
    /// The factor of `alpha I + W diag(g) W^T`.
    pub(crate) chol: Chol,
    buf: Vec<f64>,
    /// `z_t = W^T y_t` of the last batch, `K x B` column-major: `z[t K + i]`.
    pub(crate) z: Vec<f64>,
    /// `C_yy` of the last offline gradient, column-major `n x n` (symmetric).
    pub(crate) cyy: Vec<f64>,
    /// The last offline gradient `diag(W^T C_yy W) - 1` (length `K`).
    pub(crate) dg: Vec<f64>,
}

impl Workspace {
    /// Copies `w` into [`Self::wv`].
    pub(crate) fn load_w(&mut self, w: MatRef<'_, f64>) {
        self.wv.clear();
        for j in 0..w.ncols() {
            match w.col(j).try_as_col_major() {
                Some(col) => self.wv.extend_from_slice(col.as_slice()),
                None => self.wv.extend((0..w.nrows()).map(|i| w[(i, j)])),
            }
        }
    }

    /// Factors `alpha I + W diag(g) W^T` with the loaded `W`; `false` where the small kernel
    /// does not apply (the caller takes the general path).
    pub(crate) fn factor(&mut self, n: usize, g: &[f64], alpha: f64) -> bool {
        self.chol.refactor(&self.wv, n, g, alpha)
    }

    /// Steady states `y_t = A^{-1} x_t` of a batch (returned, `n x B`) and their interneuron
    /// inputs `z_t = W^T y_t` (into [`Self::z`]), after a successful [`Self::factor`].
    pub(crate) fn respond_and_project(&mut self, x: MatRef<'_, f64>) -> Mat<f64> {
        let (n, b) = (x.nrows(), x.ncols());
        let k = self.wv.len() / n.max(1);
        let mut y = Mat::zeros(n, b);
        self.z.clear();
        self.z.resize(k * b, 0.0);
        self.buf.clear();
        self.buf.resize(n, 0.0);
        for t in 0..b {
            for (i, v) in self.buf.iter_mut().enumerate() {
                *v = x[(i, t)];
            }
            self.chol.solve_col(&mut self.buf);
            for (zk, wk) in self.z[t * k..(t + 1) * k]
                .iter_mut()
                .zip(self.wv.chunks_exact(n))
            {
                *zk = wk.iter().zip(&self.buf).map(|(a, b)| a * b).sum();
            }
            for (i, &v) in self.buf.iter().enumerate() {
                y[(i, t)] = v;
            }
        }
        y
    }

    /// The offline gain gradient after a successful [`Self::factor`]:
    /// `C_yy = A^{-1} C A^{-1}` into [`Self::cyy`] and `dg_i = w_i^T C_yy w_i - 1` into
    /// [`Self::dg`]. Same arithmetic as the general path's `Chol::sandwich` and
    /// [`projected_diag`], without allocation once the buffers have grown.
    pub(crate) fn offline_gradient(&mut self, c: MatRef<'_, f64>) {
        let n = c.nrows();
        self.cyy.resize(n * n, 0.0);
        self.chol.sandwich_into(c, &mut self.buf, &mut self.cyy);
        self.dg.clear();
        for col in self.wv.chunks_exact(n) {
            self.dg.push(project_column(col, &self.cyy, n) - 1.0);
        }
    }

    /// [`Self::z`] from a general-path response `y` (`n x B`).
    pub(crate) fn project(&mut self, w: MatRef<'_, f64>, y: MatRef<'_, f64>) {
        let z = w.transpose() * y;
        self.z.clear();
        for t in 0..y.ncols() {
            self.z.extend((0..w.ncols()).map(|i| z[(i, t)]));
        }
    }
}

/// The entries of `m` in a contiguous column-major buffer.
pub(crate) fn dense(m: MatRef<'_, f64>) -> Vec<f64> {
    let mut out = Vec::with_capacity(m.nrows() * m.ncols());
    for j in 0..m.ncols() {
        match m.col(j).try_as_col_major() {
            Some(col) => out.extend_from_slice(col.as_slice()),
            None => out.extend((0..m.nrows()).map(|i| m[(i, j)])),
        }
    }
    out
}

/// `diag(W^T C W)`: `w_i^T C w_i` for every column `w_i` (`C` symmetric, `n x n`).
pub(crate) fn projected_diag(w: MatRef<'_, f64>, c: MatRef<'_, f64>) -> Vec<f64> {
    let n = w.nrows();
    if n > SMALL_N {
        let cw = c * w;
        return (0..w.ncols())
            .map(|j| (0..n).map(|i| w[(i, j)] * cw[(i, j)]).sum())
            .collect();
    }
    let (wv, cv) = (dense(w), dense(c));
    wv.chunks_exact(n)
        .map(|col| project_column(col, &cv, n))
        .collect()
}

/// `w^T C w` for one column `w` and `C` column-major (`n x n`, symmetric), `n <= SMALL_N`
/// (both callers take this path only there; NaN otherwise): `cw = sum_j w_j c_j` over the
/// columns `c_j`, then `w^T cw`.
fn project_column(w: &[f64], cv: &[f64], n: usize) -> f64 {
    with_const_n!(n, project_column_n(w, cv)).unwrap_or(f64::NAN)
}

/// [`project_column`] at a compile-time size, the same operations in the same order.
fn project_column_n<const N: usize>(w: &[f64], cv: &[f64]) -> f64 {
    let (w, cv) = (&w[..N], &cv[..N * N]);
    let mut cw = [0.0; N];
    for j in 0..N {
        let s = w[j];
        for i in 0..N {
            cw[i] += cv[j * N + i] * s;
        }
    }
    let mut sum = 0.0;
    for i in 0..N {
        sum += w[i] * cw[i];
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Side;
    use faer::prelude::Solve;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn random(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
        crate::cov::gaussian_matrix(n, k, rng)
    }

    /// The kernels agree with faer's Cholesky solves and products to rounding, for every size
    /// up to `SMALL_N` and more interneurons than neurons and fewer.
    #[test]
    fn kernels_agree_with_faer() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for &(n, k) in &[(1, 1), (2, 3), (3, 2), (6, 21), (8, 36), (10, 19), (25, 25)] {
            let w = random(n, k, &mut rng);
            let g: Vec<f64> = (0..k).map(|i| 0.1 + 0.05 * i as f64).collect();
            let wg = Mat::from_fn(n, k, |i, j| w[(i, j)] * g[j]);
            let a0 = &wg * w.transpose();
            let a = Mat::from_fn(n, n, |i, j| a0[(i, j)] + if i == j { 0.7 } else { 0.0 });
            let llt = a.llt(Side::Lower).unwrap();
            let b = random(n, 3, &mut rng);
            let c0 = random(n, n, &mut rng);
            let c = &c0 * c0.transpose();
            // Above SMALL_N the kernel declines (faer's path is used); the diagonal is checked
            // at every size.
            if let Some(chol) = Chol::of_frame(w.as_ref(), &g, 0.7) {
                assert!(n <= SMALL_N);
                let want = llt.solve(&b);
                let got = chol.solve(b.as_ref());
                let scale = want.norm_max();
                assert!((&got - &want).norm_max() <= 1e-10 * scale, "n = {n}");
                let want = llt.solve(llt.solve(&c).transpose());
                let got = chol.sandwich(c.as_ref());
                assert!(
                    (&got - &want).norm_max() <= 1e-9 * want.norm_max(),
                    "n = {n}"
                );
            } else {
                assert!(n > SMALL_N, "n = {n}: a positive definite A was declined");
            }
            let cw = &c * &w;
            for (i, d) in projected_diag(w.as_ref(), c.as_ref()).iter().enumerate() {
                let want: f64 = (0..n).map(|r| w[(r, i)] * cw[(r, i)]).sum();
                assert!((d - want).abs() <= 1e-12 * want.abs().max(1.0));
            }
        }
    }

    /// The batched substitutions of `sandwich_into` give bit for bit what one `solve_col` per
    /// column gives (`A^{-1} C`, then `A^{-1}` of its transpose, then symmetrised), so the
    /// offline path's trajectories do not depend on which of the two ran.
    #[test]
    fn batched_sandwich_is_the_column_solves_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for n in 1..=SMALL_N {
            let k = 2 * n + 1;
            let w = random(n, k, &mut rng);
            let g: Vec<f64> = (0..k).map(|i| 0.3 + 0.1 * i as f64).collect();
            let chol = Chol::of_frame(w.as_ref(), &g, 1.0).unwrap();
            let c0 = random(n, n, &mut rng);
            let c = &c0 * c0.transpose();
            let mut x = dense(c.as_ref());
            for col in x.chunks_exact_mut(n) {
                chol.solve_col(col);
            }
            let mut y = vec![0.0; n * n];
            for j in 0..n {
                for i in 0..n {
                    y[j * n + i] = x[i * n + j];
                }
                chol.solve_col(&mut y[j * n..(j + 1) * n]);
            }
            let (mut scratch, mut out) = (Vec::new(), vec![0.0; n * n]);
            chol.sandwich_into(c.as_ref(), &mut scratch, &mut out);
            for i in 0..n {
                for j in 0..n {
                    let want = 0.5 * (y[j * n + i] + y[i * n + j]);
                    assert_eq!(
                        out[j * n + i].to_bits(),
                        want.to_bits(),
                        "n = {n}, ({i}, {j})"
                    );
                }
            }
        }
    }

    /// The certified LU solves general systems like faer's partial-pivoting LU, and accepts a
    /// matrix only where `Factor::general`'s singular-value test accepts it too.
    #[test]
    fn certified_lu_agrees_with_faer_and_with_the_singularity_test() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        for n in 1..=SMALL_N {
            let a = random(n, n, &mut rng);
            let b = random(n, 2, &mut rng);
            let mut lu = Lu::default();
            assert!(lu.certify(&dense(a.as_ref()), n, 1.0), "n = {n}");
            let want = a.partial_piv_lu().solve(&b);
            let got = solve_columns(n, b.as_ref(), |col| lu.solve_col(col));
            assert!(
                (&got - &want).norm_max() <= 1e-9 * want.norm_max(),
                "n = {n}"
            );
        }
        // A family approaching singularity: diag(1, delta) rotated. Whenever the certificate
        // accepts, the singular-value test does; both refuse the exactly singular end.
        let mut accepted = 0;
        for p in 0..=20 {
            let delta = 10f64.powi(-p);
            let (c, s) = (0.6, 0.8);
            let a = Mat::from_fn(2, 2, |i, j| {
                let u = [[c, -s], [s, c]];
                u[i][0] * u[j][0] + delta * u[i][1] * u[j][1]
            });
            let mut lu = Lu::default();
            if lu.certify(&dense(a.as_ref()), 2, 1.0) {
                accepted += 1;
                assert!(
                    super::super::solve::Factor::general(a.as_ref(), 1.0, "A").is_ok(),
                    "delta = {delta:e}"
                );
            }
        }
        assert!((8..=14).contains(&accepted), "accepted {accepted} of 21");
        let singular = [1.0, 2.0, 2.0, 4.0];
        assert!(!Lu::default().certify(&singular, 2, 1.0));
        assert!(!Lu::default().certify(&[f64::NAN, 0.0, 0.0, 1.0], 2, 1.0));
        assert!(!Lu::default().certify(&vec![1.0; (SMALL_N + 1).pow(2)], SMALL_N + 1, 1.0));
    }

    /// Indefinite, singular, NaN and too-large matrices are not factored here (the caller falls
    /// back to the checked general path).
    #[test]
    fn declines_what_it_cannot_factor() {
        let w = Mat::<f64>::identity(2, 2);
        assert!(Chol::of_frame(w.as_ref(), &[-2.0, 1.0], 1.0).is_none());
        assert!(Chol::of_frame(w.as_ref(), &[-1.0, 1.0], 1.0).is_none());
        assert!(Chol::of_frame(w.as_ref(), &[f64::NAN, 1.0], 1.0).is_none());
        let big = Mat::<f64>::identity(SMALL_N + 1, SMALL_N + 1);
        assert!(Chol::of_frame(big.as_ref(), &[1.0; SMALL_N + 1], 1.0).is_none());
    }
}
