//! Whitening error measures of an output covariance `C_yy` (paper A's three, paper B's one).
//!
//! * [`frobenius_error`]: `||C_yy - I||_F^2 / N^2` (A's `'fro'`).
//! * [`spectral_error`]: `(1/N) sum_i (lambda_i - 1)^2`, or with `positive_only` (A's runs with
//!   clamped gains) `(1/N) sum_i max(lambda_i - 1, 0)^2` (A's `'spectral'`).
//! * [`max_eigen_excess`]: `lambda_max(C_yy) - 1`, **signed**. The authors call it `'operator'`
//!   and label it `||C_yy - I||_Op` in figures, but it is not a norm and can be negative.
//! * [`spectral_norm_error`]: `||C_yy - I||_2`, the true operator norm (B's error).

use faer::{MatRef, Side};

use crate::cov::check_symmetric;
use crate::error::{CoreError, Result};
use crate::metrics::whitening_error_from_cyy;

/// Which error measure of a whitening run to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorMeasure {
    /// [`frobenius_error`] (the authors' `'fro'`, their default).
    Frobenius,
    /// [`spectral_error`]; only the positive parts of `lambda_i - 1` count when the gains are
    /// clamped (the authors' `'spectral'`).
    Spectral,
    /// [`max_eigen_excess`] (the authors' `'operator'`).
    MaxEigenExcess,
    /// [`spectral_norm_error`].
    SpectralNorm,
}

impl ErrorMeasure {
    /// The measure of `C_yy`; `clamped` says whether the gains were projected on `g >= 0`.
    pub fn eval(self, cyy: MatRef<'_, f64>, clamped: bool) -> Result<f64> {
        match self {
            Self::Frobenius => frobenius_error(cyy),
            Self::Spectral => spectral_error(cyy, clamped),
            Self::MaxEigenExcess => max_eigen_excess(cyy),
            Self::SpectralNorm => spectral_norm_error(cyy),
        }
    }
}

fn eigenvalues(cyy: MatRef<'_, f64>) -> Result<Vec<f64>> {
    check_symmetric(cyy, "C_yy")?;
    cyy.self_adjoint_eigenvalues(Side::Lower)
        .map_err(|_| CoreError::DecompositionFailed {
            what: "eigenvalues of C_yy",
        })
}

/// `||C_yy - I||_F^2 / N^2`.
pub fn frobenius_error(cyy: MatRef<'_, f64>) -> Result<f64> {
    check_symmetric(cyy, "C_yy")?;
    let n = cyy.nrows();
    let mut s = 0.0;
    for j in 0..n {
        for i in 0..n {
            let d = cyy[(i, j)] - if i == j { 1.0 } else { 0.0 };
            s += d * d;
        }
    }
    Ok(s / (n * n) as f64)
}

/// `(1/N) sum_i (lambda_i - 1)^2` over the eigenvalues of `C_yy`; with `positive_only`, only
/// `max(lambda_i - 1, 0)` counts (eigenvalues below 1 are not penalised).
pub fn spectral_error(cyy: MatRef<'_, f64>, positive_only: bool) -> Result<f64> {
    let ev = eigenvalues(cyy)?;
    let n = ev.len() as f64;
    Ok(ev
        .iter()
        .map(|&l| {
            let d = if positive_only {
                (l - 1.0).max(0.0)
            } else {
                l - 1.0
            };
            d * d
        })
        .sum::<f64>()
        / n)
}

/// `lambda_max(C_yy) - 1`, signed (negative when every eigenvalue is below 1).
pub fn max_eigen_excess(cyy: MatRef<'_, f64>) -> Result<f64> {
    let ev = eigenvalues(cyy)?;
    Ok(ev.last().copied().unwrap_or(f64::NAN) - 1.0)
}

/// `||C_yy - I||_2`, the largest `|lambda_i - 1|`.
pub fn spectral_norm_error(cyy: MatRef<'_, f64>) -> Result<f64> {
    check_symmetric(cyy, "C_yy")?;
    Ok(whitening_error_from_cyy(cyy))
}
