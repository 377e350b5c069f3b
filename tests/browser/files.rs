//! Files in messages on the room page (issue 30): an image pasted into the message box shows
//! in the other person's log, a file attached with the button shows as a card that downloads,
//! a refused upload says why, an upload in progress shows its progress and can be cancelled,
//! and axe finds nothing on a room with an image and a file, at both sizes, light and dark.

use std::io::Cursor;
use std::time::Duration;

use serde_json::{Value, json};

use super::driver::{Browser, Scheme};
use super::helpers::TestApp;
use super::{assert_console_clean, newcomer, wait};

/// The attachment of the last message in the log, as a comparable shape: each element's tag,
/// its attributes sorted, and its children (so the server's and the script's markup can be
/// compared whatever order they write attributes in), with the facts the tests look at.
const LAST_ATTACHMENT: &str = "
    const shape = (node) => {
      if (node.nodeType === 3) return node.textContent;
      const attrs = Array.from(node.attributes, (a) => a.name + '=' + a.value).sort();
      return [node.tagName.toLowerCase(), attrs, Array.from(node.childNodes, shape)];
    };
    const messages = document.querySelectorAll('#log li.message');
    const li = messages[messages.length - 1];
    const box = li && li.querySelector('.attachment');
    if (!box) return null;
    const img = box.querySelector('img');
    const text = li.querySelector('.text');
    return {
      id: Number(li.dataset.id),
      shape: JSON.stringify(shape(box)),
      caption: text.hidden ? null : text.textContent,
      href: box.querySelector('a').getAttribute('href'),
      image: img ? { loaded: img.complete && img.naturalWidth > 0, src: img.getAttribute('src'),
                     width: img.getAttribute('width'),
                     height: img.getAttribute('height'), alt: img.alt, loading: img.loading } : null,
      name: (box.querySelector('.file-name') || {}).textContent || null,
      size: (box.querySelector('.file-size') || {}).textContent || null,
      download: box.querySelector('a').getAttribute('download'),
    };";

async fn last_attachment(browser: &Browser) -> Value {
    browser.script(LAST_ATTACHMENT).await
}

/// Waits until the last message carries a file (and, for an image, until it has loaded).
async fn wait_for_attachment(browser: &Browser) -> Value {
    browser
        .wait_until("a message with a file", || async {
            let found = last_attachment(browser).await;
            !found.is_null() && found["image"]["loaded"] != json!(false)
        })
        .await;
    last_attachment(browser).await
}

/// Pastes a 64×48 PNG, drawn on a canvas, into the message box as a clipboard would.
async fn paste_png(browser: &Browser, name: &str) {
    let pasted = browser
        .client
        .execute_async(
            "const [name, done] = arguments;
             const canvas = document.createElement('canvas');
             canvas.width = 64; canvas.height = 48;
             const g = canvas.getContext('2d');
             g.fillStyle = '#2a9d8f'; g.fillRect(0, 0, 64, 48);
             g.fillStyle = '#e9c46a'; g.fillRect(8, 8, 24, 16);
             canvas.toBlob((blob) => {
               const data = new DataTransfer();
               data.items.add(new File([blob], name, { type: 'image/png' }));
               const box = document.getElementById('text');
               box.focus();
               const event = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
               box.dispatchEvent(event);
               done(event.defaultPrevented);
             }, 'image/png');",
            vec![json!(name)],
        )
        .await
        .unwrap();
    assert_eq!(pasted, json!(true), "the page took the pasted file");
}

/// A PNG of the given size, a gradient (something to look at in the screenshots).
fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        let r = u8::try_from(x * 255 / width).unwrap();
        let g = u8::try_from(y * 255 / height).unwrap();
        image::Rgb([r, g, 160])
    });
    let mut bytes = Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Png)
        .unwrap();
    bytes.into_inner()
}

