//! The rate_events table (PostgreSQL only): the events each rate limit counts, shared by
//! every server on the database (see `throttle::SharedLimits`). Counted through the
//! functions its migrations define (`chatroom_rate_hit_many` for a batch of events,
//! `chatroom_rate_hit_all` for a login's counters), a batch per round trip.

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

impl RateEvents {
    /// Counts each event at `now_ms`, in one round trip (see the `chatroom_rate_hit_many`
    /// function): for each, in the order given, 0 when counted, else how many milliseconds
    /// until one more fits. Events under one name are counted in the order given. Each name's
    /// lock is held to the end of the transaction, and the locks are taken in one order
    /// whatever the order given, so that two batches never each hold a lock the other waits
    /// for.
    pub fn hit_many(conn: &mut DbConnection, hits: &[Hit], now_ms: i64) -> QueryResult<Vec<i64>> {
        #[derive(QueryableByName)]
        struct Waits {
            #[diesel(sql_type = Array<BigInt>)]
            waits: Vec<i64>,
        }
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let (names, windows, maxes) = columns(hits);
        let Waits { waits } =
            diesel::sql_query("SELECT chatroom_rate_hit_many($1, $2, $3, $4) AS waits")
                .bind::<Array<Text>, _>(names)
                .bind::<BigInt, _>(now_ms)
                .bind::<Array<BigInt>, _>(windows)
                .bind::<Array<Integer>, _>(maxes)
                .get_result(postgres(conn)?)?;
        if waits.len() != hits.len() {
            return Err(diesel::result::Error::NotFound);
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
        let (names, windows, maxes) = columns(hits);
        diesel::sql_query("SELECT chatroom_rate_hit_all($1, $2, $3, $4) AS wait_ms")
            .bind::<Array<Text>, _>(names)
            .bind::<BigInt, _>(now_ms)
            .bind::<Array<BigInt>, _>(windows)
            .bind::<Array<Integer>, _>(maxes)
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

/// The hits as the functions take them: their names, windows and maxima, one array each.
fn columns(hits: &[Hit]) -> (Vec<&str>, Vec<i64>, Vec<i32>) {
    (
        hits.iter().map(|h| h.name.as_str()).collect(),
        hits.iter().map(|h| h.window_ms).collect(),
        hits.iter().map(|h| h.max).collect(),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_databases;

    fn hit(name: &str, max: i32) -> Hit {
        Hit {
            name: name.to_owned(),
            window_ms: 1_000,
            max,
        }
    }

    #[test]
    fn a_batch_of_hits_counts_each_name_in_order_and_answers_in_the_order_given() {
        // The shared counters live on PostgreSQL only (and under CI, test_databases fails
        // without it).
        let postgres = test_databases()
            .into_iter()
            .find(|(_, conn)| conn.backend() == crate::db::Backend::Postgres);
        let Some((_db, mut conn)) = postgres else {
            crate::test_programs::skip_without_postgres(&crate::db::shown(
                &crate::db::test_postgres(),
            ));
            return;
        };
        assert!(RateEvents::hit_many(&mut conn, &[], 0).unwrap().is_empty());
        // "b" sorts before or after "a" by its lock key; the answers keep the given order.
        let batch = [
            hit("a", 2),
            hit("b", 1),
            hit("a", 2),
            hit("a", 2),
            hit("b", 1),
        ];
        let waits = RateEvents::hit_many(&mut conn, &batch, 10_000).unwrap();
        assert_eq!(&waits[..3], &[0, 0, 0], "within each name's maximum");
        assert!(
            waits[3] > 0 && waits[4] > 0,
            "past it, how long until one fits: {waits:?}"
        );
        assert!(waits[3] <= 1_000 && waits[4] <= 1_000, "{waits:?}");
        let later = RateEvents::hit_many(&mut conn, &batch[..2], 11_000).unwrap();
        assert_eq!(later, vec![0, 0], "the window slid past the first hits");
    }
}
