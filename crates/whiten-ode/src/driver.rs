//! The integration loop: [`Solver::step`] takes one accepted step and says why it stopped;
//! [`integrate`] and [`integrate_until_event`] are drivers built on it.

use std::fmt;
use std::str::FromStr;

use crate::controller::{ControllerParams, PiController, error_norm, initial_step};
use crate::dop853::Dop853;
use crate::error::{OdeError, Result};
use crate::event::{EventFunction, crosses, fires_at_start};
use crate::explicit::ExplicitRk;
use crate::roots::brent;
use crate::rosenbrock::Rosenbrock23;
use crate::stats::Stats;
use crate::system::System;
use crate::tableau::{BS32, DOPRI5, TSIT5, Tableau};

/// Integration method, chosen by name in configuration files (`dopri5`, `tsit5`, `bs32`,
/// `rosenbrock23`, `dop853`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Dormand-Prince 5(4) with 4th-order dense output.
    Dopri5,
    /// Tsitouras 5(4) with 4th-order dense output.
    Tsit5,
    /// Bogacki-Shampine 3(2) with cubic Hermite dense output.
    Bs32,
    /// Rosenbrock 2(3) of `ode23s` (linearly implicit, for stiff problems).
    Rosenbrock23,
    /// Dormand-Prince 8(5,3) with 7th-order dense output (Hairer's `DOP853`): 12 rhs
    /// evaluations per step, 3 more in steps that need dense output; the fewest evaluations
    /// at tight tolerances.
    Dop853,
}

impl Method {
    /// All methods, in a fixed order.
    pub const ALL: [Method; 5] = [
        Method::Dopri5,
        Method::Tsit5,
        Method::Bs32,
        Method::Rosenbrock23,
        Method::Dop853,
    ];

    /// Lower-case name (the `FromStr`/`Display` form).
    pub fn name(self) -> &'static str {
        match self {
            Method::Dopri5 => "dopri5",
            Method::Tsit5 => "tsit5",
            Method::Bs32 => "bs32",
            Method::Rosenbrock23 => "rosenbrock23",
            Method::Dop853 => "dop853",
        }
    }

    /// The Butcher tableau of a method driven by [`Tableau`] data (`None` for Rosenbrock and
    /// DOP853, which have their own steppers).
    pub fn tableau(self) -> Option<&'static Tableau> {
        match self {
            Method::Dopri5 => Some(&DOPRI5),
            Method::Tsit5 => Some(&TSIT5),
            Method::Bs32 => Some(&BS32),
            Method::Rosenbrock23 | Method::Dop853 => None,
        }
    }

    /// Order of the propagated solution.
    pub fn order(self) -> u32 {
        match self {
            Method::Rosenbrock23 => 2,
            Method::Dop853 => Dop853::ORDER,
            _ => self.tableau().map_or(2, |t| t.order),
        }
    }

    /// Order of the dense output.
    pub fn dense_order(self) -> u32 {
        match self {
            Method::Rosenbrock23 => 2,
            Method::Dop853 => Dop853::DENSE_ORDER,
            _ => self.tableau().map_or(2, |t| t.dense_order),
        }
    }

    /// Order `q` of the error estimate (`err = O(h^q)`), used by the controller.
    fn error_order(self) -> u32 {
        match self {
            Method::Rosenbrock23 => 3,
            Method::Dop853 => Dop853::ERROR_ORDER,
            _ => self.tableau().map_or(3, |t| t.embedded_order + 1),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = OdeError;
    fn from_str(s: &str) -> Result<Self> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
                OdeError::InvalidOptions {
                    reason: format!(
                        "unknown method {s:?} (expected one of {})",
                        names.join(", ")
                    ),
                }
            })
    }
}

/// Which states [`integrate`] records.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Output {
    /// The initial state and every accepted step.
    #[default]
    Steps,
    /// Only the given times (non-decreasing, inside `[t0, t_end]`), by dense output.
    Times(Vec<f64>),
    /// Only the final state.
    Final,
}

/// Options of an integration. Check them with [`Options::validate`] (the drivers do).
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// First step; `None` selects it automatically (Hairer's algorithm).
    pub first_step: Option<f64>,
    /// Largest step.
    pub max_step: f64,
    /// Smallest step before [`OdeError::StepSizeUnderflow`]; the effective minimum is never
    /// below `16 eps |t|`.
    pub min_step: f64,
    /// Largest number of step attempts (accepted plus rejected).
    pub max_steps: usize,
    /// Step-size controller parameters.
    pub controller: ControllerParams,
    /// Which states [`integrate`] records.
    pub output: Output,
    /// Absolute tolerance on event times.
    pub event_tol: f64,
    /// A stop flag polled before every step attempt: once set, the drivers end with
    /// [`OdeError::Interrupted`]. `None`: the integration cannot be stopped from outside.
    pub interrupt: Option<crate::Interrupt>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rtol: 1e-6,
            atol: 1e-9,
            first_step: None,
            max_step: f64::INFINITY,
            min_step: 0.0,
            max_steps: 100_000,
            controller: ControllerParams::default(),
            output: Output::Steps,
            event_tol: 1e-12,
            interrupt: None,
        }
    }
}

