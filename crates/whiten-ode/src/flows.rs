//! The synaptic gradient flows of the two whitening networks (spec paper 1, section 4), their
//! scalar reductions and closed forms (section 4.1), and the error measures used as events.
//!
//! States are flat, column-major: `M` is `n x n`, `W` is `n x k`. Every matrix flow factors `M`
//! by Cholesky into preallocated workspaces: the hand-written small-matrix kernels of
//! `crate::small` for small `n`, faer's blocked kernels (`crate::blocked`) above a measured
//! crossover ([`Kernel`]); no explicit inverse is formed and the right-hand sides do not
//! allocate. If
//! `M` is not positive definite the derivative is filled with NaN, which the solver reports as
//! [`crate::OdeError::NonFinite`] at that time.

use faer::{Accum, Mat, MatRef, Par, Side};

use crate::blocked::{
    self, DIRECT_BLOCKED_FROM, INTERNEURON_BLOCKED_FROM, MEASURE_BLOCKED_FROM, Whitener,
};
use crate::event::{Direction, EventFunction};
use crate::normtest::NormTest;
use crate::roots::brent;
use crate::small::{
    axpy, cholesky, gram_rows_lower, mirror_lower, solve_lower_rows, solve_upper_rows, sym_op_norm,
    transpose,
};
use crate::system::System;

/// Copies `C` (an `n x n` `MatRef`) into a flat column-major vector.
fn to_flat(c: MatRef<'_, f64>) -> Vec<f64> {
    let n = c.nrows();
    let mut v = vec![0.0; n * c.ncols()];
    for j in 0..c.ncols() {
        for i in 0..n {
            v[j * n + i] = c[(i, j)];
        }
    }
    v
}

/// Lower Cholesky factor `S` of `C = S S^T`, flat and stored by rows (`S_ij` at `[i * n + j]`,
/// zero for `j > i`), the layout of the row kernels.
fn cholesky_factor_rows(c: MatRef<'_, f64>) -> Vec<f64> {
    let n = check_square(c);
    // C is symmetric: its column-major copy is also its copy by rows.
    let mut s = to_flat(c);
    let mut inv_diag = vec![0.0; n];
    assert!(
        cholesky(&mut s, &mut inv_diag, n),
        "C must be symmetric positive definite"
    );
    for i in 0..n {
        for j in i + 1..n {
            s[i * n + j] = 0.0;
        }
    }
    s
}

fn check_square(c: MatRef<'_, f64>) -> usize {
    assert_eq!(c.nrows(), c.ncols(), "C must be square");
    c.nrows()
}

/// Cholesky factor `M = L L^T` of the current `M` (by rows) and `1 / L_jj`, preallocated.
#[derive(Debug)]
struct Factor {
    n: usize,
    l: Vec<f64>,
    inv_diag: Vec<f64>,
}

impl Factor {
    fn new(n: usize) -> Self {
        Self {
            n,
            l: vec![0.0; n * n],
            inv_diag: vec![0.0; n],
        }
    }

    /// Factors the matrix already in `self.l`; `false` if not positive definite.
    fn factor(&mut self) -> bool {
        cholesky(&mut self.l, &mut self.inv_diag, self.n)
    }

    /// `X <- M^{-1} S = L^{-T} (L^{-1} S)` for the lower triangular `S` (`n x n`); `S` and `X`
    /// stored by rows.
    fn solve_lower_rhs(&self, s_rows: &[f64], x: &mut [f64]) {
        let n = self.n;
        x.copy_from_slice(s_rows);
        solve_lower_rows(&self.l, &self.inv_diag, x, n, n, true);
        solve_upper_rows(&self.l, &self.inv_diag, x, n, n);
    }
}

/// Which implementation evaluates a flow's right-hand side. Both compute the same quantity;
/// they differ in rounding only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kernel {
    /// The hand-written kernels for small `n`, faer's blocked ones from the measured crossover
    /// on (`n >= 16` for the direct flow, `n >= 12` for the interneuron flow).
    #[default]
    Auto,
    /// Hand-written loops (`crate::small`), fastest for `n` around 10.
    Small,
    /// faer's blocked Cholesky, triangular solves and products (`crate::blocked`).
    Blocked,
}

impl Kernel {
    /// Whether this choice uses the blocked kernels at size `n`, given the crossover `from`.
    fn blocked(self, n: usize, from: usize) -> bool {
        match self {
            Kernel::Auto => n >= from,
            Kernel::Small => false,
            Kernel::Blocked => true,
        }
    }
}

/// Direct recurrent network, `dM/dt = M^{-1} C M^{-1} - I` (state `M`, `n x n`).
///
/// With `C = S S^T` (Cholesky factor of C, computed once) and `M = L L^T`,
/// `M^{-1} C M^{-1} = X X^T` where `X = M^{-1} S = L^{-T} (L^{-1} S)`: two triangular solves
/// (the first on a triangular right-hand side) and one symmetric product per evaluation, and
/// the result is exactly symmetric. Both kernels ([`Kernel`]) follow these equations.
#[derive(Debug)]
pub struct DirectFlow {
    n: usize,
    kernel: DirectKernel,
}

#[derive(Debug)]
enum DirectKernel {
    Small {
        /// `S` by rows.
        s: Vec<f64>,
        chol: Factor,
        /// `X` by rows.
        x: Vec<f64>,
    },
    Blocked(Box<Whitener>),
}

impl DirectFlow {
    /// Flow for the input covariance `C` (symmetric positive definite, `n x n`), with the
    /// kernel chosen by size.
    ///
    /// # Panics
    /// If `C` is not square or not positive definite.
    pub fn new(c: MatRef<'_, f64>) -> Self {
        Self::with_kernel(c, Kernel::Auto)
    }

    /// As [`DirectFlow::new`], with the given kernel.
    ///
    /// # Panics
    /// If `C` is not square or not positive definite.
    pub fn with_kernel(c: MatRef<'_, f64>, kernel: Kernel) -> Self {
        let n = check_square(c);
        let kernel = if kernel.blocked(n, DIRECT_BLOCKED_FROM) {
            DirectKernel::Blocked(Box::new(whitener(c)))
        } else {
            DirectKernel::Small {
                s: cholesky_factor_rows(c),
                chol: Factor::new(n),
                x: vec![0.0; n * n],
            }
        };
        Self { n, kernel }
    }

    /// Number of neurons `n`.
    pub fn n(&self) -> usize {
        self.n
    }
}

/// The blocked kernel's workspace for `C`.
///
/// # Panics
/// If `C` is not positive definite.
fn whitener(c: MatRef<'_, f64>) -> Whitener {
    Whitener::new(c).expect("C must be symmetric positive definite")
}

impl System for DirectFlow {
    fn dim(&self) -> usize {
        self.n * self.n
    }

    fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let n = self.n;
        match &mut self.kernel {
            DirectKernel::Small { s, chol, x } => {
                chol.l.copy_from_slice(y);
                if !chol.factor() {
                    dy.fill(f64::NAN);
                    return;
                }
                // X = M^{-1} S
                chol.solve_lower_rhs(s, x);
                // dM/dt = X X^T - I = M^{-1} C M^{-1} - I
                gram_rows_lower(x, dy, n, n);
                mirror_lower(dy, n);
            }
            DirectKernel::Blocked(wh) => {
                wh.m_mut().copy_from(blocked::view(y, n, n));
                if !wh.factor() {
                    dy.fill(f64::NAN);
                    return;
                }
                // X = M^{-1} S; dM/dt = X X^T - I = M^{-1} C M^{-1} - I
                wh.solve_z();
                let mut d = blocked::view_mut(dy, n, n);
                wh.gram_lower(d.as_mut());
                blocked::mirror_lower(d);
            }
        }
        for i in 0..n {
            dy[i * n + i] -= 1.0;
        }
    }

    fn is_autonomous(&self) -> bool {
        true
    }
}

