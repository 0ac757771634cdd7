//! The gain equation and its closed-form solution, the optimal gains `g_opt`.
//!
//! With `C^{1/2}` the symmetric square root of the input covariance, whitening by gains alone
//! needs `alpha I + W diag(g) W^T = C^{1/2}`. Projecting both sides on every `w_i w_i^T` gives
//! the `K x K` linear system
//!
//! ```text
//! (W^T W)^{o2} g = diag(W^T (C^{1/2} - alpha I) W)        (o2: Hadamard square)
//! ```
//!
//! valid for columns of any norm. Its matrix is positive semi-definite (Schur product theorem)
//! and singular whenever the `w_i w_i^T` are linearly dependent, e.g. when `W` holds two
//! orthonormal bases (`sum e_i e_i^T = sum v_i v_i^T = I`). [`optimal_gains`] returns the
//! minimum-norm least-squares solution (the pseudo-inverse), so only `W diag(g) W^T` is
//! meaningful in the degenerate case, not `g` itself.

use faer::{Mat, MatRef};

use crate::cov::{sym_eigen, sym_sqrt};
use crate::error::{CoreError, Result};

/// `(W^T W)^{o2}`: the Hadamard (element-wise) square of the Gram matrix of the columns.
pub fn gram_hadamard_square(w: MatRef<'_, f64>) -> Mat<f64> {
    let gram = w.transpose() * w;
    Mat::from_fn(gram.nrows(), gram.ncols(), |i, j| {
        gram[(i, j)] * gram[(i, j)]
    })
}

/// The gain equation `A g = b` with `A = (W^T W)^{o2}` and `b_i = w_i^T (C^{1/2} - alpha I) w_i`.
///
/// Refuses `C` that is not `n x n` (`DimensionMismatch`), not symmetric positive definite, or
/// non-finite, and a non-finite `W` or `alpha`.
pub fn gain_equation(
    w: MatRef<'_, f64>,
    c: MatRef<'_, f64>,
    alpha: f64,
) -> Result<(Mat<f64>, Vec<f64>)> {
    let n = w.nrows();
    if !w.is_all_finite() {
        return Err(CoreError::NonFinite { what: "W" });
    }
    if !alpha.is_finite() {
        return Err(CoreError::NonFinite { what: "alpha" });
    }
    for (what, got) in [("C rows", c.nrows()), ("C columns", c.ncols())] {
        if got != n {
            return Err(CoreError::DimensionMismatch {
                what,
                expected: n,
                got,
            });
        }
    }
    let mut s = sym_sqrt(c)?;
    for i in 0..n {
        s[(i, i)] -= alpha;
    }
    // b_i = w_i^T (C^{1/2} - alpha I) w_i
    let sw = &s * w;
    let b = (0..w.ncols())
        .map(|j| (0..n).map(|i| w[(i, j)] * sw[(i, j)]).sum())
        .collect();
    Ok((gram_hadamard_square(w), b))
}

/// Minimum-norm least-squares solution of `A g = b` for a symmetric positive semi-definite
/// `A`: `g = sum_{lambda_i > tol} v_i (v_i^T b) / lambda_i` with `tol = K eps lambda_max`
/// (numpy's `lstsq` default cut-off).
pub(crate) fn min_norm_psd_solve(a: MatRef<'_, f64>, b: &[f64]) -> Result<Vec<f64>> {
    let e = sym_eigen(a)?;
    let k = b.len();
    let lmax = e.values.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let tol = k as f64 * f64::EPSILON * lmax;
    let mut g = vec![0.0; k];
    for (idx, &lambda) in e.values.iter().enumerate() {
        if lambda <= tol {
            continue;
        }
        let v = e.vectors.col(idx);
        let coef: f64 = (0..k).map(|i| v[i] * b[i]).sum::<f64>() / lambda;
        for i in 0..k {
            g[i] += coef * v[i];
        }
    }
    Ok(g)
}

/// The optimal gains `g_opt`: the minimum-norm least-squares solution of the gain equation
/// (see the module docs). When `{w_i w_i^T}` spans the symmetric matrices (`K >= n(n+1)/2`),
/// `alpha I + W diag(g_opt) W^T = C^{1/2}` and `C_yy = I` exactly.
///
/// Fails like [`gain_equation`].
pub fn optimal_gains(w: MatRef<'_, f64>, c: MatRef<'_, f64>, alpha: f64) -> Result<Vec<f64>> {
    let (a, b) = gain_equation(w, c, alpha)?;
    min_norm_psd_solve(a.as_ref(), &b)
}
