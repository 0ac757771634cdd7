//! `mi_vs_offset` (paper 2, Fig. 5): mutual information of coefficient pairs against their
//! offset `d`, for the raw pairs, the ZCA-whitened pairs and the circuit's responses with
//! `K` interneurons.

use serde::{Deserialize, Serialize};

use super::pairs_2d::check_pairs;
use super::{
    ImageSource, Learning, PairCircuit, PairSignals, RobustSettings, SOLVER_DOC, SolverSettings,
    THETA_MODE_DOC, ThetaMode, pair_sweep,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::output::{Claim, Outputs, Table};
use crate::plot::{Axis, Figure, Legend, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// Parameters of `mi_vs_offset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiVsOffset {
    /// Image (the first of the source is used) and band.
    pub source: ImageSource,
    /// Vertical offsets d.
    pub offsets: Vec<usize>,
    /// Numbers of interneurons K.
    pub ks: Vec<usize>,
    /// Learning schedule.
    pub learning: Learning,
    /// Base of the initial theta (authors: 2.3 in 2D).
    pub theta_init: f64,
    /// What the activation parameters do: `Auto` (default; the least dependent of the
    /// `Learned`, `Initial` and `Grid([1.0, 3.0])` circuits), or one mode (see `ThetaMode`).
    pub theta: ThetaMode,
    /// Response solver.
    pub solver: SolverSettings,
    /// Offsets up to this one count as "short" for the claim.
    pub short_offset: usize,
    /// Learned circuits per (d, K), each from its own random stream (initial weights and pair
    /// order); with more than one, the figure shows their median and range, and the claim
    /// uses the median.
    pub seeds: usize,
}

impl Default for MiVsOffset {
    fn default() -> Self {
        Self {
            source: ImageSource::default(),
            offsets: vec![2, 4, 8, 16, 32],
            ks: vec![2, 3, 4],
            learning: Learning::Robust(RobustSettings::default()),
            theta_init: 2.3,
            theta: ThetaMode::Auto,
            solver: SolverSettings::default(),
            short_offset: 2,
            seeds: 1,
        }
    }
}

impl MiVsOffset {
    /// The circuit settings shared with the other 2D experiment.
    fn circuit_settings(&self) -> PairCircuit<'_> {
        PairCircuit {
            learning: &self.learning,
            theta_init: self.theta_init,
            theta: &self.theta,
            solver: self.solver,
        }
    }
}

impl Experiment for MiVsOffset {
    const KIND: &'static str = "mi_vs_offset";
    const DESCRIPTION: &'static str = "Paper 2, Fig. 5: mutual information against pair offset d for raw, ZCA and circuit responses (K interneurons)";
    const PARAMS: &'static [ParamDoc] = &[
        param("theta", THETA_MODE_DOC),
        param("solver", SOLVER_DOC),
        param(
            "source",
            "images: (images: Some(\"file or folder\"): relative to the experiment file's folder or absolute; or None for a generated dead-leaves image, crop, orientation); the first image is used",
        ),
        param(
            "offsets",
            "vertical offsets d between paired coefficients (1 <= d < crop)",
        ),
        param("ks", "numbers of interneurons K (>= 2)"),
        param(
            "learning",
            "schedule: Robust(...) or Reference(...), as in pairs_2d",
        ),
        param("theta_init", "base of the initial theta, within [1, 2.9]"),
        param(
            "short_offset",
            "offsets up to this one are 'short' in the claim that the circuit beats ZCA there",
        ),
        param(
            "seeds",
            "learned circuits per (d, K), each from its own random stream (1..=20); the figure shows their median and range, the claim the median",
        ),
    ];

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        self.source.files(Some(1))
    }

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        Some(self.source.memory(
            48.0,
            self.offsets.len() * self.ks.len() * self.seeds.max(1),
            threads,
        ))
    }

    fn resolve_paths(&mut self, base: &std::path::Path) -> Result<(), ParamError> {
        self.source.resolve_paths(base)
    }

    fn check(&self) -> Result<(), ParamError> {
        self.source.refuse_signal(
            "mi_vs_offset measures the MI of pairs of band coefficients against their offset d, \
             and the pairs of a signal file have no offset; give `images` (or leave both out for \
             a generated image), or run pairs_2d on the pairs",
        )?;
        if !(1..=MAX_SEEDS).contains(&self.seeds) {
            return Err(ParamError::new(
                "seeds",
                format!("must be in 1..={MAX_SEEDS}, got {}", self.seeds),
            ));
        }
        check_pairs(
            &self.source,
            &self.offsets,
            &self.ks,
            &self.circuit_settings(),
        )?;
        // Last: reading the image is the only check that costs anything (the first is used).
        self.source.check_files(Some(1))
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let (name, signals, _, runs) = pair_sweep(
            &self.source,
            &self.offsets,
            &self.ks,
            self.seeds,
            &self.circuit_settings(),
            ctx,
        )?;
        let mut out = Outputs::default();
        out.warn(self.circuit_settings().setting_warnings("learning"));
        for r in &runs {
            out.warn(r.warnings.iter().cloned());
        }
        let mut chosen = serde_json::Map::new();
        for (o, &d) in self.offsets.iter().enumerate() {
            for (ki, &k) in self.ks.iter().enumerate() {
                // The first seed's mode (the others are in the table).
                let r = &runs[o * self.ks.len() + ki];
                chosen.insert(format!("d={d},K={k}"), r.mode.ron().into());
            }
        }
        out.summarize("theta_mode", chosen);
        let cells = self.cells(&runs);
        self.report(&mut out, &name, &signals, &cells);
        out.figure(self.figure(&name, &signals, &cells));
        self.claim(&mut out, &signals, &cells);
        Ok(out)
    }
}

