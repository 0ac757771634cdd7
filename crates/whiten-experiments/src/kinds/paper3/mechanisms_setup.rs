//! The machinery of `mechanisms` (see [`super::mechanisms`]): the four linear interneuron
//! mechanisms behind one interface, the context sequences they are tested on, one online run
//! with its error trace, the per-block statistics, and the learning-rate selection rule.
//!
//! Notation: `n` primary neurons, inputs `x` of covariance `C`, responses `y` at the steady
//! state of each network, error `||C_yy - I||_op` (largest `|lambda_i(C_yy) - 1|`), computed
//! exactly from the current network and the current context's `C`.

use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use whiten_core::cov::sym_eigen;
use whiten_core::error::CoreError;
use whiten_core::gain::{
    GainNetwork, MultiTimescaleNetwork, SyntheticContexts, frame, gram_hadamard_square,
    optimal_gains, spectral_norm_error,
};
use whiten_core::linear::{DirectNetwork, InterneuronNetwork, WhiteningNetwork};

use crate::context::RunContext;
use crate::error::Result;

/// An error above this counts as a divergence: the run stops there.
pub const DIVERGED: f64 = 1e6;

/// Steps between two polls of the cancellation flag.
const POLL_EVERY: usize = 1000;

/// The four mechanisms, in the order of the line's papers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mechanism {
    /// Paper 1, Algorithm 1: `y = M^{-1} x`, `M <- M + eta (y y^T - I)`, `M` symmetric.
    Direct,
    /// Paper 1, Algorithm 2: `y = (W W^T)^{-1} x`, `W <- W + eta (y z^T - W)`, `z = W^T y`,
    /// `k = n` interneurons.
    Interneuron,
    /// Paper A: a fixed random unit frame `W` (`n x K`, `K = n(n+1)/2`),
    /// `y = (I + W diag(g) W^T)^{-1} x`, gains `g <- g + eta_g (z o z - 1)`.
    Gain,
    /// Paper B: `K = n`, fast gains `g <- g + eta_g (z o z - ||w_i||^2)` and slow synapses
    /// `W <- W + eta_w (y (g o z)^T - W diag(g))`.
    GainSynapse,
}

/// All four, in report order.
pub const MECHANISMS: [Mechanism; 4] = [
    Mechanism::Direct,
    Mechanism::Interneuron,
    Mechanism::Gain,
    Mechanism::GainSynapse,
];

impl Mechanism {
    /// Short key used in tables and summary keys.
    pub fn key(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Interneuron => "interneuron",
            Self::Gain => "gain",
            Self::GainSynapse => "gain_synapse",
        }
    }

    /// Legend label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Direct => "direct recurrence (P1 Alg. 1)",
            Self::Interneuron => "interneuron synapses (P1 Alg. 2)",
            Self::Gain => "gains, fixed frame (A)",
            Self::GainSynapse => "fast gains + slow synapses (B)",
        }
    }

    /// Number of interneurons `K` for `n` primary neurons (0: none).
    pub fn interneurons(self, n: usize) -> usize {
        match self {
            Self::Direct => 0,
            Self::Interneuron | Self::GainSynapse => n,
            Self::Gain => n * (n + 1) / 2,
        }
    }

    /// `(plastic parameters, of which fast)`: direct `n(n+1)/2` (the symmetric `M`),
    /// interneurons `n k`, gains `K`, gains + synapses `K + n K` (the `K` gains are fast).
    pub fn plastic(self, n: usize) -> (usize, usize) {
        let k = self.interneurons(n);
        match self {
            Self::Direct => (n * (n + 1) / 2, n * (n + 1) / 2),
            Self::Interneuron => (n * k, n * k),
            Self::Gain => (k, k),
            Self::GainSynapse => (k + n * k, k),
        }
    }
}

