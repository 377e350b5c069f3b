//! Storage faults an operator can see: a full database refuses writes with 503 and a code that
//! says so, the health check says what is wrong, the log says it once, and all is well again
//! without a restart once there is room.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::cookie::Key;
use chatroom::db::{Backend, FaultLog};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use serde_json::Value;

use super::database::TestDatabase;
use super::helpers::{TestApp, spawn_app_with, test_settings};
use super::wait::wait_until;

/// The server's fault reports, kept for the test to read.
#[derive(Default)]
struct Kept(Mutex<Vec<String>>);

impl FaultLog for Kept {
    fn error(&self, line: &str) {
        self.0.lock().unwrap().push(format!("ERROR {line}"));
    }
    fn notice(&self, line: &str) {
        self.0.lock().unwrap().push(format!("WARN {line}"));
    }
}

impl Kept {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn page_count(conn: &mut chatroom::db::DbConnection) -> u32 {
    #[derive(diesel::QueryableByName)]
    struct Pages {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        page_count: i32,
    }
    let pages = diesel::sql_query("PRAGMA page_count")
        .get_result::<Pages>(conn)
        .unwrap();
    u32::try_from(pages.page_count).unwrap()
}

/// A server on a SQLite database that may grow by `room` pages past what it holds now, of
/// which a filler table that the test can drop takes 64: SQLite's own `max_page_count` on
/// every connection of the server's, so that SQLite itself answers SQLITE_FULL ("database or
/// disk is full") exactly as on a full disk. Its fault reports go to the `Kept` given back.
async fn server_with_room_for(room: u32) -> (TestApp, Arc<Kept>) {
    let database = TestDatabase::fresh().unwrap();
    chatroom::models::initialize(&database.url).unwrap();
    let mut conn = database.connect();
    conn.batch_execute(
        "CREATE TABLE filler (b BLOB); \
         INSERT INTO filler SELECT zeroblob(4000) FROM (SELECT 1 UNION ALL SELECT 2) a, \
         (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) b, \
         (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
          UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8) c;",
    )
    .unwrap();
    let pages = page_count(&mut conn);
    let kept = Arc::new(Kept::default());
    let mut settings = test_settings(&database, Key::generate());
    settings.max_database_pages = Some(pages + room);
    settings.fault_log = kept.clone();
    (spawn_app_with(settings, Arc::new(database)).await, kept)
}

async fn health(app: &TestApp) -> (StatusCode, Option<String>, String) {
    let res = reqwest::get(format!("{}/healthz", app.address))
        .await
        .unwrap();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.status(), retry, res.text().await.unwrap())
}

