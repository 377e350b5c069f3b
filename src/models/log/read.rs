//! Reading a room's log: a member's poll and look back, and the pages catch-up and room pages
//! start from.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{log_entries, users};
use crate::models::log_entry::{COLUMNS, Row};
use crate::models::{LogEntry, ModelError, Room};

/// Which entries a page holds: newer than a cursor (oldest first) or older than one (newest
/// first).
#[derive(Clone, Copy)]
enum Range {
    After(i32),
    Below(i32),
}

/// How many entries a page of older history holds.
pub const OLDER_PAGE: i64 = 100;

impl LogEntry {
    /// A member's poll: the room's entries numbered above `after`, oldest first, and the
    /// room's head as it was just before they were read.
    pub fn since(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
        after: i32,
        limit: i64,
    ) -> Result<(Vec<LogEntry>, i32), ModelError> {
        let room = Room::find_as_member(conn, room_id, user_id)?;
        let entries = Self::page(conn, room_id, Range::After(after), limit)?;
        Ok((entries, room.last_seq))
    }

    /// A member's look further back: up to `OLDER_PAGE` entries below `before`, oldest first.
    pub fn before(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
        before: i32,
    ) -> Result<Vec<LogEntry>, ModelError> {
        Room::find_as_member(conn, room_id, user_id)?;
        Ok(Self::latest_below(conn, room_id, before, OLDER_PAGE)?)
    }

    /// The room's entries numbered above `after`, oldest first, whoever asks.
    pub fn after(
        conn: &mut DbConnection,
        room_id: i32,
        after: i32,
        limit: i64,
    ) -> QueryResult<Vec<LogEntry>> {
        Self::page(conn, room_id, Range::After(after), limit)
    }

    /// The entries of many rooms at once, each `(room, after, up_to)` asking for the room's
    /// entries numbered above `after` and up to `up_to`: one query per hundred rooms, not one
    /// per room (catch-up asks this of every room another server wrote to). In room order,
    /// oldest first within each.
    pub fn between_each(
        conn: &mut DbConnection,
        ranges: &[(i32, i32, i32)],
    ) -> QueryResult<Vec<LogEntry>> {
        const ROOMS_PER_QUERY: usize = 100;
        let mut entries = Vec::new();
        for chunk in ranges.chunks(ROOMS_PER_QUERY) {
            let mut query = log_entries::table
                .inner_join(users::table)
                .select(COLUMNS)
                .order((log_entries::room_id.asc(), log_entries::seq.asc()))
                .into_boxed();
            for &(room_id, after, up_to) in chunk {
                query = query.or_filter(
                    log_entries::room_id
                        .eq(room_id)
                        .and(log_entries::seq.gt(after))
                        .and(log_entries::seq.le(up_to)),
                );
            }
            let rows = query.load::<Row>(conn)?;
            entries.extend(Self::complete(conn, rows)?);
        }
        Ok(entries)
    }

    /// The room's last `limit` entries, oldest first: the history a room page starts with.
    pub fn latest(conn: &mut DbConnection, room_id: i32, limit: i64) -> QueryResult<Vec<LogEntry>> {
        Self::latest_below(conn, room_id, i32::MAX, limit)
    }

    pub(super) fn latest_below(
        conn: &mut DbConnection,
        room_id: i32,
        below: i32,
        limit: i64,
    ) -> QueryResult<Vec<LogEntry>> {
        let mut entries = Self::page(conn, room_id, Range::Below(below), limit)?;
        entries.reverse();
        Ok(entries)
    }

    /// A message of the room, in its current state.
    pub(super) fn message(
        conn: &mut DbConnection,
        room_id: i32,
        seq: i32,
    ) -> QueryResult<LogEntry> {
        let rows = log_entries::table
            .inner_join(users::table)
            .filter(log_entries::room_id.eq(room_id))
            .filter(log_entries::seq.eq(seq))
            .select(COLUMNS)
            .load::<Row>(conn)?;
        Self::complete_one(conn, rows)
    }

    fn page(
        conn: &mut DbConnection,
        room_id: i32,
        range: Range,
        limit: i64,
    ) -> QueryResult<Vec<LogEntry>> {
        let query = log_entries::table
            .inner_join(users::table)
            .filter(log_entries::room_id.eq(room_id))
            .select(COLUMNS)
            .limit(limit)
            .into_boxed();
        let query = match range {
            Range::After(seq) => query
                .filter(log_entries::seq.gt(seq))
                .order(log_entries::seq.asc()),
            Range::Below(seq) => query
                .filter(log_entries::seq.lt(seq))
                .order(log_entries::seq.desc()),
        };
        let rows = query.load::<Row>(conn)?;
        Self::complete(conn, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MessageText, RoomName, Username};
    use crate::models::{Changes, NewPost, User, test_databases};

    #[test]
    fn many_rooms_ranges_come_back_in_one_answer_in_room_order_on_this_backend() {
        for (_db, mut conn) in test_databases() {
            let c = &mut Changes::default();
            let ann = User::create(&mut conn, &Username::parse("ann").unwrap(), "x").unwrap();
            let mut rooms = Vec::new();
            for name in ["Kitchen", "Garden", "Attic"] {
                let room =
                    Room::create(&mut conn, &RoomName::parse(name).unwrap(), ann.id, c).unwrap();
                rooms.push(room.id);
            }
            // In each: joined, five messages, and (but the last) left, on entering the next.
            for &room in &rooms {
                Room::enter(&mut conn, room, ann.id, c).unwrap();
                for i in 1..=5 {
                    let text = MessageText::parse(&format!("{room}:{i}")).unwrap();
                    LogEntry::post(&mut conn, &NewPost::new(room, ann.id, text, None), c).unwrap();
                }
            }
            let latest: Vec<LogEntry> = rooms
                .iter()
                .map(|&room| LogEntry::latest(&mut conn, room, 1).unwrap().remove(0))
                .collect();
            let heads: Vec<i32> = latest.iter().map(|e| e.seq).collect();
            let (a, b, third) = (rooms[0], rooms[1], rooms[2]);
            let got = LogEntry::between_each(
                &mut conn,
                &[(a, heads[0] - 3, heads[0] - 1), (b, heads[1] - 1, heads[1])],
            )
            .unwrap();
            let seen: Vec<(i32, i32)> = got.iter().map(|e| (e.room_id, e.seq)).collect();
            assert_eq!(
                seen,
                vec![(a, heads[0] - 2), (a, heads[0] - 1), (b, heads[1]),],
                "each range, nothing outside them, in room order and oldest first"
            );
            assert_eq!(got[2], latest[1], "whole entries");
            assert!(LogEntry::between_each(&mut conn, &[]).unwrap().is_empty());
            assert!(
                LogEntry::between_each(&mut conn, &[(third, heads[2], heads[2] + 10)])
                    .unwrap()
                    .is_empty(),
                "nothing past a room's head"
            );
            let many: Vec<(i32, i32, i32)> = (0..250).map(|i| (a + 1000 + i, 0, 10)).collect();
            let mut many = many;
            many.push((third, 0, heads[2]));
            assert_eq!(
                LogEntry::between_each(&mut conn, &many).unwrap().len(),
                usize::try_from(heads[2]).unwrap(),
                "more rooms than one query asks about"
            );
        }
    }
}
