//! The images and the compose cluster (README: "Running in containers"), as people run them:
//! scripts/images builds the images (seconds when they are here), then one container keeps
//! its accounts in a named volume across a replacement, and the compose cluster chats through
//! its proxy. Skipped where Docker or Compose is missing. Everything a test starts is removed
//! when it ends, failed or not. Run alone with `cargo test --test containers`.

#[allow(dead_code)]
#[path = "support/programs.rs"]
mod programs;

use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use programs::Program;
use serde_json::{Value, json};

#[path = "containers/chaos.rs"]
mod chaos;
#[path = "containers/person.rs"]
mod person;
#[path = "containers/storage.rs"]
mod storage;

/// How long a container or the cluster may take to become healthy before the test fails.
const HEALTHY_WITHIN: Duration = Duration::from_secs(120);

fn docker() -> Program {
    Program::new("Docker", "docker", "CHATROOM_TEST_DOCKER", "docker.io")
}

fn compose() -> Program {
    Program::new(
        "Docker Compose",
        "docker-compose",
        "CHATROOM_TEST_COMPOSE",
        "docker-compose",
    )
}

/// Runs a command, failing the test with its output if it fails.
fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Runs a command whose failure does not matter (cleaning up).
fn run_quietly(command: &mut Command) -> Option<Output> {
    command.output().ok()
}

/// Builds the images once per run of this binary (its tests share them).
fn build_images() {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !*built {
        run(&mut Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/images"
        )));
        *built = true;
    }
}

