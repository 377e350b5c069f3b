//! Issue 29 in the browser: the app is installable (Chromium's own audit says so), a hidden
//! tab counts what comes in its title and notifies a mention, the message box completes
//! mentions, and the room's notification level is saved.

use fantoccini::key::Key;
use serde_json::{Value, json};

use super::driver::{Browser, Scheme, scenario};
use super::newcomer;

/// Replaces `Notification` in every page this browser opens next with a recorder whose
/// permission is granted: each notification shown lands in `window.notes` (what it says) and
/// `window.shown` (the object, to click).
async fn record_notifications(browser: &Browser) {
    browser
        .devtools(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": "
                window.notes = [];
                window.shown = [];
                window.Notification = class {
                  static permission = 'granted';
                  static requestPermission() { return Promise.resolve('granted'); }
                  constructor(title, options) {
                    window.notes.push({ title, body: options.body, url: options.data.url });
                    window.shown.push(this);
                  }
                  close() {}
                };" }),
        )
        .await;
}

/// Makes the page believe its tab is hidden (or shown again), as switching tabs would.
async fn set_hidden(browser: &Browser, hidden: bool) {
    browser
        .client
        .execute(
            "const hidden = arguments[0];
             Object.defineProperty(document, 'hidden', { value: hidden, configurable: true });
             Object.defineProperty(document, 'visibilityState',
               { value: hidden ? 'hidden' : 'visible', configurable: true });
             document.dispatchEvent(new Event('visibilitychange'));",
            vec![json!(hidden)],
        )
        .await
        .expect("a script");
}

