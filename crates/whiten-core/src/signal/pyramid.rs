//! One scale of a steerable pyramid of order 2 (3 orientations), built in the Fourier domain
//! and not downsampled (paper 2 section 4, as in pyrtools' `SteerablePyramidFreq`).
//!
//! On the centred frequency grid (`x` along columns, `y` along rows, each in [-1, 1) with step
//! 2/size; radius `rho` with its zero-frequency value replaced by that of its left neighbour,
//! `rho = 2 / width`; `l = log2 rho`; `phi = atan2(y, x)`), band `b` of scale 0 has the mask
//!
//! ```text
//! H_b = (-i)^2 lo0(l) hi1(l) ang_b(phi)
//! lo0(l)   = sin((pi/2) clamp(-l, 0, 1))           (1 below rho = 1/2, 0 at rho = 1)
//! hi1(l)   = cos((pi/2) clamp(-1 - l, 0, 1))       (1 above rho = 1/2, 0 below rho = 1/4)
//! ang_b    = sqrt(C) cos(phi - pi b / 3)^2,  C = 2^(2*2) (2!)^2 / (3 * 4!) = 8/9
//! ```
//!
//! `lo0` is the low-pass complement of the pyramid's high-pass residual
//! `hi0(l) = cos((pi/2) clamp(-l, 0, 1))`; the band is `lo0 * hi1 * ang` (the residual `hi0`
//! is split off before the bands, so it is not a factor of the band: with it the band would
//! vanish below rho = 1/2, against the spec's stated support 1/4 < rho < 1 peaking at 1/2).
//! The band is the real part of `IFFT(H_b * FFT(image))` (circular boundary).

use std::f64::consts::{FRAC_PI_2, PI};
use std::sync::{Arc, Mutex};

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::Image;
use crate::error::{CoreError, Result};

/// Number of orientations of the order-2 pyramid.
pub const ORIENTATIONS: usize = 3;

/// Steering constant `C = 2^(2 n) (n!)^2 / (K (2n)!)` for order `n = 2`, `K = 3`: 8/9.
const STEER_C: f64 = 8.0 / 9.0;

/// `hi0(l) = cos((pi/2) clamp(-l, 0, 1))`: the pyramid's high-pass residual. Computed as
/// `sin((pi/2) (1 - t))` so that it is exactly 0 where the clamp saturates.
pub fn hi0(l: f64) -> f64 {
    (FRAC_PI_2 * (1.0 - (-l).clamp(0.0, 1.0))).sin()
}

/// `lo0(l) = sqrt(1 - hi0(l)^2) = sin((pi/2) clamp(-l, 0, 1))`.
pub fn lo0(l: f64) -> f64 {
    (FRAC_PI_2 * (-l).clamp(0.0, 1.0)).sin()
}

/// `hi1(l) = cos((pi/2) clamp(-1 - l, 0, 1))`: high-pass of the first scale (computed as
/// `sin((pi/2) (1 - t))`, exactly 0 below rho = 1/4).
pub fn hi1(l: f64) -> f64 {
    (FRAC_PI_2 * (1.0 - (-1.0 - l).clamp(0.0, 1.0))).sin()
}

/// Angular mask of orientation `b`: `sqrt(C) cos(phi - pi b / 3)^2`.
pub fn ang(phi: f64, orientation: usize) -> f64 {
    let c = (phi - PI * orientation as f64 / ORIENTATIONS as f64).cos();
    STEER_C.sqrt() * c * c
}

/// Frequency of FFT index `k` of an axis of even length `n` on the centred grid [-1, 1):
/// `2k/n` for `k < n/2`, `2k/n - 2` otherwise (index n/2 is the Nyquist frequency -1).
fn axis_frequency(k: usize, n: usize) -> f64 {
    if k < n / 2 {
        2.0 * k as f64 / n as f64
    } else {
        2.0 * k as f64 / n as f64 - 2.0
    }
}

