//! actix-session's store, backed by the sessions table: sessions survive restarts and can be
//! revoked by deleting their row. A write-through cache in front of it answers the one read
//! every request makes (a poll a second per open tab) without the database.
//!
//! Neither the table nor the cache holds a session's key: both are keyed by its SHA-256
//! (`row_id`), so a copy of the database lets nobody act as anyone.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_session::storage::{
    LoadError, SaveError, SessionKey, SessionStore, UpdateError, generate_session_key,
};
use actix_web::cookie::time::Duration as CookieDuration;
use anyhow::anyhow;
use async_trait::async_trait;

use sha2::{Digest, Sha256};

use super::{
    AGENT, CLIENT, CREDENTIALS, CurrentUser, MUST_CHANGE_PASSWORD, PUBLIC_ID, USER_ID, USERNAME,
};
use crate::clock::Clock;
use crate::db::Db;
use crate::models::revocation::{Revocation, Revoked};
use crate::models::session::SessionRow;

type SessionState = HashMap<String, String>;

const ANONYMOUS_IDLE_SECS: i64 = 3600;
/// Past this many cached sessions the cache forgets the one written longest ago: the database
/// still has them all.
const CACHE_LIMIT: usize = 200_000;
/// How many sessions are loaded at start-up.
const WARM_SESSIONS: i64 = 100_000;

/// A live session as the database last stored it.
#[derive(Clone)]
pub struct Cached {
    state: Arc<SessionState>,
    user_id: Option<i32>,
    /// Who is logged in and free to act (no password change pending), read from the state
    /// once, for the polls that ask the cache directly (`DbSessionStore::settled_user`).
    user: Option<CurrentUser>,
    idle_expires_at: i64,
    expires_at: i64,
}

impl Cached {
    fn new(
        state: SessionState,
        user_id: Option<i32>,
        idle_expires_at: i64,
        expires_at: i64,
    ) -> Self {
        let user = match (field(&state, USER_ID), field(&state, USERNAME)) {
            (Some(id), Some(username)) if !state.contains_key(MUST_CHANGE_PASSWORD) => {
                Some(CurrentUser { id, username })
            }
            _ => None,
        };
        Self {
            state: Arc::new(state),
            user_id,
            user,
            idle_expires_at,
            expires_at,
        }
    }

    fn is_live(&self, now: i64) -> bool {
        now < self.idle_expires_at && now < self.expires_at
    }
}

/// Taken before a read of the database: what the read found is cached only if no revocation
/// came in meanwhile, so that a logout racing another tab's request cannot leave the revoked
/// session cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// What the cache knows of a key.
pub enum Lookup {
    Live(Cached),
    /// Cached, but past a deadline (and now forgotten).
    Expired,
    /// Not cached: ask the database, with this ticket.
    Unknown(Ticket),
}

/// Sessions this process has read or written, by key, in front of the sessions table.
/// Written through: every change goes to the database first. Revocation (logout, "log out
/// everywhere", expiry) removes entries too. Async, so that several instances can share one.
#[async_trait]
pub trait SessionCache: Send + Sync {
    /// The session under `key`, if cached and live at `now` (Unix seconds).
    async fn lookup(&self, key: &str, now: i64) -> Lookup;
    /// A ticket for a read of the database that may then be cached.
    async fn ticket(&self) -> Ticket;
    /// Caches what was read or written, unless a revocation came in since `ticket`.
    async fn put(&self, key: String, session: Cached, ticket: Ticket);
    /// Moves a cached session's idle deadline.
    async fn extend(&self, key: &str, idle_expires_at: i64);
    /// A cached session's absolute deadline.
    async fn expires_at(&self, key: &str) -> Option<i64>;
    /// Forgets one session. Call after its row was deleted.
    async fn revoke(&self, key: &str);
    /// Forgets every session of the user. Call after their rows were deleted.
    async fn revoke_user(&self, user_id: i32);
    /// Forgets the sessions past a deadline at `now`.
    async fn purge_expired(&self, now: i64);
    /// Forgets every session.
    async fn forget_all(&self);
    /// Lets `lookup` answer from the cache until `until` (see `follow_revocations`): after
    /// that it answers `Unknown`, so that each session is read from the database, until the
    /// next vouch. Real time, whatever clock the sessions' deadlines run on.
    async fn vouch(&self, until: Instant);
}

