//! Live state kept in this process's memory: who is present in which room, who is typing,
//! read marks not yet written, and what the database last said about rooms and memberships
//! (so that an empty poll is answered without touching it).
//!
//! None of it costs a database write per poll. Each piece sits behind a small type, so that
//! several instances can later share it (through the database or a store such as Redis) by
//! changing this file alone. Until then, one instance must own a database: another instance's
//! writes would not reach this one's `Directory`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::models::{Changes, Kind, LogEntry};

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
    people: Mutex<People>,
    /// Each room's last answer, reused until the room's people change: a busy room's list
    /// is not rebuilt for every one of its pollers, nor every moment.
    snapshots: Mutex<HashMap<i32, Built>>,
}

#[derive(Default)]
struct People {
    rooms: HashMap<i32, HashMap<i32, Seen>>,
    /// Each room's last change, numbered from one count for all rooms. A snapshot built
    /// while a change came in is kept as stale: it was read before the change.
    versions: HashMap<i32, u64>,
    changes: u64,
}

impl People {
    fn changed(&mut self, room_id: i32) {
        self.changes += 1;
        self.versions.insert(room_id, self.changes);
    }

    fn version(&self, room_id: i32) -> u64 {
        self.versions.get(&room_id).copied().unwrap_or(0)
    }
}

/// A room's snapshot and how long it holds.
struct Built {
    at: Instant,
    snapshot: Snapshot,
    /// Someone arrived or began to type since it was read.
    dirty: bool,
    /// When the first of its people would time out or stop typing, if they did nothing.
    until: Instant,
}

/// A room's people, and the JSON a poll answer carries for them.
pub type Snapshot = Arc<(RoomPresence, String)>;

