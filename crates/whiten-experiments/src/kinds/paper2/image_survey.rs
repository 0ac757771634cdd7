//! `image_survey` (paper 2 on a set of images, spec section 7): for every image of the source,
//! in one run, the band signal's generalised Gaussian fit (alpha, beta), the 1D circuit's
//! learned gains and activation parameters with the Gaussianity of its responses (excess
//! kurtosis, Kolmogorov-Smirnov distance to N(0, 1)), and the mutual information of pairs at
//! one offset `d` for the raw signal, ZCA whitening and a 2D circuit with `K` interneurons.
//!
//! One table row per image; the claims ask, on every image, for near-Gaussian 1D responses
//! and a circuit MI below a quarter of the ZCA MI (every 10th pair). Beside each MI the table
//! gives the MI of the pairs' normal scores (each coordinate replaced by
//! `Phi^{-1}((rank + 1/2) / M)`), which measures the dependence alone, whatever the shape of
//! the marginals: the binned estimate of the MI itself could also fall because the responses'
//! marginals change.

use serde::{Deserialize, Serialize};
use whiten_core::stats::{excess_kurtosis, ks_distance_normal};

use super::{
    BDerivativeRule, ImageSignal, ImageSource, Learning, OneDCircuit, PairCircuit, RobustSettings,
    SOLVER_DOC, SolverSettings, THETA_MODE_DOC, ThetaMode, check_offset, check_pair_k,
    check_theta_init, learn_1d, learn_pairs, mi_of_normal_scores, pair_signals,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::ensure;
use crate::output::{Cell, Claim, Outputs, Table, indexed_cells, indexed_columns};
use crate::plot::{Axis, Figure, Legend, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// Parameters of `image_survey`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageSurvey {
    /// Images (every one is surveyed) and band.
    pub source: ImageSource,
    /// Learning schedule of the 1D circuit (`eta_w` is ignored: `W = 1`).
    pub learning_1d: Learning,
    /// 1D: what the activation parameters do (`Auto` by default, as in `gaussianize_1d`).
    pub theta_1d: ThetaMode,
    /// 1D: base of the initial theta (authors: 2.2).
    pub theta_init_1d: f64,
    /// Learning schedule of the 2D circuit (`W` learns at its `eta_w`).
    pub learning_2d: Learning,
    /// 2D: vertical offset d of the pairs.
    pub offset: usize,
    /// 2D: interneurons K.
    pub k: usize,
    /// 2D: what the activation parameters do (`Auto` by default, as in `pairs_2d`).
    pub theta_2d: ThetaMode,
    /// 2D: base of the initial theta (authors: 2.3).
    pub theta_init_2d: f64,
    /// Response solver of both circuits.
    pub solver: SolverSettings,
    /// Required |excess kurtosis| of the 1D responses for the claim.
    pub kurtosis_tolerance: f64,
    /// Required Kolmogorov-Smirnov distance of the 1D responses to N(0, 1) for the claim.
    pub ks_tolerance: f64,
    /// Required ratio of circuit MI to ZCA MI (every 10th pair) for the claim, on images whose
    /// ZCA MI is at least `mi_floor`.
    pub mi_ratio: f64,
    /// ZCA MI (nats) below which the pairs are nearly independent already: there the claim
    /// asks only for circuit MI below ZCA MI.
    pub mi_floor: f64,
    /// Images (file stems) reported as usual but left out of the claims' pass or fail, each
    /// marked "(exception)" in the measured values: stress cases known to be beyond the
    /// circuit family (say why in the RON file).
    pub exceptions: Vec<String>,
}

impl Default for ImageSurvey {
    fn default() -> Self {
        Self {
            source: ImageSource {
                generated: 3,
                ..ImageSource::default()
            },
            learning_1d: Learning::Robust(RobustSettings::default()),
            theta_1d: ThetaMode::Auto,
            theta_init_1d: 2.2,
            learning_2d: Learning::Robust(RobustSettings::default()),
            offset: 2,
            k: 3,
            theta_2d: ThetaMode::Auto,
            theta_init_2d: 2.3,
            solver: SolverSettings::default(),
            kurtosis_tolerance: 0.15,
            ks_tolerance: 0.06,
            mi_ratio: 0.25,
            mi_floor: 0.1,
            exceptions: Vec::new(),
        }
    }
}

/// Everything measured on one image.
#[derive(Serialize, Deserialize)]
struct Row {
    name: String,
    alpha: f64,
    beta: f64,
    g: Vec<f64>,
    theta: Vec<f64>,
    mode_1d: String,
    iterations_1d: usize,
    converged_1d: bool,
    kurt_before: f64,
    kurt_after: f64,
    ks_after: f64,
    /// MI every 10th pair: raw, ZCA, circuit.
    mi: [f64; 3],
    /// MI all pairs: raw, ZCA, circuit.
    mi_all: [f64; 3],
    /// MI of the normal scores (every 10th pair): raw, ZCA, circuit.
    mi_scores: [f64; 3],
    theta_2d: Vec<f64>,
    mode_2d: String,
    iterations_2d: usize,
    converged_2d: bool,
    warnings: Vec<String>,
}

impl ImageSurvey {
    fn one_d(&self) -> OneDCircuit<'_> {
        OneDCircuit {
            learning: &self.learning_1d,
            b_derivative: BDerivativeRule::Reference,
            interneurons: 1,
            theta: &self.theta_1d,
            theta_init: self.theta_init_1d,
            solver: self.solver,
        }
    }

    fn two_d(&self) -> PairCircuit<'_> {
        PairCircuit {
            learning: &self.learning_2d,
            theta_init: self.theta_init_2d,
            theta: &self.theta_2d,
            solver: self.solver,
        }
    }

    /// Surveys image `index` with the task's stream `rng`.
    fn one(
        &self,
        index: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
        ctx: &RunContext,
    ) -> Result<Row> {
        let ImageSignal {
            name,
            band,
            signal,
            fit,
            ..
        } = self.source.signal(index, ctx)?;
        let run = learn_1d(&signal, &self.one_d(), rng, ctx, &format!("1D on {name}"))?;
        let ks_after = ks_distance_normal(&run.responses)
            .map_err(|e| ctx.numerical(format!("KS distance on {name}"), e))?;
        let pairs = pair_signals(&band, self.source.crop, self.offset, ctx)?;
        let what = format!("the K = {} circuit on {name}", self.k);
        let pair_run = learn_pairs(&pairs.raw, self.k, &self.two_d(), rng, ctx, &what)?;
        let mi_scores = [
            mi_of_normal_scores(&pairs.raw, 10, ctx, "the raw pairs")?,
            mi_of_normal_scores(&pairs.zca, 10, ctx, "the ZCA pairs")?,
            mi_of_normal_scores(&pair_run.responses, 10, ctx, &what)?,
        ];
        let mut warnings = run.warnings.clone();
        warnings.extend(pair_run.warnings.iter().cloned());
        Ok(Row {
            alpha: fit.alpha,
            beta: fit.beta,
            g: run.circuit.g().to_vec(),
            theta: run.circuit.theta().to_vec(),
            mode_1d: run.mode.ron(),
            iterations_1d: run.iterations,
            converged_1d: run.converged,
            kurt_before: excess_kurtosis(&signal),
            kurt_after: excess_kurtosis(&run.responses),
            ks_after,
            mi: [pairs.mi_raw.0, pairs.mi_zca.0, pair_run.mi_every10],
            mi_all: [pairs.mi_raw.1, pairs.mi_zca.1, pair_run.mi_all],
            mi_scores,
            theta_2d: pair_run.circuit.theta().to_vec(),
            mode_2d: pair_run.mode.ron(),
            iterations_2d: pair_run.iterations,
            converged_2d: pair_run.converged,
            warnings,
            name,
        })
    }

    fn exempt(&self, r: &Row) -> bool {
        self.exceptions.contains(&r.name)
    }

    /// The 2D criterion on one image: circuit MI below ZCA MI, and at most `mi_ratio` of it
    /// where ZCA MI is at least `mi_floor` (`which`: 0 binned MI, 1 normal-score MI).
    fn mi_ok(&self, r: &Row, which: usize) -> bool {
        let (zca, circuit) = if which == 0 {
            (r.mi[1], r.mi[2])
        } else {
            (r.mi_scores[1], r.mi_scores[2])
        };
        circuit < zca && (r.mi[1] < self.mi_floor || circuit <= self.mi_ratio * zca)
    }

    /// A claim over every image: `ok` decides an image, `show` writes its measured value.
    fn claim(
        &self,
        rows: &[Row],
        id: &str,
        statement: String,
        expected: String,
        ok: impl Fn(&Row) -> bool,
        show: impl Fn(&Row) -> String,
    ) -> Claim {
        let measured = rows
            .iter()
            .map(|r| {
                let tag = if self.exempt(r) {
                    " (exception)"
                } else if ok(r) {
                    ""
                } else {
                    " (FAILS)"
                };
                format!("{}: {}{tag}", r.name, show(r))
            })
            .collect::<Vec<_>>()
            .join(", ");
        Claim {
            id: id.into(),
            paper: 2,
            statement,
            expected,
            measured,
            pass: rows.iter().all(|r| self.exempt(r) || ok(r)),
            figure: Some("image_survey".into()),
            informative: false,
        }
    }
}

