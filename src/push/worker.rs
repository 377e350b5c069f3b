//! The push worker, one per server: every second it claims the notices no worker has looked
//! at (see `PushNotices::claim`; two servers never claim the same one), and pushes each to its
//! user's subscriptions, unless the user has a page open (a poll within `PAGE_OPEN_WITHIN`, on
//! this server or, on PostgreSQL, on another), the notice is stale, or the user had
//! `PUSHES_PER_MINUTE` already. A notice is looked at once: one that is not pushed is dropped
//! (the page's attention count still shows it). Never in a request's path.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix_web::rt::task::JoinHandle;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::time::MissedTickBehavior;

use super::encrypt;
use super::vapid::Vapid;
use super::{PAGE_OPEN_WITHIN, Polling};
use crate::clock::{Clock, millis};
use crate::db::{Backend, Db};
use crate::errors::AppError;
use crate::models::Notice;
use crate::models::push::{PushNotices, PushSubscription};
use crate::throttle::Throttles;

/// How often the worker looks for notices.
pub const EVERY: Duration = Duration::from_secs(1);
/// The most notices one round claims; more wait for the next round.
const CLAIM_AT_MOST: i64 = 200;
/// A notice older than this when claimed (the server was down, or busy) is dropped: a push
/// about something long past would only confuse.
pub const STALE_AFTER: Duration = Duration::from_secs(300);
/// How long a push service keeps a message for a device that is offline (the `TTL` header):
/// a mention still matters the next morning, hardly after that.
pub const TTL_SECS: u64 = 24 * 3600;
/// How long one delivery may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries in flight at once.
const AT_ONCE: usize = 16;
/// The first wait after a failed delivery, doubled with each failure in a row, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// Every how many rounds the subscriptions of ended sessions are deleted (about hourly).
const SWEEP_EVERY: u64 = 3600;

/// What a push carries: JSON the service worker shows, and opens `url` on click.
#[derive(Debug, Serialize)]
pub struct PushPayload<'a> {
    pub room: PushRoom<'a>,
    pub author: &'a str,
    pub excerpt: &'a str,
    /// The message's number in its room.
    pub id: i32,
    pub url: String,
    /// "mention", "direct" or "all": why the user is told.
    pub reason: &'static str,
}

#[derive(Debug, Serialize)]
pub struct PushRoom<'a> {
    pub id: i32,
    /// A direct conversation is named for the other person: the author.
    pub name: &'a str,
}

impl<'a> From<&'a Notice> for PushPayload<'a> {
    fn from(notice: &'a Notice) -> Self {
        Self {
            room: PushRoom {
                id: notice.room_id,
                name: &notice.room,
            },
            author: &notice.author,
            excerpt: &notice.excerpt,
            id: notice.seq,
            url: format!("/rooms/{}?at={}", notice.room_id, notice.seq),
            reason: notice.reason.as_str(),
        }
    }
}

/// What a push service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Delivered,
    /// 404 or 410: the subscription expired or was withdrawn.
    Gone,
    Failed,
}

/// What one round did, for the log and the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub pushed: usize,
}

pub struct PushWorker {
    db: Db,
    vapid: Arc<Vapid>,
    polling: Arc<dyn Polling>,
    throttles: Arc<Throttles>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    /// The VAPID `sub`: the public URL if it is https, else a mailto: address.
    subject: String,
}

