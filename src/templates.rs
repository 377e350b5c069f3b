//! The pages, as askama templates, and the views they show. Rows never reach a template.

use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use chrono::NaiveDateTime;

use crate::accounts::SessionSummary;
use crate::auth::client_addr::Device;
use crate::auth::{CurrentUser, csrf};
use crate::chat::{Found, Inside, Listed, Lobby};
use crate::domain::{SearchQuery, human_size};
use crate::errors::AppError;
use crate::json::rfc3339;
use crate::media;
use crate::models::{ApiToken, Attachment, Kind, LogEntry, Reactions, Room, SearchHit, Webhook};

/// What every page shows around its content: who is logged in, the CSRF token, and on a
/// logged-in page the app shell's sidebar.
pub struct Layout {
    pub user: Option<String>,
    pub csrf_token: String,
    pub sidebar: Option<Sidebar>,
}

/// The app shell's sidebar: the reader's direct conversations and the rooms, with unread
/// counts, and the links every logged-in page offers. static/shell.js keeps it fresh from
/// GET /api/lobby, sorted as `Sidebar::new` sorts it.
pub struct Sidebar {
    pub rooms: Vec<SidebarRoom>,
    pub direct: Vec<SidebarRoom>,
    /// The room the reader is in, on its page: marked, and never counted unread.
    pub current: Option<i32>,
    pub administrator: bool,
    /// The lobby's version it was read at (see `live::lobby_clock`).
    pub version: i64,
    /// The lobby lists more rooms than its first page.
    pub more: bool,
}

pub struct SidebarRoom {
    pub id: i32,
    pub name: String,
    pub unread: i64,
    /// Unread messages that mention the reader.
    pub mentions: i64,
}

impl Sidebar {
    /// From the first page of the reader's lobby: rooms and conversations each by name, so
    /// that the list stays put while activity reorders the lobby.
    pub fn new(lobby: &Lobby) -> Self {
        let (mut direct, mut rooms): (Vec<_>, Vec<_>) = lobby
            .rooms
            .iter()
            .map(|Listed { room, .. }| {
                let view = SidebarRoom {
                    id: room.id,
                    name: room.name.clone(),
                    unread: room.unread,
                    mentions: room.mentions,
                };
                (room.direct, view)
            })
            .partition(|(direct, _)| *direct);
        for list in [&mut rooms, &mut direct] {
            list.sort_by_cached_key(|(_, room)| (room.name.to_lowercase(), room.id));
        }
        Self {
            rooms: rooms.into_iter().map(|(_, room)| room).collect(),
            direct: direct.into_iter().map(|(_, room)| room).collect(),
            current: None,
            administrator: lobby.administrator,
            version: lobby.version,
            more: lobby.next.is_some(),
        }
    }

    /// The reader is in this room: it is marked, with nothing unread.
    pub fn enter(&mut self, room_id: i32) {
        self.current = Some(room_id);
        for room in self.rooms.iter_mut().chain(&mut self.direct) {
            if room.id == room_id {
                room.unread = 0;
                room.mentions = 0;
            }
        }
    }

    pub fn is_current(&self, room: &SidebarRoom) -> bool {
        self.current == Some(room.id)
    }
}

impl Layout {
    /// For an answer made without a session at hand: no user, no token.
    pub fn anonymous() -> Self {
        Self {
            user: None,
            csrf_token: String::new(),
            sidebar: None,
        }
    }

    /// For an error page: the session's token if it has one, without starting a session for
    /// a passing anonymous visitor (or scanner).
    pub fn existing(session: &Session) -> Self {
        Self {
            user: CurrentUser::from_session(session).map(|u| u.username),
            csrf_token: csrf::existing(session).unwrap_or_default(),
            sidebar: None,
        }
    }

    /// For the login and register forms: the form's own token (see `csrf::FormTokens`), so
    /// that an anonymous visitor costs no session.
    pub fn for_form(session: &Session, csrf_token: String) -> Self {
        Self {
            user: CurrentUser::from_session(session).map(|u| u.username),
            csrf_token,
            sidebar: None,
        }
    }

