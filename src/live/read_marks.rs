//! Read marks that polls advanced, gathered in memory and written later, a few at a time: a
//! poll never waits for a write, a poll that saw nothing new changes nothing, and a mark is
//! written once it has rested `READ_MARK_DELAY`, or has waited `READ_MARK_MOST_WAIT` while it
//! kept moving: someone reading a busy room costs one write a minute, not one per message (nor
//! one per 10 seconds: 4,000 writes a second at 40,000 readers, the most the database did). The
//! writing is spread evenly instead of arriving in bursts that crowd out the polls.
//!
//! Each instance keeps its own: the database's upsert never moves a mark back, so instances
//! writing the same user's marks in any order agree. Hence a plain (not async) interface.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::lock;
use crate::clock::Clock;

/// How long a read mark rests in memory, unmoved, before it is written. A user's own lobby
/// writes theirs first (`take_for`), and a clean shutdown writes them all (`take_all`); only a
/// crash loses what waits, which shows as a few messages unread that were read.
pub const READ_MARK_DELAY: Duration = Duration::from_secs(10);

/// The longest a mark that keeps moving waits: someone reading on in a busy room. A crash
/// loses no more of their reading than of anyone's: their page's first poll on the restarted
/// server marks what the page shows, and a page closed meanwhile stopped moving its mark, which
/// was then written `READ_MARK_DELAY` later.
pub const READ_MARK_MOST_WAIT: Duration = Duration::from_secs(60);

/// `(user, room, last number read)`
pub type Mark = (i32, i32, i32);

pub trait ReadMarks: Send + Sync {
    /// The user has seen the room's log up to `last_seq`.
    fn saw(&self, user_id: i32, room_id: i32, last_seq: i32);
    /// Takes up to `limit` marks that have waited their time (see `READ_MARK_DELAY`), the
    /// longest waiting first.
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
    /// Marks waiting to be written, each once, with when to look at them again: in the order
    /// they began to wait, but for those that kept moving, which go to the back.
    queue: VecDeque<(i32, i32, Instant)>,
}

#[derive(Default)]
struct Pending {
    seen: i32,
    written: i32,
    /// Queued to be written: since when, and when it last moved.
    waiting: Option<Waiting>,
}

#[derive(Clone, Copy)]
struct Waiting {
    since: Instant,
    moved: Instant,
}

impl Waiting {
    fn new(now: Instant) -> Self {
        Self {
            since: now,
            moved: now,
        }
    }

    /// When it is to be written: rested, or waited long enough.
    fn due(self) -> Instant {
        (self.moved + READ_MARK_DELAY).min(self.since + READ_MARK_MOST_WAIT)
    }
}

impl Marks {
    fn mark(&mut self, user_id: i32, room_id: i32) -> Option<&mut Pending> {
        self.marks.get_mut(&user_id)?.get_mut(&room_id)
    }

    /// Queues the mark unless it is queued or written already.
    fn wait(&mut self, user_id: i32, room_id: i32, now: Instant) {
        let Some(mark) = self.mark(user_id, room_id) else {
            return;
        };
        if mark.seen > mark.written && mark.waiting.is_none() {
            let waiting = Waiting::new(now);
            mark.waiting = Some(waiting);
            self.queue.push_back((user_id, room_id, waiting.due()));
        }
    }

    /// The mark, to be written, if it moved past what was written; no longer queued.
    fn take(&mut self, user_id: i32, room_id: i32) -> Option<Mark> {
        let mark = self.mark(user_id, room_id)?;
        mark.waiting = None;
        (mark.seen > mark.written).then(|| {
            mark.written = mark.seen;
            (user_id, room_id, mark.seen)
        })
    }
}

impl MemoryReadMarks {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            inner: Mutex::default(),
        }
    }
}

impl ReadMarks for MemoryReadMarks {
    fn saw(&self, user_id: i32, room_id: i32, last_seq: i32) {
        let now = self.clock.now();
        let mut inner = lock(&self.inner);
        let mark = inner
            .marks
            .entry(user_id)
            .or_default()
            .entry(room_id)
            .or_default();
        if last_seq <= mark.seen {
            return;
        }
        mark.seen = last_seq;
        match &mut mark.waiting {
            Some(waiting) => waiting.moved = now,
            None => inner.wait(user_id, room_id, now),
        }
    }

