//! The interneuron activation family of paper 2 and its constraint function:
//!
//! ```text
//! f(theta, z) = a(theta) z + b(theta) sign(z) |z|^theta
//! a(theta)    = exp( max(2 theta - 3.85, 0)^1.95 )
//! b(theta)    = exp( max(theta^2.32 - 6, 0) )
//! c(theta, z) = a (z^2 - 1)/2 + b (|z|^(theta+1) - m(theta+1)) / (theta+1)     (dc/dz = f)
//! ```
//!
//! with `m(p) = E|Z|^p` for `Z ~ N(0, 1)`, so `E[c(theta, Z)] = 0` for a standard Gaussian.
//! The per-`theta` constants are gathered once in [`Activation`]; the hot-path methods then
//! cost one `powf` (for `f` and `f'`) or one `ln` and one `exp` (for `c`, `dc/dtheta` and `f`
//! together).

use crate::special::{abs_moment, abs_moment_deriv, abs_moment_deriv2};

/// Kink of `a`: `2 theta - 3.85 = 0`.
const A_KINK_OFFSET: f64 = 3.85;
/// Kink of `b`: `theta^2.32 - 6 = 0`, i.e. `theta = 6^(1/2.32) ~ 2.1665`.
const B_KINK_LEVEL: f64 = 6.0;

/// How the derivative `b'(theta)` of `b(theta) = exp(max(theta^2.32 - 6, 0))` is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BDerivative {
    /// The authors' reference: `b' = b * 2.32 theta^1.32` everywhere, without the indicator of
    /// the kink, so it does not vanish below `theta = 6^(1/2.32) ~ 2.1665` where `b` is flat.
    /// This defines the reference numbers, hence the default.
    #[default]
    Reference,
    /// The exact derivative: `b' = b * 2.32 theta^1.32 * [theta^2.32 > 6]`.
    Exact,
}

/// `a(theta) = exp( max(2 theta - 3.85, 0)^1.95 )`.
#[inline]
pub fn a(theta: f64) -> f64 {
    (2.0 * theta - A_KINK_OFFSET).max(0.0).powf(1.95).exp()
}

/// `b(theta) = exp( max(theta^2.32 - 6, 0) )`.
#[inline]
pub fn b(theta: f64) -> f64 {
    (theta.powf(2.32) - B_KINK_LEVEL).max(0.0).exp()
}

/// `a'(theta) = a(theta) * 3.9 * max(2 theta - 3.85, 0)^0.95` (exact: `a` is C^1 at its kink).
#[inline]
pub fn a_prime(theta: f64) -> f64 {
    a(theta) * 3.9 * (2.0 * theta - A_KINK_OFFSET).max(0.0).powf(0.95)
}

/// `b'(theta) = b(theta) * 2.32 theta^1.32`, times the indicator `[theta^2.32 > 6]` for
/// [`BDerivative::Exact`].
#[inline]
pub fn b_prime(theta: f64, rule: BDerivative) -> f64 {
    let d = b(theta) * 2.32 * theta.powf(1.32);
    match rule {
        BDerivative::Reference => d,
        BDerivative::Exact => {
            if theta.powf(2.32) > B_KINK_LEVEL {
                d
            } else {
                0.0
            }
        }
    }
}

/// `f(theta, z) = a z + b sign(z) |z|^theta` (one-off; build an [`Activation`] for loops).
pub fn f(theta: f64, z: f64) -> f64 {
    Activation::new(theta, BDerivative::Reference).f(z)
}

/// `f'(theta, z) = df/dz = a + b theta |z|^(theta - 1)`.
pub fn f_prime(theta: f64, z: f64) -> f64 {
    Activation::new(theta, BDerivative::Reference).f_prime(z)
}

/// `c(theta, z) = a (z^2 - 1)/2 + b (|z|^(theta+1) - m(theta+1)) / (theta+1)`.
pub fn c(theta: f64, z: f64) -> f64 {
    Activation::new(theta, BDerivative::Reference).c(z)
}

