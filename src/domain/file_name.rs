//! An uploaded file's name, kept for display and download only: never a path, never trusted.

/// The longest name kept, in bytes.
pub const MAX_BYTES: usize = 255;

/// A file's name as the client gave it, cut to its last path part (either slash), without
/// control characters, trimmed, at most `MAX_BYTES` bytes (cut at a character's edge, the
/// extension kept where it fits). An empty result is "file".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    pub fn parse(given: &str) -> Self {
        let last = given.rsplit(['/', '\\']).next().unwrap_or_default();
        let clean: String = last.chars().filter(|c| !c.is_control()).collect();
        let clean = clean.trim();
        if clean.is_empty() || clean == "." || clean == ".." {
            return Self("file".to_owned());
        }
        if clean.len() <= MAX_BYTES {
            return Self(clean.to_owned());
        }
        // Keep a short extension ("….png"), cut the stem.
        let extension = clean
            .rfind('.')
            .map(|dot| &clean[dot..])
            .filter(|ext| ext.len() <= 16);
        let room = MAX_BYTES - extension.map_or(0, str::len);
        let mut cut = room;
        while !clean.is_char_boundary(cut) {
            cut -= 1;
        }
        Self(format!(
            "{}{}",
            clean[..cut].trim_end(),
            extension.unwrap_or("")
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_part_of_a_path_is_kept() {
        assert_eq!(FileName::parse("../../etc/passwd").as_str(), "passwd");
        assert_eq!(
            FileName::parse("C:\\Users\\ann\\photo.jpg").as_str(),
            "photo.jpg"
        );
        assert_eq!(FileName::parse("dir/").as_str(), "file");
        assert_eq!(FileName::parse("..").as_str(), "file");
    }

    #[test]
    fn control_characters_go_and_an_empty_name_becomes_file() {
        assert_eq!(
            FileName::parse("a\nb\r\u{0}c\u{7f}.txt").as_str(),
            "abc.txt"
        );
        assert_eq!(FileName::parse("  ").as_str(), "file");
        assert_eq!(FileName::parse("").as_str(), "file");
    }

    #[test]
    fn a_long_name_is_cut_to_255_bytes_at_a_character_edge_keeping_its_extension() {
        let long = format!("{}.png", "é".repeat(300));
        let name = FileName::parse(&long);
        assert!(name.as_str().len() <= MAX_BYTES);
        assert!(name.as_str().ends_with(".png"));
        assert!(name.as_str().starts_with("éé"));
    }
}
