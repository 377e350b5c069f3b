//! Direct conversations: two equals. Each deletes only their own messages, nobody deletes
//! the conversation for both (each may hide it from their own lobby), opening new ones counts
//! against the room limit, and no public room may pass for one.

use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{Person, error_code, location, spawn_app, spawn_app_tweaked};

async fn lobby_ids(person: &Person) -> Vec<i64> {
    let body: Value = person.get("/api/lobby").await.json().await.unwrap();
    body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[actix_web::test]
async fn in_a_direct_conversation_each_person_deletes_only_their_own_messages() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let room = alice.open_direct("bob").await;
    bob.enter(room).await;
    let bobs = bob.say(room, "from bob").await["id"].as_i64().unwrap();
    let alices = alice.say(room, "from alice").await["id"].as_i64().unwrap();

    let res = alice.delete_message(room, bobs).await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "the opener is no moderator"
    );
    assert_eq!(error_code(res).await, "not_author");
    let res = bob.delete_message(room, alices).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let page = alice.enter(room).await;
    assert!(
        page.contains(r#"data-creator="false""#),
        "the page's script agrees"
    );
    assert_eq!(
        page.matches(r#"class="delete-message"#).count(),
        1,
        "a Delete button on her own message only"
    );

    assert_eq!(
        bob.delete_message(room, bobs).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        alice.delete_message(room, alices).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[actix_web::test]
async fn nobody_deletes_a_direct_conversation_for_both_but_each_may_hide_it() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let room = alice.open_direct("bob").await;
    alice.say(room, "hello").await;

    let page = alice.enter(room).await;
    assert!(
        !page.contains(r#"id="delete""#),
        "no Delete room button that would not work"
    );
    assert!(page.contains(r#"id="hide""#));

    let res = alice.post_form(&format!("/rooms/{room}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/lobby");
    assert!(
        !lobby_ids(&alice).await.contains(&room.into()),
        "hidden for her"
    );
    assert!(
        lobby_ids(&bob).await.contains(&room.into()),
        "still there for him"
    );
    bob.enter(room).await;
    let seen = bob.messages_after(room, 0).await;
    assert_eq!(seen[0]["text"], "hello", "nothing was deleted");

    let token = bob.csrf().await;
    let res = bob
        .http
        .delete(bob.url(&format!("/api/rooms/{room}")))
        .header("X-CSRF-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!lobby_ids(&bob).await.contains(&room.into()));
    assert_eq!(
        bob.poll(room, "0").await.status(),
        StatusCode::FORBIDDEN,
        "he left it"
    );

    bob.enter(room).await;
    bob.say(room, "still there?").await;
    assert!(
        lobby_ids(&alice).await.contains(&room.into()),
        "a new message brings it back"
    );
    assert!(lobby_ids(&bob).await.contains(&room.into()));
}

#[actix_web::test]
async fn opening_new_direct_conversations_counts_against_the_room_limit() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.limits.rooms = 2;
    })
    .await
    else {
        return;
    };
    let mut alice = app.user("alice").await;
    for name in ["bob", "carol", "dave"] {
        app.user(name).await;
    }
    alice.open_direct("bob").await;
    alice.create_room("Kitchen").await;

    let res = alice.post_form("/direct", &[("username", "carol")]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let res = alice.post_form("/direct", &[("username", "bob")]).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "reopening creates nothing"
    );
}

#[actix_web::test]
async fn a_public_room_may_not_be_named_like_a_direct_conversation() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    for name in ["@bob", "Direct conversation", "direct  CONVERSATION"] {
        let res = alice.post_form("/rooms", &[("name", name)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{name:?}");
    }
}

/// New usernames may not begin with '-', but one an older version let through is still
/// someone to talk to.
#[actix_web::test]
async fn a_direct_conversation_opens_with_an_older_name_that_new_ones_may_not_have() {
    use diesel::RunQueryDsl;
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    app.user("xbob").await;
    diesel::sql_query(
        "UPDATE users SET username = '-bob', username_key = '-bob' WHERE username = 'xbob'",
    )
    .execute(&mut app.db())
    .unwrap();
    alice.page("/lobby").await;
    let res = alice.post_form("/direct", &[("username", "-bob")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/rooms/"), "{}", location(&res));
}

/// The heading and title say who the conversation is with, for each of the two, both inside
/// and on the way in.
#[actix_web::test]
async fn a_direct_conversation_is_named_after_the_other_person_for_each_of_them() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let room = alice.open_direct("bob").await;

    let (_, inside) = alice.page(&format!("/rooms/{room}")).await;
    assert!(
        inside.contains(r#"<h1 id="room-name">bob</h1>"#),
        "{inside}"
    );
    assert!(inside.contains("<title>bob · chatroom</title>"), "{inside}");
    assert!(!inside.contains("Direct conversation"));

    let (_, outside) = bob.page(&format!("/rooms/{room}")).await;
    assert!(outside.contains(r#"id="enter""#), "bob is not inside yet");
    assert!(
        outside.contains(r#"<h1 id="room-name">alice</h1>"#),
        "{outside}"
    );
    let page = bob.enter(room).await;
    assert!(page.contains(r#"<h1 id="room-name">alice</h1>"#), "{page}");
    assert!(page.contains("<title>alice · chatroom</title>"));
}
