//! Runs loaded experiments and writes their outputs atomically.
//!
//! Each experiment's outputs (and a `config.ron` with the resolved parameters and seed) are
//! written into a hidden temporary folder beside the destination, which then replaces
//! `OUT/<name>/` by renames: an experiment folder is complete or absent, never partial. A
//! failed experiment writes nothing and leaves an earlier complete folder as it was.
//!
//! Resumable runs: the last file written into the temporary folder is `manifest.json`
//! ([`crate::manifest`]); [`run_or_skip`] skips an experiment whose folder is up to date.
//! Hidden `.NAME.tmp-PID` and `.NAME.old-PID` folders of processes that no longer run (a
//! killed run) are removed before an experiment runs or is checked ([`clean_stale`]).
//! Cancellation: [`RunOptions::cancel`] is handed to the experiment's [`RunContext`]; a
//! cancelled experiment writes nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tracing::{debug, info};

use crate::config::Loaded;
use crate::context::RunContext;
use crate::error::{ExperimentError, Result};
use crate::manifest::{MANIFEST_FILE, Manifest, config_hash};
use crate::output::{Outputs, write_file};

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output root; each experiment writes `out/<name>/`.
    pub out: PathBuf,
    /// Replaces every experiment's seed when set.
    pub seed: Option<u64>,
    /// Draw progress bars (when stderr is a terminal).
    pub progress: bool,
    /// Re-run experiments whose folder is up to date ([`run_or_skip`]).
    pub force: bool,
    /// Cancellation flag handed to each experiment's [`RunContext`].
    pub cancel: Option<Arc<AtomicBool>>,
}

impl RunOptions {
    /// Options writing into `out`: own seeds, progress bars, no forcing, no cancellation.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            seed: None,
            progress: true,
            force: false,
            cancel: None,
        }
    }
}

/// What [`run_or_skip`] did.
#[derive(Debug)]
pub enum Outcome {
    /// The experiment ran and its folder was written.
    Ran(Box<Completed>),
    /// The experiment's folder was already up to date; nothing was run or written.
    Skipped {
        /// The experiment's folder.
        dir: PathBuf,
    },
}

/// The resolved configuration of `loaded` under `opts`: the `config.ron` text and its hash.
pub(crate) fn resolved(loaded: &Loaded, opts: &RunOptions) -> (u64, String, String) {
    let seed = opts.seed.unwrap_or(loaded.seed);
    let kind = loaded.experiment.kind();
    let params = loaded.experiment.resolved_params();
    let config = format!(
        "// Resolved configuration of this run (defaults filled in).\n(\n    kind: {:?},\n    name: {:?},\n    seed: {},\n    params: {},\n)\n",
        kind,
        loaded.name,
        seed,
        indent(&params),
    );
    // What the run depends on besides its configuration: the kind's version and the content
    // of every input file (a file replaced under the same name re-runs).
    let mut depends = format!("{params}\nkind version: {}\n", loaded.experiment.version());
    for f in loaded.experiment.inputs() {
        let digest = std::fs::read(&f).map_or_else(
            |e| format!("unreadable ({e})"),
            |bytes| crate::manifest::sha256_hex(&bytes),
        );
        depends.push_str(&format!("input {}: {digest}\n", f.display()));
    }
    let hash = config_hash(kind, &loaded.name, seed, &depends);
    (seed, config, hash)
}

/// Whether `out/<name>/` of `loaded` is up to date under `opts`: its manifest matches the
/// resolved configuration and this version, and every listed file is there with its size.
pub fn is_up_to_date(loaded: &Loaded, opts: &RunOptions) -> bool {
    let (_, _, hash) = resolved(loaded, opts);
    let dir = opts.out.join(&loaded.name);
    Manifest::read(&dir).is_some_and(|m| m.is_current(&dir, &hash))
}

/// Cleans stale temporary folders of `loaded`, then skips it if its folder is up to date
/// (unless [`RunOptions::force`]), else runs it ([`run_one`]).
pub fn run_or_skip(loaded: &Loaded, opts: &RunOptions) -> Result<Outcome> {
    clean_stale(&opts.out, &loaded.name)?;
    if !opts.force && is_up_to_date(loaded, opts) {
        info!(name = %loaded.name, "up to date, skipped");
        return Ok(Outcome::Skipped {
            dir: opts.out.join(&loaded.name),
        });
    }
    run_one(loaded, opts).map(|c| Outcome::Ran(Box::new(c)))
}

