//! Whether text shows anything: the blank check that messages, room names and usernames share.

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, GeneralCategoryGroup};
use icu_properties::{CodePointMapData, CodePointSetData};

/// Whether at least one character of `text` shows on its own. Not shown: white space, control
/// and format characters, every default-ignorable code point (zero-width space and joiners,
/// word joiners and invisible operators U+2060–U+2064, the byte order mark, U+180E, variation
/// selectors, tags, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0...), combining marks
/// with nothing to sit on, unassigned code points, and the blank braille pattern U+2800, which
/// is a symbol that draws no dot. Text made only of these looks blank, and is refused as blank.
pub fn has_visible(text: &str) -> bool {
    text.chars().any(shows)
}

fn shows(c: char) -> bool {
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    let hidden = GeneralCategoryGroup::Mark
        .union(GeneralCategoryGroup::Control)
        .union(GeneralCategoryGroup::Format)
        .union(GeneralCategoryGroup::Unassigned)
        .union(GeneralCategoryGroup::Separator);
    !(c.is_whitespace() || ignorable.contains(c) || hidden.contains(category) || c == BRAILLE_BLANK)
}

/// BRAILLE PATTERN BLANK: a symbol (So) like its 255 siblings, but with no dot raised.
const BRAILLE_BLANK: char = '\u{2800}';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_made_only_of_invisible_characters_shows_nothing() {
        for blank in [
            "",
            " \t\n\r",
            "\u{200B}",
            "\u{2800}\u{2800}\u{2800}",
            "\u{3164}",
            "\u{115F}\u{1160}",
            "\u{FFA0}",
            "\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}",
            "\u{FEFF}",
            "\u{180E}",
            "\u{200C}\u{200D}",
            "\u{FE0F}\u{FE00}",
            "\u{E0001}\u{E0067}\u{E007F}",
            "\u{AD}\u{34F}",
            "\u{301}\u{308}\u{20DD}",
            "\u{202E}\u{2066}",
            "\u{A0}\u{2003}\u{3000}\u{2028}\u{2029}",
            "\u{E0100}",
            "\u{1D173}",
            "\u{378}",
            " \u{200B} \u{2800} \u{3164} ",
        ] {
            assert!(!has_visible(blank), "{blank:?}");
        }
    }

    #[test]
    fn one_character_that_shows_is_enough() {
        for shown in [
            "a",
            ".",
            "\u{200B}x\u{200B}",
            "\u{2801}",
            "e\u{301}",
            "한",
            "日本",
            "🎉",
            "\u{1F468}\u{200D}\u{1F469}",
            "\u{2764}\u{FE0F}",
            "\u{E000}",
            "_",
        ] {
            assert!(has_visible(shown), "{shown:?}");
        }
    }
}
