//! Experiment files: RON text with an envelope (`kind`, `name`, `seed`, `params`).
//!
//! ```ron
//! (
//!     kind: "offline_learning",
//!     name: "offline_learning",
//!     seed: 1,
//!     params: (eta: 0.1, scales: [1.0, 10.0, 100.0]),
//! )
//! ```
//!
//! Parsing is two-stage, both stages over the whole file so that error positions are exact:
//! first only `kind` is read (other fields skipped) to choose the kind from the [`Registry`];
//! then the file is parsed again as that kind's envelope with unknown fields denied at every
//! level. Missing `params` fields take their defaults. Relative paths among the parameters
//! (image files and folders) are resolved against the folder of the file
//! ([`crate::Experiment::resolve_paths`], see [`crate::paths`]); absolute paths are kept. The
//! parameters are then checked ([`crate::Experiment::check`]) and a refusal is located at the
//! offending field.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{ExperimentError, ParamError, Result};
use crate::experiment::{Experiment, Registry, Runnable};

/// An experiment file parsed as its kind, not yet checked.
pub struct Parsed {
    /// The experiment's name (its output folder).
    pub name: String,
    /// Master seed.
    pub seed: u64,
    /// The experiment.
    pub experiment: Box<dyn Runnable>,
    /// The result of its parameter check.
    pub check: std::result::Result<(), ParamError>,
}

/// A loaded, checked experiment, ready to run.
pub struct Loaded {
    /// The file it came from.
    pub path: PathBuf,
    /// The experiment's name (its output folder).
    pub name: String,
    /// Master seed.
    pub seed: u64,
    /// The experiment.
    pub experiment: Box<dyn Runnable>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("seed", &self.seed)
            .field("kind", &self.experiment.kind())
            .finish()
    }
}

// Both stages are named `experiment` after serde: ron names the struct in errors such as
// "Expected opening `(` for struct `experiment`".
#[derive(Deserialize)]
#[serde(rename = "experiment")]
struct Peek {
    kind: String,
}

#[derive(Deserialize)]
#[serde(
    rename = "experiment",
    deny_unknown_fields,
    bound = "P: DeserializeOwned + Default"
)]
struct Envelope<P> {
    #[allow(dead_code)]
    kind: String,
    name: String,
    seed: u64,
    #[serde(default)]
    params: P,
}

/// The RON dialect of experiment files: `images: "dir"` for `Some("dir")`
/// (`implicit_some`) and `Robust(batch: 100)` for `Robust((batch: 100))`
/// (`unwrap_variant_newtypes`).
pub(crate) fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .with_default_extension(ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES)
}

/// Parses `source` as an experiment of kind `E` (second stage), resolves its relative paths
/// against `base` when given, and checks it.
pub(crate) fn parse_envelope<E: Experiment>(
    source: &str,
    base: Option<&Path>,
) -> std::result::Result<Parsed, ron::error::SpannedError> {
    let mut env: Envelope<E> = ron_options().from_str(source)?;
    let check = match base {
        Some(base) => env.params.resolve_paths(base),
        None => Ok(()),
    }
    .and_then(|()| env.params.check());
    Ok(Parsed {
        name: env.name,
        seed: env.seed,
        experiment: Box::new(env.params),
        check,
    })
}

/// Reads and checks the experiment file at `path`. Relative paths in it (image files and
/// folders) are resolved against the file's folder (see [`crate::paths`]).
pub fn load_file(path: &Path, registry: &Registry) -> Result<Loaded> {
    let source = std::fs::read_to_string(path).map_err(|source| ExperimentError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    load(&source, path, Some(base), registry)
}

/// Parses and checks experiment text; `path` is used in error messages only: relative paths
/// in the text stay relative to the working directory (use [`load_file`] for a file).
pub fn load_str(source: &str, path: &Path, registry: &Registry) -> Result<Loaded> {
    load(source, path, None, registry)
}

/// Parses experiment text named `path`, resolves its relative paths against `base` when
/// given, and checks it.
fn load(source: &str, path: &Path, base: Option<&Path>, registry: &Registry) -> Result<Loaded> {
    let syntax = |e: ron::error::SpannedError| {
        let (line, column) = (e.span.start.line, e.span.start.col);
        let mut message = describe_ron_error(&e.code);
        let named = matches!(
            e.code,
            ron::Error::NoSuchStructField { .. }
                | ron::Error::MissingStructField { .. }
                | ron::Error::DuplicateStructField { .. }
        );
        if !named && let Some(field) = field_before(source, offset_of(source, (line, column))) {
            message.push_str(&format!(" (in or after field `{field}`)"));
        }
        ExperimentError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let peek: Peek = ron_options().from_str(source).map_err(syntax)?;
    let Some(kind) = registry.get(&peek.kind) else {
        let (line, column) = locate_field(source, "kind", None).unwrap_or((1, 1));
        return Err(ExperimentError::UnknownKind {
            path: path.to_path_buf(),
            line,
            column,
            kind: peek.kind,
            known: registry.names(),
        });
    };
    let parsed = kind.parse(source, base).map_err(syntax)?;
    let locate = |field: &str| {
        let params_at = locate_field(source, "params", None);
        let head = field.split(['.', '[']).next().unwrap_or(field);
        locate_field(source, head, params_at.map(|p| offset_of(source, p)))
            .or(params_at)
            .unwrap_or((1, 1))
    };
    if let Err(e) = check_name(&parsed.name) {
        let (line, column) = locate_field(source, "name", None).unwrap_or((1, 1));
        return Err(ExperimentError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: e,
        });
    }
    if let Err(source) = parsed.check {
        let (line, column) = locate(&source.field);
        return Err(ExperimentError::Param {
            path: path.to_path_buf(),
            line,
            column,
            source,
        });
    }
    Ok(Loaded {
        path: path.to_path_buf(),
        name: parsed.name,
        seed: parsed.seed,
        experiment: parsed.experiment,
    })
}

/// Experiment names become folder names: keep them to a safe alphabet.
fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("`name` must not be empty".into());
    }
    if name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(format!(
            "`name` {name:?} may only contain letters, digits, `_`, `-` and `.` (and may not start with `.`): it names the output folder"
        ));
    }
    Ok(())
}

