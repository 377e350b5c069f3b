//! Live state kept in this process's memory: who is present in which room, who is typing,
//! read marks not yet written, and what the database last said about rooms and memberships
//! (so that an empty poll is answered without touching it).
//!
//! None of it costs a database write per poll. Each piece sits behind a small type, so that
//! several instances can later share it (through the database or a store such as Redis) by
//! changing this file alone. Until then, one instance must own a database: another instance's
//! writes would not reach this one's `Directory`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::models::Changes;

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
    /// Each room's last answer, reused for a moment: a busy room's list is not rebuilt for
    /// every one of its pollers.
    snapshots: Mutex<HashMap<i32, (Instant, Arc<RoomPresence>)>>,
}

/// How long a room's presence snapshot is reused before it is rebuilt.
const SNAPSHOT_AGE: Duration = Duration::from_millis(250);

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
        let arrived = seen.last_poll == now || now - seen.last_poll >= PRESENCE_TIMEOUT;
        let started_typing = typing && seen.typing_until.is_none_or(|until| until <= now);
        seen.last_poll = now;
        if typing {
            seen.typing_until = Some(now + TYPING_TIMEOUT);
        }
        drop(rooms);
        if arrived || started_typing {
            self.changed(room_id);
        }
    }

    /// The room's people changed: its next snapshot is built afresh.
    fn changed(&self, room_id: i32) {
        lock(&self.snapshots).remove(&room_id);
    }

    /// Who is present and typing, as of at most a quarter of a second ago.
    pub fn snapshot(&self, room_id: i32) -> Arc<RoomPresence> {
        let now = Instant::now();
        if let Some((at, snapshot)) = lock(&self.snapshots).get(&room_id)
            && now - *at < SNAPSHOT_AGE
        {
            return snapshot.clone();
        }
        let snapshot = Arc::new(self.in_room(room_id));
        lock(&self.snapshots).insert(room_id, (now, snapshot.clone()));
        snapshot
    }

    /// The user's message arrived: they are no longer typing it.
    pub fn sent(&self, room_id: i32, user_id: i32) {
        if let Some(seen) = lock(&self.rooms)
            .get_mut(&room_id)
            .and_then(|room| room.get_mut(&user_id))
        {
            seen.typing_until = None;
        }
        self.changed(room_id);
    }

    /// Gone at once: they left the room.
    pub fn left(&self, room_id: i32, user_id: i32) {
        if let Some(room) = lock(&self.rooms).get_mut(&room_id) {
            room.remove(&user_id);
        }
        self.changed(room_id);
    }

    /// Gone at once from every room: they logged out.
    pub fn logged_out(&self, user_id: i32) {
        let mut rooms = lock(&self.rooms);
        let mut snapshots = lock(&self.snapshots);
        for (room_id, room) in rooms.iter_mut() {
            if room.remove(&user_id).is_some() {
                snapshots.remove(room_id);
            }
        }
    }

    /// The room was deleted.
    pub fn forget_room(&self, room_id: i32) {
        lock(&self.rooms).remove(&room_id);
        self.changed(room_id);
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
/// for a write, and a poll that saw nothing new changes nothing.
#[derive(Default)]
pub struct ReadMarks {
    /// (user, room) -> (highest id seen, highest id handed out for writing)
    marks: Mutex<HashMap<(i32, i32), (i32, i32)>>,
}

impl ReadMarks {
    /// The user has seen the room's log up to `last_id`.
    pub fn saw(&self, user_id: i32, room_id: i32, last_id: i32) {
        let mut marks = lock(&self.marks);
        let mark = marks.entry((user_id, room_id)).or_insert((0, 0));
        mark.0 = mark.0.max(last_id);
    }

    /// Takes the marks waiting to be written, as `(user, room, last id)`.
    pub fn take(&self) -> Vec<(i32, i32, i32)> {
        Self::take_where(&mut lock(&self.marks), |_| true)
    }

    /// Takes one user's waiting marks (to write them before counting their unread messages).
    pub fn take_for(&self, user_id: i32) -> Vec<(i32, i32, i32)> {
        Self::take_where(&mut lock(&self.marks), |user| user == user_id)
    }

    fn take_where(
        marks: &mut HashMap<(i32, i32), (i32, i32)>,
        wanted: impl Fn(i32) -> bool,
    ) -> Vec<(i32, i32, i32)> {
        marks
            .iter_mut()
            .filter(|((user, _), (seen, written))| wanted(*user) && seen > written)
            .map(|((user, room), (seen, written))| {
                *written = *seen;
                (*user, *room, *seen)
            })
            .collect()
    }
}

/// What the database last said about rooms and memberships, kept fresh by the `Changes` of
/// every write, so that a poll with nothing new is answered from memory.
#[derive(Default)]
pub struct Directory {
    /// The highest log entry id each room is known to have.
    last_ids: RwLock<HashMap<i32, i32>>,
    deleted: RwLock<HashSet<i32>>,
    /// Each user's current room, with a count of the moves seen: a poll that read the
    /// database before a move must not record what it read after it.
    current: RwLock<HashMap<i32, (Option<i32>, u64)>>,
}

/// What a poll can be told without the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Deleted,
    NothingNew,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Directory {
    /// The answer to `user`'s poll of `room` after `after`, if memory holds it. `None` means
    /// ask the database (which also gives the exact error for a non-member).
    pub fn poll(&self, room_id: i32, user_id: i32, after: i32) -> Option<Known> {
        if read(&self.deleted).contains(&room_id) {
            return Some(Known::Deleted);
        }
        let (current, _) = *read(&self.current).get(&user_id)?;
        if current != Some(room_id) {
            return None;
        }
        let last_id = *read(&self.last_ids).get(&room_id)?;
        (after >= last_id).then_some(Known::NothingNew)
    }

    /// The count of the user's moves, to hand back to `learned`.
    pub fn moves(&self, user_id: i32) -> u64 {
        read(&self.current)
            .get(&user_id)
            .map_or(0, |(_, moves)| *moves)
    }

    /// A poll read from the database that `user` is in `room`, whose newest entry is `last_id`.
    pub fn learned(&self, room_id: i32, user_id: i32, moves_before: u64, last_id: i32) {
        self.appended(room_id, last_id);
        let mut current = write(&self.current);
        let entry = current.entry(user_id).or_insert((None, 0));
        if entry.1 == moves_before {
            entry.0 = Some(room_id);
        }
    }

    fn appended(&self, room_id: i32, id: i32) {
        let mut last_ids = write(&self.last_ids);
        let last = last_ids.entry(room_id).or_insert(id);
        *last = (*last).max(id);
    }

    fn moved(&self, user_id: i32, to: Option<i32>) {
        let mut current = write(&self.current);
        let entry = current.entry(user_id).or_insert((None, 0));
        *entry = (to, entry.1 + 1);
    }

    fn deleted(&self, room_id: i32) {
        write(&self.deleted).insert(room_id);
        write(&self.last_ids).remove(&room_id);
    }
}

/// All live state, shared by the workers.
#[derive(Default)]
pub struct Live {
    pub presence: Presence,
    pub reads: ReadMarks,
    pub directory: Directory,
}

impl Live {
    /// Hears what a committed write changed.
    pub fn apply(&self, changes: &Changes) {
        for &(room_id, id) in &changes.appended {
            self.directory.appended(room_id, id);
        }
        for &(user_id, to) in &changes.moved {
            self.directory.moved(user_id, to);
        }
        for &room_id in &changes.deleted_rooms {
            self.directory.deleted(room_id);
            self.presence.forget_room(room_id);
        }
    }
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
        reads.saw(1, 5, 10);
        assert!(
            reads.take().is_empty(),
            "seeing the same again writes nothing"
        );
        reads.saw(1, 5, 11);
        assert_eq!(reads.take(), [(1, 5, 11)]);
    }

    #[test]
    fn the_directory_answers_only_what_it_knows() {
        let live = Live::default();
        assert_eq!(live.directory.poll(1, 7, 0), None, "nothing known yet");
        let moves = live.directory.moves(7);
        live.directory.learned(1, 7, moves, 10);
        assert_eq!(live.directory.poll(1, 7, 10), Some(Known::NothingNew));
        assert_eq!(
            live.directory.poll(1, 7, 9),
            None,
            "something new: ask the database"
        );
        assert_eq!(
            live.directory.poll(2, 7, 10),
            None,
            "not their room: the database says why"
        );

        let mut changes = Changes::default();
        changes.appended.push((1, 11));
        live.apply(&changes);
        assert_eq!(live.directory.poll(1, 7, 10), None);

        let moves = live.directory.moves(7);
        let mut moved = Changes::default();
        moved.moved.push((7, Some(2)));
        live.apply(&moved);
        live.directory.learned(1, 7, moves, 11);
        assert_eq!(
            live.directory.poll(1, 7, 11),
            None,
            "a read from before the move does not undo it"
        );

        let mut deleted = Changes::default();
        deleted.deleted_rooms.push(1);
        live.apply(&deleted);
        assert_eq!(live.directory.poll(1, 7, 0), Some(Known::Deleted));
    }
}
