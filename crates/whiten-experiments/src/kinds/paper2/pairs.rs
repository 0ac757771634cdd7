//! Paper 2's 2D work: the pairs of band coefficients at an offset `d` with their raw and
//! ZCA-whitened mutual information ([`PairSignals`]), and `2 x K` circuits learned on them
//! ([`learn_pairs`], [`PairRun`]) whose responses `r = s - W g n(W^T r)` are judged by the
//! binned mutual information of the pairs (every 10th pair, the authors' convention, and all
//! pairs); [`pair_sweep`] and [`learn_pair_groups`] run many (offset, K, seed) at once.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use whiten_core::circuit::Circuit;

use super::learning::{Kept, select, start_circuit};
use super::{
    BDerivativeRule, Candidate, FilePairs, ImageSource, Learning, SolverSettings, ThetaMode,
    check_theta_init, diagnose, train_on,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::kinds::common::ensure;

/// A circuit learned on 2D pairs, with its responses and their mutual information.
#[derive(Serialize, Deserialize)]
pub struct PairRun {
    /// Interneurons.
    pub k: usize,
    /// The learned circuit.
    #[serde(with = "crate::stored")]
    pub circuit: Circuit,
    /// Responses to every pair.
    pub responses: Vec<[f64; 2]>,
    /// MI of the responses, every 10th pair (the authors' convention).
    pub mi_every10: f64,
    /// MI of the responses, all pairs.
    pub mi_all: f64,
    /// Learning iterations.
    pub iterations: usize,
    /// Whether the robust convergence test held at the end.
    pub converged: bool,
    /// The mode that produced this circuit (the chosen one under `Auto`).
    pub mode: ThetaMode,
    /// Under `Auto`: every candidate with its score (the normal-score MI of its responses,
    /// all pairs; lowest kept), or the error that stopped it.
    pub candidates: Vec<Candidate>,
    /// Named warnings: silent units, theta pinned at a bound, no convergence ([`diagnose`]).
    pub warnings: Vec<String>,
}

impl PairRun {
    /// The interneurons' directions (one per interneuron; the components of a
    /// `Grid` interneuron share one).
    pub fn directions(&self) -> Vec<[f64; 2]> {
        let w = self.circuit.w();
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for i in 0..self.circuit.k() {
            let d = self.circuit.directions().map_or(i, |g| g[i]);
            if !seen.contains(&d) {
                seen.push(d);
                out.push([w[2 * i], w[2 * i + 1]]);
            }
        }
        out
    }
}

impl Kept for PairRun {
    fn keep(&mut self, mode: ThetaMode, candidates: Vec<Candidate>, warnings: Vec<String>) {
        self.mode = mode;
        self.candidates = candidates;
        self.warnings.extend(warnings);
    }
}

/// How the 2D experiments build and train their circuits (their shared parameters).
#[derive(Debug, Clone, Copy)]
pub struct PairCircuit<'a> {
    /// Learning schedule.
    pub learning: &'a Learning,
    /// Base of the initial theta (`theta_0 = theta_init + 0.1 U`).
    pub theta_init: f64,
    /// What the activation parameters do ([`ThetaMode`]).
    pub theta: &'a ThetaMode,
    /// Response solver.
    pub solver: SolverSettings,
}

impl PairCircuit<'_> {
    /// Refuses impossible settings; `theta_init_field` names the `theta_init` field.
    pub fn check(&self, theta_init_field: &str) -> Result<(), ParamError> {
        self.theta.check("theta")?;
        self.learning.check("learning")?;
        self.solver.check()?;
        check_theta_init(self.theta_init, theta_init_field)
    }

    /// Warnings about settings that run but defeat their purpose: a 2D schedule whose
    /// `eta_w` is 0 leaves `W` at its random start, so the circuit cannot even decorrelate.
    pub fn setting_warnings(&self, field: &str) -> Vec<String> {
        if self.learning.eta_w() == 0.0 {
            vec![format!(
                "{field}.eta_w is 0: W stays at its random start and the 2D circuit cannot learn its directions (the pairs stay correlated)"
            )]
        } else {
            Vec::new()
        }
    }
}

