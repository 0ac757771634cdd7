//! `cargo xtask`: project automation for the whiten workspace.
//!
//! ```text
//! cargo xtask test [--python-only] [-- PYTEST_ARGS...]
//! cargo xtask reproduce [NAME...] [--out DIR] [--check] [--bless] [--threads N] [--force]
//!                        [--photographs]
//! cargo xtask bench-flows [--sizes 10,50,200,500] [--rounds 3] [--seconds 0.5]
//! cargo xtask bench-gain [--rounds 3]
//! cargo xtask bench-python [--rounds 5] [--seed 1]
//! ```
//!
//! `bench-flows` times whiten against scipy on the gradient flows of paper 1 in one run (see
//! `bench_flows.rs`); `bench-gain` times the gain-modulation models' learning steps against a
//! numpy rewrite of the authors' steps (see `bench_gain.rs`); `bench-python` times a paper-2 fit
//! called from Python (release wheel) against the same fit in Rust (see `bench_python.rs`). None
//! is part of CI.
//!
//! `test` runs every test of the workspace: `cargo test --workspace --locked`, then the Python
//! package's pytest tests in a venv under the target folder (see [`test`]).
//!
//! `reproduce` builds the `whiten` binary in release mode, runs every experiment file in
//! `experiments/` (or those whose file stem is named), writes `results/<name>/` and
//! `results/REPORT.md` (each paper claim, the measured number, pass or fail, the figure).
//! The command fails (non-zero exit, after writing REPORT.md) when an experiment fails, when a
//! claim fails that `experiments/snapshots/known_failures.ron` does not list with its reason, when a
//! listed claim passes (the list must stay true), or, with `--check`, when a summary differs
//! from its snapshot. Informative claims (comparisons with published numbers or the authors'
//! schedule) are reported as agreeing or differing and never fail it.
//! `--check` compares each `summary.json` with its committed snapshot in
//! `experiments/snapshots/` and fails with the command that updates them (`--bless`).
//! `--bless` also copies the figure of every paper claim of the default experiments into
//! `docs/figures/`; `--check` requires each of them there and shown in README.md.
//! Experiments whose folder is already up to date are skipped by `whiten run` (REPORT.md is
//! still written from every summary); `--force` re-runs them. `--photographs` also runs
//! `experiments/photographs/` (paper 2 on the photographs of `../shared/data/images`, which a
//! plain clone does not have).

// A command-line program: printing progress and results is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench_flows;
mod bench_gain;
mod bench_python;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde::Deserialize;
use serde_json::Value;

mod test;

