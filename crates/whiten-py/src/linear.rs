//! Paper 1 in Python: the direct and interneuron whitening networks (`whiten_core::linear`),
//! offline learning to a threshold, the gradient flows integrated until the error drops below
//! a threshold (`whiten_ode`) and the scalar closed-form convergence times.
//!
//! Samples are the ROWS of a `T x n` array (numpy's convention); the Rust crates hold them as
//! the columns of an `n x T` matrix, which is the same memory, so no copy is made.

use faer::{Mat, MatRef};
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_core::cov::{check_spd, sym_sqrt};
use whiten_core::linear::{DirectNetwork, InterneuronNetwork, WhiteningNetwork};
use whiten_core::metrics::{sqrt_error, whitening_error};
use whiten_ode::flows::{Below, DirectFlow, InterneuronFlow, Layout, SqrtDistance, WhiteningError};
use whiten_ode::{EventResult, Method, OdeError, Options, integrate_until_event};

use crate::convert::{
    columns_out, core_err, core_input_err, matrix_out, ode_err, samples, square, vec_out,
};

/// The covariance argument `C`: square, `n x n` when `n` is given, finite, and symmetric
/// positive definite (checked here so that every caller gets the same `ValueError`).
fn covariance(obj: &Bound<'_, PyAny>, n: Option<usize>) -> PyResult<Mat<f64>> {
    let a = square(obj, "C", n)?;
    let c = a.matrix().to_owned();
    check_spd(c.as_ref(), "C").map_err(core_input_err)?;
    Ok(c)
}

/// `C^{1/2}` of a checked covariance.
fn c_sqrt(c: MatRef<'_, f64>) -> PyResult<Mat<f64>> {
    sym_sqrt(c).map_err(core_input_err)
}

/// Offline updates until `||C_yy - I||_op < threshold` or `max_iterations` updates.
fn learn(
    net: &mut dyn WhiteningNetwork,
    c: MatRef<'_, f64>,
    eta: f64,
    threshold: f64,
    max_iterations: usize,
) -> whiten_core::Result<(Option<usize>, Vec<f64>)> {
    let mut errors = vec![whitening_error(net, c)?];
    let mut reached = (errors[0] < threshold).then_some(0);
    let mut it = 0;
    while reached.is_none() && it < max_iterations {
        it += 1;
        net.offline_step(c, eta)?;
        let e = whitening_error(net, c)?;
        errors.push(e);
        if e < threshold {
            reached = Some(it);
        }
    }
    Ok((reached, errors))
}

/// Shared bodies of the two network classes.
fn respond_impl<'py>(
    py: Python<'py>,
    net: &(dyn WhiteningNetwork + Sync),
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let x = samples(x, "X", Some(net.n()))?;
    let xm = x.samples_as_columns();
    let y = py.detach(|| net.respond(xm)).map_err(core_err)?;
    Ok(columns_out(py, y.as_ref()))
}

fn output_covariance_impl<'py>(
    py: Python<'py>,
    net: &dyn WhiteningNetwork,
    c: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let c = square(c, "C", Some(net.n()))?;
    let cyy = net.output_covariance(c.matrix()).map_err(core_err)?;
    Ok(matrix_out(py, cyy.as_ref()))
}

fn whitening_error_impl(net: &dyn WhiteningNetwork, c: &Bound<'_, PyAny>) -> PyResult<f64> {
    let c = square(c, "C", Some(net.n()))?;
    whitening_error(net, c.matrix()).map_err(core_err)
}

fn sqrt_error_impl(net: &dyn WhiteningNetwork, c: &Bound<'_, PyAny>) -> PyResult<f64> {
    let c = covariance(c, Some(net.n()))?;
    let s = c_sqrt(c.as_ref())?;
    Ok(sqrt_error(net.recurrent().as_ref(), s.as_ref()))
}

fn offline_step_impl(
    net: &mut dyn WhiteningNetwork,
    c: &Bound<'_, PyAny>,
    eta: f64,
) -> PyResult<()> {
    let c = square(c, "C", Some(net.n()))?;
    net.offline_step(c.matrix(), eta).map_err(core_err)
}

