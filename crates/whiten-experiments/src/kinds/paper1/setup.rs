//! Parameter types and set-up shared by paper 1's experiments: the spectrum and eigenbasis of
//! the input covariance `C` (or a data file it is estimated from), the initialisations of the
//! two networks, the integrator settings of the flow experiments, and paper 1's parameter
//! checks and claims.

use faer::Mat;
use rand::Rng;
use serde::{Deserialize, Serialize};
use whiten_core::CoreError;
use whiten_core::cov::{
    covariance_with_spectrum, haar_orthogonal, linspace, logspace, random_spd, sym_sqrt,
};
use whiten_core::linear::{DirectNetwork, InterneuronNetwork};

use crate::context::RunContext;
use crate::error::ParamError;
use crate::kinds::common::{at_least_one, ensure, ensure_positive};
use crate::paths::PathParam;

/// The eigenvalues `lambda` of the input covariance `C`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Spectrum {
    /// `n` values evenly spaced from `lo` to `hi`.
    Linspace(f64, f64),
    /// `n` values log-spaced from `lo` to `hi`.
    Logspace(f64, f64),
    /// Exactly these `n` values.
    Values(Vec<f64>),
}

impl Spectrum {
    /// The `n` eigenvalues.
    pub fn values(&self, n: usize) -> Vec<f64> {
        match self {
            Spectrum::Linspace(lo, hi) => linspace(*lo, *hi, n),
            Spectrum::Logspace(lo, hi) => logspace(*lo, *hi, n),
            Spectrum::Values(v) => v.clone(),
        }
    }

    /// Refuses spectra that do not give a positive-definite `C` of size `n`.
    pub fn check(&self, field: &str, n: usize) -> Result<(), ParamError> {
        match self {
            Spectrum::Linspace(lo, hi) | Spectrum::Logspace(lo, hi) => ensure(
                lo.is_finite() && hi.is_finite() && *lo > 0.0 && *hi >= *lo,
                field,
                || {
                    format!(
                        "needs 0 < lo <= hi, finite (got lo = {lo}, hi = {hi}): C must be positive definite"
                    )
                },
            ),
            Spectrum::Values(v) => {
                ensure(v.len() == n, field, || {
                    format!("needs exactly n = {n} eigenvalues (got {})", v.len())
                })?;
                for (i, &x) in v.iter().enumerate() {
                    ensure(x.is_finite() && x > 0.0, field, || {
                        format!("eigenvalue {i} is {x}: C must be positive definite")
                    })?;
                }
                Ok(())
            }
        }
    }
}

/// Eigenbasis of `C`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Basis {
    /// `C` diagonal.
    Identity,
    /// `C = Q diag(lambda) Q^T` with `Q` Haar-random (drawn from the set-up stream).
    Haar,
}

/// How the networks start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Init {
    /// `M_0 = c I`, `W_0 = sqrt(c) [I_n | 0]`: commutes with `C`.
    Commuting,
    /// `M_0 = W_0 W_0^T = c B` with `B` random positive definite (Haar eigenbasis, eigenvalues
    /// in [0.5, 1], largest 1) and `W_0 = sqrt(c) [B^{1/2} | 0] R`, `R` Haar-random k x k.
    Generic,
}

impl Init {
    /// Lower-case label for tables and legends.
    pub fn label(self) -> &'static str {
        match self {
            Init::Commuting => "commuting",
            Init::Generic => "generic",
        }
    }
}

/// The covariance `C` for `n`, a spectrum and a basis.
pub fn covariance<R: Rng + ?Sized>(
    n: usize,
    spectrum: &Spectrum,
    basis: Basis,
    rng: &mut R,
) -> Mat<f64> {
    let lambda = spectrum.values(n);
    let q = match basis {
        Basis::Identity => Mat::identity(n, n),
        Basis::Haar => haar_orthogonal(n, rng),
    };
    covariance_with_spectrum(q.as_ref(), &lambda)
}

/// Both networks at initial scale `c`, with equal `M_0 = W_0 W_0^T`.
pub fn initial_networks<R: Rng + ?Sized>(
    init: Init,
    n: usize,
    k: usize,
    c: f64,
    rng: &mut R,
) -> Result<(DirectNetwork, InterneuronNetwork), CoreError> {
    let w0 = match init {
        Init::Commuting => {
            return Ok((
                DirectNetwork::scaled_identity(n, c)?,
                InterneuronNetwork::commuting(n, k, c)?,
            ));
        }
        Init::Generic => {
            let b_sqrt = sym_sqrt(random_spd(n, rng).as_ref())?;
            let r = haar_orthogonal(k, rng);
            let mut padded = Mat::<f64>::zeros(n, k);
            padded
                .as_mut()
                .submatrix_mut(0, 0, n, n)
                .copy_from(b_sqrt.as_ref());
            let mut w = &padded * &r;
            w *= faer::Scale(c.sqrt());
            w
        }
    };
    let inter = InterneuronNetwork::new(w0)?;
    let direct = DirectNetwork::from_interneuron(&inter)?;
    Ok((direct, inter))
}

