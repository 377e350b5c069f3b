//! The bots table: accounts an administrator made for a program, which act through their API
//! tokens (never a password) and may have an outgoing webhook, with its last failure.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{ApiToken, ModelError, Notice, User, now};
use crate::db::DbConnection;
use crate::db::schema::{bots, notices, users};
use crate::domain::Username;

/// What a bot's account keeps as its password hash: not a bcrypt hash, so that no password
/// matches it (bcrypt refuses to compare against it).
pub const NO_PASSWORD: &str = "!";

/// A notice's `push_state` when its recipient is a bot: waiting for the outgoing webhook
/// worker (web push leaves it alone: it claims only 0).
pub const TO_DELIVER: i32 = 2;
/// Claimed by a server's outgoing webhook worker.
pub const DELIVERING: i32 = 3;
/// A bot's notice that no webhook hears of: a bot wrote the message.
pub const NOT_DELIVERED: i32 = 1;

/// A bot as the administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bot {
    pub user_id: i32,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub webhook_url: Option<String>,
    pub last_failure: Option<String>,
    pub last_failure_at: Option<NaiveDateTime>,
    /// Its account is disabled (an administrator did it on /admin/users): its token is refused
    /// and nothing is delivered to it.
    pub disabled: bool,
}

/// Where to deliver what a bot is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub user_id: i32,
    pub name: String,
    pub url: String,
}

type Row = (
    i32,
    String,
    NaiveDateTime,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

impl Bot {
    /// Makes the bot's account (one no password opens), its row, and its first API token (by
    /// the hash of its secret, under `token_name`), in one transaction.
    pub fn create(
        conn: &mut DbConnection,
        name: &Username,
        created_by: Option<i32>,
        token_name: &str,
        token_hash: &str,
    ) -> Result<Bot, ModelError> {
        conn.write_transaction(|conn| {
            let user = User::create(conn, name, NO_PASSWORD)?;
            diesel::update(users::table.find(user.id))
                .set(users::is_bot.eq(true))
                .execute(conn)?;
            diesel::insert_into(bots::table)
                .values((bots::user_id.eq(user.id), bots::created_by.eq(created_by)))
                .execute(conn)?;
            ApiToken::create(conn, user.id, token_name, token_hash)?;
            Ok(Bot {
                user_id: user.id,
                name: user.username,
                created_at: user.created_at,
                webhook_url: None,
                last_failure: None,
                last_failure_at: None,
                disabled: false,
            })
        })
    }

    /// Every bot, by name.
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Bot>> {
        Self::load(conn, None, None)
    }

    /// The bot of this name (in any letter case), if there is one.
    pub fn named(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Bot>> {
        let key = crate::domain::name_key(name);
        Ok(Self::load(conn, Some(&key), None)?.into_iter().next())
    }

    /// The bot whose account is `user_id`, if it is one.
    pub fn find(conn: &mut DbConnection, user_id: i32) -> QueryResult<Option<Bot>> {
        Ok(Self::load(conn, None, Some(user_id))?.into_iter().next())
    }

    fn load(
        conn: &mut DbConnection,
        key: Option<&str>,
        user_id: Option<i32>,
    ) -> QueryResult<Vec<Bot>> {
        let mut query = bots::table
            .inner_join(users::table.on(users::id.eq(bots::user_id)))
            .order(users::username_key)
            .select((
                bots::user_id,
                users::username,
                users::created_at,
                bots::webhook_url,
                bots::last_failure,
                bots::last_failure_at,
                users::disabled_at,
            ))
            .into_boxed();
        if let Some(key) = key {
            query = query.filter(users::username_key.eq(key.to_owned()));
        }
        if let Some(user_id) = user_id {
            query = query.filter(bots::user_id.eq(user_id));
        }
        let rows: Vec<Row> = query.load(conn)?;
        Ok(rows.into_iter().map(Self::from_row).collect())
    }

    fn from_row(row: Row) -> Bot {
        let (user_id, name, created_at, webhook_url, last_failure, last_failure_at, disabled) = row;
        Bot {
            user_id,
            name,
            created_at,
            webhook_url,
            last_failure,
            last_failure_at,
            disabled: disabled.is_some(),
        }
    }

    /// Deletes the bot: its row and its tokens go, and its account is disabled (ending any
    /// session), so that its entries stay in the logs under its name. Runs in the caller's
    /// transaction; false if there was no such bot.
    pub fn delete(conn: &mut DbConnection, user_id: i32) -> QueryResult<bool> {
        let gone = diesel::delete(bots::table.find(user_id)).execute(conn)?;
        if gone == 0 {
            return Ok(false);
        }
        ApiToken::revoke_all(conn, user_id)?;
        User::set_disabled(conn, user_id, true)?;
        Ok(true)
    }

    /// Sets (or, with none, clears) where the bot is told of what it is mentioned in; a new
    /// address starts without a failure. False if there is no such bot.
    pub fn set_webhook(
        conn: &mut DbConnection,
        user_id: i32,
        url: Option<&str>,
    ) -> QueryResult<bool> {
        let changed = diesel::update(bots::table.find(user_id))
            .set((
                bots::webhook_url.eq(url),
                bots::last_failure.eq(None::<String>),
                bots::last_failure_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(changed == 1)
    }

    /// Keeps why the last delivery to the bot's webhook failed, for /admin.
    pub fn failed(conn: &mut DbConnection, user_id: i32, why: &str) -> QueryResult<()> {
        diesel::update(bots::table.find(user_id))
            .set((bots::last_failure.eq(why), bots::last_failure_at.eq(now())))
            .execute(conn)
            .map(drop)
    }

    /// A delivery got through: the last failure is forgotten.
    pub fn delivered(conn: &mut DbConnection, user_id: i32) -> QueryResult<()> {
        diesel::update(
            bots::table
                .find(user_id)
                .filter(bots::last_failure.is_not_null()),
        )
        .set((
            bots::last_failure.eq(None::<String>),
            bots::last_failure_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(drop)
    }

    /// The webhooks of these accounts that are enabled bots with one.
    pub fn hooks(conn: &mut DbConnection, user_ids: &[i32]) -> QueryResult<Vec<Hook>> {
        let rows: Vec<(i32, String, String)> = bots::table
            .inner_join(users::table.on(users::id.eq(bots::user_id)))
            .filter(bots::user_id.eq_any(user_ids))
            .filter(users::disabled_at.is_null())
            .filter(bots::webhook_url.is_not_null())
            .select((
                bots::user_id,
                users::username,
                bots::webhook_url.assume_not_null(),
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(user_id, name, url)| Hook { user_id, name, url })
            .collect())
    }
}

/// The outgoing webhook worker's side of `notices`.
pub struct BotNotices;

impl BotNotices {
    /// Claims at most `limit` bots' notices that no worker took yet, oldest first (see
    /// `Notice::claim`: two servers never take the same one).
    pub fn claim(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<Notice>> {
        let oldest: Vec<i32> = notices::table
            .filter(notices::push_state.eq(TO_DELIVER))
            .order(notices::id)
            .limit(limit)
            .select(notices::id)
            .load(conn)?;
        Notice::claim(conn, oldest, (TO_DELIVER, DELIVERING))
    }
}
