//! The pages helper's scenarios (issue 26): axe-core finds nothing on any page, at desktop and
//! phone sizes, in light and dark; nothing overflows sideways at 320 px; the lobby's refresh
//! keeps focus; destructive forms ask first; dark mode really changes the colours.

use serde_json::json;

use super::driver::{Browser, Scheme};
use super::helpers::TestApp;
use super::{assert_console_clean, newcomer, person};

/// Every page there is, as (name for the screenshot, path, who looks at it).
struct Tour {
    anonymous: Vec<(&'static str, String)>,
    admin: Vec<(&'static str, String)>,
}

/// Alice (the administrator) with a room she is in, a room she is not in, and a message.
async fn tour(app: &TestApp, alice: &Browser) -> Tour {
    let room = alice.create_room("Kitchen").await;
    alice.say("Hello, is the kettle on?").await;
    let mut bob = app.user("bob").await;
    let other = bob.create_room("Garden").await;
    // A bot with an outgoing webhook, so that the bots page shows its table.
    for args in [
        &["bots", "create", "buildbot"][..],
        &["bots", "webhook", "buildbot", "https://ci.example/hook"],
    ] {
        let done = std::process::Command::new(env!("CARGO_BIN_EXE_chatroom"))
            .args(args)
            .args(["--database", app.database().url.as_str()])
            .output()
            .unwrap();
        assert!(done.status.success(), "{args:?}: {done:?}");
    }
    alice.goto("/lobby").await;
    Tour {
        anonymous: vec![("login", "/login".into()), ("register", "/register".into())],
        admin: vec![
            ("lobby", "/lobby".into()),
            ("room", format!("/rooms/{room}")),
            ("enter", format!("/rooms/{other}")),
            ("account", "/account".into()),
            ("admin", "/admin".into()),
            ("admin-users", "/admin/users".into()),
            ("admin-rooms", "/admin/rooms".into()),
            ("admin-bots", "/admin/bots".into()),
            ("error", "/rooms/987654".into()),
        ],
    }
}

const SIZES: [(&str, u32, u32); 2] = [("desktop", 1280, 800), ("phone", 375, 740)];
const SCHEMES: [(&str, Scheme); 2] = [("light", Scheme::Light), ("dark", Scheme::Dark)];

/// Opens each page at each size and scheme; axe's violations, by page.
async fn axe_pages(browser: &Browser, pages: &[(&str, String)], found: &mut Vec<String>) {
    for (size, width, height) in SIZES {
        browser.set_window_size(width, height).await;
        for (scheme_name, scheme) in SCHEMES {
            browser.set_scheme(scheme).await;
            for (name, path) in pages {
                browser.goto(path).await;
                browser.find("main").await;
                let shot = format!("{name}-{size}-{scheme_name}");
                browser.screenshot(&shot).await;
                for violation in browser.axe_violations().await {
                    found.push(format!("{shot} ({path}): {violation}"));
                }
            }
        }
    }
}

#[test]
fn axe_finds_nothing_on_any_page_at_desktop_and_phone_sizes_in_light_and_dark() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let mut found = Vec::new();
        // The lobby with no rooms yet.
        axe_pages(&alice, &[("lobby-empty", "/lobby".into())], &mut found).await;
        let tour = tour(&app, &alice).await;
        axe_pages(&alice, &tour.admin, &mut found).await;
        let visitor = person(&chrome, &app, "visitor").await;
        axe_pages(&visitor, &tour.anonymous, &mut found).await;
        assert!(found.is_empty(), "axe found: {found:#?}");
    });
}

#[test]
fn nothing_overflows_sideways_at_320_px_on_any_page() {
    super::scenario(|app, chrome| async move {
        // A name as long as names go, which tables and the top bar must still fit.
        let long = "a_name_of_thirty_two_characters_";
        let admin = newcomer(&chrome, &app, long).await;
        let tour = tour(&app, &admin).await;
        let visitor = person(&chrome, &app, "visitor").await;
        let mut overflowing = Vec::new();
        for (browser, pages) in [(&admin, &tour.admin), (&visitor, &tour.anonymous)] {
            browser.set_window_size(320, 640).await;
            for (name, path) in pages {
                browser.goto(path).await;
                browser.find("main").await;
                browser.screenshot(&format!("{name}-320")).await;
                let widths = browser
                    .client
                    .execute(
                        "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];",
                        vec![],
                    )
                    .await
                    .unwrap();
                if widths[0].as_i64() > widths[1].as_i64() {
                    // What sticks out, to say where to look.
                    let wide = browser
                        .client
                        .execute(
                            "return Array.from(document.querySelectorAll('body *'))
                               .filter((e) => e.getBoundingClientRect().right > 320)
                               .slice(0, 3).map((e) => e.tagName + '.' + e.className);",
                            vec![],
                        )
                        .await
                        .unwrap();
                    overflowing.push(format!("{path}: {widths} {wide}"));
                }
            }
        }
        assert!(
            overflowing.is_empty(),
            "wider than 320 px: {overflowing:#?}"
        );
    });
}

