//! The service's background work: writing read marks, and catching up with what other
//! processes committed to the rooms whose latest entries this one keeps in memory.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix_web::rt::task::JoinHandle;
use tokio::sync::Notify;
use tokio::time::MissedTickBehavior;

use crate::db::{Db, DbConnection};
use crate::errors::AppError;
use crate::live::attention::REREAD;
use crate::live::shared::SharedPresence;
use crate::live::{Live, TAIL, lobby_clock};
use crate::models::presence_rows::PresenceRows;
use crate::models::read::RoomRead;
use crate::models::{LogEntry, ModelError, Notice, Room};

/// How often memory compares its rooms' heads with the database's. A message another process
/// committed reaches this one's pollers within this, plus their next poll; on PostgreSQL,
/// the other server's signal usually brings it much sooner (see `signals`).
pub const CATCH_UP_EVERY: Duration = Duration::from_millis(250);
/// Every how many catch-up rounds the lobby's version is read (see `live::lobby_clock`): a
/// sidebar learns of a change within a second, plus a poll.
const LOBBY_EVERY: u32 = 4;

/// Writes read marks taken from `live.reads`; if the write fails, hands them back so that
/// they are written later.
pub async fn record_read_marks(
    db: &Db,
    live: &Live,
    marks: Vec<(i32, i32, i32)>,
) -> Result<(), AppError> {
    if marks.is_empty() {
        return Ok(());
    }
    let batch = marks.clone();
    let saved = db
        .run(move |conn| Ok(RoomRead::record(conn, &batch)?))
        .await;
    if saved.is_err() {
        live.reads.give_back(&marks);
    }
    saved
}

/// Runs `task` every `period` on the current runtime, until the handle is aborted.
pub fn every<F, Fut>(period: Duration, mut task: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + 'static,
    Fut: Future<Output = ()>,
{
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(period);
        loop {
            tick.tick().await;
            task().await;
        }
    })
}

/// Writes the read marks that polls gathered and that have waited their turn (see
/// `live::ReadMarks`), a few at a time, four times a second: one big batch now and then would
/// take the server's core away from the polls for a noticeable moment.
pub fn spawn_read_mark_writer(db: Db, live: Arc<Live>) -> JoinHandle<()> {
    const EVERY: Duration = Duration::from_millis(250);
    const AT_MOST: usize = 2_000;
    every(EVERY, move || {
        let (db, live) = (db.clone(), live.clone());
        async move {
            let marks = live.reads.take(AT_MOST);
            match record_read_marks(&db, &live, marks).await {
                // A storage fault is reported where it was met, once a minute.
                Err(err) if err.storage_fault().is_none() => {
                    log::warn!("cannot save read marks, will try again: {err}");
                }
                _ => {}
            }
        }
    })
}

/// Writes every read mark still in memory (at shutdown).
pub async fn save_all_read_marks(db: &Db, live: &Live) {
    let marks = live.reads.take_all();
    let count = marks.len();
    match record_read_marks(db, live, marks).await {
        Ok(()) if count > 0 => log::info!("saved {count} read marks"),
        Ok(()) => {}
        Err(err) => log::warn!("cannot save {count} read marks: {err}"),
    }
}

/// The least time between two catch-up rounds that signals woke: a burst of other servers'
/// commits is caught up with in a few rounds, not one round each.
const WOKEN_AT_MOST_EVERY: Duration = Duration::from_millis(50);

