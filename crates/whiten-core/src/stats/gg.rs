//! Generalised Gaussian (location 0) maximum-likelihood fit, paper 2 section 5:
//! density `p(x) = beta / (2 alpha Gamma(1/beta)) exp(-(|x| / alpha)^beta)`.
//!
//! For a fixed `beta` the likelihood is maximised in closed form by
//! `alpha_hat(beta)^beta = (beta / N) sum |x|^beta`; the profile log-likelihood
//! `l(beta) / N = ln beta - ln 2 - ln alpha_hat - ln Gamma(1/beta) - 1/beta` is then maximised
//! over `ln beta` by a grid search followed by Brent's method.

use crate::error::{CoreError, Result};

/// Search range for the shape `beta` (the fit reports a boundary value if the optimum lies
/// outside; photographs give 0.4 to 1, a Gaussian 2).
pub const GG_BETA_RANGE: (f64, f64) = (0.1, 5.0);

/// Number of grid points in `ln beta` before the Brent refinement: guards against a local
/// maximum of the profile likelihood.
const GRID_POINTS: usize = 9;

/// Result of [`fit_generalized_gaussian`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GgFit {
    /// Scale `alpha`.
    pub alpha: f64,
    /// Shape `beta` (2 = Gaussian, 1 = Laplace, < 1 heavier tails).
    pub beta: f64,
    /// Total log-likelihood `sum ln p(x_t)` at (alpha, beta).
    pub log_likelihood: f64,
}

use crate::special::ln_gamma;

/// Generalised Gaussian density `beta / (2 alpha Gamma(1/beta)) exp(-(|x| / alpha)^beta)`.
pub fn gg_density(alpha: f64, beta: f64, x: f64) -> f64 {
    gg_log_density(alpha, beta, x).exp()
}

/// Logarithm of [`gg_density`].
pub fn gg_log_density(alpha: f64, beta: f64, x: f64) -> f64 {
    beta.ln() - (2.0 * alpha).ln() - ln_gamma(1.0 / beta) - (x.abs() / alpha).powf(beta)
}

/// The profile of the log-likelihood in `beta`, evaluated from `ln |x_t|` of the non-zero
/// samples (zeros add 0 to `sum |x|^beta`).
struct Profile {
    ln_abs: Vec<f64>,
    n: f64,
    evals: std::cell::Cell<usize>,
}

impl Profile {
    /// `(alpha_hat(beta), l(beta) / N)`.
    fn eval(&self, beta: f64) -> (f64, f64) {
        // alpha_hat^beta = (beta / N) sum |x|^beta, |x|^beta = exp(beta ln|x|).
        self.evals.set(self.evals.get() + 1);
        let mean_pow = self.ln_abs.iter().map(|&l| (beta * l).exp()).sum::<f64>() / self.n;
        let ln_alpha = (beta * mean_pow).ln() / beta;
        // l / N = ln beta - ln 2 - ln alpha - ln Gamma(1/beta) - (1/N) sum (|x|/alpha)^beta,
        // and the last sum is 1/beta at alpha_hat.
        let ll = beta.ln() - std::f64::consts::LN_2 - ln_alpha - ln_gamma(1.0 / beta) - 1.0 / beta;
        (ln_alpha.exp(), ll)
    }
}

