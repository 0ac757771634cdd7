//! `scalar_flows`: eigenvalue trajectories `m(t)` of both gradient flows in the commuting
//! case, integrated numerically and overlaid with the closed forms of paper 1 (spec 4.1):
//!
//! * direct: `dm/dt = lambda / m^2 - 1`, implicit solution
//!   `t = (m_0 - m) + (a/2) ln(|(a + m)(a - m_0)| / |(a - m)(a + m_0)|)`, `a = sqrt(lambda)`;
//! * interneurons: `dm/dt = 2 (lambda / m - m)`, `m(t)^2 = lambda + (m_0^2 - lambda) e^{-4t}`;
//!
//! and the times `T_D`, `T_I` until `|m - a| <= eps`, located as events on the integrator's
//! dense output, against their closed forms.

use serde::{Deserialize, Serialize};
use whiten_ode::flows::{
    ScalarDirect, ScalarInterneuron, m_direct, m_interneuron, t_direct, t_interneuron,
};
use whiten_ode::{Directed, Direction, Output, integrate, integrate_until_event};

use super::setup::OdeSettings;
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{ensure, ensure_positive, ensure_positive_grid};
use crate::output::{Claim, Outputs, Table, format_float};
use crate::plot::{Axis, Figure, Legend, Panel, Series, Style};

/// Parameters of `scalar_flows`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScalarFlows {
    /// Eigenvalue lambda of C.
    pub lambda: f64,
    /// Initial eigenvalues m_0 of M.
    pub m0s: Vec<f64>,
    /// Tolerance eps of `|m - sqrt(lambda)| <= eps`.
    pub eps: f64,
    /// Integrator.
    pub ode: OdeSettings,
    /// Points per trajectory.
    pub points: usize,
    /// Relative agreement required between integration and closed forms.
    pub tolerance: f64,
}

impl Default for ScalarFlows {
    fn default() -> Self {
        Self {
            lambda: 3.0,
            m0s: vec![0.01, 5.0, 50.0, 500.0],
            eps: 1e-2,
            ode: OdeSettings {
                rtol: 1e-11,
                atol: 1e-13,
                ..OdeSettings::default()
            },
            points: 400,
            tolerance: 1e-6,
        }
    }
}

const FLOWS: [&str; 2] = ["direct", "interneuron"];

/// One flow from one `m_0`: the event time and the trajectory, with closed forms.
#[derive(Serialize, Deserialize)]
struct Run {
    t_numeric: f64,
    t_closed: f64,
    times: Vec<f64>,
    numeric: Vec<f64>,
    closed: Vec<f64>,
}

