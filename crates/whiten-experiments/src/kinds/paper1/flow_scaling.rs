//! `flow_scaling`: paper 1's claim at every size. For each network size `n` (with `k = n`
//! interneurons) the direct flow `dM/dt = M^{-1} C M^{-1} - I` and the interneuron flow
//! `dW/dt = (W W^T)^{-1} C (W W^T)^{-1} W - W` are integrated from initial scales `c` until
//! `||M - C^{1/2}||_op` (or `||C_yy - I||_op`) first drops below the threshold, exactly as in
//! `convergence_time`. Theory (spec 4.1, 4.2): `T_D` grows linearly in `c` (slope about 1),
//! `T_I` logarithmically (slope about 1/2 against `ln c`), whatever `n`.
//!
//! Outputs: the times and rhs evaluations per `(n, c)` (`convergence_times.csv`, reproducible),
//! the fitted slopes per `n` (summary and claims), a figure, and `wall_times.csv`, the wall time
//! of every solve on this machine: the one output that differs between runs.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use whiten_core::linear::WhiteningNetwork;

use super::convergence_time::{ConvergenceTime, ErrorKind};
use super::setup::{
    Basis, Init, OdeSettings, Spectrum, check_sizes, covariance, flat, initial_networks, scale_key,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{ensure, ensure_positive, ensure_positive_grid, fit_line};
use crate::output::{Claim, Outputs, Table, json_float};
use crate::plot::{Axis, BLACK_INDEX, Figure, Legend, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// Parameters of `flow_scaling`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowScaling {
    /// Network sizes `n` (each with `k = n` interneurons).
    pub ns: Vec<usize>,
    /// Eigenvalues of C, spread over each `n` (`Linspace` or `Logspace`).
    pub spectrum: Spectrum,
    /// Eigenbasis of C.
    pub basis: Basis,
    /// Initial scales c.
    pub scales: Vec<f64>,
    /// Initialisation.
    pub init: Init,
    /// Error measure.
    pub error: ErrorKind,
    /// Threshold on the error.
    pub threshold: f64,
    /// Smallest c used in the slope fits.
    pub fit_from: f64,
    /// Integrator.
    pub ode: OdeSettings,
}

impl Default for FlowScaling {
    fn default() -> Self {
        Self {
            ns: vec![10, 50, 100, 200],
            spectrum: Spectrum::Logspace(1.0, 10.0),
            basis: Basis::Haar,
            scales: vec![1.0, 10.0, 100.0, 1000.0],
            init: Init::Commuting,
            error: ErrorKind::Sqrt,
            threshold: 1e-2,
            fit_from: 10.0,
            ode: OdeSettings::default(),
        }
    }
}

const NETWORKS: [&str; 2] = ["direct", "interneuron"];

/// One solve's result.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Solve {
    time: f64,
    rhs: usize,
    wall: f64,
}

impl FlowScaling {
    /// The `convergence_time` settings of size `n`.
    fn at(&self, n: usize) -> ConvergenceTime {
        ConvergenceTime {
            n,
            k: n,
            spectrum: self.spectrum.clone(),
            basis: self.basis,
            scales: self.scales.clone(),
            inits: vec![self.init],
            error: self.error,
            threshold: self.threshold,
            fit_from: self.fit_from,
            ode: self.ode.clone(),
        }
    }
}

impl Experiment for FlowScaling {
    const KIND: &'static str = "flow_scaling";
    const DESCRIPTION: &'static str = "Paper 1 at every size: convergence times of both flows against c for several n, linear (direct) vs logarithmic (interneurons), with the wall time per solve";
    const PARAMS: &'static [ParamDoc] = &[
        param("ns", "network sizes n (k = n interneurons each)"),
        param(
            "spectrum",
            "eigenvalues of C for each n: Linspace(lo, hi) or Logspace(lo, hi)",
        ),
        param("basis", "eigenbasis of C: Identity or Haar"),
        param("scales", "initial scales c (M_0 = c I or c B)"),
        param("init", "initialisation: Commuting or Generic"),
        param(
            "error",
            "convergence measure: Sqrt (||M - C^{1/2}||_op) or Whitening (||C_yy - I||_op)",
        ),
        param("threshold", "error counted as converged (> 0)"),
        param(
            "fit_from",
            "smallest c used in the slope fits (at least two scales must be >= it)",
        ),
        param("ode", "integrator: (method, rtol, atol, max_steps)"),
    ];

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        let n = self.ns.iter().copied().max().unwrap_or(1);
        Some(MemoryEstimate::dense(
            n,
            n,
            16.0,
            self.scales.len(),
            threads,
        ))
    }

    fn check(&self) -> Result<(), ParamError> {
        ensure(!self.ns.is_empty(), "ns", || "must not be empty".into())?;
        for (i, &n) in self.ns.iter().enumerate() {
            check_sizes(n, n).map_err(|e| ParamError::new(format!("ns[{i}]"), e.reason))?;
        }
        ensure(
            !matches!(self.spectrum, Spectrum::Values(_)),
            "spectrum",
            || "must be Linspace(lo, hi) or Logspace(lo, hi): one spectrum for every n".into(),
        )?;
        self.spectrum.check("spectrum", self.ns[0])?;
        ensure_positive_grid(&self.scales, "scales")?;
        ensure_positive(self.threshold, "threshold")?;
        ensure(
            self.scales.iter().filter(|&&s| s >= self.fit_from).count() >= 2,
            "fit_from",
            || {
                format!(
                    "at least two scales must be >= fit_from = {} for the slope fits",
                    self.fit_from
                )
            },
        )?;
        self.ode.check("ode")
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let r = self.measure(ctx)?;
        Ok(self.report(&r))
    }
}

