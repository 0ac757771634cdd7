//! Signal statistics of paper 2 (spec section 6) on the shared Kodak images, and the
//! generated dead-leaves default: generalised Gaussian fit of the band, mutual information
//! of coefficient pairs, raw and ZCA-whitened.

// Tests say on stderr when they skip (shared images absent) and report the measured
// dead-leaves statistics.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_core::signal::{DeadLeavesParams, Image, Pyramid, dead_leaves, pairs_2d, signal_1d};
use whiten_core::stats::{MI_BIN_WIDTH, fit_generalized_gaussian, mutual_information, zca_pairs};
use whiten_experiments::images::read_image;

/// Spec section 6 table (independent re-computation): alpha, beta, then MI all pairs
/// raw / ZCA for d = 2, 8, 32, then every-10th raw / ZCA at d = 2.
struct Reference {
    name: &'static str,
    alpha: f64,
    beta: f64,
    mi: [(usize, f64, f64); 3],
    mi10_d2: (f64, f64),
}

const REFERENCES: [Reference; 3] = [
    Reference {
        name: "kodak-01",
        alpha: 0.359,
        beta: 0.728,
        mi: [
            (2, 0.2359, 0.1056),
            (8, 0.0808, 0.0664),
            (32, 0.0231, 0.0226),
        ],
        mi10_d2: (0.2360, 0.1152),
    },
    Reference {
        name: "kodak-13",
        alpha: 0.451,
        beta: 0.805,
        mi: [
            (2, 0.0911, 0.0503),
            (8, 0.0156, 0.0153),
            (32, 0.0038, 0.0038),
        ],
        mi10_d2: (0.1009, 0.0634),
    },
    Reference {
        name: "kodak-23",
        alpha: 0.058,
        beta: 0.478,
        mi: [
            (2, 0.2445, 0.1751),
            (8, 0.1229, 0.1251),
            (32, 0.0539, 0.0595),
        ],
        mi10_d2: (0.2643, 0.1978),
    },
];

fn shared_images() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/images");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: shared images not found at {}", dir.display());
        None
    }
}

/// Within 2 % of the reference, allowing for the reference's rounding to its last printed
/// digit (half a unit of 1e-4, or of 1e-3 for the 3-digit alpha and beta).
fn close(got: f64, want: f64, rounding: f64) -> bool {
    (got - want).abs() <= 0.02 * want.abs() + rounding
}

#[test]
fn kodak_statistics_match_spec_table() {
    let Some(dir) = shared_images() else {
        return;
    };
    let pyramid = Pyramid::new(512, 512).unwrap();
    for r in &REFERENCES {
        let image = read_image(&dir.join(format!("{}.ras", r.name)))
            .unwrap()
            .centre_crop(512, 512)
            .unwrap();
        let band = pyramid.band(&image, 0).unwrap();
        let fit = fit_generalized_gaussian(&signal_1d(&band)).unwrap();
        assert!(
            close(fit.alpha, r.alpha, 5e-4),
            "{}: alpha {} vs {}",
            r.name,
            fit.alpha,
            r.alpha
        );
        assert!(
            close(fit.beta, r.beta, 5e-4),
            "{}: beta {} vs {}",
            r.name,
            fit.beta,
            r.beta
        );
        for (d, raw_want, zca_want) in r.mi {
            let pairs = pairs_2d(&band, 512, 512, d).unwrap();
            let white = zca_pairs(&pairs, true).unwrap();
            let raw = mutual_information(&pairs, MI_BIN_WIDTH, 1).unwrap();
            let zca = mutual_information(&white, MI_BIN_WIDTH, 1).unwrap();
            assert!(
                close(raw, raw_want, 5e-5),
                "{} d = {d}: raw MI {raw} vs {raw_want}",
                r.name
            );
            assert!(
                close(zca, zca_want, 5e-5),
                "{} d = {d}: ZCA MI {zca} vs {zca_want}",
                r.name
            );
            if d == 2 {
                // Every 10th pair of the column-by-column list; ZCA fitted on all pairs.
                let raw10 = mutual_information(&pairs, MI_BIN_WIDTH, 10).unwrap();
                let zca10 = mutual_information(&white, MI_BIN_WIDTH, 10).unwrap();
                let (raw10_want, zca10_want) = r.mi10_d2;
                assert!(
                    close(raw10, raw10_want, 5e-5),
                    "{}: every-10th raw MI {raw10} vs {raw10_want}",
                    r.name
                );
                assert!(
                    close(zca10, zca10_want, 5e-5),
                    "{}: every-10th ZCA MI {zca10} vs {zca10_want}",
                    r.name
                );
            }
        }
    }
}

#[test]
fn centring_does_not_matter_for_zca() {
    // The band has zero mean (its mask vanishes at the zero frequency), so centred and
    // uncentred ZCA agree to the reported precision on a real image.
    let Some(dir) = shared_images() else {
        return;
    };
    let image = read_image(&dir.join("kodak-13.ras"))
        .unwrap()
        .centre_crop(512, 512)
        .unwrap();
    let band = Pyramid::new(512, 512).unwrap().band(&image, 0).unwrap();
    let pairs = pairs_2d(&band, 512, 512, 8).unwrap();
    let a = mutual_information(&zca_pairs(&pairs, true).unwrap(), MI_BIN_WIDTH, 1).unwrap();
    let b = mutual_information(&zca_pairs(&pairs, false).unwrap(), MI_BIN_WIDTH, 1).unwrap();
    assert!((a - b).abs() < 1e-4, "centred {a} vs uncentred {b}");
}

fn dead_leaves_band(seed: u64) -> (Image, Vec<f64>) {
    let image = dead_leaves(
        &DeadLeavesParams::default(),
        &mut ChaCha8Rng::seed_from_u64(seed),
    )
    .unwrap();
    let band = Pyramid::new(image.width, image.height)
        .unwrap()
        .band(&image, 0)
        .unwrap();
    (image, band)
}

#[test]
fn dead_leaves_band_is_heavy_tailed() {
    for seed in [0, 1] {
        let (image, band) = dead_leaves_band(seed);
        assert_eq!((image.width, image.height), (512, 512));
        let fit = fit_generalized_gaussian(&signal_1d(&band)).unwrap();
        eprintln!(
            "dead leaves seed {seed}: alpha {:.4}, beta {:.4}",
            fit.alpha, fit.beta
        );
        // Spec: alpha 0.25, beta 0.63 for one seed; a Gaussian would give beta 2.
        assert!(fit.beta < 1.2 && fit.beta > 0.3, "seed {seed}: {fit:?}");
        // Neighbouring coefficients are dependent, as in photographs.
        let pairs = pairs_2d(&band, 512, 512, 2).unwrap();
        let mi = mutual_information(&pairs, MI_BIN_WIDTH, 1).unwrap();
        assert!(mi > 0.05, "seed {seed}: MI d = 2 {mi}");
    }
}

#[test]
fn dead_leaves_is_deterministic_per_seed() {
    let params = DeadLeavesParams::default();
    let a = dead_leaves(&params, &mut ChaCha8Rng::seed_from_u64(42)).unwrap();
    let b = dead_leaves(&params, &mut ChaCha8Rng::seed_from_u64(42)).unwrap();
    let c = dead_leaves(&params, &mut ChaCha8Rng::seed_from_u64(43)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}
