//! `mechanisms`: the line's four linear interneuron mechanisms on the same covariance switches.
//! Which one re-whitens fastest after a switch, at what error floor, with how many plastic
//! parameters? None of the source papers makes this comparison.
//!
//! The mechanisms (`mechanisms_setup::Mechanism`), all answering at their steady state and learning online
//! from batches of `batch` samples, all started at `y = x`:
//!
//! 1. direct recurrence (paper 1, Algorithm 1): `y = M^{-1} x`, `M <- M + eta (y y^T - I)`;
//!    `n(n+1)/2` plastic parameters;
//! 2. interneuron synapses (paper 1, Algorithm 2, `k = n`): `y = (W W^T)^{-1} x`,
//!    `W <- W + eta (y z^T - W)`, `z = W^T y`; `n k`;
//! 3. gain modulation on a fixed frame (paper A): a random unit frame `W` with
//!    `K = n(n+1)/2` columns (the fewest with which gains alone can whiten every `C`),
//!    `y = (I + W diag(g) W^T)^{-1} x`, `g <- g + eta_g (z o z - 1)`; `K` gains;
//! 4. fast gains and slow synapses (paper B, `K = n`): `g <- g + eta_g (z o z - ||w_i||^2)`,
//!    `W <- W + eta_w (y (g o z)^T - W diag(g))`; `K` fast gains and `n K` slow synapses.
//!
//! **Contexts.** `contexts` covariances `C_c = (I + V_c Lambda_c V_c^T)^2`, `Lambda_c`
//! drawn as in paper B (`lambda_j ~ U(0, max_lambda)`, each kept with probability 1/2). In the
//! *shared* condition one `V` serves all contexts (paper B's family: a slow `W` can learn it,
//! then `n` gains suffice); in the *independent* condition every context has its own random
//! `V_c` (same spectra, no shared structure). Block `b` (of `blocks`, `period` steps each)
//! shows context `b mod contexts`: the first `contexts` blocks are first visits, the rest
//! revisits. All mechanisms on one seed see the same contexts and the same samples.
//!
//! **Error** `||C_yy - I||_op` of the current network on the current context, exact,
//! every `record_every` steps. **Re-whitening time** of a block: steps from the switch until
//! the error is first below `threshold`. **Floor**: median error over the block's last quarter.
//!
//! **Learning rates (the fairness rule).** For every mechanism and condition, the same rule
//! on the same grid: each `eta` of `etas` (for B each pair `eta_g` in `etas`,
//! `eta_w = ratio x eta_g` with `ratio` in `ratios`) is run on a tuning seed that is not
//! reported; admissible are the runs that did not diverge and whose median floor over blocks
//! is below `floor_fraction x threshold`; among them the one with the smallest median
//! re-whitening time over blocks is chosen (ties: the earlier grid point); if no point is
//! admissible, the lowest median floor is taken and a warning says so. The chosen rates are
//! then evaluated on `seeds` other seeds.
//!
//! Defaults: batch 20 and threshold 0.2. With batch 1 and threshold 0.1 no mechanism kept its
//! floor below 0.05 within the blocks (1000 to 2000 steps) that a ~10 s run affords.
//! The floor from the exact optimum (`mechanisms_setup::optimum_floor`) separates
//! what online noise costs from what learning speed costs.

use serde::{Deserialize, Serialize};

use super::mechanisms_setup::{
    BlockStats, CONDITIONS, Condition, MECHANISMS, Mechanism, OptimumFloor, Rates, Schedule, Score,
    Trace, World, block_stats, grid, optimum_floor, select, simulate,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{at_least_one, ensure, ensure_positive, ensure_positive_grid};
use crate::output::Outputs;
use crate::resources::MemoryEstimate;

/// Parameters of `mechanisms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mechanisms {
    /// Primary neurons `n`.
    pub n: usize,
    /// Distinct contexts.
    pub contexts: usize,
    /// Blocks (context `b mod contexts` in block `b`).
    pub blocks: usize,
    /// Online steps per block.
    pub period: usize,
    /// Samples per online step.
    pub batch: usize,
    /// Largest context eigenvalue `lambda_j` (paper B: 4).
    pub max_lambda: f64,
    /// Re-whitened: error below this.
    pub threshold: f64,
    /// Admissible rates: median floor below `floor_fraction x threshold`.
    pub floor_fraction: f64,
    /// Grid of `eta` (and of B's `eta_g`).
    pub etas: Vec<f64>,
    /// Grid of B's `eta_w / eta_g`.
    pub ratios: Vec<f64>,
    /// Evaluation seeds (the tuning seed comes on top).
    pub seeds: usize,
    /// Steps between recorded errors.
    pub record_every: usize,
}

