//! A user's sessions as the account page shows them, and the ways they end.

use actix_session::Session;

use super::Accounts;
use crate::auth::client_addr::ClientAddr;
use crate::auth::{self, CurrentUser};
use crate::errors::AppError;
use crate::models::User;
use crate::models::push::PushSubscription;
use crate::models::revocation::Revocation;
use crate::models::session::SessionRow;

/// One of the user's sessions, as the account page lists it.
pub struct SessionSummary {
    pub public_id: String,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds, to within the store's coarse touch (see `DbSessionStore`).
    pub last_seen: i64,
    pub client: String,
    pub agent: String,
    /// The session asking.
    pub current: bool,
}

impl Accounts {
    /// The user's live sessions, the most recently used first.
    pub async fn sessions(
        &self,
        session: &Session,
        user: &CurrentUser,
    ) -> Result<Vec<SessionSummary>, AppError> {
        let current = auth::public_id(session);
        let (user_id, now) = (user.id, self.times.clock.unix_secs());
        let rows = self
            .db
            .run(move |conn| Ok(SessionRow::live_for_user(conn, user_id, now)?))
            .await?;
        let idle = i64::try_from(self.times.idle.as_secs()).unwrap_or(i64::MAX);
        Ok(rows
            .into_iter()
            .map(|row| SessionSummary {
                current: current.as_deref() == Some(row.public_id.as_str()),
                last_seen: row
                    .idle_expires_at
                    .saturating_sub(idle)
                    .clamp(row.started_at, now),
                public_id: row.public_id,
                started_at: row.started_at,
                client: row.client,
                agent: row.agent,
            })
            .collect())
    }

    /// Ends one of the user's sessions, found by the id the account page shows: `None` if they
    /// have no such session, else whether it was the one asking (which is then logged out).
    pub async fn end_session(
        &self,
        session: &Session,
        user: &CurrentUser,
        public_id: String,
        client: ClientAddr,
    ) -> Result<Option<bool>, AppError> {
        let user_id = user.id;
        let is_current = auth::public_id(session).as_deref() == Some(public_id.as_str());
        let ended = self
            .db
            .run(move |conn| {
                Ok(conn.write_transaction(|conn| {
                    let ended = SessionRow::delete_by_public_id(conn, user_id, &public_id)?;
                    if let Some(row_id) = &ended {
                        Revocation::record_session(conn, row_id)?;
                    }
                    Ok::<_, diesel::result::Error>(ended)
                })?)
            })
            .await?;
        let Some(row_id) = ended else {
            return Ok(None);
        };
        self.sessions.revoke(&row_id).await;
        log::info!(
            "{} ended one of their sessions from {client}",
            user.username
        );
        if is_current {
            self.ended(session, user.id).await;
        }
        Ok(Some(is_current))
    }

    /// Revokes every session of the user, this one included.
    pub async fn log_out_everywhere(
        &self,
        session: &Session,
        user: &CurrentUser,
        client: ClientAddr,
    ) -> Result<(), AppError> {
        let user_id = user.id;
        let revoked = self
            .db
            .run(move |conn| Ok(conn.write_transaction(|conn| User::end_sessions(conn, user_id))?))
            .await?;
        self.sessions.revoke_user(user.id).await;
        log::info!(
            "{} logged out everywhere ({revoked} sessions) from {client}",
            user.username
        );
        self.ended(session, user.id).await;
        Ok(())
    }

    /// Every session of the user ended in the database (an administrator disabled the
    /// account): this server forgets them at once, and nobody sees the user present any more.
    /// Other servers follow the revocation within a second.
    pub async fn all_sessions_ended(&self, user_id: i32) {
        self.sessions.revoke_user(user_id).await;
        self.live.presence.logged_out(user_id).await;
    }

    /// The session asking is over: the server forgets it (a replayed cookie is logged out),
    /// and the user is no longer present anywhere, nor pushed to through the browser that
    /// asks. They keep their room, to come back to at the next login.
    pub(super) async fn ended(&self, session: &Session, user_id: i32) {
        if let Some(public_id) = auth::public_id(session) {
            let forgotten = self
                .db
                .run(move |conn| Ok(PushSubscription::end_session(conn, user_id, &public_id)?))
                .await;
            if let Err(err) = forgotten {
                // The worker pushes only to live sessions' subscriptions, and sweeps the rest.
                log::warn!("cannot forget a logged-out session's push subscriptions: {err}");
            }
        }
        auth::log_out(session);
        self.live.presence.logged_out(user_id).await;
    }
}
