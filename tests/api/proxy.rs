//! Behind a proxy: the one Host a server with `--public-url` answers, the links it makes, and
//! a server on a unix socket that only the proxy may open.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chatroom::config::PublicUrl;
use reqwest::StatusCode;
use reqwest::header::{HOST, HeaderMap, HeaderValue};
use serde_json::Value;

use super::database::{TestDatabase, key_env};
use super::helpers::{PASSWORD, Person, TestApp, spawn_app, spawn_app_tweaked};

/// A browser on `app` that asks for `host`, as one that reached it by that name would.
fn person_asking_for(app: &TestApp, host: &str) -> Person {
    let mut person = app.person();
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_str(host).unwrap());
    person.http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(person.jar.clone())
        .default_headers(headers)
        .build()
        .unwrap();
    person
}

#[actix_web::test]
async fn with_a_public_url_any_other_host_is_refused_but_healthz_answers_any() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.public_url = Some(PublicUrl::parse("https://chat.example").unwrap());
    })
    .await
    else {
        return;
    };
    let reached_by_name = person_asking_for(&app, "chat.example");
    assert_eq!(reached_by_name.get("/login").await.status(), StatusCode::OK);
    let with_port = person_asking_for(&app, "CHAT.example:443");
    assert_eq!(with_port.get("/login").await.status(), StatusCode::OK);

    // A page of another site whose name now points at this server (DNS rebinding), or a
    // visitor by address: 400, and no password is checked.
    let rebound = person_asking_for(&app, "rebinding.example");
    let page = rebound.get("/login").await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("https://chat.example"));
    let login = rebound
        .http
        .post(rebound.url("/api/session"))
        .json(&serde_json::json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::BAD_REQUEST);
    assert_eq!(login.json::<Value>().await.unwrap()["error"], "bad_request");
    let by_address = app.person();
    assert_eq!(
        by_address.get("/login").await.status(),
        StatusCode::BAD_REQUEST
    );
    // The container's health check asks by address.
    assert_eq!(by_address.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(rebound.get("/healthz").await.status(), StatusCode::OK);
}

/// Makes an invitation on /admin, sending `headers` with the request, and returns the link
/// the page then shows once.
async fn invitation_made_with(admin: &mut Person, headers: &[(&str, &str)]) -> String {
    let token = admin.csrf().await;
    let mut request = admin.http.post(admin.url("/admin/invitations"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let res = request
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.page("/admin").await;
    let marker = "id=\"new-invitation\" href=\"";
    let start = page.find(marker).expect("the new link") + marker.len();
    let end = page[start..].find('"').unwrap();
    page[start..start + end].to_owned()
}

const FORWARDED_ELSEWHERE: [(&str, &str); 3] = [
    ("X-Forwarded-Host", "evil.example"),
    ("Forwarded", "host=evil.example;proto=https"),
    ("X-Forwarded-Proto", "https"),
];

#[actix_web::test]
async fn invitation_links_are_on_the_public_url_whatever_the_request_says() {
    let Some(app) = spawn_app_tweaked(|s| {
        s.public_url = Some(PublicUrl::parse("https://chat.example:8443").unwrap());
    })
    .await
    else {
        return;
    };
    let mut admin = person_asking_for(&app, "chat.example:8443");
    let setup = app.take_setup_token();
    let res = admin
        .register_with_setup("alice", PASSWORD, setup.as_deref())
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let link = invitation_made_with(&mut admin, &FORWARDED_ELSEWHERE).await;
    assert!(
        link.starts_with("https://chat.example:8443/register?invite="),
        "{link}"
    );
}

#[actix_web::test]
async fn without_a_public_url_invitation_links_follow_the_host_and_never_a_forwarded_one() {
    let Some(app) = spawn_app().await else {
        return;
    };
    let mut admin = app.user("alice").await;
    let link = invitation_made_with(&mut admin, &FORWARDED_ELSEWHERE).await;
    assert!(
        link.starts_with(&format!("{}/register?invite=", app.address)),
        "{link} is not on {}",
        app.address
    );
}

/// The real server binary listening on a unix socket, with at most one registration per
/// client address.
struct SocketServer {
    process: Child,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _database: TestDatabase,
}

impl SocketServer {
    fn start() -> Option<Self> {
        let database = TestDatabase::fresh()?;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chatroom.sock");
        let (process, line) = start_on(&database.url, &path);
        assert!(line.contains("listening on unix:"), "{line}");
        Some(Self {
            process,
            path,
            _dir: dir,
            _database: database,
        })
    }

    /// Sends a request over the socket (`Connection: close`); the status and the body.
    fn send(&self, request: &str) -> (u16, String) {
        let mut stream = UnixStream::connect(&self.path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
        (status, body.unwrap_or_default())
    }

    /// Registers `name` as the proxy would pass on a request from `client` (None: without
    /// X-Forwarded-For); the status.
    fn register(&self, name: &str, client: Option<&str>) -> u16 {
        let body = format!(r#"{{"username":"{name}","password":"{PASSWORD}"}}"#);
        let forwarded = client.map_or_else(String::new, |c| format!("X-Forwarded-For: {c}\r\n"));
        self.send(&format!(
            "POST /api/users HTTP/1.1\r\nHost: chat.example\r\nConnection: close\r\n\
             {forwarded}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
        .0
    }
}

impl Drop for SocketServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Starts `chatroom serve --bind unix:PATH` and returns it with its first line that says it
/// listens, or, if it exits first, everything it wrote (its error need not be the last line:
/// a background task may still log while the process exits).
fn start_on(database: &str, path: &std::path::Path) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatroom"));
    key_env(&mut command, database);
    let mut process = command
        .args(["serve", "--bcrypt-cost", "4", "--registration-limit", "1"])
        .arg("--bind")
        .arg(format!("unix:{}", path.display()))
        .args(["--database", database])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(process.stderr.take().unwrap()).lines();
    let mut written = String::new();
    for line in lines.map_while(Result::ok) {
        if line.contains("listening on ") {
            return (process, line);
        }
        written.push_str(&line);
        written.push('\n');
    }
    (process, written)
}

#[actix_web::test]
async fn on_a_unix_socket_the_forwarded_address_is_the_client_and_the_socket_is_kept() {
    let Some(server) = SocketServer::start() else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&server.path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o660, "only its owner and group may open the socket");
    let (status, body) =
        server.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, "ok"));

    // One registration per address: the proxy's X-Forwarded-For names the address.
    assert_eq!(server.register("amy", Some("203.0.113.1")), 201);
    assert_eq!(server.register("ben", Some("203.0.113.1")), 429);
    assert_eq!(
        server.register("cid", Some("198.51.100.9, 203.0.113.2")),
        201,
        "another client (the last entry is the proxy's)"
    );
    assert_eq!(
        server.register("dan", None),
        400,
        "without the header, the client is unknown"
    );

    // Another server is refused the live socket rather than take it over.
    let database = server._database.url.clone();
    let (mut second, line) = start_on(&database, &server.path);
    let exit = second.wait().unwrap();
    assert!(!exit.success(), "a second server took the socket: {line}");
    assert!(line.contains("another server listens on"), "{line}");
    let (status, _) =
        server.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200, "the first server still has its socket");
}
