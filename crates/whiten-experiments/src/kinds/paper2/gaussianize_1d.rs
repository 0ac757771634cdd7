//! `gaussianize_1d` (paper 2, Fig. 3): one primary neuron and its interneurons (`N = 1`,
//! `w = 1`; one interneuron in the paper, `K` of them with a theta grid, and `theta: Auto`
//! chooses between the two) learn the gains `g` and activation parameters `theta` so that
//! the responses to a natural-image band signal become standard Gaussian.
//!
//! With one interneuron the circuit's steady state is `s = g f(theta, r)` (with several, the
//! sum `s = sum_i g_i f(theta_i, r)`): the interneuron activation maps the
//! response back to the signal, so the learned transform is `T = (g f(theta, .))^{-1}`, to be
//! compared with the optimal (transport) map `T*(s) = Phi^{-1}(F_s(s))`, and the learned
//! activation with the optimal one `z -> F_s^{-1}(Phi(z))`.
//!
//! Per image, five panels: the image; the signal density with its generalised Gaussian fit
//! (alpha, beta); the learned activation against the optimal one; the learned transform
//! against the optimal quantile map; the response density against N(0, 1).
//!
//! Instead of images, `source: (signal: "x.npy")` takes a user's 1D signal, a `.npy` vector:
//! the circuit is fitted to its samples directly (centred and scaled to unit variance, no
//! pyramid band), the figure has the four panels without the image, and the responses are
//! saved as `responses_<stem>.npy`, sample by sample in the file's order.

use serde::{Deserialize, Serialize};
use whiten_core::circuit::Circuit;
use whiten_core::stats::{
    bin_centres, excess_kurtosis, fit_generalized_gaussian, gg_density, histogram,
    ks_distance_normal, normal_cdf, normal_pdf, quantile_map, variance,
};

use super::{
    BDerivativeRule, ImageSignal, ImageSource, Learning, OneDCircuit, OneDRun, RobustSettings,
    SOLVER_DOC, SolverSettings, THETA_MODE_DOC, ThetaMode, check_theta_init, learn_1d,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::ensure;
use crate::output::{Claim, Outputs, Table, indexed_cells, indexed_columns};
use crate::plot::{Axis, Figure, Legend, Panel, Raster, Series, Style};
use crate::resources::MemoryEstimate;

/// Parameters of `gaussianize_1d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Gaussianize1d {
    /// Images and band, or a signal file (a `.npy` vector).
    pub source: ImageSource,
    /// Learning schedule.
    pub learning: Learning,
    /// Derivative of b(theta) in the theta rule.
    pub b_derivative: BDerivativeRule,
    /// Interneurons K in the `Learned`, `Initial` and `Fixed` modes (1 in the paper).
    pub interneurons: usize,
    /// What the activation parameters do: `Auto` (default; the candidate whose responses are
    /// closest to N(0, 1)), `Learned` (the paper), `Initial`, `Fixed(v)` or `Grid([1.0, 3.0])`
    /// (one interneuron with a component per value, theta fixed, gains learned: unit variance
    /// and the Gaussian fourth moment). See `ThetaMode`.
    pub theta: ThetaMode,
    /// Base of the initial theta (authors: 2.2 in 1D).
    pub theta_init: f64,
    /// Required |excess kurtosis| of the responses for the claim.
    pub kurtosis_tolerance: f64,
    /// Response solver.
    pub solver: SolverSettings,
    /// Published values to compare with (a claim each, shown in `REPORT.md` beside ours):
    /// for example what the spec reports of the authors' settings on kodak-23.
    pub published: Vec<Published>,
}

/// A value published for one image (the paper, the authors' code, or the spec's
/// re-computation), compared with this run's measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// The image (file stem, or the generated name such as `dead-leaves-0`).
    pub image: String,
    /// Which number: `g` (the first gain), `theta` (the first theta), `response_sd` or
    /// `excess_kurtosis` (of the responses).
    pub quantity: PublishedQuantity,
    /// The published value.
    pub value: f64,
    /// Largest |ours - published| that agrees.
    pub tolerance: f64,
    /// Where the value comes from, in words.
    pub source: String,
}

