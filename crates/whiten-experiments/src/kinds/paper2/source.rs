//! Where paper 2's signals come from: the images of an [`ImageSource`] (generated
//! dead-leaves images by default, or a file or folder of real images), centre-cropped, with
//! their pyramid band and 1D signal ([`ImageSignal`]), or a user's own signal file instead of
//! images (a `.npy` vector, [`FileSignal1d`], or `.npy` pairs, [`FilePairs`]), standardised:
//! `x -> (x - mean) / sd`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use whiten_core::signal::{DeadLeavesParams, Image, Pyramid, dead_leaves, signal_1d};
use whiten_core::stats::{GgFit, fit_generalized_gaussian};

use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::images::{list_images, read_image};
use crate::kinds::common::ensure;
use crate::paths::PathParam;
use crate::resources::MemoryEstimate;

/// Where the images come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageSource {
    /// A file or a folder of images (Sun raster, PNG, PGM, JPEG, TIFF); `None`: generated dead-leaves
    /// images. A relative path is relative to the experiment file's folder
    /// ([`crate::paths`]).
    pub images: Option<PathParam>,
    /// A signal file instead of images: a `.npy` vector `(N,)` (`gaussianize_1d`) or pairs
    /// `(N, 2)`, one pair per row (`pairs_2d`). Its samples are used as they are, no pyramid
    /// band, after centring and scaling to unit variance (each coordinate of pairs on its
    /// own); `crop`, `orientation` and the generated images do not apply. A relative path is
    /// relative to the experiment file's folder. Left out of `config.ron` when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<PathParam>,
    /// How many dead-leaves images to generate when `images` is `None`.
    pub generated: usize,
    /// Seed of the generated images: image `i` is drawn from its own stream derived from
    /// `(image_seed, i, crop)` alone, not from the experiment's seed, so that a name such as
    /// `dead-leaves-0` means one image in every experiment (change `image_seed` for others).
    pub image_seed: u64,
    /// Side of the centre crop (pixels, even).
    pub crop: usize,
    /// Orientation of the pyramid band (0, 1 or 2; 0: vertical edges).
    pub orientation: usize,
}

impl Default for ImageSource {
    fn default() -> Self {
        Self {
            images: None,
            signal: None,
            generated: 1,
            image_seed: 0,
            crop: 512,
            orientation: 0,
        }
    }
}

impl ImageSource {
    /// Images processed at once: the generated count, or (for files, whose number is known
    /// only once the folder is read) the worker threads.
    pub fn task_count(&self, threads: usize) -> usize {
        if self.signal.is_some() {
            1
        } else if self.images.is_some() {
            threads
        } else {
            self.generated
        }
    }

    /// Peak memory of `tasks` tasks (at most `threads` at once) holding `per_pixel` doubles
    /// per pixel of the crop; for a signal file, as many doubles per sample (bounded by the
    /// file's size: at least 4 bytes a value).
    pub fn memory(&self, per_pixel: f64, tasks: usize, threads: usize) -> MemoryEstimate {
        match &self.signal {
            None => MemoryEstimate::pixels(self.crop, per_pixel, tasks, threads),
            Some(p) => {
                let values = std::fs::metadata(p.path()).map_or(0, |m| m.len()) as f64 / 4.0;
                let at_once = tasks.min(threads).max(1);
                MemoryEstimate::tasks(
                    per_pixel * values * 8.0,
                    at_once,
                    format!(
                        "signal file of at most {values} values: {per_pixel} doubles per value per task, {at_once} task(s) at once"
                    ),
                )
            }
        }
    }

    /// Resolves relative `images` and `signal` paths against `base`, the experiment file's
    /// folder.
    pub fn resolve_paths(&mut self, base: &Path) -> Result<(), ParamError> {
        if let Some(p) = &mut self.images {
            p.resolve(base, "source.images")?;
        }
        match &mut self.signal {
            Some(p) => p.resolve(base, "source.signal"),
            None => Ok(()),
        }
    }

    /// Refuses a signal file in an experiment that needs images (`why`: what the experiment
    /// needs them for, and where a signal goes instead).
    pub fn refuse_signal(&self, why: &str) -> Result<(), ParamError> {
        match &self.signal {
            None => Ok(()),
            Some(p) => Err(ParamError::new(
                "source.signal",
                format!("{}: not taken here: {why}", p.describe()),
            )),
        }
    }

