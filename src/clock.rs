//! The time as the server sees it: the system's clocks, or one that tests move by hand, so
//! that timeouts (presence, typing, rate limits, sessions) are tested without sleeping.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Monotonic time, for how long something lasted.
    fn now(&self) -> Instant;
    /// Wall-clock time in Unix seconds, for deadlines stored in the database.
    fn unix_secs(&self) -> i64;
    /// Wall-clock time in Unix milliseconds, for what several servers compare.
    fn unix_millis(&self) -> i64;
}

/// The real clocks.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_secs(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    fn unix_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A duration in whole milliseconds, as Unix-millisecond times are compared.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock that stands still until `advance` moves it (both its times, together).
pub struct ManualClock {
    start: Instant,
    start_unix: i64,
    start_unix_millis: i64,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            start_unix: SystemClock.unix_secs(),
            start_unix_millis: SystemClock.unix_millis(),
            elapsed: Mutex::new(Duration::ZERO),
        })
    }

    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }

    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }

    fn unix_secs(&self) -> i64 {
        self.start_unix + i64::try_from(self.elapsed().as_secs()).unwrap_or(i64::MAX)
    }

    fn unix_millis(&self) -> i64 {
        self.start_unix_millis + i64::try_from(self.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}
