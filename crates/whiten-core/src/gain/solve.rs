//! Solves with the inverse whitening matrix `A = alpha I + W diag(g) W^T`, which is symmetric
//! but not necessarily positive definite (gains may be negative): Cholesky when it succeeds,
//! otherwise a partial-pivoting LU after an eigenvalue check for singularity.

use faer::linalg::solvers::{Llt, PartialPivLu};
use faer::prelude::*;
use faer::{Mat, MatRef, Side};

use super::kernel::Chol;
use crate::cov::symmetrise;
use crate::error::{CoreError, Result};

/// `alpha I + W diag(g) W^T`, exactly symmetrised.
pub(crate) fn inverse_whitening_matrix(w: MatRef<'_, f64>, g: &[f64], alpha: f64) -> Mat<f64> {
    let n = w.nrows();
    // W diag(g): scale the columns of W.
    let wg = Mat::from_fn(n, w.ncols(), |i, j| w[(i, j)] * g[j]);
    let mut a = &wg * w.transpose();
    for i in 0..n {
        a[(i, i)] += alpha;
    }
    symmetrise(a.as_ref())
}

/// `alpha + sum_i |g_i| ||w_i||^2`: a bound on the norms of the terms of
/// `alpha I + W diag(g) W^T`.
pub(crate) fn term_scale(w: MatRef<'_, f64>, g: &[f64], alpha: f64) -> f64 {
    alpha.abs()
        + (0..w.ncols())
            .map(|j| g[j].abs() * (0..w.nrows()).map(|i| w[(i, j)] * w[(i, j)]).sum::<f64>())
            .sum::<f64>()
}

/// A factorisation of a symmetric, invertible matrix.
pub(crate) enum Factor {
    /// Small and positive definite: the plain Cholesky of [`super::kernel`].
    Small(Chol),
    /// Positive definite: Cholesky.
    Llt(Llt<f64>),
    /// Indefinite but invertible: partial-pivoting LU.
    Lu(PartialPivLu<f64>),
}

impl Factor {
    /// Factors `alpha I + W diag(g) W^T` (named `what` in errors): the small kernel when it
    /// applies, otherwise [`Self::new`] on the formed matrix.
    pub(crate) fn of_frame(
        w: MatRef<'_, f64>,
        g: &[f64],
        alpha: f64,
        what: &'static str,
    ) -> Result<Self> {
        if let Some(chol) = Chol::of_frame(w, g, alpha) {
            return Ok(Self::Small(chol));
        }
        Self::new(
            inverse_whitening_matrix(w, g, alpha).as_ref(),
            term_scale(w, g, alpha),
            what,
        )
    }

    /// Factors the symmetric matrix `a` (named `what` in errors). `NonFinite` for NaN/inf,
    /// `Singular` when `min |lambda| <= n eps max(max |lambda|, scale)`, where `scale` bounds the
    /// norms of the terms `a` was summed from (so that a sum that cancels to rounding noise,
    /// e.g. `I + W G W^T = 0`, counts as singular).
    pub(crate) fn new(a: MatRef<'_, f64>, scale: f64, what: &'static str) -> Result<Self> {
        if !a.is_all_finite() {
            return Err(CoreError::NonFinite { what });
        }
        if let Ok(llt) = a.llt(Side::Lower) {
            return Ok(Self::Llt(llt));
        }
        let ev = a
            .self_adjoint_eigenvalues(Side::Lower)
            .map_err(|_| CoreError::DecompositionFailed { what })?;
        let max = ev.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let min = ev.iter().fold(f64::INFINITY, |m, v| m.min(v.abs()));
        if min <= a.nrows() as f64 * f64::EPSILON * max.max(scale) || max == 0.0 {
            return Err(CoreError::Singular {
                what,
                smallest: min,
                largest: max,
            });
        }
        Ok(Self::Lu(a.partial_piv_lu()))
    }

    /// Factors a general (not necessarily symmetric) square matrix by partial-pivoting LU;
    /// `Singular` when `sigma_min <= n eps max(sigma_max, scale)`.
    pub(crate) fn general(a: MatRef<'_, f64>, scale: f64, what: &'static str) -> Result<Self> {
        if !a.is_all_finite() {
            return Err(CoreError::NonFinite { what });
        }
        let sv = a
            .singular_values()
            .map_err(|_| CoreError::DecompositionFailed { what })?;
        // Descending order.
        let (max, min) = (sv[0], sv[sv.len() - 1]);
        if min <= a.nrows() as f64 * f64::EPSILON * max.max(scale) || max == 0.0 {
            return Err(CoreError::Singular {
                what,
                smallest: min,
                largest: max,
            });
        }
        Ok(Self::Lu(a.partial_piv_lu()))
    }

    /// `A^{-1} B`.
    pub(crate) fn solve(&self, b: MatRef<'_, f64>) -> Mat<f64> {
        match self {
            Self::Small(f) => f.solve(b),
            Self::Llt(f) => f.solve(b),
            Self::Lu(f) => f.solve(b),
        }
    }

    /// `A^{-1} C A^{-1}` (= `M C M^T` with `M = A^{-1}`, `A` and `C` symmetric), symmetrised.
    pub(crate) fn sandwich(&self, c: MatRef<'_, f64>) -> Mat<f64> {
        if let Self::Small(f) = self {
            return f.sandwich(c);
        }
        let a = self.solve(c);
        let b = self.solve(a.transpose());
        symmetrise(b.as_ref())
    }
}
