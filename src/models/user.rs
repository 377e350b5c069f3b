//! The users table: accounts, and the room each user is in now.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{DbConnection, MultiBackend};

use super::{ModelError, now};
use crate::db::schema::users;
use crate::domain::mention::Accounts;
use crate::domain::{Username, name_key};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(crate::db::MultiBackend))]
pub struct User {
    pub id: i32,
    pub username: String,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub current_room_id: Option<i32>,
    /// Runs this server's chat: the account registered with the setup link a new database's
    /// server printed, and whoever `chatroom admin grant` names.
    pub is_admin: bool,
    /// Set while an administrator has the account disabled: it cannot log in.
    pub disabled_at: Option<NaiveDateTime>,
    /// The last login, or the last use of a session (as coarsely as the session store
    /// touches it); none since this was recorded.
    pub last_seen_at: Option<NaiveDateTime>,
    /// Its password is a one-time one (`chatroom users reset-password`): the session of a
    /// login with it may do nothing but choose a new one.
    pub must_change_password: bool,
    /// Raised by every change that ends all of the account's sessions (disabling, a reset or
    /// changed password, logging out everywhere). A login records it in its session, and the
    /// session store keeps a logged-in session only while the two agree: a login that read
    /// the account before such a change cannot save a session after it.
    pub credentials_version: i32,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUser<'a> {
    username: &'a str,
    username_key: &'a str,
    password_hash: &'a str,
    created_at: NaiveDateTime,
    is_admin: bool,
    last_seen_at: NaiveDateTime,
}

/// Holds the rows of the users `filter` picks until the transaction ends, in ascending id (see
/// `User::lock`). PostgreSQL only: SQLite's write transaction holds the whole database. A
/// macro, because the locking clause exists only on PostgreSQL's own query type.
macro_rules! lock_users {
    ($conn:expr, $filter:expr) => {
        match $conn {
            DbConnection::Sqlite(_) => Ok(()),
            DbConnection::Postgres(c) => users::table
                .filter($filter)
                .order(users::id)
                .select(users::id)
                .for_no_key_update()
                .load::<i32>(c)
                .map(drop),
        }
    };
}

/// Who an entry is written by, as its readers see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    /// A bot, or an incoming webhook posting under its own name.
    pub bot: bool,
}

impl User {
    /// Fails with `UsernameTaken` when another name has the same key.
    pub fn create(
        conn: &mut DbConnection,
        username: &Username,
        password_hash: &str,
    ) -> Result<User, ModelError> {
        Self::create_invited(conn, username, password_hash, None, None)
    }

    /// Creates the account, using up the invitation whose token hashes to `invitation` if
    /// one is given: `InvitationUnusable` (and no account) if it cannot be used. With the
    /// hash of the setup link's token (`setup`), the account is the administrator, or
    /// `SetupUnusable` (and no account) if that link cannot make one.
    pub fn create_invited(
        conn: &mut DbConnection,
        username: &Username,
        password_hash: &str,
        invitation: Option<&str>,
        setup: Option<&str>,
    ) -> Result<User, ModelError> {
        conn.write_transaction(|conn| {
            let is_admin = match setup {
                Some(token_hash) => super::setting::Setting::take_setup(conn, token_hash)?
                    .then_some(true)
                    .ok_or(ModelError::SetupUnusable)?,
                None => false,
            };
            let at = now();
            let new = NewUser {
                username: username.as_str(),
                username_key: &username.key(),
                password_hash,
                created_at: at,
                is_admin,
                last_seen_at: at,
            };
            let user: User = diesel::insert_into(users::table)
                .values(&new)
                // See `Room::insert` for why not `User::as_returning()`.
                .returning(<User as Selectable<MultiBackend>>::construct_selection())
                .get_result(conn)?;
            if let Some(token_hash) = invitation
                && !super::invitation::Invitation::redeem(conn, token_hash, user.id)?
            {
                return Err(ModelError::InvitationUnusable);
            }
            Ok(user)
        })
    }

