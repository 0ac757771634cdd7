//! Statistics of 2D signals (pairs of coefficients): binned mutual information and the ZCA
//! baseline, paper 2 section 5.

use std::collections::HashMap;

use crate::error::{CoreError, Result};

/// Bin width of the paper's mutual-information estimate (`floor(x / 0.5)` per coordinate).
pub const MI_BIN_WIDTH: f64 = 0.5;

/// Largest joint histogram (number of cells of the observed index range) kept as a dense
/// array; beyond it a hash map is used.
const DENSE_CELLS: usize = 1 << 22;

/// Plug-in estimate (nats) of the mutual information of the pairs, binned with
/// `floor(x / bin_width)` per coordinate:
/// `I = sum_{a,b} p(a,b) ln( p(a,b) / (p(a) p(b)) )` over the joint histogram.
///
/// `stride` subsamples the pair list: the pairs used are those at indices
/// `0, stride, 2 stride, ...` of `pairs`. With the list of [`crate::signal::pairs_2d`]
/// (column by column), `stride = 10` is the authors' "every 10th pair", which reproduces
/// their figures' values; `stride = 1` uses all pairs.
///
/// The plug-in estimate is biased upwards: for independent coordinates it is about
/// `(A - 1)(B - 1) / (2 M)` nats (A, B occupied bins per coordinate, M pairs used).
///
/// Errors: `bin_width` not positive and finite, `stride = 0`, no pairs, or a non-finite value.
pub fn mutual_information(pairs: &[[f64; 2]], bin_width: f64, stride: usize) -> Result<f64> {
    if !(bin_width.is_finite() && bin_width > 0.0) {
        return Err(CoreError::InvalidParameter {
            name: "bin_width",
            value: bin_width,
            reason: "the bin width must be positive and finite",
        });
    }
    if stride == 0 {
        return Err(CoreError::InvalidParameter {
            name: "stride",
            value: 0.0,
            reason: "the subsampling stride must be at least 1",
        });
    }
    if pairs.is_empty() {
        return Err(CoreError::InvalidParameter {
            name: "pairs",
            value: 0.0,
            reason: "mutual information needs at least one pair",
        });
    }
    let inv = 1.0 / bin_width;
    let bins: Vec<[i64; 2]> = pairs
        .iter()
        .step_by(stride)
        .map(|p| {
            if p[0].is_finite() && p[1].is_finite() {
                Ok([(p[0] * inv).floor() as i64, (p[1] * inv).floor() as i64])
            } else {
                Err(CoreError::NonFinite {
                    what: "mutual information pairs",
                })
            }
        })
        .collect::<Result<_>>()?;
    let (mut lo, mut hi) = ([i64::MAX; 2], [i64::MIN; 2]);
    for b in &bins {
        for c in 0..2 {
            lo[c] = lo[c].min(b[c]);
            hi[c] = hi[c].max(b[c]);
        }
    }
    let na = (hi[0] - lo[0] + 1) as usize;
    let nb = (hi[1] - lo[1] + 1) as usize;
    let mut marg_a = vec![0u64; na];
    let mut marg_b = vec![0u64; nb];
    for b in &bins {
        marg_a[(b[0] - lo[0]) as usize] += 1;
        marg_b[(b[1] - lo[1]) as usize] += 1;
    }
    let m = bins.len() as f64;
    // I = sum (n_ab / M) ln( n_ab M / (n_a n_b) ).
    let term = |a: usize, b: usize, n_ab: u64| {
        let n_ab = n_ab as f64;
        n_ab / m * (n_ab * m / (marg_a[a] as f64 * marg_b[b] as f64)).ln()
    };
    let mi = if na.saturating_mul(nb) <= DENSE_CELLS {
        let mut joint = vec![0u64; na * nb];
        for b in &bins {
            joint[(b[0] - lo[0]) as usize * nb + (b[1] - lo[1]) as usize] += 1;
        }
        joint
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(k, &n)| term(k / nb, k % nb, n))
            .sum::<f64>()
    } else {
        let mut joint: HashMap<(usize, usize), u64> = HashMap::new();
        for b in &bins {
            *joint
                .entry(((b[0] - lo[0]) as usize, (b[1] - lo[1]) as usize))
                .or_insert(0) += 1;
        }
        joint.iter().map(|(&(a, b), &n)| term(a, b, n)).sum::<f64>()
    };
    // Rounding can leave a tiny negative value for independent bins.
    Ok(mi.max(0.0))
}

