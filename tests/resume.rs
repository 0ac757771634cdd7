//! Resumable and interruptible runs of the `whiten` binary: a second run skips up-to-date
//! experiments and leaves the outputs byte-identical; `--force`, a changed parameter or a
//! changed seed re-run; a run killed (SIGKILL) at any moment leaves every visible experiment
//! folder complete or absent, and the next run completes only what is missing; Ctrl-C
//! (SIGINT) stops cleanly with a non-zero exit and says what ran and what did not.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const EXPERIMENTS: [&str; 4] = [
    "online_learning",
    "offline_learning",
    "adaptation",
    "pairs_2d",
];

fn whiten_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_whiten"));
    cmd.args(args).env_remove("RUST_LOG");
    cmd
}

fn whiten(args: &[&str]) -> Output {
    whiten_cmd(args).output().expect("the whiten binary runs")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("whiten-resume-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `run FILES --out DIR` plus extra arguments.
fn run_args<'a>(files: &'a [String], dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["run"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--out", dir.to_str().unwrap()]);
    args.extend(extra);
    args
}

fn run_ok(files: &[String], dir: &Path, extra: &[&str]) -> String {
    let out = whiten(&run_args(files, dir, extra));
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn all_fixtures() -> Vec<String> {
    EXPERIMENTS
        .iter()
        .map(|e| fixture(&format!("{e}.ron")))
        .collect()
}

/// Every file of every visible experiment folder under `dir`: relative path to bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for exp in std::fs::read_dir(dir).unwrap() {
        let exp = exp.unwrap();
        if exp.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        for f in std::fs::read_dir(exp.path()).unwrap() {
            let f = f.unwrap().path();
            let rel = f.strip_prefix(dir).unwrap().display().to_string();
            out.insert(rel, std::fs::read(&f).unwrap());
        }
    }
    out
}

/// Whether `name` is a hidden temporary folder of the runner: `.EXP.tmp-PID` or
/// `.EXP.old-PID`.
fn is_hidden_temp(name: &str) -> bool {
    name.starts_with('.')
        && EXPERIMENTS.iter().any(|e| {
            [".tmp-", ".old-"].iter().any(|k| {
                name.strip_prefix(&format!(".{e}{k}"))
                    .is_some_and(|pid| pid.parse::<u32>().is_ok())
            })
        })
}

/// Asserts that every visible entry of `dir` is a complete experiment folder (a manifest
/// listing exactly the other files, with their sizes, for the same configuration as the
/// reference run `reference`), and every hidden one a runner temporary folder. Returns the
/// complete experiments' names.
fn assert_complete_or_absent(dir: &Path, reference: &Path) -> Vec<String> {
    let mut complete = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return complete; // nothing created yet
    };
    for e in entries {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            assert!(is_hidden_temp(&name), "unexpected hidden entry {name}");
            continue;
        }
        assert!(
            EXPERIMENTS.contains(&name.as_str()),
            "unexpected entry {name}"
        );
        let folder = e.path();
        let manifest = std::fs::read_to_string(folder.join("manifest.json"))
            .unwrap_or_else(|_| panic!("{name}: visible folder without a manifest"));
        let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
        let r: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(reference.join(&name).join("manifest.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(m, r, "{name}: manifest differs from a clean run's");
        let mut listed: Vec<String> = Vec::new();
        for f in m["files"].as_array().unwrap() {
            let path = f["path"].as_str().unwrap();
            let size = f["size"].as_u64().unwrap();
            let meta = std::fs::metadata(folder.join(path))
                .unwrap_or_else(|_| panic!("{name}/{path} listed but missing"));
            assert_eq!(meta.len(), size, "{name}/{path}: size");
            listed.push(path.to_owned());
        }
        listed.push("manifest.json".into());
        listed.sort();
        let mut present: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        present.sort();
        assert_eq!(present, listed, "{name}: files besides the manifest's");
        complete.push(name);
    }
    complete
}

#[test]
fn second_run_skips_and_changes_rerun() {
    let dir = scratch("skip");
    let files = vec![
        fixture("online_learning.ron"),
        fixture("offline_learning.ron"),
    ];
    let first = run_ok(&files, &dir, &["--threads", "2"]);
    assert!(first.contains("ok     online_learning"), "{first}");
    let before = contents(&dir);
    assert!(before.contains_key("offline_learning/manifest.json"));
    let manifest = text(&before["offline_learning/manifest.json"]);
    assert!(
        !manifest.contains(dir.to_str().unwrap()),
        "the manifest names no outside path:\n{manifest}"
    );

    // Unchanged: both skipped, nothing rewritten.
    let second = run_ok(&files, &dir, &["--threads", "2"]);
    for e in ["online_learning", "offline_learning"] {
        assert!(
            second.contains(&format!("skipped {e} (up to date; --force to re-run)")),
            "{second}"
        );
    }
    assert!(!second.contains("ok "), "{second}");
    assert_eq!(contents(&dir), before);

    // --force re-runs both, byte-identically.
    let forced = run_ok(&files, &dir, &["--force", "--threads", "1"]);
    assert!(
        forced.contains("ok     online_learning") && forced.contains("ok     offline_learning"),
        "{forced}"
    );
    assert!(!forced.contains("skipped"), "{forced}");
    assert_eq!(contents(&dir), before);

    // A changed parameter re-runs that experiment only.
    let changed = dir.join("online_changed.ron");
    let src = std::fs::read_to_string(&files[0]).unwrap();
    assert!(src.contains("samples: 4000,"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&changed, src.replace("samples: 4000,", "samples: 4100,")).unwrap();
    let files2 = vec![changed.display().to_string(), files[1].clone()];
    let third = run_ok(&files2, &dir, &[]);
    assert!(third.contains("ok     online_learning"), "{third}");
    assert!(third.contains("skipped offline_learning"), "{third}");
    let cfg = std::fs::read_to_string(dir.join("online_learning/config.ron")).unwrap();
    assert!(cfg.contains("samples: 4100"), "{cfg}");
    assert_ne!(
        std::fs::read(dir.join("online_learning/manifest.json")).unwrap(),
        before["online_learning/manifest.json"]
    );

    // A different seed re-runs (every experiment: --seed applies to all), then is up to date.
    let seeded = run_ok(&files, &dir, &["--seed", "5"]);
    assert!(
        seeded.contains("ok     online_learning") && seeded.contains("ok     offline_learning"),
        "{seeded}"
    );
    let again = run_ok(&files, &dir, &["--seed", "5"]);
    assert_eq!(again.matches("skipped").count(), 2, "{again}");
    let cfg = std::fs::read_to_string(dir.join("online_learning/config.ron")).unwrap();
    assert!(cfg.contains("seed: 5"), "{cfg}");

    // A damaged folder (a file removed) is no longer up to date.
    std::fs::remove_file(dir.join("offline_learning/iterations.csv")).unwrap();
    let repaired = run_ok(&files, &dir, &["--seed", "5"]);
    assert!(repaired.contains("ok     offline_learning"), "{repaired}");
    assert!(repaired.contains("skipped online_learning"), "{repaired}");
    assert!(dir.join("offline_learning/iterations.csv").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killed_runs_leave_complete_or_absent_folders_and_resume() {
    let files = all_fixtures();
    let reference = scratch("kill-ref");
    run_ok(&files, &reference, &[]);
    let expected = contents(&reference);
    assert_eq!(
        assert_complete_or_absent(&reference, &reference).len(),
        EXPERIMENTS.len()
    );

    for (i, delay_ms) in [20u64, 90, 200, 400, 800, 1500].into_iter().enumerate() {
        let dir = scratch(&format!("kill-{i}"));
        // Every other case kills a `--force` re-run over complete folders, so that the kill
        // may also fall between moving the old folder aside and the new one in.
        let overwrite = i % 2 == 1;
        if overwrite {
            run_ok(&files, &dir, &[]);
        }
        let extra: &[&str] = if overwrite { &["--force"] } else { &[] };
        let mut child = whiten_cmd(&run_args(&files, &dir, extra))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        // The run may have finished already: killing a finished child is not an error here.
        let _ = child.kill();
        child.wait().unwrap();

        let complete = assert_complete_or_absent(&dir, &reference);
        let out = run_ok(&files, &dir, &[]);
        for e in EXPERIMENTS {
            if complete.iter().any(|c| c == e) {
                assert!(
                    out.contains(&format!("skipped {e} (up to date")),
                    "delay {delay_ms} ms: {e} was complete:\n{out}"
                );
            } else {
                assert!(
                    out.contains(&format!("ok     {e}"))
                        // An `.old` folder put back may already be up to date.
                        || (overwrite && out.contains(&format!("skipped {e}"))),
                    "delay {delay_ms} ms: {e} was missing:\n{out}"
                );
            }
        }
        let hidden: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "stale folders not cleaned: {hidden:?}");
        assert_eq!(
            assert_complete_or_absent(&dir, &reference).len(),
            EXPERIMENTS.len()
        );
        assert!(
            contents(&dir) == expected,
            "delay {delay_ms} ms: resumed outputs differ from a clean run's"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&reference);
}

#[cfg(unix)]
#[test]
fn sigint_stops_cleanly_and_reports() {
    let dir = scratch("sigint");
    std::fs::create_dir_all(&dir).unwrap();
    // Many small experiments (copies of the pairs_2d fixture under other names), so that
    // most are still to run when the interrupt arrives.
    let src = std::fs::read_to_string(fixture("pairs_2d.ron")).unwrap();
    let names: Vec<String> = (0..12).map(|i| format!("pairs_{i:02}")).collect();
    let inputs = dir.join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    let files: Vec<String> = names
        .iter()
        .map(|n| {
            let p = inputs.join(format!("{n}.ron"));
            std::fs::write(
                &p,
                src.replace("name: \"pairs_2d\"", &format!("name: \"{n}\"")),
            )
            .unwrap();
            p.display().to_string()
        })
        .collect();
    let out = dir.join("out");
    let mut child = whiten_cmd(&run_args(&files, &out, &[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first experiment is done: the handler is installed by then.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("ok     pairs_00"), "{first}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("whiten: interrupted; completed: "))
        .unwrap_or_else(|| panic!("no interrupt summary:\n{stderr}"));
    let (done, not_run) = summary
        .trim_start_matches("whiten: interrupted; completed: ")
        .split_once("; not run: ")
        .unwrap();
    let done: Vec<&str> = done.split(", ").collect();
    let not_run: Vec<&str> = not_run.split(", ").collect();
    assert!(done.contains(&"pairs_00"), "{summary}");
    assert!(not_run.contains(&"pairs_11"), "{summary}");
    assert_eq!(done.len() + not_run.len(), names.len(), "{summary}");
    // Completed folders are complete, the others absent, and nothing hidden remains.
    let mut entries: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, done, "{summary}\n{rest}");
    for d in &done {
        assert!(out.join(d).join("manifest.json").is_file(), "{d}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C reaches inside a long experiment: a run that would take many minutes (a learning
/// loop of paper 1, a gradient-flow integration, a circuit's training) stops soon after the
/// first interrupt, writes nothing of the interrupted experiment, keeps the one that completed
/// and exits 130. Each long run below was checked to take minutes uninterrupted.
#[cfg(unix)]
#[test]
fn sigint_stops_inside_long_experiments() {
    let long_runs = [
        // Algorithm 1 and 2 at n = 400 towards an unreachable error
        r#"(kind: "offline_learning", name: "long", seed: 1, params: (n: 400, k: 400, scales: [100.0], inits: [Generic], threshold: 1e-12, max_iterations: 100000))"#,
        // the gradient flows at n = 120 from far away, at a tight tolerance
        r#"(kind: "convergence_time", name: "long", seed: 1, params: (n: 120, k: 120, scales: [1000.0, 2000.0], inits: [Generic], fit_from: 1000.0, threshold: 1e-9, ode: (method: "dopri5", rtol: 1e-13, atol: 1e-14, max_steps: 100000000)))"#,
        // paper 2's circuit training with a convergence test it cannot meet
        r#"(kind: "gaussianize_1d", name: "long", seed: 1, params: (source: (generated: 1, crop: 128), theta: Learned, learning: Robust(tolerance: 1e-12, max_iterations: 100000000)))"#,
    ];
    for (case, long) in long_runs.iter().enumerate() {
        let dir = scratch(&format!("sigint-long-{case}"));
        std::fs::create_dir_all(&dir).unwrap();
        let quick = dir.join("quick.ron");
        std::fs::write(
            &quick,
            r#"(kind: "offline_learning", name: "quick", seed: 1, params: (n: 5, k: 5))"#,
        )
        .unwrap();
        let slow = dir.join("long.ron");
        std::fs::write(&slow, long).unwrap();
        let files = [quick.display().to_string(), slow.display().to_string()];
        let out = dir.join("out");
        let mut child = whiten_cmd(&run_args(&files, &out, &[]))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert!(first.starts_with("ok     quick"), "case {case}: {first}");
        // Well inside the long experiment's loop by now.
        std::thread::sleep(Duration::from_millis(1500));
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        // A liveness bound, not a timing measurement: uninterrupted, this takes minutes.
        let mut waited = Duration::ZERO;
        while child.try_wait().unwrap().is_none() {
            if waited > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("case {case}: still running 60 s after Ctrl-C");
            }
            std::thread::sleep(Duration::from_millis(50));
            waited += Duration::from_millis(50);
        }
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        let output = child.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "case {case}: {stderr}");
        assert!(
            rest.contains("abandoned long"),
            "case {case}: the long run must be abandoned, not finished:\n{rest}"
        );
        assert!(
            stderr.contains("whiten: interrupted; completed: quick; not run: long"),
            "case {case}: {stderr}"
        );
        let entries: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            entries,
            ["quick"],
            "case {case}: nothing of `long` is written"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A run depends on the content of the images it reads: the same file name with one byte
/// changed re-runs (it used to be skipped as up to date).
#[test]
fn a_changed_input_image_reruns() {
    let dir = scratch("image");
    std::fs::create_dir_all(&dir).unwrap();
    let image = dir.join("texture.pgm");
    let (w, h) = (64usize, 64usize);
    let mut bytes = format!("P5\n{w} {h}\n255\n").into_bytes();
    let header = bytes.len();
    // a deterministic, heavy-tailed-ish texture
    bytes.extend((0..w * h).map(|i| ((i * 37 + (i / w) * 11) % 251) as u8));
    std::fs::write(&image, &bytes).unwrap();
    let file = dir.join("img.ron");
    std::fs::write(
        &file,
        format!(
            "(kind: \"gaussianize_1d\", name: \"img\", seed: 1, params: (source: (images: {:?}, crop: 64), learning: Robust(max_iterations: 300), theta: Learned))",
            image.display().to_string()
        ),
    )
    .unwrap();
    let files = vec![file.display().to_string()];
    let out = dir.join("out");
    let first = run_ok(&files, &out, &[]);
    assert!(first.contains("ok     img"), "{first}");
    let second = run_ok(&files, &out, &[]);
    assert!(second.contains("skipped img"), "{second}");
    // one byte of the image changes, its name does not
    bytes[header + 100] ^= 0x40;
    std::fs::write(&image, &bytes).unwrap();
    let third = run_ok(&files, &out, &[]);
    assert!(third.contains("ok     img"), "{third}");
    let _ = std::fs::remove_dir_all(&dir);
}