async fn title(browser: &Browser) -> String {
    browser
        .script("return document.title")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn chromium_counts_the_app_installable_and_its_manifest_and_worker_are_served() {
    scenario(|app, chrome| async move {
        let http = reqwest::Client::new();
        let manifest = http
            .get(format!("{}/manifest.webmanifest", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(
            manifest.headers()["content-type"],
            "application/manifest+json"
        );
        let manifest: Value = manifest.json().await.unwrap();
        assert_eq!(manifest["display"], "standalone");
        assert_eq!(manifest["start_url"], "/");
        let sizes: Vec<&str> = manifest["icons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["sizes"].as_str().unwrap())
            .collect();
        assert_eq!(sizes, ["any", "192x192", "512x512"]);
        for icon in ["/static/icon-192.png", "/static/icon-512.png"] {
            let png = http
                .get(format!("{}{icon}", app.address))
                .send()
                .await
                .unwrap();
            assert_eq!(png.headers()["content-type"], "image/png");
            assert!(
                png.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"),
                "{icon} is a PNG"
            );
        }
        let worker = http
            .get(format!("{}/sw.js", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(worker.headers()["cache-control"], "no-cache");
        assert!(
            worker.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        assert!(worker.text().await.unwrap().contains("notificationclick"));
        let offline = http
            .get(format!("{}/offline", app.address))
            .send()
            .await
            .unwrap();
        assert!(offline.text().await.unwrap().contains("You are offline"));

        let alice = newcomer(&chrome, &app, "alice").await;
        alice.goto("/lobby").await;
        let worker = alice
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 navigator.serviceWorker.ready.then((r) => done(r.active.scriptURL), (e) => done(String(e)));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            worker,
            json!(format!("{}/sw.js", app.address)),
            "the worker runs, for the whole site"
        );
        let audit = alice
            .devtools("Page.getInstallabilityErrors", json!({}))
            .await;
        assert_eq!(
            audit["installabilityErrors"],
            json!([]),
            "Chromium's installability audit: {audit}"
        );
        // The worker keeps the app shell, the offline page with it.
        let kept = alice
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 caches.match('/offline').then((r) => r ? r.text() : '').then(
                   (offline) => caches.match('/static/style.css').then((css) => done([offline.includes('You are offline'), Boolean(css)])),
                   (e) => done(String(e)));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            kept,
            json!([true, true]),
            "the offline page and the styles are cached"
        );

        // The server goes away (the one after it listens elsewhere): a page asked for now is
        // the worker's offline page, not the browser's error.
        let _elsewhere = app.restart().await;
        alice.goto("/lobby").await;
        assert_eq!(alice.text("h1").await, "You are offline");
        let found = alice.axe_violations().await;
        assert!(found.is_empty(), "axe on the offline page: {found:#?}");
    });
}

#[test]
fn a_hidden_tab_counts_a_mention_in_its_title_and_shows_a_notification_for_it() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Kitchen").await;
        record_notifications(&alice).await;
        alice.goto(&format!("/rooms/{room}")).await;
        alice.find("#log").await;
        alice.click("#notify-toggle").await;
        alice
            .wait_until("notifications on", || async {
                alice.text("#notify-toggle").await == "Turn off notifications"
            })
            .await;
        assert_eq!(alice.text("#notify-status").await, "Notifications are on.");

        let mut bob = app.user("bob").await;
        bob.enter(room as i32).await;
        bob.say(room as i32, "nobody is called by this one").await;
        alice.wait_for_message("nobody is called by this one").await;
        assert_eq!(
            title(&alice).await,
            "Kitchen · chatroom",
            "a visible tab counts nothing"
        );

        set_hidden(&alice, true).await;
        bob.say(room as i32, "tea, @ALICE?").await;
        alice
            .wait_until("the title count", || async {
                title(&alice).await.starts_with("(1) ")
            })
            .await;
        assert_eq!(title(&alice).await, "(1) Kitchen · chatroom");
        let icon = alice
            .script("return document.querySelector('link[rel=icon]').getAttribute('href')")
            .await;
        assert_eq!(
            icon,
            json!("/static/favicon-dot.svg"),
            "the favicon has a dot"
        );
        alice
            .wait_until("a notification", || async {
                alice.script("return window.notes.length").await == json!(1)
            })
            .await;
        let note = alice.script("return window.notes[0]").await;
        assert_eq!(note["title"], "bob in Kitchen");
        assert_eq!(note["body"], "tea, @ALICE?");
        assert!(
            note["url"]
                .as_str()
                .unwrap()
                .starts_with(&format!("/rooms/{room}?at=")),
            "{note}"
        );
        let mine = alice
            .script("return document.querySelector('#log .mention-me')?.textContent")
            .await;
        let html = alice
            .script("return document.getElementById('log').innerHTML")
            .await;
        assert_eq!(
            mine,
            json!("@ALICE"),
            "the mention of her is marked as hers: {html}"
        );

        // A message that calls nobody counts, and is not notified under "Mentions only".
        bob.say(room as i32, "just chatting").await;
        alice
            .wait_until("the title count", || async {
                title(&alice).await.starts_with("(2) ")
            })
            .await;
        assert_eq!(alice.script("return window.notes.length").await, json!(1));

        set_hidden(&alice, false).await;
        assert_eq!(
            title(&alice).await,
            "Kitchen · chatroom",
            "shown again, the count goes"
        );
        let icon = alice
            .script("return document.querySelector('link[rel=icon]').getAttribute('href')")
            .await;
        assert_eq!(icon, json!("/static/favicon.svg"));
        for scheme in [Scheme::Light, Scheme::Dark] {
            alice.set_scheme(scheme).await;
            alice.screenshot(&format!("mentions-{scheme:?}")).await;
            let found = alice.axe_violations().await;
            assert!(found.is_empty(), "axe on mentions ({scheme:?}): {found:#?}");
        }
    });
}

/// The mention list's state: [shown, options, the box's active descendant is the selected
/// option, the box's value].
async fn mention_list(browser: &Browser) -> Value {
    browser
        .script(
            "const box = document.getElementById('text');
             const list = document.getElementById(box.getAttribute('aria-controls'));
             const selected = list.querySelector('[role=option][aria-selected=true]');
             return [!list.hidden, Array.from(list.querySelectorAll('[role=option]'), (o) => o.textContent),
                     list.getAttribute('role') === 'listbox' && box.getAttribute('aria-autocomplete') === 'list'
                       && (list.hidden || (selected && box.getAttribute('aria-activedescendant') === selected.id)),
                     box.value];",
        )
        .await
}

async fn wait_for_list(browser: &Browser, expected: Value) {
    browser
        .wait_until(&format!("the mention list {expected}"), || async {
            mention_list(browser).await == expected
        })
        .await;
}

#[test]
fn the_message_box_completes_mentions_from_who_is_here_then_who_wrote() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Kitchen").await;
        let mut carol = app.user("carol").await;
        carol.enter(room as i32).await;
        carol.say(room as i32, "bye for now").await;
        carol.post_form(&format!("/rooms/{room}/leave"), &[]).await;
        let mut bob = app.user("bob").await;
        bob.enter_and_poll(room as i32).await;
        alice.wait_for_message("bye for now").await;
        alice
            .wait_until("bob here", || async {
                alice.text("#presence").await.contains("bob")
            })
            .await;

        let box_ = alice.find("#text").await;
        box_.send_keys("@").await.unwrap();
        wait_for_list(&alice, json!([true, ["@bob", "@carol"], true, "@"])).await;
        box_.send_keys("B").await.unwrap();
        wait_for_list(&alice, json!([true, ["@bob"], true, "@B"])).await;
        let down: char = Key::Down.into();
        let enter: char = Key::Enter.into();
        box_.send_keys(&format!("{down}{enter}")).await.unwrap();
        wait_for_list(&alice, json!([false, [], true, "@bob "])).await;
        assert!(
            alice.log().await.iter().all(|l| l.text != "@bob"),
            "Enter picked, it did not send"
        );

        box_.send_keys("and @c").await.unwrap();
        wait_for_list(&alice, json!([true, ["@carol"], true, "@bob and @c"])).await;
        let tab: char = Key::Tab.into();
        box_.send_keys(&tab.to_string()).await.unwrap();
        wait_for_list(&alice, json!([false, [], true, "@bob and @carol "])).await;

        box_.send_keys("@b").await.unwrap();
        wait_for_list(&alice, json!([true, ["@bob"], true, "@bob and @carol @b"])).await;
        let escape: char = Key::Escape.into();
        box_.send_keys(&escape.to_string()).await.unwrap();
        wait_for_list(&alice, json!([false, [], true, "@bob and @carol @b"])).await;
        // Closed, Enter sends as ever.
        box_.send_keys(&enter.to_string()).await.unwrap();
        alice.wait_for_message("@bob and @carol @b").await;
        assert!(alice.axe_violations().await.is_empty(), "axe after sending");

        alice.find("#text").await.send_keys("@").await.unwrap();
        wait_for_list(&alice, json!([true, ["@bob", "@carol"], true, "@"])).await;
        alice.screenshot("mention-list-light").await;
        let found = alice.axe_violations().await;
        assert!(found.is_empty(), "axe with the list open: {found:#?}");
        alice.set_scheme(Scheme::Dark).await;
        alice.screenshot("mention-list-dark").await;
        let found = alice.axe_violations().await;
        assert!(found.is_empty(), "axe with the list open, dark: {found:#?}");
    });
}

