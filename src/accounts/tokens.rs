//! Personal API tokens: made, listed and revoked by their owner's logged-in session (never by
//! a token), and shown by scripts and bots as `Authorization: Bearer <token>` on the API.

use rand::distr::{Alphanumeric, SampleString};

use super::Accounts;
use crate::auth::{CurrentUser, secret_hash};
use crate::domain::Label;
use crate::errors::AppError;
use crate::models::ApiToken;
use crate::models::api_token::MAX_PER_ACCOUNT;

/// What every token starts with, so that a secret scanner (or a person) knows one on sight.
const PREFIX: &str = "chat_";
/// Random characters after the prefix: 40 alphanumerics, about 238 bits.
const SECRET_CHARS: usize = 40;

/// A token just made: its secret is shown this once.
pub struct NewToken {
    pub token: ApiToken,
    pub secret: String,
}

impl Accounts {
    /// Makes a token for the user, named so that they know it again in their list.
    pub async fn create_token(
        &self,
        user: &CurrentUser,
        name: Label,
    ) -> Result<NewToken, AppError> {
        let user_id = user.id;
        let (secret, hash) = mint();
        let token = self
            .db
            .run(move |conn| {
                conn.write_transaction(|conn| {
                    if ApiToken::count(conn, user_id)? >= MAX_PER_ACCOUNT {
                        return Ok(None);
                    }
                    ApiToken::create(conn, user_id, name.as_str(), &hash).map(Some)
                })
                .map_err(Into::into)
            })
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "An account holds at most {MAX_PER_ACCOUNT} tokens: revoke one first."
                ))
            })?;
        log::info!("user {} made API token {}", user.username, token.id);
        Ok(NewToken { token, secret })
    }

    /// The user's tokens, newest first, without their secrets.
    pub async fn tokens(&self, user: &CurrentUser) -> Result<Vec<ApiToken>, AppError> {
        let user_id = user.id;
        self.db
            .run(move |conn| Ok(ApiToken::of_user(conn, user_id)?))
            .await
    }

    /// Revokes one of the user's tokens: it stops working at once, on every server. Someone
    /// else's token, or one already revoked, is not found.
    pub async fn revoke_token(&self, user: &CurrentUser, id: i32) -> Result<(), AppError> {
        let user_id = user.id;
        let revoked = self
            .db
            .run(move |conn| Ok(ApiToken::revoke(conn, user_id, id)?))
            .await?;
        if !revoked {
            return Err(AppError::NotFound);
        }
        log::info!("user {} revoked API token {id}", user.username);
        Ok(())
    }

    /// Whom a bearer token speaks for. Asked of the database at every use, so that a
    /// revocation or a disabled account takes effect at once on every server; a string that
    /// cannot be a token is refused without asking.
    pub async fn bearer(&self, token: &str) -> Result<CurrentUser, AppError> {
        if !looks_like_token(token) {
            return Err(AppError::InvalidToken);
        }
        let hash = secret_hash(token);
        let holder = self
            .db
            .run(move |conn| Ok(ApiToken::holder(conn, &hash)?))
            .await?;
        holder
            .map(|h| CurrentUser {
                id: h.user_id,
                username: h.username,
            })
            .ok_or(AppError::InvalidToken)
    }
}

/// A new token's secret, and the hash that is kept of it.
pub fn mint() -> (String, String) {
    let secret = format!(
        "{PREFIX}{}",
        Alphanumeric.sample_string(&mut rand::rng(), SECRET_CHARS)
    );
    let hash = secret_hash(&secret);
    (secret, hash)
}

fn looks_like_token(token: &str) -> bool {
    token.strip_prefix(PREFIX).is_some_and(|secret| {
        secret.len() == SECRET_CHARS && secret.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_looks_like_one_and_hashes_to_what_is_kept() {
        let (secret, hash) = mint();
        assert!(looks_like_token(&secret), "{secret}");
        assert_eq!(secret_hash(&secret), hash);
        assert_eq!(hash.len(), 64);
        assert_ne!(mint().0, secret);
    }

    #[test]
    fn strings_that_cannot_be_tokens_are_told_apart_without_the_database() {
        let (secret, _) = mint();
        assert!(!looks_like_token(""));
        assert!(!looks_like_token(&secret[PREFIX.len()..]));
        assert!(!looks_like_token(&format!("{secret}x")));
        assert!(!looks_like_token(&secret.replace('_', "-")));
        assert!(!looks_like_token(&format!("{PREFIX}{}", "é".repeat(20))));
    }
}