fn online_step_impl(
    net: &mut dyn WhiteningNetwork,
    x: &Bound<'_, PyAny>,
    eta: f64,
) -> PyResult<()> {
    let x = samples(x, "X", Some(net.n()))?;
    net.online_step(x.samples_as_columns(), eta)
        .map_err(core_err)
}

fn check_threshold(threshold: f64) -> PyResult<()> {
    if threshold > 0.0 && threshold.is_finite() {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "threshold = {threshold} must be positive and finite"
        )))
    }
}

/// Paper 1's Algorithm 1: a network with direct recurrent connections `M` (symmetric positive
/// definite, `n x n`). Responses `y = M^{-1} x`; offline learning `M <- M + eta (C_yy - I)`,
/// online learning `M <- M + eta (y y^T - I)`; the optimum is `M = C^{1/2}`.
///
/// `DirectNetwork(M0)` starts from a given matrix; see also `scaled_identity`, `generic` and
/// `at_optimum`. Sample arrays have one sample per row (`T x n`).
#[pyclass(module = "whiten", name = "DirectNetwork")]
#[derive(Clone)]
pub struct PyDirectNetwork {
    inner: DirectNetwork,
}

#[pymethods]
impl PyDirectNetwork {
    /// A network with `M = M0` (square, symmetric, positive definite).
    #[new]
    fn new(m0: &Bound<'_, PyAny>) -> PyResult<Self> {
        let m = square(m0, "M0", None)?.matrix().to_owned();
        DirectNetwork::new(m)
            .map(|inner| Self { inner })
            .map_err(core_input_err)
    }

    /// The commuting start `M0 = c I_n`.
    #[staticmethod]
    fn scaled_identity(n: usize, c: f64) -> PyResult<Self> {
        DirectNetwork::scaled_identity(n, c)
            .map(|inner| Self { inner })
            .map_err(core_input_err)
    }

    /// A generic start `M0 = c B`, `B` random symmetric positive definite (Haar eigenvectors,
    /// eigenvalues in [0.5, 1], the largest 1), drawn from a ChaCha8 stream seeded by `seed`.
    #[staticmethod]
    #[pyo3(signature = (n, c, seed = 0))]
    fn generic(n: usize, c: f64, seed: u64) -> PyResult<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        DirectNetwork::generic(n, c, &mut rng)
            .map(|inner| Self { inner })
            .map_err(core_input_err)
    }

    /// The network at its optimum for the covariance `C`: `M = C^{1/2}`.
    #[staticmethod]
    fn at_optimum(c: &Bound<'_, PyAny>) -> PyResult<Self> {
        let c = covariance(c, None)?;
        let m = c_sqrt(c.as_ref())?;
        DirectNetwork::new(m)
            .map(|inner| Self { inner })
            .map_err(core_input_err)
    }

    /// Number of primary neurons `n`.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }

    /// The recurrent matrix `M` (a copy, `n x n`).
    #[getter]
    #[allow(non_snake_case)] // the paper's name for the matrix
    fn M<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        matrix_out(py, self.inner.m())
    }

    /// Responses `y = M^{-1} x` to the samples in the rows of `X` (`T x n`), as `T x n`.
    #[allow(non_snake_case)] // X is the paper's data matrix
    fn respond<'py>(
        &self,
        py: Python<'py>,
        X: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        respond_impl(py, &self.inner, X)
    }

    /// Output covariance `C_yy = M^{-1} C M^{-1}` for the input covariance `C`.
    #[allow(non_snake_case)]
    fn output_covariance<'py>(
        &self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        output_covariance_impl(py, &self.inner, C)
    }

    /// Whitening error `||C_yy - I||_op` for the input covariance `C`.
    #[allow(non_snake_case)]
    fn whitening_error(&self, C: &Bound<'_, PyAny>) -> PyResult<f64> {
        whitening_error_impl(&self.inner, C)
    }

    /// Distance to the optimum, `||M - C^{1/2}||_op`.
    #[allow(non_snake_case)]
    fn sqrt_error(&self, C: &Bound<'_, PyAny>) -> PyResult<f64> {
        sqrt_error_impl(&self.inner, C)
    }

    /// One offline update `M <- M + eta (C_yy - I)` (in place).
    #[allow(non_snake_case)]
    fn offline_step(&mut self, C: &Bound<'_, PyAny>, eta: f64) -> PyResult<()> {
        offline_step_impl(&mut self.inner, C, eta)
    }

    /// One online update from the samples in the rows of `X` (`T x n`): one row is the
    /// paper's single-sample update `M <- M + eta (y y^T - I)`, several rows a mini-batch
    /// (the mean of the single-sample updates).
    #[allow(non_snake_case)]
    fn online_step(&mut self, X: &Bound<'_, PyAny>, eta: f64) -> PyResult<()> {
        online_step_impl(&mut self.inner, X, eta)
    }

    /// A copy of this network.
    fn copy(&self) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!("DirectNetwork(n={})", self.inner.n())
    }
}

