//! Search (GET /api/search) and the history around a message (`?around=N`): who finds what,
//! how terms match, paging, and what hostile or oversized queries get. The same bodies run on
//! SQLite and on PostgreSQL (tests/api_postgres.rs), which must agree.

use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::helpers::{Person, TestApp, error_code, retry_after, spawn_app, spawn_app_tweaked};

/// The texts of an answer's results, in its order.
fn texts(answer: &Value) -> Vec<String> {
    results(answer)
        .iter()
        .map(|r| r["message"]["text"].as_str().expect("a text").to_owned())
        .collect()
}

fn results(answer: &Value) -> &Vec<Value> {
    answer["results"].as_array().expect("a results array")
}

/// The texts `person` finds with `q`, newest first.
async fn found(person: &Person, q: &str) -> Vec<String> {
    texts(&person.search(q).await)
}

/// The texts `person` finds with `q` in one room.
async fn found_in(person: &Person, q: &str, room: i32) -> Vec<String> {
    let res = person
        .search_with(&[("q", q), ("room", &room.to_string())])
        .await;
    assert_eq!(res.status(), StatusCode::OK, "searching {q:?} in {room}");
    texts(&res.json().await.unwrap())
}

/// A refusal's status and error code (the body must be a JSON error with a message).
async fn refusal(res: Response) -> (StatusCode, String) {
    let status = res.status();
    (status, error_code(res).await)
}

async fn refused(person: &Person, params: &[(&str, &str)]) -> (StatusCode, String) {
    refusal(person.search_with(params).await).await
}

/// alice (who made the room "Kitchen" and is in it), and carol, who has never been inside.
async fn kitchen() -> Option<(TestApp, Person, i32, Person)> {
    let app = spawn_app().await?;
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let carol = app.user("carol").await;
    Some((app, alice, room, carol))
}