    pub fn from_session(session: &Session) -> Self {
        Self {
            user: CurrentUser::from_session(session).map(|u| u.username),
            csrf_token: csrf::token(session),
            sidebar: None,
        }
    }

    /// A logged-in page's layout: the app shell, with `sidebar`.
    pub fn shell(session: &Session, sidebar: Sidebar) -> Self {
        Self {
            sidebar: Some(sidebar),
            ..Self::from_session(session)
        }
    }
}

/// Renders `page` with `status` as an HTML answer.
pub fn render(page: &impl Template, status: StatusCode) -> Result<HttpResponse, AppError> {
    let html = page.render().map_err(AppError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub username: String,
    pub error: Option<String>,
    /// Who may register: "open", "invite" or "closed" (`RegistrationMode::as_str`).
    pub registration: &'static str,
}

#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub layout: Layout,
    pub username: String,
    pub error: Option<String>,
    /// The invitation link's token, sent again with the form.
    pub invite: String,
    /// The setup link's token, sent again with the form.
    pub setup: String,
    /// Why there is no form: registration is closed, or by invitation without a usable one.
    pub closed: Option<String>,
}

/// A room in the lobby's lists.
pub struct LobbyRoom {
    pub id: i32,
    pub name: String,
    pub creator: String,
    pub present: usize,
    pub unread: i64,
    /// Unread messages that mention the reader.
    pub mentions: i64,
    /// A direct conversation: its name is the other person's, and nobody "made" it.
    pub direct: bool,
}

#[derive(Template)]
#[template(path = "lobby.html")]
pub struct LobbyPage {
    pub layout: Layout,
    pub notice: Option<String>,
    /// Rooms with someone present, then the rest, then direct conversations.
    pub active: Vec<LobbyRoom>,
    pub others: Vec<LobbyRoom>,
    pub direct: Vec<LobbyRoom>,
    /// Which page of rooms this is (from 1), and the next one's number if there are more.
    pub page: u32,
    pub next: Option<u32>,
    /// The reader administers the server: a link to /admin.
    pub administrator: bool,
    /// What the user typed into the new-room form, kept when it is refused.
    pub new_room_name: String,
    pub error: Option<String>,
}

impl LobbyPage {
    /// The rooms with someone present, then the rest, then direct conversations.
    pub fn new(layout: Layout, lobby: Lobby) -> Self {
        let mut page = Self {
            layout,
            notice: None,
            active: Vec::new(),
            others: Vec::new(),
            direct: Vec::new(),
            page: lobby.page,
            next: lobby.next,
            administrator: lobby.administrator,
            new_room_name: String::new(),
            error: None,
        };
        for Listed { room, present } in lobby.rooms {
            let view = LobbyRoom {
                present,
                id: room.id,
                name: room.name,
                creator: room.creator,
                unread: room.unread,
                mentions: room.mentions,
                direct: room.direct,
            };
            if room.direct {
                page.direct.push(view);
            } else if present > 0 {
                page.active.push(view);
            } else {
                page.others.push(view);
            }
        }
        page
    }

    /// Shown once, after the setup link's account registers (never from the URL).
    pub const SETUP_ACCOUNT: &'static str =
        "You registered with the setup link, so you are this server's administrator.";

    /// Why the room page sent the user here, as the lobby says it once; `None` for a key it
    /// does not know. `deleted_name`: the deleted room's name as the server recorded it, if known.
    pub fn notice(key: &str, deleted_name: Option<&str>) -> Option<String> {
        match (key, deleted_name) {
            ("deleted", Some(name)) if !name.is_empty() => Some(format!("“{name}” was deleted.")),
            ("deleted", _) => Some("The room you were in was deleted.".to_owned()),
            ("moved", _) => Some(
                "You left the room or entered another one in another tab or window.".to_owned(),
            ),
            _ => None,
        }
    }

    /// The new-room form comes back with what was typed and why it was refused.
    pub fn refused(&mut self, typed: String, why: &AppError) {
        self.new_room_name = typed;
        self.error = Some(why.message().to_owned());
    }