/// How old a stale snapshot may grow before it is rebuilt: when a busy room's pages all open
/// together, its list is rebuilt a few times, not once per arrival.
const DIRTY_SNAPSHOT_AGE: Duration = Duration::from_millis(50);

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
        let mut people = lock(&self.people);
        let room = people.rooms.entry(room_id).or_default();
        let arrived = room
            .get(&user_id)
            .is_none_or(|seen| now - seen.last_poll >= PRESENCE_TIMEOUT);
        let seen = room.entry(user_id).or_insert_with(|| Seen {
            username: username.to_owned(),
            last_poll: now,
            typing_until: None,
        });
        seen.last_poll = now;
        let began_typing = typing && seen.typing_until.is_none_or(|until| until <= now);
        if typing {
            seen.typing_until = Some(now + TYPING_TIMEOUT);
        }
        if arrived || began_typing {
            people.changed(room_id);
            drop(people);
            if let Some(built) = lock(&self.snapshots).get_mut(&room_id) {
                built.dirty = true;
            }
        }
    }

    /// Who is present and typing, with the JSON the poll answer carries
    /// (`"present":[...],"typing":[...]`), made once per snapshot. A snapshot holds until
    /// someone leaves, sends, times out or stops typing; an arrival or someone beginning to
    /// type shows within `DIRTY_SNAPSHOT_AGE`.
    pub fn snapshot(&self, room_id: i32) -> Snapshot {
        let now = Instant::now();
        if let Some(built) = lock(&self.snapshots).get(&room_id)
            && now < built.until
            && !(built.dirty && now - built.at >= DIRTY_SNAPSHOT_AGE)
        {
            return built.snapshot.clone();
        }
        let (people, until, version) = self.read_room(room_id, now);
        self.keep(room_id, people, now, until, version)
    }

    /// Makes and keeps the snapshot of what `read_room` read at `at`.
    fn keep(
        &self,
        room_id: i32,
        people: RoomPresence,
        at: Instant,
        until: Instant,
        version: u64,
    ) -> Snapshot {
        let json = format!(
            "\"present\":{},\"typing\":{}",
            serde_json::to_string(&people.present).unwrap_or_else(|_| "[]".into()),
            serde_json::to_string(&people.typing).unwrap_or_else(|_| "[]".into()),
        );
        let snapshot = Arc::new((people, json));
        // In the order every change takes them: a change either came before this check and
        // shows in the version, or comes after it and finds this snapshot to mark or drop.
        let people = lock(&self.people);
        let mut snapshots = lock(&self.snapshots);
        let built = Built {
            at,
            snapshot: snapshot.clone(),
            dirty: people.version(room_id) != version,
            until,
        };
        snapshots.insert(room_id, built);
        snapshot
    }

    /// Runs `change` on everyone's presence, counts it as a change of the room's people, and
    /// drops the room's snapshot.
    fn change(&self, room_id: i32, change: impl FnOnce(&mut People)) {
        let mut people = lock(&self.people);
        change(&mut people);
        people.changed(room_id);
        lock(&self.snapshots).remove(&room_id);
    }

    /// The user's message arrived: they are no longer typing it.
    pub fn sent(&self, room_id: i32, user_id: i32) {
        self.change(room_id, |people| {
            if let Some(seen) = people
                .rooms
                .get_mut(&room_id)
                .and_then(|room| room.get_mut(&user_id))
            {
                seen.typing_until = None;
            }
        });
    }

    /// Gone at once: they left the room.
    pub fn left(&self, room_id: i32, user_id: i32) {
        self.change(room_id, |people| {
            if let Some(room) = people.rooms.get_mut(&room_id) {
                room.remove(&user_id);
            }
        });
    }

    /// Gone at once from every room but `to`: they entered another room or left.
    pub fn moved(&self, user_id: i32, to: Option<i32>) {
        self.remove_everywhere(user_id, to);
    }

    /// Gone at once from every room: they logged out.
    pub fn logged_out(&self, user_id: i32) {
        self.remove_everywhere(user_id, None);
    }

    fn remove_everywhere(&self, user_id: i32, except: Option<i32>) {
        let mut people = lock(&self.people);
        let mut snapshots = lock(&self.snapshots);
        let mut left = Vec::new();
        for (room_id, room) in &mut people.rooms {
            if Some(*room_id) != except && room.remove(&user_id).is_some() {
                left.push(*room_id);
            }
        }
        for room_id in left {
            people.changed(room_id);
            snapshots.remove(&room_id);
        }
    }

    /// The room was deleted.
    pub fn forget_room(&self, room_id: i32) {
        self.change(room_id, |people| {
            people.rooms.remove(&room_id);
        });
    }

    pub fn in_room(&self, room_id: i32) -> RoomPresence {
        self.read_room(room_id, Instant::now()).0
    }

    /// The room's people as of `now`, the first moment that could change by itself, and the
    /// room's version.
    fn read_room(&self, room_id: i32, now: Instant) -> (RoomPresence, Instant, u64) {
        let mut until = now + PRESENCE_TIMEOUT;
        let mut people = lock(&self.people);
        let version = people.version(room_id);
        let Some(room) = people.rooms.get_mut(&room_id) else {
            return (RoomPresence::default(), until, version);
        };
        room.retain(|_, seen| now - seen.last_poll < PRESENCE_TIMEOUT);
        let mut present = Vec::with_capacity(room.len());
        let mut typing = Vec::new();
        for seen in room.values() {
            present.push(seen.username.clone());
            until = until.min(seen.last_poll + PRESENCE_TIMEOUT);
            if let Some(typing_until) = seen.typing_until.filter(|&t| t > now) {
                typing.push(seen.username.clone());
                until = until.min(typing_until);
            }
        }
        present.sort_unstable();
        typing.sort_unstable();
        (RoomPresence { present, typing }, until, version)
    }

    /// How many people are present in each room that has any.
    pub fn counts(&self) -> HashMap<i32, usize> {
        let now = Instant::now();
        let mut people = lock(&self.people);
        people.rooms.retain(|_, room| {
            room.retain(|_, seen| now - seen.last_poll < PRESENCE_TIMEOUT);
            !room.is_empty()
        });
        people
            .rooms
            .iter()
            .map(|(id, room)| (*id, room.len()))
            .collect()
    }
}

/// Read marks that polls advanced, gathered here and written later, a few at a time: a poll
/// never waits for a write, a poll that saw nothing new changes nothing, and a mark waits
/// `READ_MARK_DELAY` before it is written, so someone reading a busy room costs one write
/// per delay, not one per message. The writing is spread evenly instead of arriving in bursts
/// that crowd out the polls.
#[derive(Default)]
pub struct ReadMarks {
    inner: Mutex<Marks>,
}