#[derive(Parser)]
#[command(name = "xtask", about = "whiten project automation")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run every test: `cargo test --workspace --locked`, then the Python package's tests.
    Test {
        /// Only the Python tests (skip `cargo test`).
        #[arg(long)]
        python_only: bool,
        /// Arguments passed on to pytest (after `--`).
        #[arg(last = true)]
        pytest_args: Vec<String>,
    },
    /// Run the experiments of both papers and write results/ with REPORT.md.
    Reproduce {
        /// Experiment file stems to run (default: every file in experiments/).
        names: Vec<String>,
        /// Output folder.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Compare every summary with its snapshot in experiments/snapshots/.
        #[arg(long, conflicts_with = "bless")]
        check: bool,
        /// Write the summaries as the new snapshots (re-runs every experiment, as `--force`).
        #[arg(long)]
        bless: bool,
        /// Worker threads for the runs (results do not depend on it).
        #[arg(long)]
        threads: Option<usize>,
        /// Cargo profile to build the binary with.
        #[arg(long, default_value = "release")]
        profile: String,
        /// Use this `whiten` binary instead of building one (CI reuses the binary of its
        /// test build: `--binary target/debug/whiten`).
        #[arg(long, conflicts_with = "profile")]
        binary: Option<PathBuf>,
        /// Re-run experiments whose output folder is already up to date.
        #[arg(long)]
        force: bool,
        /// Also run experiments/photographs/ (needs ../shared/data/images beside the
        /// checkout).
        #[arg(long)]
        photographs: bool,
    },
    /// Time whiten's flows against scipy's solve_ivp (issue #10) and print the table.
    BenchFlows {
        /// Sizes n (k = n).
        #[arg(long, value_delimiter = ',', default_values_t = [10, 50, 200, 500])]
        sizes: Vec<usize>,
        /// Rounds of alternating whiten and scipy runs.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Seconds of repeated integrations per program run (at least two integrations).
        #[arg(long, default_value_t = 0.5)]
        seconds: f64,
    },
    /// The gain-modulation models' learning steps (paper 3) against a numpy rewrite of the
    /// authors' steps, on the spec's sizes: steps per second and their ratio.
    BenchGain {
        /// Rounds of alternating whiten and numpy runs.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Paper 2's 1D circuit fitted from Python (release wheel) against the same fit in Rust,
    /// on 262,144 samples: median times and their ratio.
    BenchPython {
        /// Rounds of alternating Rust and Python fits.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Seed of the fits.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The checkout this command runs in: the nearest folder at or above the current one whose
/// `Cargo.toml` declares the workspace and which has `experiments/`. Found at run time, never
/// from the compile-time manifest path: with a `CARGO_TARGET_DIR` shared between clones, one
/// compiled xtask serves them all, and must work on the clone it is invoked in.
fn root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    find_workspace(&cwd).unwrap_or(cwd)
}

fn find_workspace(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        (manifest.contains("[workspace]") && dir.join("experiments").is_dir())
            .then(|| dir.to_path_buf())
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Task::BenchFlows {
            sizes,
            rounds,
            seconds,
        } => bench_flows::bench_flows(&root(), &sizes, rounds.max(1), seconds),
        Task::BenchGain { rounds } => bench_gain::bench_gain(&root(), rounds.max(1)),
        Task::BenchPython { rounds, seed } => {
            bench_python::bench_python(&root(), rounds.max(1), seed)
        }
        Task::Test {
            python_only,
            pytest_args,
        } => {
            let root = root();
            test::run(&root, &target_dir(&root), python_only, &pytest_args)
        }
        Task::Reproduce {
            names,
            out,
            check,
            bless,
            threads,
            profile,
            binary,
            force,
            photographs,
        } => {
            let root = root();
            let mut files = experiment_files(&root.join("experiments"), &names)?;
            // The authors' settings on the generated default run with everything else.
            if names.is_empty() {
                files.extend(experiment_files(
                    &root.join("experiments").join("authors"),
                    &[],
                )?);
            }
            if photographs {
                let images = root.join("../shared/data/images");
                if !images.is_dir() {
                    bail!(
                        "--photographs needs the shared photographs at {} (a `shared` folder beside the checkout)",
                        images.display()
                    );
                }
                files.extend(experiment_files(
                    &root.join("experiments").join("photographs"),
                    &[],
                )?);
            }
            reproduce(
                &root, &files, &out, check, bless, threads, &profile, binary, force,
            )
        }
    }
}

