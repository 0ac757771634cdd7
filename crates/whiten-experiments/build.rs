//! Build script: fingerprints the source code that computes the results (the `src` folders of
//! whiten-core, whiten-ode and whiten-experiments), so that an experiment folder written by a
//! different code version is re-run rather than skipped as up to date (see `manifest`).
//! The fingerprint is FNV-1a (64 bits) over each file's relative path and contents, in path
//! order; it is exposed to the crate as `WHITEN_SOURCE_FINGERPRINT`.

use std::fs;
use std::path::{Path, PathBuf};

/// Every file under `dir`, recursively.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// FNV-1a, 64 bits: `h = (h xor byte) * 0x100000001b3` from `0xcbf29ce484222325`.
fn fnv1a(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let crates = here.parent().unwrap_or(&here).to_path_buf();
    let mut files = Vec::new();
    for name in ["whiten-core", "whiten-ode", "whiten-experiments"] {
        let src = crates.join(name).join("src");
        println!("cargo::rerun-if-changed={}", src.display());
        collect(&src, &mut files);
    }
    let mut named: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&crates).unwrap_or(&p);
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            (parts.join("/"), p)
        })
        .collect();
    named.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (rel, path) in &named {
        fnv1a(&mut h, &(rel.len() as u64).to_le_bytes());
        fnv1a(&mut h, rel.as_bytes());
        let bytes = fs::read(path).unwrap_or_default();
        fnv1a(&mut h, &(bytes.len() as u64).to_le_bytes());
        fnv1a(&mut h, &bytes);
    }
    println!("cargo::rustc-env=WHITEN_SOURCE_FINGERPRINT={h:016x}");
}
