//! Runs loaded experiments and writes their outputs atomically.
//!
//! Each experiment's outputs (and a `config.ron` with the resolved parameters and seed) are
//! written into a hidden temporary folder beside the destination, which then replaces
//! `OUT/<name>/` by renames: an experiment folder is complete or absent, never partial. A
//! failed experiment writes nothing and leaves an earlier complete folder as it was.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::info;

use crate::config::Loaded;
use crate::context::RunContext;
use crate::error::{ExperimentError, Result};
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

/// Runs one loaded experiment and writes its outputs.
pub fn run_one(loaded: &Loaded, opts: &RunOptions) -> Result<Completed> {
    let seed = opts.seed.unwrap_or(loaded.seed);
    let mut ctx = RunContext::new(&loaded.name, seed);
    if !opts.progress {
        ctx = ctx.without_progress();
    }
    info!(name = %loaded.name, kind = loaded.experiment.kind(), seed, "running");
    let start = Instant::now();
    let outputs = loaded.experiment.run(&ctx)?;
    let elapsed = start.elapsed();
    let config = format!(
        "// Resolved configuration of this run (defaults filled in).\n(\n    kind: {:?},\n    name: {:?},\n    seed: {},\n    params: {},\n)\n",
        loaded.experiment.kind(),
        loaded.name,
        seed,
        indent(&loaded.experiment.resolved_params()),
    );
    let dir = opts.out.join(&loaded.name);
    let files: Vec<PathBuf> = write_atomically(&opts.out, &loaded.name, |tmp| {
        let mut files = outputs.write_into(tmp)?;
        let path = tmp.join("config.ron");
        write_file(&path, config.as_bytes())?;
        files.push(path);
        Ok(files
            .into_iter()
            .filter_map(|f| f.strip_prefix(tmp).ok().map(Path::to_path_buf))
            .collect())
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
}
