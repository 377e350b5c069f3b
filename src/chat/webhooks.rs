//! Incoming webhooks: a public room's creator (or an administrator) makes a secret URL, and
//! whoever holds it (a CI server, a script) posts into the room under the hook's name. The
//! key in the URL is the only credential: no session, no account of the poster's own.

use rand::distr::{Alphanumeric, SampleString};

use super::Chat;
use crate::auth::{CurrentUser, secret_hash};
use crate::db::DbConnection;
use crate::domain::{Label, MessageText};
use crate::errors::AppError;
use crate::models::webhook::MAX_PER_ROOM;
use crate::models::{NewPost, Room, User, Webhook};

/// A key's random characters: 43 alphanumerics, about 256 bits.
const KEY_CHARS: usize = 43;

/// A hook just made: its key (and so its URL) is shown this once.
pub struct NewWebhook {
    pub hook: Webhook,
    pub key: String,
}

/// Who may make, list and revoke a room's hooks: its creator, or an administrator (who
/// moderates every public room). A direct conversation has none: nobody moderates it, and a
/// stranger's messages in it would be no longer between two people.
pub(super) fn may_manage(room: &Room, user_id: i32, administrator: bool) -> bool {
    !room.is_direct && (room.creator_id == user_id || administrator)
}

/// The room, if the user may manage its hooks: 404 for a room they cannot see, 410 for one
/// deleted, 403 for one they can read but not manage.
fn managed(conn: &mut DbConnection, room_id: i32, user_id: i32) -> Result<Room, AppError> {
    let room = Room::find(conn, room_id, user_id)?;
    if room.is_direct {
        return Err(AppError::forbidden(
            "direct_conversation",
            "A direct conversation has no webhooks.",
        ));
    }
    let administrator = User::administering(conn, user_id)?.is_some();
    if !may_manage(&room, user_id, administrator) {
        return Err(AppError::forbidden(
            "not_room_creator",
            "Only the room's creator or an administrator can manage its webhooks.",
        ));
    }
    Ok(room)
}

impl Chat {
    /// Makes a hook into the room, named as its messages will be signed.
    pub async fn create_webhook(
        &self,
        user: &CurrentUser,
        room_id: i32,
        name: Label,
    ) -> Result<NewWebhook, AppError> {
        let user_id = user.id;
        let username = user.username.clone();
        let key = Alphanumeric.sample_string(&mut rand::rng(), KEY_CHARS);
        let hash = secret_hash(&key);
        let hook = self
            .db
            .run(move |conn| {
                conn.write_transaction(|conn| {
                    managed(conn, room_id, user_id)?;
                    if Webhook::count(conn, room_id)? >= MAX_PER_ROOM {
                        return Err(AppError::Conflict(format!(
                            "A room holds at most {MAX_PER_ROOM} webhooks: revoke one first."
                        )));
                    }
                    let maker = (user_id, username.as_str());
                    Ok(Webhook::create(conn, room_id, maker, name.as_str(), &hash)?)
                })
            })
            .await?;
        log::info!(
            "{} made webhook {} in room {room_id}",
            user.username,
            hook.id
        );
        Ok(NewWebhook { hook, key })
    }

    /// The room's hooks, newest first, without their keys.
    pub async fn webhooks(
        &self,
        user: &CurrentUser,
        room_id: i32,
    ) -> Result<Vec<Webhook>, AppError> {
        let user_id = user.id;
        self.db
            .run(move |conn| {
                managed(conn, room_id, user_id)?;
                Ok(Webhook::of_room(conn, room_id)?)
            })
            .await
    }

    /// Revokes one of the room's hooks: its URL stops working at once, on every server.
    /// Another room's hook, or one already revoked, is not found.
    pub async fn revoke_webhook(
        &self,
        user: &CurrentUser,
        room_id: i32,
        hook_id: i32,
    ) -> Result<(), AppError> {
        let user_id = user.id;
        let revoked = self
            .db
            .run(move |conn| {
                managed(conn, room_id, user_id)?;
                Ok(Webhook::revoke(conn, room_id, hook_id)?)
            })
            .await?;
        if !revoked {
            return Err(AppError::NotFound);
        }
        log::info!(
            "{} revoked webhook {hook_id} of room {room_id}",
            user.username
        );
        Ok(())
    }

    /// Posts `text` into the hook's room under the hook's name, for its maker, who answers
    /// for it; an `@name` in it notifies as anyone's would. A key that is unknown, revoked,
    /// or whose room or maker is gone, is not found; each hook has its own rate limit.
    pub async fn post_by_webhook(&self, key: &str, text: MessageText) -> Result<i32, AppError> {
        if !looks_like_key(key) {
            return Err(AppError::NotFound);
        }
        let hash = secret_hash(key);
        let hook = self
            .db
            .run(move |conn| Ok(Webhook::by_key_hash(conn, &hash)?))
            .await?
            .ok_or(AppError::NotFound)?;
        self.throttles
            .webhook(hook.id)
            .await
            .map_err(AppError::TooManyRequests)?;
        let accounts = self.mentionable(&text).await?;
        let post = NewPost::mentioning(hook.room_id, hook.created_by, text, None, &accounts)
            .posted_as(hook.name);
        let message = self.poster.post(post).await?;
        Ok(message.seq)
    }
}

/// A string that cannot be a key is refused without asking the database.
fn looks_like_key(key: &str) -> bool {
    key.len() == KEY_CHARS && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_strings_shaped_like_keys_are_looked_up() {
        let key = Alphanumeric.sample_string(&mut rand::rng(), KEY_CHARS);
        assert!(looks_like_key(&key));
        assert!(!looks_like_key(""));
        assert!(!looks_like_key(&key[1..]));
        assert!(!looks_like_key(&format!("{key}a")));
        assert!(!looks_like_key(&format!("{}-", &key[1..])));
    }
}
