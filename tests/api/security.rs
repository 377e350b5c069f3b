//! The protections a trusted web app is expected to have, each proven against the real server.

use chatroom::clock::ManualClock;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::helpers::{PASSWORD, error_code, spawn_app, spawn_app_tweaked};

/// Sends raw bytes, then reads whatever comes back within `wait`.
fn raw_exchange(address: &str, request: &[u8], wait: Duration) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn every_page_and_api_answer_carries_the_security_headers() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let paths = [
        "/login".to_owned(),
        "/lobby".to_owned(),
        format!("/rooms/{room}"),
        "/account".to_owned(),
        "/no/such/page".to_owned(),
        format!("/api/rooms/{room}/messages"),
    ];
    for path in &paths {
        let res = alice.get(path).await;
        let csp = header(&res, "content-security-policy");
        for directive in [
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ] {
            assert!(
                csp.contains(directive),
                "{path}: {directive} missing from {csp}"
            );
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}"
        );
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&res, "referrer-policy"), "same-origin", "{path}");
        assert_eq!(header(&res, "cache-control"), "no-store", "{path}");
    }
}

#[test]
fn no_template_has_an_inline_script_or_an_event_handler_attribute() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let html = std::fs::read_to_string(&path).unwrap().to_lowercase();
        for (at, _) in html.match_indices("<script") {
            let tag = &html[at..at + html[at..].find('>').unwrap()];
            assert!(tag.contains(" src="), "inline script in {}", path.display());
        }
        let words: Vec<&str> = html
            .split(|c: char| c.is_whitespace() || c == '<')
            .collect();
        for word in words {
            let is_handler = word.starts_with("on")
                && word.contains('=')
                && word[2..word.find('=').unwrap()]
                    .chars()
                    .all(|c| c.is_ascii_alphabetic());
            assert!(
                !is_handler,
                "event handler attribute {word} in {}",
                path.display()
            );
        }
    }
}

