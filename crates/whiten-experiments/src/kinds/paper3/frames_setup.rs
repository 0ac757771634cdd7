//! Set-up shared by paper A's kinds (a fixed frame `W`, adaptive gains `g`): the frame choice
//! ([`Frame`]), the error measure ([`ErrorChoice`]), the input covariances of Figs 3 and 4
//! ([`jittered_spectrum`], [`random_covariance`]), the offline runs over a sequence of
//! covariances ([`offline_blocks`]) and what is read off their error trajectories
//! ([`steps_below`], [`median_steps`], [`log_thinned_steps`]).

use faer::{Mat, MatRef};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use whiten_core::CoreError;
use whiten_core::cov::{covariance_with_spectrum, haar_orthogonal, linspace, sym_eigen};
use whiten_core::gain::{ErrorMeasure, GainNetwork, OfflineRun, OfflineTrace, frame, run_offline};

use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::kinds::common::{ensure, quantile};
use crate::output::Claim;

/// The interneurons' frame `W` (`n x K`, unit columns), as written in RON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    /// `K` columns of i.i.d. standard normal entries, normalised (the authors' `RANDN`).
    Random(usize),
    /// The Mercedes-Benz frame: `n = 2`, `K = 3`, angles `0, 2 pi/3, 4 pi/3`.
    Mercedes,
    /// `Q` times the Mercedes frame, `Q` Haar-random (the authors' 'optimized' frame of
    /// Fig 3): `n = 2`, `K = 3`.
    RotatedMercedes,
    /// The equiangular tight frame of six vectors in `R^3` (Redmond): `n = 3`, `K = 6`.
    Equiangular3d,
    /// The eigenvectors of each context's covariance, stacked in the order of the contexts,
    /// followed by this many random unit columns: `K = n x contexts + extra`. Fig 3: one
    /// covariance, no extra (`K = 2`); Fig 4: `[I, V2, 9 random]` (`K = 21`).
    Spectral(usize),
    /// The matrix `W` given row by row (`n` rows of `K` values), columns normalised.
    Rows(Vec<Vec<f64>>),
}

impl Frame {
    /// Number of columns `K` for `n` primary neurons and `contexts` covariances.
    pub fn k(&self, n: usize, contexts: usize) -> usize {
        match self {
            Frame::Random(k) => *k,
            Frame::Mercedes | Frame::RotatedMercedes => 3,
            Frame::Equiangular3d => 6,
            Frame::Spectral(extra) => n * contexts + extra,
            Frame::Rows(rows) => rows.first().map_or(0, Vec::len),
        }
    }

    /// Short name for summary keys and tables.
    pub fn key(&self) -> String {
        match self {
            Frame::Random(k) => format!("random_{k}"),
            Frame::Mercedes => "mercedes".into(),
            Frame::RotatedMercedes => "rotated_mercedes".into(),
            Frame::Equiangular3d => "equiangular_3d".into(),
            Frame::Spectral(extra) => format!("spectral_{extra}"),
            Frame::Rows(_) => "given".into(),
        }
    }

    /// Legend label.
    pub fn label(&self, n: usize, contexts: usize) -> String {
        let k = self.k(n, contexts);
        match self {
            Frame::Random(_) => format!("random (K = {k})"),
            Frame::Mercedes => "Mercedes (K = 3)".into(),
            Frame::RotatedMercedes => "rotated Mercedes (K = 3)".into(),
            Frame::Equiangular3d => "equiangular (K = 6)".into(),
            Frame::Spectral(0) => format!("spectral (K = {k})"),
            Frame::Spectral(extra) => format!("spectral + {extra} random (K = {k})"),
            Frame::Rows(_) => format!("given (K = {k})"),
        }
    }

    /// Refuses a frame that does not fit `n` primary neurons (named `field` in the error).
    pub fn check(&self, field: &str, n: usize) -> Result<(), ParamError> {
        match self {
            Frame::Random(k) => ensure(*k >= 1, field, || "Random(K) needs K >= 1".into()),
            Frame::Mercedes | Frame::RotatedMercedes => ensure(n == 2, field, || {
                format!("the Mercedes frame is for n = 2 primary neurons (n = {n})")
            }),
            Frame::Equiangular3d => ensure(n == 3, field, || {
                format!("the equiangular frame is for n = 3 primary neurons (n = {n})")
            }),
            Frame::Spectral(_) => Ok(()),
            Frame::Rows(rows) => {
                ensure(rows.len() == n, field, || {
                    format!("needs n = {n} rows (got {})", rows.len())
                })?;
                let k = rows.first().map_or(0, Vec::len);
                ensure(k >= 1, field, || "rows must not be empty".into())?;
                for (i, r) in rows.iter().enumerate() {
                    ensure(r.len() == k, field, || {
                        format!("row {i} has {} values, row 0 has {k}", r.len())
                    })?;
                    ensure(r.iter().all(|v| v.is_finite()), field, || {
                        format!("row {i} has a value that is not finite")
                    })?;
                }
                for j in 0..k {
                    ensure(rows.iter().any(|r| r[j] != 0.0), field, || {
                        format!("column {j} is zero and cannot be normalised")
                    })?;
                }
                Ok(())
            }
        }
    }

