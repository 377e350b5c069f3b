//! actix-session's store, backed by the sessions table: sessions survive restarts and can be
//! revoked by deleting their row. A write-through cache in front of it answers the one read
//! every request makes (a poll a second per open tab) without the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
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
/// Past this many cached sessions the cache starts over: the database still has them all.
const CACHE_LIMIT: usize = 200_000;
/// How many sessions are loaded at start-up.
const WARM_SESSIONS: i64 = 100_000;

/// A live session as the database last stored it.
#[derive(Clone)]
struct Cached {
    state: Arc<SessionState>,
    user_id: Option<i32>,
    idle_expires_at: i64,
    expires_at: i64,
}

impl Cached {
    fn is_live(&self, now: i64) -> bool {
        now < self.idle_expires_at && now < self.expires_at
    }
}

/// Sessions this process has read or written, by key. Written through: every change goes to
/// the database first. Revocation (logout, "log out everywhere", expiry) removes entries here
/// too. Several instances would need a shared store instead (see src/live.rs).
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<String, Cached>,
    /// Counts revocations. What a request read from the database is cached only if no
    /// revocation happened meanwhile: a logout racing another tab's request must not leave
    /// the revoked session in the cache.
    revocations: u64,
}

impl SessionCache {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn revocations(&self) -> u64 {
        self.lock().revocations
    }

    /// Caches what was read or written, unless a revocation came in since `revocations_before`.
    fn put(&self, key: String, cached: Cached, revocations_before: u64) {
        let mut entries = self.lock();
        if entries.revocations != revocations_before {
            return;
        }
        if entries.by_key.len() >= CACHE_LIMIT {
            entries.by_key.clear();
        }
        entries.by_key.insert(key, cached);
    }

    /// Call after the session's row was deleted.
    fn revoke(&self, key: &str) {
        let mut entries = self.lock();
        entries.revocations += 1;
        entries.by_key.remove(key);
    }

    /// Loads the sessions most recently used, before the server serves: after a restart every
    /// open page polls within a second, and none of those polls should wait for the database.
    pub async fn warm_up(&self, db: &Db) -> Result<usize, crate::errors::AppError> {
        let rows = db
            .run(|conn| Ok(SessionRow::most_recent(conn, unix_now(), WARM_SESSIONS)?))
            .await?;
        let mut entries = self.lock();
        for row in &rows {
            let Ok(state) = serde_json::from_str::<SessionState>(&row.state) else {
                continue;
            };
            entries.by_key.insert(
                row.id.clone(),
                Cached {
                    state: Arc::new(state),
                    user_id: row.user_id,
                    idle_expires_at: row.idle_expires_at,
                    expires_at: row.expires_at,
                },
            );
        }
        Ok(rows.len())
    }

    /// Forgets every session of the user. Call after their rows were deleted.
    pub fn revoke_user(&self, user_id: i32) {
        let mut entries = self.lock();
        entries.revocations += 1;
        entries.by_key.retain(|_, c| c.user_id != Some(user_id));
    }

    fn purge_expired(&self, now: i64) {
        self.lock().by_key.retain(|_, c| c.is_live(now));
    }
}

pub struct DbSessionStore {
    db: Db,
    idle: Duration,
    cache: Arc<SessionCache>,
}

impl DbSessionStore {
    pub fn new(db: Db, idle: Duration, cache: Arc<SessionCache>) -> Self {
        Self { db, idle, cache }
    }

    /// A session nobody logged into (a visitor who only opened the login form) lasts an hour:
    /// anonymous visitors and scanners must not fill the table for a week.
    fn idle_for(&self, user_id: Option<i32>) -> i64 {
        match user_id {
            Some(_) => secs(self.idle),
            None => secs(self.idle).min(ANONYMOUS_IDLE_SECS),
        }
    }

    /// How far the idle deadline may lag before a request pushes it forward. Coarse on purpose:
    /// a poll every second must not cost a database write every second.
    fn touch_granularity(&self) -> i64 {
        secs(self.idle / 100).clamp(1, 3600)
    }

    /// Pushes the idle deadline forward when it lags, in the cache at once and in the
    /// database in the background.
    fn touch_if_due(&self, key: &str, cached: &mut Cached, now: i64) {
        let idle = self.idle_for(cached.user_id);
        if cached.idle_expires_at >= now + idle - self.touch_granularity() {
            return;
        }
        cached.idle_expires_at = now + idle;
        let (db, id, deadline) = (self.db.clone(), key.to_owned(), cached.idle_expires_at);
        let cache = self.cache.clone();
        actix_web::rt::spawn(async move {
            let key = id.clone();
            match db
                .run(move |conn| Ok(SessionRow::touch(conn, &id, deadline)?))
                .await
            {
                Ok(true) => {}
                // Revoked or swept meanwhile: the cache must not keep it alive.
                Ok(false) => cache.revoke(&key),
                Err(err) => log::warn!("cannot extend a session: {err}"),
            }
        });
    }

