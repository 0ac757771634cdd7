//! Users' own data files: data matrices (samples x n) for paper 1 and signals (a vector, or
//! N x 2 pairs) for paper 2, from `.npy` ([`crate::npy`]) or `.csv` files.
//!
//! The format is chosen by content, then name: a file that starts with the `.npy` magic bytes
//! is read as `.npy`; otherwise a file named `*.csv` or `*.txt` is read as CSV (comma
//! separated, one sample per line, an optional header row whose fields are all non-numeric,
//! blank lines skipped, spaces around fields ignored). Every value must be finite. Each error
//! names the file and the place: the line and column of a CSV cell (counted from 1, as
//! editors do), the row and column of an array element (counted from 0, as numpy does), the
//! byte of a malformed `.npy` header.

use std::path::Path;

use thiserror::Error;

use crate::npy::{self, NpyError, shape_text};

/// Why a data file could not be read. Every message starts with the file's name.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be read.
    #[error("{name}: cannot read: {source}")]
    Io {
        /// The file.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file of zero bytes.
    #[error("{name}: empty file (0 bytes)")]
    EmptyFile {
        /// The file.
        name: String,
    },
    /// Neither `.npy` content nor a CSV name.
    #[error(
        "{name}: not a data file: no .npy magic bytes and not named .csv or .txt \
         (save with numpy.save(\"x.npy\", x) or numpy.savetxt(\"x.csv\", x, delimiter=\",\"))"
    )]
    UnknownFormat {
        /// The file.
        name: String,
    },
    /// Neither `.npy` content nor a CSV name, where a signal was expected.
    #[error(
        "{name}: not a signal file: no .npy magic bytes and not named .csv or .txt (save with \
         numpy.save(\"x.npy\", x) or numpy.savetxt(\"x.csv\", x, delimiter=\",\"), x a \
         vector or an N x 2 array of pairs)"
    )]
    NotSignal {
        /// The file.
        name: String,
    },
    /// A malformed `.npy` file.
    #[error(transparent)]
    Npy(#[from] NpyError),
    /// An array of a shape the experiment cannot take.
    #[error("{name}: array of shape {shape}: {expected}")]
    Shape {
        /// The file.
        name: String,
        /// The shape, as numpy prints it.
        shape: String,
        /// What shapes are taken.
        expected: String,
    },
    /// A CSV cell that is not a number.
    #[error("{name}: line {line}, column {column}: {text:?} is not a number")]
    NotANumber {
        /// The file.
        name: String,
        /// Line in the file (from 1).
        line: usize,
        /// Column (from 1).
        column: usize,
        /// The cell's text.
        text: String,
    },
    /// A CSV line with another number of columns than the first data line.
    #[error(
        "{name}: line {line} has {found} columns, line {first_line} (the first data line) has \
         {expected}: every sample needs the same number of values"
    )]
    Ragged {
        /// The file.
        name: String,
        /// The offending line (from 1).
        line: usize,
        /// Its number of fields.
        found: usize,
        /// The first data line (from 1).
        first_line: usize,
        /// Its number of fields.
        expected: usize,
    },
    /// A NaN or infinite value.
    #[error("{name}: {place} is {value}: every value must be finite (drop or impute it first)")]
    NonFinite {
        /// The file.
        name: String,
        /// `line 3, column 2` (CSV), `row 2, column 1 (from 0)` or `element 5 (from 0)`
        /// (`.npy`).
        place: String,
        /// The value as read.
        value: f64,
    },
    /// No values at all.
    #[error("{name}: no data (0 samples)")]
    NoData {
        /// The file.
        name: String,
    },
}

/// A data matrix: `rows` samples of `cols` values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct DataMatrix {
    /// Samples.
    pub rows: usize,
    /// Values per sample (the dimension n).
    pub cols: usize,
    /// The values, sample by sample.
    pub data: Vec<f64>,
}

impl DataMatrix {
    /// Sample `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// Reads a data matrix (samples x n) from a `.npy` (2D; a 1D array is one column) or a CSV
/// file.
pub fn read_matrix(path: &Path) -> Result<DataMatrix, DataError> {
    let name = path.display().to_string();
    let bytes = read_bytes(path, &name)?;
    if bytes.starts_with(npy::MAGIC) {
        let a = npy::read(&bytes, &name)?;
        let (rows, cols) = match a.shape[..] {
            [r] => (r, 1),
            [r, c] => (r, c),
            _ => {
                return Err(DataError::Shape {
                    name,
                    shape: shape_text(&a.shape),
                    expected: "need a 2D array, samples x n (one sample per row)".into(),
                });
            }
        };
        check_finite_array(&a.data, cols, &name)?;
        nonempty(
            DataMatrix {
                rows,
                cols,
                data: a.data,
            },
            name,
        )
    } else if is_csv_name(path) {
        nonempty(read_csv(&bytes, &name)?, name)
    } else {
        Err(DataError::UnknownFormat { name })
    }
}

/// A signal for paper 2: one coefficient per sample, or pairs of coefficients.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// A 1D signal (shape `(N,)`, or `(N, 1)`).
    Single(Vec<f64>),
    /// Pairs (shape `(N, 2)`).
    Pairs(Vec<[f64; 2]>),
}