impl Experiment for ImageSurvey {
    const KIND: &'static str = "image_survey";
    const DESCRIPTION: &'static str = "Paper 2 on every image of a set: GG fit, the 1D circuit's g, theta and response Gaussianity, and pair MI (raw, ZCA, 2D circuit) in one table";
    const PARAMS: &'static [ParamDoc] = &[
        param(
            "source",
            "images: (images: Some(\"file or folder\"): relative to the experiment file's folder or absolute; or None for generated dead-leaves images, generated, crop, orientation); every image is surveyed",
        ),
        param(
            "learning_1d",
            "schedule of the 1D circuit: Robust(batch, eta_g, eta_theta, tolerance, max_iterations, gain_start: Small or Authors) or Reference(eta_g, eta_theta, eta_w, iterations, batch); eta_w is ignored (W = 1)",
        ),
        param("theta_1d", THETA_MODE_DOC),
        param(
            "theta_init_1d",
            "1D: base of the initial theta (theta_0 = theta_init + 0.1 U), within [1, 2.9]",
        ),
        param(
            "learning_2d",
            "schedule of the 2D circuit, as learning_1d; W learns at its eta_w (0 is warned about: W would stay random)",
        ),
        param(
            "offset",
            "2D: vertical offset d of the pairs (1 <= d < crop)",
        ),
        param("k", "2D: interneurons K (>= 2)"),
        param("theta_2d", THETA_MODE_DOC),
        param(
            "theta_init_2d",
            "2D: base of the initial theta, within [1, 2.9]",
        ),
        param("solver", SOLVER_DOC),
        param(
            "kurtosis_tolerance",
            "|excess kurtosis| of the 1D responses below which an image counts as Gaussianised",
        ),
        param(
            "ks_tolerance",
            "KS distance of the 1D responses to N(0, 1) below which an image counts as Gaussianised",
        ),
        param(
            "mi_ratio",
            "2D claim: circuit MI at most this fraction of ZCA MI (every 10th pair), on images whose ZCA MI is at least mi_floor",
        ),
        param(
            "mi_floor",
            "2D claim: ZCA MI (nats) below which only circuit MI < ZCA MI is asked (the pairs are nearly independent already)",
        ),
        param(
            "exceptions",
            "image names (file stems) reported but left out of the claims' pass/fail, marked (exception)",
        ),
    ];

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        self.source.files(None)
    }

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        Some(
            self.source
                .memory(48.0, self.source.task_count(threads), threads),
        )
    }

    fn resolve_paths(&mut self, base: &std::path::Path) -> Result<(), ParamError> {
        self.source.resolve_paths(base)
    }

    fn check(&self) -> Result<(), ParamError> {
        self.theta_1d.check("theta_1d")?;
        check_theta_init(self.theta_init_1d, "theta_init_1d")?;
        self.learning_1d.check("learning_1d")?;
        for (v, field) in [
            (self.kurtosis_tolerance, "kurtosis_tolerance"),
            (self.ks_tolerance, "ks_tolerance"),
            (self.mi_ratio, "mi_ratio"),
        ] {
            ensure(v > 0.0 && v.is_finite(), field, || {
                format!("must be positive and finite (got {v})")
            })?;
        }
        ensure(
            self.mi_floor >= 0.0 && self.mi_floor.is_finite(),
            "mi_floor",
            || format!("must be >= 0 and finite (got {})", self.mi_floor),
        )?;
        self.source.check()?;
        self.source.refuse_signal(
            "image_survey surveys images (each one's band, its 1D signal and its pairs at an \
             offset); for a signal file use gaussianize_1d (a vector (N,)) or pairs_2d (pairs \
             (N, 2))",
        )?;
        let two_d = self.two_d();
        two_d.theta.check("theta_2d")?;
        two_d.learning.check("learning_2d")?;
        two_d.solver.check()?;
        check_theta_init(self.theta_init_2d, "theta_init_2d")?;
        check_offset(self.offset, self.source.crop, "offset")?;
        check_pair_k(self.k, "k")?;
        // Last: reading the images is the only check that costs anything.
        self.source.check_files(None)
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let count = self.source.count(ctx)?;
        let rows = ctx.par_tasks(count, "images", |i, rng| self.one(i, rng, ctx))?;
        let mut out = Outputs::default();
        out.warn(self.two_d().setting_warnings("learning_2d"));
        self.report(&mut out, &rows);
        out.figure(self.figure(&rows));
        self.claims(&rows, &mut out);
        Ok(out)
    }
}

