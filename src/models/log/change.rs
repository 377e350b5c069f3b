//! Changing a message after it was sent: its author edits it, members react to it, and it may
//! be deleted. Each change updates the message's current state and appends an entry that tells
//! the pollers, in one transaction, so the log and the state never disagree.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::write::{Draft, searched_text};
use crate::db::DbConnection;
use crate::db::schema::{log_entries, reactions};
use crate::domain::markdown::Rendered;
use crate::domain::{MessageText, Reaction};
use crate::models::attachment::Attachment;
use crate::models::audit::AuditEntry;
use crate::models::deletion_count::DeletionCount;
use crate::models::notification::Written;
use crate::models::{Changes, Kind, LogEntry, ModelError, Notice, Room, User, now, write};

/// The most different reactions one message holds.
pub const MAX_REACTIONS: i64 = 20;

/// A message's row: its key, author, whether it was deleted, and whether an incoming webhook
/// posted it (for its maker, `author_id`).
struct MessageRow {
    id: i32,
    author_id: i32,
    deleted: bool,
    by_webhook: bool,
}

impl MessageRow {
    /// Message `seq` of the room (`NotFound` if there is none), its row held until the
    /// transaction ends: a change and a deletion of one message take turns, so a reaction
    /// never lands on a message deleted meanwhile (SQLite's write transaction holds the whole
    /// database already).
    fn find(conn: &mut DbConnection, room_id: i32, seq: i32) -> Result<Self, ModelError> {
        let query = log_entries::table
            .filter(log_entries::room_id.eq(room_id))
            .filter(log_entries::seq.eq(seq))
            .filter(log_entries::kind.eq(Kind::Message.as_str()))
            .select((
                log_entries::id,
                log_entries::author_id,
                log_entries::deleted_at,
                log_entries::posted_as.is_not_null(),
            ));
        let (id, author_id, deleted_at, by_webhook): (i32, i32, Option<NaiveDateTime>, bool) =
            match conn {
                DbConnection::Sqlite(c) => query.first(c)?,
                DbConnection::Postgres(c) => query.for_update().first(c)?,
            };
        Ok(Self {
            id,
            author_id,
            deleted: deleted_at.is_some(),
            by_webhook,
        })
    }
}