#[actix_web::test]
async fn searching_needs_a_login() {
    let Some((app, mut alice, room, _)) = kitchen().await else {
        return;
    };
    alice.say(room, "a secret recipe").await;
    let stranger = app.person();
    let (status, _) = refused(&stranger, &[("q", "recipe")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn results_come_newest_first_with_their_room_and_the_message_as_polls_give_it() {
    let Some((app, mut alice, kitchen, carol)) = kitchen().await else {
        return;
    };
    let garden = alice.create_room("Garden").await;
    let mut bob = app.user("bob").await;
    alice.enter(kitchen).await;
    let first = alice.say(kitchen, "soup one").await;
    alice.enter(garden).await;
    alice.say(garden, "soup two").await;
    alice.enter(kitchen).await;
    let reply = alice
        .reply(
            kitchen,
            first["id"].as_i64().unwrap(),
            "soup three is **hot**",
        )
        .await;
    assert_eq!(reply.status(), StatusCode::CREATED);
    alice.say(kitchen, "no match here").await;
    bob.enter(kitchen).await;
    bob.react(kitchen, first["id"].as_i64().unwrap(), "👍")
        .await;

    let answer = carol.search("soup").await;
    assert_eq!(
        texts(&answer),
        ["soup three is **hot**", "soup two", "soup one"],
        "newest first"
    );
    let rooms: Vec<&Value> = results(&answer).iter().map(|r| &r["room"]).collect();
    let room = |id: i32, name: &str| serde_json::json!({"id": id, "name": name, "direct": false});
    assert_eq!(*rooms[0], room(kitchen, "Kitchen"));
    assert_eq!(*rooms[1], room(garden, "Garden"));
    assert_eq!(*rooms[2], room(kitchen, "Kitchen"));

    // The message is the entry the room's poll gives: its number, author, text, html, time,
    // its reply and its reactions.
    for result in results(&answer) {
        let message = &result["message"];
        let room = i32::try_from(result["room"]["id"].as_i64().unwrap()).unwrap();
        alice.enter(room).await;
        let room_log = alice.messages_after(room, 0).await;
        let same = room_log
            .iter()
            .find(|m| m["id"] == message["id"])
            .expect("a message of that room");
        assert_eq!(message, same, "the whole entry");
        assert_eq!(message["kind"], "message");
        assert_eq!(message["author"], "alice");
        assert!(message["sent_at"].is_string() && message["html"].is_string());
    }
    let hot = &results(&answer)[0]["message"];
    assert!(
        hot["html"]
            .as_str()
            .unwrap()
            .contains("<strong>hot</strong>"),
        "{hot}"
    );
    assert_eq!(hot["reply_to"]["id"], first["id"]);
    assert_eq!(
        results(&answer)[2]["message"]["reactions"][0]["emoji"],
        "👍"
    );
}

/// Sixty messages "needle 0" to "needle 59" in one room, the last fifty also saying "alpha".
async fn sixty_needles() -> Option<(TestApp, Person)> {
    let (app, mut alice, room, carol) = kitchen().await?;
    for i in 0..60 {
        let text = if i >= 10 {
            format!("needle {i} alpha")
        } else {
            format!("needle {i}")
        };
        alice.say(room, &text).await;
    }
    Some((app, carol))
}

#[actix_web::test]
async fn results_come_fifty_a_page_and_next_leads_to_the_rest_until_the_last_page() {
    let Some((_app, carol)) = sixty_needles().await else {
        return;
    };
    let first = carol.search("needle").await;
    let first_page = texts(&first);
    assert_eq!(first_page.len(), 50);
    assert_eq!(first_page[0], "needle 59 alpha");
    assert_eq!(first_page[49], "needle 10 alpha");
    let next = first["next"].as_str().expect("a next cursor, a string");

    let res = carol
        .search_with(&[("q", "needle"), ("before", next)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    let expected: Vec<String> = (0..10).rev().map(|i| format!("needle {i}")).collect();
    assert_eq!(texts(&second), expected, "the rest, newest first");
    assert!(
        second["next"].is_null(),
        "no next on the last page: {second}"
    );
}

#[actix_web::test]
async fn exactly_fifty_results_are_one_page_without_a_next() {
    let Some((_app, carol)) = sixty_needles().await else {
        return;
    };
    let answer = carol.search("needle alpha").await;
    assert_eq!(results(&answer).len(), 50);
    assert!(answer["next"].is_null(), "nothing more: {}", answer["next"]);
}

#[actix_web::test]
async fn room_narrows_a_search_to_that_room() {
    let Some((_app, mut alice, kitchen, carol)) = kitchen().await else {
        return;
    };
    alice.say(kitchen, "the kettle is on").await;
    let garden = alice.create_room("Garden").await;
    alice.say(garden, "the kettle is outside").await;
    alice.enter(kitchen).await;
    alice.say(kitchen, "another kettle").await;

    assert_eq!(
        found_in(&carol, "kettle", kitchen).await,
        ["another kettle", "the kettle is on"]
    );
    assert_eq!(
        found_in(&carol, "kettle", garden).await,
        ["the kettle is outside"]
    );
    assert_eq!(found(&carol, "kettle").await.len(), 3);
}

#[actix_web::test]
async fn from_narrows_a_search_to_one_author_whatever_the_case_of_the_name() {
    let Some((app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    alice.say(room, "lunch at noon").await;
    bob.say(room, "lunch at one").await;
    alice.say(room, "dinner at eight").await;

    assert_eq!(found(&carol, "from:ALICE lunch").await, ["lunch at noon"]);
    assert_eq!(found(&carol, "lunch from:Bob").await, ["lunch at one"]);
    assert!(found(&carol, "from:nobody lunch").await.is_empty());
}

#[actix_web::test]
async fn public_rooms_are_searched_by_anyone_even_someone_never_inside() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    alice.say(room, "open to everyone").await;
    assert_eq!(found(&carol, "everyone").await, ["open to everyone"]);
    assert_eq!(
        found_in(&carol, "everyone", room).await,
        ["open to everyone"]
    );
}

#[actix_web::test]
async fn a_direct_conversation_is_found_by_its_two_people_under_the_other_ones_name() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let direct = alice.open_direct("bob").await;
    alice.say(direct, "our little secret").await;
    bob.enter(direct).await;
    bob.say(direct, "secret kept").await;

    let alices = alice.search("secret").await;
    assert_eq!(texts(&alices), ["secret kept", "our little secret"]);
    for result in results(&alices) {
        assert_eq!(
            result["room"],
            serde_json::json!({"id": direct, "name": "bob", "direct": true})
        );
    }
    let bobs = bob.search("secret").await;
    assert_eq!(texts(&bobs), ["secret kept", "our little secret"]);
    assert_eq!(results(&bobs)[0]["room"]["name"], "alice");
    assert_eq!(results(&bobs)[0]["room"]["direct"], true);
    assert_eq!(
        found_in(&bob, "secret", direct).await,
        ["secret kept", "our little secret"]
    );
}

#[actix_web::test]
async fn a_hidden_direct_conversation_is_still_its_two_peoples_to_search() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let direct = alice.open_direct("bob").await;
    alice.say(direct, "the door code is 4711").await;
    bob.enter(direct).await;
    let res = bob.delete(&format!("/api/rooms/{direct}")).await;
    assert!(res.status().is_success(), "hidden: {}", res.status());

    assert_eq!(found(&bob, "door code").await, ["the door code is 4711"]);
    assert_eq!(
        found_in(&bob, "door code", direct).await,
        ["the door code is 4711"]
    );
    assert_eq!(found(&alice, "door code").await, ["the door code is 4711"]);
}

#[actix_web::test]
async fn somebody_elses_direct_conversation_is_never_found_not_even_by_naming_it() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    app.user("bob").await;
    let carol = app.user("carol").await;
    let direct = alice.open_direct("bob").await;
    alice.say(direct, "between alice and bob").await;
    let public = alice.create_room("Kitchen").await;
    alice.say(public, "between everyone").await;

    assert_eq!(found(&carol, "between").await, ["between everyone"]);
    assert!(found(&carol, "from:alice between and bob").await.is_empty());
    let (status, code) = refused(&carol, &[("q", "between"), ("room", &direct.to_string())]).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, code) = refused(&carol, &[("q", "between"), ("room", "999999")]).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "not_found"),
        "the same answer as a room that does not exist"
    );
}

