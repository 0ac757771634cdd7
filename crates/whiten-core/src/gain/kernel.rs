//! Small dense kernels for the learning steps of the gain networks.
//!
//! The steps of both models factor `A = alpha I + W diag(g) W^T` (`N x N`) once per step and
//! solve with it. At the smallest sizes the papers use (`N` = 2, 3, 6) a general-purpose dense
//! library spends most of a step allocating and dispatching, so a plain Cholesky on reused
//! contiguous buffers is several times faster (`cargo xtask bench-gain`); from `N` = 10 on
//! faer's kernels are faster again, hence `SMALL_N`. [`Chol`]
//! holds that factor `A = L L^T` when `A` is positive definite and `N <= SMALL_N`; otherwise the
//! caller falls back to [`super::solve::Factor`] (faer's blocked Cholesky or, for an indefinite
//! `A`, a pivoted LU after a singularity check). Both give the same results to rounding.

use faer::{Mat, MatRef};

/// Largest `N` for which [`Chol`] is used (measured: faer wins from `N` = 10).
pub(crate) const SMALL_N: usize = 8;

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
        if n == 0 || n > SMALL_N {
            return false;
        }
        self.l.clear();
        self.l.resize(n * n, 0.0);
        let l = &mut self.l;
        for (col, &gk) in wv.chunks_exact(n).zip(g) {
            for (j, lj) in l.chunks_exact_mut(n).enumerate() {
                let s = gk * col[j];
                for (v, &wi) in lj[j..].iter_mut().zip(&col[j..]) {
                    *v += wi * s;
                }
            }
        }
        for i in 0..n {
            l[i * n + i] += alpha;
        }
        self.inv_diag.clear();
        self.inv_diag.resize(n, 0.0);
        if self.factor(n) {
            self.n = n;
            true
        } else {
            false
        }
    }

    /// In-place Cholesky of the lower triangle (left-looking, column by column):
    /// `l_jj = sqrt(a_jj - sum_{p<j} l_jp^2)`, `l_ij = (a_ij - sum_{p<j} l_ip l_jp) / l_jj`.
    fn factor(&mut self, n: usize) -> bool {
        let (l, inv_diag) = (&mut self.l, &mut self.inv_diag);
        for j in 0..n {
            for p in 0..j {
                let ljp = l[p * n + j];
                if ljp != 0.0 {
                    for i in j..n {
                        l[j * n + i] -= l[p * n + i] * ljp;
                    }
                }
            }
            let d = l[j * n + j];
            // Not positive definite, or NaN/inf (for which the comparison is false too).
            if !(d.is_finite() && d > 0.0) {
                return false;
            }
            let d = d.sqrt();
            l[j * n + j] = d;
            let inv = 1.0 / d;
            inv_diag[j] = inv;
            for i in j + 1..n {
                l[j * n + i] *= inv;
            }
        }
        true
    }

    /// Solves `A x = b` in place for one column `b` (length `n`): `L u = b`, then `L^T x = u`.
    pub(crate) fn solve_col(&self, b: &mut [f64]) {
        let n = self.n;
        let b = &mut b[..n];
        for (j, (col, &inv)) in self.l.chunks_exact(n).zip(&self.inv_diag).enumerate() {
            let v = b[j] * inv;
            b[j] = v;
            for (bi, &lij) in b[j + 1..].iter_mut().zip(&col[j + 1..]) {
                *bi -= lij * v;
            }
        }
        for (j, (col, &inv)) in self.l.chunks_exact(n).zip(&self.inv_diag).enumerate().rev() {
            let s: f64 = col[j + 1..]
                .iter()
                .zip(&b[j + 1..])
                .map(|(l, x)| l * x)
                .sum();
            b[j] = (b[j] - s) * inv;
        }
    }

    /// `A^{-1} B` for the columns of `b`.
    pub(crate) fn solve(&self, b: MatRef<'_, f64>) -> Mat<f64> {
        let n = self.n;
        let mut out = Mat::zeros(n, b.ncols());
        let mut buf = vec![0.0; n];
        for t in 0..b.ncols() {
            for (i, v) in buf.iter_mut().enumerate() {
                *v = b[(i, t)];
            }
            self.solve_col(&mut buf);
            for (i, &v) in buf.iter().enumerate() {
                out[(i, t)] = v;
            }
        }
        out
    }

    /// `A^{-1} C A^{-1}` for symmetric `C`, symmetrised: `X = A^{-1} C`, then
    /// `A^{-1} X^T` (`= A^{-1} C A^{-1}` since `A` and `C` are symmetric).
    pub(crate) fn sandwich(&self, c: MatRef<'_, f64>) -> Mat<f64> {
        let n = self.n;
        // x holds the columns of A^{-1} C; A^{-1} C's rows are the columns of (A^{-1} C)^T.
        let mut x = dense(c);
        for col in x.chunks_exact_mut(n) {
            self.solve_col(col);
        }
        let mut y = vec![0.0; n * n];
        for j in 0..n {
            let col = &mut y[j * n..(j + 1) * n];
            for (i, v) in col.iter_mut().enumerate() {
                *v = x[i * n + j];
            }
            self.solve_col(col);
        }
        Mat::from_fn(n, n, |i, j| 0.5 * (y[j * n + i] + y[i * n + j]))
    }
}

/// Reusable buffers of the online steps: `W` as a contiguous column-major buffer, the factor,
/// a solve buffer and the interneuron inputs of a batch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Workspace {
    /// `W`, column-major (`n x K`).
    pub(crate) wv: Vec<f64>,
    /// The factor of `alpha I + W diag(g) W^T`.
    pub(crate) chol: Chol,
    buf: Vec<f64>,
    /// `z_t = W^T y_t` of the last batch, `K x B` column-major: `z[t K + i]`.
    pub(crate) z: Vec<f64>,
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
    let mut cw = vec![0.0; n];
    wv.chunks_exact(n)
        .map(|col| {
            cw.iter_mut().for_each(|v| *v = 0.0);
            for (&s, cj) in col.iter().zip(cv.chunks_exact(n)) {
                for (v, &cij) in cw.iter_mut().zip(cj) {
                    *v += cij * s;
                }
            }
            col.iter().zip(&cw).map(|(a, b)| a * b).sum()
        })
        .collect()
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
