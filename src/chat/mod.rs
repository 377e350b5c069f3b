//! The service: what people do with rooms and messages. Every operation lives here once, over
//! the models (the database, which decides) and the live state (memory, which remembers), so
//! that the pages, the JSON API, the terminal client's endpoints and the background tasks
//! all go through the same code. Handlers parse their input, call one function here, and
//! shape the answer.

mod attachments;
mod attention_loader;
pub mod background;
mod commit;
mod notifications;
mod poster;
mod search;
pub mod signals;
mod webhooks;

pub use attachments::Upload;
pub use search::{Found, SEARCH_PAGE};
pub use webhooks::NewWebhook;

use std::collections::HashSet;
use std::sync::Arc;

use crate::blocking::LowPriorityPool;
use crate::db::DbConnection;

use crate::auth::CurrentUser;
use crate::auth::client_addr::ClientAddr;
use crate::db::Db;
use crate::domain::{ClientId, LoginName, MessageText, Page, Reaction, RoomName, markdown};
use crate::errors::AppError;
use crate::live::{Attention, Held, Live, MemoryAnswer, PeopleJson, TAIL, lobby_clock};
use crate::models::read::RoomRead;
use crate::models::{
    Changes, Level, LogEntry, ModelError, NewPost, Notice, Removed, Room, RoomListing, User,
    Webhook,
};
use crate::throttle::Throttles;
use attention_loader::AttentionLoader;
use commit::{after_commit, commit};
use poster::Poster;
use signals::Signals;

/// How much history a room page (or an API enter) starts with; older pages come on request.
pub const HISTORY: i64 = 200;
/// The most entries one poll answers with; the client asks again from the last one.
pub const PAGE_LIMIT: usize = 500;
/// How many rooms one page of the lobby lists.
pub const LOBBY_PAGE: u32 = 200;
/// How many people one query of `warm_up` asks about, and how many such queries it makes at
/// most: start-up knows the attention of up to 100,000 people in rooms.
const WARM_ATTENTION_CHUNK: usize = 500;
const WARM_ATTENTION_CHUNKS: usize = 200;

pub struct Chat {
    db: Db,
    live: Arc<Live>,
    throttles: Arc<Throttles>,
    poster: Poster,
    attention_loader: AttentionLoader,
    signals: Arc<Signals>,
    /// Where uploaded files are prepared (see `attachments`).
    media: LowPriorityPool,
    attachment_max_bytes: usize,
}

/// A room in someone's lobby, with how many people are in it now.
pub struct Listed {
    pub room: RoomListing,
    pub present: usize,
}

/// One page of someone's lobby.
pub struct Lobby {
    pub rooms: Vec<Listed>,
    /// Counted from 1.
    pub page: u32,
    /// The next page's number, if there are rooms past this one.
    pub next: Option<u32>,
    /// The user administers the server: the lobby links to /admin.
    pub administrator: bool,
    /// The lobby's version (see `live::lobby_clock`) from before the rooms were read: a change
    /// committed meanwhile moves the version a poll brings later.
    pub version: i64,
    /// What needs the reader in the rooms.
    pub attention: Attention,
}

/// A room as its page shows it to someone inside: the latest entries, and the last one they
/// had read before.
pub struct Inside {
    pub room: Room,
    /// How the reader names the room (a direct conversation: the other person's name).
    pub title: String,
    /// Its messages not deleted, for the delete-room question.
    pub messages: i64,
    pub history: Vec<LogEntry>,
    /// The entry the history is around (`show`'s `at`), when it is not the latest.
    pub at: Option<i32>,
    pub last_read: Option<i32>,
    /// The reader administers the server (and so moderates every public room).
    pub administrator: bool,
    /// How loud the room is for the reader.
    pub level: Level,
    /// The room's incoming webhooks, for a reader who may manage them (see `webhooks`).
    pub webhooks: Option<Vec<Webhook>>,
}

/// What a room's page shows: the room to someone inside it, else the way in.
pub enum RoomView {
    Inside(Inside),
    /// The room, and how the reader names it.
    Outside(Room, String),
}

