//! Rate limits: sliding windows of events per key. `Throttles` says what is limited (failed
//! logins per username and per address, registrations per address, messages, new rooms and
//! searches per user); the counting sits behind `RateLimits`: in this process's memory (`MemoryLimits`) on
//! SQLite, shared through the database by every server on PostgreSQL (`SharedLimits`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::batch;
use crate::clock::{Clock, millis};
use crate::config::Limits;
use crate::db::{Db, DbError, RunError};
use crate::models::rate::{Hit, RateEvents};

/// Refused: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up, as the Retry-After header wants them.
    pub fn secs(self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    FailedLoginsForUser,
    FailedLoginsFromAddress,
    Registrations,
    Messages,
    Rooms,
    Searches,
    /// Web pushes to one user (see `push`): fixed, not a setting.
    Pushes,
    /// Posts through one incoming webhook: fixed, not a setting.
    Webhooks,
}

/// Counts events per (limit, key) in sliding windows.
#[async_trait]
pub trait RateLimits: Send + Sync {
    /// Counts an event, unless the limit is reached: then it is refused, not counted.
    async fn hit(&self, limit: Limit, key: &str) -> Result<(), RetryAfter>;
    /// Counts an event against each (limit, key), all or none: refused, nothing counted,
    /// while any of them is full (with the longest wait among those).
    async fn hit_all(&self, hits: &[(Limit, &str)]) -> Result<(), RetryAfter>;
    /// Forgets the key's events.
    async fn reset(&self, limit: Limit, key: &str);
    /// Forgets the key's latest event (an attempt reserved that did not count after all).
    async fn give_back(&self, limit: Limit, key: &str);
    /// The event to count inside the caller's own transaction, with when it was asked (Unix
    /// milliseconds), for a store that counts in the database; `None` for one that does not,
    /// whose events are counted with `hit`.
    fn in_transaction(&self, _limit: Limit, _key: &str) -> Option<(Hit, i64)> {
        None
    }
}

/// What the app limits, over a `RateLimits` store.
pub struct Throttles {
    store: Arc<dyn RateLimits>,
}

impl Throttles {
    pub fn new(store: Arc<dyn RateLimits>) -> Self {
        Self { store }
    }

    /// Reserves a login attempt for the username (by its key: `LoginName::key`) and for the
    /// client's address, before the password is checked: attempts sent at once are counted
    /// at once, so that no more than the limit of them get to try a password. Both counters
    /// are reserved together, or neither: refused, and nothing counted, while either is
    /// full, whatever the password. A failed login keeps its reservation.
    pub async fn login_attempt(&self, username: &str, address: IpAddr) -> Result<(), RetryAfter> {
        let (user, address) = (username.to_lowercase(), address_key(address));
        self.store
            .hit_all(&[
                (Limit::FailedLoginsForUser, &user),
                (Limit::FailedLoginsFromAddress, &address),
            ])
            .await
    }

    /// The password was right: the username's failures are forgotten, and the address gets
    /// this attempt back, but keeps its failures (else an attacker with an account of their
    /// own could log into it now and then to try other people's passwords without limit).
    pub async fn login_succeeded(&self, username: &str, address: IpAddr) {
        self.store
            .reset(Limit::FailedLoginsForUser, &username.to_lowercase())
            .await;
        self.store
            .give_back(Limit::FailedLoginsFromAddress, &address_key(address))
            .await;
    }

    /// The login was not tried after all (the server was too busy to check the password):
    /// both reservations are given back.
    pub async fn login_not_tried(&self, username: &str, address: IpAddr) {
        self.store
            .give_back(Limit::FailedLoginsForUser, &username.to_lowercase())
            .await;
        self.store
            .give_back(Limit::FailedLoginsFromAddress, &address_key(address))
            .await;
    }

    /// A registration from this address, counted whether or not the name turns out to be free.
    pub async fn registration(&self, address: IpAddr) -> Result<(), RetryAfter> {
        self.store
            .hit(Limit::Registrations, &address_key(address))
            .await
    }

    /// The registration was not tried after all (the server was too busy to hash the
    /// password): the address gets it back.
    pub async fn registration_not_tried(&self, address: IpAddr) {
        self.store
            .give_back(Limit::Registrations, &address_key(address))
            .await;
    }

    /// A message from this user.
    pub async fn message(&self, user_id: i32) -> Result<(), RetryAfter> {
        self.store.hit(Limit::Messages, &user_id.to_string()).await
    }

