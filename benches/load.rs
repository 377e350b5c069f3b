//! The load benchmark: many people polling once a second while some post, against the release
//! server pinned to one core, with this generator on the other.
//!
//!     cargo bench --bench load
//!
//! It runs once on SQLite, then again on PostgreSQL (a database it makes, and drops after, on
//! the server LOAD_DATABASE names: a URL of any database there, as a role that may create
//! databases; default the tests' server: CHATROOM_TEST_POSTGRES, or
//! postgres://postgres:postgres@localhost:5432/postgres?sslmode=disable; without a server
//! there, SQLite alone). It prints a Markdown table per database and writes them, with a chart
//! of poll latency against simulated users per database, to target/load/ (report.md,
//! latency-sqlite.svg, latency-postgresql.svg). Settings (environment): LOAD_USERS (20000),
//! LOAD_ROOMS (100), LOAD_STEPS (users per step, "2500,5000,10000,20000"), LOAD_STEP_SECONDS
//! (15), LOAD_POST_RATE (messages/s, 100), LOAD_CONNECTIONS (512), LOAD_SATURATION_ROUNDS
//! (rounds of the saturation phase, 10: each endpoint gets one second per round),
//! LOAD_BURST_RATE (messages/s tried in the posting burst, 3000), LOAD_BURST_SECONDS (5),
//! LOAD_LOGIN_BURST (login attempts at once while 5,000 people poll, 30), LOAD_LOBBY_MESSAGES
//! (messages written in bulk for the lobby step, 1000000), LOAD_TRACE (set: print, to stderr,
//! how many polls were slower than 15 ms in each second of each step, each burst's post
//! slower than that, each moment the generator itself ran late, and when each step began, to
//! match with the logs), LOAD_SERVER_LOG (the servers' RUST_LOG; "warn,chatroom::startup=info").
//!
//! LOAD_PHASES picks what runs, a list of: `files` (uploads and fetches of a 1 MiB image: see
//! load/files.rs), `load` (the steps of simulated users, the control,
//! the login burst, the saturation rounds, the posting burst; on every configuration),
//! `lobby` (the lobby and the administrators' list against the log's size, after `load` on
//! the same databases) and `search`; default all four (LOAD_LOBBY_ONLY=1 is
//! LOAD_PHASES=lobby). `LOAD_PHASES=search cargo bench --bench load` runs the search step
//! alone: on a fresh database of each kind it writes LOAD_SEARCH_MESSAGES (1000000) messages
//! over LOAD_SEARCH_ROOMS (1000) public rooms in SQL (indexed as they go in, but for one in
//! 20 that `chatroom initdb` then indexes, timed), times LOAD_SEARCH_TIMES (200) searches each of a rare word, a common word and a
//! 3-character substring, then posting bursts (LOAD_SEARCH_BURST_RATE messages/s, 3000, for
//! LOAD_SEARCH_BURST_SECONDS, 3, by LOAD_SEARCH_PEOPLE people, 64) with the search index and
//! without it, and the database's size each way; its table goes into the report's "Search".
//!
//! Under `cargo test` (no --bench flag) it runs a tiny configuration, to keep it working, and
//! says only, in one line, whether it did.
//! Traffic goes only to 127.0.0.1; every phase is bounded in time and stops by itself.

// A benchmark that meets None or Err where it expected a value should stop right there.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Its report is its output.
#![allow(clippy::print_stdout)]

#[path = "load/files.rs"]
mod files;
#[path = "../tests/support/listening.rs"]
mod listening;
#[allow(dead_code)]
#[path = "../tests/support/nginx.rs"]
mod nginx;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_session::storage::SessionKey;
use actix_web::cookie::{Cookie, CookieJar, Key};
use chatroom::auth::session_store::row_id;
use chatroom::db;
use chatroom::db::DbConnection;
use chatroom::domain::{MessageText, RoomName, Username};
use chatroom::models::session::SessionRow;
use chatroom::models::{Changes, LogEntry, NewPost, Room, User};
use diesel::connection::SimpleConnection;
use listening::port_from_log;
use nginx::Nginx;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

/// A full run (`cargo bench`) reports as it goes; the tiny run under `cargo test` keeps quiet
/// (its numbers mean nothing) but for its closing line.
static LOUD: AtomicBool = AtomicBool::new(true);

/// `println!`, in a full run only.
macro_rules! say {
    ($($arg:tt)*) => {
        if LOUD.load(Ordering::Relaxed) {
            println!($($arg)*);
        }
    };
}

const SECRET: &str = "load benchmark secret, long enough to derive a key";

#[derive(Clone)]
struct Config {
    users: usize,
    rooms: usize,
    steps: Vec<usize>,
    step: Duration,
    post_rate: u32,
    connections: usize,
    saturation_rounds: u64,
    login_burst: usize,
    burst: Duration,
    burst_rate: u32,
    /// Messages stored in bulk before timing the lobby and the admin list of rooms again.
    lobby_messages: u64,
    /// Which parts run (LOAD_PHASES).
    phases: Phases,
    /// The search step: messages generated, over how many rooms, searches of each kind,
    /// and the posting bursts with and without the index (messages/s offered, seconds each).
    search_messages: u64,
    search_rooms: usize,
    search_people: usize,
    search_times: usize,
    search_burst_rate: u32,
    search_burst: Duration,
}

/// Which parts of the benchmark run: `LOAD_PHASES`, a list of `load` (the steps of simulated
/// users, the control, the login burst, the saturation rounds and the posting burst), `lobby`
/// and `search`; all of them when unset. `LOAD_LOBBY_ONLY` (older) is `LOAD_PHASES=lobby`.
#[derive(Clone, Copy)]
struct Phases {
    load: bool,
    lobby: bool,
    search: bool,
    files: bool,
}

impl Phases {
    fn from_env() -> Self {
        if std::env::var_os("LOAD_LOBBY_ONLY").is_some() {
            return Self {
                load: false,
                lobby: true,
                search: false,
                files: false,
            };
        }
        let Ok(list) = std::env::var("LOAD_PHASES") else {
            return Self {
                load: true,
                lobby: true,
                search: true,
                files: true,
            };
        };
        let mut phases = Self {
            load: false,
            lobby: false,
            search: false,
            files: false,
        };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "load" => phases.load = true,
                "lobby" => phases.lobby = true,
                "search" => phases.search = true,
                "files" => phases.files = true,
                other => panic!("LOAD_PHASES: no phase {other:?} (load, lobby, search, files)"),
            }
        }
        phases
    }
}

impl Config {
    fn from_env(full: bool) -> Self {
        let get = |name: &str, full_default: &str, tiny_default: &str| {
            std::env::var(name)
                .unwrap_or_else(|_| if full { full_default } else { tiny_default }.to_owned())
        };
        let num = |name: &str, full_default: &str, tiny_default: &str| -> u64 {
            get(name, full_default, tiny_default).parse().expect(name)
        };
        Self {
            users: num("LOAD_USERS", "20000", "60") as usize,
            rooms: num("LOAD_ROOMS", "100", "3") as usize,
            steps: get("LOAD_STEPS", "2500,5000,10000,20000", "30,60")
                .split(',')
                .map(|s| s.trim().parse().expect("LOAD_STEPS"))
                .collect(),
            step: Duration::from_secs(num("LOAD_STEP_SECONDS", "15", "4")),
            post_rate: num("LOAD_POST_RATE", "100", "10") as u32,
            connections: num("LOAD_CONNECTIONS", "512", "8") as usize,
            saturation_rounds: num("LOAD_SATURATION_ROUNDS", "10", "1"),
            login_burst: num("LOAD_LOGIN_BURST", "30", "2") as usize,
            burst: Duration::from_secs(num("LOAD_BURST_SECONDS", "5", "1")),
            burst_rate: num("LOAD_BURST_RATE", "3000", "50") as u32,
            lobby_messages: num("LOAD_LOBBY_MESSAGES", "1000000", "2000"),
            phases: Phases::from_env(),
            search_messages: num("LOAD_SEARCH_MESSAGES", "1000000", "2000"),
            search_rooms: num("LOAD_SEARCH_ROOMS", "1000", "10") as usize,
            search_people: num("LOAD_SEARCH_PEOPLE", "64", "4") as usize,
            search_times: num("LOAD_SEARCH_TIMES", "200", "3") as usize,
            search_burst_rate: num("LOAD_SEARCH_BURST_RATE", "3000", "50") as u32,
            search_burst: Duration::from_secs(num("LOAD_SEARCH_BURST_SECONDS", "3", "1")),
        }
    }
}

/// The server under test, pinned to CPU 0 when taskset is there; or several, behind nginx
/// (also on CPU 0: being several costs the same core, which is what this measures).
struct Server {
    children: Vec<Child>,
    nginx: Option<Nginx>,
    /// Where the load goes: the server, or nginx in front of them.
    port: u16,
    /// PostgreSQL's CPU is counted too: it shares this machine, and does part of the work.
    postgres: bool,
    /// The database, to count what presence writes there.
    database: String,
}

impl Server {
    /// Starts the release server on a port of the system's choosing, read back from its log.
    fn start(db: &str) -> Self {
        let (child, port) = Self::spawn(db);
        Self {
            children: vec![child],
            nginx: None,
            port,
            postgres: db::Backend::of(db) == db::Backend::Postgres,
            database: db.to_owned(),
        }
    }

    /// `instances` servers on one database, behind nginx with deploy/nginx.conf.
    fn cluster(db: &str, instances: usize, nginx: &str) -> Self {
        let (children, ports): (Vec<Child>, Vec<u16>) =
            (0..instances).map(|_| Self::spawn(db)).unzip();
        let upstreams: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let prefix: &[&str] = if has_taskset() {
            &["taskset", "-c", "0"]
        } else {
            &[]
        };
        let proxy = Nginx::start_exempting(nginx, prefix, &upstreams, &["127.0.0.1"]);
        proxy.wait_until_listening();
        Self {
            children,
            port: proxy.port,
            nginx: Some(proxy),
            postgres: db::Backend::of(db) == db::Backend::Postgres,
            database: db.to_owned(),
        }
    }

