//! What needs each person outside the room they are looking at, as far as this server knows:
//! their unread notices (see `models::notice`), which a poll counts and hands out without the
//! database. The notices themselves are the database's: memory learns them from this server's
//! commits and from catch-up (other servers' writes), starts a person from the database at
//! their first poll here, and forgets a notice once its room is read up to it.
//!
//! A poll that finds nothing for its user costs a read lock, a map lookup and a store.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::{read, write};
use crate::clock::Clock;
use crate::models::Notice;

/// The most notices a poll hands out at once: the newest.
pub const NEW_AT_MOST: usize = 5;
/// The most unread notices memory keeps for one person: past it, the oldest go (the count
/// says "at least" this many).
pub const KEPT: usize = 200;
/// How far back (in notice numbers) catch-up reads again each round: on PostgreSQL, numbers
/// are taken before commit, so a smaller one may commit after a larger one was read.
pub const REREAD: i32 = 100;

/// What a poll tells its user about the other rooms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attention {
    /// Unread notices outside the room polled.
    pub count: usize,
    /// Those not handed to this user by an earlier poll here, oldest first.
    pub new: Vec<Arc<Notice>>,
}

pub trait Attentions: Send + Sync {
    /// What `user` polling from `here` (a room and the poll's cursor, or `None` from the
    /// lobby) should be told; `None` if memory does not know the user yet (`load` them
    /// first). The room's notices up to the cursor are read: the page has them.
    fn poll(&self, user_id: i32, here: Option<(i32, i32)>) -> Option<Attention>;
    /// The user's unread notices as the database has them: memory starts from these, or
    /// takes them in place of what it had (the lobby reloads them: the user may have read
    /// rooms through another server). `as_of`: the newest notice number when they were read;
    /// memory keeps what it heard past it.
    fn load(&self, user_id: i32, unread: Vec<Notice>, as_of: i32);
    /// The people with unread notices: whose read marks catch-up compares with the database's.
    fn waiting(&self) -> Vec<i32>;
    /// Notices that were committed, by this server or another. Only users memory knows are
    /// kept; a notice heard twice counts once.
    fn heard(&self, notices: &[Notice]);
    /// The user read the room up to `seq`.
    fn read(&self, user_id: i32, room_id: i32, seq: i32);
    /// A message was deleted: nobody needs to read it.
    fn forget_message(&self, room_id: i32, seq: i32);
    /// A room was deleted.
    fn forget_room(&self, room_id: i32);
    /// Whether the user polled (a room or the lobby) on this server within `within`.
    fn polled_within(&self, user_id: i32, within: Duration) -> bool;
    /// The newest notice number catch-up has read.
    fn cursor(&self) -> i32;
    fn set_cursor(&self, id: i32);
}

struct Person {
    unread: BTreeMap<i32, Arc<Notice>>,
    /// Every notice numbered up to this was handed out (or was there when memory started).
    handed: i32,
    /// Room → read up to: a notice heard again later (catch-up reads back) is not unread.
    read: HashMap<i32, i32>,
    /// When they last polled here: milliseconds since `MemoryAttentions::start`.
    polled: AtomicU64,
}

impl Person {
    fn read_up_to(&mut self, room_id: i32, seq: i32) {
        let mark = self.read.entry(room_id).or_insert(0);
        *mark = (*mark).max(seq);
        self.unread
            .retain(|_, n| n.room_id != room_id || n.seq > seq);
    }

    fn add(&mut self, notice: &Notice) {
        let read = self.read.get(&notice.room_id).copied().unwrap_or(0);
        if !notice.notify || notice.seq <= read {
            return;
        }
        self.unread.insert(notice.id, Arc::new(notice.clone()));
        while self.unread.len() > KEPT {
            self.unread.pop_first();
        }
    }
}

pub struct MemoryAttentions {
    people: RwLock<HashMap<i32, Person>>,
    cursor: std::sync::atomic::AtomicI32,
    clock: Arc<dyn Clock>,
    start: Instant,
}