impl ImageSurvey {
    /// Per image its summary entry and warnings; the run's settings; the table.
    fn report(&self, out: &mut Outputs, rows: &[Row]) {
        let mut summary = serde_json::Map::new();
        for r in rows {
            summary.insert(r.name.clone(), summary_entry(r));
            out.warn(r.warnings.iter().cloned());
        }
        out.summarize("images", summary);
        out.summarize("offset", self.offset);
        out.summarize("k", self.k);
        out.summarize(
            "learning",
            serde_json::json!({"one_d": self.learning_1d.label(), "two_d": self.learning_2d.label()}),
        );
        out.table(table(rows));
    }
}

/// How many gains, 1D thetas and 2D thetas the longest row has (one column each).
type Lengths = [usize; 3];

/// The table: one row per image.
fn table(rows: &[Row]) -> Table {
    let len = |f: fn(&Row) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let lens = [
        len(|r| r.g.len()),
        len(|r| r.theta.len()),
        len(|r| r.theta_2d.len()),
    ];
    let mut table = Table::with_columns("image_survey", columns(lens));
    for r in rows {
        table.push(cells(r, lens));
    }
    table
}

/// The table's columns, one per gain and theta (`g_0`, `g_1`, ...).
fn columns([len_g, len_theta, len_theta_2d]: Lengths) -> Vec<String> {
    let names = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    let mut columns = names(&["image", "alpha", "beta", "mode_1d"]);
    columns.extend(indexed_columns("g", len_g));
    columns.extend(indexed_columns("theta", len_theta));
    columns.extend(names(&[
        "iterations_1d",
        "converged_1d",
        "kurtosis_signal",
        "kurtosis_responses",
        "ks_responses",
        "mode_2d",
    ]));
    columns.extend(indexed_columns("theta_2d", len_theta_2d));
    columns.extend(names(&[
        "iterations_2d",
        "converged_2d",
        "mi_raw",
        "mi_zca",
        "mi_circuit",
        "mi_raw_all",
        "mi_zca_all",
        "mi_circuit_all",
        "mi_scores_raw",
        "mi_scores_zca",
        "mi_scores_circuit",
        "warnings",
    ]));
    columns
}

