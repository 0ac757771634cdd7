//! Reading greyscale images for paper 2: Sun raster files (the format of the shared Kodak
//! test images) by a reader of our own, and PNG, PNM, JPEG and TIFF (whatever formats the `image`
//! crate is built with) through `image`. The format is chosen by the file's magic bytes, not
//! its extension. Pixels come back as grey levels in [0, 1] in a [`whiten_core::signal::Image`].

use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat};
use thiserror::Error;
use whiten_core::signal::Image;

/// Magic number of a Sun raster file (first big-endian u32).
pub const SUN_RASTER_MAGIC: u32 = 0x59a6_6a95;

/// Size of the Sun raster header: eight big-endian u32.
const SUN_HEADER_LEN: usize = 32;

/// Extensions of Sun raster files accepted by [`list_images`].
const SUN_EXTENSIONS: [&str; 4] = ["ras", "sun", "rs", "im8"];

/// ITU-R BT.601 luma weights for R, G, B.
const LUMA_601: [f64; 3] = [0.299, 0.587, 0.114];

/// Why an image could not be read. Every message starts with the file's name.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The file or directory could not be read.
    #[error("{name}: cannot read: {source}")]
    Io {
        /// The path.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The magic bytes match no supported format.
    #[error("{name}: not a recognised image (no Sun raster, PNG, PNM, JPEG or TIFF magic bytes)")]
    UnknownFormat {
        /// The file.
        name: String,
    },
    /// A `.npy` array where an image was expected.
    #[error(
        "{name}: a .npy array, not an image: give a signal file as `source: (signal: \"file.npy\")` \
         (gaussianize_1d: a vector (N,); pairs_2d: pairs (N, 2)), or save the image as PNG or TIFF"
    )]
    NpyArray {
        /// The file.
        name: String,
    },
    /// A format recognised by its magic bytes whose decoder is not built in.
    #[error(
        "{name}: {format} images are not supported by this build (Sun raster, PNG, PNM, JPEG and TIFF are)"
    )]
    FormatNotEnabled {
        /// The file.
        name: String,
        /// The recognised format.
        format: String,
    },
    /// A Sun raster file whose first word is not 0x59a66a95.
    #[error("{name}: not a Sun raster file: magic {found:#010x}, expected 0x59a66a95")]
    WrongMagic {
        /// The file.
        name: String,
        /// The first word read.
        found: u32,
    },
    /// Shorter than the 32-byte Sun raster header.
    #[error("{name}: truncated Sun raster header: {found} bytes, expected 32")]
    TruncatedHeader {
        /// The file.
        name: String,
        /// Bytes present.
        found: usize,
    },
    /// Width or height 0.
    #[error("{name}: empty image ({width} x {height})")]
    ZeroSize {
        /// The file.
        name: String,
        /// Width in the header.
        width: u32,
        /// Height in the header.
        height: u32,
    },
    /// A Sun raster bit depth other than 8 (grey), 24 or 32 (RGB).
    #[error("{name}: unsupported Sun raster depth {depth} bits (supported: 8 grey, 24 and 32 RGB)")]
    UnsupportedDepth {
        /// The file.
        name: String,
        /// The depth in the header.
        depth: u32,
    },
    /// A Sun raster type other than 0 (old), 1 (standard) or 3 (RGB order).
    #[error(
        "{name}: unsupported Sun raster type {ras_type} (supported: 0 old, 1 standard, 3 RGB; \
         2 = run-length encoded is not)"
    )]
    UnsupportedType {
        /// The file.
        name: String,
        /// The type in the header.
        ras_type: u32,
    },
    /// The Sun raster file carries a colour map (only map-less files are read).
    #[error(
        "{name}: Sun raster colour maps are not supported (map type {map_type}, length {map_length}); \
         convert to plain greyscale"
    )]
    ColourMap {
        /// The file.
        name: String,
        /// Map type in the header.
        map_type: u32,
        /// Map length in the header.
        map_length: u32,
    },
    /// Fewer pixel bytes than the header announces.
    #[error("{name}: truncated pixel data: expected {expected} bytes, found {found}")]
    TruncatedPixels {
        /// The file.
        name: String,
        /// Bytes needed (rows padded to an even number of bytes).
        expected: u64,
        /// Bytes present after the header.
        found: u64,
    },
    /// The `image` crate failed to decode the file.
    #[error("{name}: cannot decode: {message}")]
    Decode {
        /// The file.
        name: String,
        /// The decoder's message.
        message: String,
    },
    /// A directory without image files.
    #[error("{name}: no image files (looked for extensions {extensions})")]
    NoImages {
        /// The directory.
        name: String,
        /// The extensions accepted.
        extensions: String,
    },
    /// A file of zero bytes.
    #[error("{name}: empty file (0 bytes)")]
    EmptyFile {
        /// The file.
        name: String,
    },
}

