//! Three servers on one PostgreSQL database behind real nginx, run with the shipped
//! deploy/nginx.conf, while one server at a time is killed with SIGKILL and started again.
//! Writers post through the proxy (sending a post again with the same client_id after a lost
//! answer, as chat.js does) and pollers poll through it, so each request may reach any server.
//! Then: the history checker's rules (every acknowledged message stored once with its
//! number, every poller's view a run of the room's log), and logout, room deletion,
//! presence, typing and the login throttle holding across the servers.
//!
//! PostgreSQL only (tests/crash_postgres.rs runs it): on SQLite one server runs.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;
use serde_json::Value;

use super::database::{TestDatabase, backend};
use super::nginx::Nginx;
use super::programs::{Program, available};
use super::server::Server;
use super::{
    Client, Counts, PASSWORD, Traffic, check_history, rng, room_id, seed, setting, stored_log,
};

/// Waits until `check` holds, at most `within`.
async fn within<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The same client, talking to one server directly instead of through the proxy.
fn direct(client: &Client, server: &Server) -> Client {
    Client {
        http: client.http.clone(),
        base: server.url(),
        csrf: client.csrf.clone(),
    }
}

/// Waits until `check`, given `client` talking to each server directly, holds on every one,
/// at most `limit` each.
async fn on_every_server<F, Fut>(
    servers: &[Server],
    client: &Client,
    limit: Duration,
    what: &str,
    check: F,
) where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = bool>,
{
    for server in servers {
        let here = direct(client, server);
        within(limit, &format!("{what} on {}", server.url()), || {
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
    let nginx_command = Program::new("nginx", "CHATROOM_TEST_NGINX", "nginx");
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

    let owner = Client::register(&base, "owner").await;
    let mut rooms = Vec::new();
    for r in 0..3 {
        rooms.push(room_id(
            &owner.create_room(&format!("room {r}")).await.unwrap(),
        ));
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
    let (anomalies, counts) = check_history(&posts, &rooms, &seen_by_poller, &stored);
    let Counts {
        acked,
        unknown,
        refused,
    } = counts;
    let retried = posts.iter().filter(|p| p.retries > 0).count();
    println!(
        "cluster test: 3 servers behind nginx, {kills} kills, {} posts: {acked} acknowledged, \
         {unknown} unknown, {refused} refused ({retried} sent again after a lost answer); \
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
        acked > 0,
        "nothing was acknowledged: the test tested nothing"
    );
    assert!(anomalies.is_empty(), "{} anomalies", anomalies.len());

    // Every server is up again. What one server is told, all of them honour.
    let alice = Client::register(&base, "alice").await;
    let bob = Client::register(&base, "bob").await;
    let room = room_id(&alice.create_room("Across").await.unwrap());
    bob.enter(room).await;
    let poll_json = |client: Client, typing: bool| async move {
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
    let bob_on_first = direct(&bob, &servers[0]);
    let names = |body: &Option<Value>, key: &str| -> Vec<String> {
        body.as_ref()
            .and_then(|b| b[key].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect()
    };
    for server in &servers {
        let alice_here = direct(&alice, server);
        within(
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
        .form(&[("csrf_token", alice.csrf.as_str())])
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
            bob.poll(room, 0)
                .await
                .is_ok_and(|r| r.status() == StatusCode::GONE)
        },
    )
    .await;

    // Logging out through the proxy ends the session on every server within a second.
    let res = bob
        .http
        .post(format!("{base}/logout"))
        .form(&[("csrf_token", bob.csrf.as_str())])
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