    pub fn is_empty(&self) -> bool {
        self.active.is_empty() && self.others.is_empty() && self.direct.is_empty()
    }

    /// The link to the page before this one (the first page is plain /lobby).
    pub fn newer_href(&self) -> Option<String> {
        match self.page {
            0 | 1 => None,
            2 => Some("/lobby".to_owned()),
            page => Some(format!("/lobby?page={}", page - 1)),
        }
    }

    /// The link to the page after this one (shown only while there is one).
    pub fn older_href(&self) -> String {
        format!("/lobby?page={}", self.page.saturating_add(1))
    }
}

/// One line of a room's log on the page, in its current state (the same shape as
/// static/message-view.js builds for live entries).
pub struct EntryView {
    /// Its number in the room's log.
    pub id: i32,
    /// "message", "joined" or "left".
    pub kind: &'static str,
    pub author: String,
    /// Written by a bot, or by an incoming webhook under its name: a BOT tag beside `author`.
    pub bot: bool,
    /// The raw text as written (the page keeps the reader's own, to edit it).
    pub text: String,
    /// The text rendered from Markdown and cleaned by the sanitizer when it was stored: the
    /// one thing the page inserts unescaped. None: shown as escaped text.
    pub html: Option<String>,
    pub deleted: bool,
    pub edited: bool,
    /// The reader wrote it: they may edit it.
    pub own: bool,
    /// The reader may delete it: their own message, or any message in a public room they
    /// created.
    pub deletable: bool,
    pub reply_to: Option<ReplyView>,
    pub reactions: Vec<ReactionView>,
    /// The file the message carries (none once it was deleted).
    pub attachment: Option<AttachmentView>,
    pub sent_at: String,
    /// HH:MM in UTC, until the page's script shows it in the reader's own time zone.
    pub time: String,
}

/// A message's file as the room page shows it: an image inline, anything else as a card to
/// download. static/message-view.js builds the same from the entry's JSON, by the same rules
/// (`fit_thumbnail`, `human_size`).
pub struct AttachmentView {
    pub name: String,
    pub url: String,
    /// "12 KiB": the size for people.
    pub size: String,
    /// For an image shown inline: its thumbnail and the size it takes on the page.
    pub image: Option<ImageView>,
}

pub struct ImageView {
    pub thumbnail_url: String,
    pub width: i64,
    pub height: i64,
}

/// An image's size scaled down (never up) to fit the thumbnail's box
/// (`media::THUMBNAIL_BOX`, the largest an image takes in the log), keeping its shape, in
/// whole pixels by integer arithmetic, so the page's script finds the very same numbers.
pub fn fit_thumbnail(width: i64, height: i64) -> (i64, i64) {
    let (w, h) = (width.max(1), height.max(1));
    let (max_w, max_h) = (
        i64::from(media::THUMBNAIL_BOX.0),
        i64::from(media::THUMBNAIL_BOX.1),
    );
    if w <= max_w && h <= max_h {
        (w, h)
    } else if w * max_h >= h * max_w {
        // Wider than the box's shape: its width is the limit.
        (max_w, ((2 * h * max_w + w) / (2 * w)).max(1))
    } else {
        (((2 * w * max_h + h) / (2 * h)).max(1), max_h)
    }
}

impl From<&Attachment> for AttachmentView {
    fn from(a: &Attachment) -> Self {
        Self {
            name: a.name.clone(),
            url: a.url(),
            size: human_size(u64::try_from(a.size).unwrap_or(0)),
            image: a
                .dimensions
                .zip(a.thumbnail_url())
                .map(|((w, h), thumbnail_url)| {
                    let (width, height) = fit_thumbnail(i64::from(w), i64::from(h));
                    ImageView {
                        thumbnail_url,
                        width,
                        height,
                    }
                }),
        }
    }
}

/// The message a reply answers, quoted above it.
pub struct ReplyView {
    pub id: i32,
    pub author: String,
    /// Empty when that message was deleted.
    pub excerpt: String,
}