    /// The frame for the covariances `contexts` (used by [`Frame::Spectral`]), drawing its
    /// random parts from `rng`.
    pub fn build<R: Rng + ?Sized>(
        &self,
        contexts: &[MatRef<'_, f64>],
        rng: &mut R,
    ) -> Result<Mat<f64>, CoreError> {
        let n = contexts.first().map_or(0, |c| c.nrows());
        match self {
            Frame::Random(k) => frame::random_unit(n, *k, rng),
            Frame::Mercedes => Ok(frame::mercedes()),
            Frame::RotatedMercedes => Ok(&haar_orthogonal(2, rng) * &frame::mercedes()),
            Frame::Equiangular3d => Ok(frame::equiangular_3d()),
            Frame::Spectral(extra) => {
                let mut cols: Vec<Vec<f64>> = Vec::new();
                for c in contexts {
                    let e = sym_eigen(*c)?;
                    cols.extend((0..n).map(|j| (0..n).map(|i| e.vectors[(i, j)]).collect()));
                }
                if *extra > 0 {
                    let r = frame::random_unit(n, *extra, rng)?;
                    cols.extend((0..*extra).map(|j| (0..n).map(|i| r[(i, j)]).collect()));
                }
                Ok(Mat::from_fn(n, cols.len(), |i, j| cols[j][i]))
            }
            Frame::Rows(rows) => {
                let w = Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j]);
                frame::normalize_columns(w.as_ref())
            }
        }
    }
}

/// Refuses an empty list of frames, a frame that does not fit `n` primary neurons and a frame
/// listed twice (their keys name their results).
pub fn check_frames(frames: &[Frame], field: &str, n: usize) -> Result<(), ParamError> {
    ensure(!frames.is_empty(), field, || "must not be empty".into())?;
    for (i, f) in frames.iter().enumerate() {
        let at = format!("{field}[{i}]");
        f.check(&at, n)?;
        ensure(!frames[..i].iter().any(|g| g.key() == f.key()), &at, || {
            format!("{} is listed twice", f.key())
        })?;
    }
    Ok(())
}

/// Which whitening error a run records (paper A's measures, section A2 of the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorChoice {
    /// `||C_yy - I||_2`, the largest `|lambda_i - 1|`: what the authors' figures label
    /// `||C_yy - I||_Op`, and a norm, so that "below a threshold" means whitened.
    OperatorNorm,
    /// `lambda_max(C_yy) - 1`, signed: what the authors' code computes as `'operator'`. It is
    /// negative when every eigenvalue is below 1, so it can fall below a threshold (and off a
    /// log axis) without the output being white.
    MaxEigenExcess,
    /// `(1/N) sum (lambda_i - 1)^2`; with clamped gains only `lambda_i > 1` counts.
    Spectral,
    /// `||C_yy - I||_F^2 / N^2`.
    Frobenius,
}

impl ErrorChoice {
    /// The model's measure.
    pub fn measure(self) -> ErrorMeasure {
        match self {
            ErrorChoice::OperatorNorm => ErrorMeasure::SpectralNorm,
            ErrorChoice::MaxEigenExcess => ErrorMeasure::MaxEigenExcess,
            ErrorChoice::Spectral => ErrorMeasure::Spectral,
            ErrorChoice::Frobenius => ErrorMeasure::Frobenius,
        }
    }

    /// Axis label.
    pub fn label(self) -> &'static str {
        match self {
            ErrorChoice::OperatorNorm => "error ||C_yy - I||_2",
            ErrorChoice::MaxEigenExcess => "error lambda_max(C_yy) - 1",
            ErrorChoice::Spectral => "error mean (lambda_i - 1)^2",
            ErrorChoice::Frobenius => "error ||C_yy - I||_F^2 / N^2",
        }
    }
}

/// Documentation of the `error` parameter.
pub const ERROR_DOC: &str = "error measure: OperatorNorm (||C_yy - I||_2), MaxEigenExcess (the authors' signed lambda_max - 1), Spectral (mean (lambda_i - 1)^2) or Frobenius (||C_yy - I||_F^2 / N^2)";

