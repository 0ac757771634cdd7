//! Measurements on signals and responses (paper 2 section 5): generalised Gaussian fit,
//! binned mutual information, the ZCA baseline, and Gaussianity checks (moments, histogram,
//! Kolmogorov-Smirnov distance to N(0, 1), quantile map `Phi^{-1} o F_s`).
//!
//! Pure functions on slices; no I/O.

mod descriptive;
mod gg;
mod normal;
mod pairs;

pub use descriptive::{
    bin_centres, excess_kurtosis, histogram, ks_distance_normal, mean, quantile_map, std_dev,
    variance,
};
pub use gg::{GG_BETA_RANGE, GgFit, fit_generalized_gaussian, gg_density, gg_log_density};
pub use normal::{erf, erfc, normal_cdf, normal_pdf, normal_quantile};
pub use pairs::{
    MI_BIN_WIDTH, gaussianise_marginals, inv_sqrt_spd2, mutual_information, pair_covariance,
    zca_pairs,
};
