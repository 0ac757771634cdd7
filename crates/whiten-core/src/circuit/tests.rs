//! Tests of the circuit's response solve, constructors and learning step.

use super::*;
use crate::circuit::activation::{c as c_fn, dc_dtheta, f as f_fn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn circuit_1d(g: f64, theta: f64) -> Circuit {
    Circuit::new(
        1,
        1,
        vec![1.0],
        vec![g],
        vec![theta],
        CircuitOptions::default(),
    )
    .unwrap()
}

/// Independent 1D solve: bisection on the increasing `h(r) = sum_i w_i g_i f(theta_i, w_i r)`.
fn bisect_1d(w: &[f64], g: &[f64], theta: &[f64], s: f64) -> f64 {
    let h = |r: f64| -> f64 {
        w.iter()
            .zip(g)
            .zip(theta)
            .map(|((&wi, &gi), &ti)| wi * gi * f_fn(ti, wi * r))
            .sum()
    };
    let (mut lo, mut hi) = (-1.0, 1.0);
    while h(lo) > s {
        lo *= 2.0;
    }
    while h(hi) < s {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if h(mid) < s { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

/// Independent N-D solve: gradient descent on the convex potential
/// `P(r) = -s^T r + sum_i g_i c(theta_i, w_i^T r)`, i.e. `r <- r + step F(r)`, with a step
/// halved whenever `||F||` grows (slow, first-order, no Jacobian).
fn gradient_descent(c: &Circuit, s: &[f64]) -> Vec<f64> {
    let n = c.n();
    let mut r = s.to_vec();
    let mut f = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut ft = vec![0.0; n];
    let mut step = 0.5;
    c.residual(s, &r, &mut f).unwrap();
    for _ in 0..200_000 {
        let fnorm = f.iter().map(|v| v * v).sum::<f64>().sqrt();
        if fnorm < 1e-13 {
            break;
        }
        for j in 0..n {
            trial[j] = r[j] + step * f[j];
        }
        c.residual(s, &trial, &mut ft).unwrap();
        if ft.iter().map(|v| v * v).sum::<f64>().sqrt() < fnorm {
            r.copy_from_slice(&trial);
            f.copy_from_slice(&ft);
            step *= 1.1;
        } else {
            step *= 0.5;
        }
    }
    r
}

#[test]
fn newton_1d_matches_bisection() {
    for &(g, theta) in &[
        (0.2, 2.2),
        (1.0, 1.0),
        (0.005, 3.0),
        (3.0, 1.5),
        (0.19, 2.25),
    ] {
        let c = circuit_1d(g, theta);
        for &s in &[-40.0, -3.0, -0.5, 0.0, 1e-9, 0.3, 2.0, 7.5, 100.0] {
            let mut r = [0.0];
            let it = c.respond(&[s], &mut r).unwrap();
            let want = bisect_1d(&[1.0], &[g], &[theta], s);
            assert!(
                (r[0] - want).abs() < 1e-10 * want.abs().max(1.0),
                "g {g} theta {theta} s {s}: {} vs {want}",
                r[0]
            );
            assert!(it < 60, "{it} iterations");
        }
    }
    // N = 1 with K = 2 interneurons of opposite sign w (w_i = +-1)
    let (w, g, th) = (vec![1.0, -1.0], vec![0.3, 0.1], vec![2.0, 2.8]);
    let c = Circuit::new(
        1,
        2,
        w.clone(),
        g.clone(),
        th.clone(),
        CircuitOptions::default(),
    )
    .unwrap();
    for &s in &[-5.0, 0.7, 12.0] {
        let mut r = [0.0];
        c.respond(&[s], &mut r).unwrap();
        let want = bisect_1d(&w, &g, &th, s);
        assert!((r[0] - want).abs() < 1e-10 * want.abs().max(1.0));
    }
}

#[test]
fn newton_2d_and_nd_solve_f_of_r_equal_zero_and_match_gradient_descent() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (n, k) in [(2usize, 3usize), (2, 2), (3, 4), (4, 4)] {
        let mut c = Circuit::reference_init(n, k, 2.3, &mut rng).unwrap();
        c.normalise_w().unwrap();
        for _ in 0..5 {
            let s: Vec<f64> = (0..n)
                .map(|_| 3.0 * rng.sample::<f64, _>(StandardNormal))
                .collect();
            let mut r = vec![0.0; n];
            c.respond(&s, &mut r).unwrap();
            let mut f = vec![0.0; n];
            c.residual(&s, &r, &mut f).unwrap();
            let fnorm = f.iter().map(|v| v * v).sum::<f64>().sqrt();
            let snorm = s.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!(
                fnorm <= 1e-12 * (1.0 + snorm),
                "n {n} k {k}: ||F|| = {fnorm}"
            );
            let slow = gradient_descent(&c, &s);
            for j in 0..n {
                assert!(
                    (r[j] - slow[j]).abs() < 1e-9 * (1.0 + slow[j].abs()),
                    "n {n} k {k}"
                );
            }
            if n == 2 {
                // the generic Cholesky path gives the same root as the closed-form 2x2 path
                let mut ws = Workspace::new(3);
                ws.f = vec![0.0; 2];
                ws.d = vec![0.0; 2];
                ws.r_trial = vec![0.0; 2];
                ws.f_trial = vec![0.0; 2];
                ws.h = vec![0.0; 4];
                ws.h_trial = vec![0.0; 4];
                ws.chol = vec![0.0; 4];
                let mut r2 = vec![0.0; 2];
                solve_nd(&c.model(), &s, &mut r2, &mut ws).unwrap();
                assert!((r2[0] - r[0]).abs() < 1e-12 * (1.0 + r[0].abs()));
                assert!((r2[1] - r[1]).abs() < 1e-12 * (1.0 + r[1].abs()));
            }
        }
    }
}

#[test]
fn batch_responses_and_interneuron_outputs_agree_with_single_solves() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let c = Circuit::reference_init(2, 3, 2.3, &mut rng).unwrap();
    let s: Vec<f64> = (0..2 * 7).map(|_| rng.sample(StandardNormal)).collect();
    let mut rb = vec![0.0; s.len()];
    c.respond_batch(&s, &mut rb).unwrap();
    for t in 0..7 {
        let mut r = [0.0; 2];
        c.respond(&s[2 * t..2 * t + 2], &mut r).unwrap();
        assert_eq!(&rb[2 * t..2 * t + 2], &r);
        // steady state: s = W n(r)
        let mut nout = [0.0; 3];
        c.interneuron_outputs(&r, &mut nout).unwrap();
        for j in 0..2 {
            let wn: f64 = (0..3).map(|i| c.w()[2 * i + j] * nout[i]).sum();
            assert!((wn - s[2 * t + j]).abs() < 1e-11 * (1.0 + s[2 * t + j].abs()));
        }
    }
}

#[test]
fn solver_failures_are_typed_errors() {
    // all gains zero: no root (F = s), Jacobian singular
    let c = circuit_1d(0.0, 2.0);
    assert!(matches!(
        c.respond(&[1.0], &mut [0.0]),
        Err(CoreError::NotPositiveDefinite { .. })
    ));
    // one Newton step allowed is not enough from r = s
    let mut c = circuit_1d(0.2, 2.5);
    let solver = SolverOptions {
        max_iterations: 1,
        ..Default::default()
    };
    c.set_options(CircuitOptions {
        solver,
        ..Default::default()
    })
    .unwrap();
    match c.respond(&[5.0], &mut [0.0]) {
        Err(CoreError::ResponseNotConverged {
            iterations,
            residual,
        }) => {
            assert_eq!(iterations, 1);
            assert!(residual > 1e-12);
        }
        other => panic!("expected ResponseNotConverged, got {other:?}"),
    }
    assert!(matches!(
        c.respond(&[f64::NAN], &mut [0.0]),
        Err(CoreError::NonFinite { .. })
    ));
}

#[test]
fn constructors_validate_and_normalise() {
    let o = CircuitOptions::default();
    let bad = |r: Result<Circuit>| r.is_err();
    assert!(bad(Circuit::new(
        2,
        1,
        vec![1.0, 0.0],
        vec![1.0],
        vec![2.0],
        o
    )));
    assert!(bad(Circuit::new(
        1,
        1,
        vec![1.0, 0.0],
        vec![1.0],
        vec![2.0],
        o
    )));
    assert!(bad(Circuit::new(1, 1, vec![1.0], vec![-0.1], vec![2.0], o)));
    assert!(bad(Circuit::new(1, 1, vec![1.0], vec![0.1], vec![3.5], o)));
    assert!(bad(Circuit::new(1, 1, vec![1.0], vec![0.1], vec![0.9], o)));
    assert!(bad(Circuit::new(
        1,
        1,
        vec![f64::NAN],
        vec![0.1],
        vec![2.0],
        o
    )));
    assert!(bad(Circuit::new(
        2,
        2,
        vec![0.0, 0.0, 1.0, 0.0],
        vec![0.1; 2],
        vec![2.0; 2],
        o
    )));
    let c = Circuit::new(
        2,
        2,
        vec![3.0, 4.0, 0.0, -2.0],
        vec![0.1; 2],
        vec![2.0; 2],
        o,
    )
    .unwrap();
    assert_eq!(c.w(), &[0.6, 0.8, 0.0, -1.0]);
    assert_eq!(
        (c.n(), c.k(), c.g(), c.theta()),
        (2, 2, &[0.1, 0.1][..], &[2.0, 2.0][..])
    );
}

#[test]
fn reference_init_follows_the_authors() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let c = Circuit::reference_init(1, 1, 2.2, &mut rng).unwrap();
    assert_eq!(c.w(), &[1.0]);
    assert!((0.2..=0.25).contains(&c.g()[0]) && (2.2..=2.3).contains(&c.theta()[0]));
    let (n, k) = (2, 3);
    let c = Circuit::reference_init(n, k, 2.3, &mut rng).unwrap();
    // W0 = Q_N [I 0] Q_K has orthonormal rows: W0 W0^T = I_N, so its column norms squared
    // sum to N and (K > N) are not all 1
    for a in 0..n {
        for b in 0..n {
            let v: f64 = (0..k).map(|i| c.w()[i * n + a] * c.w()[i * n + b]).sum();
            assert!((v - if a == b { 1.0 } else { 0.0 }).abs() < 1e-13);
        }
    }
    let norms: Vec<f64> = (0..k)
        .map(|i| (c.w()[i * n].powi(2) + c.w()[i * n + 1].powi(2)).sqrt())
        .collect();
    assert!(norms.iter().all(|&x| x <= 1.0 + 1e-13));
    assert!(norms.iter().any(|&x| x < 1.0 - 1e-6));
    for i in 0..k {
        assert!((0.2..=0.25).contains(&c.g()[i]) && (2.3..=2.4).contains(&c.theta()[i]));
    }
    assert!(Circuit::reference_init(2, 1, 2.3, &mut rng).is_err());
    assert!(Circuit::reference_init(1, 1, 2.95, &mut rng).is_err());
}

#[test]
fn learning_step_matches_a_hand_computation_1d() {
    let (g0, th0) = (0.3, 2.4);
    let mut c = circuit_1d(g0, th0);
    let batch = [0.5, -1.7, 2.9];
    let rates = LearningRates {
        eta_g: 0.01,
        eta_theta: 0.002,
        eta_w: 0.0,
    };
    // hand computation from bisection responses and the one-off functions
    let rs: Vec<f64> = batch
        .iter()
        .map(|&s| bisect_1d(&[1.0], &[g0], &[th0], s))
        .collect();
    let dg: f64 = rs.iter().map(|&z| g0 * c_fn(th0, z)).sum::<f64>() / 3.0;
    let dth: f64 = rs
        .iter()
        .map(|&z| dc_dtheta(th0, z, BDerivative::Reference))
        .sum::<f64>()
        / 3.0;
    let info = c.learn_step(&batch, &rates).unwrap();
    assert_eq!(info.batch_size, 3);
    assert!((c.g()[0] - (g0 + 0.01 * dg).max(0.0)).abs() < 1e-12);
    assert!((c.theta()[0] - (th0 + 0.002 * dth).clamp(1.0, 3.0)).abs() < 1e-12);
    assert!((c.last_mean_c()[0] * g0 - dg).abs() < 1e-12);
    assert_eq!(c.w(), &[1.0]);
    // the cached activation follows theta
    assert_eq!(c.activations()[0].theta, c.theta()[0]);
}

#[test]
fn learning_step_matches_a_hand_computation_2d_with_weights() {
    let (n, k) = (2, 3);
    let w0 = vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8];
    let g0 = vec![0.2, 0.25, 0.22];
    let th0 = vec![2.3, 2.35, 2.32];
    let mut c = Circuit::new(
        n,
        k,
        w0.clone(),
        g0.clone(),
        th0.clone(),
        Default::default(),
    )
    .unwrap();
    let batch = [0.4, -1.1, 2.0, 0.3];
    let rates = LearningRates {
        eta_g: 1e-2,
        eta_theta: 1e-3,
        eta_w: 0.05,
    };
    let mut sum_c = [0.0; 3];
    let mut sum_dc = [0.0; 3];
    let mut dw = [0.0; 6];
    for t in 0..2 {
        let s = &batch[2 * t..2 * t + 2];
        let r = gradient_descent(&c, s);
        for i in 0..k {
            let z = w0[2 * i] * r[0] + w0[2 * i + 1] * r[1];
            sum_c[i] += c_fn(th0[i], z) / 2.0;
            sum_dc[i] += dc_dtheta(th0[i], z, BDerivative::Reference) / 2.0;
            let ni = g0[i] * f_fn(th0[i], z);
            dw[2 * i] += r[0] * ni / 2.0;
            dw[2 * i + 1] += r[1] * ni / 2.0;
        }
    }
    c.learn_step(&batch, &rates).unwrap();
    for i in 0..k {
        let g = (g0[i] + 1e-2 * g0[i] * sum_c[i]).max(0.0);
        assert!((c.g()[i] - g).abs() < 1e-9, "g {i}");
        let th = (th0[i] + 1e-3 * sum_dc[i]).clamp(1.0, 3.0);
        assert!((c.theta()[i] - th).abs() < 1e-9, "theta {i}");
        let col = [
            w0[2 * i] + 0.05 * dw[2 * i],
            w0[2 * i + 1] + 0.05 * dw[2 * i + 1],
        ];
        let norm = (col[0] * col[0] + col[1] * col[1]).sqrt();
        assert!((c.w()[2 * i] - col[0] / norm).abs() < 1e-9, "w {i}");
        assert!((c.w()[2 * i + 1] - col[1] / norm).abs() < 1e-9, "w {i}");
    }
}

