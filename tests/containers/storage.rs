//! The app's container on a data volume that fills up: a 3 MB tmpfs at /data, filled by
//! posting. Posts are refused with 503 `storage_full` and Retry-After, the container turns
//! unhealthy, the log says so once and without a backtrace, and nothing acknowledged is lost;
//! once a filler file is deleted the same container takes posts and is healthy again.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::person::Person;
use super::{Removed, build_images, docker, logs, programs, run, unique, wait_until_healthy};

/// The data volume's size: small enough to fill in seconds.
const TMPFS: &str = "size=3m";
/// How many posts may be tried before the volume must have filled.
const MOST_POSTS: usize = 20_000;

/// The container's health by its image's HEALTHCHECK.
fn health(container: &str) -> String {
    run(Command::new("docker").args(["inspect", "-f", "{{.State.Health.Status}}", container]))
}

/// Waits until the container's health is `wanted`: how long that took.
fn wait_for_health(container: &str, wanted: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let status = health(container);
        if status == wanted {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{container} not {wanted} within {within:?} ({status}): {}",
            logs(container)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn a_container_whose_volume_fills_refuses_posts_with_storage_full_and_recovers_when_given_room()
 {
    if !programs::available(&[docker()]) {
        return;
    }
    build_images();
    let name = unique("full");
    let _removed = Removed {
        containers: vec![name.clone()],
        volume: name.clone(),
    };
    let image = std::env::var("CHATROOM_IMAGE").unwrap_or_else(|_| "chatroom".to_owned());
    // The image's user is uid 10001 (Dockerfile); the tmpfs is theirs.
    run(Command::new("docker").args([
        "run",
        "-d",
        "--name",
        &name,
        "-p",
        "127.0.0.1::8080",
        "--tmpfs",
        &format!("/data:rw,{TMPFS},uid=10001,gid=10001,mode=0750"),
        "-e",
        "RUST_BACKTRACE=1",
        &image,
        "serve",
        "--bcrypt-cost",
        "4",
        // Filling the volume takes a few thousand posts from one person.
        "--message-limit",
        "1000000",
    ]));
    let address = run(Command::new("docker").args(["port", &name, "8080/tcp"]));
    let url = format!("http://{}", address.lines().next().unwrap_or_default());
    wait_until_healthy(&name);
    // Room to give back later.
    run(Command::new("docker").args([
        "exec",
        &name,
        "dd",
        "if=/dev/zero",
        "of=/data/filler",
        "bs=64k",
        "count=8",
    ]));

    let me = Person::register(&url, "filler").await;
    let room = me.create_room("Full").await;
    let post = |n: usize| {
        me.http
            .post(format!("{url}/api/rooms/{room}/messages"))
            .header("X-CSRF-Token", &me.csrf)
            .json(&json!({
                "text": format!("{n} {}", "x".repeat(1500)),
                "client_id": format!("full-{n}"),
            }))
            .send()
    };

    // Fill the volume by posting until a post is refused.
    let mut acknowledged = Vec::new();
    let refused = loop {
        let n = acknowledged.len();
        assert!(
            n < MOST_POSTS,
            "{MOST_POSTS} posts and the volume never filled"
        );
        let answer = post(n).await.expect("the server answers");
        if answer.status() != 201 {
            break answer;
        }
        acknowledged.push(n);
    };
    let status = refused.status();
    assert_eq!(
        status,
        503,
        "a post refused on a full volume: {}",
        refused.text().await.unwrap_or_default()
    );
    assert!(
        refused.headers().contains_key("retry-after"),
        "Retry-After on a refused post"
    );
    let body: Value = refused.json().await.expect("a JSON error");
    assert_eq!(body["error"], "storage_full", "{body}");
    for n in acknowledged.len()..acknowledged.len() + 5 {
        let answer = post(n).await.expect("the server answers");
        assert_eq!(answer.status(), 503, "post {n} on a full volume");
    }

    let healthz = reqwest::get(format!("{url}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(healthz.status(), 503, "/healthz while the volume is full");
    let healthz: Value = healthz.json().await.expect("a JSON health answer");
    assert_eq!(healthz["error"], "storage_full", "{healthz}");
    // People go on trying to post; each refusal keeps the fault standing, and the image's
    // health check (every 2 s, three failures) turns the container unhealthy.
    let started = Instant::now();
    let mut n = acknowledged.len() + 5;
    while health(&name) != "unhealthy" {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} not unhealthy within 30 s of a full volume: {}",
            logs(&name)
        );
        let answer = post(n).await.expect("the server answers");
        assert_eq!(answer.status(), 503, "post {n} on a full volume");
        n += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "containers: full volume, the container unhealthy {:?} after the refusal",
        started.elapsed()
    );
    let log = logs(&name);
    assert_eq!(
        log.matches("storage fault storage_full:").count(),
        1,
        "one report of the full volume: {log}"
    );
    assert!(!log.contains("backtrace"), "no backtrace in the log: {log}");

    run(Command::new("docker").args(["exec", &name, "rm", "/data/filler"]));
    let again = acknowledged.len() + 100;
    let answer = post(again).await.expect("the server answers");
    assert_eq!(answer.status(), 201, "a post once there is room again");
    acknowledged.push(again);
    let took = wait_for_health(&name, "healthy", Duration::from_secs(60));
    eprintln!("containers: room given back, the container healthy again {took:?} later");

    // Every acknowledged post is in the log once, in the order acknowledged, with no gap.
    let log = me.log(room).await;
    let numbers: Vec<i64> = log.iter().map(|e| e.id).collect();
    let first = numbers.first().copied().unwrap_or(1);
    assert!(
        numbers
            .iter()
            .zip(first..)
            .all(|(&n, expected)| n == expected),
        "a gap in the log: {numbers:?}"
    );
    let posted: Vec<usize> = log
        .iter()
        .filter(|e| e.kind == "message")
        .filter_map(|e| e.text.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(
        posted, acknowledged,
        "the acknowledged posts, once each, in order"
    );
}