#[actix_web::test]
async fn a_full_database_refuses_posts_with_503_says_so_once_and_takes_them_again_when_there_is_room()
 {
    if super::database::backend() != Backend::Sqlite {
        return;
    }
    let (app, kept) = server_with_room_for(80).await;
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Attic").await;
    alice.enter_and_poll(room).await;
    let (status, _, body) = health(&app).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));

    // Post until the database is full, then a few more.
    let text = "x".repeat(1900);
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for n in 0..2_000 {
        let res = alice.send(room, &format!("{n} {text}")).await;
        match res.status() {
            StatusCode::CREATED => {
                assert_eq!(refused, 0, "a post taken after one was refused");
                let body: Value = res.json().await.unwrap();
                acknowledged.push(body["message"]["id"].as_i64().unwrap());
            }
            status => {
                let retry = res.headers().get("retry-after").cloned();
                let body: Value = res.json().await.unwrap();
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "post {n}: {body}");
                assert_eq!(retry.unwrap(), "10");
                assert_eq!(body["error"], "storage_full", "{body}");
                refused += 1;
                if refused == 5 {
                    break;
                }
            }
        }
    }
    assert_eq!(refused, 5, "the database never filled");
    assert!(
        acknowledged.len() > 10,
        "{} posts taken",
        acknowledged.len()
    );

    // The health check says what is wrong.
    let (status, retry, body) = health(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(retry.as_deref(), Some("10"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "storage_full", "{body}");

    // One report for all those refusals, with SQLite's words and without a backtrace.
    let reports = kept.lines();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert!(
        reports[0].starts_with("ERROR storage fault storage_full: ")
            && reports[0].contains("database or disk is full"),
        "{reports:#?}"
    );
    assert!(
        !reports[0].contains('\n') && !reports[0].contains("backtrace"),
        "{reports:#?}"
    );

    // Every acknowledged post is in the log, which has no gap.
    let entries = alice.entries_after(room, 0).await;
    let numbers: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(
        numbers.iter().zip(1..).all(|(&n, expected)| n == expected),
        "a gap in {numbers:?}"
    );
    for number in &acknowledged {
        assert!(numbers.contains(number), "acknowledged {number} is lost");
    }

    // A form gets its answer as a page: HTML, 503, Retry-After. (A room is smaller than a
    // post: the last pages may still take a few.)
    let mut refused_page = None;
    for n in 0..200 {
        let res = alice
            .post_form("/rooms", &[("name", &format!("Room {n}"))])
            .await;
        if res.status() != StatusCode::SEE_OTHER {
            refused_page = Some(res);
            break;
        }
    }
    let res = refused_page.expect("a room refused");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "10");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<html") && html.contains("storage is full"),
        "{html}"
    );
    assert_eq!(kept.lines().len(), 1, "still one report");

    // Room again, as when an operator frees space: posting works at once, without a restart,
    // and the health check is well again (a write after the fault's hold, the poster's or the
    // probe's, ends it).
    app.database()
        .connect()
        .batch_execute("DROP TABLE filler;")
        .unwrap();
    alice.enter(room).await;
    alice.say(room, "there is room again").await;
    wait_until(
        Duration::from_secs(15),
        "the health check well again",
        || async { health(&app).await.0 == StatusCode::OK },
    )
    .await;
    alice.say(room, "and it stays so").await;
    let (status, _, body) = health(&app).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let reports = kept.lines();
    assert_eq!(reports.len(), 2, "{reports:#?}");
    assert!(
        reports[1].starts_with("WARN storage fault storage_full passed after"),
        "{reports:#?}"
    );
}

/// PostgreSQL: a database that turns read-only under a running server (a standby, or an
/// operator's `default_transaction_read_only`) refuses posts with 503 `database_read_only`
/// (after its connections were cut: `database_unavailable` for a moment), the health check
/// says so, and posting works again without a restart once it takes writes.
#[actix_web::test]
async fn a_read_only_database_refuses_posts_with_503_and_takes_them_again_when_writable() {
    if super::database::backend() != Backend::Postgres {
        return;
    }
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    let kept = Arc::new(Kept::default());
    let mut settings = test_settings(&database, Key::generate());
    settings.fault_log = kept.clone();
    let app = spawn_app_with(settings, Arc::new(database)).await;
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Archive").await;
    alice.enter_and_poll(room).await;
    alice.say(room, "before").await;

    app.database().set_read_only(true);
    let codes = Mutex::new(Vec::new());
    wait_until(
        Duration::from_secs(15),
        "a post refused as read-only",
        || async {
            let res = alice.try_send(room, "refused").await.unwrap();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(res.headers().contains_key("retry-after"));
            let body: Value = res.json().await.unwrap();
            let code = body["error"].as_str().unwrap().to_owned();
            codes.lock().unwrap().push(code.clone());
            code == "database_read_only"
        },
    )
    .await;
    let codes = codes.into_inner().unwrap();
    assert!(
        codes
            .iter()
            .all(|c| c == "database_read_only" || c == "database_unavailable"),
        "{codes:?}"
    );
    let (status, _, body) = health(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("database_read_only"), "{body}");
    let reports = kept.lines();
    let read_only: Vec<_> = reports
        .iter()
        .filter(|r| r.starts_with("ERROR storage fault database_read_only: "))
        .collect();
    assert_eq!(read_only.len(), 1, "{reports:#?}");
    assert!(
        read_only[0].contains("read-only transaction"),
        "{reports:#?}"
    );

    app.database().set_read_only(false);
    wait_until(Duration::from_secs(15), "posting works again", || async {
        alice
            .try_send(room, "after")
            .await
            .is_ok_and(|res| res.status() == StatusCode::CREATED)
    })
    .await;
    wait_until(
        Duration::from_secs(15),
        "the health check well again",
        || async { health(&app).await.0 == StatusCode::OK },
    )
    .await;
    let texts: Vec<String> = alice
        .messages_after(room, 0)
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["before", "after"]);
}

