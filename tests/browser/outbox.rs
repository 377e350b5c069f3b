//! The outbox (static/outbox.js): a message typed while the server is down waits, greyed, in
//! the browser's storage, survives a reload, and is stored exactly once when the server is
//! back; or the user discards it and nothing is sent. The server here is the real binary as a
//! child process, stopped and started again on the same port and database.

use std::time::Duration;

use serde_json::{Value, json};

use super::driver::{Browser, Chrome, Viewport, scenario};
use super::helpers::{PASSWORD, Person};
// server.rs reaches these through its parent, this module.
use super::{database, newcomer, wait};

#[path = "../support/server.rs"]
#[allow(dead_code)]
mod server;

use database::TestDatabase;
use server::Server;

/// Long enough for the page's backoff (at most 15 s between attempts) to come round again.
const AFTER_AN_OUTAGE: Duration = Duration::from_secs(30);

/// The outbox's lines on the page: their text and status.
async fn waiting(browser: &Browser) -> Vec<(String, String)> {
    let lines = browser
        .script(
            "return Array.from(document.querySelectorAll('#log .outbox-message'), li =>
                [li.querySelector('.text').textContent,
                 li.querySelector('.outbox-status').textContent]);",
        )
        .await;
    serde_json::from_value(lines).expect("outbox lines")
}

/// The keys of the browser's localStorage.
async fn stored_keys(browser: &Browser) -> Value {
    browser
        .script("return Object.keys(window.localStorage).sort();")
        .await
}

/// How many messages of the room's log, as the API gives it, have this text.
async fn stored_with_text(reader: &Person, room: i64, text: &str) -> usize {
    let room = i32::try_from(room).unwrap();
    reader
        .messages_after(room, 0)
        .await
        .iter()
        .filter(|m| m["text"] == text)
        .count()
}

/// The real binary on a fresh database, up; None where no database is available. Bound in
/// this order, the server stops before its database is dropped.
async fn server_on_a_fresh_database() -> Option<(TestDatabase, Server)> {
    let db = TestDatabase::fresh()?;
    let server = Server::start(&db.url);
    server.wait_until_up().await;
    Some((db, server))
}

/// Alice's browser on the server, registered, inside her new room: the browser and the room's id.
async fn alice_in_a_room(chrome: &Chrome, server: &Server) -> (Browser, i64) {
    let alice = chrome
        .person(&server.url(), "alice", Viewport::Desktop)
        .await;
    alice.register("alice", PASSWORD).await;
    let room = alice.create_room("Porch").await;
    (alice, room)
}

/// Bob, through the API, inside the room: reads the log as the server has it.
async fn bob_reading(server: &Server, room: i64) -> Person {
    let mut bob = Person::new(&server.url());
    bob.register("bob", PASSWORD).await;
    bob.enter(i32::try_from(room).unwrap()).await;
    bob
}