/// Which context family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// Paper B's family `C_c = (I + V Lambda_c V^T)^2` with one `V` for all contexts.
    Shared,
    /// The same law of `Lambda_c`, but every context draws its own `V_c`: no shared basis.
    Independent,
}

/// Both, in report order.
pub const CONDITIONS: [Condition; 2] = [Condition::Shared, Condition::Independent];

impl Condition {
    /// Short key used in tables and summary keys.
    pub fn key(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Independent => "independent",
        }
    }

    /// Description for titles.
    pub fn label(self) -> &'static str {
        match self {
            Self::Shared => "shared basis V",
            Self::Independent => "independent bases V_c",
        }
    }
}

/// Learning rates of one run: `eta` (`eta_g` for the gain mechanisms) and, for B only,
/// `eta_w = ratio * eta_g`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// `eta` of paper 1's networks, `eta_g` of the gain mechanisms.
    pub eta: f64,
    /// `eta_w / eta_g` (B only; 0 for the others).
    pub ratio: f64,
}

impl Rates {
    /// `eta_w` of B.
    pub fn eta_w(&self) -> f64 {
        self.eta * self.ratio
    }
}

/// The learning-rate grid of a mechanism: every `eta`, and for B every `(eta_g, ratio)` pair.
pub fn grid(mechanism: Mechanism, etas: &[f64], ratios: &[f64]) -> Vec<Rates> {
    match mechanism {
        Mechanism::GainSynapse => etas
            .iter()
            .flat_map(|&eta| ratios.iter().map(move |&ratio| Rates { eta, ratio }))
            .collect(),
        _ => etas.iter().map(|&eta| Rates { eta, ratio: 0.0 }).collect(),
    }
}

/// One draw of everything random in a run but the samples: the contexts, A's frame, B's `W_0`.
/// All mechanisms on one world see the same samples too (common random numbers).
#[derive(Debug, Clone)]
pub struct World {
    /// `C_c^{1/2} = I + V_c Lambda_c V_c^T` per context (samples are `x = C_c^{1/2} xi`).
    pub sqrt_c: Vec<Mat<f64>>,
    /// `C_c`.
    pub c: Vec<Mat<f64>>,
    /// `V_c` (the same matrix for every context in the shared condition).
    pub v: Vec<Mat<f64>>,
    /// `lambda_c`.
    pub lambdas: Vec<Vec<f64>>,
    /// A's fixed frame, `n x n(n+1)/2` random unit columns.
    pub frame: Mat<f64>,
    /// B's initial synapses, `n x n`, normalised standard normal columns (as the authors).
    pub w0: Mat<f64>,
    /// Seed of the sample stream.
    pub seed: u64,
}