/// A room just entered, with its latest entries (for the API, whose clients poll on from the
/// last one).
pub struct Entered {
    pub room: Room,
    pub history: Vec<LogEntry>,
}

/// The answer to a poll: what is new, and who is present and typing.
pub struct Polled {
    pub entries: Vec<Arc<Held>>,
    pub people: PeopleJson,
    /// The lobby's version (see `live::lobby_clock`): the page refreshes its sidebar when it
    /// moves.
    pub lobby: i64,
    /// What needs the reader in other rooms.
    pub attention: Attention,
}

impl Chat {
    /// Starts the service, its message writer on the current runtime and the threads that
    /// prepare uploaded files.
    pub fn start(
        db: Db,
        live: Arc<Live>,
        throttles: Arc<Throttles>,
        signals: Signals,
        attachment_max_bytes: usize,
    ) -> std::io::Result<Self> {
        let signals = Arc::new(signals);
        let poster = Poster::start(db.clone(), live.clone(), signals.clone());
        let attention_loader = AttentionLoader::start(db.clone(), live.clone());
        let media = LowPriorityPool::new(
            attachments::MEDIA_THREADS,
            attachments::MEDIA_QUEUE,
            "media",
        )?;
        Ok(Self {
            db,
            live,
            throttles,
            poster,
            attention_loader,
            signals,
            media,
            attachment_max_bytes,
        })
    }

    /// Loads who is in which room, and the busiest rooms' latest entries, before serving:
    /// after a restart, every open page polls within a second, and none of those polls should
    /// need the database.
    pub async fn warm_up(&self, rooms: usize) -> Result<(), AppError> {
        let rooms = i64::try_from(rooms).unwrap_or(i64::MAX);
        let live = self.live.clone();
        self.db
            .run(move |conn| {
                let _turn = live.write_turn();
                for room in Room::most_active(conn, rooms)? {
                    live.recent
                        .fill(room, LogEntry::latest(conn, room, TAIL as i64)?);
                }
                // After the tails: a move since then is above their heads, for catch-up to see.
                let memberships = User::memberships(conn)?;
                live.recent.preload_memberships(&memberships);
                let (newest, deleted_rooms) = Room::lobby_version(conn)?;
                live.lobby.set(lobby_clock::version(newest, deleted_rooms));
                live.attention.set_cursor(Notice::newest(conn)?);
                // Those in a room poll first after a restart. Most have nothing unread: they
                // start known to memory, so that their first polls do not wait for the
                // attention loader; the others' notices are read at their first poll.
                let people: Vec<i32> = memberships.iter().map(|&(user_id, _)| user_id).collect();
                conn.read_transaction(|conn| {
                    let as_of = Notice::newest(conn)?;
                    for some in people
                        .chunks(WARM_ATTENTION_CHUNK)
                        .take(WARM_ATTENTION_CHUNKS)
                    {
                        let waiting: HashSet<i32> =
                            Notice::waiting_among(conn, some)?.into_iter().collect();
                        for &user_id in some.iter().filter(|id| !waiting.contains(id)) {
                            live.attention.load(user_id, Vec::new(), as_of);
                        }
                    }
                    diesel::QueryResult::Ok(())
                })?;
                live.confirmed();
                Ok(())
            })
            .await
    }

    /// The name of a public room that was deleted (for the lobby's notice), `None` if no
    /// room of that number was. Public rooms' names were listed to everyone, so anyone
    /// logged in may ask.
    pub async fn deleted_room_name(&self, room_id: i32) -> Result<Option<String>, AppError> {
        self.db
            .run(move |conn| Ok(Room::deleted_name(conn, room_id)?))
            .await
    }

