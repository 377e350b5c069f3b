//! spawn_app() starts the real server on port 0 with a fresh database; `Person` is one browser:
//! a cookie-keeping HTTP client that knows its CSRF token, the one client of every HTTP test
//! (the crash tests and the browser tests include this file).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use actix_web::cookie::Key;
use actix_web::dev::ServerHandle;
use chatroom::config::Settings;
use chatroom::db::DbConnection;
use chatroom::startup::Application;
use diesel::connection::SimpleConnection;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::database::TestDatabase;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub cookie_key: Key,
    server: ServerHandle,
    database: Arc<TestDatabase>,
    /// The token of the setup link the server printed at start, until a test takes it.
    setup_token: Arc<Mutex<Option<String>>>,
}

pub fn test_settings(database: &TestDatabase, cookie_key: Key) -> Settings {
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        bcrypt_cost: 4,
        panic_route: true,
        ..Settings::new(database.url.clone(), cookie_key)
    };
    // Tests post and log in far faster than people; the limits get tests of their own.
    settings.limits.messages = 100_000;
    settings.limits.rooms = 100_000;
    settings.limits.login_user = 100_000;
    settings.limits.login_address = 100_000;
    settings.limits.registrations = 100_000;
    settings.limits.searches = 100_000;
    settings
}

/// The real server on a fresh database of this binary's backend, or `None` (the test is then
/// skipped: see `support/database.rs`) where that backend is not at hand.
pub async fn spawn_app() -> Option<TestApp> {
    spawn_app_tweaked(|_| {}).await
}

/// The same, with settings that `tweak` adjusts from the test defaults.
pub async fn spawn_app_tweaked(tweak: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    let database = TestDatabase::fresh()?;
    let mut settings = test_settings(&database, Key::generate());
    tweak(&mut settings);
    Some(spawn_app_with(settings, Arc::new(database)).await)
}

/// Starts a server with these settings on `database`, which it keeps alive.
pub async fn spawn_app_with(settings: Settings, database: Arc<TestDatabase>) -> TestApp {
    let cookie_key = settings.cookie_key.clone();
    let app = Application::build(settings)
        .await
        .expect("the app should build");
    let address = format!("http://127.0.0.1:{}", app.port());
    let server = app.handle();
    let setup_token = Arc::new(Mutex::new(app.setup_token().map(str::to_owned)));
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        cookie_key,
        server,
        database,
        setup_token,
    }
}

impl TestApp {
    /// Stops this server, then starts another on the same database and key: what a restart
    /// looks like to a browser.
    pub async fn restart(self) -> TestApp {
        self.server.stop(false).await;
        let settings = test_settings(&self.database, self.cookie_key.clone());
        let mut app = spawn_app_with(settings, self.database.clone()).await;
        // The link printed by the first start still works.
        app.setup_token = self.setup_token.clone();
        app
    }

    /// The token of the setup link this server printed at start (the first server on a new
    /// database prints one), unless a test took it already: the next `user` takes it.
    pub fn take_setup_token(&self) -> Option<String> {
        self.setup_token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// The database under this server.
    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// A new person with a browser of their own (own cookie jar), not logged in.
    pub fn person(&self) -> Person {
        Person::new(&self.address)
    }

    /// A person who has registered (and so is logged in) under `name`. The first one on a
    /// new database registers with the setup link, and so is its administrator.
    pub async fn user(&self, name: &str) -> Person {
        let mut person = self.person();
        let setup = self.take_setup_token();
        let res = person
            .register_with_setup(name, PASSWORD, setup.as_deref())
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "registering {name}");
        person
    }