/// A name no other test or run uses at the same time, for containers, volumes and projects.
fn unique(what: &str) -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    format!(
        "chatroom-test-{what}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// Containers and a volume removed when the test ends, however it ends.
struct Removed {
    containers: Vec<String>,
    volume: String,
}

impl Drop for Removed {
    fn drop(&mut self) {
        for container in &self.containers {
            run_quietly(Command::new("docker").args(["rm", "-f", "-v", container]));
        }
        run_quietly(Command::new("docker").args(["volume", "rm", "-f", &self.volume]));
    }
}

/// A compose project taken down with its volumes when the test ends, however it ends.
struct Cluster {
    project: String,
    port: u16,
}

impl Cluster {
    /// Builds the images, brings a new cluster up on a free port and waits until the database
    /// and the three servers are healthy.
    fn up() -> Self {
        build_images();
        let cluster = Cluster {
            project: unique("cluster").replace('-', ""),
            port: free_port(),
        };
        run(cluster.compose().args(["up", "-d"]));
        let started = Instant::now();
        let project = format!("label=com.docker.compose.project={}", cluster.project);
        loop {
            let healthy = run(Command::new("docker").args([
                "ps",
                "-q",
                "--filter",
                &project,
                "--filter",
                "health=healthy",
            ]));
            // The database and the three servers.
            if healthy.lines().count() == 4 {
                break;
            }
            assert!(
                started.elapsed() < HEALTHY_WITHIN,
                "the cluster was not healthy within {HEALTHY_WITHIN:?}: {}",
                run(cluster.compose().args(["logs", "--tail", "20"]))
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "containers: the cluster was healthy {:?} after `up -d`",
            started.elapsed()
        );
        cluster
    }

    /// The proxy's address.
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The id of the container that runs `service` now.
    fn container(&self, service: &str) -> String {
        run(self.compose().args(["ps", "-q", service]))
    }

    fn compose(&self) -> Command {
        let mut command = Command::new(compose().command);
        command
            .args(["-p", &self.project, "-f"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/compose.yaml"))
            .env("CHATROOM_PORT", self.port.to_string())
            .env("POSTGRES_PASSWORD", "test1password2for3compose")
            .env(
                "CHATROOM_SECRET",
                "a secret of the test cluster, 32 bytes or more",
            );
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        run_quietly(self.compose().args(["down", "-v", "-t", "2"]));
    }
}

/// Waits until `container` is healthy by its image's HEALTHCHECK: how long that took.
fn wait_until_healthy(container: &str) -> Duration {
    let started = Instant::now();
    loop {
        let status = run(Command::new("docker").args([
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.Health.Status}}",
            container,
        ]));
        if status == "running healthy" {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < HEALTHY_WITHIN,
            "{container} not healthy within {HEALTHY_WITHIN:?} ({status}): {}",
            logs(container)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn logs(container: &str) -> String {
    run_quietly(Command::new("docker").args(["logs", "--tail", "40", container]))
        .map(|out| {
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr)
        })
        .unwrap_or_default()
}

/// Starts the app's image on `volume`, published on a free port of 127.0.0.1: its address.
fn start_container(name: &str, volume: &str) -> String {
    let image = std::env::var("CHATROOM_IMAGE").unwrap_or_else(|_| "chatroom".to_owned());
    run(Command::new("docker").args([
        "run",
        "-d",
        "--name",
        name,
        "-p",
        "127.0.0.1::8080",
        "-v",
        &format!("{volume}:/data"),
        &image,
    ]));
    let address = run(Command::new("docker").args(["port", name, "8080/tcp"]));
    format!("http://{}", address.lines().next().unwrap_or_default())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        // Under the server's keep-alive (5 s): a connection it may have closed while a test
        // waited is never sent a request.
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("a client")
}

/// Registers or logs in through the JSON API: the answer's body.
async fn account(client: &reqwest::Client, url: &str, path: &str, status: u16) -> Value {
    let answer = client
        .post(format!("{url}{path}"))
        .json(&json!({"username": "docker_user", "password": "a long password for docker"}))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(answer.status().as_u16(), status, "POST {path}");
    answer.json().await.expect("a JSON body")
}

#[tokio::test]
async fn a_container_on_a_named_volume_keeps_its_accounts_when_it_is_replaced() {
    if !programs::available(&[docker()]) {
        return;
    }
    build_images();
    let first = unique("single");
    let second = format!("{first}-again");
    let _removed = Removed {
        containers: vec![first.clone(), second.clone()],
        volume: first.clone(),
    };

    let url = start_container(&first, &first);
    let took = wait_until_healthy(&first);
    eprintln!("containers: the app's container was healthy {took:?} after it started");
    let health = reqwest::get(format!("{url}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let login = reqwest::get(format!("{url}/login")).await.expect("login");
    assert_eq!(login.status(), 200);
    assert!(login.text().await.expect("a page").contains("<form"));
    account(&client(), &url, "/api/users", 201).await;

    run(Command::new("docker").args(["rm", "-f", &first]));
    let url = start_container(&second, &first);
    wait_until_healthy(&second);
    let session = account(&client(), &url, "/api/session", 200).await;
    assert_eq!(session["user"]["username"], "docker_user");
}

#[tokio::test]
async fn the_compose_cluster_chats_through_its_proxy_with_every_instance() {
    if !programs::available(&[docker(), compose()]) {
        return;
    }
    let cluster = Cluster::up();

    let url = cluster.url();
    let me = person::Person::register(&url, "docker_user").await;
    let room = me.create_room("Containers").await;
    let client = &me.http;
    let posted = client
        .post(format!("{url}/api/rooms/{room}/messages"))
        .header("X-CSRF-Token", &me.csrf)
        .json(&json!({"text": "through the proxy", "client_id": "docker-1"}))
        .send()
        .await
        .expect("the post is answered");
    assert_eq!(posted.status(), 201);

    // nginx takes the servers in turn: six polls reach each of the three twice. A server that
    // has not caught up yet may answer without the message; within a few seconds every poll
    // must have it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut seen = 0;
        for _ in 0..6 {
            let poll: Value = client
                .get(format!("{url}/api/rooms/{room}/messages?after=0"))
                .send()
                .await
                .expect("the poll is answered")
                .json()
                .await
                .expect("a poll");
            let texts = poll["messages"].as_array().cloned().unwrap_or_default();
            if texts.iter().any(|m| m["text"] == "through the proxy") {
                seen += 1;
            }
        }
        if seen == 6 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{seen} of 6 polls through the proxy saw the message"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
