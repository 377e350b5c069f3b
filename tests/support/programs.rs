//! Programs some tests need besides Rust (Chromium, chromedriver, tmux, nginx, a PostgreSQL
//! server). On a machine without one, those tests are skipped: each test binary says so once,
//! plainly, with how to get it, and notes each skipped test in the run's record, which the
//! last target of `cargo test` (tests/support/skipped.rs) sums up in one closing line. With `CI` set (as `.ci/run` has it), a
//! missing program fails the test instead: CI must never pass by skipping.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// A program: what people call it, the name it is run as (or a full path), and the Debian
/// package with it.
pub struct Program {
    pub name: &'static str,
    pub command: String,
    pub package: &'static str,
}

impl Program {
    /// `command`, unless the environment variable `var` names another.
    pub fn new(name: &'static str, command: &str, var: &str, package: &'static str) -> Self {
        Self {
            name,
            command: std::env::var(var).unwrap_or_else(|_| command.to_owned()),
            package,
        }
    }

    pub fn tmux() -> Self {
        Self {
            name: "tmux",
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
    let names: Vec<&str> = missing.iter().map(|p| p.name).collect();
    let commands: Vec<&str> = missing.iter().map(|p| p.command.as_str()).collect();
    let packages: Vec<&str> = missing.iter().map(|p| p.package).collect();
    skip(
        &names.join(" and "),
        &commands.join(" and "),
        &format!("sudo apt-get install {}", packages.join(" ")),
    );
    false
}

/// What was missing so far: each is reported once per test binary.
static REPORTED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Skips the running test, which needs `what` (`needs` in detail) and this machine lacks it:
/// the first time in this binary a line on the terminal (written past the test harness's
/// capture, which would hide it) with `how` to get it; every time a line in the run's record
/// of skipped tests. Under CI a missing program is a failure instead: CI must never pass by
/// skipping.
pub fn skip(what: &str, needs: &str, how: &str) {
    let test = this_test();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs {needs} (CI is set, so a missing program is a failure; to get it: {how})"
    );
    record_skip(what, &test);
    let mut reported = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
    if reported
        .get_or_insert_with(HashSet::new)
        .insert(needs.to_owned())
    {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "\nskipped: tests that need {needs} (not found). To get it: {how}"
        );
    }
}

/// Skips the running test, which needs the PostgreSQL server at `url` (shown without its
/// password), not found.
pub fn skip_without_postgres(url: &str) {
    skip(
        "PostgreSQL",
        &format!("a PostgreSQL server at {url}"),
        "sudo apt-get install postgresql, start it, and set CHATROOM_TEST_POSTGRES to a \
         URL whose role may create databases (README: Tests)",
    );
}

/// The folder of the records of skipped tests, one file per `cargo test` run: beside the test
/// binaries (target/debug/skipped-tests), which every kind of test target can find.
pub fn records() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.join("skipped-tests"))
}

/// This run's record: every test binary of one `cargo test` is a child of the same cargo
/// process, so its process id names the run, with the moment it started (a later cargo may
/// get the same id).
pub fn this_runs_record() -> Option<std::path::PathBuf> {
    let cargo = std::os::unix::process::parent_id();
    Some(records()?.join(format!("{cargo}-{}", started(cargo))))
}

/// When process `pid` started (in clock ticks since boot: field 22 of /proc/PID/stat), or
/// 0 where that cannot be read.
pub fn started(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields from the third on follow the command's name, which ends with ')'.
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().nth(19)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Adds "what, binary, test" to the run's record. One short append is one write, so the tests
/// of a binary, running on several threads, cannot interleave their lines.
fn record_skip(what: &str, test: &str) {
    let Some(record) = this_runs_record() else {
        return;
    };
    let _ = std::fs::create_dir_all(record.parent().unwrap_or(Path::new(".")));
    let line = format!("{what}\t{}\t{test}\n", env!("CARGO_CRATE_NAME"));
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(record)
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Whether `command` can be run: a path that exists, or a name found on PATH.
fn on_path(command: &str) -> bool {
    if command.contains('/') {
        return Path::new(command).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(command).is_file()))
}
