//! Rosenbrock 2(3) for stiff problems: the modified Rosenbrock triple of MATLAB's `ode23s`.
//!
//! L. F. Shampine & M. W. Reichelt, "The MATLAB ODE suite", SIAM J. Sci. Comput. 18 (1997)
//! 1-22, Sec. 3. With `d = 1/(2 + sqrt 2)`, `e32 = 6 + sqrt 2`, `W = I - h d J`, `T = df/dt`:
//!
//! ```text
//! F0 = f(t, y)
//! k1 = W^{-1} (F0 + h d T)
//! F1 = f(t + h/2, y + h/2 k1)
//! k2 = W^{-1} (F1 - k1) + k1
//! y_new = y + h k2                                   (order 2, L-stable)
//! F2 = f(t + h, y_new)                               (FSAL: next step's F0)
//! k3 = W^{-1} (F2 - e32 (k2 - F1) - 2 (k1 - F0) + h d T)
//! err = h/6 (k1 - 2 k2 + k3)                         (O(h^3))
//! y(t + theta h) = y + h [theta (1 - theta) k1 + theta (theta - 2 d) k2] / (1 - 2 d)
//! ```
//!
//! The Jacobian is analytic when [`System::jacobian`] provides it, else forward differences
//! (`dim` extra rhs evaluations).
//!
//! # Reusing the Jacobian and the factorisation
//!
//! The second-order solution is Wolfbrandt's W-method: it keeps order 2 for *any* matrix in
//! place of `J` (Hairer & Wanner, Solving ODEs II, Sec. IV.7), so `J` need not be exact.
//! Like Radau5, this stepper therefore keeps a finite-difference `J` (of dimension at least
//! [`REUSE_MIN_DIM`]; an analytic one is cheap and evaluated every step) across accepted steps
//! while the step-size controller lets `h` grow or hold, and recomputes it when
//! the controller shrinks `h`, when a step taken with an old `J` is rejected, or after
//! [`MAX_JACOBIAN_AGE`] accepted steps (a step rejected with an old `J` is retried at the same
//! `h` with a fresh one, since the error estimate is only reliable with an exact `J`); and it
//! keeps the LU factors of `W = I - h d J` while
//! `h` is unchanged (the driver holds `h` when the controller would grow it by less than
//! [`HOLD_STEP`]). `df/dt` of a non-autonomous system is recomputed every step (one rhs).
//!
//! # When it is the right choice
//!
//! For stiff problems at loose to moderate tolerances (rtol 1e-2 to 1e-5): it is L-stable, so
//! its step follows the accuracy of the slow components, not the stability limit of the fast
//! ones that forces explicit methods (`dopri5`, `dop853`) into many tiny steps. Each step costs
//! 2 rhs evaluations and 3 linear solves (plus a factorisation when `h` or `J` changes); as a
//! second-order method it needs many steps at tight tolerances, where an explicit high-order
//! method (`dop853`) wins on non-stiff problems. The whitening flows of paper 1 are not stiff
//! for the spectra of the papers; `rosenbrock23` is there for badly conditioned `C`, where
//! `lambda_max / lambda_min` is large and the flows' fastest modes set the explicit step.

use faer::dyn_stack::StackReq;
use faer::linalg::lu::partial_pivoting::{factor as lu_factor, solve as lu_solve};
use faer::perm::PermRef;
use faer::{MatMut, MatRef, Par};

use crate::scratch::Scratch;
use crate::stats::Stats;
use crate::system::System;

/// `d = 1 / (2 + sqrt 2)`.
const D: f64 = 0.292_893_218_813_452_5;
/// `e32 = 6 + sqrt 2`.
const E32: f64 = 7.414_213_562_373_095;

/// Accepted steps after which the Jacobian is recomputed even if no step was rejected.
pub const MAX_JACOBIAN_AGE: usize = 20;

/// Smallest dimension whose finite-difference Jacobian (`dim` rhs evaluations) is reused: below
/// it, or when [`System::jacobian`] is analytic, the Jacobian is evaluated every step, since the
/// extra steps an old Jacobian costs (up to twice as many on Robertson's problem at rtol 1e-6)
/// outweigh what it saves.
pub const REUSE_MIN_DIM: usize = 8;

