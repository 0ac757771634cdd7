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
//! Paper A's kinds, one per figure: [`gain_contexts`] (Fig 2), [`frame_convergence`] (Fig 3),
//! [`context_switching`] (Fig 4) and [`nonnegative_gains`] (Fig 5 and its appendix); the set-up
//! they share is in [`frames_setup`] (frames, error measures, the covariances of Figs 3 and 4,
//! offline runs over a sequence of covariances).

pub mod context_switching;
pub mod frame_convergence;
pub mod frames_setup;
pub mod gain_contexts;
pub mod nonnegative_gains;