/// `dc/dtheta (theta, z)` with the chosen `b'` rule (see [`Activation::dc_dtheta`]).
pub fn dc_dtheta(theta: f64, z: f64, rule: BDerivative) -> f64 {
    Activation::new(theta, rule).dc_dtheta(z)
}

/// The constants of one member of the activation family, computed once per `theta`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activation {
    /// The activation parameter `theta`.
    pub theta: f64,
    /// `a(theta)`.
    pub a: f64,
    /// `b(theta)`.
    pub b: f64,
    /// `a'(theta)`.
    pub a_prime: f64,
    /// `b'(theta)` under the chosen [`BDerivative`] rule.
    pub b_prime: f64,
    /// `m(theta + 1) = E|Z|^(theta+1)`.
    pub m: f64,
    /// `m'(theta + 1) = E[ln|Z| |Z|^(theta+1)]`.
    pub m_prime: f64,
}

impl Activation {
    /// Gathers `a, b, a', b', m(theta+1), m'(theta+1)` for `theta` (the caller keeps
    /// `theta` in `[1, 3]`; nothing here checks it).
    pub fn new(theta: f64, rule: BDerivative) -> Self {
        let p = theta + 1.0;
        Self {
            theta,
            a: a(theta),
            b: b(theta),
            a_prime: a_prime(theta),
            b_prime: b_prime(theta, rule),
            m: abs_moment(p),
            m_prime: abs_moment_deriv(p),
        }
    }

    /// `f(z) = a z + b sign(z) |z|^theta`.
    #[inline]
    pub fn f(&self, z: f64) -> f64 {
        self.f_and_prime(z).0
    }

    /// `f'(z) = a + b theta |z|^(theta - 1)` (`|z|^0 = 1` at `theta = 1`, also at `z = 0`).
    #[inline]
    pub fn f_prime(&self, z: f64) -> f64 {
        self.f_and_prime(z).1
    }

    /// `(f(z), f'(z))` from one power: `|z|^(theta-1) = exp((theta-1) ln|z|)` (an `exp` and
    /// a `ln` are cheaper than a general `powf`), then `|z|^theta = |z|^(theta-1) |z|`.
    #[inline]
    pub fn f_and_prime(&self, z: f64) -> (f64, f64) {
        let az = z.abs();
        let p = if az > 0.0 {
            ((self.theta - 1.0) * az.ln()).exp()
        } else if self.theta == 1.0 {
            1.0 // |z|^0 = 1 at z = 0 too
        } else {
            0.0
        };
        let f = self.a * z + (self.b * p * az).copysign(z);
        let fp = self.a + self.b * self.theta * p;
        (f, fp)
    }

    /// `c(z) = a (z^2 - 1)/2 + b (|z|^(theta+1) - m(theta+1)) / (theta+1)`.
    #[inline]
    pub fn c(&self, z: f64) -> f64 {
        self.c_dc_f(z).0
    }

    /// `dc/dtheta = a' (z^2-1)/2 + b' (|z|^(theta+1) - m)/(theta+1) - b (|z|^(theta+1) - m)/(theta+1)^2
    ///  + b (ln|z| |z|^(theta+1) - m'(theta+1))/(theta+1)`, the `ln|z| |z|^(theta+1)` term being
    /// its limit 0 at `z = 0`.
    ///
    /// (The authors' code drops the whole last bracket, `-m'` included, when `z = 0` exactly;
    /// this only matters for inputs that are exactly zero.)
    #[inline]
    pub fn dc_dtheta(&self, z: f64) -> f64 {
        self.c_dc_f(z).1
    }

    /// `(c(z), dc/dtheta(z), f(z))` from one `ln` and one `exp`:
    /// `q = |z|^(theta+1) = exp((theta+1) ln|z|)`, `ln|z| |z|^(theta+1) = ln|z| q`,
    /// `|z|^theta = q / |z|`.
    #[inline]
    pub fn c_dc_f(&self, z: f64) -> (f64, f64, f64) {
        let p = self.theta + 1.0;
        let az = z.abs();
        let (q, lq, pz) = if az > 0.0 {
            let l = az.ln();
            let q = (p * l).exp();
            (q, l * q, q / az)
        } else {
            (0.0, 0.0, 0.0)
        };
        let lin = 0.5 * (z * z - 1.0);
        let mono = (q - self.m) / p;
        let c = self.a * lin + self.b * mono;
        let dc = self.a_prime * lin + self.b_prime * mono - self.b * mono / p
            + self.b * (lq - self.m_prime) / p;
        let f = self.a * z + (self.b * pz).copysign(z);
        (c, dc, f)
    }

