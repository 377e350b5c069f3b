//! Signals between servers on one PostgreSQL database (see `models::signal`): each server
//! tells the others when its writes changed a room's log, and wakes its own catch-up when
//! another's did, so that a message committed through one server reaches the others' memory
//! within milliseconds rather than at their next timed round. Only hints: catch-up runs on its
//! timer all the same, and what it answers comes from the database, never from a signal.
//!
//! Two threads, each with a connection of its own outside the pool. The sender sends one
//! signal for every pulse, or one for all the pulses that came while it was busy, so at most
//! one every `SEND_AT_MOST_EVERY`: a burst of commits costs the database a few signals, not
//! one each. The listener keeps a LISTEN connection open; diesel reads notifications without
//! waiting, so it looks every `LOOK_EVERY` (a read of the socket's buffer, no round trip).
//! Either opens a lost connection again by itself, and each new listening connection wakes
//! catch-up, for whatever was signalled while nobody listened.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection};
use rand::distr::{Alphanumeric, SampleString};
use tokio::sync::Notify;

use crate::db::one_line;
use crate::models::Signal;

/// The least time between two signals this server sends.
const SEND_AT_MOST_EVERY: Duration = Duration::from_millis(10);
/// How often the listener reads what reached its connection.
const LOOK_EVERY: Duration = Duration::from_millis(10);
/// How often it asks the database whether the connection still works. A connection the
/// database ended (a restart, `pg_terminate_backend`) shows up at once, at the next read; one
/// that died without a word (a cable pulled) only when this round trip fails, which can take
/// as long as the system's TCP timeouts. Catch-up's timer covers the wait.
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// The wait before opening a lost connection again, doubled up to `RETRY_AT_MOST`.
const RETRY_FIRST: Duration = Duration::from_millis(250);
const RETRY_AT_MOST: Duration = Duration::from_secs(5);

/// This server's end of the signals: `pulse` after a write that changed a room's log.
pub struct Signals {
    /// Room for one pulse: a pulse that finds it taken is already on its way.
    pulses: Option<SyncSender<()>>,
}

impl Signals {
    /// No other server to tell or hear (SQLite).
    pub fn none() -> Self {
        Self { pulses: None }
    }

    /// Starts the sender and the listener on the database at `url`. The listener wakes `wake`
    /// when another server signals, and ends when `wake` is dropped; the sender ends with
    /// this value.
    pub fn start(url: &str, wake: &Arc<Notify>) -> std::io::Result<Self> {
        // Names this server in its signals, so that its listener can skip its own.
        let server = Alphanumeric.sample_string(&mut rand::rng(), 16);
        let (pulses, received) = sync_channel(1);
        let (url_s, server_s) = (url.to_owned(), server.clone());
        thread::Builder::new()
            .name("chatroom-signals".into())
            .spawn(move || send(&url_s, &server_s, &received))?;
        let (url_l, wake) = (url.to_owned(), Arc::downgrade(wake));
        thread::Builder::new()
            .name("chatroom-listener".into())
            .spawn(move || listen(&url_l, &server, &wake))?;
        Ok(Self {
            pulses: Some(pulses),
        })
    }

    /// Tells the other servers, soon and without waiting, that a write of this one changed a
    /// room's log (call after it committed).
    pub fn pulse(&self) {
        if let Some(pulses) = &self.pulses {
            let _ = pulses.try_send(());
        }
    }
}

/// Opens a connection and readies it with `ready`, as one line of error.
fn open(
    url: &str,
    ready: fn(&mut PgConnection) -> diesel::QueryResult<()>,
) -> Result<PgConnection, String> {
    let mut conn = PgConnection::establish(url).map_err(|err| err.to_string())?;
    ready(&mut conn).map_err(|err| err.to_string())?;
    Ok(conn)
}

/// The sender: a signal per pulse, at most one every `SEND_AT_MOST_EVERY`, until `Signals`
/// is dropped. A signal it cannot send is dropped (the others' timers cover it); the
/// connection is opened again at the next pulse.
fn send(url: &str, server: &str, pulses: &Receiver<()>) {
    let mut conn: Option<PgConnection> = None;
    let mut failing = false;
    while pulses.recv().is_ok() {
        if conn.is_none() {
            conn = open(url, Signal::prepare_sender)
                .inspect_err(|err| {
                    if !failing {
                        log::warn!("cannot signal other servers: {}", one_line(err));
                    }
                    failing = true;
                })
                .ok();
        }
        if let Some(c) = conn.as_mut() {
            match Signal::send(c, server) {
                Ok(()) => failing = false,
                Err(err) => {
                    if !failing {
                        log::warn!(
                            "cannot signal other servers: {}",
                            one_line(&err.to_string())
                        );
                    }
                    failing = true;
                    conn = None;
                }
            }
        }
        thread::sleep(SEND_AT_MOST_EVERY);
    }
}

