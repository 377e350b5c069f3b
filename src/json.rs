//! The JSON shapes of the public contract, shared by the API's handlers and the server's
//! commands (`--json`): built from rows, never the rows themselves.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::accounts::NewToken;
use crate::chat::Listed;
use crate::live::Attention;
use crate::models::{
    ApiToken, Attachment, LogEntry, Reactions, Room, RoomOverview, RoomRef, SearchHit, User,
};

/// RFC 3339 in UTC with milliseconds, as the API and the `<time datetime>` attributes show it.
pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A log entry as the API (and `chatroom rooms tail --json`) shows it; a message in its current
/// state.
#[derive(Serialize)]
pub struct EntryJson<'a> {
    /// Its number in the room's log: 1, 2, 3, ... with no holes.
    id: i32,
    /// "message", "joined", "left", "deleted", "edited", "reacted" or "unreacted".
    kind: &'static str,
    author: &'a str,
    /// Written by a bot, or by an incoming webhook under its name.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    bot: bool,
    /// A message's text as written (empty once deleted), an edit's new text, a reaction.
    text: &'a str,
    /// For a message and an edit: the text rendered from its Markdown, sanitized.
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<&'a str>,
    sent_at: String,
    /// For "deleted", "edited", "reacted", "unreacted": the number of the message it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<i32>,
    /// For a message: true once it was deleted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
    /// For a message: true once its author changed it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    edited: bool,
    /// For a reply: the message it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<ReplyJson<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    reactions: &'a [Reactions],
    /// For a message and an edit: the canonical names of the accounts it mentions.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    mentions: &'a [String],
    /// For a message: the file it carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<AttachmentJson<'a>>,
}

/// A message's file: `{"id", "name", "size", "content_type", "url"}`, and for an image shown
/// inline `"thumbnail_url", "width", "height"`.
#[derive(Serialize)]
pub struct AttachmentJson<'a> {
    id: i32,
    name: &'a str,
    size: i64,
    content_type: &'a str,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbnail_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<i32>,
}

impl<'a> From<&'a Attachment> for AttachmentJson<'a> {
    fn from(a: &'a Attachment) -> Self {
        Self {
            id: a.id,
            name: &a.name,
            size: a.size,
            content_type: &a.content_type,
            url: a.url(),
            thumbnail_url: a.thumbnail_url(),
            width: a.dimensions.map(|d| d.0),
            height: a.dimensions.map(|d| d.1),
        }
    }
}

/// `{"message": <entry>}`: the answer to a post, an edit, a reaction or an upload.
#[derive(Serialize)]
pub struct MessageAnswer<'a> {
    message: EntryJson<'a>,
}

impl<'a> From<&'a LogEntry> for MessageAnswer<'a> {
    fn from(message: &'a LogEntry) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// The message a reply answers: `{"id", "author", "excerpt"}`.
#[derive(Serialize)]
struct ReplyJson<'a> {
    id: i32,
    author: &'a str,
    excerpt: &'a str,
}

impl Serialize for Reactions {
    /// `{"emoji": "👍", "count": 2, "by": ["alice", "bob"]}`
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Reactions", 3)?;
        out.serialize_field("emoji", &self.emoji)?;
        out.serialize_field("count", &self.by.len())?;
        out.serialize_field("by", &self.by)?;
        out.end()
    }
}

impl<'a> From<&'a LogEntry> for EntryJson<'a> {
    fn from(e: &'a LogEntry) -> Self {
        Self {
            id: e.seq,
            kind: e.kind.as_str(),
            sent_at: rfc3339(e.sent_at),
            author: &e.author,
            bot: e.bot,
            text: &e.body,
            html: e.kind.has_html().then_some(e.html.as_str()),
            target: e.target,
            deleted: e.deleted,
            edited: e.edited,
            mentions: &e.mentions,
            reply_to: e.reply_to.as_ref().map(|r| ReplyJson {
                id: r.seq,
                author: &r.author,
                excerpt: &r.excerpt,
            }),
            reactions: &e.reactions,
            attachment: e.attachment.as_deref().map(AttachmentJson::from),
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
    /// Unread messages that mention the reader.
    mentions: i64,
    /// "all", "mentions" or "nothing".
    level: &'static str,
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
            mentions: listed.room.mentions,
            level: listed.room.level.as_str(),
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

/// A message a search found: `{"room": {"id", "name", "direct"}, "message": <entry>}`.
#[derive(Serialize)]
pub struct SearchHitJson<'a> {
    room: SearchRoomJson<'a>,
    message: EntryJson<'a>,
}

/// The room of a search result, named as the searcher names it.
#[derive(Serialize)]
struct SearchRoomJson<'a> {
    id: i32,
    name: &'a str,
    direct: bool,
}