/// The numbers a [`Published`] entry can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublishedQuantity {
    /// The first interneuron's gain.
    G,
    /// The first interneuron's theta.
    Theta,
    /// Standard deviation of the responses.
    ResponseSd,
    /// Excess kurtosis of the responses.
    ExcessKurtosis,
}

impl Default for Gaussianize1d {
    fn default() -> Self {
        Self {
            source: ImageSource {
                generated: 3,
                ..ImageSource::default()
            },
            learning: Learning::Robust(RobustSettings::default()),
            b_derivative: BDerivativeRule::Reference,
            interneurons: 1,
            theta: ThetaMode::Auto,
            theta_init: 2.2,
            kurtosis_tolerance: 0.15,
            solver: SolverSettings::default(),
            published: Vec::new(),
        }
    }
}

/// Everything measured on one image.
#[derive(Serialize, Deserialize)]
struct ImageResult {
    name: String,
    /// The image; `None` for a signal file.
    #[serde(with = "crate::stored")]
    image: Option<whiten_core::signal::Image>,
    /// Mean and standard deviation of a signal file's samples (removed before fitting).
    standardised: Option<(f64, f64)>,
    alpha: f64,
    beta: f64,
    g: Vec<f64>,
    theta: Vec<f64>,
    iterations: usize,
    converged: bool,
    /// The mode used (the chosen one under `Auto`), with the candidates' scores.
    mode: ThetaMode,
    candidates: Vec<super::Candidate>,
    warnings: Vec<String>,
    ks_before: f64,
    ks_after: f64,
    kurt_before: f64,
    kurt_after: f64,
    var_after: f64,
    /// Sorted signal (for quantiles).
    sorted: Vec<f64>,
    responses: Vec<f64>,
    signal: Vec<f64>,
    #[serde(with = "crate::stored")]
    circuit: Circuit,
}

const LIM: f64 = 6.0;
const BINS: usize = 121;

impl Gaussianize1d {
    /// The circuit settings (shared with `image_survey`).
    fn circuit_settings(&self) -> OneDCircuit<'_> {
        OneDCircuit {
            learning: &self.learning,
            b_derivative: self.b_derivative,
            interneurons: self.interneurons,
            theta: &self.theta,
            theta_init: self.theta_init,
            solver: self.solver,
        }
    }

    fn one(
        &self,
        index: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
        ctx: &RunContext,
    ) -> Result<ImageResult> {
        let (name, image, signal, fit, standardised) = match self.source.signal_1d_file() {
            Some(file) => {
                let file = file.map_err(|e| ctx.failure(e.reason))?;
                let fit = fit_generalized_gaussian(&file.values)
                    .map_err(|e| ctx.numerical(format!("GG fit of {}", file.name), e))?;
                let standardised = Some((file.mean, file.sd));
                (file.name, None, file.values, fit, standardised)
            }
            None => {
                let ImageSignal {
                    name,
                    image,
                    signal,
                    fit,
                    ..
                } = self.source.signal(index, ctx)?;
                (name, Some(image), signal, fit, None)
            }
        };
        let run = learn_1d(&signal, &self.circuit_settings(), rng, ctx, &name)?;
        let OneDRun {
            circuit,
            responses,
            iterations,
            converged,
            mode,
            candidates,
            warnings,
        } = run;
        let ks = |x: &[f64]| {
            ks_distance_normal(x).map_err(|e| ctx.numerical(format!("KS distance on {name}"), e))
        };
        let mut sorted = signal.clone();
        sorted.sort_by(f64::total_cmp);
        Ok(ImageResult {
            ks_before: ks(&signal)?,
            ks_after: ks(&responses)?,
            kurt_before: excess_kurtosis(&signal),
            kurt_after: excess_kurtosis(&responses),
            var_after: variance(&responses),
            name,
            image,
            standardised,
            alpha: fit.alpha,
            beta: fit.beta,
            g: circuit.g().to_vec(),
            theta: circuit.theta().to_vec(),
            iterations,
            converged,
            mode,
            candidates,
            warnings,
            sorted,
            responses,
            signal,
            circuit,
        })
    }

    /// The image's five panels (four for a signal file): the image, the signal density, the
    /// activation, the transform and the response density.
    fn panels(&self, r: &ImageResult, ctx: &RunContext) -> Result<Vec<Panel>> {
        let img = r.image.as_ref().map(|image| image_panel(&r.name, image));
        Ok(img
            .into_iter()
            .chain([
                signal_panel(r, ctx)?,
                activation_panel(r),
                transform_panel(r, ctx)?,
                response_panel(r, ctx)?,
            ])
            .collect())
    }
}

