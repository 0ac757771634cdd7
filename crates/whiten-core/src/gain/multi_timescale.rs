//! Paper B's network: slow synapses `W` (learned, columns of any norm) and fast gains `g`.
//!
//! Stimulus `s` of context covariance `C_c`, steady state `r = F s` with
//! `F = (alpha I + W G W^T)^{-1}` (`F^{-1}` is the "inverse whitening matrix": `W` is shared by
//! all contexts, `g` adapts to each), `z = W^T r`, `n = g o z`, `C_rr = F C_c F^T`.
//!
//! * Online step ([`MultiTimescaleNetwork::online_step`]), in the authors' order:
//!   `g <- g + eta_g mean_batch(z^2 - ||w_i||^2)`, then
//!   `dW = r n^T / B - W diag(g_new)` (`n` from the **old** gains) and `W <- W + eta_w dW`,
//!   then optionally unit columns.
//! * Expected forms ([`MultiTimescaleNetwork::expected_gradients`]):
//!   `dg = diag(W^T C_rr W) - ||w_i||^2`, `dW = (C_rr - I) W G`; both vanish at `C_rr = I`.
//! * Fast-gain limit ([`MultiTimescaleNetwork::fast_gain_step`]): `g = g_opt(W, C_c)` (the
//!   gain equation, see [`super::optimal_gains`]), then one expected `W` step.
//! * Error: `||C_rr - I||_2`.
//!
//! [`SyntheticContexts`] draws the authors' synthetic contexts
//! `C_c = (I + V Lambda_c V^T)^2`; [`signed_permutation_distance`] compares a learned `W` with `V`.
//!
//! [`SeparateSynapsesNetwork`] is the appendix's Algorithm 3: separate, non-negative
//! feedforward (`W_rn`, `K x N`) and feedback (`W_nr`, `N x K`) synapses, rectified gains.

use faer::{Mat, MatRef};
use rand::RngExt;
use rand_distr::StandardNormal;

use super::closed_form::optimal_gains;
use super::frame::{normalize_columns, normalize_columns_flat};
use super::kernel::{Lu, Workspace};
use super::measure::spectral_norm_error;
use super::network::{
    check_alpha, check_batch, check_eta, check_gains, check_square, projected_diag,
};
use super::solve::{Factor, inverse_whitening_matrix};
use crate::cov::{haar_orthogonal, symmetrise};
use crate::error::{CoreError, Result};

/// Squared column norms `||w_i||^2`.
fn column_norms_sq(w: MatRef<'_, f64>) -> Vec<f64> {
    (0..w.ncols())
        .map(|j| (0..w.nrows()).map(|i| w[(i, j)] * w[(i, j)]).sum())
        .collect()
}

/// Refuses an empty, non-finite `W` or one with a zero column.
fn check_synapses(w: MatRef<'_, f64>) -> Result<()> {
    if w.nrows() == 0 || w.ncols() == 0 {
        return Err(CoreError::InvalidParameter {
            name: if w.nrows() == 0 { "N" } else { "K" },
            value: 0.0,
            reason: "W needs at least one row and one column",
        });
    }
    if !w.is_all_finite() {
        return Err(CoreError::NonFinite { what: "W" });
    }
    for (index, &nsq) in column_norms_sq(w).iter().enumerate() {
        if nsq == 0.0 {
            return Err(CoreError::BadColumn {
                what: "W",
                index,
                norm: 0.0,
                reason: "a zero column of synapses never learns",
            });
        }
    }
    Ok(())
}

/// The expected (offline) gradients of paper B at the current `(W, g)`.
#[derive(Debug, Clone)]
pub struct ExpectedGradients {
    /// `dg = diag(W^T C_rr W) - ||w_i||^2`.
    pub dg: Vec<f64>,
    /// `dW = (C_rr - I) W G`.
    pub dw: Mat<f64>,
    /// `C_rr = F C F^T`.
    pub crr: Mat<f64>,
}

/// Paper B's multi-timescale network (slow synapses `W`, fast gains `g`).
#[derive(Debug, Clone)]
pub struct MultiTimescaleNetwork {
    w: Mat<f64>,
    g: Vec<f64>,
    alpha: f64,
    unit_columns: bool,
    /// Buffers of the online step.
    work: Workspace,
}

