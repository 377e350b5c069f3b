//! The database: SQLite or PostgreSQL behind one connection type, the pool, embedded migrations
//! for each backend, and the one way to run blocking queries from async handlers.

mod backup;
mod conn;
mod deadline;
mod fault;
pub mod schema;

pub use backup::{BackupReport, backup};
pub use conn::{Backend, DbConnection, DbManager, MultiBackend};
pub use deadline::timed_out;
pub use fault::{FaultLog, Faults, StorageFault, ToLog};

use std::fmt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::web;
use anyhow::Context;
use diesel::migration::MigrationSource;
use diesel::r2d2::Pool;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// One folder per backend: their SQL differs, and so does their history (SQLite's took eight
/// steps to reach the schema that PostgreSQL starts from).
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// What `initialize` did, for the log and for `initdb`'s output.
#[derive(Debug)]
pub struct InitReport {
    /// The database as it may be shown: a SQLite path, or a PostgreSQL URL without its password.
    pub database: String,
    /// The database had no tables of ours: a new SQLite file, or an empty PostgreSQL database.
    pub created: bool,
    /// A SQLite file was made for it.
    pub new_file: bool,
    pub applied: Vec<String>,
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let database = &self.database;
        match (self.created, self.applied.is_empty()) {
            (true, _) if self.new_file => write!(f, "created database {database}")?,
            (true, _) => write!(f, "set up empty database {database}")?,
            (false, true) => return write!(f, "database {database} is up to date"),
            (false, false) => write!(f, "upgraded database {database}")?,
        }
        write!(f, "; applied migrations: {}", self.applied.join(", "))
    }
}

/// Brings the database at `url` up to date, keeping its data: a SQLite path is created if
/// missing; a PostgreSQL database must exist already (creating one takes rights the app's role
/// should not have). Applies the pending migrations, then `upkeep` (what SQL cannot do, such as
/// the stored name keys: see `models::initialize`), holding the database alone for both. Every
/// error is one line that never shows a password.
pub fn initialize_then<T>(
    url: &str,
    upkeep: impl FnOnce(&mut DbConnection) -> anyhow::Result<T>,
) -> anyhow::Result<(InitReport, T)> {
    let database = shown(url);
    let created = match Backend::of(url) {
        Backend::Sqlite => create_private(Path::new(url))?,
        Backend::Postgres => false,
    };
    let mut conn = connect(url)?;
    let (empty, applied, kept) = conn
        .exclusively(|conn| {
            let (empty, applied) = migrate(conn)?;
            let kept = upkeep(conn)?;
            Ok((empty, applied, kept))
        })
        .with_context(|| format!("cannot migrate database {database}"))?;
    let report = InitReport {
        database,
        created: created || empty,
        new_file: created,
        applied,
    };
    Ok((report, kept))
}

/// Refuses a missing SQLite file: a server command wants an existing database, not a new
/// empty one.
pub fn ensure_exists(url: &str) -> anyhow::Result<()> {
    if Backend::of(url) == Backend::Sqlite {
        anyhow::ensure!(
            Path::new(url).is_file(),
            "there is no database at {}",
            shown(url)
        );
    }
    Ok(())
}

/// A connection of its own, outside the pool; its error is one line that never shows a
/// password.
pub fn connect(url: &str) -> anyhow::Result<DbConnection> {
    DbConnection::open(url)
        .map_err(|err| anyhow::anyhow!("{}", one_line(&err.to_string())))
        .with_context(|| format!("cannot open database {}", shown(url)))
}

/// A database URL as it may be printed or logged: a PostgreSQL URL loses its password.
pub fn shown(url: &str) -> String {
    if Backend::of(url) == Backend::Sqlite {
        return url.to_owned();
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _password)) => format!("{name}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let path = path.split('?').next().unwrap_or_default();
    format!("{scheme}://{authority}/{path}")
}

/// The PostgreSQL server the tests use: `CHATROOM_TEST_POSTGRES` (a URL of any database there,
/// as a role that may create databases), or a local one set up as README "Tests" shows. The
/// load benchmark defaults to it too.
///
/// The local one without TLS: Debian's server offers it (a self-signed certificate) and libpq
/// takes it by default, and then OpenSSL's clean-up at a test binary's exit can meet the pooled
/// connections that other threads still hold ("double free or corruption", seen once in CI
/// after every test had passed). A test on this machine gains nothing from TLS.
pub fn test_postgres() -> String {
    std::env::var("CHATROOM_TEST_POSTGRES").unwrap_or_else(|_| {
        "postgres://postgres:postgres@localhost:5432/postgres?sslmode=disable".into()
    })
}

