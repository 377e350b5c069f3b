//! A JPEG's metadata taken out segment by segment: EXIF (with GPS) and XMP (APP1), IPTC and
//! Photoshop (APP13), comments, the other APPn, and whatever follows the end of the image
//! (a phone's appended previews and depth maps, with EXIF of their own). The segments that
//! change how it looks stay: JFIF (APP0), the ICC profile (APP2) and Adobe's colour transform
//! (APP14); the compressed scans are copied byte for byte.

use image::ImageFormat;
use image::metadata::Orientation;

use super::{Refused, Stripped, exif_orientation};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;

pub(super) fn strip(bytes: &[u8]) -> Result<Stripped, Refused> {
    if bytes.get(..2) != Some(&[0xFF, SOI]) {
        return Err(Refused::Damaged);
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut orientation = None;
    let mut scanned = false;
    let mut at = 2;
    loop {
        if bytes.len() <= at {
            // Cut within its scans: it shows what it has, as browsers do with a partial file.
            if scanned {
                break;
            }
            return Err(Refused::Damaged);
        }
        if bytes[at] != 0xFF {
            return Err(Refused::Damaged);
        }
        // Fill bytes may come before a marker.
        while bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = bytes.get(at + 1) else {
            return Err(Refused::Damaged);
        };
        match marker {
            EOI => {
                out.extend_from_slice(&[0xFF, EOI]);
                break;
            }
            // Markers without a length: restart markers and TEM.
            0xD0..=0xD7 | 0x01 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                at += 2;
                continue;
            }
            0x00 | SOI => return Err(Refused::Damaged),
            _ => {}
        }
        let length = match bytes.get(at + 2..at + 4) {
            Some(&[high, low]) => usize::from(u16::from_be_bytes([high, low])),
            _ => return Err(Refused::Damaged),
        };
        let end = at + 2 + length;
        if length < 2 || bytes.len() < end {
            return Err(Refused::Damaged);
        }
        let payload = &bytes[at + 4..end];
        let keep = match marker {
            0xE0 => payload.starts_with(b"JFIF\0"),
            0xE1 => {
                if orientation.is_none() && payload.starts_with(b"Exif\0\0") {
                    orientation = Some(exif_orientation(payload));
                }
                false
            }
            0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
            0xEE => payload.starts_with(b"Adobe"),
            // The other APPn, and comments.
            0xE3..=0xED | 0xEF | 0xFE => false,
            _ => true,
        };
        if keep {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if marker == SOS {
            scanned = true;
            let data = entropy_coded(&bytes[at..]);
            out.extend_from_slice(data);
            at += data.len();
        }
    }
    Ok(Stripped {
        format: ImageFormat::Jpeg,
        bytes: out,
        orientation: orientation.unwrap_or(Orientation::NoTransforms),
        animated: false,
    })
}

/// The compressed data of a scan: up to the next marker, or to the end. Inside it a 0xFF is
/// followed by a stuffed 0x00 or is a restart marker (0xD0 to 0xD7), which belong to it.
fn entropy_coded(bytes: &[u8]) -> &[u8] {
    let mut at = 0;
    while let Some(found) = bytes[at..].iter().position(|&byte| byte == 0xFF) {
        at += found;
        match bytes.get(at + 1) {
            Some(0x00 | 0xD0..=0xD7) => at += 2,
            // A fill byte before a marker: the marker's own 0xFF is the next one.
            Some(0xFF) => at += 1,
            Some(_) => return &bytes[..at],
            None => break,
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, jpeg_segment as segment};
    use super::*;

    #[test]
    fn metadata_segments_go_and_what_draws_the_picture_stays() {
        let plain = fixtures::jpeg(16, 8);
        let mut icc = b"ICC_PROFILE\0\x01\x01".to_vec();
        icc.extend_from_slice(&[7; 20]);
        let kept = [
            segment(0xE2, &icc),
            segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01"),
        ];
        let dropped = [
            segment(0xE1, &fixtures::exif_app1(Some(1))),
            segment(
                0xE1,
                b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>secret</x:xmpmeta>",
            ),
            segment(0xED, b"Photoshop 3.0\08BIM secret"),
            segment(0xFE, b"a secret comment"),
            segment(0xE0, b"JFXX\0\x10 secret thumbnail"),
            segment(0xE2, b"MPF\0secret"),
        ];
        let mut input = plain[..2].to_vec();
        for segment in dropped.iter().chain(&kept) {
            input.extend_from_slice(segment);
        }
        input.extend_from_slice(&plain[2..]);
        input.extend_from_slice(b"appended after the end: secret");

        let stripped = strip(&input).expect("a sound JPEG");

        let mut expected = plain[..2].to_vec();
        for segment in &kept {
            expected.extend_from_slice(segment);
        }
        expected.extend_from_slice(&plain[2..]);
        assert_eq!(stripped.bytes, expected);
        assert_eq!(stripped.orientation, Orientation::NoTransforms);
    }

    #[test]
    fn the_first_exif_says_the_orientation() {
        let plain = fixtures::jpeg(16, 8);
        let mut input = plain[..2].to_vec();
        input.extend_from_slice(&segment(0xE1, &fixtures::exif_app1(Some(6))));
        input.extend_from_slice(&segment(0xE1, &fixtures::exif_app1(Some(3))));
        input.extend_from_slice(&plain[2..]);
        let stripped = strip(&input).expect("a sound JPEG");
        assert_eq!(stripped.orientation, Orientation::Rotate90);
        assert_eq!(stripped.bytes, plain);
    }

    #[test]
    fn segments_after_the_first_scan_are_read_too() {
        let plain = fixtures::jpeg(16, 8);
        let eoi = plain.len() - 2;
        let mut input = plain[..eoi].to_vec();
        input.extend_from_slice(&segment(0xFE, b"a comment between scans"));
        input.extend_from_slice(&plain[eoi..]);
        assert_eq!(strip(&input).expect("a sound JPEG").bytes, plain);
    }

    #[test]
    fn a_file_cut_before_its_scan_is_damaged_and_one_cut_within_it_is_kept() {
        let plain = fixtures::jpeg(16, 8);
        let sos = plain
            .windows(2)
            .position(|pair| pair == [0xFF, SOS])
            .expect("a scan");
        assert_eq!(strip(&plain[..sos]).map(drop), Err(Refused::Damaged));
        assert_eq!(strip(&plain[..sos + 3]).map(drop), Err(Refused::Damaged));
        let cut = plain.len() - 10;
        assert_eq!(strip(&plain[..cut]).expect("kept").bytes, &plain[..cut]);
        assert_eq!(strip(b"\xFF\xD8garbage").map(drop), Err(Refused::Damaged));
    }
}
