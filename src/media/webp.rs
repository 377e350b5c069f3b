//! A WebP's metadata taken out of its RIFF container: the EXIF and XMP chunks (their flags in
//! VP8X cleared) and any chunk the format does not define. The image, alpha, ICC profile and
//! animation chunks are copied whole; the RIFF size is set to what is left. Whatever follows
//! the RIFF container goes.

use image::ImageFormat;
use image::metadata::Orientation;

use super::{Refused, Stripped, exif_orientation};

/// The chunks that draw the picture.
const KEPT: [&[u8; 4]; 7] = [
    b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];
/// VP8X's flags (the first byte of its payload).
const EXIF_FLAG: u8 = 0x08;
const XMP_FLAG: u8 = 0x04;
const ANIMATION_FLAG: u8 = 0x02;

pub(super) fn strip(bytes: &[u8]) -> Result<Stripped, Refused> {
    let riff_size = match bytes.get(..12) {
        Some(
            &[
                b'R',
                b'I',
                b'F',
                b'F',
                s0,
                s1,
                s2,
                s3,
                b'W',
                b'E',
                b'B',
                b'P',
            ],
        ) => u32::from_le_bytes([s0, s1, s2, s3]),
        _ => return Err(Refused::Damaged),
    };
    let riff_end = usize::try_from(riff_size)
        .ok()
        .and_then(|size| size.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .ok_or(Refused::Damaged)?;
    let mut out = Vec::with_capacity(riff_end);
    out.extend_from_slice(&bytes[..12]);
    let mut orientation = None;
    let mut animated = false;
    let mut vp8x_flags = None;
    let mut at = 12;
    while at < riff_end {
        let (kind, size) = match bytes.get(at..at + 8) {
            Some(&[k0, k1, k2, k3, s0, s1, s2, s3]) => {
                ([k0, k1, k2, k3], u32::from_le_bytes([s0, s1, s2, s3]))
            }
            _ => return Err(Refused::Damaged),
        };
        let size = usize::try_from(size).map_err(|_| Refused::Damaged)?;
        let data_end = (at + 8).checked_add(size).ok_or(Refused::Damaged)?;
        if riff_end < data_end {
            return Err(Refused::Damaged);
        }
        // Chunks are padded to an even size; the last one's padding may be missing.
        let end = (data_end + size % 2).min(riff_end);
        let data = &bytes[at + 8..data_end];
        if at == 12 && !matches!(&kind, b"VP8 " | b"VP8L" | b"VP8X") {
            return Err(Refused::Damaged);
        }
        match &kind {
            b"VP8X" => {
                let &flags = data
                    .first()
                    .filter(|_| data.len() >= 10)
                    .ok_or(Refused::Damaged)?;
                animated |= flags & ANIMATION_FLAG != 0;
                vp8x_flags = Some(out.len() + 8);
            }
            b"ANIM" | b"ANMF" => animated = true,
            b"EXIF" if orientation.is_none() => orientation = Some(exif_orientation(data)),
            _ => {}
        }
        if KEPT.contains(&&kind) {
            out.extend_from_slice(&bytes[at..end]);
            if end < data_end + size % 2 {
                out.push(0);
            }
        }
        at = end;
    }
    if out.len() == 12 {
        return Err(Refused::Damaged);
    }
    if let Some(flags) = vp8x_flags {
        out[flags] &= !(EXIF_FLAG | XMP_FLAG);
    }
    let size = u32::try_from(out.len() - 8).map_err(|_| Refused::Damaged)?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(Stripped {
        format: ImageFormat::WebP,
        bytes: out,
        orientation: orientation.unwrap_or(Orientation::NoTransforms),
        animated,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn exif_xmp_and_unknown_chunks_go_their_flags_are_cleared_and_the_size_follows() {
        let input = fixtures::webp_with_metadata(&fixtures::exif_tiff(Some(1)));
        let stripped = strip(&input).expect("a sound WebP");
        let out = &stripped.bytes;
        assert_eq!(&out[12..16], b"VP8X");
        assert_eq!(out[20] & (EXIF_FLAG | XMP_FLAG), 0);
        assert_eq!(
            usize::try_from(u32::from_le_bytes([out[4], out[5], out[6], out[7]])).ok(),
            Some(out.len() - 8)
        );
        for gone in [&b"EXIF"[..], b"XMP ", b"secret", b"Exif"] {
            assert!(
                !out.windows(gone.len()).any(|w| w == gone),
                "{gone:?} is gone"
            );
        }
        // What is left is the VP8X header and the image, each as it was.
        let vp8l = fixtures::webp(8, 4);
        assert_eq!(&out[30..], &vp8l[12..]);
    }

    #[test]
    fn the_exif_chunk_says_the_orientation_with_or_without_its_jpeg_prefix() {
        let bare = fixtures::webp_with_metadata(&fixtures::exif_tiff(Some(6)));
        assert_eq!(
            strip(&bare).expect("sound").orientation,
            Orientation::Rotate90
        );
        let prefixed = fixtures::webp_with_metadata(&fixtures::exif_app1(Some(3)));
        assert_eq!(
            strip(&prefixed).expect("sound").orientation,
            Orientation::Rotate180
        );
    }

    #[test]
    fn a_simple_file_is_kept_whole_and_a_missing_last_pad_is_restored() {
        let plain = fixtures::webp(8, 4);
        assert_eq!(strip(&plain).expect("sound").bytes, plain);
        let mut odd = b"RIFF\0\0\0\0WEBP".to_vec();
        odd.extend_from_slice(&fixtures::riff_chunk(b"VP8L", &[1, 2, 3]));
        odd.pop();
        let size = u32::try_from(odd.len() - 8).expect("small");
        odd[4..8].copy_from_slice(&size.to_le_bytes());
        let stripped = strip(&odd).expect("sound");
        assert_eq!(stripped.bytes.len() % 2, 0);
        assert_eq!(&stripped.bytes[4..8], &(size + 1).to_le_bytes());
    }

    #[test]
    fn a_file_shorter_than_its_riff_size_or_not_opening_with_an_image_is_damaged() {
        let plain = fixtures::webp(8, 4);
        assert_eq!(
            strip(&plain[..plain.len() - 1]).map(drop),
            Err(Refused::Damaged)
        );
        let mut exif_first = b"RIFF\0\0\0\0WEBP".to_vec();
        exif_first.extend_from_slice(&fixtures::riff_chunk(b"EXIF", b"II*\0"));
        exif_first.extend_from_slice(&plain[12..]);
        let size = u32::try_from(exif_first.len() - 8).expect("small");
        exif_first[4..8].copy_from_slice(&size.to_le_bytes());
        assert_eq!(strip(&exif_first).map(drop), Err(Refused::Damaged));
        assert_eq!(
            strip(b"RIFF\x04\0\0\0WEBP").map(drop),
            Err(Refused::Damaged)
        );
    }
}
