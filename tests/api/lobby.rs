//! The lobby's unread counts, kept by counters (issue 23): the same numbers as counting the
//! log, in every case that matters, under concurrent posts; and the administrators' list of
//! rooms, paged, with its counts.

use chatroom::models::User;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{Person, error_code, spawn_app};

async fn lobby_unread(person: &Person, room: i32) -> i64 {
    let res = person.get("/api/lobby").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == room)
        .unwrap_or_else(|| panic!("room {room} is not listed in {body}"))["unread"]
        .as_i64()
        .unwrap()
}

async fn delete(person: &mut Person, room: i32, id: i64) {
    let res = person
        .delete(&format!("/api/rooms/{room}/messages/{id}"))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[actix_web::test]
async fn lobby_unread_counts_only_others_messages_not_deleted_past_the_mark() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let mut carol = app.user("carol").await;
    let room = alice.create_room("Kitchen").await;

    // Carol was in the room once; she reads it up to its start.
    carol.enter_and_poll(room).await;
    carol.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    // Since then: every message by others, and no joins or leaves.
    bob.enter(room).await;
    let first = alice.say(room, "one").await["id"].as_i64().unwrap();
    bob.say(room, "two").await;
    alice.say(room, "three").await;
    assert_eq!(lobby_unread(&carol, room).await, 3, "since she left");
    assert_eq!(lobby_unread(&alice, room).await, 1, "not her own two");

    // Reading: up to the mark is read; joins and leaves are not messages.
    carol.enter_and_poll(room).await;
    assert_eq!(lobby_unread(&carol, room).await, 0, "after reading");
    carol.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    bob.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    bob.enter(room).await;
    assert_eq!(lobby_unread(&carol, room).await, 0, "joins and leaves");

    // Deletions: one she has read changes nothing; one she has not is not unread.
    delete(&mut alice, room, first).await;
    assert_eq!(
        lobby_unread(&carol, room).await,
        0,
        "a read message deleted"
    );
    let four = bob.say(room, "four").await["id"].as_i64().unwrap();
    alice.say(room, "five").await;
    assert_eq!(lobby_unread(&carol, room).await, 2);
    delete(&mut bob, room, four).await;
    assert_eq!(
        lobby_unread(&carol, room).await,
        1,
        "an unread message deleted"
    );

    // Her own messages past her mark are not unread, deleted or not.
    carol.enter(room).await;
    let own = carol.say(room, "six").await["id"].as_i64().unwrap();
    carol.say(room, "seven").await;
    carol.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    assert_eq!(
        lobby_unread(&carol, room).await,
        1,
        "her own are not unread"
    );
    carol.enter(room).await;
    delete(&mut carol, room, own).await;
    carol.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    assert_eq!(lobby_unread(&carol, room).await, 1, "nor her own deleted");
    assert_eq!(
        lobby_unread(&alice, room).await,
        2,
        "bob's two and carol's seven"
    );
}

#[actix_web::test]
async fn lobby_unread_counts_a_direct_conversation_for_each_of_the_two() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let res = alice.post_form("/direct", &[("username", "bob")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let room: i32 = super::helpers::location(&res)
        .strip_prefix("/rooms/")
        .unwrap()
        .parse()
        .unwrap();
    let id = alice.say(room, "hi bob").await["id"].as_i64().unwrap();
    alice.say(room, "are you there?").await;
    assert_eq!(lobby_unread(&bob, room).await, 2);
    assert_eq!(lobby_unread(&alice, room).await, 0);
    // Its row says who it is with, not who "made" it.
    let (_, page) = newcomer_page(&bob).await;
    assert!(
        page.contains("data-enter>alice</a>") && page.contains("direct conversation · "),
        "{page}"
    );
    assert!(!page.contains("by alice"), "{page}");
    delete(&mut alice, room, id).await;
    assert_eq!(lobby_unread(&bob, room).await, 1);
}

#[actix_web::test]
async fn a_public_room_someone_was_never_in_shows_nothing_unread_however_long_its_history() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let newcomer = app.user("newcomer").await;
    let room = alice.create_room("Archive").await;
    for i in 0..5 {
        alice.say(room, &format!("old news {i}")).await;
    }
    assert_eq!(
        lobby_unread(&newcomer, room).await,
        0,
        "its history is not news"
    );
    alice.say(room, "and more").await;
    assert_eq!(lobby_unread(&newcomer, room).await, 0, "nor what follows");
    let (_, page) = newcomer_page(&newcomer).await;
    assert!(!page.contains("class=\"unread\""), "no badge: {page}");
}

async fn newcomer_page(person: &Person) -> (StatusCode, String) {
    let res = person.get("/lobby").await;
    (res.status(), res.text().await.unwrap())
}

