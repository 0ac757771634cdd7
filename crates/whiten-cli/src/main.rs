//! `whiten`: list, describe and run the experiments of the whiten workspace.
//!
//! ```text
//! whiten list
//! whiten describe offline_learning
//! whiten check experiments/*.ron
//! whiten run experiments/offline_learning.ron --out results --threads 2
//! whiten run survey.ron --out results --shard 1/4     # shard 1 of 4: results/survey.shard-1-of-4/
//! whiten merge results results/survey.shard-*-of-4    # results/survey/, as one run writes it
//! whiten slurm survey.ron --tasks 4 --out results --submit   # the same on a Slurm cluster
//! ```
//!
//! `--shard I/N` (0 <= I < N, as `$SLURM_ARRAY_TASK_ID` with `--array=0-(N-1)`) runs the
//! tasks `i` of each experiment with `i % N == I` and writes a part folder; `whiten merge`
//! checks that the parts are one configuration's complete set and writes the folder the
//! unsharded run would have written, byte for byte (see `whiten_experiments::shard`).
//! `whiten slurm` writes a job script for both (see the `slurm` module).
//!
//! `whiten check` loads and checks files (syntax, fields, parameters, image files, unique
//! names, the estimated peak memory) without running anything or writing any file.
//!
//! Both `check` and `run` refuse an experiment whose peak memory, estimated from its
//! parameters and the worker threads, exceeds `--max-memory` (or, without it, the memory the
//! system has available), naming the estimate.
//!
//! `whiten run` skips an experiment whose folder is up to date (its `manifest.json` matches
//! the resolved configuration and this version, and every file is there); `--force` re-runs.
//! The first Ctrl-C stops the current experiment within about a second (every long loop polls
//! it), writes nothing of it, runs no further one, lists what completed and exits 130; a
//! second Ctrl-C stops at once (a hidden temporary folder may remain, removed by the next run).
//!
//! Exit code 0 when every experiment ran, 1 when any file was refused or any run failed
//! (the others still run and keep their outputs), 2 for a command-line error, 130 after
//! Ctrl-C.

// A command-line program: printing results to stdout and errors to stderr is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod slurm;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use whiten_experiments::resources::{self, format_bytes};
use whiten_experiments::{
    ExperimentError, Outcome, Outputs, Registry, RunOptions, ShardOutcome, ShardSpec,
    builtin_registry, load_file, merge, run_or_skip, run_shard_or_skip,
};

