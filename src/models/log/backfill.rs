//! What SQL cannot do for the messages stored before a feature came, done once when the
//! database is brought up to date, a batch at a time: their HTML (issue 27: a migration cannot
//! render Markdown) and their folded text for search (issue 28: nor fold by Unicode's rules).

use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Text};

use crate::db::schema::log_entries;
use crate::db::{Backend, DbConnection};
use crate::domain::{markdown, search};
use crate::models::{Kind, LogEntry};
use diesel::connection::SimpleConnection;

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
    /// large database this takes a while (about a minute per million messages on this machine).
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
        let total_rows = usize::try_from(total).unwrap_or(usize::MAX);
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
                // PostgreSQL chooses between the index and reading newest first by the
                // column's statistics, which it has none of until autovacuum gets to it.
                if conn.backend() == Backend::Postgres {
                    conn.batch_execute("ANALYZE log_entries")?;
                }
                return Ok(indexed);
            };
            let batch_len = batch.len();
            let folded: Vec<(i32, String)> = batch
                .into_iter()
                .map(|(id, body)| (id, search::fold(&body)))
                .collect();
            conn.write_transaction(|conn| store_folded(conn, folded))?;
            after = last;
            let before = indexed;
            indexed += batch_len;
            if indexed / SEARCH_REPORT_EVERY > before / SEARCH_REPORT_EVERY && indexed < total_rows
            {
                log::info!("indexed {indexed} of {total} messages for search");
            }
        }
    }
}

/// Writes each row's folded text, unless a running server's edit or delete got there
/// meanwhile: on PostgreSQL in one statement (a round trip per row would take minutes per
/// million), on SQLite row by row (no round trips; the index's writes are the cost).
fn store_folded(conn: &mut DbConnection, folded: Vec<(i32, String)>) -> QueryResult<()> {
    match conn {
        DbConnection::Postgres(c) => {
            let (ids, texts): (Vec<i32>, Vec<String>) = folded.into_iter().unzip();
            diesel::sql_query(
                "UPDATE log_entries e SET search_text = v.text \
                 FROM unnest($1::int[], $2::text[]) AS v(id, text) \
                 WHERE e.id = v.id AND e.search_text IS NULL AND e.deleted_at IS NULL",
            )
            .bind::<Array<Integer>, _>(ids)
            .bind::<Array<Text>, _>(texts)
            .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            for (id, text) in folded {
                let row = log_entries::table
                    .find(id)
                    .filter(log_entries::search_text.is_null())
                    .filter(log_entries::deleted_at.is_null());
                diesel::update(row)
                    .set(log_entries::search_text.eq(Some(text)))
                    .execute(c)?;
            }
        }
    }
    Ok(())
}
