//! Explicit simulation of the fast neural dynamics of paper 1's networks, used to show that
//! they settle on the closed-form fixed points that [`crate::linear`] uses directly.
//!
//! * Direct network: `dy/dgamma = x - M y`, fixed point `y = M^{-1} x`.
//! * Interneurons: `dy/dgamma = x - W n`, `dn/dgamma = W^T y - n`, fixed point `n = W^T y`,
//!   `y = (W W^T)^{-1} x`.
//!
//! Both are integrated from zero with the classic fourth-order Runge-Kutta method (RK4) at a
//! fixed step `dgamma`: the systems are linear with constant coefficients, so RK4 is exact to
//! `O(dgamma^4)` per unit time and its fixed point is exactly the continuous one (every stage
//! vanishes there). It is stable when `dgamma * |mu| <~ 2.7` for every eigenvalue `mu` of the
//! system matrix (`-M` for the direct network; `[[0, -W], [W^T, -I]]`, whose eigenvalues solve
//! `mu^2 + mu + s^2 = 0` for the singular values `s` of `W`, for the interneurons); in
//! practice choose `dgamma` small relative to `1 / lambda_max(M)` (direct) or `1 / s_max(W)`
//! (interneurons) so the trajectory is also accurate. The slowest rate, `lambda_min(M)`
//! (direct) or `min(1/2, ~s_min^2)` (interneurons), sets how many steps are needed to settle:
//! about `ln(1/tol) / (rate * dgamma)`.

use faer::MatRef;

/// `out = x - M y` (the right-hand side of the direct network).
fn rhs_direct(m: MatRef<'_, f64>, x: &[f64], y: &[f64], out: &mut [f64]) {
    let n = x.len();
    out.copy_from_slice(x);
    // Column-oriented matvec: faer stores M column-major.
    for j in 0..n {
        let yj = y[j];
        for i in 0..n {
            out[i] -= m[(i, j)] * yj;
        }
    }
}

/// `out_y = x - W n`, `out_n = W^T y - n` (the interneuron network).
fn rhs_interneuron(
    w: MatRef<'_, f64>,
    x: &[f64],
    y: &[f64],
    nn: &[f64],
    out_y: &mut [f64],
    out_n: &mut [f64],
) {
    let (n, k) = (w.nrows(), w.ncols());
    out_y.copy_from_slice(x);
    for j in 0..k {
        let nj = nn[j];
        let mut wty = 0.0;
        for i in 0..n {
            out_y[i] -= w[(i, j)] * nj;
            wty += w[(i, j)] * y[i];
        }
        out_n[j] = wty - nj;
    }
}