#[test]
fn the_room_s_notification_level_is_saved_survives_a_reload_and_a_failure_is_shown() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Kitchen").await;
        let level = || async {
            alice
                .script("return document.getElementById('notify-level').value")
                .await
        };
        assert_eq!(level().await, json!("mentions"), "a public room's default");

        choose(&alice, "nothing").await;
        alice
            .wait_until("the level saved", || async {
                app_level(&alice, room).await == "nothing"
            })
            .await;
        alice.goto(&format!("/rooms/{room}")).await;
        alice.find("#log").await;
        assert_eq!(level().await, json!("nothing"), "after a reload");

        alice.devtools("Network.enable", json!({})).await;
        alice
            .devtools(
                "Network.setBlockedURLs",
                json!({ "urls": ["*/notifications"] }),
            )
            .await;
        choose(&alice, "all").await;
        alice
            .wait_until("the failure shown", || async {
                alice
                    .text("#notify-level-error")
                    .await
                    .contains("Notifications not changed")
            })
            .await;
        assert_eq!(
            level().await,
            json!("nothing"),
            "the saved level is put back"
        );
        alice
            .devtools("Network.setBlockedURLs", json!({ "urls": [] }))
            .await;
    });
}

async fn choose(browser: &Browser, value: &str) {
    browser
        .client
        .execute(
            "const s = document.getElementById('notify-level'); s.focus(); s.value = arguments[0];
             s.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![json!(value)],
        )
        .await
        .expect("a script");
}

