//! Password hashing with bcrypt, and verification that takes as long for unknown users.
//!
//! bcrypt reads at most 72 bytes. `Password` refuses anything longer, and `verify` refuses longer
//! candidates, so no byte is ever silently cut. (The crate's `non_truncating_*` functions count
//! a NUL terminator and so refuse a 72-byte password, which our contract allows.)

use std::time::{Duration, Instant};

use crate::blocking::{LowPriorityPool, NotRun};
use crate::domain::Password;
use crate::errors::AppError;
use crate::throttle::RetryAfter;

pub struct Hasher {
    cost: u32,
    /// Verified against when the user does not exist, so that the answer takes the same time.
    dummy_hash: String,
    /// Threads of its own, at a lower priority than the event loop: a hash takes a quarter of
    /// a second of CPU, and a burst of logins must neither take the core from the polls nor
    /// hold the database's threads.
    threads: LowPriorityPool,
    /// What a caller refused by a full queue is told: about how long the queue takes to empty.
    busy_retry: RetryAfter,
}

/// How many hashes run at once; more wait their turn.
const HASHES_AT_ONCE: usize = 4;

impl Hasher {
    /// At most `queue` hashes and checks wait or run at once; more are refused (`AppError::Busy`).
    pub fn new(cost: u32, queue: usize) -> anyhow::Result<Self> {
        let started = Instant::now();
        let dummy_hash = bcrypt::hash("not a real password", cost)?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let busy_retry = drain_time(started.elapsed(), queue, HASHES_AT_ONCE.min(cores));
        Ok(Self {
            cost,
            dummy_hash,
            threads: LowPriorityPool::new(HASHES_AT_ONCE, queue, "bcrypt")?,
            busy_retry,
        })
    }

    /// Hashes off the event loop: at cost 12 this takes a quarter of a second.
    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        let cost = self.cost;
        self.threads
            .run(move || bcrypt::hash(password.expose(), cost))
            .await
            .map_err(|not_run| self.refused(not_run))?
            .map_err(AppError::internal)
    }

    /// True when `candidate` matches `stored`; with no stored hash, false after the same work.
    pub async fn verify(
        &self,
        candidate: String,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let dummy_hash = self.dummy_hash.clone();
        self.threads
            .run(move || {
                let hash = stored.as_deref().unwrap_or(&dummy_hash);
                // A candidate over 72 bytes cannot be a stored password: it is refused (after the
                // same work) rather than compared as a truncated copy.
                let fits = candidate.len() <= Password::MAX_BYTES;
                let matches = bcrypt::verify(&candidate, hash).unwrap_or(false);
                matches && fits && stored.is_some()
            })
            .await
            .map_err(|not_run| self.refused(not_run))
    }

    fn refused(&self, not_run: NotRun) -> AppError {
        match not_run {
            NotRun::Full => AppError::Busy(self.busy_retry),
            NotRun::Stopped => AppError::internal(not_run),
        }
    }
}

/// How long `queue` hashes of `one` each take on `cores` cores, at least a second.
fn drain_time(one: Duration, queue: usize, cores: usize) -> RetryAfter {
    let rounds = u32::try_from(queue.div_ceil(cores.max(1))).unwrap_or(u32::MAX);
    RetryAfter(one.saturating_mul(rounds).max(Duration::from_secs(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_says_to_come_back_once_it_has_emptied() {
        let quarter = Duration::from_millis(250);
        assert_eq!(drain_time(quarter, 32, 2).secs(), 4);
        assert_eq!(drain_time(quarter, 32, 4).secs(), 2);
        assert_eq!(drain_time(Duration::from_millis(1), 32, 2).secs(), 1);
    }
}
