//! Web push end to end: a local receiver plays the push service and the browser at once. It
//! holds the subscription's private key and auth secret, decrypts each aes128gcm message
//! itself (RFC 8291), and checks the VAPID JWT (RFC 8292) against GET /api/push/key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::database::TestDatabase;
use super::helpers::{
    PASSWORD, Person, TestApp, error_code, spawn_app_tweaked, spawn_app_with, test_settings,
};
use super::wait::{eventually, wait_until};

/// One push as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    /// Lower-case names.
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A push service on 127.0.0.1 that keeps what it is sent and answers `status`.
struct Receiver {
    origin: String,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(201));
        let (kept, answer) = (got.clone(), status.clone());
        actix_web::rt::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                actix_web::rt::spawn(serve(stream, kept.clone(), answer.clone()));
            }
        });
        Self {
            origin,
            got,
            status,
        }
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}/push/{name}", self.origin)
    }

    fn answer(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }

    /// What reached `endpoint`'s path so far.
    fn received(&self, endpoint: &str) -> Vec<Received> {
        let path = endpoint.strip_prefix(&self.origin).unwrap();
        let got = self.got.lock().unwrap();
        got.iter().filter(|r| r.path == path).cloned().collect()
    }
}

/// Answers HTTP/1.1 requests on one connection until the client closes it.
async fn serve(
    mut stream: tokio::net::TcpStream,
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<Mutex<u16>>,
) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let path = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .unwrap_or_default()
            .to_owned();
        let headers: HashMap<String, String> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_owned()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buffer[head_end..head_end + length].to_vec();
        buffer.drain(..head_end + length);
        got.lock().unwrap().push(Received {
            path,
            headers,
            body,
        });
        let code = *status.lock().unwrap();
        let answer = format!("HTTP/1.1 {code} Whatever\r\ncontent-length: 0\r\n\r\n");
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The browser's side of a subscription: its key pair and auth secret.
struct Browser {
    secret: SecretKey,
    auth: [u8; 16],
    endpoint: String,
}

impl Browser {
    fn new(endpoint: String) -> Self {
        let secret = loop {
            if let Ok(secret) = SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break secret;
            }
        };
        Self {
            secret,
            auth: rand::random(),
            endpoint,
        }
    }

    fn public(&self) -> Vec<u8> {
        self.secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    fn subscription(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.public()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    /// Opens an aes128gcm message (RFC 8291 section 3, RFC 8188) sent to this browser.
    fn decrypt(&self, body: &[u8]) -> Value {
        assert!(body.len() > 86, "a header and a record");
        let salt = &body[..16];
        let record_size = u32::from_be_bytes(body[16..20].try_into().unwrap());
        assert_eq!(record_size, 4096);
        assert_eq!(
            body[20], 65,
            "the key id is the sender's uncompressed point"
        );
        let sender = PublicKey::from_sec1_bytes(&body[21..86]).unwrap();
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), sender.as_affine());
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(&self.public());
        info.extend_from_slice(&body[21..86]);
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .unwrap();
        let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .unwrap();
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
            .unwrap();
        let mut plain = Aes128Gcm::new_from_slice(&cek)
            .unwrap()
            .decrypt(Nonce::from_slice(&nonce), &body[86..])
            .expect("the record opens with the browser's keys");
        while plain.last() == Some(&0) {
            plain.pop();
        }
        assert_eq!(plain.pop(), Some(2), "the last record's delimiter");
        serde_json::from_slice(&plain).expect("the payload is JSON")
    }
}

/// Checks a push's headers: TTL, the encoding, and a VAPID JWT signed by the server's key
/// for this receiver's origin, expiring within 24 hours, with a contact.
fn check_vapid(push: &Received, server_key: &str, origin: &str) {
    assert!(
        push.headers
            .get("ttl")
            .and_then(|t| t.parse::<u64>().ok())
            .is_some_and(|t| t > 0),
        "a TTL: {:?}",
        push.headers
    );
    assert_eq!(push.headers["content-encoding"], "aes128gcm");
    let authorization = &push.headers["authorization"];
    let (t, k) = authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .unwrap_or_else(|| panic!("vapid t=..., k=...: {authorization}"));
    assert_eq!(k, server_key, "k is the key from GET /api/push/key");
    let (signed, signature) = t.rsplit_once('.').unwrap();
    let (header, claims) = signed.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    let key = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(server_key).unwrap()).unwrap();
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    key.verify(signed.as_bytes(), &signature)
        .expect("the JWT is signed with the server's key");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert_eq!(claims["aud"], origin);
    let now = chrono::Utc::now().timestamp();
    let exp = claims["exp"].as_i64().unwrap();
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp}, now {now}");
    let sub = claims["sub"].as_str().unwrap();
    assert!(
        sub.starts_with("mailto:") || sub.starts_with("https://"),
        "{sub}"
    );
}

