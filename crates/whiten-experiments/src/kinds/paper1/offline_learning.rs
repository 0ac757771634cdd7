//! `offline_learning`: paper 1's Algorithms 1 and 2 with the offline (batch) update, error
//! `||C_yy - I||_op` against iteration for a grid of initial scales `c`.
//!
//! Offline updates (`C` known exactly):
//!
//! * direct (Algorithm 1): `M <- M + eta (C_yy - I)`, `C_yy = M^{-1} C M^{-1}`;
//! * interneurons (Algorithm 2): `W <- W + eta (C_yy - I) W`, `M = W W^T`.
//!
//! Iterations to threshold: the number of updates after which the error first drops below
//! `threshold` (0 if the initial network is already there).

use serde::{Deserialize, Serialize};
use whiten_core::linear::WhiteningNetwork;
use whiten_core::metrics::whitening_error;

use super::setup::{
    Basis, DATA_DOC, Init, Spectrum, acceleration_claim, check_sizes, covariance, data_inputs,
    initial_networks, load_data, resolve_data, scale_key, stability_note,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{ensure, ensure_positive, ensure_positive_grid};
use crate::output::{Cell, Claim, Outputs, Table, row_major};
use crate::paths::PathParam;
use crate::plot::{Axis, Figure, Legend, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// Parameters of `offline_learning`. The defaults are the spec's reference case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfflineLearning {
    /// Primary neurons.
    pub n: usize,
    /// Interneurons (k >= n).
    pub k: usize,
    /// Eigenvalues of C.
    pub spectrum: Spectrum,
    /// Eigenbasis of C.
    pub basis: Basis,
    /// A data matrix (samples x n, `.npy` or `.csv`) whose covariance replaces `spectrum` and
    /// `basis`; relative to the experiment file's folder.
    pub data: Option<PathParam>,
    /// Learning rate.
    pub eta: f64,
    /// Error threshold on `||C_yy - I||_op`.
    pub threshold: f64,
    /// Initial scales c.
    pub scales: Vec<f64>,
    /// Initialisations to run.
    pub inits: Vec<Init>,
    /// Updates before giving up.
    pub max_iterations: usize,
}

impl Default for OfflineLearning {
    fn default() -> Self {
        Self {
            n: 5,
            k: 5,
            spectrum: Spectrum::Linspace(0.5, 2.0),
            basis: Basis::Identity,
            data: None,
            eta: 0.1,
            threshold: 1e-2,
            scales: vec![1.0, 10.0, 100.0],
            inits: vec![Init::Commuting, Init::Generic],
            max_iterations: 20_000,
        }
    }
}

/// One network's run: errors after 0, 1, 2, ... updates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Trajectory {
    pub errors: Vec<f64>,
    pub reached: Option<usize>,
    /// The learned synapses at the end: `M` (direct) or `W` (interneurons).
    #[serde(with = "crate::stored")]
    pub state: faer::Mat<f64>,
}

/// Runs offline updates until the error drops below `threshold` or `max` updates.
pub(crate) fn learn_offline(
    net: &mut dyn WhiteningNetwork,
    c: faer::MatRef<'_, f64>,
    eta: f64,
    threshold: f64,
    max: usize,
    ctx: &RunContext,
    what: &str,
) -> Result<Trajectory> {
    let note = stability_note(net.label(), eta, c);
    let at = |it: usize| format!("{what}, iteration {it}{note}");
    let mut errors = vec![whitening_error(net, c).map_err(|e| ctx.numerical(at(0), e))?];
    let mut reached = (errors[0] < threshold).then_some(0);
    let mut it = 0;
    while reached.is_none() && it < max {
        ctx.stop_point()?;
        it += 1;
        net.offline_step(c, eta)
            .map_err(|e| ctx.numerical(at(it), e))?;
        let e = whitening_error(net, c).map_err(|e| ctx.numerical(at(it), e))?;
        errors.push(e);
        if e < threshold {
            reached = Some(it);
        }
    }
    Ok(Trajectory {
        errors,
        reached,
        state: net.state().to_owned(),
    })
}

/// Saves the covariance used (`C.npy`, n x n) and the learned synapses of every run:
/// `M_direct.npy` (runs x n x n) and `W_interneuron.npy` (runs x n x k), runs in the order of
/// the parameters (each initialisation in `inits`, then each scale in `scales`).
pub(crate) fn save_learned<T>(
    out: &mut Outputs,
    c: faer::MatRef<'_, f64>,
    n: usize,
    k: usize,
    runs: &[[T; 2]],
    state: impl Fn(&T) -> &faer::Mat<f64>,
) {
    out.array("C", &[n, n], row_major(c));
    for (i, (name, cols)) in [("M_direct", n), ("W_interneuron", k)]
        .into_iter()
        .enumerate()
    {
        let data = runs
            .iter()
            .flat_map(|pair| row_major(state(&pair[i]).as_ref()))
            .collect();
        out.array(name, &[runs.len(), n, cols], data);
    }
}

