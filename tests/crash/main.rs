//! Nothing lost, nothing reordered: a history checker run against the real server binary
//! while it is killed with SIGKILL at random moments and restarted on the same database.
//!
//! CI runs a short configuration. A long run, by hand:
//!
//!     CRASH_SECONDS=120 CRASH_CYCLES=20 cargo test --release --test crash -- --nocapture
//!
//! Settings (environment): CRASH_SECONDS (how long the writers write, default 10),
//! CRASH_CYCLES (at least this many kills, default 3), CRASH_WRITERS (8), CRASH_POLLERS (16),
//! CRASH_ROOMS (3), CRASH_SEED (the random seed; each run prints the one it used, so that a
//! failure's timings can be replayed). Traffic goes only to 127.0.0.1; every loop is bounded.

// A checker that finds None or Err where it expected a value should stop right there.
#![allow(clippy::unwrap_used)]
// Its report is its output.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::Value;

// Shared with tests/api, which also stops the server cleanly; this test only kills it.
mod changes;
mod cluster;
#[allow(dead_code)]
#[path = "../support/database.rs"]
mod database;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../support/nginx.rs"]
mod nginx;
#[allow(dead_code)]
#[path = "../support/programs.rs"]
mod programs;
#[allow(dead_code)]
#[path = "../support/server.rs"]
mod server;
mod two_processes;
#[allow(dead_code)]
#[path = "../support/wait.rs"]
mod wait;

use chatroom::db::DbConnection;
use database::TestDatabase;
pub(crate) use helpers::Person;
use server::Server;

const PASSWORD: &str = "crash test dummy";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

pub(crate) fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The run's seed: CRASH_SEED, or a new one, printed either way.
pub(crate) fn seed() -> u64 {
    let seed = setting("CRASH_SEED", rand::rng().random());
    println!("crash test seed: CRASH_SEED={seed}");
    seed
}

/// A task's own random numbers, from the run's seed and the task's number.
pub(crate) fn rng(seed: u64, task: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ task.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// A person registered through `base` (and so logged in), whose requests give up after
/// REQUEST_TIMEOUT: a killed server must not hold a writer or a poller for long.
pub(crate) async fn register(base: &str, name: &str) -> Person {
    let mut person = Person::with_timeout(base, REQUEST_TIMEOUT);
    let res = person.register(name, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "registering {name}");
    person
}

#[derive(Debug, Clone)]
enum Outcome {
    Acknowledged(i64),
    Refused(u16),
    /// A timeout, a reset connection, or a 5xx: it may or may not have been stored.
    Unknown,
}

#[derive(Debug, Clone)]
pub(crate) struct Post {
    room: i32,
    text: String,
    started: Instant,
    ended: Instant,
    outcome: Outcome,
    /// How many times the post was sent again after a lost answer.
    retries: u32,
    /// What the writer then did to one of its earlier messages, if anything.
    change: Option<changes::Change>,
}

/// What a poller saw: (number, kind, author, text), in the order it was shown.
pub(crate) type Seen = Vec<(i64, String, String, String)>;

pub(crate) async fn writer(
    client: Person,
    room: i32,
    me: usize,
    stop: Arc<AtomicBool>,
    mut rng: StdRng,
) -> Vec<Post> {
    let mut posts = Vec::new();
    let mut mine = Vec::new();
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let text = format!("w{me}-{n}");
        let started = Instant::now();
        // A lost answer is retried with the same client_id: it must not be stored twice.
        let mut outcome = Outcome::Unknown;
        let mut retries = 0;
        for attempt in 0..20 {
            retries = attempt;
            outcome = match client.try_send(room, &text).await {
                Ok(res) if res.status() == StatusCode::CREATED => {
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    match body["message"]["id"].as_i64() {
                        Some(id) => Outcome::Acknowledged(id),
                        None => Outcome::Unknown,
                    }
                }
                Ok(res) if res.status().is_client_error() => {
                    Outcome::Refused(res.status().as_u16())
                }
                _ => Outcome::Unknown,
            };
            if !matches!(outcome, Outcome::Unknown) || stop.load(Ordering::SeqCst) {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        if let Outcome::Acknowledged(id) = outcome {
            mine.push(changes::Mine::new(id, &text));
        }
        let ended = Instant::now();
        let change = changes::maybe_change(&client, room, &mut mine, &mut rng).await;
        posts.push(Post {
            room,
            text,
            started,
            ended,
            outcome,
            retries,
            change,
        });
        let jitter = rng.random_range(0..20);
        actix_web::rt::time::sleep(Duration::from_millis(jitter)).await;
    }
    posts
}

/// Polls as chat.js does: from the last number it has, treating a skipped number as a fault
/// (it keeps what it has and asks again), so what it saw must be the room's log without gaps.
/// Once told to stop, it stops at the first empty answer that comes `settle` or more after:
/// behind a proxy, a server may answer from memory a moment behind another's commit (its
/// catch-up runs every 250 ms), which is no gap but must not end the run early.
pub(crate) async fn poller(
    client: Person,
    room: i32,
    stop: Arc<AtomicBool>,
    settle: Duration,
    mut rng: StdRng,
) -> Seen {
    let mut seen: Seen = Vec::new();
    let mut after = 0;
    let mut stopping_since: Option<Instant> = None;
    loop {
        if stopping_since.is_none() && stop.load(Ordering::SeqCst) {
            stopping_since = Some(Instant::now());
        }
        let finishing = stopping_since.is_some_and(|since| since.elapsed() >= settle);
        let batch = match client.try_poll(room, after).await {
            Ok(res) if res.status() == StatusCode::OK => {
                let body: Value = res.json().await.unwrap_or(Value::Null);
                body["messages"].as_array().cloned()
            }
            _ => None,
        };
        match batch {
            Some(entries) => {
                for e in &entries {
                    let id = e["id"].as_i64().unwrap();
                    if after > 0 && id != after + 1 {
                        break;
                    }
                    let field = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
                    changes::apply_seen(&mut seen, e);
                    seen.push((id, field("kind"), field("author"), field("text")));
                    after = id;
                }
                if finishing && entries.is_empty() {
                    return seen;
                }
            }
            // The server is down or restarting: keep the cursor, try again.
            None => actix_web::rt::time::sleep(Duration::from_millis(100)).await,
        }
        let jitter = rng.random_range(20..120);
        actix_web::rt::time::sleep(Duration::from_millis(jitter)).await;
    }
}

#[derive(QueryableByName, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Integer)]
    room_id: i32,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    author: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Integer>)]
    target: Option<i32>,
}

