//! Password hashing with bcrypt, and verification that takes as long for unknown users.
//!
//! bcrypt reads at most 72 bytes. `Password` refuses anything longer, and `verify` refuses longer
//! candidates, so no byte is ever silently cut. (The crate's `non_truncating_*` functions count
//! a NUL terminator and so refuse a 72-byte password, which our contract allows.)

use crate::blocking::LowPriorityPool;
use crate::domain::Password;
use crate::errors::AppError;

pub struct Hasher {
    cost: u32,
    /// Verified against when the user does not exist, so that the answer takes the same time.
    dummy_hash: String,
    /// Threads of its own, at a lower priority than the event loop: a hash takes a quarter of
    /// a second of CPU, and a burst of logins must neither take the core from the polls nor
    /// hold the database's threads.
    threads: LowPriorityPool,
}

/// How many hashes run at once; more wait their turn.
const HASHES_AT_ONCE: usize = 4;

impl Hasher {
    pub fn new(cost: u32) -> anyhow::Result<Self> {
        let dummy_hash = bcrypt::hash("not a real password", cost)?;
        Ok(Self {
            cost,
            dummy_hash,
            threads: LowPriorityPool::new(HASHES_AT_ONCE, "bcrypt")?,
        })
    }

    /// Hashes off the event loop: at cost 12 this takes a quarter of a second.
    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        let cost = self.cost;
        self.threads
            .run(move || bcrypt::hash(password.expose(), cost))
            .await
            .map_err(AppError::internal)?
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
            .map_err(AppError::internal)
    }
}
