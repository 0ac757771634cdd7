//! Paths in experiment files (image files and folders): how a relative path is resolved and
//! how errors name it.
//!
//! A relative path is resolved against the folder of the experiment file that writes it, as
//! Cargo resolves a `path` dependency against its manifest's folder: in
//! `experiments/photographs/x.ron`, `"../../../shared/data/images"` is
//! `experiments/photographs/../../../shared/data/images`, whatever folder `whiten` runs in. An
//! absolute path is taken as it is. Experiment text loaded without a file
//! ([`crate::load_str`]) resolves relative paths against the working directory.
//!
//! Resolution happens once, when the file is loaded and before the parameter check
//! ([`crate::Experiment::resolve_paths`]): the parameter then holds the absolute path, so that
//! the `config.ron` of a run names the files it read and reruns from any folder. The path as
//! written is kept for errors, which give both:
//! `"../img/a.png" (resolved against experiments/ as /home/me/experiments/../img/a.png)`.
//! Results name images by their file stems, never by their paths, so summaries do not depend
//! on where the files are.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ParamError;

/// A file or folder named by an experiment's parameters: written as a string in RON, resolved
/// against the experiment file's folder when loaded (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct PathParam {
    /// The path as it stands: as written until resolved, then absolute.
    path: String,
    /// Where a relative path was resolved: the path as written and the folder.
    origin: Option<(String, PathBuf)>,
}

impl PathParam {
    /// A path parameter, as written (not resolved).
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            origin: None,
        }
    }

    /// The path as it stands (absolute once resolved against a file's folder).
    pub fn path(&self) -> &Path {
        Path::new(&self.path)
    }

    /// The path as it stands, as text.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// The path as written in the experiment file.
    pub fn written(&self) -> &str {
        self.origin.as_ref().map_or(&self.path, |(w, _)| w)
    }

    /// Whether the path is empty (refused by the parameter checks).
    pub fn is_empty(&self) -> bool {
        self.path.is_empty()
    }

    /// Resolves a relative path against `base`, the folder of the experiment file (as given:
    /// `""` for a file in the working directory), and makes it absolute. An absolute or empty
    /// path is left as it is, as is one resolved already. Refused at `field` when the resolved
    /// path is not valid UTF-8 (parameters are text).
    pub fn resolve(&mut self, base: &Path, field: &str) -> Result<(), ParamError> {
        if self.path.is_empty() || self.origin.is_some() || self.path().is_absolute() {
            return Ok(());
        }
        let resolved = absolute(&base.join(&self.path));
        let Some(text) = resolved.to_str() else {
            return Err(ParamError::new(
                field,
                format!(
                    "{:?} resolved against {} is not valid UTF-8 ({}); write an absolute path",
                    self.path,
                    folder(base),
                    resolved.display()
                ),
            ));
        };
        let written = std::mem::replace(&mut self.path, text.to_owned());
        self.origin = Some((written, base.to_path_buf()));
        Ok(())
    }

    /// The path for errors, as written and as resolved:
    /// `"a.png" (resolved against experiments/ as /abs/experiments/a.png)`; an absolute path
    /// as written; a relative path never resolved (text loaded without a file) against the
    /// working directory.
    pub fn describe(&self) -> String {
        match &self.origin {
            Some((written, base)) => format!(
                "{written:?} (resolved against {} as {})",
                folder(base),
                self.path
            ),
            None if self.path().is_relative() && !self.path.is_empty() => format!(
                "{:?} (resolved against the working directory as {})",
                self.path,
                absolute(self.path()).display()
            ),
            None => format!("{:?}", self.path),
        }
    }

    /// The reason of a refusal of this path: [`PathParam::describe`], then `message` (an
    /// error about the file, such as an [`crate::images::ImageError`]) without its leading
    /// `PATH: ` when it names this path first, as the image readers' errors do.
    pub fn refusal(&self, message: impl fmt::Display) -> String {
        let message = message.to_string();
        let prefix = format!("{}: ", self.path().display());
        let rest = message.strip_prefix(&prefix).unwrap_or(&message);
        format!("{}: {rest}", self.describe())
    }
}

