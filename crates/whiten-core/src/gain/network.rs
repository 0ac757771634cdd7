//! Paper A's network: a fixed frame `W` (unit columns), adaptive gains `g`, leak `alpha`.
//!
//! Steady state `y = M x` with `M = (alpha I + W diag(g) W^T)^{-1}`; output covariance
//! `C_yy = M C M^T`. The gains ascend the Lagrangian: online
//! `g <- g + eta_g mean_batch(z o z - 1)` with `z = W^T y`, offline
//! `g <- g + eta_g (diag(W^T C_yy W) - 1)`; with `clamp`, `g <- max(g, 0)` after every step.
//!
//! [`run_offline`] reproduces the authors' offline loop, early stop and bookkeeping (see
//! [`OfflineTrace`]), so their step counts come out exactly.

use faer::{Mat, MatRef};

use super::frame::check_unit_columns;
use super::kernel::Workspace;
pub(crate) use super::kernel::projected_diag;
use super::measure::ErrorMeasure;
use super::solve::{Factor, inverse_whitening_matrix};
use crate::error::{CoreError, Result};

pub(crate) fn check_eta(name: &'static str, eta: f64) -> Result<()> {
    if eta > 0.0 && eta.is_finite() {
        Ok(())
    } else {
        Err(CoreError::InvalidLearningRate { name, value: eta })
    }
}

pub(crate) fn check_alpha(alpha: f64) -> Result<()> {
    if alpha >= 0.0 && alpha.is_finite() {
        Ok(())
    } else {
        Err(CoreError::InvalidParameter {
            name: "alpha",
            value: alpha,
            reason: "the leak must be non-negative and finite",
        })
    }
}

pub(crate) fn check_gains(g: &[f64], k: usize) -> Result<()> {
    if g.len() != k {
        return Err(CoreError::DimensionMismatch {
            what: "number of gains",
            expected: k,
            got: g.len(),
        });
    }
    if g.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite { what: "g" });
    }
    Ok(())
}

pub(crate) fn check_square(c: MatRef<'_, f64>, n: usize) -> Result<()> {
    for (what, got) in [("C rows", c.nrows()), ("C columns", c.ncols())] {
        if got != n {
            return Err(CoreError::DimensionMismatch {
                what,
                expected: n,
                got,
            });
        }
    }
    if !c.is_all_finite() {
        return Err(CoreError::NonFinite { what: "C" });
    }
    Ok(())
}

pub(crate) fn check_batch(x: MatRef<'_, f64>, n: usize) -> Result<()> {
    if x.nrows() != n {
        return Err(CoreError::DimensionMismatch {
            what: "x rows",
            expected: n,
            got: x.nrows(),
        });
    }
    if x.ncols() == 0 {
        return Err(CoreError::DimensionMismatch {
            what: "number of samples in the batch",
            expected: 1,
            got: 0,
        });
    }
    if !x.is_all_finite() {
        return Err(CoreError::NonFinite { what: "x" });
    }
    Ok(())
}

/// Paper A's gain-modulating interneuron network (fixed frame, adaptive gains).
#[derive(Debug, Clone)]
pub struct GainNetwork {
    w: Mat<f64>,
    g: Vec<f64>,
    alpha: f64,
    clamp: bool,
    /// Buffers of the online step (`W` never changes, so it is loaded once).
    work: Workspace,
}

impl GainNetwork {
    /// A network with frame `w` (`n x K`, unit columns, see [`super::frame::normalize_columns`])
    /// and initial gains `g0` (length `K`), `alpha = 1`, no clamp. Refuses a frame with a
    /// non-unit or zero column (`BadColumn`), NaN/inf, or gains of the wrong length.
    pub fn new(w: Mat<f64>, g0: Vec<f64>) -> Result<Self> {
        check_unit_columns(w.as_ref())?;
        check_gains(&g0, w.ncols())?;
        Ok(Self {
            w,
            g: g0,
            alpha: 1.0,
            clamp: false,
            work: Workspace::default(),
        })
    }

