//! Paper 2's circuit in Python: fitting on samples in 1D and 2D with the project's robust
//! schedule or the authors' `Reference` settings (the same code paths as the experiments:
//! `whiten_experiments::kinds::paper2::{learn_1d, learn_pairs}`), responses, and the learned
//! `g`, `theta` and `W`.

use numpy::PyArray2;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_core::circuit::{Circuit, CircuitOptions, LearningRates};
use whiten_experiments::kinds::paper2::{
    BDerivativeRule, Candidate, GainStart, Learning, OneDCircuit, PairCircuit, ReferenceSettings,
    RobustSettings, SolverSettings, ThetaMode, check_theta_init, learn_1d, learn_pairs,
};
use whiten_experiments::{ParamError, RunContext};

use crate::convert::{
    Array, array, array_of_dims, core_err, core_input_err, experiment_err, rows_out, vec_out,
};

fn param_err(e: ParamError) -> PyErr {
    PyValueError::new_err(format!("{}: {}", e.field, e.reason))
}

/// Samples for a circuit: `(P,)` (1D signal) or `(P, n)`, one sample per row.
fn signal<'py>(obj: &Bound<'py, PyAny>, name: &str, n: Option<usize>) -> PyResult<Array<'py>> {
    let a = array_of_dims(obj, name, &[1, 2], "samples, or samples x n")?;
    let cols = if a.shape().len() == 1 { 1 } else { a.dims2().1 };
    if let Some(n) = n
        && cols != n
    {
        return Err(PyValueError::new_err(format!(
            "{name}: the circuit has n = {n} primary neurons, the samples have {cols} column(s)"
        )));
    }
    Ok(a)
}

/// The root mean square of `data`, the scale the 2D robust fit divides the samples by; 1 when
/// it is zero or not finite (the fit then reports the samples' problem itself).
fn unit_scale(data: &[f64]) -> f64 {
    let rms = (data.iter().map(|x| x * x).sum::<f64>() / data.len().max(1) as f64).sqrt();
    if rms.is_finite() && rms > 0.0 {
        rms
    } else {
        1.0
    }
}

/// `theta` as given in Python: "auto", "learned", "initial", a float (fixed) or a list of
/// floats (a grid of components).
fn theta_mode(obj: &Bound<'_, PyAny>) -> PyResult<ThetaMode> {
    if let Ok(s) = obj.extract::<String>() {
        return match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(ThetaMode::Auto),
            "learned" => Ok(ThetaMode::Learned),
            "initial" => Ok(ThetaMode::Initial),
            _ => Err(PyValueError::new_err(format!(
                "theta = {s:?}: expected \"auto\", \"learned\", \"initial\", a float (fixed) or a list of floats (grid)"
            ))),
        };
    }
    if let Ok(v) = obj.extract::<f64>() {
        return Ok(ThetaMode::Fixed(v));
    }
    if let Ok(v) = obj.extract::<Vec<f64>>() {
        return Ok(ThetaMode::Grid(v));
    }
    Err(PyValueError::new_err(
        "theta: expected \"auto\", \"learned\", \"initial\", a float (fixed) or a list of floats (grid)",
    ))
}

