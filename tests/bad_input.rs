//! Bad input through the `whiten` binary: every refusal is located (file, line, column,
//! field), exits non-zero, writes nothing for the refused experiment, and leaves the other
//! experiments of the same invocation running.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Case {
    dir: PathBuf,
}

impl Case {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("whiten-bad-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    fn out(&self) -> PathBuf {
        self.dir.join("out")
    }

    fn run(&self, files: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_whiten"));
        cmd.arg("run").args(files).arg("--out").arg(self.out());
        cmd.output().unwrap()
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_refused(o: &Output, needles: &[&str]) {
    assert!(!o.status.success(), "expected a non-zero exit");
    let err = stderr(o);
    assert!(!err.contains("panicked"), "panic: {err}");
    for n in needles {
        assert!(err.contains(n), "error should contain {n:?}:\n{err}");
    }
}

fn no_outputs(dir: &Path, name: &str) -> bool {
    !dir.join(name).exists()
}

const GOOD: &str = r#"(kind: "offline_learning", name: "good", seed: 1, params: (scales: [1.0]))"#;

#[test]
fn malformed_ron_is_located() {
    let c = Case::new("syntax");
    let f = c.file(
        "broken.ron",
        "(\n    kind: \"offline_learning\",\n    name: \"broken\",\n    seed: 1,\n    params: (eta: 0.1 threshold: 0.01),\n)\n",
    );
    let o = c.run(&[&f]);
    assert_refused(&o, &[&format!("{f}:5:")]);
    assert!(no_outputs(&c.out(), "broken"));
}

#[test]
fn unknown_field_is_refused_with_its_name_and_position() {
    let c = Case::new("unknown-field");
    let f = c.file(
        "typo.ron",
        "(\n    kind: \"offline_learning\",\n    name: \"typo\",\n    seed: 1,\n    params: (\n        eta: 0.1,\n        treshold: 0.01,\n    ),\n)\n",
    );
    let o = c.run(&[&f]);
    assert_refused(
        &o,
        &[&format!("{f}:7:"), "unknown field `treshold`", "threshold"],
    );
    assert!(no_outputs(&c.out(), "typo"));
    // Unknown fields in the envelope too.
    let f = c.file(
        "env.ron",
        r#"(kind: "offline_learning", name: "env", seed: 1, colour: 3)"#,
    );
    assert_refused(&c.run(&[&f]), &["unknown field `colour`"]);
}

#[test]
fn too_few_interneurons_is_refused_before_any_work() {
    let c = Case::new("k-lt-n");
    let f = c.file(
        "k.ron",
        "(\n    kind: \"offline_learning\",\n    name: \"k\",\n    seed: 1,\n    params: (\n        n: 5,\n        k: 3,\n    ),\n)\n",
    );
    let o = c.run(&[&f]);
    assert_refused(&o, &[&format!("{f}:7:9"), "params.k", "k = 3", "n = 5"]);
    assert!(no_outputs(&c.out(), "k"));
}

#[test]
fn unknown_kind_lists_the_known_ones() {
    let c = Case::new("kind");
    let f = c.file(
        "x.ron",
        "(\n  kind: \"offline_learnin\",\n  name: \"x\",\n  seed: 1,\n)",
    );
    let o = c.run(&[&f]);
    assert_refused(
        &o,
        &[
            &format!("{f}:2:3"),
            "offline_learnin",
            "known kinds:",
            "offline_learning",
            "online_learning",
        ],
    );
}

#[test]
fn impossible_parameters_are_refused() {
    let c = Case::new("params");
    let cases = [
        ("eta: -0.1", "params.eta"),
        ("eta: 0.0", "params.eta"),
        ("threshold: 0.0", "params.threshold"),
        ("scales: []", "params.scales"),
        ("scales: [1.0, -2.0]", "params.scales[1]"),
        ("spectrum: Linspace(-1.0, 2.0)", "params.spectrum"),
        ("spectrum: Values([1.0, 2.0])", "params.spectrum"),
        ("inits: []", "params.inits"),
        ("n: 0", "params.n"),
    ];
    for (i, (param, needle)) in cases.iter().enumerate() {
        let name = format!("p{i}");
        let f = c.file(
            &format!("{name}.ron"),
            &format!("(kind: \"offline_learning\", name: \"{name}\", seed: 1, params: ({param}))"),
        );
        let o = c.run(&[&f]);
        assert_refused(&o, &[needle, &f]);
        assert!(no_outputs(&c.out(), &name));
    }
    // Wrong types and missing envelope fields.
    let f = c.file(
        "t.ron",
        r#"(kind: "offline_learning", name: "t", seed: 1, params: (n: "five"))"#,
    );
    assert_refused(&c.run(&[&f]), &[&f]);
    let f = c.file(
        "m.ron",
        r#"(kind: "offline_learning", name: "m", params: ())"#,
    );
    assert_refused(&c.run(&[&f]), &["missing field `seed`"]);
    let f = c.file(
        "bad-name.ron",
        r#"(kind: "offline_learning", name: "../escape", seed: 1)"#,
    );
    assert_refused(&c.run(&[&f]), &["`name`"]);
}

#[test]
fn other_experiments_still_run() {
    let c = Case::new("mixed");
    let bad = c.file(
        "bad.ron",
        r#"(kind: "offline_learning", name: "bad", seed: 1, params: (k: 1))"#,
    );
    let good = c.file("good.ron", GOOD);
    let missing = c.dir.join("does-not-exist.ron").display().to_string();
    let o = c.run(&[&bad, &good, &missing]);
    assert_refused(&o, &["params.k", "does-not-exist.ron: cannot read"]);
    assert!(c.out().join("good/summary.json").is_file());
    assert!(no_outputs(&c.out(), "bad"));
    let entries: Vec<_> = std::fs::read_dir(c.out()).unwrap().collect();
    assert_eq!(
        entries.len(),
        1,
        "only the good experiment's folder is written"
    );
}

#[test]
fn duplicate_names_are_refused() {
    let c = Case::new("dup");
    let a = c.file("a.ron", GOOD);
    let b = c.file("b.ron", GOOD);
    let o = c.run(&[&a, &b]);
    assert_refused(&o, &["`good` is already used"]);
    assert!(c.out().join("good/summary.json").is_file());
}

#[test]
fn divergence_is_diagnosed_and_other_experiments_continue() {
    let c = Case::new("diverge");
    // Learning rates beyond the stability limits of spec 1 section 4.3.
    let off = c.file(
        "off.ron",
        r#"(kind: "offline_learning", name: "off", seed: 1, params: (eta: 1.5))"#,
    );
    let on = c.file(
        "on.ron",
        r#"(kind: "online_learning", name: "on", seed: 1, params: (eta: 0.9, samples: 2000))"#,
    );
    let good = c.file("good.ron", GOOD);
    let o = c.run(&[&off, &on, &good]);
    assert_refused(
        &o,
        &[
            "experiment `off` failed at interneuron network",
            "iteration 14",
            "eta = 1.5 is beyond the stability limit 0.4444",
            "M = W W^T is not positive definite",
            "experiment `on` failed at direct network",
            "sample 2",
            "M is not positive definite",
        ],
    );
    assert!(no_outputs(&c.out(), "off") && no_outputs(&c.out(), "on"));
    assert!(c.out().join("good/summary.json").is_file());
}

#[test]
fn circuit_failure_is_diagnosed() {
    // A gain rate so large that the gains collapse to 0: the response Jacobian loses positive
    // definiteness and the run stops with the quantity named.
    let c = Case::new("circuit");
    let f = c.file(
        "g.ron",
        r#"(kind: "gaussianize_1d", name: "g", seed: 1, params: (source: (crop: 64), learning: Reference(eta_g: 1000000.0, iterations: 50)))"#,
    );
    let o = c.run(&[&f]);
    assert_refused(
        &o,
        &[
            "experiment `g` failed at learning on dead-leaves-0-64px: learning iteration 2:",
            "not positive definite",
        ],
    );
    assert!(no_outputs(&c.out(), "g"));
}

#[test]
fn response_solve_failure_and_non_finite_values_are_diagnosed() {
    // A Newton budget too small for the response solve (1D and 2D circuits), and a covariance
    // so large that the first offline update overflows: each run stops naming the experiment,
    // the step and the quantity; the good experiment of the same invocation still runs.
    let c = Case::new("solve");
    let one = c.file(
        "one.ron",
        r#"(kind: "gaussianize_1d", name: "one", seed: 1, params: (source: (crop: 64), solver: (max_iterations: 1)))"#,
    );
    let two = c.file(
        "two.ron",
        r#"(kind: "pairs_2d", name: "two", seed: 1, params: (source: (crop: 64), offsets: [2], ks: [3], solver: (max_iterations: 2)))"#,
    );
    let huge = c.file(
        "huge.ron",
        r#"(kind: "offline_learning", name: "huge", seed: 1, params: (spectrum: Linspace(1e307, 1.7e308), scales: [1.0]))"#,
    );
    let good = c.file("good.ron", GOOD);
    let o = c.run(&[&one, &two, &huge, &good]);
    assert_refused(
        &o,
        &[
            "experiment `one` failed at learning on dead-leaves-0-64px: learning iteration 1: response solve did not converge after 1 iterations (residual",
            "experiment `two` failed at learning the K = 3 circuit at offset d = 2: learning iteration 1: response solve did not converge after 2 iterations",
            "experiment `huge` failed at direct network, commuting init, c = 1, iteration 1: non-finite value in M after update",
        ],
    );
    for name in ["one", "two", "huge"] {
        assert!(no_outputs(&c.out(), name), "{name} left outputs");
    }
    assert!(c.out().join("good/summary.json").is_file());
}

#[test]
fn solver_settings_are_checked() {
    let c = Case::new("solver");
    let f = c.file(
        "s.ron",
        "(kind: \"mi_vs_offset\", name: \"s\", seed: 1, params: (\n    solver: (max_iterations: 0),\n))",
    );
    let o = c.run(&[&f]);
    assert_refused(
        &o,
        &[
            "s.ron:2:",
            "params.solver.max_iterations: must be at least 1",
        ],
    );
    assert!(no_outputs(&c.out(), "s"));
}

#[test]
fn images_are_read_before_any_work() {
    // The first experiment is fine; the second points at an unreadable image. The image is
    // refused at the parameter check, located at `source.images`, before anything runs.
    let c = Case::new("early-image");
    std::fs::write(c.dir.join("broken.ras"), [0x59, 0xa6, 0x6a, 0x95, 0, 0]).unwrap();
    let img = c.dir.join("broken.ras").display().to_string();
    let f = c.file(
        "img.ron",
        &format!(
            "(kind: \"gaussianize_1d\", name: \"img\", seed: 1, params: (\n    source: (images: {img:?}, crop: 64),\n))"
        ),
    );
    let good = c.file("good.ron", GOOD);
    let o = c.run(&[&good, &f]);
    let err = stderr(&o);
    assert_refused(
        &o,
        &[
            "img.ron:2:",
            "params.source.images:",
            "broken.ras\": truncated",
        ],
    );
    // The refusal comes before any experiment runs (good's progress line comes after it).
    let refused = err.find("params.source.images").unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        !err[..refused].contains("good") && out.contains("good"),
        "stderr:\n{err}\nstdout:\n{out}"
    );
    assert!(no_outputs(&c.out(), "img"));
}

#[test]
fn image_survey_refusals_name_its_own_fields() {
    // image_survey reuses the pair checks of pairs_2d; its errors name its singular fields.
    let c = Case::new("survey");
    let cases = [
        ("offset: 0", "params.offset: offset d = 0"),
        (
            "source: (crop: 64), offset: 64",
            "params.offset: offset d = 64",
        ),
        ("k: 1", "params.k: K = 1"),
        ("theta_init_2d: 3.0", "params.theta_init_2d"),
        ("theta_init_1d: 0.5", "params.theta_init_1d"),
        ("theta_1d: Grid([1.0, 0.5])", "params.theta_1d[1]"),
        ("theta_2d: Fixed(4.0)", "params.theta_2d"),
        ("learning_2d: Robust(batch: 0)", "params.learning_2d.batch"),
        ("ks_tolerance: 0.0", "params.ks_tolerance"),
        ("mi_floor: -1.0", "params.mi_floor"),
    ];
    for (i, (param, needle)) in cases.iter().enumerate() {
        let name = format!("s{i}");
        let f = c.file(
            &format!("{name}.ron"),
            &format!("(kind: \"image_survey\", name: \"{name}\", seed: 1, params: ({param}))"),
        );
        let o = c.run(&[&f]);
        assert_refused(&o, &[needle, &f]);
        assert!(no_outputs(&c.out(), &name));
    }
}

#[test]
fn circuit_adaptation_refusals_name_their_fields() {
    let c = Case::new("adapt");
    let cases = [
        ("theta: Auto", "params.theta: Auto chooses"),
        (
            "sequence: [0]",
            "params.sequence: needs at least two phases",
        ),
        ("sequence: [0, 2]", "params.sequence[1]: index 2"),
        ("images: [DeadLeaves(-1.0)]", "params.images[0]"),
        (
            "images: [File(\"missing.png\")], sequence: [0, 0]",
            "params.images[0]",
        ),
        ("phase_iterations: 0", "params.phase_iterations"),
        ("eta_g: 0.0", "params.eta_g"),
    ];
    for (i, (param, needle)) in cases.iter().enumerate() {
        let name = format!("a{i}");
        let f = c.file(
            &format!("{name}.ron"),
            &format!(
                "(kind: \"circuit_adaptation\", name: \"{name}\", seed: 1, params: ({param}))"
            ),
        );
        let o = c.run(&[&f]);
        assert_refused(&o, &[needle, &f]);
        assert!(no_outputs(&c.out(), &name));
    }
}

#[test]
fn check_reports_every_file_and_writes_nothing() {
    let c = Case::new("check");
    let good = c.file("good.ron", GOOD);
    let bad = c.file(
        "bad.ron",
        "(kind: \"offline_learning\", name: \"bad\", seed: 1, params: (\n    eta: -1.0,\n))",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_whiten"))
        .current_dir(&c.dir)
        .args(["check", &good, &bad])
        .output()
        .unwrap();
    assert_refused(&o, &["bad.ron:2:", "params.eta"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("ok     good") && !out.contains("ok     bad"),
        "{out}"
    );
    // Only the two input files are in the folder: nothing was run or written.
    let entries = std::fs::read_dir(&c.dir).unwrap().count();
    assert_eq!(entries, 2);
    // All good: exit 0.
    let o = Command::new(env!("CARGO_BIN_EXE_whiten"))
        .current_dir(&c.dir)
        .args(["check", &good])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Oversized problems are refused before any work, naming the estimate and the limit: the
/// sizes a user tried (n = 20000 grew to 6.3 GB in 39 s, n = 100000 aborted on allocation).
#[test]
fn oversized_problems_are_refused_with_their_memory_estimate() {
    let c = Case::new("memory");
    let huge = c.file(
        "huge.ron",
        r#"(kind: "offline_learning", name: "huge", seed: 1, params: (n: 100000, k: 100000))"#,
    );
    let crop = c.file(
        "crop.ron",
        r#"(kind: "pairs_2d", name: "crop", seed: 1, params: (source: (generated: 1, crop: 200000)))"#,
    );
    let mid = c.file(
        "mid.ron",
        r#"(kind: "convergence_time", name: "mid", seed: 1, params: (n: 3000, k: 3000))"#,
    );
    let good = c.file("good.ron", GOOD);
    // Far beyond any machine: refused against the available memory, by `check` and `run`.
    let whiten = || Command::new(env!("CARGO_BIN_EXE_whiten"));
    for file in [&huge, &crop] {
        let o = whiten().args(["check", file]).output().unwrap();
        assert_refused(
            &o,
            &["estimated peak memory", "TiB", "exceeds", "available"],
        );
        let o = c.run(&[file, &good]);
        assert_refused(&o, &["estimated peak memory", "exceeds"]);
        assert_eq!(o.status.code(), Some(1));
        // the other experiment of the invocation still ran
        assert!(c.out().join("good/manifest.json").is_file());
    }
    assert!(no_outputs(&c.out(), "huge") && no_outputs(&c.out(), "crop"));
    // A limit of the user's: n = 3000 needs gigabytes, the default case does not.
    let o = whiten()
        .args(["check", &mid, &good, "--max-memory", "512M"])
        .output()
        .unwrap();
    assert_refused(
        &o,
        &[
            "mid.ron",
            "n = 3000, k = 3000",
            "limit 512.0 MiB (--max-memory)",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("ok     good"), "{out}");
    // More threads run more tasks at once: the estimate grows with them.
    let estimate = |threads: &str| -> String {
        let o = whiten()
            .args(["check", &mid, "--max-memory", "1T", "--threads", threads])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let (one, four) = (estimate("1"), estimate("4"));
    assert!(
        one.contains("estimated peak memory") && one != four,
        "{one}\n{four}"
    );
    // A malformed limit is a command-line error.
    let o = whiten()
        .args(["check", &good, "--max-memory", "lots"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
