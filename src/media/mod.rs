//! What an uploaded file is and what is kept of it: its type decided from its bytes, an
//! image's metadata stripped, its EXIF orientation applied, its size measured and its
//! thumbnail made, within limits that no file can push past (decompression bombs). Pure
//! computation, CPU-heavy: callers run it on the blocking pool, never on the async workers.
//! Whatever the bytes, it never panics, and its memory is bounded: a header is measured before
//! any pixel is decoded, so at worst one image of `MAX_PIXELS` is held twice while it is
//! turned (about 400 MB for 50 MP of RGBA).
//!
//! Metadata is taken out at the container level (JPEG's segments, PNG's chunks, WebP's RIFF
//! chunks, GIF's extension blocks), copying the compressed pixels untouched: that is lossless
//! and fast, keeps what the picture needs to look the same (a JPEG's Adobe transform, an ICC
//! profile, an animation), and works for every file whose structure can be read, even one the
//! image decoder then fails on. Decoding and encoding anew would lose quality and make the
//! stored original depend on the decoder; pixels are only re-encoded when they must change,
//! to turn an image upright (the EXIF that said how is gone with the rest). Only what is known
//! to be needed to draw the picture is kept; anything else, unknown chunks included, goes.
//!
//! - `sniff`: the type, from the bytes alone.
//! - `jpeg`, `png`, `webp`, `gif`: each format's metadata taken out, its orientation read.
//! - `picture`: decoding within limits, turning upright, measuring, the thumbnail.

mod gif;
mod jpeg;
mod picture;
mod png;
mod sniff;
mod webp;

#[cfg(test)]
mod fixtures;

use image::ImageFormat;
use image::metadata::Orientation;

/// The most pixels an image may have to be shown inline; a larger one is kept as a plain file.
pub const MAX_PIXELS: u64 = 50_000_000;
/// A thumbnail fits this box (width, height); an image that fits already is its own.
pub const THUMBNAIL_BOX: (u32, u32) = (1200, 800);

/// What is stored of an upload.
#[derive(Debug)]
pub struct Prepared {
    /// The bytes to store: an image's without its metadata (EXIF, GPS, XMP, comments).
    pub bytes: Vec<u8>,
    /// Decided from the bytes: "image/png", "application/pdf", ... or
    /// "application/octet-stream" for anything not recognised.
    pub content_type: &'static str,
    /// For a PNG, JPEG, GIF or WebP image that decoded within the limits: it is shown inline.
    pub image: Option<Picture>,
}

/// An image shown inline.
#[derive(Debug)]
pub struct Picture {
    /// As shown (upright, after its EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// Made when the image does not fit `THUMBNAIL_BOX`.
    pub thumbnail: Option<Thumbnail>,
}

/// An image's smaller copy.
#[derive(Debug)]
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Why an upload cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// It says it is an image (by its bytes) but its structure is broken, so its metadata
    /// cannot be taken out.
    Damaged,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Damaged => f.write_str("The image is damaged and could not be read."),
        }
    }
}

/// Decides what `bytes` are and prepares them for storage. Never panics, whatever the bytes.
///
/// A PNG, JPEG, GIF or WebP loses its metadata, or is refused when its structure is too broken
/// to take it out (`Refused::Damaged`). Then it is shown inline (`image: Some`) if it decodes
/// within `MAX_PIXELS` and the memory limit, turned upright if its EXIF said so; otherwise it
/// is kept as a plain file, stripped all the same. Anything else is kept as it is.
pub fn prepare(bytes: Vec<u8>) -> Result<Prepared, Refused> {
    let content_type = content_type(&bytes);
    let stripped = match content_type {
        "image/jpeg" => jpeg::strip(&bytes)?,
        "image/png" => png::strip(&bytes)?,
        "image/gif" => gif::strip(&bytes)?,
        "image/webp" => webp::strip(&bytes)?,
        _ => {
            return Ok(Prepared {
                bytes,
                content_type,
                image: None,
            });
        }
    };
    // Only one copy of the file is held while it is decoded.
    drop(bytes);
    Ok(match picture::show(&stripped) {
        Some(picture::Shown { picture, upright }) => Prepared {
            bytes: upright.unwrap_or(stripped.bytes),
            content_type,
            image: Some(picture),
        },
        None => Prepared {
            bytes: stripped.bytes,
            content_type,
            image: None,
        },
    })
}