/// The `SessionCache` in this process's memory, holding at most `limit` sessions.
pub struct MemorySessionCache {
    entries: Mutex<Entries>,
    limit: usize,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<String, Slot>,
    /// Keys by when they were last written (put or extended), oldest first: the next to go.
    by_age: BTreeMap<u64, String>,
    writes: u64,
    /// Counts revocations (see `Ticket`).
    revocations: u64,
    /// See `SessionCache::vouch`.
    vouched_until: Option<Instant>,
}

struct Slot {
    cached: Cached,
    written: u64,
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some(slot) = self.by_key.remove(key) {
            self.by_age.remove(&slot.written);
        }
    }

    fn retain(&mut self, keep: impl Fn(&Cached) -> bool) {
        let by_age = &mut self.by_age;
        self.by_key.retain(|_, slot| {
            let kept = keep(&slot.cached);
            if !kept {
                by_age.remove(&slot.written);
            }
            kept
        });
    }

    /// Marks the key as written just now.
    fn renew(&mut self, key: &str) {
        let Some(slot) = self.by_key.get_mut(key) else {
            return;
        };
        self.writes += 1;
        self.by_age.remove(&slot.written);
        slot.written = self.writes;
        self.by_age.insert(self.writes, key.to_owned());
    }
}

impl Default for MemorySessionCache {
    fn default() -> Self {
        Self::with_limit(CACHE_LIMIT)
    }
}

