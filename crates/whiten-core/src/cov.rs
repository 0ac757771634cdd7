//! Covariance tools: Haar-random rotations, covariances with a prescribed spectrum, random
//! positive-definite matrices, symmetric eigendecompositions, square roots (`C^{1/2}`) and
//! inverse square roots (`C^{-1/2}`, the ZCA matrix), sample covariances, Gaussian sources and
//! ZCA whitening of a batch.
//!
//! Samples are always the COLUMNS of an `n x T` matrix `X = [x_1 .. x_T]`.

use faer::{Mat, MatRef, Side};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::error::{CoreError, Result};

/// Relative tolerance of the symmetry check: `max |A - A^T| <= SYM_RTOL * max |A|`.
///
/// Loose enough for matrices built by products that are symmetric only up to rounding
/// (e.g. `M^{-1} C M^{-1}` before symmetrisation), tight enough to catch a genuine asymmetry.
pub const SYM_RTOL: f64 = 1e-8;

/// A Haar-distributed random orthogonal `n x n` matrix.
///
/// QR of a matrix `G` with i.i.d. standard normal entries, `G = Q R`; the columns of `Q` are then
/// multiplied by the signs of `R`'s diagonal (Mezzadri 2007), which makes the distribution of `Q`
/// exactly Haar (without the fix `Q` is biased by the QR algorithm's sign convention).
pub fn haar_orthogonal<R: rand::Rng + ?Sized>(n: usize, rng: &mut R) -> Mat<f64> {
    let g = gaussian_matrix(n, n, rng);
    let qr = g.qr();
    let r = qr.R();
    let mut q = qr.compute_Q();
    for j in 0..n {
        // sign(R_jj); a zero diagonal has probability zero, map it to +1.
        if r[(j, j)] < 0.0 {
            for i in 0..n {
                q[(i, j)] = -q[(i, j)];
            }
        }
    }
    q
}

/// An `nrows x ncols` matrix with i.i.d. standard normal entries (column-major draw order).
pub fn gaussian_matrix<R: rand::Rng + ?Sized>(nrows: usize, ncols: usize, rng: &mut R) -> Mat<f64> {
    let mut g = Mat::zeros(nrows, ncols);
    for j in 0..ncols {
        for i in 0..nrows {
            g[(i, j)] = rng.sample::<f64, _>(StandardNormal);
        }
    }
    g
}

/// `C = Q diag(lambda) Q^T`, exactly symmetrised (`(C + C^T) / 2`).
///
/// # Panics
/// If `q` is not square or `spectrum.len() != q.nrows()`.
pub fn covariance_with_spectrum(q: MatRef<'_, f64>, spectrum: &[f64]) -> Mat<f64> {
    let n = q.nrows();
    assert_eq!(q.ncols(), n, "Q must be square");
    assert_eq!(
        spectrum.len(),
        n,
        "spectrum length must equal the size of Q"
    );
    // Q diag(lambda): scale the columns of Q.
    let q_lambda = Mat::from_fn(n, n, |i, j| q[(i, j)] * spectrum[j]);
    let c = &q_lambda * q.transpose();
    symmetrise(c.as_ref())
}

/// `n` equally spaced points from `lo` to `hi` inclusive (`[lo]` if `n == 1`, empty if `n == 0`).
/// The end points are exact.
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![lo],
        _ => {
            let step = (hi - lo) / (n - 1) as f64;
            (0..n)
                .map(|i| if i == n - 1 { hi } else { lo + step * i as f64 })
                .collect()
        }
    }
}

/// `n` logarithmically spaced points from `lo` to `hi` inclusive (geometric progression,
/// `exp(linspace(ln lo, ln hi, n))`); the end points are exact.
///
/// # Panics
/// If `lo` or `hi` is not positive and finite.
pub fn logspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    assert!(
        lo > 0.0 && hi > 0.0 && lo.is_finite() && hi.is_finite(),
        "logspace needs positive finite end points (got {lo}, {hi})"
    );
    let mut v: Vec<f64> = linspace(lo.ln(), hi.ln(), n)
        .into_iter()
        .map(f64::exp)
        .collect();
    if let Some(first) = v.first_mut() {
        *first = lo;
    }
    if n > 1 {
        v[n - 1] = hi;
    }
    v
}

