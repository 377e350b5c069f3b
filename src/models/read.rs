//! The room_reads table: how far each user has read in each room.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

use crate::db::schema::room_reads;

pub struct RoomRead;

#[derive(QueryableByName)]
struct UnreadRow {
    #[diesel(sql_type = Integer)]
    room_id: i32,
    #[diesel(sql_type = BigInt)]
    unread: i64,
}

impl RoomRead {
    /// Records read marks `(user, room, last read id)`, in one transaction. Marks only grow.
    pub fn record(conn: &mut SqliteConnection, marks: &[(i32, i32, i32)]) -> QueryResult<()> {
        conn.immediate_transaction(|conn| {
            for &(user_id, room_id, last_read_id) in marks {
                diesel::sql_query(
                    // A mark for a room deleted since is dropped, not an error.
                    "INSERT INTO room_reads (user_id, room_id, last_read_id)
                     SELECT ?, id, ? FROM rooms WHERE id = ?
                     ON CONFLICT (user_id, room_id)
                     DO UPDATE SET last_read_id = max(last_read_id, excluded.last_read_id)",
                )
                .bind::<Integer, _>(user_id)
                .bind::<Integer, _>(last_read_id)
                .bind::<Integer, _>(room_id)
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
