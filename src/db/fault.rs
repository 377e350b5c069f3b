//! Storage faults: the database refusing writes (full, read-only) or out of reach, told apart
//! from bugs, remembered for the health check, and reported at most once a minute per kind.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::clock::Clock;

/// What is wrong with the storage: nothing a request did, and nothing a restart would mend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// The disk (or the database's allowed size) is full.
    Full,
    /// The database takes no writes: a read-only file or mount, or a PostgreSQL standby.
    ReadOnly,
    /// The database cannot be reached: no connection, or one that broke.
    Unavailable,
}

impl StorageFault {
    const ALL: [Self; 3] = [Self::Full, Self::ReadOnly, Self::Unavailable];

    /// The error code of the answer, and of the health check.
    pub fn code(self) -> &'static str {
        match self {
            Self::Full => "storage_full",
            Self::ReadOnly => "database_read_only",
            Self::Unavailable => "database_unavailable",
        }
    }

    /// The error of the database's that is this fault, if any. Diesel keeps neither SQLite's
    /// result code nor PostgreSQL's SQLSTATE for these (only 25006, a read-only transaction,
    /// and a closed connection get kinds of their own), so the rest are told by the database's
    /// own words, which both have kept for decades.
    pub fn of(err: &DieselError) -> Option<Self> {
        let DieselError::DatabaseError(kind, info) = err else {
            return None;
        };
        match kind {
            DatabaseErrorKind::ClosedConnection => Some(Self::Unavailable),
            DatabaseErrorKind::ReadOnlyTransaction => Some(Self::ReadOnly),
            _ => Self::in_words(info.message()),
        }
    }

    /// The fault a database's error message names, if any.
    pub fn in_words(message: &str) -> Option<Self> {
        const WORDS: [(&str, StorageFault); 8] = [
            // SQLite's SQLITE_FULL.
            ("database or disk is full", StorageFault::Full),
            // PostgreSQL's 53100 (disk_full), and ENOSPC however it is worded around.
            ("could not extend file", StorageFault::Full),
            ("no space left on device", StorageFault::Full),
            // SQLite's SQLITE_READONLY and its variants.
            (
                "attempt to write a readonly database",
                StorageFault::ReadOnly,
            ),
            // PostgreSQL's 25006 and a hot standby's refusal.
            ("in a read-only transaction", StorageFault::ReadOnly),
            // PostgreSQL's 57P01 (admin_shutdown: pg_terminate_backend, a fast shutdown).
            (
                "terminating connection due to administrator",
                StorageFault::Unavailable,
            ),
            (
                "server closed the connection unexpectedly",
                StorageFault::Unavailable,
            ),
            ("connection refused", StorageFault::Unavailable),
        ];
        let message = message.to_lowercase();
        WORDS
            .iter()
            .find(|(words, _)| message.contains(words))
            .map(|&(_, fault)| fault)
    }

    fn index(self) -> usize {
        match self {
            Self::Full => 0,
            Self::ReadOnly => 1,
            Self::Unavailable => 2,
        }
    }

    /// Whether a committed write is what shows it has passed (a connection that works shows
    /// that a database out of reach is back).
    fn passes_with_a_write(self) -> bool {
        !matches!(self, Self::Unavailable)
    }
}

/// Where the reports go: the log, as errors and notices. Tests keep them to read.
pub trait FaultLog: Send + Sync {
    fn error(&self, line: &str);
    fn notice(&self, line: &str);
}

/// The process's log.
pub struct ToLog;

impl FaultLog for ToLog {
    fn error(&self, line: &str) {
        log::error!("{line}");
    }

    fn notice(&self, line: &str) {
        log::warn!("{line}");
    }
}

/// At most one report of a kind within this: a full disk refuses every post, and each would
/// otherwise write a line.
pub const REPORT_EVERY: Duration = Duration::from_secs(60);
/// A full or read-only fault stands at least this long after it was last met: on a nearly
/// full disk a small write may pass while the next post fails, and the health check must not
/// flicker with them. Also how often, while one stands, a probe tries a write of its own. (A
/// database out of reach is back with the first connection that works: a single wait for a
/// connection that timed out under load must not mark the server unhealthy for long.)
pub const HOLD: Duration = Duration::from_secs(5);

