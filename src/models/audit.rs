//! The audit_log table: what administrators (and the server's commands) did, and who did it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::now;
use crate::db::DbConnection;
use crate::db::schema::audit_log;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(crate::db::MultiBackend))]
pub struct AuditEntry {
    pub id: i32,
    pub at: NaiveDateTime,
    /// The administrator's name, or "server command" for the command line.
    pub actor: String,
    /// What was done, in a few words ("disabled user").
    pub action: String,
    /// To what ("bob", "room 7 \"Kitchen\"").
    pub subject: String,
}

/// Who acts, as the audit log names them.
pub const SERVER_COMMAND: &str = "server command";

impl AuditEntry {
    /// Writes one entry; call inside the action's own transaction, so that the record and
    /// the action commit together.
    pub fn record(
        conn: &mut DbConnection,
        actor: &str,
        action: &str,
        subject: &str,
    ) -> QueryResult<()> {
        diesel::insert_into(audit_log::table)
            .values((
                audit_log::at.eq(now()),
                audit_log::actor.eq(actor),
                audit_log::action.eq(action),
                audit_log::subject.eq(subject),
            ))
            .execute(conn)
            .map(drop)
    }

    /// The latest `limit` entries, newest first.
    pub fn latest(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<AuditEntry>> {
        audit_log::table
            .order(audit_log::id.desc())
            .limit(limit)
            .select(AuditEntry::as_select())
            .load(conn)
    }
}