/// Lines of files on their way: (state words, whether a Cancel, Retry, Discard button shows).
async fn upload_lines(browser: &Browser) -> Value {
    browser
        .script(
            "return Array.from(document.querySelectorAll('#log .upload'), (li) => ({
               state: li.querySelector('.upload-state').textContent,
               buttons: Array.from(li.querySelectorAll('.upload-actions button'), (b) => b.textContent),
               progress: li.querySelector('.upload-progress').hidden ? null
                 : li.querySelector('progress').getAttribute('aria-label'),
             }));",
        )
        .await
}

#[test]
fn an_image_pasted_into_the_message_box_shows_in_the_other_persons_log_without_a_reload() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Photos").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        bob.enter(room).await;

        // What the box holds goes with the pasted image as its caption.
        alice.fill("#text", "The view from here").await;
        paste_png(&alice, "view.png").await;

        let seen = wait_for_attachment(&bob).await;
        assert_eq!(seen["caption"], "The view from here");
        let image = &seen["image"];
        assert_eq!(image["loaded"], true, "the image loaded: {seen}");
        assert_eq!(
            (&image["width"], &image["height"]),
            (&json!("64"), &json!("48"))
        );
        assert_eq!(image["alt"], "view.png");
        assert_eq!(image["loading"], "lazy");
        let href = seen["href"].as_str().unwrap();
        assert!(
            href.starts_with("/attachments/"),
            "it opens the full image: {href}"
        );
        assert_eq!(
            image["src"],
            format!("{href}/thumbnail"),
            "the log shows the thumbnail"
        );

        // Alice sees her message once, and the line of the file on its way is gone.
        let mine = wait_for_attachment(&alice).await;
        assert_eq!(mine["id"], seen["id"]);
        alice
            .wait_until("the upload's line to go", || async {
                upload_lines(&alice).await == json!([])
            })
            .await;
        assert_eq!(alice.log().await.len(), 1, "one message, no copy");
        assert_eq!(
            alice
                .script("return document.getElementById('text').value")
                .await,
            "",
            "the caption left the box"
        );

        // The server's first render draws the same markup as the script did.
        bob.client.refresh().await.unwrap();
        let rendered = wait_for_attachment(&bob).await;
        assert_eq!(rendered["shape"], seen["shape"]);
        assert_eq!(rendered["caption"], seen["caption"]);
        assert_console_clean(&[&alice, &bob]).await;
    });
}

#[test]
fn a_file_attached_with_the_button_shows_as_a_card_for_the_other_person_and_downloads() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Papers").await;
        let bob = newcomer(&chrome, &app, "bob").await;
        bob.enter(room).await;

        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes.txt");
        let content = "minutes of the meeting\n".repeat(110); // 2530 bytes
        std::fs::write(&notes, &content).unwrap();
        alice
            .find("#file-input")
            .await
            .send_keys(notes.to_str().unwrap())
            .await
            .unwrap();

        let seen = wait_for_attachment(&bob).await;
        assert_eq!(seen["image"], Value::Null, "a text file is no picture");
        assert_eq!(seen["name"], "notes.txt");
        assert_eq!(seen["size"], "2.5 KiB");
        assert_eq!(seen["download"], "notes.txt");
        assert_eq!(seen["caption"], Value::Null, "no empty text above the card");
        let bob_lines = bob.log().await;
        assert_eq!(bob_lines.len(), 1);

        // The link downloads the file, as it was sent.
        let downloads = tempfile::tempdir().unwrap();
        bob.devtools(
            "Browser.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": downloads.path().to_str().unwrap() }),
        )
        .await;
        bob.click("#log .file-card").await;
        let saved = downloads.path().join("notes.txt");
        wait::wait_until(Duration::from_secs(10), "the download", || async {
            std::fs::read_to_string(&saved).is_ok_and(|got| got == content)
        })
        .await;

        // Reached by keyboard: the message, then Right to its file.
        bob.script(&format!(
            "document.querySelector('#log li[data-id=\"{}\"]').focus()",
            seen["id"]
        ))
        .await;
        bob.find("#log li.message:focus")
            .await
            .send_keys(&char::from(fantoccini::key::Key::Right).to_string())
            .await
            .unwrap();
        assert_eq!(
            bob.script("return document.activeElement.className").await,
            "attachment-link file-card"
        );

        bob.client.refresh().await.unwrap();
        let rendered = wait_for_attachment(&bob).await;
        assert_eq!(
            rendered["shape"], seen["shape"],
            "the server draws the same card"
        );
        // The script's numbers are the server's (src/templates.rs has the same cases).
        let numbers = bob
            .client
            .execute_async(
                "const done = arguments[0];
                 import('/static/message-view.js').then((m) => done([
                   m.fitThumbnail(4000, 3000), m.fitThumbnail(6000, 1000), m.fitThumbnail(100, 5000),
                   m.humanSize(1), m.humanSize(1280), m.humanSize(12 * 1024 + 100), m.humanSize(3355443),
                   m.humanSize(5 * 1024 * 1024 * 1024)]));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            numbers,
            json!([
                [1067, 800],
                [1200, 200],
                [16, 800],
                "1 byte",
                "1.3 KiB",
                "12 KiB",
                "3.2 MiB",
                "5 GiB"
            ])
        );
        assert_console_clean(&[&alice, &bob]).await;
    });
}

