//! Each room's log numbers (1, 2, 3, ...), taken from the room's row inside the write's
//! transaction: the row's lock orders writers, so numbers commit in order and a log has no holes.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Timestamp};

use crate::db::DbConnection;
use crate::db::schema::rooms;
use crate::models::ModelError;

/// Takes the room's next log number: raises the counter on the room's row, which the
/// caller's transaction then holds until it commits, so that numbers commit in order.
/// A message also counts as the room's latest activity, and as one more message posted.
/// Answers the number and the room's count of messages posted, this one included.
///
/// The caller has just found the room; if its row is gone now, another transaction deleted
/// it meanwhile (PostgreSQL lets it, where SQLite's one writer would not): `Deleted`.
pub(super) fn next_seq(
    conn: &mut DbConnection,
    room_id: i32,
    activity: Option<NaiveDateTime>,
) -> Result<(i32, i32), ModelError> {
    take_seqs(conn, room_id, 1, activity)
}

/// Takes the room's next `count` numbers at once (see `next_seq`); answers the last, and
/// the messages posted. With `activity`, the `count` entries are messages.
pub(super) fn take_seqs(
    conn: &mut DbConnection,
    room_id: i32,
    count: i32,
    activity: Option<NaiveDateTime>,
) -> Result<(i32, i32), ModelError> {
    let room = rooms::table.find(room_id);
    let next = rooms::last_seq + count;
    let taken = match activity {
        Some(at) => diesel::update(room)
            .set((
                rooms::last_seq.eq(next),
                rooms::posted.eq(rooms::posted + count),
                rooms::last_activity_at.eq(at),
            ))
            .returning((rooms::last_seq, rooms::posted))
            .get_result(conn),
        None => diesel::update(room)
            .set(rooms::last_seq.eq(next))
            .returning((rooms::last_seq, rooms::posted))
            .get_result(conn),
    };
    taken.optional()?.ok_or(ModelError::Deleted)
}

/// Takes each room's next `count` numbers for as many messages (see `take_seqs`) and sets
/// its last activity, for a batch of posts: one statement on PostgreSQL, however many
/// rooms; one per room on SQLite, where a statement costs no round trip. Answers each
/// room's last number and messages posted, by id; a room that is gone is missing.
pub(super) fn take_seqs_many(
    conn: &mut DbConnection,
    counts: &[(i32, i32)],
    activity: NaiveDateTime,
) -> QueryResult<HashMap<i32, (i32, i32)>> {
    match conn {
        DbConnection::Postgres(c) => {
            #[derive(QueryableByName)]
            struct Last {
                #[diesel(sql_type = Integer)]
                id: i32,
                #[diesel(sql_type = Integer)]
                last_seq: i32,
                #[diesel(sql_type = Integer)]
                posted: i32,
            }
            let (ids, ns): (Vec<i32>, Vec<i32>) = counts.iter().copied().unzip();
            let taken: Vec<Last> = diesel::sql_query(
                "UPDATE rooms SET last_seq = rooms.last_seq + v.n, \
                 posted = rooms.posted + v.n, last_activity_at = $3 \
                 FROM unnest($1::int[], $2::int[]) AS v(id, n) WHERE rooms.id = v.id \
                 RETURNING rooms.id, rooms.last_seq, rooms.posted",
            )
            .bind::<Array<Integer>, _>(ids)
            .bind::<Array<Integer>, _>(ns)
            .bind::<Timestamp, _>(activity)
            .load(c)?;
            Ok(taken
                .into_iter()
                .map(|l| (l.id, (l.last_seq, l.posted)))
                .collect())
        }
        DbConnection::Sqlite(_) => {
            let mut taken = HashMap::new();
            for &(room_id, count) in counts {
                match take_seqs(conn, room_id, count, Some(activity)) {
                    Ok(last) => {
                        taken.insert(room_id, last);
                    }
                    Err(ModelError::Database(err)) => return Err(err),
                    // Gone: missing from the answer.
                    Err(_) => {}
                }
            }
            Ok(taken)
        }
    }
}
