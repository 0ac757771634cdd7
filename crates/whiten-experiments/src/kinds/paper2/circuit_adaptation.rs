//! `circuit_adaptation` (paper 2's circuit, the adaptation idea of paper 1): a 1D circuit
//! that keeps learning, with constant rates, while its input switches between images of
//! contrasting statistics. After each switch its gain `g` and activation parameter `theta`
//! move towards what learning on the new image alone reaches; the experiment measures how far
//! and how fast (the fall after a switch to a sparser image is fast, the recovery after the
//! switch back slow: the gain is multiplicative, `dg = g E[c]`, so climbing back up from a
//! small gain takes many steps).
//!
//! Per phase of the sequence: the gain and theta at its start and end, the values that
//! learning on that image alone reaches in as many steps from the same start, the steps until
//! `ln g` is within `ln(1 + tolerance)` of that value, and the fraction of the way (in `ln g`)
//! covered by the end of the phase. A probe of the current image's signal measures the
//! responses' excess kurtosis along the way.
//!
//! The default needs no files: two dead-leaves images, one clean (sparse band, GG beta about
//! 0.5) and one with strong pixel noise (the band nearly Gaussian). The photographs variant
//! switches kodak-13 -> kodak-23 -> kodak-13. A user's recordings go in as
//! `Signal("x.npy")` (or a one-column CSV) in place of an image.

use std::path::Path;

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use whiten_core::circuit::{Circuit, LearningRates, Schedule, Trainer};
use whiten_core::stats::{excess_kurtosis, fit_generalized_gaussian};

use super::{
    ImageSignal, SOLVER_DOC, SolverSettings, ThetaMode, centre_crop_checked, check_theta_init,
    signal_of, train_on,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::images::read_image;
use crate::kinds::common::{ensure, ensure_positive};
use crate::output::{Claim, Outputs, Table};
use crate::paths::PathParam;
use crate::plot::{Axis, Figure, Legend, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// One image the input can switch to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdaptImage {
    /// A generated dead-leaves image (the default's discs, radii 2 to 150, density `r^-3`)
    /// with this standard deviation of additive pixel noise: 0.002 gives a sparse band,
    /// 0.1 a nearly Gaussian one.
    DeadLeaves(f64),
    /// An image file (Sun raster, PNG, PGM, JPEG, TIFF); a relative path is relative to the experiment
    /// file's folder ([`crate::paths`]).
    File(PathParam),
    /// A 1D signal file instead of an image's band: a `.npy` vector or a one-column CSV of at
    /// least [`super::MIN_SIGNAL_SAMPLES`] values, standardised to mean 0 and standard
    /// deviation 1 (as `gaussianize_1d`'s `source.signal`); relative to the experiment file's
    /// folder.
    Signal(PathParam),
}

/// Parameters of `circuit_adaptation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitAdaptation {
    /// The images the input switches between.
    pub images: Vec<AdaptImage>,
    /// Side of the centre crop (pixels, even).
    pub crop: usize,
    /// Orientation of the pyramid band (0, 1 or 2).
    pub orientation: usize,
    /// The order in which the images are shown (indices into `images`), one phase each.
    pub sequence: Vec<usize>,
    /// Learning steps per phase.
    pub phase_iterations: usize,
    /// Constant gain rate (the authors' 1D rate by default).
    pub eta_g: f64,
    /// Constant theta rate (the authors' 1D rate by default; 0 with a `Grid`).
    pub eta_theta: f64,
    /// Samples per step.
    pub batch: usize,
    /// `Learned` (default: one interneuron learning g and theta, the paper), `Initial`,
    /// `Fixed(v)` or `Grid([..])`; `Auto` chooses after learning and cannot track.
    pub theta: ThetaMode,
    /// Base of the initial theta (`theta_0 = theta_init + 0.1 U`).
    pub theta_init: f64,
    /// Steps between two probes of the responses.
    pub probe_every: usize,
    /// Signal samples per probe (drawn afresh each time).
    pub probe_samples: usize,
    /// Re-adapted means `ln g` within `ln(1 + tolerance)` of learning on the image alone.
    pub tolerance: f64,
    /// Response solver.
    pub solver: SolverSettings,
}