    /// A page of the rooms the user's lobby lists (`LOBBY_PAGE` of them, page 1 first),
    /// newest activity first, with unread and present counts.
    pub async fn lobby(&self, user: &CurrentUser, page: Page) -> Result<Lobby, AppError> {
        self.save_read_marks(user.id).await?;
        let version = self.live.lobby.now();
        let user_id = user.id;
        let offset = page.offset(LOBBY_PAGE);
        // One more than a page: whether it comes says whether there is a next page.
        let limit = i64::from(LOBBY_PAGE) + 1;
        let (mut rooms, administrator) = self
            .db
            .run(move |conn| {
                let rooms = Room::lobby(conn, user_id, offset, limit)?;
                Ok((rooms, User::administering(conn, user_id)?.is_some()))
            })
            .await?;
        let more = rooms.len() > LOBBY_PAGE as usize;
        rooms.truncate(LOBBY_PAGE as usize);
        let present = self.live.presence.counts().await;
        self.reload_attention(user_id).await?;
        let attention = self.attention(user_id, None).await?;
        Ok(Lobby {
            attention,
            rooms: rooms
                .into_iter()
                .map(|room| Listed {
                    present: present.get(&room.id).copied().unwrap_or(0),
                    room,
                })
                .collect(),
            page: page.number(),
            next: page.next(more),
            administrator,
            version,
        })
    }

    /// Creates a room with its creator inside.
    pub async fn create_room(
        &self,
        user: &CurrentUser,
        client: ClientAddr,
        name: RoomName,
    ) -> Result<Room, AppError> {
        self.throttles.room(user.id).await?;
        let creator = user.id;
        let room = self
            .write(move |conn, changes| Room::create(conn, &name, creator, changes))
            .await?;
        log::info!(
            "{} created room {} {:?} from {client}",
            user.username,
            room.id,
            room.name
        );
        Ok(room)
    }

    /// Makes the room the user's room, taking them out of any other.
    pub async fn enter(&self, user: &CurrentUser, room_id: i32) -> Result<Room, AppError> {
        let user_id = user.id;
        self.write(move |conn, changes| Room::enter(conn, room_id, user_id, changes))
            .await
    }

    /// Enters the room and reads its latest entries, which count as read.
    pub async fn enter_and_read(
        &self,
        user: &CurrentUser,
        room_id: i32,
    ) -> Result<Entered, AppError> {
        let user_id = user.id;
        let entered = self
            .write(move |conn, changes| {
                let room = Room::enter(conn, room_id, user_id, changes)?;
                let history = LogEntry::latest(conn, room.id, HISTORY)?;
                Ok(Entered { room, history })
            })
            .await?;
        if let Some(last) = entered.history.last() {
            self.saw(user_id, room_id, last.seq);
        }
        Ok(entered)
    }

    /// The room's page, as the user may see it: its latest entries, or with `at` the entries
    /// around that one (where a search result opens it). Changes nothing.
    pub async fn show(
        &self,
        user: &CurrentUser,
        room_id: i32,
        at: Option<i32>,
    ) -> Result<RoomView, AppError> {
        self.save_read_marks(user.id).await?;
        let user_id = user.id;
        self.db
            .run(move |conn| {
                let (room, inside) = Room::view(conn, room_id, user_id)?;
                let title = room.title_for(conn, user_id)?;
                if !inside {
                    return Ok(RoomView::Outside(room, title));
                }
                let messages = Room::message_count(conn, room_id)?;
                let last_read = RoomRead::last_read(conn, user_id, room_id)?;
                let history = match at {
                    Some(seq) => LogEntry::window(conn, room_id, seq)?,
                    None => LogEntry::latest(conn, room_id, HISTORY)?,
                };
                let administrator = User::administering(conn, user_id)?.is_some();
                let level = Level::of(conn, user_id, &room)?;
                let webhooks = match webhooks::may_manage(&room, user_id, administrator) {
                    true => Some(Webhook::of_room(conn, room_id)?),
                    false => None,
                };
                Ok(RoomView::Inside(Inside {
                    webhooks,
                    level,
                    room,
                    title,
                    messages,
                    history,
                    at,
                    last_read,
                    administrator,
                }))
            })
            .await
    }

    /// Takes the user out of the room, if that is where they are.
    pub async fn leave(&self, user: &CurrentUser, room_id: i32) -> Result<(), AppError> {
        let user_id = user.id;
        self.write(move |conn, changes| Room::leave(conn, room_id, user_id, changes))
            .await?;
        self.live.presence.left(room_id, user_id).await;
        Ok(())
    }

