//! Work counters of one integration.

/// Statistics of one integration: how much work the solver did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Right-hand side evaluations (including those of the initial-step heuristic and of
    /// finite-difference Jacobians).
    pub rhs_evals: usize,
    /// Accepted steps.
    pub accepted_steps: usize,
    /// Rejected steps (error too large or non-finite trial state).
    pub rejected_steps: usize,
    /// Jacobian evaluations (analytic or by finite differences).
    pub jacobian_evals: usize,
    /// LU decompositions of the iteration matrix (Rosenbrock only).
    pub lu_decompositions: usize,
}
