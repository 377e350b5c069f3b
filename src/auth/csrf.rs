//! CSRF tokens: one per session, carried by every form (hidden field) and every unsafe JSON
//! request (header). `middleware::csrf` checks them.

use actix_session::Session;
use rand::distr::{Alphanumeric, SampleString};

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