fn reproduce(
    root: &Path,
    files: &[PathBuf],
    out: &Path,
    check: bool,
    bless: bool,
    threads: Option<usize>,
    profile: &str,
    binary: Option<PathBuf>,
    force: bool,
) -> Result<()> {
    let exe = match binary {
        Some(b) => {
            let b = if b.is_absolute() {
                b
            } else {
                std::env::current_dir()?.join(b)
            };
            if !b.is_file() {
                bail!("--binary {}: no such file", b.display());
            }
            b
        }
        None => build(root, profile)?,
    };
    let out = if out.is_absolute() {
        out.to_path_buf()
    } else {
        std::env::current_dir()?.join(out)
    };
    eprintln!(
        "xtask: running {} experiment file(s) into {}",
        files.len(),
        out.display()
    );
    let start = std::time::Instant::now();
    let mut cmd = Command::new(&exe);
    cmd.current_dir(root)
        .arg("run")
        .args(files)
        .arg("--out")
        .arg(&out);
    if let Some(t) = threads {
        cmd.arg("--threads").arg(t.to_string());
    }
    // Snapshots are blessed from fresh runs: an up-to-date folder may predate a code change.
    if force || bless {
        cmd.arg("--force");
    }
    let run_ok = cmd
        .status()
        .with_context(|| format!("cannot run {}", exe.display()))?
        .success();
    eprintln!(
        "xtask: experiments took {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let mut experiments = Vec::new();
    for f in files {
        let name = experiment_name(f)?;
        let summary = out.join(&name).join("summary.json");
        let value = fs::read_to_string(&summary)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok());
        experiments.push((name, f.clone(), value));
    }
    let known = known_failures(root)?;
    let verdict = Verdict::of(&experiments, &known);
    let report = render_report(&experiments, &out, &known);
    let report_path = out.join("REPORT.md");
    write_atomic(&report_path, &report)?;
    println!(
        "xtask: wrote {} ({} claims pass, {} fail ({} of them known); comparisons with the paper: {} agree, {} differ)",
        report_path.display(),
        verdict.pass,
        verdict.failed.len() + verdict.known_failed.len(),
        verdict.known_failed.len(),
        verdict.agree,
        verdict.differ,
    );
    for (exp, id) in &verdict.known_failed {
        println!("xtask: known failure {exp}: {id} (experiments/snapshots/known_failures.ron)");
    }
    // Problems that make the command fail, reported together at the end.
    let mut problems = Vec::new();
    if !verdict.failed.is_empty() {
        problems.push(format!(
            "{} claim(s) failed: {} (see REPORT.md)",
            verdict.failed.len(),
            verdict
                .failed
                .iter()
                .map(|(e, c)| format!("{e}: {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !verdict.known_passing.is_empty() {
        problems.push(format!(
            "listed as known failures but passing now, remove them from experiments/snapshots/known_failures.ron: {}",
            verdict
                .known_passing
                .iter()
                .map(|(e, c)| format!("{e}: {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let snapshots = root.join("experiments").join("snapshots");
    if bless {
        fs::create_dir_all(&snapshots)?;
        for (name, _, value) in &experiments {
            if let Some(v) = value {
                write_atomic(
                    &snapshots.join(format!("{name}.json")),
                    &format!("{}\n", serde_json::to_string_pretty(v)?),
                )?;
            }
        }
        println!("xtask: snapshots written to {}", snapshots.display());
        let copied = bless_figures(root, &experiments, &out)?;
        println!(
            "xtask: {copied} figure(s) of the papers' claims copied to {}",
            root.join(DOC_FIGURES).display()
        );
    }
    if !run_ok {
        problems.insert(
            0,
            "some experiments failed (see the errors above); their folders were not written".into(),
        );
    }
    if check && run_ok {
        let mut stale = Vec::new();
        for (name, _, value) in &experiments {
            let path = snapshots.join(format!("{name}.json"));
            let expected = fs::read_to_string(&path)
                .ok()
                .and_then(|s| serde_json::from_str::<Value>(&s).ok());
            match (expected, value) {
                (Some(e), Some(v)) if &e == v => {}
                (None, _) => stale.push(format!("{name}: no snapshot at {}", path.display())),
                (Some(e), Some(v)) => stale.push(format!(
                    "{name}: summary differs from its snapshot:\n{}",
                    diff(&e, v)
                )),
                (Some(_), None) => stale.push(format!("{name}: no summary was produced")),
            }
        }
        if stale.is_empty() {
            println!(
                "xtask: all {} summaries match their snapshots",
                experiments.len()
            );
        } else {
            for s in &stale {
                eprintln!("xtask: {s}");
            }
            problems.push(format!(
                "{} summar{} differ from the snapshots; if the change is intended, update them with:\n    cargo xtask reproduce --bless",
                stale.len(),
                if stale.len() == 1 { "y" } else { "ies" }
            ));
        }
        // Every claim's figure is kept in docs/figures and shown in the README.
        let readme = fs::read_to_string(root.join("README.md")).unwrap_or_default();
        for (target, _) in claim_figures(root, &experiments, &out) {
            let doc = format!("{DOC_FIGURES}/{target}");
            if !root.join(&doc).is_file() {
                problems.push(format!(
                    "{doc} is missing: write it with cargo xtask reproduce --bless"
                ));
            } else if !readme.contains(&format!("({doc})")) {
                problems.push(format!("README.md does not show {doc}, a claim's figure"));
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}

/// A claim that fails today, listed with why in `experiments/snapshots/known_failures.ron`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownFailure {
    /// The experiment's name.
    experiment: String,
    /// The claim's id.
    claim: String,
    /// Why it fails, with the numbers.
    reason: String,
    /// The issue that tracks it.
    issue: Option<u32>,
}

/// The known failures of this checkout (none when the file is absent).
fn known_failures(root: &Path) -> Result<Vec<KnownFailure>> {
    let path = root
        .join("experiments")
        .join("snapshots")
        .join("known_failures.ron");
    let Ok(text) = fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    ron::from_str(&text)
        .with_context(|| format!("{}: not a list of known failures", path.display()))
}

/// How the claims of a run came out against the known failures.
#[derive(Debug, Default)]
struct Verdict {
    /// Claims that pass.
    pass: usize,
    /// Failed claims not listed as known: the run fails.
    failed: Vec<(String, String)>,
    /// Failed claims listed as known.
    known_failed: Vec<(String, String)>,
    /// Listed claims that ran and passed: the list is stale, the run fails.
    known_passing: Vec<(String, String)>,
    /// Comparisons (informative claims) that agree and differ.
    agree: usize,
    differ: usize,
}

impl Verdict {
    fn of(experiments: &[(String, PathBuf, Option<Value>)], known: &[KnownFailure]) -> Self {
        let mut v = Self::default();
        for (name, _, summary) in experiments {
            for c in claims_of(summary) {
                let pass = c["pass"].as_bool() == Some(true);
                if c["informative"].as_bool() == Some(true) {
                    if pass {
                        v.agree += 1;
                    } else {
                        v.differ += 1;
                    }
                    continue;
                }
                let id = c["id"].as_str().unwrap_or("").to_owned();
                let listed = known.iter().any(|k| &k.experiment == name && k.claim == id);
                match (pass, listed) {
                    (true, false) => v.pass += 1,
                    (true, true) => {
                        v.pass += 1;
                        v.known_passing.push((name.clone(), id));
                    }
                    (false, true) => v.known_failed.push((name.clone(), id)),
                    (false, false) => v.failed.push((name.clone(), id)),
                }
            }
        }
        v
    }
}

/// Where `--bless` keeps the README's figures.
const DOC_FIGURES: &str = "docs/figures";

/// The figures of the papers' claims (not of informative comparisons) in the default
/// experiments (the files directly in `experiments/`, which run on a plain clone): `(file name
/// in docs/figures, path in the results)`. Figure names are unique across those experiments.
fn claim_figures(
    root: &Path,
    experiments: &[(String, PathBuf, Option<Value>)],
    out: &Path,
) -> Vec<(String, PathBuf)> {
    let defaults = root.join("experiments");
    let mut figures: Vec<(String, PathBuf)> = Vec::new();
    for (name, file, summary) in experiments {
        if file.parent() != Some(defaults.as_path()) {
            continue;
        }
        for c in claims_of(summary) {
            let Some(fig) = c["figure"].as_str() else {
                continue;
            };
            if c["informative"].as_bool() == Some(true) {
                continue;
            }
            let target = format!("{fig}.png");
            if !figures.iter().any(|(t, _)| *t == target) {
                figures.push((target, out.join(name).join(format!("{fig}.png"))));
            }
        }
    }
    figures
}

/// Copies the figures of the papers' claims into `docs/figures/` (see [`claim_figures`]);
/// how many.
fn bless_figures(
    root: &Path,
    experiments: &[(String, PathBuf, Option<Value>)],
    out: &Path,
) -> Result<usize> {
    let dir = root.join(DOC_FIGURES);
    fs::create_dir_all(&dir)?;
    let figures = claim_figures(root, experiments, out);
    for (target, source) in &figures {
        let bytes =
            fs::read(source).with_context(|| format!("cannot read {}", source.display()))?;
        let tmp = dir.join(format!(".{target}.tmp"));
        fs::write(&tmp, bytes)?;
        fs::rename(&tmp, dir.join(target))?;
    }
    Ok(figures.len())
}

/// The claims of a summary.
fn claims_of(summary: &Option<Value>) -> impl Iterator<Item = &Value> {
    summary
        .as_ref()
        .and_then(|v| v["claims"].as_array())
        .into_iter()
        .flatten()
}

/// Builds the `whiten` binary with `profile`; its path.
fn build(root: &Path, profile: &str) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: building whiten ({profile} profile)");
    let status = Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "--profile",
            profile,
            "--quiet",
            "--package",
            "whiten-cli",
            "--bin",
            "whiten",
        ])
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building the whiten binary failed");
    }
    // Cargo's `dev` profile builds into target/debug.
    let folder = if profile == "dev" { "debug" } else { profile };
    Ok(target_dir(root)
        .join(folder)
        .join(format!("whiten{}", std::env::consts::EXE_SUFFIX)))
}

/// The target folder: `CARGO_TARGET_DIR` (relative to the current folder when relative, as
/// cargo reads it), else `target/` of the checkout.
fn target_dir(root: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| root.to_path_buf());
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |t| cwd.join(t))
}

fn experiment_files(dir: &Path, names: &[String]) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    files.sort();
    if names.is_empty() {
        return Ok(files);
    }
    let mut chosen = Vec::new();
    for n in names {
        let f = files
            .iter()
            .find(|f| f.file_stem().is_some_and(|s| s == n.as_str()))
            .with_context(|| {
                let known: Vec<String> = files
                    .iter()
                    .filter_map(|f| f.file_stem())
                    .map(|s| s.to_string_lossy().into_owned())
                    .collect();
                format!(
                    "no experiment file `{n}.ron` in {}; known: {}",
                    dir.display(),
                    known.join(", ")
                )
            })?;
        chosen.push(f.clone());
    }
    Ok(chosen)
}

/// The `name` field of an experiment file (its output folder); the file stem if unreadable.
fn experiment_name(file: &Path) -> Result<String> {
    let text =
        fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("name:"))
        .and_then(|v| {
            v.trim()
                .trim_end_matches(',')
                .trim()
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned)
        })
        .unwrap_or(stem))
}

fn render_report(
    experiments: &[(String, PathBuf, Option<Value>)],
    out: &Path,
    known: &[KnownFailure],
) -> String {
    let mut s = String::from("# whiten: reproduction report\n\n");
    s.push_str("Generated by `cargo xtask reproduce`. Each row is a claim of one of the papers, the value\n");
    s.push_str("it predicts, what this run measured, and whether the measurement supports it. A failed claim\n");
    s.push_str("makes the command fail unless it is listed, with its reason, in `experiments/snapshots/known_failures.ron`\n");
    s.push_str("(shown as **FAIL** (known)). Rows marked *comparison* set a published number or the authors'\n");
    s.push_str(
        "own schedule beside ours: they agree or differ, and are never counted as failures.\n\n",
    );
    for (paper, title) in [
        (
            1u64,
            "Paper 1: Interneurons accelerate learning dynamics (linear whitening networks)",
        ),
        (
            2,
            "Paper 2: Shaping the distribution of neural responses with interneurons",
        ),
        (
            3,
            "Paper 3: Gain-modulating interneurons (ICML 2023) and fast gains with slow synapses (NeurIPS 2023)",
        ),
    ] {
        let mut rows = Vec::new();
        for (name, _, v) in experiments {
            for c in v
                .as_ref()
                .and_then(|v| v["claims"].as_array())
                .into_iter()
                .flatten()
            {
                if c["paper"].as_u64() != Some(paper) {
                    continue;
                }
                let fig = c["figure"]
                    .as_str()
                    .map_or(String::new(), |f| format!("[{f}]({name}/{f}.png)"));
                rows.push(format!(
                    "| {} | {} | {} | {} | {} | {} |",
                    cell(&c["statement"]),
                    cell(&c["expected"]),
                    cell(&c["measured"]),
                    verdict_cell(c, name, known),
                    fig,
                    name
                ));
            }
        }
        if rows.is_empty() {
            continue;
        }
        s.push_str(&format!("## {title}\n\n| claim | expected | measured | result | figure | experiment |\n|---|---|---|---|---|---|\n"));
        for r in rows {
            s.push_str(&r);
            s.push('\n');
        }
        s.push('\n');
    }
    let listed: Vec<&KnownFailure> = known
        .iter()
        .filter(|k| experiments.iter().any(|(n, _, _)| n == &k.experiment))
        .collect();
    if !listed.is_empty() {
        s.push_str("## Known failures\n\n");
        for k in listed {
            let issue = k.issue.map_or(String::new(), |i| format!(" (issue #{i})"));
            s.push_str(&format!(
                "* `{}` in `{}`{issue}: {}\n",
                k.claim, k.experiment, k.reason
            ));
        }
        s.push('\n');
    }
    s.push_str("## Experiments\n\n");
    for (name, file, v) in experiments {
        let status = if v.is_some() {
            "ok"
        } else {
            "**failed** (no outputs)"
        };
        s.push_str(&format!("* `{name}` from `{}`: {status}", rel(file)));
        if v.is_some() {
            let mut figs: Vec<String> = fs::read_dir(out.join(name))
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|f| f.ends_with(".png"))
                .collect();
            figs.sort();
            let links: Vec<String> = figs.iter().map(|f| format!("[{f}]({name}/{f})")).collect();
            s.push_str(&format!("; figures: {}", links.join(", ")));
        }
        s.push('\n');
        for w in v
            .as_ref()
            .and_then(|v| v["warnings"].as_array())
            .into_iter()
            .flatten()
        {
            s.push_str(&format!("  * warning: {}\n", w.as_str().unwrap_or("")));
        }
    }
    s
}

