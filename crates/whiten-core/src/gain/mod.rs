//! Whitening with gain-modulating interneurons: the models of
//!
//! * **A**: Duong, Lipshutz, Heeger, Chklovskii, Simoncelli, "Adaptive whitening in neural
//!   populations with gain-modulating interneurons", ICML 2023 ([`GainNetwork`]: a fixed frame,
//!   adaptive gains);
//! * **B**: Duong, Simoncelli, Chklovskii, Lipshutz, "Adaptive whitening with fast gain
//!   modulation and slow synaptic plasticity", NeurIPS 2023 ([`MultiTimescaleNetwork`]: slow
//!   synapses, fast gains).
//!
//! # Notation
//!
//! `N` primary neurons with responses `y` (B: `r`) to inputs `x` (B: stimuli `s`) of covariance
//! `C`; `K` interneurons. `W` (`N x K`) holds the interneurons' weights: in A a fixed **frame**
//! of unit columns `w_i`, in B learned **synapses** whose columns need not be unit. `g` (length
//! `K`) are the interneurons' **gains**, `G = diag(g)`, and `alpha` (default 1) is the leak of the
//! primary neurons. Interneuron `i` receives `z_i = w_i^T y` and outputs `n_i = g_i z_i`, fed back
//! as `-W n`. The fast dynamics `dy/dt = x - alpha y - W G W^T y` are never integrated: only
//! their steady state
//!
//! ```text
//! y = M x,   M = (alpha I + W G W^T)^{-1},   C_yy = M C M^T
//! ```
//!
//! is used. `alpha I + W G W^T` is symmetric but positive definite only for suitable gains;
//! solves use Cholesky when possible and a pivoted LU otherwise, and a singular matrix is the
//! typed error `Singular`. Gains learn with rate `eta_g`, synapses with `eta_w << eta_g`.
//!
//! Samples are the columns of `N x T` matrices, as in the rest of the crate. Learning steps
//! refuse `eta <= 0` or non-finite (`InvalidLearningRate`) and leave the state unchanged when
//! the update is not finite.
//!
//! # Modules
//!
//! * [`frame`]: Mercedes, equiangular 3x6, random, spectral and convolutional frames;
//! * [`network`]: paper A's [`GainNetwork`] and the authors' offline loop [`run_offline`];
//! * [`multi_timescale`]: paper B's [`MultiTimescaleNetwork`], its synthetic contexts, the
//!   distance of `W` to the generating basis up to sign and permutation, and the appendix's
//!   Algorithm 3 with separate non-negative synapses ([`SeparateSynapsesNetwork`]);
//! * [`gain_equation`] / [`optimal_gains`]: the closed-form gains
//!   `(W^T W)^{o2} g = diag(W^T (C^{1/2} - alpha I) W)`;
//! * [`ErrorMeasure`]: the error measures of both papers.
//!
//! # The authors' quirks (from their code)
//!
//! * A's online `y` ignores `alpha` (`(I + W G W^T)^{-1} x`) while its error uses it; here the
//!   model uses `alpha` everywhere (identical for the default `alpha = 1`).
//! * A's `'operator'` error is `lambda_max(C_yy) - 1`, signed, not a norm; it is named
//!   [`max_eigen_excess`] here. With clamped gains A's `'spectral'` error counts only
//!   `max(lambda_i - 1, 0)`.
//! * A's offline loop stops early on `allclose(g_prev, g)` (rtol 1e-5, atol 1e-8) or any
//!   `|g_i| > 200`; its gain history is `[g_0, post-update g ...]` without the stopping step's
//!   update, and its errors use the pre-update `M` ([`OfflineTrace`]).
//! * A's default initial gains are ones; its notebooks mostly use `g_0 = g_opt(W, I) = 0`.
//! * B's online step computes `n = g o z` with the old gains but subtracts `W diag(g_new)` in
//!   `dW = r n^T / B - W diag(g_new)` ([`MultiTimescaleNetwork::online_step`]).
//! * Both inverted `(W^T W)^{o2}` explicitly, which fails silently on degenerate frames; here
//!   [`optimal_gains`] returns the minimum-norm least-squares solution.

mod closed_form;
pub mod frame;
mod kernel;
mod measure;
pub mod multi_timescale;
pub mod network;
mod solve;

pub use closed_form::{gain_equation, gram_hadamard_square, optimal_gains};
pub use measure::{
    ErrorMeasure, frobenius_error, max_eigen_excess, spectral_error, spectral_norm_error,
};
pub use multi_timescale::{
    MultiTimescaleNetwork, SeparateSynapsesNetwork, SyntheticContexts, signed_permutation_distance,
};
pub use network::{GainNetwork, OfflineRun, OfflineTrace, StopReason, run_offline};

#[cfg(test)]
mod tests_multi;
#[cfg(test)]
mod tests_network;
