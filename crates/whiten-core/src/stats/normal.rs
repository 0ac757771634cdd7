//! The standard normal distribution: complementary error function (W. J. Cody's rational
//! Chebyshev approximations), CDF `Phi`, density and quantile `Phi^{-1}` (P. J. Acklam's
//! rational approximation refined by one Halley step).

use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// `1 / sqrt(pi)`.
const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;

// Cody (1969), "Rational Chebyshev approximations for the error function", Math. Comp. 23,
// 631-638: erf on |x| <= 0.46875 ...
const ERF_A: [f64; 5] = [
    3.161_123_743_870_565_6,
    113.864_154_151_050_16,
    377.485_237_685_302,
    3_209.377_589_138_469_4,
    0.185_777_706_184_603_15,
];
const ERF_B: [f64; 4] = [
    23.601_290_952_344_122,
    244.024_637_934_444_17,
    1_282.616_526_077_372_3,
    2_844.236_833_439_171,
];
// ... erfc on 0.46875 < |x| <= 4 ...
const ERFC_C: [f64; 9] = [
    0.564_188_496_988_670_1,
    8.883_149_794_388_376,
    66.119_190_637_141_63,
    298.635_138_197_400_1,
    881.952_221_241_769,
    1_712.047_612_634_070_6,
    2_051.078_377_826_071_5,
    1_230.339_354_797_997_2,
    2.153_115_354_744_038_5e-8,
];
const ERFC_D: [f64; 8] = [
    15.744_926_110_709_835,
    117.693_950_891_312_5,
    537.181_101_862_009_9,
    1_621.389_574_566_690_2,
    3_290.799_235_733_459_7,
    4_362.619_090_143_247,
    3_439.367_674_143_721_6,
    1_230.339_354_803_749_5,
];
// ... and erfc on |x| > 4 (asymptotic form in 1/x^2).
const ERFC_P: [f64; 6] = [
    0.305_326_634_961_232_36,
    0.360_344_899_949_804_45,
    0.125_781_726_111_229_24,
    0.016_083_785_148_742_275,
    6.587_491_615_298_378e-4,
    0.016_315_387_137_302_097,
];
const ERFC_Q: [f64; 5] = [
    2.568_520_192_289_822,
    1.872_952_849_923_460_4,
    0.527_905_102_951_428_4,
    0.060_518_341_312_441_32,
    0.002_335_204_976_268_691_8,
];

/// `exp(-y^2)` computed as `exp(-t^2) exp(-(y - t)(y + t))` with `t = y` rounded down to a
/// multiple of 1/16: avoids the cancellation error of squaring a large `y` (Cody's trick).
fn exp_minus_square(y: f64) -> f64 {
    let t = (y * 16.0).trunc() / 16.0;
    let del = (y - t) * (y + t);
    (-t * t).exp() * (-del).exp()
}

/// erf on |x| <= 0.46875: `x A(x^2) / B(x^2)` (Cody's first interval).
fn erf_small(x: f64) -> f64 {
    let ysq = x * x;
    let mut num = ERF_A[4] * ysq;
    let mut den = ysq;
    for i in 0..3 {
        num = (num + ERF_A[i]) * ysq;
        den = (den + ERF_B[i]) * ysq;
    }
    x * (num + ERF_A[3]) / (den + ERF_B[3])
}

/// Complementary error function `erfc(x) = (2 / sqrt(pi)) int_x^inf exp(-t^2) dt`, with
/// relative error near machine precision (Cody's approximations, three intervals).
/// NaN maps to NaN.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let y = x.abs();
    if y <= 0.468_75 {
        // No cancellation this close to 0: erfc = 1 - erf.
        return 1.0 - erf_small(x);
    }
    let upper = if y <= 4.0 {
        let mut num = ERFC_C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + ERFC_C[i]) * y;
            den = (den + ERFC_D[i]) * y;
        }
        exp_minus_square(y) * (num + ERFC_C[7]) / (den + ERFC_D[7])
    } else if y >= 26.543 {
        // Below the smallest positive double.
        0.0
    } else {
        let ysq = 1.0 / (y * y);
        let mut num = ERFC_P[5] * ysq;
        let mut den = ysq;
        for i in 0..4 {
            num = (num + ERFC_P[i]) * ysq;
            den = (den + ERFC_Q[i]) * ysq;
        }
        let r = ysq * (num + ERFC_P[4]) / (den + ERFC_Q[4]);
        exp_minus_square(y) * (FRAC_1_SQRT_PI - r) / y
    };
    // erfc(-y) = 2 - erfc(y).
    if x < 0.0 { 2.0 - upper } else { upper }
}

