//! Headless Chromium through chromedriver: one chromedriver per scenario, one fresh browser
//! profile per simulated person.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::helpers::{TestApp, spawn_app};
use super::programs::{self, Program};

/// How long a condition may take before a scenario fails: generous, for a loaded 2-core CI box.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Browsers are heavy: the scenarios run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs a scenario against a fresh server and a fresh chromedriver, closing every browser after.
pub fn scenario<F, Fut>(body: F)
where
    F: FnOnce(TestApp, Chrome) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    if !programs::available(&[
        Program::new("Chromium", "/usr/bin/chromium", "CHROME_BIN", "chromium"),
        Program::new(
            "chromedriver",
            "chromedriver",
            "CHROMEDRIVER",
            "chromium-driver",
        ),
    ]) {
        return;
    }
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    actix_web::rt::System::new().block_on(async move {
        let Some(app) = spawn_app().await else { return };
        let chrome = Chrome::start();
        let browsers = chrome.opened.clone();
        let outcome = actix_web::rt::spawn(body(app, chrome)).await;
        let clients: Vec<Client> = browsers.lock().expect("browser list").drain(..).collect();
        for client in clients {
            let _ = client.close().await;
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic.into_panic());
        }
    });
}

pub struct Chrome {
    driver: Child,
    url: String,
    profiles: TempDir,
    opened: std::sync::Arc<Mutex<Vec<Client>>>,
}

impl Drop for Chrome {
    /// Ends chromedriver and every browser process it started (they share its process
    /// group): none may outlive the scenario, whatever happened in it.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Chrome {
    /// Starts chromedriver on a port of the system's choosing, read back from what it says.
    fn start() -> Self {
        let mut driver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or("chromedriver".into()))
                .arg("--port=0")
                .process_group(0)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver runs (Debian package chromium-driver; .ci/run installs it)");
        let mut lines = BufReader::new(driver.stdout.take().expect("its output")).lines();
        let port: u16 = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let rest = line.split("started successfully on port ").nth(1)?;
                rest.trim_end_matches('.').trim().parse().ok()
            })
            .expect("chromedriver says its port");
        // Whatever else it says goes nowhere, without blocking it.
        std::thread::spawn(move || lines.for_each(drop));
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            driver,
            url: format!("http://127.0.0.1:{port}"),
            profiles: tempfile::tempdir().expect("a profile directory"),
            opened: Default::default(),
        }
    }

    /// A new person's browser: its own profile, so its own cookies.
    pub async fn person(&self, base: &str, name: &str, viewport: Viewport) -> Browser {
        let profile: PathBuf = self.profiles.path().join(name);
        let binary = std::env::var("CHROME_BIN").unwrap_or("/usr/bin/chromium".into());
        let (width, height) = match viewport {
            Viewport::Desktop => (1280, 900),
            // A headless window is at least 500 px wide; a phone's 375 needs emulation.
            Viewport::Phone => (500, 800),
        };
        let mut capabilities = json!({
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--disable-default-apps", "--no-default-browser-check",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        if viewport == Viewport::Phone {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 375, "height": 740, "pixelRatio": 2.0, "touch": true },
            });
        }
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session");
        self.opened
            .lock()
            .expect("browser list")
            .push(client.clone());
        Browser {
            client,
            base: base.to_owned(),
            driver: self.url.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewport {
    Desktop,
    /// 375 CSS pixels wide, like most phones.
    Phone,
}

pub struct Browser {
    pub client: Client,
    base: String,
    driver: String,
}

/// One line of a room's log as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Line {
    pub id: i64,
    pub author: String,
    pub text: String,
}

impl Browser {
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{}", self.base, path))
            .await
            .expect("navigation");
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("a current URL");
        match url.query() {
            Some(query) => format!("{}?{}", url.path(), query),
            None => url.path().to_owned(),
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("a query")
            .is_empty()
    }

