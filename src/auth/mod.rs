//! Who is asking: sessions, the `CurrentUser` extractor, password hashing and CSRF protection.

pub mod client_addr;
pub mod csrf;
pub mod password;
pub mod session_store;

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::errors::AppError;
use crate::models::User;
use client_addr::Device;

/// Keys of the session state.
const USER_ID: &str = "user_id";
const USERNAME: &str = "username";
/// Present while the session's login used a one-time password not yet replaced.
const MUST_CHANGE_PASSWORD: &str = "must_change_password";
/// What the account page shows of a logged-in session: the store moves the client and agent
/// into columns of their own at login, and keeps the public id in the state too.
const PUBLIC_ID: &str = "public_id";
/// The account's credentials version the login checked (see `User::credentials_version`):
/// the store moves it into the session's row when it saves a login, and keeps it only if the
/// account still has it then.
const CREDENTIALS: &str = "credentials";
const CLIENT: &str = "client";
const AGENT: &str = "agent";

/// The logged-in user. A handler that takes one cannot run for an anonymous visitor: pages
/// redirect to /login, the API answers 401. Nor for a login with a one-time password until
/// a new one is chosen: pages redirect to /account, the API answers 403
/// `password_change_required` (see `Account`).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i32,
    pub username: String,
}

impl CurrentUser {
    pub fn from_session(session: &Session) -> Option<Self> {
        let id = session.get::<i32>(USER_ID).ok().flatten()?;
        let username = session.get::<String>(USERNAME).ok().flatten()?;
        Some(Self { id, username })
    }

    /// The logged-in user, unless their login waits for a new password (one-time password).
    pub fn settled(session: &Session) -> Option<Self> {
        Self::from_session(session).filter(|_| !session.contains_key(MUST_CHANGE_PASSWORD))
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(Bearer(user)) = req.extensions().get::<Bearer>() {
            return ready(Ok(user.clone()));
        }
        if let Some(Polling(user)) = req.extensions().get::<Polling>() {
            return ready(Ok(user.clone()));
        }
        let session = req.get_session();
        ready(match Self::from_session(&session) {
            Some(_) if session.contains_key(MUST_CHANGE_PASSWORD) => {
                Err(AppError::PasswordChangeRequired)
            }
            Some(user) => Ok(user),
            None => Err(AppError::Unauthenticated),
        })
    }
}

/// Who a request is from by its API token (`Authorization: Bearer`), as the CSRF guard found
/// it (see `middleware::csrf_guard`): on the API only, where `token_opens`.
#[derive(Debug, Clone)]
pub struct Bearer(pub CurrentUser);

/// Who a poll is from, as the session shortcut found it in the session cache without
/// actix-session (see `middleware::session_shortcut`).
#[derive(Debug, Clone)]
pub struct Polling(pub CurrentUser);

/// Where an API token stands for its user: every API call a user can make, but never
/// administration, the account's own tokens (a leaked token must not mint more, or outlive
/// its revocation), logging in or out, or registering. Nor pages: they are for browsers,
/// which have sessions.
pub fn token_opens(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/") else {
        return false;
    };
    let first = rest.split('/').next().unwrap_or_default();
    !matches!(first, "admin" | "account" | "session" | "users")
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any letter case).
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The logged-in user on their account page and its password form, the one place a login
/// with a one-time password may go before it chooses a new one.
#[derive(Debug, Clone)]
pub struct Account(pub CurrentUser);

impl FromRequest for Account {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            CurrentUser::from_session(&req.get_session())
                .map(Account)
                .ok_or(AppError::Unauthenticated),
        )
    }
}

/// An administrator of this server, checked against the database at every request, so that
/// a revoke or a disable takes effect at once. To anyone else (anonymous visitors included)
/// an administrator's page or API does not exist: 404.
#[derive(Debug, Clone)]
pub struct Administrator {
    pub id: i32,
    pub username: String,
}

impl Administrator {
    /// The administrator as the service sees any logged-in user.
    pub fn as_user(&self) -> CurrentUser {
        CurrentUser {
            id: self.id,
            username: self.username.clone(),
        }
    }
}

impl FromRequest for Administrator {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        // A login with a one-time password administers nothing until it has a new one.
        let user = CurrentUser::settled(&session);
        let db = req.app_data::<web::Data<Db>>().cloned();
        Box::pin(async move {
            let (Some(user), Some(db)) = (user, db) else {
                return Err(AppError::NotFound);
            };
            let id = user.id;
            let name = db
                .run(move |conn| Ok(User::administering(conn, id)?))
                .await?;
            name.map(|username| Administrator { id, username })
                .ok_or(AppError::NotFound)
        })
    }
}

/// Starts a logged-in session under a new key (no fixation) with a fresh CSRF token, and
/// notes where it started for the account page (the store notes when).
pub fn log_in(session: &Session, user: &User, device: &Device) -> Result<(), AppError> {
    session.renew();
    let public_id = Alphanumeric.sample_string(&mut rand::rng(), 16);
    session
        .insert(USER_ID, user.id)
        .and_then(|()| session.insert(USERNAME, &user.username))
        .and_then(|()| session.insert(PUBLIC_ID, public_id))
        .and_then(|()| session.insert(CREDENTIALS, user.credentials_version))
        .and_then(|()| match user.must_change_password {
            true => session.insert(MUST_CHANGE_PASSWORD, true),
            false => Ok(()),
        })
        .map_err(AppError::internal)?;
    note_device(session, device)?;
    csrf::rotate(session);
    Ok(())
}

/// Carries a session on under a new key and the account's new credentials (`version`), free
/// to go anywhere: a one-time password's login has chosen a new one.
pub fn renew_credentials(session: &Session, version: i32, device: &Device) -> Result<(), AppError> {
    session.renew();
    session
        .insert(CREDENTIALS, version)
        .map_err(AppError::internal)?;
    let _ = take_once(session, MUST_CHANGE_PASSWORD);
    note_device(session, device)?;
    csrf::rotate(session);
    Ok(())
}

/// Tells the store where a session (new, or renewed under a new key) comes from.
pub fn note_device(session: &Session, device: &Device) -> Result<(), AppError> {
    session
        .insert(CLIENT, device.addr.to_string())
        .and_then(|()| session.insert(AGENT, &device.agent))
        .map_err(AppError::internal)
}

/// Bytes as lower-case hex. Every request hashes its session key into a row id with it, so
/// it is written out without a `format!` per byte.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(2 * bytes.len());
    for &byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

/// What the database keeps of a secret that is shown once and then only presented (an
/// invitation's or the setup link's token, an API token, a webhook's key): its SHA-256, as
/// hex. Each has over 190 random bits, so a fast hash is enough; a password's slow one guards
/// against guessing, which these need no guard from.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// How the account page knows which of the user's sessions is the one asking.
pub fn public_id(session: &Session) -> Option<String> {
    session.get::<String>(PUBLIC_ID).ok().flatten()
}

/// Takes a one-time value (a notice to show once) out of the session, if it holds one.
/// actix-session counts any `remove` as a change, present or not, and writes a changed
/// session back: from a server whose cached copy is a moment old, that write would undo
/// what another server just wrote (the value itself, say). So the session is written only
/// when there was something to take.
pub fn take_once(session: &Session, key: &str) -> Option<String> {
    if !session.contains_key(key) {
        return None;
    }
    session.remove_as::<String>(key).and_then(Result::ok)
}

/// Ends the session: the server forgets it, so a replayed cookie is logged out.
pub fn log_out(session: &Session) {
    session.purge();
}