pub(crate) fn open(db: &TestDatabase) -> DbConnection {
    db.connect()
}

pub(crate) fn stored_log(db: &TestDatabase) -> Vec<Stored> {
    diesel::sql_query(
        "SELECT l.seq AS id, l.room_id, l.kind, u.username AS author, l.body,
             l.target_seq AS target
         FROM log_entries l JOIN users u ON u.id = l.author_id ORDER BY l.room_id, l.seq",
    )
    .load(&mut open(db))
    .unwrap()
}

/// SQLite's own check of its file; PostgreSQL's files are the server's business (a killed
/// client process cannot damage them), so there is nothing to check there.
fn integrity_ok(db: &TestDatabase) -> bool {
    if db.sqlite_path().is_none() {
        return true;
    }
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = Text)]
        integrity_check: String,
    }
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut open(db))
        .unwrap();
    rows.len() == 1 && rows[0].integrity_check == "ok"
}

/// How the posts ended.
pub(crate) struct Counts {
    acked: usize,
    unknown: usize,
    refused: usize,
}

/// What the history checker finds wrong in a run: every acknowledged message stored once with
/// its number, unknown ones at most once, refused ones never; numbers in real-time order
/// within a room; each room numbered 1, 2, 3, ... without holes; and what each poller saw a
/// run of its room's log that reaches its end.
pub(crate) fn check_history(
    posts: &[Post],
    rooms: &[i32],
    seen_by_poller: &[(i32, Seen)],
    stored: &[Stored],
) -> (Vec<String>, Counts) {
    let mut anomalies: Vec<String> = Vec::new();

    // Every acknowledged message once, with its id; unknown at most once; refused never.
    let mut by_text: HashMap<&str, Vec<&Stored>> = HashMap::new();
    for entry in stored.iter().filter(|e| e.kind == "message") {
        // An edited message is found by the text it was sent with.
        let sent = entry
            .body
            .strip_suffix(changes::EDITED)
            .unwrap_or(&entry.body);
        by_text.entry(sent).or_default().push(entry);
    }
    let (mut acked, mut refused, mut unknown) = (0, 0, 0);
    for post in posts {
        let copies = by_text.get(post.text.as_str()).map_or(0, Vec::len);
        match post.outcome {
            Outcome::Acknowledged(id) => {
                acked += 1;
                let found = by_text.get(post.text.as_str());
                let right = found.is_some_and(|c| {
                    c.len() == 1 && i64::from(c[0].id) == id && c[0].room_id == post.room
                });
                if !right {
                    anomalies.push(format!(
                        "acknowledged {} as {id}, stored {found:?}",
                        post.text
                    ));
                }
            }
            Outcome::Unknown => {
                unknown += 1;
                if copies > 1 {
                    anomalies.push(format!("unknown {} stored {copies} times", post.text));
                }
            }
            Outcome::Refused(status) => {
                refused += 1;
                if copies > 0 {
                    anomalies.push(format!("refused ({status}) {} was stored", post.text));
                }
            }
        }
    }

    // Real-time order within a room: acknowledged before another was sent into the same room
    // means a lower number.
    for &room in rooms {
        let in_room = || posts.iter().filter(move |p| p.room == room);
        let mut acks: Vec<(Instant, i64)> = in_room()
            .filter_map(|p| match p.outcome {
                Outcome::Acknowledged(id) => Some((p.ended, id)),
                _ => None,
            })
            .collect();
        acks.sort();
        let mut sends: Vec<(Instant, i64, &str)> = in_room()
            .filter_map(|p| match p.outcome {
                Outcome::Acknowledged(id) => Some((p.started, id, p.text.as_str())),
                _ => None,
            })
            .collect();
        sends.sort();
        let (mut highest_before, mut next) = (0, 0);
        for (sent, id, text) in &sends {
            while next < acks.len() && acks[next].0 < *sent {
                highest_before = highest_before.max(acks[next].1);
                next += 1;
            }
            if *id <= highest_before {
                anomalies.push(format!(
                    "{text} got number {id} in room {room}, below {highest_before} \
                     acknowledged before it was sent"
                ));
            }
        }
    }

    // Each room's log is numbered 1, 2, 3, ... with no holes.
    let mut per_room: HashMap<i32, Vec<(i64, String, String, String)>> = HashMap::new();
    for e in stored {
        per_room.entry(e.room_id).or_default().push((
            i64::from(e.id),
            e.kind.clone(),
            e.author.clone(),
            e.body.clone(),
        ));
    }
    for (room, log) in &per_room {
        if log.iter().zip(1..).any(|(entry, n)| entry.0 != n) {
            anomalies.push(format!("room {room}'s numbers have a hole or a repeat"));
        }
    }
    // Each poller saw a contiguous run of its room's sequence: no gap, repeat or reordering.
    for (room, seen) in seen_by_poller {
        let canonical = &per_room[room];
        let start = seen
            .first()
            .and_then(|first| canonical.iter().position(|c| c.0 == first.0));
        let run_matches = start.is_some_and(|start| {
            canonical.len() >= start + seen.len()
                && canonical[start..start + seen.len()] == seen[..]
        });
        if !run_matches {
            anomalies.push(format!(
                "a poller of room {room} saw {} entries that are not a run of the room's \
                 sequence ({} entries)",
                seen.len(),
                canonical.len()
            ));
        } else if seen.len() + start.unwrap_or(0) != canonical.len() {
            anomalies.push(format!(
                "a poller of room {room} never caught up: {} of {} entries",
                seen.len() + start.unwrap_or(0),
                canonical.len()
            ));
        }
    }
    (
        anomalies,
        Counts {
            acked,
            unknown,
            refused,
        },
    )
}