#[actix_web::test]
async fn a_deleted_rooms_messages_are_not_found_and_naming_it_says_it_is_gone() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    alice.say(room, "soon forgotten").await;
    let res = alice.post_form(&format!("/rooms/{room}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    assert!(found(&carol, "forgotten").await.is_empty());
    assert!(found(&alice, "forgotten").await.is_empty());
    let (status, _) = refused(&carol, &[("q", "forgotten"), ("room", &room.to_string())]).await;
    assert_eq!(status, StatusCode::GONE);
}

#[actix_web::test]
async fn deleted_messages_are_never_found() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    let gone = alice.say(room, "regrettable words").await;
    alice.say(room, "kind words").await;
    let res = alice
        .delete_message(room, gone["id"].as_i64().unwrap())
        .await;
    assert!(res.status().is_success(), "{}", res.status());

    assert_eq!(found(&carol, "words").await, ["kind words"]);
    assert!(found(&carol, "regrettable").await.is_empty());
    assert!(found(&alice, "regrettable").await.is_empty());
    assert!(found_in(&alice, "regrettable", room).await.is_empty());
}

#[actix_web::test]
async fn an_edited_message_is_found_by_its_new_text_only_and_once() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    let n = alice.say(room, "see you at the statoin").await["id"]
        .as_i64()
        .unwrap();
    let res = alice.edit(room, n, "see you at the station").await;
    assert!(res.status().is_success(), "{}", res.status());

    assert!(
        found(&carol, "statoin").await.is_empty(),
        "not the old text"
    );
    let answer = carol.search("station").await;
    assert_eq!(texts(&answer), ["see you at the station"], "one result");
    let message = &results(&answer)[0]["message"];
    assert_eq!(message["id"], n, "the message itself, not the edit's entry");
    assert_eq!(message["kind"], "message");
    assert_eq!(message["edited"], true);

    // And edited again: only the latest text counts.
    alice.edit(room, n, "see you at the bus stop").await;
    assert!(found(&carol, "station").await.is_empty());
    assert_eq!(found(&carol, "bus stop").await, ["see you at the bus stop"]);
}

