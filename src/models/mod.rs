//! Every query the app makes: rows, insert structs and query functions, one file per table.
//! Nothing here knows about HTTP; errors.rs maps `ModelError` to statuses.

pub mod log;
pub mod name_key;
pub mod read;
pub mod room;
pub mod session;
pub mod user;

pub use log::{Kind, LogEntry, NewPost};
pub use room::{Removed, Room, RoomListing};
pub use user::User;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, SqliteConnection};

/// The outcomes of a model call that are not a bug: each has its own answer for the user.
#[derive(Debug)]
pub enum ModelError {
    NotFound,
    /// The room existed once and was deleted.
    Deleted,
    /// The room is not the user's current room.
    NotInRoom,
    NotCreator,
    /// Only a message's author (or, in a public room, the room's creator) may delete it.
    NotAuthor,
    /// A client_id already names a different message of this author.
    KeyReused,
    /// Another account has this username, in some letter case.
    UsernameTaken,
    /// Another room has this name, in some letter case.
    RoomNameTaken,
    Database(DieselError),
}

impl From<DieselError> for ModelError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, ref info) => {
                taken(info.constraint_name().unwrap_or(info.message()))
                    .unwrap_or(Self::Database(err))
            }
            other => Self::Database(other),
        }
    }
}

/// Which rule a unique violation broke, told by the constraint: PostgreSQL names it, SQLite
/// names its columns in the message ("UNIQUE constraint failed: users.username"). Any other
/// (a log number taken twice, say) is a bug, not the user's doing.
fn taken(constraint: &str) -> Option<ModelError> {
    let names = |columns: &str| constraint.contains(columns);
    if names("users.username") {
        Some(ModelError::UsernameTaken)
    } else if names("rooms.name_key") {
        Some(ModelError::RoomNameTaken)
    } else if names("log_entries.client_id") {
        Some(ModelError::KeyReused)
    } else {
        None
    }
}

/// What a write changed that the live state (src/live.rs) must hear of: new log entries, users
/// moved between rooms, rooms deleted. Gathered inside the transaction; handed over only once
/// it committed.
#[derive(Debug, Default)]
pub struct Changes {
    /// New log entries, in the order they were written.
    pub appended: Vec<LogEntry>,
    /// (user, their current room now)
    pub moved: Vec<(i32, Option<i32>)>,
    pub deleted_rooms: Vec<i32>,
}

/// Runs `f` in an immediate transaction (or, inside the caller's transaction, a savepoint of
/// its own: see `LogEntry::post_batch`); what it changed reaches `changes` only if it commits.
pub(crate) fn write<T>(
    conn: &mut SqliteConnection,
    changes: &mut Changes,
    f: impl FnOnce(&mut SqliteConnection, &mut Changes) -> Result<T, ModelError>,
) -> Result<T, ModelError> {
    let mut these = Changes::default();
    let nested = AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_some();
    let out = if nested {
        conn.transaction(|conn| f(conn, &mut these))?
    } else {
        conn.immediate_transaction(|conn| f(conn, &mut these))?
    };
    changes.appended.extend(these.appended);
    changes.moved.extend(these.moved);
    changes.deleted_rooms.extend(these.deleted_rooms);
    Ok(out)
}

pub(crate) fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// A fresh, migrated database for a model's unit tests; the folder lives as long as it.
#[cfg(test)]
pub(crate) fn test_database() -> (tempfile::TempDir, SqliteConnection) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("chat.db");
    crate::db::initialize(&path).expect("a new database");
    let conn = SqliteConnection::establish(path.to_str().expect("a UTF-8 path"))
        .expect("the database opens");
    (dir, conn)
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::domain::{RoomName, Username};

    #[test]
    fn unique_violations_are_told_apart_by_the_rule_they_broke() {
        let (_dir, mut conn) = test_database();
        let ann = Username::parse("ann").unwrap();
        let user = User::create(&mut conn, &ann, "x").unwrap();
        let again = User::create(&mut conn, &Username::parse("ANN").unwrap(), "x");
        assert!(matches!(again, Err(ModelError::UsernameTaken)));

        let name = RoomName::parse("Kitchen").unwrap();
        Room::create(&mut conn, &name, user.id, &mut Changes::default()).unwrap();
        let taken = Room::create(&mut conn, &name, user.id, &mut Changes::default());
        assert!(matches!(taken, Err(ModelError::RoomNameTaken)));

        // A number taken twice is a bug, not the user's doing: no "taken" answer for it.
        let twice = conn.batch_execute(
            "INSERT INTO log_entries (room_id, author_id, kind, body, sent_at, seq)
             VALUES (1, 1, 'joined', '', CURRENT_TIMESTAMP, 1);",
        );
        let err = ModelError::from(twice.unwrap_err());
        assert!(matches!(err, ModelError::Database(_)), "{err:?}");
    }
}