#[test]
fn a_message_typed_while_the_server_is_down_survives_a_reload_and_is_stored_exactly_once() {
    scenario(|_app, chrome| async move {
        let Some((_db, mut server)) = server_on_a_fresh_database().await else {
            return;
        };
        let (alice, room) = alice_in_a_room(&chrome, &server).await;
        let bob = bob_reading(&server, room).await;
        let text = "typed while the server was down";

        server.kill();
        // The box clears at once: the outbox holds the message now.
        alice.say(text).await;
        alice
            .wait_until("the message greyed, sending", || async {
                waiting(&alice).await == [(text.to_owned(), "sending…".to_owned())]
            })
            .await;
        assert_eq!(
            stored_keys(&alice).await,
            json!([format!("chatroom:outbox:alice:{room}")]),
            "kept under the user's and the room's key"
        );

        // A reload while the server is down shows the browser's own error page.
        let _ = alice.client.refresh().await;
        server.spawn();
        server.wait_until_up().await;
        // The page comes back with posting still cut off, to see what it restored.
        alice.devtools("Network.enable", json!({})).await;
        alice
            .devtools(
                "Network.setBlockedURLs",
                json!({ "urls": [format!("*/api/rooms/{room}/messages")] }),
            )
            .await;
        alice.goto(&format!("/rooms/{room}")).await;
        alice.find("#log").await;
        alice
            .wait_until("the restored message, sending", || async {
                waiting(&alice).await == [(text.to_owned(), "sending…".to_owned())]
            })
            .await;
        assert_eq!(stored_with_text(&bob, room, text).await, 0, "not yet sent");

        alice
            .devtools("Network.setBlockedURLs", json!({ "urls": [] }))
            .await;
        wait::wait_until(AFTER_AN_OUTAGE, "the message delivered", || async {
            alice.log().await.iter().any(|l| l.text == text)
        })
        .await;
        alice
            .wait_until("the greyed copy gone", || async {
                waiting(&alice).await.is_empty()
            })
            .await;
        let shown = alice.log().await;
        assert_eq!(
            shown.iter().filter(|l| l.text == text).count(),
            1,
            "shown once: {shown:?}"
        );
        assert_eq!(stored_with_text(&bob, room, text).await, 1, "stored once");
        assert_eq!(stored_keys(&alice).await, json!([]), "the outbox is empty");

        // Another message goes straight through, and still nothing is repeated.
        alice.say("and now it works").await;
        alice.wait_for_message("and now it works").await;
        assert_eq!(stored_with_text(&bob, room, text).await, 1);
        assert_eq!(alice.log().await.len(), 2, "{:?}", alice.log().await);
        assert_console_clean_but_the_outage(&alice).await;
    });
}

#[test]
fn a_message_waiting_for_a_minute_offers_retry_and_discard_and_a_discarded_one_is_never_sent() {
    scenario(|_app, chrome| async move {
        let Some((_db, mut server)) = server_on_a_fresh_database().await else {
            return;
        };
        let (alice, room) = alice_in_a_room(&chrome, &server).await;
        let bob = bob_reading(&server, room).await;

        server.kill();
        alice.say("never to be sent").await;
        alice.say("second thoughts").await;
        alice
            .wait_until("both waiting", || async {
                waiting(&alice).await.len() == 2
            })
            .await;
        assert!(
            !alice.exists("#log .outbox-discard").await,
            "no buttons before a minute has passed"
        );

        // A minute on, as another tab of this page would have written it.
        alice
            .script(
                "for (const key of Object.keys(localStorage)) {
                   const items = JSON.parse(localStorage.getItem(key));
                   for (const item of items) item.queuedAt -= 61000;
                   localStorage.setItem(key, JSON.stringify(items));
                   window.dispatchEvent(new StorageEvent('storage', { key, storageArea: localStorage }));
                 }",
            )
            .await;
        alice
            .wait_until("Retry and Discard on both", || async {
                alice
                    .script("return document.querySelectorAll('#log .outbox-message .outbox-discard').length")
                    .await
                    == json!(2)
                    && alice.exists("#log .outbox-message .outbox-retry").await
            })
            .await;

        alice.screenshot("outbox-stuck").await;
        let violations = alice.axe_violations().await;
        assert!(violations.is_empty(), "{violations:#?}");

        // By keyboard: Tab from the first message's Retry reaches its Discard; Enter presses it.
        alice
            .script("document.querySelector('#log .outbox-retry').focus()")
            .await;
        alice
            .client
            .active_element()
            .await
            .unwrap()
            .send_keys(&format!("{}", char::from(fantoccini::key::Key::Tab)))
            .await
            .unwrap();
        let focused = alice
            .script("return document.activeElement.className + ' ' + document.activeElement.closest('li').querySelector('.text').textContent")
            .await;
        assert_eq!(focused, json!("outbox-discard never to be sent"));
        alice
            .client
            .active_element()
            .await
            .unwrap()
            .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
            .await
            .unwrap();
        alice
            .wait_until("only the second left", || async {
                waiting(&alice)
                    .await
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .eq(["second thoughts"])
            })
            .await;
        let focused = alice
            .script("return document.activeElement.className")
            .await;
        assert_eq!(focused, json!("outbox-retry"), "focus stays in the outbox");

        server.spawn();
        server.wait_until_up().await;
        // Retry sends it now rather than at the end of the backoff.
        alice.click("#log .outbox-retry").await;
        wait::wait_until(AFTER_AN_OUTAGE, "the kept message delivered", || async {
            alice
                .log()
                .await
                .iter()
                .any(|l| l.text == "second thoughts")
        })
        .await;
        alice
            .wait_until("the outbox empty", || async {
                waiting(&alice).await.is_empty()
            })
            .await;
        // A reload brings nothing back, and nothing discarded went out.
        alice.goto(&format!("/rooms/{room}")).await;
        alice.find("#log").await;
        alice.say("after the reload").await;
        alice.wait_for_message("after the reload").await;
        assert!(waiting(&alice).await.is_empty());
        assert_eq!(stored_with_text(&bob, room, "never to be sent").await, 0);
        assert_eq!(stored_with_text(&bob, room, "second thoughts").await, 1);
        let texts: Vec<String> = alice.log().await.into_iter().map(|l| l.text).collect();
        assert_eq!(texts, ["second thoughts", "after the reload"]);
        assert_console_clean_but_the_outage(&alice).await;
    });
}