async fn app_with_loopback() -> Option<TestApp> {
    spawn_app_tweaked(|settings| settings.push_insecure_loopback = true).await
}

/// Someone registered through the API, who has opened no page that polls.
async fn api_user(app: &TestApp, name: &str) -> Person {
    let mut person = app.person();
    let res = person
        .http
        .post(person.url("/api/users"))
        .json(&json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "registering {name}");
    let answer: Value = res.json().await.unwrap();
    person.csrf = Some(answer["csrf_token"].as_str().unwrap().to_owned());
    person
}

async fn server_key(person: &Person) -> String {
    let res = person.get("/api/push/key").await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    let key = answer["public_key"].as_str().unwrap().to_owned();
    let point = URL_SAFE_NO_PAD.decode(&key).unwrap();
    assert_eq!((point.len(), point[0]), (65, 4), "an uncompressed point");
    key
}

async fn subscribe(person: &mut Person, browser: &Browser) -> StatusCode {
    person
        .post_json("/api/push/subscriptions", &browser.subscription())
        .await
        .status()
}

/// Waits a little longer than a few worker rounds: long enough for a push that was coming.
async fn a_few_rounds() {
    actix_web::rt::time::sleep(Duration::from_millis(3500)).await;
}

const PUSH_WITHIN: Duration = Duration::from_secs(15);

#[actix_web::test]
async fn a_mention_reaches_a_user_with_no_page_open_encrypted_for_their_browser_and_signed() {
    let Some(app) = app_with_loopback().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let mut alice = app.user("alice").await;
    let mut bob = api_user(&app, "bob").await;
    let key = server_key(&bob).await;
    let browser = Browser::new(receiver.endpoint("bob"));
    assert_eq!(subscribe(&mut bob, &browser).await, StatusCode::CREATED);
    assert_eq!(
        subscribe(&mut bob, &browser).await,
        StatusCode::CREATED,
        "the same endpoint again is taken, and updated"
    );

    let room = alice.create_room("Kitchen").await;
    let seq = alice
        .say(room, "hey @BOB, the soup is ready and it is getting cold")
        .await["id"]
        .as_i64()
        .unwrap();
    wait_until(PUSH_WITHIN, "the mention is pushed", || async {
        !receiver.received(&browser.endpoint).is_empty()
    })
    .await;
    a_few_rounds().await;
    let pushes = receiver.received(&browser.endpoint);
    assert_eq!(pushes.len(), 1, "one subscription stored, one push");
    check_vapid(&pushes[0], &key, &receiver.origin);
    let payload = browser.decrypt(&pushes[0].body);
    assert_eq!(payload["room"]["id"], room);
    assert_eq!(payload["room"]["name"], "Kitchen");
    assert_eq!(payload["author"], "alice");
    assert_eq!(payload["id"], seq);
    assert_eq!(payload["url"], format!("/rooms/{room}?at={seq}"));
    assert_eq!(payload["reason"], "mention");
    assert!(
        payload["excerpt"]
            .as_str()
            .unwrap()
            .starts_with("hey @BOB, the soup"),
        "{payload}"
    );
    assert!(alice.say(room, "nobody is mentioned here").await["id"].is_number());
    a_few_rounds().await;
    assert_eq!(
        receiver.received(&browser.endpoint).len(),
        1,
        "a message that does not mention bob is not pushed to him"
    );
}

