//! The setup link: while the database has no administrator, one link (its token's hash kept in
//! the settings table) lets its holder register as the first.

use diesel::prelude::*;

use super::setting::Setting;
use crate::db::DbConnection;
use crate::db::schema::{settings, users};

/// The hash of the setup link's token, while the database has no administrator.
const SETUP: &str = "setup_token_hash";

impl Setting {
    /// Keeps `token_hash` as the setup link's, if the database has no administrator and no
    /// setup link yet: true if it did (the caller then shows the link). Servers starting
    /// together on one database keep one: the others are told false. A leftover link of a
    /// database that has an administrator now is forgotten.
    pub fn offer_setup(conn: &mut DbConnection, token_hash: &str) -> QueryResult<bool> {
        conn.write_transaction(|conn| {
            if has_administrator(conn)? {
                diesel::delete(settings::table.find(SETUP)).execute(conn)?;
                return Ok(false);
            }
            let row = (settings::name.eq(SETUP), settings::value.eq(token_hash));
            // ON CONFLICT is beyond the multi-backend, so each arm builds it for its own.
            let added = match conn {
                DbConnection::Sqlite(c) => diesel::insert_into(settings::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)?,
                DbConnection::Postgres(c) => diesel::insert_into(settings::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)?,
            };
            Ok(added == 1)
        })
    }

    /// Whether the setup link whose token hashes to `token_hash` would make an administrator
    /// now: it is the database's, and there is none yet.
    pub fn setup_usable(conn: &mut DbConnection, token_hash: &str) -> QueryResult<bool> {
        let kept: bool = diesel::select(diesel::dsl::exists(
            settings::table
                .find(SETUP)
                .filter(settings::value.eq(token_hash)),
        ))
        .get_result(conn)?;
        Ok(kept && !has_administrator(conn)?)
    }

    /// Uses up the setup link whose token hashes to `token_hash`, in the caller's transaction:
    /// true if the account being made is to be the administrator. One statement decides
    /// between two registrations with the link at once.
    pub fn take_setup(conn: &mut DbConnection, token_hash: &str) -> QueryResult<bool> {
        let taken = diesel::delete(
            settings::table
                .find(SETUP)
                .filter(settings::value.eq(token_hash)),
        )
        .execute(conn)?;
        Ok(taken == 1 && !has_administrator(conn)?)
    }
}

/// Whether any account is an administrator: the question every step of the setup link asks.
pub(super) fn has_administrator(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::is_admin.eq(true)),
    ))
    .get_result(conn)
}
