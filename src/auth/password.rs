//! Password hashing with bcrypt, and verification that takes as long for unknown users.

use actix_web::web;

use crate::domain::Password;
use crate::errors::AppError;

pub struct Hasher {
    cost: u32,
    /// Verified against when the user does not exist, so that the answer takes the same time.
    dummy_hash: String,
}

impl Hasher {
    pub fn new(cost: u32) -> anyhow::Result<Self> {
        let dummy_hash = bcrypt::non_truncating_hash("not a real password", cost)?;
        Ok(Self { cost, dummy_hash })
    }

    /// Hashes off the async threads: at cost 12 this takes a quarter of a second.
    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        let cost = self.cost;
        web::block(move || bcrypt::non_truncating_hash(password.expose(), cost))
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
        web::block(move || {
            let hash = stored.as_deref().unwrap_or(&dummy_hash);
            // A password over bcrypt's 72 bytes cannot have been stored: non_truncating_verify
            // refuses it rather than comparing a truncated copy.
            let matches = bcrypt::non_truncating_verify(&candidate, hash).unwrap_or(false);
            matches && stored.is_some()
        })
        .await
        .map_err(AppError::internal)
    }
}
