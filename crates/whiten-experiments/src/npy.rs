//! NumPy `.npy` files: a small reader and writer of our own for float arrays.
//!
//! The format (numpy's `format.py`, versions 1.0 to 3.0): the magic `\x93NUMPY`, a major and a
//! minor version byte, the header length (little-endian u16 in 1.0, u32 in 2.0 and 3.0), then
//! the header, a Python dict literal such as
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and a
//! newline, then the raw data. Read: `float64` and `float32`, little-endian (`<f8`, `<f4`),
//! C or Fortran order, any shape; the values come back as `f64` in C (row-major) order.
//! Written: `<f8`, C order, version 1.0, header padded to a multiple of 64 bytes
//! (what `numpy.save` writes).
//!
//! Every error names the file and, where it helps, the byte offset; none panics.

use std::fmt::Write as _;

use thiserror::Error;

/// The magic bytes that open every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Why a `.npy` file could not be read. Every message starts with the file's name.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum NpyError {
    /// Not a `.npy` file at all.
    #[error("{name}: not a .npy file (it does not start with the magic bytes \\x93NUMPY)")]
    Magic {
        /// The file.
        name: String,
    },
    /// A structural problem in the preamble or the header dict.
    #[error("{name}: malformed .npy header at byte {offset}: {message}")]
    Header {
        /// The file.
        name: String,
        /// Byte offset in the file where the problem was found.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// A data type other than little-endian float64 or float32.
    #[error(
        "{name}: unsupported dtype {descr:?}: need float64 ('<f8') or float32 ('<f4'), \
         little-endian; convert with x.astype(numpy.float64)"
    )]
    Dtype {
        /// The file.
        name: String,
        /// The header's `descr`.
        descr: String,
    },
    /// The data section is shorter or longer than the header's shape needs.
    #[error(
        "{name}: the header announces shape {shape} of {descr} ({expected} data bytes from byte \
         {offset}), but the file has {found}{hint}"
    )]
    DataSize {
        /// The file.
        name: String,
        /// The header's shape, as numpy prints it.
        shape: String,
        /// The header's `descr`.
        descr: String,
        /// Where the data starts.
        offset: usize,
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        found: usize,
        /// "": nothing; ": truncated" or ": extra bytes after the data".
        hint: &'static str,
    },
}

/// An array of `f64` read from a `.npy` file, in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f64>,
}

/// A shape as numpy prints it: `(3,)`, `(3, 4)`, `()`.
pub fn shape_text(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [a] => format!("({a},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Reads a `.npy` file held in memory; `name` is used in error messages.
pub fn read(bytes: &[u8], name: &str) -> Result<Array, NpyError> {
    let header_err = |offset: usize, message: String| NpyError::Header {
        name: name.to_string(),
        offset,
        message,
    };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(NpyError::Magic {
            name: name.to_string(),
        });
    }
    let Some(&major) = bytes.get(6) else {
        return Err(header_err(
            6,
            "the file ends before the version bytes".into(),
        ));
    };
    let (len_bytes, header_start) = match major {
        1 => (2, 10),
        2 | 3 => (4, 12),
        v => {
            return Err(header_err(
                6,
                format!("unknown format version {v} (known: 1, 2, 3)"),
            ));
        }
    };
    let Some(len) = bytes.get(8..8 + len_bytes) else {
        return Err(header_err(
            8,
            "the file ends before the header length".into(),
        ));
    };
    let header_len = len
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let data_start = header_start + header_len;
    let Some(header) = bytes.get(header_start..data_start) else {
        return Err(header_err(
            header_start,
            format!(
                "the header announces {header_len} bytes, the file has {} after byte {header_start}",
                bytes.len().saturating_sub(header_start)
            ),
        ));
    };
    let Ok(header) = std::str::from_utf8(header) else {
        return Err(header_err(header_start, "the header is not text".into()));
    };
    let dict = parse_header(header).map_err(|(at, msg)| header_err(header_start + at, msg))?;
    let width = match dict.descr.as_str() {
        "<f8" => 8,
        "<f4" => 4,
        _ => {
            return Err(NpyError::Dtype {
                name: name.to_string(),
                descr: dict.descr,
            });
        }
    };
    let count = dict
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|c| c.checked_mul(width))
        .ok_or_else(|| {
            header_err(
                header_start,
                format!("shape {} is too large", shape_text(&dict.shape)),
            )
        })?;
    let data = &bytes[data_start..];
    if data.len() != count {
        return Err(NpyError::DataSize {
            name: name.to_string(),
            shape: shape_text(&dict.shape),
            descr: dict.descr,
            offset: data_start,
            expected: count,
            found: data.len(),
            hint: if data.len() < count {
                ": truncated"
            } else {
                ": extra bytes after the data"
            },
        });
    }
    let values: Vec<f64> = if width == 8 {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect()
    } else {
        data.chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    };
    let data = if dict.fortran_order && dict.shape.len() > 1 {
        fortran_to_c(&values, &dict.shape)
    } else {
        values
    };
    Ok(Array {
        shape: dict.shape,
        data,
    })
}

