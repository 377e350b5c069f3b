//! Logins in flight while their account changes: a login reads the account before its
//! password check and saves its session after, so a disable, a password reset or a password
//! change that commits in between must still end it. Each test loops logins from several
//! browsers while the change commits, round after round, and then tries every session they got.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chatroom::models::User;
use reqwest::StatusCode;
use serde_json::json;

use super::helpers::{PASSWORD, Person, TestApp, spawn_app_tweaked};
use super::wait::wait_until;

/// Browsers logging in at once, each again and again.
const BROWSERS: usize = 8;

/// A bcrypt cost that makes each check take a few milliseconds, so that many logins are
/// between reading the account and saving their session when the change commits.
const COST: u32 = 7;

/// Logs `name` in with `password` from `BROWSERS` browsers, each again and again, until
/// `change` has run (once every browser has logged in at least once, so that they are all in
/// their loops) and a little after; returns the browsers whose login succeeded.
async fn logins_while(
    app: &TestApp,
    name: &str,
    password: &str,
    change: impl Future,
) -> Vec<Person> {
    let stop = Arc::new(AtomicBool::new(false));
    let looping = Arc::new(AtomicUsize::new(0));
    let browsers: Vec<_> = (0..BROWSERS)
        .map(|_| {
            let (base, name) = (app.address.clone(), name.to_owned());
            let (password, stop, looping) = (password.to_owned(), stop.clone(), looping.clone());
            actix_web::rt::spawn(async move {
                let mut logged_in = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let mut browser = Person::new(&base);
                    if browser.login(&name, &password).await.status() == StatusCode::SEE_OTHER {
                        if logged_in.is_empty() {
                            looping.fetch_add(1, Ordering::Relaxed);
                        }
                        logged_in.push(browser);
                    }
                }
                logged_in
            })
        })
        .collect();
    wait_until(Duration::from_secs(10), "the logins working", || async {
        looping.load(Ordering::Relaxed) >= BROWSERS
    })
    .await;
    change.await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    stop.store(true, Ordering::Relaxed);
    let mut logged_in = Vec::new();
    for browser in browsers {
        logged_in.extend(browser.await.unwrap());
    }
    logged_in
}

/// Every one of `sessions` is logged out, once the other servers' caches could have followed
/// (half a second: see `FOLLOW_REVOCATIONS_EVERY`). Asked on a connection of its own: a
/// browser's, idle since its login, may be closing just then.
async fn assert_all_logged_out(sessions: &[Person], what: &str) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let client = reqwest::Client::new();
    for (i, session) in sessions.iter().enumerate() {
        let status = client
            .get(session.url("/api/rooms"))
            .header("Cookie", session.cookies().expect("a session cookie"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "session {i} of {} logged in before {what} still works",
            sessions.len()
        );
    }
}

fn user_id(app: &TestApp, name: &str) -> i32 {
    User::find_by_username(&mut app.db(), name)
        .unwrap()
        .expect("the user exists")
        .id
}

#[actix_web::test]
async fn no_login_in_flight_outlives_an_administrators_disable() {
    let Some(app) = spawn_app_tweaked(|s| s.bcrypt_cost = COST).await else {
        return;
    };
    let mut admin = app.user("admin").await;
    let mut sessions = Vec::new();
    for round in 0..10 {
        let name = format!("bob{round}");
        app.user(&name).await;
        let bob = user_id(&app, &name);
        let disable = async {
            let res = admin
                .post_json(&format!("/api/admin/users/{bob}/disable"), &json!({}))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
        };
        sessions.extend(logins_while(&app, &name, PASSWORD, disable).await);
    }
    assert_all_logged_out(&sessions, "their account was disabled").await;
}

#[actix_web::test]
async fn no_login_in_flight_outlives_a_password_reset_by_a_server_command() {
    let Some(app) = spawn_app_tweaked(|s| s.bcrypt_cost = COST).await else {
        return;
    };
    let url = app.database().url.clone();
    let mut sessions = Vec::new();
    for round in 0..5 {
        let name = format!("bob{round}");
        app.user(&name).await;
        let reset = async {
            let (name, url) = (name.clone(), url.clone());
            // A process of its own, waited for off the thread the server and browsers share.
            let output = actix_web::rt::task::spawn_blocking(move || {
                super::initdb::chatroom(&["users", "reset-password", &name, "--database", &url])
            })
            .await
            .unwrap();
            assert!(
                output.status.success(),
                "{}",
                super::initdb::stderr(&output)
            );
        };
        sessions.extend(logins_while(&app, &name, PASSWORD, reset).await);
    }
    assert_all_logged_out(&sessions, "their password was reset").await;
}

