//! Sharded runs: one experiment's tasks split over N processes (a Slurm job array, say), and
//! the merge of their parts into the folder one run would have written, byte for byte.
//!
//! * **Shard.** [`run_shard`] runs an experiment with a [`RunContext`] that, at the first
//!   [`RunContext::par_tasks`] call, computes only shard `I` of `N`'s slice of the tasks (task
//!   `i` belongs to shard `i % N`: round robin, so that tasks of growing cost spread evenly),
//!   encodes each task's result ([`encode`]) and stops the experiment there. Each task draws
//!   from its own seeded stream whichever process runs it, so the union of the shards is the
//!   work of one run. The part folder `OUT/<name>.shard-I-of-N/` holds `config.ron` (the
//!   resolved configuration, what the merge reloads), `tasks.bin` (the encoded results) and,
//!   written last, `shard.json` ([`ShardManifest`]: kind, name, the configuration hash that
//!   also covers the kind's version and the content of every input file, this build's version
//!   and source fingerprint, `I/N`, the task indices and count, the wall time). A part that is
//!   up to date (same hash, build and shard, files intact) is skipped, as runs are.
//! * **Merge.** [`merge`] checks that the parts share one configuration, build and shard
//!   count, that no shard is given twice and none is missing (naming which), that each holds
//!   exactly its slice of the tasks and that its files are intact; it reloads the configuration
//!   from `config.ron` and refuses it if the hash no longer matches (an input file changed
//!   since). Then the experiment runs again with a context whose first `par_tasks` call returns
//!   the decoded results instead of computing them; everything after it (summary, tables,
//!   figures, claims, learned parameters, `config.ron`, `manifest.json`) is computed and
//!   written exactly as in a normal run, so the merged folder is byte-identical to the
//!   unsharded run's. A refused merge writes nothing.
//!
//! Encoding: postcard (serde), which stores every `f64` as its 8 bytes, so results round-trip
//! exactly, NaN and infinities included.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::config::{Loaded, load_file};
use crate::context::RunContext;
use crate::error::{ExperimentError, Result};
use crate::experiment::Registry;
use crate::manifest::{SOURCE_FINGERPRINT, TOOL_VERSION, sha256_hex};
use crate::output::write_file;
use crate::runner::{self, Completed, RunOptions};

/// The part's manifest, written last into a part folder.
pub const SHARD_MANIFEST_FILE: &str = "shard.json";
/// The encoded task results of a part.
pub const TASKS_FILE: &str = "tasks.bin";
/// The resolved configuration of a part (as in an experiment folder).
pub const CONFIG_FILE: &str = "config.ron";

/// Format of [`ShardManifest`]; bump when the meaning of a field changes.
const FORMAT: u32 = 1;

/// Shard `index` of `count` (0-based, as `$SLURM_ARRAY_TASK_ID` with `--array=0-(N-1)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardSpec {
    index: usize,
    count: usize,
}

impl ShardSpec {
    /// Shard `index` of `count`: needs `count >= 1` and `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        let bad = |reason: String| ExperimentError::BadShard {
            text: format!("{index}/{count}"),
            reason,
        };
        if count == 0 {
            return Err(bad("the number of shards N must be at least 1".into()));
        }
        if index >= count {
            return Err(bad(format!(
                "the shard index must be below N: shards are numbered 0 to {} (as \
                 $SLURM_ARRAY_TASK_ID with --array=0-{})",
                count - 1,
                count - 1
            )));
        }
        Ok(Self { index, count })
    }

    /// The shard's index, 0-based.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The number of shards.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The tasks of this shard among `tasks`: `i` with `i % N == I`, ascending.
    pub fn tasks(&self, tasks: usize) -> Vec<usize> {
        (self.index..tasks).step_by(self.count).collect()
    }

    /// The part folder's name for experiment `name`: `<name>.shard-I-of-N`.
    pub fn folder_name(&self, name: &str) -> String {
        format!("{name}.shard-{}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for ShardSpec {
    type Err = ExperimentError;

    /// `I/N`, two non-negative integers with `I < N`.
    fn from_str(text: &str) -> Result<Self> {
        let bad = |reason: &str| ExperimentError::BadShard {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| bad("expected I/N, for example 0/4 (shard 0 of 4)"))?;
        let number = |s: &str, what: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad(&format!("{what} `{s}` is not a non-negative integer")))
        };
        let (i, n) = (number(i, "I")?, number(n, "N")?);
        Self::new(i, n).map_err(|e| match e {
            ExperimentError::BadShard { reason, .. } => bad(&reason),
            other => other,
        })
    }
}

