//! Bots (`chatroom bots ...` and /admin/bots) and their outgoing webhooks: a bot's token, its
//! refused password, what its webhook is sent and when, replies posted back as the bot,
//! failures kept for /admin, no redirects followed, no bot loops, and the echo bot script.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use chatroom::models::ApiToken;
use chatroom::models::bot::Bot;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{PASSWORD, Person, TestApp, error_code, location, spawn_app};
use super::initdb::{chatroom, stderr, stdout};
use super::wait::{eventually, wait_until};

/// How long a delivery (a worker round, a POST, a reply posted back) may take in a test.
const DELIVERED: Duration = Duration::from_secs(10);

/// Runs `chatroom ARGS --database URL`: (succeeded, stdout, stderr).
fn run(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut all = args.to_vec();
    all.extend(["--database", app.database().url.as_str()]);
    let output = chatroom(&all);
    (output.status.success(), stdout(&output), stderr(&output))
}

/// Makes a bot with `chatroom bots create NAME`: its token, read from what was printed.
fn create_bot(app: &TestApp, name: &str) -> String {
    let (ok, out, err) = run(app, &["bots", "create", name]);
    assert!(ok, "{err}");
    assert!(out.contains("shown only this once"), "{out}");
    out.lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("chat_")
                .map(|s| format!("chat_{s}"))
        })
        .expect("the token is printed")
}

fn set_webhook(app: &TestApp, name: &str, url: &str) {
    let (ok, out, err) = run(app, &["bots", "webhook", name, url]);
    assert!(ok, "{err}");
    assert!(out.contains("is told at"), "{out}");
}

fn bot(app: &TestApp, name: &str) -> Bot {
    Bot::named(&mut app.db(), name).unwrap().expect("the bot")
}

/// How a receiver answers each POST.
#[derive(Clone)]
enum Answer {
    /// 200 with this JSON.
    Json(Value),
    /// 200 with an empty body: nothing to post back.
    Empty,
    Status(u16),
    /// 302 to this URL.
    Redirect(String),
    /// Never answers (until the test ends).
    Hang,
}

/// A local webhook receiver: each POST's JSON body comes out of `bodies`.
struct Hook {
    url: String,
    bodies: Receiver<Value>,
}

fn receiver(answer: Answer) -> Hook {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (sent, bodies) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (answer, sent) = (answer.clone(), sent.clone());
            std::thread::spawn(move || serve(stream, &answer, &sent));
        }
    });
    Hook { url, bodies }
}

