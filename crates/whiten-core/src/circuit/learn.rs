//! One learning step of paper 2's circuit on a batch of signals, with the authors' rules.
//!
//! For each sample `t`: response `r_t`, projections `z_t = W^T r_t`, outputs
//! `n_it = g_i f(theta_i, z_it)`. Then, with means over the batch:
//!
//! ```text
//! dg_i     = mean_t g_i c(theta_i, z_it),          g     <- max(g + eta_g dg, 0)
//! dtheta_i = mean_t dc/dtheta(theta_i, z_it),      theta <- clip(theta + eta_theta dtheta, 1, 3)
//! dW       = mean_t r_t n_t^T,                     W     <- W + eta_W dW, columns -> unit norm
//! ```
//!
//! All three use the parameters from before the step (as the reference does). The `theta`
//! update is not multiplied by `g` (reference behaviour). The `W` update, including the column
//! normalisation, is skipped when `eta_W = 0` (the reference normalises anyway, which only
//! differs when the columns were not unit to begin with, see [`Circuit::reference_init`]).

use super::{Circuit, Model, THETA_MAX, THETA_MIN, Workspace, check_finite, dot, solve};
use crate::error::{CoreError, Result};

/// Learning rates of one step (each finite and `>= 0`; 0 freezes that parameter).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearningRates {
    /// Rate of the gains, `eta_g`.
    pub eta_g: f64,
    /// Rate of the activation parameters, `eta_theta`.
    pub eta_theta: f64,
    /// Rate of the weights, `eta_W`.
    pub eta_w: f64,
}

impl LearningRates {
    /// The authors' 1D rates: `eta_g = 1e-3`, `eta_theta = 1e-4`, `eta_W = 0`.
    pub const REFERENCE_1D: Self = Self {
        eta_g: 1e-3,
        eta_theta: 1e-4,
        eta_w: 0.0,
    };
    /// The authors' 2D rates: `eta_g = 1e-3`, `eta_theta = 1e-5`, `eta_W = 1e-2`.
    pub const REFERENCE_2D: Self = Self {
        eta_g: 1e-3,
        eta_theta: 1e-5,
        eta_w: 1e-2,
    };

    pub(crate) fn check(&self) -> Result<()> {
        for (name, value) in [
            ("eta_g", self.eta_g),
            ("eta_theta", self.eta_theta),
            ("eta_w", self.eta_w),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(CoreError::InvalidParameter {
                    name,
                    value,
                    reason: "learning rates must be finite and >= 0",
                });
            }
        }
        Ok(())
    }
}

/// What one learning step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo {
    /// Samples in the batch.
    pub batch_size: usize,
    /// Newton iterations summed over the batch's response solves.
    pub newton_iterations: usize,
}

/// Reusable buffers of the learning step (no allocation per step in steady state).
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    pub(crate) ws: Workspace,
    /// Response of the current sample (N).
    pub(crate) r: Vec<f64>,
    /// Batch means of `c(theta_i, z_it)` and of `dc/dtheta` (K each).
    pub(crate) mean_c: Vec<f64>,
    pub(crate) mean_dc: Vec<f64>,
    /// Batch mean of `r_t n_t^T` (N x K, column-major).
    pub(crate) dw: Vec<f64>,
}

impl Scratch {
    pub(crate) fn new(n: usize, k: usize) -> Self {
        Self {
            ws: Workspace::new(n),
            r: vec![0.0; n],
            mean_c: vec![0.0; k],
            mean_dc: vec![0.0; k],
            dw: vec![0.0; n * k],
        }
    }
}