/// Most seeds per (d, K) (each is a full learning run).
const MAX_SEEDS: usize = 20;

/// The circuit MI of one (d, K) over its seeds, every 10th pair and all pairs.
struct Cell {
    every10: Vec<f64>,
    all: Vec<f64>,
}

impl Cell {
    /// Median over seeds (mean of the middle two for an even count).
    fn median(v: &[f64]) -> f64 {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let m = s.len() / 2;
        if s.len() % 2 == 1 {
            s[m]
        } else {
            0.5 * (s[m - 1] + s[m])
        }
    }

    fn range(v: &[f64]) -> (f64, f64) {
        v.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            })
    }
}

impl MiVsOffset {
    /// The runs (seed-major, see `learn_pair_groups`) gathered per (offset, K), offset-major.
    fn cells(&self, runs: &[super::PairRun]) -> Vec<Cell> {
        let per_seed = self.offsets.len() * self.ks.len();
        (0..per_seed)
            .map(|c| {
                let seeds = (0..self.seeds).map(|s| &runs[s * per_seed + c]);
                Cell {
                    every10: seeds.clone().map(|r| r.mi_every10).collect(),
                    all: seeds.map(|r| r.mi_all).collect(),
                }
            })
            .collect()
    }

    /// Table (one row per signal and seed) and summary (medians; with several seeds also
    /// every seed's value).
    fn report(&self, out: &mut Outputs, name: &str, signals: &[PairSignals], cells: &[Cell]) {
        let mut table = Table::new(
            "mi_vs_offset",
            &["offset", "signal", "seed", "mi_every_10th", "mi_all_pairs"],
        );
        let mut summary = serde_json::Map::new();
        for (o, &d) in self.offsets.iter().enumerate() {
            let s = &signals[o];
            let mut entry = serde_json::Map::new();
            for (label, (e10, all)) in [("raw", s.mi_raw), ("zca", s.mi_zca)] {
                table.push(vec![
                    d.into(),
                    label.into(),
                    "".into(),
                    e10.into(),
                    all.into(),
                ]);
                entry.insert(
                    label.into(),
                    serde_json::json!({"every_10th": e10, "all": all}),
                );
            }
            for (ki, &k) in self.ks.iter().enumerate() {
                let cell = &cells[o * self.ks.len() + ki];
                let label = format!("circuit_k{k}");
                for (seed, (e10, all)) in cell.every10.iter().zip(&cell.all).enumerate() {
                    table.push(vec![
                        d.into(),
                        label.clone().into(),
                        seed.into(),
                        (*e10).into(),
                        (*all).into(),
                    ]);
                }
                let mut v = serde_json::json!({
                    "every_10th": Cell::median(&cell.every10),
                    "all": Cell::median(&cell.all),
                });
                if self.seeds > 1 {
                    v["every_10th_seeds"] = cell.every10.clone().into();
                    v["all_seeds"] = cell.all.clone().into();
                }
                entry.insert(label, v);
            }
            summary.insert(format!("d={d}"), serde_json::Value::Object(entry));
        }
        out.summarize("mutual_information", summary);
        out.summarize("image", name.to_owned());
        out.summarize("learning", self.learning.label());
        if self.seeds > 1 {
            out.summarize("seeds", self.seeds);
        }
        out.table(table);
    }

