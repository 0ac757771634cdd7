//! Paper 1's linear whitening networks.
//!
//! * [`DirectNetwork`] (Algorithm 1): a symmetric recurrent matrix `M`, lateral weights `I - M`.
//! * [`InterneuronNetwork`] (Algorithm 2): `M = W W^T` through `k >= n` interneurons, `W` is
//!   `n x k` with full row rank.
//!
//! Both share the [`WhiteningNetwork`] trait (object safe: `Box<dyn WhiteningNetwork + Send>`).
//! Samples are the COLUMNS of an `n x T` matrix. The fast neural dynamics are replaced by their
//! fixed points `y = M^{-1} x`, computed by Cholesky solves (never an explicit inverse); see
//! [`crate::dynamics`] for the explicit simulation that settles on them.
//!
//! Every learning step refuses a learning rate `eta <= 0` or non-finite
//! (`InvalidLearningRate`), and returns `NonFinite` if the updated matrix has a NaN/inf, in
//! which case the network is left unchanged.

use faer::linalg::solvers::Llt;
use faer::prelude::*;
use faer::{Mat, MatRef, Side};

use crate::cov::{self, check_spd, random_spd, sample_covariance, symmetrise};
use crate::error::{CoreError, Result};

/// Relative rank tolerance for `W`: `W` counts as rank deficient when
/// `sigma_min(W) <= RANK_RTOL * sigma_max(W)`. Then `M = W W^T` has condition number above
/// `1 / RANK_RTOL^2 = 1e14`, at the edge of what a Cholesky factorisation in f64 resolves.
pub const RANK_RTOL: f64 = 1e-7;

/// A linear whitening network: responds to inputs at the fixed point of its neural dynamics
/// and learns its recurrent weights so that the output covariance becomes the identity.
///
/// Samples are the columns of `n x T` matrices. Object safe.
pub trait WhiteningNetwork {
    /// Number of primary neurons `n`.
    fn n(&self) -> usize;

    /// The effective recurrent matrix: `M` (direct) or `M = W W^T` (interneurons), symmetric.
    fn recurrent(&self) -> Mat<f64>;

    /// The learned state: `M` (n x n, direct) or `W` (n x k, interneurons).
    fn state(&self) -> MatRef<'_, f64>;

