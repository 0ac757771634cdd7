//! The gain-modulation models in Python (`whiten_core::gain`): frames, the closed-form optimal
//! gains, paper A's `GainNetwork` (a fixed frame, adaptive gains) with the authors' offline
//! loop, paper B's `MultiTimescaleNetwork` (slow synapses, fast gains), its synthetic contexts
//! and the distance of a learned `W` to the generating basis up to sign and permutation.
//!
//! Frames and weights are `n x K` arrays (one column per interneuron), as in the papers;
//! sample arrays have one sample per ROW (`T x n`), as in the rest of the package. Frames that
//! the Rust code refuses (a zero column, a column that is not of unit norm) raise `ValueError`.

use faer::Mat;
use numpy::ndarray::Array3;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_core::CoreError;
use whiten_core::cov::check_spd;
use whiten_core::gain::{
    self, ErrorMeasure, GainNetwork, MultiTimescaleNetwork, OfflineRun, StopReason,
    SyntheticContexts, frame,
};

use crate::convert::{
    array, columns_out, core_err, core_input_err, matrix_out, samples, square, vec_out, vector,
};

/// Largest frame or context array the bindings build, in entries (128 MB of f64): a guard
/// against sizes that would exhaust memory (or overflow) instead of raising.
const MAX_ENTRIES: usize = 1 << 24;

fn check_entries(what: &str, entries: Option<usize>) -> PyResult<()> {
    match entries {
        Some(e) if e <= MAX_ENTRIES => Ok(()),
        _ => Err(PyValueError::new_err(format!(
            "{what} would have more than {MAX_ENTRIES} entries"
        ))),
    }
}

