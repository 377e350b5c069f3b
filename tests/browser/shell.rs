//! The app shell: the sidebar of rooms on every logged-in page, fresh without a reload, that
//! enters a room with one click, and the drawer it becomes on a phone.

use std::time::{Duration, Instant};

use fantoccini::key::Key;
use serde_json::json;

use super::driver::{Browser, Viewport, scenario};
use super::helpers::PASSWORD;
use super::newcomer;

/// How fresh the sidebar must stay (issue 26).
const FRESH: Duration = Duration::from_secs(5);

fn row(room: i64) -> String {
    format!("#sidebar li[data-room-id='{room}']")
}

#[test]
fn the_sidebar_enters_rooms_with_a_click_and_keeps_fresh_and_focused_without_a_reload() {
    scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let kitchen = alice.create_room("Kitchen").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        let garden = bob.create_room("Garden").await;

        let started = Instant::now();
        alice
            .wait_until("the new garden in alice's sidebar", || async {
                alice.exists(&row(garden)).await
            })
            .await;
        assert!(started.elapsed() < FRESH, "took {:?}", started.elapsed());
        assert_eq!(
            alice
                .script(&format!(
                    "return document.querySelector(\"{} a\").getAttribute('href')",
                    row(garden)
                ))
                .await,
            json!(format!("/rooms/{garden}")),
            "a real link, to open in a new tab or copy"
        );
        assert_eq!(
            alice.script("return document.querySelector('#sidebar [aria-current=page]').closest('li').dataset.roomId").await,
            json!(kitchen.to_string()),
            "the room she is in is marked"
        );

        // One click enters (a POST behind the link), and back.
        alice.click(&format!("{} a", row(garden))).await;
        alice.wait_for_path(&format!("/rooms/{garden}")).await;
        alice.find("#log").await;
        alice.click(&format!("{} a", row(kitchen))).await;
        alice.wait_for_path(&format!("/rooms/{kitchen}")).await;
        alice.find("#log").await;

        // Her focus sits on the garden's link while bob writes there: the badge comes, the
        // focus stays on the very same element.
        alice.script(&format!(
            "const link = document.querySelector(\"{} a\"); link.focus(); window.focusedLink = link;",
            row(garden)
        )).await;
        bob.say("anyone in the garden?").await;
        let started = Instant::now();
        alice
            .wait_until("one unread in the garden", || async {
                let badge = format!(
                    "const b = document.querySelector(\"{} .unread\"); return b && b.firstChild.textContent",
                    row(garden)
                );
                alice.script(&badge).await == json!("1")
            })
            .await;
        assert!(started.elapsed() < FRESH, "took {:?}", started.elapsed());
        assert_eq!(
            alice
                .script(&format!(
                    "return document.querySelector(\"{} .unread\").textContent",
                    row(garden)
                ))
                .await,
            json!("1 unread"),
            "said in words to screen readers"
        );
        assert_eq!(
            alice
                .script("return document.activeElement === window.focusedLink")
                .await,
            json!(true),
            "focus kept on the same link"
        );
        super::assert_console_clean(&[&alice, &bob]).await;
    });
}

#[test]
fn on_a_phone_the_sidebar_is_a_drawer_behind_the_menu_button() {
    scenario(|app, chrome| async move {
        let setup = app
            .take_setup_token()
            .expect("a new database has a setup link");
        let alice = chrome.person(&app.address, "alice", Viewport::Phone).await;
        alice
            .register_at(&format!("/register?setup={setup}"), "alice", PASSWORD)
            .await;
        let kitchen = alice.create_room("Kitchen").await;
        alice.goto("/lobby").await;
        let garden = alice.create_room("Garden").await;

        assert!(!drawer_shows(&alice).await, "closed at first");
        assert_eq!(
            alice.script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth").await,
            json!(true),
            "nothing overflows sideways"
        );
        alice.click("#menu-button").await;
        wait_for_drawer(&alice, true).await;
        assert_eq!(
            alice
                .script(
                    "return document.getElementById('menu-button').getAttribute('aria-expanded')"
                )
                .await,
            json!("true")
        );
        let escape: char = Key::Escape.into();
        alice
            .client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(&escape.to_string())
            .await
            .expect("typing");
        wait_for_drawer(&alice, false).await;
        assert_eq!(
            alice.script("return document.activeElement.id").await,
            json!("menu-button"),
            "focus back on the button that opened it"
        );

        alice.click("#menu-button").await;
        wait_for_drawer(&alice, true).await;
        alice.click(&format!("{} a", row(kitchen))).await;
        alice.wait_for_path(&format!("/rooms/{kitchen}")).await;
        alice.find("#log").await;
        assert!(!drawer_shows(&alice).await, "closed in the room entered");
        assert!(alice.exists(&row(garden)).await);
    });
}

/// Whether the sidebar is on screen (on a phone: the drawer is open).
async fn drawer_shows(browser: &Browser) -> bool {
    browser
        .script(
            "const sidebar = document.getElementById('sidebar');
             const r = sidebar.getBoundingClientRect();
             return getComputedStyle(sidebar).visibility === 'visible'
                 && r.right > 0 && r.left < window.innerWidth;",
        )
        .await
        == json!(true)
}

async fn wait_for_drawer(browser: &Browser, open: bool) {
    let what = if open {
        "the drawer open"
    } else {
        "the drawer closed"
    };
    browser
        .wait_until(what, || async { drawer_shows(browser).await == open })
        .await;
}