/// One emoji under a message, and who reacted with it.
pub struct ReactionView {
    pub emoji: String,
    pub count: usize,
    /// The names as JSON, for the page's script to keep up to date.
    pub by_json: String,
    /// The names for people: "alice, bob".
    pub who: String,
    /// The reader is one of them.
    pub mine: bool,
}

impl ReactionView {
    pub fn new(reactions: Reactions, reader: &str) -> Self {
        let Reactions { emoji, by } = reactions;
        Self {
            emoji,
            count: by.len(),
            by_json: serde_json::to_string(&by).unwrap_or_else(|_| "[]".into()),
            who: by.join(", "),
            mine: by.iter().any(|name| name == reader),
        }
    }
}

impl EntryView {
    pub fn new(e: LogEntry, reader: &CurrentUser, reader_moderates: bool) -> Self {
        let own = e.author_id == reader.id;
        let message = e.kind == Kind::Message;
        Self {
            id: e.seq,
            kind: e.kind.as_str(),
            deletable: message && !e.deleted && (own || reader_moderates),
            own: message && own,
            author: e.author,
            bot: e.bot,
            text: e.body,
            // As the page's script inserts it: without the renderer's closing newline.
            html: (message && !e.deleted).then(|| e.html.trim_end().to_owned()),
            deleted: e.deleted,
            edited: e.edited,
            reply_to: e.reply_to.map(|r| ReplyView {
                id: r.seq,
                author: r.author,
                excerpt: r.excerpt,
            }),
            reactions: e
                .reactions
                .into_iter()
                .map(|r| ReactionView::new(r, &reader.username))
                .collect(),
            attachment: (!e.deleted)
                .then_some(e.attachment.as_deref())
                .flatten()
                .map(AttachmentView::from),
            sent_at: rfc3339(e.sent_at),
            time: e.sent_at.format("%H:%M").to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "room.html")]
pub struct RoomPage {
    pub layout: Layout,
    pub room_id: i32,
    /// How the reader names the room: its name, or for a direct conversation the other
    /// person's.
    pub room_name: String,
    pub is_direct: bool,
    /// Its messages not deleted, for the delete-room question.
    pub message_count: i64,
    /// Some entry is a message (joins and leaves do not count), or older history exists:
    /// the log is not empty.
    pub has_messages: bool,
    /// The reader created this public room, or administers the server: they may delete it,
    /// and anyone's messages in it. Nobody has that over a direct conversation.
    pub is_creator: bool,
    /// Entries shown (messages, joins, leaves), oldest first.
    pub entries: Vec<EntryView>,
    /// The first message the reader has not seen: the "new messages" line goes above it.
    pub first_unread: Option<i32>,
    /// The poller's starting cursor: the last entry's number, or 0.
    pub last_id: i32,
    /// The oldest entry on the page: "load older" asks for what came before it.
    pub first_id: i32,
    /// There are older entries than the page starts with.
    pub has_older: bool,
    /// The page opens at this message (a search result's link): the history is the window
    /// around it, and the entries after the window load as the reader scrolls down.
    pub at: Option<i32>,
    /// The number of the room's latest entry when the page was made: with `at`, where the
    /// live end was (the poller listens from there while the reader is back in history).
    pub head: i32,
    /// How loud the room is for the reader: "all", "mentions" or "nothing".
    pub notify_level: &'static str,
    /// The room's incoming webhooks, for a reader who may manage them (else none shown).
    pub webhooks: Option<Vec<WebhookView>>,
    /// The hook the reader just made (its URL, shown this once), or their refused try.
    pub new_hook: Option<NewHookView>,
}

/// An incoming webhook in its room's list.
pub struct WebhookView {
    pub id: i32,
    pub name: String,
    /// RFC 3339 (for `<time datetime>`) and UTC text.
    pub created_at: String,
    pub created: String,
    pub created_by: String,
}

impl From<Webhook> for WebhookView {
    fn from(hook: Webhook) -> Self {
        Self {
            id: hook.id,
            created_at: rfc3339(hook.created_at),
            created: minutes(hook.created_at),
            name: hook.name,
            created_by: hook.created_by,
        }
    }
}

/// The answer to the room page's "make a webhook" form.
pub struct NewHookView {
    /// The name made, or the one refused (kept in the field).
    pub name: String,
    /// The new hook's URL, shown this once.
    pub url: Option<String>,
    /// Why the name was refused.
    pub error: Option<String>,
}

impl NewHookView {
    pub fn made(name: String, url: String) -> Self {
        Self {
            name,
            url: Some(url),
            error: None,
        }
    }

