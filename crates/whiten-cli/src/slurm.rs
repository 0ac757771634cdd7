//! `whiten slurm`: the job script that runs one experiment as a Slurm job array of N shards
//! (`whiten run FILE --shard $SLURM_ARRAY_TASK_ID/N`) followed by a merge job that depends on
//! the whole array (`--dependency=afterok`, with `--kill-on-invalid-dep=yes` so that a failed
//! array task cancels the merge instead of leaving it pending).
//!
//! The script, `OUT/<name>.slurm.sh`, submits itself: `bash SCRIPT` (what `--submit` runs)
//! calls `sbatch --array=0-(N-1) SCRIPT` and `sbatch --dependency=afterok:ARRAY SCRIPT merge`.
//! Under sbatch it runs the shard `$SLURM_ARRAY_TASK_ID` or, with the argument `merge`, the
//! merge. Submitting again is the way to re-run failed shards: the shards whose part is up
//! to date are skipped in a second. The jobs' logs go to `OUT/<name>.slurm-logs/`. Paths are
//! made absolute when the script is written (`OUT` must be on a file system the nodes share);
//! `$WHITEN` overrides the path of the `whiten` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

/// A sharded run on Slurm.
pub struct Job {
    /// The experiment's name.
    pub name: String,
    /// Its RON file.
    pub file: PathBuf,
    /// Output root.
    pub out: PathBuf,
    /// Array tasks (shards).
    pub tasks: usize,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`.
    pub time: Option<String>,
    /// `--cpus-per-task`.
    pub cpus: usize,
}

/// `text` quoted for bash (single quotes).
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Refuses a value for an `#SBATCH` line that is empty or holds other than letters, digits
/// and `-_.:,+`.
fn directive_value(flag: &str, value: &str) -> anyhow::Result<()> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:,+".contains(c));
    anyhow::ensure!(
        ok,
        "--{flag} {value:?}: expected letters, digits and -_.:,+ only (as sbatch takes it)"
    );
    Ok(())
}

impl Job {
    /// The script's text.
    pub fn script(&self, whiten: &Path, file: &Path, out: &Path) -> anyhow::Result<String> {
        anyhow::ensure!(self.tasks >= 1, "--tasks must be at least 1");
        anyhow::ensure!(self.cpus >= 1, "--cpus must be at least 1");
        // The job name and comments take the experiment's name with anything but letters,
        // digits and -_. replaced.
        let plain: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut directives = format!(
            "#SBATCH --job-name=whiten-{plain}\n#SBATCH --cpus-per-task={}\n",
            self.cpus
        );
        if let Some(p) = &self.partition {
            directive_value("partition", p)?;
            directives += &format!("#SBATCH --partition={p}\n");
        }
        if let Some(t) = &self.time {
            directive_value("time", t)?;
            directives += &format!("#SBATCH --time={t}\n");
        }
        let last = self.tasks - 1;
        Ok(format!(
            r#"#!/bin/bash
# Written by `whiten slurm`: experiment {name} as a Slurm job array of {tasks} shards and a
# merge job that runs once the whole array succeeded (afterok).
#
#   bash THIS_SCRIPT                   submit both (what `whiten slurm ... --submit` does)
#   sbatch --array=0-{last} THIS_SCRIPT     the shards alone
#   sbatch THIS_SCRIPT merge           the merge alone (or: whiten merge OUT PARTS...)
#
# Submitting again re-runs only the shards that failed: the others are up to date and skipped.
# If an array task fails, Slurm cancels the merge job; `whiten merge` then names the
# missing shards, which are the failed array task ids.
{directives}set -euo pipefail
BINARY={whiten}
WHITEN="${{WHITEN:-$BINARY}}"
FILE={file}
OUT={out}
NAME={name_q}
TASKS={tasks}
LOGS="$OUT/$NAME.slurm-logs"

if [ "${{1:-}}" = merge ]; then
    exec "$WHITEN" merge "$OUT" "$OUT/$NAME".shard-*-of-"$TASKS"
elif [ -n "${{SLURM_ARRAY_TASK_ID:-}}" ]; then
    exec "$WHITEN" run "$FILE" --out "$OUT" --threads "${{SLURM_CPUS_PER_TASK:-1}}" \
        --shard "$SLURM_ARRAY_TASK_ID/$TASKS"
elif [ -z "${{SLURM_JOB_ID:-}}" ]; then
    mkdir -p "$LOGS"
    array=$(sbatch --parsable --array=0-$((TASKS - 1)) --output="$LOGS/shard-%a.out" "$0")
    array=${{array%%;*}}
    merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
        --output="$LOGS/merge.out" "$0" merge)
    merge=${{merge%%;*}}
    echo "submitted array job $array ($TASKS shards of $NAME) and merge job $merge (afterok)"
    echo "merged results: $OUT/$NAME/  logs: $LOGS/"
else
    echo "$0: run it with bash to submit, or sbatch --array=0-$((TASKS - 1))" >&2
    exit 2
fi
"#,
            name = plain,
            tasks = self.tasks,
            whiten = quote(&whiten.display().to_string()),
            file = quote(&file.display().to_string()),
            out = quote(&out.display().to_string()),
            name_q = quote(&self.name),
        ))
    }

    /// Writes `OUT/<name>.slurm.sh` (executable) and returns its path.
    pub fn write(&self) -> anyhow::Result<PathBuf> {
        let whiten = std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .context("cannot find the path of this whiten binary")?;
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("--out {}: cannot create the folder", self.out.display()))?;
        let out = self
            .out
            .canonicalize()
            .with_context(|| format!("--out {}", self.out.display()))?;
        let file = self
            .file
            .canonicalize()
            .with_context(|| format!("{}", self.file.display()))?;
        let text = self.script(&whiten, &file, &out)?;
        let path = out.join(format!("{}.slurm.sh", self.name));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("cannot make {} executable", path.display()))?;
        }
        Ok(path)
    }
}

/// Submits `script` (`bash script`, which calls sbatch twice); its output goes to ours.
pub fn submit(script: &Path) -> anyhow::Result<()> {
    let status = Command::new("bash")
        .arg(script)
        .status()
        .with_context(|| format!("cannot run bash {}", script.display()))?;
    anyhow::ensure!(
        status.success(),
        "submitting {} failed ({status}): is sbatch on the PATH?",
        script.display()
    );
    Ok(())
}