/// Error function `erf(x) = 1 - erfc(x)`, computed directly near 0 (full relative accuracy).
pub fn erf(x: f64) -> f64 {
    if x.abs() <= 0.468_75 {
        erf_small(x)
    } else if x > 0.0 {
        1.0 - erfc(x)
    } else {
        erfc(-x) - 1.0
    }
}

/// Standard normal density `phi(x) = exp(-x^2 / 2) / sqrt(2 pi)`.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// Standard normal CDF `Phi(x) = erfc(-x / sqrt(2)) / 2`, accurate in both tails.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x * FRAC_1_SQRT_2)
}

// Acklam's rational approximation of the normal quantile (relative error < 1.15e-9 before
// refinement): central region coefficients a, b; tails c, d.
const ACKLAM_A: [f64; 6] = [
    -3.969_683_028_665_376e1,
    2.209_460_984_245_205e2,
    -2.759_285_104_469_687e2,
    1.383_577_518_672_69e2,
    -3.066_479_806_614_716e1,
    2.506_628_277_459_239,
];
const ACKLAM_B: [f64; 5] = [
    -5.447_609_879_822_406e1,
    1.615_858_368_580_409e2,
    -1.556_989_798_598_866e2,
    6.680_131_188_771_972e1,
    -1.328_068_155_288_572e1,
];
const ACKLAM_C: [f64; 6] = [
    -7.784_894_002_430_293e-3,
    -3.223_964_580_411_365e-1,
    -2.400_758_277_161_838,
    -2.549_732_539_343_734,
    4.374_664_141_464_968,
    2.938_163_982_698_783,
];
const ACKLAM_D: [f64; 4] = [
    7.784_695_709_041_462e-3,
    3.224_671_290_700_398e-1,
    2.445_134_137_142_996,
    3.754_408_661_907_416,
];
const ACKLAM_P_LOW: f64 = 0.024_25;

