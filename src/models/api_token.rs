//! API tokens (the api_tokens table): what a script or a bot shows instead of a session
//! cookie. Only each token's hash is kept; the token itself is shown once, when it is made.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{api_tokens, users};
use crate::models::now;

/// A token as its owner's list shows it: never its secret, nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i32,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

/// Whom a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user_id: i32,
    pub username: String,
}

/// How stale `last_used_at` may get before a use writes it again: a script that calls once a
/// second does not write once a second.
const LAST_USED_EVERY_SECS: i64 = 60;

/// The most tokens one account may hold: a leaked session cannot mint them without end.
pub const MAX_PER_ACCOUNT: i64 = 50;

impl ApiToken {
    /// Keeps a new token of `user_id`'s under `name`, by the hash of its secret.
    pub fn create(
        conn: &mut DbConnection,
        user_id: i32,
        name: &str,
        token_hash: &str,
    ) -> QueryResult<ApiToken> {
        let created_at = now();
        let id = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::user_id.eq(user_id),
                api_tokens::name.eq(name),
                api_tokens::token_hash.eq(token_hash),
                api_tokens::created_at.eq(created_at),
            ))
            .returning(api_tokens::id)
            .get_result(conn)?;
        Ok(ApiToken {
            id,
            name: name.to_owned(),
            created_at,
            last_used_at: None,
        })
    }

    /// How many tokens the account holds.
    pub fn count(conn: &mut DbConnection, user_id: i32) -> QueryResult<i64> {
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .count()
            .get_result(conn)
    }

    /// The account's tokens, newest first.
    pub fn of_user(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<ApiToken>> {
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .order(api_tokens::id.desc())
            .select(ApiToken::as_select())
            .load(conn)
    }

    /// Forgets one of the account's tokens: true if it was theirs and there.
    pub fn revoke(conn: &mut DbConnection, user_id: i32, id: i32) -> QueryResult<bool> {
        let gone = diesel::delete(
            api_tokens::table
                .filter(api_tokens::id.eq(id))
                .filter(api_tokens::user_id.eq(user_id)),
        )
        .execute(conn)?;
        Ok(gone == 1)
    }

    /// Forgets every token of the account (a deleted bot's).
    pub fn revoke_all(conn: &mut DbConnection, user_id: i32) -> QueryResult<usize> {
        diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq(user_id))).execute(conn)
    }

    /// Whom the token with this hash speaks for: none if it is unknown, revoked, or its account
    /// is disabled. Notes the use, at most once a minute.
    pub fn holder(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<Holder>> {
        let found: Option<(i32, Option<NaiveDateTime>, i32, String)> = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(token_hash))
            .filter(users::disabled_at.is_null())
            .select((
                api_tokens::id,
                api_tokens::last_used_at,
                users::id,
                users::username,
            ))
            .first(conn)
            .optional()?;
        let Some((id, last_used_at, user_id, username)) = found else {
            return Ok(None);
        };
        let now = now();
        let stale = last_used_at.is_none_or(|at| (now - at).num_seconds() >= LAST_USED_EVERY_SECS);
        if stale {
            diesel::update(api_tokens::table.find(id))
                .set(api_tokens::last_used_at.eq(now))
                .execute(conn)?;
        }
        Ok(Some(Holder { user_id, username }))
    }
}
