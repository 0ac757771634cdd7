//! `cargo xtask bench-flows`: whiten against scipy on the gradient flows of paper 1 (issue #10),
//! in one run.
//!
//! For each `n` (k = n) both flows are integrated from `M_0 = 100 I` (direct) and
//! `W_0 = 10 [I | 0]` (interneurons), rtol 1e-8, atol 1e-10, until `||M - C^{1/2}||_op <= 1e-2`,
//! by whiten's DOP853 and Dopri5 (`crates/whiten-ode/benches/side_by_side/main.rs`, release
//! build) and, when `python3` (or `$WHITEN_PYTHON`) has scipy, by scipy's DOP853 and RK45
//! (`scipy_flows.py` beside it) on the same `C` (written once as text by whiten's side). The
//! sides run in turns (whiten, scipy, whiten, scipy, ...) for `--rounds` rounds, numpy and
//! faer on one thread, and every figure is the median over all runs of a case. Times are
//! thread CPU times (the machines are shared; wall times are printed beside them). The faer
//! floor per rhs is one `n x n` Cholesky inverse plus two products with preallocated memory.
//! A second table times one rhs alone on each side and divides its multiply-adds by its time:
//! at equal arithmetic rates, the solve's ratio cannot exceed the ratio of the two sides' flop
//! counts per rhs (its "ceiling", [`madds_per_rhs`]).
//! The last line is the smallest ratio to scipy over all rows.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::target_dir;

/// One integration case's measurements: wall times of all runs, CPU time per run of each
/// round.
#[derive(Debug, Default)]
struct Runs {
    wall: Vec<f64>,
    cpu: Vec<f64>,
    rhs: u64,
    t: f64,
}

impl Runs {
    fn add(&mut self, v: &Value) -> Result<()> {
        let list = |key: &str| -> Result<Vec<f64>> {
            v[key]
                .as_array()
                .with_context(|| format!("no {key} in {v}"))?
                .iter()
                .map(|x| x.as_f64().context("not a number"))
                .collect()
        };
        self.wall.extend(list("wall")?);
        self.cpu.push(
            v["cpu"]
                .as_f64()
                .with_context(|| format!("no cpu in {v}"))?,
        );
        self.rhs = v["rhs"].as_u64().unwrap_or(0);
        self.t = v["t"].as_f64().unwrap_or(f64::NAN);
        if v["event"].as_bool() == Some(false) {
            bail!("the error never dropped below 1e-2 (t = {})", self.t);
        }
        Ok(())
    }

    /// The wall times and CPU time of a timing-only line (`floor`, `rhs`), without the
    /// integration's fields.
    fn add_times(&mut self, v: &Value) {
        self.wall.extend(numbers(&v["wall"]));
        self.cpu.extend(v["cpu"].as_f64());
    }
}

fn numbers(v: &Value) -> impl Iterator<Item = f64> + '_ {
    v.as_array().into_iter().flatten().filter_map(Value::as_f64)
}

pub(crate) fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        l if l % 2 == 1 => v[l / 2],
        l => 0.5 * (v[l / 2 - 1] + v[l / 2]),
    }
}

/// The Python interpreter (`$WHITEN_PYTHON`, else `python3`) for which `script check`
/// succeeds, with what that printed (its package versions), or why there is none (`what`
/// names the packages it lacks, e.g. `numpy/scipy`).
pub(crate) fn python_with(
    script: &Path,
    what: &str,
) -> std::result::Result<(String, String), String> {
    let python = std::env::var("WHITEN_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(script)
        .arg("check")
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").to_owned();
        return Err(format!("{python} has no {what} ({last})"));
    }
    Ok((
        python,
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    ))
}

/// Builds `example` of `package` in release mode and returns its path (`folder` names it in
/// the error).
pub(crate) fn build_example(
    root: &Path,
    package: &str,
    example: &str,
    folder: &str,
) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: building whiten's side (release)");
    let status = Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--quiet",
            "--package",
            package,
            "--example",
            example,
        ])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building {folder} failed");
    }
    Ok(target_dir(root)
        .join("release")
        .join("examples")
        .join(format!("{example}{}", std::env::consts::EXE_SUFFIX)))
}

