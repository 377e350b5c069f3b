use super::name_key::{mixes_scripts, name_key};
use super::{Invalid, has_visible};

/// 1 to 64 characters after trimming, one at least visible (see `has_visible`); nothing
/// invisible or that breaks a line; no look-alike mix of scripts; not named like a direct
/// conversation. Unique by `key()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        if !has_visible(name) {
            return Err(Invalid("Give the room a name.".into()));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(Invalid(format!(
                "A room name has at most {} characters.",
                Self::MAX_CHARS
            )));
        }
        if name.chars().any(|c| c.is_control() || is_invisible(c)) {
            return Err(Invalid(
                "A room name cannot contain control, invisible or line-breaking characters.".into(),
            ));
        }
        if mixes_scripts(name) {
            return Err(Invalid(
                "A room name cannot mix alphabets whose letters look alike, such as Latin and \
                 Cyrillic."
                    .into(),
            ));
        }
        let key = name_key(name);
        if key.starts_with('@') || DIRECT_LOOKALIKES.contains(&key.as_str()) {
            return Err(Invalid(
                "That name is kept for direct conversations: please choose another.".into(),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form stored under the schema's UNIQUE constraint (see `name_key`): "Café" and
    /// "CAFÉ", "Straße" and "STRASSE", "Book  Club" and "Book Club" are one name.
    pub fn key(&self) -> String {
        name_key(&self.0)
    }
}

/// Keys of names that the pages and the terminal client give direct conversations.
const DIRECT_LOOKALIKES: [&str; 2] = ["direct conversation", "direct"];

/// Characters that change how the text around them reads without showing themselves, or that
/// break the line: every default-ignorable code point (soft hyphen, U+034F, bidi controls,
/// zero-width space, word joiners, the byte order mark, tag characters...), and the line and
/// paragraph separators. Joiners (U+200C, U+200D) and the emoji variation selectors stay: some
/// scripts and emoji need them, and the key drops them anyway.
fn is_invisible(c: char) -> bool {
    let ignorable =
        icu_properties::CodePointSetData::new::<icu_properties::props::DefaultIgnorableCodePoint>();
    let needed = matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}');
    (ignorable.contains(c) && !needed) || matches!(c, '\u{2028}' | '\u{2029}')
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
    fn refuses_names_of_invisible_characters_as_blank() {
        for blank in [
            "\u{200B}",
            "\u{2800}",
            "\u{3164}\u{3164}",
            "\u{301}",
            "\u{200D}",
        ] {
            let refused = RoomName::parse(blank).unwrap_err();
            assert_eq!(refused.0, "Give the room a name.", "{blank:?}");
        }
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
    fn refuses_what_hides_or_breaks_a_line() {
        for bad in [
            "Kit\u{AD}chen",
            "Kitchen\u{34F}",
            "Book\u{2028}Club",
            "Book\u{2029}Club",
            "a\u{180E}b",
            "a\u{115F}b",
            "flag\u{E0067}",
        ] {
            assert!(RoomName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(RoomName::parse("heart \u{2764}\u{FE0F}").is_ok());
    }

    #[test]
    fn refuses_a_look_alike_mix_of_scripts() {
        let err = RoomName::parse("Gard\u{435}n").unwrap_err();
        assert!(err.0.contains("Cyrillic"), "{err}");
        assert!(RoomName::parse("Сад").is_ok());
    }

    #[test]
    fn refuses_names_that_direct_conversations_go_by() {
        for bad in [
            "@bob",
            "＠bob",
            "Direct conversation",
            "DIRECT  conversation",
        ] {
            assert!(RoomName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(RoomName::parse("bob@home").is_ok());
    }

    #[test]
    fn key_ignores_case_beyond_ascii() {
        let a = RoomName::parse("Café").unwrap();
        let b = RoomName::parse("CAFÉ").unwrap();
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn names_a_reader_could_take_for_one_another_share_a_key() {
        for (a, b) in [
            ("Straße", "STRASSE"),
            ("Caf\u{E9}", "Cafe\u{301}"),
            ("Book  Club", "Book Club"),
        ] {
            let (a, b) = (RoomName::parse(a).unwrap(), RoomName::parse(b).unwrap());
            assert_eq!(a.key(), b.key(), "{a:?} and {b:?}");
        }
    }
}