    /// Rooms "Room 0" to "Room {count - 1}" by `creator`, written straight into the database
    /// (quicker than the app, and past its limits): less recently active than any room made
    /// through the app, "Room 0" the least. Their ids, in that order.
    pub fn old_rooms(&self, creator: &str, count: usize) -> Vec<i32> {
        use diesel::RunQueryDsl;
        let mut sql = String::from("BEGIN;");
        for i in 0..count {
            sql.push_str(&format!(
                "INSERT INTO rooms (name, name_key, creator_id, created_at, last_activity_at)
                 SELECT 'Room {i}', 'room {i}', id, '2020-01-01 00:00:00',
                        '2020-01-01 {:02}:{:02}:00'
                 FROM users WHERE username = '{creator}';",
                i / 60,
                i % 60
            ));
        }
        sql.push_str("COMMIT;");
        let mut conn = self.db();
        conn.batch_execute(&sql).expect("rooms inserted");
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            id: i32,
        }
        let ids: Vec<Id> = diesel::sql_query(format!(
            "SELECT id FROM rooms WHERE name LIKE 'Room %' ORDER BY id DESC LIMIT {count}"
        ))
        .load(&mut conn)
        .expect("their ids");
        ids.into_iter().rev().map(|row| row.id).collect()
    }

    /// A direct connection to the database, for checking what was stored.
    pub fn db(&self) -> DbConnection {
        self.database.connect()
    }
}

/// Clones are the same browser (one cookie jar).
#[derive(Clone)]
pub struct Person {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
    pub base: String,
    pub csrf: Option<String>,
}

impl Person {
    pub fn new(base: &str) -> Self {
        Self::with_agent(base, "")
    }

    /// A person whose client sends this User-Agent (none when empty).
    pub fn with_agent(base: &str, agent: &str) -> Self {
        Self::built(base, |http| match agent {
            "" => http,
            agent => http.user_agent(agent),
        })
    }

    /// A person who gives up on a request after `timeout` (tests that kill servers: a request
    /// in flight then gets an error, which `try_send` and `try_poll` give back).
    pub fn with_timeout(base: &str, timeout: Duration) -> Self {
        Self::built(base, |http| http.timeout(timeout))
    }

