//! Two server processes on one database: posts through both, polls through both, and
//! every poller sees the room's one log, numbered without holes, in the database's order.
//! (Presence may differ between them; several instances sharing it is another step.)

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use reqwest::StatusCode;
use serde_json::Value;

use super::database::TestDatabase;
use super::server::Server;
use super::{Person, open, race_posts_against_deletion, register};

/// Polls from after=0, while the others post, until it holds entry `last` (0 until the
/// posting is done). Returns (number, text) in the order shown.
async fn read_whole_log(client: Person, room: i32, last: Arc<AtomicI64>) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    let mut after = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while last.load(Ordering::SeqCst) == 0 || after < last.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "stuck at {after}");
        let res = client.try_poll(room, after).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        for e in body["messages"].as_array().unwrap() {
            let id = e["id"].as_i64().unwrap();
            assert_eq!(id, after + 1, "a poll skipped from {after} to {id}");
            seen.push((id, e["text"].as_str().unwrap().to_owned()));
            after = id;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    seen
}

#[derive(QueryableByName)]
struct Entry {
    #[diesel(sql_type = Integer)]
    seq: i32,
    #[diesel(sql_type = Text)]
    body: String,
}

#[actix_web::test]
async fn two_processes_on_one_database_give_every_poller_the_same_gap_free_log() {
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let first = Server::start(&db.url);
    first.wait_until_up().await;
    let second = Server::start(&db.url);
    second.wait_until_up().await;
    let (a, b) = (first.url(), second.url());

    let mut owner = register(&a, "owner").await;
    let room = owner.create_room("Shared").await;
    let mut people = Vec::new();
    for (n, base) in [&a, &b, &a, &b].into_iter().enumerate() {
        let mut person = register(base, &format!("person{n}")).await;
        person.enter(room).await;
        people.push(person);
    }

    // Each posts through its own process, all at once, while each polls through it.
    let last = Arc::new(AtomicI64::new(0));
    let pollers: Vec<_> = people
        .iter()
        .cloned()
        .map(|person| actix_web::rt::spawn(read_whole_log(person, room, last.clone())))
        .collect();
    let posters: Vec<_> = people
        .iter()
        .cloned()
        .enumerate()
        .map(|(n, person)| {
            actix_web::rt::spawn(async move {
                for i in 0..30 {
                    let res = person.try_send(room, &format!("p{n}-{i}")).await.unwrap();
                    assert_eq!(res.status(), StatusCode::CREATED);
                }
            })
        })
        .collect();
    for poster in posters {
        poster.await.unwrap();
    }

    let stored: Vec<Entry> =
        diesel::sql_query("SELECT seq, body FROM log_entries WHERE room_id = $1 ORDER BY seq")
            .bind::<Integer, _>(room)
            .load(&mut open(&db))
            .unwrap();
    let canonical: Vec<(i64, String)> = stored
        .into_iter()
        .map(|e| (i64::from(e.seq), e.body))
        .collect();
    assert_eq!(canonical.len(), 1 + 4 + 4 * 30, "joins and messages");
    let head = canonical.last().unwrap().0;
    assert_eq!(
        head,
        canonical.len() as i64,
        "numbered 1, 2, 3, ... without holes"
    );

    last.store(head, Ordering::SeqCst);
    for (n, poller) in pollers.into_iter().enumerate() {
        let seen = poller.await.unwrap();
        assert_eq!(
            seen, canonical,
            "person{n}'s process shows the database's log"
        );
    }
}

/// What a process does with a post depends on what the other has committed, not on what it
/// remembers: posts through one process racing the room's deletion through the other are
/// stored (201) or told the room is gone (410), never a 500, and nothing is left behind.
#[actix_web::test]
async fn posts_through_one_process_racing_the_rooms_deletion_through_the_other_get_201_or_410() {
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let (first, second) = (Server::start(&db.url), Server::start(&db.url));
    first.wait_until_up().await;
    second.wait_until_up().await;
    let mut owner = register(&first.url(), "owner").await;
    let room = owner.create_room("Doomed").await;
    let mut posters = Vec::new();
    for p in 0..4 {
        let mut poster = register(&second.url(), &format!("poster{p}")).await;
        poster.enter(room).await;
        posters.push(poster);
    }
    // The owner deletes through the first process while they post through the second.
    race_posts_against_deletion(&mut owner, posters, room)
        .await
        .check();
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM log_entries WHERE room_id = $1")
        .bind::<Integer, _>(room)
        .get_result(&mut open(&db))
        .unwrap();
    assert_eq!(left.n, 0, "the deleted room's log went with it");
}

