//! Keeps the stored name keys (`rooms.name_key`, `users.username_key`) equal to what
//! `domain::name_key` computes now: after the migration that changed the rule, and after an
//! upgrade of the Unicode data behind it. Names that come to share a key are reported, never
//! merged or renamed.

use std::collections::HashMap;
use std::fmt;

use diesel::prelude::*;

use crate::db::DbConnection;

use crate::db::schema::{rooms, users};
use crate::domain::name_key;

/// A name that kept its old key because its new one is held by another row: the two read
/// alike now, and one should be renamed (by hand: nothing here changes a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameClash {
    /// "room" or "user".
    pub what: &'static str,
    pub kept_old: (i32, String),
    pub holder: (i32, String),
}

impl fmt::Display for NameClash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ((id, name), (holder_id, holder)) = (&self.kept_old, &self.holder);
        write!(
            f,
            "name clash: {what} {id} {name:?} keeps its old name key, because its new one is \
             held by {what} {holder_id} {holder:?}; rename one of them",
            what = self.what
        )
    }
}

/// Brings every public room's and every user's key up to date, in one transaction, and
/// answers the clashes it left alone. Direct conversations' keys are not names: untouched.
pub fn refresh(conn: &mut DbConnection) -> QueryResult<Vec<NameClash>> {
    conn.write_transaction(|conn| {
        let rooms: Vec<Stored> = rooms::table
            .filter(rooms::is_direct.eq(false))
            .select((rooms::id, rooms::name, rooms::name_key))
            .load(conn)?;
        let (updates, mut clashes) = plan("room", &rooms);
        // Two steps, so that keys passing from one row to another never meet in the index.
        for (id, _) in &updates {
            diesel::update(rooms::table.find(id))
                .set(rooms::name_key.eq(placeholder(*id)))
                .execute(conn)?;
        }
        for (id, key) in &updates {
            diesel::update(rooms::table.find(id))
                .set(rooms::name_key.eq(key))
                .execute(conn)?;
        }

        let users: Vec<Stored> = users::table
            .select((users::id, users::username, users::username_key))
            .load(conn)?;
        let (updates, user_clashes) = plan("user", &users);
        for (id, _) in &updates {
            diesel::update(users::table.find(id))
                .set(users::username_key.eq(placeholder(*id)))
                .execute(conn)?;
        }
        for (id, key) in &updates {
            diesel::update(users::table.find(id))
                .set(users::username_key.eq(key))
                .execute(conn)?;
        }
        clashes.extend(user_clashes);
        Ok(clashes)
    })
}

/// (id, name, stored key)
type Stored = (i32, String, String);

/// A key no name has (names hold no control characters), unique to the row.
fn placeholder(id: i32) -> String {
    format!("\u{2}rekey:{id}")
}

/// Which rows get a new key, and which keep their old one because of a clash. Of the rows
/// that want one key, the row that already holds it keeps it, else the oldest row gets it;
/// the others keep their old keys, which may in turn be wanted by another row: repeated until
/// every key is held once. Ends, since a row that fell back never moves again and old keys
/// were unique.
fn plan(what: &'static str, rows: &[Stored]) -> (Vec<(i32, String)>, Vec<NameClash>) {
    let mut wanted: Vec<String> = rows.iter().map(|(_, name, _)| name_key(name)).collect();
    let mut clashes = Vec::new();
    loop {
        let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, key) in wanted.iter().enumerate() {
            groups.entry(key.as_str()).or_default().push(i);
        }
        let contested: Vec<(usize, Vec<usize>)> = groups
            .into_iter()
            .filter(|(_, rows)| rows.len() > 1)
            .map(|(key, group)| {
                let holder = group
                    .iter()
                    .copied()
                    .find(|&i| rows[i].2 == key)
                    .or_else(|| group.iter().copied().min_by_key(|&i| rows[i].0))
                    .unwrap_or(group[0]);
                (holder, group)
            })
            .collect();
        if contested.is_empty() {
            break;
        }
        for (holder, group) in contested {
            for i in group.into_iter().filter(|&i| i != holder) {
                wanted[i] = rows[i].2.clone();
                clashes.push(NameClash {
                    what,
                    kept_old: (rows[i].0, rows[i].1.clone()),
                    holder: (rows[holder].0, rows[holder].1.clone()),
                });
            }
        }
    }
    let updates = rows
        .iter()
        .zip(wanted)
        .filter(|((_, _, old), new)| old != new)
        .map(|((id, _, _), new)| (*id, new))
        .collect();
    clashes.sort_by_key(|c| c.kept_old.0);
    (updates, clashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i32, name: &str, key: &str) -> Stored {
        (id, name.to_owned(), key.to_owned())
    }

    #[test]
    fn keys_out_of_date_are_recomputed_and_current_ones_left_alone() {
        let rows = [
            row(1, "Kitchen", "kitchen"),
            row(2, "Straße", "straße"),
            row(3, "Cafe\u{301}", "cafe\u{301}"),
        ];
        let (updates, clashes) = plan("room", &rows);
        assert_eq!(
            updates,
            [(2, "strasse".to_owned()), (3, "caf\u{E9}".to_owned())]
        );
        assert!(clashes.is_empty());
    }

    #[test]
    fn of_two_rows_that_now_share_a_key_the_one_holding_it_keeps_it_and_the_other_is_reported() {
        let rows = [row(1, "Straße", "straße"), row(2, "STRASSE", "strasse")];
        let (updates, clashes) = plan("room", &rows);
        assert!(updates.is_empty(), "{updates:?}");
        assert_eq!(
            clashes,
            [NameClash {
                what: "room",
                kept_old: (1, "Straße".into()),
                holder: (2, "STRASSE".into()),
            }]
        );
    }

    #[test]
    fn when_no_row_holds_the_shared_key_the_oldest_gets_it() {
        let rows = [
            row(5, "Caf\u{E9}", "caf\u{E9}x"),
            row(4, "Cafe\u{301}", "cafe\u{301}"),
        ];
        let (updates, clashes) = plan("room", &rows);
        assert_eq!(updates, [(4, "caf\u{E9}".to_owned())]);
        assert_eq!(clashes[0].kept_old.0, 5);
        assert_eq!(clashes[0].holder.0, 4);
    }

    #[test]
    fn a_row_that_keeps_its_old_key_takes_precedence_over_a_newcomer_to_that_key() {
        // Row 3 keeps "b" (a clash over "a"); row 4's name now keys to "b" too.
        let rows = [row(2, "A", "a"), row(3, "a\u{AD}", "b"), row(4, "B", "x")];
        let (updates, clashes) = plan("room", &rows);
        assert!(updates.is_empty(), "{updates:?}");
        assert_eq!(clashes.len(), 2, "{clashes:?}");
    }
}
