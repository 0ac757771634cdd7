//! `adaptation`: the input covariance switches between two matrices every `period` samples;
//! both networks learn online and re-whiten after each switch. Error against samples; the
//! summary gives the samples needed to re-converge after a switch. See [`super::online`].

use serde::{Deserialize, Serialize};
use whiten_core::cov::GaussianSource;

use super::common::{
    Basis, Init, Spectrum, at_least_one, covariance, ensure, ensure_positive, initial_networks,
};
use super::online::{Stream, samples_to_threshold};
use super::online_learning::check_stream;
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::output::{Cell, Claim, Outputs, Table, json_float};
use crate::plot::{Axis, Figure, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// Parameters of `adaptation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Adaptation {
    /// Primary neurons.
    pub n: usize,
    /// Interneurons.
    pub k: usize,
    /// Eigenvalues of the first covariance C_A.
    pub spectrum_a: Spectrum,
    /// Eigenvalues of the second covariance C_B.
    pub spectrum_b: Spectrum,
    /// Eigenbases of C_A and C_B (Haar: independent random rotations).
    pub basis: Basis,
    /// Learning rate.
    pub eta: f64,
    /// Error threshold on the exact `||C_yy - I||_op`.
    pub threshold: f64,
    /// Samples between switches.
    pub period: usize,
    /// Number of switches (the run lasts `(switches + 1) * period` samples).
    pub switches: usize,
    /// Initial scale c.
    pub scale: f64,
    /// Initialisation.
    pub init: Init,
    /// Samples per update.
    pub batch: usize,
    /// Sliding window of the output covariance estimate.
    pub window: usize,
    /// Samples between records.
    pub record_every: usize,
}

impl Default for Adaptation {
    fn default() -> Self {
        Self {
            n: 5,
            k: 10,
            spectrum_a: Spectrum::Linspace(0.5, 2.0),
            spectrum_b: Spectrum::Logspace(1.0, 10.0),
            basis: Basis::Haar,
            eta: 0.01,
            threshold: 0.1,
            period: 5_000,
            switches: 5,
            scale: 1.0,
            init: Init::Commuting,
            batch: 1,
            window: 1_000,
            record_every: 25,
        }
    }
}

const NETWORKS: [&str; 2] = ["direct", "interneuron"];

