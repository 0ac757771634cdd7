//! Running experiment files from Python (`whiten_experiments`): the summary as a dict, the
//! tables as dicts of columns and the saved arrays (learned parameters) as numpy arrays.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use whiten_experiments::{
    Cell, Loaded, Outputs, RunContext, RunOptions, builtin_registry, load_file, load_str, run_one,
};

use crate::convert::experiment_err;

/// Whether a string argument is experiment text rather than a path: not an existing file, and
/// looks like RON (starts with `(` or a comment, or spans several lines).
fn looks_like_text(s: &str) -> bool {
    if Path::new(s).is_file() {
        return false;
    }
    let t = s.trim_start();
    t.starts_with('(') || t.starts_with("//") || s.contains('\n')
}

/// A table as a dict of columns (lists of int, float or str; `None` for an empty cell).
fn table<'py>(py: Python<'py>, t: &whiten_experiments::Table) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (j, name) in t.columns.iter().enumerate() {
        let col = PyList::empty(py);
        for row in &t.rows {
            match &row[j] {
                Cell::Int(v) => col.append(*v)?,
                Cell::Float(v) => col.append(*v)?,
                Cell::Text(v) => col.append(v)?,
                Cell::Empty => col.append(py.None())?,
            }
        }
        d.set_item(name, col)?;
    }
    Ok(d)
}

fn result<'py>(
    py: Python<'py>,
    loaded: &Loaded,
    seed: u64,
    outputs: &Outputs,
    dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &loaded.name)?;
    d.set_item("kind", loaded.experiment.kind())?;
    d.set_item("seed", seed)?;
    let json = serde_json::to_string(&outputs.summary_json())
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    let summary = py.import("json")?.call_method1("loads", (json,))?;
    d.set_item("summary", summary)?;
    let tables = PyDict::new(py);
    for t in &outputs.tables {
        tables.set_item(&t.name, table(py, t)?)?;
    }
    d.set_item("tables", tables)?;
    let arrays = PyDict::new(py);
    for a in &outputs.arrays {
        let array = numpy::ndarray::ArrayD::from_shape_vec(a.shape.clone(), a.data.clone())
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        arrays.set_item(&a.name, numpy::IntoPyArray::into_pyarray(array, py))?;
    }
    d.set_item("arrays", arrays)?;
    d.set_item("warnings", outputs.warnings.clone())?;
    d.set_item("dir", dir)?;
    Ok(d)
}

/// Runs one experiment: `source` is the path of a RON experiment file (str or
/// `os.PathLike`) or the RON text itself. With `out`, the outputs (summary.json, CSV tables,
/// figures, config.ron) are written to `out/<name>/` as `whiten run` does; without it nothing
/// is written. `seed` replaces the file's seed.
///
/// Returns a dict: `name`, `kind`, `seed`, `summary` (the summary.json content, with the
/// claims), `tables` (name -> dict of columns, so `pandas.DataFrame(t)` works), `arrays`
/// (name -> numpy array: the learned parameters written as `<name>.npy`), `warnings`,
/// and `dir` (the output folder, or `None`). The GIL is released while the experiment runs.
#[pyfunction]
#[pyo3(signature = (source, out = None, seed = None))]
pub fn run_experiment<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    out: Option<PathBuf>,
    seed: Option<u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let registry = builtin_registry();
    let loaded = match source.extract::<String>() {
        Ok(s) if looks_like_text(&s) => {
            load_str(&s, Path::new("<python>.ron"), &registry).map_err(experiment_err)?
        }
        _ => {
            let path: PathBuf = source.extract()?;
            load_file(&path, &registry).map_err(experiment_err)?
        }
    };
    let seed = seed.unwrap_or(loaded.seed);
    match out {
        Some(out) => {
            let opts = RunOptions {
                seed: Some(seed),
                progress: false,
                force: true,
                ..RunOptions::new(out)
            };
            let done = py
                .detach(|| run_one(&loaded, &opts))
                .map_err(experiment_err)?;
            result(py, &loaded, seed, &done.outputs, Some(done.dir))
        }
        None => {
            let ctx = RunContext::new(&loaded.name, seed).without_progress();
            let outputs = py
                .detach(|| loaded.experiment.run(&ctx))
                .map_err(experiment_err)?;
            result(py, &loaded, seed, &outputs, None)
        }
    }
}

/// The names of the built-in experiment kinds.
#[pyfunction]
pub fn experiment_kinds() -> Vec<String> {
    builtin_registry().names()
}