    /// Sets the leak `alpha` (non-negative, finite; the authors assert `alpha >= 0`).
    pub fn with_alpha(mut self, alpha: f64) -> Result<Self> {
        check_alpha(alpha)?;
        self.alpha = alpha;
        Ok(self)
    }

    /// Turns the projection `g <- max(g, 0)` after every step on or off. Turning it on does not
    /// change the current gains; the first step projects them.
    pub fn with_clamp(mut self, clamp: bool) -> Self {
        self.clamp = clamp;
        self
    }

    /// Primary neurons `n`.
    pub fn n(&self) -> usize {
        self.w.nrows()
    }

    /// Interneurons `K`.
    pub fn k(&self) -> usize {
        self.w.ncols()
    }

    /// The frame `W`.
    pub fn w(&self) -> MatRef<'_, f64> {
        self.w.as_ref()
    }

    /// The gains `g`.
    pub fn gains(&self) -> &[f64] {
        &self.g
    }

    /// The leak `alpha`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Whether the gains are projected on `g >= 0`.
    pub fn clamp(&self) -> bool {
        self.clamp
    }

    /// Replaces the gains (length `K`, finite).
    pub fn set_gains(&mut self, g: Vec<f64>) -> Result<()> {
        check_gains(&g, self.k())?;
        self.g = g;
        Ok(())
    }

    /// `M^{-1} = alpha I + W diag(g) W^T` (symmetric; positive definite only if the gains
    /// allow it).
    pub fn inverse_whitening_matrix(&self) -> Mat<f64> {
        inverse_whitening_matrix(self.w.as_ref(), &self.g, self.alpha)
    }

    fn factor(&self) -> Result<Factor> {
        Factor::of_frame(
            self.w.as_ref(),
            &self.g,
            self.alpha,
            "alpha I + W diag(g) W^T",
        )
    }

    /// Steady states `y = (alpha I + W diag(g) W^T)^{-1} x` for the columns of `x` (`n x T`).
    /// `Singular` if the matrix is not invertible.
    pub fn respond(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_batch(x, self.n())?;
        Ok(self.factor()?.solve(x))
    }

    /// Interneuron inputs `z = W^T y` (`n x T` -> `K x T`).
    pub fn interneuron_inputs(&self, y: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_batch(y, self.n())?;
        Ok(self.w.transpose() * y)
    }

    /// `C_yy = M C M^T`, `M = (alpha I + W diag(g) W^T)^{-1}`, by two solves, symmetrised.
    pub fn output_covariance(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_square(c, self.n())?;
        Ok(self.factor()?.sandwich(c))
    }

    /// The projected variances `diag(W^T C_yy W)`; all equal 1 at a fixed point with free gains.
    pub fn projected_variances(&self, c: MatRef<'_, f64>) -> Result<Vec<f64>> {
        let cyy = self.output_covariance(c)?;
        Ok(projected_diag(self.w.as_ref(), cyy.as_ref()))
    }

    /// Applies `g + eta dg`, then the clamp; leaves the gains unchanged if the result is not
    /// finite.
    fn apply(&mut self, eta: f64, dg: &[f64]) -> Result<()> {
        if self
            .g
            .iter()
            .zip(dg)
            .any(|(g, d)| !(g + eta * d).is_finite())
        {
            return Err(CoreError::NonFinite {
                what: "g after update",
            });
        }
        for (g, d) in self.g.iter_mut().zip(dg) {
            *g += eta * d;
            if self.clamp {
                // Projected ascent: g <- max(g, 0).
                *g = g.max(0.0);
            }
        }
        Ok(())
    }

    /// One online gain step from the samples in the columns of `x` (a batch):
    /// `g <- g + eta mean_t(z_t o z_t - 1)` with `z = W^T y` and
    /// `y = (alpha I + W diag(g) W^T)^{-1} x`. Returns the responses `y` of the current gains.
    ///
    /// Quirk of the authors' code, not reproduced: their online `y` uses `(I + W G W^T)^{-1}`,
    /// ignoring `alpha` (which their error measure does use). Both agree for `alpha = 1`.
    pub fn online_step(&mut self, x: MatRef<'_, f64>, eta: f64) -> Result<Mat<f64>> {
        check_eta("eta_g", eta)?;
        check_batch(x, self.n())?;
        let (n, k, t) = (self.n(), self.k(), x.ncols());
        // y = A^{-1} x and z = W^T y: the small kernel when A is small and positive definite.
        let mut work = std::mem::take(&mut self.work);
        if work.wv.len() != n * k {
            work.load_w(self.w.as_ref());
        }
        let y = if work.factor(n, &self.g, self.alpha) {
            work.respond_and_project(x)
        } else {
            match self.respond(x) {
                Ok(y) => {
                    work.project(self.w.as_ref(), y.as_ref());
                    y
                }
                Err(e) => {
                    self.work = work;
                    return Err(e);
                }
            }
        };
        let z = std::mem::take(&mut work.z);
        // dg_i = mean_t(z_it^2 - 1), z_it = w_i^T y_t.
        let mut dg = vec![0.0; k];
        for zt in z.chunks_exact(k) {
            for (d, &zi) in dg.iter_mut().zip(zt) {
                *d += zi * zi;
            }
        }
        for d in &mut dg {
            *d = *d / t as f64 - 1.0;
        }
        work.z = z;
        self.work = work;
        self.apply(eta, &dg)?;
        Ok(y)
    }

    /// The expected (offline) gain gradient `diag(W^T C_yy W) - 1` and the `C_yy` it uses.
    pub fn gain_gradient(&self, c: MatRef<'_, f64>) -> Result<(Vec<f64>, Mat<f64>)> {
        let cyy = self.output_covariance(c)?;
        let dg = projected_diag(self.w.as_ref(), cyy.as_ref())
            .into_iter()
            .map(|v| v - 1.0)
            .collect();
        Ok((dg, cyy))
    }

    /// One offline gain step `g <- g + eta (diag(W^T C_yy W) - 1)` (then the clamp). Returns the
    /// pre-update `C_yy` (the one the step used).
    pub fn offline_step(&mut self, c: MatRef<'_, f64>, eta: f64) -> Result<Mat<f64>> {
        check_eta("eta_g", eta)?;
        check_square(c, self.n())?;
        let (n, k) = (self.n(), self.k());
        // The small kernel when A is small and positive definite (the same arithmetic as
        // `gain_gradient`, without allocating per step).
        let mut work = std::mem::take(&mut self.work);
        if work.wv.len() != n * k {
            work.load_w(self.w.as_ref());
        }
        if !work.factor(n, &self.g, self.alpha) {
            self.work = work;
            let (dg, cyy) = self.gain_gradient(c)?;
            self.apply(eta, &dg)?;
            return Ok(cyy);
        }
        work.offline_gradient(c);
        let cyy = Mat::from_fn(n, n, |i, j| work.cyy[j * n + i]);
        let applied = self.apply(eta, &work.dg);
        self.work = work;
        applied.map(|()| cyy)
    }
}

