//! Incoming webhooks (issue 31, item 3): a room's creator or an administrator makes a secret
//! URL at `POST /api/rooms/{id}/webhooks`; whoever holds it posts into the room at
//! `/hooks/{key}` under the hook's name. The same bodies run on SQLite and on PostgreSQL
//! (tests/api_postgres.rs).

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::helpers::{Person, TestApp, error_code, location, retry_after, spawn_app};

/// The first user (the administrator), the room's creator and another member inside it.
async fn room_with_people(app: &TestApp) -> (Person, Person, Person, i32) {
    let root = app.user("root").await;
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    let room = ann.create_room("Builds").await;
    bob.enter_and_poll(room).await;
    (root, ann, bob, room)
}

/// Makes a hook named `name` in the room as `who`; its answer's body.
async fn make_hook(who: &mut Person, room: i32, name: &str) -> Value {
    let res = who
        .post_json(
            &format!("/api/rooms/{room}/webhooks"),
            &json!({ "name": name }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "making hook {name:?}");
    res.json().await.unwrap()
}

/// Posts to a hook's URL as a program would: no cookie, no CSRF token.
async fn post_to(url: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Response {
    reqwest::Client::new()
        .post(url)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn post_json_to(url: &str, body: &Value) -> Response {
    post_to(url, "application/json", body.to_string()).await
}

#[actix_web::test]
async fn the_creator_makes_a_hook_whose_url_holds_a_key_that_the_list_never_shows() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, _bob, room) = room_with_people(&app).await;
    let made = make_hook(&mut ann, room, "  CI  ").await;
    assert_eq!(made["name"], "CI");
    let url = made["url"].as_str().unwrap();
    let key = url
        .strip_prefix(&format!("{}/hooks/", app.address))
        .expect("the URL is under /hooks/ on this server");
    assert_eq!(key.len(), 43);
    assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");

    let res = ann.get(&format!("/api/rooms/{room}/webhooks")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(!text.contains(key), "the key is shown only once: {text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    let hooks = list["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["id"], made["id"]);
    assert_eq!(hooks[0]["name"], "CI");
    assert_eq!(hooks[0]["created_by"], "ann");
    assert!(hooks[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(hooks[0].get("url").is_none());

    let res = ann
        .post_json(
            &format!("/api/rooms/{room}/webhooks"),
            &json!({ "name": " " }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn json_and_a_forms_payload_both_post_as_the_hook_and_mentions_notify() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, bob, room) = room_with_people(&app).await;
    let made = make_hook(&mut ann, room, "CI").await;
    let url = made["url"].as_str().unwrap();

    let res = post_json_to(url, &json!({ "text": "build **passed** @bob" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["ok"], true);
    assert!(answer["id"].as_i64().unwrap() > 0);

    // Slack's and Mattermost's senders: a form whose `payload` is the JSON. Posted from
    // another site too: the key is the credential, not the origin.
    let payload = json!({ "text": "deploy & done", "username": "ignored" }).to_string();
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload)
        .finish();
    let res = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", "https://ci.example")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);

    let seen = bob.messages_after(room, 0).await;
    let texts: Vec<&str> = seen.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["build **passed** @bob", "deploy & done"]);
    for message in &seen {
        assert_eq!(message["author"], "CI");
        assert_eq!(message["bot"], true);
    }
    assert!(
        seen[0]["html"]
            .as_str()
            .unwrap()
            .contains("<strong>passed</strong>")
    );
    assert_eq!(seen[0]["mentions"], json!(["bob"]));
}

#[actix_web::test]
async fn another_member_may_not_make_list_or_revoke_a_rooms_hooks() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, mut bob, room) = room_with_people(&app).await;
    let made = make_hook(&mut ann, room, "CI").await;
    let path = format!("/api/rooms/{room}/webhooks");

    let res = bob.post_json(&path, &json!({ "name": "Mine" })).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_room_creator");
    let res = bob.get(&path).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = bob.delete(&format!("{path}/{}", made["id"])).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = bob
        .post_form(&format!("/rooms/{room}/webhooks"), &[("name", "Mine")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let list: Value = ann.get(&path).await.json().await.unwrap();
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1, "still there");
    let res = ann.get("/api/rooms/99999/webhooks").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_direct_conversation_has_no_hooks() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, _bob, _room) = room_with_people(&app).await;
    let direct = ann.open_direct("bob").await;
    let res = ann
        .post_json(
            &format!("/api/rooms/{direct}/webhooks"),
            &json!({ "name": "CI" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "direct_conversation");
}

#[actix_web::test]
async fn an_administrator_makes_a_hook_in_someone_elses_room() {
    let Some(app) = spawn_app().await else { return };
    let (mut root, _ann, bob, room) = room_with_people(&app).await;
    let made = make_hook(&mut root, room, "Monitor").await;
    let res = post_json_to(made["url"].as_str().unwrap(), &json!({ "text": "disk ok" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen = bob.messages_after(room, 0).await;
    assert_eq!(seen.last().unwrap()["author"], "Monitor");
}

#[actix_web::test]
async fn a_wrong_or_revoked_key_is_not_found() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, bob, room) = room_with_people(&app).await;
    let made = make_hook(&mut ann, room, "CI").await;
    let url = made["url"].as_str().unwrap();
    let text = json!({ "text": "hi" });

    let wrong = format!("{}/hooks/{}", app.address, "a".repeat(43));
    let res = post_json_to(&wrong, &text).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(res).await, "not_found", "JSON, not a page");
    let res = post_json_to(&format!("{}/hooks/short", app.address), &text).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let res = ann
        .delete(&format!("/api/rooms/{room}/webhooks/{}", made["id"]))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = ann
        .delete(&format!("/api/rooms/{room}/webhooks/{}", made["id"]))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "already revoked");
    let res = post_json_to(url, &text).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(bob.messages_after(room, 0).await.is_empty());
}

#[actix_web::test]
async fn a_hooks_message_is_nobodys_to_edit_but_its_maker_may_delete_it() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, bob, room) = room_with_people(&app).await;
    let made = make_hook(&mut ann, room, "CI").await;
    let url = made["url"].as_str().unwrap();
    let res = post_json_to(url, &json!({ "text": "build 42 failed" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let n = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // The hook's words are stored under its maker's account, yet they are not hers to put
    // other words into: the room would read them as the hook's.
    let res = ann.edit(room, n, "build 42 passed").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_author");
    let seen = bob.messages_after(room, 0).await;
    assert_eq!(seen[0]["text"], "build 42 failed");

    let res = ann.delete_message(room, n).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let seen = bob.messages_after(room, 0).await;
    assert_eq!(seen[0]["deleted"], true, "{seen:?}");
    assert_eq!(seen[0]["text"], "");
}

#[actix_web::test]
async fn malformed_bodies_are_refused_and_nothing_is_posted() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, bob, room) = room_with_people(&app).await;
    let made = make_hook(&mut ann, room, "CI").await;
    let url = made["url"].as_str().unwrap();
    let form = "application/x-www-form-urlencoded";
    for (content_type, body) in [
        ("application/json", "{\"text\": "),
        ("application/json", "{\"message\": \"hi\"}"),
        ("application/json", "{\"text\": 42}"),
        ("application/json", "[\"hi\"]"),
        ("application/json", "{\"text\": \"   \"}"),
        (form, "text=hi"),
        (form, "payload=hi"),
        (form, "payload=%7B%7D"),
        ("text/plain", "{\"text\": \"hi\"}"),
    ] {
        let res = post_to(url, content_type, body).await;
        assert_eq!(
            res.status(),
            StatusCode::BAD_REQUEST,
            "{content_type} {body}"
        );
        let answer: Value = res.json().await.unwrap();
        assert!(answer["error"].is_string() && answer["message"].is_string());
    }
    let long = json!({ "text": "x".repeat(2001) });
    let res = post_json_to(url, &long).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let huge = json!({ "text": "x".repeat(20_000) });
    let res = post_json_to(url, &huge).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(bob.messages_after(room, 0).await.is_empty());
}

#[actix_web::test]
async fn a_hook_posting_too_fast_is_told_when_to_try_again() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, _bob, room) = room_with_people(&app).await;
    let busy = make_hook(&mut ann, room, "Busy").await;
    let calm = make_hook(&mut ann, room, "Calm").await;
    let url = busy["url"].as_str().unwrap();
    for n in 0..30 {
        let res = post_json_to(url, &json!({ "text": format!("{n}") })).await;
        assert_eq!(res.status(), StatusCode::OK, "post {n}");
    }
    let res = post_json_to(url, &json!({ "text": "one too many" })).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&res);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(error_code(res).await, "rate_limited");

    let calm = post_json_to(calm["url"].as_str().unwrap(), &json!({ "text": "hi" })).await;
    assert_eq!(calm.status(), StatusCode::OK, "each hook has its own limit");
}

