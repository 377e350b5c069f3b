//! A GIF's metadata taken out block by block: comment, plain text and unknown extensions, and
//! application extensions (XMP, a program's own data) but the loop count (NETSCAPE2.0,
//! ANIMEXTS1.0) and the ICC profile (ICCRGBG1012). Images and their graphic controls (timing,
//! transparency) are copied whole. Whatever follows the trailer goes. GIF has no EXIF, so no
//! orientation.

use image::ImageFormat;
use image::metadata::Orientation;

use super::{Refused, Stripped};

const IMAGE: u8 = 0x2C;
const EXTENSION: u8 = 0x21;
const TRAILER: u8 = 0x3B;
const GRAPHIC_CONTROL: u8 = 0xF9;
const APPLICATION: u8 = 0xFF;
/// The application extensions that change how it plays or looks.
const KEPT_APPLICATIONS: [&[u8; 11]; 3] = [b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012"];

pub(super) fn strip(bytes: &[u8]) -> Result<Stripped, Refused> {
    if !(bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")) {
        return Err(Refused::Damaged);
    }
    // The logical screen descriptor, then its global colour table.
    let &packed = bytes.get(10).ok_or(Refused::Damaged)?;
    let mut at = 13 + color_table(packed);
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..at).ok_or(Refused::Damaged)?);
    let mut frames = 0_usize;
    loop {
        match bytes.get(at) {
            Some(&TRAILER) => {
                out.push(TRAILER);
                break;
            }
            Some(&IMAGE) => {
                // The descriptor (its separator, position, size and flags), its local colour
                // table, the LZW code size, then the data in sub-blocks.
                let &packed = bytes.get(at + 9).ok_or(Refused::Damaged)?;
                let data = at + 10 + color_table(packed) + 1;
                let end = sub_blocks(bytes, data)?;
                out.extend_from_slice(&bytes[at..end]);
                frames += 1;
                at = end;
            }
            Some(&EXTENSION) => {
                let &label = bytes.get(at + 1).ok_or(Refused::Damaged)?;
                let end = sub_blocks(bytes, at + 2)?;
                let keep = match label {
                    GRAPHIC_CONTROL => true,
                    APPLICATION => bytes.get(at + 2..at + 14).is_some_and(|id| {
                        id[0] == 11 && KEPT_APPLICATIONS.iter().any(|kept| kept[..] == id[1..])
                    }),
                    _ => false,
                };
                if keep {
                    out.extend_from_slice(&bytes[at..end]);
                }
                at = end;
            }
            // Cut between blocks, after an image: it shows what it has, as browsers do.
            None if frames > 0 => break,
            _ => return Err(Refused::Damaged),
        }
    }
    Ok(Stripped {
        format: ImageFormat::Gif,
        bytes: out,
        orientation: Orientation::NoTransforms,
        animated: frames > 1,
    })
}

/// The bytes of the colour table a descriptor's packed field announces.
fn color_table(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// Where a run of sub-blocks starting at `at` ends, after its empty terminator.
fn sub_blocks(bytes: &[u8], mut at: usize) -> Result<usize, Refused> {
    loop {
        let &size = bytes.get(at).ok_or(Refused::Damaged)?;
        at += 1 + usize::from(size);
        if size == 0 {
            return Ok(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn application(id: &[u8; 11], data: &[u8]) -> Vec<u8> {
        let mut block = vec![EXTENSION, APPLICATION, 11];
        block.extend_from_slice(id);
        block.push(u8::try_from(data.len()).expect("one sub-block"));
        block.extend_from_slice(data);
        block.push(0);
        block
    }

    #[test]
    fn comments_and_foreign_applications_go_and_the_loop_and_timing_stay() {
        let plain = fixtures::gif(&[[255, 0, 0, 255]], 8, 4);
        let header = 13 + color_table(plain[10]);
        let kept = [application(b"NETSCAPE2.0", &[1, 0, 0])];
        let dropped = [
            vec![
                EXTENSION, 0xFE, 14, b'a', b' ', b's', b'e', b'c', b'r', b'e', b't', 0, 0, 0, 0, 0,
                0, 0,
            ],
            application(b"XMP DataXMP", b"<x:xmpmeta>secret</x:xmpmeta>"),
            vec![
                EXTENSION, 0x01, 12, 0, 0, 0, 0, 8, 8, 8, 8, 8, 8, 1, 0, 2, b's', b'e', 0,
            ],
        ];
        let mut input = plain[..header].to_vec();
        for block in dropped.iter().chain(&kept) {
            input.extend_from_slice(block);
        }
        input.extend_from_slice(&plain[header..]);
        input.extend_from_slice(b"after the trailer: secret");

        let stripped = strip(&input).expect("a sound GIF");

        let mut expected = plain[..header].to_vec();
        for block in &kept {
            expected.extend_from_slice(block);
        }
        expected.extend_from_slice(&plain[header..]);
        assert_eq!(stripped.bytes, expected);
        assert!(!stripped.animated);
    }

    #[test]
    fn frames_are_counted_and_a_file_cut_within_a_block_is_damaged() {
        let animated = fixtures::gif(&[[255, 0, 0, 255], [0, 0, 255, 255]], 8, 4);
        assert!(strip(&animated).expect("sound").animated);
        assert_eq!(
            strip(&animated[..animated.len() - 3]).map(drop),
            Err(Refused::Damaged)
        );
        assert_eq!(
            strip(b"GIF89a\x01\0\x01\0\0\0\0").map(drop),
            Err(Refused::Damaged)
        );
        assert_eq!(
            strip(b"GIF89a\x01\0\x01\0\0\0\0\x3B")
                .expect("empty")
                .bytes
                .len(),
            14
        );
    }
}