/// Why an offline run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `allclose(g_prev, g)` after a step (rtol, atol of [`OfflineRun`]).
    Converged,
    /// Some `|g_i|` exceeded the divergence bound after a step.
    Diverged,
    /// `max_steps` steps were made.
    MaxSteps,
}

/// Settings of [`run_offline`] (defaults: the authors' `adapt_covariance`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OfflineRun {
    /// Gain learning rate `eta_g`.
    pub eta: f64,
    /// Maximum number of steps (`n_batch`).
    pub max_steps: usize,
    /// Error recorded at every step.
    pub measure: ErrorMeasure,
    /// Stop when `|g_prev - g| <= atol + rtol |g|` element-wise (numpy's `allclose`).
    pub stop_on_convergence: bool,
    /// Stop when some `|g_i| > divergence_bound`.
    pub stop_on_divergence: bool,
    /// Relative tolerance of the convergence test (1e-5).
    pub rtol: f64,
    /// Absolute tolerance of the convergence test (1e-8).
    pub atol: f64,
    /// Divergence bound on `|g_i|` (200).
    pub divergence_bound: f64,
}

impl OfflineRun {
    /// The authors' defaults with learning rate `eta` and at most `max_steps` steps:
    /// Frobenius error, both early stops on, rtol 1e-5, atol 1e-8, bound 200.
    pub fn new(eta: f64, max_steps: usize) -> Self {
        Self {
            eta,
            max_steps,
            measure: ErrorMeasure::Frobenius,
            stop_on_convergence: true,
            stop_on_divergence: true,
            rtol: 1e-5,
            atol: 1e-8,
            divergence_bound: 200.0,
        }
    }

