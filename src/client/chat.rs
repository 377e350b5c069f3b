//! The terminal client's logic, without a terminal: commands, the room list, the log with the
//! poller's cursor, and the status line. The interface (tui.rs) only draws it and feeds it keys.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rand::distr::{Alphanumeric, SampleString};

use super::api::{Api, ApiError, Entry, RoomInfo};

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
    /// The log as shown, in id order. Deleted messages keep their place.
    pub log: Vec<Entry>,
    /// The poller's cursor: the number of the last entry shown. A room's entries are
    /// numbered 1, 2, 3, ... with no holes.
    pub cursor: i64,
    pub present: Vec<String>,
    pub typing: Vec<String>,
    shown: HashSet<i64>,
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
            shown: HashSet::new(),
        }
    }

    /// Appends what the server sent, in its order, skipping anything already shown; a
    /// "deleted" entry blanks the message it names, in place. An answer that skips a number
    /// is a fault: what follows the hole is dropped (false), and the next poll asks again
    /// from the last number shown.
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
            if entry.kind == "deleted" {
                if let Some(target) = self.log.iter_mut().find(|e| Some(e.id) == entry.target) {
                    target.deleted = true;
                    target.text.clear();
                }
                continue;
            }
            self.log.push(entry);
        }
        true
    }

    /// Puts older history (oldest first, all numbered below what is shown) before the log:
    /// messages and joins only, as a deletion already shows on the message it deleted. Gives
    /// how many entries were added.
    pub fn prepend(&mut self, older: Vec<Entry>) -> usize {
        let first = self.log.first().map_or(self.cursor + 1, |e| e.id);
        let older: Vec<Entry> = older
            .into_iter()
            .filter(|e| e.id < first && e.kind != "deleted" && self.shown.insert(e.id))
            .collect();
        let added = older.len();
        self.log.splice(0..0, older);
        added
    }

    /// Whether entries numbered below the first one shown may exist.
    pub fn has_older(&self) -> bool {
        self.log.first().is_some_and(|e| e.id > 1)
    }
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
    /// True while the server does not answer.
    pub reconnecting: bool,
    last_typed: Option<Instant>,
    /// A message whose answer was lost: the same text is sent again under the same name.
    pending: Option<(String, String)>,
}

/// What /help shows in the log pane.
pub const HELP: &[&str] = &[
    "Commands (anything else you type is a message):",
    "  /rooms          list your rooms",
    "  /join NAME      enter a room, or a conversation by the other person's name",
    "  /create NAME    create a room and enter it",
    "  /leave          leave the room",
    "  /delete         delete the room (a conversation: hide it)",
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
            reconnecting: false,
            last_typed: None,
            pending: None,
        }
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
        let result = match verb {
            "/quit" => return Next::Quit,
            "/rooms" => self.refresh_rooms().await.map(|()| {
                self.status = format!("{} rooms", self.rooms.len());
            }),
            "/join" if !arg.is_empty() => self.join(arg).await,
            "/create" if !arg.is_empty() => self.create(arg).await,
            "/leave" => self.leave().await,
            "/delete" => self.delete().await,
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

    /// Fetches a page of the room's history before what is shown; gives how many entries were
    /// added (none at the start of the room).
    pub async fn load_older(&mut self) -> usize {
        let Some(room) = self.room.as_ref().filter(|r| r.has_older()) else {
            return 0;
        };
        let (id, before) = (room.id, room.log.first().map_or(0, |e| e.id));
        match self.api.older(id, before).await {
            Ok(older) => self
                .room
                .as_mut()
                .filter(|r| r.id == id)
                .map_or(0, |room| room.prepend(older)),
            Err(error) => {
                self.show(&error);
                0
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
        match self.api.poll(id, after, self.is_typing()).await {
            Ok(poll) => {
                if self.reconnecting {
                    self.status = "reconnected".into();
                }
                self.reconnecting = false;
                if let Some(room) = self.room.as_mut().filter(|r| r.id == id) {
                    if !room.apply(poll.messages) {
                        log::debug!("room {id}: an answer skipped a number; asking again");
                    }
                    room.present = poll.present;
                    room.typing = poll.typing;
                    room.typing.retain(|name| *name != self.me);
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
    use super::*;

    fn entry(id: i64, kind: &str, text: &str, target: Option<i64>) -> Entry {
        Entry {
            id,
            kind: kind.into(),
            author: "alice".into(),
            text: text.into(),
            sent_at: String::new(),
            target,
            deleted: false,
        }
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
        let ids: Vec<i64> = room.log.iter().map(|e| e.id).collect();
        assert_eq!(ids, [3, 4]);
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
        let ids: Vec<i64> = room.log.iter().map(|e| e.id).collect();
        assert_eq!(ids, [2, 4, 5]);
        assert_eq!(room.cursor, 6, "the poll goes on from where it was");
        room.prepend(vec![entry(1, "joined", "", None)]);
        assert!(!room.has_older(), "the room's first entry is shown");
    }
}