impl MemoryAttentions {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            people: RwLock::default(),
            cursor: std::sync::atomic::AtomicI32::new(0),
            start: clock.now(),
            clock,
        }
    }

    /// Milliseconds since `start`, at least 1 (0 is "never").
    fn millis(&self) -> u64 {
        let since = self.clock.now().saturating_duration_since(self.start);
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX).max(1)
    }
}

impl Attentions for MemoryAttentions {
    fn poll(&self, user_id: i32, here: Option<(i32, i32)>) -> Option<Attention> {
        let now = self.millis();
        let room = here.map(|(room, _)| room);
        let outside = |n: &Arc<Notice>| Some(n.room_id) != room;
        let read_here =
            |n: &Arc<Notice>| here.is_some_and(|(r, after)| n.room_id == r && n.seq <= after);
        {
            let people = read(&self.people);
            let person = people.get(&user_id)?;
            person.polled.store(now, Ordering::Relaxed);
            // The common answer: nothing new to hand out and nothing read, so nothing to write.
            let nothing_new = person
                .unread
                .last_key_value()
                .is_none_or(|(&id, _)| id <= person.handed);
            if nothing_new && !person.unread.values().any(read_here) {
                let count = person.unread.values().filter(|n| outside(n)).count();
                return Some(Attention {
                    count,
                    new: Vec::new(),
                });
            }
        }
        let mut people = write(&self.people);
        let person = people.get_mut(&user_id)?;
        if let Some((room, after)) = here {
            person.read_up_to(room, after);
        }
        let count = person.unread.values().filter(|n| outside(n)).count();
        let handed = person.handed;
        let mut new: Vec<Arc<Notice>> = person
            .unread
            .range(handed + 1..)
            .map(|(_, n)| n.clone())
            .filter(outside)
            .collect();
        new.drain(..new.len().saturating_sub(NEW_AT_MOST));
        if let Some((&newest, _)) = person.unread.last_key_value() {
            person.handed = person.handed.max(newest);
        }
        Some(Attention { count, new })
    }

    fn load(&self, user_id: i32, unread: Vec<Notice>, as_of: i32) {
        let mut people = write(&self.people);
        let cursor = self.cursor.load(Ordering::Relaxed);
        let person = people.entry(user_id).or_insert_with(|| Person {
            unread: BTreeMap::new(),
            // What was waiting before they came is counted, not announced again.
            handed: cursor,
            read: HashMap::new(),
            polled: AtomicU64::new(0),
        });
        person.handed = person.handed.max(unread.last().map_or(0, |n| n.id));
        // Heard since the database was read: keep those it could not have had.
        person.unread.retain(|&id, _| id > as_of);
        for notice in &unread {
            person.add(notice);
        }
    }

    fn waiting(&self) -> Vec<i32> {
        read(&self.people)
            .iter()
            .filter(|(_, person)| !person.unread.is_empty())
            .map(|(&id, _)| id)
            .collect()
    }

    fn heard(&self, notices: &[Notice]) {
        if notices.is_empty() {
            return;
        }
        let mut people = write(&self.people);
        for notice in notices {
            if let Some(person) = people.get_mut(&notice.user_id) {
                person.add(notice);
            }
        }
    }

    fn read(&self, user_id: i32, room_id: i32, seq: i32) {
        if let Some(person) = write(&self.people).get_mut(&user_id) {
            person.read_up_to(room_id, seq);
        }
    }

    fn forget_message(&self, room_id: i32, seq: i32) {
        let mut people = write(&self.people);
        for person in people.values_mut() {
            person
                .unread
                .retain(|_, n| n.room_id != room_id || n.seq != seq);
        }
    }

    fn forget_room(&self, room_id: i32) {
        let mut people = write(&self.people);
        for person in people.values_mut() {
            person.unread.retain(|_, n| n.room_id != room_id);
            person.read.remove(&room_id);
        }
    }

    fn polled_within(&self, user_id: i32, within: Duration) -> bool {
        let people = read(&self.people);
        let Some(person) = people.get(&user_id) else {
            return false;
        };
        let polled = person.polled.load(Ordering::Relaxed);
        let within = u64::try_from(within.as_millis()).unwrap_or(u64::MAX);
        polled > 0 && self.millis().saturating_sub(polled) <= within
    }

    fn cursor(&self) -> i32 {
        self.cursor.load(Ordering::Relaxed)
    }

