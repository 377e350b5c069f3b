//! Live state kept in memory, each piece behind a small interface named for what it does:
//! presence and typing (`Presence`), each room's recent entries and who is where
//! (`RecentLogs`), read marks not yet written (`ReadMarks`), the number that tells a page
//! its lobby changed (`LobbyClock`), and what needs each person elsewhere (`Attentions`). On PostgreSQL, presence is
//! shared with the other servers on the database (`shared::SharedPresence`). Sessions and rate limits sit
//! behind interfaces of their own (`auth::session_store::SessionCache`, `throttle::RateLimits`).
//!
//! None of it costs a database write per poll, and none of it decides anything: the database
//! orders, memory only remembers what was committed (see `recent`).

pub mod attention;
pub mod lobby_clock;
pub mod presence;
pub mod read_marks;
pub mod recent;
pub mod shared;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

pub use attention::{Attention, Attentions, MemoryAttentions};
pub use lobby_clock::{LobbyClock, MemoryLobbyClock};
pub use presence::{
    MemoryPresence, PRESENCE_TIMEOUT, PeopleJson, Presence, RoomPresence, Snapshot,
};
pub use read_marks::{MemoryReadMarks, READ_MARK_DELAY, ReadMarks};
pub use recent::{Held, MemoryAnswer, MemoryRecentLogs, RecentLogs, TAIL, TAILS};

use crate::clock::Clock;

/// All live state, shared by the workers.
pub struct Live {
    pub presence: Arc<dyn Presence>,
    pub reads: Arc<dyn ReadMarks>,
    pub recent: Arc<dyn RecentLogs>,
    /// Moves whenever anyone's lobby may have changed (see `lobby_clock`).
    pub lobby: Arc<dyn LobbyClock>,
    /// Each person's unread notices outside the room they look at (see `attention`).
    pub attention: Arc<dyn Attentions>,
    write_turn: Mutex<()>,
    /// When catch-up last compared memory with the database and succeeded: until then,
    /// memory can vouch for the rooms' heads (see `vouches`).
    confirmed: Mutex<Option<Instant>>,
    clock: Arc<dyn Clock>,
}

/// How long memory's heads stay good without a catch-up that reached the database: after
/// that, polls go to the database (and get 503 if it cannot be reached) rather than answer
/// "nothing new" from a memory nobody checked. Eight catch-up rounds.
pub const VOUCH_FOR: Duration = Duration::from_secs(2);

impl Live {
    /// This process's memory, on `clock`, with tails for at most `tails` rooms.
    pub fn in_memory(clock: &Arc<dyn Clock>, tails: usize) -> Self {
        Self::with_presence(Arc::new(MemoryPresence::new(clock.clone())), clock, tails)
    }

    /// The same, with presence kept by `presence` (shared between servers, say).
    pub fn with_presence(
        presence: Arc<dyn Presence>,
        clock: &Arc<dyn Clock>,
        tails: usize,
    ) -> Self {
        Self {
            presence,
            reads: Arc::new(MemoryReadMarks::new(clock.clone())),
            recent: Arc::new(MemoryRecentLogs::with_capacity(tails)),
            lobby: Arc::new(MemoryLobbyClock::default()),
            attention: Arc::new(MemoryAttentions::new(clock.clone())),
            write_turn: Mutex::new(()),
            confirmed: Mutex::new(None),
            clock: clock.clone(),
        }
    }

    /// Catch-up just compared memory with the database's committed heads.
    pub fn confirmed(&self) {
        *lock(&self.confirmed) = Some(self.clock.now());
    }

    /// Whether memory may answer a poll: a catch-up reached the database within `VOUCH_FOR`.
    pub fn vouches(&self) -> bool {
        lock(&self.confirmed)
            .is_some_and(|at| self.clock.now().saturating_duration_since(at) < VOUCH_FOR)
    }

    /// Held by a write of this process from before its transaction begins until its changes
    /// are applied, and while a tail is filled or caught up: so this process hands its
    /// memory committed entries in the order they committed. (The order itself is the
    /// database's: see `models::log`'s numbering.)
    pub fn write_turn(&self) -> MutexGuard<'_, ()> {
        lock(&self.write_turn)
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain maps stay usable after a panic elsewhere.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
