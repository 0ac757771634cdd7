//! The research line's gain-modulation models, grouped as a third paper
//! (`../shared/spec/paper3-gain-modulating-interneurons.md`; the models are in
//! [`whiten_core::gain`]):
//!
//! * **A** (ICML 2023): interneurons with a fixed frame `W` whose gains `g` adapt;
//! * **B** (NeurIPS 2023): fast gains `g` with slow synaptic plasticity of `W` across contexts;
//!
//! and a comparison of the four linear interneuron mechanisms of the line on the same
//! covariance switches. Their claims are reported as paper 3 (`Claim::paper = 3`).
//!
//! Kinds:
//!
//! * [`local_whitening`]: paper A's appendix conv1d: a convolutional frame's gains whiten
//!   `C_yy` inside the window only;
//! * [`mechanisms`]: direct recurrence, interneuron synapses, gains on a fixed complete frame
//!   and fast gains + slow synapses on the same context switches, with and without a shared
//!   basis, learning rates tuned by one rule: re-whitening time, error floor, plastic
//!   parameters;
//! * [`patch_contexts`]: paper B's images experiment: `W` learned across 5 x 5 patch-covariance
//!   contexts (fast-gain limit) lets adapted gains whiten unseen contexts;
//! * [`slow_synapses`]: paper B's synthetic online experiment (fast gains, slow synapses `W`
//!   learning the contexts' shared basis) and its fast-gain limit.
//!
//! Shared set-up of paper B's kinds: [`contexts_setup`].

pub mod contexts_setup;
pub mod local_whitening;
pub mod mechanisms;
mod mechanisms_report;
mod mechanisms_setup;
pub mod patch_contexts;
pub mod slow_synapses;
