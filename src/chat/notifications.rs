//! Mentions and how loud each room is: who a message's `@name`s are, each person's level per
//! room, and what needs them elsewhere (their attention, from memory; see `live::attention`).

use super::Chat;
use crate::auth::CurrentUser;
use crate::domain::MessageText;
use crate::domain::mention::{self, Accounts};
use crate::errors::AppError;
use crate::live::Attention;
use crate::models::{Level, Room};

impl Chat {
    /// The accounts a message's `@name`s may mention: none without asking the database when
    /// it has no `@`.
    pub(super) async fn mentionable(&self, text: &MessageText) -> Result<Accounts, AppError> {
        let keys = mention::keys(text.as_str());
        if keys.is_empty() {
            return Ok(Accounts::new());
        }
        self.db
            .run(move |conn| Ok(crate::models::User::mentionable(conn, &keys)?))
            .await
    }

    /// Sets how loud a room is for the user: any room they may read.
    pub async fn set_level(
        &self,
        user: &CurrentUser,
        room_id: i32,
        level: Level,
    ) -> Result<(), AppError> {
        let user_id = user.id;
        self.db
            .run(move |conn| {
                Room::find(conn, room_id, user_id)?;
                Ok(Level::set(conn, user_id, room_id, level)?)
            })
            .await
    }

    /// What needs the user outside `here` (a room and the poll's cursor, or the lobby):
    /// from memory, which starts them from the database at their first poll on this server.
    pub(crate) async fn attention(
        &self,
        user_id: i32,
        here: Option<(i32, i32)>,
    ) -> Result<Attention, AppError> {
        if let Some(attention) = self.live.attention.poll(user_id, here) {
            return Ok(attention);
        }
        self.reload_attention(user_id).await?;
        Ok(self.live.attention.poll(user_id, here).unwrap_or_default())
    }

    /// Reads the user's unread notices from the database into memory: at their first poll
    /// here, and at each lobby (they may have read rooms through another server).
    pub(super) async fn reload_attention(&self, user_id: i32) -> Result<(), AppError> {
        self.attention_loader.load(user_id).await
    }

    /// The user has seen the room up to `seq`: their read mark, and their attention.
    pub(super) fn saw(&self, user_id: i32, room_id: i32, seq: i32) {
        self.live.reads.saw(user_id, room_id, seq);
        self.live.attention.read(user_id, room_id, seq);
    }
}
