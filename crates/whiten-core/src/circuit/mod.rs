//! Paper 2's nonlinear interneuron circuit (Lipshutz & Simoncelli, NeurIPS 2024).
//!
//! `N` primary neurons with responses `r`, `K` interneurons with unit-norm input weights
//! `W = [w_1 .. w_K]` (N x K), gains `g_i >= 0` and activation parameters `theta_i` in
//! `[1, 3]`. Interneuron `i` sees `z_i = w_i^T r` and outputs `n_i = g_i f(theta_i, z_i)`
//! ([`activation`]). The response to a signal `s` is the steady state of
//! `dr/dt = s - W n(r)`, i.e. the root of
//!
//! ```text
//! F(r) = s - sum_i w_i g_i f(theta_i, w_i^T r) = 0,
//! ```
//!
//! the minimiser of the convex potential `P(r) = -s^T r + sum_i g_i c(theta_i, w_i^T r)`.
//! [`Circuit::respond`] finds it by damped Newton from `r = s` (Jacobian of `-F`:
//! `H = sum_i g_i f'(theta_i, z_i) w_i w_i^T`), with closed-form 1x1 and 2x2 solves for
//! `N = 1, 2` and a small Cholesky otherwise.
//!
//! An interneuron may carry several activation components (`theta` fixed on a grid, each
//! with its own gain, all on one direction `w_i`: [`Circuit::with_components`]); the units of
//! one direction then move it together when `W` learns. [`Circuit::feedback_shares`] measures
//! each unit's share of the feedback, to name units whose gain has collapsed.
//!
//! Learning ([`Circuit::learn_step`], module [`learn`]) follows the authors' rules exactly;
//! [`Trainer`] (module [`train`]) drives it, either with the reference schedule or with a
//! robust one (normalised, clipped, decaying steps and a convergence test on running means of
//! the constraints).

pub mod activation;
pub mod learn;
mod linalg;
pub mod train;

pub use activation::{Activation, BDerivative, GaussianSpread};
pub use learn::{LearningRates, StepInfo};
pub use train::{RobustSchedule, Schedule, TrainReport, Trainer};

use crate::error::{CoreError, Result};
use rand::{Rng, RngExt};

/// Lower bound of `theta` (the reference clips there).
pub const THETA_MIN: f64 = 1.0;
/// Upper bound of `theta` (the reference clips there).
pub const THETA_MAX: f64 = 3.0;

/// Stopping rule of the damped Newton response solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverOptions {
    /// Absolute tolerance on `||F(r)||`.
    pub abs_tol: f64,
    /// Relative tolerance on `||F(r)||`, times `||s||`.
    pub rel_tol: f64,
    /// Newton iterations allowed before [`CoreError::ResponseNotConverged`].
    pub max_iterations: usize,
}

impl Default for SolverOptions {
    /// `||F|| <= 1e-12 + 1e-12 ||s||` within 100 iterations (Newton converges quadratically,
    /// so the last step usually lands near rounding level anyway).
    fn default() -> Self {
        Self {
            abs_tol: 1e-12,
            rel_tol: 1e-12,
            max_iterations: 100,
        }
    }
}

/// Options of a [`Circuit`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CircuitOptions {
    /// Which `b'(theta)` the `theta` learning signal uses (default: the authors' reference).
    pub b_derivative: BDerivative,
    /// Response solver tolerances.
    pub solver: SolverOptions,
}

/// Paper 2's circuit: weights `W` (N x K, column-major), gains `g`, activation parameters
/// `theta`, and reusable scratch space for learning.
#[derive(Debug, Clone)]
pub struct Circuit {
    n: usize,
    k: usize,
    /// `W`, column-major: column `i` is `w[i*n .. (i+1)*n]`.
    w: Vec<f64>,
    g: Vec<f64>,
    theta: Vec<f64>,
    options: CircuitOptions,
    /// Per-interneuron constants of `f(theta_i, .)`, refreshed whenever `theta` changes.
    acts: Vec<Activation>,
    /// `Some(group)`: unit `i` shares its direction with every unit of the same `group[i]`.
    groups: Option<Vec<usize>>,

    scratch: learn::Scratch,
}

