//! Adaptive ODE integrators for the whitening gradient flows.
//!
//! * [`System`]: `dy/dt = f(t, y)` over a flat state, evaluated in place.
//! * Explicit embedded Runge-Kutta pairs driven by [`Tableau`] data (Dormand-Prince 5(4),
//!   Tsitouras 5(4), Bogacki-Shampine 3(2)) and a Rosenbrock 2(3) method for stiff problems,
//!   selected by [`Method`].
//! * Step-size control ([`PiController`], mixed RMS error norm, Hairer's initial step), dense
//!   output and event location on the interpolant ([`EventFunction`]).
//! * [`Solver::step`] returns why it stopped; [`integrate`] and [`integrate_until_event`] are
//!   drivers on top of it. Work is counted in [`Stats`], failures are typed [`OdeError`]s
//!   carrying the time at which they happened. An [`Interrupt`] in the [`Options`] stops a long
//!   integration from another thread.
//! * [`flows`]: the direct and interneuron gradient flows of paper 1, their scalar reductions,
//!   closed forms and error measures.

mod blocked;
pub mod controller;
pub mod dop853;
pub mod driver;
pub mod error;
pub mod event;
pub mod explicit;
pub mod flows;
pub mod interrupt;
mod normtest;
pub mod roots;
pub mod rosenbrock;
mod scratch;
mod small;
pub mod stats;
pub mod system;
pub mod tableau;

pub use controller::{ControllerParams, PiController};
pub use driver::{
    EventResult, EventStatus, Method, Options, Output, Solution, Solver, StepOutcome, integrate,
    integrate_until_event,
};
pub use error::{OdeError, Result};
pub use event::{Directed, Direction, EventFunction};
pub use interrupt::Interrupt;
pub use stats::Stats;
pub use system::{FnSystem, System};
pub use tableau::Tableau;
