//! Many writers and pollers at once: every poller ends with the one canonical sequence.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use serde_json::Value;

use super::helpers::{Person, spawn_app};

const WRITERS: usize = 4;
const MESSAGES_EACH: usize = 25;
const POLLERS: usize = 3;

/// Polls like chat.js: from its own cursor, appending what comes back, until told to stop and
/// a last poll finds nothing new.
async fn poll_until_done(person: Person, room: i32, done: Arc<AtomicBool>) -> Vec<(i64, String)> {
    let mut seen: Vec<(i64, String)> = Vec::new();
    loop {
        let finished = done.load(Ordering::SeqCst);
        let after = seen.last().map_or(0, |(id, _)| *id);
        let batch = person.messages_after(room, after).await;
        for m in &batch {
            seen.push((
                m["id"].as_i64().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            ));
        }
        if finished && batch.is_empty() {
            return seen;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[actix_web::test]
async fn concurrent_writers_and_pollers_all_see_one_sequence_with_nothing_lost() {
    let Some(app) = spawn_app().await else { return };
    let mut owner = app.user("owner").await;
    let room = owner.create_room("Busy").await;

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mut person = app.user(&format!("writer{w}")).await;
        person.enter(room).await;
        writers.push(person);
    }
    let done = Arc::new(AtomicBool::new(false));
    let mut pollers = Vec::new();
    for p in 0..POLLERS {
        let mut person = app.user(&format!("poller{p}")).await;
        person.enter(room).await;
        pollers.push(actix_web::rt::spawn(poll_until_done(
            person,
            room,
            done.clone(),
        )));
    }

    let writer_tasks: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(w, mut person)| {
            actix_web::rt::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0..MESSAGES_EACH {
                    let text = format!("writer {w} message {i}");
                    let res = person.send(room, &text).await;
                    assert_eq!(res.status(), StatusCode::CREATED);
                    let body: Value = res.json().await.unwrap();
                    acknowledged.push((body["message"]["id"].as_i64().unwrap(), text));
                }
                acknowledged
            })
        })
        .collect();
    let mut acknowledged: HashMap<i64, String> = HashMap::new();
    for task in writer_tasks {
        for (id, text) in task.await.unwrap() {
            assert!(
                acknowledged.insert(id, text).is_none(),
                "id {id} given twice"
            );
        }
    }
    done.store(true, Ordering::SeqCst);

    let canonical = poll_until_done(owner, room, Arc::new(AtomicBool::new(true))).await;
    assert_eq!(canonical.len(), WRITERS * MESSAGES_EACH);
    assert!(canonical.windows(2).all(|w| w[0].0 < w[1].0), "ids ascend");
    for (id, text) in &canonical {
        assert_eq!(
            acknowledged.get(id),
            Some(text),
            "message {id} as acknowledged"
        );
    }
    for poller in pollers {
        let seen = poller.await.unwrap();
        assert_eq!(seen, canonical, "a poller saw a different sequence");
    }
}
