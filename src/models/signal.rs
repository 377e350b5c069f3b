//! The signal between servers on one PostgreSQL database (LISTEN/NOTIFY): "a room's log
//! changed: look". A server sends one after its writes commit (see `chat::signals`), naming
//! itself; a server that hears one from another compares its rooms with the database at once,
//! instead of at its next timed catch-up. Only a hint: nothing is ever answered from a signal,
//! and a server that misses one still catches up on its timer.
//!
//! Never from inside a write's transaction: PostgreSQL holds one lock for the whole database
//! from a notifying transaction's commit until its commit record is on disk, so notifying
//! writes would commit one at a time. The sender's connection commits its notifications
//! without waiting for the disk (a signal lost in a crash costs nothing).

use diesel::PgConnection;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::DbConnection;

/// The one channel.
const CHANNEL: &str = "chatroom_log";

pub struct Signal;

impl Signal {
    /// Readies a connection of its own (never pooled) to send signals.
    pub fn prepare_sender(conn: &mut PgConnection) -> QueryResult<()> {
        conn.batch_execute("SET synchronous_commit = off")
    }

    /// Signals every listening server; `from` names the sender, which ignores its own.
    pub fn send(conn: &mut PgConnection, from: &str) -> QueryResult<()> {
        diesel::sql_query(format!("SELECT pg_notify('{CHANNEL}', $1)"))
            .bind::<Text, _>(from)
            .execute(conn)
            .map(drop)
    }

    /// Signals from a server command, on its own connection: nothing on SQLite, where no
    /// server listens.
    pub fn send_from_command(conn: &mut DbConnection) -> QueryResult<()> {
        match conn {
            DbConnection::Postgres(conn) => Self::send(conn, ""),
            DbConnection::Sqlite(_) => Ok(()),
        }
    }

    /// Starts receiving the signals on this connection (a dedicated one, never pooled).
    pub fn listen(conn: &mut PgConnection) -> QueryResult<()> {
        conn.batch_execute(&format!("LISTEN {CHANNEL}"))
    }

    /// A round trip, to find out whether a listening connection still works.
    pub fn still_listening(conn: &mut PgConnection) -> QueryResult<()> {
        conn.batch_execute("SELECT 1")
    }

    /// Whether a server other than `server` (or a command) signalled since the last call.
    /// Never waits: it reads only what already reached the connection. An error means the
    /// connection is lost.
    pub fn heard_from_others(conn: &mut PgConnection, server: &str) -> QueryResult<bool> {
        let mut heard = false;
        for notification in conn.notifications_iter() {
            heard |= notification?.payload != server;
        }
        Ok(heard)
    }
}