/// The file's type, from its bytes alone (never its name): "image/png", "application/pdf",
/// "image/svg+xml", "text/html", "text/plain" (UTF-8 without NULs), ... or
/// "application/octet-stream" when it is not recognised.
pub fn content_type(bytes: &[u8]) -> &'static str {
    sniff::content_type(bytes)
}

/// Whether a stored file of this type is served inline (an image the page shows), rather
/// than as a download.
pub fn shown_inline(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// An image without its metadata, and what its metadata said that still matters.
#[derive(Debug)]
struct Stripped {
    format: ImageFormat,
    bytes: Vec<u8>,
    /// From its EXIF, read before the EXIF was dropped.
    orientation: Orientation,
    /// Several frames (APNG, animated WebP): turning them upright would lose all but the first.
    animated: bool,
}

/// The orientation an EXIF block (a TIFF structure, perhaps after JPEG's "Exif\0\0") states;
/// none, or a broken one, is upright already.
fn exif_orientation(exif: &[u8]) -> Orientation {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    Orientation::from_exif_chunk(tiff).unwrap_or(Orientation::NoTransforms)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use image::{DynamicImage, GenericImageView, Rgb, RgbImage};

    use super::fixtures::{self, jpeg_segment, png_chunk};
    use super::*;

    /// The secrets the fixtures' metadata hold, none of which may be stored.
    const SECRETS: [&[u8]; 5] = [b"Exif", b"II*\0", b"SECRET", b"secret", b"xmpmeta"];

    fn assert_no_metadata(bytes: &[u8]) {
        for secret in SECRETS {
            assert!(
                !bytes.windows(secret.len()).any(|window| window == secret),
                "{:?} is still there",
                String::from_utf8_lossy(secret)
            );
        }
    }

    fn decoded(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).expect("decodes")
    }

    #[test]
    fn a_jpeg_loses_its_exif_with_gps_and_its_xmp_and_still_decodes_to_its_size() {
        let input = fixtures::jpeg_with(
            &fixtures::jpeg(64, 48),
            &[
                jpeg_segment(0xE1, &fixtures::exif_app1(Some(1))),
                jpeg_segment(
                    0xE1,
                    b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>secret</x:xmpmeta>",
                ),
                jpeg_segment(0xFE, b"secret"),
            ],
        );
        let prepared = prepare(input).expect("kept");
        assert_eq!(prepared.content_type, "image/jpeg");
        assert_no_metadata(&prepared.bytes);
        let picture = prepared.image.expect("shown inline");
        assert_eq!((picture.width, picture.height), (64, 48));
        assert!(picture.thumbnail.is_none());
        assert_eq!(decoded(&prepared.bytes).dimensions(), (64, 48));
    }

    #[test]
    fn a_png_loses_its_text_and_exif() {
        let input = fixtures::png_with(
            &fixtures::png(8, 4, false),
            &[
                png_chunk(b"tEXt", b"Comment\0secret"),
                png_chunk(b"eXIf", &fixtures::exif_tiff(Some(1))),
            ],
        );
        let prepared = prepare(input).expect("kept");
        assert_eq!(prepared.content_type, "image/png");
        assert_no_metadata(&prepared.bytes);
        assert_eq!(decoded(&prepared.bytes).dimensions(), (8, 4));
        assert!(prepared.image.is_some());
    }

    #[test]
    fn a_webp_loses_its_exif_and_xmp() {
        let prepared =
            prepare(fixtures::webp_with_metadata(&fixtures::exif_tiff(Some(1)))).expect("kept");
        assert_eq!(prepared.content_type, "image/webp");
        assert_no_metadata(&prepared.bytes);
        assert_eq!(decoded(&prepared.bytes).dimensions(), (8, 4));
        assert!(prepared.image.is_some());
    }

    #[test]
    fn orientation_6_turns_a_jpeg_upright_swapping_width_and_height() {
        // Red on the left, blue on the right: turned a quarter clockwise, red is on top.
        let sideways = RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let input = fixtures::jpeg_with(
            &fixtures::jpeg_of(&sideways),
            &[jpeg_segment(0xE1, &fixtures::exif_app1(Some(6)))],
        );
        let prepared = prepare(input).expect("kept");
        assert_no_metadata(&prepared.bytes);
        let picture = prepared.image.expect("shown inline");
        assert_eq!((picture.width, picture.height), (20, 40));
        let upright = decoded(&prepared.bytes).to_rgb8();
        assert_eq!(upright.dimensions(), (20, 40));
        let [red, _, blue] = upright.get_pixel(10, 5).0;
        assert!(red > 200 && blue < 50, "red on top");
        let [red, _, blue] = upright.get_pixel(10, 35).0;
        assert!(red < 50 && blue > 200, "blue below");
    }

    #[test]
    fn an_exif_orientation_turns_a_png_and_a_webp_upright_without_loss() {
        let image = DynamicImage::from(fixtures::gradient(6, 3));
        let png = fixtures::png_with(
            &fixtures::png_of(&image),
            &[png_chunk(b"eXIf", &fixtures::exif_tiff(Some(8)))],
        );
        let prepared = prepare(png).expect("kept");
        assert_eq!(prepared.content_type, "image/png");
        assert_no_metadata(&prepared.bytes);
        let picture = prepared.image.expect("shown inline");
        assert_eq!((picture.width, picture.height), (3, 6));
        assert_eq!(
            decoded(&prepared.bytes).to_rgb8(),
            image.rotate270().to_rgb8()
        );

        let webp = fixtures::webp_wrapping(
            &fixtures::webp_of(&image),
            6,
            3,
            &fixtures::exif_tiff(Some(6)),
        );
        let prepared = prepare(webp).expect("kept");
        assert_eq!(prepared.content_type, "image/webp");
        assert_no_metadata(&prepared.bytes);
        assert_eq!(
            decoded(&prepared.bytes).to_rgb8(),
            image.rotate90().to_rgb8()
        );
    }

    #[test]
    fn a_png_claiming_100000_by_100000_pixels_is_kept_as_a_plain_file_at_once() {
        let mut ihdr = 100_000_u32.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&100_000_u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
        bomb.extend(png_chunk(b"IHDR", &ihdr));
        // The start of a stream of zeros; it is never inflated.
        bomb.extend(png_chunk(
            b"IDAT",
            &[0x78, 0x9C, 0xED, 0xC1, 0x01, 0x0D, 0x00, 0x00],
        ));
        bomb.extend(png_chunk(b"IEND", &[]));
        let started = Instant::now();
        let prepared = prepare(bomb.clone()).expect("kept");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(prepared.content_type, "image/png");
        assert!(prepared.image.is_none());
        assert_eq!(prepared.bytes, bomb);
    }

    #[test]
    fn a_jpeg_claiming_more_than_max_pixels_is_kept_as_a_plain_file_at_once() {
        let mut bomb = fixtures::jpeg(16, 8);
        let sof = bomb
            .windows(2)
            .position(|pair| pair == [0xFF, 0xC0])
            .expect("a baseline frame");
        // Its height and width, after the length and the precision.
        bomb[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
        let started = Instant::now();
        let prepared = prepare(bomb).expect("kept");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert!(prepared.image.is_none());
    }

    /// Every prefix of the file, and the file with each byte changed in turn.
    fn damaged_versions(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> {
        let prefixes = (0..bytes.len()).map(|length| bytes[..length].to_vec());
        let flipped = (0..bytes.len()).flat_map(|at| {
            [0xFF_u8, 0x01].map(|mask| {
                let mut flipped = bytes.to_vec();
                flipped[at] ^= mask;
                flipped
            })
        });
        prefixes.chain(flipped)
    }

    #[test]
    fn truncated_or_garbled_images_never_panic() {
        let sources = [
            fixtures::jpeg_with(
                &fixtures::jpeg(24, 16),
                &[jpeg_segment(0xE1, &fixtures::exif_app1(Some(6)))],
            ),
            fixtures::png_with(
                &fixtures::png(24, 16, true),
                &[png_chunk(b"eXIf", &fixtures::exif_tiff(Some(6)))],
            ),
            fixtures::gif(&[[255, 0, 0, 255], [0, 0, 255, 128]], 12, 8),
            fixtures::webp_with_metadata(&fixtures::exif_tiff(Some(6))),
        ];
        for source in sources {
            for damaged in damaged_versions(&source) {
                if let Ok(prepared) = prepare(damaged)
                    && let Some(picture) = prepared.image
                {
                    assert!(shown_inline(prepared.content_type));
                    assert!(u64::from(picture.width) * u64::from(picture.height) <= MAX_PIXELS);
                }
            }
        }
    }

    #[test]
    fn a_large_photo_gets_a_thumbnail_that_fits_the_box() {
        let prepared = prepare(fixtures::jpeg(3000, 2000)).expect("kept");
        let picture = prepared.image.expect("shown inline");
        assert_eq!((picture.width, picture.height), (3000, 2000));
        let thumbnail = picture.thumbnail.expect("made");
        assert_eq!((thumbnail.width, thumbnail.height), (1200, 800));
        assert_eq!(thumbnail.content_type, "image/jpeg");
        assert_eq!(decoded(&thumbnail.bytes).dimensions(), (1200, 800));
    }

    #[test]
    fn a_wide_image_with_transparency_gets_a_png_thumbnail_and_a_small_one_none() {
        let prepared = prepare(fixtures::png(4000, 1000, true)).expect("kept");
        let thumbnail = prepared
            .image
            .and_then(|picture| picture.thumbnail)
            .expect("made");
        assert_eq!((thumbnail.width, thumbnail.height), (1200, 300));
        assert_eq!(thumbnail.content_type, "image/png");

        let prepared = prepare(fixtures::png(1000, 700, false)).expect("kept");
        let picture = prepared.image.expect("shown inline");
        assert_eq!((picture.width, picture.height), (1000, 700));
        assert!(picture.thumbnail.is_none());
    }

    #[test]
    fn an_animated_gifs_thumbnail_is_its_first_frame_and_the_animation_is_kept() {
        let animation = fixtures::gif(&[[255, 0, 0, 255], [0, 0, 255, 255]], 1300, 100);
        let prepared = prepare(animation.clone()).expect("kept");
        assert_eq!(prepared.bytes, animation);
        let thumbnail = prepared
            .image
            .and_then(|picture| picture.thumbnail)
            .expect("made");
        assert_eq!((thumbnail.width, thumbnail.height), (1200, 92));
        let [red, _, blue] = decoded(&thumbnail.bytes).to_rgb8().get_pixel(600, 46).0;
        assert!(red > 200 && blue < 50, "the first frame, red");
    }

    #[test]
    fn html_is_text_html_whatever_it_is_called_and_never_shown_inline() {
        let html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>".to_vec();
        let prepared = prepare(html.clone()).expect("kept");
        assert_eq!(prepared.content_type, "text/html");
        assert!(prepared.image.is_none());
        assert!(!shown_inline(prepared.content_type));
        assert_eq!(prepared.bytes, html);
        // HTML behind an image's magic number is no image: it is refused.
        let mut disguised = b"\x89PNG\r\n\x1a\n".to_vec();
        disguised.extend_from_slice(&html);
        assert_eq!(prepare(disguised).map(drop), Err(Refused::Damaged));
    }

    #[test]
    fn svg_is_image_svg_xml_and_never_shown_inline() {
        let svg = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
                    onload=\"alert(1)\"><circle r=\"4\"/></svg>"
            .to_vec();
        let prepared = prepare(svg.clone()).expect("kept");
        assert_eq!(prepared.content_type, "image/svg+xml");
        assert!(prepared.image.is_none());
        assert!(!shown_inline(prepared.content_type));
        assert_eq!(prepared.bytes, svg);
    }

    #[test]
    fn other_files_are_kept_as_they_are() {
        let pdf = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec();
        let prepared = prepare(pdf.clone()).expect("kept");
        assert_eq!(prepared.content_type, "application/pdf");
        assert_eq!(prepared.bytes, pdf);
        assert!(prepared.image.is_none());
    }
}