/// Real mask value `(-1) lo0 hi1 ang_b` at frequency (x, y); `(x, y) = (0, 0)` takes the
/// radius of its left neighbour `rho = 2 / width` (and `phi = atan2(0, 0) = 0`).
fn mask_value(x: f64, y: f64, width: usize, orientation: usize) -> f64 {
    let rho = if x == 0.0 && y == 0.0 {
        2.0 / width as f64
    } else {
        x.hypot(y)
    };
    let l = rho.log2();
    // (-i)^order with order 2.
    -lo0(l) * hi1(l) * ang(y.atan2(x), orientation)
}

fn check_size(width: usize, height: usize) -> Result<()> {
    for (name, n) in [("width", width), ("height", height)] {
        if n < 2 || n % 2 != 0 {
            return Err(CoreError::InvalidParameter {
                name,
                value: n as f64,
                reason: "the pyramid needs an even image size of at least 2",
            });
        }
    }
    Ok(())
}

fn check_orientation(orientation: usize) -> Result<()> {
    if orientation >= ORIENTATIONS {
        return Err(CoreError::InvalidParameter {
            name: "orientation",
            value: orientation as f64,
            reason: "the order-2 pyramid has orientations 0, 1, 2",
        });
    }
    Ok(())
}

/// Fourier mask of band `orientation` (scale 0) for a `width` x `height` image, row-major on
/// the centred grid (row `i` has `y = -1 + 2 i / height`, column `j` has
/// `x = -1 + 2 j / width`; the zero frequency is at row `height / 2`, column `width / 2`).
///
/// Errors: odd or zero size, orientation >= 3.
pub fn band_mask(width: usize, height: usize, orientation: usize) -> Result<Vec<f64>> {
    check_size(width, height)?;
    check_orientation(orientation)?;
    let mut mask = Vec::with_capacity(width * height);
    for i in 0..height {
        let y = -1.0 + 2.0 * i as f64 / height as f64;
        for j in 0..width {
            let x = -1.0 + 2.0 * j as f64 / width as f64;
            mask.push(mask_value(x, y, width, orientation));
        }
    }
    Ok(mask)
}

/// FFT plans and band masks for one image size, reused across images (plans are shared and
/// the methods take `&self`, so one `Pyramid` can serve several threads).
pub struct Pyramid {
    width: usize,
    height: usize,
    row_fwd: Arc<dyn Fft<f64>>,
    row_inv: Arc<dyn Fft<f64>>,
    col_fwd: Arc<dyn Fft<f64>>,
    col_inv: Arc<dyn Fft<f64>>,
    /// Masks in FFT order, transposed: entry `kx * height + ky`.
    masks: Vec<Vec<f64>>,
    /// Cached work buffers (allocated on first use).
    work: Mutex<Option<Work>>,
}