impl MultiTimescaleNetwork {
    /// A network with synapses `w0` (`N x K`, finite, no zero column) and gains `g0` (length
    /// `K`), `alpha = 1`, no column renormalisation.
    pub fn new(w0: Mat<f64>, g0: Vec<f64>) -> Result<Self> {
        check_synapses(w0.as_ref())?;
        check_gains(&g0, w0.ncols())?;
        Ok(Self {
            w: w0,
            g: g0,
            alpha: 1.0,
            unit_columns: false,
            work: Default::default(),
        })
    }

    /// Sets the leak `alpha` (non-negative, finite).
    pub fn with_alpha(mut self, alpha: f64) -> Result<Self> {
        check_alpha(alpha)?;
        self.alpha = alpha;
        Ok(self)
    }

    /// Renormalises the columns of `W` to unit norm after every `W` update (the authors'
    /// `normalize_w`). Does not touch the current `W`.
    pub fn with_unit_columns(mut self, on: bool) -> Self {
        self.unit_columns = on;
        self
    }

    /// Primary neurons `N`.
    pub fn n(&self) -> usize {
        self.w.nrows()
    }

    /// Interneurons `K`.
    pub fn k(&self) -> usize {
        self.w.ncols()
    }

    /// The synapses `W`.
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

    /// Replaces the gains (length `K`, finite).
    pub fn set_gains(&mut self, g: Vec<f64>) -> Result<()> {
        check_gains(&g, self.k())?;
        self.g = g;
        Ok(())
    }

    /// `F^{-1} = alpha I + W diag(g) W^T`.
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

    /// Steady states `r = F s` for the columns of `s` (`N x B`).
    pub fn respond(&self, s: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_batch(s, self.n())?;
        Ok(self.factor()?.solve(s))
    }

    /// `C_rr = F C F^T`, symmetrised.
    pub fn output_covariance(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_square(c, self.n())?;
        Ok(self.factor()?.sandwich(c))
    }

    /// `||C_rr - I||_2` for context covariance `c`.
    pub fn whitening_error(&self, c: MatRef<'_, f64>) -> Result<f64> {
        spectral_norm_error(self.output_covariance(c)?.as_ref())
    }

    /// `W + eta_w dW`, renormalised if asked; `NonFinite` / `BadColumn` leave the state alone.
    fn updated_w(&self, eta_w: f64, dw: MatRef<'_, f64>) -> Result<Mat<f64>> {
        let w = Mat::from_fn(self.n(), self.k(), |i, j| {
            self.w[(i, j)] + eta_w * dw[(i, j)]
        });
        if !w.is_all_finite() {
            return Err(CoreError::NonFinite {
                what: "W after update",
            });
        }
        if self.unit_columns {
            normalize_columns(w.as_ref())
        } else {
            Ok(w)
        }
    }

    fn check_g(g: &[f64]) -> Result<()> {
        if g.iter().all(|v| v.is_finite()) {
            Ok(())
        } else {
            Err(CoreError::NonFinite {
                what: "g after update",
            })
        }
    }

    /// Online gain update only (`W` frozen, as in the authors' locked pre/post contexts);
    /// returns the gains' new values. See [`Self::online_step`].
    pub fn online_gain_step(&mut self, s: MatRef<'_, f64>, eta_g: f64) -> Result<Vec<f64>> {
        check_eta("eta_g", eta_g)?;
        let (_, g_new) = self.online_parts(s, eta_g)?;
        Self::check_g(&g_new)?;
        self.g = g_new.clone();
        Ok(g_new)
    }

    /// `r` and the updated gains of one online step; `z = W^T r` (`K x B`, column-major:
    /// `z[t K + i] = w_i^T r_t`) is left in `self.work.z` and `W` in `self.work.wv`.
    fn online_parts(&mut self, s: MatRef<'_, f64>, eta_g: f64) -> Result<(Mat<f64>, Vec<f64>)> {
        check_batch(s, self.n())?;
        let (n, k, b) = (self.n(), self.k(), s.ncols());
        let mut work = std::mem::take(&mut self.work);
        work.load_w(self.w.as_ref());
        let r = if work.factor(n, &self.g, self.alpha) {
            Ok(work.respond_and_project(s))
        } else {
            self.respond(s)
                .inspect(|r| work.project(self.w.as_ref(), r.as_ref()))
        };
        self.work = work;
        let r = r?;
        // g <- g + eta_g mean_batch(z^2 - ||w_i||^2)
        let mut g_new: Vec<f64> = self
            .work
            .wv
            .chunks_exact(n)
            .map(|wi| -wi.iter().map(|v| v * v).sum::<f64>())
            .collect();
        for zt in self.work.z.chunks_exact(k) {
            for (gi, &zi) in g_new.iter_mut().zip(zt) {
                *gi += zi * zi / b as f64;
            }
        }
        for (gi, &g) in g_new.iter_mut().zip(&self.g) {
            *gi = g + eta_g * *gi;
        }
        Ok((r, g_new))
    }

