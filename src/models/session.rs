//! The sessions table: actix-session's state, kept server-side so that a session can be revoked.
//! Rows are found by a SHA-256 of the cookie's key (`auth::session_store` hashes it), never by
//! the key itself.

use diesel::prelude::*;

use crate::db::DbConnection;

use crate::db::schema::{sessions, users};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(crate::db::MultiBackend))]
pub struct SessionRow {
    pub id: String,
    pub user_id: Option<i32>,
    pub state: String,
    /// Unix seconds; pushed forward as the session is used.
    pub idle_expires_at: i64,
    /// Unix seconds; fixed when the session starts.
    pub expires_at: i64,
    /// What the account page shows of a logged-in session (empty for an anonymous one).
    pub public_id: String,
    pub started_at: i64,
    pub client: String,
    pub agent: String,
    /// The account's credentials version when the session logged in (see
    /// `User::credentials_version`); a logged-in session counts only while the two agree.
    pub credentials_version: i32,
}

impl SessionRow {
    /// The session, if it exists, has not expired at `now` (unix seconds) and, logged in,
    /// still holds: its account is enabled and at the credentials version it logged in with.
    pub fn find_live(
        conn: &mut DbConnection,
        id: &str,
        now: i64,
    ) -> QueryResult<Option<SessionRow>> {
        sessions::table
            .left_join(users::table)
            .filter(sessions::id.eq(id))
            .filter(sessions::idle_expires_at.gt(now))
            .filter(sessions::expires_at.gt(now))
            .filter(holds())
            .select(SessionRow::as_select())
            .first(conn)
            .optional()
    }

    /// The `limit` live sessions used most recently (their idle deadlines are the latest), of
    /// those that still hold (see `find_live`).
    pub fn most_recent(
        conn: &mut DbConnection,
        now: i64,
        limit: i64,
    ) -> QueryResult<Vec<SessionRow>> {
        sessions::table
            .left_join(users::table)
            .filter(sessions::idle_expires_at.gt(now))
            .filter(sessions::expires_at.gt(now))
            .filter(holds())
            .order(sessions::idle_expires_at.desc())
            .limit(limit)
            .select(SessionRow::as_select())
            .load(conn)
    }

    /// Stores a new session; false (and nothing stored) for a login whose account was
    /// disabled, or whose credentials changed, since the login read them. The account's row
    /// is held from the check to the commit (PostgreSQL: `FOR SHARE`; SQLite: the write
    /// lock), so a change to it commits either before the check, which then fails, or after
    /// the insert, and then ends this session with the others.
    pub fn insert(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<bool> {
        conn.write_transaction(|conn| {
            if let Some(user_id) = row.user_id {
                let account = users::table
                    .find(user_id)
                    .filter(users::credentials_version.eq(row.credentials_version))
                    .filter(users::disabled_at.is_null())
                    .select(users::id);
                let holds = match conn {
                    DbConnection::Sqlite(c) => account.first::<i32>(c).optional()?,
                    DbConnection::Postgres(c) => account.for_share().first::<i32>(c).optional()?,
                };
                if holds.is_none() {
                    return Ok(false);
                }
            }
            diesel::insert_into(sessions::table)
                .values(row)
                .execute(conn)
                .map(|_| true)
        })
    }

    /// Moves the user's session shown as `public_id` to another credentials version (the one
    /// a password change keeps); false if there is no such session (it was ended).
    pub fn set_credentials_version(
        conn: &mut DbConnection,
        user_id: i32,
        public_id: &str,
        version: i32,
    ) -> QueryResult<bool> {
        diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::public_id.eq(public_id)),
        )
        .set(sessions::credentials_version.eq(version))
        .execute(conn)
        .map(|n| n == 1)
    }

    /// Replaces the state of a live session (where and when it started stay as the login
    /// wrote them); false if it is gone (expired or revoked meanwhile).
    pub fn update_state(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<bool> {
        diesel::update(sessions::table.find(&row.id))
            .set((
                sessions::user_id.eq(row.user_id),
                sessions::state.eq(&row.state),
                sessions::idle_expires_at.eq(row.idle_expires_at),
                sessions::public_id.eq(&row.public_id),
            ))
            .execute(conn)
            .map(|n| n == 1)
    }

    /// The user's live sessions, the most recently used first.
    pub fn live_for_user(
        conn: &mut DbConnection,
        user_id: i32,
        now: i64,
    ) -> QueryResult<Vec<SessionRow>> {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::idle_expires_at.gt(now))
            .filter(sessions::expires_at.gt(now))
            .order(sessions::idle_expires_at.desc())
            .select(SessionRow::as_select())
            .load(conn)
    }

    /// Ends the user's session shown as `public_id`; returns its row id, if there was one.
    pub fn delete_by_public_id(
        conn: &mut DbConnection,
        user_id: i32,
        public_id: &str,
    ) -> QueryResult<Option<String>> {
        diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::public_id.eq(public_id)),
        )
        .returning(sessions::id)
        .get_result(conn)
        .optional()
    }

    /// Pushes the idle deadline, and notes that its user was seen; false if the session is
    /// gone.
    pub fn touch(conn: &mut DbConnection, id: &str, idle_expires_at: i64) -> QueryResult<bool> {
        let touched = diesel::update(sessions::table.find(id))
            .set(sessions::idle_expires_at.eq(idle_expires_at))
            .execute(conn)?
            == 1;
        if touched {
            diesel::update(users::table)
                .filter(
                    users::id
                        .nullable()
                        .eq_any(sessions::table.find(id).select(sessions::user_id)),
                )
                .set(users::last_seen_at.eq(Some(super::now())))
                .execute(conn)?;
        }
        Ok(touched)
    }

    pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
        diesel::delete(sessions::table.find(id))
            .execute(conn)
            .map(drop)
    }

    /// Revokes every session of the user; returns how many.
    pub fn delete_for_user(conn: &mut DbConnection, user_id: i32) -> QueryResult<usize> {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
    }

    /// Revokes every session of the user but the one shown as `keep`; returns how many.
    pub fn delete_for_user_except(
        conn: &mut DbConnection,
        user_id: i32,
        keep: &str,
    ) -> QueryResult<usize> {
        diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::public_id.ne(keep)),
        )
        .execute(conn)
    }

    /// Removes expired sessions; returns how many.
    pub fn delete_expired(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
        diesel::delete(
            sessions::table.filter(
                sessions::idle_expires_at
                    .le(now)
                    .or(sessions::expires_at.le(now)),
            ),
        )
        .execute(conn)
    }
}

/// Whether a session (joined with its account, if any) still holds: anonymous, or logged in
/// to an enabled account at the credentials version it logged in with.
#[diesel::dsl::auto_type]
fn holds() -> _ {
    sessions::user_id.is_null().or(users::credentials_version
        .nullable()
        .eq(sessions::credentials_version.nullable())
        .and(users::disabled_at.is_null()))
}
