//! # whiten-experiments
//!
//! The experiment framework of the `whiten` workspace and its built-in experiments.
//!
//! * [`Experiment`]: one trait per experiment kind (its parameters are the implementing
//!   struct); [`Registry`] maps kind names to kinds.
//! * [`config`]: RON experiment files (`kind`, `name`, `seed`, `params`), parsed with unknown
//!   fields denied and errors located by file, line and column; relative paths in a file are
//!   resolved against its folder ([`paths`]).
//! * [`RunContext`]: master seed, independent ChaCha streams per task, parallel tasks with
//!   results in task order, progress bars.
//! * [`output`] and [`plot`]: summaries (`summary.json`), tables (CSV), figures (SVG, PNG),
//!   paper claims; [`runner`] writes them atomically into `OUT/<name>/`, with a
//!   [`manifest`] that lets `whiten run` skip up-to-date experiments.
//! * [`shard`]: one experiment's tasks split over several processes (`--shard I/N`, a Slurm
//!   job array) and the merge of their parts into the folder one run would have written;
//!   [`stored`]: exact serde forms of the model types that task results hold.
//! * [`images`]: image files (Sun raster, PNG, PGM, JPEG, TIFF) read as greyscale in [0, 1].
//! * [`data`]: users' own data files, data matrices and signals (`.npy`, `.csv`); [`npy`]:
//!   the `.npy` reader and writer (learned parameters are saved as `.npy`).
//! * [`resources`]: peak-memory estimates from the parameters, checked before a run.
//! * [`kinds`]: the experiments that reproduce the papers, grouped by paper
//!   ([`kinds::paper1`], [`kinds::paper2`]), and the registry of them all,
//!   [`builtin_registry`] ([`kinds::register_all`] adds them to a registry of one's own).
//!
//! The framework (the modules above) knows no kind; only [`kinds`] names them.
//!
//! Adding an experiment: write a parameter struct deriving `Serialize`, `Deserialize` and
//! `Default` (with `#[serde(default, deny_unknown_fields)]`), implement [`Experiment`] for it,
//! add it to [`kinds::register_all`], and put a RON file in `experiments/`.

pub mod config;
pub mod context;
pub mod data;
pub mod error;
pub mod experiment;
pub mod images;
pub mod kinds;
pub mod manifest;
pub mod npy;
pub mod output;
pub mod paths;
pub mod plot;
pub mod resources;
pub mod runner;
pub mod shard;
pub mod stored;

pub use config::{Loaded, load_file, load_str};
pub use context::RunContext;
pub use error::{ExperimentError, ParamError, Result};
pub use experiment::{DescribedParam, Experiment, Kind, ParamDoc, Registry, Runnable, param};
pub use kinds::builtin_registry;
pub use output::{Cell, Claim, Outputs, Table};
pub use paths::PathParam;
pub use plot::{Axis, Figure, Legend, Panel, Raster, Scale, Series, Style};
pub use runner::{Completed, Outcome, RunOptions, is_up_to_date, run_one, run_or_skip};
pub use shard::{Merged, ShardOutcome, ShardRun, ShardSpec, merge, run_shard, run_shard_or_skip};