/// Writers and pollers at work on `rooms` through `base`, each registered and inside its room.
pub(crate) struct Traffic {
    stop: Arc<AtomicBool>,
    pollers_stop: Arc<AtomicBool>,
    writers: Vec<actix_web::rt::task::JoinHandle<Vec<Post>>>,
    pollers: Vec<(i32, actix_web::rt::task::JoinHandle<Seen>)>,
}

impl Traffic {
    /// Starts `writers` writers and `pollers` pollers, spread over the rooms in turn; each
    /// poller stops `settle` after it is told to (see `poller`).
    pub(crate) async fn start(
        base: &str,
        rooms: &[i32],
        writers: usize,
        pollers: usize,
        settle: Duration,
        next_rng: &mut impl FnMut() -> StdRng,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let pollers_stop = Arc::new(AtomicBool::new(false));
        let mut writer_tasks = Vec::new();
        for w in 0..writers {
            let mut client = register(base, &format!("writer{w}")).await;
            let room = rooms[w % rooms.len()];
            client.enter(room).await;
            let rng = next_rng();
            writer_tasks.push(actix_web::rt::spawn(writer(
                client,
                room,
                w,
                stop.clone(),
                rng,
            )));
        }
        let mut poller_tasks = Vec::new();
        for p in 0..pollers {
            let mut client = register(base, &format!("poller{p}")).await;
            let room = rooms[p % rooms.len()];
            client.enter(room).await;
            let task = poller(client, room, pollers_stop.clone(), settle, next_rng());
            poller_tasks.push((room, actix_web::rt::spawn(task)));
        }
        Self {
            stop,
            pollers_stop,
            writers: writer_tasks,
            pollers: poller_tasks,
        }
    }