/// Limits numpy's BLAS and rayon to one thread in `cmd`.
pub(crate) fn one_thread(cmd: &mut Command) {
    for var in [
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "RAYON_NUM_THREADS",
    ] {
        cmd.env(var, "1");
    }
}

/// The 1, 5 and 15 minute load averages (empty where `/proc/loadavg` is missing).
pub(crate) fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a side's program and parses its JSON line.
pub(crate) fn run_json(cmd: &mut Command) -> Result<Value> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).with_context(|| format!("not JSON from {cmd:?}: {text}"))
}

/// Multiply-adds of one rhs at `k = n`, in units of `n^3` (leading order), whiten's and
/// scipy's. whiten (module `blocked` of whiten-ode): Cholesky 1/6, `Y = L^{-1} S` on a
/// triangular right-hand side 1/6, `Z = L^{-T} Y` 1/2, the lower half of `Z Z^T` 1/2, and for
/// the interneuron flow `W W^T` (lower half) 1/2 and `A W` 1. scipy (`scipy_flows.py`):
/// `cho_factor` 1/6, two `cho_solve` of `n` right-hand sides 2, and for the interneuron flow
/// `w @ w.T` (numpy calls a symmetric rank-k update for it) 1/2 and `A @ w` 1.
fn madds_per_rhs(flow: &str) -> (f64, f64) {
    let (whiten, scipy) = (1.0 / 6.0 + 1.0 / 6.0 + 0.5 + 0.5, 1.0 / 6.0 + 2.0);
    if flow == "interneuron" {
        (whiten + 1.5, scipy + 1.5)
    } else {
        (whiten, scipy)
    }
}

/// The table of one rhs evaluation alone: each side's time, its arithmetic rate, and the
/// ratio the flop counts alone would give at equal rates (the ceiling of the solve's ratio).
fn print_alone(alone: &[(usize, &str, Runs, Runs)]) {
    println!(
        "One rhs alone at the state 10 I + C/100 (thread CPU time, median): time, multiply-adds per rhs (n^3), arithmetic rate; ceiling = ratio of the flop counts, the solve's ratio at equal rates."
    );
    println!(
        "{:>4} {:<12} {:>12} {:>8} {:>8} {:>12} {:>8} {:>8} {:>7} {:>8}",
        "n",
        "flow",
        "whiten us",
        "n^3",
        "GFLOP/s",
        "scipy us",
        "n^3",
        "GFLOP/s",
        "ratio",
        "ceiling"
    );
    for (n, flow, w, s) in alone {
        let (mw, ms) = madds_per_rhs(flow);
        let n3 = (*n as f64).powi(3);
        let tw = median(&w.cpu);
        let rate = |madds: f64, t: f64| 2.0 * madds * n3 / t / 1e9;
        // scipy's time, rate and ratio, or dashes without scipy.
        let scipy = if s.cpu.is_empty() {
            ["-".to_owned(), "-".to_owned(), "-".to_owned()]
        } else {
            let ts = median(&s.cpu);
            [
                format!("{:.2}", ts * 1e6),
                format!("{:.1}", rate(ms, ts)),
                format!("{:.2}", ts / tw),
            ]
        };
        println!(
            "{:>4} {:<12} {:>12.2} {:>8.2} {:>8.1} {:>12} {:>8.2} {:>8} {:>7} {:>8.2}",
            n,
            flow,
            tw * 1e6,
            mw,
            rate(mw, tw),
            scipy[0],
            ms,
            scipy[1],
            scipy[2],
            ms / mw
        );
    }
}

/// The cases of one size and flow: (side, method) in the order they run in each round.
const CASES: [(&str, &str, &str); 4] = [
    ("whiten", "dop853", "DOP853"),
    ("scipy", "dop853", "DOP853"),
    ("whiten", "dopri5", "Dopri5"),
    ("scipy", "rk45", "RK45"),
];

