//! Three servers on one PostgreSQL database behind real nginx, run with the shipped
//! deploy/nginx.conf, while one server at a time is killed with SIGKILL and started again.
//! Writers post through the proxy (sending a post again with the same client_id after a lost
//! answer, as chat.js does) and pollers poll through it, so each request may reach any server.
//! Then: the history checker's rules (every acknowledged message stored once with its
//! number, every poller's view a run of the room's log), and logout, room deletion,
//! presence, typing and the login throttle holding across the servers.
//!
//! PostgreSQL only (tests/crash_postgres.rs runs it): on SQLite one server runs.

use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::database::{TestDatabase, backend};
use super::nginx::Nginx;
use super::programs::{Program, available};
use super::server::Server;
use super::wait::wait_until;
use super::{
    Counts, PASSWORD, Person, Traffic, changes, check_history, register, rng, seed, setting,
    stored_log,
};

/// Waits until `check`, given `client` talking to each server directly, holds on every one,
/// at most `limit` each.
async fn on_every_server<F, Fut>(
    servers: &[Server],
    client: &Person,
    limit: Duration,
    what: &str,
    check: F,
) where
    F: Fn(Person) -> Fut,
    Fut: Future<Output = bool>,
{
    for server in servers {
        let here = client.on(&server.url());
        wait_until(limit, &format!("{what} on {}", server.url()), || {
            check(here.clone())
        })
        .await;
    }
}

