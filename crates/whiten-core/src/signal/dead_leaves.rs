//! Seeded dead-leaves images, the project's generated default signal (paper 2 section 4):
//! occluding discs dropped until the image is covered, radii with density `~ r^-exponent` on
//! `[r_min, r_max]`, centres uniform over the image enlarged by `r_max` on every side (a
//! window onto a stationary dead-leaves field), grey levels uniform in [0, 1], each new
//! disc hidden under the earlier ones (it only paints pixels still uncovered), then Gaussian
//! noise.

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use super::Image;
use crate::error::{CoreError, Result};

/// Parameters of [`dead_leaves`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeadLeavesParams {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Smallest disc radius (pixels), > 0.
    pub r_min: f64,
    /// Largest disc radius (pixels), >= `r_min`.
    pub r_max: f64,
    /// Exponent `a` of the radius density `p(r) ~ r^-a` (3 in the paper: scale invariance).
    pub exponent: f64,
    /// Standard deviation of the additive Gaussian noise (grey levels are in [0, 1]).
    pub noise_std: f64,
}

impl Default for DeadLeavesParams {
    /// The paper's default: 512 x 512, radii 2 to 150 with density `r^-3`, noise 0.002.
    fn default() -> Self {
        Self {
            width: 512,
            height: 512,
            r_min: 2.0,
            r_max: 150.0,
            exponent: 3.0,
            noise_std: 0.002,
        }
    }
}

impl DeadLeavesParams {
    fn check(&self) -> Result<()> {
        if self.width == 0 || self.height == 0 {
            return Err(CoreError::InvalidParameter {
                name: "width * height",
                value: (self.width * self.height) as f64,
                reason: "the dead-leaves image must not be empty",
            });
        }
        // A disc centred on the image covers at least the pixel nearest its centre (distance
        // <= sqrt(1/2)), so covering terminates quickly.
        if !(self.r_min.is_finite() && self.r_min >= 0.75) {
            return Err(CoreError::InvalidParameter {
                name: "r_min",
                value: self.r_min,
                reason: "the smallest radius must be finite and at least 0.75 pixel",
            });
        }
        if !(self.r_max.is_finite() && self.r_max >= self.r_min) {
            return Err(CoreError::InvalidParameter {
                name: "r_max",
                value: self.r_max,
                reason: "the largest radius must be finite and at least r_min",
            });
        }
        if !self.exponent.is_finite() {
            return Err(CoreError::InvalidParameter {
                name: "exponent",
                value: self.exponent,
                reason: "the radius exponent must be finite",
            });
        }
        if !(self.noise_std.is_finite() && self.noise_std >= 0.0) {
            return Err(CoreError::InvalidParameter {
                name: "noise_std",
                value: self.noise_std,
                reason: "the noise standard deviation must be finite and non-negative",
            });
        }
        Ok(())
    }

    /// Inverse CDF of the radius density `p(r) ~ r^-a` on `[r_min, r_max]` at `u` in [0, 1):
    /// with `q = 1 - a`, `r = (r_min^q + u (r_max^q - r_min^q))^(1/q)`
    /// (`r = r_min (r_max / r_min)^u` for `a = 1`).
    fn radius(&self, u: f64) -> f64 {
        let q = 1.0 - self.exponent;
        if q.abs() < 1e-12 {
            self.r_min * (self.r_max / self.r_min).powf(u)
        } else {
            let (lo, hi) = (self.r_min.powf(q), self.r_max.powf(q));
            (lo + u * (hi - lo))
                .powf(1.0 / q)
                .clamp(self.r_min, self.r_max)
        }
    }
}