    /// The element's rendered text, read in one script call: a list that lobby.js rebuilds
    /// between a lookup and a read cannot leave a stale element behind.
    pub async fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self
                .client
                .execute(
                    "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                    vec![json!(css)],
                )
                .await
                .expect("a script");
            if let Some(text) = text.as_str() {
                return text.to_owned();
            }
            assert!(Instant::now() < deadline, "no element {css}");
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clearable");
        field.send_keys(value).await.expect("typing");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("a click");
    }

    /// Waits until `check` holds, failing the scenario with `what` after PATIENCE.
    pub async fn wait_until<F, Fut>(&self, what: &str, check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        super::wait::wait_until(PATIENCE, what, check).await;
    }

    pub async fn wait_for_path(&self, expected: &str) {
        self.wait_until(&format!("the page {expected}"), || async {
            self.path().await == expected
        })
        .await;
    }

    pub async fn register(&self, username: &str, password: &str) {
        self.register_at("/register", username, password).await;
    }

    /// Registers on the form at `path` (an invitation's or the setup link's).
    pub async fn register_at(&self, path: &str, username: &str, password: &str) {
        self.goto(path).await;
        self.fill("input[name=username]", username).await;
        self.fill("input[name=password]", password).await;
        self.click("button[type=submit]").await;
        self.wait_for_path("/lobby").await;
    }

    pub async fn log_in(&self, username: &str, password: &str) {
        self.goto("/login").await;
        self.fill("input[name=username]", username).await;
        self.fill("input[name=password]", password).await;
        self.click("main button[type=submit]").await;
        // Back to the lobby, or to the room they were in when they last logged out.
        self.wait_until("the lobby or a room after login", || async {
            let path = self.path().await;
            path == "/lobby" || path.starts_with("/rooms/")
        })
        .await;
    }

    /// Opens the room's page and, unless already inside, presses its Enter button (entering
    /// is a POST); returns once the room's log shows.
    pub async fn enter(&self, room: i64) {
        self.goto(&format!("/rooms/{room}")).await;
        self.wait_until("the room or its Enter button", || async {
            self.exists("#log").await || self.exists("#enter").await
        })
        .await;
        if self.exists("#enter").await {
            self.click("#enter").await;
        }
        self.find("#log").await;
    }

    /// Creates a room from the lobby; returns its id once the browser is inside.
    pub async fn create_room(&self, name: &str) -> i64 {
        self.fill("input[name=name]", name).await;
        self.click("form[action='/rooms'] button").await;
        self.find("#log").await;
        let path = self.path().await;
        path.strip_prefix("/rooms/")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("not in a room but at {path}"))
    }

    /// Types a message and sends it with Enter; waits until the page accepted it.
    pub async fn say(&self, text: &str) {
        let enter: char = Key::Enter.into();
        self.fill("#text", &format!("{text}{enter}")).await;
        self.wait_until("the message box to clear", || async {
            self.client
                .execute("return document.getElementById('text').value", vec![])
                .await
                .expect("script")
                == json!("")
        })
        .await;
    }

    /// The log as the page shows it, top to bottom.
    pub async fn log(&self) -> Vec<Line> {
        let lines = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll('#log .message'), li => ({
                    id: Number(li.dataset.id),
                    author: li.querySelector('.author').textContent,
                    text: li.querySelector('.text').textContent,
                }))",
                vec![],
            )
            .await
            .expect("script");
        serde_json::from_value(lines).expect("log lines")
    }

    pub async fn wait_for_message(&self, text: &str) {
        self.wait_until(&format!("the message {text:?}"), || async {
            self.log().await.iter().any(|line| line.text == text)
        })
        .await;
    }

    pub async fn wait_for_log_len(&self, len: usize) -> Vec<Line> {
        self.wait_until(&format!("{len} messages"), || async {
            self.log().await.len() >= len
        })
        .await;
        self.log().await
    }

    /// The browser console's errors and warnings so far (CSP violations are logged there).
    pub async fn console_problems(&self) -> Vec<String> {
        let entries = self
            .chromedriver("se/log", json!({ "type": "browser" }))
            .await;
        entries["value"]
            .as_array()
            .expect("log entries")
            .iter()
            .filter(|e| e["level"] != "INFO" && e["level"] != "DEBUG")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    // ---- room: helpers for the room page's tests (tests/browser/room.rs) ----

    /// Sends a Chrome DevTools command through chromedriver and gives its answer.
    pub async fn devtools(&self, cmd: &str, params: Value) -> Value {
        let answer = self
            .chromedriver("goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .await;
        assert!(
            answer["value"].get("error").is_none(),
            "{cmd} failed: {answer}"
        );
        answer["value"].clone()
    }

    /// POSTs `body` to one of chromedriver's own commands for this session (those fantoccini
    /// does not speak), and gives its answer.
    async fn chromedriver(&self, command: &str, body: Value) -> Value {
        let session = self
            .client
            .session_id()
            .await
            .expect("a session")
            .expect("a session id");
        reqwest::Client::new()
            .post(format!("{}/session/{session}/{command}", self.driver))
            .json(&body)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON")
    }

    /// Runs a script and gives what it returns.
    pub async fn script(&self, js: &str) -> Value {
        self.client.execute(js, vec![]).await.expect("a script")
    }
}

// ---- pages: axe-core, window sizes, the dark colour scheme and screenshots by name ----

/// axe-core 4.12.1 (MPL-2.0; see tests/browser/axe/README.md).
const AXE: &str = include_str!("axe/axe.min.js");

/// The colour scheme a page is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Light,
    Dark,
}

impl Browser {
    /// The page's viewport in CSS pixels (a headless window cannot be narrower than 500 px:
    /// this emulates the size instead, as DevTools' device mode does). Stays for the pages
    /// that follow.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.devtools(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500 }),
        )
        .await;
    }

    /// Shows the pages that follow as the system's light or dark scheme would.
    pub async fn set_scheme(&self, scheme: Scheme) {
        let value = match scheme {
            Scheme::Light => "light",
            Scheme::Dark => "dark",
        };
        self.devtools(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": value }] }),
        )
        .await;
    }

    /// Runs axe-core on the current page; its violations, each as "rule (impact): help, at
    /// the elements". WebDriver's script evaluation is not subject to the page's CSP, so the
    /// strict policy does not stop the injection (and the page itself never loads it).
    pub async fn axe_violations(&self) -> Vec<String> {
        let loaded = self
            .client
            .execute("return typeof window.axe === 'object'", vec![])
            .await
            .expect("a script");
        if loaded != json!(true) {
            self.client
                .execute(AXE, vec![])
                .await
                .expect("axe-core loads");
        }
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(
                   (r) => done(r.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.help +
                     ' at ' + v.nodes.map((n) => n.target.join(' ')).join(', '))),
                   (e) => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe runs");
        serde_json::from_value(found).expect("a list of violations")
    }

    /// Saves a screenshot of the viewport as target/screenshots/<name>.png, to look at.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("the target directory")
            .join("screenshots");
        std::fs::create_dir_all(&dir).expect("a screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("the screenshot is saved");
    }
}
