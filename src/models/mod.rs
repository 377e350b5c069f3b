//! Every query the app makes: rows, insert structs and query functions, one file per table.
//! Nothing here knows about HTTP; errors.rs maps `ModelError` to statuses.

pub mod audit;
pub mod deletion_count;
pub mod invitation;
pub mod key_refresh;
pub mod log;
pub mod presence_rows;
pub mod rate;
pub mod read;
pub mod revocation;
pub mod room;
pub mod session;
pub mod setting;
pub mod setup;
pub mod signal;
pub mod user;

pub use log::{Kind, LogEntry, NewPost};
pub use room::{Removed, Room, RoomListing, RoomOverview};
pub use setup::{initialize, open_existing};
pub use signal::Signal;
pub use user::User;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

pub use crate::db::DbConnection;

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
    /// The server's last administrator cannot stop being one.
    LastAdministrator,
    /// Administrators do not disable their own account.
    OwnAccount,
    /// The invitation is unknown, used, expired or withdrawn.
    InvitationUnusable,
    /// The setup link is not this database's, was used, or an administrator exists.
    SetupUnusable,
    /// Only administrators may do this; to anyone else it does not exist.
    NotAdministrator,
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

/// A fresh, migrated database on each backend for a model's unit tests, each living as long as
/// its guard: SQLite in a temporary folder, and a new PostgreSQL database (dropped by the
/// guard) on the server `CHATROOM_TEST_POSTGRES` names, by default the one the integration
/// tests use (tests/support/database.rs). Without that server the PostgreSQL one is left out,
/// except under CI, where that fails.
#[cfg(test)]
pub(crate) fn test_databases() -> Vec<(TestDatabase, DbConnection)> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("chat.db");
    let path = path.to_str().expect("a UTF-8 path");
    initialize(path).expect("a new database");
    let conn = DbConnection::open(path).expect("the database opens");
    let mut databases = vec![(TestDatabase::Sqlite(dir), conn)];
    databases.extend(postgres_test_database());
    databases
}

#[cfg(test)]
fn postgres_test_database() -> Option<(TestDatabase, DbConnection)> {
    use diesel::connection::SimpleConnection;

    let admin_url = crate::db::test_postgres();
    let name = format!("chatroom_unit_{:016x}", rand::random::<u64>());
    let mut admin = match DbConnection::open(&admin_url) {
        Ok(admin) => admin,
        Err(err) if std::env::var_os("CI").is_some() => {
            panic!("CI is set and there is no PostgreSQL server at {admin_url}: {err}")
        }
        Err(_) => return None,
    };
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("a new PostgreSQL database");
    let url = crate::db::on_database(&admin_url, &name);
    initialize(&url).expect("the new database migrates");
    let conn = DbConnection::open(&url).expect("the database opens");
    Some((TestDatabase::Postgres { admin_url, name }, conn))
}

#[cfg(test)]
pub(crate) enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

#[cfg(test)]
impl Drop for TestDatabase {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;

        if let Self::Postgres { admin_url, name } = self
            && let Ok(mut admin) = DbConnection::open(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::domain::{LoginName, RoomName, Username};

    #[test]
    fn unique_violations_are_told_apart_by_the_rule_they_broke() {
        for (_db, mut conn) in test_databases() {
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

    #[test]
    fn a_conversation_round_trips_with_its_numbers_times_and_upserts_on_this_backend() {
        use crate::domain::{ClientId, MessageText};
        use crate::models::read::RoomRead;

        for (_db, mut conn) in test_databases() {
            let c = &mut Changes::default();
            let ann = User::create(&mut conn, &Username::parse("ann").unwrap(), "x").unwrap();
            let bob = User::create(&mut conn, &Username::parse("bob").unwrap(), "x").unwrap();
            let room =
                Room::create(&mut conn, &RoomName::parse("Kitchen").unwrap(), ann.id, c).unwrap();
            Room::enter(&mut conn, room.id, bob.id, c).unwrap();
            let before = now();
            let key = ClientId::parse("k1").unwrap();
            let hi = MessageText::parse("hi").unwrap();
            let first = LogEntry::post(&mut conn, room.id, bob.id, &hi, Some(&key), c).unwrap();
            let again = LogEntry::post(&mut conn, room.id, bob.id, &hi, Some(&key), c).unwrap();
            assert_eq!(
                first, again,
                "a retry with the same key answers the first post"
            );
            let other = MessageText::parse("other").unwrap();
            let reused = LogEntry::post(&mut conn, room.id, bob.id, &other, Some(&key), c);
            assert!(matches!(reused, Err(ModelError::KeyReused)), "{reused:?}");
            // Stored as UTC and read back unshifted, whatever the server's time zone.
            let drift = (first.sent_at - before).num_seconds().abs();
            assert!(drift < 5, "sent_at {} vs now {before}", first.sent_at);

            let (entries, head) = LogEntry::since(&mut conn, room.id, ann.id, 0, 100).unwrap();
            let seqs: Vec<i32> = entries.iter().map(|e| e.seq).collect();
            assert_eq!(seqs, [1, 2, 3], "ann joined, bob joined, bob's message");
            assert_eq!(head, 3);
            let unread = RoomRead::unread_counts(&mut conn, ann.id, &[room.id]).unwrap();
            assert_eq!(unread.get(&room.id), Some(&1));
            RoomRead::record(&mut conn, &[(ann.id, room.id, 3)]).unwrap();
            assert!(
                RoomRead::unread_counts(&mut conn, ann.id, &[room.id])
                    .unwrap()
                    .is_empty()
            );

            let lobby = Room::lobby(&mut conn, ann.id, 0, 10).unwrap();
            assert_eq!(lobby.len(), 1);
            let direct = Room::open_direct(&mut conn, ann.id, &LoginName::parse("bob").unwrap(), c);
            assert!(direct.unwrap().is_direct);
            assert!(
                Room::direct_exists(&mut conn, bob.id, &LoginName::parse("ann").unwrap()).unwrap()
            );

            LogEntry::delete_message(&mut conn, room.id, 3, bob.id, c).unwrap();
            assert!(matches!(
                Room::delete(&mut conn, room.id, ann.id, c),
                Ok(Removed::Deleted(_))
            ));
            assert!(matches!(
                Room::find(&mut conn, room.id, ann.id),
                Err(ModelError::Deleted)
            ));
        }
    }
}
