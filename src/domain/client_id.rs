use super::Invalid;

/// A client's name for a message it sends, so that a retry is recognised: 1 to 64 ASCII
/// letters, digits, `-` or `_` (a UUID fits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let valid = !input.is_empty()
            && input.len() <= Self::MAX_LEN
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(Invalid(format!(
                "A client_id has 1 to {} letters, digits, '-' or '_'.",
                Self::MAX_LEN
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_uuid() {
        assert!(ClientId::parse("0b9e7c1e-3c55-4c43-9d1e-4d2a8e7f1a2b").is_ok());
    }

    #[test]
    fn refuses_empty_long_or_odd_keys() {
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse(&"a".repeat(65)).is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse("ключ").is_err());
    }
}
