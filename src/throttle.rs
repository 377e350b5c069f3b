//! Rate limits: sliding windows of events per key. `Throttles` says what is limited (failed
//! logins per username and per address, messages and new rooms per user); the counting sits
//! behind `RateLimits`, which this process keeps in memory (`MemoryLimits`) and which several
//! instances will share through a store.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::clock::Clock;
use crate::config::Limits;

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
    Messages,
    Rooms,
}

/// Counts events per (limit, key) in sliding windows.
#[async_trait]
pub trait RateLimits: Send + Sync {
    /// Whether another event would be refused now.
    async fn check(&self, limit: Limit, key: &str) -> Result<(), RetryAfter>;
    /// Counts an event, unless the limit is reached: then it is refused, not counted.
    async fn hit(&self, limit: Limit, key: &str) -> Result<(), RetryAfter>;
    /// Forgets the key's events.
    async fn reset(&self, limit: Limit, key: &str);
}

/// What the app limits, over a `RateLimits` store.
pub struct Throttles {
    store: Arc<dyn RateLimits>,
}

impl Throttles {
    pub fn new(store: Arc<dyn RateLimits>) -> Self {
        Self { store }
    }

    /// Refused while either the username's or the address's failures fill their window,
    /// whatever the password.
    pub async fn login(&self, username: &str, address: &str) -> Result<(), RetryAfter> {
        let user = self
            .store
            .check(Limit::FailedLoginsForUser, &username.to_lowercase())
            .await;
        let address = self
            .store
            .check(Limit::FailedLoginsFromAddress, address)
            .await;
        match (user, address) {
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(r), _) | (_, Err(r)) => Err(r),
            _ => Ok(()),
        }
    }

    pub async fn login_failed(&self, username: &str, address: &str) {
        // Refusals are not counted again: the window runs from the failures that filled it.
        let _ = self
            .store
            .hit(Limit::FailedLoginsForUser, &username.to_lowercase())
            .await;
        let _ = self
            .store
            .hit(Limit::FailedLoginsFromAddress, address)
            .await;
    }

    pub async fn login_succeeded(&self, username: &str, address: &str) {
        self.store
            .reset(Limit::FailedLoginsForUser, &username.to_lowercase())
            .await;
        self.store
            .reset(Limit::FailedLoginsFromAddress, address)
            .await;
    }

    /// A message from this user.
    pub async fn message(&self, user_id: i32) -> Result<(), RetryAfter> {
        self.store.hit(Limit::Messages, &user_id.to_string()).await
    }

    /// A new room from this user.
    pub async fn room(&self, user_id: i32) -> Result<(), RetryAfter> {
        self.store.hit(Limit::Rooms, &user_id.to_string()).await
    }
}

/// At most `max` events per key in any `window`, in this process's memory.
pub struct RateLimiter {
    max: usize,
    window: Duration,
    clock: Arc<dyn Clock>,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Past this many keys, a hit first sweeps out the keys whose events have all expired.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(max: u32, window: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            window,
            clock,
            events: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: &str) -> Result<(), RetryAfter> {
        let now = self.clock.now();
        let mut events = self.lock();
        match events.get_mut(key) {
            Some(times) => self.verdict(times, now),
            None => Ok(()),
        }
    }

    pub fn hit(&self, key: &str) -> Result<(), RetryAfter> {
        let now = self.clock.now();
        let mut events = self.lock();
        if events.len() >= SWEEP_AT {
            events.retain(|_, times| times.back().is_some_and(|t| now - *t < self.window));
        }
        let times = events.entry(key.to_owned()).or_default();
        self.verdict(times, now)?;
        times.push_back(now);
        Ok(())
    }

    pub fn reset(&self, key: &str) {
        self.lock().remove(key);
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `RateLimits` in this process's memory: one `RateLimiter` per limit.
pub struct MemoryLimits {
    limiters: HashMap<Limit, RateLimiter>,
}

impl MemoryLimits {
    pub fn new(limits: &Limits, clock: &Arc<dyn Clock>) -> Self {
        let limiter = |max, window| RateLimiter::new(max, window, clock.clone());
        Self {
            limiters: HashMap::from([
                (
                    Limit::FailedLoginsForUser,
                    limiter(limits.login_user, limits.login_window),
                ),
                (
                    Limit::FailedLoginsFromAddress,
                    limiter(limits.login_address, limits.login_window),
                ),
                (
                    Limit::Messages,
                    limiter(limits.messages, limits.messages_window),
                ),
                (Limit::Rooms, limiter(limits.rooms, limits.rooms_window)),
            ]),
        }
    }

    fn limiter(&self, limit: Limit) -> Option<&RateLimiter> {
        self.limiters.get(&limit)
    }
}

#[async_trait]
impl RateLimits for MemoryLimits {
    async fn check(&self, limit: Limit, key: &str) -> Result<(), RetryAfter> {
        self.limiter(limit).map_or(Ok(()), |l| l.check(key))
    }

    async fn hit(&self, limit: Limit, key: &str) -> Result<(), RetryAfter> {
        self.limiter(limit).map_or(Ok(()), |l| l.hit(key))
    }

    async fn reset(&self, limit: Limit, key: &str) {
        if let Some(l) = self.limiter(limit) {
            l.reset(key);
        }
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

    #[actix_web::test]
    async fn a_full_login_counter_for_the_user_or_the_address_refuses() {
        let limits = Limits {
            login_user: 2,
            login_address: 3,
            ..Limits::default()
        };
        let clock: Arc<dyn Clock> = ManualClock::new();
        let throttle = Throttles::new(Arc::new(MemoryLimits::new(&limits, &clock)));
        throttle.login_failed("Alice", "10.0.0.1").await;
        throttle.login_failed("alice", "10.0.0.2").await;
        assert!(
            throttle.login("ALICE", "10.0.0.3").await.is_err(),
            "usernames ignore case"
        );
        assert!(throttle.login("bob", "10.0.0.1").await.is_ok());
        throttle.login_failed("bob", "10.0.0.1").await;
        throttle.login_failed("carol", "10.0.0.1").await;
        assert!(
            throttle.login("dave", "10.0.0.1").await.is_err(),
            "the address is full"
        );
        throttle.login_succeeded("dave", "10.0.0.1").await;
        assert!(throttle.login("dave", "10.0.0.1").await.is_ok());
    }

    #[test]
    fn reset_forgets_a_key() {
        let (limiter, _) = limiter(1, Duration::from_secs(60));
        limiter.hit("a").unwrap();
        limiter.reset("a");
        assert!(limiter.check("a").is_ok());
    }
}
