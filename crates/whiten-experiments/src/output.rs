//! What an experiment produces: a summary of key numbers (`summary.json`), tables (CSV),
//! learned parameters (`.npy` arrays), figures (SVG and PNG) and the paper claims it checks
//! (for `REPORT.md`).
//!
//! Outputs are collected in memory by the experiment and written by the runner, all at once,
//! into a temporary folder that is renamed into place: an experiment folder is either complete
//! or absent.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::{ExperimentError, Result};
use crate::plot::Figure;

/// Significant digits kept for every float of a summary, so that snapshots survive harmless
/// floating-point noise.
pub const SUMMARY_DIGITS: usize = 6;

/// Everything an experiment run produces.
#[derive(Debug, Default)]
pub struct Outputs {
    /// Key numbers, written (rounded) to `summary.json`.
    pub summary: BTreeMap<String, Value>,
    /// Tables, each written to `<name>.csv`.
    pub tables: Vec<Table>,
    /// Arrays (learned parameters, the covariance used), each written to `<name>.npy`.
    pub arrays: Vec<Array>,
    /// Figures, each written to `<name>.svg` and `<name>.png`.
    pub figures: Vec<Figure>,
    /// Paper claims checked by this run, written into the summary under `claims`.
    pub claims: Vec<Claim>,
    /// Named warnings (a silent interneuron, a parameter pinned at its bound, a run that did
    /// not converge), written into the summary under `warnings`, counted in the run line and
    /// listed in `REPORT.md`.
    pub warnings: Vec<String>,
}

impl Outputs {
    /// Records a key number (or any serialisable value) in the summary.
    pub fn summarize(&mut self, key: impl Into<String>, value: impl Serialize) {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.summary.insert(key.into(), value);
    }

    /// Adds a table.
    pub fn table(&mut self, table: Table) {
        self.tables.push(table);
    }

    /// Adds an array, written to `<name>.npy` (float64, C order).
    ///
    /// # Panics
    /// If `data.len()` is not the product of `shape` (a programming error).
    pub fn array(&mut self, name: impl Into<String>, shape: &[usize], data: Vec<f64>) {
        let name = name.into();
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "array {name}: data length must match the shape"
        );
        self.arrays.push(Array {
            name,
            shape: shape.to_vec(),
            data,
        });
    }

    /// Adds a figure.
    pub fn figure(&mut self, figure: Figure) {
        self.figures.push(figure);
    }

    /// Adds named warnings (kept in the order given; duplicates dropped).
    pub fn warn(&mut self, warnings: impl IntoIterator<Item = String>) {
        for w in warnings {
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
    }

    /// Adds a checked claim.
    pub fn claim(&mut self, claim: Claim) {
        self.claims.push(claim);
    }

    /// The summary as it is written: claims included, floats rounded to
    /// [`SUMMARY_DIGITS`] significant digits, `-0` as `0`, keys sorted.
    pub fn summary_json(&self) -> Value {
        let mut map: serde_json::Map<String, Value> = self
            .summary
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !self.claims.is_empty() {
            let mut claims = self.claims.clone();
            claims.sort_by(|a, b| a.id.cmp(&b.id));
            map.insert(
                "claims".into(),
                serde_json::to_value(claims).unwrap_or(Value::Null),
            );
        }
        if !self.warnings.is_empty() {
            map.insert(
                "warnings".into(),
                serde_json::to_value(&self.warnings).unwrap_or(Value::Null),
            );
        }
        round_value(&Value::Object(map), SUMMARY_DIGITS)
    }

    /// Writes every output into `dir` (which must exist and be empty), returning the files
    /// written.
    pub fn write_into(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        let summary = serde_json::to_string_pretty(&self.summary_json())
            .expect("a JSON value always serialises");
        let path = dir.join("summary.json");
        write_file(&path, format!("{summary}\n").as_bytes())?;
        written.push(path);
        for table in &self.tables {
            let path = dir.join(format!("{}.csv", table.name));
            write_file(&path, table.to_csv().as_bytes())?;
            written.push(path);
        }
        for array in &self.arrays {
            let path = dir.join(format!("{}.npy", array.name));
            write_file(&path, &crate::npy::write(&array.shape, &array.data))?;
            written.push(path);
        }
        for figure in &self.figures {
            written.extend(figure.render(dir)?);
        }
        Ok(written)
    }
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|source| ExperimentError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A named array of float64 values, saved as `<name>.npy`.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// File stem.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major (C order).
    pub data: Vec<f64>,
}

