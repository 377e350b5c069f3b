//! Incoming webhooks (the webhooks table): a secret URL that posts into one room under the
//! hook's name. Only each key's hash is kept; the key itself is shown once, when it is made.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{users, webhooks};
use crate::models::now;

/// A hook as its room's list shows it: never its key, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i32,
    pub name: String,
    pub created_at: NaiveDateTime,
    /// Who made it (and so answers for what it posts).
    pub created_by: String,
}

/// What a key opens: the hook, its room, and who posts through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hooked {
    pub id: i32,
    pub room_id: i32,
    pub name: String,
    pub created_by: i32,
}

/// The most hooks one room may hold: a leaked session cannot mint them without end.
pub const MAX_PER_ROOM: i64 = 50;

impl Webhook {
    /// Keeps a new hook into `room_id`, made by `maker` (id and name), by the hash of its
    /// key.
    pub fn create(
        conn: &mut DbConnection,
        room_id: i32,
        maker: (i32, &str),
        name: &str,
        key_hash: &str,
    ) -> QueryResult<Webhook> {
        let created_at = now();
        let id = diesel::insert_into(webhooks::table)
            .values((
                webhooks::room_id.eq(room_id),
                webhooks::name.eq(name),
                webhooks::key_hash.eq(key_hash),
                webhooks::created_by.eq(maker.0),
                webhooks::created_at.eq(created_at),
            ))
            .returning(webhooks::id)
            .get_result(conn)?;
        Ok(Webhook {
            id,
            name: name.to_owned(),
            created_at,
            created_by: maker.1.to_owned(),
        })
    }

    /// How many hooks the room holds.
    pub fn count(conn: &mut DbConnection, room_id: i32) -> QueryResult<i64> {
        webhooks::table
            .filter(webhooks::room_id.eq(room_id))
            .count()
            .get_result(conn)
    }

    /// The room's hooks, newest first.
    pub fn of_room(conn: &mut DbConnection, room_id: i32) -> QueryResult<Vec<Webhook>> {
        let rows: Vec<(i32, String, NaiveDateTime, String)> = webhooks::table
            .inner_join(users::table)
            .filter(webhooks::room_id.eq(room_id))
            .order(webhooks::id.desc())
            .select((
                webhooks::id,
                webhooks::name,
                webhooks::created_at,
                users::username,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at, created_by)| Webhook {
                id,
                name,
                created_at,
                created_by,
            })
            .collect())
    }

    /// Forgets one of the room's hooks: true if it was the room's and there.
    pub fn revoke(conn: &mut DbConnection, room_id: i32, id: i32) -> QueryResult<bool> {
        let gone = diesel::delete(
            webhooks::table
                .filter(webhooks::id.eq(id))
                .filter(webhooks::room_id.eq(room_id)),
        )
        .execute(conn)?;
        Ok(gone == 1)
    }

    /// The hook whose key has this hash: none if it is unknown or revoked, its room was
    /// deleted (the hook went with it), or its maker's account is disabled (they answer for
    /// what it posts).
    pub fn by_key_hash(conn: &mut DbConnection, key_hash: &str) -> QueryResult<Option<Hooked>> {
        let found: Option<(i32, i32, String, i32)> = webhooks::table
            .inner_join(users::table)
            .filter(webhooks::key_hash.eq(key_hash))
            .filter(users::disabled_at.is_null())
            .select((
                webhooks::id,
                webhooks::room_id,
                webhooks::name,
                webhooks::created_by,
            ))
            .first(conn)
            .optional()?;
        Ok(found.map(|(id, room_id, name, created_by)| Hooked {
            id,
            room_id,
            name,
            created_by,
        }))
    }
}
