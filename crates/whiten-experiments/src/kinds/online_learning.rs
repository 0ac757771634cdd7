//! `online_learning`: paper 1's Algorithms 1 and 2 on streamed samples, error against samples
//! for several initial scales `c`. Both networks see the same samples. See [`super::online`].

use serde::{Deserialize, Serialize};
use whiten_core::cov::GaussianSource;

use super::common::{
    Basis, Init, Spectrum, acceleration_claim, at_least_one, check_sizes, covariance, ensure,
    ensure_positive, ensure_positive_grid, initial_networks, scale_key,
};
use super::online::{Stream, Trace, median_error, samples_to_threshold};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::output::{Cell, Outputs, Table, json_float};
use crate::plot::{Axis, Figure, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// Parameters of `online_learning`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineLearning {
    /// Primary neurons.
    pub n: usize,
    /// Interneurons.
    pub k: usize,
    /// Eigenvalues of C.
    pub spectrum: Spectrum,
    /// Eigenbasis of C.
    pub basis: Basis,
    /// Learning rate.
    pub eta: f64,
    /// Error threshold on the exact `||C_yy - I||_op`.
    pub threshold: f64,
    /// Initial scales c.
    pub scales: Vec<f64>,
    /// Initialisations.
    pub inits: Vec<Init>,
    /// Samples streamed.
    pub samples: usize,
    /// Samples per update.
    pub batch: usize,
    /// Sliding window for the output covariance estimate.
    pub window: usize,
    /// Samples between records.
    pub record_every: usize,
}

impl Default for OnlineLearning {
    fn default() -> Self {
        Self {
            n: 5,
            k: 10,
            spectrum: Spectrum::Linspace(0.5, 2.0),
            basis: Basis::Haar,
            eta: 0.01,
            threshold: 0.1,
            scales: vec![1.0, 10.0, 100.0],
            inits: vec![Init::Commuting],
            samples: 30_000,
            batch: 1,
            window: 1_000,
            record_every: 100,
        }
    }
}

const NETWORKS: [&str; 2] = ["direct", "interneuron"];

/// Checks shared by the streaming experiments.
pub(crate) fn check_stream(
    n: usize,
    k: usize,
    eta: f64,
    threshold: f64,
    batch: usize,
    window: usize,
    record_every: usize,
) -> Result<(), ParamError> {
    check_sizes(n, k)?;
    ensure_positive(eta, "eta")?;
    ensure_positive(threshold, "threshold")?;
    at_least_one(batch, "batch")?;
    at_least_one(window, "window")?;
    ensure(record_every >= 1, "record_every", || {
        "must be at least 1".into()
    })
}