    pub fn refused(name: String, error: String) -> Self {
        Self {
            name,
            url: None,
            error: Some(error),
        }
    }
}

impl RoomPage {
    pub fn new(layout: Layout, inside: Inside, reader: &CurrentUser) -> Self {
        let Inside {
            room,
            title,
            messages,
            history,
            at,
            last_read,
            administrator,
            level,
            webhooks,
        } = inside;
        let first_unread = last_read.and_then(|read| {
            history
                .iter()
                .find(|e| e.seq > read && e.kind == Kind::Message && e.author_id != reader.id)
                .map(|e| e.seq)
        });
        // Administrators moderate every public room; nobody moderates a direct conversation.
        let is_creator = !room.is_direct && (room.creator_id == reader.id || administrator);
        let first_id = history.first().map_or(0, |e| e.seq);
        let last_id = history.last().map_or(0, |e| e.seq);
        Self {
            layout,
            room_id: room.id,
            room_name: title,
            is_direct: room.is_direct,
            message_count: messages,
            has_messages: first_id > 1 || history.iter().any(|e| e.kind == Kind::Message),
            is_creator,
            first_unread,
            last_id,
            first_id,
            // Numbers start at 1 with no holes: anything below the first is older history.
            has_older: first_id > 1,
            at,
            head: room.last_seq.max(last_id),
            notify_level: level.as_str(),
            webhooks: webhooks.map(|hooks| hooks.into_iter().map(WebhookView::from).collect()),
            new_hook: None,
            entries: history
                .into_iter()
                // Lines only: the entries that change a message are in its current state.
                .filter(|e| matches!(e.kind, Kind::Message | Kind::Joined | Kind::Left))
                .map(|e| EntryView::new(e, reader, is_creator))
                .collect(),
        }
    }
}

/// A room seen from outside: its name, and the way in.
#[derive(Template)]
#[template(path = "enter.html")]
pub struct EnterPage {
    pub layout: Layout,
    pub room_id: i32,
    /// Its name, or for a direct conversation the other person's.
    pub room_name: String,
    pub is_direct: bool,
    /// The message the room is to open at, kept through the enter.
    pub at: Option<i32>,
}

impl EnterPage {
    /// `title`: how the reader names the room (see `Room::title_for`).
    pub fn new(layout: Layout, room: &Room, title: String) -> Self {
        Self {
            layout,
            room_id: room.id,
            room_name: title,
            is_direct: room.is_direct,
            at: None,
        }
    }
}

/// One message found, as the search page lists it.
pub struct FoundView {
    pub room_id: i32,
    /// How the reader names the room (a direct conversation: the other person's name).
    pub room_name: String,
    pub direct: bool,
    /// The message's number in its room's log: the link opens the room there.
    pub id: i32,
    pub author: String,
    /// Written by a bot or a webhook: tagged as on the room page.
    pub bot: bool,
    /// RFC 3339 (for the page's script) and UTC text (until it runs).
    pub sent_at: String,
    pub sent: String,
    /// The text as written, in pieces: `true` for a piece that matched a term, shown in
    /// `<mark>`. Each piece is escaped like any text.
    pub pieces: Vec<(String, bool)>,
    /// The name of the file the message carries, in pieces the same way (a file is found by
    /// its name, and a file sent alone has no other text to show).
    pub file: Option<Vec<(String, bool)>>,
}

impl FoundView {
    fn new(hit: SearchHit, query: &SearchQuery) -> Self {
        let SearchHit {
            room,
            entry: message,
            ..
        } = hit;
        Self {
            room_id: room.id,
            room_name: room.name,
            direct: room.direct,
            id: message.seq,
            pieces: query.highlight(&message.body),
            file: message
                .attachment
                .as_deref()
                .map(|file| query.highlight(&file.name)),
            author: message.author,
            bot: message.bot,
            sent_at: rfc3339(message.sent_at),
            sent: minutes(message.sent_at),
        }
    }

