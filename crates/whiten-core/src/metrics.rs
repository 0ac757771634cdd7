//! Whitening errors (operator norms of `C_yy - I` and `M - C^{1/2}`) and a sliding-window
//! estimate of the output covariance for online learning.

use faer::{Mat, MatRef, Side};

use crate::cov::symmetrise;
use crate::error::Result;
use crate::linear::WhiteningNetwork;

/// Operator norm of a symmetric matrix: `max |eigenvalue|` (only the lower triangle is read).
/// NaN if the eigenvalues cannot be computed (e.g. NaN entries); 0 for an empty matrix.
///
/// # Panics
/// If `a` is not square.
pub fn op_norm_sym(a: MatRef<'_, f64>) -> f64 {
    assert_eq!(a.nrows(), a.ncols(), "op_norm_sym needs a square matrix");
    if a.nrows() == 0 {
        return 0.0;
    }
    if !a.is_all_finite() {
        return f64::NAN;
    }
    match a.self_adjoint_eigenvalues(Side::Lower) {
        // Ascending: the extreme eigenvalues are at the ends.
        Ok(v) => v[0].abs().max(v[v.len() - 1].abs()),
        Err(_) => f64::NAN,
    }
}

/// Operator norm (largest singular value) of any matrix; NaN if it cannot be computed, 0 for
/// an empty matrix.
pub fn op_norm(a: MatRef<'_, f64>) -> f64 {
    if a.nrows() == 0 || a.ncols() == 0 {
        return 0.0;
    }
    if !a.is_all_finite() {
        return f64::NAN;
    }
    match a.singular_values() {
        Ok(v) => v[0],
        Err(_) => f64::NAN,
    }
}

/// `||C_yy - I||_op` for a given (symmetric) output covariance.
pub fn whitening_error_from_cyy(cyy: MatRef<'_, f64>) -> f64 {
    let n = cyy.nrows();
    // Symmetrise so that the lower-triangle eigensolver sees the whole matrix.
    let d = Mat::from_fn(n, n, |i, j| {
        0.5 * (cyy[(i, j)] + cyy[(j, i)]) - if i == j { 1.0 } else { 0.0 }
    });
    op_norm_sym(d.as_ref())
}

/// Whitening error of a network for input covariance `C`: `||C_yy - I||_op` with
/// `C_yy = M^{-1} C M^{-1}`. Fails like [`WhiteningNetwork::output_covariance`].
pub fn whitening_error(net: &dyn WhiteningNetwork, c: MatRef<'_, f64>) -> Result<f64> {
    Ok(whitening_error_from_cyy(net.output_covariance(c)?.as_ref()))
}

/// Distance to the optimum: `||M - C^{1/2}||_op` (both symmetric; the difference is
/// symmetrised before the eigenvalues are taken).
///
/// # Panics
/// If the shapes differ or are not square.
pub fn sqrt_error(m: MatRef<'_, f64>, c_sqrt: MatRef<'_, f64>) -> f64 {
    assert_eq!(
        (m.nrows(), m.ncols()),
        (c_sqrt.nrows(), c_sqrt.ncols()),
        "M and C^(1/2) must have the same shape"
    );
    let d = Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] - c_sqrt[(i, j)]);
    op_norm_sym(symmetrise(d.as_ref()).as_ref())
}

/// Sliding-window estimate of an output covariance: the mean of `y y^T` over the last `window`
/// samples (uncentred, like the networks' `C_yy`).
///
/// Keeps a ring buffer of the samples and a running sum of their outer products, so a push costs
/// `O(n^2)`: add the new `y y^T`, subtract the one leaving the window. Adding and subtracting
/// accumulates rounding, so every `window` pushes the sum is recomputed from the buffer
/// (`O(window n^2)`, i.e. still `O(n^2)` amortised): the drift never exceeds that of `2 window`
/// additions.
#[derive(Debug, Clone)]
pub struct SlidingCovariance {
    n: usize,
    window: usize,
    /// Ring buffer, sample `s` at `[s * n, (s + 1) * n)`.
    buf: Vec<f64>,
    /// Slot of the next sample.
    head: usize,
    len: usize,
    /// Running sum of `y y^T` (full `n x n`, column-major) over the buffered samples.
    sum: Vec<f64>,
    pushes_since_refresh: usize,
}

