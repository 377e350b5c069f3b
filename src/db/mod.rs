//! The database: connection pool with our PRAGMAs, embedded migrations, and the one way to run
//! blocking queries from async handlers.

pub mod schema;

use std::fmt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::web;
use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::errors::AppError;
use crate::models::name_key::{self, NameClash};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How long a connection waits for another writer's lock before giving up with "busy".
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// Applied to every connection, pooled or not. synchronous=FULL: once a message is acknowledged,
/// it survives a crash or a power cut (WAL with NORMAL could lose the last commits).
fn apply_pragmas(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;"
    ))
}

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        apply_pragmas(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// What `initialize` did, for the log and for `initdb`'s output.
#[derive(Debug)]
pub struct InitReport {
    pub path: PathBuf,
    pub created: bool,
    pub applied: Vec<String>,
    /// Names whose key could not be brought up to date (see `models::name_key`): each names
    /// both rows, for the operator to rename one. The server runs meanwhile.
    pub clashes: Vec<NameClash>,
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match (self.created, self.applied.is_empty()) {
            (true, _) => write!(f, "created database {path}")?,
            (false, true) => return write!(f, "database {path} is up to date"),
            (false, false) => write!(f, "upgraded database {path}")?,
        }
        write!(f, "; applied migrations: {}", self.applied.join(", "))
    }
}

/// Creates the database file if it is missing, applies the pending migrations, keeping data,
/// and brings the stored name keys up to date (SQL cannot compute them).
pub fn initialize(path: &Path) -> anyhow::Result<InitReport> {
    let created = !path.exists();
    if created {
        create_private(path)?;
    }
    let mut conn = establish(path)?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|err| anyhow::anyhow!("{err}"))
        .with_context(|| format!("cannot migrate database {}", path.display()))?
        .iter()
        .map(ToString::to_string)
        .collect();
    let clashes = name_key::refresh(&mut conn)
        .with_context(|| format!("cannot update the name keys in {}", path.display()))?;
    Ok(InitReport {
        path: path.to_owned(),
        created,
        applied,
        clashes,
    })
}

/// Creates the empty database file readable and writable by its owner only: it holds password
/// hashes and sessions. SQLite gives the -wal and -shm files it makes beside it the same mode.
fn create_private(path: &Path) -> anyhow::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open database {}", path.display()))?;
    Ok(())
}

fn establish(path: &Path) -> anyhow::Result<SqliteConnection> {
    let url = path
        .to_str()
        .with_context(|| format!("database path {} is not valid UTF-8", path.display()))?;
    let mut conn = SqliteConnection::establish(url)
        .with_context(|| format!("cannot open database {}", path.display()))?;
    apply_pragmas(&mut conn).with_context(|| format!("cannot use database {}", path.display()))?;
    Ok(conn)
}

/// The pool, and the single door through which handlers reach it.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<SqliteConnection>>,
}

impl Db {
    pub fn open(path: &Path, max_connections: u32) -> anyhow::Result<Self> {
        let url = path
            .to_str()
            .with_context(|| format!("database path {} is not valid UTF-8", path.display()))?;
        let pool = Pool::builder()
            .max_size(max_connections)
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(Pragmas))
            .build(ConnectionManager::new(url))
            .with_context(|| format!("cannot open database {}", path.display()))?;
        Ok(Self { pool })
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, never on the async workers.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut SqliteConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(AppError::internal)?;
            f(&mut conn)
        })
        .await
        .map_err(AppError::internal)?
    }
}
