//! Programs some tests need besides Rust (Chromium, chromedriver, tmux, a PostgreSQL server). On a machine without
//! one, those tests are skipped, and each test binary says so once, plainly, with how to get
//! it; with `CI` set (as `.ci/run` has it), a missing program fails the test instead: CI
//! must never pass by skipping.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// A program, by the name it is run as (or a full path), and the Debian package with it.
pub struct Program {
    pub command: String,
    pub package: &'static str,
}

impl Program {
    /// `command`, unless the environment variable `var` names another.
    pub fn new(command: &str, var: &str, package: &'static str) -> Self {
        Self {
            command: std::env::var(var).unwrap_or_else(|_| command.to_owned()),
            package,
        }
    }

    pub fn tmux() -> Self {
        Self {
            command: "tmux".to_owned(),
            package: "tmux",
        }
    }
}

/// The test that is running: the test harness names its thread after it.
pub fn this_test() -> String {
    std::thread::current().name().unwrap_or("a test").to_owned()
}

/// True when every program is here. Otherwise the test is skipped (see `skip`).
pub fn available(programs: &[Program]) -> bool {
    let missing: Vec<&Program> = programs.iter().filter(|p| !on_path(&p.command)).collect();
    if missing.is_empty() {
        return true;
    }
    let names: Vec<&str> = missing.iter().map(|p| p.command.as_str()).collect();
    let packages: Vec<&str> = missing.iter().map(|p| p.package).collect();
    skip(
        &names.join(" and "),
        &format!("sudo apt-get install {}", packages.join(" ")),
    );
    false
}

/// What was missing so far: each is reported once per test binary.
static REPORTED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Skips the running test, which `needs` something this machine lacks: a line on the terminal
/// (written past the test harness's capture, which would hide it), the first time with `how`
/// to get it. Under CI a missing program is a failure instead: CI must never pass by skipping.
pub fn skip(needs: &str, how: &str) {
    let test = this_test();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs {needs} (CI is set, so a missing program is a failure; to get it: {how})"
    );
    let mut reported = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
    let first = reported
        .get_or_insert_with(HashSet::new)
        .insert(needs.to_owned());
    let line = if first {
        format!("\nskipped: tests that need {needs} (not found). To get it: {how}\n")
    } else {
        String::new()
    };
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}skipped {test}: needs {needs}");
}

/// Whether `command` can be run: a path that exists, or a name found on PATH.
fn on_path(command: &str) -> bool {
    if command.contains('/') {
        return Path::new(command).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(command).is_file()))
}