impl MemorySessionCache {
    pub fn with_limit(limit: usize) -> Self {
        Self {
            entries: Mutex::default(),
            limit: limit.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SessionCache for MemorySessionCache {
    async fn lookup(&self, key: &str, now: i64) -> Lookup {
        let mut entries = self.lock();
        if entries
            .vouched_until
            .is_none_or(|until| Instant::now() >= until)
        {
            return Lookup::Unknown(Ticket(entries.revocations));
        }
        match entries.by_key.get(key) {
            Some(slot) if slot.cached.is_live(now) => Lookup::Live(slot.cached.clone()),
            Some(_) => {
                entries.remove(key);
                Lookup::Expired
            }
            None => Lookup::Unknown(Ticket(entries.revocations)),
        }
    }

    async fn ticket(&self) -> Ticket {
        Ticket(self.lock().revocations)
    }

    async fn put(&self, key: String, session: Cached, ticket: Ticket) {
        let mut entries = self.lock();
        if Ticket(entries.revocations) != ticket {
            return;
        }
        entries.remove(&key);
        while entries.by_key.len() >= self.limit {
            let Some((_, oldest)) = entries.by_age.pop_first() else {
                break;
            };
            entries.by_key.remove(&oldest);
        }
        entries.by_key.insert(
            key.clone(),
            Slot {
                cached: session,
                written: 0,
            },
        );
        entries.renew(&key);
    }

    async fn extend(&self, key: &str, idle_expires_at: i64) {
        let mut entries = self.lock();
        if let Some(slot) = entries.by_key.get_mut(key) {
            slot.cached.idle_expires_at = idle_expires_at;
            entries.renew(key);
        }
    }

    async fn expires_at(&self, key: &str) -> Option<i64> {
        self.lock().by_key.get(key).map(|s| s.cached.expires_at)
    }

    async fn revoke(&self, key: &str) {
        let mut entries = self.lock();
        entries.revocations += 1;
        entries.remove(key);
    }

    async fn revoke_user(&self, user_id: i32) {
        let mut entries = self.lock();
        entries.revocations += 1;
        entries.retain(|c| c.user_id != Some(user_id));
    }

    async fn purge_expired(&self, now: i64) {
        self.lock().retain(|c| c.is_live(now));
    }

    async fn forget_all(&self) {
        let mut entries = self.lock();
        entries.revocations += 1;
        entries.by_key.clear();
        entries.by_age.clear();
    }

    async fn vouch(&self, until: Instant) {
        let mut entries = self.lock();
        entries.vouched_until = entries.vouched_until.max(Some(until));
    }
}

/// Loads the sessions most recently used, before the server serves: after a restart every
/// open page polls within a second, and none of those polls should wait for the database.
pub async fn warm_up(
    cache: &dyn SessionCache,
    db: &Db,
    clock: &dyn Clock,
) -> Result<usize, crate::errors::AppError> {
    let now = clock.unix_secs();
    let ticket = cache.ticket().await;
    let rows = db
        .run(move |conn| Ok(SessionRow::most_recent(conn, now, WARM_SESSIONS)?))
        .await?;
    for row in &rows {
        let Ok(state) = serde_json::from_str::<SessionState>(&row.state) else {
            continue;
        };
        let cached = Cached::new(state, row.user_id, row.idle_expires_at, row.expires_at);
        cache.put(row.id.clone(), cached, ticket).await;
    }
    Ok(rows.len())
}

/// How long logged-in sessions stay idle, and the clock they are timed by: the store and the
/// account page's list of sessions share them.
#[derive(Clone)]
pub struct SessionTimes {
    pub idle: Duration,
    pub clock: Arc<dyn Clock>,
}

pub struct DbSessionStore {
    db: Db,
    times: SessionTimes,
    cache: Arc<dyn SessionCache>,
}

impl DbSessionStore {
    pub fn new(db: Db, times: SessionTimes, cache: Arc<dyn SessionCache>) -> Self {
        Self { db, times, cache }
    }

    /// Who is logged in, settled, under the session whose row is `id`, if the cache knows it
    /// live: the poll's way in without actix-session (`middleware::session_shortcut`).
    /// Moves the idle deadline as a load would. `None` for anything the cache cannot vouch
    /// for, which then goes the long way.
    pub async fn settled_user(&self, id: &str) -> Option<CurrentUser> {
        let now = self.times.clock.unix_secs();
        let Lookup::Live(mut cached) = self.cache.lookup(id, now).await else {
            return None;
        };
        let user = cached.user.take()?;
        self.touch_if_due(id, &mut cached, now).await;
        Some(user)
    }

    /// A session nobody is logged into (only left behind when a login is revoked while one
    /// of its requests runs: the forms need no session) lasts an hour at most.
    fn idle_for(&self, user_id: Option<i32>) -> i64 {
        match user_id {
            Some(_) => secs(self.times.idle),
            None => secs(self.times.idle).min(ANONYMOUS_IDLE_SECS),
        }
    }

    /// How far the idle deadline may lag before a request pushes it forward. Coarse on purpose:
    /// a poll every second must not cost a database write every second.
    fn touch_granularity(&self) -> i64 {
        secs(self.times.idle / 100).clamp(1, 3600)
    }

    /// Pushes the idle deadline forward when it lags, in the cache at once and in the
    /// database in the background.
    async fn touch_if_due(&self, key: &str, cached: &mut Cached, now: i64) {
        let idle = self.idle_for(cached.user_id);
        if cached.idle_expires_at >= now + idle - self.touch_granularity() {
            return;
        }
        cached.idle_expires_at = now + idle;
        self.cache.extend(key, cached.idle_expires_at).await;
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
                Ok(false) => cache.revoke(&key).await,
                Err(err) => log::warn!("cannot extend a session: {err}"),
            }
        });
    }

