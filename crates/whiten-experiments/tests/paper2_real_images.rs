//! Paper 2's circuit learning on the shared photographs (kodak-01, -13, -23; 512 x 512 centre
//! crop, pyramid band 0): (a) in 1D the responses reach |excess kurtosis| < 0.15 on every image,
//! (b) on pairs at offset d = 2 with K = 3 interneurons the circuit's MI (binned, every 10th
//! pair) is below a quarter of the ZCA MI.
//!
//! 1D uses two interneurons with `theta` fixed at 1 and 3 (only the gains learn, robust
//! schedule with `eta_theta = 0`): their constraints are unit variance and the Gaussian fourth
//! moment. 2D uses `pairs_2d`'s defaults (robust schedule, `eta_w = 0.1`) with `theta:
//! Initial`: theta stays at its start `2.3 + 0.1 U`, as in the authors' 2D runs, while g and W
//! learn. With the default `theta: Learned`, kodak-23 (GG beta 0.48) fails (b): theta runs to
//! its bound 3, each projection is close to Gaussian (excess kurtosis 0.08) but the pair stays
//! dependent (ratio 0.54); kodak-01 and -13 do better than with `Initial` (second 2D test).

// Tests say on stderr when they skip (shared images absent) and report what they measured.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_core::circuit::{Circuit, RobustSchedule, Schedule, Trainer};
use whiten_core::signal::{Pyramid, pairs_2d, signal_1d};
use whiten_core::stats::{MI_BIN_WIDTH, excess_kurtosis, mutual_information, zca_pairs};
use whiten_experiments::context::RunContext;
use whiten_experiments::images::read_image;
use whiten_experiments::kinds::pairs_2d::Pairs2d;
use whiten_experiments::kinds::paper2::{
    PairCircuit, ThetaMode, ZCA_CENTRED, learn_pairs, train_on,
};

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

/// (circuit MI, ZCA MI), every 10th pair, d = 2, K = 3, learned through the experiments' own
/// code path with `pairs_2d`'s default settings and the given `theta` mode.
fn mi_d2_k3(dir: &Path, name: &str, theta: ThetaMode, seed: u64) -> (f64, f64) {
    let p = pairs_2d(&band(dir, name), 512, 512, 2).unwrap();
    let zca = mutual_information(&zca_pairs(&p, ZCA_CENTRED).unwrap(), MI_BIN_WIDTH, 10).unwrap();
    let defaults = Pairs2d::default();
    let settings = PairCircuit {
        learning: &defaults.learning,
        theta_init: defaults.theta_init,
        theta,
        solver: defaults.solver,
    };
    let ctx = RunContext::new("paper2_real_images", seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let run = learn_pairs(&p, 3, &settings, &mut rng, &ctx, name).unwrap();
    let mi = run.mi_every10;
    eprintln!(
        "{name}: d = 2, K = 3, {theta:?}, seed {seed}: circuit MI {mi:.4}, ZCA {zca:.4} (ratio {:.3}), theta {:.3?}",
        mi / zca,
        run.circuit.theta()
    );
    (mi, zca)
}

/// `theta: Initial` (theta at its start, as in the authors' 2D runs; g and W learn) on every
/// photograph, three seeds: ratios about 0.08 (kodak-01), 0.18-0.22 (kodak-13), 0.22-0.24
/// (kodak-23).
#[test]
fn two_d_k3_beats_a_quarter_of_zca_on_every_image() {
    let Some(dir) = shared_images() else {
        return;
    };
    for name in IMAGES {
        for seed in 1..=3 {
            let (mi, zca) = mi_d2_k3(&dir, name, ThetaMode::Initial, seed);
            assert!(
                mi < zca / 4.0,
                "{name}, seed {seed}: circuit {mi} vs ZCA {zca}"
            );
        }
    }
}

/// With `theta: Learned` (the default) the moderately sparse photographs do better still
/// (about 0.07 and 0.13-0.16); kodak-23 does not (theta runs to 3, ratio 0.54).
#[test]
fn two_d_k3_learned_theta_on_kodak_01_and_13() {
    let Some(dir) = shared_images() else {
        return;
    };
    for name in ["kodak-01", "kodak-13"] {
        let (mi, zca) = mi_d2_k3(&dir, name, ThetaMode::Learned, 7);
        assert!(mi < zca / 4.0, "{name}: circuit {mi} vs ZCA {zca}");
    }
}