impl Options {
    /// Default options with the given tolerances.
    pub fn with_tolerances(rtol: f64, atol: f64) -> Self {
        Self {
            rtol,
            atol,
            ..Self::default()
        }
    }

    /// Checks the options once, before any work.
    pub fn validate(&self) -> Result<()> {
        // Written so that NaN fails every check.
        let positive = |x: f64| x > 0.0;
        let non_negative = |x: f64| x >= 0.0;
        let bad = |reason: String| Err(OdeError::InvalidOptions { reason });
        if !(non_negative(self.rtol)
            && non_negative(self.atol)
            && positive(self.rtol + self.atol)
            && self.rtol.is_finite()
            && self.atol.is_finite())
        {
            return bad(format!(
                "tolerances must be finite, non-negative and not both zero (rtol {}, atol {})",
                self.rtol, self.atol
            ));
        }
        // A relative tolerance below what f64 can resolve asks for steps that rounding
        // defeats: the step size shrinks towards the minimum step and millions of steps follow.
        if positive(self.rtol) && self.rtol < MIN_RTOL {
            return bad(format!(
                "rtol {:e} is below what f64 arithmetic can resolve (at least {MIN_RTOL:e}, or 0 with atol > 0)",
                self.rtol
            ));
        }
        if let Some(h) = self.first_step
            && !(positive(h) && h.is_finite())
        {
            return bad(format!("first_step must be positive and finite, got {h}"));
        }
        if !(positive(self.max_step)
            && non_negative(self.min_step)
            && self.min_step <= self.max_step)
        {
            return bad(format!(
                "need 0 <= min_step <= max_step, max_step > 0 (got {} and {})",
                self.min_step, self.max_step
            ));
        }
        if self.max_steps == 0 {
            return bad("max_steps must be positive".into());
        }
        let c = &self.controller;
        let controller_ok = positive(c.safety)
            && c.safety <= 1.0
            && positive(c.min_factor)
            && c.min_factor < 1.0
            && positive(c.max_factor - 1.0)
            && non_negative(c.beta_q)
            && c.beta_q < 1.0;
        if !controller_ok {
            return bad(format!("invalid controller parameters {c:?}"));
        }
        if !positive(self.event_tol) {
            return bad(format!(
                "event_tol must be positive, got {}",
                self.event_tol
            ));
        }
        if let Output::Times(ts) = &self.output {
            if ts.is_empty() {
                return bad(
                    "output times must not be empty (use Output::Final for the end state only)"
                        .into(),
                );
            }
            if let Some(i) = ts.iter().position(|t| !t.is_finite()) {
                return bad(format!("output time {i} is {} (must be finite)", ts[i]));
            }
            if ts.windows(2).any(|w| w[0] > w[1]) {
                return bad("output times must be non-decreasing".into());
            }
        }
        Ok(())
    }
}

/// The stepper of a method: explicit tableau or Rosenbrock.
#[derive(Debug)]
enum Stepper {
    Explicit(ExplicitRk),
    Rosenbrock(Box<Rosenbrock23>),
    Dop853(Box<Dop853>),
}

/// Why [`Solver::step`] returned.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepOutcome {
    /// A step was accepted; the solver is now at `t` (< `t_end`).
    Accepted {
        /// Time reached.
        t: f64,
    },
    /// An event was located at `t` inside the last accepted step; the solver itself is at the
    /// end of that step, the state at `t` is available from [`Solver::dense_output`].
    Event {
        /// Event time.
        t: f64,
    },
    /// The last step reached `t_end`.
    Finished {
        /// `t_end`.
        t: f64,
    },
}

/// An adaptive integrator positioned at `(t, y)`, advancing towards `t_end` one accepted step at
/// a time.
pub struct Solver<S: System> {
    system: S,
    method: Method,
    stepper: Stepper,
    controller: PiController,
    opts: Options,
    t: f64,
    y: Vec<f64>,
    t_prev: f64,
    y_prev: Vec<f64>,
    t_end: f64,
    h: f64,
    stats: Stats,
    attempts: usize,
    event_g: Option<f64>,
    dense_buf: Vec<f64>,
}

