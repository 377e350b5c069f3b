//! Search, as people use it: from the lobby's box to the results, the matched word marked, a
//! click into the room at that message far back in history, in view and highlighted; the
//! history after it loads as the reader scrolls; the Enter page keeps the place. The search
//! page passes axe, light and dark.

use std::time::Duration;

use serde_json::{Value, json};

use super::driver::{Browser, Scheme};
use super::{assert_console_clean, newcomer, scenario};

/// Where message `id` is on the page: on it, highlighted, focused, inside the log's view.
async fn place(browser: &Browser, id: i64) -> Value {
    browser
        .script(&format!(
            "const li = document.querySelector(\"#log li[data-id='{id}']\");
             if (!li) return null;
             const log = document.getElementById('log').getBoundingClientRect();
             const box = li.getBoundingClientRect();
             return {{
               target: li.classList.contains('target'),
               current: li.getAttribute('aria-current'),
               focused: document.activeElement === li,
               in_view: box.top >= log.top && box.bottom <= log.bottom,
             }};"
        ))
        .await
}

async fn shown(browser: &Browser, id: i64) -> bool {
    browser.exists(&format!("#log li[data-id='{id}']")).await
}

/// Scrolls the log to its end, as a reader would.
async fn scroll_to_end(browser: &Browser) {
    browser
        .script("const log = document.getElementById('log'); log.scrollTop = log.scrollHeight;")
        .await;
}