/// `c` as a short key for summaries (`1`, `10`, `0.5`).
pub fn scale_key(c: f64) -> String {
    crate::output::format_float(c)
}

/// Integrator settings of the flow experiments, as written in RON:
/// `ode: (method: "dopri5", rtol: 1e-8, atol: 1e-10, max_steps: 1000000)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OdeSettings {
    /// Method name: dopri5, tsit5, bs32, rosenbrock23 (see `whiten_ode::Method`).
    pub method: String,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Largest number of step attempts.
    pub max_steps: usize,
}

impl Default for OdeSettings {
    fn default() -> Self {
        Self {
            method: "dopri5".into(),
            rtol: 1e-8,
            atol: 1e-10,
            max_steps: 1_000_000,
        }
    }
}

impl OdeSettings {
    /// Refuses unknown methods and non-positive tolerances.
    pub fn check(&self, field: &str) -> Result<(), ParamError> {
        self.method.parse::<whiten_ode::Method>().map_err(|_| {
            ParamError::new(
                format!("{field}.method"),
                format!(
                    "unknown method {:?}; known: {}",
                    self.method,
                    whiten_ode::Method::ALL
                        .iter()
                        .map(|m| m.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        ensure_positive(self.rtol, &format!("{field}.rtol"))?;
        ensure_positive(self.atol, &format!("{field}.atol"))?;
        ensure(self.max_steps >= 1, &format!("{field}.max_steps"), || {
            "must be at least 1".into()
        })
    }

    /// The checked method.
    pub fn method(&self) -> whiten_ode::Method {
        self.method.parse().unwrap_or(whiten_ode::Method::Dopri5)
    }

    /// Integrator options with these tolerances, stopped by `ctx`'s cancellation.
    pub fn options(&self, ctx: &RunContext) -> whiten_ode::Options {
        whiten_ode::Options {
            rtol: self.rtol,
            atol: self.atol,
            max_steps: self.max_steps,
            interrupt: ctx.interrupt(),
            ..whiten_ode::Options::default()
        }
    }
}

/// Refuses `n < 1` and `k < n` (the interneuron network needs at least as many interneurons
/// as primary neurons).
pub fn check_sizes(n: usize, k: usize) -> Result<(), ParamError> {
    at_least_one(n, "n")?;
    ensure(k >= n, "k", || {
        format!("k = {k} interneurons is fewer than n = {n} primary neurons (need k >= n)")
    })
}

/// A matrix as a flat column-major vector (the integrators' state layout).
pub fn flat(m: faer::MatRef<'_, f64>) -> Vec<f64> {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]))
        .collect()
}

/// The claim that interneurons reach the threshold sooner than direct connections, from the
/// largest initial scale `c` (`unit`: what is counted, e.g. "iterations" or "samples").
pub fn acceleration_claim(
    how: &str,
    init: Init,
    c: f64,
    direct: Option<usize>,
    interneuron: Option<usize>,
    unit: &str,
    figure: &str,
) -> crate::output::Claim {
    let show = |x: Option<usize>| x.map_or_else(|| "not reached".into(), |x| x.to_string());
    crate::output::Claim {
        id: format!("p1.{how}.acceleration.{}", init.label()),
        paper: 1,
        statement: format!(
            "Interneurons accelerate {how} learning from a large initial spectrum ({} init, c = {})",
            init.label(),
            scale_key(c)
        ),
        expected: format!("interneurons need fewer {unit} than direct connections"),
        measured: format!(
            "direct {}, interneurons {} {unit}",
            show(direct),
            show(interneuron)
        ),
        pass: match (direct, interneuron) {
            (Some(d), Some(w)) => w < d,
            (None, Some(_)) => true,
            _ => false,
        },
        figure: Some(figure.into()),
        informative: false,
    }
}

/// The linear stability limit of the discrete offline updates at the optimum (spec 1, 4.3),
/// derived by linearising each update at `M* = C^{1/2}` (eigenvalues `mu_i = sqrt(lambda_i)`)
/// for a perturbation `dM` in the eigenbasis of `C`, entry `(i, j)`:
///
/// * direct, `M <- M + eta (M^-1 C M^-1 - I)`: `dM_ij <- (1 - eta (1/mu_i + 1/mu_j)) dM_ij`,
///   stable iff `eta < mu_min = sqrt(lambda_min(C))`;
/// * interneurons, `W <- W + eta (C_yy - I) W`, i.e. `M <- (I + eta E) M (I + eta E)^T` with
///   `E = M^-1 C M^-1 - I`, `dE = -(M*^-1 dM + dM M*^-1)`:
///   `dM_ij <- (1 - eta (mu_i/mu_j + 2 + mu_j/mu_i)) dM_ij`, stable iff
///   `eta < 2 / max_ij (mu_i + mu_j)^2 / (mu_i mu_j) = 2 r / (1 + r)^2` with
///   `r = mu_max / mu_min = sqrt(lambda_max / lambda_min)`. The diagonal entries alone (a start
///   that commutes with C) give the familiar `1/2`; a generic start excites the off-diagonal
///   ones, and above the bound the error stalls (spec: 0.444 for `linspace(0.5, 2, 5)`, 0.236
///   for `linspace(0.1, 4, 8)`).
pub fn stability_limit(network: &str, c: faer::MatRef<'_, f64>) -> f64 {
    let Ok(e) = whiten_core::cov::sym_eigen(c) else {
        return f64::NAN;
    };
    let (lo, hi) = (
        e.values.first().copied().unwrap_or(f64::NAN).max(0.0),
        e.values.last().copied().unwrap_or(f64::NAN).max(0.0),
    );
    if network == "direct" {
        lo.sqrt()
    } else {
        let r = (hi / lo).sqrt();
        2.0 * r / ((1.0 + r) * (1.0 + r))
    }
}

/// `", eta = X is beyond the stability limit Y of the <network> update"` when it is, for
/// diagnostics of diverged runs; empty otherwise.
pub fn stability_note(network: &str, eta: f64, c: faer::MatRef<'_, f64>) -> String {
    let limit = stability_limit(network, c);
    if eta >= limit {
        format!(
            " (eta = {eta} is beyond the stability limit {limit:.4} of the {network} update, spec 1 section 4.3)"
        )
    } else {
        String::new()
    }
}

/// Documentation of the `data` parameter of paper 1's kinds.
pub const DATA_DOC: &str = "Some(\"file.npy\" or \"file.csv\"): a data matrix, samples x n (relative to the experiment file's folder or absolute); C is its covariance after centring (numpy.cov(x, rowvar=False, bias=True)) and spectrum and basis are not used; None: C from spectrum and basis";

/// Paper 1's input given as a data file: the samples, centred, and their covariance.
#[derive(Debug, Clone)]
pub struct DataInput {
    /// The centred samples as the columns of an `n x N` matrix.
    pub samples: Mat<f64>,
    /// Their covariance `X_c X_c^T / N` (positive definite, checked).
    pub covariance: Mat<f64>,
}

/// Reads and checks the data matrix at `path` (the parameter `field`) for `n` primary
/// neurons: `n` columns, at least `n + 1` samples, every value finite, a positive-definite
/// covariance. Refusals name the file (as written and as resolved) and what to change.
pub fn load_data(path: &PathParam, n: usize, field: &str) -> Result<DataInput, ParamError> {
    let refuse = |reason: String| ParamError::new(field, path.refusal(reason));
    let m = crate::data::read_matrix(path.path()).map_err(|e| refuse(e.to_string()))?;
    if m.cols != n {
        return Err(refuse(format!(
            "{} columns (values per sample), but n = {n}: set `n: {}` (and k >= n), or give a \
             samples x n matrix (a transposed file has n rows instead)",
            m.cols, m.cols
        )));
    }
    if m.rows < n + 1 {
        return Err(refuse(format!(
            "{} samples: estimating the {n} x {n} covariance needs at least n + 1 = {} (many more \
             for a good estimate)",
            m.rows,
            n + 1
        )));
    }
    let mean: Vec<f64> = (0..n)
        .map(|j| (0..m.rows).map(|i| m.data[i * n + j]).sum::<f64>() / m.rows as f64)
        .collect();
    let samples = Mat::from_fn(n, m.rows, |j, i| m.data[i * n + j] - mean[j]);
    let covariance = whiten_core::cov::sample_covariance(samples.as_ref());
    let eig = whiten_core::cov::sym_eigen(covariance.as_ref())
        .map_err(|e| refuse(format!("cannot diagonalise the sample covariance: {e}")))?;
    let (lo, hi) = (
        eig.values.first().copied().unwrap_or(0.0),
        eig.values.last().copied().unwrap_or(0.0),
    );
    if !(lo > hi * 1e-12 && hi > 0.0) {
        let constant: Vec<String> = (0..n)
            .filter(|&j| covariance[(j, j)] <= 0.0)
            .map(|j| j.to_string())
            .collect();
        let why = if constant.is_empty() {
            "some columns are linear combinations of the others".to_string()
        } else {
            format!("column(s) {} (from 0) are constant", constant.join(", "))
        };
        return Err(refuse(format!(
            "the sample covariance is not positive definite (eigenvalues {lo:.3e} to {hi:.3e}): \
             {why}; drop them or reduce n"
        )));
    }
    Ok(DataInput {
        samples,
        covariance,
    })
}

/// The data file's path for [`crate::Experiment::inputs`] (none when absent).
pub fn data_inputs(data: &Option<PathParam>) -> Vec<std::path::PathBuf> {
    data.iter().map(|p| p.path().to_path_buf()).collect()
}

/// Resolves the `data` path against the experiment file's folder.
pub fn resolve_data(
    data: &mut Option<PathParam>,
    base: &std::path::Path,
) -> Result<(), ParamError> {
    match data {
        Some(p) => p.resolve(base, "data"),
        None => Ok(()),
    }
}
