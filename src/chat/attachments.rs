//! Files in messages: an upload becomes a message that carries its file (stored with it, in
//! the same commit, in the room's order), and a file is served to whoever may read its room.

use super::Chat;
use crate::auth::CurrentUser;
use crate::blocking::NotRun;
use crate::domain::{ClientId, FileName, MessageText};
use crate::errors::AppError;
use crate::media;
use crate::models::attachment::{Content, Form, NewAttachment};
use crate::models::{Attachment, LogEntry, ModelError, NewPost, Room};
use crate::throttle::RetryAfter;

/// Images prepared at once (each may decode up to `media::MAX_PIXELS`), and waiting: more are
/// refused with 503 rather than held.
pub(super) const MEDIA_THREADS: usize = 2;
pub(super) const MEDIA_QUEUE: usize = 8;

/// A file someone sends, read from their request.
pub struct Upload {
    pub name: FileName,
    pub bytes: Vec<u8>,
    /// What they wrote with it, perhaps nothing.
    pub text: MessageText,
    pub client_id: Option<ClientId>,
}

impl Chat {
    /// The largest file one upload may carry, in bytes.
    pub fn attachment_max_bytes(&self) -> usize {
        self.attachment_max_bytes
    }

    /// Stores a member's file with its message, in the room's order, and answers the message
    /// once it is committed. Counts against the message rate limit. What the file is comes
    /// from its bytes; an image loses its metadata and gains a thumbnail, on threads of their
    /// own, never on the async workers.
    ///
    /// `upload` reads the request's body: it is awaited only once the user may send here and
    /// now (the rate limit, the room), so that a refused upload is answered before its body is
    /// read.
    pub async fn upload(
        &self,
        user: &CurrentUser,
        room_id: i32,
        upload: impl Future<Output = Result<Upload, AppError>>,
    ) -> Result<LogEntry, AppError> {
        self.count_message(user).await?;
        let user_id = user.id;
        // Only a member's file is worth reading (the post checks again as it writes).
        self.db
            .run(move |conn| Ok(Room::find_as_member(conn, room_id, user_id).map(drop)?))
            .await?;
        let Upload {
            name,
            bytes,
            text,
            client_id,
        } = upload.await?;
        let prepared = self
            .media
            .run(move || media::prepare(bytes))
            .await
            .map_err(|not_run| match not_run {
                NotRun::Full => AppError::Busy(RetryAfter(std::time::Duration::from_secs(2))),
                NotRun::Stopped => AppError::internal(not_run),
            })?
            .map_err(|refused| AppError::BadRequest(refused.to_string()))?;
        let accounts = self.mentionable(&text).await?;
        let post = NewPost::mentioning(room_id, user_id, text, client_id, &accounts)
            .carrying(NewAttachment { name, prepared });
        let message = self.poster.post(post).await?;
        self.live.presence.sent(room_id, user_id).await;
        Ok(message)
    }

    /// A file (or an image's thumbnail) for someone who may read its room (any account for a
    /// public room, the two people of a direct conversation); 404 for anyone else, and once
    /// the room is deleted, the same as for a file that does not exist.
    pub async fn attachment(
        &self,
        user: &CurrentUser,
        id: i32,
        form: Form,
    ) -> Result<Content, AppError> {
        let user_id = user.id;
        self.db
            .run(move |conn| {
                let room_id = Attachment::room_of(conn, id)?;
                match Room::find(conn, room_id, user_id) {
                    Ok(_) => Ok(Attachment::content(conn, id, form)?),
                    Err(ModelError::Deleted) => Err(ModelError::NotFound.into()),
                    Err(err) => Err(err.into()),
                }
            })
            .await
    }
}
