//! The rate_events table (PostgreSQL only): the events each rate limit counts, shared by
//! every server on the database (see `throttle::SharedLimits`). Counted through the
//! `chatroom_rate_hit` function its migration defines, a batch of events per round trip.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text};

use crate::db::DbConnection;

pub struct RateEvents;

/// An event to count: under `name`, unless `max` were counted within the last `window_ms`.
#[derive(Debug, Clone)]
pub struct Hit {
    pub name: String,
    pub window_ms: i64,
    pub max: i32,
}

#[derive(QueryableByName)]
struct Waited {
    /// The hit's place in the batch, from 1.
    #[diesel(sql_type = BigInt)]
    place: i64,
    #[diesel(sql_type = BigInt)]
    wait_ms: i64,
}

impl RateEvents {
    /// Counts each event at `now_ms`, in one round trip: for each, in the order given, 0 when
    /// counted, else how many milliseconds until one more fits. Events under one name are
    /// counted in the order given. Each name's lock is held to the end of the statement, and
    /// the locks are taken in one order whatever the order given, so that two batches never
    /// each hold a lock the other waits for.
    pub fn hit_many(conn: &mut DbConnection, hits: &[Hit], now_ms: i64) -> QueryResult<Vec<i64>> {
        let conn = postgres(conn)?;
        // The subquery's ORDER BY keeps it from being merged into the outer query: the
        // function runs on its rows in their sorted order.
        let waited = diesel::sql_query(
            "SELECT t.place, chatroom_rate_hit(t.name, $1, t.window_ms, t.max_events) AS wait_ms \
             FROM (SELECT * FROM unnest($2::text[], $3::bigint[], $4::int[]) \
                   WITH ORDINALITY AS u(name, window_ms, max_events, place) \
                   ORDER BY hashtextextended('rate:' || u.name, 0), u.place) AS t",
        )
        .bind::<BigInt, _>(now_ms)
        .bind::<Array<Text>, _>(hits.iter().map(|h| h.name.as_str()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(hits.iter().map(|h| h.window_ms).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(hits.iter().map(|h| h.max).collect::<Vec<_>>())
        .load::<Waited>(conn)?;
        let mut waits = vec![0; hits.len()];
        for w in waited {
            let place = usize::try_from(w.place - 1).ok();
            match place.and_then(|p| waits.get_mut(p)) {
                Some(wait) => *wait = w.wait_ms,
                None => return Err(diesel::result::Error::NotFound),
            }
        }
        Ok(waits)
    }

    /// Counts an event under each of the names at `now_ms` if all have room, else none, in
    /// one round trip (see the `chatroom_rate_hit_all` function): 0 when counted, else how
    /// many milliseconds until all have room.
    pub fn hit_all(conn: &mut DbConnection, hits: &[Hit], now_ms: i64) -> QueryResult<i64> {
        #[derive(QueryableByName)]
        struct Wait {
            #[diesel(sql_type = BigInt)]
            wait_ms: i64,
        }
        diesel::sql_query("SELECT chatroom_rate_hit_all($1, $2, $3, $4) AS wait_ms")
            .bind::<Array<Text>, _>(hits.iter().map(|h| h.name.as_str()).collect::<Vec<_>>())
            .bind::<BigInt, _>(now_ms)
            .bind::<Array<BigInt>, _>(hits.iter().map(|h| h.window_ms).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(hits.iter().map(|h| h.max).collect::<Vec<_>>())
            .get_result::<Wait>(postgres(conn)?)
            .map(|w| w.wait_ms)
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
    /// own name's; this sweeps the names nobody hits any more). Rows a hit holds are skipped:
    /// the sweep waits for no lock, so it never deadlocks with a batch of hits.
    pub fn purge(conn: &mut DbConnection, before_ms: i64) -> QueryResult<usize> {
        diesel::sql_query(
            "DELETE FROM rate_events WHERE ctid IN (SELECT ctid FROM rate_events \
             WHERE at_ms < $1 FOR UPDATE SKIP LOCKED)",
        )
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
