//! The revocations table: "every session of this user ended", in order, for every running
//! server to follow (see `auth::session_store::follow_revocations`). The sessions table is the
//! truth; this only tells the servers' caches what to forget.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::revocations;

pub struct Revocation;

impl Revocation {
    /// Records that the user's sessions ended just now. Call inside the transaction that
    /// deleted them.
    pub fn record(conn: &mut DbConnection, user_id: i32) -> QueryResult<()> {
        diesel::insert_into(revocations::table)
            .values((
                revocations::user_id.eq(user_id),
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

    /// The revocations recorded at or after `since` (Unix seconds): (number, user). Read by
    /// time rather than from the last number seen: on PostgreSQL a lower number can commit
    /// after a higher one.
    pub fn since(conn: &mut DbConnection, since: i64) -> QueryResult<Vec<(i32, i32)>> {
        revocations::table
            .filter(revocations::revoked_at.ge(since))
            .select((revocations::id, revocations::user_id))
            .load(conn)
    }

    /// Forgets revocations made before `before` (Unix seconds); every server has read them.
    pub fn purge(conn: &mut DbConnection, before: i64) -> QueryResult<usize> {
        diesel::delete(revocations::table.filter(revocations::revoked_at.lt(before))).execute(conn)
    }
}
