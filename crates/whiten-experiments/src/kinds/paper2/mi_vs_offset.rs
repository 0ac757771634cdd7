//! `mi_vs_offset` (paper 2, Fig. 5): mutual information of coefficient pairs against their
//! offset `d`, for the raw pairs, the ZCA-whitened pairs and the circuit's responses with
//! `K` interneurons.

use serde::{Deserialize, Serialize};

use super::pairs_2d::check_pairs;
use super::{
    ImageSource, Learning, PairCircuit, RobustSettings, SOLVER_DOC, SolverSettings, THETA_MODE_DOC,
    ThetaMode, pair_sweep,
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
    ];

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        self.source.files(Some(1))
    }

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        Some(
            self.source
                .memory(48.0, self.offsets.len() * self.ks.len(), threads),
        )
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
            &self.circuit_settings(),
            ctx,
        )?;
        let mut out = Outputs::default();
        out.warn(self.circuit_settings().setting_warnings("learning"));
        let mut chosen = serde_json::Map::new();
        for r in &runs {
            out.warn(r.warnings.iter().cloned());
        }
        for (o, &d) in self.offsets.iter().enumerate() {
            for (ki, &k) in self.ks.iter().enumerate() {
                let r = &runs[o * self.ks.len() + ki];
                chosen.insert(format!("d={d},K={k}"), r.mode.ron().into());
            }
        }
        out.summarize("theta_mode", chosen);
        let runs: Vec<(f64, f64)> = runs.iter().map(|r| (r.mi_every10, r.mi_all)).collect();

        let mut table = Table::new(
            "mi_vs_offset",
            &["offset", "signal", "mi_every_10th", "mi_all_pairs"],
        );
        let mut summary = serde_json::Map::new();
        let mut curves: Vec<(String, Vec<(f64, f64)>)> =
            vec![("raw".into(), Vec::new()), ("ZCA".into(), Vec::new())];
        curves.extend(
            self.ks
                .iter()
                .map(|k| (format!("circuit, K = {k}"), Vec::new())),
        );
        for (o, &d) in self.offsets.iter().enumerate() {
            let s = &signals[o];
            let mut row = vec![("raw".to_string(), s.mi_raw), ("zca".to_string(), s.mi_zca)];
            for (ki, &k) in self.ks.iter().enumerate() {
                row.push((format!("circuit_k{k}"), runs[o * self.ks.len() + ki]));
            }
            let mut entry = serde_json::Map::new();
            for (ci, (label, (e10, all))) in row.iter().enumerate() {
                table.push(vec![
                    d.into(),
                    label.clone().into(),
                    (*e10).into(),
                    (*all).into(),
                ]);
                entry.insert(
                    label.clone(),
                    serde_json::json!({"every_10th": e10, "all": all}),
                );
                curves[ci].1.push((d as f64, *e10));
            }
            summary.insert(format!("d={d}"), serde_json::Value::Object(entry));
        }
        out.summarize("mutual_information", summary);
        out.summarize("image", name.clone());
        out.summarize("learning", self.learning.label());
        out.table(table);
        let mut p = Panel::new(
            format!("{name}, every 10th pair"),
            Axis::log("offset d (pixels)"),
            Axis::log("mutual information (nats)"),
        );
        for (ci, (label, pts)) in curves.into_iter().enumerate() {
            let style = if ci < 2 {
                Style::Dashed
            } else {
                Style::LineMarkers
            };
            p = p.with(Series::line(label, pts).styled(style).colored(ci));
        }
        out.figure(Figure::single(
            "mi_vs_offset",
            "Mutual information of coefficient pairs against offset",
            p.legend_at(Legend::LowerLeft),
        ));

        // Claim: at short offsets, every circuit with K >= 3 is far below ZCA.
        let mut ok = true;
        let mut measured = Vec::new();
        for (o, &d) in self
            .offsets
            .iter()
            .enumerate()
            .filter(|(_, d)| **d <= self.short_offset)
        {
            for (ki, &k) in self.ks.iter().enumerate().filter(|(_, k)| **k >= 3) {
                let c = runs[o * self.ks.len() + ki].0;
                ok &= c < signals[o].mi_zca.0 / 4.0;
                measured.push(format!(
                    "d = {d}, K = {k}: {c:.4} vs ZCA {:.4}",
                    signals[o].mi_zca.0
                ));
            }
        }
        if !measured.is_empty() {
            out.claim(Claim {
                id: "p2.mi_vs_offset.short_offsets".into(),
                paper: 2,
                statement: format!("At short offsets (d <= {}) circuits with K >= 3 interneurons cut MI far below ZCA", self.short_offset),
                expected: "circuit MI < ZCA MI / 4 (every 10th pair)".into(),
                measured: measured.join("; "),
                pass: ok,
                figure: Some("mi_vs_offset".into()),
                informative: false,
            });
        }
        Ok(out)
    }
}
