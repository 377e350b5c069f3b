//! Hears the other servers' signals on a PostgreSQL database (see `models::signal`) and wakes
//! catch-up, so that a message another server committed reaches this one's memory within
//! milliseconds rather than at the next timed round. Only a hint: catch-up runs on its timer
//! all the same, and what it answers comes from the database, never from the signal.
//!
//! The listener has a connection of its own, outside the pool, on a thread of its own: a
//! LISTEN connection must stay open, and diesel reads notifications without waiting, so the
//! thread looks every `LOOK_EVERY` (a read of the socket's buffer, no round trip). A lost
//! connection is opened again by itself; each new connection wakes catch-up, for whatever
//! was signalled while nobody listened.

use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection};
use tokio::sync::Notify;

use crate::models::Signal;

/// How often the thread reads what reached its connection.
const LOOK_EVERY: Duration = Duration::from_millis(10);
/// How often it asks the database whether the connection still works, for a connection that
/// died without a word (a database restarted behind a proxy, a cable pulled).
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// The wait before opening a lost connection again, doubled up to `RETRY_AT_MOST`.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_AT_MOST: Duration = Duration::from_secs(5);

/// Starts the listener for the server tagged `server` on the database at `url`. It wakes
/// `wake` when another server signals, and ends when `wake` is dropped (the server stopped).
pub fn spawn(url: &str, server: &str, wake: &Arc<Notify>) -> std::io::Result<()> {
    let (url, server, wake) = (url.to_owned(), server.to_owned(), Arc::downgrade(wake));
    thread::Builder::new()
        .name("chatroom-listener".into())
        .spawn(move || run(&url, &server, &wake))
        .map(drop)
}

fn run(url: &str, server: &str, wake: &Weak<Notify>) {
    let mut retry = RETRY_FIRST;
    while wake.strong_count() > 0 {
        let mut conn = match PgConnection::establish(url)
            .map_err(|err| err.to_string())
            .and_then(|mut conn| match Signal::listen(&mut conn) {
                Ok(()) => Ok(conn),
                Err(err) => Err(err.to_string()),
            }) {
            Ok(conn) => conn,
            Err(err) => {
                log::warn!(
                    "cannot listen for other servers' writes (catch-up goes on every {} ms; \
                     trying again in {} ms): {}",
                    super::background::CATCH_UP_EVERY.as_millis(),
                    retry.as_millis(),
                    err.lines().next().unwrap_or_default()
                );
                thread::sleep(retry);
                retry = (retry * 2).min(RETRY_AT_MOST);
                continue;
            }
        };
        retry = RETRY_FIRST;
        log::debug!("listening for other servers' writes");
        // Whatever was signalled while nobody listened: look now.
        if let Some(wake) = wake.upgrade() {
            wake.notify_one();
        }
        match listen(&mut conn, server, wake) {
            Ok(()) => return,
            Err(err) => {
                log::warn!("lost the connection that listens for other servers' writes: {err}")
            }
        }
    }
}

/// Wakes catch-up at each signal from another server, until the server stops (`Ok`) or the
/// connection fails.
fn listen(conn: &mut PgConnection, server: &str, wake: &Weak<Notify>) -> diesel::QueryResult<()> {
    let mut checked = Instant::now();
    loop {
        let Some(wake) = wake.upgrade() else {
            return Ok(());
        };
        if Signal::heard_from_others(conn, server)? {
            wake.notify_one();
        }
        drop(wake);
        if checked.elapsed() >= CHECK_EVERY {
            Signal::still_listening(conn)?;
            checked = Instant::now();
        }
        thread::sleep(LOOK_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use tokio::time::timeout;

    use super::*;
    use crate::db::DbConnection;
    use crate::domain::{MessageText, RoomName, Username};
    use crate::models::{Changes, LogEntry, Room, TestDatabase, User, test_databases};

    /// Whether `wake` is woken within `within`.
    async fn woken(wake: &Notify, within: Duration) -> bool {
        timeout(within, wake.notified()).await.is_ok()
    }

    /// Forgets a wake-up already stored (two signals may wake once each).
    async fn settle(wake: &Notify) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = timeout(Duration::from_millis(50), wake.notified()).await;
    }

    /// A connection to `url` that signs its signals as `server`.
    fn signed(url: &str, server: &str) -> DbConnection {
        let mut conn = DbConnection::open(url).expect("the database opens");
        let DbConnection::Postgres(pg) = &mut conn else {
            panic!("a PostgreSQL database")
        };
        Signal::sign_as(pg, server).expect("signed");
        conn
    }

    fn post(conn: &mut DbConnection, room_id: i32, author_id: i32, text: &str) {
        let text = MessageText::parse(text).expect("a message");
        LogEntry::post(
            conn,
            room_id,
            author_id,
            &text,
            None,
            &mut Changes::default(),
        )
        .expect("posted");
    }

    #[tokio::test]
    async fn other_servers_writes_wake_catch_up_and_a_lost_connection_comes_back() {
        let databases = test_databases();
        // Without a PostgreSQL server here there is nothing to listen to (and under CI,
        // test_databases fails).
        let Some(url) = databases.iter().find_map(|(db, _)| match db {
            TestDatabase::Postgres { admin_url, name } => {
                Some(crate::db::on_database(admin_url, name))
            }
            TestDatabase::Sqlite(_) => None,
        }) else {
            return;
        };
        let mut other = signed(&url, "otherserver");
        let c = &mut Changes::default();
        let ann = User::create(&mut other, &Username::parse("ann").unwrap(), "x").unwrap();
        let room = Room::create(&mut other, &RoomName::parse("Kitchen").unwrap(), ann.id, c)
            .expect("a room");
        Room::enter(&mut other, room.id, ann.id, c).expect("inside");

        let wake = Arc::new(Notify::new());
        spawn(&url, "thisserver", &wake).expect("the listener starts");
        assert!(
            woken(&wake, Duration::from_secs(10)).await,
            "a new listening connection wakes catch-up, for what it may have missed"
        );
        settle(&wake).await;

        post(&mut other, room.id, ann.id, "from another server");
        assert!(
            woken(&wake, Duration::from_secs(5)).await,
            "another server's committed post wakes catch-up"
        );
        settle(&wake).await;

        let mut own = signed(&url, "thisserver");
        post(&mut own, room.id, ann.id, "from this server");
        assert!(
            !woken(&wake, Duration::from_millis(500)).await,
            "this server's own posts are in its memory already: no wake-up"
        );

        // The database ends every other connection, the listener's among them.
        own.batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .expect("connections ended");
        assert!(
            woken(&wake, Duration::from_secs(10)).await,
            "the listener connects again and wakes catch-up to resynchronise"
        );
        settle(&wake).await;
        let mut other = signed(&url, "otherserver");
        post(&mut other, room.id, ann.id, "after the reconnection");
        assert!(
            woken(&wake, Duration::from_secs(5)).await,
            "signals are heard again on the new connection"
        );
        drop(wake);
    }
}