#[actix_web::test]
async fn three_servers_behind_nginx_act_as_one_while_one_at_a_time_is_killed() {
    if backend() != chatroom::db::Backend::Postgres {
        return;
    }
    let nginx_command = Program::new("nginx", "nginx", "CHATROOM_TEST_NGINX", "nginx");
    if !available(std::slice::from_ref(&nginx_command)) {
        return;
    }
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let seconds = setting("CLUSTER_SECONDS", 8);
    let writers = setting("CLUSTER_WRITERS", 6) as usize;
    let pollers = setting("CLUSTER_POLLERS", 9) as usize;
    let seed = seed();
    let mut tasks = 0..;
    let mut next_rng = || rng(seed, tasks.next().unwrap_or_default());

    // Started together on a new database: each must come up (migrations take turns).
    let mut servers: Vec<Server> = (0..3)
        .map(|_| Server::start_limiting_logins(&db.url, 5))
        .collect();
    for server in &servers {
        server.wait_until_up().await;
    }
    let nginx = Nginx::start(
        &nginx_command.command,
        &[],
        &servers.iter().map(Server::url).collect::<Vec<_>>(),
    );
    nginx.wait_until_listening();
    let base = nginx.url();

    let mut owner = register(&base, "owner").await;
    let mut rooms = Vec::new();
    for r in 0..3 {
        rooms.push(owner.create_room(&format!("room {r}")).await);
    }
    let traffic = Traffic::start(
        &base,
        &rooms,
        writers,
        pollers,
        // Four catch-ups: every server has the last post by then.
        Duration::from_secs(1),
        &mut next_rng,
    )
    .await;

    // One server at a time: killed, down a moment, started again on its port.
    let started = Instant::now();
    let mut kills = 0;
    let mut killer = next_rng();
    while started.elapsed() < Duration::from_secs(seconds) || kills < 3 {
        let pause = killer.random_range(500..1500);
        actix_web::rt::time::sleep(Duration::from_millis(pause)).await;
        let victim = killer.random_range(0..servers.len());
        servers[victim].kill();
        kills += 1;
        let down = killer.random_range(0..1000);
        actix_web::rt::time::sleep(Duration::from_millis(down)).await;
        servers[victim].spawn();
        servers[victim].wait_until_up().await;
    }
    let (posts, seen_by_poller) = traffic.finish().await;

    let stored = stored_log(&db);
    let (mut anomalies, counts) = check_history(&posts, &rooms, &seen_by_poller, &stored);
    let (changed, changes_acked) = changes::check_changes(&posts, &stored);
    anomalies.extend(changed);
    let mut reader = register(&base, "reader").await;
    anomalies.extend(changes::check_api_state(&mut reader, &rooms, &stored).await);
    let Counts {
        acked,
        unknown,
        refused,
    } = counts;
    let retried = posts.iter().filter(|p| p.retries > 0).count();
    println!(
        "cluster test: 3 servers behind nginx, {kills} kills, {} posts: {acked} acknowledged, \
         {unknown} unknown, {refused} refused ({retried} sent again after a lost answer); \
         {changes_acked} edits and reactions acknowledged; \
         {} entries stored; {} pollers; {} anomalies",
        posts.len(),
        stored.len(),
        seen_by_poller.len(),
        anomalies.len()
    );
    for anomaly in anomalies.iter().take(20) {
        println!("  anomaly: {anomaly}");
    }
    assert!(
        acked > 0 && changes_acked > 0,
        "nothing was acknowledged: the test tested nothing"
    );
    assert!(anomalies.is_empty(), "{} anomalies", anomalies.len());

    // Every server is up again. What one server is told, all of them honour.
    let mut alice = register(&base, "alice").await;
    let mut bob = register(&base, "bob").await;
    let room = alice.create_room("Across").await;
    bob.enter(room).await;

    // An edit and a reaction made through one server: every server shows both.
    let mut alice_on_first = alice.on(&servers[0].url());
    let said = alice_on_first.say(room, "first words").await;
    let id = said["id"].as_i64().unwrap();
    let token = alice_on_first.csrf().await;
    let res = alice_on_first
        .http
        .patch(alice_on_first.url(&format!("/api/rooms/{room}/messages/{id}")))
        .header("X-CSRF-Token", token)
        .json(&json!({ "text": "better words" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = alice_on_first
        .post_json(
            &format!("/api/rooms/{room}/messages/{id}/reactions"),
            &json!({ "emoji": "🎉" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    on_every_server(
        &servers,
        &bob,
        Duration::from_secs(2),
        "the edit and the reaction",
        |bob| async move {
            let Ok(res) = bob.try_poll(room, 0).await else {
                return false;
            };
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let entries = body["messages"].as_array().cloned().unwrap_or_default();
            let message = entries.iter().find(|e| e["id"].as_i64() == Some(id));
            let kinds: Vec<&str> = entries.iter().filter_map(|e| e["kind"].as_str()).collect();
            message.is_some_and(|m| {
                m["text"] == "better words"
                    && m["edited"] == true
                    && m["reactions"][0]["by"] == json!(["alice"])
            }) && kinds.ends_with(&["message", "edited", "reacted"])
        },
    )
    .await;
    let poll_json = |client: Person, typing: bool| async move {
        let typing = if typing { "&typing=1" } else { "" };
        let res = client
            .http
            .get(format!(
                "{}/api/rooms/{room}/messages?after=0{typing}",
                client.base
            ))
            .send()
            .await;
        match res {
            Ok(res) if res.status() == StatusCode::OK => res.json::<Value>().await.ok(),
            _ => None,
        }
    };
    // Presence and typing: bob's polls reach one server only; every server shows them.
    let bob_on_first = bob.on(&servers[0].url());
    let names = |body: &Option<Value>, key: &str| -> Vec<String> {
        body.as_ref()
            .and_then(|b| b[key].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect()
    };
    for server in &servers {
        let alice_here = alice.on(&server.url());
        wait_until(
            Duration::from_secs(2),
            "bob present and typing everywhere",
            || {
                let (alice_here, bob_on_first) = (alice_here.clone(), bob_on_first.clone());
                async move {
                    poll_json(bob_on_first, true).await;
                    let body = poll_json(alice_here, false).await;
                    names(&body, "present").contains(&"bob".to_owned())
                        && names(&body, "typing") == ["bob"]
                }
            },
        )
        .await;
    }

    // Deleting the room through the proxy: every server answers 410 within two seconds.
    let res = alice
        .http
        .post(format!("{base}/rooms/{room}/delete"))
        .form(&[("csrf_token", alice.csrf.as_deref().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    on_every_server(
        &servers,
        &bob,
        Duration::from_secs(2),
        "the deletion",
        |bob| async move {
            bob.try_poll(room, 0)
                .await
                .is_ok_and(|r| r.status() == StatusCode::GONE)
        },
    )
    .await;

    // Logging out through the proxy ends the session on every server within a second.
    let res = bob
        .http
        .post(format!("{base}/logout"))
        .form(&[("csrf_token", bob.csrf.as_deref().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    on_every_server(
        &servers,
        &bob,
        Duration::from_secs(1),
        "the logout",
        |bob| async move {
            let lobby = bob.http.get(format!("{}/api/lobby", bob.base)).send().await;
            lobby.is_ok_and(|r| r.status() == StatusCode::UNAUTHORIZED)
        },
    )
    .await;

    // Five wrong passwords for alice, one server after another: the sixth try, wherever it
    // lands, is throttled, even with the right password.
    let mut statuses = Vec::new();
    for attempt in 0..6 {
        let server = &servers[attempt % servers.len()];
        statuses.push(log_in(&server.url(), "alice", "wrong guess").await);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    assert_eq!(log_in(&base, "alice", PASSWORD).await, 429);
}

/// A login through the JSON API; its status.
async fn log_in(base: &str, name: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({ "username": name, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// One address (127.0.0.2) floods nginx with the shipped deploy/nginx.conf: thousands of
/// requests that send part of their header and stall, opened as fast as it can, then
/// requests that send their header and stall on the body, then a burst of logins. Meanwhile
/// another address (127.0.0.1) chats: every `/healthz` on a new connection is answered, and
/// every post acknowledged, within 2 s. Then nginx has ended every stalled request by itself.
///
/// FLOOD_CONNECTIONS (default 10,000, capped by this process's open-file limit) sets the size
/// of the flood: more than the 2 × 4,096 connections that took the old config down.
#[actix_web::test]
async fn one_address_flooding_the_cluster_with_stalled_requests_leaves_it_to_everyone_else() {
    if backend() != chatroom::db::Backend::Postgres {
        return;
    }
    let nginx_command = Program::new("nginx", "nginx", "CHATROOM_TEST_NGINX", "nginx");
    if !available(std::slice::from_ref(&nginx_command)) {
        return;
    }
    let Some(db) = TestDatabase::fresh() else {
        return;
    };
    let files = raise_open_file_limit();
    let wanted = setting("FLOOD_CONNECTIONS", 10_000);
    let flood_size = usize::try_from(wanted.min(files.saturating_sub(2_000))).unwrap_or(0);

    let servers: Vec<Server> = (0..2).map(|_| Server::start(&db.url)).collect();
    for server in &servers {
        server.wait_until_up().await;
    }
    let nginx = Nginx::start(
        &nginx_command.command,
        &[],
        &servers.iter().map(Server::url).collect::<Vec<_>>(),
    );
    nginx.wait_until_listening();
    let base = nginx.url();
    let mut alice = register(&base, "alice").await;
    let room = alice.create_room("Calm").await;
    alice.enter(room).await;

    // The flood: part of a header on each connection, and then nothing; a connection nginx
    // closes is opened again at once, as an attacker would.
    let stop_flood = std::rc::Rc::new(std::cell::Cell::new(false));
    let flood = actix_web::rt::spawn(flood_of_half_sent_requests(
        nginx.port,
        flood_size,
        stop_flood.clone(),
    ));
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile, 127.0.0.1 chats: a /healthz on a new connection and a post, every 250 ms.
    let chatting = async {
        let (mut answered, mut acknowledged, mut slowest) = (0, 0, Duration::ZERO);
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        for n in 0..ROUNDS {
            let asked = Instant::now();
            let health = fresh.get(format!("{base}/healthz")).send().await;
            answered += usize::from(health.is_ok_and(|r| r.status() == StatusCode::OK));
            let post = actix_web::rt::time::timeout(
                Duration::from_secs(2),
                alice.try_send(room, &format!("calm-{n}")),
            )
            .await;
            acknowledged +=
                usize::from(matches!(post, Ok(Ok(r)) if r.status() == StatusCode::CREATED));
            slowest = slowest.max(asked.elapsed());
            actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        }
        stop_flood.set(true);
        (answered, acknowledged, slowest)
    };
    // ... while 127.0.0.2 also sends headers and stalls on the body, and tries passwords.
    let flooding = async {
        let refused_in_flight =
            futures_util::future::join_all((0..200).map(|_| stalled_body(nginx.port, room))).await;
        let logins = futures_util::future::join_all((0..40).map(|_| wrong_login(&base))).await;
        (refused_in_flight, logins)
    };
    let ((answered, acknowledged, slowest), (in_flight, logins)) =
        futures_util::future::join(chatting, flooding).await;
    let in_flight_refused = in_flight.iter().filter(|&&refused| refused).count();
    let logins_refused = logins.iter().filter(|&&status| status == 429).count();
    let Flood {
        most_open,
        opened,
        ended_by_nginx,
        oldest_ended,
    } = flood.await.unwrap();
    println!(
        "flood: up to {most_open} half-sent requests from 127.0.0.2 open at once ({opened} \
         opened, {ended_by_nginx} ended by nginx, the longest-lived after {oldest_ended:?}); \
         127.0.0.1 meanwhile: {answered} of {ROUNDS} /healthz on new connections answered, \
         {acknowledged} of {ROUNDS} posts acknowledged, slowest pair {slowest:?}; requests \
         stalled on their body: {in_flight_refused} of 200 refused (429); logins: \
         {logins_refused} of 40 refused (429)"
    );
    assert_eq!(
        answered, ROUNDS,
        "/healthz went unanswered during the flood"
    );
    assert_eq!(
        acknowledged, ROUNDS,
        "posts went unacknowledged during the flood"
    );
    assert!(
        most_open > 8_192,
        "the flood was too small to test anything"
    );
    assert!(
        in_flight_refused >= 200 - 64,
        "one address had more than 64 requests in flight"
    );
    assert!(
        (15..=19).contains(&logins_refused),
        "40 logins at once: a burst of 21 (and one more a second) go on, the rest get 429"
    );
    // nginx ended the stalled requests by itself, after its 10 s for a header.
    assert!(
        ended_by_nginx >= flood_size,
        "nginx left stalled requests open"
    );
    assert!(oldest_ended < Duration::from_secs(13), "{oldest_ended:?}");

    // The access log names each client by its own address, and no flood hid alice.
    let mut log = nginx.access_log();
    wait_until(Duration::from_secs(3), "the access log", || {
        log = nginx.access_log();
        let written = log.contains("127.0.0.2 [") && log.contains("127.0.0.1 [");
        async move { written }
    })
    .await;
    assert!(
        log.lines()
            .any(|l| l.starts_with("127.0.0.2 [") && l.contains("\" 429 "))
    );
}

/// Rounds of the chat during the flood, 250 ms apart: longer than nginx gives a header.
const ROUNDS: usize = 52;

/// What the flood did.
struct Flood {
    /// Half-sent requests open at once, at most.
    most_open: usize,
    /// Connections opened in all.
    opened: usize,
    /// Connections nginx closed.
    ended_by_nginx: usize,
    /// The longest time nginx let one live.
    oldest_ended: Duration,
}

/// Keeps `size` half-sent requests open from 127.0.0.2 until `stop`: each one nginx closes
/// is opened again. Every connection is closed when it returns.
async fn flood_of_half_sent_requests(
    port: u16,
    size: usize,
    stop: std::rc::Rc<std::cell::Cell<bool>>,
) -> Flood {
    let mut open: Vec<(Instant, tokio::net::TcpStream)> = Vec::with_capacity(size);
    let mut flood = Flood {
        most_open: 0,
        opened: 0,
        ended_by_nginx: 0,
        oldest_ended: Duration::ZERO,
    };
    while !stop.get() {
        let missing = size - open.len();
        for batch in (0..missing).collect::<Vec<_>>().chunks(500) {
            let streams =
                futures_util::future::join_all(batch.iter().map(|_| half_sent_request(port))).await;
            let now = Instant::now();
            open.extend(streams.into_iter().flatten().map(|stream| (now, stream)));
            flood.opened += batch.len();
        }
        flood.most_open = flood.most_open.max(open.len());
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        open.retain(|(since, stream)| {
            let mut byte = [0; 1];
            let still_open = matches!(stream.try_read(&mut byte),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
            if !still_open {
                flood.ended_by_nginx += 1;
                flood.oldest_ended = flood.oldest_ended.max(since.elapsed());
            }
            still_open
        });
    }
    flood
}

/// The open-file limit, raised to the hard limit (each flood connection is a file).
fn raise_open_file_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// A connection from 127.0.0.2 to 127.0.0.1:`port`. Its own port is chosen here, below the
/// kernel's ephemeral range: the kernel's own choice, made at bind, searches longer and longer
/// as thousands of ports are taken.
async fn from_second_address(port: u16) -> Option<tokio::net::TcpStream> {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT_PORT: AtomicU16 = AtomicU16::new(10_000);
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    // A port left in TIME_WAIT by an earlier run may be taken again.
    socket.set_reuseaddr(true).ok()?;
    let mut bound = false;
    for _ in 0..100 {
        let local = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
        if !(10_000..32_000).contains(&local) {
            NEXT_PORT.store(10_000, Ordering::Relaxed);
            continue;
        }
        if socket
            .bind(std::net::SocketAddr::from(([127, 0, 0, 2], local)))
            .is_ok()
        {
            bound = true;
            break;
        }
    }
    if !bound {
        return None;
    }
    let connect = socket.connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    actix_web::rt::time::timeout(Duration::from_secs(2), connect)
        .await
        .ok()?
        .ok()
}

/// A request that sends part of its header and stalls; its connection, if it opened.
async fn half_sent_request(port: u16) -> Option<tokio::net::TcpStream> {
    use tokio::io::AsyncWriteExt;
    let mut stream = from_second_address(port).await?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .ok()?;
    Some(stream)
}

/// A post that sends its header and one byte of a body promised to be longer: whether nginx
/// refused it at once (429) rather than wait for the rest.
async fn stalled_body(port: u16, room: i32) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(mut stream) = from_second_address(port).await else {
        return false;
    };
    let request = format!(
        "POST /api/rooms/{room}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut answer = [0; 12];
    let read = actix_web::rt::time::timeout(Duration::from_secs(3), stream.read_exact(&mut answer));
    matches!(read.await, Ok(Ok(_))) && answer == *b"HTTP/1.1 429"
}

/// A login with a wrong password from 127.0.0.2; its status (0 if it got none).
async fn wrong_login(base: &str) -> u16 {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    client
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({ "username": "alice", "password": "wrong guess" }))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

/// One server behind real nginx running the shipped config. Its fields end in this order:
/// nginx, the server, then the database.
struct OneServerBehindNginx {
    nginx: Nginx,
    _server: Server,
    _db: TestDatabase,
}

impl OneServerBehindNginx {
    /// None (the test is skipped) where nginx or the database is not at hand.
    async fn start() -> Option<Self> {
        let nginx_command = Program::new("nginx", "nginx", "CHATROOM_TEST_NGINX", "nginx");
        if !available(std::slice::from_ref(&nginx_command)) {
            return None;
        }
        let db = TestDatabase::fresh()?;
        let server = Server::start(&db.url);
        server.wait_until_up().await;
        let nginx = Nginx::start(&nginx_command.command, &[], &[server.url()]);
        nginx.wait_until_listening();
        Some(Self {
            nginx,
            _server: server,
            _db: db,
        })
    }
}

/// nginx passes the Host the browser asked for, port included: an older browser's POST, which
/// carries Origin but no Sec-Fetch-Site, is same-site on nginx's own port (with `Host $host`
/// the port was dropped, and the post refused as cross-site).
#[actix_web::test]
async fn through_nginx_on_its_own_port_a_post_with_origin_and_no_sec_fetch_site_is_accepted() {
    let Some(one) = OneServerBehindNginx::start().await else {
        return;
    };
    let nginx = &one.nginx;
    let base = nginx.url();
    let alice = register(&base, "alice").await;
    let res = alice
        .http
        .post(format!("{base}/rooms"))
        .header("Origin", &base)
        .form(&[
            ("name", "Porch"),
            ("csrf_token", alice.csrf.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{base}");
    let elsewhere = alice
        .http
        .post(format!("{base}/rooms"))
        .header("Origin", "http://127.0.0.1")
        .form(&[
            ("name", "Shed"),
            ("csrf_token", alice.csrf.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN, "another port");
}

/// Invitation and setup links are as good as a password until used: nginx's access log shows
/// the path they asked for, never their tokens.
#[actix_web::test]
async fn nginx_logs_no_invitation_or_setup_token() {
    let Some(one) = OneServerBehindNginx::start().await else {
        return;
    };
    let nginx = &one.nginx;
    let client = reqwest::Client::new();
    // The server decodes a parameter's name, so `%73etup` is `setup` to it.
    for path in [
        "/register?invite=SECRET-INVITE",
        "/register?a=1&Setup=SECRET-SETUP",
        "/login?%73etup=SECRET-ENCODED",
    ] {
        let res = client
            .get(format!("{}{path}", nginx.url()))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
    let logged = super::wait::eventually(Duration::from_secs(5), || async {
        let log = nginx.access_log();
        log.matches("/register?[redacted]").count() == 2 && log.contains("/login?[redacted]")
    })
    .await;
    let log = nginx.access_log();
    assert!(logged, "{log}");
    assert!(!log.contains("SECRET"), "{log}");
}