/// A random symmetric positive-definite `B` for "generic" initialisations (`M_0 = c B`).
///
/// `B = Q diag(u) Q^T / max(u)` with `Q` Haar-random ([`haar_orthogonal`]) and `u_i` i.i.d.
/// uniform in `[0.5, 1]`. So the eigenvectors of `B` are uniformly random (generic with respect to
/// any fixed `C`), its largest eigenvalue is exactly 1 (so `c` sets the scale of the spectrum)
/// and its condition number is at most 2.
pub fn random_spd<R: rand::Rng + ?Sized>(n: usize, rng: &mut R) -> Mat<f64> {
    let q = haar_orthogonal(n, rng);
    let mut u: Vec<f64> = (0..n).map(|_| rng.random_range(0.5..=1.0)).collect();
    let max = u.iter().copied().fold(f64::MIN, f64::max);
    for v in &mut u {
        *v /= max;
    }
    covariance_with_spectrum(q.as_ref(), &u)
}

/// Eigendecomposition `A = V diag(values) V^T` of a symmetric matrix.
#[derive(Debug, Clone)]
pub struct SymEigen {
    /// Eigenvalues in ascending order.
    pub values: Vec<f64>,
    /// Orthonormal eigenvectors, as columns in the order of `values`.
    pub vectors: Mat<f64>,
}

impl SymEigen {
    /// `V diag(f(values)) V^T`, exactly symmetrised: a spectral function of the matrix.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Mat<f64> {
        let fv: Vec<f64> = self.values.iter().map(|&v| f(v)).collect();
        covariance_with_spectrum(self.vectors.as_ref(), &fv)
    }
}

/// `(A + A^T) / 2` (exactly symmetric).
///
/// # Panics
/// If `a` is not square.
pub fn symmetrise(a: MatRef<'_, f64>) -> Mat<f64> {
    assert_eq!(a.nrows(), a.ncols(), "symmetrise needs a square matrix");
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| 0.5 * (a[(i, j)] + a[(j, i)]))
}

/// Largest asymmetry `max |A_ij - A_ji|`.
fn asymmetry(a: MatRef<'_, f64>) -> f64 {
    let n = a.nrows();
    let mut worst = 0.0_f64;
    for j in 0..n {
        for i in (j + 1)..n {
            worst = worst.max((a[(i, j)] - a[(j, i)]).abs());
        }
    }
    worst
}

/// Checks that `a` is square, finite and symmetric to the relative tolerance [`SYM_RTOL`].
pub(crate) fn check_symmetric(a: MatRef<'_, f64>, what: &'static str) -> Result<()> {
    if a.nrows() != a.ncols() {
        return Err(CoreError::DimensionMismatch {
            what,
            expected: a.nrows(),
            got: a.ncols(),
        });
    }
    if !a.is_all_finite() {
        return Err(CoreError::NonFinite { what });
    }
    let asym = asymmetry(a);
    let scale = a.norm_max();
    if asym > SYM_RTOL * scale {
        return Err(CoreError::NotSymmetric {
            what,
            asymmetry: asym,
        });
    }
    Ok(())
}

/// Eigendecomposition of a symmetric matrix (eigenvalues ascending).
///
/// Refuses a non-square matrix (`DimensionMismatch`), NaN/inf (`NonFinite`) and a matrix whose
/// asymmetry exceeds [`SYM_RTOL`] times its largest entry (`NotSymmetric`). The decomposition is
/// of the symmetrised matrix `(A + A^T) / 2`.
pub fn sym_eigen(a: MatRef<'_, f64>) -> Result<SymEigen> {
    check_symmetric(a, "symmetric matrix")?;
    let s = symmetrise(a);
    let evd = s
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| CoreError::DecompositionFailed {
            what: "symmetric eigendecomposition",
        })?;
    let values: Vec<f64> = (0..s.nrows()).map(|i| evd.S()[i]).collect();
    Ok(SymEigen {
        values,
        vectors: evd.U().to_owned(),
    })
}

/// Eigendecomposition of a matrix required to be symmetric positive definite (as `what`).
fn spd_eigen(c: MatRef<'_, f64>, what: &'static str) -> Result<SymEigen> {
    check_symmetric(c, what)?;
    let e = sym_eigen(c)?;
    let min = e.values.first().copied().unwrap_or(f64::INFINITY);
    let max = e.values.last().copied().unwrap_or(0.0);
    // Numerically singular counts as not positive definite: an eigenvalue below
    // n * eps * lambda_max is rounding noise (e.g. the covariance of fewer than n samples).
    let floor = e.values.len() as f64 * f64::EPSILON * max.abs();
    if min.is_nan() || min <= floor {
        return Err(CoreError::NotPositiveDefinite {
            what,
            min_eigenvalue: min,
        });
    }
    Ok(e)
}

