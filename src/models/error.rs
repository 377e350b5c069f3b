//! The outcomes of a model call that are not a bug, told apart from the database's errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// The outcomes of a model call that are not a bug: each has its own answer for the user.
#[derive(Debug)]
pub enum ModelError {
    NotFound,
    /// The room existed once and was deleted.
    Deleted,
    /// The room is not the user's current room.
    NotInRoom,
    NotCreator,
    /// Only a message's author (or, in a public room, the room's creator or an administrator)
    /// may delete it.
    NotAuthor,
    /// Only a message's author may edit it.
    NotYourMessage,
    /// The message was deleted: it cannot be edited, reacted to or answered.
    MessageDeleted,
    /// A reply names no message of its room.
    NotAMessage,
    /// The message already holds `MAX_REACTIONS` different reactions.
    TooManyReactions,
    /// A search ran past its time limit (`log::SEARCH_TIME_LIMIT`).
    SearchTooCostly,
    /// The post's author reached the message rate limit, counted in the post's own
    /// transaction: one more fits in this many milliseconds.
    SendingTooFast(u64),
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
