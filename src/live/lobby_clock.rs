//! A number that changes whenever anyone's lobby may have changed: a room created or deleted,
//! an entry written in any room. The room page's poll carries it, so that a page refreshes its
//! sidebar (GET /api/lobby) only when the number moves, and an idle server costs no lobby reads.
//!
//! It is read from the database by each server's catch-up, once a second (see
//! `chat::background::catch_up`):
//! the newest log entry's id and the count of deleted rooms, both the database's own, so every
//! server on one database gives the same number once caught up, and a page whose polls go to
//! different servers does not see it jump back and forth.

use std::sync::atomic::{AtomicI64, Ordering};

pub trait LobbyClock: Send + Sync {
    /// The number as last read (0 before the first read).
    fn now(&self) -> i64;
    /// What catch-up read from the database.
    fn set(&self, version: i64);
}

/// The database's reading: the newest log entry's id and how many rooms were ever deleted.
/// Deleting a room deletes its entries, which can lower the newest id; the count goes up by one
/// at the same time, in the high bits, so the number still moves.
pub fn version(newest_entry: i32, deleted_rooms: i64) -> i64 {
    (deleted_rooms << 32) | i64::from(newest_entry.max(0))
}

#[derive(Default)]
pub struct MemoryLobbyClock {
    version: AtomicI64,
}

impl LobbyClock for MemoryLobbyClock {
    fn now(&self) -> i64 {
        self.version.load(Ordering::Relaxed)
    }

    fn set(&self, version: i64) {
        self.version.store(version, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_room_moves_the_number_even_when_the_newest_entry_went_with_it() {
        let before = version(41, 2);
        let after = version(40, 3);
        assert_ne!(before, after);
        assert_ne!(version(41, 2), version(42, 2));
    }

    #[test]
    fn the_clock_answers_what_was_set() {
        let clock = MemoryLobbyClock::default();
        assert_eq!(clock.now(), 0);
        clock.set(version(7, 1));
        assert_eq!(clock.now(), (1 << 32) | 7);
    }
}
