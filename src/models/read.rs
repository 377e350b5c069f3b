//! The room_reads table: how far each user has read in each room.

use std::collections::{HashMap, HashSet};

use diesel::dsl::sql;
use diesel::prelude::*;

use crate::db::DbConnection;
use diesel::sql_types::Integer;

use super::deletion_count::{DeletionCount, WHOLE_ROOM};
use crate::db::schema::{room_reads, rooms};

pub struct RoomRead;

/// A room's counters, and the running counts at the user's read mark.
#[derive(QueryableByName)]
struct CountsRow {
    #[diesel(sql_type = Integer)]
    room_id: i32,
    #[diesel(sql_type = Integer)]
    posted: i32,
    #[diesel(sql_type = Integer)]
    deleted: i32,
    #[diesel(sql_type = Integer)]
    mark: i32,
    #[diesel(sql_type = Integer)]
    read_posted: i32,
    #[diesel(sql_type = Integer)]
    own_posted: i32,
    #[diesel(sql_type = Integer)]
    own_read: i32,
}

impl RoomRead {
    /// Records read marks `(user, room, last read number)`, in one transaction, a few hundred rows
    /// per statement. A mark only moves forward; a mark for a room deleted since is dropped,
    /// not an error.
    pub fn record(conn: &mut DbConnection, marks: &[(i32, i32, i32)]) -> QueryResult<()> {
        conn.write_transaction(|conn| {
            for chunk in marks.chunks(500) {
                let named: HashSet<i32> = chunk.iter().map(|&(_, room_id, _)| room_id).collect();
                let named = rooms::table
                    .filter(rooms::id.eq_any(named))
                    .select(rooms::id);
                // On PostgreSQL the rooms are held (KEY SHARE: no delete, but posts go on) until
                // the marks commit, so that a room deleted meanwhile cannot fail the insert's
                // foreign key. SQLite's write lock already holds everything.
                let live: HashSet<i32> = match conn {
                    DbConnection::Sqlite(c) => named.load::<i32>(c)?,
                    DbConnection::Postgres(c) => named.for_key_share().load::<i32>(c)?,
                }
                .into_iter()
                .collect();
                let rows: Vec<_> = chunk
                    .iter()
                    .filter(|(_, room_id, _)| live.contains(room_id))
                    .map(|&(user_id, room_id, last_read_seq)| {
                        (
                            room_reads::user_id.eq(user_id),
                            room_reads::room_id.eq(room_id),
                            room_reads::last_read_seq.eq(last_read_seq),
                        )
                    })
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                // ON CONFLICT is beyond the multi-backend, so each arm builds it for its own.
                // Never backwards: two writes of one mark may commit in either order.
                macro_rules! upsert {
                    ($c:expr, $larger:literal) => {
                        diesel::insert_into(room_reads::table)
                            .values(rows)
                            .on_conflict((room_reads::user_id, room_reads::room_id))
                            .do_update()
                            .set(room_reads::last_read_seq.eq(sql::<Integer>($larger)))
                            .execute($c)?
                    };
                }
                match conn {
                    DbConnection::Sqlite(c) => {
                        upsert!(c, "max(room_reads.last_read_seq, excluded.last_read_seq)")
                    }
                    DbConnection::Postgres(c) => {
                        upsert!(
                            c,
                            "GREATEST(room_reads.last_read_seq, excluded.last_read_seq)"
                        )
                    }
                };
            }
            Ok(())
        })
    }

    pub fn last_read(
        conn: &mut DbConnection,
        user_id: i32,
        room_id: i32,
    ) -> QueryResult<Option<i32>> {
        room_reads::table
            .find((user_id, room_id))
            .select(room_reads::last_read_seq)
            .first(conn)
            .optional()
    }

