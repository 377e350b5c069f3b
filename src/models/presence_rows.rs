//! The presence tables (PostgreSQL only), which every server on the database writes and reads
//! back (see `live::shared`): `presence`, one row per user, written in batches when something
//! changes; and `presence_sets`, one row per server, its set of people, written every few
//! seconds. UNLOGGED: neither costs write-ahead log.

use diesel::prelude::*;
use diesel::result::Error::DeserializationError;
use diesel::sql_types::{Array, BigInt, Binary, Integer, Nullable, Text};

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
    #[diesel(sql_type = Binary)]
    members: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    written_ms: i64,
}

/// A server's set of present people as `presence_sets.members` stores it: for each, the user's
/// id and the room's (4 bytes each), when they last polled there and until when they type (8
/// bytes each, Unix milliseconds, 0: not typing), all little-endian, then their name's length
/// in bytes (2) and the name.
///
/// One byte string, which PostgreSQL stores as it comes. As six arrays, a set of 40,000 people
/// cost PostgreSQL 55-65 ms a heartbeat (parsing 40,000 elements of each, compressing them)
/// and the server's core some 40 ms more, while that second's polls waited; packed, the
/// write takes about 3 ms.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PackedSet(Vec<u8>);

impl PackedSet {
    /// Bytes before the name.
    const FIXED: usize = 4 + 4 + 8 + 8 + 2;

    /// Room for about `people`.
    pub fn with_capacity(people: usize) -> Self {
        Self(Vec::with_capacity(people * (Self::FIXED + 12)))
    }

    /// Adds someone present in `room_id`. A name longer than 65,535 bytes (none is: see
    /// `domain::Username`) would be left out.
    pub fn push(
        &mut self,
        user_id: i32,
        room_id: i32,
        seen_ms: i64,
        typing_until_ms: i64,
        username: &str,
    ) {
        let Ok(len) = u16::try_from(username.len()) else {
            return;
        };
        let out = &mut self.0;
        out.extend_from_slice(&user_id.to_le_bytes());
        out.extend_from_slice(&room_id.to_le_bytes());
        out.extend_from_slice(&seen_ms.to_le_bytes());
        out.extend_from_slice(&typing_until_ms.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(username.as_bytes());
    }

    /// Each person, as a row about their last poll there; None if the bytes are not a whole
    /// set (cut short, or a name that is not UTF-8).
    pub fn rows(&self) -> Option<Vec<PresenceRow>> {
        let mut rows = Vec::new();
        let mut rest = self.0.as_slice();
        while !rest.is_empty() {
            let (fixed, after) = rest.split_at_checked(Self::FIXED)?;
            let (user_id, fixed) = fixed.split_first_chunk::<4>()?;
            let (room_id, fixed) = fixed.split_first_chunk::<4>()?;
            let (seen_ms, fixed) = fixed.split_first_chunk::<8>()?;
            let (typing_until_ms, len) = fixed.split_first_chunk::<8>()?;
            let len = u16::from_le_bytes(len.try_into().ok()?);
            let (name, after) = after.split_at_checked(usize::from(len))?;
            rows.push(PresenceRow {
                user_id: i32::from_le_bytes(*user_id),
                username: std::str::from_utf8(name).ok()?.to_owned(),
                room_id: Some(i32::from_le_bytes(*room_id)),
                at_ms: i64::from_le_bytes(*seen_ms),
                typing_until_ms: i64::from_le_bytes(*typing_until_ms),
            });
            rest = after;
        }
        Some(rows)
    }
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

    /// Writes this server's set of present people over the one it wrote before, and forgets
    /// the sets of servers long gone.
    pub fn write_set(conn: &mut DbConnection, server_id: i64, set: &PackedSet) -> QueryResult<()> {
        let conn = postgres(conn)?;
        diesel::sql_query(format!(
            "INSERT INTO presence_sets (server_id, members, written_ms) \
             VALUES ($1, $2, {DB_NOW_MS}) \
             ON CONFLICT (server_id) DO UPDATE SET members = EXCLUDED.members, \
                 written_ms = EXCLUDED.written_ms"
        ))
        .bind::<BigInt, _>(server_id)
        .bind::<Binary, _>(set.0.as_slice())
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
            "SELECT server_id, members, written_ms \
             FROM presence_sets WHERE written_ms > $1 AND server_id <> $2",
        )
        .bind::<BigInt, _>(since_ms)
        .bind::<BigInt, _>(server_id)
        .load(postgres(conn)?)?;
        sets.into_iter()
            .map(|set| {
                let rows = PackedSet(set.members).rows().ok_or_else(|| {
                    DeserializationError(
                        format!("server {}'s presence set is not whole", set.server_id).into(),
                    )
                })?;
                Ok(PresenceSet {
                    server_id: set.server_id,
                    written_ms: set.written_ms,
                    rows,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_set_reads_back_as_written_and_a_broken_one_not_at_all() {
        let row = |user_id, username: &str, room_id, at_ms, typing_until_ms| PresenceRow {
            user_id,
            username: username.to_owned(),
            room_id: Some(room_id),
            at_ms,
            typing_until_ms,
        };
        let mut set = PackedSet::with_capacity(2);
        assert_eq!(set.rows(), Some(vec![]));
        set.push(7, 1, 1_796_000_000_000, 0, "bob");
        set.push(-8, i32::MAX, 2, i64::MAX, "zoë");
        let rows = vec![
            row(7, "bob", 1, 1_796_000_000_000, 0),
            row(-8, "zoë", i32::MAX, 2, i64::MAX),
        ];
        assert_eq!(set.rows().as_ref(), Some(&rows));

        let whole = set.0.clone();
        for cut in [1, 2, PackedSet::FIXED] {
            let short = PackedSet(whole[..whole.len() - cut].to_vec());
            assert_eq!(short.rows(), None, "cut short by {cut}");
        }
        // The last byte of "zoë" alone: not UTF-8.
        let mut broken = whole.clone();
        let len_at = whole.len() - "zoë".len() - 2;
        broken[len_at] -= 1;
        broken.pop();
        assert_eq!(PackedSet(broken).rows(), None);
    }
}
