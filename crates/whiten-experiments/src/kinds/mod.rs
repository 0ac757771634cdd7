//! The built-in experiment kinds, one module each, and their registration.

pub mod common;
pub mod offline_learning;

use crate::experiment::Registry;

/// Registers every built-in kind.
pub fn register_all(r: &mut Registry) {
    r.register::<offline_learning::OfflineLearning>();
}
