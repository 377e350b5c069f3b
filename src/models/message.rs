//! The messages table: each room's log, ordered by id.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;

use super::{ModelError, Room, now};
use crate::db::schema::{messages, rooms, users};
use crate::domain::MessageText;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = messages, check_for_backend(Sqlite))]
pub struct Message {
    pub id: i32,
    pub room_id: i32,
    pub author_id: i32,
    pub body: String,
    pub sent_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = messages)]
struct NewMessage<'a> {
    room_id: i32,
    author_id: i32,
    body: &'a str,
    sent_at: NaiveDateTime,
}

/// A message as the log shows it: with its author's name.
#[derive(Debug, Clone, Queryable)]
pub struct LogMessage {
    pub id: i32,
    pub author: String,
    pub body: String,
    pub sent_at: NaiveDateTime,
}

type LogColumns = (
    messages::id,
    users::username,
    messages::body,
    messages::sent_at,
);
const LOG_COLUMNS: LogColumns = (
    messages::id,
    users::username,
    messages::body,
    messages::sent_at,
);

impl Message {
    /// Stores a message from a member of the room. The id the database assigns is its place in
    /// the room's order: SQLite has one writer at a time, so ids commit in increasing order.
    pub fn post(
        conn: &mut SqliteConnection,
        room_id: i32,
        author_id: i32,
        text: &MessageText,
    ) -> Result<LogMessage, ModelError> {
        conn.immediate_transaction(|conn| {
            Room::find_as_member(conn, room_id, author_id)?;
            let sent_at = now();
            let message = diesel::insert_into(messages::table)
                .values(&NewMessage {
                    room_id,
                    author_id,
                    body: text.as_str(),
                    sent_at,
                })
                .returning(Message::as_returning())
                .get_result(conn)?;
            diesel::update(rooms::table.find(room_id))
                .set(rooms::last_activity_at.eq(sent_at))
                .execute(conn)?;
            let author = users::table
                .find(author_id)
                .select(users::username)
                .first(conn)?;
            Ok(LogMessage {
                id: message.id,
                author,
                body: message.body,
                sent_at,
            })
        })
    }

    /// A member's poll: the room's messages with an id above `after`, oldest first.
    pub fn since(
        conn: &mut SqliteConnection,
        room_id: i32,
        user_id: i32,
        after: i32,
        limit: i64,
    ) -> Result<Vec<LogMessage>, ModelError> {
        Room::find_as_member(conn, room_id, user_id)?;
        Ok(messages::table
            .inner_join(users::table)
            .filter(messages::room_id.eq(room_id))
            .filter(messages::id.gt(after))
            .order(messages::id.asc())
            .limit(limit)
            .select(LOG_COLUMNS)
            .load(conn)?)
    }

    /// The room's last `limit` messages, oldest first: the history a room page starts with.
    pub fn latest(
        conn: &mut SqliteConnection,
        room_id: i32,
        limit: i64,
    ) -> QueryResult<Vec<LogMessage>> {
        let mut log: Vec<LogMessage> = messages::table
            .inner_join(users::table)
            .filter(messages::room_id.eq(room_id))
            .order(messages::id.desc())
            .limit(limit)
            .select(LOG_COLUMNS)
            .load(conn)?;
        log.reverse();
        Ok(log)
    }
}
