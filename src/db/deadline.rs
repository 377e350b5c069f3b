//! A time limit on a query. PostgreSQL stops a statement itself (`statement_timeout`); SQLite
//! has no such setting, so a query that may run long calls `in_time()` once per row it looks
//! at, which fails the statement once the deadline of the thread running it has passed.
//! Registered once on every SQLite connection (`DbConnection::set_up`): registering a function
//! makes SQLite prepare every cached statement again.

use std::cell::Cell;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Bool;
use diesel::sqlite::Sqlite;

use super::DbConnection;

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

/// Clears the thread's deadline however the query ends.
struct Armed;

impl Drop for Armed {
    fn drop(&mut self) {
        DEADLINE.set(None);
    }
}

impl DbConnection {
    /// Runs `f` with a time limit: past it, its statement fails (see `timed_out`). On
    /// PostgreSQL inside a transaction of its own (`SET LOCAL`); on SQLite only the statements
    /// that call `in_time()` are stopped.
    pub fn within<T>(
        &mut self,
        limit: Duration,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        match self {
            Self::Sqlite(_) => {
                DEADLINE.set(Some(Instant::now() + limit));
                let _armed = Armed;
                f(self)
            }
            Self::Postgres(_) => self.transaction(|conn| {
                // Zero would mean no limit at all.
                let ms = limit.as_millis().max(1);
                conn.batch_execute(&format!("SET LOCAL statement_timeout = {ms}"))?;
                f(conn)
            }),
        }
    }
}

/// Whether the error is a query stopped at its time limit (`within`): SQLite's `in_time()`,
/// or PostgreSQL's query_canceled (57014) for the statement timeout.
pub fn timed_out(err: &DieselError) -> bool {
    let message = err.to_string();
    message.contains(TOO_LONG) || message.contains("statement timeout")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Backend;
    use crate::models::test_databases;

    #[test]
    fn a_query_past_its_time_limit_fails_as_timed_out_and_the_next_one_runs() {
        for (_db, mut conn) in test_databases() {
            let slow = match conn.backend() {
                Backend::Sqlite => "SELECT in_time()",
                Backend::Postgres => "SELECT pg_sleep(1)",
            };
            let limit = match conn.backend() {
                Backend::Sqlite => Duration::ZERO,
                Backend::Postgres => Duration::from_millis(50),
            };
            let err = conn
                .within(limit, |c| diesel::sql_query(slow).execute(c))
                .unwrap_err();
            assert!(timed_out(&err), "{err}");
            // The limit was this query's alone.
            conn.within(Duration::from_secs(5), |c| {
                diesel::sql_query(slow).execute(c)
            })
            .unwrap();
            if conn.backend() == Backend::Sqlite {
                diesel::sql_query("SELECT in_time()")
                    .execute(&mut conn)
                    .unwrap();
            }
        }
    }
}