    fn spawn(db: &str) -> (Child, u16) {
        let binary = env!("CARGO_BIN_EXE_chatroom");
        let pinned = has_taskset();
        let mut command = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", binary]);
            c
        } else {
            Command::new(binary)
        };
        let mut child = command
            .args(["serve", "--bind", "127.0.0.1:0", "--database", db])
            .args(["--message-limit", "1000000000", "--room-limit", "1000000"])
            .args(["--trusted-proxy", "127.0.0.1"])
            .env("CHATROOM_SECRET", SECRET)
            // The search step searches hundreds of times a minute as one person.
            .env("CHATROOM_SEARCH_LIMIT", "1000000000")
            .env(
                "RUST_LOG",
                std::env::var("LOAD_SERVER_LOG")
                    .unwrap_or_else(|_| "warn,chatroom::startup=info".to_owned()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        // The rest of its log (warnings) still reaches the terminal, in a full run.
        let port = port_from_log(
            child.stderr.take().expect("its log"),
            LOUD.load(Ordering::Relaxed),
        );
        (child, port)
    }

    /// User and system CPU seconds the servers (and nginx, and its workers) have used so far.
    fn cpu_seconds(&self) -> f64 {
        let servers: f64 = self.children.iter().map(|c| cpu_seconds(c.id())).sum();
        let proxy = self.nginx.as_ref().map_or(0.0, |n| {
            let master = n.pid();
            std::iter::once(master)
                .chain(children_of(master))
                .map(cpu_seconds)
                .sum()
        });
        servers + proxy
    }

    /// CPU seconds every PostgreSQL process on this machine has used so far (its server,
    /// WAL writer, checkpointer and the backends serving our pool), or 0 on SQLite, whose work
    /// is inside the server's own.
    fn database_cpu_seconds(&self) -> f64 {
        if !self.postgres {
            return 0.0;
        }
        postgres_pids().into_iter().map(cpu_seconds).sum()
    }

    /// The most resident memory a server has used, in MiB (the largest, if several).
    fn peak_rss_mib(&self) -> f64 {
        let peak = |child: &Child| {
            let status =
                std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        self.children.iter().map(peak).fold(0.0, f64::max)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Rows written so far to the presence tables of the PostgreSQL database at `url` (by its
/// statistics, which lag up to a second).
fn presence_rows_written(url: &str) -> i64 {
    let mut conn = DbConnection::open(url).unwrap();
    scalar(
        &mut conn,
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint AS n \
         FROM pg_stat_user_tables WHERE relname IN ('presence', 'presence_sets')",
    )
}

/// The processes whose parent is `pid` (nginx's workers).
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// User and system CPU seconds process `pid` has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the ")".
    (ticks(11) + ticks(12)) / 100.0
}

/// Every PostgreSQL process on this machine.
fn postgres_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .collect()
}

/// Moves PostgreSQL's processes (and the connections it forks from now on) to `cpus`, as
/// `taskset` lists them, at CPU priority `nice`: the server under test keeps CPU 0 to itself,
/// as it does on SQLite, and PostgreSQL shares CPU 1 with the generator, behind it
/// (`POSTGRES_BEHIND_GENERATOR`). Best effort: it takes rights over those processes (root, or
/// the postgres user; only root gives a priority back).
fn pin_postgres(cpus: &str, nice: i32) {
    if !has_taskset() {
        return;
    }
    for pid in postgres_pids() {
        let pid = pid.to_string();
        let _ = Command::new("taskset")
            .args(["-a", "-cp", cpus, &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("renice")
            .args(["-n", &nice.to_string(), "-p", &pid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// PostgreSQL's CPU priority on the generator's CPU during the steps (the posting burst gives
/// it back): the generator is the instrument, and whatever delays it counts in every poll's
/// latency (from when the poll was due). At equal priority, PostgreSQL's bursts of work
/// (autovacuum's round every minute: about a second of it) held the generator back by 20-30 ms
/// at a time, and the polls due meanwhile, which no server had yet seen, counted as slow. At 10
/// it still has what the generator leaves of the CPU (40% at 40,000 users), more than it needs;
/// its own figures (the post's latency, its CPU) stay in the table.
const POSTGRES_BEHIND_GENERATOR: i32 = 10;

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A simulated person: a session cookie, a room, and the cursor their page would keep.
#[derive(Clone)]
struct Person {
    cookie: String,
    csrf: String,
    room: i32,
}

/// What a person's open room page remembers between polls, kept from one step to the next as
/// the page stays open: a step adds newcomers, it does not reopen everyone's page.
#[derive(Default, Clone)]
struct Page {
    /// The last entry the page showed; none until the page first opens.
    cursor: Option<i64>,
    /// The tag of the lists of people the page shows.
    people_tag: String,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The value actix-session puts in the cookie for `session_key`: encrypted with the key.
fn session_cookie(key: &Key, session_key: &str) -> String {
    let mut jar = CookieJar::new();
    jar.private_mut(key)
        .add(Cookie::new("chatroom_session", session_key.to_owned()));
    let value = jar.get("chatroom_session").unwrap().value().to_owned();
    let encoded = value
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("chatroom_session={encoded}")
}

/// Users, rooms, memberships and logged-in sessions, written straight into the database
/// (what registering and logging in 20,000 people over HTTP would leave behind, in seconds).
fn populate(url: &str, users: usize, rooms: usize) -> Vec<Person> {
    chatroom::models::initialize(url).unwrap();
    let mut conn = DbConnection::open(url).unwrap();
    // Setting up is not what is measured: no waiting for the disk.
    conn.batch_execute(match conn.backend() {
        db::Backend::Sqlite => "PRAGMA synchronous = OFF;",
        db::Backend::Postgres => "SET synchronous_commit = off;",
    })
    .unwrap();
    let hash = bcrypt::hash("benchmark1", 4).unwrap();
    let key = Key::derive_from(SECRET.as_bytes());
    let mut changes = Changes::default();
    let mut ids = Vec::with_capacity(users);
    for i in 0..users {
        let name = Username::parse(&format!("user{i}")).unwrap();
        ids.push(User::create(&mut conn, &name, &hash).unwrap().id);
    }
    let mut room_ids = Vec::with_capacity(rooms);
    for r in 0..rooms {
        let name = RoomName::parse(&format!("room {r}")).unwrap();
        room_ids.push(
            Room::create(&mut conn, &name, ids[0], &mut changes)
                .unwrap()
                .id,
        );
    }
    let mut people = Vec::with_capacity(users);
    for (i, user) in ids.iter().enumerate() {
        let room = room_ids[i % rooms];
        Room::enter(&mut conn, room, *user, &mut changes).unwrap();
        let session_key = format!("loadbenchsession{i:0>48}");
        let csrf = format!("loadbenchcsrf{i:0>30}");
        let state: HashMap<&str, String> = HashMap::from([
            ("user_id", user.to_string()),
            (
                "username",
                serde_json::to_string(&format!("user{i}")).unwrap(),
            ),
            ("csrf", serde_json::to_string(&csrf).unwrap()),
        ]);
        let stored_as = SessionKey::try_from(session_key.clone()).unwrap();
        let row = SessionRow {
            id: row_id(&stored_as),
            user_id: Some(*user),
            state: serde_json::to_string(&state).unwrap(),
            // As a fresh login leaves them (default idle time 7 days), so that the server has
            // no idle deadline to push forward during the run.
            idle_expires_at: unix_now() + 7 * 86_400,
            expires_at: unix_now() + 30 * 86_400,
            public_id: format!("bench{i}"),
            started_at: unix_now(),
            client: "127.0.0.1".to_owned(),
            agent: String::new(),
            credentials_version: 0,
        };
        assert!(SessionRow::insert(&mut conn, &row).unwrap());
        people.push(Person {
            cookie: session_cookie(&key, &session_key),
            csrf,
            room,
        });
    }
    // One more room with one message, for the "poll that returns one message" measurement.
    let text = MessageText::parse("the one new message").unwrap();
    let post = NewPost::new(people[0].room, ids[0], text, None);
    let _ = LogEntry::post(&mut conn, &post, &mut changes);
    people
}

/// The lobby's and the administrators' list of rooms, timed on the database as the load left it,
/// then again after `messages` more are stored in bulk (SQL, not HTTP: a million posts would
/// take the rate limits days), spread over every room and written with the counters the app
/// keeps. Their cost should not grow with the log: the report gives the ratio.
async fn lobby_step(url: &str, port: u16, people: &[Person], messages: u64) -> String {
    const TIMES: usize = 30;
    let mut conn = DbConnection::open(url).unwrap();
    conn.batch_execute("UPDATE users SET is_admin = TRUE WHERE username = 'user0'")
        .unwrap();
    let lane = pool(port, 1);
    let cookie = &people[0].cookie;
    let time = |path: &'static str| {
        let lane = &lane;
        async move {
            let mut ms = Samples::default();
            for _ in 0..TIMES {
                let start = Instant::now();
                let (status, body) = call(&lane[0], get(path, cookie)).await.unwrap();
                assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
                ms.add(start.elapsed());
            }
            ms
        }
    };
    let stored = |conn: &mut DbConnection| -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::RunQueryDsl::get_result::<Count>(
            diesel::sql_query("SELECT COUNT(*) AS n FROM log_entries"),
            conn,
        )
        .unwrap()
        .n
    };
    let small_count = stored(&mut conn);
    let mut small_lobby = time("/api/lobby").await;
    let mut small_admin = time("/api/admin/rooms").await;

    let filling = Instant::now();
    let filler = User::create(&mut conn, &Username::parse("filler").unwrap(), "x")
        .unwrap()
        .id;
    let rooms: i64 = {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::RunQueryDsl::get_result::<Count>(
            diesel::sql_query("SELECT COUNT(*) AS n FROM rooms"),
            &mut conn,
        )
        .unwrap()
        .n
    };
    let each = (messages as i64 / rooms.max(1)).max(1);
    conn.batch_execute(match conn.backend() {
        db::Backend::Sqlite => "PRAGMA synchronous = OFF;",
        db::Backend::Postgres => "SET synchronous_commit = off;",
    })
    .unwrap();
    // The same SQL on both: a recursive count, each room's next numbers, the counters.
    conn.batch_execute(&format!(
        "BEGIN;
         INSERT INTO log_entries (room_id, author_id, kind, body, sent_at, seq,
                                  posted_through, author_through)
         WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {each})
         SELECT r.id, {filler}, 'message', 'filler', CURRENT_TIMESTAMP, r.last_seq + k.i,
                r.posted + k.i, k.i
         FROM rooms r CROSS JOIN k;
         UPDATE rooms SET last_seq = last_seq + {each}, posted = posted + {each};
         COMMIT;"
    ))
    .unwrap();
    if conn.backend() == db::Backend::Postgres {
        conn.batch_execute("ANALYZE").unwrap();
    }
    let fill_secs = filling.elapsed().as_secs_f64();
    // The servers' memory of the rooms catches up by itself; the lobby reads the database.
    let big_count = stored(&mut conn);
    let mut big_lobby = time("/api/lobby").await;
    let mut big_admin = time("/api/admin/rooms").await;
    let line = |name: &str, small: &mut Samples, big: &mut Samples| {
        format!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} | {:.2} ms |",
            small.ms(0.5),
            big.ms(0.5),
            big.ms(0.5) / small.ms(0.5),
            big.ms(1.0),
        )
    };
    let md = format!(
        "Lobby and administrators' rooms against the log's size ({TIMES} requests each, one at a \
         time; {big_count} entries stored in {rooms} rooms, {} of them added in bulk in {fill_secs:.1} s):\n\n\
         | request | p50 at {small_count} entries | p50 at {big_count} entries | ratio | max at {big_count} |\n\
         |---|---|---|---|---|\n{}\n{}\n",
        each * rooms,
        line("GET /api/lobby", &mut small_lobby, &mut big_lobby),
        line("GET /api/admin/rooms", &mut small_admin, &mut big_admin),
    );
    md
}

/// The search step's vocabulary, most used first: a message's words are drawn from it with a
/// skew towards the front (as in speech, a few words are most of it). The 3-character
/// substring the step looks for, "ous", is only ever inside words (house, famous, various...).
const VOCABULARY: &[&str] = &[
    "the",
    "and",
    "to",
    "you",
    "it",
    "is",
    "that",
    "of",
    "in",
    "we",
    "for",
    "this",
    "on",
    "but",
    "not",
    "have",
    "with",
    "be",
    "are",
    "was",
    "just",
    "so",
    "all",
    "what",
    "can",
    "do",
    "think",
    "know",
    "if",
    "at",
    "they",
    "get",
    "like",
    "would",
    "about",
    "now",
    "one",
    "out",
    "there",
    "will",
    "go",
    "up",
    "time",
    "good",
    "how",
    "see",
    "more",
    "people",
    "no",
    "when",
    "yes",
    "me",
    "then",
    "my",
    "some",
    "really",
    "from",
    "did",
    "could",
    "also",
    "been",
    "here",
    "new",
    "want",
    "right",
    "which",
    "back",
    "because",
    "still",
    "day",
    "today",
    "work",
    "only",
    "make",
    "over",
    "other",
    "well",
    "after",
    "going",
    "need",
    "first",
    "much",
    "meeting",
    "look",
    "thanks",
    "sure",
    "where",
    "before",
    "something",
    "why",
    "let",
    "week",
    "tomorrow",
    "said",
    "take",
    "way",
    "should",
    "anyone",
    "lunch",
    "house",
    "thing",
    "again",
    "maybe",
    "year",
    "done",
    "better",
    "next",
    "last",
    "into",
    "morning",
    "call",
    "team",
    "find",
    "long",
    "around",
    "night",
    "down",
    "home",
    "same",
    "try",
    "probably",
    "great",
    "never",
    "idea",
    "feel",
    "ready",
    "left",
    "doing",
    "tonight",
    "problem",
    "sorry",
    "talk",
    "thought",
    "already",
    "these",
    "help",
    "while",
    "plan",
    "office",
    "weekend",
    "question",
    "those",
    "every",
    "nice",
    "fine",
    "hope",
    "release",
    "open",
    "start",
    "change",
    "build",
    "check",
    "everyone",
    "later",
    "almost",
    "server",
    "review",
    "ticket",
    "pretty",
    "enough",
    "test",
    "minutes",
    "little",
    "friday",
    "monday",
    "agree",
    "happy",
    "thousand",
    "update",
    "window",
    "train",
    "music",
    "movie",
    "famous",
    "dinner",
    "garden",
    "various",
    "serious",
    "travel",
    "picture",
    "nervous",
    "previous",
    "jealous",
    "obvious",
    "curious",
    "enormous",
    "delicious",
    "generous",
    "dangerous",
    "mountain",
    "birthday",
    "keyboard",
    "printer",
    "station",
    "holiday",
    "library",
    "kitchen",
    "airport",
    "project",
    "umbrella",
    "bicycle",
    "festival",
    "sandwich",
    "weather",
    "calendar",
];

/// Each word of the vocabulary takes this many characters in the SQL string it is cut from.
const WORD_WIDTH: usize = 12;

/// What the search step looks for: a word in about ten messages whatever their number, a word
/// in one message of sixteen, and three letters found inside words.
const RARE_WORD: &str = "zanzibar";
const COMMON_WORD: &str = "coffee";
const SUBSTRING: &str = "ous";
const SEARCHES: [(&str, &str); 3] = [
    ("rare word", RARE_WORD),
    ("common word", COMMON_WORD),
    ("3-character substring", SUBSTRING),
];

/// The most words a generated message has (and so the most hashes its SQL takes).
const MAX_WORDS: usize = 12;

/// One generated message in this many is written without its folded text, for `chatroom
/// initdb` to index as it would a database from before search (the others are indexed as they
/// go in: initdb folds and updates one row at a time, which on PostgreSQL would take minutes
/// for a million).
const LEFT_FOR_INITDB_EVERY: u64 = 20;

/// One value, read with SQL that names it `n`.
fn scalar(conn: &mut DbConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Value {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::RunQueryDsl::get_result::<Value>(diesel::sql_query(sql), conn)
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .n
}

/// Names read with SQL that calls them `name`.
fn read_names(conn: &mut DbConnection, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    diesel::RunQueryDsl::load::<Name>(diesel::sql_query(sql), conn)
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .into_iter()
        .map(|n| n.name)
        .collect()
}

/// The SQL for word `j` of message `g`: a hash of the two picks a place in the vocabulary,
/// skewed towards the front (the product of two uniform draws). PostgreSQL indexes an array;
/// SQLite, which has none, cuts the word from a string of fixed-width slots (on PostgreSQL
/// that is three times slower: substr counts UTF-8 characters from the start).
fn word_sql(backend: db::Backend, j: usize) -> String {
    const MULTIPLIERS: [u64; MAX_WORDS] = [
        7_919,
        104_729,
        1_299_709,
        15_485_863,
        32_452_843,
        49_979_687,
        67_867_967,
        86_028_121,
        104_395_301,
        122_949_823,
        141_650_939,
        160_481_183,
    ];
    let v = VOCABULARY.len();
    let h = format!("(((g + {}) * {}) % 1000003)", 7 * j + 1, MULTIPLIERS[j]);
    let place = format!("CAST((({h} % {v}) * (({h} / {v}) % {v})) / {v} AS INTEGER)");
    match backend {
        db::Backend::Sqlite => {
            let slots: String = VOCABULARY
                .iter()
                .map(|w| format!("{w:<WORD_WIDTH$}"))
                .collect();
            format!("rtrim(substr('{slots}', {place} * {WORD_WIDTH} + 1, {WORD_WIDTH}))")
        }
        db::Backend::Postgres => {
            let words: Vec<String> = VOCABULARY.iter().map(|w| format!("'{w}'")).collect();
            format!("(ARRAY[{}])[{place} + 1]", words.join(","))
        }
    }
}

/// The SQL of message `g`'s text: 4 to 12 words, "coffee" after the second in one message of
/// sixteen, "zanzibar" at the end of one message in `rare_every`.
fn text_sql(backend: db::Backend, rare_every: u64) -> String {
    let word = |j| word_sql(backend, j);
    let first = word(0);
    let mut text = format!(
        "upper(substr({first}, 1, 1)) || substr({first}, 2) || ' ' || {}",
        word(1)
    );
    let _ = write!(
        text,
        " || CASE WHEN g % 16 = 3 THEN ' {COMMON_WORD}' ELSE '' END"
    );
    for j in 2..MAX_WORDS {
        let word = word(j);
        if j < 4 {
            let _ = write!(text, " || ' ' || {word}");
        } else {
            let _ = write!(
                text,
                " || CASE WHEN 4 + (g * 40503) % 1000003 % 9 > {j} THEN ' ' || {word} ELSE '' END"
            );
        }
    }
    let _ = write!(
        text,
        " || CASE WHEN g % {rare_every} = 7 THEN ' {RARE_WORD}' ELSE '' END"
    );
    text
}

/// Writes `messages` messages (rounded down to a multiple of the rooms) into every room of the
/// database with one INSERT in one transaction, straight in SQL as the app would have stored
/// them: numbered on from each room's last number, five authors taking turns, HTML as the
/// renderer makes it of plain words, the rooms' counters raised to match, `search_text` as the
/// server folds it (plain ASCII words: lower case), but for one message in
/// LEFT_FOR_INITDB_EVERY. Returns the messages written and the rooms.
fn generate_messages(url: &str, messages: u64) -> (u64, i64) {
    let mut conn = DbConnection::open(url).unwrap();
    conn.batch_execute(match conn.backend() {
        db::Backend::Sqlite => "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;",
        db::Backend::Postgres => "SET synchronous_commit = off; SET work_mem = '256MB';",
    })
    .unwrap();
    let writers: Vec<i32> = (0..5)
        .map(|i| {
            let name = Username::parse(&format!("writer{i}")).unwrap();
            User::create(&mut conn, &name, "x").unwrap().id
        })
        .collect();
    let first = scalar(&mut conn, "SELECT CAST(MIN(id) AS BIGINT) AS n FROM rooms");
    let last = scalar(&mut conn, "SELECT CAST(MAX(id) AS BIGINT) AS n FROM rooms");
    let rooms = last - first + 1;
    assert_eq!(
        scalar(&mut conn, "SELECT COUNT(*) AS n FROM rooms"),
        rooms,
        "the rooms are numbered without gaps"
    );
    let each = (messages as i64 / rooms).max(1);
    let total = each * rooms;
    let rare_every = (total / 10).max(8);
    let author = format!(
        "CASE (i - 1) % 5 {} END",
        writers
            .iter()
            .enumerate()
            .map(|(n, id)| format!("WHEN {n} THEN {id}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let text = text_sql(conn.backend(), rare_every as u64);
    // g numbers the messages 0.. in the order they are written: the rooms take turns, as
    // they would in a real log, so a room's messages are spread over the whole table.
    conn.batch_execute(&format!(
        "BEGIN;
         INSERT INTO log_entries (room_id, author_id, kind, body, html, search_text, sent_at,
                                  seq, posted_through, author_through)
         WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {each}),
         m AS (
             SELECT r.id AS room_id, r.last_seq + k.i AS seq, r.posted + k.i AS posted,
                    k.i AS i, CAST(k.i - 1 AS BIGINT) * {rooms} + (r.id - {first}) AS g
             FROM k CROSS JOIN rooms r
         ),
         t AS (SELECT m.*, {text} AS body FROM m)
         SELECT room_id, {author}, 'message', body, '<p>' || body || '</p>',
                CASE WHEN g % {LEFT_FOR_INITDB_EVERY} = 0 THEN NULL ELSE lower(body) END,
                CURRENT_TIMESTAMP, seq, posted, (i - 1) / 5 + 1
         FROM t ORDER BY g;
         UPDATE rooms SET last_seq = last_seq + {each}, posted = posted + {each},
                          last_activity_at = CURRENT_TIMESTAMP;
         COMMIT;"
    ))
    .unwrap();
    (total as u64, rooms)
}

/// The bytes the database takes: on SQLite its pages in use (the file after a checkpoint,
/// less its free pages: a dropped table's pages stay in the file until VACUUM), on
/// PostgreSQL `pg_database_size`.
fn database_bytes(conn: &mut DbConnection) -> i64 {
    match conn.backend() {
        db::Backend::Sqlite => {
            conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
                .unwrap();
            scalar(
                conn,
                "SELECT (p.page_count - f.freelist_count) * s.page_size AS n \
                 FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s",
            )
        }
        db::Backend::Postgres => scalar(conn, "SELECT pg_database_size(current_database()) AS n"),
    }
}

/// The search index's own bytes: PostgreSQL's GIN index; on SQLite, the FTS5 table's
/// shadow tables, where the build has `dbstat` (else None: the difference of the database's
/// sizes with and without it tells the same).
fn index_bytes(conn: &mut DbConnection) -> Option<i64> {
    let sql = match conn.backend() {
        db::Backend::Sqlite => {
            "SELECT CAST(SUM(pgsize) AS BIGINT) AS n FROM dbstat WHERE name LIKE 'message\\_search%' ESCAPE '\\'"
        }
        db::Backend::Postgres => "SELECT pg_relation_size('log_entries_search') AS n",
    };
    #[derive(diesel::QueryableByName)]
    struct Value {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        n: Option<i64>,
    }
    diesel::RunQueryDsl::get_result::<Value>(diesel::sql_query(sql), conn)
        .ok()
        .and_then(|v| v.n)
}

/// Drops the search index and what keeps it in step, leaving `search_text` as it is (the app
/// still writes it): SQLite's FTS5 table and its triggers, PostgreSQL's GIN index.
fn drop_search_index(conn: &mut DbConnection) {
    match conn.backend() {
        db::Backend::Sqlite => {
            let triggers = read_names(
                conn,
                "SELECT name FROM sqlite_master WHERE type = 'trigger' \
                 AND name LIKE 'message\\_search\\_%' ESCAPE '\\'",
            );
            assert!(
                !triggers.is_empty(),
                "the search index's triggers are there"
            );
            let mut sql = String::from("BEGIN;");
            for trigger in triggers {
                let _ = write!(sql, " DROP TRIGGER \"{trigger}\";");
            }
            sql.push_str(" DROP TABLE message_search; COMMIT;");
            conn.batch_execute(&sql).unwrap();
        }
        db::Backend::Postgres => conn.batch_execute("DROP INDEX log_entries_search").unwrap(),
    }
}

/// What the search step measured on one database.
struct SearchRun {
    messages: u64,
    rooms: i64,
    generate_secs: f64,
    index_secs: f64,
    /// How many of them `chatroom initdb` indexed.
    left_for_initdb: i64,
    /// Per search of SEARCHES: the messages it matches, how many results its first page
    /// brought, its latencies and its failures.
    searches: Vec<(i64, usize, Samples, u64)>,
    with_index: Burst,
    without_index: Burst,
    bytes_with_index: i64,
    bytes_without_index: i64,
    index_bytes: Option<i64>,
    search_text_bytes: i64,
    /// The step from the first row written to the last burst answered.
    took_secs: f64,
}

/// The search step on one database: a million messages over a thousand rooms, written in
/// SQL; `chatroom initdb` indexes the few left unindexed; the release server answers searches for a rare word, a
/// common word and a 3-character substring, one at a time from one person; then posting
/// bursts with the index and, once it is dropped, without; and the database's size each way.
fn search_step(config: &Config, full: bool, target: &Target) -> SearchRun {
    let url = target.url();
    let started = Instant::now();
    let people = populate(&url, config.search_people, config.search_rooms);
    let generating = Instant::now();
    let (messages, rooms) = generate_messages(&url, config.search_messages);
    let generate_secs = generating.elapsed().as_secs_f64();
    say!("generated {messages} messages in {rooms} rooms in {generate_secs:.1} s");
    let mut conn = DbConnection::open(&url).unwrap();
    let left_for_initdb = scalar(
        &mut conn,
        "SELECT COUNT(*) AS n FROM log_entries WHERE kind = 'message' AND search_text IS NULL",
    );
    let matches: Vec<i64> = SEARCHES
        .iter()
        .map(|(_, term)| {
            scalar(
                &mut conn,
                &format!(
                    "SELECT COUNT(*) AS n FROM log_entries WHERE kind = 'message' \
                     AND deleted_at IS NULL AND lower(body) LIKE '%{term}%'"
                ),
            )
        })
        .collect();

    // Indexing what is already there, as an upgrade would.
    let indexing = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_chatroom"))
        .args(["initdb", "--database", &url])
        .env("CHATROOM_SECRET", SECRET)
        .env("RUST_LOG", "info")
        .output()
        .expect("chatroom initdb runs");
    let index_secs = indexing.elapsed().as_secs_f64();
    let initdb_said: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
        .map(str::to_owned)
        .collect();
    assert!(
        output.status.success(),
        "chatroom initdb failed: {}",
        initdb_said.join("\n")
    );
    say!("chatroom initdb took {index_secs:.1} s; it said:");
    for line in &initdb_said {
        say!("    {line}");
    }
    if conn.backend() == db::Backend::Postgres {
        // What autovacuum would have done by the time anyone searched.
        conn.batch_execute("VACUUM ANALYZE").unwrap();
        pin_postgres("1", 0);
    }
    let search_text_bytes = scalar(
        &mut conn,
        "SELECT CAST(COALESCE(SUM(LENGTH(search_text)), 0) AS BIGINT) AS n FROM log_entries",
    );

    let server = target.serve();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let times = config.search_times;
    let (searches, with_index, without_index, sizes) = local.block_on(&runtime, async {
        let port = server.port;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Conn::open(port).await.is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let lane = pool(port, 1);
        let searcher = &people[0];
        let mut searches: Vec<(i64, usize, Samples, u64)> = matches
            .iter()
            .map(|&m| (m, 0, Samples::default(), 0))
            .collect();
        // The three take turns, so that the machine's drift falls on all alike.
        for round in 0..times {
            for ((_, term), (matched, found, samples, failed)) in SEARCHES.iter().zip(&mut searches)
            {
                let path = format!("/api/search?q={term}");
                let start = Instant::now();
                let answer = call(&lane[0], get(&path, &searcher.cookie)).await;
                let took = start.elapsed();
                let Ok((200, body)) = answer else {
                    if round == 0 || !full {
                        let said =
                            answer.map(|(s, b)| format!("{s} {}", String::from_utf8_lossy(&b)));
                        panic!("{path}: {said:?}");
                    }
                    *failed += 1;
                    continue;
                };
                samples.add(took);
                if round == 0 {
                    let value: Value = serde_json::from_slice(&body).unwrap();
                    let results = value["results"].as_array().unwrap();
                    for hit in results {
                        let text = hit["message"]["text"].as_str().unwrap_or_default();
                        assert!(text.to_lowercase().contains(term), "{path} found {text:?}");
                    }
                    *found = results.len();
                    assert_eq!(
                        *found as i64,
                        (*matched).min(50),
                        "{path}: a first page of every match, up to 50"
                    );
                }
            }
        }
        say!("searches done");
        let with_index = burst(port, &people, config.search_burst_rate, config.search_burst).await;
        let mut conn = DbConnection::open(&url).unwrap();
        let with = database_bytes(&mut conn);
        let index = index_bytes(&mut conn);
        drop_search_index(&mut conn);
        let without = database_bytes(&mut conn);
        let without_index =
            burst(port, &people, config.search_burst_rate, config.search_burst).await;
        say!("posting bursts done");
        (searches, with_index, without_index, (with, without, index))
    });
    let (bytes_with_index, bytes_without_index, index_bytes) = sizes;
    if !full {
        for burst in [&with_index, &without_index] {
            assert_eq!(
                (burst.failed, burst.locked),
                (0, 0),
                "every post of the bursts acknowledged"
            );
        }
    }
    SearchRun {
        messages,
        rooms,
        generate_secs,
        index_secs,
        searches,
        with_index,
        without_index,
        left_for_initdb,
        bytes_with_index,
        bytes_without_index,
        index_bytes,
        search_text_bytes,
        took_secs: started.elapsed().as_secs_f64(),
    }
}

fn mib(bytes: i64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The search step's table: a column per database.
fn search_table(config: &Config, columns: &mut [(String, SearchRun)]) -> String {
    let mut md = String::new();
    let Some((_, first)) = columns.first() else {
        return "No database to search.\n".to_owned();
    };
    let _ = writeln!(
        md,
        "{} messages over {} rooms, written in SQL; the release server pinned to one core; {} searches of each kind, one at a time, the kinds \
         taking turns; posting bursts open loop at {} messages/s for {} s over {} people's \
         connections, with the index and then (the same database, index dropped) without.\n",
        first.messages,
        first.rooms,
        config.search_times,
        config.search_burst_rate,
        config.search_burst.as_secs(),
        config.search_people,
    );
    let _ = write!(md, "| |");
    for (name, _) in columns.iter() {
        let _ = write!(md, " {name} |");
    }
    let _ = write!(md, "\n|---|");
    for _ in columns.iter() {
        let _ = write!(md, "---|");
    }
    md.push('\n');
    let mut row = |label: String, cell: &mut dyn FnMut(&mut SearchRun) -> String| {
        let _ = write!(md, "| {label} |");
        for (_, run) in columns.iter_mut() {
            let _ = write!(md, " {} |", cell(run));
        }
        md.push('\n');
    };
    row(
        "messages written (SQL, one transaction, indexed as they go in)".into(),
        &mut |r| format!("{:.1} s", r.generate_secs),
    );
    row(
        format!(
            "one in {LEFT_FOR_INITDB_EVERY} written unindexed, then indexed by `chatroom initdb`"
        ),
        &mut |r| {
            format!(
                "{} in {:.1} s (the whole command)",
                r.left_for_initdb, r.index_secs
            )
        },
    );
    for (i, (kind, term)) in SEARCHES.iter().enumerate() {
        row(
            format!("search \"{term}\" ({kind}): p50 / p95 / max (target p95 ≤ 100 ms)"),
            &mut |r| {
                let (matched, _, samples, failed) = &mut r.searches[i];
                format!(
                    "{:.1} / {:.1} / {:.1} ms ({matched} matches{})",
                    samples.ms(0.5),
                    samples.ms(0.95),
                    samples.ms(1.0),
                    if *failed > 0 {
                        format!(", {failed} failed")
                    } else {
                        String::new()
                    }
                )
            },
        );
    }
    row(
        "posting burst with the index / without: acknowledged/s (ratio, target ≥ 85%)".into(),
        &mut |r| {
            format!(
                "{:.0} / {:.0} ({:.0}%)",
                r.with_index.rate,
                r.without_index.rate,
                100.0 * r.with_index.rate / r.without_index.rate.max(f64::MIN_POSITIVE)
            )
        },
    );
    row(
        "posts answered p50 / p99, with the index / without".into(),
        &mut |r| {
            format!(
                "{:.1} / {:.1} ms, {:.1} / {:.1} ms",
                r.with_index.answers.ms(0.5),
                r.with_index.answers.ms(0.99),
                r.without_index.answers.ms(0.5),
                r.without_index.answers.ms(0.99)
            )
        },
    );
    row("database with the index / without".into(), &mut |r| {
        format!(
            "{} / {} (+{:.0}%)",
            mib(r.bytes_with_index),
            mib(r.bytes_without_index),
            100.0 * (r.bytes_with_index - r.bytes_without_index) as f64
                / r.bytes_without_index.max(1) as f64
        )
    });
    row("the index alone".into(), &mut |r| {
        r.index_bytes.map_or_else(|| "(no dbstat)".to_owned(), mib)
    });
    row("`search_text`'s characters (in either)".into(), &mut |r| {
        mib(r.search_text_bytes)
    });
    row("the whole step took".into(), &mut |r| {
        format!("{:.0} s", r.took_secs)
    });
    md
}

/// The part of a poll answer the generator reads (the presence lists are skipped).
#[derive(serde::Deserialize)]
struct PollBody {
    messages: Vec<PolledEntry>,
}

#[derive(serde::Deserialize)]
struct PolledEntry {
    id: i64,
    kind: String,
}

/// A keep-alive HTTP/1.1 connection speaking just enough of the protocol for this benchmark.
struct Conn {
    stream: BufReader<TcpStream>,
    port: u16,
}

impl Conn {
    async fn open(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
            port,
        })
    }

    /// Sends `request` (reconnecting once if the connection was closed) and reads the answer.
    async fn send(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        match self.exchange(request).await {
            Ok(answer) => Ok(answer),
            Err(_) => {
                *self = Self::open(self.port).await?;
                self.exchange(request).await
            }
        }
    }

    async fn exchange(&mut self, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        self.stream.get_mut().write_all(request).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut length = 0;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

fn get(path: &str, cookie: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n").into_bytes()
}

fn post_json(path: &str, person: &Person, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}\r\nX-CSRF-Token: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        person.cookie,
        person.csrf,
        body.len()
    )
    .into_bytes()
}

type Job = (Vec<u8>, oneshot::Sender<std::io::Result<(u16, Vec<u8>)>>);

/// A pool of connections, each with a queue: a request waits for its connection like a
/// browser's would.
fn pool(port: u16, size: usize) -> Vec<mpsc::UnboundedSender<Job>> {
    (0..size)
        .map(|_| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
            tokio::task::spawn_local(async move {
                let mut conn = None;
                while let Some((request, reply)) = rx.recv().await {
                    if conn.is_none() {
                        conn = Conn::open(port).await.ok();
                    }
                    let answer = match conn.as_mut() {
                        Some(c) => c.send(&request).await,
                        None => Err(std::io::ErrorKind::ConnectionRefused.into()),
                    };
                    if answer.is_err() {
                        conn = None;
                    }
                    let _ = reply.send(answer);
                }
            });
            tx
        })
        .collect()
}

async fn call(
    lane: &mpsc::UnboundedSender<Job>,
    request: Vec<u8>,
) -> std::io::Result<(u16, Vec<u8>)> {
    let (tx, rx) = oneshot::channel();
    lane.send((request, tx))
        .map_err(|_| std::io::Error::other("pool closed"))?;
    rx.await
        .map_err(|_| std::io::Error::other("pool dropped"))?
}

/// With LOAD_TRACE set, how many polls were slower than this is printed for each second of a
/// step, and every burst's post slower than this: to see whether slow ones come together (a
/// stall) or alone.
const TRACE_SLOWER_THAN: Duration = Duration::from_millis(15);

fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LOAD_TRACE").is_some())
}

/// Latencies in microseconds.
#[derive(Default)]
struct Samples(Vec<u64>);

impl Samples {
    fn add(&mut self, d: Duration) {
        self.0.push(d.as_micros() as u64);
    }

    fn ms(&mut self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.sort_unstable();
        let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
        self.0[i] as f64 / 1000.0
    }
}

#[derive(Default)]
struct Step {
    users: usize,
    polls: Samples,
    posts: Samples,
    delivery: Samples,
    errors: u64,
    deliveries_expected: u64,
    deliveries_late: u64,
    cpu: f64,
    database_cpu: f64,
    generator_cpu: f64,
    /// How late the generator's 2 ms tick woke: the part of the polls' latency that was the
    /// generator's.
    generator_late: Samples,
    seconds: f64,
    /// Rows written to the presence tables a second over the step's second half, once its
    /// newcomers have arrived (PostgreSQL).
    presence_rows: Option<f64>,
    /// For each second of the schedule, by when the polls were due: how many, how many were
    /// slower than `TRACE_SLOWER_THAN`, and the slowest.
    by_second: Vec<Second>,
}

#[derive(Default, Clone, Copy)]
struct Second {
    polls: u64,
    slow: u64,
    slowest: Duration,
}

impl Step {
    fn note_second(&mut self, second: usize, took: Duration) {
        if self.by_second.len() <= second {
            self.by_second.resize(second + 1, Second::default());
        }
        let s = &mut self.by_second[second];
        s.polls += 1;
        s.slow += u64::from(took > TRACE_SLOWER_THAN);
        s.slowest = s.slowest.max(took);
    }

    /// One line per second of the schedule: where a step's slow polls were.
    fn seconds_report(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.by_second.iter().enumerate() {
            let _ = writeln!(
                out,
                "{} users, second {i}: {} of {} polls slower than {} ms, slowest {:.1} ms",
                self.users,
                s.slow,
                s.polls,
                TRACE_SLOWER_THAN.as_millis(),
                s.slowest.as_secs_f64() * 1000.0
            );
        }
        out
    }
}

/// Each room's newest entry id, read the way a page starts: so the simulated pages begin
/// where a freshly opened room page would, not at the start of history.
async fn last_ids(
    lanes: &[mpsc::UnboundedSender<Job>],
    people: &[Person],
    rooms: usize,
) -> HashMap<i32, i64> {
    let mut last = HashMap::new();
    for person in people.iter().take(rooms) {
        let mut cursor = 0;
        loop {
            let path = format!("/api/rooms/{}/messages?after={cursor}", person.room);
            let (_, body) = call(&lanes[0], get(&path, &person.cookie)).await.unwrap();
            let value: Value = serde_json::from_slice(&body).unwrap();
            let entries = value["messages"].as_array().cloned().unwrap_or_default();
            if let Some(id) = entries.last().and_then(|e| e["id"].as_i64()) {
                cursor = id;
            }
            if entries.len() < 500 {
                break;
            }
        }
        last.insert(person.room, cursor);
    }
    last
}

/// The `people_tag` a poll's answer carries, found without parsing the answer.
fn tag_in(body: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"people_tag\":\"";
    let at = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = body[at..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&body[at..at + len]).ok()
}

/// When in each second person `i`'s page polls: spread over the second by the golden ratio,
/// as pages open at different times, and the same in every step, as a page's timer does not
/// move when others open theirs. (Spreading them by `i / users` crowded a step's newcomers,
/// the highest numbers, into its first second's last quarter, and moved everyone else's
/// timer at each step.)
fn phase(i: usize) -> Duration {
    const GOLDEN: f64 = 0.618_033_988_749_894_9;
    Duration::from_secs_f64((i as f64 * GOLDEN).fract())
}

/// How long before its schedule begins a step sets up its simulated pages.
const SETUP: Duration = Duration::from_millis(250);

/// One step: `users` people polling once a second (open loop, on a fixed schedule; latency is
/// counted from when the poll was due, so a slow server cannot hide its backlog) while messages
/// are posted at `rate` per second.
#[allow(clippy::too_many_arguments)]
async fn run_step(
    server: &Server,
    lanes: &[mpsc::UnboundedSender<Job>],
    post_lanes: &[mpsc::UnboundedSender<Job>],
    people: &[Person],
    pages: &mut [Page],
    users: usize,
    rooms: usize,
    rate: u32,
    length: Duration,
) -> Step {
    let starts = last_ids(lanes, people, rooms).await;
    if tracing() {
        // To match with the servers' log (LOAD_SERVER_LOG) and the database's.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        eprintln!(
            "step of {users} users begins at {:.3} (Unix time)",
            now.unwrap_or_default().as_secs_f64()
        );
    }
    let step = Rc::new(RefCell::new(Step {
        users,
        ..Step::default()
    }));
    // Keyed by (room, number): numbers count within a room.
    let acked: Rc<RefCell<HashMap<(i32, i64), Instant>>> = Rc::default();
    let received: Rc<RefCell<HashMap<(i32, i64), u64>>> = Rc::default();
    let cpu_before = server.cpu_seconds();
    let database_before = server.database_cpu_seconds();
    let generator_before = cpu_seconds(std::process::id());
    // The schedule begins a moment from now: setting up thousands of simulated pages takes
    // this generator a while, and that is not the server's latency.
    let started = Instant::now() + SETUP;
    let end = started + length;
    // What presence writes is counted from halfway (on PostgreSQL; off this thread, whose
    // every moment is a simulated page's).
    let halfway = server.postgres.then(|| {
        let url = server.database.clone();
        tokio::task::spawn_local(async move {
            tokio::time::sleep_until((started + length / 2).into()).await;
            let rows = tokio::task::spawn_blocking(move || presence_rows_written(&url));
            (Instant::now(), rows.await.unwrap())
        })
    });
    let mut tasks = Vec::new();
    for (i, person) in people.iter().take(users).enumerate() {
        let (person, lane) = (person.clone(), lanes[i % lanes.len()].clone());
        let (step, acked, received) = (step.clone(), acked.clone(), received.clone());
        // Like chat.js, a page polls from the last entry it showed and sends back the tag of
        // the lists of people it shows. One opened in an earlier step goes on from where it
        // was; a newcomer's opens at the room's newest entry.
        let Page {
            cursor,
            mut people_tag,
        } = pages[i].clone();
        let mut cursor = cursor.unwrap_or_else(|| starts.get(&person.room).copied().unwrap_or(0));
        tasks.push(tokio::task::spawn_local(async move {
            let mut due = started + phase(i);
            while due < end {
                tokio::time::sleep_until(due.into()).await;
                let path = format!(
                    "/api/rooms/{}/messages?after={cursor}&people_tag={people_tag}",
                    person.room
                );
                let answer = call(&lane, get(&path, &person.cookie)).await;
                let now = Instant::now();
                let mut step = step.borrow_mut();
                match answer {
                    Ok((200, body)) => {
                        step.polls.add(now - due);
                        step.note_second((due - started).as_secs() as usize, now - due);
                        if let Some(tag) = tag_in(&body) {
                            people_tag.replace_range(.., tag);
                        }
                        // Most answers bring nothing: no need to parse who is present.
                        if body.starts_with(b"{\"messages\":[]") {
                            drop(step);
                            due += Duration::from_secs(1);
                            continue;
                        }
                        let answer: PollBody = serde_json::from_slice(&body).unwrap_or(PollBody {
                            messages: Vec::new(),
                        });
                        for e in answer.messages {
                            let id = e.id;
                            cursor = cursor.max(id);
                            if e.kind == "message" {
                                let key = (person.room, id);
                                *received.borrow_mut().entry(key).or_default() += 1;
                                if let Some(at) = acked.borrow().get(&key) {
                                    step.delivery.add(now.saturating_duration_since(*at));
                                }
                            }
                        }
                    }
                    _ => step.errors += 1,
                }
                drop(step);
                // Like chat.js: the next poll one second after the previous was due.
                due += Duration::from_secs(1);
            }
            Page {
                cursor: Some(cursor),
                people_tag,
            }
        }));
    }
    // Tells the generator's own delays apart from the server's: a tick every 2 ms, and how
    // late it ran. A poll's latency counts from when it was due, so a generator that wakes
    // late (its core shared with PostgreSQL, say) adds its lateness to the polls'.
    let ticks = {
        let step = step.clone();
        tokio::task::spawn_local(async move {
            let mut tick = started;
            while tick < end {
                tick += Duration::from_millis(2);
                tokio::time::sleep_until(tick.into()).await;
                let late = Instant::now() - tick;
                step.borrow_mut().generator_late.add(late);
                if tracing() && late > Duration::from_millis(5) {
                    eprintln!(
                        "generator late: at {:.3} s, by {:.1} ms",
                        (tick - started).as_secs_f64(),
                        late.as_secs_f64() * 1000.0
                    );
                }
            }
        })
    };
    // The posters: open loop at `rate` per second, spread over the rooms.
    let posters = people.len().min(users);
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    // Posting starts once every page has polled and stops early enough for the last message
    // to reach everyone before the step ends.
    let margin = Duration::from_millis(1500).min(length / 4);
    let mut due = started + margin;
    let mut n = 0;
    let mut post_tasks = Vec::new();
    while rate > 0 && due < end - margin {
        tokio::time::sleep_until(due.into()).await;
        let person = people[(n * 7919) % posters].clone();
        // Posts go on connections of their own, as a browser opens another connection when
        // one is busy: a slow post must not hold up the polls queued behind it.
        let lane = post_lanes[n % post_lanes.len()].clone();
        let (step, acked) = (step.clone(), acked.clone());
        let sent = due;
        post_tasks.push(tokio::task::spawn_local(async move {
            let body = format!("{{\"text\":\"load message {n}\"}}");
            let path = format!("/api/rooms/{}/messages", person.room);
            let answer = call(&lane, post_json(&path, &person, &body)).await;
            let now = Instant::now();
            let mut step = step.borrow_mut();
            match answer {
                Ok((201, body)) => {
                    step.posts.add(now - sent);
                    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if let Some(id) = value["message"]["id"].as_i64() {
                        acked.borrow_mut().insert((person.room, id), now);
                    }
                }
                _ => step.errors += 1,
            }
        }));
        n += 1;
        due += interval;
    }
    for task in post_tasks {
        task.await.unwrap();
    }
    for (page, task) in pages.iter_mut().zip(tasks) {
        *page = task.await.unwrap();
    }
    ticks.await.unwrap();
    let mut step = Rc::try_unwrap(step).ok().unwrap().into_inner();
    step.seconds = started.elapsed().as_secs_f64();
    step.cpu = server.cpu_seconds() - cpu_before;
    step.database_cpu = server.database_cpu_seconds() - database_before;
    if let Some(halfway) = halfway {
        let (at, before) = halfway.await.unwrap();
        let after = presence_rows_written(&server.database);
        step.presence_rows = Some((after - before) as f64 / at.elapsed().as_secs_f64());
    }
    step.generator_cpu = cpu_seconds(std::process::id()) - generator_before;
    // Every acknowledged message should reach every active member of its room.
    let members_per_room = users / rooms.max(1);
    let received = received.borrow();
    for id in acked.borrow().keys() {
        let got = received.get(id).copied().unwrap_or(0);
        step.deliveries_expected += members_per_room as u64;
        step.deliveries_late += (members_per_room as u64).saturating_sub(got);
    }
    step
}

/// Requests per second that `connections` keep-alive connections get for `request`.
async fn saturate(port: u16, connections: usize, length: Duration, request: Vec<u8>) -> f64 {
    let request = Rc::new(request);
    let started = Instant::now();
    let end = started + length;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let request = request.clone();
            tokio::task::spawn_local(async move {
                let mut conn = Conn::open(port).await.unwrap();
                let mut done = 0u64;
                while Instant::now() < end {
                    if let Ok((200, _)) = conn.send(&request).await {
                        done += 1;
                    }
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// The control for a step: the same number of requests a second, on the same schedule and
/// connections, to `GET /healthz`, which does no work. Its tail is the machine's and the
/// framework's share of the step's tail: on a shared machine, a stall that shows here too
/// was not the app's doing. Returns the latencies and the count of failed requests.
async fn control_step(
    lanes: &[mpsc::UnboundedSender<Job>],
    users: usize,
    length: Duration,
) -> (Samples, u64) {
    let results: Rc<RefCell<(Samples, u64)>> = Rc::default();
    let started = Instant::now() + SETUP;
    let end = started + length;
    let tasks: Vec<_> = (0..users)
        .map(|i| {
            let lane = lanes[i % lanes.len()].clone();
            let results = results.clone();
            tokio::task::spawn_local(async move {
                let mut due = started + phase(i);
                while due < end {
                    tokio::time::sleep_until(due.into()).await;
                    let answer = call(&lane, get("/healthz", "none=1")).await;
                    let now = Instant::now();
                    let mut results = results.borrow_mut();
                    match answer {
                        Ok((200, _)) => results.0.add(now - due),
                        _ => results.1 += 1,
                    }
                    due += Duration::from_secs(1);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    Rc::try_unwrap(results).ok().unwrap().into_inner()
}

/// How many people poll during the login burst.
const LOGIN_BURST_USERS: usize = 5_000;

/// `count` login attempts at once, each on a connection of its own, for names that do not
/// exist: the server checks each against a bcrypt hash of its own cost all the same (so that
/// an unknown name takes as long as a wrong password), which is the CPU a real login costs.
/// Returns the attempts' latencies and how many were answered 401, as they should be.
async fn login_burst(port: u16, count: usize) -> (Samples, usize) {
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            tokio::task::spawn_local(async move {
                let body = format!(r#"{{"username":"nobody{i}","password":"not a password"}}"#);
                let request = format!(
                    "POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let sent = Instant::now();
                let mut conn = Conn::open(port).await.ok()?;
                let (status, _) = conn.send(request.as_bytes()).await.ok()?;
                Some((status, sent.elapsed()))
            })
        })
        .collect();
    let mut latencies = Samples::default();
    let mut refused = 0;
    for task in tasks {
        if let Some((status, took)) = task.await.unwrap() {
            latencies.add(took);
            refused += usize::from(status == 401);
        }
    }
    (latencies, refused)
}

/// Saturated throughput of each request, measured in turns of one second each, round after
/// round: on a shared machine whose speed drifts, every request meets the same drift, so their
/// ratios hold better than those of one long measurement after another. Returns each
/// request's requests/s in each round.
async fn saturate_in_turns(
    port: u16,
    connections: usize,
    rounds: u64,
    requests: &[Vec<u8>],
) -> Vec<Vec<f64>> {
    let mut rates = vec![Vec::new(); requests.len()];
    for _ in 0..rounds.max(1) {
        for (request, rates) in requests.iter().zip(&mut rates) {
            let rate = saturate(port, connections, Duration::from_secs(1), request.clone());
            rates.push(rate.await);
        }
    }
    rates
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The lowest and highest of `part / whole`, round by round, in percent.
fn ratio_range(part: &[f64], whole: &[f64]) -> (f64, f64) {
    part.iter()
        .zip(whole)
        .map(|(p, w)| 100.0 * p / w)
        .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(r), hi.max(r)))
}

/// What a posting burst measured.
struct Burst {
    /// Messages acknowledged per second, from the first post to the last answer.
    rate: f64,
    failed: u64,
    locked: u64,
    /// How long each acknowledged post waited for its answer.
    answers: Samples,
}

/// The most connections a posting burst opens: past that many posts waiting for their answer,
/// the next waits for one of them (and its wait counts in its answer's time).
const BURST_CONNECTIONS: usize = 1024;

/// Many people posting at once, an open loop at `rate`: each post goes out when it is due, on
/// an idle connection or a new one, as posts from many browsers would. (Over a fixed set of
/// connections, each taking one post at a time, the set's size would cap how many posts the
/// server sees at once, and so its group commits: a ceiling of the generator's, not the
/// server's.)
async fn burst(port: u16, people: &[Person], rate: u32, length: Duration) -> Burst {
    let seen = Rc::new(RefCell::new((Samples::default(), 0u64, 0u64)));
    let idle: Rc<RefCell<Vec<Conn>>> = Rc::default();
    let free = Rc::new(tokio::sync::Semaphore::new(BURST_CONNECTIONS));
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let started = Instant::now();
    let mut due = started;
    let mut tasks = Vec::new();
    let mut n = 0;
    while due < started + length {
        tokio::time::sleep_until(due.into()).await;
        let person = people[(n * 31) % people.len()].clone();
        let (seen, idle, free) = (seen.clone(), idle.clone(), free.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let body = format!("{{\"text\":\"burst message {n}\"}}");
            let path = format!("/api/rooms/{}/messages", person.room);
            let request = post_json(&path, &person, &body);
            let sent = Instant::now();
            let _permit = free.acquire().await.expect("never closed");
            let taken = idle.borrow_mut().pop();
            let conn = match taken {
                Some(conn) => Ok(conn),
                None => Conn::open(port).await,
            };
            let answer = match conn {
                Ok(mut conn) => {
                    let answer = conn.send(&request).await;
                    if answer.is_ok() {
                        idle.borrow_mut().push(conn);
                    }
                    answer
                }
                Err(err) => Err(err),
            };
            if tracing() && sent.elapsed() > TRACE_SLOWER_THAN {
                eprintln!(
                    "slow post: due at {} ms into the burst, answered in {} ms",
                    (sent - started).as_millis(),
                    sent.elapsed().as_millis()
                );
            }
            let mut seen = seen.borrow_mut();
            match answer {
                Ok((201, _)) => seen.0.add(sent.elapsed()),
                Ok((_, body)) if String::from_utf8_lossy(&body).contains("locked") => seen.2 += 1,
                _ => seen.1 += 1,
            }
        }));
        n += 1;
        due += interval;
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (answers, failed, locked) = seen.take();
    Burst {
        rate: answers.0.len() as f64 / started.elapsed().as_secs_f64(),
        failed,
        locked,
        answers,
    }
}

/// Poll p99 latency against simulated users, a line per configuration, as SVG (plotters).
fn chart(series: &[(String, Vec<(f64, f64)>)]) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 440)).into_drawing_area();
        root.fill(&WHITE).unwrap();
        let points = || series.iter().flat_map(|(_, points)| points.iter().copied());
        let max_users = points().map(|(users, _)| users).fold(1.0, f64::max);
        let max_ms = points().map(|(_, ms)| ms).fold(1.0, f64::max) * 1.5;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "poll p99 latency against simulated users",
                ("sans-serif", 18),
            )
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..max_users * 1.05, (0.5..max_ms).log_scale())
            .unwrap();
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(8)
            .x_label_formatter(&|users| format!("{users:.0}"))
            .y_label_formatter(&|ms| format!("{ms}"))
            .x_desc("users, each polling once a second")
            .y_desc("poll p99 (ms, log scale)")
            .draw()
            .unwrap();
        for (i, (name, points)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .unwrap()
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .unwrap();
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .unwrap();
        root.present().unwrap();
    }
    svg
}

/// What a whole run measured, for the report.
struct Report {
    steps: Vec<Step>,
    /// Requests per second in each saturation round.
    health: Vec<f64>,
    empty: Vec<f64>,
    one: Vec<f64>,
    burst: Burst,
    login_report: String,
    logins_ok: bool,
    control_report: String,
    control_errors: u64,
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    LOUD.store(full, Ordering::Relaxed);
    let config = Config::from_env(full);
    if has_taskset() {
        // The generator on CPU 1, the server on CPU 0.
        let _ = Command::new("taskset")
            .args(["-cp", "1", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status();
    }
    let out: PathBuf = [env!("CARGO_MANIFEST_DIR"), "target", "load"]
        .iter()
        .collect();
    std::fs::create_dir_all(&out).unwrap();
    let mut report = String::new();
    let mut summary = String::from(
        "| configuration | poll p99 | delivery p99 | server CPU (with nginx) | PostgreSQL CPU per 1,000 users | empty poll, share of /healthz |\n|---|---|---|---|---|---|\n",
    );
    let mut series = Vec::new();
    let mut skipped = Vec::new();
    let targets = if config.phases.load || config.phases.lobby {
        Target::all(&mut skipped, "load", true)
    } else {
        Vec::new()
    };
    let mut names: Vec<String> = targets.iter().map(Target::name).collect();
    for note in &skipped {
        say!("skipped: {note}");
    }
    for target in targets {
        say!("\n## {}\n", target.name());
        let (md, mut steps, empty_share) = run(&config, full, &target);
        say!("\n{md}");
        let _ = write!(report, "## {}\n\n{md}\n", target.name());
        // The summary's step: 10,000 users, or the largest step below that.
        if let Some(s) = steps
            .iter_mut()
            .filter(|s| s.users <= 10_000)
            .max_by_key(|s| s.users)
        {
            let per_thousand = 1000.0 / s.users as f64;
            let _ = writeln!(
                summary,
                "| {} ({} users) | {:.1} ms | {:.0} ms | {:.0}% | {} | {:.0}% |",
                target.name(),
                s.users,
                s.polls.ms(0.99),
                s.delivery.ms(0.99),
                100.0 * s.cpu / s.seconds,
                match target {
                    Target::Sqlite(_) => "(none)".to_owned(),
                    Target::Postgres { .. } => format!(
                        "{:.1}% of a core",
                        100.0 * s.database_cpu / s.seconds * per_thousand
                    ),
                },
                100.0 * empty_share,
            );
        }
        let mut points: Vec<(f64, f64)> = steps
            .iter_mut()
            .map(|s| (s.users as f64, s.polls.ms(0.99)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push((target.name(), points));
    }
    if config.phases.load {
        report = format!("## Summary\n\n{summary}\n{report}");
        say!("\n## Summary\n\n{summary}");
    }
    if config.phases.search {
        // Databases of their own, made now: the step fills them with a million messages.
        let mut columns = Vec::new();
        for target in Target::all(&mut skipped, "search", false) {
            say!("\n## Search: {}\n", target.name());
            names.push(format!("{} (search)", target.name()));
            columns.push((target.name(), search_step(&config, full, &target)));
        }
        let md = search_table(&config, &mut columns);
        say!("\n## Search\n\n{md}");
        let _ = write!(report, "## Search\n\n{md}\n");
    }
    if config.phases.files {
        let files_config = files::FilesConfig::from_env(full);
        let mut columns = Vec::new();
        for target in Target::all(&mut skipped, "files", false) {
            say!("\n## Files: {}\n", target.name());
            names.push(format!("{} (files)", target.name()));
            columns.push((target.name(), files::files_step(files_config, &target)));
        }
        let md = files::files_table(files_config, &mut columns);
        say!("\n## Files\n\n{md}");
        let _ = write!(report, "## Files\n\n{md}\n");
    }
    std::fs::write(out.join("report.md"), &report).unwrap();
    if config.phases.load {
        std::fs::write(out.join("latency.svg"), chart(&series)).unwrap();
    }
    say!(
        "wrote {}/report.md{}",
        out.display(),
        if config.phases.load {
            " and latency.svg (poll p99 against users, a line per configuration)"
        } else {
            ""
        }
    );
    if !full {
        let mut line = format!("load benchmark, tiny run: ran on {}", names.join("; "));
        if !skipped.is_empty() {
            let _ = write!(line, "; skipped {}", skipped.join("; "));
        }
        println!("{line}");
    }
}

/// One backend's whole run: populate, serve, measure. Its Markdown section and its steps.
fn run(config: &Config, full: bool, target: &Target) -> (String, Vec<Step>, f64) {
    let config = config.clone();
    let url = target.url();
    let setup = Instant::now();
    let people = populate(&url, config.users, config.rooms);
    if db::Backend::of(&url) == db::Backend::Postgres {
        // What autovacuum does within a minute of the bulk writes, during the steps (it took
        // a second of CPU on the generator's, analysing users and sessions above all), and had
        // done long ago where people registered over weeks.
        let mut conn = DbConnection::open(&url).unwrap();
        conn.batch_execute("VACUUM ANALYZE").unwrap();
    }
    say!(
        "populated {} users in {} rooms in {:.1} s",
        people.len(),
        config.rooms,
        setup.elapsed().as_secs_f64()
    );
    let server = target.serve();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let report = local.block_on(&runtime, async {
        let port = server.port;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Conn::open(port).await.is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !config.phases.load {
            return None;
        }
        let lanes = pool(port, config.connections);
        let post_lanes = pool(port, (config.connections / 8).max(1));
        let mut steps = Vec::new();
        let mut pages = vec![Page::default(); people.len()];
        if server.postgres {
            pin_postgres("1", POSTGRES_BEHIND_GENERATOR);
        }
        for &users in &config.steps {
            let users = users.min(people.len());
            let step = run_step(
                &server,
                &lanes,
                &post_lanes,
                &people,
                &mut pages,
                users,
                config.rooms,
                config.post_rate,
                config.step,
            )
            .await;
            say!("step: {users} users done ({} errors)", step.errors);
            if tracing() {
                eprint!("{}", step.seconds_report());
            }
            steps.push(step);
        }

        let control_users = steps.last().map_or(0, |s: &Step| s.users);
        let (cpu_before, control_started) = (server.cpu_seconds(), Instant::now());
        let (mut control, control_errors) = control_step(&lanes, control_users, config.step).await;
        // Over the schedule alone, as a step's CPU is.
        let control_seconds = (control_started.elapsed() - SETUP).as_secs_f64();
        let control_cpu = (server.cpu_seconds() - cpu_before) / control_seconds;
        let control_report = format!(
            "Control: the same {control_users} requests a second to GET /healthz (no session, no \
             work), on the same schedule and connections: p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} \
             ms, max {:.1} ms, {control_errors} errors, server CPU {:.0}%. Whatever of the last \
             step's tail shows here too is the machine's and the framework's, not the poll's; the \
             CPU is what answering that many requests costs before the app does anything.",
            control.ms(0.5),
            control.ms(0.99),
            control.ms(0.999),
            control.ms(1.0),
            control_cpu * 100.0,
        );
        say!("control done");

        // A burst of logins while people poll: the event loop must not wait for bcrypt.
        let burst_users = LOGIN_BURST_USERS.min(people.len());
        let count = config.login_burst;
        let logins = tokio::task::spawn_local(async move {
            tokio::time::sleep(config.step / 3).await;
            login_burst(port, count).await
        });
        let mut during_logins = run_step(
            &server,
            &lanes,
            &post_lanes,
            &people,
            &mut pages,
            burst_users,
            config.rooms,
            config.post_rate,
            config.step,
        )
        .await;
        let (mut login_latency, logins_refused) = logins.await.unwrap();
        let login_report = format!(
            "Login burst: {count} login attempts at once, each a full bcrypt check, while {burst_users} \
             people poll: poll p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms, {} errors; the logins were \
             answered in {:.0} ms (median) to {:.0} ms, {logins_refused} of {count} with the 401 expected.",
            during_logins.polls.ms(0.99),
            during_logins.polls.ms(0.999),
            during_logins.polls.ms(1.0),
            during_logins.errors,
            login_latency.ms(0.5),
            login_latency.ms(1.0),
        );
        say!("login burst done");

        // Saturated throughput, the endpoints taking turns.
        let alice = &people[0];
        let last: Value = {
            let path = format!("/api/rooms/{}/messages?after=0", alice.room);
            let (status, body) = call(&lanes[0], get(&path, &alice.cookie)).await.unwrap();
            serde_json::from_slice(&body).unwrap_or_else(|err| {
                let body = String::from_utf8_lossy(&body);
                panic!("a poll answered {status} with no JSON ({err}): {body}")
            })
        };
        let entries = last["messages"].as_array().unwrap();
        let last_id = entries.last().map_or(0, |e| e["id"].as_i64().unwrap());
        let last_message = entries
            .iter()
            .rev()
            .find(|e| e["kind"] == "message")
            .map_or(0, |e| e["id"].as_i64().unwrap());
        let sat_connections = config.connections.min(256);
        let empty = get(
            &format!("/api/rooms/{}/messages?after={last_id}", alice.room),
            &alice.cookie,
        );
        // A cursor just below the room's newest message: every answer carries it (and any
        // entries after it).
        let one = get(
            &format!(
                "/api/rooms/{}/messages?after={}",
                alice.room,
                last_message - 1
            ),
            &alice.cookie,
        );
        let rounds = config.saturation_rounds;
        let requests = [get("/healthz", "none=1"), empty, one];
        let mut rates = saturate_in_turns(port, sat_connections, rounds, &requests).await;
        let one = rates.pop().unwrap();
        let empty = rates.pop().unwrap();
        let health = rates.pop().unwrap();
        // The burst measures the posts, PostgreSQL's work: it gets its share of the CPU back.
        if server.postgres {
            pin_postgres("1", 0);
        }
        let burst = burst(port, &people, config.burst_rate, config.burst).await;
        Some(Report {
            steps,
            health,
            empty,
            one,
            burst,
            logins_ok: during_logins.errors == 0 && logins_refused == count,
            login_report,
            control_report,
            control_errors,
        })
    });
    let lobby = if config.phases.lobby {
        local.block_on(
            &runtime,
            lobby_step(&url, server.port, &people, config.lobby_messages),
        )
    } else {
        String::new()
    };
    let Some(report) = report else {
        return (lobby, Vec::new(), 0.0);
    };
    let Report {
        mut steps,
        health,
        empty,
        one,
        mut burst,
        login_report,
        logins_ok,
        control_report,
        control_errors,
    } = report;

    let mut md = String::new();
    let _ = writeln!(
        md,
        "{} pinned to one core{}; {} rooms; {} messages/s posted; {} s per step; {} connections.\n",
        match (server.children.len(), server.nginx.is_some()) {
            (1, false) => "Server".to_owned(),
            (1, true) => "One server and nginx (in front of it)".to_owned(),
            (n, _) => format!("{n} servers and nginx (round robin in front of them)"),
        },
        if has_taskset() && server.postgres {
            " (taskset -c 0), generator and PostgreSQL on the other"
        } else if has_taskset() {
            " (taskset -c 0), generator on the other"
        } else {
            " (taskset missing: not pinned)"
        },
        config.rooms,
        config.post_rate,
        config.step.as_secs(),
        config.connections
    );
    let _ = writeln!(
        md,
        "| users | polls/s | poll p50 | p99 | p99.9 | max | post p50 | post p99 | delivery p50 | delivery p99 | delivery max | not delivered | errors | server CPU | PostgreSQL CPU | presence rows written/s | generator CPU | generator late p99 |"
    );
    let _ = writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    let rss = server.peak_rss_mib();
    for s in &mut steps {
        let polls_per_s = s.polls.0.len() as f64 / s.seconds;
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} ms | {:.0} ms | {:.0} ms | {} of {} | {} | {:.0}% | {} | {} | {:.0}% | {:.1} ms |",
            s.users,
            polls_per_s,
            s.polls.ms(0.5),
            s.polls.ms(0.99),
            s.polls.ms(0.999),
            s.polls.ms(1.0),
            s.posts.ms(0.5),
            s.posts.ms(0.99),
            s.delivery.ms(0.5),
            s.delivery.ms(0.99),
            s.delivery.ms(1.0),
            s.deliveries_late,
            s.deliveries_expected,
            s.errors,
            100.0 * s.cpu / s.seconds,
            if server.postgres {
                format!("{:.0}%", 100.0 * s.database_cpu / s.seconds)
            } else {
                "(in the server's)".to_owned()
            },
            s.presence_rows
                .map_or("(in memory)".to_owned(), |rows| format!("{rows:.1}")),
            100.0 * s.generator_cpu / s.seconds,
            s.generator_late.ms(0.99),
        );
    }
    let _ = writeln!(md, "\n{control_report}");
    let _ = writeln!(md, "\nServer peak RSS over the whole run: {rss:.0} MiB.\n");
    let _ = writeln!(
        md,
        "| saturated, {} keep-alive connections, {} rounds of 1 s each | requests/s | of /healthz | lowest–highest round |",
        config.connections.min(256),
        health.len()
    );
    let _ = writeln!(md, "|---|---|---|---|");
    let _ = writeln!(md, "| GET /healthz | {:.0} | 100% | |", mean(&health));
    for (name, rates) in [("empty poll", &empty), ("poll returning one message", &one)] {
        let (lo, hi) = ratio_range(rates, &health);
        let _ = writeln!(
            md,
            "| {name} | {:.0} | {:.0}% | {lo:.0}–{hi:.0}% |",
            mean(rates),
            100.0 * mean(rates) / mean(&health)
        );
    }
    let _ = writeln!(
        md,
        "\nPosting burst (open loop at {} messages/s for {} s, {}): {:.0} messages/s acknowledged \
         (answered in p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms), {} failed, {} \"database is locked\".",
        config.burst_rate,
        config.burst.as_secs(),
        if server.postgres {
            "synchronous_commit = on"
        } else {
            "synchronous=FULL"
        },
        burst.rate,
        burst.answers.ms(0.5),
        burst.answers.ms(0.99),
        burst.answers.ms(1.0),
        burst.failed,
        burst.locked,
    );
    let _ = writeln!(md, "\n{login_report}");
    let errors: u64 = steps.iter().map(|s| s.errors).sum();
    if !full {
        // The tiny run only proves the benchmark works: every request answered.
        assert_eq!(errors, 0, "requests failed");
        assert!(logins_ok, "{login_report}");
        assert_eq!(control_errors, 0, "{control_report}");
        assert!(mean(&empty) > 0.0 && mean(&health) > 0.0 && mean(&one) > 0.0);
    }
    let _ = writeln!(md, "\n{lobby}");
    (md, steps, mean(&empty) / mean(&health))
}

/// The nginx binary, if this machine has one (`LOAD_NGINX` names another).
fn nginx() -> Option<String> {
    let named = std::env::var("LOAD_NGINX").ok();
    let candidates = named
        .into_iter()
        .chain(["/usr/sbin/nginx".to_owned(), "/usr/bin/nginx".to_owned()]);
    candidates
        .into_iter()
        .find(|path| std::path::Path::new(path).is_file())
}

/// How many servers the runs behind nginx have, one run each: LOAD_INSTANCES, "1,2,3" ("0":
/// none).
fn instances() -> Vec<usize> {
    std::env::var("LOAD_INSTANCES")
        .unwrap_or_else(|_| "1,2,3".into())
        .split(',')
        .map(|n| n.trim().parse().expect("LOAD_INSTANCES"))
        // 0: no configuration behind nginx.
        .filter(|&n| n > 0)
        .collect()
}

/// The database a run measures, made for it and dropped after it; and how many servers run
/// on it (behind nginx when `proxied`).
enum Target {
    Sqlite(tempfile::TempDir),
    Postgres {
        server: String,
        name: String,
        /// Several servers behind nginx (this path), or one alone (None).
        proxied: Option<(usize, String)>,
    },
}

impl Target {
    /// SQLite, then PostgreSQL on the server `LOAD_DATABASE` names (a URL of any database
    /// there, as a role that may create databases): the benchmark makes a database of its own
    /// there and drops it after. Without that server, SQLite alone, saying so; unless
    /// LOAD_DATABASE was given or CI is set, which makes it an error.
    /// What it leaves out, and why, goes into `skipped`. `tag` goes into the databases'
    /// names; with `nginx_too`, the configurations behind nginx follow.
    fn all(skipped: &mut Vec<String>, tag: &str, nginx_too: bool) -> Vec<Self> {
        let mut targets = vec![Self::Sqlite(tempfile::tempdir().unwrap())];
        let given = std::env::var("LOAD_DATABASE").ok();
        // Unset, the tests' server.
        let server = given.clone().unwrap_or_else(db::test_postgres);
        match DbConnection::open(&server) {
            Ok(mut admin) => {
                let mut database = |proxied: Option<(usize, String)>| {
                    let name = format!(
                        "chatroom_{tag}_{}_{}",
                        std::process::id(),
                        proxied.as_ref().map_or(0, |(n, _)| *n)
                    );
                    admin
                        .batch_execute(&format!("CREATE DATABASE {name}"))
                        .expect("a database for the benchmark");
                    Self::Postgres {
                        server: server.clone(),
                        name,
                        proxied,
                    }
                };
                targets.push(database(None));
                match nginx() {
                    _ if !nginx_too => {}
                    Some(nginx) => {
                        for n in instances() {
                            targets.push(database(Some((n, nginx.clone()))));
                        }
                    }
                    None if std::env::var_os("CI").is_some() => {
                        panic!("CI is set and nginx is missing (apt-get install nginx)")
                    }
                    None => skipped.push("several servers behind nginx: no nginx".to_owned()),
                }
                pin_postgres("1", 0);
            }
            Err(err) if given.is_some() || std::env::var_os("CI").is_some() => {
                panic!("no PostgreSQL at {}: {err}", db::shown(&server))
            }
            Err(err) => {
                // On one line: libpq's messages run over several.
                let err = err
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let note = format!(
                    "PostgreSQL: no server at {} ({err}); set CHATROOM_TEST_POSTGRES (or \
                     LOAD_DATABASE, for the benchmark alone)",
                    db::shown(&server)
                );
                if !skipped.contains(&note) {
                    skipped.push(note);
                }
            }
        }
        targets
    }

    fn name(&self) -> String {
        match self {
            Self::Sqlite(_) => "SQLite".into(),
            Self::Postgres { proxied: None, .. } => "PostgreSQL".into(),
            Self::Postgres {
                proxied: Some((1, _)),
                ..
            } => "PostgreSQL, 1 server behind nginx".into(),
            Self::Postgres {
                proxied: Some((n, _)),
                ..
            } => format!("PostgreSQL, {n} servers behind nginx"),
        }
    }

    /// Starts what this target measures on its database.
    fn serve(&self) -> Server {
        match self {
            Self::Postgres {
                proxied: Some((n, nginx)),
                ..
            } => Server::cluster(&self.url(), *n, nginx),
            _ => Server::start(&self.url()),
        }
    }

    fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => dir.path().join("load.db").to_str().unwrap().to_owned(),
            Self::Postgres { server, name, .. } => db::on_database(server, name),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Self::Postgres { server, name, .. } = self {
            if let Ok(mut admin) = DbConnection::open(server) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
            // Every CPU the machine has (not this process's: it is pinned itself), at the usual
            // priority.
            let online = std::fs::read_to_string("/sys/devices/system/cpu/online");
            pin_postgres(online.as_deref().unwrap_or("0-1").trim(), 0);
        }
    }
}