impl PushWorker {
    pub fn new(
        db: Db,
        vapid: Arc<Vapid>,
        polling: Arc<dyn Polling>,
        throttles: Arc<Throttles>,
        clock: Arc<dyn Clock>,
        public_origin: Option<&str>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            // A push service answers; it does not send the server elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let subject = match public_origin {
            Some(origin) if origin.starts_with("https://") => origin.to_owned(),
            Some(origin) => format!(
                "mailto:chatroom@{}",
                origin.split("://").nth(1).unwrap_or("localhost")
            ),
            None => "mailto:chatroom@localhost".to_owned(),
        };
        Ok(Self {
            db,
            vapid,
            polling,
            throttles,
            clock,
            http,
            subject,
        })
    }

    /// Runs a round every `EVERY` until the handle is aborted; a slow round delays the next.
    pub fn spawn(self) -> JoinHandle<()> {
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(EVERY);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut rounds: u64 = 0;
            loop {
                tick.tick().await;
                rounds += 1;
                if rounds.is_multiple_of(SWEEP_EVERY) {
                    self.sweep().await;
                }
                match self.round().await {
                    Err(err) if err.storage_fault().is_none() => {
                        log::warn!("web push: {err}");
                    }
                    _ => {}
                }
            }
        })
    }

    /// One round: claims notices, pushes those that should be.
    pub async fn round(&self) -> Result<Round, AppError> {
        let claimed = self
            .db
            .run(|conn| Ok(PushNotices::claim(conn, CLAIM_AT_MOST)?))
            .await?;
        let mut round = Round {
            claimed: claimed.len(),
            pushed: 0,
        };
        let wanted = self.wanted(claimed).await?;
        if wanted.is_empty() {
            return Ok(round);
        }
        let now_ms = self.clock.unix_millis();
        let users: Vec<i32> = unique(wanted.iter().map(|n| n.user_id));
        let subscriptions = self
            .db
            .run(move |conn| Ok(PushSubscription::deliverable(conn, &users, now_ms)?))
            .await?;
        let mut by_user: HashMap<i32, Vec<PushSubscription>> = HashMap::new();
        for sub in subscriptions {
            by_user.entry(sub.user_id).or_default().push(sub);
        }
        let mut sends = Vec::new();
        for notice in &wanted {
            let Some(subs) = by_user.get(&notice.user_id) else {
                continue;
            };
            if self.throttles.push(notice.user_id).await.is_err() {
                continue;
            }
            round.pushed += 1;
            let payload =
                serde_json::to_vec(&PushPayload::from(notice)).map_err(AppError::internal)?;
            for sub in subs {
                sends.push((sub.clone(), payload.clone()));
            }
        }
        let now_secs = self.clock.unix_secs();
        let outcomes: Vec<(PushSubscription, Delivery)> = futures_util::stream::iter(sends)
            .map(|(sub, payload)| async move {
                let delivery = self.send(&sub, &payload, now_secs).await;
                (sub, delivery)
            })
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        self.record(outcomes, now_ms).await?;
        Ok(round)
    }

    /// Of the claimed notices, those to push: fresh, and for users with no page open.
    async fn wanted(&self, claimed: Vec<Notice>) -> Result<Vec<Notice>, AppError> {
        let oldest = chrono::Utc::now().naive_utc()
            - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
        let fresh: Vec<Notice> = claimed
            .into_iter()
            .filter(|n| n.created_at >= oldest)
            .filter(|n| !self.polling.polled_within(n.user_id, PAGE_OPEN_WITHIN))
            .collect();
        if fresh.is_empty() || self.db.backend() != Backend::Postgres {
            return Ok(fresh);
        }
        // Another server may be answering the user's page.
        let users = unique(fresh.iter().map(|n| n.user_id));
        let since = self.clock.unix_millis() - millis(PAGE_OPEN_WITHIN);
        let present: HashSet<i32> = self
            .db
            .run(move |conn| Ok(PushNotices::present_elsewhere(conn, &users, since)?))
            .await?
            .into_iter()
            .collect();
        Ok(fresh
            .into_iter()
            .filter(|n| !present.contains(&n.user_id))
            .collect())
    }

    /// Posts one encrypted message to one subscription (RFC 8030 section 5).
    async fn send(&self, sub: &PushSubscription, payload: &[u8], now_secs: i64) -> Delivery {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (Ok(ua_public), Ok(auth)) = (
            URL_SAFE_NO_PAD.decode(&sub.p256dh),
            URL_SAFE_NO_PAD.decode(&sub.auth),
        ) else {
            return Delivery::Gone;
        };
        let body = match encrypt::encrypt(payload, &ua_public, &auth) {
            Ok(body) => body,
            Err(encrypt::EncryptError::BadKeys) => return Delivery::Gone,
            Err(encrypt::EncryptError::TooLong) => return Delivery::Failed,
        };
        let Ok(url) = url::Url::parse(&sub.endpoint) else {
            return Delivery::Gone;
        };
        let audience = url.origin().ascii_serialization();
        let answer = self
            .http
            .post(url)
            .header("TTL", TTL_SECS.to_string())
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header(
                "Authorization",
                self.vapid.authorization(&audience, &self.subject, now_secs),
            )
            .body(body)
            .send()
            .await;
        match answer {
            Ok(res) if res.status().is_success() => Delivery::Delivered,
            Ok(res) if matches!(res.status().as_u16(), 404 | 410) => Delivery::Gone,
            Ok(res) => {
                log::info!("web push to {audience} refused: {}", res.status());
                Delivery::Failed
            }
            Err(err) => {
                log::info!("web push to {audience} failed: {err}");
                Delivery::Failed
            }
        }
    }

    /// Deletes the subscriptions that are gone, backs off from those that failed, and
    /// starts the count again for those that had failed and got through.
    async fn record(
        &self,
        outcomes: Vec<(PushSubscription, Delivery)>,
        now_ms: i64,
    ) -> Result<(), AppError> {
        let mut changes = Vec::new();
        let mut seen = HashSet::new();
        for (sub, delivery) in outcomes {
            match delivery {
                Delivery::Delivered if sub.failures == 0 => {}
                _ if !seen.insert(sub.id) => {}
                Delivery::Delivered => changes.push((sub.id, None)),
                Delivery::Gone => changes.push((sub.id, Some(None))),
                Delivery::Failed => {
                    changes.push((sub.id, Some(Some(now_ms + millis(backoff(sub.failures))))));
                }
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        self.db
            .run(move |conn| {
                for (id, change) in changes {
                    match change {
                        None => PushSubscription::delivered(conn, id)?,
                        Some(None) => PushSubscription::gone(conn, id)?,
                        Some(Some(retry_after)) => PushSubscription::failed(conn, id, retry_after)?,
                    }
                }
                Ok(())
            })
            .await
    }

    /// Deletes the subscriptions of sessions that ended.
    async fn sweep(&self) {
        let now_secs = self.clock.unix_secs();
        match self
            .db
            .run(move |conn| Ok(PushSubscription::sweep(conn, now_secs)?))
            .await
        {
            Ok(0) => {}
            Ok(n) => log::info!("web push: forgot {n} subscriptions of ended sessions"),
            Err(err) => log::warn!("web push: cannot forget ended sessions' subscriptions: {err}"),
        }
    }
}

/// How long to wait after the `failures`+1-th failure in a row.
fn backoff(failures: i32) -> Duration {
    let doublings = u32::try_from(failures).unwrap_or(0).min(16);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

fn unique(ids: impl Iterator<Item = i32>) -> Vec<i32> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(*id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_in_a_row_wait_longer_each_time_up_to_a_ceiling() {
        assert_eq!(backoff(0), FIRST_BACKOFF);
        assert_eq!(backoff(1), FIRST_BACKOFF * 2);
        assert_eq!(backoff(3), FIRST_BACKOFF * 8);
        assert_eq!(backoff(40), MAX_BACKOFF);
        assert_eq!(backoff(-1), FIRST_BACKOFF);
    }
}
