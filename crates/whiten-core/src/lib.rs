//! # whiten-core
//!
//! The models of the `whiten` workspace, on [faer]:
//!
//! * [`linear`]: paper 1's linear whitening networks, the direct network (recurrent matrix `M`)
//!   and the interneuron network (`M = W W^T`, `W` is n x k with k >= n interneurons);
//! * [`dynamics`]: explicit simulation of their fast neural dynamics;
//! * [`cov`]: covariance tools (Haar-random rotations, covariances with a given spectrum,
//!   Gaussian samples, symmetric square roots, ZCA);
//! * [`metrics`]: whitening errors and a sliding-window covariance estimate;
//! * [`circuit`] and [`special`]: paper 2's nonlinear interneuron circuit (weights `W`, gains `g`,
//!   activation parameters `theta`) and the special functions it needs;
//! * [`gain`]: the gain-modulating interneurons of Duong et al. (ICML 2023: a fixed frame `W`,
//!   adaptive gains `g`; NeurIPS 2023: slow synapses `W`, fast gains `g`), their frames and
//!   closed-form optimal gains;
//! * [`signal`] and [`stats`]: natural-image signals (steerable-pyramid band, dead-leaves images,
//!   coefficient pairs) and the measurements made on them (generalised Gaussian fit, mutual
//!   information, Gaussianity).
//!
//! Notation follows the papers: `n` primary neurons, `k` interneurons, `C` the input covariance,
//! `eta` a learning rate, `t` flow time (`eta` times the number of updates).
//!
//! This crate does no I/O: no files, no printing (logs go through `tracing`).

pub mod circuit;
pub mod cov;
pub mod dynamics;
pub mod error;
pub mod gain;
pub mod linear;
pub mod metrics;
pub mod signal;
pub mod special;
pub mod stats;

pub use error::{CoreError, Result};