impl Default for Mechanisms {
    fn default() -> Self {
        Self {
            n: 4,
            contexts: 4,
            blocks: 12,
            period: 1000,
            batch: 20,
            max_lambda: 4.0,
            threshold: 0.2,
            floor_fraction: 0.5,
            etas: vec![0.005, 0.01, 0.02, 0.05, 0.1],
            ratios: vec![0.03, 0.1, 0.3],
            seeds: 4,
            record_every: 10,
        }
    }
}

impl Experiment for Mechanisms {
    const KIND: &'static str = "mechanisms";
    const DESCRIPTION: &'static str = "Paper 3, the four linear interneuron mechanisms (direct, interneuron synapses, gains on a fixed frame, gains + slow synapses) on the same covariance switches: re-whitening time, error floor, plastic parameters";
    const PARAMS: &'static [ParamDoc] = &[
        param("n", "number of primary neurons (2..=8)"),
        param("contexts", "number of distinct context covariances (>= 1)"),
        param(
            "blocks",
            "number of blocks; block b shows context b mod contexts (> contexts, so some are revisits)",
        ),
        param(
            "period",
            "online steps per block (a multiple of record_every, >= 4 records)",
        ),
        param("batch", "samples per online step (>= 1)"),
        param(
            "max_lambda",
            "context eigenvalues lambda_j ~ U(0, max_lambda), each kept with probability 1/2 (> 0)",
        ),
        param(
            "threshold",
            "re-whitened: exact ||C_yy - I||_op below this (> 0)",
        ),
        param(
            "floor_fraction",
            "admissible rates: median error floor below floor_fraction x threshold (0 < f <= 1)",
        ),
        param(
            "etas",
            "grid of learning rates eta (eta_g for the gain mechanisms), tuned per mechanism and condition",
        ),
        param(
            "ratios",
            "grid of B's eta_w / eta_g (each in (0, 1): slow synapses), tuned jointly with eta_g",
        ),
        param(
            "seeds",
            "evaluation seeds, besides the unreported tuning seed (>= 1)",
        ),
        param("record_every", "steps between recorded errors (>= 1)"),
    ];

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        let k = Mechanism::Gain.interneurons(self.n);
        Some(MemoryEstimate::dense(self.n, k, 8.0, 1, threads))
    }

    fn check(&self) -> Result<(), ParamError> {
        ensure((2..=8).contains(&self.n), "n", || {
            format!("must be between 2 and 8 (got {})", self.n)
        })?;
        at_least_one(self.contexts, "contexts")?;
        ensure(self.blocks > self.contexts, "blocks", || {
            format!(
                "must exceed contexts ({}) so that some blocks revisit a context (got {})",
                self.contexts, self.blocks
            )
        })?;
        at_least_one(self.batch, "batch")?;
        at_least_one(self.record_every, "record_every")?;
        at_least_one(self.seeds, "seeds")?;
        ensure(
            self.period.is_multiple_of(self.record_every) && self.period / self.record_every >= 4,
            "period",
            || {
                format!(
                    "must be a multiple of record_every ({}) with at least 4 records (got {})",
                    self.record_every, self.period
                )
            },
        )?;
        ensure_positive(self.max_lambda, "max_lambda")?;
        ensure_positive(self.threshold, "threshold")?;
        ensure(
            self.floor_fraction > 0.0 && self.floor_fraction <= 1.0,
            "floor_fraction",
            || format!("must be in (0, 1] (got {})", self.floor_fraction),
        )?;
        ensure_positive_grid(&self.etas, "etas")?;
        ensure_positive_grid(&self.ratios, "ratios")?;
        for (i, &r) in self.ratios.iter().enumerate() {
            ensure(r < 1.0, &format!("ratios[{i}]"), || {
                format!("must be below 1: B's synapses are slower than its gains (got {r})")
            })?;
        }
        Ok(())
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let m = self.measure(ctx)?;
        Ok(self.report(&m))
    }
}

/// One evaluation run: its trace and block statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluated {
    /// The error trace.
    pub trace: Trace,
    /// Per block.
    pub blocks: Vec<BlockStats>,
}