    /// Per room of `room_ids`: the messages by others, not deleted, past the user's read mark.
    ///
    /// From counters, never a scan of the log, so its cost does not grow with the log: the
    /// messages posted past the mark (the room's count less the running count on the marked
    /// entry), less the user's own past it (the running counts on their latest message and on
    /// their latest at or below the mark, one index probe each), less the deleted ones past
    /// it by others (`DeletionCount`, for rooms that have any). Two statements; the caller
    /// runs them on one snapshot (`DbConnection::read_transaction`).
    pub fn unread_counts(
        conn: &mut DbConnection,
        user_id: i32,
        room_ids: &[i32],
    ) -> QueryResult<HashMap<i32, i64>> {
        if room_ids.is_empty() {
            return Ok(HashMap::new());
        }
        // Numbers only, written by us: nothing anyone typed reaches the SQL. The parameters are
        // `$1`, `$2`: PostgreSQL's own syntax, and SQLite's named parameters, numbered in order
        // of first appearance, so they must appear in order, each once. `?` is SQLite's only.
        // `kind = 'message'` is a literal, as `log_entries_room_author_seq`'s condition is.
        let ids: Vec<String> = room_ids.iter().map(i32::to_string).collect();
        let rows: Vec<CountsRow> = diesel::sql_query(format!(
            "SELECT c.room_id, c.posted, c.deleted, c.mark,
                 COALESCE((SELECT e.posted_through FROM log_entries e
                           WHERE e.room_id = c.room_id AND e.seq = c.mark), 0) AS read_posted,
                 COALESCE((SELECT e.author_through FROM log_entries e
                           WHERE e.room_id = c.room_id AND e.author_id = $1
                             AND e.kind = 'message'
                           ORDER BY e.seq DESC LIMIT 1), 0) AS own_posted,
                 COALESCE((SELECT e.author_through FROM log_entries e
                           WHERE e.room_id = c.room_id AND e.author_id = $2
                             AND e.kind = 'message' AND e.seq <= c.mark
                           ORDER BY e.seq DESC LIMIT 1), 0) AS own_read
             FROM (SELECT r.id AS room_id, r.posted, r.deleted,
                       CASE WHEN rr.last_read_seq IS NULL THEN 0
                            WHEN rr.last_read_seq > r.last_seq THEN r.last_seq
                            ELSE rr.last_read_seq END AS mark
                   FROM rooms r LEFT JOIN room_reads rr ON rr.room_id = r.id AND rr.user_id = $3
                   WHERE r.id IN ({})) AS c",
            ids.join(",")
        ))
        .bind::<Integer, _>(user_id)
        .bind::<Integer, _>(user_id)
        .bind::<Integer, _>(user_id)
        .load(conn)?;
        let asked: Vec<(i32, i32, i32)> = rows
            .iter()
            .filter(|row| row.deleted > 0)
            .flat_map(|row| {
                [WHOLE_ROOM, user_id].map(|author| (row.room_id, author, row.mark))
            })
            .collect();
        let deleted = DeletionCount::above(conn, &asked)?;
        let deleted_above = |room_id, author, mark| {
            deleted.get(&(room_id, author, mark)).copied().unwrap_or(0)
        };
        Ok(rows
            .into_iter()
            .map(|row| {
                let posted = i64::from(row.posted - row.read_posted);
                let own = i64::from(row.own_posted - row.own_read);
                let deleted = deleted_above(row.room_id, WHOLE_ROOM, row.mark)
                    - deleted_above(row.room_id, user_id, row.mark);
                (row.room_id, posted - own - deleted)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;

    #[test]
    fn a_mark_only_moves_forward_and_a_deleted_room_is_skipped() {
        for (_db, mut conn) in super::super::test_databases() {
            conn.batch_execute(
                "INSERT INTO users (id, username, username_key, password_hash, created_at)
                 VALUES (1, 'ann', 'ann', 'x', CURRENT_TIMESTAMP);
             INSERT INTO rooms (id, name, name_key, creator_id, created_at, last_activity_at)
                 VALUES (7, 'Seven', 'seven', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);",
            )
            .unwrap();
            RoomRead::record(&mut conn, &[(1, 7, 20), (1, 99, 5)]).unwrap();
            assert_eq!(RoomRead::last_read(&mut conn, 1, 7).unwrap(), Some(20));
            assert_eq!(RoomRead::last_read(&mut conn, 1, 99).unwrap(), None);
            RoomRead::record(&mut conn, &[(1, 7, 12)]).unwrap();
            assert_eq!(
                RoomRead::last_read(&mut conn, 1, 7).unwrap(),
                Some(20),
                "an older write landing late does not move it back"
            );
            RoomRead::record(&mut conn, &[(1, 7, 31)]).unwrap();
            assert_eq!(RoomRead::last_read(&mut conn, 1, 7).unwrap(), Some(31));
        }
    }
}
