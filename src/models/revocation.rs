//! The revocations table: changes to stored sessions that every running server must hear of
//! (see `auth::session_store::follow_revocations`): all of a user's sessions ended, or one
//! session ended or changed. The sessions table is the truth; this only tells the servers'
//! caches what to forget.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::revocations;

/// What a revocation names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Every session of the user.
    User(i32),
    /// One session, by its row id.
    Session(String),
}

pub struct Revocation;

impl Revocation {
    /// Records that the user's sessions all ended just now. Call inside the transaction that
    /// deleted them.
    pub fn record(conn: &mut DbConnection, user_id: i32) -> QueryResult<()> {
        Self::insert(conn, Some(user_id), None)
    }

    /// Records that one session (by its row id) ended or changed just now.
    pub fn record_session(conn: &mut DbConnection, session_id: &str) -> QueryResult<()> {
        Self::insert(conn, None, Some(session_id))
    }

    fn insert(
        conn: &mut DbConnection,
        user_id: Option<i32>,
        session_id: Option<&str>,
    ) -> QueryResult<()> {
        diesel::insert_into(revocations::table)
            .values((
                revocations::user_id.eq(user_id),
                revocations::session_id.eq(session_id),
                revocations::revoked_at.eq(Self::now()),
            ))
            .execute(conn)
            .map(drop)
    }

    /// The time as revocations are stamped and read, in Unix seconds: the system's clock,
    /// which every process on the database shares, whatever clock a server's sessions run on.
    pub fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// The revocations recorded at or after `since` (Unix seconds), by number. Read by time
    /// rather than from the last number seen: on PostgreSQL a lower number can commit after a
    /// higher one.
    pub fn since(conn: &mut DbConnection, since: i64) -> QueryResult<Vec<(i32, Revoked)>> {
        let rows: Vec<(i32, Option<i32>, Option<String>)> = revocations::table
            .filter(revocations::revoked_at.ge(since))
            .select((
                revocations::id,
                revocations::user_id,
                revocations::session_id,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, user, session)| match (user, session) {
                (Some(user), _) => Some((id, Revoked::User(user))),
                (None, Some(session)) => Some((id, Revoked::Session(session))),
                (None, None) => None,
            })
            .collect())
    }

    /// Forgets revocations made before `before` (Unix seconds); every server has read them.
    pub fn purge(conn: &mut DbConnection, before: i64) -> QueryResult<usize> {
        diesel::delete(revocations::table.filter(revocations::revoked_at.lt(before))).execute(conn)
    }
}
