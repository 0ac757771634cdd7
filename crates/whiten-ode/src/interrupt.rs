//! A shared stop flag that long integrations poll: [`Interrupt`].
//!
//! A caller (a command-line tool on Ctrl-C, a notebook's cancel button) sets the flag from
//! another thread; the drivers check it before every step attempt and end with
//! [`crate::OdeError::Interrupted`] at the time reached. Checking is one relaxed atomic load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A cloneable handle on a shared stop flag. Clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A new, unset flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle on an existing flag (the one a signal handler sets, say).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Self {
        Self(flag)
    }

    /// Asks every holder of the flag to stop.
    pub fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was asked for.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Two handles are equal when they share one flag.
impl PartialEq for Interrupt {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let a = Interrupt::new();
        let b = a.clone();
        assert!(!b.is_set());
        a.set();
        assert!(b.is_set());
        assert_eq!(a, b);
        assert_ne!(a, Interrupt::new());
    }
}