/// Interneuron network, `dW/dt = (W W^T)^{-1} C (W W^T)^{-1} W - W` (state `W`, `n x k`).
///
/// With `C = S S^T` (computed once), `M = W W^T = L L^T`, `Y = L^{-1} S` (lower triangular)
/// and `V = L^{-1} W`: `M^{-1} C M^{-1} W = L^{-T} L^{-1} S S^T L^{-T} L^{-1} W
/// = L^{-T} (Y (Y^T V))`, so `dW/dt = L^{-T} (Y (Y^T V)) - W` (small kernel). The blocked
/// kernel forms the symmetric `A = M^{-1} C M^{-1} = Z Z^T` with `Z = L^{-T} Y` and takes one
/// dense product, `dW/dt = A W - W`: fewer flops when `k >= n`, and mostly matrix products.
#[derive(Debug)]
pub struct InterneuronFlow {
    n: usize,
    k: usize,
    kernel: InterneuronKernel,
}

#[derive(Debug)]
enum InterneuronKernel {
    Small {
        /// `S` by rows.
        s: Vec<f64>,
        chol: Factor,
        /// `W` by rows, `n x k`.
        w: Vec<f64>,
        /// `Y = L^{-1} S` by rows, `n x n` lower triangular.
        yl: Vec<f64>,
        /// `V = L^{-1} W`, then `Y P`, by rows, `n x k`.
        v: Vec<f64>,
        /// `P = Y^T V` by rows, `n x k`.
        p: Vec<f64>,
    },
    Blocked {
        wh: Box<Whitener>,
        /// `A = M^{-1} C M^{-1}`, both triangles.
        a: Mat<f64>,
    },
}

impl InterneuronFlow {
    /// Flow for the input covariance `C` (`n x n`, positive definite) and `k` interneurons,
    /// with the kernel chosen by size.
    ///
    /// # Panics
    /// If `C` is not square or not positive definite.
    pub fn new(c: MatRef<'_, f64>, k: usize) -> Self {
        Self::with_kernel(c, k, Kernel::Auto)
    }

    /// As [`InterneuronFlow::new`], with the given kernel.
    ///
    /// # Panics
    /// If `C` is not square or not positive definite.
    pub fn with_kernel(c: MatRef<'_, f64>, k: usize, kernel: Kernel) -> Self {
        let n = check_square(c);
        let kernel = if kernel.blocked(n, INTERNEURON_BLOCKED_FROM) {
            InterneuronKernel::Blocked {
                wh: Box::new(whitener(c)),
                a: Mat::zeros(n, n),
            }
        } else {
            InterneuronKernel::Small {
                s: cholesky_factor_rows(c),
                chol: Factor::new(n),
                w: vec![0.0; n * k],
                yl: vec![0.0; n * n],
                v: vec![0.0; n * k],
                p: vec![0.0; n * k],
            }
        };
        Self { n, k, kernel }
    }

    /// Number of neurons `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of interneurons `k`.
    pub fn k(&self) -> usize {
        self.k
    }
}

impl System for InterneuronFlow {
    fn dim(&self) -> usize {
        self.n * self.k
    }

    fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let (n, k) = (self.n, self.k);
        match &mut self.kernel {
            InterneuronKernel::Small {
                s,
                chol,
                w,
                yl,
                v,
                p,
            } => {
                // M = W W^T (lower triangle), from W by rows
                transpose(y, w, n, k);
                gram_rows_lower(w, &mut chol.l, n, k);
                if !chol.factor() {
                    dy.fill(f64::NAN);
                    return;
                }
                let (l, inv_d) = (&chol.l, &chol.inv_diag);
                // Y = L^{-1} S (lower triangular), V = L^{-1} W
                yl.copy_from_slice(s);
                solve_lower_rows(l, inv_d, yl, n, n, true);
                v.copy_from_slice(w);
                solve_lower_rows(l, inv_d, v, n, k, false);
                // P = Y^T V: row_i(P) = sum_{p >= i} Y_pi row_p(V)
                p.fill(0.0);
                for (q, v_q) in v.chunks_exact(k).enumerate() {
                    for (i, p_i) in p.chunks_exact_mut(k).take(q + 1).enumerate() {
                        axpy(p_i, yl[q * n + i], v_q);
                    }
                }
                // Y P: row_i = sum_{q <= i} Y_iq row_q(P), into the V buffer
                for (i, r_i) in v.chunks_exact_mut(k).enumerate() {
                    r_i.fill(0.0);
                    for (q, p_q) in p.chunks_exact(k).take(i + 1).enumerate() {
                        axpy(r_i, yl[i * n + q], p_q);
                    }
                }
                // dW/dt = L^{-T} (Y P) - W = M^{-1} C M^{-1} W - W
                solve_upper_rows(l, inv_d, v, n, k);
                for j in 0..k {
                    for i in 0..n {
                        dy[j * n + i] = v[i * k + j] - y[j * n + i];
                    }
                }
            }
            InterneuronKernel::Blocked { wh, a } => {
                let w = blocked::view(y, n, k);
                // M = W W^T
                blocked::gram_lower(w, wh.m_mut());
                if !wh.factor() {
                    dy.fill(f64::NAN);
                    return;
                }
                // A = Z Z^T = M^{-1} C M^{-1}
                wh.solve_z();
                wh.gram_lower(a.as_mut());
                blocked::mirror_lower(a.as_mut());
                // dW/dt = A W - W
                faer::linalg::matmul::matmul(
                    blocked::view_mut(dy, n, k),
                    Accum::Replace,
                    a.as_ref(),
                    w,
                    1.0,
                    Par::Seq,
                );
                for (d, w) in dy.iter_mut().zip(y) {
                    *d -= w;
                }
            }
        }
    }

    fn is_autonomous(&self) -> bool {
        true
    }
}

/// Flow induced on `M = W W^T` by the interneuron network,
/// `dM/dt = M^{-1} C + C M^{-1} - 2 M` (state `M`, `n x n`).
#[derive(Debug)]
pub struct InducedFlow {
    n: usize,
    c: Vec<f64>,
    chol: Factor,
    x: Vec<f64>,
}

impl InducedFlow {
    /// Flow for the input covariance `C` (`n x n`).
    pub fn new(c: MatRef<'_, f64>) -> Self {
        let n = check_square(c);
        Self {
            n,
            c: to_flat(c),
            chol: Factor::new(n),
            x: vec![0.0; n * n],
        }
    }
}

impl System for InducedFlow {
    fn dim(&self) -> usize {
        self.n * self.n
    }

    fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
        let n = self.n;
        self.chol.l.copy_from_slice(y);
        if !self.chol.factor() {
            dy.fill(f64::NAN);
            return;
        }
        // x = M^{-1} C = L^{-T} L^{-1} C (by rows; C is symmetric, so C by rows is C), and
        // C M^{-1} = x^T
        self.x.copy_from_slice(&self.c);
        let (l, inv_d) = (&self.chol.l, &self.chol.inv_diag);
        solve_lower_rows(l, inv_d, &mut self.x, n, n, false);
        solve_upper_rows(l, inv_d, &mut self.x, n, n);
        // dM/dt = x + x^T - 2 M (symmetric in the layout of x)
        for j in 0..n {
            for i in 0..n {
                dy[j * n + i] = self.x[j * n + i] + self.x[i * n + j] - 2.0 * y[j * n + i];
            }
        }
    }

    fn is_autonomous(&self) -> bool {
        true
    }
}

/// Independent eigenvalues of the direct flow in the commuting case,
/// `dm_i/dt = lambda_i / m_i^2 - 1` (NaN for `m_i <= 0`).
#[derive(Clone, Debug)]
pub struct ScalarDirect {
    /// Eigenvalues `lambda_i` of C.
    pub lambda: Vec<f64>,
}

impl ScalarDirect {
    /// One scalar equation per eigenvalue in `lambda`.
    pub fn new(lambda: &[f64]) -> Self {
        Self {
            lambda: lambda.to_vec(),
        }
    }
}

impl System for ScalarDirect {
    fn dim(&self) -> usize {
        self.lambda.len()
    }

    fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
        for ((d, &m), &l) in dy.iter_mut().zip(y).zip(&self.lambda) {
            *d = if m > 0.0 { l / (m * m) - 1.0 } else { f64::NAN };
        }
    }

    /// `d/dm (lambda/m^2 - 1) = -2 lambda / m^3` on the diagonal.
    fn jacobian(&mut self, _t: f64, y: &[f64], jac: &mut [f64]) -> bool {
        let n = self.lambda.len();
        jac.fill(0.0);
        for i in 0..n {
            jac[i * n + i] = -2.0 * self.lambda[i] / y[i].powi(3);
        }
        true
    }

    fn is_autonomous(&self) -> bool {
        true
    }
}

/// Independent eigenvalues of `M = W W^T` under the interneuron flow in the commuting case,
/// `dm_i/dt = 2 (lambda_i / m_i - m_i)` (NaN for `m_i <= 0`).
#[derive(Clone, Debug)]
pub struct ScalarInterneuron {
    /// Eigenvalues `lambda_i` of C.
    pub lambda: Vec<f64>,
}

impl ScalarInterneuron {
    /// One scalar equation per eigenvalue in `lambda`.
    pub fn new(lambda: &[f64]) -> Self {
        Self {
            lambda: lambda.to_vec(),
        }
    }
}

impl System for ScalarInterneuron {
    fn dim(&self) -> usize {
        self.lambda.len()
    }

    fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
        for ((d, &m), &l) in dy.iter_mut().zip(y).zip(&self.lambda) {
            *d = if m > 0.0 { 2.0 * (l / m - m) } else { f64::NAN };
        }
    }

    /// `d/dm 2 (lambda/m - m) = -2 (lambda/m^2 + 1)` on the diagonal.
    fn jacobian(&mut self, _t: f64, y: &[f64], jac: &mut [f64]) -> bool {
        let n = self.lambda.len();
        jac.fill(0.0);
        for i in 0..n {
            jac[i * n + i] = -2.0 * (self.lambda[i] / (y[i] * y[i]) + 1.0);
        }
        true
    }

    fn is_autonomous(&self) -> bool {
        true
    }
}

/// Interneuron eigenvalue trajectory, `m(t)^2 = lambda + (m0^2 - lambda) e^{-4t}`.
pub fn m_interneuron(lambda: f64, m0: f64, t: f64) -> f64 {
    (lambda + (m0 * m0 - lambda) * (-4.0 * t).exp()).sqrt()
}

/// Time for the direct flow to go from `m0` to `m` (both on the same side of `a = sqrt(lambda)`,
/// `m` between `m0` and `a`):
/// `t = (m0 - m) + (a/2) ln( |(a + m)(a - m0)| / |(a - m)(a + m0)| )`.
pub fn time_direct(lambda: f64, m0: f64, m: f64) -> f64 {
    let a = lambda.sqrt();
    (m0 - m) + 0.5 * a * (((a + m) * (a - m0)).abs() / ((a - m) * (a + m0)).abs()).ln()
}

/// Direct eigenvalue trajectory `m(t)`, solving the implicit equation
/// [`time_direct`]`(lambda, m0, m) = t` for `m` between `m0` and `sqrt(lambda)` by Brent's
/// method (the map `m -> t` is monotone there).
pub fn m_direct(lambda: f64, m0: f64, t: f64) -> f64 {
    let a = lambda.sqrt();
    if t <= 0.0 || m0 == a {
        return m0;
    }
    // The bracket end next to `a` where the implicit time already exceeds t; if even the
    // floating-point neighbour of `a` is reached before t, m(t) rounds to `a`.
    let mut gap = (m0 - a).abs();
    let side = (m0 - a).signum();
    let f = |m: f64| time_direct(lambda, m0, m) - t;
    loop {
        gap *= 0.5;
        let m = a + side * gap;
        if m == a {
            return a;
        }
        let fm = f(m);
        if fm >= 0.0 {
            let root = brent(f, m0, m, -t, fm, 1e-15 * a.max(m0.abs()), 200);
            return root.unwrap_or(m);
        }
    }
}

/// Direct-flow convergence time `T_D`: first `t` with `|m(t) - sqrt(lambda)| <= eps`
/// (spec table of section 4.1; 0 if `|m0 - a| <= eps`).
pub fn t_direct(lambda: f64, m0: f64, eps: f64) -> f64 {
    let a = lambda.sqrt();
    if (m0 - a).abs() <= eps {
        0.0
    } else if m0 > a {
        // (m0 - a - eps) + (a/2) ln[(2a + eps)(m0 - a) / (eps (m0 + a))]
        (m0 - a - eps) + 0.5 * a * ((2.0 * a + eps) * (m0 - a) / (eps * (m0 + a))).ln()
    } else {
        // (m0 - a + eps) + (a/2) ln[(2a - eps)(a - m0) / (eps (a + m0))]
        (m0 - a + eps) + 0.5 * a * ((2.0 * a - eps) * (a - m0) / (eps * (a + m0))).ln()
    }
}

/// Interneuron convergence time `T_I`: first `t` with `|m(t) - sqrt(lambda)| <= eps`
/// (spec table of section 4.1; 0 if `|m0 - a| <= eps`).
pub fn t_interneuron(lambda: f64, m0: f64, eps: f64) -> f64 {
    let a = lambda.sqrt();
    if (m0 - a).abs() <= eps {
        0.0
    } else if m0 > a {
        // (1/4) ln[(m0^2 - lambda) / (eps (2a + eps))]
        0.25 * ((m0 * m0 - lambda) / (eps * (2.0 * a + eps))).ln()
    } else {
        // (1/4) ln[(lambda - m0^2) / (eps (2a - eps))]
        0.25 * ((lambda - m0 * m0) / (eps * (2.0 * a - eps))).ln()
    }
}

/// How the flat state maps to `M`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The state is `M` itself (`n x n`).
    M,
    /// The state is `W` (`n x k`) and `M = W W^T`.
    W {
        /// Number of interneurons.
        k: usize,
    },
}

/// An error measure of a flow state, usable in events via [`Below`].
pub trait ErrorMeasure {
    /// The error of the flat state `y`.
    fn value(&mut self, y: &[f64]) -> f64;

    /// A number with the sign of `value(y) - eps` (used by [`Below`]); implementations may
    /// skip the exact computation when a cheap bound already decides the sign, but must return
    /// the exact difference when the bounds do not decide it.
    fn excess(&mut self, y: &[f64], eps: f64) -> f64 {
        self.value(y) - eps
    }
}

/// A measure borrowed mutably is a measure: one workspace (e.g. [`SqrtDistance`], whose set-up
/// takes an eigendecomposition of `C`) serves many integrations, `Below::new(&mut m, eps)`.
impl<E: ErrorMeasure + ?Sized> ErrorMeasure for &mut E {
    fn value(&mut self, y: &[f64]) -> f64 {
        (**self).value(y)
    }

    fn excess(&mut self, y: &[f64], eps: f64) -> f64 {
        (**self).excess(y, eps)
    }
}

/// Sign screen for `||A||_op - eps` of a symmetric `n x n` matrix `A` with Frobenius norm
/// `fro`, from `||A||_F / sqrt(n) <= ||A||_op <= ||A||_F`: `Some(bound - eps)` with the correct
/// sign when the Frobenius norm decides, `None` when the eigenvalues (or sharper bounds) are
/// needed.
fn frobenius_screen(fro: f64, n: usize, eps: f64) -> Option<f64> {
    let lower = fro / (n as f64).sqrt();
    if lower > eps {
        Some(lower - eps)
    } else if fro <= eps {
        Some(fro - eps)
    } else if fro.is_nan() {
        Some(f64::NAN)
    } else {
        None
    }
}

/// `||A||_F` of a flat matrix.
fn frobenius_norm(a: &[f64]) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Workspace to form `M` from the state and take (or bound) the operator norm of symmetric
/// `n x n` matrices: the hand-written kernels below [`MEASURE_BLOCKED_FROM`], faer's products
/// and eigensolver with the bounds of `crate::normtest` from there on.
#[derive(Debug)]
struct SymWork {
    n: usize,
    layout: Layout,
    m: Vec<f64>,
    inv_diag: Vec<f64>,
    /// `W` by rows (`W` layout, small sizes only).
    w: Vec<f64>,
    /// Scratch of the tridiagonal eigenvalue routine (`n^2 + 4 n`, small sizes only).
    eig: Vec<f64>,
    /// Lanczos and Cholesky bounds and the eigensolver (blocked sizes only).
    test: Option<Box<NormTest>>,
}