    /// Fixed points `y = M^{-1} x` of the neural dynamics for each column of `x` (`n x T`),
    /// by a Cholesky solve. `NotPositiveDefinite` if `M` is not positive definite,
    /// `DimensionMismatch` if `x` does not have `n` rows.
    fn respond(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>>;

    /// Output covariance for input covariance `C`: `C_yy = M^{-1} C M^{-1}`, by two Cholesky
    /// solves, exactly symmetrised.
    fn output_covariance(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>>;

    /// One online update from the samples in the columns of `x`: one column is the paper's
    /// single-sample update; several columns make a mini-batch whose update is the mean of the
    /// single-sample updates of the current network (all computed before any change).
    fn online_step(&mut self, x: MatRef<'_, f64>, eta: f64) -> Result<()>;

    /// One offline (batch) update with the exact input covariance `C`.
    fn offline_step(&mut self, c: MatRef<'_, f64>, eta: f64) -> Result<()>;

    /// Time derivative of the state (`dM/dt` or `dW/dt`) under the gradient flow with input
    /// covariance `C`; the offline step is the forward-Euler step of this flow with `dt = eta`.
    fn flow(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>>;

    /// `"direct"` or `"interneuron"`.
    fn label(&self) -> &'static str;
}

/// Refuses a learning rate that is not positive and finite.
fn check_eta(eta: f64) -> Result<()> {
    if eta > 0.0 && eta.is_finite() {
        Ok(())
    } else {
        Err(CoreError::InvalidLearningRate {
            name: "eta",
            value: eta,
        })
    }
}

/// Refuses a scale `c` (of an initialisation) that is not positive and finite.
fn check_scale(c: f64) -> Result<()> {
    if c > 0.0 && c.is_finite() {
        Ok(())
    } else {
        Err(CoreError::InvalidParameter {
            name: "c",
            value: c,
            reason: "the initialisation scale must be positive and finite",
        })
    }
}

/// Refuses `n == 0`.
fn check_n(n: usize) -> Result<()> {
    if n == 0 {
        Err(CoreError::InvalidParameter {
            name: "n",
            value: 0.0,
            reason: "a network needs at least one neuron",
        })
    } else {
        Ok(())
    }
}

fn check_rows(x: MatRef<'_, f64>, n: usize, what: &'static str) -> Result<()> {
    if x.nrows() == n {
        Ok(())
    } else {
        Err(CoreError::DimensionMismatch {
            what,
            expected: n,
            got: x.nrows(),
        })
    }
}

/// Checks that `C` is `n x n`.
fn check_cov_shape(c: MatRef<'_, f64>, n: usize) -> Result<()> {
    check_rows(c, n, "C rows")?;
    if c.ncols() == n {
        Ok(())
    } else {
        Err(CoreError::DimensionMismatch {
            what: "C columns",
            expected: n,
            got: c.ncols(),
        })
    }
}

/// Cholesky factor of a recurrent matrix `M` (`what` names it in the error); on failure reports
/// its smallest eigenvalue.
fn factor(m: MatRef<'_, f64>, what: &'static str) -> Result<Llt<f64>> {
    if !m.is_all_finite() {
        return Err(CoreError::NonFinite { what });
    }
    m.llt(Side::Lower).map_err(|_| {
        let min_eigenvalue = m
            .self_adjoint_eigenvalues(Side::Lower)
            .ok()
            .and_then(|v| v.first().copied())
            .unwrap_or(f64::NAN);
        CoreError::NotPositiveDefinite {
            what,
            min_eigenvalue,
        }
    })
}

/// `C_yy = M^{-1} C M^{-1}` from the Cholesky factor of `M`, exactly symmetrised.
fn cyy_from_factor(llt: &Llt<f64>, c: MatRef<'_, f64>) -> Mat<f64> {
    // A = M^{-1} C, then M^{-1} A^T = M^{-1} C M^{-1} (C and M symmetric).
    let a = llt.solve(c);
    let b = llt.solve(a.transpose());
    symmetrise(b.as_ref())
}

/// `C_yy - I`, the common factor of both offline updates and flows.
fn cyy_minus_identity(llt: &Llt<f64>, c: MatRef<'_, f64>) -> Mat<f64> {
    let mut d = cyy_from_factor(llt, c);
    for i in 0..d.nrows() {
        d[(i, i)] -= 1.0;
    }
    d
}

/// Fails with `NonFinite` if `a` has a NaN or an infinity.
fn check_finite(a: MatRef<'_, f64>, what: &'static str) -> Result<()> {
    if a.is_all_finite() {
        Ok(())
    } else {
        Err(CoreError::NonFinite { what })
    }
}

/// Network 1: direct recurrent connections (Algorithm 1).
///
/// Neural dynamics `dy/dgamma = x - M y`, fixed point `y = M^{-1} x`.
/// Online learning `M <- M + eta (y y^T - I_n)`, offline `M <- M + eta (C_yy - I_n)`,
/// flow `dM/dt = M^{-1} C M^{-1} - I`, optimum `M* = C^{1/2}`.
#[derive(Debug, Clone)]
pub struct DirectNetwork {
    m: Mat<f64>,
}

impl DirectNetwork {
    /// A network with `M = m0`, which must be square, finite, symmetric (to a relative
    /// tolerance, [`cov::SYM_RTOL`]; it is then stored exactly symmetrised) and positive definite.
    pub fn new(m0: Mat<f64>) -> Result<Self> {
        check_n(m0.nrows())?;
        check_spd(m0.as_ref(), "M_0")?;
        Ok(Self {
            m: symmetrise(m0.as_ref()),
        })
    }

    /// Commuting initialisation `M_0 = c I_n` (`c > 0`).
    pub fn scaled_identity(n: usize, c: f64) -> Result<Self> {
        check_n(n)?;
        check_scale(c)?;
        Self::new(Mat::from_fn(n, n, |i, j| if i == j { c } else { 0.0 }))
    }

    /// Generic initialisation `M_0 = c B`, `B` = [`random_spd`] (Haar eigenvectors, eigenvalues
    /// in `[0.5, 1]` with the largest exactly 1).
    pub fn generic<R: rand::Rng + ?Sized>(n: usize, c: f64, rng: &mut R) -> Result<Self> {
        check_n(n)?;
        check_scale(c)?;
        let b = random_spd(n, rng);
        Self::new(Mat::from_fn(n, n, |i, j| c * b[(i, j)]))
    }

    /// The direct network with the same recurrent matrix as `net`: `M_0 = W W^T` (to compare
    /// the two networks from equal `M_0`).
    pub fn from_interneuron(net: &InterneuronNetwork) -> Result<Self> {
        Self::new(net.recurrent())
    }

    /// The recurrent matrix `M`.
    pub fn m(&self) -> MatRef<'_, f64> {
        self.m.as_ref()
    }

    fn factor(&self) -> Result<Llt<f64>> {
        factor(self.m.as_ref(), "M")
    }

    /// Replaces `M` by `M + eta D` (`D` symmetric) unless the result is not finite.
    fn apply(&mut self, d: MatRef<'_, f64>, eta: f64) -> Result<()> {
        let n = self.n();
        let updated = Mat::from_fn(n, n, |i, j| self.m[(i, j)] + eta * d[(i, j)]);
        check_finite(updated.as_ref(), "M after update")?;
        self.m = updated;
        Ok(())
    }
}

impl WhiteningNetwork for DirectNetwork {
    fn n(&self) -> usize {
        self.m.nrows()
    }

    fn recurrent(&self) -> Mat<f64> {
        self.m.clone()
    }

    fn state(&self) -> MatRef<'_, f64> {
        self.m.as_ref()
    }

    fn respond(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_rows(x, self.n(), "x rows")?;
        // y = M^{-1} x
        Ok(self.factor()?.solve(x))
    }

    fn output_covariance(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_cov_shape(c, self.n())?;
        Ok(cyy_from_factor(&self.factor()?, c))
    }

    fn online_step(&mut self, x: MatRef<'_, f64>, eta: f64) -> Result<()> {
        check_eta(eta)?;
        check_batch(x)?;
        let y = self.respond(x)?;
        // M <- M + eta (mean_t y_t y_t^T - I)
        let mut d = sample_covariance(y.as_ref());
        for i in 0..d.nrows() {
            d[(i, i)] -= 1.0;
        }
        self.apply(d.as_ref(), eta)
    }

    fn offline_step(&mut self, c: MatRef<'_, f64>, eta: f64) -> Result<()> {
        check_eta(eta)?;
        // M <- M + eta (C_yy - I)
        let d = self.flow(c)?;
        self.apply(d.as_ref(), eta)
    }

    fn flow(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_cov_shape(c, self.n())?;
        // dM/dt = M^{-1} C M^{-1} - I
        Ok(cyy_minus_identity(&self.factor()?, c))
    }

    fn label(&self) -> &'static str {
        "direct"
    }
}

/// Refuses an empty batch.
fn check_batch(x: MatRef<'_, f64>) -> Result<()> {
    if x.ncols() == 0 {
        Err(CoreError::DimensionMismatch {
            what: "number of samples in the batch",
            expected: 1,
            got: 0,
        })
    } else {
        Ok(())
    }
}

/// Network 2: interneurons (Algorithm 2), `M = W W^T` with `W` of size `n x k`, `k >= n`.
///
/// Neural dynamics `dy/dgamma = x - W n`, `dn/dgamma = W^T y - n`; fixed point `n = W^T y`,
/// `y = (W W^T)^{-1} x`. Online learning `W <- W + eta (y n^T - W)`, offline
/// `W <- W + eta (C_yy - I_n) W`, flow `dW/dt = M^{-1} C M^{-1} W - W`; optima: any `W` with
/// `W W^T = C^{1/2}`.
#[derive(Debug, Clone)]
pub struct InterneuronNetwork {
    w: Mat<f64>,
}

impl InterneuronNetwork {
    /// A network with weights `w0` (`n x k`): refuses `k < n` (`TooFewInterneurons`), NaN/inf
    /// (`NonFinite`) and a `W` without full row rank (`RankDeficient`, when
    /// `sigma_min <= RANK_RTOL * sigma_max`, see [`RANK_RTOL`]).
    pub fn new(w0: Mat<f64>) -> Result<Self> {
        let (n, k) = (w0.nrows(), w0.ncols());
        check_n(n)?;
        if k < n {
            return Err(CoreError::TooFewInterneurons { n, k });
        }
        check_finite(w0.as_ref(), "W_0")?;
        let sv = w0
            .singular_values()
            .map_err(|_| CoreError::DecompositionFailed { what: "SVD of W_0" })?;
        // Descending order: sv[0] = sigma_max, sv[n - 1] = sigma_min.
        let (smax, smin) = (sv[0], sv[n - 1]);
        if smin <= RANK_RTOL * smax {
            return Err(CoreError::RankDeficient {
                n,
                k,
                sigma_min: smin,
            });
        }
        Ok(Self { w: w0 })
    }

    /// Commuting initialisation `W_0 = sqrt(c) [I_n | 0]` (`n x k`), so `M_0 = c I_n`.
    pub fn commuting(n: usize, k: usize, c: f64) -> Result<Self> {
        check_n(n)?;
        check_scale(c)?;
        if k < n {
            return Err(CoreError::TooFewInterneurons { n, k });
        }
        let s = c.sqrt();
        Self::new(Mat::from_fn(n, k, |i, j| if i == j { s } else { 0.0 }))
    }

    /// Generic initialisation `W_0 = sqrt(c) G / sqrt(k)`, `G` with i.i.d. standard normal
    /// entries (so `E[W_0 W_0^T] = c I_n`).
    pub fn generic<R: rand::Rng + ?Sized>(n: usize, k: usize, c: f64, rng: &mut R) -> Result<Self> {
        check_n(n)?;
        check_scale(c)?;
        if k < n {
            return Err(CoreError::TooFewInterneurons { n, k });
        }
        let g = cov::gaussian_matrix(n, k, rng);
        let s = (c / k as f64).sqrt();
        Self::new(Mat::from_fn(n, k, |i, j| s * g[(i, j)]))
    }

    /// The weights `W` (`n x k`).
    pub fn w(&self) -> MatRef<'_, f64> {
        self.w.as_ref()
    }

    /// Number of interneurons `k`.
    pub fn k(&self) -> usize {
        self.w.ncols()
    }

    /// Interneuron responses `n = W^T y` for each column of `y` (`n x T` -> `k x T`).
    ///
    /// # Panics
    /// If `y` does not have `n` rows.
    pub fn interneurons(&self, y: MatRef<'_, f64>) -> Mat<f64> {
        assert_eq!(y.nrows(), self.w.nrows(), "y must have n rows");
        self.w.transpose() * y
    }

    fn factor(&self) -> Result<Llt<f64>> {
        factor(self.recurrent().as_ref(), "M = W W^T")
    }

    /// Replaces `W` by `updated` unless it is not finite.
    fn replace(&mut self, updated: Mat<f64>) -> Result<()> {
        check_finite(updated.as_ref(), "W after update")?;
        self.w = updated;
        Ok(())
    }
}

impl WhiteningNetwork for InterneuronNetwork {
    fn n(&self) -> usize {
        self.w.nrows()
    }

