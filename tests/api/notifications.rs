//! Mentions, how loud each room is, and what needs someone elsewhere (issue 29): `@name` in a
//! message, `PUT /api/rooms/{id}/notifications`, the lobby's `"mentions"` and `"level"`, and the
//! poll's `"attention"`. The same bodies run on SQLite and on PostgreSQL (tests/api_postgres.rs).

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::helpers::{Person, TestApp, error_code, page_cursor, spawn_app};

/// PUTs `body` (any JSON, or a raw string when `raw`) as the person's level for the room, with
/// their CSRF token.
async fn put_level_body(person: &mut Person, room: i32, body: &str) -> Response {
    let token = person.csrf().await;
    person
        .http
        .put(person.url(&format!("/api/rooms/{room}/notifications")))
        .header("X-CSRF-Token", token)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("PUT is answered")
}

async fn set_level(person: &mut Person, room: i32, level: &str) -> Response {
    put_level_body(person, room, &json!({ "level": level }).to_string()).await
}

/// Sets the level and expects 204.
async fn level(person: &mut Person, room: i32, level: &str) {
    let res = set_level(person, room, level).await;
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "setting {level} for room {room}"
    );
}

/// The person's whole lobby answer.
async fn lobby(person: &Person) -> Value {
    let res = person.get("/api/lobby").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// A room as the person's lobby lists it.
async fn listed(person: &Person, room: i32) -> Value {
    let body = lobby(person).await;
    body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == room)
        .unwrap_or_else(|| panic!("room {room} is not listed in {body}"))
        .clone()
}

async fn lobby_mentions(person: &Person, room: i32) -> i64 {
    listed(person, room).await["mentions"].as_i64().unwrap()
}

async fn lobby_level(person: &Person, room: i32) -> String {
    listed(person, room).await["level"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// One poll of the room from `after`, as text (the exact answer) and as JSON.
async fn poll_raw(person: &Person, room: i32, after: i64) -> (String, Value) {
    let res = person.poll(room, &after.to_string()).await;
    assert_eq!(res.status(), StatusCode::OK, "polling room {room}");
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap();
    (text, body)
}

/// The `"attention"` of one poll of the room (from its start: it reads the room).
async fn attention(person: &Person, room: i32) -> Value {
    poll_raw(person, room, 0).await.1["attention"].clone()
}

/// The number of the room's newest entry, as a poll from 0 sees it (which reads the room).
async fn head(person: &Person, room: i32) -> i64 {
    let entries = person.entries_after(room, 0).await;
    entries.last().map_or(0, |e| e["id"].as_i64().unwrap())
}

fn count(attention: &Value) -> i64 {
    attention["count"].as_i64().expect("a count")
}

fn new(attention: &Value) -> &Vec<Value> {
    attention["new"].as_array().expect("a new array")
}

fn id(message: &Value) -> i64 {
    message["id"].as_i64().unwrap()
}

/// How many notices the database holds for the user.
fn notices_of(app: &TestApp, username: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM notices JOIN users ON users.id = notices.user_id \
         WHERE users.username = '{username}'"
    ))
    .get_result::<Count>(&mut app.db())
    .unwrap()
    .n
}

/// alice in her Kitchen, bob in his Garden (where he polls), and carol, who is in no room.
async fn kitchen_and_garden() -> Option<(TestApp, Person, i32, Person, i32, Person)> {
    let app = spawn_app().await?;
    let mut alice = app.user("alice").await;
    let kitchen = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    let garden = bob.create_room("Garden").await;
    let carol = app.user("carol").await;
    Some((app, alice, kitchen, bob, garden, carol))
}