#[actix_web::test]
async fn only_messages_are_found_not_reactions_or_room_names() {
    let Some((app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    let message = alice.say(room, "a plain message").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    let res = bob
        .react(room, message["id"].as_i64().unwrap(), "pineapple")
        .await;
    assert!(res.status().is_success(), "{}", res.status());

    assert!(found(&carol, "pineapple").await.is_empty());
    assert!(found(&carol, "Kitchen").await.is_empty());
    assert!(found(&carol, "bob").await.is_empty(), "joins are not found");
}

#[actix_web::test]
async fn case_and_accents_are_ignored_both_ways() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    alice.say(room, "Café crème at nine").await;
    alice.say(room, "plain cafe noir").await;
    alice.say(room, "a NAÏVE Ångström").await;

    let both = ["plain cafe noir", "Café crème at nine"];
    for q in ["cafe", "café", "CAFE", "CAFÉ", "Cafe"] {
        assert_eq!(found(&carol, q).await, both, "{q}");
    }
    assert_eq!(found(&carol, "creme").await, ["Café crème at nine"]);
    assert_eq!(found(&carol, "naive angstrom").await, ["a NAÏVE Ångström"]);
    assert_eq!(found(&carol, "ÅNGSTRÖM").await, ["a NAÏVE Ångström"]);
}

#[actix_web::test]
async fn a_term_matches_inside_words() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    alice.say(room, "Hello world").await;
    alice.say(room, "Goodbye").await;
    assert_eq!(found(&carol, "ello").await, ["Hello world"]);
    assert_eq!(found(&carol, "orl").await, ["Hello world"]);
    assert_eq!(found(&carol, "dby").await, ["Goodbye"]);
    assert_eq!(found(&carol, "llo wor").await, ["Hello world"], "two terms");
}

#[actix_web::test]
async fn every_term_must_occur() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    alice.say(room, "apple and banana").await;
    alice.say(room, "apple alone").await;
    alice.say(room, "banana alone").await;
    alice.say(room, "banana then apple").await;

    assert_eq!(
        found(&carol, "apple banana").await,
        ["banana then apple", "apple and banana"]
    );
    assert_eq!(
        found(&carol, "banana apple").await,
        ["banana then apple", "apple and banana"],
        "in any order"
    );
    assert_eq!(found(&carol, "apple alone").await, ["apple alone"]);
    assert!(found(&carol, "apple cherry").await.is_empty());
}

#[actix_web::test]
async fn a_short_term_beside_a_longer_one_narrows_the_search() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    alice.say(room, "pi apple tart").await;
    alice.say(room, "apple tart").await;
    alice.say(room, "an Éa apple").await;

    assert_eq!(found(&carol, "PI apple").await, ["pi apple tart"]);
    assert_eq!(found(&carol, "tart pi").await, ["pi apple tart"]);
    assert_eq!(
        found(&carol, "apple ea").await,
        ["an Éa apple"],
        "short terms are folded too"
    );
    assert!(found(&carol, "apple zq").await.is_empty());
    assert_eq!(found(&carol, "apple").await.len(), 3);
}

