//! Text from the server made safe to put on a terminal. A server (or anyone between the client
//! and it, over plain http) could otherwise send escape sequences that retitle the window, clear
//! the screen, forge lines or reorder what is shown; every string the client may print or draw
//! is decoded through here, so no part of the client can forget it.

use serde::{Deserialize, Deserializer};

/// The text with every line break and tab turned into a space (a name, a title or a status is
/// shown on one line; a message's lines go through `printable_text`), and every other control character (C0, DEL, C1, so ESC and CSI) and every bidi
/// control (overrides, embeddings, isolates, marks) replaced with U+FFFD: shown, not removed,
/// so that "ali\u{0}ce" cannot pass for "alice".
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => ' ',
            c if c.is_control() || is_bidi_control(c) => char::REPLACEMENT_CHARACTER,
            c => c,
        })
        .collect()
}

/// Like `printable`, but a message's line breaks (CR LF, CR, NEL, LS, PS) are kept, each as
/// one '\n', for the interface to start a new row at: the only control character left in it.
pub fn printable_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    text.split(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// `#[serde(deserialize_with = "printable::string")]`
pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    String::deserialize(deserializer).map(|text| printable(&text))
}

/// `#[serde(deserialize_with = "printable::text")]`: a message, its lines kept.
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    String::deserialize(deserializer).map(|text| printable_text(&text))
}

/// `#[serde(deserialize_with = "printable::strings")]`
pub fn strings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Vec::<String>::deserialize(deserializer)
        .map(|texts| texts.iter().map(|text| printable(text)).collect())
}

/// `strings`, for a list that may be left out (with `#[serde(default)]`).
pub fn some_strings<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    strings(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_kept_as_it_is() {
        for text in ["Kitchen", "Café ☕ — 5 €", "שלום עולם", "日本語"] {
            assert_eq!(printable(text), text);
        }
    }

    #[test]
    fn escape_sequences_lose_their_escape() {
        assert_eq!(printable("\u{1b}[2Jhi"), "\u{fffd}[2Jhi");
        assert_eq!(
            printable("\u{9b}31m\u{7f}\u{0}"),
            "\u{fffd}31m\u{fffd}\u{fffd}"
        );
    }

    #[test]
    fn line_breaks_and_tabs_become_spaces() {
        assert_eq!(printable("a\r\nb\tc\u{2028}d\u{85}e"), "a  b c d e");
    }

    #[test]
    fn a_messages_line_breaks_are_kept_as_newlines_and_nothing_else_is() {
        assert_eq!(
            printable_text("a\r\nb\rc\u{2028}d\ne\tf\u{1b}[2J"),
            "a\nb\nc\nd\ne f\u{fffd}[2J"
        );
    }

    #[test]
    fn bidi_controls_are_shown_as_replacement_characters() {
        assert_eq!(
            printable("abc\u{202e}fed\u{2066}"),
            "abc\u{fffd}fed\u{fffd}"
        );
    }
}
