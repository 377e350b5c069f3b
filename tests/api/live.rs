//! Presence, typing, join/leave entries, unread counts, coming back, older history, direct
//! conversations and deleting messages.

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use reqwest::StatusCode;
use serde_json::Value;

use super::database::TestDatabase;
use super::helpers::{
    PASSWORD, Person, error_code, location, page_cursor, spawn_app, spawn_app_tweaked,
};
use super::server::Server;

async fn poll_body(person: &Person, room: i32, query: &str) -> Value {
    let res = person
        .get(&format!("/api/rooms/{room}/messages?{query}"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn names(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

/// Who `person`'s poll says is present, once it says `expected` (an arrival shows in a
/// room's presence list within a moment, not at once).
async fn present_soon(person: &Person, room: i32, expected: &[&str]) -> Vec<String> {
    let last = std::cell::RefCell::new(Vec::new());
    // Not there in time: the caller's comparison shows what was instead.
    super::wait::eventually(std::time::Duration::from_secs(2), || async {
        let body = poll_body(person, room, "after=0").await;
        let present: Vec<String> = names(&body["present"])
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        *last.borrow_mut() = present;
        *last.borrow() == expected
    })
    .await;
    last.into_inner()
}

async fn lobby_rooms(person: &Person) -> Vec<Value> {
    let res = person.get("/api/lobby").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["rooms"].as_array().unwrap().clone()
}

fn room_in(rooms: &[Value], id: i32) -> &Value {
    rooms
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("room {id} is not listed in {rooms:?}"))
}

#[actix_web::test]
async fn the_poll_answer_says_who_is_present_and_who_is_typing() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;

    poll_body(&bob, room, "after=0&typing=1").await;
    assert_eq!(
        present_soon(&alice, room, &["alice", "bob"]).await,
        ["alice", "bob"]
    );
    let seen_by_alice = poll_body(&alice, room, "after=0").await;
    assert_eq!(names(&seen_by_alice["typing"]), ["bob"]);

    bob.say(room, "done typing").await;
    let after_send = poll_body(&alice, room, "after=0").await;
    assert!(
        names(&after_send["typing"]).is_empty(),
        "the message arrived"
    );
}

#[actix_web::test]
async fn a_poll_that_sends_back_its_people_tag_gets_the_lists_only_when_they_change() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let first = poll_body(&alice, room, "after=0").await;
    assert_eq!(names(&first["present"]), ["alice"]);
    let tag = first["people_tag"].as_str().unwrap().to_owned();
    assert_eq!(tag.len(), 16, "{first}");

    // The same lists: the answer leaves them out, and says the same tag.
    let same = poll_body(&alice, room, &format!("after=0&people_tag={tag}")).await;
    assert!(
        same.get("present").is_none() && same.get("typing").is_none(),
        "{same}"
    );
    assert_eq!(same["people_tag"], tag.as_str());
    assert!(
        same["messages"].is_array() && same["attention"].is_object(),
        "{same}"
    );

    // A tag that is not the lists' own (an old one, or nonsense) gets them in full.
    for other in ["0000000000000000", "nonsense", ""] {
        let full = poll_body(&alice, room, &format!("after=0&people_tag={other}")).await;
        assert_eq!(names(&full["present"]), ["alice"], "{other:?}");
        assert_eq!(full["people_tag"], tag.as_str());
    }

    // Bob arrives: Alice's old tag brings the new lists, and a new tag.
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    poll_body(&bob, room, "after=0&typing=1").await;
    present_soon(&alice, room, &["alice", "bob"]).await;
    let changed = poll_body(&alice, room, &format!("after=0&people_tag={tag}")).await;
    assert_eq!(names(&changed["present"]), ["alice", "bob"]);
    assert_eq!(names(&changed["typing"]), ["bob"]);
    assert_ne!(changed["people_tag"], tag.as_str());
}

#[actix_web::test]
async fn leaving_or_logging_out_ends_presence_at_once() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    poll_body(&bob, room, "after=0").await;

    bob.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    assert_eq!(
        names(&poll_body(&alice, room, "after=0").await["present"]),
        ["alice"]
    );

    bob.enter(room).await;
    poll_body(&bob, room, "after=0").await;
    assert_eq!(
        present_soon(&alice, room, &["alice", "bob"]).await,
        ["alice", "bob"]
    );
    bob.post_form("/logout", &[]).await;
    assert_eq!(
        names(&poll_body(&alice, room, "after=0").await["present"]),
        ["alice"]
    );
}

