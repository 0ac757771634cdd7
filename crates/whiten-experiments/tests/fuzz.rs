//! Property tests (proptest) that the loaders never panic on hostile input: the RON
//! experiment loader on arbitrary text, token soup and mutations of the real files in
//! `experiments/`; the image reader on arbitrary bytes and mutations of valid Sun raster and
//! PGM files. Every refusal must also name its file.
//!
//! Deterministic: a fixed RNG seed (so CI cannot flake) and no regression files written into
//! the source tree. Each property runs a bounded number of cases (a few seconds in a dev build).

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use whiten_experiments::images::{SUN_RASTER_MAGIC, read_image_bytes};
use whiten_experiments::{builtin_registry, load_str};

/// Fixed seed, bounded cases, nothing persisted.
fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x5748_4954_454e),
        failure_persistence: None,
        ..Config::default()
    }
}

/// The file name used in loader error messages.
const RON_NAME: &str = "fuzz.ron";

/// Loads `text`; a refusal must be located in [`RON_NAME`] (`fuzz.ron:LINE:COL: ...`).
fn load_never_panics(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = load_str(text, Path::new(RON_NAME), &builtin_registry()) {
        let msg = e.to_string();
        let rest = msg.strip_prefix("fuzz.ron:");
        prop_assert!(rest.is_some(), "error does not name the file: {msg}");
        let mut parts = rest.unwrap_or("").splitn(3, ':');
        for what in ["line", "column"] {
            let n = parts.next().unwrap_or("");
            prop_assert!(
                n.parse::<usize>().is_ok_and(|v| v >= 1),
                "no {what} in: {msg}"
            );
        }
    }
    Ok(())
}

/// The texts of `experiments/*.ron`, sorted by name.
fn experiment_files() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    paths.sort();
    let texts: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(texts.len() >= 5, "experiment files not found in {dir:?}");
    texts
}

/// One edit of a byte string; positions are taken modulo the length.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR a byte with a non-zero mask.
    Flip(usize, u8),
    /// Overwrite a byte.
    Set(usize, u8),
    /// Insert a byte.
    Insert(usize, u8),
    /// Delete a byte.
    Delete(usize),
    /// Cut the text at a position.
    Truncate(usize),
    /// Insert a RON token (to reach deeper than random bytes do).
    Token(usize, &'static str),
}

const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "//",
    "/*",
    "*/",
    "-",
    "0",
    "1e308",
    "-1",
    "NaN",
    "inf",
    "Some(",
    "None",
    "kind",
    "params",
    "images: \"x\"",
    "é",
    "\n",
    "r#\"",
    "'",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        (pos, 1u8..).prop_map(|(p, m)| Mutation::Flip(p, m)),
        (pos, any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        (pos, any::<u8>()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        pos.prop_map(Mutation::Delete),
        pos.prop_map(Mutation::Truncate),
        (pos, prop::sample::select(TOKENS)).prop_map(|(p, t)| Mutation::Token(p, t)),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % len };
        let len = bytes.len();
        match *m {
            Mutation::Flip(p, x) if len > 0 => bytes[at(p, len)] ^= x,
            Mutation::Set(p, b) if len > 0 => bytes[at(p, len)] = b,
            Mutation::Insert(p, b) => bytes.insert(at(p, len + 1), b),
            Mutation::Delete(p) if len > 0 => {
                bytes.remove(at(p, len));
            }
            Mutation::Truncate(p) => bytes.truncate(at(p, len + 1)),
            Mutation::Token(p, t) => {
                let i = at(p, len + 1);
                bytes.splice(i..i, t.bytes());
            }
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(config(10_000))]

    #[test]
    fn loader_never_panics_on_arbitrary_text(text in any::<String>()) {
        load_never_panics(&text)?;
    }

    #[test]
    fn loader_never_panics_on_token_soup(
        tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..40),
    ) {
        let text = format!("(kind: \"offline_learning\", name: \"x\", seed: 1, params: ({}))", tokens.concat());
        load_never_panics(&text)?;
        load_never_panics(&tokens.concat())?;
    }

    #[test]
    fn loader_never_panics_on_mutated_experiment_files(
        file in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let files = experiment_files();
        let mut bytes = files[file.index(files.len())].clone().into_bytes();
        mutate(&mut bytes, &mutations);
        load_never_panics(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn image_reader_never_panics_on_arbitrary_bytes(
        prefix in prop::sample::select(vec![
            Vec::new(),
            SUN_RASTER_MAGIC.to_be_bytes().to_vec(),
            b"P5\n".to_vec(),
            b"P2\n".to_vec(),
            b"\x89PNG\r\n\x1a\n".to_vec(),
        ]),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let bytes = [prefix, body].concat();
        if let Err(e) = read_image_bytes(&bytes, "fuzz.img") {
            prop_assert!(e.to_string().starts_with("fuzz.img: "), "{e}");
        }
    }

    #[test]
    fn image_reader_never_panics_on_mutated_headers(
        which in 0usize..3,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut bytes = valid_image(which);
        mutate(&mut bytes, &mutations);
        match read_image_bytes(&bytes, "fuzz.img") {
            Ok(img) => {
                prop_assert_eq!(img.pixels.len(), img.width * img.height);
                prop_assert!(img.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
            }
            Err(e) => prop_assert!(e.to_string().starts_with("fuzz.img: "), "{e}"),
        }
    }
}

/// A small valid image: 0 a 5 x 3 grey Sun raster (odd width, padded rows), 1 a 2 x 2
/// 24-bit Sun raster, 2 a 4 x 3 binary PGM.
fn valid_image(which: usize) -> Vec<u8> {
    let sun = |words: [u32; 8], data: &[u8]| {
        let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        b.extend_from_slice(data);
        b
    };
    match which {
        0 => sun([SUN_RASTER_MAGIC, 5, 3, 8, 18, 1, 0, 0], &[9; 18]),
        1 => sun([SUN_RASTER_MAGIC, 2, 2, 24, 12, 1, 0, 0], &[40; 12]),
        _ => {
            let mut b = b"P5\n4 3\n255\n".to_vec();
            b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
            b
        }
    }
}

#[test]
fn the_valid_images_are_valid() {
    // The mutation property starts from readable images (else it would test nothing new).
    let dims = [(5, 3), (2, 2), (4, 3)];
    for (which, want) in dims.into_iter().enumerate() {
        let img = read_image_bytes(&valid_image(which), "valid").unwrap();
        assert_eq!((img.width, img.height), want);
    }
}