#[test]
fn the_lobby_refresh_keeps_focus_on_a_focused_room_link_when_another_room_is_added() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let mut bob = app.user("bob").await;
        let kitchen = bob.create_room("Kitchen").await;
        alice.goto("/lobby").await;
        let link = format!("li[data-room-id='{kitchen}'] a.room-link");
        alice.find(&link).await;
        alice
            .client
            .execute(
                "const a = document.querySelector(arguments[0]); a.focus(); window.focusedLink = a;
                 return document.activeElement === a;",
                vec![json!(link)],
            )
            .await
            .unwrap();
        let garden = bob.create_room("Garden").await;
        alice
            .wait_until("the new room in the lobby without a reload", || async {
                alice.exists(&format!("li[data-room-id='{garden}']")).await
            })
            .await;
        let kept = alice
            .client
            .execute(
                "return [document.activeElement === window.focusedLink,
                         window.focusedLink.isConnected,
                         document.querySelector(arguments[0]) === window.focusedLink];",
                vec![json!(link)],
            )
            .await
            .unwrap();
        assert_eq!(
            kept,
            json!([true, true, true]),
            "the same link element is still in the page and still focused"
        );
        assert_console_clean(&[&alice]).await;
    });
}

/// Submits the form holding `button`, answers the dialog with `answer` ("cancel" or "ok").
async fn ask_and_answer(browser: &Browser, button: &str, answer: &str) {
    browser.click(button).await;
    browser.find("dialog.confirm[open]").await;
    let question = browser.text("#confirm-question").await;
    assert!(!question.is_empty(), "the dialog says what will happen");
    let focused = browser
        .client
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!("confirm-cancel"), "Cancel is the default");
    browser.screenshot(&format!("confirm-{answer}")).await;
    browser.click(&format!("#confirm-{answer}")).await;
}

#[test]
fn deleting_a_room_and_logging_out_everywhere_ask_first_and_cancel_changes_nothing() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let mut bob = app.user("bob").await;
        let room = bob.create_room("Kitchen").await;

        alice.goto("/admin/rooms").await;
        let delete = format!("tr[data-room-id='{room}'] button.danger");
        ask_and_answer(&alice, &delete, "cancel").await;
        let question = alice.text("#confirm-question").await;
        assert!(question.contains("“Kitchen”"), "names the room: {question}");
        alice.goto("/admin/rooms").await;
        assert!(alice.exists(&delete).await, "cancel deleted nothing");
        ask_and_answer(&alice, &delete, "ok").await;
        alice
            .wait_until("the room to be gone", || async {
                alice.path().await.starts_with("/admin/rooms?notice=")
            })
            .await;
        assert!(!alice.exists(&delete).await, "deleted");

        alice.goto("/account").await;
        ask_and_answer(&alice, "#logout-everywhere", "cancel").await;
        alice.goto("/account").await;
        assert_eq!(alice.path().await, "/account", "still logged in");
        ask_and_answer(&alice, "#logout-everywhere", "ok").await;
        alice.wait_for_path("/login").await;
        alice.goto("/account").await;
        alice.wait_for_path("/login").await;
        assert_console_clean(&[&alice]).await;
    });
}

#[test]
fn dark_mode_changes_the_colours_of_the_page_and_its_cards() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let colours = || async {
            alice.goto("/lobby").await;
            alice.find("main .card").await;
            alice
                .client
                .execute(
                    "const c = (e, p) => getComputedStyle(e)[p];
                     const card = document.querySelector('main .card');
                     return [c(document.documentElement, 'backgroundColor'),
                             c(card, 'backgroundColor'), c(card, 'color')];",
                    vec![],
                )
                .await
                .unwrap()
        };
        alice.set_scheme(Scheme::Light).await;
        let light = colours().await;
        alice.set_scheme(Scheme::Dark).await;
        let dark = colours().await;
        for i in 0..3 {
            assert_ne!(light[i], dark[i], "light {light} and dark {dark}");
        }
        assert_eq!(light[0], json!("rgb(245, 246, 248)"), "the light page");
    });
}
