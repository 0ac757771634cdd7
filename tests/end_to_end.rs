//! End-to-end tests of the `whiten` binary: list, describe, run; outputs on disk; byte-identical
//! outputs across repeated runs and thread counts; own data (.npy and .csv data matrices, a
//! JPEG photograph) in, learned parameters (.npy) out.

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
            if ext == "csv" || ext == "json" || ext == "ron" || ext == "npy" {
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

/// `n = 3` correlated samples from a fixed linear mix of deterministic pseudo-random values
/// (a small LCG and Box-Muller, so the test needs no RNG crate), row-major, with a mean.
fn data_matrix(rows: usize) -> Vec<f64> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mix = [[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [-0.3, 0.5, 1.5]];
    let mut out = Vec::with_capacity(rows * 3);
    for _ in 0..rows {
        let z: Vec<f64> = (0..3)
            .map(|_| (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos())
            .collect();
        for (i, m) in mix.iter().enumerate() {
            out.push(2.0 + i as f64 + m.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>());
        }
    }
    out
}

/// The centred covariance (divided by the number of samples) of row-major `x` with 3 columns.
fn covariance3(x: &[f64]) -> [[f64; 3]; 3] {
    let rows = x.len() / 3;
    let mean: Vec<f64> = (0..3)
        .map(|j| (0..rows).map(|i| x[3 * i + j]).sum::<f64>() / rows as f64)
        .collect();
    let mut c = [[0.0; 3]; 3];
    for i in 0..rows {
        for a in 0..3 {
            for b in 0..3 {
                c[a][b] += (x[3 * i + a] - mean[a]) * (x[3 * i + b] - mean[b]) / rows as f64;
            }
        }
    }
    c
}

fn read_npy(path: &Path) -> whiten_experiments::npy::Array {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    whiten_experiments::npy::read(&bytes, &path.display().to_string()).unwrap()
}

/// `||A - B||_F / ||B||_F` for 3 x 3 matrices, `A` row-major.
fn rel_diff(a: &[f64], b: &[[f64; 3]; 3]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..3 {
        for j in 0..3 {
            num += (a[3 * i + j] - b[i][j]).powi(2);
            den += b[i][j].powi(2);
        }
    }
    (num / den).sqrt()
}

/// Row-major 3 x 3 product `A B` (or `A B^T` with `bt`), `A` 3 x k, `B` 3 x k.
fn product(a: &[f64], b: &[f64], k: usize, bt: bool) -> Vec<f64> {
    let mut out = vec![0.0; 9];
    for i in 0..3 {
        for j in 0..3 {
            out[3 * i + j] = (0..k)
                .map(|l| a[k * i + l] * if bt { b[k * j + l] } else { b[3 * l + j] })
                .sum();
        }
    }
    out
}

/// Paper 1 from the user's own data matrix, as .npy and as .csv: the covariance the run used
/// (`C.npy`) is the data's (computed here independently), both files give the same run, and
/// the learned synapses whiten it: `M^2 = C` (direct) and `(W W^T)^2 = C` (interneurons).
#[test]
fn paper_1_runs_from_npy_and_csv_data_matrices() {
    let dir = scratch("own-data");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let x = data_matrix(2000);
    let c = covariance3(&x);
    std::fs::write(
        dir.join("data/x.npy"),
        whiten_experiments::npy::write(&[2000, 3], &x),
    )
    .unwrap();
    let mut csv = String::from("a,b,c\n");
    for row in x.chunks(3) {
        csv.push_str(&format!("{},{},{}\n", row[0], row[1], row[2]));
    }
    std::fs::write(dir.join("data/x.csv"), csv).unwrap();
    // Relative to the RON file's folder, not to the working directory of the test.
    let mut files = Vec::new();
    for (name, data) in [("from_npy", "data/x.npy"), ("from_csv", "data/x.csv")] {
        let f = dir.join(format!("{name}.ron"));
        std::fs::write(
            &f,
            format!(
                "(kind: \"offline_learning\", name: \"{name}\", seed: 1, params: (n: 3, k: 4, \
                 data: Some(\"{data}\"), eta: 0.1, threshold: 1e-3, scales: [1.0, 10.0], \
                 inits: [Commuting, Generic]))"
            ),
        )
        .unwrap();
        files.push(f.display().to_string());
    }
    let online = dir.join("online.ron");
    std::fs::write(
        &online,
        "(kind: \"online_learning\", name: \"online\", seed: 1, params: (n: 3, k: 3, \
         data: Some(\"data/x.npy\"), eta: 0.01, scales: [1.0], inits: [Commuting], \
         samples: 4000, window: 200))",
    )
    .unwrap();
    files.push(online.display().to_string());
    let out_dir = dir.join("out");
    let mut args = vec!["run", "--out", out_dir.to_str().unwrap()];
    args.extend(files.iter().map(String::as_str));
    let o = whiten(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    for name in ["from_npy", "from_csv", "online"] {
        let used = read_npy(&out_dir.join(name).join("C.npy"));
        assert_eq!(used.shape, vec![3, 3]);
        assert!(rel_diff(&used.data, &c) < 1e-12, "{name}: C differs");
    }
    // The CSV holds the shortest round-trip text of every value: the same run exactly.
    for f in ["M_direct.npy", "W_interneuron.npy", "iterations.csv"] {
        assert_eq!(
            std::fs::read(out_dir.join("from_npy").join(f)).unwrap(),
            std::fs::read(out_dir.join("from_csv").join(f)).unwrap(),
            "{f}"
        );
    }
    let m = read_npy(&out_dir.join("from_npy/M_direct.npy"));
    let w = read_npy(&out_dir.join("from_npy/W_interneuron.npy"));
    assert_eq!(m.shape, vec![4, 3, 3], "runs x n x n");
    assert_eq!(w.shape, vec![4, 3, 4], "runs x n x k");
    for run in 0..4 {
        let mr = &m.data[9 * run..9 * run + 9];
        assert!(
            rel_diff(&product(mr, mr, 3, false), &c) < 5e-3,
            "run {run}: M^2 != C"
        );
        let wr = &w.data[12 * run..12 * run + 12];
        let ww = product(wr, wr, 4, true);
        assert!(
            rel_diff(&product(&ww, &ww, 3, false), &c) < 5e-3,
            "run {run}: (WW^T)^2 != C"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Paper 2 from a JPEG photograph: the run reads it (named by its stem), and the learned
/// parameters saved as .npy agree with the table at full precision.
#[test]
fn paper_2_runs_from_a_jpeg() {
    let dir = scratch("jpeg");
    std::fs::create_dir_all(&dir).unwrap();
    // Occluding discs of random grey levels: edges that make the band heavy-tailed.
    let mut img = image::RgbImage::from_pixel(96, 96, image::Rgb([120, 120, 120]));
    let mut state: u32 = 7;
    let mut next = |m: u32| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (state >> 8) % m
    };
    for _ in 0..60 {
        let (cx, cy, r) = (next(96) as i64, next(96) as i64, 3 + next(14) as i64);
        let colour = image::Rgb([next(256) as u8, next(256) as u8, next(256) as u8]);
        for y in 0..96i64 {
            for x in 0..96i64 {
                if (x - cx).pow(2) + (y - cy).pow(2) <= r * r {
                    img.put_pixel(x as u32, y as u32, colour);
                }
            }
        }
    }
    image::DynamicImage::ImageRgb8(img)
        .save_with_format(dir.join("photo.jpg"), image::ImageFormat::Jpeg)
        .unwrap();
    let f = dir.join("jpeg.ron");
    std::fs::write(
        &f,
        "(kind: \"gaussianize_1d\", name: \"jpeg\", seed: 2, params: (source: (images: \
         \"photo.jpg\", crop: 64), learning: Reference(iterations: 2000), theta: Learned))",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let o = whiten(&[
        "run",
        f.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let exp = out_dir.join("jpeg");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(exp.join("summary.json")).unwrap()).unwrap();
    let text = summary.to_string();
    assert!(
        text.contains("\"photo\""),
        "the image is named by its stem: {text}"
    );
    let g = read_npy(&exp.join("g_photo.npy"));
    let theta = read_npy(&exp.join("theta_photo.npy"));
    let w = read_npy(&exp.join("W_photo.npy"));
    assert_eq!((g.shape.len(), w.shape[0]), (1, 1));
    assert!(g.data[0] > 0.0 && (1.0..=3.0).contains(&theta.data[0]));
    // The table's g_0 and theta_0 columns hold the same numbers, at full precision.
    let csv = std::fs::read_to_string(exp.join("gaussianize_1d.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let cell = |name: &str| -> f64 {
        let j = header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name}"));
        row[j].parse().unwrap()
    };
    assert_eq!(cell("g_0"), g.data[0]);
    assert_eq!(cell("theta_0"), theta.data[0]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Deterministic uniforms in (0, 1) (a 64-bit LCG, so the tests need no RNG crate).
fn uniforms(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

fn mean_of(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Excess kurtosis `m4 / m2^2 - 3` (population moments).
fn kurtosis_of(x: &[f64]) -> f64 {
    let m = mean_of(x);
    let m2 = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64;
    let m4 = x.iter().map(|v| (v - m).powi(4)).sum::<f64>() / x.len() as f64;
    m4 / (m2 * m2) - 3.0
}

/// Standard normal CDF through `erfc` (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
fn phi(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if z >= 0.0 {
        1.0 - erfc / 2.0
    } else {
        erfc / 2.0
    }
}

/// Kolmogorov-Smirnov distance of `(x - mean) / sd` to N(0, 1).
fn ks_of(x: &[f64]) -> f64 {
    let m = mean_of(x);
    let sd = (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    let mut z: Vec<f64> = x.iter().map(|v| (v - m) / sd).collect();
    z.sort_by(f64::total_cmp);
    let n = z.len() as f64;
    z.iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = phi(v);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// Paper 2's 1D circuit on the user's own signal, a `.npy` vector of Laplacian samples
/// (excess kurtosis 3) with a mean and a scale: the saved responses, one per sample in the
/// file's order, are near Gaussian (kurtosis and KS distance computed here), a monotone
/// function of the samples, and the summary gives the mean and sd removed before fitting.
#[test]
fn paper_2_gaussianises_a_npy_signal() {
    let dir = scratch("signal-1d");
    std::fs::create_dir_all(&dir).unwrap();
    let mut u = uniforms(11);
    let x: Vec<f64> = (0..20_000)
        .map(|_| {
            // inverse CDF of the Laplace distribution, location 5, scale 3
            let v = u() - 0.5;
            5.0 - 3.0 * v.signum() * (1.0 - 2.0 * v.abs()).ln()
        })
        .collect();
    let k_before = kurtosis_of(&x);
    assert!(
        (k_before - 3.0).abs() < 0.5,
        "Laplacian samples: {k_before}"
    );
    std::fs::write(
        dir.join("lap.npy"),
        whiten_experiments::npy::write(&[x.len()], &x),
    )
    .unwrap();
    let f = dir.join("signal.ron");
    std::fs::write(
        &f,
        "(kind: \"gaussianize_1d\", name: \"signal\", seed: 3, params: (source: (signal: \
         \"lap.npy\")))",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let o = whiten(&[
        "run",
        f.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let exp = out_dir.join("signal");

    let r = read_npy(&exp.join("responses_lap.npy"));
    assert_eq!(r.shape, vec![x.len()]);
    let (k_after, ks_before, ks_after) = (kurtosis_of(&r.data), ks_of(&x), ks_of(&r.data));
    assert!(
        k_after.abs() < 0.3 && ks_after < ks_before / 3.0,
        "kurtosis {k_before} -> {k_after}, KS {ks_before} -> {ks_after}"
    );
    // The circuit's transform is increasing: sorted by sample, the responses are sorted too.
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    assert!(
        order.windows(2).all(|w| r.data[w[0]] <= r.data[w[1]]),
        "responses out of the samples' order"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(exp.join("summary.json")).unwrap()).unwrap();
    let entry = &summary["signals"]["lap"];
    let sd = (x.iter().map(|v| (v - mean_of(&x)).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    let close = |a: &serde_json::Value, b: f64| (a.as_f64().unwrap() - b).abs() <= 1e-5 * b.abs();
    assert!(
        close(&entry["signal_mean"], mean_of(&x)) && close(&entry["signal_sd"], sd),
        "{entry}"
    );
    assert_eq!(entry["samples"], x.len());
    assert!(summary.get("images").is_none(), "{summary}");
    assert!(exp.join("g_lap.npy").is_file() && exp.join("theta_lap.npy").is_file());
    assert!(exp.join("gaussianize_1d.svg").is_file() || exp.join("gaussianize_1d.png").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Paper 2's 2D circuit on the user's own pairs, an N x 2 `.npy` array of correlated,
/// dependent pairs (a Gaussian scale mixture): reported under `pairs`, no offsets; the saved
/// responses (N x 2, in the file's order) are nearly uncorrelated (computed here) where the
/// pairs' correlation is 0.6, and their MI is below the raw pairs'.
#[test]
fn paper_2_pairs_from_a_npy_file() {
    let dir = scratch("signal-pairs");
    std::fs::create_dir_all(&dir).unwrap();
    let mut u = uniforms(5);
    let mut normal = || (-2.0 * u().ln()).sqrt() * (std::f64::consts::TAU * u()).cos();
    let n = 5_000;
    let mut pairs = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let scale = (0.5 * normal()).exp();
        let (a, b) = (normal(), normal());
        pairs.extend([1.0 + scale * a, -2.0 + 4.0 * scale * (0.6 * a + 0.8 * b)]);
    }
    std::fs::write(
        dir.join("pairs.npy"),
        whiten_experiments::npy::write(&[n, 2], &pairs),
    )
    .unwrap();
    let f = dir.join("pairs.ron");
    std::fs::write(
        &f,
        "(kind: \"pairs_2d\", name: \"pairs\", seed: 4, params: (source: (signal: \
         \"pairs.npy\"), ks: [2], theta: Learned))",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let o = whiten(&[
        "run",
        f.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let exp = out_dir.join("pairs");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(exp.join("summary.json")).unwrap()).unwrap();
    let mi = &summary["mutual_information"]["pairs"];
    let (raw, circuit) = (
        mi["raw"]["every_10th"].as_f64().unwrap(),
        mi["circuit_k2"]["every_10th"].as_f64().unwrap(),
    );
    assert!(circuit < raw, "MI: raw {raw}, circuit {circuit}");
    assert_eq!(summary["signal"], "pairs");
    assert_eq!(summary["pairs"], n);
    let r = read_npy(&exp.join("responses_k2.npy"));
    assert_eq!(r.shape, vec![n, 2]);
    let corr = |p: &[f64]| {
        let (a, b): (Vec<f64>, Vec<f64>) = p.chunks_exact(2).map(|q| (q[0], q[1])).unzip();
        let (ma, mb) = (mean_of(&a), mean_of(&b));
        let cov = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - ma) * (y - mb))
            .sum::<f64>();
        let va = a.iter().map(|x| (x - ma).powi(2)).sum::<f64>();
        let vb = b.iter().map(|y| (y - mb).powi(2)).sum::<f64>();
        cov / (va * vb).sqrt()
    };
    let (before, after) = (corr(&pairs), corr(&r.data));
    assert!(
        (before - 0.6).abs() < 0.05 && after.abs() < 0.15,
        "correlation {before} -> {after}"
    );
    assert!(exp.join("W_k2.npy").is_file());
    // The table's offset column is empty: a file's pairs have none.
    let csv = std::fs::read_to_string(exp.join("mutual_information.csv")).unwrap();
    assert!(csv.lines().skip(1).all(|l| l.starts_with(',')), "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `circuit_adaptation` switching between two of the user's signal files, a one-column CSV of
/// Laplacian samples and a `.npy` vector of Gaussian ones (Box-Muller): the generalised
/// Gaussian shapes it reports are the two distributions' (beta 1 and 2), the phases follow
/// the sequence by file name, and a signal with too few samples is refused at its place.
#[test]
fn circuit_adaptation_switches_between_signal_files() {
    let dir = scratch("adapt-signals");
    std::fs::create_dir_all(&dir).unwrap();
    let mut u = uniforms(5);
    let lap: Vec<f64> = (0..20_000)
        .map(|_| {
            let v = u() - 0.5;
            -2.0 * v.signum() * (1.0 - 2.0 * v.abs()).ln()
        })
        .collect();
    let gauss: Vec<f64> = (0..20_000)
        .map(|_| {
            let (a, b) = (u().max(1e-300), u());
            10.0 + 4.0 * (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
        })
        .collect();
    let csv: String = std::iter::once("value".to_string())
        .chain(lap.iter().map(|v| format!("{v:e}")))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("lap.csv"), csv).unwrap();
    std::fs::write(
        dir.join("gauss.npy"),
        whiten_experiments::npy::write(&[gauss.len()], &gauss),
    )
    .unwrap();
    std::fs::write(dir.join("short.csv"), "1\n2\n3\n").unwrap();
    let f = dir.join("adapt.ron");
    std::fs::write(
        &f,
        "(kind: \"circuit_adaptation\", name: \"adapt\", seed: 2, params: (images: \
         [Signal(\"lap.csv\"), Signal(\"gauss.npy\")], sequence: [0, 1, 0], phase_iterations: \
         400, probe_every: 200, probe_samples: 2000))",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let o = whiten(&[
        "run",
        f.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("adapt/summary.json")).unwrap())
            .unwrap();
    let images = summary["images"].as_array().unwrap();
    let beta = |i: usize| images[i]["beta"].as_f64().unwrap();
    assert_eq!(images[0]["name"], "lap");
    assert_eq!(images[1]["name"], "gauss");
    assert!(
        (beta(0) - 1.0).abs() < 0.1 && (beta(1) - 2.0).abs() < 0.2,
        "GG shapes {} and {}",
        beta(0),
        beta(1)
    );
    let phases = summary["phases"].as_array().unwrap();
    let names: Vec<&str> = phases
        .iter()
        .map(|p| p["image"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lap", "gauss", "lap"], "{summary}");

    std::fs::write(
        &f,
        "(kind: \"circuit_adaptation\", name: \"adapt\", seed: 2, params: (images: \
         [Signal(\"short.csv\"), DeadLeaves(0.1)], crop: 8, sequence: [0, 1]))",
    )
    .unwrap();
    let o = whiten(&["check", f.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && err.contains("params.images[0]")
            && err.contains("short.csv")
            && err.contains("need at least"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