impl ScalarFlows {
    fn run_one(&self, flow: usize, m0: f64, ctx: &RunContext) -> Result<Run> {
        let a = self.lambda.sqrt();
        let (lambda, eps) = (self.lambda, self.eps);
        let t_closed = if flow == 0 {
            t_direct(lambda, m0, eps)
        } else {
            t_interneuron(lambda, m0, eps)
        };
        let what = format!("the {} scalar flow from m_0 = {m0}", FLOWS[flow]);
        let opts = self.ode.options(ctx);
        let method = self.ode.method();
        // |m - a| <= eps, located on the dense output.
        let event = Directed {
            event: move |_t: f64, y: &[f64]| (y[0] - a).abs() - eps,
            direction: Direction::Falling,
        };
        let t_max = 10.0 * t_closed.max(1.0);
        let found = if flow == 0 {
            integrate_until_event(
                ScalarDirect::new(&[lambda]),
                method,
                0.0,
                &[m0],
                t_max,
                &opts,
                event,
            )
        } else {
            integrate_until_event(
                ScalarInterneuron::new(&[lambda]),
                method,
                0.0,
                &[m0],
                t_max,
                &opts,
                event,
            )
        }
        .map_err(|e| ctx.integration(&what, e))?;
        let t_numeric = found.event_time().unwrap_or(f64::NAN);
        let t_end = 1.25 * t_closed.max(1e-3);
        let times = output_grid(t_end, self.points);
        let opts = whiten_ode::Options {
            output: Output::Times(times.clone()),
            ..opts
        };
        let sol = if flow == 0 {
            integrate(
                ScalarDirect::new(&[lambda]),
                method,
                0.0,
                &[m0],
                t_end,
                &opts,
            )
        } else {
            integrate(
                ScalarInterneuron::new(&[lambda]),
                method,
                0.0,
                &[m0],
                t_end,
                &opts,
            )
        }
        .map_err(|e| ctx.integration(&what, e))?;
        let numeric: Vec<f64> = (0..sol.len()).map(|i| sol.state(i)[0]).collect();
        let closed = times
            .iter()
            .map(|&t| {
                if flow == 0 {
                    m_direct(lambda, m0, t)
                } else {
                    m_interneuron(lambda, m0, t)
                }
            })
            .collect();
        Ok(Run {
            t_numeric,
            t_closed,
            times,
            numeric,
            closed,
        })
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

impl Experiment for ScalarFlows {
    const KIND: &'static str = "scalar_flows";
    const DESCRIPTION: &'static str = "Paper 1, eigenvalue trajectories of both gradient flows against their closed forms, and the times T_D, T_I";
    const PARAMS: &'static [ParamDoc] = &[
        param(
            "lambda",
            "eigenvalue lambda of C (> 0); the optimum is m = sqrt(lambda)",
        ),
        param(
            "m0s",
            "initial eigenvalues m_0 of M (> 0, not within eps of sqrt(lambda))",
        ),
        param(
            "eps",
            "convergence tolerance on |m - sqrt(lambda)| (0 < eps < sqrt(lambda))",
        ),
        param(
            "ode",
            "integrator: (method: \"dopri5\" | \"tsit5\" | \"bs32\" | \"rosenbrock23\", rtol, atol, max_steps)",
        ),
        param("points", "points per plotted trajectory (>= 2)"),
        param(
            "tolerance",
            "relative agreement required between integration and closed forms",
        ),
    ];

    fn check(&self) -> Result<(), ParamError> {
        ensure_positive(self.lambda, "lambda")?;
        ensure_positive(self.eps, "eps")?;
        let a = self.lambda.sqrt();
        ensure(self.eps < a, "eps", || {
            format!("must be below sqrt(lambda) = {a} (got {})", self.eps)
        })?;
        ensure_positive_grid(&self.m0s, "m0s")?;
        for (i, &m0) in self.m0s.iter().enumerate() {
            ensure((m0 - a).abs() > self.eps, &format!("m0s[{i}]"), || {
                format!(
                    "m_0 = {m0} is already within eps = {} of sqrt(lambda) = {a}",
                    self.eps
                )
            })?;
        }
        self.ode.check("ode")?;
        ensure(self.points >= 2, "points", || "must be at least 2".into())?;
        ensure_positive(self.tolerance, "tolerance")
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let jobs: Vec<(usize, f64)> = FLOWS
            .iter()
            .enumerate()
            .flat_map(|(f, _)| self.m0s.iter().map(move |&m| (f, m)))
            .collect();
        let runs = ctx.par_tasks(jobs.len(), "scalar flows", |i, _| {
            self.run_one(jobs[i].0, jobs[i].1, ctx)
        })?;
        let mut out = Outputs::default();
        let worst = self.report(&mut out, &jobs, &runs);
        out.figure(self.figure(&jobs, &runs));
        self.closed_form_claim(&mut out, worst);
        if self.lambda == 3.0 && self.eps == 1e-2 {
            self.spec_table_claim(&mut out, &jobs, &runs);
        }
        Ok(out)
    }
}

impl ScalarFlows {
    /// The tables (times and trajectories, numeric beside closed form) and the summaries.
    /// Returns the largest relative deviations of the times and of the trajectories.
    fn report(&self, out: &mut Outputs, jobs: &[(usize, f64)], runs: &[Run]) -> (f64, f64) {
        let mut times = Table::new(
            "convergence_times",
            &[
                "flow",
                "m0",
                "t_numeric",
                "t_closed_form",
                "relative_difference",
            ],
        );
        let mut traj = Table::new(
            "trajectories",
            &["flow", "m0", "t", "m_numeric", "m_closed_form"],
        );
        let (mut worst_t, mut worst_m) = (0.0f64, 0.0f64);
        let mut summary_times = serde_json::Map::new();
        for (&(f, m0), r) in jobs.iter().zip(runs) {
            let dt = rel(r.t_numeric, r.t_closed);
            worst_t = worst_t.max(if dt.is_nan() { f64::INFINITY } else { dt });
            times.push(vec![
                FLOWS[f].into(),
                m0.into(),
                r.t_numeric.into(),
                r.t_closed.into(),
                dt.into(),
            ]);
            for ((&t, &mn), &mc) in r.times.iter().zip(&r.numeric).zip(&r.closed) {
                worst_m = worst_m.max(rel(mn, mc));
                traj.push(vec![
                    FLOWS[f].into(),
                    m0.into(),
                    t.into(),
                    mn.into(),
                    mc.into(),
                ]);
            }
            summary_times.insert(
                format!("{}/m0={}", FLOWS[f], format_float(m0)),
                serde_json::json!({"numeric": r.t_numeric, "closed_form": r.t_closed}),
            );
        }
        out.summarize("convergence_times", summary_times);
        out.summarize("max_relative_deviation_times", worst_t);
        out.summarize("max_relative_deviation_trajectories", worst_m);
        out.summarize("lambda", self.lambda);
        out.summarize("eps", self.eps);
        out.table(times);
        out.table(traj);
        (worst_t, worst_m)
    }