/// Sample covariance `(1/N) sum (p - m)(p - m)^T` of the pairs, with `m` their mean when
/// `centre` is true and `m = 0` otherwise. Returned as `[c00, c01, c11]`.
pub fn pair_covariance(pairs: &[[f64; 2]], centre: bool) -> [f64; 3] {
    let n = pairs.len() as f64;
    let m = if centre {
        let s = pairs
            .iter()
            .fold([0.0, 0.0], |s, p| [s[0] + p[0], s[1] + p[1]]);
        [s[0] / n, s[1] / n]
    } else {
        [0.0, 0.0]
    };
    let mut c = [0.0; 3];
    for p in pairs {
        let (u, v) = (p[0] - m[0], p[1] - m[1]);
        c[0] += u * u;
        c[1] += u * v;
        c[2] += v * v;
    }
    c.map(|x| x / n)
}

/// `C^{-1/2}` of a 2 x 2 symmetric positive definite `C = [[a, b], [b, c]]` (given as
/// `[a, b, c]`), in closed form: with `s = sqrt(det C)` and `t = sqrt(tr C + 2 s)`,
/// `C^{1/2} = (C + s I) / t`, hence `C^{-1/2} = [[c + s, -b], [-b, a + s]] / (s t)`.
pub fn inv_sqrt_spd2(cov: [f64; 3]) -> Result<[f64; 3]> {
    let [a, b, c] = cov;
    let det = a * c - b * b;
    if !(a.is_finite() && b.is_finite() && c.is_finite()) {
        return Err(CoreError::NonFinite {
            what: "2 x 2 covariance",
        });
    }
    if !(a > 0.0 && det > 0.0) {
        // Smallest eigenvalue (tr - sqrt(tr^2 - 4 det)) / 2.
        let tr = a + c;
        let min_eig = 0.5 * (tr - (tr * tr - 4.0 * det).max(0.0).sqrt());
        return Err(CoreError::NotPositiveDefinite {
            what: "pair covariance",
            min_eigenvalue: min_eig,
        });
    }
    let s = det.sqrt();
    let t = (a + c + 2.0 * s).sqrt();
    let k = 1.0 / (s * t);
    Ok([(c + s) * k, -b * k, (a + s) * k])
}

/// ZCA whitening of the pairs, paper 2's linear baseline: `y = C^{-1/2} x` with `C` the
/// sample covariance of the pairs ([`pair_covariance`], `1/N`). With `centre` the mean is
/// subtracted both in `C` and from the pairs before the map; without it the raw second
/// moment is used and the pairs are mapped as they are.
///
/// Errors: no pairs, non-finite values, or a singular covariance.
pub fn zca_pairs(pairs: &[[f64; 2]], centre: bool) -> Result<Vec<[f64; 2]>> {
    if pairs.is_empty() {
        return Err(CoreError::InvalidParameter {
            name: "pairs",
            value: 0.0,
            reason: "ZCA needs at least one pair",
        });
    }
    let n = pairs.len() as f64;
    let m = if centre {
        let s = pairs
            .iter()
            .fold([0.0, 0.0], |s, p| [s[0] + p[0], s[1] + p[1]]);
        [s[0] / n, s[1] / n]
    } else {
        [0.0, 0.0]
    };
    let w = inv_sqrt_spd2(pair_covariance(pairs, centre))?;
    Ok(pairs
        .iter()
        .map(|p| {
            let (u, v) = (p[0] - m[0], p[1] - m[1]);
            [w[0] * u + w[1] * v, w[1] * u + w[2] * v]
        })
        .collect())
}