/// The listener: wakes `wake` at each signal from another server, until `wake` is dropped.
fn listen(url: &str, server: &str, wake: &Weak<Notify>) {
    let mut retry = RETRY_FIRST;
    while wake.strong_count() > 0 {
        let opened = Instant::now();
        let mut conn = match open(url, Signal::listen) {
            Ok(conn) => conn,
            Err(err) => {
                log::warn!(
                    "cannot listen for other servers' writes (catch-up goes on every {} ms; \
                     trying again in {} ms): {}",
                    super::background::CATCH_UP_EVERY.as_millis(),
                    retry.as_millis(),
                    one_line(&err)
                );
                thread::sleep(retry);
                retry = (retry * 2).min(RETRY_AT_MOST);
                continue;
            }
        };
        // Whatever was signalled while nobody listened: look now.
        if let Some(wake) = wake.upgrade() {
            wake.notify_one();
        }
        match hear(&mut conn, server, wake) {
            Ok(()) => return,
            Err(err) => log::warn!(
                "lost the connection that listens for other servers' writes: {}",
                one_line(&err.to_string())
            ),
        }
        // A connection that keeps being lost at once is opened again ever more slowly.
        if opened.elapsed() < CHECK_EVERY {
            thread::sleep(retry);
            retry = (retry * 2).min(RETRY_AT_MOST);
        } else {
            retry = RETRY_FIRST;
        }
    }
}

/// Wakes catch-up at each signal from another server, until the server stops (`Ok`) or the
/// connection fails.
fn hear(conn: &mut PgConnection, server: &str, wake: &Weak<Notify>) -> diesel::QueryResult<()> {
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
    use crate::models::{TestDatabase, test_databases};

    /// Whether `wake` is woken within `within`.
    async fn woken(wake: &Notify, within: Duration) -> bool {
        timeout(within, wake.notified()).await.is_ok()
    }

    /// Forgets a wake-up already stored (a signal may arrive while catch-up is awake).
    async fn settle(wake: &Notify) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = timeout(Duration::from_millis(50), wake.notified()).await;
    }

    #[tokio::test]
    async fn a_servers_pulse_wakes_the_others_not_itself_and_lost_connections_come_back() {
        let databases = test_databases();
        // Without a PostgreSQL server here there is nothing to signal through (and under CI,
        // test_databases fails).
        let Some(url) = databases.iter().find_map(|(db, _)| match db {
            TestDatabase::Postgres { admin_url, name } => {
                Some(crate::db::on_database(admin_url, name))
            }
            TestDatabase::Sqlite(_) => None,
        }) else {
            crate::test_programs::skip_without_postgres(&crate::db::shown(
                &crate::db::test_postgres(),
            ));
            return;
        };
        let (wake_a, wake_b) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let a = Signals::start(&url, &wake_a).expect("server A's signals start");
        let b = Signals::start(&url, &wake_b).expect("server B's signals start");
        for wake in [&wake_a, &wake_b] {
            assert!(
                woken(wake, Duration::from_secs(10)).await,
                "a new listening connection wakes catch-up, for what it may have missed"
            );
            settle(wake).await;
        }

        a.pulse();
        assert!(
            woken(&wake_b, Duration::from_secs(5)).await,
            "A's write wakes B's catch-up"
        );
        assert!(
            !woken(&wake_a, Duration::from_millis(500)).await,
            "A's own writes are in its memory already: no wake-up"
        );

        // A server command's signal wakes everyone.
        let mut command = DbConnection::open(&url).expect("the database opens");
        Signal::send_from_command(&mut command).expect("sent");
        for wake in [&wake_a, &wake_b] {
            assert!(
                woken(wake, Duration::from_secs(5)).await,
                "a command wakes all"
            );
        }

        // The database ends every other connection: both servers' senders and listeners.
        command
            .batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .expect("connections ended");
        for wake in [&wake_a, &wake_b] {
            assert!(
                woken(wake, Duration::from_secs(10)).await,
                "the listener connects again and wakes catch-up to resynchronise"
            );
            settle(wake).await;
        }
        // A's sender (whose connection was ended with the others) finds it gone at the first
        // pulse, and opens a new one at the next.
        a.pulse();
        tokio::time::sleep(Duration::from_millis(100)).await;
        settle(&wake_b).await;
        a.pulse();
        assert!(
            woken(&wake_b, Duration::from_secs(5)).await,
            "signals go and are heard again on new connections"
        );
        // B's sender, which had not sent yet, opens its first connection now.
        b.pulse();
        assert!(
            woken(&wake_a, Duration::from_secs(5)).await,
            "B's signals too"
        );
        drop((wake_a, wake_b));
    }
}
