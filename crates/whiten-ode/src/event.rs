//! Event functions `g(t, y)` and their location on the dense output.
//!
//! An event is a sign change of `g` along the solution. It is detected between consecutive
//! accepted steps and located by Brent's method on the step's interpolant, so the reported
//! time does not overshoot to the end of the step.

/// Which sign changes of `g` count as an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Direction {
    /// Any sign change (or an exact zero).
    #[default]
    Any,
    /// The first time `g <= 0` (from positive values); also fires at `t0` if `g(t0) <= 0`.
    /// Use `g = error - eps` for "first time the error drops below eps".
    Falling,
    /// The first time `g >= 0` (from negative values); also fires at `t0` if `g(t0) >= 0`.
    Rising,
}

/// An event function `g(t, y)`; closures `FnMut(f64, &[f64]) -> f64` are events with
/// [`Direction::Any`].
pub trait EventFunction {
    /// Value of `g` at `(t, y)`.
    fn value(&mut self, t: f64, y: &[f64]) -> f64;

    /// Which sign changes count.
    fn direction(&self) -> Direction {
        Direction::Any
    }
}

impl<F: FnMut(f64, &[f64]) -> f64> EventFunction for F {
    fn value(&mut self, t: f64, y: &[f64]) -> f64 {
        self(t, y)
    }
}

/// Wraps an event function with an explicit direction.
#[derive(Clone, Debug)]
pub struct Directed<E> {
    /// The event function.
    pub event: E,
    /// The direction that counts.
    pub direction: Direction,
}

impl<E: EventFunction> EventFunction for Directed<E> {
    fn value(&mut self, t: f64, y: &[f64]) -> f64 {
        self.event.value(t, y)
    }
    fn direction(&self) -> Direction {
        self.direction
    }
}

/// Whether the change `g_old -> g_new` is an event for `dir`.
pub(crate) fn crosses(dir: Direction, g_old: f64, g_new: f64) -> bool {
    match dir {
        Direction::Any => (g_old < 0.0 && g_new >= 0.0) || (g_old > 0.0 && g_new <= 0.0),
        Direction::Falling => g_old > 0.0 && g_new <= 0.0,
        Direction::Rising => g_old < 0.0 && g_new >= 0.0,
    }
}

/// Whether `g(t0)` already is an event (the state starts on the event side).
pub(crate) fn fires_at_start(dir: Direction, g0: f64) -> bool {
    match dir {
        Direction::Any => g0 == 0.0,
        Direction::Falling => g0 <= 0.0,
        Direction::Rising => g0 >= 0.0,
    }
}
