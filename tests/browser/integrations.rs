//! Integrations on the pages (issue 31): a bot's message carries a BOT tag beside its name,
//! the same whether the poller added it or the server drew it; the account page makes a token,
//! shows it once, lists it and revokes it; axe finds nothing on either page at both sizes, in
//! light and dark.

use serde_json::{Value, json};

use super::driver::{Browser, Scheme};
use super::helpers::{Person, TestApp};
use super::{assert_console_clean, newcomer};

/// The head of the last message whose text is `text`, as a comparable shape: each element's
/// tag, its attributes sorted, and its children (the time as just "time": the server writes
/// it in UTC until the page's script shows it in the reader's zone), with what the tests read.
const HEAD_OF: &str = "
    const shape = (node) => {
      if (node.nodeType === 3) return node.textContent;
      if (node.tagName === 'TIME') return 'time';
      const attrs = Array.from(node.attributes, (a) => a.name + '=' + a.value).sort();
      return [node.tagName.toLowerCase(), attrs, Array.from(node.childNodes, shape)];
    };
    const li = Array.from(document.querySelectorAll('#log li.message'))
      .filter((m) => m.querySelector('.text').textContent === arguments[0]).pop();
    if (!li) return null;
    const head = li.querySelector('.head');
    const tag = head.querySelector('.bot-tag');
    // What a screen reader reads of the name and its tag: all but what is aria-hidden.
    const spoken = (node) => node.nodeType === 3 ? node.textContent
      : node.getAttribute('aria-hidden') === 'true' || node.tagName === 'TIME' ? ''
      : Array.from(node.childNodes, spoken).join('');
    return {
      shape: JSON.stringify(shape(head)),
      author: head.querySelector('.author').textContent,
      tag: tag ? tag.querySelector('[aria-hidden=true]').innerText : null,
      visible: tag ? tag.getBoundingClientRect().width > 1 : false,
      spoken: spoken(head).trim(),
    };";

async fn head_of(browser: &Browser, text: &str) -> Value {
    browser
        .wait_until(&format!("the message {text:?}"), || async {
            !browser
                .client
                .execute(HEAD_OF, vec![json!(text)])
                .await
                .unwrap()
                .is_null()
        })
        .await;
    browser
        .client
        .execute(HEAD_OF, vec![json!(text)])
        .await
        .unwrap()
}

/// A user the server takes for a bot (as `chatroom bots create` would make one), logged in
/// through the API, inside `room`.
async fn bot_in(app: &TestApp, name: &str, room: i64) -> Person {
    use diesel::RunQueryDsl;
    let mut bot = app.user(name).await;
    diesel::sql_query(format!(
        "UPDATE users SET is_bot = TRUE WHERE username = '{name}'"
    ))
    .execute(&mut app.db())
    .unwrap();
    bot.enter(i32::try_from(room).unwrap()).await;
    bot
}

#[test]
fn a_bots_message_shows_a_bot_tag_beside_its_name_live_and_after_a_reload_in_the_same_markup() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Builds").await;
        alice.say("Is the build green?").await;
        let mut bot = bot_in(&app, "buildbot", room).await;
        bot.say(i32::try_from(room).unwrap(), "Build 42 is green")
            .await;

        let live = head_of(&alice, "Build 42 is green").await;
        assert_eq!(live["author"], "buildbot");
        assert_eq!(live["tag"], "BOT", "{live}");
        assert_eq!(live["visible"], true);
        assert_eq!(live["spoken"], "buildbot (bot)", "read once, as a word");
        let person = head_of(&alice, "Is the build green?").await;
        assert_eq!(person["tag"], Value::Null, "a person's name has none");

        // Its next message continues its group: name and tag are then for screen readers only.
        bot.say(i32::try_from(room).unwrap(), "Build 43 is green")
            .await;
        let next = head_of(&alice, "Build 43 is green").await;
        assert_eq!(next["spoken"], "buildbot (bot)");
        assert_eq!(next["visible"], false, "{next}");

        alice.client.refresh().await.unwrap();
        let drawn = head_of(&alice, "Build 42 is green").await;
        assert_eq!(
            drawn["shape"], live["shape"],
            "the server draws what the poller drew"
        );
        assert_eq!(drawn["tag"], "BOT");
        assert_eq!(head_of(&alice, "Is the build green?").await, person);
        alice.screenshot("integrations-room-bot").await;

        // The search results name it a bot too.
        alice.goto("/search?q=green").await;
        alice.find("#results").await;
        let tagged = alice
            .script(
                "return Array.from(document.querySelectorAll('#results .result'), (r) =>
                   [r.querySelector('.author').textContent, Boolean(r.querySelector('.bot-tag'))]);",
            )
            .await;
        assert_eq!(
            tagged,
            json!([["buildbot", true], ["buildbot", true], ["alice", false]])
        );
        alice.screenshot("integrations-search-bot").await;
        assert_console_clean(&[&alice]).await;
    });
}