/// The spectrum of Figs 3 and 4: `s = exp(0.1 (linspace(-3, 3, n) + eps))`, `eps` i.i.d.
/// standard normal (eigenvalues within about `[0.74, 1.35]` times `e^{0.1 eps}`).
pub fn jittered_spectrum<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<f64> {
    linspace(-3.0, 3.0, n)
        .into_iter()
        .map(|x| (0.1 * (x + rng.sample::<f64, _>(StandardNormal))).exp())
        .collect()
}

/// Fig 3's covariance `C = Q diag(s) Q^T`: `s` from [`jittered_spectrum`], then `Q`
/// Haar-random (the authors' order of draws).
pub fn random_covariance<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Mat<f64> {
    let s = jittered_spectrum(n, rng);
    let q = haar_orthogonal(n, rng);
    covariance_with_spectrum(q.as_ref(), &s)
}

/// Runs offline gain steps on each covariance of `blocks` in turn, `steps` on each, the gains
/// carrying over from one block to the next (the authors' `adapt_covariance` without early
/// stop). One [`OfflineTrace`] per block: `errors[t]` is the error after `t` updates within
/// the block, `g_history` has `steps + 1` entries.
pub fn offline_blocks(
    net: &mut GainNetwork,
    blocks: &[MatRef<'_, f64>],
    eta: f64,
    steps: usize,
    measure: ErrorMeasure,
    ctx: &RunContext,
    what: &str,
) -> Result<Vec<OfflineTrace>> {
    let run = OfflineRun::new(eta, steps)
        .with_measure(measure)
        .without_early_stop();
    let mut traces = Vec::with_capacity(blocks.len());
    for (b, c) in blocks.iter().enumerate() {
        ctx.stop_point()?;
        let trace = run_offline(net, *c, &run)
            .map_err(|e| ctx.numerical(format!("{what}, block {}", b + 1), e))?;
        traces.push(trace);
    }
    Ok(traces)
}

/// The first index `t` with `errors[t] < threshold` (updates needed), if any.
pub fn steps_below(errors: &[f64], threshold: f64) -> Option<usize> {
    errors.iter().position(|&e| e < threshold)
}

/// The median of step counts over runs, a run that never got there counting as more than
/// any count (numpy's median of the middle two for an even number). `None` when the median
/// falls on such a run.
pub fn median_steps(counts: &[Option<usize>]) -> Option<f64> {
    let v: Vec<f64> = counts
        .iter()
        .map(|c| c.map_or(f64::INFINITY, |s| s as f64))
        .collect();
    let m = quantile(&v, 0.5);
    m.is_finite().then_some(m)
}

/// The steps at which a long trajectory of `len` entries is tabulated and drawn on a log
/// axis: every step up to 100, then about 100 per decade, and the last one.
pub fn log_thinned_steps(len: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = (0..len.min(101)).collect();
    let mut x = 100.0_f64;
    while (x as usize) < len {
        let s = x.round() as usize;
        if s < len && steps.last().is_some_and(|&l| s > l) {
            steps.push(s);
        }
        x *= 10f64.powf(0.01);
    }
    if len > 0 && steps.last() != Some(&(len - 1)) {
        steps.push(len - 1);
    }
    steps
}

/// A claim of paper 3 (the gain-modulation models).
pub fn claim(
    id: &str,
    statement: impl Into<String>,
    expected: impl Into<String>,
    measured: impl Into<String>,
    pass: bool,
    figure: &str,
) -> Claim {
    Claim {
        id: id.into(),
        paper: 3,
        statement: statement.into(),
        expected: expected.into(),
        measured: measured.into(),
        pass,
        figure: Some(figure.into()),
        informative: false,
    }
}

/// An informative comparison of paper 3 (a number of the authors' run beside ours; `agrees`
/// says whether it lies within the stated tolerance).
pub fn comparison(
    id: &str,
    statement: impl Into<String>,
    expected: impl Into<String>,
    measured: impl Into<String>,
    agrees: bool,
    figure: &str,
) -> Claim {
    Claim {
        informative: true,
        ..claim(id, statement, expected, measured, agrees, figure)
    }
}

/// `v` with 3 significant digits, as a list: `(1.69, 2.10, 0.921)`.
pub fn fmt_vec(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| fmt3(*x)).collect();
    format!("({})", parts.join(", "))
}

/// `x` with 3 significant digits (scientific below 1e-3).
pub fn fmt3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        format!("{x}")
    } else if x.abs() < 1e-3 {
        format!("{x:.2e}")
    } else {
        let digits = (2 - x.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{x:.digits$}")
    }
}

