//! The run context handed to an experiment: its name and master seed, independent ChaCha
//! streams per task, parallel task execution with results in task order, and progress bars.
//!
//! Reproducibility: task `i` always draws from stream `i` of the experiment's seed, whichever
//! thread runs it, and results are collected by index, so outputs do not depend on the number
//! of threads.
//!
//! Cancellation: a context may carry a shared flag ([`RunContext::with_cancel`]); once it is
//! set, [`RunContext::par_tasks`] starts no new task and returns
//! [`ExperimentError::Cancelled`]. Every long loop of an experiment polls the flag between
//! steps ([`RunContext::stop_point`]); the model's own loops get it as a closure (circuit
//! training) or as an integrator [`whiten_ode::Interrupt`] ([`RunContext::interrupt`]), and
//! their interruption errors become [`ExperimentError::Cancelled`] through
//! [`RunContext::numerical`] and [`RunContext::integration`]. The flag is set by the caller (the CLI sets it on Ctrl-C); this library
//! handles no signals.
//!
//! Shards: a context may run only a slice of an experiment's tasks and stop
//! ([`crate::shard`]), or take every task's result from the parts of a sharded run instead
//! of computing them. Both happen inside [`RunContext::par_tasks`], so every kind whose work
//! goes through it can be sharded without code of its own; its task results must therefore
//! serialise (exactly: [`crate::shard::encode`]).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use whiten_core::CoreError;

use crate::error::{ExperimentError, Result};
use crate::shard::{MergedTasks, ShardSlot};

/// Where and how an experiment runs.
#[derive(Debug, Clone)]
pub struct RunContext {
    name: String,
    seed: u64,
    show_progress: bool,
    cancel: Option<Arc<AtomicBool>>,
    tasks: Tasks,
}

/// What [`RunContext::par_tasks`] does with an experiment's tasks.
#[derive(Debug, Clone, Default)]
enum Tasks {
    /// Computes them all (a normal run).
    #[default]
    All,
    /// Computes the shard's slice of the first call's tasks, keeps their encoded results in
    /// the slot and stops the experiment ([`ExperimentError::ShardDone`]).
    Shard(Arc<ShardSlot>),
    /// Takes the first call's results from the merged parts; later calls compute.
    Merge(Arc<MergedTasks>),
}

impl RunContext {
    /// A context for experiment `name` with master `seed`. Progress bars are drawn only when
    /// stderr is a terminal.
    pub fn new(name: impl Into<String>, seed: u64) -> Self {
        Self {
            name: name.into(),
            seed,
            show_progress: std::io::stderr().is_terminal(),
            cancel: None,
            tasks: Tasks::All,
        }
    }

    /// A context that computes only shard `slot`'s slice of the tasks of the first
    /// [`Self::par_tasks`] call, keeps their results in the slot and ends the run there.
    pub(crate) fn sharded(mut self, slot: Arc<ShardSlot>) -> Self {
        self.tasks = Tasks::Shard(slot);
        self
    }

    /// A context whose first [`Self::par_tasks`] call returns the results held by `merged`.
    pub(crate) fn merging(mut self, merged: Arc<MergedTasks>) -> Self {
        self.tasks = Tasks::Merge(merged);
        self
    }