/// Borrowed view of what the response solve needs (lets learning borrow the scratch mutably).
pub(crate) struct Model<'a> {
    n: usize,
    k: usize,
    w: &'a [f64],
    g: &'a [f64],
    acts: &'a [Activation],
    solver: &'a SolverOptions,
}

/// Buffers of the generic-N Newton solve (empty for N <= 2).
#[derive(Debug, Clone, Default)]
pub(crate) struct Workspace {
    /// `F(r)` at the current iterate.
    f: Vec<f64>,
    /// Newton direction.
    d: Vec<f64>,
    /// Trial point and its residual.
    r_trial: Vec<f64>,
    f_trial: Vec<f64>,
    /// `H` at the current iterate and at the trial point (row-major N x N).
    h: Vec<f64>,
    h_trial: Vec<f64>,
    /// Cholesky work copy of `H`.
    chol: Vec<f64>,
}

impl Workspace {
    fn new(n: usize) -> Self {
        if n <= 2 {
            return Self::default();
        }
        Self {
            f: vec![0.0; n],
            d: vec![0.0; n],
            r_trial: vec![0.0; n],
            f_trial: vec![0.0; n],
            h: vec![0.0; n * n],
            h_trial: vec![0.0; n * n],
            chol: vec![0.0; n * n],
        }
    }
}

/// Armijo constant of the backtracking on `||F||`: accept `||F(r + t d)|| <= (1 - 1e-4 t) ||F(r)||`.
const ARMIJO: f64 = 1e-4;
/// Smallest step fraction tried before the line search gives up.
const MIN_STEP: f64 = 1e-12;

fn check_finite(x: &[f64], what: &'static str) -> Result<()> {
    if x.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(CoreError::NonFinite { what })
    }
}

impl Circuit {
    /// A circuit with `n` primary neurons and `k >= n` interneurons.
    ///
    /// `w` is `W` in column-major order (`n * k` values, column `i` is `w_i`), `g` and `theta`
    /// have `k` values. Checks shapes, finiteness, `g_i >= 0`, `theta_i` in `[1, 3]`, and
    /// **rescales every column of `W` to unit norm** (the model's constraint; a zero column is
    /// refused). To keep the authors' non-unit initial `W` use [`Circuit::reference_init`].
    pub fn new(
        n: usize,
        k: usize,
        w: Vec<f64>,
        g: Vec<f64>,
        theta: Vec<f64>,
        options: CircuitOptions,
    ) -> Result<Self> {
        let mut c = Self::new_raw(n, k, w, g, theta, options)?;
        c.normalise_w()?;
        Ok(c)
    }

    /// As [`Circuit::new`] but without rescaling `W`'s columns.
    fn new_raw(
        n: usize,
        k: usize,
        w: Vec<f64>,
        g: Vec<f64>,
        theta: Vec<f64>,
        options: CircuitOptions,
    ) -> Result<Self> {
        if n == 0 {
            return Err(CoreError::InvalidParameter {
                name: "n",
                value: 0.0,
                reason: "need at least one primary neuron",
            });
        }
        if k < n {
            return Err(CoreError::TooFewInterneurons { n, k });
        }
        for (what, got, expected) in [
            ("W (n * k)", w.len(), n * k),
            ("g", g.len(), k),
            ("theta", theta.len(), k),
        ] {
            if got != expected {
                return Err(CoreError::DimensionMismatch {
                    what,
                    expected,
                    got,
                });
            }
        }
        check_finite(&w, "W")?;
        check_finite(&g, "g")?;
        check_finite(&theta, "theta")?;
        check_params(&g, &theta)?;
        check_solver(&options.solver)?;
        let acts = theta
            .iter()
            .map(|&t| Activation::new(t, options.b_derivative))
            .collect();
        Ok(Self {
            n,
            k,
            w,
            g,
            theta,
            options,
            acts,
            groups: None,
            scratch: learn::Scratch::new(n, k),
        })
    }

