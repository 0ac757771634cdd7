//! Tests of paper B's multi-timescale network against the spec's closed forms (B1, B2, B4)
//! and, statistically, its synthetic online run.

use faer::{Mat, MatRef};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::frame::normalize_columns;
use super::multi_timescale::ExpectedGradients;
use super::*;
use crate::cov::{gaussian_matrix, sym_sqrt};
use crate::error::CoreError;

fn max_abs_diff(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let mut m = 0.0_f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            m = m.max((a[(i, j)] - b[(i, j)]).abs());
        }
    }
    m
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

#[test]
fn synthetic_contexts_have_the_spec_structure() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for n in [2, 4] {
        let ctx = SyntheticContexts::generate(n, 64, 4.0, &mut rng).unwrap();
        assert_eq!(ctx.covariances.len(), 64);
        for j in 0..n {
            let norm: f64 = (0..n).map(|i| ctx.v[(i, j)].powi(2)).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-14);
        }
        if n == 2 {
            let th = ctx.theta.unwrap().to_degrees();
            assert!((40.0..80.0).contains(&th), "theta {th}");
            let cos: f64 = (0..2).map(|i| ctx.v[(i, 0)] * ctx.v[(i, 1)]).sum();
            assert!((cos - ctx.theta.unwrap().cos()).abs() < 1e-14);
        }
        for (l, c) in ctx.lambdas.iter().zip(&ctx.covariances) {
            assert!(l.iter().any(|&x| x > 0.0) && l.iter().all(|&x| (0.0..4.0).contains(&x)));
            // C^{1/2} - I = V Lambda V^T exactly, so g_opt(V, C) = lambda (B4: max error 3e-15).
            let mut s = sym_sqrt(c.as_ref()).unwrap();
            for i in 0..n {
                s[(i, i)] -= 1.0;
            }
            let vl = Mat::from_fn(n, n, |i, j| ctx.v[(i, j)] * l[j]);
            assert!(max_abs_diff(s.as_ref(), (&vl * ctx.v.transpose()).as_ref()) < 1e-12);
            let g = optimal_gains(ctx.v.as_ref(), c.as_ref(), 1.0).unwrap();
            for (a, b) in g.iter().zip(l) {
                assert!((a - b).abs() < 1e-12, "g_opt {g:?} vs lambda {l:?}");
            }
        }
    }
    // About half of the lambdas are zero (Bernoulli(1/2) mask, all-zero draws rejected).
    let ctx = SyntheticContexts::generate(2, 2000, 4.0, &mut rng).unwrap();
    let zeros = ctx.lambdas.iter().flatten().filter(|&&x| x == 0.0).count();
    // P(zero) = (1/2 - 1/4) / (3/4) = 1/3 per entry after rejecting (0, 0).
    assert!((zeros as f64 / 4000.0 - 1.0 / 3.0).abs() < 0.03, "{zeros}");
}

/// A random network and the context it whitens exactly: `C = (alpha I + W G W^T)^2`.
fn whitened_pair(n: usize, k: usize, rng: &mut ChaCha8Rng) -> (MultiTimescaleNetwork, Mat<f64>) {
    let w = gaussian_matrix(n, k, rng);
    let g: Vec<f64> = (0..k).map(|_| rng.random_range(0.2..1.5)).collect();
    let net = MultiTimescaleNetwork::new(w, g).unwrap();
    let a = net.inverse_whitening_matrix();
    (net, &a * &a)
}

#[test]
fn nothing_moves_when_the_responses_are_white() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (n, k) in [(2, 2), (3, 5), (4, 4)] {
        let (net, c) = whitened_pair(n, k, &mut rng);
        let ExpectedGradients { dg, dw, crr } = net.expected_gradients(c.as_ref()).unwrap();
        let eye = Mat::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.0 });
        assert!(max_abs_diff(crr.as_ref(), eye.as_ref()) < 1e-12);
        assert!(dg.iter().all(|d| d.abs() < 1e-12), "dg {dg:?}");
        assert!(dw.norm_max() < 1e-12);
        assert!(net.whitening_error(c.as_ref()).unwrap() < 1e-12);
        let mut joint = net.clone();
        joint.offline_step(c.as_ref(), 0.5, 0.5).unwrap();
        assert!(max_abs_diff(joint.w(), net.w()) < 1e-12);
        // With K = N the gain equation is invertible: the fast-gain limit finds the same gains.
        if n == k {
            let mut fast = net.clone();
            fast.fast_gain_step(c.as_ref(), 0.5).unwrap();
            for (a, b) in fast.gains().iter().zip(net.gains()) {
                assert!((a - b).abs() < 1e-10);
            }
            assert!(max_abs_diff(fast.w(), net.w()) < 1e-10);
        }
    }
}