    /// The room, opened at this message.
    pub fn href(&self) -> String {
        format!("/rooms/{}?at={}", self.room_id, self.id)
    }
}

/// /search: the form, and what it found or why it was refused.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub layout: Layout,
    /// What the reader typed, kept in the form.
    pub q: String,
    /// The one room searched, when narrowed to it.
    pub room: Option<i32>,
    /// A search ran (else the page is just the form).
    pub searched: bool,
    pub results: Vec<FoundView>,
    /// The next page of results, when there is one.
    pub more_href: Option<String>,
    /// Why the search was refused.
    pub error: Option<String>,
}

impl SearchPage {
    pub fn new(layout: Layout, q: String, room: Option<i32>) -> Self {
        Self {
            layout,
            q,
            room,
            searched: false,
            results: Vec::new(),
            more_href: None,
            error: None,
        }
    }

    /// What the search found, marked where it matched `query`.
    pub fn found(&mut self, query: &SearchQuery, found: Found) {
        self.searched = true;
        self.more_href = found.next.map(|next| {
            let mut href = url::form_urlencoded::Serializer::new(String::from("/search?"));
            href.append_pair("q", &self.q);
            if let Some(room) = self.room {
                href.append_pair("room", &room.to_string());
            }
            href.append_pair("before", &next.to_string());
            href.finish()
        });
        self.results = found
            .hits
            .into_iter()
            .map(|hit| FoundView::new(hit, query))
            .collect();
    }

    /// The search was refused: the form comes back with what was typed, and why.
    pub fn refused(&mut self, why: &AppError) {
        self.error = Some(why.message().to_owned());
    }
}

/// One of the user's sessions on the account page.
pub struct SessionView {
    pub public_id: String,
    pub started: String,
    pub started_text: String,
    pub last_seen: String,
    pub last_seen_text: String,
    pub client: String,
    /// "terminal", or the browser and system its User-Agent names.
    pub device: String,
    pub current: bool,
}

impl SessionView {
    fn new(s: SessionSummary) -> Self {
        let at = |secs: i64| chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
        let (started, last_seen) = (at(s.started_at), at(s.last_seen));
        Self {
            started: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            started_text: started.format("%Y-%m-%d %H:%M UTC").to_string(),
            last_seen: last_seen.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            last_seen_text: last_seen.format("%Y-%m-%d %H:%M UTC").to_string(),
            device: Device::describe(&s.agent),
            public_id: s.public_id,
            client: s.client,
            current: s.current,
        }
    }
}

/// One of the user's API tokens on the account page: never its secret.
pub struct TokenView {
    pub id: i32,
    pub name: String,
    /// RFC 3339 (for the page's script) and UTC text (until it runs).
    pub created_at: String,
    pub created: String,
    /// None: never used.
    pub last_used_at: Option<String>,
    pub last_used: String,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            created_at: rfc3339(t.created_at),
            created: minutes(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
            last_used: t.last_used_at.map_or_else(|| "never".into(), minutes),
            name: t.name,
        }
    }
}

/// A token just made, on the one page that shows its secret.
pub struct NewTokenView {
    pub name: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub notice: Option<&'static str>,
    pub sessions: Vec<SessionView>,
    /// Why the change-password form was refused.
    pub password_error: Option<String>,
    /// The user's API tokens, newest first.
    pub tokens: Vec<TokenView>,
    /// The token the form just made: its secret is shown this once.
    pub new_token: Option<NewTokenView>,
    /// What was typed into the new-token form, kept when it was refused, and why.
    pub token_name: String,
    pub token_error: Option<String>,
}

impl AccountPage {
    pub fn new(layout: Layout, sessions: Vec<SessionSummary>, tokens: Vec<ApiToken>) -> Self {
        Self {
            layout,
            notice: None,
            sessions: sessions.into_iter().map(SessionView::new).collect(),
            password_error: None,
            tokens: tokens.into_iter().map(TokenView::from).collect(),
            new_token: None,
            token_name: String::new(),
            token_error: None,
        }
    }