/// Brings the rooms that memory keeps up to the database's committed heads, every
/// `CATCH_UP_EVERY`: another process on the same database (or a command) may have written.
/// With `wake` (on PostgreSQL: see `signals`), also as soon as another server signals that
/// it wrote; the timer then counts from that round.
pub fn spawn_catch_up(db: Db, live: Arc<Live>, wake: Option<Arc<Notify>>) -> JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(CATCH_UP_EVERY);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut rounds: u32 = 0;
        loop {
            let woken = match &wake {
                Some(wake) => tokio::select! {
                    _ = tick.tick() => false,
                    () = wake.notified() => true,
                },
                None => {
                    tick.tick().await;
                    false
                }
            };
            // The lobby's version every `LOBBY_EVERY` rounds, and whenever another server
            // signalled a write: fresh enough for a sidebar, and a statement less most rounds.
            let lobby = woken || rounds.is_multiple_of(LOBBY_EVERY);
            rounds = rounds.wrapping_add(1);
            match catch_up(&db, &live, lobby).await {
                Err(err) if err.storage_fault().is_none() => {
                    log::warn!("cannot compare the rooms with the database: {err}");
                }
                _ => probe_if_due(&db).await,
            }
            if woken {
                tick.reset();
                actix_web::rt::time::sleep(WOKEN_AT_MOST_EVERY).await;
            }
        }
    })
}

/// One round of `spawn_catch_up`. In this process's write turn, so that its own writes and
/// what it reads here reach memory in commit order. A room found deleted (by another
/// process) is forgotten by presence too. With `lobby`, it also reads the lobby's version.
pub async fn catch_up(db: &Db, live: &Arc<Live>, lobby: bool) -> Result<(), AppError> {
    let in_db = live.clone();
    let deleted = db
        .run(move |conn| {
            let live = in_db;
            let mut deleted = Vec::new();
            let _turn = live.write_turn();
            if lobby {
                let (newest, deleted_rooms) = Room::lobby_version(conn)?;
                live.lobby.set(lobby_clock::version(newest, deleted_rooms));
                catch_up_notices(conn, &live)?;
            }
            let known = live.recent.heads();
            if known.is_empty() {
                live.confirmed();
                return Ok(deleted);
            }
            let ids: Vec<i32> = known.iter().map(|&(room_id, _)| room_id).collect();
            let committed: std::collections::HashMap<i32, i32> =
                Room::heads(conn, &ids)?.into_iter().collect();
            // The rooms that grew, each up to a tail's worth past what memory has.
            let mut grew = Vec::new();
            for (room_id, head) in known {
                match committed.get(&room_id) {
                    None => deleted.push(room_id),
                    Some(&last) if last > head => {
                        grew.push((room_id, head, last.min(head + TAIL as i32)));
                    }
                    Some(_) => {}
                }
            }
            // In room order, as `between_each` answers. Read before memory changes at all, so
            // that a failed read leaves every room, the deleted ones too, to the next round.
            grew.sort_unstable();
            let mut newer = LogEntry::between_each(conn, &grew)?.into_iter().peekable();
            for &room_id in &deleted {
                live.recent.caught_up(room_id, None);
            }
            for (room_id, _, _) in grew {
                let mut entries = Vec::new();
                while let Some(entry) = newer.next_if(|e| e.room_id == room_id) {
                    entries.push(entry);
                }
                live.recent.caught_up(room_id, Some(entries));
            }
            live.confirmed();
            Ok(deleted)
        })
        .await?;
    for room_id in deleted {
        live.presence.forget_room(room_id).await;
    }
    Ok(())
}

/// The notices other servers wrote since the last round, for each person's attention. Reads
/// back `attention::REREAD` numbers each time: on PostgreSQL a smaller number may commit after
/// a larger one was read (memory counts each notice once). Then the read marks of whoever
/// has unread notices: they may have read those rooms through another server.
fn catch_up_notices(conn: &mut DbConnection, live: &Live) -> Result<(), ModelError> {
    const AT_MOST: i64 = 500;
    const MARKS_OF_AT_MOST: usize = 1000;
    let cursor = live.attention.cursor();
    let notices = Notice::since(conn, cursor.saturating_sub(REREAD).max(0), AT_MOST)?;
    if let Some(newest) = notices.last() {
        live.attention.set_cursor(newest.id);
    }
    live.attention.heard(&notices);
    let mut waiting = live.attention.waiting();
    waiting.truncate(MARKS_OF_AT_MOST);
    if !waiting.is_empty() {
        for (user_id, room_id, seq) in RoomRead::marks_of(conn, &waiting)? {
            live.attention.read(user_id, room_id, seq);
        }
    }
    Ok(())
}