#[actix_web::test]
async fn a_query_without_a_term_of_three_characters_is_refused_as_too_short() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    alice.say(room, "a b ab").await;
    for q in [
        "",
        "   ",
        "a",
        "ab",
        "a b",
        "ab cd ef",
        "from:alice",
        "from:alice ab",
    ] {
        assert_eq!(
            refused(&carol, &[("q", q)]).await,
            (StatusCode::BAD_REQUEST, "query_too_short".to_owned()),
            "{q:?}"
        );
    }
    let (status, _) = refused(&carol, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no q at all");
}

#[actix_web::test]
async fn a_query_over_five_hundred_characters_or_thirty_two_terms_is_refused_as_too_long() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    let words: Vec<String> = (0..33).map(|i| format!("w{i:02}")).collect();
    alice.say(room, &words[..32].join(" ")).await;

    let long = "x".repeat(501);
    let too_many = words.join(" ");
    for q in [long.as_str(), too_many.as_str()] {
        assert_eq!(
            refused(&carol, &[("q", q)]).await,
            (StatusCode::BAD_REQUEST, "query_too_long".to_owned()),
            "{} characters",
            q.chars().count()
        );
    }
    // At the bounds: thirty-two terms, all of them in the message; five hundred characters
    // (two bytes each).
    assert_eq!(found(&carol, &words[..32].join(" ")).await.len(), 1);
    assert!(found(&carol, &"é".repeat(500)).await.is_empty());
}

/// What users (or attackers) may type into a search box: the syntax of FTS5, of LIKE, of
/// SQL and of tsquery, broken Unicode and controls.
const HOSTILE: &[&str] = &[
    "\"",
    "\"\"",
    "\"unclosed phrase",
    "\"quoted words\"",
    "*",
    "hel*",
    "***",
    "-x",
    "-xyz",
    "abc -def",
    "NOT abc",
    "AND",
    "OR",
    "abc AND def",
    "abc OR def",
    "abc NOT",
    "NEAR(",
    "NEAR(abc def)",
    "NEAR(abc def, 2)",
    "^abc",
    "abc:def",
    "text:abc",
    "col:",
    "%",
    "%%%",
    "_",
    "___",
    "%_%abc",
    "\\",
    "\\\\\\",
    "abc\\",
    "\\%abc",
    "'",
    "'; DROP TABLE messages; --",
    "' OR 1=1 --",
    "(abc)",
    "((((",
    "{abc}",
    "[abc]",
    "abc + def",
    "abc~ def!",
    "!@#$%^&*()",
    "abc & def | ghi",
    "abc <-> def",
    "日本語",
    "🎉🎉🎉",
    "e\u{301}te",
    "\u{200b}abc",
    "\u{0}abc",
    "abc\u{0}def",
    "\u{202e}abc",
    "\u{fffd}abc",
    "İstanbul",
    "ﬃ ligature",
    "ßßß",
    "\u{10ffff}abc",
    "\r\n\tabc",
    "from:",
    "from:\" abc",
    "from:% abc",
    "from:_ abc",
    "from:' OR 1=1 -- abc",
    "from:alice from:bob abc",
    "from:from:abc",
];

/// A hostile query's answer: 200 with results, or 400 with a JSON error; never 500.
async fn assert_answered(res: Response, what: &str) {
    assert_answered_or(res, what, StatusCode::BAD_REQUEST).await;
}

/// The same, where `refusal` (404 for a room that cannot exist) may stand for 400.
async fn assert_answered_or(res: Response, what: &str, refusal: StatusCode) {
    let status = res.status();
    assert!(
        status == StatusCode::OK || status == StatusCode::BAD_REQUEST || status == refusal,
        "{what}: {status}"
    );
    let body: Value = res.json().await.expect("a JSON body");
    if status == StatusCode::OK {
        assert!(body["results"].is_array(), "{what}: {body}");
    } else {
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{what}: {body}"
        );
    }
}

