//! The presence table (PostgreSQL only): one row per user, which every server on the database
//! writes in batches and reads back (see `live::shared`). UNLOGGED: heartbeats cost no
//! write-ahead log.

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
    #[diesel(sql_type = BigInt)]
    written_ms: i64,
}

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

    /// The rows written after `since_ms` (the database's clock), and the latest write time
    /// among them (or `since_ms` if none).
    pub fn written_since(
        conn: &mut DbConnection,
        since_ms: i64,
    ) -> QueryResult<(Vec<PresenceRow>, i64)> {
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT user_id, username, room_id, at_ms, typing_until_ms, written_ms \
             FROM presence WHERE written_ms > $1",
        )
        .bind::<BigInt, _>(since_ms)
        .load(postgres(conn)?)?;
        let latest = rows.iter().map(|r| r.written_ms).max().unwrap_or(since_ms);
        Ok((
            rows.into_iter()
                .map(|r| PresenceRow {
                    user_id: r.user_id,
                    username: r.username,
                    room_id: r.room_id,
                    at_ms: r.at_ms,
                    typing_until_ms: r.typing_until_ms,
                })
                .collect(),
            latest,
        ))
    }
}
