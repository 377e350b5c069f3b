//! Web push's tables: the browsers' subscriptions (`push_subscriptions`), the server's VAPID
//! key (a row of `settings`), and the push worker's side of `notices`: claiming them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::transaction::retrying;
use super::{Notice, now};
use crate::db::DbConnection;
use crate::db::schema::{notices, push_subscriptions, sessions, settings};

/// The settings row that holds the VAPID private key (base64url of the P-256 scalar).
const VAPID_KEY: &str = "vapid_private_key";

/// A browser's push subscription, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = push_subscriptions, check_for_backend(crate::db::MultiBackend))]
pub struct PushSubscription {
    pub id: i32,
    pub user_id: i32,
    /// The public id of the login session that subscribed: logging out ends the subscription.
    pub session_id: String,
    pub endpoint: String,
    /// The browser's P-256 public key, base64url (RFC 8291's `ua_public`).
    pub p256dh: String,
    /// The browser's 16-byte authentication secret, base64url.
    pub auth: String,
    pub created_at: NaiveDateTime,
    /// Deliveries that failed in a row (not counting 404 and 410, which delete the row).
    pub failures: i32,
    /// Unix milliseconds before which no delivery is tried (0: any time).
    pub retry_after: i64,
}

/// A subscription to store; its parts already checked (see `push::Subscription::parse`).
#[derive(Debug, Insertable)]
#[diesel(table_name = push_subscriptions)]
pub struct NewSubscription<'a> {
    pub user_id: i32,
    pub session_id: &'a str,
    pub endpoint: &'a str,
    pub p256dh: &'a str,
    pub auth: &'a str,
    pub created_at: NaiveDateTime,
}

impl PushSubscription {
    /// Stores the subscription; an endpoint stored already is replaced (the browser renewed
    /// its keys, or another account logged in on it), so an endpoint is never pushed to twice.
    pub fn subscribe(conn: &mut DbConnection, new: &NewSubscription<'_>) -> QueryResult<()> {
        retrying(conn, |conn| {
            conn.write_transaction(|conn| {
                diesel::delete(
                    push_subscriptions::table.filter(push_subscriptions::endpoint.eq(new.endpoint)),
                )
                .execute(conn)?;
                diesel::insert_into(push_subscriptions::table)
                    .values(new)
                    .execute(conn)
                    .map(drop)
            })
        })
    }

    /// Forgets the user's subscription at `endpoint`, if they have one there.
    pub fn unsubscribe(conn: &mut DbConnection, user_id: i32, endpoint: &str) -> QueryResult<()> {
        diesel::delete(
            push_subscriptions::table
                .filter(push_subscriptions::user_id.eq(user_id))
                .filter(push_subscriptions::endpoint.eq(endpoint)),
        )
        .execute(conn)
        .map(drop)
    }

    /// Forgets the subscriptions a session made (it logged out).
    pub fn end_session(conn: &mut DbConnection, user_id: i32, session_id: &str) -> QueryResult<()> {
        diesel::delete(
            push_subscriptions::table
                .filter(push_subscriptions::user_id.eq(user_id))
                .filter(push_subscriptions::session_id.eq(session_id)),
        )
        .execute(conn)
        .map(drop)
    }

    /// The users' subscriptions that may be pushed to now (`now_ms`, Unix milliseconds): not
    /// backing off, and made by a session that still lives (a session that ended elsewhere,
    /// by expiring or by logging out everywhere, takes its subscriptions with it).
    pub fn deliverable(
        conn: &mut DbConnection,
        user_ids: &[i32],
        now_ms: i64,
    ) -> QueryResult<Vec<PushSubscription>> {
        let now_secs = now_ms / 1000;
        let live_session = sessions::table
            .filter(sessions::public_id.eq(push_subscriptions::session_id))
            .filter(sessions::user_id.eq(push_subscriptions::user_id.nullable()))
            .filter(sessions::idle_expires_at.gt(now_secs))
            .filter(sessions::expires_at.gt(now_secs));
        push_subscriptions::table
            .filter(push_subscriptions::user_id.eq_any(user_ids))
            .filter(push_subscriptions::retry_after.le(now_ms))
            .filter(diesel::dsl::exists(live_session))
            .order(push_subscriptions::id)
            .select(PushSubscription::as_select())
            .load(conn)
    }

    /// Forgets the subscriptions whose session ended (by expiring, or by logging out
    /// everywhere or on another page): they are never pushed to again.
    pub fn sweep(conn: &mut DbConnection, now_secs: i64) -> QueryResult<usize> {
        let live_session = sessions::table
            .filter(sessions::public_id.eq(push_subscriptions::session_id))
            .filter(sessions::user_id.eq(push_subscriptions::user_id.nullable()))
            .filter(sessions::idle_expires_at.gt(now_secs))
            .filter(sessions::expires_at.gt(now_secs));
        diesel::delete(
            push_subscriptions::table.filter(diesel::dsl::not(diesel::dsl::exists(live_session))),
        )
        .execute(conn)
    }

    /// The push service said the subscription is gone (404 or 410).
    pub fn gone(conn: &mut DbConnection, id: i32) -> QueryResult<()> {
        diesel::delete(push_subscriptions::table.find(id))
            .execute(conn)
            .map(drop)
    }

