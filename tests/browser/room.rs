//! The room page as people read and use it: groups and days in the log, times in the reader's
//! locale, a phone's shrinking window, the empty state, focus, the delete-room question, and a
//! presence line that stays still while nothing changes.

use std::time::Duration;

use chatroom::db::schema::log_entries;
use diesel::prelude::*;
use serde_json::{Value, json};

use super::driver::{Browser, Chrome, Viewport, scenario};
use super::helpers::{PASSWORD, TestApp};
use super::{assert_console_clean, newcomer};

/// Opens the "⋯" menu and presses Delete room, which asks first.
async fn ask_to_delete(browser: &Browser) {
    browser.click("#more > summary").await;
    browser.click("#delete").await;
    browser
        .wait_until("the delete question", || async {
            browser
                .script("return document.getElementById('delete-dialog').open")
                .await
                == json!(true)
        })
        .await;
}

/// Deletes the room the browser is in, through the menu and the question.
pub async fn delete_room_confirmed(browser: &Browser) {
    ask_to_delete(browser).await;
    browser.click("#delete-confirm").await;
}

/// A phone (375 × 740) for someone registered already, logged in.
async fn phone(chrome: &Chrome, app: &TestApp, name: &str) -> Browser {
    let browser = chrome.person(&app.address, name, Viewport::Phone).await;
    browser.log_in(name, PASSWORD).await;
    browser
}

/// Whether the log's last message is wholly inside the log's visible box.
async fn last_message_in_view(browser: &Browser) -> bool {
    browser
        .script(
            "const log = document.getElementById('log').getBoundingClientRect();
             const all = document.querySelectorAll('#log .message');
             const last = all[all.length - 1].getBoundingClientRect();
             return last.bottom <= log.bottom + 1 && last.top >= log.top - 1
                 && log.bottom <= window.innerHeight + 1;",
        )
        .await
        == json!(true)
}

#[test]
fn the_log_groups_messages_by_author_marks_days_and_writes_times_as_the_reader_does() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Kitchen").await;
        alice
            .wait_until("the focus in the message box on entering", || async {
                alice
                    .script("return document.activeElement && document.activeElement.id")
                    .await
                    == json!("text")
            })
            .await;
        assert_eq!(
            alice
                .script(
                    "const log = document.getElementById('log');
                     return [log.tagName, log.getAttribute('role'), log.getAttribute('aria-label'),
                             log.querySelector('ol') !== null,
                             getComputedStyle(document.getElementById('empty-log')).display];"
                )
                .await,
            json!(["DIV", "log", "Messages", true, "block"]),
            "the log region holds a list, and says it is empty (a join line is no message)"
        );

        // Yesterday, bob came in and said something (stored, then dated back a day).
        let mut bob = app.user("bob").await;
        bob.enter(room as i32).await;
        let old = bob.say(room as i32, "news from yesterday").await["id"]
            .as_i64()
            .unwrap();
        let yesterday = chrono::Utc::now().naive_utc() - chrono::Duration::days(1);
        diesel::update(
            log_entries::table
                .filter(log_entries::room_id.eq(room as i32))
                .filter(log_entries::seq.le(old as i32)),
        )
        .set(log_entries::sent_at.eq(yesterday))
        .execute(&mut app.db())
        .unwrap();

        alice.client.refresh().await.unwrap();
        alice.find("#log").await;
        for text in ["one", "two", "three"] {
            alice.say(text).await;
        }
        alice.wait_for_message("three").await;
        alice
            .wait_until("the empty state to go", || async {
                alice
                    .script("return document.getElementById('empty-log').hidden")
                    .await
                    == json!(true)
            })
            .await;
        let groups = |browser: &Browser| {
            let browser = browser.client.clone();
            async move {
                browser
                    .execute(
                        "return Array.from(document.querySelectorAll('#log .message'), li =>
                           [li.querySelector('.text').textContent, li.classList.contains('continued')]);",
                        vec![],
                    )
                    .await
                    .unwrap()
            }
        };
        let live = groups(&alice).await;
        assert_eq!(
            live,
            json!([
                ["news from yesterday", false],
                ["one", false],
                ["two", true],
                ["three", true]
            ]),
            "three quick messages by one author are one group, live"
        );

        alice.client.refresh().await.unwrap();
        alice.wait_for_message("three").await;
        assert_eq!(groups(&alice).await, live, "the first render groups alike");
        alice.screenshot("room-groups-desktop").await;
        let shown = alice
            .script(
                "return Array.from(document.querySelectorAll('#log .message'), li =>
                   getComputedStyle(li.querySelector('.author')).width !== '1px');",
            )
            .await;
        assert_eq!(
            shown,
            json!([true, true, false, false]),
            "one name per group"
        );
        let days = alice
            .script(
                "return Array.from(document.querySelectorAll('#log li.day'), li => li.textContent);",
            )
            .await;
        assert_eq!(
            days,
            json!(["Yesterday", "Today"]),
            "a separator starts each day"
        );
        let times = alice
            .script(
                "return Array.from(document.querySelectorAll('#log time'), t => {
                   const at = new Date(t.getAttribute('datetime'));
                   return [t.textContent,
                           at.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' }),
                           t.title.includes(String(at.getFullYear()))];
                 });",
            )
            .await;
        for time in times.as_array().unwrap() {
            assert_eq!(time[0], time[1], "the reader's locale: {time}");
            assert_eq!(time[2], json!(true), "the full date on hover: {time}");
            let text = time[0].as_str().unwrap();
            assert!(!text.starts_with('0'), "no leading zero: {text}");
        }

        // Someone else's message starts a new group; a join line breaks one.
        bob.say(room as i32, "hello from bob").await;
        alice.wait_for_message("hello from bob").await;
        alice.say("four").await;
        alice.wait_for_message("four").await;
        let tail: Vec<Value> = groups(&alice).await.as_array().unwrap()[4..].to_vec();
        assert_eq!(
            tail,
            vec![json!(["hello from bob", false]), json!(["four", false])]
        );
        let mut carol = app.user("carol").await;
        carol.enter(room as i32).await;
        alice
            .wait_until("carol's join line", || async {
                alice.text("#log").await.contains("carol joined")
            })
            .await;
        alice.say("five").await;
        alice.wait_for_message("five").await;
        assert_eq!(
            groups(&alice).await.as_array().unwrap().last(),
            Some(&json!(["five", false])),
            "a join line breaks a group"
        );

        // Actions: hidden until the message is hovered or focused; one tab stop for the log.
        let actions = alice
            .script(
                "const all = document.querySelectorAll('#log li[data-id]');
                 const stops = document.querySelectorAll('#log [tabindex=\"0\"]').length;
                 const last = all[all.length - 1];
                 const before = getComputedStyle(last.querySelector('.actions')).visibility;
                 last.focus();
                 const focused = getComputedStyle(last.querySelector('.actions')).visibility;
                 return [stops, before, focused];",
            )
            .await;
        assert_eq!(actions, json!([1, "hidden", "visible"]));
        let up: char = fantoccini::key::Key::Up.into();
        alice
            .client
            .active_element()
            .await
            .unwrap()
            .send_keys(&up.to_string())
            .await
            .unwrap();
        let moved = alice
            .script(
                "const a = document.activeElement;
                 return [a.dataset.id === undefined ? null : a.querySelector('.text')?.textContent ?? a.dataset.kind,
                         document.querySelectorAll('#log [tabindex=\"0\"]').length];",
            )
            .await;
        assert_eq!(moved, json!(["joined", 1]), "Up moves the one tab stop");
        assert_console_clean(&[&alice]).await;
    });
}