impl From<String> for PathParam {
    fn from(path: String) -> Self {
        Self::new(path)
    }
}

impl From<&str> for PathParam {
    fn from(path: &str) -> Self {
        Self::new(path)
    }
}

/// Serialised as the path as it stands: a resolved path is written absolute (`config.ron`).
impl From<PathParam> for String {
    fn from(p: PathParam) -> Self {
        p.path
    }
}

impl fmt::Display for PathParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

/// `path` made absolute against the working directory, without touching the file system
/// (`..` and symbolic links are kept); as it is when the working directory is unknown.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A folder for messages, with a trailing separator; `./` for the working directory.
fn folder(base: &Path) -> String {
    let s = base.display().to_string();
    if s.is_empty() {
        "./".into()
    } else if s.ends_with(std::path::MAIN_SEPARATOR) || s.ends_with('/') {
        s
    } else {
        format!("{s}{}", std::path::MAIN_SEPARATOR)
    }
}

// The expectations write `/`-separated, `/`-rooted paths.
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_base_and_absolute_ones_stay() {
        let cwd = std::env::current_dir().unwrap();
        let mut p = PathParam::new("../img/a.png");
        p.resolve(Path::new("experiments/photographs"), "f")
            .unwrap();
        assert_eq!(
            p.path(),
            cwd.join("experiments/photographs/../img/a.png").as_path()
        );
        assert!(p.path().is_absolute());
        assert_eq!(p.written(), "../img/a.png");
        let d = p.describe();
        assert!(
            d.starts_with("\"../img/a.png\" (resolved against experiments/photographs/ as /"),
            "{d}"
        );
        // Resolving twice changes nothing.
        let before = p.clone();
        p.resolve(Path::new("elsewhere"), "f").unwrap();
        assert_eq!(p, before);

        let abs = cwd.join("x.ras").display().to_string();
        let mut a = PathParam::new(abs.clone());
        a.resolve(Path::new("experiments"), "f").unwrap();
        assert_eq!(a.as_str(), abs);
        assert_eq!(a.describe(), format!("{abs:?}"));

        // A file in the working directory: base "" reads as ./
        let mut here = PathParam::new("a.ras");
        here.resolve(Path::new(""), "f").unwrap();
        assert_eq!(here.path(), cwd.join("a.ras").as_path());
        assert!(here.describe().contains("resolved against ./ as "));

        // Empty paths are left for the check to refuse.
        let mut empty = PathParam::new("");
        empty.resolve(Path::new("experiments"), "f").unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn unresolved_relative_paths_name_the_working_directory() {
        let p = PathParam::new("a.ras");
        let d = p.describe();
        assert!(
            d.starts_with("\"a.ras\" (resolved against the working directory as /"),
            "{d}"
        );
    }

    #[test]
    fn refusals_say_the_path_once() {
        let mut p = PathParam::new("a.ras");
        p.resolve(Path::new("dir"), "f").unwrap();
        let r = p.refusal(format!("{}: cannot read: gone", p.path().display()));
        assert!(
            r.starts_with("\"a.ras\" (resolved against dir/ as /"),
            "{r}"
        );
        assert!(r.ends_with("a.ras): cannot read: gone"), "{r}");
        // A message about another file (one inside a folder) is kept whole.
        let r = p.refusal("/else/b.ras: truncated");
        assert!(r.ends_with("): /else/b.ras: truncated"), "{r}");
    }

    #[test]
    fn serialises_as_the_path_as_it_stands() {
        let mut p: PathParam = ron::from_str("\"a.ras\"").unwrap();
        assert_eq!(p.as_str(), "a.ras");
        p.resolve(Path::new("/base"), "f").unwrap();
        assert_eq!(ron::to_string(&p).unwrap(), "\"/base/a.ras\"");
    }
}
