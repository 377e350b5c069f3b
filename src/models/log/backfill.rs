//! What SQL cannot do for the messages stored before a feature came, done once when the
//! database is brought up to date, a batch at a time: their HTML (issue 27: a migration cannot
//! render Markdown) and their folded text for search (issue 28: nor fold by Unicode's rules).

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::log_entries;
use crate::domain::{markdown, search};
use crate::models::{Kind, LogEntry};

/// Rows rendered per batch.
const BATCH: i64 = 500;
/// Rows folded per batch: folding is cheap, the index's writes are what each commit carries.
const SEARCH_BATCH: i64 = 5_000;
/// How often indexing says how far it is, in rows.
const SEARCH_REPORT_EVERY: usize = 50_000;

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

    /// Gives every live message that has none its folded text, which puts it in the search
    /// index; answers how many. Says in the log how many there are and how far it is, since on a
    /// large database this takes a while (about a minute per million messages).
    pub fn index_unindexed(conn: &mut DbConnection) -> QueryResult<usize> {
        let unindexed = || {
            log_entries::table
                .filter(log_entries::search_text.is_null())
                .filter(log_entries::kind.eq(Kind::Message.as_str()))
                .filter(log_entries::deleted_at.is_null())
        };
        let total: i64 = unindexed().count().get_result(conn)?;
        if total == 0 {
            return Ok(0);
        }
        log::info!("indexing {total} messages for search");
        let mut indexed = 0;
        let mut after = 0;
        loop {
            let batch: Vec<(i32, String)> = unindexed()
                .filter(log_entries::id.gt(after))
                .select((log_entries::id, log_entries::body))
                .order(log_entries::id.asc())
                .limit(SEARCH_BATCH)
                .load(conn)?;
            let Some(&(last, _)) = batch.last() else {
                log::info!("indexed {indexed} messages for search");
                return Ok(indexed);
            };
            conn.write_transaction(|conn| {
                for (id, body) in &batch {
                    // Unless a running server's edit or delete got there meanwhile.
                    let row = unindexed().filter(log_entries::id.eq(id));
                    diesel::update(row)
                        .set(log_entries::search_text.eq(Some(search::fold(body))))
                        .execute(conn)?;
                }
                QueryResult::Ok(())
            })?;
            after = last;
            let before = indexed;
            indexed += batch.len();
            if indexed / SEARCH_REPORT_EVERY > before / SEARCH_REPORT_EVERY {
                log::info!("indexed {indexed} of {total} messages for search");
            }
        }
    }
}
