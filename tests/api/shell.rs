//! The app shell's sidebar on every logged-in page, and the lobby version that the room poll
//! carries so that a page refreshes its sidebar only when something changed.

use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Key;
use chatroom::models::User;
use reqwest::StatusCode;
use serde_json::Value;

use super::database::TestDatabase;
use super::helpers::{Person, spawn_app, spawn_app_with, test_settings};
use super::wait::{eventually, wait_until};

/// Longer than catch-up takes to read the version again (once a second).
const SETTLE: Duration = Duration::from_millis(1500);
const WITHIN: Duration = Duration::from_secs(3);

async fn lobby_version(person: &Person, room: i32) -> i64 {
    let res = person.poll(room, "0").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["lobby"]
        .as_i64()
        .unwrap_or_else(|| panic!("no lobby version in {body}"))
}

async fn moves_from(person: &Person, room: i32, before: i64, what: &str) -> i64 {
    wait_until(WITHIN, what, || async {
        lobby_version(person, room).await != before
    })
    .await;
    lobby_version(person, room).await
}

#[actix_web::test]
async fn the_lobby_version_stays_while_nothing_changes_and_moves_with_every_change_to_a_lobby() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let room = alice.create_room("Kitchen").await;
    actix_web::rt::time::sleep(SETTLE).await;

    let settled = lobby_version(&alice, room).await;
    assert!(
        !eventually(SETTLE, || async {
            lobby_version(&alice, room).await != settled
        })
        .await,
        "the version moved with nothing changing"
    );

    let created = bob.create_room("Garden").await;
    let v1 = moves_from(&alice, room, settled, "after a room was created").await;
    bob.say(created, "hello").await;
    let v2 = moves_from(&alice, room, v1, "after a message elsewhere").await;
    let res = bob.delete(&format!("/api/rooms/{created}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    moves_from(&alice, room, v2, "after a room was deleted").await;
}

#[actix_web::test]
async fn a_room_created_through_one_server_moves_the_version_on_the_other_to_the_same_number() {
    let Some(database) = TestDatabase::fresh().map(Arc::new) else {
        return;
    };
    let key = Key::generate();
    let a = spawn_app_with(test_settings(&database, key.clone()), database.clone()).await;
    let b = spawn_app_with(test_settings(&database, key), database).await;
    let mut alice = a.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let alice_b = alice.on(&b.address);
    actix_web::rt::time::sleep(SETTLE).await;
    let before = lobby_version(&alice, room).await;
    assert_eq!(
        lobby_version(&alice_b, room).await,
        before,
        "caught up, they agree"
    );

    let mut bob = b.user("bob").await;
    bob.create_room("Garden").await;
    let after = moves_from(&alice, room, before, "server a hears of b's room").await;
    wait_until(WITHIN, "both servers give one number", || async {
        lobby_version(&alice_b, room).await == lobby_version(&alice, room).await
    })
    .await;
    assert_ne!(after, before);
}

#[actix_web::test]
async fn every_logged_in_page_has_the_sidebar_with_the_rooms_by_name_and_the_current_one_marked() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let kitchen = alice.create_room("kitchen").await;
    let garden = bob.create_room("<b>Garden</b>").await;
    bob.say(garden, "one").await;
    bob.say(garden, "two").await;
    alice.enter_and_poll(garden).await;
    bob.say(garden, "three").await;
    let page = alice.enter(kitchen).await;

    let sidebar = section(&page, "<nav class=\"sidebar\"", "</nav>");
    let kitchen_at = sidebar.find("kitchen").expect("kitchen listed");
    let garden_at = sidebar
        .find("&lt;b&gt;Garden&lt;/b&gt;")
        .or_else(|| sidebar.find("&#60;b&#62;Garden&#60;/b&#62;"))
        .unwrap_or_else(|| panic!("garden listed, escaped: {sidebar}"));
    assert!(
        garden_at < kitchen_at,
        "by name, whatever the case: {sidebar}"
    );
    assert!(!sidebar.contains("<b>Garden"), "escaped");
    assert!(
        sidebar.contains(&format!(
            "href=\"/rooms/{kitchen}\" data-enter aria-current=\"page\""
        )),
        "the room she is in is marked: {sidebar}"
    );
    assert!(
        sidebar.contains(&format!("href=\"/rooms/{garden}\" data-enter>")),
        "other rooms are plain links: {sidebar}"
    );
    assert!(
        sidebar.contains("1<span class=\"visually-hidden\"> unread</span>"),
        "one unread in the garden, said in words to screen readers: {sidebar}"
    );
    assert!(sidebar.contains("href=\"/account\""));
    // The first account, made with the setup link, administers the server.
    assert!(
        sidebar.contains("href=\"/admin\""),
        "administrators see /admin"
    );

    for path in ["/lobby", "/account", &format!("/rooms/{garden}")] {
        let (status, html) = bob.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("id=\"sidebar\""), "a sidebar on {path}");
        assert!(
            html.contains("id=\"menu-button\""),
            "a menu button on {path}"
        );
        assert!(
            !html.contains("id=\"sidebar-admin\""),
            "bob administers nothing"
        );
    }
    User::set_admin(&mut app.db(), "bob", true).unwrap();
    let (_, html) = bob.page("/admin").await;
    assert!(html.contains("id=\"sidebar-admin\""), "now he does");

    let (_, login) = app.person().page("/login").await;
    assert!(
        !login.contains("id=\"sidebar\""),
        "no sidebar without a login"
    );
}

#[actix_web::test]
async fn a_room_link_opened_in_a_new_tab_shows_the_enter_page_and_moves_nobody() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let kitchen = alice.create_room("Kitchen").await;
    let garden = alice.create_room("Garden").await;
    // She is in the garden; the kitchen's link, opened as a page, only offers to enter.
    let (status, html) = alice.page(&format!("/rooms/{kitchen}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("action=\"/rooms/{kitchen}/enter\"")));
    assert_eq!(
        alice.poll(garden, "0").await.status(),
        StatusCode::OK,
        "still in the garden"
    );
}

/// The part of `html` from `start` to the first `end` after it.
fn section<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {html}"));
    let to = html[from..].find(end).expect("its end") + from;
    &html[from..to]
}
