//! Helpers shared by the kinds of every paper: parameter checks, a least-squares line and the
//! text of values at rounding level.

use crate::error::ParamError;

/// Refuses `field` with `reason` unless `ok`.
pub fn ensure(ok: bool, field: &str, reason: impl FnOnce() -> String) -> Result<(), ParamError> {
    if ok {
        Ok(())
    } else {
        Err(ParamError::new(field, reason()))
    }
}

/// Refuses a learning rate, threshold or other quantity that must be positive and finite.
pub fn ensure_positive(value: f64, field: &str) -> Result<(), ParamError> {
    ensure(value.is_finite() && value > 0.0, field, || {
        format!("must be positive and finite (got {value})")
    })
}

/// Refuses an empty grid or one with a non-positive or non-finite entry.
pub fn ensure_positive_grid(values: &[f64], field: &str) -> Result<(), ParamError> {
    ensure(!values.is_empty(), field, || "must not be empty".into())?;
    for (i, &v) in values.iter().enumerate() {
        ensure(v.is_finite() && v > 0.0, &format!("{field}[{i}]"), || {
            format!("must be positive and finite (got {v})")
        })?;
    }
    Ok(())
}

/// Least-squares slope and intercept of `y` against `x`.
pub fn fit_line(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}

/// Refuses a count of zero.
pub fn at_least_one(value: usize, field: &str) -> Result<(), ParamError> {
    ensure(value >= 1, field, || "must be at least 1".into())
}

/// A value that may be at rounding level, for a claim's text: `"below 1e-12"` when it is under
/// `bound` (its digits would depend on the CPU's kernels and change the snapshot), otherwise
/// the value with two significant digits.
pub fn bounded(value: f64, bound: f64) -> String {
    if value < bound {
        format!("below {bound:.0e}")
    } else {
        format!("{value:.1e}")
    }
}