    /// Writers stop first; pollers only once every post has its answer, so that their last
    /// empty poll comes after the last message. Every post, and what each poller saw.
    pub(crate) async fn finish(self) -> (Vec<Post>, Vec<(i32, Seen)>) {
        self.stop.store(true, Ordering::SeqCst);
        let mut posts = Vec::new();
        for task in self.writers {
            posts.extend(task.await.unwrap());
        }
        self.pollers_stop.store(true, Ordering::SeqCst);
        let mut seen_by_poller = Vec::new();
        for (room, task) in self.pollers {
            seen_by_poller.push((room, task.await.unwrap()));
        }
        (posts, seen_by_poller)
    }
}

#[actix_web::test]
async fn acknowledged_messages_survive_sigkill_and_every_poller_sees_one_sequence() {
    let seconds = setting("CRASH_SECONDS", 10);
    let cycles = setting("CRASH_CYCLES", 3);
    let writers = setting("CRASH_WRITERS", 8) as usize;
    let pollers = setting("CRASH_POLLERS", 16) as usize;
    let room_count = setting("CRASH_ROOMS", 3) as usize;
    let seed = seed();
    let mut tasks = 0..;
    let mut next_rng = || rng(seed, tasks.next().unwrap_or_default());

    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let mut server = Server::start(&db.url);
    server.wait_until_up().await;
    let base = server.url();

    let mut owner = register(&base, "owner").await;
    let mut rooms = Vec::new();
    for r in 0..room_count {
        rooms.push(owner.create_room(&format!("room {r}")).await);
    }
    let traffic = Traffic::start(
        &base,
        &rooms,
        writers,
        pollers,
        Duration::ZERO,
        &mut next_rng,
    )
    .await;

    let started = Instant::now();
    let mut kills = 0;
    let mut killer = next_rng();
    while started.elapsed() < Duration::from_secs(seconds) || kills < cycles {
        let pause = killer.random_range(300..1500);
        actix_web::rt::time::sleep(Duration::from_millis(pause)).await;
        server.kill();
        kills += 1;
        let down = killer.random_range(0..200);
        actix_web::rt::time::sleep(Duration::from_millis(down)).await;
        server.spawn();
        server.wait_until_up().await;
    }
    // Let the last clients catch up with a server that stays up.
    let (posts, seen_by_poller) = traffic.finish().await;
    let stored = stored_log(&db);
    let mut reader = register(&base, "reader").await;
    let shown = changes::check_api_state(&mut reader, &rooms, &stored).await;
    server.kill();

    let (mut anomalies, counts) = check_history(&posts, &rooms, &seen_by_poller, &stored);
    let (changed, changes_acked) = changes::check_changes(&posts, &stored);
    anomalies.extend(changed);
    anomalies.extend(shown);
    let Counts {
        acked,
        unknown,
        refused,
    } = counts;
    let integrity = integrity_ok(&db);
    if !integrity {
        anomalies.push("PRAGMA integrity_check is not ok".into());
    }

    let retried = posts.iter().filter(|p| p.retries > 0).count();
    println!(
        "crash test: {kills} kills, {} starts, {} posts: {acked} acknowledged, {unknown} unknown, \
         {refused} refused ({retried} sent again after a lost answer); {changes_acked} edits \
         and reactions acknowledged; {} entries stored; \
         {} pollers; integrity_check {}; {} anomalies",
        server.starts,
        posts.len(),
        stored.len(),
        seen_by_poller.len(),
        if integrity { "ok" } else { "FAILED" },
        anomalies.len()
    );
    for anomaly in anomalies.iter().take(20) {
        println!("  anomaly: {anomaly}");
    }
    assert!(kills >= cycles);
    assert!(
        acked > 0 && changes_acked > 0,
        "nothing was acknowledged: the test tested nothing"
    );
    assert!(anomalies.is_empty(), "{} anomalies", anomalies.len());
}