/// While a storage fault that refuses writes stands (see `db::Faults`), a write that changes
/// nothing, at most once per `db::fault::HOLD` after the fault was last met: posting may have
/// stopped, and the health check should still learn that the database takes writes again.
async fn probe_if_due(db: &Db) {
    if db.faults().probe_due() {
        // Its outcome is what `Db::run_as` remembers: a commit ends the fault, a refusal
        // stands it for another round.
        let _ = db
            .run(|conn| Ok(crate::models::probe::write_nothing(conn)?))
            .await;
    }
}

/// How often a server on PostgreSQL writes what the others must hear of presence and typing,
/// and reads what they wrote: someone arriving, typing or leaving shows on every server within
/// about twice this, plus a poll.
pub const PRESENCE_SYNC_EVERY: Duration = Duration::from_millis(500);
/// How far back each read looks again, for rows written just before the last read but
/// committed after it (each write commits at once: this is ample).
const PRESENCE_READ_SLACK_MS: i64 = 1000;

/// Shares presence with the other servers on the database (see `live::shared`).
pub fn spawn_presence_sync(db: Db, presence: Arc<SharedPresence>) -> JoinHandle<()> {
    let since = Arc::new(std::sync::Mutex::new(0_i64));
    every(PRESENCE_SYNC_EVERY, move || {
        let (db, presence, since) = (db.clone(), presence.clone(), since.clone());
        async move {
            let from = *crate::live::lock(&since);
            match sync_presence(&db, &presence, from).await {
                Ok(latest) => *crate::live::lock(&since) = latest,
                Err(err) if err.storage_fault().is_none() => {
                    log::warn!("cannot share presence with the other servers: {err}");
                }
                Err(_) => {}
            }
        }
    })
}

/// One round of `spawn_presence_sync`: writes what is pending, and this server's set every
/// `HEARTBEAT`; reads what the others wrote after `since_ms` (less the slack); returns the
/// moment of this read, on the database's clock, for the next round to go on from.
///
/// From the read's moment, not from the latest write it found: a row is read again only while
/// it is within the slack of a read, a few rounds. (Going on from the latest write, the rows of
/// the last second before a quiet spell were read again every round until someone else
/// arrived: 30,000 rows twice a second after 30,000 people opened their pages together.)
pub async fn sync_presence(
    db: &Db,
    presence: &Arc<SharedPresence>,
    since_ms: i64,
) -> Result<i64, AppError> {
    let rows = presence.take_pending();
    if !rows.is_empty() {
        let batch = rows.clone();
        if let Err(err) = db
            .run(move |conn| Ok(PresenceRows::write(conn, &batch)?))
            .await
        {
            presence.give_back(rows);
            return Err(err);
        }
    }
    let server_id = presence.server_id();
    // A set that fails to be written is written again at the next heartbeat: presence lasts
    // three of them.
    if let Some(set) = presence.take_set() {
        db.run(move |conn| Ok(PresenceRows::write_set(conn, server_id, &set)?))
            .await?;
    }
    let from = since_ms - PRESENCE_READ_SLACK_MS;
    let (read_at, heard, sets) = db
        .run(move |conn| {
            // Before the reads: what they see was committed by then at least.
            let read_at = PresenceRows::now_ms(conn)?;
            Ok((
                read_at,
                PresenceRows::written_since(conn, from)?,
                PresenceRows::sets_written_since(conn, server_id, from)?,
            ))
        })
        .await?;
    presence.heard(&heard);
    presence.heard_sets(&sets);
    Ok(read_at.max(since_ms))
}
