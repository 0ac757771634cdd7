//! Hand-written dense kernels for the small matrices of the flows (`n` around 10).
//!
//! All matrices are flat, column-major; `a[j * n + i]` is `A_ij`. The kernels are plain loops
//! over contiguous columns (axpy and dot forms the compiler vectorises), work in caller-owned
//! buffers and never allocate. At these sizes they are several times faster than calling a
//! general library, whose dispatch and blocking overhead dominates.

/// In-place Cholesky factorisation `A = L L^T` of a symmetric positive definite `n x n` matrix,
/// by rows: reads `A_ij` at `a[i * n + j]` for `j <= i` and overwrites it with `L_ij` (the
/// strict upper part, `j > i`, is neither read nor written; for a symmetric matrix stored
/// column-major the layout does not matter). Stores `1 / L_jj` in `inv_diag`.
/// Row-by-row (Cholesky-Banachiewicz) form, contiguous dot products:
/// `L_ij = (A_ij - L_{i,0:j} . L_{j,0:j}) / L_jj`, `L_ii = sqrt(A_ii - |L_{i,0:i}|^2)`.
/// Returns `false` (with `a` partly overwritten) if a pivot is not positive or not finite.
pub(crate) fn cholesky(a: &mut [f64], inv_diag: &mut [f64], n: usize) -> bool {
    debug_assert!(a.len() >= n * n && inv_diag.len() >= n);
    for i in 0..n {
        let (done, rest) = a.split_at_mut(i * n);
        let row_i = &mut rest[..=i];
        for j in 0..i {
            let row_j = &done[j * n..j * n + j];
            let s = row_i[j] - dot(&row_i[..j], row_j);
            row_i[j] = s * inv_diag[j];
        }
        let d = row_i[i] - dot(&row_i[..i], &row_i[..i]);
        if !(d > 0.0 && d.is_finite()) {
            return false;
        }
        let d = d.sqrt();
        row_i[i] = d;
        inv_diag[i] = 1.0 / d;
    }
    true
}