/// What each post of a race against a room's deletion got, and when the deletion was asked
/// for and answered.
pub(crate) struct DeleteRace {
    /// (sent, answered, status) per post, in order, per poster.
    pub posts: Vec<Vec<(Instant, Instant, StatusCode)>>,
    pub asked: Instant,
    pub deleted: Instant,
}

/// `posters` (inside `room`) post one after another while `owner` deletes the room, once
/// posts are being stored: no fixed wait, which on a slow machine may end before the first
/// post and on a fast one long after. Each poster stops at its first 410.
pub(crate) async fn race_posts_against_deletion(
    owner: &mut Person,
    posters: Vec<Person>,
    room: i32,
) -> DeleteRace {
    let stored = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = posters
        .into_iter()
        .enumerate()
        .map(|(p, poster)| {
            let stored = stored.clone();
            actix_web::rt::spawn(async move {
                let mut posts = Vec::new();
                // Bounded, though the room goes long before.
                for n in 0..10_000 {
                    let sent = Instant::now();
                    let res = poster.try_send(room, &format!("p{p}-{n}")).await.unwrap();
                    let status = res.status();
                    posts.push((sent, Instant::now(), status));
                    if status == StatusCode::CREATED {
                        stored.fetch_add(1, Ordering::SeqCst);
                    }
                    if status == StatusCode::GONE {
                        break;
                    }
                }
                posts
            })
        })
        .collect();
    wait::wait_until(Duration::from_secs(10), "posts stored", || async {
        stored.load(Ordering::SeqCst) >= 8
    })
    .await;
    let asked = Instant::now();
    let res = owner.post_form(&format!("/rooms/{room}/delete"), &[]).await;
    let deleted = Instant::now();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the owner deletes the room"
    );
    let mut posts = Vec::new();
    for task in tasks {
        posts.push(task.await.unwrap());
    }
    DeleteRace {
        posts,
        asked,
        deleted,
    }
}

impl DeleteRace {
    /// Checks that the race took place and that every post got 201 or 410 as it should: some
    /// were stored before the deletion, one was on its way while it was made, none sent after
    /// it was stored, and every poster learned that the room is gone. How many were stored.
    pub(crate) fn check(&self) -> usize {
        let mut created = 0;
        let mut during = 0;
        for posts in &self.posts {
            for (sent, answered, status) in posts {
                match *status {
                    StatusCode::CREATED => {
                        created += 1;
                        assert!(*sent < self.deleted, "201 for a post sent after the delete");
                    }
                    StatusCode::GONE => {}
                    other => panic!("a post during the delete got {other}"),
                }
                if *sent < self.deleted && *answered > self.asked {
                    during += 1;
                }
            }
            assert_eq!(
                posts.last().map(|p| p.2),
                Some(StatusCode::GONE),
                "every poster learned that the room is gone"
            );
        }
        println!(
            "delete race: {created} posts stored before the delete, {during} on their way \
             while it was made"
        );
        assert!(created > 0, "no post was stored before the delete: no race");
        assert!(
            during > 0,
            "no post was on its way during the delete: no race"
        );
        created
    }
}

#[actix_web::test]
async fn posting_into_a_room_while_it_is_deleted_leaves_nothing_behind() {
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let server = Server::start(&db.url);
    server.wait_until_up().await;
    let base = server.url();
    let mut owner = register(&base, "owner").await;
    let room = owner.create_room("Doomed").await;
    let mut posters = Vec::new();
    for p in 0..4 {
        let mut poster = register(&base, &format!("poster{p}")).await;
        poster.enter(room).await;
        posters.push(poster);
    }

    race_posts_against_deletion(&mut owner, posters, room)
        .await
        .check();

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let orphans: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM log_entries WHERE room_id NOT IN (SELECT id FROM rooms)",
    )
    .get_result(&mut open(&db))
    .unwrap();
    assert_eq!(orphans.n, 0, "no entry belongs to a missing room");
    assert!(integrity_ok(&db));
}

#[actix_web::test]
async fn of_several_people_creating_a_room_with_the_same_name_at_once_exactly_one_wins() {
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let server = Server::start(&db.url);
    server.wait_until_up().await;
    let base = server.url();
    let mut people = Vec::new();
    for p in 0..8 {
        people.push(register(&base, &format!("racer{p}")).await);
    }

    let attempts: Vec<_> = people
        .into_iter()
        .map(|mut client| {
            actix_web::rt::spawn(async move {
                client
                    .post_form("/rooms", &[("name", "Race")])
                    .await
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }

    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    let lost = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((won, lost), (1, 7), "{statuses:?}");
}