#[test]
fn on_a_phone_the_last_message_stays_in_view_when_the_window_shrinks_and_your_own_always_shows() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Bus stop").await;
        let mut carol = app.user("carol").await;
        carol.enter(room as i32).await;
        for i in 0..30 {
            carol.say(room as i32, &format!("line {i}")).await;
        }
        app.user("bob").await;
        let bob = phone(&chrome, &app, "bob").await;
        bob.enter(room).await;
        bob.wait_for_message("line 29").await;
        assert!(
            last_message_in_view(&bob).await,
            "at the bottom on entering"
        );

        // The narrowest phones: nothing overflows sideways.
        bob.set_window_size(320, 640).await;
        bob.wait_until("the window to narrow", || async {
            bob.script("return window.innerWidth").await == json!(320)
        })
        .await;
        assert_eq!(
            bob.script("return document.documentElement.scrollWidth")
                .await,
            json!(320),
            "nothing overflows sideways at 320 px"
        );
        bob.screenshot("room-phone-320").await;
        bob.set_window_size(375, 740).await;

        // The keyboard opens: the window is 400 px tall; then a message arrives.
        bob.set_window_size(375, 400).await;
        bob.wait_until("the window to shrink", || async {
            bob.script("return window.innerHeight").await == json!(400)
        })
        .await;
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        carol.say(room as i32, "are you there?").await;
        bob.wait_for_message("are you there?").await;
        bob.wait_until("the new message in view", || async {
            last_message_in_view(&bob).await
        })
        .await;
        bob.screenshot("room-phone-keyboard").await;

        // Scrolled up to read, bob sends: his own message comes into view.
        bob.script("document.getElementById('log').scrollTop = 0; return null")
            .await;
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        assert!(!last_message_in_view(&bob).await, "scrolled up");
        carol.say(room as i32, "while you read").await;
        bob.wait_for_message("while you read").await;
        assert!(
            !last_message_in_view(&bob).await,
            "others' messages do not pull a reader who scrolled up"
        );
        bob.say("on my way").await;
        bob.wait_for_message("on my way").await;
        bob.wait_until("his own message in view", || async {
            last_message_in_view(&bob).await
        })
        .await;
        assert_console_clean(&[&bob]).await;
    });
}

