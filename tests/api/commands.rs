//! The server's commands (`chatroom rooms ...`, `chatroom users ...`) against a database a
//! running server uses: what they print, what they change, and what the server notices.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{PASSWORD, TestApp, spawn_app};
use super::initdb::{chatroom, stderr, stdout};
use super::wait::wait_until;

/// Runs `chatroom ARGS --database URL` (the flag goes before a `--`, after which everything
/// is a name): (succeeded, stdout, stderr).
fn run(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut all = args.to_vec();
    let end_of_flags = all.iter().position(|arg| *arg == "--").unwrap_or(all.len());
    all.splice(
        end_of_flags..end_of_flags,
        ["--database", app.database().url.as_str()],
    );
    let output = chatroom(&all);
    (output.status.success(), stdout(&output), stderr(&output))
}

/// A refusal: a failure exit and one line that says what was wrong (clap's own errors about
/// flags take several).
fn refused(app: &TestApp, args: &[&str], says: &str) {
    let (ok, out, err) = run(app, args);
    assert!(!ok, "{args:?} should fail: {out}");
    assert!(err.contains(says), "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"));
}

#[actix_web::test]
async fn room_commands_list_create_tail_and_delete_while_the_server_runs() {
    let Some(app) = spawn_app().await else { return };
    let (ok, out, _) = run(&app, &["rooms", "list"]);
    assert!(ok);
    assert_eq!(out.trim(), "no rooms yet");
    refused(&app, &["rooms", "create", "Lounge"], "no account yet");

    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let (ok, out, err) = run(&app, &["rooms", "create", "Lounge"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"Lounge\" owned by alice"), "{out}");
    let (ok, out, err) = run(
        &app,
        &["rooms", "create", "Quiet", "--owner", "BOB", "--json"],
    );
    assert!(ok, "{err}");
    let quiet: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(quiet["creator"], "bob");
    refused(&app, &["rooms", "create", "LOUNGE"], "exists already");
    refused(&app, &["rooms", "create", "   "], "name");
    refused(
        &app,
        &["rooms", "create", "Attic", "--owner", "nobody"],
        "no user named \"nobody\"",
    );

    // The running server lists the new rooms; nobody was moved into them.
    let lobby: Value = alice.get("/api/rooms").await.json().await.unwrap();
    let names: Vec<&str> = lobby["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Lounge") && names.contains(&"Quiet"),
        "{lobby}"
    );
    let lounge = lobby["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Lounge")
        .unwrap()["id"]
        .as_i64()
        .unwrap() as i32;
    bob.enter_and_poll(lounge).await;
    bob.say(lounge, "first words").await;
    bob.say(lounge, "second words").await;

    let (ok, out, _) = run(&app, &["rooms", "tail", "lounge", "-n", "2"]);
    assert!(ok);
    let lines: Vec<&str> = out.trim().lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].ends_with("bob: first words") && lines[1].ends_with("bob: second words"));
    let (ok, out, _) = run(
        &app,
        &["rooms", "tail", "--id", &lounge.to_string(), "--json"],
    );
    assert!(ok);
    let entries: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(entries[0]["kind"], "joined", "{entries}");
    assert_eq!(
        entries.as_array().unwrap().last().unwrap()["text"],
        "second words"
    );

    let (ok, out, _) = run(&app, &["rooms", "list", "--json"]);
    assert!(ok);
    let rooms: Value = serde_json::from_str(&out).unwrap();
    let listed = rooms.as_array().unwrap();
    assert_eq!(listed[0]["name"], "Lounge", "most recently active first");
    assert_eq!(listed[0]["messages"], 2);
    let (_, text, _) = run(&app, &["rooms", "list"]);
    assert!(text.starts_with("ID  NAME"), "{text}");

    // Deleted from the command line: bob, inside, learns it at his next polls.
    let (ok, out, err) = run(&app, &["rooms", "delete", "Lounge"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("deleted room {lounge} \"Lounge\""));
    wait_until(
        Duration::from_secs(3),
        "bob told that the room is gone",
        || async { bob.poll(lounge, "0").await.status() == StatusCode::GONE },
    )
    .await;
    refused(
        &app,
        &["rooms", "delete", "Lounge"],
        "no room named \"Lounge\"",
    );
    refused(&app, &["rooms", "tail", "--id", "999"], "no room 999");

    let (_, admin_page) = alice.page("/admin").await;
    assert!(
        admin_page.contains("server command"),
        "audited as the command line"
    );
}