/// Generates a dead-leaves image. Pixel (i, j) has centre (j + 1/2, i + 1/2); a disc with
/// centre (cx, cy) uniform on [-r_max, width + r_max) x [-r_max, height + r_max) and radius
/// r covers the pixels whose centres are within r (discs missing the image are drawn and
/// dropped). Discs are drawn until every pixel is covered (exactly: a counter of uncovered
/// pixels), then `N(0, noise_std^2)` noise is added to every pixel.
///
/// Draw order per disc: radius uniform, cx, cy, grey level; then one normal per pixel in
/// row-major order. The result depends only on the parameters and the RNG stream.
///
/// Errors: invalid parameters (empty image, `r_min < 0.75`, `r_max < r_min`, non-finite
/// exponent, negative noise).
pub fn dead_leaves(params: &DeadLeavesParams, rng: &mut impl Rng) -> Result<Image> {
    params.check()?;
    let (w, h) = (params.width, params.height);
    let mut pixels = vec![0.0; w * h];
    let mut covered = vec![false; w * h];
    let mut uncovered = w * h;
    let mut discs = 0usize;
    while uncovered > 0 {
        let r = params.radius(rng.random::<f64>());
        // Centres uniform on the image enlarged by r_max on every side: every disc that can
        // reach the image can occur, so the image is a window onto a stationary field.
        let cx = -params.r_max + (w as f64 + 2.0 * params.r_max) * rng.random::<f64>();
        let cy = -params.r_max + (h as f64 + 2.0 * params.r_max) * rng.random::<f64>();
        let grey: f64 = rng.random();
        discs += 1;
        // Rows whose centre i + 1/2 lies within r of cy.
        let i0 = (cy - r - 0.5).ceil().max(0.0) as usize;
        let i1 = ((cy + r - 0.5).floor()).min(h as f64 - 1.0);
        if i1 < i0 as f64 {
            continue;
        }
        for i in i0..=i1 as usize {
            let dy = i as f64 + 0.5 - cy;
            let half = (r * r - dy * dy).max(0.0).sqrt();
            let j0 = (cx - half - 0.5).ceil().max(0.0) as usize;
            let j1 = (cx + half - 0.5).floor().min(w as f64 - 1.0);
            if j1 < j0 as f64 {
                continue;
            }
            let row = i * w;
            for k in row + j0..=row + j1 as usize {
                if !covered[k] {
                    covered[k] = true;
                    pixels[k] = grey;
                    uncovered -= 1;
                }
            }
        }
    }
    if params.noise_std > 0.0 {
        for p in &mut pixels {
            let z: f64 = rng.sample(StandardNormal);
            *p += params.noise_std * z;
        }
    }
    tracing::debug!(discs, width = w, height = h, "dead-leaves image generated");
    Ok(Image {
        width: w,
        height: h,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn radius_inverse_cdf() {
        let p = DeadLeavesParams::default();
        assert!((p.radius(0.0) - 2.0).abs() < 1e-12);
        assert!((p.radius(1.0 - 1e-16) - 150.0).abs() < 1e-6);
        // CDF F(r) = (r_min^-2 - r^-2) / (r_min^-2 - r_max^-2) inverts the map.
        for u in [0.1, 0.5, 0.9, 0.999] {
            let r = p.radius(u);
            let f = (0.25 - r.powi(-2)) / (0.25 - 150f64.powi(-2));
            assert!((f - u).abs() < 1e-12, "u {u}: F(r) = {f}");
        }
        let log_uniform = DeadLeavesParams { exponent: 1.0, ..p };
        // Log-uniform: the median is the geometric mean sqrt(2 * 150).
        assert!((log_uniform.radius(0.5) - 300f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn covers_every_pixel_and_is_deterministic() {
        let params = DeadLeavesParams {
            width: 96,
            height: 64,
            noise_std: 0.0,
            ..DeadLeavesParams::default()
        };
        let a = dead_leaves(&params, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let b = dead_leaves(&params, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let c = dead_leaves(&params, &mut ChaCha8Rng::seed_from_u64(6)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.pixels.len(), 96 * 64);
        // Without noise every pixel holds a disc's grey level in [0, 1), and the image is
        // piecewise constant: far fewer distinct grey levels than pixels.
        assert!(a.pixels.iter().all(|v| (0.0..1.0).contains(v)));
        let mut levels: Vec<f64> = a.pixels.clone();
        levels.sort_unstable_by(f64::total_cmp);
        levels.dedup();
        assert!(levels.len() < a.pixels.len() / 4, "{} levels", levels.len());
    }

    #[test]
    fn noise_has_requested_std() {
        // The noise is drawn after the discs, so the same seed without noise gives the same
        // discs: the difference is the noise alone.
        let noisy = DeadLeavesParams {
            width: 128,
            height: 128,
            noise_std: 0.01,
            ..DeadLeavesParams::default()
        };
        let clean = DeadLeavesParams {
            noise_std: 0.0,
            ..noisy
        };
        let a = dead_leaves(&noisy, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let b = dead_leaves(&clean, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let diff: Vec<f64> = a.pixels.iter().zip(&b.pixels).map(|(x, y)| x - y).collect();
        let n = diff.len() as f64;
        let m = diff.iter().sum::<f64>() / n;
        let sd = (diff.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
        // 16384 samples: standard error of the std 0.01 / sqrt(2 * 16384) = 5.5e-5.
        assert!((sd - 0.01).abs() < 3e-4, "noise std {sd}");
        assert!(m.abs() < 3e-4, "noise mean {m}");
    }

    #[test]
    fn refuses_bad_parameters() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let ok = DeadLeavesParams::default();
        for bad in [
            DeadLeavesParams { width: 0, ..ok },
            DeadLeavesParams { r_min: 0.1, ..ok },
            DeadLeavesParams { r_max: 1.0, ..ok },
            DeadLeavesParams {
                exponent: f64::NAN,
                ..ok
            },
            DeadLeavesParams {
                noise_std: -1.0,
                ..ok
            },
        ] {
            assert!(dead_leaves(&bad, &mut rng).is_err(), "{bad:?}");
        }
    }
}