#[actix_web::test]
async fn no_login_in_flight_with_the_old_password_outlives_a_password_change() {
    let Some(app) = spawn_app_tweaked(|s| s.bcrypt_cost = COST).await else {
        return;
    };
    let mut owner = app.user("bob").await;
    owner.page("/account").await;
    let mut sessions = Vec::new();
    let mut current = PASSWORD.to_owned();
    for round in 0..10 {
        let new = format!("{PASSWORD} {round}");
        let change = async {
            let res = owner
                .post_form(
                    "/account/password",
                    &[("current_password", &current), ("new_password", &new)],
                )
                .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
        };
        sessions.extend(logins_while(&app, "bob", &current, change).await);
        current = new;
        // The owner's session carries on under the new password.
        assert_eq!(owner.get("/api/rooms").await.status(), StatusCode::OK);
        owner.page("/account").await;
    }
    assert_all_logged_out(&sessions, "their password was changed").await;
}

/// A password change is checked, then hashed, then stored: a reset that commits in between
/// must win. The session that asked was ended by it, so its change is refused (it is logged
/// out) rather than stored over the one-time password with a session to match.
#[actix_web::test]
async fn no_password_change_in_flight_outlives_a_password_reset_by_a_server_command() {
    let Some(app) = spawn_app_tweaked(|s| s.bcrypt_cost = COST).await else {
        return;
    };
    let url = app.database().url.clone();
    for round in 0..5 {
        let name = format!("bob{round}");
        let mut owner = app.user(&name).await;
        owner.page("/account").await;
        let stop = Arc::new(AtomicBool::new(false));
        let changed = Arc::new(AtomicUsize::new(0));
        let changing = actix_web::rt::spawn({
            let (stop, changed) = (stop.clone(), changed.clone());
            async move {
                let mut current = PASSWORD.to_owned();
                while !stop.load(Ordering::Relaxed) {
                    let new = format!("{PASSWORD} {}", changed.load(Ordering::Relaxed));
                    let fields = [("current_password", &*current), ("new_password", &*new)];
                    let res = owner.post_form("/account/password", &fields).await;
                    let to = res.headers().get("location").and_then(|l| l.to_str().ok());
                    if to != Some("/account?notice=password") {
                        // Logged out by the reset: sent to the login page, told so (401), or
                        // refused for a form token that belonged to the ended session (403).
                        let status = res.status();
                        // Or refused as a wrong current password: back to the form.
                        assert!(
                            to == Some("/login")
                                || to == Some("/account")
                                || status == StatusCode::UNAUTHORIZED
                                || status == StatusCode::FORBIDDEN,
                            "{status} {to:?}"
                        );
                        break;
                    }
                    changed.fetch_add(1, Ordering::Relaxed);
                    current = new;
                    owner.page("/account").await;
                }
                owner
            }
        });
        wait_until(Duration::from_secs(10), "the changes working", || async {
            changed.load(Ordering::Relaxed) > 0
        })
        .await;
        let reset = {
            let (name, url) = (name.clone(), url.clone());
            actix_web::rt::task::spawn_blocking(move || {
                super::initdb::chatroom(&["users", "reset-password", &name, "--database", &url])
            })
            .await
            .unwrap()
        };
        assert!(reset.status.success(), "{}", super::initdb::stderr(&reset));
        let one_time = super::initdb::stdout(&reset)
            .lines()
            .next()
            .and_then(|line| line.split(": ").nth(1))
            .expect("the one-time password")
            .to_owned();
        tokio::time::sleep(Duration::from_millis(40)).await;
        stop.store(true, Ordering::Relaxed);
        let owner = changing.await.unwrap();
        assert_all_logged_out(&[owner], "their password was reset").await;
        let mut admin_gave_it = app.person();
        let res = admin_gave_it.login(&name, &one_time).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "round {round}: the one-time password was replaced after the reset"
        );
    }
}
