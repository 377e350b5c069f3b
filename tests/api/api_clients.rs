//! The API a non-browser client needs: JSON registration, login and logout, and rooms.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{PASSWORD, Person, error_code, spawn_app};

async fn post(person: &Person, path: &str, body: &Value) -> reqwest::Response {
    person
        .http
        .post(person.url(path))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_client_registers_logs_out_and_logs_in_with_json() {
    let Some(app) = spawn_app().await else { return };
    let client = app.person();

    let res = post(
        &client,
        "/api/users",
        &json!({"username": "term", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["username"], "term");
    let token = body["csrf_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 32);
    assert_eq!(
        client.get("/api/rooms").await.status(),
        StatusCode::OK,
        "logged in"
    );

    let res = client
        .http
        .delete(client.url("/api/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "logging out needs the token"
    );
    let res = client
        .http
        .delete(client.url("/api/session"))
        .header("X-CSRF-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        client.get("/api/rooms").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let res = post(
        &client,
        "/api/session",
        &json!({"username": "term", "password": "wrong guess"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(res).await, "invalid_credentials");
    let res = post(
        &client,
        "/api/session",
        &json!({"username": "TERM", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["user"]["username"], "term");
    assert_eq!(client.get("/api/rooms").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn json_registration_follows_the_same_rules_as_the_form() {
    let Some(app) = spawn_app().await else { return };
    app.user("taken").await;
    let client = app.person();
    for (body, status) in [
        (
            json!({"username": "ab", "password": PASSWORD}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "shorty", "password": "short"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "TAKEN", "password": PASSWORD}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"username": "weakling", "password": "iloveyou2"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"username": "weakling", "password": "Weakling!!1"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"username": "nopass"}), StatusCode::BAD_REQUEST),
    ] {
        let res = post(&client, "/api/users", &body).await;
        assert_eq!(res.status(), status, "{body}");
    }
    let weak = json!({"username": "weakling", "password": "iloveyou2"});
    let answer: Value = post(&client, "/api/users", &weak)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["error"], "bad_request", "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("most common"),
        "{answer}"
    );
}

#[actix_web::test]
async fn the_tokenless_endpoints_take_only_json_and_refuse_other_sites() {
    let Some(app) = spawn_app().await else { return };
    app.user("alice").await;
    let client = app.person();
    let form = client
        .http
        .post(client.url("/api/session"))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let cross_site = client
        .http
        .post(client.url("/api/session"))
        .header("Sec-Fetch-Site", "cross-site")
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        client.get("/api/rooms").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn a_client_creates_enters_leaves_and_deletes_rooms() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let path = |p: &str| p.to_owned();

    let res = alice
        .post_json(&path("/api/rooms"), &json!({"name": "Workshop"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let room = res.json::<Value>().await.unwrap()["room"]["id"]
        .as_i64()
        .unwrap();
    let res = alice
        .post_json("/api/rooms", &json!({"name": "workshop"}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = alice.post_json("/api/rooms", &json!({"name": "  "})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    alice.say(room as i32, "first").await;

    let rooms: Value = alice.get("/api/rooms").await.json().await.unwrap();
    assert_eq!(rooms["rooms"][0]["name"], "Workshop");

    let mut bob = app.user("bob").await;
    let res = bob
        .post_json(&format!("/api/rooms/{room}/enter"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let entered: Value = res.json().await.unwrap();
    assert_eq!(entered["room"]["name"], "Workshop");
    let texts: Vec<&str> = entered["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first"]);
    assert_eq!(bob.poll(room as i32, "0").await.status(), StatusCode::OK);

    let res = bob
        .http
        .delete(bob.url(&format!("/api/rooms/{room}")))
        .header("X-CSRF-Token", bob.csrf.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = bob
        .post_json(&format!("/api/rooms/{room}/leave"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        bob.poll(room as i32, "0").await.status(),
        StatusCode::FORBIDDEN
    );

    let res = alice
        .http
        .delete(alice.url(&format!("/api/rooms/{room}")))
        .header("X-CSRF-Token", alice.csrf.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = bob
        .post_json(&format!("/api/rooms/{room}/enter"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
}
