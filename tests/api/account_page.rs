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

// ---- API tokens on the account page (issue 31) ----

/// The secret the page shows for a token just made, if it shows one.
fn shown_secret(page: &str) -> Option<String> {
    let field = page.split("id=\"new-token-secret\"").nth(1)?;
    let value = field.split("value=\"").nth(1)?;
    Some(value.split('"').next()?.to_owned())
}

/// The ids of the tokens the page lists, in its order.
fn listed_tokens(page: &str) -> Vec<i32> {
    page.split("data-token-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

fn stored_token_hashes(app: &TestApp) -> Vec<String> {
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct Hash {
        #[diesel(sql_type = Text)]
        token_hash: String,
    }
    diesel::sql_query("SELECT token_hash FROM api_tokens")
        .load::<Hash>(&mut app.db())
        .unwrap()
        .into_iter()
        .map(|row| row.token_hash)
        .collect()
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Makes a token named `name` through the page's form; its id and secret.
async fn make_token(person: &mut Person, name: &str) -> (i32, String) {
    let res = person.post_form("/account/tokens", &[("name", name)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    let secret = shown_secret(&page).expect("the new token is shown");
    let id = *listed_tokens(&page).first().expect("and listed first");
    (id, secret)
}

#[actix_web::test]
async fn a_token_made_on_the_account_page_is_shown_once_and_then_listed_without_its_secret() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let (_, page) = alice.page("/account").await;
    assert!(page.contains("id=\"no-tokens\""), "{page}");

    let res = alice
        .post_form("/account/tokens", &[("name", "  Build notices ")])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the page itself, not a redirect"
    );
    let page = res.text().await.unwrap();
    let secret = shown_secret(&page).expect("the secret is shown");
    assert!(secret.starts_with("chat_"), "{secret}");
    assert!(page.contains("Your new token “Build notices”"), "{page}");
    assert!(page.contains("it will not be shown again"), "{page}");
    assert_eq!(
        stored_token_hashes(&app),
        vec![sha256_hex(&secret)],
        "only the secret's hash is kept"
    );

    let (status, page) = alice.page("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&secret), "shown once only");
    assert!(shown_secret(&page).is_none());
    assert_eq!(listed_tokens(&page).len(), 1, "{page}");
    let row = page.split("data-token-id=").nth(1).unwrap();
    assert!(row.contains("<td>Build notices</td>"), "{row}");
    assert!(row.contains("<td>never</td>"), "never used yet: {row}");

    // Another, listed first, each with its own secret.
    let (newer, other) = make_token(&mut alice, "Deploys").await;
    assert_ne!(other, secret);
    let (_, page) = alice.page("/account").await;
    assert_eq!(listed_tokens(&page).len(), 2);
    assert_eq!(listed_tokens(&page)[0], newer);
}

#[actix_web::test]
async fn revoking_a_token_on_the_account_page_takes_it_off_the_list_and_out_of_the_table() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let (kept, kept_secret) = make_token(&mut alice, "Kept").await;
    let (gone, _) = make_token(&mut alice, "Leaked").await;

    let res = alice
        .post_form(&format!("/account/tokens/{gone}/revoke"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account?notice=revoked");
    let (_, page) = alice.page("/account?notice=revoked").await;
    assert!(page.contains("That token was revoked"), "{page}");
    assert_eq!(listed_tokens(&page), vec![kept]);
    assert_eq!(stored_token_hashes(&app), vec![sha256_hex(&kept_secret)]);

    let again = alice
        .post_form(&format!("/account/tokens/{gone}/revoke"), &[])
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "already revoked");
}

#[actix_web::test]
async fn a_name_the_rules_refuse_brings_the_form_back_with_why_and_makes_no_token() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let long = "x".repeat(65);
    for (typed, why) in [
        ("   ", "Give it a name."),
        (long.as_str(), "at most 64 characters"),
        ("two\nlines", "control characters"),
    ] {
        let res = alice.post_form("/account/tokens", &[("name", typed)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{typed:?}");
        let page = res.text().await.unwrap();
        assert!(page.contains("id=\"token-error\""), "{page}");
        assert!(page.contains(why), "{typed:?}: {page}");
        assert!(shown_secret(&page).is_none());
    }
    let res = alice.post_form("/account/tokens", &[("name", &long)]).await;
    let page = res.text().await.unwrap();
    assert!(
        page.contains(&format!("value=\"{long}\"")),
        "what was typed is kept"
    );
    assert!(stored_token_hashes(&app).is_empty());
}

#[actix_web::test]
async fn the_token_forms_without_the_csrf_token_are_refused() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let (id, _) = make_token(&mut alice, "Kept").await;
    for path in [
        "/account/tokens".to_owned(),
        format!("/account/tokens/{id}/revoke"),
    ] {
        let res = alice
            .http
            .post(alice.url(&path))
            .form(&[("name", "Sneaky")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let (_, page) = alice.page("/account").await;
    assert_eq!(
        listed_tokens(&page),
        vec![id],
        "nothing made, nothing revoked"
    );
}

#[actix_web::test]
async fn nobody_can_revoke_someone_elses_token_or_learn_that_it_exists() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let (id, _) = make_token(&mut alice, "Alice's").await;
    let mut bob = app.user("bob").await;
    let (_, page) = bob.page("/account").await;
    assert!(listed_tokens(&page).is_empty(), "bob sees none of alice's");

    let res = bob
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let missing = bob
        .post_form(&format!("/account/tokens/{}/revoke", id + 1000), &[])
        .await;
    assert_eq!(
        missing.status(),
        StatusCode::NOT_FOUND,
        "the same as none at all"
    );
    let (_, page) = alice.page("/account").await;
    assert_eq!(listed_tokens(&page), vec![id], "still alice's");
}

#[actix_web::test]
async fn a_logged_out_visitor_can_neither_make_nor_revoke_a_token() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let (id, _) = make_token(&mut alice, "Kept").await;
    let mut stranger = app.person();
    for path in [
        "/account/tokens".to_owned(),
        format!("/account/tokens/{id}/revoke"),
    ] {
        // Without a session there is no session's CSRF token to send (only a login form's).
        let res = stranger.post_form(&path, &[("name", "Mine now")]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let (_, page) = alice.page("/account").await;
    assert_eq!(listed_tokens(&page), vec![id]);
    assert_eq!(stored_token_hashes(&app).len(), 1);
}
