//! The built-in experiment kinds, one module each, and their registration.

pub mod adaptation;
pub mod circuit_adaptation;
pub mod common;
pub mod convergence_time;
pub mod discrete_vs_flow;
pub mod flow_scaling;
pub mod gaussianize_1d;
pub mod image_survey;
pub mod mi_vs_offset;
pub mod offline_learning;
pub mod online;
pub mod online_learning;
pub mod pairs_2d;
pub mod paper2;
pub mod scalar_flows;

use crate::experiment::Registry;

/// Registers every built-in kind.
pub fn register_all(r: &mut Registry) {
    r.register::<adaptation::Adaptation>();
    r.register::<circuit_adaptation::CircuitAdaptation>();
    r.register::<convergence_time::ConvergenceTime>();
    r.register::<discrete_vs_flow::DiscreteVsFlow>();
    r.register::<flow_scaling::FlowScaling>();
    r.register::<gaussianize_1d::Gaussianize1d>();
    r.register::<image_survey::ImageSurvey>();
    r.register::<mi_vs_offset::MiVsOffset>();
    r.register::<offline_learning::OfflineLearning>();
    r.register::<online_learning::OnlineLearning>();
    r.register::<pairs_2d::Pairs2d>();
    r.register::<scalar_flows::ScalarFlows>();
}