#[actix_web::test]
async fn ten_failed_logins_for_a_username_lock_it_for_the_window_even_with_the_right_password() {
    let Some(app) = spawn_app_tweaked(|s| s.limits = Default::default()).await else {
        return;
    };
    app.user("alice").await;
    let mut attacker = app.person();
    for _ in 0..10 {
        let res = attacker.login("alice", "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    let res = attacker.login("alice", "wrong password").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&res, "retry-after").parse().unwrap();
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Too many attempts") && !page.contains("sending messages"),
        "the login limit keeps its own words"
    );
    assert!((800..=900).contains(&retry), "about 15 minutes: {retry}");

    let mut alice = app.person();
    let res = alice.login("ALICE", PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the password does not help"
    );
    let res = alice.login("bob", PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "other usernames are not locked"
    );
}

#[actix_web::test]
async fn a_successful_login_resets_the_failure_count() {
    let Some(app) = spawn_app_tweaked(|s| s.limits = Default::default()).await else {
        return;
    };
    app.user("alice").await;
    let mut alice = app.person();
    for _ in 0..9 {
        alice.login("alice", "wrong password").await;
    }
    assert_eq!(
        alice.login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut again = app.person();
    for _ in 0..9 {
        assert_eq!(
            again.login("alice", "wrong password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[actix_web::test]
async fn thirty_failures_from_one_address_lock_it_and_a_forged_forwarded_for_does_not_help() {
    let Some(app) = spawn_app_tweaked(|s| s.limits = Default::default()).await else {
        return;
    };
    let mut attacker = app.person();
    attacker.page("/login").await;
    let token = attacker.csrf().await;
    for i in 0..31 {
        let res = attacker
            .http
            .post(attacker.url("/login"))
            .header("X-Forwarded-For", format!("203.0.113.{i}"))
            .form(&[
                ("username", format!("user{i}").as_str()),
                ("password", "wrong password"),
                ("csrf_token", token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let expected = if i < 30 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(res.status(), expected, "attempt {}", i + 1);
    }
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.limits = Default::default();
        s.limits.login_address = 2;
        s.trusted_proxy = Some("127.0.0.1".parse().unwrap());
    })
    .await
    else {
        return;
    };
    let mut person = app.person();
    let token = person.csrf().await;
    let attempt = |client: &'static str, user: &'static str| {
        person
            .http
            .post(person.url("/login"))
            // A client-supplied entry first, then the one the proxy appended.
            .header("X-Forwarded-For", format!("198.51.100.7, {client}"))
            .form(&[
                ("username", user),
                ("password", "nope nope"),
                ("csrf_token", &token),
            ])
            .send()
    };
    assert_eq!(attempt("192.0.2.1", "u1").await.unwrap().status(), 401);
    assert_eq!(attempt("192.0.2.1", "u2").await.unwrap().status(), 401);
    assert_eq!(attempt("192.0.2.1", "u3").await.unwrap().status(), 429);
    assert_eq!(
        attempt("192.0.2.2", "u4").await.unwrap().status(),
        401,
        "another client"
    );
}

/// A name longer than any username is nobody's: refused at once, and nothing is kept for it.
/// (Each attempt used to be a key in the throttle's memory, and counted against the address.)
#[actix_web::test]
async fn names_longer_than_any_username_are_refused_without_counting_against_the_address() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.limits = Default::default();
        s.limits.login_address = 3;
    })
    .await
    else {
        return;
    };
    app.user("alice").await;
    let mut attacker = app.person();
    for i in 0..4 {
        let name = format!("{i}{}", "x".repeat(15_000));
        let res = attacker.login(&name, "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {}", i + 1);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Wrong username or password")
        );
    }
    let res = attacker
        .post_json(
            "/api/session",
            &serde_json::json!({ "username": "y".repeat(15_000), "password": "nope" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(res).await, "invalid_credentials");
    assert_eq!(
        app.person().login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "the address counted none of them"
    );
}

/// Every spelling that finds an account counts against it: the full-width "ａｌｉｃｅ" and
/// "ali\u{AD}ce" log into alice, so they must not each get ten guesses of their own.
#[actix_web::test]
async fn look_alike_spellings_of_a_username_share_one_failure_counter() {
    let Some(app) = spawn_app_tweaked(|s| s.limits = Default::default()).await else {
        return;
    };
    app.user("alice").await;
    let spellings = [
        "alice",
        "ALICE",
        "\u{FF41}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}",
        "ali\u{AD}ce",
    ];
    assert_eq!(
        app.person().login(spellings[2], PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "the full-width spelling finds alice"
    );
    let mut attacker = app.person();
    for i in 0..10 {
        let res = attacker.login(spellings[i % 4], "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {}", i + 1);
    }
    for spelling in spellings {
        assert_eq!(
            app.person().login(spelling, PASSWORD).await.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{spelling:?} is locked with the others"
        );
    }
}

#[actix_web::test]
async fn posting_faster_than_a_person_can_gets_429_and_the_message_is_not_stored() {
    let Some(app) = spawn_app_tweaked(|s| s.limits = Default::default()).await else {
        return;
    };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    for i in 0..20 {
        alice.say(room, &format!("message {i}")).await;
    }

    let res = alice.send(room, "one too many").await;

    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = header(&res, "retry-after").parse::<u64>().unwrap();
    assert!((1..=10).contains(&wait), "{wait}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(
        body["message"],
        format!("You're sending messages too fast; wait {wait} s"),
        "the sender's own words, with the wait the header gives"
    );
    let stored = alice.messages_after(room, 0).await;
    assert_eq!(stored.len(), 20);
    assert!(stored.iter().all(|m| m["text"] != "one too many"));
}

/// Posts sent at once are counted as they come, none slipping past the limit: on PostgreSQL
/// they are counted together, a batch per round trip to the database.
#[actix_web::test]
async fn thirty_posts_sent_at_once_store_twenty_and_get_ten_429s() {
    let Some(app) = spawn_app_tweaked(|s| s.limits = Default::default()).await else {
        return;
    };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.csrf().await;
    let mut tabs: Vec<_> = (0..30).map(|_| alice.on(&alice.base)).collect();
    let answers = futures_util::future::join_all(
        tabs.iter_mut()
            .enumerate()
            .map(|(i, tab)| async move { tab.send(room, &format!("at once {i}")).await.status() }),
    )
    .await;
    let refused = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(refused, 10, "{answers:?}");
    assert_eq!(alice.messages_after(room, 0).await.len(), 20);
}

#[actix_web::test]
async fn creating_rooms_too_fast_gets_429() {
    let Some(app) = spawn_app_tweaked(|s| s.limits.rooms = 2).await else {
        return;
    };
    let mut alice = app.user("alice").await;
    alice.create_room("One").await;
    alice.create_room("Two").await;
    let res = alice.post_form("/rooms", &[("name", "Three")]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let (status, lobby) = alice.page("/lobby").await;
    assert_eq!(status, StatusCode::OK, "{lobby}");
    assert!(
        lobby.contains("Two"),
        "the lobby, with the rooms made: {lobby}"
    );
    assert!(!lobby.contains("Three"));
}

#[actix_web::test]
async fn a_form_over_16_kib_gets_413() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let res = alice
        .post_form("/rooms", &[("name", &"x".repeat(17 * 1024))])
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[actix_web::test]
async fn a_huge_declared_body_is_refused_with_413_before_it_is_sent() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let cookie = alice.cookies().unwrap();
    let token = alice.csrf().await;
    let room = alice.create_room("Kitchen").await;
    let address = app.address.clone();
    let form = format!(
        "POST /rooms HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\n"
    );
    let json = format!(
        "POST /api/rooms/{room}/messages HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\
         X-CSRF-Token: {token}\r\nContent-Type: application/json\r\n\
         Content-Length: 100000000\r\n\r\n"
    );
    let answers = actix_web::web::block(move || {
        [form, json]
            .map(|request| raw_exchange(&address, request.as_bytes(), Duration::from_secs(5)))
    })
    .await
    .unwrap();
    for answer in answers {
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    }
}

#[actix_web::test]
async fn a_stalled_request_is_answered_408_after_the_timeout() {
    let Some(app) = spawn_app_tweaked(|s| s.limits.request_timeout = Duration::from_secs(1)).await
    else {
        return;
    };
    let mut alice = app.user("alice").await;
    let cookie = alice.cookies().unwrap();
    let token = alice.csrf().await;
    let address = app.address.clone();
    let started = Instant::now();
    let answer = actix_web::web::block(move || {
        let request = format!(
            "POST /rooms HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
             csrf_token={token}&name="
        );
        raw_exchange(&address, request.as_bytes(), Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(8));
    let answer = answer.to_ascii_lowercase();
    for header in SECURITY_HEADERS {
        assert!(
            answer.contains(&format!("\r\n{header}: ")),
            "no {header}: {answer}"
        );
    }
}

/// What every answer carries, errors included.
const SECURITY_HEADERS: [&str; 4] = [
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "cache-control",
];

#[actix_web::test]
async fn odd_input_gets_a_clear_4xx_never_a_500() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let token = alice.csrf().await;

    // Percent-encoded, invalid UTF-8 decodes to U+FFFD, as the URL standard (and every
    // browser) does; raw invalid bytes in a form are refused.
    let encoded = alice
        .http
        .post(alice.url("/rooms"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={token}&name=%FF%FE"))
        .send()
        .await
        .unwrap();
    assert_eq!(encoded.status(), StatusCode::SEE_OTHER);
    let (_, lobby) = alice.page("/lobby").await;
    assert!(lobby.contains("\u{FFFD}\u{FFFD}"));
    let mut body = format!("csrf_token={token}&name=").into_bytes();
    body.extend_from_slice(b"\xff\xfe");
    let raw = alice
        .http
        .post(alice.url("/rooms"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(raw.status().is_client_error(), "{}", raw.status());
    let room = alice.create_room("Kitchen").await;

    let raw_bytes = alice
        .http
        .post(alice.url(&format!("/api/rooms/{room}/messages")))
        .header("X-CSRF-Token", &token)
        .header("Content-Type", "application/json")
        .body(b"{\"text\": \"\xff\xfe\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(raw_bytes.status(), StatusCode::BAD_REQUEST);

    let nul = alice.send(room, "nul \0 byte").await;
    assert_eq!(nul.status(), StatusCode::BAD_REQUEST);
    let nul_name = alice.post_form("/rooms", &[("name", "a\0b")]).await;
    assert_eq!(nul_name.status(), StatusCode::BAD_REQUEST);
    let mut mallory = app.person();
    let nul_user = mallory.register("mal\0lory", PASSWORD).await;
    assert_eq!(nul_user.status(), StatusCode::BAD_REQUEST);

    for path in [
        "/rooms/2147483648",
        "/api/rooms/99999999999999999999/messages",
    ] {
        let res = alice.get(path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert!(
        alice.messages_after(room, 0).await.is_empty(),
        "nothing was stored"
    );
}

#[actix_web::test]
async fn an_unknown_method_gets_405() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    let token = alice.csrf().await;
    for (method, path) in [
        ("PUT", "/lobby".to_owned()),
        ("DELETE", format!("/rooms/{room}")),
        ("PATCH", format!("/api/rooms/{room}/messages")),
    ] {
        let res = alice
            .http
            .request(method.parse().unwrap(), alice.url(&path))
            .header("X-CSRF-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }
    let res = alice.get(&format!("/rooms/{room}")).await;
    assert_eq!(res.status(), StatusCode::OK, "the room is still there");
}

#[actix_web::test]
async fn a_panicking_handler_answers_a_generic_500_and_the_server_keeps_serving() {
    let Some(app) = spawn_app().await else { return };
    let visitor = app.person();
    for _ in 0..4 {
        let res = visitor.get("/__panic").await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        for name in SECURITY_HEADERS {
            header(&res, name);
        }
        assert_eq!(header(&res, "cache-control"), "no-store");
        let body = res.text().await.unwrap();
        assert!(body.contains("Something went wrong on our side"));
        assert!(
            !body.contains("on purpose"),
            "no panic message reaches the user"
        );
    }
    assert_eq!(visitor.get("/healthz").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn no_page_or_api_answer_reveals_a_password_hash() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Kitchen").await;
    alice.say(room, "hello").await;
    let mut bob = app.user("bob").await;
    bob.enter(room).await;
    // Each answer with something that only the right page holds, so an error page fails.
    for (path, marker) in [
        ("/lobby".to_owned(), "Kitchen"),
        (format!("/rooms/{room}"), "hello"),
        ("/account".to_owned(), "Log out everywhere"),
        (format!("/api/rooms/{room}/messages"), "hello"),
    ] {
        let res = bob.get(&path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains(marker),
            "{path} is not the page asked for: {body}"
        );
        assert!(!body.contains("$2b$"), "{path}");
        assert!(!body.contains("password_hash"), "{path}");
    }
}

#[actix_web::test]
async fn logging_out_everywhere_revokes_every_session_of_the_user() {
    let Some(app) = spawn_app().await else { return };
    let mut laptop = app.user("alice").await;
    let mut phone = app.person();
    phone.login("alice", PASSWORD).await;
    assert_eq!(phone.get("/lobby").await.status(), StatusCode::OK);
    let mut bob = app.user("bob").await;

    let (_, account) = laptop.page("/account").await;
    assert!(account.contains("Log out everywhere"));
    let res = laptop.post_form("/account/logout-everywhere", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    for device in [&laptop, &phone] {
        let res = device.get("/lobby").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(super::helpers::location(&res), "/login");
    }
    assert_eq!(
        bob.page("/lobby").await.0,
        StatusCode::OK,
        "other users stay"
    );
}

#[actix_web::test]
async fn a_session_ends_at_its_absolute_lifetime_however_active() {
    let clock = ManualClock::new();
    let Some(app) = spawn_app_tweaked(|s| {
        s.session_lifetime = Duration::from_secs(600);
        s.clock = clock.clone();
    })
    .await
    else {
        return;
    };
    let alice = app.user("alice").await;
    // Replayed as it was issued: the cookie's own Max-Age must not be what ends the session.
    let cookie = alice.cookies().unwrap();
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let lobby = || async {
        replay
            .get(alice.url("/lobby"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status()
    };
    for _ in 0..9 {
        clock.advance(Duration::from_secs(60));
        assert_eq!(lobby().await, StatusCode::OK, "active, within its lifetime");
    }
    clock.advance(Duration::from_secs(61));
    assert_eq!(lobby().await, StatusCode::SEE_OTHER, "past its lifetime");
}

/// The limit is reserved before the password is checked: guesses sent at once cannot all
/// slip in before the first failure is counted.
#[actix_web::test]
async fn forty_guesses_sent_at_once_get_ten_tries_and_thirty_refusals() {
    let Some(app) = spawn_app_tweaked(|s| s.limits = Default::default()).await else {
        return;
    };
    app.user("alice").await;
    let mut guessers: Vec<_> = (0..40).map(|_| app.person()).collect();
    let answers = super::helpers::wrong_guesses_at_once(&mut guessers, "alice").await;
    let tried = answers
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, refused), (10, 30), "{answers:?}");
}

/// Logging into one's own account does not wipe the address's failures against others.
#[actix_web::test]
async fn a_login_to_ones_own_account_does_not_reset_the_addresss_failures() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.limits = Default::default();
        s.limits.login_address = 5;
    })
    .await
    else {
        return;
    };
    app.user("mallory").await;
    let mut mallory = app.person();
    for victim in ["ann", "ben", "cat", "dan"] {
        let res = mallory.login(victim, "guess one").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        mallory.login("mallory", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut mallory = app.person();
    assert_eq!(
        mallory.login("eve", "guess two").await.status(),
        StatusCode::UNAUTHORIZED,
        "the fifth failure"
    );
    assert_eq!(
        mallory.login("fay", "guess three").await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the address is full, her own login notwithstanding"
    );
}

/// The database holds password hashes and sessions: only its owner may read it. (A SQLite
/// file's mode is ours to set; PostgreSQL's files are its server's, so this runs on SQLite.)
#[actix_web::test]
async fn a_new_database_and_its_wal_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let Some(app) = spawn_app().await else { return };
    let Some(database) = app.database().sqlite_path() else {
        return;
    };
    let mut alice = app.user("alice").await;
    alice.create_room("Kitchen").await;
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", database.display());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path} has mode {mode:o}");
    }
}
