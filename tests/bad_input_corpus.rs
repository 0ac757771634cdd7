//! The bad-input corpus: every file in `tests/bad_inputs/` is run through the `whiten` binary
//! and must be refused cleanly: non-zero exit, no panic, an error naming the file (RON errors
//! with line and column, image errors with the image file), and no output folder. The first
//! line of every error is snapshot-tested (`snapshots/bad_input_corpus__corpus.snap`).
//!
//! Image cases (`image_*.ron`), data cases (`data_*.ron`, data matrices of paper 1) and
//! signal cases (`signal_*.ron`, `.npy` and CSV signals and pairs of paper 2) read files named
//! relative to their own folder, which is also
//! the working directory except in [`Fixture::BesideCwd`] cases (the file in `sub/`, run from
//! the folder above); the bytes of those images are defined here ([`fixtures`]) and written
//! into a temporary directory per case. Errors about an image give its path as written and as
//! resolved.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use whiten_experiments::images::{SUN_RASTER_MAGIC, read_image};
use whiten_experiments::npy;

/// The corpus directory.
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bad_inputs")
}

/// A fresh temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("whiten-corpus-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Sun raster file: header words [magic, width, height, depth, length, type, map type,
/// map length], then `data`.
fn sun(words: [u32; 8], data: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    b.extend_from_slice(data);
    b
}

