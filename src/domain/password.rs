use super::Invalid;

/// At least 8 characters and at most 72 bytes: bcrypt reads no further, and we never truncate.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 72;

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
}