/// What a completed experiment produced.
#[derive(Debug)]
pub struct Completed {
    /// The experiment's folder.
    pub dir: PathBuf,
    /// Files written, relative paths inside `dir`.
    pub files: Vec<PathBuf>,
    /// Wall time of the run (not written anywhere, so outputs stay reproducible).
    pub elapsed: Duration,
    /// The outputs.
    pub outputs: Outputs,
}

/// Runs one loaded experiment (whether or not its folder is up to date) and writes its
/// outputs, with `manifest.json` last. Stale temporary folders of the experiment are removed
/// first. A failed or cancelled run writes nothing.
pub fn run_one(loaded: &Loaded, opts: &RunOptions) -> Result<Completed> {
    let (seed, config, hash) = resolved(loaded, opts);
    let ctx = context(loaded, opts, seed)?;
    run_in(loaded, opts, &ctx, &config, &hash, || Ok(()))
}

/// The run context of `loaded` under `opts` with master seed `seed` (an error if the run is
/// already cancelled).
pub(crate) fn context(loaded: &Loaded, opts: &RunOptions, seed: u64) -> Result<RunContext> {
    let mut ctx = RunContext::new(&loaded.name, seed);
    if !opts.progress {
        ctx = ctx.without_progress();
    }
    if let Some(flag) = &opts.cancel {
        ctx = ctx.with_cancel(flag.clone());
        if ctx.cancelled() {
            return Err(ctx.cancellation());
        }
    }
    Ok(ctx)
}

/// Runs `loaded` in `ctx`, calls `after_run` (a last check before anything is written), then
/// writes its outputs, `config` as `config.ron` and the manifest for `hash` into
/// `opts.out/<name>/` atomically. Stale temporary folders are removed first.
pub(crate) fn run_in(
    loaded: &Loaded,
    opts: &RunOptions,
    ctx: &RunContext,
    config: &str,
    hash: &str,
    after_run: impl FnOnce() -> Result<()>,
) -> Result<Completed> {
    clean_stale(&opts.out, &loaded.name)?;
    info!(name = %loaded.name, kind = loaded.experiment.kind(), seed = ctx.seed(), "running");
    let start = Instant::now();
    let outputs = loaded.experiment.run(ctx)?;
    let elapsed = start.elapsed();
    after_run()?;
    let dir = opts.out.join(&loaded.name);
    let files: Vec<PathBuf> = write_atomically(&opts.out, &loaded.name, |tmp| {
        let mut files = outputs.write_into(tmp)?;
        let path = tmp.join("config.ron");
        write_file(&path, config.as_bytes())?;
        files.push(path);
        let mut files: Vec<PathBuf> = files
            .into_iter()
            .filter_map(|f| f.strip_prefix(tmp).ok().map(Path::to_path_buf))
            .collect();
        // Written last: its presence marks the folder complete.
        Manifest::describe(tmp, &files, hash)?.write(tmp)?;
        files.push(PathBuf::from(MANIFEST_FILE));
        Ok(files)
    })?;
    info!(name = %loaded.name, ?elapsed, files = files.len(), "done");
    Ok(Completed {
        dir,
        files,
        elapsed,
        outputs,
    })
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n    ")
}

/// Removes the hidden `.NAME.tmp-PID` and `.NAME.old-PID` folders under `root` left by
/// processes that no longer run (a killed run). An `.old` folder holds the complete previous
/// results moved aside just before the new ones were moved in: when `root/name` is missing
/// it is put back instead of removed.
///
/// Whether a process runs is read from `/proc` (Linux); where there is none, every other
/// process's folders are taken as stale, so two runs must not write the same experiment
/// into the same folder at once.
pub fn clean_stale(root: &Path, name: &str) -> Result<()> {
    let Ok(entries) = fs::read_dir(root) else {
        return Ok(());
    };
    let tmp_prefix = format!(".{name}.tmp-");
    let old_prefix = format!(".{name}.old-");
    let dest = root.join(name);
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let (is_old, pid) = if let Some(pid) = file_name.strip_prefix(&tmp_prefix) {
            (false, pid)
        } else if let Some(pid) = file_name.strip_prefix(&old_prefix) {
            (true, pid)
        } else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if process_alive(pid) {
            continue;
        }
        let path = entry.path();
        if is_old && !dest.exists() {
            debug!(path = %path.display(), "restoring the previous results of a killed run");
            fs::rename(&path, &dest).map_err(|source| ExperimentError::Write {
                path: dest.clone(),
                source,
            })?;
        } else {
            debug!(path = %path.display(), "removing a stale temporary folder");
            fs::remove_dir_all(&path).map_err(|source| ExperimentError::Write { path, source })?;
        }
    }
    Ok(())
}

