//! Outgoing webhooks, one worker per server: every `EVERY` it claims the notices written for
//! bots (a mention, or a message in a direct conversation with one; see `BotNotices::claim`,
//! so that two servers never deliver the same one), POSTs each to its bot's webhook URL, keeps
//! the bot's last failure for /admin, and posts a reply back into the room as the bot. Never
//! in a request's path. Messages written by bots never reach here (see `Notice::record`), so
//! bots cannot answer each other without end.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::rt::task::JoinHandle;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::time::MissedTickBehavior;

use crate::auth::CurrentUser;
use crate::chat::Chat;
use crate::db::Db;
use crate::domain::MessageText;
use crate::errors::AppError;
use crate::json::EntryJson;
use crate::models::bot::{Bot, BotNotices, Hook};
use crate::models::{LogEntry, Notice};

/// How often the worker looks for notices.
pub const EVERY: Duration = Duration::from_millis(500);
/// The most notices one round claims; more wait for the next round.
const CLAIM_AT_MOST: i64 = 100;
/// How long a bot may take to answer one delivery.
pub const TIMEOUT: Duration = Duration::from_secs(7);
/// Deliveries in flight at once to one bot.
const AT_ONCE_PER_BOT: usize = 4;
/// A notice older than this when claimed (the server was down) is dropped: a bot answering
/// something long past would only confuse the room.
const STALE_AFTER: Duration = Duration::from_secs(300);
/// The longest reply read from a bot; a longer one is a failure.
const REPLY_MAX_BYTES: usize = 64 * 1024;

/// What a bot's webhook is sent: `{"room": {"id", "name"}, "message": <entry>, "author"}`.
#[derive(Serialize)]
struct Payload<'a> {
    room: PayloadRoom<'a>,
    message: EntryJson<'a>,
    author: &'a str,
}

#[derive(Serialize)]
struct PayloadRoom<'a> {
    id: i32,
    /// A direct conversation is named for the other person: the author.
    name: &'a str,
}

/// One POST to make.
struct Delivery {
    room_id: i32,
    body: Vec<u8>,
}

/// What a bot's webhook did with one delivery: took it (with a reply to post, or none), or
/// failed, and why.
type Outcome = Result<Option<String>, String>;

/// What one round did, for the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub delivered: usize,
    pub failed: usize,
}

pub struct OutgoingWorker {
    db: Db,
    chat: Arc<Chat>,
    http: reqwest::Client,
}

impl OutgoingWorker {
    pub fn new(db: Db, chat: Arc<Chat>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // A webhook answers; it does not send the server elsewhere (perhaps inside).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()?;
        Ok(Self { db, chat, http })
    }

