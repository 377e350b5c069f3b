//! Messages that live, as two people see them: one edits, reacts and replies, the other sees
//! each change in place within two seconds; Markdown renders and hostile text stays text; the
//! room with reactions and a reply passes axe.

use std::time::Duration;

use fantoccini::key::Key;
use serde_json::{Value, json};

use super::driver::{Browser, Scheme};
use super::{assert_console_clean, newcomer, scenario};

/// How soon the other person must see a change (the poll runs every second).
const SOON: Duration = Duration::from_secs(2);

/// A message line as the page shows it: its text, "(edited)", its reactions as
/// [emoji, count, pressed, who], and the quote above it.
async fn line(browser: &Browser, id: i64) -> Value {
    browser
        .client
        .execute(
            "const li = document.querySelector(`#log li.message[data-id=\"${arguments[0]}\"]`);
             if (!li) return null;
             const quote = li.querySelector('.reply-quote');
             return {
               text: li.querySelector('.text').textContent,
               edited: li.querySelector('.edited') !== null,
               reactions: Array.from(li.querySelectorAll('.reaction'), (b) => [
                 b.dataset.emoji, b.querySelector('.count').textContent,
                 b.getAttribute('aria-pressed'), b.title]),
               quote: quote && { to: Number(quote.dataset.replyTo),
                                 text: quote.textContent.replace('Reply to ', '') },
               position: Array.from(document.querySelectorAll('#log li.message')).indexOf(li),
             };",
            vec![json!(id)],
        )
        .await
        .expect("a script")
}

/// Waits at most SOON for `check` to hold of message `id` on `browser`'s page.
async fn soon(browser: &Browser, id: i64, what: &str, check: impl Fn(&Value) -> bool) {
    super::wait::wait_until(SOON, what, || async { check(&line(browser, id).await) }).await;
}

/// The number of the last message whose text is `text`, once it shows.
async fn id_of(browser: &Browser, text: &str) -> i64 {
    browser.wait_for_message(text).await;
    let log = browser.log().await;
    log.iter().rev().find(|l| l.text == text).expect("shown").id
}

fn key(key: Key) -> String {
    char::from(key).to_string()
}

/// Presses keys where the focus is.
async fn press(browser: &Browser, keys: &str) {
    let focused = browser.client.active_element().await.expect("a focus");
    focused.send_keys(keys).await.expect("typing");
}

async fn focused_is(browser: &Browser, css: &str) -> bool {
    browser
        .script(&format!(
            "return document.activeElement !== null && document.activeElement.matches({css:?})"
        ))
        .await
        == json!(true)
}

async fn box_holds(browser: &Browser) -> String {
    let value = browser
        .script("return document.getElementById('text').value")
        .await;
    value.as_str().expect("text").to_owned()
}

/// Shows a message's actions (they show for the line under the pointer or in focus).
async fn action(browser: &Browser, id: i64, button: &str) {
    browser
        .click(&format!("#log li[data-id='{id}'] .text"))
        .await;
    browser
        .click(&format!("#log li[data-id='{id}'] .actions .{button}"))
        .await;
}

