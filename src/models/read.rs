//! The room_reads table: how far each user has read in each room.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

use diesel::upsert::excluded;

use crate::db::schema::{room_reads, rooms};

pub struct RoomRead;

#[derive(QueryableByName)]
struct UnreadRow {
    #[diesel(sql_type = Integer)]
    room_id: i32,
    #[diesel(sql_type = BigInt)]
    unread: i64,
}

impl RoomRead {
    /// Records read marks `(user, room, last read id)`, in one transaction, a few hundred rows
    /// per statement. The caller hands over only marks that grew; a mark for a room deleted
    /// since is dropped, not an error.
    pub fn record(conn: &mut SqliteConnection, marks: &[(i32, i32, i32)]) -> QueryResult<()> {
        conn.immediate_transaction(|conn| {
            let rooms: HashSet<i32> = rooms::table
                .select(rooms::id)
                .load::<i32>(conn)?
                .into_iter()
                .collect();
            let rows: Vec<_> = marks
                .iter()
                .filter(|(_, room_id, _)| rooms.contains(room_id))
                .map(|&(user_id, room_id, last_read_id)| {
                    (
                        room_reads::user_id.eq(user_id),
                        room_reads::room_id.eq(room_id),
                        room_reads::last_read_id.eq(last_read_id),
                    )
                })
                .collect();
            for chunk in rows.chunks(500) {
                diesel::insert_into(room_reads::table)
                    .values(chunk)
                    .on_conflict((room_reads::user_id, room_reads::room_id))
                    .do_update()
                    .set(room_reads::last_read_id.eq(excluded(room_reads::last_read_id)))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    pub fn last_read(
        conn: &mut SqliteConnection,
        user_id: i32,
        room_id: i32,
    ) -> QueryResult<Option<i32>> {
        room_reads::table
            .find((user_id, room_id))
            .select(room_reads::last_read_id)
            .first(conn)
            .optional()
    }

    /// Per room: the messages by others, not deleted, past the user's read mark.
    pub fn unread_counts(
        conn: &mut SqliteConnection,
        user_id: i32,
    ) -> QueryResult<HashMap<i32, i64>> {
        let rows: Vec<UnreadRow> = diesel::sql_query(
            "SELECT l.room_id AS room_id, COUNT(*) AS unread
             FROM log_entries l
             LEFT JOIN room_reads r ON r.room_id = l.room_id AND r.user_id = ?
             WHERE l.kind = 'message' AND l.deleted_at IS NULL AND l.author_id <> ?
               AND l.id > COALESCE(r.last_read_id, 0)
             GROUP BY l.room_id",
        )
        .bind::<Integer, _>(user_id)
        .bind::<Integer, _>(user_id)
        .load(conn)?;
        Ok(rows.into_iter().map(|r| (r.room_id, r.unread)).collect())
    }
}
