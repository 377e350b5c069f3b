//! Read marks that polls advanced, gathered in memory and written later, a few at a time: a
//! poll never waits for a write, a poll that saw nothing new changes nothing, and a mark
//! waits `READ_MARK_DELAY` before it is written, so someone reading a busy room costs one
//! write per delay, not one per message. The writing is spread evenly instead of arriving in
//! bursts that crowd out the polls.
//!
//! Each instance keeps its own: the database's upsert never moves a mark back, so instances
//! writing the same user's marks in any order agree. Hence a plain (not async) interface.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::lock;
use crate::clock::Clock;

/// How long a read mark waits in memory before it is written. A user's own lobby writes
/// theirs first (`take_for`), and a clean shutdown writes them all (`take_all`); only a crash
/// loses the wait's worth, which shows as a few messages unread that were read.
pub const READ_MARK_DELAY: Duration = Duration::from_secs(10);

/// `(user, room, last number read)`
pub type Mark = (i32, i32, i32);

pub trait ReadMarks: Send + Sync {
    /// The user has seen the room's log up to `last_seq`.
    fn saw(&self, user_id: i32, room_id: i32, last_seq: i32);
    /// Takes up to `limit` marks that have waited `READ_MARK_DELAY`, the longest waiting first.
    fn take(&self, limit: usize) -> Vec<Mark>;
    /// Takes every mark waiting to be written (at shutdown).
    fn take_all(&self) -> Vec<Mark>;
    /// Takes one user's waiting marks (to write them before counting their unread messages).
    fn take_for(&self, user_id: i32) -> Vec<Mark>;
    /// Hands back marks taken for a write that failed: they wait their turn again.
    fn give_back(&self, taken: &[Mark]);
}

pub struct MemoryReadMarks {
    clock: Arc<dyn Clock>,
    inner: Mutex<Marks>,
}

#[derive(Default)]
struct Marks {
    /// user -> room -> mark: a user's own marks are found without looking at everyone's.
    marks: HashMap<i32, HashMap<i32, Pending>>,
    /// Marks waiting to be written, oldest first, each once, with when they began to wait.
    queue: VecDeque<(i32, i32, Instant)>,
}

#[derive(Default)]
struct Pending {
    seen: i32,
    written: i32,
    queued: bool,
}

impl MemoryReadMarks {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            inner: Mutex::default(),
        }
    }

    fn take_waited(&self, limit: usize, wait: Duration) -> Vec<Mark> {
        let now = self.clock.now();
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
}

impl ReadMarks for MemoryReadMarks {
    fn saw(&self, user_id: i32, room_id: i32, last_seq: i32) {
        let now = self.clock.now();
        let mut inner = lock(&self.inner);
        let Marks { marks, queue } = &mut *inner;
        let mark = marks
            .entry(user_id)
            .or_default()
            .entry(room_id)
            .or_default();
        mark.seen = mark.seen.max(last_seq);
        if mark.seen > mark.written && !mark.queued {
            mark.queued = true;
            queue.push_back((user_id, room_id, now));
        }
    }

    fn take(&self, limit: usize) -> Vec<Mark> {
        self.take_waited(limit, READ_MARK_DELAY)
    }

    fn take_all(&self) -> Vec<Mark> {
        self.take_waited(usize::MAX, Duration::ZERO)
    }

    fn give_back(&self, taken: &[Mark]) {
        let now = self.clock.now();
        let mut inner = lock(&self.inner);
        let Marks { marks, queue } = &mut *inner;
        for &(user_id, room_id, last_seq) in taken {
            let Some(mark) = marks
                .get_mut(&user_id)
                .and_then(|rooms| rooms.get_mut(&room_id))
            else {
                continue;
            };
            // Unless a later take wrote more meanwhile, nothing is known to be written.
            if mark.written == last_seq {
                mark.written = 0;
            }
            if mark.seen > mark.written && !mark.queued {
                mark.queued = true;
                queue.push_back((user_id, room_id, now));
            }
        }
    }

    fn take_for(&self, user_id: i32) -> Vec<Mark> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn marks() -> (MemoryReadMarks, Arc<ManualClock>) {
        let clock = ManualClock::new();
        (MemoryReadMarks::new(clock.clone()), clock)
    }

    #[test]
    fn read_marks_keep_the_highest_and_are_taken_once() {
        let (reads, _) = marks();
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
        let (reads, _) = marks();
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
        let (reads, clock) = marks();
        reads.saw(1, 9, 100);
        assert!(reads.take(10).is_empty(), "too soon");
        clock.advance(READ_MARK_DELAY / 2);
        reads.saw(1, 9, 101);
        assert!(reads.take(10).is_empty(), "still too soon");
        clock.advance(READ_MARK_DELAY / 2);
        assert_eq!(reads.take(10), [(1, 9, 101)], "one write for both");
    }

    #[test]
    fn marks_whose_write_failed_are_written_again() {
        let (reads, _) = marks();
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
}