    /// The 1D signal of the `signal` file, standardised, refused (at `source.signal`) unless
    /// it is a vector of at least [`MIN_SIGNAL_SAMPLES`] finite values, not all equal.
    /// `None` without a signal file.
    pub fn signal_1d_file(&self) -> Option<Result<FileSignal1d, ParamError>> {
        let p = self.signal.as_ref()?;
        Some(read_signal_1d(p).map_err(|reason| ParamError::new("source.signal", reason)))
    }

    /// The pairs of the `signal` file, standardised, refused (at `source.signal`) unless it is
    /// an N x 2 array of at least [`MIN_SIGNAL_PAIRS`] rows of finite values, neither column
    /// constant. `None` without a signal file.
    pub fn signal_pairs_file(&self) -> Option<Result<FilePairs, ParamError>> {
        let p = self.signal.as_ref()?;
        Some(read_signal_pairs(p).map_err(|reason| ParamError::new("source.signal", reason)))
    }

    /// Refuses impossible settings.
    pub fn check(&self) -> Result<(), ParamError> {
        ensure(
            self.crop >= 8 && self.crop.is_multiple_of(2),
            "source.crop",
            || format!("must be even and at least 8 (got {})", self.crop),
        )?;
        ensure(self.orientation < 3, "source.orientation", || {
            format!("must be 0, 1 or 2 (got {})", self.orientation)
        })?;
        if let Some(p) = &self.signal {
            ensure(!p.is_empty(), "source.signal", || {
                "must not be empty (omit it for images)".into()
            })?;
            ensure(self.images.is_none(), "source.signal", || {
                format!(
                    "{}: give either `images` or `signal`, not both",
                    p.describe()
                )
            })?;
        } else if let Some(p) = &self.images {
            ensure(!p.is_empty(), "source.images", || {
                "must not be empty (omit it for generated images)".into()
            })?;
        } else {
            ensure(self.generated >= 1, "source.generated", || {
                "must be at least 1".into()
            })?;
        }
        Ok(())
    }

    /// Reads the images that a run will use (all of them, or the first `limit`), so that a
    /// missing, unreadable or too small image is refused before any work starts, at the field
    /// `source.images`. Generated images need no check. The run reads them again (a file may
    /// change in between; the run's own errors cover that).
    pub fn check_files(&self, limit: Option<usize>) -> Result<(), ParamError> {
        let Some(p) = &self.images else {
            return Ok(());
        };
        // Errors give the path as written and as resolved.
        let refuse = |reason: String| ParamError::new("source.images", p.refusal(reason));
        let files = list_images(p.path()).map_err(|e| refuse(e.to_string()))?;
        for file in files.iter().take(limit.unwrap_or(usize::MAX)) {
            let image = read_image(file).map_err(|e| refuse(e.to_string()))?;
            if image.width < self.crop || image.height < self.crop {
                return Err(refuse(format!(
                    "{}: image is {} x {} pixels, smaller than the crop {} x {} (params.source.crop)",
                    file.display(),
                    image.width,
                    image.height,
                    self.crop,
                    self.crop
                )));
            }
        }
        Ok(())
    }

    /// The files a run reads: the signal file, or the image files (all of them, or the first
    /// `limit`); none for generated images. A folder that cannot be listed gives none (the parameter check refuses it).
    pub fn files(&self, limit: Option<usize>) -> Vec<std::path::PathBuf> {
        if let Some(p) = &self.signal {
            return vec![p.path().to_path_buf()];
        }
        self.images
            .as_ref()
            .and_then(|p| list_images(p.path()).ok())
            .map(|mut f| {
                f.truncate(limit.unwrap_or(usize::MAX));
                f
            })
            .unwrap_or_default()
    }

    /// How many images there are (a signal file counts as one).
    pub fn count(&self, ctx: &RunContext) -> Result<usize> {
        if self.signal.is_some() {
            return Ok(1);
        }
        match &self.images {
            None => Ok(self.generated),
            Some(p) => Ok(list_images(p.path())
                .map_err(|e| ctx.failure(e.to_string()))?
                .len()),
        }
    }