#[test]
fn a_refused_file_says_why_and_can_be_discarded_and_a_deleted_message_loses_its_file() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Refusals").await;
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "").unwrap();
        alice
            .find("#file-input")
            .await
            .send_keys(empty.to_str().unwrap())
            .await
            .unwrap();
        alice
            .wait_until("the refusal", || async {
                alice
                    .text("#send-error")
                    .await
                    .contains("The file is empty")
            })
            .await;
        assert_eq!(
            alice.text("#send-error").await,
            "Not sent: empty.txt: The file is empty."
        );
        assert_eq!(
            upload_lines(&alice).await,
            json!([{ "state": "Not sent: The file is empty.", "buttons": ["Discard"], "progress": null }]),
            "retrying cannot help: only Discard"
        );
        alice.click("#log .upload-discard").await;
        assert_eq!(upload_lines(&alice).await, json!([]));
        assert_eq!(
            alice.script("return document.activeElement.id").await,
            "text",
            "focus goes back to the message box"
        );

        // A file sent, then its message deleted: the file leaves the page.
        paste_png(&alice, "oops.png").await;
        let sent = wait_for_attachment(&alice).await;
        let id = sent["id"].as_i64().unwrap();
        let bob = newcomer(&chrome, &app, "bob").await;
        bob.enter(room).await;
        wait_for_attachment(&bob).await;
        alice
            .client
            .execute("window.confirm = () => true", vec![])
            .await
            .unwrap();
        alice.click(&format!("#log li[data-id='{id}']")).await;
        alice
            .click(&format!("#log li[data-id='{id}'] .delete-message"))
            .await;
        bob.wait_until("the message to show as deleted", || async {
            bob.log().await.iter().any(|l| l.text == "message deleted")
        })
        .await;
        assert_eq!(
            bob.script("return document.querySelectorAll('#log .attachment, #log img').length")
                .await,
            0,
            "nothing of the file is left"
        );
        assert_console_clean(&[&bob]).await;
    });
}

