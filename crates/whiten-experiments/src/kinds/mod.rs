//! The built-in experiment kinds, one module each, and their registration.

pub mod adaptation;
pub mod common;
pub mod convergence_time;
pub mod discrete_vs_flow;
pub mod offline_learning;
pub mod online;
pub mod online_learning;
pub mod scalar_flows;

use crate::experiment::Registry;

/// Registers every built-in kind.
pub fn register_all(r: &mut Registry) {
    r.register::<adaptation::Adaptation>();
    r.register::<convergence_time::ConvergenceTime>();
    r.register::<discrete_vs_flow::DiscreteVsFlow>();
    r.register::<offline_learning::OfflineLearning>();
    r.register::<online_learning::OnlineLearning>();
    r.register::<scalar_flows::ScalarFlows>();
}
