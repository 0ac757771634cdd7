//! Moments, histograms, the Kolmogorov-Smirnov distance to N(0, 1) and the empirical
//! quantile map `T = Phi^{-1} o F_s` (the 1D optimal-transport map to a standard Gaussian).

use super::normal::{normal_cdf, normal_quantile};
use crate::error::{CoreError, Result};

/// Arithmetic mean (NaN for an empty slice).
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Population variance `(1/N) sum (x - mean)^2` (NaN for an empty slice).
pub fn variance(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64
}

/// Population standard deviation `sqrt(variance)`, the normalisation used for the signals.
pub fn std_dev(x: &[f64]) -> f64 {
    variance(x).sqrt()
}

/// Excess kurtosis `m4 / m2^2 - 3` with central moments over N (0 for a Gaussian, 3 for a
/// Laplace distribution). NaN for an empty or constant slice.
pub fn excess_kurtosis(x: &[f64]) -> f64 {
    let m = mean(x);
    let (mut m2, mut m4) = (0.0, 0.0);
    for v in x {
        let d2 = (v - m) * (v - m);
        m2 += d2;
        m4 += d2 * d2;
    }
    let n = x.len() as f64;
    (m4 / n) / (m2 / n).powi(2) - 3.0
}

/// Density histogram of `x` on `bins` equal bins of `[lo, hi]`: bin `k` holds
/// `count_k / (N * width)` with `N = x.len()` (all samples, so samples outside `[lo, hi]` make
/// the histogram integrate to less than 1 and it stays comparable with a density). A value
/// equal to `hi` falls in the last bin.
pub fn histogram(x: &[f64], lo: f64, hi: f64, bins: usize) -> Result<Vec<f64>> {
    if bins == 0 {
        return Err(CoreError::InvalidParameter {
            name: "bins",
            value: 0.0,
            reason: "a histogram needs at least one bin",
        });
    }
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Err(CoreError::InvalidParameter {
            name: "hi - lo",
            value: hi - lo,
            reason: "histogram range must be finite with hi > lo",
        });
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &v in x {
        if v >= lo && v <= hi {
            let k = (((v - lo) / width) as usize).min(bins - 1);
            counts[k] += 1;
        }
    }
    let norm = 1.0 / (x.len().max(1) as f64 * width);
    Ok(counts.into_iter().map(|c| c as f64 * norm).collect())
}

/// Centres of the bins of [`histogram`] with the same `lo`, `hi`, `bins`.
pub fn bin_centres(lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let width = (hi - lo) / bins as f64;
    (0..bins).map(|k| lo + (k as f64 + 0.5) * width).collect()
}

/// Kolmogorov-Smirnov distance `sup_x |F_N(x) - Phi(x)|` between the empirical CDF of `x` and
/// the standard normal CDF.
pub fn ks_distance_normal(x: &[f64]) -> Result<f64> {
    if x.is_empty() {
        return Err(CoreError::InvalidParameter {
            name: "samples",
            value: 0.0,
            reason: "the Kolmogorov-Smirnov distance needs at least one sample",
        });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite {
            what: "Kolmogorov-Smirnov input",
        });
    }
    let mut sorted = x.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let n = sorted.len() as f64;
    // The empirical CDF jumps from i/N to (i+1)/N at the i-th order statistic (0-based).
    let d = sorted
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = normal_cdf(v);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max);
    Ok(d)
}

