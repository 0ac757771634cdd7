//! Embedded explicit Runge-Kutta stepper driven by a [`Tableau`], with dense output.

use crate::stats::Stats;
use crate::system::System;
use crate::tableau::Tableau;

/// Workspace and last-step data of an explicit embedded Runge-Kutta method.
///
/// The stepper does not own the system nor the current state: [`ExplicitRk::attempt`] computes a
/// trial step from `(t, y)` into [`ExplicitRk::y_new`], and after acceptance
/// [`ExplicitRk::dense`] interpolates inside that step.
#[derive(Clone, Debug)]
pub struct ExplicitRk {
    tab: &'static Tableau,
    dim: usize,
    /// Stage derivatives, stage `i` at `k[i*dim..(i+1)*dim]`; `k[0..dim] = f(t, y)`.
    k: Vec<f64>,
    stage_y: Vec<f64>,
    y_new: Vec<f64>,
    err: Vec<f64>,
    weights: Vec<f64>,
    /// Whether the first stage holds `f(t, y)` of the current state.
    f0_valid: bool,
    /// Whether the last stage holds `f(t+h, y_new)` of the last accepted step (FSAL).
    pending_fsal: bool,
}

impl ExplicitRk {
    /// Workspace for `tab` and a state of dimension `dim`.
    pub fn new(tab: &'static Tableau, dim: usize) -> Self {
        let s = tab.stages();
        Self {
            tab,
            dim,
            k: vec![0.0; s * dim],
            stage_y: vec![0.0; dim],
            y_new: vec![0.0; dim],
            err: vec![0.0; dim],
            weights: vec![0.0; s],
            f0_valid: false,
            pending_fsal: false,
        }
    }

    /// The tableau.
    pub fn tableau(&self) -> &'static Tableau {
        self.tab
    }

    /// Sets the first stage to `f0 = f(t, y)` of the current state.
    pub fn set_f0(&mut self, f0: &[f64]) {
        self.k[..self.dim].copy_from_slice(f0);
        self.f0_valid = true;
        self.pending_fsal = false;
    }

    /// `f(t, y)` at the current state, if known.
    pub fn f0(&self) -> &[f64] {
        &self.k[..self.dim]
    }

    /// The trial solution of the last [`attempt`](Self::attempt).
    pub fn y_new(&self) -> &[f64] {
        &self.y_new
    }

    /// The error estimate `h sum e_i k_i` of the last attempt.
    pub fn error(&self) -> &[f64] {
        &self.err
    }

    /// Computes a trial step of size `h` from `(t, y)`: all stages, `y_new` and the error
    /// estimate. Returns `false` if the trial state or a stage derivative is not finite.
    pub fn attempt<S: System>(
        &mut self,
        system: &mut S,
        t: f64,
        y: &[f64],
        h: f64,
        stats: &mut Stats,
    ) -> bool {
        let n = self.dim;
        let s = self.tab.stages();
        if self.pending_fsal {
            // FSAL: the last stage of the accepted step is f(t, y) of the new current state.
            self.k.copy_within((s - 1) * n..s * n, 0);
            self.pending_fsal = false;
            self.f0_valid = true;
        }
        if !self.f0_valid {
            let (k0, _) = self.k.split_at_mut(n);
            system.rhs(t, y, k0);
            stats.rhs_evals += 1;
            self.f0_valid = true;
        }
        for i in 1..s {
            let a = self.tab.a[i];
            // stage_y = y + h sum_{j<i} a_ij k_j
            self.stage_y.copy_from_slice(y);
            for (j, &aij) in a.iter().enumerate() {
                if aij != 0.0 {
                    let kj = &self.k[j * n..(j + 1) * n];
                    let ha = h * aij;
                    for (yi, ki) in self.stage_y.iter_mut().zip(kj) {
                        *yi += ha * ki;
                    }
                }
            }
            let ti = t + self.tab.c[i] * h;
            if self.tab.fsal && i == s - 1 {
                // Last FSAL stage is evaluated at y_new = stage_y.
                self.y_new.copy_from_slice(&self.stage_y);
            }
            let (_, rest) = self.k.split_at_mut(i * n);
            system.rhs(ti, &self.stage_y, &mut rest[..n]);
            stats.rhs_evals += 1;
        }
        if !self.tab.fsal {
            self.y_new.copy_from_slice(y);
            for (j, &bj) in self.tab.b.iter().enumerate() {
                let kj = &self.k[j * n..(j + 1) * n];
                for (yi, ki) in self.y_new.iter_mut().zip(kj) {
                    *yi += h * bj * ki;
                }
            }
        }
        // err = h sum_i e_i k_i
        self.err.fill(0.0);
        for (j, &ej) in self.tab.e.iter().enumerate() {
            if ej != 0.0 {
                let kj = &self.k[j * n..(j + 1) * n];
                for (ei, ki) in self.err.iter_mut().zip(kj) {
                    *ei += h * ej * ki;
                }
            }
        }
        let last = &self.k[(s - 1) * n..s * n];
        self.y_new.iter().all(|v| v.is_finite()) && last.iter().all(|v| v.is_finite())
    }

    /// Marks the last attempt as accepted: the dense output now refers to that step and the
    /// next attempt starts from its FSAL stage.
    pub fn accept(&mut self) {
        if self.tab.fsal {
            self.pending_fsal = true;
        } else {
            self.f0_valid = false;
        }
    }

    /// Dense output of the last accepted step from `(t_old, y_old)` with size `h`:
    /// `y(t_old + theta h) = y_old + h sum_i b_i(theta) k_i`.
    pub fn dense(&mut self, y_old: &[f64], h: f64, theta: f64, out: &mut [f64]) {
        let n = self.dim;
        self.tab.dense_weights(theta, &mut self.weights);
        out.copy_from_slice(y_old);
        for (j, &w) in self.weights.iter().enumerate() {
            if w != 0.0 {
                let kj = &self.k[j * n..(j + 1) * n];
                let hw = h * w;
                for (o, ki) in out.iter_mut().zip(kj) {
                    *o += hw * ki;
                }
            }
        }
    }
}