/// Whether process `pid` is running (this process always is).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_root = Path::new("/proc");
    if proc_root.join("self").exists() {
        return proc_root.join(pid.to_string()).exists();
    }
    false
}

/// Fills a fresh temporary folder with `fill`, then moves it to `root/name`, replacing any
/// earlier folder. On error nothing is left behind.
pub fn write_atomically<T>(
    root: &Path,
    name: &str,
    fill: impl FnOnce(&Path) -> Result<T>,
) -> Result<T> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExperimentError::Write { path, source }
    };
    fs::create_dir_all(root).map_err(io(root))?;
    let pid = std::process::id();
    let tmp = root.join(format!(".{name}.tmp-{pid}"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io(&tmp))?;
    let value = match fill(&tmp) {
        Ok(v) => v,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let dest = root.join(name);
    let old = root.join(format!(".{name}.old-{pid}"));
    if dest.exists() {
        fs::rename(&dest, &old).map_err(io(&dest))?;
    }
    if let Err(e) = fs::rename(&tmp, &dest) {
        // Put the previous results back rather than leave none.
        let _ = fs::rename(&old, &dest);
        let _ = fs::remove_dir_all(&tmp);
        return Err(io(&dest)(e));
    }
    if old.exists() {
        fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_previous_folder_untouched() {
        let root = std::env::temp_dir().join(format!("whiten-runner-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        write_atomically(&root, "e", |d| {
            fs::write(d.join("a.txt"), "1").unwrap();
            Ok(())
        })
        .unwrap();
        let r: Result<()> = write_atomically(&root, "e", |d| {
            fs::write(d.join("b.txt"), "half").unwrap();
            Err(ExperimentError::Run {
                experiment: "e".into(),
                message: "boom".into(),
            })
        });
        assert!(r.is_err());
        assert!(root.join("e/a.txt").exists());
        assert!(!root.join("e/b.txt").exists());
        let leftovers: Vec<_> = fs::read_dir(&root).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only the experiment folder remains");
        write_atomically(&root, "e", |d| {
            fs::write(d.join("c.txt"), "2").unwrap();
            Ok(())
        })
        .unwrap();
        assert!(root.join("e/c.txt").exists() && !root.join("e/a.txt").exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn stale_folders_of_dead_processes_are_cleaned() {
        let root = std::env::temp_dir().join(format!("whiten-stale-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        // A pid above the Linux maximum (2^22) runs nowhere.
        let dead = 4_194_305u32;
        let me = std::process::id();
        for d in [
            format!(".e.tmp-{dead}"),
            format!(".e.old-{dead}"),
            format!(".e.tmp-{me}"),
            format!(".e2.tmp-{dead}"),
            format!(".e.tmp-x{dead}"),
        ] {
            fs::create_dir_all(root.join(&d)).unwrap();
            fs::write(root.join(&d).join("f"), &d).unwrap();
        }
        // No `e` folder: the `.old` one (complete previous results) is put back.
        clean_stale(&root, "e").unwrap();
        let mut left: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut expected = vec![
            format!(".e.tmp-{me}"),
            format!(".e.tmp-x{dead}"),
            format!(".e2.tmp-{dead}"),
            "e".to_owned(),
        ];
        expected.sort();
        assert_eq!(left, expected);
        assert_eq!(
            fs::read_to_string(root.join("e/f")).unwrap(),
            format!(".e.old-{dead}")
        );
        // With `e` present, a stale `.old` folder is removed.
        fs::create_dir_all(root.join(format!(".e.old-{dead}"))).unwrap();
        clean_stale(&root, "e").unwrap();
        assert!(!root.join(format!(".e.old-{dead}")).exists());
        assert!(root.join("e/f").exists());
        fs::remove_dir_all(&root).unwrap();
    }
}
