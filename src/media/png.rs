//! A PNG's metadata taken out chunk by chunk: text (tEXt, zTXt, iTXt), EXIF (eXIf), the time
//! (tIME), and any ancillary chunk not known to change how it looks (a private chunk may hold
//! anything; decoders skip unknown ancillary chunks, so dropping one never changes the
//! picture). Critical chunks, colour and animation chunks are copied whole, so their CRCs
//! stay valid. Whatever follows IEND goes.

use image::ImageFormat;
use image::metadata::Orientation;

use super::{Refused, Stripped, exif_orientation};

const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The ancillary chunks that change how the picture looks (colour, transparency, density,
/// animation): the rest of them are metadata, or unknown.
const KEPT: [&[u8; 4]; 16] = [
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"cLLI", b"sBIT", b"bKGD",
    b"pHYs", b"hIST", b"sPLT", b"acTL", b"fcTL", b"fdAT",
];

pub(super) fn strip(bytes: &[u8]) -> Result<Stripped, Refused> {
    if !bytes.starts_with(SIGNATURE) {
        return Err(Refused::Damaged);
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(SIGNATURE);
    let mut orientation = None;
    let mut animated = false;
    let mut at = SIGNATURE.len();
    loop {
        let (length, kind) = match bytes.get(at..at + 8) {
            Some(&[l0, l1, l2, l3, k0, k1, k2, k3]) => {
                (u32::from_be_bytes([l0, l1, l2, l3]), [k0, k1, k2, k3])
            }
            _ => return Err(Refused::Damaged),
        };
        // Lengths are at most 2^31 - 1; a chunk's type is four letters.
        let length = usize::try_from(length)
            .ok()
            .filter(|&length| length <= 0x7FFF_FFFF)
            .ok_or(Refused::Damaged)?;
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(Refused::Damaged);
        }
        let end = at.checked_add(12 + length).ok_or(Refused::Damaged)?;
        if bytes.len() < end || (at == SIGNATURE.len() && &kind != b"IHDR") {
            return Err(Refused::Damaged);
        }
        let data = &bytes[at + 8..end - 4];
        match &kind {
            b"eXIf" if orientation.is_none() => orientation = Some(exif_orientation(data)),
            b"acTL" => animated = true,
            _ => {}
        }
        // A critical chunk's type starts with a capital letter.
        if kind[0].is_ascii_uppercase() || KEPT.contains(&&kind) {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if &kind == b"IEND" {
            break;
        }
    }
    Ok(Stripped {
        format: ImageFormat::Png,
        bytes: out,
        orientation: orientation.unwrap_or(Orientation::NoTransforms),
        animated,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, png_chunk};
    use super::*;

    #[test]
    fn text_exif_time_and_unknown_chunks_go_and_colour_chunks_stay() {
        let plain = fixtures::png(8, 4, false);
        let ihdr_end = SIGNATURE.len() + 25;
        let kept = [
            png_chunk(b"gAMA", &45455_u32.to_be_bytes()),
            png_chunk(b"sRGB", &[0]),
        ];
        let dropped = [
            png_chunk(b"tEXt", b"Comment\0secret"),
            png_chunk(b"zTXt", b"Comment\0\0x"),
            png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0secret"),
            png_chunk(b"eXIf", &fixtures::exif_tiff(Some(1))),
            png_chunk(b"tIME", &[7, 232, 1, 2, 3, 4, 5]),
            png_chunk(b"prVt", b"a private chunk: secret"),
        ];
        let mut input = plain[..ihdr_end].to_vec();
        for chunk in dropped.iter().chain(&kept) {
            input.extend_from_slice(chunk);
        }
        input.extend_from_slice(&plain[ihdr_end..]);
        input.extend_from_slice(b"after IEND: secret");

        let stripped = strip(&input).expect("a sound PNG");

        let mut expected = plain[..ihdr_end].to_vec();
        for chunk in &kept {
            expected.extend_from_slice(chunk);
        }
        expected.extend_from_slice(&plain[ihdr_end..]);
        assert_eq!(stripped.bytes, expected);
        assert!(!stripped.animated);
    }

    #[test]
    fn the_exif_chunk_says_the_orientation() {
        let plain = fixtures::png(8, 4, false);
        let ihdr_end = SIGNATURE.len() + 25;
        let mut input = plain[..ihdr_end].to_vec();
        input.extend_from_slice(&png_chunk(b"eXIf", &fixtures::exif_tiff(Some(8))));
        input.extend_from_slice(&plain[ihdr_end..]);
        let stripped = strip(&input).expect("a sound PNG");
        assert_eq!(stripped.orientation, Orientation::Rotate270);
        assert_eq!(stripped.bytes, plain);
        assert!(!stripped.animated);
    }

    #[test]
    fn an_animation_control_chunk_marks_an_animation_and_stays() {
        let plain = fixtures::png(8, 4, false);
        let actl = png_chunk(b"acTL", &[0, 0, 0, 1, 0, 0, 0, 0]);
        let input = fixtures::png_with(&plain, std::slice::from_ref(&actl));
        let stripped = strip(&input).expect("a sound PNG");
        assert!(stripped.animated);
        assert_eq!(stripped.bytes, input);
    }

    #[test]
    fn a_file_without_its_header_or_its_end_is_damaged() {
        let plain = fixtures::png(8, 4, false);
        assert_eq!(
            strip(&plain[..plain.len() - 12]).map(drop),
            Err(Refused::Damaged)
        );
        let mut headless = SIGNATURE.to_vec();
        headless.extend_from_slice(&plain[SIGNATURE.len() + 25..]);
        assert_eq!(strip(&headless).map(drop), Err(Refused::Damaged));
        let mut huge = plain.clone();
        huge[SIGNATURE.len()..SIGNATURE.len() + 4].copy_from_slice(&[0xFF; 4]);
        assert_eq!(strip(&huge).map(drop), Err(Refused::Damaged));
    }
}
