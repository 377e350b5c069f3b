//! The accounts service: registering, logging in and out, changing a password and the
//! sessions, shared by the HTML forms and the JSON API so that both obey the same rules,
//! limits and logs. It holds what it needs; handlers parse, call one method, and answer.

mod admission;
mod sessions;
mod tokens;

use std::sync::Arc;

use actix_session::Session;
use serde::Deserialize;

use crate::auth::client_addr::{ClientAddr, Device};
use crate::auth::password::Hasher;
use crate::auth::session_store::{SessionCache, SessionTimes};
use crate::auth::{self, CurrentUser};
use crate::db::Db;
use crate::domain::{LoginName, Password, Username, name_key};
use crate::errors::AppError;
use crate::live::Live;
use crate::models::setting::Setting;
use crate::models::{ModelError, User};
use crate::throttle::Throttles;
pub use admission::{Refused, Setup, setup_link};
pub use sessions::SessionSummary;
pub use tokens::{NewToken, mint};

/// How long a one-time password (`chatroom users reset-password`) works, if unused.
pub const ONE_TIME_PASSWORD_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(24 * 3600);

pub struct Accounts {
    db: Db,
    hasher: Arc<Hasher>,
    throttles: Arc<Throttles>,
    /// This server's cache of sessions, told at once of the ones that end here.
    sessions: Arc<dyn SessionCache>,
    /// The idle timeout and the clock (which also times one-time passwords).
    times: SessionTimes,
    /// Where presence is told that someone logged out.
    live: Arc<Live>,
}

/// What the login and registration forms (and their JSON twins) send. `invite` is the token
/// of an invitation link, for registering while registration is by invitation; `setup` the
/// token of the setup link, for registering as the administrator of a new database.
#[derive(Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub invite: Option<String>,
    #[serde(default)]
    pub setup: Option<String>,
}

/// Why a login did not happen.
pub enum LoginRefused {
    /// A wrong password or an unknown user, alike.
    Wrong,
    /// The right password for a disabled account: told so, since only its owner knows it.
    Disabled,
    /// A one-time password used once already, or issued more than a day ago: counted as a
    /// failed login, but told so, since only its owner knows it.
    OneTimePasswordSpent,
}

impl From<LoginRefused> for AppError {
    fn from(refused: LoginRefused) -> Self {
        match refused {
            LoginRefused::Wrong => Self::InvalidCredentials,
            LoginRefused::Disabled => Self::forbidden(
                "account_disabled",
                "This account is disabled. Ask an administrator of this server.",
            ),
            LoginRefused::OneTimePasswordSpent => Self::forbidden(
                "one_time_password_expired",
                "This one-time password has expired: ask an administrator for a new one.",
            ),
        }
    }
}

/// What the change-password form sends.
#[derive(Deserialize)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Why a password change did not happen, in words for the person.
pub enum PasswordRefused {
    /// The current password was wrong.
    WrongPassword,
    /// The new password breaks a rule.
    Invalid(String),
}

impl Accounts {
    pub fn new(
        db: Db,
        hasher: Arc<Hasher>,
        throttles: Arc<Throttles>,
        sessions: Arc<dyn SessionCache>,
        times: SessionTimes,
        live: Arc<Live>,
    ) -> Self {
        Self {
            db,
            hasher,
            throttles,
            sessions,
            times,
            live,
        }
    }