#[actix_web::test]
async fn hostile_input_is_answered_with_200_or_a_clear_400_never_a_500() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    alice
        .say(room, "abc def ghi \\ % _ ' \" * ( ) : ^ 日本語")
        .await;
    for q in HOSTILE {
        assert_answered(carol.search_with(&[("q", q)]).await, &format!("{q:?}")).await;
    }
    for long in [
        "%".repeat(500),
        "_".repeat(400),
        "\\".repeat(300),
        "\"".repeat(499),
    ] {
        let res = carol.search_with(&[("q", &long)]).await;
        assert_answered(res, &format!("{long:.10}...")).await;
    }
    // Raw query strings: bytes that are not UTF-8, broken escapes, repeats, arrays.
    for raw in [
        "q=%FF%FEabc",
        "q=%",
        "q=%zzabc",
        "q=abc&q=def",
        "q[]=abc",
        "q=abc&before=99999999999999999999999",
        "q=abc&before=0",
    ] {
        let res = carol.get(&format!("/api/search?{raw}")).await;
        assert_answered(res, raw).await;
    }
    // A room number no room can have: no such room, or not a room number.
    for raw in [
        "q=abc&room=99999999999999999999999",
        "q=abc&room=0",
        "q=abc&room=-5",
    ] {
        let res = carol.get(&format!("/api/search?{raw}")).await;
        assert_answered_or(res, raw, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(
        found(&carol, "ghi").await.len(),
        1,
        "and the server still answers"
    );
}

#[actix_web::test]
async fn percent_underscore_and_backslash_match_themselves_only() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    for text in [
        "100% sure",
        "1000 sure",
        "a_b",
        "axb",
        "x%%%y",
        "C:\\temp",
        "C:/temp",
    ] {
        alice.say(room, text).await;
    }
    assert_eq!(found(&carol, "100%").await, ["100% sure"]);
    assert_eq!(found(&carol, "00% sure").await, ["100% sure"]);
    assert_eq!(found(&carol, "a_b").await, ["a_b"]);
    assert_eq!(found(&carol, "%%%").await, ["x%%%y"]);
    assert!(found(&carol, "___").await.is_empty());
    assert!(found(&carol, "x%y").await.is_empty());
    assert_eq!(found(&carol, "\\te").await, ["C:\\temp"]);
    assert_eq!(found(&carol, ":\\t").await, ["C:\\temp"]);
}

#[actix_web::test]
async fn search_syntax_in_a_query_is_plain_text() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    for text in [
        "bread and butter",
        "bread or butter",
        "key:value",
        "x-abc",
        "abc",
        "abc* star",
        "abcdef",
        "she said \"hi there",
        "hi there",
        "see NEAR(me)",
    ] {
        alice.say(room, text).await;
    }
    assert_eq!(found(&carol, "AND").await, ["bread and butter"]);
    assert_eq!(found(&carol, "key:value").await, ["key:value"]);
    assert_eq!(found(&carol, "-abc").await, ["x-abc"]);
    assert_eq!(found(&carol, "abc*").await, ["abc* star"]);
    assert_eq!(found(&carol, "\"hi").await, ["she said \"hi there"]);
    assert_eq!(found(&carol, "NEAR(").await, ["see NEAR(me)"]);
    assert_eq!(found(&carol, "bread OR").await, ["bread or butter"]);
}

#[actix_web::test]
async fn twenty_three_letter_terms_are_answered_quickly() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    let terms = [
        "the", "and", "ing", "ion", "ent", "her", "for", "tha", "nth", "int", "ere", "tio", "ter",
        "est", "ers", "ati", "hat", "ate", "all", "eth",
    ];
    for i in 0..100 {
        let text = format!("{} {i}", terms[i % 20..].join(" "));
        alice.say(room, &text).await;
    }
    let started = Instant::now();
    let answer = carol.search(&terms.join(" ")).await;
    let took = started.elapsed();
    assert_eq!(texts(&answer).len(), 5, "the messages with all twenty");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[actix_web::test]
