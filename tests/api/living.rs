//! Messages that live (issue #27): edits, reactions, replies and formatting, each a new entry
//! in the room's log, and a message read at any time showing its current state.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::helpers::{Person, TestApp, error_code, retry_after, spawn_app, spawn_app_tweaked};

const REL: &str = r#"rel="nofollow noopener noreferrer ugc""#;

async fn json_of(res: Response) -> Value {
    res.json().await.expect("a JSON body")
}

/// The message in an answer `{"message": ...}`, after checking the answer's status.
async fn answered(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "the answer's status");
    json_of(res).await["message"].clone()
}

/// An entry's html, without the line end a renderer may leave after the last block.
fn html(entry: &Value) -> &str {
    entry["html"].as_str().expect("html").trim_end()
}

fn seq(entry: &Value) -> i64 {
    entry["id"].as_i64().expect("an entry's id")
}

/// The message numbered `n` among `entries`.
fn message(entries: &[Value], n: i64) -> Value {
    entries
        .iter()
        .find(|e| e["kind"] == "message" && seq(e) == n)
        .unwrap_or_else(|| panic!("message {n} in {entries:?}"))
        .clone()
}

/// The entries of this kind among `entries`.
fn of_kind(entries: &[Value], kind: &str) -> Vec<Value> {
    entries
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

/// The reactions of a message as (emoji, count, by), none when the field is left out.
fn reactions(message: &Value) -> Vec<(String, i64, Vec<String>)> {
    let Some(list) = message.get("reactions") else {
        return Vec::new();
    };
    list.as_array()
        .expect("reactions are an array")
        .iter()
        .map(|r| {
            let by: Vec<String> = r["by"]
                .as_array()
                .expect("who reacted")
                .iter()
                .map(|name| name.as_str().unwrap().to_owned())
                .collect();
            let count = r["count"].as_i64().unwrap();
            assert_eq!(count, by.len() as i64, "the count is who reacted: {r}");
            (r["emoji"].as_str().unwrap().to_owned(), count, by)
        })
        .collect()
}

fn reaction(emoji: &str, by: &[&str]) -> (String, i64, Vec<String>) {
    (
        emoji.to_owned(),
        by.len() as i64,
        by.iter().map(|name| (*name).to_owned()).collect(),
    )
}

/// The room's entries numbered below `before` (`?before=`: older history), as the API gives them.
async fn history(person: &Person, room: i32, before: i64) -> Vec<Value> {
    let res = person
        .get(&format!("/api/rooms/{room}/messages?before={before}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "history before {before}");
    json_of(res).await["messages"].as_array().unwrap().clone()
}

/// Enters through the API, as a client does; gives back the entries the answer carries.
async fn entered(person: &mut Person, room: i32) -> Vec<Value> {
    let res = person
        .post_json(&format!("/api/rooms/{room}/enter"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "entering room {room}");
    json_of(res).await["messages"].as_array().unwrap().clone()
}

/// The room's log read the three ways a client reads it, each named for the assertions: a poll
/// from 0, older history from past the newest entry, and the answer to entering.
async fn three_reads(person: &mut Person, room: i32) -> [(&'static str, Vec<Value>); 3] {
    let from_zero = person.entries_after(room, 0).await;
    let head = seq(from_zero.last().expect("a room's log is never empty"));
    [
        ("a poll from 0", from_zero),
        ("history", history(person, room, head + 1).await),
        ("the enter answer", entered(person, room).await),
    ]
}

/// The room page's element for message `n`: its `<li>` up to its end.
fn page_message(page: &str, n: i64) -> String {
    let start = page
        .match_indices(&format!(r#"data-id="{n}""#))
        .filter_map(|(at, _)| page[..at].rfind('<'))
        .find(|&tag| page[tag..].starts_with("<li"))
        .unwrap_or_else(|| panic!("message {n} on the page"));
    let end = page[start..].find("</li>").expect("its end") + start;
    page[start..end].to_owned()
}

/// The opening `<a ...>` tags of some HTML.
fn anchors(html: &str) -> Vec<&str> {
    html.match_indices("<a ")
        .map(|(at, _)| &html[at..at + html[at..].find('>').expect("a closed tag")])
        .collect()
}

/// alice (the administrator) creates a room that bob enters.
async fn alice_and_bob(app: &TestApp) -> (Person, Person, i32) {
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    (alice, bob, room)
}

// Edits.

#[actix_web::test]
async fn the_author_edits_a_message_and_gets_200_with_the_message_in_its_new_state() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, _bob, room) = alice_and_bob(&app).await;
    let sent = alice.say(room, "helo wrold").await;
    let n = seq(&sent);

    let edited = answered(alice.edit(room, n, "hello *world*").await, StatusCode::OK).await;

    assert_eq!(edited["id"], n, "the message keeps its number");
    assert_eq!(edited["kind"], "message");
    assert_eq!(edited["author"], "alice");
    assert_eq!(edited["text"], "hello *world*", "the raw text as typed");
    assert_eq!(html(&edited), "<p>hello <em>world</em></p>");
    assert_eq!(edited["edited"], true);
    assert_eq!(edited["sent_at"], sent["sent_at"], "sent when it was sent");
    assert!(edited.get("deleted").is_none(), "{edited}");
    assert!(
        sent.get("edited").is_none(),
        "a new message is not edited: {sent}"
    );
}

#[actix_web::test]
async fn an_edit_appends_an_edited_entry_naming_its_target() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "first draft").await);

    alice.edit(room, n, "second **draft**").await;

    let after = bob.entries_after(room, n).await;
    assert_eq!(after.len(), 1, "one entry: {after:?}");
    let entry = &after[0];
    assert_eq!(seq(entry), n + 1, "numbered in the room's sequence");
    assert_eq!(entry["kind"], "edited");
    assert_eq!(entry["target"], n);
    assert_eq!(entry["author"], "alice");
    assert_eq!(entry["text"], "second **draft**");
    assert_eq!(html(entry), "<p>second <strong>draft</strong></p>");
    let sent_at = entry["sent_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(sent_at).is_ok(),
        "{sent_at}"
    );
}

#[actix_web::test]
async fn an_edited_message_carries_its_new_text_in_a_poll_in_history_and_on_entering() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "teh typo").await);
    let untouched = seq(&alice.say(room, "fine as it is").await);
    alice.edit(room, n, "the typo").await;

    for (read, entries) in three_reads(&mut bob, room).await {
        let shown = message(&entries, n);
        assert_eq!(shown["text"], "the typo", "{read}: {shown}");
        assert_eq!(html(&shown), "<p>the typo</p>", "{read}: {shown}");
        assert_eq!(shown["edited"], true, "{read}: {shown}");
        let other = message(&entries, untouched);
        assert!(other.get("edited").is_none(), "{read}: {other}");
    }
}