    fn built(
        base: &str,
        tweak: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone());
        let http = tweak(http).build().expect("an HTTP client");
        Self {
            http,
            jar,
            base: base.to_owned(),
            csrf: None,
        }
    }

    /// The same browser (cookies and token) talking to another server on this machine, as
    /// when a proxy in front of several sends it to another one: cookies do not depend on
    /// the port.
    pub fn on(&self, base: &str) -> Person {
        Person {
            http: self.http.clone(),
            jar: self.jar.clone(),
            base: base.to_owned(),
            csrf: self.csrf.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The Cookie header this browser would send.
    pub fn cookies(&self) -> Option<String> {
        let url = self.base.parse().expect("base url");
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().expect("ascii cookie").to_owned())
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("GET is answered")
    }

    /// GETs an HTML page and remembers the CSRF token it carries.
    pub async fn page(&mut self, path: &str) -> (StatusCode, String) {
        let res = self.get(path).await;
        let status = res.status();
        let body = res.text().await.expect("a body");
        if let Some(token) = meta_csrf(&body) {
            self.csrf = Some(token);
        }
        (status, body)
    }

    pub async fn csrf(&mut self) -> String {
        if self.csrf.is_none() {
            self.page("/login").await;
        }
        self.csrf.clone().expect("pages carry a CSRF token")
    }

    /// POSTs a form with this person's CSRF token added.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.http
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .expect("POST is answered")
    }

    /// POSTs JSON with this person's CSRF token in the X-CSRF-Token header.
    pub async fn post_json(&mut self, path: &str, body: &Value) -> Response {
        let token = self.csrf().await;
        self.http
            .post(self.url(path))
            .header("X-CSRF-Token", token)
            .json(body)
            .send()
            .await
            .expect("POST is answered")
    }

    /// POSTs a file to the room as multipart/form-data (`file`, and `text` and `client_id`
    /// when given), with this person's CSRF token.
    pub async fn upload(
        &mut self,
        room: i32,
        name: &str,
        bytes: &[u8],
        fields: &[(&str, &str)],
    ) -> Response {
        let (content_type, body) = multipart(name, bytes, fields);
        self.post_upload_body(room, &content_type, body).await
    }

    /// POSTs a body of this Content-Type to the room's attachments, with this person's CSRF
    /// token: for uploads that `upload` cannot make (no file, two files, not multipart).
    pub async fn post_upload_body(
        &mut self,
        room: i32,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        let token = self.csrf().await;
        self.http
            .post(self.url(&format!("/api/rooms/{room}/attachments")))
            .header("X-CSRF-Token", token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("the upload is answered")
    }

    /// GETs `path` with these request headers (Range, If-None-Match, ...).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("GET is answered")
    }

    /// DELETE with this person's CSRF token in the X-CSRF-Token header.
    pub async fn delete(&mut self, path: &str) -> Response {
        let token = self.csrf().await;
        self.http
            .delete(self.url(path))
            .header("X-CSRF-Token", token)
            .send()
            .await
            .expect("DELETE is answered")
    }

    /// PATCHes JSON with this person's CSRF token in the X-CSRF-Token header.
    pub async fn patch_json(&mut self, path: &str, body: &Value) -> Response {
        let token = self.csrf().await;
        self.http
            .patch(self.url(path))
            .header("X-CSRF-Token", token)
            .json(body)
            .send()
            .await
            .expect("PATCH is answered")
    }

    /// Edits message `n` of the room to say `text`.
    pub async fn edit(&mut self, room: i32, n: i64, text: &str) -> Response {
        self.patch_json(
            &format!("/api/rooms/{room}/messages/{n}"),
            &serde_json::json!({ "text": text }),
        )
        .await
    }

    /// Reacts to message `n` of the room with `emoji`.
    pub async fn react(&mut self, room: i32, n: i64, emoji: &str) -> Response {
        self.post_json(
            &format!("/api/rooms/{room}/messages/{n}/reactions"),
            &serde_json::json!({ "emoji": emoji }),
        )
        .await
    }

    /// Takes back this person's `emoji` on message `n`, the emoji percent-encoded in the path.
    pub async fn unreact(&mut self, room: i32, n: i64, emoji: &str) -> Response {
        let encoded: String = emoji
            .bytes()
            .map(|b| match b.is_ascii_alphanumeric() {
                true => char::from(b).to_string(),
                false => format!("%{b:02X}"),
            })
            .collect();
        self.delete(&format!(
            "/api/rooms/{room}/messages/{n}/reactions/{encoded}"
        ))
        .await
    }

    /// Sends `text` as a reply to message `n` of the room.
    pub async fn reply(&mut self, room: i32, n: i64, text: &str) -> Response {
        self.post_json(
            &format!("/api/rooms/{room}/messages"),
            &serde_json::json!({ "text": text, "reply_to": n }),
        )
        .await
    }

    /// Deletes message `n` of the room.
    pub async fn delete_message(&mut self, room: i32, n: i64) -> Response {
        self.delete(&format!("/api/rooms/{room}/messages/{n}"))
            .await
    }

    /// Opens the direct conversation with `other` and enters it; returns its id.
    pub async fn open_direct(&mut self, other: &str) -> i32 {
        let res = self.post_form("/direct", &[("username", other)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "opening with {other}");
        let room = location(&res)
            .strip_prefix("/rooms/")
            .and_then(|id| id.parse().ok())
            .expect("redirected to the conversation");
        self.enter(room).await;
        room
    }

    /// Registers; on success also picks up the token of the new, logged-in session.
    pub async fn register(&mut self, username: &str, password: &str) -> Response {
        self.register_with_setup(username, password, None).await
    }

    /// Registers with the setup link's token if given (the account is then the
    /// administrator), as `register` does.
    pub async fn register_with_setup(
        &mut self,
        username: &str,
        password: &str,
        setup: Option<&str>,
    ) -> Response {
        let mut fields = vec![("username", username), ("password", password)];
        match setup {
            Some(token) => {
                self.page(&format!("/register?setup={token}")).await;
                fields.push(("setup", token));
            }
            None => {
                self.page("/register").await;
            }
        }
        let res = self.post_form("/register", &fields).await;
        if res.status() == StatusCode::SEE_OTHER {
            self.page("/lobby").await;
        }
        res
    }

    pub async fn login(&mut self, username: &str, password: &str) -> Response {
        self.page("/login").await;
        let res = self
            .post_form("/login", &[("username", username), ("password", password)])
            .await;
        if res.status() == StatusCode::SEE_OTHER {
            self.page("/lobby").await;
        }
        res
    }

    /// Creates a room (and so enters it); returns its id.
    pub async fn create_room(&mut self, name: &str) -> i32 {
        let res = self.post_form("/rooms", &[("name", name)]).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "creating room {name:?}"
        );
        location(&res)
            .strip_prefix("/rooms/")
            .and_then(|id| id.parse().ok())
            .expect("redirected to the new room")
    }

    /// Enters the room (POST /rooms/{id}/enter, as the lobby's button does), which makes it
    /// this person's current room, then opens its page as the redirect says.
    pub async fn enter(&mut self, room: i32) -> String {
        let res = self.post_form(&format!("/rooms/{room}/enter"), &[]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "entering room {room}");
        assert_eq!(location(&res), format!("/rooms/{room}"));
        let (status, body) = self.page(&format!("/rooms/{room}")).await;
        assert_eq!(status, StatusCode::OK, "opening room {room}");
        body
    }

    /// Enters the room and polls once from the page's cursor, as the page's script does:
    /// the room is then read up to there.
    pub async fn enter_and_poll(&mut self, room: i32) -> String {
        let page = self.enter(room).await;
        self.entries_after(room, page_cursor(&page)).await;
        page
    }

    pub async fn send(&mut self, room: i32, text: &str) -> Response {
        self.post_json(
            &format!("/api/rooms/{room}/messages"),
            &serde_json::json!({ "text": text }),
        )
        .await
    }

    /// Sends and expects 201; returns the stored message.
    pub async fn say(&mut self, room: i32, text: &str) -> Value {
        let res = self.send(room, text).await;
        assert_eq!(res.status(), StatusCode::CREATED, "sending {text:?}");
        res.json::<Value>().await.expect("JSON")["message"].clone()
    }

    /// Sends `text` with itself as its client_id (a retry after a lost answer is then the same
    /// message), giving back what the transport says: for tests whose servers die.
    pub async fn try_send(&self, room: i32, text: &str) -> reqwest::Result<Response> {
        self.http
            .post(self.url(&format!("/api/rooms/{room}/messages")))
            .header("X-CSRF-Token", self.csrf.as_deref().unwrap_or_default())
            .json(&serde_json::json!({ "text": text, "client_id": text }))
            .send()
            .await
    }

    /// Polls from `after`, giving back what the transport says: for tests whose servers die.
    pub async fn try_poll(&self, room: i32, after: i64) -> reqwest::Result<Response> {
        self.http
            .get(self.url(&format!("/api/rooms/{room}/messages?after={after}")))
            .send()
            .await
    }

    pub async fn poll(&self, room: i32, after: &str) -> Response {
        self.get(&format!("/api/rooms/{room}/messages?after={after}"))
            .await
    }

    /// GET /api/search with these parameters (q, before, room), percent-encoded.
    pub async fn search_with(&self, params: &[(&str, &str)]) -> Response {
        let url = reqwest::Url::parse_with_params(&self.url("/api/search"), params)
            .expect("a search URL");
        self.http.get(url).send().await.expect("GET is answered")
    }

    /// Searches for `q` and expects 200; returns the whole answer (`results`, `next`).
    pub async fn search(&self, q: &str) -> Value {
        let res = self.search_with(&[("q", q)]).await;
        assert_eq!(res.status(), StatusCode::OK, "searching for {q:?}");
        res.json().await.expect("JSON")
    }

    /// Polls and expects 200; returns every log entry (messages, joins, leaves, deletions).
    pub async fn entries_after(&self, room: i32, after: i64) -> Vec<Value> {
        let res = self.poll(room, &after.to_string()).await;
        assert_eq!(res.status(), StatusCode::OK, "polling room {room}");
        let body: Value = res.json().await.expect("JSON");
        body["messages"]
            .as_array()
            .expect("a messages array")
            .clone()
    }

    /// Polls and expects 200; returns the entries that are messages.
    pub async fn messages_after(&self, room: i32, after: i64) -> Vec<Value> {
        self.entries_after(room, after)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "message")
            .collect()
    }
}