impl SymWork {
    fn new(n: usize, layout: Layout) -> Self {
        let blocked = n >= MEASURE_BLOCKED_FROM;
        Self {
            n,
            layout,
            m: vec![0.0; n * n],
            inv_diag: vec![0.0; n],
            w: match layout {
                Layout::W { k } if !blocked => vec![0.0; n * k],
                _ => Vec::new(),
            },
            eig: if blocked {
                Vec::new()
            } else {
                vec![0.0; n * n + 4 * n]
            },
            test: blocked.then(|| Box::new(NormTest::new(n))),
        }
    }

    /// `self.m <- M` from the state (both triangles).
    fn load_m(&mut self, y: &[f64]) {
        let n = self.n;
        match self.layout {
            Layout::M => self.m.copy_from_slice(y),
            Layout::W { k } if self.test.is_some() => {
                // M = W W^T
                let mut m = blocked::view_mut(&mut self.m, n, n);
                blocked::gram_lower(blocked::view(y, n, k), m.as_mut());
                blocked::mirror_lower(m);
            }
            Layout::W { k } => {
                // M = W W^T
                transpose(y, &mut self.w, n, k);
                gram_rows_lower(&self.w, &mut self.m, n, k);
                mirror_lower(&mut self.m, n);
            }
        }
    }

    /// `max |eigenvalue|` of the symmetric matrix `a` (lower triangle read) = its operator norm.
    fn op_norm(&mut self, a: &[f64]) -> f64 {
        match &mut self.test {
            Some(test) => test.exact(a),
            None => sym_op_norm(a, self.n, &mut self.eig),
        }
    }

    /// A number with the sign of `||A||_op - eps` for the symmetric `a` (both triangles): a
    /// bound when one decides (Frobenius; at blocked sizes also Lanczos and Cholesky), else
    /// the exact difference.
    fn excess(&mut self, a: &[f64], eps: f64) -> f64 {
        let fro = frobenius_norm(a);
        if let Some(g) = frobenius_screen(fro, self.n, eps) {
            return g;
        }
        match &mut self.test {
            Some(test) => {
                let (g, decided) = test.excess(a, fro, eps);
                tracing::trace!(?decided, g, "stopping check");
                g
            }
            None => sym_op_norm(a, self.n, &mut self.eig) - eps,
        }
    }
}

/// `||M - C^{1/2}||_op`, with `C^{1/2} = U diag(sqrt(lambda)) U^T` precomputed.
#[derive(Debug)]
pub struct SqrtDistance {
    c_sqrt: Vec<f64>,
    diff: Vec<f64>,
    work: SymWork,
}

/// `C^{1/2}` of a symmetric positive semi-definite matrix, flat column-major.
///
/// `C = U diag(s) U^T` (faer's symmetric eigendecomposition), then
/// `C^{1/2} = B B^T` with `B = U diag(max(s, 0))^{1/4}`: one blocked product, symmetric by
/// construction.
pub fn sqrt_psd(c: MatRef<'_, f64>) -> Vec<f64> {
    let n = check_square(c);
    let evd = c
        .self_adjoint_eigen(Side::Lower)
        .expect("eigendecomposition of C failed");
    let (u, s) = (evd.U(), evd.S().column_vector());
    let b = Mat::from_fn(n, n, |i, p| u[(i, p)] * s[p].max(0.0).sqrt().sqrt());
    let mut r = vec![0.0; n * n];
    let mut out = blocked::view_mut(&mut r, n, n);
    blocked::gram_lower(b.as_ref(), out.as_mut());
    blocked::mirror_lower(out);
    r
}

impl SqrtDistance {
    /// Distance to `C^{1/2}` of the state (`M` or `W` per `layout`).
    pub fn new(c: MatRef<'_, f64>, layout: Layout) -> Self {
        let n = check_square(c);
        Self {
            c_sqrt: sqrt_psd(c),
            diff: vec![0.0; n * n],
            work: SymWork::new(n, layout),
        }
    }

    /// The precomputed `C^{1/2}`, flat column-major.
    pub fn c_sqrt(&self) -> &[f64] {
        &self.c_sqrt
    }
}

impl SqrtDistance {
    /// `diff <- M - C^{1/2}`.
    fn load_diff(&mut self, y: &[f64]) {
        self.work.load_m(y);
        for ((d, m), s) in self.diff.iter_mut().zip(&self.work.m).zip(&self.c_sqrt) {
            *d = m - s;
        }
    }
}

impl ErrorMeasure for SqrtDistance {
    fn value(&mut self, y: &[f64]) -> f64 {
        self.load_diff(y);
        self.work.op_norm(&self.diff)
    }

    fn excess(&mut self, y: &[f64], eps: f64) -> f64 {
        self.load_diff(y);
        self.work.excess(&self.diff, eps)
    }
}

/// `||C_yy - I||_op` with `C_yy = M^{-1} C M^{-1}` (`+inf` if `M` is not positive definite).
#[derive(Debug)]
pub struct WhiteningError {
    /// Lower Cholesky factor `S` of `C = S S^T`, by rows (small sizes).
    s: Vec<f64>,
    x: Vec<f64>,
    a: Vec<f64>,
    /// `C_yy = Z Z^T`, `Z = M^{-1} S`, by faer (blocked sizes).
    wh: Option<Box<Whitener>>,
    work: SymWork,
}

impl WhiteningError {
    /// Whitening error of the state (`M` or `W` per `layout`) for input covariance `C`.
    ///
    /// # Panics
    /// If `C` is not square or not positive definite.
    pub fn new(c: MatRef<'_, f64>, layout: Layout) -> Self {
        let n = check_square(c);
        let work = SymWork::new(n, layout);
        let blocked = work.test.is_some();
        Self {
            s: if blocked {
                Vec::new()
            } else {
                cholesky_factor_rows(c)
            },
            x: if blocked {
                Vec::new()
            } else {
                vec![0.0; n * n]
            },
            a: vec![0.0; n * n],
            wh: blocked.then(|| Box::new(whitener(c))),
            work,
        }
    }
}

impl WhiteningError {
    /// `a <- C_yy - I`; `false` if `M` is not positive definite.
    fn load_a(&mut self, y: &[f64]) -> bool {
        let n = self.work.n;
        if let Some(wh) = &mut self.wh {
            match self.work.layout {
                Layout::M => wh.m_mut().copy_from(blocked::view(y, n, n)),
                Layout::W { k } => blocked::gram_lower(blocked::view(y, n, k), wh.m_mut()),
            }
            if !wh.factor() {
                return false;
            }
            // C_yy = M^{-1} C M^{-1} = Z Z^T
            wh.solve_z();
            let mut a = blocked::view_mut(&mut self.a, n, n);
            wh.gram_lower(a.as_mut());
            blocked::mirror_lower(a);
        } else {
            self.work.load_m(y);
            let w = &mut self.work;
            if !cholesky(&mut w.m, &mut w.inv_diag, n) {
                return false;
            }
            // x = M^{-1} S = L^{-T} (L^{-1} S); C_yy = M^{-1} C M^{-1} = x x^T
            self.x.copy_from_slice(&self.s);
            solve_lower_rows(&w.m, &w.inv_diag, &mut self.x, n, n, true);
            solve_upper_rows(&w.m, &w.inv_diag, &mut self.x, n, n);
            gram_rows_lower(&self.x, &mut self.a, n, n);
            mirror_lower(&mut self.a, n);
        }
        for i in 0..n {
            self.a[i * n + i] -= 1.0;
        }
        true
    }
}

impl ErrorMeasure for WhiteningError {
    fn value(&mut self, y: &[f64]) -> f64 {
        if !self.load_a(y) {
            return f64::INFINITY;
        }
        self.work.op_norm(&self.a)
    }

    fn excess(&mut self, y: &[f64], eps: f64) -> f64 {
        if !self.load_a(y) {
            return f64::INFINITY;
        }
        self.work.excess(&self.a, eps)
    }
}

