//! The one connection type the models take: SQLite or PostgreSQL, chosen from the URL. Its own
//! module because the derive writes a `multi_connection_impl` module and a `MultiBackend` type
//! beside the enum.

use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, Connection, SimpleConnection, TransactionManager,
};
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::result::Error as DieselError;
use diesel::{ConnectionError, PgConnection, QueryResult, SqliteConnection};

use super::deadline;

/// Which database a URL names: `postgres://` or `postgresql://` is PostgreSQL; anything else
/// is a SQLite path, as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// How long a SQLite connection waits for another writer's lock before giving up with "busy".
const BUSY_TIMEOUT_MS: u32 = 5_000;

impl DbConnection {
    /// Opens the backend the URL names, and nothing else. The derived `establish` tries each
    /// backend in turn and throws their errors away ("Invalid connection url"), so a wrong
    /// password would read the same as a typo in the scheme.
    pub fn open(url: &str) -> Result<Self, ConnectionError> {
        let mut conn = match Backend::of(url) {
            Backend::Sqlite => Self::Sqlite(SqliteConnection::establish(url)?),
            Backend::Postgres => Self::Postgres(PgConnection::establish(url)?),
        };
        conn.set_up()
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        Ok(conn)
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applied to every connection, pooled or not.
    /// SQLite: synchronous=FULL, so that an acknowledged message survives a power cut; the
    /// `in_time()` function that time limits use (`db::deadline`).
    /// PostgreSQL: nothing. Diesel's `PgConnection::establish` already says `SET TIME ZONE
    /// 'UTC'`, which is what lets the naive-UTC `Timestamp` values it binds land in our
    /// `timestamptz` columns unshifted (the server converts in the session's zone).
    fn set_up(&mut self) -> diesel::QueryResult<()> {
        match self {
            Self::Sqlite(conn) => {
                conn.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))?;
                // Switching a new file to WAL takes its exclusive lock, and SQLite may answer
                // "database is locked" at once rather than wait, when servers start together.
                let mut tries = 0;
                while let Err(err) = conn.batch_execute("PRAGMA journal_mode = WAL;") {
                    tries += 1;
                    if tries == 50 || !err.to_string().contains("locked") {
                        return Err(err);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                conn.batch_execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
                deadline::register(conn)
            }
            Self::Postgres(_) => Ok(()),
        }
    }

    /// Runs `f` while no other process runs an `exclusively` of its own on this database:
    /// migrations and the name-key refresh, which several servers starting at once on one
    /// database would otherwise run twice, side by side (the second failing on "table users
    /// already exists"). PostgreSQL: a session advisory lock, let go however `f` ends.
    /// SQLite: one write transaction around it all (each migration a savepoint inside), so
    /// the others wait on the database's write lock and then find nothing left to do.
    pub fn exclusively<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        /// Any number, as long as it is always the same one: "chatroom" in ASCII.
        const START_LOCK: i64 = 0x6368_6174_726f_6f6d;
        if self.backend() == Backend::Sqlite {
            return self.write_transaction(f);
        }
        self.batch_execute(&format!("SELECT pg_advisory_lock({START_LOCK})"))?;
        let out = f(self);
        let unlocked = self.batch_execute(&format!("SELECT pg_advisory_unlock({START_LOCK})"));
        let out = out?;
        unlocked?;
        Ok(out)
    }