#[actix_web::test]
async fn user_commands_list_disable_enable_and_reset_passwords() {
    let Some(app) = spawn_app().await else { return };
    let _alice = app.user("alice").await;
    let _bob = app.user("bob").await;

    let (ok, out, _) = run(&app, &["users", "list"]);
    assert!(ok);
    let lines: Vec<&str> = out.trim().lines().collect();
    assert!(lines[0].starts_with("NAME"), "{out}");
    assert!(lines[1].starts_with("alice") && lines[1].ends_with("administrator"));
    assert!(lines[2].starts_with("bob"));
    let (ok, out, _) = run(&app, &["users", "list", "--search", "BO", "--json"]);
    assert!(ok);
    let users: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(users[0]["username"], "bob");
    assert_eq!(users[0]["disabled"], false);
    assert!(
        users[0]["last_seen_at"].is_string(),
        "registering counts as seen"
    );

    let (ok, out, _) = run(&app, &["users", "disable", "bob"]);
    assert!(ok);
    assert!(out.starts_with("bob is disabled"), "{out}");
    let mut bob = app.person();
    assert_eq!(
        bob.login("bob", PASSWORD).await.status(),
        StatusCode::FORBIDDEN
    );
    let (_, out, _) = run(&app, &["users", "list", "--json", "--search", "bob"]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()[0]["disabled"],
        true
    );
    refused(&app, &["users", "disable", "alice"], "last administrator");
    refused(
        &app,
        &["users", "disable", "nobody"],
        "no user named \"nobody\"",
    );
    let (ok, _, _) = run(&app, &["users", "enable", "bob"]);
    assert!(ok);
    assert_eq!(
        bob.login("bob", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    // A new password from standard input, under the same rules as any new password.
    let reset = |input: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_chatroom"))
            .args(["users", "reset-password", "bob", "--stdin", "--database"])
            .arg(&app.database().url)
            .env("RUST_LOG", "off")
            .env("CHATROOM_BCRYPT_COST", "4")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        (output.status.success(), stdout(&output), stderr(&output))
    };
    let (ok, _, err) = reset("password\n");
    assert!(!ok && err.contains("most common"), "{err}");
    let (ok, out, err) = reset("a brand new secret\n");
    assert!(ok, "{err}");
    assert!(
        out.contains("bob has a new one-time password (1 session ended;"),
        "{out}"
    );
    let mut bob = app.person();
    assert_eq!(
        bob.login("bob", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bob.login("bob", "a brand new secret").await.status(),
        StatusCode::SEE_OTHER
    );
}

/// The id of the room that `rooms create NAME --json` makes.
fn create_room(app: &TestApp, name: &str) -> i64 {
    let (ok, out, err) = run(app, &["rooms", "create", name, "--json"]);
    assert!(ok, "{err}");
    serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// What people typed is shown, never obeyed: a line break, a carriage return or a bidi
/// control in a message or a name cannot forge a line in someone else's name, nor make a
/// line read backwards.
#[actix_web::test]
async fn text_output_shows_line_breaks_and_bidi_controls_as_escapes() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Lounge").await;
    alice
        .say(
            room,
            "hello\n[2026-12-01 10:00:00] #9 bob: I resign\r\u{202e}gnp.exe\u{2066}",
        )
        .await;

    let (ok, out, err) = run(&app, &["rooms", "tail", "Lounge"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.trim_end_matches('\n').split('\n').collect();
    assert!(lines.iter().all(|line| line.starts_with("[20")), "{out:?}");
    assert_eq!(
        lines.iter().filter(|line| line.contains("#9 bob")).count(),
        1,
        "{out:?}"
    );
    assert!(
        lines.iter().any(|line| line.ends_with(
            r" alice: hello\n[2026-12-01 10:00:00] #9 bob: I resign\r\u{202e}gnp.exe\u{2066}"
        )),
        "{out:?}"
    );
    // --json keeps the exact text.
    let (_, json, _) = run(&app, &["rooms", "tail", "Lounge", "--json"]);
    let entries: Value = serde_json::from_str(&json).unwrap();
    assert!(entries.as_array().unwrap().iter().any(|e| {
        e["text"]
            .as_str()
            .unwrap_or("")
            .contains("resign\r\u{202e}")
    }));

    // Names that older rules (or a restored database) let through, in the tables too.
    app.db()
        .batch_execute(&format!(
            "UPDATE rooms SET name = 'Lounge\n999  Fake\u{202e}' WHERE id = {room};
             UPDATE users SET username = 'alice\r\u{1b}[2K\u{200f}' WHERE username = 'alice';"
        ))
        .unwrap();
    for args in [
        &["rooms", "list"][..],
        &["users", "list"],
        &["rooms", "tail", "--id", &room.to_string()],
    ] {
        let (ok, out, err) = run(&app, args);
        assert!(ok, "{args:?}: {err}");
        for bad in ['\r', '\u{1b}', '\u{202e}', '\u{200f}'] {
            assert!(!out.contains(bad), "{args:?}: {out:?}");
        }
        assert!(!out.contains("\n999"), "{args:?}: {out:?}");
    }
    let (_, rooms, _) = run(&app, &["rooms", "list"]);
    assert!(rooms.contains(r"Lounge\n999  Fake\u{202e}"), "{rooms}");
    let (_, users, _) = run(&app, &["users", "list"]);
    assert!(users.contains(r"alice\r\u{1b}[2K\u{200f}"), "{users}");
}

/// A positional room is always a name, `--id N` always a number: a room named "N" and room
/// N are both reachable, and deleting one never deletes the other.
#[actix_web::test]
async fn a_room_named_like_a_number_and_the_room_with_that_id_are_both_reachable() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let lounge = create_room(&app, "Lounge");
    let number = lounge.to_string();
    let named = create_room(&app, &number);
    assert_ne!(named, lounge);
    alice.enter(named as i32).await;
    alice
        .say(named as i32, "in the room named like a number")
        .await;
    alice.enter(lounge as i32).await;
    alice.say(lounge as i32, "in the lounge").await;

    let (ok, out, err) = run(&app, &["rooms", "tail", &number]);
    assert!(ok, "{err}");
    assert!(out.contains("in the room named like a number"), "{out}");
    let (ok, out, err) = run(&app, &["rooms", "tail", "--id", &number]);
    assert!(ok, "{err}");
    assert!(out.contains("in the lounge"), "{out}");
    refused(&app, &["rooms", "tail", "999"], "no room named \"999\"");
    refused(&app, &["rooms", "tail", "--id", "999"], "no room 999");
    for (args, says) in [
        (&["rooms", "tail", "--id", "Lounge"][..], "--id"),
        (
            &["rooms", "delete", "--id", &number, "Lounge"],
            "cannot be used with",
        ),
        (&["rooms", "delete"], "--id"),
    ] {
        let (ok, _, err) = run(&app, args);
        assert!(!ok && err.contains(says), "{args:?}: {err}");
    }

    let (ok, out, err) = run(&app, &["rooms", "delete", &number]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("deleted room {named} \"{number}\""));
    let (_, out, _) = run(&app, &["rooms", "list", "--json"]);
    let left: Vec<i64> = serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|room| room["id"].as_i64().unwrap())
        .collect();
    assert_eq!(left, [lounge], "the lounge stays");
    let (ok, out, err) = run(&app, &["rooms", "delete", "--id", &number]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("deleted room {lounge} \"Lounge\""));
}

/// New names may not start with '-'; one that an older version let through is reached after
/// `--`, the end of the flags, and never read as a flag.
#[actix_web::test]
async fn a_user_named_like_a_flag_is_reached_after_the_end_of_the_flags() {
    let Some(app) = spawn_app().await else { return };
    let _alice = app.user("alice").await;
    let mut newcomer = app.person();
    newcomer.page("/register").await;
    let res = newcomer.register("-bob", PASSWORD).await;
    assert_ne!(
        res.status(),
        StatusCode::SEE_OTHER,
        "a new name may not start with '-'"
    );
    let _helper = app.user("xhelp").await;
    app.db()
        .batch_execute(
            "UPDATE users SET username = '--help', username_key = '--help'
             WHERE username = 'xhelp'",
        )
        .unwrap();

    let (ok, out, _) = run(&app, &["users", "disable", "--help"]);
    assert!(ok && out.contains("Usage"), "a flag is a flag: {out}");
    let (ok, out, err) = run(&app, &["users", "disable", "--", "--help"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "--help is disabled: every session of theirs has ended"
    );
    let (_, out, _) = run(&app, &["users", "list", "--json", "--search", "help"]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()[0]["disabled"],
        true
    );
    let (ok, out, err) = run(&app, &["users", "enable", "--", "--help"]);
    assert!(ok && out.trim() == "--help is enabled", "{out}{err}");
    let (ok, out, err) = run(
        &app,
        &[
            "users",
            "reset-password",
            "--bcrypt-cost",
            "4",
            "--",
            "--help",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("one-time password for --help: "), "{out}");
    let (ok, out, err) = run(&app, &["admin", "grant", "--", "--help"]);
    assert!(
        ok && out.trim() == "--help is an administrator",
        "{out}{err}"
    );
}

/// Runs `chatroom backup ARGS --database DATABASE` in `dir`: (succeeded, stdout, stderr).
fn backup_in(
    dir: &std::path::Path,
    database: &std::path::Path,
    args: &[&str],
) -> (bool, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_chatroom"))
        .arg("backup")
        .args(args)
        .arg("--database")
        .arg(database)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    (output.status.success(), stdout(&output), stderr(&output))
}

/// What is in `dir`, by name.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `backup file:NAME` would be read by SQLite as a URI (and wrote the copy elsewhere, with
/// the umask's mode, while reporting an empty file): refused. Every other target is a plain
/// path, a colon and all, and a failed backup leaves nothing behind.
#[actix_web::test]
async fn a_backup_target_is_a_plain_path_never_a_sqlite_uri() {
    use std::os::unix::fs::PermissionsExt;
    let Some(app) = spawn_app().await else { return };
    let Some(database) = app.database().sqlite_path() else {
        return;
    };
    let database = std::fs::canonicalize(database).unwrap();
    let _alice = app.user("alice").await;
    let dir = tempfile::tempdir().unwrap();

    for uri in [
        "file:copy.db",
        "FILE:copy.db",
        "file:///tmp/copy.db?mode=rwc",
    ] {
        let (ok, out, err) = backup_in(dir.path(), &database, &[uri]);
        assert!(!ok, "{uri}: {out}");
        assert!(err.contains("URI") && err.contains("./"), "{uri}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            listing(dir.path()).is_empty(),
            "{uri}: {:?}",
            listing(dir.path())
        );
    }
    assert!(!std::path::Path::new("/tmp/copy.db").exists());

    let (ok, out, err) = backup_in(dir.path(), &database, &["./file:copy.db"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("wrote ./file:copy.db"), "{out}");
    assert_eq!(listing(dir.path()), ["file:copy.db"]);
    let copy = dir.path().join("file:copy.db");
    let meta = std::fs::metadata(&copy).unwrap();
    assert!(meta.len() > 0);
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let mut conn = chatroom::db::DbConnection::open(copy.to_str().unwrap()).unwrap();
    assert!(
        chatroom::models::User::find_by_username(&mut conn, "alice")
            .unwrap()
            .is_some()
    );
    drop(conn);
    std::fs::remove_dir_all(dir.path()).unwrap();
    std::fs::create_dir(dir.path()).unwrap();

    // A database that is no database: the copy fails, and nothing is left behind.
    let garbage = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(garbage.path(), vec![b'x'; 8192]).unwrap();
    let (ok, _, err) = backup_in(dir.path(), garbage.path(), &["copy.db"]);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

/// Files live in the database, so a backup holds them: the copy serves the very bytes sent.
#[actix_web::test]
async fn a_backup_holds_the_files_that_messages_carry() {
    use chatroom::models::attachment::Form;
    let Some(app) = spawn_app().await else { return };
    let Some(database) = app.database().sqlite_path() else {
        return; // On PostgreSQL, pg_dump copies the bytea column like any other.
    };
    let database = std::fs::canonicalize(database).unwrap();
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let bytes: Vec<u8> = (0u8..=255).cycle().take(70_000).collect();
    let res = alice.upload(room, "archive.bin", &bytes, &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let id = i32::try_from(body["message"]["attachment"]["id"].as_i64().unwrap()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = backup_in(dir.path(), &database, &["copy.db"]);
    assert!(ok, "{err}");
    let copy = dir.path().join("copy.db");
    let mut conn = chatroom::db::DbConnection::open(copy.to_str().unwrap()).unwrap();
    let content = chatroom::models::Attachment::content(&mut conn, id, Form::Original).unwrap();
    assert_eq!(content.name, "archive.bin");
    assert!(content.bytes == bytes, "the copy holds the file's bytes");
}