/// `y <- y + a x` over the common length.
#[inline]
pub(crate) fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `target <- (target - sum_t f_t row_t) * scale` over `target.len()` entries, in register
/// blocks of four columns (the partial sums stay in registers across all terms).
#[inline(always)]
fn row_update<'a, I>(target: &mut [f64], scale: f64, terms: I)
where
    I: Iterator<Item = (f64, &'a [f64])> + Clone,
{
    let m = target.len();
    let mut c = 0;
    while c + 4 <= m {
        let t = &mut target[c..c + 4];
        let mut acc = [t[0], t[1], t[2], t[3]];
        for (f, row) in terms.clone() {
            let r = &row[c..c + 4];
            for q in 0..4 {
                acc[q] -= f * r[q];
            }
        }
        for q in 0..4 {
            t[q] = acc[q] * scale;
        }
        c += 4;
    }
    for c in c..m {
        let mut acc = target[c];
        for (f, row) in terms.clone() {
            acc -= f * row[c];
        }
        target[c] = acc * scale;
    }
}

/// Forward substitution `B <- L^{-1} B` for `L` from [`cholesky`] and `B` (`n x m`) stored by
/// rows (`B_ij` at `b[i * m + j]`): `row_i <- (row_i - sum_{p<i} L_ip row_p) / L_ii`.
///
/// If `lower_rhs`, `B` is lower triangular (`n x n`, zeros stored above the diagonal), so is
/// the result, and only the first `i + 1` entries of row `i` are computed: half the work.
pub(crate) fn solve_lower_rows(
    l: &[f64],
    inv_diag: &[f64],
    b: &mut [f64],
    n: usize,
    m: usize,
    lower_rhs: bool,
) {
    for i in 0..n {
        let len = if lower_rhs { i + 1 } else { m };
        let (head, tail) = b.split_at_mut(i * m);
        let l_i = &l[i * n..i * n + i];
        let terms = l_i
            .iter()
            .zip(head.chunks_exact(m))
            .map(|(&f, row)| (f, row));
        row_update(&mut tail[..len], inv_diag[i], terms);
    }
}

/// Back substitution `B <- L^{-T} B` for `L` from [`cholesky`] and `B` (`n x m`) stored by rows:
/// `row_i <- (row_i - sum_{p>i} L_pi row_p) / L_ii` for `i = n-1, ..., 0`.
pub(crate) fn solve_upper_rows(l: &[f64], inv_diag: &[f64], b: &mut [f64], n: usize, m: usize) {
    for i in (0..n).rev() {
        let (head, tail) = b.split_at_mut((i + 1) * m);
        let terms = tail
            .chunks_exact(m)
            .enumerate()
            .map(|(q, row)| (l[(i + 1 + q) * n + i], row));
        row_update(&mut head[i * m..], inv_diag[i], terms);
    }
}

/// Gram matrix of rows: `out <- X X^T` (`X` is `n x m` stored by rows, `out` is `n x n`), on and
/// below the diagonal by rows only: `out[i * n + j] = row_i . row_j`, `j <= i`.
pub(crate) fn gram_rows_lower(x: &[f64], out: &mut [f64], n: usize, m: usize) {
    for i in 0..n {
        let row_i = &x[i * m..(i + 1) * m];
        for j in 0..=i {
            out[i * n + j] = dot(row_i, &x[j * m..(j + 1) * m]);
        }
    }
}

/// `dst <- src^T`: `src` is `rows x cols` column-major, `dst` is `cols x rows` column-major
/// (equivalently: `dst` holds `src` by rows).
pub(crate) fn transpose(src: &[f64], dst: &mut [f64], rows: usize, cols: usize) {
    for j in 0..cols {
        for i in 0..rows {
            dst[i * cols + j] = src[j * rows + i];
        }
    }
}

/// Makes the `n x n` matrix `a` symmetric from the part written by [`gram_rows_lower`]:
/// `a[j * n + i] <- a[i * n + j]` for `j < i`.
pub(crate) fn mirror_lower(a: &mut [f64], n: usize) {
    for i in 0..n {
        for j in 0..i {
            a[j * n + i] = a[i * n + j];
        }
    }
}

/// `x . y` over the common length, with four accumulators (no strict left-to-right order, so
/// the compiler may vectorise).
#[inline]
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    let len = x.len().min(y.len());
    let (x, y) = (&x[..len], &y[..len]);
    let mut acc = [0.0; 4];
    let mut xc = x.chunks_exact(4);
    let mut yc = y.chunks_exact(4);
    for (a, b) in (&mut xc).zip(&mut yc) {
        for q in 0..4 {
            acc[q] += a[q] * b[q];
        }
    }
    let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for (a, b) in xc.remainder().iter().zip(yc.remainder()) {
        s += a * b;
    }
    s
}

/// Largest absolute eigenvalue (the operator norm) of the symmetric `n x n` matrix `a`
/// (lower triangle read), by Householder tridiagonalisation and implicit QL iterations without
/// eigenvectors. `work` must hold at least `n * n + 4 n` values and is overwritten. Returns NaN
/// if the input is not finite or the iteration fails to converge.
pub(crate) fn sym_op_norm(a: &[f64], n: usize, work: &mut [f64]) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (t, rest) = work.split_at_mut(n * n);
    let (d, rest) = rest.split_at_mut(n);
    let (e, rest) = rest.split_at_mut(n);
    let (v, rest) = rest.split_at_mut(n);
    let w = &mut rest[..n];
    // Symmetric copy (both triangles) from the lower triangle.
    for j in 0..n {
        for i in j..n {
            let x = a[j * n + i];
            if !x.is_finite() {
                return f64::NAN;
            }
            t[j * n + i] = x;
            t[i * n + j] = x;
        }
    }
    tridiagonalize(t, n, d, e, v, w);
    if !tridiagonal_eigenvalues(d, e) {
        return f64::NAN;
    }
    d.iter().fold(0.0, |acc: f64, x| acc.max(x.abs()))
}