#[actix_web::test]
async fn the_room_page_shows_an_edited_message_with_its_new_text() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "orignal wording").await);
    alice.edit(room, n, "corrected wording").await;

    let page = bob.enter(room).await;

    let shown = page_message(&page, n);
    assert!(shown.contains("corrected wording"), "{shown}");
    assert!(!page.contains("orignal wording"), "the old text is gone");
}

#[actix_web::test]
async fn the_room_page_marks_an_edited_message_and_shows_no_line_for_an_edit_or_a_reaction() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "orignal wording").await);
    let untouched = seq(&alice.say(room, "never changed").await);
    alice.edit(room, n, "corrected wording").await;
    alice.react(room, untouched, "👍").await;
    alice.unreact(room, untouched, "👍").await;

    let page = bob.enter(room).await;

    let shown = page_message(&page, n);
    assert!(shown.contains("(edited)"), "{shown}");
    assert!(!page_message(&page, untouched).contains("(edited)"));
    let lines: Vec<&str> = page
        .match_indices("<li ")
        .map(|(at, _)| &page[at..at + page[at..].find('>').unwrap()])
        .collect();
    for kind in ["edited", "reacted", "unreacted"] {
        let shown = format!(r#"data-kind="{kind}""#);
        assert!(
            lines.iter().all(|line| !line.contains(&shown)),
            "no line for an {kind} entry: {lines:?}"
        );
    }
}

