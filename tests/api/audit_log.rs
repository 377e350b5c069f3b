//! The log, read from the real binary's output: who did what from where, and never a secret.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::Person;

const SECRET_PASSWORD: &str = "hunter2-but-longer";

#[actix_web::test]
async fn security_events_are_logged_with_user_and_address_and_secrets_never_are() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_chatroom"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--bcrypt-cost",
            "4",
            "--database",
        ])
        .arg(dir.path().join("chat.db"))
        .env("RUST_LOG", "debug")
        .env_remove("CHATROOM_SECRET")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stderr = server.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut log = Vec::new();
    let address = loop {
        let line = lines.recv_timeout(Duration::from_secs(30)).unwrap();
        log.push(line.clone());
        if let Some(at) = line.find("listening on ") {
            break line[at + "listening on ".len()..].trim().to_owned();
        }
    };

    let mut alice = Person::new(&address);
    assert_eq!(
        alice.register("alice", SECRET_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let session_cookie = alice.cookies().unwrap();
    let csrf_token = alice.csrf().await;
    let room = alice.create_room("Kitchen").await;
    assert_eq!(
        alice.post_form("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut eve = Person::new(&address);
    assert_eq!(
        eve.login("alice", "wrong-password-guess").await.status(),
        401
    );
    assert_eq!(alice.login("alice", SECRET_PASSWORD).await.status(), 303);
    let res = alice.post_form(&format!("/rooms/{room}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let later_token = alice.csrf().await;

    server.kill().unwrap();
    server.wait().unwrap();
    log.extend(lines.iter());
    let log = log.join("\n");

    for event in [
        "registered user alice from 127.0.0.1",
        "alice created room",
        "logout of alice from 127.0.0.1",
        "failed login for \"alice\" from 127.0.0.1",
        "login of alice from 127.0.0.1",
        "alice deleted room",
    ] {
        assert!(log.contains(event), "{event:?} is not in the log:\n{log}");
    }
    let session_id = session_cookie.split_once('=').unwrap().1;
    for secret in [
        SECRET_PASSWORD,
        "wrong-password-guess",
        session_id,
        &csrf_token,
        &later_token,
    ] {
        assert!(
            !log.contains(secret),
            "a secret leaked into the log: {secret}"
        );
    }
}