    /// Paper 1's closed forms hold: the integration agrees with them to `tolerance`.
    fn closed_form_claim(&self, out: &mut Outputs, (worst_t, worst_m): (f64, f64)) {
        out.claim(Claim {
            id: "p1.flows.closed_forms".into(),
            paper: 1,
            statement: format!(
                "Closed forms of the scalar flows (trajectories and times to |m - sqrt(lambda)| <= {}) for lambda = {}, m_0 in {:?}",
                self.eps, self.lambda, self.m0s
            ),
            expected: format!("integration agrees to {:e} relative", self.tolerance),
            measured: format!("times {worst_t:.2e}, trajectories {worst_m:.2e}"),
            pass: worst_t <= self.tolerance && worst_m <= self.tolerance,
            figure: Some("scalar_flows".into()),
            informative: false,
        });
    }

    /// The spec's printed convergence times for `lambda = 3`, `eps = 1e-2` (two decimals),
    /// where this run has their `m_0`.
    fn spec_table_claim(&self, out: &mut Outputs, jobs: &[(usize, f64)], runs: &[Run]) {
        let table = [
            (0.01, 3.34, 1.12),
            (5.0, 7.70, 1.61),
            (50.0, 53.26, 2.80),
            (500.0, 503.32, 3.95),
        ];
        let mut ok = true;
        let mut measured = Vec::new();
        for (m0, td, ti) in table {
            let find = |f: usize| {
                jobs.iter()
                    .position(|&j| j == (f, m0))
                    .map(|i| runs[i].t_numeric)
            };
            if let (Some(d), Some(i)) = (find(0), find(1)) {
                ok &= (d - td).abs() <= 0.005 + 1e-9 && (i - ti).abs() <= 0.005 + 1e-9;
                measured.push(format!("{}: {d:.2} / {i:.2}", format_float(m0)));
            }
        }
        if !measured.is_empty() {
            out.claim(Claim {
                id: "p1.flows.table_lambda3".into(),
                paper: 1,
                statement: "Convergence times T_D / T_I for lambda = 3, eps = 1e-2 (spec table)"
                    .into(),
                expected: "0.01: 3.34 / 1.12, 5: 7.70 / 1.61, 50: 53.26 / 2.80, 500: 503.32 / 3.95"
                    .into(),
                measured: measured.join(", "),
                pass: ok,
                figure: Some("scalar_flows".into()),
                informative: false,
            });
        }
    }
}

/// Output times: 0, then `points - 1` times geometrically spaced from `t_end * 1e-6` to
/// `t_end`, the last exactly `t_end` (a computed power can round one ulp past it, which the
/// integrator refuses). Geometric, so that the figure's logarithmic time axis shows how every
/// trajectory starts (the direct flow from a small `m_0` rises within about `m_0^3 / lambda`).
fn output_grid(t_end: f64, points: usize) -> Vec<f64> {
    let n = points.saturating_sub(1).max(1);
    let t0 = t_end * GRID_START;
    std::iter::once(0.0)
        .chain((0..n).map(|i| {
            if i + 1 == n {
                t_end
            } else {
                (t0 * (t_end / t0).powf(i as f64 / (n - 1) as f64)).min(t_end)
            }
        }))
        .collect()
}

/// The first positive output time, as a fraction of the end time.
const GRID_START: f64 = 1e-6;

impl ScalarFlows {
    /// Both flows' trajectories on a shared logarithmic time axis, so that the direct flow's
    /// times, proportional to `m_0`, and the interneuron flow's, growing like `ln m_0`, are
    /// read on one scale; the closed forms dashed over the integrations, `sqrt(lambda)` as
    /// the target. One legend for the row.
    fn figure(&self, jobs: &[(usize, f64)], runs: &[Run]) -> Figure {
        let range = self.ranges(runs);
        let panels = (0..FLOWS.len())
            .map(|f| self.flow_panel(f, range, jobs, runs))
            .collect();
        Figure::grid(
            "scalar_flows",
            "Eigenvalue trajectories (solid) and closed forms (dashed): direct times grow like m_0, interneuron times like ln m_0",
            panels,
            2,
        )
    }

