//! The JSON API: polling for new messages and posting them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{Person, error_code, spawn_app};

fn ids(messages: &[Value]) -> Vec<i64> {
    messages.iter().map(|m| m["id"].as_i64().unwrap()).collect()
}

#[actix_web::test]
async fn posting_answers_201_with_the_stored_message() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;

    let res = alice.send(room, "  hello there \n").await;

    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let message = &body["message"];
    assert!(message["id"].as_i64().unwrap() > 0);
    assert_eq!(message["author"], "alice");
    assert_eq!(message["text"], "hello there");
    let sent_at = message["sent_at"].as_str().unwrap();
    assert!(sent_at.ends_with('Z'), "UTC: {sent_at}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(sent_at).is_ok(),
        "{sent_at}"
    );
}

#[actix_web::test]
async fn the_author_and_the_id_come_from_the_server_never_from_the_request() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    app.user("mallory").await;

    let res = alice
        .post_json(
            &format!("/api/rooms/{room}/messages"),
            &json!({"text": "hi", "author": "mallory", "id": 999, "sent_at": "1999-01-01T00:00:00Z"}),
        )
        .await;

    assert_eq!(res.status(), StatusCode::CREATED);
    let message = &res.json::<Value>().await.unwrap()["message"];
    assert_eq!(message["author"], "alice");
    assert_ne!(message["id"], 999);
    assert!(!message["sent_at"].as_str().unwrap().starts_with("1999"));
}

#[actix_web::test]
async fn a_poll_returns_only_the_messages_after_the_cursor_in_id_order() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(
            alice.say(room, &format!("a{i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
        sent.push(
            bob.say(room, &format!("b{i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }

    let all = bob.messages_after(room, 0).await;
    assert_eq!(ids(&all), sent);
    let texts: Vec<&str> = all.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["a0", "b0", "a1", "b1", "a2", "b2"]);

    let newer = bob.messages_after(room, sent[3]).await;
    assert_eq!(ids(&newer), sent[4..]);
    assert!(bob.messages_after(room, sent[5]).await.is_empty());
    let res = bob.get(&format!("/api/rooms/{room}/messages")).await;
    assert_eq!(res.status(), StatusCode::OK, "after defaults to 0");
}

#[actix_web::test]
async fn a_poll_answers_at_most_500_messages_and_the_client_pages_on() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Busy").await;
    for i in 0..501 {
        alice.say(room, &format!("m{i}")).await;
    }

    // The log holds alice's "joined" entry, then the 501 messages.
    let first = alice.entries_after(room, 0).await;
    assert_eq!(first.len(), 500);
    let last_seen = *ids(&first).last().unwrap();
    let rest = alice.entries_after(room, last_seen).await;
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[1]["text"], "m500");
}

#[actix_web::test]
async fn a_cursor_that_is_not_a_non_negative_integer_gets_400() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    for bad in ["-1", "abc", "1.5", "", "%FF", "0x10"] {
        let res = alice.poll(room, bad).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "after={bad}");
        assert_eq!(error_code(res).await, "bad_request");
    }
    let res = alice.poll(room, "99999999999999999999").await;
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "a huge cursor is past every number the room gave out"
    );
}

#[actix_web::test]
async fn polling_or_posting_in_a_room_that_never_existed_gets_404() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let res = alice.poll(4242, "0").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(res).await, "not_found");
    assert_eq!(alice.send(4242, "hi").await.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_person_who_never_entered_the_room_can_neither_poll_nor_post() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.say(room, "private chat").await;
    let mut eve = app.user("eve").await;

    let res = eve.poll(room, "0").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_in_room");
    let res = eve.send(room, "let me in").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_in_room");
}

#[actix_web::test]
async fn whitespace_only_text_is_400_and_text_over_2000_characters_is_413() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;

    let res = alice.send(room, " \n\t ").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "bad_request");
    let res = alice.send(room, &"x".repeat(2001)).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(res).await, "payload_too_large");
    let res = alice.send(room, &"é".repeat(2000)).await;
    assert_eq!(res.status(), StatusCode::CREATED, "2000 characters is fine");

    assert_eq!(
        alice.messages_after(room, 0).await.len(),
        1,
        "only the valid one"
    );
}