/// The values of a matrix, row-major (C order, as numpy reads a `.npy` file by default).
pub fn row_major(m: faer::MatRef<'_, f64>) -> Vec<f64> {
    (0..m.nrows())
        .flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)]))
        .collect()
}

/// A paper claim checked by a run: the statement, what was expected, what was measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    /// Stable identifier, e.g. `p1.offline.reference`.
    pub id: String,
    /// Which paper: 1, 2, or 3 for the gain-modulation models (ICML 2023 and NeurIPS 2023).
    pub paper: u8,
    /// The claim, in words.
    pub statement: String,
    /// The paper's (or theory's) value or criterion.
    pub expected: String,
    /// What this run measured.
    pub measured: String,
    /// Whether the measurement supports the claim.
    pub pass: bool,
    /// The figure that shows it (file stem), if any.
    pub figure: Option<String>,
    /// A comparison reported for the reader, not a criterion this implementation must meet:
    /// what the authors' own schedule gives, a published number obtained under settings that
    /// differ. Reported as `agrees` / `differs`; never counted as a failure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub informative: bool,
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An integer.
    Int(i64),
    /// A float, written in full (shortest round-trip) precision.
    Float(f64),
    /// Text.
    Text(String),
    /// No value: an empty CSV field (`None` in Python, `NaN` in pandas), e.g. the third
    /// gain of a row whose circuit has two.
    Empty,
}

impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::Float(v)
    }
}
impl From<usize> for Cell {
    fn from(v: usize) -> Self {
        Cell::Int(v as i64)
    }
}
impl From<u64> for Cell {
    fn from(v: u64) -> Self {
        Cell::Int(v as i64)
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}
impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_owned())
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// A table with a header row, written as CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem.
    pub name: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with the given columns.
    pub fn new(name: impl Into<String>, columns: &[&str]) -> Self {
        Self::with_columns(name, columns.iter().map(|c| (*c).to_owned()).collect())
    }

    /// An empty table with the given column names (built at run time, e.g. with
    /// [`indexed_columns`]).
    pub fn with_columns(name: impl Into<String>, columns: Vec<String>) -> Self {
        Self {
            name: name.into(),
            columns,
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    ///
    /// # Panics
    /// If the row's length differs from the number of columns (a programming error).
    pub fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(
            row.len(),
            self.columns.len(),
            "row length must match the columns of table {}",
            self.name
        );
        self.rows.push(row);
    }

    /// The CSV text (RFC 4180 quoting, `\n` line ends).
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| csv_field(c)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match cell {
                    Cell::Int(v) => {
                        let _ = write!(out, "{v}");
                    }
                    Cell::Float(v) => out.push_str(&format_float(*v)),
                    Cell::Text(s) => out.push_str(&csv_field(s)),
                    Cell::Empty => {}
                }
            }
            out.push('\n');
        }
        out
    }
}

/// Column names for a list of up to `len` values, one column each: `g_0`, `g_1`, ... (a list
/// in one cell would hide small values behind its formatting and is not a number to a
/// notebook).
pub fn indexed_columns(prefix: &str, len: usize) -> Vec<String> {
    (0..len).map(|i| format!("{prefix}_{i}")).collect()
}

/// The cells of a list of values under [`indexed_columns`]`(_, len)`: each value at full
/// precision, then [`Cell::Empty`] up to `len` (a row with fewer values than the longest).
pub fn indexed_cells(values: &[f64], len: usize) -> Vec<Cell> {
    (0..len)
        .map(|i| values.get(i).map_or(Cell::Empty, |&v| Cell::Float(v)))
        .collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A float as written in tables: shortest round-trip form, `NaN`, `inf`, `-inf`.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else if v == 0.0 {
        "0".into()
    } else {
        format!("{v}")
    }
}

