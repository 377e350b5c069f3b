//! The rooms table (public rooms and direct conversations): its rows, and the lookups and locks
//! the other models take on them. Moving people in and out is membership.rs; the lists,
//! lobby.rs.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{DbConnection, MultiBackend};

use super::{ModelError, User, now};
use crate::db::schema::{deleted_rooms, log_entries, room_members, rooms, users};
use crate::domain::LoginName;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = rooms, check_for_backend(crate::db::MultiBackend))]
pub struct Room {
    pub id: i32,
    pub name: String,
    pub name_key: String,
    pub creator_id: i32,
    pub created_at: NaiveDateTime,
    pub last_activity_at: NaiveDateTime,
    pub is_direct: bool,
    /// The number of the room's latest log entry (0 while it has none).
    pub last_seq: i32,
}

#[derive(Insertable)]
#[diesel(table_name = rooms)]
struct NewRoom<'a> {
    name: &'a str,
    name_key: &'a str,
    creator_id: i32,
    created_at: NaiveDateTime,
    last_activity_at: NaiveDateTime,
    is_direct: bool,
}

/// Direct conversations share the rooms table; their keys cannot collide with a room name's,
/// which never holds a control character.
pub(super) fn direct_key(a: i32, b: i32) -> String {
    format!("\u{1}direct:{}:{}", a.min(b), a.max(b))
}

impl Room {
    pub(super) fn insert(
        conn: &mut DbConnection,
        name: &str,
        name_key: &str,
        creator_id: i32,
        is_direct: bool,
    ) -> QueryResult<Room> {
        let created_at = now();
        diesel::insert_into(rooms::table)
            .values(&NewRoom {
                name,
                name_key,
                creator_id,
                created_at,
                last_activity_at: created_at,
                is_direct,
            })
            // Not `Room::as_returning()`: its `SelectBy<Room, MultiBackend>` is SQL only for
            // the multi-backend, and RETURNING is written by each inner backend. The plain
            // column tuple is SQL for all of them.
            .returning(<Room as Selectable<MultiBackend>>::construct_selection())
            .get_result(conn)
    }

    /// Whether the direct conversation between these two users exists already.
    pub fn direct_exists(
        conn: &mut DbConnection,
        user_id: i32,
        other: &LoginName,
    ) -> QueryResult<bool> {
        let Some(other) = User::find_by_username(conn, other.as_str())? else {
            return Ok(false);
        };
        diesel::select(diesel::dsl::exists(
            rooms::table.filter(rooms::name_key.eq(direct_key(user_id, other.id))),
        ))
        .get_result(conn)
    }

    /// Holds the rows of these rooms until the transaction ends, in ascending id (see
    /// `models::retrying`), and answers those that exist, by id, whoever may see them (the
    /// caller checks membership). SQLite's writer holds the whole database already.
    pub(crate) fn lock_many(
        conn: &mut DbConnection,
        room_ids: &[i32],
    ) -> QueryResult<HashMap<i32, Room>> {
        // A query per backend: the selection is typed by it.
        let query = || {
            rooms::table
                .filter(rooms::id.eq_any(room_ids))
                .order(rooms::id)
        };
        let rooms: Vec<Room> = match conn {
            DbConnection::Sqlite(c) => query().select(Room::as_select()).load(c)?,
            DbConnection::Postgres(c) => query()
                .select(Room::as_select())
                .for_no_key_update()
                .load(c)?,
        };
        Ok(rooms.into_iter().map(|room| (room.id, room)).collect())
    }

    /// The committed head (last log number) of each of these rooms that still exists.
    pub fn heads(conn: &mut DbConnection, room_ids: &[i32]) -> QueryResult<Vec<(i32, i32)>> {
        let mut heads = Vec::with_capacity(room_ids.len());
        for chunk in room_ids.chunks(500) {
            heads.extend(
                rooms::table
                    .filter(rooms::id.eq_any(chunk))
                    .select((rooms::id, rooms::last_seq))
                    .load::<(i32, i32)>(conn)?,
            );
        }
        Ok(heads)
    }

    /// What anyone's lobby shows is as it was while these two stay the same: the newest log
    /// entry's id (any room's) and how many rooms were ever deleted (see `live::lobby_clock`).
    /// One statement, as catch-up reads it every round.
    pub fn lobby_version(conn: &mut DbConnection) -> QueryResult<(i32, i64)> {
        let (newest, deleted) = log_entries::table
            .select((
                diesel::dsl::max(log_entries::id),
                deleted_rooms::table.count().single_value(),
            ))
            .first::<(Option<i32>, Option<i64>)>(conn)?;
        Ok((newest.unwrap_or(0), deleted.unwrap_or(0)))
    }