    /// A delivery failed: one failure more, and none tried before `retry_after` (Unix ms).
    pub fn failed(conn: &mut DbConnection, id: i32, retry_after: i64) -> QueryResult<()> {
        diesel::update(push_subscriptions::table.find(id))
            .set((
                push_subscriptions::failures.eq(push_subscriptions::failures + 1),
                push_subscriptions::retry_after.eq(retry_after),
            ))
            .execute(conn)
            .map(drop)
    }

    /// A delivery after failures went through: the count starts again.
    pub fn delivered(conn: &mut DbConnection, id: i32) -> QueryResult<()> {
        diesel::update(push_subscriptions::table.find(id))
            .set((
                push_subscriptions::failures.eq(0),
                push_subscriptions::retry_after.eq(0),
            ))
            .execute(conn)
            .map(drop)
    }

    /// The stored subscriptions of a user (for tests and the account's own view).
    pub fn of_user(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<PushSubscription>> {
        push_subscriptions::table
            .filter(push_subscriptions::user_id.eq(user_id))
            .order(push_subscriptions::id)
            .select(PushSubscription::as_select())
            .load(conn)
    }
}

/// Builds a new subscription row stamped now.
impl<'a> NewSubscription<'a> {
    pub fn new(
        user_id: i32,
        session_id: &'a str,
        endpoint: &'a str,
        p256dh: &'a str,
        auth: &'a str,
    ) -> Self {
        Self {
            user_id,
            session_id,
            endpoint,
            p256dh,
            auth,
            created_at: now(),
        }
    }
}

/// The server's VAPID key, kept in the database so that every server on it signs with the
/// same one (a browser's subscription names the key it was made for).
pub struct VapidKey;

impl VapidKey {
    /// The stored key; if there is none, stores `made` first. Two servers starting at once
    /// both try to insert; the primary key lets one in, and both read back the same one.
    pub fn get_or_insert(conn: &mut DbConnection, made: &str) -> QueryResult<String> {
        if let Some(key) = Self::stored(conn)? {
            return Ok(key);
        }
        let inserted = diesel::insert_into(settings::table)
            .values((settings::name.eq(VAPID_KEY), settings::value.eq(made)))
            .execute(conn);
        match inserted {
            Ok(_) | Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {}
            Err(err) => return Err(err),
        }
        Self::stored(conn)?.ok_or(DieselError::NotFound)
    }

    fn stored(conn: &mut DbConnection) -> QueryResult<Option<String>> {
        settings::table
            .find(VAPID_KEY)
            .select(settings::value)
            .first(conn)
            .optional()
    }
}

/// The push worker's queries on `notices`.
pub struct PushNotices;

impl PushNotices {
    /// Claims at most `limit` notices that no push worker looked at yet, oldest first (see
    /// `Notice::claim`).
    pub fn claim(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<Notice>> {
        // Read first, outside a write transaction: most rounds find nothing, and then take
        // no write lock (SQLite has one for the whole database).
        let oldest: Vec<i32> = notices::table
            .filter(notices::notify)
            .filter(notices::push_state.eq(0))
            .order(notices::id)
            .limit(limit)
            .select(notices::id)
            .load(conn)?;
        Notice::claim(conn, oldest, (0, 1))
    }

    /// Of these users, those whom another server saw polling since `since_ms` (Unix ms),
    /// from the presence rows servers share on PostgreSQL (see `live::shared`). SQLite has
    /// one server, and no such rows: none.
    pub fn present_elsewhere(
        conn: &mut DbConnection,
        user_ids: &[i32],
        since_ms: i64,
    ) -> QueryResult<Vec<i32>> {
        use diesel::sql_types::{Array, BigInt, Integer};
        #[derive(QueryableByName)]
        struct Present {
            #[diesel(sql_type = Integer)]
            user_id: i32,
        }
        let DbConnection::Postgres(pg) = conn else {
            return Ok(Vec::new());
        };
        let rows: Vec<Present> = diesel::sql_query(
            "SELECT user_id FROM presence WHERE user_id = ANY($1) AND at_ms > $2",
        )
        .bind::<Array<Integer>, _>(user_ids)
        .bind::<BigInt, _>(since_ms)
        .load(pg)?;
        Ok(rows.into_iter().map(|row| row.user_id).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;
    use crate::models::{TestDatabase, test_databases};

    #[test]
    fn servers_starting_at_once_all_read_the_one_key_that_got_in() {
        for (db, _conn) in test_databases() {
            let url = match &db {
                TestDatabase::Sqlite(dir) => dir.path().join("chat.db").display().to_string(),
                TestDatabase::Postgres { admin_url, name } => {
                    crate::db::on_database(admin_url, name)
                }
            };
            let barrier = Barrier::new(6);
            let keys: Vec<String> = std::thread::scope(|scope| {
                let starts: Vec<_> = (0..6)
                    .map(|i| {
                        let (url, barrier) = (&url, &barrier);
                        scope.spawn(move || {
                            let mut conn = DbConnection::open(url).unwrap();
                            barrier.wait();
                            VapidKey::get_or_insert(&mut conn, &format!("key {i}")).unwrap()
                        })
                    })
                    .collect();
                starts.into_iter().map(|s| s.join().unwrap()).collect()
            });
            assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
            let mut conn = DbConnection::open(&url).unwrap();
            assert_eq!(
                VapidKey::get_or_insert(&mut conn, "later").unwrap(),
                keys[0]
            );
        }
    }
}