/// The PostgreSQL `url` with its database name replaced by `name`: another database on the
/// same server, as the same role (the tests and the benchmark make databases of their own).
pub fn on_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// libpq's messages run over several lines (one per address tried, then a hint): one line,
/// each distinct part once.
pub(crate) fn one_line(message: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for part in message.lines() {
        let part = part.split_whitespace().collect::<Vec<_>>().join(" ");
        if !part.is_empty() && !parts.contains(&part) {
            parts.push(part);
        }
    }
    parts.join(" ")
}

/// Creates the empty database file if it is missing, readable and writable by its owner only:
/// it holds password hashes and sessions. SQLite gives the -wal and -shm files it makes beside
/// it the same mode. Answers whether it made the file.
fn create_private(path: &Path) -> anyhow::Result<bool> {
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err).with_context(|| format!("cannot open database {}", path.display())),
    }
}

/// Applies the pending migrations of the connection's backend; answers whether the database
/// had none applied before, and the versions it applied now. A
/// database that has a migration this binary does not know was upgraded by a newer chatroom:
/// running on it could lose data, so that is an error, and nothing is applied.
fn migrate(conn: &mut DbConnection) -> anyhow::Result<(bool, Vec<String>)> {
    fn pending<C, D>(
        conn: &mut C,
        source: EmbeddedMigrations,
    ) -> anyhow::Result<(bool, Vec<String>)>
    where
        C: MigrationHarness<D>,
        D: diesel::backend::Backend,
        EmbeddedMigrations: MigrationSource<D>,
    {
        let known: Vec<String> = MigrationSource::<D>::migrations(&source)
            .map_err(|err| anyhow::anyhow!("{err}"))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
        let applied = conn
            .applied_migrations()
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        if let Some(unknown) = applied
            .iter()
            .map(ToString::to_string)
            .filter(|version| !known.contains(version))
            .max()
        {
            anyhow::bail!(
                "it was upgraded by a newer chatroom (schema version {unknown}; this binary \
                 knows up to {}): run that version or newer",
                known.last().map_or("none", String::as_str)
            );
        }
        let empty = applied.is_empty();
        let applied = conn
            .run_pending_migrations(source)
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        Ok((empty, applied.iter().map(ToString::to_string).collect()))
    }
    match conn {
        DbConnection::Sqlite(conn) => pending(conn, SQLITE_MIGRATIONS),
        DbConnection::Postgres(conn) => pending(conn, POSTGRES_MIGRATIONS),
    }
}

/// Whether the connection still reaches the database: asked only after a query failed, to
/// tell a database that went away (503, not our fault) from a bug (500).
fn connection_works(conn: &mut DbConnection) -> bool {
    use diesel::r2d2::R2D2Connection;
    !conn.is_broken() && conn.ping().is_ok()
}

/// How long a request waits for a database connection before it is answered 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// The pool, and the single door through which handlers reach it.
#[derive(Clone)]
pub struct Db {
    pool: Pool<DbManager>,
    backend: Backend,
    url: Arc<str>,
    /// Set while the database cannot be reached (no connection within the wait, or one broke
    /// under a query); cleared by the next connection that works.
    down: Arc<AtomicBool>,
    /// The storage fault met last, for the health check and the log.
    faults: Arc<Faults>,
}

impl Db {
    pub fn open(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        Self::open_with(url, max_connections, Arc::new(Faults::logged()), None)
    }

    /// `open`, remembering faults in `faults`; with `max_pages`, a SQLite database may grow to
    /// that many pages and no more (`PRAGMA max_page_count`: tests fill it as a disk fills).
    pub fn open_with(
        url: &str,
        max_connections: u32,
        faults: Arc<Faults>,
        max_pages: Option<u32>,
    ) -> anyhow::Result<Self> {
        let pool = Pool::builder()
            .max_size(max_connections)
            // Past this wait for a connection, the answer is 503 at once: a database that
            // cannot be reached must not hold every request (and the proxy's retries) for
            // long. Every query of ours takes milliseconds, so a healthy pool never waits
            // this long.
            .connection_timeout(CHECKOUT_TIMEOUT)
            // No `SELECT 1` before every use: on PostgreSQL that is a round trip per query. A
            // connection the server dropped fails its next query once, and the pool then
            // discards it (`DbManager::has_broken`).
            .test_on_check_out(false)
            .build(DbManager::new(url).with_max_pages(max_pages))
            .map_err(|err| anyhow::anyhow!("{}", one_line(&err.to_string())))
            .with_context(|| format!("cannot open database {}", shown(url)))?;
        Ok(Self {
            pool,
            backend: Backend::of(url),
            url: url.into(),
            down: Arc::default(),
            faults,
        })
    }

