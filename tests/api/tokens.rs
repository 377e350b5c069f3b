//! Personal API tokens: made, listed and revoked by a logged-in session; shown by scripts as
//! `Authorization: Bearer` on the API, with no cookie and no CSRF token.

use chatroom::models::User;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{Person, TestApp, error_code, spawn_app};

/// A script holding a token: no cookie jar, no CSRF token.
struct Script {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Script {
    fn new(base: &str, token: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            token: token.to_owned(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.unwrap()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.call(Method::POST, path, Some(body)).await
    }
}

/// Makes a token for the person's session: (id, token).
async fn make_token(person: &mut Person, name: &str) -> (i64, String) {
    let res = person
        .post_json("/api/account/tokens", &json!({ "name": name }))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["name"], name.trim());
    (
        body["id"].as_i64().expect("an id"),
        body["token"].as_str().expect("the token").to_owned(),
    )
}

fn user_id(app: &TestApp, name: &str) -> i32 {
    User::find_by_username(&mut app.db(), name)
        .unwrap()
        .expect("the user exists")
        .id
}

async fn tokens_of(person: &Person) -> Vec<Value> {
    let res = person.get("/api/account/tokens").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["tokens"].as_array().expect("a list").clone()
}

#[actix_web::test]
async fn a_token_is_shown_once_and_listed_without_its_secret() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let (id, token) = make_token(&mut alice, "  CI deploys ").await;
    assert!(token.len() >= 40, "{token}");

    let res = alice.get("/api/account/tokens").await;
    let text = res.text().await.unwrap();
    assert!(!text.contains(&token), "the list shows no secret: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let listed = &body["tokens"][0];
    assert_eq!(listed["id"], id);
    assert_eq!(listed["name"], "CI deploys", "names are trimmed");
    assert!(listed["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(listed["last_used_at"], Value::Null, "not used yet");
    assert_eq!(body["tokens"].as_array().unwrap().len(), 1);

    // Only its hash is stored.
    let stored = format!("{:?}", chatroom_token_rows(&app));
    assert!(!stored.contains(&token), "{stored}");
}

/// Every column of every api_tokens row, as text.
fn chatroom_token_rows(app: &TestApp) -> Vec<(String, String)> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName, Debug)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        token_hash: String,
    }
    diesel::sql_query("SELECT name, token_hash FROM api_tokens")
        .load::<Row>(&mut app.db())
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.token_hash))
        .collect()
}