    /// The authors' initialisation: `g_i = 0.2 + 0.05 U`, `theta_i = theta_base + 0.1 U`
    /// (U uniform on [0, 1], per interneuron; they use `theta_base = 2.2` in 1D, `2.3` in 2D),
    /// `W = 1` (all ones) for `n = 1`, else `W_0 = Q_N I_{N x K} Q_K` with Haar-random
    /// orthogonal `Q_N`, `Q_K`.
    ///
    /// Reference behaviour kept on purpose: for `k > n` the columns of `W_0` are *not* unit
    /// (their norms are those of rows of a random rotation's first `n` rows, below 1); the
    /// first [`Circuit::learn_step`] with `eta_w > 0` normalises them, as in the authors' code.
    /// Call [`Circuit::normalise_w`] right after to start from unit columns instead.
    pub fn reference_init<R: Rng + ?Sized>(
        n: usize,
        k: usize,
        theta_base: f64,
        rng: &mut R,
    ) -> Result<Self> {
        if !(THETA_MIN..=THETA_MAX - 0.1).contains(&theta_base) {
            return Err(CoreError::InvalidParameter {
                name: "theta_base",
                value: theta_base,
                reason: "theta_base + 0.1 U must stay in [1, 3]: need 1 <= theta_base <= 2.9",
            });
        }
        if n == 0 || k < n {
            return Err(CoreError::TooFewInterneurons { n, k });
        }
        let g: Vec<f64> = (0..k).map(|_| 0.2 + 0.05 * rng.random::<f64>()).collect();
        let theta: Vec<f64> = (0..k)
            .map(|_| theta_base + 0.1 * rng.random::<f64>())
            .collect();
        let w = if n == 1 {
            vec![1.0; k]
        } else {
            // W_0 = Q_N [I_N 0] Q_K: column i is Q_N times the first n entries of Q_K's column i
            let haar = |m: usize, rng: &mut R| -> Vec<f64> {
                let q = crate::cov::haar_orthogonal(m, rng);
                (0..m * m).map(|p| q[(p % m, p / m)]).collect()
            };
            let qn = haar(n, rng);
            let qk = haar(k, rng);
            let mut w = vec![0.0; n * k];
            for i in 0..k {
                for row in 0..n {
                    w[i * n + row] = (0..n).map(|j| qn[j * n + row] * qk[i * k + j]).sum();
                }
            }
            w
        };
        Self::new_raw(n, k, w, g, theta, CircuitOptions::default())
    }

    /// A circuit whose interneurons each carry several activation components: from this
    /// circuit's `K` directions, unit `(i, j)` (index `i * grid.len() + j`) has direction
    /// `w_i`, `theta = grid[j]` and gain `g_i`, and the units of one direction share it while
    /// `W` learns ([`Circuit::directions`]). Interneuron `i` then outputs
    /// `n_i = sum_j g_ij f(grid[j], w_i^T r)`: with `grid = [1, 3]` its constraints ask for
    /// unit variance and the Gaussian fourth moment of its projection, whatever the signal's
    /// sparsity (where a single `theta` would run into its bound).
    pub fn with_components(&self, grid: &[f64]) -> Result<Self> {
        if grid.is_empty() {
            return Err(CoreError::InvalidParameter {
                name: "theta grid",
                value: 0.0,
                reason: "needs at least one value",
            });
        }
        let (n, m) = (self.n, grid.len());
        let mut w = Vec::with_capacity(self.k * m * n);
        let mut g = Vec::with_capacity(self.k * m);
        let mut theta = Vec::with_capacity(self.k * m);
        let mut group = Vec::with_capacity(self.k * m);
        for i in 0..self.k {
            for &t in grid {
                w.extend_from_slice(&self.w[i * n..(i + 1) * n]);
                g.push(self.g[i]);
                theta.push(t);
                group.push(i);
            }
        }
        let mut c = Self::new_raw(n, self.k * m, w, g, theta, self.options)?;
        c.groups = Some(group);
        Ok(c)
    }

    /// Rebuilds a circuit exactly from what its accessors return ([`Circuit::n`],
    /// [`Circuit::k`], [`Circuit::w`], [`Circuit::g`], [`Circuit::theta`],
    /// [`Circuit::options`], [`Circuit::directions`]): the same checks as [`Circuit::new`],
    /// but `W` is kept as it is (not rescaled), so a stored circuit comes back bit for bit.
    pub fn from_parts(
        n: usize,
        k: usize,
        w: Vec<f64>,
        g: Vec<f64>,
        theta: Vec<f64>,
        options: CircuitOptions,
        directions: Option<Vec<usize>>,
    ) -> Result<Self> {
        let mut c = Self::new_raw(n, k, w, g, theta, options)?;
        if let Some(d) = &directions
            && d.len() != k
        {
            return Err(CoreError::DimensionMismatch {
                what: "directions",
                expected: k,
                got: d.len(),
            });
        }
        c.groups = directions;
        Ok(c)
    }

