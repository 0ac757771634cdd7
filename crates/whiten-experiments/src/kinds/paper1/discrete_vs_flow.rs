//! `discrete_vs_flow`: the discrete offline Algorithms 1 and 2 follow their gradient flows as
//! the learning rate shrinks. For each `eta` and initial scale `c`, the flow time of the
//! discrete run, `eta * iterations` to threshold, is compared with the time the flow itself
//! needs (same error `||C_yy - I||_op`, same threshold, located on the dense output).

use faer::Mat;
use serde::{Deserialize, Serialize};
use whiten_core::linear::WhiteningNetwork;
use whiten_ode::flows::{Below, DirectFlow, InterneuronFlow, Layout, WhiteningError};
use whiten_ode::integrate_until_event;

use super::offline_learning::learn_offline;
use super::setup::{
    Basis, Init, OdeSettings, Spectrum, check_sizes, covariance, flat, initial_networks, scale_key,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{ensure, ensure_positive, ensure_positive_grid};
use crate::output::{Cell, Claim, Outputs, Table, format_float, json_float};
use crate::plot::{Axis, Figure, Legend, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// Parameters of `discrete_vs_flow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscreteVsFlow {
    /// Primary neurons.
    pub n: usize,
    /// Interneurons.
    pub k: usize,
    /// Eigenvalues of C.
    pub spectrum: Spectrum,
    /// Eigenbasis of C.
    pub basis: Basis,
    /// Initial scales c.
    pub scales: Vec<f64>,
    /// Initialisation.
    pub init: Init,
    /// Learning rates, compared one by one with the flow.
    pub etas: Vec<f64>,
    /// Threshold on `||C_yy - I||_op`.
    pub threshold: f64,
    /// Updates before a discrete run gives up.
    pub max_iterations: usize,
    /// Integrator.
    pub ode: OdeSettings,
}

impl Default for DiscreteVsFlow {
    fn default() -> Self {
        Self {
            n: 5,
            k: 5,
            spectrum: Spectrum::Linspace(0.5, 2.0),
            basis: Basis::Identity,
            scales: vec![1.0, 10.0, 100.0],
            init: Init::Commuting,
            etas: vec![0.2, 0.1, 0.05, 0.02, 0.01],
            threshold: 1e-2,
            max_iterations: 100_000,
            ode: OdeSettings::default(),
        }
    }
}

const NETWORKS: [&str; 2] = ["direct", "interneuron"];

impl Experiment for DiscreteVsFlow {
    const KIND: &'static str = "discrete_vs_flow";
    const DESCRIPTION: &'static str = "Paper 1, eta * iterations of the discrete offline algorithms against the gradient-flow time, as eta shrinks";
    const PARAMS: &'static [ParamDoc] = &[
        param("n", "number of primary neurons (>= 1)"),
        param("k", "number of interneurons (>= n)"),
        param(
            "spectrum",
            "eigenvalues of C: Linspace(lo, hi), Logspace(lo, hi) or Values([..])",
        ),
        param("basis", "eigenbasis of C: Identity or Haar"),
        param("scales", "initial scales c"),
        param("init", "initialisation: Commuting or Generic"),
        param("etas", "learning rates (> 0), typically decreasing"),
        param(
            "threshold",
            "error ||C_yy - I||_op counted as converged (> 0)",
        ),
        param("max_iterations", "updates before a discrete run gives up"),
        param("ode", "integrator: (method, rtol, atol, max_steps)"),
    ];

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        Some(MemoryEstimate::dense(
            self.n,
            self.k,
            16.0,
            self.scales.len(),
            threads,
        ))
    }

    fn check(&self) -> Result<(), ParamError> {
        check_sizes(self.n, self.k)?;
        self.spectrum.check("spectrum", self.n)?;
        ensure_positive_grid(&self.scales, "scales")?;
        ensure_positive_grid(&self.etas, "etas")?;
        ensure_positive(self.threshold, "threshold")?;
        ensure(self.max_iterations >= 1, "max_iterations", || {
            "must be at least 1".into()
        })?;
        self.ode.check("ode")
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let results = self.measure(ctx)?;
        Ok(self.report(&results))
    }
}

/// Per scale: the `[direct, interneuron]` flow times, and per eta the `[direct, interneuron]`
/// iterations to threshold of the discrete runs (`None`: not reached).
type Measured = Vec<([f64; 2], Vec<[Option<usize>; 2]>)>;