pub(crate) fn bench_flows(root: &Path, sizes: &[usize], rounds: usize, seconds: f64) -> Result<()> {
    let exe = build_example(
        root,
        "whiten-ode",
        "side_by_side",
        "crates/whiten-ode/benches/side_by_side",
    )?;
    let script = root.join("crates/whiten-ode/benches/side_by_side/scipy_flows.py");
    let scipy = python_with(&script, "numpy/scipy");
    match &scipy {
        Ok((python, versions)) => println!("scipy side: {python} {versions}"),
        Err(why) => println!(
            "scipy is not available: {why}; printing whiten's rows only (set WHITEN_PYTHON to a python with scipy)"
        ),
    }
    if let Ok(v) = std::env::var("OPENBLAS_CORETYPE") {
        println!("note: OPENBLAS_CORETYPE={v} is set, which may slow numpy");
    }
    println!("load average at start: {}", load_average());
    let dir = std::env::temp_dir().join(format!("whiten-bench-flows-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let secs = seconds.to_string();

    // (n, flow, label, runs, floor)
    let mut rows: Vec<(usize, &str, String, Runs, f64)> = Vec::new();
    // (n, flow, whiten's one-rhs runs, scipy's)
    let mut alone: Vec<(usize, &str, Runs, Runs)> = Vec::new();
    for &n in sizes {
        let c_path: PathBuf = dir.join(format!("c{n}.txt"));
        let status = Command::new(&exe)
            .args(["covariance", &n.to_string()])
            .arg(&c_path)
            .status()?;
        if !status.success() {
            bail!("cannot write C for n = {n}");
        }
        let mut floor = Runs::default();
        for flow in ["direct", "interneuron"] {
            let mut runs: Vec<Runs> = (0..CASES.len()).map(|_| Runs::default()).collect();
            let (mut rhs_whiten, mut rhs_scipy) = (Runs::default(), Runs::default());
            for round in 0..rounds {
                eprintln!("xtask: n = {n}, {flow}, round {}/{rounds}", round + 1);
                let mut cmd = Command::new(&exe);
                cmd.arg("floor").arg(&c_path).arg(&secs);
                one_thread(&mut cmd);
                let v = run_json(&mut cmd)?;
                floor.add_times(&v);
                // One rhs alone on each side, at the same state.
                let mut cmd = Command::new(&exe);
                cmd.args(["rhs", flow]).arg(&c_path).arg(&secs);
                one_thread(&mut cmd);
                let v = run_json(&mut cmd)?;
                rhs_whiten.add_times(&v);
                if let Ok((python, _)) = &scipy {
                    let mut cmd = Command::new(python);
                    cmd.arg(&script).args(["rhs", flow]).arg(&c_path).arg(&secs);
                    one_thread(&mut cmd);
                    let v = run_json(&mut cmd)
                        .with_context(|| format!("n = {n}, {flow}, scipy rhs"))?;
                    rhs_scipy.add_times(&v);
                }
                for (i, &(side, method, _)) in CASES.iter().enumerate() {
                    let mut cmd = match (side, &scipy) {
                        ("whiten", _) => {
                            let mut c = Command::new(&exe);
                            c.arg("run");
                            c
                        }
                        (_, Ok((python, _))) => {
                            let mut c = Command::new(python);
                            c.arg(&script).arg("run");
                            c
                        }
                        _ => continue,
                    };
                    cmd.args([flow, method]).arg(&c_path).arg(&secs);
                    one_thread(&mut cmd);
                    let v = run_json(&mut cmd)
                        .with_context(|| format!("n = {n}, {flow}, {side} {method}"))?;
                    runs[i].add(&v)?;
                }
            }
            alone.push((n, flow, rhs_whiten, rhs_scipy));
            let floor_cpu = median(&floor.cpu);
            for (i, r) in runs.into_iter().enumerate() {
                if r.cpu.is_empty() {
                    continue;
                }
                let (side, _, label) = CASES[i];
                rows.push((n, flow, format!("{side} {label}"), r, floor_cpu));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let load = load_average();

    println!();
    println!(
        "Flows until ||M - C^1/2||_op <= 1e-2, rtol 1e-8, atol 1e-10, k = n, one thread; medians over {rounds} round(s) of alternating runs."
    );
    println!(
        "time = thread CPU time per integration, median over rounds (wall beside it, median over runs); per rhs = time / rhs; floor = faer Cholesky inverse + 2 products per rhs; ratio = scipy's time / whiten's (same method pair: DOP853-DOP853, Dopri5-RK45)."
    );
    println!();
    println!(
        "{:>4} {:<12} {:<14} {:>10} {:>10} {:>6} {:>11} {:>10} {:>7} {:>12} {:>7}",
        "n",
        "flow",
        "solver",
        "time ms",
        "wall ms",
        "rhs",
        "per rhs us",
        "floor us",
        "/floor",
        "event t",
        "ratio"
    );
    let med_cpu = |n: usize, flow: &str, label: &str| {
        rows.iter()
            .find(|r| r.0 == n && r.1 == flow && r.2 == label)
            .map(|r| median(&r.3.cpu))
    };
    let mut min_row: Option<(f64, String)> = None;
    for (n, flow, label, r, floor) in &rows {
        let cpu = median(&r.cpu);
        let per_rhs = cpu / r.rhs as f64;
        let ratio = if label.starts_with("whiten") {
            let peer = if label.ends_with("DOP853") {
                "scipy DOP853"
            } else {
                "scipy RK45"
            };
            med_cpu(*n, flow, peer).map(|s| s / cpu)
        } else {
            None
        };
        if let Some(x) = ratio
            && min_row.as_ref().is_none_or(|(m, _)| x < *m)
        {
            min_row = Some((x, format!("n = {n} {flow} {label}")));
        }
        println!(
            "{:>4} {:<12} {:<14} {:>10.3} {:>10.3} {:>6} {:>11.2} {:>10.2} {:>7.2} {:>12.6} {:>7}",
            n,
            flow,
            label,
            cpu * 1e3,
            median(&r.wall) * 1e3,
            r.rhs,
            per_rhs * 1e6,
            floor * 1e6,
            per_rhs / floor,
            r.t,
            ratio.map_or("-".into(), |x| format!("{x:.2}")),
        );
    }
    println!();
    print_alone(&alone);
    println!();
    // Done criteria of issue #10.
    let mut best_ok = true;
    let mut floor_ok = true;
    let mut min_best: Option<(f64, String)> = None;
    for &n in sizes {
        for flow in ["direct", "interneuron"] {
            let best = |side: &str| {
                rows.iter()
                    .filter(|r| r.0 == n && r.1 == flow && r.2.starts_with(side))
                    .map(|r| median(&r.3.cpu))
                    .fold(f64::INFINITY, f64::min)
            };
            let (w, s) = (best("whiten"), best("scipy"));
            if s.is_finite() {
                let x = s / w;
                best_ok &= x >= 1.5;
                if min_best.as_ref().is_none_or(|(m, _)| x < *m) {
                    min_best = Some((x, format!("n = {n} {flow}")));
                }
                println!(
                    "n = {n:>3} {flow:<12} best whiten {:>10.3} ms, best scipy {:>10.3} ms: {x:.2}x",
                    w * 1e3,
                    s * 1e3
                );
            }
            if n >= 50 {
                for r in rows
                    .iter()
                    .filter(|r| r.0 == n && r.1 == flow && r.2.starts_with("whiten"))
                {
                    floor_ok &= median(&r.3.cpu) / r.3.rhs as f64 <= 1.5 * r.4;
                }
            }
        }
    }
    println!("load average at end: {load}");
    println!(
        "whiten's per-rhs time within 1.5x of the faer floor at n >= 50: {}",
        if floor_ok { "yes" } else { "no" }
    );
    match (min_best, min_row) {
        (Some((b, bw)), Some((r, rw))) => {
            println!(
                "best whiten at least 1.5x faster than best scipy at every n: {}",
                if best_ok { "yes" } else { "no" }
            );
            println!(
                "smallest ratio to scipy over all rows: {r:.2} ({rw}); best against best: {b:.2} ({bw})"
            );
        }
        _ => println!("smallest ratio to scipy over all rows: none (scipy not available)"),
    }
    Ok(())
}
