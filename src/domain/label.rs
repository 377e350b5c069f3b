//! The name someone gives a thing of theirs that only they and their room read: an API token
//! ("CI deploys"), an incoming webhook ("Build bot").

use super::Invalid;

/// The most characters a label may have (the tables check it too).
pub const MAX_CHARS: usize = 64;

/// Trimmed, 1 to `MAX_CHARS` characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label(String);

impl Label {
    pub fn parse(given: &str) -> Result<Self, Invalid> {
        let name = given.trim();
        if name.is_empty() {
            return Err(Invalid("Give it a name.".into()));
        }
        if name.chars().count() > MAX_CHARS {
            return Err(Invalid(format!(
                "A name is at most {MAX_CHARS} characters."
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(Invalid(
                "A name cannot hold control characters (a line break, a tab).".into(),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed() {
        assert_eq!(
            Label::parse("  CI deploys ").unwrap().as_str(),
            "CI deploys"
        );
    }

    #[test]
    fn empty_and_blank_names_are_refused() {
        assert!(Label::parse("").is_err());
        assert!(Label::parse("   ").is_err());
    }

    #[test]
    fn sixty_four_characters_are_allowed_and_sixty_five_are_not() {
        assert!(Label::parse(&"é".repeat(64)).is_ok());
        assert!(Label::parse(&"é".repeat(65)).is_err());
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(Label::parse("a\nb").is_err());
        assert!(Label::parse("a\u{7}b").is_err());
    }
}