/// Maximum-likelihood generalised Gaussian fit with location fixed at 0.
///
/// Errors: fewer than 2 samples, a non-finite sample, or all samples zero.
pub fn fit_generalized_gaussian(x: &[f64]) -> Result<GgFit> {
    if x.len() < 2 {
        return Err(CoreError::InvalidParameter {
            name: "samples",
            value: x.len() as f64,
            reason: "a generalised Gaussian fit needs at least 2 samples",
        });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite {
            what: "generalised Gaussian fit input",
        });
    }
    let ln_abs: Vec<f64> = x
        .iter()
        .filter(|v| **v != 0.0)
        .map(|v| v.abs().ln())
        .collect();
    if ln_abs.is_empty() {
        return Err(CoreError::InvalidParameter {
            name: "samples",
            value: 0.0,
            reason: "all samples are zero: the generalised Gaussian scale is undefined",
        });
    }
    let profile = Profile {
        ln_abs,
        n: x.len() as f64,
        evals: std::cell::Cell::new(0),
    };
    // Maximise over u = ln beta: grid, then Brent inside the bracket around the best point.
    let (lo, hi) = (GG_BETA_RANGE.0.ln(), GG_BETA_RANGE.1.ln());
    let step = (hi - lo) / (GRID_POINTS - 1) as f64;
    let grid: Vec<f64> = (0..GRID_POINTS)
        .map(|k| -profile.eval((lo + k as f64 * step).exp()).1)
        .collect();
    let best = (0..GRID_POINTS)
        .min_by(|&a, &b| grid[a].total_cmp(&grid[b]))
        .unwrap_or(0);
    let a = lo + best.saturating_sub(1) as f64 * step;
    let b = lo + (best + 1).min(GRID_POINTS - 1) as f64 * step;
    // ln beta to ~1e-5: far below the sampling error of any real fit.
    let (u, _) = brent_minimise(|u| -profile.eval(u.exp()).1, a, b, 1e-5, 100);
    let beta = u.exp();
    let (alpha, ll) = profile.eval(beta);
    tracing::debug!(
        alpha,
        beta,
        evaluations = profile.evals.get(),
        "generalised Gaussian fit"
    );
    Ok(GgFit {
        alpha,
        beta,
        log_likelihood: ll * profile.n,
    })
}

