//! Messages stored before they were rendered when stored (issue 27) get their HTML once, when
//! the database is brought up to date: SQL cannot render Markdown, so a migration leaves their
//! `html` NULL and this fills it, a batch at a time.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::log_entries;
use crate::domain::markdown;
use crate::models::{Kind, LogEntry};

/// Rows rendered per batch.
const BATCH: i64 = 500;

impl LogEntry {
    /// Renders every message and edit that has no HTML yet; answers how many.
    pub fn render_unrendered(conn: &mut DbConnection) -> QueryResult<usize> {
        let mut rendered = 0;
        loop {
            let batch: Vec<(i32, String)> = log_entries::table
                .filter(log_entries::html.is_null())
                .filter(log_entries::kind.eq_any([Kind::Message.as_str(), Kind::Edited.as_str()]))
                .select((log_entries::id, log_entries::body))
                .order(log_entries::id.asc())
                .limit(BATCH)
                .load(conn)?;
            if batch.is_empty() {
                return Ok(rendered);
            }
            conn.write_transaction(|conn| {
                for (id, body) in &batch {
                    // Unless a running server's edit rendered it meanwhile.
                    let row = log_entries::table
                        .find(id)
                        .filter(log_entries::html.is_null());
                    diesel::update(row)
                        .set(log_entries::html.eq(Some(markdown::render(body))))
                        .execute(conn)?;
                }
                QueryResult::Ok(())
            })?;
            rendered += batch.len();
        }
    }
}