/// Values stored in Fortran (column-major) order, reordered to C (row-major) order.
fn fortran_to_c(values: &[f64], shape: &[usize]) -> Vec<f64> {
    let d = shape.len();
    let mut out = vec![0.0; values.len()];
    // Strides of the Fortran layout: the first index varies fastest.
    let mut fstride = vec![1usize; d];
    for i in 1..d {
        fstride[i] = fstride[i - 1] * shape[i - 1];
    }
    let mut index = vec![0usize; d];
    for o in out.iter_mut() {
        *o = values[index
            .iter()
            .zip(&fstride)
            .map(|(i, s)| i * s)
            .sum::<usize>()];
        // Advance the C-order multi-index (last index fastest).
        for k in (0..d).rev() {
            index[k] += 1;
            if index[k] < shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
    out
}

/// The header dict's three fields.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the header dict: `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`.
/// Errors carry the byte offset within the header.
fn parse_header(text: &str) -> Result<Header, (usize, String)> {
    let mut p = Parser { text, pos: 0 };
    p.expect('{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.skip_ws();
        if p.eat('}') {
            break;
        }
        let at = p.pos;
        let key = p.string()?;
        p.expect(':')?;
        match key.as_str() {
            "descr" => descr = Some(p.string()?),
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err((at, format!("unknown key {other:?}"))),
        }
        p.skip_ws();
        if !p.eat(',') {
            p.expect('}')?;
            break;
        }
    }
    let missing = |k: &str| (0, format!("the header dict has no {k:?} key"));
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), (usize, String)> {
        if self.eat(c) {
            Ok(())
        } else {
            Err((self.pos, format!("expected '{c}', found {}", self.found())))
        }
    }

    fn found(&self) -> String {
        self.rest()
            .chars()
            .next()
            .map_or_else(|| "the end of the header".into(), |c| format!("{c:?}"))
    }

    fn string(&mut self) -> Result<String, (usize, String)> {
        self.skip_ws();
        let quote = match self.rest().chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => {
                return Err((
                    self.pos,
                    format!("expected a quoted string, found {}", self.found()),
                ));
            }
        };
        let start = self.pos + 1;
        let Some(len) = self.text[start..].find(quote) else {
            return Err((self.pos, "unterminated string".into()));
        };
        self.pos = start + len + 1;
        Ok(self.text[start..start + len].to_string())
    }

    fn boolean(&mut self) -> Result<bool, (usize, String)> {
        self.skip_ws();
        for (word, value) in [("True", true), ("False", false)] {
            if self.rest().starts_with(word) {
                self.pos += word.len();
                return Ok(value);
            }
        }
        Err((
            self.pos,
            format!("expected True or False, found {}", self.found()),
        ))
    }

    fn tuple(&mut self) -> Result<Vec<usize>, (usize, String)> {
        self.expect('(')?;
        let mut dims = Vec::new();
        loop {
            if self.eat(')') {
                return Ok(dims);
            }
            let digits: String = self
                .rest()
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let Ok(d) = digits.parse::<usize>() else {
                return Err((
                    self.pos,
                    format!(
                        "expected a dimension (a non-negative integer), found {}",
                        self.found()
                    ),
                ));
            };
            self.pos += digits.len();
            dims.push(d);
            if !self.eat(',') {
                self.expect(')')?;
                return Ok(dims);
            }
        }
    }
}