#[actix_web::test]
async fn nobody_but_the_author_may_edit_not_the_administrator_who_created_the_room_either() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let mut carol = app.user("carol").await;
    carol.enter(room).await;
    let n = seq(&bob.say(room, "bob's words").await);

    for (who, person) in [("carol", &mut carol), ("the administrator", &mut alice)] {
        let res = person.edit(room, n, "words put in bob's mouth").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{who}");
        assert_eq!(error_code(res).await, "not_author", "{who}");
    }

    let log = bob.entries_after(room, 0).await;
    assert!(of_kind(&log, "edited").is_empty(), "{log:?}");
    assert_eq!(message(&log, n)["text"], "bob's words");
    assert!(message(&log, n).get("edited").is_none());
}

#[actix_web::test]
async fn in_a_direct_conversation_each_person_edits_only_their_own_messages() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let room = alice.open_direct("bob").await;
    bob.enter(room).await;
    let bobs = seq(&bob.say(room, "from bob").await);
    let alices = seq(&alice.say(room, "from alice").await);

    let res = alice.edit(room, bobs, "not from bob").await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "the opener is no moderator"
    );
    assert_eq!(error_code(res).await, "not_author");
    let res = bob.edit(room, alices, "not from alice").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_author");

    answered(
        bob.edit(room, bobs, "from bob, edited").await,
        StatusCode::OK,
    )
    .await;
    answered(
        alice.edit(room, alices, "from alice, edited").await,
        StatusCode::OK,
    )
    .await;
    let log = alice.entries_after(room, 0).await;
    assert_eq!(message(&log, bobs)["text"], "from bob, edited");
    assert_eq!(message(&log, alices)["text"], "from alice, edited");
    assert_eq!(of_kind(&log, "edited").len(), 2);
}

#[actix_web::test]
async fn editing_a_deleted_message_is_410_and_one_that_does_not_exist_404() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, _bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "soon gone").await);
    let res = alice.delete_message(room, n).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let res = alice.edit(room, n, "back again").await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(error_code(res).await, "message_deleted");

    let res = alice.edit(room, 999, "nothing there").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(res).await, "not_found");
    let res = alice.edit(room, 1, "a joined entry").await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "entry 1 is alice's joining, no message"
    );
    let res = alice.edit(4242, 1, "no such room").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let log = alice.entries_after(room, 0).await;
    assert!(of_kind(&log, "edited").is_empty(), "{log:?}");
}