/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

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
    /// Check experiment files (syntax, parameters, images, unique names) without running them.
    Check {
        /// RON experiment files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Refuse runs whose estimated peak memory exceeds this (512M, 8G; default: the
        /// memory available now).
        #[arg(long, value_parser = parse_memory)]
        max_memory: Option<f64>,
        /// Worker threads the runs would use (default: all cores); more run at once, so more
        /// memory.
        #[arg(long)]
        threads: Option<usize>,
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
        /// Re-run experiments whose output folder is already up to date.
        #[arg(long)]
        force: bool,
        /// Refuse runs whose estimated peak memory exceeds this (512M, 8G; default: the
        /// memory available now).
        #[arg(long, value_parser = parse_memory)]
        max_memory: Option<f64>,
        /// Run only shard I of N (0 <= I < N) of each experiment's tasks, into
        /// OUT/<name>.shard-I-of-N/; `whiten merge` gathers the parts.
        #[arg(long, value_name = "I/N", value_parser = parse_shard)]
        shard: Option<ShardSpec>,
    },
    /// Merge the part folders of a sharded run into OUT_DIR/<name>/, byte-identical to the
    /// unsharded run's folder (refuses missing, duplicated or foreign shards, writing nothing).
    Merge {
        /// Output root, as `run --out`: the merged folder is OUT_DIR/<name>/.
        out_dir: PathBuf,
        /// The part folders (OUT/<name>.shard-I-of-N/), one per shard.
        #[arg(required = true)]
        parts: Vec<PathBuf>,
    },
    /// Write (and with --submit, submit) a Slurm job script: a job array of N shards and a
    /// merge job that runs once the whole array succeeded.
    Slurm {
        /// The RON experiment file.
        file: PathBuf,
        /// Array tasks (shards).
        #[arg(long, value_name = "N")]
        tasks: usize,
        /// Output root on the cluster's shared file system (parts, merged folder, the script
        /// OUT/<name>.slurm.sh and the jobs' logs OUT/<name>.slurm-logs/).
        #[arg(long, default_value = "results")]
        out: PathBuf,
        /// Slurm partition (default: the cluster's default).
        #[arg(long, value_name = "P")]
        partition: Option<String>,
        /// Time limit of each job, as sbatch takes it (60, 1:00:00, 1-00:00:00).
        #[arg(long, value_name = "T")]
        time: Option<String>,
        /// CPUs per array task (the shard's worker threads).
        #[arg(long, value_name = "C", default_value_t = 1)]
        cpus: usize,
        /// Submit the script with sbatch right away.
        #[arg(long)]
        submit: bool,
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
        Ok(Status::Ok) => ExitCode::SUCCESS,
        Ok(Status::Failed) => ExitCode::from(1),
        Ok(Status::Interrupted) => ExitCode::from(INTERRUPTED),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// How a command ended.
enum Status {
    /// Everything ran.
    Ok,
    /// A file was refused or an experiment failed.
    Failed,
    /// Stopped by Ctrl-C.
    Interrupted,
}

/// Parses `--shard I/N`.
fn parse_shard(text: &str) -> Result<ShardSpec, String> {
    text.parse::<ShardSpec>().map_err(|e| match e {
        ExperimentError::BadShard { reason, .. } => reason,
        other => other.to_string(),
    })
}

/// Runs a command.
fn dispatch(cli: Cli) -> anyhow::Result<Status> {
    let registry = builtin_registry();
    match cli.command {
        Command::List => {
            let kinds = registry.kinds();
            let width = kinds.iter().map(|k| k.name().len()).max().unwrap_or(0);
            for k in kinds {
                println!("{:width$}  {}", k.name(), k.description());
            }
            Ok(Status::Ok)
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
            Ok(Status::Ok)
        }
        Command::Check {
            files,
            max_memory,
            threads,
        } => {
            if threads == Some(0) {
                anyhow::bail!("--threads must be at least 1");
            }
            let threads = threads.unwrap_or_else(rayon::current_num_threads);
            let (loaded, ok) = load_all(&registry, &files, threads, max_memory);
            for (l, estimate) in &loaded {
                let kind = l.experiment.kind();
                let memory = estimate
                    .as_ref()
                    .map(|e| format!(", estimated peak memory {}", format_bytes(e.bytes)))
                    .unwrap_or_default();
                println!(
                    "ok     {:<22} {} ({kind}{memory})",
                    l.name,
                    l.path.display()
                );
            }
            Ok(if ok { Status::Ok } else { Status::Failed })
        }
        Command::Run {
            files,
            out,
            seed,
            threads,
            force,
            max_memory,
            shard,
        } => {
            if let Some(n) = threads {
                anyhow::ensure!(n >= 1, "--threads must be at least 1");
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build_global()
                    .context("cannot start the thread pool")?;
            }
            let cancel = interrupt_flag();
            // An unusable output folder is refused before any computation.
            check_out_dir(&out)?;
            let opts = RunOptions {
                out,
                seed,
                progress: true,
                force,
                cancel: Some(cancel),
            };
            run(&registry, &files, &opts, max_memory, shard)
        }
        Command::Merge { out_dir, parts } => {
            check_out_dir(&out_dir)?;
            let opts = RunOptions {
                out: out_dir,
                seed: None,
                progress: true,
                force: false,
                cancel: Some(interrupt_flag()),
            };
            let m = match merge(&parts, &opts, &registry) {
                Ok(m) => m,
                Err(ExperimentError::Cancelled { .. }) => {
                    println!("abandoned merge (interrupted; nothing written)");
                    return Ok(Status::Interrupted);
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    println!("failed merge (nothing written)");
                    return Ok(Status::Failed);
                }
            };
            let done = &m.completed;
            println!(
                "merged {:<22} {} tasks from {} shards (slowest: shard {}, {:.2} s) into {}: {} files{}",
                m.name,
                m.tasks,
                m.shards,
                m.slowest.0,
                m.slowest.1.as_secs_f64(),
                done.dir.display(),
                done.files.len(),
                outcome_note(&done.outputs)
            );
            for w in &done.outputs.warnings {
                println!("  warning: {w}");
            }
            Ok(Status::Ok)
        }
        Command::Slurm {
            file,
            tasks,
            out,
            partition,
            time,
            cpus,
            submit,
        } => {
            let loaded = load_file(&file, &registry)?;
            let job = slurm::Job {
                name: loaded.name.clone(),
                file,
                out,
                tasks,
                partition,
                time,
                cpus,
            };
            let script = job.write()?;
            println!(
                "wrote {} ({} shards of {} and a merge job after them)",
                script.display(),
                tasks,
                loaded.name
            );
            if submit {
                slurm::submit(&script)?;
            } else {
                println!("submit it with: bash {}", script.display());
            }
            Ok(Status::Ok)
        }
    }
}

/// A flag set by the first Ctrl-C (the second exits at once).
fn interrupt_flag() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let handler = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("whiten: second interrupt, stopping now");
            std::process::exit(i32::from(INTERRUPTED));
        }
        eprintln!(
            "whiten: interrupt: stopping the current experiment (nothing of it is written; Ctrl-C again to stop at once)"
        );
    });
    if let Err(e) = handler {
        tracing::warn!("cannot handle Ctrl-C: {e}");
    }
    cancel
}