/// The image itself (grey levels in [0, 1]).
fn image_panel(name: &str, image: &whiten_core::signal::Image) -> Panel {
    Panel {
        raster: Some(Raster {
            width: image.width,
            height: image.height,
            values: image.pixels.clone(),
            lo: 0.0,
            hi: 1.0,
        }),
        ..Panel::new(
            name.to_owned(),
            Axis::linear("x (pixels)").with_range(0.0, image.width as f64),
            Axis::linear("y (pixels)").with_range(0.0, image.height as f64),
        )
    }
}

/// The histogram of `x` on `[-LIM, LIM]` as a density.
fn density(x: &[f64], ctx: &RunContext) -> Result<Vec<f64>> {
    histogram(x, -LIM, LIM, BINS).map_err(|e| ctx.numerical("histogram", e))
}

/// The signal's density with its generalised Gaussian fit (alpha, beta).
fn signal_panel(r: &ImageResult, ctx: &RunContext) -> Result<Panel> {
    let centres = bin_centres(-LIM, LIM, BINS);
    let hs = density(&r.signal, ctx)?;
    Ok(Panel::new(
        match (&r.image, r.standardised) {
            (None, Some((mean, sd))) => {
                format!(
                    "{}: density of (x - {}) / {}",
                    r.name,
                    fmt3(&[mean]),
                    fmt3(&[sd])
                )
            }
            _ => "signal density".into(),
        },
        Axis::linear("signal s (unit variance)"),
        density_axis(&hs),
    )
    .with(Series::line(
        "signal",
        centres.iter().copied().zip(hs).collect(),
    ))
    .with(
        Series::line(
            "generalised Gaussian fit",
            centres
                .iter()
                .map(|&x| (x, gg_density(r.alpha, r.beta, x)))
                .collect(),
        )
        .styled(Style::Dashed),
    )
    .note(format!("alpha = {:.3}, beta = {:.3}", r.alpha, r.beta))
    .legend_at(Legend::LowerRight))
}

/// The learned activation `z -> g f(theta, z)` against the optimal `z -> F_s^{-1}(Phi(z))`.
fn activation_panel(r: &ImageResult) -> Panel {
    // The summed interneuron output sum_i g_i f(theta_i, z) (all w_i = 1 in 1D).
    let total = |z: f64| {
        r.circuit
            .activations()
            .iter()
            .zip(&r.g)
            .map(|(a, g)| g * a.f(z))
            .sum::<f64>()
    };
    let zs: Vec<f64> = (0..=120).map(|i| -3.0 + 6.0 * i as f64 / 120.0).collect();
    let opt_act: Vec<(f64, f64)> = zs
        .iter()
        .map(|&z| (z, quantile(&r.sorted, normal_cdf(z))))
        .collect();
    Panel::new(
        "interneuron activation",
        Axis::linear("interneuron input z"),
        Axis::linear("output g f(theta, z)"),
    )
    .with(Series::line(
        if r.g.len() == 1 {
            "learned".to_owned()
        } else {
            format!("learned, sum of {}", r.g.len())
        },
        zs.iter().map(|&z| (z, total(z))).collect(),
    ))
    .with(Series::line("optimal F_s^-1(Phi(z))", opt_act).styled(Style::Dashed))
    .note(format!(
        "{} = {}",
        if matches!(r.mode, ThetaMode::Grid(_)) {
            "theta (fixed)"
        } else {
            "theta"
        },
        fmt3(&r.theta)
    ))
    .note(format!("g = {}", fmt3(&r.g)))
    .legend_at(Legend::UpperLeft)
}