/// What `flow_scaling` measured.
struct Measured {
    /// `(index into ns, scale)` of each run, in task order.
    combos: Vec<(usize, f64)>,
    /// `[direct, interneuron]` solves of each run.
    results: Vec<[Solve; 2]>,
    /// Per n: `(n, slope of T_D against c, slope of T_I against ln c)` over `c >= fit_from`.
    fits: Vec<(usize, f64, f64)>,
}

impl FlowScaling {
    /// Integrates both flows at every size and scale, and fits the slopes per size.
    fn measure(&self, ctx: &RunContext) -> Result<Measured> {
        // One covariance per n, drawn in order from the set-up stream.
        let mut setup = ctx.setup_rng();
        let covs: Vec<_> = self
            .ns
            .iter()
            .map(|&n| covariance(n, &self.spectrum, self.basis, &mut setup))
            .collect();
        let combos: Vec<(usize, f64)> = (0..self.ns.len())
            .flat_map(|i| self.scales.iter().map(move |&s| (i, s)))
            .collect();
        let results = ctx.par_tasks(combos.len(), "flows", |t, rng| {
            let (i, scale) = combos[t];
            let n = self.ns[i];
            let settings = self.at(n);
            let what = format!("n = {n}, {} init, c = {scale}", self.init.label());
            let (d, w) = initial_networks(self.init, n, n, scale, rng)
                .map_err(|e| ctx.numerical(&what, e))?;
            let mut out = [Solve {
                time: 0.0,
                rhs: 0,
                wall: 0.0,
            }; 2];
            for (net, y0) in [flat(d.state()), flat(w.state())].iter().enumerate() {
                let start = Instant::now();
                let (time, rhs) = settings.time(
                    &covs[i],
                    net,
                    y0,
                    ctx,
                    &format!("the {} flow, {what}", NETWORKS[net]),
                )?;
                out[net] = Solve {
                    time,
                    rhs,
                    wall: start.elapsed().as_secs_f64(),
                };
            }
            Ok(out)
        })?;

        // Slopes per n: T_D against c, T_I against ln c, over c >= fit_from.
        let mut fits = Vec::new();
        for (i, &n) in self.ns.iter().enumerate() {
            let pick = |ni: usize| -> (Vec<f64>, Vec<f64>) {
                combos
                    .iter()
                    .zip(&results)
                    .filter(|((ii, s), _)| *ii == i && *s >= self.fit_from)
                    .map(|((_, s), r)| (*s, r[ni].time))
                    .unzip()
            };
            let (cd, td) = pick(0);
            let (ci, ti) = pick(1);
            let (sd, _) = fit_line(&cd, &td);
            let lnc: Vec<f64> = ci.iter().map(|c| c.ln()).collect();
            let (si, _) = fit_line(&lnc, &ti);
            fits.push((n, sd, si));
        }
        Ok(Measured {
            combos,
            results,
            fits,
        })
    }

