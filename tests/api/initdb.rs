//! The command line: `chatroom initdb`, and clean failures.

use std::process::{Command, Output};

use chatroom::domain::Username;
use chatroom::models::User;
use diesel::{Connection, SqliteConnection};

use chatroom::db::Backend;
use diesel::connection::SimpleConnection;

use super::database::TEST_SECRET;
use super::database::{TestDatabase, backend};
use super::helpers::{LoggedServer, PASSWORD, spawn_app};

pub fn chatroom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chatroom"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("CHATROOM_SECRET", TEST_SECRET)
        .env("RUST_LOG", "off")
        .output()
        .expect("the binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn initdb_creates_the_database_and_run_again_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let path_arg = path.to_str().unwrap();

    let first = chatroom(&["initdb", "--database", path_arg]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("created database"),
        "{}",
        stdout(&first)
    );
    assert!(stdout(&first).contains("applied migrations"));

    let mut conn = chatroom::db::DbConnection::open(path_arg).unwrap();
    User::create(
        &mut conn,
        &Username::parse("keeper").unwrap(),
        "$2b$04$hash",
    )
    .unwrap();
    drop(conn);

    let second = chatroom(&["initdb", "--database", path_arg]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("up to date"),
        "{}",
        stdout(&second)
    );

    let mut conn = chatroom::db::DbConnection::open(path_arg).unwrap();
    assert!(
        User::find_by_username(&mut conn, "keeper")
            .unwrap()
            .is_some()
    );
}