/// Encodes a task result exactly (postcard: every `f64` as its 8 bytes).
pub fn encode<T: Serialize>(value: &T) -> std::result::Result<Vec<u8>, String> {
    postcard::to_stdvec(value).map_err(|e| e.to_string())
}

/// Decodes what [`encode`] wrote; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> std::result::Result<T, String> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes left over after the value", rest.len()));
    }
    Ok(value)
}

/// One encoded task result.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EncodedTask {
    index: u64,
    bytes: Vec<u8>,
}

/// What a shard's first `par_tasks` call computed.
#[derive(Debug)]
struct Kept {
    task_count: usize,
    label: String,
    tasks: Vec<EncodedTask>,
}

/// Where a sharded context leaves its tasks' results (see [`RunContext::par_tasks`]).
#[derive(Debug)]
pub(crate) struct ShardSlot {
    spec: ShardSpec,
    kept: Mutex<Option<Kept>>,
}

impl ShardSlot {
    fn new(spec: ShardSpec) -> Self {
        Self {
            spec,
            kept: Mutex::new(None),
        }
    }

    pub(crate) fn spec(&self) -> ShardSpec {
        self.spec
    }

    /// Whether no tasks were kept yet (only the first `par_tasks` call is sharded).
    pub(crate) fn is_open(&self) -> bool {
        self.kept.lock().map(|k| k.is_none()).unwrap_or(false)
    }