    /// Tables, summary, figure and claim.
    fn report(&self, r: &Measured) -> Outputs {
        let Measured {
            combos,
            results,
            fits,
        } = r;
        let mut out = Outputs::default();
        let mut table = Table::new(
            "convergence_times",
            &["n", "network", "c", "time", "rhs_evaluations"],
        );
        let mut wall = Table::new(
            "wall_times",
            &["n", "network", "c", "seconds_per_solve", "rhs_evaluations"],
        );
        let mut times = serde_json::Map::new();
        for (&(i, scale), r) in combos.iter().zip(results) {
            for (ni, net) in NETWORKS.iter().enumerate() {
                let n = self.ns[i] as i64;
                table.push(vec![
                    n.into(),
                    (*net).into(),
                    scale.into(),
                    r[ni].time.into(),
                    r[ni].rhs.into(),
                ]);
                wall.push(vec![
                    n.into(),
                    (*net).into(),
                    scale.into(),
                    r[ni].wall.into(),
                    r[ni].rhs.into(),
                ]);
                times.insert(
                    format!("n={n}/{net}/c={}", scale_key(scale)),
                    json_float(r[ni].time),
                );
            }
        }
        out.summarize("times", times);
        out.table(table);
        out.table(wall);

        let mut slopes = serde_json::Map::new();
        for &(n, sd, si) in fits {
            slopes.insert(
                format!("n={n}"),
                serde_json::json!({"direct_vs_c": json_float(sd), "interneuron_vs_ln_c": json_float(si)}),
            );
        }
        out.summarize("slopes", slopes);
        out.figure(self.figure(r));

        let bad: Vec<String> = fits
            .iter()
            .filter(|(_, sd, si)| !((0.9..=1.1).contains(sd) && (0.4..=0.6).contains(si)))
            .map(|(n, _, _)| format!("n = {n}"))
            .collect();
        out.claim(Claim {
            id: format!("p1.flows.linear_vs_log_every_n.{}", self.init.label()),
            paper: 1,
            statement: format!(
                "At every size n = {:?}, convergence time grows linearly in c for the direct flow and logarithmically for the interneuron flow ({} init)",
                self.ns,
                self.init.label()
            ),
            expected: "at every n: slope of T_D against c in [0.9, 1.1], slope of T_I against ln c in [0.4, 0.6]".into(),
            measured: fits
                .iter()
                .map(|(n, sd, si)| format!("n = {n}: {sd:.3} / {si:.3}"))
                .collect::<Vec<_>>()
                .join(", "),
            pass: bad.is_empty(),
            figure: Some("flow_scaling".into()),
            informative: false,
        });
        out
    }

    /// `T_D` on linear axes, `T_I` on a log-c axis, one curve per n.
    fn figure(&self, r: &Measured) -> Figure {
        let Measured {
            combos, results, ..
        } = r;
        let series = |i: usize, ni: usize| -> Vec<(f64, f64)> {
            combos
                .iter()
                .zip(results)
                .filter(|((ii, _), _)| *ii == i)
                .map(|((_, s), r)| (*s, r[ni].time))
                .collect()
        };
        let mut direct = Panel::new(
            "direct flow: T_D linear in c at every n",
            Axis::linear("initial scale c"),
            Axis::linear("convergence time T_D"),
        );
        let mut inter = Panel::new(
            "interneuron flow: T_I linear in ln c at every n",
            Axis::log("initial scale c"),
            Axis::linear("convergence time T_I"),
        );
        for (i, &n) in self.ns.iter().enumerate() {
            direct = direct.with(
                Series::line(format!("n = {n}"), series(i, 0))
                    .styled(Style::LineMarkers)
                    .colored(i),
            );
            inter = inter.with(
                Series::line(format!("n = {n}"), series(i, 1))
                    .styled(Style::LineMarkers)
                    .colored(i),
            );
        }
        // The theory's slopes (T_D = c + const, T_I = ln(c) / 2 + const at leading order)
        // as dashed references through the centroid of all sizes' points: parallel lines
        // mean the law holds.
        let reference = |ni: usize, x_of: fn(f64) -> f64, slope: f64| -> Vec<(f64, f64)> {
            let pts: Vec<(f64, f64)> = combos
                .iter()
                .zip(results)
                .map(|((_, s), r)| (*s, r[ni].time))
                .filter(|(c, t)| c.is_finite() && t.is_finite() && *c > 0.0)
                .collect();
            if pts.is_empty() {
                return Vec::new();
            }
            let m = pts.len() as f64;
            let xbar = pts.iter().map(|p| x_of(p.0)).sum::<f64>() / m;
            let tbar = pts.iter().map(|p| p.1).sum::<f64>() / m;
            let (lo, hi) = pts.iter().fold((f64::INFINITY, 0.0_f64), |(l, h), p| {
                (l.min(p.0), h.max(p.0))
            });
            [lo, hi]
                .into_iter()
                .map(|c| (c, tbar + slope * (x_of(c) - xbar)))
                .collect()
        };
        direct = direct.with(
            Series::line("theory: slope 1", reference(0, |c| c, 1.0))
                .styled(Style::Dashed)
                .colored(BLACK_INDEX),
        );
        inter = inter.with(
            Series::line("theory: slope 1/2 in ln c", reference(1, f64::ln, 0.5))
                .styled(Style::Dashed)
                .colored(BLACK_INDEX),
        );
        Figure::grid(
            "flow_scaling",
            format!(
                "Convergence time against the initial scale c at n = {:?} ({} init, k = n)",
                self.ns,
                self.init.label()
            ),
            vec![
                direct.legend_at(Legend::UpperLeft),
                inter.legend_at(Legend::UpperLeft),
            ],
            2,
        )
    }
}