impl<'a> From<&'a SearchHit> for SearchHitJson<'a> {
    fn from(hit: &'a SearchHit) -> Self {
        let RoomRef { id, name, direct } = &hit.room;
        Self {
            room: SearchRoomJson {
                id: *id,
                name,
                direct: *direct,
            },
            message: (&hit.entry).into(),
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

/// A bot as `chatroom bots list --json` shows it.
#[derive(Serialize)]
pub struct BotJson<'a> {
    id: i32,
    name: &'a str,
    created_at: String,
    webhook_url: Option<&'a str>,
    last_failure: Option<&'a str>,
    last_failure_at: Option<String>,
    disabled: bool,
}

impl<'a> From<&'a crate::models::bot::Bot> for BotJson<'a> {
    fn from(bot: &'a crate::models::bot::Bot) -> Self {
        Self {
            id: bot.user_id,
            name: &bot.name,
            created_at: rfc3339(bot.created_at),
            webhook_url: bot.webhook_url.as_deref(),
            last_failure: bot.last_failure.as_deref(),
            last_failure_at: bot.last_failure_at.map(rfc3339),
            disabled: bot.disabled,
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

/// What needs the reader in other rooms (a poll's and the lobby's `"attention"`):
/// `{"count": N, "new": [{"room": {"id", "name"}, "id", "author", "excerpt", "reason"}]}`.
#[derive(Serialize)]
pub struct AttentionJson<'a> {
    count: usize,
    new: Vec<NoticeJson<'a>>,
}

/// A message that needs the reader: `reason` is "mention", "direct" or "all".
#[derive(Serialize)]
struct NoticeJson<'a> {
    room: NoticeRoomJson<'a>,
    /// The message's number in its room.
    id: i32,
    author: &'a str,
    excerpt: &'a str,
    reason: &'static str,
}

#[derive(Serialize)]
struct NoticeRoomJson<'a> {
    id: i32,
    name: &'a str,
}

impl<'a> From<&'a Attention> for AttentionJson<'a> {
    fn from(attention: &'a Attention) -> Self {
        Self {
            count: attention.count,
            new: attention
                .new
                .iter()
                .map(|n| NoticeJson {
                    room: NoticeRoomJson {
                        id: n.room_id,
                        name: &n.room,
                    },
                    id: n.seq,
                    author: &n.author,
                    excerpt: &n.excerpt,
                    reason: n.reason.as_str(),
                })
                .collect(),
        }
    }
}

/// A token just made: `{"id", "name", "token"}`, the one time its secret is shown.
#[derive(Serialize)]
pub struct NewTokenJson<'a> {
    id: i32,
    name: &'a str,
    token: &'a str,
}

impl<'a> From<&'a NewToken> for NewTokenJson<'a> {
    fn from(made: &'a NewToken) -> Self {
        Self {
            id: made.token.id,
            name: &made.token.name,
            token: &made.secret,
        }
    }
}

/// An account's tokens: `{"tokens": [{"id", "name", "created_at", "last_used_at"}]}`.
#[derive(Serialize)]
pub struct TokensJson<'a> {
    tokens: Vec<TokenJson<'a>>,
}

#[derive(Serialize)]
struct TokenJson<'a> {
    id: i32,
    name: &'a str,
    created_at: String,
    /// None until first used; then to within a minute.
    last_used_at: Option<String>,
}

impl<'a> From<&'a [ApiToken]> for TokensJson<'a> {
    fn from(tokens: &'a [ApiToken]) -> Self {
        Self {
            tokens: tokens
                .iter()
                .map(|t| TokenJson {
                    id: t.id,
                    name: &t.name,
                    created_at: rfc3339(t.created_at),
                    last_used_at: t.last_used_at.map(rfc3339),
                })
                .collect(),
        }
    }
}