    /// The ids of the `limit` rooms with the most recent activity.
    pub fn most_active(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<i32>> {
        rooms::table
            .order(rooms::last_activity_at.desc())
            .limit(limit)
            .select(rooms::id)
            .load(conn)
    }

    /// The room as `user_id` may see it: `NotFound` if it never existed (or is someone else's
    /// direct conversation), `Deleted` if it was deleted.
    pub fn find(conn: &mut DbConnection, room_id: i32, user_id: i32) -> Result<Room, ModelError> {
        let room = rooms::table
            .find(room_id)
            .select(Room::as_select())
            .first(conn)
            .optional()?;
        match room {
            Some(room) if room.is_direct && !Self::is_direct_member(conn, room_id, user_id)? => {
                Err(ModelError::NotFound)
            }
            Some(room) => Ok(room),
            None if Self::was_deleted(conn, room_id)? => Err(ModelError::Deleted),
            None => Err(ModelError::NotFound),
        }
    }

    fn is_direct_member(conn: &mut DbConnection, room_id: i32, user_id: i32) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            room_members::table.find((room_id, user_id)),
        ))
        .get_result(conn)
    }

    /// The name a deleted room had (empty for rooms deleted before names were kept), or
    /// `None` if no room of that number was deleted.
    pub fn deleted_name(conn: &mut DbConnection, room_id: i32) -> QueryResult<Option<String>> {
        deleted_rooms::table
            .find(room_id)
            .select(deleted_rooms::name)
            .first(conn)
            .optional()
    }

    fn was_deleted(conn: &mut DbConnection, room_id: i32) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(deleted_rooms::table.find(room_id))).get_result(conn)
    }

    /// The room, provided it is the user's current room (or the user is a bot).
    pub fn find_as_member(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
    ) -> Result<Room, ModelError> {
        let room = Self::find(conn, room_id, user_id)?;
        // A bot is in no room, one at a time: it writes where it may read.
        if User::current_room(conn, user_id)? != Some(room_id) && !User::is_bot(conn, user_id)? {
            return Err(ModelError::NotInRoom);
        }
        Ok(room)
    }

    /// A direct conversation shows again in both lobbies: someone wrote in it. Runs inside
    /// the caller's transaction.
    pub(crate) fn unhide(conn: &mut DbConnection, room_id: i32) -> QueryResult<()> {
        diesel::update(room_members::table)
            .filter(room_members::room_id.eq(room_id))
            .filter(room_members::hidden.eq(true))
            .set(room_members::hidden.eq(false))
            .execute(conn)
            .map(drop)
    }

    /// How this reader names the room: a direct conversation by the other person's name (as
    /// the lobby does), a public room by its own.
    pub fn title_for(&self, conn: &mut DbConnection, reader_id: i32) -> QueryResult<String> {
        if !self.is_direct {
            return Ok(self.name.clone());
        }
        let other = room_members::table
            .inner_join(users::table)
            .filter(room_members::room_id.eq(self.id))
            .filter(room_members::user_id.ne(reader_id))
            .select(users::username)
            .first::<String>(conn)
            .optional()?;
        Ok(other.unwrap_or_else(|| self.name.clone()))
    }

    /// How this reader names each of these rooms (as `title_for` does), and whether it is a
    /// direct conversation: two queries for any number of rooms. Rooms that are gone are left
    /// out.
    pub fn names_for(
        conn: &mut DbConnection,
        reader_id: i32,
        room_ids: &[i32],
    ) -> QueryResult<HashMap<i32, (String, bool)>> {
        let rooms: Vec<(i32, String, bool)> = rooms::table
            .filter(rooms::id.eq_any(room_ids))
            .select((rooms::id, rooms::name, rooms::is_direct))
            .load(conn)?;
        let direct: Vec<i32> = rooms.iter().filter(|r| r.2).map(|r| r.0).collect();
        let mut others: HashMap<i32, String> = HashMap::new();
        if !direct.is_empty() {
            others.extend(
                room_members::table
                    .inner_join(users::table)
                    .filter(room_members::room_id.eq_any(&direct))
                    .filter(room_members::user_id.ne(reader_id))
                    .select((room_members::room_id, users::username))
                    .load::<(i32, String)>(conn)?,
            );
        }
        Ok(rooms
            .into_iter()
            .map(|(id, name, is_direct)| {
                let name = others.remove(&id).unwrap_or(name);
                (id, (name, is_direct))
            })
            .collect())
    }

    /// The room's messages not deleted, from its own counters: nothing reads the log.
    pub fn message_count(conn: &mut DbConnection, room_id: i32) -> QueryResult<i64> {
        rooms::table
            .find(room_id)
            .select(rooms::posted - rooms::deleted)
            .first::<i32>(conn)
            .map(i64::from)
    }

    /// How the audit log names the room: `room 7 "Kitchen"`.
    pub fn described(&self) -> String {
        format!("room {} {:?}", self.id, self.name)
    }

    /// The public room with this id.
    pub fn find_public(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Room>> {
        rooms::table
            .find(id)
            .filter(rooms::is_direct.eq(false))
            .select(Room::as_select())
            .first(conn)
            .optional()
    }

    /// The public room with this name (in any letter case), even one that looks like a number.
    pub fn find_public_named(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Room>> {
        rooms::table
            .filter(rooms::name_key.eq(crate::domain::name_key(name.trim())))
            .filter(rooms::is_direct.eq(false))
            .select(Room::as_select())
            .first(conn)
            .optional()
    }
}
