//! The terminal client's logic, without a terminal: commands, the room list, the log with the
//! poller's cursor, and the status line. The interface (tui.rs) only draws it and feeds it keys.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::distr::{Alphanumeric, SampleString};

use super::api::{Api, ApiError, Entry, FileToSend, Hit, Reaction, RoomInfo};
use super::printable::printable;
use crate::domain::excerpt;
use crate::domain::human_size;

/// "is typing" is sent while the user typed within this long.
const TYPING_FOR: Duration = Duration::from_secs(3);

/// The room the user is in.
#[derive(Debug, Clone)]
pub struct Current {
    pub id: i32,
    pub name: String,
    pub creator_id: i32,
    /// A direct conversation: between equals, so either person may hide it.
    pub direct: bool,
    /// The log as shown, in id order: messages, joins and leaves. Deleted messages keep their
    /// place; the entries that change a message (edited, reacted, ...) are applied to it.
    pub log: Vec<Entry>,
    /// The poller's cursor: the number of the last entry shown. A room's entries are
    /// numbered 1, 2, 3, ... with no holes.
    pub cursor: i64,
    pub present: Vec<String>,
    pub typing: Vec<String>,
    /// The tag of `present` and `typing` as the server last sent them: the next poll sends
    /// it back, and the answer leaves the lists out while they stay the same.
    pub people_tag: Option<String>,
    shown: HashSet<i64>,
    /// The lowest number received (shown or applied): older history is asked for below it.
    oldest: Option<i64>,
}

/// The most a file may hold for the client to read it to send: far above what servers take
/// (10 MiB by default), so that a mistaken path to a disk image is refused before it fills
/// the memory.
pub const UPLOAD_READ_MAX: u64 = 1 << 30;

/// The path as typed, with a leading `~` standing for the home folder (as a shell reads it).
pub fn expand_home(path: &str) -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    match path.strip_prefix('~') {
        Some("") => home().unwrap_or_else(|| PathBuf::from(path)),
        Some(rest) if rest.starts_with('/') => match home() {
            Some(home) => home.join(rest.trim_start_matches('/')),
            None => PathBuf::from(path),
        },
        _ => PathBuf::from(path),
    }
}

/// The name a file is sent under: its path's last part.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// The file's bytes, or why it cannot be sent, in words for the status line.
fn read_upload(path: &Path) -> Result<Vec<u8>, String> {
    let shown = printable(&path.to_string_lossy());
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("there is no file {shown}"));
        }
        Err(err) => return Err(format!("cannot read {shown}: {err}")),
    };
    if meta.is_dir() {
        return Err(format!("{shown} is a folder, not a file"));
    }
    if meta.len() > UPLOAD_READ_MAX {
        return Err(format!(
            "{shown} is too large ({}) to send",
            human_size(meta.len())
        ));
    }
    let bytes = std::fs::read(path).map_err(|err| format!("cannot read {shown}: {err}"))?;
    if bytes.is_empty() {
        return Err(format!("{shown} is empty"));
    }
    Ok(bytes)
}

/// What the status line says while a command runs: what an upload is sending (it may take a
/// while), "…" for the rest.
pub fn working(line: &str) -> String {
    let Some(path) = line
        .trim()
        .strip_prefix("/upload")
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .map(str::trim)
        .filter(|rest| !rest.is_empty())
    else {
        return "…".to_owned();
    };
    let path = expand_home(path);
    let name = printable(&file_name(&path));
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => format!("sending {name} ({})…", human_size(meta.len())),
        _ => format!("sending {name}…"),
    }
}

/// Whether an entry changes an earlier message rather than being a line of its own.
fn is_change(kind: &str) -> bool {
    matches!(kind, "deleted" | "edited" | "reacted" | "unreacted")
}

impl Current {
    fn new(id: i32, name: String, creator_id: i32, direct: bool) -> Self {
        Self {
            id,
            name,
            creator_id,
            direct,
            log: Vec::new(),
            cursor: 0,
            present: Vec::new(),
            typing: Vec::new(),
            people_tag: None,
            shown: HashSet::new(),
            oldest: None,
        }
    }

    /// Appends what the server sent, in its order, skipping anything already shown; an entry
    /// that changes a message (deleted, edited, reacted, unreacted) changes it in place. An
    /// answer that skips a number is a fault: what follows the hole is dropped (false), and
    /// the next poll asks again from the last number shown.
    pub fn apply(&mut self, entries: Vec<Entry>) -> bool {
        for entry in entries {
            if entry.id <= self.cursor {
                continue;
            }
            if self.cursor > 0 && entry.id != self.cursor + 1 {
                return false;
            }
            self.cursor = entry.id;
            if !self.shown.insert(entry.id) {
                continue;
            }
            self.oldest = Some(self.oldest.map_or(entry.id, |o| o.min(entry.id)));
            if is_change(&entry.kind) {
                self.change(&entry);
                continue;
            }
            self.log.push(entry);
        }
        true
    }