impl Experiment for OnlineLearning {
    const KIND: &'static str = "online_learning";
    const DESCRIPTION: &'static str = "Paper 1, Algorithms 1 and 2 (online): error against streamed samples for several initial scales c";
    const PARAMS: &'static [ParamDoc] = &[
        param("n", "number of primary neurons (>= 1)"),
        param("k", "number of interneurons (>= n)"),
        param(
            "spectrum",
            "eigenvalues of C: Linspace(lo, hi), Logspace(lo, hi) or Values([..])",
        ),
        param("basis", "eigenbasis of C: Identity or Haar"),
        param("eta", "learning rate (> 0)"),
        param(
            "threshold",
            "exact error ||C_yy - I||_op counted as converged (> 0)",
        ),
        param("scales", "initial scales c, all > 0"),
        param("inits", "initialisations: Commuting and/or Generic"),
        param("samples", "samples streamed through each network"),
        param(
            "batch",
            "samples per update (1: the paper's single-sample rule)",
        ),
        param(
            "window",
            "sliding window (samples) of the output covariance estimate",
        ),
        param("record_every", "samples between recorded errors"),
    ];

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        Some(MemoryEstimate::dense(
            self.n,
            self.k,
            3.0,
            self.scales.len() * self.inits.len(),
            threads,
        ))
    }

    fn check(&self) -> Result<(), ParamError> {
        check_stream(
            self.n,
            self.k,
            self.eta,
            self.threshold,
            self.batch,
            self.window,
            self.record_every,
        )?;
        self.spectrum.check("spectrum", self.n)?;
        ensure_positive_grid(&self.scales, "scales")?;
        ensure(!self.inits.is_empty(), "inits", || {
            "must not be empty".into()
        })?;
        at_least_one(self.samples, "samples")
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let c = covariance(self.n, &self.spectrum, self.basis, &mut ctx.setup_rng());
        let source =
            GaussianSource::new(c.as_ref()).map_err(|e| ctx.numerical("set-up of C", e))?;
        let sources = [source];
        let stream = Stream {
            sources: &sources,
            period: usize::MAX,
            total: self.samples,
            batch: self.batch,
            eta: self.eta,
            window: self.window,
            record_every: self.record_every,
        };
        let combos: Vec<(Init, f64)> = self
            .inits
            .iter()
            .flat_map(|&i| self.scales.iter().map(move |&s| (i, s)))
            .collect();
        let traces: Vec<Trace> = ctx.par_tasks(combos.len(), "online", |t, rng| {
            let (init, scale) = combos[t];
            let what = format!("{} init, c = {scale}", init.label());
            let (mut d, mut w) = initial_networks(init, self.n, self.k, scale, rng)
                .map_err(|e| ctx.numerical(&what, e))?;
            stream.run([&mut d, &mut w], rng, ctx, &what)
        })?;

        let mut out = Outputs::default();
        let tail = self.samples - self.samples / 4;
        let mut to_thr = serde_json::Map::new();
        let mut floor = serde_json::Map::new();
        let mut table = Table::new(
            "samples_to_threshold",
            &["init", "network", "c", "samples", "noise_floor"],
        );
        let mut traj = Table::new(
            "trajectories",
            &["init", "network", "c", "samples", "error", "windowed_error"],
        );
        for (&(init, scale), tr) in combos.iter().zip(&traces) {
            for (ni, net) in NETWORKS.iter().enumerate() {
                let reached = samples_to_threshold(tr, ni, 0, self.samples, self.threshold);
                let nf = median_error(tr, ni, tail, self.samples);
                let key = format!("{}/{net}/c={}", init.label(), scale_key(scale));
                to_thr.insert(key.clone(), serde_json::json!(reached));
                floor.insert(key, json_float(nf));
                table.push(vec![
                    init.label().into(),
                    (*net).into(),
                    scale.into(),
                    Cell::from(reached),
                    nf.into(),
                ]);
                for (i, &s) in tr.samples.iter().enumerate() {
                    traj.push(vec![
                        init.label().into(),
                        (*net).into(),
                        scale.into(),
                        s.into(),
                        tr.exact[ni][i].into(),
                        tr.windowed[ni][i].into(),
                    ]);
                }
            }
        }
        out.summarize("samples_to_threshold", to_thr);
        out.summarize("noise_floor", floor);
        out.summarize("eta", self.eta);
        out.summarize("threshold", self.threshold);
        out.table(table);
        out.table(traj);

        let mut panels = Vec::new();
        for &init in &self.inits {
            let mut p = Panel::new(
                format!("{} initialisation", init.label()),
                Axis::linear("samples"),
                Axis::log("error ||C_yy - I||_op"),
            );
            for (ci, &scale) in self.scales.iter().enumerate() {
                let t = combos
                    .iter()
                    .position(|&x| x == (init, scale))
                    .expect("combo");
                for (ni, net) in NETWORKS.iter().enumerate() {
                    let pts = traces[t]
                        .samples
                        .iter()
                        .zip(&traces[t].exact[ni])
                        .map(|(&s, &e)| (s as f64, e))
                        .collect();
                    p = p.with(
                        Series::line(format!("{net}, c = {}", scale_key(scale)), pts)
                            .styled(if ni == 0 { Style::Line } else { Style::Dashed })
                            .colored(ci),
                    );
                }
            }
            p = p.with(
                Series::line(
                    "threshold",
                    vec![(0.0, self.threshold), (self.samples as f64, self.threshold)],
                )
                .styled(Style::Dashed)
                .colored(6),
            );
            panels.push(p);
        }
        out.figure(Figure::grid(
            "online_error",
            format!(
                "Online learning: direct (solid) vs interneurons (dashed), eta = {}",
                self.eta
            ),
            panels,
            self.inits.len(),
        ));

        let cmax = self.scales.iter().copied().fold(f64::MIN, f64::max);
        for &init in &self.inits {
            let t = combos
                .iter()
                .position(|&x| x == (init, cmax))
                .expect("combo");
            let d = samples_to_threshold(&traces[t], 0, 0, self.samples, self.threshold);
            let w = samples_to_threshold(&traces[t], 1, 0, self.samples, self.threshold);
            out.claim(acceleration_claim(
                "online",
                init,
                cmax,
                d,
                w,
                "samples",
                "online_error",
            ));
        }
        Ok(out)
    }
}