#[actix_web::test]
async fn an_edit_follows_the_text_rules_of_posting() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, _bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "keep me").await);

    let res = alice.edit(room, n, " \n\t ").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "bad_request");
    let too_long = "x".repeat(2001);
    let posting = alice.send(room, &too_long).await.status();
    assert!(posting.is_client_error(), "{posting}");
    let res = alice.edit(room, n, &too_long).await;
    assert_eq!(res.status(), posting, "as posting answers");
    let res = alice
        .patch_json(
            &format!("/api/rooms/{room}/messages/{n}"),
            &json!({"txt": "hi"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    answered(alice.edit(room, n, &"é".repeat(2000)).await, StatusCode::OK).await;

    let log = alice.entries_after(room, 0).await;
    assert_eq!(of_kind(&log, "edited").len(), 1, "only the valid one");
    assert_eq!(message(&log, n)["text"], "é".repeat(2000));
}

#[actix_web::test]
async fn a_person_who_is_not_in_the_room_may_not_edit_even_their_own_message() {
    let Some(app) = spawn_app().await else { return };
    let (alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&bob.say(room, "said before leaving").await);
    let res = bob.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut eve = app.user("eve").await;

    let res = bob.edit(room, n, "said after leaving").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_in_room");
    let res = eve.edit(room, n, "from outside").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_in_room");

    let log = alice.entries_after(room, 0).await;
    assert_eq!(message(&log, n)["text"], "said before leaving");
}

#[actix_web::test]
async fn edits_and_reactions_count_against_the_message_rate_limit() {
    // The real limits: 20 messages in 10 s.
    let Some(app) = spawn_app_tweaked(|s| s.limits = Default::default()).await else {
        return;
    };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let n = seq(&alice.say(room, "draft 0").await);
    for i in 1..20 {
        answered(
            alice.edit(room, n, &format!("draft {i}")).await,
            StatusCode::OK,
        )
        .await;
    }

    let res = alice.edit(room, n, "draft 20").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&res);
    assert!((1..=10).contains(&wait), "{wait}");
    assert_eq!(error_code(res).await, "rate_limited");
    let res = alice.react(room, n, "👍").await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a reaction too"
    );
    assert!(res.headers().contains_key("retry-after"));

    let log = alice.entries_after(room, 0).await;
    assert_eq!(message(&log, n)["text"], "draft 19");
    assert_eq!(of_kind(&log, "edited").len(), 19);
    assert!(of_kind(&log, "reacted").is_empty());
}

// Reactions.

#[actix_web::test]
async fn reacting_answers_201_then_200_for_the_same_emoji_and_logs_it_once() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "ship it?").await);

    let first = answered(bob.react(room, n, "👍").await, StatusCode::CREATED).await;
    let again = answered(bob.react(room, n, "👍").await, StatusCode::OK).await;

    assert_eq!(first["id"], n, "the message reacted to");
    assert_eq!(first["text"], "ship it?");
    assert_eq!(reactions(&first), [reaction("👍", &["bob"])]);
    assert_eq!(again, first, "the same message, unchanged");
    let after = alice.entries_after(room, n).await;
    assert_eq!(after.len(), 1, "one entry for one change: {after:?}");
    assert_eq!(after[0]["kind"], "reacted");
    assert_eq!(after[0]["target"], n);
    assert_eq!(after[0]["author"], "bob");
    assert_eq!(after[0]["text"], "👍");
    assert!(after[0].get("html").is_none(), "{}", after[0]);
}

#[actix_web::test]
async fn people_who_react_are_counted_in_the_order_they_reacted() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let mut carol = app.user("carol").await;
    carol.enter(room).await;
    let n = seq(&carol.say(room, "lunch?").await);

    answered(alice.react(room, n, "👍").await, StatusCode::CREATED).await;
    answered(bob.react(room, n, "🎉").await, StatusCode::CREATED).await;
    let last = answered(bob.react(room, n, "👍").await, StatusCode::CREATED).await;

    let expected = [reaction("👍", &["alice", "bob"]), reaction("🎉", &["bob"])];
    assert_eq!(reactions(&last), expected);
    for (read, entries) in three_reads(&mut carol, room).await {
        assert_eq!(reactions(&message(&entries, n)), expected, "{read}");
    }
    let log = carol.entries_after(room, 0).await;
    let reacted: Vec<(Value, Value)> = of_kind(&log, "reacted")
        .iter()
        .map(|e| (e["author"].clone(), e["text"].clone()))
        .collect();
    assert_eq!(
        reacted,
        [
            (json!("alice"), json!("👍")),
            (json!("bob"), json!("🎉")),
            (json!("bob"), json!("👍"))
        ]
    );
}

