//! One entry of a room's log (the log_entries table) as readers see it, and what it records.

use chrono::NaiveDateTime;

use crate::db::schema::{log_entries, users};
use crate::models::attachment::Attachment;

/// What a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Message,
    Joined,
    Left,
    /// A message was deleted; `target` names it.
    Deleted,
    /// A message's text was changed; `target` names it, `body` is its new text.
    Edited,
    /// Someone reacted to a message (`target`) with `body`.
    Reacted,
    /// Someone took their reaction (`body`) to a message (`target`) back.
    Unreacted,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Joined => "joined",
            Self::Left => "left",
            Self::Deleted => "deleted",
            Self::Edited => "edited",
            Self::Reacted => "reacted",
            Self::Unreacted => "unreacted",
        }
    }

    fn parse(kind: &str) -> Self {
        match kind {
            "joined" => Self::Joined,
            "left" => Self::Left,
            "deleted" => Self::Deleted,
            "edited" => Self::Edited,
            "reacted" => Self::Reacted,
            "unreacted" => Self::Unreacted,
            _ => Self::Message,
        }
    }

    /// Whether it carries text rendered as HTML: a message, and an edit's new text.
    pub fn has_html(self) -> bool {
        matches!(self, Self::Message | Self::Edited)
    }
}

/// The message a reply answers, as the reply shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub seq: i32,
    pub author: String,
    /// The start of its current text (see `excerpt`); empty once it was deleted.
    pub excerpt: String,
}

/// One reaction to a message and who gave it, first first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reactions {
    pub emoji: String,
    pub by: Vec<String>,
}

/// A log entry as readers see it: with its author's name, and a message in its current state
/// (its latest text, its reactions, the message it answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its number in the room's log: 1, 2, 3, ... The API calls it `id`.
    pub seq: i32,
    pub room_id: i32,
    pub kind: Kind,
    pub author: String,
    pub author_id: i32,
    pub body: String,
    /// For a message and an edit: `body` rendered (see `domain::markdown`), never per read.
    pub html: String,
    /// For `Deleted`, `Edited`, `Reacted`, `Unreacted`: the number of the message it changed.
    pub target: Option<i32>,
    pub deleted: bool,
    /// For a message: its text was changed since it was sent.
    pub edited: bool,
    pub reply_to: Option<ReplyTo>,
    pub reactions: Vec<Reactions>,
    pub sent_at: NaiveDateTime,
    /// For a message and an edit: the canonical names of the accounts its text mentions, each
    /// once (see `domain::mention`).
    pub mentions: Vec<String>,
    /// For a message: the file it carries, if any (boxed: most messages carry none).
    pub attachment: Option<Box<Attachment>>,
    /// Written by a bot, or by an incoming webhook under its name (`author`).
    pub bot: bool,
}

impl LogEntry {
    /// Adds `who`'s reaction, unless it is there: applying an entry twice changes nothing.
    pub fn add_reaction(&mut self, emoji: &str, who: &str) {
        match self.reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(r) if r.by.iter().any(|b| b == who) => {}
            Some(r) => r.by.push(who.to_owned()),
            None => self.reactions.push(Reactions {
                emoji: emoji.to_owned(),
                by: vec![who.to_owned()],
            }),
        }
    }

    /// Takes `who`'s reaction away, if it is there.
    pub fn remove_reaction(&mut self, emoji: &str, who: &str) {
        if let Some(r) = self.reactions.iter_mut().find(|r| r.emoji == emoji) {
            r.by.retain(|b| b != who);
        }
        self.reactions.retain(|r| !r.by.is_empty());
    }
}

pub(super) type Row = (
    (i32, i32, String, String, i32, String),
    (
        Option<String>,
        Option<i32>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<i32>,
        NaiveDateTime,
        Option<String>,
        Option<i32>,
    ),
    (bool, Option<String>),
);

#[allow(clippy::type_complexity)]
pub(super) const COLUMNS: (
    (
        log_entries::seq,
        log_entries::room_id,
        log_entries::kind,
        users::username,
        log_entries::author_id,
        log_entries::body,
    ),
    (
        log_entries::html,
        log_entries::target_seq,
        log_entries::deleted_at,
        log_entries::edited_at,
        log_entries::reply_to,
        log_entries::sent_at,
        log_entries::mentions,
        log_entries::attachment_id,
    ),
    (users::is_bot, log_entries::posted_as),
) = (
    (
        log_entries::seq,
        log_entries::room_id,
        log_entries::kind,
        users::username,
        log_entries::author_id,
        log_entries::body,
    ),
    (
        log_entries::html,
        log_entries::target_seq,
        log_entries::deleted_at,
        log_entries::edited_at,
        log_entries::reply_to,
        log_entries::sent_at,
        log_entries::mentions,
        log_entries::attachment_id,
    ),
    (users::is_bot, log_entries::posted_as),
);

impl From<Row> for LogEntry {
    /// The row alone: a reply's quote, the reactions and a file come from other rows (see
    /// `log::context`), filled in before anyone reads the entry.
    fn from(
        (
            (seq, room_id, kind, author, author_id, body),
            (html, target, deleted_at, edited_at, reply_to, sent_at, mentions, attachment),
            (is_bot, posted_as),
        ): Row,
    ) -> Self {
        Self {
            seq,
            room_id,
            kind: Kind::parse(&kind),
            bot: is_bot || posted_as.is_some(),
            author: posted_as.unwrap_or(author),
            author_id,
            body,
            html: html.unwrap_or_default(),
            target,
            deleted: deleted_at.is_some(),
            edited: edited_at.is_some(),
            reply_to: reply_to.map(|seq| ReplyTo {
                seq,
                author: String::new(),
                excerpt: String::new(),
            }),
            reactions: Vec::new(),
            sent_at,
            mentions: mentions
                .map(|names| names.split(' ').map(str::to_owned).collect())
                .unwrap_or_default(),
            attachment: attachment.map(|id| Box::new(Attachment::unread(id))),
        }
    }
}