    /// The new-token form comes back with what was typed and why it was refused.
    pub fn token_refused(&mut self, typed: String, why: &AppError) {
        self.token_name = typed;
        self.token_error = Some(why.message().to_owned());
    }

    /// What the last action did; only these fixed texts are ever shown.
    pub fn notice(key: Option<&str>) -> Option<&'static str> {
        match key? {
            "password" => Some("Your password was changed, and your other sessions were ended."),
            "one-time" => Some(
                "You logged in with a one-time password. Choose a new password to go on: type \
                 the one-time password as your current one.",
            ),
            "ended" => Some("That session was ended."),
            "revoked" => Some("That token was revoked: it no longer opens anything."),
            _ => None,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub layout: Layout,
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
}

/// A time as the admin pages show it, to the minute.
fn minutes(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An unused invitation on the admin page.
pub struct InvitationView {
    pub id: i32,
    pub created_by: String,
    /// RFC 3339 (for the page's script) and UTC text (until it runs).
    pub created_at: String,
    pub created: String,
    pub expires_at: String,
    pub expires: String,
}

/// An entry of the audit log on the admin page.
pub struct AuditView {
    pub at: String,
    pub at_text: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
}

/// /admin: registration, invitations, and the audit log.
#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub layout: Layout,
    pub notice: Option<String>,
    /// An invitation link just made: shown once, since only its hash is kept.
    pub new_link: Option<String>,
    /// "open", "invite" or "closed".
    pub registration: &'static str,
    pub invitations: Vec<InvitationView>,
    pub audit: Vec<AuditView>,
}

impl AdminPage {
    pub fn new(layout: Layout, overview: crate::admin::Overview) -> Self {
        Self {
            layout,
            notice: None,
            new_link: None,
            registration: overview.registration.as_str(),
            invitations: overview
                .invitations
                .into_iter()
                .map(|i| InvitationView {
                    id: i.id,
                    created_by: i.created_by,
                    created: minutes(i.created_at),
                    created_at: rfc3339(i.created_at),
                    expires: minutes(i.expires_at),
                    expires_at: rfc3339(i.expires_at),
                })
                .collect(),
            audit: overview
                .audit
                .into_iter()
                .map(|e| AuditView {
                    at: rfc3339(e.at),
                    at_text: minutes(e.at),
                    actor: e.actor,
                    action: e.action,
                    subject: e.subject,
                })
                .collect(),
        }
    }
}

/// A user on the admin page.
pub struct AdminUserView {
    pub id: i32,
    pub username: String,
    pub registered_at: String,
    pub registered: String,
    pub last_seen_at: Option<String>,
    pub last_seen: String,
    pub admin: bool,
    pub disabled: bool,
    /// The reader's own row: no button to disable themselves.
    pub is_self: bool,
}

/// /admin/users: find users, disable and enable them.
#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct AdminUsersPage {
    pub layout: Layout,
    pub notice: Option<String>,
    pub search: String,
    pub users: Vec<AdminUserView>,
    /// More users match than the page shows.
    pub more: bool,
}

impl AdminUsersPage {
    pub fn new(layout: Layout, search: String, users: Vec<crate::models::User>) -> Self {
        let shown = usize::try_from(crate::admin::USERS_SHOWN).unwrap_or(usize::MAX);
        let reader = layout.user.clone();
        Self {
            layout,
            notice: None,
            search,
            more: users.len() >= shown,
            users: users
                .into_iter()
                .map(|u| AdminUserView {
                    id: u.id,
                    is_self: reader.as_deref() == Some(u.username.as_str()),
                    username: u.username,
                    registered_at: rfc3339(u.created_at),
                    registered: minutes(u.created_at),
                    last_seen_at: u.last_seen_at.map(rfc3339),
                    last_seen: u.last_seen_at.map_or_else(|| "never".into(), minutes),
                    admin: u.is_admin,
                    disabled: u.disabled_at.is_some(),
                })
                .collect(),
        }
    }
}