/// Learns a `2 x k` circuit on `pairs` as `settings` say and measures the MI of its
/// responses. Under [`ThetaMode::Auto`] every candidate is fitted and the one whose responses'
/// normal scores have the lowest MI (all pairs) is kept.
pub fn learn_pairs<R: Rng + SeedableRng + Clone>(
    pairs: &[[f64; 2]],
    k: usize,
    settings: &PairCircuit<'_>,
    rng: &mut R,
    ctx: &RunContext,
    what: &str,
) -> Result<PairRun> {
    if *settings.theta != ThetaMode::Auto {
        return learn_pairs_mode(pairs, k, settings, settings.theta, rng, ctx, what);
    }
    let auto = ThetaMode::auto_2d();
    select(
        &auto,
        settings.learning,
        rng,
        ctx,
        &mut |mode, learning, stream| {
            let settings = PairCircuit {
                learning,
                ..*settings
            };
            let run = learn_pairs_mode(pairs, k, &settings, mode, stream, ctx, what)?;
            let score = mi_of_normal_scores(&run.responses, 1, ctx, what)?;
            Ok((run, score))
        },
    )
}

/// Binned MI (bin width 0.5, nats; every `stride`-th pair) of the normal scores of `pairs`
/// (each coordinate replaced by `Phi^{-1}((rank + 1/2) / M)`): the dependence alone, whatever
/// the shape and scale of the marginals.
pub fn mi_of_normal_scores(
    pairs: &[[f64; 2]],
    stride: usize,
    ctx: &RunContext,
    what: &str,
) -> Result<f64> {
    use whiten_core::stats::{MI_BIN_WIDTH, gaussianise_marginals, mutual_information};
    gaussianise_marginals(pairs)
        .and_then(|z| mutual_information(&z, MI_BIN_WIDTH, stride))
        .map_err(|e| ctx.numerical(format!("MI of the normal scores of {what}"), e))
}

/// [`learn_pairs`] with one mode (not `Auto`).
fn learn_pairs_mode<R: Rng>(
    pairs: &[[f64; 2]],
    k: usize,
    settings: &PairCircuit<'_>,
    mode: &ThetaMode,
    rng: &mut R,
    ctx: &RunContext,
    what: &str,
) -> Result<PairRun> {
    let flat: Vec<f64> = pairs.iter().flat_map(|p| [p[0], p[1]]).collect();
    let mut circuit = start_circuit(&flat, 2, k, settings.learning, settings.theta_init, rng)
        .map_err(|e| ctx.numerical(format!("initialising {what}"), e))?;
    circuit
        .set_options(settings.solver.options(BDerivativeRule::Reference))
        .map_err(|e| ctx.numerical(format!("solver options of {what}"), e))?;
    mode.apply(&mut circuit, ctx, what)?;
    let learns = mode.learns_theta();
    let trainer = settings.learning.trainer_with(true, learns);
    let report = train_on(&mut circuit, &trainer, &flat, rng, || ctx.cancelled())
        .map_err(|e| ctx.numerical(format!("learning {what}"), e))?;
    let mut out = vec![0.0; flat.len()];
    circuit
        .respond_batch(&flat, &mut out)
        .map_err(|e| ctx.numerical(format!("responses of {what}"), e))?;
    let warnings = diagnose(
        &circuit,
        &out,
        learns,
        report.converged,
        report.iterations,
        ctx,
        what,
    )?;
    let responses: Vec<[f64; 2]> = out.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
    let (mi_every10, mi_all) = mi_pair(&responses, ctx, what)?;
    Ok(PairRun {
        k,
        circuit,
        responses,
        mi_every10,
        mi_all,
        iterations: report.iterations,
        converged: report.converged,
        mode: mode.clone(),
        candidates: Vec::new(),
        warnings,
    })
}

/// Binned MI (bin width 0.5, nats) on every 10th pair and on all pairs.
pub fn mi_pair(pairs: &[[f64; 2]], ctx: &RunContext, what: &str) -> Result<(f64, f64)> {
    use whiten_core::stats::{MI_BIN_WIDTH, mutual_information};
    let mi = |stride| {
        mutual_information(pairs, MI_BIN_WIDTH, stride)
            .map_err(|e| ctx.numerical(format!("MI of {what}"), e))
    };
    Ok((mi(10)?, mi(1)?))
}