/// The frame or weights argument (`n x K`, finite, non-empty) as an owned matrix.
fn weights(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Mat<f64>> {
    Ok(
        array(obj, name, 2, "an n x K matrix, one column per interneuron")?
            .matrix()
            .to_owned(),
    )
}

/// Gains of length `k` (`None`: zeros).
fn gains(obj: Option<&Bound<'_, PyAny>>, name: &str, k: usize) -> PyResult<Vec<f64>> {
    match obj {
        None => Ok(vec![0.0; k]),
        Some(g) => {
            let v = vector(g, name, 1)?.slice().to_vec();
            if v.len() != k {
                return Err(PyValueError::new_err(format!(
                    "{name} must have K = {k} values (one per column of W), got {}",
                    v.len()
                )));
            }
            Ok(v)
        }
    }
}

/// A refused frame or weights argument as a `ValueError` naming the argument (`name`): the Rust
/// message names the matrix (`W`), the Python argument may be called otherwise (`W0`).
fn frame_err(name: &'static str) -> impl Fn(CoreError) -> PyErr {
    move |e| match e {
        CoreError::BadColumn { .. } => PyValueError::new_err(format!("{name}: {e}")),
        other => core_input_err(other),
    }
}

fn measure(name: &str) -> PyResult<ErrorMeasure> {
    match name {
        "frobenius" => Ok(ErrorMeasure::Frobenius),
        "spectral" => Ok(ErrorMeasure::Spectral),
        "max_eigen_excess" => Ok(ErrorMeasure::MaxEigenExcess),
        "spectral_norm" => Ok(ErrorMeasure::SpectralNorm),
        other => Err(PyValueError::new_err(format!(
            "measure = {other:?}: expected \"frobenius\", \"spectral\", \"max_eigen_excess\" or \"spectral_norm\""
        ))),
    }
}

/// The covariance argument `C` of the closed forms: `n x n`, symmetric positive definite.
fn spd(obj: &Bound<'_, PyAny>, n: Option<usize>) -> PyResult<Mat<f64>> {
    let c = square(obj, "C", n)?.matrix().to_owned();
    check_spd(c.as_ref(), "C").map_err(core_input_err)?;
    Ok(c)
}

/// The Mercedes-Benz frame (`2 x 3`, angles `0, 2 pi/3, 4 pi/3`; `W W^T = 1.5 I`).
#[pyfunction]
pub fn mercedes(py: Python<'_>) -> Bound<'_, PyArray2<f64>> {
    matrix_out(py, frame::mercedes().as_ref())
}

/// The equiangular tight frame of six unit vectors in `R^3` (`3 x 6`, `W W^T = 2 I`).
#[pyfunction]
pub fn equiangular_3d(py: Python<'_>) -> Bound<'_, PyArray2<f64>> {
    matrix_out(py, frame::equiangular_3d().as_ref())
}

/// A random frame (`n x k`): standard normal entries from a ChaCha8 stream seeded by `seed`,
/// columns normalised.
#[pyfunction]
#[pyo3(signature = (n, k, seed = 0))]
pub fn random_frame(
    py: Python<'_>,
    n: usize,
    k: usize,
    seed: u64,
) -> PyResult<Bound<'_, PyArray2<f64>>> {
    check_entries("the frame", n.checked_mul(k))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = frame::random_unit(n, k, &mut rng).map_err(core_input_err)?;
    Ok(matrix_out(py, w.as_ref()))
}

/// The spectral frame: the eigenvectors of the symmetric `C` (eigenvalues ascending), then
/// `extra` random unit columns drawn from a ChaCha8 stream seeded by `seed`.
#[pyfunction]
#[pyo3(signature = (C, extra = 0, seed = 0))]
#[allow(non_snake_case)]
pub fn spectral_frame<'py>(
    py: Python<'py>,
    C: &Bound<'py, PyAny>,
    extra: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let c = square(C, "C", None)?;
    let n = c.dims2().0;
    check_entries(
        "the frame",
        n.checked_add(extra).and_then(|k| k.checked_mul(n)),
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = frame::spectral(c.matrix(), extra, &mut rng).map_err(core_input_err)?;
    Ok(matrix_out(py, w.as_ref()))
}

/// The convolutional frame of a `rows x cols` image (vectorised row-major) and an `h x w`
/// window: the identity, then `(e_a + e_b)/sqrt 2` for every pixel pair within the window.
#[pyfunction]
pub fn conv_frame(
    py: Python<'_>,
    rows: usize,
    cols: usize,
    h: usize,
    w: usize,
) -> PyResult<Bound<'_, PyArray2<f64>>> {
    // Bound on the columns: n identity columns and at most n (2h - 1)(2w - 1) / 2 pairs.
    let n = rows.checked_mul(cols);
    let window = h
        .checked_mul(2)
        .and_then(|a| w.checked_mul(2).and_then(|b| a.checked_mul(b)));
    let k = n.and_then(|n| window.and_then(|win| n.checked_mul(win / 2 + 1)));
    check_entries(
        "the frame",
        n.and_then(|n| k.and_then(|k| n.checked_mul(k))),
    )?;
    let f = frame::conv(rows, cols, h, w).map_err(core_input_err)?;
    Ok(matrix_out(py, f.as_ref()))
}

/// The 1D convolutional frame of `n` neurons and a window of `h` (`conv_frame(n, 1, h, 1)`).
#[pyfunction]
pub fn conv_frame_1d(py: Python<'_>, n: usize, h: usize) -> PyResult<Bound<'_, PyArray2<f64>>> {
    conv_frame(py, n, 1, h, 1)
}

/// `W` with every column divided by its norm (a zero column raises `ValueError`).
#[pyfunction]
#[allow(non_snake_case)]
pub fn normalize_columns<'py>(
    py: Python<'py>,
    W: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let w = weights(W, "W")?;
    let out = frame::normalize_columns(w.as_ref()).map_err(frame_err("W"))?;
    Ok(matrix_out(py, out.as_ref()))
}

/// The optimal gains: the minimum-norm least-squares solution of
/// `(W^T W)^{o2} g = diag(W^T (C^{1/2} - alpha I) W)`. When `{w_i w_i^T}` spans the symmetric
/// matrices (`K >= n(n+1)/2`), `alpha I + W diag(g) W^T = C^{1/2}`.
#[pyfunction]
#[pyo3(signature = (W, C, alpha = 1.0))]
#[allow(non_snake_case)]
pub fn optimal_gains<'py>(
    py: Python<'py>,
    W: &Bound<'py, PyAny>,
    C: &Bound<'py, PyAny>,
    alpha: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let w = weights(W, "W")?;
    let c = spd(C, Some(w.nrows()))?;
    if !alpha.is_finite() {
        return Err(PyValueError::new_err(format!(
            "alpha = {alpha} must be finite"
        )));
    }
    let g = py
        .detach(|| gain::optimal_gains(w.as_ref(), c.as_ref(), alpha))
        .map_err(core_err)?;
    Ok(vec_out(py, g))
}

