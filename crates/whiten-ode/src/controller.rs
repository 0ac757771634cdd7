//! Step-size control: the mixed error norm, a PI controller and Hairer's initial step.

use crate::stats::Stats;
use crate::system::System;

/// Parameters of the step-size controller (checked by [`crate::Options::validate`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControllerParams {
    /// Safety factor applied to the optimal step (0 < safety < 1).
    pub safety: f64,
    /// Smallest allowed ratio `h_new / h` (shrink bound).
    pub min_factor: f64,
    /// Largest allowed ratio `h_new / h` (growth bound).
    pub max_factor: f64,
    /// Weight of the previous error times the error order `q` (`beta = beta_q / q`,
    /// `alpha = 1/q - 0.75 beta`). The default 0 is the classical I controller (as scipy's
    /// RK45, and the fewest rhs evaluations on the whitening flows); Hairer's dopri5 uses the PI
    /// controller `beta_q = 0.2` (`beta = 0.04` at `q = 5`).
    pub beta_q: f64,
}

impl Default for ControllerParams {
    fn default() -> Self {
        Self {
            safety: 0.9,
            min_factor: 0.2,
            max_factor: 10.0,
            beta_q: 0.0,
        }
    }
}

/// Mixed RMS error norm `sqrt(mean_i (err_i / (atol + rtol max(|y_old_i|, |y_new_i|)))^2)`.
pub fn error_norm(err: &[f64], y_old: &[f64], y_new: &[f64], rtol: f64, atol: f64) -> f64 {
    let n = err.len();
    let mut s = 0.0;
    for i in 0..n {
        let sc = atol + rtol * y_old[i].abs().max(y_new[i].abs());
        let r = err[i] / sc;
        s += r * r;
    }
    (s / n.max(1) as f64).sqrt()
}

/// PI step-size controller (Gustafsson; Hairer & Wanner, Solving ODEs II, Sec. IV.2):
/// `h_new = h * clamp(safety * err^(-alpha) * err_prev^(beta), min_factor, max_factor)`.
#[derive(Clone, Debug)]
pub struct PiController {
    params: ControllerParams,
    /// Exponent on the current error.
    alpha: f64,
    /// Exponent on the previous accepted error.
    beta: f64,
    /// Order `q` of the error estimate (`err = O(h^q)`).
    q: f64,
    err_prev: f64,
}

/// Decision of the controller on a trial step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// Whether the step is accepted.
    pub accept: bool,
    /// Ratio `h_next / h`.
    pub factor: f64,
}

impl PiController {
    /// Controller for an error estimate of order `q` (`err = O(h^q)`).
    pub fn new(q: u32, params: ControllerParams) -> Self {
        let q = q as f64;
        let beta = params.beta_q / q;
        Self {
            params,
            alpha: 1.0 / q - 0.75 * beta,
            beta,
            q,
            err_prev: 1e-4,
        }
    }

    /// Decides on a trial step with scaled error norm `err`; `after_reject` forbids growth
    /// right after a rejection.
    pub fn decide(&mut self, err: f64, after_reject: bool) -> Decision {
        let p = &self.params;
        if err <= 1.0 {
            let err = err.max(1e-10);
            let mut factor = p.safety * err.powf(-self.alpha) * self.err_prev.powf(self.beta);
            factor = factor.clamp(p.min_factor, p.max_factor);
            if after_reject {
                factor = factor.min(1.0);
            }
            self.err_prev = err.max(1e-4);
            Decision {
                accept: true,
                factor,
            }
        } else if err.is_finite() {
            // I-controller on rejection: the PI memory belongs to accepted steps.
            let factor = (p.safety * err.powf(-1.0 / self.q)).clamp(p.min_factor, 1.0);
            Decision {
                accept: false,
                factor,
            }
        } else {
            Decision {
                accept: false,
                factor: 0.25,
            }
        }
    }
}

/// Hairer's automatic initial step (Hairer, Norsett & Wanner, Solving ODEs I, Sec. II.4,
/// code `HINIT`) for a method of order `order`; costs one rhs evaluation.
///
/// `d0 = ||y0||`, `d1 = ||f0||`, `h0 = 0.01 d0/d1`, explicit Euler step to `y1`,
/// `d2 = ||f(t0+h0, y1) - f0|| / h0`, `h1 = (0.01 / max(d1, d2))^(1/(order+1))`,
/// `h = min(100 h0, h1, h_max)`. Norms are RMS, scaled by `atol + rtol |y0|`.
pub fn initial_step<S: System>(
    system: &mut S,
    t0: f64,
    y0: &[f64],
    f0: &[f64],
    order: u32,
    rtol: f64,
    atol: f64,
    h_max: f64,
    work: (&mut [f64], &mut [f64]),
    stats: &mut Stats,
) -> f64 {
    let (y1, f1) = work;
    let n = y0.len().max(1) as f64;
    let sc = |i: usize| atol + rtol * y0[i].abs();
    let mut d0 = 0.0;
    let mut d1 = 0.0;
    for i in 0..y0.len() {
        d0 += (y0[i] / sc(i)).powi(2);
        d1 += (f0[i] / sc(i)).powi(2);
    }
    let (d0, d1) = ((d0 / n).sqrt(), (d1 / n).sqrt());
    let mut h0 = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    h0 = h0.min(h_max);
    for i in 0..y0.len() {
        y1[i] = y0[i] + h0 * f0[i];
    }
    system.rhs(t0 + h0, y1, f1);
    stats.rhs_evals += 1;
    let mut d2 = 0.0;
    for i in 0..y0.len() {
        d2 += ((f1[i] - f0[i]) / sc(i)).powi(2);
    }
    let d2 = (d2 / n).sqrt() / h0;
    let h1 = if !d2.is_finite() {
        h0 * 1e-3
    } else if d1.max(d2) <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / d1.max(d2)).powf(1.0 / (order as f64 + 1.0))
    };
    (100.0 * h0).min(h1).min(h_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_norm_is_rms_of_scaled_errors() {
        // sc = [1e-3 + 1e-2 * 2, 1e-3 + 1e-2 * 4] = [0.021, 0.041]
        let e = error_norm(&[0.021, 0.082], &[1.0, -4.0], &[2.0, 3.0], 1e-2, 1e-3);
        let expected = ((1.0f64 + 4.0) / 2.0).sqrt();
        assert!((e - expected).abs() < 1e-12, "{e}");
    }

    #[test]
    fn controller_bounds_and_no_growth_after_reject() {
        let p = ControllerParams::default();
        let mut c = PiController::new(5, p);
        let d = c.decide(1e-30, false);
        assert!(d.accept && (d.factor - p.max_factor).abs() < 1e-12);
        let d = c.decide(1e-30, true);
        assert!(d.accept && d.factor <= 1.0);
        let d = c.decide(1e6, false);
        assert!(!d.accept && (d.factor - p.min_factor).abs() < 1e-12);
        let d = c.decide(f64::NAN, false);
        assert!(!d.accept && d.factor < 1.0);
        // err = 1 exactly is accepted with a factor below 1 (the safety factor).
        let mut c = PiController::new(5, p);
        let d = c.decide(1.0, false);
        assert!(d.accept && d.factor < 1.0);
    }
}
