//! Registering and logging in, shared by the HTML forms and the JSON API so that both obey
//! the same rules, limits and audit log.

use actix_session::Session;
use serde::Deserialize;

use super::CurrentUser;
use super::client_addr::{ClientAddr, Device};
use super::password::Hasher;
use super::session_store::{SessionCache, SessionTimes};
use crate::clock::Clock;
use crate::db::Db;
use crate::domain::{LoginName, Password, Username, name_key};
use crate::errors::AppError;
use crate::models::revocation::Revocation;
use crate::models::session::SessionRow;
use crate::models::setting::Setting;
use crate::models::{ModelError, User};
use crate::throttle::Throttles;

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

/// Why a registration did not happen, in words for the person.
pub enum Refused {
    Invalid(String),
    Taken,
    /// Registration is closed.
    Closed,
    /// Registration is by invitation, and none came with it.
    InvitationRequired,
    /// The invitation is used, withdrawn or expired.
    InvitationUnusable,
    /// The setup link is not this database's, was used, or an administrator exists.
    SetupUnusable,
}

impl Refused {
    /// What the person is told.
    pub fn message(&self) -> &str {
        match self {
            Self::Invalid(message) => message,
            Self::Taken => "That username is taken. Please choose another.",
            Self::Closed => "Registration is closed on this server.",
            Self::InvitationRequired => {
                "Registration on this server is by invitation only: ask an administrator for a link."
            }
            Self::InvitationUnusable => {
                "This invitation cannot be used: it was used already, withdrawn, or it expired. \
                 Ask for a new one."
            }
            Self::SetupUnusable => {
                "This setup link cannot be used: it was used already, or this server has an \
                 administrator."
            }
        }
    }
}

impl From<Refused> for AppError {
    fn from(refused: Refused) -> Self {
        let message = refused.message().to_owned();
        match refused {
            Refused::Invalid(message) => Self::BadRequest(message),
            Refused::Taken => Self::Conflict(message),
            Refused::Closed => Self::forbidden("registration_closed", message),
            Refused::InvitationRequired => Self::forbidden("invitation_required", message),
            Refused::InvitationUnusable => Self::forbidden("invitation_unusable", message),
            Refused::SetupUnusable => Self::forbidden("setup_unusable", message),
        }
    }
}

/// The setup link's token that registration was given (an empty one is none), as hashed to
/// compare with the stored one.
fn setup_hash(setup: Option<&str>) -> Option<String> {
    setup
        .filter(|t| !t.is_empty())
        .map(crate::admin::invitation_hash)
}

/// Whether the setup link with this token would make an administrator now. It lets its
/// holder register whatever the registration mode: it is how the owner gets in.
pub fn setup_admission(
    conn: &mut crate::db::DbConnection,
    setup: &str,
) -> Result<Result<(), Refused>, ModelError> {
    let usable = match setup_hash(Some(setup)) {
        Some(hash) => Setting::setup_usable(conn, &hash)?,
        None => false,
    };
    Ok(if usable {
        Ok(())
    } else {
        Err(Refused::SetupUnusable)
    })
}

/// Whether someone may register now, with `invite` if they have one: `Ok` with the hash of
/// the invitation to use up (none while registration is open), or why not.
pub fn admission(
    conn: &mut crate::db::DbConnection,
    invite: Option<&str>,
) -> Result<Result<Option<String>, Refused>, ModelError> {
    use crate::domain::RegistrationMode;
    use crate::models::invitation::Invitation;
    match Setting::registration(conn)? {
        RegistrationMode::Open => Ok(Ok(None)),
        RegistrationMode::Closed => Ok(Err(Refused::Closed)),
        RegistrationMode::Invite => {
            let Some(token) = invite.filter(|t| !t.is_empty()) else {
                return Ok(Err(Refused::InvitationRequired));
            };
            let hash = crate::admin::invitation_hash(token);
            if Invitation::is_usable(conn, &hash)? {
                Ok(Ok(Some(hash)))
            } else {
                Ok(Err(Refused::InvitationUnusable))
            }
        }
    }
}

