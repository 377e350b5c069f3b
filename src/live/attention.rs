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
    /// What `user` polling from `here` (a room, or `None` from the lobby) should be told;
    /// `None` if memory does not know the user yet (`load` them first).
    fn poll(&self, user_id: i32, here: Option<i32>) -> Option<Attention>;
    /// The user's unread notices as the database has them: memory starts from these.
    fn load(&self, user_id: i32, unread: Vec<Notice>);
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
    fn poll(&self, user_id: i32, here: Option<i32>) -> Option<Attention> {
        let now = self.millis();
        let outside = |n: &Arc<Notice>| Some(n.room_id) != here;
        {
            let people = read(&self.people);
            let person = people.get(&user_id)?;
            person.polled.store(now, Ordering::Relaxed);
            // The common answer: nothing handed out yet, so nothing to write.
            if person
                .unread
                .last_key_value()
                .is_none_or(|(&id, _)| id <= person.handed)
            {
                let count = person.unread.values().filter(|n| outside(n)).count();
                return Some(Attention {
                    count,
                    new: Vec::new(),
                });
            }
        }
        let mut people = write(&self.people);
        let person = people.get_mut(&user_id)?;
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

    fn load(&self, user_id: i32, unread: Vec<Notice>) {
        let mut people = write(&self.people);
        let person = people.entry(user_id).or_insert_with(|| Person {
            unread: BTreeMap::new(),
            handed: 0,
            read: HashMap::new(),
            polled: AtomicU64::new(0),
        });
        // What was waiting before they came is counted, not announced again.
        person.handed = person.handed.max(unread.last().map_or(0, |n| n.id));
        person.handed = person.handed.max(self.cursor.load(Ordering::Relaxed));
        for notice in &unread {
            person.add(notice);
        }
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
        let mut people = write(&self.people);
        if let Some(person) = people.get_mut(&user_id) {
            let mark = person.read.entry(room_id).or_insert(0);
            *mark = (*mark).max(seq);
            person
                .unread
                .retain(|_, n| n.room_id != room_id || n.seq > seq);
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
        assert_eq!(memory.poll(1, Some(1)), None);
        memory.heard(&[notice(1, 1, 2, 5)]);
        assert_eq!(memory.poll(1, Some(1)), None, "nobody kept for a stranger");
        memory.load(1, vec![notice(1, 1, 2, 5)]);
        let seen = memory.poll(1, Some(1)).unwrap();
        assert_eq!(
            (seen.count, seen.new.len()),
            (1, 0),
            "waiting before, not new"
        );
    }

    #[test]
    fn each_notice_is_handed_out_once_and_counted_until_read() {
        let (memory, _) = attentions();
        memory.load(1, Vec::new());
        memory.heard(&[notice(7, 1, 2, 5), notice(8, 1, 3, 9), notice(9, 2, 2, 5)]);
        let seen = memory.poll(1, Some(3)).unwrap();
        assert_eq!(seen.count, 1, "the room polled is not counted");
        assert_eq!(seen.new.iter().map(|n| n.id).collect::<Vec<_>>(), vec![7]);
        memory.heard(&[notice(7, 1, 2, 5)]);
        let again = memory.poll(1, Some(3)).unwrap();
        assert_eq!((again.count, again.new.len()), (1, 0));
        memory.read(1, 2, 5);
        assert_eq!(
            memory.poll(1, None).unwrap().count,
            1,
            "room 3 still unread"
        );
        memory.heard(&[notice(7, 1, 2, 5)]);
        assert_eq!(memory.poll(1, Some(3)).unwrap().count, 0, "read stays read");
    }

    #[test]
    fn deleted_messages_and_rooms_are_forgotten() {
        let (memory, _) = attentions();
        memory.load(1, vec![notice(1, 1, 2, 5), notice(2, 1, 3, 1)]);
        memory.forget_message(2, 5);
        memory.forget_room(3);
        assert_eq!(memory.poll(1, None).unwrap().count, 0);
    }

    #[test]
    fn a_poll_is_remembered_for_a_while() {
        let (memory, clock) = attentions();
        assert!(!memory.polled_within(1, Duration::from_secs(60)));
        memory.load(1, Vec::new());
        clock.advance(Duration::from_secs(1));
        memory.poll(1, None);
        clock.advance(Duration::from_secs(59));
        assert!(memory.polled_within(1, Duration::from_secs(60)));
        clock.advance(Duration::from_secs(2));
        assert!(!memory.polled_within(1, Duration::from_secs(60)));
    }
}