impl<S: System> Solver<S> {
    /// Prepares an integration of `system` from `(t0, y0)` to `t_end >= t0` (evaluates `f(t0,
    /// y0)` and, unless given, the first step).
    pub fn new(
        mut system: S,
        method: Method,
        t0: f64,
        y0: &[f64],
        t_end: f64,
        opts: &Options,
    ) -> Result<Self> {
        opts.validate()?;
        let n = system.dim();
        if y0.len() != n {
            return Err(OdeError::DimensionMismatch {
                expected: n,
                found: y0.len(),
            });
        }
        if !(t0.is_finite() && t_end.is_finite() && t_end >= t0) {
            return Err(OdeError::InvalidOptions {
                reason: format!("need finite t0 <= t_end, got t0 = {t0}, t_end = {t_end}"),
            });
        }
        let mut stats = Stats::default();
        let mut f0 = vec![0.0; n];
        system.rhs(t0, y0, &mut f0);
        stats.rhs_evals += 1;
        if !(y0.iter().all(|v| v.is_finite()) && f0.iter().all(|v| v.is_finite())) {
            return Err(OdeError::NonFinite { t: t0 });
        }
        let h = match opts.first_step {
            Some(h) => h,
            None => {
                let (mut w1, mut w2) = (vec![0.0; n], vec![0.0; n]);
                initial_step(
                    &mut system,
                    t0,
                    y0,
                    &f0,
                    method.order(),
                    opts.rtol,
                    opts.atol,
                    opts.max_step,
                    (&mut w1, &mut w2),
                    &mut stats,
                )
            }
        };
        let stepper = match (method, method.tableau()) {
            (_, Some(tab)) => {
                let mut rk = ExplicitRk::new(tab, n);
                rk.set_f0(&f0);
                Stepper::Explicit(rk)
            }
            (Method::Dop853, None) => {
                let mut rk = Box::new(Dop853::new(n));
                rk.set_f0(&f0);
                Stepper::Dop853(rk)
            }
            (_, None) => {
                let mut ros = Box::new(Rosenbrock23::new(n));
                ros.set_f0(&f0);
                Stepper::Rosenbrock(ros)
            }
        };
        Ok(Self {
            system,
            method,
            stepper,
            controller: PiController::new(method.error_order(), opts.controller),
            opts: opts.clone(),
            t: t0,
            y: y0.to_vec(),
            t_prev: t0,
            y_prev: y0.to_vec(),
            t_end,
            h,
            stats,
            attempts: 0,
            event_g: None,
            dense_buf: vec![0.0; n],
        })
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Current time.
    pub fn t(&self) -> f64 {
        self.t
    }

    /// Current state.
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// Start of the last accepted step (equal to [`t`](Self::t) before the first step).
    pub fn t_prev(&self) -> f64 {
        self.t_prev
    }

    /// Step size proposed for the next attempt.
    pub fn next_step_size(&self) -> f64 {
        self.h
    }

    /// Work counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The system.
    pub fn system(&self) -> &S {
        &self.system
    }

    /// The system, mutably (e.g. to evaluate diagnostics with its workspaces).
    pub fn system_mut(&mut self) -> &mut S {
        &mut self.system
    }

    /// Gives the system back.
    pub fn into_system(self) -> S {
        self.system
    }

    /// State at time `t` inside the last accepted step `[t_prev, t]`, by the method's dense
    /// output (clamped to the step).
    pub fn dense_output(&mut self, t: f64, out: &mut [f64]) {
        let h = self.t - self.t_prev;
        if h <= 0.0 {
            out.copy_from_slice(&self.y);
            return;
        }
        if t >= self.t {
            out.copy_from_slice(&self.y);
            return;
        }
        let theta = ((t - self.t_prev) / h).clamp(0.0, 1.0);
        match &mut self.stepper {
            Stepper::Explicit(rk) => rk.dense(&self.y_prev, h, theta, out),
            Stepper::Rosenbrock(ros) => ros.dense(&self.y_prev, h, theta, out),
            Stepper::Dop853(rk) => {
                rk.dense(&mut self.system, &self.y_prev, theta, out, &mut self.stats)
            }
        }
    }

    /// Smallest step allowed at the current time.
    fn min_step(&self) -> f64 {
        self.opts
            .min_step
            .max(16.0 * f64::EPSILON * self.t.abs().max(self.t_end.abs()))
    }

    /// Takes one accepted step (retrying rejected attempts with smaller steps).
    ///
    /// Errors: [`OdeError::TooManySteps`] when the attempt budget is spent,
    /// [`OdeError::StepSizeUnderflow`] when the step would fall below the minimum,
    /// [`OdeError::NonFinite`] when the trial states stay non-finite down to the minimum step,
    /// [`OdeError::Interrupted`] once the options' [`crate::Interrupt`] is set; each with the
    /// time of the last accepted step.
    pub fn step(&mut self) -> Result<StepOutcome> {
        if self.t >= self.t_end {
            return Ok(StepOutcome::Finished { t: self.t });
        }
        let mut after_reject = false;
        loop {
            if self.opts.interrupt.as_ref().is_some_and(|i| i.is_set()) {
                return Err(OdeError::Interrupted { t: self.t });
            }
            if self.attempts >= self.opts.max_steps {
                return Err(OdeError::TooManySteps {
                    t: self.t,
                    max_steps: self.opts.max_steps,
                });
            }
            self.attempts += 1;
            let h_min = self.min_step();
            let mut h = self.h.min(self.opts.max_step);
            // Land exactly on t_end, stretching the step by up to 1% rather than leaving a
            // sliver of a last step.
            let remaining = self.t_end - self.t;
            let last = 1.01 * h >= remaining;
            if last {
                h = remaining;
            } else if h < h_min {
                return Err(OdeError::StepSizeUnderflow {
                    t: self.t,
                    h,
                    h_min,
                });
            }
            let (finite, err) = match &mut self.stepper {
                Stepper::Explicit(rk) => {
                    let ok = rk.attempt(&mut self.system, self.t, &self.y, h, &mut self.stats);
                    let e = error_norm(
                        rk.error(),
                        &self.y,
                        rk.y_new(),
                        self.opts.rtol,
                        self.opts.atol,
                    );
                    (ok, e)
                }
                Stepper::Rosenbrock(ros) => {
                    let ok = ros.attempt(&mut self.system, self.t, &self.y, h, &mut self.stats);
                    let e = if ok {
                        error_norm(
                            ros.error(),
                            &self.y,
                            ros.y_new(),
                            self.opts.rtol,
                            self.opts.atol,
                        )
                    } else {
                        f64::NAN
                    };
                    (ok, e)
                }
                Stepper::Dop853(rk) => {
                    let mut ok = rk.attempt(&mut self.system, self.t, &self.y, h, &mut self.stats);
                    let e = if ok {
                        rk.error_norm(&self.y, self.opts.rtol, self.opts.atol)
                    } else {
                        f64::NAN
                    };
                    // The FSAL stage is only evaluated for a step that passes the error test.
                    if ok && e <= 1.0 {
                        ok = rk.finish(&mut self.system, &mut self.stats);
                    }
                    (ok, e)
                }
            };
            let err = if finite { err } else { f64::NAN };
            let decision = self.controller.decide(err, after_reject);
            if decision.accept {
                self.stats.accepted_steps += 1;
                std::mem::swap(&mut self.y_prev, &mut self.y);
                self.t_prev = self.t;
                match &mut self.stepper {
                    Stepper::Explicit(rk) => {
                        self.y.copy_from_slice(rk.y_new());
                        rk.accept();
                    }
                    Stepper::Rosenbrock(ros) => {
                        self.y.copy_from_slice(ros.y_new());
                        ros.accept(decision.factor);
                    }
                    Stepper::Dop853(rk) => {
                        self.y.copy_from_slice(rk.y_new());
                        rk.accept(&mut self.system, &mut self.stats);
                    }
                }
                self.t = if last { self.t_end } else { self.t + h };
                self.h = match self.stepper {
                    // Holding h keeps the factorisation of W (see crate::rosenbrock).
                    Stepper::Rosenbrock(ref ros)
                        if ros.reuses_jacobian()
                            && (1.0..=crate::rosenbrock::HOLD_STEP).contains(&decision.factor) =>
                    {
                        h
                    }
                    _ => h * decision.factor,
                };
                return Ok(if last {
                    StepOutcome::Finished { t: self.t }
                } else {
                    StepOutcome::Accepted { t: self.t }
                });
            }
            self.stats.rejected_steps += 1;
            after_reject = true;
            let old_jacobian = match &mut self.stepper {
                Stepper::Rosenbrock(ros) => ros.reject(),
                _ => false,
            };
            // Rejected with an old Jacobian: retried with a fresh one at the same h.
            self.h = if finite && old_jacobian {
                h
            } else {
                h * decision.factor
            };
            tracing::trace!(t = self.t, h, err, "step rejected");
            if !finite && self.h < h_min {
                return Err(OdeError::NonFinite { t: self.t });
            }
        }
    }

    /// Takes one accepted step and checks `event` on it: returns [`StepOutcome::Event`] with the
    /// event time located on the dense output (to `Options::event_tol`) when `g` changes sign
    /// inside the step (or at the start, see [`crate::Direction`]).
    pub fn step_with_event<E: EventFunction>(&mut self, event: &mut E) -> Result<StepOutcome> {
        let dir = event.direction();
        let g_old = match self.event_g {
            Some(g) => g,
            None => {
                let g0 = event.value(self.t, &self.y);
                self.event_g = Some(g0);
                if fires_at_start(dir, g0) {
                    self.t_prev = self.t;
                    return Ok(StepOutcome::Event { t: self.t });
                }
                g0
            }
        };
        let outcome = self.step()?;
        let g_new = event.value(self.t, &self.y);
        self.event_g = Some(g_new);
        if !crosses(dir, g_old, g_new) {
            return Ok(outcome);
        }
        let (a, b) = (self.t_prev, self.t);
        let mut buf = std::mem::take(&mut self.dense_buf);
        let tol = self.opts.event_tol;
        let root = brent(
            |t| {
                self.dense_output(t, &mut buf);
                event.value(t, &buf)
            },
            a,
            b,
            g_old,
            g_new,
            tol,
            200,
        );
        self.dense_buf = buf;
        // A located root always exists (signs differ); fall back to the step end.
        let mut t_event = root.unwrap_or(b);
        // Report the first time on the event side, within the tolerance.
        if dir == crate::Direction::Falling || dir == crate::Direction::Rising {
            let mut buf = std::mem::take(&mut self.dense_buf);
            self.dense_output(t_event, &mut buf);
            let g = event.value(t_event, &buf);
            if !crosses(dir, g_old, g) {
                t_event = (t_event + tol).min(b);
            }
            self.dense_buf = buf;
        }
        Ok(StepOutcome::Event { t: t_event })
    }
}

/// Smallest positive relative tolerance accepted: about 45 times the f64 machine epsilon.
pub const MIN_RTOL: f64 = 1e-14;

/// Result of [`integrate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// Dimension of the state.
    pub dim: usize,
    /// Recorded times.
    pub t: Vec<f64>,
    /// Recorded states, flat: state `i` is `y[i*dim..(i+1)*dim]`.
    pub y: Vec<f64>,
    /// Work counters.
    pub stats: Stats,
}

