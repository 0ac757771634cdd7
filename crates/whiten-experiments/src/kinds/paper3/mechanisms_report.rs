//! The report of `mechanisms` (see [`super::mechanisms`]): statistics pooled over seeds, the
//! table, the summary and the figure.

use super::mechanisms::{Arm, Evaluated, Measured, Mechanisms};
use super::mechanisms_setup::{
    BlockStats, CONDITIONS, Condition, Mechanism, Schedule, median, times,
};
use crate::kinds::common::bounded;
use crate::output::{Cell, Claim, Outputs, Table, json_float};
use crate::plot::{Axis, Figure, GREY, Legend, Panel, Series, Style};

/// File stem of the figure.
pub const FIGURE: &str = "mechanisms";

/// The reported statistics of one arm, pooled over seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArmStats {
    /// Median re-whitening time over the first-visit blocks of all seeds (`inf`: mostly never).
    pub first: f64,
    /// Median over the revisit blocks of all seeds.
    pub revisit: f64,
    /// Lowest and highest per-seed median over revisits.
    pub revisit_range: (f64, f64),
    /// Median error floor over all blocks and seeds.
    pub floor: f64,
    /// Blocks (over all seeds) never re-whitened.
    pub never: usize,
}

/// The blocks of `run` that are (`first`) or are not first visits.
fn visits(run: &Evaluated, s: &Schedule, first: bool) -> Vec<BlockStats> {
    run.blocks
        .iter()
        .enumerate()
        .filter(|(b, _)| s.first_visit(*b) == first)
        .map(|(_, st)| *st)
        .collect()
}

impl ArmStats {
    /// Pools the runs of `arm`.
    pub fn of(arm: &Arm, s: &Schedule) -> Self {
        let pooled = |first: bool| -> Vec<f64> {
            arm.runs
                .iter()
                .flat_map(|r| times(&visits(r, s, first)))
                .collect()
        };
        let per_seed: Vec<f64> = arm
            .runs
            .iter()
            .map(|r| median(&times(&visits(r, s, false))))
            .collect();
        let floors: Vec<f64> = arm
            .runs
            .iter()
            .flat_map(|r| r.blocks.iter().map(|b| b.floor))
            .collect();
        Self {
            first: median(&pooled(true)),
            revisit: median(&pooled(false)),
            revisit_range: (
                per_seed.iter().copied().fold(f64::INFINITY, f64::min),
                per_seed.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            floor: median(&floors),
            never: arm
                .runs
                .iter()
                .flat_map(|r| &r.blocks)
                .filter(|b| b.rewhiten.is_none())
                .count(),
        }
    }
}

impl Mechanisms {
    /// The main table and the summary, one row / key per condition and mechanism.
    pub(super) fn report_arms(&self, m: &Measured, out: &mut Outputs) {
        let mut table = Table::new(
            "mechanisms",
            &[
                "condition",
                "mechanism",
                "plastic_parameters",
                "fast_parameters",
                "eta",
                "eta_w",
                "admissible",
                "median_steps_first_visit",
                "median_steps_revisit",
                "min_seed_median_revisit",
                "max_seed_median_revisit",
                "median_floor",
                "floor_at_optimum",
                "blocks_never_rewhitened",
                "blocks",
            ],
        );
        let s = self.schedule();
        for arm in m.arms.iter().flatten() {
            let st = ArmStats::of(arm, &s);
            let (p, f) = arm.mechanism.plastic(self.n);
            table.push(vec![
                arm.condition.key().into(),
                arm.mechanism.key().into(),
                p.into(),
                f.into(),
                arm.chosen.eta.into(),
                arm.chosen.eta_w().into(),
                Cell::from(arm.admissible.to_string()),
                st.first.into(),
                st.revisit.into(),
                st.revisit_range.0.into(),
                st.revisit_range.1.into(),
                st.floor.into(),
                arm.optimum.floor.into(),
                st.never.into(),
                (self.blocks * self.seeds).into(),
            ]);
            out.summarize(
                format!("{}/{}", arm.condition.key(), arm.mechanism.key()),
                serde_json::json!({
                    "plastic": p,
                    "fast": f,
                    "eta": json_float(arm.chosen.eta),
                    "eta_w": json_float(arm.chosen.eta_w()),
                    "admissible": arm.admissible,
                    "steps_first_visit": json_float(st.first),
                    "steps_revisit": json_float(st.revisit),
                    "steps_revisit_seed_range": [json_float(st.revisit_range.0), json_float(st.revisit_range.1)],
                    "floor": json_float(st.floor),
                    "floor_at_optimum": json_float(arm.optimum.floor),
                    // Rounding-level (about 1e-12 or less): its digits depend on the CPU's
                    // kernels, so the snapshot keeps only whether it is.
                    "exact_at_optimum": arm.optimum.exact < 1e-9,
                    "never_rewhitened": st.never,
                }),
            );
        }
        out.summarize("blocks_per_seed", self.blocks);
        out.summarize("seeds", self.seeds);
        out.table(table);
        out.table(self.tuning_table(m));
    }