    fn recurrent(&self) -> Mat<f64> {
        // M = W W^T, exactly symmetrised.
        let m = &self.w * self.w.transpose();
        symmetrise(m.as_ref())
    }

    fn state(&self) -> MatRef<'_, f64> {
        self.w.as_ref()
    }

    fn respond(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_rows(x, self.n(), "x rows")?;
        // y = (W W^T)^{-1} x
        Ok(self.factor()?.solve(x))
    }

    fn output_covariance(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_cov_shape(c, self.n())?;
        Ok(cyy_from_factor(&self.factor()?, c))
    }

    fn online_step(&mut self, x: MatRef<'_, f64>, eta: f64) -> Result<()> {
        check_eta(eta)?;
        check_batch(x)?;
        let y = self.respond(x)?;
        let nn = self.interneurons(y.as_ref());
        // W <- W + eta (mean_t y_t n_t^T - W)
        let t = x.ncols() as f64;
        let ynt = &y * nn.transpose();
        let (n, k) = (self.n(), self.k());
        let updated = Mat::from_fn(n, k, |i, j| {
            self.w[(i, j)] + eta * (ynt[(i, j)] / t - self.w[(i, j)])
        });
        self.replace(updated)
    }

    fn offline_step(&mut self, c: MatRef<'_, f64>, eta: f64) -> Result<()> {
        check_eta(eta)?;
        // W <- W + eta (C_yy - I) W
        let d = self.flow(c)?;
        let (n, k) = (self.n(), self.k());
        let updated = Mat::from_fn(n, k, |i, j| self.w[(i, j)] + eta * d[(i, j)]);
        self.replace(updated)
    }

