//! The log_entries table: each room's one ordered log of messages and events.
//!
//! Every change a poller must see (a message, someone joining or leaving, a message deleted)
//! is a new entry with the next id, so one cursor (`after=<last id>`) sees them all, in one
//! order, and never an entry above one already shown.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Changes, ModelError, Room, now, write};
use crate::db::schema::{log_entries, rooms, users};
use crate::domain::{ClientId, MessageText};

/// What a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Message,
    Joined,
    Left,
    /// A message was deleted; `target` names it.
    Deleted,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Joined => "joined",
            Self::Left => "left",
            Self::Deleted => "deleted",
        }
    }

    fn parse(kind: &str) -> Self {
        match kind {
            "joined" => Self::Joined,
            "left" => Self::Left,
            "deleted" => Self::Deleted,
            _ => Self::Message,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = log_entries)]
struct NewEntry<'a> {
    room_id: i32,
    author_id: i32,
    kind: &'a str,
    body: &'a str,
    target_id: Option<i32>,
    sent_at: NaiveDateTime,
    client_id: Option<&'a str>,
}

/// A message to store (see `post_batch`).
#[derive(Debug, Clone)]
pub struct NewPost {
    pub room_id: i32,
    pub author_id: i32,
    pub text: MessageText,
    pub client_id: Option<ClientId>,
}

/// A log entry as readers see it: with its author's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub id: i32,
    pub room_id: i32,
    pub kind: Kind,
    pub author: String,
    pub author_id: i32,
    pub body: String,
    pub target: Option<i32>,
    pub deleted: bool,
    pub sent_at: NaiveDateTime,
}

