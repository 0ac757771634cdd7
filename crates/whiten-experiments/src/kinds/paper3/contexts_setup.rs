//! Set-up shared by paper B's kinds (`slow_synapses`, `patch_contexts`): the context schedule,
//! stimuli drawn from a context, initial gains, learning in the fast-gain limit, and small
//! statistics.
//!
//! Paper B's notation: contexts `c` with covariances `C_c`, synapses `W` (`N x K`, learned
//! slowly with rate `eta_w`), gains `g` (fast, rate `eta_g`), leak `alpha = 1`; the response
//! covariance is `C_rr = F C_c F^T` with `F = (I + W diag(g) W^T)^{-1}`, and the error is
//! `||C_rr - I||_2`.

use faer::{Mat, MatRef};
use rand::RngExt;
use rand_distr::StandardNormal;
use whiten_core::CoreError;
use whiten_core::gain::{MultiTimescaleNetwork, optimal_gains};

use crate::context::RunContext;
use crate::error::Result;

/// The authors' context schedule (B2): `repeat` random contexts, `total - 2 repeat` random
/// contexts, then the first `repeat` again, each drawn uniformly from `0..n_contexts`.
/// Needs `total >= 2 repeat` and `n_contexts >= 1` (checked by the kinds).
pub fn schedule<R: rand::Rng + ?Sized>(
    n_contexts: usize,
    total: usize,
    repeat: usize,
    rng: &mut R,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..total.saturating_sub(repeat))
        .map(|_| rng.random_range(0..n_contexts))
        .collect();
    order.extend_from_within(..repeat.min(order.len()));
    order
}

/// Fills `s` with one stimulus `s = S xi`, `xi ~ N(0, I)`, for a square root `S` of `C_c`
/// (`S S^T = C_c`); `xi` is scratch of length `N`.
pub fn draw_stimulus<R: rand::Rng + ?Sized>(
    sqrt_c: MatRef<'_, f64>,
    s: &mut Mat<f64>,
    xi: &mut [f64],
    rng: &mut R,
) {
    for x in xi.iter_mut() {
        *x = rng.sample(StandardNormal);
    }
    for i in 0..sqrt_c.nrows() {
        s[(i, 0)] = (0..sqrt_c.ncols()).map(|j| sqrt_c[(i, j)] * xi[j]).sum();
    }
}

/// Element-wise median of the optimal gains `g_opt(W, C_c)` over the contexts: the authors'
/// initial gains for online learning (B3), and the "fixed gains" of the images experiment.
pub fn median_optimal_gains(
    w: MatRef<'_, f64>,
    contexts: &[Mat<f64>],
) -> Result<Vec<f64>, CoreError> {
    let all = contexts
        .iter()
        .map(|c| optimal_gains(w, c.as_ref(), 1.0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..w.ncols())
        .map(|i| median(&all.iter().map(|g| g[i]).collect::<Vec<_>>()))
        .collect())
}

/// The error `||C_rr - I||_2` of synapses `w` on context `c` with the context's optimal gains
/// (the fast-gain limit: gains fully adapted).
pub fn adapted_error(w: MatRef<'_, f64>, c: MatRef<'_, f64>) -> Result<f64, CoreError> {
    let g = optimal_gains(w, c, 1.0)?;
    MultiTimescaleNetwork::new(w.to_owned(), g)?.whitening_error(c)
}

/// The error `||C_rr - I||_2` of synapses `w` on context `c` with given gains `g`.
pub fn error_with_gains(
    w: MatRef<'_, f64>,
    g: &[f64],
    c: MatRef<'_, f64>,
) -> Result<f64, CoreError> {
    MultiTimescaleNetwork::new(w.to_owned(), g.to_vec())?.whitening_error(c)
}

/// What a fast-gain-limit run records.
pub struct FastGainRun {
    /// `(step, error of that step's C_rr)` every `record_every` steps (and the last).
    pub errors: Vec<(usize, f64)>,
    /// `(step, extra measure of W)` at the same steps (e.g. the distance to `V`).
    pub tracked: Vec<(usize, f64)>,
}

/// Variant (i) of paper B, the fast-gain limit: `steps` times pick a random context `c` of
/// `train`, set `g = g_opt(W, C_c)` and step `W <- W + eta_w (C_rr - I) W G`
/// ([`MultiTimescaleNetwork::fast_gain_step`]). Records the step's error and `track(W)` every
/// `record_every` steps.
#[allow(clippy::too_many_arguments)]
pub fn learn_fast_gains<R: rand::Rng + ?Sized>(
    net: &mut MultiTimescaleNetwork,
    train: &[Mat<f64>],
    steps: usize,
    eta_w: f64,
    record_every: usize,
    track: impl Fn(MatRef<'_, f64>) -> f64,
    rng: &mut R,
    ctx: &RunContext,
    what: &str,
) -> Result<FastGainRun> {
    let mut run = FastGainRun {
        errors: Vec::new(),
        tracked: Vec::new(),
    };
    let every = record_every.max(1);
    for t in 0..steps {
        if t.is_multiple_of(1000) {
            ctx.stop_point()?;
        }
        let c = &train[rng.random_range(0..train.len())];
        let record = t.is_multiple_of(every) || t + 1 == steps;
        if record {
            run.tracked.push((t, track(net.w())));
        }
        let crr = net
            .fast_gain_step(c.as_ref(), eta_w)
            .map_err(|e| ctx.numerical(format!("{what}, fast-gain step {t}"), e))?;
        if record {
            let e = whiten_core::gain::spectral_norm_error(crr.as_ref())
                .map_err(|e| ctx.numerical(format!("{what}, error at step {t}"), e))?;
            run.errors.push((t, e));
        }
    }
    run.tracked.push((steps, track(net.w())));
    Ok(run)
}

/// Median (mean of the middle two for an even count; NaN for none).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[m],
        _ => 0.5 * (s[m - 1] + s[m]),
    }
}

/// Mean (NaN for none).
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Row-major copy of a matrix, for serialisable task results.
pub fn flat(m: MatRef<'_, f64>) -> Vec<f64> {
    crate::output::row_major(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn schedule_repeats_its_first_contexts_at_the_end() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let s = schedule(64, 100, 10, &mut rng);
        assert_eq!(s.len(), 100);
        assert_eq!(s[..10], s[90..]);
        assert!(s.iter().all(|&c| c < 64));
    }

    #[test]
    fn stimuli_have_the_context_covariance() {
        let sqrt_c = Mat::from_fn(2, 2, |i, j| [[2.0, 0.5], [0.5, 1.0]][i][j]);
        let c = &sqrt_c * sqrt_c.transpose();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (mut s, mut xi) = (Mat::zeros(2, 1), vec![0.0; 2]);
        let mut acc = [[0.0; 2]; 2];
        let n = 200_000;
        for _ in 0..n {
            draw_stimulus(sqrt_c.as_ref(), &mut s, &mut xi, &mut rng);
            for (i, row) in acc.iter_mut().enumerate() {
                for (j, a) in row.iter_mut().enumerate() {
                    *a += s[(i, 0)] * s[(j, 0)] / n as f64;
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, a) in row.iter().enumerate() {
                assert!(
                    (a - c[(i, j)]).abs() < 0.05,
                    "{i},{j}: {a} vs {}",
                    c[(i, j)]
                );
            }
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