/// The level the lobby's API gives the browser's user for the room.
async fn app_level(browser: &Browser, room: i64) -> String {
    let answer = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/lobby').then((r) => r.json()).then((a) => done(a.rooms.find((r) => r.id === arguments[0]).level), (e) => done(String(e)));",
            vec![json!(room)],
        )
        .await
        .expect("a script");
    answer.as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_hidden_lobby_counts_and_notifies_a_mention_and_shows_its_badge() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let kitchen = alice.create_room("Kitchen").await;
        record_notifications(&alice).await;
        alice.goto("/lobby").await;
        alice.click("#notify-toggle").await;
        alice
            .wait_until("notifications on", || async {
                alice.text("#notify-toggle").await == "Turn off notifications"
            })
            .await;
        // The lobby's unread counts are known (from a refresh) before the tab hides.
        alice
            .script(
                "document.addEventListener('chatroom:lobby', () => { window.refreshed = true; })",
            )
            .await;
        alice
            .wait_until("the lobby's refresh", || async {
                alice.script("return window.refreshed === true").await == json!(true)
            })
            .await;
        set_hidden(&alice, true).await;

        let mut bob = app.user("bob").await;
        bob.enter(kitchen as i32).await;
        bob.say(kitchen as i32, "@alice, the kettle!").await;
        let badge = format!("#rooms li[data-room-id='{kitchen}'] .mention-badge");
        alice
            .wait_until("the mention badge", || async { alice.exists(&badge).await })
            .await;
        let spoken = alice
            .client
            .execute(
                "return document.querySelector(arguments[0]).textContent",
                vec![json!(badge)],
            )
            .await
            .unwrap();
        assert_eq!(
            spoken,
            json!("@1 mention"),
            "read as “1 mention”, the @ aside"
        );
        alice
            .wait_until("a notification", || async {
                alice.script("return window.notes.length").await == json!(1)
            })
            .await;
        let note = alice.script("return window.notes[0]").await;
        assert_eq!(note["title"], "bob in Kitchen");
        assert_eq!(note["url"], format!("/rooms/{kitchen}?at=3"));
        alice
            .wait_until("the title count", || async {
                title(&alice).await.starts_with("(1) ")
            })
            .await;
        assert_eq!(title(&alice).await, "(1) Lobby · chatroom");
        set_hidden(&alice, false).await;
        assert_eq!(title(&alice).await, "Lobby · chatroom");

        // Clicking the notification opens the room at the message.
        alice.script("window.shown[0].onclick()").await;
        alice.wait_for_path(&format!("/rooms/{kitchen}?at=3")).await;

        // The page made by the server shows the same badge.
        alice.goto("/lobby").await;
        let spoken = alice
            .client
            .execute(
                "return document.querySelector(arguments[0]).textContent",
                vec![json!(badge)],
            )
            .await
            .unwrap();
        assert_eq!(spoken, json!("@1 mention"));
        alice.screenshot("lobby-mention-badge").await;
        let found = alice.axe_violations().await;
        assert!(found.is_empty(), "axe with a mention badge: {found:#?}");
    });
}