    /// Which direction each unit uses: `None` when every unit has its own column of `W`;
    /// `Some(d)` when unit `i` shares direction `d[i]` with the other units of that value
    /// ([`Circuit::with_components`]).
    pub fn directions(&self) -> Option<&[usize]> {
        self.groups.as_deref()
    }

    /// Rescales every column of `W` to unit norm (`W` must have no zero column).
    pub fn normalise_w(&mut self) -> Result<()> {
        normalise_columns(&mut self.w, self.n)
    }

    /// Replaces the options (refreshes the cached activation constants).
    pub fn set_options(&mut self, options: CircuitOptions) -> Result<()> {
        check_solver(&options.solver)?;
        self.options = options;
        self.refresh_activations();
        Ok(())
    }

    /// Sets the gains (`k` values, finite, `>= 0`).
    pub fn set_g(&mut self, g: &[f64]) -> Result<()> {
        if g.len() != self.k {
            return Err(CoreError::DimensionMismatch {
                what: "g",
                expected: self.k,
                got: g.len(),
            });
        }
        check_finite(g, "g")?;
        check_params(g, &self.theta)?;
        self.g.copy_from_slice(g);
        Ok(())
    }

    /// Sets the activation parameters (`k` values in `[1, 3]`).
    pub fn set_theta(&mut self, theta: &[f64]) -> Result<()> {
        if theta.len() != self.k {
            return Err(CoreError::DimensionMismatch {
                what: "theta",
                expected: self.k,
                got: theta.len(),
            });
        }
        check_finite(theta, "theta")?;
        check_params(&self.g, theta)?;
        self.theta.copy_from_slice(theta);
        self.refresh_activations();
        Ok(())
    }

    fn refresh_activations(&mut self) {
        let rule = self.options.b_derivative;
        for (act, &t) in self.acts.iter_mut().zip(&self.theta) {
            *act = Activation::new(t, rule);
        }
    }

    /// Number of primary neurons `N`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of interneurons `K`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// `W`, column-major N x K (column `i` is `w()[i*n .. (i+1)*n]`).
    pub fn w(&self) -> &[f64] {
        &self.w
    }

    /// Gains `g` (K).
    pub fn g(&self) -> &[f64] {
        &self.g
    }

    /// Activation parameters `theta` (K).
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// The options.
    pub fn options(&self) -> &CircuitOptions {
        &self.options
    }

    /// The cached activation constants of each interneuron.
    pub fn activations(&self) -> &[Activation] {
        &self.acts
    }