/// The bytes of a `.npy` file (version 1.0, `<f8`, C order) holding `data` (row-major) with
/// `shape`.
///
/// # Panics
/// If `data.len()` is not the product of `shape` (a programming error).
pub fn write(shape: &[usize], data: &[f64]) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "npy::write: data length must match the shape"
    );
    let mut header = String::new();
    let _ = write!(
        header,
        "{{'descr': '<f8', 'fortran_order': False, 'shape': {}, }}",
        shape_text(shape)
    );
    // Pad with spaces so that the data starts at a multiple of 64 bytes; end with a newline.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 8 * data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file by hand: version 1.0, the given header dict and data bytes.
    fn by_hand(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut h = dict.to_string();
        h.push('\n');
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn round_trips_and_pads_to_64_bytes() {
        for shape in [vec![], vec![3], vec![2, 3], vec![2, 0], vec![2, 1, 3]] {
            let n: usize = shape.iter().product();
            let data: Vec<f64> = (0..n).map(|i| i as f64 * 0.1 - 1e-300).collect();
            let bytes = write(&shape, &data);
            let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + header_len) % 64, 0);
            assert_eq!(bytes.len(), 10 + header_len + 8 * n);
            let back = read(&bytes, "x.npy").unwrap();
            assert_eq!(back.shape, shape);
            assert_eq!(back.data, data);
        }
    }

    #[test]
    fn reads_float32_fortran_order_and_version_2() {
        // [[1, 2, 3], [4, 5, 6]] stored column by column.
        let data: Vec<u8> = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let b = by_hand(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
            &data,
        );
        let a = read(&b, "f.npy").unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        // Version 2.0: a u32 header length.
        let h = "{\"descr\":\"<f8\",\"fortran_order\":False,\"shape\":(1,)}\n";
        let mut v2 = MAGIC.to_vec();
        v2.extend_from_slice(&[2, 0]);
        v2.extend_from_slice(&(h.len() as u32).to_le_bytes());
        v2.extend_from_slice(h.as_bytes());
        v2.extend_from_slice(&2.5f64.to_le_bytes());
        assert_eq!(read(&v2, "v2.npy").unwrap().data, vec![2.5]);
    }

    #[test]
    fn refuses_malformed_files_with_located_errors() {
        let f8 = 1.0f64.to_le_bytes();
        let e = read(b"PK\x03\x04", "a.npz").unwrap_err();
        assert!(matches!(e, NpyError::Magic { .. }), "{e}");
        let e = read(
            &by_hand(
                "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
                &f8,
            ),
            "i.npy",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unsupported dtype \"<i8\""), "{e}");
        let e = read(
            &by_hand(
                "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }",
                &f8,
            ),
            "be.npy",
        )
        .unwrap_err();
        assert!(matches!(e, NpyError::Dtype { .. }), "{e}");
        let e = read(
            &by_hand(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                &f8,
            ),
            "short.npy",
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                NpyError::DataSize {
                    expected: 32,
                    found: 8,
                    ..
                }
            ) && e.to_string().contains("shape (2, 2)")
                && e.to_string().ends_with("truncated"),
            "{e}"
        );
        let e = read(
            &by_hand(
                "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1,), }",
                &f8,
            ),
            "b.npy",
        )
        .unwrap_err();
        let NpyError::Header {
            offset, message, ..
        } = &e
        else {
            panic!("{e}")
        };
        assert!(message.contains("True or False"), "{e}");
        assert_eq!(*offset, 10 + 34, "{e}");
        let e = read(&by_hand("{'descr': '<f8', 'shape': (1,), }", &f8), "m.npy").unwrap_err();
        assert!(e.to_string().contains("no \"fortran_order\" key"), "{e}");
        // The header length runs past the end of the file.
        let mut cut = write(&[1], &[1.0]);
        cut.truncate(20);
        let e = read(&cut, "cut.npy").unwrap_err();
        assert!(matches!(e, NpyError::Header { offset: 10, .. }), "{e}");
        // Every prefix of a good file is refused, never a panic.
        let good = write(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        for n in 0..good.len() {
            assert!(read(&good[..n], "p.npy").is_err());
        }
    }
}