    /// A message from this user, when the limits are counted in the database: the event to
    /// count in the transaction that stores the message (`NewPost::counting`), one round trip
    /// and one wait fewer than `message`. `None`: count it with `message`.
    pub fn message_in_transaction(&self, user_id: i32) -> Option<(Hit, i64)> {
        self.store
            .in_transaction(Limit::Messages, &user_id.to_string())
    }

    /// A new room from this user.
    pub async fn room(&self, user_id: i32) -> Result<(), RetryAfter> {
        self.store.hit(Limit::Rooms, &user_id.to_string()).await
    }

    /// A search by this user.
    pub async fn search(&self, user_id: i32) -> Result<(), RetryAfter> {
        self.store.hit(Limit::Searches, &user_id.to_string()).await
    }

    /// A web push to this user.
    pub async fn push(&self, user_id: i32) -> Result<(), RetryAfter> {
        self.store.hit(Limit::Pushes, &user_id.to_string()).await
    }

    /// A post through this incoming webhook.
    pub async fn webhook(&self, hook_id: i32) -> Result<(), RetryAfter> {
        self.store.hit(Limit::Webhooks, &hook_id.to_string()).await
    }
}

/// The key an address is counted under: IPv4 as it is; IPv6 by its /64, which one customer of
/// most providers holds whole.
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// At most this many web pushes a minute to one user: a busy room set to `all` must not
/// make a phone buzz without end.
pub const PUSHES_PER_MINUTE: u32 = 10;

/// At most this many posts a minute through one incoming webhook: a CI server's burst gets
/// through, a script stuck in a loop does not fill the room.
pub const WEBHOOK_POSTS_PER_MINUTE: u32 = 30;

/// Each limit's settings: at most this many events per key in any such window.
fn windows(limits: &Limits) -> [(Limit, u32, Duration); 8] {
    [
        (
            Limit::FailedLoginsForUser,
            limits.login_user,
            limits.login_window,
        ),
        (
            Limit::FailedLoginsFromAddress,
            limits.login_address,
            limits.login_window,
        ),
        (
            Limit::Registrations,
            limits.registrations,
            limits.registrations_window,
        ),
        (Limit::Messages, limits.messages, limits.messages_window),
        (Limit::Rooms, limits.rooms, limits.rooms_window),
        (Limit::Searches, limits.searches, limits.searches_window),
        (Limit::Pushes, PUSHES_PER_MINUTE, Duration::from_secs(60)),
        (
            Limit::Webhooks,
            WEBHOOK_POSTS_PER_MINUTE,
            Duration::from_secs(60),
        ),
    ]
}

/// The shared store's answer to a hit: 0 when counted, else milliseconds to wait.
fn waited(wait_ms: i64) -> Result<(), RetryAfter> {
    match u64::try_from(wait_ms) {
        Ok(0) | Err(_) => Ok(()),
        Ok(wait) => Err(RetryAfter(Duration::from_millis(wait))),
    }
}

/// At most `max` events per key in any `window`, in this process's memory.
pub struct RateLimiter {
    max: usize,
    window: Duration,
    clock: Arc<dyn Clock>,
    events: Mutex<Events>,
}

/// Each key's events, oldest first.
#[derive(Default)]
struct Events {
    keys: HashMap<String, VecDeque<Instant>>,
    /// Past this many keys, a hit first sweeps out the keys whose events have all expired.
    sweep_at: usize,
}