/// Raw and ZCA-whitened pairs of `band` at offset `d`, with their MI (every 10th, all).
pub struct PairSignals {
    /// Raw pairs (each coordinate at unit standard deviation).
    pub raw: Vec<[f64; 2]>,
    /// ZCA-whitened pairs.
    pub zca: Vec<[f64; 2]>,
    /// MI of the raw pairs (every 10th, all).
    pub mi_raw: (f64, f64),
    /// MI of the ZCA pairs (every 10th, all).
    pub mi_zca: (f64, f64),
}

/// Cuts the pairs at offset `d` from a square `side x side` band.
pub fn pair_signals(band: &[f64], side: usize, d: usize, ctx: &RunContext) -> Result<PairSignals> {
    use whiten_core::signal::pairs_2d;
    use whiten_core::stats::zca_pairs;
    let raw = pairs_2d(band, side, side, d)
        .map_err(|e| ctx.numerical(format!("pairs at offset {d}"), e))?;
    let zca = zca_pairs(&raw, ZCA_CENTRED)
        .map_err(|e| ctx.numerical(format!("ZCA of the pairs at offset {d}"), e))?;
    let mi_raw = mi_pair(&raw, ctx, "raw pairs")?;
    let mi_zca = mi_pair(&zca, ctx, "ZCA pairs")?;
    Ok(PairSignals {
        raw,
        zca,
        mi_raw,
        mi_zca,
    })
}

/// Whether ZCA subtracts the mean of the pairs (the band has mean ~0 either way).
pub const ZCA_CENTRED: bool = false;

/// Refuses a pair offset outside `1 <= d < crop` (the image height).
pub fn check_offset(d: usize, crop: usize, field: &str) -> Result<(), ParamError> {
    ensure(d >= 1 && d < crop, field, || {
        format!("offset d = {d} must satisfy 1 <= d < crop = {crop} (the image height)")
    })
}

/// Refuses a 2D circuit with fewer than `N = 2` interneurons.
pub fn check_pair_k(k: usize, field: &str) -> Result<(), ParamError> {
    ensure(k >= 2, field, || {
        format!("K = {k}: the 2D circuit needs K >= N = 2 interneurons")
    })
}

/// The 2D experiments' common work: the first image of `source`, its band, the pairs at every
/// offset with their raw and ZCA MI, and `seeds` learned circuits per (offset, K), in parallel.
/// Returns the image name, the signals per offset, the (offset index, K) of each run, and the
/// runs in that order, seed-major (see [`learn_pair_groups`]).
#[allow(clippy::type_complexity)]
pub fn pair_sweep(
    source: &ImageSource,
    offsets: &[usize],
    ks: &[usize],
    seeds: usize,
    settings: &PairCircuit<'_>,
    ctx: &RunContext,
) -> Result<(String, Vec<PairSignals>, Vec<(usize, usize)>, Vec<PairRun>)> {
    let (name, image) = source.image(0, ctx)?;
    let band = source.band(&image, ctx)?;
    let signals = offsets
        .iter()
        .map(|&d| pair_signals(&band, source.crop, d, ctx))
        .collect::<Result<Vec<_>>>()?;
    let (combos, runs) = learn_pair_groups(&signals, ks, seeds, settings, ctx, |o, k| {
        format!("the K = {k} circuit at offset d = {}", offsets[o])
    })?;
    Ok((name, signals, combos, runs))
}

/// The raw pairs of a pairs file (standardised already) with their ZCA-whitened pairs and the
/// MI of both.
pub fn file_pair_signals(file: &FilePairs, ctx: &RunContext) -> Result<PairSignals> {
    use whiten_core::stats::zca_pairs;
    let zca = zca_pairs(&file.pairs, ZCA_CENTRED)
        .map_err(|e| ctx.numerical(format!("ZCA of the pairs of {}", file.name), e))?;
    Ok(PairSignals {
        mi_raw: mi_pair(&file.pairs, ctx, "raw pairs")?,
        mi_zca: mi_pair(&zca, ctx, "ZCA pairs")?,
        raw: file.pairs.clone(),
        zca,
    })
}