impl World {
    /// Draws a world from `seed`: `contexts` contexts of `condition` with `lambda_j ~ U(0,
    /// max_lambda)` kept with probability 1/2 (paper B's law, all-zero draws redrawn).
    pub fn draw(
        n: usize,
        contexts: usize,
        max_lambda: f64,
        condition: Condition,
        seed: u64,
    ) -> std::result::Result<Self, CoreError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let lambdas_and_bases: Vec<(Mat<f64>, Vec<f64>)> = match condition {
            Condition::Shared => {
                let s = SyntheticContexts::generate(n, contexts, max_lambda, &mut rng)?;
                s.lambdas.into_iter().map(|l| (s.v.clone(), l)).collect()
            }
            Condition::Independent => (0..contexts)
                .map(|_| {
                    let s = SyntheticContexts::generate(n, 1, max_lambda, &mut rng)?;
                    let l = s.lambdas.into_iter().next().unwrap_or_default();
                    Ok((s.v, l))
                })
                .collect::<std::result::Result<_, CoreError>>()?,
        };
        let mut sqrt_c = Vec::with_capacity(contexts);
        let mut c = Vec::with_capacity(contexts);
        for (v, l) in &lambdas_and_bases {
            // C^{1/2} = I + V Lambda V^T, C = (C^{1/2})^2
            let vl = Mat::from_fn(n, n, |i, j| v[(i, j)] * l[j]);
            let mut s = &vl * v.transpose();
            for i in 0..n {
                s[(i, i)] += 1.0;
            }
            sqrt_c.push(whiten_core::cov::symmetrise(s.as_ref()));
            c.push(SyntheticContexts::covariance(v.as_ref(), l));
        }
        let frame = frame::random_unit(n, Mechanism::Gain.interneurons(n), &mut rng)?;
        let w0 = frame::random_unit(n, n, &mut rng)?;
        let (v, lambdas) = lambdas_and_bases.into_iter().unzip();
        Ok(Self {
            sqrt_c,
            c,
            v,
            lambdas,
            frame,
            w0,
            seed,
        })
    }

    /// Primary neurons.
    pub fn n(&self) -> usize {
        self.frame.nrows()
    }

    /// Condition number of A's gain equation matrix `(W^T W)^{o2}` for the frame (the
    /// curvature of the gains' objective near the optimum scales with it: slow gain modes).
    pub fn frame_condition(&self) -> std::result::Result<f64, CoreError> {
        let e = sym_eigen(gram_hadamard_square(self.frame.as_ref()).as_ref())?;
        let lo = e.values.first().copied().unwrap_or(f64::NAN);
        let hi = e.values.last().copied().unwrap_or(f64::NAN);
        Ok(hi / lo)
    }
}

/// A network of one of the four mechanisms; all start at `y = x` (`M = I`, gains 0).
#[derive(Debug, Clone)]
pub enum Net {
    /// [`Mechanism::Direct`], `M_0 = I`.
    Direct(DirectNetwork),
    /// [`Mechanism::Interneuron`], `W_0 = I`.
    Interneuron(InterneuronNetwork),
    /// [`Mechanism::Gain`], the world's frame, `g_0 = 0`.
    Gain(GainNetwork),
    /// [`Mechanism::GainSynapse`], the world's `W_0`, `g_0 = 0`.
    GainSynapse(MultiTimescaleNetwork),
}

impl Net {
    /// The initial network of `mechanism` on `world`.
    pub fn new(mechanism: Mechanism, world: &World) -> std::result::Result<Self, CoreError> {
        let n = world.n();
        Ok(match mechanism {
            Mechanism::Direct => Self::Direct(DirectNetwork::scaled_identity(n, 1.0)?),
            Mechanism::Interneuron => Self::Interneuron(InterneuronNetwork::commuting(n, n, 1.0)?),
            Mechanism::Gain => {
                let k = world.frame.ncols();
                Self::Gain(GainNetwork::new(world.frame.clone(), vec![0.0; k])?)
            }
            Mechanism::GainSynapse => {
                Self::GainSynapse(MultiTimescaleNetwork::new(world.w0.clone(), vec![0.0; n])?)
            }
        })
    }

    /// The network of `mechanism` that whitens context `ci` of `world` exactly: `M = C^{1/2}`,
    /// `W = C^{1/4}` (so `W W^T = C^{1/2}`), `g = g_opt(W, C)` (A's gain equation), and for B
    /// `W = V_c`, `g = lambda_c` (paper B: `g_opt(V, C_c) = lambda_c`).
    pub fn at_optimum(
        mechanism: Mechanism,
        world: &World,
        ci: usize,
    ) -> std::result::Result<Self, CoreError> {
        let (sq, c) = (&world.sqrt_c[ci], &world.c[ci]);
        Ok(match mechanism {
            Mechanism::Direct => Self::Direct(DirectNetwork::new(sq.clone())?),
            Mechanism::Interneuron => {
                // C^{1/4} = U diag(s^{1/2}) U^T from C^{1/2} = U diag(s) U^T
                let e = sym_eigen(sq.as_ref())?;
                let n = sq.nrows();
                let us = Mat::from_fn(n, n, |i, j| e.vectors[(i, j)] * e.values[j].max(0.0).sqrt());
                Self::Interneuron(InterneuronNetwork::new(&us * e.vectors.transpose())?)
            }
            Mechanism::Gain => {
                let g = optimal_gains(world.frame.as_ref(), c.as_ref(), 1.0)?;
                Self::Gain(GainNetwork::new(world.frame.clone(), g)?)
            }
            Mechanism::GainSynapse => Self::GainSynapse(MultiTimescaleNetwork::new(
                world.v[ci].clone(),
                world.lambdas[ci].clone(),
            )?),
        })
    }