    /// The storage fault that stands, if any, and the log of them.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }

    /// Remembers (and reports) the storage fault `err` is, if it is one: for the callers whose
    /// database errors come back inside an answer rather than as `run_as`'s error.
    pub fn note(&self, err: &diesel::result::Error) {
        if let Some(fault) = StorageFault::of(err) {
            self.faults.met(fault, &err.to_string());
        }
    }

    /// The database's URL, for connections of their own outside the pool (`chat::signals`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the last attempt to reach the database failed.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, never on the async workers,
    /// answering in the caller's error type `E` (the web's is `AppError`, whose `Db::run` lives
    /// beside it in errors.rs: the database knows nothing of HTTP).
    pub async fn run_as<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: RunError,
    {
        let (pool, down, faults) = (self.pool.clone(), self.down.clone(), self.faults.clone());
        web::block(move || {
            let mut conn = pool.get().map_err(|err| {
                faults.met(
                    StorageFault::Unavailable,
                    &format!("no database connection: {err}"),
                );
                down.store(true, Ordering::Relaxed);
                E::unavailable()
            })?;
            down.store(false, Ordering::Relaxed);
            faults.reached();
            conn::Wrote::forget();
            let answer = match f(&mut conn) {
                // The connection died under the query (the database restarted, or is gone):
                // not a fault of ours, and the pool drops the connection.
                Err(err) if err.is_unexpected() && !connection_works(&mut conn) => {
                    faults.met(
                        StorageFault::Unavailable,
                        &format!("the database connection broke: {}", err.cause()),
                    );
                    down.store(true, Ordering::Relaxed);
                    Err(E::unavailable())
                }
                Err(err) => {
                    if let Some(fault) = err.storage_fault() {
                        faults.met(fault, &err.cause());
                    }
                    Err(err)
                }
                answer => answer,
            };
            if conn::Wrote::since_forget() {
                faults.wrote();
            }
            answer
        })
        .await
        .map_err(|err| E::unexpected(err.into()))?
    }
}

/// An error type that `Db::run_as` can answer in: it makes the two answers of its own (no
/// connection to be had, and a failure of the blocking pool), and asks of the caller's errors
/// which may be a broken connection's doing.
pub trait RunError: Send + 'static {
    /// The database cannot be reached.
    fn unavailable() -> Self;
    /// Something nobody expects happened.
    fn unexpected(err: anyhow::Error) -> Self;
    /// Whether this is such an error: the kind a connection that broke under a query gives,
    /// which the runner then checks the connection for.
    fn is_unexpected(&self) -> bool;
    /// The error with its causes, for the log.
    fn cause(&self) -> String;
    /// The storage fault this error is, if it is one.
    fn storage_fault(&self) -> Option<StorageFault>;
}

/// Why a query of the layers below the web gave no answer (their callers only log it).
#[derive(Debug)]
pub enum DbError {
    Unavailable,
    /// A storage fault met under a query, with the database's words.
    Storage(StorageFault, String),
    Failed(anyhow::Error),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable => write!(f, "the database is unavailable"),
            Self::Storage(fault, cause) => write!(f, "{}: {cause}", fault.code()),
            Self::Failed(err) => write!(f, "{err:#}"),
        }
    }
}

impl From<diesel::result::Error> for DbError {
    fn from(err: diesel::result::Error) -> Self {
        // A closed connection is a storage fault too (the database restarted or is gone): the
        // pool drops the connection.
        match StorageFault::of(&err) {
            Some(fault) => Self::Storage(fault, err.to_string()),
            None => Self::Failed(err.into()),
        }
    }
}

impl RunError for DbError {
    fn unavailable() -> Self {
        Self::Unavailable
    }

    fn unexpected(err: anyhow::Error) -> Self {
        Self::Failed(err)
    }

    fn is_unexpected(&self) -> bool {
        matches!(self, Self::Failed(_))
    }

    fn cause(&self) -> String {
        match self {
            Self::Unavailable => self.to_string(),
            Self::Storage(_, cause) => cause.clone(),
            Self::Failed(err) => format!("{err:#}"),
        }
    }

    fn storage_fault(&self) -> Option<StorageFault> {
        match self {
            Self::Unavailable => Some(StorageFault::Unavailable),
            Self::Storage(fault, _) => Some(*fault),
            Self::Failed(_) => None,
        }
    }
}
