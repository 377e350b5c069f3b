//! The compose cluster while things break (issue 25): writers and pollers chat through the
//! proxy while a server is killed, another is cut off from the database, PostgreSQL restarts,
//! or the servers are replaced one at a time; then nothing acknowledged is lost or doubled and
//! every poller saw a gap-free run of the room's log.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::person::{Entry, Person};
use super::{Cluster, Command, compose, docker, programs, run, wait_until_healthy};

/// A writer gives up on a post it could not get acknowledged for this long (it is then
/// "unknown": stored at most once).
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);
/// Between two posts of one writer: under the message limit (20 in 10 s), retries included.
const WRITER_PACE: Duration = Duration::from_millis(700);
const POLLER_PACE: Duration = Duration::from_millis(150);
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A request through the proxy: when it was sent, and its answer's status (0: no answer, or
/// one cut short). It failed if it got no answer or a 5xx.
#[derive(Clone, Copy)]
struct Request {
    at: Instant,
    took: Duration,
    post: bool,
    status: u16,
}

impl Request {
    fn failed(&self) -> bool {
        self.status == 0 || self.status >= 500
    }
}

type Journal = Arc<Mutex<Vec<Request>>>;

fn note(journal: &Journal, at: Instant, post: bool, status: u16) {
    journal
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Request {
            at,
            took: at.elapsed(),
            post,
            status,
        });
}

/// A post as its writer knows it: acknowledged with its number, or given up on.
struct Post {
    text: String,
    acked: Option<i64>,
    tries: u32,
}

async fn writer(
    me: Person,
    room: i64,
    index: usize,
    stop: Arc<AtomicBool>,
    journal: Journal,
) -> Vec<Post> {
    let url = format!("{}/api/rooms/{room}/messages", me.base);
    let mut posts = Vec::new();
    for n in 1.. {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let text = format!("writer {index} says {n}");
        let client_id = format!("chaos-{index}-{n}");
        let mut post = Post {
            text,
            acked: None,
            tries: 0,
        };
        let given_up = Instant::now() + GIVE_UP_AFTER;
        while post.acked.is_none() && Instant::now() < given_up {
            post.tries += 1;
            let sent = Instant::now();
            let answer = me
                .http
                .post(&url)
                .header("X-CSRF-Token", &me.csrf)
                .json(&json!({"text": post.text, "client_id": client_id}))
                .send()
                .await;
            let (status, pause) = match answer {
                Ok(answer) if answer.status() == 201 => match answer.json::<Value>().await {
                    Ok(body) => {
                        post.acked = body["message"]["id"].as_i64();
                        (201, Duration::ZERO)
                    }
                    Err(_) => (0, RETRY_PAUSE),
                },
                // The writer's own limit, not a fault: wait as told.
                Ok(answer) if answer.status() == 429 => {
                    let wait = answer
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse().ok())
                        .unwrap_or(1);
                    (429, Duration::from_secs(wait))
                }
                Ok(answer) if answer.status().is_server_error() => {
                    (answer.status().as_u16(), RETRY_PAUSE)
                }
                Ok(answer) => {
                    let status = answer.status();
                    panic!(
                        "post {client_id}: {status} {}",
                        answer.text().await.unwrap_or_default()
                    )
                }
                Err(_) => (0, RETRY_PAUSE),
            };
            note(&journal, sent, true, status);
            tokio::time::sleep(pause).await;
        }
        posts.push(post);
        tokio::time::sleep(WRITER_PACE).await;
    }
    posts
}

/// Polls from the start of the room's log until told to stop: every entry it was given.
async fn poller(me: Person, room: i64, stop: Arc<AtomicBool>, journal: Journal) -> Vec<Entry> {
    let mut seen: Vec<Entry> = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let after = seen.last().map_or(0, |e| e.id);
        let sent = Instant::now();
        let answer = me
            .http
            .get(format!(
                "{}/api/rooms/{room}/messages?after={after}",
                me.base
            ))
            .send()
            .await;
        let status = match answer {
            Ok(answer) if answer.status() == 200 => match answer.json::<Value>().await {
                Ok(poll) => {
                    seen.extend(Entry::all(&poll));
                    200
                }
                Err(_) => 0,
            },
            Ok(answer) if answer.status().is_server_error() => answer.status().as_u16(),
            Ok(answer) => {
                let status = answer.status();
                panic!(
                    "poll after {after}: {status} {}",
                    answer.text().await.unwrap_or_default()
                )
            }
            Err(_) => 0,
        };
        note(&journal, sent, false, status);
        tokio::time::sleep(POLLER_PACE).await;
    }
    seen
}

