//! Each room's latest log entries, who is in which room, and which rooms were deleted, as far
//! as this process knows: enough to answer most polls without the database.
//!
//! Memory only remembers what was committed, and answers a poll only up to the room's head
//! that it has seen committed: a cursor past that head, below what memory holds, or about a
//! room or user it knows nothing of, goes to the database. A tail grows only by the next
//! number (`head + 1`); an entry that would leave a hole (another process wrote in between)
//! drops the tail instead, and the next poll fills it again from the database. Entries that
//! other processes commit reach memory through `caught_up` (see `chat::background::catch_up`).
//!
//! Memory is bounded: at most `TAILS` rooms have a tail, each at most `TAIL` entries and
//! `TAIL_BYTES`. Filling one more drops the least recently polled tail, exactly as a hole
//! does: its members' next polls go to the database, which fills it again.
//!
//! This cache is per instance by design (it is what makes a poll cheap), so its interface is
//! plain, not async: it is used inside database calls, under the write turn.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use super::{read, write};
use crate::domain::excerpt;
use crate::models::{Attachment, Changes, Kind, LogEntry};

/// How many of a room's latest log entries memory keeps.
pub const TAIL: usize = 256;
/// About how many bytes of entries a tail keeps, with their JSON (see `size`): room for a
/// hundred or so ordinary messages, a few dozen of the longest. Together with `TAILS`, what
/// memory can hold is bounded (about 130 MB at worst) whatever people post.
pub const TAIL_BYTES: usize = 64 * 1024;
/// How many rooms have a tail at most, by default: more than start-up warms (see `startup`).
pub const TAILS: usize = 2000;

/// What a poll can be told without the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryAnswer {
    Deleted,
    /// The entries after the cursor (perhaps none), oldest first, and the head they reach.
    Entries {
        entries: Vec<Arc<Held>>,
        head: i32,
    },
}

/// An entry as memory holds it, shared by the answers that carry it, with the JSON that the
/// first of them made: a message in a room of 400 is serialized once, not 400 times. The JSON
/// is the caller's to make (memory knows nothing of the API); a change to the entry drops it.
#[derive(Debug)]
pub struct Held {
    entry: LogEntry,
    json: OnceLock<Box<str>>,
}

impl Held {
    pub fn new(entry: LogEntry) -> Self {
        Self {
            entry,
            json: OnceLock::new(),
        }
    }

    /// The entry's JSON: made by `make` the first time, the same bytes after.
    pub fn json<E>(&self, make: impl FnOnce(&LogEntry) -> Result<String, E>) -> Result<&str, E> {
        if let Some(json) = self.json.get() {
            return Ok(json);
        }
        let json = make(&self.entry)?;
        Ok(self.json.get_or_init(|| json.into_boxed_str()))
    }

    /// The entry, to change: its JSON is made again when next asked for.
    fn entry_mut(&mut self) -> &mut LogEntry {
        self.json.take();
        &mut self.entry
    }
}

impl Deref for Held {
    type Target = LogEntry;

    fn deref(&self) -> &LogEntry {
        &self.entry
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.entry == other.entry
    }
}

impl Eq for Held {}

/// A copy is of the entry alone: `Arc::make_mut` copies an entry to change it.
impl Clone for Held {
    fn clone(&self) -> Self {
        Self::new(self.entry.clone())
    }
}

