//! `cargo xtask bench-python`: the cost of calling the models from Python (issue #12). Paper
//! 2's 1D circuit is fitted on 262,144 samples (the default generated image's band) by
//! `whiten.Circuit.fit(x, seed=s)` from the release wheel, and by the same Rust call
//! (`crates/whiten-experiments/examples/fit_1d_timing.rs`, release build) on the same `.npy`
//! file and seed. The sides run in turns for `--rounds` rounds, each fit in a fresh process,
//! timed around the fit alone (wall clock: the fit runs its theta candidates on rayon's
//! threads on both sides); the table gives the medians and their ratio, the target being at
//! most 1.2x. Both sides must learn the same `g` and `theta`: the same computation, so the
//! same numbers, or the comparison is void.
//!
//! The wheel is built by `maturin build --release` and installed with pip into
//! `<target>/py-bench-venv`, as a user would install it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench_flows::{median, run_json};
use crate::target_dir;

/// The Python side: fits once and prints the same JSON line as the Rust side.
const PY_FIT: &str = r#"
import json, sys, time
import numpy as np
import whiten
x = np.load(sys.argv[1])
start = time.perf_counter()
c = whiten.Circuit.fit(x, seed=int(sys.argv[2]))
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "g": c.g.tolist(), "theta": c.theta.tolist(),
                  "iterations": c.fit_info["iterations"], "samples": int(x.size)}))
"#;

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(&cargo)
        .current_dir(root)
        .args(args)
        .status()
        .context("cannot run cargo")?
        .success();
    if !ok {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

/// A venv with numpy, maturin and the release wheel installed; its python.
fn python_side(root: &Path, target: &Path) -> Result<PathBuf> {
    let py = match crate::test::python_env(target, "py-bench-venv", &["numpy", "maturin>=1.5,<2"])?
    {
        Ok(py) => py,
        Err(why) => bail!("no Python side: {why}"),
    };
    let pip = |args: &[&str]| -> Result<()> {
        let ok = Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(args)
            .status()
            .context("cannot run pip")?
            .success();
        if !ok {
            bail!("pip install {} failed", args.join(" "));
        }
        Ok(())
    };
    let wheels = target.join("bench-wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    eprintln!("xtask: maturin build --release (crates/whiten-py)");
    let bin = py.parent().unwrap_or(Path::new("."));
    let ok = Command::new(bin.join("maturin"))
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--quiet",
            "--locked",
            "--manifest-path",
            "crates/whiten-py/Cargo.toml",
            "--out",
        ])
        .arg(&wheels)
        .env("CARGO_TARGET_DIR", target)
        .stdout(Stdio::inherit())
        .status()
        .context("cannot run maturin")?
        .success();
    if !ok {
        bail!("maturin build --release failed");
    }
    let wheel = std::fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .with_context(|| format!("no wheel in {}", wheels.display()))?;
    pip(&["--force-reinstall", "--no-deps", &wheel.to_string_lossy()])?;
    Ok(py)
}

/// One side's fits: wall times, and the first fit's result to compare.
#[derive(Default)]
struct Side {
    wall: Vec<f64>,
    first: Option<Value>,
}

impl Side {
    fn add(&mut self, v: Value) -> Result<()> {
        self.wall.push(
            v["wall"]
                .as_f64()
                .with_context(|| format!("no wall in {v}"))?,
        );
        self.first.get_or_insert(v);
        Ok(())
    }
}

/// The largest relative difference between two JSON lists of numbers.
fn max_rel_diff(a: &Value, b: &Value) -> f64 {
    let nums = |v: &Value| -> Vec<f64> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .collect()
    };
    let (a, b) = (nums(a), nums(b));
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1e-300))
        .fold(0.0, f64::max)
}

pub(crate) fn bench_python(root: &Path, rounds: usize, seed: u64) -> Result<()> {
    let target = target_dir(root);
    eprintln!("xtask: building the Rust side (release)");
    cargo(
        root,
        &[
            "build",
            "--release",
            "--quiet",
            "--locked",
            "--package",
            "whiten-experiments",
            // Selecting whiten-py too gives the dependencies the wheel's features (see
            // crates/whiten-py/Cargo.toml), so that both sides run the same compiled code and
            // the wheel's build reuses these artifacts.
            "--package",
            "whiten-py",
            "--example",
            "fit_1d_timing",
        ],
    )?;
    let exe = target
        .join("release")
        .join("examples")
        .join(format!("fit_1d_timing{}", std::env::consts::EXE_SUFFIX));
    let py = python_side(root, &target)?;
    let dir = target.join("bench-python");
    std::fs::create_dir_all(&dir)?;
    let signal = dir.join("signal.npy");
    let ok = Command::new(&exe)
        .arg("write")
        .arg(&signal)
        .status()?
        .success();
    if !ok {
        bail!("cannot write the signal");
    }
    let script = dir.join("fit.py");
    std::fs::write(&script, PY_FIT)?;
    let seed_text = seed.to_string();
    let (mut rust, mut python) = (Side::default(), Side::default());
    for round in 0..rounds {
        eprintln!("xtask: round {}/{rounds}", round + 1);
        rust.add(run_json(
            Command::new(&exe).arg("fit").arg(&signal).arg(&seed_text),
        )?)?;
        python.add(run_json(
            Command::new(&py).arg(&script).arg(&signal).arg(&seed_text),
        )?)?;
    }
    let (r, p) = (
        rust.first.as_ref().context("no Rust run")?,
        python.first.as_ref().context("no Python run")?,
    );
    let diff = max_rel_diff(&r["g"], &p["g"]).max(max_rel_diff(&r["theta"], &p["theta"]));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "1D circuit fit on {} samples (robust schedule, theta Auto), seed {seed}, {rounds} rounds; load average {}",
        r["samples"],
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("| side | median wall | runs | iterations | g | theta |");
    println!("|---|---|---|---|---|---|");
    for (name, side, v) in [("Rust", &rust, r), ("Python", &python, p)] {
        println!(
            "| {name} | {:.3} s | {} | {} | {} | {} |",
            median(&side.wall),
            side.wall.len(),
            v["iterations"],
            v["g"],
            v["theta"]
        );
    }
    if diff > 1e-12 {
        bail!(
            "the two sides learned different circuits (largest relative difference {diff:e}): not the same computation"
        );
    }
    let ratio = median(&python.wall) / median(&rust.wall);
    println!(
        "Python / Rust: {ratio:.3}x (target at most 1.2x){}",
        if ratio <= 1.2 { "" } else { ": NOT MET" }
    );
    Ok(())
}
