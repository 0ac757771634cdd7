//! Small private linear-algebra helpers for the circuit: a dense Cholesky solve for the
//! generic-`N` Newton step and Haar-random orthogonal matrices for the authors' initial `W`.
//! Hand-written loops: the matrices are a few rows wide, far below where a library pays off.

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

/// Solves `H x = b` in place (`b` becomes `x`) for a symmetric positive-definite `H`
/// (row-major `n x n`, only the lower triangle read; overwritten by its Cholesky factor).
/// Returns `false` when a pivot is not positive (H not positive definite).
pub(crate) fn cholesky_solve(h: &mut [f64], b: &mut [f64], n: usize) -> bool {
    // H = L L^T, column by column
    for j in 0..n {
        let mut d = h[j * n + j];
        for k in 0..j {
            d -= h[j * n + k] * h[j * n + k];
        }
        if d.is_nan() || d <= 0.0 {
            return false;
        }
        let d = d.sqrt();
        h[j * n + j] = d;
        for i in (j + 1)..n {
            let mut s = h[i * n + j];
            for k in 0..j {
                s -= h[i * n + k] * h[j * n + k];
            }
            h[i * n + j] = s / d;
        }
    }
    // L y = b, then L^T x = y
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= h[i * n + k] * b[k];
        }
        b[i] = s / h[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in (i + 1)..n {
            s -= h[k * n + i] * b[k];
        }
        b[i] = s / h[i * n + i];
    }
    true
}

/// A Haar-distributed random orthogonal `n x n` matrix (column-major): Gram-Schmidt on the
/// columns of an i.i.d. standard Gaussian matrix (equivalently, the Q of its QR decomposition
/// with a positive diagonal in R).
pub(crate) fn haar_orthogonal<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    loop {
        let mut q: Vec<f64> = (0..n * n).map(|_| rng.sample(StandardNormal)).collect();
        let mut ok = true;
        for j in 0..n {
            // twice-iterated modified Gram-Schmidt for orthogonality to rounding
            for _ in 0..2 {
                for k in 0..j {
                    let dot: f64 = (0..n).map(|i| q[k * n + i] * q[j * n + i]).sum();
                    for i in 0..n {
                        q[j * n + i] -= dot * q[k * n + i];
                    }
                }
            }
            let norm = (0..n).map(|i| q[j * n + i].powi(2)).sum::<f64>().sqrt();
            if norm < 1e-8 {
                ok = false;
                break;
            }
            for i in 0..n {
                q[j * n + i] /= norm;
            }
        }
        if ok {
            return q;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn cholesky_solves_a_spd_system() {
        // H = A^T A + I for a fixed A; check H x = b by multiplying back
        let n = 4;
        let a: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let mut h = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                h[i * n + j] = (0..n).map(|k| a[k * n + i] * a[k * n + j]).sum::<f64>()
                    + if i == j { 1.0 } else { 0.0 };
            }
        }
        let h0 = h.clone();
        let b0 = vec![1.0, -2.0, 0.5, 3.0];
        let mut x = b0.clone();
        assert!(cholesky_solve(&mut h, &mut x, n));
        for i in 0..n {
            let hx: f64 = (0..n).map(|j| h0[i * n + j] * x[j]).sum();
            assert!((hx - b0[i]).abs() < 1e-12);
        }
        // not positive definite
        let mut bad = vec![1.0, 2.0, 2.0, 1.0];
        let mut y = vec![1.0, 1.0];
        assert!(!cholesky_solve(&mut bad, &mut y, 2));
    }

    #[test]
    fn haar_matrices_are_orthogonal_and_spread_their_entries() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 3;
        let mut mean_q00_sq = 0.0;
        let reps = 2000;
        for _ in 0..reps {
            let q = haar_orthogonal(n, &mut rng);
            for a in 0..n {
                for b in 0..n {
                    let dot: f64 = (0..n).map(|i| q[a * n + i] * q[b * n + i]).sum();
                    let want = if a == b { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-13);
                }
            }
            mean_q00_sq += q[0] * q[0] / reps as f64;
        }
        // For Haar Q, E[q_00^2] = 1/n; standard error of the mean ~ 0.3/sqrt(2000) ~ 0.007.
        assert!((mean_q00_sq - 1.0 / n as f64).abs() < 0.03, "{mean_q00_sq}");
    }
}
