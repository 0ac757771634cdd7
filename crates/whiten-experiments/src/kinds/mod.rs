//! The built-in experiment kinds, grouped by paper, and the registry that holds them all.
//!
//! * [`paper1`]: linear whitening networks (direct and with interneurons), their online and
//!   offline learning and their gradient flows, with the set-up they share.
//! * [`paper2`]: the nonlinear interneuron circuit that Gaussianises natural-image signals,
//!   with the image sources and learning settings its kinds share.
//! * [`paper3`]: the gain-modulation models (a fixed frame with adaptive gains; fast gains with
//!   slow synapses) and the comparison of the line's four linear mechanisms.
//! * [`common`]: parameter checks and small helpers used by the kinds of every paper.
//!
//! The framework ([`crate::experiment`], [`crate::config`], [`crate::runner`]) knows no kind:
//! its users ask for [`builtin_registry`] (or call [`register_all`] on a registry of their
//! own), as the `whiten` binary and the Python package do.

pub mod common;
pub mod paper1;
pub mod paper2;
pub mod paper3;

use crate::experiment::Registry;

/// Registers every built-in kind.
pub fn register_all(r: &mut Registry) {
    r.register::<paper1::adaptation::Adaptation>();
    r.register::<paper2::circuit_adaptation::CircuitAdaptation>();
    r.register::<paper3::context_switching::ContextSwitching>();
    r.register::<paper1::convergence_time::ConvergenceTime>();
    r.register::<paper1::discrete_vs_flow::DiscreteVsFlow>();
    r.register::<paper1::flow_scaling::FlowScaling>();
    r.register::<paper3::frame_convergence::FrameConvergence>();
    r.register::<paper3::gain_contexts::GainContexts>();
    r.register::<paper2::gaussianize_1d::Gaussianize1d>();
    r.register::<paper2::image_survey::ImageSurvey>();
    r.register::<paper3::local_whitening::LocalWhitening>();
    r.register::<paper3::mechanisms::Mechanisms>();
    r.register::<paper2::mi_vs_offset::MiVsOffset>();
    r.register::<paper3::nonnegative_gains::NonnegativeGains>();
    r.register::<paper1::offline_learning::OfflineLearning>();
    r.register::<paper1::online_learning::OnlineLearning>();
    r.register::<paper2::pairs_2d::Pairs2d>();
    r.register::<paper3::patch_contexts::PatchContexts>();
    r.register::<paper1::scalar_flows::ScalarFlows>();
    r.register::<paper3::slow_synapses::SlowSynapses>();
}

/// A registry of every built-in kind of the workspace.
pub fn builtin_registry() -> Registry {
    let mut r = Registry::empty();
    register_all(&mut r);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `config.ron` is an experiment file: it loads again, to the same resolved parameters
    /// (enum variants holding structs, such as `learning: Reference(..)`, included).
    #[test]
    fn every_recorded_configuration_loads_again() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let registry = builtin_registry();
        let mut files = Vec::new();
        for dir in [root.clone(), root.join("authors")] {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "ron") {
                    files.push(p);
                }
            }
        }
        assert!(files.len() >= 10, "{files:?}");
        for f in files {
            let loaded = crate::load_file(&f, &registry).unwrap();
            let (_, config, _) =
                crate::runner::resolved(&loaded, &crate::RunOptions::new("unused"));
            let again = crate::load_str(&config, &f, &registry).unwrap_or_else(|e| {
                panic!("{}: config.ron does not load: {e}\n{config}", f.display())
            });
            assert_eq!(
                again.experiment.resolved_params(),
                loaded.experiment.resolved_params(),
                "{}",
                f.display()
            );
        }
    }
}