#[test]
fn one_person_edits_reacts_and_replies_and_the_other_sees_each_within_two_seconds() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Tea House").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        bob.enter(room).await;

        alice.say("Hello tea drinkers").await;
        let first = id_of(&bob, "Hello tea drinkers").await;
        bob.say("Who brings the scones?").await;
        let question = id_of(&alice, "Who brings the scones?").await;

        // Edit: Up in the empty box takes alice's last message; Enter saves it in place.
        alice
            .find("#text")
            .await
            .send_keys(&key(Key::Up))
            .await
            .unwrap();
        assert_eq!(box_holds(&alice).await, "Hello tea drinkers");
        alice.fill("#text", "Hello, *tea* drinkers!").await;
        press(&alice, &key(Key::Enter)).await;
        alice
            .wait_until("the box to be empty again after saving", || async {
                box_holds(&alice).await.is_empty()
            })
            .await;
        soon(&bob, first, "bob sees the edit in place", |l| {
            l["text"] == "Hello, tea drinkers!" && l["edited"] == true && l["position"] == 0
        })
        .await;
        assert_eq!(
            bob.script(&format!(
                "return document.querySelector(\"#log li[data-id='{first}'] .text em\").textContent"
            ))
            .await,
            "tea",
            "the edit's Markdown renders"
        );

        // Fixing a message is not writing a new one: the polls while alice edits do not say
        // that she is typing.
        action(&alice, first, "edit-message").await;
        alice.script("performance.clearResourceTimings()").await;
        alice.fill("#text", "Hello, *tea* drinkers! And more").await;
        let polls = "return performance.getEntriesByType('resource')\
            .map(e => e.name).filter(n => n.includes('/messages?after='))";
        alice
            .wait_until("two polls while alice edits", || async {
                alice.script(polls).await.as_array().map_or(0, Vec::len) >= 2
            })
            .await;
        let sent = alice.script(polls).await;
        assert!(
            !sent.to_string().contains("typing=1"),
            "a poll said alice was typing while she edited: {sent}"
        );
        press(&alice, &key(Key::Escape)).await;
        assert_eq!(box_holds(&alice).await, "");

        // Escape cancels an edit and puts back what the box held.
        alice.fill("#text", "a draft").await;
        action(&alice, first, "edit-message").await;
        assert_eq!(box_holds(&alice).await, "Hello, *tea* drinkers!");
        alice
            .find("#text")
            .await
            .send_keys(&key(Key::Escape))
            .await
            .unwrap();
        assert_eq!(box_holds(&alice).await, "a draft");
        alice.fill("#text", "").await;

        // Reactions: the picker by keyboard (Right, then Enter picks ❤️).
        action(&alice, question, "react-message").await;
        alice
            .wait_until("the picker to take the focus", || async {
                focused_is(&alice, ".reaction-picker .pick").await
            })
            .await;
        press(&alice, &(key(Key::Right) + &key(Key::Enter))).await;
        soon(&bob, question, "bob sees alice's ❤️", |l| {
            l["reactions"] == json!([["❤️", "1", "false", "alice"]])
        })
        .await;
        assert!(!alice.exists(".reaction-picker").await, "picking closes it");
        // Escape closes the picker and gives the focus back to its button.
        action(&alice, question, "react-message").await;
        alice.find(".reaction-picker").await;
        press(&alice, &key(Key::Escape)).await;
        assert!(!alice.exists(".reaction-picker").await);
        assert!(focused_is(&alice, ".react-message").await);
        // And by pointer: 👍.
        action(&alice, question, "react-message").await;
        alice.click(".reaction-picker .pick[data-emoji='👍']").await;
        soon(&bob, question, "bob sees alice's 👍", |l| {
            l["reactions"] == json!([["❤️", "1", "false", "alice"], ["👍", "1", "false", "alice"]])
        })
        .await;
        // Bob's click on 👍 adds his; it shows pressed for him and counted for alice.
        bob.click(&format!(
            "#log li[data-id='{question}'] .reaction[data-emoji='👍']"
        ))
        .await;
        soon(&alice, question, "alice sees bob's 👍", |l| {
            l["reactions"][1] == json!(["👍", "2", "true", "alice, bob"])
        })
        .await;
        assert_eq!(
            line(&bob, question).await["reactions"][1],
            json!(["👍", "2", "true", "alice, bob"])
        );
        // Alice's second click on 👍 takes hers back.
        alice
            .click(&format!(
                "#log li[data-id='{question}'] .reaction[data-emoji='👍']"
            ))
            .await;
        soon(&bob, question, "bob sees alice's 👍 taken back", |l| {
            l["reactions"] == json!([["❤️", "1", "false", "alice"], ["👍", "1", "true", "bob"]])
        })
        .await;

        // Reply: the composer says to whom; the reply quotes the question.
        action(&alice, question, "reply-message").await;
        assert!(
            alice
                .text("#replying")
                .await
                .contains("Replying to bob: Who brings the scones?")
        );
        alice.say("I will").await;
        assert!(
            !alice.exists("#replying:not([hidden])").await,
            "sent: the reply line goes"
        );
        let reply = id_of(&bob, "I will").await;
        soon(&bob, reply, "bob sees the reply with its quote", |l| {
            l["quote"] == json!({ "to": question, "text": "bob Who brings the scones?" })
        })
        .await;
        // The quote leads to the message it answers, and highlights it.
        bob.click(&format!("#log li[data-id='{reply}'] .reply-quote"))
            .await;
        bob.wait_until("the question to be found", || async {
            focused_is(&bob, &format!("li[data-id='{question}'].found")).await
        })
        .await;

        // The room with reactions and a reply passes axe (the picker open, too).
        let found = bob.axe_violations().await;
        assert!(found.is_empty(), "axe found: {found:#?}");
        action(&bob, question, "react-message").await;
        bob.find(".reaction-picker").await;
        let found = bob.axe_violations().await;
        assert!(
            found.is_empty(),
            "axe found with the picker open: {found:#?}"
        );
        press(&bob, &key(Key::Escape)).await;

        // The first render shows the same: the edit, the reactions, the quote.
        let live = (
            line(&bob, first).await,
            line(&bob, question).await,
            line(&bob, reply).await,
        );
        bob.client.refresh().await.unwrap();
        bob.wait_for_message("I will").await;
        let rendered = (
            line(&bob, first).await,
            line(&bob, question).await,
            line(&bob, reply).await,
        );
        assert_eq!(
            rendered, live,
            "the first render shows what the live page showed"
        );
        // For looking at: the room with an edit, reactions and a reply, on a desktop and a
        // phone, light and dark (target/screenshots/messages-*.png).
        for (size, width, height) in [("desktop", 1280, 800), ("phone", 375, 740)] {
            bob.set_window_size(width, height).await;
            for (scheme, value) in [("light", Scheme::Light), ("dark", Scheme::Dark)] {
                bob.set_scheme(value).await;
                bob.screenshot(&format!("messages-{size}-{scheme}")).await;
            }
        }
        bob.set_scheme(Scheme::Light).await;
        bob.set_window_size(1280, 900).await;

        // The question deleted (alice created the room): the quote says so, live and rendered.
        alice.script("window.confirm = () => true").await;
        action(&alice, question, "delete-message").await;
        soon(
            &bob,
            reply,
            "bob's quote to say the original was deleted",
            |l| l["quote"]["text"] == "bob deleted message",
        )
        .await;
        bob.client.refresh().await.unwrap();
        bob.wait_for_message("I will").await;
        assert_eq!(
            line(&bob, reply).await["quote"]["text"],
            "bob deleted message"
        );

        assert_console_clean(&[&alice, &bob]).await;
    });
}