impl Signal {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Signal::Single(v) => v.len(),
            Signal::Pairs(p) => p.len(),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads a paper-2 signal from a `.npy` file (a vector `(N,)` or `(N, 1)`, or pairs `(N, 2)`)
/// or a CSV file (one column, or two columns: one value or one pair per line).
pub fn read_signal(path: &Path) -> Result<Signal, DataError> {
    let name = path.display().to_string();
    let bytes = read_bytes(path, &name)?;
    let (shape, data) = if bytes.starts_with(npy::MAGIC) {
        let a = npy::read(&bytes, &name)?;
        (a.shape, a.data)
    } else if is_csv_name(path) {
        let m = read_csv(&bytes, &name)?;
        (vec![m.rows, m.cols], m.data)
    } else {
        return Err(DataError::NotSignal { name });
    };
    let shape_err = |expected: &str| DataError::Shape {
        name: name.clone(),
        shape: shape_text(&shape),
        expected: expected.into(),
    };
    let cols = match shape[..] {
        [_] | [_, 1] => 1,
        [_, 2] => 2,
        [2, n] => {
            return Err(shape_err(&format!(
                "need a vector (N,) or pairs (N, 2), one pair per row; this looks transposed \
                 ({n} pairs as 2 rows): save x.T"
            )));
        }
        [_, c] => {
            return Err(shape_err(&format!(
                "need a vector (N,) or pairs (N, 2), one pair per row, not {c} columns (an \
                 image belongs in `images`, as a PNG, TIFF, JPEG or Sun raster file)"
            )));
        }
        _ => {
            return Err(shape_err(
                "need a vector (N,) or pairs (N, 2), one pair per row",
            ));
        }
    };
    if shape.len() == 1 {
        check_finite_vector(&data, &name)?;
    } else {
        check_finite_array(&data, cols, &name)?;
    }
    if data.is_empty() {
        return Err(DataError::NoData { name });
    }
    Ok(if cols == 1 {
        Signal::Single(data)
    } else {
        Signal::Pairs(data.chunks_exact(2).map(|p| [p[0], p[1]]).collect())
    })
}

fn read_bytes(path: &Path, name: &str) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        name: name.to_string(),
        source,
    })?;
    if bytes.is_empty() {
        return Err(DataError::EmptyFile {
            name: name.to_string(),
        });
    }
    Ok(bytes)
}

fn is_csv_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("txt"))
}

fn nonempty(m: DataMatrix, name: String) -> Result<DataMatrix, DataError> {
    if m.rows == 0 || m.cols == 0 {
        Err(DataError::NoData { name })
    } else {
        Ok(m)
    }
}

fn check_finite_vector(data: &[f64], name: &str) -> Result<(), DataError> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(DataError::NonFinite {
            name: name.to_string(),
            place: format!("element {i} (from 0)"),
            value: data[i],
        }),
    }
}

fn check_finite_array(data: &[f64], cols: usize, name: &str) -> Result<(), DataError> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(DataError::NonFinite {
            name: name.to_string(),
            place: format!("row {}, column {} (from 0)", i / cols, i % cols),
            value: data[i],
        }),
    }
}

/// Parses CSV text: comma separated, an optional header row (every field non-numeric), blank
/// lines skipped.
fn read_csv(bytes: &[u8], name: &str) -> Result<DataMatrix, DataError> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut data = Vec::new();
    let mut shape: Option<(usize, usize)> = None; // (first data line, columns)
    let mut rows = 0;
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split(',').map(|f| f.trim()).collect();
        if first {
            first = false;
            let is_header = fields.iter().all(|f| parse_number(f).is_none());
            if is_header {
                continue;
            }
        }
        match shape {
            None => shape = Some((line, fields.len())),
            Some((first_line, expected)) if fields.len() != expected => {
                return Err(DataError::Ragged {
                    name: name.to_string(),
                    line,
                    found: fields.len(),
                    first_line,
                    expected,
                });
            }
            Some(_) => {}
        }
        for (j, f) in fields.iter().enumerate() {
            let Some(v) = parse_number(f) else {
                return Err(DataError::NotANumber {
                    name: name.to_string(),
                    line,
                    column: j + 1,
                    text: (*f).to_string(),
                });
            };
            if !v.is_finite() {
                return Err(DataError::NonFinite {
                    name: name.to_string(),
                    place: format!("line {line}, column {}", j + 1),
                    value: v,
                });
            }
            data.push(v);
        }
        rows += 1;
    }
    Ok(DataMatrix {
        rows,
        cols: shape.map_or(0, |s| s.1),
        data,
    })
}