#[actix_web::test]
async fn joins_and_leaves_are_entries_in_the_rooms_one_ordered_log() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let other = alice.create_room("Garden").await;
    alice.enter(room).await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    bob.enter(room).await; // reloading the page is not joining again
    bob.say(room, "hi").await;
    bob.post_form(&format!("/rooms/{room}/leave"), &[]).await;

    let log = alice.entries_after(room, 0).await;
    let summary: Vec<(String, String)> = log
        .iter()
        .map(|e| {
            let kind = e["kind"].as_str().unwrap().to_owned();
            (kind, e["author"].as_str().unwrap().to_owned())
        })
        .collect();
    let expected = [
        ("joined", "alice"),
        ("left", "alice"),
        ("joined", "alice"),
        ("joined", "bob"),
        ("message", "bob"),
        ("left", "bob"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, a)| ((*k).to_owned(), (*a).to_owned()))
        .collect();
    assert_eq!(summary, expected);
    assert!(
        log.windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );
    assert!(
        log.iter()
            .filter(|e| e["kind"] != "message")
            .all(|e| e["text"] == "")
    );
    let res = alice.poll(other, "0").await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "she left the garden for the kitchen"
    );
}

#[actix_web::test]
async fn the_room_page_shows_joins_and_leaves_as_muted_lines() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    let page = alice.enter(room).await;
    assert!(page.contains(r#"data-kind="joined""#));
    assert!(page.contains(r#"<span class="author">bob</span> joined"#));
}

#[actix_web::test]
async fn the_lobby_api_lists_each_room_with_present_and_unread_counts() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    // Bob looked in once, before the messages: they are news to him.
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    bob.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    for text in ["one", "two", "three"] {
        alice.say(room, text).await;
    }
    poll_body(&alice, room, "after=0").await;

    let rooms = lobby_rooms(&bob).await;
    let kitchen = room_in(&rooms, room);
    assert_eq!(kitchen["name"], "Kitchen");
    assert_eq!(kitchen["creator"], "alice");
    assert_eq!(kitchen["present"], 1);
    assert_eq!(kitchen["unread"], 3);
    assert_eq!(
        room_in(&lobby_rooms(&alice).await, room)["unread"],
        0,
        "her own"
    );

    bob.enter(room).await;
    assert_eq!(
        room_in(&lobby_rooms(&bob).await, room)["unread"],
        3,
        "entering shows the room; it is read once the page's poller says it has it all"
    );
    bob.enter_and_poll(room).await;
    assert_eq!(
        room_in(&lobby_rooms(&bob).await, room)["unread"],
        0,
        "bob has read it"
    );
    bob.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    alice.say(room, "four").await;
    let id = alice.say(room, "five").await["id"].as_i64().unwrap();
    alice
        .http
        .delete(alice.url(&format!("/api/rooms/{room}/messages/{id}")))
        .header("X-CSRF-Token", alice.csrf().await)
        .send()
        .await
        .unwrap();
    assert_eq!(
        room_in(&lobby_rooms(&bob).await, room)["unread"],
        1,
        "a deleted message is not unread"
    );
}

/// A real server on a fresh database, where alice says two things in her Kitchen and bob's
/// page, there, shows both: his read mark waits in memory. `None` without a database.
async fn bob_has_read_two() -> Option<(TestDatabase, Server, i32, Person, Person, Vec<Value>)> {
    let database = TestDatabase::fresh()?;
    let server = Server::start(&database.url);
    server.wait_until_up().await;
    let mut alice = Person::new(&server.url());
    alice.register("alice", PASSWORD).await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = Person::new(&server.url());
    bob.register("bob", PASSWORD).await;
    bob.enter(room).await;
    alice.say(room, "one").await;
    alice.say(room, "two").await;
    let shown = bob.messages_after(room, 0).await;
    Some((database, server, room, alice, bob, shown))
}

/// Read marks wait in memory before they are written (`live::ReadMarks`): stopping the server
/// writes them, so a restart does not show what was read as unread.
#[actix_web::test]
async fn what_was_read_stays_read_across_a_clean_restart() {
    let Some((_database, mut server, room, alice, bob, shown)) = bob_has_read_two().await else {
        return;
    };
    assert_eq!(shown.len(), 2, "bob reads both");
    // Closes their connections, so that the server has nothing left to wait for.
    drop((alice, bob));

    server.stop();
    server.spawn();
    server.wait_until_up().await;
    let mut bob = Person::new(&server.url());
    bob.login("bob", PASSWORD).await;
    assert_eq!(room_in(&lobby_rooms(&bob).await, room)["unread"], 0);
}

/// A read mark waits in memory, up to a minute while its reader reads on
/// (`live::READ_MARK_MOST_WAIT`), and a crash loses it; but a page still open marks what it
/// shows at its first poll of the restarted server, so what was read is not shown unread.
#[actix_web::test]
async fn an_open_page_marks_what_it_shows_at_its_first_poll_after_a_crash() {
    let Some((_database, mut server, room, _alice, bob, shown)) = bob_has_read_two().await else {
        return;
    };
    assert_eq!(shown.len(), 2, "bob's page shows both");
    let cursor = shown[1]["id"].as_i64().unwrap();

    server.kill();
    server.spawn();
    server.wait_until_up().await;
    assert_eq!(
        room_in(&lobby_rooms(&bob).await, room)["unread"],
        2,
        "the crash lost the mark that waited in memory"
    );
    let res = bob.poll(room, &cursor.to_string()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        room_in(&lobby_rooms(&bob).await, room)["unread"],
        0,
        "the page's first poll marked what it shows"
    );
}

#[actix_web::test]
async fn the_room_page_marks_the_first_unread_message() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.say(room, "old news").await;
    let mut bob = app.user("bob").await;
    bob.enter_and_poll(room).await;
    bob.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    let first_new = alice.say(room, "fresh").await["id"].as_i64().unwrap();
    alice.say(room, "fresher").await;

    let page = bob.enter_and_poll(room).await;

    let divider = page
        .find(r#"id="new-divider""#)
        .expect("a new-messages line");
    let fresh = page.find(&format!(r#"data-id="{first_new}""#)).unwrap();
    assert!(page.find("old news").unwrap() < divider && divider < fresh);
    let again = bob.enter(room).await;
    assert!(!again.contains("new-divider"), "read now");
}

#[actix_web::test]
async fn after_login_the_user_returns_to_the_room_they_were_in() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.post_form("/logout", &[]).await;

    let mut again = app.person();
    let res = again.login("alice", PASSWORD).await;
    assert_eq!(location(&res), format!("/rooms/{room}"));

    again.post_form(&format!("/rooms/{room}/delete"), &[]).await;
    again.post_form("/logout", &[]).await;
    let res = app.person().login("alice", PASSWORD).await;
    assert_eq!(location(&res), "/lobby", "the room is gone");
}

#[actix_web::test]
async fn older_history_comes_in_pages_before_a_cursor() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Archive").await;
    let mut ids = Vec::new();
    for i in 0..150 {
        ids.push(
            alice.say(room, &format!("m{i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let before = ids[120];

    let body = poll_body(&alice, room, &format!("before={before}")).await;

    let page = body["messages"].as_array().unwrap();
    assert_eq!(page.len(), 100);
    let got: Vec<i64> = page.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(got.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert_eq!(*got.last().unwrap(), ids[119]);
    let res = alice
        .get(&format!("/api/rooms/{room}/messages?before=x"))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let mut eve = app.user("eve").await;
    let res = eve
        .get(&format!("/api/rooms/{room}/messages?before={before}"))
        .await;
    assert_eq!(error_code(res).await, "not_in_room");
    let _ = eve.csrf().await;
}

#[actix_web::test]
async fn a_direct_conversation_is_visible_only_to_its_two_people() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let mut carol = app.user("carol").await;

    let res = alice.post_form("/direct", &[("username", "Bob")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let path = location(&res);
    let room: i32 = path.strip_prefix("/rooms/").unwrap().parse().unwrap();
    alice.enter(room).await;
    alice.say(room, "just between us").await;

    let listed = room_in(&lobby_rooms(&bob).await, room).clone();
    assert_eq!(listed["direct"], true);
    assert_eq!(listed["name"], "alice", "named after the other person");
    assert_eq!(room_in(&lobby_rooms(&alice).await, room)["name"], "bob");
    assert!(lobby_rooms(&carol).await.iter().all(|r| r["id"] != room));

    let (status, _) = carol.page(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(carol.poll(room, "0").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        carol.send(room, "let me in").await.status(),
        StatusCode::NOT_FOUND
    );

    let res = bob.post_form("/direct", &[("username", "alice")]).await;
    assert_eq!(
        location(&res),
        path,
        "the same conversation from either side"
    );
    bob.enter(room).await;
    let seen = bob.messages_after(room, 0).await;
    assert_eq!(seen[0]["text"], "just between us");

    let res = alice.post_form("/direct", &[("username", "nobody")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = alice.post_form("/direct", &[("username", "alice")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "not with oneself");
}

#[actix_web::test]
async fn an_author_deletes_their_message_in_place_and_others_learn_it_from_the_log() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    let oops = bob.say(room, "oops").await["id"].as_i64().unwrap();
    let kept = alice.say(room, "kept").await["id"].as_i64().unwrap();
    let cursor = alice.entries_after(room, 0).await.last().unwrap()["id"]
        .as_i64()
        .unwrap();
    let delete = |person: &Person, id: i64| {
        let token = person.csrf.clone().unwrap();
        person
            .http
            .delete(person.url(&format!("/api/rooms/{room}/messages/{id}")))
            .header("X-CSRF-Token", token)
            .send()
    };

    let res = delete(&bob, kept).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "not his message, not his room"
    );
    assert_eq!(error_code(res).await, "not_author");
    assert_eq!(
        delete(&bob, oops).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&bob, oops).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let news = alice.entries_after(room, cursor).await;
    assert_eq!(news.len(), 1);
    assert_eq!(news[0]["kind"], "deleted");
    assert_eq!(news[0]["target"], oops);
    let all = alice.entries_after(room, 0).await;
    let original = all.iter().find(|e| e["id"] == oops).unwrap();
    assert_eq!(original["deleted"], true);
    assert_eq!(original["text"], "", "the text is gone for good");
    let page = alice.enter(room).await;
    assert!(page.contains("message deleted") && !page.contains(">oops<"));

    assert_eq!(
        delete(&alice, kept).await.unwrap().status(),
        StatusCode::NO_CONTENT,
        "the creator may delete any message in her room"
    );
}

#[actix_web::test]
async fn polling_writes_nothing_to_the_database() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.say(room, "hello").await;
    let mut conn = app.db();
    // Every row written to any table, by any connection, counts.
    let postgres = matches!(conn, chatroom::db::DbConnection::Postgres(_));
    let mut triggers =
        String::from("CREATE TABLE writes (n BIGINT NOT NULL); INSERT INTO writes VALUES (0);");
    if postgres {
        triggers.push_str(
            "CREATE FUNCTION count_write() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN UPDATE writes SET n = n + 1; RETURN NULL; END $$;",
        );
    }
    for table in [
        "users",
        "sessions",
        "rooms",
        "deleted_rooms",
        "log_entries",
        "room_members",
        "room_reads",
    ] {
        for op in ["INSERT", "UPDATE", "DELETE"] {
            triggers.push_str(&if postgres {
                format!(
                    "CREATE TRIGGER count_{table}_{op} AFTER {op} ON {table}
                     FOR EACH ROW EXECUTE FUNCTION count_write();"
                )
            } else {
                format!(
                    "CREATE TRIGGER count_{table}_{op} AFTER {op} ON {table}
                 BEGIN UPDATE writes SET n = n + 1; END;"
                )
            });
        }
    }
    conn.batch_execute(&triggers).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Writes {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let writes = |conn: &mut chatroom::db::DbConnection| {
        diesel::sql_query("SELECT n FROM writes")
            .get_result::<Writes>(conn)
            .unwrap()
            .n
    };

    for after in [0, 1, 2, 2, 2] {
        poll_body(&alice, room, &format!("after={after}&typing=1")).await;
    }
    for _ in 0..15 {
        poll_body(&alice, room, "after=2").await;
    }
    assert_eq!(writes(&mut conn), 0, "polls wrote to the database");

    alice.say(room, "a post is a write").await;
    assert!(writes(&mut conn) > 0, "the count sees writes");
}

#[actix_web::test]
async fn the_room_page_offers_older_messages_only_when_there_may_be_some() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Quiet").await;
    alice.say(room, "just one").await;
    assert!(!alice.enter(room).await.contains("load-older"));
    for i in 0..200 {
        alice.say(room, &format!("m{i}")).await;
    }
    assert!(alice.enter(room).await.contains(r#"id="load-older""#));
}

#[actix_web::test]
async fn someone_who_arrives_is_in_the_presence_list_of_their_own_first_poll() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    poll_body(&alice, room, "after=0").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;

    let first = poll_body(&bob, room, "after=0").await;
    assert_eq!(names(&first["present"]), ["alice", "bob"]);
}

#[actix_web::test]
async fn a_poll_marked_cross_site_is_refused_and_records_no_presence_or_typing() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;

    let res = bob
        .http
        .get(bob.url(&format!("/api/rooms/{room}/messages?after=0&typing=1")))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "cross_site");

    let seen = poll_body(&alice, room, "after=0").await;
    assert_eq!(names(&seen["present"]), ["alice"], "bob is not present");
    assert!(names(&seen["typing"]).is_empty(), "nor typing");
    let same_site = bob
        .http
        .get(bob.url(&format!("/api/rooms/{room}/messages?after=0")))
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), StatusCode::OK);
}

/// Memory keeps the latest entries of only so many rooms: a room whose tail was evicted is
/// answered from the database, which fills it again, and no poll misses or repeats anything.
#[actix_web::test]
async fn with_memory_for_one_room_polls_of_three_busy_rooms_still_see_every_entry_once() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.room_tails = 1;
    })
    .await
    else {
        return;
    };
    let mut rooms = Vec::new();
    for (name, room) in [("alice", "Kitchen"), ("bob", "Garden"), ("carol", "Porch")] {
        let mut person = app.user(name).await;
        let id = person.create_room(room).await;
        let cursor = page_cursor(&person.enter(id).await);
        rooms.push((person, id, cursor));
    }
    for round in 0..3 {
        for (person, room, cursor) in &mut rooms {
            let text = format!("round {round} in {room}");
            person.say(*room, &text).await;
            let entries = person.entries_after(*room, *cursor).await;
            let texts: Vec<&str> = entries.iter().filter_map(|e| e["text"].as_str()).collect();
            assert_eq!(texts, [text.as_str()], "after {cursor}");
            *cursor = entries.last().unwrap()["id"].as_i64().unwrap();
            assert_eq!(
                poll_body(person, *room, &format!("after={cursor}")).await["messages"],
                serde_json::json!([]),
                "nothing new, nothing repeated"
            );
        }
    }
}