impl Experiment for Adaptation {
    const KIND: &'static str = "adaptation";
    const DESCRIPTION: &'static str = "Paper 1, adaptation: the input covariance switches every N samples; error against samples and samples to re-converge";
    const PARAMS: &'static [ParamDoc] = &[
        param("n", "number of primary neurons (>= 1)"),
        param("k", "number of interneurons (>= n)"),
        param("spectrum_a", "eigenvalues of the first covariance C_A"),
        param("spectrum_b", "eigenvalues of the second covariance C_B"),
        param(
            "basis",
            "eigenbases of C_A and C_B: Identity or Haar (independent rotations)",
        ),
        param("eta", "learning rate (> 0)"),
        param(
            "threshold",
            "exact error ||C_yy - I||_op counted as re-converged (> 0)",
        ),
        param("period", "samples between switches of the covariance"),
        param("switches", "number of switches"),
        param("scale", "initial scale c (> 0)"),
        param("init", "initialisation: Commuting or Generic"),
        param("batch", "samples per update"),
        param(
            "window",
            "sliding window (samples) of the output covariance estimate",
        ),
        param("record_every", "samples between recorded errors"),
    ];

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        Some(MemoryEstimate::dense(self.n, self.k, 3.0, 1, threads))
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
        self.spectrum_a.check("spectrum_a", self.n)?;
        self.spectrum_b.check("spectrum_b", self.n)?;
        ensure_positive(self.scale, "scale")?;
        at_least_one(self.period, "period")?;
        ensure(self.switches >= 1, "switches", || {
            "must be at least 1".into()
        })
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let mut setup = ctx.setup_rng();
        let ca = covariance(self.n, &self.spectrum_a, self.basis, &mut setup);
        let cb = covariance(self.n, &self.spectrum_b, self.basis, &mut setup);
        let sources = [
            GaussianSource::new(ca.as_ref()).map_err(|e| ctx.numerical("set-up of C_A", e))?,
            GaussianSource::new(cb.as_ref()).map_err(|e| ctx.numerical("set-up of C_B", e))?,
        ];
        let total = (self.switches + 1) * self.period;
        let stream = Stream {
            sources: &sources,
            period: self.period,
            total,
            batch: self.batch,
            eta: self.eta,
            window: self.window,
            record_every: self.record_every,
        };
        let trace = ctx
            .par_tasks(1, "adaptation", |_, rng| {
                let what = "adaptation run";
                let (mut d, mut w) = initial_networks(self.init, self.n, self.k, self.scale, rng)
                    .map_err(|e| ctx.numerical(what, e))?;
                stream.run([&mut d, &mut w], rng, ctx, what)
            })?
            .remove(0);

        let mut out = Outputs::default();
        let mut table = Table::new(
            "reconvergence",
            &["switch", "at_sample", "network", "samples_to_reconverge"],
        );
        let mut per_net = [Vec::new(), Vec::new()];
        for s in 1..=self.switches {
            let from = s * self.period;
            for (ni, net) in NETWORKS.iter().enumerate() {
                let r = samples_to_threshold(&trace, ni, from, from + self.period, self.threshold);
                per_net[ni].push(r);
                table.push(vec![s.into(), from.into(), (*net).into(), Cell::from(r)]);
            }
        }
        let mut mean = serde_json::Map::new();
        let mut all_reached = true;
        for (ni, net) in NETWORKS.iter().enumerate() {
            let reached: Vec<usize> = per_net[ni].iter().flatten().copied().collect();
            all_reached &= reached.len() == self.switches;
            let m = if reached.is_empty() {
                f64::NAN
            } else {
                reached.iter().sum::<usize>() as f64 / reached.len() as f64
            };
            mean.insert((*net).into(), json_float(m));
            out.summarize(format!("reconverged_switches/{net}"), reached.len());
        }
        out.summarize("mean_samples_to_reconverge", mean);
        out.summarize(
            "samples_to_reconverge",
            serde_json::json!({"direct": per_net[0], "interneuron": per_net[1]}),
        );
        out.summarize("switches", self.switches);
        out.summarize("period", self.period);
        out.table(table);
        let mut traj = Table::new(
            "trajectories",
            &[
                "samples",
                "direct_error",
                "interneuron_error",
                "direct_windowed",
                "interneuron_windowed",
            ],
        );
        for (i, &s) in trace.samples.iter().enumerate() {
            traj.push(vec![
                s.into(),
                trace.exact[0][i].into(),
                trace.exact[1][i].into(),
                trace.windowed[0][i].into(),
                trace.windowed[1][i].into(),
            ]);
        }
        out.table(traj);

        let mut p = Panel::new(
            format!("C switches every {} samples", self.period),
            Axis::linear("samples"),
            Axis::log("error ||C_yy - I||_op"),
        );
        for (ni, net) in NETWORKS.iter().enumerate() {
            let pts = trace
                .samples
                .iter()
                .zip(&trace.exact[ni])
                .map(|(&s, &e)| (s as f64, e))
                .collect();
            p = p.with(Series::line(format!("{net} (exact)"), pts).colored(ni));
            let pts = trace
                .samples
                .iter()
                .zip(&trace.windowed[ni])
                .map(|(&s, &e)| (s as f64, e))
                .collect();
            p = p.with(
                Series::line(format!("{net} (window of {})", self.window), pts)
                    .styled(Style::Dashed)
                    .colored(ni),
            );
        }
        p = p.with(
            Series::line(
                "threshold",
                vec![(0.0, self.threshold), (total as f64, self.threshold)],
            )
            .styled(Style::Dashed)
            .colored(6),
        );
        out.figure(
            Figure::single(
                "adaptation_error",
                format!("Adaptation to switching statistics, eta = {}", self.eta),
                p,
            )
            .with_panel_size(1100, 460),
        );

        out.claim(Claim {
            id: "p1.adaptation.tracks".into(),
            paper: 1,
            statement: "Both networks re-whiten after every switch of the input covariance".into(),
            expected: format!(
                "error below {} within {} samples after each of {} switches",
                self.threshold, self.period, self.switches
            ),
            measured: format!(
                "re-converged after {} (direct) and {} (interneurons) of {} switches",
                per_net[0].iter().flatten().count(),
                per_net[1].iter().flatten().count(),
                self.switches
            ),
            pass: all_reached,
            figure: Some("adaptation_error".into()),
            informative: false,
        });
        Ok(out)
    }
}