/// Reads an image file as greyscale in [0, 1], choosing the decoder by magic bytes.
pub fn read_image(path: &Path) -> Result<Image, ImageError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ImageError::Io {
        name: name.clone(),
        source,
    })?;
    read_image_bytes(&bytes, &name)
}

/// Decodes an image held in memory; `name` is used in error messages.
pub fn read_image_bytes(bytes: &[u8], name: &str) -> Result<Image, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::EmptyFile {
            name: name.to_string(),
        });
    }
    if bytes.len() >= 4
        && u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) == SUN_RASTER_MAGIC
    {
        return read_sun_raster(bytes, name);
    }
    if bytes.starts_with(crate::npy::MAGIC) {
        return Err(ImageError::NpyArray {
            name: name.to_string(),
        });
    }
    let format = image::guess_format(bytes).map_err(|_| ImageError::UnknownFormat {
        name: name.to_string(),
    })?;
    if !format.reading_enabled() {
        return Err(ImageError::FormatNotEnabled {
            name: name.to_string(),
            format: format!("{format:?}"),
        });
    }
    let decoded =
        image::load_from_memory_with_format(bytes, format).map_err(|e| ImageError::Decode {
            name: name.to_string(),
            message: match &e {
                // The decoders report a short file as a bare "failed to fill whole buffer".
                image::ImageError::IoError(io)
                    if io.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    format!("truncated: the file ends before its pixel data does ({io})")
                }
                _ => e.to_string(),
            },
        })?;
    grey_from_dynamic(&decoded, name)
}

/// Grey levels of a decoded image: grey images as they are (8 or 16 bit scaled to [0, 1]),
/// colour images by ITU-R 601 luma (the same weights as the Sun raster RGB path).
fn grey_from_dynamic(img: &DynamicImage, name: &str) -> Result<Image, ImageError> {
    let (width, height) = (img.width(), img.height());
    if width == 0 || height == 0 {
        return Err(ImageError::ZeroSize {
            name: name.to_string(),
            width,
            height,
        });
    }
    let pixels = if img.color().has_color() {
        img.to_rgb16()
            .pixels()
            .map(|p| luma_601(p.0.map(f64::from)) / 65535.0)
            .collect()
    } else {
        // Luma8 -> Luma16 multiplies by 257, so v / 255 is exact either way.
        img.to_luma16()
            .pixels()
            .map(|p| f64::from(p.0[0]) / 65535.0)
            .collect()
    };
    Ok(Image {
        width: width as usize,
        height: height as usize,
        pixels,
    })
}

fn luma_601(rgb: [f64; 3]) -> f64 {
    LUMA_601[0] * rgb[0] + LUMA_601[1] * rgb[1] + LUMA_601[2] * rgb[2]
}

/// Parsed Sun raster header.
#[derive(Debug, Clone, Copy)]
struct SunHeader {
    width: u32,
    height: u32,
    depth: u32,
    ras_type: u32,
    map_type: u32,
    map_length: u32,
}