fn serve(stream: TcpStream, answer: &Answer, sent: &Sender<Value>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let _ = sent.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
    let (status, headers, body) = match answer {
        Answer::Json(value) => (
            "200 OK",
            "Content-Type: application/json\r\n".to_owned(),
            value.to_string(),
        ),
        Answer::Empty => ("204 No Content", String::new(), String::new()),
        Answer::Status(500) => (
            "500 Internal Server Error",
            String::new(),
            "oops".to_owned(),
        ),
        Answer::Status(other) => panic!("no status {other} here"),
        Answer::Redirect(to) => ("302 Found", format!("Location: {to}\r\n"), String::new()),
        Answer::Hang => {
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl Hook {
    /// The next POST's body, waited for.
    async fn next(&self) -> Value {
        let mut got = None;
        wait_until(DELIVERED, "a POST to the webhook", || {
            got = got.take().or_else(|| self.bodies.try_recv().ok());
            std::future::ready(got.is_some())
        })
        .await;
        got.unwrap()
    }

    /// Nothing more is POSTed within a while (a worker round or few).
    async fn nothing_more(&self) {
        actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
        assert!(self.bodies.try_recv().is_err(), "nothing more is delivered");
    }
}

/// Waits for a message by `author` in the room, as `reader` polls it.
async fn message_by(reader: &Person, room: i32, author: &str) -> Value {
    let deadline = std::time::Instant::now() + DELIVERED;
    loop {
        let found = reader
            .messages_after(room, 0)
            .await
            .into_iter()
            .find(|m| m["author"] == author);
        if let Some(found) = found {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a message by {author}: not within {DELIVERED:?}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn last_failure(app: &TestApp, name: &str) -> Option<String> {
    let mut why = None;
    eventually(DELIVERED, || {
        why = bot(app, name).last_failure;
        std::future::ready(why.is_some())
    })
    .await;
    why
}

#[actix_web::test]
async fn a_bot_made_by_the_command_holds_a_token_and_no_password_opens_it() {
    let Some(app) = spawn_app().await else { return };
    let alice = app.user("alice").await;
    let token = create_bot(&app, "helper");
    let helper = bot(&app, "helper");
    assert!(!helper.disabled);
    // Only the token's hash is kept, and it is the bot's.
    let tokens = ApiToken::of_user(&mut app.db(), helper.user_id).unwrap();
    assert_eq!(tokens.len(), 1);
    let holder = ApiToken::holder(&mut app.db(), &chatroom::auth::secret_hash(&token)).unwrap();
    assert_eq!(holder.map(|h| h.username), Some("helper".to_owned()));

    // Its token works as Bearer: it writes in a public room without entering it.
    let mut alice = alice;
    let room = alice.create_room("Builds").await;
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}/api/rooms/{room}/messages", app.address))
        .bearer_auth(&token)
        .json(&json!({"text": "build 512 passed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let seen = message_by(&alice, room, "helper").await;
    assert_eq!(seen["text"], "build 512 passed");
    assert_eq!(seen["bot"], true);

    let (ok, _, err) = run(&app, &["bots", "create", "HELPER"]);
    assert!(!ok && err.contains("exists already"), "{err}");
    let (ok, _, err) = run(&app, &["bots", "create", "a b"]);
    assert!(!ok, "{err}");
    let (ok, _, err) = run(&app, &["users", "reset-password", "helper"]);
    assert!(!ok && err.contains("is a bot"), "{err}");
    let (ok, out, _) = run(&app, &["bots", "list", "--json"]);
    assert!(ok);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed[0]["name"], "helper");
    assert_eq!(listed[0]["webhook_url"], Value::Null);

    // No password opens a bot, and it is refused just as a wrong password is.
    let mut someone = app.person();
    for password in ["!", "", PASSWORD] {
        let res = someone.login("helper", password).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{password:?}");
    }
    let wrong = someone.login("alice", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    for name in ["helper", "alice"] {
        let res = someone
            .http
            .post(someone.url("/api/session"))
            .json(&json!({"username": name, "password": "not the password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(res).await, "invalid_credentials", "{name}");
    }
    drop(alice);
}

#[actix_web::test]
async fn the_admin_page_makes_a_bot_shows_its_token_once_and_sets_its_webhook() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let res = alice.post_form("/admin/bots", &[("name", "pager")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains(r#"<label for="new-bot-token">"#), "{page}");
    let token = page
        .split(r#"id="new-bot-token" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the token, in a read-only field")
        .to_owned();
    assert!(token.starts_with("chat_"), "{token}");
    let pager = bot(&app, "pager");
    let holder = ApiToken::holder(&mut app.db(), &chatroom::auth::secret_hash(&token)).unwrap();
    assert_eq!(holder.map(|h| h.user_id), Some(pager.user_id));
    let (_, again) = alice.page("/admin/bots").await;
    assert!(!again.contains(&token), "shown once only");
    assert!(again.contains(r#"data-bot="pager""#));

    let res = alice.post_form("/admin/bots", &[("name", "PAGER")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let webhook = format!("/admin/bots/{}/webhook", pager.user_id);
    for bad in ["ftp://example.org/", "/relative", "not a url"] {
        let res = alice.post_form(&webhook, &[("url", bad)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(res.text().await.unwrap().contains("http:// or https://"));
    }
    let res = alice
        .post_form(&webhook, &[("url", "https://bots.example.org/pager")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        bot(&app, "pager").webhook_url.as_deref(),
        Some("https://bots.example.org/pager")
    );
    let (_, page) = alice.page("/admin/bots").await;
    assert!(page.contains("https://bots.example.org/pager"));
    let res = alice
        .post_form(&webhook, &[("url", "https://x.example/"), ("clear", "1")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(bot(&app, "pager").webhook_url, None);

    // To anyone but an administrator, none of it exists.
    bob.csrf().await;
    for (method, path) in [
        ("GET", "/admin/bots".to_owned()),
        ("POST", "/admin/bots".to_owned()),
        ("POST", webhook.clone()),
        ("POST", format!("/admin/bots/{}/delete", pager.user_id)),
    ] {
        let res = match method {
            "GET" => bob.get(&path).await,
            _ => {
                bob.post_form(&path, &[("name", "sneaky"), ("url", "http://x.example/")])
                    .await
            }
        };
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    assert!(Bot::named(&mut app.db(), "sneaky").unwrap().is_none());

    let res = alice
        .post_form(&format!("/admin/bots/{}/delete", pager.user_id), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = alice.page(&location(&res)).await;
    assert!(!page.contains(r#"data-bot="pager""#), "{page}");
    assert!(page.contains("The bot is deleted"), "{page}");
    assert!(
        ApiToken::of_user(&mut app.db(), pager.user_id)
            .unwrap()
            .is_empty()
    );
}

#[actix_web::test]
async fn a_bot_hears_its_mentions_and_direct_messages_and_its_replies_are_posted_back() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let token = create_bot(&app, "helper");
    create_bot(&app, "other");
    let hook = receiver(Answer::Json(json!({"text": "at your service, @other"})));
    let others = receiver(Answer::Json(json!({"text": "I answer bots"})));
    set_webhook(&app, "helper", &hook.url);
    set_webhook(&app, "other", &others.url);
    let room = alice.create_room("Lounge").await;
    alice.enter_and_poll(room).await;
    bob.enter_and_poll(room).await;

    // Not mentioned: not told.
    alice.say(room, "good morning").await;
    let said = alice.say(room, "@helper what time is it?").await;
    let got = hook.next().await;
    assert_eq!(got["room"], json!({"id": room, "name": "Lounge"}));
    assert_eq!(got["author"], "alice");
    assert_eq!(got["message"]["id"], said["id"]);
    assert_eq!(got["message"]["text"], "@helper what time is it?");
    assert_eq!(got["message"]["mentions"], json!(["helper"]));

    // The reply is the bot's, in the room, for its members to see.
    let reply = message_by(&bob, room, "helper").await;
    assert_eq!(reply["text"], "at your service, @other");
    assert_eq!(reply["bot"], true);
    // It mentions another bot with a webhook, which is not told: bots do not talk to bots.
    others.nothing_more().await;
    hook.nothing_more().await;
    assert_eq!(bot(&app, "helper").last_failure, None);

    // A direct conversation with the bot: every message reaches it.
    let direct = bob.open_direct("helper").await;
    bob.say(direct, "hello there").await;
    let got = hook.next().await;
    assert_eq!(got["room"]["id"], direct);
    assert_eq!(got["author"], "bob");
    assert_eq!(got["message"]["text"], "hello there");
    let reply = message_by(&bob, direct, "helper").await;
    assert_eq!(reply["bot"], true);
    hook.nothing_more().await;

    // Deleting the bot ends its token; what it wrote stays, under its name.
    let helper = bot(&app, "helper");
    let (ok, out, err) = run(&app, &["bots", "delete", "Helper"]);
    assert!(ok, "{err}");
    assert!(out.contains("deleted the bot helper"), "{out}");
    assert!(
        ApiToken::of_user(&mut app.db(), helper.user_id)
            .unwrap()
            .is_empty()
    );
    assert!(Bot::named(&mut app.db(), "helper").unwrap().is_none());
    let res = reqwest::Client::new()
        .get(format!("{}/api/lobby", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "its token is revoked"
    );
    let kept = alice.messages_after(room, 0).await;
    assert!(
        kept.iter()
            .any(|m| m["author"] == "helper" && m["bot"] == true)
    );
    alice.say(room, "@helper are you there?").await;
    hook.nothing_more().await;
}

#[actix_web::test]
async fn a_failing_webhook_is_shown_on_admin_and_redirects_are_not_followed() {
    let Some(app) = spawn_app().await else { return };
    let mut alice = app.user("alice").await;
    create_bot(&app, "flaky");
    let room = alice.create_room("Lounge").await;

    let broken = receiver(Answer::Status(500));
    set_webhook(&app, "flaky", &broken.url);
    alice.say(room, "@flaky one").await;
    broken.next().await;
    let why = last_failure(&app, "flaky").await;
    assert!(why.as_deref().is_some_and(|w| w.contains("500")), "{why:?}");
    let (_, page) = alice.page("/admin/bots").await;
    assert!(page.contains("answered 500"), "{page}");

    // A redirect is a failure, and its target hears nothing.
    let target = receiver(Answer::Json(json!({"text": "followed"})));
    let redirecting = receiver(Answer::Redirect(target.url.clone()));
    set_webhook(&app, "flaky", &redirecting.url);
    assert_eq!(
        bot(&app, "flaky").last_failure,
        None,
        "a new URL starts afresh"
    );
    alice.say(room, "@flaky two").await;
    redirecting.next().await;
    let why = last_failure(&app, "flaky").await;
    assert!(
        why.as_deref().is_some_and(|w| w.contains("redirect")),
        "{why:?}"
    );
    target.nothing_more().await;

    // One that gets through clears the failure; an empty answer posts nothing.
    let fine = receiver(Answer::Empty);
    set_webhook(&app, "flaky", &fine.url);
    run(&app, &["bots", "webhook", "flaky", "--clear"]);
    alice.say(room, "@flaky three").await;
    fine.nothing_more().await;
    set_webhook(&app, "flaky", &fine.url);
    Bot::failed(&mut app.db(), bot(&app, "flaky").user_id, "earlier").unwrap();
    alice.say(room, "@flaky four").await;
    assert_eq!(fine.next().await["message"]["text"], "@flaky four");
    wait_until(DELIVERED, "the failure forgotten", || {
        std::future::ready(bot(&app, "flaky").last_failure.is_none())
    })
    .await;
    assert!(
        alice
            .messages_after(room, 0)
            .await
            .iter()
            .all(|m| m["author"] == "alice")
    );

    // A bot that never answers fails after the timeout.
    let silent = receiver(Answer::Hang);
    set_webhook(&app, "flaky", &silent.url);
    alice.say(room, "@flaky five").await;
    silent.next().await;
    let why = last_failure(&app, "flaky").await;
    assert!(
        why.as_deref()
            .is_some_and(|w| w.contains("no answer within 7 s")),
        "{why:?}"
    );
}

/// A child process, killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs scripts/echo-bot.py on a port of its choosing: the child, and its URL.
fn echo_bot() -> Option<(Killed, String)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/echo-bot.py");
    let mut child = match Command::new("python3")
        .args([script, "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => {
            eprintln!("python3 is not at hand ({err}): the echo bot's test is skipped");
            return None;
        }
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("the script says where it listens")
        .to_owned();
    Some((Killed(child), format!("http://{addr}/")))
}

#[actix_web::test]
async fn the_echo_bot_script_answers_a_mention_through_the_server() {
    let Some(app) = spawn_app().await else { return };
    let Some((_child, url)) = echo_bot() else {
        return;
    };
    let mut alice = app.user("alice").await;
    create_bot(&app, "echo");
    set_webhook(&app, "echo", &url);
    let room = alice.create_room("Lounge").await;
    alice.say(room, "@echo hello, world").await;
    let reply = message_by(&alice, room, "echo").await;
    assert_eq!(bot(&app, "echo").last_failure, None);
    assert_eq!(reply["text"], "echo: @echo hello, world");
    assert_eq!(reply["bot"], true);
}
