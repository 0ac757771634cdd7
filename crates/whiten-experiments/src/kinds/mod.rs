//! The built-in experiment kinds, one module each, and their registration.

pub mod adaptation;
pub mod common;
pub mod offline_learning;
pub mod online;
pub mod online_learning;

use crate::experiment::Registry;

/// Registers every built-in kind.
pub fn register_all(r: &mut Registry) {
    r.register::<adaptation::Adaptation>();
    r.register::<offline_learning::OfflineLearning>();
    r.register::<online_learning::OnlineLearning>();
}