    /// Creates the account and logs the new user in. Throttled per client address; a taken
    /// name is found before the password is hashed, so that it costs no hashing. With the
    /// setup link's token (`setup`), the account is the administrator, or none is made.
    pub async fn register(
        &self,
        session: &Session,
        form: Credentials,
        device: &Device,
    ) -> Result<Result<User, Refused>, AppError> {
        let Credentials {
            username,
            password,
            invite,
            setup,
        } = form;
        let client = device.addr;
        let parsed = Username::parse(&username).and_then(|u| {
            let password = Password::parse_new(password, u.as_str())?;
            Ok((u, password))
        });
        let (username, password) = match parsed {
            Ok(valid) => valid,
            Err(invalid) => return Ok(Err(Refused::Invalid(invalid.0))),
        };
        if let Err(retry) = self.throttles.registration(client.0).await {
            log::warn!("throttled registration from {client}");
            return Err(retry.into());
        }
        let lookup = username.clone();
        let setup = admission::setup_hash(setup.as_deref());
        let setup_copy = setup.clone();
        let admitted = self
            .db
            .run(move |conn| {
                let admitted = match &setup_copy {
                    Some(hash) if Setting::setup_usable(conn, hash)? => Ok(None),
                    Some(_) => Err(Refused::SetupUnusable),
                    None => admission::admission(conn, invite.as_deref())?,
                };
                if admitted.is_ok() && User::name_taken(conn, &lookup)? {
                    return Ok(Err(Refused::Taken));
                }
                Ok(admitted)
            })
            .await?;
        let invitation = match admitted {
            Ok(invitation) => invitation,
            Err(refused) => return Ok(Err(refused)),
        };
        let hash = match self.hasher.hash(password).await {
            Ok(hash) => hash,
            Err(err) => {
                self.throttles.registration_not_tried(client.0).await;
                if let AppError::Busy(_) = err {
                    log::warn!("too busy to register {} from {client}", username.as_str());
                }
                return Err(err);
            }
        };
        match self
            .db
            .run(move |conn| {
                Ok(User::create_invited(
                    conn,
                    &username,
                    &hash,
                    invitation.as_deref(),
                    setup.as_deref(),
                ))
            })
            .await?
        {
            Ok(user) => {
                log::info!("registered user {} from {}", user.username, device.addr);
                auth::log_in(session, &user, device)?;
                Ok(Ok(user))
            }
            Err(ModelError::UsernameTaken) => Ok(Err(Refused::Taken)),
            Err(ModelError::InvitationUnusable) => Ok(Err(Refused::InvitationUnusable)),
            Err(ModelError::SetupUnusable) => Ok(Err(Refused::SetupUnusable)),
            Err(other) => Err(other.into()),
        }
    }

    /// Checks the password and logs the user in; `Wrong` for a wrong password or unknown user
    /// alike (after the same work), `Disabled` for the right password of a disabled account.
    /// Throttled per account name (its key) and per client address. A name no account can
    /// have is refused at once: nothing is counted, kept or hashed for it, and answering fast
    /// tells nothing, since nobody has such a name. A one-time password works for one login,
    /// within `ONE_TIME_PASSWORD_LIFETIME`.
    pub async fn log_in(
        &self,
        session: &Session,
        form: Credentials,
        device: &Device,
    ) -> Result<Result<User, LoginRefused>, AppError> {
        let client = device.addr;
        let Some(name) = LoginName::parse(&form.username) else {
            log::info!("failed login for no possible username from {client}");
            return Ok(Err(LoginRefused::Wrong));
        };
        let (username, key) = (name.as_str().to_owned(), name.key());
        // Reserved before the password is checked: while throttled, even the right one does
        // not help, and attempts sent together are counted together.
        if let Err(retry) = self.throttles.login_attempt(&key, client.0).await {
            log::warn!("throttled login for {username:?} from {client}");
            return Err(retry.into());
        }
        let lookup = username.clone();
        let user = self
            .db
            .run(move |conn| Ok(User::find_by_username(conn, &lookup)?))
            .await?;
        // Verify even when there is no such user, so that both failures take the same time.
        // A bot has no password: checked as an unknown user's, so that it is refused alike.
        let stored = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .filter(|hash| hash != crate::models::bot::NO_PASSWORD);
        let verified = self
            .verify_counted(form.password, stored, &key, client)
            .await?;
        let spent = match &user {
            Some(user) if verified && user.disabled_at.is_none() && user.must_change_password => {
                !self.use_one_time_password(user).await?
            }
            _ => false,
        };
        match user {
            Some(user) if verified && user.disabled_at.is_some() => {
                self.throttles.login_succeeded(&key, client.0).await;
                log::info!("refused login of disabled {} from {client}", user.username);
                Ok(Err(LoginRefused::Disabled))
            }
            Some(user) if spent => {
                log::info!(
                    "refused login of {} with a spent one-time password from {client}",
                    user.username
                );
                Ok(Err(LoginRefused::OneTimePasswordSpent))
            }
            Some(user) if verified => {
                self.throttles.login_succeeded(&key, client.0).await;
                // The account was read before the password check: if it was disabled or its
                // password changed meanwhile, this login is answered as it would have been
                // after. (The session store checks again when it saves the session.)
                let (user_id, version, at) =
                    (user.id, user.credentials_version, crate::models::now());
                let current = self
                    .db
                    .run(move |conn| {
                        Ok(match User::logged_in(conn, user_id, version, at)? {
                            true => None,
                            false => Some(User::find(conn, user_id)?),
                        })
                    })
                    .await?;
                if let Some(now) = current {
                    log::info!(
                        "login of {} from {client} raced a change to the account",
                        user.username
                    );
                    return Ok(Err(match now {
                        Some(now) if now.disabled_at.is_some() => LoginRefused::Disabled,
                        _ => LoginRefused::Wrong,
                    }));
                }
                log::info!("login of {} from {client}", user.username);
                auth::log_in(session, &user, device)?;
                Ok(Ok(user))
            }
            _ => {
                log::info!("failed login for {username:?} from {client}");
                Ok(Err(LoginRefused::Wrong))
            }
        }
    }

