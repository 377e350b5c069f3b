//! The terminal client: its logic against the real server without a terminal, and once for
//! real in a pseudo-terminal (tmux), chatting with someone using the web API; and what it does
//! with a hostile server's words and with the login it saves.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chatroom::client::api::{Api, SavedSession};
use chatroom::client::chat::{Chat, HELP, Next, expand_home, mentions, working};
use chatroom::client::saved::{self, SavedFile};
use serde_json::{Value, json};

use super::database::TestDatabase;
use super::helpers::{PASSWORD, Person, TestApp, location, spawn_app, spawn_app_tweaked};
use super::programs::{self, Program};
use super::server::Server;
use super::wait::{eventually, wait_until};

const PATIENCE: Duration = Duration::from_secs(20);

async fn terminal_user(base: &str, name: &str) -> Chat {
    let mut api = Api::new(base).unwrap();
    let logged_in = api.register(name, PASSWORD).await.unwrap();
    Chat::new(api, logged_in.user.username, logged_in.user.id)
}

fn texts(chat: &Chat) -> Vec<String> {
    let room = chat.room.as_ref().expect("in a room");
    room.log
        .iter()
        .filter(|e| e.kind == "message")
        .map(|e| e.text.clone())
        .collect()
}

/// The ids of the client's log, in the order it shows them.
fn log_ids(chat: &Chat) -> Vec<i64> {
    chat.room
        .as_ref()
        .expect("in a room")
        .log
        .iter()
        .map(|e| e.id)
        .collect()
}