/// A small tmpfs of our own, unmounted when dropped.
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    /// 3 MB, or `None` (the test skipped) where this process may not mount: that takes root.
    fn mount() -> Option<Self> {
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
        if !root {
            super::programs::skip(
                "root",
                "root, to mount a small tmpfs",
                "run the tests as root, as CI does",
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount a tmpfs");
        Some(Self(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

/// The real thing, as an operator meets it: the server process on a SQLite database on a
/// 3 MB tmpfs, filled by posting (ENOSPC, which SQLite answers SQLITE_FULL), with
/// RUST_BACKTRACE=1, under which each refused post used to log a full backtrace. Then a
/// filler file is deleted, and the same process takes posts again.
#[actix_web::test]
async fn a_server_on_a_full_disk_refuses_posts_logs_it_once_without_a_backtrace_and_recovers() {
    use super::helpers::{LoggedServer, PASSWORD, Person};
    if super::database::backend() != Backend::Sqlite {
        return;
    }
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let filler = disk.0.path().join("filler");
    std::fs::write(&filler, vec![0_u8; 1 << 20]).unwrap();
    let url = disk.0.path().join("chat.db").to_str().unwrap().to_owned();
    let init = std::process::Command::new(env!("CARGO_BIN_EXE_chatroom"))
        .args(["initdb", "--database", &url])
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let server = LoggedServer::start_on(
        &url,
        &[
            ("RUST_BACKTRACE", "1"),
            ("CHATROOM_MESSAGE_LIMIT", "1000000"),
        ],
        None,
    );
    let mut alice = Person::new(&server.address);
    alice.register("alice", PASSWORD).await;
    let room = alice.create_room("Cupboard").await;
    alice.enter_and_poll(room).await;

    let text = "y".repeat(1900);
    let (mut acknowledged, mut refused) = (Vec::new(), 0);
    for n in 0..5_000 {
        let res = alice.send(room, &format!("{n} {text}")).await;
        if res.status() == StatusCode::CREATED {
            assert_eq!(refused, 0, "a post taken after one was refused");
            let body: Value = res.json().await.unwrap();
            acknowledged.push(body["message"]["id"].as_i64().unwrap());
            continue;
        }
        let retry = res.headers().get("retry-after").cloned();
        let (status, body) = (res.status(), res.text().await.unwrap());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "post {n}: {body}");
        assert!(retry.is_some() && body.contains("storage_full"), "{body}");
        refused += 1;
        if refused == 20 {
            break;
        }
    }
    assert_eq!(refused, 20, "the disk never filled");
    let health = reqwest::get(format!("{}/healthz", server.address))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(health.text().await.unwrap().contains("storage_full"));
    let entries = alice.entries_after(room, 0).await;
    let numbers: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(
        numbers.iter().zip(1..).all(|(&n, expected)| n == expected),
        "a gap in {numbers:?}"
    );
    assert!(
        acknowledged.iter().all(|n| numbers.contains(n)),
        "lost a post"
    );

    std::fs::remove_file(&filler).unwrap();
    alice.say(room, "room again").await;
    wait_until(
        Duration::from_secs(15),
        "the health check well again",
        || async {
            reqwest::get(format!("{}/healthz", server.address))
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK)
        },
    )
    .await;

    let log = server.stop();
    let reports: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("storage fault storage_full:"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert!(
        reports[0].contains("database or disk is full"),
        "{reports:#?}"
    );
    assert!(
        !log.contains("backtrace") && !log.contains(" at /"),
        "a backtrace in the log:\n{log}"
    );
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors, reports, "errors besides the one report");
}