/// Each coordinate replaced by its normal score `Phi^{-1}((rank + 1/2) / M)` (rank 0 for the
/// smallest of the M values; equal values are ranked in list order, so the result is
/// deterministic). The pairs keep their dependence (their copula) and get standard Gaussian
/// marginals, so the binned mutual information of the result measures the dependence alone:
/// it is unchanged by any increasing transform of either coordinate, unlike the MI of the
/// pairs themselves, whose binned estimate also depends on the marginals' shape.
///
/// Errors: no pairs, or a non-finite value.
pub fn gaussianise_marginals(pairs: &[[f64; 2]]) -> Result<Vec<[f64; 2]>> {
    if pairs.is_empty() {
        return Err(CoreError::InvalidParameter {
            name: "pairs",
            value: 0.0,
            reason: "normal scores need at least one pair",
        });
    }
    if pairs
        .iter()
        .any(|p| !(p[0].is_finite() && p[1].is_finite()))
    {
        return Err(CoreError::NonFinite {
            what: "pairs for normal scores",
        });
    }
    let m = pairs.len();
    let mut out = vec![[0.0; 2]; m];
    let mut order: Vec<usize> = (0..m).collect();
    for c in 0..2 {
        // A stable sort: ties keep list order.
        order.sort_by(|&a, &b| pairs[a][c].total_cmp(&pairs[b][c]));
        for (rank, &i) in order.iter().enumerate() {
            // z = Phi^{-1}((rank + 1/2) / M)
            out[i][c] = super::normal_quantile((rank as f64 + 0.5) / m as f64);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn independent_pairs_have_small_mi() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let pairs: Vec<[f64; 2]> = (0..262_144)
            .map(|_| {
                [
                    StandardNormal.sample(&mut rng),
                    StandardNormal.sample(&mut rng),
                ]
            })
            .collect();
        let mi = mutual_information(&pairs, 0.5, 1).unwrap();
        // Bias ~ (A-1)(B-1)/(2M) with ~18 occupied bins per coordinate (tails reach +-4.5):
        // 289 / 524288 = 5.5e-4 (fewer effective cells in the tails, so less in practice).
        assert!(mi < 8e-4, "MI of independent Gaussians {mi}");
        let mi10 = mutual_information(&pairs, 0.5, 10).unwrap();
        // Ten times fewer pairs: about ten times the bias.
        assert!(mi10 > 2.0 * mi && mi10 < 8e-3, "every-10th MI {mi10}");
    }

    #[test]
    fn normal_scores_keep_the_dependence_and_gaussianise_the_marginals() {
        // Correlated Gaussian pairs (rho = 0.6), then a strongly non-Gaussian increasing map of
        // each coordinate: the normal scores of both are identical (ranks are unchanged).
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let rho: f64 = 0.6;
        let pairs: Vec<[f64; 2]> = (0..100_000)
            .map(|_| {
                let (a, b): (f64, f64) = (
                    StandardNormal.sample(&mut rng),
                    StandardNormal.sample(&mut rng),
                );
                [a, rho * a + (1.0 - rho * rho).sqrt() * b]
            })
            .collect();
        let warped: Vec<[f64; 2]> = pairs.iter().map(|p| [p[0].powi(3), p[1].exp()]).collect();
        let z = gaussianise_marginals(&pairs).unwrap();
        let zw = gaussianise_marginals(&warped).unwrap();
        assert_eq!(z, zw);
        // The MI of the scores is close to the MI of the Gaussian pairs themselves (their
        // marginals are already Gaussian): within the sampling error of the plug-in estimate
        // at M = 1e5 (~3e-3).
        let mi = mutual_information(&pairs, 0.5, 1).unwrap();
        let mi_z = mutual_information(&z, 0.5, 1).unwrap();
        assert!((mi_z - mi).abs() < 5e-3, "{mi_z} vs {mi}");
        // Closed form -ln(1 - rho^2)/2 = 0.223; binning at 0.5 loses a little of it.
        let exact = -0.5 * (1.0 - rho * rho).ln();
        assert!(mi_z < exact && mi_z > 0.9 * exact, "{mi_z} vs {exact}");
        // Scores: mean 0, variance 1 - O(ln M / M) per coordinate.
        for c in 0..2 {
            let mean: f64 = z.iter().map(|p| p[c]).sum::<f64>() / z.len() as f64;
            let var: f64 = z.iter().map(|p| p[c] * p[c]).sum::<f64>() / z.len() as f64;
            assert!(
                mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-3,
                "{mean} {var}"
            );
        }
        assert!(gaussianise_marginals(&[]).is_err());
        assert!(gaussianise_marginals(&[[f64::NAN, 0.0]]).is_err());
    }

    #[test]
    fn deterministic_pair_gives_entropy() {
        // y = x: I(X; Y) = H(binned X). Uniform on [0, 8) has 16 equiprobable bins: ln 16.
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let pairs: Vec<[f64; 2]> = (0..100_000)
            .map(|_| {
                let x = 8.0 * rng.random::<f64>();
                [x, x]
            })
            .collect();
        let mi = mutual_information(&pairs, 0.5, 1).unwrap();
        // Plug-in entropy of 16 bins at M = 1e5: bias -(15)/(2M) and sampling error ~ 1e-4.
        assert!((mi - 16f64.ln()).abs() < 2e-3, "{mi} vs {}", 16f64.ln());
        // An invertible function of a bin label (y = -x) gives the same value.
        let flipped: Vec<[f64; 2]> = pairs.iter().map(|p| [p[0], -p[0] - 1e-9]).collect();
        let mi2 = mutual_information(&flipped, 0.5, 1).unwrap();
        assert!((mi2 - mi).abs() < 1e-12);
    }

    #[test]
    fn exact_small_table() {
        // Joint counts [[2, 0], [0, 2]]: I = ln 2.
        let pairs = [[0.1, 0.1], [0.2, 0.2], [0.6, 0.7], [0.9, 0.8]];
        let mi = mutual_information(&pairs, 0.5, 1).unwrap();
        assert!((mi - 2f64.ln()).abs() < 1e-15);
        // Stride 2 keeps pairs 0 and 2: still one per bin pair, I = ln 2.
        assert!((mutual_information(&pairs, 0.5, 2).unwrap() - 2f64.ln()).abs() < 1e-15);
        // Stride 5 keeps one pair: I = 0.
        assert_eq!(mutual_information(&pairs, 0.5, 5).unwrap(), 0.0);
        assert!(mutual_information(&pairs, 0.0, 1).is_err());
        assert!(mutual_information(&pairs, 0.5, 0).is_err());
        assert!(mutual_information(&[], 0.5, 1).is_err());
        assert!(mutual_information(&[[f64::NAN, 0.0]], 0.5, 1).is_err());
    }

    #[test]
    fn sparse_range_uses_map_and_agrees() {
        // Far-apart outliers force the hash-map path; compare with the same data shifted to a
        // small range (the estimate depends only on bin labels).
        let pairs = [[0.1, 0.1], [0.6, 0.1], [1e7, 0.6], [0.6, -1e7], [0.1, 0.1]];
        let compact = [[0.1, 0.1], [0.6, 0.1], [1.1, 0.6], [0.6, -0.4], [0.1, 0.1]];
        let a = mutual_information(&pairs, 0.5, 1).unwrap();
        let b = mutual_information(&compact, 0.5, 1).unwrap();
        assert!((a - b).abs() < 1e-15 && a > 0.0);
    }

    #[test]
    fn zca_whitens() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let pairs: Vec<[f64; 2]> = (0..10_000)
            .map(|_| {
                let (u, v): (f64, f64) = (
                    StandardNormal.sample(&mut rng),
                    StandardNormal.sample(&mut rng),
                );
                [2.0 * u + 1.0, 0.8 * u + 0.3 * v - 2.0]
            })
            .collect();
        for centre in [true, false] {
            let y = zca_pairs(&pairs, centre).unwrap();
            let c = pair_covariance(&y, centre);
            assert!((c[0] - 1.0).abs() < 1e-12 && c[1].abs() < 1e-12 && (c[2] - 1.0).abs() < 1e-12);
        }
        // ZCA is the symmetric whitening matrix: W C W = I and W symmetric positive definite.
        let cov = [4.0, 1.5, 1.0];
        let w = inv_sqrt_spd2(cov).unwrap();
        // W^2 = C^{-1} = [[1, -1.5], [-1.5, 4]] / (4 - 2.25).
        let w2 = [
            w[0] * w[0] + w[1] * w[1],
            w[0] * w[1] + w[1] * w[2],
            w[1] * w[1] + w[2] * w[2],
        ];
        let inv = [1.0 / 1.75, -1.5 / 1.75, 4.0 / 1.75];
        for k in 0..3 {
            assert!((w2[k] - inv[k]).abs() < 1e-14);
        }
        assert!(w[0] > 0.0 && w[2] > 0.0);
        assert!(inv_sqrt_spd2([1.0, 1.0, 1.0]).is_err());
    }
}
