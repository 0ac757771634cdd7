//! `convergence_time`: paper 1's central claim, measured. The gradient flows
//!
//! * direct: `dM/dt = M^{-1} C M^{-1} - I`,
//! * interneurons: `dW/dt = (W W^T)^{-1} C (W W^T)^{-1} W - W`,
//!
//! are integrated from initial scales `c` on a log grid until the error (`||M - C^{1/2}||_op`
//! or `||C_yy - I||_op`) first drops below a threshold, located on the dense output. Theory
//! (spec 4.1, 4.2): `T_D` grows linearly in `c` (slope about 1), `T_I` logarithmically (slope
//! about 1/2 against `ln c`, i.e. `ln(10)/2 = 1.151` per decade in the commuting case).

use faer::Mat;
use serde::{Deserialize, Serialize};
use whiten_core::linear::WhiteningNetwork;
use whiten_ode::flows::{
    Below, DirectFlow, InterneuronFlow, Layout, SqrtDistance, WhiteningError, t_direct,
};
use whiten_ode::integrate_until_event;

use super::setup::{
    Basis, Init, OdeSettings, Spectrum, check_sizes, covariance, flat, initial_networks, scale_key,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{ensure, ensure_positive, ensure_positive_grid, fit_line};
use crate::output::{Cell, Claim, Outputs, Table, json_float};
use crate::plot::{Axis, Figure, Legend, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// Which error defines convergence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// `||M - C^{1/2}||_op`.
    Sqrt,
    /// `||C_yy - I||_op`, `C_yy = M^{-1} C M^{-1}`.
    Whitening,
}

/// Parameters of `convergence_time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConvergenceTime {
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
    /// Initialisations.
    pub inits: Vec<Init>,
    /// Error measure.
    pub error: ErrorKind,
    /// Threshold on the error.
    pub threshold: f64,
    /// Smallest c used in the slope fits.
    pub fit_from: f64,
    /// Integrator.
    pub ode: OdeSettings,
}

impl Default for ConvergenceTime {
    fn default() -> Self {
        Self {
            n: 5,
            k: 5,
            spectrum: Spectrum::Logspace(1.0, 10.0),
            basis: Basis::Haar,
            scales: vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0],
            inits: vec![Init::Commuting, Init::Generic],
            error: ErrorKind::Sqrt,
            threshold: 1e-2,
            fit_from: 10.0,
            ode: OdeSettings::default(),
        }
    }
}

const NETWORKS: [&str; 2] = ["direct", "interneuron"];

impl ConvergenceTime {
    /// Time for one flow (`net` 0: direct, 1: interneurons) from one initial state until the
    /// error is below the threshold, and the right-hand-side evaluations it took.
    pub(crate) fn time(
        &self,
        c: &Mat<f64>,
        net: usize,
        y0: &[f64],
        ctx: &RunContext,
        what: &str,
    ) -> Result<(f64, usize)> {
        let layout = if net == 0 {
            Layout::M
        } else {
            Layout::W { k: self.k }
        };
        let c = c.as_ref();
        let (opts, method) = (self.ode.options(ctx), self.ode.method());
        // Linear growth: T_D is about c; allow a generous horizon.
        let t_max = 100.0 * self.scales.iter().copied().fold(1.0, f64::max) + 100.0;
        let run = |ev| -> std::result::Result<whiten_ode::EventResult, whiten_ode::OdeError> {
            match (net, ev) {
                (0, Ev::Sqrt(e)) => {
                    integrate_until_event(DirectFlow::new(c), method, 0.0, y0, t_max, &opts, e)
                }
                (0, Ev::White(e)) => {
                    integrate_until_event(DirectFlow::new(c), method, 0.0, y0, t_max, &opts, e)
                }
                (_, Ev::Sqrt(e)) => integrate_until_event(
                    InterneuronFlow::new(c, self.k),
                    method,
                    0.0,
                    y0,
                    t_max,
                    &opts,
                    e,
                ),
                (_, Ev::White(e)) => integrate_until_event(
                    InterneuronFlow::new(c, self.k),
                    method,
                    0.0,
                    y0,
                    t_max,
                    &opts,
                    e,
                ),
            }
        };
        let ev = match self.error {
            ErrorKind::Sqrt => Ev::Sqrt(Below::new(SqrtDistance::new(c, layout), self.threshold)),
            ErrorKind::Whitening => {
                Ev::White(Below::new(WhiteningError::new(c, layout), self.threshold))
            }
        };
        let r = run(ev).map_err(|e| ctx.integration(what, e))?;
        Ok((r.event_time().unwrap_or(f64::NAN), r.stats.rhs_evals))
    }
}