/// A retry (same client_id) that reaches the other process while the first try is still being
/// written is the same message: one row, one id, both answers 201 with it.
#[actix_web::test]
async fn one_post_sent_through_both_processes_at_once_is_stored_once() {
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let (first, second) = (Server::start(&db.url), Server::start(&db.url));
    first.wait_until_up().await;
    second.wait_until_up().await;
    let mut alice = register(&first.url(), "alice").await;
    let room = alice.create_room("Kitchen").await;
    let elsewhere = alice.on(&second.url());
    for n in 0..30 {
        let text = format!("message-{n}");
        let (a, b) = futures_util::future::join(
            alice.try_send(room, &text),
            elsewhere.try_send(room, &text),
        )
        .await;
        let (a, b) = (a.unwrap(), b.unwrap());
        let statuses = (a.status(), b.status());
        let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
        assert_eq!(
            statuses,
            (StatusCode::CREATED, StatusCode::CREATED),
            "{a} {b}"
        );
        assert_eq!(a["id"], b["id"], "{a} {b}");
    }
    let stored: Vec<Entry> = diesel::sql_query(
        "SELECT seq, body FROM log_entries WHERE room_id = $1 AND kind = 'message'",
    )
    .bind::<Integer, _>(room)
    .load(&mut open(&db))
    .unwrap();
    assert_eq!(stored.len(), 30, "each message once");
}

/// Three servers started at the same moment on one new, empty database all come up: one
/// applies the migrations while the others wait for it (an advisory lock on PostgreSQL; on
/// SQLite, the database's write lock).
#[actix_web::test]
async fn three_servers_started_at_once_on_an_empty_database_all_come_up() {
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    if db.sqlite_path().is_none() {
        // The PostgreSQL test database comes migrated: empty it.
        use diesel::connection::SimpleConnection;
        open(&db)
            .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            .unwrap();
    }
    let url = db.url.clone();
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Server::start(&url))
        })
        .collect();
    let servers: Vec<Server> = starting.into_iter().map(|s| s.join().unwrap()).collect();
    for server in &servers {
        server.wait_until_up().await;
    }
    let mut alice = register(&servers[0].url(), "alice").await;
    let room = alice.create_room("Kitchen").await;
    let elsewhere = alice.on(&servers[2].url());
    let res = elsewhere
        .try_send(room, "hello-from-the-third")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// A server that stood still (SIGSTOP) while an account was disabled elsewhere does not let
/// the account's session in when it wakes, not even for a request that waited through the
/// pause: its cache vouches for sessions only while it keeps reading the revocations, and
/// it reads them from where it got to, however long ago that was.
#[actix_web::test]
async fn a_server_woken_from_a_pause_does_not_honour_a_session_ended_meanwhile() {
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let (first, second) = (Server::start(&db.url), Server::start(&db.url));
    first.wait_until_up().await;
    second.wait_until_up().await;
    // Not alice: the first account may be the administrator, who cannot be disabled.
    register(&first.url(), "root").await;
    let mut alice = register(&first.url(), "alice").await;
    let room = alice.create_room("Kitchen").await;
    let elsewhere = alice.on(&second.url());
    let poll = elsewhere.try_poll(room, 0).await.unwrap();
    assert_eq!(poll.status(), StatusCode::OK, "the session is cached there");

    second.pause();
    let mut disable = std::process::Command::new(env!("CARGO_BIN_EXE_chatroom"));
    super::database::key_env(&mut disable, &db.url);
    let output = disable
        .args(["users", "disable", "alice", "--database", &db.url])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let poll = format!("{}/api/rooms/{room}/messages?after=0", elsewhere.base);
    let waiting = elsewhere
        .http
        .get(poll)
        .timeout(Duration::from_secs(30))
        .send();
    let waiting = actix_web::rt::spawn(waiting);
    // Longer than the cache vouches for sessions after a look at the revocations.
    actix_web::rt::time::sleep(Duration::from_millis(3500)).await;
    second.resume();
    let status = waiting.await.unwrap().unwrap().status();
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the disabled session was let in"
    );
}
