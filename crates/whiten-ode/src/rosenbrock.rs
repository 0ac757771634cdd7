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
//! The Jacobian is analytic when [`System::jacobian`] provides it, else forward differences;
//! it is evaluated once per accepted step and reused after rejections.

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
            f0_valid: false,
        }
    }

    /// Sets `f(t, y)` of the current state.
    pub fn set_f0(&mut self, f0: &[f64]) {
        self.f0.copy_from_slice(f0);
        self.f0_valid = true;
        self.jac_current = false;
    }

    /// The trial solution of the last attempt.
    pub fn y_new(&self) -> &[f64] {
        &self.y_new
    }

    /// The error estimate of the last attempt.
    pub fn error(&self) -> &[f64] {
        &self.err
    }

    /// Jacobian (and `df/dt` for non-autonomous systems) at `(t, y)`, analytic or by forward
    /// differences `J e_j = (f(y + delta_j e_j) - f(y)) / delta_j`,
    /// `delta_j = sqrt(eps) max(|y_j|, 1e-5)`.
    fn update_jacobian<S: System>(&mut self, system: &mut S, t: f64, y: &[f64], stats: &mut Stats) {
        let n = self.dim;
        stats.jacobian_evals += 1;
        if !system.jacobian(t, y, &mut self.jac) {
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
        self.jac_current = true;
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
        // W = I - h d J
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
            return false;
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

    /// Marks the last attempt as accepted (FSAL: `F0 <- F2`; the Jacobian becomes stale).
    pub fn accept(&mut self) {
        std::mem::swap(&mut self.f0, &mut self.f2);
        self.jac_current = false;
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
                ros.accept();
            }
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
}
