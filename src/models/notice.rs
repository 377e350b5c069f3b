//! A notice: a message that needs someone, as they are told of it (see `notification`, which
//! writes and reads them). A value of its own, with nothing to import: every write's `Changes`
//! carries the notices it wrote.

use chrono::NaiveDateTime;

/// Why a notice reached someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Mention,
    Direct,
    /// A message in a room they set to `all`.
    All,
}

impl Reason {
    /// Why a notice reached its reader: it mentions them, else the room is their direct
    /// conversation, else they set the room to `all`.
    pub fn of(mention: bool, direct: bool) -> Self {
        match (mention, direct) {
            (true, _) => Self::Mention,
            (false, true) => Self::Direct,
            (false, false) => Self::All,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::Direct => "direct",
            Self::All => "all",
        }
    }
}

/// A notice as a reader is told of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: i32,
    pub user_id: i32,
    pub room_id: i32,
    /// The message's number in its room.
    pub seq: i32,
    pub mention: bool,
    /// Their level says to tell them (the attention count, desktop notifications, web push).
    pub notify: bool,
    pub reason: Reason,
    /// The room as the reader names it (a direct conversation: the other person).
    pub room: String,
    pub author: String,
    pub excerpt: String,
    pub created_at: NaiveDateTime,
}
