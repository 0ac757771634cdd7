//! Frames: `n x K` matrices `W` whose columns `w_i` are unit vectors, the fixed interneuron
//! weights of paper A.
//!
//! * [`mercedes`]: `n = 2, K = 3`, `w_k = (cos theta_k, sin theta_k)` with
//!   `theta_k = 0, 2 pi/3, 4 pi/3`; `W W^T = 1.5 I`.
//! * [`equiangular_3d`]: `n = 3, K = 6`, the equiangular tight frame of Redmond (2009) used by
//!   the authors: `|w_i^T w_j| = 1/sqrt 5` for `i != j` and `W W^T = 2 I`.
//! * [`random_unit`]: i.i.d. standard normal entries, columns normalised.
//! * [`spectral`]: the eigenvectors of `C`, optionally followed by random unit columns.
//! * [`conv`] / [`conv_1d`]: for an `rows x cols` image (vectorised row-major) and an
//!   `h x w` window, the identity `I` followed by `(e_a + e_b)/sqrt 2` for every unordered
//!   pixel pair `a < b` with `|drow| < h` and `|dcol| < w`, in the authors' order (for each
//!   `a`, the partners `b > a` in increasing order).
//! * [`normalize_columns`] and [`check_unit_columns`] for user frames.

use faer::{Mat, MatRef};

use crate::cov::{gaussian_matrix, sym_eigen};
use crate::error::{CoreError, Result};

/// Tolerance on `| ||w_i|| - 1 |` in [`check_unit_columns`].
pub const UNIT_NORM_TOL: f64 = 1e-10;

fn column_norm(w: MatRef<'_, f64>, j: usize) -> f64 {
    (0..w.nrows())
        .map(|i| w[(i, j)] * w[(i, j)])
        .sum::<f64>()
        .sqrt()
}

/// Refuses an empty frame (no rows or no columns).
fn check_nonempty(nrows: usize, ncols: usize) -> Result<()> {
    if nrows == 0 || ncols == 0 {
        return Err(CoreError::InvalidParameter {
            name: if nrows == 0 { "n" } else { "K" },
            value: 0.0,
            reason: "a frame needs at least one row and one column",
        });
    }
    Ok(())
}

/// `W` with every column divided by its Euclidean norm. Refuses NaN/inf (`NonFinite`) and a
/// zero column (`BadColumn`), and an empty matrix.
pub fn normalize_columns(w: MatRef<'_, f64>) -> Result<Mat<f64>> {
    check_nonempty(w.nrows(), w.ncols())?;
    if !w.is_all_finite() {
        return Err(CoreError::NonFinite { what: "W" });
    }
    let n = w.nrows();
    let mut flat: Vec<f64> = (0..w.ncols())
        .flat_map(|j| (0..n).map(move |i| w[(i, j)]))
        .collect();
    normalize_columns_flat(&mut flat, n)?;
    Ok(Mat::from_fn(n, w.ncols(), |i, j| flat[j * n + i]))
}

/// [`normalize_columns`] in place on a column-major buffer of `n` rows (finite entries):
/// each column divided by its norm `sqrt(sum_i w_ij^2)`; `BadColumn` for a zero column (the
/// columns before it are then already divided).
pub(crate) fn normalize_columns_flat(wv: &mut [f64], n: usize) -> Result<()> {
    for (index, col) in wv.chunks_exact_mut(n).enumerate() {
        let norm = col.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return Err(CoreError::BadColumn {
                what: "W",
                index,
                norm,
                reason: "a zero column cannot be normalised",
            });
        }
        col.iter_mut().for_each(|v| *v /= norm);
    }
    Ok(())
}

/// Checks that `W` is non-empty, finite and has unit columns (to [`UNIT_NORM_TOL`]).
pub fn check_unit_columns(w: MatRef<'_, f64>) -> Result<()> {
    check_nonempty(w.nrows(), w.ncols())?;
    if !w.is_all_finite() {
        return Err(CoreError::NonFinite { what: "W" });
    }
    for j in 0..w.ncols() {
        let norm = column_norm(w, j);
        if (norm - 1.0).abs() > UNIT_NORM_TOL {
            return Err(CoreError::BadColumn {
                what: "frame W",
                index: j,
                norm,
                reason: "frame columns must have unit norm (see frame::normalize_columns)",
            });
        }
    }
    Ok(())
}

/// The Mercedes-Benz frame (`2 x 3`): angles `0, 2 pi/3, 4 pi/3`.
pub fn mercedes() -> Mat<f64> {
    let theta = |k: usize| 2.0 * std::f64::consts::PI * k as f64 / 3.0;
    Mat::from_fn(2, 3, |i, k| {
        if i == 0 {
            theta(k).cos()
        } else {
            theta(k).sin()
        }
    })
}

