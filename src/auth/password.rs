//! Password hashing with bcrypt, and verification that takes as long for unknown users.
//!
//! bcrypt reads at most 72 bytes. `Password` refuses anything longer, and `verify` refuses longer
//! candidates, so no byte is ever silently cut. (The crate's `non_truncating_*` functions count
//! a NUL terminator and so refuse a 72-byte password, which our contract allows.)

use tokio::sync::Semaphore;

use crate::blocking;
use crate::domain::Password;
use crate::errors::AppError;

pub struct Hasher {
    cost: u32,
    /// Verified against when the user does not exist, so that the answer takes the same time.
    dummy_hash: String,
    /// A hash holds a blocking thread for a quarter of a second: a burst of logins may take
    /// only some of them, and the database keeps the rest.
    at_once: Semaphore,
}

/// How many hashes run at once: half of a worker's blocking threads.
const HASHES_AT_ONCE: usize = blocking::THREADS / 2;

impl Hasher {
    pub fn new(cost: u32) -> anyhow::Result<Self> {
        let dummy_hash = bcrypt::hash("not a real password", cost)?;
        Ok(Self {
            cost,
            dummy_hash,
            at_once: Semaphore::new(HASHES_AT_ONCE),
        })
    }

    /// Hashes off the async threads: at cost 12 this takes a quarter of a second.
    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        let cost = self.cost;
        let _turn = self.at_once.acquire().await.map_err(AppError::internal)?;
        blocking::run(move || bcrypt::hash(password.expose(), cost))
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
        let _turn = self.at_once.acquire().await.map_err(AppError::internal)?;
        blocking::run(move || {
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
