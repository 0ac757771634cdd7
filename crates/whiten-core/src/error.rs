//! The one error type of whiten-core: every numerical failure and every refused setup is a
//! variant carrying the values that explain it.

use thiserror::Error;

/// Errors of the models and tools in this crate.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Two shapes that must agree do not.
    #[error("dimension mismatch in {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// What was being checked.
        what: &'static str,
        /// The required size.
        expected: usize,
        /// The size received.
        got: usize,
    },
    /// The interneuron network needs at least as many interneurons as primary neurons.
    #[error(
        "k = {k} interneurons is fewer than n = {n} primary neurons (the network needs k >= n)"
    )]
    TooFewInterneurons {
        /// Primary neurons.
        n: usize,
        /// Interneurons.
        k: usize,
    },
    /// `W` must have full row rank so that `M = W W^T` is positive definite.
    #[error("W ({n} x {k}) does not have full row rank: smallest singular value {sigma_min:e}")]
    RankDeficient {
        /// Rows of W.
        n: usize,
        /// Columns of W.
        k: usize,
        /// Its smallest singular value.
        sigma_min: f64,
    },
    /// A matrix that must be symmetric positive definite is not.
    #[error("{what} is not positive definite (smallest eigenvalue {min_eigenvalue:e})")]
    NotPositiveDefinite {
        /// Which matrix.
        what: &'static str,
        /// Its smallest eigenvalue (or NaN when it could not be computed).
        min_eigenvalue: f64,
    },
    /// A matrix that must be symmetric is not.
    #[error("{what} is not symmetric (largest asymmetry {asymmetry:e})")]
    NotSymmetric {
        /// Which matrix.
        what: &'static str,
        /// `max |A - A^T|`.
        asymmetry: f64,
    },
    /// Learning rates must be positive and finite.
    #[error("learning rate {name} = {value} must be positive and finite")]
    InvalidLearningRate {
        /// Which rate (eta, eta_g, ...).
        name: &'static str,
        /// The value received.
        value: f64,
    },
    /// A parameter outside its allowed range.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// The value received.
        value: f64,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A NaN or infinity appeared.
    #[error("non-finite value in {what}")]
    NonFinite {
        /// Where it appeared.
        what: &'static str,
    },
    /// The damped Newton solve of the circuit response did not converge.
    #[error(
        "response solve did not converge after {iterations} iterations (residual {residual:e})"
    )]
    ResponseNotConverged {
        /// Newton iterations made.
        iterations: usize,
        /// Final residual norm `||F(r)||`.
        residual: f64,
    },
    /// An eigendecomposition or factorisation failed.
    #[error("{what}: decomposition failed")]
    DecompositionFailed {
        /// Which decomposition.
        what: &'static str,
    },
    /// A matrix that must be invertible is (numerically) singular: its smallest eigenvalue in
    /// absolute value (symmetric matrices) or singular value (general ones) is below `n * eps`
    /// times the largest (or times the scale of the terms it was summed from).
    #[error(
        "{what} is singular (smallest |eigenvalue| or singular value {smallest:e}, largest {largest:e})"
    )]
    Singular {
        /// Which matrix.
        what: &'static str,
        /// Its smallest |eigenvalue| (symmetric) or singular value (general).
        smallest: f64,
        /// Its largest |eigenvalue| (symmetric) or singular value (general).
        largest: f64,
    },
    /// A column of a frame (or of synaptic weights) is refused: zero, or not of unit norm where
    /// unit norm is required.
    #[error("column {index} of {what} has norm {norm}: {reason}")]
    BadColumn {
        /// Which matrix.
        what: &'static str,
        /// The column (0-based).
        index: usize,
        /// Its Euclidean norm.
        norm: f64,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A failure during learning, with the iteration at which it happened.
    #[error("learning iteration {iteration}: {source}")]
    Learning {
        /// The learning iteration (1-based) whose step failed.
        iteration: usize,
        /// What failed.
        source: Box<CoreError>,
    },
    /// The caller asked a long loop to stop (Ctrl-C, say) before it finished.
    #[error("interrupted after {iteration} iterations")]
    Interrupted {
        /// Iterations completed before the stop.
        iteration: usize,
    },
}

/// Result with [`CoreError`].
pub type Result<T> = std::result::Result<T, CoreError>;