    /// Spread of the learning signals `c(Z)` and `dc/dtheta(Z)` for `Z ~ N(0, 1)`, in closed
    /// form from the moments `m(p)`, `m'(p) = E[ln|Z| |Z|^p]`, `m''(p) = E[ln^2|Z| |Z|^p]`.
    ///
    /// These are the fluctuations of the learning signals once the responses are Gaussian,
    /// i.e. the natural, data-independent scales of the `g` and `theta` updates.
    pub fn gaussian_spread(&self) -> GaussianSpread {
        let p = self.theta + 1.0;
        let (m, m1) = (self.m, self.m_prime);
        // c = a L + (b/p) M with L = (Z^2-1)/2, M = |Z|^p - m;
        // dc/dtheta = A L + B M + C G with G = ln|Z| |Z|^p - m',
        // A = a', B = b'/p - b/p^2, C = b/p.
        // E[L^2] = 1/2, E[L M] = (m(p+2) - m(p))/2, E[M^2] = m(2p) - m^2,
        // E[L G] = (m'(p+2) - m'(p))/2, E[M G] = m'(2p) - m m', E[G^2] = m''(2p) - m'^2.
        let ll = 0.5;
        let lm = 0.5 * (abs_moment(p + 2.0) - m);
        let mm = abs_moment(2.0 * p) - m * m;
        let lg = 0.5 * (abs_moment_deriv(p + 2.0) - m1);
        let mg = abs_moment_deriv(2.0 * p) - m * m1;
        let gg = abs_moment_deriv2(2.0 * p) - m1 * m1;
        let (ca, cm) = (self.a, self.b / p);
        let (da, db, dg) = (
            self.a_prime,
            self.b_prime / p - self.b / (p * p),
            self.b / p,
        );
        let var_c = ca * ca * ll + 2.0 * ca * cm * lm + cm * cm * mm;
        let var_dc = da * da * ll
            + db * db * mm
            + dg * dg * gg
            + 2.0 * (da * db * lm + da * dg * lg + db * dg * mg);
        let cov = ca * (da * ll + db * lm + dg * lg) + cm * (da * lm + db * mm + dg * mg);
        GaussianSpread {
            var_c: var_c.max(0.0),
            var_dc: var_dc.max(0.0),
            cov,
        }
    }
}

/// Second moments of the learning signals under the target `Z ~ N(0, 1)` (their means are 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaussianSpread {
    /// `Var c(theta, Z)`.
    pub var_c: f64,
    /// `Var dc/dtheta(theta, Z)`.
    pub var_dc: f64,
    /// `Cov(c, dc/dtheta)`.
    pub cov: f64,
}

impl GaussianSpread {
    /// Regression coefficient of `dc/dtheta` on `c`, `Cov / Var c`.
    pub fn slope(&self) -> f64 {
        if self.var_c > 0.0 {
            self.cov / self.var_c
        } else {
            0.0
        }
    }