#[test]
fn an_upload_in_progress_shows_its_progress_and_cancel_stops_it() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Slow line").await;
        let mut bob = app.user("bob").await;
        bob.enter(i32::try_from(room).unwrap()).await;
        bob.upload(
            i32::try_from(room).unwrap(),
            "warm-up.txt",
            b"so the log is not empty",
            &[],
        )
        .await;

        // A slow upstream (30 KB/s): a 600 KB file takes twenty seconds.
        alice.devtools("Network.enable", json!({})).await;
        alice
            .devtools(
                "Network.emulateNetworkConditions",
                json!({ "offline": false, "latency": 50, "downloadThroughput": -1,
                        "uploadThroughput": 30_000 }),
            )
            .await;
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("holiday-video.bin");
        std::fs::write(&big, vec![7_u8; 600_000]).unwrap();
        alice
            .find("#file-input")
            .await
            .send_keys(big.to_str().unwrap())
            .await
            .unwrap();
        alice
            .wait_until("the progress bar", || async {
                let lines = upload_lines(&alice).await;
                lines[0]["state"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("sending…"))
            })
            .await;
        assert_eq!(
            upload_lines(&alice).await[0]["progress"],
            "Uploading holiday-video.bin"
        );
        assert_eq!(upload_lines(&alice).await[0]["buttons"], json!(["Cancel"]));
        for (size, width, height) in [("desktop", 1280, 800), ("phone", 375, 740)] {
            alice.set_window_size(width, height).await;
            for (scheme_name, scheme) in [("light", Scheme::Light), ("dark", Scheme::Dark)] {
                alice.set_scheme(scheme).await;
                alice
                    .screenshot(&format!("files-uploading-{size}-{scheme_name}"))
                    .await;
            }
        }

        alice.click("#log .upload-cancel").await;
        assert_eq!(
            upload_lines(&alice).await,
            json!([]),
            "the line goes at once"
        );
        alice
            .devtools(
                "Network.emulateNetworkConditions",
                json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
            )
            .await;
        // What is sent next arrives, and the cancelled file never did.
        alice.say("after the cancel").await;
        alice.wait_for_message("after the cancel").await;
        let messages = bob.messages_after(i32::try_from(room).unwrap(), 0).await;
        assert!(
            !messages
                .iter()
                .any(|m| m["attachment"]["name"] == "holiday-video.bin"),
            "the cancelled upload was not stored: {messages:#?}"
        );
        assert_console_clean(&[&alice]).await;
    });
}

/// Alice in a room where bob has sent a 900×600 photo and a PDF, with her own caption too.
async fn room_with_files(app: &TestApp, alice: &Browser) -> i64 {
    let room = alice.create_room("Holiday plans").await;
    let mut bob = app.user("bob").await;
    let id = i32::try_from(room).unwrap();
    bob.enter(id).await;
    bob.upload(
        id,
        "beach.png",
        &png(900, 600),
        &[("text", "The beach, at last")],
    )
    .await;
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".repeat(300);
    bob.upload(id, "itinerary-with-a-rather-long-name-2026.pdf", &pdf, &[])
        .await;
    alice.say("Looks lovely!").await;
    room
}

#[test]
fn axe_finds_nothing_on_a_room_with_an_image_and_a_file_at_both_sizes_in_light_and_dark() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = room_with_files(&app, &alice).await;
        let mut found = Vec::new();
        for (size, width, height) in [
            ("desktop", 1280, 800),
            ("phone", 375, 740),
            ("320", 320, 640),
        ] {
            alice.set_window_size(width, height).await;
            for (scheme_name, scheme) in [("light", Scheme::Light), ("dark", Scheme::Dark)] {
                alice.set_scheme(scheme).await;
                alice.goto(&format!("/rooms/{room}")).await;
                alice.find("#log").await;
                alice
                    .wait_until("the photo to load", || async {
                        alice
                            .script("const i = document.querySelector('#log img'); return Boolean(i && i.complete && i.naturalWidth);")
                            .await
                            == json!(true)
                    })
                    .await;
                let shot = format!("files-room-{size}-{scheme_name}");
                alice.screenshot(&shot).await;
                for violation in alice.axe_violations().await {
                    found.push(format!("{shot}: {violation}"));
                }
                let fits = alice
                    .script(
                        "const d = document.documentElement;
                         const img = document.querySelector('#log img').getBoundingClientRect();
                         return d.scrollWidth <= d.clientWidth && img.width <= d.clientWidth
                           && Math.abs(img.width / img.height - 1.5) < 0.02;",
                    )
                    .await;
                assert_eq!(
                    fits,
                    json!(true),
                    "{shot}: nothing sideways, the photo keeps its shape"
                );
            }
        }
        assert!(found.is_empty(), "axe found: {found:#?}");
        assert_console_clean(&[&alice]).await;
    });
}