/// A public room on the admin page.
pub struct AdminRoomView {
    pub id: i32,
    pub name: String,
    pub creator: String,
    pub messages: i64,
    pub last_activity_at: String,
    pub last_activity: String,
}

/// /admin/rooms: every public room, and deleting any of them.
#[derive(Template)]
#[template(path = "admin_rooms.html")]
pub struct AdminRoomsPage {
    pub layout: Layout,
    pub notice: Option<String>,
    pub rooms: Vec<AdminRoomView>,
    pub page: u32,
    pub next: Option<u32>,
}

impl AdminRoomsPage {
    pub fn new(layout: Layout, listed: crate::admin::RoomsPage) -> Self {
        Self {
            layout,
            notice: None,
            page: listed.page,
            next: listed.next,
            rooms: listed
                .rooms
                .into_iter()
                .map(|r| AdminRoomView {
                    id: r.id,
                    name: r.name,
                    creator: r.creator,
                    messages: r.messages,
                    last_activity_at: rfc3339(r.last_activity_at),
                    last_activity: minutes(r.last_activity_at),
                })
                .collect(),
        }
    }

    /// The link to the page before this one, if this is not the first.
    pub fn newer_href(&self) -> Option<String> {
        match self.page {
            0 | 1 => None,
            2 => Some("/admin/rooms".to_owned()),
            page => Some(format!("/admin/rooms?page={}", page - 1)),
        }
    }

    /// The link to the page after this one, if more rooms follow.
    pub fn older_href(&self) -> Option<String> {
        self.next.map(|next| format!("/admin/rooms?page={next}"))
    }
}

#[cfg(test)]
mod tests {
    use super::fit_thumbnail;

    #[test]
    fn an_image_that_fits_the_box_keeps_its_size_and_a_larger_one_shrinks_to_it() {
        assert_eq!(fit_thumbnail(640, 480), (640, 480));
        assert_eq!(fit_thumbnail(1200, 800), (1200, 800));
        assert_eq!(fit_thumbnail(4000, 3000), (1067, 800));
        assert_eq!(fit_thumbnail(6000, 1000), (1200, 200));
        assert_eq!(fit_thumbnail(100, 5000), (16, 800));
        assert_eq!(fit_thumbnail(100_000, 1), (1200, 1));
    }
}

/// A bot on /admin/bots.
pub struct AdminBotView {
    pub id: i32,
    pub name: String,
    pub created_at: String,
    pub created: String,
    /// Empty when it has none.
    pub webhook_url: String,
    pub failure: Option<FailureView>,
    pub disabled: bool,
}

/// Why the last delivery to a bot's webhook failed, and when.
pub struct FailureView {
    pub at: String,
    pub at_text: String,
    pub why: String,
}

/// A bot just made, and its token: shown once.
pub struct NewBotView {
    pub name: String,
    pub token: String,
}

/// /admin/bots: make bots, set their webhooks, see their failures, delete them.
#[derive(Template)]
#[template(path = "admin_bots.html")]
pub struct AdminBotsPage {
    pub layout: Layout,
    pub notice: Option<String>,
    pub error: Option<String>,
    /// The name typed into the create form, kept when it is refused.
    pub name: String,
    pub new_bot: Option<NewBotView>,
    pub bots: Vec<AdminBotView>,
}

impl AdminBotsPage {
    pub fn new(layout: Layout, bots: Vec<crate::models::bot::Bot>) -> Self {
        Self {
            layout,
            notice: None,
            error: None,
            name: String::new(),
            new_bot: None,
            bots: bots
                .into_iter()
                .map(|b| AdminBotView {
                    id: b.user_id,
                    name: b.name,
                    created_at: rfc3339(b.created_at),
                    created: minutes(b.created_at),
                    webhook_url: b.webhook_url.unwrap_or_default(),
                    failure: b
                        .last_failure
                        .zip(b.last_failure_at)
                        .map(|(why, at)| FailureView {
                            at: rfc3339(at),
                            at_text: minutes(at),
                            why,
                        }),
                    disabled: b.disabled,
                })
                .collect(),
        }
    }
}