impl OfflineLearning {
    /// Whether this is the spec's reference case (so its iteration counts can be checked).
    fn is_reference_case(&self) -> bool {
        self.data.is_none()
            && self.n == 5
            && self.k == 5
            && self.spectrum == Spectrum::Linspace(0.5, 2.0)
            && self.basis == Basis::Identity
            && self.eta == 0.1
            && self.threshold == 1e-2
            && self.inits.contains(&Init::Commuting)
            && [1.0, 10.0, 100.0].iter().all(|c| self.scales.contains(c))
    }
}

const NETWORKS: [&str; 2] = ["direct", "interneuron"];

impl Experiment for OfflineLearning {
    const KIND: &'static str = "offline_learning";
    const DESCRIPTION: &'static str = "Paper 1, Algorithms 1 and 2 (offline): error ||C_yy - I|| against iteration for several initial scales c";
    const PARAMS: &'static [ParamDoc] = &[
        param("n", "number of primary neurons (>= 1)"),
        param("k", "number of interneurons (>= n)"),
        param(
            "spectrum",
            "eigenvalues of C: Linspace(lo, hi), Logspace(lo, hi) or Values([..])",
        ),
        param(
            "basis",
            "eigenbasis of C: Identity (diagonal C) or Haar (random rotation)",
        ),
        param("eta", "learning rate of the offline updates (> 0)"),
        param(
            "threshold",
            "error ||C_yy - I||_op counted as converged (> 0)",
        ),
        param("scales", "initial scales c (M_0 = c I or c B), all > 0"),
        param("data", DATA_DOC),
        param("inits", "initialisations: Commuting and/or Generic"),
        param(
            "max_iterations",
            "updates before a run counts as not converged",
        ),
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

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        data_inputs(&self.data)
    }

    fn resolve_paths(&mut self, base: &std::path::Path) -> Result<(), ParamError> {
        resolve_data(&mut self.data, base)
    }

    fn check(&self) -> Result<(), ParamError> {
        check_sizes(self.n, self.k)?;
        self.spectrum.check("spectrum", self.n)?;
        ensure_positive(self.eta, "eta")?;
        ensure_positive(self.threshold, "threshold")?;
        ensure_positive_grid(&self.scales, "scales")?;
        ensure(!self.inits.is_empty(), "inits", || {
            "must not be empty".into()
        })?;
        ensure(self.max_iterations >= 1, "max_iterations", || {
            "must be at least 1".into()
        })?;
        // Last: reading the data is the only check that costs anything.
        match &self.data {
            Some(p) => load_data(p, self.n, "data").map(|_| ()),
            None => Ok(()),
        }
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let r = self.measure(ctx)?;
        Ok(self.report(&r))
    }
}

/// What `offline_learning` measured.
struct Measured {
    /// The input covariance.
    c: faer::Mat<f64>,
    /// `(initialisation, scale)` of each run, in task order.
    combos: Vec<(Init, f64)>,
    /// `[direct, interneuron]` trajectory of each run.
    runs: Vec<[Trajectory; 2]>,
}

impl OfflineLearning {
    /// Learns offline from every initialisation and scale, both networks.
    fn measure(&self, ctx: &RunContext) -> Result<Measured> {
        let c = match &self.data {
            Some(p) => {
                load_data(p, self.n, "data")
                    .map_err(|e| ctx.failure(e.to_string()))?
                    .covariance
            }
            None => covariance(self.n, &self.spectrum, self.basis, &mut ctx.setup_rng()),
        };
        let combos: Vec<(Init, f64)> = self
            .inits
            .iter()
            .flat_map(|&i| self.scales.iter().map(move |&s| (i, s)))
            .collect();
        let runs = ctx.par_tasks(combos.len(), "offline", |t, rng| {
            let (init, scale) = combos[t];
            let (mut d, mut w) =
                initial_networks(init, self.n, self.k, scale, rng).map_err(|e| {
                    ctx.numerical(format!("initialisation ({}, c = {scale})", init.label()), e)
                })?;
            let what = |net: &str| format!("{net} network, {} init, c = {scale}", init.label());
            let td = learn_offline(
                &mut d,
                c.as_ref(),
                self.eta,
                self.threshold,
                self.max_iterations,
                ctx,
                &what("direct"),
            )?;
            let tw = learn_offline(
                &mut w,
                c.as_ref(),
                self.eta,
                self.threshold,
                self.max_iterations,
                ctx,
                &what("interneuron"),
            )?;
            Ok([td, tw])
        })?;
        Ok(Measured { c, combos, runs })
    }

