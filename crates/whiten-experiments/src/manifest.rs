//! `manifest.json`: what makes an experiment folder complete and up to date.
//!
//! The runner writes the manifest last into the temporary folder, just before the folder is
//! renamed into place. It records the SHA-256 of the resolved configuration (kind, name,
//! seed after any override, resolved parameters, the kind's `VERSION` and the SHA-256 of
//! every input file the experiment reads), the version of this crate, a fingerprint of
//! the source code that computes results (whiten-core, whiten-ode and whiten-experiments,
//! taken at build time), and every other file of the folder with its size. It holds no times
//! and no paths outside the folder, so outputs stay byte-identical from run to run. A folder
//! is up to date when its manifest matches the configuration about to run, the crate version
//! and the source fingerprint, and every listed file exists with its recorded size
//! ([`Manifest::is_current`]); `whiten run` then skips it. A code change therefore re-runs
//! every experiment (a few seconds each), never leaves stale results in place.

use std::fs;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ExperimentError, Result};
use crate::output::write_file;

/// File name of the manifest inside an experiment folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Version of the outputs' producer recorded in every manifest: a different version re-runs.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Fingerprint of the source code that computes results (see the crate's build script).
pub const SOURCE_FINGERPRINT: &str = env!("WHITEN_SOURCE_FINGERPRINT");

/// Manifest format; bump when the meaning of a field changes.
const FORMAT: u32 = 2;

/// One output file and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the experiment folder, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

/// The contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// Version of whiten-experiments that wrote the folder.
    pub version: String,
    /// [`SOURCE_FINGERPRINT`] of the build that wrote the folder.
    pub source: String,
    /// Hex SHA-256 of the resolved configuration ([`config_hash`]).
    pub config_sha256: String,
    /// Every other file of the folder, sorted by path.
    pub files: Vec<FileEntry>,
}

/// SHA-256 (hex) of a resolved configuration: kind, name, seed and the resolved parameters'
/// RON text, each length-prefixed so that no two configurations share an encoding.
pub fn config_hash(kind: &str, name: &str, seed: u64, params: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"whiten-config-v1\0");
    for part in [
        kind.as_bytes(),
        name.as_bytes(),
        &seed.to_le_bytes(),
        params.as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    /// The manifest of folder `dir` holding `files` (relative paths), for configuration hash
    /// `config_sha256`: reads every file's size.
    pub fn describe(dir: &Path, files: &[impl AsRef<Path>], config_sha256: &str) -> Result<Self> {
        let mut entries = Vec::with_capacity(files.len());
        for f in files {
            let f = f.as_ref();
            let full = dir.join(f);
            let meta = fs::metadata(&full).map_err(|source| ExperimentError::Write {
                path: full.clone(),
                source,
            })?;
            let path: Vec<String> = f
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            entries.push(FileEntry {
                path: path.join("/"),
                size: meta.len(),
            });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Self {
            format: FORMAT,
            version: TOOL_VERSION.to_owned(),
            source: SOURCE_FINGERPRINT.to_owned(),
            config_sha256: config_sha256.to_owned(),
            files: entries,
        })
    }

    /// Writes the manifest as `dir/manifest.json`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a manifest always serialises");
        write_file(&dir.join(MANIFEST_FILE), format!("{text}\n").as_bytes())
    }

    /// Reads `dir/manifest.json`; `None` if it is missing or malformed.
    pub fn read(dir: &Path) -> Option<Self> {
        let text = fs::read_to_string(dir.join(MANIFEST_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Whether this manifest describes an up-to-date folder `dir` for configuration hash
    /// `config_sha256`: same format, version, source fingerprint and hash, and every listed
    /// file present (a plain file inside `dir`) with its recorded size.
    pub fn is_current(&self, dir: &Path, config_sha256: &str) -> bool {
        self.format == FORMAT
            && self.version == TOOL_VERSION
            && self.source == SOURCE_FINGERPRINT
            && self.config_sha256 == config_sha256
            && !self.files.is_empty()
            && self.files.iter().all(|f| {
                let rel = Path::new(&f.path);
                rel.components().all(|c| matches!(c, Component::Normal(_)))
                    && fs::symlink_metadata(dir.join(rel))
                        .is_ok_and(|m| m.is_file() && m.len() == f.size)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_separates_every_field() {
        let base = config_hash("k", "n", 1, "(a: 1)");
        assert_eq!(base.len(), 64);
        assert_eq!(base, config_hash("k", "n", 1, "(a: 1)"));
        for other in [
            config_hash("k2", "n", 1, "(a: 1)"),
            config_hash("k", "n2", 1, "(a: 1)"),
            config_hash("k", "n", 2, "(a: 1)"),
            config_hash("k", "n", 1, "(a: 2)"),
            // Moving bytes between fields changes the hash (length prefixes).
            config_hash("kn", "", 1, "(a: 1)"),
        ] {
            assert_ne!(base, other);
        }
        // SHA-256 of the empty string, against the published test vector, checks the digest.
        let empty: String = Sha256::digest(b"")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            empty,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn manifest_detects_missing_and_resized_files() {
        let dir = std::env::temp_dir().join(format!("whiten-manifest-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.csv"), "1,2\n").unwrap();
        fs::write(dir.join("summary.json"), "{}\n").unwrap();
        let m = Manifest::describe(&dir, &["summary.json", "a.csv"], "h").unwrap();
        assert_eq!(
            m.files[0],
            FileEntry {
                path: "a.csv".into(),
                size: 4
            }
        );
        m.write(&dir).unwrap();
        let back = Manifest::read(&dir).unwrap();
        assert_eq!(back, m);
        assert!(back.is_current(&dir, "h"));
        assert!(!back.is_current(&dir, "other"));
        fs::write(dir.join("a.csv"), "1,2,3\n").unwrap();
        assert!(!back.is_current(&dir, "h"));
        fs::remove_file(dir.join("a.csv")).unwrap();
        assert!(!back.is_current(&dir, "h"));
        let mut older = m.clone();
        older.source = "0000000000000000".into();
        assert!(
            !older.is_current(&dir, "h"),
            "another code version must re-run"
        );
        let mut escape = m.clone();
        escape.files[0].path = "../a.csv".into();
        assert!(!escape.is_current(&dir, "h"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