/// Paper 1's Algorithm 2: recurrence through `k >= n` interneurons with weights `W`
/// (`n x k`, full row rank), `M = W W^T`. Responses `y = (W W^T)^{-1} x`, interneurons
/// `W^T y`; offline learning `W <- W + eta (C_yy - I) W`, online `W <- W + eta (y n^T - W)`.
///
/// `InterneuronNetwork(W0)` starts from given weights; see also `commuting`, `generic` and
/// `at_optimum`. Sample arrays have one sample per row (`T x n`).
#[pyclass(module = "whiten", name = "InterneuronNetwork")]
#[derive(Clone)]
pub struct PyInterneuronNetwork {
    inner: InterneuronNetwork,
}

#[pymethods]
impl PyInterneuronNetwork {
    /// A network with weights `W0` (`n x k`, `k >= n`, full row rank).
    #[new]
    fn new(w0: &Bound<'_, PyAny>) -> PyResult<Self> {
        let w = crate::convert::array(w0, "W0", 2, "an n x k matrix")?
            .matrix()
            .to_owned();
        InterneuronNetwork::new(w)
            .map(|inner| Self { inner })
            .map_err(core_input_err)
    }

    /// The commuting start `W0 = sqrt(c) [I_n | 0]`, so `M0 = c I_n`.
    #[staticmethod]
    fn commuting(n: usize, k: usize, c: f64) -> PyResult<Self> {
        InterneuronNetwork::commuting(n, k, c)
            .map(|inner| Self { inner })
            .map_err(core_input_err)
    }

