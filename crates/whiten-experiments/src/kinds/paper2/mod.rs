//! Paper 2's experiments: the nonlinear interneuron circuit that Gaussianises natural-image
//! signals (`gaussianize_1d`, `pairs_2d`, `mi_vs_offset`, `image_survey`,
//! `circuit_adaptation`, one module each), and the pieces they share, one module each:
//!
//! * [`source`]: where the signals come from: generated dead-leaves images by default, or a
//!   file or folder of real images, the band signals cut from them, or a user's own signal
//!   file instead of images (a `.npy` vector for `gaussianize_1d`, `.npy` pairs for
//!   `pairs_2d`);
//! * [`learning`]: how the circuit learns (the authors' reference schedule or the robust
//!   one, what theta does, the selection under `Auto`, the named warnings) and the 1D circuit;
//! * [`pairs`]: the 2D work: pairs at an offset, their MI, and circuits learned on them.
//!
//! Everything they define is re-exported here, so a kind writes `use super::{...}` and
//! callers elsewhere `kinds::paper2::...`. This module keeps the two helpers that draw and
//! save a learned circuit's results ([`density_panel`], `save_circuit`).

pub mod circuit_adaptation;
pub mod gaussianize_1d;
pub mod image_survey;
pub mod mi_vs_offset;
pub mod pairs_2d;

pub mod learning;
pub mod pairs;
pub mod source;

pub use learning::{
    AUTHORS_THETA_2D, AUTO_2D_LEARNED_STARTS, AutoCandidate, BDerivativeRule, Candidate, GainStart,
    Learning, OneDCircuit, OneDRun, ReferenceSettings, RobustSettings, SCREEN_ITERATIONS,
    SILENT_SHARE, SOLVER_DOC, SolverSettings, THETA_MODE_DOC, ThetaMode, check_theta_init,
    check_theta_values, diagnose, learn_1d, train_on,
};
pub use pairs::{
    PairCircuit, PairRun, PairSignals, ZCA_CENTRED, check_offset, check_pair_k, file_pair_signals,
    learn_pair_groups, learn_pairs, mi_of_normal_scores, mi_pair, pair_signals, pair_sweep,
};
pub use source::{
    FilePairs, FileSignal1d, ImageSignal, ImageSource, MIN_SIGNAL_PAIRS, MIN_SIGNAL_SAMPLES,
    generated_image,
};
pub(crate) use source::{centre_crop_checked, read_signal_1d, signal_of};

use whiten_core::circuit::Circuit;

/// A contour panel of a 2D point cloud: a smoothed histogram on `[-4, 4]^2` with contours at
/// the levels of the standard Gaussian density at radii 0.625, 1.25 and 1.875 (the paper's
/// levels), dashed circles of those radii for reference, and optional interneuron directions.
pub fn density_panel(
    title: String,
    points: &[[f64; 2]],
    directions: &[[f64; 2]],
    note: String,
) -> crate::plot::Panel {
    use crate::plot::{Axis, Panel, Series, Style, contour};
    const LIM: f64 = 4.0;
    const BINS: usize = 80;
    let h = 2.0 * LIM / BINS as f64;
    let mut grid = vec![0.0; BINS * BINS];
    for p in points {
        let (i, j) = (((p[0] + LIM) / h).floor(), ((p[1] + LIM) / h).floor());
        if (0.0..BINS as f64).contains(&i) && (0.0..BINS as f64).contains(&j) {
            grid[j as usize * BINS + i as usize] += 1.0;
        }
    }
    // Separable Gaussian smoothing, sigma = 1.5 bins, then normalise to a density.
    let sigma = 1.5;
    let kernel: Vec<f64> = (-5i32..=5)
        .map(|o| (-(o * o) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let ksum: f64 = kernel.iter().sum();
    let blur = |src: &[f64], horizontal: bool| -> Vec<f64> {
        let mut dst = vec![0.0; src.len()];
        for j in 0..BINS {
            for i in 0..BINS {
                let mut acc = 0.0;
                for (o, w) in (-5i32..=5).zip(&kernel) {
                    let (ii, jj) = if horizontal {
                        (i as i32 + o, j as i32)
                    } else {
                        (i as i32, j as i32 + o)
                    };
                    if (0..BINS as i32).contains(&ii) && (0..BINS as i32).contains(&jj) {
                        acc += w * src[jj as usize * BINS + ii as usize];
                    }
                }
                dst[j * BINS + i] = acc / ksum;
            }
        }
        dst
    };
    let smooth = blur(&blur(&grid, true), false);
    let scale = 1.0 / (points.len() as f64 * h * h);
    let dens: Vec<f64> = smooth.iter().map(|v| v * scale).collect();
    let mut panel = Panel::new(
        title,
        Axis::linear("coefficient 1").with_range(-LIM, LIM),
        Axis::linear("coefficient 2").with_range(-LIM, LIM),
    )
    .with_equal_aspect();
    for (li, r) in [0.625f64, 1.25, 1.875].into_iter().enumerate() {
        let level = (-r * r / 2.0).exp() / (2.0 * std::f64::consts::PI);
        let pts = contour(
            &dens,
            BINS,
            BINS,
            (-LIM + h / 2.0, h),
            (-LIM + h / 2.0, h),
            level,
        );
        // One colour and legend entry per level; N(0, I)'s circle at the same level dashed.
        panel = panel.with(Series::line(format!("responses, r = {r}"), pts).colored(li));
        let circle: Vec<(f64, f64)> = (0..=96)
            .map(|t| {
                let a = 2.0 * std::f64::consts::PI * t as f64 / 96.0;
                (r * a.cos(), r * a.sin())
            })
            .collect();
        let c = Series::line("N(0, I), same levels", circle)
            .styled(Style::Dashed)
            .colored(6);
        panel = panel.with(if li == 0 { c } else { c.unlabelled() });
    }
    for (di, w) in directions.iter().enumerate() {
        let s = Series::line(
            "w_i (any length)",
            vec![(-LIM * w[0], -LIM * w[1]), (LIM * w[0], LIM * w[1])],
        )
        .styled(Style::Line)
        .colored(4);
        panel = panel.with(if di == 0 { s } else { s.unlabelled() });
    }
    panel.legend = crate::plot::Legend::LowerRight;
    panel.note(note)
}

/// Saves a circuit's learned parameters as `W_<tag>.npy` (n x K), `g_<tag>.npy` (K) and
/// `theta_<tag>.npy` (one per activation component).
pub(crate) fn save_circuit(out: &mut crate::output::Outputs, tag: &str, circuit: &Circuit) {
    let (n, k) = (circuit.n(), circuit.k());
    let w = circuit.w();
    // `w` is column-major (column i is interneuron i's weights); .npy is row-major.
    let rows: Vec<f64> = (0..n)
        .flat_map(|r| (0..k).map(move |c| w[c * n + r]))
        .collect();
    out.array(format!("W_{tag}"), &[n, k], rows);
    out.array(
        format!("g_{tag}"),
        &[circuit.g().len()],
        circuit.g().to_vec(),
    );
    out.array(
        format!("theta_{tag}"),
        &[circuit.theta().len()],
        circuit.theta().to_vec(),
    );
}
