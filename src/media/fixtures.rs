//! Images for the tests, made by the `image` crate's encoders, with metadata added by hand
//! where the encoders would not write it: no binary files to keep.

use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{Delay, DynamicImage, Frame, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

/// A photo-like gradient: smooth, so a JPEG of it is neither trivially small nor noise.
pub(super) fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let red = u8::try_from(x * 255 / width.max(1)).unwrap_or(u8::MAX);
        let green = u8::try_from(y * 255 / height.max(1)).unwrap_or(u8::MAX);
        Rgb([red, green, 128])
    })
}

pub(super) fn jpeg_of(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            image,
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encoded");
    out
}

pub(super) fn jpeg(width: u32, height: u32) -> Vec<u8> {
    jpeg_of(&gradient(width, height))
}

pub(super) fn png_of(image: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_with_encoder(PngEncoder::new(&mut out))
        .expect("encoded");
    out
}

/// With `alpha`, its left column is transparent.
pub(super) fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
    let image = if alpha {
        DynamicImage::from(RgbaImage::from_fn(width, height, |x, _| {
            Rgba([200, 10, 10, if x == 0 { 0 } else { 255 }])
        }))
    } else {
        DynamicImage::from(gradient(width, height))
    };
    png_of(&image)
}

/// One frame of each colour, looping if there are several.
pub(super) fn gif(colors: &[[u8; 4]], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        if colors.len() > 1 {
            encoder.set_repeat(Repeat::Infinite).expect("set");
        }
        for &color in colors {
            let frame = Frame::from_parts(
                RgbaImage::from_pixel(width, height, Rgba(color)),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            );
            encoder.encode_frame(frame).expect("encoded");
        }
    }
    out
}

pub(super) fn webp_of(image: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_with_encoder(WebPEncoder::new_lossless(&mut out))
        .expect("encoded");
    out
}

/// A lossless WebP in the simple format (one VP8L chunk).
pub(super) fn webp(width: u32, height: u32) -> Vec<u8> {
    webp_of(&DynamicImage::from(gradient(width, height)))
}

/// `webp(8, 4)` in the extended format, with an EXIF chunk holding `exif`, an XMP chunk and
/// a chunk the format does not define, each with a secret.
pub(super) fn webp_with_metadata(exif: &[u8]) -> Vec<u8> {
    webp_wrapping(&webp(8, 4), 8, 4, exif)
}

/// A simple WebP's image chunk in the extended format, with metadata.
pub(super) fn webp_wrapping(simple: &[u8], width: u32, height: u32, exif: &[u8]) -> Vec<u8> {
    let mut vp8x = vec![0x08 | 0x04, 0, 0, 0];
    vp8x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    let mut out = b"RIFF\0\0\0\0WEBP".to_vec();
    out.extend_from_slice(&riff_chunk(b"VP8X", &vp8x));
    out.extend_from_slice(&simple[12..]);
    out.extend_from_slice(&riff_chunk(b"EXIF", exif));
    out.extend_from_slice(&riff_chunk(b"XMP ", b"<x:xmpmeta>secret</x:xmpmeta>"));
    out.extend_from_slice(&riff_chunk(b"SCRT", b"a secret"));
    let size = u32::try_from(out.len() - 8).expect("small");
    out[4..8].copy_from_slice(&size.to_le_bytes());
    out
}

/// One RIFF chunk: its kind, its length, its data, padded to an even length.
pub(super) fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = kind.to_vec();
    chunk.extend_from_slice(&u32::try_from(data.len()).expect("small").to_le_bytes());
    chunk.extend_from_slice(data);
    if data.len() % 2 == 1 {
        chunk.push(0);
    }
    chunk
}

/// A little-endian TIFF structure as EXIF holds it: an orientation if given, a description
/// and a GPS IFD with a latitude (48° 51' 24" N), the things that must not be kept.
pub(super) fn exif_tiff(orientation: Option<u16>) -> Vec<u8> {
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        let mut entry = tag.to_le_bytes().to_vec();
        entry.extend_from_slice(&kind.to_le_bytes());
        entry.extend_from_slice(&count.to_le_bytes());
        entry.extend_from_slice(&value.to_le_bytes());
        entry
    };
    let description = b"SECRET-PLACE\0";
    let ifd0_entries: u32 = if orientation.is_some() { 3 } else { 2 };
    let ifd0_end = 8 + 2 + 12 * ifd0_entries + 4;
    let description_at = ifd0_end;
    let gps_at = description_at + 14;
    let gps_end = gps_at + 2 + 12 * 2 + 4;
    let latitude_at = gps_end;

    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8_u32.to_le_bytes());
    tiff.extend_from_slice(&u16::try_from(ifd0_entries).expect("few").to_le_bytes());
    tiff.extend(entry(0x010E, ASCII, 13, description_at));
    if let Some(orientation) = orientation {
        tiff.extend(entry(0x0112, SHORT, 1, u32::from(orientation)));
    }
    tiff.extend(entry(0x8825, LONG, 1, gps_at));
    tiff.extend_from_slice(&0_u32.to_le_bytes());
    tiff.extend_from_slice(description);
    tiff.push(0);
    tiff.extend_from_slice(&2_u16.to_le_bytes());
    tiff.extend(entry(0x0001, ASCII, 2, u32::from(b'N')));
    tiff.extend(entry(0x0002, RATIONAL, 3, latitude_at));
    tiff.extend_from_slice(&0_u32.to_le_bytes());
    for (numerator, denominator) in [(48_u32, 1_u32), (51, 1), (2400, 100)] {
        tiff.extend_from_slice(&numerator.to_le_bytes());
        tiff.extend_from_slice(&denominator.to_le_bytes());
    }
    tiff
}

/// The payload of a JPEG's APP1 EXIF segment.
pub(super) fn exif_app1(orientation: Option<u16>) -> Vec<u8> {
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(exif_tiff(orientation));
    app1
}

/// A JPEG segment: its marker, its length, its payload.
pub(super) fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(payload.len() + 2).expect("a short segment");
    let mut segment = vec![0xFF, marker];
    segment.extend_from_slice(&length.to_be_bytes());
    segment.extend_from_slice(payload);
    segment
}

/// `jpeg` with these segments right after its start.
pub(super) fn jpeg_with(jpeg: &[u8], segments: &[Vec<u8>]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    for segment in segments {
        out.extend_from_slice(segment);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG chunk with its CRC.
pub(super) fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = u32::try_from(data.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

/// `png` with these chunks right after its IHDR.
pub(super) fn png_with(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let ihdr_end = 8 + 25;
    let mut out = png[..ihdr_end].to_vec();
    for chunk in chunks {
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

/// PNG's CRC-32 (ISO 3309), bit by bit: slow, and enough for a test.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
