//! The administrators' operations over the models, each written once for the `Admin`
//! service and the server's command line alike; each records who did it in the audit log, in
//! the same transaction as the change.

use std::time::Duration;

use chrono::NaiveDateTime;
use rand::distr::{Alphanumeric, SampleString};

use crate::auth::secret_hash;
use crate::db::DbConnection;
use crate::domain::{Page, RegistrationMode};
use crate::models::audit::AuditEntry;
pub use crate::models::audit::SERVER_COMMAND;
use crate::models::invitation::{Invitation, InvitationListing};
use crate::models::setting::Setting;
use crate::models::{Changes, ModelError, Room, RoomOverview, Signal, User};

/// How many users one search shows.
pub const USERS_SHOWN: i64 = 200;
/// How many rooms a page of /admin/rooms (and of /api/admin/rooms) lists.
pub const ROOMS_PAGE: u32 = 200;
/// How many audit entries the admin page shows.
pub const AUDIT_SHOWN: i64 = 100;
/// How long an invitation link works.
pub const INVITATION_VALID: Duration = Duration::from_secs(7 * 24 * 3600);

/// Who acts: an administrator (by id and name) or the server's command line.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<i32>,
    pub name: String,
}

impl Actor {
    pub fn administrator(id: i32, name: &str) -> Self {
        Self {
            id: Some(id),
            name: name.to_owned(),
        }
    }

    pub fn server_command() -> Self {
        Self {
            id: None,
            name: SERVER_COMMAND.to_owned(),
        }
    }
}

/// What the admin page's front shows.
pub struct Overview {
    pub registration: RegistrationMode,
    pub invitations: Vec<InvitationListing>,
    pub audit: Vec<AuditEntry>,
}

pub fn overview(conn: &mut DbConnection) -> Result<Overview, ModelError> {
    Ok(Overview {
        registration: Setting::registration(conn)?,
        invitations: Invitation::unused(conn)?,
        audit: AuditEntry::latest(conn, AUDIT_SHOWN)?,
    })
}

/// Up to `USERS_SHOWN` users whose name contains `search`, by name.
pub fn users(conn: &mut DbConnection, search: &str) -> Result<Vec<User>, ModelError> {
    Ok(User::search(conn, search, USERS_SHOWN)?)
}

/// A page of the public rooms, the most recently active first, as the lobby pages its list.
pub struct RoomsPage {
    pub rooms: Vec<RoomOverview>,
    pub page: u32,
    /// The next page's number, only when more rooms follow.
    pub next: Option<u32>,
}

/// The `page`th `ROOMS_PAGE` public rooms, with their counts of messages.
pub fn rooms(conn: &mut DbConnection, page: Page) -> Result<RoomsPage, ModelError> {
    // One more than a page: whether it comes says whether there is a next page.
    let limit = i64::from(ROOMS_PAGE) + 1;
    let mut rooms = Room::overview_page(conn, page.offset(ROOMS_PAGE), limit)?;
    let more = rooms.len() > ROOMS_PAGE as usize;
    rooms.truncate(ROOMS_PAGE as usize);
    Ok(RoomsPage {
        rooms,
        page: page.number(),
        next: page.next(more),
    })
}

/// Disables the account (ending every session of theirs, on every server) or enables it.
/// Nobody disables their own account, nor the last administrator who can still log in: the
/// server must keep someone who runs it. Returns the user as they are now.
pub fn set_disabled(
    conn: &mut DbConnection,
    actor: &Actor,
    user_id: i32,
    disabled: bool,
) -> Result<User, ModelError> {
    conn.write_transaction(|conn| {
        User::lock_with_administrators(conn, user_id)?;
        let user = User::find(conn, user_id)?.ok_or(ModelError::NotFound)?;
        if disabled {
            if actor.id == Some(user.id) {
                return Err(ModelError::OwnAccount);
            }
            if user.is_admin && User::enabled_administrators(conn)? <= 1 {
                return Err(ModelError::LastAdministrator);
            }
        }
        if User::set_disabled(conn, user.id, disabled)? {
            let action = if disabled {
                "disabled user"
            } else {
                "enabled user"
            };
            AuditEntry::record(conn, &actor.name, action, &user.username)?;
        }
        User::find(conn, user.id)?.ok_or(ModelError::NotFound)
    })
}