    /// A generic start `W0 = sqrt(c / k) G`, `G` with i.i.d. standard normal entries drawn from
    /// a ChaCha8 stream seeded by `seed` (so `E[W0 W0^T] = c I_n`).
    #[staticmethod]
    #[pyo3(signature = (n, k, c, seed = 0))]
    fn generic(n: usize, k: usize, c: f64, seed: u64) -> PyResult<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        InterneuronNetwork::generic(n, k, c, &mut rng)
            .map(|inner| Self { inner })
            .map_err(core_input_err)
    }

    /// The network at an optimum for the covariance `C`: `W = [C^{1/4} | 0]` (`n x k`), so
    /// `W W^T = C^{1/2}`.
    #[staticmethod]
    #[pyo3(signature = (c, k = None))]
    fn at_optimum(c: &Bound<'_, PyAny>, k: Option<usize>) -> PyResult<Self> {
        let c = covariance(c, None)?;
        let n = c.nrows();
        let k = k.unwrap_or(n);
        let quarter = c_sqrt(c_sqrt(c.as_ref())?.as_ref())?;
        let w = Mat::from_fn(n, k, |i, j| if j < n { quarter[(i, j)] } else { 0.0 });
        InterneuronNetwork::new(w)
            .map(|inner| Self { inner })
            .map_err(core_input_err)
    }

    /// Number of primary neurons `n`.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }

    /// Number of interneurons `k`.
    #[getter]
    fn k(&self) -> usize {
        self.inner.k()
    }

    /// The weights `W` (a copy, `n x k`).
    #[getter]
    #[allow(non_snake_case)] // the paper's name for the matrix
    fn W<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        matrix_out(py, self.inner.w())
    }

    /// The effective recurrent matrix `M = W W^T` (`n x n`).
    #[getter]
    #[allow(non_snake_case)]
    fn M<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        matrix_out(py, self.inner.recurrent().as_ref())
    }

    /// Responses `y = (W W^T)^{-1} x` to the samples in the rows of `X` (`T x n`), as `T x n`.
    #[allow(non_snake_case)]
    fn respond<'py>(
        &self,
        py: Python<'py>,
        X: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        respond_impl(py, &self.inner, X)
    }

    /// Interneuron responses `W^T y` to the samples in the rows of `X` (`T x n`), as `T x k`.
    #[allow(non_snake_case)]
    fn interneurons<'py>(
        &self,
        py: Python<'py>,
        X: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let x = samples(X, "X", Some(self.inner.n()))?;
        let xm = x.samples_as_columns();
        let z = py
            .detach(|| {
                self.inner
                    .respond(xm)
                    .map(|y| self.inner.interneurons(y.as_ref()))
            })
            .map_err(core_err)?;
        Ok(columns_out(py, z.as_ref()))
    }

    /// Output covariance `C_yy = M^{-1} C M^{-1}` for the input covariance `C`.
    #[allow(non_snake_case)]
    fn output_covariance<'py>(
        &self,
        py: Python<'py>,
        C: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        output_covariance_impl(py, &self.inner, C)
    }

    /// Whitening error `||C_yy - I||_op` for the input covariance `C`.
    #[allow(non_snake_case)]
    fn whitening_error(&self, C: &Bound<'_, PyAny>) -> PyResult<f64> {
        whitening_error_impl(&self.inner, C)
    }

    /// Distance to the optimum, `||W W^T - C^{1/2}||_op`.
    #[allow(non_snake_case)]
    fn sqrt_error(&self, C: &Bound<'_, PyAny>) -> PyResult<f64> {
        sqrt_error_impl(&self.inner, C)
    }

    /// One offline update `W <- W + eta (C_yy - I) W` (in place).
    #[allow(non_snake_case)]
    fn offline_step(&mut self, C: &Bound<'_, PyAny>, eta: f64) -> PyResult<()> {
        offline_step_impl(&mut self.inner, C, eta)
    }

    /// One online update from the samples in the rows of `X` (`T x n`): one row is the
    /// paper's single-sample update `W <- W + eta (y n^T - W)`, several rows a mini-batch.
    #[allow(non_snake_case)]
    fn online_step(&mut self, X: &Bound<'_, PyAny>, eta: f64) -> PyResult<()> {
        online_step_impl(&mut self.inner, X, eta)
    }

    /// A copy of this network.
    fn copy(&self) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "InterneuronNetwork(n={}, k={})",
            self.inner.n(),
            self.inner.k()
        )
    }
}

/// Either network, as a function argument.
#[derive(FromPyObject)]
pub enum AnyNetwork<'py> {
    /// A `DirectNetwork`.
    Direct(PyRefMut<'py, PyDirectNetwork>),
    /// An `InterneuronNetwork`.
    Interneuron(PyRefMut<'py, PyInterneuronNetwork>),
}

/// Learns offline, in place: offline updates with the covariance `C` and rate `eta` until
/// the whitening error `||C_yy - I||_op` drops below `threshold` or `max_iterations` updates
/// were made.
///
/// Returns `(iterations, errors)`: the number of updates after which the error first was below
/// the threshold (0 if it already was, `None` if never), and the error before every update
/// and after the last one (a float array of length updates + 1).
#[pyfunction]
#[pyo3(signature = (network, C, eta, threshold = 1e-2, max_iterations = 20_000))]
#[allow(non_snake_case)]
pub fn learn_offline<'py>(
    py: Python<'py>,
    network: AnyNetwork<'py>,
    C: &Bound<'py, PyAny>,
    eta: f64,
    threshold: f64,
    max_iterations: usize,
) -> PyResult<(Option<usize>, Bound<'py, PyArray1<f64>>)> {
    check_threshold(threshold)?;
    let (reached, errors) = match network {
        AnyNetwork::Direct(mut net) => {
            let c = square(C, "C", Some(net.inner.n()))?;
            let cm = c.matrix();
            let inner = &mut net.inner;
            py.detach(|| learn(inner, cm, eta, threshold, max_iterations))
        }
        AnyNetwork::Interneuron(mut net) => {
            let c = square(C, "C", Some(net.inner.n()))?;
            let cm = c.matrix();
            let inner = &mut net.inner;
            py.detach(|| learn(inner, cm, eta, threshold, max_iterations))
        }
    }
    .map_err(core_err)?;
    Ok((reached, vec_out(py, errors)))
}

