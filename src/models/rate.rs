//! The rate_events table (PostgreSQL only): the events each rate limit counts, shared by
//! every server on the database (see `throttle::SharedLimits`). One call each, through the
//! `chatroom_rate_hit` function its migration defines.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use crate::db::DbConnection;

pub struct RateEvents;

#[derive(QueryableByName)]
struct Wait {
    #[diesel(sql_type = BigInt)]
    wait_ms: i64,
}

impl RateEvents {
    /// Counts an event under `name` at `now_ms` unless `max` were counted within the last
    /// `window_ms`: 0 when counted, else how many milliseconds until one more fits.
    pub fn hit(
        conn: &mut DbConnection,
        name: &str,
        now_ms: i64,
        window_ms: i64,
        max: i32,
    ) -> QueryResult<i64> {
        let conn = postgres(conn)?;
        diesel::sql_query("SELECT chatroom_rate_hit($1, $2, $3, $4) AS wait_ms")
            .bind::<Text, _>(name)
            .bind::<BigInt, _>(now_ms)
            .bind::<BigInt, _>(window_ms)
            .bind::<Integer, _>(max)
            .get_result::<Wait>(conn)
            .map(|wait| wait.wait_ms)
    }

    /// Forgets every event under `name`.
    pub fn reset(conn: &mut DbConnection, name: &str) -> QueryResult<()> {
        diesel::sql_query("DELETE FROM rate_events WHERE name = $1")
            .bind::<Text, _>(name)
            .execute(postgres(conn)?)
            .map(drop)
    }

    /// Forgets the latest event under `name`.
    pub fn give_back(conn: &mut DbConnection, name: &str) -> QueryResult<()> {
        diesel::sql_query(
            "DELETE FROM rate_events WHERE ctid = (SELECT ctid FROM rate_events \
             WHERE name = $1 ORDER BY at_ms DESC LIMIT 1)",
        )
        .bind::<Text, _>(name)
        .execute(postgres(conn)?)
        .map(drop)
    }

    /// Forgets the events older than `before_ms` under every name (the hits forget their
    /// own name's; this sweeps the names nobody hits any more).
    pub fn purge(conn: &mut DbConnection, before_ms: i64) -> QueryResult<usize> {
        diesel::sql_query("DELETE FROM rate_events WHERE at_ms < $1")
            .bind::<BigInt, _>(before_ms)
            .execute(postgres(conn)?)
    }
}

/// The PostgreSQL connection inside; the shared tables exist only there.
pub(crate) fn postgres(conn: &mut DbConnection) -> QueryResult<&mut diesel::PgConnection> {
    match conn {
        DbConnection::Postgres(conn) => Ok(conn),
        DbConnection::Sqlite(_) => Err(diesel::result::Error::QueryBuilderError(
            "state shared between servers is kept on PostgreSQL only".into(),
        )),
    }
}
