//! actix-session's store, backed by the sessions table: sessions survive restarts and can be
//! revoked by deleting their row.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_session::storage::{
    LoadError, SaveError, SessionKey, SessionStore, UpdateError, generate_session_key,
};
use actix_web::cookie::time::Duration as CookieDuration;
use anyhow::anyhow;

use super::{USER_ID, USERNAME};
use crate::db::Db;
use crate::models::session::SessionRow;

type SessionState = HashMap<String, String>;

const ANONYMOUS_IDLE_SECS: i64 = 3600;

pub struct DbSessionStore {
    db: Db,
    idle: Duration,
}

impl DbSessionStore {
    pub fn new(db: Db, idle: Duration) -> Self {
        Self { db, idle }
    }

    /// A session nobody logged into (a visitor who only opened the login form) lasts an hour:
    /// anonymous visitors and scanners must not fill the table for a week.
    fn idle_for(&self, state: &SessionState) -> i64 {
        if user_id(state).is_some() {
            secs(self.idle)
        } else {
            secs(self.idle).min(ANONYMOUS_IDLE_SECS)
        }
    }

    /// How far the idle deadline may lag before a request pushes it forward. Coarse on purpose:
    /// a poll every second must not cost a database write every second.
    fn touch_granularity(&self) -> i64 {
        secs(self.idle / 100).clamp(1, 3600)
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, secs)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The logged-in user's id, kept in a column of its own so all their sessions can be found.
fn user_id(state: &SessionState) -> Option<i32> {
    state.get(USER_ID).and_then(|v| v.parse().ok())
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let id = key.as_ref().to_owned();
        let idle = secs(self.idle);
        let granularity = self.touch_granularity();
        let row = self
            .db
            .run(move |conn| {
                let now = unix_now();
                let row = SessionRow::find_live(conn, &id, now)?;
                if let Some(row) = &row
                    && row.idle_expires_at < now + idle - granularity
                {
                    SessionRow::touch(conn, &id, now + idle)?;
                }
                Ok(row)
            })
            .await
            .map_err(|err| LoadError::Other(anyhow!("{err}")))?;
        row.map(|row| serde_json::from_str(&row.state))
            .transpose()
            .map_err(|err| LoadError::Deserialization(err.into()))
    }

    async fn save(
        &self,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let key = generate_session_key();
        let now = unix_now();
        let row = SessionRow {
            id: key.as_ref().to_owned(),
            user_id: user_id(&state),
            state: serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?,
            idle_expires_at: now + self.idle_for(&state),
            expires_at: now + ttl.whole_seconds(),
        };
        self.db
            .run(move |conn| Ok(SessionRow::insert(conn, &row)?))
            .await
            .map_err(|err| SaveError::Other(anyhow!("{err}")))?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let json =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let id = key.as_ref().to_owned();
        let uid = user_id(&state);
        let idle_expires_at = unix_now() + self.idle_for(&state);
        let updated = self
            .db
            .run(move |conn| {
                Ok(SessionRow::update_state(
                    conn,
                    &id,
                    uid,
                    &json,
                    idle_expires_at,
                )?)
            })
            .await
            .map_err(|err| UpdateError::Other(anyhow!("{err}")))?;
        if updated {
            Ok(key)
        } else {
            // Revoked or expired while this request ran: start an anonymous session rather
            // than resurrect the login.
            let mut state = state;
            state.retain(|k, _| k != USER_ID && k != USERNAME);
            self.save(state, ttl).await.map_err(|err| match err {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
        }
    }

    async fn update_ttl(&self, key: &SessionKey, _ttl: &CookieDuration) -> anyhow::Result<()> {
        let id = key.as_ref().to_owned();
        let idle_expires_at = unix_now() + secs(self.idle);
        self.db
            .run(move |conn| Ok(SessionRow::touch(conn, &id, idle_expires_at)?))
            .await
            .map_err(|err| anyhow!("{err}"))
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        let id = key.as_ref().to_owned();
        self.db
            .run(move |conn| Ok(SessionRow::delete(conn, &id)?))
            .await
            .map_err(|err| anyhow!("{err}"))
    }
}

/// Deletes expired sessions; run now and then so the table does not grow without bound.
pub async fn purge_expired(db: &Db) -> Result<usize, crate::errors::AppError> {
    db.run(|conn| Ok(SessionRow::delete_expired(conn, unix_now())?))
        .await
}