#[test]
fn online_step_follows_the_authors_order() {
    // One online step against an independent transcription of B1 for a batch of 3.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let w = gaussian_matrix(2, 3, &mut rng);
    let g = vec![0.4, -0.2, 0.9];
    let s = gaussian_matrix(2, 3, &mut rng);
    let (eta_g, eta_w) = (0.05, 0.01);
    let mut net = MultiTimescaleNetwork::new(w.clone(), g.clone()).unwrap();
    let r = net.online_step(s.as_ref(), eta_g, eta_w).unwrap();

    // F^{-1} r = s
    let res = net_inverse(&w, &g) * &r - &s;
    assert!(res.norm_max() < 1e-12);
    let z = w.transpose() * &r;
    let mut g_new = g.clone();
    for i in 0..3 {
        let wn: f64 = (0..2).map(|a| w[(a, i)] * w[(a, i)]).sum();
        let m: f64 = (0..3).map(|t| z[(i, t)] * z[(i, t)] - wn).sum::<f64>() / 3.0;
        g_new[i] += eta_g * m;
    }
    for (a, b) in net.gains().iter().zip(&g_new) {
        assert!((a - b).abs() < 1e-14);
    }
    for a in 0..2 {
        for i in 0..3 {
            let rn: f64 = (0..3).map(|t| r[(a, t)] * g[i] * z[(i, t)]).sum::<f64>() / 3.0;
            let want = w[(a, i)] + eta_w * (rn - w[(a, i)] * g_new[i]);
            assert!((net.w()[(a, i)] - want).abs() < 1e-14);
        }
    }
}

fn net_inverse(w: &Mat<f64>, g: &[f64]) -> Mat<f64> {
    let wg = Mat::from_fn(w.nrows(), w.ncols(), |i, j| w[(i, j)] * g[j]);
    let mut a = &wg * w.transpose();
    for i in 0..w.nrows() {
        a[(i, i)] += 1.0;
    }
    a
}

#[test]
fn signed_permutation_distance_ignores_sign_order_and_scale() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let v = normalize_columns(gaussian_matrix(3, 3, &mut rng).as_ref()).unwrap();
    // W = V P D with a permutation, signs and positive scales.
    let w = Mat::from_fn(3, 3, |i, j| {
        let (src, s) = [(2, -0.5), (0, 3.0), (1, 1.7)][j];
        s * v[(i, src)]
    });
    assert!(signed_permutation_distance(w.as_ref(), v.as_ref()).unwrap() < 1e-14);
    // 2 x 2 against the authors' enumeration of the eight signed permutations.
    let v2 = normalize_columns(gaussian_matrix(2, 2, &mut rng).as_ref()).unwrap();
    let w2 = normalize_columns(gaussian_matrix(2, 2, &mut rng).as_ref()).unwrap();
    let mut best = f64::INFINITY;
    for (p, s0, s1) in [
        (false, 1.0, 1.0),
        (false, 1.0, -1.0),
        (false, -1.0, 1.0),
        (false, -1.0, -1.0),
        (true, 1.0, 1.0),
        (true, 1.0, -1.0),
        (true, -1.0, 1.0),
        (true, -1.0, -1.0),
    ] {
        let m = Mat::from_fn(2, 2, |i, j| {
            let src = if p { 1 - j } else { j };
            [s0, s1][j] * w2[(i, src)] - v2[(i, j)]
        });
        best = best.min(m.norm_l2());
    }
    let d = signed_permutation_distance(w2.as_ref(), v2.as_ref()).unwrap();
    assert!((d - best).abs() < 1e-14);
    // Tiny distances are resolved, not lost to cancellation (a dot-product form gives 0 or
    // about 1e-8 here): W = V with columns swapped, one negated and scaled, off by 1e-13.
    let w3 = Mat::from_fn(2, 2, |i, j| {
        if j == 0 {
            -3.0 * v2[(i, 1)]
        } else {
            v2[(i, 0)] + 1e-13 * i as f64
        }
    });
    let d = signed_permutation_distance(w3.as_ref(), v2.as_ref()).unwrap();
    assert!(d > 1e-14 && d < 1e-12, "{d:e}");
}