fn describe_ron_error(code: &ron::Error) -> String {
    use ron::Error as E;
    match code {
        E::NoSuchStructField {
            expected, found, ..
        } => format!(
            "unknown field `{found}`; expected one of: {}",
            expected.join(", ")
        ),
        E::MissingStructField { field, .. } => format!("missing field `{field}`"),
        E::DuplicateStructField { field, .. } => format!("duplicate field `{field}`"),
        other => other.to_string(),
    }
}

/// Byte offset of a 1-based (line, column) position.
fn offset_of(source: &str, (line, col): (usize, usize)) -> usize {
    let mut off = 0;
    for (i, l) in source.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return off
                + l.char_indices()
                    .nth(col.saturating_sub(1))
                    .map_or(l.len(), |(b, _)| b);
        }
        off += l.len();
    }
    off
}

/// 1-based (line, column) of the first `field:` at or after byte `from` outside comments and
/// strings, or `None`.
pub fn locate_field(source: &str, field: &str, from: Option<usize>) -> Option<(usize, usize)> {
    let bytes = source.as_bytes();
    let start = from.unwrap_or(0);
    let mut i = 0;
    let mut in_str = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_str {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_str = true;
            i += 1;
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            // Block comment (not nested): skip to its end, or to the end of the text.
            i = source[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |p| i + 2 + p + 2);
            continue;
        }
        // Compare bytes, not `&source[i..]`: `i` may fall inside a multi-byte character.
        if i >= start
            && bytes[i..].starts_with(field.as_bytes())
            && (i == 0 || !is_ident(bytes[i - 1]))
            && !bytes.get(i + field.len()).is_some_and(|&c| is_ident(c))
        {
            // `i` starts a match of `field`, so it and `i + field.len()` are char boundaries.
            let rest = source[i + field.len()..].trim_start();
            if rest.starts_with(':') {
                let line = source[..i].matches('\n').count() + 1;
                let line_start = source[..i].rfind('\n').map_or(0, |p| p + 1);
                // Columns count characters, as ron's do.
                let col = source[line_start..i].chars().count() + 1;
                return Some((line, col));
            }
        }
        i += 1;
    }
    None
}

/// The last `field:` that starts before byte `offset` (for syntax errors: where the parser
/// was when it failed).
fn field_before(source: &str, offset: usize) -> Option<String> {
    let head = &source[..offset.min(source.len())];
    let colon = head.rfind(':')?;
    let before = head[..colon].trim_end();
    // Step over the whole delimiting character: it may be more than one byte.
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let name = &before[start..];
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then(|| name.to_owned())
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_fields_outside_comments_and_strings() {
        let src = "(\n  // kind: no\n  name: \"kind: x\",\n  kind: \"a\",\n  params: (k: 3),\n)";
        assert_eq!(locate_field(src, "kind", None), Some((4, 3)));
        let p = locate_field(src, "params", None).unwrap();
        assert_eq!(p, (5, 3));
        assert_eq!(
            locate_field(src, "k", Some(offset_of(src, p))),
            Some((5, 12))
        );
        // Block comments are skipped; non-ASCII text before a field neither panics nor
        // shifts its column (columns count characters).
        let src = "(/* kind: no, é */ name: \"é\", /* ü */ kind: \"a\")";
        assert_eq!(locate_field(src, "kind", None), Some((1, 39)));
        assert_eq!(locate_field("(é kind: 1)", "kind", None), Some((1, 4)));
        assert_eq!(locate_field("(/* kind: 1", "kind", None), None);
    }

    #[test]
    fn syntax_errors_name_the_field_before_them() {
        assert_eq!(
            field_before("(a: 1, eta: 0.1 thr", 16).as_deref(),
            Some("eta")
        );
        assert_eq!(field_before("(", 1), None);
        // A multi-byte character right before the name (found by the fuzz tests).
        assert_eq!(field_before("(\"éimages: 1", 13).as_deref(), Some("images"));
    }

    #[test]
    fn names_are_folder_safe() {
        assert!(check_name("offline_learning-2.a").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("../x").is_err());
        assert!(check_name(".hidden").is_err());
    }
}