/// Householder reduction `Q^T A Q = T` of the symmetric `n x n` matrix `a` (both triangles,
/// destroyed): diagonal of `T` in `d`, subdiagonal in `e[0..n-1]` (`e[n-1] = 0`).
///
/// Step `k` reflects `x = A_{k+1:n, k}` onto `alpha e_1` with `H = I - beta v v^T`,
/// `v = x - alpha e_1`, `alpha = -sign(x_1) ||x||`, and updates the trailing block
/// `A_22 <- H A_22 H = A_22 - v w^T - w v^T` with `p = beta A_22 v`,
/// `w = p - (beta/2)(v^T p) v`.
fn tridiagonalize(
    a: &mut [f64],
    n: usize,
    d: &mut [f64],
    e: &mut [f64],
    v: &mut [f64],
    w: &mut [f64],
) {
    for k in 0..n.saturating_sub(2) {
        d[k] = a[k * n + k];
        let x = &a[k * n + k + 1..(k + 1) * n];
        let norm = dot(x, x).sqrt();
        if norm == 0.0 {
            e[k] = 0.0;
            continue;
        }
        let alpha = if x[0] > 0.0 { -norm } else { norm };
        let m = n - k - 1;
        let (v, w) = (&mut v[..m], &mut w[..m]);
        v.copy_from_slice(x);
        v[0] -= alpha;
        let vv = dot(v, v);
        e[k] = alpha;
        if vv == 0.0 {
            continue;
        }
        let beta = 2.0 / vv;
        // p = beta A_22 v (A_22 symmetric, column j of A_22 is contiguous).
        let off = k + 1;
        for (jj, wj) in w.iter_mut().enumerate() {
            let col = &a[(off + jj) * n + off..(off + jj + 1) * n];
            *wj = beta * dot(col, v);
        }
        let kk = 0.5 * beta * dot(v, w);
        for (wj, vj) in w.iter_mut().zip(v.iter()) {
            *wj -= kk * vj;
        }
        // A_22 -= v w^T + w v^T
        for jj in 0..m {
            let (vj, wj) = (v[jj], w[jj]);
            let col = &mut a[(off + jj) * n + off..(off + jj + 1) * n];
            for ((c, vi), wi) in col.iter_mut().zip(v.iter()).zip(w.iter()) {
                *c -= vi * wj + wi * vj;
            }
        }
    }
    if n >= 2 {
        d[n - 2] = a[(n - 2) * n + n - 2];
        e[n - 2] = a[(n - 2) * n + n - 1];
    }
    d[n - 1] = a[(n - 1) * n + n - 1];
    e[n - 1] = 0.0;
}