impl LogEntry {
    /// Its author changes a message's text (`html` is `text` rendered). Answers the message in
    /// its new state. The same text again changes nothing and appends nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn edit(
        conn: &mut DbConnection,
        room_id: i32,
        seq: i32,
        user_id: i32,
        text: &MessageText,
        rendered: &Rendered,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        let html = rendered.html.as_str();
        let names: Vec<String> = rendered.mentions.iter().map(|(_, n)| n.clone()).collect();
        let ids: Vec<i32> = rendered.mentions.iter().map(|(id, _)| *id).collect();
        write(conn, changes, |conn, changes| {
            let room = Room::find_as_member(conn, room_id, user_id)?;
            let message = MessageRow::find(conn, room_id, seq)?;
            // Nobody else's words are anyone's to change: not the room's creator's, not an
            // administrator's (they may delete, which shows). A webhook's are its own, even
            // to its maker, who answers for them and may delete them.
            if message.author_id != user_id || message.by_webhook {
                return Err(ModelError::NotYourMessage);
            }
            if message.deleted {
                return Err(ModelError::MessageDeleted);
            }
            let current = Self::message(conn, room_id, seq)?;
            if current.body == text.as_str() {
                return Ok(current);
            }
            // Only if still there: on PostgreSQL a delete of it may have committed since.
            let changed = diesel::update(
                log_entries::table
                    .find(message.id)
                    .filter(log_entries::deleted_at.is_null()),
            )
            .set((
                log_entries::body.eq(text.as_str()),
                log_entries::html.eq(Some(html)),
                log_entries::search_text.eq(Some(searched_text(
                    text.as_str(),
                    current.attachment.as_deref(),
                ))),
                log_entries::edited_at.eq(Some(now())),
                log_entries::mentions.eq((!names.is_empty()).then(|| names.join(" "))),
            ))
            .execute(conn)?;
            if changed == 0 {
                return Err(ModelError::MessageDeleted);
            }
            let author = User::author(conn, user_id)?;
            let draft = Draft {
                room_id,
                author: (user_id, &author),
                posted_as: None,
                kind: Kind::Edited,
                body: text.as_str(),
                html,
                target: Some(seq),
                reply_to: None,
                client_id: None,
                mentions: names.clone(),
                attachment: None,
            };
            Self::insert(conn, draft, changes)?;
            // Whom it mentions now: those it no longer does lose the mention, new ones are told.
            Notice::unmention(conn, room_id, seq, &ids)?;
            let written = Written {
                room: &room,
                seq,
                author_id: user_id,
                author: &author.name,
                body: text.as_str(),
                mentions: &ids,
                bot: author.bot,
            };
            Notice::record(conn, &[written], changes)?;
            Ok(Self::message(conn, room_id, seq)?)
        })
    }

    /// A member adds (`on`) or takes back a reaction to a message. Answers the message in its
    /// new state, and whether anything changed: reacting twice, or taking back what is not
    /// there, appends nothing.
    pub fn react(
        conn: &mut DbConnection,
        room_id: i32,
        seq: i32,
        user_id: i32,
        (emoji, on): (&Reaction, bool),
        changes: &mut Changes,
    ) -> Result<(LogEntry, bool), ModelError> {
        write(conn, changes, |conn, changes| {
            Room::find_as_member(conn, room_id, user_id)?;
            if MessageRow::find(conn, room_id, seq)?.deleted {
                return Err(ModelError::MessageDeleted);
            }
            let changed = match on {
                true => Self::add_reaction_row(conn, room_id, seq, user_id, emoji)?,
                false => {
                    diesel::delete(
                        reactions::table
                            .filter(reactions::room_id.eq(room_id))
                            .filter(reactions::message_seq.eq(seq))
                            .filter(reactions::user_id.eq(user_id))
                            .filter(reactions::emoji.eq(emoji.as_str())),
                    )
                    .execute(conn)?
                        > 0
                }
            };
            if changed {
                let author = User::author(conn, user_id)?;
                let draft = Draft {
                    room_id,
                    author: (user_id, &author),
                    posted_as: None,
                    kind: if on { Kind::Reacted } else { Kind::Unreacted },
                    body: emoji.as_str(),
                    html: "",
                    target: Some(seq),
                    reply_to: None,
                    client_id: None,
                    mentions: Vec::new(),
                    attachment: None,
                };
                Self::insert(conn, draft, changes)?;
            }
            Ok((Self::message(conn, room_id, seq)?, changed))
        })
    }

    /// Stores a reaction unless the person already gave it; a new kind of reaction only while
    /// the message has fewer than `MAX_REACTIONS`. Whether it was stored.
    fn add_reaction_row(
        conn: &mut DbConnection,
        room_id: i32,
        seq: i32,
        user_id: i32,
        emoji: &Reaction,
    ) -> Result<bool, ModelError> {
        let on_message = reactions::table
            .filter(reactions::room_id.eq(room_id))
            .filter(reactions::message_seq.eq(seq));
        let kinds: Vec<String> = on_message.select(reactions::emoji).distinct().load(conn)?;
        if !kinds.iter().any(|k| k == emoji.as_str()) && kinds.len() as i64 >= MAX_REACTIONS {
            return Err(ModelError::TooManyReactions);
        }
        let row = (
            reactions::room_id.eq(room_id),
            reactions::message_seq.eq(seq),
            reactions::user_id.eq(user_id),
            reactions::emoji.eq(emoji.as_str()),
        );
        let insert = diesel::insert_into(reactions::table).values(row);
        // Each backend says "unless it is there" its own way; the unique key decides, so two
        // clicks at once store one reaction.
        let stored = match conn {
            DbConnection::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
            DbConnection::Postgres(c) => insert.on_conflict_do_nothing().execute(c)?,
        };
        Ok(stored > 0)
    }

    /// Deletes a message: its author may, and in a public room so may the room's creator and
    /// an administrator (audited). It keeps its place in the log (emptied, marked deleted) and
    /// a `Deleted` entry tells the pollers.
    pub fn delete_message(
        conn: &mut DbConnection,
        room_id: i32,
        message_seq: i32,
        user_id: i32,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        write(conn, changes, |conn, changes| {
            let room = Room::find_as_member(conn, room_id, user_id)?;
            let MessageRow {
                id,
                author_id,
                deleted,
                ..
            } = MessageRow::find(conn, room_id, message_seq)?;
            // In a direct conversation both people are equals: whoever opened it is no
            // moderator of the other's words, and administrators do not read it.
            if author_id != user_id && (room.is_direct || room.creator_id != user_id) {
                let admin = match room.is_direct {
                    true => None,
                    false => User::administering(conn, user_id)?,
                };
                let admin = admin.ok_or(ModelError::NotAuthor)?;
                let author = User::name(conn, author_id)?;
                let subject = format!("message {message_seq} by {author} in {}", room.described());
                AuditEntry::record(conn, &admin, "deleted message", &subject)?;
            }
            if deleted {
                return Err(ModelError::NotFound);
            }
            // Only if still there: on PostgreSQL another delete of it may have committed since
            // the read above, and a message is deleted once.
            let emptied = diesel::update(
                log_entries::table
                    .find(id)
                    .filter(log_entries::deleted_at.is_null()),
            )
            .set((
                log_entries::body.eq(""),
                log_entries::html.eq(Some("")),
                log_entries::search_text.eq(None::<String>),
                log_entries::mentions.eq(None::<String>),
                log_entries::deleted_at.eq(Some(now())),
            ))
            .execute(conn)?;
            if emptied == 0 {
                return Err(ModelError::NotFound);
            }
            Attachment::delete_of_message(conn, room_id, message_seq)?;
            Self::forget_changes(conn, room_id, message_seq)?;
            Notice::forget(conn, room_id, message_seq)?;
            DeletionCount::record(conn, room_id, author_id, message_seq)?;
            Self::append(
                conn,
                room_id,
                user_id,
                Kind::Deleted,
                "",
                Some(message_seq),
                changes,
            )
        })
    }

    /// What a deleted message leaves behind goes with it: its reactions, and the text of the
    /// entries that edited it (a poll from the start must not show what was deleted).
    pub(super) fn forget_changes(
        conn: &mut DbConnection,
        room_id: i32,
        seq: i32,
    ) -> QueryResult<()> {
        diesel::delete(
            reactions::table
                .filter(reactions::room_id.eq(room_id))
                .filter(reactions::message_seq.eq(seq)),
        )
        .execute(conn)?;
        diesel::update(
            log_entries::table
                .filter(log_entries::room_id.eq(room_id))
                .filter(log_entries::target_seq.eq(seq))
                .filter(log_entries::kind.eq(Kind::Edited.as_str())),
        )
        .set((log_entries::body.eq(""), log_entries::html.eq(Some(""))))
        .execute(conn)?;
        Ok(())
    }
}