/// How a server finds its database's administrators at start.
pub enum Setup {
    /// There is none: this new setup link's token (see `setup_link`) is to be shown once,
    /// since only its hash is kept.
    Made(String),
    /// There is none, and the setup link was made already (by another server, or at an
    /// earlier start) and is still unused.
    Pending,
    /// There is an administrator: no setup link works.
    Done,
}

/// Makes the setup link of a database that has no administrator, if it has none yet.
pub async fn offer_setup(db: &Db) -> Result<Setup, AppError> {
    use rand::distr::{Alphanumeric, SampleString};
    let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
    let hash = crate::admin::invitation_hash(&token);
    db.run(move |conn| {
        Ok(if Setting::offer_setup(conn, &hash)? {
            Setup::Made(token)
        } else if User::has_administrator(conn)? {
            Setup::Done
        } else {
            Setup::Pending
        })
    })
    .await
}

/// The setup link's address on the server at `origin` (`http://host:port`).
pub fn setup_link(origin: &str, token: &str) -> String {
    format!("{}/register?setup={token}", origin.trim_end_matches('/'))
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

/// Creates the account and logs the new user in. Throttled per client address; a taken name
/// is found before the password is hashed, so that it costs no hashing. With the setup link's
/// token (`setup`), the account is the administrator, or none is made.
#[allow(clippy::too_many_arguments)]
pub async fn register(
    session: &Session,
    username: &str,
    password: String,
    invite: Option<String>,
    setup: Option<String>,
    device: &Device,
    db: &Db,
    hasher: &Hasher,
    throttles: &Throttles,
) -> Result<Result<User, Refused>, AppError> {
    let client = device.addr;
    let parsed = Username::parse(username).and_then(|u| {
        let password = Password::parse_new(password, u.as_str())?;
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
    let setup = setup_hash(setup.as_deref());
    let setup_copy = setup.clone();
    let admitted = db
        .run(move |conn| {
            let admitted = match &setup_copy {
                Some(hash) if Setting::setup_usable(conn, hash)? => Ok(None),
                Some(_) => Err(Refused::SetupUnusable),
                None => admission(conn, invite.as_deref())?,
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
            super::log_in(session, &user, device)?;
            Ok(Ok(user))
        }
        Err(ModelError::UsernameTaken) => Ok(Err(Refused::Taken)),
        Err(ModelError::InvitationUnusable) => Ok(Err(Refused::InvitationUnusable)),
        Err(ModelError::SetupUnusable) => Ok(Err(Refused::SetupUnusable)),
        Err(other) => Err(other.into()),
    }
}

/// Checks the password and logs the user in; `Wrong` for a wrong password or unknown user
/// alike (after the same work), `Disabled` for the right password of a disabled account. Throttled per account name (its key) and per client address.
/// A name no account can have is refused at once: nothing is counted, kept or hashed for it,
/// and answering fast tells nothing, since nobody has such a name. A one-time password works
/// for one login, within `ONE_TIME_PASSWORD_LIFETIME` by `clock`.
#[allow(clippy::too_many_arguments)]
pub async fn log_in(
    session: &Session,
    username: &str,
    password: String,
    device: &Device,
    db: &Db,
    hasher: &Hasher,
    throttles: &Throttles,
    clock: &dyn Clock,
) -> Result<Result<User, LoginRefused>, AppError> {
    let client = device.addr;
    let Some(name) = LoginName::parse(username) else {
        log::info!("failed login for no possible username from {client}");
        return Ok(Err(LoginRefused::Wrong));
    };
    let (username, key) = (name.as_str().to_owned(), name.key());
    // Reserved before the password is checked: while throttled, even the right one does not
    // help, and attempts sent together are counted together.
    if let Err(retry) = throttles.login_attempt(&key, client.0).await {
        log::warn!("throttled login for {username:?} from {client}");
        return Err(retry.into());
    }
    let lookup = username.clone();
    let user = db
        .run(move |conn| Ok(User::find_by_username(conn, &lookup)?))
        .await?;
    // Verify even when there is no such user, so that both failures take the same time.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = verify_counted(password, stored, &key, client, hasher, throttles).await?;
    let spent = match &user {
        Some(user) if verified && user.disabled_at.is_none() && user.must_change_password => {
            !use_one_time_password(db, user, clock).await?
        }
        _ => false,
    };
    match user {
        Some(user) if verified && user.disabled_at.is_some() => {
            throttles.login_succeeded(&key, client.0).await;
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
            throttles.login_succeeded(&key, client.0).await;
            // The account was read before the password check: if it was disabled or its
            // password changed meanwhile, this login is answered as it would have been after.
            // (The session store checks again when it saves the session.)
            let (user_id, version, at) = (user.id, user.credentials_version, crate::models::now());
            let current = db
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
            super::log_in(session, &user, device)?;
            Ok(Ok(user))
        }
        _ => {
            log::info!("failed login for {username:?} from {client}");
            Ok(Err(LoginRefused::Wrong))
        }
    }
}

/// How long a one-time password (`chatroom users reset-password`) works, if unused.
pub const ONE_TIME_PASSWORD_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(24 * 3600);

/// Uses up the one-time password that `user` (read before its check) has: false if it was
/// used already, expired, or replaced since.
async fn use_one_time_password(db: &Db, user: &User, clock: &dyn Clock) -> Result<bool, AppError> {
    let at = |secs: i64| {
        chrono::DateTime::from_timestamp(secs, 0)
            .unwrap_or_default()
            .naive_utc()
    };
    let now = clock.unix_secs();
    let lifetime = i64::try_from(ONE_TIME_PASSWORD_LIFETIME.as_secs()).unwrap_or(i64::MAX);
    let (user_id, hash) = (user.id, user.password_hash.clone());
    let (used_at, issued_after) = (at(now), at(now.saturating_sub(lifetime)));
    db.run(move |conn| {
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

/// Checks a password whose attempt `throttles.login_attempt` reserved under `key`; when it
/// could not be checked (the hashing queue is full), the attempt is given back, since no
/// password was tried.
async fn verify_counted(
    candidate: String,
    stored: Option<String>,
    key: &str,
    client: ClientAddr,
    hasher: &Hasher,
    throttles: &Throttles,
) -> Result<bool, AppError> {
    let verified = hasher.verify(candidate, stored).await;
    if let Err(err) = &verified {
        throttles.login_not_tried(key, client.0).await;
        if let AppError::Busy(_) = err {
            log::warn!("too busy to check a password for {key:?} from {client}");
        }
    }
    verified
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
        .run(move |conn| Ok(conn.write_transaction(|conn| User::end_sessions(conn, user_id))?))
        .await?;
    sessions.revoke_user(user.id).await;
    log::info!(
        "{} logged out everywhere ({revoked} sessions) from {client}",
        user.username
    );
    super::log_out(session);
    Ok(())
}

/// Why a password change did not happen, in words for the person.
pub enum PasswordRefused {
    /// The current password was wrong.
    WrongPassword,
    /// The new password breaks a rule.
    Invalid(String),
}

/// Changes the user's password after checking the current one (throttled like a login), and
/// ends every other session of theirs. This one continues under a new key.
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    session: &Session,
    user: &CurrentUser,
    current: String,
    new: String,
    device: &Device,
    db: &Db,
    hasher: &Hasher,
    throttles: &Throttles,
    sessions: &dyn SessionCache,
) -> Result<Result<(), PasswordRefused>, AppError> {
    let client = device.addr;
    // Counted with failed logins: a stolen session must not make this a guessing door.
    let key = name_key(&user.username);
    throttles.login_attempt(&key, client.0).await?;
    let user_id = user.id;
    let stored = db
        .run(move |conn| Ok(User::find(conn, user_id)?))
        .await?
        .map(|u| u.password_hash);
    let current_copy = current.clone();
    let verified = verify_counted(current, stored, &key, client, hasher, throttles).await?;
    if !verified {
        log::info!(
            "wrong current password for {} changing it, from {client}",
            user.username
        );
        return Ok(Err(PasswordRefused::WrongPassword));
    }
    throttles.login_succeeded(&key, client.0).await;
    if new == current_copy {
        return Ok(Err(PasswordRefused::Invalid(
            "Choose a new password, not the one you have now.".to_owned(),
        )));
    }
    // The name as stored: one that today's rules would refuse still changes its password.
    let rules = Password::parse_new(new, &user.username);
    let password = match rules {
        Ok(password) => password,
        Err(invalid) => return Ok(Err(PasswordRefused::Invalid(invalid.0))),
    };
    let hash = hasher.hash(password).await?;
    // This session's row stays until the renewal below replaces it, so that a poll from
    // another tab meanwhile is not logged out.
    let keep = super::public_id(session).unwrap_or_default();
    let changed = db
        .run(move |conn| Ok(User::change_password(conn, user_id, &hash, &keep)?))
        .await?;
    let Some((ended, version)) = changed else {
        log::info!(
            "{}'s password change from {client} lost the race with the end of its session",
            user.username
        );
        super::log_out(session);
        return Err(AppError::Unauthenticated);
    };
    sessions.revoke_user(user_id).await;
    // The session carries on under a new key and the new credentials, free to go anywhere.
    session.renew();
    session
        .insert(super::CREDENTIALS, version)
        .map_err(AppError::internal)?;
    let _ = super::take_once(session, super::MUST_CHANGE_PASSWORD);
    super::note_device(session, device)?;
    super::csrf::rotate(session);
    log::info!(
        "{} changed their password from {client}; {ended} other sessions ended",
        user.username
    );
    Ok(Ok(()))
}

/// One of the user's sessions, as the account page lists it.
pub struct SessionSummary {
    pub public_id: String,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds, to within the store's coarse touch (see `DbSessionStore`).
    pub last_seen: i64,
    pub client: String,
    pub agent: String,
    /// The session asking.
    pub current: bool,
}

/// The user's live sessions, the most recently used first.
pub async fn sessions(
    session: &Session,
    user: &CurrentUser,
    db: &Db,
    times: &SessionTimes,
) -> Result<Vec<SessionSummary>, AppError> {
    let current = super::public_id(session);
    let (user_id, now) = (user.id, times.clock.unix_secs());
    let rows = db
        .run(move |conn| Ok(SessionRow::live_for_user(conn, user_id, now)?))
        .await?;
    let idle = i64::try_from(times.idle.as_secs()).unwrap_or(i64::MAX);
    Ok(rows
        .into_iter()
        .map(|row| SessionSummary {
            current: current.as_deref() == Some(row.public_id.as_str()),
            last_seen: row
                .idle_expires_at
                .saturating_sub(idle)
                .clamp(row.started_at, now),
            public_id: row.public_id,
            started_at: row.started_at,
            client: row.client,
            agent: row.agent,
        })
        .collect())
}

/// Ends one of the user's sessions, found by the id the account page shows: `None` if they
/// have no such session, else whether it was the one asking (which is then logged out).
pub async fn end_session(
    session: &Session,
    user: &CurrentUser,
    public_id: String,
    client: ClientAddr,
    db: &Db,
    sessions: &dyn SessionCache,
) -> Result<Option<bool>, AppError> {
    let user_id = user.id;
    let is_current = super::public_id(session).as_deref() == Some(public_id.as_str());
    let ended = db
        .run(move |conn| {
            Ok(conn.write_transaction(|conn| {
                let ended = SessionRow::delete_by_public_id(conn, user_id, &public_id)?;
                if let Some(row_id) = &ended {
                    Revocation::record_session(conn, row_id)?;
                }
                Ok::<_, diesel::result::Error>(ended)
            })?)
        })
        .await?;
    let Some(row_id) = ended else {
        return Ok(None);
    };
    sessions.revoke(&row_id).await;
    log::info!(
        "{} ended one of their sessions from {client}",
        user.username
    );
    if is_current {
        super::log_out(session);
    }
    Ok(Some(is_current))
}