/// Makes a token named `name` on the account page; the secret it shows.
async fn make_token(browser: &Browser, name: &str) -> String {
    browser.goto("/account").await;
    browser.fill("#token-name", name).await;
    browser.click("#make-token").await;
    browser.find("#new-token-secret").await;
    browser
        .script("return document.getElementById('new-token-secret').value")
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_account_page_makes_a_token_shows_it_once_lists_it_and_revokes_it() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        alice.goto("/account").await;
        assert!(alice.exists("#no-tokens").await);

        let secret = make_token(&alice, "Build notices").await;
        assert!(secret.starts_with("chat_"), "{secret}");
        assert_eq!(alice.path().await, "/account/tokens");
        let shown = alice.text("#new-token").await;
        assert!(shown.contains("Your new token “Build notices”"), "{shown}");
        assert!(shown.contains("it will not be shown again"), "{shown}");
        let field = alice
            .script(
                "const f = document.getElementById('new-token-secret');
                 return [f.readOnly, f.labels.length, f.labels[0].textContent];",
            )
            .await;
        assert_eq!(field, json!([true, 1, "Your new token “Build notices”"]));
        let in_view = alice
            .script(
                "const f = document.getElementById('new-token-secret');
                 const r = f.getBoundingClientRect();
                 return [document.activeElement === f, r.top >= 0 && r.bottom <= window.innerHeight];",
            )
            .await;
        assert_eq!(
            in_view,
            json!([true, true]),
            "the page opens at the new token"
        );
        alice.screenshot("integrations-account-new-token").await;

        alice.goto("/account").await;
        assert!(!alice.exists("#new-token").await, "shown once");
        let source = alice
            .script("return document.documentElement.outerHTML")
            .await;
        assert!(!source.as_str().unwrap().contains(&secret));
        let row = alice.text("#tokens tr.token").await;
        assert!(
            row.contains("Build notices") && row.contains("never"),
            "{row}"
        );

        alice.click("#tokens tr.token button[type=submit]").await;
        alice.click("#confirm-ok").await;
        alice.wait_for_path("/account?notice=revoked").await;
        assert!(alice.text("#notice").await.contains("revoked"));
        assert!(alice.exists("#no-tokens").await, "the list is empty again");

        assert_console_clean(&[&alice]).await;

        // A name the rules refuse comes back with why, and what was typed (its 400 is in
        // the console from here on).
        // (Past the field's own maxlength, as a script or an old browser might send it.)
        alice
            .script(
                "const f = document.getElementById('token-name');
                 f.removeAttribute('maxlength'); f.value = 'x'.repeat(65); return null;",
            )
            .await;
        alice.click("#make-token").await;
        assert!(alice.text("#token-error").await.contains("at most 64"));
        let kept = alice
            .script("return document.getElementById('token-name').value")
            .await;
        assert_eq!(kept, json!("x".repeat(65)));
    });
}

