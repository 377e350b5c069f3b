//! The JSON shapes of the public contract, shared by the API's handlers and the server's
//! commands (`--json`): built from rows, never the rows themselves.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::chat::Listed;
use crate::models::{LogEntry, Room, RoomOverview, User};

/// RFC 3339 in UTC with milliseconds, as the API and the `<time datetime>` attributes show it.
pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A log entry as the API (and `chatroom rooms tail --json`) shows it.
#[derive(Serialize)]
pub struct EntryJson<'a> {
    /// Its number in the room's log: 1, 2, 3, ... with no holes.
    id: i32,
    /// "message", "joined", "left" or "deleted".
    kind: &'static str,
    author: &'a str,
    /// Empty for anything but a message that was not deleted.
    text: &'a str,
    sent_at: String,
    /// For "deleted": the number of the message that was deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<i32>,
    /// For a message: true once it was deleted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
}

impl<'a> From<&'a LogEntry> for EntryJson<'a> {
    fn from(e: &'a LogEntry) -> Self {
        Self {
            id: e.seq,
            kind: e.kind.as_str(),
            sent_at: rfc3339(e.sent_at),
            author: &e.author,
            text: &e.body,
            target: e.target,
            deleted: e.deleted,
        }
    }
}

/// A room in someone's lobby, with how many are present and how much they have not read.
#[derive(Serialize)]
pub struct LobbyRoomJson<'a> {
    id: i32,
    name: &'a str,
    creator: &'a str,
    direct: bool,
    present: usize,
    unread: i64,
}

impl<'a> From<&'a Listed> for LobbyRoomJson<'a> {
    fn from(listed: &'a Listed) -> Self {
        Self {
            id: listed.room.id,
            name: &listed.room.name,
            creator: &listed.room.creator,
            direct: listed.room.direct,
            present: listed.present,
            unread: listed.room.unread,
        }
    }
}

/// A room just created or entered.
#[derive(Serialize)]
pub struct RoomJson<'a> {
    id: i32,
    name: &'a str,
    creator_id: i32,
    direct: bool,
}

impl<'a> From<&'a Room> for RoomJson<'a> {
    fn from(room: &'a Room) -> Self {
        Self {
            id: room.id,
            name: &room.name,
            creator_id: room.creator_id,
            direct: room.is_direct,
        }
    }
}

/// A public room as the admin API (and `chatroom rooms list --json`) shows it.
#[derive(Serialize)]
pub struct RoomOverviewJson<'a> {
    id: i32,
    name: &'a str,
    creator: &'a str,
    messages: i64,
    created_at: String,
    last_activity_at: String,
}

impl<'a> From<&'a RoomOverview> for RoomOverviewJson<'a> {
    fn from(room: &'a RoomOverview) -> Self {
        Self {
            id: room.id,
            name: &room.name,
            creator: &room.creator,
            messages: room.messages,
            created_at: rfc3339(room.created_at),
            last_activity_at: rfc3339(room.last_activity_at),
        }
    }
}

/// A user as the admin API (and `chatroom users list --json`) shows them.
#[derive(Serialize)]
pub struct UserJson<'a> {
    id: i32,
    username: &'a str,
    registered_at: String,
    last_seen_at: Option<String>,
    administrator: bool,
    disabled: bool,
}

impl<'a> From<&'a User> for UserJson<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            id: user.id,
            username: &user.username,
            registered_at: rfc3339(user.created_at),
            last_seen_at: user.last_seen_at.map(rfc3339),
            administrator: user.is_admin,
            disabled: user.disabled_at.is_some(),
        }
    }
}

/// Who a login or registration is, as its answer tells them.
#[derive(Serialize)]
pub struct SelfJson<'a> {
    id: i32,
    username: &'a str,
}

impl<'a> From<&'a User> for SelfJson<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            id: user.id,
            username: &user.username,
        }
    }
}