    /// Variance of `dc/dtheta - slope * c`, the part of `dc/dtheta` uncorrelated with `c`.
    pub fn var_residual(&self) -> f64 {
        (self.var_dc - self.slope() * self.cov).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd5(f: impl Fn(f64) -> f64, x: f64, e: f64) -> f64 {
        (-f(x + 2.0 * e) + 8.0 * f(x + e) - 8.0 * f(x - e) + f(x - 2.0 * e)) / (12.0 * e)
    }

    /// `E[h(Z)]`, Z ~ N(0,1), by composite Simpson on [-L, L] split at 0 (h may have a
    /// kink at 0), fine enough for 1e-10 on the smooth-but-for-0 integrands used here.
    fn gauss_expect(h: impl Fn(f64) -> f64) -> f64 {
        let (l, n) = (12.0, 40_000usize);
        let step = l / n as f64;
        let dens = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut total = 0.0;
        for sgn in [-1.0, 1.0] {
            let mut s = 0.0;
            for i in 0..=n {
                let x = sgn * i as f64 * step;
                let w = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                s += w * h(x) * dens(x);
            }
            total += s * step / 3.0;
        }
        total
    }

    #[test]
    fn a_b_are_one_in_the_middle_and_grow_at_the_ends() {
        assert_eq!(a(1.5), 1.0);
        assert_eq!(b(2.0), 1.0);
        assert!((a(3.0) - (2.15f64).powf(1.95).exp()).abs() < 1e-12 * a(3.0));
        assert!((b(3.0) - (3f64.powf(2.32) - 6.0).exp()).abs() < 1e-12 * b(3.0));
        assert!(b(1.0) == 1.0 && a(1.0) == 1.0);
    }

    #[test]
    fn a_prime_and_exact_b_prime_match_finite_differences() {
        // away from the kinks (a: 1.925; b: ~2.1665) so the FD stencil does not straddle them
        for &t in &[1.2, 1.8, 2.0, 2.1, 2.3, 2.6, 2.95] {
            let e = 1e-4;
            let fa = fd5(a, t, e);
            let fb = fd5(b, t, e);
            assert!((a_prime(t) - fa).abs() < 1e-8 * a(t).max(1.0), "a'({t})");
            assert!(
                (b_prime(t, BDerivative::Exact) - fb).abs() < 1e-8 * b(t),
                "b'({t})"
            );
        }
        // the reference b' differs from the true derivative (0) below the kink ...
        for &t in &[1.0, 1.5, 2.0, 2.15] {
            assert_eq!(b_prime(t, BDerivative::Exact), 0.0);
            let r = b_prime(t, BDerivative::Reference);
            assert!(
                (r - 2.32 * t.powf(1.32)).abs() < 1e-12 && r > 2.0,
                "b'_ref({t}) = {r}"
            );
        }
        // ... and equals it above.
        for &t in &[2.2, 2.5, 3.0] {
            assert_eq!(
                b_prime(t, BDerivative::Exact),
                b_prime(t, BDerivative::Reference)
            );
        }
    }

    #[test]
    fn f_is_the_z_derivative_of_c_and_f_prime_of_f() {
        for &t in &[1.0, 1.3, 2.0, 2.2, 2.7, 3.0] {
            let act = Activation::new(t, BDerivative::Reference);
            for &z in &[-3.1, -1.0, -0.4, 0.05, 0.3, 1.0, 2.2, 4.0] {
                let e = 1e-4;
                let dc = fd5(|x| act.c(x), z, e);
                assert!(
                    (dc - act.f(z)).abs() < 1e-8 * act.f(z).abs().max(1.0),
                    "c' at {t},{z}"
                );
                let df = fd5(|x| act.f(x), z, e);
                assert!(
                    (df - act.f_prime(z)).abs() < 1e-8 * act.f_prime(z).max(1.0),
                    "f' at {t},{z}"
                );
                // one-off free functions agree with the struct
                assert!((f(t, z) - act.f(z)).abs() < 1e-14 * act.f(z).abs().max(1.0));
                assert!((f_prime(t, z) - act.f_prime(z)).abs() < 1e-14 * act.f_prime(z));
                assert!((c(t, z) - act.c(z)).abs() < 1e-12 * act.c(z).abs().max(1.0));
                // f and f' from the (ln, exp) path agree with the powf path
                let (_, _, f3) = act.c_dc_f(z);
                assert!((f3 - act.f(z)).abs() < 1e-13 * act.f(z).abs().max(1.0));
            }
            // f odd, f(0) = 0, f'(0) = a (+ b at theta = 1)
            assert_eq!(act.f(0.0), 0.0);
            let fp0 = if t == 1.0 { act.a + act.b } else { act.a };
            assert_eq!(act.f_prime(0.0), fp0);
            assert_eq!(act.f(-1.7), -act.f(1.7));
        }
    }

    #[test]
    fn dc_dtheta_matches_finite_differences_in_theta() {
        let zs = [-2.5, -0.7, 0.2, 1.0, 1.9, 3.3];
        // Exact rule: everywhere away from the kinks of a and b
        for &t in &[1.2, 1.7, 2.05, 2.3, 2.6, 2.9] {
            for &z in &zs {
                let an = dc_dtheta(t, z, BDerivative::Exact);
                let fd = fd5(|th| c(th, z), t, 1e-4);
                assert!(
                    (an - fd).abs() < 1e-7 * fd.abs().max(1.0),
                    "exact {t},{z}: {an} {fd}"
                );
            }
        }
        // Reference rule: equal where theta^2.32 > 6, different below the kink of b
        for &t in &[2.3, 2.6, 2.9] {
            for &z in &zs {
                let an = dc_dtheta(t, z, BDerivative::Reference);
                let fd = fd5(|th| c(th, z), t, 1e-4);
                assert!((an - fd).abs() < 1e-7 * fd.abs().max(1.0), "ref {t},{z}");
            }
        }
        for &t in &[1.5, 2.0] {
            let z = 2.0;
            let an = dc_dtheta(t, z, BDerivative::Reference);
            let fd = fd5(|th| c(th, z), t, 1e-4);
            // the extra term is b' (|z|^(t+1) - m)/(t+1) with b' = 2.32 t^1.32
            let act = Activation::new(t, BDerivative::Reference);
            let extra = 2.32 * t.powf(1.32) * (z.abs().powf(t + 1.0) - act.m) / (t + 1.0);
            assert!(extra.abs() > 1.0);
            assert!(
                (an - fd - extra).abs() < 1e-7 * extra.abs(),
                "ref below kink {t}"
            );
        }
        // z = 0: the ln|z| |z|^(theta+1) term is its limit 0
        let act = Activation::new(2.5, BDerivative::Exact);
        let p = 3.5;
        let at0 = act.a_prime * -0.5 + act.b_prime * (-act.m) / p + act.b * act.m / (p * p)
            - act.b * act.m_prime / p;
        assert!((act.dc_dtheta(0.0) - at0).abs() < 1e-12 * at0.abs());
        assert!((act.dc_dtheta(1e-9) - at0).abs() < 1e-6 * at0.abs());
    }

    #[test]
    fn constraint_has_zero_gaussian_mean_and_closed_form_spread() {
        for &t in &[1.0, 1.5, 2.0, 2.2, 2.5, 3.0] {
            for rule in [BDerivative::Reference, BDerivative::Exact] {
                let act = Activation::new(t, rule);
                let ec = gauss_expect(|z| act.c(z));
                let scale = act.a + act.b;
                assert!(ec.abs() < 1e-9 * scale, "E[c] at theta {t} = {ec}");
                // E[dc/dtheta] = 0 too: a Gaussian satisfies E[c] = 0 for every theta
                let edc = gauss_expect(|z| act.dc_dtheta(z));
                assert!(
                    edc.abs() < 1e-8 * (scale + act.a_prime + act.b_prime),
                    "E[dc] {t}"
                );
                let sp = act.gaussian_spread();
                let vc = gauss_expect(|z| act.c(z).powi(2));
                let vdc = gauss_expect(|z| act.dc_dtheta(z).powi(2));
                let cov = gauss_expect(|z| act.c(z) * act.dc_dtheta(z));
                assert!(
                    (sp.var_c - vc).abs() < 1e-8 * vc,
                    "var c {t}: {} {vc}",
                    sp.var_c
                );
                assert!(
                    (sp.var_dc - vdc).abs() < 1e-7 * vdc,
                    "var dc {t}: {} {vdc}",
                    sp.var_dc
                );
                assert!(
                    (sp.cov - cov).abs() < 1e-7 * vdc.sqrt() * vc.sqrt(),
                    "cov {t}"
                );
                // the residual of the regression is uncorrelated with c
                let k = sp.slope();
                let res = gauss_expect(|z| (act.dc_dtheta(z) - k * act.c(z)) * act.c(z));
                assert!(
                    res.abs() < 1e-7 * vdc.sqrt() * vc.sqrt(),
                    "residual cov {t}"
                );
            }
        }
    }
}
