//! Waiting for a condition rather than for a fixed time: a test that sleeps a guessed while
//! passes without the thing having happened on a fast machine and fails on a slow one.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is looked at again.
const EVERY: Duration = Duration::from_millis(25);

/// Waits until `check` holds, failing the test with `what` if it has not within `within`.
/// How long it took.
pub async fn wait_until<F, Fut>(within: Duration, what: &str, check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    assert!(
        eventually(within, check).await,
        "{what}: not within {within:?}"
    );
    started.elapsed()
}

/// Whether `check` holds within `within` (looked at again and again until then).
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        actix_web::rt::time::sleep(EVERY).await;
    }
}