impl Default for CircuitAdaptation {
    fn default() -> Self {
        let r = LearningRates::REFERENCE_1D;
        Self {
            images: vec![AdaptImage::DeadLeaves(0.002), AdaptImage::DeadLeaves(0.1)],
            crop: 512,
            orientation: 0,
            sequence: vec![0, 1, 0, 1],
            phase_iterations: 40_000,
            eta_g: r.eta_g,
            eta_theta: r.eta_theta,
            batch: 10,
            theta: ThetaMode::Learned,
            theta_init: 2.2,
            probe_every: 500,
            probe_samples: 20_000,
            tolerance: 0.1,
            solver: SolverSettings::default(),
        }
    }
}

/// An image's signal and its name.
struct Source {
    name: String,
    signal: Vec<f64>,
    beta: f64,
}

/// One probe of the sequence run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Probe {
    step: usize,
    g: f64,
    theta: f64,
    kurtosis: f64,
}

/// Learning on one image alone, from the common start.
#[derive(Serialize, Deserialize)]
struct Alone {
    g: f64,
    theta: f64,
    kurtosis: f64,
}

impl CircuitAdaptation {
    fn trainer(&self, iterations: usize) -> Trainer {
        let learns = self.theta.learns_theta();
        Trainer {
            batch_size: self.batch,
            schedule: Schedule::Reference {
                rates: LearningRates {
                    eta_g: self.eta_g,
                    eta_theta: if learns { self.eta_theta } else { 0.0 },
                    eta_w: 0.0,
                },
                iterations,
            },
        }
    }

    /// The circuit every run starts from (drawn from the set-up stream).
    fn start(&self, ctx: &RunContext) -> Result<Circuit> {
        let mut rng = ctx.setup_rng();
        let mut c = Circuit::reference_init(1, 1, self.theta_init, &mut rng)
            .map_err(|e| ctx.numerical("initialising the circuit", e))?;
        c.set_options(self.solver.options(super::BDerivativeRule::Reference))
            .map_err(|e| ctx.numerical("options", e))?;
        self.theta.apply(&mut c, ctx, "the circuit")?;
        Ok(c)
    }

    fn load(&self, index: usize, ctx: &RunContext) -> Result<Source> {
        let (name, image) = match &self.images[index] {
            AdaptImage::DeadLeaves(noise) => {
                super::generated_image(0, index, self.crop, *noise, ctx)?
            }
            AdaptImage::File(p) => {
                let img = read_image(p.path()).map_err(|e| ctx.failure(e.to_string()))?;
                let name = p
                    .path()
                    .file_stem()
                    .map_or_else(|| p.to_string(), |s| s.to_string_lossy().into_owned());
                (name, img)
            }
            AdaptImage::Signal(p) => {
                let file = super::read_signal_1d(p).map_err(|e| ctx.failure(e))?;
                let fit = fit_generalized_gaussian(&file.values)
                    .map_err(|e| ctx.numerical(format!("GG fit of {}", file.name), e))?;
                return Ok(Source {
                    name: file.name,
                    signal: file.values,
                    beta: fit.beta,
                });
            }
        };
        let image = centre_crop_checked(image, self.crop, &name, "params.crop", ctx)?;
        let ImageSignal {
            name, signal, fit, ..
        } = signal_of(name, image, self.orientation, ctx)?;
        let beta = fit.beta;
        Ok(Source { name, signal, beta })
    }

    /// Excess kurtosis of the responses to `m` samples drawn from `signal`.
    fn probe<R: Rng>(
        &self,
        c: &Circuit,
        signal: &[f64],
        rng: &mut R,
        ctx: &RunContext,
    ) -> Result<f64> {
        let s: Vec<f64> = (0..self.probe_samples)
            .map(|_| signal[rng.random_range(0..signal.len())])
            .collect();
        let mut r = vec![0.0; s.len()];
        c.respond_batch(&s, &mut r)
            .map_err(|e| ctx.numerical("probe responses", e))?;
        Ok(excess_kurtosis(&r))
    }