/// Paper A's network: a fixed frame `W` (`n x K`, unit columns), adaptive gains `g`, leak
/// `alpha`. Steady state `y = (alpha I + W diag(g) W^T)^{-1} x`; online gain learning
/// `g <- g + eta mean(z o z - 1)` with `z = W^T y`, offline `g <- g + eta (diag(W^T C_yy W) - 1)`;
/// with `clamp`, `g <- max(g, 0)` after every step.
#[pyclass(module = "whiten", name = "GainNetwork")]
#[derive(Clone)]
pub struct PyGainNetwork {
    inner: GainNetwork,
}

#[pymethods]
impl PyGainNetwork {
    /// A network with frame `W` (unit columns), gains `g0` (default zeros), leak `alpha` and
    /// the projection on `g >= 0` when `clamp`.
    #[new]
    #[pyo3(signature = (W, g0 = None, alpha = 1.0, clamp = false))]
    #[allow(non_snake_case)]
    fn new(
        W: &Bound<'_, PyAny>,
        g0: Option<&Bound<'_, PyAny>>,
        alpha: f64,
        clamp: bool,
    ) -> PyResult<Self> {
        let w = weights(W, "W")?;
        let g = gains(g0, "g0", w.ncols())?;
        GainNetwork::new(w, g)
            .and_then(|n| n.with_alpha(alpha))
            .map(|n| Self {
                inner: n.with_clamp(clamp),
            })
            .map_err(frame_err("W"))
    }

    /// Number of primary neurons `n`.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }

    /// Number of interneurons `K`.
    #[getter]
    fn k(&self) -> usize {
        self.inner.k()
    }