    fn row(&self, key: &str, state: &SessionState, ttl: &CookieDuration) -> SessionRow {
        let now = unix_now();
        let user_id = user_id(state);
        SessionRow {
            id: key.to_owned(),
            user_id,
            state: String::new(),
            idle_expires_at: now + self.idle_for(user_id),
            expires_at: now + ttl.whole_seconds(),
        }
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
        let now = unix_now();
        let revocations = {
            let mut entries = self.cache.lock();
            if let Some(cached) = entries.by_key.get_mut(key.as_ref()) {
                if !cached.is_live(now) {
                    entries.by_key.remove(key.as_ref());
                    return Ok(None);
                }
                self.touch_if_due(key.as_ref(), cached, now);
                return Ok(Some((*cached.state).clone()));
            }
            entries.revocations
        };
        let id = key.as_ref().to_owned();
        let row = self
            .db
            .run(move |conn| Ok(SessionRow::find_live(conn, &id, now)?))
            .await
            .map_err(|err| LoadError::Other(anyhow!("{err}")))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state: SessionState = serde_json::from_str(&row.state)
            .map_err(|err| LoadError::Deserialization(err.into()))?;
        let mut cached = Cached {
            state: Arc::new(state.clone()),
            user_id: row.user_id,
            idle_expires_at: row.idle_expires_at,
            expires_at: row.expires_at,
        };
        self.touch_if_due(key.as_ref(), &mut cached, now);
        self.cache.put(row.id, cached, revocations);
        Ok(Some(state))
    }

    async fn save(
        &self,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let key = generate_session_key();
        let mut row = self.row(key.as_ref(), &state, ttl);
        row.state =
            serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let cached = Cached {
            state: Arc::new(state),
            user_id: row.user_id,
            idle_expires_at: row.idle_expires_at,
            expires_at: row.expires_at,
        };
        let revocations = self.cache.revocations();
        self.db
            .run(move |conn| Ok(SessionRow::insert(conn, &row)?))
            .await
            .map_err(|err| SaveError::Other(anyhow!("{err}")))?;
        self.cache.put(key.as_ref().to_owned(), cached, revocations);
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
        let row = self.row(key.as_ref(), &state, ttl);
        let (id, uid, idle_expires_at) = (row.id.clone(), row.user_id, row.idle_expires_at);
        let revocations = self.cache.revocations();
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
            // The absolute deadline stays what it was; an uncached session is read afresh.
            let expires_at = self
                .cache
                .lock()
                .by_key
                .get(key.as_ref())
                .map(|c| c.expires_at);
            if let Some(expires_at) = expires_at {
                let cached = Cached {
                    state: Arc::new(state),
                    user_id: uid,
                    idle_expires_at,
                    expires_at,
                };
                self.cache.put(key.as_ref().to_owned(), cached, revocations);
            }
            Ok(key)
        } else {
            // Revoked or expired while this request ran: start an anonymous session rather
            // than resurrect the login.
            self.cache.revoke(key.as_ref());
            let mut state = state;
            state.retain(|k, _| k != USER_ID && k != USERNAME);
            self.save(state, ttl).await.map_err(|err| match err {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
        }
    }

    async fn update_ttl(&self, key: &SessionKey, _ttl: &CookieDuration) -> anyhow::Result<()> {
        if let Some(cached) = self.cache.lock().by_key.get_mut(key.as_ref()) {
            self.touch_if_due(key.as_ref(), cached, unix_now());
        }
        Ok(())
    }

    /// The row goes first, then the cache entry (see `SessionCache::put`).
    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        let id = key.as_ref().to_owned();
        let deleted = self
            .db
            .run(move |conn| Ok(SessionRow::delete(conn, &id)?))
            .await
            .map_err(|err| anyhow!("{err}"));
        self.cache.revoke(key.as_ref());
        deleted
    }
}

/// Deletes expired sessions, from the database and the cache.
pub async fn purge_expired(
    db: &Db,
    cache: &SessionCache,
) -> Result<usize, crate::errors::AppError> {
    let now = unix_now();
    cache.purge_expired(now);
    db.run(move |conn| Ok(SessionRow::delete_expired(conn, now)?))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(user_id: i32) -> Cached {
        Cached {
            state: Arc::new(SessionState::new()),
            user_id: Some(user_id),
            idle_expires_at: i64::MAX,
            expires_at: i64::MAX,
        }
    }

    #[test]
    fn a_read_from_before_a_revocation_is_not_cached_after_it() {
        let cache = SessionCache::default();
        let before = cache.revocations();
        // A logout (row deleted, then this) lands while another request reads the row.
        cache.revoke("key");
        cache.put("key".into(), cached(1), before);
        assert!(
            cache.lock().by_key.is_empty(),
            "the revoked session stays out"
        );
        cache.put("key".into(), cached(1), cache.revocations());
        assert_eq!(cache.lock().by_key.len(), 1);
    }

    #[test]
    fn revoking_a_user_forgets_all_their_sessions_and_only_theirs() {
        let cache = SessionCache::default();
        let now = cache.revocations();
        cache.put("a".into(), cached(1), now);
        cache.put("b".into(), cached(1), now);
        cache.put("c".into(), cached(2), now);
        cache.revoke_user(1);
        let keys: Vec<String> = cache.lock().by_key.keys().cloned().collect();
        assert_eq!(keys, ["c"]);
    }
}
