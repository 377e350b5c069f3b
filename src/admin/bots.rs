//! Bots: accounts an administrator makes for a program, which acts with the API token shown
//! when the bot is made, and may be told through an outgoing webhook when it is mentioned or
//! written to. Each operation is written once here for /admin and `chatroom bots` alike, and
//! audited in its own transaction.

use super::{Actor, Admin, actor};
use crate::auth::Administrator;
use crate::db::DbConnection;
use crate::domain::{Username, WebhookUrl};
use crate::errors::AppError;
use crate::models::ModelError;
use crate::models::audit::AuditEntry;
use crate::models::bot::Bot;

/// The name of the token a bot is made with, in its token list.
pub const FIRST_TOKEN: &str = "bot";

/// A bot just made, with its token's secret: shown this once, only its hash is kept.
pub struct NewBot {
    pub bot: Bot,
    pub token: String,
}

/// Makes a bot named `name`, with its first API token.
pub fn create_bot(
    conn: &mut DbConnection,
    actor: &Actor,
    name: &Username,
) -> Result<NewBot, ModelError> {
    let (token, hash) = crate::accounts::mint();
    conn.write_transaction(|conn| {
        let bot = Bot::create(conn, name, actor.id, FIRST_TOKEN, &hash)?;
        AuditEntry::record(conn, &actor.name, "created bot", &bot.name)?;
        Ok(NewBot {
            bot,
            token: token.clone(),
        })
    })
}

/// Every bot, by name.
pub fn bots(conn: &mut DbConnection) -> Result<Vec<Bot>, ModelError> {
    Ok(Bot::all(conn)?)
}

/// Deletes the bot: its tokens stop working and its account is disabled, while what it
/// wrote stays in the logs under its name.
pub fn delete_bot(conn: &mut DbConnection, actor: &Actor, user_id: i32) -> Result<Bot, ModelError> {
    conn.write_transaction(|conn| {
        let bot = Bot::find(conn, user_id)?.ok_or(ModelError::NotFound)?;
        Bot::delete(conn, bot.user_id)?;
        AuditEntry::record(conn, &actor.name, "deleted bot", &bot.name)?;
        Ok(bot)
    })
}

/// Sets where the bot is told of what it is mentioned in, or with none stops telling it.
pub fn set_bot_webhook(
    conn: &mut DbConnection,
    actor: &Actor,
    user_id: i32,
    url: Option<&WebhookUrl>,
) -> Result<Bot, ModelError> {
    conn.write_transaction(|conn| {
        let url = url.map(WebhookUrl::as_str);
        if !Bot::set_webhook(conn, user_id, url)? {
            return Err(ModelError::NotFound);
        }
        let bot = Bot::find(conn, user_id)?.ok_or(ModelError::NotFound)?;
        let action = match url {
            Some(_) => "set bot webhook",
            None => "cleared bot webhook",
        };
        AuditEntry::record(conn, &actor.name, action, &bot.name)?;
        Ok(bot)
    })
}

/// The bot of this name, in any letter case.
pub fn bot_named(conn: &mut DbConnection, name: &str) -> Result<Bot, ModelError> {
    Bot::named(conn, name)?.ok_or(ModelError::NotFound)
}

impl Admin {
    /// Makes a bot; its token is known only now.
    pub async fn create_bot(&self, admin: &Administrator, name: &str) -> Result<NewBot, AppError> {
        let name = Username::parse(name)?;
        let actor = actor(admin);
        let made = self
            .db
            .run(move |conn| Ok(create_bot(conn, &actor, &name)?))
            .await?;
        log::info!("{} made the bot {}", admin.username, made.bot.name);
        Ok(made)
    }

    /// Every bot, by name.
    pub async fn bots(&self) -> Result<Vec<Bot>, AppError> {
        self.db.run(|conn| Ok(bots(conn)?)).await
    }

    /// Deletes a bot (by its account's id): 404 if it is not one.
    pub async fn delete_bot(&self, admin: &Administrator, user_id: i32) -> Result<Bot, AppError> {
        let actor = actor(admin);
        let bot = self
            .db
            .run(move |conn| Ok(delete_bot(conn, &actor, user_id)?))
            .await?;
        self.accounts.all_sessions_ended(bot.user_id).await;
        log::info!("{} deleted the bot {}", admin.username, bot.name);
        Ok(bot)
    }

    /// Sets (a URL) or clears (none, or a blank one) a bot's outgoing webhook: 400 for
    /// anything but an absolute http or https URL.
    pub async fn set_bot_webhook(
        &self,
        admin: &Administrator,
        user_id: i32,
        url: Option<&str>,
    ) -> Result<Bot, AppError> {
        let url = match url.map(str::trim) {
            Some(url) if !url.is_empty() => Some(WebhookUrl::parse(url)?),
            _ => None,
        };
        let actor = actor(admin);
        self.db
            .run(move |conn| Ok(set_bot_webhook(conn, &actor, user_id, url.as_ref())?))
            .await
    }
}
