//! What a message shows besides its own row: the quote of the message it answers, its
//! reactions, and what its file is. Read for whole pages at once (one query each, none when
//! nothing needs it), so that a message read at any time comes in its current state.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use super::write;
use crate::db::DbConnection;
use crate::db::schema::{attachments, log_entries, reactions, users};
use crate::models::LogEntry;
use crate::models::attachment::Attachment;
use crate::models::log_entry::{Kind, Row};

/// A quoted message as read: room, number, author, text, its file's name.
type Quoted = (i32, i32, String, String, Option<String>);

/// Rooms per query: each adds a clause, well under both backends' limits.
const ROOMS_PER_QUERY: usize = 100;

impl LogEntry {
    /// The entries of these rows, complete: replies with their quotes, messages with their
    /// reactions.
    pub(super) fn complete(conn: &mut DbConnection, rows: Vec<Row>) -> QueryResult<Vec<LogEntry>> {
        let mut entries: Vec<LogEntry> = rows.into_iter().map(LogEntry::from).collect();
        Self::quote_replies(conn, &mut entries)?;
        Self::add_reactions(conn, &mut entries)?;
        let files = entries
            .iter_mut()
            .filter_map(|e| e.attachment.as_deref_mut());
        Attachment::fill(conn, files.collect())?;
        Ok(entries)
    }

    /// The entry of one row, complete; `NotFound` for none.
    pub(super) fn complete_one(conn: &mut DbConnection, rows: Vec<Row>) -> QueryResult<LogEntry> {
        Self::complete(conn, rows)?
            .pop()
            .ok_or(diesel::result::Error::NotFound)
    }

    /// Fills each reply's quote from the current state of the message it answers.
    fn quote_replies(conn: &mut DbConnection, entries: &mut [LogEntry]) -> QueryResult<()> {
        let mut wanted: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for entry in entries.iter() {
            if let Some(reply) = &entry.reply_to {
                wanted.entry(entry.room_id).or_default().push(reply.seq);
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let wanted: Vec<(i32, Vec<i32>)> = wanted.into_iter().collect();
        let mut quoted: HashMap<(i32, i32), (String, String)> = HashMap::new();
        for chunk in wanted.chunks(ROOMS_PER_QUERY) {
            let mut query = log_entries::table
                .inner_join(users::table)
                .left_join(attachments::table)
                .filter(log_entries::kind.eq(Kind::Message.as_str()))
                .select((
                    log_entries::room_id,
                    log_entries::seq,
                    users::username,
                    log_entries::body,
                    attachments::name.nullable(),
                ))
                .into_boxed();
            for (room_id, seqs) in chunk {
                query = query.or_filter(
                    log_entries::room_id
                        .eq(*room_id)
                        .and(log_entries::seq.eq_any(seqs.clone())),
                );
            }
            for (room_id, seq, author, body, file) in query.load::<Quoted>(conn)? {
                quoted.insert(
                    (room_id, seq),
                    (author, write::quoted(&body, file.as_deref())),
                );
            }
        }
        for entry in entries.iter_mut() {
            let room_id = entry.room_id;
            if let Some(reply) = &mut entry.reply_to
                && let Some((author, excerpt)) = quoted.remove(&(room_id, reply.seq))
            {
                reply.author = author;
                reply.excerpt = excerpt;
            }
        }
        Ok(())
    }

    /// Adds each message's reactions, first given first.
    fn add_reactions(conn: &mut DbConnection, entries: &mut [LogEntry]) -> QueryResult<()> {
        // Each room's messages here span a range of numbers: one range per room.
        let mut ranges: BTreeMap<i32, (i32, i32)> = BTreeMap::new();
        for entry in entries.iter() {
            if entry.kind == Kind::Message && !entry.deleted {
                let range = ranges
                    .entry(entry.room_id)
                    .or_insert((entry.seq, entry.seq));
                *range = (range.0.min(entry.seq), range.1.max(entry.seq));
            }
        }
        if ranges.is_empty() {
            return Ok(());
        }
        let ranges: Vec<(i32, (i32, i32))> = ranges.into_iter().collect();
        let mut index: HashMap<(i32, i32), usize> = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            if entry.kind == Kind::Message {
                index.insert((entry.room_id, entry.seq), i);
            }
        }
        for chunk in ranges.chunks(ROOMS_PER_QUERY) {
            let mut query = reactions::table
                .inner_join(users::table)
                .select((
                    reactions::room_id,
                    reactions::message_seq,
                    reactions::emoji,
                    users::username,
                ))
                .order(reactions::id.asc())
                .into_boxed();
            for &(room_id, (low, high)) in chunk {
                query = query.or_filter(
                    reactions::room_id
                        .eq(room_id)
                        .and(reactions::message_seq.between(low, high)),
                );
            }
            for (room_id, seq, emoji, who) in query.load::<(i32, i32, String, String)>(conn)? {
                if let Some(&i) = index.get(&(room_id, seq)) {
                    entries[i].add_reaction(&emoji, &who);
                }
            }
        }
        Ok(())
    }
}