/// The equiangular tight frame of six vectors in `R^3` (Redmond 2009), as the authors build it.
pub fn equiangular_3d() -> Mat<f64> {
    let s5 = 5.0_f64.sqrt();
    let a = 1.0 / s5;
    let rows: [[f64; 3]; 6] = [
        [1.0, 0.0, 0.0],
        [a, 2.0 * a, 0.0],
        [a, 0.1 * (5.0 - s5), (0.1 * (5.0 + s5)).sqrt()],
        [a, 0.1 * (5.0 - s5), -(0.1 * (5.0 + s5)).sqrt()],
        [a, 0.1 * (-5.0 - s5), (0.1 * (5.0 - s5)).sqrt()],
        [a, 0.1 * (-5.0 - s5), -(0.1 * (5.0 - s5)).sqrt()],
    ];
    // Each listed vector is a column of W.
    Mat::from_fn(3, 6, |i, k| rows[k][i])
}

/// A random frame: `n x k` standard normal entries, columns normalised. A column that is
/// exactly zero (probability zero) is redrawn.
pub fn random_unit<R: rand::Rng + ?Sized>(n: usize, k: usize, rng: &mut R) -> Result<Mat<f64>> {
    check_nonempty(n, k)?;
    let mut w = gaussian_matrix(n, k, rng);
    for j in 0..k {
        while column_norm(w.as_ref(), j) == 0.0 {
            let c = gaussian_matrix(n, 1, rng);
            for i in 0..n {
                w[(i, j)] = c[(i, 0)];
            }
        }
    }
    normalize_columns(w.as_ref())
}

/// The 'spectral' frame: the eigenvectors of the symmetric `C` (eigenvalues ascending),
/// followed by `extra` random unit columns ([`random_unit`]).
pub fn spectral<R: rand::Rng + ?Sized>(
    c: MatRef<'_, f64>,
    extra: usize,
    rng: &mut R,
) -> Result<Mat<f64>> {
    let e = sym_eigen(c)?;
    let n = c.nrows();
    check_nonempty(n, n)?;
    if extra == 0 {
        return Ok(e.vectors);
    }
    let r = random_unit(n, extra, rng)?;
    Ok(Mat::from_fn(n, n + extra, |i, j| {
        if j < n {
            e.vectors[(i, j)]
        } else {
            r[(i, j - n)]
        }
    }))
}

/// The pixel pairs `(a, b)`, `a < b` (row-major flat indices), of the convolutional frame of an
/// `rows x cols` image with an `h x w` window, in column order.
pub fn conv_pairs(rows: usize, cols: usize, h: usize, w: usize) -> Result<Vec<(usize, usize)>> {
    check_conv(rows, cols, h, w)?;
    let mut pairs = Vec::new();
    for a in 0..rows * cols {
        let (ra, ca) = (a / cols, a % cols);
        for b in (a + 1)..rows * cols {
            let (rb, cb) = (b / cols, b % cols);
            if ra.abs_diff(rb) < h && ca.abs_diff(cb) < w {
                pairs.push((a, b));
            }
        }
    }
    Ok(pairs)
}

fn check_conv(rows: usize, cols: usize, h: usize, w: usize) -> Result<()> {
    for (name, v) in [("rows", rows), ("cols", cols), ("h", h), ("w", w)] {
        if v == 0 {
            return Err(CoreError::InvalidParameter {
                name,
                value: 0.0,
                reason: "image and window sizes must be at least 1",
            });
        }
    }
    if h > rows || w > cols {
        return Err(CoreError::InvalidParameter {
            name: if h > rows { "h" } else { "w" },
            value: if h > rows { h as f64 } else { w as f64 },
            reason: "the window must fit in the image",
        });
    }
    Ok(())
}

/// The convolutional frame of an `rows x cols` image and an `h x w` window:
/// `[I_{rows cols} | (e_a + e_b)/sqrt 2 for each pair of conv_pairs]`.
pub fn conv(rows: usize, cols: usize, h: usize, w: usize) -> Result<Mat<f64>> {
    let pairs = conv_pairs(rows, cols, h, w)?;
    let n = rows * cols;
    let mut frame = Mat::zeros(n, n + pairs.len());
    for i in 0..n {
        frame[(i, i)] = 1.0;
    }
    let s = std::f64::consts::FRAC_1_SQRT_2;
    for (j, &(a, b)) in pairs.iter().enumerate() {
        frame[(a, n + j)] = s;
        frame[(b, n + j)] = s;
    }
    Ok(frame)
}