/// The rotation by `deg` degrees in the plane.
pub fn rotation(deg: f64) -> Mat<f64> {
    let (s, c) = deg.to_radians().sin_cos();
    Mat::from_fn(2, 2, |i, j| [[c, -s], [s, c]][i][j])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn frames_have_their_sizes_and_unit_columns() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c1 = random_covariance(6, &mut rng);
        let c2 = random_covariance(6, &mut rng);
        let ctx = [c1.as_ref(), c2.as_ref()];
        for f in [Frame::Random(21), Frame::Spectral(9)] {
            let w = f.build(&ctx, &mut rng).unwrap();
            assert_eq!((w.nrows(), w.ncols()), (6, f.k(6, 2)));
            assert_eq!(w.ncols(), 21);
            frame::check_unit_columns(w.as_ref()).unwrap();
        }
        // The spectral frame's first blocks diagonalise each context.
        let w = Frame::Spectral(9).build(&ctx, &mut rng).unwrap();
        for (b, c) in ctx.iter().enumerate() {
            let v = w.subcols(6 * b, 6);
            let d = v.transpose() * c * v;
            for i in 0..6 {
                for j in 0..6 {
                    if i != j {
                        assert!(d[(i, j)].abs() < 1e-12);
                    }
                }
            }
        }
        let c = random_covariance(2, &mut rng);
        let w = Frame::RotatedMercedes
            .build(&[c.as_ref()], &mut rng)
            .unwrap();
        let s = &w * w.transpose();
        assert!((s[(0, 0)] - 1.5).abs() < 1e-14 && s[(0, 1)].abs() < 1e-14);
        let w = Frame::Rows(vec![vec![0.0, 1.0, 1.0], vec![1.0, 1.0, 0.0]])
            .build(&[c.as_ref()], &mut rng)
            .unwrap();
        assert!((w[(0, 1)] - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
    }

    #[test]
    fn frames_that_do_not_fit_are_refused() {
        assert!(Frame::Mercedes.check("frame", 3).is_err());
        assert!(Frame::Equiangular3d.check("frame", 2).is_err());
        assert!(Frame::Random(0).check("frame", 2).is_err());
        let bad = Frame::Rows(vec![vec![0.0, 1.0], vec![0.0, 1.0]]);
        assert!(bad.check("frame", 2).is_err());
        assert!(
            Frame::Rows(vec![vec![1.0, 1.0], vec![1.0]])
                .check("f", 2)
                .is_err()
        );
        assert!(Frame::Rows(vec![vec![1.0, 1.0]]).check("f", 2).is_err());
        assert!(Frame::Spectral(0).check("frame", 4).is_ok());
    }

    #[test]
    fn the_jittered_spectrum_is_near_exp_of_a_tenth_of_linspace() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let s = jittered_spectrum(6, &mut rng);
        for (v, x) in s.iter().zip(linspace(-3.0, 3.0, 6)) {
            // eps within +-5 standard deviations.
            assert!((v.ln() / 0.1 - x).abs() < 5.0, "{s:?}");
        }
    }

    #[test]
    fn medians_of_step_counts_treat_unreached_runs_as_longest() {
        assert_eq!(median_steps(&[Some(3), Some(1), Some(2)]), Some(2.0));
        assert_eq!(median_steps(&[Some(3), None, Some(1), Some(2)]), Some(2.5));
        assert_eq!(median_steps(&[Some(3), None, None, Some(2)]), None);
        assert_eq!(steps_below(&[0.5, 0.2, 0.05, 0.2], 0.1), Some(2));
        assert_eq!(steps_below(&[0.5], 0.1), None);
    }

    #[test]
    fn thinned_steps_are_increasing_and_end_at_the_last() {
        let s = log_thinned_steps(20_001);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s[..101], (0..=100).collect::<Vec<_>>()[..]);
        assert_eq!(*s.last().unwrap(), 20_000);
        assert!(s.len() < 400, "{}", s.len());
        assert_eq!(log_thinned_steps(5), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn numbers_print_with_three_significant_digits() {
        assert_eq!(fmt3(1.68588), "1.69");
        assert_eq!(fmt3(0.0651), "0.0651");
        assert_eq!(fmt3(727.0), "727");
        assert_eq!(fmt3(2.6e-29), "2.60e-29");
        assert_eq!(fmt_vec(&[1.0, 0.5]), "(1.00, 0.500)");
        assert_eq!(fmt3(0.0), "0");
        assert_eq!(fmt3(-1.35), "-1.35");
    }
}