#[actix_web::test]
async fn a_script_with_a_token_enters_posts_and_polls_without_a_cookie_or_csrf_token() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let room = bob.create_room("Builds").await;
    bob.enter(room).await;
    let (_, token) = make_token(&mut alice, "script").await;
    let script = Script::new(&app.address, &token);

    let res = script.get("/api/lobby").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = script
        .post(&format!("/api/rooms/{room}/enter"), json!({}))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let res = script
        .post(
            &format!("/api/rooms/{room}/messages"),
            json!({"text": "build 42 passed"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(
        res.headers().get("set-cookie").is_none(),
        "a token's call starts no session"
    );
    let sent: Value = res.json().await.unwrap();
    assert_eq!(sent["message"]["author"], "alice");
    assert!(sent["message"].get("bot").is_none(), "a person is no bot");

    let res = script
        .get(&format!("/api/rooms/{room}/messages?after=0"))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let seen = bob.messages_after(room, 0).await;
    assert_eq!(seen.last().unwrap()["text"], "build 42 passed");
    assert_eq!(seen.last().unwrap()["author"], "alice");

    let listed = tokens_of(&alice).await;
    assert!(listed[0]["last_used_at"].is_string(), "its use is noted");
}

#[actix_web::test]
async fn a_revoked_token_is_refused_at_once() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let (id, token) = make_token(&mut alice, "laptop").await;
    let (_, other) = make_token(&mut alice, "server").await;
    let script = Script::new(&app.address, &token);
    assert_eq!(script.get("/api/lobby").await.status(), StatusCode::OK);

    let res = alice.delete(&format!("/api/account/tokens/{id}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = script.get("/api/lobby").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    assert_eq!(error_code(res).await, "invalid_token");
    let res = alice.delete(&format!("/api/account/tokens/{id}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "revoked once");

    let listed = tokens_of(&alice).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "server");
    let still = Script::new(&app.address, &other);
    assert_eq!(still.get("/api/lobby").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn made_up_and_malformed_tokens_are_refused_and_change_nothing() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let room = alice.create_room("Quiet").await;
    alice.enter(room).await;
    let (_, real) = make_token(&mut alice, "real").await;
    let guessed = format!("{}{}", &real[..real.len() - 1], "0");
    for token in [guessed.as_str(), "chat_", "nonsense", ""] {
        let script = Script::new(&app.address, token);
        let res = script
            .post(
                &format!("/api/rooms/{room}/messages"),
                json!({"text": "hi"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token:?}");
    }
    assert!(alice.messages_after(room, 0).await.is_empty());
}

#[actix_web::test]
async fn a_disabled_accounts_token_is_refused_until_it_is_enabled_again() {
    let Some(app) = spawn_app().await else { return };
    let mut admin = app.user("admin").await;
    let mut bob = app.user("bob").await;
    let (_, token) = make_token(&mut bob, "bobs script").await;
    let script = Script::new(&app.address, &token);
    let bob_id = user_id(&app, "bob");

    admin.page("/admin/users").await;
    let res = admin
        .post_json(&format!("/api/admin/users/{bob_id}/disable"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = script.get("/api/lobby").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(res).await, "invalid_token");

    let res = admin
        .post_json(&format!("/api/admin/users/{bob_id}/enable"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(script.get("/api/lobby").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_token_opens_no_page_no_administration_and_no_token_management() {
    let Some(app) = spawn_app().await else { return };
    let mut admin = app.user("admin").await;
    let (id, token) = make_token(&mut admin, "admin's script").await;
    let script = Script::new(&app.address, &token);
    let bob_id = {
        app.user("bob").await;
        user_id(&app, "bob")
    };

    for path in [
        "/admin",
        "/admin/users",
        "/api/admin/users",
        "/api/admin/rooms",
    ] {
        let res = script.get(path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let res = script
        .post(&format!("/api/admin/users/{bob_id}/disable"), json!({}))
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(
        User::find_by_username(&mut app.db(), "bob")
            .unwrap()
            .unwrap()
            .disabled_at
            .is_none(),
        "bob is not disabled"
    );

    let res = script.get("/api/account/tokens").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = script
        .post("/api/account/tokens", json!({"name": "another"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = script
        .call(Method::DELETE, &format!("/api/account/tokens/{id}"), None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(tokens_of(&admin).await.len(), 1, "no token made or revoked");

    for path in ["/lobby", "/account", "/"] {
        let res = script.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()["location"], "/login", "{path}");
    }
    let res = script
        .http
        .post(format!("{}/account/password", app.address))
        .bearer_auth(&token)
        .form(&[("current_password", "x"), ("new_password", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no session, no form");
    assert_eq!(script.get("/api/lobby").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn tokens_are_made_only_with_a_name_and_a_csrf_token_and_revoked_only_by_their_owner() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;

    for name in ["", "   ", &"x".repeat(65)] {
        let res = alice
            .post_json("/api/account/tokens", &json!({ "name": name }))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{name:?}");
    }
    let res = alice
        .post_json("/api/account/tokens", &json!({"title": "x"}))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = alice
        .http
        .post(alice.url("/api/account/tokens"))
        .json(&json!({"name": "no csrf"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(tokens_of(&alice).await.is_empty());
    let res = app
        .person()
        .http
        .get(format!("{}/api/account/tokens", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let (id, token) = make_token(&mut alice, "mine").await;
    let res = bob.delete(&format!("/api/account/tokens/{id}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(tokens_of(&bob).await.is_empty(), "bob sees only his own");
    let script = Script::new(&app.address, &token);
    assert_eq!(script.get("/api/lobby").await.status(), StatusCode::OK);
}