    /// One online step from the batch `s` (`N x B`), in the authors' order: `r`, `z = W^T r`
    /// and `n = g o z` from the current `(W, g)`; `g <- g + eta_g mean(z^2 - ||w_i||^2)`;
    /// `dW = r n^T / B - W diag(g_new)`; `W <- W + eta_w dW`; optional unit columns.
    /// Returns the responses `r`.
    pub fn online_step(&mut self, s: MatRef<'_, f64>, eta_g: f64, eta_w: f64) -> Result<Mat<f64>> {
        check_eta("eta_g", eta_g)?;
        check_eta("eta_w", eta_w)?;
        let (r, g_new) = self.online_parts(s, eta_g)?;
        Self::check_g(&g_new)?;
        let (n, k, b) = (self.n(), self.k(), s.ncols());
        // W + eta_w (r n^T / B - W diag(g_new)), n = g_old o z, into wv (W's copy).
        let work = &mut self.work;
        for (j, wj) in work.wv.chunks_exact_mut(n).enumerate() {
            for (i, w) in wj.iter_mut().enumerate() {
                let rn: f64 = (0..b)
                    .map(|t| r[(i, t)] * self.g[j] * work.z[t * k + j])
                    .sum();
                *w += eta_w * (rn / b as f64 - *w * g_new[j]);
            }
        }
        if work.wv.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite {
                what: "W after update",
            });
        }
        if self.unit_columns {
            normalize_columns_flat(&mut work.wv, n)?;
        }
        for (j, wj) in work.wv.chunks_exact(n).enumerate() {
            for (i, &v) in wj.iter().enumerate() {
                self.w[(i, j)] = v;
            }
        }
        self.g = g_new;
        Ok(r)
    }

    /// The expected gradients `dg = diag(W^T C_rr W) - ||w_i||^2` and `dW = (C_rr - I) W G`.
    pub fn expected_gradients(&self, c: MatRef<'_, f64>) -> Result<ExpectedGradients> {
        let crr = self.output_covariance(c)?;
        let wn = column_norms_sq(self.w.as_ref());
        let dg = projected_diag(self.w.as_ref(), crr.as_ref())
            .into_iter()
            .zip(wn)
            .map(|(v, n)| v - n)
            .collect();
        let dw = self.synaptic_gradient(crr.as_ref());
        Ok(ExpectedGradients { dg, dw, crr })
    }

    /// `(C_rr - I) W G` with the current gains.
    fn synaptic_gradient(&self, crr: MatRef<'_, f64>) -> Mat<f64> {
        let wg = Mat::from_fn(self.n(), self.k(), |i, j| self.w[(i, j)] * self.g[j]);
        let cwg = crr * &wg;
        Mat::from_fn(self.n(), self.k(), |i, j| cwg[(i, j)] - wg[(i, j)])
    }

    /// One offline joint step: both expected gradients at the current state, applied together
    /// (`g += eta_g dg`, `W += eta_w dW`, optional unit columns). Returns the pre-update `C_rr`.
    pub fn offline_step(&mut self, c: MatRef<'_, f64>, eta_g: f64, eta_w: f64) -> Result<Mat<f64>> {
        check_eta("eta_g", eta_g)?;
        check_eta("eta_w", eta_w)?;
        let ExpectedGradients { dg, dw, crr } = self.expected_gradients(c)?;
        let g_new: Vec<f64> = self.g.iter().zip(&dg).map(|(g, d)| g + eta_g * d).collect();
        Self::check_g(&g_new)?;
        let w_new = self.updated_w(eta_w, dw.as_ref())?;
        self.g = g_new;
        self.w = w_new;
        Ok(crr)
    }

    /// The fast-gain limit: `g = g_opt(W, C)` (min-norm solution of the gain equation with this
    /// network's `alpha`), then one expected step `W <- W + eta_w (C_rr - I) W G` at those gains.
    /// Returns the `C_rr` of the step (new gains, old `W`), whose error the authors record.
    pub fn fast_gain_step(&mut self, c: MatRef<'_, f64>, eta_w: f64) -> Result<Mat<f64>> {
        check_eta("eta_w", eta_w)?;
        check_square(c, self.n())?;
        let g_opt = optimal_gains(self.w.as_ref(), c, self.alpha)?;
        Self::check_g(&g_opt)?;
        let old = std::mem::replace(&mut self.g, g_opt);
        let step = self.output_covariance(c).and_then(|crr| {
            let dw = self.synaptic_gradient(crr.as_ref());
            Ok((self.updated_w(eta_w, dw.as_ref())?, crr))
        });
        match step {
            Ok((w_new, crr)) => {
                self.w = w_new;
                Ok(crr)
            }
            Err(e) => {
                self.g = old;
                Err(e)
            }
        }
    }
}