/// How long a read mark waits in memory before it is written. A user's own lobby writes
/// theirs first (`take_for`), and a clean shutdown writes them all (`take_all`); only a crash
/// loses the wait's worth, which shows as a few messages unread that were read.
pub const READ_MARK_DELAY: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Marks {
    /// user -> room -> mark: a user's own marks are found without looking at everyone's.
    marks: HashMap<i32, HashMap<i32, Mark>>,
    /// Marks waiting to be written, oldest first, each once, with when they began to wait.
    queue: VecDeque<(i32, i32, Instant)>,
}

#[derive(Default)]
struct Mark {
    seen: i32,
    written: i32,
    queued: bool,
}

impl ReadMarks {
    /// The user has seen the room's log up to `last_id`.
    pub fn saw(&self, user_id: i32, room_id: i32, last_id: i32) {
        let mut inner = lock(&self.inner);
        let Marks { marks, queue } = &mut *inner;
        let mark = marks
            .entry(user_id)
            .or_default()
            .entry(room_id)
            .or_default();
        mark.seen = mark.seen.max(last_id);
        if mark.seen > mark.written && !mark.queued {
            mark.queued = true;
            queue.push_back((user_id, room_id, Instant::now()));
        }
    }

    /// Takes up to `limit` marks that have waited `READ_MARK_DELAY`, the longest waiting
    /// first, as `(user, room, last id)`.
    pub fn take(&self, limit: usize) -> Vec<(i32, i32, i32)> {
        self.take_waited(limit, READ_MARK_DELAY)
    }

    /// Takes every mark waiting to be written (at shutdown).
    pub fn take_all(&self) -> Vec<(i32, i32, i32)> {
        self.take_waited(usize::MAX, Duration::ZERO)
    }

    fn take_waited(&self, limit: usize, wait: Duration) -> Vec<(i32, i32, i32)> {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        let Marks { marks, queue } = &mut *inner;
        let mut taken = Vec::new();
        while taken.len() < limit {
            let Some(&(user_id, room_id, since)) = queue.front() else {
                break;
            };
            if now.saturating_duration_since(since) < wait {
                break;
            }
            queue.pop_front();
            if let Some(mark) = marks
                .get_mut(&user_id)
                .and_then(|rooms| rooms.get_mut(&room_id))
            {
                mark.queued = false;
                if mark.seen > mark.written {
                    mark.written = mark.seen;
                    taken.push((user_id, room_id, mark.seen));
                }
            }
        }
        taken
    }

    /// Hands back marks taken for a write that failed: they wait their turn again, so that a
    /// write that failed is tried again rather than lost.
    pub fn give_back(&self, taken: &[(i32, i32, i32)]) {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        let Marks { marks, queue } = &mut *inner;
        for &(user_id, room_id, last_id) in taken {
            let Some(mark) = marks
                .get_mut(&user_id)
                .and_then(|rooms| rooms.get_mut(&room_id))
            else {
                continue;
            };
            // Unless a later take wrote more meanwhile, nothing is known to be written.
            if mark.written == last_id {
                mark.written = 0;
            }
            if mark.seen > mark.written && !mark.queued {
                mark.queued = true;
                queue.push_back((user_id, room_id, now));
            }
        }
    }

    /// Takes one user's waiting marks (to write them before counting their unread messages).
    pub fn take_for(&self, user_id: i32) -> Vec<(i32, i32, i32)> {
        let mut inner = lock(&self.inner);
        let Some(rooms) = inner.marks.get_mut(&user_id) else {
            return Vec::new();
        };
        rooms
            .iter_mut()
            .filter(|(_, mark)| mark.seen > mark.written)
            .map(|(room, mark)| {
                mark.written = mark.seen;
                (user_id, *room, mark.seen)
            })
            .collect()
    }
}

/// How many of a room's latest log entries memory keeps.
pub const TAIL: usize = 256;

/// A room's latest entries: every entry of the room with an id above `floor`, oldest first.
struct Tail {
    floor: i32,
    entries: VecDeque<Arc<LogEntry>>,
}

