//! Who is in which room, and rooms made and removed: every move is an entry in the room's log
//! (someone joined, someone left), written in the same transaction.

use diesel::prelude::*;

use super::audit::AuditEntry;
use super::log_entry::{Kind, LogEntry};
use super::read::RoomRead;
use super::room::direct_key;
use super::{Changes, ModelError, Room, User, now, write};
use crate::db::DbConnection;
use crate::db::schema::{deleted_rooms, room_members, rooms};
use crate::domain::{LoginName, RoomName};

impl Room {
    pub fn create(
        conn: &mut DbConnection,
        name: &RoomName,
        creator_id: i32,
        changes: &mut Changes,
    ) -> Result<Room, ModelError> {
        write(conn, changes, |conn, changes| {
            User::lock(conn, &[creator_id])?;
            let room = Self::insert(conn, name.as_str(), &name.key(), creator_id, false)?;
            Self::move_user(conn, creator_id, Some(room.id), changes)?;
            Ok(room)
        })
    }

    /// Opens the direct conversation between the user and `other`, creating it the first
    /// time, and puts the user in it.
    pub fn open_direct(
        conn: &mut DbConnection,
        user_id: i32,
        other: &LoginName,
        changes: &mut Changes,
    ) -> Result<Room, ModelError> {
        write(conn, changes, |conn, changes| {
            let other =
                User::find_by_username(conn, other.as_str())?.ok_or(ModelError::NotFound)?;
            if other.id == user_id {
                return Err(ModelError::NotFound);
            }
            // Both people: the two of them opening it at once must not both create it.
            User::lock(conn, &[user_id, other.id])?;
            let key = direct_key(user_id, other.id);
            let existing = rooms::table
                .filter(rooms::name_key.eq(&key))
                .select(Room::as_select())
                .first(conn)
                .optional()?;
            let room = match existing {
                Some(room) => {
                    diesel::update(room_members::table.find((room.id, user_id)))
                        .set(room_members::hidden.eq(false))
                        .execute(conn)?;
                    room
                }
                None => {
                    let room = Self::insert(conn, "direct", &key, user_id, true)?;
                    // One row a statement: a multi-row VALUES does not compile on the
                    // multi-backend (its batch insert differs per backend).
                    for member in [user_id, other.id] {
                        diesel::insert_into(room_members::table)
                            .values((
                                room_members::room_id.eq(room.id),
                                room_members::user_id.eq(member),
                            ))
                            .execute(conn)?;
                    }
                    room
                }
            };
            Self::move_user(conn, user_id, Some(room.id), changes)?;
            Ok(room)
        })
    }

    /// Makes the room the user's current room, taking them out of any other.
    pub fn enter(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
        changes: &mut Changes,
    ) -> Result<Room, ModelError> {
        write(conn, changes, |conn, changes| {
            User::lock(conn, &[user_id])?;
            let room = Self::find(conn, room_id, user_id)?;
            Self::move_user(conn, user_id, Some(room.id), changes)?;
            Ok(room)
        })
    }

    /// The room as `user_id` may see it, and whether it is their current room.
    pub fn view(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
    ) -> Result<(Room, bool), ModelError> {
        let room = Self::find(conn, room_id, user_id)?;
        let inside = User::current_room(conn, user_id)? == Some(room_id);
        Ok((room, inside))
    }

    /// Takes the user out of the room, if that is where they are.
    pub fn leave(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
        changes: &mut Changes,
    ) -> Result<(), ModelError> {
        write(conn, changes, |conn, changes| {
            User::lock(conn, &[user_id])?;
            if User::current_room(conn, user_id)? == Some(room_id) {
                Self::move_user(conn, user_id, None, changes)?;
            }
            Ok(())
        })
    }

