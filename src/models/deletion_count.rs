//! The deletion_counts table: how many messages were deleted at or below any number of a
//! room's log, for the room (author 0) and for each author in it, as a Fenwick tree (binary
//! indexed tree) over the room's numbers. A deletion adds 1 to at most 32 nodes; a count at or
//! below a number sums at most 31. So the lobby's unread counts never read the log itself.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

use crate::db::DbConnection;
use crate::db::schema::rooms;

/// The tree's root: its node holds every deletion (log numbers are below 2^31).
const TOP: i64 = 1 << 31;
/// The author that stands for the whole room.
pub const WHOLE_ROOM: i32 = 0;

pub struct DeletionCount;

/// The nodes a deletion at `seq` adds to: `seq`, then up by the lowest set bit, to `TOP`.
fn climbing(seq: i32) -> impl Iterator<Item = i64> {
    std::iter::successors(Some(i64::from(seq.max(1))), |&node| {
        (node < TOP).then(|| node + (node & -node))
    })
}

/// The nodes whose sum counts the deletions at or below `seq`: `seq`, then down by its lowest
/// set bit, to 0.
fn descending(seq: i32) -> impl Iterator<Item = i64> {
    std::iter::successors(Some(i64::from(seq.max(0))), |&node| {
        Some(node - (node & -node))
    })
    .take_while(|&node| node > 0)
}

#[derive(QueryableByName)]
struct Node {
    #[diesel(sql_type = Integer)]
    room_id: i32,
    #[diesel(sql_type = Integer)]
    author_id: i32,
    #[diesel(sql_type = BigInt)]
    node: i64,
    #[diesel(sql_type = Integer)]
    deleted: i32,
}

impl DeletionCount {
    /// Counts the deletion of message `seq` by `author_id` in the room: in the room's
    /// `deleted` and in both trees. Runs inside the deleting transaction, which takes the
    /// room's row first (as every write to the room does, so the trees' rows are only ever
    /// taken after it and in one order).
    pub(crate) fn record(
        conn: &mut DbConnection,
        room_id: i32,
        author_id: i32,
        seq: i32,
    ) -> QueryResult<()> {
        diesel::update(rooms::table.find(room_id))
            .set(rooms::deleted.eq(rooms::deleted + 1))
            .execute(conn)?;
        // Numbers only, made here: nothing anyone typed reaches the SQL.
        let values: Vec<String> = [WHOLE_ROOM, author_id]
            .into_iter()
            .flat_map(|author| climbing(seq).map(move |node| (author, node)))
            .map(|(author, node)| format!("({room_id}, {author}, {node}, 1)"))
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO deletion_counts (room_id, author_id, node, deleted) VALUES {} \
             ON CONFLICT (room_id, author_id, node) \
             DO UPDATE SET deleted = deletion_counts.deleted + 1",
            values.join(", ")
        ))
        .execute(conn)
        .map(drop)
    }

    /// For each `(room, author, mark)`: how many of the author's messages in the room (the
    /// room's, for `WHOLE_ROOM`) numbered above `mark` are deleted. One query.
    pub fn above(
        conn: &mut DbConnection,
        asked: &[(i32, i32, i32)],
    ) -> QueryResult<HashMap<(i32, i32, i32), i64>> {
        let mut answer = HashMap::with_capacity(asked.len());
        if asked.is_empty() {
            return Ok(answer);
        }
        let mut wanted: Vec<String> = Vec::new();
        for &(room_id, author_id, mark) in asked {
            let nodes: Vec<String> = std::iter::once(TOP)
                .chain(descending(mark))
                .map(|node| node.to_string())
                .collect();
            wanted.push(format!(
                "(room_id = {room_id} AND author_id = {author_id} AND node IN ({}))",
                nodes.join(",")
            ));
        }
        let nodes: Vec<Node> = diesel::sql_query(format!(
            "SELECT room_id, author_id, node, deleted FROM deletion_counts WHERE {}",
            wanted.join(" OR ")
        ))
        .load(conn)?;
        let mut found: HashMap<(i32, i32, i64), i64> = HashMap::with_capacity(nodes.len());
        for n in nodes {
            found.insert((n.room_id, n.author_id, n.node), i64::from(n.deleted));
        }
        for &(room_id, author_id, mark) in asked {
            let at = |node| found.get(&(room_id, author_id, node)).copied().unwrap_or(0);
            let below: i64 = descending(mark).map(at).sum();
            answer.insert((room_id, author_id, mark), at(TOP) - below);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_deletion_is_counted_by_exactly_the_prefixes_that_cover_it() {
        for deleted in [1, 2, 3, 7, 8, 100, 1023, 1024, 65_537, i32::MAX] {
            assert_eq!(
                climbing(deleted).last(),
                Some(TOP),
                "{deleted} reaches the root"
            );
            for mark in [0, 1, 2, 3, 6, 7, 8, 99, 100, 1024, 65_536, 65_537, i32::MAX] {
                let shared = climbing(deleted)
                    .filter(|n| descending(mark).any(|m| m == *n))
                    .count();
                assert_eq!(
                    shared,
                    usize::from(deleted <= mark),
                    "deleted {deleted}, mark {mark}"
                );
            }
        }
        assert!(climbing(1).count() <= 32);
        assert!(descending(i32::MAX).count() <= 31);
    }
}