#[actix_web::test]
async fn taking_a_reaction_back_answers_204_and_logs_it_once() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "vote here").await);
    bob.react(room, n, "👍").await;
    alice.react(room, n, "👍").await;
    let before = seq(alice.entries_after(room, 0).await.last().unwrap());

    let res = bob.unreact(room, n, "👍").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = bob.unreact(room, n, "👍").await;
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "also when there is none"
    );
    let res = bob.unreact(room, n, "🎉").await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "never reacted so");

    let after = alice.entries_after(room, before).await;
    assert_eq!(after.len(), 1, "one entry for the one change: {after:?}");
    assert_eq!(after[0]["kind"], "unreacted");
    assert_eq!(after[0]["target"], n);
    assert_eq!(after[0]["author"], "bob");
    assert_eq!(after[0]["text"], "👍");
    let log = alice.entries_after(room, 0).await;
    assert_eq!(reactions(&message(&log, n)), [reaction("👍", &["alice"])]);

    alice.unreact(room, n, "👍").await;
    let log = bob.entries_after(room, 0).await;
    assert!(
        reactions(&message(&log, n)).is_empty(),
        "no one reacts any more"
    );
}

#[actix_web::test]
async fn any_emoji_or_short_word_is_a_reaction_and_is_taken_back_by_its_percent_encoded_name() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "react to me").await);
    let all = [
        "👍",
        "❤️",
        "👨‍👩‍👧",
        "+1",
        "ship",
        "ship it",
        "%20",
        "é/ü?",
        &"x".repeat(16),
    ];

    for emoji in all {
        answered(bob.react(room, n, emoji).await, StatusCode::CREATED).await;
    }
    let log = alice.entries_after(room, 0).await;
    let shown: Vec<String> = reactions(&message(&log, n))
        .into_iter()
        .map(|(emoji, _, _)| emoji)
        .collect();
    assert_eq!(shown, all, "each as it was sent, in order");

    for emoji in all {
        let res = bob.unreact(room, n, emoji).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{emoji:?}");
    }
    let log = alice.entries_after(room, 0).await;
    assert!(reactions(&message(&log, n)).is_empty(), "{log:?}");
    let taken_back: Vec<Value> = of_kind(&log, "unreacted")
        .iter()
        .map(|e| e["text"].clone())
        .collect();
    assert_eq!(taken_back, all.map(|emoji| json!(emoji)));
}

#[actix_web::test]
async fn a_reaction_of_no_characters_blanks_more_than_16_or_control_characters_is_400() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "react to me").await);
    let seventeen = "x".repeat(17);

    for bad in [
        "",
        "   ",
        "\t\n",
        &seventeen,
        "ok\u{7}",
        "\u{1b}[31m",
        "a\u{0}b",
        "👍\r\n👍",
    ] {
        let res = bob.react(room, n, bad).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(error_code(res).await, "bad_request", "{bad:?}");
    }
    let res = bob
        .post_json(
            &format!("/api/rooms/{room}/messages/{n}/reactions"),
            &json!({"emoji": 5}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let log = alice.entries_after(room, 0).await;
    assert!(of_kind(&log, "reacted").is_empty(), "{log:?}");
    assert!(reactions(&message(&log, n)).is_empty());
}

#[actix_web::test]
async fn only_people_in_the_room_may_react() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, _bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "members only").await);
    alice.react(room, n, "👍").await;
    let mut eve = app.user("eve").await;

    let res = eve.react(room, n, "👎").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_in_room");
    let res = eve.unreact(room, n, "👍").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "not_in_room");

    let log = alice.entries_after(room, 0).await;
    assert_eq!(reactions(&message(&log, n)), [reaction("👍", &["alice"])]);
    assert_eq!(of_kind(&log, "reacted").len(), 1);
}

#[actix_web::test]
async fn reacting_to_a_message_that_does_not_exist_is_404_and_to_a_deleted_one_410() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "soon gone").await);
    alice.delete_message(room, n).await;

    let res = bob.react(room, n, "👍").await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(error_code(res).await, "message_deleted");
    let res = bob.react(room, 999, "👍").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(res).await, "not_found");
    let res = bob.react(4242, 1, "👍").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let log = alice.entries_after(room, 0).await;
    assert!(of_kind(&log, "reacted").is_empty(), "{log:?}");
}