    /// Moves the user to `to`, writing "left" and "joined" into the logs of the rooms
    /// concerned. Runs inside the caller's transaction. The two rooms' rows are taken in
    /// ascending id, so that two moves in opposite directions cannot deadlock.
    fn move_user(
        conn: &mut DbConnection,
        user_id: i32,
        to: Option<i32>,
        changes: &mut Changes,
    ) -> Result<(), ModelError> {
        let from = User::current_room(conn, user_id)?;
        if from == to {
            return Ok(());
        }
        let mut entries: Vec<(i32, Kind)> = from
            .map(|old| (old, Kind::Left))
            .into_iter()
            .chain(to.map(|new| (new, Kind::Joined)))
            .collect();
        entries.sort_unstable_by_key(|&(room_id, _)| room_id);
        for (room_id, kind) in entries {
            let entry = LogEntry::append(conn, room_id, user_id, kind, "", None, changes)?;
            if kind == Kind::Joined {
                // What came before someone's first visit is not news to them.
                RoomRead::first_visit(conn, user_id, room_id, entry.seq)?;
            }
        }
        User::set_current_room(conn, user_id, to)?;
        changes.moved.push((user_id, to));
        Ok(())
    }

    /// Removes the room as far as this user may. A public room is deleted with, by cascade,
    /// its log, by its creator or an administrator (whose deletion is audited). A direct
    /// conversation belongs to both people, so neither deletes it: it leaves the user's lobby
    /// (and the user leaves it) until someone writes in it or the user opens it again. One
    /// transaction.
    pub fn delete(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
        changes: &mut Changes,
    ) -> Result<Removed, ModelError> {
        write(conn, changes, |conn, changes| {
            User::lock(conn, &[user_id])?;
            let room = Self::find(conn, room_id, user_id)?;
            if room.is_direct {
                diesel::update(room_members::table.find((room_id, user_id)))
                    .set(room_members::hidden.eq(true))
                    .execute(conn)?;
                if User::current_room(conn, user_id)? == Some(room_id) {
                    Self::move_user(conn, user_id, None, changes)?;
                }
                return Ok(Removed::Hidden(room));
            }
            if room.creator_id != user_id {
                let admin = User::administering(conn, user_id)?.ok_or(ModelError::NotCreator)?;
                AuditEntry::record(conn, &admin, "deleted room", &room.described())?;
            }
            Self::remove(conn, &room, changes)?;
            Ok(Removed::Deleted(room))
        })
    }

    /// Deletes a public room as the server's command line does, for whoever is named `actor`
    /// in the audit log. `NotFound` for a direct conversation: nobody deletes those.
    pub fn delete_public(
        conn: &mut DbConnection,
        room_id: i32,
        actor: &str,
        changes: &mut Changes,
    ) -> Result<Room, ModelError> {
        write(conn, changes, |conn, changes| {
            let room: Room = rooms::table
                .find(room_id)
                .filter(rooms::is_direct.eq(false))
                .select(Room::as_select())
                .first(conn)?;
            AuditEntry::record(conn, actor, "deleted room", &room.described())?;
            Self::remove(conn, &room, changes)?;
            Ok(room)
        })
    }

    /// Deletes the public room with its log (by cascade) and everyone's place in it, and
    /// keeps its tombstone. Runs inside the caller's transaction.
    fn remove(
        conn: &mut DbConnection,
        room: &Room,
        changes: &mut Changes,
    ) -> Result<(), ModelError> {
        User::lock_inside(conn, room.id)?;
        // On PostgreSQL another delete of this room may have committed since it was read.
        if diesel::delete(rooms::table.find(room.id)).execute(conn)? == 0 {
            return Err(ModelError::Deleted);
        }
        diesel::insert_into(deleted_rooms::table)
            .values((
                deleted_rooms::id.eq(room.id),
                deleted_rooms::deleted_at.eq(now()),
                deleted_rooms::name.eq(&room.name),
            ))
            .execute(conn)?;
        changes.deleted_rooms.push(room.id);
        Ok(())
    }

    /// Creates a public room for `owner` from the server's command line: unlike `create`,
    /// nobody is moved into it. Recorded in the audit log as `actor`'s doing.
    pub fn create_for(
        conn: &mut DbConnection,
        name: &RoomName,
        owner_id: i32,
        actor: &str,
    ) -> Result<Room, ModelError> {
        conn.write_transaction(|conn| {
            let room = Self::insert(conn, name.as_str(), &name.key(), owner_id, false)?;
            AuditEntry::record(conn, actor, "created room", &room.described())?;
            Ok(room)
        })
    }
}

/// What `Room::delete` did.
#[derive(Debug)]
pub enum Removed {
    /// A public room, gone for everyone.
    Deleted(Room),
    /// A direct conversation, out of this user's lobby only.
    Hidden(Room),
}