    fn take(&self, limit: usize) -> Vec<Mark> {
        let now = self.clock.now();
        let mut inner = lock(&self.inner);
        let mut taken = Vec::new();
        // Each is looked at once a call at most: one that moved since it was queued goes to
        // the back, to be looked at again when it is due.
        for _ in 0..inner.queue.len() {
            if taken.len() >= limit {
                break;
            }
            let Some(&(user_id, room_id, looked_for)) = inner.queue.front() else {
                break;
            };
            if now < looked_for {
                break;
            }
            inner.queue.pop_front();
            let due = inner
                .mark(user_id, room_id)
                .and_then(|mark| mark.waiting)
                .map(Waiting::due);
            match due {
                Some(due) if now < due => inner.queue.push_back((user_id, room_id, due)),
                _ => taken.extend(inner.take(user_id, room_id)),
            }
        }
        taken
    }

    fn take_all(&self) -> Vec<Mark> {
        let mut inner = lock(&self.inner);
        let queued: Vec<_> = inner.queue.drain(..).collect();
        queued
            .into_iter()
            .filter_map(|(user_id, room_id, _)| inner.take(user_id, room_id))
            .collect()
    }

    fn give_back(&self, taken: &[Mark]) {
        let now = self.clock.now();
        let mut inner = lock(&self.inner);
        for &(user_id, room_id, last_seq) in taken {
            let Some(mark) = inner.mark(user_id, room_id) else {
                continue;
            };
            // Unless a later take wrote more meanwhile, nothing is known to be written.
            if mark.written == last_seq {
                mark.written = 0;
            }
            inner.wait(user_id, room_id, now);
        }
    }

    fn take_for(&self, user_id: i32) -> Vec<Mark> {
        let mut inner = lock(&self.inner);
        let Some(rooms) = inner.marks.get_mut(&user_id) else {
            return Vec::new();
        };
        // Any still queued stay so, and find nothing more to write when their turn comes.
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
        let (reads, clock) = marks();
        for user in 1..=5 {
            reads.saw(user, 9, 100);
        }
        reads.saw(1, 9, 101); // already waiting: keeps its place
        clock.advance(READ_MARK_DELAY);
        assert_eq!(reads.take(2), [(1, 9, 101), (2, 9, 100)]);
        assert_eq!(reads.take(10), [(3, 9, 100), (4, 9, 100), (5, 9, 100)]);
    }

    #[test]
    fn a_read_mark_is_written_once_it_rests_and_gathers_what_comes_meanwhile() {
        let (reads, clock) = marks();
        reads.saw(1, 9, 100);
        assert!(reads.take(10).is_empty(), "too soon");
        clock.advance(READ_MARK_DELAY / 2);
        reads.saw(1, 9, 101);
        assert!(reads.take(10).is_empty(), "still too soon");
        clock.advance(READ_MARK_DELAY / 2);
        assert!(
            reads.take(10).is_empty(),
            "it moved {:?} ago: it has not rested",
            READ_MARK_DELAY / 2
        );
        clock.advance(READ_MARK_DELAY / 2);
        assert_eq!(reads.take(10), [(1, 9, 101)], "one write for both");
        assert!(reads.take(10).is_empty());
    }

    #[test]
    fn a_mark_that_keeps_moving_is_written_when_it_has_waited_the_most() {
        let (reads, clock) = marks();
        let second = Duration::from_secs(1);
        let mut writes = Vec::new();
        // Someone reading a room with a message a second, and someone who read and left.
        reads.saw(2, 8, 50);
        for seq in 1..=90 {
            reads.saw(1, 9, seq);
            writes.extend(reads.take(10).into_iter().map(|mark| (seq, mark)));
            clock.advance(second);
        }
        let most = i32::try_from(READ_MARK_MOST_WAIT.as_secs()).unwrap_or(i32::MAX);
        let rest = i32::try_from(READ_MARK_DELAY.as_secs()).unwrap_or(i32::MAX);
        assert_eq!(
            writes,
            [(rest + 1, (2, 8, 50)), (most + 1, (1, 9, most + 1))],
            "the resting mark after {READ_MARK_DELAY:?}, the moving one after \
             {READ_MARK_MOST_WAIT:?}, with what it had reached then"
        );
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