/// Fires a drag event of a text file named `name` at the log, as a file manager's drag would.
async fn drag(browser: &Browser, kind: &str, name: &str) {
    browser
        .client
        .execute(
            "const [kind, name] = arguments;
             if (!window.dragged) {
               window.dragged = new DataTransfer();
               window.dragged.items.add(new File(['the plan: sandwiches, then the hill'], name, { type: 'text/plain' }));
             }
             document.getElementById('log').dispatchEvent(
               new DragEvent(kind, { dataTransfer: window.dragged, bubbles: true, cancelable: true }));",
            vec![json!(kind), json!(name)],
        )
        .await
        .unwrap();
}

#[test]
fn a_file_dropped_on_the_room_shows_a_drop_target_and_one_that_failed_survives_a_reload_and_is_sent_once_on_retry()
 {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = alice.create_room("Picnic").await;
        let mut bob = app.user("bob").await;
        let id = i32::try_from(room).unwrap();
        bob.enter(id).await;

        drag(&alice, "dragenter", "plan.txt").await;
        assert_eq!(
            alice
                .script("return document.getElementById('drop-zone').hidden")
                .await,
            false,
            "the room says it takes the files"
        );
        alice.screenshot("files-drop-target-desktop-light").await;
        drag(&alice, "dragleave", "plan.txt").await;
        assert_eq!(
            alice
                .script("return document.getElementById('drop-zone').hidden")
                .await,
            true
        );

        // Dropped while the server cannot be reached: kept, with Retry and Discard.
        alice.devtools("Network.enable", json!({})).await;
        alice
            .devtools(
                "Network.setBlockedURLs",
                json!({ "urls": [format!("*/api/rooms/{room}/attachments")] }),
            )
            .await;
        drag(&alice, "dragenter", "plan.txt").await;
        drag(&alice, "drop", "plan.txt").await;
        alice
            .wait_until("the failure", || async {
                upload_lines(&alice).await[0]["buttons"] == json!(["Retry", "Discard"])
            })
            .await;
        assert!(
            upload_lines(&alice).await[0]["state"]
                .as_str()
                .unwrap()
                .contains("cannot be reached"),
            "{}",
            upload_lines(&alice).await
        );
        assert!(alice.text("#send-error").await.contains("plan.txt"));
        assert_eq!(
            alice
                .script("return document.getElementById('drop-zone').hidden")
                .await,
            true
        );

        // It outlives a reload, kept in the browser with its reason.
        let failed = upload_lines(&alice).await;
        alice.client.refresh().await.unwrap();
        alice.find("#log").await;
        alice
            .wait_until("the failed file restored", || async {
                upload_lines(&alice).await == failed
            })
            .await;

        alice
            .devtools("Network.setBlockedURLs", json!({ "urls": [] }))
            .await;
        alice.click("#log .upload-retry").await;
        let sent = wait_for_attachment(&alice).await;
        assert_eq!(sent["name"], "plan.txt");
        alice
            .wait_until("the upload's line to go", || async {
                upload_lines(&alice).await == json!([])
            })
            .await;
        let stored: Vec<Value> = bob
            .messages_after(id, 0)
            .await
            .into_iter()
            .filter(|m| m["attachment"]["name"] == "plan.txt")
            .collect();
        assert_eq!(stored.len(), 1, "stored once: {stored:#?}");
        assert_eq!(alice.log().await.len(), 1, "shown once");
    });
}

#[test]
fn a_file_sent_alone_is_found_by_its_name_and_its_result_names_it() {
    super::scenario(|app, chrome| async move {
        let alice = newcomer(&chrome, &app, "alice").await;
        let room = room_with_files(&app, &alice).await;
        alice.goto("/search?q=itinerary").await;
        let result = alice
            .script(
                "return Array.from(document.querySelectorAll('#results .result-text'), (a) =>
                   [a.textContent, a.querySelector('mark') && a.querySelector('mark').textContent,
                    a.getAttribute('href')]);",
            )
            .await;
        assert_eq!(
            result,
            json!([[
                "File: itinerary-with-a-rather-long-name-2026.pdf",
                "itinerary",
                format!("/rooms/{room}?at=4")
            ]])
        );
        let found = alice.axe_violations().await;
        assert!(found.is_empty(), "axe found: {found:#?}");
    });
}