    fn set_cursor(&self, id: i32) {
        self.cursor.fetch_max(id, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::models::Reason;

    fn notice(id: i32, user_id: i32, room_id: i32, seq: i32) -> Notice {
        Notice {
            id,
            user_id,
            room_id,
            seq,
            mention: true,
            notify: true,
            reason: Reason::Mention,
            room: format!("room {room_id}"),
            author: "bob".into(),
            excerpt: "hi @alice".into(),
            created_at: chrono::NaiveDateTime::default(),
        }
    }

    fn attentions() -> (MemoryAttentions, Arc<ManualClock>) {
        let clock = ManualClock::new();
        (MemoryAttentions::new(clock.clone()), clock)
    }

    #[test]
    fn a_user_memory_does_not_know_must_be_loaded_first() {
        let (memory, _) = attentions();
        assert_eq!(memory.poll(1, Some((1, 0))), None);
        memory.heard(&[notice(1, 1, 2, 5)]);
        assert_eq!(
            memory.poll(1, Some((1, 0))),
            None,
            "nobody kept for a stranger"
        );
        memory.load(1, vec![notice(1, 1, 2, 5)], 10);
        let seen = memory.poll(1, Some((1, 0))).unwrap();
        assert_eq!(
            (seen.count, seen.new.len()),
            (1, 0),
            "waiting before, not new"
        );
    }

    #[test]
    fn each_notice_is_handed_out_once_and_counted_until_read() {
        let (memory, _) = attentions();
        memory.load(1, Vec::new(), 10);
        memory.heard(&[notice(7, 1, 2, 5), notice(8, 1, 3, 9), notice(9, 2, 2, 5)]);
        let seen = memory.poll(1, Some((3, 0))).unwrap();
        assert_eq!(seen.count, 1, "the room polled is not counted");
        assert_eq!(seen.new.iter().map(|n| n.id).collect::<Vec<_>>(), vec![7]);
        memory.heard(&[notice(7, 1, 2, 5)]);
        let again = memory.poll(1, Some((3, 0))).unwrap();
        assert_eq!((again.count, again.new.len()), (1, 0));
        memory.read(1, 2, 5);
        assert_eq!(
            memory.poll(1, None).unwrap().count,
            1,
            "room 3 still unread"
        );
        memory.heard(&[notice(7, 1, 2, 5)]);
        assert_eq!(
            memory.poll(1, Some((3, 0))).unwrap().count,
            0,
            "read stays read"
        );
    }

    #[test]
    fn polling_a_room_reads_its_notices_up_to_the_cursor() {
        let (memory, _) = attentions();
        memory.load(1, vec![notice(1, 1, 2, 5), notice(2, 1, 2, 9)], 10);
        assert_eq!(memory.waiting(), vec![1]);
        assert_eq!(
            memory.poll(1, Some((2, 5))).unwrap().count,
            0,
            "room 2 is here"
        );
        assert_eq!(
            memory.poll(1, None).unwrap().count,
            1,
            "9 is past the cursor"
        );
        memory.load(1, Vec::new(), 10);
        assert_eq!(
            memory.poll(1, None).unwrap().count,
            0,
            "read through another server"
        );
        assert!(memory.waiting().is_empty());
    }

    #[test]
    fn deleted_messages_and_rooms_are_forgotten() {
        let (memory, _) = attentions();
        memory.load(1, vec![notice(1, 1, 2, 5), notice(2, 1, 3, 1)], 10);
        memory.forget_message(2, 5);
        memory.forget_room(3);
        assert_eq!(memory.poll(1, None).unwrap().count, 0);
    }

    #[test]
    fn a_poll_is_remembered_for_a_while() {
        let (memory, clock) = attentions();
        assert!(!memory.polled_within(1, Duration::from_secs(60)));
        memory.load(1, Vec::new(), 10);
        clock.advance(Duration::from_secs(1));
        memory.poll(1, None);
        clock.advance(Duration::from_secs(59));
        assert!(memory.polled_within(1, Duration::from_secs(60)));
        clock.advance(Duration::from_secs(2));
        assert!(!memory.polled_within(1, Duration::from_secs(60)));
    }
}