#[test]
fn reference_w0_is_normalised_by_the_first_weight_step_only() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut c = Circuit::reference_init(2, 3, 2.3, &mut rng).unwrap();
    let batch: Vec<f64> = (0..20).map(|_| rng.sample(StandardNormal)).collect();
    let w_before = c.w().to_vec();
    c.learn_step(
        &batch,
        &LearningRates {
            eta_g: 1e-3,
            eta_theta: 1e-5,
            eta_w: 0.0,
        },
    )
    .unwrap();
    assert_eq!(c.w(), &w_before[..]);
    c.learn_step(&batch, &LearningRates::REFERENCE_2D).unwrap();
    for i in 0..3 {
        let nrm = (c.w()[2 * i].powi(2) + c.w()[2 * i + 1].powi(2)).sqrt();
        assert!((nrm - 1.0).abs() < 1e-14);
    }
}

#[test]
fn gaussian_input_gain_learning_gives_unit_response_variance() {
    // theta = 1 makes f linear, f = (a + b) z = 2 z: responses r = s / (2 g) are Gaussian and
    // E[c] = 0 iff Var r = 1, so for s ~ N(0, 2^2) the fixed point is g = 1 exactly.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut c = circuit_1d(0.3, 1.0);
    let rates = LearningRates {
        eta_g: 0.02,
        eta_theta: 0.0,
        eta_w: 0.0,
    };
    let mut batch = vec![0.0; 50];
    let mut g_avg = 0.0;
    let steps = 6000;
    for step in 0..steps {
        for v in batch.iter_mut() {
            *v = 2.0 * rng.sample::<f64, _>(StandardNormal);
        }
        c.learn_step(&batch, &rates).unwrap();
        if step >= steps / 2 {
            g_avg += c.g()[0] / (steps / 2) as f64;
        }
    }
    assert_eq!(c.theta()[0], 1.0);
    // stationary noise of g: sd ~ sqrt(eta_g / (2 * 2 * 50)) ~ 0.01 per step, averaged
    assert!((g_avg - 1.0).abs() < 0.02, "g = {g_avg}");
    // theta = 2.2 fixed: the responses r = T(s) are not Gaussian (f compresses the tails), so
    // E[c] = 0 does not mean Var r = 1 exactly. Independent fixed point: g* with
    // E_s[c(theta, T_g*(s))] = 0 by Simpson quadrature over s ~ N(0,1) and bisection in g.
    let theta = 2.2;
    let expect = |g: f64, h: &dyn Fn(f64) -> f64| -> f64 {
        let c = circuit_1d(g, theta);
        let (l, m) = (10.0, 4000usize);
        let dx = 2.0 * l / m as f64;
        let mut acc = 0.0;
        for i in 0..=m {
            let s = -l + i as f64 * dx;
            let w = if i == 0 || i == m {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            let mut r = [0.0];
            c.respond(&[s], &mut r).unwrap();
            acc += w * h(r[0]) * (-0.5 * s * s).exp();
        }
        acc * dx / 3.0 / (2.0 * std::f64::consts::PI).sqrt()
    };
    let (mut lo, mut hi) = (0.01f64, 10.0f64);
    for _ in 0..50 {
        // E[c] decreases in g (larger gain, smaller responses)
        let mid = (lo * hi).sqrt();
        if expect(mid, &|z| c_fn(theta, z)) > 0.0 {
            lo = mid
        } else {
            hi = mid
        }
    }
    let g_star = (lo * hi).sqrt();
    let var_star = expect(g_star, &|z| z * z);
    assert!(
        (var_star - 1.0).abs() < 0.15,
        "fixed-point variance {var_star}"
    );
    let mut c = circuit_1d(0.3, theta);
    let mut g_avg = 0.0;
    for step in 0..steps {
        for v in batch.iter_mut() {
            *v = rng.sample::<f64, _>(StandardNormal);
        }
        c.learn_step(&batch, &rates).unwrap();
        if step >= steps / 2 {
            g_avg += c.g()[0] / (steps / 2) as f64;
        }
    }
    assert!(
        (g_avg / g_star - 1.0).abs() < 0.02,
        "g {g_avg} vs g* {g_star}"
    );
    c.set_g(&[g_avg]).unwrap();
    let m = 50_000;
    let s: Vec<f64> = (0..m).map(|_| rng.sample(StandardNormal)).collect();
    let mut r = vec![0.0; m];
    c.respond_batch(&s, &mut r).unwrap();
    let var = r.iter().map(|v| v * v).sum::<f64>() / m as f64;
    // sampling error of a variance from 50,000 near-Gaussian samples: ~0.006
    assert!(
        (var - var_star).abs() < 0.03,
        "response variance {var} vs {var_star}"
    );
}

#[test]
fn components_share_their_direction_and_sum_their_hebbian_terms() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let base = Circuit::reference_init(2, 3, 2.3, &mut rng).unwrap();
    let mut grid = base.with_components(&[1.0, 3.0]).unwrap();
    assert_eq!(grid.k(), 6);
    assert_eq!(grid.directions(), Some(&[0, 0, 1, 1, 2, 2][..]));
    assert_eq!(grid.theta(), &[1.0, 3.0, 1.0, 3.0, 1.0, 3.0]);
    for u in 0..6 {
        assert_eq!(
            &grid.w()[2 * u..2 * u + 2],
            &base.w()[2 * (u / 2)..2 * (u / 2) + 2]
        );
        assert_eq!(grid.g()[u], base.g()[u / 2]);
    }
    // One reference step with a weight rate: each shared column moves by the sum of its
    // components' Hebbian terms (computed here from the responses), then is normalised.
    let batch: Vec<f64> = (0..2 * 7).map(|_| rng.sample(StandardNormal)).collect();
    let before = grid.clone();
    let rates = LearningRates {
        eta_g: 1e-3,
        eta_theta: 0.0,
        eta_w: 0.05,
    };
    grid.learn_step(&batch, &rates).unwrap();
    for d in 0..3 {
        let mut col = [before.w()[4 * d], before.w()[4 * d + 1]];
        for s in batch.chunks_exact(2) {
            let mut r = [0.0; 2];
            before.respond(s, &mut r).unwrap();
            let mut n = [0.0; 6];
            before.interneuron_outputs(&r, &mut n).unwrap();
            for (j, c) in col.iter_mut().enumerate() {
                *c += rates.eta_w * r[j] * (n[2 * d] + n[2 * d + 1]) / 7.0;
            }
        }
        let norm = col[0].hypot(col[1]);
        for u in [2 * d, 2 * d + 1] {
            for j in 0..2 {
                let got = grid.w()[2 * u + j];
                assert!(
                    (got - col[j] / norm).abs() < 1e-12,
                    "direction {d}, unit {u}"
                );
            }
        }
    }
    assert!(base.with_components(&[]).is_err());
    assert!(base.with_components(&[0.5]).is_err());
}

#[test]
fn feedback_shares_sum_to_one_and_expose_a_collapsed_gain() {
    let c = Circuit::new(
        1,
        3,
        vec![1.0; 3],
        vec![0.3, 1e-9, 0.1],
        vec![1.0, 2.0, 3.0],
        CircuitOptions::default(),
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let s: Vec<f64> = (0..2000).map(|_| rng.sample(StandardNormal)).collect();
    let mut r = vec![0.0; s.len()];
    c.respond_batch(&s, &mut r).unwrap();
    let shares = c.feedback_shares(&r).unwrap();
    assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    // independent: share_i = sum_t (g_i f_i(r_t))^2 / total
    let energy: Vec<f64> = (0..3)
        .map(|i| {
            r.iter()
                .map(|&x| (c.g()[i] * f_fn(c.theta()[i], x)).powi(2))
                .sum::<f64>()
        })
        .collect();
    let total: f64 = energy.iter().sum();
    for i in 0..3 {
        assert!((shares[i] - energy[i] / total).abs() < 1e-12);
    }
    assert!(shares[1] < 1e-12 && shares[0] > 1e-3 && shares[2] > 1e-3);
    assert!(c.feedback_shares(&[]).is_err());
}
