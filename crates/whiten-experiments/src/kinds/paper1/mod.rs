//! Paper 1's experiments: linear whitening networks, direct (`M`) and with interneurons (`W`),
//! learning offline and online, and their gradient flows.
//!
//! Shared by these kinds: [`setup`] (the input covariance, the initial networks, integrator
//! settings, paper 1's checks and claims) and [`online`] (the streaming loop of
//! `online_learning` and `adaptation`).

pub mod adaptation;
pub mod convergence_time;
pub mod discrete_vs_flow;
pub mod flow_scaling;
pub mod offline_learning;
pub mod online;
pub mod online_learning;
pub mod scalar_flows;
pub mod setup;
