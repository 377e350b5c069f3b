//! The signal between servers on one PostgreSQL database (LISTEN/NOTIFY): "a room's log
//! changed: look". A write that appends to a log or deletes a room sends one in its
//! transaction, so it goes out when the transaction commits, and once per transaction however
//! many rows it wrote (PostgreSQL folds equal notifications together). A server that hears
//! one from another compares its rooms with the database at once, instead of at its next
//! timed catch-up. Only a hint: nothing is ever answered from a signal, and a server that
//! misses one still catches up on its timer.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, sql_query};

use crate::db::DbConnection;

/// The one channel.
const CHANNEL: &str = "chatroom_log";
/// The session setting that names the server a pooled connection belongs to: each signal
/// carries it, so that a server can tell its own (whose changes its memory already has) from
/// the others'.
const SERVER_SETTING: &str = "chatroom.server";

pub struct Signal;

impl Signal {
    /// Names the server this connection works for, in its signals. `server` is a tag the
    /// server made up (see `db::Db`), made of letters and digits only.
    pub fn sign_as(conn: &mut PgConnection, server: &str) -> QueryResult<()> {
        debug_assert!(server.chars().all(|c| c.is_ascii_alphanumeric()));
        conn.batch_execute(&format!("SET {SERVER_SETTING} = '{server}'"))
    }

    /// Inside a write transaction: signals the listening servers when it commits. Nothing
    /// on SQLite, where one server runs.
    pub fn send(conn: &mut DbConnection) -> QueryResult<()> {
        match conn {
            DbConnection::Postgres(conn) => sql_query(format!(
                "SELECT pg_notify('{CHANNEL}', coalesce(current_setting('{SERVER_SETTING}', true), ''))"
            ))
            .execute(conn)
            .map(drop),
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