    /// The frame `W` (a copy, `n x K`).
    #[getter]
    #[allow(non_snake_case)] // the paper's name for the matrix
    fn W<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        matrix_out(py, self.inner.w())
    }

    /// The gains `g` (a copy, length `K`).
    #[getter]
    fn g<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vec_out(py, self.inner.gains().to_vec())
    }

    /// The leak `alpha`.
    #[getter]
    fn alpha(&self) -> f64 {
        self.inner.alpha()
    }

    /// Whether the gains are projected on `g >= 0` after every step.
    #[getter]
    fn clamp(&self) -> bool {
        self.inner.clamp()
    }

    /// Replaces the gains (length `K`, finite).
    fn set_gains(&mut self, g: &Bound<'_, PyAny>) -> PyResult<()> {
        let g = gains(Some(g), "g", self.inner.k())?;
        self.inner.set_gains(g).map_err(core_input_err)
    }

    /// `alpha I + W diag(g) W^T` (`n x n`).
    fn inverse_whitening_matrix<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        matrix_out(py, self.inner.inverse_whitening_matrix().as_ref())
    }

    /// Steady states `y = (alpha I + W diag(g) W^T)^{-1} x` for the rows of `X` (`T x n`).
    #[allow(non_snake_case)]
    fn respond<'py>(
        &self,
        py: Python<'py>,
        X: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let x = samples(X, "X", Some(self.inner.n()))?;
        let xm = x.samples_as_columns();
        let y = py.detach(|| self.inner.respond(xm)).map_err(core_err)?;
        Ok(columns_out(py, y.as_ref()))
    }

    /// Interneuron inputs `z = W^T y` for the responses in the rows of `Y` (`T x n`), as `T x K`.
    #[allow(non_snake_case)]
    fn interneuron_inputs<'py>(
        &self,
        py: Python<'py>,
        Y: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let y = samples(Y, "Y", Some(self.inner.n()))?;
        let z = self
            .inner
            .interneuron_inputs(y.samples_as_columns())
            .map_err(core_err)?;
        Ok(columns_out(py, z.as_ref()))
    }

    /// `C_yy = M C M^T` with `M = (alpha I + W diag(g) W^T)^{-1}`.
    #[allow(non_snake_case)]
    fn output_covariance<'py>(
        &self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let c = square(C, "C", Some(self.inner.n()))?;
        let cyy = self.inner.output_covariance(c.matrix()).map_err(core_err)?;
        Ok(matrix_out(py, cyy.as_ref()))
    }

    /// The projected variances `diag(W^T C_yy W)` (all 1 at a fixed point with free gains).
    #[allow(non_snake_case)]
    fn projected_variances<'py>(
        &self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let c = square(C, "C", Some(self.inner.n()))?;
        let v = self
            .inner
            .projected_variances(c.matrix())
            .map_err(core_err)?;
        Ok(vec_out(py, v))
    }

    /// The whitening error of `C_yy`: `measure` `"spectral_norm"` (`||C_yy - I||_2`, as the
    /// other networks' `whitening_error`), `"frobenius"` (`||C_yy - I||_F^2 / n^2`),
    /// `"spectral"` (`mean (lambda_i - 1)^2`, positive parts only when clamped) or
    /// `"max_eigen_excess"` (`lambda_max - 1`, signed).
    #[pyo3(signature = (C, measure = "spectral_norm"))]
    #[allow(non_snake_case)]
    fn whitening_error(&self, C: &Bound<'_, PyAny>, measure: &str) -> PyResult<f64> {
        let m = self::measure(measure)?;
        let c = square(C, "C", Some(self.inner.n()))?;
        let cyy = self.inner.output_covariance(c.matrix()).map_err(core_err)?;
        m.eval(cyy.as_ref(), self.inner.clamp()).map_err(core_err)
    }

    /// The expected gain gradient `diag(W^T C_yy W) - 1`.
    #[allow(non_snake_case)]
    fn gain_gradient<'py>(
        &self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let c = square(C, "C", Some(self.inner.n()))?;
        let (dg, _) = self.inner.gain_gradient(c.matrix()).map_err(core_err)?;
        Ok(vec_out(py, dg))
    }

    /// One online gain step from the rows of `X` (a batch, `T x n`), in place; returns the
    /// responses `y` of the gains before the step (`T x n`).
    #[allow(non_snake_case)]
    fn online_step<'py>(
        &mut self,
        py: Python<'py>,
        X: &Bound<'py, PyAny>,
        eta: f64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let x = samples(X, "X", Some(self.inner.n()))?;
        let xm = x.samples_as_columns();
        let inner = &mut self.inner;
        let y = py.detach(|| inner.online_step(xm, eta)).map_err(core_err)?;
        Ok(columns_out(py, y.as_ref()))
    }

    /// One offline gain step `g <- g + eta (diag(W^T C_yy W) - 1)` (then the clamp), in place;
    /// returns the `C_yy` the step used (before the update).
    #[allow(non_snake_case)]
    fn offline_step<'py>(
        &mut self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
        eta: f64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let c = square(C, "C", Some(self.inner.n()))?;
        let cyy = self.inner.offline_step(c.matrix(), eta).map_err(core_err)?;
        Ok(matrix_out(py, cyy.as_ref()))
    }

    /// A copy of this network.
    fn copy(&self) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "GainNetwork(n={}, k={}, alpha={}, clamp={})",
            self.inner.n(),
            self.inner.k(),
            self.inner.alpha(),
            if self.inner.clamp() { "True" } else { "False" }
        )
    }
}

