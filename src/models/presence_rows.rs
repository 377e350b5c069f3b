//! The presence tables (PostgreSQL only), which every server on the database writes and reads
//! back (see `live::shared`): `presence`, one row per user, written in batches when something
//! changes; and `presence_sets`, one row per server, its set of people, written every few
//! seconds. UNLOGGED: neither costs write-ahead log.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};

use super::rate::postgres;
use crate::db::DbConnection;

/// One user's presence as servers write it for each other (the `presence` table's row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceRow {
    pub user_id: i32,
    pub username: String,
    /// None: gone (left, moved away, logged out).
    pub room_id: Option<i32>,
    /// When it was so, in Unix milliseconds.
    pub at_ms: i64,
    /// Until when they type, in Unix milliseconds (0: not typing).
    pub typing_until_ms: i64,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Integer)]
    user_id: i32,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Nullable<Integer>)]
    room_id: Option<i32>,
    #[diesel(sql_type = BigInt)]
    at_ms: i64,
    #[diesel(sql_type = BigInt)]
    typing_until_ms: i64,
}

/// Another server's set, as it last wrote it.
#[derive(QueryableByName)]
struct SetRow {
    #[diesel(sql_type = BigInt)]
    server_id: i64,
    #[diesel(sql_type = Array<Integer>)]
    user_ids: Vec<i32>,
    #[diesel(sql_type = Array<Text>)]
    usernames: Vec<String>,
    #[diesel(sql_type = Array<Integer>)]
    room_ids: Vec<i32>,
    #[diesel(sql_type = Array<BigInt>)]
    seen_ms: Vec<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    typing_until_ms: Vec<i64>,
    #[diesel(sql_type = BigInt)]
    written_ms: i64,
}

/// A set another server wrote: who polls it, each as a row about their last poll there.
pub struct PresenceSet {
    pub server_id: i64,
    pub written_ms: i64,
    pub rows: Vec<PresenceRow>,
}

/// How long a server's set stays in the table after its last write: long past presence's
/// timeout (a server that stopped is forgotten), short enough to keep the table small.
const SET_KEPT_MS: i64 = 3_600_000;

/// The database's clock in Unix milliseconds, as SQL.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

pub struct PresenceRows;

impl PresenceRows {
    /// Writes the rows in one statement. A row about an older moment than the one stored
    /// for its user is skipped: another server knew better.
    pub fn write(conn: &mut DbConnection, rows: &[PresenceRow]) -> QueryResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        diesel::sql_query(format!(
            "INSERT INTO presence (user_id, username, room_id, at_ms, typing_until_ms, written_ms) \
             SELECT u, n, r, a, t, {DB_NOW_MS} \
             FROM unnest($1::int[], $2::text[], $3::int[], $4::bigint[], $5::bigint[]) AS x(u, n, r, a, t) \
             ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, \
                 room_id = EXCLUDED.room_id, at_ms = EXCLUDED.at_ms, \
                 typing_until_ms = EXCLUDED.typing_until_ms, written_ms = EXCLUDED.written_ms \
             WHERE presence.at_ms <= EXCLUDED.at_ms"
        ))
        .bind::<Array<Integer>, _>(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.username.as_str()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Integer>>, _>(rows.iter().map(|r| r.room_id).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.at_ms).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.typing_until_ms).collect::<Vec<_>>())
        .execute(postgres(conn)?)
        .map(drop)
    }

    /// The database's clock now, in Unix milliseconds: the moment a read that follows sees
    /// everything committed before.
    pub fn now_ms(conn: &mut DbConnection) -> QueryResult<i64> {
        #[derive(QueryableByName)]
        struct Now {
            #[diesel(sql_type = BigInt)]
            now_ms: i64,
        }
        let now: Now = diesel::sql_query(format!("SELECT {DB_NOW_MS} AS now_ms"))
            .get_result(postgres(conn)?)?;
        Ok(now.now_ms)
    }

    /// The rows written after `since_ms` (the database's clock).
    pub fn written_since(conn: &mut DbConnection, since_ms: i64) -> QueryResult<Vec<PresenceRow>> {
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT user_id, username, room_id, at_ms, typing_until_ms \
             FROM presence WHERE written_ms > $1",
        )
        .bind::<BigInt, _>(since_ms)
        .load(postgres(conn)?)?;
        Ok(rows
            .into_iter()
            .map(|r| PresenceRow {
                user_id: r.user_id,
                username: r.username,
                room_id: r.room_id,
                at_ms: r.at_ms,
                typing_until_ms: r.typing_until_ms,
            })
            .collect())
    }

    /// Writes this server's set of present people (each `room_id` Some, `at_ms` their last poll
    /// here) over the one it wrote before, and forgets the sets of servers long gone.
    pub fn write_set(
        conn: &mut DbConnection,
        server_id: i64,
        rows: &[PresenceRow],
    ) -> QueryResult<()> {
        let conn = postgres(conn)?;
        diesel::sql_query(format!(
            "INSERT INTO presence_sets \
                 (server_id, user_ids, usernames, room_ids, seen_ms, typing_until_ms, written_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, {DB_NOW_MS}) \
             ON CONFLICT (server_id) DO UPDATE SET user_ids = EXCLUDED.user_ids, \
                 usernames = EXCLUDED.usernames, room_ids = EXCLUDED.room_ids, \
                 seen_ms = EXCLUDED.seen_ms, typing_until_ms = EXCLUDED.typing_until_ms, \
                 written_ms = EXCLUDED.written_ms"
        ))
        .bind::<BigInt, _>(server_id)
        .bind::<Array<Integer>, _>(rows.iter().map(|r| r.user_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(rows.iter().map(|r| r.username.as_str()).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(
            rows.iter()
                .map(|r| r.room_id.unwrap_or(0))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.at_ms).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.typing_until_ms).collect::<Vec<_>>())
        .execute(conn)?;
        diesel::sql_query(format!(
            "DELETE FROM presence_sets WHERE written_ms < {DB_NOW_MS} - $1"
        ))
        .bind::<BigInt, _>(SET_KEPT_MS)
        .execute(conn)
        .map(drop)
    }

    /// The other servers' sets written after `since_ms` (the database's clock).
    pub fn sets_written_since(
        conn: &mut DbConnection,
        server_id: i64,
        since_ms: i64,
    ) -> QueryResult<Vec<PresenceSet>> {
        let sets: Vec<SetRow> = diesel::sql_query(
            "SELECT server_id, user_ids, usernames, room_ids, seen_ms, typing_until_ms, written_ms \
             FROM presence_sets WHERE written_ms > $1 AND server_id <> $2",
        )
        .bind::<BigInt, _>(since_ms)
        .bind::<BigInt, _>(server_id)
        .load(postgres(conn)?)?;
        Ok(sets
            .into_iter()
            .map(|set| PresenceSet {
                server_id: set.server_id,
                written_ms: set.written_ms,
                rows: set
                    .user_ids
                    .into_iter()
                    .zip(set.usernames)
                    .zip(set.room_ids)
                    .zip(set.seen_ms.into_iter().zip(set.typing_until_ms))
                    .map(
                        |(((user_id, username), room_id), (at_ms, typing_until_ms))| PresenceRow {
                            user_id,
                            username,
                            room_id: Some(room_id),
                            at_ms,
                            typing_until_ms,
                        },
                    )
                    .collect(),
            })
            .collect())
    }
}