/// Empirical quantile map `T(s) = Phi^{-1}(F_s(s))` at each of `points`, the optimal
/// (transport) 1D transform of a signal with sorted samples `x_sorted` to N(0, 1).
///
/// `F_s` is the piecewise-linear empirical CDF through the Hazen plotting positions
/// `F(x_(k)) = (k - 1/2) / N` (k = 1..N), held at `1/(2N)` below the smallest and at
/// `1 - 1/(2N)` above the largest sample, so `T` is finite, continuous and non-decreasing.
///
/// Errors: empty, unsorted or non-finite `x_sorted`.
pub fn quantile_map(x_sorted: &[f64], points: &[f64]) -> Result<Vec<f64>> {
    if x_sorted.is_empty() {
        return Err(CoreError::InvalidParameter {
            name: "samples",
            value: 0.0,
            reason: "the quantile map needs at least one sample",
        });
    }
    if x_sorted.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite {
            what: "quantile map samples",
        });
    }
    if x_sorted.windows(2).any(|w| w[1] < w[0]) {
        return Err(CoreError::InvalidParameter {
            name: "x_sorted",
            value: f64::NAN,
            reason: "quantile map samples must be sorted in increasing order",
        });
    }
    let n = x_sorted.len();
    let nf = n as f64;
    let map = |s: f64| {
        // k = number of samples strictly below s.
        let k = x_sorted.partition_point(|&v| v < s);
        let p = if k == 0 {
            0.5 / nf
        } else if k == n {
            (nf - 0.5) / nf
        } else {
            // x_(k-1) < s <= x_(k) (0-based), positions (k - 1/2)/N and (k + 1/2)/N.
            let (x0, x1) = (x_sorted[k - 1], x_sorted[k]);
            let t = (s - x0) / (x1 - x0);
            (k as f64 - 0.5 + t) / nf
        };
        normal_quantile(p)
    };
    Ok(points.iter().map(|&s| map(s)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Exp, StandardNormal};

    fn normals(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
    }

    #[test]
    fn moments_of_small_samples() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(mean(&x), 2.5);
        assert!((variance(&x) - 1.25).abs() < 1e-15);
        // m4 = (2.25^2 * 2 + 0.25^2 * 2) / 4 = 2.5625; m2^2 = 1.5625.
        assert!((excess_kurtosis(&x) - (2.5625 / 1.5625 - 3.0)).abs() < 1e-14);
        assert!(mean(&[]).is_nan());
    }

    #[test]
    fn gaussian_sample_statistics() {
        let x = normals(200_000, 7);
        // Standard errors: mean 0.0022, variance 0.0032, kurtosis 0.011, KS ~ 0.002.
        assert!(mean(&x).abs() < 0.01);
        assert!((variance(&x) - 1.0).abs() < 0.015);
        assert!(excess_kurtosis(&x).abs() < 0.05);
        let d = ks_distance_normal(&x).unwrap();
        assert!(d < 0.006, "KS {d}");
        // A shifted sample is far: sup |Phi(x - 0.5) - Phi(x)| = 2 Phi(0.25) - 1 = 0.1974.
        let shifted: Vec<f64> = x.iter().map(|v| v + 0.5).collect();
        let d = ks_distance_normal(&shifted).unwrap();
        assert!((d - 0.1974).abs() < 0.006, "KS shifted {d}");
    }

    #[test]
    fn ks_single_point() {
        // One sample at 0: F_N jumps 0 -> 1 at 0 where Phi = 1/2.
        assert!((ks_distance_normal(&[0.0]).unwrap() - 0.5).abs() < 1e-15);
        assert!(ks_distance_normal(&[]).is_err());
    }

    #[test]
    fn histogram_matches_density() {
        let x = normals(400_000, 8);
        let h = histogram(&x, -4.0, 4.0, 40).unwrap();
        let c = bin_centres(-4.0, 4.0, 40);
        for (hk, ck) in h.iter().zip(&c) {
            let want = super::super::normal::normal_pdf(*ck);
            // Bin width 0.2: curvature error < 0.003, sampling error < 0.005 at the peak.
            assert!((hk - want).abs() < 0.01, "at {ck}: {hk} vs {want}");
        }
        let exact = histogram(&[0.0, 0.5, 1.0, 2.0], 0.0, 1.0, 2).unwrap();
        // 0.0 -> bin 0; 0.5 and 1.0 -> bin 1; 2.0 outside; N = 4, width 0.5.
        assert_eq!(exact, vec![0.5, 1.0]);
        assert!(histogram(&x, 1.0, 1.0, 3).is_err());
        assert!(histogram(&x, 0.0, 1.0, 0).is_err());
    }

    #[test]
    fn quantile_map_of_exponential_is_closed_form() {
        // For s ~ Exp(1), T(s) = Phi^{-1}(1 - exp(-s)).
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let exp = Exp::new(1.0).unwrap();
        let mut x: Vec<f64> = (0..200_000).map(|_| exp.sample(&mut rng)).collect();
        x.sort_unstable_by(f64::total_cmp);
        let pts = [0.1, 0.5, 1.0, 2.0, 3.0];
        let t = quantile_map(&x, &pts).unwrap();
        for (s, ts) in pts.iter().zip(&t) {
            let want = normal_quantile(1.0 - (-s).exp());
            assert!((ts - want).abs() < 0.02, "T({s}) = {ts}, want {want}");
        }
        // Monotone and finite beyond the sample range.
        let t = quantile_map(&x, &[-1.0, 0.0, 100.0]).unwrap();
        assert!(t[0] <= t[1] && t.iter().all(|v| v.is_finite()));
        assert!(quantile_map(&[2.0, 1.0], &[0.0]).is_err());
    }

    #[test]
    fn quantile_map_plotting_positions() {
        // Samples 0, 1: F(0) = 1/4, F(1) = 3/4, F(0.5) = 1/2.
        let t = quantile_map(&[0.0, 1.0], &[0.0, 0.5, 1.0]).unwrap();
        assert!((t[0] - normal_quantile(0.25)).abs() < 1e-15);
        assert!(t[1].abs() < 1e-15);
        assert!((t[2] - normal_quantile(0.75)).abs() < 1e-15);
    }
}