/// The synthetic contexts of paper B: `C_c = (I + V Lambda_c V^T)^2`, so that
/// `C_c^{1/2} - I = V Lambda_c V^T` exactly and `g_opt(V, C_c) = lambda_c` (for `alpha = 1`).
#[derive(Debug, Clone)]
pub struct SyntheticContexts {
    /// The generating basis `V` (`N x N`, unit columns).
    pub v: Mat<f64>,
    /// For `N = 2`, the angle `theta` (radians) with `v_1 = R(theta) v_0`.
    pub theta: Option<f64>,
    /// The diagonal `lambda_c` of each context.
    pub lambdas: Vec<Vec<f64>>,
    /// The covariances `C_c`.
    pub covariances: Vec<Mat<f64>>,
}

impl SyntheticContexts {
    /// Draws `V` and `n_contexts` contexts. For `N = 2`: `v_0` a random unit vector,
    /// `v_1 = R(theta) v_0` with `theta ~ U(40 deg, 80 deg)` (non-orthogonal, well conditioned);
    /// for other `N`, `V` Haar-random orthogonal. Each `lambda_j ~ U(0, max_lambda)` times a
    /// Bernoulli(1/2) mask, redrawing all-zero vectors (the authors' notebooks use
    /// `max_lambda = 4`).
    pub fn generate<R: rand::Rng + ?Sized>(
        n: usize,
        n_contexts: usize,
        max_lambda: f64,
        rng: &mut R,
    ) -> Result<Self> {
        if n == 0 {
            return Err(CoreError::InvalidParameter {
                name: "N",
                value: 0.0,
                reason: "contexts need at least one dimension",
            });
        }
        if !(max_lambda > 0.0 && max_lambda.is_finite()) {
            return Err(CoreError::InvalidParameter {
                name: "max_lambda",
                value: max_lambda,
                reason: "the largest context eigenvalue must be positive and finite",
            });
        }
        let (v, theta) = if n == 2 {
            let mut v0 = [0.0_f64; 2];
            while v0[0] == 0.0 && v0[1] == 0.0 {
                v0 = [rng.sample(StandardNormal), rng.sample(StandardNormal)];
            }
            let norm = v0[0].hypot(v0[1]);
            let (a, b) = (v0[0] / norm, v0[1] / norm);
            let theta = rng.random_range(40.0_f64.to_radians()..80.0_f64.to_radians());
            let (sn, cs) = theta.sin_cos();
            let v = Mat::from_fn(2, 2, |i, j| match (i, j) {
                (0, 0) => a,
                (1, 0) => b,
                (0, 1) => cs * a - sn * b,
                _ => sn * a + cs * b,
            });
            (v, Some(theta))
        } else {
            (haar_orthogonal(n, rng), None)
        };
        let mut lambdas = Vec::with_capacity(n_contexts);
        while lambdas.len() < n_contexts {
            let l: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..max_lambda)).collect();
            let mask: Vec<bool> = (0..n).map(|_| rng.random_range(0.0..1.0) < 0.5).collect();
            let l: Vec<f64> = l
                .into_iter()
                .zip(mask)
                .map(|(x, m)| if m { x } else { 0.0 })
                .collect();
            if l.iter().sum::<f64>() > 0.0 {
                lambdas.push(l);
            }
        }
        let covariances = lambdas
            .iter()
            .map(|l| Self::covariance(v.as_ref(), l))
            .collect();
        Ok(Self {
            v,
            theta,
            lambdas,
            covariances,
        })
    }

    /// `(I + V diag(lambda) V^T)^2`, symmetrised.
    pub fn covariance(v: MatRef<'_, f64>, lambda: &[f64]) -> Mat<f64> {
        let n = v.nrows();
        let vl = Mat::from_fn(n, v.ncols(), |i, j| v[(i, j)] * lambda[j]);
        let mut s = &vl * v.transpose();
        for i in 0..n {
            s[(i, i)] += 1.0;
        }
        let s = symmetrise(s.as_ref());
        symmetrise((&s * &s).as_ref())
    }
}