/// The fewest keys a sweep waits for. After a sweep, the next waits until the keys left
/// have doubled: when more keys than this stay live for a whole window (20,000 people
/// posting within a minute), a sweep at every hit made each post walk all of them.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(max: u32, window: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            window,
            clock,
            events: Mutex::new(Events {
                keys: HashMap::new(),
                sweep_at: SWEEP_AT,
            }),
        }
    }

    pub fn check(&self, key: &str) -> Result<(), RetryAfter> {
        let now = self.clock.now();
        let mut events = self.lock();
        match events.keys.get_mut(key) {
            Some(times) => self.verdict(times, now),
            None => Ok(()),
        }
    }

    pub fn hit(&self, key: &str) -> Result<(), RetryAfter> {
        let now = self.clock.now();
        let mut events = self.lock();
        if events.keys.len() >= events.sweep_at {
            events
                .keys
                .retain(|_, times| times.back().is_some_and(|t| now - *t < self.window));
            events.sweep_at = SWEEP_AT.max(2 * events.keys.len());
        }
        let times = events.keys.entry(key.to_owned()).or_default();
        self.verdict(times, now)?;
        times.push_back(now);
        Ok(())
    }

    pub fn reset(&self, key: &str) {
        self.lock().keys.remove(key);
    }

    pub fn give_back(&self, key: &str) {
        if let Some(times) = self.lock().keys.get_mut(key) {
            times.pop_back();
        }
    }

    fn verdict(&self, times: &mut VecDeque<Instant>, now: Instant) -> Result<(), RetryAfter> {
        while times.front().is_some_and(|t| now - *t >= self.window) {
            times.pop_front();
        }
        if times.len() < self.max {
            return Ok(());
        }
        let oldest = times[times.len() - self.max];
        Err(RetryAfter(self.window - (now - oldest)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Events> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `RateLimits` in this process's memory: one `RateLimiter` per limit.
pub struct MemoryLimits {
    limiters: HashMap<Limit, RateLimiter>,
    /// Held while several counters are checked and counted together (`hit_all`).
    together: Mutex<()>,
}

impl MemoryLimits {
    pub fn new(limits: &Limits, clock: &Arc<dyn Clock>) -> Self {
        Self {
            limiters: windows(limits)
                .into_iter()
                .map(|(limit, max, window)| (limit, RateLimiter::new(max, window, clock.clone())))
                .collect(),
            together: Mutex::new(()),
        }
    }

    fn limiter(&self, limit: Limit) -> Option<&RateLimiter> {
        self.limiters.get(&limit)
    }
}

#[async_trait]
impl RateLimits for MemoryLimits {
    async fn hit(&self, limit: Limit, key: &str) -> Result<(), RetryAfter> {
        self.limiter(limit).map_or(Ok(()), |l| l.hit(key))
    }

    async fn hit_all(&self, hits: &[(Limit, &str)]) -> Result<(), RetryAfter> {
        let _together = self
            .together
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let limited: Vec<(&RateLimiter, &str)> = hits
            .iter()
            .filter_map(|&(limit, key)| Some((self.limiter(limit)?, key)))
            .collect();
        let refused = limited
            .iter()
            .filter_map(|(l, key)| l.check(key).err())
            .max();
        if let Some(retry) = refused {
            return Err(retry);
        }
        for (l, key) in limited {
            // Each had room a moment ago: a counter is counted only here or by `hit`, and
            // the limits counted together are counted only together.
            l.hit(key)?;
        }
        Ok(())
    }

    async fn reset(&self, limit: Limit, key: &str) {
        if let Some(l) = self.limiter(limit) {
            l.reset(key);
        }
    }

    async fn give_back(&self, limit: Limit, key: &str) {
        if let Some(l) = self.limiter(limit) {
            l.give_back(key);
        }
    }
}

/// `RateLimits` shared by every server on one PostgreSQL database: failed logins spread over
/// three servers are counted as if they went to one. A new message's event is counted in the
/// transaction that stores it (`in_transaction`), so that a post waits for one batch, not two.
/// Other hits asked while a round trip is on its way are counted together in the next (see
/// `RateEvents::hit_many`): a burst of edits costs a round trip per batch, not per edit. One
/// batch is counted at a time, so a batch held up (by another server's batch under the same
/// names, or the pool's 2 s wait while the database is away) holds up the requests behind it,
/// as the posts' group commit does. If the database cannot be asked, an event is let through:
/// the request it guards needs the database too, and fails there.
pub struct SharedLimits {
    db: Db,
    clock: Arc<dyn Clock>,
    windows: HashMap<Limit, (u32, Duration)>,
    hits: mpsc::UnboundedSender<(Hit, oneshot::Sender<Result<(), RetryAfter>>)>,
}

/// The most hits one round trip counts.
const MAX_HITS: usize = 512;

impl SharedLimits {
    /// Starts counting on the current runtime.
    pub fn new(db: Db, limits: &Limits, clock: &Arc<dyn Clock>) -> Self {
        let (hits, queue) = mpsc::unbounded_channel();
        actix_web::rt::spawn(Self::count(db.clone(), clock.clone(), queue));
        Self {
            db,
            clock: clock.clone(),
            windows: windows(limits)
                .into_iter()
                .map(|(limit, max, window)| (limit, (max, window)))
                .collect(),
            hits,
        }
    }

    /// Counts the hits in batches, one round trip at a time, until every sender is gone.
    async fn count(
        db: Db,
        clock: Arc<dyn Clock>,
        mut queue: mpsc::UnboundedReceiver<(Hit, oneshot::Sender<Result<(), RetryAfter>>)>,
    ) {
        while let Some(batch) = batch::next(&mut queue, MAX_HITS).await {
            let (hits, replies): (Vec<Hit>, Vec<_>) = batch.into_iter().unzip();
            let now = clock.unix_millis();
            let counted = db
                .run_as(move |conn| Ok::<_, DbError>(RateEvents::hit_many(conn, &hits, now)?))
                .await;
            let waits = counted.unwrap_or_else(|err| {
                log::warn!(
                    "cannot count {} events against rate limits: {err}",
                    replies.len()
                );
                vec![0; replies.len()]
            });
            for (reply, wait) in replies.into_iter().zip(waits) {
                let _ = reply.send(waited(wait));
            }
        }
    }

    /// The event to count under the limit for the key, with the limit's settings.
    fn event(&self, limit: Limit, key: &str) -> Option<Hit> {
        let &(max, window) = self.windows.get(&limit)?;
        Some(Hit {
            name: Self::name(limit, key),
            window_ms: millis(window),
            max: i32::try_from(max).unwrap_or(i32::MAX),
        })
    }

    /// How the events are named in the shared table: the limit, then the key.
    fn name(limit: Limit, key: &str) -> String {
        format!("{limit:?}:{key}")
    }

    /// Forgets events older than the longest window, every hour (names nobody hits again).
    pub async fn purge(&self) {
        let longest = self
            .windows
            .values()
            .map(|&(_, w)| w)
            .max()
            .unwrap_or_default();
        let before = self.clock.unix_millis() - millis(longest);
        if let Err(err) = self
            .db
            .run_as(move |conn| Ok::<_, DbError>(RateEvents::purge(conn, before)?))
            .await
        {
            log::warn!("cannot sweep the rate limits' events: {err}");
        }
    }

    async fn run(
        &self,
        what: &str,
        f: impl FnOnce(&mut crate::db::DbConnection) -> diesel::QueryResult<()> + Send + 'static,
    ) {
        if let Err(err) = self.db.run_as(move |conn| Ok::<_, DbError>(f(conn)?)).await {
            log::warn!("cannot {what} a rate limit's events: {err}");
        }
    }
}

#[async_trait]
impl RateLimits for SharedLimits {
    async fn hit(&self, limit: Limit, key: &str) -> Result<(), RetryAfter> {
        let Some(hit) = self.event(limit, key) else {
            return Ok(());
        };
        let (reply, answer) = oneshot::channel();
        if self.hits.send((hit, reply)).is_err() {
            log::warn!("cannot count an event against a rate limit: the counting has stopped");
            return Ok(());
        }
        // Dropped unanswered only if the counting stopped: let the event through, as above.
        answer.await.unwrap_or(Ok(()))
    }

    async fn hit_all(&self, hits: &[(Limit, &str)]) -> Result<(), RetryAfter> {
        let hits: Vec<Hit> = hits
            .iter()
            .filter_map(|&(limit, key)| self.event(limit, key))
            .collect();
        let now = self.clock.unix_millis();
        let asked = self
            .db
            .run_as(move |conn| Ok::<_, DbError>(RateEvents::hit_all(conn, &hits, now)?))
            .await;
        match asked {
            Ok(wait) => waited(wait),
            Err(err) => {
                // A storage fault is reported where it was met, once a minute.
                if err.storage_fault().is_none() {
                    log::warn!("cannot count events against rate limits: {err}");
                }
                Ok(())
            }
        }
    }

    async fn reset(&self, limit: Limit, key: &str) {
        let name = Self::name(limit, key);
        self.run("reset", move |conn| RateEvents::reset(conn, &name))
            .await;
    }

    async fn give_back(&self, limit: Limit, key: &str) {
        let name = Self::name(limit, key);
        self.run("give back", move |conn| RateEvents::give_back(conn, &name))
            .await;
    }

    fn in_transaction(&self, limit: Limit, key: &str) -> Option<(Hit, i64)> {
        Some((self.event(limit, key)?, self.clock.unix_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limiter(max: u32, window: Duration) -> (RateLimiter, Arc<ManualClock>) {
        let clock = ManualClock::new();
        (RateLimiter::new(max, window, clock.clone()), clock)
    }

    #[test]
    fn allows_up_to_max_events_per_key_then_refuses() {
        let (limiter, clock) = limiter(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.hit("a").is_ok());
        }
        clock.advance(Duration::from_secs(10));
        let refused = limiter.hit("a").unwrap_err();
        assert_eq!(refused, RetryAfter(Duration::from_secs(50)));
        assert!(limiter.check("a").is_err());
        assert!(limiter.hit("b").is_ok(), "keys are counted apart");
    }

    #[test]
    fn a_refused_event_is_not_counted_and_the_window_slides() {
        let (limiter, clock) = limiter(1, Duration::from_millis(50));
        assert!(limiter.hit("a").is_ok());
        clock.advance(Duration::from_millis(30));
        assert!(limiter.hit("a").is_err());
        clock.advance(Duration::from_millis(20));
        assert!(
            limiter.hit("a").is_ok(),
            "the refusal did not restart the window"
        );
    }

    #[test]
    fn a_sweep_forgets_expired_keys_and_the_next_waits_for_the_live_ones_to_double() {
        let (limiter, clock) = limiter(2, Duration::from_secs(60));
        for n in 0..SWEEP_AT {
            limiter.hit(&format!("old{n}")).unwrap();
        }
        clock.advance(Duration::from_secs(60));
        limiter.hit("new").unwrap();
        assert_eq!(limiter.lock().keys.len(), 1, "the expired keys are gone");
        assert_eq!(limiter.lock().sweep_at, SWEEP_AT);

        // More keys live than a sweep's threshold: one sweep finds nothing to forget, and the
        // next waits until they have doubled, instead of walking them all at every hit.
        for n in 0..SWEEP_AT {
            limiter.hit(&format!("live{n}")).unwrap();
        }
        assert_eq!(limiter.lock().keys.len(), SWEEP_AT + 1);
        assert_eq!(limiter.lock().sweep_at, 2 * SWEEP_AT);
        limiter.hit("new").unwrap();
        assert!(limiter.hit("new").is_err(), "the limit still counts");
    }

    fn throttles(login_user: u32, login_address: u32) -> Throttles {
        let limits = Limits {
            login_user,
            login_address,
            ..Limits::default()
        };
        let clock: Arc<dyn Clock> = ManualClock::new();
        Throttles::new(Arc::new(MemoryLimits::new(&limits, &clock)))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[actix_web::test]
    async fn a_full_login_counter_for_the_user_or_the_address_refuses() {
        let throttle = throttles(2, 3);
        assert!(
            throttle
                .login_attempt("Alice", ip("10.0.0.1"))
                .await
                .is_ok()
        );
        assert!(
            throttle
                .login_attempt("alice", ip("10.0.0.2"))
                .await
                .is_ok()
        );
        assert!(
            throttle
                .login_attempt("ALICE", ip("10.0.0.3"))
                .await
                .is_err(),
            "usernames ignore case"
        );
        assert!(throttle.login_attempt("bob", ip("10.0.0.1")).await.is_ok());
        assert!(
            throttle
                .login_attempt("carol", ip("10.0.0.1"))
                .await
                .is_ok()
        );
        assert!(
            throttle
                .login_attempt("dave", ip("10.0.0.1"))
                .await
                .is_err(),
            "the address is full"
        );
        assert!(
            throttle.login_attempt("dave", ip("10.0.0.4")).await.is_ok(),
            "a refusal counted nothing against dave"
        );
    }

    #[actix_web::test]
    async fn a_success_forgets_the_users_failures_but_not_the_addresss() {
        let throttle = throttles(3, 3);
        let attacker = ip("10.0.0.9");
        throttle.login_attempt("victim", attacker).await.unwrap();
        throttle.login_attempt("victim", attacker).await.unwrap();
        throttle.login_attempt("attacker", attacker).await.unwrap();
        throttle.login_succeeded("attacker", attacker).await;
        throttle.login_attempt("victim", attacker).await.unwrap();
        assert!(
            throttle.login_attempt("other", attacker).await.is_err(),
            "three failures from the address, whatever it logged into meanwhile"
        );
        assert!(
            throttle
                .login_attempt("attacker", ip("10.0.0.1"))
                .await
                .is_ok()
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(address_key(ip("10.1.2.3")), "10.1.2.3");
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(address_key(ip("::ffff:10.1.2.3")), "10.1.2.3");
    }

    #[test]
    fn reset_forgets_a_key() {
        let (limiter, _) = limiter(1, Duration::from_secs(60));
        limiter.hit("a").unwrap();
        limiter.reset("a");
        assert!(limiter.check("a").is_ok());
    }
}
