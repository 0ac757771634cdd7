//! Deciding `||A||_op <= eps` for a symmetric `n x n` matrix `A` without its eigenvalues when
//! bounds suffice: the stopping checks of the flows at large `n`.
//!
//! Three tests, cheapest first, each run only if the previous one did not decide:
//!
//! 1. Lanczos lower bound: `m` steps (full reorthogonalisation) from a fixed start vector give
//!    the tridiagonal `T = Q^T A Q` with orthonormal `Q`; every eigenvalue `theta` of `T` lies
//!    in `[lambda_min(A), lambda_max(A)]`, so `theta* = max |theta| <= ||A||_op`. If
//!    `theta* > eps` (beyond a rounding margin), the norm is above `eps`. Cost `2 m n^2`.
//! 2. Cholesky certificate: `||A||_op < s` iff `s I - A` and `s I + A` are both positive
//!    definite. With `s = eps - delta` (`delta` covers the rounding of the factorisations),
//!    two successful Cholesky factorisations prove the norm below `eps`. Cost `2 n^3 / 3`.
//! 3. Otherwise (the norm within about `delta` of `eps`, or between `theta*` and `eps`): the
//!    eigenvalues of `A`, `||A||_op = max |lambda_i|` (the hand-written QL of `crate::small`,
//!    faer's eigensolver from `n = 256`).
//!
//! Decided cases return a bound with the sign of `||A||_op - eps` (never the wrong sign);
//! undecided ones return the exact difference, so an event located by root finding sees the
//! exact function near its root.

use faer::dyn_stack::StackReq;
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};
use faer::linalg::matmul::matmul;
use faer::{Accum, Col, Mat, MatMut, MatRef, Par};

use crate::scratch::Scratch;
use crate::small::{dot, sym_op_norm, tridiagonal_eigenvalues};

/// Lanczos steps of test 1 (at most `n`).
const LANCZOS_STEPS: usize = 12;

/// Smallest `n` at which the exact norm uses faer's eigensolver; below, the hand-written
/// tridiagonal QL of `crate::small` is faster (measured: 3.0 ms against 3.2 ms at `n = 200`,
/// 42 ms against 23 ms at `n = 500`).
const FAER_EIGEN_FROM: usize = 256;

/// How a call of [`NormTest::excess`] was decided (for tests and tracing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decided {
    /// Above `eps` by the Lanczos lower bound.
    Lanczos,
    /// Below `eps` by the Cholesky certificate.
    Cholesky,
    /// By the eigenvalues.
    Exact,
}

/// Workspace of the three tests for one size `n`; nothing is allocated per call.
#[derive(Debug)]
pub(crate) struct NormTest {
    n: usize,
    m: usize,
    /// Lanczos basis, `m + 1` vectors of length `n`, one after the other.
    q: Vec<f64>,
    /// `A q_j`.
    w: Vec<f64>,
    /// Diagonal and off-diagonal of `T`, and their copies for the eigenvalue routine.
    alpha: Vec<f64>,
    beta: Vec<f64>,
    d: Vec<f64>,
    e: Vec<f64>,
    /// `s I -+ A`, factored in place.
    shifted: Mat<f64>,
    /// Eigenvalues (faer's eigensolver), or the scratch of `crate::small::sym_op_norm`.
    eig: Col<f64>,
    small_eig: Vec<f64>,
    stack: Scratch,
}

impl NormTest {
    pub(crate) fn new(n: usize) -> Self {
        let m = LANCZOS_STEPS.min(n);
        let faer_eigen = n >= FAER_EIGEN_FROM;
        let chol = cholesky_in_place_scratch::<f64>(n, Par::Seq, Default::default());
        let req = if faer_eigen {
            StackReq::any_of(&[
                chol,
                self_adjoint_evd_scratch::<f64>(
                    n,
                    ComputeEigenvectors::No,
                    Par::Seq,
                    Default::default(),
                ),
            ])
        } else {
            chol
        };
        Self {
            n,
            m,
            q: vec![0.0; (m + 1) * n],
            w: vec![0.0; n],
            alpha: vec![0.0; m],
            beta: vec![0.0; m],
            d: vec![0.0; m],
            e: vec![0.0; m],
            shifted: Mat::zeros(n, n),
            eig: Col::zeros(if faer_eigen { n } else { 0 }),
            small_eig: if faer_eigen {
                Vec::new()
            } else {
                vec![0.0; n * n + 4 * n]
            },
            stack: Scratch::new(req),
        }
    }

