//! Where a bot's outgoing webhook is delivered: an absolute http or https URL.

use super::Invalid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Longer addresses are refused: one that long is a mistake, and it is kept in a row.
    pub const MAX_LEN: usize = 2000;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let input = input.trim();
        let refused = || {
            Invalid(format!(
                "A webhook URL must be an absolute http:// or https:// address of at most {} \
                 characters.",
                Self::MAX_LEN
            ))
        };
        if input.len() > Self::MAX_LEN {
            return Err(refused());
        }
        let url = url::Url::parse(input).map_err(|_| refused())?;
        let web = matches!(url.scheme(), "http" | "https");
        // user:password@ would be kept in the clear and shown on /admin.
        let plain = url.username().is_empty() && url.password().is_none();
        if !web || !plain || url.host_str().is_none_or(str::is_empty) {
            return Err(refused());
        }
        Ok(Self(url.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_web_addresses_are_webhook_urls() {
        for ok in [
            "http://127.0.0.1:8000/hook",
            "https://bots.example.org/echo?x=1",
            "  https://example.org  ",
        ] {
            assert!(WebhookUrl::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            WebhookUrl::parse("https://example.org").unwrap().as_str(),
            "https://example.org/"
        );
    }

    #[test]
    fn other_schemes_relative_paths_and_credentials_are_refused() {
        for bad in [
            "",
            "/hook",
            "example.org/hook",
            "ftp://example.org/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:secret@example.org/",
            "http://",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.org/{}", "a".repeat(WebhookUrl::MAX_LEN));
        assert!(WebhookUrl::parse(&long).is_err());
    }
}
