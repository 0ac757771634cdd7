//! Repository rules, checked: every Rust source file starts with a `//!` module doc, and no
//! pending insta snapshot is left in the tree.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() && name != "target" && !name.starts_with('.') {
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_module_has_a_doc_line() {
    let mut files = Vec::new();
    for d in ["crates", "xtask", "tests"] {
        rust_files(&root().join(d), &mut files);
    }
    assert!(files.len() > 10);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` module doc: {missing:#?}"
    );
}

#[test]
fn no_pending_snapshots() {
    let mut files = Vec::new();
    let mut stack = vec![root().join("tests"), root().join("crates")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".snap.new")
                || p.to_string_lossy().ends_with(".pending-snap")
            {
                files.push(p);
            }
        }
    }
    assert!(
        files.is_empty(),
        "pending snapshots (run `cargo insta review`): {files:?}"
    );
}
