//! What synchronous=FULL costs against NORMAL: concurrent posts through the real model code
//! (one immediate transaction each), on one fresh database per mode, measured in one run.
//!
//!     cargo bench --bench sync
//!
//! Settings (environment): SYNC_BENCH_SECONDS (per mode, default 5), SYNC_BENCH_THREADS (8).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use chatroom::domain::{MessageText, RoomName, Username};
use chatroom::models::{Changes, LogEntry, NewPost, Room, User};
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};

use chatroom::db::DbConnection;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn connect(path: &Path, synchronous: &str) -> DbConnection {
    let mut conn = SqliteConnection::establish(path.to_str().expect("utf-8 path")).expect("open");
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;"
    ))
    .expect("pragmas");
    DbConnection::Sqlite(conn)
}

/// Posts per second with `threads` posters for `seconds`.
fn measure(synchronous: &str, threads: u64, seconds: u64) -> f64 {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("bench.db");
    chatroom::models::initialize(path.to_str().expect("a UTF-8 path")).expect("a database");
    let mut setup = connect(&path, synchronous);
    let mut posters = Vec::new();
    for t in 0..threads {
        let name = Username::parse(&format!("poster{t}")).expect("a username");
        let user = User::create(&mut setup, &name, "$2b$04$not-a-real-hash").expect("a user");
        let room = Room::create(
            &mut setup,
            &RoomName::parse(&format!("room {t}")).expect("a name"),
            user.id,
            &mut Changes::default(),
        )
        .expect("a room");
        posters.push((user.id, room.id));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = posters
        .into_iter()
        .map(|(user, room)| {
            let (stop, posted, path) = (stop.clone(), posted.clone(), path.clone());
            let synchronous = synchronous.to_owned();
            thread::spawn(move || {
                let mut conn = connect(&path, &synchronous);
                let text = MessageText::parse("a message of ordinary length").expect("text");
                let post = NewPost::new(room, user, text, None);
                while !stop.load(Ordering::Relaxed) {
                    LogEntry::post(&mut conn, &post, &mut Changes::default()).expect("a post");
                    posted.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for handle in handles {
        handle.join().expect("a poster thread");
    }
    posted.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[allow(clippy::print_stdout)]
fn main() {
    let seconds = setting("SYNC_BENCH_SECONDS", 5);
    let threads = setting("SYNC_BENCH_THREADS", 8);
    let normal = measure("NORMAL", threads, seconds);
    let full = measure("FULL", threads, seconds);
    println!("| synchronous | posts/s ({threads} posters, {seconds} s each) |");
    println!("|---|---|");
    println!("| NORMAL | {normal:.0} |");
    println!(
        "| FULL | {full:.0} ({:.0}% of NORMAL) |",
        100.0 * full / normal
    );
}