#[actix_web::test]
async fn a_deleted_rooms_hook_is_not_found() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, _bob, room) = room_with_people(&app).await;
    let made = make_hook(&mut ann, room, "CI").await;
    let res = ann.delete(&format!("/api/rooms/{room}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = post_json_to(made["url"].as_str().unwrap(), &json!({ "text": "hi" })).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn the_room_page_lists_hooks_for_its_creator_only_and_shows_a_new_url_once() {
    let Some(app) = spawn_app().await else { return };
    let (_root, mut ann, mut bob, room) = room_with_people(&app).await;
    let page = format!("/rooms/{room}");

    let res = ann
        .post_form(&format!("{page}/webhooks"), &[("name", "Deploys")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let start = html
        .find(r#"id="new-hook-url""#)
        .expect("the new URL is shown");
    let tail = &html[start..];
    let value = tail.find(r#"value=""#).unwrap() + 7;
    let url = &tail[value..value + tail[value..].find('"').unwrap()];
    assert!(url.starts_with(&format!("{}/hooks/", app.address)), "{url}");
    let res = post_json_to(url, &json!({ "text": "shipped" })).await;
    assert_eq!(res.status(), StatusCode::OK);

    let (_, html) = ann.page(&page).await;
    assert!(html.contains("Incoming webhooks") && html.contains("Deploys"));
    assert!(!html.contains(url), "the URL is shown only once");
    let (_, html) = bob.page(&page).await;
    assert!(!html.contains("Incoming webhooks"), "others never see them");
    assert!(!html.contains("/webhooks"));

    let res = ann
        .post_form(&format!("{page}/webhooks"), &[("name", "")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("hook-name-error"));

    let list: Value = ann
        .get(&format!("/api/rooms/{room}/webhooks"))
        .await
        .json()
        .await
        .unwrap();
    let id = &list["webhooks"][0]["id"];
    let res = ann
        .post_form(&format!("{page}/webhooks/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), page);
    let res = post_json_to(url, &json!({ "text": "again" })).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