/// A CSV field as a number (quotes around it allowed); `None` when it is not one.
fn parse_number(field: &str) -> Option<f64> {
    let f = field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
        .trim();
    f.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "whiten-data-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn reads_csv_with_and_without_header() {
        let p = temp_file("a.csv", b"x,y,\"z\"\n1, 2,3e-4\n\n-4,5.5,6\n");
        let m = read_matrix(&p).unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.data, vec![1.0, 2.0, 3e-4, -4.0, 5.5, 6.0]);
        assert_eq!(m.row(1), &[-4.0, 5.5, 6.0]);
        let p = temp_file("b.txt", b"1,2\r\n3,4\r\n");
        assert_eq!(read_matrix(&p).unwrap().data, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn locates_csv_errors() {
        let e = read_matrix(&temp_file("a.csv", b"a,b,c\n1,2,3\n4,5,abc\n")).unwrap_err();
        assert!(
            matches!(e, DataError::NotANumber { line: 3, column: 3, ref text, .. } if text == "abc"),
            "{e}"
        );
        assert!(
            e.to_string()
                .ends_with("line 3, column 3: \"abc\" is not a number")
        );
        let e = read_matrix(&temp_file("r.csv", b"1,2,3\n4,5\n")).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Ragged {
                    line: 2,
                    found: 2,
                    first_line: 1,
                    expected: 3,
                    ..
                }
            ),
            "{e}"
        );
        let e = read_matrix(&temp_file("n.csv", b"1,2\n3,nan\n")).unwrap_err();
        assert!(e.to_string().contains("line 2, column 2 is NaN"), "{e}");
        let e = read_matrix(&temp_file("h.csv", b"x,y\n")).unwrap_err();
        assert!(matches!(e, DataError::NoData { .. }), "{e}");
        let e = read_matrix(&temp_file("e.csv", b"")).unwrap_err();
        assert!(matches!(e, DataError::EmptyFile { .. }), "{e}");
        let e = read_matrix(&temp_file("d.dat", b"1,2\n")).unwrap_err();
        assert!(matches!(e, DataError::UnknownFormat { .. }), "{e}");
    }

    #[test]
    fn reads_npy_matrices_and_signals() {
        let p = temp_file("m.npy", &npy::write(&[3, 2], &[1., 2., 3., 4., 5., 6.]));
        let m = read_matrix(&p).unwrap();
        assert_eq!((m.rows, m.cols), (3, 2));
        assert_eq!(m.row(2), &[5.0, 6.0]);
        assert_eq!(
            read_signal(&p).unwrap(),
            Signal::Pairs(vec![[1., 2.], [3., 4.], [5., 6.]])
        );
        let v = temp_file("v.npy", &npy::write(&[3], &[1., 2., 3.]));
        assert_eq!(read_signal(&v).unwrap(), Signal::Single(vec![1., 2., 3.]));
        let bad = temp_file("c.npy", &npy::write(&[2, 3], &[0.; 6]));
        let e = read_signal(&bad).unwrap_err();
        assert!(e.to_string().contains("shape (2, 3)"), "{e}");
        let cube = temp_file("t.npy", &npy::write(&[1, 1, 1], &[0.]));
        assert!(matches!(
            read_matrix(&cube).unwrap_err(),
            DataError::Shape { .. }
        ));
        let inf = temp_file("i.npy", &npy::write(&[2, 2], &[0., 1., f64::INFINITY, 0.]));
        let e = read_matrix(&inf).unwrap_err();
        assert!(
            e.to_string().contains("row 1, column 0 (from 0) is inf"),
            "{e}"
        );
        let t = temp_file("t2.npy", &npy::write(&[2, 4], &[0.; 8]));
        let e = read_signal(&t).unwrap_err();
        assert!(
            e.to_string()
                .contains("looks transposed (4 pairs as 2 rows)"),
            "{e}"
        );
        let nan = temp_file("n.npy", &npy::write(&[3], &[0., f64::NAN, 1.]));
        let e = read_signal(&nan).unwrap_err();
        assert!(e.to_string().contains("element 1 (from 0) is NaN"), "{e}");
        let empty = temp_file("z.npy", &npy::write(&[0], &[]));
        assert!(matches!(
            read_signal(&empty).unwrap_err(),
            DataError::NoData { .. }
        ));
        let raw = temp_file("s.dat", b"1\n2\n");
        let e = read_signal(&raw).unwrap_err();
        assert!(
            matches!(e, DataError::NotSignal { .. }) && e.to_string().contains("numpy.save"),
            "{e}"
        );
    }

    #[test]
    fn reads_csv_signals() {
        let one = temp_file("v.csv", b"x\n1\n-2.5\n\n3\n");
        assert_eq!(
            read_signal(&one).unwrap(),
            Signal::Single(vec![1.0, -2.5, 3.0])
        );
        let two = temp_file("p.txt", b"1,2\n3,4\n");
        assert_eq!(
            read_signal(&two).unwrap(),
            Signal::Pairs(vec![[1.0, 2.0], [3.0, 4.0]])
        );
        let three = temp_file("t.csv", b"1,2,3\n4,5,6\n7,8,9\n");
        let e = read_signal(&three).unwrap_err();
        assert!(e.to_string().contains("not 3 columns"), "{e}");
        let bad = temp_file("b.csv", b"1\n2\nx\n");
        let e = read_signal(&bad).unwrap_err();
        assert!(e.to_string().contains("line 3, column 1"), "{e}");
    }
}