/// The symmetric positive-definite square root `C^{1/2} = U diag(sqrt(lambda)) U^T`.
///
/// Refuses a matrix that is not symmetric or not positive definite
/// (`NotPositiveDefinite { what: "C", .. }`; an eigenvalue `<= n * eps * lambda_max` counts as
/// zero).
pub fn sym_sqrt(c: MatRef<'_, f64>) -> Result<Mat<f64>> {
    Ok(spd_eigen(c, "C")?.map(f64::sqrt))
}

/// The ZCA matrix `C^{-1/2} = U diag(1 / sqrt(lambda)) U^T`.
///
/// Refuses a matrix that is not symmetric or not positive definite
/// (`NotPositiveDefinite { what: "C", .. }`; an eigenvalue `<= n * eps * lambda_max` counts as
/// zero).
pub fn sym_inv_sqrt(c: MatRef<'_, f64>) -> Result<Mat<f64>> {
    Ok(spd_eigen(c, "C")?.map(|l| 1.0 / l.sqrt()))
}

/// Checks that `a` is square, finite, symmetric (relative tolerance [`SYM_RTOL`]) and positive
/// definite (its Cholesky factorisation exists). Errors name the matrix as `what`; a failed
/// Cholesky reports the smallest eigenvalue.
pub fn check_spd(a: MatRef<'_, f64>, what: &'static str) -> Result<()> {
    check_symmetric(a, what)?;
    let s = symmetrise(a);
    if s.llt(Side::Lower).is_ok() {
        return Ok(());
    }
    let min_eigenvalue = s
        .self_adjoint_eigenvalues(Side::Lower)
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(f64::NAN);
    Err(CoreError::NotPositiveDefinite {
        what,
        min_eigenvalue,
    })
}

/// Sample covariance `X X^T / T` of the columns of `X` (`n x T`), WITHOUT mean subtraction:
/// the inputs of both papers are centred by assumption, and this is the `C_xx` the networks
/// see. Use [`centred_covariance`] for data that may have a mean. Exactly symmetric.
///
/// # Panics
/// If `T == 0`.
pub fn sample_covariance(x: MatRef<'_, f64>) -> Mat<f64> {
    let t = x.ncols();
    assert!(t > 0, "sample_covariance needs at least one sample");
    let mut c = Mat::zeros(x.nrows(), x.nrows());
    faer::linalg::matmul::matmul(
        c.as_mut(),
        faer::Accum::Replace,
        x,
        x.transpose(),
        1.0 / t as f64,
        faer::Par::Seq,
    );
    symmetrise(c.as_ref())
}

/// Covariance of the columns of `X` after subtracting their mean:
/// `(X - mu 1^T)(X - mu 1^T)^T / T` (divides by `T`, not `T - 1`).
///
/// # Panics
/// If `T == 0`.
pub fn centred_covariance(x: MatRef<'_, f64>) -> Mat<f64> {
    let (n, t) = (x.nrows(), x.ncols());
    assert!(t > 0, "centred_covariance needs at least one sample");
    let mu: Vec<f64> = (0..n)
        .map(|i| (0..t).map(|j| x[(i, j)]).sum::<f64>() / t as f64)
        .collect();
    let xc = Mat::from_fn(n, t, |i, j| x[(i, j)] - mu[i]);
    sample_covariance(xc.as_ref())
}

/// Zero-mean Gaussian samples with covariance `C`: `x = C^{1/2} xi`, `xi ~ N(0, I_n)`.
///
/// Stores `C` and its SYMMETRIC square root `C^{1/2}` (not a Cholesky factor). With
/// `C = Q diag(lambda) Q^T` this gives the same distribution as the spec's
/// `x = Q diag(sqrt(lambda)) xi`, since `Q^T xi` is again `N(0, I)`.
#[derive(Debug, Clone)]
pub struct GaussianSource {
    c: Mat<f64>,
    c_sqrt: Mat<f64>,
}