/// One image's row of the table.
fn cells(r: &Row, [len_g, len_theta, len_theta_2d]: Lengths) -> Vec<Cell> {
    let mut row: Vec<Cell> = vec![
        r.name.clone().into(),
        r.alpha.into(),
        r.beta.into(),
        r.mode_1d.clone().into(),
    ];
    row.extend(indexed_cells(&r.g, len_g));
    row.extend(indexed_cells(&r.theta, len_theta));
    row.extend([
        r.iterations_1d.into(),
        (if r.converged_1d { "yes" } else { "no" }).into(),
        r.kurt_before.into(),
        r.kurt_after.into(),
        r.ks_after.into(),
        r.mode_2d.clone().into(),
    ]);
    row.extend(indexed_cells(&r.theta_2d, len_theta_2d));
    row.extend([
        r.iterations_2d.into(),
        (if r.converged_2d { "yes" } else { "no" }).into(),
        r.mi[0].into(),
        r.mi[1].into(),
        r.mi[2].into(),
        r.mi_all[0].into(),
        r.mi_all[1].into(),
        r.mi_all[2].into(),
        r.mi_scores[0].into(),
        r.mi_scores[1].into(),
        r.mi_scores[2].into(),
        r.warnings.len().into(),
    ]);
    row
}

/// One image's summary entry.
fn summary_entry(r: &Row) -> serde_json::Value {
    serde_json::json!({
        "alpha": r.alpha,
        "beta": r.beta,
        "one_d": {
            "mode": r.mode_1d, "g": r.g, "theta": r.theta,
            "iterations": r.iterations_1d, "converged": r.converged_1d,
        },
        "kurtosis": {"signal": r.kurt_before, "responses": r.kurt_after},
        "ks_responses": r.ks_after,
        "two_d": {
            "mode": r.mode_2d, "theta": r.theta_2d,
            "iterations": r.iterations_2d, "converged": r.converged_2d,
        },
        "mi_every_10th": {"raw": r.mi[0], "zca": r.mi[1], "circuit": r.mi[2]},
        "mi_all_pairs": {"raw": r.mi_all[0], "zca": r.mi_all[1], "circuit": r.mi_all[2]},
        "mi_normal_scores_every_10th": {"raw": r.mi_scores[0], "zca": r.mi_scores[1], "circuit": r.mi_scores[2]},
    })
}