    /// Warnings, summary, tables, learned parameters, figures and claims.
    fn report(&self, r: &Measured) -> Outputs {
        let Measured { c, combos, runs } = r;
        let mut out = Outputs::default();
        // Runs that did not reach the threshold with eta beyond their stability limit stall
        // (the error oscillates around a plateau): say why.
        for (&(init, scale), pair) in combos.iter().zip(runs) {
            for (net, tr) in NETWORKS.iter().zip(pair) {
                let limit = super::setup::stability_limit(net, c.as_ref());
                if tr.reached.is_none() && self.eta >= limit {
                    out.warn([format!(
                        "{net} network, {} init, c = {scale}: error stalled at {:.3} after {} iterations: eta = {} is beyond the stability limit {limit:.4} of the {net} update{}",
                        init.label(),
                        tr.errors.last().copied().unwrap_or(f64::NAN),
                        tr.errors.len() - 1,
                        self.eta,
                        if *net == "direct" {
                            " (sqrt(lambda_min))"
                        } else {
                            " (2 r / (1 + r)^2, r = sqrt(lambda_max / lambda_min))"
                        }
                    )]);
                }
            }
        }
        let mut iterations = serde_json::Map::new();
        let mut flow_time = serde_json::Map::new();
        let mut table = Table::new(
            "iterations",
            &["init", "network", "c", "iterations", "flow_time"],
        );
        let mut traj = Table::new(
            "trajectories",
            &["init", "network", "c", "iteration", "error"],
        );
        for (&(init, scale), pair) in combos.iter().zip(runs) {
            for (net, tr) in NETWORKS.iter().zip(pair) {
                let key = |m: &mut serde_json::Map<String, serde_json::Value>,
                           v: serde_json::Value| {
                    let by_init = m
                        .entry(init.label())
                        .or_insert_with(|| serde_json::json!({}));
                    let by_net = by_init
                        .as_object_mut()
                        .expect("object")
                        .entry(*net)
                        .or_insert_with(|| serde_json::json!({}));
                    by_net
                        .as_object_mut()
                        .expect("object")
                        .insert(scale_key(scale), v);
                };
                key(&mut iterations, serde_json::json!(tr.reached));
                key(
                    &mut flow_time,
                    serde_json::json!(tr.reached.map(|r| r as f64 * self.eta)),
                );
                table.push(vec![
                    init.label().into(),
                    (*net).into(),
                    scale.into(),
                    Cell::from(tr.reached),
                    Cell::from(tr.reached.map(|r| r as f64 * self.eta)),
                ]);
                for (it, e) in tr.errors.iter().enumerate() {
                    traj.push(vec![
                        init.label().into(),
                        (*net).into(),
                        scale.into(),
                        it.into(),
                        (*e).into(),
                    ]);
                }
            }
        }
        out.summarize("iterations_to_threshold", iterations);
        out.summarize("flow_time_to_threshold", flow_time);
        out.summarize("eta", self.eta);
        out.summarize("threshold", self.threshold);
        out.table(table);
        out.table(traj);
        save_learned(&mut out, c.as_ref(), self.n, self.k, runs, |r| &r.state);

        for figure in self.figures(r) {
            out.figure(figure);
        }

        // Claims.
        let reached = |init: Init, scale: f64, ni: usize| {
            combos
                .iter()
                .position(|&x| x == (init, scale))
                .and_then(|t| runs[t][ni].reached)
        };
        if self.is_reference_case() {
            let get = |ni| [1.0, 10.0, 100.0].map(|s| reached(Init::Commuting, s, ni));
            let (d, w) = (get(0), get(1));
            let fmt = |v: [Option<usize>; 3]| {
                v.iter()
                    .map(|x| x.map_or("-".into(), |x| x.to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.claim(Claim {
                id: "p1.offline.reference".into(),
                paper: 1,
                statement: "Offline iterations to ||C_yy - I|| < 1e-2 (n = k = 5, lambda = linspace(0.5, 2, 5), eta = 0.1, M_0 = cI), c = 1, 10, 100".into(),
                expected: "direct 24, 124, 1026; interneurons 10, 22, 33".into(),
                measured: format!("direct {}; interneurons {}", fmt(d), fmt(w)),
                pass: d == [Some(24), Some(124), Some(1026)] && w == [Some(10), Some(22), Some(33)],
                figure: Some("offline_error".into()),
                informative: false,
            });
        }
        let cmax = self.scales.iter().copied().fold(f64::MIN, f64::max);
        for &init in &self.inits {
            let (d, w) = (reached(init, cmax, 0), reached(init, cmax, 1));
            out.claim(acceleration_claim(
                "offline",
                init,
                cmax,
                d,
                w,
                "iterations",
                "offline_iterations",
            ));
        }
        out
    }

    /// Error against iteration per initialisation; iterations against `c`.
    fn figures(&self, r: &Measured) -> [Figure; 2] {
        let Measured { combos, runs, .. } = r;
        let mut panels = Vec::new();
        for &init in &self.inits {
            let mut p = Panel::new(
                format!("{} initialisation", init.label()),
                Axis::log("iteration"),
                Axis::log("error ||C_yy - I||_op"),
            );
            for (ci, &scale) in self.scales.iter().enumerate() {
                let t = combos
                    .iter()
                    .position(|&x| x == (init, scale))
                    .expect("combo");
                for (ni, net) in NETWORKS.iter().enumerate() {
                    let pts = runs[t][ni]
                        .errors
                        .iter()
                        .enumerate()
                        .skip(1)
                        .map(|(i, &e)| (i as f64, e))
                        .collect();
                    let style = if ni == 0 { Style::Line } else { Style::Dashed };
                    p = p.with(
                        Series::line(format!("{net}, c = {}", scale_key(scale)), pts)
                            .styled(style)
                            .colored(ci),
                    );
                }
            }
            let xmax = runs
                .iter()
                .flatten()
                .map(|t| t.errors.len())
                .max()
                .unwrap_or(2) as f64;
            p = p.with(
                Series::line(
                    "threshold",
                    vec![(1.0, self.threshold), (xmax, self.threshold)],
                )
                .styled(Style::Dashed)
                .colored(6),
            );
            p.legend = Legend::LowerLeft;
            panels.push(p);
        }
        let errors = Figure::grid(
            "offline_error",
            format!(
                "Offline learning: direct (solid) vs interneurons (dashed), eta = {}",
                self.eta
            ),
            panels,
            self.inits.len(),
        );
        let mut p = Panel::new(
            "iterations to threshold",
            Axis::log("initial scale c"),
            Axis::log("iterations"),
        );
        for (ii, &init) in self.inits.iter().enumerate() {
            for (ni, net) in NETWORKS.iter().enumerate() {
                let pts = self
                    .scales
                    .iter()
                    .map(|&s| {
                        let t = combos.iter().position(|&x| x == (init, s)).expect("combo");
                        (s, runs[t][ni].reached.map_or(f64::NAN, |r| r as f64))
                    })
                    .collect();
                p = p.with(
                    Series::line(format!("{net}, {}", init.label()), pts)
                        .styled(if ii == 0 {
                            Style::LineMarkers
                        } else {
                            Style::Dashed
                        })
                        .colored(ni),
                );
            }
        }
        p.legend = Legend::LowerRight;
        let iterations = Figure::single(
            "offline_iterations",
            "Offline learning: iterations to threshold against initial scale",
            p,
        );
        [errors, iterations]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whiten_core::cov::linspace;

    fn run_at(eta: f64) -> Outputs {
        let e = OfflineLearning {
            eta,
            basis: Basis::Haar,
            inits: vec![Init::Generic],
            scales: vec![1.0, 3.0],
            max_iterations: 3_000,
            ..OfflineLearning::default()
        };
        e.check().unwrap();
        e.run(&RunContext::new("t", 5).without_progress()).unwrap()
    }

    #[test]
    fn the_interneuron_bound_is_2r_over_1_plus_r_squared() {
        // the spec's measured stall onsets, printed to 3 digits
        for (lo, hi, n, measured) in [(0.5, 2.0, 5, 0.444), (0.1, 4.0, 8, 0.236)] {
            let c =
                faer::Mat::<f64>::from_fn(
                    n,
                    n,
                    |i, j| {
                        if i == j { linspace(lo, hi, n)[i] } else { 0.0 }
                    },
                );
            let limit = super::super::setup::stability_limit("interneuron", c.as_ref());
            assert!((limit - measured).abs() < 5e-4, "{limit} vs {measured}");
            let direct = super::super::setup::stability_limit("direct", c.as_ref());
            assert!((direct - lo.sqrt()).abs() < 1e-12);
        }
    }

    /// Both sides of the bound 4/9 = 0.444 of the default spectrum, generic starts: below it
    /// Algorithm 2 converges, above it the error stalls and the run says why.
    #[test]
    fn below_the_bound_algorithm_2_converges_above_it_the_stall_is_named() {
        let below = run_at(0.43);
        assert!(below.warnings.is_empty(), "{:?}", below.warnings);
        let above = run_at(0.46);
        let stalled: Vec<&String> = above
            .warnings
            .iter()
            .filter(|w| {
                w.starts_with("interneuron network") && w.contains("stability limit 0.4444")
            })
            .collect();
        assert_eq!(stalled.len(), 2, "{:?}", above.warnings);
        // the direct network (limit sqrt(0.5) = 0.707) converges at both rates
        assert!(!above.warnings.iter().any(|w| w.starts_with("direct")));
    }
}