#[actix_web::test]
async fn a_user_with_a_page_polling_gets_no_push_while_one_without_does() {
    let Some(app) = app_with_loopback().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let mut alice = app.user("alice").await;
    let mut bob = api_user(&app, "bob").await;
    let mut carol = api_user(&app, "carol").await;
    let bobs = Browser::new(receiver.endpoint("bob"));
    let carols = Browser::new(receiver.endpoint("carol"));
    assert_eq!(subscribe(&mut bob, &bobs).await, StatusCode::CREATED);
    assert_eq!(subscribe(&mut carol, &carols).await, StatusCode::CREATED);
    let room = alice.create_room("Kitchen").await;
    // Bob's page polls the room, as an open tab does; Carol has none open.
    let res = bob
        .post_json(&format!("/api/rooms/{room}/enter"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    bob.entries_after(room, 0).await;
    alice.say(room, "@bob @carol lunch?").await;
    wait_until(PUSH_WITHIN, "carol's push", || async {
        !receiver.received(&carols.endpoint).is_empty()
    })
    .await;
    bob.entries_after(room, 0).await;
    alice.say(room, "@bob @carol now?").await;
    wait_until(PUSH_WITHIN, "carol's second push", || async {
        receiver.received(&carols.endpoint).len() == 2
    })
    .await;
    a_few_rounds().await;
    assert!(
        receiver.received(&bobs.endpoint).is_empty(),
        "bob's page shows it: no push"
    );
}

#[actix_web::test]
async fn no_more_than_ten_pushes_a_minute_reach_one_user() {
    let Some(app) = app_with_loopback().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let mut alice = app.user("alice").await;
    let mut bob = api_user(&app, "bob").await;
    let browser = Browser::new(receiver.endpoint("bob"));
    assert_eq!(subscribe(&mut bob, &browser).await, StatusCode::CREATED);
    let room = alice.open_direct("bob").await;
    for i in 1..=11 {
        alice.say(room, &format!("message {i}")).await;
    }
    wait_until(PUSH_WITHIN, "ten pushes", || async {
        receiver.received(&browser.endpoint).len() >= 10
    })
    .await;
    a_few_rounds().await;
    let pushes = receiver.received(&browser.endpoint);
    assert_eq!(
        pushes.len(),
        10,
        "the eleventh waits out the minute, dropped"
    );
    let excerpts: Vec<String> = pushes
        .iter()
        .map(|p| {
            browser.decrypt(&p.body)["excerpt"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(excerpts.contains(&"message 1".to_owned()), "{excerpts:?}");
    let first = browser.decrypt(&pushes[0].body);
    assert_eq!(first["reason"], "direct");
    assert_eq!(
        first["room"]["name"], "alice",
        "a direct conversation is named for the other person"
    );
}

#[actix_web::test]
async fn a_subscription_the_push_service_calls_gone_is_deleted_and_sent_nothing_more() {
    let Some(app) = app_with_loopback().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let mut alice = app.user("alice").await;
    let mut bob = api_user(&app, "bob").await;
    let browser = Browser::new(receiver.endpoint("bob"));
    assert_eq!(subscribe(&mut bob, &browser).await, StatusCode::CREATED);
    receiver.answer(410);
    let room = alice.open_direct("bob").await;
    alice.say(room, "first").await;
    wait_until(PUSH_WITHIN, "the push is tried", || async {
        !receiver.received(&browser.endpoint).is_empty()
    })
    .await;
    assert!(
        eventually(PUSH_WITHIN, || async { subscriptions(&app, "bob") == 0 }).await,
        "410 deletes the subscription"
    );
    receiver.answer(201);
    alice.say(room, "second").await;
    a_few_rounds().await;
    assert_eq!(
        receiver.received(&browser.endpoint).len(),
        1,
        "nothing is sent there any more"
    );
}

#[actix_web::test]
async fn a_push_service_that_fails_otherwise_is_backed_off_from_not_forgotten() {
    let Some(app) = app_with_loopback().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let mut alice = app.user("alice").await;
    let mut bob = api_user(&app, "bob").await;
    let browser = Browser::new(receiver.endpoint("bob"));
    assert_eq!(subscribe(&mut bob, &browser).await, StatusCode::CREATED);
    receiver.answer(503);
    let room = alice.open_direct("bob").await;
    alice.say(room, "first").await;
    wait_until(PUSH_WITHIN, "the push is tried", || async {
        !receiver.received(&browser.endpoint).is_empty()
    })
    .await;
    assert!(
        eventually(PUSH_WITHIN, || async { failures(&app, "bob") == 1 }).await,
        "the failure is counted"
    );
    receiver.answer(201);
    alice.say(room, "second").await;
    a_few_rounds().await;
    assert_eq!(
        receiver.received(&browser.endpoint).len(),
        1,
        "nothing is tried while backing off"
    );
    assert_eq!(subscriptions(&app, "bob"), 1, "and the subscription stays");
}

#[actix_web::test]
async fn endpoints_that_are_not_https_and_keys_that_are_not_keys_are_refused() {
    let Some(app) = spawn_app_tweaked(|_| {}).await else {
        return;
    };
    let mut bob = api_user(&app, "bob").await;
    let browser = Browser::new("http://127.0.0.1:9/push/bob".into());
    let res = bob
        .post_json("/api/push/subscriptions", &browser.subscription())
        .await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "plain http without the loopback setting"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
    assert!(
        body["message"].as_str().unwrap().contains("https"),
        "{body}"
    );

    let mut good = Browser::new("https://push.example.com/push/bob".into()).subscription();
    for (field, bad) in [
        ("p256dh", URL_SAFE_NO_PAD.encode([4u8; 65])),
        ("p256dh", "not base64!".to_owned()),
        ("auth", URL_SAFE_NO_PAD.encode([1u8; 15])),
    ] {
        let mut wrong = good.clone();
        wrong["keys"][field] = json!(bad);
        let res = bob.post_json("/api/push/subscriptions", &wrong).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{field} {bad}");
        assert_eq!(error_code(res).await, "bad_request");
    }
    good["endpoint"] = json!("https://192.168.1.1/push");
    let res = bob.post_json("/api/push/subscriptions", &good).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "no private networks");
    assert_eq!(subscriptions(&app, "bob"), 0);

    let anonymous = app.person();
    assert_eq!(
        anonymous.get("/api/push/key").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn unsubscribing_or_logging_out_removes_the_subscription() {
    let Some(app) = app_with_loopback().await else {
        return;
    };
    let receiver = Receiver::start().await;
    let mut alice = app.user("alice").await;
    let mut bob = api_user(&app, "bob").await;
    let browser = Browser::new(receiver.endpoint("bob"));
    assert_eq!(subscribe(&mut bob, &browser).await, StatusCode::CREATED);
    assert_eq!(subscriptions(&app, "bob"), 1);
    let token = bob.csrf().await;
    let res = bob
        .http
        .delete(bob.url("/api/push/subscriptions"))
        .header("X-CSRF-Token", token)
        .json(&json!({"endpoint": browser.endpoint}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(subscriptions(&app, "bob"), 0);

    assert_eq!(subscribe(&mut bob, &browser).await, StatusCode::CREATED);
    assert_eq!(subscriptions(&app, "bob"), 1);
    assert_eq!(
        bob.delete("/api/session").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(subscriptions(&app, "bob"), 0, "logging out removes it");
    let room = alice.open_direct("bob").await;
    alice.say(room, "still there?").await;
    a_few_rounds().await;
    assert!(receiver.received(&browser.endpoint).is_empty());
}

#[actix_web::test]
async fn two_servers_started_together_share_one_key_and_push_each_notice_once() {
    let Some(database) = TestDatabase::fresh() else {
        return;
    };
    let database = Arc::new(database);
    let key = actix_web::cookie::Key::generate();
    let settings = || {
        let mut settings = test_settings(&database, key.clone());
        settings.push_insecure_loopback = true;
        settings
    };
    let (a, b) = tokio::join!(
        spawn_app_with(settings(), database.clone()),
        spawn_app_with(settings(), database.clone())
    );
    let receiver = Receiver::start().await;
    let mut alice = a.user("alice").await;
    let mut bob = api_user(&a, "bob").await;
    let on_b = bob.on(&b.address);
    let key = server_key(&bob).await;
    assert_eq!(server_key(&on_b).await, key, "one key for every server");
    let browser = Browser::new(receiver.endpoint("bob"));
    assert_eq!(subscribe(&mut bob, &browser).await, StatusCode::CREATED);
    let room = alice.open_direct("bob").await;
    let mut alice_on_b = alice.on(&b.address);
    for i in 1..=4 {
        let speaker = if i % 2 == 0 {
            &mut alice
        } else {
            &mut alice_on_b
        };
        speaker.say(room, &format!("message {i}")).await;
    }
    wait_until(PUSH_WITHIN, "four pushes", || async {
        receiver.received(&browser.endpoint).len() >= 4
    })
    .await;
    a_few_rounds().await;
    let mut ids: Vec<i64> = receiver
        .received(&browser.endpoint)
        .iter()
        .map(|push| {
            check_vapid(push, &key, &receiver.origin);
            browser.decrypt(&push.body)["id"].as_i64().unwrap()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids.len(),
        4,
        "each notice pushed once, by one server: {ids:?}"
    );
    ids.dedup();
    assert_eq!(ids.len(), 4, "{ids:?}");
}

/// The failures in a row counted against the user's subscriptions.
fn failures(app: &TestApp, username: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Sum {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sum: Sum = diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(s.failures), 0) AS BIGINT) AS n FROM push_subscriptions s \
         JOIN users u ON u.id = s.user_id WHERE u.username = '{username}'"
    ))
    .get_result(&mut app.db())
    .unwrap();
    sum.n
}

/// How many push subscriptions the user has in the database.
fn subscriptions(app: &TestApp, username: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM push_subscriptions s JOIN users u ON u.id = s.user_id \
         WHERE u.username = '{username}'"
    ))
    .get_result(&mut app.db())
    .unwrap();
    count.n
}