impl ImageSurvey {
    /// Per image (x = its table row), the 1D Gaussianity and the pair MI.
    fn figure(&self, rows: &[Row]) -> Figure {
        // Up to NAMED_IMAGES the x axis names the images; beyond, the key of its numbers is
        // the table (the title cannot hold it).
        let title = if rows.len() <= NAMED_IMAGES {
            "Paper 2 on every image: Gaussianity in 1D, dependencies in 2D".to_string()
        } else {
            format!(
                "Paper 2 on every image ({} images: numbered as the table's rows)",
                rows.len()
            )
        };
        let panels = vec![self.kurtosis_panel(rows), self.mi_panel(rows)];
        Figure::grid("image_survey", title, panels, 2).with_panel_size(900, 480)
    }

    /// 1D: the |excess kurtosis| of each image's signal and responses, with the tolerance.
    fn kurtosis_panel(&self, rows: &[Row]) -> Panel {
        let n = rows.len() as f64;
        Panel::new(
            "1D: |excess kurtosis|",
            image_axis(rows),
            Axis::log("|excess kurtosis|"),
        )
        .with(
            Series::line("signal", points(rows, &|r| r.kurt_before.abs()))
                .styled(Style::Markers)
                .colored(0),
        )
        .with(
            Series::line(
                "circuit responses",
                points(rows, &|r| r.kurt_after.abs().max(1e-4)),
            )
            .styled(Style::Markers)
            .colored(2),
        )
        .with(
            Series::line(
                format!("tolerance {}", self.kurtosis_tolerance),
                vec![
                    (0.5, self.kurtosis_tolerance),
                    (n + 0.5, self.kurtosis_tolerance),
                ],
            )
            .styled(Style::Dashed)
            .colored(6),
        )
        .legend_at(Legend::UpperRight)
    }

    /// 2D: each image's MI (raw, ZCA, circuit, circuit's normal scores; every 10th pair) with
    /// the claim's bound.
    fn mi_panel(&self, rows: &[Row]) -> Panel {
        let x = |i: usize| (i + 1) as f64;
        let mut mi = Panel::new(
            format!(
                "2D: MI at d = {}, K = {} (every 10th pair)",
                self.offset, self.k
            ),
            image_axis(rows),
            Axis::log("mutual information (nats)"),
        );
        type Pick = fn(&Row) -> f64;
        let series: [(&str, Pick, Style); 4] = [
            ("raw", |r| r.mi[0], Style::Markers),
            ("ZCA", |r| r.mi[1], Style::Markers),
            ("circuit", |r| r.mi[2], Style::Markers),
            ("circuit, normal scores", |r| r.mi_scores[2], Style::Markers),
        ];
        for (c, (label, get, style)) in series.into_iter().enumerate() {
            mi = mi.with(
                Series::line(label, points(rows, &|r: &Row| get(r)))
                    .styled(style)
                    .colored(c),
            );
        }
        // The claims' bounds per image: ZCA * mi_ratio (or ZCA where ZCA < mi_floor), of the
        // binned MI (for "circuit") and of the normal scores' MI (whose ZCA value is not drawn:
        // its bound is drawn in the normal scores' colour); NaN points break the line between
        // images.
        // `(a, b)`: the bound's extent around the image's position (circuit left, scores right)
        let bound = |zca: fn(&Row) -> f64, (a, b): (f64, f64)| -> Vec<(f64, f64)> {
            rows.iter()
                .enumerate()
                .flat_map(|(i, r)| {
                    // the floor is judged on the binned ZCA MI, as in the claims
                    let y = if r.mi[1] < self.mi_floor {
                        zca(r)
                    } else {
                        zca(r) * self.mi_ratio
                    };
                    [(x(i) + a, y), (x(i) + b, y), (x(i), f64::NAN)]
                })
                .collect()
        };
        mi.with(Series::line("claim's bound, circuit", bound(|r| r.mi[1], (-0.3, 0.0))).colored(2))
            .with(
                Series::line(
                    "claim's bound, normal scores",
                    bound(|r| r.mi_scores[1], (0.0, 0.3)),
                )
                .colored(3),
            )
            .legend_at(Legend::UpperRight)
    }

