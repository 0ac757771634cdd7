//! The [`Experiment`] trait and the registry of experiment kinds.
//!
//! An experiment kind is a parameter struct that implements [`Experiment`]: it deserialises
//! from the `params` of a RON file (unknown fields denied, missing fields defaulted), checks
//! itself once ([`Experiment::check`]) and runs in a [`RunContext`]. The [`Registry`] maps kind
//! names to these types through the object-safe [`Kind`] adapter, so that adding an experiment
//! is: implement the trait, register it, write a RON file. The registry knows no kind: the
//! built-in ones are registered by `kinds::register_all` (a registry of them all:
//! `kinds::builtin_registry`), next to the kinds.

use std::any::type_name;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::output::Outputs;

/// Documentation of one parameter, shown by `whiten describe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDoc {
    /// Field name in `params`.
    pub name: &'static str,
    /// Meaning and units.
    pub doc: &'static str,
}

/// Shorthand for a [`ParamDoc`].
pub const fn param(name: &'static str, doc: &'static str) -> ParamDoc {
    ParamDoc { name, doc }
}

/// An experiment kind: its parameters (the implementing struct), their check, and the run.
pub trait Experiment: Serialize + DeserializeOwned + Default + Send + Sync + 'static {
    /// The kind's name in RON files and on the command line.
    const KIND: &'static str;
    /// One line: what it reproduces.
    const DESCRIPTION: &'static str;
    /// Every field of the parameter struct, documented.
    const PARAMS: &'static [ParamDoc];
    /// Version of the kind's code, part of what makes a result folder up to date: a kind
    /// registered from outside this workspace (whose source the build fingerprint does not
    /// cover) bumps it when its results change. Built-in kinds are covered by the fingerprint.
    const VERSION: &'static str = "";

    /// The files this experiment reads (images, data files): their content is part of what
    /// makes a result folder up to date, so replacing a file under the same name re-runs.
    /// Default: none.
    fn inputs(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    /// Peak memory a run needs with `threads` worker threads, estimated from the parameters
    /// (see [`crate::resources`]); checked against the machine's memory before any work.
    /// Default: `None`, a kind whose memory does not grow with its parameters.
    fn memory(&self, threads: usize) -> Option<crate::resources::MemoryEstimate> {
        let _ = threads;
        None
    }

    /// Resolves the relative paths among the parameters (image files, folders) against
    /// `base`, the folder of the experiment file, as [`crate::paths::PathParam::resolve`]
    /// does; absolute paths stay as they are. Called by [`crate::load_file`] before
    /// [`Experiment::check`]; text loaded without a file keeps paths relative to the working
    /// directory. Default: no paths.
    fn resolve_paths(&mut self, base: &std::path::Path) -> Result<(), ParamError> {
        let _ = base;
        Ok(())
    }

    /// Refuses impossible parameters before any work starts.
    fn check(&self) -> Result<(), ParamError> {
        Ok(())
    }

    /// Runs the experiment.
    fn run(&self, ctx: &RunContext) -> Result<Outputs>;
}

/// An experiment ready to run: checked parameters behind a trait object.
pub trait Runnable: Send + Sync {
    /// The kind's name.
    fn kind(&self) -> &'static str;
    /// Runs it.
    fn run(&self, ctx: &RunContext) -> Result<Outputs>;
    /// The parameters as resolved (defaults filled in), in RON.
    fn resolved_params(&self) -> String;
    /// The kind's [`Experiment::VERSION`].
    fn version(&self) -> &'static str;
    /// The files it reads ([`Experiment::inputs`]).
    fn inputs(&self) -> Vec<std::path::PathBuf>;
    /// Its memory estimate ([`Experiment::memory`]).
    fn memory(&self, threads: usize) -> Option<crate::resources::MemoryEstimate>;
}

impl<E: Experiment> Runnable for E {
    fn kind(&self) -> &'static str {
        E::KIND
    }
    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        Experiment::run(self, ctx)
    }
    fn resolved_params(&self) -> String {
        // In the dialect of experiment files (`Reference(eta_g: ..)`, not `Reference((..))`),
        // so that a `config.ron` loads again as an experiment file.
        crate::config::ron_options()
            .to_string_pretty(self, ron::ser::PrettyConfig::default())
            .unwrap_or_else(|e| format!("<cannot serialise {}: {e}>", type_name::<E>()))
    }
    fn version(&self) -> &'static str {
        E::VERSION
    }
    fn inputs(&self) -> Vec<std::path::PathBuf> {
        Experiment::inputs(self)
    }
    fn memory(&self, threads: usize) -> Option<crate::resources::MemoryEstimate> {
        Experiment::memory(self, threads)
    }
}