impl std::fmt::Debug for Pyramid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pyramid")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl Pyramid {
    /// Plans the FFTs and builds the three band masks for `width` x `height` images.
    ///
    /// Errors: odd or zero size.
    pub fn new(width: usize, height: usize) -> Result<Self> {
        check_size(width, height)?;
        let mut planner = FftPlanner::<f64>::new();
        // Radial part (-1) lo0 hi1 once, then ang_b from cos(phi - pi b/3) =
        // cos(phi) cos(pi b/3) + sin(phi) sin(pi b/3) with cos(phi) = x / rho,
        // sin(phi) = y / rho (phi = 0 at the zero frequency).
        let steer: Vec<(f64, f64)> = (0..ORIENTATIONS)
            .map(|b| {
                let t = PI * b as f64 / ORIENTATIONS as f64;
                (t.cos(), t.sin())
            })
            .collect();
        let mut masks = vec![vec![0.0; width * height]; ORIENTATIONS];
        for kx in 0..width {
            let x = axis_frequency(kx, width);
            for ky in 0..height {
                let y = axis_frequency(ky, height);
                let (rho, c, s) = if kx == 0 && ky == 0 {
                    (2.0 / width as f64, 1.0, 0.0)
                } else {
                    let rho = x.hypot(y);
                    (rho, x / rho, y / rho)
                };
                // Outside 1/4 < rho < 1 the radial factor is exactly 0.
                if rho <= 0.25 || rho >= 1.0 {
                    continue;
                }
                let l = rho.log2();
                let radial = -lo0(l) * hi1(l) * STEER_C.sqrt();
                for (b, (cb, sb)) in steer.iter().enumerate() {
                    let cos_diff = c * cb + s * sb;
                    masks[b][kx * height + ky] = radial * cos_diff * cos_diff;
                }
            }
        }
        Ok(Self {
            width,
            height,
            row_fwd: planner.plan_fft_forward(width),
            row_inv: planner.plan_fft_inverse(width),
            col_fwd: planner.plan_fft_forward(height),
            col_inv: planner.plan_fft_inverse(height),
            masks,
            work: Mutex::new(None),
        })
    }

    /// Image width this pyramid was built for.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Image height this pyramid was built for.
    pub fn height(&self) -> usize {
        self.height
    }

    fn check_image(&self, image: &Image) -> Result<()> {
        if image.width != self.width {
            return Err(CoreError::DimensionMismatch {
                what: "image width for the pyramid",
                expected: self.width,
                got: image.width,
            });
        }
        if image.height != self.height {
            return Err(CoreError::DimensionMismatch {
                what: "image height for the pyramid",
                expected: self.height,
                got: image.height,
            });
        }
        if image.pixels.len() != self.width * self.height {
            return Err(CoreError::DimensionMismatch {
                what: "image pixel count",
                expected: self.width * self.height,
                got: image.pixels.len(),
            });
        }
        Ok(())
    }

    /// Reusable buffers: the cached ones when free (fresh multi-megabyte buffers cost page
    /// faults comparable to the FFTs themselves), new ones when another thread holds them.
    fn with_work<T>(&self, f: impl FnOnce(&mut Work) -> T) -> T {
        if let Ok(mut guard) = self.work.try_lock() {
            let work = guard
                .get_or_insert_with(|| Work::new(self.width * self.height, self.scratch_len()));
            f(work)
        } else {
            f(&mut Work::new(self.width * self.height, self.scratch_len()))
        }
    }

    fn scratch_len(&self) -> usize {
        [&self.row_fwd, &self.row_inv, &self.col_fwd, &self.col_inv]
            .iter()
            .map(|p| p.get_inplace_scratch_len())
            .max()
            .unwrap_or(0)
    }

    /// `work.spectrum` = 2D FFT of the image, transposed: entry `kx * height + ky`.
    fn spectrum(&self, image: &Image, work: &mut Work) {
        let (w, h) = (self.width, self.height);
        for (z, &p) in work.a.iter_mut().zip(&image.pixels) {
            *z = Complex::new(p, 0.0);
        }
        self.row_fwd
            .process_with_scratch(&mut work.a, &mut work.scratch);
        transpose(&work.a, &mut work.spectrum, h, w);
        self.col_fwd
            .process_with_scratch(&mut work.spectrum, &mut work.scratch);
    }

    /// `Re IFFT(H_b * spectrum)`, row-major, from `work.spectrum`.
    fn apply(&self, work: &mut Work, orientation: usize) -> Vec<f64> {
        let (w, h) = (self.width, self.height);
        for ((z, s), m) in work
            .a
            .iter_mut()
            .zip(&work.spectrum)
            .zip(&self.masks[orientation])
        {
            *z = s * m;
        }
        self.col_inv
            .process_with_scratch(&mut work.a, &mut work.scratch);
        transpose(&work.a, &mut work.b, w, h);
        self.row_inv
            .process_with_scratch(&mut work.b, &mut work.scratch);
        // rustfft's inverse is unnormalised.
        let norm = 1.0 / (w * h) as f64;
        work.b.iter().map(|c| c.re * norm).collect()
    }

    /// Band `orientation` (0, 1, 2) of scale 0, same size as the image, row-major.
    ///
    /// Errors: image of another size, orientation >= 3.
    pub fn band(&self, image: &Image, orientation: usize) -> Result<Vec<f64>> {
        check_orientation(orientation)?;
        self.check_image(image)?;
        Ok(self.with_work(|work| {
            self.spectrum(image, work);
            self.apply(work, orientation)
        }))
    }

    /// The three oriented bands of scale 0 (one forward FFT shared by all three).
    ///
    /// Errors: image of another size.
    pub fn bands(&self, image: &Image) -> Result<Vec<Vec<f64>>> {
        self.check_image(image)?;
        Ok(self.with_work(|work| {
            self.spectrum(image, work);
            (0..ORIENTATIONS).map(|b| self.apply(work, b)).collect()
        }))
    }
}

