//! A stripped image as the page shows it: measured from its header before anything is
//! decoded, decoded within limits, turned upright, and made small.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{
    ColorType, DynamicImage, GenericImageView, ImageDecoder, ImageEncoder, ImageFormat,
    ImageReader, Limits,
};

use super::{MAX_PIXELS, Picture, Stripped, THUMBNAIL_BOX, Thumbnail};

/// The most a decoder may allocate: 50 megapixels of 8-bit RGBA (200 MB) fit.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// The widest and tallest an image may be (JPEG's and GIF's own limit).
const MAX_SIDE: u32 = 65_535;
const ORIGINAL_JPEG_QUALITY: u8 = 90;
const THUMBNAIL_JPEG_QUALITY: u8 = 80;

/// An image the page shows, and its bytes anew when they had to be turned upright.
pub(super) struct Shown {
    pub(super) picture: Picture,
    pub(super) upright: Option<Vec<u8>>,
}

/// The image as shown, or `None` when it is too large or does not decode (it is then kept as
/// a plain file). A decoder that panics on hostile bytes counts as one that failed: the
/// decoders are not ours, and a file must never take the server down.
pub(super) fn show(stripped: &Stripped) -> Option<Shown> {
    catch_unwind(AssertUnwindSafe(|| show_within_limits(stripped))).unwrap_or(None)
}

fn show_within_limits(stripped: &Stripped) -> Option<Shown> {
    let (mut image, icc) = decode(stripped.format, &stripped.bytes)?;
    // Turning frames upright would keep only the first: an animation stays as it is.
    let upright = if stripped.orientation == Orientation::NoTransforms || stripped.animated {
        None
    } else {
        image.apply_orientation(stripped.orientation);
        Some(encode_original(&image, stripped.format, icc.as_deref())?)
    };
    let (width, height) = image.dimensions();
    let thumbnail = if fits(width, height) {
        None
    } else {
        Some(thumbnail(&image, icc.as_deref())?)
    };
    Some(Shown {
        picture: Picture {
            width,
            height,
            thumbnail,
        },
        upright,
    })
}

fn fits(width: u32, height: u32) -> bool {
    width <= THUMBNAIL_BOX.0 && height <= THUMBNAIL_BOX.1
}

/// The pixels (of an animation: its first frame) and the ICC profile, if the header's size
/// is within `MAX_PIXELS` and the memory limit: checked before a pixel is read.
fn decode(format: ImageFormat, bytes: &[u8]) -> Option<(DynamicImage, Option<Vec<u8>>)> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 || MAX_PIXELS < pixels || MAX_ALLOC < decoder.total_bytes() {
        return None;
    }
    let icc = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).ok()?;
    Some((image, icc))
}

/// The upright original, in its own format: JPEG at a quality that keeps a photo a photo,
/// PNG and WebP losslessly.
fn encode_original(
    image: &DynamicImage,
    format: ImageFormat,
    icc: Option<&[u8]>,
) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let written = match format {
        ImageFormat::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut out, ORIGINAL_JPEG_QUALITY);
            image.write_with_encoder(with_profile(encoder, icc, image.color()))
        }
        ImageFormat::Png => {
            image.write_with_encoder(with_profile(PngEncoder::new(&mut out), icc, image.color()))
        }
        ImageFormat::WebP => {
            let encoder = WebPEncoder::new_lossless(&mut out);
            image.write_with_encoder(with_profile(encoder, icc, image.color()))
        }
        // GIF has no orientation to apply.
        _ => return None,
    };
    written.ok().map(|()| out)
}

/// A copy that fits `THUMBNAIL_BOX`, its aspect ratio kept: a JPEG, or a PNG when some of it
/// is transparent.
fn thumbnail(image: &DynamicImage, icc: Option<&[u8]>) -> Option<Thumbnail> {
    // Each pixel of the original counts once, in the one it falls in: fast, and smooth enough
    // for a reduction this large.
    let small = image.thumbnail(THUMBNAIL_BOX.0, THUMBNAIL_BOX.1);
    let (width, height) = small.dimensions();
    let mut bytes = Vec::new();
    let translucent =
        small.color().has_alpha() && small.to_rgba8().pixels().any(|pixel| pixel.0[3] < u8::MAX);
    let content_type = if translucent {
        let small = DynamicImage::from(small.to_rgba8());
        let encoder = PngEncoder::new(&mut bytes);
        small
            .write_with_encoder(with_profile(encoder, icc, small.color()))
            .ok()?;
        "image/png"
    } else {
        let small = DynamicImage::from(small.to_rgb8());
        let encoder = JpegEncoder::new_with_quality(&mut bytes, THUMBNAIL_JPEG_QUALITY);
        small
            .write_with_encoder(with_profile(encoder, icc, small.color()))
            .ok()?;
        "image/jpeg"
    };
    Some(Thumbnail {
        bytes,
        content_type,
        width,
        height,
    })
}