    /// Runs a round every `EVERY` until the handle is aborted; a slow round delays the next.
    pub fn spawn(self) -> JoinHandle<()> {
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(EVERY);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.round().await {
                    Err(err) if err.storage_fault().is_none() => {
                        log::warn!("outgoing webhooks: {err}");
                    }
                    _ => {}
                }
            }
        })
    }

    /// One round: claims the bots' notices and delivers those whose bot has a webhook, up to
    /// `AT_ONCE_PER_BOT` at a time for each bot, all bots at once.
    pub async fn round(&self) -> Result<Round, AppError> {
        let claimed = self
            .db
            .run(|conn| Ok(BotNotices::claim(conn, CLAIM_AT_MOST)?))
            .await?;
        let mut round = Round {
            claimed: claimed.len(),
            ..Round::default()
        };
        let oldest =
            crate::models::now() - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
        let fresh: Vec<Notice> = claimed
            .into_iter()
            .filter(|n| n.created_at >= oldest)
            .collect();
        if fresh.is_empty() {
            return Ok(round);
        }
        let bots: Vec<i32> = fresh.iter().map(|n| n.user_id).collect();
        let ranges: Vec<(i32, i32, i32)> = fresh
            .iter()
            .map(|n| (n.room_id, n.seq - 1, n.seq))
            .collect();
        let (hooks, entries) = self
            .db
            .run(move |conn| {
                let hooks = Bot::hooks(conn, &bots)?;
                let entries = LogEntry::between_each(conn, &ranges)?;
                Ok((hooks, entries))
            })
            .await?;
        let entries: HashMap<(i32, i32), &LogEntry> =
            entries.iter().map(|e| ((e.room_id, e.seq), e)).collect();
        let hooks: HashMap<i32, &Hook> = hooks.iter().map(|h| (h.user_id, h)).collect();
        let mut per_bot: HashMap<i32, Vec<Delivery>> = HashMap::new();
        for notice in &fresh {
            let (Some(_), Some(entry)) = (
                hooks.get(&notice.user_id),
                entries.get(&(notice.room_id, notice.seq)),
            ) else {
                continue;
            };
            if entry.deleted || entry.bot {
                continue;
            }
            let payload = Payload {
                room: PayloadRoom {
                    id: notice.room_id,
                    name: &notice.room,
                },
                message: EntryJson::from(*entry),
                author: &entry.author,
            };
            let body = serde_json::to_vec(&payload).map_err(AppError::internal)?;
            per_bot.entry(notice.user_id).or_default().push(Delivery {
                room_id: notice.room_id,
                body,
            });
        }
        let results = futures_util::future::join_all(per_bot.into_iter().filter_map(
            |(bot_id, deliveries)| {
                let hook = *hooks.get(&bot_id)?;
                Some(async move {
                    let outcomes: Vec<(i32, Outcome)> = futures_util::stream::iter(deliveries)
                        .map(|d| async move { (d.room_id, self.send(hook, d.body).await) })
                        .buffer_unordered(AT_ONCE_PER_BOT)
                        .collect()
                        .await;
                    (hook, outcomes)
                })
            },
        ))
        .await;
        for (hook, outcomes) in results {
            for (room_id, outcome) in outcomes {
                let outcome = match outcome {
                    Ok(Some(reply)) => self.reply(hook, room_id, &reply).await,
                    other => other.map(drop),
                };
                match &outcome {
                    Ok(()) => round.delivered += 1,
                    Err(_) => round.failed += 1,
                }
                self.record(hook, outcome).await?;
            }
        }
        Ok(round)
    }

    /// POSTs one delivery to the bot's webhook: its reply's text if it answered with one.
    async fn send(&self, hook: &Hook, body: Vec<u8>) -> Outcome {
        let answer = self
            .http
            .post(&hook.url)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("chatroom/", env!("CARGO_PKG_VERSION")),
            )
            .body(body)
            .send()
            .await;
        let mut res = match answer {
            Ok(res) if res.status().is_success() => res,
            Ok(res) if res.status().is_redirection() => {
                return Err(format!(
                    "answered {} (redirects are not followed)",
                    res.status()
                ));
            }
            Ok(res) => return Err(format!("answered {}", res.status())),
            Err(err) if err.is_timeout() => {
                return Err(format!("no answer within {} s", TIMEOUT.as_secs()));
            }
            Err(err) if err.is_connect() => return Err("cannot connect".into()),
            Err(err) => return Err(format!("cannot deliver: {}", causes(&err))),
        };
        let kind = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let mut body = Vec::new();
        loop {
            match res.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= REPLY_MAX_BYTES => {
                    body.extend_from_slice(&chunk);
                }
                Ok(Some(_)) => return Err(format!("replied with over {REPLY_MAX_BYTES} bytes")),
                Ok(None) => break,
                Err(err) if err.is_timeout() => {
                    return Err(format!("no whole reply within {} s", TIMEOUT.as_secs()));
                }
                Err(err) => return Err(format!("cannot read the reply: {err}")),
            }
        }
        Ok(reply_text(&kind, &body))
    }

    /// Posts the bot's reply into the room, as the bot.
    async fn reply(&self, hook: &Hook, room_id: i32, text: &str) -> Result<(), String> {
        let text = MessageText::parse(text)
            .map_err(|err| format!("reply refused: {}", AppError::from(err).message()))?;
        let bot = CurrentUser {
            id: hook.user_id,
            username: hook.name.clone(),
        };
        self.chat
            .post(&bot, room_id, text, None, None)
            .await
            .map(drop)
            .map_err(|err| format!("reply refused: {}", err.message()))
    }

    /// Keeps a failure as the bot's last (and logs it), or forgets the last on a success.
    async fn record(&self, hook: &Hook, outcome: Result<(), String>) -> Result<(), AppError> {
        let bot_id = hook.user_id;
        match outcome {
            Ok(()) => {
                self.db
                    .run(move |conn| Ok(Bot::delivered(conn, bot_id)?))
                    .await
            }
            Err(why) => {
                log::warn!("outgoing webhook of bot {}: {why}", hook.name);
                self.db
                    .run(move |conn| Ok(Bot::failed(conn, bot_id, &why)?))
                    .await
            }
        }
    }
}

/// An error with its causes, which say what went wrong ("connection reset"): reqwest's own
/// words only say that sending failed.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// The text a bot's 2xx answer asks to post: a `text/plain` body, or `{"text": "..."}` in
/// JSON; none for anything else (an empty body, other JSON).
fn reply_text(content_type: &str, body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Reply {
        text: String,
    }
    let text = match content_type {
        "text/plain" => String::from_utf8_lossy(body).into_owned(),
        "application/json" => serde_json::from_slice::<Reply>(body).ok()?.text,
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_plain_text_or_a_json_text_and_nothing_else() {
        assert_eq!(reply_text("text/plain", b"hi"), Some("hi".into()));
        assert_eq!(
            reply_text("application/json", br#"{"text": "echo: hi"}"#),
            Some("echo: hi".into())
        );
        assert_eq!(reply_text("text/plain", b"  \n"), None);
        assert_eq!(reply_text("application/json", br#"{"ok": true}"#), None);
        assert_eq!(reply_text("application/json", b"not json"), None);
        assert_eq!(reply_text("text/html", b"<p>hi</p>"), None);
        assert_eq!(reply_text("", b"hi"), None);
    }
}