/// Brent's method (golden section with parabolic steps) for the minimum of `f` on `[a, b]`;
/// returns `(x_min, f(x_min))`, `x_min` located to about `xtol` (absolute) or after
/// `max_iter` evaluations.
pub(crate) fn brent_minimise(
    f: impl Fn(f64) -> f64,
    a: f64,
    b: f64,
    xtol: f64,
    max_iter: usize,
) -> (f64, f64) {
    const CGOLD: f64 = 0.381_966_011_250_105_1;
    let (mut a, mut b) = (a.min(b), a.max(b));
    let mut x = a + CGOLD * (b - a);
    let (mut w, mut v) = (x, x);
    let mut fx = f(x);
    let (mut fw, mut fv) = (fx, fx);
    // d: last step; e: the step before it (a parabolic step must be smaller than half of it).
    let (mut d, mut e) = (0.0_f64, 0.0_f64);
    for _ in 0..max_iter {
        let xm = 0.5 * (a + b);
        let tol1 = xtol;
        let tol2 = 2.0 * tol1;
        if (x - xm).abs() <= tol2 - 0.5 * (b - a) {
            break;
        }
        let mut golden = true;
        if e.abs() > tol1 {
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            } else {
                q = -q;
            }
            if p.abs() < (0.5 * q * e).abs() && p > q * (a - x) && p < q * (b - x) {
                e = d;
                d = p / q;
                let u = x + d;
                if u - a < tol2 || b - u < tol2 {
                    d = tol1.copysign(xm - x);
                }
                golden = false;
            }
        }
        if golden {
            e = if x >= xm { a - x } else { b - x };
            d = CGOLD * e;
        }
        let u = if d.abs() >= tol1 {
            x + d
        } else {
            x + tol1.copysign(d)
        };
        let fu = f(u);
        if fu <= fx {
            if u >= x {
                a = x;
            } else {
                b = x;
            }
            (v, fv, w, fw, x, fx) = (w, fw, x, fx, u, fu);
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                (v, fv, w, fw) = (w, fw, u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    (x, fx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Gamma};

    /// Samples of the generalised Gaussian: |x| = alpha G^(1/beta), G ~ Gamma(1/beta, 1),
    /// random sign.
    fn gg_samples(alpha: f64, beta: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let gamma = Gamma::new(1.0 / beta, 1.0).unwrap();
        (0..n)
            .map(|_| {
                let g: f64 = gamma.sample(&mut rng);
                let s = if rng.random::<bool>() { 1.0 } else { -1.0 };
                s * alpha * g.powf(1.0 / beta)
            })
            .collect()
    }

    #[test]
    fn ln_gamma_known_values() {
        let pi = std::f64::consts::PI;
        // Gamma(1/2) = sqrt(pi); Gamma(n) = (n-1)!; Gamma(1/3) = 2.678938534707747633.
        assert!((ln_gamma(0.5) - 0.5 * pi.ln()).abs() < 1e-14);
        assert!(ln_gamma(1.0).abs() < 1e-14 && ln_gamma(2.0).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(1.0 / 3.0) - 2.678_938_534_707_747_6f64.ln()).abs() < 1e-14);
        assert!((ln_gamma(0.1) - 9.513_507_698_668_732f64.ln()).abs() < 1e-13);
        // Recurrence ln Gamma(x + 1) = ln Gamma(x) + ln x.
        for i in 1..100 {
            let x = 0.05 * i as f64;
            assert!(
                (ln_gamma(x + 1.0) - ln_gamma(x) - x.ln()).abs() < 1e-13,
                "x = {x}"
            );
        }
    }

    #[test]
    fn density_integrates_to_one() {
        for (alpha, beta) in [(0.3, 0.7), (1.0, 2.0), (2.0, 1.0)] {
            // Trapezoid on [0, 60 alpha], doubled (the density is even); beta = 0.7 has a
            // cusp at 0, so the grid is fine.
            let n = 400_000;
            let h = 60.0 * alpha / n as f64;
            let mut s = 0.5 * gg_density(alpha, beta, 0.0);
            for k in 1..n {
                s += gg_density(alpha, beta, k as f64 * h);
            }
            let total = 2.0 * s * h;
            assert!(
                (total - 1.0).abs() < 2e-3,
                "alpha {alpha} beta {beta}: {total}"
            );
        }
        // beta = 2 is the Gaussian with variance alpha^2 / 2.
        let sigma = 0.8;
        let g = gg_density(sigma * 2f64.sqrt(), 2.0, 0.3);
        let want = (-0.3f64 * 0.3 / (2.0 * sigma * sigma)).exp()
            / (sigma * (2.0 * std::f64::consts::PI).sqrt());
        assert!((g - want).abs() < 1e-14);
    }

    #[test]
    fn brent_finds_minimum() {
        let (x, fx) = brent_minimise(|x| (x - 1.234).powi(2) + 3.0, -5.0, 5.0, 1e-9, 100);
        // f is flat at its minimum: x is determined to ~sqrt(eps f) = 3e-8 at best.
        assert!(
            (x - 1.234).abs() < 2e-7 && (fx - 3.0).abs() < 1e-13,
            "{x} {fx}"
        );
        let (x, _) = brent_minimise(|x| x.cosh() - 0.5 * x, -3.0, 3.0, 1e-9, 100);
        // d/dx: sinh x = 0.5.
        assert!((x - 0.5f64.asinh()).abs() < 2e-7, "{x}");
    }

    #[test]
    fn fit_recovers_parameters() {
        for (alpha, beta, seed) in [(0.25, 0.63, 1), (1.0, 1.0, 2), (1.5, 2.0, 3)] {
            let x = gg_samples(alpha, beta, 100_000, seed);
            let fit = fit_generalized_gaussian(&x).unwrap();
            // Standard errors at N = 1e5 are below 1 %; 3 % leaves room.
            assert!((fit.beta / beta - 1.0).abs() < 0.03, "beta {beta}: {fit:?}");
            assert!(
                (fit.alpha / alpha - 1.0).abs() < 0.03,
                "alpha {alpha}: {fit:?}"
            );
            // The reported log-likelihood is the direct sum, and no neighbour beats it.
            let direct: f64 = x
                .iter()
                .map(|&v| gg_log_density(fit.alpha, fit.beta, v))
                .sum();
            assert!((direct - fit.log_likelihood).abs() < 1e-8 * direct.abs());
            for (da, db) in [
                (1.01, 1.0),
                (0.99, 1.0),
                (1.0, 1.01),
                (1.0, 0.99),
                (1.01, 1.01),
            ] {
                let other: f64 = x
                    .iter()
                    .map(|&v| gg_log_density(fit.alpha * da, fit.beta * db, v))
                    .sum();
                assert!(other <= fit.log_likelihood + 1e-9 * direct.abs());
            }
        }
    }

    #[test]
    fn fit_refuses_bad_input() {
        assert!(fit_generalized_gaussian(&[1.0]).is_err());
        assert!(fit_generalized_gaussian(&[0.0, 0.0, 0.0]).is_err());
        assert!(fit_generalized_gaussian(&[1.0, f64::NAN]).is_err());
        // Zeros are allowed among non-zero samples.
        assert!(fit_generalized_gaussian(&[0.0, 1.0, -2.0, 0.5]).is_ok());
    }
}
