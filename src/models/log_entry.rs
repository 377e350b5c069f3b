//! One entry of a room's log (the log_entries table) as readers see it, and what it records.

use chrono::NaiveDateTime;

use crate::db::schema::{log_entries, users};

/// What a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Message,
    Joined,
    Left,
    /// A message was deleted; `target` names it.
    Deleted,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Joined => "joined",
            Self::Left => "left",
            Self::Deleted => "deleted",
        }
    }

    fn parse(kind: &str) -> Self {
        match kind {
            "joined" => Self::Joined,
            "left" => Self::Left,
            "deleted" => Self::Deleted,
            _ => Self::Message,
        }
    }
}

/// A log entry as readers see it: with its author's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its number in the room's log: 1, 2, 3, ... The API calls it `id`.
    pub seq: i32,
    pub room_id: i32,
    pub kind: Kind,
    pub author: String,
    pub author_id: i32,
    pub body: String,
    /// For `Deleted`: the number of the message it deleted.
    pub target: Option<i32>,
    pub deleted: bool,
    pub sent_at: NaiveDateTime,
}

pub(super) type Row = (
    i32,
    i32,
    String,
    String,
    i32,
    String,
    Option<i32>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
pub(super) const COLUMNS: (
    log_entries::seq,
    log_entries::room_id,
    log_entries::kind,
    users::username,
    log_entries::author_id,
    log_entries::body,
    log_entries::target_seq,
    log_entries::deleted_at,
    log_entries::sent_at,
) = (
    log_entries::seq,
    log_entries::room_id,
    log_entries::kind,
    users::username,
    log_entries::author_id,
    log_entries::body,
    log_entries::target_seq,
    log_entries::deleted_at,
    log_entries::sent_at,
);

impl From<Row> for LogEntry {
    fn from(
        (seq, room_id, kind, author, author_id, body, target, deleted_at, sent_at): Row,
    ) -> Self {
        Self {
            seq,
            room_id,
            kind: Kind::parse(&kind),
            author,
            author_id,
            body,
            target,
            deleted: deleted_at.is_some(),
            sent_at,
        }
    }
}