/// Event "the error drops to `eps`": `g = error(y) - eps`, [`Direction::Falling`] (fires at
/// `t0` if the error already is at most `eps`).
#[derive(Debug)]
pub struct Below<E> {
    /// The error measure.
    pub error: E,
    /// Threshold.
    pub eps: f64,
}

impl<E: ErrorMeasure> Below<E> {
    /// Event `error(y) <= eps`.
    pub fn new(error: E, eps: f64) -> Self {
        Self { error, eps }
    }
}

impl<E: ErrorMeasure> EventFunction for Below<E> {
    fn value(&mut self, _t: f64, y: &[f64]) -> f64 {
        self.error.excess(y, self.eps)
    }

    fn direction(&self) -> Direction {
        Direction::Falling
    }
}

/// Builds `C` from flat column-major data (convenience for callers holding slices).
pub fn mat_from_flat(data: &[f64], n: usize) -> Mat<f64> {
    Mat::from_fn(n, n, |i, j| data[j * n + i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{EventStatus, Method, Options, Output, integrate, integrate_until_event};
    use crate::error::OdeError;
    use crate::event::Directed;
    use faer::prelude::Solve;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    /// Householder reflection `Q = I - 2 v v^T / (v^T v)` (orthogonal, symmetric), flat.
    fn householder(v: &[f64]) -> Vec<f64> {
        let n = v.len();
        let vv: f64 = v.iter().map(|x| x * x).sum();
        let mut q = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..n {
                q[j * n + i] = f64::from(u8::from(i == j)) - 2.0 * v[i] * v[j] / vv;
            }
        }
        q
    }

    /// `Q diag(d) Q^T`, flat.
    fn conj(q: &[f64], d: &[f64]) -> Vec<f64> {
        let n = d.len();
        let mut r = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..n {
                r[j * n + i] = (0..n).map(|p| q[p * n + i] * d[p] * q[p * n + j]).sum();
            }
        }
        r
    }

    fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    /// `W W^T` of an `n x k` flat matrix.
    fn wwt(w: &[f64], n: usize, k: usize) -> Vec<f64> {
        let mut m = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..n {
                m[j * n + i] = (0..k).map(|p| w[p * n + i] * w[p * n + j]).sum();
            }
        }
        m
    }

    fn tight() -> Options {
        Options::with_tolerances(1e-12, 1e-14)
    }

    /// Event `|m - sqrt(lambda)| <= eps` on a scalar flow.
    fn converged(lambda: f64, eps: f64) -> impl crate::EventFunction {
        let a = lambda.sqrt();
        Directed {
            event: move |_t: f64, y: &[f64]| (y[0] - a).abs() - eps,
            direction: Direction::Falling,
        }
    }

    #[test]
    fn spec_table_lambda_3() {
        // Spec section 4.1: lambda = 3, eps = 1e-2.
        let (lambda, eps) = (3.0, 1e-2);
        let m0s = [0.01, 5.0, 50.0, 500.0];
        let table_d = [3.34, 7.70, 53.26, 503.32];
        let table_i = [1.12, 1.61, 2.80, 3.95];
        for (i, &m0) in m0s.iter().enumerate() {
            let (td, ti) = (t_direct(lambda, m0, eps), t_interneuron(lambda, m0, eps));
            assert!((td - table_d[i]).abs() <= 0.005, "T_D({m0}) = {td}");
            assert!((ti - table_i[i]).abs() <= 0.005, "T_I({m0}) = {ti}");
            let rd = integrate_until_event(
                ScalarDirect::new(&[lambda]),
                Method::Dopri5,
                0.0,
                &[m0],
                1e4,
                &tight(),
                converged(lambda, eps),
            )
            .unwrap();
            let ri = integrate_until_event(
                ScalarInterneuron::new(&[lambda]),
                Method::Dopri5,
                0.0,
                &[m0],
                1e4,
                &tight(),
                converged(lambda, eps),
            )
            .unwrap();
            let (nd, ni) = (rd.event_time().unwrap(), ri.event_time().unwrap());
            assert!((nd - td).abs() < 1e-6 * td, "direct m0 {m0}: {nd} vs {td}");
            assert!(
                (ni - ti).abs() < 1e-6 * ti,
                "interneurons m0 {m0}: {ni} vs {ti}"
            );
        }
    }

    #[test]
    fn closed_form_trajectories_match_integration() {
        let ts: Vec<f64> = (0..=30).map(|i| 0.1 * i as f64).collect();
        let mut o = tight();
        o.output = Output::Times(ts.clone());
        for (lambda, m0) in [(3.0, 0.01), (3.0, 5.0), (0.5, 40.0), (7.0, 0.9)] {
            let d = integrate(
                ScalarDirect::new(&[lambda]),
                Method::Dopri5,
                0.0,
                &[m0],
                3.0,
                &o,
            )
            .unwrap();
            let i = integrate(
                ScalarInterneuron::new(&[lambda]),
                Method::Tsit5,
                0.0,
                &[m0],
                3.0,
                &o,
            )
            .unwrap();
            for (p, &t) in ts.iter().enumerate() {
                let (md, mi) = (m_direct(lambda, m0, t), m_interneuron(lambda, m0, t));
                assert!(
                    (d.state(p)[0] - md).abs() < 1e-8 * md,
                    "direct {lambda} {m0} {t}"
                );
                assert!(
                    (i.state(p)[0] - mi).abs() < 1e-8 * mi,
                    "interneuron {lambda} {m0} {t}"
                );
                if t > 0.0 && (md - lambda.sqrt()).abs() > 1e-6 {
                    // The implicit trajectory inverts time_direct.
                    let back = time_direct(lambda, m0, md);
                    assert!((back - t).abs() < 1e-9 * t.max(1.0), "{back} vs {t}");
                }
            }
        }
        // T_D is the implicit time at a +- eps; within eps of the optimum both times are 0.
        assert!((t_direct(2.0, 9.0, 0.1) - time_direct(2.0, 9.0, 2f64.sqrt() + 0.1)).abs() < 1e-12);
        assert!((t_direct(2.0, 0.2, 0.1) - time_direct(2.0, 0.2, 2f64.sqrt() - 0.1)).abs() < 1e-12);
        assert_eq!(t_direct(4.0, 2.05, 0.1), 0.0);
        assert_eq!(t_interneuron(4.0, 1.95, 0.1), 0.0);
    }

    #[test]
    fn rosenbrock_on_stiff_direct_flow() {
        // dm/dt = lambda/m^2 - 1 from m0 = 0.01 is stiff at the start (J = -2 lambda/m^3).
        let (lambda, eps, m0) = (3.0, 1e-2, 0.01);
        let exact = t_direct(lambda, m0, eps);
        let o = Options::with_tolerances(1e-4, 1e-6);
        let run = |m: Method| {
            integrate_until_event(
                ScalarDirect::new(&[lambda]),
                m,
                0.0,
                &[m0],
                100.0,
                &o,
                converged(lambda, eps),
            )
            .unwrap()
        };
        let (ros, dp) = (run(Method::Rosenbrock23), run(Method::Dopri5));
        let t_ros = ros.event_time().unwrap();
        assert!((t_ros - exact).abs() < 1e-2 * exact, "{t_ros} vs {exact}");
        // At this tolerance the linearly implicit method needs fewer rhs evaluations.
        assert!(
            ros.stats.rhs_evals < dp.stats.rhs_evals,
            "rosenbrock {:?} vs dopri5 {:?}",
            ros.stats,
            dp.stats
        );
        // One Jacobian per accepted step (reused after rejections).
        assert_eq!(ros.stats.jacobian_evals, ros.stats.accepted_steps);
        assert!(ros.stats.lu_decompositions >= ros.stats.accepted_steps);
        // Finite-difference Jacobian (closure system) gives the same answer.
        let sys = crate::FnSystem::new(1, move |_t, y: &[f64], dy: &mut [f64]| {
            dy[0] = lambda / (y[0] * y[0]) - 1.0
        });
        let fd = integrate_until_event(
            sys,
            Method::Rosenbrock23,
            0.0,
            &[m0],
            100.0,
            &o,
            converged(lambda, eps),
        )
        .unwrap();
        assert!((fd.t - t_ros).abs() < 1e-6 * exact, "{} vs {t_ros}", fd.t);
        // Tight tolerance: the closed form to 1e-6 relative.
        let o = Options::with_tolerances(1e-10, 1e-12);
        let r = integrate_until_event(
            ScalarDirect::new(&[lambda]),
            Method::Rosenbrock23,
            0.0,
            &[m0],
            100.0,
            &o,
            converged(lambda, eps),
        )
        .unwrap();
        assert!((r.t - exact).abs() < 1e-6 * exact, "{} vs {exact}", r.t);
    }

    #[test]
    fn commuting_matrix_flows_reduce_to_scalar() {
        let n = 3;
        let q = householder(&[1.0, 2.0, 3.0]);
        let lambda = [0.5, 2.0, 7.0];
        let m0 = [4.0, 0.3, 9.0];
        let c = mat_from_flat(&conj(&q, &lambda), n);
        let t_end = 1.5;
        let mut o = Options::with_tolerances(1e-11, 1e-13);
        o.output = Output::Final;
        // Direct flow on M.
        let sol = integrate(
            DirectFlow::new(c.as_ref()),
            Method::Dopri5,
            0.0,
            &conj(&q, &m0),
            t_end,
            &o,
        )
        .unwrap();
        let md: Vec<f64> = (0..n).map(|i| m_direct(lambda[i], m0[i], t_end)).collect();
        let e = max_abs_diff(sol.last_state(), &conj(&q, &md));
        assert!(e < 1e-8, "direct: {e}");
        // Interneuron flow on W = [Q diag(sqrt m0) | 0], k = 5.
        let k = 5;
        let mut w0 = vec![0.0; n * k];
        for j in 0..n {
            for i in 0..n {
                w0[j * n + i] = q[j * n + i] * m0[j].sqrt();
            }
        }
        let sol = integrate(
            InterneuronFlow::new(c.as_ref(), k),
            Method::Tsit5,
            0.0,
            &w0,
            t_end,
            &o,
        )
        .unwrap();
        let mi: Vec<f64> = (0..n)
            .map(|i| m_interneuron(lambda[i], m0[i], t_end))
            .collect();
        let e = max_abs_diff(&wwt(sol.last_state(), n, k), &conj(&q, &mi));
        assert!(e < 1e-8, "interneurons: {e}");
        // Induced flow on M.
        let sol = integrate(
            InducedFlow::new(c.as_ref()),
            Method::Dopri5,
            0.0,
            &conj(&q, &m0),
            t_end,
            &o,
        )
        .unwrap();
        let e = max_abs_diff(sol.last_state(), &conj(&q, &mi));
        assert!(e < 1e-8, "induced: {e}");
    }

    #[test]
    fn commuting_convergence_time_is_max_over_eigenvalues() {
        // M0 = c I commutes with C: ||M - C^{1/2}||_op = max_i |m_i - a_i|.
        let n = 3;
        let q = householder(&[2.0, -1.0, 0.5]);
        let lambda = [1.0, 10.0, 100.0];
        let c = mat_from_flat(&conj(&q, &lambda), n);
        let (cc, eps) = (30.0, 1e-2);
        let o = Options::with_tolerances(1e-11, 1e-13);
        let m0 = conj(&q, &[cc; 3]);
        let r = integrate_until_event(
            DirectFlow::new(c.as_ref()),
            Method::Dopri5,
            0.0,
            &m0,
            1e3,
            &o,
            Below::new(SqrtDistance::new(c.as_ref(), Layout::M), eps),
        )
        .unwrap();
        let expected = lambda
            .iter()
            .map(|&l| t_direct(l, cc, eps))
            .fold(0.0, f64::max);
        assert!(
            (r.t - expected).abs() < 1e-6 * expected,
            "{} vs {expected}",
            r.t
        );
        let k = 4;
        let mut w0 = vec![0.0; n * k];
        for i in 0..n {
            w0[i * n + i] = cc.sqrt();
        }
        let r = integrate_until_event(
            InterneuronFlow::new(c.as_ref(), k),
            Method::Dopri5,
            0.0,
            &w0,
            1e3,
            &o,
            Below::new(SqrtDistance::new(c.as_ref(), Layout::W { k }), eps),
        )
        .unwrap();
        let expected = lambda
            .iter()
            .map(|&l| t_interneuron(l, cc, eps))
            .fold(0.0, f64::max);
        assert!(
            (r.t - expected).abs() < 1e-6 * expected,
            "{} vs {expected}",
            r.t
        );
        // The state at the event is on the threshold.
        let mut d = SqrtDistance::new(c.as_ref(), Layout::W { k });
        assert!((d.value(&r.y) - eps).abs() < 1e-8);
    }

    #[test]
    fn induced_flow_matches_w_flow() {
        let (n, k) = (3, 4);
        let a: Vec<f64> = (0..n * n)
            .map(|p| ((p * 7 % 5) as f64 - 2.0) * 0.4)
            .collect();
        let mut c = wwt(&a, n, n);
        for i in 0..n {
            c[i * n + i] += 1.0;
        }
        let c = mat_from_flat(&c, n);
        let w0: Vec<f64> = (0..n * k)
            .map(|p| ((p * 5 % 7) as f64 - 3.0) * 0.5 + if p % (n + 1) == 0 { 2.0 } else { 0.0 })
            .collect();
        let mut o = Options::with_tolerances(1e-11, 1e-13);
        o.output = Output::Final;
        let w = integrate(
            InterneuronFlow::new(c.as_ref(), k),
            Method::Dopri5,
            0.0,
            &w0,
            0.7,
            &o,
        )
        .unwrap();
        let m = integrate(
            InducedFlow::new(c.as_ref()),
            Method::Dopri5,
            0.0,
            &wwt(&w0, n, k),
            0.7,
            &o,
        )
        .unwrap();
        let e = max_abs_diff(&wwt(w.last_state(), n, k), m.last_state());
        assert!(e < 1e-8, "{e}");
    }

    #[test]
    fn flows_match_their_equations_at_a_point() {
        // Independent dense evaluation of dM/dt = M^{-1} C M^{-1} - I at a generic SPD M,
        // through the eigendecomposition M = U diag(mu) U^T (M^{-1} = U diag(1/mu) U^T).
        let n = 3;
        let q = householder(&[1.0, -2.0, 0.7]);
        let mu = [0.8, 2.5, 4.0];
        let m = conj(&q, &mu);
        let minv = conj(&q, &mu.map(|x| 1.0 / x));
        let c = [2.0, 0.3, -0.2, 0.3, 1.5, 0.1, -0.2, 0.1, 3.0];
        let prod = |a: &[f64], b: &[f64]| {
            let mut r = vec![0.0; n * n];
            for j in 0..n {
                for i in 0..n {
                    r[j * n + i] = (0..n).map(|p| a[p * n + i] * b[j * n + p]).sum();
                }
            }
            r
        };
        let cm = mat_from_flat(&c, n);
        let mut expected = prod(&prod(&minv, &c), &minv);
        for i in 0..n {
            expected[i * n + i] -= 1.0;
        }
        let mut dy = vec![0.0; n * n];
        DirectFlow::new(cm.as_ref()).rhs(0.0, &m, &mut dy);
        assert!(max_abs_diff(&dy, &expected) < 1e-12);
        // Induced: M^{-1} C + C M^{-1} - 2 M.
        let (x, xt) = (prod(&minv, &c), prod(&c, &minv));
        let expected: Vec<f64> = (0..n * n).map(|p| x[p] + xt[p] - 2.0 * m[p]).collect();
        InducedFlow::new(cm.as_ref()).rhs(0.0, &m, &mut dy);
        assert!(max_abs_diff(&dy, &expected) < 1e-12);
        // Interneurons with W = M^{1/2} (square): dW = M^{-1} C M^{-1} W - W.
        let w = conj(&q, &mu.map(f64::sqrt));
        let a = prod(&prod(&minv, &c), &minv);
        let aw = prod(&a, &w);
        let expected: Vec<f64> = (0..n * n).map(|p| aw[p] - w[p]).collect();
        InterneuronFlow::new(cm.as_ref(), n).rhs(0.0, &w, &mut dy);
        assert!(max_abs_diff(&dy, &expected) < 1e-12);
    }

    /// Random `G G^T / n + shift I` (flat) from a seeded stream.
    fn random_spd(rng: &mut ChaCha8Rng, n: usize, shift: f64) -> Vec<f64> {
        let g: Vec<f64> = (0..n * n).map(|_| rng.sample(StandardNormal)).collect();
        let mut a = wwt(&g, n, n);
        for (p, v) in a.iter_mut().enumerate() {
            *v /= n as f64;
            if p % (n + 1) == 0 {
                *v += shift;
            }
        }
        a
    }

    fn rel_diff(x: &[f64], y: &[f64]) -> f64 {
        let num = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
        let den = y.iter().map(|b| b * b).sum::<f64>();
        (num / den).sqrt()
    }

    #[test]
    fn small_and_blocked_kernels_agree_across_the_crossover() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let sizes = [1, 2, 5, 10, 11, 12, 15, 16, 33, 40, 70];
        for n in sizes {
            let c = mat_from_flat(&random_spd(&mut rng, n, 0.5), n);
            // Direct flow at a random positive definite M.
            let m = random_spd(&mut rng, n, 1.0);
            let (mut small, mut blocked) = (vec![0.0; n * n], vec![0.0; n * n]);
            DirectFlow::with_kernel(c.as_ref(), Kernel::Small).rhs(0.0, &m, &mut small);
            DirectFlow::with_kernel(c.as_ref(), Kernel::Blocked).rhs(0.0, &m, &mut blocked);
            let e = rel_diff(&blocked, &small);
            assert!(e < 1e-12, "direct n {n}: {e}");
            // Both exactly symmetric.
            for j in 0..n {
                for i in 0..j {
                    assert_eq!(blocked[j * n + i], blocked[i * n + j]);
                }
            }
            // The automatic choice is one of the two, bit for bit.
            let mut auto = vec![0.0; n * n];
            DirectFlow::new(c.as_ref()).rhs(0.0, &m, &mut auto);
            assert_eq!(
                auto,
                if n >= DIRECT_BLOCKED_FROM {
                    blocked
                } else {
                    small
                }
            );
            // Interneuron flow at a random, well-conditioned W = [I | 0] + 0.3 G / sqrt(k)
            // (k >= n, including k > n).
            for k in [n, n + 3, 2 * n] {
                let scale = 0.3 / (k as f64).sqrt();
                let w: Vec<f64> = (0..n * k)
                    .map(|p| {
                        scale * rng.sample::<f64, _>(StandardNormal)
                            + f64::from(p % (n + 1) == 0 && p < n * n)
                    })
                    .collect();
                let (mut small, mut blocked) = (vec![0.0; n * k], vec![0.0; n * k]);
                InterneuronFlow::with_kernel(c.as_ref(), k, Kernel::Small).rhs(0.0, &w, &mut small);
                InterneuronFlow::with_kernel(c.as_ref(), k, Kernel::Blocked).rhs(
                    0.0,
                    &w,
                    &mut blocked,
                );
                let e = rel_diff(&blocked, &small);
                assert!(e < 1e-12, "interneurons n {n} k {k}: {e}");
                let mut auto = vec![0.0; n * k];
                InterneuronFlow::new(c.as_ref(), k).rhs(0.0, &w, &mut auto);
                let expected = if n >= INTERNEURON_BLOCKED_FROM {
                    blocked
                } else {
                    small
                };
                assert_eq!(auto, expected);
            }
        }
    }

    #[test]
    fn blocked_measures_match_small_and_decide_the_right_side() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for n in [MEASURE_BLOCKED_FROM, 40] {
            let c = mat_from_flat(&random_spd(&mut rng, n, 0.5), n);
            let s = sqrt_psd(c.as_ref());
            // Directions: a random symmetric perturbation, and one along C^{1/2}.
            let g = random_spd(&mut rng, n, -0.5);
            let k = n + 2;
            for (dir, scale) in [(&g, 1.0), (&s, 1.0), (&g, -1.0)] {
                for t in [1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1] {
                    let m: Vec<f64> = (0..n * n).map(|p| s[p] + scale * t * dir[p]).collect();
                    // W = [M^{1/2} | 0] gives W W^T = M.
                    let half = sqrt_psd(mat_from_flat(&m, n).as_ref());
                    let mut w = vec![0.0; n * k];
                    w[..n * n].copy_from_slice(&half);
                    for layout in [Layout::M, Layout::W { k }] {
                        let y = if layout == Layout::M { &m } else { &w };
                        let mut sd = SqrtDistance::new(c.as_ref(), layout);
                        let mut we = WhiteningError::new(c.as_ref(), layout);
                        let (vs, vw) = (sd.value(y), we.value(y));
                        for eps in [1e-3, 1e-2, 0.05, vs, vw] {
                            let (gs, gw) = (sd.excess(y, eps), we.excess(y, eps));
                            assert_eq!(gs > 0.0, vs > eps, "n {n} t {t} eps {eps}: {gs}, {vs}");
                            assert_eq!(gw > 0.0, vw > eps, "n {n} t {t} eps {eps}: {gw}, {vw}");
                        }
                        // The whitening error by the small kernels (dense reference).
                        let x = {
                            let mm = mat_from_flat(&m, n);
                            let inv = mm.llt(Side::Lower).unwrap().solve(c.as_ref());
                            let a = mm.llt(Side::Lower).unwrap().solve(inv.transpose());
                            let a = Mat::from_fn(n, n, |i, j| {
                                0.5 * (a[(i, j)] + a[(j, i)]) - f64::from(u8::from(i == j))
                            });
                            a.self_adjoint_eigenvalues(Side::Lower)
                                .unwrap()
                                .iter()
                                .fold(0.0, |acc: f64, v| acc.max(v.abs()))
                        };
                        assert!((vw - x).abs() < 1e-10 * x.max(1.0), "{vw} vs {x}");
                    }
                }
            }
        }
    }

    #[test]
    fn blocked_sizes_reach_the_closed_form_convergence_time() {
        // Commuting start at n = 20 (blocked kernels and measures): the event time is the
        // largest scalar convergence time over the eigenvalues.
        let n = 20;
        let mut rng = ChaCha8Rng::seed_from_u64(20);
        let g = Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
        let q = g.qr().compute_Q();
        let q: Vec<f64> = (0..n * n).map(|p| q[(p % n, p / n)]).collect();
        let lambda: Vec<f64> = (0..n).map(|i| 1.0 + 4.0 * i as f64).collect();
        let c = mat_from_flat(&conj(&q, &lambda), n);
        let (cc, eps) = (9.0, 1e-2);
        let o = Options::with_tolerances(1e-10, 1e-12);
        let r = integrate_until_event(
            DirectFlow::new(c.as_ref()),
            Method::Dop853,
            0.0,
            &conj(&q, &vec![cc; n]),
            1e3,
            &o,
            Below::new(SqrtDistance::new(c.as_ref(), Layout::M), eps),
        )
        .unwrap();
        let expected = lambda
            .iter()
            .map(|&l| t_direct(l, cc, eps))
            .fold(0.0, f64::max);
        assert!(
            (r.t - expected).abs() < 1e-6 * expected,
            "{} vs {expected}",
            r.t
        );
        let k = n + 1;
        let mut w0 = vec![0.0; n * k];
        for p in 0..n * n {
            w0[p] = cc.sqrt() * q[p];
        }
        let r = integrate_until_event(
            InterneuronFlow::new(c.as_ref(), k),
            Method::Dop853,
            0.0,
            &w0,
            1e3,
            &o,
            Below::new(WhiteningError::new(c.as_ref(), Layout::W { k }), eps),
        )
        .unwrap();
        // ||C_yy - I|| = max_i |lambda_i / m_i^2 - 1| <= eps: m_i^2 = lambda_i / (1 -+ eps).
        let expected = lambda
            .iter()
            // m(t)^2 = l + (cc^2 - l) e^{-4t} reaches l / (1 - eps) from above.
            .map(|&l| 0.25 * ((cc * cc - l) / (l / (1.0 - eps) - l)).ln())
            .fold(0.0, f64::max);
        assert!(
            (r.t - expected).abs() < 1e-6 * expected,
            "{} vs {expected}",
            r.t
        );
    }

    #[test]
    fn indefinite_state_gives_nan_and_error_with_time() {
        let n = 3;
        let c = mat_from_flat(&conj(&householder(&[1.0, 1.0, 0.0]), &[1.0, 2.0, 3.0]), n);
        let bad = conj(&householder(&[0.0, 1.0, 1.0]), &[1.0, -0.5, 2.0]);
        let mut dy = vec![0.0; n * n];
        DirectFlow::new(c.as_ref()).rhs(0.0, &bad, &mut dy);
        assert!(dy.iter().all(|v| v.is_nan()));
        InducedFlow::new(c.as_ref()).rhs(0.0, &bad, &mut dy);
        assert!(dy.iter().all(|v| v.is_nan()));
        // Rank-deficient W (a zero row): W W^T singular.
        let w = [1.0, 0.0, 0.0, 0.5, 0.0, 2.0, 0.0, 0.0, 1.0];
        InterneuronFlow::new(c.as_ref(), 3).rhs(0.0, &w, &mut dy);
        assert!(dy.iter().all(|v| v.is_nan()));
        // The blocked kernels too (also for NaN in the state).
        DirectFlow::with_kernel(c.as_ref(), Kernel::Blocked).rhs(0.0, &bad, &mut dy);
        assert!(dy.iter().all(|v| v.is_nan()));
        InterneuronFlow::with_kernel(c.as_ref(), 3, Kernel::Blocked).rhs(0.0, &w, &mut dy);
        assert!(dy.iter().all(|v| v.is_nan()));
        let mut nan = conj(&householder(&[0.0, 1.0, 1.0]), &[1.0, 0.5, 2.0]);
        nan[4] = f64::NAN;
        DirectFlow::with_kernel(c.as_ref(), Kernel::Blocked).rhs(0.0, &nan, &mut dy);
        assert!(dy.iter().all(|v| v.is_nan()));
        let err = integrate(
            DirectFlow::new(c.as_ref()),
            Method::Dopri5,
            0.25,
            &bad,
            1.0,
            &Options::default(),
        )
        .unwrap_err();
        assert_eq!(err, OdeError::NonFinite { t: 0.25 });
        // The scalar direct flow through m = 0 (started negative with lambda tiny is invalid).
        let err = integrate(
            ScalarDirect::new(&[1.0]),
            Method::Tsit5,
            0.0,
            &[-1.0],
            1.0,
            &Options::default(),
        )
        .unwrap_err();
        assert_eq!(err.time(), Some(0.0));
    }

    #[test]
    fn error_measures_against_closed_forms() {
        let n = 3;
        let q = householder(&[0.3, 1.0, -2.0]);
        let lambda = [0.25, 4.0, 9.0];
        let c = mat_from_flat(&conj(&q, &lambda), n);
        // C^{1/2} = Q diag(sqrt lambda) Q^T.
        let s = sqrt_psd(c.as_ref());
        assert!(max_abs_diff(&s, &conj(&q, &[0.5, 2.0, 3.0])) < 1e-12);
        let mut sd = SqrtDistance::new(c.as_ref(), Layout::M);
        let mut we = WhiteningError::new(c.as_ref(), Layout::M);
        assert!(sd.value(&s) < 1e-12);
        assert!(we.value(&s) < 1e-12);
        for cc in [0.1, 1.0, 2.5, 10.0] {
            let m = conj(&q, &[cc; 3]);
            let sqrt_err = [0.5, 2.0, 3.0]
                .iter()
                .map(|a| (cc - a).abs())
                .fold(0.0, f64::max);
            let white_err = lambda
                .iter()
                .map(|l| (l / (cc * cc) - 1.0).abs())
                .fold(0.0, f64::max);
            assert!((sd.value(&m) - sqrt_err).abs() < 1e-12 * sqrt_err.max(1.0));
            assert!((we.value(&m) - white_err).abs() < 1e-10 * white_err.max(1.0));
            // W layout with k = 4: W = [sqrt(c) Q | 0].
            let k = 4;
            let mut w = vec![0.0; n * k];
            for p in 0..n * n {
                w[p] = cc.sqrt() * q[p];
            }
            let mut sdw = SqrtDistance::new(c.as_ref(), Layout::W { k });
            let mut wew = WhiteningError::new(c.as_ref(), Layout::W { k });
            assert!((sdw.value(&w) - sqrt_err).abs() < 1e-12 * sqrt_err.max(1.0));
            assert!((wew.value(&w) - white_err).abs() < 1e-10 * white_err.max(1.0));
        }
        // The Frobenius screen never changes the sign of value - eps.
        for cc in [0.4999, 0.5, 0.501, 0.6, 1.9, 2.0, 2.01, 3.0, 3.02, 3.1] {
            for eps in [1e-3, 1e-2, 0.1, 0.5, 1.0, 2.0] {
                let m = conj(&q, &[cc, 2.0 + (cc - 0.5), 3.0 - (cc - 0.5) * 0.3]);
                let exact = sd.value(&m) - eps;
                let screened = sd.excess(&m, eps);
                assert_eq!(exact > 0.0, screened > 0.0, "c {cc} eps {eps}");
                let exact = we.value(&m) - eps;
                let screened = we.excess(&m, eps);
                assert_eq!(exact > 0.0, screened > 0.0, "c {cc} eps {eps}");
            }
        }
        // Not positive definite: the whitening error is infinite.
        assert_eq!(we.value(&conj(&q, &[1.0, -1.0, 1.0])), f64::INFINITY);
    }

    #[test]
    fn reached_end_without_convergence() {
        let c = mat_from_flat(&[4.0, 0.0, 0.0, 9.0], 2);
        let r = integrate_until_event(
            DirectFlow::new(c.as_ref()),
            Method::Dopri5,
            0.0,
            &[100.0, 0.0, 0.0, 100.0],
            5.0,
            &Options::default(),
            Below::new(SqrtDistance::new(c.as_ref(), Layout::M), 1e-2),
        )
        .unwrap();
        assert_eq!(r.status, EventStatus::ReachedEnd);
        assert_eq!(r.t, 5.0);
        // m(5) for lambda = 9 from 100 by the closed form.
        assert!((r.y[3] - m_direct(9.0, 100.0, 5.0)).abs() < 1e-5);
    }

    /// A flow and a measure set up once and borrowed serve repeated integrations, which find
    /// the same event as freshly built ones (at a size with the blocked kernels and bounds).
    #[test]
    fn borrowed_flow_and_measure_are_reusable() {
        let n = 20;
        let c = Mat::from_fn(n, n, |i, j| {
            if i == j {
                1.0 + i as f64
            } else {
                0.3 / (1.0 + (i as f64 - j as f64).abs())
            }
        });
        let w0: Vec<f64> = (0..n * n)
            .map(|p| if p % n == p / n { 10.0 } else { 0.0 })
            .collect();
        let opts = Options::with_tolerances(1e-8, 1e-10);
        let fresh = integrate_until_event(
            InterneuronFlow::new(c.as_ref(), n),
            Method::Dop853,
            0.0,
            &w0,
            1e4,
            &opts,
            Below::new(SqrtDistance::new(c.as_ref(), Layout::W { k: n }), 1e-2),
        )
        .unwrap();
        let mut flow = InterneuronFlow::new(c.as_ref(), n);
        let mut measure = SqrtDistance::new(c.as_ref(), Layout::W { k: n });
        for _ in 0..2 {
            let r = integrate_until_event(
                &mut flow,
                Method::Dop853,
                0.0,
                &w0,
                1e4,
                &opts,
                Below::new(&mut measure, 1e-2),
            )
            .unwrap();
            assert_eq!(r.status, EventStatus::Found);
            assert_eq!(r.t.to_bits(), fresh.t.to_bits());
            assert_eq!(r.stats.rhs_evals, fresh.stats.rhs_evals);
        }
    }
}