/// Replaces the user's password (already hashed) and ends every session of theirs; how many.
pub fn reset_password(
    conn: &mut DbConnection,
    actor: &Actor,
    user_id: i32,
    password_hash: &str,
) -> Result<usize, ModelError> {
    conn.write_transaction(|conn| {
        let user = User::find(conn, user_id)?.ok_or(ModelError::NotFound)?;
        let ended = User::reset_password(conn, user.id, password_hash)?;
        AuditEntry::record(conn, &actor.name, "reset password", &user.username)?;
        Ok(ended)
    })
}

/// Makes `name` an administrator, or no longer one (never the last).
pub fn set_admin(
    conn: &mut DbConnection,
    actor: &Actor,
    name: &str,
    admin: bool,
) -> Result<User, ModelError> {
    conn.write_transaction(|conn| {
        let user = User::set_admin(conn, name, admin)?;
        let action = if admin {
            "granted administrator"
        } else {
            "revoked administrator"
        };
        AuditEntry::record(conn, &actor.name, action, &user.username)?;
        Ok(user)
    })
}

/// Who may register from now on.
pub fn set_registration(
    conn: &mut DbConnection,
    actor: &Actor,
    mode: RegistrationMode,
) -> Result<(), ModelError> {
    conn.write_transaction(|conn| {
        Setting::set_registration(conn, mode)?;
        AuditEntry::record(conn, &actor.name, "set registration", mode.as_str())?;
        Ok(())
    })
}

/// Makes a single-use invitation, valid for `INVITATION_VALID`; returns its token, which
/// goes into the link (`/register?invite=TOKEN`) and is stored only as a hash.
pub fn invite(conn: &mut DbConnection, actor: &Actor) -> Result<NewInvitation, ModelError> {
    let created_by = actor.id.ok_or(ModelError::NotAdministrator)?;
    let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
    let expires_at = expires(INVITATION_VALID);
    conn.write_transaction(|conn| {
        let id = Invitation::create(conn, &secret_hash(&token), created_by, expires_at)?;
        AuditEntry::record(conn, &actor.name, "created invitation", &format!("{id}"))?;
        Ok(NewInvitation {
            id,
            token: token.clone(),
            expires_at,
        })
    })
}

/// An invitation just made: the only time its token is known.
pub struct NewInvitation {
    pub id: i32,
    pub token: String,
    pub expires_at: NaiveDateTime,
}

/// Withdraws an unused invitation; `NotFound` if there is no such unused one.
pub fn withdraw_invitation(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i32,
) -> Result<(), ModelError> {
    conn.write_transaction(|conn| {
        if !Invitation::withdraw(conn, id)? {
            return Err(ModelError::NotFound);
        }
        AuditEntry::record(conn, &actor.name, "withdrew invitation", &format!("{id}"))?;
        Ok(())
    })
}

fn expires(after: Duration) -> NaiveDateTime {
    let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
    crate::models::now() + after
}

/// Deletes a public room as the server's command line does, outside any running server:
/// those learn it at their next catch-up, woken at once on PostgreSQL.
pub fn delete_room(conn: &mut DbConnection, actor: &Actor, room_id: i32) -> Result<(), ModelError> {
    Room::delete_public(conn, room_id, &actor.name, &mut Changes::default())?;
    // A lost signal leaves it to the servers' next timed catch-up (every 250 ms).
    if let Err(err) = Signal::send_from_command(conn) {
        log::warn!("cannot signal the running servers: {err}");
    }
    Ok(())
}