    /// Uses up the one-time password that `user` (read before its check) has: false if it was
    /// used already, expired, or replaced since.
    async fn use_one_time_password(&self, user: &User) -> Result<bool, AppError> {
        let at = |secs: i64| {
            chrono::DateTime::from_timestamp(secs, 0)
                .unwrap_or_default()
                .naive_utc()
        };
        let now = self.times.clock.unix_secs();
        let lifetime = i64::try_from(ONE_TIME_PASSWORD_LIFETIME.as_secs()).unwrap_or(i64::MAX);
        let (user_id, hash) = (user.id, user.password_hash.clone());
        let (used_at, issued_after) = (at(now), at(now.saturating_sub(lifetime)));
        self.db
            .run(move |conn| {
                Ok(User::use_one_time_password(
                    conn,
                    user_id,
                    &hash,
                    used_at,
                    issued_after,
                )?)
            })
            .await
    }

    /// Ends the session asking, if it is a login; the user is no longer present anywhere.
    pub async fn log_out(&self, session: &Session, client: ClientAddr) {
        match CurrentUser::from_session(session) {
            Some(user) => {
                log::info!("logout of {} from {client}", user.username);
                self.ended(session, user.id).await;
            }
            None => auth::log_out(session),
        }
    }

    /// Checks a password whose attempt `throttles.login_attempt` reserved under `key`; when it
    /// could not be checked (the hashing queue is full), the attempt is given back, since no
    /// password was tried.
    async fn verify_counted(
        &self,
        candidate: String,
        stored: Option<String>,
        key: &str,
        client: ClientAddr,
    ) -> Result<bool, AppError> {
        let verified = self.hasher.verify(candidate, stored).await;
        if let Err(err) = &verified {
            self.throttles.login_not_tried(key, client.0).await;
            if let AppError::Busy(_) = err {
                log::warn!("too busy to check a password for {key:?} from {client}");
            }
        }
        verified
    }

    /// Changes the user's password after checking the current one (throttled like a login),
    /// and ends every other session of theirs. This one continues under a new key.
    pub async fn change_password(
        &self,
        session: &Session,
        user: &CurrentUser,
        form: PasswordChange,
        device: &Device,
    ) -> Result<Result<(), PasswordRefused>, AppError> {
        let PasswordChange {
            current_password: current,
            new_password: new,
        } = form;
        let client = device.addr;
        // Counted with failed logins: a stolen session must not make this a guessing door.
        let key = name_key(&user.username);
        self.throttles.login_attempt(&key, client.0).await?;
        let user_id = user.id;
        let stored = self
            .db
            .run(move |conn| Ok(User::find(conn, user_id)?))
            .await?
            .map(|u| u.password_hash);
        let current_copy = current.clone();
        let verified = self.verify_counted(current, stored, &key, client).await?;
        if !verified {
            log::info!(
                "wrong current password for {} changing it, from {client}",
                user.username
            );
            return Ok(Err(PasswordRefused::WrongPassword));
        }
        self.throttles.login_succeeded(&key, client.0).await;
        if new == current_copy {
            return Ok(Err(PasswordRefused::Invalid(
                "Choose a new password, not the one you have now.".to_owned(),
            )));
        }
        // The name as stored: one that today's rules would refuse still changes its password.
        let password = match Password::parse_new(new, &user.username) {
            Ok(password) => password,
            Err(invalid) => return Ok(Err(PasswordRefused::Invalid(invalid.0))),
        };
        let hash = self.hasher.hash(password).await?;
        // This session's row stays until the renewal below replaces it, so that a poll from
        // another tab meanwhile is not logged out.
        let keep = auth::public_id(session).unwrap_or_default();
        let changed = self
            .db
            .run(move |conn| Ok(User::change_password(conn, user_id, &hash, &keep)?))
            .await?;
        let Some((ended, version)) = changed else {
            log::info!(
                "{}'s password change from {client} lost the race with the end of its session",
                user.username
            );
            auth::log_out(session);
            return Err(AppError::Unauthenticated);
        };
        self.sessions.revoke_user(user_id).await;
        auth::renew_credentials(session, version, device)?;
        log::info!(
            "{} changed their password from {client}; {ended} other sessions ended",
            user.username
        );
        Ok(Ok(()))
    }
}