    /// Every grid point's score on the tuning seed.
    fn tuning_table(&self, m: &Measured) -> Table {
        let mut t = Table::new(
            "tuning",
            &[
                "condition",
                "mechanism",
                "eta",
                "eta_w",
                "median_steps",
                "median_floor",
                "diverged",
                "admissible",
                "chosen",
            ],
        );
        for arm in m.arms.iter().flatten() {
            for sc in &arm.scores {
                t.push(vec![
                    arm.condition.key().into(),
                    arm.mechanism.key().into(),
                    sc.rates.eta.into(),
                    sc.rates.eta_w().into(),
                    sc.median_time.into(),
                    sc.median_floor.into(),
                    Cell::from(sc.diverged.to_string()),
                    Cell::from(
                        sc.admissible(self.threshold, self.floor_fraction)
                            .to_string(),
                    ),
                    Cell::from((sc.rates == arm.chosen).to_string()),
                ]);
            }
        }
        t
    }

    /// Per condition: the median error over seeds against steps, and the median re-whitening
    /// time per block.
    pub(super) fn figure(&self, m: &Measured) -> Figure {
        let mut panels = Vec::new();
        for (ci, arms) in m.arms.iter().enumerate() {
            panels.push(self.error_panel(CONDITIONS[ci], arms));
            panels.push(self.block_panel(CONDITIONS[ci], arms));
        }
        Figure::grid(
            FIGURE,
            format!(
                "Four interneuron mechanisms on the same switches (n = {}, {} contexts, {} steps per block, batch {}, {} seeds)",
                self.n, self.contexts, self.period, self.batch, self.seeds
            ),
            panels,
            1,
        )
        .with_panel_size(1150, 340)
    }

    /// The median (over seeds) error against steps, log y, with the threshold and switches.
    fn error_panel(&self, cond: Condition, arms: &[Arm]) -> Panel {
        let s = self.schedule();
        let total = (self.blocks * self.period) as f64;
        let (mut lo, mut hi) = (f64::INFINITY, self.threshold);
        let mut p = Panel::new(
            format!("error, {}", cond.label()),
            Axis::linear("online steps (switch every period)").with_range(0.0, total),
            Axis::log("median ||C_yy - I||_op over seeds"),
        );
        for (mi, arm) in arms.iter().enumerate() {
            let len = arm.runs.first().map_or(0, |r| r.trace.errors.len());
            let pts: Vec<(f64, f64)> = (0..len)
                .map(|i| {
                    let v: Vec<f64> = arm.runs.iter().map(|r| r.trace.errors[i]).collect();
                    ((i * s.record_every) as f64, median(&v))
                })
                .map(|(x, y)| (x, if y.is_finite() { y } else { f64::NAN }))
                .collect();
            for &(_, y) in &pts {
                if y.is_finite() && y > 0.0 {
                    lo = lo.min(y);
                    hi = hi.max(y);
                }
            }
            p = p.with(Series::line(arm.mechanism.label(), pts).colored(mi));
        }
        let (lo, hi) = if lo.is_finite() {
            (lo / 1.3, hi * 1.3)
        } else {
            (1e-2, 10.0)
        };
        let mut verticals = Vec::new();
        for b in 1..self.blocks {
            let x = (b * self.period) as f64;
            verticals.extend([(x, lo), (x, hi), (f64::NAN, f64::NAN)]);
        }
        p.y = p.y.with_range(lo, hi);
        p.with(
            Series::line("switch", verticals)
                .styled(Style::Dashed)
                .colored(GREY),
        )
        .with(Series::threshold(self.threshold, 0.0, total))
        .legend_at(Legend::UpperRight)
    }