    /// Learns `iterations` steps on `signal` in chunks of `probe_every`, checking for
    /// cancellation between chunks; `visit` sees the circuit after every chunk.
    fn learn<R: Rng>(
        &self,
        c: &mut Circuit,
        signal: &[f64],
        iterations: usize,
        rng: &mut R,
        ctx: &RunContext,
        what: &str,
        mut visit: impl FnMut(&Circuit, usize, &mut R) -> Result<()>,
    ) -> Result<()> {
        let mut done = 0;
        while done < iterations {
            if ctx.cancelled() {
                return Err(ctx.cancellation());
            }
            let chunk = self.probe_every.min(iterations - done);
            train_on(c, &self.trainer(chunk), signal, rng, || ctx.cancelled())
                .map_err(|e| ctx.numerical(format!("learning on {what} at step {done}"), e))?;
            done += chunk;
            visit(c, done, rng)?;
        }
        Ok(())
    }
}

/// `ln g`, summed over the components (the circuit's overall gain in 1D: `g` of a single
/// interneuron, the sum of the gains of a grid).
fn gain(c: &Circuit) -> f64 {
    c.g().iter().sum()
}

impl Experiment for CircuitAdaptation {
    const KIND: &'static str = "circuit_adaptation";
    const DESCRIPTION: &'static str = "Paper 2's 1D circuit keeps learning while its input switches between images of contrasting statistics: the fall and the recovery of g and theta after each switch, against learning on each image alone";
    const PARAMS: &'static [ParamDoc] = &[
        param(
            "images",
            "the images the input switches between: [DeadLeaves(noise_std), File(\"path\")]; a relative path is relative to the experiment file's folder",
        ),
        param("crop", "side of the centre crop (pixels, even)"),
        param("orientation", "pyramid band orientation (0, 1 or 2)"),
        param(
            "sequence",
            "indices into images, one phase each (at least two phases)",
        ),
        param("phase_iterations", "learning steps per phase"),
        param("eta_g", "constant gain rate (authors: 1e-3)"),
        param("eta_theta", "constant theta rate (authors: 1e-4)"),
        param("batch", "samples per step (authors: 10)"),
        param(
            "theta",
            "Learned (default, the paper), Initial, Fixed(v) or Grid([..]); not Auto",
        ),
        param("theta_init", "base of the initial theta, within [1, 2.9]"),
        param(
            "probe_every",
            "steps between probes of g, theta and kurtosis",
        ),
        param("probe_samples", "signal samples per probe"),
        param(
            "tolerance",
            "re-adapted: ln g within ln(1 + tolerance) of learning on the image alone",
        ),
        param("solver", SOLVER_DOC),
    ];

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        self.images
            .iter()
            .filter_map(|im| match im {
                AdaptImage::File(p) | AdaptImage::Signal(p) => Some(p.path().to_path_buf()),
                AdaptImage::DeadLeaves(_) => None,
            })
            .collect()
    }

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        // every task holds the images it switches between
        let per = 12.0 * self.images.len().max(1) as f64;
        Some(MemoryEstimate::pixels(
            self.crop,
            per,
            1 + self.images.len(),
            threads,
        ))
    }

    fn resolve_paths(&mut self, base: &Path) -> Result<(), ParamError> {
        for (i, im) in self.images.iter_mut().enumerate() {
            if let AdaptImage::File(p) | AdaptImage::Signal(p) = im {
                p.resolve(base, &format!("images[{i}]"))?;
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), ParamError> {
        ensure(!self.images.is_empty(), "images", || {
            "needs at least one image".into()
        })?;
        for (i, im) in self.images.iter().enumerate() {
            match im {
                AdaptImage::DeadLeaves(noise) => ensure(
                    noise.is_finite() && *noise >= 0.0,
                    &format!("images[{i}]"),
                    || format!("noise must be >= 0 and finite (got {noise})"),
                )?,
                AdaptImage::File(p) | AdaptImage::Signal(p) => {
                    ensure(!p.is_empty(), &format!("images[{i}]"), || {
                        "empty path".into()
                    })?
                }
            }
        }
        ensure(self.sequence.len() >= 2, "sequence", || {
            "needs at least two phases".into()
        })?;
        for (i, &s) in self.sequence.iter().enumerate() {
            ensure(s < self.images.len(), &format!("sequence[{i}]"), || {
                format!("index {s} but only {} images", self.images.len())
            })?;
        }
        ensure(
            self.crop >= 8 && self.crop.is_multiple_of(2),
            "crop",
            || format!("must be even and at least 8 (got {})", self.crop),
        )?;
        ensure(self.orientation < 3, "orientation", || {
            format!("must be 0, 1 or 2 (got {})", self.orientation)
        })?;
        for (v, f) in [
            (self.phase_iterations, "phase_iterations"),
            (self.batch, "batch"),
            (self.probe_every, "probe_every"),
            (self.probe_samples, "probe_samples"),
        ] {
            ensure(v >= 1, f, || "must be at least 1".into())?;
        }
        ensure_positive(self.eta_g, "eta_g")?;
        ensure(
            self.eta_theta.is_finite() && self.eta_theta >= 0.0,
            "eta_theta",
            || format!("must be >= 0 and finite (got {})", self.eta_theta),
        )?;
        ensure_positive(self.tolerance, "tolerance")?;
        ensure(self.theta != ThetaMode::Auto, "theta", || {
            "Auto chooses among circuits after learning and cannot track a switching input: use Learned, Initial, Fixed(v) or Grid([..])".into()
        })?;
        self.theta.check("theta")?;
        check_theta_init(self.theta_init, "theta_init")?;
        self.solver.check()?;
        for (i, im) in self.images.iter().enumerate() {
            if let AdaptImage::Signal(p) = im {
                // Errors give the path as written and as resolved.
                super::read_signal_1d(p)
                    .map_err(|reason| ParamError::new(format!("images[{i}]"), reason))?;
            }
            if let AdaptImage::File(p) = im {
                // Errors give the path as written and as resolved.
                let img = read_image(p.path())
                    .map_err(|e| ParamError::new(format!("images[{i}]"), p.refusal(e)))?;
                ensure(
                    img.width >= self.crop && img.height >= self.crop,
                    &format!("images[{i}]"),
                    || {
                        format!(
                            "{}: image is {} x {} pixels, smaller than the crop {}",
                            p.describe(),
                            img.width,
                            img.height,
                            self.crop
                        )
                    },
                )?;
            }
        }
        Ok(())
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let sources = (0..self.images.len())
            .map(|i| self.load(i, ctx))
            .collect::<Result<Vec<_>>>()?;
        let start = self.start(ctx)?;
        // Task 0: the switching sequence; task 1 + i: image i alone, as long as one phase.
        let n_images = self.images.len();
        #[derive(Serialize, Deserialize)]
        enum Outcome {
            Sequence(Vec<Probe>),
            Alone(Alone),
        }
        let outcomes = ctx.par_tasks(1 + n_images, "runs", |task, rng| {
            let mut c = start.clone();
            if task == 0 {
                let mut probes = Vec::new();
                let k0 = self.probe(&c, &sources[self.sequence[0]].signal, rng, ctx)?;
                probes.push(Probe {
                    step: 0,
                    g: gain(&c),
                    theta: c.theta()[0],
                    kurtosis: k0,
                });
                for (phase, &img) in self.sequence.iter().enumerate() {
                    let offset = phase * self.phase_iterations;
                    let src = &sources[img];
                    self.learn(
                        &mut c,
                        &src.signal,
                        self.phase_iterations,
                        rng,
                        ctx,
                        &src.name,
                        |c, done, rng| {
                            probes.push(Probe {
                                step: offset + done,
                                g: gain(c),
                                theta: c.theta()[0],
                                kurtosis: self.probe(c, &src.signal, rng, ctx)?,
                            });
                            Ok(())
                        },
                    )?;
                }
                Ok(Outcome::Sequence(probes))
            } else {
                let src = &sources[task - 1];
                self.learn(
                    &mut c,
                    &src.signal,
                    self.phase_iterations,
                    rng,
                    ctx,
                    &src.name,
                    |_, _, _| Ok(()),
                )?;
                let kurtosis = self.probe(&c, &src.signal, rng, ctx)?;
                Ok(Outcome::Alone(Alone {
                    g: gain(&c),
                    theta: c.theta()[0],
                    kurtosis,
                }))
            }
        })?;
        let mut probes = Vec::new();
        let mut alone = Vec::new();
        for o in outcomes {
            match o {
                Outcome::Sequence(p) => probes = p,
                Outcome::Alone(a) => alone.push(a),
            }
        }
        self.outputs(&sources, &probes, &alone)
    }
}

/// What one phase did.
struct PhaseResult {
    image: usize,
    g_start: f64,
    g_end: f64,
    theta_end: f64,
    kurtosis_end: f64,
    /// Steps into the phase until `ln g` was within tolerance of the alone value.
    steps_to_adapt: Option<usize>,
    /// Fraction of the way from `ln g_start` to `ln g_alone` covered at the phase's end.
    fraction: f64,
}

impl CircuitAdaptation {
    fn phases(&self, probes: &[Probe], alone: &[Alone]) -> Vec<PhaseResult> {
        let tol = (1.0 + self.tolerance).ln();
        self.sequence
            .iter()
            .enumerate()
            .map(|(p, &img)| {
                let (lo, hi) = (p * self.phase_iterations, (p + 1) * self.phase_iterations);
                let inside: Vec<&Probe> = probes
                    .iter()
                    .filter(|q| q.step > lo && q.step <= hi)
                    .collect();
                let first = probes
                    .iter()
                    .rfind(|q| q.step <= lo)
                    .copied()
                    .unwrap_or(probes[0]);
                let last = inside.last().map_or(first, |q| **q);
                let target = alone[img].g.ln();
                let steps_to_adapt = inside
                    .iter()
                    .find(|q| (q.g.ln() - target).abs() <= tol)
                    .map(|q| q.step - lo);
                let span = target - first.g.ln();
                let fraction = if span.abs() > 1e-12 {
                    (last.g.ln() - first.g.ln()) / span
                } else {
                    1.0
                };
                PhaseResult {
                    image: img,
                    g_start: first.g,
                    g_end: last.g,
                    theta_end: last.theta,
                    kurtosis_end: last.kurtosis,
                    steps_to_adapt,
                    fraction,
                }
            })
            .collect()
    }

    fn outputs(&self, sources: &[Source], probes: &[Probe], alone: &[Alone]) -> Result<Outputs> {
        let phases = self.phases(probes, alone);
        let mut out = Outputs::default();
        let mut trace = Table::new(
            "trace",
            &["step", "phase", "image", "g", "theta", "kurtosis"],
        );
        for q in probes {
            let phase =
                (q.step.saturating_sub(1) / self.phase_iterations).min(self.sequence.len() - 1);
            trace.push(vec![
                q.step.into(),
                phase.into(),
                sources[self.sequence[phase]].name.clone().into(),
                q.g.into(),
                q.theta.into(),
                q.kurtosis.into(),
            ]);
        }
        out.table(trace);
        let mut table = Table::new(
            "phases",
            &[
                "phase",
                "image",
                "g_start",
                "g_end",
                "g_alone",
                "theta_end",
                "theta_alone",
                "kurtosis_end",
                "kurtosis_alone",
                "steps_to_adapt",
                "fraction_adapted",
            ],
        );
        let mut summary = Vec::new();
        for (p, r) in phases.iter().enumerate() {
            let a = &alone[r.image];
            table.push(vec![
                p.into(),
                sources[r.image].name.clone().into(),
                r.g_start.into(),
                r.g_end.into(),
                a.g.into(),
                r.theta_end.into(),
                a.theta.into(),
                r.kurtosis_end.into(),
                a.kurtosis.into(),
                r.steps_to_adapt.map_or_else(|| "".into(), |s| s.into()),
                r.fraction.into(),
            ]);
            summary.push(serde_json::json!({
                "image": sources[r.image].name,
                "g_start": r.g_start, "g_end": r.g_end, "g_alone": a.g,
                "theta_end": r.theta_end, "theta_alone": a.theta,
                "kurtosis_end": r.kurtosis_end, "kurtosis_alone": a.kurtosis,
                "steps_to_adapt": r.steps_to_adapt,
                "fraction_adapted": r.fraction,
            }));
        }
        out.table(table);
        out.summarize("phases", summary);
        out.summarize(
            "images",
            sources
                .iter()
                .map(|s| serde_json::json!({"name": s.name, "beta": s.beta}))
                .collect::<Vec<_>>(),
        );
        out.figure(self.figure(sources, probes, alone));

        // Claim: every phase after the first ends re-adapted (within tolerance of alone).
        let later = &phases[1..];
        out.claim(Claim {
            id: "p2.circuit_adaptation.readapts".into(),
            paper: 2,
            statement: format!(
                "A circuit that keeps learning re-adapts after every switch of its input ({} steps per phase)",
                self.phase_iterations
            ),
            expected: format!(
                "at the end of every phase after the first, g within a factor 1 + {} of learning on that image alone",
                self.tolerance
            ),
            measured: later
                .iter()
                .map(|r| {
                    format!(
                        "{}: g {:.4} vs alone {:.4} ({:.0}% of the way{})",
                        sources[r.image].name,
                        r.g_end,
                        alone[r.image].g,
                        100.0 * r.fraction,
                        r.steps_to_adapt
                            .map_or_else(String::new, |s| format!(", within tolerance after {s} steps"))
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            pass: later
                .iter()
                .all(|r| (r.g_end.ln() - alone[r.image].g.ln()).abs() <= (1.0 + self.tolerance).ln()),
            figure: Some("circuit_adaptation".into()),
            informative: false,
        });
        Ok(out)
    }

    fn figure(&self, sources: &[Source], probes: &[Probe], alone: &[Alone]) -> Figure {
        let total = (self.sequence.len() * self.phase_iterations) as f64;
        let x_axis = || Axis::linear("learning step").with_range(0.0, total);
        // Per-phase levels of learning alone (dashed), and the switches (dotted verticals).
        let levels = |get: &dyn Fn(&Alone) -> f64| -> Vec<(f64, f64)> {
            self.sequence
                .iter()
                .enumerate()
                .flat_map(|(p, &img)| {
                    let (lo, hi) = (
                        (p * self.phase_iterations) as f64,
                        ((p + 1) * self.phase_iterations) as f64,
                    );
                    let y = get(&alone[img]);
                    [(lo, y), (hi, y), (hi, f64::NAN)]
                })
                .collect()
        };
        let switches = |lo: f64, hi: f64| -> Vec<(f64, f64)> {
            (1..self.sequence.len())
                .flat_map(|p| {
                    let x = (p * self.phase_iterations) as f64;
                    [(x, lo), (x, hi), (x, f64::NAN)]
                })
                .collect()
        };
        let range = |vals: Vec<f64>, log: bool| -> (f64, f64) {
            let (mut lo, mut hi) = vals
                .iter()
                .filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            if log {
                (lo, hi) = (lo / 1.5, hi * 1.5);
            } else {
                let pad = 0.1 * (hi - lo).max(1e-3);
                (lo, hi) = (lo - pad, hi + pad);
            }
            (lo, hi)
        };
        let names: Vec<String> = self
            .sequence
            .iter()
            .map(|&i| sources[i].name.clone())
            .collect();
        let mut panels = Vec::new();
        type Get = fn(&Probe) -> f64;
        type GetAlone = fn(&Alone) -> f64;
        let specs: [(&str, &str, Get, GetAlone, bool); 3] = [
            ("gain g", "g", |q| q.g, |a| a.g, true),
            (
                "activation parameter theta",
                "theta",
                |q| q.theta,
                |a| a.theta,
                false,
            ),
            (
                "excess kurtosis of the responses (probe)",
                "excess kurtosis",
                |q| q.kurtosis,
                |a| a.kurtosis,
                false,
            ),
        ];
        for (pi, (title, label, get, get_alone, log)) in specs.into_iter().enumerate() {
            let mut vals: Vec<f64> = probes.iter().map(get).collect();
            vals.extend(alone.iter().map(get_alone));
            let (lo, hi) = range(vals, log);
            let y = if log {
                Axis::log(label)
            } else {
                Axis::linear(label)
            }
            .with_range(lo, hi);
            // One legend for the row, on its last panel.
            let panel = Panel::new(title, x_axis(), y)
                .with(
                    Series::line(
                        "circuit that keeps learning",
                        probes.iter().map(|q| (q.step as f64, get(q))).collect(),
                    )
                    .colored(0),
                )
                .with(
                    Series::line("learning on that image alone", levels(&|a| get_alone(a)))
                        .styled(Style::Dashed)
                        .colored(1),
                )
                .with(
                    Series::line("input switches", switches(lo, hi))
                        .styled(Style::Line)
                        .colored(6),
                )
                .legend_at(if pi == 2 {
                    Legend::UpperRight
                } else {
                    Legend::Hidden
                });
            panels.push(panel);
        }
        Figure::grid(
            "circuit_adaptation",
            format!(
                "A 1D circuit that keeps learning while its input switches: {} ({} steps per phase)",
                names.join(" -> "),
                self.phase_iterations
            ),
            panels,
            3,
        )
    }
}