#[actix_web::test]
async fn the_lobby_names_a_room_deleted_under_someone_once_and_a_reload_shows_nothing() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let room = alice.create_room("Kitchen <b>&</b>").await;
    bob.enter(room).await;
    let res = alice.post_form(&format!("/rooms/{room}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Where the room page sends bob when its poll answers 410.
    let res = bob.get(&format!("/lobby?notice=deleted&room={room}")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(super::helpers::location(&res), "/lobby", "a clean URL");
    let (status, body) = newcomer_page(&bob).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("“Kitchen &#60;b&#62;&#38;&#60;/b&#62;” was deleted.")
            || body.contains("“Kitchen &lt;b&gt;&amp;&lt;/b&gt;” was deleted."),
        "named, and escaped: {body}"
    );
    let (_, again) = newcomer_page(&bob).await;
    assert!(!again.contains("was deleted"), "once: {again}");

    // A room that was never deleted (or made-up text in the URL) names nothing.
    let res = bob.get("/lobby?notice=deleted&room=987654").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, body) = newcomer_page(&bob).await;
    assert!(body.contains("The room you were in was deleted."), "{body}");
    let res = bob.get("/lobby?notice=deleted&name=Evil").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, body) = newcomer_page(&bob).await;
    assert!(!body.contains("Evil"), "{body}");
    let res = bob.get("/lobby?notice=whatever").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, body) = newcomer_page(&bob).await;
    assert!(!body.contains("id=\"notice\""), "{body}");
}

#[actix_web::test]
async fn lobby_unread_and_the_admin_count_stay_exact_under_concurrent_posts() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut reader = app.user("reader").await;
    reader.enter_and_poll(room).await;
    reader.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    let mut posters = vec![alice];
    for name in ["bob", "carol", "dave"] {
        let mut person = app.user(name).await;
        person.enter(room).await;
        posters.push(person);
    }
    const EACH: usize = 15;
    join_all(
        posters
            .iter_mut()
            .enumerate()
            .map(|(p, person)| async move {
                for i in 0..EACH {
                    person.say(room, &format!("{p}:{i}")).await;
                }
            }),
    )
    .await;
    let total = i64::try_from(EACH * posters.len()).unwrap();
    assert_eq!(lobby_unread(&reader, room).await, total);
    for person in &posters {
        assert_eq!(
            lobby_unread(person, room).await,
            total - i64::try_from(EACH).unwrap(),
            "less their own"
        );
    }
    User::set_admin(&mut app.db(), "alice", true).unwrap();
    let body: Value = posters[0]
        .get("/api/admin/rooms")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["rooms"][0]["messages"], total);
}

#[actix_web::test]
async fn lobby_and_admin_rooms_answer_400_for_a_page_no_link_leads_to() {
    let Some(app) = spawn_app().await else { return };
    let alice = app.user("alice").await;
    User::set_admin(&mut app.db(), "alice", true).unwrap();
    for path in [
        "/api/lobby?page=10001",
        "/lobby?page=4294967295",
        "/api/admin/rooms?page=10001",
        "/admin/rooms?page=99999",
        "/api/admin/rooms?page=first",
    ] {
        assert_eq!(
            alice.get(path).await.status(),
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
    let res = alice.get("/api/lobby?page=10001").await;
    assert_eq!(error_code(res).await, "bad_request");
    assert_eq!(
        alice.get("/api/lobby?page=10000").await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn lobby_style_pages_list_the_admin_rooms_with_their_counts() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    User::set_admin(&mut app.db(), "alice", true).unwrap();
    let old = app.old_rooms("alice", 205);
    let newest = alice.create_room("Kitchen").await;
    alice.say(newest, "one").await;
    let id = alice.say(newest, "two").await["id"].as_i64().unwrap();
    alice.say(newest, "three").await;
    delete(&mut alice, newest, id).await;

    let first: Value = alice.get("/api/admin/rooms").await.json().await.unwrap();
    let rooms = first["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 200);
    assert_eq!(first["page"], 1);
    assert_eq!(first["next"], 2);
    assert_eq!(rooms[0]["id"], newest);
    assert_eq!(rooms[0]["messages"], 2, "not the deleted one");
    for field in [
        "id",
        "name",
        "creator",
        "messages",
        "created_at",
        "last_activity_at",
    ] {
        assert!(rooms[0].get(field).is_some(), "{field}");
    }
    let second: Value = alice
        .get("/api/admin/rooms?page=2")
        .await
        .json()
        .await
        .unwrap();
    let rest: Vec<i64> = second["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = old[..6].iter().rev().map(|&id| i64::from(id)).collect();
    assert_eq!(rest, expected, "the least recently active, in order");
    assert!(second.get("next").is_none(), "the last page: {second}");

    let (status, html) = alice.page("/admin/rooms").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"href="/admin/rooms?page=2""#),
        "a link to the next page"
    );
    assert_eq!(html.matches(r#"class="admin-room""#).count(), 200);
    let (_, html) = alice.page("/admin/rooms?page=2").await;
    assert!(html.contains(r#"href="/admin/rooms" id="newer-rooms""#));
    assert_eq!(html.matches(r#"class="admin-room""#).count(), 6);
}
