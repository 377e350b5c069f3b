//! The lobby and the room pages: creating, entering, leaving and deleting rooms.

use diesel::prelude::*;
use reqwest::StatusCode;

use super::helpers::{Person, error_code, location, spawn_app};

#[actix_web::test]
async fn the_lobby_says_so_when_there_are_no_rooms_yet() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let (status, lobby) = alice.page("/lobby").await;
    assert_eq!(status, StatusCode::OK);
    assert!(lobby.contains(r#"id="no-rooms">No chat rooms yet"#));
}

#[actix_web::test]
async fn creating_a_room_takes_the_creator_into_it_and_lists_it_in_the_lobby() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;

    let res = alice
        .post_form("/rooms", &[("name", "  Book Club  ")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let room_path = location(&res);
    assert!(room_path.starts_with("/rooms/"));

    let (status, page) = alice.page(&room_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<h1 id="room-name">Book Club</h1>"#));

    let mut bob = app.user("bob").await;
    let (_, lobby) = bob.page("/lobby").await;
    assert!(lobby.contains(r#"id="no-rooms" hidden>"#));
    assert!(lobby.contains(&format!(
        r#"<a class="room-link" href="{room_path}" data-enter>Book Club</a>"#
    )));
    assert!(
        lobby.contains("by alice · 0 here"),
        "nobody's page is polling yet"
    );
}

#[actix_web::test]
async fn the_lobby_lists_rooms_with_the_newest_activity_first() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let first = alice.create_room("First").await;
    alice.create_room("Second").await;
    let (_, lobby) = alice.page("/lobby").await;
    let lobby = main_part(&lobby);
    assert!(lobby.find("Second").unwrap() < lobby.find("First").unwrap());

    alice.enter(first).await;
    alice.say(first, "wake up").await;
    let (_, lobby) = alice.page("/lobby").await;
    let lobby = main_part(&lobby);
    assert!(lobby.find("First").unwrap() < lobby.find("Second").unwrap());
}

#[actix_web::test]
async fn an_invalid_room_name_re_renders_the_lobby_with_400_and_the_typed_name() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let too_long = "x".repeat(65);
    for bad in ["", "   ", too_long.as_str(), "bell\u{7}"] {
        let res = alice.post_form("/rooms", &[("name", bad)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains(r#"class="error""#), "{bad:?}");
        assert!(body.contains("Chat rooms"), "the lobby again");
    }
    let (_, lobby) = alice.page("/lobby").await;
    assert!(lobby.contains(r#"id="no-rooms">"#), "nothing was created");
}

#[actix_web::test]
async fn a_room_name_taken_in_any_letter_case_gets_409() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    alice.create_room("Café").await;

    let res = alice.post_form("/rooms", &[("name", "CAFÉ")]).await;

    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(body.contains("already exists"));
    assert!(body.contains(r#"value="CAFÉ""#));
}

#[actix_web::test]
async fn a_room_name_a_reader_could_take_for_a_taken_one_gets_409() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    for (taken, alike) in [
        ("Straße", "STRASSE"),
        ("Caf\u{E9}", "Cafe\u{301}"),
        ("Book Club", "Book  Club"),
        ("Tea", "ＴＥＡ"),
    ] {
        alice.create_room(taken).await;
        let res = alice.post_form("/rooms", &[("name", alike)]).await;
        assert_eq!(
            res.status(),
            StatusCode::CONFLICT,
            "{alike:?} beside {taken:?}"
        );
    }
}

#[actix_web::test]
async fn a_room_name_with_hidden_characters_or_a_look_alike_letter_gets_400() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    alice.create_room("Kitchen").await;
    alice.create_room("Garden").await;
    for bad in [
        "Kit\u{AD}chen",
        "Kitchen\u{34F}",
        "Line\u{2028}break",
        "Gard\u{435}n",
    ] {
        let res = alice.post_form("/rooms", &[("name", bad)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad:?}");
    }
    let res = alice
        .post_json("/api/rooms", &serde_json::json!({ "name": "Gard\u{435}n" }))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    alice.create_room("family \u{1F468}\u{200D}\u{1F469}").await;
}

/// Text that would look blank where it is shown: invisible characters only.
const LOOKS_BLANK: [&str; 6] = [
    "\u{200B}\u{200B}",
    "\u{2800}",
    "\u{3164}",
    "\u{115F}\u{1160}\u{FFA0}",
    "\u{2060}\u{FEFF}\u{180E}\u{200D}\u{FE0F}",
    "\u{E0041}\u{301}",
];

#[actix_web::test]
async fn a_room_name_or_a_message_of_invisible_characters_is_refused_like_a_blank_one() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let blank_room = alice
        .post_json("/api/rooms", &serde_json::json!({ "name": " " }))
        .await;
    let blank_room: serde_json::Value = blank_room.json().await.unwrap();
    let blank_message: serde_json::Value = alice.send(room, " ").await.json().await.unwrap();

    for bad in LOOKS_BLANK {
        let res = alice.post_form("/rooms", &[("name", bad)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "form {bad:?}");
        assert!(res.text().await.unwrap().contains("Give the room a name."));
        let res = alice
            .post_json("/api/rooms", &serde_json::json!({ "name": bad }))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "JSON {bad:?}");
        assert_eq!(res.json::<serde_json::Value>().await.unwrap(), blank_room);
        let res = alice.send(room, bad).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "message {bad:?}");
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap(),
            blank_message
        );
    }

    assert!(alice.messages_after(room, 0).await.is_empty());
    let rooms: serde_json::Value = alice.get("/api/rooms").await.json().await.unwrap();
    assert_eq!(rooms["rooms"].as_array().unwrap().len(), 1, "{rooms}");
}

#[actix_web::test]
async fn the_room_page_shows_the_history_oldest_first_with_author_and_time() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    alice.say(room, "first").await;
    bob.say(room, "second").await;

    let page = bob.enter(room).await;

    // The messages as rendered: the words alone also name things on the page ("secondary").
    let first = page.find("<p>first</p>").unwrap();
    let second = page.find("<p>second</p>").unwrap();
    assert!(first < second);
    assert!(page.contains(r#"<span class="author">alice</span>"#));
    assert!(page.contains(r#"<time datetime=""#));
    assert!(page.contains(r#"role="log""#) && page.contains(r#"aria-live="polite""#));
}

#[actix_web::test]
async fn the_room_page_starts_with_the_latest_200_messages_and_the_poller_cursor() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Busy").await;
    let mut last = 0;
    for i in 0..205 {
        last = alice.say(room, &format!("message number {i}.")).await["id"]
            .as_i64()
            .unwrap();
    }
    let page = alice.enter(room).await;
    assert!(
        !page.contains("message number 4."),
        "older than the latest 200"
    );
    assert!(page.contains("message number 5."));
    assert!(page.contains("message number 204."));
    assert!(page.contains(&format!(r#"data-last-id="{last}""#)));
}

#[actix_web::test]
async fn hostile_text_in_names_and_messages_is_shown_escaped() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("<script>alert('room')</script>").await;
    alice.say(room, "<img src=x onerror=alert(1)>").await;

    let page = alice.enter(room).await;
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<img src=x"));
    assert!(page.contains("&#60;img src=x onerror=alert(1)&#62;"));
    let (_, lobby) = alice.page("/lobby").await;
    assert!(!lobby.contains("<script>alert"));
    assert!(lobby.contains("&#60;script&#62;"));
}

#[actix_web::test]
async fn a_room_that_never_existed_is_a_404_page_with_a_link_to_the_lobby() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    for path in ["/rooms/42", "/rooms/99999999999999999999", "/rooms/abc"] {
        let (status, page) = alice.page(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.contains(r#"href="/lobby""#));
        assert!(
            page.contains(r#"action="/logout""#),
            "logout is on every page"
        );
    }
}

#[actix_web::test]
async fn opening_a_room_takes_the_user_out_of_the_one_they_were_in() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let kitchen = alice.create_room("Kitchen").await;
    let garden = alice.create_room("Garden").await;
    alice.enter(kitchen).await;

    alice.enter(garden).await;

    let res = alice.poll(kitchen, "0").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_in_room");
    assert_eq!(
        alice.send(kitchen, "hi").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(alice.poll(garden, "0").await.status(), StatusCode::OK);
    let (_, lobby) = alice.page("/lobby").await;
    let active = &lobby[lobby.find("active-rooms").unwrap()..lobby.find("other-rooms").unwrap()];
    assert!(active.contains("Garden") && active.contains("1 here"));
    assert!(!active.contains("Kitchen"));
}

#[actix_web::test]
async fn leaving_goes_back_to_the_lobby_and_out_of_the_room() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;

    let res = alice.post_form(&format!("/rooms/{room}/leave"), &[]).await;

    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/lobby");
    let res = alice.poll(room, "0").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_in_room");
}

#[actix_web::test]
async fn only_the_creator_sees_the_delete_button() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;

    assert!(alice.enter(room).await.contains(r#"id="delete""#));
    assert!(!bob.enter(room).await.contains(r#"id="delete""#));
}

#[actix_web::test]
async fn someone_other_than_the_creator_cannot_delete_a_room() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.say(room, "mine").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;

    let res = bob.post_form(&format!("/rooms/{room}/delete"), &[]).await;

    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        alice.messages_after(room, 0).await.len(),
        1,
        "nothing changed"
    );
    assert_eq!(bob.poll(room, "0").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn the_creator_deletes_a_room_and_a_member_inside_learns_it_was_deleted() {
    use chatroom::db::schema::log_entries;

    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    bob.say(room, "hello").await;

    let res = alice.post_form(&format!("/rooms/{room}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/lobby");

    let res = bob.poll(room, "0").await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(error_code(res).await, "room_deleted");
    let res = bob.send(room, "anyone?").await;
    assert_eq!(res.status(), StatusCode::GONE);
    let (status, page) = bob.page(&format!("/rooms/{room}")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("deleted") && page.contains(r#"href="/lobby""#));
    let (_, lobby) = bob.page("/lobby").await;
    assert!(
        lobby.contains(r#"id="no-rooms">No chat rooms yet"#),
        "{lobby}"
    );

    let left: i64 = log_entries::table
        .filter(log_entries::room_id.eq(room))
        .count()
        .get_result(&mut app.db())
        .unwrap();
    assert_eq!(left, 0, "the messages went with the room");
}

#[actix_web::test]
async fn a_new_room_may_take_the_name_of_a_deleted_one() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let old = alice.create_room("Kitchen").await;
    let res = alice.post_form(&format!("/rooms/{old}/delete"), &[]).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the creator deletes the room"
    );
    let new = alice.create_room("Kitchen").await;
    assert!(new > old, "room ids are never reused");
}

#[actix_web::test]
async fn opening_a_room_one_is_not_in_shows_its_name_and_an_enter_button_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let kitchen = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    let garden = bob.create_room("Garden").await;
    let log_before = bob.entries_after(garden, 0).await;

    let (status, page) = bob.page(&format!("/rooms/{kitchen}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<h1 id="room-name">Kitchen</h1>"#));
    assert!(page.contains(&format!(r#"action="/rooms/{kitchen}/enter""#)));
    assert!(!page.contains(r#"id="log""#), "no log from outside");

    assert_eq!(
        bob.entries_after(garden, 0).await,
        log_before,
        "still in the garden, and nobody was told otherwise"
    );
    let res = bob.poll(kitchen, "0").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "not in the kitchen");

    bob.enter(kitchen).await;
    assert_eq!(bob.poll(kitchen, "0").await.status(), StatusCode::OK);
    assert_eq!(bob.poll(garden, "0").await.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn entering_is_a_post_with_a_csrf_token_and_answers_404_or_410_like_the_page() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    let forged = bob
        .http
        .post(bob.url(&format!("/rooms/{room}/enter")))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let res = bob.post_form("/rooms/999/enter", &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = alice.post_form(&format!("/rooms/{room}/delete"), &[]).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the creator deletes the room"
    );
    let res = bob.post_form(&format!("/rooms/{room}/enter"), &[]).await;
    assert_eq!(res.status(), StatusCode::GONE);
}

async fn lobby_page(person: &Person, path: &str) -> serde_json::Value {
    let res = person.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

/// Past a few hundred rooms the lobby comes in pages, in the same order (latest activity
/// first): the page says which is next, and links to its neighbours.
#[actix_web::test]
async fn a_lobby_of_more_than_200_rooms_comes_in_pages_of_200() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let kitchen = alice.create_room("Kitchen").await;
    let old = app.old_rooms("alice", 250);

    let ids = |answer: &serde_json::Value| -> Vec<i64> {
        answer["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    let first = lobby_page(&alice, "/api/lobby").await;
    assert_eq!(
        (first["page"].as_i64(), first["next"].as_i64()),
        (Some(1), Some(2))
    );
    let mut expected: Vec<i64> = std::iter::once(kitchen)
        .chain(old.iter().rev().copied())
        .map(i64::from)
        .collect();
    assert_eq!(ids(&first), expected[..200]);
    let second = lobby_page(&alice, "/api/lobby?page=2").await;
    assert_eq!(second["page"], 2);
    assert!(second.get("next").is_none(), "the last page: {second}");
    assert_eq!(ids(&second), expected[200..]);
    assert_eq!(
        lobby_page(&alice, "/api/rooms?page=2").await,
        second,
        "the same list"
    );
    assert_eq!(lobby_page(&alice, "/api/lobby?page=0").await["page"], 1);
    assert_eq!(
        ids(&lobby_page(&alice, "/api/lobby?page=3").await),
        Vec::<i64>::new()
    );
    let res = alice.get("/api/lobby?page=two").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let (_, html) = alice.page("/lobby").await;
    assert!(html.contains(r#"<a href="/lobby?page=2" id="older-rooms" rel="next">"#));
    assert!(!html.contains("newer-rooms"));
    assert_eq!(html.matches(r#"class="room""#).count(), 200);
    let (_, html) = alice.page("/lobby?page=2").await;
    assert!(html.contains(r#"<a href="/lobby" id="newer-rooms" rel="prev">"#));
    assert!(html.contains(r#"id="older-rooms" rel="next" hidden>"#));
    // The sidebar lists the first page wherever the reader is: the page's own list is <main>.
    let listed = main_part(&html);
    assert!(listed.contains(">Room 0<") && !listed.contains(">Kitchen<"));

    // A message is activity: its room moves to the top of the first page.
    alice.enter(old[0]).await;
    alice.say(old[0], "back to the top").await;
    expected.retain(|&id| id != i64::from(old[0]));
    expected.insert(0, i64::from(old[0]));
    assert_eq!(
        ids(&lobby_page(&alice, "/api/lobby").await),
        expected[..200]
    );
    assert_eq!(
        ids(&lobby_page(&alice, "/api/lobby?page=2").await),
        expected[200..]
    );
}

/// The page without its shell: what `<main>` shows (the sidebar lists rooms too).
fn main_part(html: &str) -> &str {
    &html[html.find("<main").expect("a <main>")..]
}

/// The room page carries what the delete-room question names: the room and how many messages
/// it holds (deleted ones not counted), and says "No messages yet" only while none is there.
#[actix_web::test]
async fn the_room_page_counts_its_messages_for_the_delete_question_and_shows_the_empty_state() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let (_, empty) = alice.page(&format!("/rooms/{room}")).await;
    assert!(empty.contains(r#"data-messages="0""#), "{empty}");
    assert!(
        empty.contains(r#"<p id="empty-log" class="empty">No messages yet"#),
        "a join line is no message: {empty}"
    );

    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        ids.push(alice.say(room, text).await["id"].as_i64().unwrap());
    }
    let res = alice
        .delete(&format!("/api/rooms/{room}/messages/{}", ids[1]))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let (_, page) = alice.page(&format!("/rooms/{room}")).await;
    assert!(page.contains(r#"data-room-name="Kitchen""#), "{page}");
    assert!(page.contains(r#"data-messages="2""#), "{page}");
    assert!(page.contains(r#"<p id="empty-log" class="empty" hidden>"#));
}