/// Largest `K` for which [`signed_permutation_distance`] enumerates the permutations.
pub const MAX_PERMUTATION_K: usize = 8;

/// `min_P ||W_hat P - V||_F` over signed permutation matrices `P`, with `W_hat` the columns of
/// `W` normalised (`V` is taken as given). Both `N x K` with `K <= MAX_PERMUTATION_K`.
///
/// The cost of pairing column `a` of `W_hat` with column `b` of `V` is
/// `min(||w_a - v_b||^2, ||w_a + v_b||^2)`, summed from the differences themselves (not as
/// `|w_a|^2 + |v_b|^2 - 2 |w_a . v_b|`, which cancels and resolves distances only down to about
/// `1e-8`), so distances are resolved down to rounding error (about `1e-16`).
pub fn signed_permutation_distance(w: MatRef<'_, f64>, v: MatRef<'_, f64>) -> Result<f64> {
    if (w.nrows(), w.ncols()) != (v.nrows(), v.ncols()) {
        return Err(CoreError::DimensionMismatch {
            what: "columns of W and V",
            expected: v.ncols(),
            got: w.ncols(),
        });
    }
    let k = w.ncols();
    if k > MAX_PERMUTATION_K {
        return Err(CoreError::InvalidParameter {
            name: "K",
            value: k as f64,
            reason: "signed_permutation_distance enumerates permutations, K <= 8",
        });
    }
    if !v.is_all_finite() {
        return Err(CoreError::NonFinite { what: "V" });
    }
    let wh = normalize_columns(w)?;
    // cost[a][b] = min over the sign of ||+-w_a - v_b||^2, summed over components.
    let cost: Vec<Vec<f64>> = (0..k)
        .map(|a| {
            (0..k)
                .map(|b| {
                    let d = |sign: f64| {
                        (0..w.nrows())
                            .map(|i| (sign * wh[(i, a)] - v[(i, b)]).powi(2))
                            .sum::<f64>()
                    };
                    d(1.0).min(d(-1.0))
                })
                .collect()
        })
        .collect();
    let mut perm: Vec<usize> = (0..k).collect();
    let mut best = f64::INFINITY;
    permute(&mut perm, 0, &mut |p| {
        let total: f64 = p.iter().enumerate().map(|(b, &a)| cost[a][b]).sum();
        best = best.min(total);
    });
    Ok(best.sqrt())
}

/// Calls `f` on every permutation of `p[start..]` (recursive swaps).
fn permute(p: &mut [usize], start: usize, f: &mut impl FnMut(&[usize])) {
    if start + 1 >= p.len() {
        f(p);
        return;
    }
    for i in start..p.len() {
        p.swap(start, i);
        permute(p, start + 1, f);
        p.swap(start, i);
    }
}

/// Rate of the auxiliary multiplier `m` of [`SeparateSynapsesNetwork`] relative to `eta_g`
/// (the authors' factor 5).
pub const MULTIPLIER_RATE_FACTOR: f64 = 5.0;

/// Paper B's appendix Algorithm 3: separate non-negative synapses `W_rn` (`K x N`, primaries to
/// interneurons) and `W_nr` (`N x K`, interneurons to primaries), rectified gains `g` and an
/// auxiliary multiplier `m >= 0` that pushes `diag(W_rn W_nr)` towards 1.
///
/// Steady state `r = (alpha I + W_nr G W_rn)^{-1} s` (a general, non-symmetric solve),
/// `z = W_rn r`, `n = g o z`. One online step, in the authors' order:
///
/// ```text
/// g   <- max(g + eta_g mean(z^2 - 1), 0)
/// m   <- max(m + 5 eta_g diag(W_rn W_nr - I), 0)
/// dW  = r n^T / B - W_nr diag(g + m)          (n from the old gains; g, m new)
/// W_nr <- unit columns of max(W_nr + eta_w dW, 0)
/// W_rn <- max(W_rn + eta_w dW^T, 0)
/// ```
#[derive(Debug, Clone)]
pub struct SeparateSynapsesNetwork {
    wrn: Mat<f64>,
    wnr: Mat<f64>,
    g: Vec<f64>,
    m: Vec<f64>,
    alpha: f64,
    /// Buffers of the online step.
    work: Alg3Work,
}