/// Work buffers of one band computation.
struct Work {
    a: Vec<Complex<f64>>,
    b: Vec<Complex<f64>>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl Work {
    fn new(len: usize, scratch: usize) -> Self {
        Self {
            a: vec![Complex::default(); len],
            b: vec![Complex::default(); len],
            spectrum: vec![Complex::default(); len],
            scratch: vec![Complex::default(); scratch],
        }
    }
}

/// Band `orientation` of scale 0 of `image` (plans a [`Pyramid`] for this one call; build a
/// `Pyramid` to filter several images of one size).
pub fn pyramid_band(image: &Image, orientation: usize) -> Result<Vec<f64>> {
    check_orientation(orientation)?;
    Pyramid::new(image.width, image.height)?.band(image, orientation)
}

/// `dst` (cols x rows) = transpose of `src` (rows x cols), both row-major, in cache blocks.
fn transpose(src: &[Complex<f64>], dst: &mut [Complex<f64>], rows: usize, cols: usize) {
    const BLOCK: usize = 32;
    for r0 in (0..rows).step_by(BLOCK) {
        for c0 in (0..cols).step_by(BLOCK) {
            for r in r0..(r0 + BLOCK).min(rows) {
                for c in c0..(c0 + BLOCK).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine_image(width: usize, height: usize, u: f64, v: f64, phase: f64) -> Image {
        // cos(2 pi (u j / W + v i / H) + phase): frequency x = 2u/W, y = 2v/H on the grid.
        let pixels = (0..height)
            .flat_map(|i| {
                (0..width).map(move |j| {
                    (2.0 * PI * (u * j as f64 / width as f64 + v * i as f64 / height as f64)
                        + phase)
                        .cos()
                })
            })
            .collect();
        Image {
            width,
            height,
            pixels,
        }
    }

    #[test]
    fn radial_profile() {
        // hi0^2 + lo0^2 = 1; band support 1/4 < rho < 1 with lo0 hi1 = 1 at rho = 1/2.
        for k in 0..100 {
            let l = -3.0 + 4.0 * k as f64 / 100.0;
            assert!((hi0(l).powi(2) + lo0(l).powi(2) - 1.0).abs() < 1e-15);
        }
        assert!((lo0(-1.0) * hi1(-1.0) - 1.0).abs() < 1e-15);
        assert!(lo0(0.0).abs() < 1e-15 && hi1(-2.0).abs() < 1e-15);
        assert!(hi0(-1.0).abs() < 1e-15 && (hi0(0.0) - 1.0).abs() < 1e-15);
        // Steering: sum_b cos^2(phi - pi b / 3) = 3/2 for every phi.
        for k in 0..50 {
            let phi = -PI + 2.0 * PI * k as f64 / 50.0;
            let s: f64 = (0..3).map(|b| ang(phi, b)).sum();
            assert!((s - 1.5 * STEER_C.sqrt()).abs() < 1e-14);
        }
    }

    #[test]
    fn mask_layout_and_dc() {
        let (w, h) = (16, 8);
        let m = band_mask(w, h, 0).unwrap();
        // Zero frequency at (h/2, w/2): radius of its left neighbour 2/16 = 1/8, below 1/4.
        assert_eq!(m[(h / 2) * w + w / 2], 0.0);
        // Column w/2 + 4 is x = 0.5, row h/2 is y = 0: rho = 1/2, phi = 0, mask -sqrt(C).
        assert!((m[(h / 2) * w + w / 2 + 4] + STEER_C.sqrt()).abs() < 1e-15);
        // Row h/2 + 2 is y = 0.5, column w/2 is x = 0: phi = pi/2, cos^2 = 0.
        assert!(m[(h / 2 + 2) * w + w / 2].abs() < 1e-15);
        // Orientation 1 at phi = pi/3 (x = 0.25, y = 0.25 sqrt 3 is not on the grid): check
        // instead that the three masks sum to -(3/2) sqrt(C) lo0 hi1 everywhere.
        let m1 = band_mask(w, h, 1).unwrap();
        let m2 = band_mask(w, h, 2).unwrap();
        for i in 0..h {
            for j in 0..w {
                let (x, y) = (
                    -1.0 + 2.0 * j as f64 / w as f64,
                    -1.0 + 2.0 * i as f64 / h as f64,
                );
                let rho = if x == 0.0 && y == 0.0 {
                    2.0 / w as f64
                } else {
                    x.hypot(y)
                };
                let want = -1.5 * STEER_C.sqrt() * lo0(rho.log2()) * hi1(rho.log2());
                let k = i * w + j;
                assert!((m[k] + m1[k] + m2[k] - want).abs() < 1e-14);
            }
        }
        assert!(band_mask(15, 8, 0).is_err() && band_mask(16, 8, 3).is_err());
    }

    #[test]
    fn cosine_is_scaled_by_mask() {
        // Square and non-square sizes; frequencies away from Nyquist, so the mask is even.
        for (w, h) in [(64, 64), (48, 32)] {
            let pyr = Pyramid::new(w, h).unwrap();
            let masks: Vec<Vec<f64>> = (0..3).map(|b| band_mask(w, h, b).unwrap()).collect();
            for (u, v) in [(8, 0), (5, 3), (-7, 6), (0, 9), (3, -2), (20, 1)] {
                let img = cosine_image(w, h, u as f64, v as f64, 0.3);
                let bands = pyr.bands(&img).unwrap();
                // Grid position of frequency (2u/W, 2v/H): column W/2 + u, row H/2 + v.
                let idx = ((h as i64 / 2 + v) as usize) * w + (w as i64 / 2 + u) as usize;
                for b in 0..3 {
                    let gain = masks[b][idx];
                    let err = bands[b]
                        .iter()
                        .zip(&img.pixels)
                        .map(|(y, x)| (y - gain * x).abs())
                        .fold(0.0, f64::max);
                    assert!(
                        err < 1e-10,
                        "{w}x{h} (u, v) = ({u}, {v}), b = {b}: err {err}"
                    );
                    let single = pyramid_band(&img, b).unwrap();
                    assert!(
                        single
                            .iter()
                            .zip(&bands[b])
                            .all(|(a, c)| (a - c).abs() < 1e-12)
                    );
                }
            }
        }
    }

    #[test]
    fn pyramid_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Pyramid>();
    }

    #[test]
    fn band_is_linear_and_kills_constants() {
        let pyr = Pyramid::new(32, 16).unwrap();
        let flat = Image {
            width: 32,
            height: 16,
            pixels: vec![0.7; 32 * 16],
        };
        // The mask is 0 at the zero frequency (rho taken as 2/32 < 1/4).
        assert!(pyr.band(&flat, 0).unwrap().iter().all(|v| v.abs() < 1e-13));
        let wrong = Image {
            width: 16,
            height: 32,
            pixels: vec![0.0; 512],
        };
        assert!(pyr.band(&wrong, 0).is_err());
        assert!(pyr.band(&flat, 3).is_err());
    }
}