#[actix_web::test]
async fn malformed_json_is_400_and_a_wrong_content_type_is_415() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let token = alice.csrf().await;
    let url = alice.url(&format!("/api/rooms/{room}/messages"));

    for body in ["{not json", r#"{"txt": "hi"}"#, r#"{"text": 5}"#, "[]"] {
        let res = alice
            .http
            .post(&url)
            .header("X-CSRF-Token", &token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"], "bad_request");
        assert!(
            !err["message"].as_str().unwrap().contains("line"),
            "no serde details"
        );
    }

    let res = alice
        .http
        .post(&url)
        .header("X-CSRF-Token", &token)
        .header("Content-Type", "text/plain")
        .body(r#"{"text": "hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(alice.messages_after(room, 0).await.is_empty());
}

#[actix_web::test]
async fn a_json_body_over_16_kib_is_refused_with_413() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let res = alice.send(room, &"x".repeat(17 * 1024)).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[actix_web::test]
async fn each_rooms_log_is_numbered_from_one_without_holes() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let kitchen = alice.create_room("Kitchen").await;
    let garden = bob.create_room("Garden").await;
    alice.say(kitchen, "one").await;
    let deleted = alice.say(kitchen, "two").await["id"].as_i64().unwrap();
    alice
        .http
        .delete(alice.url(&format!("/api/rooms/{kitchen}/messages/{deleted}")))
        .header("X-CSRF-Token", alice.csrf().await)
        .send()
        .await
        .unwrap();
    bob.say(garden, "hello").await;
    alice.enter(garden).await; // leaves the kitchen: "left" there, "joined" here

    let kitchen_log = bob_sees(&mut bob, kitchen).await;
    assert_eq!(ids(&kitchen_log), [1, 2, 3, 4, 5]);
    let kinds: Vec<&str> = kitchen_log
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["joined", "message", "message", "deleted", "left"]);
    assert_eq!(
        kitchen_log[3]["target"], deleted,
        "a deletion names the number"
    );
    assert_eq!(
        kitchen_log[2]["deleted"], true,
        "a deleted message keeps its number"
    );

    let garden_log = alice.entries_after(garden, 0).await;
    assert_eq!(
        ids(&garden_log),
        [1, 2, 3, 4],
        "another room counts on its own"
    );
}

/// Bob enters the room and reads all of its log.
async fn bob_sees(bob: &mut Person, room: i32) -> Vec<Value> {
    bob.enter(room).await;
    let log = bob.entries_after(room, 0).await;
    log[..log.len() - 1].to_vec() // without his own "joined"
}

#[actix_web::test]
async fn a_retried_post_with_the_same_client_id_returns_the_original_instead_of_a_copy() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let path = format!("/api/rooms/{room}/messages");
    let body = json!({"text": "only once", "client_id": "7f0c3c9e-retry-1"});

    let first = alice.post_json(&path, &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = alice.post_json(&path, &body).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();

    assert_eq!(first["message"]["id"], again["message"]["id"]);
    let stored = alice.messages_after(room, 0).await;
    assert_eq!(stored.len(), 1, "stored once");

    let by_header = alice
        .http
        .post(alice.url(&path))
        .header("X-CSRF-Token", alice.csrf.clone().unwrap())
        .header("Idempotency-Key", "7f0c3c9e-retry-1")
        .json(&json!({"text": "only once"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::CREATED);
    assert_eq!(alice.messages_after(room, 0).await.len(), 1);

    let reused = alice
        .post_json(
            &path,
            &json!({"text": "something else", "client_id": "7f0c3c9e-retry-1"}),
        )
        .await;
    assert_eq!(reused.status(), StatusCode::CONFLICT);
    let odd = alice
        .post_json(&path, &json!({"text": "hi", "client_id": "not a key!"}))
        .await;
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST);

    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    let res = bob.post_json(&path, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "keys are per author");
    assert_eq!(bob.messages_after(room, 0).await.len(), 2);
}

#[actix_web::test]
async fn a_cursor_past_the_rooms_last_number_gets_409_and_marks_nothing_read() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    alice.say(room, "unread").await;

    // A page from before per-room numbers still holds a global id.
    let res = bob.poll(room, "123456").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(res).await, "cursor_ahead");

    bob.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    let lobby: Value = bob.get("/api/lobby").await.json().await.unwrap();
    assert_eq!(lobby["rooms"][0]["unread"], 1, "nothing was marked read");
}