    /// One online update from the batch `x` (`n x B`).
    pub fn step(&mut self, x: MatRef<'_, f64>, r: Rates) -> std::result::Result<(), CoreError> {
        match self {
            Self::Direct(net) => net.online_step(x, r.eta),
            Self::Interneuron(net) => net.online_step(x, r.eta),
            Self::Gain(net) => net.online_step(x, r.eta).map(|_| ()),
            Self::GainSynapse(net) => net.online_step(x, r.eta, r.eta_w()).map(|_| ()),
        }
    }

    /// `||C_yy - I||_op` for input covariance `c`.
    pub fn error(&self, c: MatRef<'_, f64>) -> std::result::Result<f64, CoreError> {
        let cyy = match self {
            Self::Direct(net) => net.output_covariance(c)?,
            Self::Interneuron(net) => net.output_covariance(c)?,
            Self::Gain(net) => net.output_covariance(c)?,
            Self::GainSynapse(net) => net.output_covariance(c)?,
        };
        spectral_norm_error(cyy.as_ref())
    }
}

/// The schedule shared by every run.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Number of contexts; block `b` shows context `b mod contexts`.
    pub contexts: usize,
    /// Number of blocks.
    pub blocks: usize,
    /// Online steps per block.
    pub period: usize,
    /// Samples per step.
    pub batch: usize,
    /// Steps between recorded errors (divides `period`).
    pub record_every: usize,
}

impl Schedule {
    /// Records per block.
    pub fn records(&self) -> usize {
        self.period / self.record_every
    }

    /// The context shown in block `b`.
    pub fn context(&self, b: usize) -> usize {
        b % self.contexts
    }

    /// Whether block `b` is the first visit of its context.
    pub fn first_visit(&self, b: usize) -> bool {
        b < self.contexts
    }
}

/// The error of one run, recorded every `record_every` steps (the first record of a block is
/// taken just after the switch, before any update on the new context). After a divergence
/// (a failed step or an error above [`DIVERGED`]) the remaining records are `+inf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The recorded errors, `blocks x records` in block order.
    pub errors: Vec<f64>,
    /// The step at which the run diverged.
    pub diverged: Option<usize>,
}

/// Runs `mechanism` online at `rates` through the schedule on `world`.
pub fn simulate(
    mechanism: Mechanism,
    world: &World,
    rates: Rates,
    s: &Schedule,
    ctx: &RunContext,
) -> Result<Trace> {
    let n = world.n();
    let mut net = Net::new(mechanism, world).map_err(|e| ctx.numerical("initial network", e))?;
    // The sample stream: the same for every mechanism on this world.
    let mut rng = ChaCha8Rng::seed_from_u64(world.seed);
    rng.set_stream(1);
    let mut errors = Vec::with_capacity(s.blocks * s.records());
    let mut diverged = None;
    'blocks: for b in 0..s.blocks {
        let ci = s.context(b);
        let (sq, c) = (&world.sqrt_c[ci], world.c[ci].as_ref());
        for t in 0..s.period {
            let step = b * s.period + t;
            if step.is_multiple_of(POLL_EVERY) {
                ctx.stop_point()?;
            }
            if t.is_multiple_of(s.record_every) {
                match net.error(c) {
                    Ok(e) if e.is_finite() && e < DIVERGED => errors.push(e),
                    _ => {
                        diverged = Some(step);
                        break 'blocks;
                    }
                }
            }
            // x = C^{1/2} xi, xi ~ N(0, I)
            let xi = Mat::from_fn(n, s.batch, |_, _| -> f64 {
                StandardNormal.sample(&mut rng)
            });
            let x = sq * &xi;
            if net.step(x.as_ref(), rates).is_err() {
                diverged = Some(step);
                break 'blocks;
            }
        }
    }
    errors.resize(s.blocks * s.records(), f64::INFINITY);
    Ok(Trace { errors, diverged })
}