    /// A number with the sign of `||A||_op - eps` for the symmetric `A` (flat, column-major,
    /// both triangles) with Frobenius norm `fro`, and which test decided it.
    pub(crate) fn excess(&mut self, a: &[f64], fro: f64, eps: f64) -> (f64, Decided) {
        // Rounding of the Ritz values (orthonormality of Q to about m u) and of the Cholesky
        // factorisations (backward error below n^2 u ||s I -+ A||), both far below 1e-9.
        let n = self.n as f64;
        let margin = 1e3 * f64::EPSILON * fro;
        let delta = 4.0 * n * n * f64::EPSILON * (eps + fro);
        let theta = self.lanczos_lower(a, fro);
        if theta.is_nan() {
            return (f64::NAN, Decided::Exact);
        }
        if theta > eps + margin {
            return (theta - eps, Decided::Lanczos);
        }
        if eps > delta && self.both_definite(a, eps - delta) {
            return ((theta - eps).min(-delta), Decided::Cholesky);
        }
        (self.exact(a) - eps, Decided::Exact)
    }

    /// `max |theta|` over the Ritz values of `m` Lanczos steps: a lower bound on `||A||_op`
    /// (`scale`, for example `||A||_F`, sets what counts as a breakdown).
    pub(crate) fn lanczos_lower(&mut self, a: &[f64], scale: f64) -> f64 {
        let n = self.n;
        // Fixed start vector without structure (not orthogonal to any coordinate vector).
        let q0 = &mut self.q[..n];
        for (i, v) in q0.iter_mut().enumerate() {
            *v = 1.0 + 0.5 * (1.0 + i as f64 * 0.618_033_988_749_895).sin();
        }
        let norm = dot(q0, q0).sqrt();
        q0.iter_mut().for_each(|v| *v /= norm);
        let mut steps = 0;
        for j in 0..self.m {
            // w = A q_j
            matmul(
                MatMut::from_column_major_slice_mut(&mut self.w, n, 1),
                Accum::Replace,
                MatRef::from_column_major_slice(a, n, n),
                MatRef::from_column_major_slice(&self.q[j * n..(j + 1) * n], n, 1),
                1.0,
                Par::Seq,
            );
            let (basis, rest) = self.q.split_at_mut((j + 1) * n);
            let alpha = dot(&self.w, &basis[j * n..]);
            self.alpha[j] = alpha;
            // Full reorthogonalisation, twice (w <- w - Q (Q^T w)).
            for _ in 0..2 {
                for qi in basis.chunks_exact(n) {
                    let c = dot(&self.w, qi);
                    for (wv, qv) in self.w.iter_mut().zip(qi) {
                        *wv -= c * qv;
                    }
                }
            }
            steps = j + 1;
            let beta = dot(&self.w, &self.w).sqrt();
            if !beta.is_finite() || !alpha.is_finite() {
                return f64::NAN;
            }
            self.beta[j] = beta;
            // An invariant subspace was found: its Ritz values are eigenvalues of A.
            if beta <= 1e-13 * scale || j + 1 == self.m {
                break;
            }
            let next = &mut rest[..n];
            for (qv, wv) in next.iter_mut().zip(&self.w) {
                *qv = wv / beta;
            }
        }
        let (d, e) = (&mut self.d[..steps], &mut self.e[..steps]);
        d.copy_from_slice(&self.alpha[..steps]);
        e[..steps - 1].copy_from_slice(&self.beta[..steps - 1]);
        e[steps - 1] = 0.0;
        if !tridiagonal_eigenvalues(d, e) {
            return 0.0;
        }
        d.iter().fold(0.0, |acc: f64, x| acc.max(x.abs()))
    }

    /// Whether `s I - A` and `s I + A` are both positive definite (Cholesky succeeds).
    pub(crate) fn both_definite(&mut self, a: &[f64], s: f64) -> bool {
        let n = self.n;
        let a = MatRef::from_column_major_slice(a, n, n);
        [-1.0, 1.0].into_iter().all(|sign| {
            for j in 0..n {
                for i in j..n {
                    self.shifted[(i, j)] = sign * a[(i, j)];
                }
                self.shifted[(j, j)] += s;
            }
            cholesky_in_place(
                self.shifted.as_mut(),
                Default::default(),
                Par::Seq,
                self.stack.stack(),
                Default::default(),
            )
            .is_ok()
                && (0..n).all(|i| self.shifted[(i, i)] > 0.0)
        })
    }

