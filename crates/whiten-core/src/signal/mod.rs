//! Natural-image signals for paper 2 (section 4): greyscale images, one scale of a steerable
//! pyramid (three orientations, Fourier domain, not downsampled), seeded dead-leaves images
//! (the generated default), and the 1D and 2D signals built from a band.
//!
//! Pure computation; reading image files is whiten-experiments' job.

mod dead_leaves;
mod pyramid;

pub use dead_leaves::{DeadLeavesParams, dead_leaves};
pub use pyramid::{ORIENTATIONS, Pyramid, ang, band_mask, hi0, hi1, lo0, pyramid_band};

use crate::error::{CoreError, Result};

/// A greyscale image: `pixels[i * width + j]` is row `i` (top to bottom), column `j`, with
/// grey levels in [0, 1] (not enforced: generated images carry additive noise).
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Number of columns.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// Row-major grey levels, `width * height` of them.
    pub pixels: Vec<f64>,
}

impl Image {
    /// An image from row-major pixels.
    ///
    /// Errors: `pixels.len() != width * height`, an empty image, or a non-finite pixel.
    pub fn new(width: usize, height: usize, pixels: Vec<f64>) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(CoreError::InvalidParameter {
                name: "width * height",
                value: (width * height) as f64,
                reason: "an image must have at least one pixel",
            });
        }
        if pixels.len() != width * height {
            return Err(CoreError::DimensionMismatch {
                what: "image pixel count",
                expected: width * height,
                got: pixels.len(),
            });
        }
        if pixels.iter().any(|p| !p.is_finite()) {
            return Err(CoreError::NonFinite {
                what: "image pixels",
            });
        }
        Ok(Self {
            width,
            height,
            pixels,
        })
    }

    /// The centred `w` x `h` crop: rows `(height - h) / 2 ..`, columns `(width - w) / 2 ..`
    /// (integer division, so an odd margin leaves the extra pixel at the bottom/right).
    ///
    /// Errors: `w` or `h` zero or larger than the image.
    pub fn centre_crop(&self, w: usize, h: usize) -> Result<Image> {
        if w == 0 || w > self.width {
            return Err(CoreError::DimensionMismatch {
                what: "crop width (at most the image width, at least 1)",
                expected: self.width,
                got: w,
            });
        }
        if h == 0 || h > self.height {
            return Err(CoreError::DimensionMismatch {
                what: "crop height (at most the image height, at least 1)",
                expected: self.height,
                got: h,
            });
        }
        let (x0, y0) = ((self.width - w) / 2, (self.height - h) / 2);
        let pixels = (y0..y0 + h)
            .flat_map(|i| {
                self.pixels[i * self.width + x0..i * self.width + x0 + w]
                    .iter()
                    .copied()
            })
            .collect();
        Ok(Image {
            width: w,
            height: h,
            pixels,
        })
    }
}

/// Population standard deviation (mean subtracted, 1/N).
fn std_of(x: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = x.clone().count() as f64;
    let m = x.clone().sum::<f64>() / n;
    (x.map(|v| (v - m) * (v - m)).sum::<f64>() / n).sqrt()
}

/// The 1D signal: every coefficient of the band divided by the band's standard deviation
/// (population, 1/N; the band has mean 0, which is not subtracted). A constant-zero band is
/// returned unchanged (division by 0 avoided).
pub fn signal_1d(band: &[f64]) -> Vec<f64> {
    let sd = std_of(band.iter().copied());
    let scale = if sd > 0.0 { 1.0 / sd } else { 1.0 };
    band.iter().map(|v| v * scale).collect()
}

