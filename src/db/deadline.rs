//! A time limit on a query. PostgreSQL stops a statement itself (`statement_timeout`); SQLite
//! has no such setting, so a query that may run long calls `in_time()` once per row it looks
//! at, which fails the statement once the deadline of the thread running it has passed
//! (`DbConnection::within` sets it). `in_time()` is registered once on every SQLite connection
//! (`DbConnection::set_up`): registering a function makes SQLite prepare every cached
//! statement again.

use std::cell::Cell;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Bool;
use diesel::sqlite::Sqlite;

thread_local! {
    /// The deadline of the query this thread runs under `DbConnection::within`, if any.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// How SQLite's `in_time()` words the error that stops a statement.
const TOO_LONG: &str = "the query ran past its time limit";

diesel::define_sql_function! {
    /// True while the query runs within its time limit; an error after.
    fn in_time() -> Bool;
}

/// What `in_time()` answers: it reads the clock when SQLite asks for the value.
#[derive(Debug)]
struct InTime;

impl ToSql<Bool, Sqlite> for InTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        if DEADLINE
            .get()
            .is_some_and(|deadline| Instant::now() > deadline)
        {
            return Err(TOO_LONG.into());
        }
        <bool as ToSql<Bool, Sqlite>>::to_sql(&true, out)
    }
}

pub(super) fn register(conn: &mut SqliteConnection) -> QueryResult<()> {
    in_time_utils::register_nondeterministic_impl(conn, || InTime)
}

/// The thread's deadline while it lives: cleared however the query ends.
pub(super) struct Armed;

impl Armed {
    pub(super) fn for_(limit: Duration) -> Self {
        DEADLINE.set(Some(Instant::now() + limit));
        Self
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        DEADLINE.set(None);
    }
}

/// Whether the error is a query stopped at its time limit (`within`): SQLite's `in_time()`,
/// or PostgreSQL's query_canceled (57014) for the statement timeout.
pub fn timed_out(err: &DieselError) -> bool {
    let message = err.to_string();
    message.contains(TOO_LONG) || message.contains("statement timeout")
}