    /// Applies `change` to the message it names. A message arrives in its current state, and
    /// the changes after it in the log may already be part of that state: applying one again
    /// leaves the message as it was. A message not shown, or deleted, is left alone.
    fn change(&mut self, change: &Entry) {
        let Some(target) = change.target else { return };
        let Some(message) = self
            .log
            .iter_mut()
            .find(|e| e.id == target && e.kind == "message" && !e.deleted)
        else {
            return;
        };
        match change.kind.as_str() {
            "deleted" => {
                message.deleted = true;
                message.text.clear();
                message.reactions.clear();
                message.attachment = None;
            }
            "edited" => {
                message.text.clone_from(&change.text);
                message.mentions.clone_from(&change.mentions);
                message.edited = true;
            }
            "reacted" => react(&mut message.reactions, &change.text, &change.author),
            "unreacted" => unreact(&mut message.reactions, &change.text, &change.author),
            _ => return,
        }
        // The replies quoting it quote what it says now.
        let excerpt = excerpt(&message.text);
        for quote in self.log.iter_mut().filter_map(|e| e.reply_to.as_mut()) {
            if quote.id == target {
                quote.excerpt.clone_from(&excerpt);
            }
        }
    }

    /// Puts older history (oldest first, all numbered below what was received) before the
    /// log: messages and joins only, as they come in their current state. Gives how many
    /// entries were added.
    pub fn prepend(&mut self, older: Vec<Entry>) -> usize {
        let below = self.oldest_received();
        let older: Vec<Entry> = older
            .into_iter()
            .filter(|e| e.id < below && self.shown.insert(e.id))
            .collect();
        if let Some(first) = older.iter().map(|e| e.id).min() {
            self.oldest = Some(first);
        }
        let older: Vec<Entry> = older.into_iter().filter(|e| !is_change(&e.kind)).collect();
        let added = older.len();
        self.log.splice(0..0, older);
        added
    }

    /// The lowest number received, or the next one to come when none was.
    fn oldest_received(&self) -> i64 {
        self.oldest.unwrap_or(self.cursor + 1)
    }

    /// Whether entries numbered below the first one received may exist.
    pub fn has_older(&self) -> bool {
        self.oldest_received() > 1
    }

    /// The newest message shown, not deleted, that `accept` takes.
    fn last_message(&self, accept: impl Fn(&Entry) -> bool) -> Option<&Entry> {
        self.log
            .iter()
            .rev()
            .find(|e| e.kind == "message" && !e.deleted && accept(e))
    }
}

/// `author` among those who reacted `emoji` (first reacted first), if not already.
fn react(reactions: &mut Vec<Reaction>, emoji: &str, author: &str) {
    match reactions.iter_mut().find(|r| r.emoji == emoji) {
        Some(reaction) if reaction.by.iter().any(|name| name == author) => {}
        Some(reaction) => {
            reaction.by.push(author.to_owned());
            reaction.count = reaction.by.len();
        }
        None => reactions.push(Reaction {
            emoji: emoji.to_owned(),
            count: 1,
            by: vec![author.to_owned()],
        }),
    }
}

/// `author` no longer among those who reacted `emoji`; an emoji nobody is left on goes.
fn unreact(reactions: &mut Vec<Reaction>, emoji: &str, author: &str) {
    for reaction in reactions.iter_mut().filter(|r| r.emoji == emoji) {
        reaction.by.retain(|name| name != author);
        reaction.count = reaction.by.len();
    }
    reactions.retain(|r| r.count > 0);
}

/// Whether `entry` is a message (not deleted) that mentions `me`: the server gives the
/// canonical names, and a name is matched whatever its letter case.
pub fn mentions(entry: &Entry, me: &str) -> bool {
    entry.kind == "message"
        && !entry.deleted
        && entry
            .mentions
            .iter()
            .any(|name| name.eq_ignore_ascii_case(me))
}

/// Whether entries that arrived by a poll call for the terminal's bell: someone else's
/// message that mentions `me`. (History shown on entering a room rings nothing.)
pub fn rings(arrived: &[Entry], me: &str) -> bool {
    arrived.iter().any(|e| e.author != me && mentions(e, me))
}

