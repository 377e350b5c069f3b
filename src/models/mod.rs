//! Every query the app makes: rows, insert structs and query functions, a file per table, or
//! per idea for the larger ones (rooms: room.rs, membership.rs, lobby.rs; the log:
//! log_entry.rs and log/). This file only declares and re-exports; no file here calls back
//! into one that uses it (tests/layers.rs checks). Nothing here knows about HTTP; errors.rs
//! maps `ModelError` to statuses.

pub mod api_token;
pub mod attachment;
pub mod audit;
pub mod bot;
pub mod deletion_count;
mod error;
pub mod invitation;
pub mod key_refresh;
pub mod lobby;
pub mod log;
pub mod log_entry;
pub mod membership;
pub mod notice;
pub mod notification;
pub mod presence_rows;
pub mod probe;
pub mod push;
pub mod rate;
pub mod read;
pub mod revocation;
pub mod room;
pub mod session;
pub mod setting;
pub mod setup;
pub mod setup_link;
pub mod signal;
#[cfg(test)]
mod test_databases;
mod transaction;
pub mod user;
pub mod webhook;

pub use api_token::ApiToken;
pub use attachment::Attachment;
pub use lobby::{RoomListing, RoomOverview};
pub use log::{MAX_REACTIONS, NewPost, RoomRef, SEARCH_TIME_LIMIT, SearchHit, SearchScope};
pub use log_entry::{Kind, LogEntry, Reactions, ReplyTo};
pub use membership::Removed;
pub use notice::{Notice, Reason};
pub use notification::Level;
pub use room::Room;
pub use setup::{initialize, open_existing};
pub use signal::Signal;
pub use user::{Author, User};
pub use webhook::Webhook;

pub use error::ModelError;
#[cfg(test)]
pub(crate) use test_databases::{TestDatabase, test_databases};
pub use transaction::Changes;
pub(crate) use transaction::{now, retrying, write};

pub use crate::db::DbConnection;

/// A LIKE pattern (escape character `\`) that finds `text` anywhere: `%`, `_` and `\` in it
/// stand for themselves.
pub(crate) fn like_containing(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::domain::{LoginName, RoomName, Username};

    #[test]
    fn unique_violations_are_told_apart_by_the_rule_they_broke() {
        for (_db, mut conn) in test_databases() {
            let ann = Username::parse("ann").unwrap();
            let user = User::create(&mut conn, &ann, "x").unwrap();
            let again = User::create(&mut conn, &Username::parse("ANN").unwrap(), "x");
            assert!(matches!(again, Err(ModelError::UsernameTaken)));

            let name = RoomName::parse("Kitchen").unwrap();
            Room::create(&mut conn, &name, user.id, &mut Changes::default()).unwrap();
            let taken = Room::create(&mut conn, &name, user.id, &mut Changes::default());
            assert!(matches!(taken, Err(ModelError::RoomNameTaken)));

            // A number taken twice is a bug, not the user's doing: no "taken" answer for it.
            let twice = conn.batch_execute(
                "INSERT INTO log_entries (room_id, author_id, kind, body, sent_at, seq)
             VALUES (1, 1, 'joined', '', CURRENT_TIMESTAMP, 1);",
            );
            let err = ModelError::from(twice.unwrap_err());
            assert!(matches!(err, ModelError::Database(_)), "{err:?}");
        }
    }

    #[test]
    fn a_conversation_round_trips_with_its_numbers_times_and_upserts_on_this_backend() {
        use crate::domain::{ClientId, MessageText};
        use crate::models::read::RoomRead;

        for (_db, mut conn) in test_databases() {
            let c = &mut Changes::default();
            let ann = User::create(&mut conn, &Username::parse("ann").unwrap(), "x").unwrap();
            let bob = User::create(&mut conn, &Username::parse("bob").unwrap(), "x").unwrap();
            let room =
                Room::create(&mut conn, &RoomName::parse("Kitchen").unwrap(), ann.id, c).unwrap();
            Room::enter(&mut conn, room.id, bob.id, c).unwrap();
            let before = now();
            let key = ClientId::parse("k1").unwrap();
            let hi = MessageText::parse("hi").unwrap();
            let post =
                |text: &MessageText| NewPost::new(room.id, bob.id, text.clone(), Some(key.clone()));
            let first = LogEntry::post(&mut conn, &post(&hi), c).unwrap();
            let again = LogEntry::post(&mut conn, &post(&hi), c).unwrap();
            assert_eq!(
                first, again,
                "a retry with the same key answers the first post"
            );
            let other = MessageText::parse("other").unwrap();
            let reused = LogEntry::post(&mut conn, &post(&other), c);
            assert!(matches!(reused, Err(ModelError::KeyReused)), "{reused:?}");
            // Stored as UTC and read back unshifted, whatever the server's time zone.
            let drift = (first.sent_at - before).num_seconds().abs();
            assert!(drift < 5, "sent_at {} vs now {before}", first.sent_at);

            let (entries, head) = LogEntry::since(&mut conn, room.id, ann.id, 0, 100).unwrap();
            let seqs: Vec<i32> = entries.iter().map(|e| e.seq).collect();
            assert_eq!(seqs, [1, 2, 3], "ann joined, bob joined, bob's message");
            assert_eq!(head, 3);
            let unread = RoomRead::unread_counts(&mut conn, ann.id, &[room.id]).unwrap();
            assert_eq!(unread.get(&room.id), Some(&1));
            RoomRead::record(&mut conn, &[(ann.id, room.id, 3)]).unwrap();
            assert!(
                RoomRead::unread_counts(&mut conn, ann.id, &[room.id])
                    .unwrap()
                    .is_empty()
            );

            let lobby = Room::lobby(&mut conn, ann.id, 0, 10).unwrap();
            assert_eq!(lobby.len(), 1);
            let direct = Room::open_direct(&mut conn, ann.id, &LoginName::parse("bob").unwrap(), c);
            assert!(direct.unwrap().is_direct);
            assert!(
                Room::direct_exists(&mut conn, bob.id, &LoginName::parse("ann").unwrap()).unwrap()
            );

            LogEntry::delete_message(&mut conn, room.id, 3, bob.id, c).unwrap();
            assert!(matches!(
                Room::delete(&mut conn, room.id, ann.id, c),
                Ok(Removed::Deleted(_))
            ));
            assert!(matches!(
                Room::find(&mut conn, room.id, ann.id),
                Err(ModelError::Deleted)
            ));
        }
    }
}