#[test]
fn axe_finds_nothing_on_the_account_page_with_a_token_nor_on_a_room_with_a_bot_message() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Builds").await;
        let mut bot = bot_in(&app, "buildbot", room).await;
        bot.say(i32::try_from(room).unwrap(), "Build 42 is green")
            .await;
        alice.say("Thanks, buildbot").await;
        let mut found = Vec::new();
        for (size, width, height) in [("desktop", 1280, 800), ("320", 320, 640)] {
            alice.set_window_size(width, height).await;
            for (scheme_name, scheme) in [("light", Scheme::Light), ("dark", Scheme::Dark)] {
                alice.set_scheme(scheme).await;
                make_token(&alice, &format!("Token {size} {scheme_name}")).await;
                let shot = format!("integrations-account-{size}-{scheme_name}");
                alice.screenshot(&shot).await;
                for violation in alice.axe_violations().await {
                    found.push(format!("{shot}: {violation}"));
                }

                alice.goto(&format!("/rooms/{room}")).await;
                head_of(&alice, "Build 42 is green").await;
                let shot = format!("integrations-room-{size}-{scheme_name}");
                alice.screenshot(&shot).await;
                for violation in alice.axe_violations().await {
                    found.push(format!("{shot}: {violation}"));
                }
                let fits = alice
                    .script(
                        "const d = document.documentElement; return d.scrollWidth <= d.clientWidth;",
                    )
                    .await;
                assert_eq!(fits, json!(true), "{shot}: nothing sideways");
            }
        }
        assert!(found.is_empty(), "axe found: {found:#?}");
        assert_console_clean(&[&alice]).await;
    });
}

#[test]
fn a_webhook_made_on_the_room_page_posts_under_its_name_with_the_bot_tag() {
    super::scenario(|app, chrome| async move {
        let carol = newcomer(&chrome, &app, "carol").await;
        let room = carol.create_room("Deploys").await;
        carol.click("#integrations summary").await;
        carol.fill("#hook-name", "CI").await;
        carol.click(".new-hook-form button[type=submit]").await;
        carol.find("#new-hook-url").await;
        let url = carol
            .script("return document.getElementById('new-hook-url').value;")
            .await;
        let url = url.as_str().expect("the URL is shown").to_owned();
        assert!(url.contains("/hooks/"), "{url}");
        assert!(carol.text(".webhooks").await.contains("CI"));

        let mut found = Vec::new();
        for (size, width, height) in [("desktop", 1280, 800), ("320", 320, 640)] {
            carol.set_window_size(width, height).await;
            for (scheme_name, scheme) in [("light", Scheme::Light), ("dark", Scheme::Dark)] {
                carol.set_scheme(scheme).await;
                let shot = format!("integrations-webhooks-{size}-{scheme_name}");
                carol.screenshot(&shot).await;
                for violation in carol.axe_violations().await {
                    found.push(format!("{shot}: {violation}"));
                }
            }
        }
        assert!(found.is_empty(), "axe found: {found:#?}");
        carol.set_window_size(1280, 800).await;

        let bob = newcomer(&chrome, &app, "bob").await;
        bob.enter(room).await;
        assert!(
            !bob.exists("#integrations").await,
            "only who may manage them sees the webhooks"
        );
        let res = reqwest::Client::new()
            .post(&url)
            .json(&json!({"text": "Deploy 7 is live"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        let live = head_of(&bob, "Deploy 7 is live").await;
        assert_eq!(live["author"], "CI");
        assert_eq!(live["tag"], "BOT", "{live}");
        assert_eq!(live["spoken"], "CI (bot)");
        bob.client.refresh().await.unwrap();
        let drawn = head_of(&bob, "Deploy 7 is live").await;
        assert_eq!(drawn["shape"], live["shape"]);
        bob.screenshot("integrations-room-webhook").await;
        assert_console_clean(&[&carol, &bob]).await;
    });
}