/// The storage fault met last, until it passes, and the reports' rate limit. Read by the
/// health check without a lock.
pub struct Faults {
    /// The standing fault's index + 1, or 0: the health check's one atomic read.
    standing: AtomicU8,
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
    log: Arc<dyn FaultLog>,
}

#[derive(Default)]
struct State {
    standing: Option<Standing>,
    reports: [Reports; 3],
}

struct Standing {
    fault: StorageFault,
    since: Instant,
    last_met: Instant,
}

#[derive(Default)]
struct Reports {
    last: Option<Instant>,
    /// Met since the last report, and not reported.
    unreported: u64,
}

impl Faults {
    pub fn new(clock: Arc<dyn Clock>, log: Arc<dyn FaultLog>) -> Self {
        Self {
            standing: AtomicU8::new(0),
            state: Mutex::default(),
            clock,
            log,
        }
    }

    /// The real clock and the process's log.
    pub fn logged() -> Self {
        Self::new(crate::clock::system(), Arc::new(ToLog))
    }

    /// The fault that stands, if any: one atomic read.
    pub fn standing(&self) -> Option<StorageFault> {
        match self.standing.load(Ordering::Relaxed) {
            0 => None,
            n => StorageFault::ALL.get(usize::from(n) - 1).copied(),
        }
    }

    /// The fault that stands, and for how long it has.
    pub fn standing_for(&self) -> Option<(StorageFault, Duration)> {
        self.standing()?;
        let state = self.lock();
        let standing = state.standing.as_ref()?;
        Some((
            standing.fault,
            self.clock.now().saturating_duration_since(standing.since),
        ))
    }