/// The learned transform `s -> r` against the optimal quantile map.
fn transform_panel(r: &ImageResult, ctx: &RunContext) -> Result<Panel> {
    let s_max = quantile(&r.sorted, 0.999)
        .abs()
        .max(quantile(&r.sorted, 0.001).abs());
    let ss: Vec<f64> = (0..=120)
        .map(|i| -s_max + 2.0 * s_max * i as f64 / 120.0)
        .collect();
    let opt = quantile_map(&r.sorted, &ss).map_err(|e| ctx.numerical("quantile map", e))?;
    let mut learned = vec![0.0; ss.len()];
    r.circuit
        .respond_batch(&ss, &mut learned)
        .map_err(|e| ctx.numerical("transform curve", e))?;
    Ok(Panel::new(
        "transform r = T(s)",
        Axis::linear("signal s"),
        Axis::linear("response r"),
    )
    .with(Series::line(
        "learned (circuit)",
        ss.iter().copied().zip(learned).collect(),
    ))
    .with(
        Series::line(
            "optimal Phi^-1(F_s(s))",
            ss.iter().copied().zip(opt).collect(),
        )
        .styled(Style::Dashed),
    )
    .legend_at(Legend::UpperLeft))
}

/// The responses' density against N(0, 1), with their KS distance and excess kurtosis.
fn response_panel(r: &ImageResult, ctx: &RunContext) -> Result<Panel> {
    let centres = bin_centres(-LIM, LIM, BINS);
    let hr = density(&r.responses, ctx)?;
    Ok(Panel::new(
        "response density",
        Axis::linear("response r"),
        density_axis(&hr),
    )
    .with(Series::line(
        "responses",
        centres.iter().copied().zip(hr).collect(),
    ))
    .with(
        Series::line(
            "N(0, 1)",
            centres.iter().map(|&x| (x, normal_pdf(x))).collect(),
        )
        .styled(Style::Dashed),
    )
    .note(format!("KS {:.4} (signal {:.3})", r.ks_after, r.ks_before))
    .note(format!(
        "excess kurtosis {:.3} (signal {:.1})",
        r.kurt_after, r.kurt_before
    ))
    .legend_at(Legend::LowerRight))
}

/// A log density axis over the range of the histogram `h` (its smallest positive bin to its
/// largest), so that a reference curve drawn over it does not stretch the axis into decades
/// with no data.
fn density_axis(h: &[f64]) -> Axis {
    let pos = h.iter().copied().filter(|&v| v > 0.0 && v.is_finite());
    let (lo, hi) = pos.fold((f64::INFINITY, 0.0_f64), |(l, u), v| (l.min(v), u.max(v)));
    let axis = Axis::log("density");
    if lo.is_finite() && hi > lo {
        axis.with_range(lo / 2.0, hi * 2.0)
    } else {
        axis
    }
}

/// `0.123` or `[0.123, 4.56e-4]` (3 significant digits, so that small gains stay visible).
fn fmt3(v: &[f64]) -> String {
    let parts: Vec<String> = v
        .iter()
        .map(|&x| {
            if x != 0.0 && x.abs() < 0.01 {
                format!("{x:.2e}")
            } else {
                format!("{x:.3}")
            }
        })
        .collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("[{}]", parts.join(", "))
    }
}

/// The empirical `p`-quantile of sorted samples (linear interpolation).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let x = (p * n as f64 - 0.5).clamp(0.0, (n - 1) as f64);
    let i = x.floor() as usize;
    let f = x - i as f64;
    if i + 1 < n {
        sorted[i] * (1.0 - f) + sorted[i + 1] * f
    } else {
        sorted[n - 1]
    }
}