/// Nothing on the page overflows sideways (at 320 px, the narrowest phone).
async fn assert_fits(browser: &Browser, what: &str) {
    let fits = browser
        .script("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(fits, json!(true), "{what}: nothing overflows sideways");
}

/// Where a result lands: on the message, highlighted, focused, in view.
fn landed() -> Value {
    json!({ "current": "true", "focused": true, "in_view": true, "target": true })
}

#[test]
fn a_search_from_the_lobby_opens_the_room_at_the_message_far_back_marked_and_in_view() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Orchard").await;
        let mut carol = app.user("carol").await;
        carol.enter(room as i32).await;
        let found = carol
            .say(room as i32, "The Tangerine harvest starts on Monday")
            .await["id"]
            .as_i64()
            .expect("an id");
        // Far above the latest 200 that the room's page shows, and more than a window after.
        for i in 0..260 {
            carol.say(room as i32, &format!("line {i}")).await;
        }
        let last = carol.say(room as i32, "the latest word").await["id"]
            .as_i64()
            .expect("an id");

        // Bob, in the lobby, searches in another case, for part of a word.
        let bob = newcomer(&chrome, &app, "bob").await;
        bob.set_window_size(320, 640).await;
        bob.screenshot("search-lobby-phone").await;
        assert_fits(&bob, "the lobby").await;
        bob.set_window_size(1280, 800).await;
        bob.fill("#search-box-q", "TANGER").await;
        bob.click("#search-box button").await;
        bob.wait_for_path("/search?q=TANGER").await;
        let result = format!("#results li[data-id='{found}'][data-room-id='{room}']");
        assert_eq!(
            bob.text(&format!("{result} .result-text")).await,
            "The Tangerine harvest starts on Monday"
        );
        assert_eq!(
            bob.text(&format!("{result} mark")).await,
            "Tanger",
            "the matched piece is marked, as typed in the message"
        );
        assert_eq!(bob.text(&format!("{result} .result-room")).await, "Orchard");
        assert_eq!(bob.text(&format!("{result} .author")).await, "carol");
        assert_eq!(
            bob.find("#search-q")
                .await
                .prop("value")
                .await
                .unwrap()
                .as_deref(),
            Some("TANGER"),
            "the form keeps the query"
        );

        // The search page passes axe, and looks right light and dark, wide and on a phone
        // (target/screenshots/search-*.png).
        let violations = bob.axe_violations().await;
        assert!(violations.is_empty(), "axe found: {violations:#?}");
        for (size, width, height) in [("desktop", 1280, 800), ("phone", 320, 640)] {
            bob.set_window_size(width, height).await;
            for (scheme, value) in [("light", Scheme::Light), ("dark", Scheme::Dark)] {
                bob.set_scheme(value).await;
                bob.screenshot(&format!("search-{size}-{scheme}")).await;
            }
            assert_fits(&bob, &format!("the search page on a {size}")).await;
        }
        bob.set_scheme(Scheme::Light).await;
        bob.set_window_size(1280, 800).await;

        // The result enters the room at the message: in view, highlighted and focused, with
        // the history around it and not the latest.
        bob.click(&format!("{result} .result-text")).await;
        bob.wait_for_path(&format!("/rooms/{room}?at={found}"))
            .await;
        bob.wait_until("the found message to be in view and focused", || async {
            place(&bob, found).await == landed()
        })
        .await;
        assert!(!shown(&bob, last).await, "the latest is not loaded yet");
        // The live poll runs, and the page stays where it is.
        carol.say(room as i32, "a live one").await;
        actix_web::rt::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(place(&bob, found).await, landed(), "no jump");
        assert!(
            bob.text("#presence").await.contains("bob"),
            "the poll says bob is here"
        );
        bob.screenshot("search-landed").await;
        bob.set_window_size(320, 640).await;
        bob.screenshot("search-landed-phone").await;
        assert_fits(&bob, "the room").await;
        bob.set_window_size(1280, 800).await;

        // Scrolling down loads what follows, page by page, up to the live end; from there the
        // log follows live messages again.
        bob.wait_until("the history down to the live end to load", || async {
            scroll_to_end(&bob).await;
            shown(&bob, last).await && bob.log().await.iter().any(|l| l.text == "a live one")
        })
        .await;
        scroll_to_end(&bob).await;
        carol.say(room as i32, "after the catch-up").await;
        bob.wait_for_message("after the catch-up").await;
        let texts: Vec<String> = bob
            .log()
            .await
            .into_iter()
            .filter(|l| l.id >= found)
            .map(|l| l.text)
            .collect();
        let mut expected = vec!["The Tangerine harvest starts on Monday".to_owned()];
        expected.extend((0..260).map(|i| format!("line {i}")));
        expected.extend(["the latest word", "a live one", "after the catch-up"].map(String::from));
        assert_eq!(texts, expected, "every message once, in order");
        let at_bottom = bob
            .script(
                "const log = document.getElementById('log');
                 return log.scrollHeight - log.scrollTop - log.clientHeight < 40;",
            )
            .await;
        assert_eq!(
            at_bottom,
            json!(true),
            "at the live end, a new message keeps the reader at the bottom"
        );

        // Someone outside the room: the Enter page keeps the place through the enter.
        bob.click("#leave").await;
        bob.wait_for_path("/lobby").await;
        bob.goto(&format!("/rooms/{room}?at={found}")).await;
        bob.click("#enter").await;
        bob.wait_for_path(&format!("/rooms/{room}?at={found}"))
            .await;
        bob.wait_until("the found message to be in view again", || async {
            place(&bob, found).await == landed()
        })
        .await;

        // A search that finds nothing says so; one too short is refused in the form (the
        // browser logs the 400, and nothing else).
        bob.goto("/search?q=pomegranate").await;
        assert_eq!(bob.text("#no-results").await, "No messages match.");
        assert_console_clean(&[&alice, &bob]).await;
        bob.goto("/search?q=ab").await;
        assert!(!bob.text("#search-error").await.is_empty());
        assert_eq!(
            bob.find("#search-q")
                .await
                .prop("value")
                .await
                .unwrap()
                .as_deref(),
            Some("ab")
        );
        let violations = bob.axe_violations().await;
        assert!(
            violations.is_empty(),
            "axe found on a refusal: {violations:#?}"
        );
        let problems = bob.console_problems().await;
        assert!(
            problems.len() == 1
                && problems[0].contains("/search?q=ab")
                && problems[0].contains("400"),
            "the refusal answers 400, and nothing else went wrong: {problems:#?}"
        );
    });
}