/// The encoder, given the original's ICC profile when it describes pixels of this kind (a
/// CMYK JPEG's profile does not fit the RGB it decodes to, and would make its colours wrong).
fn with_profile<E: ImageEncoder>(mut encoder: E, icc: Option<&[u8]>, color: ColorType) -> E {
    // An ICC profile's header names its colour space at bytes 16 to 20.
    let space: &[u8] = if color.has_color() { b"RGB " } else { b"GRAY" };
    if let Some(icc) = icc
        && icc.get(16..20) == Some(space)
    {
        // Without it the colours are a little off, no more: not worth failing for.
        let _ = encoder.set_icc_profile(icc.to_vec());
    }
    encoder
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    use super::*;

    fn thumbnail_of(width: u32, height: u32) -> Option<Thumbnail> {
        let image = DynamicImage::from(RgbImage::new(width, height));
        (!fits(width, height)).then(|| thumbnail(&image, None).expect("encoded"))
    }

    // The sizes of the issue (3000×2000, 4000×1000, 1000×700) are tried on whole files in
    // mod.rs; smaller ones here keep the unoptimised test build quick.
    #[test]
    fn a_thumbnail_fits_the_box_keeping_the_aspect_ratio_and_a_small_image_needs_none() {
        let wide = thumbnail_of(1500, 1000).expect("made");
        assert_eq!((wide.width, wide.height), (1200, 800));
        let panorama = thumbnail_of(2400, 600).expect("made");
        assert_eq!((panorama.width, panorama.height), (1200, 300));
        let tall = thumbnail_of(600, 1800).expect("made");
        assert_eq!((tall.width, tall.height), (267, 800));
        assert!(thumbnail_of(1000, 700).is_none());
        assert!(thumbnail_of(1200, 800).is_none());
        assert!(thumbnail_of(1201, 1).is_some());
        let decoded = image::load_from_memory(&wide.bytes).expect("decodes");
        assert_eq!(decoded.dimensions(), (1200, 800));
        assert_eq!(wide.content_type, "image/jpeg");
    }

    #[test]
    fn a_thumbnail_is_a_png_only_when_something_shows_through() {
        let opaque = DynamicImage::from(RgbaImage::from_pixel(1300, 10, Rgba([1, 2, 3, 255])));
        assert_eq!(
            thumbnail(&opaque, None).expect("made").content_type,
            "image/jpeg"
        );
        let mut translucent = RgbaImage::from_pixel(1300, 10, Rgba([1, 2, 3, 255]));
        translucent.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
        let made = thumbnail(&DynamicImage::from(translucent), None).expect("made");
        assert_eq!(made.content_type, "image/png");
        assert!(
            image::load_from_memory(&made.bytes)
                .expect("decodes")
                .color()
                .has_alpha()
        );
    }

    #[test]
    fn an_icc_profile_is_kept_only_for_pixels_of_its_colour_space() {
        let mut rgb_profile = vec![0; 128];
        rgb_profile[16..20].copy_from_slice(b"RGB ");
        let mut cmyk_profile = vec![0; 128];
        cmyk_profile[16..20].copy_from_slice(b"CMYK");
        let image = DynamicImage::from(RgbImage::from_pixel(4, 4, Rgb([9, 9, 9])));
        let with = encode_original(&image, ImageFormat::Png, Some(&rgb_profile)).expect("made");
        let without = encode_original(&image, ImageFormat::Png, Some(&cmyk_profile)).expect("made");
        assert!(with.windows(4).any(|w| w == b"iCCP"));
        assert!(!without.windows(4).any(|w| w == b"iCCP"));
    }
}
