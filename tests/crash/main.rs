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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

// Shared with tests/api, which also stops the server cleanly; this test only kills it.
mod cluster;
#[allow(dead_code)]
#[path = "../support/database.rs"]
mod database;
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

use chatroom::db::DbConnection;
use database::TestDatabase;
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

/// A logged-in person with a cookie jar and a CSRF token, surviving restarts.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

fn meta_csrf(html: &str) -> String {
    let start = html.find(r#"<meta name="csrf-token" content=""#).unwrap() + 33;
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_owned()
}

impl Client {
    pub(crate) async fn register(base: &str, name: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap();
        let page = http.get(format!("{base}/register")).send().await.unwrap();
        let csrf = meta_csrf(&page.text().await.unwrap());
        let res = http
            .post(format!("{base}/register"))
            .form(&[
                ("username", name),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "registering {name}");
        let lobby = http.get(format!("{base}/lobby")).send().await.unwrap();
        let csrf = meta_csrf(&lobby.text().await.unwrap());
        Self {
            http,
            base: base.to_owned(),
            csrf,
        }
    }

    pub(crate) async fn create_room(&self, name: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}/rooms", self.base))
            .form(&[("name", name), ("csrf_token", &self.csrf)])
            .send()
            .await
    }

    pub(crate) async fn enter(&self, room: i32) {
        let res = self
            .http
            .post(format!("{}/rooms/{room}/enter", self.base))
            .form(&[("csrf_token", &self.csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }

    pub(crate) async fn post(&self, room: i32, text: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}/api/rooms/{room}/messages", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .json(&json!({ "text": text, "client_id": text }))
            .send()
            .await
    }

    pub(crate) async fn poll(&self, room: i32, after: i64) -> reqwest::Result<reqwest::Response> {
        self.http
            .get(format!(
                "{}/api/rooms/{room}/messages?after={after}",
                self.base
            ))
            .send()
            .await
    }
}

pub(crate) fn room_id(res: &reqwest::Response) -> i32 {
    let location = res.headers().get("location").unwrap().to_str().unwrap();
    location.trim_start_matches("/rooms/").parse().unwrap()
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
}

/// What a poller saw: (number, kind, author, text), in the order it was shown.
pub(crate) type Seen = Vec<(i64, String, String, String)>;

pub(crate) async fn writer(
    client: Client,
    room: i32,
    me: usize,
    stop: Arc<AtomicBool>,
    mut rng: StdRng,
) -> Vec<Post> {
    let mut posts = Vec::new();
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
            outcome = match client.post(room, &text).await {
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
        posts.push(Post {
            room,
            text,
            started,
            ended: Instant::now(),
            outcome,
            retries,
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
    client: Client,
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
        let batch = match client.poll(room, after).await {
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
}

pub(crate) fn open(db: &TestDatabase) -> DbConnection {
    db.connect()
}

pub(crate) fn stored_log(db: &TestDatabase) -> Vec<Stored> {
    diesel::sql_query(
        "SELECT l.seq AS id, l.room_id, l.kind, u.username AS author, l.body
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
        by_text.entry(entry.body.as_str()).or_default().push(entry);
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
            let client = Client::register(base, &format!("writer{w}")).await;
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
            let client = Client::register(base, &format!("poller{p}")).await;
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

    let owner = Client::register(&base, "owner").await;
    let mut rooms = Vec::new();
    for r in 0..room_count {
        rooms.push(room_id(
            &owner.create_room(&format!("room {r}")).await.unwrap(),
        ));
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
    server.kill();

    let stored = stored_log(&db);
    let (mut anomalies, counts) = check_history(&posts, &rooms, &seen_by_poller, &stored);
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
         {refused} refused ({retried} sent again after a lost answer); {} entries stored; \
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
        acked > 0,
        "nothing was acknowledged: the test tested nothing"
    );
    assert!(anomalies.is_empty(), "{} anomalies", anomalies.len());
}

#[actix_web::test]
async fn posting_into_a_room_while_it_is_deleted_leaves_nothing_behind() {
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let server = Server::start(&db.url);
    server.wait_until_up().await;
    let base = server.url();
    let owner = Client::register(&base, "owner").await;
    let room = room_id(&owner.create_room("Doomed").await.unwrap());
    let deleted_at: Arc<Mutex<Option<Instant>>> = Arc::default();

    let mut posters = Vec::new();
    for p in 0..4 {
        let client = Client::register(&base, &format!("poster{p}")).await;
        client.enter(room).await;
        let deleted_at = deleted_at.clone();
        posters.push(actix_web::rt::spawn(async move {
            let mut results = Vec::new();
            for n in 0..500 {
                let started = Instant::now();
                let status = client
                    .post(room, &format!("p{p}-{n}"))
                    .await
                    .unwrap()
                    .status();
                results.push((started, status));
                if status == StatusCode::GONE {
                    break;
                }
            }
            (results, deleted_at)
        }));
    }
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    let res = owner
        .http
        .post(format!("{base}/rooms/{room}/delete"))
        .form(&[("csrf_token", owner.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    *deleted_at.lock().unwrap() = Some(Instant::now());

    let (mut created, mut gone) = (0, 0);
    for poster in posters {
        let (results, deleted_at) = poster.await.unwrap();
        let deleted_at = deleted_at.lock().unwrap().unwrap();
        for (started, status) in results {
            match status {
                StatusCode::CREATED => {
                    created += 1;
                    assert!(started < deleted_at, "201 for a post sent after the delete");
                }
                StatusCode::GONE => gone += 1,
                other => panic!("a post during the delete got {other}"),
            }
        }
    }
    println!("delete race: {created} posts stored before the delete, {gone} got 410");
    assert!(gone >= 4, "every poster learned that the room is gone");

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
        people.push(Client::register(&base, &format!("racer{p}")).await);
    }

    let attempts: Vec<_> = people
        .into_iter()
        .map(|client| actix_web::rt::spawn(async move { client.create_room("Race").await }))
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap().unwrap().status());
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
