//! The storage probe: a write that changes nothing, to learn whether the database takes writes
//! again after a storage fault when no one else writes.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Integer;

use crate::db::DbConnection;

/// Commits a write that changes nothing. SQLite: the header's `user_version` (which nothing of
/// ours uses) set to what it is, which still writes a page to the log, as a small post would.
/// PostgreSQL: an UPDATE of no row, which a read-only database or a standby refuses all the
/// same. It writes nothing, so there it cannot tell that a full disk has room again: the
/// next refused write stands that fault again.
pub fn write_nothing(conn: &mut DbConnection) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = Integer)]
        user_version: i32,
    }
    conn.write_transaction(|conn| match conn {
        DbConnection::Sqlite(_) => {
            let version = diesel::sql_query("PRAGMA user_version").get_result::<Version>(conn)?;
            conn.batch_execute(&format!("PRAGMA user_version = {}", version.user_version))
        }
        DbConnection::Postgres(_) => {
            conn.batch_execute("UPDATE settings SET value = value WHERE false")
        }
    })
}