/// A matrix as the integrators' flat column-major state.
fn flat(m: MatRef<'_, f64>) -> Vec<f64> {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]))
        .collect()
}

/// Which error ends a flow integration.
enum Ev {
    Sqrt(Below<SqrtDistance>),
    White(Below<WhiteningError>),
}

/// Integrates the direct (`layout` M) or interneuron (`layout` W) flow from `y0`.
fn run_flow(
    c: MatRef<'_, f64>,
    layout: Layout,
    y0: &[f64],
    ev: Ev,
    method: Method,
    t_max: f64,
    opts: &Options,
) -> Result<EventResult, OdeError> {
    match (layout, ev) {
        (Layout::M, Ev::Sqrt(e)) => {
            integrate_until_event(DirectFlow::new(c), method, 0.0, y0, t_max, opts, e)
        }
        (Layout::M, Ev::White(e)) => {
            integrate_until_event(DirectFlow::new(c), method, 0.0, y0, t_max, opts, e)
        }
        (Layout::W { k }, Ev::Sqrt(e)) => {
            integrate_until_event(InterneuronFlow::new(c, k), method, 0.0, y0, t_max, opts, e)
        }
        (Layout::W { k }, Ev::White(e)) => {
            integrate_until_event(InterneuronFlow::new(c, k), method, 0.0, y0, t_max, opts, e)
        }
    }
}

/// Integrates the gradient flow of `network` (direct: `dM/dt = M^{-1} C M^{-1} - I`;
/// interneurons: `dW/dt = M^{-1} C M^{-1} W - W`) from its current state until the error
/// first drops below `threshold` (located on the dense output), or `t_max`.
///
/// `error`: `"sqrt"` (`||M - C^{1/2}||_op`, the paper's convergence measure) or `"whitening"`
/// (`||C_yy - I||_op`). `method`: `dopri5`, `tsit5`, `bs32`, `rosenbrock23` or `dop853`.
/// `t_max` defaults to `100 max(1, ||M0||_op) + 100` (the direct flow's time grows linearly
/// in the initial scale). The network is not changed.
///
/// Returns a dict: `time` (the crossing time, `None` if `t_max` came first), `t_end`,
/// `rhs_evals`, `accepted_steps`, `rejected_steps`, and `state` (`M` or `W` at `t_end`).
#[pyfunction]
#[pyo3(signature = (network, C, threshold = 1e-2, error = "sqrt", method = "dopri5",
    rtol = 1e-8, atol = 1e-10, max_steps = 1_000_000, t_max = None))]
