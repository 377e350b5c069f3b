//! The attachments table: the files that messages carry, stored in the database itself, so
//! that every server and every backup has them and nothing else must be shared.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::DbConnection;
use crate::db::schema::{attachments, log_entries};
use crate::domain::FileName;
use crate::media::{self, Prepared};
use crate::models::ModelError;

/// A message's file as readers see it: everything but its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: i32,
    pub name: String,
    /// Bytes, as stored.
    pub size: i64,
    pub content_type: String,
    /// For an image shown inline: its size in pixels, upright.
    pub dimensions: Option<(i32, i32)>,
}

impl Attachment {
    /// Where the file is fetched (for whoever may read its room).
    pub fn url(&self) -> String {
        format!("/attachments/{}", self.id)
    }

    /// Where an image's thumbnail is fetched; none for other files.
    pub fn thumbnail_url(&self) -> Option<String> {
        self.is_image()
            .then(|| format!("/attachments/{}/thumbnail", self.id))
    }

    /// Shown inline, as a picture, rather than as a file to download.
    pub fn is_image(&self) -> bool {
        self.dimensions.is_some()
    }

    /// Only the id, for an entry read from its row: `fill` adds the rest.
    pub(crate) fn unread(id: i32) -> Self {
        Self {
            id,
            name: String::new(),
            size: 0,
            content_type: String::new(),
            dimensions: None,
        }
    }
}

/// A file on its way into the database with its message.
#[derive(Debug)]
pub struct NewAttachment {
    pub name: FileName,
    pub prepared: Prepared,
}

/// A file as it is served: its bytes, and what the answer's headers say of them.
#[derive(Debug)]
pub struct Content {
    pub bytes: Vec<u8>,
    pub content_type: String,
    pub name: String,
    /// A strong validator: a hash of these very bytes.
    pub etag: String,
    /// An image the page shows (served inline); anything else is a download.
    pub inline: bool,
}

/// Which of a file's two forms to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Original,
    /// An image's thumbnail: the original when it fits the thumbnail box already.
    Thumbnail,
}

#[derive(Insertable)]
#[diesel(table_name = attachments)]
struct NewRow<'a> {
    room_id: i32,
    name: &'a str,
    content_type: &'a str,
    size: i64,
    width: Option<i32>,
    height: Option<i32>,
    etag: String,
    data: &'a [u8],
    thumbnail: Option<&'a [u8]>,
    thumbnail_type: Option<&'a str>,
    created_at: NaiveDateTime,
}

/// What a message shows of its file: id, name, size, type, width, height.
type Listed = (i32, String, i64, String, Option<i32>, Option<i32>);

/// What serving a file reads before its bytes: name, type, width, ETag, thumbnail type.
type Described = (String, String, Option<i32>, String, Option<String>);

impl NewAttachment {
    /// Writes the file into the room (inside the message's transaction) and answers it as
    /// its message will show it.
    pub(crate) fn insert(
        &self,
        conn: &mut DbConnection,
        room_id: i32,
        now: NaiveDateTime,
    ) -> QueryResult<Attachment> {
        let Prepared {
            bytes,
            content_type,
            image,
        } = &self.prepared;
        let pixels = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        let dimensions = image
            .as_ref()
            .map(|picture| (pixels(picture.width), pixels(picture.height)));
        let thumbnail = image.as_ref().and_then(|p| p.thumbnail.as_ref());
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let row = NewRow {
            room_id,
            name: self.name.as_str(),
            content_type,
            size,
            width: dimensions.map(|d| d.0),
            height: dimensions.map(|d| d.1),
            etag: etag_of(bytes),
            data: bytes,
            thumbnail: thumbnail.map(|t| t.bytes.as_slice()),
            thumbnail_type: thumbnail.map(|t| t.content_type),
            created_at: now,
        };
        let id = diesel::insert_into(attachments::table)
            .values(&row)
            .returning(attachments::id)
            .get_result(conn)?;
        Ok(Attachment {
            id,
            name: self.name.as_str().to_owned(),
            size,
            content_type: (*content_type).to_owned(),
            dimensions,
        })
    }
}

/// A strong ETag (quoted) for these bytes: the start of their SHA-256.
fn etag_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

impl Attachment {
    /// The room whose message carries the file; `NotFound` for no such file (its message
    /// was deleted, or it never existed).
    pub fn room_of(conn: &mut DbConnection, id: i32) -> Result<i32, ModelError> {
        Ok(attachments::table
            .find(id)
            .select(attachments::room_id)
            .first(conn)?)
    }

    /// The file, in the form asked for (whoever asks must have been found to read its room:
    /// see `chat::attachments`).
    pub fn content(conn: &mut DbConnection, id: i32, form: Form) -> Result<Content, ModelError> {
        let (name, content_type, width, etag, thumbnail_type): Described = attachments::table
            .find(id)
            .select((
                attachments::name,
                attachments::content_type,
                attachments::width,
                attachments::etag,
                attachments::thumbnail_type,
            ))
            .first(conn)?;
        let inline = width.is_some() && media::shown_inline(&content_type);
        let content = |bytes, content_type, etag| Content {
            bytes,
            content_type,
            name,
            etag,
            inline,
        };
        match (form, thumbnail_type) {
            (Form::Thumbnail, _) if !inline => Err(ModelError::NotFound),
            (Form::Thumbnail, Some(thumbnail_type)) => {
                let bytes: Option<Vec<u8>> = attachments::table
                    .find(id)
                    .select(attachments::thumbnail)
                    .first(conn)?;
                // Made from the original alone: its validator follows the original's.
                let etag = format!("{}-t\"", etag.trim_end_matches('"'));
                Ok(content(bytes.unwrap_or_default(), thumbnail_type, etag))
            }
            _ => {
                let bytes = attachments::table
                    .find(id)
                    .select(attachments::data)
                    .first(conn)?;
                Ok(content(bytes, content_type, etag))
            }
        }
    }

    /// Fills in the attachments of entries read from their rows (one query for them all,
    /// none when no entry carries a file).
    pub(crate) fn fill(
        conn: &mut DbConnection,
        attachments: Vec<&mut Attachment>,
    ) -> QueryResult<()> {
        if attachments.is_empty() {
            return Ok(());
        }
        let ids: Vec<i32> = attachments.iter().map(|a| a.id).collect();
        let rows: Vec<Listed> = attachments::table
            .filter(attachments::id.eq_any(&ids))
            .select((
                attachments::id,
                attachments::name,
                attachments::size,
                attachments::content_type,
                attachments::width,
                attachments::height,
            ))
            .load(conn)?;
        let mut rows: std::collections::HashMap<i32, _> =
            rows.into_iter().map(|row| (row.0, row)).collect();
        for attachment in attachments {
            if let Some((_, name, size, content_type, width, height)) = rows.remove(&attachment.id)
            {
                *attachment = Attachment {
                    id: attachment.id,
                    name,
                    size,
                    content_type,
                    dimensions: width.zip(height),
                };
            }
        }
        Ok(())
    }

    /// Deletes the file a message carries (inside the deletion's transaction).
    pub(crate) fn delete_of_message(
        conn: &mut DbConnection,
        room_id: i32,
        seq: i32,
    ) -> QueryResult<()> {
        let carried: Option<Option<i32>> = log_entries::table
            .filter(log_entries::room_id.eq(room_id))
            .filter(log_entries::seq.eq(seq))
            .select(log_entries::attachment_id)
            .first(conn)
            .optional()?;
        if let Some(Some(id)) = carried {
            diesel::delete(attachments::table.find(id)).execute(conn)?;
        }
        Ok(())
    }
}