    fn row(&self, id: String, state: &SessionState, ttl: &CookieDuration) -> SessionRow {
        let now = self.times.clock.unix_secs();
        let user_id = user_id(state);
        SessionRow {
            id,
            user_id,
            state: String::new(),
            idle_expires_at: now + self.idle_for(user_id),
            expires_at: now + ttl.whole_seconds(),
            public_id: field(state, PUBLIC_ID).unwrap_or_default(),
            started_at: now,
            client: field(state, CLIENT).unwrap_or_default(),
            agent: field(state, AGENT).unwrap_or_default(),
            // A logged-in state without one matches no account (see `SessionRow::insert`).
            credentials_version: field(state, CREDENTIALS).unwrap_or(-1),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The logged-in user's id, kept in a column of its own so all their sessions can be found.
fn user_id(state: &SessionState) -> Option<i32> {
    field(state, USER_ID)
}

/// A value of the state (actix-session keeps each as JSON).
fn field<T: serde::de::DeserializeOwned>(state: &SessionState, key: &str) -> Option<T> {
    state.get(key).and_then(|v| serde_json::from_str(v).ok())
}

/// What the table and the cache know a session by: the SHA-256 of its key, as hex.
pub fn row_id(key: &SessionKey) -> String {
    super::hex(&Sha256::digest(key.as_ref().as_bytes()))
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let now = self.times.clock.unix_secs();
        let id = row_id(key);
        let ticket = match self.cache.lookup(&id, now).await {
            Lookup::Live(mut cached) => {
                self.touch_if_due(&id, &mut cached, now).await;
                return Ok(Some((*cached.state).clone()));
            }
            Lookup::Expired => return Ok(None),
            Lookup::Unknown(ticket) => ticket,
        };
        let row = self
            .db
            .run({
                let id = id.clone();
                move |conn| Ok(SessionRow::find_live(conn, &id, now)?)
            })
            .await
            .map_err(|err| LoadError::Other(anyhow!("{err}")))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state: SessionState = serde_json::from_str(&row.state)
            .map_err(|err| LoadError::Deserialization(err.into()))?;
        let mut cached = Cached::new(
            state.clone(),
            row.user_id,
            row.idle_expires_at,
            row.expires_at,
        );
        self.touch_if_due(&id, &mut cached, now).await;
        self.cache.put(id, cached, ticket).await;
        Ok(Some(state))
    }

    async fn save(
        &self,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let key = generate_session_key();
        let id = row_id(&key);
        let mut state = state;
        let mut row = self.row(id.clone(), &state, ttl);
        // Where the login came from, and the credentials it checked, go to their columns
        // only: every request clones the cached state, which need not carry them.
        state.remove(CLIENT);
        state.remove(AGENT);
        state.remove(CREDENTIALS);
        row.state =
            serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let cached = Cached::new(state, row.user_id, row.idle_expires_at, row.expires_at);
        let ticket = self.cache.ticket().await;
        let saved = self
            .db
            .run(move |conn| Ok(SessionRow::insert(conn, &row)?))
            .await
            .map_err(|err| SaveError::Other(anyhow!("{err}")))?;
        if !saved {
            // The account was disabled or its credentials changed while this login ran: it
            // ends as it would have had it saved a moment earlier.
            log::info!("a login lost the race with a change to its account: not kept");
            let mut state = Arc::unwrap_or_clone(cached.state);
            state.retain(|k, _| k != USER_ID && k != USERNAME);
            return Box::pin(self.save(state, ttl)).await;
        }
        self.cache.put(id, cached, ticket).await;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let id = row_id(&key);
        let mut row = self.row(id.clone(), &state, ttl);
        row.state =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let (uid, idle_expires_at) = (row.user_id, row.idle_expires_at);
        let ticket = self.cache.ticket().await;
        let updated = self
            .db
            .run(move |conn| {
                // Other servers' cached copies go stale: they read it afresh.
                Ok(conn.write_transaction(|conn| {
                    let updated = SessionRow::update_state(conn, &row)?;
                    if updated {
                        Revocation::record_session(conn, &row.id)?;
                    }
                    Ok::<_, diesel::result::Error>(updated)
                })?)
            })
            .await
            .map_err(|err| UpdateError::Other(anyhow!("{err}")))?;
        if updated {
            // The absolute deadline stays what it was; an uncached session is read afresh.
            if let Some(expires_at) = self.cache.expires_at(&id).await {
                let cached = Cached::new(state, uid, idle_expires_at, expires_at);
                self.cache.put(id, cached, ticket).await;
            }
            Ok(key)
        } else {
            // Revoked or expired while this request ran: start an anonymous session rather
            // than resurrect the login.
            self.cache.revoke(&id).await;
            let mut state = state;
            state.retain(|k, _| k != USER_ID && k != USERNAME);
            self.save(state, ttl).await.map_err(|err| match err {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
        }
    }

    async fn update_ttl(&self, key: &SessionKey, _ttl: &CookieDuration) -> anyhow::Result<()> {
        let now = self.times.clock.unix_secs();
        let id = row_id(key);
        if let Lookup::Live(mut cached) = self.cache.lookup(&id, now).await {
            self.touch_if_due(&id, &mut cached, now).await;
        }
        Ok(())
    }

    /// The row goes first, then the cache entry (see `SessionCache::put`).
    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        let id = row_id(key);
        let deleted = self
            .db
            .run({
                let id = id.clone();
                move |conn| {
                    Ok(conn.write_transaction(|conn| {
                        SessionRow::delete(conn, &id)?;
                        Revocation::record_session(conn, &id)
                    })?)
                }
            })
            .await
            .map_err(|err| anyhow!("{err}"));
        self.cache.revoke(&id).await;
        deleted
    }
}

/// Deletes expired sessions, from the database and the cache.
pub async fn purge_expired(
    db: &Db,
    cache: &dyn SessionCache,
    now: i64,
) -> Result<usize, crate::errors::AppError> {
    cache.purge_expired(now).await;
    db.run(move |conn| {
        Revocation::purge(conn, REVOCATIONS_KEPT)?;
        Ok(SessionRow::delete_expired(conn, now)?)
    })
    .await
}

/// How often a server looks for sessions that ended elsewhere (another server, a command):
/// they stop working here within this.
pub const FOLLOW_REVOCATIONS_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// How long the cache answers for sessions after a look at the revocations began: past it,
/// with no newer look (a server paused, or cut off from its database), every session is read
/// from the database until a look succeeds.
const VOUCHED_FOR: Duration = Duration::from_secs(2);
/// How long a number that a look skipped is looked for again (database seconds): far longer
/// than any transaction that records a revocation takes to commit. After that it is taken
/// for an insert that was rolled back.
const MISSING_FOR: i64 = 60;
/// How long revocations are kept (database seconds).
const REVOCATIONS_KEPT: i64 = 3600;
/// How many numbers below the lowest it read a server's first look still looks for.
const FIRST_LOOK_BACK: i32 = 100;
/// How many skipped numbers a server looks for one by one; past that it forgets its cache.
const MOST_MISSING: usize = 1000;

/// How far a server has read the revocations, by number.
#[derive(Debug, Default)]
pub struct RevocationCursor {
    /// The highest number read; none before the first look, which reads them all.
    last: Option<i32>,
    /// Numbers below `last` not read yet (on PostgreSQL a lower number can commit after a
    /// higher one), with when (database time) a look first missed them.
    missing: BTreeMap<i32, i64>,
    /// When (database time) the last look was.
    read_at: Option<i64>,
}

impl RevocationCursor {
    /// Notes what a look at `now` (database time) read, every number above `after` or
    /// among the missing ones; says whether the cache should be forgotten whole: the look
    /// before was so long ago that revocations may have been purged unread since, or so many
    /// numbers were skipped that they are not worth looking for one by one.
    fn advance(&mut self, after: i32, read: &[i32], now: i64) -> bool {
        let mut forget_all = self
            .read_at
            .is_some_and(|at| now - at > REVOCATIONS_KEPT - MISSING_FOR);
        for id in read {
            self.missing.remove(id);
        }
        let new: std::collections::BTreeSet<i32> =
            read.iter().copied().filter(|&id| id > after).collect();
        // Nothing new keeps the place: a first look that found the table empty stays a first.
        if let (Some(&lowest), Some(&highest)) = (new.first(), new.last()) {
            let from = match self.last {
                // The first look read whatever the table holds: the numbers below its lowest
                // were purged, but for the last few, which may still be committing.
                None => lowest.saturating_sub(FIRST_LOOK_BACK + 1),
                Some(_) => after,
            };
            let skipped: Vec<i32> = (from.saturating_add(1)..highest)
                .filter(|id| !new.contains(id))
                .take(MOST_MISSING + 1)
                .collect();
            if skipped.len() > MOST_MISSING {
                forget_all = true;
                self.missing.clear();
            } else {
                self.missing.extend(skipped.into_iter().map(|id| (id, now)));
            }
            self.last = Some(highest);
        }
        self.missing.retain(|_, since| now - *since <= MISSING_FOR);
        self.read_at = Some(now);
        forget_all
    }
}

/// One look at the revocations (see `Revocation`): forgets the cached sessions named by every
/// revocation committed since the last look, found by number (whatever the clocks say, and
/// however long ago the last look was), then lets the cache answer for sessions a little
/// longer (`VOUCHED_FOR` from when the look began). A server whose last look is so old that
/// revocations it never read may have been purged forgets its whole cache instead. Returns
/// how many revocations it followed.
pub async fn follow_revocations(
    db: &Db,
    cache: &dyn SessionCache,
    cursor: &mut RevocationCursor,
) -> Result<usize, crate::errors::AppError> {
    let began = Instant::now();
    let after = cursor.last.unwrap_or(0);
    let missing: Vec<i32> = cursor.missing.keys().copied().collect();
    let (rows, now) = db
        .run(move |conn| Ok(Revocation::after(conn, after, &missing)?))
        .await?;
    let read: Vec<i32> = rows.iter().map(|(id, _)| *id).collect();
    if cursor.advance(after, &read, now) {
        log::warn!("lost track of the revocations: every cached session is read again");
        cache.forget_all().await;
    }
    for (_, revoked) in &rows {
        match revoked {
            Revoked::User(user_id) => cache.revoke_user(*user_id).await,
            Revoked::Session(session_id) => cache.revoke(session_id).await,
        }
    }
    cache.vouch(began + VOUCHED_FOR).await;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(user_id: i32) -> Cached {
        Cached::new(SessionState::new(), Some(user_id), i64::MAX, i64::MAX)
    }

    /// A cache whose lookups may answer from memory (see `SessionCache::vouch`).
    fn vouched(cache: MemorySessionCache) -> MemorySessionCache {
        cache.lock().vouched_until = Some(Instant::now() + Duration::from_secs(3600));
        cache
    }

    async fn keys(cache: &MemorySessionCache) -> Vec<String> {
        let mut keys: Vec<String> = cache.lock().by_key.keys().cloned().collect();
        keys.sort();
        keys
    }

    #[actix_web::test]
    async fn a_read_from_before_a_revocation_is_not_cached_after_it() {
        let cache = MemorySessionCache::default();
        let before = cache.ticket().await;
        // A logout (row deleted, then this) lands while another request reads the row.
        cache.revoke("key").await;
        cache.put("key".into(), cached(1), before).await;
        assert!(
            keys(&cache).await.is_empty(),
            "the revoked session stays out"
        );
        cache
            .put("key".into(), cached(1), cache.ticket().await)
            .await;
        assert_eq!(keys(&cache).await, ["key"]);
    }

    #[actix_web::test]
    async fn revoking_a_user_forgets_all_their_sessions_and_only_theirs() {
        let cache = MemorySessionCache::default();
        let now = cache.ticket().await;
        cache.put("a".into(), cached(1), now).await;
        cache.put("b".into(), cached(1), now).await;
        cache.put("c".into(), cached(2), now).await;
        cache.revoke_user(1).await;
        assert_eq!(keys(&cache).await, ["c"]);
    }

    #[actix_web::test]
    async fn a_session_past_a_deadline_is_forgotten_at_its_next_lookup() {
        let cache = vouched(MemorySessionCache::default());
        let mut session = cached(1);
        session.idle_expires_at = 100;
        cache.put("a".into(), session, cache.ticket().await).await;
        assert!(matches!(cache.lookup("a", 99).await, Lookup::Live(_)));
        assert!(matches!(cache.lookup("a", 100).await, Lookup::Expired));
        assert!(matches!(cache.lookup("a", 0).await, Lookup::Unknown(_)));
    }

    #[actix_web::test]
    async fn the_cache_answers_only_until_the_time_it_was_last_vouched_for() {
        let cache = MemorySessionCache::default();
        cache.put("a".into(), cached(1), cache.ticket().await).await;
        assert!(
            matches!(cache.lookup("a", 10).await, Lookup::Unknown(_)),
            "never vouched"
        );
        cache
            .vouch(Instant::now() + Duration::from_millis(200))
            .await;
        assert!(matches!(cache.lookup("a", 11).await, Lookup::Live(_)));
        cache.vouch(Instant::now()).await;
        assert!(
            matches!(cache.lookup("a", 11).await, Lookup::Live(_)),
            "never back"
        );
        std::thread::sleep(Duration::from_millis(250));
        assert!(matches!(cache.lookup("a", 11).await, Lookup::Unknown(_)));
        cache.forget_all().await;
        assert!(keys(&cache).await.is_empty());
    }

    #[test]
    fn the_revocation_cursor_goes_on_by_number_and_looks_again_for_skipped_ones() {
        let missing =
            |cursor: &RevocationCursor| cursor.missing.keys().copied().collect::<Vec<_>>();
        let mut cursor = RevocationCursor::default();
        // A first look at an empty table keeps the cursor at its start.
        assert!(!cursor.advance(0, &[], 999));
        assert_eq!(cursor.last, None);
        // The first look reads what the table holds: 103 and 105. 104 is missing, and so are
        // the few below 103, which may still be committing.
        assert!(!cursor.advance(0, &[103, 105], 1000));
        assert_eq!(cursor.last, Some(105));
        assert_eq!(missing(&cursor), (3..=102).chain([104]).collect::<Vec<_>>());
        // 104 commits late, with 107; 106 is missing now.
        assert!(!cursor.advance(105, &[104, 107], 1001));
        assert_eq!(cursor.last, Some(107));
        assert_eq!(missing(&cursor).last(), Some(&106));
        assert!(!missing(&cursor).contains(&104));
        // A look that reads nothing keeps its place; a skipped number is given up after a
        // minute (an insert rolled back).
        assert!(!cursor.advance(107, &[], 1001 + MISSING_FOR));
        assert_eq!(missing(&cursor), [106]);
        assert!(!cursor.advance(107, &[], 1002 + MISSING_FOR));
        assert!(cursor.missing.is_empty());
        assert_eq!(cursor.last, Some(107));
        // Too many skipped at once: the cache is forgotten instead of looking for them all.
        let far = 107 + i32::try_from(MOST_MISSING).unwrap() + 10;
        assert!(cursor.advance(107, &[far], 1003 + MISSING_FOR));
        assert!(cursor.missing.is_empty());
        assert_eq!(cursor.last, Some(far));
        // A look long after the one before (a server paused for most of an hour) still goes
        // on from where it got to, and says it may have missed purged ones.
        let later = 1003 + MISSING_FOR + REVOCATIONS_KEPT;
        assert!(cursor.advance(far, &[far + 1], later));
        assert_eq!(cursor.last, Some(far + 1));
    }

    #[actix_web::test]
    async fn a_full_cache_forgets_the_session_written_longest_ago_and_keeps_the_rest() {
        let cache = MemorySessionCache::with_limit(3);
        for (user, key) in ["a", "b", "c"].into_iter().enumerate() {
            let user = i32::try_from(user).unwrap();
            cache
                .put(key.into(), cached(user), cache.ticket().await)
                .await;
        }
        // "a" was used since: "b" is now the one written longest ago.
        cache.extend("a", i64::MAX).await;
        cache.put("d".into(), cached(3), cache.ticket().await).await;
        assert_eq!(keys(&cache).await, ["a", "c", "d"]);

        cache.revoke_user(0).await;
        cache.put("e".into(), cached(4), cache.ticket().await).await;
        cache.put("f".into(), cached(5), cache.ticket().await).await;
        assert_eq!(keys(&cache).await, ["d", "e", "f"]);
    }
}
