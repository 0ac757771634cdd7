//! `cargo xtask test`: every test of the workspace in one command.
//!
//! 1. `cargo test --workspace --locked`;
//! 2. the Python package: a virtual environment under the target folder
//!    (`<target>/py-venv`, reused when present) with numpy, pytest, pandas and maturin; the package
//!    `whiten` built by `maturin develop` (dev profile, into the workspace's target folder, so
//!    the Rust crates compiled by step 1 are reused) and installed there; then pytest on
//!    `crates/whiten-py/tests`, whose summary line is shown.
//!
//! Where python3, its `venv` module or pip cannot be used, step 2 prints
//! `SKIPPED python tests: <why>` and the command succeeds, except under `CI=true`, where
//! that is an error. A failing build or test always fails the command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Runs every test: cargo's, then pytest's (`pytest_args` are passed on to pytest).
pub fn run(root: &Path, target: &Path, skip_cargo: bool, pytest_args: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if !skip_cargo {
        let start = Instant::now();
        eprintln!("xtask: cargo test --workspace --locked");
        let ok = Command::new(&cargo)
            .current_dir(root)
            .args(["test", "--workspace", "--locked"])
            .status()
            .context("cannot run cargo")?
            .success();
        if !ok {
            bail!("cargo test failed");
        }
        eprintln!(
            "xtask: cargo tests took {:.0} s",
            start.elapsed().as_secs_f64()
        );
    }
    // pandas: the tables' `pandas.DataFrame` test (the package itself does not need it).
    let tools = ["numpy", "pytest", "pandas", "maturin>=1.5,<2"];
    match python_env(target, "py-venv", &tools)? {
        Ok(venv) => {
            for line in feature_drift(root, &cargo) {
                eprintln!("xtask: warning: {line}");
            }
            python_tests(root, target, &venv, pytest_args)
        }
        Err(why) => skip(&why),
    }
}

/// Dependencies that a `-p whiten-py` build (maturin) compiles with other features than the
/// workspace's test build, which makes maturin compile them (and all that depends on them)
/// again; see the comment in `crates/whiten-py/Cargo.toml`. Empty when they agree or when
/// `cargo tree` cannot tell.
fn feature_drift(root: &Path, cargo: &str) -> Vec<String> {
    // package -> the feature lists it is built with (host and target builds may differ)
    type Features = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;
    let features = |args: &[&str]| -> Option<Features> {
        let out = Command::new(cargo)
            .current_dir(root)
            .args(["tree", "--locked", "--prefix", "none", "--no-dedupe"])
            .args(["--format", "{p}|{f}"])
            .args(args)
            .output()
            .ok()?;
        out.status.success().then(|| {
            let mut map = Features::new();
            for (p, f) in String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.split_once('|'))
            {
                map.entry(p.trim().to_owned())
                    .or_default()
                    .insert(f.trim().to_owned());
            }
            map
        })
    };
    let (Some(ws), Some(py)) = (
        features(&["--workspace", "-e", "normal,build,dev"]),
        features(&["-p", "whiten-py", "-e", "normal,build"]),
    ) else {
        return Vec::new();
    };
    py.iter()
        .filter_map(|(p, fs)| {
            let w = ws.get(p)?;
            let f = fs.iter().find(|f| !w.contains(*f))?;
            let w: Vec<&str> = w.iter().map(String::as_str).collect();
            Some(format!(
                "{p} has features [{f}] in the Python build but [{}] in the workspace build, \
                 so maturin compiles it again: ask for the same features in \
                 crates/whiten-py/Cargo.toml",
                w.join("] or [")
            ))
        })
        .collect()
}

/// The SKIPPED line, or an error under `CI=true`.
fn skip(why: &str) -> Result<()> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        bail!("python tests cannot run under CI=true: {why}");
    }
    println!("SKIPPED python tests: {why}");
    Ok(())
}

/// The last non-empty line of a command's stderr (or stdout), to say why it failed.
fn last_line(out: &Output) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_owned()
}

/// The python of the venv `<target>/<name>`, creating the venv when needed and installing
/// `tools` into it; `Ok(Err)` says why Python cannot be used here. Also used by
/// `cargo xtask bench-python`.
pub(crate) fn python_env(
    target: &Path,
    name: &str,
    tools: &[&str],
) -> Result<std::result::Result<PathBuf, String>> {
    let python3 = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let venv = target.join(name);
    let py = venv.join("bin").join("python");
    if !py.is_file() {
        match Command::new(&python3).arg("--version").output() {
            Err(e) => return Ok(Err(format!("{python3} not found ({e})"))),
            Ok(o) if !o.status.success() => {
                return Ok(Err(format!(
                    "{python3} --version failed: {}",
                    last_line(&o)
                )));
            }
            Ok(_) => {}
        }
        eprintln!("xtask: creating {}", venv.display());
        let o = Command::new(&python3)
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .context("cannot run python3 -m venv")?;
        if !o.status.success() || !py.is_file() {
            // A half-made venv (no ensurepip) would be taken as ready next time.
            let _ = std::fs::remove_dir_all(&venv);
            return Ok(Err(format!(
                "{python3} -m venv failed (is the venv module installed?): {}",
                last_line(&o)
            )));
        }
    }
    let o = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(tools)
        .output()
        .context("cannot run pip")?;
    if !o.status.success() {
        return Ok(Err(format!(
            "pip could not install {} into {}: {}",
            tools.join(", "),
            venv.display(),
            last_line(&o)
        )));
    }
    Ok(Ok(py))
}

/// Builds and installs the package into the venv, then runs pytest.
fn python_tests(root: &Path, target: &Path, py: &Path, pytest_args: &[String]) -> Result<()> {
    let bin = py.parent().unwrap_or(Path::new("."));
    let venv = bin.parent().unwrap_or(Path::new("."));
    let start = Instant::now();
    eprintln!("xtask: maturin develop (crates/whiten-py, dev profile)");
    let ok = Command::new(bin.join("maturin"))
        .current_dir(root)
        .args([
            "develop",
            "--quiet",
            "--locked",
            "--manifest-path",
            "crates/whiten-py/Cargo.toml",
        ])
        .env("VIRTUAL_ENV", venv)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("CONDA_PREFIX")
        .stdout(Stdio::inherit())
        .status()
        .context("cannot run maturin")?
        .success();
    if !ok {
        bail!("building the Python package failed (maturin develop)");
    }
    eprintln!(
        "xtask: Python package built in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let out = Command::new(py)
        .current_dir(root)
        .args(["-m", "pytest", "-q", "-rs", "crates/whiten-py/tests"])
        .args(pytest_args)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run pytest")?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let summary = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output");
    println!(
        "xtask: pytest ({:.0} s): {}",
        start.elapsed().as_secs_f64(),
        summary.trim_matches('=').trim()
    );
    if !out.status.success() {
        bail!("python tests failed");
    }
    Ok(())
}