#[test]
fn hostile_messages_show_as_text_and_markdown_renders_as_formatting() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Workshop").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        bob.enter(room).await;
        // An alert would mean a script ran; here it only leaves a mark.
        bob.script("window.alert = () => { window.alerted = true; }")
            .await;

        let hostile = [
            "<script>alert(1)</script>",
            "[x](javascript:alert(1))",
            "<img src=x onerror=alert(1)>",
        ];
        for text in hostile {
            alice.say(text).await;
        }
        alice
            .say("**bold** and `code` at https://example.com/tea")
            .await;
        bob.wait_for_log_len(4).await;

        for rendering in ["live", "first render"] {
            let log = bob.log().await;
            let texts: Vec<&str> = log.iter().map(|l| l.text.as_str()).collect();
            assert_eq!(
                texts,
                [
                    "<script>alert(1)</script>",
                    "x",
                    "<img src=x onerror=alert(1)>",
                    "bold and code at https://example.com/tea",
                ],
                "{rendering}: the text shows as typed (a refused link keeps its words)"
            );
            let dom = bob
                .script(
                    "const log = document.getElementById('log');
                     const link = log.querySelector('.text a');
                     return {
                       scripts: log.querySelectorAll('script').length,
                       images: log.querySelectorAll('img').length,
                       handlers: Array.from(log.querySelectorAll('.text *')).filter((e) =>
                         Array.from(e.attributes).some((a) => a.name.startsWith('on'))).length,
                       unsafe_links: Array.from(log.querySelectorAll('a')).filter((a) =>
                         !/^(https?|mailto):$/.test(new URL(a.href, location).protocol)).length,
                       strong: log.querySelector('.text strong')?.textContent,
                       code: log.querySelector('.text code')?.textContent,
                       link: link && [link.getAttribute('href'), link.target, link.rel],
                       alerted: window.alerted === true,
                     };",
                )
                .await;
            assert_eq!(
                dom,
                json!({
                    "scripts": 0, "images": 0, "handlers": 0, "unsafe_links": 0,
                    "strong": "bold", "code": "code",
                    "link": ["https://example.com/tea", "_blank", "nofollow noopener noreferrer ugc"],
                    "alerted": false,
                }),
                "{rendering}"
            );
            bob.client.refresh().await.unwrap();
            bob.wait_for_log_len(4).await;
            bob.script("window.alert = () => { window.alerted = true; }")
                .await;
        }
        assert_console_clean(&[&alice, &bob]).await;
    });
}

#[test]
fn a_quote_whose_message_is_pages_back_loads_older_pages_until_it_shows() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Long talk").await;
        let mut carol = app.user("carol").await;
        carol.enter(room as i32).await;
        let original = carol.say(room as i32, "the very first question").await;
        let original = original["id"].as_i64().expect("an id");
        // More than the first render (200) and one older page (100) hold.
        for i in 0..320 {
            carol.say(room as i32, &format!("line {i}")).await;
        }
        let path = format!("/api/rooms/{room}/messages");
        let body = json!({ "text": "an answer at last", "reply_to": original });
        let answer = carol.post_json(&path, &body).await;
        assert_eq!(answer.status(), 201);

        alice.goto(&format!("/rooms/{room}")).await;
        let reply = id_of(&alice, "an answer at last").await;
        assert_eq!(
            line(&alice, original).await,
            Value::Null,
            "not on the page yet"
        );
        alice
            .click(&format!("#log li[data-id='{reply}'] .reply-quote"))
            .await;
        alice
            .wait_until("the original to be loaded, shown and focused", || async {
                focused_is(&alice, &format!("li[data-id='{original}']")).await
            })
            .await;
        let in_view = alice
            .script(&format!(
                "const log = document.getElementById('log').getBoundingClientRect();
                 const li = document.querySelector(\"#log li[data-id='{original}']\")
                   .getBoundingClientRect();
                 return li.top >= log.top && li.bottom <= log.bottom;"
            ))
            .await;
        assert_eq!(in_view, json!(true), "the original is in view");
        assert_console_clean(&[&alice]).await;
    });
}
