//! Paper 2's circuit learning on the shared photographs (kodak-01, -13, -23; 512 x 512 centre
//! crop, pyramid band 0): (a) in 1D the responses reach |excess kurtosis| < 0.15 on every image,
//! (b) on pairs at offset d = 2 with K = 3 interneurons the circuit's MI (binned, every 10th
//! pair) is below a quarter of the ZCA MI.
//!
//! 1D uses two interneurons with `theta` fixed at 1 and 3 (only the gains learn, robust
//! schedule with `eta_theta = 0`): their constraints are unit variance and the Gaussian fourth
//! moment. 2D uses the default robust schedule (g, theta and W learn). On kodak-23 (GG beta
//! 0.48) no setting of the K = 3 circuit found so far reaches (b) reliably: that check is the
//! ignored test at the end.

// Tests say on stderr when they skip (shared images absent) and report what they measured.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_core::circuit::{Circuit, RobustSchedule, Schedule, Trainer};
use whiten_core::signal::{Pyramid, pairs_2d, signal_1d};
use whiten_core::stats::{MI_BIN_WIDTH, excess_kurtosis, mutual_information, zca_pairs};
use whiten_experiments::images::read_image;
use whiten_experiments::kinds::paper2::{ZCA_CENTRED, train_on};

const IMAGES: [&str; 3] = ["kodak-01", "kodak-13", "kodak-23"];

fn shared_images() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/images");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: shared images not found at {}", dir.display());
        None
    }
}

fn band(dir: &Path, name: &str) -> Vec<f64> {
    let image = read_image(&dir.join(format!("{name}.ras")))
        .unwrap()
        .centre_crop(512, 512)
        .unwrap();
    Pyramid::new(512, 512).unwrap().band(&image, 0).unwrap()
}

/// Robust schedule, batch 100; `eta_theta = 0` when `theta` is fixed.
fn trainer(eta_theta: f64, eta_w: f64) -> Trainer {
    Trainer {
        batch_size: 100,
        schedule: Schedule::Robust(RobustSchedule {
            eta_theta,
            eta_w,
            ..Default::default()
        }),
    }
}

#[test]
fn one_d_grid_1_3_gaussianises_every_image() {
    let Some(dir) = shared_images() else {
        return;
    };
    for name in IMAGES {
        let s = signal_1d(&band(&dir, name));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut c = Circuit::reference_init(1, 2, 2.2, &mut rng).unwrap();
        c.set_theta(&[1.0, 3.0]).unwrap();
        let rep = train_on(&mut c, &trainer(0.0, 0.0), &s, &mut rng).unwrap();
        let mut r = vec![0.0; s.len()];
        c.respond_batch(&s, &mut r).unwrap();
        let kurt = excess_kurtosis(&r);
        eprintln!(
            "{name}: 1D excess kurtosis {kurt:.4} (signal {:.1}), g {:?}, {} iterations",
            excess_kurtosis(&s),
            c.g(),
            rep.iterations
        );
        assert!(rep.converged, "{name}: {rep:?}");
        assert!(kurt.abs() < 0.15, "{name}: excess kurtosis {kurt}");
    }
}

/// (circuit MI, ZCA MI), every 10th pair, d = 2, K = 3; `theta_fixed` as in `pairs_2d`.
fn mi_d2_k3(dir: &Path, name: &str, theta_fixed: Option<f64>, seed: u64) -> (f64, f64) {
    let p = pairs_2d(&band(dir, name), 512, 512, 2).unwrap();
    let zca = mutual_information(&zca_pairs(&p, ZCA_CENTRED).unwrap(), MI_BIN_WIDTH, 10).unwrap();
    let flat: Vec<f64> = p.iter().flat_map(|q| [q[0], q[1]]).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut c = Circuit::reference_init(2, 3, 2.3, &mut rng).unwrap();
    let eta_theta = match theta_fixed {
        Some(t) => {
            c.set_theta(&[t; 3]).unwrap();
            0.0
        }
        None => RobustSchedule::default().eta_theta,
    };
    train_on(&mut c, &trainer(eta_theta, 1e-2), &flat, &mut rng).unwrap();
    let mut r = vec![0.0; flat.len()];
    c.respond_batch(&flat, &mut r).unwrap();
    let rp: Vec<[f64; 2]> = r.chunks_exact(2).map(|q| [q[0], q[1]]).collect();
    let mi = mutual_information(&rp, MI_BIN_WIDTH, 10).unwrap();
    eprintln!(
        "{name}: d = 2, K = 3: circuit MI {mi:.4}, ZCA {zca:.4} (ratio {:.3}), theta {:?}",
        mi / zca,
        c.theta()
    );
    (mi, zca)
}

#[test]
fn two_d_k3_beats_a_quarter_of_zca_on_kodak_01_and_13() {
    let Some(dir) = shared_images() else {
        return;
    };
    for name in ["kodak-01", "kodak-13"] {
        let (mi, zca) = mi_d2_k3(&dir, name, None, 7);
        assert!(mi < zca / 4.0, "{name}: circuit {mi} vs ZCA {zca}");
    }
}

/// Not met yet: the best K = 3 setting found (theta fixed at 2.35 for all three interneurons,
/// g and W learned) gives ratios 0.24 - 0.26 depending on the seed; learned theta (all at the
/// bound 3) gives 0.54.
#[test]
#[ignore = "target (b) not reached on kodak-23 (best ratio 0.24-0.26)"]
fn two_d_k3_beats_a_quarter_of_zca_on_kodak_23() {
    let Some(dir) = shared_images() else {
        return;
    };
    for seed in [1, 2, 3] {
        let (mi, zca) = mi_d2_k3(&dir, "kodak-23", Some(2.35), seed);
        assert!(mi < zca / 4.0, "seed {seed}: circuit {mi} vs ZCA {zca}");
    }
}
