//! Files in messages (issue 30): `POST /api/rooms/{id}/attachments`, the file served at the
//! entry's `url` to whoever may read the room. The same bodies run on SQLite and on
//! PostgreSQL (tests/api_postgres.rs).

use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::spawn_app;

/// The smallest PNG: one transparent pixel.
const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

#[actix_web::test]
async fn a_member_uploads_a_file_and_the_room_sees_it_with_its_message() {
    let Some(app) = spawn_app().await else { return };
    let mut ann = app.user("ann").await;
    let mut bob = app.user("bob").await;
    let room = ann.create_room("Kitchen").await;
    bob.enter_and_poll(room).await;

    let res = ann
        .upload(room, "notes.txt", b"milk, eggs", &[("text", "the list")])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let message = &body["message"];
    assert_eq!(message["text"], "the list");
    let file = &message["attachment"];
    assert_eq!(file["name"], "notes.txt");
    assert_eq!(file["size"], 10);
    let url = file["url"].as_str().unwrap();

    let seen = bob.messages_after(room, 0).await;
    let last = seen.last().unwrap();
    assert_eq!(last["attachment"]["url"], url);
    let fetched = bob.get(url).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"milk, eggs");
}

#[actix_web::test]
async fn an_image_is_shown_inline_with_its_size() {
    let Some(app) = spawn_app().await else { return };
    let mut ann = app.user("ann").await;
    let room = ann.create_room("Kitchen").await;
    let res = ann.upload(room, "dot.png", PIXEL_PNG, &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
    let body: Value = res.json().await.unwrap();
    let file = &body["message"]["attachment"];
    assert_eq!(file["content_type"], "image/png");
    let fetched = ann.get(file["url"].as_str().unwrap()).await;
    assert_eq!(
        fetched.headers()["content-security-policy"],
        "default-src 'none'; sandbox"
    );
}
