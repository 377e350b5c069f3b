/// 1 to 2000 characters after trimming, at least one of which shows (see `has_visible`); no
/// control characters but tab and line breaks.
use super::has_visible;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageTextError {
    Empty,
    TooLong,
    ControlCharacter,
}

impl MessageText {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(input: &str) -> Result<Self, MessageTextError> {
        let text = input.trim();
        if !has_visible(text) {
            return Err(MessageTextError::Empty);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(MessageTextError::TooLong);
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(MessageTextError::ControlCharacter);
        }
        Ok(Self(text.to_owned()))
    }

    /// What someone writes with a file: the same rules, but it may be empty.
    pub fn caption(input: &str) -> Result<Self, MessageTextError> {
        match Self::parse(input) {
            Err(MessageTextError::Empty) => Ok(Self(String::new())),
            parsed => parsed,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many characters of a message a reply quotes.
pub const EXCERPT_CHARS: usize = 100;

/// The start of a message's text as a reply quotes it: on one line, at most `EXCERPT_CHARS`.
/// The server's quotes and the terminal client's, when it follows an edit, are cut alike.
pub fn excerpt(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(EXCERPT_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caption_may_be_empty_but_keeps_the_other_rules() {
        assert_eq!(MessageText::caption("  ").unwrap().as_str(), "");
        assert_eq!(MessageText::caption(" hi ").unwrap().as_str(), "hi");
        assert_eq!(
            MessageText::caption("a\u{7}b"),
            Err(MessageTextError::ControlCharacter)
        );
    }

    #[test]
    fn trims_the_text() {
        assert_eq!(MessageText::parse("  hi\n").unwrap().as_str(), "hi");
    }

    #[test]
    fn refuses_whitespace_only_text_as_empty() {
        assert_eq!(MessageText::parse(" \n\t "), Err(MessageTextError::Empty));
        assert_eq!(MessageText::parse(""), Err(MessageTextError::Empty));
    }

    #[test]
    fn refuses_text_of_invisible_characters_as_empty() {
        for blank in [
            "\u{200B}",
            "\u{2800}\u{2800}",
            "\u{3164}",
            " \u{FEFF} \u{301}",
        ] {
            assert_eq!(
                MessageText::parse(blank),
                Err(MessageTextError::Empty),
                "{blank:?}"
            );
        }
        assert!(MessageText::parse("\u{200B}hi").is_ok());
    }

    #[test]
    fn refuses_nul_and_other_control_characters_but_keeps_line_breaks() {
        assert_eq!(
            MessageText::parse("a\0b"),
            Err(MessageTextError::ControlCharacter)
        );
        assert_eq!(
            MessageText::parse("bell\u{7}"),
            Err(MessageTextError::ControlCharacter)
        );
        assert!(MessageText::parse("line one\r\nline two\tend").is_ok());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(MessageText::parse(&"é".repeat(2000)).is_ok());
        assert_eq!(
            MessageText::parse(&"x".repeat(2001)),
            Err(MessageTextError::TooLong)
        );
    }
}