impl DiscreteVsFlow {
    /// Integrates both flows and runs the discrete algorithms at every eta, from every scale.
    fn measure(&self, ctx: &RunContext) -> Result<Measured> {
        let c: Mat<f64> = covariance(self.n, &self.spectrum, self.basis, &mut ctx.setup_rng());
        // One task per scale: the flow times, then every eta. Each task re-draws the same
        // initial networks from its stream, so discrete and continuous runs start together.
        let results = ctx.par_tasks(self.scales.len(), "discrete vs flow", |t, rng| {
            let scale = self.scales[t];
            let what = format!("{} init, c = {scale}", self.init.label());
            let (d0, w0) = initial_networks(self.init, self.n, self.k, scale, rng)
                .map_err(|e| ctx.numerical(&what, e))?;
            let (opts, method) = (self.ode.options(ctx), self.ode.method());
            let t_max = 100.0 * scale + 100.0;
            let ev = |layout| Below::new(WhiteningError::new(c.as_ref(), layout), self.threshold);
            let flow_d = integrate_until_event(
                DirectFlow::new(c.as_ref()),
                method,
                0.0,
                &flat(d0.state()),
                t_max,
                &opts,
                ev(Layout::M),
            )
            .map_err(|e| ctx.integration(format!("the direct flow, {what}"), e))?;
            let flow_w = integrate_until_event(
                InterneuronFlow::new(c.as_ref(), self.k),
                method,
                0.0,
                &flat(w0.state()),
                t_max,
                &opts,
                ev(Layout::W { k: self.k }),
            )
            .map_err(|e| ctx.integration(format!("the interneuron flow, {what}"), e))?;
            let flow = [
                flow_d.event_time().unwrap_or(f64::NAN),
                flow_w.event_time().unwrap_or(f64::NAN),
            ];
            let mut discrete = Vec::new();
            for &eta in &self.etas {
                let (mut d, mut w) = (d0.clone(), w0.clone());
                let at = |net: &str| format!("{net} network, {what}, eta = {eta}");
                let td = learn_offline(
                    &mut d,
                    c.as_ref(),
                    eta,
                    self.threshold,
                    self.max_iterations,
                    ctx,
                    &at("direct"),
                )?;
                let tw = learn_offline(
                    &mut w,
                    c.as_ref(),
                    eta,
                    self.threshold,
                    self.max_iterations,
                    ctx,
                    &at("interneuron"),
                )?;
                discrete.push([td.reached, tw.reached]);
            }
            Ok((flow, discrete))
        })?;
        Ok(results)
    }

    /// Table, summary, figure and claim.
    fn report(&self, results: &Measured) -> Outputs {
        let mut out = Outputs::default();
        let mut table = Table::new(
            "discrete_vs_flow",
            &[
                "network",
                "c",
                "eta",
                "iterations",
                "eta_times_iterations",
                "flow_time",
                "relative_difference",
            ],
        );
        let mut summary = serde_json::Map::new();
        let mut worst_smallest_eta = 0.0f64;
        let mut monotone = true;
        let smallest = self.etas.iter().copied().fold(f64::INFINITY, f64::min);
        for (&scale, (flow, discrete)) in self.scales.iter().zip(results) {
            for (ni, net) in NETWORKS.iter().enumerate() {
                let mut prev = f64::INFINITY;
                let mut by_eta: Vec<(f64, f64)> = Vec::new();
                for (&eta, d) in self.etas.iter().zip(discrete) {
                    let t_disc = d[ni].map_or(f64::NAN, |it| eta * it as f64);
                    let diff = (t_disc - flow[ni]).abs() / flow[ni].max(1e-12);
                    by_eta.push((eta, diff));
                    table.push(vec![
                        (*net).into(),
                        scale.into(),
                        eta.into(),
                        Cell::from(d[ni]),
                        t_disc.into(),
                        flow[ni].into(),
                        diff.into(),
                    ]);
                    summary.insert(
                        format!("{net}/c={}/eta={}", scale_key(scale), format_float(eta)),
                        json_float(t_disc),
                    );
                    if eta == smallest {
                        worst_smallest_eta = worst_smallest_eta.max(if diff.is_nan() {
                            f64::INFINITY
                        } else {
                            diff
                        });
                    }
                }
                // Sorted by decreasing eta, the differences should not grow (up to one iteration).
                by_eta.sort_by(|a, b| b.0.total_cmp(&a.0));
                for &(eta, diff) in &by_eta {
                    monotone &= diff <= prev + eta / flow[ni].max(1e-12) + 1e-12;
                    prev = diff;
                }
                summary.insert(
                    format!("{net}/c={}/flow", scale_key(scale)),
                    json_float(flow[ni]),
                );
            }
        }
        out.summarize("flow_times", summary);
        out.summarize(
            "max_relative_difference_at_smallest_eta",
            worst_smallest_eta,
        );
        out.table(table);

        out.figure(self.figure(results));

        out.claim(Claim {
            id: "p1.discrete_follows_flow".into(),
            paper: 1,
            statement: "eta * iterations of the discrete offline algorithms matches the gradient-flow time as eta shrinks".into(),
            expected: "relative difference shrinks with eta; below 5% at the smallest eta".into(),
            measured: format!("{:.2}% at eta = {}; shrinking: {}", 100.0 * worst_smallest_eta, format_float(smallest), if monotone { "yes" } else { "no" }),
            pass: worst_smallest_eta < 0.05 && monotone,
            figure: Some("discrete_vs_flow".into()),
            informative: false,
        });
        out
    }

    /// The relative difference `|eta N - T| / T` against eta, per network and scale.
    fn figure(&self, results: &Measured) -> Figure {
        let mut p = Panel::new(
            "eta x iterations against flow time",
            Axis::log("learning rate eta"),
            Axis::log("relative difference |eta N - T| / T"),
        );
        for (si, (&scale, (flow, discrete))) in self.scales.iter().zip(results).enumerate() {
            for (ni, net) in NETWORKS.iter().enumerate() {
                let pts = self
                    .etas
                    .iter()
                    .zip(discrete)
                    .map(|(&eta, d)| {
                        (
                            eta,
                            d[ni].map_or(f64::NAN, |it| {
                                (eta * it as f64 - flow[ni]).abs() / flow[ni]
                            }),
                        )
                    })
                    .collect();
                p = p.with(
                    Series::line(format!("{net}, c = {}", scale_key(scale)), pts)
                        .styled(if ni == 0 {
                            Style::LineMarkers
                        } else {
                            Style::Dashed
                        })
                        .colored(si),
                );
            }
        }
        Figure::single(
            "discrete_vs_flow",
            "Discrete offline algorithms follow the gradient flows as eta -> 0",
            p.legend_at(Legend::LowerRight),
        )
    }
}
