//! Conversions at the Python boundary: array-likes in (checked for dtype, shape and
//! finiteness), numpy arrays out, and Rust errors as Python exceptions.
//!
//! Inputs: a C-contiguous float64 numpy array is read in place (no copy); any other array-like
//! (other real dtypes, non-contiguous views, nested lists) is first copied into one by
//! `numpy.ascontiguousarray(x, dtype="float64")`. Complex, string, object and datetime
//! arrays are refused with `TypeError`; wrong dimensions, empty arrays and NaN or infinity with
//! `ValueError`, naming the argument.
//!
//! Errors: refused inputs and parameters (shape mismatch, invalid rate, too few
//! interneurons, a frame column that is zero or not of unit norm, ...) are `ValueError`; numerical failures (not positive definite, response
//! solve did not converge, step-size underflow, ...) are `whiten.NumericalError`, a subclass of
//! `RuntimeError`. The message is the Rust error's.

use faer::MatRef;
use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods,
    PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use whiten_core::CoreError;
use whiten_experiments::ExperimentError;
use whiten_ode::OdeError;

pyo3::create_exception!(
    whiten,
    NumericalError,
    PyRuntimeError,
    "A numerical failure in the Rust code (not positive definite, no convergence, step-size underflow, ...)."
);

/// A checked float64 array: C-contiguous, finite, non-empty, of the requested dimension.
pub(crate) struct Array<'py> {
    data: PyReadonlyArrayDyn<'py, f64>,
}

impl Array<'_> {
    /// The values in C (row-major) order.
    pub(crate) fn slice(&self) -> &[f64] {
        // Contiguity was established at construction.
        self.data.as_slice().unwrap_or(&[])
    }

    /// The shape.
    pub(crate) fn shape(&self) -> &[usize] {
        self.data.shape()
    }

    /// Rows and columns of a 2D array.
    pub(crate) fn dims2(&self) -> (usize, usize) {
        let s = self.shape();
        (s[0], s[1])
    }

    /// A 2D array as the matrix it is (row-major data viewed without copying).
    pub(crate) fn matrix(&self) -> MatRef<'_, f64> {
        let (r, c) = self.dims2();
        MatRef::from_row_major_slice(self.slice(), r, c)
    }

    /// A `T x n` sample array (one sample per row) as the `n x T` matrix of samples in
    /// columns that the Rust crates use (the same memory, no copy).
    pub(crate) fn samples_as_columns(&self) -> MatRef<'_, f64> {
        let (t, n) = self.dims2();
        MatRef::from_column_major_slice(self.slice(), n, t)
    }
}

fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Reads `obj` (argument `name`) as a finite, non-empty float64 array with `ndim`
/// dimensions (`what` describes the expected shape in messages).
pub(crate) fn array<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    ndim: usize,
    what: &str,
) -> PyResult<Array<'py>> {
    array_of_dims(obj, name, &[ndim], what)
}

/// As [`array`], accepting any of the dimensions in `ndims`.
pub(crate) fn array_of_dims<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    ndims: &[usize],
    what: &str,
) -> PyResult<Array<'py>> {
    let py = obj.py();
    if let Ok(untyped) = obj.cast::<PyUntypedArray>() {
        let dtype = untyped.dtype();
        if !matches!(dtype.kind(), b'b' | b'i' | b'u' | b'f') {
            return Err(PyTypeError::new_err(format!(
                "{name}: expected an array of real numbers, got dtype {}",
                dtype.str()?
            )));
        }
    }
    let converted = py
        .import("numpy")?
        .call_method1("ascontiguousarray", (obj, "float64"))
        .map_err(|e| {
            PyTypeError::new_err(format!(
                "{name}: expected a float array-like ({what}), cannot convert: {e}"
            ))
        })?;
    let arr = converted.cast_into::<PyArrayDyn<f64>>().map_err(|_| {
        PyTypeError::new_err(format!("{name}: could not be converted to a float64 array"))
    })?;
    let data = arr.readonly();
    let ndim = data.ndim();
    if !ndims.contains(&ndim) {
        let dims: Vec<String> = ndims.iter().map(|d| format!("{d}-dimensional")).collect();
        return Err(PyValueError::new_err(format!(
            "{name} must be {} ({what}), got shape {}",
            dims.join(" or "),
            shape_text(data.shape())
        )));
    }
    let a = Array { data };
    if a.slice().is_empty() || a.shape().contains(&0) {
        return Err(PyValueError::new_err(format!(
            "{name} is empty (shape {}); expected {what}",
            shape_text(a.shape())
        )));
    }
    if let Some(i) = a.slice().iter().position(|v| !v.is_finite()) {
        let mut idx = Vec::with_capacity(ndim);
        let mut rest = i;
        for &d in a.shape().iter().rev() {
            idx.push(rest % d);
            rest /= d;
        }
        idx.reverse();
        return Err(PyValueError::new_err(format!(
            "{name} contains {} at index {}",
            a.slice()[i],
            shape_text(&idx)
        )));
    }
    Ok(a)
}