    fn model(&self) -> Model<'_> {
        Model {
            n: self.n,
            k: self.k,
            w: &self.w,
            g: &self.g,
            acts: &self.acts,
            solver: &self.options.solver,
        }
    }

    /// The response `r` to one signal `s` (both of length N): the root of
    /// `F(r) = s - sum_i w_i g_i f(theta_i, w_i^T r)`, by damped Newton from `r = s`.
    /// Returns the number of Newton iterations.
    ///
    /// Errors: [`CoreError::ResponseNotConverged`] when the tolerance is not met,
    /// [`CoreError::NotPositiveDefinite`] when the Jacobian is singular (e.g. all `g_i = 0`
    /// or `W` not spanning R^N), [`CoreError::NonFinite`] for a non-finite signal.
    pub fn respond(&self, s: &[f64], r: &mut [f64]) -> Result<usize> {
        self.check_len(s.len(), "signal")?;
        self.check_len(r.len(), "response")?;
        let mut ws = Workspace::new(self.n);
        solve(&self.model(), s, r, &mut ws)
    }

    /// Responses to a batch: `s` and `r` hold `B` samples as columns (N x B, column-major).
    pub fn respond_batch(&self, s: &[f64], r: &mut [f64]) -> Result<()> {
        if !s.len().is_multiple_of(self.n) {
            return Err(CoreError::DimensionMismatch {
                what: "signal batch (multiple of n)",
                expected: s.len() / self.n * self.n,
                got: s.len(),
            });
        }
        if r.len() != s.len() {
            return Err(CoreError::DimensionMismatch {
                what: "response batch",
                expected: s.len(),
                got: r.len(),
            });
        }
        let mut ws = Workspace::new(self.n);
        let model = self.model();
        for (st, rt) in s.chunks_exact(self.n).zip(r.chunks_exact_mut(self.n)) {
            solve(&model, st, rt, &mut ws)?;
        }
        Ok(())
    }

    /// Interneuron outputs `n_i = g_i f(theta_i, w_i^T r)` for a response `r` (N) into
    /// `n_out` (K).
    pub fn interneuron_outputs(&self, r: &[f64], n_out: &mut [f64]) -> Result<()> {
        self.check_len(r.len(), "response")?;
        if n_out.len() != self.k {
            return Err(CoreError::DimensionMismatch {
                what: "interneuron outputs",
                expected: self.k,
                got: n_out.len(),
            });
        }
        for i in 0..self.k {
            let z = dot(&self.w[i * self.n..(i + 1) * self.n], r);
            n_out[i] = self.g[i] * self.acts[i].f(z);
        }
        Ok(())
    }

    /// Each unit's share of the feedback the interneurons send, over a batch of responses
    /// (`N x B`, column-major): `share_i = sum_t n_it^2 / sum_t sum_j n_jt^2` with
    /// `n_it = g_i f(theta_i, w_i^T r_t)`. A unit whose share is below about `1e-6` does
    /// nothing that a reader of its gain alone would see: its gain has collapsed (the
    /// constraint it enforces is slack, or its `theta` cannot fit the signal).
    pub fn feedback_shares(&self, responses: &[f64]) -> Result<Vec<f64>> {
        if responses.is_empty() || !responses.len().is_multiple_of(self.n) {
            return Err(CoreError::DimensionMismatch {
                what: "responses (non-empty multiple of n)",
                expected: (responses.len() / self.n).max(1) * self.n,
                got: responses.len(),
            });
        }
        let mut energy = vec![0.0; self.k];
        for r in responses.chunks_exact(self.n) {
            for (i, e) in energy.iter_mut().enumerate() {
                let z = dot(&self.w[i * self.n..(i + 1) * self.n], r);
                let out = self.g[i] * self.acts[i].f(z);
                *e += out * out;
            }
        }
        let total: f64 = energy.iter().sum();
        check_finite(&energy, "feedback energy")?;
        Ok(energy
            .iter()
            .map(|e| if total > 0.0 { e / total } else { 0.0 })
            .collect())
    }

    /// The residual `F(r) = s - sum_i w_i g_i f(theta_i, w_i^T r)` into `out` (N).
    pub fn residual(&self, s: &[f64], r: &[f64], out: &mut [f64]) -> Result<()> {
        self.check_len(s.len(), "signal")?;
        self.check_len(r.len(), "response")?;
        self.check_len(out.len(), "residual")?;
        out.copy_from_slice(s);
        for i in 0..self.k {
            let wi = &self.w[i * self.n..(i + 1) * self.n];
            let gf = self.g[i] * self.acts[i].f(dot(wi, r));
            for j in 0..self.n {
                out[j] -= wi[j] * gf;
            }
        }
        Ok(())
    }

    fn check_len(&self, got: usize, what: &'static str) -> Result<()> {
        if got == self.n {
            Ok(())
        } else {
            Err(CoreError::DimensionMismatch {
                what,
                expected: self.n,
                got,
            })
        }
    }
}

fn check_params(g: &[f64], theta: &[f64]) -> Result<()> {
    if let Some(&v) = g.iter().find(|&&v| v < 0.0) {
        return Err(CoreError::InvalidParameter {
            name: "g",
            value: v,
            reason: "gains must be >= 0",
        });
    }
    if let Some(&v) = theta
        .iter()
        .find(|&&v| !(THETA_MIN..=THETA_MAX).contains(&v))
    {
        return Err(CoreError::InvalidParameter {
            name: "theta",
            value: v,
            reason: "theta must lie in [1, 3]",
        });
    }
    Ok(())
}