    /// A request or a task met `fault`, because of `cause`: it stands (replacing another), and
    /// it is reported unless one of its kind was within the minute.
    pub fn met(&self, fault: StorageFault, cause: &str) {
        let now = self.clock.now();
        let mut state = self.lock();
        match &mut state.standing {
            Some(standing) if standing.fault == fault => standing.last_met = now,
            other => {
                *other = Some(Standing {
                    fault,
                    since: now,
                    last_met: now,
                });
            }
        }
        self.standing.store(
            u8::try_from(fault.index() + 1).unwrap_or(u8::MAX),
            Ordering::Relaxed,
        );
        let reports = &mut state.reports[fault.index()];
        if reports
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < REPORT_EVERY)
        {
            reports.unreported += 1;
            return;
        }
        let also = match reports.unreported {
            0 => String::new(),
            n => format!(" ({n} more since the last report)"),
        };
        reports.last = Some(now);
        reports.unreported = 0;
        drop(state);
        self.log.error(&format!(
            "storage fault {}: {}; answering 503 until it passes{also}",
            fault.code(),
            one_line(cause)
        ));
    }

    /// A write committed: a full or read-only database has passed, if met `HOLD` ago.
    pub fn wrote(&self) {
        if self
            .standing()
            .is_some_and(StorageFault::passes_with_a_write)
        {
            self.pass(StorageFault::passes_with_a_write);
        }
    }

    /// A connection worked: a database out of reach is back.
    pub fn reached(&self) {
        if self.standing() == Some(StorageFault::Unavailable) {
            self.pass(|fault| fault == StorageFault::Unavailable);
        }
    }

    /// Whether a write fault stands that was last met at least `HOLD` ago: a probe's write
    /// would then tell whether it passed.
    pub fn probe_due(&self) -> bool {
        if !self
            .standing()
            .is_some_and(StorageFault::passes_with_a_write)
        {
            return false;
        }
        let now = self.clock.now();
        self.lock()
            .standing
            .as_ref()
            .is_some_and(|s| now.saturating_duration_since(s.last_met) >= HOLD)
    }

    fn pass(&self, which: impl Fn(StorageFault) -> bool) {
        let now = self.clock.now();
        let mut state = self.lock();
        let Some(standing) = &state.standing else {
            return;
        };
        let held = standing.fault == StorageFault::Unavailable
            || now.saturating_duration_since(standing.last_met) >= HOLD;
        if !which(standing.fault) || !held {
            return;
        }
        let (fault, since) = (standing.fault, standing.since);
        state.standing = None;
        self.standing.store(0, Ordering::Relaxed);
        drop(state);
        self.log.notice(&format!(
            "storage fault {} passed after {} s",
            fault.code(),
            now.saturating_duration_since(since).as_secs()
        ));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A cause as one line: PostgreSQL's messages run over several.
fn one_line(cause: &str) -> String {
    super::one_line(cause)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[derive(Default)]
    struct Kept(Mutex<Vec<String>>);

    impl FaultLog for Kept {
        fn error(&self, line: &str) {
            self.0.lock().unwrap().push(format!("error: {line}"));
        }
        fn notice(&self, line: &str) {
            self.0.lock().unwrap().push(format!("notice: {line}"));
        }
    }

    #[test]
    fn each_database_names_its_faults_in_its_own_words() {
        for (message, fault) in [
            ("database or disk is full", Some(StorageFault::Full)),
            (
                "could not extend file \"base/16384/16385\": No space left on device",
                Some(StorageFault::Full),
            ),
            (
                "attempt to write a readonly database",
                Some(StorageFault::ReadOnly),
            ),
            (
                "cannot execute INSERT in a read-only transaction",
                Some(StorageFault::ReadOnly),
            ),
            (
                "terminating connection due to administrator command",
                Some(StorageFault::Unavailable),
            ),
            ("UNIQUE constraint failed: users.name_key", None),
            ("database is locked", None),
        ] {
            assert_eq!(StorageFault::in_words(message), fault, "{message}");
        }
    }

    #[test]
    fn a_fault_is_reported_once_a_minute_and_stands_until_a_write_after_the_hold() {
        let clock = ManualClock::new();
        let kept = Arc::new(Kept::default());
        let faults = Faults::new(clock.clone(), kept.clone());
        assert_eq!(faults.standing(), None);

        for _ in 0..3 {
            faults.met(StorageFault::Full, "database or disk is full");
        }
        assert_eq!(faults.standing(), Some(StorageFault::Full));
        assert_eq!(kept.0.lock().unwrap().len(), 1);
        // Another kind is reported on its own.
        faults.met(StorageFault::Unavailable, "no connection");
        faults.met(StorageFault::Full, "database or disk is full");
        assert_eq!(kept.0.lock().unwrap().len(), 2);

        // A write within the hold does not end it; nor does a connection that works.
        faults.wrote();
        faults.reached();
        assert_eq!(faults.standing(), Some(StorageFault::Full));
        assert!(!faults.probe_due());
        clock.advance(HOLD);
        assert!(faults.probe_due());
        faults.reached();
        assert_eq!(faults.standing(), Some(StorageFault::Full));
        faults.wrote();
        assert_eq!(faults.standing(), None);

        // A database out of reach is back with the first connection that works.
        faults.met(StorageFault::Unavailable, "no connection");
        assert_eq!(faults.standing(), Some(StorageFault::Unavailable));
        faults.wrote();
        assert_eq!(faults.standing(), Some(StorageFault::Unavailable));
        faults.reached();
        assert_eq!(faults.standing(), None);

        clock.advance(REPORT_EVERY);
        faults.met(StorageFault::Full, "database or disk is full");
        let kept = kept.0.lock().unwrap();
        assert_eq!(kept.len(), 5, "{kept:?}");
        assert!(kept[2].starts_with("notice: storage fault storage_full passed"));
        assert!(kept[3].starts_with("notice: storage fault database_unavailable passed"));
        assert_eq!(
            kept[4],
            "error: storage fault storage_full: database or disk is full; answering 503 until \
             it passes (3 more since the last report)"
        );
    }
}