    /// Deletes a public room and its log; its creator may, or an administrator. Those inside
    /// learn it at their next poll (410). A direct conversation is hidden from the user's lobby
    /// instead (see `Room::delete`).
    pub async fn delete_room(
        &self,
        user: &CurrentUser,
        client: ClientAddr,
        room_id: i32,
    ) -> Result<Removed, AppError> {
        let user_id = user.id;
        let removed = self
            .write(move |conn, changes| Room::delete(conn, room_id, user_id, changes))
            .await?;
        match &removed {
            Removed::Deleted(room) => log::info!(
                "{} deleted room {} {:?} from {client}",
                user.username,
                room.id,
                room.name
            ),
            Removed::Hidden(room) => {
                self.live.presence.left(room.id, user_id).await;
            }
        }
        Ok(removed)
    }

    /// Opens (creating it the first time) the direct conversation with `other`, and puts the
    /// user in it. A new conversation counts against the user's limit of new rooms.
    pub async fn open_direct(
        &self,
        user: &CurrentUser,
        other: LoginName,
    ) -> Result<Room, AppError> {
        let user_id = user.id;
        let lookup = other.clone();
        let exists = self
            .db
            .run(move |conn| Ok(Room::direct_exists(conn, user_id, &lookup)?))
            .await?;
        if !exists {
            self.throttles.room(user_id).await?;
        }
        self.write(move |conn, changes| Room::open_direct(conn, user_id, &other, changes))
            .await
    }

    /// Stores a message from a member of the room (with the others waiting now, in one
    /// commit) and answers once it is committed. A reply names the message it answers.
    pub async fn post(
        &self,
        user: &CurrentUser,
        room_id: i32,
        text: MessageText,
        client_id: Option<ClientId>,
        reply_to: Option<i32>,
    ) -> Result<LogEntry, AppError> {
        // Counted with the post when the limits live in the database: one wait fewer.
        let counted = self.throttles.message_in_transaction(user.id);
        if counted.is_none() {
            self.count_message(user).await?;
        }
        let accounts = self.mentionable(&text).await?;
        let post = NewPost::mentioning(room_id, user.id, text, client_id, &accounts)
            .replying_to(reply_to)
            .counting(counted);
        let message = self.poster.post(post).await?;
        self.live.presence.sent(room_id, user.id).await;
        Ok(message)
    }

    /// Deletes a message (its author may, or in a public room its creator or an administrator):
    /// it keeps its place, emptied, and a `deleted` entry tells the pollers.
    pub async fn delete_message(
        &self,
        user: &CurrentUser,
        room_id: i32,
        seq: i32,
    ) -> Result<(), AppError> {
        let user_id = user.id;
        self.write(move |conn, changes| {
            LogEntry::delete_message(conn, room_id, seq, user_id, changes)
        })
        .await?;
        Ok(())
    }

    /// Its author changes a message's text; an `edited` entry tells the pollers. Counts
    /// against the message rate limit, as a new message would.
    pub async fn edit_message(
        &self,
        user: &CurrentUser,
        room_id: i32,
        seq: i32,
        text: MessageText,
    ) -> Result<LogEntry, AppError> {
        self.count_message(user).await?;
        let user_id = user.id;
        let accounts = self.mentionable(&text).await?;
        let rendered = markdown::render_mentioning(text.as_str(), &accounts);
        self.write(move |conn, changes| {
            LogEntry::edit(conn, room_id, seq, user_id, &text, &rendered, changes)
        })
        .await
    }

    /// A member adds (`on`) or takes back a reaction; a `reacted` or `unreacted` entry tells
    /// the pollers, only when something changed. Answers the message, and whether it changed.
    /// Counts against the message rate limit: each change is an entry of the log.
    pub async fn react(
        &self,
        user: &CurrentUser,
        room_id: i32,
        seq: i32,
        emoji: Reaction,
        on: bool,
    ) -> Result<(LogEntry, bool), AppError> {
        self.count_message(user).await?;
        let user_id = user.id;
        self.write(move |conn, changes| {
            LogEntry::react(conn, room_id, seq, user_id, (&emoji, on), changes)
        })
        .await
    }