    /// Disables the account (or, `disabled` false, enables it). Disabling ends every session
    /// of theirs, recorded for every running server to forget (see `Revocation`). False if it
    /// already was as asked. Runs in the caller's transaction.
    pub fn set_disabled(
        conn: &mut DbConnection,
        user_id: i32,
        disabled: bool,
    ) -> QueryResult<bool> {
        let changed = if disabled {
            diesel::update(
                users::table
                    .find(user_id)
                    .filter(users::disabled_at.is_null()),
            )
            .set(users::disabled_at.eq(Some(now())))
            .execute(conn)?
        } else {
            diesel::update(
                users::table
                    .find(user_id)
                    .filter(users::disabled_at.is_not_null()),
            )
            .set(users::disabled_at.eq(None::<NaiveDateTime>))
            .execute(conn)?
        };
        if disabled {
            Self::end_sessions(conn, user_id)?;
        }
        Ok(changed == 1)
    }

    /// Replaces the password hash and ends every session of theirs. Runs in the caller's
    /// transaction.
    pub fn reset_password(
        conn: &mut DbConnection,
        user_id: i32,
        password_hash: &str,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(user_id))
            .set((
                users::password_hash.eq(password_hash),
                users::must_change_password.eq(true),
            ))
            .execute(conn)?;
        Self::issue_one_time_password(conn, user_id)?;
        Self::end_sessions(conn, user_id)
    }

    /// Starts the day in which the user's new one-time password works, for one login.
    fn issue_one_time_password(conn: &mut DbConnection, user_id: i32) -> QueryResult<()> {
        diesel::update(users::table.find(user_id))
            .set((
                users::one_time_password_issued_at.eq(Some(now())),
                users::one_time_password_used_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)
            .map(drop)
    }

    /// Uses up the user's one-time password, the one `password_hash` holds (not one issued
    /// since): true if it was unused and issued after `issued_after`, which its login may
    /// then go on with; false if it was used, expired or replaced. One statement, so that two
    /// logins with it at once cannot both have it.
    pub fn use_one_time_password(
        conn: &mut DbConnection,
        user_id: i32,
        password_hash: &str,
        at: NaiveDateTime,
        issued_after: NaiveDateTime,
    ) -> QueryResult<bool> {
        diesel::update(
            users::table
                .find(user_id)
                .filter(users::must_change_password.eq(true))
                .filter(users::password_hash.eq(password_hash))
                .filter(users::one_time_password_used_at.is_null())
                .filter(users::one_time_password_issued_at.gt(issued_after)),
        )
        .set(users::one_time_password_used_at.eq(Some(at)))
        .execute(conn)
        .map(|changed| changed == 1)
    }

    /// Ends every session of the user, here and (through the revocation) in every running
    /// server's memory; how many.
    pub fn end_sessions(conn: &mut DbConnection, user_id: i32) -> QueryResult<usize> {
        Self::raise_credentials_version(conn, user_id)?;
        let ended = super::session::SessionRow::delete_for_user(conn, user_id)?;
        super::revocation::Revocation::record(conn, user_id)?;
        Ok(ended)
    }

    /// Raises the account's credentials version (see `credentials_version`); returns the new
    /// one. Takes the account's row before any session's, as every writer does.
    fn raise_credentials_version(conn: &mut DbConnection, user_id: i32) -> QueryResult<i32> {
        diesel::update(users::table.find(user_id))
            .set(users::credentials_version.eq(users::credentials_version + 1))
            .returning(users::credentials_version)
            .get_result(conn)
    }

    /// Notes that a login with the account's credentials as of `credentials_version` happened
    /// at `at`; false (and nothing noted) if the account was disabled or its credentials
    /// changed since that version was read.
    pub fn logged_in(
        conn: &mut DbConnection,
        user_id: i32,
        credentials_version: i32,
        at: NaiveDateTime,
    ) -> QueryResult<bool> {
        diesel::update(
            users::table
                .find(user_id)
                .filter(users::credentials_version.eq(credentials_version))
                .filter(users::disabled_at.is_null()),
        )
        .set(users::last_seen_at.eq(Some(at)))
        .execute(conn)
        .map(|n| n == 1)
    }

    /// Up to `limit` users whose name contains `search` (ignoring letter case; all if it is
    /// empty), by name.
    pub fn search(conn: &mut DbConnection, search: &str, limit: i64) -> QueryResult<Vec<User>> {
        users::table
            .filter(
                users::username_key
                    .like(super::like_containing(&name_key(search)))
                    .escape('\\'),
            )
            .order(users::username_key)
            .limit(limit)
            .select(User::as_select())
            .load(conn)
    }

    /// Whether any account is an administrator, able to log in or not.
    pub fn has_administrator(conn: &mut DbConnection) -> QueryResult<bool> {
        super::setup_link::has_administrator(conn)
    }

    /// Makes `name` an administrator, or (`admin` false) no longer one. The last
    /// administrator stays one: the server must keep someone who runs it.
    pub fn set_admin(conn: &mut DbConnection, name: &str, admin: bool) -> Result<User, ModelError> {
        conn.write_transaction(|conn| {
            let user = Self::find_by_username(conn, name)?.ok_or(ModelError::NotFound)?;
            if !admin && user.is_admin {
                // Every administrator's row, so that two revokes at once cannot both pass.
                lock_users!(conn, users::is_admin.eq(true))?;
                if user.disabled_at.is_none() && Self::enabled_administrators(conn)? <= 1 {
                    return Err(ModelError::LastAdministrator);
                }
            }
            diesel::update(users::table.find(user.id))
                .set(users::is_admin.eq(admin))
                .execute(conn)?;
            Ok(User {
                is_admin: admin,
                ..user
            })
        })
    }

    /// Whether a user holds the name's key, as the uniqueness rule compares them: asked before
    /// the password is hashed, so that a taken name costs no hashing (`create` still decides
    /// between two registrations of one name at the same time).
    pub fn name_taken(conn: &mut DbConnection, username: &Username) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            users::table.filter(users::username_key.eq(username.key())),
        ))
        .get_result(conn)
    }

    /// By the name's key, like the uniqueness rule: "ALICE" finds alice.
    pub fn find_by_username(conn: &mut DbConnection, username: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::username_key.eq(name_key(username)))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Replaces the user's password hash, raises the credentials version and ends every
    /// session of theirs but the one shown as `keep` (the one asking, which the caller then
    /// renews under the new version), in one transaction: whoever knew the old password is
    /// out, and so is a login that checked it and has not saved its session yet. Returns how
    /// many sessions ended and the new credentials version; `None`, changing nothing, if the
    /// session asking was ended meanwhile (a reset, a disable, "log out everywhere" or another
    /// change committed while its password was being hashed): it has no say any more.
    pub fn change_password(
        conn: &mut DbConnection,
        user_id: i32,
        password_hash: &str,
        keep: &str,
    ) -> QueryResult<Option<(usize, i32)>> {
        let changed = conn.write_transaction(|conn| {
            // The account's row first: whatever ends its sessions takes it before deleting
            // them, so the asking session's row is either gone by now or stays to the commit.
            diesel::update(users::table.find(user_id))
                .set((
                    users::password_hash.eq(password_hash),
                    users::must_change_password.eq(false),
                ))
                .execute(conn)?;
            let version = Self::raise_credentials_version(conn, user_id)?;
            if !super::session::SessionRow::set_credentials_version(conn, user_id, keep, version)? {
                return Err(diesel::result::Error::RollbackTransaction);
            }
            let ended = super::session::SessionRow::delete_for_user_except(conn, user_id, keep)?;
            // Other servers forget the user's cached sessions; the kept one reloads from here.
            super::revocation::Revocation::record(conn, user_id)?;
            Ok((ended, version))
        });
        match changed {
            Err(diesel::result::Error::RollbackTransaction) => Ok(None),
            other => other.map(Some),
        }
    }

    /// Holds the rows of every administrator and of `user_id` (see `lock`): whatever asks how
    /// many administrators remain and then changes one of them.
    pub(crate) fn lock_with_administrators(
        conn: &mut DbConnection,
        user_id: i32,
    ) -> QueryResult<()> {
        lock_users!(conn, users::is_admin.eq(true).or(users::id.eq(user_id)))
    }

    /// The administrator who registered first (and can log in).
    pub fn oldest_administrator(conn: &mut DbConnection) -> QueryResult<Option<User>> {
        users::table
            .filter(users::is_admin.eq(true))
            .filter(users::disabled_at.is_null())
            .order(users::id)
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// How many administrators can log in.
    pub fn enabled_administrators(conn: &mut DbConnection) -> QueryResult<i64> {
        users::table
            .filter(users::is_admin.eq(true))
            .filter(users::disabled_at.is_null())
            .count()
            .get_result(conn)
    }

    /// The user's name if they are an administrator whose account is enabled: the one check
    /// before any administrator's power is used.
    pub fn administering(conn: &mut DbConnection, user_id: i32) -> QueryResult<Option<String>> {
        users::table
            .find(user_id)
            .filter(users::is_admin.eq(true))
            .filter(users::disabled_at.is_null())
            .select(users::username)
            .first(conn)
            .optional()
    }

    pub fn find(conn: &mut DbConnection, user_id: i32) -> QueryResult<Option<User>> {
        users::table
            .find(user_id)
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Every user who is in a room, with the room.
    pub fn memberships(conn: &mut DbConnection) -> QueryResult<Vec<(i32, i32)>> {
        users::table
            .filter(users::current_room_id.is_not_null())
            .select((users::id, users::current_room_id.assume_not_null()))
            .load(conn)
    }

    /// Holds these users' rows (see `lock`) and answers each one as an author, with their
    /// current room, by id: one round trip for both.
    pub(crate) fn lock_names_and_rooms(
        conn: &mut DbConnection,
        user_ids: &[i32],
    ) -> QueryResult<HashMap<i32, (Author, Option<i32>)>> {
        let query = users::table
            .filter(users::id.eq_any(user_ids))
            .order(users::id)
            .select((
                users::id,
                users::username,
                users::is_bot,
                users::current_room_id,
            ));
        let rows: Vec<(i32, String, bool, Option<i32>)> = match conn {
            DbConnection::Sqlite(c) => query.load(c)?,
            DbConnection::Postgres(c) => query.for_no_key_update().load(c)?,
        };
        Ok(rows
            .into_iter()
            .map(|(id, name, bot, room)| (id, (Author { name, bot }, room)))
            .collect())
    }

    pub(crate) fn name(conn: &mut DbConnection, user_id: i32) -> QueryResult<String> {
        users::table
            .find(user_id)
            .select(users::username)
            .first(conn)
    }

    /// The user as the entries they write name them.
    pub(crate) fn author(conn: &mut DbConnection, user_id: i32) -> QueryResult<Author> {
        let (name, bot) = users::table
            .find(user_id)
            .select((users::username, users::is_bot))
            .first(conn)?;
        Ok(Author { name, bot })
    }

    pub fn current_room(conn: &mut DbConnection, user_id: i32) -> QueryResult<Option<i32>> {
        users::table
            .find(user_id)
            .select(users::current_room_id)
            .first(conn)
    }

    /// Whether the account is a bot's (which writes in any room it may read, from outside).
    pub fn is_bot(conn: &mut DbConnection, user_id: i32) -> QueryResult<bool> {
        users::table.find(user_id).select(users::is_bot).first(conn)
    }

    /// Holds these users' rows until the transaction ends, in ascending id (the one order in
    /// which every write takes them, users before rooms, so that writers cannot deadlock). On
    /// PostgreSQL this is what makes a write's check-then-write safe: two tabs of one user, or
    /// the two people of a direct conversation, take their turns. SQLite's write transaction
    /// holds the whole database already.
    pub(crate) fn lock(conn: &mut DbConnection, user_ids: &[i32]) -> QueryResult<()> {
        lock_users!(conn, users::id.eq_any(user_ids))
    }

    /// Holds the rows of the users inside the room (see `lock`): deleting the room sets their
    /// current room to none, and that must not wait on one of them who waits on the room.
    pub(crate) fn lock_inside(conn: &mut DbConnection, room_id: i32) -> QueryResult<()> {
        lock_users!(conn, users::current_room_id.eq(room_id))
    }

    /// Sets the user's one current room. Callers write the matching joined/left log entries
    /// (see `Room::move_user`).
    pub(crate) fn set_current_room(
        conn: &mut DbConnection,
        user_id: i32,
        room_id: Option<i32>,
    ) -> QueryResult<()> {
        diesel::update(users::table.find(user_id))
            .set(users::current_room_id.eq(room_id))
            .execute(conn)
            .map(drop)
    }
}
impl User {
    /// The accounts (not disabled) whose name keys are among `keys`: whom a message's `@name`s
    /// may mention (see `domain::mention`).
    pub fn mentionable(conn: &mut DbConnection, keys: &[String]) -> QueryResult<Accounts> {
        if keys.is_empty() {
            return Ok(Accounts::new());
        }
        Ok(users::table
            .filter(users::username_key.eq_any(keys))
            .filter(users::disabled_at.is_null())
            .select((users::username_key, users::id, users::username))
            .load::<(String, i32, String)>(conn)?
            .into_iter()
            .map(|(key, id, name)| (key, (id, name)))
            .collect())
    }
}