    /// The same run with another error measure.
    pub fn with_measure(mut self, measure: ErrorMeasure) -> Self {
        self.measure = measure;
        self
    }

    /// The same run without the early stops (always `max_steps` steps).
    pub fn without_early_stop(mut self) -> Self {
        self.stop_on_convergence = false;
        self.stop_on_divergence = false;
        self
    }
}

/// The record of [`run_offline`], with the authors' indexing.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineTrace {
    /// Steps made, counting the one that triggered the stop (the authors' progress count).
    pub steps: usize,
    /// Why the run stopped.
    pub stop: StopReason,
    /// `[g_0, g_1, ...]`: the initial gains and the post-update gains of every step except the
    /// one that triggered an early stop (as the authors store them); after `MaxSteps` it has
    /// `steps + 1` entries, after an early stop `steps`. The network holds the final gains.
    pub g_history: Vec<Vec<f64>>,
    /// `errors[t]` is the error of the `C_yy` of `g_history[t]`, i.e. computed with the
    /// pre-update `M` of step `t + 1`; one per step.
    pub errors: Vec<f64>,
}

fn allclose(prev: &[f64], g: &[f64], rtol: f64, atol: f64) -> bool {
    prev.iter()
        .zip(g)
        .all(|(a, b)| (a - b).abs() <= atol + rtol * b.abs())
}

/// Runs offline gain steps on input covariance `c` as the authors' `adapt_covariance` does
/// (offline mode, one context, `save_every = 1`): each step computes `C_yy` from the current
/// gains, updates (and clamps) `g`, records the error of that pre-update `C_yy`, then stops if
/// `g` did not move (`allclose`) or if some `|g_i|` exceeds the bound.
///
/// A failing step returns `Learning { iteration, .. }` with the network left at the gains
/// before that step.
pub fn run_offline(
    net: &mut GainNetwork,
    c: MatRef<'_, f64>,
    run: &OfflineRun,
) -> Result<OfflineTrace> {
    check_eta("eta_g", run.eta)?;
    check_square(c, net.n())?;
    let mut g_history = vec![net.gains().to_vec()];
    let mut errors = Vec::with_capacity(run.max_steps);
    for step in 1..=run.max_steps {
        let wrap = |e: CoreError| CoreError::Learning {
            iteration: step,
            source: Box::new(e),
        };
        let cyy = net.offline_step(c, run.eta).map_err(wrap)?;
        errors.push(run.measure.eval(cyy.as_ref(), net.clamp()).map_err(wrap)?);
        let g = net.gains();
        let prev = g_history.last().map(Vec::as_slice).unwrap_or(g);
        if run.stop_on_convergence && allclose(prev, g, run.rtol, run.atol) {
            tracing::debug!(step, "gain run converged");
            return Ok(OfflineTrace {
                steps: step,
                stop: StopReason::Converged,
                g_history,
                errors,
            });
        }
        if run.stop_on_divergence && g.iter().any(|v| v.abs() > run.divergence_bound) {
            tracing::debug!(step, "gain run diverged");
            return Ok(OfflineTrace {
                steps: step,
                stop: StopReason::Diverged,
                g_history,
                errors,
            });
        }
        g_history.push(g.to_vec());
    }
    Ok(OfflineTrace {
        steps: run.max_steps,
        stop: StopReason::MaxSteps,
        g_history,
        errors,
    })
}