/// Eigenvalues of the symmetric tridiagonal matrix with diagonal `d` and subdiagonal `e`
/// (`e[i]` couples `d[i]` and `d[i+1]`, `e[n-1] = 0`), in place in `d` (unordered), by implicit
/// QL iterations with Wilkinson's shift (the `tql1` algorithm of EISPACK). Returns `false` if
/// an eigenvalue needs more than 60 iterations. Rotation lengths use `sqrt(f^2 + g^2)` rather
/// than `hypot` (several times faster; entries here are far from the overflow range 1e154).
pub(crate) fn tridiagonal_eigenvalues(d: &mut [f64], e: &mut [f64]) -> bool {
    let n = d.len();
    for l in 0..n {
        let mut iter = 0;
        loop {
            // Smallest m >= l with a negligible e[m] splits off the block l..=m.
            let mut m = l;
            while m + 1 < n {
                let dd = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iter += 1;
            if iter > 60 {
                return false;
            }
            // Shift: the eigenvalue of the leading 2x2 block closer to d[l].
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = (g * g + 1.0).sqrt();
            g = d[m] - d[l] + e[l] / (g + r.copysign(g));
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut deflated = false;
            for i in (l..m).rev() {
                // Chase the bulge with Givens rotations from the bottom of the block.
                let f = s * e[i];
                let b = c * e[i];
                r = (f * f + g * g).sqrt();
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[m] = 0.0;
                    deflated = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if deflated {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = 0.0;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::prelude::Solve;
    use faer::{Mat, Side};
    use rand::RngExt;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    fn gaussian(rng: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
        (0..len).map(|_| rng.sample(StandardNormal)).collect()
    }

    /// Random SPD matrix `G G^T + n I` (flat) and its faer copy.
    fn random_spd(rng: &mut ChaCha8Rng, n: usize) -> (Vec<f64>, Mat<f64>) {
        let g = gaussian(rng, n * n);
        let a = Mat::from_fn(n, n, |i, j| {
            (0..n).map(|p| g[p * n + i] * g[p * n + j]).sum::<f64>()
                + if i == j { n as f64 } else { 0.0 }
        });
        let flat = (0..n * n).map(|p| a[(p % n, p / n)]).collect();
        (flat, a)
    }

    fn rel_diff(x: &[f64], y: &[f64]) -> f64 {
        let num = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
        let den = y.iter().map(|b| b * b).sum::<f64>();
        (num / den).sqrt()
    }

    #[test]
    fn cholesky_and_solves_match_faer() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for n in [1usize, 2, 3, 5, 10, 13] {
            for _ in 0..5 {
                let (mut l, a) = random_spd(&mut rng, n);
                let mut inv_d = vec![0.0; n];
                assert!(cholesky(&mut l, &mut inv_d, n));
                let llt = a.llt(Side::Lower).unwrap();
                let lf = llt.L();
                for j in 0..n {
                    for i in j..n {
                        let e = (l[i * n + j] - lf[(i, j)]).abs();
                        assert!(e <= 1e-12 * lf[(j, j)].abs().max(1.0), "n {n} L({i},{j})");
                    }
                    assert!((inv_d[j] * l[j * n + j] - 1.0).abs() < 1e-15);
                }
                // Full solve B <- A^{-1} B against faer, m = 3 right-hand sides (by rows).
                let m = 3;
                let b = gaussian(&mut rng, n * m);
                let mut x = vec![0.0; n * m];
                transpose(&b, &mut x, n, m);
                solve_lower_rows(&l, &inv_d, &mut x, n, m, false);
                solve_upper_rows(&l, &inv_d, &mut x, n, m);
                let bm = Mat::from_fn(n, m, |i, j| b[j * n + i]);
                let xf = llt.solve(&bm);
                // x holds the solution by rows: X_ij at x[i * m + j].
                let xf: Vec<f64> = (0..n * m).map(|p| xf[(p / m, p % m)]).collect();
                assert!(rel_diff(&x, &xf) < 1e-12, "n {n}: {}", rel_diff(&x, &xf));
                // Lower triangular right-hand side: same result as the full substitution.
                let mut tri = gaussian(&mut rng, n * n);
                for i in 0..n {
                    for j in i + 1..n {
                        tri[i * n + j] = 0.0;
                    }
                }
                let (mut y1, mut y2) = (tri.clone(), tri.clone());
                solve_lower_rows(&l, &inv_d, &mut y1, n, n, true);
                solve_lower_rows(&l, &inv_d, &mut y2, n, n, false);
                assert!(rel_diff(&y1, &y2) < 1e-14);
                // L^{-1} of a lower triangular matrix is lower triangular.
                for i in 0..n {
                    for j in i + 1..n {
                        assert_eq!(y2[i * n + j], 0.0);
                    }
                }
            }
        }
    }

    #[test]
    fn cholesky_rejects_indefinite_and_nan() {
        let mut inv_d = [0.0; 2];
        let mut a = [1.0, 2.0, 2.0, 1.0]; // eigenvalues 3, -1
        assert!(!cholesky(&mut a, &mut inv_d, 2));
        let mut a = [1.0, 0.0, 0.0, f64::NAN];
        assert!(!cholesky(&mut a, &mut inv_d, 2));
        let mut a = [0.0, 0.0, 0.0, 1.0];
        assert!(!cholesky(&mut a, &mut inv_d, 2));
    }

    #[test]
    fn gram_and_transpose_match_faer_product() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for (n, m) in [(1usize, 1usize), (4, 7), (10, 10), (9, 3)] {
            // X (n x m) column-major, and by rows.
            let x = gaussian(&mut rng, n * m);
            let mut rows = vec![0.0; n * m];
            transpose(&x, &mut rows, n, m);
            let xm = Mat::from_fn(n, m, |i, j| x[j * n + i]);
            for i in 0..n {
                for j in 0..m {
                    assert_eq!(rows[i * m + j], xm[(i, j)]);
                }
            }
            let mut out = vec![f64::NAN; n * n];
            gram_rows_lower(&rows, &mut out, n, m);
            mirror_lower(&mut out, n);
            let p = &xm * xm.transpose();
            let pf: Vec<f64> = (0..n * n).map(|q| p[(q % n, q / n)]).collect();
            assert!(rel_diff(&out, &pf) < 1e-14, "{n}x{m}");
            // Exactly symmetric.
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(out[j * n + i], out[i * n + j]);
                }
            }
        }
        let d = gaussian(&mut rng, 9);
        let (a, b) = (&d[..7], &d[2..]);
        let naive: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        assert!((dot(a, b) - naive).abs() < 1e-14 * naive.abs().max(1.0));
        let mut y = d[..4].to_vec();
        axpy(&mut y, 2.0, &d[4..8]);
        for q in 0..4 {
            assert_eq!(y[q], d[q] + 2.0 * d[4 + q]);
        }
    }

    #[test]
    fn op_norm_matches_faer_eigenvalues() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in [1usize, 2, 3, 6, 10, 12] {
            let mut work = vec![0.0; n * n + 4 * n];
            for trial in 0..20 {
                let g = gaussian(&mut rng, n * n);
                // Symmetric, indefinite; some trials with clustered or repeated eigenvalues.
                let mut a: Vec<f64> = (0..n * n)
                    .map(|p| {
                        let (i, j) = (p % n, p / n);
                        0.5 * (g[j * n + i] + g[i * n + j])
                    })
                    .collect();
                if trial % 4 == 1 {
                    for p in 0..n * n {
                        a[p] *= 1e-8;
                    }
                    for i in 0..n {
                        a[i * n + i] += 1.0;
                    }
                }
                if trial % 4 == 2 {
                    // Already diagonal (zero reflections).
                    for j in 0..n {
                        for i in 0..n {
                            if i != j {
                                a[j * n + i] = 0.0;
                            }
                        }
                    }
                }
                let am = Mat::from_fn(n, n, |i, j| a[j * n + i]);
                let ev = am.self_adjoint_eigenvalues(Side::Lower).unwrap();
                let exact = ev.iter().fold(0.0, |acc: f64, x| acc.max(x.abs()));
                // Garbage in the strict upper triangle must not be read.
                for j in 0..n {
                    for i in 0..j {
                        a[j * n + i] = f64::NAN;
                    }
                }
                let got = sym_op_norm(&a, n, &mut work);
                assert!(
                    (got - exact).abs() <= 1e-13 * exact,
                    "n {n} trial {trial}: {got} vs {exact}"
                );
            }
        }
        let mut work = vec![0.0; 12];
        assert!(sym_op_norm(&[1.0, f64::NAN, 0.0, 1.0], 2, &mut work).is_nan());
    }
}