#[actix_web::test]
async fn a_message_holds_at_most_20_different_reactions() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "react to me").await);
    for i in 1..=20 {
        answered(
            alice.react(room, n, &format!("r{i}")).await,
            StatusCode::CREATED,
        )
        .await;
    }

    let res = alice.react(room, n, "r21").await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "a 21st different one"
    );
    let res = bob.react(room, n, "r21").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "by anyone");
    let joined = answered(bob.react(room, n, "r7").await, StatusCode::CREATED).await;
    assert_eq!(
        reactions(&joined).len(),
        20,
        "joining one of the 20 is fine"
    );
    assert_eq!(reactions(&joined)[6], reaction("r7", &["alice", "bob"]));

    let log = alice.entries_after(room, 0).await;
    assert_eq!(of_kind(&log, "reacted").len(), 21);
}

// Replies.

#[actix_web::test]
async fn a_reply_carries_the_id_author_and_first_100_characters_of_the_message_it_answers() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let long: String = (0..150).map(|i| ['é', 'a', '🎉', 'z'][i % 4]).collect();
    let original = seq(&alice.say(room, &long).await);
    let short = seq(&alice.say(room, "short one").await);

    let reply = answered(
        bob.reply(room, original, "agreed").await,
        StatusCode::CREATED,
    )
    .await;
    let to_short = answered(bob.reply(room, short, "me too").await, StatusCode::CREATED).await;

    let excerpt: String = long.chars().take(100).collect();
    assert_eq!(
        reply["reply_to"],
        json!({"id": original, "author": "alice", "excerpt": excerpt})
    );
    assert_eq!(reply["text"], "agreed");
    assert_eq!(reply["author"], "bob");
    assert_eq!(
        to_short["reply_to"],
        json!({"id": short, "author": "alice", "excerpt": "short one"})
    );
    let log = alice.entries_after(room, 0).await;
    assert_eq!(message(&log, seq(&reply)), reply, "the poll agrees");
    assert!(
        message(&log, original).get("reply_to").is_none(),
        "not a reply"
    );
}

#[actix_web::test]
async fn a_reply_to_another_rooms_message_or_to_none_is_400_and_to_a_deleted_one_410() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let mut carol = app.user("carol").await;
    let garden = carol.create_room("Garden").await;
    for i in 0..5 {
        carol.say(garden, &format!("garden {i}")).await;
    }
    let elsewhere = seq(&carol.say(garden, "in the garden").await);
    let gone = seq(&alice.say(room, "soon gone").await);
    alice.delete_message(room, gone).await;
    let head = seq(alice.entries_after(room, 0).await.last().unwrap());
    assert!(elsewhere > head, "no message here has the garden's number");

    for (what, n) in [
        ("another room's message", elsewhere),
        ("a number not given out", 999),
        ("alice's joining, no message", 1),
        ("the deletion entry", head),
        ("zero", 0),
        ("below zero", -1),
    ] {
        let res = bob.reply(room, n, "answering").await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(error_code(res).await, "bad_request", "{what}");
    }
    let res = bob.reply(room, gone, "answering").await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(error_code(res).await, "message_deleted");

    let log = alice.entries_after(room, 0).await;
    assert_eq!(seq(log.last().unwrap()), head, "nothing stored");
}

#[actix_web::test]
async fn a_replys_excerpt_follows_its_original_through_an_edit_and_a_deletion() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let original = seq(&alice.say(room, "meet at 5").await);
    let reply = seq(&answered(bob.reply(room, original, "ok").await, StatusCode::CREATED).await);

    alice.edit(room, original, "meet at 6").await;
    for (read, entries) in three_reads(&mut alice, room).await {
        let shown = message(&entries, reply);
        assert_eq!(
            shown["reply_to"],
            json!({"id": original, "author": "alice", "excerpt": "meet at 6"}),
            "{read}"
        );
    }

    alice.delete_message(room, original).await;
    for (read, entries) in three_reads(&mut alice, room).await {
        let shown = message(&entries, reply);
        assert_eq!(
            shown["reply_to"],
            json!({"id": original, "author": "alice", "excerpt": ""}),
            "{read}"
        );
        assert_eq!(shown["text"], "ok", "{read}: the reply stays");
    }
}

