//! Floods of logins and registrations: the password-hashing queue is bounded and refuses at
//! once (503), a taken name costs no hashing, and registrations are limited per address (429).

use std::time::{Duration, Instant};

use chatroom::clock::ManualClock;
use diesel::prelude::*;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::helpers::{PASSWORD, TestApp, spawn_app_tweaked};
use super::wait::wait_until;

/// bcrypt costs at which a hash takes a while in a debug build: about a tenth of a second,
/// and about a third.
const SLOW_COST: u32 = 8;
const SLOWER_COST: u32 = 10;

/// Sends JSON from `address` (believed: the tests that use it trust the local proxy), and says
/// what came back and how long it took.
async fn post_json_from(
    http: &reqwest::Client,
    url: String,
    address: String,
    body: Value,
) -> (Response, Duration) {
    let sent = Instant::now();
    let res = http
        .post(url)
        .header("X-Forwarded-For", address)
        .json(&body)
        .send()
        .await
        .expect("POST is answered");
    (res, sent.elapsed())
}

fn retry_after(res: &Response) -> u64 {
    res.headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn users_stored(app: &TestApp) -> i64 {
    use diesel::dsl::count_star;
    chatroom::db::schema::users::table
        .select(count_star())
        .first(&mut app.db())
        .unwrap()
}

#[actix_web::test]
async fn registrations_beyond_the_hashing_queue_get_a_fast_503_with_retry_after_and_store_nothing()
{
    let Some(app) = spawn_app_tweaked(|s| {
        s.bcrypt_cost = SLOWER_COST;
        s.limits.hash_queue = 2;
        s.limits.registrations = 12;
    })
    .await
    else {
        return;
    };
    let http = reqwest::Client::new();
    let burst = (0..10).map(|i| {
        post_json_from(
            &http,
            format!("{}/api/users", app.address),
            "127.0.0.1".into(),
            json!({"username": format!("newcomer{i}"), "password": PASSWORD}),
        )
    });
    let answers = futures_util::future::join_all(burst).await;
    let mut created = 0;
    let mut busy = 0;
    for (res, took) in answers {
        match res.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert!(took < Duration::from_secs(1), "refused at once: {took:?}");
                assert!(retry_after(&res) >= 1);
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["error"], "busy", "{body}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(busy >= 5, "{created} created, {busy} refused");
    assert_eq!(
        users_stored(&app),
        created,
        "the refused ones stored nothing"
    );

    // The refused ones gave their registrations back: 10 + 3 would be over the limit of 12.
    for name in ["latecomer1", "latecomer2", "latecomer3"] {
        let res = app.person().register(name, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "registering {name}");
    }
}

#[actix_web::test]
async fn a_login_refused_because_the_hashing_queue_is_full_uses_up_no_attempt() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.bcrypt_cost = SLOWER_COST;
        s.limits.hash_queue = 2;
        s.limits.login_user = 3;
    })
    .await
    else {
        return;
    };
    app.user("alice").await;
    let http = reqwest::Client::new();
    let burst = (0..10).map(|_| {
        post_json_from(
            &http,
            format!("{}/api/session", app.address),
            "127.0.0.1".into(),
            json!({"username": "alice", "password": "wrong password"}),
        )
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(burst)
        .await
        .into_iter()
        .map(|(res, _)| res.status())
        .collect();
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert!(count(StatusCode::SERVICE_UNAVAILABLE) >= 1, "{statuses:?}");
    assert!(count(StatusCode::UNAUTHORIZED) <= 2, "{statuses:?}");
    assert_eq!(
        app.person().login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "only the attempts that were checked count against the limit of 3: {statuses:?}"
    );
}

#[actix_web::test]
async fn registering_a_taken_name_is_answered_without_hashing_even_when_the_queue_is_full() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.bcrypt_cost = SLOWER_COST + 2;
        s.limits.hash_queue = 1;
    })
    .await
    else {
        return;
    };
    app.user("alice").await;
    // Three registrations at once for the one place in the queue: one takes it for a while
    // (over a second), the others are refused at once, which shows that the queue is full.
    let mut holders = Vec::new();
    for name in ["bob", "carol", "dave"] {
        let mut person = app.person();
        person.csrf().await;
        holders.push(actix_web::rt::spawn(async move {
            person
                .post_form("/register", &[("username", name), ("password", PASSWORD)])
                .await
                .status()
        }));
    }
    wait_until(Duration::from_secs(5), "two of three refused", || async {
        holders.iter().filter(|h| h.is_finished()).count() == 2
    })
    .await;

    let mut copycat = app.person();
    copycat.csrf().await;
    let sent = Instant::now();
    let res = copycat
        .post_form(
            "/register",
            &[("username", "ALICE"), ("password", "another password")],
        )
        .await;
    let took = sent.elapsed();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("taken"));
    assert!(took < Duration::from_millis(400), "no hash: {took:?}");
    assert_eq!(
        holders.iter().filter(|h| h.is_finished()).count(),
        2,
        "the queue was full all along"
    );
    let mut statuses = Vec::new();
    for holder in holders {
        statuses.push(holder.await.unwrap());
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [
            StatusCode::SEE_OTHER,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE
        ],
        "one held the queue, the others were refused"
    );
}

