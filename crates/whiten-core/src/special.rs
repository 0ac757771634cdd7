//! Special functions for paper 2's circuit: the gamma function and its logarithm (Lanczos),
//! the digamma and trigamma functions (recurrence plus asymptotic series), and the absolute
//! moments of the standard Gaussian, `m(p) = E|Z|^p`, with their first two derivatives in `p`.
//!
//! Accuracy is about 1e-15 relative for arguments of moderate size, which is far more than the
//! circuit needs (it only evaluates these at `p = theta + 1` in `[2, 4]` and multiples thereof).

use std::f64::consts::{LN_2, PI};

/// Lanczos parameter `g` of the coefficient set below (g = 7, n = 9).
const LANCZOS_G: f64 = 7.0;
/// Lanczos coefficients for `g = 7`, `n = 9` (relative error about 1e-15 for `x > 0`).
const LANCZOS_COEF: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];
/// `ln(sqrt(2 pi))`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Lanczos series `A_g(x)` for the argument `x` (already shifted by -1).
#[inline]
fn lanczos_sum(x: f64) -> f64 {
    let mut a = LANCZOS_COEF[0];
    for (i, &c) in LANCZOS_COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    a
}

/// `ln |Gamma(x)|` for real `x` (NaN at poles `x = 0, -1, -2, ...` is returned as +inf).
///
/// Lanczos approximation for `x >= 1/2`:
/// `Gamma(x) = sqrt(2 pi) t^(x - 1/2) e^-t A_g(x - 1)`, `t = x - 1/2 + g`;
/// reflection `Gamma(x) Gamma(1 - x) = pi / sin(pi x)` below.
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.5 {
        let s = (PI * x).sin();
        if s == 0.0 {
            return f64::INFINITY;
        }
        // ln|Gamma(x)| = ln pi - ln|sin(pi x)| - ln|Gamma(1 - x)|
        return PI.ln() - s.abs().ln() - ln_gamma(1.0 - x);
    }
    let xm = x - 1.0;
    let t = xm + LANCZOS_G + 0.5;
    LN_SQRT_2PI + (xm + 0.5) * t.ln() - t + lanczos_sum(xm).ln()
}

/// `Gamma(x)` for real `x` (infinite at the poles `x = 0, -1, -2, ...`).
pub fn gamma(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.5 {
        let s = (PI * x).sin();
        if s == 0.0 {
            return f64::INFINITY;
        }
        // reflection: Gamma(x) = pi / (sin(pi x) Gamma(1 - x))
        return PI / (s * gamma(1.0 - x));
    }
    if x > 171.7 {
        return f64::INFINITY;
    }
    let xm = x - 1.0;
    let t = xm + LANCZOS_G + 0.5;
    // Gamma(x) = sqrt(2 pi) t^(x - 1/2) e^-t A_g(x - 1); t^(x-1/2) split to avoid overflow
    let half = t.powf(0.5 * (xm + 0.5));
    (2.0 * PI).sqrt() * half * (half * (-t).exp()) * lanczos_sum(xm)
}

/// Digamma `psi(x) = d ln Gamma(x) / dx` for real `x` (NaN at the poles).
///
/// Recurrence `psi(x) = psi(x + 1) - 1/x` up to `x >= 10`, then the asymptotic series
/// `psi(x) = ln x - 1/(2x) - sum_k B_2k / (2k x^2k)`; reflection
/// `psi(1 - x) - psi(x) = pi cot(pi x)` for negative arguments.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        let t = (PI * x).tan();
        if x == x.floor() {
            return f64::NAN;
        }
        // psi(x) = psi(1 - x) - pi / tan(pi x)
        return digamma(1.0 - x) - PI / t;
    }
    let mut x = x;
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    // B_2k / (2k): 1/12, -1/120, 1/252, -1/240, 1/132, -691/32760, 1/12
    let series = x2
        * (1.0 / 12.0
            - x2 * (1.0 / 120.0
                - x2 * (1.0 / 252.0
                    - x2 * (1.0 / 240.0
                        - x2 * (1.0 / 132.0 - x2 * (691.0 / 32760.0 - x2 / 12.0))))));
    acc + x.ln() - 0.5 / x - series
}

/// Trigamma `psi'(x)` for `x > 0` (NaN otherwise).
///
/// Recurrence `psi'(x) = psi'(x + 1) + 1/x^2` up to `x >= 10`, then
/// `psi'(x) = 1/x + 1/(2x^2) + sum_k B_2k / x^(2k+1)`.
pub fn trigamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut x = x;
    let mut acc = 0.0;
    while x < 10.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    // B_2k: 1/6, -1/30, 1/42, -1/30, 5/66, -691/2730, 7/6
    let series = x2
        * (1.0 / 6.0
            - x2 * (1.0 / 30.0
                - x2 * (1.0 / 42.0
                    - x2 * (1.0 / 30.0
                        - x2 * (5.0 / 66.0 - x2 * (691.0 / 2730.0 - x2 * 7.0 / 6.0))))));
    acc + (1.0 + 0.5 / x + series) / x
}

/// `m(p) = E|Z|^p` for `Z ~ N(0, 1)`: `m(p) = sqrt(2^p / pi) Gamma((p + 1) / 2)`, `p > -1`.
pub fn abs_moment(p: f64) -> f64 {
    // computed in logs so that large p does not overflow early
    (0.5 * p * LN_2 - 0.5 * PI.ln() + ln_gamma(0.5 * (p + 1.0))).exp()
}

/// `m'(p) = dm/dp = E[ln|Z| |Z|^p] = (1/2) m(p) (ln 2 + psi((p + 1) / 2))`.
pub fn abs_moment_deriv(p: f64) -> f64 {
    0.5 * abs_moment(p) * (LN_2 + digamma(0.5 * (p + 1.0)))
}

