//! End-to-end scenarios in headless Chromium: several people, each with their own browser,
//! against the real server. Run alone with `cargo test --test browser`.

// A test that finds None or Err where it expected a value should fail right there.
#![allow(clippy::unwrap_used)]

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod alerts;
#[path = "../support/database.rs"]
#[allow(dead_code)]
mod database;
mod driver;
mod files;
mod integrations;
mod messages;
mod outbox;
mod pages;
#[path = "../support/programs.rs"]
#[allow(dead_code)]
mod programs;
mod room;
mod search;
mod shell;
#[path = "../support/wait.rs"]
#[allow(dead_code)]
mod wait;

use driver::{Browser, Chrome, Viewport, scenario};
use helpers::{PASSWORD, TestApp};
use serde_json::json;

async fn person(chrome: &Chrome, app: &TestApp, name: &str) -> Browser {
    chrome.person(&app.address, name, Viewport::Desktop).await
}

/// A browser for a person who registered (and so is in the lobby).
async fn newcomer(chrome: &Chrome, app: &TestApp, name: &str) -> Browser {
    let browser = person(chrome, app, name).await;
    // The first on a new database registers with the setup link, as `TestApp::user` does.
    match app.take_setup_token() {
        Some(token) => {
            let link = format!("/register?setup={token}");
            browser.register_at(&link, name, PASSWORD).await;
        }
        None => browser.register(name, PASSWORD).await,
    }
    browser
}

async fn assert_console_clean(browsers: &[&Browser]) {
    for browser in browsers {
        let problems = browser.console_problems().await;
        assert!(problems.is_empty(), "console errors: {problems:#?}");
    }
}

#[test]
fn a_newcomer_creates_a_room_and_two_people_chat_in_it() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        assert!(alice.text("#no-rooms").await.contains("No chat rooms yet"));
        let room = alice.create_room("Tea House").await;
        assert_eq!(alice.text("#room-name").await, "Tea House");

        app.user("bob").await;
        let bob = person(&chrome, &app, "bob").await;
        bob.log_in("bob", PASSWORD).await;
        assert!(bob.text("#rooms").await.contains("Tea House"));
        // The room's name is a link; without shell.js it opens the room's Enter page.
        bob.click(&format!("li[data-room-id='{room}'] a.room-link"))
            .await;
        bob.wait_for_path(&format!("/rooms/{room}")).await;
        bob.enter(room).await;

        alice.say("Hello Bob!").await;
        bob.wait_for_message("Hello Bob!").await;
        bob.say("Hi Alice, good to see you.").await;
        alice.wait_for_message("Hi Alice, good to see you.").await;
        alice.say("Shall we start?").await;
        bob.wait_for_message("Shall we start?").await;

        let alice_log = alice.wait_for_log_len(3).await;
        let bob_log = bob.wait_for_log_len(3).await;
        assert_eq!(
            alice_log, bob_log,
            "both see the same messages in the same order"
        );
        let authors: Vec<&str> = alice_log.iter().map(|l| l.author.as_str()).collect();
        assert_eq!(authors, ["alice", "bob", "alice"]);

        alice.screenshot("room-desktop").await;
        alice.goto("/lobby").await;
        alice.find("#rooms").await;
        alice.screenshot("lobby-desktop").await;
        let phone = chrome
            .person(&app.address, "bob-phone", Viewport::Phone)
            .await;
        phone.log_in("bob", PASSWORD).await;
        phone.goto("/lobby").await;
        phone.find("#rooms").await;
        phone.screenshot("lobby-phone").await;
        phone.enter(room).await;
        phone.wait_for_log_len(3).await;
        phone.screenshot("room-phone").await;
        let layout = phone
            .client
            .execute(
                "const r = document.getElementById('send').getBoundingClientRect();
                 return [window.innerWidth, r.bottom <= window.innerHeight && r.top >= 0,
                         document.documentElement.scrollWidth <= window.innerWidth];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            layout,
            json!([375, true, true]),
            "on a 375 px phone the message box is on screen and nothing overflows sideways"
        );

        assert_console_clean(&[&alice, &bob, &phone]).await;
    });
}

