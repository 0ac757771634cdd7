//! `whiten`: list, describe and run the experiments of the whiten workspace.
//!
//! ```text
//! whiten list
//! whiten describe offline_learning
//! whiten run experiments/offline_learning.ron --out results --threads 2
//! ```
//!
//! Exit code 0 when every experiment ran, 1 when any file was refused or any run failed
//! (the others still run and keep their outputs), 2 for a command-line error.

// A command-line program: printing results to stdout and errors to stderr is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use whiten_experiments::{Registry, RunOptions, load_file, run_one};

#[derive(Parser)]
#[command(
    name = "whiten",
    version,
    about = "Recurrent circuits that adapt their response statistics with interneurons: run the experiments of both papers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the experiment kinds.
    List,
    /// Show every parameter of an experiment kind, its meaning and default.
    Describe {
        /// The kind, as in `whiten list`.
        kind: String,
    },
    /// Run experiment files.
    Run {
        /// RON experiment files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output root: each experiment writes OUT/<name>/.
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Override every experiment's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs a command; `Ok(false)` when some experiment failed.
fn dispatch(cli: Cli) -> anyhow::Result<bool> {
    let registry = Registry::builtin();
    match cli.command {
        Command::List => {
            let kinds = registry.kinds();
            let width = kinds.iter().map(|k| k.name().len()).max().unwrap_or(0);
            for k in kinds {
                println!("{:width$}  {}", k.name(), k.description());
            }
            Ok(true)
        }
        Command::Describe { kind } => {
            let k = registry.get(&kind).with_context(|| {
                format!(
                    "unknown experiment kind `{kind}`; known kinds: {}",
                    registry.names().join(", ")
                )
            })?;
            println!("{}: {}\n", k.name(), k.description());
            println!("parameters (under `params`; missing ones take their default):");
            for p in k.params() {
                println!("  {:<18} default {}", p.name, p.default);
                println!("  {:<18} {}", "", p.doc);
            }
            println!(
                "\nfile layout:\n(\n    kind: {:?},\n    name: \"my_run\",\n    seed: 1,\n    params: ( ... ),\n)",
                k.name()
            );
            Ok(true)
        }
        Command::Run {
            files,
            out,
            seed,
            threads,
        } => {
            if let Some(n) = threads {
                anyhow::ensure!(n >= 1, "--threads must be at least 1");
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build_global()
                    .context("cannot start the thread pool")?;
            }
            run(&registry, &files, out, seed)
        }
    }
}

fn run(
    registry: &Registry,
    files: &[PathBuf],
    out: PathBuf,
    seed: Option<u64>,
) -> anyhow::Result<bool> {
    let mut ok = true;
    let mut loaded = Vec::new();
    for f in files {
        match load_file(f, registry) {
            Ok(l) => {
                if let Some(prev) = loaded
                    .iter()
                    .find(|p: &&whiten_experiments::Loaded| p.name == l.name)
                {
                    eprintln!(
                        "error: {}: experiment name `{}` is already used by {}; names must be unique in one run",
                        f.display(),
                        l.name,
                        prev.path.display()
                    );
                    ok = false;
                } else {
                    loaded.push(l);
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
            }
        }
    }
    let opts = RunOptions {
        out,
        seed,
        progress: true,
    };
    for l in &loaded {
        match run_one(l, &opts) {
            Ok(done) => println!(
                "ok     {:<22} {} files in {} ({:.2} s)",
                l.name,
                done.files.len(),
                done.dir.display(),
                done.elapsed.as_secs_f64()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                println!("failed {:<22} (nothing written)", l.name);
                ok = false;
            }
        }
    }
    Ok(ok)
}