    /// Runs `f` with a time limit: past it, its statement fails (see `db::timed_out`). On
    /// PostgreSQL inside a transaction of its own (`SET LOCAL`); on SQLite only the statements
    /// that call `in_time()` are stopped (see `db::deadline`).
    pub fn within<T>(
        &mut self,
        limit: Duration,
        f: impl FnOnce(&mut Self) -> QueryResult<T>,
    ) -> QueryResult<T> {
        match self {
            Self::Sqlite(_) => {
                let _armed = deadline::Armed::for_(limit);
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

    /// Runs `f`'s reads on one snapshot of the database, so that several statements agree
    /// with each other: a deferred `BEGIN` on SQLite (in WAL mode, its first read fixes the
    /// snapshot), `REPEATABLE READ READ ONLY` on PostgreSQL. Inside an open transaction, `f`
    /// runs in it.
    pub fn read_transaction<T, E>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DieselError>,
    {
        if self.in_transaction() {
            return f(self);
        }
        match self {
            Self::Sqlite(conn) => AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN")?,
            Self::Postgres(conn) => AnsiTransactionManager::begin_transaction_sql(
                conn,
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            )?,
        }
        match f(self) {
            Ok(value) => {
                <Self as TransactionManager<Self>>::commit_transaction(self)?;
                Ok(value)
            }
            // The reads' own error says more than a failed rollback would.
            Err(err) => {
                let _ = <Self as TransactionManager<Self>>::rollback_transaction(self);
                Err(err)
            }
        }
    }

    /// Whether a transaction is open on this connection.
    pub fn in_transaction(&mut self) -> bool {
        <Self as TransactionManager<Self>>::transaction_manager_status_mut(self)
            .transaction_depth()
            .is_ok_and(|depth| depth.is_some())
    }

    /// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (the database's one write
    /// lock, taken up front, so a check-then-write inside `f` is safe), a plain `BEGIN` (READ
    /// COMMITTED) on PostgreSQL, where `f` must take its own row locks. Inside an open
    /// transaction, a savepoint. `SqliteConnection::immediate_transaction` cannot be used: it
    /// hands `f` the inner connection, and the models take this enum.
    pub fn write_transaction<T, E>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DieselError>,
    {
        let nested = <Self as TransactionManager<Self>>::transaction_manager_status_mut(self)
            .transaction_depth()?
            .is_some();
        match self {
            _ if nested => <Self as TransactionManager<Self>>::begin_transaction(self)?,
            Self::Sqlite(conn) => {
                AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")?
            }
            Self::Postgres(conn) => AnsiTransactionManager::begin_transaction(conn)?,
        }
        match f(self) {
            Ok(value) => {
                <Self as TransactionManager<Self>>::commit_transaction(self)?;
                if !nested {
                    Wrote::now();
                }
                Ok(value)
            }
            // `f`'s own error says what went wrong, even when rolling back fails too: SQLite
            // rolls a transaction back by itself after some errors (SQLITE_FULL among them),
            // and the rollback then finds no transaction or savepoint ("no such savepoint:
            // diesel_savepoint_1"), which must not hide a full disk. Diesel marks such a
            // connection broken, and the pool drops it.
            Err(err) => {
                let _ = <Self as TransactionManager<Self>>::rollback_transaction(self);
                Err(err)
            }
        }
    }
}

thread_local! {
    static WROTE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a write transaction committed on this thread since `forget`: how `Db::run_as`
/// learns that the storage takes writes again, whichever query wrote, at the cost of a
/// thread-local flag rather than a question to the database.
pub(super) struct Wrote;

impl Wrote {
    fn now() {
        WROTE.set(true);
    }

    pub(super) fn forget() {
        WROTE.set(false);
    }

    pub(super) fn since_forget() -> bool {
        WROTE.get()
    }
}

/// The pool's manager: the URL decides the backend once, and every connection gets `set_up`.
#[derive(Debug, Clone)]
pub struct DbManager {
    url: String,
    /// SQLite's `max_page_count` for every connection (see `Db::open_with`).
    max_pages: Option<u32>,
}

impl DbManager {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_pages: None,
        }
    }

    pub fn with_max_pages(self, max_pages: Option<u32>) -> Self {
        Self { max_pages, ..self }
    }
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let mut conn =
            DbConnection::open(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        if let (Some(pages), DbConnection::Sqlite(sqlite)) = (self.max_pages, &mut conn) {
            sqlite
                .batch_execute(&format!("PRAGMA max_page_count = {pages};"))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use super::*;
    use crate::db::timed_out;
    use crate::models::test_databases;

    #[test]
    fn a_query_past_its_time_limit_fails_as_timed_out_and_the_next_one_runs() {
        for (_db, mut conn) in test_databases() {
            let (slow, limit) = match conn.backend() {
                Backend::Sqlite => ("SELECT in_time()", Duration::ZERO),
                Backend::Postgres => ("SELECT pg_sleep(1)", Duration::from_millis(50)),
            };
            let err = conn
                .within(limit, |c| diesel::sql_query(slow).execute(c))
                .unwrap_err();
            assert!(timed_out(&err), "{err}");
            // The limit was that query's alone.
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