    /// The claims, each over every image: 1D Gaussianity, then 2D dependence.
    fn claims(&self, rows: &[Row], out: &mut Outputs) {
        self.claims_1d(rows, out);
        self.claims_2d(rows, out);
    }

    /// ` (exceptions: a, b)` for the claims' expectations, or nothing.
    fn except(&self) -> String {
        if self.exceptions.is_empty() {
            String::new()
        } else {
            format!(" (exceptions: {})", self.exceptions.join(", "))
        }
    }

    /// 1D: the responses are near Gaussian (excess kurtosis) and close to N(0, 1) (KS).
    fn claims_1d(&self, rows: &[Row], out: &mut Outputs) {
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        let except = self.except();
        out.claim(self.claim(
            rows,
            "p2.image_survey.kurtosis",
            format!(
                "The 1D circuit makes responses near Gaussian on every image ({})",
                names.join(", ")
            ),
            format!(
                "|excess kurtosis| < {} on every image{except}",
                self.kurtosis_tolerance
            ),
            |r| r.kurt_after.abs() < self.kurtosis_tolerance,
            |r| format!("{:.3}", r.kurt_after),
        ));
        out.claim(
            self.claim(
                rows,
                "p2.image_survey.ks",
                "The 1D responses are close to N(0, 1) in distribution, not only in their moments"
                    .into(),
                format!(
                    "KS distance to N(0, 1) < {} on every image{except}",
                    self.ks_tolerance
                ),
                |r| r.ks_after < self.ks_tolerance,
                |r| format!("{:.4}", r.ks_after),
            ),
        );
    }

    /// 2D: the circuit cuts the pairs' MI far below whitening, in the dependence itself
    /// (normal-score MI) and not only in the marginals' shape.
    fn claims_2d(&self, rows: &[Row], out: &mut Outputs) {
        let except = self.except();
        let expected = |what: &str| {
            format!(
                "{what}: circuit < ZCA on every image, and <= {} x ZCA where ZCA MI >= {} nats{except}",
                self.mi_ratio, self.mi_floor
            )
        };
        out.claim(self.claim(
            rows,
            "p2.image_survey.mi",
            format!(
                "At d = {} the K = {} circuit cuts MI far below whitening on every image",
                self.offset, self.k
            ),
            expected("MI, every 10th pair"),
            |r| self.mi_ok(r, 0),
            |r| {
                format!(
                    "{:.4} vs ZCA {:.4} (ratio {:.2})",
                    r.mi[2],
                    r.mi[1],
                    r.mi[2] / r.mi[1]
                )
            },
        ));
        out.claim(self.claim(
            rows,
            "p2.image_survey.mi_normal_scores",
            "The reduction is in the dependence itself, not in the shape of the marginals (MI of the normal scores)".into(),
            expected("normal-score MI"),
            |r| self.mi_ok(r, 1),
            |r| format!("{:.4} vs ZCA {:.4}", r.mi_scores[2], r.mi_scores[1]),
        ));
    }
}

/// The x axis: one position per image (its table row). The legends stand right of the
/// plotting area: the axis spans the images alone.
fn image_axis(rows: &[Row]) -> Axis {
    if rows.len() <= NAMED_IMAGES {
        Axis::categories("image", rows.iter().map(|r| r.name.clone()).collect())
    } else {
        Axis::linear("image (table row)").with_range(0.5, rows.len() as f64 + 0.5)
    }
}

/// Up to this many images the x axis names them; beyond, it numbers them (table rows).
const NAMED_IMAGES: usize = 12;

/// One point per image: `(table row, get(image))`.
fn points(rows: &[Row], get: &dyn Fn(&Row) -> f64) -> Vec<(f64, f64)> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| ((i + 1) as f64, get(r)))
        .collect()
}
