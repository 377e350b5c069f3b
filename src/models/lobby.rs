//! The rooms as lists: a user's lobby, and the administrators' overview of every public room.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Room;
use super::notice::{Level, Notice};
use super::read::RoomRead;
use crate::db::DbConnection;
use crate::db::schema::{room_members, rooms, users};

/// A room as one user's lobby lists it.
#[derive(Debug, Clone)]
pub struct RoomListing {
    pub id: i32,
    /// For a direct conversation: the other person's name.
    pub name: String,
    pub creator: String,
    pub direct: bool,
    /// Messages by others that this user has not seen.
    pub unread: i64,
    /// Of those, the ones that mention this user.
    pub mentions: i64,
    /// How loud the room is for this user.
    pub level: Level,
}

impl Room {
    /// The rooms this user's lobby lists, newest activity first, with unread counts: `limit`
    /// of them after the first `offset`. Direct conversations the user hid are left out.
    /// One snapshot for the list and its counts, so a post committing meanwhile is counted in
    /// both or neither.
    pub fn lobby(
        conn: &mut DbConnection,
        user_id: i32,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<RoomListing>> {
        conn.read_transaction(|conn| Self::lobby_now(conn, user_id, offset, limit))
    }

    fn lobby_now(
        conn: &mut DbConnection,
        user_id: i32,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<RoomListing>> {
        let direct_rooms = room_members::table
            .filter(room_members::user_id.eq(user_id))
            .filter(room_members::hidden.eq(false))
            .select(room_members::room_id);
        let rooms = rooms::table
            .inner_join(users::table.on(users::id.eq(rooms::creator_id)))
            .filter(
                rooms::is_direct
                    .eq(false)
                    .or(rooms::id.eq_any(direct_rooms)),
            )
            .order((rooms::last_activity_at.desc(), rooms::id.desc()))
            .offset(offset)
            .limit(limit)
            .select((rooms::id, rooms::name, users::username, rooms::is_direct))
            .load::<(i32, String, String, bool)>(conn)?;
        let listed: Vec<i32> = rooms.iter().map(|(id, ..)| *id).collect();
        let direct: Vec<i32> = rooms
            .iter()
            .filter(|(.., direct)| *direct)
            .map(|(id, ..)| *id)
            .collect();
        let partners: HashMap<i32, String> = room_members::table
            .inner_join(users::table)
            .filter(room_members::room_id.eq_any(&direct))
            .filter(room_members::user_id.ne(user_id))
            .select((room_members::room_id, users::username))
            .load::<(i32, String)>(conn)?
            .into_iter()
            .collect();
        let unread = RoomRead::unread_counts(conn, user_id, &listed)?;
        let mentions = Notice::unread_mentions(conn, user_id, &listed)?;
        let levels = Level::chosen(conn, user_id, &listed)?;
        Ok(rooms
            .into_iter()
            .map(|(id, name, creator, direct)| RoomListing {
                name: if direct {
                    partners.get(&id).cloned().unwrap_or(name)
                } else {
                    name
                },
                unread: unread.get(&id).copied().unwrap_or(0),
                mentions: mentions.get(&id).copied().unwrap_or(0),
                level: levels
                    .get(&id)
                    .copied()
                    .unwrap_or(Level::default_for(direct)),
                id,
                creator,
                direct,
            })
            .collect())
    }

    /// Every public room with its creator's name and how many messages it holds, the most
    /// recently active first (`chatroom rooms list`).
    pub fn overview(conn: &mut DbConnection) -> QueryResult<Vec<RoomOverview>> {
        Self::overview_page(conn, 0, i64::MAX)
    }

    /// `limit` public rooms after the first `offset`, as `overview` orders them. The counts are
    /// the rooms' own counters: nothing reads the log.
    pub fn overview_page(
        conn: &mut DbConnection,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<RoomOverview>> {
        let rooms: Vec<(i32, String, String, i32, NaiveDateTime, NaiveDateTime)> = rooms::table
            .inner_join(users::table.on(users::id.eq(rooms::creator_id)))
            .filter(rooms::is_direct.eq(false))
            .order((rooms::last_activity_at.desc(), rooms::id.desc()))
            .offset(offset)
            .limit(limit)
            .select((
                rooms::id,
                rooms::name,
                users::username,
                rooms::posted - rooms::deleted,
                rooms::created_at,
                rooms::last_activity_at,
            ))
            .load(conn)?;
        Ok(rooms
            .into_iter()
            .map(
                |(id, name, creator, messages, created_at, last_activity_at)| RoomOverview {
                    messages: i64::from(messages),
                    id,
                    name,
                    creator,
                    created_at,
                    last_activity_at,
                },
            )
            .collect())
    }
}

/// A public room as the administrators' page and `chatroom rooms list` show it.
#[derive(Debug, Clone)]
pub struct RoomOverview {
    pub id: i32,
    pub name: String,
    pub creator: String,
    /// Messages not deleted.
    pub messages: i64,
    pub created_at: NaiveDateTime,
    pub last_activity_at: NaiveDateTime,
}
