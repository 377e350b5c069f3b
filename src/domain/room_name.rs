use super::Invalid;

/// 1 to 64 characters after trimming, no control characters. Unique ignoring case: `key()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        if name.is_empty() {
            return Err(Invalid("Give the room a name.".into()));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(Invalid(format!(
                "A room name has at most {} characters.",
                Self::MAX_CHARS
            )));
        }
        if name
            .chars()
            .any(|c| c.is_control() || is_invisible_format(c))
        {
            return Err(Invalid(
                "A room name cannot contain control or invisible characters.".into(),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form stored under the schema's UNIQUE constraint: "Café" and "CAFÉ" are one name.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Characters that change how the text around them reads without showing themselves: bidi
/// overrides and isolates, zero-width space, word joiners, the byte order mark. Joiners
/// (U+200C, U+200D) stay: some scripts and emoji need them.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_the_name_as_typed() {
        assert_eq!(
            RoomName::parse("  Book Club ").unwrap().as_str(),
            "Book Club"
        );
    }

    #[test]
    fn accepts_one_to_sixty_four_characters_of_any_script() {
        assert!(RoomName::parse("a").is_ok());
        assert!(RoomName::parse(&"ü".repeat(64)).is_ok());
        assert!(RoomName::parse("日本語の部屋").is_ok());
    }

    #[test]
    fn refuses_empty_blank_and_too_long_names() {
        assert!(RoomName::parse("").is_err());
        assert!(RoomName::parse(" \t ").is_err());
        assert!(RoomName::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn refuses_control_characters() {
        assert!(RoomName::parse("a\u{0}b").is_err());
        assert!(RoomName::parse("a\nb").is_err());
        assert!(RoomName::parse("a\u{7f}b").is_err());
    }

    #[test]
    fn refuses_bidi_overrides_and_invisible_characters_but_keeps_emoji_joiners() {
        assert!(RoomName::parse("abc\u{202E}txt.exe").is_err());
        assert!(RoomName::parse("a\u{200B}b").is_err());
        assert!(RoomName::parse("family \u{1F468}\u{200D}\u{1F469}").is_ok());
    }

    #[test]
    fn key_ignores_case_beyond_ascii() {
        let a = RoomName::parse("Café").unwrap();
        let b = RoomName::parse("CAFÉ").unwrap();
        assert_eq!(a.key(), b.key());
    }
}
