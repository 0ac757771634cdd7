//! End-to-end tests of the `whiten` binary: list, describe, run; outputs on disk; byte-identical
//! outputs across repeated runs and thread counts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn whiten(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whiten"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the whiten binary runs")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("whiten-e2e-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every summary and CSV under `dir`, as (relative path, bytes), sorted.
fn artefacts(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for exp in std::fs::read_dir(dir).unwrap() {
        let exp = exp.unwrap().path();
        for f in std::fs::read_dir(&exp).unwrap() {
            let f = f.unwrap().path();
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext == "csv" || ext == "json" || ext == "ron" {
                let rel = f.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&f).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn list_and_describe() {
    let out = whiten(&["list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for kind in ["offline_learning", "online_learning", "adaptation"] {
        assert!(
            text.contains(kind),
            "{kind} missing from `whiten list`:\n{text}"
        );
    }
    let out = whiten(&["describe", "offline_learning"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("max_iterations") && text.contains("default 0.1"),
        "{text}"
    );
    let out = whiten(&["describe", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("known kinds: adaptation"));
}

#[test]
fn run_writes_every_output() {
    let dir = scratch("outputs");
    let out = whiten(&[
        "run",
        &fixture("offline_learning.ron"),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exp = dir.join("offline_learning");
    for f in [
        "summary.json",
        "config.ron",
        "iterations.csv",
        "trajectories.csv",
        "offline_error.svg",
        "offline_error.png",
    ] {
        assert!(exp.join(f).is_file(), "{f} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(exp.join("summary.json")).unwrap()).unwrap();
    let it = &summary["iterations_to_threshold"]["commuting"];
    assert_eq!(
        it["direct"],
        serde_json::json!({"1": 24, "10": 124, "100": 1026})
    );
    assert_eq!(
        it["interneuron"],
        serde_json::json!({"1": 10, "10": 22, "100": 33})
    );
    let png = std::fs::read(exp.join("offline_error.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(exp.join("offline_error.svg")).unwrap();
    assert!(svg.contains("iteration") && svg.contains("direct, c = 100"));
    // The written config reproduces the run.
    let again = scratch("outputs-again");
    let cfg = exp.join("config.ron");
    let out = whiten(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(artefacts(&dir), artefacts(&again));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&again);
}

#[test]
fn outputs_do_not_depend_on_threads_or_repetition() {
    let files = [
        fixture("online_learning.ron"),
        fixture("offline_learning.ron"),
    ];
    let mut runs = Vec::new();
    for (tag, threads) in [("t1", "1"), ("t2", "2"), ("t2b", "2")] {
        let dir = scratch(tag);
        let mut args = vec!["run"];
        args.extend(files.iter().map(String::as_str));
        args.extend(["--out", dir.to_str().unwrap(), "--threads", threads]);
        let out = whiten(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        runs.push(artefacts(&dir));
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(runs[0].len() >= 6);
    assert_eq!(runs[0], runs[1], "1 thread vs 2 threads");
    assert_eq!(runs[1], runs[2], "two runs with 2 threads");
}

#[test]
fn seed_override_changes_random_parts_only() {
    let a = scratch("seed-a");
    let b = scratch("seed-b");
    let f = fixture("online_learning.ron");
    assert!(
        whiten(&["run", &f, "--out", a.to_str().unwrap(), "--seed", "11"])
            .status
            .success()
    );
    assert!(
        whiten(&["run", &f, "--out", b.to_str().unwrap(), "--seed", "12"])
            .status
            .success()
    );
    let read = |d: &Path| std::fs::read(d.join("online_learning/trajectories.csv")).unwrap();
    assert_ne!(read(&a), read(&b));
    let cfg = std::fs::read_to_string(a.join("online_learning/config.ron")).unwrap();
    assert!(cfg.contains("seed: 11"), "{cfg}");
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

/// A run whose learning does not converge and whose theta runs into its bound says so on its
/// output line, one line per warning, and in `summary.json`.
#[test]
fn warnings_reach_the_run_line_and_the_summary() {
    let dir = scratch("warnings");
    std::fs::create_dir_all(&dir).unwrap();
    // The authors' schedule cut to 50 steps: never meets the convergence test.
    let file = dir.join("short.ron");
    std::fs::write(
        &file,
        "(kind: \"gaussianize_1d\", name: \"short\", seed: 3, params: (source: (generated: 1, crop: 64), \
         learning: Reference(iterations: 50), theta: Learned))",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let o = whiten(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(
        stdout.contains("warnings (summary.json: warnings)")
            && stdout.contains(
                "  warning: dead-leaves-0-64px: learning did not meet the convergence test in 50 iterations"
            ),
        "{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("short/summary.json")).unwrap())
            .unwrap();
    // The run line counts the claims (comparisons with published numbers apart) and names
    // the failed ones.
    let claims: Vec<&serde_json::Value> = summary["claims"]
        .as_array()
        .expect("claims in the summary")
        .iter()
        .filter(|c| c["informative"] != serde_json::Value::Bool(true))
        .collect();
    let failed: Vec<&str> = claims
        .iter()
        .filter(|c| c["pass"] != serde_json::Value::Bool(true))
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        stdout.contains(&format!(
            "claims {}/{}",
            claims.len() - failed.len(),
            claims.len()
        )),
        "{stdout}"
    );
    if !failed.is_empty() {
        assert!(
            stdout.contains(&format!("FAILED: {}", failed.join(", "))),
            "{stdout}"
        );
    }
    // Comparisons are counted apart, as agreeing or not.
    let comparisons: Vec<&serde_json::Value> = summary["claims"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["informative"] == serde_json::Value::Bool(true))
        .collect();
    let agree = comparisons
        .iter()
        .filter(|c| c["pass"] == serde_json::Value::Bool(true))
        .count();
    assert!(
        !comparisons.is_empty(),
        "the fixture compares with published values"
    );
    assert!(
        stdout.contains(&format!("comparisons {agree}/{} agree", comparisons.len())),
        "{stdout}"
    );
    let warnings = summary["warnings"]
        .as_array()
        .expect("warnings in the summary");
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("did not meet the convergence test")),
        "{warnings:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An output path that is a file is refused before any experiment runs, with the path named.
#[test]
fn an_unusable_out_is_refused_before_any_work() {
    let dir = scratch("badout");
    std::fs::create_dir_all(&dir).unwrap();
    let not_a_folder = dir.join("results");
    std::fs::write(&not_a_folder, "a file").unwrap();
    // A fixture that takes seconds to run: the refusal must come first (nothing on stdout:
    // no experiment line).
    let o = whiten(&[
        "run",
        &fixture("image_survey.ron"),
        "--out",
        not_a_folder.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!(
            "--out {}: is not a folder",
            not_a_folder.display()
        )),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).is_empty());
    assert_eq!(std::fs::read_to_string(&not_a_folder).unwrap(), "a file");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Image paths in an experiment file are relative to the file's folder, not to the working
/// directory: files in `exps/sub/` naming `"../imgs/grey.pgm"` load and run from another
/// folder; a `config.ron` records the path resolved (absolute), so it reruns from anywhere.
#[test]
fn image_paths_are_relative_to_the_experiment_file() {
    let root = scratch("relative-paths");
    let (sub, imgs, elsewhere) = (
        root.join("exps/sub"),
        root.join("exps/imgs"),
        root.join("elsewhere"),
    );
    for d in [&sub, &imgs, &elsewhere] {
        std::fs::create_dir_all(d).unwrap();
    }
    // A 16 x 16 greyscale PGM with some structure.
    let mut pgm = b"P5\n16 16\n255\n".to_vec();
    pgm.extend((0..256usize).map(|k| ((17 * (k / 16) + 5 * (k % 16)) % 250) as u8));
    std::fs::write(imgs.join("grey.pgm"), &pgm).unwrap();
    // Both kinds of image parameter: a source's `images`, and circuit_adaptation's `File`.
    std::fs::write(
        sub.join("rel.ron"),
        r#"(kind: "gaussianize_1d", name: "rel", seed: 1, params: (source: (images: "../imgs/grey.pgm", crop: 8), learning: Reference(iterations: 10)))"#,
    )
    .unwrap();
    std::fs::write(
        sub.join("adapt.ron"),
        r#"(kind: "circuit_adaptation", name: "adapt", seed: 1, params: (images: [File("../imgs/grey.pgm"), DeadLeaves(0.1)], crop: 8, sequence: [0, 1], phase_iterations: 20, probe_every: 10, probe_samples: 100))"#,
    )
    .unwrap();
    let in_dir = |dir: &Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_whiten"))
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .args(args)
            .output()
            .expect("the whiten binary runs")
    };
    let ok = |o: &Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    // From a folder where `../imgs/grey.pgm` does not exist, by relative and absolute paths.
    assert!(!elsewhere.join("../imgs/grey.pgm").exists());
    let absolute = sub.join("rel.ron").display().to_string();
    for file in ["../exps/sub/rel.ron", "../exps/sub/adapt.ron", &absolute] {
        ok(&in_dir(&elsewhere, &["check", file]));
    }
    ok(&in_dir(
        &elsewhere,
        &[
            "run",
            "../exps/sub/rel.ron",
            "../exps/sub/adapt.ron",
            "--out",
            "out",
            "--threads",
            "1",
        ],
    ));
    for name in ["rel", "adapt"] {
        let summary =
            std::fs::read_to_string(elsewhere.join("out").join(name).join("summary.json")).unwrap();
        assert!(
            summary.contains("grey"),
            "images are named by stem:\n{summary}"
        );
        assert!(
            !summary.contains("imgs"),
            "no paths in the summary:\n{summary}"
        );
        let text =
            std::fs::read_to_string(elsewhere.join("out").join(name).join("config.ron")).unwrap();
        let written = text
            .split('"')
            .find(|s| s.ends_with("grey.pgm"))
            .unwrap_or_else(|| panic!("no image path in config.ron:\n{text}"));
        assert!(Path::new(written).is_absolute(), "{text}");
    }
    // A recorded configuration reruns from another folder, to the same summary.
    let config = elsewhere.join("out/adapt/config.ron");
    ok(&in_dir(
        &root,
        &[
            "run",
            config.to_str().unwrap(),
            "--out",
            "again",
            "--threads",
            "1",
        ],
    ));
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        read(elsewhere.join("out/adapt/summary.json")),
        read(root.join("again/adapt/summary.json"))
    );
    let _ = std::fs::remove_dir_all(&root);
}