impl SlidingCovariance {
    /// An empty estimator for samples of dimension `n` over the last `window` samples.
    ///
    /// # Panics
    /// If `window == 0`.
    pub fn new(n: usize, window: usize) -> Self {
        assert!(window > 0, "the window must hold at least one sample");
        Self {
            n,
            window,
            buf: vec![0.0; n * window],
            head: 0,
            len: 0,
            sum: vec![0.0; n * n],
            pushes_since_refresh: 0,
        }
    }

    /// Dimension `n` of the samples.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// The window length.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Number of samples currently held (at most `window`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no sample has been pushed since creation or [`clear`](Self::clear).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True once `window` samples have been pushed.
    pub fn is_full(&self) -> bool {
        self.len == self.window
    }

    /// Forgets all samples.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.sum.fill(0.0);
        self.pushes_since_refresh = 0;
    }

    /// Adds `sign * y y^T` to the running sum.
    fn accumulate(sum: &mut [f64], y: &[f64], sign: f64) {
        let n = y.len();
        for j in 0..n {
            let syj = sign * y[j];
            let col = &mut sum[j * n..(j + 1) * n];
            for (s, &yi) in col.iter_mut().zip(y) {
                *s += yi * syj;
            }
        }
    }

    /// Pushes one sample (length `n`), dropping the oldest if the window is full.
    ///
    /// # Panics
    /// If `y.len() != n`.
    pub fn push(&mut self, y: &[f64]) {
        let n = self.n;
        assert_eq!(y.len(), n, "sample length must be n");
        let slot = self.head * n..(self.head + 1) * n;
        if self.is_full() {
            let (buf, sum) = (&self.buf, &mut self.sum);
            Self::accumulate(sum, &buf[slot.clone()], -1.0);
        } else {
            self.len += 1;
        }
        self.buf[slot].copy_from_slice(y);
        Self::accumulate(&mut self.sum, y, 1.0);
        self.head = (self.head + 1) % self.window;
        self.pushes_since_refresh += 1;
        if self.pushes_since_refresh >= self.window {
            self.refresh();
        }
    }

    /// Pushes every column of `y` (`n x T`), in order.
    ///
    /// # Panics
    /// If `y` does not have `n` rows.
    pub fn push_columns(&mut self, y: MatRef<'_, f64>) {
        assert_eq!(y.nrows(), self.n, "samples must have n rows");
        let mut col = vec![0.0; self.n];
        for j in 0..y.ncols() {
            for (i, c) in col.iter_mut().enumerate() {
                *c = y[(i, j)];
            }
            self.push(&col);
        }
    }

    /// Recomputes the running sum from the buffered samples (removes accumulated drift).
    fn refresh(&mut self) {
        self.sum.fill(0.0);
        let n = self.n;
        for s in 0..self.len {
            let (buf, sum) = (&self.buf, &mut self.sum);
            Self::accumulate(sum, &buf[s * n..(s + 1) * n], 1.0);
        }
        self.pushes_since_refresh = 0;
    }

    /// Mean of `y y^T` over the samples held (the last `min(len, window)` pushed), exactly
    /// symmetric. All entries are NaN when no sample is held.
    pub fn estimate(&self) -> Mat<f64> {
        let n = self.n;
        let inv = 1.0 / self.len as f64;
        if self.len == 0 {
            return Mat::from_fn(n, n, |_, _| f64::NAN);
        }
        Mat::from_fn(n, n, |i, j| {
            0.5 * (self.sum[j * n + i] + self.sum[i * n + j]) * inv
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cov::{covariance_with_spectrum, haar_orthogonal, sample_covariance, sym_sqrt};
    use crate::linear::DirectNetwork;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn norms_of_known_matrices() {
        // diag(-3, 2) rotated: eigenvalues -3, 2; singular values 3, 2.
        let mut rng = ChaCha8Rng::seed_from_u64(30);
        let q = haar_orthogonal(2, &mut rng);
        let a = covariance_with_spectrum(q.as_ref(), &[-3.0, 2.0]);
        assert!((op_norm_sym(a.as_ref()) - 3.0).abs() < 1e-14);
        assert!((op_norm(a.as_ref()) - 3.0).abs() < 1e-14);
        // A rectangular matrix [[3, 0, 0], [0, 0, 4]]: singular values 4, 3.
        let r = Mat::from_fn(2, 3, |i, j| match (i, j) {
            (0, 0) => 3.0,
            (1, 2) => 4.0,
            _ => 0.0,
        });
        assert!((op_norm(r.as_ref()) - 4.0).abs() < 1e-14);
        assert!(op_norm_sym(Mat::from_fn(1, 1, |_, _| f64::NAN).as_ref()).is_nan());
    }

    #[test]
    fn whitening_and_sqrt_errors() {
        // M = 2 I and C = diag(1, 9): C_yy = diag(1/4, 9/4), error max(3/4, 5/4) = 5/4.
        let c = Mat::from_fn(2, 2, |i, j| {
            if i != j {
                0.0
            } else if i == 0 {
                1.0
            } else {
                9.0
            }
        });
        let net = DirectNetwork::scaled_identity(2, 2.0).unwrap();
        assert!((whitening_error(&net, c.as_ref()).unwrap() - 1.25).abs() < 1e-14);
        // ||2 I - diag(1, 3)|| = 1.
        let cs = sym_sqrt(c.as_ref()).unwrap();
        assert!((sqrt_error(net.m(), cs.as_ref()) - 1.0).abs() < 1e-14);
        assert!(sqrt_error(cs.as_ref(), cs.as_ref()) == 0.0);
    }

    #[test]
    fn sliding_covariance_matches_last_window() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        let (n, window, total) = (3, 25, 137);
        let y = crate::cov::gaussian_matrix(n, total, &mut rng);
        let mut sc = SlidingCovariance::new(n, window);
        assert!(sc.is_empty() && !sc.is_full());
        assert!(sc.estimate()[(0, 0)].is_nan());
        for j in 0..total {
            let col: Vec<f64> = (0..n).map(|i| y[(i, j)]).collect();
            sc.push(&col);
            assert_eq!(sc.len(), (j + 1).min(window));
            // Independent: sample covariance of the last min(j+1, window) columns.
            let lo = (j + 1).saturating_sub(window);
            let want = sample_covariance(y.as_ref().subcols(lo, j + 1 - lo));
            let got = sc.estimate();
            let mut err = 0.0_f64;
            for b in 0..n {
                for a in 0..n {
                    err = err.max((got[(a, b)] - want[(a, b)]).abs());
                }
            }
            assert!(err < 1e-13, "after {} pushes: {err}", j + 1);
        }
        assert!(sc.is_full());
        // push_columns is the same as pushing one by one.
        let mut sc2 = SlidingCovariance::new(n, window);
        sc2.push_columns(y.as_ref());
        assert_eq!(sc2.estimate(), sc.estimate());
        sc2.clear();
        assert!(sc2.is_empty());
    }

    #[test]
    fn sliding_covariance_no_drift() {
        // Large-then-small samples: without the periodic refresh, subtracting 1e8-sized outer
        // products would leave absolute errors ~1e-8 on O(1) entries.
        let mut sc = SlidingCovariance::new(1, 10);
        for _ in 0..10 {
            sc.push(&[1e4 + 0.1]);
        }
        for _ in 0..20 {
            sc.push(&[1.0 / 3.0]);
        }
        assert!((sc.estimate()[(0, 0)] - 1.0 / 9.0).abs() < 1e-15);
    }
}