/// The synthetic online experiment (B3) at a reduced size: 10 contexts, `T - 20` random ones,
/// the same 10 again; error over contexts 5-9 with `W_0` against the same contexts at the end.
/// Mean over the contexts of `||C_rr - I||_2` with `W` fixed and the gains at `g_opt(W, C_c)`:
/// how well `W` serves every context once the gains have adapted.
fn adapted_error(w: MatRef<'_, f64>, ctx: &SyntheticContexts) -> f64 {
    let mut total = 0.0;
    for c in &ctx.covariances {
        let g = optimal_gains(w, c.as_ref(), 1.0).unwrap();
        let net = MultiTimescaleNetwork::new(w.to_owned(), g).unwrap();
        total += net.whitening_error(c.as_ref()).unwrap();
    }
    total / ctx.covariances.len() as f64
}

/// Results of [`synthetic_online`].
#[derive(Debug)]
struct SyntheticRun {
    /// Mean online error over contexts 5-9 (with `W_0`) and over the same contexts at the end.
    online: (f64, f64),
    /// [`adapted_error`] of `W_0` and `W_T`.
    adapted: (f64, f64),
    /// Distance of `W_0` and `W_T` to `V`.
    distance: (f64, f64),
}

fn synthetic_online(seed: u64, n_contexts: usize, n_samples: usize, eta_w: f64) -> SyntheticRun {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let eta_g = 5e-2;
    let ctx = SyntheticContexts::generate(2, 64, 4.0, &mut rng).unwrap();
    let w0 = normalize_columns(gaussian_matrix(2, 2, &mut rng).as_ref()).unwrap();
    let g_opts: Vec<Vec<f64>> = ctx
        .covariances
        .iter()
        .map(|c| optimal_gains(w0.as_ref(), c.as_ref(), 1.0).unwrap())
        .collect();
    let g0 = (0..2)
        .map(|i| median(g_opts.iter().map(|g| g[i]).collect()))
        .collect();
    let d0 = signed_permutation_distance(w0.as_ref(), ctx.v.as_ref()).unwrap();
    let a0 = adapted_error(w0.as_ref(), &ctx);
    let mut net = MultiTimescaleNetwork::new(w0, g0).unwrap();
    let roots: Vec<Mat<f64>> = ctx
        .covariances
        .iter()
        .map(|c| sym_sqrt(c.as_ref()).unwrap())
        .collect();
    let pre: Vec<usize> = (0..10).map(|_| rng.random_range(0..64)).collect();
    let mut schedule = pre.clone();
    schedule.extend((0..n_contexts - 20).map(|_| rng.random_range(0..64)));
    schedule.extend(&pre);
    let (mut e_start, mut e_end) = (0.0, 0.0);
    for (t, &c) in schedule.iter().enumerate() {
        for _ in 0..n_samples {
            let e = net.whitening_error(ctx.covariances[c].as_ref()).unwrap();
            if (5..10).contains(&t) {
                e_start += e;
            } else if (n_contexts - 5..n_contexts).contains(&t) {
                e_end += e;
            }
            let s = &roots[c] * gaussian_matrix(2, 1, &mut rng);
            net.online_step(s.as_ref(), eta_g, eta_w).unwrap();
        }
    }
    let denom = 5.0 * n_samples as f64;
    let d = signed_permutation_distance(net.w(), ctx.v.as_ref()).unwrap();
    SyntheticRun {
        online: (e_start / denom, e_end / denom),
        adapted: (a0, adapted_error(net.w(), &ctx)),
        distance: (d0, d),
    }
}