    /// The axes' ranges `(t_lo, t_hi, m_lo, m_hi)`: time from the earliest positive time of
    /// any run to the latest, `m` over what is drawn from `t_lo` on.
    fn ranges(&self, runs: &[Run]) -> (f64, f64, f64, f64) {
        let (mut t_lo, mut t_hi) = (f64::INFINITY, 0.0_f64);
        for r in runs {
            if let Some(&t) = r.times.iter().find(|&&t| t > 0.0) {
                t_lo = t_lo.min(t);
            }
            t_hi = t_hi.max(*r.times.last().unwrap_or(&1.0));
        }
        let t_lo = if t_lo.is_finite() {
            t_lo.max(GRID_START * t_hi)
        } else {
            GRID_START
        };
        // The m range of what is drawn (from t_lo on).
        let (mut m_lo, mut m_hi) = (self.lambda.sqrt(), self.lambda.sqrt());
        for r in runs {
            for (&t, &m) in r.times.iter().zip(&r.numeric) {
                if t >= t_lo && m > 0.0 && m.is_finite() {
                    m_lo = m_lo.min(m);
                    m_hi = m_hi.max(m);
                }
            }
        }
        (t_lo, t_hi, m_lo, m_hi)
    }

    /// Flow `f`'s panel: every `m_0`'s integrated trajectory, its closed form dashed, and the
    /// target `sqrt(lambda)`; the last panel carries the legend.
    fn flow_panel(
        &self,
        f: usize,
        (t_lo, t_hi, m_lo, m_hi): (f64, f64, f64, f64),
        jobs: &[(usize, f64)],
        runs: &[Run],
    ) -> Panel {
        let name = FLOWS[f];
        let law = if f == 0 {
            "dm/dt = lambda/m^2 - 1"
        } else {
            "dm/dt = 2(lambda/m - m)"
        };
        let mut p = Panel::new(
            format!("{name}: {law}"),
            Axis::log("flow time t").with_range(t_lo, t_hi),
            Axis::log("eigenvalue m of M").with_range(m_lo / 1.2, m_hi * 1.2),
        );
        let mine: Vec<(usize, &(usize, f64), &Run)> = jobs
            .iter()
            .zip(runs)
            .enumerate()
            .filter(|(_, (j, _))| j.0 == f)
            .map(|(ci, (j, r))| (ci % self.m0s.len(), j, r))
            .collect();
        let along = |r: &Run, v: &[f64]| -> Vec<(f64, f64)> {
            r.times.iter().copied().zip(v.iter().copied()).collect()
        };
        for &(col, &(_, m0), r) in &mine {
            p = p.with(
                Series::line(format!("m_0 = {}", format_float(m0)), along(r, &r.numeric))
                    .colored(col),
            );
        }
        for (i, &(_, _, r)) in mine.iter().enumerate() {
            let closed = Series::line("closed form", along(r, &r.closed))
                .styled(Style::Dashed)
                .colored(6);
            // One legend entry for all closed forms.
            p = p.with(if i == 0 { closed } else { closed.unlabelled() });
        }
        p = p.with(
            Series::line(
                "sqrt(lambda)",
                vec![(t_lo, self.lambda.sqrt()), (t_hi, self.lambda.sqrt())],
            )
            .styled(Style::Dashed)
            .colored(4),
        );
        if f + 1 == FLOWS.len() {
            p.note(format!("lambda = {}", self.lambda))
        } else {
            p.legend_at(Legend::Hidden)
        }
    }
}

#[cfg(test)]
mod grid_tests {
    use super::output_grid;
    use rand::{RngExt, SeedableRng};

    #[test]
    fn the_output_grid_ends_exactly_at_t_end_for_any_end_time() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        for _ in 0..500 {
            let t_end = 10f64.powf(rng.random_range(-3.0..4.0)) * rng.random_range(1.0..10.0);
            for points in [2, 3, 400, 401, 1000] {
                let g = output_grid(t_end, points);
                assert_eq!(g.len(), points);
                assert_eq!(g[0], 0.0);
                assert_eq!(*g.last().unwrap(), t_end, "t_end {t_end}, points {points}");
                assert!(g.windows(2).all(|w| w[0] <= w[1]));
                assert!(g.iter().all(|&t| t <= t_end));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The case an outside check found failing ("output times must lie in [0, t_end]").
    #[test]
    fn an_ordinary_start_runs() {
        let e = ScalarFlows {
            m0s: vec![0.1],
            ..ScalarFlows::default()
        };
        e.check().unwrap();
        e.run(&RunContext::new("x", 4).without_progress()).unwrap();
    }
}
