//! Paper 2's signal tools and measurements in Python: dead-leaves images, a steerable-pyramid
//! band, the 1D and 2D signals built from it, the generalised Gaussian fit, binned and
//! normal-score mutual information, excess kurtosis and the Kolmogorov-Smirnov distance to
//! N(0, 1) (`whiten_core::signal`, `whiten_core::stats`).

use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_core::signal::{DeadLeavesParams, Image};
use whiten_core::stats;

use crate::convert::{Array, array, core_err, experiment_err, rows_out, samples, vec_out};

/// An image argument: a 2D array (height x width) of grey levels.
fn image(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Image> {
    let a = array(obj, name, 2, "an image, height x width")?;
    let (h, w) = a.dims2();
    Image::new(w, h, a.slice().to_vec()).map_err(core_err)
}

fn image_out<'py>(py: Python<'py>, img: Image) -> PyResult<Bound<'py, PyArray2<f64>>> {
    rows_out(py, img.pixels, img.height, img.width)
}

/// A 1D sample argument.
fn values<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Array<'py>> {
    crate::convert::vector(obj, name, 1)
}

/// A `(M, 2)` pair argument, viewed as pairs without copying.
fn pairs<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Array<'py>> {
    samples(obj, "pairs", Some(2))
}

/// A seeded dead-leaves image (`height x width`, grey levels in [0, 1] plus noise): occluding
/// discs with radii of density `~ r^-exponent` on `[r_min, r_max]`, then Gaussian noise of
/// standard deviation `noise_std`. `size` sets both sides unless `width`/`height` are given.
#[pyfunction]
#[pyo3(signature = (size = 512, seed = 0, width = None, height = None, r_min = 2.0,
    r_max = 150.0, exponent = 3.0, noise_std = 0.002))]
#[allow(clippy::too_many_arguments)]
pub fn dead_leaves(
    py: Python<'_>,
    size: usize,
    seed: u64,
    width: Option<usize>,
    height: Option<usize>,
    r_min: f64,
    r_max: f64,
    exponent: f64,
    noise_std: f64,
) -> PyResult<Bound<'_, PyArray2<f64>>> {
    let params = DeadLeavesParams {
        width: width.unwrap_or(size),
        height: height.unwrap_or(size),
        r_min,
        r_max,
        exponent,
        noise_std,
    };
    let img = py
        .detach(|| whiten_core::signal::dead_leaves(&params, &mut ChaCha8Rng::seed_from_u64(seed)))
        .map_err(core_err)?;
    image_out(py, img)
}

/// The experiments' generated image number `index` (`crop x crop` dead leaves, the same image
/// as `source: (generated: ...)` in an experiment file with this `image_seed`).
#[pyfunction]
#[pyo3(signature = (index = 0, image_seed = 0, crop = 512, noise_std = 0.002))]
pub fn generated_image(
    py: Python<'_>,
    index: usize,
    image_seed: u64,
    crop: usize,
    noise_std: f64,
) -> PyResult<Bound<'_, PyArray2<f64>>> {
    let ctx = whiten_experiments::RunContext::new("whiten.generated_image", 0).without_progress();
    let (_, img) = py
        .detach(|| {
            whiten_experiments::kinds::paper2::generated_image(
                image_seed, index, crop, noise_std, &ctx,
            )
        })
        .map_err(experiment_err)?;
    image_out(py, img)
}

/// One band of a one-scale steerable pyramid (Fourier domain, not downsampled): orientation
/// 0, 1 or 2; the result has the image's shape.
#[pyfunction]
#[pyo3(signature = (image, orientation = 0))]
pub fn pyramid_band<'py>(
    py: Python<'py>,
    image: &Bound<'py, PyAny>,
    orientation: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let img = self::image(image, "image")?;
    let (h, w) = (img.height, img.width);
    let band = py
        .detach(|| whiten_core::signal::pyramid_band(&img, orientation))
        .map_err(core_err)?;
    rows_out(py, band, h, w)
}

/// The 1D signal of a band: every coefficient divided by the band's standard deviation
/// (population; the mean is not subtracted). Returns a flat array.
#[pyfunction]
pub fn signal_1d<'py>(
    py: Python<'py>,
    band: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let b = crate::convert::array_of_dims(band, "band", &[1, 2], "a band")?;
    Ok(vec_out(py, whiten_core::signal::signal_1d(b.slice())))
}

