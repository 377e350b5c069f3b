use super::{Invalid, has_visible};

/// 3 to 32 ASCII letters, digits, `_`, `.` or `-`. Unique by `key()` (the schema enforces it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 32;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        let len = name.chars().count();
        // A blank name and one of invisible characters are refused alike.
        if !has_visible(name) || !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(Invalid(format!(
                "A username has {} to {} characters.",
                Self::MIN_LEN,
                Self::MAX_LEN
            )));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(Invalid(
                "A username may contain only letters, digits, '_', '.' and '-'.".into(),
            ));
        }
        // Or the server's commands would read it as a flag (`users disable --help`).
        if name.starts_with('-') {
            return Err(Invalid("A username may not start with '-'.".into()));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form stored under the schema's UNIQUE index: the same rule as room names'
    /// (`name_key`), which for ASCII names is their lower case.
    pub fn key(&self) -> String {
        super::name_key(&self.0)
    }
}

/// What someone typed as their username to log in: trimmed, and no longer than a username can
/// be (the schema holds every account to it): a longer one is no account's name, refused
/// before any work. Not checked further, so that a name that an earlier rule allowed still
/// logs in, and a short or odd one fails like any unknown name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginName(String);

impl LoginName {
    pub fn parse(input: &str) -> Option<Self> {
        let name = input.trim();
        // Bytes first: a long input is not counted char by char.
        let fits = name.len() <= 4 * Username::MAX_LEN && name.chars().count() <= Username::MAX_LEN;
        fits.then(|| Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What finds the account and counts its failed logins: every spelling that finds the
    /// same account ("ALICE", full-width "ａｌｉｃｅ") shares one counter.
    pub fn key(&self) -> String {
        super::name_key(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_name_is_refused_only_when_no_account_could_have_it() {
        assert_eq!(LoginName::parse(" bob ").unwrap().as_str(), "bob");
        assert!(LoginName::parse(&"x".repeat(32)).is_some());
        assert!(LoginName::parse(&"é".repeat(32)).is_some(), "no other rule");
        assert!(LoginName::parse(&"x".repeat(33)).is_none());
        assert!(LoginName::parse(&"x".repeat(15_000)).is_none());
        assert!(
            LoginName::parse("ab").is_some(),
            "fails like an unknown name"
        );
    }

    #[test]
    fn look_alike_login_names_share_the_accounts_key() {
        let key = |name| LoginName::parse(name).unwrap().key();
        let alice = Username::parse("alice").unwrap().key();
        for name in [
            "ALICE",
            "\u{FF41}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}",
            "ali\u{AD}ce",
        ] {
            assert_eq!(key(name), alice, "{name:?}");
        }
    }

    #[test]
    fn accepts_letters_digits_and_the_three_marks() {
        for ok in ["abc", "Alice_01", "a.b-c", &"x".repeat(32)] {
            assert_eq!(Username::parse(ok).map(|u| u.0), Ok(ok.to_owned()));
        }
    }

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(Username::parse("  bob  ").unwrap().as_str(), "bob");
    }

    #[test]
    fn refuses_too_short_or_too_long_names() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("").is_err());
        assert!(Username::parse(&"x".repeat(33)).is_err());
    }

    #[test]
    fn refuses_a_name_of_invisible_characters_like_a_blank_one() {
        let blank = Username::parse("").unwrap_err();
        for invisible in [
            "\u{200B}\u{200B}\u{200B}",
            "\u{3164}\u{3164}\u{3164}",
            "\u{2800}\u{2800}\u{2800}",
        ] {
            assert_eq!(
                Username::parse(invisible),
                Err(blank.clone()),
                "{invisible:?}"
            );
        }
    }

    #[test]
    fn the_key_ignores_letter_case() {
        let key = |name| Username::parse(name).unwrap().key();
        assert_eq!(key("Alice"), key("aLICE"));
        assert_ne!(key("alice"), key("alice_"));
    }

    #[test]
    fn refuses_spaces_symbols_and_non_ascii_letters() {
        for bad in ["a b", "al!ce", "<script>", "zoë", "al\0ce", "tab\there"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_a_leading_dash_which_commands_would_take_for_a_flag() {
        for bad in ["--help", "-bob", " -bob"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Username::parse("bob-").is_ok() && Username::parse("b-ob").is_ok());
    }
}