    /// The median (over seeds) steps to re-whiten in each block; blocks where most seeds
    /// never re-whiten are left out (gaps).
    fn block_panel(&self, cond: Condition, arms: &[Arm]) -> Panel {
        let mut p = Panel::new(
            format!("re-whitening time per block, {}", cond.label()),
            Axis::linear("block (first visits left of the dashed line)")
                .with_range(0.5, self.blocks as f64 + 0.5),
            Axis::log("median steps to error < threshold")
                .with_range(self.record_every as f64 / 4.0, self.period as f64 * 1.5),
        );
        for (mi, arm) in arms.iter().enumerate() {
            let pts = (0..self.blocks)
                .map(|b| {
                    let v: Vec<f64> = arm
                        .runs
                        .iter()
                        .map(|r| {
                            r.blocks[b]
                                .rewhiten
                                .map_or(f64::INFINITY, |t| t.max(self.record_every / 2) as f64)
                        })
                        .collect();
                    let med = median(&v);
                    ((b + 1) as f64, if med.is_finite() { med } else { f64::NAN })
                })
                .collect();
            p = p.with(
                Series::line(arm.mechanism.label(), pts)
                    .styled(Style::LineMarkers)
                    .colored(mi),
            );
        }
        let x = self.contexts as f64 + 0.5;
        p.with(
            Series::line(
                "first visits | revisits",
                vec![
                    (x, self.record_every as f64 / 4.0),
                    (x, self.period as f64 * 1.5),
                ],
            )
            .styled(Style::Dashed)
            .colored(GREY),
        )
        .note("gap: most seeds never below the threshold in that block (gains on the fixed frame: mostly never)")
        .note("0 steps (already below at the switch) drawn at record_every / 2")
        .legend_at(Legend::UpperRight)
    }
}

impl Mechanisms {
    /// B gains more from revisits with a shared basis than without (its slow synapses keep
    /// what the contexts share), with `n` fast gains.
    fn revisit_claim(&self, bs: &ArmStats, bt: &ArmStats) -> Claim {
        let (us, ut) = (bs.first / bs.revisit, bt.first / bt.revisit);
        Claim {
            id: "p3.mechanisms.shared_basis_revisits".into(),
            paper: 3,
            statement: format!(
                "B's slow synapses keep what the contexts share: with a shared basis its n = {} fast gains re-whiten revisited contexts much faster than first visits, more so than with independent bases",
                self.n
            ),
            expected: format!(
                "speed-up of revisits over first visits (ratio of the median steps to re-whiten, pooled over seeds) larger with the shared basis than with independent ones; shared floor below the threshold {}",
                self.threshold
            ),
            measured: format!(
                "shared: first visits {}, revisits {} (per-seed medians {}..{}), speed-up {us:.2}, floor {:.3}, {} of {} blocks never re-whitened; independent: {} -> {}, speed-up {ut:.2}",
                steps(bs.first),
                steps(bs.revisit),
                steps(bs.revisit_range.0),
                steps(bs.revisit_range.1),
                bs.floor,
                bs.never,
                self.blocks * self.seeds,
                steps(bt.first),
                steps(bt.revisit),
            ),
            pass: us > ut && bs.floor < self.threshold,
            figure: Some(FIGURE.into()),
            informative: false,
        }
    }
}

/// Formats a step count (`inf`: never).
fn steps(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.0}")
    } else {
        "never".into()
    }
}