pub trait RecentLogs: Send + Sync {
    /// The answer to `user`'s poll of `room` after `after` (at most `limit` entries), if
    /// memory can vouch for it. `None` means ask the database (which also explains a refusal).
    fn poll(&self, room_id: i32, user_id: i32, after: i32, limit: usize) -> Option<MemoryAnswer>;
    fn has_tail(&self, room_id: i32) -> bool;
    /// Sets a room's tail from its `latest` entries (oldest first, at most `TAIL`, read in one
    /// snapshot of the database). Call under `Live::write_turn`.
    ///
    /// Whoever memory had in the room is confirmed again by their next poll: a move that
    /// another process made before the tail's head would otherwise go unseen. A fill past
    /// the cap on tails drops the least recently polled other tail, as a hole drops one.
    fn fill(&self, room_id: i32, latest: Vec<LogEntry>);
    /// What the database says at start-up: who is in which room. Before the server serves.
    fn preload_memberships(&self, memberships: &[(i32, i32)]);
    /// The count of the user's moves, to hand back to `learned`.
    fn moves(&self, user_id: i32) -> u64;
    /// A poll read from the database that `user` is in `room`.
    fn learned(&self, room_id: i32, user_id: i32, moves_before: u64);
    /// Hears what a write of this process committed. Call under `Live::write_turn`.
    fn apply(&self, changes: &Changes);
    /// The head of every room with a tail: what `caught_up` compares with the database.
    fn heads(&self) -> Vec<(i32, i32)>;
    /// Entries that other processes committed after `heads` said, oldest first; `None` for a
    /// room that no longer exists. Call under `Live::write_turn`.
    fn caught_up(&self, room_id: i32, entries: Option<Vec<LogEntry>>);
    /// Forgets everything but deleted rooms: later polls refill it from the database. For
    /// when a write failed in a way that may have left memory and the database apart.
    fn reset(&self);
}

/// A room's latest entries: every entry of the room numbered above `floor`, oldest first,
/// ending at the head.
struct Tail {
    floor: i32,
    entries: VecDeque<Arc<Held>>,
    /// What the entries hold, as `size` counts it.
    bytes: usize,
    /// The generation (see `MemoryRecentLogs::generation`) when it was last used. Atomic, so
    /// that a poll records it under the read lock it already holds.
    used: AtomicU64,
}

/// About what an entry costs in memory: itself, and its JSON, which an answer makes once and
/// which repeats its text around about `JSON_FRAME` bytes of names and punctuation.
fn size(entry: &LogEntry) -> usize {
    const JSON_FRAME: usize = 160;
    let reply = entry
        .reply_to
        .as_ref()
        .map_or(0, |r| r.author.len() + r.excerpt.len());
    let reactions: usize = entry
        .reactions
        .iter()
        .map(|r| r.emoji.len() + r.by.iter().map(|b| b.len() + 24).sum::<usize>() + 48)
        .sum();
    let text = entry.author.len()
        + entry.body.len()
        + entry.html.len()
        + entry.mentions.iter().map(|m| m.len() + 24).sum::<usize>()
        + entry
            .attachment
            .as_ref()
            .map_or(0, |a| a.name.len() + a.content_type.len())
        + reply
        + reactions;
    std::mem::size_of::<Held>()
        + entry
            .attachment
            .as_ref()
            .map_or(0, |_| std::mem::size_of::<Attachment>())
        + 2 * text
        + JSON_FRAME
}

impl Tail {
    /// A tail of the room's `latest` entries (oldest first, without holes), as many as fit.
    fn new(latest: Vec<LogEntry>, generation: u64) -> Self {
        let mut tail = Self {
            floor: latest.first().map_or(0, |e| e.seq - 1),
            bytes: latest.iter().map(size).sum(),
            entries: latest.into_iter().map(|e| Arc::new(Held::new(e))).collect(),
            used: AtomicU64::new(generation),
        };
        tail.trim();
        tail
    }

    fn head(&self) -> i32 {
        self.entries.back().map_or(self.floor, |e| e.seq)
    }

    /// Drops the oldest entries past `TAIL` or `TAIL_BYTES`; the floor rises with them.
    fn trim(&mut self) {
        while self.entries.len() > TAIL || self.bytes > TAIL_BYTES {
            let Some(oldest) = self.entries.pop_front() else {
                break;
            };
            self.floor = oldest.seq;
            self.bytes -= size(&oldest);
        }
    }