#[test]
fn three_people_posting_in_quick_succession_see_identical_logs() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Busy").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        let carol = newcomer(&chrome, &app, "carol").await;
        for browser in [&bob, &carol] {
            browser.enter(room).await;
        }

        for round in 0..3 {
            for (name, browser) in [("alice", &alice), ("bob", &bob), ("carol", &carol)] {
                browser.say(&format!("{name} says {round}")).await;
            }
        }

        let logs = [
            alice.wait_for_log_len(9).await,
            bob.wait_for_log_len(9).await,
            carol.wait_for_log_len(9).await,
        ];
        assert_eq!(logs[0].len(), 9, "nothing missing or repeated");
        assert_eq!(logs[0], logs[1]);
        assert_eq!(logs[0], logs[2]);
        assert!(logs[0].windows(2).all(|w| w[0].id < w[1].id), "in id order");
        assert_console_clean(&[&alice, &bob, &carol]).await;
    });
}

#[test]
fn when_the_creator_deletes_the_room_the_person_inside_is_told_and_sent_to_the_lobby() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Short-lived").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        bob.enter(room).await;
        assert!(
            alice.exists("#delete").await,
            "the creator has a delete button"
        );
        assert!(!bob.exists("#delete").await, "nobody else has one");

        room::delete_room_confirmed(&alice).await;
        alice.wait_for_path("/lobby").await;

        bob.wait_until("the deletion notice", || async {
            let status = bob.text("#status").await;
            status.contains("This room was deleted")
        })
        .await;
        // Named, and in a clean URL: a reload does not bring it back.
        bob.wait_for_path("/lobby").await;
        assert_eq!(bob.text("#notice").await, "“Short-lived” was deleted.");
        bob.goto("/lobby").await;
        assert!(!bob.exists("#notice").await, "shown once");
        assert!(
            bob.exists("#no-rooms").await,
            "the room is gone from the lobby"
        );
        assert_console_clean(&[&alice]).await;
    });
}

#[test]
fn leaving_returns_to_the_lobby_and_logging_out_ends_the_session_for_good() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Porch").await;

        alice.click("#leave").await;
        alice.wait_for_path("/lobby").await;

        alice.click("#logout").await;
        alice.wait_for_path("/login").await;
        alice.client.back().await.unwrap();
        alice.wait_for_path("/login").await;

        alice.log_in("alice", PASSWORD).await;
        alice.wait_for_path("/lobby").await;
        alice.enter(room).await;
        // The browser's cookies as they were while logged in, which open the poll.
        let cookies = alice.client.get_all_cookies().await.unwrap();
        let cookies: Vec<String> = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        let cookies = cookies.join("; ");
        let poll = format!("/api/rooms/{room}/messages?after=0");
        let replayed = |path: String| {
            let cookies = cookies.clone();
            let url = format!("{}{path}", app.address);
            async move {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap()
                    .get(url)
                    .header("Cookie", cookies)
                    .send()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(replayed(poll.clone()).await.status(), 200, "logged in");

        alice.click("#logout").await;
        alice.wait_for_path("/login").await;
        alice.client.back().await.unwrap();
        alice.wait_for_path("/login").await;
        assert!(!alice.exists("#logout").await, "logged out");
        // Nor does a reload, or the room's address typed in, bring the session back.
        alice.client.refresh().await.unwrap();
        alice.wait_for_path("/login").await;
        alice.goto(&format!("/rooms/{room}")).await;
        alice.wait_for_path("/login").await;
        assert!(!alice.exists("#logout").await, "still logged out");
        // The old cookies, sent again by hand, open neither the room nor its poll.
        let page = replayed(format!("/rooms/{room}")).await;
        assert_eq!(
            page.status(),
            303,
            "the room page sends the old cookie away"
        );
        assert_eq!(helpers::location(&page), "/login");
        assert_eq!(replayed(poll).await.status(), 401, "the poll refuses it");
    });
}

#[test]
fn opening_another_room_in_a_second_tab_moves_the_person_out_of_the_first() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let first = alice.create_room("First").await;
        alice.goto("/lobby").await;
        let second = alice.create_room("Second").await;
        alice.enter(first).await;
        let first_tab = alice.client.window().await.unwrap();

        let tab = alice.client.new_window(true).await.unwrap();
        alice.client.switch_to_window(tab.handle).await.unwrap();
        alice.enter(second).await;
        alice.client.switch_to_window(first_tab).await.unwrap();

        alice
            .wait_until("the moved-out notice", || async {
                alice.path().await == "/lobby" && alice.exists("#notice").await
                    || alice.text("#status").await.contains("entered another one")
            })
            .await;
        alice.wait_for_path("/lobby").await;
        assert!(alice.text("#notice").await.contains("entered another one"));
    });
}