async fn a_malformed_before_or_room_is_a_bad_request() {
    let Some((_app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    alice.say(room, "something to find").await;
    for (name, value) in [
        ("before", "x"),
        ("before", ""),
        ("before", "-1"),
        ("before", "1.5"),
        ("before", "12abc"),
        ("room", "x"),
        ("room", ""),
        ("room", "1.5"),
        ("room", "Kitchen"),
    ] {
        assert_eq!(
            refused(&carol, &[("q", "something"), (name, value)]).await,
            (StatusCode::BAD_REQUEST, "bad_request".to_owned()),
            "{name}={value:?}"
        );
    }
}

#[actix_web::test]
async fn the_thirty_first_search_in_a_minute_is_refused_with_retry_after() {
    let Some(app) = spawn_app_tweaked(|s| s.limits.searches = 30).await else {
        return;
    };
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    for i in 0..30 {
        let res = carol.search_with(&[("q", "anything")]).await;
        assert_eq!(res.status(), StatusCode::OK, "search {}", i + 1);
    }
    let res = carol.search_with(&[("q", "anything")]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&res);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(error_code(res).await, "rate_limited");
    let res = dave.search_with(&[("q", "anything")]).await;
    assert_eq!(res.status(), StatusCode::OK, "per user");
}

/// GET /api/rooms/{id}/messages with this query, as JSON (and its status).
async fn history(person: &Person, room: i32, query: &str) -> (StatusCode, Value) {
    let res = person
        .get(&format!("/api/rooms/{room}/messages?{query}"))
        .await;
    let status = res.status();
    (status, res.json().await.expect("a JSON body"))
}

fn ids(body: &Value) -> Vec<i64> {
    body["messages"]
        .as_array()
        .expect("a messages array")
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

#[actix_web::test]
async fn the_history_around_a_message_is_fifty_entries_either_side_oldest_first() {
    let Some((_app, mut alice, room, _)) = kitchen().await else {
        return;
    };
    let mut last = 0;
    for i in 0..150 {
        last = alice.say(room, &format!("m{i}")).await["id"]
            .as_i64()
            .unwrap();
    }
    let n = last - 75;
    let (status, body) = history(&alice, room, &format!("around={n}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), ((n - 50)..=(n + 50)).collect::<Vec<_>>());
    let entry = &body["messages"][50];
    assert_eq!(entry["id"], n);
    let polled = alice.entries_after(room, n - 1).await;
    assert_eq!(*entry, polled[0], "the entry as polls give it");

    let (_, body) = history(&alice, room, "around=3").await;
    assert_eq!(ids(&body), (1..=53).collect::<Vec<_>>(), "near the start");
    let (_, body) = history(&alice, room, &format!("around={last}")).await;
    assert_eq!(
        ids(&body),
        ((last - 50)..=last).collect::<Vec<_>>(),
        "at the end"
    );
}

#[actix_web::test]
async fn the_history_around_a_message_is_for_those_inside_the_room_only() {
    let Some((app, mut alice, room, carol)) = kitchen().await else {
        return;
    };
    let n = alice.say(room, "look here").await["id"].as_i64().unwrap();
    let (status, body) = history(&alice, room, "around=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (outside, refusal) = history(&carol, room, &format!("around={n}")).await;
    let (before_status, before_refusal) = history(&carol, room, &format!("before={n}")).await;
    assert!(outside.is_client_error(), "{outside}");
    assert_eq!(
        (outside, &refusal["error"]),
        (before_status, &before_refusal["error"]),
        "the same refusal as before= gives"
    );

    let mut bob = app.user("bob").await;
    let direct = alice.open_direct("bob").await;
    let secret = alice.say(direct, "just us").await["id"].as_i64().unwrap();
    let (status, _) = history(&carol, direct, &format!("around={secret}")).await;
    assert!(status.is_client_error(), "{status}");
    bob.enter(direct).await;
    let (status, body) = history(&bob, direct, &format!("around={secret}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ids(&body).contains(&secret));
}