/// What the database last said about rooms, their latest entries and memberships, kept fresh
/// by the `Changes` of every write, so that most polls are answered from memory.
///
/// Writes that append to a log commit and hand over their changes under `Live::log_turn`,
/// one at a time, so a tail grows in commit order and never holds an entry that did not
/// commit; a tail is filled from the database under the same lock. A poll served from memory
/// therefore sees a prefix of the committed log, like one served from the database.
#[derive(Default)]
pub struct Directory {
    tails: RwLock<HashMap<i32, Tail>>,
    deleted: RwLock<HashSet<i32>>,
    /// Each user's current room, with a count of the moves seen: a poll that read the
    /// database before a move must not record what it read after it.
    current: RwLock<HashMap<i32, (Option<i32>, u64)>>,
}

/// What a poll can be told without the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    Deleted,
    /// The entries after the cursor (perhaps none), oldest first.
    Entries(Vec<Arc<LogEntry>>),
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Directory {
    /// The answer to `user`'s poll of `room` after `after` (at most `limit` entries), if
    /// memory holds it. `None` means ask the database (which also explains a refusal).
    pub fn poll(&self, room_id: i32, user_id: i32, after: i32, limit: usize) -> Option<Known> {
        if read(&self.deleted).contains(&room_id) {
            return Some(Known::Deleted);
        }
        let (current, _) = *read(&self.current).get(&user_id)?;
        if current != Some(room_id) {
            return None;
        }
        let tails = read(&self.tails);
        let tail = tails.get(&room_id)?;
        if after < tail.floor {
            return None;
        }
        // Counted from the newest end: a poll is almost always at or near it, and each look
        // at an entry is a trip to memory that is rarely in cache.
        let newer = tail
            .entries
            .iter()
            .rev()
            .take_while(|e| e.id > after)
            .count();
        let start = tail.entries.len() - newer;
        Some(Known::Entries(
            tail.entries
                .iter()
                .skip(start)
                .take(limit)
                .cloned()
                .collect(),
        ))
    }

    pub fn has_tail(&self, room_id: i32) -> bool {
        read(&self.tails).contains_key(&room_id)
    }

    /// Sets a room's tail from its `latest` entries (oldest first, at most `TAIL`). Call under
    /// `Live::log_turn`.
    pub fn fill(&self, room_id: i32, latest: Vec<LogEntry>) {
        let floor = if latest.len() < TAIL {
            0
        } else {
            latest.first().map_or(0, |e| e.id - 1)
        };
        let entries = latest.into_iter().map(Arc::new).collect();
        write(&self.tails).insert(room_id, Tail { floor, entries });
    }

    /// What the database says at start-up: who is in which room. Before the server serves.
    pub fn preload_memberships(&self, memberships: &[(i32, i32)]) {
        let mut current = write(&self.current);
        for &(user_id, room_id) in memberships {
            current.insert(user_id, (Some(room_id), 0));
        }
    }

    /// The count of the user's moves, to hand back to `learned`.
    pub fn moves(&self, user_id: i32) -> u64 {
        read(&self.current)
            .get(&user_id)
            .map_or(0, |(_, moves)| *moves)
    }

    /// A poll read from the database that `user` is in `room`.
    pub fn learned(&self, room_id: i32, user_id: i32, moves_before: u64) {
        let mut current = write(&self.current);
        let entry = current.entry(user_id).or_insert((None, 0));
        if entry.1 == moves_before {
            entry.0 = Some(room_id);
        }
    }

    /// Appends committed entries to their rooms' tails, under one lock for all of them.
    fn appended(&self, entries: &[LogEntry]) {
        if entries.is_empty() {
            return;
        }
        let mut tails = write(&self.tails);
        for entry in entries {
            let Some(tail) = tails.get_mut(&entry.room_id) else {
                continue;
            };
            if entry.kind == Kind::Deleted
                && let Some(target) = tail.entries.iter_mut().find(|e| Some(e.id) == entry.target)
            {
                let mut blanked = LogEntry::clone(target);
                blanked.deleted = true;
                blanked.body.clear();
                *target = Arc::new(blanked);
            }
            tail.entries.push_back(Arc::new(entry.clone()));
            while tail.entries.len() > TAIL {
                if let Some(oldest) = tail.entries.pop_front() {
                    tail.floor = oldest.id;
                }
            }
        }
    }

    /// Forgets everything but deleted rooms: later polls refill it from the database. For
    /// when a write failed in a way that may have left memory and the database apart.
    pub fn reset(&self) {
        write(&self.tails).clear();
        write(&self.current).clear();
    }

    fn moved(&self, user_id: i32, to: Option<i32>) {
        let mut current = write(&self.current);
        let entry = current.entry(user_id).or_insert((None, 0));
        *entry = (to, entry.1 + 1);
    }

    fn deleted(&self, room_id: i32) {
        write(&self.deleted).insert(room_id);
        write(&self.tails).remove(&room_id);
    }
}

