//! `cargo xtask bench-gain`: the gain-modulation models' learning steps (issue #15, item 5)
//! against a numpy rewrite of the authors' steps, on the same work, in one run.
//!
//! whiten's side is `crates/whiten-core/benches/gain_side_by_side/main.rs` (release build);
//! it writes the cases (frame or initial synapses, covariances, gains, rates, steps, batch) as
//! JSON, and both it and `authors_gain.py` beside it run every case from the same file. The
//! cases are the spec's speed line: paper A online (N = 2, K = 3, batch 1), A offline at Fig 4's
//! size (N = 6, K = 21), A offline with the conv1d frame (N = 10, K = 19), paper B online
//! (N = K = 2, batch 1), B offline joint at the image-patch size (N = K = 25) and B's appendix
//! Algorithm 3 (separate non-negative synapses, N = K = 2, batch 1). Sides run in turns for
//! `--rounds` rounds, each on one thread; figures are medians of steps per second of thread CPU
//! time (whiten's process runs each case `WHITEN_REPS` times, numpy's once). The offline cases
//! are deterministic, so both sides must end in the same state: the command fails if their
//! gains differ by more than 1e-8 (relative).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench_flows::{build_example, load_average, median, one_thread, python_with, run_json};

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect()
}

/// Largest difference between the two sides' final gains, relative to the largest gain.
fn gain_difference(a: &Value, b: &Value) -> f64 {
    let (ga, gb) = (floats(&a["g"]), floats(&b["g"]));
    if ga.len() != gb.len() {
        return f64::INFINITY;
    }
    let scale = ga.iter().fold(1e-300_f64, |m, v| m.max(v.abs()));
    ga.iter()
        .zip(&gb)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// Runs of a case per whiten process: one run of the smallest cases takes about 20 ms, short
/// enough for process start-up (page faults, a cold cache, the clock ramping up) to show in
/// one run's rate; ten runs amortise it. numpy's runs take seconds each and run once.
const WHITEN_REPS: usize = 10;

pub(crate) fn bench_gain(root: &Path, rounds: usize) -> Result<()> {
    let exe = build_example(
        root,
        "whiten-core",
        "gain_side_by_side",
        "crates/whiten-core/benches/gain_side_by_side",
    )?;
    let script = root.join("crates/whiten-core/benches/gain_side_by_side/authors_gain.py");
    let numpy = python_with(&script, "numpy");
    match &numpy {
        Ok((python, version)) => println!("numpy side: {python} {version}"),
        Err(why) => println!(
            "numpy is not available: {why}; printing whiten's rows only (set WHITEN_PYTHON to a python with numpy)"
        ),
    }
    println!("load average at start: {}", load_average());
    let dir = std::env::temp_dir().join(format!("whiten-bench-gain-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out = Command::new(&exe)
        .arg("cases")
        .arg(&dir)
        .output()
        .context("cannot write the cases")?;
    if !out.status.success() {
        bail!(
            "cannot write the cases: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let files: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();

    println!();
    println!(
        "Learning steps per second (thread CPU time, one thread, median over {rounds} round(s) of alternating runs); numpy = the authors' steps rewritten (their explicit inverse, no per-step bookkeeping); authors = the spec's measurement of their code."
    );
    println!();
    println!(
        "{:<36} {:>8} {:>13} {:>13} {:>10} {:>8} {:>11}",
        "case", "steps", "whiten /s", "numpy /s", "authors /s", "ratio", "same state"
    );
    let mut smallest: Option<(f64, String)> = None;
    for file in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file)?)?;
        let name = case["name"].as_str().unwrap_or("?").to_owned();
        let deterministic = case["model"]
            .as_str()
            .is_some_and(|m| m.ends_with("offline"));
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let mut agree: Option<f64> = None;
        for round in 0..rounds {
            eprintln!("xtask: {name}, round {}/{rounds}", round + 1);
            let mut cmd = Command::new(&exe);
            cmd.arg("run").arg(file).arg(WHITEN_REPS.to_string());
            one_thread(&mut cmd);
            let a = run_json(&mut cmd).with_context(|| format!("whiten, {name}"))?;
            ours.push(a["steps_per_s_cpu"].as_f64().unwrap_or(f64::NAN));
            if let Ok((python, _)) = &numpy {
                let mut cmd = Command::new(python);
                cmd.arg(&script).arg("run").arg(file).arg("1");
                one_thread(&mut cmd);
                let b = run_json(&mut cmd).with_context(|| format!("numpy, {name}"))?;
                theirs.push(b["steps_per_s_cpu"].as_f64().unwrap_or(f64::NAN));
                if deterministic {
                    let d = gain_difference(&a, &b);
                    if d > 1e-8 {
                        bail!(
                            "{name}: the two sides end with different gains (relative difference {d:.2e})"
                        );
                    }
                    agree = Some(agree.map_or(d, |m: f64| m.max(d)));
                }
            }
        }
        let (w, p) = (median(&ours), median(&theirs));
        let ratio = w / p;
        if ratio.is_finite() && smallest.as_ref().is_none_or(|(m, _)| ratio < *m) {
            smallest = Some((ratio, name.clone()));
        }
        let same = match agree {
            Some(d) => format!("{d:.0e}"),
            None if deterministic => "-".into(),
            None => "(random)".into(),
        };
        println!(
            "{:<36} {:>8} {:>13.0} {:>13.0} {:>10.0} {:>8.1} {:>11}",
            name,
            case["steps"].as_u64().unwrap_or(0),
            w,
            p,
            case["authors"].as_f64().unwrap_or(f64::NAN),
            ratio,
            same
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("load average at end: {}", load_average());
    match smallest {
        Some((r, name)) => println!("smallest ratio whiten / numpy: {r:.1}x ({name})"),
        None => println!("smallest ratio whiten / numpy: n/a (no numpy side)"),
    }
    Ok(())
}