/// Reads a Sun raster image: header of eight big-endian u32 (magic, width, height, depth,
/// length, type, map type, map length), then rows top to bottom, each padded to an even
/// number of bytes. Depth 8 is grey (v / 255); depth 24 (B, G, R for types 0 and 1; R, G, B
/// for type 3) and depth 32 (a pad byte, then the same order) are converted to grey by
/// ITU-R 601 luma. The header's length field is not trusted (type 0 files may leave it 0):
/// the size is computed from width, height and depth.
pub fn read_sun_raster(bytes: &[u8], name: &str) -> Result<Image, ImageError> {
    let name_s = || name.to_string();
    if bytes.len() < SUN_HEADER_LEN {
        return Err(ImageError::TruncatedHeader {
            name: name_s(),
            found: bytes.len(),
        });
    }
    let word = |k: usize| {
        u32::from_be_bytes([
            bytes[4 * k],
            bytes[4 * k + 1],
            bytes[4 * k + 2],
            bytes[4 * k + 3],
        ])
    };
    if word(0) != SUN_RASTER_MAGIC {
        return Err(ImageError::WrongMagic {
            name: name_s(),
            found: word(0),
        });
    }
    let h = SunHeader {
        width: word(1),
        height: word(2),
        depth: word(3),
        ras_type: word(5),
        map_type: word(6),
        map_length: word(7),
    };
    if h.width == 0 || h.height == 0 {
        return Err(ImageError::ZeroSize {
            name: name_s(),
            width: h.width,
            height: h.height,
        });
    }
    if !matches!(h.depth, 8 | 24 | 32) {
        return Err(ImageError::UnsupportedDepth {
            name: name_s(),
            depth: h.depth,
        });
    }
    if !matches!(h.ras_type, 0 | 1 | 3) {
        return Err(ImageError::UnsupportedType {
            name: name_s(),
            ras_type: h.ras_type,
        });
    }
    if h.map_type != 0 || h.map_length != 0 {
        return Err(ImageError::ColourMap {
            name: name_s(),
            map_type: h.map_type,
            map_length: h.map_length,
        });
    }
    let bytes_per_pixel = (h.depth / 8) as u64;
    let row_bytes = u64::from(h.width) * bytes_per_pixel;
    // Rows are padded to a multiple of 16 bits.
    let row_stride = row_bytes + row_bytes % 2;
    // Saturating: width and height up to 2^32 - 1 overflow u64 at depth 24 and 32 (found by
    // the fuzz tests); a saturated size is simply more than any file holds.
    let expected = row_stride.saturating_mul(u64::from(h.height));
    let data = &bytes[SUN_HEADER_LEN..];
    if (data.len() as u64) < expected {
        return Err(ImageError::TruncatedPixels {
            name: name_s(),
            expected,
            found: data.len() as u64,
        });
    }
    let (w, ht, stride) = (h.width as usize, h.height as usize, row_stride as usize);
    let mut pixels = Vec::with_capacity(w * ht);
    for i in 0..ht {
        let row = &data[i * stride..i * stride + w * bytes_per_pixel as usize];
        match h.depth {
            8 => pixels.extend(row.iter().map(|&v| f64::from(v) / 255.0)),
            _ => {
                // Depth 32 has a leading pad byte per pixel.
                let skip = if h.depth == 32 { 1 } else { 0 };
                pixels.extend(row.chunks_exact(bytes_per_pixel as usize).map(|px| {
                    let c = [
                        f64::from(px[skip]),
                        f64::from(px[skip + 1]),
                        f64::from(px[skip + 2]),
                    ];
                    let rgb = if h.ras_type == 3 {
                        c
                    } else {
                        [c[2], c[1], c[0]]
                    };
                    luma_601(rgb) / 255.0
                }));
            }
        }
    }
    Ok(Image {
        width: w,
        height: ht,
        pixels,
    })
}