fn ids(entries: &[Value]) -> Vec<i64> {
    entries.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

#[actix_web::test]
async fn the_client_keeps_who_is_here_while_its_polls_are_answered_without_the_lists() {
    let Some(app) = spawn_app().await else { return };
    let mut chat = terminal_user(&app.address, "term").await;
    chat.command("/create Kitchen").await;
    let kitchen = chat.room.as_ref().unwrap().id;
    chat.poll().await;
    let tag = chat.room.as_ref().unwrap().people_tag.clone();
    assert!(tag.is_some(), "the server gives a tag");
    chat.poll().await;
    let room = chat.room.as_ref().unwrap();
    assert_eq!(
        (&room.present, &room.people_tag),
        (&vec!["term".to_owned()], &tag)
    );

    let mut alice = app.user("alice").await;
    alice.enter(kitchen).await;
    let typing = format!("/api/rooms/{kitchen}/messages?after=0&typing=1");
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        alice.get(&typing).await;
        chat.poll().await;
        let room = chat.room.as_ref().unwrap();
        if room.present.len() == 2 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let room = chat.room.as_ref().unwrap();
    assert_eq!(room.present, ["alice", "term"]);
    assert_eq!(room.typing, ["alice"]);
    assert_ne!(room.people_tag, tag, "a new tag for the new lists");

    // Unchanged since: answered without the lists, which the client keeps.
    chat.poll().await;
    let room = chat.room.as_ref().unwrap();
    assert_eq!((room.present.len(), room.typing.len()), (2, 1));
}

#[actix_web::test]
async fn the_clients_commands_create_join_leave_and_delete_rooms() {
    let Some(app) = spawn_app().await else { return };
    let mut chat = terminal_user(&app.address, "term").await;

    assert_eq!(chat.command("/create Kitchen").await, Next::Continue);
    assert_eq!(chat.room.as_ref().unwrap().name, "Kitchen");
    assert!(chat.rooms.iter().any(|r| r.name == "Kitchen"));
    chat.command("hello from the terminal").await;
    assert_eq!(texts(&chat), ["hello from the terminal"]);

    let mut alice = app.user("alice").await;
    let kitchen = chat.room.as_ref().unwrap().id;
    alice.enter(kitchen).await;
    alice.say(kitchen, "hi terminal").await;
    chat.poll().await;
    assert_eq!(texts(&chat), ["hello from the terminal", "hi terminal"]);
    let seen_by_browser = alice.entries_after(kitchen, 0).await;
    assert_eq!(
        log_ids(&chat),
        ids(&seen_by_browser),
        "the same log as the browser's"
    );

    chat.command("/create Garden").await;
    assert_eq!(chat.room.as_ref().unwrap().name, "Garden");
    chat.command("/join kitchen").await;
    assert_eq!(chat.room.as_ref().unwrap().name, "Kitchen");
    chat.command("/join Nowhere").await;
    assert!(chat.status.contains("no such room"), "{}", chat.status);
    chat.command("/leave").await;
    assert!(chat.room.is_none());
    chat.command("/join Garden").await;
    chat.command("/delete").await;
    assert!(
        chat.room.is_none() && chat.status.contains("deleted"),
        "{}",
        chat.status
    );
    assert!(!chat.rooms.iter().any(|r| r.name == "Garden"));

    alice.create_room("Porch").await;
    chat.command("/join Porch").await;
    chat.command("/delete").await;
    assert!(
        chat.status
            .contains("Only the room's creator or an administrator"),
        "{}",
        chat.status
    );
    chat.command("/nonsense").await;
    assert!(chat.status.contains("unknown command"));
    assert_eq!(chat.command("/quit").await, Next::Quit);
}

#[actix_web::test]
async fn the_clients_join_finds_a_room_past_the_first_page_of_the_lobby() {
    let Some(app) = spawn_app().await else { return };
    let mut chat = terminal_user(&app.address, "term").await;
    app.old_rooms("term", 201);
    chat.command("/rooms").await;
    assert_eq!(chat.status, "200 rooms", "the first page");
    chat.command("/join room 0").await;
    assert_eq!(chat.room.as_ref().map(|r| r.name.as_str()), Some("Room 0"));
    chat.command("/join Room 201").await;
    assert!(chat.status.contains("no such room"), "{}", chat.status);
}

/// In a direct conversation the two are equals: the one who did not open it may hide it too.
#[actix_web::test]
async fn the_clients_delete_hides_a_direct_conversation_that_the_other_person_opened() {
    let Some(app) = spawn_app().await else { return };
    let mut chat = terminal_user(&app.address, "term").await;
    let mut alice = app.user("alice").await;
    let res = alice.post_form("/direct", &[("username", "term")]).await;
    let room: i32 = location(&res)
        .strip_prefix("/rooms/")
        .and_then(|id| id.parse().ok())
        .expect("into the conversation");

    chat.command("/join alice").await;
    assert_eq!(chat.room.as_ref().map(|r| r.id), Some(room));
    chat.command("/delete").await;
    assert!(chat.room.is_none(), "{}", chat.status);
    assert!(
        chat.status.contains("you hid the conversation with alice"),
        "{}",
        chat.status
    );
    assert!(
        !chat.rooms.iter().any(|r| r.id == room),
        "gone from the list"
    );

    alice.say(room, "still here?").await;
    chat.command("/rooms").await;
    assert!(
        chat.rooms.iter().any(|r| r.id == room && r.name == "alice"),
        "back with the new message, never deleted"
    );
}

#[actix_web::test]
async fn a_message_mentioning_the_terminal_user_rings_the_bell_once_and_stays_marked() {
    let Some(app) = spawn_app().await else { return };
    let mut chat = terminal_user(&app.address, "term").await;
    chat.command("/create Kitchen").await;
    let kitchen = chat.room.as_ref().unwrap().id;
    let mut alice = app.user("alice").await;
    alice.enter(kitchen).await;

    alice.say(kitchen, "nothing for you, term").await;
    chat.poll().await;
    assert!(!chat.take_bell(), "a name without @ is no mention");
    alice.say(kitchen, "are you there @TERM?").await;
    chat.poll().await;
    assert!(chat.take_bell(), "a mention in any letter case rings");
    assert!(!chat.take_bell(), "once");
    let last = chat.room.as_ref().unwrap().log.last().unwrap().clone();
    assert_eq!(last.mentions, ["term"]);
    assert!(mentions(&last, &chat.me), "drawn as a mention");

    chat.command("a note to self, @term").await;
    assert!(!chat.take_bell(), "one's own message rings nothing");
    chat.command("/leave").await;
    chat.command("/join Kitchen").await;
    assert!(!chat.take_bell(), "history shown on entering rings nothing");
    let marked: Vec<String> = chat
        .room
        .as_ref()
        .unwrap()
        .log
        .iter()
        .filter(|e| mentions(e, &chat.me))
        .map(|e| e.text.clone())
        .collect();
    assert_eq!(marked, ["are you there @TERM?", "a note to self, @term"]);

    // An edit that adds a mention marks the message; one that takes it away unmarks it.
    let plain = alice.say(kitchen, "later then").await;
    chat.poll().await;
    alice
        .edit(kitchen, plain["id"].as_i64().unwrap(), "later then, @term")
        .await;
    chat.poll().await;
    assert!(mentions(
        chat.room.as_ref().unwrap().log.last().unwrap(),
        "term"
    ));
    alice
        .edit(kitchen, plain["id"].as_i64().unwrap(), "later then")
        .await;
    chat.poll().await;
    assert!(!mentions(
        chat.room.as_ref().unwrap().log.last().unwrap(),
        "term"
    ));
}

/// The room's level as the web lobby of the same user shows it.
async fn lobby_level(web: &Person, room: i32) -> String {
    let lobby: Value = web.get("/api/lobby").await.json().await.unwrap();
    lobby["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == room)
        .unwrap_or_else(|| panic!("room {room} in {lobby}"))["level"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn notify_sets_the_rooms_level_and_says_so_or_why_not() {
    let Some(app) = spawn_app().await else { return };
    let mut chat = terminal_user(&app.address, "term").await;
    chat.command("/notify all").await;
    assert!(chat.status.contains("join a room first"), "{}", chat.status);
    chat.command("/create Kitchen").await;
    let kitchen = chat.room.as_ref().unwrap().id;
    let mut web = app.person();
    web.login("term", PASSWORD).await;
    assert_eq!(lobby_level(&web, kitchen).await, "mentions");

    chat.command("/notify all").await;
    assert_eq!(chat.status, "Kitchen: you will be told of every message");
    assert_eq!(lobby_level(&web, kitchen).await, "all");
    chat.command("/notify NOTHING").await;
    assert_eq!(chat.status, "Kitchen: you will be told of nothing");
    assert_eq!(lobby_level(&web, kitchen).await, "nothing");
    chat.command("/notify mentions").await;
    assert_eq!(
        chat.status,
        "Kitchen: you will be told when you are mentioned"
    );
    assert_eq!(lobby_level(&web, kitchen).await, "mentions");

    chat.command("/notify loudly").await;
    assert!(
        chat.status.starts_with("level not set: "),
        "{}",
        chat.status
    );
    assert!(
        chat.status.contains("mentions"),
        "the server's reason: {}",
        chat.status
    );
    assert_eq!(lobby_level(&web, kitchen).await, "mentions", "unchanged");
    chat.command("/notify").await;
    assert_eq!(chat.status, "usage: /notify all|mentions|nothing");

    chat.command("/help").await;
    assert!(chat.help);
    assert!(
        HELP.iter()
            .any(|line| line.trim_start().starts_with("/notify"))
    );

    // The room deleted meanwhile: the refusal says so.
    web.post_form(&format!("/rooms/{kitchen}/delete"), &[])
        .await;
    chat.command("/notify all").await;
    assert!(chat.status.contains("was deleted"), "{}", chat.status);
}

#[actix_web::test]
async fn the_client_learns_that_its_room_was_deleted_or_that_it_moved_elsewhere() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Doomed").await;
    let other = alice.create_room("Other").await;
    let mut chat = terminal_user(&app.address, "term").await;
    chat.command("/join Doomed").await;

    alice.post_form(&format!("/rooms/{room}/delete"), &[]).await;
    chat.poll().await;
    assert!(chat.room.is_none());
    assert!(chat.status.contains("was deleted"), "{}", chat.status);

    chat.command("/join Other").await;
    let mut same_user_elsewhere = app.person();
    same_user_elsewhere.login("term", PASSWORD).await;
    let garden = alice.create_room("Garden").await;
    same_user_elsewhere.enter(garden).await;
    chat.poll().await;
    assert!(chat.room.is_none(), "moved out of {other}");
    assert!(
        chat.status.contains("entered another one elsewhere"),
        "{}",
        chat.status
    );
}

#[actix_web::test]
async fn the_client_reconnects_after_an_outage_without_losing_or_repeating_anything() {
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    let mut server = Server::start(&database.url);
    server.wait_until_up().await;
    let mut alice = Person::new(&server.url());
    alice.register("alice", PASSWORD).await;
    let room = alice.create_room("Kitchen").await;
    let mut chat = terminal_user(&server.url(), "term").await;
    chat.command("/join Kitchen").await;
    alice.say(room, "before").await;
    chat.poll().await;

    server.kill();
    chat.poll().await;
    assert!(chat.reconnecting);
    assert!(
        chat.status.contains("server unreachable"),
        "{}",
        chat.status
    );
    chat.command("sent while the server was down").await;
    assert!(chat.status.contains("server unreachable"));

    server.spawn();
    server.wait_until_up().await;
    alice.say(room, "after").await;
    chat.poll().await;
    assert!(!chat.reconnecting);
    // Sending the same line again after the outage is a retry: never a second copy.
    chat.command("sent while the server was down").await;
    chat.command("sent while the server was down").await;

    let server_log = alice.entries_after(room, 0).await;
    assert_eq!(
        log_ids(&chat),
        ids(&server_log),
        "nothing lost, nothing repeated"
    );
    let texts = texts(&chat);
    assert_eq!(
        texts,
        [
            "before",
            "after",
            "sent while the server was down",
            "sent while the server was down"
        ]
    );
}

fn tmux(args: &[&str]) -> String {
    let output = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux runs (Debian package tmux; .ci/run installs it)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A tmux session that is killed however the test ends.
struct Tmux(String);

impl Tmux {
    /// Runs `command` in a new detached session of `width` x `height` characters.
    fn open(name: String, width: u16, height: u16, command: &str) -> Self {
        let (width, height) = (width.to_string(), height.to_string());
        tmux(&[
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            &width,
            "-y",
            &height,
            command,
        ]);
        Self(name)
    }

    fn screen(&self) -> String {
        tmux(&["capture-pane", "-p", "-t", &self.0])
    }

    fn keys(&self, literal: &str) {
        tmux(&["send-keys", "-t", &self.0, "-l", literal]);
    }

    fn press(&self, key: &str) {
        tmux(&["send-keys", "-t", &self.0, key]);
    }

    /// Types `line` and presses Enter, as someone sends a message or a command.
    fn type_line(&self, line: &str) {
        self.keys(line);
        self.press("Enter");
    }

    async fn wait_for(&self, text: &str) {
        let shown = eventually(PATIENCE, || async { self.screen().contains(text) }).await;
        assert!(shown, "{text:?} never showed:\n{}", self.screen());
    }

    /// The screen's rows.
    fn rows(&self) -> Vec<String> {
        self.screen().lines().map(str::to_owned).collect()
    }

    fn resize(&self, width: u16, height: u16) {
        let (width, height) = (width.to_string(), height.to_string());
        tmux(&["resize-window", "-t", &self.0, "-x", &width, "-y", &height]);
    }

    /// Waits until `check` holds of the screen.
    async fn wait_until(&self, what: &str, check: impl Fn(&str) -> bool) {
        let held = eventually(PATIENCE, || async { check(&self.screen()) }).await;
        assert!(held, "{what} never came:\n{}", self.screen());
    }

    /// Waits until the pane's cursor is at (column, row), from 0.
    async fn wait_for_cursor(&self, at: (u16, u16)) {
        let cursor = || {
            let shown = tmux(&["display", "-p", "-t", &self.0, "#{cursor_x} #{cursor_y}"]);
            let mut parts = shown.split_whitespace().map(|n| n.parse::<u16>().ok());
            (parts.next().flatten(), parts.next().flatten())
        };
        let there = eventually(PATIENCE, || async { cursor() == (Some(at.0), Some(at.1)) }).await;
        assert!(
            there,
            "the cursor is at {:?}, not {at:?}:\n{}",
            cursor(),
            self.screen()
        );
    }

    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["has-session", "-t", &self.0])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

async fn wait_for_message(person: &Person, room: i32, text: &str) {
    wait_until(PATIENCE, &format!("{text:?} arriving"), || async {
        let messages = person.messages_after(room, 0).await;
        messages.iter().any(|m| m["text"] == text)
    })
    .await;
}

/// The client in a `width` x `height` terminal, run as `chatroom chat --server ADDRESS ARGS`
/// with `env` before it (such as "TZ=..."), its first password prompt answered with PASSWORD.
async fn password_given(
    app_address: &str,
    tag: &str,
    args: &str,
    (width, height): (u16, u16),
    env: &str,
) -> Tmux {
    let command = format!(
        "{env} {} chat --server {app_address} {args}",
        env!("CARGO_BIN_EXE_chatroom"),
    );
    let name = format!("chatroom-{tag}-{}", std::process::id());
    let terminal = Tmux::open(name, width, height, &command);
    terminal.wait_for("Password:").await;
    terminal.type_line(PASSWORD);
    terminal
}

/// The client in a `width` x `height` terminal, logged in as `user` (with PASSWORD), with
/// `env` before the command (such as "TZ=...").
async fn logged_in_terminal(
    app_address: &str,
    tag: &str,
    user: &str,
    size: (u16, u16),
    env: &str,
) -> Tmux {
    let terminal = password_given(app_address, tag, &format!("--user {user}"), size, env).await;
    terminal.wait_for("Message or /command").await;
    terminal
}

/// Joins the room by name in the terminal, and waits until it shows who is there.
async fn join(terminal: &Tmux, room: &str) {
    terminal.type_line(&format!("/join {room}"));
    terminal.wait_for("here: ").await;
}

/// Where most terminal tests start: the app, alice and her room "Porch", and an account for bob;
/// None where tmux or the database is missing (the test then passes over).
async fn porch() -> Option<(TestApp, Person, i32)> {
    if !programs::available(&[Program::tmux()]) {
        return None;
    }
    let app = spawn_app().await?;
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Porch").await;
    app.user("bob").await;
    Some((app, alice, room))
}

/// `user`'s client in a 100 x 30 terminal, logged in and inside the room "Porch".
async fn in_porch(app_address: &str, tag: &str, user: &str) -> Tmux {
    let terminal = logged_in_terminal(app_address, tag, user, (100, 30), "").await;
    join(&terminal, "Porch").await;
    terminal
}

#[actix_web::test]
async fn the_real_interface_logs_in_joins_a_room_and_chats_with_a_web_user() {
    let Some((app, mut alice, room)) = porch().await else {
        return;
    };

    let terminal = password_given(&app.address, "test", "--user bob", (120, 30), "").await;
    terminal.wait_for("Rooms").await;
    assert!(
        !terminal.screen().contains(PASSWORD),
        "the password is not echoed"
    );

    join(&terminal, "Porch").await;
    terminal.type_line("hello from the terminal");
    wait_for_message(&alice, room, "hello from the terminal").await;

    alice.say(room, "hi terminal, says the web").await;
    terminal.wait_for("alice: hi terminal, says the web").await;
    terminal.wait_for("bob: hello from the terminal").await;

    terminal.press("C-c");
    let quit = eventually(PATIENCE, || async { !terminal.alive() }).await;
    assert!(quit, "Ctrl+C did not quit:\n{}", terminal.screen());
}

/// Whether tmux saw the pane ring its bell (a detached session's window keeps the flag).
fn rang(terminal: &Tmux) -> bool {
    tmux(&["display", "-p", "-t", &terminal.0, "#{window_bell_flag}"]).trim() == "1"
}

#[actix_web::test]
async fn the_real_interface_rings_the_bell_and_highlights_a_message_that_mentions_its_user() {
    let Some((app, mut alice, room)) = porch().await else {
        return;
    };
    let terminal = in_porch(&app.address, "bell", "bob").await;
    alice.say(room, "a plain word").await;
    terminal.wait_for("alice: a plain word").await;
    assert!(!rang(&terminal), "no mention, no bell");

    alice.say(room, "look here @Bob").await;
    terminal.wait_for("alice: look here @Bob").await;
    let bell = eventually(PATIENCE, || async { rang(&terminal) }).await;
    assert!(bell, "the bell never rang:\n{}", terminal.screen());

    // With its styles: the mention's text is drawn otherwise than the plain one's.
    let styled = tmux(&["capture-pane", "-p", "-e", "-t", &terminal.0]);
    let body = |text: &str| {
        let row = styled
            .lines()
            .find(|row| row.contains(text))
            .unwrap_or_else(|| panic!("{text:?} in {styled:?}"));
        let at = row.find("alice:").expect("the author");
        let end = row.find(text).expect("the text");
        row[at..end].to_owned()
    };
    let (plain, mention) = (body("a plain word"), body("look here @Bob"));
    assert_ne!(plain, mention, "the mention stands out: {styled:?}");
    assert!(mention.contains("\u{1b}["), "{mention:?}");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn a_saved_login(user_id: i32) -> SavedFile {
    SavedFile {
        session: SavedSession {
            server: "http://127.0.0.1:8080".into(),
            username: "term".into(),
            cookie: "chatroom_session=secret".into(),
            csrf_token: "token".into(),
        },
        user_id,
    }
}

#[test]
fn the_saved_login_is_rewritten_readable_by_its_owner_only_in_an_owner_only_folder() {
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join("chatroom");
    let path = folder.join("session.json");
    // As an older client, a copy or a restore from backup could have left them.
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&path, "{}").unwrap();
    std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();

    saved::save(&path, &a_saved_login(7)).unwrap();

    assert_eq!(mode(&path), 0o600, "the file");
    assert_eq!(mode(&folder), 0o700, "the folder");
    assert_eq!(saved::load(&path).unwrap().user_id, 7);
    let names: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["session.json"], "no temporary file is left behind");
}

#[test]
fn a_first_saved_login_makes_its_folder_owner_only() {
    let home = tempfile::tempdir().unwrap();
    let path = home
        .path()
        .join("config")
        .join("chatroom")
        .join("session.json");

    saved::save(&path, &a_saved_login(1)).unwrap();
    saved::save(&path, &a_saved_login(2)).unwrap();

    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(saved::load(&path).unwrap().user_id, 2);
}

/// What a hostile server (or anyone between the client and a server over plain http) could
/// send: terminal escape sequences, C1 controls, bidi overrides and line breaks.
const ESCAPES: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}\r\n\u{1b}[1A";

async fn hostile_answer(req: HttpRequest) -> HttpResponse {
    let bad = |text: &str| format!("{text}{ESCAPES}");
    let entry = |id: i64| {
        json!({
            "id": id, "kind": "message", "author": bad("eve"),
            "text": bad("hello"), "sent_at": bad("2026-01-01T10:00:00Z"),
        })
    };
    let body = match (req.method().as_str(), req.path()) {
        ("GET", "/api/rooms") => json!({"rooms": [{
            "id": 1, "name": bad("Kitchen"), "creator": bad("eve"),
            "direct": false, "present": 1, "unread": 0,
        }]}),
        ("POST", "/api/rooms/1/enter") => json!({
            "room": {"id": 1, "name": bad("Kitchen"), "creator_id": 2, "direct": false},
            "messages": [entry(1)],
        }),
        ("GET", "/api/rooms/1/messages") => json!({
            "messages": [entry(2)], "present": [bad("eve")], "typing": [bad("mallory")],
        }),
        ("GET", "/api/search") => json!({"results": [{
            "room": {"id": 1, "name": bad("Kitchen"), "direct": false}, "message": entry(3),
        }]}),
        _ => {
            return HttpResponse::Forbidden().json(json!({
                "error": bad("refused"), "message": bad("go away"),
            }));
        }
    };
    HttpResponse::Ok().json(body)
}

/// A server on port 0 that answers like `hostile_answer`; it stops with the test's runtime.
fn hostile_server() -> String {
    let server = HttpServer::new(|| App::new().default_service(web::to(hostile_answer)))
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    format!("http://127.0.0.1:{port}")
}

/// Nothing a terminal would act on: no control character (C0, DEL, C1) and no bidi control.
fn assert_printable(what: &str, text: &str) {
    let bidi = |c: char| matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    assert!(
        !text.chars().any(|c| c.is_control() || bidi(c)),
        "{what}: {text:?}"
    );
}

#[actix_web::test]
async fn a_hostile_servers_words_reach_the_client_without_control_characters() {
    let server = hostile_server();
    let mut api = Api::new(&server).unwrap();
    let refusal = api.log_in("bob", PASSWORD).await.unwrap_err().to_string();
    assert_printable("a refusal", &refusal);
    assert!(refusal.contains("go away"), "the words themselves are kept");

    let mut chat = Chat::new(api, "bob".into(), 1);
    chat.refresh_rooms().await.unwrap();
    chat.enter(1).await.unwrap();
    chat.poll().await;
    chat.command("/create Porch").await;
    assert!(chat.status.contains("go away"), "{}", chat.status);

    assert_printable("the status line", &chat.status);
    for room in &chat.rooms {
        assert_printable("a room's name", &room.name);
        assert_printable("a room's creator", &room.creator);
    }
    let room = chat.room.as_ref().unwrap();
    assert_printable("the room's title", &room.name);
    assert_eq!(room.log.len(), 2);
    for entry in &room.log {
        for field in [&entry.kind, &entry.author, &entry.sent_at] {
            assert_printable("a log entry", field);
        }
        // A message keeps its line breaks (each row is drawn apart): nothing else.
        for line in entry.text.split('\n') {
            assert_printable("a line of a message", line);
        }
        assert!(!entry.text.contains('\r'), "{:?}", entry.text);
    }
    for name in room.present.iter().chain(&room.typing) {
        assert_printable("who is here or typing", name);
    }
}

#[actix_web::test]
async fn the_login_prompt_prints_a_hostile_servers_refusal_without_its_escapes() {
    if !programs::available(&[Program::tmux()]) {
        return;
    }
    let server = hostile_server();
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("stderr");
    // What the client prints outside the full-screen view goes to its standard error, kept
    // here byte for byte (the pane would act on an escape rather than show it).
    let command = format!(
        "{} chat --server {server} --user bob 2>{}",
        env!("CARGO_BIN_EXE_chatroom"),
        stderr.display()
    );
    let name = format!("chatroom-hostile-{}", std::process::id());
    let terminal = Tmux::open(name, 100, 20, &command);
    let printed = || std::fs::read(&stderr).unwrap_or_default();
    wait_until(PATIENCE, "a password prompt", || async {
        String::from_utf8_lossy(&printed()).contains("Password:")
    })
    .await;
    terminal.type_line(PASSWORD);
    wait_until(PATIENCE, "the client giving up", || async {
        !terminal.alive()
    })
    .await;

    let printed = String::from_utf8(printed()).unwrap();
    assert!(printed.contains("go away"), "{printed:?}");
    // Its own line breaks are the only control characters in it.
    for line in printed.lines() {
        assert_printable("what the client printed", line);
    }
}

/// The local time, in a zone 5:30 east of UTC, that an entry's `sent_at` shows as.
fn at_plus_0530(sent_at: &Value) -> String {
    let at = chrono::DateTime::parse_from_rfc3339(sent_at.as_str().unwrap()).unwrap();
    let zone = chrono::FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
    at.with_timezone(&zone).format("%H:%M").to_string()
}

#[actix_web::test]
async fn the_log_wraps_long_and_multi_line_messages_in_local_time() {
    let Some((app, mut alice, room)) = porch().await else {
        return;
    };
    // A POSIX time zone, 5:30 east of UTC (TZ's sign is west-positive).
    let terminal = logged_in_terminal(&app.address, "wrap", "bob", (100, 30), "TZ=XYZ-5:30").await;
    join(&terminal, "Porch").await;

    let words: Vec<String> = (1..=60).map(|n| format!("w{n:02}")).collect();
    alice.say(room, &words.join(" ")).await;
    let sent = alice.say(room, "first line\nsecond line\nthird line").await;
    terminal.wait_for("third line").await;

    let screen = terminal.screen();
    for word in &words {
        assert!(screen.contains(word.as_str()), "{word} was cut:\n{screen}");
    }
    let rows = terminal.rows();
    let row_of = |text: &str| rows.iter().position(|row| row.contains(text));
    let (first, second, third) = (
        row_of("first line").unwrap(),
        row_of("second line").unwrap(),
        row_of("third line").unwrap(),
    );
    assert_eq!(
        (second, third),
        (first + 1, first + 2),
        "one row each:\n{screen}"
    );
    let time = at_plus_0530(&sent["sent_at"]);
    assert!(
        rows[first].contains(&format!("{time} alice: first line")),
        "the time in TZ ({time}):\n{screen}"
    );
    let today = row_of("── Today ──").expect("a day separator");
    assert!(today < first, "above the day's messages:\n{screen}");
    // Every further row of a message starts under the author's name, past the time.
    assert!(
        rows[second].contains("│      second line"),
        "indented:\n{screen}"
    );
}

#[actix_web::test]
async fn page_up_scrolls_back_and_new_messages_wait_below_until_end() {
    let Some((app, mut alice, room)) = porch().await else {
        return;
    };
    let terminal = in_porch(&app.address, "scroll", "bob").await;
    for n in 1..=40 {
        alice.say(room, &format!("scroll {n:02}")).await;
    }
    terminal.wait_for("scroll 40").await;
    assert!(!terminal.screen().contains("scroll 01"));

    for _ in 0..5 {
        if terminal.screen().contains("scroll 01") {
            break;
        }
        terminal.press("PPage");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    terminal.wait_for("scroll 01").await;
    terminal.wait_for("-- more below").await;
    assert!(!terminal.screen().contains("scroll 40"));

    alice.say(room, "said while bob reads back").await;
    // Two polls' time: it has arrived, and stays below.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let screen = terminal.screen();
    assert!(
        screen.contains("scroll 01") && !screen.contains("said while bob"),
        "the view was yanked:\n{screen}"
    );

    terminal.press("End");
    terminal.wait_for("said while bob reads back").await;
    terminal
        .wait_until("the indicator gone", |s| !s.contains("-- more below"))
        .await;

    terminal.press("PPage");
    terminal.wait_for("-- more below").await;
    terminal.type_line("and back down");
    terminal.wait_for("bob: and back down").await;
    assert!(!terminal.screen().contains("-- more below"));
}

#[actix_web::test]
async fn the_input_line_edits_mid_line_recalls_history_and_clears_the_status() {
    let Some((app, alice, room)) = porch().await else {
        return;
    };
    let terminal = in_porch(&app.address, "editor", "bob").await;

    // The input box's text starts at column 1 of the third row from the bottom (30 rows).
    terminal.keys("elo world");
    terminal.wait_for("│elo world").await;
    terminal.wait_for_cursor((10, 27)).await;
    terminal.press("C-a");
    terminal.wait_for_cursor((1, 27)).await;
    terminal.keys("h");
    terminal.press("Right");
    terminal.press("Right");
    terminal.wait_for_cursor((4, 27)).await;
    terminal.keys("l");
    terminal.press("C-e");
    terminal.type_line("!");
    wait_for_message(&alice, room, "hello world!").await;
    terminal.wait_for("bob: hello world!").await;
    let status = terminal.rows().last().cloned().unwrap_or_default();
    assert!(
        status.contains("bob @") && !status.contains('…'),
        "{status:?}"
    );

    terminal.press("Up");
    terminal.wait_for("│hello world!").await;
    for _ in 0.."world!".len() {
        terminal.press("BSpace");
    }
    terminal.type_line("there");
    wait_for_message(&alice, room, "hello there").await;

    // A wide character takes two columns, and the cursor goes past both.
    terminal.keys("日本");
    terminal.wait_for_cursor((5, 27)).await;
    terminal.press("Left");
    terminal.wait_for_cursor((3, 27)).await;
    terminal.press("C-e");
    terminal.press("C-u");
    terminal.keys("xbc");
    terminal.press("Home");
    terminal.press("DC");
    terminal.keys("a");
    terminal.press("End");
    terminal.press("Left");
    terminal.press("Left");
    terminal.press("BSpace");
    terminal.type_line("ä");
    wait_for_message(&alice, room, "äbc").await;

    // Wider than the box: the line scrolls to keep the cursor in view.
    let long = format!("start-{}-end", "x".repeat(150));
    terminal.keys(&long);
    terminal.wait_for("x-end").await;
    assert!(!terminal.screen().contains("start-"));
    terminal.press("Home");
    terminal.wait_for("│start-").await;
    assert!(!terminal.screen().contains("x-end"));
    terminal.press("C-k");
    terminal
        .wait_until("an empty line", |s| !s.contains("start-"))
        .await;

    terminal.type_line("/help");
    terminal.wait_for("/create NAME    create a room").await;
    terminal.press("Escape");
    terminal
        .wait_until("the help hidden", |s| !s.contains("/create NAME"))
        .await;
}

#[actix_web::test]
async fn register_asks_for_the_password_twice_and_refuses_two_that_differ() {
    if !programs::available(&[Program::tmux()]) {
        return;
    }
    let Some(app) = spawn_app().await else { return };
    app.user("alice").await;
    let args = "--user carol --register";
    let terminal = password_given(&app.address, "register", args, (100, 30), "").await;
    terminal.wait_for("Password again:").await;
    terminal.type_line("not the same password");
    terminal.wait_for("The two passwords differ").await;
    let mut carol = app.person();
    let refused = carol.login("carol", PASSWORD).await;
    assert_ne!(refused.status(), 303, "no account after a mismatch");

    terminal
        .wait_until("the password asked again", |s| {
            s.matches("Password:").count() == 2
        })
        .await;
    terminal.type_line(PASSWORD);
    terminal
        .wait_until("the confirmation asked again", |s| {
            s.matches("Password again:").count() == 2
        })
        .await;
    terminal.type_line(PASSWORD);
    terminal.wait_for("Message or /command").await;
    let logged_in = carol.login("carol", PASSWORD).await;
    assert_eq!(logged_in.status(), 303, "carol registered");
}

/// The width of the room list on the screen's first row ("┌Rooms──┐┌Porch…"), if it is shown.
fn sidebar_columns(rows: &[String]) -> Option<usize> {
    let top = rows.first()?;
    if !top.starts_with("┌Rooms") {
        return None;
    }
    top.chars().position(|c| c == '┐').map(|at| at + 1)
}

#[actix_web::test]
async fn the_sidebar_fits_the_terminals_width_and_hides_on_a_narrow_one() {
    if !programs::available(&[Program::tmux()]) {
        return;
    }
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    alice.create_room("A rather long room name").await;
    app.user("bob").await;
    let terminal = logged_in_terminal(&app.address, "sidebar", "bob", (80, 24), "").await;
    terminal.wait_for("A rather long…").await;
    assert_eq!(
        sidebar_columns(&terminal.rows()),
        Some(16),
        "a fifth, at least 16"
    );

    terminal.resize(200, 24);
    terminal.wait_for("A rather long room name").await;
    assert_eq!(sidebar_columns(&terminal.rows()), Some(32), "at most 32");
    assert!(!terminal.screen().contains('…'), "cut only when it must be");

    terminal.resize(50, 24);
    terminal
        .wait_until("the sidebar hidden", |s| !s.contains("Rooms"))
        .await;
    assert!(
        terminal.rows()[0].starts_with("┌No room"),
        "{}",
        terminal.screen()
    );
}

#[actix_web::test]
async fn the_client_loads_older_history_than_it_entered_with() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Porch").await;
    for n in 1..=250 {
        alice.say(room, &format!("old {n}")).await;
    }
    let mut chat = terminal_user(&app.address, "term").await;
    chat.command("/join Porch").await;
    let first_shown = log_ids(&chat)[0];
    assert!(first_shown > 1, "entering shows the latest entries only");

    while chat.load_older().await > 0 {}
    let shown = log_ids(&chat);
    assert_eq!(shown[0], 1, "back to the room's start");
    assert_eq!(texts(&chat)[0], "old 1");
    let everything = ids(&alice.entries_after(room, 0).await);
    assert_eq!(shown, everything, "no holes, no repeats");
}

#[actix_web::test]
async fn page_up_past_the_top_fetches_older_history_in_place() {
    let Some((app, mut alice, room)) = porch().await else {
        return;
    };
    for n in 1..=230 {
        alice.say(room, &format!("old {n:03}")).await;
    }
    let terminal = logged_in_terminal(&app.address, "older", "bob", (100, 30), "").await;
    terminal.type_line("/join Porch");
    terminal.wait_for("old 230").await;

    for _ in 0..20 {
        if terminal.screen().contains("old 001") {
            break;
        }
        terminal.press("PPage");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    terminal.wait_for("alice: old 001").await;
    // What is shown runs on without a hole where the fetched page meets the rest.
    let numbers: Vec<u32> = terminal
        .rows()
        .iter()
        .filter_map(|row| row.split("alice: old ").nth(1))
        .filter_map(|rest| rest.get(..3)?.parse().ok())
        .collect();
    assert!(numbers.len() > 10, "{numbers:?}");
    assert!(
        numbers.windows(2).all(|w| w[0] + 1 == w[1]),
        "{numbers:?}:\n{}",
        terminal.screen()
    );
    assert!(terminal.screen().contains("-- more below"));
}

#[actix_web::test]
async fn the_clients_edit_and_react_commands_say_why_they_were_refused() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Porch").await;
    let mut chat = terminal_user(&app.address, "term").await;
    chat.command("/join Porch").await;

    chat.command("/edit nothing yet").await;
    assert_eq!(chat.status, "no message of yours to edit here");
    chat.command("/react 👍").await;
    assert_eq!(chat.status, "no message to react to here");
    chat.command("/unreact 👍").await;
    assert!(chat.status.contains("no message shown"), "{}", chat.status);
    chat.command("/edit").await;
    assert!(chat.status.starts_with("usage: /edit"), "{}", chat.status);

    let said = alice.say(room, "going soon").await;
    chat.poll().await;
    chat.command("/react way too long a reaction").await;
    assert!(chat.status.starts_with("no reaction: "), "{}", chat.status);
    // Deleted while this client had not polled yet: it still shows the message.
    let gone = alice
        .delete_message(room, said["id"].as_i64().unwrap())
        .await;
    assert!(gone.status().is_success(), "{}", gone.status());
    chat.command("/react 👍").await;
    assert_eq!(chat.status, "no reaction: that message was deleted");
    chat.poll().await;
    chat.command("/react 👍").await;
    assert_eq!(
        chat.status, "no message to react to here",
        "a deleted message is no longer a target"
    );

    chat.command("mine").await;
    chat.command(&format!("/edit {}", "x".repeat(2001))).await;
    assert!(chat.status.starts_with("not edited: "), "{}", chat.status);
    let mine = alice.messages_after(room, 0).await;
    assert_eq!(mine.last().unwrap()["text"], "mine", "unchanged");

    let mut same_user_elsewhere = app.person();
    same_user_elsewhere.login("term", PASSWORD).await;
    let garden = alice.create_room("Garden").await;
    same_user_elsewhere.enter(garden).await;
    chat.command("/edit moved away").await;
    assert_eq!(
        chat.status,
        "not edited: you left this room or entered another one elsewhere"
    );
}

#[actix_web::test]
async fn an_edit_in_the_terminal_changes_the_message_on_another_terminal_and_in_the_api() {
    let Some((app, alice, room)) = porch().await else {
        return;
    };
    let bobs = in_porch(&app.address, "edit-bob", "bob").await;
    let alices = in_porch(&app.address, "edit-alice", "alice").await;

    bobs.type_line("helo wrold");
    alices.wait_for("bob: helo wrold").await;
    alices.type_line("and the next line");
    bobs.wait_for("alice: and the next line").await;

    bobs.type_line("/edit hello world");
    alices.wait_for("bob: hello world (edited)").await;
    let rows = alices.rows();
    let row_of = |text: &str| rows.iter().position(|row| row.contains(text));
    assert!(
        row_of("bob: hello world") < row_of("alice: and the next line"),
        "changed in place, not added below:\n{}",
        alices.screen()
    );
    assert!(
        !alices.screen().contains("helo wrold"),
        "{}",
        alices.screen()
    );
    bobs.wait_for("bob: hello world (edited)").await;

    let messages = alice.messages_after(room, 0).await;
    let edited = messages.iter().find(|m| m["author"] == "bob").unwrap();
    assert_eq!(edited["text"], "hello world");
    assert_eq!(edited["edited"], true);

    alices.type_line("/edit and the next line, fixed");
    alices.wait_for("message edited").await;
    bobs.wait_for("alice: and the next line, fixed (edited)")
        .await;
    assert!(
        bobs.screen().contains("bob: hello world (edited)"),
        "/edit changes the sender's own last message:\n{}",
        bobs.screen()
    );
}

#[actix_web::test]
async fn a_reaction_in_the_terminal_shows_under_the_message_on_another_terminal() {
    let Some((app, alice, room)) = porch().await else {
        return;
    };
    let bobs = in_porch(&app.address, "react-bob", "bob").await;
    let alices = in_porch(&app.address, "react-alice", "alice").await;

    alices.type_line("lunch is ready");
    bobs.wait_for("alice: lunch is ready").await;
    bobs.type_line("/react 👍");
    bobs.wait_for("you reacted 👍 to alice's message").await;
    alices.wait_for("👍 1").await;
    let rows = alices.rows();
    let message = rows
        .iter()
        .position(|r| r.contains("alice: lunch is ready"));
    let reactions = rows.iter().position(|r| r.contains("👍 1"));
    assert_eq!(
        reactions,
        message.map(|at| at + 1),
        "under the message:\n{}",
        alices.screen()
    );

    alices.type_line("/react 👍");
    bobs.wait_for("👍 2").await;
    bobs.type_line("/react ship");
    alices.wait_for("👍 2  ship 1").await;
    bobs.type_line("/react ship");
    bobs.wait_for("you had already reacted ship").await;

    bobs.type_line("/unreact 👍");
    alices.wait_for("👍 1  ship 1").await;
    let messages = alice.messages_after(room, 0).await;
    let reactions = &messages.last().unwrap()["reactions"];
    assert_eq!(reactions[0]["by"], json!(["alice"]), "{reactions}");
    assert_eq!(reactions[1]["by"], json!(["bob"]), "{reactions}");
    let entries = alice.entries_after(room, 0).await;
    let reacted = entries.iter().filter(|e| e["kind"] == "reacted").count();
    assert_eq!(reacted, 3, "reacting twice the same is one reaction");
    let screen = alices.screen();
    assert!(
        !screen.contains("bob: 👍") && !screen.contains("bob: ship"),
        "changes are not lines of their own:\n{screen}"
    );
}

#[actix_web::test]
async fn a_reply_posted_through_the_api_shows_its_quote_above_it() {
    let Some((app, mut alice, room)) = porch().await else {
        return;
    };
    let terminal = in_porch(&app.address, "reply", "bob").await;

    let original = alice.say(room, "who wants tea?").await;
    alice.say(room, "something in between").await;
    let reply = json!({"text": "me, with **milk**", "reply_to": original["id"]});
    let res = alice
        .post_json(&format!("/api/rooms/{room}/messages"), &reply)
        .await;
    assert_eq!(res.status(), 201);
    terminal.wait_for("alice: me, with **milk**").await;
    let rows = terminal.rows();
    let reply_row = rows
        .iter()
        .position(|r| r.contains("alice: me, with **milk**"))
        .unwrap();
    assert!(
        rows[reply_row - 1].contains("↪ alice: who wants tea?"),
        "the quote above the reply, the raw text shown:\n{}",
        terminal.screen()
    );

    // The quote follows its original: edited through the client's own API, as alice.
    let mut api = Api::new(&app.address).unwrap();
    api.log_in("alice", PASSWORD).await.unwrap();
    let id = original["id"].as_i64().unwrap();
    let edited = api.edit(room, id, "who wants coffee?").await.unwrap();
    assert!(edited.edited && edited.text == "who wants coffee?");
    terminal.wait_for("↪ alice: who wants coffee?").await;
    terminal.wait_for("alice: who wants coffee? (edited)").await;
}

#[actix_web::test]
async fn the_clients_search_lists_what_it_finds_and_join_goes_to_a_results_room() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut chat = terminal_user(&app.address, "term").await;
    let porch = alice.create_room("Porch").await;
    alice.say(porch, "the café is open").await;
    let direct = alice.open_direct("term").await;
    alice.say(direct, "a cafe for two?").await;
    let garden = alice.create_room("Garden").await;
    alice.say(garden, "cafe later & in the garden").await;

    chat.command("/search CAFE").await;
    assert_eq!(chat.status, "3 results: /join ROOM goes there");
    let search = chat.search.as_ref().expect("results shown");
    let found: Vec<(&str, bool, &str, &str)> = search
        .hits
        .iter()
        .map(|h| {
            let m = &h.message;
            (
                h.room.name.as_str(),
                h.room.direct,
                m.author.as_str(),
                m.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("Garden", false, "alice", "cafe later & in the garden"),
            ("alice", true, "alice", "a cafe for two?"),
            ("Porch", false, "alice", "the café is open"),
        ]
    );

    chat.command("/join Garden").await;
    assert_eq!(chat.room.as_ref().map(|r| r.id), Some(garden));
    assert!(
        chat.search.is_none(),
        "the results go with the next command"
    );

    chat.command("/search nothing like this").await;
    assert_eq!(chat.status, "nothing found for nothing like this");
    assert!(chat.search.as_ref().is_some_and(|s| s.hits.is_empty()));
    chat.command("/search").await;
    assert_eq!(chat.status, "usage: /search TEXT");

    // A refusal is the server's own words.
    let res = alice.search_with(&[("q", "ab")]).await;
    let refusal: Value = res.json().await.unwrap();
    chat.command("/search ab").await;
    assert_eq!(chat.status, refusal["message"].as_str().unwrap());
    assert!(chat.search.is_none());
}

#[actix_web::test]
async fn a_hostile_servers_search_results_reach_the_client_without_control_characters() {
    let server = hostile_server();
    let api = Api::new(&server).unwrap();
    let mut chat = Chat::new(api, "bob".into(), 1);
    chat.command("/search hello").await;
    let search = chat.search.as_ref().expect("results");
    assert_eq!(search.hits.len(), 1);
    let hit = &search.hits[0];
    assert_printable("a result's room", &hit.room.name);
    for field in [&hit.message.author, &hit.message.sent_at] {
        assert_printable("a result", field);
    }
    for line in hit.message.text.split('\n') {
        assert_printable("a line of a result", line);
    }
}

#[actix_web::test]
async fn the_real_interface_lists_search_results_newest_last_and_joins_ones_room() {
    let Some((app, mut alice, porch)) = porch().await else {
        return;
    };
    alice.say(porch, "the café is open").await;
    let garden = alice.create_room("Garden").await;
    let long = format!("cafe later, in the garden {}", "and more ".repeat(60));
    alice.say(garden, &long).await;
    let terminal = logged_in_terminal(&app.address, "search", "bob", (100, 30), "").await;

    terminal.type_line("/search CAFE");
    terminal.wait_for("2 results: /join ROOM goes there").await;
    let rows = terminal.rows();
    let row_of = |text: &str| rows.iter().position(|row| row.contains(text));
    let porch_row = row_of("Porch · ").expect("the Porch result");
    let garden_row = row_of("Garden · ").expect("the Garden result");
    assert!(
        porch_row < garden_row,
        "newest last:\n{}",
        terminal.screen()
    );
    assert!(
        rows[porch_row].contains("alice: the café is open"),
        "{}",
        rows[porch_row]
    );
    assert!(rows[garden_row].contains("alice: cafe later, in the garden"));
    assert!(
        rows[garden_row + 2].trim_end().ends_with("…│"),
        "a long message is cut at three rows:\n{}",
        terminal.screen()
    );
    assert!(!rows[garden_row + 3].contains("and more"));

    terminal.type_line("/join Garden");
    terminal
        .wait_until("Garden entered", |s| s.contains("Garden · here: "))
        .await;
    terminal
        .wait_until("the results gone", |s| !s.contains("Porch · "))
        .await;
}

/// A file written into a fresh folder: (the folder, which removes it when dropped, the path).
fn file_on_disk(name: &str, bytes: &[u8]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

#[actix_web::test]
async fn the_clients_upload_sends_a_file_that_another_persons_poll_sees() {
    let Some(app) = spawn_app().await else { return };
    let mut chat = terminal_user(&app.address, "term").await;
    chat.command("/create Kitchen").await;
    let kitchen = chat.room.as_ref().unwrap().id;
    let mut alice = app.user("alice").await;
    alice.enter_and_poll(kitchen).await;

    let (_dir, path) = file_on_disk("shopping list.txt", b"milk, eggs, tea");
    chat.command(&format!("/upload {path}")).await;
    assert_eq!(chat.status, "sent shopping list.txt (15 bytes)");
    let shown = chat.room.as_ref().unwrap().log.last().unwrap().clone();
    let file = shown.attachment.expect("the client's log shows the file");
    assert_eq!((file.name.as_str(), file.size), ("shopping list.txt", 15));

    let seen = alice.messages_after(kitchen, 0).await;
    let last = seen.last().unwrap();
    assert_eq!(last["author"], "term");
    assert_eq!(last["text"], "");
    assert_eq!(last["attachment"]["name"], "shopping list.txt");
    assert_eq!(last["attachment"]["url"], file.url.as_str());
    let fetched = alice.get(&file.url).await;
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"milk, eggs, tea");
    assert_eq!(
        chat.api.absolute(&file.url),
        format!("{}{}", app.address, file.url),
        "shown in full, on the server the client talks to"
    );
}

#[actix_web::test]
async fn the_clients_upload_says_why_a_file_was_not_sent() {
    let max = 4096;
    let Some(app) = spawn_app_tweaked(|s| s.limits.attachment_max_bytes = max).await else {
        return;
    };
    let mut chat = terminal_user(&app.address, "term").await;
    chat.command("/upload /etc/hostname").await;
    assert_eq!(chat.status, "join a room first (/rooms, /join NAME)");
    chat.command("/create Kitchen").await;
    chat.command("/upload").await;
    assert_eq!(chat.status, "usage: /upload PATH");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing here.png");
    chat.command(&format!("/upload {}", missing.display()))
        .await;
    assert_eq!(
        chat.status,
        format!("not sent: there is no file {}", missing.display())
    );
    chat.command(&format!("/upload {}", dir.path().display()))
        .await;
    assert!(
        chat.status.ends_with("is a folder, not a file"),
        "{}",
        chat.status
    );
    let (_empty_dir, empty) = file_on_disk("empty.txt", b"");
    chat.command(&format!("/upload {empty}")).await;
    assert_eq!(chat.status, format!("not sent: {empty} is empty"));

    // Over the limit: read up to it, and refused in the server's words. Far over it (past
    // what the form may add): refused before the body is read, and still said.
    for size in [max + 1, 1 << 20] {
        let (_big_dir, big) = file_on_disk("big.bin", &vec![7u8; size]);
        chat.command(&format!("/upload {big}")).await;
        assert_eq!(
            chat.status, "not sent: The file is too large: at most 4 KiB can be sent.",
            "{size} bytes"
        );
    }
    assert!(
        chat.room
            .as_ref()
            .unwrap()
            .log
            .iter()
            .all(|e| e.attachment.is_none()),
        "nothing was sent"
    );
}

#[test]
fn a_path_starting_with_a_tilde_is_in_the_home_folder() {
    let home = std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    assert_eq!(expand_home("~/photos/cat.png"), home.join("photos/cat.png"));
    assert_eq!(expand_home("~"), home);
    assert_eq!(
        expand_home("~alice/cat.png"),
        std::path::PathBuf::from("~alice/cat.png"),
        "another user's home is not guessed"
    );
    assert_eq!(
        expand_home("/tmp/~/x"),
        std::path::PathBuf::from("/tmp/~/x")
    );
}

#[test]
fn the_status_says_what_is_being_uploaded_while_it_goes() {
    let (_dir, path) = file_on_disk("cat.png", &[0u8; 3000]);
    assert_eq!(
        working(&format!("/upload {path}")),
        "sending cat.png (2.9 KiB)…"
    );
    assert_eq!(working("/upload /no/such/file.pdf"), "sending file.pdf…");
    assert_eq!(working("hello"), "…");
    assert_eq!(working("/uploadx"), "…");
    assert!(
        HELP.iter()
            .any(|line| line.trim_start().starts_with("/upload PATH"))
    );
}

#[actix_web::test]
async fn the_real_interface_shows_a_file_after_its_text_and_uploads_one() {
    let Some((app, mut alice, room)) = porch().await else {
        return;
    };
    let terminal = in_porch(&app.address, "upload", "bob").await;

    let res = alice
        .upload(room, "cat.png", &[1u8; 1536], &[("text", "look at this")])
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let url = body["message"]["attachment"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    terminal.wait_for("alice: look at this").await;
    let rows = terminal.rows();
    let text_row = rows
        .iter()
        .position(|r| r.contains("alice: look at this"))
        .unwrap();
    let label = format!("[cat.png, 1.5 KiB] {}{url}", app.address);
    assert!(
        rows[text_row + 1].contains(&label),
        "the file on the row after the text:\n{}",
        terminal.screen()
    );
    let res = alice.upload(room, "notes.pdf", b"%PDF-1.4 tiny", &[]).await;
    assert_eq!(res.status(), 201);
    terminal.wait_for("alice: [notes.pdf, 13 bytes] ").await;

    terminal.type_line("/help");
    terminal.wait_for("/upload PATH").await;
    let (_dir, path) = file_on_disk("from bob.txt", b"hello as a file");
    terminal.type_line(&format!("/upload {path}"));
    terminal.wait_for("sent from bob.txt (15 bytes)").await;
    terminal
        .wait_for("bob: [from bob.txt, 15 bytes] http://")
        .await;
    let seen = alice.messages_after(room, 0).await;
    let last = seen.last().unwrap();
    assert_eq!(last["author"], "bob");
    assert_eq!(last["attachment"]["name"], "from bob.txt");
}