/// Integrates `dy/dgamma = x - M y` from `y = 0` for `steps` RK4 steps of size `dgamma` and
/// returns `y(steps * dgamma)`. See the module docs for the choice of `dgamma`.
///
/// # Panics
/// If `M` is not `n x n` with `n = x.len()`, or `dgamma` is not positive and finite.
pub fn simulate_direct(m: MatRef<'_, f64>, x: &[f64], dgamma: f64, steps: usize) -> Vec<f64> {
    let n = x.len();
    assert_eq!(
        (m.nrows(), m.ncols()),
        (n, n),
        "M must be n x n with n = x.len()"
    );
    assert!(
        dgamma > 0.0 && dgamma.is_finite(),
        "dgamma must be positive and finite"
    );
    let mut y = vec![0.0; n];
    let (mut k1, mut k2, mut k3, mut k4, mut tmp) = (
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
    );
    let h = dgamma;
    for _ in 0..steps {
        rhs_direct(m, x, &y, &mut k1);
        for i in 0..n {
            tmp[i] = y[i] + 0.5 * h * k1[i];
        }
        rhs_direct(m, x, &tmp, &mut k2);
        for i in 0..n {
            tmp[i] = y[i] + 0.5 * h * k2[i];
        }
        rhs_direct(m, x, &tmp, &mut k3);
        for i in 0..n {
            tmp[i] = y[i] + h * k3[i];
        }
        rhs_direct(m, x, &tmp, &mut k4);
        // y <- y + h/6 (k1 + 2 k2 + 2 k3 + k4)
        for i in 0..n {
            y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    }
    y
}

/// Integrates `dy/dgamma = x - W n`, `dn/dgamma = W^T y - n` from `y = 0`, `n = 0` for `steps`
/// RK4 steps of size `dgamma`; returns `(y, n)` at `gamma = steps * dgamma`.
///
/// # Panics
/// If `W` does not have `x.len()` rows, or `dgamma` is not positive and finite.
pub fn simulate_interneuron(
    w: MatRef<'_, f64>,
    x: &[f64],
    dgamma: f64,
    steps: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (n, k) = (x.len(), w.ncols());
    assert_eq!(w.nrows(), n, "W must have n = x.len() rows");
    assert!(
        dgamma > 0.0 && dgamma.is_finite(),
        "dgamma must be positive and finite"
    );
    let h = dgamma;
    let (mut y, mut nn) = (vec![0.0; n], vec![0.0; k]);
    // Stages for y (n) and for the interneurons (k), plus a trial state.
    let mut ky = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let mut kn = [vec![0.0; k], vec![0.0; k], vec![0.0; k], vec![0.0; k]];
    let (mut ty, mut tn) = (vec![0.0; n], vec![0.0; k]);
    for _ in 0..steps {
        for s in 0..4 {
            if s == 0 {
                ty.copy_from_slice(&y);
                tn.copy_from_slice(&nn);
            } else {
                // Stage s evaluates at y + c_s h k_{s-1}, c = (0, 1/2, 1/2, 1).
                let cs = if s == 3 { 1.0 } else { 0.5 };
                for i in 0..n {
                    ty[i] = y[i] + cs * h * ky[s - 1][i];
                }
                for j in 0..k {
                    tn[j] = nn[j] + cs * h * kn[s - 1][j];
                }
            }
            let (ky_s, kn_s) = (&mut ky[s], &mut kn[s]);
            rhs_interneuron(w, x, &ty, &tn, ky_s, kn_s);
        }
        for i in 0..n {
            y[i] += h / 6.0 * (ky[0][i] + 2.0 * ky[1][i] + 2.0 * ky[2][i] + ky[3][i]);
        }
        for j in 0..k {
            nn[j] += h / 6.0 * (kn[0][j] + 2.0 * kn[1][j] + 2.0 * kn[2][j] + kn[3][j]);
        }
    }
    (y, nn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cov::{covariance_with_spectrum, gaussian_matrix, haar_orthogonal, linspace};
    use crate::linear::{DirectNetwork, InterneuronNetwork, WhiteningNetwork};
    use faer::Mat;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn col(v: &[f64]) -> Mat<f64> {
        Mat::from_fn(v.len(), 1, |i, _| v[i])
    }

    #[test]
    fn direct_settles_on_fixed_point() {
        let mut rng = ChaCha8Rng::seed_from_u64(20);
        let n = 5;
        let q = haar_orthogonal(n, &mut rng);
        let m = covariance_with_spectrum(q.as_ref(), &linspace(0.5, 4.0, n));
        let x: Vec<f64> = (0..n).map(|i| (i as f64 - 2.0) * 0.7).collect();
        // Slowest rate lambda_min = 0.5: gamma = 60 leaves e^{-30} ~ 1e-13 of the transient;
        // dgamma * lambda_max = 0.08.
        let y = simulate_direct(m.as_ref(), &x, 0.02, 3000);
        let net = DirectNetwork::new(m).unwrap();
        let want = net.respond(col(&x).as_ref()).unwrap();
        for i in 0..n {
            assert!(
                (y[i] - want[(i, 0)]).abs() < 1e-8,
                "y[{i}] = {} vs {}",
                y[i],
                want[(i, 0)]
            );
        }
    }

    #[test]
    fn interneuron_settles_on_fixed_point() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let (n, k) = (3, 5);
        let w = gaussian_matrix(n, k, &mut rng);
        let net = InterneuronNetwork::new(w.clone()).unwrap();
        let sv = w.singular_values().unwrap();
        // Settling rate min(1/2, ~s_min^2) (mu^2 + mu + s^2 = 0); choose gamma = 40 / rate.
        let rate = (0.5_f64).min(0.5 * (1.0 - (1.0 - 4.0 * sv[n - 1].powi(2)).max(0.0).sqrt()));
        let gamma = 40.0 / rate;
        let dgamma = 0.05 / sv[0].max(1.0);
        let steps = (gamma / dgamma).ceil() as usize;
        let x = [1.0, -2.0, 0.5];
        let (y, nn) = simulate_interneuron(w.as_ref(), &x, dgamma, steps);
        let want_y = net.respond(col(&x).as_ref()).unwrap();
        let want_n = net.interneurons(want_y.as_ref());
        for i in 0..n {
            assert!(
                (y[i] - want_y[(i, 0)]).abs() < 1e-8,
                "y[{i}]: {} vs {}",
                y[i],
                want_y[(i, 0)]
            );
        }
        for j in 0..k {
            assert!(
                (nn[j] - want_n[(j, 0)]).abs() < 1e-8,
                "n[{j}]: {} vs {}",
                nn[j],
                want_n[(j, 0)]
            );
        }
    }

    #[test]
    fn rk4_is_accurate_on_the_transient() {
        // Scalar case m = 2: y(gamma) = (x / m)(1 - e^{-m gamma}). At gamma = 0.5 the global
        // RK4 error is ~ gamma (m h)^5 / 120 / h * |x/m| ~ 1e-9 for h = 0.01, and it is
        // fourth order: halving h divides it by ~16.
        let m = Mat::from_fn(1, 1, |_, _| 2.0);
        let exact = 1.5 * (1.0 - (-2.0 * 0.5_f64).exp());
        let e1 = (simulate_direct(m.as_ref(), &[3.0], 0.01, 50)[0] - exact).abs();
        let e2 = (simulate_direct(m.as_ref(), &[3.0], 0.005, 100)[0] - exact).abs();
        assert!(e1 < 5e-9, "error {e1}");
        let ratio = e1 / e2;
        assert!((12.0..20.0).contains(&ratio), "order ratio {ratio}");
    }
}