/// File-name extensions (lower case) that [`list_images`] takes from a directory: Sun raster
/// plus every format the `image` crate can read in this build.
pub fn image_extensions() -> Vec<&'static str> {
    let mut ext: Vec<&'static str> = SUN_EXTENSIONS.to_vec();
    for f in ImageFormat::all().filter(|f| f.reading_enabled()) {
        ext.extend_from_slice(f.extensions_str());
    }
    ext
}

/// The images at `path`: a file is returned as itself (whatever its name; the reader checks
/// its content); a directory gives its files with an image extension (see
/// [`image_extensions`], case-insensitive), sorted by name, not recursing.
///
/// Errors: unreadable path, or a directory with no image file.
pub fn list_images(path: &Path) -> Result<Vec<PathBuf>, ImageError> {
    let name = path.display().to_string();
    let io = |source| ImageError::Io {
        name: name.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let extensions = image_extensions();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let p = entry.map_err(io)?.path();
        let is_image = p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)));
        if is_image && p.is_file() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(ImageError::NoImages {
            name,
            extensions: extensions.join(", "),
        });
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh empty directory under the system temp dir, unique per process and call.
    fn temp_dir(tag: &str) -> PathBuf {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "whiten-images-{}-{}-{}",
            std::process::id(),
            tag,
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Header words [magic, width, height, depth, length, type, maptype, maplength] + data.
    fn sun(words: [u32; 8], data: &[u8]) -> Vec<u8> {
        let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn reads_grey_sun_raster_with_odd_width() {
        // 3 x 2, rows padded to 4 bytes: the pad byte (99) must be skipped.
        let data = [0, 51, 255, 99, 102, 153, 204, 99];
        let bytes = sun([SUN_RASTER_MAGIC, 3, 2, 8, 8, 1, 0, 0], &data);
        let img = read_image_bytes(&bytes, "odd.ras").unwrap();
        assert_eq!((img.width, img.height), (3, 2));
        let want = [0.0, 0.2, 1.0, 0.4, 0.6, 0.8];
        for (g, w) in img.pixels.iter().zip(want) {
            assert!((g - w).abs() < 1e-15);
        }
        // Type 0 (old) with length 0 reads the same.
        let old = sun([SUN_RASTER_MAGIC, 3, 2, 8, 0, 0, 0, 0], &data);
        assert_eq!(read_image_bytes(&old, "old.ras").unwrap(), img);
    }

    #[test]
    fn reads_rgb_sun_raster() {
        // One pixel, 24-bit BGR (type 1): B = 0, G = 0, R = 255 -> luma 0.299.
        let bgr = sun([SUN_RASTER_MAGIC, 1, 1, 24, 4, 1, 0, 0], &[0, 0, 255, 0]);
        assert!((read_image_bytes(&bgr, "bgr.ras").unwrap().pixels[0] - 0.299).abs() < 1e-15);
        // Type 3 is RGB order: R = 0, G = 0, B = 255 -> 0.114.
        let rgb = sun([SUN_RASTER_MAGIC, 1, 1, 24, 4, 3, 0, 0], &[0, 0, 255, 0]);
        assert!((read_image_bytes(&rgb, "rgb.ras").unwrap().pixels[0] - 0.114).abs() < 1e-15);
        // 32-bit XBGR: pad, B, G = 255, R -> 0.587.
        let xbgr = sun([SUN_RASTER_MAGIC, 1, 1, 32, 4, 1, 0, 0], &[7, 0, 255, 0]);
        assert!((read_image_bytes(&xbgr, "x.ras").unwrap().pixels[0] - 0.587).abs() < 1e-15);
    }

    #[test]
    fn refuses_bad_sun_rasters() {
        let m = SUN_RASTER_MAGIC;
        let name = "kodak.ras";
        let err = |bytes: &[u8]| read_sun_raster(bytes, name).unwrap_err();
        let e = err(&sun([m, 4, 4, 8, 16, 1, 0, 0], &[0; 10]));
        assert!(matches!(
            e,
            ImageError::TruncatedPixels {
                expected: 16,
                found: 10,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "kodak.ras: truncated pixel data: expected 16 bytes, found 10"
        );
        // Odd width: 3 columns pad to 4 bytes a row, so 3 rows need 12 bytes, not 9.
        let e = err(&sun([m, 3, 3, 8, 9, 1, 0, 0], &[0; 9]));
        assert!(matches!(
            e,
            ImageError::TruncatedPixels {
                expected: 12,
                found: 9,
                ..
            }
        ));
        // Huge dimensions: the size saturates instead of overflowing.
        let e = err(&sun([m, u32::MAX, u32::MAX, 32, 0, 1, 0, 0], &[0; 8]));
        assert!(matches!(
            e,
            ImageError::TruncatedPixels {
                expected: u64::MAX,
                found: 8,
                ..
            }
        ));
        // Through the magic-byte dispatcher: the magic alone is a truncated header.
        let e = read_image_bytes(&SUN_RASTER_MAGIC.to_be_bytes(), name).unwrap_err();
        assert!(matches!(e, ImageError::TruncatedHeader { found: 4, .. }));
        assert!(matches!(
            err(&[0x59, 0xa6, 0x6a]),
            ImageError::TruncatedHeader { found: 3, .. }
        ));
        let e = err(&sun([0x1234_5678, 1, 1, 8, 2, 1, 0, 0], &[0, 0]));
        assert!(matches!(
            e,
            ImageError::WrongMagic {
                found: 0x1234_5678,
                ..
            }
        ));
        assert!(e.to_string().contains("0x12345678"));
        assert!(matches!(
            err(&sun([m, 1, 1, 1, 2, 1, 0, 0], &[0, 0])),
            ImageError::UnsupportedDepth { depth: 1, .. }
        ));
        assert!(matches!(
            err(&sun([m, 1, 1, 8, 2, 2, 0, 0], &[0, 0])),
            ImageError::UnsupportedType { ras_type: 2, .. }
        ));
        let e = err(&sun([m, 1, 1, 8, 2, 1, 1, 768], &[0; 800]));
        assert!(matches!(
            e,
            ImageError::ColourMap {
                map_type: 1,
                map_length: 768,
                ..
            }
        ));
        assert!(matches!(
            err(&sun([m, 0, 5, 8, 0, 1, 0, 0], &[])),
            ImageError::ZeroSize { width: 0, .. }
        ));
        // Every message names the file.
        for e in [
            err(&sun([m, 1, 1, 1, 2, 1, 0, 0], &[0, 0])),
            err(&sun([m, 1, 1, 8, 2, 2, 0, 0], &[0, 0])),
            err(&sun([m, 0, 5, 8, 0, 1, 0, 0], &[])),
        ] {
            assert!(e.to_string().starts_with("kodak.ras: "), "{e}");
        }
    }

    #[test]
    fn reads_pgm_and_png_by_magic() {
        let dir = temp_dir("formats");
        // Binary PGM, 2 x 2, maxval 255; named .png to show that the content decides.
        let mut pgm = b"P5\n2 2\n255\n".to_vec();
        pgm.extend_from_slice(&[0, 51, 204, 255]);
        let path = dir.join("grey.png");
        std::fs::write(&path, &pgm).unwrap();
        let img = read_image(&path).unwrap();
        assert_eq!((img.width, img.height), (2, 2));
        for (g, w) in img.pixels.iter().zip([0.0, 0.2, 0.8, 1.0]) {
            assert!((g - w).abs() < 1e-15);
        }
        // 16-bit grey PNG keeps 16-bit precision.
        let png16 =
            image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_raw(2, 1, vec![1, 65535])
                .unwrap();
        let path16 = dir.join("g16.png");
        DynamicImage::ImageLuma16(png16)
            .save_with_format(&path16, ImageFormat::Png)
            .unwrap();
        let img = read_image(&path16).unwrap();
        assert!(
            (img.pixels[0] - 1.0 / 65535.0).abs() < 1e-15 && (img.pixels[1] - 1.0).abs() < 1e-15
        );
        // RGB PNG -> ITU-R 601 luma.
        let rgb = image::RgbImage::from_raw(1, 1, vec![255, 0, 0]).unwrap();
        let path_rgb = dir.join("red.png");
        DynamicImage::ImageRgb8(rgb)
            .save_with_format(&path_rgb, ImageFormat::Png)
            .unwrap();
        assert!((read_image(&path_rgb).unwrap().pixels[0] - 0.299).abs() < 1e-12);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn reads_jpeg_and_tiff() {
        let dir = temp_dir("jpeg-tiff");
        // A smooth grey ramp survives JPEG compression within a few grey levels.
        let (w, h) = (32u32, 16u32);
        let ramp = image::GrayImage::from_fn(w, h, |x, y| image::Luma([(4 * x + 3 * y) as u8]));
        let jpg = dir.join("ramp.jpeg");
        DynamicImage::ImageLuma8(ramp.clone())
            .save_with_format(&jpg, ImageFormat::Jpeg)
            .unwrap();
        let img = read_image(&jpg).unwrap();
        assert_eq!((img.width, img.height), (w as usize, h as usize));
        let worst = img
            .pixels
            .iter()
            .zip(ramp.pixels())
            .map(|(g, p)| (g - f64::from(p.0[0]) / 255.0).abs())
            .fold(0.0, f64::max);
        assert!(worst < 6.0 / 255.0, "JPEG grey error {worst}");
        // A colour JPEG of one flat colour: ITU-R 601 luma of that colour.
        let flat = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 40, 90]));
        let jpg_rgb = dir.join("flat.jpg");
        DynamicImage::ImageRgb8(flat)
            .save_with_format(&jpg_rgb, ImageFormat::Jpeg)
            .unwrap();
        let img = read_image(&jpg_rgb).unwrap();
        let luma = (0.299 * 200.0 + 0.587 * 40.0 + 0.114 * 90.0) / 255.0;
        let mean = img.pixels.iter().sum::<f64>() / img.pixels.len() as f64;
        assert!((mean - luma).abs() < 3.0 / 255.0, "{mean} vs {luma}");
        // TIFF is lossless: grey exactly, colour by luma exactly.
        let tif = dir.join("ramp.tif");
        DynamicImage::ImageLuma8(ramp.clone())
            .save_with_format(&tif, ImageFormat::Tiff)
            .unwrap();
        let img = read_image(&tif).unwrap();
        for (g, p) in img.pixels.iter().zip(ramp.pixels()) {
            assert!((g - f64::from(p.0[0]) / 255.0).abs() < 1e-15);
        }
        let rgb = image::RgbImage::from_raw(2, 1, vec![255, 0, 0, 0, 0, 255]).unwrap();
        let tif_rgb = dir.join("rgb.tiff");
        DynamicImage::ImageRgb8(rgb)
            .save_with_format(&tif_rgb, ImageFormat::Tiff)
            .unwrap();
        let img = read_image(&tif_rgb).unwrap();
        assert!((img.pixels[0] - 0.299).abs() < 1e-12 && (img.pixels[1] - 0.114).abs() < 1e-12);
        // Folders list them by extension.
        let listed = list_images(&dir).unwrap();
        assert_eq!(listed.len(), 4, "{listed:?}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn refuses_unknown_and_broken_files() {
        let e = read_image_bytes(&[], "empty.ras").unwrap_err();
        assert_eq!(e.to_string(), "empty.ras: empty file (0 bytes)");
        let e = read_image_bytes(b"hello world, not an image", "notes.txt").unwrap_err();
        assert!(matches!(e, ImageError::UnknownFormat { .. }));
        assert!(e.to_string().starts_with("notes.txt: "));
        // A .npy array: pointed at `signal`.
        let npy = crate::npy::write(&[2], &[0.0, 1.0]);
        let e = read_image_bytes(&npy, "x.npy").unwrap_err();
        assert!(
            matches!(e, ImageError::NpyArray { .. }) && e.to_string().contains("(signal: "),
            "{e}"
        );
        // GIF magic, decoder not built in.
        let e = read_image_bytes(b"GIF89a\x01\x00\x01\x00", "anim.gif").unwrap_err();
        assert!(matches!(e, ImageError::FormatNotEnabled { .. }), "{e}");
        // JPEG magic, then nothing: a decode error naming the file.
        let e = read_image_bytes(&[0xff, 0xd8, 0xff, 0xe0, 0, 0], "photo.jpg").unwrap_err();
        assert!(
            matches!(e, ImageError::Decode { .. }) && e.to_string().starts_with("photo.jpg: "),
            "{e}"
        );
        // A TIFF header whose first directory lies beyond the end of the file.
        let e = read_image_bytes(b"II*\x00\xff\x00\x00\x00", "scan.tif").unwrap_err();
        assert!(matches!(e, ImageError::Decode { .. }), "{e}");
        // A PGM whose pixel data stops early says so.
        let mut pgm = b"P5\n4 4\n255\n".to_vec();
        pgm.extend_from_slice(&[1, 2, 3]);
        let e = read_image_bytes(&pgm, "short.pgm").unwrap_err();
        assert!(
            matches!(e, ImageError::Decode { .. })
                && e.to_string()
                    .starts_with("short.pgm: cannot decode: truncated"),
            "{e}"
        );
        // A PNG signature followed by garbage.
        let e = read_image_bytes(b"\x89PNG\r\n\x1a\n garbage", "broken.png").unwrap_err();
        assert!(matches!(e, ImageError::Decode { .. }), "{e}");
        let e = read_image(Path::new("/nonexistent/whiten/x.ras")).unwrap_err();
        assert!(matches!(e, ImageError::Io { .. }) && e.to_string().contains("x.ras"));
    }

    #[test]
    fn lists_directories() {
        let dir = temp_dir("list");
        for f in ["b.ras", "a.PNG", "c.pgm", "notes.txt", "d.tif.bak"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        std::fs::create_dir(dir.join("sub.png")).unwrap();
        let files = list_images(&dir).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.PNG", "b.ras", "c.pgm"]);
        // A file is returned as itself.
        let one = dir.join("notes.txt");
        assert_eq!(list_images(&one).unwrap(), vec![one]);
        let empty = temp_dir("empty");
        let e = list_images(&empty).unwrap_err();
        assert!(matches!(e, ImageError::NoImages { .. }) && e.to_string().contains("ras"));
        assert!(matches!(
            list_images(&dir.join("missing")),
            Err(ImageError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::remove_dir_all(&empty).ok();
    }

    #[test]
    #[allow(clippy::print_stderr)] // says so when it skips
    fn reads_shared_kodak_image() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/images");
        let path = dir.join("kodak-01.ras");
        if !path.exists() {
            eprintln!("skipping: {} not found", path.display());
            return;
        }
        let img = read_image(&path).unwrap();
        assert_eq!((img.width, img.height), (768, 512));
        // Independent check: the raw bytes after the 32-byte header, / 255.
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.len(), 32 + 768 * 512);
        let mean_raw =
            raw[32..].iter().map(|&v| f64::from(v)).sum::<f64>() / (768.0 * 512.0 * 255.0);
        let mean = img.pixels.iter().sum::<f64>() / img.pixels.len() as f64;
        assert!((mean - mean_raw).abs() < 1e-12);
        assert!(img.pixels.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(
            (img.pixels[768 * 100 + 5] - f64::from(raw[32 + 768 * 100 + 5]) / 255.0).abs() < 1e-15
        );
        let files = list_images(&dir).unwrap();
        assert!(files.len() >= 3 && files.windows(2).all(|w| w[0] < w[1]));
    }
}
