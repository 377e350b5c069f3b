//! The settings table: what administrators change while the server runs.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::settings;
use crate::domain::RegistrationMode;

const REGISTRATION: &str = "registration";

/// The settings' queries (the setup link's are in setup_link.rs).
pub struct Setting;

impl Setting {
    /// Who may register now; open until an administrator says otherwise (or if the stored
    /// word is not one this version knows).
    pub fn registration(conn: &mut DbConnection) -> QueryResult<RegistrationMode> {
        let word: Option<String> = settings::table
            .find(REGISTRATION)
            .select(settings::value)
            .first(conn)
            .optional()?;
        Ok(word
            .and_then(|word| RegistrationMode::parse(&word).ok())
            .unwrap_or_default())
    }

    pub fn set_registration(conn: &mut DbConnection, mode: RegistrationMode) -> QueryResult<()> {
        // Delete, then insert: one statement on both backends would need each one's upsert.
        diesel::delete(settings::table.find(REGISTRATION)).execute(conn)?;
        diesel::insert_into(settings::table)
            .values((
                settings::name.eq(REGISTRATION),
                settings::value.eq(mode.as_str()),
            ))
            .execute(conn)
            .map(drop)
    }
}
