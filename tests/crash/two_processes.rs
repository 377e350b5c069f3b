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
use super::{Client, open, room_id};

/// Polls from after=0, while the others post, until it holds entry `last` (0 until the
/// posting is done). Returns (number, text) in the order shown.
async fn read_whole_log(client: Client, room: i32, last: Arc<AtomicI64>) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    let mut after = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while last.load(Ordering::SeqCst) == 0 || after < last.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "stuck at {after}");
        let res = client.poll(room, after).await.unwrap();
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

    let owner = Client::register(&a, "owner").await;
    let room = room_id(&owner.create_room("Shared").await.unwrap());
    let mut people = Vec::new();
    for (n, base) in [&a, &b, &a, &b].into_iter().enumerate() {
        let person = Client::register(base, &format!("person{n}")).await;
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
                    let res = person.post(room, &format!("p{n}-{i}")).await.unwrap();
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
