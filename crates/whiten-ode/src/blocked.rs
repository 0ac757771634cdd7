//! faer-backed kernels for the flows above the small-matrix crossover
//! ([`DIRECT_BLOCKED_FROM`], [`INTERNEURON_BLOCKED_FROM`]).
//!
//! Same quantities as the hand-written kernels of `crate::small`, computed with faer's blocked
//! Cholesky factorisation, triangular solves and (triangular) matrix products, which reach many
//! times the throughput of plain loops once `n` is a few dozen. All matrices are column-major
//! faer views of caller-owned flat buffers; nothing is allocated per evaluation.
//!
//! With `C = S S^T` (lower Cholesky factor `S`, computed once) and `M = L L^T`:
//!
//! ```text
//! Y = L^{-1} S            (lower triangular: block columns solved on their trailing rows only)
//! Z = L^{-T} Y = M^{-1} S
//! A = Z Z^T = M^{-1} C M^{-1}   (symmetric: lower triangle computed, then mirrored)
//! ```
//!
//! Cost `n^3/3` (Cholesky) `+ n^3/3` (`Y`) `+ n^3` (`Z`) `+ n^3` (`A`, lower half) flops,
//! about half of one explicit inverse and two dense products.

use faer::dyn_stack::StackReq;
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::scratch::Scratch;

/// Smallest `n` at which the direct flow uses these kernels instead of `crate::small`
/// (measured per evaluation with `benches/flows.rs`: the hand-written kernels win below, the
/// two tie at 14 to 16).
pub(crate) const DIRECT_BLOCKED_FROM: usize = 16;

/// Smallest `n` at which the interneuron flow (`k = n`) uses these kernels (measured as above:
/// tie at 12, blocked 25% faster at 14).
pub(crate) const INTERNEURON_BLOCKED_FROM: usize = 12;

/// Smallest `n` at which the error measures (`SqrtDistance`, `WhiteningError`) form their
/// matrices with these kernels and decide the stopping check with `crate::normtest`.
pub(crate) const MEASURE_BLOCKED_FROM: usize = 16;

/// Column block of the triangular-right-hand-side solve `Y = L^{-1} S`.
const TRI_BLOCK: usize = 32;

/// `A = M^{-1} C M^{-1}` from the Cholesky factor of `M`, in preallocated faer matrices.
#[derive(Debug)]
pub(crate) struct Whitener {
    n: usize,
    /// Lower Cholesky factor `S` of `C` (zeros above the diagonal).
    s: Mat<f64>,
    /// `M` (lower triangle), then its factor `L`.
    l: Mat<f64>,
    /// `Y`, then `Z`.
    z: Mat<f64>,
    stack: Scratch,
}

impl Whitener {
    /// For the input covariance `C` (`n x n`); `None` if `C` is not positive definite.
    pub(crate) fn new(c: MatRef<'_, f64>) -> Option<Self> {
        let n = c.nrows();
        let mut stack = Scratch::new(StackReq::any_of(&[cholesky_in_place_scratch::<f64>(
            n,
            Par::Seq,
            Default::default(),
        )]));
        let mut s = c.to_owned();
        cholesky_in_place(
            s.as_mut(),
            Default::default(),
            Par::Seq,
            stack.stack(),
            Default::default(),
        )
        .ok()?;
        zero_upper(s.as_mut());
        Some(Self {
            n,
            s,
            l: Mat::zeros(n, n),
            z: Mat::zeros(n, n),
            stack,
        })
    }

    /// `M` as a mutable matrix, to be filled (lower triangle at least) before [`Self::factor`].
    pub(crate) fn m_mut(&mut self) -> MatMut<'_, f64> {
        self.l.as_mut()
    }

    /// Factors `M = L L^T` in place (lower triangle read); `false` if not positive definite.
    pub(crate) fn factor(&mut self) -> bool {
        // faer accepts NaN pivots silently: check them here.
        cholesky_in_place(
            self.l.as_mut(),
            Default::default(),
            Par::Seq,
            self.stack.stack(),
            Default::default(),
        )
        .is_ok()
            && (0..self.n).all(|i| {
                let d = self.l[(i, i)];
                d > 0.0 && d.is_finite()
            })
    }

    /// After [`Self::factor`]: `Z = M^{-1} S`, so that `Z Z^T = M^{-1} C M^{-1}`.
    pub(crate) fn solve_z(&mut self) {
        let n = self.n;
        self.z.copy_from(&self.s);
        let l = self.l.as_ref();
        // Y = L^{-1} S: block column j0.. of S is zero above row j0, and so is Y's.
        let mut j0 = 0;
        while j0 < n {
            let b = TRI_BLOCK.min(n - j0);
            solve_lower_triangular_in_place(
                l.submatrix(j0, j0, n - j0, n - j0),
                self.z.as_mut().submatrix_mut(j0, j0, n - j0, b),
                Par::Seq,
            );
            j0 += b;
        }
        // Z = L^{-T} Y
        solve_upper_triangular_in_place(l.transpose(), self.z.as_mut(), Par::Seq);
    }

    /// After [`Self::solve_z`]: the lower triangle of `out <- Z Z^T = M^{-1} C M^{-1}`.
    pub(crate) fn gram_lower(&self, out: MatMut<'_, f64>) {
        tri_matmul(
            out,
            BlockStructure::TriangularLower,
            Accum::Replace,
            self.z.as_ref(),
            BlockStructure::Rectangular,
            self.z.transpose(),
            BlockStructure::Rectangular,
            1.0,
            Par::Seq,
        );
    }
}

/// `M <- W W^T` (lower triangle only) for `W` `n x k`.
pub(crate) fn gram_lower(w: MatRef<'_, f64>, m: MatMut<'_, f64>) {
    tri_matmul(
        m,
        BlockStructure::TriangularLower,
        Accum::Replace,
        w,
        BlockStructure::Rectangular,
        w.transpose(),
        BlockStructure::Rectangular,
        1.0,
        Par::Seq,
    );
}

/// Copies the lower triangle of the square `a` onto its upper triangle.
pub(crate) fn mirror_lower(mut a: MatMut<'_, f64>) {
    let n = a.nrows();
    for j in 0..n {
        for i in 0..j {
            a[(i, j)] = a[(j, i)];
        }
    }
}

fn zero_upper(mut a: MatMut<'_, f64>) {
    let n = a.nrows();
    for j in 0..n {
        for i in 0..j {
            a[(i, j)] = 0.0;
        }
    }
}

/// Column-major `n x k` view of a flat slice.
pub(crate) fn view(y: &[f64], n: usize, k: usize) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(y, n, k)
}

/// Mutable column-major `n x k` view of a flat slice.
pub(crate) fn view_mut(y: &mut [f64], n: usize, k: usize) -> MatMut<'_, f64> {
    MatMut::from_column_major_slice_mut(y, n, k)
}