    /// MI against d on log axes: raw and ZCA dashed, each K's median over seeds with markers
    /// and (with several seeds) its range as bars.
    fn figure(&self, name: &str, signals: &[PairSignals], cells: &[Cell]) -> Figure {
        let x = |o: usize| self.offsets[o] as f64;
        let raw = (0..signals.len()).map(|o| (x(o), signals[o].mi_raw.0));
        let zca = (0..signals.len()).map(|o| (x(o), signals[o].mi_zca.0));
        let spread = if self.seeds > 1 {
            format!(", median and range of {} seeds", self.seeds)
        } else {
            String::new()
        };
        let mut p = Panel::new(
            format!("{name}, every 10th pair{spread}"),
            Axis::log("offset d (pixels)"),
            Axis::log("mutual information (nats)"),
        )
        .with(
            Series::line("raw", raw.collect())
                .styled(Style::Dashed)
                .colored(0),
        )
        .with(
            Series::line("ZCA", zca.collect())
                .styled(Style::Dashed)
                .colored(1),
        );
        for (ki, &k) in self.ks.iter().enumerate() {
            let cell = |o: usize| &cells[o * self.ks.len() + ki];
            let median = (0..signals.len()).map(|o| (x(o), Cell::median(&cell(o).every10)));
            p = p.with(
                Series::line(format!("circuit, K = {k}"), median.collect())
                    .styled(Style::LineMarkers)
                    .colored(2 + ki),
            );
            if self.seeds > 1 {
                let bars: Vec<(f64, f64, f64)> = (0..signals.len())
                    .map(|o| {
                        let (lo, hi) = Cell::range(&cell(o).every10);
                        (x(o), lo, hi)
                    })
                    .collect();
                p = p.with(Series::ranges("", &bars).unlabelled().colored(2 + ki));
            }
        }
        // A circuit above ZCA is worth a word: say where, and whether every seed agrees.
        for (ki, &k) in self.ks.iter().enumerate() {
            let above: Vec<String> = (0..signals.len())
                .filter(|&o| {
                    let cell = &cells[o * self.ks.len() + ki];
                    Cell::median(&cell.every10) > signals[o].mi_zca.0
                })
                .map(|o| {
                    let cell = &cells[o * self.ks.len() + ki];
                    let all = cell.every10.iter().all(|&v| v > signals[o].mi_zca.0);
                    let seeds = match (self.seeds > 1, all) {
                        (false, _) => "",
                        (true, true) => " (all seeds)",
                        (true, false) => " (median)",
                    };
                    format!("d = {}{seeds}", self.offsets[o])
                })
                .collect();
            if !above.is_empty() {
                p = p.note(format!("K = {k} > ZCA: {}", above.join(", ")));
            }
        }
        Figure::single(
            "mi_vs_offset",
            "Mutual information of coefficient pairs against offset",
            p.legend_at(Legend::LowerLeft),
        )
        .with_panel_size(760, 480)
    }

    /// At short offsets, every circuit with K >= 3 is far below ZCA (median over seeds).
    fn claim(&self, out: &mut Outputs, signals: &[PairSignals], cells: &[Cell]) {
        let mut ok = true;
        let mut measured = Vec::new();
        for (o, &d) in self
            .offsets
            .iter()
            .enumerate()
            .filter(|(_, d)| **d <= self.short_offset)
        {
            for (ki, &k) in self.ks.iter().enumerate().filter(|(_, k)| **k >= 3) {
                let cell = &cells[o * self.ks.len() + ki];
                let c = Cell::median(&cell.every10);
                ok &= c < signals[o].mi_zca.0 / 4.0;
                let range = if self.seeds > 1 {
                    let (lo, hi) = Cell::range(&cell.every10);
                    format!(" (seeds {lo:.4}-{hi:.4})")
                } else {
                    String::new()
                };
                measured.push(format!(
                    "d = {d}, K = {k}: {c:.4}{range} vs ZCA {:.4}",
                    signals[o].mi_zca.0
                ));
            }
        }
        if measured.is_empty() {
            return;
        }
        let median = if self.seeds > 1 {
            format!(", median of {} seeds", self.seeds)
        } else {
            String::new()
        };
        out.claim(Claim {
            id: "p2.mi_vs_offset.short_offsets".into(),
            paper: 2,
            statement: format!(
                "At short offsets (d <= {}) circuits with K >= 3 interneurons cut MI far below ZCA",
                self.short_offset
            ),
            expected: format!("circuit MI < ZCA MI / 4 (every 10th pair{median})"),
            measured: measured.join("; "),
            pass: ok,
            figure: Some("mi_vs_offset".into()),
            informative: false,
        });
    }
}