    /// Lets the run be cancelled: once `flag` is set, no new task starts and the run ends
    /// with [`ExperimentError::Cancelled`].
    pub fn with_cancel(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Whether cancellation was requested. Long experiments may poll it between steps and
    /// return [`Self::cancellation`] when it is true.
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// `Err(`[`Self::cancellation`]`)` once cancellation was requested: `ctx.stop_point()?`
    /// between the steps of a long loop.
    pub fn stop_point(&self) -> Result<()> {
        if self.cancelled() {
            Err(self.cancellation())
        } else {
            Ok(())
        }
    }

    /// The cancellation flag as an integrator [`whiten_ode::Interrupt`], for
    /// [`whiten_ode::Options::interrupt`]: a cancelled run stops inside an integration.
    pub fn interrupt(&self) -> Option<whiten_ode::Interrupt> {
        self.cancel.clone().map(whiten_ode::Interrupt::from_flag)
    }

    /// The error a cancelled run returns.
    pub fn cancellation(&self) -> ExperimentError {
        ExperimentError::Cancelled {
            experiment: self.name.clone(),
        }
    }

    /// Turns progress bars off (tests, CI).
    pub fn without_progress(mut self) -> Self {
        self.show_progress = false;
        self
    }

    /// The experiment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The random stream of task `task`: ChaCha8 seeded with the master seed, on stream
    /// `task`. Independent across tasks and identical on every run.
    pub fn rng(&self, task: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        // set_stream keeps the word position: call it right after seeding.
        rng.set_stream(task);
        rng
    }

    /// A progress bar of `len` steps labelled `label` (hidden unless stderr is a terminal).
    pub fn progress(&self, len: u64, label: &str) -> ProgressBar {
        if !self.show_progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>20} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}: {label}", self.name));
        bar
    }

    /// The stream for set-up work done before the tasks (drawing a covariance, say): stream 0.
    pub fn setup_rng(&self) -> ChaCha8Rng {
        self.rng(0)
    }

    /// Runs `count` tasks in parallel (rayon); task `i` gets stream `i + 1` (stream 0 is
    /// [`Self::setup_rng`]).
    /// Results come back in task order; the first error (in task order) is returned. Once the
    /// context is [cancelled](Self::cancelled), tasks not yet started are skipped and the
    /// result is [`ExperimentError::Cancelled`] (unless an earlier task failed).
    ///
    /// In a sharded run the first call computes only the shard's tasks and returns
    /// [`ExperimentError::ShardDone`] (the experiment stops, the runner writes the part); in a
    /// merge it returns the results read from the parts. The results serialise for that.
    pub fn par_tasks<T, F>(&self, count: usize, label: &str, f: F) -> Result<Vec<T>>
    where
        T: Send + Serialize + DeserializeOwned,
        F: Fn(usize, &mut ChaCha8Rng) -> Result<T> + Sync + Send,
    {
        match &self.tasks {
            Tasks::Shard(slot) if slot.is_open() => {
                let mine = slot.spec().tasks(count);
                let results = self.run_tasks(&mine, label, &f)?;
                slot.keep(self, count, label, &mine, &results)?;
                Err(ExperimentError::ShardDone {
                    experiment: self.name.clone(),
                })
            }
            Tasks::Merge(merged) => match merged.take(self, count, label)? {
                Some(results) => Ok(results),
                None => self.run_tasks(&(0..count).collect::<Vec<_>>(), label, &f),
            },
            _ => self.run_tasks(&(0..count).collect::<Vec<_>>(), label, &f),
        }
    }

    /// Runs the tasks `indices` in parallel; results in the order of `indices`.
    fn run_tasks<T, F>(&self, indices: &[usize], label: &str, f: &F) -> Result<Vec<T>>
    where
        T: Send,
        F: Fn(usize, &mut ChaCha8Rng) -> Result<T> + Sync + Send,
    {
        let bar = self.progress(indices.len() as u64, label);
        let results: Vec<Result<T>> = indices
            .par_iter()
            .map(|&i| {
                if self.cancelled() {
                    return Err(self.cancellation());
                }
                let mut rng = self.rng(i as u64 + 1);
                let r = f(i, &mut rng);
                bar.inc(1);
                r
            })
            .collect();
        bar.finish_and_clear();
        if self.cancelled() {
            // A task may have finished after the flag was set; the run is abandoned anyway.
            if let Some(e) = results.into_iter().find_map(|r| r.err()) {
                return Err(e);
            }
            return Err(self.cancellation());
        }
        results.into_iter().collect()
    }

    /// Wraps a model error with this experiment's name and where it happened.
    /// A loop of the model stopped by this context's cancellation is reported as
    /// [`ExperimentError::Cancelled`].
    pub fn numerical(&self, at: impl Into<String>, source: CoreError) -> ExperimentError {
        if core_interrupted(&source) {
            return self.cancellation();
        }
        ExperimentError::Numerical {
            experiment: self.name.clone(),
            at: at.into(),
            source,
        }
    }

    /// Wraps an integrator error with this experiment's name and what was integrated.
    pub fn integration(
        &self,
        at: impl Into<String>,
        source: whiten_ode::OdeError,
    ) -> ExperimentError {
        if let whiten_ode::OdeError::Interrupted { .. } = source {
            return self.cancellation();
        }
        ExperimentError::Integration {
            experiment: self.name.clone(),
            at: at.into(),
            source,
        }
    }

    /// A run failure that is not a model error.
    pub fn failure(&self, message: impl Into<String>) -> ExperimentError {
        ExperimentError::Run {
            experiment: self.name.clone(),
            message: message.into(),
        }
    }
}

/// Whether `e` is a model loop stopped from outside (possibly wrapped with its iteration).
fn core_interrupted(e: &CoreError) -> bool {
    match e {
        CoreError::Interrupted { .. } => true,
        CoreError::Learning { source, .. } => core_interrupted(source),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let ctx = RunContext::new("t", 7).without_progress();
        let a: f64 = ctx.rng(3).random();
        let b: f64 = ctx.rng(3).random();
        let c: f64 = ctx.rng(4).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let other: f64 = RunContext::new("t", 8).rng(3).random();
        assert_ne!(a, other);
    }

    #[test]
    fn parallel_tasks_do_not_depend_on_thread_count() {
        let ctx = RunContext::new("t", 1).without_progress();
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    ctx.par_tasks(64, "x", |i, rng| Ok(i as f64 + rng.random::<f64>()))
                        .unwrap()
                })
        };
        assert_eq!(run(1), run(2));
        assert_eq!(run(2), run(3));
    }

    #[test]
    fn cancelled_tasks_stop_with_a_typed_error() {
        let flag = Arc::new(AtomicBool::new(false));
        let ctx = RunContext::new("t", 1)
            .without_progress()
            .with_cancel(flag.clone());
        assert!(!ctx.cancelled());
        let started = std::sync::atomic::AtomicUsize::new(0);
        // One thread, so tasks run in order: task 3 sets the flag, later ones never start.
        let r = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| {
                ctx.par_tasks(100, "x", |i, _| {
                    started.fetch_add(1, Ordering::Relaxed);
                    if i == 3 {
                        flag.store(true, Ordering::Relaxed);
                    }
                    Ok(i)
                })
            });
        assert!(matches!(r, Err(ExperimentError::Cancelled { .. })), "{r:?}");
        assert!(ctx.cancelled());
        assert!(started.load(Ordering::Relaxed) < 100);
    }
}