/// The console is clean but for the failed requests of the outage itself (Chromium logs each
/// refused connection as an error, which no script can prevent).
async fn assert_console_clean_but_the_outage(browser: &Browser) {
    let problems: Vec<String> = browser
        .console_problems()
        .await
        .into_iter()
        .filter(|p| {
            !p.contains("Failed to load resource")
                && !p.contains("net::ERR_")
                && !p.contains("/api/rooms/")
        })
        .collect();
    assert!(problems.is_empty(), "console errors: {problems:#?}");
}

#[test]
fn a_message_the_server_refuses_comes_back_with_the_reason_and_is_not_retried() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Porch").await;

        // Refused for good (a control character): the empty box gets the text back.
        alice
            .script(
                "const box = document.getElementById('text');
                 box.value = 'bell \\u0007';
                 document.getElementById('send').requestSubmit();",
            )
            .await;
        alice
            .wait_until("the reason", || async {
                alice.text("#send-error").await.starts_with("Not sent: ")
            })
            .await;
        assert_eq!(
            alice
                .script("return document.getElementById('text').value")
                .await,
            json!("bell \u{7}")
        );
        assert!(waiting(&alice).await.is_empty());
        assert_eq!(stored_keys(&alice).await, json!([]), "not retried");

        // Refused while something else is in the box: they stay, marked, with Edit and Discard.
        let posts = [format!("*/api/rooms/{room}/messages")];
        alice
            .devtools("Network.setBlockedURLs", json!({ "urls": posts }))
            .await;
        alice
            .script(
                "const box = document.getElementById('text');
                 const tick = () => new Promise((done) => setTimeout(done, 0));
                 box.value = 'first \\u0007';
                 document.getElementById('send').requestSubmit();
                 await tick();
                 box.value = 'second \\u0007';
                 document.getElementById('send').requestSubmit();
                 await tick();
                 box.value = 'a draft';",
            )
            .await;
        alice
            .wait_until("both waiting", || async {
                waiting(&alice).await.len() == 2
            })
            .await;
        alice
            .devtools("Network.setBlockedURLs", json!({ "urls": [] }))
            .await;
        alice
            .wait_until("both refused", || async {
                let lines = waiting(&alice).await;
                lines.len() == 2 && lines.iter().all(|(_, s)| s.starts_with("Not sent: "))
            })
            .await;
        alice.click("#log .outbox-message .outbox-edit").await;
        assert_eq!(
            alice
                .script("return document.getElementById('text').value")
                .await,
            json!("a draft\nfirst \u{7}"),
            "Edit puts the text after what was there"
        );
        alice.click("#log .outbox-message .outbox-discard").await;
        alice
            .wait_until("the outbox empty", || async {
                waiting(&alice).await.is_empty()
            })
            .await;
        assert_eq!(stored_keys(&alice).await, json!([]));
        assert!(alice.log().await.is_empty(), "nothing was stored");
    });
}