// Formatting.

#[actix_web::test]
async fn markdown_is_rendered_into_html_and_the_raw_text_is_kept() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, bob, room) = alice_and_bob(&app).await;
    let cases: [(&str, &[&str]); 10] = [
        ("**bold**", &["<strong>bold</strong>"]),
        ("_em_ and *em*", &["<em>em</em> and <em>em</em>"]),
        ("~~strike~~", &["strike</"]),
        ("use `x < y`", &["<code>x &lt; y</code>"]),
        (
            "```\nfn main() {}\n```",
            &["<pre>", "<code", "fn main() {}"],
        ),
        ("```rust\nlet a = \"<b>\";\n```", &["<pre>", "&lt;b&gt;"]),
        (
            "> quoted\n\nanswer",
            &["<blockquote>", "quoted", "<p>answer</p>"],
        ),
        ("- one\n- two", &["<ul>", "<li>one</li>", "<li>two</li>"]),
        ("1. first\n2. second", &["<ol>", "<li>first</li>"]),
        ("line one  \nline two", &["line one", "line two"]),
    ];

    for (text, wanted) in cases {
        let sent = alice.say(room, text).await;
        assert_eq!(sent["text"], text, "the raw text as typed");
        let html = sent["html"].as_str().unwrap();
        for part in wanted {
            assert!(
                html.contains(part),
                "{text:?} gave {html:?}, without {part:?}"
            );
        }
    }
    let strike = alice.say(room, "~~gone~~").await;
    let html = strike["html"].as_str().unwrap();
    assert!(
        html.contains("<del>gone</del>") || html.contains("<s>gone</s>"),
        "{html}"
    );

    let log = bob.messages_after(room, 0).await;
    assert!(
        log.iter().all(|m| m["html"].is_string()),
        "every message carries html: {log:?}"
    );
}

