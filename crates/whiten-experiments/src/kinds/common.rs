//! Helpers shared by the kinds of every paper: parameter checks, a least-squares line,
//! quantiles and the text of values at rounding level.

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

/// The `p`-quantile of `values` with numpy's default (linear) interpolation between order
/// statistics: `x_(floor(h))` to `x_(ceil(h))` at `h = (len - 1) p`; the median of an even
/// count is the mean of the middle two. Infinite values sort last (an infinite neighbour
/// gives an infinite quantile); NaN for an empty slice.
pub fn quantile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let (i, f) = (h.floor() as usize, h.fract());
    if f == 0.0 || i + 1 >= v.len() {
        v[i]
    } else if v[i + 1].is_infinite() {
        v[i + 1]
    } else {
        v[i] + f * (v[i + 1] - v[i])
    }
}

/// `value`, or 0 when its magnitude is below `bound`: a summary value that may be at rounding
/// level (its digits would depend on the CPU's kernels).
pub fn zero_below(value: f64, bound: f64) -> f64 {
    if value.abs() < bound { 0.0 } else { value }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0.25, 0.5, 0.75]) = [1.75, 2.5, 3.25]
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&v, 0.25), 1.75);
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 0.75), 3.25);
        assert_eq!(quantile(&[5.0], 0.3), 5.0);
        assert!(quantile(&[], 0.5).is_nan());
        assert_eq!(quantile(&[1.0, f64::INFINITY], 0.5), f64::INFINITY);
        assert_eq!(quantile(&[1.0, 2.0, f64::INFINITY], 0.5), 2.0);
    }
}
