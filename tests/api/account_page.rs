//! The account page: the sessions a user has, ending one, changing the password. And what the
//! sessions table keeps of a session: never its key.

use actix_web::cookie::{Cookie, CookieJar};
use diesel::prelude::*;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use super::helpers::{PASSWORD, Person, TestApp, location, spawn_app};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
const TERMINAL: &str = "chatroom-terminal/0.1.0";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// The key inside a person's (encrypted) session cookie.
fn session_key(app: &TestApp, person: &Person) -> String {
    let header = person.cookies().expect("a session cookie");
    let mut jar = CookieJar::new();
    for pair in header.split("; ") {
        jar.add_original(Cookie::parse_encoded(pair.to_owned()).unwrap());
    }
    jar.private(&app.cookie_key)
        .get("chatroom_session")
        .expect("a session cookie the server's key opens")
        .value()
        .to_owned()
}

fn stored_session_ids(app: &TestApp) -> Vec<String> {
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    diesel::sql_query("SELECT id FROM sessions")
        .load::<Id>(&mut app.db())
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect()
}

/// The public ids of the sessions the account page offers to end, and the current one.
fn listed_sessions(page: &str) -> (Vec<String>, Option<String>) {
    let mut all = Vec::new();
    let mut current = None;
    for row in page.split("<tr class=\"session").skip(1) {
        let id = row
            .split("/account/sessions/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap()
            .to_owned();
        if row.starts_with(" current") {
            current = Some(id.clone());
        }
        all.push(id);
    }
    (all, current)
}

#[actix_web::test]
async fn the_sessions_table_holds_a_hash_of_each_key_and_never_the_key() {
    let Some(app) = spawn_app().await else { return };
    let alice = app.user("alice").await;
    let key = session_key(&app, &alice);
    let hashed: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let ids = stored_session_ids(&app);
    assert!(ids.contains(&hashed), "{ids:?}");
    assert!(!ids.contains(&key), "the key itself is stored");
    assert_eq!(alice.get("/lobby").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn the_account_page_lists_each_session_with_its_device_and_can_end_one() {
    let Some(app) = spawn_app().await else { return };
    let mut browser = Person::with_agent(&app.address, FIREFOX);
    browser.register("alice", PASSWORD).await;
    let terminal = Person::with_agent(&app.address, TERMINAL);
    let res = terminal
        .http
        .post(terminal.url("/api/session"))
        .json(&serde_json::json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(terminal.get("/api/lobby").await.status(), StatusCode::OK);

    let (status, page) = browser.page("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Firefox on Linux <strong>(this session)</strong>"),
        "{page}"
    );
    assert!(page.contains("<td>terminal</td>"), "{page}");
    assert!(page.contains("<td>127.0.0.1</td>"), "{page}");
    let (listed, current) = listed_sessions(&page);
    assert_eq!(listed.len(), 2, "{page}");
    let current = current.expect("the current session is marked");
    let other = listed.iter().find(|id| **id != current).unwrap().clone();

    // Someone else cannot end it: as far as they can tell, it does not exist.
    let mut bob = app.user("bob").await;
    let res = bob
        .post_form(&format!("/account/sessions/{other}/end"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(terminal.get("/api/lobby").await.status(), StatusCode::OK);

    let res = browser
        .post_form(&format!("/account/sessions/{other}/end"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account?notice=ended");
    assert_eq!(
        terminal.get("/api/lobby").await.status(),
        StatusCode::UNAUTHORIZED,
        "the ended session is logged out at once"
    );
    let (_, page) = browser.page("/account").await;
    assert_eq!(listed_sessions(&page).0, vec![current.clone()]);

    // Ending the current one is logging out.
    let res = browser
        .post_form(&format!("/account/sessions/{current}/end"), &[])
        .await;
    assert_eq!(location(&res), "/login");
    assert_eq!(location(&browser.get("/lobby").await), "/login");
}

#[actix_web::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let Some(app) = spawn_app().await else { return };
    let mut here = app.user("alice").await;
    let mut elsewhere = app.person();
    assert_eq!(
        elsewhere.login("alice", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let res = here
        .post_form(
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    // Refused, and redirected (a reload of the page then posts nothing again): the page
    // says why, once.
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account");
    let (status, body) = here.page("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Your current password is not the one you typed."),
        "{body}"
    );
    assert!(
        body.contains("action=\"/account/password\""),
        "the form comes back"
    );
    let (_, again) = here.page("/account").await;
    assert!(
        !again.contains("Your current password is not the one you typed."),
        "a reload shows it no more"
    );

    let res = here
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "password123"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, body) = here.page("/account").await;
    assert!(
        body.contains("class=\"error\""),
        "a common password is refused: {body}"
    );
    assert_eq!(
        elsewhere.get("/lobby").await.status(),
        StatusCode::OK,
        "nothing changed"
    );

    let old_cookie = here.cookies().unwrap();
    let res = here
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account?notice=password");
    let replayed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(here.url("/lobby"))
        .header("Cookie", old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&replayed),
        "/login",
        "the key from before the change is worthless"
    );
    assert_eq!(
        here.get("/lobby").await.status(),
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        location(&elsewhere.get("/lobby").await),
        "/login",
        "every other session ended"
    );
    let mut later = app.person();
    assert_eq!(
        later.login("alice", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        later.login("alice", NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}