/// `m''(p) = E[ln^2|Z| |Z|^p] = m(p) ((ln 2 + psi((p+1)/2))^2 / 4 + psi'((p+1)/2) / 4)`.
pub fn abs_moment_deriv2(p: f64) -> f64 {
    let h1 = 0.5 * (LN_2 + digamma(0.5 * (p + 1.0)));
    let h2 = 0.25 * trigamma(0.5 * (p + 1.0));
    abs_moment(p) * (h1 * h1 + h2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

    /// Five-point central difference (error O(e^4)).
    fn fd5(f: impl Fn(f64) -> f64, x: f64, e: f64) -> f64 {
        (-f(x + 2.0 * e) + 8.0 * f(x + e) - 8.0 * f(x - e) + f(x - 2.0 * e)) / (12.0 * e)
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1e-300)
    }

    #[test]
    fn gamma_known_values() {
        assert!(rel(gamma(0.5), PI.sqrt()) < 1e-14);
        assert!(rel(gamma(1.0), 1.0) < 1e-14);
        assert!(rel(gamma(1.5), 0.5 * PI.sqrt()) < 1e-14);
        // integers: (n-1)!
        let mut fact = 1.0;
        for n in 1..20 {
            assert!(rel(gamma(n as f64), fact) < 1e-13, "Gamma({n})");
            assert!(
                (ln_gamma(n as f64) - fact.ln()).abs() < 1e-13 * fact.ln().abs().max(1.0),
                "lnGamma({n})"
            );
            fact *= n as f64;
        }
        // reflection: Gamma(-0.5) = -2 sqrt(pi)
        assert!(rel(gamma(-0.5), -2.0 * PI.sqrt()) < 1e-14);
        assert!((ln_gamma(-0.5) - (2.0 * PI.sqrt()).ln()).abs() < 1e-14);
        // Gamma(x + 1) = x Gamma(x) at non-integers, and lnGamma consistent with Gamma
        for &x in &[0.1, 0.7, 1.3, 2.6, 4.4, 9.9, 33.3] {
            assert!(
                rel(gamma(x + 1.0), x * gamma(x)) < 1e-13,
                "recurrence at {x}"
            );
            assert!((ln_gamma(x) - gamma(x).ln()).abs() < 1e-13, "ln at {x}");
        }
        // large argument: lnGamma(100) = ln(99!)
        let ln99f: f64 = (1..100).map(|k| (k as f64).ln()).sum();
        assert!(rel(ln_gamma(100.0), ln99f) < 1e-14);
    }

    #[test]
    fn digamma_known_values() {
        assert!((digamma(1.0) + EULER_GAMMA).abs() < 1e-14);
        assert!((digamma(0.5) + EULER_GAMMA + 2.0 * LN_2).abs() < 1e-14);
        // psi(n) = -gamma + H_{n-1}
        let mut h = 0.0;
        for n in 1..30 {
            assert!(
                (digamma(n as f64) - (h - EULER_GAMMA)).abs() < 1e-13,
                "psi({n})"
            );
            h += 1.0 / n as f64;
        }
        // derivative of lnGamma by central differences
        for &x in &[0.3, 1.7, 2.5, 6.1, 12.0] {
            let fd = fd5(ln_gamma, x, 1e-4);
            assert!(
                (digamma(x) - fd).abs() < 1e-10,
                "psi({x}) vs FD: {} {fd}",
                digamma(x)
            );
        }
        // reflection
        let x = -0.3;
        assert!((digamma(x) - (digamma(1.0 - x) - PI / (PI * x).tan())).abs() < 1e-14);
    }

    #[test]
    fn trigamma_known_values() {
        assert!((trigamma(1.0) - PI * PI / 6.0).abs() < 1e-14);
        assert!((trigamma(0.5) - PI * PI / 2.0).abs() < 1e-13);
        for &x in &[0.4, 1.9, 3.5, 11.0] {
            let fd = fd5(digamma, x, 1e-4);
            assert!((trigamma(x) - fd).abs() < 1e-10, "psi'({x}) vs FD");
        }
    }

    #[test]
    fn gaussian_absolute_moments() {
        assert!((abs_moment(0.0) - 1.0).abs() < 1e-14);
        assert!((abs_moment(1.0) - (2.0 / PI).sqrt()).abs() < 1e-14);
        assert!((abs_moment(2.0) - 1.0).abs() < 1e-14);
        assert!((abs_moment(3.0) - 2.0 * (2.0 / PI).sqrt()).abs() < 1e-14);
        assert!((abs_moment(4.0) - 3.0).abs() < 1e-13);
        assert!((abs_moment(6.0) - 15.0).abs() < 1e-12);
        // m' and m'' against central finite differences
        for &p in &[1.0, 2.0, 2.3, 3.1, 4.0, 6.5] {
            let fd1 = fd5(abs_moment, p, 1e-3);
            assert!(
                (abs_moment_deriv(p) - fd1).abs() < 1e-11 * abs_moment(p).max(1.0),
                "m'({p})"
            );
            let fd2 = fd5(abs_moment_deriv, p, 1e-3);
            assert!(
                (abs_moment_deriv2(p) - fd2).abs() < 1e-10 * abs_moment(p).max(1.0),
                "m''({p})"
            );
        }
        // m'(2) = E[ln|Z| Z^2] = (2 - gamma - ln 2 + ln 2)/2... closed form: (1/2)(ln 2 + psi(3/2)),
        // psi(3/2) = 2 - gamma - 2 ln 2
        let expect = 0.5 * (LN_2 + 2.0 - EULER_GAMMA - 2.0 * LN_2);
        assert!((abs_moment_deriv(2.0) - expect).abs() < 1e-14);
    }
}