#[test]
fn hostile_text_in_a_room_name_and_a_message_shows_as_text_and_runs_nothing() {
    scenario(|app, chrome| async move {
        let hostile = "<img src=x onerror=\"window.pwned=1\">";
        let alice = newcomer(&chrome, &app, "alice").await;
        alice.create_room(hostile).await;
        alice.say(hostile).await;
        alice.wait_for_message(hostile).await;
        let bob = newcomer(&chrome, &app, "bob").await;
        assert!(bob.text("#rooms").await.contains(hostile));

        assert_eq!(alice.text("#room-name").await, hostile);
        alice.client.refresh().await.unwrap();
        alice.wait_for_message(hostile).await;
        let ran = alice
            .client
            .execute(
                "return [window.pwned === undefined, document.querySelectorAll('main img').length]",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(ran, json!([true, 0]), "no script ran and no image was made");
        assert_console_clean(&[&alice, &bob]).await;
    });
}

#[test]
fn people_see_who_is_here_who_is_typing_what_is_unread_and_can_talk_privately() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Lounge").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        let carol = newcomer(&chrome, &app, "carol").await;
        // Carol looks in once: from then on, what is new there is unread for her.
        carol.enter(room).await;
        carol.click("#leave").await;
        carol.wait_for_path("/lobby").await;
        bob.enter(room).await;

        bob.wait_until("alice and bob present", || async {
            bob.text("#presence").await.contains("alice")
                && bob.text("#presence").await.contains("bob")
        })
        .await;
        let joined = bob.text("#log").await;
        assert!(joined.contains("bob joined"), "a muted join line: {joined}");

        // Typing shows up for the others, and goes once the message arrives.
        alice
            .find("#text")
            .await
            .send_keys("Hello every")
            .await
            .unwrap();
        bob.wait_until("the typing line", || async {
            bob.text("#typing").await.contains("alice is typing")
        })
        .await;
        alice.say("Hello everyone").await;
        bob.wait_for_message("Hello everyone").await;
        bob.wait_until("the typing line to clear", || async {
            bob.text("#typing").await.is_empty()
        })
        .await;

        // Carol, in the lobby, sees the room is active and that she has a message to read.
        carol.goto("/lobby").await;
        carol
            .wait_until("an unread count of 1", || async {
                carol
                    .exists(&format!("#rooms li[data-room-id='{room}'] .unread"))
                    .await
                    && carol
                        .text(&format!("#rooms li[data-room-id='{room}'] .unread"))
                        .await
                        .split_whitespace()
                        .eq(["1", "unread"])
            })
            .await;
        assert!(carol.text("#active-rooms").await.contains("Lounge"));
        alice.say("Second news").await;
        carol
            .wait_until("the count to refresh without a reload", || async {
                carol
                    .text(&format!("#rooms li[data-room-id='{room}'] .unread"))
                    .await
                    .split_whitespace()
                    .eq(["2", "unread"])
            })
            .await;

        // The author deletes a message; the others see it vanish in place.
        alice
            .client
            .execute("window.confirm = () => true", vec![])
            .await
            .unwrap();
        // Actions show on the message under the pointer or in focus.
        alice.click(".message:last-child").await;
        let line = alice.find(".message:last-child .delete-message").await;
        line.click().await.unwrap();
        bob.wait_until("the message to show as deleted", || async {
            bob.log().await.iter().any(|l| l.text == "message deleted")
        })
        .await;
        assert!(!bob.log().await.iter().any(|l| l.text == "Second news"));
        assert_eq!(bob.log().await.len(), 2, "nothing shifted: the line stays");

        // Bob opens a private conversation with alice from the presence list.
        bob.click("#presence .direct[data-user='alice']").await;
        bob.wait_until("a direct conversation", || async {
            bob.exists("#log").await && bob.text("#room-name").await == "alice"
        })
        .await;
        bob.say("Just between us").await;
        alice.goto("/lobby").await;
        let direct = alice.text("#direct-rooms").await;
        assert!(direct.contains("bob"), "listed for alice: {direct}");
        // One click on the link enters (shell.js posts it).
        alice.click("#direct-rooms a.room-link").await;
        alice.wait_for_message("Just between us").await;
        carol.goto("/lobby").await;
        assert!(
            !carol.text("#rooms").await.contains("Direct"),
            "not for carol"
        );
        assert!(carol.text("#direct-rooms").await.is_empty());

        assert_console_clean(&[&carol]).await;
    });
}