/// The floor of online noise: `mechanism` started at the exact optimum of each context
/// ([`Net::at_optimum`]) learns online at `rates` for one period on that context.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimumFloor {
    /// Largest `||C_yy - I||_op` at the optimum over contexts, before any step (0 up to
    /// rounding: the mechanism can represent every context's whitening).
    pub exact: f64,
    /// Median over contexts of the median error over the last three quarters of the period.
    pub floor: f64,
}

/// Measures [`OptimumFloor`] on `world` (its own sample streams, 2 + context).
pub fn optimum_floor(
    mechanism: Mechanism,
    world: &World,
    rates: Rates,
    s: &Schedule,
    ctx: &RunContext,
) -> Result<OptimumFloor> {
    let n = world.n();
    let (mut exact, mut floors) = (0.0_f64, Vec::new());
    for ci in 0..world.c.len() {
        let what = format!("{} at the optimum of context {ci}", mechanism.key());
        let mut net = Net::at_optimum(mechanism, world, ci).map_err(|e| ctx.numerical(&what, e))?;
        let c = world.c[ci].as_ref();
        exact = exact.max(net.error(c).map_err(|e| ctx.numerical(&what, e))?);
        let mut rng = ChaCha8Rng::seed_from_u64(world.seed);
        rng.set_stream(2 + ci as u64);
        let mut errors = Vec::new();
        for t in 0..s.period {
            if t.is_multiple_of(POLL_EVERY) {
                ctx.stop_point()?;
            }
            if t.is_multiple_of(s.record_every) && t >= s.period / 4 {
                errors.push(net.error(c).unwrap_or(f64::INFINITY));
            }
            let xi = Mat::from_fn(n, s.batch, |_, _| -> f64 {
                StandardNormal.sample(&mut rng)
            });
            if net.step((&world.sqrt_c[ci] * &xi).as_ref(), rates).is_err() {
                errors.push(f64::INFINITY);
                break;
            }
        }
        floors.push(median(&errors));
    }
    Ok(OptimumFloor {
        exact,
        floor: median(&floors),
    })
}

/// What one block of a run shows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockStats {
    /// Steps from the switch until the error is first below the threshold (`None`: never in
    /// the block).
    pub rewhiten: Option<usize>,
    /// The error floor: median error over the last quarter of the block's records.
    pub floor: f64,
}

/// The per-block statistics of a trace.
pub fn block_stats(trace: &Trace, s: &Schedule, threshold: f64) -> Vec<BlockStats> {
    let r = s.records();
    (0..s.blocks)
        .map(|b| {
            let block = &trace.errors[b * r..(b + 1) * r];
            let rewhiten = block
                .iter()
                .position(|&e| e < threshold)
                .map(|j| j * s.record_every);
            let tail = &block[(3 * r) / 4..];
            BlockStats {
                rewhiten,
                floor: median(tail),
            }
        })
        .collect()
}

/// The median of the values (`+inf` counts as a value; NaN for an empty slice).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// The re-whitening times as numbers (`None`, never re-whitened, is `+inf`).
pub fn times(stats: &[BlockStats]) -> Vec<f64> {
    stats
        .iter()
        .map(|b| b.rewhiten.map_or(f64::INFINITY, |t| t as f64))
        .collect()
}

