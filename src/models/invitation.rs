//! The invitations table: single-use links to register while registration is by invitation.
//! Rows hold a SHA-256 of the link's token, never the token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::now;
use crate::db::DbConnection;
use crate::db::schema::{invitations, users};

/// An invitation as the admin page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct InvitationListing {
    pub id: i32,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub struct Invitation;

impl Invitation {
    /// Stores a new invitation made by `created_by`, usable until `expires_at`; its id.
    pub fn create(
        conn: &mut DbConnection,
        token_hash: &str,
        created_by: i32,
        expires_at: NaiveDateTime,
    ) -> QueryResult<i32> {
        diesel::insert_into(invitations::table)
            .values((
                invitations::token_hash.eq(token_hash),
                invitations::created_by.eq(created_by),
                invitations::created_at.eq(now()),
                invitations::expires_at.eq(expires_at),
            ))
            .returning(invitations::id)
            .get_result(conn)
    }

    /// The invitations nobody has used and that have not expired, newest first.
    pub fn unused(conn: &mut DbConnection) -> QueryResult<Vec<InvitationListing>> {
        invitations::table
            .inner_join(users::table.on(users::id.eq(invitations::created_by)))
            .filter(invitations::used_at.is_null())
            .filter(invitations::expires_at.gt(now()))
            .order(invitations::id.desc())
            .select((
                invitations::id,
                users::username,
                invitations::created_at,
                invitations::expires_at,
            ))
            .load(conn)
    }

    /// Whether the token names an invitation that can still be used.
    pub fn is_usable(conn: &mut DbConnection, token_hash: &str) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            invitations::table
                .filter(invitations::token_hash.eq(token_hash))
                .filter(invitations::used_at.is_null())
                .filter(invitations::expires_at.gt(now())),
        ))
        .get_result(conn)
    }

    /// Uses up the invitation for the new account `user_id`; false if it was not usable
    /// (unknown, used, expired or withdrawn). Inside the registration's transaction, so that
    /// of two registrations with one link only one commits.
    pub fn redeem(conn: &mut DbConnection, token_hash: &str, user_id: i32) -> QueryResult<bool> {
        let at = now();
        diesel::update(
            invitations::table
                .filter(invitations::token_hash.eq(token_hash))
                .filter(invitations::used_at.is_null())
                .filter(invitations::expires_at.gt(at)),
        )
        .set((
            invitations::used_by.eq(user_id),
            invitations::used_at.eq(at),
        ))
        .execute(conn)
        .map(|n| n == 1)
    }

    /// Withdraws an unused invitation; false if there is no such unused one.
    pub fn withdraw(conn: &mut DbConnection, id: i32) -> QueryResult<bool> {
        diesel::delete(
            invitations::table
                .find(id)
                .filter(invitations::used_at.is_null()),
        )
        .execute(conn)
        .map(|n| n == 1)
    }
}