/// The result column of a claim's row.
fn verdict_cell(c: &Value, experiment: &str, known: &[KnownFailure]) -> &'static str {
    let pass = c["pass"].as_bool() == Some(true);
    if c["informative"].as_bool() == Some(true) {
        return if pass {
            "agrees (comparison)"
        } else {
            "differs (comparison)"
        };
    }
    let listed = known
        .iter()
        .any(|k| k.experiment == experiment && c["id"].as_str() == Some(k.claim.as_str()));
    match (pass, listed) {
        (true, _) => "pass",
        (false, true) => "**FAIL** (known)",
        (false, false) => "**FAIL**",
    }
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

fn cell(v: &Value) -> String {
    v.as_str()
        .unwrap_or("")
        .replace('|', "\\|")
        .replace('\n', " ")
}

/// A short description of where two summaries differ.
fn diff(expected: &Value, actual: &Value) -> String {
    let mut lines = Vec::new();
    diff_into("", expected, actual, &mut lines);
    lines.truncate(20);
    lines.join("\n")
}

fn diff_into(path: &str, e: &Value, a: &Value, out: &mut Vec<String>) {
    match (e, a) {
        (Value::Object(eo), Value::Object(ao)) => {
            for (k, ev) in eo {
                match ao.get(k) {
                    Some(av) => diff_into(&format!("{path}/{k}"), ev, av, out),
                    None => out.push(format!("    {path}/{k}: missing (snapshot {ev})")),
                }
            }
            for k in ao.keys().filter(|k| !eo.contains_key(*k)) {
                out.push(format!("    {path}/{k}: new key"));
            }
        }
        (Value::Array(ea), Value::Array(aa)) if ea.len() == aa.len() => {
            for (i, (ev, av)) in ea.iter().zip(aa).enumerate() {
                diff_into(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        _ if e != a => out.push(format!("    {path}: snapshot {e}, now {a}")),
        _ => {}
    }
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_is_found_from_any_folder_inside_it_at_run_time() {
        let base = std::env::temp_dir().join(format!("xtask-root-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let clone = base.join("clone");
        fs::create_dir_all(clone.join("experiments/photographs")).unwrap();
        fs::create_dir_all(clone.join("crates/whiten-core/src")).unwrap();
        fs::write(clone.join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        // a member crate's own manifest is not the workspace
        fs::write(
            clone.join("crates/whiten-core/Cargo.toml"),
            "[package]\nname = \"x\"\n",
        )
        .unwrap();
        for inside in ["", "experiments/photographs", "crates/whiten-core/src"] {
            assert_eq!(find_workspace(&clone.join(inside)), Some(clone.clone()));
        }
        assert_eq!(find_workspace(&base), None);
        let _ = fs::remove_dir_all(&base);
    }

    #[test]
    fn failed_claims_fail_the_run_unless_listed_and_listed_ones_must_still_fail() {
        let summary = |claims: Value| Some(serde_json::json!({ "claims": claims }));
        let experiments = vec![
            (
                "a".to_owned(),
                PathBuf::from("a.ron"),
                summary(serde_json::json!([
                    { "id": "x", "pass": true },
                    { "id": "y", "pass": false },
                    { "id": "z", "pass": false },
                    { "id": "cmp", "pass": false, "informative": true },
                ])),
            ),
            (
                "b".to_owned(),
                PathBuf::from("b.ron"),
                summary(serde_json::json!([{ "id": "x", "pass": true }])),
            ),
        ];
        let known = |experiment: &str, claim: &str| KnownFailure {
            experiment: experiment.into(),
            claim: claim.into(),
            reason: "r".into(),
            issue: None,
        };
        let list = vec![known("a", "y"), known("b", "x"), known("c", "gone")];
        let v = Verdict::of(&experiments, &list);
        assert_eq!(v.pass, 2);
        assert_eq!(v.failed, [("a".to_owned(), "z".to_owned())]);
        assert_eq!(v.known_failed, [("a".to_owned(), "y".to_owned())]);
        assert_eq!(v.known_passing, [("b".to_owned(), "x".to_owned())]);
        assert_eq!((v.agree, v.differ), (0, 1));
        let claims = |i: usize| experiments[0].2.as_ref().unwrap()["claims"][i].clone();
        assert_eq!(verdict_cell(&claims(1), "a", &list), "**FAIL** (known)");
        assert_eq!(verdict_cell(&claims(2), "a", &list), "**FAIL**");
        assert_eq!(verdict_cell(&claims(3), "a", &list), "differs (comparison)");
        // the committed list parses
        let root = find_workspace(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(!known_failures(&root).unwrap().is_empty());
    }
}
