//! A reaction to a message: an emoji, or a short word as Campfire's "boosts" allow.

use super::{Invalid, has_visible};

/// 1 to 16 characters after trimming, at least one of which shows, and no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction(String);

impl Reaction {
    pub const MAX_CHARS: usize = 16;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let emoji = input.trim();
        if !has_visible(emoji) {
            return Err(Invalid("A reaction cannot be blank.".into()));
        }
        if emoji.chars().count() > Self::MAX_CHARS {
            return Err(Invalid(format!(
                "A reaction is at most {} characters.",
                Self::MAX_CHARS
            )));
        }
        if emoji.chars().any(char::is_control) {
            return Err(Invalid("A reaction cannot hold control characters.".into()));
        }
        Ok(Self(emoji.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_and_short_words_are_reactions() {
        for ok in ["👍", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "+1", "ship it", " ✅ "]
        {
            assert!(Reaction::parse(ok).is_ok(), "{ok:?}");
        }
        assert_eq!(Reaction::parse(" ✅ ").unwrap().as_str(), "✅");
    }

    #[test]
    fn blank_long_and_control_characters_are_refused() {
        for bad in ["", "   ", "\u{200B}", "a\u{7}", "x\ny", &"a".repeat(17)] {
            assert!(Reaction::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Reaction::parse(&"a".repeat(16)).is_ok());
    }
}
