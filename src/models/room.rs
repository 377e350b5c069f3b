//! The rooms table (public rooms and direct conversations), their members, and the tombstones
//! of deleted rooms.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Timestamp};

use crate::db::{DbConnection, MultiBackend};

use super::audit::AuditEntry;
use super::log::{Kind, LogEntry};
use super::read::RoomRead;
use super::{Changes, ModelError, User, now, write};
use crate::db::schema::{deleted_rooms, room_members, rooms, users};
use crate::domain::{LoginName, RoomName};

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
}

/// Direct conversations share the rooms table; their keys cannot collide with a room name's,
/// which never holds a control character.
fn direct_key(a: i32, b: i32) -> String {
    format!("\u{1}direct:{}:{}", a.min(b), a.max(b))
}

impl Room {
    /// Creates the room and puts its creator in it, in one transaction.
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

    fn insert(
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
        Ok(rooms
            .into_iter()
            .map(|(id, name, creator, direct)| RoomListing {
                name: if direct {
                    partners.get(&id).cloned().unwrap_or(name)
                } else {
                    name
                },
                unread: unread.get(&id).copied().unwrap_or(0),
                id,
                creator,
                direct,
            })
            .collect())
    }

    /// Takes the room's next log number: raises the counter on the room's row, which the
    /// caller's transaction then holds until it commits, so that numbers commit in order.
    /// A message also counts as the room's latest activity, and as one more message posted.
    /// Answers the number and the room's count of messages posted, this one included.
    ///
    /// The caller has just found the room; if its row is gone now, another transaction deleted
    /// it meanwhile (PostgreSQL lets it, where SQLite's one writer would not): `Deleted`.
    pub(crate) fn next_seq(
        conn: &mut DbConnection,
        room_id: i32,
        activity: Option<NaiveDateTime>,
    ) -> Result<(i32, i32), ModelError> {
        Self::take_seqs(conn, room_id, 1, activity)
    }

    /// Takes the room's next `count` numbers at once (see `next_seq`); answers the last, and
    /// the messages posted. With `activity`, the `count` entries are messages.
    pub(crate) fn take_seqs(
        conn: &mut DbConnection,
        room_id: i32,
        count: i32,
        activity: Option<NaiveDateTime>,
    ) -> Result<(i32, i32), ModelError> {
        let room = rooms::table.find(room_id);
        let next = rooms::last_seq + count;
        let taken = match activity {
            Some(at) => diesel::update(room)
                .set((
                    rooms::last_seq.eq(next),
                    rooms::posted.eq(rooms::posted + count),
                    rooms::last_activity_at.eq(at),
                ))
                .returning((rooms::last_seq, rooms::posted))
                .get_result(conn),
            None => diesel::update(room)
                .set(rooms::last_seq.eq(next))
                .returning((rooms::last_seq, rooms::posted))
                .get_result(conn),
        };
        taken.optional()?.ok_or(ModelError::Deleted)
    }

    /// Takes each room's next `count` numbers for as many messages (see `take_seqs`) and sets
    /// its last activity, for a batch of posts: one statement on PostgreSQL, however many
    /// rooms; one per room on SQLite, where a statement costs no round trip. Answers each
    /// room's last number and messages posted, by id; a room that is gone is missing.
    pub(crate) fn take_seqs_many(
        conn: &mut DbConnection,
        counts: &[(i32, i32)],
        activity: NaiveDateTime,
    ) -> QueryResult<HashMap<i32, (i32, i32)>> {
        match conn {
            DbConnection::Postgres(c) => {
                #[derive(QueryableByName)]
                struct Last {
                    #[diesel(sql_type = Integer)]
                    id: i32,
                    #[diesel(sql_type = Integer)]
                    last_seq: i32,
                    #[diesel(sql_type = Integer)]
                    posted: i32,
                }
                let (ids, ns): (Vec<i32>, Vec<i32>) = counts.iter().copied().unzip();
                let taken: Vec<Last> = diesel::sql_query(
                    "UPDATE rooms SET last_seq = rooms.last_seq + v.n, \
                     posted = rooms.posted + v.n, last_activity_at = $3 \
                     FROM unnest($1::int[], $2::int[]) AS v(id, n) WHERE rooms.id = v.id \
                     RETURNING rooms.id, rooms.last_seq, rooms.posted",
                )
                .bind::<Array<Integer>, _>(ids)
                .bind::<Array<Integer>, _>(ns)
                .bind::<Timestamp, _>(activity)
                .load(c)?;
                Ok(taken
                    .into_iter()
                    .map(|l| (l.id, (l.last_seq, l.posted)))
                    .collect())
            }
            DbConnection::Sqlite(_) => {
                let mut taken = HashMap::new();
                for &(room_id, count) in counts {
                    match Self::take_seqs(conn, room_id, count, Some(activity)) {
                        Ok(last) => {
                            taken.insert(room_id, last);
                        }
                        Err(ModelError::Database(err)) => return Err(err),
                        // Gone: missing from the answer.
                        Err(_) => {}
                    }
                }
                Ok(taken)
            }
        }
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

    fn was_deleted(conn: &mut DbConnection, room_id: i32) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(deleted_rooms::table.find(room_id))).get_result(conn)
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
            LogEntry::append(conn, room_id, user_id, kind, "", None, changes)?;
        }
        User::set_current_room(conn, user_id, to)?;
        changes.moved.push((user_id, to));
        Ok(())
    }

    /// The room, provided it is the user's current room.
    pub fn find_as_member(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
    ) -> Result<Room, ModelError> {
        let room = Self::find(conn, room_id, user_id)?;
        if User::current_room(conn, user_id)? != Some(room_id) {
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

    /// Removes the room as far as this user may. A public room is deleted with, by cascade,
    /// its log, by its creator or an administrator (audited). A direct conversation belongs to
    /// both people, so neither deletes it: it leaves the user's lobby (and the user leaves it)
    /// until someone writes in it or the user opens it again. One transaction.
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
            ))
            .execute(conn)?;
        changes.deleted_rooms.push(room.id);
        Ok(())
    }

    /// How the audit log names the room: `room 7 "Kitchen"`.
    pub fn described(&self) -> String {
        format!("room {} {:?}", self.id, self.name)
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

/// What `Room::delete` did.
#[derive(Debug)]
pub enum Removed {
    /// A public room, gone for everyone.
    Deleted(Room),
    /// A direct conversation, out of this user's lobby only.
    Hidden(Room),
}
