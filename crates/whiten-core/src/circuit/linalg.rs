//! Small private linear-algebra helper for the circuit: a dense Cholesky solve for the
//! generic-`N` Newton step.
//! Hand-written loops: the matrices are a few rows wide, far below where a library pays off.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