    /// A poll read the tail: it becomes the most recently used, with the next generation.
    /// Unless it already is (no other tail took a generation since): then a load is all a
    /// poll costs, however busy the room.
    fn touch(&self, generation: &AtomicU64) {
        if self.used.load(Ordering::Relaxed) != generation.load(Ordering::Relaxed) {
            let next = generation.fetch_add(1, Ordering::Relaxed) + 1;
            self.used.store(next, Ordering::Relaxed);
        }
    }

    /// Appends the room's next entry; false if it is not the next (a hole would open).
    fn push(&mut self, entry: &LogEntry) -> bool {
        if entry.seq <= self.head() {
            return true;
        }
        if entry.seq != self.head() + 1 {
            return false;
        }
        if let Some(target) = entry.target {
            self.change(target, entry);
        }
        self.entries.push_back(Arc::new(Held::new(entry.clone())));
        self.bytes += size(entry);
        self.trim();
        true
    }
}

impl Tail {
    /// Brings what the tail holds to the state after `change`, an entry that changed message
    /// `target`, as the database did in the change's transaction (see `models::log`): the
    /// message itself, and what shows of it elsewhere (the edits of a deleted message, the
    /// quotes of the replies to it). Entries not touched stay shared with earlier answers.
    fn change(&mut self, target: i32, change: &LogEntry) {
        // What the replies to it quote from now on (empty once deleted).
        let quote = match change.kind {
            Kind::Edited => excerpt(&change.body),
            _ => String::new(),
        };
        for held in self.entries.iter_mut() {
            let is_target = held.seq == target && held.kind == Kind::Message;
            let is_edit_of_deleted = change.kind == Kind::Deleted
                && held.kind == Kind::Edited
                && held.target == Some(target);
            let quotes_it = matches!(change.kind, Kind::Deleted | Kind::Edited)
                && held.reply_to.as_ref().is_some_and(|r| r.seq == target);
            if !(is_target || is_edit_of_deleted || quotes_it) {
                continue;
            }
            let before = size(held);
            let entry = Arc::make_mut(held).entry_mut();
            if is_target {
                apply(entry, change);
            }
            if is_edit_of_deleted {
                entry.body.clear();
                entry.html.clear();
            }
            if quotes_it && let Some(reply) = &mut entry.reply_to {
                reply.excerpt.clone_from(&quote);
            }
            self.bytes = self.bytes + size(entry) - before;
        }
    }
}

/// Applies a change to the message it names. Applying it again changes nothing more.
fn apply(message: &mut LogEntry, change: &LogEntry) {
    match change.kind {
        Kind::Deleted => {
            message.deleted = true;
            message.body.clear();
            message.html.clear();
            message.reactions.clear();
            message.mentions.clear();
            message.attachment = None;
        }
        _ if message.deleted => {}
        Kind::Edited => {
            message.body.clone_from(&change.body);
            message.html.clone_from(&change.html);
            message.mentions.clone_from(&change.mentions);
            message.edited = true;
        }
        Kind::Reacted => message.add_reaction(&change.body, &change.author),
        Kind::Unreacted => message.remove_reaction(&change.body, &change.author),
        Kind::Message | Kind::Joined | Kind::Left => {}
    }
}

/// The in-memory `RecentLogs`.
pub struct MemoryRecentLogs {
    tails: RwLock<HashMap<i32, Tail>>,
    /// The most rooms with a tail.
    capacity: usize,
    /// Counts uses: a fill, or a poll of a tail that another has been used since, takes the
    /// next one and stamps its tail with it. The tail with the lowest stamp is the least
    /// recently used: the one a fill past `capacity` drops.
    generation: AtomicU64,
    deleted: RwLock<HashSet<i32>>,
    /// Each user's current room (`None`: none, or not known), with a count of the moves seen:
    /// a poll that read the database before a move must not record what it read after it.
    current: RwLock<HashMap<i32, (Option<i32>, u64)>>,
}

