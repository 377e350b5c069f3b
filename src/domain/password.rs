use std::sync::LazyLock;

use super::{Invalid, Username};

/// At least 8 characters and at most 72 bytes: bcrypt reads no further, and we never truncate.
/// A new password must also pass `parse_new`'s rules; the stored ones are never re-checked, so
/// nobody is locked out when the rules grow.
pub struct Password(String);

/// The most common passwords (data/README.md says where they come from and under which
/// licences): lower-cased, sorted by byte order, one a line. Shipped inside the binary so that
/// the rule holds wherever the server runs.
static COMMON: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .collect()
});

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 72;

    /// The length rule only: what bcrypt can take.
    pub fn parse(input: String) -> Result<Self, Invalid> {
        if input.chars().count() < Self::MIN_CHARS {
            return Err(Invalid(format!(
                "A password has at least {} characters.",
                Self::MIN_CHARS
            )));
        }
        if input.len() > Self::MAX_BYTES {
            return Err(Invalid(format!(
                "A password has at most {} bytes (fewer characters if they are not plain ASCII).",
                Self::MAX_BYTES
            )));
        }
        Ok(Self(input))
    }

    /// A password chosen now (registration, and any change of password): the length rule,
    /// then not one of the most common passwords, and not built from the username. Guessers
    /// try exactly these first, whatever the login limits allow them. The name is the account's
    /// as stored, which an older rule may have allowed (it need not parse as a new `Username`).
    pub fn parse_new(input: String, username: &str) -> Result<Self, Invalid> {
        let password = Self::parse(input)?;
        let lower = password.0.to_lowercase();
        if COMMON.binary_search(&lower.as_str()).is_ok() {
            return Err(Invalid(
                "That password is one of the most common ones, which are guessed first. \
                 Please choose another."
                    .into(),
            ));
        }
        // Never refused for a letter or two, should an older rule have allowed so short a name.
        let name = username.to_lowercase();
        let backwards: String = name.chars().rev().collect();
        let long_enough = name.chars().count() >= Username::MIN_LEN;
        if long_enough && (lower.contains(&name) || lower.contains(&backwards)) {
            return Err(Invalid(
                "A password may not contain the username, forwards or backwards.".into(),
            ));
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Never print a password, not even in a debug log.
impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> &'static str {
        "Alice"
    }

    #[test]
    fn accepts_eight_characters_up_to_seventy_two_bytes() {
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("x".repeat(72)).is_ok());
    }

    #[test]
    fn refuses_fewer_than_eight_characters() {
        assert!(Password::parse("1234567".into()).is_err());
        assert!(Password::parse(String::new()).is_err());
    }

    #[test]
    fn counts_the_limit_in_bytes_not_characters() {
        // 36 two-byte characters are 72 bytes: fine; one more is 74 bytes.
        assert!(Password::parse("é".repeat(36)).is_ok());
        assert!(Password::parse("é".repeat(37)).is_err());
        assert!(Password::parse("x".repeat(73)).is_err());
    }

    #[test]
    fn never_shows_itself_in_debug_output() {
        let password = Password::parse("hunter2hunter2".into()).unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
    }

    #[test]
    fn a_new_password_may_not_be_a_common_one_in_any_letter_case() {
        for common in [
            "password1",
            "PassWord1",
            "12345678",
            "iloveyou",
            "qwertyuiop",
        ] {
            let refused = Password::parse_new(common.into(), alice()).unwrap_err();
            assert!(refused.0.contains("most common"), "{common}: {refused}");
        }
    }

    #[test]
    fn a_new_password_may_not_contain_the_username_forwards_or_backwards() {
        for built in ["alice2024!", "xxALICExx", "ecila12345", "my name is Alice"] {
            let refused = Password::parse_new(built.into(), alice()).unwrap_err();
            assert!(refused.0.contains("username"), "{built}: {refused}");
        }
    }

    #[test]
    fn a_new_password_still_follows_the_length_rule() {
        assert!(Password::parse_new("x7!q".into(), alice()).is_err());
        assert!(Password::parse_new("é".repeat(37), alice()).is_err());
    }

    #[test]
    fn an_uncommon_password_without_the_username_is_accepted() {
        for fine in ["correct horse battery", "tarte tatin au four", "Zq8#mLw2vR"] {
            assert!(Password::parse_new(fine.into(), alice()).is_ok(), "{fine}");
        }
    }

    #[test]
    fn the_shipped_list_is_long_sorted_lower_case_and_searchable() {
        assert!(COMMON.len() >= 10_000, "{} passwords", COMMON.len());
        assert!(COMMON.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert!(COMMON.iter().all(|p| *p == p.to_lowercase()));
        assert!(
            COMMON
                .iter()
                .all(|p| Password::parse((*p).to_owned()).is_ok()),
            "no entry the length rule would refuse anyway"
        );
    }
}