#[actix_web::test]
async fn registrations_beyond_the_limit_from_one_address_get_429_until_the_window_has_passed() {
    let clock = ManualClock::new();
    let Some(app) = spawn_app_tweaked(|s| {
        s.clock = clock.clone();
        s.limits.registrations = 2;
        s.limits.registrations_window = Duration::from_secs(600);
    })
    .await
    else {
        return;
    };
    app.user("alice").await;
    let mut visitor = app.person();
    assert_eq!(
        visitor.register("x", PASSWORD).await.status(),
        StatusCode::BAD_REQUEST,
        "an invalid form is not counted"
    );
    assert_eq!(
        visitor.register("alice", PASSWORD).await.status(),
        StatusCode::CONFLICT,
        "a taken name is counted"
    );
    clock.advance(Duration::from_secs(100));
    let res = visitor.register("bob", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        retry_after(&res),
        500,
        "until alice's registration leaves the window"
    );

    let http = reqwest::Client::new();
    let (res, _) = post_json_from(
        &http,
        format!("{}/api/users", app.address),
        "127.0.0.1".into(),
        json!({"username": "bob", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "the API too");
    assert!(retry_after(&res) >= 1);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "rate_limited");

    clock.advance(Duration::from_secs(500));
    let res = app.person().register("bob", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the window has passed");
}

/// Logins from many addresses at once, each for a name of its own, so that no limit stops
/// them before the password check: every one is answered (401 or a fast 503) within a few
/// seconds, never timed out, and pages keep being served meanwhile.
#[actix_web::test]
async fn under_a_flood_of_logins_from_many_addresses_every_login_is_answered_in_seconds_never_408()
{
    const FLOOD: usize = 200;
    let Some(app) = spawn_app_tweaked(|s| {
        s.bcrypt_cost = SLOW_COST;
        s.limits = Default::default();
        s.limits.hash_queue = 16;
        s.limits.request_timeout = Duration::from_secs(8);
        s.trusted_proxy = Some("127.0.0.1".parse().unwrap());
    })
    .await
    else {
        return;
    };
    app.user("alice").await;
    let http = reqwest::Client::new();
    let flood = (0..FLOOD).map(|i| {
        post_json_from(
            &http,
            format!("{}/api/session", app.address),
            format!("10.1.{}.{}", i / 250, i % 250),
            json!({"username": format!("nobody{i}"), "password": "a guess"}),
        )
    });
    let alice = async {
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        let health = Instant::now();
        let res = http
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let health = health.elapsed();
        let (res, took) = post_json_from(
            &http,
            format!("{}/api/session", app.address),
            "192.0.2.1".into(),
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
        (health, res.status(), took)
    };
    let (answers, (health, alice_status, alice_took)) =
        futures_util::future::join(futures_util::future::join_all(flood), alice).await;

    let slowest = answers.iter().map(|(_, took)| *took).max().unwrap();
    let statuses: Vec<StatusCode> = answers.iter().map(|(res, _)| res.status()).collect();
    assert!(
        statuses.iter().all(|s| matches!(s.as_u16(), 401 | 503)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&StatusCode::SERVICE_UNAVAILABLE),
        "the hashing queue never filled, so the flood tested nothing: {statuses:?}"
    );
    assert!(
        slowest < Duration::from_secs(5),
        "slowest login: {slowest:?}"
    );
    assert!(
        matches!(alice_status.as_u16(), 200 | 503),
        "alice: {alice_status}"
    );
    assert!(
        alice_took < Duration::from_secs(5),
        "alice waited {alice_took:?}"
    );
    assert!(
        health < Duration::from_millis(500),
        "the health check took {health:?}"
    );
}
