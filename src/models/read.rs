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

    /// Starts the user's mark in the room at `seq` (their join) unless they have one: a
    /// first visit reads the history before it; a later one changes nothing. Runs inside
    /// the caller's transaction.
    pub fn first_visit(
        conn: &mut DbConnection,
        user_id: i32,
        room_id: i32,
        seq: i32,
    ) -> QueryResult<()> {
        let row = (
            room_reads::user_id.eq(user_id),
            room_reads::room_id.eq(room_id),
            room_reads::last_read_seq.eq(seq),
        );
        macro_rules! insert_new {
            ($c:expr) => {
                diesel::insert_into(room_reads::table)
                    .values(row)
                    .on_conflict((room_reads::user_id, room_reads::room_id))
                    .do_nothing()
                    .execute($c)?
            };
        }
        match conn {
            DbConnection::Sqlite(c) => insert_new!(c),
            DbConnection::Postgres(c) => insert_new!(c),
        };
        Ok(())
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

    /// Every read mark of these users: (user, room, last number read).
    pub fn marks_of(
        conn: &mut DbConnection,
        user_ids: &[i32],
    ) -> QueryResult<Vec<(i32, i32, i32)>> {
        room_reads::table
            .filter(room_reads::user_id.eq_any(user_ids))
            .select((
                room_reads::user_id,
                room_reads::room_id,
                room_reads::last_read_seq,
            ))
            .load(conn)
    }

    /// Per room of `room_ids`: the messages by others, not deleted, past the user's read mark.
    /// A public room the user has no mark in (never been in) has nothing unread: its history
    /// is not news to them; a direct conversation without one is unread from its start (it
    /// was written to them).
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
                       CASE WHEN rr.last_read_seq IS NULL AND r.is_direct THEN 0
                            WHEN rr.last_read_seq IS NULL THEN r.last_seq
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
            .flat_map(|row| [WHOLE_ROOM, user_id].map(|author| (row.room_id, author, row.mark)))
            .collect();
        let deleted = DeletionCount::above(conn, &asked)?;
        let deleted_above =
            |room_id, author, mark| deleted.get(&(room_id, author, mark)).copied().unwrap_or(0);
        Ok(rows
            .into_iter()
            .map(|row| {
                let posted = i64::from(row.posted - row.read_posted);
                let own = i64::from(row.own_posted - row.own_read);
                let deleted = deleted_above(row.room_id, WHOLE_ROOM, row.mark)
                    - deleted_above(row.room_id, user_id, row.mark);
                (row.room_id, posted - own - deleted)
            })
            // As the scan answered: only rooms with something unread.
            .filter(|&(_, unread)| unread > 0)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::db::Backend;
    use crate::domain::{LoginName, MessageText, RoomName, Username};
    use crate::models::{Changes, LogEntry, NewPost, Room, User};

    #[derive(QueryableByName)]
    struct Scanned {
        #[diesel(sql_type = Integer)]
        room_id: i32,
        #[diesel(sql_type = BigInt)]
        unread: i64,
    }

    /// What the lobby counted before the counters: a scan of the log (the oracle).
    fn scanned(conn: &mut DbConnection, user_id: i32) -> HashMap<i32, i64> {
        diesel::sql_query(
            "SELECT r.id AS room_id, (SELECT COUNT(*) FROM log_entries l
                 WHERE l.room_id = r.id AND l.kind = 'message' AND l.deleted_at IS NULL
                   AND l.author_id <> $1 AND l.seq > COALESCE((SELECT last_read_seq
                       FROM room_reads WHERE room_id = r.id AND user_id = $2),
                       CASE WHEN r.is_direct THEN 0 ELSE r.last_seq END)) AS unread
             FROM rooms r",
        )
        .bind::<Integer, _>(user_id)
        .bind::<Integer, _>(user_id)
        .load::<Scanned>(conn)
        .unwrap()
        .into_iter()
        .map(|row| (row.room_id, row.unread))
        .filter(|&(_, unread)| unread > 0)
        .collect()
    }

    fn counted(conn: &mut DbConnection, user_id: i32) -> HashMap<i32, i64> {
        let rooms: Vec<i32> = rooms::table.select(rooms::id).load(conn).unwrap();
        conn.read_transaction(|conn| RoomRead::unread_counts(conn, user_id, &rooms))
            .unwrap()
    }

    /// A small deterministic generator: the same moves on every run and backend.
    struct Moves(u64);

    impl Moves {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            usize::try_from(self.0 >> 33).unwrap() % n
        }
    }

    #[test]
    fn the_counters_count_what_a_scan_of_the_log_counts_and_the_backfill_agrees() {
        for (_db, mut conn) in super::super::test_databases() {
            let c = &mut Changes::default();
            let users: Vec<i32> = ["ann", "bob", "cyd"]
                .iter()
                .map(|name| {
                    User::create(&mut conn, &Username::parse(name).unwrap(), "x")
                        .unwrap()
                        .id
                })
                .collect();
            let mut rooms = Vec::new();
            for (i, name) in ["Kitchen", "Garden", "Attic"].iter().enumerate() {
                let room =
                    Room::create(&mut conn, &RoomName::parse(name).unwrap(), users[i], c).unwrap();
                rooms.push(room.id);
            }
            let direct =
                Room::open_direct(&mut conn, users[0], &LoginName::parse("bob").unwrap(), c)
                    .unwrap();
            let mut moves = Moves(23);
            for step in 0..600 {
                let user = users[moves.below(users.len())];
                let room = match moves.below(5) {
                    4 if user != users[2] => direct.id,
                    n => rooms[n % rooms.len()],
                };
                let enter = |conn: &mut DbConnection, c: &mut Changes| {
                    if room == direct.id {
                        let other = if user == users[0] { "bob" } else { "ann" };
                        Room::open_direct(conn, user, &LoginName::parse(other).unwrap(), c)
                            .unwrap();
                    } else {
                        Room::enter(conn, room, user, c).unwrap();
                    }
                };
                match moves.below(10) {
                    0..=3 => {
                        enter(&mut conn, c);
                        let text = MessageText::parse(&format!("m{step}")).unwrap();
                        LogEntry::post(&mut conn, &NewPost::new(room, user, text, None), c)
                            .unwrap();
                    }
                    4 => {
                        enter(&mut conn, c);
                        let posts: Vec<NewPost> = (0..1 + moves.below(4))
                            .map(|i| {
                                let text = MessageText::parse(&format!("b{step}.{i}")).unwrap();
                                NewPost::new(room, user, text, None)
                            })
                            .collect();
                        LogEntry::post_batch(&mut conn, &posts, c).unwrap();
                    }
                    5 => {
                        let head = Room::heads(&mut conn, &[room]).unwrap()[0].1;
                        let target =
                            i32::try_from(moves.below(usize::try_from(head).unwrap() + 1)).unwrap();
                        enter(&mut conn, c);
                        // Refused when it is no message, someone else's or gone: fine.
                        let _ = LogEntry::delete_message(&mut conn, room, target, user, c);
                    }
                    6 | 7 => {
                        let head = Room::heads(&mut conn, &[room]).unwrap()[0].1;
                        let mark =
                            i32::try_from(moves.below(usize::try_from(head).unwrap() + 1)).unwrap();
                        RoomRead::record(&mut conn, &[(user, room, mark)]).unwrap();
                    }
                    8 => Room::leave(&mut conn, room, user, c).unwrap(),
                    _ => enter(&mut conn, c),
                }
                if step % 50 == 49 {
                    for &user in &users {
                        assert_eq!(
                            counted(&mut conn, user),
                            scanned(&mut conn, user),
                            "user {user} after step {step}"
                        );
                    }
                }
            }

            // The migration's backfill, run again over this log, finds the same counts.
            let up = match conn.backend() {
                Backend::Sqlite => {
                    include_str!("../../migrations/sqlite/2026-12-04-000017_unread_counters/up.sql")
                }
                Backend::Postgres => include_str!(
                    "../../migrations/postgres/2026-12-04-000017_unread_counters/up.sql"
                ),
            };
            let backfill = &up[up.find("-- Backfill").unwrap()..];
            let deleted: i64 = crate::db::schema::deletion_counts::table
                .count()
                .get_result(&mut conn)
                .unwrap();
            assert!(deleted > 0, "the moves deleted messages");
            let before: Vec<_> = users.iter().map(|&u| counted(&mut conn, u)).collect();
            conn.batch_execute(
                "UPDATE rooms SET posted = 0, deleted = 0;
                 UPDATE log_entries SET posted_through = 0, author_through = 0;
                 DELETE FROM deletion_counts;",
            )
            .unwrap();
            conn.batch_execute(backfill).unwrap();
            let after: Vec<_> = users.iter().map(|&u| counted(&mut conn, u)).collect();
            assert_eq!(after, before);
            assert!(
                before.iter().flat_map(|m| m.values()).any(|&n| n > 0),
                "the moves left something unread"
            );
        }
    }

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
