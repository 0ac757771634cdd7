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
//! Kinds of paper A (one per figure): [`gain_contexts`] (Fig 2), [`frame_convergence`] (Fig 3),
//! [`context_switching`] (Fig 4), [`nonnegative_gains`] (Fig 5 and its appendix) and
//! [`local_whitening`] (the appendix's conv1d: a convolutional frame's gains whiten `C_yy`
//! inside the window only); their shared set-up is [`frames_setup`] (frames, error measures,
//! the covariances of Figs 3 and 4, offline runs over a sequence of covariances).
//!
//! Kinds of paper B: [`slow_synapses`] (the synthetic online experiment: fast gains, slow
//! synapses `W` learning the contexts' shared basis, and its fast-gain limit) and
//! [`patch_contexts`] (the images experiment: `W` learned across 5 x 5 patch-covariance
//! contexts lets adapted gains whiten unseen contexts); their shared set-up is
//! [`contexts_setup`].
//!
//! [`mechanisms`]: direct recurrence, interneuron synapses, gains on a fixed complete frame and
//! fast gains + slow synapses on the same context switches, with and without a shared basis,
//! learning rates tuned by one rule: re-whitening time, error floor, plastic parameters.

pub mod context_switching;
pub mod contexts_setup;
pub mod frame_convergence;
pub mod frames_setup;
pub mod gain_contexts;
pub mod local_whitening;
pub mod mechanisms;
mod mechanisms_report;
mod mechanisms_setup;
pub mod nonnegative_gains;
pub mod patch_contexts;
pub mod slow_synapses;
