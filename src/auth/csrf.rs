//! CSRF tokens: one per session, carried by every form (hidden field) and every unsafe JSON
//! request (header); and, for the login and register forms, which anonymous visitors fill in,
//! a signed token bound to a short-lived cookie (`FormTokens`), so that no visitor costs a
//! session row. `middleware::csrf_guard` checks both.

use std::sync::Arc;

use actix_session::Session;
use actix_web::HttpRequest;
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, Key, SameSite};
use hmac::{Hmac, Mac};
use rand::distr::{Alphanumeric, SampleString};
use sha2::Sha256;

use crate::clock::Clock;

/// The hidden form field and the header that carry the token.
pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
const SESSION_KEY: &str = "csrf";
/// The session's token, created on first use.
pub fn token(session: &Session) -> String {
    existing(session).unwrap_or_else(|| rotate(session))
}

pub fn existing(session: &Session) -> Option<String> {
    session.get::<String>(SESSION_KEY).ok().flatten()
}

/// Replaces the session's token (at login, so a token seen before it is worthless after).
pub fn rotate(session: &Session) -> String {
    let token = Alphanumeric.sample_string(&mut rand::rng(), 43);
    if let Err(err) = session.insert(SESSION_KEY, &token) {
        log::error!("cannot store the CSRF token in the session: {err}");
    }
    token
}

/// Tokens for the login and register forms: `{issued}.{mac}`, where the MAC (HMAC-SHA256
/// under a key derived from the cookie key) covers the issue time and a random nonce that
/// the browser holds in a cookie of its own. Another site can neither read the cookie nor
/// make a token for it, and a token stops working after `LIFETIME` seconds. Nothing is
/// stored on the server.
pub struct FormTokens {
    key: Vec<u8>,
    cookie_name: &'static str,
    secure: bool,
    clock: Arc<dyn Clock>,
}

/// The login and register forms, posted by people who have no session yet.
pub const FORM_PATHS: [&str; 2] = ["/login", "/register"];

impl FormTokens {
    /// Seconds a form token (and its cookie) lasts: long enough to fill in a form.
    pub const LIFETIME: i64 = 3600;
    const NONCE_CHARS: usize = 32;

    /// With `secure`, the cookie is `Secure` and named with the `__Host-` prefix.
    pub fn new(cookie_key: &Key, secure: bool, clock: Arc<dyn Clock>) -> Self {
        let mut derive = Hmac::<Sha256>::new_from_slice(cookie_key.signing())
            .expect("HMAC takes a key of any length");
        derive.update(b"chatroom form tokens");
        Self {
            key: derive.finalize().into_bytes().to_vec(),
            cookie_name: if secure {
                "__Host-chatroom_form"
            } else {
                "chatroom_form"
            },
            secure,
            clock,
        }
    }

    /// The token for a form page, and the cookie that goes with it (the browser's own nonce
    /// if it has one, so that two open forms both work).
    pub fn issue(&self, req: &HttpRequest) -> (String, Cookie<'static>) {
        let nonce = self
            .nonce(req)
            .unwrap_or_else(|| Alphanumeric.sample_string(&mut rand::rng(), Self::NONCE_CHARS));
        let issued = self.clock.unix_secs();
        let token = format!(
            "{issued}.{}",
            super::hex(&self.mac(&nonce, issued).finalize().into_bytes())
        );
        let cookie = Cookie::build(self.cookie_name, nonce)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Strict)
            .max_age(CookieDuration::seconds(Self::LIFETIME))
            .finish();
        (token, cookie)
    }

    /// True when `presented` was issued for this browser's cookie, less than `LIFETIME` ago.
    pub fn check(&self, req: &HttpRequest, presented: &str) -> bool {
        let Some(nonce) = self.nonce(req) else {
            return false;
        };
        let Some((issued, mac)) = presented.split_once('.') else {
            return false;
        };
        let (Ok(issued), Some(mac)) = (issued.parse::<i64>(), unhex(mac)) else {
            return false;
        };
        let age = self.clock.unix_secs() - issued;
        (0..=Self::LIFETIME).contains(&age) && self.mac(&nonce, issued).verify_slice(&mac).is_ok()
    }

    fn nonce(&self, req: &HttpRequest) -> Option<String> {
        let cookie = req.cookie(self.cookie_name)?;
        let nonce = cookie.value();
        (nonce.len() == Self::NONCE_CHARS && nonce.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| nonce.to_owned())
    }

    fn mac(&self, nonce: &str, issued: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(nonce.as_bytes());
        mac.update(b".");
        mac.update(issued.to_string().as_bytes());
        mac
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use actix_web::test::TestRequest;
    use std::time::Duration;

    fn tokens() -> (FormTokens, Arc<ManualClock>) {
        let clock = ManualClock::new();
        (
            FormTokens::new(&Key::generate(), false, clock.clone()),
            clock,
        )
    }

    #[test]
    fn a_form_token_works_with_its_own_cookie_only_and_for_an_hour() {
        let (tokens, clock) = tokens();
        let (token, cookie) = tokens.issue(&TestRequest::default().to_http_request());
        let with =
            |cookie: Cookie<'static>| TestRequest::default().cookie(cookie).to_http_request();
        assert!(tokens.check(&with(cookie.clone()), &token));

        let (_, other_cookie) = tokens.issue(&TestRequest::default().to_http_request());
        assert!(
            !tokens.check(&with(other_cookie), &token),
            "another browser's cookie"
        );
        assert!(
            !tokens.check(&TestRequest::default().to_http_request(), &token),
            "no cookie"
        );
        // The last hex digit changed (to 0, or to 1 where it was 0: a 1-in-16 chance that made
        // this test pass a "forgery" equal to the token).
        let last = if token.ends_with('0') { '1' } else { '0' };
        let forged = format!("{}{last}", &token[..token.len() - 1]);
        assert!(!tokens.check(&with(cookie.clone()), &forged));

        clock.advance(Duration::from_secs(3601));
        assert!(!tokens.check(&with(cookie), &token), "an hour later");
    }

    #[test]
    fn a_browser_keeps_its_nonce_so_two_open_forms_both_work() {
        let (tokens, _) = tokens();
        let (first, cookie) = tokens.issue(&TestRequest::default().to_http_request());
        let req = TestRequest::default()
            .cookie(cookie.clone())
            .to_http_request();
        let (second, again) = tokens.issue(&req);
        assert_eq!(again.value(), cookie.value());
        assert!(tokens.check(&req, &first) && tokens.check(&req, &second));
    }
}
