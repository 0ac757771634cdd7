//! `pairs_2d` (paper 2, Fig. 4): pairs of band coefficients at vertical offset `d` are
//! statistically dependent; ZCA whitening removes their correlation, the circuit with `K`
//! interneurons (learning `W`, `g`, `theta`) also reduces the remaining dependence. Density
//! contours of the raw, ZCA-whitened and circuit responses, with the mutual information in each
//! panel and the interneuron directions drawn.
//!
//! Instead of an image, `source: (signal: "pairs.npy")` takes a user's pairs, an N x 2 `.npy`
//! array with one pair per row: its rows are the pairs (each column centred and scaled to unit
//! variance), so there are no offsets: `offsets` must be left out, and the results are
//! reported under `pairs` where an image's are under `d=2`, `d=8`, ... The circuit's responses
//! are saved as `responses_k<K>.npy` (N x 2, in the file's order).

use serde::{Deserialize, Serialize};

use super::{
    ImageSource, Learning, PairCircuit, PairRun, PairSignals, RobustSettings, SOLVER_DOC,
    SolverSettings, THETA_MODE_DOC, ThetaMode, check_offset, check_pair_k, density_panel,
    file_pair_signals, learn_pair_groups, pair_sweep,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::ensure;
use crate::output::{Claim, Outputs, Table};
use crate::plot::{Figure, Legend};
use crate::resources::MemoryEstimate;

/// Parameters of `pairs_2d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pairs2d {
    /// Image (the first of the source is used) and band, or a pairs file.
    pub source: ImageSource,
    /// Vertical offsets d between the two coefficients of an image's pairs; `None` (the
    /// default): `[2, 8, 32]`. Refused with a pairs file, whose rows are the pairs.
    pub offsets: Option<Vec<usize>>,
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
            offsets: None,
            ks: vec![2, 3, 4],
            learning: Learning::Robust(RobustSettings::default()),
            theta_init: 2.3,
            theta: ThetaMode::Auto,
            solver: SolverSettings::default(),
        }
    }
}

/// The offsets of an image's pairs when `offsets` is left out.
pub const DEFAULT_OFFSETS: [usize; 3] = [2, 8, 32];

/// Checks shared with `mi_vs_offset` (not the image files: each caller reads those it uses);
/// `offsets` are not checked for a signal file (`pairs_2d` refuses them there).
pub(crate) fn check_pairs(
    source: &ImageSource,
    offsets: &[usize],
    ks: &[usize],
    settings: &PairCircuit<'_>,
) -> Result<(), ParamError> {
    source.check()?;
    settings.check("theta_init")?;
    if source.signal.is_none() {
        ensure(!offsets.is_empty(), "offsets", || {
            "must not be empty".into()
        })?;
        for (i, &d) in offsets.iter().enumerate() {
            check_offset(d, source.crop, &format!("offsets[{i}]"))?;
        }
    }
    ensure(!ks.is_empty(), "ks", || "must not be empty".into())?;
    for (i, &k) in ks.iter().enumerate() {
        check_pair_k(k, &format!("ks[{i}]"))?;
    }
    Ok(())
}

/// A group of pairs reported together: those at one offset of an image, or a file's.
struct Group {
    /// Key in the summary: `d=2`, or `pairs`.
    key: String,
    /// In titles: `d = 2`, or the file's stem.
    title: String,
    /// The `offset` cell of the table: the offset, or empty.
    offset: crate::output::Cell,
    /// Prefix of the `.npy` names: `d2_`, or none.
    tag: String,
}