    /// `||A||_op = max |lambda_i|` (lower triangle read); NaN on failure.
    pub(crate) fn exact(&mut self, a: &[f64]) -> f64 {
        let n = self.n;
        if n < FAER_EIGEN_FROM {
            return sym_op_norm(a, n, &mut self.small_eig);
        }
        let ok = self_adjoint_evd(
            MatRef::from_column_major_slice(a, n, n),
            self.eig.as_mut().as_diagonal_mut(),
            None,
            Par::Seq,
            self.stack.stack(),
            Default::default(),
        );
        if ok.is_err() {
            return f64::NAN;
        }
        self.eig.iter().fold(0.0, |acc: f64, x| acc.max(x.abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Side;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    /// `Q diag(lambda) Q^T` (flat) with `Q` Haar-random orthogonal.
    fn with_spectrum(rng: &mut ChaCha8Rng, lambda: &[f64]) -> Vec<f64> {
        let n = lambda.len();
        let g = Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
        let q = g.qr().compute_Q();
        let mut a = vec![0.0; n * n];
        for j in 0..n {
            for i in 0..n {
                a[j * n + i] = (0..n).map(|p| q[(i, p)] * lambda[p] * q[(j, p)]).sum();
            }
        }
        // Exactly symmetric.
        for j in 0..n {
            for i in 0..j {
                a[j * n + i] = a[i * n + j];
            }
        }
        a
    }

    #[test]
    fn bounds_never_decide_the_wrong_side() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let eps = 1e-2;
        let mut seen = [0usize; 3];
        let ratios = [
            0.3,
            0.9,
            0.99,
            0.999_999,
            1.0 - 1e-9,
            1.0 + 1e-9,
            1.000_001,
            1.01,
            1.1,
            3.0,
        ];
        for n in [16usize, 30, 64, 120] {
            let mut test = NormTest::new(n);
            for (case, &r) in ratios.iter().enumerate() {
                for shape in 0..4 {
                    // ||A||_op = r eps, attained at the top or the bottom of the spectrum, with
                    // the rest spread out, clustered near the extreme, or tiny.
                    let top = r * eps;
                    let mut lambda: Vec<f64> = (0..n)
                        .map(|i| {
                            let u = (i as f64 + 0.5) / n as f64;
                            match shape {
                                0 => top * (2.0 * u - 1.0) * 0.98,
                                1 => top * (1.0 - 1e-3 * u),
                                2 => top * 1e-3 * u,
                                _ => -top * 0.9 * u,
                            }
                        })
                        .collect();
                    lambda[case % n] = if shape == 3 { -top } else { top };
                    let a = with_spectrum(&mut rng, &lambda);
                    let am = MatRef::from_column_major_slice(&a, n, n);
                    let exact = am
                        .self_adjoint_eigenvalues(Side::Lower)
                        .unwrap()
                        .iter()
                        .fold(0.0, |m: f64, x| m.max(x.abs()));
                    assert!((exact - top).abs() < 1e-13 * top, "{exact} vs {top}");
                    let fro = a.iter().map(|v| v * v).sum::<f64>().sqrt();
                    let (g, decided) = test.excess(&a, fro, eps);
                    seen[decided as usize] += 1;
                    let truth = exact - eps;
                    assert_eq!(
                        g > 0.0,
                        truth > 0.0,
                        "n {n} ratio {r} shape {shape}: {g} ({decided:?}) vs exact {truth}"
                    );
                    match decided {
                        // The Lanczos value is a lower bound on the norm.
                        Decided::Lanczos => assert!(g <= truth + 1e-15),
                        Decided::Cholesky => assert!(g < 0.0),
                        Decided::Exact => assert!((g - truth).abs() < 1e-14),
                    }
                    // The Lanczos bound itself.
                    assert!(test.lanczos_lower(&a, fro) <= exact * (1.0 + 1e-13));
                    // The exact path agrees with the independent eigenvalues.
                    assert!((test.exact(&a) - exact).abs() < 1e-14);
                }
            }
        }
        // Every test decided some cases.
        assert!(seen.iter().all(|&c| c > 0), "{seen:?}");
    }

    #[test]
    fn exact_norm_by_faer_at_large_n() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let n = FAER_EIGEN_FROM + 4;
        let lambda: Vec<f64> = (0..n).map(|i| (i as f64 - 200.0) * 0.01).collect();
        let a = with_spectrum(&mut rng, &lambda);
        let mut test = NormTest::new(n);
        assert!((test.exact(&a) - 2.0).abs() < 1e-13);
        let fro = a.iter().map(|v| v * v).sum::<f64>().sqrt();
        let (g, _) = test.excess(&a, fro, 2.0 * (1.0 + 1e-9));
        assert!(g < 0.0);
        let (g, _) = test.excess(&a, fro, 2.0 * (1.0 - 1e-9));
        assert!(g > 0.0);
    }

    #[test]
    fn lanczos_finds_invariant_subspaces_and_nan() {
        // A diagonal matrix seen from a start vector with all components: exact after n steps.
        let n = LANCZOS_STEPS;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = i as f64 - 8.5;
        }
        let mut test = NormTest::new(n);
        let fro = a.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((test.lanczos_lower(&a, fro) - 8.5).abs() < 1e-12);
        // Rank one: one step spans an invariant subspace.
        let v: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let b: Vec<f64> = (0..n * n).map(|p| v[p % n] * v[p / n]).collect();
        let vv: f64 = v.iter().map(|x| x * x).sum();
        assert!((test.lanczos_lower(&b, vv) - vv).abs() < 1e-12 * vv);
        a[3] = f64::NAN;
        assert!(test.excess(&a, 1.0, 0.1).0.is_nan());
    }
}
