//! Sharded runs of the `whiten` binary, without Slurm: 4 shards of a small `image_survey` and
//! of a paper-1 sweep merge into folders byte-identical to the unsharded runs' (every file:
//! summary, tables, figures, learned parameters, `config.ron`, `manifest.json`); a missing,
//! duplicated, foreign or damaged shard is refused, naming it, and nothing is written; bad
//! `--shard` arguments are refused; shards that are up to date are skipped; the script of
//! `whiten slurm` runs its shards and merge as the array tasks would (`tests/slurm/run.sh`
//! submits it to a real Slurm).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn whiten(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whiten"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the whiten binary runs")
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("whiten-shards-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(args: &[&str]) -> String {
    let out = whiten(args);
    assert!(
        out.status.success(),
        "whiten {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A refused command: exit code 1, nothing on stdout but the `failed` line; stderr.
fn refused(args: &[&str]) -> String {
    let out = whiten(args);
    assert_eq!(out.status.code(), Some(1), "whiten {args:?} must fail");
    text(&out.stderr)
}

/// Every file of folder `dir`: name to bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&f).unwrap())
        })
        .collect()
}

/// Writes experiment file `name.ron` into `dir`.
fn experiment(dir: &Path, name: &str, ron: &str) -> String {
    let path = dir.join(format!("{name}.ron"));
    std::fs::write(&path, ron).unwrap();
    path.display().to_string()
}

/// A small survey: four generated 64 x 64 images, short schedules (about a second).
const SURVEY: &str = r#"(kind: "image_survey", name: "survey", seed: 3, params: (source: (generated: 4, crop: 64), learning_1d: Robust(max_iterations: 500), learning_2d: Robust(max_iterations: 500)))"#;

/// A paper-1 sweep: offline learning from 2 initialisations x 3 scales (6 tasks).
const SWEEP: &str =
    r#"(kind: "offline_learning", name: "sweep", seed: 1, params: (scales: [1.0, 10.0, 100.0]))"#;

/// Runs `file` whole into `dir/full` and in `n` shards into `dir/parts`; the part folders.
fn run_both(dir: &Path, file: &str, name: &str, n: usize) -> Vec<String> {
    let full = dir.join("full").display().to_string();
    ok(&["run", file, "--out", &full]);
    let parts_root = dir.join("parts").display().to_string();
    (0..n)
        .map(|i| {
            let spec = format!("{i}/{n}");
            let line = ok(&["run", file, "--out", &parts_root, "--shard", &spec]);
            assert!(
                line.contains(&format!("shard {spec}:")),
                "the log line names its shard: {line}"
            );
            let part = dir.join(format!("parts/{name}.shard-{i}-of-{n}"));
            assert!(part.join("shard.json").is_file());
            part.display().to_string()
        })
        .collect()
}