#[test]
fn synthetic_online_learns_the_generating_basis() {
    // Spec B4: online error 2.78 with W_0 against 0.379 with W_T, distance 1.22 -> 0.007
    // (eta_w 1e-5, 1024 contexts x 1024 samples). Here the spec's repeat rates eta_w = 1e-4,
    // eta_g = 5e-2 with 200 contexts x 200 samples, so the test runs in about a second. Gain
    // noise (batch 1) keeps the online error near 0.4-0.5 at the end, so "well below" is asked
    // of the error with adapted gains g_opt(W, C_c) (a function of W alone); the online error
    // only has to drop.
    let mut wins = 0;
    for seed in 0..5 {
        let r = synthetic_online(seed, 200, 200, 1e-4);
        tracing::info!(seed, ?r, "synthetic online");
        if r.online.1 < r.online.0
            && r.adapted.1 < 0.2 * r.adapted.0
            && r.distance.1 < 0.5 * r.distance.0
        {
            wins += 1;
        }
    }
    assert!(wins >= 4, "{wins} of 5 seeds learned V");
}

#[test]
fn fast_gain_limit_recovers_the_basis() {
    // Spec B4 (variant i, eta_w 1e-2, 20k steps): distance 0.393 -> 1.6e-16, error -> 8e-16.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let ctx = SyntheticContexts::generate(2, 64, 4.0, &mut rng).unwrap();
    let w0 = normalize_columns(gaussian_matrix(2, 2, &mut rng).as_ref()).unwrap();
    let d0 = signed_permutation_distance(w0.as_ref(), ctx.v.as_ref()).unwrap();
    let mut net = MultiTimescaleNetwork::new(w0, vec![0.0; 2]).unwrap();
    for _ in 0..5000 {
        let c = rng.random_range(0..64);
        net.fast_gain_step(ctx.covariances[c].as_ref(), 1e-2)
            .unwrap();
    }
    let d = signed_permutation_distance(net.w(), ctx.v.as_ref()).unwrap();
    assert!(d < 1e-6 && d < d0, "distance {d0} -> {d}");
    // With W aligned to V, g_opt whitens every context.
    let mut worst = 0.0_f64;
    for c in &ctx.covariances {
        let mut probe = net.clone();
        probe.fast_gain_step(c.as_ref(), 1e-12).unwrap();
        worst = worst.max(probe.whitening_error(c.as_ref()).unwrap());
    }
    assert!(worst < 1e-6, "{worst}");
}

#[test]
fn bad_input_is_refused() {
    let w = Mat::from_fn(2, 2, |i, j| if j == 1 { 0.0 } else { 1.0 + i as f64 });
    assert!(matches!(
        MultiTimescaleNetwork::new(w, vec![0.0; 2]),
        Err(CoreError::BadColumn { index: 1, .. })
    ));
    let w = Mat::from_fn(2, 2, |i, j| (i + 2 * j) as f64 + 1.0);
    assert!(MultiTimescaleNetwork::new(w.clone(), vec![0.0; 3]).is_err());
    let mut net = MultiTimescaleNetwork::new(w.clone(), vec![0.1; 2]).unwrap();
    let s = Mat::from_fn(2, 4, |i, j| (i * j) as f64 - 1.0);
    let c = Mat::from_fn(2, 2, |i, j| if i == j { 2.0 } else { 0.5 });
    for eta in [0.0, -1.0, f64::NAN] {
        assert!(matches!(
            net.online_step(s.as_ref(), eta, 1e-3),
            Err(CoreError::InvalidLearningRate { name: "eta_g", .. })
        ));
        assert!(matches!(
            net.online_step(s.as_ref(), 1e-2, eta),
            Err(CoreError::InvalidLearningRate { name: "eta_w", .. })
        ));
        assert!(net.offline_step(c.as_ref(), eta, 1e-3).is_err());
        assert!(net.fast_gain_step(c.as_ref(), eta).is_err());
        assert!(net.online_gain_step(s.as_ref(), eta).is_err());
    }
    assert!(matches!(
        net.online_step(Mat::<f64>::zeros(3, 1).as_ref(), 0.1, 0.1),
        Err(CoreError::DimensionMismatch { .. })
    ));
    let mut snan = s.clone();
    snan[(0, 0)] = f64::INFINITY;
    assert!(matches!(
        net.online_step(snan.as_ref(), 0.1, 0.1),
        Err(CoreError::NonFinite { .. })
    ));
    assert!(
        net.fast_gain_step(Mat::<f64>::zeros(3, 3).as_ref(), 0.1)
            .is_err()
    );
    // Overflow leaves the state alone.
    let huge = Mat::from_fn(2, 2, |i, j| if i == j { 1e300 } else { 0.0 });
    assert!(net.offline_step(huge.as_ref(), 1e100, 1e100).is_err());
    assert_eq!(net.w(), w.as_ref());
    assert_eq!(net.gains(), &[0.1, 0.1]);
    // Renormalisation of a column driven to zero is refused and leaves the state alone.
    let mut unit = MultiTimescaleNetwork::new(w.clone(), vec![1.0, 1.0])
        .unwrap()
        .with_unit_columns(true);
    let c0 = Mat::from_fn(2, 2, |i, j| if i == j { 1e-300 } else { 0.0 });
    assert!(unit.offline_step(c0.as_ref(), 1e-3, 1.0).is_err());
    assert_eq!(unit.w(), w.as_ref());
    assert!(SyntheticContexts::generate(0, 3, 4.0, &mut ChaCha8Rng::seed_from_u64(0)).is_err());
    assert!(SyntheticContexts::generate(2, 3, -1.0, &mut ChaCha8Rng::seed_from_u64(0)).is_err());
    let v = Mat::from_fn(2, 3, |i, j| (i + j) as f64 + 1.0);
    assert!(signed_permutation_distance(w.as_ref(), v.as_ref()).is_err());
}