/// Reusable buffers of [`SeparateSynapsesNetwork::online_step`] (column-major matrices).
#[derive(Debug, Clone, Default)]
struct Alg3Work {
    /// `alpha I + W_nr diag(g) W_rn` (`N x N`).
    a: Vec<f64>,
    lu: Lu,
    /// `r` (`N x B`), `z = W_rn r` (`K x B`).
    r: Vec<f64>,
    z: Vec<f64>,
    g_new: Vec<f64>,
    m_new: Vec<f64>,
    /// `dW` (`N x K`), then the new `W_nr`; the new `W_rn` (`K x N`).
    wnr: Vec<f64>,
    wrn: Vec<f64>,
}

impl SeparateSynapsesNetwork {
    /// A network from `W_rn` (`K x N`), `W_nr` (`N x K`) and gains `g0` (length `K`), with
    /// `m = 0` and `alpha = 1`. Refuses mismatched shapes, NaN/inf and negative entries (the
    /// model keeps all of them non-negative), and a zero column of `W_nr`.
    pub fn new(wrn: Mat<f64>, wnr: Mat<f64>, g0: Vec<f64>) -> Result<Self> {
        check_synapses(wnr.as_ref())?;
        let (n, k) = (wnr.nrows(), wnr.ncols());
        for (what, expected, got) in [
            ("W_rn rows", k, wrn.nrows()),
            ("W_rn columns", n, wrn.ncols()),
        ] {
            if got != expected {
                return Err(CoreError::DimensionMismatch {
                    what,
                    expected,
                    got,
                });
            }
        }
        if !wrn.is_all_finite() {
            return Err(CoreError::NonFinite { what: "W_rn" });
        }
        check_gains(&g0, k)?;
        let negative =
            |m: MatRef<'_, f64>| (0..m.ncols()).any(|j| (0..m.nrows()).any(|i| m[(i, j)] < 0.0));
        if negative(wrn.as_ref()) || negative(wnr.as_ref()) || g0.iter().any(|&v| v < 0.0) {
            return Err(CoreError::InvalidParameter {
                name: "W_rn, W_nr, g0",
                value: f64::NAN,
                reason: "the synapses and gains of Algorithm 3 are non-negative",
            });
        }
        Ok(Self {
            wrn,
            wnr,
            g: g0,
            m: vec![0.0; k],
            alpha: 1.0,
            work: Alg3Work::default(),
        })
    }

    /// The authors' initialisation for `K = N`: `W_rn = max(I + 0.2 G_1, 0)`,
    /// `W_nr = max(I + 0.2 G_2, 0)` with standard normal `G_1`, `G_2` (redrawn in the
    /// probability-zero case of a zero column), and gains `g0`.
    pub fn random<R: rand::Rng + ?Sized>(n: usize, g0: Vec<f64>, rng: &mut R) -> Result<Self> {
        let draw = |rng: &mut R| {
            let g = crate::cov::gaussian_matrix(n, n, rng);
            Mat::from_fn(n, n, |i, j| {
                (if i == j { 1.0 } else { 0.0 } + 0.2 * g[(i, j)]).max(0.0)
            })
        };
        let wrn = draw(rng);
        let mut wnr = draw(rng);
        while column_norms_sq(wnr.as_ref()).contains(&0.0) {
            wnr = draw(rng);
        }
        Self::new(wrn, wnr, g0)
    }

    /// Sets the leak `alpha` (non-negative, finite).
    pub fn with_alpha(mut self, alpha: f64) -> Result<Self> {
        check_alpha(alpha)?;
        self.alpha = alpha;
        Ok(self)
    }

    /// Primary neurons `N`.
    pub fn n(&self) -> usize {
        self.wnr.nrows()
    }

    /// Interneurons `K`.
    pub fn k(&self) -> usize {
        self.wnr.ncols()
    }