impl Experiment for Gaussianize1d {
    const KIND: &'static str = "gaussianize_1d";
    const DESCRIPTION: &'static str = "Paper 2, Fig. 3: interneurons learn gains g and activation parameters theta so that responses to a natural-image band (or a signal file) become Gaussian";
    const PARAMS: &'static [ParamDoc] = &[
        param(
            "source",
            "images: (images: Some(\"file or folder\"): relative to the experiment file's folder or absolute; or None for generated dead leaves, generated: count, crop: 512, orientation: 0); or your own 1D signal: (signal: \"x.npy\"), a vector (N,) of at least 100 samples, fitted directly (centred, unit variance), responses saved as responses_<stem>.npy",
        ),
        param(
            "learning",
            "schedule: Robust(batch, eta_g, eta_theta, tolerance, max_iterations, gain_start: Small or Authors) or Reference(eta_g, eta_theta, eta_w, iterations, batch)",
        ),
        param("theta", THETA_MODE_DOC),
        param(
            "interneurons",
            "interneurons K in the Learned, Initial and Fixed modes (1 in the paper)",
        ),
        param(
            "theta_init",
            "base of the initial theta (theta_0 = theta_init + 0.1 U), within [1, 2.9]",
        ),
        param(
            "kurtosis_tolerance",
            "|excess kurtosis| of the responses below which an image counts as Gaussianised",
        ),
        param("solver", SOLVER_DOC),
        param(
            "published",
            "published values to compare with, a comparison each (reported as agrees / differs beside the claims, never a failure): [(image: \"kodak-23\", quantity: Theta (or G, ResponseSd, ExcessKurtosis), value: 3.0, tolerance: 0.05, source: \"spec section 6\")]",
        ),
    ];

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        self.source.files(None)
    }

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        Some(
            self.source
                .memory(12.0, self.source.task_count(threads), threads),
        )
    }

    fn resolve_paths(&mut self, base: &std::path::Path) -> Result<(), ParamError> {
        self.source.resolve_paths(base)
    }

    fn check(&self) -> Result<(), ParamError> {
        self.source.check()?;
        self.learning.check("learning")?;
        ensure(self.interneurons >= 1, "interneurons", || {
            "must be at least 1".into()
        })?;
        self.theta.check("theta")?;
        check_theta_init(self.theta_init, "theta_init")?;
        ensure(self.kurtosis_tolerance > 0.0, "kurtosis_tolerance", || {
            "must be positive".into()
        })?;
        self.solver.check()?;
        for (i, p) in self.published.iter().enumerate() {
            ensure(
                p.value.is_finite() && p.tolerance.is_finite() && p.tolerance >= 0.0,
                &format!("published[{i}]"),
                || "value and tolerance must be finite, tolerance >= 0".into(),
            )?;
        }
        // Last: reading the images (or the signal file) is the only check that costs anything.
        if let Some(file) = self.source.signal_1d_file() {
            return file.map(|_| ());
        }
        self.source.check_files(None)
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let count = self.source.count(ctx)?;
        let results = ctx.par_tasks(count, "images", |i, rng| self.one(i, rng, ctx))?;
        let mut out = Outputs::default();
        let panels = self.report(&mut out, &results, ctx)?;
        out.figure(self.figure(panels));
        self.claims(&mut out, &results);
        self.published_claims(&mut out, &results, ctx)?;
        self.dead_leaves_claim(&mut out, &results);
        Ok(out)
    }
}

impl Gaussianize1d {
    /// Whether the run fits a signal file rather than images.
    fn reads_signal_file(&self) -> bool {
        self.source.signal.is_some()
    }