#[test]
fn separate_synapses_step_follows_the_authors_order() {
    // One step of Algorithm 3 against an independent transcription of spec B1 (iii).
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let net0 = SeparateSynapsesNetwork::random(2, vec![0.6, 1.1], &mut rng).unwrap();
    let (wrn, wnr, g) = (
        net0.wrn().to_owned(),
        net0.wnr().to_owned(),
        net0.gains().to_vec(),
    );
    let s = gaussian_matrix(2, 4, &mut rng);
    let (eta_g, eta_w) = (0.02, 0.05);
    let mut net = net0.clone();
    let r = net.online_step(s.as_ref(), eta_g, eta_w).unwrap();
    // (I + W_nr G W_rn) r = s
    let wg = Mat::from_fn(2, 2, |i, j| wnr[(i, j)] * g[j]);
    let mut a = &wg * &wrn;
    a[(0, 0)] += 1.0;
    a[(1, 1)] += 1.0;
    assert!((&a * &r - &s).norm_max() < 1e-12);
    let z = &wrn * &r;
    let mut g_new = [0.0; 2];
    let mut m_new = [0.0; 2];
    for i in 0..2 {
        let mean: f64 = (0..4).map(|t| z[(i, t)].powi(2)).sum::<f64>() / 4.0;
        g_new[i] = (g[i] + eta_g * (mean - 1.0)).max(0.0);
        let d: f64 = (0..2).map(|a| wrn[(i, a)] * wnr[(a, i)]).sum();
        m_new[i] = (5.0 * eta_g * (d - 1.0)).max(0.0);
    }
    assert_eq!(net.gains(), &g_new);
    assert_eq!(net.multipliers(), &m_new);
    let dw = Mat::from_fn(2, 2, |a, i| {
        (0..4).map(|t| r[(a, t)] * g[i] * z[(i, t)]).sum::<f64>() / 4.0
            - wnr[(a, i)] * (g_new[i] + m_new[i])
    });
    let raw = Mat::from_fn(2, 2, |a, i| (wnr[(a, i)] + eta_w * dw[(a, i)]).max(0.0));
    let want_nr = normalize_columns(raw.as_ref()).unwrap();
    assert!(max_abs_diff(net.wnr(), want_nr.as_ref()) < 1e-14);
    let want_rn = Mat::from_fn(2, 2, |i, a| (wrn[(i, a)] + eta_w * dw[(a, i)]).max(0.0));
    assert!(max_abs_diff(net.wrn(), want_rn.as_ref()) < 1e-14);
}

