//! A write's way to the database and back: run in this process's write turn, its committed
//! changes handed to memory and to the other servers (shared by the service and the poster).

use std::sync::Arc;

use super::signals::Signals;
use crate::db::{Db, DbConnection};
use crate::errors::AppError;
use crate::live::Live;
use crate::models::{Changes, Kind, ModelError};

/// Runs `f` on the database in this process's write turn, and hands whatever committed to the
/// recent logs before the turn passes; returns `f`'s outcome and its changes. A change to a
/// room's log is signalled to the other servers on the database.
pub(super) async fn commit<T, F>(
    db: &Db,
    live: &Arc<Live>,
    signals: &Arc<Signals>,
    f: F,
) -> Result<(Result<T, ModelError>, Changes), AppError>
where
    F: FnOnce(&mut DbConnection, &mut Changes) -> Result<T, ModelError> + Send + 'static,
    T: Send + 'static,
{
    let (live, signals, noted) = (live.clone(), signals.clone(), db.clone());
    db.run(move |conn| {
        let _turn = live.write_turn();
        let mut changes = Changes::default();
        let out = f(conn, &mut changes);
        // Whatever committed is applied, even if a later step of `f` failed.
        live.recent.apply(&changes);
        attend(&live, &changes);
        if !changes.appended.is_empty() || !changes.deleted_rooms.is_empty() {
            signals.pulse();
        }
        if let Err(ModelError::Database(err)) = &out {
            // The database failed mid-way: memory may no longer match it. Start afresh.
            live.recent.reset();
            // Its error is `f`'s answer, not the run's: the fault is noted here.
            noted.note(err);
        }
        Ok((out, changes))
    })
    .await
}

/// Tells each person's attention (see `live::attention`) what committed: the new notices,
/// and the messages and rooms nobody needs to read any more.
fn attend(live: &Live, changes: &Changes) {
    live.attention.heard(&changes.notices);
    for entry in &changes.appended {
        if let (Kind::Deleted, Some(target)) = (entry.kind, entry.target) {
            live.attention.forget_message(entry.room_id, target);
        }
    }
    for &room_id in &changes.deleted_rooms {
        live.attention.forget_room(room_id);
    }
}

/// Tells presence who moved and which rooms went.
pub(super) async fn after_commit(live: &Live, changes: &Changes) {
    for &(user_id, to) in &changes.moved {
        live.presence.moved(user_id, to).await;
    }
    for &room_id in &changes.deleted_rooms {
        live.presence.forget_room(room_id).await;
    }
}