impl Solution {
    /// Number of recorded states.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// State number `i`.
    pub fn state(&self, i: usize) -> &[f64] {
        &self.y[i * self.dim..(i + 1) * self.dim]
    }

    /// Last recorded state (the state at `t_end` for [`Output::Final`] and
    /// [`Output::Steps`]). A solution always has one: [`Options::validate`] refuses an empty
    /// list of output times. (Empty only for a `Solution` built by hand; then the slice is
    /// empty rather than a panic.)
    pub fn last_state(&self) -> &[f64] {
        match self.len() {
            0 => &[],
            n => self.state(n - 1),
        }
    }
}

/// Integrates `system` from `(t0, y0)` to `t_end` and records states as chosen by
/// `opts.output`.
pub fn integrate<S: System>(
    system: S,
    method: Method,
    t0: f64,
    y0: &[f64],
    t_end: f64,
    opts: &Options,
) -> Result<Solution> {
    let mut solver = Solver::new(system, method, t0, y0, t_end, opts)?;
    let dim = y0.len();
    let mut sol = Solution {
        dim,
        t: Vec::new(),
        y: Vec::new(),
        stats: Stats::default(),
    };
    let mut buf = vec![0.0; dim];
    let times: &[f64] = match &opts.output {
        Output::Times(ts) => {
            if ts.first().is_some_and(|&t| t < t0) || ts.last().is_some_and(|&t| t > t_end) {
                return Err(OdeError::InvalidOptions {
                    reason: format!("output times must lie in [{t0}, {t_end}]"),
                });
            }
            ts
        }
        _ => &[],
    };
    let mut next = 0;
    match opts.output {
        Output::Steps => {
            sol.t.push(t0);
            sol.y.extend_from_slice(y0);
        }
        Output::Times(_) => {
            while next < times.len() && times[next] <= t0 {
                sol.t.push(times[next]);
                sol.y.extend_from_slice(y0);
                next += 1;
            }
        }
        Output::Final => {}
    }
    loop {
        let outcome = solver.step()?;
        match opts.output {
            Output::Steps => {
                sol.t.push(solver.t());
                sol.y.extend_from_slice(solver.y());
            }
            Output::Times(_) => {
                while next < times.len() && times[next] <= solver.t() {
                    solver.dense_output(times[next], &mut buf);
                    sol.t.push(times[next]);
                    sol.y.extend_from_slice(&buf);
                    next += 1;
                }
            }
            Output::Final => {}
        }
        if let StepOutcome::Finished { t } = outcome {
            if opts.output == Output::Final {
                sol.t.push(t);
                sol.y.extend_from_slice(solver.y());
            }
            break;
        }
    }
    sol.stats = *solver.stats();
    Ok(sol)
}

