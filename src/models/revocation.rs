//! The revocations table: changes to stored sessions that every running server must hear of
//! (see `auth::session_store::follow_revocations`): all of a user's sessions ended, or one
//! session ended or changed. The sessions table is the truth; this only tells the servers'
//! caches what to forget.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

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
        let now = db_now(conn);
        diesel::insert_into(revocations::table)
            .values((
                revocations::user_id.eq(user_id),
                revocations::session_id.eq(session_id),
                revocations::revoked_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    }

    /// The database's time, in Unix seconds: what revocations are stamped and read by, so
    /// that every server on one database agrees whatever its own clock says.
    pub fn now(conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::select(db_now(conn)).get_result(conn)
    }

    /// The revocations numbered above `after` or among `missing` (numbers skipped by an
    /// earlier read: on PostgreSQL a lower number can commit after a higher one), by number.
    pub fn after(
        conn: &mut DbConnection,
        after: i32,
        missing: &[i32],
    ) -> QueryResult<Vec<(i32, Revoked)>> {
        let rows: Vec<(i32, Option<i32>, Option<String>)> = revocations::table
            .filter(
                revocations::id
                    .gt(after)
                    .or(revocations::id.eq_any(missing)),
            )
            .order(revocations::id)
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

    /// Forgets revocations made more than `kept` seconds ago by the database's clock; every
    /// server has read them (one that may not have forgets its whole cache: see
    /// `auth::session_store::RevocationCursor`).
    pub fn purge(conn: &mut DbConnection, kept: i64) -> QueryResult<usize> {
        let before = Self::now(conn)? - kept;
        diesel::delete(revocations::table.filter(revocations::revoked_at.lt(before))).execute(conn)
    }
}

/// The database's clock in Unix seconds, as SQL for this backend.
fn db_now(conn: &DbConnection) -> diesel::expression::SqlLiteral<BigInt> {
    diesel::dsl::sql::<BigInt>(match conn {
        DbConnection::Sqlite(_) => "CAST(strftime('%s', 'now') AS BIGINT)",
        DbConnection::Postgres(_) => "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",
    })
}