/// The 1D convolutional frame of `n` neurons with a window of `h` (= [`conv`]`(n, 1, h, 1)`).
pub fn conv_1d(n: usize, h: usize) -> Result<Mat<f64>> {
    conv(n, 1, h, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn assert_unit_columns(w: MatRef<'_, f64>) {
        for j in 0..w.ncols() {
            assert!((column_norm(w, j) - 1.0).abs() < 1e-14, "column {j}");
        }
    }

    fn assert_tight(w: MatRef<'_, f64>, a: f64) {
        let s = w * w.transpose();
        for i in 0..w.nrows() {
            for j in 0..w.nrows() {
                let want = if i == j { a } else { 0.0 };
                assert!(
                    (s[(i, j)] - want).abs() < 1e-14,
                    "W W^T[{i},{j}] = {}",
                    s[(i, j)]
                );
            }
        }
    }

    #[test]
    fn mercedes_is_tight_with_quarter_off_diagonal() {
        let w = mercedes();
        assert_unit_columns(w.as_ref());
        assert_tight(w.as_ref(), 1.5);
        let h = crate::gain::gram_hadamard_square(w.as_ref());
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.25 };
                assert!((h[(i, j)] - want).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn equiangular_3d_is_equiangular_and_tight() {
        let w = equiangular_3d();
        assert_unit_columns(w.as_ref());
        assert_tight(w.as_ref(), 2.0);
        let gram = w.transpose() * &w;
        let want = 1.0 / 5.0_f64.sqrt();
        for i in 0..6 {
            for j in 0..6 {
                if i != j {
                    assert!((gram[(i, j)].abs() - want).abs() < 1e-14, "({i},{j})");
                }
            }
        }
    }

    #[test]
    fn conv_frame_column_counts() {
        for ((r, c, h, w), k) in [
            ((10, 1, 2, 1), 19),
            ((3, 3, 2, 2), 29),
            ((12, 12, 4, 4), 2664),
        ] {
            let f = conv(r, c, h, w).unwrap();
            assert_eq!((f.nrows(), f.ncols()), (r * c, k), "({r},{c},{h},{w})");
            assert_unit_columns(f.as_ref());
        }
        assert_eq!(conv_1d(10, 2).unwrap().ncols(), 19);
    }

    #[test]
    fn conv_frame_count_matches_independent_formula() {
        // Unordered pairs within the window: for each offset (dr, dc) != 0 with dr in
        // [0, h), dc in (-w, w) and (dr > 0 or dc > 0), (rows - dr)(cols - |dc|) pairs.
        for (r, c, h, w) in [(5, 4, 3, 2), (6, 6, 2, 3), (4, 7, 4, 1), (3, 3, 3, 3)] {
            let mut count = 0usize;
            for dr in 0..h {
                for dc in -(w as i64 - 1)..(w as i64) {
                    if dr == 0 && dc <= 0 {
                        continue;
                    }
                    count += (r - dr) * (c - dc.unsigned_abs() as usize);
                }
            }
            assert_eq!(
                conv_pairs(r, c, h, w).unwrap().len(),
                count,
                "({r},{c},{h},{w})"
            );
        }
    }

    #[test]
    fn random_and_spectral_frames() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let w = random_unit(4, 9, &mut rng).unwrap();
        assert_eq!((w.nrows(), w.ncols()), (4, 9));
        assert_unit_columns(w.as_ref());
        let c = crate::cov::random_spd(3, &mut rng);
        let s = spectral(c.as_ref(), 2, &mut rng).unwrap();
        assert_eq!((s.nrows(), s.ncols()), (3, 5));
        assert_unit_columns(s.as_ref());
        // The first three columns diagonalise C.
        let d = s.subcols(0, 3).transpose() * &c * s.subcols(0, 3);
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    assert!(d[(i, j)].abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn bad_frames_are_refused() {
        let z = Mat::from_fn(2, 3, |i, j| if j == 1 { 0.0 } else { (i + j) as f64 + 1.0 });
        assert!(matches!(
            normalize_columns(z.as_ref()),
            Err(CoreError::BadColumn { index: 1, .. })
        ));
        let mut nan = mercedes();
        nan[(0, 0)] = f64::NAN;
        assert!(matches!(
            normalize_columns(nan.as_ref()),
            Err(CoreError::NonFinite { .. })
        ));
        assert!(matches!(
            check_unit_columns(Mat::<f64>::from_fn(2, 2, |_, _| 1.0).as_ref()),
            Err(CoreError::BadColumn { index: 0, .. })
        ));
        assert!(check_unit_columns(Mat::<f64>::zeros(2, 0).as_ref()).is_err());
        assert!(matches!(
            conv(3, 3, 4, 1),
            Err(CoreError::InvalidParameter { .. })
        ));
        assert!(matches!(
            conv(3, 3, 0, 1),
            Err(CoreError::InvalidParameter { .. })
        ));
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(random_unit(0, 3, &mut rng).is_err());
    }
}