    /// Per image: its circuit (`W`, `g`, `theta`; a signal file's responses too), its summary
    /// entry, warnings and panels; then the summaries and the table. Returns the panels.
    fn report(
        &self,
        out: &mut Outputs,
        results: &[ImageResult],
        ctx: &RunContext,
    ) -> Result<Vec<Panel>> {
        let mut per_image = serde_json::Map::new();
        let mut panels = Vec::new();
        for r in results {
            super::save_circuit(out, &r.name, &r.circuit);
            if r.standardised.is_some() {
                out.array(
                    format!("responses_{}", r.name),
                    &[r.responses.len()],
                    r.responses.clone(),
                );
            }
            per_image.insert(r.name.clone(), summary_entry(r));
            out.warn(r.warnings.iter().cloned());
            panels.extend(self.panels(r, ctx)?);
        }
        let key = if self.reads_signal_file() {
            "signals"
        } else {
            "images"
        };
        out.summarize(key, per_image);
        out.summarize("learning", self.learning.label());
        out.table(table(results));
        Ok(panels)
    }

    /// The figure: every image's panels, one row each.
    fn figure(&self, panels: Vec<Panel>) -> Figure {
        let from_file = self.reads_signal_file();
        Figure::grid(
            "gaussianize_1d",
            format!(
                "Gaussianising {} (theta: {}, {} learning)",
                if from_file {
                    "a signal file"
                } else {
                    "natural-image signals"
                },
                self.theta.ron(),
                self.learning.label()
            ),
            panels,
            if from_file { 4 } else { 5 },
        )
        .with_panel_size(420, 330)
    }

    /// The paper's claims: near-Gaussian responses (`|excess kurtosis|` below the tolerance)
    /// and responses closer to N(0, 1) than the signals (KS distance halved).
    fn claims(&self, out: &mut Outputs, results: &[ImageResult]) {
        let from_file = self.reads_signal_file();
        let worst = results
            .iter()
            .map(|r| r.kurt_after.abs())
            .fold(0.0, f64::max);
        out.claim(Claim {
            id: "p2.gaussianize_1d.kurtosis".into(),
            paper: 2,
            statement: if from_file {
                format!("{}The 1D circuit makes responses to the signal file near Gaussian (theta: {})", self.learning.claim_prefix(), self.theta.ron())
            } else {
                format!("{}The 1D circuit makes responses to natural-image signals near Gaussian ({} images, theta: {})", self.learning.claim_prefix(), results.len(), self.theta.ron())
            },
            expected: format!("|excess kurtosis| of the responses < {} on every {}", self.kurtosis_tolerance, if from_file { "signal" } else { "image" }),
            measured: results.iter().map(|r| format!("{}: {:.3}", r.name, r.kurt_after)).collect::<Vec<_>>().join(", "),
            pass: worst < self.kurtosis_tolerance,
            figure: Some("gaussianize_1d".into()),
            informative: self.learning.is_authors(),
        });
        out.claim(Claim {
            id: "p2.gaussianize_1d.ks".into(),
            paper: 2,
            statement: format!(
                "{}Responses are closer to N(0, 1) than the signals (Kolmogorov-Smirnov distance)",
                self.learning.claim_prefix()
            ),
            expected: format!(
                "KS(responses) < KS(signal) / 2 on every {}",
                if from_file { "signal" } else { "image" }
            ),
            measured: results
                .iter()
                .map(|r| format!("{}: {:.4} vs {:.3}", r.name, r.ks_after, r.ks_before))
                .collect::<Vec<_>>()
                .join(", "),
            pass: results.iter().all(|r| r.ks_after < r.ks_before / 2.0),
            figure: Some("gaussianize_1d".into()),
            informative: self.learning.is_authors(),
        });
    }

    /// One comparison per `published` value (informative, never a failure); refuses a value
    /// whose image is not in this run.
    fn published_claims(
        &self,
        out: &mut Outputs,
        results: &[ImageResult],
        ctx: &RunContext,
    ) -> Result<()> {
        for (i, p) in self.published.iter().enumerate() {
            let Some(r) = results.iter().find(|r| r.name == p.image) else {
                return Err(ctx.failure(format!(
                    "params.published[{i}]: no image named {} in this run",
                    p.image
                )));
            };
            let (label, ours) = match p.quantity {
                PublishedQuantity::G => ("g", r.g[0]),
                PublishedQuantity::Theta => ("theta", r.theta[0]),
                PublishedQuantity::ResponseSd => ("response sd", r.var_after.sqrt()),
                PublishedQuantity::ExcessKurtosis => ("response excess kurtosis", r.kurt_after),
            };
            out.claim(Claim {
                id: format!("p2.gaussianize_1d.published.{i}"),
                paper: 2,
                statement: format!(
                    "{} on {} reproduces the published value ({})",
                    label, p.image, p.source
                ),
                expected: format!("{} +- {}", p.value, p.tolerance),
                measured: format!("{ours:.4}"),
                pass: (ours - p.value).abs() <= p.tolerance,
                figure: Some("gaussianize_1d".into()),
                // a published number, reported beside ours
                informative: true,
            });
        }
        Ok(())
    }