/// How one grid point did on the tuning world.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// The rates.
    pub rates: Rates,
    /// Median over blocks of the re-whitening time (`+inf` if most blocks never re-whiten).
    pub median_time: f64,
    /// Median over blocks of the error floor.
    pub median_floor: f64,
    /// Whether the run diverged.
    pub diverged: bool,
}

impl Score {
    /// The score of a tuning run.
    pub fn of(rates: Rates, trace: &Trace, s: &Schedule, threshold: f64) -> Self {
        let stats = block_stats(trace, s, threshold);
        let floors: Vec<f64> = stats.iter().map(|b| b.floor).collect();
        Self {
            rates,
            median_time: median(&times(&stats)),
            median_floor: median(&floors),
            diverged: trace.diverged.is_some(),
        }
    }

    /// Admissible: no divergence and a median floor below `floor_fraction x threshold`.
    pub fn admissible(&self, threshold: f64, floor_fraction: f64) -> bool {
        !self.diverged && self.median_floor < floor_fraction * threshold
    }
}

/// The selection rule, the same for every mechanism: among the admissible grid points (see
/// [`Score::admissible`]) the one with the smallest median re-whitening time, ties to the
/// earlier grid point; if none is admissible, the non-diverged point with the lowest median
/// floor (and `false`). Returns the index into `scores` and whether it was admissible.
pub fn select(scores: &[Score], threshold: f64, floor_fraction: f64) -> (usize, bool) {
    let best = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| s.admissible(threshold, floor_fraction))
        .min_by(|a, b| {
            a.1.median_time
                .total_cmp(&b.1.median_time)
                .then(a.0.cmp(&b.0))
        });
    if let Some((i, _)) = best {
        return (i, true);
    }
    let fallback = scores
        .iter()
        .enumerate()
        .min_by(|a, b| {
            (a.1.diverged, a.1.median_floor)
                .partial_cmp(&(b.1.diverged, b.1.median_floor))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.0.cmp(&b.0))
        })
        .map_or(0, |(i, _)| i);
    (fallback, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Schedule {
        Schedule {
            contexts: 2,
            blocks: 3,
            period: 40,
            batch: 2,
            record_every: 10,
        }
    }

    #[test]
    fn parameter_counts() {
        assert_eq!(Mechanism::Direct.plastic(4), (10, 10));
        assert_eq!(Mechanism::Interneuron.plastic(4), (16, 16));
        assert_eq!(Mechanism::Gain.plastic(4), (10, 10));
        assert_eq!(Mechanism::GainSynapse.plastic(4), (20, 4));
        assert_eq!(
            grid(Mechanism::GainSynapse, &[0.1, 0.2], &[0.1, 0.3]).len(),
            4
        );
        assert_eq!(grid(Mechanism::Gain, &[0.1, 0.2], &[0.1, 0.3]).len(), 2);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[1.0, f64::INFINITY, f64::INFINITY]), f64::INFINITY);
        assert!(median(&[]).is_nan());
    }

    /// Block statistics of a hand-made trace: first record below the threshold, median of the
    /// last quarter.
    #[test]
    fn block_statistics() {
        let s = schedule();
        let trace = Trace {
            errors: vec![
                5.0, 0.5, 0.05, 0.07, // block 0: below at record 2 -> 20 steps, floor 0.07
                0.01, 0.2, 0.3, 0.4, // block 1: already below at the switch, floor 0.4
                1.0, 1.0, 1.0, 1.0, // block 2: never
            ],
            diverged: None,
        };
        let b = block_stats(&trace, &s, 0.1);
        assert_eq!(b[0].rewhiten, Some(20));
        assert_eq!(b[0].floor, 0.07);
        assert_eq!(b[1].rewhiten, Some(0));
        assert_eq!(b[2].rewhiten, None);
        assert_eq!(times(&b)[2], f64::INFINITY);
        assert!(s.first_visit(1) && !s.first_visit(2));
        assert_eq!(s.context(2), 0);
    }

    /// The rule: the fastest admissible point, ties to the earlier; without one, the lowest
    /// floor among the runs that did not diverge.
    #[test]
    fn selection_rule() {
        let r = |eta| Rates { eta, ratio: 0.0 };
        let sc = |eta, t, f, d| Score {
            rates: r(eta),
            median_time: t,
            median_floor: f,
            diverged: d,
        };
        let scores = [
            sc(0.01, 300.0, 0.05, false),
            sc(0.02, 100.0, 0.09, false),
            sc(0.03, 100.0, 0.08, false),
            sc(0.05, 50.0, 0.2, false),
            sc(0.1, 10.0, 0.01, true),
        ];
        assert_eq!(select(&scores, 0.2, 0.5), (1, true));
        // floor_fraction 0.2: only a floor below 0.04 is admissible; none that did not diverge.
        assert_eq!(select(&scores, 0.2, 0.2), (0, false));
        let none = [sc(0.1, 10.0, 0.01, true), sc(0.2, 10.0, 0.5, false)];
        assert_eq!(select(&none, 0.2, 0.5), (1, false));
    }

    /// Every mechanism started at its closed-form optimum whitens its context exactly, in
    /// both conditions (an independent check of `C^{1/2}`, `C^{1/4}`, `g_opt` and `lambda_c`).
    #[test]
    fn optima_whiten_exactly() {
        for cond in CONDITIONS {
            let w = World::draw(4, 3, 4.0, cond, 11).unwrap();
            for m in MECHANISMS {
                for ci in 0..3 {
                    let e = Net::at_optimum(m, &w, ci)
                        .unwrap()
                        .error(w.c[ci].as_ref())
                        .unwrap();
                    assert!(e < 1e-9, "{m:?} {cond:?} context {ci}: {e}");
                }
            }
            // Every mechanism starts at y = x: the error is ||C - I||_op.
            for m in MECHANISMS {
                let e0 = Net::new(m, &w).unwrap().error(w.c[0].as_ref()).unwrap();
                let e = whiten_core::gain::spectral_norm_error(w.c[0].as_ref()).unwrap();
                assert!((e0 - e).abs() < 1e-9 * e.max(1.0), "{m:?}: {e0} vs {e}");
            }
        }
        let shared = World::draw(3, 3, 4.0, Condition::Shared, 5).unwrap();
        assert!(shared.v.iter().all(|v| v == &shared.v[0]));
        let indep = World::draw(3, 3, 4.0, Condition::Independent, 5).unwrap();
        assert!(indep.v[0] != indep.v[1]);
    }

    /// Runs are deterministic (same world, same samples), learn, and stop cleanly when they
    /// diverge.
    #[test]
    fn runs_are_deterministic_and_divergence_is_recorded() {
        let ctx = RunContext::new("t", 1).without_progress();
        let w = World::draw(3, 2, 2.0, Condition::Shared, 3).unwrap();
        let s = Schedule {
            period: 400,
            batch: 10,
            ..schedule()
        };
        let r = Rates {
            eta: 0.02,
            ratio: 0.0,
        };
        let a = simulate(Mechanism::Direct, &w, r, &s, &ctx).unwrap();
        let b = simulate(Mechanism::Direct, &w, r, &s, &ctx).unwrap();
        assert_eq!(a, b);
        assert!(a.diverged.is_none());
        let stats = block_stats(&a, &s, 0.3);
        assert!(stats.iter().all(|b| b.rewhiten.is_some()), "{stats:?}");
        let huge = Rates {
            eta: 50.0,
            ratio: 0.0,
        };
        let d = simulate(Mechanism::Interneuron, &w, huge, &s, &ctx).unwrap();
        assert!(d.diverged.is_some());
        assert_eq!(d.errors.len(), s.blocks * s.records());
        assert_eq!(d.errors.last(), Some(&f64::INFINITY));
    }
}