/// The authors' offline loop (`adapt_covariance`), in place: offline gain steps on `C` with
/// rate `eta`, recording the error (`measure`) of the pre-update `C_yy`, stopping when the
/// gains stop moving (`allclose(g_prev, g, rtol, atol)`) or some `|g_i| > divergence_bound`,
/// unless `early_stop` is false, or after `max_steps` steps.
///
/// Returns a dict: `steps`, `stop` (`"converged"`, `"diverged"` or `"max_steps"`),
/// `g_history` (`[g_0, g_1, ...]` as rows) and `errors` (one per step).
#[pyfunction]
#[pyo3(signature = (network, C, eta, max_steps, measure = "frobenius", early_stop = true,
    rtol = 1e-5, atol = 1e-8, divergence_bound = 200.0))]
#[allow(non_snake_case, clippy::too_many_arguments)]
pub fn run_offline<'py>(
    py: Python<'py>,
    mut network: PyRefMut<'py, PyGainNetwork>,
    C: &Bound<'py, PyAny>,
    eta: f64,
    max_steps: usize,
    measure: &str,
    early_stop: bool,
    rtol: f64,
    atol: f64,
    divergence_bound: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let mut run = OfflineRun::new(eta, max_steps).with_measure(self::measure(measure)?);
    if !early_stop {
        run = run.without_early_stop();
    }
    run.rtol = rtol;
    run.atol = atol;
    run.divergence_bound = divergence_bound;
    let c = square(C, "C", Some(network.inner.n()))?;
    let cm = c.matrix();
    let k = network.inner.k();
    let inner = &mut network.inner;
    let trace = py
        .detach(|| gain::run_offline(inner, cm, &run))
        .map_err(core_err)?;
    let d = PyDict::new(py);
    d.set_item("steps", trace.steps)?;
    d.set_item(
        "stop",
        match trace.stop {
            StopReason::Converged => "converged",
            StopReason::Diverged => "diverged",
            StopReason::MaxSteps => "max_steps",
        },
    )?;
    let rows = trace.g_history.len();
    let flat: Vec<f64> = trace.g_history.into_iter().flatten().collect();
    d.set_item("g_history", crate::convert::rows_out(py, flat, rows, k)?)?;
    d.set_item("errors", vec_out(py, trace.errors))?;
    Ok(d)
}

/// Paper B's network: slow synapses `W` (`N x K`, columns of any norm, none zero) and fast
/// gains `g`. Steady state `r = (alpha I + W diag(g) W^T)^{-1} s`; online step: gains
/// `g <- g + eta_g mean(z^2 - ||w_i||^2)`, then `W <- W + eta_w (r n^T / B - W diag(g_new))`
/// with `n = g_old o z`; error `||C_rr - I||_2`.
#[pyclass(module = "whiten", name = "MultiTimescaleNetwork")]
#[derive(Clone)]
pub struct PyMultiTimescaleNetwork {
    inner: MultiTimescaleNetwork,
}

#[pymethods]
impl PyMultiTimescaleNetwork {
    /// A network with synapses `W0`, gains `g0` (default zeros), leak `alpha`, and columns of
    /// `W` renormalised after every update when `unit_columns`.
    #[new]
    #[pyo3(signature = (W0, g0 = None, alpha = 1.0, unit_columns = false))]
    #[allow(non_snake_case)]
    fn new(
        W0: &Bound<'_, PyAny>,
        g0: Option<&Bound<'_, PyAny>>,
        alpha: f64,
        unit_columns: bool,
    ) -> PyResult<Self> {
        let w = weights(W0, "W0")?;
        let g = gains(g0, "g0", w.ncols())?;
        MultiTimescaleNetwork::new(w, g)
            .and_then(|n| n.with_alpha(alpha))
            .map(|n| Self {
                inner: n.with_unit_columns(unit_columns),
            })
            .map_err(frame_err("W0"))
    }

    /// Number of primary neurons `N`.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }

    /// Number of interneurons `K`.
    #[getter]
    fn k(&self) -> usize {
        self.inner.k()
    }