/// The results of the last /search, shown at the foot of the log pane until the next command.
#[derive(Debug, Clone)]
pub struct Search {
    /// What was searched for, as typed (made printable).
    pub text: String,
    /// Newest first, as the server gives them.
    pub hits: Vec<Hit>,
    /// Whether older results exist than these.
    pub more: bool,
}

/// What the caller should do after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Continue,
    Quit,
}

pub struct Chat {
    pub api: Api,
    pub me: String,
    pub my_id: i32,
    pub rooms: Vec<RoomInfo>,
    pub room: Option<Current>,
    pub status: String,
    /// The help is shown at the foot of the log pane, until the next command.
    pub help: bool,
    /// So are the last search's results.
    pub search: Option<Search>,
    /// True while the server does not answer.
    pub reconnecting: bool,
    last_typed: Option<Instant>,
    /// A message whose answer was lost: the same text is sent again under the same name.
    pending: Option<(String, String)>,
    /// The same for an upload: the same file (path, size) is sent again under the same name.
    pending_upload: Option<(PathBuf, u64, String)>,
    /// A message mentioning the user arrived since the interface last rang the bell.
    bell: bool,
}

/// What /help shows in the log pane.
pub const HELP: &[&str] = &[
    "Commands (anything else you type is a message):",
    "  /rooms          list your rooms",
    "  /join NAME      enter a room, or a conversation by the other person's name",
    "  /create NAME    create a room and enter it",
    "  /leave          leave the room",
    "  /delete         delete the room (a conversation: hide it)",
    "  /edit TEXT      replace the text of your last message",
    "  /upload PATH    send a file (~ is your home folder)",
    "  /react EMOJI    react to the last message (an emoji or a short word)",
    "  /unreact EMOJI  take that reaction back from the last message you gave it",
    "  /search TEXT    find messages in every room you may read (then /join ROOM)",
    "  /notify LEVEL   how loud this room is: all, mentions (of you) or nothing",
    "  /help           this help (Esc hides it)",
    "  /quit           quit (Ctrl+C too)",
    "Keys: PgUp/PgDn scroll the log, End goes back to the newest;",
    "  Left/Right, Home/End (Ctrl+A/Ctrl+E), Backspace/Delete edit the line,",
    "  Ctrl+U/Ctrl+K delete before/after the cursor, Up/Down recall what you sent.",
];

/// The status line when nothing else is to be said.
pub const HINT: &str = "/help for commands";

impl Chat {
    pub fn new(api: Api, me: String, my_id: i32) -> Self {
        Self {
            api,
            me,
            my_id,
            rooms: Vec::new(),
            room: None,
            status: HINT.to_owned(),
            help: false,
            search: None,
            reconnecting: false,
            last_typed: None,
            pending: None,
            pending_upload: None,
            bell: false,
        }
    }

    /// Whether the bell should ring now (once for what arrived since it last asked).
    pub fn take_bell(&mut self) -> bool {
        std::mem::take(&mut self.bell)
    }

    /// The user typed into the input line.
    pub fn typed(&mut self) {
        self.last_typed = Some(Instant::now());
    }

    fn is_typing(&self) -> bool {
        self.last_typed.is_some_and(|at| at.elapsed() < TYPING_FOR)
    }

    /// Handles one line from the input.
    pub async fn command(&mut self, line: &str) -> Next {
        let line = line.trim();
        let (verb, arg) = match line.split_once(char::is_whitespace) {
            Some((verb, arg)) => (verb, arg.trim()),
            None => (line, ""),
        };
        if verb.is_empty() {
            return Next::Continue;
        }
        // Whatever the status said is about what came before; the help too, unless asked again.
        self.status.clear();
        self.help = false;
        self.search = None;
        let result = match verb {
            "/quit" => return Next::Quit,
            "/rooms" => self.refresh_rooms().await.map(|()| {
                self.status = format!("{} rooms", self.rooms.len());
            }),
            "/join" if !arg.is_empty() => self.join(arg).await,
            "/create" if !arg.is_empty() => self.create(arg).await,
            "/leave" => self.leave().await,
            "/delete" => self.delete().await,
            "/edit" => {
                self.edit(arg).await;
                Ok(())
            }
            "/react" => {
                self.react(arg).await;
                Ok(())
            }
            "/unreact" => {
                self.unreact(arg).await;
                Ok(())
            }
            "/search" => self.search(arg).await,
            "/upload" => {
                self.upload(arg).await;
                Ok(())
            }
            "/notify" => {
                self.notify(arg).await;
                Ok(())
            }
            "/help" => {
                self.help = true;
                Ok(())
            }
            _ if verb.starts_with('/') => {
                self.status = format!("unknown command {verb}: {HINT}");
                Ok(())
            }
            _ => self.say(line).await,
        };
        if let Err(error) = result {
            self.show(&error);
        }
        Next::Continue
    }