impl Mechanisms {
    /// The arm of `mechanism` in condition `ci`.
    fn arm(m: &Measured, ci: usize, mechanism: Mechanism) -> Option<&Arm> {
        m.arms.get(ci)?.iter().find(|a| a.mechanism == mechanism)
    }

    /// The claims (paper 3): what theory guarantees, and what these runs show.
    pub(super) fn claims(&self, m: &Measured) -> Vec<Claim> {
        let s = self.schedule();
        let stats =
            |ci: usize, mech: Mechanism| Self::arm(m, ci, mech).map(|a| (a, ArmStats::of(a, &s)));
        let mut out = Vec::new();
        if let (Some((ga, gs)), Some((gb, gt))) =
            (stats(0, Mechanism::Gain), stats(1, Mechanism::Gain))
        {
            let exact = ga.optimum.exact.max(gb.optimum.exact);
            let exact_text = bounded(exact, 1e-9);
            out.push(Claim {
                id: "p3.mechanisms.complete_frame".into(),
                paper: 3,
                statement: format!(
                    "Gains on a complete frame (K = n(n+1)/2 = {} random unit columns) can whiten every context; what they reach online is limited by noise and learning speed, not by the frame",
                    Mechanism::Gain.interneurons(self.n)
                ),
                expected: "the closed-form gains g_opt give ||C_yy - I||_op < 1e-8 on every context of both conditions (theory: {w_i w_i^T} spans Sym(n))".into(),
                measured: format!(
                    "largest ||C_yy - I||_op at g_opt {exact_text}; cond((W^T W)^o2) = {:.0} (median over seeds: slow gain modes); online from g_opt at the chosen eta_g the floor is {:.3} (shared) / {:.3} (independent), while the adapting runs' floor is {:.3} / {:.3} and {} / {} of {} blocks never re-whiten",
                    m.frame_condition,
                    ga.optimum.floor,
                    gb.optimum.floor,
                    gs.floor,
                    gt.floor,
                    gs.never,
                    gt.never,
                    self.blocks * self.seeds
                ),
                pass: exact < 1e-8,
                figure: Some(FIGURE.into()),
                informative: false,
            });
        }
        if let (Some((_, bs)), Some((_, bt)), Some((_, is)), Some((_, it))) = (
            stats(0, Mechanism::GainSynapse),
            stats(1, Mechanism::GainSynapse),
            stats(0, Mechanism::Interneuron),
            stats(1, Mechanism::Interneuron),
        ) {
            out.push(self.revisit_claim(&bs, &bt));
            let ratio = |b: &ArmStats, i: &ArmStats| b.revisit / i.revisit;
            let (rs, rt) = (ratio(&bs, &is), ratio(&bt, &it));
            out.push(Claim {
                id: "p3.mechanisms.shared_basis_advantage".into(),
                paper: 3,
                statement: "A shared basis helps fast gains + slow synapses (B) against interneuron synapses: relative to them, B re-whitens revisits faster with a shared basis than with independent ones".into(),
                expected: "ratio of the median steps to re-whiten a revisit (pooled over seeds), B / interneurons: shared < independent".into(),
                measured: format!(
                    "B / interneurons {rs:.2} (shared: B {}, per-seed medians {}..{}; interneurons {}, {}..{}) and {rt:.2} (independent: B {}, {}..{}; interneurons {}, {}..{})",
                    steps(bs.revisit),
                    steps(bs.revisit_range.0),
                    steps(bs.revisit_range.1),
                    steps(is.revisit),
                    steps(is.revisit_range.0),
                    steps(is.revisit_range.1),
                    steps(bt.revisit),
                    steps(bt.revisit_range.0),
                    steps(bt.revisit_range.1),
                    steps(it.revisit),
                    steps(it.revisit_range.0),
                    steps(it.revisit_range.1),
                ),
                pass: rs < rt,
                figure: Some(FIGURE.into()),
                informative: false,
            });
        }
        out
    }
}