/// The 2D signal of offset `d`: pairs (coefficient at row i, column j; coefficient at row
/// i + d, same column) for i in 0..height - d and j in 0..width, each coordinate divided by
/// its own standard deviation over the pairs (population, 1/N; not mean-subtracted).
///
/// Order: column by column, i.e. pair index `j * (height - d) + i` (column-major in (i, j)).
/// This is the order in which the authors' "every 10th pair" (indices 0, 10, 20, ... of the
/// list, [`crate::stats::mutual_information`] with stride 10) reproduces their numbers; the
/// row-major order gives different every-10th values (spec section 6 table).
///
/// Errors: `band.len() != width * height`, `d = 0`, or `d >= height`.
pub fn pairs_2d(band: &[f64], width: usize, height: usize, d: usize) -> Result<Vec<[f64; 2]>> {
    if band.len() != width * height {
        return Err(CoreError::DimensionMismatch {
            what: "band length (width * height)",
            expected: width * height,
            got: band.len(),
        });
    }
    if d == 0 || d >= height {
        return Err(CoreError::InvalidParameter {
            name: "d",
            value: d as f64,
            reason: "the pair offset must satisfy 1 <= d < height",
        });
    }
    let rows = height - d;
    // Standard deviations over the same coefficient sets as the pairs: rows 0..rows for the
    // first coordinate, rows d..height for the second.
    let s0 = std_of(band[..rows * width].iter().copied());
    let s1 = std_of(band[d * width..].iter().copied());
    let k0 = if s0 > 0.0 { 1.0 / s0 } else { 1.0 };
    let k1 = if s1 > 0.0 { 1.0 / s1 } else { 1.0 };
    let mut pairs = Vec::with_capacity(rows * width);
    for j in 0..width {
        for i in 0..rows {
            pairs.push([band[i * width + j] * k0, band[(i + d) * width + j] * k1]);
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_crop_takes_the_middle() {
        let img = Image::new(5, 4, (0..20).map(f64::from).collect()).unwrap();
        let c = img.centre_crop(3, 2).unwrap();
        // x0 = 1, y0 = 1: rows 1..3, columns 1..4.
        assert_eq!(c.pixels, vec![6.0, 7.0, 8.0, 11.0, 12.0, 13.0]);
        assert_eq!(img.centre_crop(5, 4).unwrap(), img);
        assert!(img.centre_crop(6, 2).is_err());
        assert!(img.centre_crop(2, 5).is_err());
        assert!(img.centre_crop(0, 1).is_err());
        assert!(Image::new(2, 2, vec![0.0; 3]).is_err());
        assert!(Image::new(1, 1, vec![f64::NAN]).is_err());
    }

    #[test]
    fn signal_1d_has_unit_std() {
        let band = [1.0, -3.0, 2.0, 0.0];
        let s = signal_1d(&band);
        let m = s.iter().sum::<f64>() / 4.0;
        let v = s.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 4.0;
        assert!((v - 1.0).abs() < 1e-14);
        // Pure scaling: ratios kept.
        assert!((s[1] / s[0] + 3.0).abs() < 1e-14);
    }

    #[test]
    fn pairs_are_vertical_offsets() {
        // 3 columns x 4 rows, value = 10 i + j.
        let band: Vec<f64> = (0..4)
            .flat_map(|i| (0..3).map(move |j| f64::from(10 * i + j)))
            .collect();
        let p = pairs_2d(&band, 3, 4, 2).unwrap();
        assert_eq!(p.len(), 6);
        let s0 = std_of([0.0, 1.0, 2.0, 10.0, 11.0, 12.0].into_iter());
        let s1 = std_of([20.0, 21.0, 22.0, 30.0, 31.0, 32.0].into_iter());
        // Pair index j * (height - d) + i: pair 3 is (i, j) = (1, 1): values 11 and 31.
        assert!((p[3][0] - 11.0 / s0).abs() < 1e-14 && (p[3][1] - 31.0 / s1).abs() < 1e-14);
        assert!((p[0][0]).abs() < 1e-14 && (p[0][1] - 20.0 / s1).abs() < 1e-14);
        // Pair 4 is (i, j) = (0, 2): values 2 and 22.
        assert!((p[4][0] - 2.0 / s0).abs() < 1e-14 && (p[4][1] - 22.0 / s1).abs() < 1e-14);
        assert!(pairs_2d(&band, 3, 4, 4).is_err());
        assert!(pairs_2d(&band, 3, 4, 0).is_err());
        assert!(pairs_2d(&band, 4, 4, 1).is_err());
    }
}