/// The driver keeps `h` (and so the LU factors of `W`) when the controller proposes
/// `h_new / h` in `[1, HOLD_STEP]`.
pub const HOLD_STEP: f64 = 1.2;

/// Workspace of the Rosenbrock 2(3) method.
#[derive(Debug)]
pub struct Rosenbrock23 {
    dim: usize,
    jac: Vec<f64>,
    w: Vec<f64>,
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    stack: Scratch,
    f0: Vec<f64>,
    f1: Vec<f64>,
    f2: Vec<f64>,
    k1: Vec<f64>,
    k2: Vec<f64>,
    k3: Vec<f64>,
    dfdt: Vec<f64>,
    tmp: Vec<f64>,
    y_new: Vec<f64>,
    err: Vec<f64>,
    jac_current: bool,
    /// Accepted steps since `jac` was computed.
    jac_age: usize,
    /// `jac` is by finite differences of a system of dimension at least [`REUSE_MIN_DIM`], so it
    /// is kept across steps.
    reuse: bool,
    /// `df/dt` is at the current `(t, y)`.
    dfdt_current: bool,
    /// The step size `w` was factored with (NaN: not factored for the current `jac`).
    lu_h: f64,
    f0_valid: bool,
}

impl Rosenbrock23 {
    /// Workspace for a state of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        let req = StackReq::any_of(&[
            lu_factor::lu_in_place_scratch::<usize, f64>(dim, dim, Par::Seq, Default::default()),
            lu_solve::solve_in_place_scratch::<usize, f64>(dim, 1, Par::Seq),
        ]);
        let v = || vec![0.0; dim];
        Self {
            dim,
            jac: vec![0.0; dim * dim],
            w: vec![0.0; dim * dim],
            perm: vec![0; dim],
            perm_inv: vec![0; dim],
            stack: Scratch::new(req),
            f0: v(),
            f1: v(),
            f2: v(),
            k1: v(),
            k2: v(),
            k3: v(),
            dfdt: v(),
            tmp: v(),
            y_new: v(),
            err: v(),
            jac_current: false,
            jac_age: 0,
            reuse: false,
            dfdt_current: false,
            lu_h: f64::NAN,
            f0_valid: false,
        }
    }

    /// Sets `f(t, y)` of the current state.
    pub fn set_f0(&mut self, f0: &[f64]) {
        self.f0.copy_from_slice(f0);
        self.f0_valid = true;
        self.jac_current = false;
        self.dfdt_current = false;
    }

    /// The trial solution of the last attempt.
    pub fn y_new(&self) -> &[f64] {
        &self.y_new
    }

    /// The error estimate of the last attempt.
    pub fn error(&self) -> &[f64] {
        &self.err
    }

    /// Jacobian at `(t, y)`, analytic or by forward differences
    /// `J e_j = (f(y + delta_j e_j) - f(y)) / delta_j`, `delta_j = sqrt(eps) max(|y_j|, 1e-5)`.
    fn update_jacobian<S: System>(&mut self, system: &mut S, t: f64, y: &[f64], stats: &mut Stats) {
        let n = self.dim;
        stats.jacobian_evals += 1;
        let analytic = system.jacobian(t, y, &mut self.jac);
        self.reuse = !analytic && n >= REUSE_MIN_DIM;
        if !analytic {
            let sqrt_eps = f64::EPSILON.sqrt();
            self.tmp.copy_from_slice(y);
            for j in 0..n {
                let yj = y[j];
                let delta = {
                    let d = sqrt_eps * yj.abs().max(1e-5);
                    (yj + d) - yj
                };
                self.tmp[j] = yj + delta;
                let col = &mut self.jac[j * n..(j + 1) * n];
                system.rhs(t, &self.tmp, col);
                stats.rhs_evals += 1;
                for (c, f) in col.iter_mut().zip(&self.f0) {
                    *c = (*c - f) / delta;
                }
                self.tmp[j] = yj;
            }
        }
        self.jac_current = true;
        self.jac_age = 0;
        self.lu_h = f64::NAN;
    }

    /// `T = df/dt` at `(t, y)` by a forward difference (zero for autonomous systems).
    fn update_dfdt<S: System>(&mut self, system: &mut S, t: f64, y: &[f64], stats: &mut Stats) {
        if system.is_autonomous() {
            self.dfdt.fill(0.0);
        } else {
            let dt = f64::EPSILON.sqrt() * t.abs().max(1.0);
            let dt = (t + dt) - t;
            system.rhs(t + dt, y, &mut self.dfdt);
            stats.rhs_evals += 1;
            for (d, f) in self.dfdt.iter_mut().zip(&self.f0) {
                *d = (*d - f) / dt;
            }
        }
        self.dfdt_current = true;
    }

    /// Solves `W x = b` in place with the stored LU factors.
    fn solve(&mut self, b: &mut [f64]) {
        let n = self.dim;
        let w = MatRef::from_column_major_slice(&self.w, n, n);
        let perm = PermRef::new_checked(&self.perm, &self.perm_inv, n);
        let rhs = MatMut::from_column_major_slice_mut(b, n, 1);
        lu_solve::solve_in_place(w, w, perm, rhs, Par::Seq, self.stack.stack());
    }

    /// Computes a trial step of size `h` from `(t, y)`. Returns `false` if the iteration matrix
    /// is singular or a value is not finite.
    pub fn attempt<S: System>(
        &mut self,
        system: &mut S,
        t: f64,
        y: &[f64],
        h: f64,
        stats: &mut Stats,
    ) -> bool {
        let n = self.dim;
        if !self.f0_valid {
            system.rhs(t, y, &mut self.f0);
            stats.rhs_evals += 1;
            self.f0_valid = true;
        }
        if !self.jac_current {
            self.update_jacobian(system, t, y, stats);
        }
        if !self.dfdt_current {
            self.update_dfdt(system, t, y, stats);
        }
        // W = I - h d J, factored again only when h or J changed.
        if self.lu_h != h {
            for (w, j) in self.w.iter_mut().zip(&self.jac) {
                *w = -h * D * j;
            }
            for i in 0..n {
                self.w[i * n + i] += 1.0;
            }
            {
                let wm = MatMut::from_column_major_slice_mut(&mut self.w, n, n);
                lu_factor::lu_in_place(
                    wm,
                    &mut self.perm,
                    &mut self.perm_inv,
                    Par::Seq,
                    self.stack.stack(),
                    Default::default(),
                );
            }
            stats.lu_decompositions += 1;
            if (0..n).any(|i| {
                let u = self.w[i * n + i];
                u == 0.0 || !u.is_finite()
            }) {
                self.lu_h = f64::NAN;
                return false;
            }
            self.lu_h = h;
        }
        let hd = h * D;
        // k1 = W^{-1} (F0 + h d T)
        let mut k1 = std::mem::take(&mut self.k1);
        for i in 0..n {
            k1[i] = self.f0[i] + hd * self.dfdt[i];
        }
        self.solve(&mut k1);
        // F1 = f(t + h/2, y + h/2 k1)
        for i in 0..n {
            self.tmp[i] = y[i] + 0.5 * h * k1[i];
        }
        system.rhs(t + 0.5 * h, &self.tmp, &mut self.f1);
        stats.rhs_evals += 1;
        // k2 = W^{-1} (F1 - k1) + k1
        let mut k2 = std::mem::take(&mut self.k2);
        for i in 0..n {
            k2[i] = self.f1[i] - k1[i];
        }
        self.solve(&mut k2);
        for i in 0..n {
            k2[i] += k1[i];
            self.y_new[i] = y[i] + h * k2[i];
        }
        // F2 = f(t + h, y_new)
        system.rhs(t + h, &self.y_new, &mut self.f2);
        stats.rhs_evals += 1;
        // k3 = W^{-1} (F2 - e32 (k2 - F1) - 2 (k1 - F0) + h d T)
        let mut k3 = std::mem::take(&mut self.k3);
        for i in 0..n {
            k3[i] = self.f2[i] - E32 * (k2[i] - self.f1[i]) - 2.0 * (k1[i] - self.f0[i])
                + hd * self.dfdt[i];
        }
        self.solve(&mut k3);
        // err = h/6 (k1 - 2 k2 + k3)
        for i in 0..n {
            self.err[i] = h / 6.0 * (k1[i] - 2.0 * k2[i] + k3[i]);
        }
        self.k1 = k1;
        self.k2 = k2;
        self.k3 = k3;
        self.y_new.iter().all(|v| v.is_finite()) && self.f2.iter().all(|v| v.is_finite())
    }

    /// Marks the last attempt as accepted (FSAL: `F0 <- F2`); `growth` is the controller's
    /// `h_next / h`. The Jacobian is kept while the controller lets the step grow (or hold) and
    /// it is less than [`MAX_JACOBIAN_AGE`] steps old; `df/dt` moves to the new point.
    pub fn accept(&mut self, growth: f64) {
        std::mem::swap(&mut self.f0, &mut self.f2);
        self.jac_age += 1;
        if !self.reuse || self.jac_age >= MAX_JACOBIAN_AGE || growth < 1.0 {
            self.jac_current = false;
        }
        self.dfdt_current = false;
    }

    /// Whether the Jacobian is kept across steps (and so holding `h` keeps the factors of `W`).
    pub fn reuses_jacobian(&self) -> bool {
        self.reuse
    }

    /// Marks the last attempt as rejected: a Jacobian from an earlier step is recomputed at the
    /// current point before the retry (a fresh one is kept). Returns `true` when it was old:
    /// the error estimate assumes an exact Jacobian, so the driver then retries the same `h`.
    pub fn reject(&mut self) -> bool {
        let old = self.jac_age > 0;
        if old {
            self.jac_current = false;
        }
        old
    }

    /// Dense output of the last accepted step:
    /// `y(t_old + theta h) = y_old + h [theta (1-theta) k1 + theta (theta - 2d) k2] / (1 - 2d)`.
    pub fn dense(&self, y_old: &[f64], h: f64, theta: f64, out: &mut [f64]) {
        let w1 = theta * (1.0 - theta) / (1.0 - 2.0 * D);
        let w2 = theta * (theta - 2.0 * D) / (1.0 - 2.0 * D);
        for i in 0..self.dim {
            out[i] = y_old[i] + h * (w1 * self.k1[i] + w2 * self.k2[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::FnSystem;

    /// Fixed-step global error on `y' = -2 t y^2` (non-autonomous: exercises `df/dt`) and on
    /// the oscillator: the method has order 2.
    #[test]
    fn fixed_step_order_two() {
        let run = |steps: usize| {
            let mut sys = FnSystem::new(1, |t, y: &[f64], dy: &mut [f64]| {
                dy[0] = -2.0 * t * y[0] * y[0]
            });
            let mut ros = Rosenbrock23::new(1);
            let mut stats = Stats::default();
            let h = 2.0 / steps as f64;
            let mut y = vec![1.0];
            for i in 0..steps {
                assert!(ros.attempt(&mut sys, i as f64 * h, &y, h, &mut stats));
                y.copy_from_slice(ros.y_new());
                ros.accept(1.0);
            }
            // One dimension: a Jacobian and a factorisation every step.
            assert_eq!(stats.lu_decompositions, steps);
            assert_eq!(stats.jacobian_evals, steps);
            (y[0] - 0.2).abs()
        };
        let e: Vec<f64> = [50, 100, 200, 400].iter().map(|&n| run(n)).collect();
        for w in e.windows(2) {
            let ratio = w[0] / w[1];
            assert!((ratio - 4.0).abs() < 0.4, "error ratio {ratio} ({e:?})");
        }
    }

    #[test]
    fn error_estimate_is_third_order() {
        // One step from y(0) = 1 of y' = -y: the estimate scales like h^3.
        let est = |h: f64| {
            let mut sys = FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| dy[0] = -y[0]);
            let mut ros = Rosenbrock23::new(1);
            let mut stats = Stats::default();
            assert!(ros.attempt(&mut sys, 0.0, &[1.0], h, &mut stats));
            ros.error()[0].abs()
        };
        let ratio = est(0.02) / est(0.01);
        assert!((ratio - 8.0).abs() < 0.5, "{ratio}");
    }

    /// Robertson's chemical kinetics (Hairer & Wanner II, Sec. IV.1), stiff with rate constants
    /// 0.04, 3e7, 1e4: the solution at t = 40 against the reference of Hairer & Wanner's test
    /// set. Three dimensions: below REUSE_MIN_DIM, a Jacobian every step.
    #[test]
    fn robertson_matches_the_reference() {
        let sys = FnSystem::new(3, |_t, y: &[f64], dy: &mut [f64]| {
            dy[0] = -0.04 * y[0] + 1e4 * y[1] * y[2];
            dy[2] = 3e7 * y[1] * y[1];
            dy[1] = -dy[0] - dy[2];
        });
        let mut o = crate::Options::with_tolerances(1e-6, 1e-10);
        o.output = crate::Output::Final;
        let sol = crate::integrate(
            sys,
            crate::Method::Rosenbrock23,
            0.0,
            &[1.0, 0.0, 0.0],
            40.0,
            &o,
        )
        .unwrap();
        let y = sol.last_state();
        let reference = [0.715_827_068_7, 9.185_534_764e-6, 0.284_163_745_7];
        for (i, (a, b)) in y.iter().zip(reference).enumerate() {
            assert!((a - b).abs() <= 1e-4 * b, "y[{i}] = {a}, reference {b}");
        }
        assert!(
            sol.stats.jacobian_evals >= sol.stats.accepted_steps,
            "{:?}",
            sol.stats
        );
    }

    /// The Brusselator with diffusion on 32 grid points (Hairer & Wanner II, Sec. IV.1, alpha =
    /// 1/50; 64 unknowns, finite-difference Jacobian): the state at t = 10 against DOP853 at
    /// rtol 1e-12, with each Jacobian serving several steps and each factorisation more than one.
    #[test]
    fn brusselator_reuses_jacobians_and_stays_accurate() {
        let n = 32usize;
        let a = 0.02 * ((n + 1) * (n + 1)) as f64;
        let bruss = move |_t: f64, y: &[f64], dy: &mut [f64]| {
            for i in 0..n {
                let (u, v) = (y[i], y[n + i]);
                let ul = if i == 0 { 1.0 } else { y[i - 1] };
                let ur = if i == n - 1 { 1.0 } else { y[i + 1] };
                let vl = if i == 0 { 3.0 } else { y[n + i - 1] };
                let vr = if i == n - 1 { 3.0 } else { y[n + i + 1] };
                dy[i] = 1.0 + u * u * v - 4.0 * u + a * (ul - 2.0 * u + ur);
                dy[n + i] = 3.0 * u - u * u * v + a * (vl - 2.0 * v + vr);
            }
        };
        let y0: Vec<f64> = (0..2 * n)
            .map(|i| {
                let x = (i % n + 1) as f64 / (n + 1) as f64;
                if i < n {
                    1.0 + (2.0 * std::f64::consts::PI * x).sin()
                } else {
                    3.0
                }
            })
            .collect();
        let run = |method, tol: f64| {
            let mut o = crate::Options::with_tolerances(tol, tol);
            o.output = crate::Output::Final;
            crate::integrate(FnSystem::new(2 * n, bruss), method, 0.0, &y0, 10.0, &o).unwrap()
        };
        let reference = run(crate::Method::Dop853, 1e-12);
        let sol = run(crate::Method::Rosenbrock23, 1e-6);
        let err = sol
            .last_state()
            .iter()
            .zip(reference.last_state())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        // Second order: the global error is about tol^(2/3) (1e-4 at 1e-6).
        assert!(err < 1e-3, "max error {err}");
        let s = sol.stats;
        assert!(3 * s.jacobian_evals < s.accepted_steps, "{s:?}");
        assert!(s.lu_decompositions < s.accepted_steps, "{s:?}");
    }
}