    /// The synapses `W` (a copy, `N x K`).
    #[getter]
    #[allow(non_snake_case)]
    fn W<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        matrix_out(py, self.inner.w())
    }

    /// The gains `g` (a copy, length `K`).
    #[getter]
    fn g<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        vec_out(py, self.inner.gains().to_vec())
    }

    /// The leak `alpha`.
    #[getter]
    fn alpha(&self) -> f64 {
        self.inner.alpha()
    }

    /// Replaces the gains (length `K`, finite).
    fn set_gains(&mut self, g: &Bound<'_, PyAny>) -> PyResult<()> {
        let g = gains(Some(g), "g", self.inner.k())?;
        self.inner.set_gains(g).map_err(core_input_err)
    }

    /// `alpha I + W diag(g) W^T` (`N x N`).
    fn inverse_whitening_matrix<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        matrix_out(py, self.inner.inverse_whitening_matrix().as_ref())
    }

    /// Steady states `r` for the stimuli in the rows of `S` (`B x N`), as `B x N`.
    #[allow(non_snake_case)]
    fn respond<'py>(
        &self,
        py: Python<'py>,
        S: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let s = samples(S, "S", Some(self.inner.n()))?;
        let sm = s.samples_as_columns();
        let r = py.detach(|| self.inner.respond(sm)).map_err(core_err)?;
        Ok(columns_out(py, r.as_ref()))
    }

    /// `C_rr = F C F^T`, `F = (alpha I + W diag(g) W^T)^{-1}`.
    #[allow(non_snake_case)]
    fn output_covariance<'py>(
        &self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let c = square(C, "C", Some(self.inner.n()))?;
        let crr = self.inner.output_covariance(c.matrix()).map_err(core_err)?;
        Ok(matrix_out(py, crr.as_ref()))
    }

    /// `||C_rr - I||_2` for the context covariance `C`.
    #[allow(non_snake_case)]
    fn whitening_error(&self, C: &Bound<'_, PyAny>) -> PyResult<f64> {
        let c = square(C, "C", Some(self.inner.n()))?;
        self.inner.whitening_error(c.matrix()).map_err(core_err)
    }

    /// The online gain update only (`W` frozen), in place; returns the new gains.
    #[allow(non_snake_case)]
    fn online_gain_step<'py>(
        &mut self,
        py: Python<'py>,
        S: &Bound<'py, PyAny>,
        eta_g: f64,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let s = samples(S, "S", Some(self.inner.n()))?;
        let g = self
            .inner
            .online_gain_step(s.samples_as_columns(), eta_g)
            .map_err(core_err)?;
        Ok(vec_out(py, g))
    }

    /// One online step from the batch in the rows of `S` (`B x N`), in place (gains, then
    /// synapses, in the authors' order); returns the responses `r` (`B x N`).
    #[allow(non_snake_case)]
    fn online_step<'py>(
        &mut self,
        py: Python<'py>,
        S: &Bound<'py, PyAny>,
        eta_g: f64,
        eta_w: f64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let s = samples(S, "S", Some(self.inner.n()))?;
        let sm = s.samples_as_columns();
        let inner = &mut self.inner;
        let r = py
            .detach(|| inner.online_step(sm, eta_g, eta_w))
            .map_err(core_err)?;
        Ok(columns_out(py, r.as_ref()))
    }

    /// The expected gradients at the current state: a dict with `dg`
    /// (`diag(W^T C_rr W) - ||w_i||^2`), `dW` (`(C_rr - I) W G`) and `C_rr`.
    #[allow(non_snake_case)]
    fn expected_gradients<'py>(
        &self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let c = square(C, "C", Some(self.inner.n()))?;
        let e = self
            .inner
            .expected_gradients(c.matrix())
            .map_err(core_err)?;
        let d = PyDict::new(py);
        d.set_item("dg", vec_out(py, e.dg))?;
        d.set_item("dW", matrix_out(py, e.dw.as_ref()))?;
        d.set_item("C_rr", matrix_out(py, e.crr.as_ref()))?;
        Ok(d)
    }

    /// One offline joint step (both expected gradients, applied together), in place; returns
    /// the pre-update `C_rr`.
    #[allow(non_snake_case)]
    fn offline_step<'py>(
        &mut self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
        eta_g: f64,
        eta_w: f64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let c = square(C, "C", Some(self.inner.n()))?;
        let crr = self
            .inner
            .offline_step(c.matrix(), eta_g, eta_w)
            .map_err(core_err)?;
        Ok(matrix_out(py, crr.as_ref()))
    }

    /// The fast-gain limit, in place: `g = optimal_gains(W, C, alpha)`, then one expected step
    /// `W <- W + eta_w (C_rr - I) W G`; returns that step's `C_rr` (new gains, old `W`).
    #[allow(non_snake_case)]
    fn fast_gain_step<'py>(
        &mut self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
        eta_w: f64,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let c = spd(C, Some(self.inner.n()))?;
        let crr = self
            .inner
            .fast_gain_step(c.as_ref(), eta_w)
            .map_err(core_err)?;
        Ok(matrix_out(py, crr.as_ref()))
    }

    /// A copy of this network.
    fn copy(&self) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "MultiTimescaleNetwork(n={}, k={}, alpha={})",
            self.inner.n(),
            self.inner.k(),
            self.inner.alpha()
        )
    }
}