    fn show(&mut self, error: &ApiError) {
        self.reconnecting = *error == ApiError::Unreachable;
        self.status = error.to_string();
    }

    pub async fn refresh_rooms(&mut self) -> Result<(), ApiError> {
        self.rooms = self.api.rooms().await?;
        Ok(())
    }

    /// Enters the room of that name, looking through the lobby a page at a time.
    async fn join(&mut self, name: &str) -> Result<(), ApiError> {
        let mut page = 1;
        loop {
            let (rooms, next) = self.api.rooms_page(page).await?;
            let found = rooms
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(name))
                .map(|r| r.id);
            if page == 1 {
                self.rooms = rooms;
            }
            if let Some(id) = found {
                return self.enter(id).await;
            }
            page = next.ok_or(ApiError::NotFound)?;
        }
    }

    pub async fn enter(&mut self, id: i32) -> Result<(), ApiError> {
        let entered = self.api.enter(id).await?;
        let name = self
            .rooms
            .iter()
            .find(|r| r.id == id)
            .map_or(entered.room.name, |r| r.name.clone());
        let mut current = Current::new(id, name, entered.room.creator_id, entered.room.direct);
        // The latest entries, in one piece: the poll goes on from the last.
        current.apply(entered.messages);
        self.status = format!("in {}", current.name);
        self.room = Some(current);
        self.refresh_rooms().await
    }

    async fn create(&mut self, name: &str) -> Result<(), ApiError> {
        let room = self.api.create_room(name).await?;
        self.refresh_rooms().await?;
        self.enter(room.id).await
    }

    async fn leave(&mut self) -> Result<(), ApiError> {
        let Some(room) = self.room.take() else {
            self.status = "you are not in a room".into();
            return Ok(());
        };
        self.api.leave(room.id).await?;
        self.status = format!("you left {}", room.name);
        self.refresh_rooms().await
    }

    async fn delete(&mut self) -> Result<(), ApiError> {
        let Some(room) = &self.room else {
            self.status = "you are not in a room".into();
            return Ok(());
        };
        // Whether this user may (the room's creator, an administrator; either person hides a
        // direct conversation) is the server's to say: its refusal becomes the status line.
        let (id, name, direct) = (room.id, room.name.clone(), room.direct);
        self.api.delete_room(id).await?;
        self.room = None;
        self.status = if direct {
            format!("you hid the conversation with {name} until a new message arrives")
        } else {
            format!("you deleted {name}")
        };
        self.refresh_rooms().await
    }

    async fn say(&mut self, text: &str) -> Result<(), ApiError> {
        let Some(room) = &self.room else {
            self.status = "join a room first (/rooms, /join NAME)".into();
            return Ok(());
        };
        let room_id = room.id;
        let client_id = match &self.pending {
            Some((pending, id)) if pending == text => id.clone(),
            _ => Alphanumeric.sample_string(&mut rand::rng(), 24),
        };
        self.pending = Some((text.to_owned(), client_id.clone()));
        self.api.send(room_id, text, &client_id).await?;
        self.pending = None;
        self.last_typed = None;
        // It reaches the log through the poll, in the same order everyone sees.
        self.poll().await;
        Ok(())
    }

    /// `/upload PATH`: sends the file as a message of its own. What could be wrong with it
    /// here (missing, a folder, empty, unreadable) is said before anything is sent; the
    /// server's refusal (too large, not an allowed kind) is said in its own words.
    async fn upload(&mut self, path: &str) {
        let Some(room) = &self.room else {
            self.status = "join a room first (/rooms, /join NAME)".into();
            return;
        };
        if path.is_empty() {
            self.status = "usage: /upload PATH".into();
            return;
        }
        let room_id = room.id;
        let path = expand_home(path);
        let shown = printable(&path.to_string_lossy());
        let bytes = match read_upload(&path) {
            Ok(bytes) => bytes,
            Err(why) => {
                self.status = format!("not sent: {why}");
                return;
            }
        };
        let size = bytes.len() as u64;
        let client_id = match &self.pending_upload {
            Some((pending, pending_size, id)) if *pending == path && *pending_size == size => {
                id.clone()
            }
            _ => Alphanumeric.sample_string(&mut rand::rng(), 24),
        };
        self.pending_upload = Some((path.clone(), size, client_id.clone()));
        let name = file_name(&path);
        let file = FileToSend {
            name: &name,
            bytes: &bytes,
            client_id: &client_id,
        };
        match self.api.upload(room_id, &file).await {
            Ok(_) => {
                self.pending_upload = None;
                self.status = format!("sent {} ({})", printable(&name), human_size(size));
                // It reaches the log through the poll, as messages do.
                self.poll().await;
            }
            Err(ApiError::Unreachable) => {
                self.reconnecting = true;
                self.status = format!(
                    "not sent: the server did not answer; /upload {shown} again sends it once"
                );
            }
            Err(error) => {
                self.pending_upload = None;
                self.reconnecting = false;
                self.status = format!("not sent: {error}");
            }
        }
    }

    /// The message a command acts on: the newest shown that `accept` takes, as (room, its
    /// number, its author). Without one (or without the command's argument), the status
    /// says what is missing.
    fn target(
        &mut self,
        arg: &str,
        usage: &str,
        none: &str,
        accept: impl Fn(&Entry) -> bool,
    ) -> Option<(i32, i64, String)> {
        let Some(room) = &self.room else {
            self.status = "join a room first (/rooms, /join NAME)".into();
            return None;
        };
        if arg.is_empty() {
            self.status = format!("usage: {usage}");
            return None;
        }
        let found = room
            .last_message(accept)
            .map(|m| (room.id, m.id, m.author.clone()));
        if found.is_none() {
            none.clone_into(&mut self.status);
        }
        found
    }

    /// Says why a change to a message did not happen.
    fn refused(&mut self, what: &str, error: ApiError) {
        self.reconnecting = error == ApiError::Unreachable;
        let why = match error {
            // Not retried, unlike a message: the user decides whether to try again.
            ApiError::Unreachable => "the server did not answer".to_owned(),
            ApiError::NotFound => "no such message".to_owned(),
            error => error.to_string(),
        };
        self.status = format!("{what}: {why}");
    }

    /// Whose message `author`'s is, from the user's side.
    fn whose(&self, author: &str) -> String {
        if author == self.me {
            "your".to_owned()
        } else {
            format!("{author}'s")
        }
    }

    /// `/edit TEXT`: the user's last message shown now says TEXT.
    async fn edit(&mut self, text: &str) {
        let me = self.me.clone();
        let none = "no message of yours to edit here";
        let Some((room, n, _)) = self.target(text, "/edit NEW TEXT", none, |m| m.author == me)
        else {
            return;
        };
        match self.api.edit(room, n, text).await {
            Ok(_) => {
                self.status = "message edited".into();
                // The change reaches the log through the poll, as everyone else's do.
                self.poll().await;
            }
            Err(error) => self.refused("not edited", error),
        }
    }

    /// `/react EMOJI`: the user reacts so to the room's last message.
    async fn react(&mut self, emoji: &str) {
        let none = "no message to react to here";
        let Some((room, n, author)) = self.target(emoji, "/react EMOJI", none, |_| true) else {
            return;
        };
        match self.api.react(room, n, emoji).await {
            Ok((_, added)) => {
                let whose = self.whose(&author);
                self.status = if added {
                    format!("you reacted {emoji} to {whose} message")
                } else {
                    format!("you had already reacted {emoji} to {whose} message")
                };
                self.poll().await;
            }
            Err(error) => self.refused("no reaction", error),
        }
    }

    /// `/unreact EMOJI`: takes back that reaction from the last message the user gave it.
    async fn unreact(&mut self, emoji: &str) {
        let me = self.me.clone();
        let none = format!("you reacted {} to no message shown here", printable(emoji));
        let mine = |m: &Entry| {
            m.reactions
                .iter()
                .any(|r| r.emoji == emoji && r.by.contains(&me))
        };
        let Some((room, n, _)) = self.target(emoji, "/unreact EMOJI", &none, mine) else {
            return;
        };
        match self.api.unreact(room, n, emoji).await {
            Ok(()) => {
                self.status = format!("you took back {emoji}");
                self.poll().await;
            }
            Err(error) => self.refused("reaction kept", error),
        }
    }

    /// `/notify LEVEL`: how loud the current room is for the user; the server decides which
    /// levels exist and says why it refuses one.
    async fn notify(&mut self, level: &str) {
        let Some(room) = &self.room else {
            self.status = "join a room first (/rooms, /join NAME)".into();
            return;
        };
        if level.is_empty() {
            self.status = "usage: /notify all|mentions|nothing".into();
            return;
        }
        let (id, name) = (room.id, room.name.clone());
        let level = level.to_lowercase();
        match self.api.set_level(id, &level).await {
            Ok(()) => {
                self.status = match level.as_str() {
                    "all" => format!("{name}: you will be told of every message"),
                    "mentions" => format!("{name}: you will be told when you are mentioned"),
                    _ => format!("{name}: you will be told of nothing"),
                };
            }
            Err(error) => {
                self.reconnecting = error == ApiError::Unreachable;
                self.status = format!("level not set: {error}");
            }
        }
    }

    /// `/search TEXT`: the newest messages that TEXT finds, in every room the user may read;
    /// the status says how many, or the server's reason for refusing (too short, too many).
    async fn search(&mut self, text: &str) -> Result<(), ApiError> {
        if text.is_empty() {
            self.status = "usage: /search TEXT".into();
            return Ok(());
        }
        let found = self.api.search(text).await?;
        let (count, more) = (found.results.len(), found.next.is_some());
        self.status = match count {
            0 => format!("nothing found for {}", printable(text)),
            1 => "1 result: /join ROOM goes there".to_owned(),
            _ if more => format!("the newest {count} results: /join ROOM goes there"),
            _ => format!("{count} results: /join ROOM goes there"),
        };
        self.search = Some(Search {
            text: printable(text),
            hits: found.results,
            more,
        });
        Ok(())
    }

    /// Fetches the room's history before what was received, a page at a time until something
    /// to show comes (a page may hold only changes to messages); gives how many entries were
    /// added (none at the start of the room).
    pub async fn load_older(&mut self) -> usize {
        loop {
            let Some(room) = self.room.as_ref().filter(|r| r.has_older()) else {
                return 0;
            };
            let (id, before) = (room.id, room.oldest_received());
            match self.api.older(id, before).await {
                Ok(older) => {
                    let Some(room) = self.room.as_mut().filter(|r| r.id == id) else {
                        return 0;
                    };
                    let added = room.prepend(older);
                    if added > 0 || room.oldest_received() >= before {
                        return added;
                    }
                }
                Err(error) => {
                    self.show(&error);
                    return 0;
                }
            }
        }
    }

    /// One poll of the current room (and, now and then, of the room list). Errors end up in
    /// the status line; the cursor is kept, so nothing is lost or repeated after a reconnect.
    pub async fn poll(&mut self) {
        let Some(room) = &self.room else {
            return;
        };
        let (id, after) = (room.id, room.cursor);
        let tag = room.people_tag.clone();
        match self
            .api
            .poll(id, after, self.is_typing(), tag.as_deref())
            .await
        {
            Ok(poll) => {
                if self.reconnecting {
                    self.status = "reconnected".into();
                }
                self.reconnecting = false;
                if let Some(room) = self.room.as_mut().filter(|r| r.id == id) {
                    let shown = room.log.len();
                    let applied = room.apply(poll.messages);
                    // New lines are appended: what arrived is past what was shown.
                    if rings(room.log.get(shown..).unwrap_or_default(), &self.me) {
                        self.bell = true;
                    }
                    if !applied {
                        log::debug!("room {id}: an answer skipped a number; asking again");
                    }
                    if let Some(present) = poll.present {
                        room.present = present;
                    }
                    if let Some(mut typing) = poll.typing {
                        typing.retain(|name| *name != self.me);
                        room.typing = typing;
                    }
                    room.people_tag = poll.people_tag;
                }
            }
            // The server never gave out the number the cursor holds: start the room afresh.
            Err(ApiError::Refused { code, .. }) if code == "cursor_ahead" => {
                if let Err(error) = self.enter(id).await {
                    self.show(&error);
                }
            }
            Err(error @ (ApiError::RoomDeleted | ApiError::NotInRoom | ApiError::NotFound)) => {
                let name = self.room.take().map(|r| r.name).unwrap_or_default();
                self.status = format!("{name}: {error}");
                let _ = self.refresh_rooms().await;
            }
            Err(error) => self.show(&error),
        }
    }

    /// How long to wait before the next poll: a second, longer while the server is away.
    pub fn poll_delay(&self, failures: u32) -> Duration {
        if self.reconnecting {
            Duration::from_secs(1 << failures.min(4))
        } else {
            Duration::from_secs(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::api::Quote;
    use super::*;
    use crate::domain::EXCERPT_CHARS;

    fn entry(id: i64, kind: &str, text: &str, target: Option<i64>) -> Entry {
        Entry {
            id,
            kind: kind.into(),
            author: "alice".into(),
            text: text.into(),
            sent_at: String::new(),
            target,
            deleted: false,
            edited: false,
            reply_to: None,
            reactions: Vec::new(),
            mentions: Vec::new(),
            attachment: None,
            bot: false,
        }
    }

    fn change(id: i64, kind: &str, author: &str, text: &str, target: i64) -> Entry {
        Entry {
            author: author.into(),
            ..entry(id, kind, text, Some(target))
        }
    }

    fn log_ids(room: &Current) -> Vec<i64> {
        room.log.iter().map(|e| e.id).collect()
    }

    fn reactions(entry: &Entry) -> Vec<(&str, usize, Vec<&str>)> {
        entry
            .reactions
            .iter()
            .map(|r| {
                let by = r.by.iter().map(String::as_str).collect();
                (r.emoji.as_str(), r.count, by)
            })
            .collect()
    }

    fn mentioning(id: i64, author: &str, names: &[&str]) -> Entry {
        Entry {
            author: author.into(),
            mentions: names.iter().map(|n| (*n).to_owned()).collect(),
            ..entry(id, "message", "hey", None)
        }
    }

    #[test]
    fn a_message_mentioning_the_user_in_any_letter_case_rings_unless_it_is_their_own() {
        assert!(mentions(&mentioning(1, "alice", &["Bob"]), "bob"));
        assert!(mentions(&mentioning(1, "alice", &["carol", "bob"]), "BOB"));
        assert!(!mentions(&mentioning(1, "alice", &["bobby"]), "bob"));
        assert!(!mentions(&mentioning(1, "alice", &[]), "bob"));
        let deleted = Entry {
            deleted: true,
            ..mentioning(1, "alice", &["bob"])
        };
        assert!(!mentions(&deleted, "bob"));
        let reaction = Entry {
            kind: "reacted".into(),
            ..mentioning(1, "alice", &["bob"])
        };
        assert!(!mentions(&reaction, "bob"), "only messages");

        assert!(rings(
            &[
                mentioning(1, "alice", &[]),
                mentioning(2, "alice", &["bob"])
            ],
            "bob"
        ));
        assert!(
            !rings(&[mentioning(1, "bob", &["bob"])], "bob"),
            "their own"
        );
        assert!(!rings(&[mentioning(1, "alice", &["carol"])], "bob"));
        assert!(!rings(&[], "bob"));
    }

    #[test]
    fn an_edit_carries_what_the_message_mentions_now() {
        let mut room = Current::new(1, "Kitchen".into(), 1, false);
        room.apply(vec![entry(1, "message", "hi", None)]);
        let edit = Entry {
            mentions: vec!["bob".into()],
            ..change(2, "edited", "alice", "hi @bob", 1)
        };
        room.apply(vec![edit]);
        assert!(mentions(&room.log[0], "bob"));
        room.apply(vec![change(3, "edited", "alice", "hi", 1)]);
        assert!(!mentions(&room.log[0], "bob"), "the mention was taken back");
    }

    #[test]
    fn the_log_keeps_server_order_skips_repeats_and_blanks_deleted_messages() {
        let mut room = Current::new(1, "Kitchen".into(), 1, false);
        assert!(room.apply(vec![
            entry(3, "message", "a", None),
            entry(4, "message", "b", None),
        ]));
        assert!(room.apply(vec![
            entry(4, "message", "b", None),
            entry(5, "deleted", "", Some(3)),
        ]));
        assert_eq!(room.cursor, 5);
        assert_eq!(log_ids(&room), [3, 4]);
        assert!(room.log[0].deleted && room.log[0].text.is_empty());
    }

    #[test]
    fn an_answer_that_skips_a_number_is_not_shown_past_the_hole() {
        let mut room = Current::new(1, "Kitchen".into(), 1, false);
        assert!(room.apply(vec![entry(1, "joined", "", None)]));
        assert!(!room.apply(vec![
            entry(2, "message", "a", None),
            entry(4, "message", "c", None),
        ]));
        assert_eq!(room.cursor, 2, "the next poll asks again after 2");
        assert!(room.apply(vec![
            entry(3, "message", "b", None),
            entry(4, "message", "c", None),
        ]));
        let texts: Vec<&str> = room.log.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["", "a", "b", "c"]);
    }

    #[test]
    fn older_history_goes_before_the_log_without_repeats_or_deletions() {
        let mut room = Current::new(1, "Kitchen".into(), 1, false);
        room.apply(vec![
            entry(5, "message", "e", None),
            entry(6, "deleted", "", Some(2)),
        ]);
        assert!(room.has_older());
        let added = room.prepend(vec![
            entry(2, "message", "", None),
            entry(3, "deleted", "", Some(1)),
            entry(4, "message", "d", None),
            entry(5, "message", "e", None),
        ]);
        assert_eq!(added, 2);
        assert_eq!(log_ids(&room), [2, 4, 5]);
        assert_eq!(room.cursor, 6, "the poll goes on from where it was");
        room.prepend(vec![entry(1, "joined", "", None)]);
        assert!(!room.has_older(), "the room's first entry is shown");
    }

    #[test]
    fn changes_apply_in_place_and_a_change_already_included_changes_nothing() {
        let mut room = Current::new(1, "Kitchen".into(), 1, false);
        // Read after the changes below: it arrives as it is now, and they follow it.
        let reaction = |emoji: &str, by: &[&str]| Reaction {
            emoji: emoji.into(),
            count: by.len(),
            by: by.iter().map(|name| (*name).to_owned()).collect(),
        };
        let now = Entry {
            edited: true,
            reactions: vec![
                reaction("🎉", &["carol", "dave"]),
                reaction("+1", &["erin"]),
            ],
            ..entry(3, "message", "fixed", None)
        };
        assert!(room.apply(vec![
            now,
            change(4, "edited", "alice", "fixed", 3),
            change(5, "reacted", "bob", "👍", 3),
            change(6, "reacted", "carol", "🎉", 3),
            change(7, "unreacted", "bob", "👍", 3),
            change(8, "reacted", "dave", "🎉", 3),
            change(9, "reacted", "erin", "+1", 3),
        ]));
        assert_eq!(log_ids(&room), [3], "changes are not lines of their own");
        let message = &room.log[0];
        assert_eq!(message.text, "fixed");
        assert!(message.edited);
        assert_eq!(
            reactions(message),
            [("🎉", 2, vec!["carol", "dave"]), ("+1", 1, vec!["erin"])]
        );
        assert_eq!(room.cursor, 9);

        // And on a message that did not have them yet, they add up.
        assert!(room.apply(vec![
            change(10, "reacted", "bob", "👍", 3),
            change(11, "reacted", "carol", "👍", 3),
            change(12, "unreacted", "erin", "+1", 3),
        ]));
        assert_eq!(
            reactions(&room.log[0]),
            [
                ("🎉", 2, vec!["carol", "dave"]),
                ("👍", 2, vec!["bob", "carol"])
            ]
        );

        let again = room.log.clone();
        assert!(room.apply(vec![change(12, "unreacted", "erin", "+1", 3)]));
        assert_eq!(room.log, again, "a repeated entry is skipped");
    }

    #[test]
    fn a_reply_quotes_its_original_as_it_is_now() {
        let mut room = Current::new(1, "Kitchen".into(), 1, false);
        let reply = Entry {
            reply_to: Some(Quote {
                id: 1,
                author: "alice".into(),
                excerpt: "first".into(),
            }),
            ..entry(2, "message", "answer", None)
        };
        room.apply(vec![entry(1, "message", "first", None), reply]);
        let long = format!("line one\n{}", "x".repeat(200));
        room.apply(vec![change(3, "edited", "alice", &long, 1)]);
        let excerpt = &room.log[1].reply_to.as_ref().unwrap().excerpt;
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS);
        assert!(excerpt.starts_with("line one x"), "{excerpt}");

        room.apply(vec![
            change(4, "reacted", "bob", "👍", 1),
            change(5, "deleted", "alice", "", 1),
            change(6, "edited", "alice", "", 1),
            change(7, "reacted", "bob", "👍", 1),
        ]);
        let original = &room.log[0];
        assert!(original.deleted && original.text.is_empty() && original.reactions.is_empty());
        assert_eq!(room.log[1].reply_to.as_ref().unwrap().excerpt, "");
    }

    #[test]
    fn changes_to_a_message_not_shown_are_ignored() {
        let mut room = Current::new(1, "Kitchen".into(), 1, false);
        assert!(room.apply(vec![
            entry(5, "message", "e", None),
            change(6, "edited", "alice", "new", 2),
            change(7, "reacted", "bob", "👍", 2),
        ]));
        assert_eq!(log_ids(&room), [5]);
        assert_eq!(room.log[0].text, "e");
        assert!(room.log[0].reactions.is_empty());
    }

    #[test]
    fn older_history_made_of_changes_only_still_moves_the_history_cursor() {
        let mut room = Current::new(1, "Kitchen".into(), 1, false);
        room.apply(vec![entry(5, "message", "e", None)]);
        let added = room.prepend(vec![
            change(3, "reacted", "bob", "👍", 1),
            change(4, "edited", "alice", "x", 1),
        ]);
        assert_eq!(added, 0);
        assert_eq!(room.oldest_received(), 3, "the next page is asked below 3");
        assert!(room.has_older());
        assert_eq!(log_ids(&room), [5]);
    }
}
