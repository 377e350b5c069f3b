//! The database: SQLite or PostgreSQL behind one connection type, the pool, embedded migrations
//! for each backend, and the one way to run blocking queries from async handlers.

mod conn;
pub mod schema;

pub use conn::{Backend, DbConnection, DbManager, MultiBackend};

use std::fmt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::web;
use anyhow::Context;
use diesel::r2d2::Pool;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::errors::AppError;
use crate::models::name_key::{self, NameClash};

/// One folder per backend: their SQL differs, and so does their history (SQLite's took eight
/// steps to reach the schema that PostgreSQL starts from).
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

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
    let applied = migrate(&mut conn)
        .map_err(|err| anyhow::anyhow!("{err}"))
        .with_context(|| format!("cannot migrate database {}", path.display()))?;
    let clashes = name_key::refresh(&mut conn)
        .with_context(|| format!("cannot update the name keys in {}", path.display()))?;
    Ok(InitReport {
        path: path.to_owned(),
        created,
        applied,
        clashes,
    })
}

/// Applies the pending migrations to the database at `url` (SQLite path or PostgreSQL URL;
/// a PostgreSQL database must exist already) and brings the name keys up to date.
pub fn initialize_url(url: &str) -> anyhow::Result<Vec<String>> {
    let mut conn =
        DbConnection::open(url).with_context(|| format!("cannot open database {url}"))?;
    let applied = migrate(&mut conn)
        .map_err(|err| anyhow::anyhow!("{err}"))
        .with_context(|| format!("cannot migrate database {url}"))?;
    name_key::refresh(&mut conn)
        .with_context(|| format!("cannot update the name keys in {url}"))?;
    Ok(applied)
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

/// Applies the pending migrations of the connection's backend; answers their versions.
fn migrate(conn: &mut DbConnection) -> diesel::migration::Result<Vec<String>> {
    let names = |applied: Vec<diesel::migration::MigrationVersion<'_>>| {
        applied.iter().map(ToString::to_string).collect()
    };
    match conn {
        DbConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE_MIGRATIONS).map(names),
        DbConnection::Postgres(conn) => conn.run_pending_migrations(POSTGRES_MIGRATIONS).map(names),
    }
}

fn establish(path: &Path) -> anyhow::Result<DbConnection> {
    let url = path
        .to_str()
        .with_context(|| format!("database path {} is not valid UTF-8", path.display()))?;
    DbConnection::open(url).with_context(|| format!("cannot open database {}", path.display()))
}

/// The pool, and the single door through which handlers reach it.
#[derive(Clone)]
pub struct Db {
    pool: Pool<DbManager>,
}

impl Db {
    pub fn open(path: &Path, max_connections: u32) -> anyhow::Result<Self> {
        let url = path
            .to_str()
            .with_context(|| format!("database path {} is not valid UTF-8", path.display()))?;
        let pool = Pool::builder()
            .max_size(max_connections)
            .connection_timeout(Duration::from_secs(10))
            .build(DbManager::new(url))
            .with_context(|| format!("cannot open database {}", path.display()))?;
        Ok(Self { pool })
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, never on the async workers.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
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