/// `seeds` learned circuits per (group of pairs, K), in parallel, one task stream each: the
/// returned runs are seed-major, `runs[s * combos.len() + c]` for seed `s` and the `c`-th
/// (group index, K) of the returned list, so seed 0 draws the same streams whatever `seeds`
/// is. `what(group, k)` names a run in errors.
#[allow(clippy::type_complexity)]
pub fn learn_pair_groups(
    signals: &[PairSignals],
    ks: &[usize],
    seeds: usize,
    settings: &PairCircuit<'_>,
    ctx: &RunContext,
    what: impl Fn(usize, usize) -> String + Sync + Send,
) -> Result<(Vec<(usize, usize)>, Vec<PairRun>)> {
    let combos: Vec<(usize, usize)> = (0..signals.len())
        .flat_map(|o| ks.iter().map(move |&k| (o, k)))
        .collect();
    let runs = ctx.par_tasks(combos.len() * seeds, "circuits", |t, rng| {
        let (o, k) = combos[t % combos.len()];
        let seed = t / combos.len();
        let name = if seeds > 1 {
            format!("{} (seed {seed})", what(o, k))
        } else {
            what(o, k)
        };
        learn_pairs(&signals[o].raw, k, settings, rng, ctx, &name)
    })?;
    Ok((combos, runs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::paper2::RobustSettings;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    #[test]
    fn auto_2d_fits_every_candidate_and_start_and_keeps_the_least_dependent() {
        let ctx = RunContext::new("t", 1).without_progress();
        let learning = Learning::Robust(RobustSettings {
            max_iterations: 3_000,
            ..RobustSettings::default()
        });
        // Gaussian scale mixture pairs: decorrelation leaves their shared scale
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let pairs: Vec<[f64; 2]> = (0..20_000)
            .map(|_| {
                let v = (rng.sample::<f64, _>(StandardNormal)).exp() / 0.5f64.exp();
                let (a, b): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
                [v.sqrt() * a, v.sqrt() * (0.6 * a + 0.8 * b)]
            })
            .collect();
        let settings = PairCircuit {
            learning: &learning,
            theta_init: 2.3,
            theta: &ThetaMode::Auto,
            solver: SolverSettings::default(),
        };
        let run = learn_pairs(&pairs, 3, &settings, &mut rng, &ctx, "gsm").unwrap();
        let starts: Vec<(&str, usize)> = run
            .candidates
            .iter()
            .map(|c| (c.mode.as_str(), c.start))
            .collect();
        assert_eq!(starts[1..], [("Fixed(2.35)", 0), ("Grid([1.0, 3.0])", 0)]);
        // the learned theta screened four starts and learned on from the lowest-scoring one
        let learned = &run.candidates[0];
        assert_eq!(learned.mode, "Learned");
        let screened: Vec<f64> = learned.screened.iter().map(|s| s.unwrap()).collect();
        assert_eq!(screened.len(), crate::kinds::paper2::AUTO_2D_LEARNED_STARTS);
        let lowest = (0..screened.len())
            .min_by(|&a, &b| screened[a].total_cmp(&screened[b]))
            .unwrap();
        assert_eq!(learned.start, lowest);
        let best = run
            .candidates
            .iter()
            .map(|c| c.score.unwrap())
            .fold(f64::INFINITY, f64::min);
        let kept = mi_of_normal_scores(&run.responses, 1, &ctx, "kept").unwrap();
        assert!((kept - best).abs() < 1e-15, "kept {kept}, best {best}");
        assert_eq!(run.directions().len(), 3);
        // eta_w = 0 in 2D is warned about
        let frozen = Learning::Robust(RobustSettings {
            eta_w: 0.0,
            ..RobustSettings::default()
        });
        let s = PairCircuit {
            learning: &frozen,
            ..settings
        };
        assert_eq!(s.setting_warnings("learning").len(), 1);
        assert!(settings.setting_warnings("learning").is_empty());
    }
}
