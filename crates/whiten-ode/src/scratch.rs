//! Preallocated scratch memory for faer's in-place kernels.

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};

/// A faer scratch buffer allocated once (so hot loops do not allocate).
pub(crate) struct Scratch(MemBuffer);

impl Scratch {
    /// Allocates enough memory for `req`.
    pub(crate) fn new(req: StackReq) -> Self {
        Self(MemBuffer::new(req))
    }

    /// The buffer as a faer stack.
    pub(crate) fn stack(&mut self) -> &mut MemStack {
        MemStack::new(&mut self.0)
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scratch({} bytes)", self.0.len())
    }
}