impl Pairs2d {
    /// The offsets used for an image (empty for a pairs file).
    pub fn offsets(&self) -> Vec<usize> {
        if self.source.signal.is_some() {
            Vec::new()
        } else {
            self.offsets
                .clone()
                .unwrap_or_else(|| DEFAULT_OFFSETS.to_vec())
        }
    }

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
            "images: (images: Some(\"file or folder\"): relative to the experiment file's folder or absolute; or None for a generated dead-leaves image, crop, orientation); the first image is used; or your own pairs: (signal: \"pairs.npy\"), an N x 2 array, one pair per row, at least 1000 rows, each column centred and scaled to unit variance, responses saved as responses_k<K>.npy",
        ),
        param(
            "offsets",
            "vertical offsets d between paired coefficients of an image (1 <= d < crop); None: [2, 8, 32]; left out for a pairs file (its rows are the pairs)",
        ),
        param("ks", "numbers of interneurons K (>= 2)"),
        param(
            "learning",
            "schedule: Robust(batch, eta_g, eta_theta, eta_w, tolerance, max_iterations, gain_start: Small or Authors) or Reference(eta_g, eta_theta, eta_w, iterations, batch)",
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
        let groups = self.offsets().len().max(1);
        Some(self.source.memory(48.0, groups * self.ks.len(), threads))
    }

    fn resolve_paths(&mut self, base: &std::path::Path) -> Result<(), ParamError> {
        self.source.resolve_paths(base)
    }

    fn check(&self) -> Result<(), ParamError> {
        if let (Some(p), Some(offsets)) = (&self.source.signal, &self.offsets) {
            return Err(ParamError::new(
                "offsets",
                format!(
                    "{offsets:?} given with the pairs file {} (source.signal): its rows are the \
                     pairs, offsets apply to an image's band only; leave `offsets` out",
                    p.describe()
                ),
            ));
        }
        check_pairs(
            &self.source,
            &self.offsets(),
            &self.ks,
            &self.circuit_settings(),
        )?;
        // Last: reading the image (the first is used) or the pairs file is the only check that
        // costs anything.
        if let Some(file) = self.source.signal_pairs_file() {
            return file.map(|_| ());
        }
        self.source.check_files(Some(1))
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let r = self.measure(ctx)?;
        Ok(self.report(&r))
    }
}

/// What `pairs_2d` measured.
struct Measured {
    /// The image's name, or the pairs file's.
    name: String,
    /// The raw and ZCA-whitened pairs of each group, with their MI.
    signals: Vec<PairSignals>,
    /// `(group index, K)` of each circuit, in task order.
    combos: Vec<(usize, usize)>,
    /// The learned circuits, in the order of `combos`.
    runs: Vec<PairRun>,
    /// How each group is reported.
    groups: Vec<Group>,
}

impl Pairs2d {
    /// Cuts the pairs (or reads them from the file) and learns one circuit per (group, K).
    fn measure(&self, ctx: &RunContext) -> Result<Measured> {
        let offsets = self.offsets();
        let (name, signals, combos, runs, groups) = match self.source.signal_pairs_file() {
            None => {
                let (name, signals, combos, runs) = pair_sweep(
                    &self.source,
                    &offsets,
                    &self.ks,
                    1,
                    &self.circuit_settings(),
                    ctx,
                )?;
                let groups = offsets
                    .iter()
                    .map(|&d| Group {
                        key: format!("d={d}"),
                        title: format!("d = {d}"),
                        offset: d.into(),
                        tag: format!("d{d}_"),
                    })
                    .collect::<Vec<_>>();
                (name, signals, combos, runs, groups)
            }
            Some(file) => {
                let file = file.map_err(|e| ctx.failure(e.reason))?;
                let signals = vec![file_pair_signals(&file, ctx)?];
                let (combos, runs) = learn_pair_groups(
                    &signals,
                    &self.ks,
                    1,
                    &self.circuit_settings(),
                    ctx,
                    |_, k| format!("the K = {k} circuit on the pairs of {}", file.name),
                )?;
                let groups = vec![Group {
                    key: "pairs".into(),
                    title: file.name.clone(),
                    offset: "".into(),
                    tag: String::new(),
                }];
                (file.name, signals, combos, runs, groups)
            }
        };
        Ok(Measured {
            name,
            signals,
            combos,
            runs,
            groups,
        })
    }

