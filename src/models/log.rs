//! The log_entries table: each room's one ordered log of messages and events.
//!
//! Every change a poller must see (a message, someone joining or leaving, a message deleted)
//! is a new entry with the room's next number (`seq`: 1, 2, 3, ... within the room), so one
//! cursor (`after=<last seq>`) sees them all, in one order, and never an entry above one
//! already shown. The number is taken from the room's row inside the write's transaction
//! (`Room::next_seq`): the row's lock orders writers, so numbers commit in order and a room's
//! log has no holes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;

use super::{Changes, ModelError, Room, User, now, write};
use crate::db::schema::{log_entries, users};
use crate::domain::{ClientId, MessageText};
use crate::models;

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
    target_seq: Option<i32>,
    sent_at: NaiveDateTime,
    client_id: Option<&'a str>,
    seq: i32,
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
    /// Its number in the room's log: 1, 2, 3, ... The API calls it `id`.
    pub seq: i32,
    pub room_id: i32,
    pub kind: Kind,
    pub author: String,
    pub author_id: i32,
    pub body: String,
    /// For `Deleted`: the number of the message it deleted.
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
    log_entries::seq,
    log_entries::room_id,
    log_entries::kind,
    users::username,
    log_entries::author_id,
    log_entries::body,
    log_entries::target_seq,
    log_entries::deleted_at,
    log_entries::sent_at,
) = (
    log_entries::seq,
    log_entries::room_id,
    log_entries::kind,
    users::username,
    log_entries::author_id,
    log_entries::body,
    log_entries::target_seq,
    log_entries::deleted_at,
    log_entries::sent_at,
);