/// Whether [`integrate_until_event`] found the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatus {
    /// The event happened at [`EventResult::t`].
    Found,
    /// No event before `t_max`; [`EventResult::t`] is `t_max`.
    ReachedEnd,
}

/// Result of [`integrate_until_event`].
#[derive(Clone, Debug, PartialEq)]
pub struct EventResult {
    /// Event found or end reached.
    pub status: EventStatus,
    /// Event time, or `t_max`.
    pub t: f64,
    /// State at `t` (dense output at the event).
    pub y: Vec<f64>,
    /// Work counters.
    pub stats: Stats,
}

impl EventResult {
    /// The event time, `None` if `t_max` was reached first.
    pub fn event_time(&self) -> Option<f64> {
        match self.status {
            EventStatus::Found => Some(self.t),
            EventStatus::ReachedEnd => None,
        }
    }
}

/// Integrates from `(t0, y0)` until the first event of `event` (located on the dense output) or
/// `t_max`, whichever comes first.
pub fn integrate_until_event<S: System, E: EventFunction>(
    system: S,
    method: Method,
    t0: f64,
    y0: &[f64],
    t_max: f64,
    opts: &Options,
    mut event: E,
) -> Result<EventResult> {
    let mut solver = Solver::new(system, method, t0, y0, t_max, opts)?;
    loop {
        match solver.step_with_event(&mut event)? {
            StepOutcome::Accepted { .. } => {}
            StepOutcome::Event { t } => {
                let mut y = vec![0.0; y0.len()];
                solver.dense_output(t, &mut y);
                return Ok(EventResult {
                    status: EventStatus::Found,
                    t,
                    y,
                    stats: *solver.stats(),
                });
            }
            StepOutcome::Finished { t } => {
                return Ok(EventResult {
                    status: EventStatus::ReachedEnd,
                    t,
                    y: solver.y().to_vec(),
                    stats: *solver.stats(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Directed, Direction};
    use crate::system::FnSystem;

    /// `y' = -2 t y^2`, `y(0) = 1`: `y(t) = 1 / (1 + t^2)`.
    fn riccati() -> FnSystem<impl FnMut(f64, &[f64], &mut [f64])> {
        FnSystem::new(1, |t, y: &[f64], dy: &mut [f64]| {
            dy[0] = -2.0 * t * y[0] * y[0]
        })
    }

    fn riccati_exact(t: f64) -> f64 {
        1.0 / (1.0 + t * t)
    }

    /// Least-squares slope of `log y` against `log x`.
    fn loglog_slope(x: &[f64], y: &[f64]) -> f64 {
        let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
        let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
        let n = x.len() as f64;
        let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
        let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f64 = lx.iter().map(|a| (a - mx) * (a - mx)).sum();
        sxy / sxx
    }

    /// Harmonic oscillator `y1' = y2, y2' = -y1`, `y(0) = (1, 0)`: `y = (cos t, -sin t)`.
    fn oscillator() -> FnSystem<impl FnMut(f64, &[f64], &mut [f64])> {
        FnSystem::new(2, |_t, y: &[f64], dy: &mut [f64]| {
            dy[0] = y[1];
            dy[1] = -y[0];
        })
    }

    fn oscillator_error(y: &[f64], t: f64) -> f64 {
        (y[0] - t.cos()).abs().max((y[1] + t.sin()).abs())
    }

    /// Fixed-step integration of the oscillator to `t = 5` with `steps` steps.
    fn fixed_step_error(tab: &'static Tableau, steps: usize) -> f64 {
        let mut sys = oscillator();
        let mut rk = ExplicitRk::new(tab, 2);
        let mut stats = Stats::default();
        let h = 5.0 / steps as f64;
        let mut y = vec![1.0, 0.0];
        let mut f0 = vec![0.0; 2];
        sys.rhs(0.0, &y, &mut f0);
        rk.set_f0(&f0);
        for i in 0..steps {
            assert!(rk.attempt(&mut sys, i as f64 * h, &y, h, &mut stats));
            y.copy_from_slice(rk.y_new());
            rk.accept();
        }
        oscillator_error(&y, 5.0)
    }

    #[test]
    fn explicit_methods_have_their_order_with_fixed_steps() {
        // Global error ~ C h^p: the fitted log-log slope must be within 0.2 of p.
        for tab in [&DOPRI5, &TSIT5, &BS32] {
            let steps = [40usize, 80, 160, 320];
            let hs: Vec<f64> = steps.iter().map(|&s| 5.0 / s as f64).collect();
            let errs: Vec<f64> = steps.iter().map(|&s| fixed_step_error(tab, s)).collect();
            let slope = loglog_slope(&hs, &errs);
            assert!(
                (slope - tab.order as f64).abs() < 0.2,
                "{}: slope {slope}, errors {errs:?}",
                tab.name
            );
        }
    }

    #[test]
    fn adaptive_error_follows_tolerance() {
        // The global error stays within a small multiple of the tolerance and falls with it.
        for method in Method::ALL {
            let mut errs = Vec::new();
            let tols = [1e-4, 1e-6, 1e-8];
            for tol in tols {
                let mut o = Options::with_tolerances(tol, tol);
                o.output = Output::Final;
                let sol = integrate(oscillator(), method, 0.0, &[1.0, 0.0], 10.0, &o).unwrap();
                let err = oscillator_error(sol.last_state(), 10.0);
                // Rosenbrock 2(3) controls an O(h^3) local error of a 2nd-order solution, so
                // its global error scales like tol^(2/3).
                let bound = match method {
                    Method::Rosenbrock23 => 10.0 * tol.powf(2.0 / 3.0),
                    _ => 100.0 * tol,
                };
                assert!(err < bound, "{method} tol {tol}: error {err}");
                errs.push(err);
            }
            assert!(errs[2] < 1e-2 * errs[0], "{method}: {errs:?}");
        }
    }

    #[test]
    fn dense_output_has_its_local_order() {
        // One step of size h from the exact y(0.3); the interpolant at theta = 0.4 has local
        // error O(h^(q+1)) for a dense output of order q.
        for method in Method::ALL {
            let q = method.dense_order();
            let mut errs = Vec::new();
            // Larger steps for the high-order interpolant, to stay above rounding errors.
            let hs = if q >= 6 {
                [0.4, 0.3, 0.2, 0.15]
            } else {
                [0.08, 0.04, 0.02, 0.01]
            };
            for &h in &hs {
                let t0 = 0.3;
                let mut o = Options::with_tolerances(1.0, 1.0);
                o.first_step = Some(h);
                o.controller.min_factor = 0.99;
                let mut s =
                    Solver::new(riccati(), method, t0, &[riccati_exact(t0)], 10.0, &o).unwrap();
                s.step().unwrap();
                assert!((s.t() - (t0 + h)).abs() < 1e-15);
                let mut out = [0.0];
                let tm = t0 + 0.4 * h;
                s.dense_output(tm, &mut out);
                errs.push((out[0] - riccati_exact(tm)).abs());
            }
            let slope = loglog_slope(&hs, &errs);
            assert!(
                slope > q as f64 + 1.0 - 0.3,
                "{method}: dense local slope {slope} < {} ({errs:?})",
                q + 1
            );
        }
    }

    #[test]
    fn bad_output_times_and_tolerances_are_typed_errors() {
        let bad = |o: &Options| {
            matches!(
                integrate(riccati(), Method::Dopri5, 0.0, &[1.0], 1.0, o),
                Err(OdeError::InvalidOptions { .. })
            )
        };
        for ts in [
            vec![],
            vec![0.5, f64::NAN],
            vec![f64::NAN],
            vec![0.1, 0.5, f64::NAN],
            vec![0.2, f64::INFINITY],
            vec![0.5, 0.2],
        ] {
            let o = Options {
                output: Output::Times(ts.clone()),
                ..Options::default()
            };
            assert!(bad(&o), "{ts:?}");
        }
        for (rtol, atol) in [
            (1e-17, 1e-12),
            (f64::INFINITY, 1e-9),
            (1e-6, f64::INFINITY),
            (f64::NAN, 1e-9),
            (0.0, 0.0),
        ] {
            assert!(bad(&Options::with_tolerances(rtol, atol)), "{rtol} {atol}");
        }
        // the smallest accepted relative tolerance still integrates, and atol-only control
        // (rtol = 0) stays allowed
        for (rtol, atol) in [(MIN_RTOL, 1e-14), (0.0, 1e-8)] {
            let sol = integrate(
                riccati(),
                Method::Dop853,
                0.0,
                &[1.0],
                1.0,
                &Options::with_tolerances(rtol, atol),
            )
            .unwrap();
            assert!((sol.last_state()[0] - riccati_exact(1.0)).abs() < 1e-6);
        }
        let empty = Solution {
            dim: 1,
            t: vec![],
            y: vec![],
            stats: Stats::default(),
        };
        assert!(empty.last_state().is_empty());
    }

    #[test]
    fn output_times_are_interpolated_accurately() {
        let ts: Vec<f64> = (0..=20).map(|i| 0.1 * i as f64).collect();
        for method in [Method::Dopri5, Method::Tsit5, Method::Dop853] {
            let mut o = Options::with_tolerances(1e-10, 1e-12);
            o.output = Output::Times(ts.clone());
            let sol = integrate(riccati(), method, 0.0, &[1.0], 2.0, &o).unwrap();
            assert_eq!(sol.t, ts);
            for (i, &t) in ts.iter().enumerate() {
                let e = (sol.state(i)[0] - riccati_exact(t)).abs();
                assert!(e < 1e-9, "{method} t {t}: error {e}");
            }
        }
    }

    #[test]
    fn steps_output_records_every_accepted_step() {
        let o = Options::with_tolerances(1e-8, 1e-10);
        let sol = integrate(riccati(), Method::Dopri5, 0.0, &[1.0], 2.0, &o).unwrap();
        assert_eq!(sol.len(), sol.stats.accepted_steps + 1);
        assert_eq!(*sol.t.last().unwrap(), 2.0);
        assert!(sol.t.windows(2).all(|w| w[0] < w[1]));
        // FSAL: 6 new evaluations per attempt, plus f0 and one for the initial step.
        let attempts = sol.stats.accepted_steps + sol.stats.rejected_steps;
        assert_eq!(sol.stats.rhs_evals, 6 * attempts + 2);
        // DOP853: 11 evaluations per attempt, the FSAL stage only for accepted steps.
        let sol = integrate(riccati(), Method::Dop853, 0.0, &[1.0], 2.0, &o).unwrap();
        let st = sol.stats;
        assert_eq!(sol.len(), st.accepted_steps + 1);
        assert_eq!(
            st.rhs_evals,
            11 * (st.accepted_steps + st.rejected_steps) + st.accepted_steps + 2
        );
        // Fewer evaluations than Dopri5 at this tolerance, same accuracy class.
        assert!(st.rhs_evals < sol_dopri_evals(&o), "{st:?}");
        assert!((sol.last_state()[0] - riccati_exact(2.0)).abs() < 1e-8);
    }

    fn sol_dopri_evals(o: &Options) -> usize {
        integrate(riccati(), Method::Dopri5, 0.0, &[1.0], 2.0, o)
            .unwrap()
            .stats
            .rhs_evals
    }

    #[test]
    fn event_is_located_on_the_interpolant() {
        // y' = -y, y(0) = 1; y = 0.5 at t = ln 2.
        for method in [Method::Dopri5, Method::Tsit5, Method::Bs32, Method::Dop853] {
            let sys = FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| dy[0] = -y[0]);
            let o = Options::with_tolerances(1e-12, 1e-14);
            let r =
                integrate_until_event(sys, method, 0.0, &[1.0], 5.0, &o, |_t: f64, y: &[f64]| {
                    y[0] - 0.5
                })
                .unwrap();
            let t = r.event_time().expect("event must be found");
            assert!((t - 2f64.ln()).abs() < 1e-10, "{method}: {t}");
            assert!((r.y[0] - 0.5).abs() < 1e-10);
        }
    }

    #[test]
    fn event_directions_and_missing_events() {
        let decay = || FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| dy[0] = -y[0]);
        let o = Options::with_tolerances(1e-10, 1e-12);
        // A rising event never happens for a decaying solution.
        let rising = Directed {
            event: |_t: f64, y: &[f64]| y[0] - 0.5,
            direction: Direction::Rising,
        };
        // g(0) = 0.5 < 0 would fire at once for Rising; use y - 2 (always negative).
        let r = integrate_until_event(
            decay(),
            Method::Dopri5,
            0.0,
            &[1.0],
            3.0,
            &o,
            Directed {
                event: |_t: f64, y: &[f64]| y[0] - 2.0,
                direction: Direction::Rising,
            },
        )
        .unwrap();
        assert_eq!(r.status, EventStatus::ReachedEnd);
        assert_eq!(r.t, 3.0);
        assert!((r.y[0] - (-3f64).exp()).abs() < 1e-9);
        // Rising with g(t0) >= 0 fires at t0.
        let r =
            integrate_until_event(decay(), Method::Dopri5, 0.0, &[1.0], 3.0, &o, rising).unwrap();
        assert_eq!(r.event_time(), Some(0.0));
        // Falling: first time y <= 0.25, at ln 4.
        let falling = Directed {
            event: |_t: f64, y: &[f64]| y[0] - 0.25,
            direction: Direction::Falling,
        };
        let r =
            integrate_until_event(decay(), Method::Tsit5, 0.0, &[1.0], 3.0, &o, falling).unwrap();
        let t = r.event_time().unwrap();
        assert!((t - 4f64.ln()).abs() < 1e-9, "{t}");
    }

    #[test]
    fn too_many_steps_reports_time() {
        let mut o = Options::with_tolerances(1e-10, 1e-12);
        o.max_steps = 10;
        let err = integrate(riccati(), Method::Dopri5, 0.0, &[1.0], 2.0, &o).unwrap_err();
        match err {
            OdeError::TooManySteps { t, max_steps } => {
                assert_eq!(max_steps, 10);
                assert!(t > 0.0 && t < 2.0, "{t}");
            }
            e => panic!("unexpected {e:?}"),
        }
        assert!(err.time().is_some());
    }

    #[test]
    fn non_finite_state_reports_time() {
        // y' = y from 1, but the rhs is NaN beyond y = 2 (reached at t = ln 2).
        let sys = FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| {
            dy[0] = if y[0] > 2.0 { f64::NAN } else { y[0] }
        });
        let o = Options::with_tolerances(1e-8, 1e-10);
        let err = integrate(sys, Method::Dopri5, 0.0, &[1.0], 2.0, &o).unwrap_err();
        match err {
            OdeError::NonFinite { t } => {
                assert!(t <= 2f64.ln() && t > 2f64.ln() - 1e-3, "{t}")
            }
            e => panic!("unexpected {e:?}"),
        }
        // Non-finite from the start is reported at t0.
        let sys = FnSystem::new(1, |_t, _y: &[f64], dy: &mut [f64]| dy[0] = f64::NAN);
        let err = integrate(sys, Method::Tsit5, 0.5, &[1.0], 2.0, &o).unwrap_err();
        assert_eq!(err, OdeError::NonFinite { t: 0.5 });
    }

    #[test]
    fn blow_up_stops_near_singularity() {
        // y' = y^2, y(0) = 1: y = 1/(1 - t) blows up at t = 1.
        let sys = FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| dy[0] = y[0] * y[0]);
        let mut o = Options::with_tolerances(1e-8, 1e-10);
        o.min_step = 1e-12;
        let err = integrate(sys, Method::Dopri5, 0.0, &[1.0], 2.0, &o).unwrap_err();
        let t = err.time().unwrap();
        assert!(t > 0.999 && t < 1.001, "{err:?}");
        assert!(matches!(
            err,
            OdeError::StepSizeUnderflow { .. }
                | OdeError::NonFinite { .. }
                | OdeError::TooManySteps { .. }
        ));
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        let o = Options::default();
        let e = integrate(riccati(), Method::Dopri5, 0.0, &[1.0, 2.0], 1.0, &o).unwrap_err();
        assert_eq!(
            e,
            OdeError::DimensionMismatch {
                expected: 1,
                found: 2
            }
        );
        let bad = Options {
            rtol: -1.0,
            ..Options::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(OdeError::InvalidOptions { .. })
        ));
        let e = integrate(riccati(), Method::Dopri5, 1.0, &[1.0], 0.0, &o).unwrap_err();
        assert!(matches!(e, OdeError::InvalidOptions { .. }));
    }

    #[test]
    fn an_interrupt_stops_every_driver_at_the_time_reached() {
        for method in Method::ALL {
            // The right-hand side sets the flag on its 50th evaluation, mid-run.
            let stop = crate::Interrupt::new();
            let o = Options {
                interrupt: Some(stop.clone()),
                max_step: 0.01,
                ..Options::default()
            };
            let mut calls = 0;
            let system = FnSystem::new(1, |t, y: &[f64], dy: &mut [f64]| {
                calls += 1;
                if calls == 50 {
                    stop.set();
                }
                dy[0] = -2.0 * t * y[0] * y[0];
            });
            let e = integrate(system, method, 0.0, &[1.0], 10.0, &o).unwrap_err();
            let OdeError::Interrupted { t } = e else {
                panic!("{method}: expected an interruption, got {e}");
            };
            assert!(t > 0.0 && t < 10.0, "{method}: stopped at t = {t}");
            assert_eq!(e.time(), Some(t));
            // A flag set before the start stops the event driver before its first step.
            let o = Options {
                interrupt: Some(stop.clone()),
                ..Options::default()
            };
            let never = |_t: f64, _y: &[f64]| 1.0;
            let e =
                integrate_until_event(riccati(), method, 0.0, &[1.0], 10.0, &o, never).unwrap_err();
            assert_eq!(e, OdeError::Interrupted { t: 0.0 }, "{method}");
        }
    }

    #[test]
    fn method_names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.to_string().parse::<Method>().unwrap(), m);
            assert_eq!(m.to_string(), m.to_string().to_lowercase());
        }
        assert_eq!("dopri5".parse::<Method>().unwrap(), Method::Dopri5);
        assert!("rk45".parse::<Method>().is_err());
    }
}