/// `v` rounded to `digits` significant digits; `-0` becomes `0`.
pub fn round_sig(v: f64, digits: usize) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return if v == 0.0 { 0.0 } else { v };
    }
    let s = format!("{:.*e}", digits.saturating_sub(1), v);
    let r: f64 = s.parse().unwrap_or(v);
    if r == 0.0 { 0.0 } else { r }
}

/// A JSON value with every float rounded by [`round_sig`] and non-finite floats as strings.
pub fn round_value(v: &Value, digits: usize) -> Value {
    match v {
        Value::Number(n) => {
            if n.is_f64() {
                let x = n.as_f64().unwrap_or(f64::NAN);
                let r = round_sig(x, digits);
                // An integral float prints as an integer so that `24.0` and `24` agree.
                if r.fract() == 0.0 && r.abs() < 1e15 {
                    Value::from(r as i64)
                } else {
                    serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number)
                }
            } else {
                v.clone()
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| round_value(x, digits)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), round_value(x, digits)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// A finite-or-not float for summaries: JSON has no NaN, so non-finite values are strings.
pub fn json_float(v: f64) -> Value {
    if v.is_finite() {
        Value::from(v)
    } else {
        Value::from(format_float(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_six_significant_digits() {
        assert_eq!(round_sig(1.234_567_89, 6), 1.234_57);
        assert_eq!(round_sig(-0.0, 6), 0.0);
        assert!(round_sig(-0.0, 6).is_sign_positive());
        assert_eq!(round_sig(123_456_789.0, 6), 123_457_000.0);
        assert_eq!(round_sig(1.0e-300 * 1.234_567_8, 6), 1.234_57e-300);
    }

    #[test]
    fn summary_rounds_nested_floats_and_sorts_claims() {
        let mut out = Outputs::default();
        out.summarize("x", 0.123_456_789);
        out.summarize("nested", serde_json::json!({"a": [1.000_000_01, -0.0]}));
        out.claim(Claim {
            id: "b".into(),
            paper: 1,
            statement: String::new(),
            expected: String::new(),
            measured: String::new(),
            pass: true,
            figure: None,
            informative: false,
        });
        out.claim(Claim {
            id: "a".into(),
            ..out.claims[0].clone()
        });
        let v = out.summary_json();
        assert_eq!(v["x"], serde_json::json!(0.123457));
        assert_eq!(v["nested"]["a"], serde_json::json!([1, 0]));
        assert_eq!(v["claims"][0]["id"], "a");
    }

    #[test]
    fn csv_quotes_and_formats() {
        let mut t = Table::new("t", &["a", "b,c"]);
        t.push(vec![Cell::from(1usize), Cell::from("x\"y")]);
        t.push(vec![Cell::from(f64::NAN), Cell::from(0.1)]);
        assert_eq!(t.to_csv(), "a,\"b,c\"\n1,\"x\"\"y\"\nNaN,0.1\n");
    }

    #[test]
    fn lists_become_one_column_per_value_at_full_precision() {
        let mut columns = vec!["image".to_owned()];
        columns.extend(indexed_columns("g", 2));
        let mut t = Table::with_columns("t", columns);
        let mut row = vec![Cell::from("a")];
        row.extend(indexed_cells(&[0.272_012_345_678_9, 1.5e-4], 2));
        t.push(row);
        let mut row = vec![Cell::from("b")];
        row.extend(indexed_cells(&[0.3], 2));
        t.push(row);
        let csv = t.to_csv();
        assert_eq!(csv, "image,g_0,g_1\na,0.2720123456789,0.00015\nb,0.3,\n");
        // Every float reads back exactly.
        let back: f64 = csv
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(back, 0.272_012_345_678_9);
    }
}