    /// Feedforward synapses `W_rn` (`K x N`).
    pub fn wrn(&self) -> MatRef<'_, f64> {
        self.wrn.as_ref()
    }

    /// Feedback synapses `W_nr` (`N x K`).
    pub fn wnr(&self) -> MatRef<'_, f64> {
        self.wnr.as_ref()
    }

    /// The gains `g`.
    pub fn gains(&self) -> &[f64] {
        &self.g
    }

    /// The auxiliary multipliers `m`.
    pub fn multipliers(&self) -> &[f64] {
        &self.m
    }

    /// `||W_rn - W_nr^T||_F`, how far the two pathways are from symmetric.
    pub fn asymmetry(&self) -> f64 {
        let d = Mat::from_fn(self.k(), self.n(), |i, j| {
            self.wrn[(i, j)] - self.wnr[(j, i)]
        });
        d.norm_l2()
    }

    /// `alpha I + W_nr diag(g) W_rn` (not symmetric in general).
    pub fn inverse_response_matrix(&self) -> Mat<f64> {
        let n = self.n();
        let mut a = Vec::new();
        self.inverse_response_matrix_into(&mut a);
        Mat::from_fn(n, n, |i, j| a[j * n + i])
    }

    /// [`Self::inverse_response_matrix`] into a column-major buffer:
    /// `a_ij = alpha delta_ij + sum_c (W_nr)_ic (g_c (W_rn)_cj)`.
    fn inverse_response_matrix_into(&self, a: &mut Vec<f64>) {
        let (n, k) = (self.n(), self.k());
        a.clear();
        a.resize(n * n, 0.0);
        for j in 0..n {
            for c in 0..k {
                let t = self.g[c] * self.wrn[(c, j)];
                for i in 0..n {
                    a[j * n + i] += self.wnr[(i, c)] * t;
                }
            }
            a[j * n + j] += self.alpha;
        }
    }

    /// Bound on the norms of the terms of `alpha I + W_nr diag(g) W_rn` (for the singularity
    /// test).
    fn term_scale(&self) -> f64 {
        self.alpha
            + self.g.iter().map(|g| g.abs()).sum::<f64>()
                * self.wnr.norm_max()
                * self.wrn.norm_max()
                * self.k() as f64
    }

    fn factor(&self) -> Result<Factor> {
        let mut a = Vec::new();
        self.inverse_response_matrix_into(&mut a);
        self.general_factor(&a)
    }

    /// The general path's factor of `a` (`alpha I + W_nr diag(g) W_rn`, column-major), after
    /// its singular-value test.
    fn general_factor(&self, a: &[f64]) -> Result<Factor> {
        let n = self.n();
        Factor::general(
            Mat::from_fn(n, n, |i, j| a[j * n + i]).as_ref(),
            self.term_scale(),
            "alpha I + W_nr diag(g) W_rn",
        )
    }

    /// `r = (alpha I + W_nr G W_rn)^{-1} s` for the columns of `s`, column-major into `r`
    /// (`N x B`), with `a` and `lu` as buffers: the small certified LU of `super::kernel` when
    /// it applies, else the general path (its singular-value test and faer's LU) on the same
    /// matrix.
    fn solve_into(
        &self,
        s: MatRef<'_, f64>,
        a: &mut Vec<f64>,
        lu: &mut Lu,
        r: &mut Vec<f64>,
    ) -> Result<()> {
        let (n, b) = (self.n(), s.ncols());
        self.inverse_response_matrix_into(a);
        r.clear();
        if lu.certify(a, n, self.term_scale()) {
            for t in 0..b {
                let start = r.len();
                r.extend((0..n).map(|i| s[(i, t)]));
                lu.solve_col(&mut r[start..]);
            }
        } else {
            let x = self.general_factor(a)?.solve(s);
            let x = &x;
            r.extend((0..b).flat_map(|t| (0..n).map(move |i| x[(i, t)])));
        }
        Ok(())
    }

    /// Steady states `r = (alpha I + W_nr G W_rn)^{-1} s` for the columns of `s`: the small
    /// certified LU of `super::kernel` when it applies, else the general path (its singular
    /// value test and faer's LU).
    pub fn respond(&self, s: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_batch(s, self.n())?;
        let (mut a, mut lu, mut r) = (Vec::new(), Lu::default(), Vec::new());
        self.solve_into(s, &mut a, &mut lu, &mut r)?;
        let n = self.n();
        Ok(Mat::from_fn(n, s.ncols(), |i, t| r[t * n + i]))
    }

    /// `C_rr = F C F^T` with `F = (alpha I + W_nr G W_rn)^{-1}`, symmetrised.
    pub fn output_covariance(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_square(c, self.n())?;
        let f = self.factor()?;
        // F C, then F (F C)^T = F C^T F^T = F C F^T.
        let fc = f.solve(c);
        let out = f.solve(fc.transpose());
        Ok(symmetrise(out.as_ref()))
    }

    /// `||C_rr - I||_2` for context covariance `c`.
    pub fn whitening_error(&self, c: MatRef<'_, f64>) -> Result<f64> {
        spectral_norm_error(self.output_covariance(c)?.as_ref())
    }

    /// One online step from the batch `s` (`N x B`), see the type's docs. Returns `r`.
    /// A non-finite result, or a column of `W_nr` rectified to zero, leaves the state unchanged.
    pub fn online_step(&mut self, s: MatRef<'_, f64>, eta_g: f64, eta_w: f64) -> Result<Mat<f64>> {
        check_eta("eta_g", eta_g)?;
        check_eta("eta_w", eta_w)?;
        check_batch(s, self.n())?;
        let (n, k, b) = (self.n(), self.k(), s.ncols());
        let mut work = std::mem::take(&mut self.work);
        let step = self.step_into(&mut work, s, eta_g, eta_w);
        let out = step.map(|()| {
            // Commit: the new state was checked in full.
            for a in 0..n {
                for i in 0..k {
                    self.wnr[(a, i)] = work.wnr[i * n + a];
                    self.wrn[(i, a)] = work.wrn[a * k + i];
                }
            }
            self.g.copy_from_slice(&work.g_new);
            self.m.copy_from_slice(&work.m_new);
            Mat::from_fn(n, b, |a, t| work.r[t * n + a])
        });
        self.work = work;
        out
    }

    /// The online step into `work`, the state untouched: `r`, `z`, the new `g`, `m`, `W_nr`
    /// (unit columns) and `W_rn`.
    fn step_into(
        &self,
        work: &mut Alg3Work,
        s: MatRef<'_, f64>,
        eta_g: f64,
        eta_w: f64,
    ) -> Result<()> {
        let (n, k, b) = (self.n(), self.k(), s.ncols());
        // r = (alpha I + W_nr G W_rn)^{-1} s
        self.solve_into(s, &mut work.a, &mut work.lu, &mut work.r)?;
        // z = W_rn r
        work.z.clear();
        for t in 0..b {
            let rt = &work.r[t * n..(t + 1) * n];
            work.z
                .extend((0..k).map(|i| (0..n).map(|a| self.wrn[(i, a)] * rt[a]).sum::<f64>()));
        }
        // g <- max(g + eta_g mean(z^2 - 1), 0)
        work.g_new.clear();
        work.g_new.extend((0..k).map(|i| {
            let mean = (0..b).map(|t| work.z[t * k + i].powi(2)).sum::<f64>() / b as f64;
            (self.g[i] + eta_g * (mean - 1.0)).max(0.0)
        }));
        // m <- max(m + 5 eta_g diag(W_rn W_nr - I), 0)
        work.m_new.clear();
        work.m_new.extend((0..k).map(|i| {
            let d: f64 = (0..n).map(|a| self.wrn[(i, a)] * self.wnr[(a, i)]).sum();
            (self.m[i] + MULTIPLIER_RATE_FACTOR * eta_g * (d - 1.0)).max(0.0)
        }));
        // dW = r n^T / B - W_nr diag(g_new + m_new), n = g_old o z; then the rectified updates.
        work.wnr.clear();
        work.wnr.resize(n * k, 0.0);
        work.wrn.clear();
        work.wrn.resize(k * n, 0.0);
        for i in 0..k {
            for a in 0..n {
                let rn: f64 = (0..b)
                    .map(|t| work.r[t * n + a] * (self.g[i] * work.z[t * k + i]))
                    .sum();
                let dw = rn / b as f64 - self.wnr[(a, i)] * (work.g_new[i] + work.m_new[i]);
                work.wnr[i * n + a] = (self.wnr[(a, i)] + eta_w * dw).max(0.0);
                work.wrn[a * k + i] = (self.wrn[(i, a)] + eta_w * dw).max(0.0);
            }
        }
        let finite = work.g_new.iter().chain(&work.m_new).all(|v| v.is_finite())
            && work.wnr.iter().chain(&work.wrn).all(|v| v.is_finite());
        if !finite {
            return Err(CoreError::NonFinite {
                what: "Algorithm 3 state after update",
            });
        }
        // Unit columns of W_nr (a column rectified to zero is refused).
        normalize_columns_flat(&mut work.wnr, n)
    }
}