#[allow(non_snake_case)]
pub fn flow_time<'py>(
    py: Python<'py>,
    network: AnyNetwork<'py>,
    C: &Bound<'py, PyAny>,
    threshold: f64,
    error: &str,
    method: &str,
    rtol: f64,
    atol: f64,
    max_steps: usize,
    t_max: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    check_threshold(threshold)?;
    let method: Method = method.parse().map_err(ode_err)?;
    let (layout, m0, y0, n, k) = match &network {
        AnyNetwork::Direct(net) => (
            Layout::M,
            net.inner.recurrent(),
            flat(net.inner.m()),
            net.inner.n(),
            net.inner.n(),
        ),
        AnyNetwork::Interneuron(net) => (
            Layout::W { k: net.inner.k() },
            net.inner.recurrent(),
            flat(net.inner.w()),
            net.inner.n(),
            net.inner.k(),
        ),
    };
    drop(network);
    let c = covariance(C, Some(n))?;
    let ev = match error {
        "sqrt" => Ev::Sqrt(Below::new(SqrtDistance::new(c.as_ref(), layout), threshold)),
        "whitening" => Ev::White(Below::new(
            WhiteningError::new(c.as_ref(), layout),
            threshold,
        )),
        other => {
            return Err(PyValueError::new_err(format!(
                "error = {other:?}: expected \"sqrt\" or \"whitening\""
            )));
        }
    };
    let t_max = match t_max {
        Some(t) if t > 0.0 && t.is_finite() => t,
        Some(t) => {
            return Err(PyValueError::new_err(format!(
                "t_max = {t} must be positive and finite"
            )));
        }
        None => 100.0 * whiten_core::metrics::op_norm_sym(m0.as_ref()).max(1.0) + 100.0,
    };
    let opts = Options {
        rtol,
        atol,
        max_steps,
        ..Options::default()
    };
    opts.validate().map_err(ode_err)?;
    let cm = c.as_ref();
    let r = py
        .detach(|| run_flow(cm, layout, &y0, ev, method, t_max, &opts))
        .map_err(ode_err)?;
    let d = PyDict::new(py);
    d.set_item("time", r.event_time())?;
    d.set_item("t_end", r.t)?;
    d.set_item("rhs_evals", r.stats.rhs_evals)?;
    d.set_item("accepted_steps", r.stats.accepted_steps)?;
    d.set_item("rejected_steps", r.stats.rejected_steps)?;
    let state = Mat::from_fn(n, k, |i, j| r.y[j * n + i]);
    d.set_item("state", matrix_out(py, state.as_ref()))?;
    Ok(d)
}

/// Closed-form convergence time of the scalar direct flow `dm/dt = lambda / m^2 - 1` from
/// `m0` until `|m - sqrt(lambda)| <= eps` (0 if it already is).
#[pyfunction]
#[pyo3(signature = (lam, m0, eps))]
pub fn t_direct(lam: f64, m0: f64, eps: f64) -> PyResult<f64> {
    check_scalar_flow(lam, m0, eps)?;
    Ok(whiten_ode::flows::t_direct(lam, m0, eps))
}

/// Closed-form convergence time of the scalar interneuron flow (`m(t)^2 = lambda + (m0^2 -
/// lambda) e^{-4t}`) from `m0` until `|m - sqrt(lambda)| <= eps` (0 if it already is).
#[pyfunction]
#[pyo3(signature = (lam, m0, eps))]
pub fn t_interneuron(lam: f64, m0: f64, eps: f64) -> PyResult<f64> {
    check_scalar_flow(lam, m0, eps)?;
    Ok(whiten_ode::flows::t_interneuron(lam, m0, eps))
}

fn check_scalar_flow(lam: f64, m0: f64, eps: f64) -> PyResult<()> {
    for (name, v) in [("lam", lam), ("m0", m0), ("eps", eps)] {
        if !(v > 0.0 && v.is_finite()) {
            return Err(PyValueError::new_err(format!(
                "{name} = {v} must be positive and finite"
            )));
        }
    }
    if eps >= 2.0 * lam.sqrt() {
        return Err(PyValueError::new_err(format!(
            "eps = {eps} must be below 2 sqrt(lam) = {}",
            2.0 * lam.sqrt()
        )));
    }
    Ok(())
}

/// A covariance with the given eigenvalues: `Q diag(eigenvalues) Q^T` with `Q = I` when `seed`
/// is `None`, else a Haar-random rotation drawn from a ChaCha8 stream seeded by `seed`.
#[pyfunction]
#[pyo3(signature = (eigenvalues, seed = None))]
pub fn covariance_with_spectrum<'py>(
    py: Python<'py>,
    eigenvalues: &Bound<'py, PyAny>,
    seed: Option<u64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let ev = crate::convert::vector(eigenvalues, "eigenvalues", 1)?;
    let lam = ev.slice();
    if let Some(v) = lam.iter().find(|v| **v <= 0.0) {
        return Err(PyValueError::new_err(format!(
            "eigenvalues must be positive, got {v}"
        )));
    }
    let n = lam.len();
    let q = match seed {
        None => Mat::identity(n, n),
        Some(s) => whiten_core::cov::haar_orthogonal(n, &mut ChaCha8Rng::seed_from_u64(s)),
    };
    let c = whiten_core::cov::covariance_with_spectrum(q.as_ref(), lam);
    Ok(matrix_out(py, c.as_ref()))
}