/// The 2D signal of offset `d`: pairs (coefficient at row i, column j; at row i + d, same
/// column), column by column, each coordinate divided by its standard deviation. `(M, 2)`.
#[pyfunction]
pub fn pairs_2d<'py>(
    py: Python<'py>,
    band: &Bound<'py, PyAny>,
    d: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let b = array(band, "band", 2, "a band, height x width")?;
    let (h, w) = b.dims2();
    let p = whiten_core::signal::pairs_2d(b.slice(), w, h, d).map_err(core_err)?;
    let m = p.len();
    rows_out(py, p.into_iter().flatten().collect(), m, 2)
}

/// Excess kurtosis `m4 / m2^2 - 3` (central moments over N; 0 for a Gaussian).
#[pyfunction]
pub fn excess_kurtosis(x: &Bound<'_, PyAny>) -> PyResult<f64> {
    let x = values(x, "x")?;
    let k = stats::excess_kurtosis(x.slice());
    if k.is_finite() {
        Ok(k)
    } else {
        Err(PyValueError::new_err(
            "x: excess kurtosis is undefined for constant values",
        ))
    }
}

/// Kolmogorov-Smirnov distance between the empirical distribution of `x` and N(0, 1).
#[pyfunction]
pub fn ks_distance(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<f64> {
    let x = values(x, "x")?;
    let s = x.slice();
    py.detach(|| stats::ks_distance_normal(s)).map_err(core_err)
}

/// Maximum-likelihood generalised Gaussian fit (location 0) of `x`: a dict with `alpha`
/// (scale), `beta` (shape: 2 Gaussian, 1 Laplace) and `log_likelihood`.
#[pyfunction]
pub fn fit_generalized_gaussian<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let x = values(x, "x")?;
    let s = x.slice();
    let fit = py
        .detach(|| stats::fit_generalized_gaussian(s))
        .map_err(core_err)?;
    let d = PyDict::new(py);
    d.set_item("alpha", fit.alpha)?;
    d.set_item("beta", fit.beta)?;
    d.set_item("log_likelihood", fit.log_likelihood)?;
    Ok(d)
}

/// Plug-in mutual information (nats) of `pairs` (`(M, 2)`), binned with
/// `floor(x / bin_width)` per coordinate, using the pairs at indices `0, stride, 2 stride, ..`.
#[pyfunction]
#[pyo3(signature = (pairs, bin_width = 0.5, stride = 1))]
pub fn mutual_information(
    py: Python<'_>,
    pairs: &Bound<'_, PyAny>,
    bin_width: f64,
    stride: usize,
) -> PyResult<f64> {
    let p = self::pairs(pairs)?;
    let (pp, _) = p.slice().as_chunks::<2>();
    py.detach(|| stats::mutual_information(pp, bin_width, stride))
        .map_err(core_err)
}

/// Each coordinate of `pairs` (`(M, 2)`) replaced by its normal score
/// `Phi^{-1}((rank + 1/2) / M)`: standard Gaussian marginals, the dependence kept.
#[pyfunction]
pub fn normal_scores<'py>(
    py: Python<'py>,
    pairs: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let p = self::pairs(pairs)?;
    let (pp, _) = p.slice().as_chunks::<2>();
    let z = py
        .detach(|| stats::gaussianise_marginals(pp))
        .map_err(core_err)?;
    let m = z.len();
    rows_out(py, z.into_iter().flatten().collect(), m, 2)
}

/// Mutual information of the normal scores of `pairs` (the dependence alone, whatever the
/// marginals), binned as `mutual_information`.
#[pyfunction]
#[pyo3(signature = (pairs, bin_width = 0.5, stride = 1))]
pub fn normal_score_mi(
    py: Python<'_>,
    pairs: &Bound<'_, PyAny>,
    bin_width: f64,
    stride: usize,
) -> PyResult<f64> {
    let p = self::pairs(pairs)?;
    let (pp, _) = p.slice().as_chunks::<2>();
    py.detach(|| {
        stats::gaussianise_marginals(pp)
            .and_then(|z| stats::mutual_information(&z, bin_width, stride))
    })
    .map_err(core_err)
}
