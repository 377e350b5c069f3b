//! The log, read from the real binary's output: who did what from where, and never a secret.

use std::io::{Read, Write};
use std::net::TcpStream;

use reqwest::StatusCode;

use super::helpers::{LoggedServer, Person};

const SECRET_PASSWORD: &str = "hunter2-but-longer";

#[actix_web::test]
async fn security_events_are_logged_with_user_and_address_and_secrets_never_are() {
    let Some(server) = LoggedServer::start() else {
        return;
    };
    let address = server.address.clone();
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

    let log = server.stop();

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

#[actix_web::test]
async fn refused_posts_are_logged_and_a_crafted_uri_cannot_forge_log_fields() {
    let Some(server) = LoggedServer::start() else {
        return;
    };
    let mut alice = Person::new(&server.address);
    alice.register("alice", SECRET_PASSWORD).await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = Person::new(&server.address);
    bob.register("bob", SECRET_PASSWORD).await;
    // Bob never entered the kitchen: refused.
    assert_eq!(
        bob.send(room, "hello").await.status(),
        StatusCode::FORBIDDEN
    );
    let host = server.address.trim_start_matches("http://").to_owned();
    actix_web::web::block(move || {
        let mut stream = TcpStream::connect(host).unwrap();
        stream
            .write_all(b"GET /x\"forged HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut answer = [0u8; 64];
        let _ = stream.read(&mut answer);
    })
    .await
    .unwrap();

    let log = server.stop();
    let refusal = format!("\"POST /api/rooms/{room}/messages\" 403");
    assert!(
        log.contains(&refusal),
        "{refusal} is not in the log:\n{log}"
    );
    assert!(
        log.contains(r#""GET /x\"forged" 404"#),
        "a quote in the URI must be escaped inside the quoted field:\n{log}"
    );
}

#[actix_web::test]
async fn an_invitation_token_in_a_request_never_reaches_the_log() {
    let Some(server) = LoggedServer::start() else {
        return;
    };
    let visitor = Person::new(&server.address);
    let token = "Sg7hQ2invitationTOKENvalue";
    for path in [
        format!("/register?invite={token}"),
        format!("/register?lang=en&%69nvite={token}"),
    ] {
        assert!(visitor.get(&path).await.status().is_success());
    }
    let log = server.stop();
    assert!(!log.contains(token), "the token is in the log:\n{log}");
    assert!(
        log.contains(r#""GET /register?invite=[redacted]" 200"#),
        "the request is logged, without its token:\n{log}"
    );
}

#[actix_web::test]
async fn what_every_open_page_asks_for_is_not_logged_and_the_rest_is() {
    let Some(server) = LoggedServer::start() else {
        return;
    };
    let mut alice = Person::new(&server.address);
    alice.register("alice", SECRET_PASSWORD).await;
    let room = alice.create_room("Kitchen").await;
    let upload = alice.upload(room, "list.txt", b"milk", &[]).await;
    assert_eq!(upload.status(), StatusCode::CREATED);
    let sent: serde_json::Value = upload.json().await.unwrap();
    let file = sent["message"]["attachment"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/api/rooms/{room}/messages?after=0"),
        file.clone(),
        "/sw.js".to_owned(),
        "/manifest.webmanifest".to_owned(),
        "/static/style.css".to_owned(),
        "/offline".to_owned(),
    ] {
        assert_eq!(alice.get(&path).await.status(), StatusCode::OK, "{path}");
    }

    let log = server.stop();
    for routine in [
        "/messages?after=0",
        &format!("GET {file}"),
        "GET /sw.js",
        "/manifest.webmanifest",
        "style.css",
    ] {
        assert!(!log.contains(routine), "{routine} is logged:\n{log}");
    }
    assert!(
        log.contains("\"GET /offline\" 200"),
        "the rest is logged:\n{log}"
    );
    assert!(
        log.contains(&format!("\"POST /api/rooms/{room}/attachments\" 201")),
        "an upload is logged:\n{log}"
    );
}