/// Acklam's approximation of `Phi^{-1}(p)` for `p` in (0, 1), before refinement.
fn acklam(p: f64) -> f64 {
    let tail = |q: f64| {
        let (c, d) = (&ACKLAM_C, &ACKLAM_D);
        (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    };
    if p < ACKLAM_P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - ACKLAM_P_LOW {
        let (a, b) = (&ACKLAM_A, &ACKLAM_B);
        let q = p - 0.5;
        let r = q * q;
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

/// Standard normal quantile `Phi^{-1}(p)`: Acklam's approximation refined by one Halley step
/// on `Phi(x) - p = 0` (error then near machine precision). `p = 0` gives `-inf`, `p = 1`
/// gives `+inf`, `p` outside [0, 1] or NaN gives NaN.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let x = acklam(p);
    // Halley: e = Phi(x) - p, u = e / phi(x), x <- x - u / (1 + x u / 2). In the upper tail
    // e = (1 - p) - (1 - Phi(x)) with 1 - Phi(x) = erfc(x / sqrt 2) / 2, keeping e accurate.
    let e = if p > 0.5 {
        (1.0 - p) - 0.5 * erfc(x * FRAC_1_SQRT_2)
    } else {
        0.5 * erfc(-x * FRAC_1_SQRT_2) - p
    };
    let u = e * (2.0 * PI).sqrt() * (0.5 * x * x).exp();
    let refined = x - u / (1.0 + 0.5 * x * u);
    if refined.is_finite() { refined } else { x }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Maclaurin series `2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))`, summed in
    /// pairs; accurate to ~1e-15 absolute for |x| <= 2.
    fn erf_series(x: f64) -> f64 {
        let mut term = x; // (-1)^n x^(2n+1) / n!
        let mut sum = 0.0;
        for n in 0..200 {
            sum += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
            if term.abs() < 1e-300 {
                break;
            }
        }
        2.0 * FRAC_1_SQRT_PI * sum
    }

    /// erfc by its continued fraction (modified Lentz), for x >= 2.
    fn erfc_continued_fraction(x: f64) -> f64 {
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
        let tiny = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for k in 1..5000 {
            let a = k as f64 / 2.0;
            d = x + a * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = x + a / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() * FRAC_1_SQRT_PI / f
    }

    #[test]
    fn erfc_matches_known_values() {
        // Reference values (Abramowitz & Stegun table 7.1 / high-precision tables).
        let cases = [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_13),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544e-5),
        ];
        for (x, want) in cases {
            let got = erfc(x);
            assert!(
                (got - want).abs() <= 1e-15 * want.max(1e-300) + 1e-17,
                "erfc({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn erfc_matches_series_and_continued_fraction() {
        for i in 0..=200 {
            let x = -2.0 + 4.0 * i as f64 / 200.0;
            let want = 1.0 - erf_series(x);
            assert!(
                (erfc(x) - want).abs() < 5e-15,
                "x = {x}: {} vs {want}",
                erfc(x)
            );
            assert!((erf(x) - erf_series(x)).abs() < 5e-15);
        }
        for i in 0..=100 {
            let x = 2.0 + 24.0 * i as f64 / 100.0;
            let want = erfc_continued_fraction(x);
            let rel = (erfc(x) - want).abs() / want;
            assert!(rel < 1e-13, "x = {x}: {} vs {want} (rel {rel:e})", erfc(x));
            // Reflection.
            assert!((erfc(-x) - (2.0 - want)).abs() < 1e-15);
        }
        assert_eq!(erfc(30.0), 0.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn normal_cdf_symmetry_and_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-16);
        // Phi(1.96) = 0.975002104851780 (tables).
        assert!((normal_cdf(1.96) - 0.975_002_104_851_780).abs() < 1e-14);
        // Phi(-5) = 2.866515718791939e-7: relative accuracy in the far tail.
        assert!((normal_cdf(-5.0) / 2.866_515_718_791_939e-7 - 1.0).abs() < 1e-12);
        for i in 0..50 {
            let x = i as f64 * 0.17;
            assert!((normal_cdf(x) + normal_cdf(-x) - 1.0).abs() < 2e-16);
        }
        assert!((normal_pdf(0.0) - 1.0 / (2.0 * PI).sqrt()).abs() < 1e-16);
    }

    #[test]
    fn normal_quantile_inverts_cdf() {
        let mut p = 1e-300;
        while p < 0.5 {
            let x = normal_quantile(p);
            let back = normal_cdf(x);
            // Conditioning: d ln Phi / dx ~ |x|, so an x exact to eps |x| moves Phi by eps x^2.
            let tol = 4e-16 * (1.0 + x * x);
            assert!(
                (back / p - 1.0).abs() < tol,
                "p = {p:e}: x = {x}, Phi(x) = {back:e}"
            );
            // Symmetry Phi^{-1}(q) = -Phi^{-1}(1 - q), with q = 1 - p rounded and 1 - q exact.
            if p > 1e-12 {
                let q = 1.0 - p;
                let upper = normal_quantile(q);
                let lower = normal_quantile(1.0 - q);
                assert!(
                    (upper + lower).abs() < 1e-13 * lower.abs().max(1.0),
                    "p = {p:e}"
                );
            }
            p *= 3.7;
        }
        for i in 1..1000 {
            let p = i as f64 / 1000.0;
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 2e-16 * 8.0);
        }
        // Phi^{-1}(0.975) = 1.959963984540054 (tables).
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(1.5).is_nan());
    }
}