/// A parameter with its default value, as shown by `whiten describe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedParam {
    /// Field name.
    pub name: &'static str,
    /// Meaning.
    pub doc: &'static str,
    /// Default, in RON.
    pub default: String,
}

/// Object-safe view of an experiment kind, stored in the registry.
pub trait Kind: Send + Sync {
    /// The kind's name.
    fn name(&self) -> &'static str;
    /// One-line description.
    fn description(&self) -> &'static str;
    /// Parameters with meanings and defaults.
    fn params(&self) -> Vec<DescribedParam>;
    /// Parses a whole experiment file whose `kind` is this one, resolves its relative paths
    /// against `base` (the file's folder; `None`: left relative to the working directory)
    /// and checks it (see [`crate::config`]).
    fn parse(
        &self,
        source: &str,
        base: Option<&std::path::Path>,
    ) -> std::result::Result<crate::config::Parsed, ron::error::SpannedError>;
}

struct KindOf<E>(PhantomData<fn() -> E>);

impl<E: Experiment> Kind for KindOf<E> {
    fn name(&self) -> &'static str {
        E::KIND
    }
    fn description(&self) -> &'static str {
        E::DESCRIPTION
    }
    fn params(&self) -> Vec<DescribedParam> {
        let text = ron::to_string(&E::default()).unwrap_or_default();
        let defaults = top_level_fields(&text);
        E::PARAMS
            .iter()
            .map(|p| DescribedParam {
                name: p.name,
                doc: p.doc,
                default: defaults
                    .iter()
                    .find(|(k, _)| k == p.name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| "?".into()),
            })
            .collect()
    }
    fn parse(
        &self,
        source: &str,
        base: Option<&std::path::Path>,
    ) -> std::result::Result<crate::config::Parsed, ron::error::SpannedError> {
        crate::config::parse_envelope::<E>(source, base)
    }
}

/// Splits the RON text of a struct, `(a:1,b:Foo(2,3))`, into its top-level `(field, value)`
/// pairs.
fn top_level_fields(text: &str) -> Vec<(String, String)> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or("");
    let mut out = Vec::new();
    let (mut depth, mut start, mut in_str, mut escaped) = (0i32, 0usize, false, false);
    let mut push = |piece: &str| {
        if let Some((k, v)) = piece.split_once(':') {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    };
    for (i, ch) in inner.char_indices() {
        if in_str {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    push(&inner[start..]);
    out
}

/// The experiment kinds known to a run, by name.
pub struct Registry {
    kinds: Vec<Box<dyn Kind>>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Self { kinds: Vec::new() }
    }

    /// Registers kind `E`.
    ///
    /// # Panics
    /// If a kind of the same name is already registered (a programming error).
    pub fn register<E: Experiment>(&mut self) -> &mut Self {
        assert!(
            self.get(E::KIND).is_none(),
            "experiment kind {} registered twice",
            E::KIND
        );
        self.kinds.push(Box::new(KindOf::<E>(PhantomData)));
        self
    }

    /// The kind called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Kind> {
        self.kinds
            .iter()
            .find(|k| k.name() == name)
            .map(|k| k.as_ref())
    }

    /// Kind names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.kinds.iter().map(|k| k.name().to_owned()).collect();
        v.sort();
        v
    }

    /// All kinds, sorted by name.
    pub fn kinds(&self) -> Vec<&dyn Kind> {
        let mut v: Vec<&dyn Kind> = self.kinds.iter().map(|k| k.as_ref()).collect();
        v.sort_by_key(|k| k.name());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_top_level_fields() {
        let f = top_level_fields(r#"(n:5,spectrum:Linspace(0.5,2.0),s:"a,b",v:[1,2])"#);
        let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["n", "spectrum", "s", "v"]);
        assert_eq!(f[1].1, "Linspace(0.5,2.0)");
        assert_eq!(f[2].1, r#""a,b""#);
    }
}