/// The schedule: defaults of `kind` ("robust" or "reference", in dimension `n`) with the
/// given overrides.
#[allow(clippy::too_many_arguments)]
fn learning(
    kind: &str,
    n: usize,
    batch: Option<usize>,
    iterations: Option<usize>,
    eta_g: Option<f64>,
    eta_theta: Option<f64>,
    eta_w: Option<f64>,
    tolerance: Option<f64>,
    gain_start: Option<&str>,
) -> PyResult<Learning> {
    let l = match kind.to_ascii_lowercase().as_str() {
        "robust" => {
            let d = RobustSettings::default();
            if n == 1 && eta_w.is_some_and(|w| w != 0.0) {
                return Err(PyValueError::new_err(
                    "eta_w: W = 1 is fixed in 1D (eta_w must be 0 or left out)",
                ));
            }
            Learning::Robust(RobustSettings {
                eta_g: eta_g.unwrap_or(d.eta_g),
                eta_theta: eta_theta.unwrap_or(d.eta_theta),
                eta_w: eta_w.unwrap_or(d.eta_w),
                batch: batch.unwrap_or(d.batch),
                tolerance: tolerance.unwrap_or(d.tolerance),
                max_iterations: iterations.unwrap_or(d.max_iterations),
                gain_start: match gain_start.map(str::to_ascii_lowercase).as_deref() {
                    None => d.gain_start,
                    Some("small") => GainStart::Small,
                    Some("authors") => GainStart::Authors,
                    Some(other) => {
                        return Err(PyValueError::new_err(format!(
                            "gain_start = {other:?}: expected \"small\" or \"authors\""
                        )));
                    }
                },
            })
        }
        "reference" => {
            if gain_start.is_some() {
                return Err(PyValueError::new_err(
                    "gain_start: the authors' Reference schedule starts from their gains (0.2 + 0.05 U)",
                ));
            }
            if tolerance.is_some() {
                return Err(PyValueError::new_err(
                    "tolerance: the authors' Reference schedule runs a fixed number of iterations (no convergence test)",
                ));
            }
            let (rates, its) = if n == 1 {
                (LearningRates::REFERENCE_1D, 20_000)
            } else {
                (LearningRates::REFERENCE_2D, 3_000)
            };
            Learning::Reference(ReferenceSettings {
                eta_g: eta_g.unwrap_or(rates.eta_g),
                eta_theta: eta_theta.unwrap_or(rates.eta_theta),
                eta_w: eta_w.unwrap_or(rates.eta_w),
                iterations: iterations.unwrap_or(its),
                batch: batch.unwrap_or(10),
            })
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "learning = {other:?}: expected \"robust\" or \"reference\""
            )));
        }
    };
    l.check("learning").map_err(param_err)?;
    Ok(l)
}

/// What a fit reports besides the circuit.
#[derive(Clone, Default)]
struct FitInfo {
    iterations: usize,
    converged: bool,
    mode: String,
    candidates: Vec<Candidate>,
    warnings: Vec<String>,
}

/// Paper 2's circuit: `n` primary neurons, `k` interneurons with unit-norm weights `W`
/// (`n x k`), gains `g >= 0` and activation parameters `theta` in [1, 3]. The response `r` to
/// a signal `s` is the root of `s = sum_i w_i g_i f(theta_i, w_i^T r)` with
/// `f(theta, z) = a(theta) z + b(theta) sign(z) |z|^theta`.
///
/// Build one with `Circuit(W, g, theta)` or learn one with `Circuit.fit(samples, ...)`.
#[pyclass(module = "whiten", name = "Circuit")]
#[derive(Clone)]
pub struct PyCircuit {
    inner: Circuit,
    info: Option<FitInfo>,
}

#[pymethods]
impl PyCircuit {
    /// A circuit with weights `W` (`n x k`, `k >= n`; each column is rescaled to unit norm),
    /// gains `g` (`k`, `>= 0`) and activation parameters `theta` (`k`, in [1, 3]).
    #[new]
    #[allow(non_snake_case)] // the paper's name for the weights
    fn new(W: &Bound<'_, PyAny>, g: &Bound<'_, PyAny>, theta: &Bound<'_, PyAny>) -> PyResult<Self> {
        let w = array(W, "W", 2, "an n x k matrix")?;
        let (n, k) = w.dims2();
        // column-major W from the row-major array
        let wcol: Vec<f64> = (0..k)
            .flat_map(|j| (0..n).map(move |i| (i, j)))
            .map(|(i, j)| w.slice()[i * k + j])
            .collect();
        let g = crate::convert::vector(g, "g", 1)?.slice().to_vec();
        let theta = crate::convert::vector(theta, "theta", 1)?.slice().to_vec();
        let inner = Circuit::new(n, k, wcol, g, theta, CircuitOptions::default())
            .map_err(core_input_err)?;
        Ok(Self { inner, info: None })
    }

