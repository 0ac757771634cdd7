//! Paper 2 with the default settings on images it was not tuned on: every image of the shared
//! `images/` (kodak-01, -13, -23) and `images-dev/` (eight photographs, textures and stress
//! cases), and the generated default, with the *second* seed (11; the experiment files of
//! `experiments/photographs/` and `experiments/image_survey.ron` use 10, and their claims and
//! snapshots check that seed in CI). Everything runs through `image_survey` with its defaults,
//! which are those of every paper-2 kind (`theta: Auto`, robust schedules, d = 2, K = 3).
//!
//! Asserted, per image (issue 9, item 1):
//! * 1D: |excess kurtosis| of the responses < 0.15, and KS distance to N(0, 1) < 0.06 except on
//!   cell.png (a few huge coefficients: the KS distance stays about 0.09, whatever the mode);
//! * 2D: circuit MI < ZCA MI (every 10th pair), and at most a quarter of it where ZCA MI is at
//!   least 0.1 nats, except on cell.png (ratio about 0.37, the allowed exception). brick.png
//!   sits near the bar (the K = 3 circuit can reach about 0.235 there): `Auto` keeps the best
//!   of several learned-theta starts (`AUTO_2D_LEARNED_STARTS`), which lands at 0.24, where a
//!   single start stops at 0.24-0.33.
//!
//! Skipped (with a message) when the shared folder is absent, as in a user's fresh clone.

// Tests say on stderr when they skip and report what they measured.
#![allow(clippy::print_stderr)]

use std::path::PathBuf;

use serde_json::Value;
use whiten_experiments::Experiment;
use whiten_experiments::context::RunContext;
use whiten_experiments::kinds::paper2::ImageSource;
use whiten_experiments::kinds::paper2::image_survey::ImageSurvey;

const SEED: u64 = 11;
/// The allowed exception of both criteria (issue 9).
const STRESS_CASE: &str = "cell";

/// `../shared/data/<sub>` beside the checkout (found at run time from the package folder).
fn shared(sub: &str) -> Option<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let dir = PathBuf::from(manifest)
        .join("../../../shared/data")
        .join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: shared images not found at {}", dir.display());
        None
    }
}

/// Runs `image_survey` with its defaults on `source`, returns its per-image summary.
fn survey(source: ImageSource) -> serde_json::Map<String, Value> {
    let experiment = ImageSurvey {
        source,
        ..ImageSurvey::default()
    };
    experiment
        .check()
        .expect("the default parameters are valid");
    let ctx = RunContext::new("paper2_real_images", SEED).without_progress();
    let out = experiment.run(&ctx).expect("the survey runs");
    out.summary["images"]
        .as_object()
        .expect("per-image summary")
        .clone()
}

fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_f64()
        .unwrap_or_else(|| panic!("no number at {path:?} in {v}"))
}

/// Checks the criteria on every image of a survey; returns the failures.
fn criteria(images: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, v) in images {
        let kurt = num(v, &["kurtosis", "responses"]);
        let ks = num(v, &["ks_responses"]);
        let zca = num(v, &["mi_every_10th", "zca"]);
        let mi = num(v, &["mi_every_10th", "circuit"]);
        let ratio = mi / zca;
        eprintln!(
            "{name}: 1D {} kurtosis {kurt:+.3} KS {ks:.4}; 2D {} MI {mi:.4} vs ZCA {zca:.4} (ratio {ratio:.3})",
            v["one_d"]["mode"], v["two_d"]["mode"]
        );
        if kurt.abs() >= 0.15 {
            failures.push(format!("{name}: 1D excess kurtosis {kurt}"));
        }
        if ks >= 0.06 && name != STRESS_CASE {
            failures.push(format!("{name}: 1D KS distance {ks}"));
        }
        if mi >= zca {
            failures.push(format!("{name}: circuit MI {mi} not below ZCA {zca}"));
        }
        if zca >= 0.1 && ratio > 0.25 && name != STRESS_CASE {
            failures.push(format!("{name}: MI ratio {ratio} above 0.25"));
        }
    }
    failures
}

#[test]
fn default_settings_meet_the_criteria_on_every_shared_image_with_a_second_seed() {
    let (Some(photos), Some(dev)) = (shared("images"), shared("images-dev")) else {
        return;
    };
    let mut failures = Vec::new();
    for dir in [photos, dev] {
        let images = survey(ImageSource {
            images: Some(dir.display().to_string().into()),
            ..ImageSource::default()
        });
        assert!(
            images.len() >= 3,
            "{}: {} images",
            dir.display(),
            images.len()
        );
        failures.extend(criteria(&images));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn default_settings_meet_the_criteria_on_the_generated_default_with_a_second_seed() {
    let images = survey(ImageSurvey::default().source);
    assert_eq!(images.len(), 3);
    let failures = criteria(&images);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