enum Ev {
    Sqrt(Below<SqrtDistance>),
    White(Below<WhiteningError>),
}

impl Experiment for ConvergenceTime {
    const KIND: &'static str = "convergence_time";
    const DESCRIPTION: &'static str = "Paper 1, convergence time of the gradient flows against initial scale c: linear (direct) vs logarithmic (interneurons)";
    const PARAMS: &'static [ParamDoc] = &[
        param("n", "number of primary neurons (>= 1)"),
        param("k", "number of interneurons (>= n)"),
        param(
            "spectrum",
            "eigenvalues of C: Linspace(lo, hi), Logspace(lo, hi) or Values([..])",
        ),
        param("basis", "eigenbasis of C: Identity or Haar"),
        param("scales", "initial scales c (log grid; M_0 = c I or c B)"),
        param("inits", "initialisations: Commuting and/or Generic"),
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
        Some(MemoryEstimate::dense(
            self.n,
            self.k,
            16.0,
            self.scales.len() * self.inits.len(),
            threads,
        ))
    }

    fn check(&self) -> Result<(), ParamError> {
        check_sizes(self.n, self.k)?;
        self.spectrum.check("spectrum", self.n)?;
        ensure_positive_grid(&self.scales, "scales")?;
        ensure(!self.inits.is_empty(), "inits", || {
            "must not be empty".into()
        })?;
        ensure_positive(self.threshold, "threshold")?;
        ensure(
            self.scales.iter().filter(|&&c| c >= self.fit_from).count() >= 2,
            "fit_from",
            || {
                format!(
                    "at least two scales must be >= fit_from = {}",
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

/// What `convergence_time` measured.
struct Measured {
    /// `(initialisation, scale)` of each run, in task order.
    combos: Vec<(Init, f64)>,
    /// `[direct, interneuron]` (time, rhs evaluations) of each run.
    results: Vec<[(f64, usize); 2]>,
    /// Per initialisation: the slope of `T_D` against `c`, and the slope and intercept of `T_I`
    /// against `ln c` (over `c >= fit_from`).
    fits: Vec<(Init, f64, f64, f64)>,
}

impl ConvergenceTime {
    /// Integrates both flows from every initialisation and scale, and fits the slopes.
    fn measure(&self, ctx: &RunContext) -> Result<Measured> {
        let c = covariance(self.n, &self.spectrum, self.basis, &mut ctx.setup_rng());
        let combos: Vec<(Init, f64)> = self
            .inits
            .iter()
            .flat_map(|&i| self.scales.iter().map(move |&s| (i, s)))
            .collect();
        let results = ctx.par_tasks(combos.len(), "flows", |t, rng| {
            let (init, scale) = combos[t];
            let what = format!("{} init, c = {scale}", init.label());
            let (d, w) = initial_networks(init, self.n, self.k, scale, rng)
                .map_err(|e| ctx.numerical(&what, e))?;
            let td = self.time(
                &c,
                0,
                &flat(d.state()),
                ctx,
                &format!("the direct flow, {what}"),
            )?;
            let ti = self.time(
                &c,
                1,
                &flat(w.state()),
                ctx,
                &format!("the interneuron flow, {what}"),
            )?;
            Ok([td, ti])
        })?;

        // Slopes: T_D against c, T_I against ln c, over c >= fit_from.
        let mut fits = Vec::new();
        for &init in &self.inits {
            let pick = |ni: usize| -> (Vec<f64>, Vec<f64>) {
                combos
                    .iter()
                    .zip(&results)
                    .filter(|((i, s), _)| *i == init && *s >= self.fit_from)
                    .map(|((_, s), r)| (*s, r[ni].0))
                    .unzip()
            };
            let (cd, td) = pick(0);
            let (ci, ti) = pick(1);
            let (sd, _) = fit_line(&cd, &td);
            let lnc: Vec<f64> = ci.iter().map(|c| c.ln()).collect();
            let (si, ii) = fit_line(&lnc, &ti);
            fits.push((init, sd, si, ii));
        }
        Ok(Measured {
            combos,
            results,
            fits,
        })
    }

    /// Closed form in the commuting case with the Sqrt error: the largest scalar time over the
    /// eigenvalues (||M - C^{1/2}||_op = max_i |m_i - sqrt(lambda_i)| when M commutes with C).
    fn closed_form(&self, scale: f64, net: usize) -> f64 {
        self.spectrum
            .values(self.n)
            .iter()
            .map(|&l| {
                if (scale - l.sqrt()).abs() <= self.threshold {
                    0.0
                } else if net == 0 {
                    t_direct(l, scale, self.threshold)
                } else {
                    whiten_ode::flows::t_interneuron(l, scale, self.threshold)
                }
            })
            .fold(0.0, f64::max)
    }

    /// Table, summary, figure and claims.
    fn report(&self, r: &Measured) -> Outputs {
        let Measured {
            combos,
            results,
            fits,
        } = r;
        let closed = |scale: f64, net: usize| self.closed_form(scale, net);
        let mut out = Outputs::default();
        let mut table = Table::new(
            "convergence_times",
            &[
                "init",
                "network",
                "c",
                "time",
                "closed_form",
                "rhs_evaluations",
            ],
        );
        let mut times = serde_json::Map::new();
        let mut worst_closed = 0.0f64;
        for (&(init, scale), r) in combos.iter().zip(results) {
            for (ni, net) in NETWORKS.iter().enumerate() {
                let cf = (init == Init::Commuting && self.error == ErrorKind::Sqrt)
                    .then(|| closed(scale, ni));
                if let Some(cf) = cf {
                    worst_closed = worst_closed.max((r[ni].0 - cf).abs() / cf.max(1e-12));
                }
                table.push(vec![
                    init.label().into(),
                    (*net).into(),
                    scale.into(),
                    r[ni].0.into(),
                    Cell::from(cf),
                    r[ni].1.into(),
                ]);
                times.insert(
                    format!("{}/{net}/c={}", init.label(), scale_key(scale)),
                    json_float(r[ni].0),
                );
            }
        }
        out.summarize("times", times);
        out.table(table);

        let mut slopes = serde_json::Map::new();
        for &(init, sd, si, _) in fits {
            slopes.insert(
                init.label().into(),
                serde_json::json!({"direct_vs_c": sd, "interneuron_vs_ln_c": si, "interneuron_per_decade": si * 10f64.ln()}),
            );
        }
        out.summarize("slopes", slopes);
        if self.inits.contains(&Init::Commuting) && self.error == ErrorKind::Sqrt {
            out.summarize("max_relative_deviation_from_closed_form", worst_closed);
        }

        out.figure(self.figure(r));

        for &(init, sd, si, _) in fits {
            out.claim(Claim {
                id: format!("p1.flows.linear_vs_log.{}", init.label()),
                paper: 1,
                statement: format!(
                    "Convergence time grows linearly in c for the direct flow and logarithmically for the interneuron flow ({} init)",
                    init.label()
                ),
                expected: "slope of T_D against c about 1; slope of T_I against ln c about 0.5 (1.151 per decade)".into(),
                measured: format!("{sd:.3} and {si:.3} ({:.3} per decade)", si * 10f64.ln()),
                pass: (0.9..=1.1).contains(&sd) && (0.4..=0.6).contains(&si),
                figure: Some("convergence_time".into()),
                informative: false,
            });
        }
        if self.inits.contains(&Init::Commuting) && self.error == ErrorKind::Sqrt {
            out.claim(Claim {
                id: "p1.flows.matrix_closed_form".into(),
                paper: 1,
                statement: "Commuting case: the matrix flows' convergence time is the largest scalar closed-form time".into(),
                expected: "agreement to 1e-6 relative".into(),
                measured: format!("{worst_closed:.2e}"),
                pass: worst_closed <= 1e-6,
                figure: Some("convergence_time".into()),
                informative: false,
            });
        }
        out
    }

    /// The times on the axes that make each law straight, and both on log-log axes.
    fn figure(&self, r: &Measured) -> Figure {
        let Measured {
            combos,
            results,
            fits,
        } = r;
        let closed = |scale: f64, net: usize| self.closed_form(scale, net);
        // Figures: the same times on linear and on log-c axes.
        let series = |init: Init, ni: usize| -> Vec<(f64, f64)> {
            combos
                .iter()
                .zip(results)
                .filter(|((i, _), _)| *i == init)
                .map(|((_, s), r)| (*s, r[ni].0))
                .collect()
        };
        // Each law on the axes that make it straight (T_D against c, T_I against ln c), the
        // closed form dashed in black where it exists (commuting start, Sqrt error), and both
        // flows on log-log axes, where the direct flow's slope 1 meets the interneurons' ln c.
        let closed_curve = |ni: usize| -> Option<Series> {
            (self.inits.contains(&Init::Commuting) && self.error == ErrorKind::Sqrt).then(|| {
                let lo = self.scales.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = self.scales.iter().copied().fold(0.0, f64::max);
                let pts = (0..=80)
                    .map(|t| {
                        let c = lo * (hi / lo).powf(t as f64 / 80.0);
                        (c, closed(c, ni))
                    })
                    .collect();
                Series::line("closed form (commuting)", pts)
                    .styled(Style::Dashed)
                    .colored(6)
            })
        };
        let style = |ii: usize| {
            if ii == 0 {
                Style::LineMarkers
            } else {
                Style::Markers
            }
        };
        let mut direct = Panel::new(
            "direct flow: T_D linear in c",
            Axis::linear("initial scale c"),
            Axis::linear("convergence time T_D"),
        );
        for (ii, &init) in self.inits.iter().enumerate() {
            direct = direct.with(
                Series::line(format!("direct, {}", init.label()), series(init, 0))
                    .styled(style(ii))
                    .colored(ii),
            );
        }
        if let Some(c) = closed_curve(0) {
            direct = direct.with(c);
        }
        let mut inter = Panel::new(
            "interneuron flow: T_I linear in ln c",
            Axis::log("initial scale c"),
            Axis::linear("convergence time T_I"),
        );
        for (ii, &(init, _, si, ii0)) in fits.iter().enumerate() {
            inter = inter.with(
                Series::line(format!("interneuron, {}", init.label()), series(init, 1))
                    .styled(style(ii))
                    .colored(ii + 2),
            );
            let (lo, hi) = (
                self.fit_from,
                self.scales.iter().copied().fold(0.0, f64::max),
            );
            inter = inter.with(
                Series::line(
                    format!("fit: {si:.3} ln c + {ii0:.2}"),
                    vec![(lo, si * lo.ln() + ii0), (hi, si * hi.ln() + ii0)],
                )
                .styled(Style::Dashed)
                .colored(ii + 2),
            );
        }
        if let Some(c) = closed_curve(1) {
            inter = inter.with(c);
        }
        let mut both = Panel::new(
            "both flows, log-log axes",
            Axis::log("initial scale c"),
            Axis::log("convergence time T"),
        );
        for (ii, &init) in self.inits.iter().enumerate() {
            for (ni, net) in NETWORKS.iter().enumerate() {
                // T = 0 (started within the threshold) has no place on a log axis.
                let pts = series(init, ni).into_iter().filter(|p| p.1 > 0.0).collect();
                both = both.with(
                    Series::line(format!("{net}, {}", init.label()), pts)
                        .styled(style(ii))
                        .colored(2 * ni + ii),
                );
            }
        }
        Figure::grid(
            "convergence_time",
            "Convergence time of the gradient flows: linear (direct) vs logarithmic (interneurons) in c",
            vec![direct, inter.legend_at(Legend::UpperLeft), both],
            3,
        )
    }
}