#[test]
fn presence_stays_still_while_nothing_changes_and_deleting_the_room_asks_first() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Kitchen").await;
        alice.say("first").await;
        alice.say("second").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        bob.enter(room).await;

        alice
            .wait_until("bob present", || async {
                alice.exists("#presence .direct[data-user='bob']").await
            })
            .await;
        let button = alice
            .script(
                "const b = document.querySelector(\"#presence .direct[data-user='bob']\");
                 return [b.textContent, b.getAttribute('aria-label'),
                         document.getElementById('presence').hasAttribute('aria-live')];",
            )
            .await;
        assert_eq!(
            button,
            json!(["Message bob", null, false]),
            "named \"Message bob\"; presence is no live region"
        );
        alice
            .script(
                "window.presenceChanges = 0;
                 const seen = () => { window.presenceChanges++; };
                 for (const id of ['presence', 'typing']) {
                   new MutationObserver(seen).observe(document.getElementById(id),
                     { childList: true, subtree: true, characterData: true, attributes: true });
                 }
                 return null;",
            )
            .await;
        actix_web::rt::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(
            alice.script("return window.presenceChanges").await,
            json!(0),
            "four seconds of polls with nothing new touch neither line"
        );

        // The message box grows with its text, and counts once the limit is near.
        let composer = alice
            .script(
                "const t = document.getElementById('text');
                 const count = document.getElementById('char-count');
                 const before = [t.offsetHeight, count.hidden];
                 t.value = 'line\\n'.repeat(3);
                 t.dispatchEvent(new Event('input'));
                 const grown = t.offsetHeight;
                 t.value = 'x'.repeat(1980);
                 t.dispatchEvent(new Event('input'));
                 const near = [count.hidden, count.textContent];
                 t.value = '';
                 t.dispatchEvent(new Event('input'));
                 return [grown > before[0], before[1], near, count.hidden];",
            )
            .await;
        assert_eq!(
            composer,
            json!([true, true, [false, "1,980 / 2,000"], true]),
            "grows, and shows the count near 2,000"
        );

        // Delete room: in the "⋯" menu, and asked first, naming the room and its messages.
        assert!(!bob.exists("#more").await, "only the creator has the menu");
        ask_to_delete(&alice).await;
        let asked = alice
            .script(
                "return [document.getElementById('delete-question').textContent,
                         document.activeElement.id];",
            )
            .await;
        assert_eq!(
            asked,
            json!([
                "Delete “Kitchen” and its 2 messages for everyone? This cannot be undone.",
                "delete-cancel"
            ]),
            "Cancel is the default"
        );
        alice.screenshot("room-delete-dialog").await;
        alice.click("#delete-cancel").await;
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            alice.path().await,
            format!("/rooms/{room}"),
            "Cancel keeps it"
        );
        alice.say("still here").await;
        bob.wait_for_message("still here").await;

        delete_room_confirmed(&alice).await;
        alice.wait_for_path("/lobby").await;
        // The lobby names the room once and cleans its address.
        bob.wait_for_path("/lobby").await;
        assert!(bob.text("#notice").await.contains("was deleted"));
        // bob's console holds the poll's 410, which is how he learnt it.
        assert_console_clean(&[&alice]).await;
    });
}

#[test]
fn older_messages_loaded_above_join_the_groups_and_days_as_if_they_had_been_there() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Long talk").await;
        let mut carol = app.user("carol").await;
        carol.enter(room as i32).await;
        for i in 0..220 {
            carol.say(room as i32, &format!("line {i}")).await;
        }
        // bob comes in afterwards: no "New messages" line breaks carol's group.
        let bob = newcomer(&chrome, &app, "bob").await;
        bob.enter(room).await;
        bob.wait_for_message("line 219").await;
        let arranged = |browser: &Browser| {
            let browser = browser.client.clone();
            async move {
                browser
                    .execute(
                        "return [document.querySelectorAll('#log li.day').length,
                                 Array.from(document.querySelectorAll('#log .message'))
                                   .filter(li => !li.classList.contains('continued'))
                                   .map(li => li.querySelector('.text').textContent)];",
                        vec![],
                    )
                    .await
                    .unwrap()
            }
        };
        let first = arranged(&bob).await;
        assert_eq!(first[0], json!(1), "one day: {first}");
        assert_eq!(
            first[1].as_array().map(Vec::len),
            Some(1),
            "one group: {first}"
        );
        bob.click("#load-older").await;
        bob.wait_for_message("line 0").await;
        assert_eq!(
            arranged(&bob).await,
            json!([1, ["line 0"]]),
            "one day and one group for carol, older page included"
        );
        assert_console_clean(&[&bob]).await;
    });
}