#[test]
fn separate_synapses_stay_non_negative_with_unit_feedback_columns() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let ctx = SyntheticContexts::generate(2, 16, 4.0, &mut rng).unwrap();
    let roots: Vec<Mat<f64>> = ctx
        .covariances
        .iter()
        .map(|c| sym_sqrt(c.as_ref()).unwrap())
        .collect();
    let mut net = SeparateSynapsesNetwork::random(2, vec![0.5, 0.5], &mut rng).unwrap();
    for t in 0..4000 {
        let s = &roots[(t / 100) % 16] * gaussian_matrix(2, 1, &mut rng);
        net.online_step(s.as_ref(), 2e-2, 1e-3).unwrap();
        assert!(
            net.gains()
                .iter()
                .chain(net.multipliers())
                .all(|&v| v >= 0.0)
        );
        for m in [net.wrn(), net.wnr()] {
            for j in 0..2 {
                for i in 0..2 {
                    assert!(m[(i, j)] >= 0.0);
                }
            }
        }
        for j in 0..2 {
            let norm: f64 = (0..2)
                .map(|i| net.wnr()[(i, j)].powi(2))
                .sum::<f64>()
                .sqrt();
            assert!((norm - 1.0).abs() < 1e-12);
        }
    }
    assert!(net.asymmetry().is_finite());
    // Bad input.
    let eye = Mat::from_fn(2, 2, |i, j| if i == j { 1.0 } else { 0.0 });
    let neg = Mat::from_fn(2, 2, |i, j| if i == j { 1.0 } else { -0.1 });
    assert!(SeparateSynapsesNetwork::new(neg, eye.clone(), vec![0.0; 2]).is_err());
    assert!(SeparateSynapsesNetwork::new(eye.clone(), eye.clone(), vec![-1.0, 0.0]).is_err());
    assert!(matches!(
        SeparateSynapsesNetwork::new(Mat::zeros(3, 2), eye.clone(), vec![0.0; 2]),
        Err(CoreError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        net.online_step(gaussian_matrix(2, 1, &mut rng).as_ref(), 0.0, 1e-3),
        Err(CoreError::InvalidLearningRate { .. })
    ));
}

#[test]
fn separate_synapses_refuse_a_singular_response_matrix_and_keep_their_state() {
    // W_nr G W_rn = [[0, 1], [1, 0]]: alpha I + W_nr G W_rn = [[1, 1], [1, 1]] is singular.
    let swap = Mat::from_fn(2, 2, |i, j| if i != j { 1.0 } else { 0.0 });
    let eye = Mat::from_fn(2, 2, |i, j| if i == j { 1.0 } else { 0.0 });
    let mut net = SeparateSynapsesNetwork::new(eye, swap, vec![1.0, 1.0]).unwrap();
    let before = net.clone();
    let s = Mat::from_fn(2, 1, |i, _| 1.0 + i as f64);
    assert!(matches!(
        net.online_step(s.as_ref(), 1e-2, 1e-3),
        Err(CoreError::Singular { .. })
    ));
    assert!(matches!(
        net.respond(s.as_ref()),
        Err(CoreError::Singular { .. })
    ));
    assert_eq!(net.gains(), before.gains());
    assert_eq!(net.multipliers(), before.multipliers());
    assert_eq!(max_abs_diff(net.wnr(), before.wnr()), 0.0);
    assert_eq!(max_abs_diff(net.wrn(), before.wrn()), 0.0);
}

#[test]
fn separate_synapses_respond_solves_the_general_system_at_every_size() {
    // The small certified LU (N <= 16) and the general path (N = 17, 20) both solve
    // (alpha I + W_nr G W_rn) r = s, for more interneurons than neurons and fewer.
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for &(n, k) in &[(1, 1), (2, 3), (3, 2), (6, 6), (16, 9), (17, 17), (20, 12)] {
        let pos = |r: usize, c: usize, rng: &mut ChaCha8Rng| {
            let g = gaussian_matrix(r, c, rng);
            Mat::from_fn(r, c, |i, j| g[(i, j)].abs())
        };
        let (wrn, wnr) = (pos(k, n, &mut rng), pos(n, k, &mut rng));
        let g: Vec<f64> = (0..k).map(|i| 0.2 + 0.1 * i as f64).collect();
        let net = SeparateSynapsesNetwork::new(wrn.clone(), wnr.clone(), g.clone()).unwrap();
        let s = gaussian_matrix(n, 3, &mut rng);
        let r = net.respond(s.as_ref()).unwrap();
        let a = net.inverse_response_matrix();
        let resid = (&a * &r - &s).norm_max();
        assert!(
            resid < 1e-11 * a.norm_max() * r.norm_max().max(1.0),
            "n = {n}, k = {k}: {resid:e}"
        );
    }
}