    /// On generated images only: their band signals are heavy-tailed like photographs'
    /// (fitted `beta` well below 2).
    fn dead_leaves_claim(&self, out: &mut Outputs, results: &[ImageResult]) {
        let heavy = results.iter().map(|r| r.beta).fold(0.0, f64::max);
        if self.source.images.is_none() && !self.reads_signal_file() {
            out.claim(Claim {
                id: "p2.dead_leaves.heavy_tails".into(),
                paper: 2,
                statement: "The generated dead-leaves images give heavy-tailed band signals, like photographs".into(),
                expected: "fitted beta well below 2 (spec: about 0.63)".into(),
                measured: results.iter().map(|r| format!("{}: beta {:.3}", r.name, r.beta)).collect::<Vec<_>>().join(", "),
                pass: heavy < 1.2,
                figure: Some("gaussianize_1d".into()),
                informative: false,
            });
        }
    }
}

/// The table: one row per image, one column per gain and per theta (`g_0`, `g_1`, ..., as
/// many as the longest row has).
fn table(results: &[ImageResult]) -> Table {
    let len_g = results.iter().map(|r| r.g.len()).max().unwrap_or(0);
    let len_theta = results.iter().map(|r| r.theta.len()).max().unwrap_or(0);
    let mut columns: Vec<String> = ["image", "alpha", "beta"].map(String::from).into();
    columns.extend(indexed_columns("g", len_g));
    columns.extend(indexed_columns("theta", len_theta));
    columns.extend(
        [
            "mode",
            "iterations",
            "converged",
            "ks_before",
            "ks_after",
            "kurtosis_before",
            "kurtosis_after",
            "variance_after",
        ]
        .map(String::from),
    );
    let mut table = Table::with_columns("gaussianize_1d", columns);
    for r in results {
        let mut row = vec![r.name.clone().into(), r.alpha.into(), r.beta.into()];
        row.extend(indexed_cells(&r.g, len_g));
        row.extend(indexed_cells(&r.theta, len_theta));
        row.extend([
            r.mode.ron().into(),
            r.iterations.into(),
            (if r.converged { "yes" } else { "no" }).into(),
            r.ks_before.into(),
            r.ks_after.into(),
            r.kurt_before.into(),
            r.kurt_after.into(),
            r.var_after.into(),
        ]);
        table.push(row);
    }
    table
}

/// One image's summary entry: the fit, the circuit, the scores and the mode; for a signal
/// file also what was removed before fitting.
fn summary_entry(r: &ImageResult) -> serde_json::Value {
    let mut entry = serde_json::json!({
        "alpha": r.alpha, "beta": r.beta, "g": r.g, "theta": r.theta,
        "iterations": r.iterations, "converged": r.converged,
        "ks_before": r.ks_before, "ks_after": r.ks_after,
        "excess_kurtosis_before": r.kurt_before, "excess_kurtosis_after": r.kurt_after,
        "variance_after": r.var_after,
        "mode": r.mode.ron(), "candidates": r.candidates,
    });
    if let (Some((mean, sd)), Some(map)) = (r.standardised, entry.as_object_mut()) {
        // what was removed before fitting: the circuit saw (x - mean) / sd
        map.insert("signal_mean".into(), mean.into());
        map.insert("signal_sd".into(), sd.into());
        map.insert("samples".into(), r.signal.len().into());
    }
    entry
}