impl Default for MemoryRecentLogs {
    fn default() -> Self {
        Self::with_capacity(TAILS)
    }
}

impl MemoryRecentLogs {
    /// Keeps tails for at most `capacity` rooms (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            tails: RwLock::default(),
            capacity: capacity.max(1),
            generation: AtomicU64::new(0),
            deleted: RwLock::default(),
            current: RwLock::default(),
        }
    }

    fn append(&self, entries: &[LogEntry]) {
        if entries.is_empty() {
            return;
        }
        let mut dropped = Vec::new();
        {
            let mut tails = write(&self.tails);
            for entry in entries {
                if let Some(tail) = tails.get_mut(&entry.room_id)
                    && !tail.push(entry)
                {
                    tails.remove(&entry.room_id);
                    dropped.push(entry.room_id);
                }
            }
        }
        for room_id in dropped {
            self.unsettle_room(room_id);
        }
    }

    /// Memory no longer vouches for who is in the room: the moves in the hole it skipped, or
    /// below a new tail's head, were never seen here. Each member's next poll asks the
    /// database.
    fn unsettle_room(&self, room_id: i32) {
        self.unsettle(|room| room == Some(room_id));
    }

    /// Forgets the room of everyone `whose` room it picks, and counts that as a move of
    /// theirs: a poll that read the database before must not settle them again.
    fn unsettle(&self, whose: impl Fn(Option<i32>) -> bool) {
        for (room, moves) in write(&self.current).values_mut() {
            if whose(*room) {
                *room = None;
                *moves += 1;
            }
        }
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

impl RecentLogs for MemoryRecentLogs {
    fn poll(&self, room_id: i32, user_id: i32, after: i32, limit: usize) -> Option<MemoryAnswer> {
        if read(&self.deleted).contains(&room_id) {
            return Some(MemoryAnswer::Deleted);
        }
        let (current, _) = *read(&self.current).get(&user_id)?;
        if current != Some(room_id) {
            return None;
        }
        let tails = read(&self.tails);
        let tail = tails.get(&room_id)?;
        tail.touch(&self.generation);
        let head = tail.head();
        if after < tail.floor || after > head {
            return None;
        }
        // Numbers have no holes: the entries after the cursor are the last `head - after`.
        let newer = usize::try_from(head - after).unwrap_or(0);
        let start = tail.entries.len() - newer;
        Some(MemoryAnswer::Entries {
            entries: tail
                .entries
                .iter()
                .skip(start)
                .take(limit)
                .cloned()
                .collect(),
            head,
        })
    }

    fn has_tail(&self, room_id: i32) -> bool {
        read(&self.tails).contains_key(&room_id)
    }

    fn fill(&self, room_id: i32, latest: Vec<LogEntry>) {
        let evicted = {
            let mut tails = write(&self.tails);
            let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
            tails.insert(room_id, Tail::new(latest, generation));
            let mut evicted = None;
            if tails.len() > self.capacity {
                // A scan, but only when a fill (a poll that goes to the database anyway)
                // meets a full cache; polls themselves only stamp their tail.
                evicted = tails
                    .iter()
                    .filter(|(id, _)| **id != room_id)
                    .min_by_key(|(_, tail)| tail.used.load(Ordering::Relaxed))
                    .map(|(id, _)| *id);
            }
            if let Some(evicted) = evicted {
                tails.remove(&evicted);
            }
            evicted
        };
        self.unsettle_room(room_id);
        if let Some(evicted) = evicted {
            self.unsettle_room(evicted);
        }
    }

    fn preload_memberships(&self, memberships: &[(i32, i32)]) {
        let mut current = write(&self.current);
        for &(user_id, room_id) in memberships {
            current.insert(user_id, (Some(room_id), 0));
        }
    }

    fn moves(&self, user_id: i32) -> u64 {
        read(&self.current)
            .get(&user_id)
            .map_or(0, |(_, moves)| *moves)
    }

    fn learned(&self, room_id: i32, user_id: i32, moves_before: u64) {
        let mut current = write(&self.current);
        let entry = current.entry(user_id).or_insert((None, 0));
        if entry.1 == moves_before {
            entry.0 = Some(room_id);
        }
    }

    fn apply(&self, changes: &Changes) {
        self.append(&changes.appended);
        for &(user_id, to) in &changes.moved {
            self.moved(user_id, to);
        }
        for &room_id in &changes.deleted_rooms {
            self.deleted(room_id);
        }
    }

    fn heads(&self) -> Vec<(i32, i32)> {
        read(&self.tails)
            .iter()
            .map(|(room_id, tail)| (*room_id, tail.head()))
            .collect()
    }

    fn caught_up(&self, room_id: i32, entries: Option<Vec<LogEntry>>) {
        let Some(entries) = entries else {
            self.deleted(room_id);
            return;
        };
        // Someone moved through another process: where they are now is the database's to say.
        for entry in &entries {
            if matches!(entry.kind, Kind::Joined | Kind::Left) {
                self.moved(entry.author_id, None);
            }
        }
        self.append(&entries);
    }

    fn reset(&self) {
        write(&self.tails).clear();
        self.unsettle(|_| true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(room_id: i32, seq: i32, kind: Kind, target: Option<i32>) -> LogEntry {
        LogEntry {
            seq,
            room_id,
            kind,
            author: "alice".into(),
            author_id: 1,
            body: if kind == Kind::Message {
                "hi".into()
            } else {
                String::new()
            },
            html: String::new(),
            target,
            deleted: false,
            edited: false,
            reply_to: None,
            reactions: Vec::new(),
            sent_at: chrono::NaiveDateTime::default(),
            attachment: None,
            bot: false,
            mentions: Vec::new(),
        }
    }

    fn messages(room_id: i32, seqs: std::ops::RangeInclusive<i32>) -> Vec<LogEntry> {
        seqs.map(|seq| entry(room_id, seq, Kind::Message, None))
            .collect()
    }

    fn seqs(known: Option<MemoryAnswer>) -> Option<Vec<i32>> {
        match known? {
            MemoryAnswer::Entries { entries, .. } => Some(entries.iter().map(|e| e.seq).collect()),
            MemoryAnswer::Deleted => None,
        }
    }

    fn appended(entries: Vec<LogEntry>) -> Changes {
        Changes {
            appended: entries,
            ..Changes::default()
        }
    }

    #[test]
    fn memory_answers_only_what_it_knows() {
        let logs = MemoryRecentLogs::default();
        assert_eq!(logs.poll(1, 7, 0, 500), None, "nothing known yet");
        logs.learned(1, 7, logs.moves(7));
        assert_eq!(logs.poll(1, 7, 0, 500), None, "no tail yet");
        logs.fill(1, messages(1, 1..=2));
        logs.learned(1, 7, logs.moves(7));
        assert_eq!(seqs(logs.poll(1, 7, 1, 500)), Some(vec![2]));
        assert_eq!(seqs(logs.poll(1, 7, 2, 500)), Some(vec![]));
        assert_eq!(
            logs.poll(1, 7, 3, 500),
            None,
            "a cursor past the known head: ask the database"
        );
        assert_eq!(logs.poll(2, 7, 2, 500), None, "not their room: ask why");

        logs.apply(&appended(vec![entry(1, 3, Kind::Deleted, Some(1))]));
        let Some(MemoryAnswer::Entries { entries, head }) = logs.poll(1, 7, 0, 500) else {
            panic!("known");
        };
        assert!(
            entries[0].deleted && entries[0].body.is_empty(),
            "blanked in place"
        );
        assert_eq!(head, 3);

        let moves = logs.moves(7);
        let mut moved = Changes::default();
        moved.moved.push((7, Some(2)));
        logs.apply(&moved);
        logs.learned(1, 7, moves);
        assert_eq!(
            logs.poll(1, 7, 3, 500),
            None,
            "a read from before the move does not undo it"
        );

        let mut deleted = Changes::default();
        deleted.deleted_rooms.push(1);
        logs.apply(&deleted);
        assert_eq!(logs.poll(1, 7, 0, 500), Some(MemoryAnswer::Deleted));
    }

    #[test]
    fn an_entry_that_would_leave_a_hole_drops_the_tail() {
        let logs = MemoryRecentLogs::default();
        logs.learned(1, 7, 0);
        logs.fill(1, messages(1, 1..=3));
        // Another process wrote 4; this one's own write is 5.
        logs.apply(&appended(messages(1, 5..=5)));
        assert!(!logs.has_tail(1));
        assert_eq!(logs.poll(1, 7, 3, 500), None, "to the database");
    }

    #[test]
    fn entries_from_other_processes_extend_the_tail_and_unsettle_who_moved() {
        let logs = MemoryRecentLogs::default();
        logs.fill(1, messages(1, 1..=2));
        logs.preload_memberships(&[(7, 1), (8, 1)]);
        assert_eq!(logs.heads(), [(1, 2)]);
        let mut left = entry(1, 4, Kind::Left, None);
        left.author_id = 8;
        logs.caught_up(1, Some(vec![entry(1, 3, Kind::Message, None), left]));
        assert_eq!(seqs(logs.poll(1, 7, 2, 500)), Some(vec![3, 4]));
        assert_eq!(logs.poll(1, 8, 4, 500), None, "user 8 moved elsewhere");

        logs.caught_up(1, None);
        assert_eq!(logs.poll(1, 7, 4, 500), Some(MemoryAnswer::Deleted));
    }

    #[test]
    fn a_new_or_dropped_tail_sends_its_members_to_the_database_once() {
        let logs = MemoryRecentLogs::default();
        logs.preload_memberships(&[(7, 1), (8, 2)]);
        logs.fill(1, messages(1, 1..=2));
        let moves = logs.moves(7);
        assert_eq!(
            logs.poll(1, 7, 2, 500),
            None,
            "memory no longer vouches for 7"
        );
        assert_eq!(logs.poll(2, 8, 0, 500), None, "room 2 has no tail");
        logs.learned(1, 7, moves);
        assert_eq!(
            seqs(logs.poll(1, 7, 2, 500)),
            Some(vec![]),
            "confirmed again"
        );

        logs.apply(&appended(messages(1, 4..=4)));
        assert_eq!(logs.poll(1, 7, 2, 500), None, "a hole: unsettled again");
        assert_eq!(logs.moves(7), moves + 1);
    }

    #[test]
    fn a_read_from_before_a_reset_settles_nobody() {
        let logs = MemoryRecentLogs::default();
        logs.fill(1, messages(1, 1..=2));
        let moves = logs.moves(7);
        logs.learned(1, 7, moves);
        let before = logs.moves(7);
        logs.reset();
        logs.learned(1, 7, before);
        logs.fill(1, messages(1, 1..=2));
        assert_eq!(logs.poll(1, 7, 2, 500), None);
    }

    #[test]
    fn a_full_tail_drops_its_oldest_and_sends_older_cursors_to_the_database() {
        let logs = MemoryRecentLogs::default();
        logs.fill(1, Vec::new());
        logs.learned(1, 7, 0);
        let last = TAIL as i32 + 10;
        logs.apply(&appended(messages(1, 1..=last)));
        assert_eq!(logs.poll(1, 7, 5, 500), None, "below the floor");
        assert_eq!(
            seqs(logs.poll(1, 7, last - 2, 500)),
            Some(vec![last - 1, last])
        );
        assert_eq!(
            seqs(logs.poll(1, 7, last - 3, 2)),
            Some(vec![last - 2, last - 1])
        );
    }

    #[test]
    fn past_the_cap_a_new_tail_drops_the_least_recently_polled_one_and_its_members_ask_the_database()
     {
        let logs = MemoryRecentLogs::with_capacity(2);
        logs.preload_memberships(&[(7, 1), (8, 2), (9, 3)]);
        logs.fill(1, messages(1, 1..=2));
        logs.fill(2, messages(2, 1..=2));
        logs.learned(1, 7, logs.moves(7));
        logs.learned(2, 8, logs.moves(8));
        assert_eq!(seqs(logs.poll(2, 8, 2, 500)), Some(vec![]));
        // Room 1, filled first, is polled last: room 2 is now the least recently used.
        assert_eq!(seqs(logs.poll(1, 7, 1, 500)), Some(vec![2]));

        let moves = logs.moves(8);
        logs.fill(3, messages(3, 1..=1));
        assert!(logs.has_tail(1) && logs.has_tail(3));
        assert!(!logs.has_tail(2), "room 2 was evicted");
        assert_eq!(logs.heads().len(), 2);
        assert_eq!(logs.poll(2, 8, 2, 500), None, "room 2: to the database");
        assert_eq!(logs.moves(8), moves + 1, "room 2's members confirm again");
        assert_eq!(
            seqs(logs.poll(1, 7, 2, 500)),
            Some(vec![]),
            "room 1 is kept, its members still vouched for"
        );

        // Room 2's next poll reads the database, which fills it again (room 3 goes).
        logs.apply(&appended(messages(2, 3..=3)));
        logs.fill(2, messages(2, 1..=3));
        logs.learned(2, 8, moves + 1);
        assert_eq!(seqs(logs.poll(2, 8, 2, 500)), Some(vec![3]));
        assert!(!logs.has_tail(3));
    }

    #[test]
    fn a_tail_of_long_messages_keeps_only_what_fits_in_its_bytes() {
        let logs = MemoryRecentLogs::default();
        let long = |seq| LogEntry {
            body: "x".repeat(8000),
            ..entry(1, seq, Kind::Message, None)
        };
        logs.fill(1, (1..=20).map(long).collect());
        logs.learned(1, 7, logs.moves(7));
        logs.apply(&appended((21..=40).map(long).collect()));
        let kept = read(&logs.tails)[&1].entries.len();
        assert!((1..20).contains(&kept), "{kept} entries kept");
        assert_eq!(seqs(logs.poll(1, 7, 39, 500)), Some(vec![40]));
        assert_eq!(logs.poll(1, 7, 10, 500), None, "below the floor");
    }

    /// The JSON of the first (and only) entry of the room's answer, made by `make` if needed.
    fn json_of_first(logs: &MemoryRecentLogs, made: &std::cell::Cell<u32>) -> String {
        let Some(MemoryAnswer::Entries { entries, .. }) = logs.poll(1, 7, 0, 500) else {
            panic!("memory answers");
        };
        let json = entries[0].json(|e| {
            made.set(made.get() + 1);
            Ok::<_, ()>(format!("{}:{}", e.body, e.edited))
        });
        json.unwrap().to_owned()
    }

    #[test]
    fn an_entrys_json_is_made_once_for_every_answer_and_again_after_a_change() {
        let logs = MemoryRecentLogs::default();
        logs.fill(1, messages(1, 1..=1));
        logs.learned(1, 7, logs.moves(7));
        let made = std::cell::Cell::new(0);
        assert_eq!(json_of_first(&logs, &made), "hi:false");
        assert_eq!(json_of_first(&logs, &made), "hi:false");
        assert_eq!(
            made.get(),
            1,
            "the second answer reused the first one's JSON"
        );

        // No answer holds the entry now: the change is made in place, and must not keep the
        // JSON of before.
        logs.apply(&appended(vec![LogEntry {
            body: "hello".into(),
            ..entry(1, 2, Kind::Edited, Some(1))
        }]));
        assert_eq!(json_of_first(&logs, &made), "hello:true");
        assert_eq!(made.get(), 2);

        // An answer holds it: the change is made on a copy, which makes its own JSON.
        let Some(MemoryAnswer::Entries { entries: held, .. }) = logs.poll(1, 7, 0, 500) else {
            panic!("memory answers");
        };
        logs.apply(&appended(vec![LogEntry {
            target: Some(1),
            ..entry(1, 3, Kind::Deleted, Some(1))
        }]));
        assert_eq!(json_of_first(&logs, &made), ":true");
        assert_eq!(
            held[0].json(|_| Err(())),
            Ok("hello:true"),
            "as it was given"
        );
    }

    #[test]
    fn changes_reach_their_message_and_what_quotes_it_and_applying_again_changes_nothing() {
        use crate::models::{Reactions, ReplyTo};
        let logs = MemoryRecentLogs::default();
        let change = |seq, kind, body: &str, author: &str| LogEntry {
            body: body.into(),
            author: author.into(),
            ..entry(1, seq, kind, Some(1))
        };
        let reply = LogEntry {
            reply_to: Some(ReplyTo {
                seq: 1,
                author: "alice".into(),
                excerpt: "hi".into(),
            }),
            ..entry(1, 2, Kind::Message, None)
        };
        logs.fill(1, vec![entry(1, 1, Kind::Message, None), reply]);
        logs.learned(1, 7, logs.moves(7));
        let shown_before = logs.poll(1, 7, 0, 500);
        let edit = change(3, Kind::Edited, "hello", "alice");
        let changes = vec![
            edit.clone(),
            change(4, Kind::Reacted, "👍", "bob"),
            change(5, Kind::Reacted, "👍", "carol"),
            change(6, Kind::Reacted, "🎉", "bob"),
            change(7, Kind::Unreacted, "👍", "bob"),
        ];
        logs.apply(&appended(changes.clone()));
        let Some(MemoryAnswer::Entries { entries, .. }) = logs.poll(1, 7, 0, 500) else {
            panic!("memory answers");
        };
        let message = &entries[0];
        assert_eq!((message.body.as_str(), message.edited), ("hello", true));
        assert_eq!(
            message.reactions,
            vec![
                Reactions {
                    emoji: "👍".into(),
                    by: vec!["carol".into()]
                },
                Reactions {
                    emoji: "🎉".into(),
                    by: vec!["bob".into()]
                },
            ]
        );
        assert_eq!(entries[1].reply_to.as_ref().unwrap().excerpt, "hello");
        let Some(MemoryAnswer::Entries { entries: old, .. }) = shown_before else {
            panic!("memory answered before");
        };
        assert_eq!(
            old[0].body, "hi",
            "an answer already given is not changed under it"
        );

        // What a poller does with the same entries: applying them again to the current state.
        let mut again = LogEntry::clone(message);
        for c in &changes {
            apply(&mut again, c);
        }
        assert_eq!(&again, &***message);

        logs.apply(&appended(vec![LogEntry {
            target: Some(1),
            ..entry(1, 8, Kind::Deleted, Some(1))
        }]));
        let Some(MemoryAnswer::Entries { entries, .. }) = logs.poll(1, 7, 0, 500) else {
            panic!("memory answers");
        };
        assert!(
            entries[0].deleted && entries[0].body.is_empty() && entries[0].reactions.is_empty()
        );
        assert_eq!(
            entries[1].reply_to.as_ref().unwrap().excerpt,
            "",
            "the quote goes too"
        );
        assert!(
            entries[2].body.is_empty() && entries[2].html.is_empty(),
            "and the edit's text"
        );
        let bytes = read(&logs.tails)[&1].bytes;
        let counted: usize = entries.iter().map(|e| size(e)).sum();
        assert_eq!(bytes, counted, "the tail's size is kept as it changes");
    }
}