#[test]
fn a_later_page_of_the_lobby_refreshes_itself_and_links_back() {
    scenario(|app, chrome| async move {
        let carol = newcomer(&chrome, &app, "carol").await;
        // 230 rooms: the first page lists Room 229 to Room 30, the second Room 29 to Room 0.
        let old = app.old_rooms("carol", 230);
        carol.goto("/lobby?page=2").await;
        let listed = carol.text("#other-rooms").await;
        assert!(
            listed.contains("Room 0") && !listed.contains("Room 30"),
            "{listed}"
        );
        assert!(carol.exists("#newer-rooms").await);

        let mut bob = app.user("bob").await;
        bob.enter_and_poll(old[0]).await;
        carol
            .wait_until("Room 0 to show as active on page 2", || async {
                carol.text("#active-rooms").await.contains("Room 0")
            })
            .await;
        let rooms = carol.text("#rooms").await;
        assert!(!rooms.contains("Room 30"), "still page 2 only: {rooms}");
        assert_eq!(carol.path().await, "/lobby?page=2");

        carol.click("#newer-rooms").await;
        carol.wait_for_path("/lobby").await;
        assert!(carol.text("#other-rooms").await.contains("Room 229"));
        carol.click("#older-rooms").await;
        carol.wait_for_path("/lobby?page=2").await;
        assert_console_clean(&[&carol]).await;
    });
}

#[test]
fn an_administrator_disables_someone_chatting_elsewhere_and_their_page_goes_to_the_login() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        let room = bob.create_room("Troll cave").await;
        bob.say("something unkind").await;

        alice.goto("/lobby").await;
        alice.click("#admin-link").await;
        alice.wait_for_path("/admin").await;
        alice.click(".admin-nav a[href='/admin/users']").await;
        alice.wait_for_path("/admin/users").await;
        alice.fill("#user-search", "bo").await;
        alice.click("form[role=search] button").await;
        alice.wait_for_path("/admin/users?q=bo").await;
        alice.click("tr[data-username=bob] button.disable").await;
        alice.wait_for_path("/admin/users?notice=disabled").await;
        assert!(
            alice
                .text("tr[data-username=bob]")
                .await
                .contains("disabled")
        );

        // bob's open room page polls once a second: the next poll is refused and the page
        // goes to the login form, where his password no longer lets him in.
        bob.wait_for_path("/login").await;
        bob.goto("/login").await;
        bob.fill("input[name=username]", "bob").await;
        bob.fill("input[name=password]", PASSWORD).await;
        bob.click("main button[type=submit]").await;
        bob.wait_until("the refusal", || async {
            bob.exists(".error").await && bob.text(".error").await.contains("disabled")
        })
        .await;

        // The administrator also cleans up the room and its message.
        alice.enter(room).await;
        assert!(
            alice.exists("#delete").await,
            "administrators may delete any room"
        );
        assert!(
            alice.exists(".delete-message").await,
            "and any message in a public room"
        );
        alice.goto("/admin").await;
        assert!(alice.text("#audit-log").await.contains("disabled user"));
        assert_console_clean(&[&alice]).await;
    });
}

#[test]
fn registration_by_invitation_end_to_end() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        alice.goto("/admin").await;
        alice.click("input[name=mode][value=invite]").await;
        alice.click("#save-registration").await;
        alice.wait_for_path("/admin?notice=registration").await;
        alice.click("#make-invitation").await;
        alice.wait_for_path("/admin").await;
        let link = alice.text("#new-invitation").await;
        assert!(link.contains("/register?invite="), "{link}");

        let stranger = person(&chrome, &app, "stranger").await;
        stranger.goto("/login").await;
        assert!(
            stranger
                .text("#registration")
                .await
                .contains("by invitation only")
        );
        stranger.goto("/register").await;
        assert!(
            !stranger.exists("input[name=username]").await,
            "no form without a link"
        );

        let dave = person(&chrome, &app, "dave").await;
        let path = &link[link.find("/register").unwrap()..];
        dave.goto(path).await;
        dave.fill("input[name=username]", "dave").await;
        dave.fill("input[name=password]", PASSWORD).await;
        dave.click("main button[type=submit]").await;
        dave.wait_for_path("/lobby").await;

        // The link was single-use.
        stranger.goto(path).await;
        assert!(
            stranger
                .text("#registration-closed")
                .await
                .contains("cannot be used")
        );
        alice.goto("/admin").await;
        assert!(
            alice.exists("#no-invitations").await,
            "no unused invitation is left"
        );
        assert_console_clean(&[&alice, &dave, &stranger]).await;
    });
}
