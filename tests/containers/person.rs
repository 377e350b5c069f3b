//! Someone who chats with a containerized server through its JSON API, and the room's log as
//! they read it: shared by the container tests.

use std::time::Duration;

use serde_json::{Value, json};

const PASSWORD: &str = "a long password for the container tests";

/// Someone logged in through the proxy.
#[derive(Clone)]
pub struct Person {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

impl Person {
    /// Registers `name` through the proxy, waiting out the proxy's limit on password requests.
    pub async fn register(base: &str, name: &str) -> Self {
        let http = super::client();
        for _ in 0..20 {
            let answer = http
                .post(format!("{base}/api/users"))
                .json(&json!({"username": name, "password": PASSWORD}))
                .send()
                .await
                .expect("the registration is answered");
            let status = answer.status().as_u16();
            if status == 429 || status == 503 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            assert_eq!(status, 201, "registering {name}");
            let body: Value = answer.json().await.expect("a JSON body");
            let csrf = body["csrf_token"]
                .as_str()
                .expect("a CSRF token")
                .to_owned();
            return Self {
                http,
                base: base.to_owned(),
                csrf,
            };
        }
        panic!("{name} could not register");
    }

    pub async fn create_room(&self, name: &str) -> i64 {
        let room: Value = self
            .http
            .post(format!("{}/api/rooms", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .json(&json!({ "name": name }))
            .send()
            .await
            .expect("the room is made")
            .json()
            .await
            .expect("a room");
        room["room"]["id"].as_i64().expect("a room id")
    }

    pub async fn enter(&self, room: i64) {
        let answer = self
            .http
            .post(format!("{}/api/rooms/{room}/enter", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .send()
            .await
            .expect("entering is answered");
        assert_eq!(answer.status(), 200, "entering room {room}");
    }

    /// The room's whole log, page by page, as one entry a line.
    pub async fn log(&self, room: i64) -> Vec<Entry> {
        let mut log: Vec<Entry> = Vec::new();
        loop {
            let after = log.last().map_or(0, |e| e.id);
            let page: Value = self
                .http
                .get(format!(
                    "{}/api/rooms/{room}/messages?after={after}",
                    self.base
                ))
                .send()
                .await
                .expect("the log is answered")
                .json()
                .await
                .expect("a page of the log");
            let entries = Entry::all(&page);
            if entries.is_empty() {
                return log;
            }
            log.extend(entries);
        }
    }
}

/// One entry of a room's log, as a poll shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub kind: String,
    pub text: String,
}

impl Entry {
    pub fn all(poll: &Value) -> Vec<Self> {
        poll["messages"]
            .as_array()
            .expect("a poll's messages")
            .iter()
            .map(|m| Entry {
                id: m["id"].as_i64().expect("an entry's number"),
                kind: m["kind"].as_str().unwrap_or_default().to_owned(),
                text: m["text"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }
}
