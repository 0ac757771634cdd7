//! The ODE system `dy/dt = f(t, y)` over a flat state vector.

/// An ODE system `dy/dt = f(t, y)`, `y` in R^dim, evaluated in place.
///
/// Matrix-valued states are stored column-major in the flat slice.
pub trait System {
    /// Dimension of the state.
    fn dim(&self) -> usize;

    /// Writes `f(t, y)` into `dy` (both of length `dim()`).
    fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]);

    /// Writes the Jacobian `df/dy` (column-major, `dim x dim`) into `jac` and returns `true`,
    /// or returns `false` when not provided (the solver then uses finite differences).
    fn jacobian(&mut self, t: f64, y: &[f64], jac: &mut [f64]) -> bool {
        let _ = (t, y, jac);
        false
    }

    /// `true` if `f` does not depend on `t` (saves the `df/dt` evaluation of Rosenbrock
    /// methods).
    fn is_autonomous(&self) -> bool {
        false
    }
}

impl<S: System + ?Sized> System for &mut S {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
        (**self).rhs(t, y, dy)
    }
    fn jacobian(&mut self, t: f64, y: &[f64], jac: &mut [f64]) -> bool {
        (**self).jacobian(t, y, jac)
    }
    fn is_autonomous(&self) -> bool {
        (**self).is_autonomous()
    }
}

/// A system defined by a closure `f(t, y, dy)` (non-autonomous, no Jacobian).
pub struct FnSystem<F> {
    dim: usize,
    f: F,
}

impl<F: FnMut(f64, &[f64], &mut [f64])> FnSystem<F> {
    /// Wraps the closure `f(t, y, dy)` for a state of dimension `dim`.
    pub fn new(dim: usize, f: F) -> Self {
        Self { dim, f }
    }
}

impl<F: FnMut(f64, &[f64], &mut [f64])> System for FnSystem<F> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
        (self.f)(t, y, dy)
    }
}
