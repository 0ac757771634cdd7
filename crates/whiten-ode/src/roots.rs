//! Bracketed scalar root finding (Brent's method).

/// Finds a root of `f` in the bracket `[a, b]` (with `fa = f(a)`, `fb = f(b)` of opposite sign
/// or one of them zero) by Brent's method (R. P. Brent, "Algorithms for minimization without
/// derivatives", 1973, ch. 4: inverse quadratic interpolation, secant and bisection).
///
/// Stops when the bracket is narrower than `2 (2 eps |x| + xtol / 2)`; returns the end of the
/// final bracket with the smaller `|f|`, and `None` if the signs do not bracket a root.
pub fn brent<F: FnMut(f64) -> f64>(
    mut f: F,
    a: f64,
    b: f64,
    fa: f64,
    fb: f64,
    xtol: f64,
    max_iter: usize,
) -> Option<f64> {
    if fa == 0.0 {
        return Some(a);
    }
    if fb == 0.0 {
        return Some(b);
    }
    if fa.signum() == fb.signum() || fa.is_nan() || fb.is_nan() {
        return None;
    }
    let (mut a, mut b, mut fa, mut fb) = (a, b, fa, fb);
    let (mut c, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..max_iter {
        if fb.signum() == fc.signum() {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * xtol;
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return Some(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                // secant
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                // inverse quadratic interpolation
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = f(b);
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brent_finds_roots_to_tolerance() {
        // cos x = x has the root 0.7390851332151607 (Dottie number).
        let f = |x: f64| x.cos() - x;
        let r = brent(f, 0.0, 1.0, f(0.0), f(1.0), 1e-14, 100).unwrap();
        assert!((r - 0.739_085_133_215_160_7).abs() < 1e-13);
        // a steep function: x^9 - 1e-9 on [0, 1], root 0.1
        let g = |x: f64| x.powi(9) - 1e-9;
        let r = brent(g, 0.0, 1.0, g(0.0), g(1.0), 1e-15, 200).unwrap();
        assert!((r - 0.1).abs() < 1e-12, "{r}");
        assert!(brent(f, 0.0, 0.5, f(0.0), f(0.5), 1e-12, 10).is_none());
    }
}