    /// A member's poll: the entries numbered above `after`, and who is present and typing.
    /// Memory answers when it can vouch for the answer; the database otherwise.
    pub async fn poll(
        &self,
        user: &CurrentUser,
        room_id: i32,
        after: i32,
        typing: bool,
    ) -> Result<Polled, AppError> {
        // Memory answers only while catch-up keeps confirming it against the database.
        let known = match self.live.vouches() {
            true => self.live.recent.poll(room_id, user.id, after, PAGE_LIMIT),
            false => None,
        };
        let (entries, head) = match known {
            Some(MemoryAnswer::Deleted) => return Err(ModelError::Deleted.into()),
            Some(MemoryAnswer::Entries { entries, head }) => (entries, head),
            None => self.poll_database(user.id, room_id, after).await?,
        };
        let arrived = self
            .live
            .presence
            .polled(room_id, user.id, &user.username, typing)
            .await;
        // How far the reader has seen: what this answer brings, or, on a page's first poll,
        // what the page showed (the cursor, never past the head: see `poll_database`).
        let seen = entries.last().map(|e| e.seq).or(arrived.then_some(after));
        if let Some(seen) = seen.filter(|&seen| seen > 0 && seen <= head) {
            self.saw(user.id, room_id, seen);
        }
        let attention = self.attention(user.id, Some((room_id, after))).await?;
        let newcomer = arrived.then_some(user.username.as_str());
        let people = self.live.presence.people_json(room_id, newcomer).await;
        Ok(Polled {
            entries,
            people,
            lobby: self.live.lobby.now(),
            attention,
        })
    }

    /// Fills the room's tail first if memory has none, then reads: a move that another
    /// process commits after the read is above the tail's head, where catch-up sees it. A
    /// cursor past the room's head was never given out (a page from before an upgrade, or
    /// another room's number): 409, so that the client starts again.
    async fn poll_database(
        &self,
        user_id: i32,
        room_id: i32,
        after: i32,
    ) -> Result<(Vec<Arc<Held>>, i32), AppError> {
        let moves = self.live.recent.moves(user_id);
        let fill = !self.live.recent.has_tail(room_id);
        let live = self.live.clone();
        let limit = PAGE_LIMIT as i64;
        let (new, head) = self
            .db
            .run(move |conn| {
                if fill {
                    // Only a member's poll fills a tail: nobody fills memory with rooms they
                    // may not read (`since` checks again, after the fill).
                    Room::find_as_member(conn, room_id, user_id)?;
                    let _turn = live.write_turn();
                    live.recent
                        .fill(room_id, LogEntry::latest(conn, room_id, TAIL as i64)?);
                }
                Ok(LogEntry::since(conn, room_id, user_id, after, limit)?)
            })
            .await?;
        if after > head {
            return Err(AppError::CursorAhead);
        }
        self.live.recent.learned(room_id, user_id, moves);
        Ok((
            new.into_iter().map(|e| Arc::new(Held::new(e))).collect(),
            head,
        ))
    }

    /// A member's look further back: the entries numbered below `before`, oldest first.
    pub async fn older(
        &self,
        user: &CurrentUser,
        room_id: i32,
        before: i32,
    ) -> Result<Vec<LogEntry>, AppError> {
        let user_id = user.id;
        self.db
            .run(move |conn| Ok(LogEntry::before(conn, room_id, user_id, before)?))
            .await
    }

    /// Counts one more message-like write of the user's (a post, an edit, a reaction) against
    /// the message rate limit: "You're sending messages too fast" past it.
    async fn count_message(&self, user: &CurrentUser) -> Result<(), AppError> {
        self.throttles
            .message(user.id)
            .await
            .map_err(AppError::sending_too_fast)
    }

    /// Writes the user's read marks that are still in memory, before anything counts their
    /// unread messages.
    async fn save_read_marks(&self, user_id: i32) -> Result<(), AppError> {
        background::record_read_marks(&self.db, &self.live, self.live.reads.take_for(user_id)).await
    }

    /// Runs a write and hands its committed changes to the live state.
    async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection, &mut Changes) -> Result<T, ModelError> + Send + 'static,
        T: Send + 'static,
    {
        let (out, changes) = commit(&self.db, &self.live, &self.signals, f).await?;
        after_commit(&self.live, &changes).await;
        Ok(out?)
    }
}