    /// Encodes and keeps the results of tasks `mine` (of `task_count`).
    pub(crate) fn keep<T: Serialize>(
        &self,
        ctx: &RunContext,
        task_count: usize,
        label: &str,
        mine: &[usize],
        results: &[T],
    ) -> Result<()> {
        let tasks = mine
            .iter()
            .zip(results)
            .map(|(&i, r)| {
                encode(r)
                    .map(|bytes| EncodedTask {
                        index: i as u64,
                        bytes,
                    })
                    .map_err(|e| ctx.failure(format!("cannot encode the result of task {i}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut kept = self
            .kept
            .lock()
            .map_err(|_| ctx.failure("a shard task panicked"))?;
        *kept = Some(Kept {
            task_count,
            label: label.to_owned(),
            tasks,
        });
        Ok(())
    }

    fn take(&self) -> Option<Kept> {
        self.kept.lock().ok().and_then(|mut k| k.take())
    }
}

/// The task results of every part of a merge, handed to the first `par_tasks` call.
#[derive(Debug)]
pub(crate) struct MergedTasks {
    task_count: usize,
    label: String,
    tasks: Mutex<Option<Vec<Vec<u8>>>>,
    taken: AtomicBool,
}

impl MergedTasks {
    /// The decoded results, the first time (`None` afterwards: later calls compute).
    pub(crate) fn take<T: DeserializeOwned>(
        &self,
        ctx: &RunContext,
        count: usize,
        label: &str,
    ) -> Result<Option<Vec<T>>> {
        let Some(tasks) = self.tasks.lock().ok().and_then(|mut t| t.take()) else {
            return Ok(None);
        };
        self.taken.store(true, Ordering::SeqCst);
        if count != self.task_count || label != self.label {
            return Err(ctx.failure(format!(
                "the parts hold {} tasks of `{}`, but the experiment now has {count} of `{label}`",
                self.task_count, self.label
            )));
        }
        tasks
            .iter()
            .enumerate()
            .map(|(i, bytes)| {
                decode(bytes).map_err(|e| {
                    ctx.failure(format!(
                        "cannot decode the result of task {i} (written by another build?): {e}"
                    ))
                })
            })
            .collect::<Result<Vec<T>>>()
            .map(Some)
    }
}

/// One file of a part, with its size and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartFile {
    /// Name inside the part folder.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

/// The contents of a part's `shard.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardManifest {
    /// Format version.
    pub format: u32,
    /// The experiment's kind.
    pub kind: String,
    /// The experiment's name.
    pub name: String,
    /// Version of whiten-experiments that wrote the part.
    pub version: String,
    /// Source fingerprint of the build that wrote the part.
    pub source: String,
    /// Hex SHA-256 of the resolved configuration, the kind's version and every input file's
    /// content (as in `manifest.json`).
    pub config_sha256: String,
    /// The shard's index, 0-based.
    pub shard: usize,
    /// The number of shards.
    pub shards: usize,
    /// The label of the sharded tasks (`images`, `flows`, ...).
    pub label: String,
    /// Number of tasks of the whole experiment.
    pub task_count: usize,
    /// The tasks this part holds, ascending.
    pub tasks: Vec<usize>,
    /// Wall time of the shard's run, in seconds (the only time recorded; merged outputs hold
    /// none).
    pub elapsed_seconds: f64,
    /// `config.ron` and `tasks.bin` with their sizes and digests.
    pub files: Vec<PartFile>,
}

impl ShardManifest {
    fn spec(&self) -> Result<ShardSpec> {
        ShardSpec::new(self.shard, self.shards)
    }

    /// Reads `dir/shard.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let bad = |reason: String| ExperimentError::BadPart {
            part: dir.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(bad("no such part folder".into()));
        }
        let path = dir.join(SHARD_MANIFEST_FILE);
        let text = fs::read_to_string(&path).map_err(|e| {
            bad(format!(
                "not a complete part (cannot read {SHARD_MANIFEST_FILE}: {e}); its shard did not finish"
            ))
        })?;
        serde_json::from_str(&text)
            .map_err(|e| bad(format!("{SHARD_MANIFEST_FILE} is malformed: {e}")))
    }

    /// Why the files of part `dir` do not match this manifest, if they do not.
    fn damage(&self, dir: &Path) -> Option<String> {
        for f in &self.files {
            if f.path.contains(['/', '\\']) || f.path.starts_with('.') {
                return Some(format!("lists a file outside the folder: {}", f.path));
            }
            match fs::read(dir.join(&f.path)) {
                Err(e) => return Some(format!("{}: cannot read: {e}", f.path)),
                Ok(bytes) if bytes.len() as u64 != f.size || sha256_hex(&bytes) != f.sha256 => {
                    return Some(format!(
                        "{} does not match its manifest (changed or truncated)",
                        f.path
                    ));
                }
                Ok(_) => {}
            }
        }
        None
    }

    /// Whether this part is up to date for configuration `hash` and shard `spec`.
    fn is_current(&self, dir: &Path, hash: &str, spec: ShardSpec) -> bool {
        self.format == FORMAT
            && self.version == TOOL_VERSION
            && self.source == SOURCE_FINGERPRINT
            && self.config_sha256 == hash
            && self.spec().is_ok_and(|s| s == spec)
            && self.files.iter().any(|f| f.path == TASKS_FILE)
            && self.files.iter().any(|f| f.path == CONFIG_FILE)
            && self.damage(dir).is_none()
    }
}

/// The part folder of `name`'s shard `spec` under `out`.
pub fn part_dir(out: &Path, name: &str, spec: ShardSpec) -> PathBuf {
    out.join(spec.folder_name(name))
}

/// Whether the part folder of `loaded`'s shard `spec` under `opts.out` is up to date.
pub fn shard_is_up_to_date(loaded: &Loaded, opts: &RunOptions, spec: ShardSpec) -> bool {
    let (_, _, hash) = runner::resolved(loaded, opts);
    let dir = part_dir(&opts.out, &loaded.name, spec);
    ShardManifest::read(&dir).is_ok_and(|m| m.is_current(&dir, &hash, spec))
}

/// A shard that ran.
#[derive(Debug)]
pub struct ShardRun {
    /// The part folder.
    pub dir: PathBuf,
    /// Which shard.
    pub spec: ShardSpec,
    /// The tasks it computed.
    pub tasks: Vec<usize>,
    /// Number of tasks of the whole experiment.
    pub task_count: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// What [`run_shard_or_skip`] did.
#[derive(Debug)]
pub enum ShardOutcome {
    /// The shard ran and its part folder was written.
    Ran(ShardRun),
    /// Its part folder was up to date; nothing was run or written.
    Skipped {
        /// The part folder.
        dir: PathBuf,
    },
}

/// Skips shard `spec` of `loaded` if its part is up to date (unless [`RunOptions::force`]),
/// else runs it ([`run_shard`]).
pub fn run_shard_or_skip(
    loaded: &Loaded,
    opts: &RunOptions,
    spec: ShardSpec,
) -> Result<ShardOutcome> {
    runner::clean_stale(&opts.out, &spec.folder_name(&loaded.name))?;
    if !opts.force && shard_is_up_to_date(loaded, opts, spec) {
        info!(name = %loaded.name, shard = %spec, "shard up to date, skipped");
        return Ok(ShardOutcome::Skipped {
            dir: part_dir(&opts.out, &loaded.name, spec),
        });
    }
    run_shard(loaded, opts, spec).map(ShardOutcome::Ran)
}

/// Runs shard `spec` of `loaded`: computes its slice of the experiment's tasks and writes the
/// part folder `OUT/<name>.shard-I-of-N/` atomically, `shard.json` last. A failed or cancelled
/// shard writes nothing.
pub fn run_shard(loaded: &Loaded, opts: &RunOptions, spec: ShardSpec) -> Result<ShardRun> {
    let folder = spec.folder_name(&loaded.name);
    runner::clean_stale(&opts.out, &folder)?;
    let (seed, config, hash) = runner::resolved(loaded, opts);
    let slot = std::sync::Arc::new(ShardSlot::new(spec));
    let ctx = runner::context(loaded, opts, seed)?.sharded(slot.clone());
    info!(name = %loaded.name, kind = loaded.experiment.kind(), seed, shard = %spec, "running shard");
    let start = Instant::now();
    match loaded.experiment.run(&ctx) {
        Err(ExperimentError::ShardDone { .. }) => {}
        Err(e) => return Err(e),
        Ok(_) => {
            return Err(ctx.failure(format!(
                "kind `{}` ran without tasks (no RunContext::par_tasks call), so it cannot be \
                 sharded; run it without --shard",
                loaded.experiment.kind()
            )));
        }
    }
    let elapsed = start.elapsed();
    let kept = slot
        .take()
        .ok_or_else(|| ctx.failure("the shard's tasks were not kept"))?;
    let tasks: Vec<usize> = kept.tasks.iter().map(|t| t.index as usize).collect();
    let encoded = postcard::to_stdvec(&kept.tasks)
        .map_err(|e| ctx.failure(format!("cannot encode the shard's tasks: {e}")))?;
    let dir = part_dir(&opts.out, &loaded.name, spec);
    runner::write_atomically(&opts.out, &folder, |tmp| {
        let mut files = Vec::new();
        for (name, bytes) in [(CONFIG_FILE, config.as_bytes()), (TASKS_FILE, &encoded)] {
            write_file(&tmp.join(name), bytes)?;
            files.push(PartFile {
                path: name.to_owned(),
                size: bytes.len() as u64,
                sha256: sha256_hex(bytes),
            });
        }
        let manifest = ShardManifest {
            format: FORMAT,
            kind: loaded.experiment.kind().to_owned(),
            name: loaded.name.clone(),
            version: TOOL_VERSION.to_owned(),
            source: SOURCE_FINGERPRINT.to_owned(),
            config_sha256: hash.clone(),
            shard: spec.index,
            shards: spec.count,
            label: kept.label.clone(),
            task_count: kept.task_count,
            tasks: tasks.clone(),
            elapsed_seconds: elapsed.as_secs_f64(),
            files,
        };
        let text = serde_json::to_string_pretty(&manifest).expect("a manifest always serialises");
        // Written last: its presence marks the part complete.
        write_file(
            &tmp.join(SHARD_MANIFEST_FILE),
            format!("{text}\n").as_bytes(),
        )
    })?;
    info!(name = %loaded.name, shard = %spec, tasks = tasks.len(), task_count = kept.task_count, ?elapsed, "shard done");
    Ok(ShardRun {
        dir,
        spec,
        tasks,
        task_count: kept.task_count,
        elapsed,
    })
}

/// What [`merge`] gathered and wrote.
#[derive(Debug)]
pub struct Merged {
    /// The experiment folder written, as a run would have.
    pub completed: Completed,
    /// The experiment's name.
    pub name: String,
    /// Tasks gathered.
    pub tasks: usize,
    /// Shards gathered.
    pub shards: usize,
    /// The slowest shard and its wall time (from the parts' manifests).
    pub slowest: (ShardSpec, Duration),
}

/// Merges the part folders `parts` of one sharded run into `opts.out/<name>/`, the folder an
/// unsharded run would have written, byte for byte. Refuses (writing nothing) parts that are
/// incomplete, damaged or foreign (another configuration, build or shard count), a shard
/// given twice and missing shards. `opts.seed` is ignored: the parts' configuration holds
/// the seed they ran with. `opts.force` is ignored: a merge always writes.
pub fn merge(parts: &[PathBuf], opts: &RunOptions, registry: &Registry) -> Result<Merged> {
    let Some(first) = parts.first() else {
        return Err(ExperimentError::BadPart {
            part: opts.out.clone(),
            reason: "no part folders to merge".into(),
        });
    };
    let manifests = parts
        .iter()
        .map(|p| ShardManifest::read(p))
        .collect::<Result<Vec<_>>>()?;
    let m0 = &manifests[0];
    let foreign = |part: &Path, reason: String| ExperimentError::BadPart {
        part: part.to_path_buf(),
        reason,
    };
    // Same configuration, build and shard count as the first part, and as this build.
    for (part, m) in parts.iter().zip(&manifests) {
        if m.format != FORMAT {
            return Err(foreign(
                part,
                format!(
                    "part format {} (this build reads {FORMAT}); re-run the shard",
                    m.format
                ),
            ));
        }
        if m.version != TOOL_VERSION || m.source != SOURCE_FINGERPRINT {
            return Err(foreign(
                part,
                format!(
                    "written by another build of whiten (version {}, source {}; this one is \
                     {TOOL_VERSION}, source {SOURCE_FINGERPRINT}); re-run the shards with this build",
                    m.version, m.source
                ),
            ));
        }
        if (&m.kind, &m.name, &m.config_sha256) != (&m0.kind, &m0.name, &m0.config_sha256) {
            return Err(foreign(
                part,
                format!(
                    "foreign shard: it belongs to `{}` ({}, configuration {}), not to `{}` \
                     ({}, configuration {}) as {} does",
                    m.name,
                    m.kind,
                    short(&m.config_sha256),
                    m0.name,
                    m0.kind,
                    short(&m0.config_sha256),
                    first.display()
                ),
            ));
        }
        if m.shards != m0.shards {
            return Err(foreign(
                part,
                format!(
                    "foreign shard: it is shard {}/{}, but {} is one of {} shards",
                    m.shard,
                    m.shards,
                    first.display(),
                    m0.shards
                ),
            ));
        }
    }
    // Each shard once, none missing.
    let count = m0.shards;
    let mut by_index: BTreeMap<usize, usize> = BTreeMap::new();
    for (p, m) in manifests.iter().enumerate() {
        let spec = m.spec().map_err(|e| foreign(&parts[p], e.to_string()))?;
        if let Some(&q) = by_index.get(&spec.index) {
            return Err(ExperimentError::DuplicateShard {
                experiment: m.name.clone(),
                index: spec.index,
                count,
                first: parts[q].clone(),
                second: parts[p].clone(),
            });
        }
        by_index.insert(spec.index, p);
    }
    let missing: Vec<usize> = (0..count).filter(|i| !by_index.contains_key(i)).collect();
    if !missing.is_empty() {
        return Err(ExperimentError::MissingShards {
            experiment: m0.name.clone(),
            missing,
            count,
        });
    }
    // Each part intact and holding exactly its slice of the same tasks.
    let task_count = m0.task_count;
    let mut tasks: Vec<Option<Vec<u8>>> = vec![None; task_count];
    for (&index, &p) in &by_index {
        let (part, m) = (&parts[p], &manifests[p]);
        if let Some(why) = m.damage(part) {
            return Err(foreign(
                part,
                format!("damaged part: {why}; re-run shard {index}/{count}"),
            ));
        }
        if m.task_count != task_count || m.label != m0.label {
            return Err(foreign(
                part,
                format!(
                    "holds {} tasks of `{}`, but {} holds {task_count} of `{}`",
                    m.task_count,
                    m.label,
                    first.display(),
                    m0.label
                ),
            ));
        }
        let expected = ShardSpec { index, count }.tasks(task_count);
        let bytes = fs::read(part.join(TASKS_FILE))
            .map_err(|e| foreign(part, format!("cannot read {TASKS_FILE}: {e}")))?;
        let held: Vec<EncodedTask> = postcard::from_bytes(&bytes)
            .map_err(|e| foreign(part, format!("{TASKS_FILE} is malformed: {e}")))?;
        let indices: Vec<usize> = held.iter().map(|t| t.index as usize).collect();
        if m.tasks != expected || indices != expected {
            return Err(foreign(
                part,
                format!(
                    "holds tasks {:?}, but shard {index}/{count} of {task_count} tasks is {:?}",
                    indices, expected
                ),
            ));
        }
        for t in held {
            tasks[t.index as usize] = Some(t.bytes);
        }
    }
    // Round robin over every shard covers every task exactly once.
    let tasks: Vec<Vec<u8>> = tasks.into_iter().flatten().collect();
    debug_assert_eq!(tasks.len(), task_count);

    // The configuration, reloaded; its hash (inputs included) must still be the parts'.
    let loaded = load_file(&first.join(CONFIG_FILE), registry)?;
    let opts = RunOptions {
        seed: None,
        ..opts.clone()
    };
    let (seed, config, hash) = runner::resolved(&loaded, &opts);
    if hash != m0.config_sha256 {
        return Err(foreign(
            first,
            format!(
                "the configuration no longer matches the parts (configuration {} now, {} when \
                 the shards ran): an input file changed since; re-run the shards",
                short(&hash),
                short(&m0.config_sha256)
            ),
        ));
    }
    let merged = std::sync::Arc::new(MergedTasks {
        task_count,
        label: m0.label.clone(),
        tasks: Mutex::new(Some(tasks)),
        taken: AtomicBool::new(false),
    });
    let ctx = runner::context(&loaded, &opts, seed)?.merging(merged.clone());
    info!(name = %loaded.name, shards = count, tasks = task_count, "merging");
    let completed = runner::run_in(&loaded, &opts, &ctx, &config, &hash, || {
        if merged.taken.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(ctx.failure("the experiment did not ask for its tasks; nothing merged"))
        }
    })?;
    let slowest = manifests
        .iter()
        .filter_map(|m| m.spec().ok().map(|s| (s, m.elapsed_seconds)))
        .fold((ShardSpec { index: 0, count }, 0.0f64), |a, b| {
            if b.1 > a.1 { b } else { a }
        });
    Ok(Merged {
        completed,
        name: loaded.name.clone(),
        tasks: task_count,
        shards: count,
        slowest: (
            slowest.0,
            Duration::try_from_secs_f64(slowest.1).unwrap_or_default(),
        ),
    })
}

/// The first 12 hex digits of a hash.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_refuse() {
        let s: ShardSpec = "1/4".parse().unwrap();
        assert_eq!((s.index(), s.count()), (1, 4));
        assert_eq!(s.to_string(), "1/4");
        assert_eq!(s.tasks(10), vec![1, 5, 9]);
        assert_eq!(s.folder_name("e"), "e.shard-1-of-4");
        for bad in ["5/4", "4/4", "0/0", "a/b", "1", "-1/4", "1/4/2", ""] {
            let e = bad.parse::<ShardSpec>().unwrap_err();
            assert!(
                matches!(&e, ExperimentError::BadShard { text, .. } if text == bad),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn shards_partition_the_tasks() {
        for n in 1..6 {
            for tasks in 0..13 {
                let mut all: Vec<usize> = (0..n)
                    .flat_map(|i| ShardSpec::new(i, n).unwrap().tasks(tasks))
                    .collect();
                all.sort_unstable();
                assert_eq!(all, (0..tasks).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn floats_round_trip_exactly() {
        let values = vec![
            0.1,
            -0.0,
            f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::from_bits(0x7ff8_0000_0000_0001),
            1.0 / 3.0,
        ];
        let value = (values.clone(), Some([1usize, 2]), "x".to_owned());
        let back: (Vec<f64>, Option<[usize; 2]>, String) =
            decode(&encode(&value).unwrap()).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.0), bits(&values));
        assert_eq!((back.1, back.2), (value.1, value.2));
        assert!(
            decode::<f64>(&[0u8; 9]).is_err(),
            "trailing bytes are refused"
        );
    }
}