    fn flow(&self, c: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_cov_shape(c, self.n())?;
        // dW/dt = (M^{-1} C M^{-1} - I) W,  M = W W^T
        let d = cyy_minus_identity(&self.factor()?, c);
        Ok(&d * &self.w)
    }

    fn label(&self) -> &'static str {
        "interneuron"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cov::{
        GaussianSource, covariance_with_spectrum, haar_orthogonal, linspace, sym_eigen, sym_sqrt,
    };
    use crate::metrics::{op_norm, op_norm_sym, whitening_error};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn max_abs_diff(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
        assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
        let mut m = 0.0_f64;
        for j in 0..a.ncols() {
            for i in 0..a.nrows() {
                m = m.max((a[(i, j)] - b[(i, j)]).abs());
            }
        }
        m
    }

    fn sub(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
        Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] - b[(i, j)])
    }

    /// Explicit inverse through the eigendecomposition: an independent route to M^{-1}.
    fn inv_by_eigen(m: MatRef<'_, f64>) -> Mat<f64> {
        sym_eigen(m).unwrap().map(|v| 1.0 / v)
    }

    fn random_c(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
        let q = haar_orthogonal(n, rng);
        covariance_with_spectrum(q.as_ref(), &linspace(0.5, 3.0, n))
    }

    fn both(n: usize, k: usize, rng: &mut ChaCha8Rng) -> (DirectNetwork, InterneuronNetwork) {
        let inet = InterneuronNetwork::generic(n, k, 2.0, rng).unwrap();
        let dnet = DirectNetwork::from_interneuron(&inet).unwrap();
        (dnet, inet)
    }

    #[test]
    fn respond_is_the_fixed_point() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let (dnet, inet) = both(4, 7, &mut rng);
        let x = cov::gaussian_matrix(4, 9, &mut rng);
        for net in [&dnet as &dyn WhiteningNetwork, &inet] {
            let y = net.respond(x.as_ref()).unwrap();
            // Residual of the fixed point x - M y = 0.
            let r = sub(x.as_ref(), (net.recurrent() * &y).as_ref());
            assert!(
                r.norm_max() < 1e-12,
                "{}: residual {}",
                net.label(),
                r.norm_max()
            );
        }
        // Interneuron fixed point: x = W n with n = W^T y.
        let y = inet.respond(x.as_ref()).unwrap();
        let nn = inet.interneurons(y.as_ref());
        assert_eq!((nn.nrows(), nn.ncols()), (7, 9));
        let r = sub(x.as_ref(), (&inet.w * &nn).as_ref());
        assert!(r.norm_max() < 1e-12);
        // Same M, same responses.
        let yd = dnet.respond(x.as_ref()).unwrap();
        assert!(max_abs_diff(y.as_ref(), yd.as_ref()) < 1e-12);
    }

    #[test]
    fn output_covariance_matches_explicit_inverse() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let c = random_c(5, &mut rng);
        let (dnet, inet) = both(5, 5, &mut rng);
        for net in [&dnet as &dyn WhiteningNetwork, &inet] {
            let cyy = net.output_covariance(c.as_ref()).unwrap();
            let minv = inv_by_eigen(net.recurrent().as_ref());
            let want = &minv * &c * &minv;
            let err = max_abs_diff(cyy.as_ref(), want.as_ref());
            assert!(
                err < 1e-12 * want.norm_max().max(1.0),
                "{}: {err}",
                net.label()
            );
            assert_eq!(cyy.transpose().to_owned(), cyy);
        }
    }

    /// Offline Algorithms 1 and 2 converge to C^{1/2} (M -> C^{1/2}, W W^T -> C^{1/2}).
    #[test]
    fn offline_converges_to_sqrt_c() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let n = 4;
        let c = random_c(n, &mut rng);
        let c_sqrt = sym_sqrt(c.as_ref()).unwrap();
        let mut dnet = DirectNetwork::generic(n, 3.0, &mut rng).unwrap();
        let mut inet = InterneuronNetwork::generic(n, 6, 3.0, &mut rng).unwrap();
        // eta = 0.1 is below both stability limits (sqrt(lambda_min) = 0.71 and 1/2).
        for _ in 0..600 {
            dnet.offline_step(c.as_ref(), 0.1).unwrap();
            inet.offline_step(c.as_ref(), 0.1).unwrap();
        }
        for net in [&dnet as &dyn WhiteningNetwork, &inet] {
            let e = op_norm_sym(sub(net.recurrent().as_ref(), c_sqrt.as_ref()).as_ref());
            assert!(e < 1e-9, "{}: ||M - C^1/2|| = {e}", net.label());
            let w = whitening_error(net, c.as_ref()).unwrap();
            assert!(w < 1e-9, "{}: whitening error {w}", net.label());
        }
    }

    /// Iterations of the offline algorithms until ||C_yy - I||_op < 1e-2 (count 0 if the
    /// initial network is already below), or None after `max` updates.
    fn iterations_to_threshold(
        net: &mut dyn WhiteningNetwork,
        c: MatRef<'_, f64>,
        eta: f64,
        max: usize,
    ) -> Option<usize> {
        for k in 0..=max {
            if whitening_error(net, c).unwrap() < 1e-2 {
                return Some(k);
            }
            net.offline_step(c, eta).unwrap();
        }
        None
    }

    /// The spec's reference numbers (section 5): n = k = 5, C = diag(linspace(0.5, 2, 5)),
    /// eta = 0.1, threshold 1e-2, commuting initialisations.
    #[test]
    fn spec_offline_iteration_counts() {
        let n = 5;
        let lambda = linspace(0.5, 2.0, n);
        let c = Mat::from_fn(n, n, |i, j| if i == j { lambda[i] } else { 0.0 });
        let expect = [(1.0, 24, 10), (10.0, 124, 22), (100.0, 1026, 33)];
        for (scale, want_d, want_i) in expect {
            let mut dnet = DirectNetwork::scaled_identity(n, scale).unwrap();
            let mut inet = InterneuronNetwork::commuting(n, n, scale).unwrap();
            let kd = iterations_to_threshold(&mut dnet, c.as_ref(), 0.1, 5000);
            let ki = iterations_to_threshold(&mut inet, c.as_ref(), 0.1, 5000);
            assert_eq!(kd, Some(want_d), "direct, c = {scale}");
            assert_eq!(ki, Some(want_i), "interneurons, c = {scale}");
        }
    }

    /// The offline step is the forward-Euler step of the flow, and the flows agree with an
    /// independent computation; the flow induced on M = W W^T is M^{-1} C + C M^{-1} - 2 M.
    #[test]
    fn flows_match_offline_steps() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let n = 4;
        let c = random_c(n, &mut rng);
        // k = 6n keeps W W^T well conditioned, so the O(eta) finite-difference error is small.
        let (dnet, inet) = both(n, 24, &mut rng);
        for net in [&dnet as &dyn WhiteningNetwork, &inet] {
            let f = net.flow(c.as_ref()).unwrap();
            for eta in [1e-3, 1e-6] {
                let mut stepped: Box<dyn WhiteningNetwork> = if net.label() == "direct" {
                    Box::new(dnet.clone())
                } else {
                    Box::new(inet.clone())
                };
                stepped.offline_step(c.as_ref(), eta).unwrap();
                let fd = Mat::from_fn(f.nrows(), f.ncols(), |i, j| {
                    (stepped.state()[(i, j)] - net.state()[(i, j)]) / eta
                });
                // Rounding of the difference: ~ eps * |state| / eta.
                let tol = 1e-13 / eta * net.state().norm_max().max(1.0) + 1e-12;
                let err = max_abs_diff(fd.as_ref(), f.as_ref());
                assert!(err < tol, "{} eta = {eta}: {err} (tol {tol})", net.label());
            }
        }
        // Independent: dM/dt = M^{-1} C M^{-1} - I by explicit inverse.
        let minv = inv_by_eigen(dnet.m());
        let mut want = &minv * &c * &minv;
        for i in 0..n {
            want[(i, i)] -= 1.0;
        }
        let got = dnet.flow(c.as_ref()).unwrap();
        let err = max_abs_diff(got.as_ref(), want.as_ref());
        // Relative to the size of M^{-1} C M^{-1} (M here has eigenvalues down to ~0.1).
        let scale = want.norm_max().max(1.0);
        assert!(
            err < 1e-12 * scale,
            "direct flow vs explicit inverse: {err} (scale {scale})"
        );
        // Induced flow on M = W W^T: finite difference with eta = 1e-6, error O(eta |dW|^2).
        let m0 = inet.recurrent();
        let minv = inv_by_eigen(m0.as_ref());
        let mc = &minv * &c;
        let cm = &c * &minv;
        let want = Mat::from_fn(n, n, |i, j| mc[(i, j)] + cm[(i, j)] - 2.0 * m0[(i, j)]);
        let eta = 1e-6;
        let mut stepped = inet.clone();
        stepped.offline_step(c.as_ref(), eta).unwrap();
        let fd = Mat::from_fn(n, n, |i, j| {
            (stepped.recurrent()[(i, j)] - m0[(i, j)]) / eta
        });
        let err = max_abs_diff(fd.as_ref(), want.as_ref());
        assert!(err < 1e-4 * want.norm_max(), "induced flow: {err}");
    }

    /// Lyapunov function g(M) = -Tr(M^{-1} C + M) does not decrease along small offline steps.
    #[test]
    fn lyapunov_non_decreasing() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        let n = 3;
        let c = random_c(n, &mut rng);
        let g = |m: MatRef<'_, f64>| {
            let mic = inv_by_eigen(m) * &c;
            -(0..n).map(|i| mic[(i, i)] + m[(i, i)]).sum::<f64>()
        };
        let (mut dnet, mut inet) = both(n, 5, &mut rng);
        let (mut gd, mut gi) = (g(dnet.m()), g(inet.recurrent().as_ref()));
        for _ in 0..200 {
            dnet.offline_step(c.as_ref(), 0.01).unwrap();
            inet.offline_step(c.as_ref(), 0.01).unwrap();
            let (nd, ni) = (g(dnet.m()), g(inet.recurrent().as_ref()));
            assert!(nd >= gd - 1e-12 && ni >= gi - 1e-12, "g decreased");
            (gd, gi) = (nd, ni);
        }
    }

    /// A mini-batch whose sample covariance is exactly C gives exactly the offline step.
    #[test]
    fn online_batch_with_exact_covariance_is_offline() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        let n = 3;
        let c = random_c(n, &mut rng);
        // Z Z^T / T = I exactly (ZCA of Gaussian draws), so X = C^{1/2} Z has X X^T / T = C.
        let z = cov::zca(cov::gaussian_matrix(n, 50, &mut rng).as_ref()).unwrap();
        let x = sym_sqrt(c.as_ref()).unwrap() * &z;
        let (dnet, inet) = both(n, 4, &mut rng);
        let (mut d1, mut d2) = (dnet.clone(), dnet);
        d1.online_step(x.as_ref(), 0.05).unwrap();
        d2.offline_step(c.as_ref(), 0.05).unwrap();
        assert!(max_abs_diff(d1.m(), d2.m()) < 1e-12);
        let (mut i1, mut i2) = (inet.clone(), inet);
        i1.online_step(x.as_ref(), 0.05).unwrap();
        i2.offline_step(c.as_ref(), 0.05).unwrap();
        assert!(max_abs_diff(i1.w(), i2.w()) < 1e-12);
    }

    /// The batch update is the mean of the single-sample increments of the same network.
    #[test]
    fn online_batch_is_mean_of_single_updates() {
        let mut rng = ChaCha8Rng::seed_from_u64(16);
        let (n, t, eta) = (3, 7, 0.02);
        let x = cov::gaussian_matrix(n, t, &mut rng);
        let (dnet, inet) = both(n, 5, &mut rng);
        let nets: [Box<dyn WhiteningNetwork>; 2] = [Box::new(dnet), Box::new(inet)];
        for net in nets {
            let s0 = net.state().to_owned();
            let mut mean_inc = Mat::<f64>::zeros(s0.nrows(), s0.ncols());
            for j in 0..t {
                let mut single: Box<dyn WhiteningNetwork> = clone_box(net.as_ref());
                single.online_step(x.as_ref().subcols(j, 1), eta).unwrap();
                let inc = sub(single.state(), s0.as_ref());
                mean_inc = Mat::from_fn(s0.nrows(), s0.ncols(), |a, b| {
                    mean_inc[(a, b)] + inc[(a, b)] / t as f64
                });
            }
            let mut batch = clone_box(net.as_ref());
            batch.online_step(x.as_ref(), eta).unwrap();
            let inc = sub(batch.state(), s0.as_ref());
            assert!(
                max_abs_diff(inc.as_ref(), mean_inc.as_ref()) < 1e-14,
                "{}",
                net.label()
            );
        }
    }

    fn clone_box(net: &dyn WhiteningNetwork) -> Box<dyn WhiteningNetwork> {
        if net.label() == "direct" {
            Box::new(DirectNetwork::new(net.state().to_owned()).unwrap())
        } else {
            Box::new(InterneuronNetwork::new(net.state().to_owned()).unwrap())
        }
    }

    /// Online learning from streamed samples whitens (to the noise floor ~ sqrt(eta)).
    #[test]
    fn online_learning_reduces_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let n = 3;
        let c = random_c(n, &mut rng);
        let src = GaussianSource::new(c.as_ref()).unwrap();
        let mut nets: Vec<Box<dyn WhiteningNetwork + Send>> = vec![
            Box::new(DirectNetwork::scaled_identity(n, 4.0).unwrap()),
            Box::new(InterneuronNetwork::commuting(n, 2 * n, 4.0).unwrap()),
        ];
        for net in &mut nets {
            let e0 = whitening_error(net.as_ref(), c.as_ref()).unwrap();
            let x = src.sample(40_000, &mut rng);
            for j in 0..x.ncols() {
                net.online_step(x.as_ref().subcols(j, 1), 0.002).unwrap();
            }
            let e1 = whitening_error(net.as_ref(), c.as_ref()).unwrap();
            // Initially C_yy = C / 16 (error ~0.97). Flow time eta * 40000 = 80 is far beyond
            // both convergence times; what remains is the noise floor, O(sqrt(eta)) ~ 0.1-0.2
            // at eta = 0.002 (measured by hand: ~0.1 direct, ~0.2 interneurons).
            assert!(e0 > 0.9 && e1 < 0.3, "{}: {e0} -> {e1}", net.label());
        }
    }

    #[test]
    fn constructors() {
        let mut rng = ChaCha8Rng::seed_from_u64(18);
        let d = DirectNetwork::scaled_identity(3, 10.0).unwrap();
        assert_eq!(
            d.m().to_owned(),
            Mat::from_fn(3, 3, |i, j| if i == j { 10.0 } else { 0.0 })
        );
        let i = InterneuronNetwork::commuting(3, 5, 10.0).unwrap();
        assert_eq!(i.k(), 5);
        assert!(max_abs_diff(i.recurrent().as_ref(), d.m()) < 1e-14);
        assert_eq!(i.label(), "interneuron");
        // Generic direct: largest eigenvalue exactly c.
        let g = DirectNetwork::generic(4, 7.0, &mut rng).unwrap();
        let top = op_norm_sym(g.m());
        assert!((top - 7.0).abs() < 1e-12, "top eigenvalue {top}");
        // Generic interneuron: E[W W^T] = c I; for k = 400 columns W W^T is close to c I
        // (entries have standard deviation c / sqrt(k) = 0.1).
        let gi = InterneuronNetwork::generic(2, 400, 2.0, &mut rng).unwrap();
        let m = gi.recurrent();
        let dev = sub(
            m.as_ref(),
            Mat::from_fn(2, 2, |a, b| if a == b { 2.0 } else { 0.0 }).as_ref(),
        );
        assert!(op_norm(dev.as_ref()) < 0.6, "{:?}", m);
        let from = DirectNetwork::from_interneuron(&gi).unwrap();
        assert!(max_abs_diff(from.m(), m.as_ref()) == 0.0);
    }

    #[test]
    fn refusals() {
        let mut rng = ChaCha8Rng::seed_from_u64(19);
        assert_eq!(
            InterneuronNetwork::new(Mat::zeros(3, 2)).unwrap_err(),
            CoreError::TooFewInterneurons { n: 3, k: 2 }
        );
        assert!(matches!(
            InterneuronNetwork::commuting(4, 3, 1.0),
            Err(CoreError::TooFewInterneurons { n: 4, k: 3 })
        ));
        // Rank 1: two equal rows.
        let w = Mat::from_fn(2, 3, |_, j| (j + 1) as f64);
        match InterneuronNetwork::new(w) {
            Err(CoreError::RankDeficient {
                n: 2,
                k: 3,
                sigma_min,
            }) => assert!(sigma_min < 1e-12),
            other => panic!("expected RankDeficient, got {other:?}"),
        }
        let nan = Mat::from_fn(2, 2, |i, j| if i == j { f64::NAN } else { 0.0 });
        assert!(matches!(
            InterneuronNetwork::new(nan.clone()),
            Err(CoreError::NonFinite { .. })
        ));
        assert!(matches!(
            DirectNetwork::new(nan),
            Err(CoreError::NonFinite { .. })
        ));
        let indefinite = Mat::from_fn(2, 2, |i, j| if i == j { 1.0 } else { 3.0 });
        match DirectNetwork::new(indefinite) {
            Err(CoreError::NotPositiveDefinite { min_eigenvalue, .. }) => {
                assert!((min_eigenvalue + 2.0).abs() < 1e-12)
            }
            other => panic!("expected NotPositiveDefinite, got {other:?}"),
        }
        let asym = Mat::from_fn(2, 2, |i, j| if i == j { 2.0 } else { i as f64 });
        assert!(matches!(
            DirectNetwork::new(asym),
            Err(CoreError::NotSymmetric { .. })
        ));
        assert!(matches!(
            DirectNetwork::scaled_identity(2, -1.0),
            Err(CoreError::InvalidParameter { name: "c", .. })
        ));

        let c = Mat::<f64>::identity(2, 2);
        let x = Mat::from_fn(2, 1, |i, _| i as f64 + 1.0);
        let (mut dnet, mut inet) = both(2, 3, &mut rng);
        for eta in [0.0, -0.1, f64::NAN, f64::INFINITY] {
            for net in [&mut dnet as &mut dyn WhiteningNetwork, &mut inet] {
                let before = net.state().to_owned();
                let e1 = net.offline_step(c.as_ref(), eta).unwrap_err();
                let e2 = net.online_step(x.as_ref(), eta).unwrap_err();
                for e in [e1, e2] {
                    assert!(matches!(
                        e,
                        CoreError::InvalidLearningRate { name: "eta", .. }
                    ));
                }
                assert_eq!(net.state().to_owned(), before);
            }
        }
        // A NaN input makes the update non-finite; the state is left unchanged.
        let xnan = Mat::from_fn(2, 1, |i, _| if i == 0 { f64::NAN } else { 1.0 });
        for net in [&mut dnet as &mut dyn WhiteningNetwork, &mut inet] {
            let before = net.state().to_owned();
            assert!(matches!(
                net.online_step(xnan.as_ref(), 0.1),
                Err(CoreError::NonFinite { .. })
            ));
            assert_eq!(net.state().to_owned(), before);
            // Wrong shapes.
            assert!(matches!(
                net.respond(Mat::<f64>::zeros(3, 1).as_ref()),
                Err(CoreError::DimensionMismatch { .. })
            ));
            assert!(matches!(
                net.offline_step(Mat::<f64>::identity(3, 3).as_ref(), 0.1),
                Err(CoreError::DimensionMismatch { .. })
            ));
        }
        // A step that is too large makes M indefinite; the next response refuses it.
        let mut d = DirectNetwork::scaled_identity(2, 1.0).unwrap();
        let small = Mat::from_fn(2, 2, |i, j| if i == j { 0.01 } else { 0.0 });
        d.offline_step(small.as_ref(), 2.0).unwrap(); // M = (1 + 2 (0.01 - 1)) I = -0.98 I
        match d.respond(x.as_ref()) {
            Err(CoreError::NotPositiveDefinite {
                what,
                min_eigenvalue,
            }) => {
                assert_eq!(what, "M");
                assert!((min_eigenvalue + 0.98).abs() < 1e-12);
            }
            other => panic!("expected NotPositiveDefinite, got {other:?}"),
        }
    }

    #[test]
    fn object_safe_and_send() {
        fn assert_send<T: Send>(_: &T) {}
        let nets: Vec<Box<dyn WhiteningNetwork + Send>> = vec![
            Box::new(DirectNetwork::scaled_identity(2, 1.0).unwrap()),
            Box::new(InterneuronNetwork::commuting(2, 2, 1.0).unwrap()),
        ];
        assert_send(&nets);
        let labels: Vec<_> = nets.iter().map(|n| n.label()).collect();
        assert_eq!(labels, ["direct", "interneuron"]);
    }
}