#[actix_web::test]
async fn a_mention_is_matched_by_name_key_listed_once_by_its_canonical_name_and_wrapped() {
    let Some((app, mut alice, kitchen, _bob, _, _carol)) = kitchen_and_garden().await else {
        return;
    };
    app.user("Dora").await;
    let said = alice
        .say(
            kitchen,
            "hi @BOB and @bob, ask @dora (not @nobody) and @carol. Mail bob@example.org",
        )
        .await;
    assert_eq!(said["mentions"], json!(["bob", "Dora", "carol"]), "{said}");
    let html = said["html"].as_str().unwrap();
    for typed in ["@BOB", "@bob", "@dora", "@carol"] {
        assert!(
            html.contains(&format!(r#"<span class="mention">{typed}</span>"#)),
            "{typed} is wrapped as typed: {html}"
        );
    }
    assert_eq!(
        html.matches(r#"<span class="mention">"#).count(),
        4,
        "nothing else is: {html}"
    );
    assert!(html.contains("(not @nobody)"), "{html}");
    assert!(html.contains("bob@example.org"), "{html}");

    // The poll gives the same entry; a message mentioning nobody has no "mentions".
    let plain = alice.say(kitchen, "nobody @here at all").await;
    assert!(plain.get("mentions").is_none(), "{plain}");
    assert!(!plain["html"].as_str().unwrap().contains("mention"));
    let polled = alice.messages_after(kitchen, 0).await;
    assert_eq!(polled[0]["mentions"], said["mentions"]);
    assert_eq!(polled[0]["html"], said["html"]);
    assert!(polled[1].get("mentions").is_none());
}

#[actix_web::test]
async fn a_mention_inside_code_is_not_one() {
    let Some((_app, mut alice, kitchen, bob, garden, _)) = kitchen_and_garden().await else {
        return;
    };
    let said = alice
        .say(kitchen, "try `@bob` or\n\n```\n@bob\n```\n\n    @bob")
        .await;
    assert!(said.get("mentions").is_none(), "{said}");
    let html = said["html"].as_str().unwrap();
    assert!(!html.contains("class=\"mention\""), "{html}");
    assert!(html.contains("<code>@bob</code>"), "{html}");
    assert_eq!(lobby_mentions(&bob, kitchen).await, 0);
    assert_eq!(count(&attention(&bob, garden).await), 0);
}

#[actix_web::test]
async fn a_mention_of_someone_who_cannot_read_a_direct_conversation_tells_them_nothing() {
    let Some((app, mut alice, _, bob, garden, mut carol)) = kitchen_and_garden().await else {
        return;
    };
    let patio = carol.create_room("Patio").await;
    // carol is known to memory before, and looked up afresh after.
    assert_eq!(count(&attention(&carol, patio).await), 0);
    let direct = alice.open_direct("bob").await;
    alice.say(direct, "shall we ask @carol?").await;

    assert_eq!(notices_of(&app, "carol"), 0, "no notice for carol");
    let seen = attention(&carol, patio).await;
    assert_eq!(seen, json!({"count": 0, "new": []}));
    let lobby = lobby(&carol).await;
    assert!(
        lobby["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != direct),
        "not even listed: {lobby}"
    );
    // bob, who can read it, is told (the direct message reaches him).
    let told = attention(&bob, garden).await;
    assert_eq!(count(&told), 1, "{told}");
}

#[actix_web::test]
async fn editing_a_message_to_add_or_remove_a_mention_changes_its_mentions_and_the_counts() {
    let Some((_app, mut alice, kitchen, bob, garden, _)) = kitchen_and_garden().await else {
        return;
    };
    let said = alice.say(kitchen, "hello bob").await;
    assert!(said.get("mentions").is_none());
    assert_eq!(count(&attention(&bob, garden).await), 0);

    let res = alice.edit(kitchen, id(&said), "hello @Bob").await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["message"]["mentions"], json!(["bob"]), "{edited}");
    let polled = alice.messages_after(kitchen, 0).await;
    assert_eq!(polled[0]["mentions"], json!(["bob"]));
    assert!(
        polled[0]["html"]
            .as_str()
            .unwrap()
            .contains(r#"<span class="mention">@Bob</span>"#)
    );
    assert_eq!(lobby_mentions(&bob, kitchen).await, 1, "now a mention");
    let told = attention(&bob, garden).await;
    assert_eq!(count(&told), 1, "{told}");

    let res = alice.edit(kitchen, id(&said), "hello again").await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert!(edited["message"].get("mentions").is_none(), "{edited}");
    let polled = alice.messages_after(kitchen, 0).await;
    assert!(polled[0].get("mentions").is_none(), "{}", polled[0]);
    assert_eq!(lobby_mentions(&bob, kitchen).await, 0, "no longer");
}

#[actix_web::test]
async fn a_level_is_set_with_204_and_the_lobby_shows_it_with_the_defaults_for_the_rest() {
    let Some((_app, mut alice, kitchen, mut bob, garden, _)) = kitchen_and_garden().await else {
        return;
    };
    let direct = alice.open_direct("bob").await;
    alice.say(direct, "hello").await;
    assert_eq!(
        lobby_level(&bob, kitchen).await,
        "mentions",
        "public default"
    );
    assert_eq!(lobby_level(&bob, direct).await, "all", "direct default");

    level(&mut bob, kitchen, "all").await;
    level(&mut bob, direct, "nothing").await;
    assert_eq!(lobby_level(&bob, kitchen).await, "all");
    assert_eq!(lobby_level(&bob, direct).await, "nothing");
    assert_eq!(lobby_level(&bob, garden).await, "mentions", "untouched");
    assert_eq!(lobby_level(&alice, kitchen).await, "mentions", "bob's own");
    assert_eq!(lobby_level(&alice, direct).await, "all", "bob's own");

    // Set again: changed, never doubled.
    level(&mut bob, kitchen, "mentions").await;
    level(&mut bob, kitchen, "nothing").await;
    assert_eq!(lobby_level(&bob, kitchen).await, "nothing");
}

#[actix_web::test]
async fn a_level_other_than_the_three_or_a_body_that_is_not_json_gets_400() {
    let Some((_app, _alice, kitchen, mut bob, _, _)) = kitchen_and_garden().await else {
        return;
    };
    for body in [
        json!({"level": "loud"}).to_string(),
        json!({"level": "ALL"}).to_string(),
        json!({"level": 1}).to_string(),
        json!({"level": null}).to_string(),
        json!({}).to_string(),
        "{\"level\": \"all\"".to_owned(),
        "all".to_owned(),
        json!(["all"]).to_string(),
    ] {
        let res = put_level_body(&mut bob, kitchen, &body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(res).await, "bad_request", "{body}");
    }
    assert_eq!(lobby_level(&bob, kitchen).await, "mentions", "unchanged");
}

#[actix_web::test]
async fn a_level_is_for_a_room_one_may_read_404_otherwise_and_410_once_deleted() {
    let Some((_app, mut alice, kitchen, mut bob, _, mut carol)) = kitchen_and_garden().await else {
        return;
    };
    let res = set_level(&mut bob, 999_999, "all").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "no such room");

    let direct = alice.open_direct("bob").await;
    let res = set_level(&mut carol, direct, "all").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "someone else's");
    level(&mut bob, direct, "mentions").await;

    let res = alice
        .post_form(&format!("/rooms/{kitchen}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = set_level(&mut bob, kitchen, "all").await;
    assert_eq!(res.status(), StatusCode::GONE, "deleted");
}

#[actix_web::test]
async fn setting_a_level_without_the_csrf_token_is_refused_like_other_changes() {
    let Some((_app, _alice, kitchen, mut bob, _, _)) = kitchen_and_garden().await else {
        return;
    };
    let put = |token: Option<&str>| {
        let mut request = bob
            .http
            .put(bob.url(&format!("/api/rooms/{kitchen}/notifications")))
            .json(&json!({"level": "all"}));
        if let Some(token) = token {
            request = request.header("X-CSRF-Token", token);
        }
        request.send()
    };
    let res = put(None).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "csrf");
    let res = put(Some(&"x".repeat(43))).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(lobby_level(&bob, kitchen).await, "mentions", "unchanged");

    // With a token but no login: nobody's level to set.
    let mut nobody = Person::new(&bob.base);
    let res = set_level(&mut nobody, kitchen, "all").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "nobody logged in");
    level(&mut bob, kitchen, "all").await;
}

#[actix_web::test]
async fn the_lobby_counts_unread_mentions_until_the_room_is_read_and_not_deleted_ones() {
    let Some((_app, mut alice, kitchen, mut bob, garden, carol)) = kitchen_and_garden().await
    else {
        return;
    };
    let one = alice.say(kitchen, "@bob one").await;
    alice.say(kitchen, "@BOB two, and @bob again").await;
    alice.say(kitchen, "three mentions nobody").await;
    alice.say(kitchen, "@carol four").await;
    assert_eq!(lobby_mentions(&bob, kitchen).await, 2, "never read: all");
    assert_eq!(lobby_mentions(&carol, kitchen).await, 1);
    assert_eq!(lobby_mentions(&alice, kitchen).await, 0);
    assert_eq!(lobby_mentions(&bob, garden).await, 0);

    let res = alice.delete_message(kitchen, id(&one)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(lobby_mentions(&bob, kitchen).await, 1, "a deleted one goes");

    // Entering shows the room; the page's first poll reads it.
    let page = bob.enter(kitchen).await;
    bob.entries_after(kitchen, page_cursor(&page)).await;
    assert_eq!(lobby_mentions(&bob, kitchen).await, 0, "read");
    assert_eq!(lobby_mentions(&carol, kitchen).await, 1, "carol has not");

    alice.say(kitchen, "five for @bob").await;
    assert_eq!(lobby_mentions(&bob, kitchen).await, 1, "past the read mark");
    bob.entries_after(kitchen, page_cursor(&page)).await;
    assert_eq!(lobby_mentions(&bob, kitchen).await, 0);
}

#[actix_web::test]
async fn a_mention_elsewhere_reaches_the_poll_once_as_new_and_counts_until_read() {
    let Some((_app, mut alice, kitchen, mut bob, garden, _)) = kitchen_and_garden().await else {
        return;
    };
    let after = head(&bob, garden).await;
    let (text, _) = poll_raw(&bob, garden, after).await;
    assert!(
        text.ends_with(r#","attention":{"count":0,"new":[]}}"#),
        "the empty poll's attention, exactly: {text}"
    );

    let said = alice.say(kitchen, "hey @bob, soup?").await;
    let (_, polled) = poll_raw(&bob, garden, after).await;
    assert_eq!(
        polled["attention"],
        json!({
            "count": 1,
            "new": [{
                "room": {"id": kitchen, "name": "Kitchen"},
                "id": said["id"],
                "author": "alice",
                "excerpt": "hey @bob, soup?",
                "reason": "mention",
            }],
        })
    );
    let again = poll_raw(&bob, garden, after).await.1["attention"].clone();
    assert_eq!(again, json!({"count": 1, "new": []}), "handed out once");
    let from_lobby = lobby(&bob).await["attention"].clone();
    assert_eq!(count(&from_lobby), 1, "the lobby counts it too");
    assert!(
        new(&from_lobby).is_empty(),
        "and does not hand it out again"
    );

    // Messages that need nobody change nothing.
    alice.say(kitchen, "soup is ready").await;
    assert_eq!(count(&attention(&bob, garden).await), 1);

    // bob reads the kitchen: nothing needs him any more, wherever he polls.
    let page = bob.enter(kitchen).await;
    let (_, in_kitchen) = poll_raw(&bob, kitchen, page_cursor(&page)).await;
    assert_eq!(in_kitchen["attention"], json!({"count": 0, "new": []}));
    bob.enter(garden).await;
    let (text, _) = poll_raw(&bob, garden, after).await;
    assert!(
        text.ends_with(r#","attention":{"count":0,"new":[]}}"#),
        "{text}"
    );
}

#[actix_web::test]
async fn the_room_being_polled_is_not_counted_its_mentions_come_as_messages() {
    let Some((_app, mut alice, kitchen, mut bob, _garden, _)) = kitchen_and_garden().await else {
        return;
    };
    let porch = alice.create_room("Porch").await;
    let page = bob.enter(kitchen).await;
    let cursor = page_cursor(&page);
    poll_raw(&bob, kitchen, cursor).await;

    alice.enter(kitchen).await;
    let here = alice.say(kitchen, "@bob in the kitchen").await;
    alice.enter(porch).await;
    let there = alice.say(porch, "@bob on the porch").await;

    let (_, polled) = poll_raw(&bob, kitchen, cursor).await;
    let messages = polled["messages"].as_array().unwrap();
    assert!(messages.iter().any(|m| m["id"] == here["id"]), "{polled}");
    let seen = &polled["attention"];
    assert_eq!(count(seen), 1, "only the porch: {seen}");
    assert_eq!(new(seen).len(), 1, "{seen}");
    assert_eq!(new(seen)[0]["room"]["id"], porch);
    assert_eq!(new(seen)[0]["id"], there["id"]);
}

/// A server's memory starts each person from the database at their first poll there: what
/// waited is counted, and what an earlier server handed out is not handed out again.
#[actix_web::test]
async fn after_a_restart_what_waits_is_counted_from_the_database_and_not_handed_out_again() {
    let Some((app, mut alice, kitchen, bob, garden, _)) = kitchen_and_garden().await else {
        return;
    };
    alice.say(kitchen, "@bob one").await;
    alice.say(kitchen, "@bob two").await;
    let seen = attention(&bob, garden).await;
    assert_eq!((count(&seen), new(&seen).len()), (2, 2), "{seen}");

    let app = app.restart().await;
    let (mut alice, bob) = (alice.on(&app.address), bob.on(&app.address));
    let seen = attention(&bob, garden).await;
    assert_eq!(seen, json!({"count": 2, "new": []}));
    let later = alice.say(kitchen, "@bob three").await;
    let seen = attention(&bob, garden).await;
    assert_eq!(count(&seen), 3);
    assert_eq!(new(&seen).len(), 1, "{seen}");
    assert_eq!(new(&seen)[0]["id"], later["id"]);

    // Read on the new server: gone from the database's count too.
    let mut bob = bob;
    bob.enter_and_poll(kitchen).await;
    assert_eq!(lobby_mentions(&bob, kitchen).await, 0);
    assert_eq!(count(&lobby(&bob).await["attention"]), 0);
}

/// After a restart every open page's first poll comes within a second, and the server reads
/// what waits for those that come together in one go: each person still gets their own.
#[actix_web::test]
async fn first_polls_that_come_together_after_a_restart_each_count_their_own() {
    let Some((app, mut alice, kitchen, bob, garden, mut carol)) = kitchen_and_garden().await else {
        return;
    };
    let mut dora = app.user("dora").await;
    carol.enter(garden).await;
    dora.enter(garden).await;
    alice.say(kitchen, "@bob one").await;
    alice.say(kitchen, "@bob and @carol two").await;
    alice.say(kitchen, "@bob three").await;

    let app = app.restart().await;
    let people = [&bob, &carol, &dora].map(|p| p.on(&app.address));
    let seen = futures_util::future::join_all(people.iter().map(|p| attention(p, garden))).await;
    let counts: Vec<i64> = seen.iter().map(count).collect();
    assert_eq!(counts, [3, 1, 0], "bob, carol, dora: {seen:?}");
    assert!(seen.iter().all(|s| new(s).is_empty()), "{seen:?}");

    // Dora had nothing waiting: the server knew that from its start. What comes for her
    // after it is hers as for anyone.
    let mut alice = alice.on(&app.address);
    let later = alice.say(kitchen, "@dora four").await;
    let [_, _, dora] = people;
    let seen = attention(&dora, garden).await;
    assert_eq!(count(&seen), 1, "{seen}");
    assert_eq!(new(&seen).len(), 1, "{seen}");
    assert_eq!(new(&seen)[0]["id"], later["id"]);
}

#[actix_web::test]
async fn a_direct_message_needs_its_reader_with_reason_direct_under_the_other_persons_name() {
    let Some((_app, mut alice, _, mut bob, garden, _)) = kitchen_and_garden().await else {
        return;
    };
    assert_eq!(count(&attention(&bob, garden).await), 0);
    let direct = alice.open_direct("bob").await;
    let said = alice.say(direct, "a word in private").await;
    let seen = attention(&bob, garden).await;
    assert_eq!(
        seen,
        json!({
            "count": 1,
            "new": [{
                "room": {"id": direct, "name": "alice"},
                "id": said["id"],
                "author": "alice",
                "excerpt": "a word in private",
                "reason": "direct",
            }],
        })
    );
    // A mention in it is a mention.
    let mention = alice.say(direct, "@bob are you there").await;
    let seen = attention(&bob, garden).await;
    assert_eq!(count(&seen), 2);
    assert_eq!(new(&seen)[0]["id"], mention["id"]);
    assert_eq!(new(&seen)[0]["reason"], "mention");

    // The author is never told of their own messages.
    let alices_room = alice.create_room("Study").await;
    assert_eq!(count(&attention(&alice, alices_room).await), 0);

    // A direct conversation set to nothing tells nothing more.
    level(&mut bob, direct, "nothing").await;
    alice.enter(direct).await;
    alice.say(direct, "still there?").await;
    let seen = attention(&bob, garden).await;
    assert_eq!((count(&seen), new(&seen).len()), (2, 0), "{seen}");
}

#[actix_web::test]
async fn a_room_set_to_all_tells_of_every_message_and_one_set_to_nothing_of_none() {
    let Some((_app, mut alice, kitchen, mut bob, garden, _)) = kitchen_and_garden().await else {
        return;
    };
    assert_eq!(count(&attention(&bob, garden).await), 0);
    level(&mut bob, kitchen, "all").await;
    let one = alice.say(kitchen, "plain one").await;
    let seen = attention(&bob, garden).await;
    assert_eq!(count(&seen), 1, "{seen}");
    assert_eq!(new(&seen)[0]["id"], one["id"]);
    assert_eq!(new(&seen)[0]["reason"], "all");
    assert_eq!(
        new(&seen)[0]["room"],
        json!({"id": kitchen, "name": "Kitchen"})
    );
    alice.say(kitchen, "plain two").await;
    let mention = alice.say(kitchen, "and @bob three").await;
    let seen = attention(&bob, garden).await;
    assert_eq!(count(&seen), 3, "{seen}");
    let reasons: Vec<&Value> = new(&seen).iter().map(|n| &n["reason"]).collect();
    assert_eq!(reasons, [&json!("all"), &json!("mention")]);
    assert_eq!(new(&seen)[1]["id"], mention["id"]);

    // Read, then set to nothing: not even a mention is told; the lobby still counts it.
    bob.enter_and_poll(kitchen).await;
    bob.enter(garden).await;
    level(&mut bob, kitchen, "nothing").await;
    alice.say(kitchen, "plain four").await;
    alice.say(kitchen, "@bob five").await;
    let seen = attention(&bob, garden).await;
    assert_eq!(seen, json!({"count": 0, "new": []}));
    assert_eq!(lobby_mentions(&bob, kitchen).await, 1);

    // Back to mentions: a mention is told, a plain message is not.
    level(&mut bob, kitchen, "mentions").await;
    alice.say(kitchen, "plain six").await;
    let seven = alice.say(kitchen, "@bob seven").await;
    let seen = attention(&bob, garden).await;
    assert_eq!(count(&seen), 1, "{seen}");
    assert_eq!(new(&seen)[0]["id"], seven["id"]);
}

/// Behind a proxy a person's requests land on any server, each with its own memory: a room
/// read through one server stops counting on the other (catch-up, about once a second).
#[actix_web::test]
async fn a_room_read_through_one_server_stops_counting_in_the_others_attention() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::database::TestDatabase;
    use super::helpers::{spawn_app_with, test_settings};

    let Some(database) = TestDatabase::fresh().map(Arc::new) else {
        return;
    };
    let key = actix_web::cookie::Key::generate();
    let a = spawn_app_with(test_settings(&database, key.clone()), database.clone()).await;
    let b = spawn_app_with(test_settings(&database, key), database).await;
    let mut alice = a.user("alice").await;
    let kitchen = alice.create_room("Kitchen").await;
    let mut bob_a = a.user("bob").await;
    let garden = bob_a.create_room("Garden").await;
    let bob_b = bob_a.on(&b.address);

    /// Polls through `bob` until the attention's count is `wanted`, within a bound.
    async fn until_count(bob: &Person, garden: i32, wanted: i64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let seen = attention(bob, garden).await;
            if count(&seen) == wanted {
                return;
            }
            assert!(Instant::now() < deadline, "never {wanted}: {seen}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    until_count(&bob_b, garden, 0).await;
    alice.say(kitchen, "@bob, a word").await;
    until_count(&bob_b, garden, 1).await;

    bob_a.enter_and_poll(kitchen).await;
    bob_a.enter(garden).await;
    until_count(&bob_b, garden, 0).await;
    assert_eq!(lobby_mentions(&bob_b, kitchen).await, 0);
}