/// A 2D array with `cols` columns (`None`: any), one sample per row.
pub(crate) fn samples<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    cols: Option<usize>,
) -> PyResult<Array<'py>> {
    let what = match cols {
        Some(n) => format!("samples x {n}"),
        None => "samples x n".to_owned(),
    };
    let a = array(obj, name, 2, &what)?;
    if let Some(n) = cols
        && a.dims2().1 != n
    {
        return Err(PyValueError::new_err(format!(
            "{name} must have {n} column(s) ({what}), got shape {}",
            shape_text(a.shape())
        )));
    }
    Ok(a)
}

/// A square `n x n` matrix (`n` given, or any).
pub(crate) fn square<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    n: Option<usize>,
) -> PyResult<Array<'py>> {
    let a = array(obj, name, 2, "a square matrix")?;
    let (r, c) = a.dims2();
    if r != c || n.is_some_and(|n| n != r) {
        let expected = n.map_or("square".to_owned(), |n| format!("({n}, {n})"));
        return Err(PyValueError::new_err(format!(
            "{name} must be {expected}, got shape {}",
            shape_text(a.shape())
        )));
    }
    Ok(a)
}

/// A 1D array of at least `min_len` values.
pub(crate) fn vector<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    min_len: usize,
) -> PyResult<Array<'py>> {
    let a = array(obj, name, 1, "a 1-dimensional array")?;
    if a.slice().len() < min_len {
        return Err(PyValueError::new_err(format!(
            "{name} needs at least {min_len} values, got {}",
            a.slice().len()
        )));
    }
    Ok(a)
}

/// A matrix as a new row-major numpy array.
pub(crate) fn matrix_out<'py>(py: Python<'py>, m: MatRef<'_, f64>) -> Bound<'py, PyArray2<f64>> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)]).into_pyarray(py)
}

/// An `n x T` matrix of samples in columns as a `T x n` numpy array (one sample per row).
pub(crate) fn columns_out<'py>(py: Python<'py>, m: MatRef<'_, f64>) -> Bound<'py, PyArray2<f64>> {
    matrix_out(py, m.transpose())
}

/// Row-major data of shape `(rows, cols)` as a numpy array (no copy of the vector).
pub(crate) fn rows_out(
    py: Python<'_>,
    data: Vec<f64>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'_, PyArray2<f64>>> {
    Array2::from_shape_vec((rows, cols), data)
        .map(|a| a.into_pyarray(py))
        .map_err(|e| PyRuntimeError::new_err(format!("internal shape error: {e}")))
}

/// A vector as a numpy array (no copy).
pub(crate) fn vec_out(py: Python<'_>, v: Vec<f64>) -> Bound<'_, PyArray1<f64>> {
    v.into_pyarray(py)
}

/// Whether a core error is a refused input (as opposed to a numerical failure).
fn is_bad_input(e: &CoreError) -> bool {
    matches!(
        e,
        CoreError::DimensionMismatch { .. }
            | CoreError::TooFewInterneurons { .. }
            | CoreError::InvalidLearningRate { .. }
            | CoreError::InvalidParameter { .. }
            | CoreError::NotSymmetric { .. }
            | CoreError::BadColumn { .. }
    )
}

/// A core error as a Python exception: `ValueError` for refused inputs, `NumericalError`
/// for numerical failures.
pub(crate) fn core_err(e: CoreError) -> PyErr {
    if is_bad_input(&e) {
        PyValueError::new_err(e.to_string())
    } else {
        NumericalError::new_err(e.to_string())
    }
}

/// A core error raised while checking a user-given starting point: every failure
/// (including not positive definite, rank deficient, non-finite) is a `ValueError`.
pub(crate) fn core_input_err(e: CoreError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// An integrator error: refused options and dimensions are `ValueError`, failures during the
/// integration `NumericalError`.
pub(crate) fn ode_err(e: OdeError) -> PyErr {
    match e {
        OdeError::InvalidOptions { .. } | OdeError::DimensionMismatch { .. } => {
            PyValueError::new_err(e.to_string())
        }
        _ => NumericalError::new_err(e.to_string()),
    }
}

/// An experiment error: unreadable files are `FileNotFoundError`/`OSError`, bad experiment
/// text or parameters `ValueError`, failed runs `NumericalError`.
pub(crate) fn experiment_err(e: ExperimentError) -> PyErr {
    let msg = e.to_string();
    match e {
        ExperimentError::Read { source, .. } => {
            if source.kind() == std::io::ErrorKind::NotFound {
                PyFileNotFoundError::new_err(msg)
            } else {
                PyOSError::new_err(msg)
            }
        }
        ExperimentError::Write { .. } => PyOSError::new_err(msg),
        ExperimentError::Syntax { .. }
        | ExperimentError::UnknownKind { .. }
        | ExperimentError::Param { .. }
        | ExperimentError::TooLarge { .. } => PyValueError::new_err(msg),
        _ => NumericalError::new_err(msg),
    }
}