impl Circuit {
    /// Computes the batch's responses and fills the scratch means of `c`, `dc/dtheta` and
    /// (if `want_dw`) `r n^T`. Returns (batch size, Newton iterations).
    pub(crate) fn accumulate(&mut self, batch: &[f64], want_dw: bool) -> Result<(usize, usize)> {
        let (n, k) = (self.n, self.k);
        if batch.is_empty() || !batch.len().is_multiple_of(n) {
            return Err(CoreError::DimensionMismatch {
                what: "batch (non-empty multiple of n)",
                expected: (batch.len() / n).max(1) * n,
                got: batch.len(),
            });
        }
        let bsz = batch.len() / n;
        let sc = &mut self.scratch;
        sc.mean_c.fill(0.0);
        sc.mean_dc.fill(0.0);
        if want_dw {
            sc.dw.fill(0.0);
        }
        let model = Model {
            n,
            k,
            w: &self.w,
            g: &self.g,
            acts: &self.acts,
            solver: &self.options.solver,
        };
        let mut newton = 0;
        for s in batch.chunks_exact(n) {
            newton += solve(&model, s, &mut sc.r, &mut sc.ws)?;
            let r = &sc.r;
            for i in 0..k {
                let wi = &self.w[i * n..(i + 1) * n];
                let (c, dc, f) = self.acts[i].c_dc_f(dot(wi, r));
                sc.mean_c[i] += c;
                sc.mean_dc[i] += dc;
                if want_dw {
                    // dW_i += r_t n_it, n_it = g_i f(theta_i, z_it)
                    let ni = self.g[i] * f;
                    for j in 0..n {
                        sc.dw[i * n + j] += r[j] * ni;
                    }
                }
            }
        }
        let inv = 1.0 / bsz as f64;
        sc.mean_c.iter_mut().for_each(|v| *v *= inv);
        sc.mean_dc.iter_mut().for_each(|v| *v *= inv);
        if want_dw {
            sc.dw.iter_mut().for_each(|v| *v *= inv);
        }
        check_finite(&sc.mean_c, "batch mean of c")?;
        check_finite(&sc.mean_dc, "batch mean of dc/dtheta")?;
        check_finite(&sc.dw, "batch mean of r n^T")?;
        Ok((bsz, newton))
    }

    /// One learning step on a batch (`batch`: N x B, samples as columns), with the authors'
    /// rules (module docs). On error the parameters are left unchanged.
    pub fn learn_step(&mut self, batch: &[f64], rates: &LearningRates) -> Result<StepInfo> {
        rates.check()?;
        let (batch_size, newton_iterations) = self.accumulate(batch, rates.eta_w > 0.0)?;
        for i in 0..self.k {
            // dg_i = mean_t g_i c(theta_i, z_it);  g <- max(g + eta_g dg, 0)
            let dg = self.g[i] * self.scratch.mean_c[i];
            self.g[i] = (self.g[i] + rates.eta_g * dg).max(0.0);
            // dtheta_i = mean_t dc/dtheta;  theta <- clip(theta + eta_theta dtheta, 1, 3)
            let th = (self.theta[i] + rates.eta_theta * self.scratch.mean_dc[i])
                .clamp(THETA_MIN, THETA_MAX);
            if th != self.theta[i] {
                self.theta[i] = th;
                self.acts[i] = super::Activation::new(th, self.options.b_derivative);
            }
        }
        if rates.eta_w > 0.0 {
            self.apply_dw(rates.eta_w)?;
        }
        Ok(StepInfo {
            batch_size,
            newton_iterations,
        })
    }

    /// `W <- W + eta_W dW` (dW from the scratch), then unit columns. Units that share a
    /// direction ([`Circuit::with_components`]) move it together, by the sum of their
    /// Hebbian terms `dw_d = sum_{i in d} mean_t r_t n_it` (the gradient of the Lagrangian in
    /// the shared column), so their columns stay identical.
    pub(crate) fn apply_dw(&mut self, eta_w: f64) -> Result<()> {
        if let Some(groups) = &self.groups {
            let n = self.n;
            let sum = shared_sums(groups, &self.scratch.dw, n);
            for (i, &gi) in groups.iter().enumerate() {
                for j in 0..n {
                    self.w[i * n + j] += eta_w * sum[gi * n + j];
                }
            }
        } else {
            for (w, d) in self.w.iter_mut().zip(&self.scratch.dw) {
                *w += eta_w * d;
            }
        }
        super::normalise_columns(&mut self.w, self.n)
    }

    /// Batch means of `c(theta_i, z_it)` from the last learning step (K), taken before its
    /// update.
    pub fn last_mean_c(&self) -> &[f64] {
        &self.scratch.mean_c
    }

    /// Batch means of `dc/dtheta(theta_i, z_it)` from the last learning step (K).
    pub fn last_mean_dc_dtheta(&self) -> &[f64] {
        &self.scratch.mean_dc
    }

    /// Batch mean of `r_t n_t^T` from the last step (N x K, column-major; only filled when
    /// `W` learned).
    pub fn last_mean_hebbian(&self) -> &[f64] {
        &self.scratch.dw
    }
}

/// Sums per shared direction of per-unit columns `x` (N x K): column `d` of the result
/// (N x D) is `sum_{i: groups[i] = d} x_i`.
pub(crate) fn shared_sums(groups: &[usize], x: &[f64], n: usize) -> Vec<f64> {
    let count = groups.iter().max().map_or(0, |m| m + 1);
    let mut sum = vec![0.0; count * n];
    for (i, &gi) in groups.iter().enumerate() {
        for j in 0..n {
            sum[gi * n + j] += x[i * n + j];
        }
    }
    sum
}
