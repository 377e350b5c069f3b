//! Two servers on one database, as behind a proxy with no sticky sessions: whatever one of
//! them knows that the other must honour reaches it through the database, within a second or
//! two.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::cookie::Key;
use reqwest::StatusCode;

use super::database::TestDatabase;
use super::helpers::{PASSWORD, TestApp, error_code, spawn_app_with, test_settings};
use super::wait::wait_until;

/// Two servers on one fresh database, sharing their key.
async fn two_servers() -> Option<(TestApp, TestApp)> {
    let database = Arc::new(TestDatabase::fresh()?);
    let key = Key::generate();
    let a = spawn_app_with(test_settings(&database, key.clone()), database.clone()).await;
    let b = spawn_app_with(test_settings(&database, key), database).await;
    Some((a, b))
}

/// How many revocations (changes to sessions that servers follow) are stored.
fn revocations(app: &TestApp) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT COUNT(*) AS n FROM revocations")
        .get_result::<Count>(&mut app.db())
        .unwrap()
        .n
}

#[actix_web::test]
async fn a_session_made_on_one_server_works_on_the_other_and_logging_out_on_either_ends_both() {
    let Some((a, b)) = two_servers().await else {
        return;
    };
    let alice_a = a.user("alice").await;
    let alice_b = alice_a.on(&b.address);
    assert_eq!(alice_b.get("/api/rooms").await.status(), StatusCode::OK);
    assert_eq!(alice_a.get("/api/rooms").await.status(), StatusCode::OK);
    // Requests that change nothing in the session write nothing for the servers to follow.
    let before = revocations(&a);
    for _ in 0..10 {
        alice_a.get("/lobby").await;
        alice_b.get("/api/lobby").await;
    }
    assert_eq!(revocations(&a), before);

    let mut alice_a = alice_a;
    let res = alice_a.post_form("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    wait_until(Duration::from_secs(1), "the logout reaches b", || async {
        alice_b.get("/api/rooms").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;

    // Log out everywhere through b: a session that only a has served ends as well.
    let mut phone = a.person();
    assert_eq!(phone.login("alice", PASSWORD).await.status(), 303);
    let mut laptop = b.person();
    assert_eq!(laptop.login("alice", PASSWORD).await.status(), 303);
    assert_eq!(phone.get("/api/rooms").await.status(), StatusCode::OK);
    let res = laptop.post_form("/account/logout-everywhere", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    wait_until(
        Duration::from_secs(1),
        "log out everywhere reaches a",
        || async { phone.get("/api/rooms").await.status() == StatusCode::UNAUTHORIZED },
    )
    .await;
}

#[actix_web::test]
async fn what_one_server_writes_into_a_session_the_other_reads() {
    let Some((a, b)) = two_servers().await else {
        return;
    };
    let mut alice_a = a.user("alice").await;
    let mut alice_b = alice_a.on(&b.address);
    // b has the session cached before a changes it.
    assert_eq!(alice_b.page("/admin").await.0, StatusCode::OK);
    let res = alice_a.post_form("/admin/invitations", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    wait_until(Duration::from_secs(1), "b shows the new link", || {
        let alice_b = &alice_b;
        async move {
            let body = alice_b.get("/admin").await.text().await.unwrap();
            body.contains("id=\"new-invitation\"")
        }
    })
    .await;
    // Shown once, whichever server shows it (once a's copy is a second old at most).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, again) = alice_a.page("/admin").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert!(
        again.contains("action=\"/admin/invitations\""),
        "the admin page: {again}"
    );
    assert!(!again.contains("id=\"new-invitation\""));
}

/// Two servers with these login limits per username and per address, on one fresh database.
async fn two_servers_limiting_logins(
    per_user: u32,
    per_address: u32,
) -> Option<(TestApp, TestApp)> {
    let database = Arc::new(TestDatabase::fresh()?);
    let key = Key::generate();
    let settings = || {
        let mut settings = test_settings(&database, key.clone());
        settings.limits.login_user = per_user;
        settings.limits.login_address = per_address;
        settings
    };
    let a = spawn_app_with(settings(), database.clone()).await;
    let b = spawn_app_with(settings(), database.clone()).await;
    Some((a, b))
}

/// On PostgreSQL the servers count together: a guesser spreading attempts over them gets no
/// more tries than against one. (On SQLite one server runs, and counts in memory.)
#[actix_web::test]
async fn failed_logins_spread_over_servers_are_throttled_as_if_they_went_to_one() {
    if super::database::backend() != chatroom::db::Backend::Postgres {
        return;
    }
    let Some((a, b)) = two_servers_limiting_logins(4, 100_000).await else {
        return;
    };
    a.user("alice").await;
    let mut statuses = Vec::new();
    for attempt in 0..6 {
        let server = if attempt % 2 == 0 { &a } else { &b };
        let mut guesser = server.person();
        statuses.push(
            guesser
                .login("alice", "wrong guess")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
    // Throttled on both, even with the right password, until the window passes.
    let mut alice = b.person();
    assert_eq!(alice.login("alice", PASSWORD).await.status(), 429);
}

/// A login reserves its attempt against the username and against the address together, in
/// one step on the database: guesses sent at once to two servers, with both limits at ten,
/// get exactly ten tries. (Reserved one counter at a time, a guess could take the last place
/// of one counter, be refused by the other, and leave fewer than ten to try.)
#[actix_web::test]
async fn forty_guesses_sent_at_once_to_two_servers_get_exactly_ten_tries() {
    if super::database::backend() != chatroom::db::Backend::Postgres {
        return;
    }
    let Some((a, b)) = two_servers_limiting_logins(10, 10).await else {
        return;
    };
    a.user("alice").await;
    let mut guessers: Vec<_> = (0..40)
        .map(|n| if n % 2 == 0 { a.person() } else { b.person() })
        .collect();
    let answers = super::helpers::wrong_guesses_at_once(&mut guessers, "alice").await;
    let count = |status| answers.iter().filter(|s| **s == status).count();
    assert_eq!(
        (
            count(StatusCode::UNAUTHORIZED),
            count(StatusCode::TOO_MANY_REQUESTS)
        ),
        (10, 30),
        "{answers:?}"
    );
}

/// Who a poll of the room through this server says is present and typing.
async fn people(person: &super::helpers::Person, room: i32) -> (Vec<String>, Vec<String>) {
    let body: serde_json::Value = person.poll(room, "0").await.json().await.unwrap();
    let names = |key: &str| -> Vec<String> {
        body[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {body}"))
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    (names("present"), names("typing"))
}

/// On PostgreSQL, presence and typing seen by one server show on the others within two
/// seconds, whichever server each person's polls reach.
#[actix_web::test]
async fn presence_typing_and_leaving_show_on_every_server_within_two_seconds() {
    if super::database::backend() != chatroom::db::Backend::Postgres {
        return;
    }
    let Some((a, b)) = two_servers().await else {
        return;
    };
    let mut alice = a.user("alice").await;
    let room = alice.create_room("Porch").await;
    alice.enter_and_poll(room).await;
    let mut bob = b.user("bob").await;
    bob.enter_and_poll(room).await;

    wait_until(Duration::from_secs(2), "a sees bob present", || async {
        people(&alice, room).await.0 == ["alice", "bob"]
    })
    .await;
    wait_until(Duration::from_secs(2), "b sees alice present", || async {
        people(&bob, room).await.0 == ["alice", "bob"]
    })
    .await;

    let typing = format!("/api/rooms/{room}/messages?after=0&typing=1");
    assert_eq!(bob.get(&typing).await.status(), StatusCode::OK);
    wait_until(Duration::from_secs(2), "a sees bob typing", || async {
        people(&alice, room).await.1 == ["bob"]
    })
    .await;
    bob.say(room, "done typing").await;
    wait_until(Duration::from_secs(2), "a sees bob stop typing", || async {
        people(&alice, room).await.1.is_empty()
    })
    .await;

    let res = bob.post_form(&format!("/rooms/{room}/leave"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    wait_until(Duration::from_secs(2), "a sees bob gone", || async {
        people(&alice, room).await.0 == ["alice"]
    })
    .await;
    let lobby: serde_json::Value = bob.get("/api/lobby").await.json().await.unwrap();
    assert_eq!(
        lobby["rooms"][0]["present"], 1,
        "b's lobby counts alice, seen on a"
    );
}

/// A server that cannot reach its database answers 503 within a few seconds: it neither hangs
/// nor keeps answering polls from a memory nobody can check. When the database is back, so
/// is the server. (PostgreSQL: a SQLite file does not go away.)
#[actix_web::test]
async fn a_server_cut_off_from_its_database_answers_503_quickly_and_recovers() {
    if super::database::backend() != chatroom::db::Backend::Postgres {
        return;
    }
    let Some(app) = super::helpers::spawn_app().await else {
        return;
    };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Cellar").await;
    alice.enter_and_poll(room).await;
    assert_eq!(alice.poll(room, "0").await.status(), StatusCode::OK);

    app.database().set_reachable(false);
    // Memory may answer for the few moments it can still vouch for (super::VOUCH_FOR), then
    // every poll is 503, each within the pool's wait.
    tokio::time::sleep(chatroom::live::VOUCH_FOR).await;
    for _ in 0..3 {
        let asked = Instant::now();
        let res = alice.poll(room, "0").await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["retry-after"], "1");
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "took {:?}",
            asked.elapsed()
        );
        assert_eq!(error_code(res).await, "database_unavailable");
    }
    // The health check says so too (and stays as cheap: it asks memory, not the database).
    let healthz = format!("{}/healthz", app.address);
    let res = reqwest::get(&healthz).await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(res).await, "database_unavailable");

    app.database().set_reachable(true);
    wait_until(Duration::from_secs(10), "the server recovers", || async {
        alice.poll(room, "0").await.status() == StatusCode::OK
    })
    .await;
    wait_until(
        Duration::from_secs(10),
        "the health check recovers",
        || async { reqwest::get(&healthz).await.unwrap().status() == StatusCode::OK },
    )
    .await;
}

/// The hourly sweep of the shared rate limits forgets the events past every window and keeps
/// the others, which still count.
#[actix_web::test]
async fn the_sweep_forgets_only_rate_events_past_every_window() {
    use chatroom::clock::{Clock, ManualClock};
    use chatroom::throttle::{Limit, RateLimits, SharedLimits};
    use diesel::RunQueryDsl;
    if super::database::backend() != chatroom::db::Backend::Postgres {
        return;
    }
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    let db = chatroom::db::Db::open(&database.url, 2).unwrap();
    let limits = chatroom::config::Limits {
        login_user: 2,
        ..Default::default()
    };
    let clock = ManualClock::new();
    let shared = SharedLimits::new(db, &limits, &(clock.clone() as Arc<dyn Clock>));
    shared.hit(Limit::FailedLoginsForUser, "old").await.unwrap();
    clock.advance(Duration::from_secs(2 * 24 * 3600));
    shared.hit(Limit::FailedLoginsForUser, "new").await.unwrap();
    shared.hit(Limit::FailedLoginsForUser, "new").await.unwrap();

    shared.purge().await;

    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = chatroom::db::DbConnection::open(&database.url).unwrap();
    let left: Vec<String> = diesel::sql_query("SELECT name FROM rate_events ORDER BY name")
        .load::<Name>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(left, ["FailedLoginsForUser:new"; 2]);
    assert!(
        shared.hit(Limit::FailedLoginsForUser, "new").await.is_err(),
        "the events kept still count"
    );
}

/// A batch of rate-limit events counts and refuses each as if counted one by one, in the
/// order given (`chatroom_rate_hit` is the one-by-one count): several under one name, names
/// that were full before the batch, and names the batch itself fills.
#[actix_web::test]
async fn a_batch_of_rate_events_gets_the_answers_one_by_one_counting_gives() {
    use chatroom::models::rate::{Hit, RateEvents};
    use diesel::RunQueryDsl;
    if super::database::backend() != chatroom::db::Backend::Postgres {
        return;
    }
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    let mut conn = chatroom::db::DbConnection::open(&database.url).unwrap();
    let hit = |name: &str, max: i32| Hit {
        name: name.into(),
        window_ms: 1000,
        max,
    };
    let mut batch = |hits: &[Hit], now_ms: i64| RateEvents::hit_many(&mut conn, hits, now_ms);

    let (a, b) = (hit("a", 2), hit("b", 1));
    let first = [a.clone(), a.clone(), a.clone(), b.clone(), a.clone()];
    assert_eq!(batch(&first, 10_000).unwrap(), [0, 0, 1000, 0, 1000]);
    assert_eq!(
        batch(&[a.clone(), b, hit("c", 1)], 10_400).unwrap(),
        [600, 600, 0],
        "full before the batch: each waits for its oldest event to expire"
    );
    let d = hit("d", 3);
    assert_eq!(batch(std::slice::from_ref(&d), 10_500).unwrap(), [0]);
    assert_eq!(
        batch(&[d.clone(), d.clone(), d], 10_700).unwrap(),
        [0, 0, 800],
        "filled by the batch: waits for the event held from before"
    );
    assert_eq!(batch(&[a], 11_000).unwrap(), [0], "a's events expired");
    assert_eq!(batch(&[], 11_000).unwrap(), Vec::<i64>::new());

    // The same pseudo-random batches, under names of their own, one event at a time.
    #[derive(diesel::QueryableByName)]
    struct Wait {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        wait: i64,
    }
    let mut seed = 7_u64;
    let mut next = |below: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % below
    };
    let mut now_ms = 100_000;
    for _ in 0..40 {
        now_ms += next(400) as i64;
        let names: Vec<(String, i32)> = (0..1 + next(8))
            .map(|_| {
                let n = next(4);
                (format!("k{n}"), 1 + n as i32)
            })
            .collect();
        let hits: Vec<Hit> = names
            .iter()
            .map(|(name, max)| Hit {
                name: format!("set:{name}"),
                window_ms: 1000,
                max: *max,
            })
            .collect();
        let together = RateEvents::hit_many(&mut conn, &hits, now_ms).unwrap();
        let chatroom::db::DbConnection::Postgres(pg) = &mut conn else {
            unreachable!("a PostgreSQL database");
        };
        let one_by_one: Vec<i64> = names
            .iter()
            .map(|(name, max)| {
                diesel::sql_query("SELECT chatroom_rate_hit($1, $2, 1000, $3) AS wait")
                    .bind::<diesel::sql_types::Text, _>(format!("one:{name}"))
                    .bind::<diesel::sql_types::BigInt, _>(now_ms)
                    .bind::<diesel::sql_types::Integer, _>(*max)
                    .get_result::<Wait>(pg)
                    .unwrap()
                    .wait
            })
            .collect();
        assert_eq!(together, one_by_one, "at {now_ms}: {names:?}");
    }
}

/// Two servers' shared presences on one fresh PostgreSQL database and one manual clock.
struct TwoPresences {
    _database: TestDatabase,
    db: chatroom::db::Db,
    clock: Arc<chatroom::clock::ManualClock>,
    a: Arc<chatroom::live::shared::SharedPresence>,
    b: Arc<chatroom::live::shared::SharedPresence>,
}

/// `None` on SQLite (presence is shared through PostgreSQL alone) or without a database.
fn two_shared_presences() -> Option<TwoPresences> {
    use chatroom::clock::{Clock, ManualClock};
    use chatroom::live::shared::SharedPresence;
    if super::database::backend() != chatroom::db::Backend::Postgres {
        return None;
    }
    let database = TestDatabase::fresh()?;
    let db = chatroom::db::Db::open(&database.url, 2).unwrap();
    let clock = ManualClock::new();
    let a = Arc::new(SharedPresence::new(clock.clone() as Arc<dyn Clock>));
    let b = Arc::new(SharedPresence::new(clock.clone() as Arc<dyn Clock>));
    Some(TwoPresences {
        _database: database,
        db,
        clock,
        a,
        b,
    })
}

/// Presence costs a row per server per heartbeat, not one per person: someone who stays on
/// one server is kept present on the other by that server's set alone, long past the time
/// presence lasts, with no row of their own written again; once that server stops, they go
/// when presence times out. (The two presences and their syncs, on one clock.)
#[actix_web::test]
async fn someone_who_stays_is_kept_present_elsewhere_by_the_servers_set_alone() {
    use chatroom::chat::background::sync_presence;
    use chatroom::live::presence::{PRESENCE_TIMEOUT, Presence};
    use chatroom::live::shared::HEARTBEAT;
    use diesel::RunQueryDsl;
    let Some(TwoPresences {
        _database: database,
        db,
        clock,
        a,
        b,
    }) = two_shared_presences()
    else {
        return;
    };
    #[derive(diesel::QueryableByName)]
    struct Written {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        written_ms: i64,
    }
    let bobs_row = || {
        let mut conn = chatroom::db::DbConnection::open(&database.url).unwrap();
        diesel::sql_query("SELECT written_ms FROM presence WHERE user_id = 7")
            .load::<Written>(&mut conn)
            .unwrap()
            .iter()
            .map(|w| w.written_ms)
            .collect::<Vec<_>>()
    };
    let (mut since_a, mut since_b) = (0, 0);

    a.polled(1, 7, "bob", false).await;
    since_a = sync_presence(&db, &a, since_a).await.unwrap();
    since_b = sync_presence(&db, &b, since_b).await.unwrap();
    assert_eq!(b.snapshot(1).await.0.present, ["bob"], "his arrival");
    let arrival = bobs_row();
    assert_eq!(arrival.len(), 1);

    for _ in 0..(2 * PRESENCE_TIMEOUT.as_secs() / HEARTBEAT.as_secs()) {
        clock.advance(HEARTBEAT);
        a.polled(1, 7, "bob", false).await;
        // The database's clock numbers the sets: two within a millisecond read as one.
        tokio::time::sleep(Duration::from_millis(2)).await;
        since_a = sync_presence(&db, &a, since_a).await.unwrap();
        since_b = sync_presence(&db, &b, since_b).await.unwrap();
        assert_eq!(b.snapshot(1).await.0.present, ["bob"], "kept by a's set");
    }
    assert_eq!(bobs_row(), arrival, "bob's own row was never written again");

    // a stops (no more polls reach it, nor does it write): bob goes, on time.
    clock.advance(PRESENCE_TIMEOUT - Duration::from_secs(1));
    sync_presence(&db, &b, since_b).await.unwrap();
    assert_eq!(b.snapshot(1).await.0.present, ["bob"]);
    clock.advance(Duration::from_secs(1));
    assert!(b.snapshot(1).await.0.present.is_empty(), "gone on b");
}

/// Each sync goes on from the moment of its read on the database's clock, not from the latest
/// row it found: a row is read again only within the slack of a read, not every round while
/// nothing newer is written (30,000 rows twice a second, after 30,000 pages opened together).
#[actix_web::test]
async fn a_presence_sync_goes_on_from_its_read_not_from_the_latest_row() {
    use chatroom::chat::background::sync_presence;
    use chatroom::live::presence::Presence;
    let Some(TwoPresences {
        _database,
        db,
        a,
        b,
        ..
    }) = two_shared_presences()
    else {
        return;
    };
    a.polled(1, 7, "bob", false).await;
    sync_presence(&db, &a, 0).await.unwrap();
    let first = sync_presence(&db, &b, 0).await.unwrap();
    assert_eq!(b.snapshot(1).await.0.present, ["bob"], "b read bob's row");
    let quiet = Duration::from_millis(1500);
    tokio::time::sleep(quiet).await;
    let second = sync_presence(&db, &b, first).await.unwrap();
    assert!(
        second - first >= i64::try_from(quiet.as_millis()).unwrap(),
        "nothing was written meanwhile, yet the cursor moved on with the clock: {first} to \
         {second}"
    );
}

/// A mention written through one server reaches the poll of its reader on the other, by
/// catch-up (about once a second): counted, and handed out once.
#[actix_web::test]
async fn a_mention_written_through_one_server_reaches_the_readers_poll_on_the_other() {
    let Some((a, b)) = two_servers().await else {
        return;
    };
    let mut alice = a.user("alice").await;
    let kitchen = alice.create_room("Kitchen").await;
    let mut bob = b.user("bob").await;
    let garden = bob.create_room("Garden").await;
    let attention = |bob: &super::helpers::Person| {
        let bob = bob.clone();
        async move {
            let body: serde_json::Value = bob.poll(garden, "0").await.json().await.unwrap();
            body["attention"].clone()
        }
    };
    // b knows bob (his first poll there) before the mention is written through a.
    assert_eq!(attention(&bob).await["count"], 0);

    let said = alice.say(kitchen, "are you there @bob?").await;
    // Catch-up runs about once a second: poll until it has, within a bound.
    let deadline = Instant::now() + Duration::from_secs(5);
    let told = loop {
        let seen = attention(&bob).await;
        if seen["count"] == 1 {
            break seen;
        }
        assert!(Instant::now() < deadline, "b never told bob: {seen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        told["new"],
        serde_json::json!([{
            "room": {"id": kitchen, "name": "Kitchen"},
            "id": said["id"],
            "author": "alice",
            "excerpt": "are you there @bob?",
            "reason": "mention",
        }]),
        "{told}"
    );
    let again = attention(&bob).await;
    assert_eq!(again, serde_json::json!({"count": 1, "new": []}));
}

/// Files live in the database: one uploaded through one server is served by the other, with
/// the same validator, and gone from both once its message is deleted.
#[actix_web::test]
async fn a_file_uploaded_through_one_server_is_fetched_through_the_other() {
    let Some((a, b)) = two_servers().await else {
        return;
    };
    let mut alice_a = a.user("alice").await;
    let room = alice_a.create_room("Kitchen").await;
    let bytes: Vec<u8> = (0u8..=255).cycle().take(50_000).collect();
    let res = alice_a
        .upload(room, "shared.bin", &bytes, &[("text", "for everyone")])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: serde_json::Value = res.json().await.unwrap();
    let message = &body["message"];
    let url = message["attachment"]["url"].as_str().unwrap().to_owned();

    let mut bob_b = b.user("bob").await;
    bob_b.enter(room).await;
    let seen = bob_b.messages_after(room, 0).await;
    assert_eq!(seen.last().unwrap()["attachment"]["url"], url.as_str());
    let from_b = bob_b.get(&url).await;
    assert_eq!(from_b.status(), StatusCode::OK);
    let etag = from_b.headers()["etag"].clone();
    assert_eq!(from_b.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let from_a = alice_a.get(&url).await;
    assert_eq!(from_a.headers()["etag"], etag, "the same validator on both");

    let res = alice_a
        .delete_message(room, message["id"].as_i64().unwrap())
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(bob_b.get(&url).await.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn an_api_token_made_on_one_server_works_on_the_other_until_revoked_on_either() {
    let Some((a, b)) = two_servers().await else {
        return;
    };
    let mut alice = a.user("alice").await;
    let res = alice
        .post_json("/api/account/tokens", &serde_json::json!({"name": "ci"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: serde_json::Value = res.json().await.unwrap();
    let token = made["token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let lobby = |app: &TestApp| {
        http.get(format!("{}/api/lobby", app.address))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(lobby(&a).await.unwrap().status(), StatusCode::OK);
    assert_eq!(lobby(&b).await.unwrap().status(), StatusCode::OK);

    let res = alice
        .on(&b.address)
        .delete(&format!("/api/account/tokens/{}", made["id"]))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Asked of the database at every use: no wait for the other server to hear of it.
    for app in [&a, &b] {
        let res = lobby(app).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(res).await, "invalid_token");
    }
}
