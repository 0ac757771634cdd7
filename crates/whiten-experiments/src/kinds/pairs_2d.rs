//! `pairs_2d` (paper 2, Fig. 4): pairs of band coefficients at vertical offset `d` are
//! statistically dependent; ZCA whitening removes their correlation, the circuit with `K`
//! interneurons (learning `W`, `g`, `theta`) also reduces the remaining dependence. Density
//! contours of the raw, ZCA-whitened and circuit responses, with the mutual information in each
//! panel and the interneuron directions drawn.

use serde::{Deserialize, Serialize};

use super::common::ensure;
use super::paper2::{
    ImageSource, Learning, PairCircuit, RobustSettings, SOLVER_DOC, SolverSettings, THETA_MODE_DOC,
    ThetaMode, check_offset, check_pair_k, density_panel, pair_sweep,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::output::{Claim, Outputs, Table};
use crate::plot::Figure;
use crate::resources::MemoryEstimate;

/// Parameters of `pairs_2d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pairs2d {
    /// Image (the first of the source is used) and band.
    pub source: ImageSource,
    /// Vertical offsets d between the two coefficients.
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
}

impl Default for Pairs2d {
    fn default() -> Self {
        Self {
            source: ImageSource::default(),
            offsets: vec![2, 8, 32],
            ks: vec![2, 3, 4],
            learning: Learning::Robust(RobustSettings::default()),
            theta_init: 2.3,
            theta: ThetaMode::Auto,
            solver: SolverSettings::default(),
        }
    }
}

/// Checks shared with `mi_vs_offset` (not the image files: each caller reads those it uses).
pub(crate) fn check_pairs(
    source: &ImageSource,
    offsets: &[usize],
    ks: &[usize],
    settings: &PairCircuit<'_>,
) -> Result<(), ParamError> {
    source.check()?;
    settings.check("theta_init")?;
    ensure(!offsets.is_empty(), "offsets", || {
        "must not be empty".into()
    })?;
    for (i, &d) in offsets.iter().enumerate() {
        check_offset(d, source.crop, &format!("offsets[{i}]"))?;
    }
    ensure(!ks.is_empty(), "ks", || "must not be empty".into())?;
    for (i, &k) in ks.iter().enumerate() {
        check_pair_k(k, &format!("ks[{i}]"))?;
    }
    Ok(())
}

impl Pairs2d {
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

impl Experiment for Pairs2d {
    const KIND: &'static str = "pairs_2d";
    const DESCRIPTION: &'static str = "Paper 2, Fig. 4: density contours of raw, ZCA and circuit responses to coefficient pairs, with mutual information";
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
            "schedule: Robust(batch, eta_g, eta_theta, eta_w, tolerance, max_iterations) or Reference(eta_g, eta_theta, eta_w, iterations, batch)",
        ),
        param(
            "theta_init",
            "base of the initial theta (theta_0 = theta_init + 0.1 U), within [1, 2.9]",
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
        let (name, signals, combos, runs) = pair_sweep(
            &self.source,
            &self.offsets,
            &self.ks,
            &self.circuit_settings(),
            ctx,
        )?;

        let mut out = Outputs::default();
        out.warn(self.circuit_settings().setting_warnings("learning"));
        let mut table = Table::new(
            "mutual_information",
            &[
                "offset",
                "signal",
                "mi_every_10th",
                "mi_all_pairs",
                "iterations",
                "converged",
            ],
        );
        let mut mi = serde_json::Map::new();
        let mut panels = Vec::new();
        for (o, &d) in self.offsets.iter().enumerate() {
            let s = &signals[o];
            table.push(vec![
                d.into(),
                "raw".into(),
                s.mi_raw.0.into(),
                s.mi_raw.1.into(),
                0usize.into(),
                "".into(),
            ]);
            table.push(vec![
                d.into(),
                "zca".into(),
                s.mi_zca.0.into(),
                s.mi_zca.1.into(),
                0usize.into(),
                "".into(),
            ]);
            let mut entry = serde_json::Map::new();
            entry.insert(
                "raw".into(),
                serde_json::json!({"every_10th": s.mi_raw.0, "all": s.mi_raw.1}),
            );
            entry.insert(
                "zca".into(),
                serde_json::json!({"every_10th": s.mi_zca.0, "all": s.mi_zca.1}),
            );
            panels.push(density_panel(
                format!("raw pairs, d = {d}"),
                &s.raw,
                &[],
                format!("MI = {:.4} nats", s.mi_raw.0),
            ));
            panels.push(density_panel(
                format!("ZCA, d = {d}"),
                &s.zca,
                &[],
                format!("MI = {:.4} nats", s.mi_zca.0),
            ));
            for (&(oo, k), r) in combos.iter().zip(&runs) {
                if oo != o {
                    continue;
                }
                table.push(vec![
                    d.into(),
                    format!("circuit K={k}").into(),
                    r.mi_every10.into(),
                    r.mi_all.into(),
                    r.iterations.into(),
                    (if r.converged { "yes" } else { "no" }).into(),
                ]);
                entry.insert(
                    format!("circuit_k{k}"),
                    serde_json::json!({"every_10th": r.mi_every10, "all": r.mi_all, "g": r.circuit.g(), "theta": r.circuit.theta(), "mode": r.mode.ron(), "candidates": r.candidates}),
                );
                out.warn(r.warnings.iter().cloned());
                super::paper2::save_circuit(&mut out, &format!("d{d}_k{k}"), &r.circuit);
                let dirs = r.directions();
                panels.push(density_panel(
                    format!("circuit, K = {k}, d = {d}"),
                    &r.responses,
                    &dirs,
                    format!("MI = {:.4} nats", r.mi_every10),
                ));
            }
            mi.insert(format!("d={d}"), serde_json::Value::Object(entry));
        }
        out.summarize("mutual_information", mi);
        out.summarize("image", name.clone());
        out.summarize("learning", self.learning.label());
        out.table(table);
        out.figure(
            Figure::grid(
                "pairs_2d",
                format!("Coefficient pairs of {name}: raw, ZCA-whitened and circuit responses (MI on every 10th pair)"),
                panels,
                2 + self.ks.len(),
            )
            .with_panel_size(380, 380),
        );

        let (dmin, kref) = (
            self.offsets.iter().copied().min().unwrap_or(2),
            if self.ks.contains(&3) { 3 } else { self.ks[0] },
        );
        let o = self.offsets.iter().position(|&d| d == dmin).unwrap_or(0);
        if let Some(r) = combos
            .iter()
            .zip(&runs)
            .find(|((oo, k), _)| *oo == o && *k == kref)
            .map(|(_, r)| r)
        {
            let zca = signals[o].mi_zca.0;
            out.claim(Claim {
                id: "p2.pairs_2d.mi_below_zca".into(),
                paper: 2,
                statement: format!("{}The circuit reduces dependencies far below whitening (d = {dmin}, K = {kref}, every 10th pair)", self.learning.claim_prefix()),
                expected: "circuit MI < ZCA MI / 4".into(),
                measured: format!("circuit {:.4}, ZCA {:.4}, raw {:.4} nats", r.mi_every10, zca, signals[o].mi_raw.0),
                pass: r.mi_every10 < zca / 4.0,
                figure: Some("pairs_2d".into()),
                informative: self.learning.is_authors(),
            });
        }
        Ok(out)
    }
}