fn check_solver(o: &SolverOptions) -> Result<()> {
    for (name, v) in [("solver abs_tol", o.abs_tol), ("solver rel_tol", o.rel_tol)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(CoreError::InvalidParameter {
                name,
                value: v,
                reason: "tolerance must be finite and >= 0",
            });
        }
    }
    if o.abs_tol == 0.0 && o.rel_tol == 0.0 {
        return Err(CoreError::InvalidParameter {
            name: "solver abs_tol",
            value: 0.0,
            reason: "abs_tol and rel_tol cannot both be 0",
        });
    }
    if o.max_iterations == 0 {
        return Err(CoreError::InvalidParameter {
            name: "solver max_iterations",
            value: 0.0,
            reason: "need at least one iteration",
        });
    }
    Ok(())
}

/// Rescales the columns (length `n`) of a column-major matrix to unit norm.
fn normalise_columns(w: &mut [f64], n: usize) -> Result<()> {
    for col in w.chunks_exact_mut(n) {
        let norm = col.iter().map(|v| v * v).sum::<f64>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return Err(CoreError::InvalidParameter {
                name: "W column norm",
                value: norm,
                reason: "every column of W must be non-zero and finite",
            });
        }
        for v in col.iter_mut() {
            *v /= norm;
        }
    }
    Ok(())
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Damped Newton solve of `F(r) = 0` from `r = s`, dispatching on N.
fn solve(m: &Model<'_>, s: &[f64], r: &mut [f64], ws: &mut Workspace) -> Result<usize> {
    check_finite(s, "signal")?;
    match m.n {
        1 => solve_1d(m, s[0], &mut r[0]),
        2 => solve_2d(m, [s[0], s[1]], r),
        _ => solve_nd(m, s, r, ws),
    }
}

fn not_converged(iterations: usize, residual: f64) -> CoreError {
    CoreError::ResponseNotConverged {
        iterations,
        residual,
    }
}

fn singular(min_eigenvalue: f64) -> CoreError {
    CoreError::NotPositiveDefinite {
        what: "response Jacobian sum_i g_i f'_i w_i w_i^T",
        min_eigenvalue,
    }
}

/// N = 1: `F(r) = s - sum_i w_i g_i f_i(w_i r)`, `H = sum_i g_i f'_i w_i^2`, step `F / H`.
fn solve_1d(m: &Model<'_>, s: f64, r_out: &mut f64) -> Result<usize> {
    let opt = m.solver;
    let tol = opt.abs_tol + opt.rel_tol * s.abs();
    let eval = |r: f64| -> (f64, f64) {
        let mut f = s;
        let mut h = 0.0;
        for i in 0..m.k {
            let (wi, gi) = (m.w[i], m.g[i]);
            let (fv, fp) = m.acts[i].f_and_prime(wi * r);
            f -= wi * gi * fv;
            h += gi * fp * wi * wi;
        }
        (f, h)
    };
    let mut r = s;
    let (mut f, mut h) = eval(r);
    for it in 0..opt.max_iterations {
        if f.abs() <= tol {
            *r_out = r;
            return Ok(it);
        }
        if h.is_nan() || h <= 0.0 {
            return Err(singular(h));
        }
        let d = f / h;
        let mut t = 1.0;
        loop {
            let rt = r + t * d;
            let (ft, ht) = eval(rt);
            if ft.abs() <= (1.0 - ARMIJO * t) * f.abs() {
                (r, f, h) = (rt, ft, ht);
                break;
            }
            t *= 0.5;
            if t < MIN_STEP {
                return Err(not_converged(it, f.abs()));
            }
        }
    }
    if f.abs() <= tol {
        *r_out = r;
        Ok(opt.max_iterations)
    } else {
        Err(not_converged(opt.max_iterations, f.abs()))
    }
}

