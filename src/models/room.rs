//! The rooms table, and the tombstones of deleted rooms.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;

use super::{ModelError, User, now};
use crate::db::schema::{deleted_rooms, rooms, users};
use crate::domain::RoomName;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = rooms, check_for_backend(Sqlite))]
pub struct Room {
    pub id: i32,
    pub name: String,
    pub name_key: String,
    pub creator_id: i32,
    pub created_at: NaiveDateTime,
    pub last_activity_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = rooms)]
struct NewRoom<'a> {
    name: &'a str,
    name_key: &'a str,
    creator_id: i32,
    created_at: NaiveDateTime,
    last_activity_at: NaiveDateTime,
}

/// A room as the lobby lists it.
#[derive(Debug, Clone)]
pub struct RoomListing {
    pub id: i32,
    pub name: String,
    pub creator: String,
    /// How many users have this room as their current room.
    pub inside: i64,
}

impl Room {
    /// Creates the room and puts its creator in it, in one transaction.
    pub fn create(
        conn: &mut SqliteConnection,
        name: &RoomName,
        creator_id: i32,
    ) -> Result<Room, ModelError> {
        conn.immediate_transaction(|conn| {
            let created_at = now();
            let room = diesel::insert_into(rooms::table)
                .values(&NewRoom {
                    name: name.as_str(),
                    name_key: &name.key(),
                    creator_id,
                    created_at,
                    last_activity_at: created_at,
                })
                .returning(Room::as_returning())
                .get_result(conn)?;
            User::set_current_room(conn, creator_id, Some(room.id))?;
            Ok(room)
        })
    }

    /// Every room, newest activity first.
    pub fn list(conn: &mut SqliteConnection) -> QueryResult<Vec<RoomListing>> {
        let inside: HashMap<i32, i64> = users::table
            .filter(users::current_room_id.is_not_null())
            .group_by(users::current_room_id)
            .select((
                users::current_room_id.assume_not_null(),
                diesel::dsl::count_star(),
            ))
            .load::<(i32, i64)>(conn)?
            .into_iter()
            .collect();
        let rooms = rooms::table
            .inner_join(users::table.on(users::id.eq(rooms::creator_id)))
            .order((rooms::last_activity_at.desc(), rooms::id.desc()))
            .select((rooms::id, rooms::name, users::username))
            .load::<(i32, String, String)>(conn)?;
        Ok(rooms
            .into_iter()
            .map(|(id, name, creator)| RoomListing {
                inside: inside.get(&id).copied().unwrap_or(0),
                id,
                name,
                creator,
            })
            .collect())
    }

    /// The room, or why there is none: `NotFound` if it never existed, `Deleted` if it was deleted.
    pub fn find(conn: &mut SqliteConnection, room_id: i32) -> Result<Room, ModelError> {
        let room = rooms::table
            .find(room_id)
            .select(Room::as_select())
            .first(conn)
            .optional()?;
        match room {
            Some(room) => Ok(room),
            None if Self::was_deleted(conn, room_id)? => Err(ModelError::Deleted),
            None => Err(ModelError::NotFound),
        }
    }

    fn was_deleted(conn: &mut SqliteConnection, room_id: i32) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(deleted_rooms::table.find(room_id))).get_result(conn)
    }

    /// Makes the room the user's current room (taking them out of any other) and returns it.
    pub fn enter(
        conn: &mut SqliteConnection,
        room_id: i32,
        user_id: i32,
    ) -> Result<Room, ModelError> {
        conn.immediate_transaction(|conn| {
            let room = Self::find(conn, room_id)?;
            User::set_current_room(conn, user_id, Some(room.id))?;
            Ok(room)
        })
    }

    /// The room, provided it is the user's current room.
    pub fn find_as_member(
        conn: &mut SqliteConnection,
        room_id: i32,
        user_id: i32,
    ) -> Result<Room, ModelError> {
        let room = Self::find(conn, room_id)?;
        if User::current_room(conn, user_id)? != Some(room_id) {
            return Err(ModelError::NotInRoom);
        }
        Ok(room)
    }

    /// Deletes the room and, by cascade, its messages; only its creator may. One transaction.
    pub fn delete(
        conn: &mut SqliteConnection,
        room_id: i32,
        user_id: i32,
    ) -> Result<Room, ModelError> {
        conn.immediate_transaction(|conn| {
            let room = Self::find(conn, room_id)?;
            if room.creator_id != user_id {
                return Err(ModelError::NotCreator);
            }
            diesel::delete(rooms::table.find(room_id)).execute(conn)?;
            diesel::insert_into(deleted_rooms::table)
                .values((
                    deleted_rooms::id.eq(room_id),
                    deleted_rooms::deleted_at.eq(now()),
                ))
                .execute(conn)?;
            Ok(room)
        })
    }
}