/// Paper B's synthetic contexts `C_c = (I + V diag(lambda_c) V^T)^2`, drawn from a ChaCha8
/// stream seeded by `seed` (for `n = 2`, `v_1 = R(theta) v_0` with `theta` in 40-80 degrees;
/// otherwise `V` Haar-random orthogonal; `lambda_j ~ U(0, max_lambda)` masked at random).
///
/// Returns a dict: `V` (`n x n`), `theta` (radians, `None` unless `n = 2`), `lambdas`
/// (`n_contexts x n`) and `covariances` (`n_contexts x n x n`).
#[pyfunction]
#[pyo3(signature = (n, n_contexts, max_lambda = 4.0, seed = 0))]
pub fn synthetic_contexts(
    py: Python<'_>,
    n: usize,
    n_contexts: usize,
    max_lambda: f64,
    seed: u64,
) -> PyResult<Bound<'_, PyDict>> {
    check_entries(
        "the contexts",
        n.checked_mul(n)
            .and_then(|nn| nn.checked_mul(n_contexts.max(1))),
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let ctx = py
        .detach(|| SyntheticContexts::generate(n, n_contexts, max_lambda, &mut rng))
        .map_err(core_input_err)?;
    let d = PyDict::new(py);
    d.set_item("V", matrix_out(py, ctx.v.as_ref()))?;
    d.set_item("theta", ctx.theta)?;
    let lambdas: Vec<f64> = ctx.lambdas.into_iter().flatten().collect();
    d.set_item(
        "lambdas",
        crate::convert::rows_out(py, lambdas, n_contexts, n)?,
    )?;
    let mut cov = Vec::with_capacity(n_contexts * n * n);
    for c in &ctx.covariances {
        for i in 0..n {
            cov.extend((0..n).map(|j| c[(i, j)]));
        }
    }
    let cov: Bound<'_, PyArray3<f64>> = Array3::from_shape_vec((n_contexts, n, n), cov)
        .map_err(|e| PyValueError::new_err(format!("internal shape error: {e}")))?
        .into_pyarray(py);
    d.set_item("covariances", cov)?;
    Ok(d)
}

/// `min_P ||W_hat P - V||_F` over signed permutation matrices `P`, `W_hat` the columns of
/// `W` normalised; `W` and `V` both `N x K` with `K <= 8`.
#[pyfunction]
#[allow(non_snake_case)]
pub fn signed_permutation_distance(W: &Bound<'_, PyAny>, V: &Bound<'_, PyAny>) -> PyResult<f64> {
    let w = weights(W, "W")?;
    let v = weights(V, "V")?;
    if w.nrows() != v.nrows() || w.ncols() != v.ncols() {
        return Err(PyValueError::new_err(format!(
            "W and V must have the same shape, got ({}, {}) and ({}, {})",
            w.nrows(),
            w.ncols(),
            v.nrows(),
            v.ncols()
        )));
    }
    gain::signed_permutation_distance(w.as_ref(), v.as_ref()).map_err(frame_err("W"))
}
