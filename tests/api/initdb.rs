//! The command line: `chatroom initdb`, and clean failures.

use std::process::{Command, Output};

use chatroom::domain::Username;
use chatroom::models::User;
use diesel::{Connection, SqliteConnection};

fn chatroom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chatroom"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "off")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
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

    let mut conn = SqliteConnection::establish(path_arg).unwrap();
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

    let mut conn = SqliteConnection::establish(path_arg).unwrap();
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
