//! Errors of the experiment framework: configuration errors located in their RON file,
//! refused parameters, numerical failures of a run (wrapping [`whiten_core::CoreError`]) and
//! output failures.

use std::path::PathBuf;

use thiserror::Error;
use whiten_core::CoreError;

/// A parameter refused by an experiment's check, before any work starts.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("params.{field}: {reason}")]
pub struct ParamError {
    /// The offending field (dotted path inside `params`).
    pub field: String,
    /// Why it is refused, with the values involved.
    pub reason: String,
}

impl ParamError {
    /// A refusal of `field` for `reason`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Errors of loading, checking, running and writing experiments.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExperimentError {
    /// The experiment file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The RON text is malformed or does not match the experiment's parameters.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong (names the field where there is one).
        message: String,
    },
    /// The file names a kind that is not registered.
    #[error("{}:{line}:{column}: unknown experiment kind `{kind}`; known kinds: {}", path.display(), known.join(", "))]
    UnknownKind {
        /// The file.
        path: PathBuf,
        /// Line of the `kind` field.
        line: usize,
        /// Column of the `kind` field.
        column: usize,
        /// The kind given.
        kind: String,
        /// The registered kinds.
        known: Vec<String>,
    },
    /// A parameter was refused by the experiment's check.
    #[error("{}:{line}:{column}: {source}", path.display())]
    Param {
        /// The file.
        path: PathBuf,
        /// Line of the field (of `params` when the field is not written in the file).
        line: usize,
        /// Column of the field.
        column: usize,
        /// The refusal.
        source: ParamError,
    },
    /// A numerical failure during a run (divergence, loss of positive definiteness, ...).
    #[error("experiment `{experiment}` failed at {at}: {source}")]
    Numerical {
        /// The experiment's name.
        experiment: String,
        /// Where: step, iteration or time.
        at: String,
        /// The model's error.
        source: CoreError,
    },
    /// An integration of a gradient flow failed (step-size underflow, too many steps, a
    /// non-finite state), at the time the error carries.
    #[error("experiment `{experiment}` failed integrating {at}: {source}")]
    Integration {
        /// The experiment's name.
        experiment: String,
        /// Which flow, from where.
        at: String,
        /// The integrator's error.
        source: whiten_ode::OdeError,
    },
    /// A failure inside a run that is not a model error.
    #[error("experiment `{experiment}` failed: {message}")]
    Run {
        /// The experiment's name.
        experiment: String,
        /// What went wrong.
        message: String,
    },
    /// Writing outputs failed.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Drawing a figure failed.
    #[error("figure `{figure}`: {message}")]
    Plot {
        /// The figure's file stem.
        figure: String,
        /// The backend's message.
        message: String,
    },
    /// The run would need more memory than the limit (estimated from its parameters).
    #[error("{}:{line}:{column}: params: estimated peak memory {estimate} exceeds {limit}; reduce the sizes or the threads", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Line of its `params`.
        line: usize,
        /// Column of its `params`.
        column: usize,
        /// The estimate and what it follows from.
        estimate: String,
        /// The limit and where it comes from.
        limit: String,
    },
    /// The run was cancelled (the cancellation flag of its [`crate::RunContext`] was set)
    /// before it finished; nothing was written.
    #[error("experiment `{experiment}` was cancelled")]
    Cancelled {
        /// The experiment's name.
        experiment: String,
    },
    /// Internal to sharded runs: the experiment computed its shard's tasks and stops there
    /// ([`crate::shard`]); the runner writes the part folder. Never seen outside a shard run.
    #[error("experiment `{experiment}`: shard computed (its part is written by the runner)")]
    ShardDone {
        /// The experiment's name.
        experiment: String,
    },
    /// A `--shard I/N` that is not two integers with `0 <= I < N`.
    #[error("--shard {text}: {reason}")]
    BadShard {
        /// The argument as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A part folder that cannot be merged: not a part, incomplete, corrupted, foreign (another
    /// configuration, code or inputs), or not matching the experiment's tasks.
    #[error("{}: {reason}", part.display())]
    BadPart {
        /// The part folder.
        part: PathBuf,
        /// Why it is refused.
        reason: String,
    },
    /// The same shard given twice to a merge.
    #[error("shard {index}/{count} of `{experiment}` is given twice: {} and {}", first.display(), second.display())]
    DuplicateShard {
        /// The experiment's name.
        experiment: String,
        /// The shard's index (0-based, as `$SLURM_ARRAY_TASK_ID`).
        index: usize,
        /// Number of shards.
        count: usize,
        /// One part folder.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Shards missing from a merge (each a failed or never-run array task, say).
    #[error("`{experiment}`: {}; nothing written. Re-run them: shards that are up to date are skipped", missing_shards(missing, *count))]
    MissingShards {
        /// The experiment's name.
        experiment: String,
        /// The missing shard indices.
        missing: Vec<usize>,
        /// Number of shards.
        count: usize,
    },
}

/// `missing shards 1/4, 3/4 (array task ids 1, 3)`.
fn missing_shards(missing: &[usize], count: usize) -> String {
    let plural = if missing.len() == 1 { "" } else { "s" };
    let shards: Vec<String> = missing.iter().map(|i| format!("{i}/{count}")).collect();
    let ids: Vec<String> = missing.iter().map(ToString::to_string).collect();
    format!(
        "missing shard{plural} {} (array task id{plural} {})",
        shards.join(", "),
        ids.join(", ")
    )
}

/// Result with [`ExperimentError`].
pub type Result<T, E = ExperimentError> = std::result::Result<T, E>;