/// Merges `parts` into `dir/merged` and checks the folder against `dir/full`, byte for byte.
fn merge_is_identical(dir: &Path, name: &str, parts: &[String], tasks: usize) {
    let merged = dir.join("merged").display().to_string();
    let mut args = vec!["merge", merged.as_str()];
    args.extend(parts.iter().map(String::as_str));
    let line = ok(&args);
    assert!(
        line.contains(&format!(
            "{tasks} tasks from {} shards (slowest: shard ",
            parts.len()
        )),
        "{line}"
    );
    let full = contents(&dir.join("full").join(name));
    let merged = contents(&dir.join("merged").join(name));
    assert_eq!(
        full.keys().collect::<Vec<_>>(),
        merged.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (file, bytes) in &full {
        assert!(merged[file] == *bytes, "{name}/{file} differs after merge");
    }
    for expected in ["summary.json", "config.ron", "manifest.json"] {
        assert!(full.contains_key(expected), "{expected}");
    }
}

#[test]
fn image_survey_in_four_shards_merges_byte_identical() {
    let dir = scratch("survey");
    let file = experiment(&dir, "survey", SURVEY);
    let parts = run_both(&dir, &file, "survey", 4);
    merge_is_identical(&dir, "survey", &parts, 4);
    assert!(
        contents(&dir.join("full/survey"))
            .keys()
            .any(|f| f.ends_with(".png")),
        "figures are compared too"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn paper1_sweep_in_four_shards_merges_byte_identical_and_skips_up_to_date_shards() {
    let dir = scratch("sweep");
    let file = experiment(&dir, "sweep", SWEEP);
    let parts = run_both(&dir, &file, "sweep", 4);
    merge_is_identical(&dir, "sweep", &parts, 6);
    // A re-submitted array: shards that are up to date are skipped; --force re-runs.
    let root = dir.join("parts").display().to_string();
    let again = ok(&["run", &file, "--out", &root, "--shard", "2/4"]);
    assert!(
        again.contains("skipped sweep shard 2/4 (up to date"),
        "{again}"
    );
    let forced = ok(&["run", &file, "--out", &root, "--shard", "2/4", "--force"]);
    assert!(forced.contains("shard 2/4: 1 of 6 tasks"), "{forced}");
    // A damaged part is no longer up to date: it re-runs.
    std::fs::write(dir.join("parts/sweep.shard-2-of-4/tasks.bin"), b"x").unwrap();
    let rerun = ok(&["run", &file, "--out", &root, "--shard", "2/4"]);
    assert!(rerun.contains("shard 2/4: 1 of 6 tasks"), "{rerun}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_duplicated_foreign_and_damaged_shards_are_refused_writing_nothing() {
    let dir = scratch("refuse");
    let file = experiment(&dir, "sweep", SWEEP);
    let root = dir.join("parts").display().to_string();
    let part = |i: usize| format!("{root}/sweep.shard-{i}-of-4");
    for i in 0..4 {
        ok(&["run", &file, "--out", &root, "--shard", &format!("{i}/4")]);
    }
    let out = dir.join("merged");
    let merged = out.display().to_string();
    let merge = |parts: &[String]| {
        let mut args = vec!["merge", merged.as_str()];
        args.extend(parts.iter().map(String::as_str));
        let e = refused(&args);
        assert!(
            !out.join("sweep").exists(),
            "a refused merge writes nothing"
        );
        e
    };

    let e = merge(&[part(0), part(1), part(3)]);
    assert!(
        e.contains("missing shard 2/4 (array task id 2)"),
        "names the missing shard: {e}"
    );
    let e = merge(&[part(0), part(3)]);
    assert!(
        e.contains("missing shards 1/4, 2/4 (array task ids 1, 2)"),
        "{e}"
    );

    let e = merge(&[part(0), part(1), part(1), part(2), part(3)]);
    assert!(e.contains("shard 1/4 of `sweep` is given twice"), "{e}");

    // A shard of another configuration (another seed), even under the same name.
    let other = experiment(
        &dir.join(".."),
        "other-seed",
        &SWEEP.replace("seed: 1", "seed: 2"),
    );
    let foreign_root = dir.join("foreign").display().to_string();
    ok(&["run", &other, "--out", &foreign_root, "--shard", "2/4"]);
    let foreign = format!("{foreign_root}/sweep.shard-2-of-4");
    let e = merge(&[part(0), part(1), foreign.clone(), part(3)]);
    assert!(e.contains(&foreign) && e.contains("foreign shard"), "{e}");
    // A shard of the same configuration cut into another number of shards.
    ok(&["run", &file, "--out", &foreign_root, "--shard", "1/3"]);
    let e = merge(&[part(0), format!("{foreign_root}/sweep.shard-1-of-3")]);
    assert!(e.contains("is one of 4 shards"), "{e}");

    // Not a part, an unfinished part, a damaged part.
    let e = merge(&[part(0), dir.join("nowhere").display().to_string()]);
    assert!(e.contains("no such part folder"), "{e}");
    std::fs::remove_file(format!("{}/shard.json", part(3))).unwrap();
    let e = merge(&[part(0), part(1), part(2), part(3)]);
    assert!(e.contains("not a complete part"), "{e}");
    ok(&["run", &file, "--out", &root, "--shard", "3/4"]);
    let tasks = format!("{}/tasks.bin", part(1));
    let mut bytes = std::fs::read(&tasks).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&tasks, bytes).unwrap();
    let e = merge(&[part(0), part(1), part(2), part(3)]);
    assert!(e.contains("damaged part") && e.contains(&part(1)), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&other);
}

#[test]
fn bad_shard_arguments_are_refused() {
    let dir = scratch("args");
    let file = experiment(&dir, "sweep", SWEEP);
    let root = dir.display().to_string();
    for (bad, why) in [
        ("5/4", "shards are numbered 0 to 3"),
        ("4/4", "shards are numbered 0 to 3"),
        ("0/0", "at least 1"),
        ("a/b", "not a non-negative integer"),
        ("3", "expected I/N"),
        ("-1/4", "'-1'"),
    ] {
        let out = whiten(&["run", &file, "--out", &root, "--shard", bad]);
        assert_eq!(out.status.code(), Some(2), "--shard {bad}");
        let e = text(&out.stderr);
        assert!(e.contains(why) && !e.contains("panicked"), "{bad}: {e}");
    }
    let out = whiten(&["merge", &root]);
    assert_eq!(out.status.code(), Some(2), "merge without parts");
    assert!(
        text(&out.stderr).contains("<PARTS>"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The script of `whiten slurm` under bash, as Slurm would run it: each array task with its
/// `SLURM_ARRAY_TASK_ID`, then the merge.
#[test]
fn slurm_script_runs_the_shards_and_merge_as_array_tasks_would() {
    let dir = scratch("slurm");
    let file = experiment(&dir, "sweep", SWEEP);
    let out = dir.join("results");
    let root = out.display().to_string();
    let line = ok(&[
        "slurm",
        &file,
        "--tasks",
        "3",
        "--out",
        &root,
        "--partition",
        "debug",
        "--time",
        "0:10:00",
        "--cpus",
        "2",
    ]);
    let script = out.join("sweep.slurm.sh");
    assert!(line.contains("sweep.slurm.sh"), "{line}");
    let text_of_script = std::fs::read_to_string(&script).unwrap();
    for expected in [
        "#SBATCH --partition=debug",
        "#SBATCH --time=0:10:00",
        "#SBATCH --cpus-per-task=2",
        "--array=0-$((TASKS - 1))",
        "--dependency=afterok:",
        "$SLURM_ARRAY_TASK_ID/$TASKS",
    ] {
        assert!(text_of_script.contains(expected), "{expected}");
    }
    let bash = |env: &[(&str, &str)], args: &[&str]| {
        // The test may itself run under Slurm: only the variables given here are set.
        let o = Command::new("bash")
            .arg(&script)
            .args(args)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("SLURM_JOB_ID")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
        text(&o.stdout)
    };
    for i in ["0", "1", "2"] {
        bash(&[("SLURM_JOB_ID", "7"), ("SLURM_ARRAY_TASK_ID", i)], &[]);
    }
    let merged = bash(&[("SLURM_JOB_ID", "8")], &["merge"]);
    assert!(merged.contains("6 tasks from 3 shards"), "{merged}");
    ok(&[
        "run",
        &file,
        "--out",
        &dir.join("full").display().to_string(),
    ]);
    assert_eq!(
        contents(&out.join("sweep")),
        contents(&dir.join("full/sweep"))
    );
    // Injection through a directive is refused.
    let e = refused(&[
        "slurm",
        &file,
        "--tasks",
        "2",
        "--out",
        &root,
        "--time",
        "1\nrm -rf /",
    ]);
    assert!(e.contains("--time"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