/// Writers and pollers in one room of the cluster, each a user of its own.
struct Traffic {
    owner: Person,
    room: i64,
    stop: Arc<AtomicBool>,
    journal: Journal,
    writers: Vec<tokio::task::JoinHandle<Vec<Post>>>,
    pollers: Vec<tokio::task::JoinHandle<Vec<Entry>>>,
}

impl Traffic {
    async fn start(base: &str, writers: usize, pollers: usize) -> Self {
        let owner = Person::register(base, "owner").await;
        let room = owner.create_room("Chaos").await;
        let stop = Arc::new(AtomicBool::new(false));
        let journal = Journal::default();
        let mut traffic = Self {
            owner,
            room,
            stop,
            journal,
            writers: Vec::new(),
            pollers: Vec::new(),
        };
        for index in 0..writers {
            let me = Person::register(base, &format!("writer{index}")).await;
            me.enter(room).await;
            let (stop, journal) = (traffic.stop.clone(), traffic.journal.clone());
            traffic
                .writers
                .push(tokio::spawn(writer(me, room, index, stop, journal)));
        }
        for index in 0..pollers {
            let me = Person::register(base, &format!("poller{index}")).await;
            me.enter(room).await;
            let (stop, journal) = (traffic.stop.clone(), traffic.journal.clone());
            traffic
                .pollers
                .push(tokio::spawn(poller(me, room, stop, journal)));
        }
        traffic
    }

    /// Stops the traffic and checks the room's final log against what everyone saw: panics
    /// on a lost or doubled message or a poller's gap. The requests, for counting.
    async fn finish(self) -> Vec<Request> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut posts = Vec::new();
        for writer in self.writers {
            posts.extend(writer.await.expect("a writer ends"));
        }
        let mut views = Vec::new();
        for poller in self.pollers {
            views.push(poller.await.expect("a poller ends"));
        }
        let log = self.owner.log(self.room).await;

