//! Rate limits: sliding windows counted in this process's memory.
//!
//! Small on purpose: a deployment with several instances swaps `RateLimiter`'s insides for a
//! shared store and nothing else changes.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refused: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up, as the Retry-After header wants them.
    pub fn secs(self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

/// At most `max` events per key in any `window`.
pub struct RateLimiter {
    max: usize,
    window: Duration,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Past this many keys, a hit first sweeps out the keys whose events have all expired.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// Whether another event for `key` would be refused now.
    pub fn check(&self, key: &str) -> Result<(), RetryAfter> {
        let now = Instant::now();
        let mut events = self.lock();
        match events.get_mut(key) {
            Some(times) => self.verdict(times, now),
            None => Ok(()),
        }
    }

    /// Counts an event for `key`, unless the limit is reached: then it is refused, not counted.
    pub fn hit(&self, key: &str) -> Result<(), RetryAfter> {
        let now = Instant::now();
        let mut events = self.lock();
        if events.len() >= SWEEP_AT {
            events.retain(|_, times| times.back().is_some_and(|t| now - *t < self.window));
        }
        let times = events.entry(key.to_owned()).or_default();
        self.verdict(times, now)?;
        times.push_back(now);
        Ok(())
    }

    /// Forgets `key`'s events.
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

/// Failed logins, counted per username and per client address.
pub struct LoginThrottle {
    by_user: RateLimiter,
    by_address: RateLimiter,
}

impl LoginThrottle {
    pub fn new(per_user: u32, per_address: u32, window: Duration) -> Self {
        Self {
            by_user: RateLimiter::new(per_user, window),
            by_address: RateLimiter::new(per_address, window),
        }
    }

    /// Refused while either counter is full, whatever the password.
    pub fn check(&self, username: &str, address: &str) -> Result<(), RetryAfter> {
        let user = self.by_user.check(&username.to_lowercase());
        let address = self.by_address.check(address);
        match (user, address) {
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(r), _) | (_, Err(r)) => Err(r),
            _ => Ok(()),
        }
    }

    pub fn failed(&self, username: &str, address: &str) {
        // Refusals are not counted again: the window runs from the failures that filled it.
        let _ = self.by_user.hit(&username.to_lowercase());
        let _ = self.by_address.hit(address);
    }

    pub fn succeeded(&self, username: &str, address: &str) {
        self.by_user.reset(&username.to_lowercase());
        self.by_address.reset(address);
    }
}

/// Every limit the app enforces, shared by all workers.
pub struct Throttles {
    pub login: LoginThrottle,
    pub messages: RateLimiter,
    pub rooms: RateLimiter,
}

impl Throttles {
    pub fn new(limits: &crate::config::Limits) -> Self {
        Self {
            login: LoginThrottle::new(limits.login_user, limits.login_address, limits.login_window),
            messages: RateLimiter::new(limits.messages, limits.messages_window),
            rooms: RateLimiter::new(limits.rooms, limits.rooms_window),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_max_events_per_key_then_refuses() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.hit("a").is_ok());
        }
        let refused = limiter.hit("a").unwrap_err();
        assert!(refused.0 <= Duration::from_secs(60) && refused.secs() >= 59);
        assert!(limiter.check("a").is_err());
        assert!(limiter.hit("b").is_ok(), "keys are counted apart");
    }

    #[test]
    fn a_refused_event_is_not_counted_and_the_window_slides() {
        let limiter = RateLimiter::new(1, Duration::from_millis(50));
        assert!(limiter.hit("a").is_ok());
        assert!(limiter.hit("a").is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(limiter.hit("a").is_ok());
    }

    #[test]
    fn a_full_login_counter_for_the_user_or_the_address_refuses() {
        let throttle = LoginThrottle::new(2, 3, Duration::from_secs(60));
        throttle.failed("Alice", "10.0.0.1");
        throttle.failed("alice", "10.0.0.2");
        assert!(
            throttle.check("ALICE", "10.0.0.3").is_err(),
            "usernames ignore case"
        );
        assert!(throttle.check("bob", "10.0.0.1").is_ok());
        throttle.failed("bob", "10.0.0.1");
        throttle.failed("carol", "10.0.0.1");
        assert!(
            throttle.check("dave", "10.0.0.1").is_err(),
            "the address is full"
        );
        throttle.succeeded("dave", "10.0.0.1");
        assert!(throttle.check("dave", "10.0.0.1").is_ok());
    }

    #[test]
    fn reset_forgets_a_key() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        limiter.hit("a").unwrap();
        limiter.reset("a");
        assert!(limiter.check("a").is_ok());
    }
}