type Row = (
    i32,
    i32,
    String,
    String,
    i32,
    String,
    Option<i32>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
const COLUMNS: (
    log_entries::id,
    log_entries::room_id,
    log_entries::kind,
    users::username,
    log_entries::author_id,
    log_entries::body,
    log_entries::target_id,
    log_entries::deleted_at,
    log_entries::sent_at,
) = (
    log_entries::id,
    log_entries::room_id,
    log_entries::kind,
    users::username,
    log_entries::author_id,
    log_entries::body,
    log_entries::target_id,
    log_entries::deleted_at,
    log_entries::sent_at,
);

impl From<Row> for LogEntry {
    fn from(
        (id, room_id, kind, author, author_id, body, target, deleted_at, sent_at): Row,
    ) -> Self {
        Self {
            id,
            room_id,
            kind: Kind::parse(&kind),
            author,
            author_id,
            body,
            target,
            deleted: deleted_at.is_some(),
            sent_at,
        }
    }
}

/// Which entries a page holds: newer than a cursor (oldest first) or older than one (newest
/// first).
#[derive(Clone, Copy)]
enum Range {
    After(i32),
    Below(i32),
}

/// How many entries a page of older history holds.
pub const OLDER_PAGE: i64 = 100;

impl LogEntry {
    /// Appends an entry. Must run inside the caller's immediate transaction: SQLite has one
    /// writer at a time, so ids commit in increasing order.
    pub(crate) fn append(
        conn: &mut SqliteConnection,
        room_id: i32,
        author_id: i32,
        kind: Kind,
        body: &str,
        target_id: Option<i32>,
        changes: &mut Changes,
    ) -> QueryResult<LogEntry> {
        Self::insert(
            conn, room_id, author_id, kind, body, target_id, None, changes,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn insert(
        conn: &mut SqliteConnection,
        room_id: i32,
        author_id: i32,
        kind: Kind,
        body: &str,
        target_id: Option<i32>,
        client_id: Option<&str>,
        changes: &mut Changes,
    ) -> QueryResult<LogEntry> {
        let sent_at = now();
        let id = diesel::insert_into(log_entries::table)
            .values(&NewEntry {
                room_id,
                author_id,
                kind: kind.as_str(),
                body,
                target_id,
                sent_at,
                client_id,
            })
            .returning(log_entries::id)
            .get_result(conn)?;
        let entry = Self::find(conn, id)?;
        changes.appended.push(entry.clone());
        Ok(entry)
    }

    fn find(conn: &mut SqliteConnection, id: i32) -> QueryResult<LogEntry> {
        log_entries::table
            .inner_join(users::table)
            .filter(log_entries::id.eq(id))
            .select(COLUMNS)
            .first::<Row>(conn)
            .map(LogEntry::from)
    }

    /// Stores a message from a member of the room. With a `client_id` the post is idempotent:
    /// if this author already sent a message under that id, it is returned instead of stored
    /// again (a retry after a lost answer). The same id for a different message is `KeyReused`.
    pub fn post(
        conn: &mut SqliteConnection,
        room_id: i32,
        author_id: i32,
        text: &MessageText,
        client_id: Option<&ClientId>,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        write(conn, changes, |conn, changes| {
            if let Some(client_id) = client_id {
                let earlier = log_entries::table
                    .filter(log_entries::author_id.eq(author_id))
                    .filter(log_entries::client_id.eq(client_id.as_str()))
                    .select(log_entries::id)
                    .first::<i32>(conn)
                    .optional()?;
                if let Some(id) = earlier {
                    let entry = Self::find(conn, id)?;
                    return match (entry.room_id == room_id, entry.body == text.as_str()) {
                        (true, true) => Ok(entry),
                        _ => Err(ModelError::KeyReused),
                    };
                }
            }
            Room::find_as_member(conn, room_id, author_id)?;
            let entry = Self::insert(
                conn,
                room_id,
                author_id,
                Kind::Message,
                text.as_str(),
                None,
                client_id.map(ClientId::as_str),
                changes,
            )?;
            diesel::update(rooms::table.find(room_id))
                .set(rooms::last_activity_at.eq(entry.sent_at))
                .execute(conn)?;
            Ok(entry)
        })
    }

    /// Stores many posts in one transaction, each in a savepoint of its own: one commit, one
    /// disk flush, for all of them (group commit). One post's refusal does not touch the
    /// others; if the commit itself fails, every post fails and nothing reaches `changes`.
    pub fn post_batch(
        conn: &mut SqliteConnection,
        posts: &[NewPost],
        changes: &mut Changes,
    ) -> QueryResult<Vec<Result<LogEntry, ModelError>>> {
        let mut these = Changes::default();
        let results = conn.immediate_transaction(|conn| {
            let mut results = Vec::with_capacity(posts.len());
            for p in posts {
                let client_id = p.client_id.as_ref();
                match Self::post(conn, p.room_id, p.author_id, &p.text, client_id, &mut these) {
                    // The database itself failed: SQLite may have rolled the whole transaction
                    // back already, so nothing after this may run in it.
                    Err(ModelError::Database(err)) => return Err(err),
                    result => results.push(result),
                }
            }
            Ok(results)
        })?;
        changes.appended.extend(these.appended);
        Ok(results)
    }

    /// Deletes a message: its author may, and so may the room's creator. The message keeps its
    /// place in the log (emptied, marked deleted) and a `Deleted` entry tells the pollers.
    pub fn delete_message(
        conn: &mut SqliteConnection,
        room_id: i32,
        message_id: i32,
        user_id: i32,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        write(conn, changes, |conn, changes| {
            let room = Room::find_as_member(conn, room_id, user_id)?;
            let (author_id, deleted_at): (i32, Option<NaiveDateTime>) = log_entries::table
                .filter(log_entries::id.eq(message_id))
                .filter(log_entries::room_id.eq(room_id))
                .filter(log_entries::kind.eq(Kind::Message.as_str()))
                .select((log_entries::author_id, log_entries::deleted_at))
                .first(conn)?;
            if author_id != user_id && room.creator_id != user_id {
                return Err(ModelError::NotAuthor);
            }
            if deleted_at.is_some() {
                return Err(ModelError::NotFound);
            }
            diesel::update(log_entries::table.find(message_id))
                .set((
                    log_entries::body.eq(""),
                    log_entries::deleted_at.eq(Some(now())),
                ))
                .execute(conn)?;
            Ok(Self::append(
                conn,
                room_id,
                user_id,
                Kind::Deleted,
                "",
                Some(message_id),
                changes,
            )?)
        })
    }

    /// A member's poll: the room's entries with an id above `after`, oldest first.
    pub fn since(
        conn: &mut SqliteConnection,
        room_id: i32,
        user_id: i32,
        after: i32,
        limit: i64,
    ) -> Result<Vec<LogEntry>, ModelError> {
        Room::find_as_member(conn, room_id, user_id)?;
        Ok(Self::page(conn, room_id, Range::After(after), limit)?)
    }

    /// A member's look further back: up to `OLDER_PAGE` entries below `before`, oldest first.
    pub fn before(
        conn: &mut SqliteConnection,
        room_id: i32,
        user_id: i32,
        before: i32,
    ) -> Result<Vec<LogEntry>, ModelError> {
        Room::find_as_member(conn, room_id, user_id)?;
        Ok(Self::latest_below(conn, room_id, before, OLDER_PAGE)?)
    }

    /// The room's last `limit` entries, oldest first: the history a room page starts with.
    pub fn latest(
        conn: &mut SqliteConnection,
        room_id: i32,
        limit: i64,
    ) -> QueryResult<Vec<LogEntry>> {
        Self::latest_below(conn, room_id, i32::MAX, limit)
    }

    fn latest_below(
        conn: &mut SqliteConnection,
        room_id: i32,
        below: i32,
        limit: i64,
    ) -> QueryResult<Vec<LogEntry>> {
        let mut entries = Self::page(conn, room_id, Range::Below(below), limit)?;
        entries.reverse();
        Ok(entries)
    }

    fn page(
        conn: &mut SqliteConnection,
        room_id: i32,
        range: Range,
        limit: i64,
    ) -> QueryResult<Vec<LogEntry>> {
        let query = log_entries::table
            .inner_join(users::table)
            .filter(log_entries::room_id.eq(room_id))
            .select(COLUMNS)
            .limit(limit)
            .into_boxed();
        let query = match range {
            Range::After(id) => query
                .filter(log_entries::id.gt(id))
                .order(log_entries::id.asc()),
            Range::Below(id) => query
                .filter(log_entries::id.lt(id))
                .order(log_entries::id.desc()),
        };
        Ok(query
            .load::<Row>(conn)?
            .into_iter()
            .map(LogEntry::from)
            .collect())
    }
}