        let mut problems = Vec::new();
        for (i, entry) in log.iter().enumerate() {
            if entry.id != i as i64 + 1 {
                problems.push(format!("the log's entry {i} is numbered {}", entry.id));
                break;
            }
        }
        for post in &posts {
            let stored: Vec<&Entry> = log
                .iter()
                .filter(|e| e.kind == "message" && e.text == post.text)
                .collect();
            match post.acked {
                Some(id) if stored.len() != 1 || stored[0].id != id => problems.push(format!(
                    "{:?}, acknowledged as {id} after {} tries, is stored as {:?}",
                    post.text,
                    post.tries,
                    stored.iter().map(|e| e.id).collect::<Vec<_>>()
                )),
                None if stored.len() > 1 => problems.push(format!(
                    "{:?}, never acknowledged, is stored {} times",
                    post.text,
                    stored.len()
                )),
                _ => {}
            }
        }
        for (p, view) in views.iter().enumerate() {
            for (i, entry) in view.iter().enumerate() {
                let expected = log.get(i);
                if expected != Some(entry) {
                    problems.push(format!(
                        "poller {p} saw {entry:?} as its entry {i}, the log has {expected:?}"
                    ));
                    break;
                }
            }
        }
        let acked = posts.iter().filter(|p| p.acked.is_some()).count();
        let retried = posts.iter().filter(|p| p.tries > 1).count();
        eprintln!(
            "containers: {} posts, {acked} acknowledged ({retried} sent more than once), \
             {} entries in the log, pollers saw {:?} entries",
            posts.len(),
            log.len(),
            views.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert!(
            acked > 0,
            "nothing was acknowledged: the test tested nothing"
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let unknown = posts.len() - acked;
        assert_eq!(
            unknown, 0,
            "posts never acknowledged within {GIVE_UP_AFTER:?}"
        );
        for view in &views {
            assert!(!view.is_empty(), "a poller saw nothing");
        }
        self.journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A fault and the time it lasted, from when it was done to when the cluster was whole again.
struct Fault {
    what: String,
    from: Instant,
    to: Instant,
}

/// How the requests sent during a fault fared.
struct Figures {
    requests: usize,
    failed: usize,
    failed_posts: usize,
    /// When the last failed request was sent, from the fault's start.
    last_failure: Option<Duration>,
    /// The slowest answer, failed or not.
    slowest: Duration,
    /// The failed requests' statuses (0: no answer), with their counts.
    statuses: std::collections::BTreeMap<u16, usize>,
}

/// Prints how the requests sent during each fault fared, a table with one fault a line: the
/// figures, in the faults' order.
fn tabulate(faults: &[Fault], requests: &[Request]) -> Vec<Figures> {
    eprintln!(
        "containers: {:<46} {:>6} {:>8} {:>6} {:>12} {:>9} {:>7}  failed with",
        "fault", "lasted", "requests", "failed", "failed posts", "last fail", "slowest"
    );
    let mut table = Vec::new();
    for fault in faults {
        let during: Vec<&Request> = requests
            .iter()
            .filter(|r| r.at >= fault.from && r.at <= fault.to)
            .collect();
        let failures: Vec<&&Request> = during.iter().filter(|r| r.failed()).collect();
        let mut statuses = std::collections::BTreeMap::new();
        for failure in &failures {
            *statuses.entry(failure.status).or_insert(0) += 1;
        }
        let figures = Figures {
            requests: during.len(),
            failed: failures.len(),
            failed_posts: failures.iter().filter(|r| r.post).count(),
            last_failure: failures.iter().map(|r| r.at - fault.from).max(),
            slowest: during.iter().map(|r| r.took).max().unwrap_or_default(),
            statuses,
        };
        eprintln!(
            "containers: {:<46} {:>6} {:>8} {:>6} {:>12} {:>9} {:>7}  {}",
            fault.what,
            format!("{:.1?}", fault.to - fault.from),
            figures.requests,
            figures.failed,
            figures.failed_posts,
            figures
                .last_failure
                .map_or_else(|| "-".to_owned(), |d| format!("{d:.1?}")),
            format!("{:.1?}", figures.slowest),
            figures
                .statuses
                .iter()
                .map(|(status, count)| format!("{count}x {status}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        table.push(figures);
    }
    table
}

/// Waits until the requests have gone `quiet` without a failure: false if they had not within
/// `within`.
fn wait_until_quiet(journal: &Journal, quiet: Duration, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        let last_failure = journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|r| r.failed())
            .map(|r| r.at)
            .max();
        if last_failure.is_none_or(|at| at.elapsed() >= quiet) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn inspect(container: &str, format: &str) -> String {
    run(Command::new("docker").args(["inspect", "-f", format, container]))
}

/// Waits until the restart policy has started `container` again after it died, then until it
/// is healthy.
fn wait_until_restarted(container: &str, restarts_before: u32) {
    let started = Instant::now();
    while inspect(container, "{{.RestartCount}}")
        .parse::<u32>()
        .unwrap_or_default()
        <= restarts_before
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{container} was not restarted by its restart policy"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_until_healthy(container);
}

/// Kills the server in `container` with SIGKILL, as a crash would. Not with `docker kill`: Docker
/// 20.10 counts that as stopping the container by hand, and its restart policy (`unless-stopped`)
/// then leaves it stopped. The signal comes from a container in the host's process namespace,
/// so the test needs no more rights than Docker's.
fn crash(container: &str) {
    let pid = inspect(container, "{{.State.Pid}}");
    run(Command::new("docker").args([
        "run",
        "--rm",
        "--pid",
        "host",
        "debian:bookworm-slim",
        "sh",
        "-c",
        &format!("kill -KILL {pid}"),
    ]));
}

/// The chaos, one fault after another. Each lasts from when it is done until the cluster is
/// whole again and no request has failed for 2 s.
fn inflict_faults(cluster: &Cluster, journal: &Journal) -> Vec<Fault> {
    let settle = Duration::from_secs(2);
    let recovered = |what: &str, from: Instant| {
        assert!(
            wait_until_quiet(journal, settle, Duration::from_secs(30)),
            "requests still failed 30 s after: {what}"
        );
        Fault {
            what: what.to_owned(),
            from,
            to: Instant::now(),
        }
    };
    let mut faults = Vec::new();
    std::thread::sleep(settle);

    let app1 = cluster.container("app1");
    let restarts: u32 = inspect(&app1, "{{.RestartCount}}")
        .parse()
        .unwrap_or_default();
    let from = Instant::now();
    crash(&app1);
    wait_until_restarted(&app1, restarts);
    faults.push(recovered(
        "app1 killed (SIGKILL), restarted by Docker",
        from,
    ));

    let app2 = cluster.container("app2");
    let network = format!("{}_default", cluster.project);
    let from = Instant::now();
    run(Command::new("docker").args(["network", "disconnect", &network, &app2]));
    std::thread::sleep(Duration::from_secs(3));
    run(Command::new("docker").args(["network", "connect", "--alias", "app2", &network, &app2]));
    wait_until_healthy(&app2);
    faults.push(recovered("app2 cut off from the database for 3 s", from));

    let db = cluster.container("db");
    let from = Instant::now();
    run(Command::new("docker").args(["restart", "-t", "2", &db]));
    wait_until_healthy(&db);
    faults.push(recovered("PostgreSQL restarted (docker restart)", from));
    faults
}

#[tokio::test]
async fn the_cluster_loses_no_message_while_a_server_is_killed_cut_off_and_the_database_restarts() {
    if !programs::available(&[docker(), compose()]) {
        return;
    }
    let started = Instant::now();
    let cluster = Arc::new(Cluster::up());
    let traffic = Traffic::start(&cluster.url(), 3, 3).await;
    let faults = {
        let (cluster, journal) = (cluster.clone(), traffic.journal.clone());
        tokio::task::spawn_blocking(move || inflict_faults(&cluster, &journal))
            .await
            .expect("the faults are done")
    };
    let requests = traffic.finish().await;
    let figures = tabulate(&faults, &requests);
    // When nginx had every server marked failed (max_fails), it answered 502 itself.
    let proxy = run(cluster.compose().args(["logs", "--no-color", "proxy"]));
    eprintln!(
        "containers: nginx logged {} requests with no live upstream",
        proxy.matches("no live upstreams").count()
    );

    // Every server is healthy again, none restarted by hand.
    for service in ["app1", "app2", "app3"] {
        wait_until_healthy(&cluster.container(service));
    }
    // nginx left the dead server alone within a few seconds (every request that met it was
    // sent on to another, so far).
    let crashed = &figures[0];
    assert!(
        crashed
            .last_failure
            .is_none_or(|d| d < Duration::from_secs(5)),
        "requests still failed {:?} after app1 was killed",
        crashed.last_failure
    );
    eprintln!(
        "containers: {} requests; the whole test took {:.1?}",
        requests.len(),
        started.elapsed()
    );
}

/// Replaces the servers one at a time, as an upgrade does: each container is made anew from
/// the image and healthy before the next one goes.
fn upgrade_one_at_a_time(cluster: &Cluster) -> Vec<Fault> {
    let mut faults = Vec::new();
    std::thread::sleep(Duration::from_secs(2));
    for service in ["app1", "app2", "app3"] {
        let old = cluster.container(service);
        let from = Instant::now();
        run(cluster
            .compose()
            .args(["up", "-d", "--no-deps", "--force-recreate", service]));
        let new = cluster.container(service);
        assert_ne!(old, new, "{service} was not replaced");
        wait_until_healthy(&new);
        std::thread::sleep(Duration::from_secs(1));
        faults.push(Fault {
            what: format!("{service} replaced, until healthy, 1 s more"),
            from,
            to: Instant::now(),
        });
    }
    faults
}

#[tokio::test]
async fn replacing_the_servers_one_at_a_time_fails_no_poll_and_loses_no_post() {
    if !programs::available(&[docker(), compose()]) {
        return;
    }
    let started = Instant::now();
    let cluster = Arc::new(Cluster::up());
    let traffic = Traffic::start(&cluster.url(), 3, 3).await;
    let upgrades = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || upgrade_one_at_a_time(&cluster))
            .await
            .expect("the upgrade is done")
    };
    let requests = traffic.finish().await;
    tabulate(&upgrades, &requests);
    let failed_polls = requests.iter().filter(|r| !r.post && r.failed()).count();
    eprintln!(
        "containers: {} requests; the whole test took {:.1?}",
        requests.len(),
        started.elapsed()
    );
    assert_eq!(failed_polls, 0, "polls failed during the upgrade");
    // Nothing the replaced containers had is left behind when the cluster goes: the servers
    // have no volume but the cluster's own (named) ones.
    for service in ["app1", "app2", "app3"] {
        let volumes = inspect(
            &cluster.container(service),
            r#"{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}"#,
        );
        for volume in volumes.split_whitespace() {
            assert!(
                volume.starts_with(&format!("{}_", cluster.project)),
                "{service} has an anonymous volume, which `down -v` leaves behind: {volume}"
            );
        }
    }
}
