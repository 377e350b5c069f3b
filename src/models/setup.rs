//! A database made ready for use: db's migrations, then what SQL cannot compute: the stored
//! name keys (see `key_refresh`) and the HTML of messages stored before it was rendered.

use super::key_refresh::{self, NameClash};
use crate::db::{self, DbConnection, InitReport};
use crate::models::LogEntry;

/// Brings the database at `url` up to date (see `db::initialize_then`), keeping its data, and
/// answers with the names whose key could not be brought up to date: each names both rows, for
/// the operator to rename one. The server runs meanwhile.
pub fn initialize(url: &str) -> anyhow::Result<(InitReport, Vec<NameClash>)> {
    db::initialize_then(url, |conn| {
        let clashes = key_refresh::refresh(conn)
            .map_err(|err| anyhow::anyhow!("cannot update the name keys: {err}"))?;
        LogEntry::render_unrendered(conn)
            .map_err(|err| anyhow::anyhow!("cannot render the earlier messages: {err}"))?;
        LogEntry::index_unindexed(conn)
            .map_err(|err| anyhow::anyhow!("cannot index the earlier messages: {err}"))?;
        Ok(clashes)
    })
}

/// Opens an existing database for a server command (bringing it up to date first, as `serve`
/// would); a missing SQLite file is an error rather than a new empty database.
pub fn open_existing(url: &str) -> anyhow::Result<DbConnection> {
    db::ensure_exists(url)?;
    initialize(url)?;
    db::connect(url)
}