#[actix_web::test]
async fn links_go_to_http_https_and_mailto_only_and_open_in_a_new_tab_without_a_referrer() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, _bob, room) = alice_and_bob(&app).await;

    for (text, href) in [
        (
            "[docs](https://example.com/docs)",
            "https://example.com/docs",
        ),
        ("[plain](http://example.com/)", "http://example.com/"),
        (
            "see https://example.com/a?b=1 now",
            "https://example.com/a?b=1",
        ),
        ("<https://example.com/auto>", "https://example.com/auto"),
        (
            "[write](mailto:alice@example.com)",
            "mailto:alice@example.com",
        ),
    ] {
        let html = alice.say(room, text).await["html"]
            .as_str()
            .unwrap()
            .to_owned();
        let links = anchors(&html);
        assert_eq!(links.len(), 1, "{text:?} gave {html}");
        let link = links[0];
        assert!(
            link.contains(&format!(r#"href="{}""#, href.replace('&', "&amp;"))),
            "{text:?} gave {html}"
        );
        assert!(link.contains(REL), "{text:?} gave {html}");
        assert!(link.contains(r#"target="_blank""#), "{text:?} gave {html}");
    }

    for text in [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "[admin](/admin)",
        "[up](../lobby)",
        "[proto](//evil.example/x)",
        "<javascript:alert(1)>",
        "[v](vbscript:msgbox)",
    ] {
        let sent = alice.say(room, text).await;
        let html = sent["html"].as_str().unwrap();
        assert!(!html.contains("href"), "{text:?} is not linked: {html}");
        assert_eq!(sent["text"], text);
    }
}

#[actix_web::test]
async fn raw_html_shows_as_text_and_images_and_headings_are_not_rendered() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, _bob, room) = alice_and_bob(&app).await;

    for (text, shown) in [
        (
            "<script>alert(1)</script>",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        ),
        (
            "<img src=x onerror=alert(1)>",
            "&lt;img src=x onerror=alert(1)&gt;",
        ),
        ("a <b>bold</b> claim", "&lt;b&gt;bold&lt;/b&gt;"),
        ("<div onclick=\"x()\">hi</div>", "&lt;div"),
        ("<!-- hidden -->", "&lt;!-- hidden --&gt;"),
    ] {
        let sent = alice.say(room, text).await;
        let html = sent["html"].as_str().unwrap();
        assert!(html.contains(shown), "{text:?} shows as text: {html}");
        for tag in ["<script", "<img", "<b>", "<div", "<!--"] {
            assert!(!html.contains(tag), "{text:?} gave {html}");
        }
        assert_eq!(sent["text"], text, "the raw text as typed");
    }

    let image = alice.say(room, "![cat](https://example.com/cat.png)").await;
    let html = image["html"].as_str().unwrap();
    assert!(!html.contains("<img"), "{html}");
    for heading in ["# Big", "## Bigger", "Title\n====="] {
        let html = alice.say(room, heading).await["html"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!html.contains("<h"), "{heading:?} gave {html}");
    }
}

// Deletion, and the two answers of the server.

#[actix_web::test]
async fn deleting_a_message_blanks_its_edits_and_drops_its_reactions() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let n = seq(&alice.say(room, "secret one").await);
    alice.edit(room, n, "secret two").await;
    bob.react(room, n, "👀").await;
    let res = alice.delete_message(room, n).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    for (read, entries) in three_reads(&mut bob, room).await {
        let gone = message(&entries, n);
        assert_eq!(gone["deleted"], true, "{read}");
        assert_eq!(gone["text"], "", "{read}");
        assert_eq!(gone["html"], "", "{read}");
        assert!(reactions(&gone).is_empty(), "{read}: {gone}");
        let edits = of_kind(&entries, "edited");
        assert_eq!(edits.len(), 1, "{read}");
        assert_eq!(edits[0]["text"], "", "{read}");
        assert_eq!(edits[0]["html"], "", "{read}");
        let all = serde_json::to_string(&entries).unwrap();
        assert!(!all.contains("secret"), "{read}: {all}");
    }
}

#[actix_web::test]
async fn what_memory_answers_and_what_the_database_answers_after_a_restart_agree() {
    let Some(app) = spawn_app().await else { return };
    let (mut alice, mut bob, room) = alice_and_bob(&app).await;
    let first = seq(&alice.say(room, "first **one**").await);
    let second = seq(&bob.say(room, "second").await);
    let third = seq(&alice.say(room, "third").await);
    alice.edit(room, first, "first, edited").await;
    bob.react(room, first, "👍").await;
    alice.react(room, first, "👍").await;
    bob.react(room, first, "🎉").await;
    bob.unreact(room, first, "🎉").await;
    answered(
        bob.reply(room, first, "to the first").await,
        StatusCode::CREATED,
    )
    .await;
    answered(
        bob.reply(room, third, "to the third").await,
        StatusCode::CREATED,
    )
    .await;
    alice.react(room, third, "👀").await;
    alice.edit(room, third, "third, edited").await;
    bob.edit(room, second, "second, edited").await;
    alice.delete_message(room, third).await;

    let just_after = bob.entries_after(room, 0).await;
    let from_memory = bob.entries_after(room, 0).await;
    assert_eq!(from_memory, just_after);
    let restarted = app.restart().await;
    bob.base = restarted.address.clone();
    let from_the_database = bob.entries_after(room, 0).await;

    assert_eq!(from_the_database, just_after);
    let head = seq(just_after.last().unwrap());
    assert_eq!(history(&bob, room, head + 1).await, just_after);
    let shown = message(&just_after, first);
    assert_eq!(shown["text"], "first, edited");
    assert_eq!(reactions(&shown), [reaction("👍", &["bob", "alice"])]);
}
