//! Live state kept in this process's memory: who is present in which room, who is typing,
//! and read marks not yet written to the database.
//!
//! None of it costs a database write per poll. Each piece sits behind a small type, so that
//! several instances can later share it (through the database or a store such as Redis) by
//! changing this file alone.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A user counts as present in a room while their page polls it.
pub const PRESENCE_TIMEOUT: Duration = Duration::from_secs(15);
/// "is typing" lasts this long after the last poll that said so.
pub const TYPING_TIMEOUT: Duration = Duration::from_secs(4);

struct Seen {
    username: String,
    last_poll: Instant,
    typing_until: Option<Instant>,
}

/// Who is in which room right now, and who is typing there.
#[derive(Default)]
pub struct Presence {
    rooms: Mutex<HashMap<i32, HashMap<i32, Seen>>>,
}

/// A room's people, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomPresence {
    pub present: Vec<String>,
    pub typing: Vec<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain maps stay usable after a panic elsewhere.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Presence {
    /// The user's page polled the room (and says whether they are typing).
    pub fn polled(&self, room_id: i32, user_id: i32, username: &str, typing: bool) {
        let now = Instant::now();
        let mut rooms = lock(&self.rooms);
        let seen = rooms
            .entry(room_id)
            .or_default()
            .entry(user_id)
            .or_insert_with(|| Seen {
                username: username.to_owned(),
                last_poll: now,
                typing_until: None,
            });
        seen.last_poll = now;
        if typing {
            seen.typing_until = Some(now + TYPING_TIMEOUT);
        }
    }

    /// The user's message arrived: they are no longer typing it.
    pub fn sent(&self, room_id: i32, user_id: i32) {
        if let Some(seen) = lock(&self.rooms)
            .get_mut(&room_id)
            .and_then(|room| room.get_mut(&user_id))
        {
            seen.typing_until = None;
        }
    }

    /// Gone at once: they left the room.
    pub fn left(&self, room_id: i32, user_id: i32) {
        if let Some(room) = lock(&self.rooms).get_mut(&room_id) {
            room.remove(&user_id);
        }
    }

    /// Gone at once from every room: they logged out.
    pub fn logged_out(&self, user_id: i32) {
        for room in lock(&self.rooms).values_mut() {
            room.remove(&user_id);
        }
    }

    /// The room was deleted.
    pub fn forget_room(&self, room_id: i32) {
        lock(&self.rooms).remove(&room_id);
    }

    pub fn in_room(&self, room_id: i32) -> RoomPresence {
        let now = Instant::now();
        let mut rooms = lock(&self.rooms);
        let Some(room) = rooms.get_mut(&room_id) else {
            return RoomPresence::default();
        };
        room.retain(|_, seen| now - seen.last_poll < PRESENCE_TIMEOUT);
        let mut present: Vec<String> = room.values().map(|s| s.username.clone()).collect();
        let mut typing: Vec<String> = room
            .values()
            .filter(|s| s.typing_until.is_some_and(|until| until > now))
            .map(|s| s.username.clone())
            .collect();
        present.sort_unstable();
        typing.sort_unstable();
        RoomPresence { present, typing }
    }

    /// How many people are present in each room that has any.
    pub fn counts(&self) -> HashMap<i32, usize> {
        let now = Instant::now();
        let mut rooms = lock(&self.rooms);
        rooms.retain(|_, room| {
            room.retain(|_, seen| now - seen.last_poll < PRESENCE_TIMEOUT);
            !room.is_empty()
        });
        rooms.iter().map(|(id, room)| (*id, room.len())).collect()
    }
}

/// Read marks that polls advanced, gathered here and written in batches: a poll never waits
/// for a write.
#[derive(Default)]
pub struct ReadMarks {
    pending: Mutex<HashMap<(i32, i32), i32>>,
}

impl ReadMarks {
    /// The user has seen the room's log up to `last_id`.
    pub fn saw(&self, user_id: i32, room_id: i32, last_id: i32) {
        let mut pending = lock(&self.pending);
        let mark = pending.entry((user_id, room_id)).or_insert(last_id);
        *mark = (*mark).max(last_id);
    }

    /// Takes the marks waiting to be written, as `(user, room, last id)`.
    pub fn take(&self) -> Vec<(i32, i32, i32)> {
        lock(&self.pending)
            .drain()
            .map(|((user, room), id)| (user, room, id))
            .collect()
    }

    /// Takes one user's waiting marks (to write them before counting their unread messages).
    pub fn take_for(&self, user_id: i32) -> Vec<(i32, i32, i32)> {
        let mut pending = lock(&self.pending);
        let rooms: Vec<i32> = pending
            .keys()
            .filter(|(user, _)| *user == user_id)
            .map(|(_, room)| *room)
            .collect();
        rooms
            .into_iter()
            .filter_map(|room| {
                pending
                    .remove(&(user_id, room))
                    .map(|id| (user_id, room, id))
            })
            .collect()
    }
}

/// All live state, shared by the workers.
#[derive(Default)]
pub struct Live {
    pub presence: Presence,
    pub reads: ReadMarks,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polling_user_is_present_and_typing_until_they_send() {
        let presence = Presence::default();
        presence.polled(1, 10, "bob", false);
        presence.polled(1, 11, "alice", true);
        let now = presence.in_room(1);
        assert_eq!(now.present, ["alice", "bob"]);
        assert_eq!(now.typing, ["alice"]);
        presence.sent(1, 11);
        assert!(presence.in_room(1).typing.is_empty());
        assert_eq!(presence.counts().get(&1), Some(&2));
    }

    #[test]
    fn leaving_or_logging_out_removes_at_once() {
        let presence = Presence::default();
        presence.polled(1, 10, "bob", false);
        presence.polled(2, 10, "bob", false);
        presence.left(1, 10);
        assert!(presence.in_room(1).present.is_empty());
        presence.logged_out(10);
        assert!(presence.in_room(2).present.is_empty());
        assert!(presence.counts().is_empty());
    }

    #[test]
    fn read_marks_keep_the_highest_and_are_taken_once() {
        let reads = ReadMarks::default();
        reads.saw(1, 5, 10);
        reads.saw(1, 5, 7);
        reads.saw(2, 5, 3);
        assert_eq!(reads.take_for(1), [(1, 5, 10)]);
        assert_eq!(reads.take(), [(2, 5, 3)]);
        assert!(reads.take().is_empty());
    }
}
