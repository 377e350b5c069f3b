//! Sessions: server-side, revocable, renewed at login, protected against CSRF.

use std::time::Duration;

use chatroom::clock::ManualClock;
use reqwest::StatusCode;

use super::helpers::{PASSWORD, Person, location, spawn_app, spawn_app_tweaked};

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
    let Some(app) = spawn_app().await else { return };
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
    let Some(app) = spawn_app().await else { return };
    app.user("alice").await;
    // A browser that already has a session (bob's) logs in as alice.
    let mut browser = app.user("bob").await;
    let before = browser.cookies().expect("bob's session cookie");

    browser.login("alice", PASSWORD).await;

    let after = browser.cookies().expect("a session cookie");
    assert_ne!(before, after);
    let old = get_with_cookie(&app.address, &before, "/lobby").await;
    assert_eq!(
        old.status(),
        StatusCode::SEE_OTHER,
        "the pre-login id is not logged in"
    );
}

/// The Set-Cookie headers of an answer, by cookie name.
fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Registers with explicit Cookie headers (a cookie jar would not send a Secure cookie over
/// plain http); returns the registration's answer.
async fn register_by_hand(base: &str, name: &str) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = http.get(format!("{base}/register")).send().await.unwrap();
    let cookie = set_cookies(&form)[0].split(';').next().unwrap().to_owned();
    let token = super::helpers::meta_csrf(&form.text().await.unwrap()).unwrap();
    http.post(format!("{base}/register"))
        .header("Cookie", cookie)
        .form(&[
            ("username", name),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_session_cookie_is_http_only_same_site_lax_for_the_whole_site() {
    let Some(app) = spawn_app().await else { return };
    let res = register_by_hand(&app.address, "alice").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookies = set_cookies(&res);
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("chatroom_session="))
        .expect("logging in starts a session");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    assert!(
        !cookie.contains("Secure"),
        "Secure only with --secure-cookies"
    );
}

#[actix_web::test]
async fn with_secure_cookies_both_cookies_are_secure_and_host_prefixed() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.secure_cookies = true;
    })
    .await
    else {
        return;
    };

    let form = app.person().get("/login").await;
    let form_cookie = &set_cookies(&form)[0];
    let res = register_by_hand(&app.address, "alice").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookies = set_cookies(&res);
    let session = cookies
        .iter()
        .find(|c| c.contains("chatroom_session="))
        .expect("a session cookie");
    for cookie in [form_cookie, session] {
        assert!(cookie.starts_with("__Host-chatroom_"), "{cookie}");
        assert!(
            cookie.contains("Secure") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
}

#[actix_web::test]
async fn anonymous_visits_to_the_forms_store_no_session_and_the_forms_still_work() {
    let Some(app) = spawn_app().await else { return };
    for _ in 0..20 {
        for path in ["/login", "/register", "/lobby", "/"] {
            app.person().get(path).await;
        }
    }
    let stored: i64 = {
        use diesel::prelude::*;
        chatroom::db::schema::sessions::table
            .count()
            .get_result(&mut app.db())
            .unwrap()
    };
    assert_eq!(stored, 0, "a visitor who only looked costs no session");

    let mut alice = app.person();
    assert_eq!(
        alice.register("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(alice.get("/lobby").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_form_token_works_only_with_its_own_browsers_cookie_and_for_an_hour() {
    let clock = ManualClock::new();
    let Some(app) = spawn_app_tweaked(|s| {
        s.clock = clock.clone();
    })
    .await
    else {
        return;
    };
    app.user("alice").await;

    // Mallory's token, planted in a page that alice's browser posts (a login CSRF).
    let mut mallory = app.person();
    mallory.page("/login").await;
    let planted = mallory.csrf.clone().unwrap();
    let mut victim = app.person();
    victim.page("/login").await;
    victim.csrf = Some(planted);
    let res = victim
        .post_form("/login", &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // A form left open for more than an hour has to be reloaded.
    let mut slow = app.person();
    slow.page("/login").await;
    clock.advance(Duration::from_secs(3601));
    let res = slow
        .post_form("/login", &[("username", "alice"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        slow.login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

/// The page templates: the files of templates/ that extend the layout (the others are parts
/// of pages). Read from the folder, so that a new page cannot be left out of the test below.
fn page_templates() -> Vec<String> {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    let mut pages: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| std::fs::read_to_string(path).is_ok_and(|text| text.contains("{% extends ")))
        .map(|path| path.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    pages.sort();
    pages
}

#[actix_web::test]
async fn every_page_carries_the_csrf_token_in_a_meta_tag() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let (visitor, bob) = (0, 2);
    let mut people = [app.person(), alice, app.user("bob").await];
    let alice = 1;
    // Each page template, who asks for a page made with it, and a line of it that shows it.
    #[rustfmt::skip]
    let pages: [(&str, usize, String, StatusCode, &str); 12] = [
        ("login.html", visitor, "/login".into(), StatusCode::OK, "<h1>Log in</h1>"),
        ("register.html", visitor, "/register".into(), StatusCode::OK, "<h1>Create an account</h1>"),
        ("lobby.html", alice, "/lobby".into(), StatusCode::OK, "<h1>Chat rooms</h1>"),
        ("room.html", alice, format!("/rooms/{room}"), StatusCode::OK, "<section class=\"room-page\">"),
        ("enter.html", bob, format!("/rooms/{room}"), StatusCode::OK, "You are not in this room."),
        ("account.html", alice, "/account".into(), StatusCode::OK, "<h1>Your account</h1>"),
        ("error.html", alice, "/rooms/999999".into(), StatusCode::NOT_FOUND, "<p class=\"status\">Error"),
        ("admin.html", alice, "/admin".into(), StatusCode::OK, "<h1>Administration</h1>"),
        ("admin_users.html", alice, "/admin/users".into(), StatusCode::OK, "<h1>Users</h1>"),
        ("admin_rooms.html", alice, "/admin/rooms".into(), StatusCode::OK, "<h1>Rooms</h1>"),
        ("admin_bots.html", alice, "/admin/bots".into(), StatusCode::OK, "<h1>Bots</h1>"),
        ("search.html", alice, "/search?q=kitchen".into(), StatusCode::OK, "<h1>Search messages</h1>"),
    ];
    let mut covered: Vec<String> = pages.iter().map(|p| p.0.to_owned()).collect();
    covered.sort();
    assert_eq!(
        covered,
        page_templates(),
        "every page template, and only those"
    );
    for (template, who, path, status, marker) in pages {
        let source = std::fs::read_to_string(format!(
            "{}/templates/{template}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert!(
            source.contains(marker),
            "{template} no longer holds {marker:?}"
        );
        let (got, body) = people[who].page(&path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(marker), "{path} is not {template}: {body}");
        assert!(
            super::helpers::meta_csrf(&body).is_some_and(|t| t.len() >= 32),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn a_form_post_without_a_csrf_token_gets_403_and_changes_nothing() {
    let Some(app) = spawn_app().await else { return };
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
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.csrf = Some("x".repeat(43));

    let res = alice.post_form("/rooms", &[("name", "Garden")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = alice.send(room, "hello").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(super::helpers::error_code(res).await, "csrf");

    let (_, lobby) = alice.page("/lobby").await;
    assert!(!lobby.contains("Garden"), "no room was created");
    assert!(
        alice.messages_after(room, 0).await.is_empty(),
        "no message was stored"
    );
}

#[actix_web::test]
async fn a_token_from_another_session_is_refused() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    bob.csrf = Some(alice.csrf().await);
    let res = bob.post_form("/rooms", &[("name", "Garden")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn cross_site_posts_are_refused_even_with_a_valid_token() {
    let Some(app) = spawn_app().await else { return };
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
    let Some(app) = spawn_app().await else { return };
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
    let Some(app) = spawn_app().await else { return };
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

/// A server whose sessions end after two minutes idle, timed by `clock`.
async fn idle_for_two_minutes(
    clock: &std::sync::Arc<ManualClock>,
) -> Option<super::helpers::TestApp> {
    spawn_app_tweaked(|s| {
        s.session_idle = Duration::from_secs(120);
        s.clock = clock.clone();
    })
    .await
}

#[actix_web::test]
async fn a_session_idle_for_longer_than_the_timeout_is_logged_out() {
    let clock = ManualClock::new();
    let Some(app) = idle_for_two_minutes(&clock).await else {
        return;
    };
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

/// A revocation is followed by its number, whatever time it carries: one stamped an hour ago
/// (a transaction that took long to commit, or a clock that lags) still ends the sessions it
/// names on every server.
#[actix_web::test]
async fn a_revocation_stamped_long_ago_still_ends_the_cached_sessions_it_names() {
    use diesel::RunQueryDsl;
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    // The poll: it answers from the cached session and writes nothing into it.
    let poll = format!("/api/rooms/{room}/messages?after=0");
    assert_eq!(alice.get(&poll).await.status(), StatusCode::OK);
    let alice_id = chatroom::models::User::find_by_username(&mut app.db(), "alice")
        .unwrap()
        .unwrap()
        .id;
    // Until the server has followed the revocations its own writes recorded (they forget the
    // cached session too); the poll after caches it again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        alice.get(&poll).await.status(),
        StatusCode::OK,
        "cached again"
    );
    let an_hour_ago = chrono::Utc::now().timestamp() - 3000;
    let mut conn = app.db();
    // What disabling the account does, but for its revocation's stamp.
    diesel::sql_query(format!(
        "UPDATE users SET credentials_version = credentials_version + 1 WHERE id = {alice_id}"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO revocations (user_id, revoked_at) VALUES ({alice_id}, {an_hour_ago})"
    ))
    .execute(&mut conn)
    .unwrap();
    let started = std::time::Instant::now();
    while alice.get(&poll).await.status() != StatusCode::UNAUTHORIZED {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the server still honours the ended session"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls skip actix-session once this server has opened their cookie (see
/// `middleware::session_shortcut`): they must still keep the session alive, end with it, and
/// open nothing for a cookie this server did not seal.
#[actix_web::test]
async fn a_poll_answered_from_memory_keeps_its_session_alive_and_ends_with_it() {
    let clock = ManualClock::new();
    let Some(app) = idle_for_two_minutes(&clock).await else {
        return;
    };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let cookie = alice.cookies().expect("a session cookie");
    let poll = format!("/api/rooms/{room}/messages?after=0");
    for _ in 0..3 {
        let res = get_with_cookie(&app.address, &cookie, &poll).await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    // Only polls, no page: they alone start the idle time again.
    for _ in 0..2 {
        clock.advance(Duration::from_secs(119));
        let res = get_with_cookie(&app.address, &cookie, &poll).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "the polls keep the session alive"
        );
    }
    assert_eq!(alice.get("/lobby").await.status(), StatusCode::OK);

    // A cookie altered by one character in its middle (the last ones may be base64's
    // padding bits, which decode the same) was not sealed by this server.
    let (name, value) = cookie.split_once('=').unwrap();
    let mut forged: Vec<u8> = value.bytes().collect();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == b'A' { b'B' } else { b'A' };
    let forged = format!("{name}={}", String::from_utf8(forged).unwrap());
    let res = get_with_cookie(&app.address, &forged, &poll).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let res = alice.post_form("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = get_with_cookie(&app.address, &cookie, &poll).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "logged out: the poll too"
    );

    let bob = app.user("bob").await;
    let cookie = bob.cookies().expect("a session cookie");
    let res = get_with_cookie(&app.address, &cookie, &poll).await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "bob is not in the room"
    );
    clock.advance(Duration::from_secs(121));
    let res = get_with_cookie(&app.address, &cookie, &poll).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "idle too long");
}