    /// Table, summary, learned parameters, figure and claim.
    fn report(&self, r: &Measured) -> Outputs {
        let Measured {
            name,
            signals,
            combos,
            runs,
            groups,
        } = r;
        let offsets = self.offsets();
        let from_file = self.source.signal.is_some();

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
        for (o, group) in groups.iter().enumerate() {
            let s = &signals[o];
            table.push(vec![
                group.offset.clone(),
                "raw".into(),
                s.mi_raw.0.into(),
                s.mi_raw.1.into(),
                0usize.into(),
                "".into(),
            ]);
            table.push(vec![
                group.offset.clone(),
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
            for (&(oo, k), r) in combos.iter().zip(runs) {
                if oo != o {
                    continue;
                }
                table.push(vec![
                    group.offset.clone(),
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
                super::save_circuit(&mut out, &format!("{}k{k}", group.tag), &r.circuit);
                if from_file {
                    out.array(
                        format!("responses_k{k}"),
                        &[r.responses.len(), 2],
                        r.responses.iter().flatten().copied().collect(),
                    );
                }
            }
            mi.insert(group.key.clone(), serde_json::Value::Object(entry));
        }
        out.summarize("mutual_information", mi);
        if from_file {
            out.summarize("signal", name.clone());
            out.summarize("pairs", signals[0].raw.len());
        } else {
            out.summarize("image", name.clone());
        }
        out.summarize("learning", self.learning.label());
        out.table(table);
        out.figure(self.figure(r));

        let (dmin, kref) = (
            offsets.iter().copied().min().unwrap_or(2),
            if self.ks.contains(&3) { 3 } else { self.ks[0] },
        );
        let o = offsets.iter().position(|&d| d == dmin).unwrap_or(0);
        let at = if from_file {
            format!("pairs file {name}")
        } else {
            format!("d = {dmin}")
        };
        if let Some(r) = combos
            .iter()
            .zip(runs)
            .find(|((oo, k), _)| *oo == o && *k == kref)
            .map(|(_, r)| r)
        {
            let zca = signals[o].mi_zca.0;
            out.claim(Claim {
                id: "p2.pairs_2d.mi_below_zca".into(),
                paper: 2,
                statement: format!("{}The circuit reduces dependencies far below whitening ({at}, K = {kref}, every 10th pair)", self.learning.claim_prefix()),
                expected: "circuit MI < ZCA MI / 4".into(),
                measured: format!("circuit {:.4}, ZCA {:.4}, raw {:.4} nats", r.mi_every10, zca, signals[o].mi_raw.0),
                pass: r.mi_every10 < zca / 4.0,
                figure: Some("pairs_2d".into()),
                // the bar is the paper's, for image bands; a user's pairs are reported against it
                informative: self.learning.is_authors() || from_file,
            });
        }
        out
    }

    /// Density contours of the raw, ZCA-whitened and circuit responses, one row per group.
    fn figure(&self, r: &Measured) -> Figure {
        let Measured {
            name,
            signals,
            combos,
            runs,
            groups,
        } = r;
        let mut panels = Vec::new();
        for (o, group) in groups.iter().enumerate() {
            let s = &signals[o];
            let title = &group.title;
            panels.push(density_panel(
                format!("raw pairs, {title}"),
                &s.raw,
                &[],
                format!("MI = {:.4} nats", s.mi_raw.0),
            ));
            panels.push(density_panel(
                format!("ZCA, {title}"),
                &s.zca,
                &[],
                format!("MI = {:.4} nats", s.mi_zca.0),
            ));
            for (&(oo, k), r) in combos.iter().zip(runs) {
                if oo != o {
                    continue;
                }
                let dirs = r.directions();
                panels.push(density_panel(
                    format!("circuit, K = {k}, {title}"),
                    &r.responses,
                    &dirs,
                    format!("MI = {:.4} nats", r.mi_every10),
                ));
            }
        }
        // One legend per row, on its last panel (a circuit's, which has every entry).
        let columns = 2 + self.ks.len();
        for (i, p) in panels.iter_mut().enumerate() {
            if (i + 1) % columns != 0 {
                p.legend = Legend::Hidden;
            }
        }
        Figure::grid(
            "pairs_2d",
            format!("Coefficient pairs of {name}: raw, ZCA-whitened and circuit responses (MI on every 10th pair)"),
            panels,
            columns,
        )
        .with_panel_size(500, 340)
    }
}