/// All live state, shared by the workers.
#[derive(Default)]
pub struct Live {
    pub presence: Presence,
    pub reads: ReadMarks,
    pub directory: Directory,
    log_turn: Mutex<()>,
}

impl Live {
    /// Held by a write from before its transaction begins until its changes are applied,
    /// and by the filling of a tail: see `Directory`.
    pub fn log_turn(&self) -> MutexGuard<'_, ()> {
        lock(&self.log_turn)
    }

    /// Hears what a committed write changed.
    pub fn apply(&self, changes: &Changes) {
        self.directory.appended(&changes.appended);
        for &(user_id, to) in &changes.moved {
            self.directory.moved(user_id, to);
            self.presence.moved(user_id, to);
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
    fn a_snapshot_holds_until_the_room_changes() {
        let presence = Presence::default();
        presence.polled(1, 10, "bob", false);
        let first = presence.snapshot(1);
        presence.polled(1, 10, "bob", false);
        assert!(
            Arc::ptr_eq(&first, &presence.snapshot(1)),
            "the same people: the same snapshot"
        );
        assert_eq!(first.1, r#""present":["bob"],"typing":[]"#);

        presence.polled(1, 11, "alice", true);
        std::thread::sleep(DIRTY_SNAPSHOT_AGE + Duration::from_millis(10));
        let arrived = presence.snapshot(1);
        assert_eq!(arrived.0.present, ["alice", "bob"]);
        assert_eq!(arrived.0.typing, ["alice"]);

        presence.sent(1, 11);
        assert!(
            presence.snapshot(1).0.typing.is_empty(),
            "sending shows at once"
        );
        presence.left(1, 10);
        assert_eq!(presence.snapshot(1).0.present, ["alice"], "so does leaving");
    }

    #[test]
    fn a_change_while_a_snapshot_is_built_is_not_lost() {
        let presence = Presence::default();
        presence.polled(1, 10, "bob", false);
        let now = Instant::now();
        let (people, until, version) = presence.read_room(1, now);
        // Alice arrives after the room was read, before its snapshot is kept.
        presence.polled(1, 11, "alice", false);
        let kept = presence.keep(1, people, now, until, version);
        assert_eq!(kept.0.present, ["bob"]);
        std::thread::sleep(DIRTY_SNAPSHOT_AGE + Duration::from_millis(10));
        assert_eq!(presence.snapshot(1).0.present, ["alice", "bob"]);
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
        assert_eq!(reads.take_all(), [(2, 5, 3)]);
        assert!(reads.take_all().is_empty());
        reads.saw(1, 5, 10);
        assert!(
            reads.take_all().is_empty(),
            "seeing the same again writes nothing"
        );
        reads.saw(1, 5, 11);
        assert_eq!(reads.take_all(), [(1, 5, 11)]);
    }

    #[test]
    fn read_marks_are_written_a_few_at_a_time_oldest_first() {
        let reads = ReadMarks::default();
        for user in 1..=5 {
            reads.saw(user, 9, 100);
        }
        reads.saw(1, 9, 101); // already waiting: keeps its place
        assert_eq!(
            reads.take_waited(2, Duration::ZERO),
            [(1, 9, 101), (2, 9, 100)]
        );
        assert_eq!(
            reads.take_waited(10, Duration::ZERO),
            [(3, 9, 100), (4, 9, 100), (5, 9, 100)]
        );
    }

    #[test]
    fn a_read_mark_waits_before_it_is_written_and_gathers_what_comes_meanwhile() {
        let reads = ReadMarks::default();
        reads.saw(1, 9, 100);
        assert!(reads.take(10).is_empty(), "too soon");
        reads.saw(1, 9, 101);
        assert!(reads.take(10).is_empty(), "still too soon");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            reads.take_waited(10, Duration::from_millis(1)),
            [(1, 9, 101)],
            "one write for both"
        );
    }

    #[test]
    fn marks_whose_write_failed_are_written_again() {
        let reads = ReadMarks::default();
        reads.saw(1, 9, 100);
        reads.saw(2, 9, 50);
        let taken = reads.take_all();
        assert_eq!(taken, [(1, 9, 100), (2, 9, 50)]);
        reads.saw(2, 9, 60); // read on while the write was failing
        reads.give_back(&taken);
        let mut again = reads.take_all();
        again.sort_unstable();
        assert_eq!(again, [(1, 9, 100), (2, 9, 60)]);
        assert!(reads.take_all().is_empty());
    }

    fn entry(room_id: i32, id: i32, kind: Kind, target: Option<i32>) -> LogEntry {
        LogEntry {
            id,
            room_id,
            kind,
            author: "alice".into(),
            author_id: 1,
            body: if kind == Kind::Message {
                "hi".into()
            } else {
                String::new()
            },
            target,
            deleted: false,
            sent_at: chrono::NaiveDateTime::default(),
        }
    }

    fn ids(known: Option<Known>) -> Option<Vec<i32>> {
        match known? {
            Known::Entries(entries) => Some(entries.iter().map(|e| e.id).collect()),
            Known::Deleted => None,
        }
    }

    #[test]
    fn the_directory_answers_only_what_it_knows() {
        let live = Live::default();
        assert_eq!(live.directory.poll(1, 7, 0, 500), None, "nothing known yet");
        let moves = live.directory.moves(7);
        live.directory.learned(1, 7, moves);
        assert_eq!(live.directory.poll(1, 7, 0, 500), None, "no tail yet");
        live.directory.fill(
            1,
            vec![
                entry(1, 3, Kind::Message, None),
                entry(1, 5, Kind::Message, None),
            ],
        );
        assert_eq!(ids(live.directory.poll(1, 7, 3, 500)), Some(vec![5]));
        assert_eq!(ids(live.directory.poll(1, 7, 5, 500)), Some(vec![]));
        assert_eq!(
            live.directory.poll(2, 7, 5, 500),
            None,
            "not their room: ask why"
        );

        let mut changes = Changes::default();
        changes.appended.push(entry(1, 8, Kind::Deleted, Some(3)));
        live.apply(&changes);
        let Some(Known::Entries(after)) = live.directory.poll(1, 7, 0, 500) else {
            panic!("known");
        };
        assert!(
            after[0].deleted && after[0].body.is_empty(),
            "blanked in place"
        );
        assert_eq!(after.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 5, 8]);

        let moves = live.directory.moves(7);
        let mut moved = Changes::default();
        moved.moved.push((7, Some(2)));
        live.apply(&moved);
        live.directory.learned(1, 7, moves);
        assert_eq!(
            live.directory.poll(1, 7, 8, 500),
            None,
            "a read from before the move does not undo it"
        );

        let mut deleted = Changes::default();
        deleted.deleted_rooms.push(1);
        live.apply(&deleted);
        assert_eq!(live.directory.poll(1, 7, 0, 500), Some(Known::Deleted));
    }

    #[test]
    fn a_full_tail_drops_its_oldest_and_sends_older_cursors_to_the_database() {
        let live = Live::default();
        live.directory.learned(1, 7, 0);
        live.directory.fill(1, Vec::new());
        let mut changes = Changes::default();
        for id in 1..=(TAIL as i32 + 10) {
            changes.appended.push(entry(1, id, Kind::Message, None));
        }
        live.apply(&changes);
        assert_eq!(live.directory.poll(1, 7, 5, 500), None, "below the floor");
        assert_eq!(
            ids(live.directory.poll(1, 7, TAIL as i32 + 8, 500)),
            Some(vec![TAIL as i32 + 9, TAIL as i32 + 10])
        );
    }
}
