//! Write transactions: what they changed, for the live state; their retry after a deadlock;
//! and the time they stamp on rows.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::{LogEntry, ModelError};
use crate::db::DbConnection;

/// What a write changed that the live state (src/live/) must hear of: new log entries, users
/// moved between rooms, rooms deleted. Gathered inside the transaction; handed over only once
/// it committed.
#[derive(Debug, Default)]
pub struct Changes {
    /// New log entries, in the order they were written.
    pub appended: Vec<LogEntry>,
    /// (user, their current room now)
    pub moved: Vec<(i32, Option<i32>)>,
    pub deleted_rooms: Vec<i32>,
    /// Notices written for new messages (see `models::notice`).
    pub notices: Vec<super::Notice>,
}

/// Runs `f` in a write transaction (or, inside the caller's transaction, a savepoint of its
/// own: see `LogEntry::post_batch`); what it changed reaches `changes` only if it commits. A
/// transaction PostgreSQL ended to break a deadlock is run again (see `retrying`).
pub(crate) fn write<T>(
    conn: &mut DbConnection,
    changes: &mut Changes,
    mut f: impl FnMut(&mut DbConnection, &mut Changes) -> Result<T, ModelError>,
) -> Result<T, ModelError> {
    let (out, these) = retrying(conn, |conn| {
        let mut these = Changes::default();
        let out = conn.write_transaction(|conn| f(conn, &mut these))?;
        Ok::<_, ModelError>((out, these))
    })?;
    changes.appended.extend(these.appended);
    changes.moved.extend(these.moved);
    changes.deleted_rooms.extend(these.deleted_rooms);
    changes.notices.extend(these.notices);
    Ok(out)
}

/// How many times a transaction is tried before its deadlock reaches the user (as a 500).
const TRIES: u32 = 3;

/// Runs the transaction `f` again when the database broke it off to end a deadlock or a
/// serialization conflict, which are nobody's fault and pass on a second try. Writers take
/// rows in one order (users by id, then rooms by id) so that it is rare: within one server
/// every write already takes its turn, and only several servers on one PostgreSQL database
/// can meet this way. Inside an open transaction the error is passed up, for the outermost
/// transaction to retry: a savepoint cannot undo a deadlock.
pub(crate) fn retrying<T, E>(
    conn: &mut DbConnection,
    mut f: impl FnMut(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: Transient,
{
    let outermost = !conn.in_transaction();
    let mut tries = 1;
    loop {
        match f(conn) {
            Err(err) if outermost && tries < TRIES && err.is_transient() => {
                ::log::warn!(
                    "retrying a write the database broke off: {}",
                    err.describe()
                );
                tries += 1;
            }
            out => return out,
        }
    }
}

/// An error that a second try may not meet.
pub(crate) trait Transient {
    fn is_transient(&self) -> bool;
    fn describe(&self) -> String;
}

impl Transient for DieselError {
    fn is_transient(&self) -> bool {
        match self {
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
            // Diesel has no kind for PostgreSQL's 40P01; its message is fixed.
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
                info.message().starts_with("deadlock detected")
            }
            _ => false,
        }
    }

    fn describe(&self) -> String {
        self.to_string()
    }
}

impl Transient for ModelError {
    fn is_transient(&self) -> bool {
        matches!(self, ModelError::Database(err) if err.is_transient())
    }

    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

/// The time now, to the microsecond: what PostgreSQL keeps of it, so that an entry built from
/// what was written (see `LogEntry::insert`) equals the same entry read back, on either backend.
pub(crate) fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}
