//! Sessions: server-side, revocable, renewed at login, protected against CSRF.

use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Key;
use chatroom::clock::ManualClock;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, Person, location, spawn_app, spawn_app_with, test_settings};

/// A client that sends exactly this Cookie header, whatever it is told to store.
async fn get_with_cookie(base: &str, cookie: &str, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{base}{path}"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn logging_out_ends_the_session_on_the_server_so_a_replayed_cookie_is_logged_out() {
    let app = spawn_app().await;
    let mut alice = app.user("alice").await;
    let stolen = alice.cookies().expect("a session cookie");

    let res = alice.post_form("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");

    let replayed = get_with_cookie(&app.address, &stolen, "/lobby").await;
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replayed), "/login");
    let res = alice.get("/lobby").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the browser is logged out too"
    );
}

#[actix_web::test]
async fn logging_in_issues_a_new_session_id() {
    let app = spawn_app().await;
    app.user("alice").await;
    let mut alice = app.person();
    alice.page("/login").await;
    let before = alice
        .cookies()
        .expect("an anonymous session for the form's token");

    alice.login("alice", PASSWORD).await;

    let after = alice.cookies().expect("a session cookie");
    assert_ne!(before, after);
    let old = get_with_cookie(&app.address, &before, "/lobby").await;
    assert_eq!(
        old.status(),
        StatusCode::SEE_OTHER,
        "the pre-login id is not logged in"
    );
}

#[actix_web::test]
async fn the_session_cookie_is_http_only_same_site_lax_for_the_whole_site() {
    let app = spawn_app().await;
    let res = app.person().get("/login").await;
    let cookie = res
        .headers()
        .get("set-cookie")
        .expect("the login page starts a session")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("chatroom_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    assert!(
        !cookie.contains("Secure"),
        "Secure only with --secure-cookies"
    );
}

#[actix_web::test]
async fn every_page_carries_the_csrf_token_in_a_meta_tag() {
    let app = spawn_app().await;
    let mut alice = app.user("alice").await;
    for path in ["/login", "/register", "/lobby"] {
        let (_, body) = alice.page(path).await;
        assert!(
            crate::helpers::meta_csrf(&body).is_some_and(|t| t.len() >= 32),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn a_form_post_without_a_csrf_token_gets_403_and_changes_nothing() {
    let app = spawn_app().await;
    let mut mallory = app.person();
    mallory.page("/register").await;

    let res = mallory
        .http
        .post(mallory.url("/register"))
        .form(&[("username", "mallory"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app.person().login("mallory", PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "no account was created"
    );
}

#[actix_web::test]
async fn a_wrong_csrf_token_gets_403_for_forms_and_json() {
    let app = spawn_app().await;
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.csrf = Some("x".repeat(43));

    let res = alice.post_form("/rooms", &[("name", "Garden")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = alice.send(room, "hello").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(crate::helpers::error_code(res).await, "csrf");

    let (_, lobby) = alice.page("/lobby").await;
    assert!(!lobby.contains("Garden"), "no room was created");
    assert!(
        alice.messages_after(room, 0).await.is_empty(),
        "no message was stored"
    );
}

#[actix_web::test]
async fn a_token_from_another_session_is_refused() {
    let app = spawn_app().await;
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    bob.csrf = Some(alice.csrf().await);
    let res = bob.post_form("/rooms", &[("name", "Garden")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn cross_site_posts_are_refused_even_with_a_valid_token() {
    let app = spawn_app().await;
    let mut alice = app.user("alice").await;
    let token = alice.csrf().await;
    let form = [("name", "Garden"), ("csrf_token", token.as_str())];

    let by_fetch_metadata = alice
        .http
        .post(alice.url("/rooms"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(by_fetch_metadata.status(), StatusCode::FORBIDDEN);

    let by_origin = alice
        .http
        .post(alice.url("/rooms"))
        .header("Origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(by_origin.status(), StatusCode::FORBIDDEN);

    let same_origin = alice
        .http
        .post(alice.url("/rooms"))
        .header("Sec-Fetch-Site", "same-origin")
        .header("Origin", alice.base.clone())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        same_origin.status(),
        StatusCode::SEE_OTHER,
        "our own page may post"
    );
}

#[actix_web::test]
async fn the_login_form_is_protected_by_csrf_too() {
    let app = spawn_app().await;
    app.user("alice").await;
    let victim = Person::new(&app.address);
    let res = victim
        .http
        .post(victim.url("/login"))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_restarted_server_keeps_everyone_logged_in() {
    let app = spawn_app().await;
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.say(room, "before the restart").await;

    let first = app.address.clone();
    let restarted = app.restart().await;
    alice.base = restarted.address.clone();
    assert!(
        alice
            .http
            .get(format!("{first}/healthz"))
            .send()
            .await
            .is_err(),
        "the first server has stopped"
    );

    let (status, _) = alice.page("/lobby").await;
    assert_eq!(status, StatusCode::OK);
    let messages = alice.messages_after(room, 0).await;
    assert_eq!(messages.len(), 1, "still in the room, history intact");
    alice.say(room, "after the restart").await;
}

#[actix_web::test]
async fn a_session_idle_for_longer_than_the_timeout_is_logged_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&dir.path().join("chat.db"), Key::generate());
    settings.session_idle = Duration::from_secs(120);
    let clock = ManualClock::new();
    settings.clock = clock.clone();
    let app = spawn_app_with(settings, Arc::new(dir)).await;
    let alice = app.user("alice").await;
    clock.advance(Duration::from_secs(119));
    assert_eq!(alice.get("/lobby").await.status(), StatusCode::OK);
    clock.advance(Duration::from_secs(119));
    assert_eq!(
        alice.get("/lobby").await.status(),
        StatusCode::OK,
        "each request starts the idle time again"
    );

    clock.advance(Duration::from_secs(121));
    let res = alice.get("/lobby").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
}