/// Everything measured for one mechanism in one condition.
#[derive(Debug, Clone)]
pub struct Arm {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The condition.
    pub condition: Condition,
    /// Every grid point's score on the tuning seed.
    pub scores: Vec<Score>,
    /// The chosen rates.
    pub chosen: Rates,
    /// Whether the chosen rates were admissible.
    pub admissible: bool,
    /// One run per evaluation seed.
    pub runs: Vec<Evaluated>,
    /// The online-noise floor from the exact optimum, at the chosen rates (first evaluation
    /// seed).
    pub optimum: OptimumFloor,
}

/// The result of one evaluation task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Done {
    /// A run through the schedule.
    Run(Evaluated),
    /// The floor from the optimum.
    Floor(OptimumFloor),
}

/// What `mechanisms` measured: `arms[condition][mechanism]`.
pub struct Measured {
    /// Per condition, per mechanism.
    pub arms: Vec<Vec<Arm>>,
    /// Median over the evaluation seeds (both conditions) of the condition number of A's
    /// `(W^T W)^{o2}`.
    pub frame_condition: f64,
}

impl Mechanisms {
    /// The schedule of every run.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            contexts: self.contexts,
            blocks: self.blocks,
            period: self.period,
            batch: self.batch,
            record_every: self.record_every,
        }
    }

    /// The worlds: `[condition][seed]`, seed 0 the tuning seed.
    fn worlds(&self, ctx: &RunContext) -> Result<Vec<Vec<World>>> {
        use rand::RngExt;
        let mut setup = ctx.setup_rng();
        CONDITIONS
            .iter()
            .map(|&cond| {
                (0..=self.seeds)
                    .map(|s| {
                        let seed: u64 = setup.random();
                        World::draw(self.n, self.contexts, self.max_lambda, cond, seed).map_err(
                            |e| ctx.numerical(format!("contexts of {}, seed {s}", cond.key()), e),
                        )
                    })
                    .collect()
            })
            .collect()
    }

    /// Tunes every mechanism on seed 0, then evaluates the chosen rates on the other seeds.
    fn measure(&self, ctx: &RunContext) -> Result<Measured> {
        let s = self.schedule();
        let worlds = self.worlds(ctx)?;
        // Tuning: one task per (condition, mechanism, grid point).
        let mut jobs = Vec::new();
        for ci in 0..CONDITIONS.len() {
            for (mi, &m) in MECHANISMS.iter().enumerate() {
                for r in grid(m, &self.etas, &self.ratios) {
                    jobs.push((ci, mi, r));
                }
            }
        }
        let scores = ctx.par_tasks(jobs.len(), "tuning", |t, _| {
            let (ci, mi, r) = jobs[t];
            let trace = simulate(MECHANISMS[mi], &worlds[ci][0], r, &s, ctx)?;
            Ok(Score::of(r, &trace, &s, self.threshold))
        })?;
        let mut chosen = vec![
            vec![
                (
                    Rates {
                        eta: 0.0,
                        ratio: 0.0
                    },
                    false,
                    Vec::new()
                );
                4
            ];
            2
        ];
        for ci in 0..CONDITIONS.len() {
            for mi in 0..MECHANISMS.len() {
                let mine: Vec<Score> = jobs
                    .iter()
                    .zip(&scores)
                    .filter(|((c, m, _), _)| *c == ci && *m == mi)
                    .map(|(_, sc)| *sc)
                    .collect();
                let (i, ok) = select(&mine, self.threshold, self.floor_fraction);
                chosen[ci][mi] = (mine[i].rates, ok, mine);
            }
        }
        // Evaluation: one task per (condition, mechanism, seed), then one optimum floor per
        // (condition, mechanism) on the first evaluation seed.
        let per = MECHANISMS.len() * self.seeds;
        let n_runs = CONDITIONS.len() * per;
        let n_tasks = n_runs + CONDITIONS.len() * MECHANISMS.len();
        let done = ctx.par_tasks(n_tasks, "evaluation", |t, _| {
            if t >= n_runs {
                let (ci, mi) = (
                    (t - n_runs) / MECHANISMS.len(),
                    (t - n_runs) % MECHANISMS.len(),
                );
                let rates = chosen[ci][mi].0;
                return optimum_floor(MECHANISMS[mi], &worlds[ci][1], rates, &s, ctx)
                    .map(Done::Floor);
            }
            let (ci, mi, seed) = (t / per, (t % per) / self.seeds, 1 + t % self.seeds);
            let trace = simulate(MECHANISMS[mi], &worlds[ci][seed], chosen[ci][mi].0, &s, ctx)?;
            let blocks = block_stats(&trace, &s, self.threshold);
            Ok(Done::Run(Evaluated { trace, blocks }))
        })?;
        let mut runs = Vec::new();
        let mut floors = Vec::new();
        for d in done {
            match d {
                Done::Run(r) => runs.push(r),
                Done::Floor(f) => floors.push(f),
            }
        }
        let mut runs = runs.into_iter();
        let mut floors = floors.into_iter();
        let arms = CONDITIONS
            .iter()
            .enumerate()
            .map(|(ci, &condition)| {
                MECHANISMS
                    .iter()
                    .enumerate()
                    .map(|(mi, &mechanism)| {
                        let (rates, admissible, scores) = chosen[ci][mi].clone();
                        Arm {
                            mechanism,
                            condition,
                            scores,
                            chosen: rates,
                            admissible,
                            runs: runs.by_ref().take(self.seeds).collect(),
                            optimum: floors.next().unwrap_or(OptimumFloor {
                                exact: f64::NAN,
                                floor: f64::NAN,
                            }),
                        }
                    })
                    .collect()
            })
            .collect();
        let conds = worlds
            .iter()
            .flat_map(|w| w.iter().skip(1))
            .map(|w| {
                w.frame_condition()
                    .map_err(|e| ctx.numerical("condition of (W^T W)^o2", e))
            })
            .collect::<Result<Vec<f64>>>()?;
        Ok(Measured {
            arms,
            frame_condition: super::mechanisms_setup::median(&conds),
        })
    }

    /// Tables, summary, figure and claims.
    fn report(&self, m: &Measured) -> Outputs {
        let mut out = Outputs::default();
        self.report_arms(m, &mut out);
        out.figure(self.figure(m));
        for claim in self.claims(m) {
            out.claim(claim);
        }
        let unadmissible: Vec<String> = m
            .arms
            .iter()
            .flatten()
            .filter(|a| !a.admissible)
            .map(|a| {
                format!(
                    "{} / {}: no rate of the grid kept the median floor below {} x threshold on the tuning seed; the lowest-floor rate was used",
                    a.condition.key(),
                    a.mechanism.key(),
                    self.floor_fraction
                )
            })
            .collect();
        out.warn(unadmissible);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_parameters_are_refused() {
        let ok = Mechanisms::default();
        ok.check().unwrap();
        let bad = [
            ("n", Mechanisms { n: 1, ..ok.clone() }),
            (
                "blocks",
                Mechanisms {
                    blocks: 4,
                    ..ok.clone()
                },
            ),
            (
                "period",
                Mechanisms {
                    period: 1005,
                    ..ok.clone()
                },
            ),
            (
                "period",
                Mechanisms {
                    period: 30,
                    ..ok.clone()
                },
            ),
            (
                "ratios[1]",
                Mechanisms {
                    ratios: vec![0.1, 1.0],
                    ..ok.clone()
                },
            ),
            (
                "floor_fraction",
                Mechanisms {
                    floor_fraction: 0.0,
                    ..ok.clone()
                },
            ),
            (
                "etas",
                Mechanisms {
                    etas: vec![],
                    ..ok.clone()
                },
            ),
            (
                "batch",
                Mechanisms {
                    batch: 0,
                    ..ok.clone()
                },
            ),
            (
                "threshold",
                Mechanisms {
                    threshold: f64::NAN,
                    ..ok.clone()
                },
            ),
        ];
        for (field, e) in bad {
            let err = e.check().unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
    }

    /// A small run: every arm is reported, the tuning table holds every grid point, the exact
    /// optimum whitens exactly, and the theory claim holds.
    #[test]
    fn small_run_reports_every_arm() {
        let e = Mechanisms {
            n: 3,
            contexts: 2,
            blocks: 3,
            period: 200,
            batch: 10,
            etas: vec![0.02, 0.05],
            ratios: vec![0.3],
            seeds: 2,
            ..Mechanisms::default()
        };
        e.check().unwrap();
        let out = e.run(&RunContext::new("t", 5).without_progress()).unwrap();
        for c in CONDITIONS {
            for m in MECHANISMS {
                let v = &out.summary[&format!("{}/{}", c.key(), m.key())];
                assert_eq!(v["plastic"], m.plastic(3).0);
                assert_eq!(v["exact_at_optimum"], true, "{v}");
            }
        }
        let tuning = out.tables.iter().find(|t| t.name == "tuning").unwrap();
        assert_eq!(tuning.rows.len(), 2 * (2 + 2 + 2 + 2));
        assert_eq!(out.claims.len(), 3);
        assert!(out.claims[0].pass, "{:?}", out.claims[0]);
    }
}
