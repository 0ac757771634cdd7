//! The Python package `whiten`: a thin PyO3 layer over `whiten-core`, `whiten-ode` and
//! `whiten-experiments`, numpy arrays in and out.
//!
//! Each binding converts its arguments ([`convert`]), releases the GIL for the work
//! (`Python::detach`), calls the Rust API and converts the result; there is no science here.
//! Refused inputs raise `ValueError` (or `TypeError` for a wrong dtype), numerical failures
//! `whiten.NumericalError` (a `RuntimeError`), with the Rust error's message. The Python-side
//! signatures and docs are in `python/whiten/__init__.pyi`; the tests in `tests/` (pytest).

mod circuit;
mod convert;
mod experiments;
mod gain;
mod linear;
mod signal;

use pyo3::prelude::*;

/// Recurrent whitening networks with interneurons (paper 1), a nonlinear interneuron circuit
/// that Gaussianises natural-image signals (paper 2) and whitening with gain-modulating
/// interneurons (issue #15), implemented in Rust.
#[pymodule]
fn _whiten(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("NumericalError", py.get_type::<convert::NumericalError>())?;
    m.add_class::<linear::PyDirectNetwork>()?;
    m.add_class::<linear::PyInterneuronNetwork>()?;
    m.add_function(wrap_pyfunction!(linear::learn_offline, m)?)?;
    m.add_function(wrap_pyfunction!(linear::flow_time, m)?)?;
    m.add_function(wrap_pyfunction!(linear::t_direct, m)?)?;
    m.add_function(wrap_pyfunction!(linear::t_interneuron, m)?)?;
    m.add_function(wrap_pyfunction!(linear::covariance_with_spectrum, m)?)?;
    m.add_class::<circuit::PyCircuit>()?;
    m.add_function(wrap_pyfunction!(signal::dead_leaves, m)?)?;
    m.add_function(wrap_pyfunction!(signal::generated_image, m)?)?;
    m.add_function(wrap_pyfunction!(signal::pyramid_band, m)?)?;
    m.add_function(wrap_pyfunction!(signal::signal_1d, m)?)?;
    m.add_function(wrap_pyfunction!(signal::pairs_2d, m)?)?;
    m.add_function(wrap_pyfunction!(signal::excess_kurtosis, m)?)?;
    m.add_function(wrap_pyfunction!(signal::ks_distance, m)?)?;
    m.add_function(wrap_pyfunction!(signal::fit_generalized_gaussian, m)?)?;
    m.add_function(wrap_pyfunction!(signal::mutual_information, m)?)?;
    m.add_function(wrap_pyfunction!(signal::normal_scores, m)?)?;
    m.add_function(wrap_pyfunction!(signal::normal_score_mi, m)?)?;
    m.add_function(wrap_pyfunction!(gain::mercedes, m)?)?;
    m.add_function(wrap_pyfunction!(gain::equiangular_3d, m)?)?;
    m.add_function(wrap_pyfunction!(gain::random_frame, m)?)?;
    m.add_function(wrap_pyfunction!(gain::spectral_frame, m)?)?;
    m.add_function(wrap_pyfunction!(gain::conv_frame, m)?)?;
    m.add_function(wrap_pyfunction!(gain::conv_frame_1d, m)?)?;
    m.add_function(wrap_pyfunction!(gain::normalize_columns, m)?)?;
    m.add_function(wrap_pyfunction!(gain::optimal_gains, m)?)?;
    m.add_class::<gain::PyGainNetwork>()?;
    m.add_function(wrap_pyfunction!(gain::run_offline, m)?)?;
    m.add_class::<gain::PyMultiTimescaleNetwork>()?;
    m.add_function(wrap_pyfunction!(gain::synthetic_contexts, m)?)?;
    m.add_function(wrap_pyfunction!(gain::signed_permutation_distance, m)?)?;
    m.add_function(wrap_pyfunction!(experiments::run_experiment, m)?)?;
    m.add_function(wrap_pyfunction!(experiments::experiment_kinds, m)?)?;
    Ok(())
}
