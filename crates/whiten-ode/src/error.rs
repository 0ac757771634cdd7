//! Typed errors of the integrators. Every numerical failure carries the time `t` at which it
//! happened, so a caller can report how far the integration got.

use thiserror::Error;

/// Errors returned by the integrators of this crate.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OdeError {
    /// The step-size controller asked for a step below the minimum step.
    #[error("step size underflow at t = {t}: h = {h:e} is below the minimum step {h_min:e}")]
    StepSizeUnderflow {
        /// Time of the last accepted step.
        t: f64,
        /// Step size that was requested.
        h: f64,
        /// Minimum step in force at `t`.
        h_min: f64,
    },
    /// The maximum number of steps (accepted plus rejected) was reached before the end.
    #[error("too many steps: {max_steps} steps reached at t = {t}")]
    TooManySteps {
        /// Time of the last accepted step.
        t: f64,
        /// The limit that was reached.
        max_steps: usize,
    },
    /// The state or the right-hand side became NaN or infinite and shrinking the step did not
    /// help (for the flows: M lost positive definiteness).
    #[error("non-finite state or derivative at t = {t}")]
    NonFinite {
        /// Time of the last accepted (finite) state.
        t: f64,
    },
    /// The [`crate::Interrupt`] of the options was set; the integration stopped at `t`.
    #[error("interrupted at t = {t}")]
    Interrupted {
        /// Time of the last accepted step.
        t: f64,
    },
    /// The options were rejected before any work started.
    #[error("invalid integrator options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// The initial state does not have the dimension of the system.
    #[error("dimension mismatch: the system has dimension {expected}, the state has {found}")]
    DimensionMismatch {
        /// Dimension of the system.
        expected: usize,
        /// Length of the given state.
        found: usize,
    },
}

impl OdeError {
    /// The time at which a numerical failure happened (`None` for option and dimension errors).
    pub fn time(&self) -> Option<f64> {
        match *self {
            OdeError::StepSizeUnderflow { t, .. }
            | OdeError::TooManySteps { t, .. }
            | OdeError::NonFinite { t }
            | OdeError::Interrupted { t } => Some(t),
            OdeError::InvalidOptions { .. } | OdeError::DimensionMismatch { .. } => None,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, OdeError>;