impl GaussianSource {
    /// A source with covariance `c` (must be symmetric positive definite, else
    /// `NotSymmetric`/`NotPositiveDefinite { what: "C", .. }`).
    pub fn new(c: MatRef<'_, f64>) -> Result<Self> {
        let c_sqrt = sym_sqrt(c)?;
        Ok(Self {
            c: symmetrise(c),
            c_sqrt,
        })
    }

    /// Dimension `n` of the samples.
    pub fn dim(&self) -> usize {
        self.c.nrows()
    }

    /// The covariance `C` (symmetrised copy of the one given).
    pub fn covariance(&self) -> MatRef<'_, f64> {
        self.c.as_ref()
    }

    /// The symmetric square root `C^{1/2}` used to draw samples (the optimum `M*` of paper 1).
    pub fn covariance_sqrt(&self) -> MatRef<'_, f64> {
        self.c_sqrt.as_ref()
    }

    /// `t` samples as the columns of an `n x t` matrix.
    pub fn sample<R: rand::Rng + ?Sized>(&self, t: usize, rng: &mut R) -> Mat<f64> {
        let xi = gaussian_matrix(self.dim(), t, rng);
        &self.c_sqrt * &xi
    }

    /// One sample written into `out` (length `n`) without allocating the output; `xi` is
    /// scratch of length `n`.
    ///
    /// # Panics
    /// If `out` or `xi` does not have length `n`.
    pub fn sample_into<R: rand::Rng + ?Sized>(&self, out: &mut [f64], xi: &mut [f64], rng: &mut R) {
        let n = self.dim();
        assert_eq!(out.len(), n, "output length must be n");
        assert_eq!(xi.len(), n, "scratch length must be n");
        for v in xi.iter_mut() {
            *v = rng.sample::<f64, _>(StandardNormal);
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = (0..n).map(|j| self.c_sqrt[(i, j)] * xi[j]).sum();
        }
    }
}

