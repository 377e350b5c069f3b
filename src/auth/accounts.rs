//! Registering and logging in, shared by the HTML forms and the JSON API so that both obey
//! the same rules, limits and audit log.

use actix_session::Session;
use serde::Deserialize;

use super::CurrentUser;
use super::client_addr::ClientAddr;
use super::password::Hasher;
use super::session_store::SessionCache;
use crate::db::Db;
use crate::domain::{Password, Username};
use crate::errors::AppError;
use crate::models::session::SessionRow;
use crate::models::{ModelError, User};
use crate::throttle::Throttles;

/// What the login and registration forms (and their JSON twins) send.
#[derive(Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Why a registration did not happen, in words for the person.
pub enum Refused {
    Invalid(String),
    Taken,
}

/// Creates the account and logs the new user in. Throttled per client address; a taken name
/// is found before the password is hashed, so that it costs no hashing.
pub async fn register(
    session: &Session,
    username: &str,
    password: String,
    client: ClientAddr,
    db: &Db,
    hasher: &Hasher,
    throttles: &Throttles,
) -> Result<Result<User, Refused>, AppError> {
    let parsed = Username::parse(username).and_then(|u| {
        let password = Password::parse_new(password, &u)?;
        Ok((u, password))
    });
    let (username, password) = match parsed {
        Ok(valid) => valid,
        Err(invalid) => return Ok(Err(Refused::Invalid(invalid.0))),
    };
    if let Err(retry) = throttles.registration(client.0).await {
        log::warn!("throttled registration from {client}");
        return Err(retry.into());
    }
    let lookup = username.clone();
    if db
        .run(move |conn| Ok(User::name_taken(conn, &lookup)?))
        .await?
    {
        return Ok(Err(Refused::Taken));
    }
    let hash = match hasher.hash(password).await {
        Ok(hash) => hash,
        Err(err) => {
            throttles.registration_not_tried(client.0).await;
            if let AppError::Busy(_) = err {
                log::warn!("too busy to register {} from {client}", username.as_str());
            }
            return Err(err);
        }
    };
    match db
        .run(move |conn| Ok(User::create(conn, &username, &hash)))
        .await?
    {
        Ok(user) => {
            log::info!("registered user {} from {client}", user.username);
            super::log_in(session, &user)?;
            Ok(Ok(user))
        }
        Err(ModelError::UsernameTaken) => Ok(Err(Refused::Taken)),
        Err(other) => Err(other.into()),
    }
}

/// Checks the password and logs the user in; `None` for a wrong password or unknown user
/// alike (after the same work). Throttled per username and per client address.
pub async fn log_in(
    session: &Session,
    username: &str,
    password: String,
    client: ClientAddr,
    db: &Db,
    hasher: &Hasher,
    throttles: &Throttles,
) -> Result<Option<User>, AppError> {
    let username = username.trim().to_owned();
    // Reserved before the password is checked: while throttled, even the right one does not
    // help, and attempts sent together are counted together.
    if let Err(retry) = throttles.login_attempt(&username, client.0).await {
        log::warn!("throttled login for {username:?} from {client}");
        return Err(retry.into());
    }
    let lookup = username.clone();
    let user = db
        .run(move |conn| Ok(User::find_by_username(conn, &lookup)?))
        .await?;
    // Verify even when there is no such user, so that both failures take the same time.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = match hasher.verify(password, stored).await {
        Ok(verified) => verified,
        Err(err) => {
            throttles.login_not_tried(&username, client.0).await;
            if let AppError::Busy(_) = err {
                log::warn!("too busy to check the login for {username:?} from {client}");
            }
            return Err(err);
        }
    };
    match user {
        Some(user) if verified => {
            throttles.login_succeeded(&username, client.0).await;
            log::info!("login of {} from {client}", user.username);
            super::log_in(session, &user)?;
            Ok(Some(user))
        }
        _ => {
            log::info!("failed login for {username:?} from {client}");
            Ok(None)
        }
    }
}

/// Ends the session, and says whose it was. The user keeps their room (they come back to it
/// at the next login); the caller tells presence they are gone.
pub fn log_out(session: &Session, client: ClientAddr) -> Option<CurrentUser> {
    let user = CurrentUser::from_session(session);
    if let Some(user) = &user {
        log::info!("logout of {} from {client}", user.username);
    }
    super::log_out(session);
    user
}

/// Revokes every session of the user, this one included.
pub async fn log_out_everywhere(
    session: &Session,
    user: &CurrentUser,
    client: ClientAddr,
    db: &Db,
    sessions: &dyn SessionCache,
) -> Result<(), AppError> {
    let user_id = user.id;
    let revoked = db
        .run(move |conn| Ok(SessionRow::delete_for_user(conn, user_id)?))
        .await?;
    sessions.revoke_user(user.id).await;
    log::info!(
        "{} logged out everywhere ({revoked} sessions) from {client}",
        user.username
    );
    super::log_out(session);
    Ok(())
}