    /// Loads (or generates, see [`generated_image`]) image `index`, centre-cropped.
    pub fn image(&self, index: usize, ctx: &RunContext) -> Result<(String, Image)> {
        // `label` names the image in errors: the file's path, or the generated image's name.
        let (name, label, image) = match &self.images {
            None => {
                let (name, img) = generated_image(
                    self.image_seed,
                    index,
                    self.crop,
                    DeadLeavesParams::default().noise_std,
                    ctx,
                )?;
                (name.clone(), name, img)
            }
            Some(p) => {
                let files = list_images(p.path()).map_err(|e| ctx.failure(e.to_string()))?;
                let file = files
                    .get(index)
                    .ok_or_else(|| ctx.failure(format!("no image {index} in {p}")))?;
                let img = read_image(file).map_err(|e| ctx.failure(e.to_string()))?;
                let name = file
                    .file_stem()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
                (name, file.display().to_string(), img)
            }
        };
        let cropped = centre_crop_checked(image, self.crop, &label, "params.source.crop", ctx)?;
        Ok((name, cropped))
    }

    /// The pyramid band of `image` (same size, row-major).
    pub fn band(&self, image: &Image, ctx: &RunContext) -> Result<Vec<f64>> {
        band_of(image, self.orientation, ctx)
    }

    /// Image `index` (see [`ImageSource::image`]) with its band, its 1D signal (every band
    /// coefficient, unit variance) and the signal's generalised Gaussian fit.
    pub fn signal(&self, index: usize, ctx: &RunContext) -> Result<ImageSignal> {
        let (name, image) = self.image(index, ctx)?;
        signal_of(name, image, self.orientation, ctx)
    }
}

/// Fewest samples of a 1D signal file: below that, neither the circuit's two or three
/// parameters nor the KS distance and kurtosis that judge them mean much.
pub const MIN_SIGNAL_SAMPLES: usize = 100;

/// Fewest pairs of a pairs file: the MI is measured on every 10th pair (the authors'
/// convention), which then still has 100 pairs.
pub const MIN_SIGNAL_PAIRS: usize = 1000;

/// A 1D signal file, standardised: `values = (x - mean) / sd`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSignal1d {
    /// The file's stem (names the results, like an image's).
    pub name: String,
    /// The standardised samples, in the file's order.
    pub values: Vec<f64>,
    /// Mean of the file's samples.
    pub mean: f64,
    /// Standard deviation of the file's samples (population, 1/N).
    pub sd: f64,
}

/// A pairs file, standardised column by column: `pairs[i][c] = (x[i, c] - mean[c]) / sd[c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePairs {
    /// The file's stem.
    pub name: String,
    /// The standardised pairs, in the file's order.
    pub pairs: Vec<[f64; 2]>,
    /// Mean of each column.
    pub mean: [f64; 2],
    /// Standard deviation of each column (population, 1/N).
    pub sd: [f64; 2],
}