    /// Learns a circuit on `samples`: a 1D signal (`(P,)` or `(P, 1)`) or 2D pairs
    /// (`(P, 2)`), one sample per row, drawn in shuffled passes. The responses' target is
    /// N(0, I) whatever the samples' scale. The robust schedule learns pairs scaled to unit
    /// root mean square and scales the gains back (the circuit for `c s` has gains `c g` and
    /// the same responses): its Hebbian step of `W` grows with the samples' scale, and on raw
    /// pairs at 46 times unit variance with `eta_w = 0.3` two of three seeds stopped within a
    /// dozen steps ("response solve did not converge"). The authors' schedule learns the
    /// samples as given, as their code does.
    ///
    /// * `learning`: `"robust"` (default: normalised, clipped, decaying steps with a
    ///   convergence test, batch 100) or `"reference"` (the authors' fixed rates and iteration
    ///   count: 1D `eta_g = 1e-3, eta_theta = 1e-4`, 20,000 iterations; 2D `eta_g = 1e-3,
    ///   eta_theta = 1e-5, eta_w = 1e-2`, 3,000 iterations; batch 10). `batch`, `iterations`
    ///   (the robust schedule's maximum), `eta_g`, `eta_theta`, `eta_w` and `tolerance`
    ///   (robust only) override the schedule's defaults.
    /// * `theta`: `"auto"` (default: fit several modes and keep the best, as the
    ///   experiments do; in 2D the learned theta from the best of four random starts),
    ///   `"learned"` (the paper), `"initial"`, a float (every theta fixed there) or a list of
    ///   floats (one activation component per value).
    /// * `gain_start` (robust only): `"small"` (default: the authors' initial gains times
    ///   `sqrt(lambda_min(C)) / 2`, `C` the samples' covariance, so the feedback starts below
    ///   what whitening needs; in 2D learning then reaches less dependent responses) or
    ///   `"authors"` (`0.2 + 0.05 U` as drawn).
    /// * `interneurons`: `k` (default `n`); `theta_init`: base of the initial theta
    ///   (default 2.2 in 1D, 2.3 in 2D); `seed`: the ChaCha8 seed of the initialisation and of
    ///   the sample order.
    ///
    /// The GIL is released while learning.
    #[staticmethod]
    #[pyo3(signature = (samples, learning = "robust", theta = None, interneurons = None,
        seed = 0, theta_init = None, batch = None, iterations = None, eta_g = None,
        eta_theta = None, eta_w = None, tolerance = None, gain_start = None))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        samples: &Bound<'_, PyAny>,
        learning: &str,
        theta: Option<&Bound<'_, PyAny>>,
        interneurons: Option<usize>,
        seed: u64,
        theta_init: Option<f64>,
        batch: Option<usize>,
        iterations: Option<usize>,
        eta_g: Option<f64>,
        eta_theta: Option<f64>,
        eta_w: Option<f64>,
        tolerance: Option<f64>,
        gain_start: Option<&str>,
    ) -> PyResult<Self> {
        let s = signal(samples, "samples", None)?;
        let n = if s.shape().len() == 1 { 1 } else { s.dims2().1 };
        if n > 2 {
            return Err(PyValueError::new_err(format!(
                "samples: fitting is implemented for n = 1 (a signal) and n = 2 (pairs), got n = {n}"
            )));
        }
        let learning = self::learning(
            learning, n, batch, iterations, eta_g, eta_theta, eta_w, tolerance, gain_start,
        )?;
        let theta = match theta {
            Some(t) => theta_mode(t)?,
            None => ThetaMode::Auto,
        };
        theta.check("theta").map_err(param_err)?;
        let k = interneurons.unwrap_or(n);
        if k < n {
            return Err(PyValueError::new_err(format!(
                "interneurons = {k} is fewer than n = {n} primary neurons (need k >= n)"
            )));
        }
        let theta_init = theta_init.unwrap_or(if n == 1 { 2.2 } else { 2.3 });
        check_theta_init(theta_init, "theta_init").map_err(param_err)?;
        let solver = SolverSettings::default();
        let data = s.slice();
        let ctx = RunContext::new("whiten.Circuit.fit", seed).without_progress();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (inner, info) = py
            .detach(|| {
                if n == 1 {
                    let settings = OneDCircuit {
                        learning: &learning,
                        b_derivative: BDerivativeRule::Reference,
                        interneurons: k,
                        theta: &theta,
                        theta_init,
                        solver,
                    };
                    learn_1d(data, &settings, &mut rng, &ctx, "the samples").map(|r| {
                        let info = FitInfo {
                            iterations: r.iterations,
                            converged: r.converged,
                            mode: r.mode.ron(),
                            candidates: r.candidates,
                            warnings: r.warnings,
                        };
                        (r.circuit, info)
                    })
                } else {
                    // The robust schedule learns on the pairs scaled to unit root mean square
                    // and scales the gains back: at fixed r, `s = W G f(W^T r)` is linear in
                    // the gains, so the circuit for `c s` has gains `c g` and the same
                    // responses, whereas the Hebbian step of W grows with the samples' scale.
                    let scale = match learning {
                        Learning::Robust(_) => unit_scale(data),
                        Learning::Reference(_) => 1.0,
                    };
                    let scaled: Vec<f64> = data.iter().map(|x| x / scale).collect();
                    let (pairs, _) = scaled.as_chunks::<2>();
                    let settings = PairCircuit {
                        learning: &learning,
                        theta_init,
                        theta: &theta,
                        solver,
                    };
                    learn_pairs(pairs, k, &settings, &mut rng, &ctx, "the samples").and_then(|r| {
                        let mut circuit = r.circuit;
                        let g: Vec<f64> = circuit.g().iter().map(|g| g * scale).collect();
                        circuit
                            .set_g(&g)
                            .map_err(|e| ctx.numerical("scaling the gains back", e))?;
                        let info = FitInfo {
                            iterations: r.iterations,
                            converged: r.converged,
                            mode: r.mode.ron(),
                            candidates: r.candidates,
                            warnings: r.warnings,
                        };
                        Ok((circuit, info))
                    })
                }
            })
            .map_err(experiment_err)?;
        Ok(Self {
            inner,
            info: Some(info),
        })
    }

    /// Responses to `samples` (`(P,)` for a 1-neuron circuit, or `(P, n)`), in the same
    /// shape. Each is the root of `F(r) = s - W n(r)`, found by damped Newton from `r = s`; the
    /// GIL is released.
    fn respond<'py>(
        &self,
        py: Python<'py>,
        samples: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = signal(samples, "samples", Some(self.inner.n()))?;
        let data = s.slice();
        let mut r = vec![0.0; data.len()];
        py.detach(|| self.inner.respond_batch(data, &mut r))
            .map_err(core_err)?;
        if s.shape().len() == 1 {
            Ok(vec_out(py, r).into_any())
        } else {
            let (p, n) = s.dims2();
            Ok(rows_out(py, r, p, n)?.into_any())
        }
    }

    /// Interneuron outputs `n_i = g_i f(theta_i, w_i^T r)` for the responses `r` in the rows of
    /// `responses` (`(P,)` or `(P, n)`), as `(P, k)`.
    fn interneuron_outputs<'py>(
        &self,
        py: Python<'py>,
        responses: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let r = signal(responses, "responses", Some(self.inner.n()))?;
        let (n, k) = (self.inner.n(), self.inner.k());
        let data = r.slice();
        let p = data.len() / n;
        let mut out = vec![0.0; p * k];
        for (rt, ot) in data.chunks_exact(n).zip(out.chunks_exact_mut(k)) {
            self.inner.interneuron_outputs(rt, ot).map_err(core_err)?;
        }
        rows_out(py, out, p, k)
    }

    /// Number of primary neurons `n`.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }

    /// Number of interneurons `k` (activation components count separately).
    #[getter]
    fn k(&self) -> usize {
        self.inner.k()
    }

    /// The gains `g` (a copy, length `k`).
    #[getter]
    fn g<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray1<f64>> {
        vec_out(py, self.inner.g().to_vec())
    }

    /// The activation parameters `theta` (a copy, length `k`).
    #[getter]
    fn theta<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray1<f64>> {
        vec_out(py, self.inner.theta().to_vec())
    }

    /// The weights `W` (a copy, `n x k`, unit-norm columns).
    #[getter]
    #[allow(non_snake_case)]
    fn W<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let (n, k) = (self.inner.n(), self.inner.k());
        let w = self.inner.w();
        let rows: Vec<f64> = (0..n)
            .flat_map(|i| (0..k).map(move |j| w[j * n + i]))
            .collect();
        rows_out(py, rows, n, k)
    }

    /// How the fit went (`None` for a circuit built with `Circuit(W, g, theta)`): a dict with
    /// `iterations`, `converged`, `theta_mode` (the mode kept, as in RON), `candidates`
    /// (under "auto": each mode with its score or error, the random start it learned from, 0
    /// for the seed's own stream, and, for the 2D learned theta, the `screened` scores of its
    /// starts) and `warnings`.
    #[getter]
    fn fit_info<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(info) = &self.info else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("iterations", info.iterations)?;
        d.set_item("converged", info.converged)?;
        d.set_item("theta_mode", &info.mode)?;
        let cands = PyList::empty(py);
        for c in &info.candidates {
            let cd = PyDict::new(py);
            cd.set_item("mode", &c.mode)?;
            cd.set_item("start", c.start)?;
            cd.set_item("screened", c.screened.clone())?;
            cd.set_item("score", c.score)?;
            cd.set_item("error", &c.error)?;
            cands.append(cd)?;
        }
        d.set_item("candidates", cands)?;
        d.set_item("warnings", info.warnings.clone())?;
        Ok(Some(d))
    }

    fn __repr__(&self) -> String {
        format!("Circuit(n={}, k={})", self.inner.n(), self.inner.k())
    }
}
