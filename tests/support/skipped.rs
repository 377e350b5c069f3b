//! The closing line of `cargo test`: how many tests were skipped, for want of what, summed up
//! from the run's record (tests/support/programs.rs), which it then removes. Cargo runs it
//! last: it is a bench target (Cargo.toml), and cargo runs test targets, then benches, each
//! kind by name.

// Its report is its output.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};

#[allow(dead_code)]
mod programs;

fn main() {
    // `cargo bench` runs benches with `--bench`: there is no test run to sum up then.
    if std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(record) = programs::this_runs_record() else {
        return;
    };
    let text = std::fs::read_to_string(&record).unwrap_or_default();
    let _ = std::fs::remove_file(&record);
    forget_ended_runs();
    // Each test once, however many times it asked: "what\tbinary\ttest".
    let skipped: BTreeSet<(&str, &str)> = text
        .lines()
        .filter_map(|line| {
            let (what, test) = line.split_once('\t')?;
            Some((what, test))
        })
        .collect();
    println!("{}", summary(&skipped));
}

/// "169 tests skipped: PostgreSQL (154), tmux (4) ...; see README: Tests", the most missed
/// first; or that none was.
fn summary(skipped: &BTreeSet<(&str, &str)>) -> String {
    if skipped.is_empty() {
        return "No test was skipped.".to_owned();
    }
    let mut by_what: BTreeMap<&str, usize> = BTreeMap::new();
    for (what, _) in skipped {
        *by_what.entry(what).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = by_what.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = counts
        .iter()
        .map(|(what, n)| format!("{what} ({n})"))
        .collect();
    let total = skipped.len();
    let tests = if total == 1 { "test" } else { "tests" };
    format!(
        "{total} {tests} skipped: {}; see README: Tests",
        parts.join(", ")
    )
}

/// Removes the records of runs whose cargo has ended (a run of a few targets, which ends
/// before this one runs, leaves its record behind).
fn forget_ended_runs() {
    let Some(entries) = programs::records().and_then(|dir| std::fs::read_dir(dir).ok()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((pid, started)) = name.to_str().and_then(|n| n.split_once('-')) else {
            continue;
        };
        let alive = pid
            .parse()
            .is_ok_and(|pid| programs::started(pid).to_string() == started);
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
