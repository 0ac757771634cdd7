//! Snapshot tests: every experiment kind runs on a reduced-size fixture (`tests/fixtures/`)
//! and its summary (rounded to 6 significant digits) is compared with the committed insta
//! snapshot. Under `CI=true` nothing is written and a mismatch fails; locally, review changes
//! with `cargo insta review`.
//!
//! Every figure of a fixture run is checked for layout problems first. Also checks that every
//! kind has a fixture and that every file in `experiments/` loads and
//! passes its parameter check.

use std::path::{Path, PathBuf};

use whiten_experiments::{RunContext, builtin_registry, load_file};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(kind: &str) -> PathBuf {
    root().join("tests/fixtures").join(format!("{kind}.ron"))
}

/// The fixture's summary, after checking that none of its figures has a layout a reader would
/// object to (`Figure::layout_issues`: clipped text, a legend over the data, two series in
/// near-identical colours).
fn summary_of(kind: &str) -> serde_json::Value {
    let registry = builtin_registry();
    let loaded = load_file(&fixture(kind), &registry).expect("fixture loads");
    let ctx = RunContext::new(&loaded.name, loaded.seed).without_progress();
    let outputs = loaded.experiment.run(&ctx).expect("fixture runs");
    let issues: Vec<String> = outputs
        .figures
        .iter()
        .flat_map(|f| f.layout_issues())
        .collect();
    assert!(issues.is_empty(), "{kind}: {issues:#?}");
    outputs.summary_json()
}

#[test]
fn every_kind_has_a_fixture() {
    for kind in builtin_registry().names() {
        assert!(
            fixture(&kind).exists(),
            "no snapshot fixture tests/fixtures/{kind}.ron"
        );
    }
}

#[test]
fn every_experiment_file_loads() {
    let registry = builtin_registry();
    let mut n = 0;
    for dir in [
        root().join("experiments"),
        root().join("experiments/authors"),
    ] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ron") {
                load_file(&path, &registry).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
    }
    assert!(
        n >= registry.names().len(),
        "every kind should have a file in experiments/"
    );
}

/// The photograph experiments load and pass their checks (which read the images) when the
/// shared photographs are present. They are loaded in place: their image paths are relative to
/// their own folder (`"../../../shared/data/images..."`), whatever the working directory.
#[test]
#[allow(clippy::print_stderr)] // says why it skips
fn photograph_experiment_files_load() {
    let registry = builtin_registry();
    let shared = root().join("../shared");
    if !shared.join("data/images").is_dir() {
        eprintln!("skipping: no shared photographs at {}", shared.display());
        return;
    }
    let dir = root().join("experiments/photographs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ron") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.contains("\"../../../shared/data/images"),
                "{}",
                path.display()
            );
            load_file(&path, &registry).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(
        n >= 3,
        "expected the three paper-2 kinds in {}",
        dir.display()
    );
}

macro_rules! snapshot_test {
    ($($kind:ident),* $(,)?) => {$(
        #[test]
        fn $kind() {
            insta::assert_json_snapshot!(stringify!($kind), summary_of(stringify!($kind)));
        }
    )*};
}

snapshot_test!(
    offline_learning,
    online_learning,
    adaptation,
    scalar_flows,
    convergence_time,
    discrete_vs_flow,
    gaussianize_1d,
    pairs_2d,
    mi_vs_offset,
    image_survey,
    circuit_adaptation,
    flow_scaling,
    mechanisms,
    slow_synapses,
    patch_contexts,
    local_whitening,
    gain_contexts,
    frame_convergence,
    context_switching,
    nonnegative_gains,
);