impl From<Row> for LogEntry {
    fn from(
        (seq, room_id, kind, author, author_id, body, target, deleted_at, sent_at): Row,
    ) -> Self {
        Self {
            seq,
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
    /// Appends an entry with the room's next number. Runs inside the caller's transaction,
    /// which holds the room's row from here until it commits.
    pub(crate) fn append(
        conn: &mut DbConnection,
        room_id: i32,
        author_id: i32,
        kind: Kind,
        body: &str,
        target_seq: Option<i32>,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        Self::insert(
            conn, room_id, author_id, kind, body, target_seq, None, changes,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn insert(
        conn: &mut DbConnection,
        room_id: i32,
        author_id: i32,
        kind: Kind,
        body: &str,
        target_seq: Option<i32>,
        client_id: Option<&str>,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        let sent_at = now();
        let activity = (kind == Kind::Message).then_some(sent_at);
        let seq = Room::next_seq(conn, room_id, activity)?;
        let id = diesel::insert_into(log_entries::table)
            .values(&NewEntry {
                room_id,
                author_id,
                kind: kind.as_str(),
                body,
                target_seq,
                sent_at,
                client_id,
                seq,
            })
            .returning(log_entries::id)
            .get_result(conn)?;
        let entry = Self::find(conn, id)?;
        changes.appended.push(entry.clone());
        Ok(entry)
    }

    /// By the row's key, which never leaves this module.
    fn find(conn: &mut DbConnection, id: i32) -> QueryResult<LogEntry> {
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
        conn: &mut DbConnection,
        room_id: i32,
        author_id: i32,
        text: &MessageText,
        client_id: Option<&ClientId>,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        write(conn, changes, |conn, changes| {
            // The idempotency check below is a check-then-write: one author's posts take turns.
            User::lock(conn, &[author_id])?;
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
            let room = Room::find_as_member(conn, room_id, author_id)?;
            if room.is_direct {
                Room::unhide(conn, room_id)?;
            }
            Self::insert(
                conn,
                room_id,
                author_id,
                Kind::Message,
                text.as_str(),
                None,
                client_id.map(ClientId::as_str),
                changes,
            )
        })
    }

    /// Stores many posts in one transaction, each in a savepoint of its own: one commit, one
    /// disk flush, for all of them (group commit). One post's refusal does not touch the
    /// others; if the commit itself fails, every post fails and nothing reaches `changes`.
    pub fn post_batch(
        conn: &mut DbConnection,
        posts: &[NewPost],
        changes: &mut Changes,
    ) -> QueryResult<Vec<Result<LogEntry, ModelError>>> {
        let authors: Vec<i32> = posts.iter().map(|p| p.author_id).collect();
        let rooms: Vec<i32> = posts.iter().map(|p| p.room_id).collect();
        let (results, these) = models::retrying(conn, |conn| {
            let mut these = Changes::default();
            let results = conn.write_transaction(|conn| {
                // Every row the batch will write, taken up front in the one order all writers
                // keep (see `retrying`), not post by post.
                User::lock(conn, &authors)?;
                Room::lock(conn, &rooms)?;
                Self::post_each(conn, posts, &mut these)
            })?;
            Ok::<_, diesel::result::Error>((results, these))
        })?;
        changes.appended.extend(these.appended);
        Ok(results)
    }

    fn post_each(
        conn: &mut DbConnection,
        posts: &[NewPost],
        these: &mut Changes,
    ) -> QueryResult<Vec<Result<LogEntry, ModelError>>> {
        let mut results = Vec::with_capacity(posts.len());
        for p in posts {
            let client_id = p.client_id.as_ref();
            match Self::post(conn, p.room_id, p.author_id, &p.text, client_id, these) {
                // The database itself failed: SQLite may have rolled the whole transaction
                // back already, so nothing after this may run in it.
                Err(ModelError::Database(err)) => return Err(err),
                result => results.push(result),
            }
        }
        Ok(results)
    }

    /// Deletes a message: its author may, and so may a public room's creator. It keeps its
    /// place in the log (emptied, marked deleted) and a `Deleted` entry tells the pollers.
    pub fn delete_message(
        conn: &mut DbConnection,
        room_id: i32,
        message_seq: i32,
        user_id: i32,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        write(conn, changes, |conn, changes| {
            let room = Room::find_as_member(conn, room_id, user_id)?;
            let (id, author_id, deleted_at): (i32, i32, Option<NaiveDateTime>) = log_entries::table
                .filter(log_entries::room_id.eq(room_id))
                .filter(log_entries::seq.eq(message_seq))
                .filter(log_entries::kind.eq(Kind::Message.as_str()))
                .select((
                    log_entries::id,
                    log_entries::author_id,
                    log_entries::deleted_at,
                ))
                .first(conn)?;
            // In a direct conversation both people are equals: whoever opened it is no
            // moderator of the other's words.
            let moderates = !room.is_direct && room.creator_id == user_id;
            if author_id != user_id && !moderates {
                return Err(ModelError::NotAuthor);
            }
            if deleted_at.is_some() {
                return Err(ModelError::NotFound);
            }
            // Only if still there: on PostgreSQL another delete of it may have committed since
            // the read above, and a message is deleted once.
            let emptied = diesel::update(
                log_entries::table
                    .find(id)
                    .filter(log_entries::deleted_at.is_null()),
            )
            .set((
                log_entries::body.eq(""),
                log_entries::deleted_at.eq(Some(now())),
            ))
            .execute(conn)?;
            if emptied == 0 {
                return Err(ModelError::NotFound);
            }
            Self::append(
                conn,
                room_id,
                user_id,
                Kind::Deleted,
                "",
                Some(message_seq),
                changes,
            )
        })
    }

    /// A member's poll: the room's entries numbered above `after`, oldest first, and the
    /// room's head as it was just before they were read.
    pub fn since(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
        after: i32,
        limit: i64,
    ) -> Result<(Vec<LogEntry>, i32), ModelError> {
        let room = Room::find_as_member(conn, room_id, user_id)?;
        let entries = Self::page(conn, room_id, Range::After(after), limit)?;
        Ok((entries, room.last_seq))
    }

    /// A member's look further back: up to `OLDER_PAGE` entries below `before`, oldest first.
    pub fn before(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
        before: i32,
    ) -> Result<Vec<LogEntry>, ModelError> {
        Room::find_as_member(conn, room_id, user_id)?;
        Ok(Self::latest_below(conn, room_id, before, OLDER_PAGE)?)
    }

    /// The room's entries numbered above `after`, oldest first, whoever asks.
    pub fn after(
        conn: &mut DbConnection,
        room_id: i32,
        after: i32,
        limit: i64,
    ) -> QueryResult<Vec<LogEntry>> {
        Self::page(conn, room_id, Range::After(after), limit)
    }

    /// The room's last `limit` entries, oldest first: the history a room page starts with.
    pub fn latest(conn: &mut DbConnection, room_id: i32, limit: i64) -> QueryResult<Vec<LogEntry>> {
        Self::latest_below(conn, room_id, i32::MAX, limit)
    }

    fn latest_below(
        conn: &mut DbConnection,
        room_id: i32,
        below: i32,
        limit: i64,
    ) -> QueryResult<Vec<LogEntry>> {
        let mut entries = Self::page(conn, room_id, Range::Below(below), limit)?;
        entries.reverse();
        Ok(entries)
    }

    fn page(
        conn: &mut DbConnection,
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
            Range::After(seq) => query
                .filter(log_entries::seq.gt(seq))
                .order(log_entries::seq.asc()),
            Range::Below(seq) => query
                .filter(log_entries::seq.lt(seq))
                .order(log_entries::seq.desc()),
        };
        Ok(query
            .load::<Row>(conn)?
            .into_iter()
            .map(LogEntry::from)
            .collect())
    }
}