/// Creates `out` if needed and checks that a file can be written there (a probe, removed at
/// once), so that a read-only folder or a path that is a file is reported before any work.
fn check_out_dir(out: &std::path::Path) -> anyhow::Result<()> {
    if out.exists() && !out.is_dir() {
        anyhow::bail!("--out {}: is not a folder", out.display());
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("--out {}: cannot create the folder", out.display()))?;
    let probe = out.join(format!(".whiten-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("--out {}: cannot write into the folder", out.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Parses `--max-memory`.
fn parse_memory(text: &str) -> Result<f64, String> {
    resources::parse_size(text)
}

/// An accepted experiment and its memory estimate.
type Accepted = (
    whiten_experiments::Loaded,
    Option<resources::MemoryEstimate>,
);

/// Loads and checks `files` (parameters, then the memory estimate for `threads` workers
/// against `max_memory` or the available memory), reporting each refusal on stderr; the
/// accepted experiments and whether every file was accepted.
fn load_all(
    registry: &Registry,
    files: &[PathBuf],
    threads: usize,
    max_memory: Option<f64>,
) -> (Vec<Accepted>, bool) {
    let limit = resources::MemoryLimit::resolve(max_memory);
    let mut ok = true;
    let mut loaded: Vec<Accepted> = Vec::new();
    for f in files {
        let checked = load_file(f, registry).and_then(|l| {
            let estimate = resources::check_memory(&l, threads, limit)?;
            Ok((l, estimate))
        });
        match checked {
            Ok((l, estimate)) => {
                if let Some((prev, _)) = loaded.iter().find(|(p, _)| p.name == l.name) {
                    eprintln!(
                        "error: {}: experiment name `{}` is already used by {}; names must be unique in one run",
                        f.display(),
                        l.name,
                        prev.path.display()
                    );
                    ok = false;
                } else {
                    loaded.push((l, estimate));
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
            }
        }
    }
    (loaded, ok)
}

/// `, claims 2/3, FAILED: p2.x, comparisons 1/1 agree, 2 warnings (...)`.
fn outcome_note(outputs: &Outputs) -> String {
    let warnings = &outputs.warnings;
    // Comparisons (informative claims) are counted apart: they cannot fail.
    let (claims, comparisons): (Vec<_>, Vec<_>) =
        outputs.claims.iter().partition(|c| !c.informative);
    let mut failed_claims: Vec<&str> = claims
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.id.as_str())
        .collect();
    failed_claims.sort_unstable();
    let differ = comparisons.iter().filter(|c| !c.pass).count();
    let mut note = String::new();
    if !claims.is_empty() {
        note += &format!(
            ", claims {}/{}",
            claims.len() - failed_claims.len(),
            claims.len()
        );
        if !failed_claims.is_empty() {
            note += &format!(", FAILED: {}", failed_claims.join(", "));
        }
    }
    if !comparisons.is_empty() {
        note += &format!(
            ", comparisons {}/{} agree",
            comparisons.len() - differ,
            comparisons.len()
        );
    }
    if !warnings.is_empty() {
        note += &format!(", {} warnings (summary.json: warnings)", warnings.len());
    }
    note
}

fn run(
    registry: &Registry,
    files: &[PathBuf],
    opts: &RunOptions,
    max_memory: Option<f64>,
    shard: Option<ShardSpec>,
) -> anyhow::Result<Status> {
    let threads = rayon::current_num_threads();
    let (loaded, mut ok) = load_all(registry, files, threads, max_memory);
    let loaded: Vec<whiten_experiments::Loaded> = loaded.into_iter().map(|(l, _)| l).collect();
    let interrupted = || {
        opts.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    };
    // Experiments whose folder is complete (run now or up to date), and those not run.
    let mut completed = Vec::new();
    let mut not_run = Vec::new();
    let mut failed = Vec::new();
    for l in &loaded {
        if interrupted() {
            not_run.push(l.name.as_str());
            continue;
        }
        let result = match shard {
            Some(spec) => run_shard_or_skip(l, opts, spec).map(|o| match o {
                ShardOutcome::Ran(s) => {
                    println!(
                        "ok     {:<22} shard {}: {} of {} tasks in {} ({:.2} s)",
                        l.name,
                        s.spec,
                        s.tasks.len(),
                        s.task_count,
                        s.dir.display(),
                        s.elapsed.as_secs_f64()
                    );
                    None
                }
                ShardOutcome::Skipped { .. } => {
                    println!(
                        "skipped {} shard {spec} (up to date; --force to re-run)",
                        l.name
                    );
                    None
                }
            }),
            None => run_or_skip(l, opts).map(Some),
        };
        match result {
            Ok(None) => completed.push(l.name.as_str()),
            Ok(Some(Outcome::Ran(done))) => {
                completed.push(l.name.as_str());
                let warnings = &done.outputs.warnings;
                let note = outcome_note(&done.outputs);
                println!(
                    "ok     {:<22} {} files in {} ({:.2} s{note})",
                    l.name,
                    done.files.len(),
                    done.dir.display(),
                    done.elapsed.as_secs_f64()
                );
                for w in warnings {
                    println!("  warning: {w}");
                }
            }
            Ok(Some(Outcome::Skipped { .. })) => {
                completed.push(l.name.as_str());
                println!("skipped {} (up to date; --force to re-run)", l.name);
            }
            Err(ExperimentError::Cancelled { .. }) => {
                not_run.push(l.name.as_str());
                println!("abandoned {:<19} (interrupted; nothing written)", l.name);
            }
            Err(e) => {
                eprintln!("error: {e}");
                println!("failed {:<22} (nothing written)", l.name);
                failed.push(l.name.as_str());
                ok = false;
            }
        }
    }
    if interrupted() {
        let list = |names: &[&str]| {
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        let failed = if failed.is_empty() {
            String::new()
        } else {
            format!("; failed: {}", failed.join(", "))
        };
        eprintln!(
            "whiten: interrupted; completed: {}; not run: {}{failed}",
            list(&completed),
            list(&not_run)
        );
        return Ok(Status::Interrupted);
    }
    Ok(if ok { Status::Ok } else { Status::Failed })
}