/// Sends every guesser's wrong password for `username` to /login at once (each with its
/// form token first) and gives their answers' statuses, in the guessers' order.
pub async fn wrong_guesses_at_once(guessers: &mut [Person], username: &str) -> Vec<StatusCode> {
    for guesser in guessers.iter_mut() {
        guesser.csrf().await;
    }
    futures_util::future::join_all(guessers.iter_mut().map(|g| async {
        g.post_form(
            "/login",
            &[("username", username), ("password", "wrong password")],
        )
        .await
        .status()
    }))
    .await
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("ascii")
        .to_owned()
}

/// The room page's starting cursor for its poller (`data-last-id`).
pub fn page_cursor(html: &str) -> i64 {
    let start = html.find(r#"data-last-id=""#).expect("a room page") + 14;
    let end = html[start..].find('"').expect("a closing quote");
    html[start..start + end].parse().expect("a number")
}

pub fn meta_csrf(html: &str) -> Option<String> {
    let start = html.find(r#"<meta name="csrf-token" content=""#)? + 33;
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// A refusal's `Retry-After`, in whole seconds.
pub fn retry_after(res: &Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
}

/// The body of an API error, `{"error": code, ...}`.
pub async fn error_code(res: Response) -> String {
    let body: Value = res.json().await.expect("a JSON error body");
    assert!(
        body["message"].is_string(),
        "errors carry a message: {body}"
    );
    body["error"].as_str().expect("an error code").to_owned()
}

/// The real binary, logging at debug level into a pipe we read.
pub struct LoggedServer {
    pub address: String,
    process: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
    _database: Option<TestDatabase>,
}

impl LoggedServer {
    pub fn start() -> Option<Self> {
        Self::start_with_env(&[])
    }

    /// With these environment variables set for it.
    pub fn start_with_env(vars: &[(&str, &str)]) -> Option<Self> {
        let database = TestDatabase::fresh()?;
        let url = database.url.clone();
        Some(Self::start_on(&url, vars, Some(database)))
    }

    /// On the database at `url` (kept alive with `database`, if given).
    pub fn start_on(url: &str, vars: &[(&str, &str)], database: Option<TestDatabase>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chatroom"));
        super::database::key_env(&mut command, url);
        let mut process = command
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--bcrypt-cost",
                "4",
                "--database",
                url,
            ])
            .env("RUST_LOG", "debug")
            .envs(vars.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines_tx, lines) = mpsc::channel::<String>();
        let stderr = process.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut log = Vec::new();
        let address = loop {
            let line = lines.recv_timeout(Duration::from_secs(30)).unwrap();
            log.push(line.clone());
            if let Some(at) = line.find("listening on ") {
                break line[at + "listening on ".len()..].trim().to_owned();
            }
        };
        Self {
            process,
            address,
            lines,
            log,
            _database: database,
        }
    }

    /// Stops the server and returns everything it logged.
    pub fn stop(mut self) -> String {
        self.kill();
        let lines: Vec<String> = self.lines.iter().collect();
        self.log.extend(lines);
        self.log.join("\n")
    }

    fn kill(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A test that fails half-way leaves no server behind.
impl Drop for LoggedServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A multipart/form-data body with one file part named `file` and the given text fields:
/// (its Content-Type, its bytes).
pub fn multipart(name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "----chatroom-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (field, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