/// Mean and population standard deviation.
fn mean_sd(x: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = x.clone().count().max(1) as f64;
    let mean = x.clone().sum::<f64>() / n;
    let var = x.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn file_stem(p: &PathParam) -> String {
    p.path()
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

/// Refuses a signal whose standard deviation is zero (or lost against its mean), naming
/// `what` (`the signal`, `column 1 (from 0)`).
fn check_spread(p: &PathParam, what: &str, mean: f64, sd: f64) -> std::result::Result<(), String> {
    if sd > 0.0 && sd.is_finite() && sd > mean.abs() * 1e-12 {
        Ok(())
    } else if sd == 0.0 {
        Err(p.refusal(format!(
            "{what} is constant (every value is {mean}): there is no distribution to reshape"
        )))
    } else {
        Err(p.refusal(format!(
            "{what} is constant to rounding (mean {mean:e}, standard deviation {sd:e}): there is \
             no distribution to reshape"
        )))
    }
}

/// Reads a 1D signal file, standardised (the refusal names the file as written and as
/// resolved).
pub(crate) fn read_signal_1d(p: &PathParam) -> std::result::Result<FileSignal1d, String> {
    use crate::data::{Signal, read_signal};
    let x = match read_signal(p.path()).map_err(|e| p.refusal(e))? {
        Signal::Single(x) => x,
        Signal::Pairs(pairs) => {
            return Err(p.refusal(format!(
                "pairs (shape ({}, 2)): this experiment takes a 1D signal, a vector (N,); pairs \
                 belong in pairs_2d (or save one column, x[:, 0])",
                pairs.len()
            )));
        }
    };
    if x.len() < MIN_SIGNAL_SAMPLES {
        return Err(p.refusal(format!(
            "{} samples: need at least {MIN_SIGNAL_SAMPLES} (tens of thousands for a good fit)",
            x.len()
        )));
    }
    let (mean, sd) = mean_sd(x.iter().copied());
    check_spread(p, "the signal", mean, sd)?;
    Ok(FileSignal1d {
        name: file_stem(p),
        values: x.iter().map(|v| (v - mean) / sd).collect(),
        mean,
        sd,
    })
}

/// Reads a pairs file (the refusal names the file as written and as resolved).
fn read_signal_pairs(p: &PathParam) -> std::result::Result<FilePairs, String> {
    use crate::data::{Signal, read_signal};
    let pairs = match read_signal(p.path()).map_err(|e| p.refusal(e))? {
        Signal::Pairs(pairs) => pairs,
        Signal::Single(x) => {
            return Err(p.refusal(format!(
                "a 1D signal (shape ({},)): this experiment takes pairs, an N x 2 array with one \
                 pair per row (numpy.column_stack([x1, x2])); a 1D signal belongs in \
                 gaussianize_1d",
                x.len()
            )));
        }
    };
    if pairs.len() < MIN_SIGNAL_PAIRS {
        return Err(p.refusal(format!(
            "{} pairs: need at least {MIN_SIGNAL_PAIRS} (the mutual information is measured on \
             every 10th pair)",
            pairs.len()
        )));
    }
    let mut mean = [0.0; 2];
    let mut sd = [0.0; 2];
    for c in 0..2 {
        (mean[c], sd[c]) = mean_sd(pairs.iter().map(|q| q[c]));
        check_spread(p, &format!("column {c} (from 0)"), mean[c], sd[c])?;
    }
    Ok(FilePairs {
        name: file_stem(p),
        pairs: pairs
            .iter()
            .map(|q| [(q[0] - mean[0]) / sd[0], (q[1] - mean[1]) / sd[1]])
            .collect(),
        mean,
        sd,
    })
}

/// `image` centre-cropped to `crop` x `crop`, refused when smaller (`label` names the image,
/// a file by its path like the readers' errors, `field` the crop parameter).
pub(crate) fn centre_crop_checked(
    image: Image,
    crop: usize,
    label: &str,
    field: &str,
    ctx: &RunContext,
) -> Result<Image> {
    if image.width < crop || image.height < crop {
        return Err(ctx.failure(format!(
            "{label}: image is {} x {} pixels, smaller than the crop {crop} x {crop} ({field})",
            image.width, image.height
        )));
    }
    image
        .centre_crop(crop, crop)
        .map_err(|e| ctx.numerical(format!("cropping {label}"), e))
}

/// The pyramid band `orientation` of `image` (same size, row-major).
pub(crate) fn band_of(image: &Image, orientation: usize, ctx: &RunContext) -> Result<Vec<f64>> {
    let pyr =
        Pyramid::new(image.width, image.height).map_err(|e| ctx.numerical("pyramid set-up", e))?;
    pyr.band(image, orientation)
        .map_err(|e| ctx.numerical("pyramid band", e))
}

/// A (cropped) image with its band, 1D signal and the signal's generalised Gaussian fit.
pub(crate) fn signal_of(
    name: String,
    image: Image,
    orientation: usize,
    ctx: &RunContext,
) -> Result<ImageSignal> {
    let band = band_of(&image, orientation, ctx)?;
    let signal = signal_1d(&band);
    let fit = fit_generalized_gaussian(&signal)
        .map_err(|e| ctx.numerical(format!("GG fit of {name}"), e))?;
    Ok(ImageSignal {
        name,
        image,
        band,
        signal,
        fit,
    })
}

/// Generated dead-leaves image `index` (`crop` x `crop`, pixel noise `noise_std`) and its
/// name. Its random stream is derived from `(image_seed, index, crop, noise_std)` alone, so the
/// same name means the same image in every experiment: `dead-leaves-{index}`, with
/// `-seed{image_seed}`, `-{crop}px` and `-noise{noise_std}` appended when they differ from the
/// defaults (0, 512, 0.002).
pub fn generated_image(
    image_seed: u64,
    index: usize,
    crop: usize,
    noise_std: f64,
    ctx: &RunContext,
) -> Result<(String, Image)> {
    use rand::SeedableRng;
    let defaults = DeadLeavesParams::default();
    let params = DeadLeavesParams {
        width: crop,
        height: crop,
        noise_std,
        ..defaults
    };
    // The stream: SHA-256 of the description, so no two descriptions share it.
    let description =
        format!("dead-leaves v1 seed {image_seed} index {index} crop {crop} noise {noise_std:e}");
    let digest = crate::manifest::sha256_hex(description.as_bytes());
    let seed = u64::from_str_radix(&digest[..16], 16).unwrap_or(0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let img = dead_leaves(&params, &mut rng)
        .map_err(|e| ctx.numerical("generating a dead-leaves image", e))?;
    let mut name = format!("dead-leaves-{index}");
    if image_seed != 0 {
        name += &format!("-seed{image_seed}");
    }
    if crop != defaults.width {
        name += &format!("-{crop}px");
    }
    if noise_std != defaults.noise_std {
        name += &format!("-noise{noise_std}");
    }
    Ok((name, img))
}

/// An image of a source, its band and 1D signal ([`ImageSource::signal`]).
pub struct ImageSignal {
    /// The image's name (file stem or generated name).
    pub name: String,
    /// The centre-cropped image.
    pub image: Image,
    /// Its pyramid band (row-major).
    pub band: Vec<f64>,
    /// The 1D signal: every band coefficient, unit variance.
    pub signal: Vec<f64>,
    /// Generalised Gaussian fit of the signal.
    pub fit: GgFit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_files_are_standardised_and_refused_by_shape_at_source_signal() {
        let dir = std::env::temp_dir().join(format!("whiten-paper2-signal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let x: Vec<f64> = (0..400).map(|i| 7.0 + (0.3 * f64::from(i)).sin()).collect();
        std::fs::write(dir.join("v.npy"), crate::npy::write(&[400], &x)).unwrap();
        std::fs::write(dir.join("p.npy"), crate::npy::write(&[200, 2], &x)).unwrap();
        let source = |file: &str| {
            let mut s = ImageSource {
                signal: Some(PathParam::new(file)),
                ..ImageSource::default()
            };
            s.resolve_paths(&dir).unwrap();
            s
        };
        let v = source("v.npy").signal_1d_file().unwrap().unwrap();
        let (m, sd) = mean_sd(v.values.iter().copied());
        assert!(m.abs() < 1e-12 && (sd - 1.0).abs() < 1e-12, "{m} {sd}");
        assert!((v.mean - 7.0).abs() < 0.01 && v.name == "v");
        assert!((v.values[5] - (x[5] - v.mean) / v.sd).abs() < 1e-15);
        // pairs where a vector is wanted, a vector where pairs are, too few pairs
        for (e, says) in [
            (
                source("p.npy").signal_1d_file().unwrap().unwrap_err(),
                "pairs belong in pairs_2d",
            ),
            (
                source("v.npy").signal_pairs_file().unwrap().unwrap_err(),
                "belongs in gaussianize_1d",
            ),
            (
                source("p.npy").signal_pairs_file().unwrap().unwrap_err(),
                "200 pairs: need at least 1000",
            ),
        ] {
            assert_eq!(e.field, "source.signal");
            // the reason names the file as written and as resolved
            assert!(
                e.reason.contains(says) && e.reason.contains(".npy\" (resolved against"),
                "{}",
                e.reason
            );
        }
        // images and a signal at once; a signal where images are needed
        let both = ImageSource {
            images: Some(PathParam::new("a.png")),
            ..source("v.npy")
        };
        assert_eq!(both.check().unwrap_err().field, "source.signal");
        assert!(source("v.npy").refuse_signal("why").is_err());
        assert!(ImageSource::default().refuse_signal("why").is_ok());
        std::fs::remove_dir_all(&dir).ok();
    }
}