/// What an image case finds beside its RON file.
enum Fixture {
    /// A file with these bytes.
    File(&'static str, Vec<u8>),
    /// A directory holding one non-image file.
    DirWithoutImages(&'static str),
    /// Nothing: the path the case names does not exist.
    Absent(&'static str),
    /// Nothing beside the RON file, which sits in [`SUB`] and is run from the folder above it,
    /// where a good image of this name and these bytes is: paths are relative to the RON
    /// file's folder, not to the working directory.
    BesideCwd(&'static str, Vec<u8>),
}

/// The folder of the RON file of a [`Fixture::BesideCwd`] case.
const SUB: &str = "sub";

/// CSV text of `rows` samples of 3 values (distinct, so that the covariance is positive
/// definite), with a header row.
fn csv_rows(rows: usize) -> String {
    let mut s = String::from("x,y,z\n");
    for i in 0..rows {
        let i = i as f64;
        s.push_str(&format!(
            "{},{},{}\n",
            i.sin(),
            (2.0 * i).cos(),
            (0.5 * i).sin() * i
        ));
    }
    s
}

/// A `.npy` file by hand: version 1.0, the header dict and raw data bytes.
fn npy_by_hand(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut h = dict.to_string();
    h.push('\n');
    let mut b = npy::MAGIC.to_vec();
    b.extend_from_slice(&[1, 0]);
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(data);
    b
}

/// `n` values of a deterministic, non-constant signal.
fn wavy(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| (0.37 * i as f64).sin() * (1.0 + (0.011 * i as f64).cos()))
        .collect()
}

/// The fixture of image, data or signal case `case`, or `None` for a RON-only case.
fn fixtures(case: &str) -> Option<Fixture> {
    let m = SUN_RASTER_MAGIC;
    let full = sun([m, 16, 16, 8, 256, 1, 0, 0], &[128; 256]);
    Some(match case {
        "image_empty_file" => Fixture::File("empty.ras", Vec::new()),
        "image_truncated_header" => Fixture::File("header.ras", full[..20].to_vec()),
        // 16 x 16 grey needs 256 pixel bytes; 100 are there.
        "image_truncated_pixels" => Fixture::File("pixels.ras", full[..32 + 100].to_vec()),
        "image_wrong_magic" => Fixture::File(
            "magic.ras",
            sun([0x1234_5678, 16, 16, 8, 256, 1, 0, 0], &[0; 256]),
        ),
        "image_unsupported_depth" => {
            Fixture::File("depth.ras", sun([m, 16, 16, 16, 512, 1, 0, 0], &[0; 512]))
        }
        "image_colour_map" => Fixture::File(
            "colourmap.ras",
            sun([m, 16, 16, 8, 256, 1, 1, 768], &[0; 768 + 256]),
        ),
        // 1 x 1 grey, its row padded to 2 bytes.
        "image_too_small" => Fixture::File("tiny.ras", sun([m, 1, 1, 8, 2, 1, 0, 0], &[128, 0])),
        "image_truncated_pgm" => {
            let mut b = b"P5\n16 16\n255\n".to_vec();
            b.extend_from_slice(&[7; 10]);
            Fixture::File("short.pgm", b)
        }
        "image_empty_dir" => Fixture::DirWithoutImages("no_images"),
        "image_missing_path" => Fixture::Absent("absent.ras"),
        "image_absolute_path_missing" => Fixture::Absent("/nonexistent-whiten-corpus/absent.ras"),
        "image_relative_to_ron_folder" => Fixture::BesideCwd("beside_cwd.ras", full.clone()),
        // A JPEG start-of-image and APP0 marker, then nothing.
        "image_jpeg_truncated" => Fixture::File(
            "cut.jpg",
            vec![
                0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
            ],
        ),
        // Line 17 (the header is line 1), column 3.
        "data_csv_not_a_number" => {
            let mut lines: Vec<String> = csv_rows(20).lines().map(String::from).collect();
            lines[16] = "0.5,1.5,abc".into();
            Fixture::File("samples.csv", (lines.join("\n") + "\n").into_bytes())
        }
        "data_csv_ragged" => Fixture::File(
            "ragged.csv",
            (csv_rows(10) + "1.0,2.0\n" + &csv_rows(3)[6..]).into_bytes(),
        ),
        "data_csv_nan" => Fixture::File("nan.csv", (csv_rows(8) + "1,NaN,2\n").into_bytes()),
        "data_csv_header_only" => Fixture::File("header.csv", b"x,y,z\n".to_vec()),
        // n = 3 needs at least 4 samples.
        "data_too_few_samples" => Fixture::File("few.csv", csv_rows(3).into_bytes()),
        "data_wrong_columns" => Fixture::File("two_columns.csv", b"1,2\n3,4\n5,7\n6,1\n".to_vec()),
        "data_constant_column" => {
            let data: Vec<f64> = (0..10)
                .flat_map(|i| [f64::from(i), 2.5, f64::from(i * i)])
                .collect();
            Fixture::File("constant.npy", npy::write(&[10, 3], &data))
        }
        "data_npy_wrong_dtype" => Fixture::File(
            "ints.npy",
            npy_by_hand(
                "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }",
                &[0; 48],
            ),
        ),
        "data_npy_truncated" => {
            let mut b = npy::write(&[10, 3], &[1.0; 30]);
            b.truncate(b.len() - 20);
            Fixture::File("short.npy", b)
        }
        "data_npy_bad_header" => Fixture::File(
            "header.npy",
            npy_by_hand(
                "{'descr': '<f8', 'fortran_order': no, 'shape': (1, 3), }",
                &[0; 24],
            ),
        ),
        "data_npy_3d" => Fixture::File("cube.npy", npy::write(&[2, 2, 3], &[1.0; 12])),
        "data_npy_infinite" => {
            let mut data: Vec<f64> = (0..30).map(|i| f64::from(i).sin()).collect();
            data[13] = f64::NEG_INFINITY;
            Fixture::File("inf.npy", npy::write(&[10, 3], &data))
        }
        "data_missing_file" => Fixture::Absent("absent.npy"),
        "image_npy_as_image" => Fixture::File("signal.npy", npy::write(&[200], &wavy(200))),
        // Element 37 of a vector.
        "signal_nan" => {
            let mut x = wavy(500);
            x[37] = f64::NAN;
            Fixture::File("nan.npy", npy::write(&[500], &x))
        }
        // Row 3, column 1 of the pairs.
        "signal_infinite_pair" => {
            let mut x = wavy(3000);
            x[7] = f64::INFINITY;
            Fixture::File("inf.npy", npy::write(&[1500, 2], &x))
        }
        "signal_too_few_samples" => Fixture::File("few.npy", npy::write(&[50], &wavy(50))),
        "signal_too_few_pairs" => Fixture::File("few_pairs.npy", npy::write(&[200, 2], &wavy(400))),
        "signal_3d" => Fixture::File("cube.npy", npy::write(&[2, 3, 4], &wavy(24))),
        "signal_n_by_3" => Fixture::File("triples.npy", npy::write(&[1500, 3], &wavy(4500))),
        "signal_transposed" => Fixture::File("transposed.npy", npy::write(&[2, 1500], &wavy(3000))),
        "signal_1d_to_pairs" | "signal_and_images" | "signal_image_survey" => {
            Fixture::File("vector.npy", npy::write(&[2000], &wavy(2000)))
        }
        "signal_pairs_to_1d" | "signal_with_offsets" | "signal_mi_vs_offset" => {
            Fixture::File("pairs.npy", npy::write(&[2000, 2], &wavy(4000)))
        }
        "signal_constant" => Fixture::File("constant.npy", npy::write(&[300], &[1.5; 300])),
        // A CSV signal takes one column (a vector) or two (pairs).
        "signal_csv_three_columns" => Fixture::File("triples.csv", csv_rows(300).into_bytes()),
        "signal_unknown_format" => Fixture::File("signal.dat", b"1.0\n2.0\n3.0\n".to_vec()),
        "signal_adaptation_too_few" => Fixture::File("few.csv", b"1.0\n2.0\n3.0\n".to_vec()),
        "signal_missing_file" => Fixture::Absent("absent.npy"),
        "data_unknown_format" => Fixture::File("samples.dat", b"1,2,3\n".to_vec()),
        _ => return None,
    })
}

/// The file an image case's error must name.
fn image_name(f: &Fixture) -> &'static str {
    match f {
        Fixture::File(name, _) => name,
        Fixture::DirWithoutImages(name) => name,
        Fixture::Absent(name) => name,
        Fixture::BesideCwd(name, _) => name,
    }
}

/// Runs `whiten run FILE --out out` in `dir`, with a fixed memory limit (so that messages do
/// not depend on the machine's free memory).
fn run_in(dir: &Path, file: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whiten"))
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .args(["run", file, "--out", "out", "--threads", "1"])
        .args(["--max-memory", "16G"])
        .output()
        .unwrap()
}

/// Whether `line` contains `FILE:LINE:COLUMN:` with numeric line and column.
fn has_location(line: &str, file: &str) -> bool {
    let Some(at) = line.find(&format!("{file}:")) else {
        return false;
    };
    let mut parts = line[at + file.len() + 1..].splitn(3, ':');
    let mut number = || {
        parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    number() && number() && parts.next().is_some()
}

#[test]
fn every_bad_input_is_refused_cleanly() {
    let mut cases: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} cases", cases.len());

    let tmp = TempDir::new("cases");
    let mut listing = String::new();
    for case in &cases {
        let dir = tmp.0.join(case);
        std::fs::create_dir_all(&dir).unwrap();
        let fixture = fixtures(case);
        let file = match fixture {
            Some(Fixture::BesideCwd(..)) => format!("{SUB}/{case}.ron"),
            _ => format!("{case}.ron"),
        };
        std::fs::create_dir_all(dir.join(&file).parent().unwrap()).unwrap();
        std::fs::copy(corpus().join(format!("{case}.ron")), dir.join(&file)).unwrap();
        assert_eq!(
            fixture.is_some(),
            case.starts_with("image_") || case.starts_with("data_") || case.starts_with("signal_"),
            "{case}: image, data and signal cases (and only they) need a fixture"
        );
        match &fixture {
            Some(Fixture::File(name, bytes)) => std::fs::write(dir.join(name), bytes).unwrap(),
            Some(Fixture::DirWithoutImages(name)) => {
                std::fs::create_dir_all(dir.join(name)).unwrap();
                std::fs::write(dir.join(name).join("notes.txt"), b"no images here").unwrap();
            }
            Some(Fixture::BesideCwd(name, bytes)) => std::fs::write(dir.join(name), bytes).unwrap(),
            Some(Fixture::Absent(_)) | None => {}
        }

        let o = run_in(&dir, &file);
        // Resolved paths start with the working directory as the system gives it.
        let real = dir.canonicalize().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success(), "{case}: expected a non-zero exit");
        assert!(!err.contains("panicked"), "{case}: panic:\n{err}");
        let first = err.lines().next().unwrap_or("");
        assert!(first.starts_with("error: "), "{case}: stderr:\n{err}");
        match &fixture {
            None => assert!(
                has_location(first, &file),
                "{case}: the error must name {file} with line and column: {first}"
            ),
            Some(f) => {
                // As written, and as resolved against the RON file's folder.
                let written = format!("{:?}", image_name(f));
                let resolved = match f {
                    Fixture::Absent(name) if name.starts_with('/') => PathBuf::from(name),
                    Fixture::BesideCwd(name, _) => real.join(SUB).join(name),
                    _ => real.join(image_name(f)),
                };
                assert!(
                    first.contains(&written) && first.contains(&resolved.display().to_string()),
                    "{case}: the error must name {written} and {}: {first}",
                    resolved.display()
                );
            }
        }
        let out = dir.join("out");
        let written: Vec<_> = std::fs::read_dir(&out)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(
            written.is_empty(),
            "{case}: nothing may be written: {written:?}"
        );
        let mut shown = first.to_owned();
        for d in [&real, &dir] {
            shown = shown.replace(&format!("{}/", d.display()), "<tmp>/");
        }
        listing.push_str(&format!("{case} -> {shown}\n"));
    }
    insta::assert_snapshot!("corpus", listing);
}

#[test]
fn odd_width_sun_raster_skips_row_padding() {
    // 9 x 8 grey: each row is 9 pixel bytes and one pad byte (255, never a pixel value).
    let (w, h) = (9usize, 8usize);
    let value = |i: usize, j: usize| ((17 * i + 5 * j) % 250) as u8;
    let mut data = Vec::new();
    for i in 0..h {
        data.extend((0..w).map(|j| value(i, j)));
        data.push(255);
    }
    let bytes = sun(
        [
            SUN_RASTER_MAGIC,
            w as u32,
            h as u32,
            8,
            data.len() as u32,
            1,
            0,
            0,
        ],
        &data,
    );
    let tmp = TempDir::new("odd");
    let path = tmp.0.join("odd.ras");
    std::fs::write(&path, &bytes).unwrap();

    let img = read_image(&path).unwrap();
    assert_eq!((img.width, img.height), (w, h));
    for i in 0..h {
        for j in 0..w {
            let want = f64::from(value(i, j)) / 255.0;
            assert!(
                (img.pixels[i * w + j] - want).abs() < 1e-15,
                "pixel ({i}, {j}): {} != {want}",
                img.pixels[i * w + j]
            );
        }
    }

    // The binary accepts it too: an 8 x 8 crop of it runs to completion.
    std::fs::write(
        tmp.0.join("odd.ron"),
        r#"(kind: "gaussianize_1d", name: "odd", seed: 1, params: (source: (images: "odd.ras", crop: 8), learning: Reference(iterations: 10)))"#,
    )
    .unwrap();
    let o = run_in(&tmp.0, "odd.ron");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "odd-width image refused:\n{err}");
    assert!(tmp.0.join("out/odd/summary.json").is_file());
}
