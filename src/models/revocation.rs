//! The revocations table: changes to stored sessions that every running server must hear of
//! (see `auth::session_store::follow_revocations`): all of a user's sessions ended, or one
//! session ended or changed. The sessions table is the truth; this only tells the servers'
//! caches what to forget.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

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

    /// The database's time, in Unix seconds: what revocations are stamped and purged by, so
    /// that every server on one database agrees whatever its own clock says.
    pub fn now(conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::select(db_now(conn)).get_result(conn)
    }

    /// The revocations numbered above `after` or among `missing` (numbers skipped by an
    /// earlier read: on PostgreSQL a lower number can commit after a higher one), by number,
    /// and the database's time (see `now`), in one statement: servers ask twice a second.
    pub fn after(
        conn: &mut DbConnection,
        after: i32,
        missing: &[i32],
    ) -> QueryResult<(Vec<(i32, Revoked)>, i64)> {
        // Numbers only, made here: nothing anyone typed reaches the SQL.
        let mut wanted = format!("r.id > {after}");
        if !missing.is_empty() {
            let missing: Vec<String> = missing.iter().map(i32::to_string).collect();
            wanted.push_str(&format!(" OR r.id IN ({})", missing.join(", ")));
        }
        // One row with the time and no revocation when there is none.
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT {} AS now, r.id, r.user_id, r.session_id \
             FROM (SELECT 1 AS one) AS clock LEFT JOIN revocations r ON {wanted} ORDER BY r.id",
            now_sql(conn)
        ))
        .load(conn)?;
        let now = rows.first().map_or(0, |row| row.now);
        let revoked = rows
            .into_iter()
            .filter_map(|row| match (row.id?, row.user_id, row.session_id) {
                (id, Some(user), _) => Some((id, Revoked::User(user))),
                (id, None, Some(session)) => Some((id, Revoked::Session(session))),
                (_, None, None) => None,
            })
            .collect();
        Ok((revoked, now))
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
fn now_sql(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Sqlite(_) => "CAST(strftime('%s', 'now') AS BIGINT)",
        DbConnection::Postgres(_) => "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",
    }
}

fn db_now(conn: &DbConnection) -> diesel::expression::SqlLiteral<BigInt> {
    diesel::dsl::sql::<BigInt>(now_sql(conn))
}

/// A row of `Revocation::after`.
#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    now: i64,
    #[diesel(sql_type = Nullable<Integer>)]
    id: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    user_id: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    session_id: Option<String>,
}