#[test]
fn an_unknown_flag_is_a_short_error_and_a_failure_exit() {
    let output = chatroom(&["--no-such-flag"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("--no-such-flag"));
    assert!(!stderr(&output).contains("panicked"));
}

#[test]
fn an_unusable_database_path_is_a_one_line_error_not_a_panic() {
    let output = chatroom(&["initdb", "--database", "/nonexistent/dir/chat.db"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot open database /nonexistent/dir/chat.db"),
        "{err}"
    );
    assert!(!err.contains("panicked"));

    let output = chatroom(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database",
        "/nonexistent/x.db",
    ]);
    assert!(!output.status.success());
    assert_eq!(
        stderr(&output).trim().lines().count(),
        1,
        "{}",
        stderr(&output)
    );
}

/// Databases made before per-room numbers: each room's entries are numbered in their old id
/// order, deletions and read marks follow, and new entries continue each room's count.
#[test]
fn an_existing_database_is_numbered_room_by_room_in_its_old_order() {
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;
    use diesel_migrations::MigrationHarness;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    for _ in 0..4 {
        conn.run_next_migration(chatroom::db::SQLITE_MIGRATIONS)
            .unwrap();
    }
    conn.batch_execute(
        "INSERT INTO users (id, username, password_hash, created_at)
             VALUES (1, 'ann', 'x', CURRENT_TIMESTAMP);
         INSERT INTO rooms (id, name, name_key, creator_id, created_at, last_activity_at)
             VALUES (1, 'One', 'one', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
                    (2, 'Two', 'two', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
         INSERT INTO log_entries (id, room_id, author_id, kind, body, target_id, sent_at) VALUES
             (10, 1, 1, 'message', 'a', NULL, CURRENT_TIMESTAMP),
             (11, 2, 1, 'message', 'b', NULL, CURRENT_TIMESTAMP),
             (12, 1, 1, 'message', 'c', NULL, CURRENT_TIMESTAMP),
             (13, 2, 1, 'message', 'd', NULL, CURRENT_TIMESTAMP),
             (14, 1, 1, 'deleted', '', 10, CURRENT_TIMESTAMP);
         INSERT INTO room_reads (user_id, room_id, last_read_id) VALUES (1, 1, 12), (1, 2, 11);",
    )
    .unwrap();
    drop(conn);

    chatroom::models::initialize(path.to_str().unwrap()).unwrap();

    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Numbered {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        room_id: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        seq: i32,
        #[diesel(sql_type = diesel::sql_types::Text)]
        body: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        target_seq: Option<i32>,
    }
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let rows: Vec<Numbered> = diesel::sql_query(
        "SELECT room_id, seq, body, target_seq FROM log_entries ORDER BY room_id, seq",
    )
    .load(&mut conn)
    .unwrap();
    let got: Vec<(i32, i32, &str, Option<i32>)> = rows
        .iter()
        .map(|r| (r.room_id, r.seq, r.body.as_str(), r.target_seq))
        .collect();
    assert_eq!(
        got,
        [
            (1, 1, "a", None),
            (1, 2, "c", None),
            (1, 3, "", Some(1)),
            (2, 1, "b", None),
            (2, 2, "d", None),
        ]
    );
    #[derive(diesel::QueryableByName)]
    struct Heads {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        last_seq: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        last_read_seq: i32,
    }
    let heads: Vec<Heads> = diesel::sql_query(
        "SELECT r.last_seq, m.last_read_seq FROM rooms r
         JOIN room_reads m ON m.room_id = r.id ORDER BY r.id",
    )
    .load(&mut conn)
    .unwrap();
    let heads: Vec<(i32, i32)> = heads
        .iter()
        .map(|h| (h.last_seq, h.last_read_seq))
        .collect();
    assert_eq!(
        heads,
        [(3, 2), (2, 1)],
        "heads, and read marks in the new numbers"
    );
}

/// Databases made before name keys: keys are recomputed in Rust after the migrations, and two
/// names that now read alike are reported by initdb (and the server's log), never merged.
#[test]
fn upgrading_recomputes_name_keys_and_reports_names_that_now_clash() {
    use chatroom::db::schema::{rooms, users};
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let path_arg = path.to_str().unwrap();
    let mut conn = chatroom::db::DbConnection::open(path_arg).unwrap();
    for _ in 0..5 {
        conn.run_next_migration(chatroom::db::SQLITE_MIGRATIONS)
            .unwrap();
    }
    conn.batch_execute(
        "INSERT INTO users (id, username, password_hash, created_at)
             VALUES (1, 'Ann', 'x', CURRENT_TIMESTAMP);
         INSERT INTO rooms (id, name, name_key, creator_id, created_at, last_activity_at) VALUES
             (1, 'Straße', 'straße', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
             (2, 'STRASSE', 'strasse', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
             (3, 'Cafe\u{301}', 'cafe\u{301}', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
             (4, 'Book  Club', 'book  club', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);",
    )
    .unwrap();
    drop(conn);

    let output = chatroom(&["initdb", "--database", path_arg]);

    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert_eq!(err.trim().lines().count(), 1, "one clash: {err}");
    assert!(
        err.contains(r#"room 1 "Straße""#) && err.contains(r#"room 2 "STRASSE""#),
        "names both rows: {err}"
    );
    let mut conn = chatroom::db::DbConnection::open(path_arg).unwrap();
    let keys: Vec<(i32, String)> = rooms::table
        .order(rooms::id)
        .select((rooms::id, rooms::name_key))
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        keys,
        [
            (1, "straße".to_owned()),
            (2, "strasse".to_owned()),
            (3, "caf\u{E9}".to_owned()),
            (4, "book club".to_owned()),
        ],
        "the clash kept its old key; the others were brought up to date"
    );
    let key: String = users::table
        .select(users::username_key)
        .first(&mut conn)
        .unwrap();
    assert_eq!(key, "ann");

    let again = chatroom(&["initdb", "--database", path_arg]);
    assert!(stderr(&again).contains("room 1"), "reported until renamed");
}

/// A SQLite database at `path` as a release before migration `version` left it, holding ann
/// (user 1) and her room Kitchen (room 1, three entries numbered).
fn migrated_before(path: &str, version: &str) -> chatroom::db::DbConnection {
    use diesel_migrations::MigrationHarness;

    let mut conn = chatroom::db::DbConnection::open(path).unwrap();
    let before = std::fs::read_dir("migrations/sqlite")
        .unwrap()
        .filter(|m| *m.as_ref().unwrap().file_name().to_string_lossy() < *version)
        .count();
    for _ in 0..before {
        conn.run_next_migration(chatroom::db::SQLITE_MIGRATIONS)
            .unwrap();
    }
    conn.batch_execute(
        "INSERT INTO users (id, username, username_key, password_hash, created_at)
             VALUES (1, 'ann', 'ann', 'x', CURRENT_TIMESTAMP);
         INSERT INTO rooms (id, name, name_key, creator_id, created_at, last_activity_at,
                            last_seq)
             VALUES (1, 'Kitchen', 'kitchen', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 3);",
    )
    .unwrap();
    conn
}

/// Messages stored before messages were rendered (and before edits and reactions) keep their
/// numbers and text, get their HTML when the database is brought up to date, and new entries
/// go on numbering after them, with row ids never given twice.
#[test]
fn upgrading_renders_the_earlier_messages_and_keeps_the_log() {
    use chatroom::db::schema::log_entries;
    use diesel::prelude::*;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let path_arg = path.to_str().unwrap();
    let mut conn = migrated_before(path_arg, "2026-12-05-000019");
    conn.batch_execute(
        "INSERT INTO log_entries (id, room_id, author_id, kind, body, sent_at, seq, deleted_at,
                                  target_seq)
             VALUES (5, 1, 1, 'message', '**hi** <b>there</b>', CURRENT_TIMESTAMP, 1, NULL, NULL),
                    (6, 1, 1, 'message', '', CURRENT_TIMESTAMP, 2, CURRENT_TIMESTAMP, NULL),
                    (7, 1, 1, 'deleted', '', CURRENT_TIMESTAMP, 3, NULL, 2);
         UPDATE sqlite_sequence SET seq = 40 WHERE name = 'log_entries';",
    )
    .unwrap();
    drop(conn);

    let output = chatroom(&["initdb", "--database", path_arg]);
    assert!(output.status.success(), "{}", stderr(&output));

    let mut conn = chatroom::db::DbConnection::open(path_arg).unwrap();
    let rows: Vec<(i32, i32, String, Option<String>)> = log_entries::table
        .order(log_entries::id)
        .select((
            log_entries::id,
            log_entries::seq,
            log_entries::body,
            log_entries::html,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        rows,
        [
            (
                5,
                1,
                "**hi** <b>there</b>".to_owned(),
                Some("<p><strong>hi</strong> &lt;b&gt;there&lt;/b&gt;</p>\n".to_owned())
            ),
            (6, 2, String::new(), Some(String::new())),
            (7, 3, String::new(), None),
        ]
    );
    let next: i32 = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
        "(SELECT seq FROM sqlite_sequence WHERE name = 'log_entries')",
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(next, 40, "the next row id goes on from where it was");
}

/// Messages stored before search are indexed when the database is brought up to date, and
/// initdb says so; deleted ones are not.
#[test]
fn upgrading_indexes_the_earlier_messages_for_search_and_says_so() {
    use diesel::RunQueryDsl;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let path_arg = path.to_str().unwrap();
    let mut conn = migrated_before(path_arg, "2026-12-05-000020");
    conn.batch_execute(
        "INSERT INTO log_entries (id, room_id, author_id, kind, body, html, sent_at, seq,
                                  deleted_at, target_seq)
             VALUES (5, 1, 1, 'message', 'Un CAFÉ crème', '', CURRENT_TIMESTAMP, 1, NULL, NULL),
                    (6, 1, 1, 'message', '', '', CURRENT_TIMESTAMP, 2, CURRENT_TIMESTAMP, NULL),
                    (7, 1, 1, 'deleted', '', NULL, CURRENT_TIMESTAMP, 3, NULL, 2);",
    )
    .unwrap();
    drop(conn);

    let output = Command::new(env!("CARGO_BIN_EXE_chatroom"))
        .args(["initdb", "--database", path_arg])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("indexing 1 messages for search"),
        "{}",
        stderr(&output)
    );

    let conn = SqliteConnection::establish(path_arg).unwrap();
    let mut conn = chatroom::db::DbConnection::Sqlite(conn);
    let found: Vec<i32> = diesel::sql_query(
        "SELECT rowid AS id FROM message_search WHERE message_search MATCH '\"cafe creme\"'",
    )
    .load::<Found>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|f| f.id)
    .collect();
    assert_eq!(found, [5]);
    let indexed: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM log_entries WHERE search_text IS NOT NULL)",
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(
        indexed, 1,
        "neither the deleted message nor the other entry"
    );
}

#[derive(diesel::QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    id: i32,
}

/// The form cookie's name a real server sets with `CHATROOM_SECURE_COOKIES=value`.
/// `None` where this binary's database is not at hand (see `LoggedServer`).
async fn form_cookie_with_secure_cookies(value: &str) -> Option<String> {
    let server = LoggedServer::start_with_env(&[("CHATROOM_SECURE_COOKIES", value)])?;
    let res = reqwest::get(format!("{}/login", server.address))
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap_or_else(|| panic!("no cookie with CHATROOM_SECURE_COOKIES={value}"))
        .to_str()
        .unwrap();
    Some(cookie.split('=').next().unwrap().to_owned())
}

#[actix_web::test]
async fn boolean_settings_from_the_environment_take_the_words_operators_write() {
    for on in ["1", "true", "yes", "on"] {
        let Some(cookie) = form_cookie_with_secure_cookies(on).await else {
            return;
        };
        assert_eq!(cookie, "__Host-chatroom_form", "{on}");
    }
    for off in ["0", "false", "no", "off"] {
        let Some(cookie) = form_cookie_with_secure_cookies(off).await else {
            return;
        };
        assert_eq!(cookie, "chatroom_form", "{off}");
    }
}

#[test]
fn serve_help_groups_the_flags_by_topic() {
    let help = stdout(&chatroom(&["serve", "--help"]));
    let headings: Vec<&str> = help
        .lines()
        .filter(|l| l.ends_with(':') && !l.starts_with(' '))
        .collect();
    assert_eq!(
        headings,
        [
            "Options:",
            "Network:",
            "Database:",
            "Passwords and sessions:",
            "Limits:"
        ],
        "{help}"
    );
}

/// Runs `chatroom initdb --database url`; answers (success, stdout, stderr).
fn initdb(url: &str) -> (bool, String, String) {
    let output = chatroom(&["initdb", "--database", url]);
    (output.status.success(), stdout(&output), stderr(&output))
}

#[test]
fn initdb_sets_up_an_empty_database_once_on_either_backend() {
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    // On PostgreSQL the test database comes migrated: start from an empty one.
    if backend() == Backend::Postgres {
        database
            .connect()
            .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            .unwrap();
    }
    let (ok, out, err) = initdb(&database.url);
    assert!(ok, "{err}");
    assert!(
        out.contains("created database") || out.contains("set up empty database"),
        "{out}"
    );
    assert!(out.contains("applied migrations"), "{out}");
    assert!(
        !out.contains(":postgres@"),
        "no password in the output: {out}"
    );
    let (ok, out, err) = initdb(&database.url);
    assert!(ok, "{err}");
    assert!(out.contains("is up to date"), "{out}");
}

#[test]
fn a_database_upgraded_by_a_newer_chatroom_is_refused_in_one_line_and_left_alone() {
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    assert!(initdb(&database.url).0);
    database
        .connect()
        .batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('29990101000000')")
        .unwrap();
    let commands: [&[&str]; 2] = [&["initdb"], &["serve", "--bind", "127.0.0.1:0"]];
    for command in commands {
        let mut args = command.to_vec();
        args.extend(["--database", &database.url]);
        let output = chatroom(&args);
        let err = stderr(&output);
        assert!(!output.status.success(), "{command:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{command:?}: {err}");
        assert!(err.contains("newer chatroom"), "{command:?}: {err}");
        assert!(err.contains("29990101000000"), "{command:?}: {err}");
    }
}

/// Can't connect, no such database, wrong password: each is one line naming the database
/// (without its password) and what went wrong, and a failure exit.
#[test]
fn postgresql_connection_failures_are_one_clear_line_each() {
    if backend() != Backend::Postgres {
        return; // SQLite's own failures: an_unusable_database_path_is_a_one_line_error...
    }
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    let url = &database.url;
    let (base, _name) = url.rsplit_once('/').unwrap();
    let (scheme_user, host_port) = base.split_once('@').unwrap();
    let (user, password) = scheme_user
        .trim_start_matches("postgres://")
        .split_once(':')
        .unwrap();
    assert_ne!(password, "wrong");
    let cases = [
        (
            format!("{base}/no_such_database_here"),
            "database \"no_such_database_here\" does not exist",
        ),
        (
            format!("postgres://{user}:wrong@{host_port}/postgres"),
            "password authentication failed",
        ),
        (
            format!("postgres://{user}:{password}@127.0.0.1:1/postgres"),
            "Connection refused",
        ),
    ];
    for (url, why) in cases {
        let (ok, _, err) = initdb(&url);
        assert!(!ok, "{url}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.starts_with("chatroom: cannot open database postgres://"),
            "{err}"
        );
        assert!(err.contains(why), "{err}");
        assert!(
            !err.contains(&format!(":{password}@")) && err.contains(":***@"),
            "the password stays secret: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn serve_on_postgresql_without_a_secret_refuses_to_start_and_says_why() {
    if backend() != Backend::Postgres {
        return; // On SQLite the key is kept in a file beside the database.
    }
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    let output = Command::new(env!("CARGO_BIN_EXE_chatroom"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database",
            &database.url,
        ])
        .env_remove("CHATROOM_SECRET")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert!(!output.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("CHATROOM_SECRET must be set"), "{err}");
}

/// `chatroom backup FILE` copies a SQLite database while the server writes to it; the copy is
/// a database `serve` takes as it is. It never overwrites unless told to. On PostgreSQL it
/// points at pg_dump and fails.
#[actix_web::test]
async fn a_backup_taken_while_the_server_writes_is_a_complete_working_copy() {
    let Some(app) = spawn_app().await else { return };
    let Some(path) = app.database().sqlite_path() else {
        let output = chatroom(&[
            "backup",
            "/tmp/never-written.db",
            "--database",
            &app.database().url,
        ]);
        assert!(!output.status.success());
        let err = stderr(&output);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("pg_dump"), "{err}");
        return;
    };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.say(room, "before the backup").await;

    // Someone goes on writing while the copy is taken.
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    let writing = actix_web::rt::spawn(async move {
        for n in 0..50 {
            bob.say(room, &format!("during the backup {n}")).await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let copy_arg = copy.to_str().unwrap();
    let output = chatroom(&["backup", copy_arg, "--database", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with(&format!("wrote {copy_arg}")),
        "{}",
        stdout(&output)
    );
    writing.await.unwrap();

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the copy holds password hashes too");
    let (ok, out, err) = initdb(copy_arg);
    assert!(ok && out.contains("is up to date"), "{out}{err}");
    let mut conn = chatroom::db::DbConnection::open(copy_arg).unwrap();
    assert!(
        User::find_by_username(&mut conn, "alice")
            .unwrap()
            .is_some()
    );
    let log = chatroom::models::LogEntry::after(&mut conn, room, 0, 1000).unwrap();
    assert!(log.iter().any(|e| e.body == "before the backup"));
    let numbers: Vec<i32> = log.iter().map(|e| e.seq).collect();
    let expected: Vec<i32> = (1..=numbers.len() as i32).collect();
    assert_eq!(numbers, expected, "a prefix of the log, without holes");

    let again = chatroom(&["backup", copy_arg, "--database", path.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    let forced = chatroom(&[
        "backup",
        copy_arg,
        "--force",
        "--database",
        path.to_str().unwrap(),
    ]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let mut conn = chatroom::db::DbConnection::open(copy_arg).unwrap();
    let log = chatroom::models::LogEntry::after(&mut conn, room, 0, 1000).unwrap();
    assert!(
        log.iter().any(|e| e.body == "during the backup 49"),
        "the newer copy"
    );
}

/// Only the setup link that a new database's server prints makes an administrator, once, and
/// the lobby says so once: the first registration without it is an ordinary account (whoever
/// reaches a new public server first does not own it). `chatroom admin grant|revoke` changes
/// who is one, but never leaves none.
#[actix_web::test]
async fn only_the_setup_link_makes_the_administrator_and_admin_grant_and_revoke_never_leave_none() {
    let Some(app) = spawn_app().await else { return };
    let url = app.database().url.clone();
    let token = app
        .take_setup_token()
        .expect("a new database's server makes a setup link");
    let mut first = app.person();
    let res = first.register("mallory", PASSWORD).await;
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let (_, lobby) = first.page("/lobby").await;
    assert!(!lobby.contains("administrator"), "{lobby}");

    let mut owner = app.person();
    let (_, form) = owner.page(&format!("/register?setup={token}")).await;
    assert!(form.contains(r#"id="setup""#), "{form}");
    let res = owner
        .post_form(
            "/register",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("setup", &token),
            ],
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/lobby",
        "the contract's answer, unchanged"
    );
    let (_, lobby) = owner.page("/lobby").await;
    assert!(lobby.contains("so you are this server"), "{lobby}");
    let (_, again) = owner.page("/lobby").await;
    assert!(!again.contains("so you are this server"), "said once");

    let mut late = app.person();
    let res = late
        .register_with_setup("eve", PASSWORD, Some(&token))
        .await;
    assert_eq!(
        res.status(),
        reqwest::StatusCode::FORBIDDEN,
        "the link works once"
    );
    let (_, form) = late.page(&format!("/register?setup={token}")).await;
    assert!(form.contains("This setup link cannot be used"), "{form}");
    let second = app.user("bob").await;
    let lobby = second.get("/lobby").await.text().await.unwrap();
    assert!(
        !lobby.contains("administrator"),
        "only the setup link's account"
    );
    let is_admin = |name: &str| {
        User::find_by_username(&mut app.db(), name)
            .unwrap()
            .unwrap()
            .is_admin
    };
    assert!(is_admin("alice") && !is_admin("bob") && !is_admin("mallory"));
    assert!(
        User::find_by_username(&mut app.db(), "eve")
            .unwrap()
            .is_none()
    );

    let admin = |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend(["--database", url.as_str()]);
        let output = chatroom(&all);
        (output.status.success(), stdout(&output), stderr(&output))
    };
    let (ok, _, err) = admin(&["revoke", "alice"]);
    assert!(!ok && err.contains("last administrator"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(is_admin("alice"));

    let (ok, out, err) = admin(&["grant", "BOB"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "bob is an administrator");
    let (ok, out, err) = admin(&["revoke", "alice"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "alice is not an administrator");
    assert!(!is_admin("alice") && is_admin("bob"));

    let (ok, _, err) = admin(&["grant", "nobody"]);
    assert!(!ok && err.contains("no user named \"nobody\""), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// The setup link is how the owner gets in, so it works whatever the registration mode; only
/// its hash is stored; servers starting on one database keep the one link the first made, and
/// none is made once there is an administrator.
#[actix_web::test]
async fn the_setup_link_works_in_any_registration_mode_and_servers_on_one_database_share_it() {
    use chatroom::domain::RegistrationMode;
    use chatroom::models::setting::Setting;
    use diesel::prelude::*;

    use super::helpers::{spawn_app_with, test_settings};
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    let (database, key) = (
        std::sync::Arc::new(database),
        actix_web::cookie::Key::generate(),
    );
    let app = spawn_app_with(test_settings(&database, key.clone()), database.clone()).await;
    let other = spawn_app_with(test_settings(&database, key), database).await;
    let token = app.take_setup_token().expect("a setup link");
    assert_eq!(other.take_setup_token(), None, "one link per database");
    let stored: Vec<String> = chatroom::db::schema::settings::table
        .select(chatroom::db::schema::settings::value)
        .load(&mut app.db())
        .unwrap();
    assert!(!stored.iter().any(|v| v.contains(&token)), "only its hash");

    Setting::set_registration(&mut app.db(), RegistrationMode::Closed).unwrap();
    let mut stranger = other.person();
    assert_eq!(
        stranger.register("mallory", PASSWORD).await.status(),
        reqwest::StatusCode::FORBIDDEN
    );
    let mut owner = other.person();
    owner.csrf().await;
    let res = owner
        .post_json(
            "/api/users",
            &serde_json::json!({"username": "alice", "password": PASSWORD, "setup": token}),
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    assert_eq!(owner.page("/admin").await.0, reqwest::StatusCode::OK);

    let restarted = app.restart().await;
    assert_eq!(
        restarted.take_setup_token(),
        None,
        "none once there is an administrator"
    );
    use chatroom::db::schema::settings;
    let stored: i64 = settings::table
        // The web push key lives there too (see models::push::VapidKey).
        .filter(settings::name.ne("vapid_private_key"))
        .count()
        .get_result(&mut restarted.db())
        .unwrap();
    assert_eq!(stored, 1, "only the registration mode is left");
}