/// N = 2: `H = [[h00, h01], [h01, h11]]` solved in closed form.
fn solve_2d(m: &Model<'_>, s: [f64; 2], r_out: &mut [f64]) -> Result<usize> {
    let opt = m.solver;
    let tol = opt.abs_tol + opt.rel_tol * (s[0] * s[0] + s[1] * s[1]).sqrt();
    let eval = |r: [f64; 2]| -> ([f64; 2], [f64; 3]) {
        let mut f = s;
        let mut h = [0.0; 3];
        for i in 0..m.k {
            let (w0, w1) = (m.w[2 * i], m.w[2 * i + 1]);
            let (fv, fp) = m.acts[i].f_and_prime(w0 * r[0] + w1 * r[1]);
            let gf = m.g[i] * fv;
            f[0] -= w0 * gf;
            f[1] -= w1 * gf;
            let gp = m.g[i] * fp;
            h[0] += gp * w0 * w0;
            h[1] += gp * w0 * w1;
            h[2] += gp * w1 * w1;
        }
        (f, h)
    };
    let norm = |f: [f64; 2]| (f[0] * f[0] + f[1] * f[1]).sqrt();
    let mut r = s;
    let (mut f, mut h) = eval(r);
    let mut fn_ = norm(f);
    for it in 0..opt.max_iterations {
        if fn_ <= tol {
            r_out.copy_from_slice(&r);
            return Ok(it);
        }
        let det = h[0] * h[2] - h[1] * h[1];
        if !(h[0] > 0.0 && det > 0.0) {
            return Err(singular(det / h[0].max(h[2]).max(f64::MIN_POSITIVE)));
        }
        // d = H^{-1} F
        let d = [
            (h[2] * f[0] - h[1] * f[1]) / det,
            (h[0] * f[1] - h[1] * f[0]) / det,
        ];
        let mut t = 1.0;
        loop {
            let rt = [r[0] + t * d[0], r[1] + t * d[1]];
            let (ft, ht) = eval(rt);
            let ftn = norm(ft);
            if ftn <= (1.0 - ARMIJO * t) * fn_ {
                (r, f, h, fn_) = (rt, ft, ht, ftn);
                break;
            }
            t *= 0.5;
            if t < MIN_STEP {
                return Err(not_converged(it, fn_));
            }
        }
        let _ = f;
    }
    if fn_ <= tol {
        r_out.copy_from_slice(&r);
        Ok(opt.max_iterations)
    } else {
        Err(not_converged(opt.max_iterations, fn_))
    }
}

/// `F(r)` and `H(r)` (row-major, lower triangle) for generic N.
fn eval_nd(m: &Model<'_>, s: &[f64], r: &[f64], f: &mut [f64], h: &mut [f64]) -> f64 {
    let n = m.n;
    f.copy_from_slice(s);
    h.fill(0.0);
    for i in 0..m.k {
        let wi = &m.w[i * n..(i + 1) * n];
        let (fv, fp) = m.acts[i].f_and_prime(dot(wi, r));
        let gf = m.g[i] * fv;
        let gp = m.g[i] * fp;
        for a in 0..n {
            f[a] -= wi[a] * gf;
            let ga = gp * wi[a];
            for b in 0..=a {
                h[a * n + b] += ga * wi[b];
            }
        }
    }
    dot(f, f).sqrt()
}

/// Generic N: Newton direction by Cholesky of `H`.
fn solve_nd(m: &Model<'_>, s: &[f64], r: &mut [f64], ws: &mut Workspace) -> Result<usize> {
    let n = m.n;
    if ws.f.len() != n {
        *ws = Workspace::new(n);
    }
    let opt = m.solver;
    let tol = opt.abs_tol + opt.rel_tol * dot(s, s).sqrt();
    r.copy_from_slice(s);
    let mut fn_ = eval_nd(m, s, r, &mut ws.f, &mut ws.h);
    for it in 0..opt.max_iterations {
        if fn_ <= tol {
            return Ok(it);
        }
        ws.chol.copy_from_slice(&ws.h);
        ws.d.copy_from_slice(&ws.f);
        if !linalg::cholesky_solve(&mut ws.chol, &mut ws.d, n) {
            return Err(singular(f64::NAN));
        }
        let mut t = 1.0;
        loop {
            for a in 0..n {
                ws.r_trial[a] = r[a] + t * ws.d[a];
            }
            let ftn = eval_nd(m, s, &ws.r_trial, &mut ws.f_trial, &mut ws.h_trial);
            if ftn <= (1.0 - ARMIJO * t) * fn_ {
                r.copy_from_slice(&ws.r_trial);
                std::mem::swap(&mut ws.f, &mut ws.f_trial);
                std::mem::swap(&mut ws.h, &mut ws.h_trial);
                fn_ = ftn;
                break;
            }
            t *= 0.5;
            if t < MIN_STEP {
                return Err(not_converged(it, fn_));
            }
        }
    }
    if fn_ <= tol {
        Ok(opt.max_iterations)
    } else {
        Err(not_converged(opt.max_iterations, fn_))
    }
}

#[cfg(test)]
mod tests;