/// ZCA-whitens a batch: `Y = C^{-1/2} X` with `C = X X^T / T` its (uncentred, see
/// [`sample_covariance`]) sample covariance, so that `Y Y^T / T = I`.
///
/// Refuses a batch whose sample covariance is not positive definite (fewer than `n` linearly
/// independent samples) with `NotPositiveDefinite { what: "C", .. }`, and an empty batch with
/// `DimensionMismatch`.
pub fn zca(x: MatRef<'_, f64>) -> Result<Mat<f64>> {
    if x.ncols() == 0 {
        return Err(CoreError::DimensionMismatch {
            what: "zca: number of samples",
            expected: 1,
            got: 0,
        });
    }
    let c = sample_covariance(x);
    let w = sym_inv_sqrt(c.as_ref())?;
    Ok(&w * x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn max_abs_diff(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
        assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
        let mut m = 0.0_f64;
        for j in 0..a.ncols() {
            for i in 0..a.nrows() {
                m = m.max((a[(i, j)] - b[(i, j)]).abs());
            }
        }
        m
    }

    fn random_cov(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
        let q = haar_orthogonal(n, rng);
        covariance_with_spectrum(q.as_ref(), &logspace(1.0, 100.0, n))
    }

    #[test]
    fn haar_is_orthogonal() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for n in [1, 2, 5, 17] {
            let q = haar_orthogonal(n, &mut rng);
            let qtq = q.transpose() * &q;
            let err = max_abs_diff(qtq.as_ref(), Mat::<f64>::identity(n, n).as_ref());
            assert!(err < 1e-13, "n = {n}: ||Q^T Q - I||_max = {err}");
        }
    }

    #[test]
    fn haar_is_unbiased() {
        // For Haar Q, Q_00^2 ~ Beta(1/2, (n-1)/2): mean 1/n, variance 2(n-1)/(n^2 (n+2)).
        // Also E[Q_00] = 0 and E[Q_ii] = 0: without the sign fix, QR gives a positive-biased
        // diagonal (E[Q_00] would be about sqrt(2/(pi n)) ~ 0.36 for n = 5).
        let n = 5;
        let draws = 4000;
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (mut sum_sq, mut sum_diag) = (0.0, 0.0);
        for _ in 0..draws {
            let q = haar_orthogonal(n, &mut rng);
            sum_sq += q[(0, 0)] * q[(0, 0)];
            sum_diag += q[(0, 0)];
        }
        let nf = n as f64;
        let mean_sq = sum_sq / draws as f64;
        let sd_sq = (2.0 * (nf - 1.0) / (nf * nf * (nf + 2.0)) / draws as f64).sqrt();
        // 5 standard errors: false failure probability ~ 6e-7 (and the seed is fixed).
        assert!(
            (mean_sq - 1.0 / nf).abs() < 5.0 * sd_sq,
            "mean Q00^2 = {mean_sq}, expected {} +- {}",
            1.0 / nf,
            5.0 * sd_sq
        );
        let mean_diag = sum_diag / draws as f64;
        let sd_diag = (1.0 / nf / draws as f64).sqrt();
        assert!(mean_diag.abs() < 5.0 * sd_diag, "mean Q00 = {mean_diag}");
    }

    #[test]
    fn spaces() {
        assert_eq!(linspace(0.5, 2.0, 4), vec![0.5, 1.0, 1.5, 2.0]);
        assert_eq!(linspace(3.0, 4.0, 1), vec![3.0]);
        assert!(linspace(3.0, 4.0, 0).is_empty());
        let l = logspace(1.0, 1000.0, 4);
        assert_eq!((l[0], l[3]), (1.0, 1000.0));
        assert!((l[1] - 10.0).abs() < 1e-12 && (l[2] - 100.0).abs() < 1e-11);
    }

    #[test]
    fn spectrum_and_eigen_roundtrip() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 6;
        let lambda = logspace(1.0, 100.0, n);
        let q = haar_orthogonal(n, &mut rng);
        let c = covariance_with_spectrum(q.as_ref(), &lambda);
        assert_eq!(asymmetry(c.as_ref()), 0.0);
        let e = sym_eigen(c.as_ref()).unwrap();
        for (a, b) in e.values.iter().zip(&lambda) {
            assert!((a - b).abs() < 1e-12 * 100.0, "{a} vs {b}");
        }
        let back = e.map(|v| v);
        assert!(max_abs_diff(back.as_ref(), c.as_ref()) < 1e-12 * 100.0);
    }

    #[test]
    fn random_spd_properties() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for n in [2, 5, 10] {
            let b = random_spd(n, &mut rng);
            let e = sym_eigen(b.as_ref()).unwrap();
            assert!(
                (e.values[n - 1] - 1.0).abs() < 1e-14,
                "max eig {}",
                e.values[n - 1]
            );
            assert!(e.values[0] >= 0.5 - 1e-14, "min eig {}", e.values[0]);
        }
    }

    #[test]
    fn sqrt_squares_and_commutes() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let c = random_cov(7, &mut rng);
        let s = sym_sqrt(c.as_ref()).unwrap();
        let ss = &s * &s;
        // Relative to ||C|| = 100.
        assert!(max_abs_diff(ss.as_ref(), c.as_ref()) < 1e-12 * 100.0);
        let sc = &s * &c;
        let cs = &c * &s;
        assert!(max_abs_diff(sc.as_ref(), cs.as_ref()) < 1e-12 * 1000.0);
        // C^{1/2} is itself positive definite.
        check_spd(s.as_ref(), "C^{1/2}").unwrap();
    }

    #[test]
    fn inv_sqrt_times_sqrt_is_identity() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let c = random_cov(5, &mut rng);
        let s = sym_sqrt(c.as_ref()).unwrap();
        let w = sym_inv_sqrt(c.as_ref()).unwrap();
        let id = &w * &s;
        assert!(max_abs_diff(id.as_ref(), Mat::<f64>::identity(5, 5).as_ref()) < 1e-12);
        // W C W = I: the ZCA matrix whitens C.
        let wcw = &w * &c * &w;
        assert!(max_abs_diff(wcw.as_ref(), Mat::<f64>::identity(5, 5).as_ref()) < 1e-11);
    }

    #[test]
    fn refusals() {
        let not_sym = Mat::from_fn(2, 2, |i, j| {
            if i == 0 && j == 1 {
                1.0
            } else {
                2.0 * (i == j) as u8 as f64
            }
        });
        assert!(matches!(
            sym_sqrt(not_sym.as_ref()),
            Err(CoreError::NotSymmetric { .. })
        ));
        let indefinite = Mat::from_fn(2, 2, |i, j| if i == j { 1.0 } else { 2.0 });
        match sym_sqrt(indefinite.as_ref()) {
            Err(CoreError::NotPositiveDefinite {
                what,
                min_eigenvalue,
            }) => {
                assert_eq!(what, "C");
                assert!((min_eigenvalue + 1.0).abs() < 1e-12);
            }
            other => panic!("expected NotPositiveDefinite, got {other:?}"),
        }
        match check_spd(indefinite.as_ref(), "B") {
            Err(CoreError::NotPositiveDefinite {
                what,
                min_eigenvalue,
            }) => {
                assert_eq!(what, "B");
                assert!((min_eigenvalue + 1.0).abs() < 1e-12);
            }
            other => panic!("expected NotPositiveDefinite, got {other:?}"),
        }
        let nan = Mat::from_fn(2, 2, |_, _| f64::NAN);
        assert!(matches!(
            check_spd(nan.as_ref(), "B"),
            Err(CoreError::NonFinite { .. })
        ));
        let rect = Mat::<f64>::zeros(2, 3);
        assert!(matches!(
            sym_eigen(rect.as_ref()),
            Err(CoreError::DimensionMismatch { .. })
        ));
        assert!(matches!(
            GaussianSource::new(indefinite.as_ref()),
            Err(CoreError::NotPositiveDefinite { .. })
        ));
    }

    #[test]
    fn covariances() {
        let x = Mat::from_fn(2, 4, |i, j| {
            [[1.0, 2.0, 3.0, 6.0], [0.0, 1.0, 0.0, 3.0]][i][j]
        });
        // X X^T / 4 by hand: [[50, 20], [20, 10]] / 4.
        let c = sample_covariance(x.as_ref());
        let want = Mat::from_fn(2, 2, |i, j| [[12.5, 5.0], [5.0, 2.5]][i][j]);
        assert!(max_abs_diff(c.as_ref(), want.as_ref()) < 1e-14);
        // Means (3, 1); centred rows (-2,-1,0,3), (-1,0,-1,2): [[14, 8], [8, 6]] / 4.
        let cc = centred_covariance(x.as_ref());
        let want = Mat::from_fn(2, 2, |i, j| [[3.5, 2.0], [2.0, 1.5]][i][j]);
        assert!(max_abs_diff(cc.as_ref(), want.as_ref()) < 1e-14);
    }

    #[test]
    fn gaussian_source_has_covariance_c() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 4;
        let q = haar_orthogonal(n, &mut rng);
        let c = covariance_with_spectrum(q.as_ref(), &linspace(0.5, 2.0, n));
        let src = GaussianSource::new(c.as_ref()).unwrap();
        assert_eq!(src.dim(), n);
        let t = 40_000;
        let x = src.sample(t, &mut rng);
        assert_eq!((x.nrows(), x.ncols()), (n, t));
        let chat = sample_covariance(x.as_ref());
        // Standard error of an entry of the sample covariance is <= sqrt(2/T) * max lambda
        // ~ 0.014; allow 5 of those.
        let err = max_abs_diff(chat.as_ref(), c.as_ref());
        assert!(err < 5.0 * (2.0 / t as f64).sqrt() * 2.0, "err = {err}");
        // sample_into draws from the same law; check its second moment on fewer draws.
        let (mut out, mut xi) = (vec![0.0; n], vec![0.0; n]);
        let m = 20_000;
        let mut s00 = 0.0;
        for _ in 0..m {
            src.sample_into(&mut out, &mut xi, &mut rng);
            s00 += out[0] * out[0];
        }
        let se = (2.0 / m as f64).sqrt() * c[(0, 0)];
        assert!((s00 / m as f64 - c[(0, 0)]).abs() < 5.0 * se);
    }

    #[test]
    fn zca_whitens() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let c = random_cov(5, &mut rng);
        let src = GaussianSource::new(c.as_ref()).unwrap();
        let x = src.sample(200, &mut rng);
        let y = zca(x.as_ref()).unwrap();
        let cyy = sample_covariance(y.as_ref());
        assert!(max_abs_diff(cyy.as_ref(), Mat::<f64>::identity(5, 5).as_ref()) < 1e-12);
        // Too few samples: rank-deficient covariance.
        let few = src.sample(3, &mut rng);
        assert!(matches!(
            zca(few.as_ref()),
            Err(CoreError::NotPositiveDefinite { .. })
        ));
    }
}
