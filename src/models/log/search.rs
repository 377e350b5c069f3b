//! Finding messages by their text (issue 28), and the history around one found. Both databases
//! index each live message's folded text (`log_entries.search_text`, see `domain::search`) by
//! three-character pieces: SQLite in the FTS5 table `message_search`, PostgreSQL in a pg_trgm
//! GIN index. A term of three or more characters is looked up in the index; a shorter one is
//! matched in the candidates' text. Both look for the same folded substrings, so they find the
//! same messages.

use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel::sqlite::Sqlite;

use crate::db::schema::{log_entries, users};
use crate::db::{DbConnection, timed_out};
use crate::domain::SearchQuery;
use crate::models::log_entry::{COLUMNS, Row};
use crate::models::{LogEntry, ModelError, Room, User, like_containing};

/// The longest one search may run: past it, it stops and the searcher is asked for a narrower
/// one, so that no query (twenty common three-letter terms, say) can hold a connection long.
pub const SEARCH_TIME_LIMIT: Duration = Duration::from_secs(2);
/// How many entries `around` gives on each side of the one asked for.
pub const AROUND: i64 = 50;

/// A message found, with where it was found.
pub struct SearchHit {
    /// Its place in the order of every search: newer messages have larger ones. The next page
    /// starts below the last hit's.
    pub cursor: i64,
    pub room: RoomRef,
    pub entry: LogEntry,
}

/// A room as a search result names it to the searcher.
#[derive(Debug, Clone)]
pub struct RoomRef {
    pub id: i32,
    /// How the searcher names it (a direct conversation: the other person's name).
    pub name: String,
    pub direct: bool,
}

/// What a search asks beyond its words.
#[derive(Debug, Clone, Copy)]
pub struct SearchScope {
    /// Only this room's messages.
    pub room: Option<i32>,
    /// Only hits below this cursor (the next page).
    pub before: Option<i64>,
    pub limit: i64,
    /// How long it may run (`SEARCH_TIME_LIMIT`).
    pub time_limit: Duration,
}

#[derive(QueryableByName)]
struct Match {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Integer)]
    room_id: i32,
    #[diesel(sql_type = Integer)]
    seq: i32,
}

impl LogEntry {
    /// The messages that `reader_id` may read (public rooms, and their own direct
    /// conversations) whose current text holds every term, newest first. `NotFound` or
    /// `Deleted` for a `scope.room` they may not see; `SearchTooCostly` past the time limit.
    pub fn search(
        conn: &mut DbConnection,
        reader_id: i32,
        query: &SearchQuery,
        scope: SearchScope,
    ) -> Result<Vec<SearchHit>, ModelError> {
        if let Some(room_id) = scope.room {
            Room::find(conn, room_id, reader_id)?;
        }
        let author = match query.author() {
            None => None,
            Some(name) => match User::find_by_username(conn, name)? {
                Some(user) => Some(user.id),
                None => return Ok(Vec::new()),
            },
        };
        let matches = conn
            .within(scope.time_limit, |conn| {
                find(conn, reader_id, query, scope, author)
            })
            .map_err(|err| match timed_out(&err) {
                true => ModelError::SearchTooCostly,
                false => ModelError::Database(err),
            })?;
        if matches.is_empty() {
            return Ok(Vec::new());
        }
        let rows = log_entries::table
            .inner_join(users::table)
            .filter(log_entries::id.eq_any(matches.iter().map(|m| m.id).collect::<Vec<_>>()))
            .select(COLUMNS)
            .load::<Row>(conn)?;
        let mut entries: HashMap<(i32, i32), LogEntry> = Self::complete(conn, rows)?
            .into_iter()
            .map(|e| ((e.room_id, e.seq), e))
            .collect();
        let mut rooms: Vec<i32> = matches.iter().map(|m| m.room_id).collect();
        rooms.sort_unstable();
        rooms.dedup();
        let names = Room::names_for(conn, reader_id, &rooms)?;
        Ok(matches
            .into_iter()
            .filter_map(|m| {
                let entry = entries.remove(&(m.room_id, m.seq))?;
                let (name, direct) = names.get(&m.room_id)?.clone();
                Some(SearchHit {
                    cursor: i64::from(m.id),
                    room: RoomRef {
                        id: m.room_id,
                        name,
                        direct,
                    },
                    entry,
                })
            })
            .collect())
    }

    /// A member's look at the history around entry `seq`: up to `AROUND` entries below it, it,
    /// and up to `AROUND` above, oldest first (where a search result opens the room).
    pub fn around(
        conn: &mut DbConnection,
        room_id: i32,
        user_id: i32,
        seq: i32,
    ) -> Result<Vec<LogEntry>, ModelError> {
        Room::find_as_member(conn, room_id, user_id)?;
        Ok(Self::window(conn, room_id, seq)?)
    }

    /// Up to `AROUND` entries below `seq`, it, and up to `AROUND` above, oldest first,
    /// whoever asks.
    pub fn window(conn: &mut DbConnection, room_id: i32, seq: i32) -> QueryResult<Vec<LogEntry>> {
        let mut entries = Self::latest_below(conn, room_id, seq, AROUND)?;
        entries.extend(Self::after(
            conn,
            room_id,
            seq.saturating_sub(1),
            AROUND + 1,
        )?);
        Ok(entries)
    }
}

/// `term` as an FTS5 string: in double quotes, its own doubled. Inside quotes nothing is an
/// operator (`AND`, `NEAR(`, `*`, `-`, `^` are characters), and the trigram tokenizer makes a
/// string of three or more characters match wherever it occurs.
fn fts_string(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// The matching entries' ids and places, newest first: one query. On SQLite the index's
/// matches come newest first and the query stops at the limit; each candidate calls
/// `in_time()` (see `DbConnection::within`).
fn find(
    conn: &mut DbConnection,
    reader_id: i32,
    query: &SearchQuery,
    scope: SearchScope,
    author: Option<i32>,
) -> QueryResult<Vec<Match>> {
    // The conditions both backends share, after each one's own way of matching the text; `id`
    // is the column that orders the matches (on SQLite the index's own, which it reads in
    // that order and can start below a cursor).
    let common = |next: &mut dyn FnMut() -> String, id: &str| {
        let mut sql = format!(
            " AND e.search_text IS NOT NULL \
             AND (NOT r.is_direct OR e.room_id IN \
                 (SELECT room_id FROM room_members WHERE user_id = {}))",
            next()
        );
        if scope.room.is_some() {
            sql += &format!(" AND e.room_id = {}", next());
        }
        if author.is_some() {
            sql += &format!(" AND e.author_id = {}", next());
        }
        if scope.before.is_some() {
            sql += &format!(" AND {id} < {}", next());
        }
        sql += &format!(" ORDER BY {id} DESC LIMIT {}", next());
        sql
    };
    match conn {
        DbConnection::Sqlite(c) => {
            let mut next = || "?".to_owned();
            let mut sql = String::from(
                "SELECT e.id, e.room_id, e.seq FROM message_search s \
                 JOIN log_entries e ON e.id = s.rowid \
                 JOIN rooms r ON r.id = e.room_id \
                 WHERE message_search MATCH ? AND in_time()",
            );
            for _ in query.short_terms() {
                sql += " AND e.search_text LIKE ? ESCAPE '\\'";
            }
            sql += &common(&mut next, "s.rowid");
            let matching: Vec<String> = query.indexed_terms().map(fts_string).collect();
            let mut q = diesel::sql_query(sql)
                .into_boxed::<Sqlite>()
                .bind::<Text, _>(matching.join(" "));
            for term in query.short_terms() {
                q = q.bind::<Text, _>(like_containing(term));
            }
            bind_scope(q, reader_id, scope, author).load(c)
        }
        DbConnection::Postgres(c) => {
            let mut n = 0;
            let mut next = || {
                n += 1;
                format!("${n}")
            };
            let mut sql = String::from(
                "SELECT e.id, e.room_id, e.seq FROM log_entries e \
                 JOIN rooms r ON r.id = e.room_id WHERE TRUE",
            );
            for _ in query.terms() {
                sql += &format!(" AND e.search_text LIKE {}", next());
            }
            sql += &common(&mut next, "e.id");
            let mut q = diesel::sql_query(sql).into_boxed::<diesel::pg::Pg>();
            for term in query.terms() {
                q = q.bind::<Text, _>(like_containing(term));
            }
            bind_scope(q, reader_id, scope, author).load(c)
        }
    }
}

/// Binds the values of the shared conditions, in their order.
fn bind_scope<DB>(
    q: BoxedSqlQuery<'_, DB, diesel::query_builder::SqlQuery>,
    reader_id: i32,
    scope: SearchScope,
    author: Option<i32>,
) -> BoxedSqlQuery<'_, DB, diesel::query_builder::SqlQuery>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<Integer>,
    DB: diesel::sql_types::HasSqlType<BigInt>,
    i32: ToSql<Integer, DB>,
    i64: ToSql<BigInt, DB>,
{
    let mut q = q.bind::<Integer, _>(reader_id);
    if let Some(room) = scope.room {
        q = q.bind::<Integer, _>(room);
    }
    if let Some(author) = author {
        q = q.bind::<Integer, _>(author);
    }
    if let Some(before) = scope.before {
        q = q.bind::<BigInt, _>(before);
    }
    q.bind::<BigInt, _>(scope.limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LoginName, MessageText, RoomName, Username};
    use crate::models::{Changes, NewPost, User, test_databases};

    fn found(conn: &mut DbConnection, reader: i32, q: &str) -> Vec<String> {
        let query = SearchQuery::parse(q).unwrap();
        let scope = SearchScope {
            room: None,
            before: None,
            limit: 100,
            time_limit: SEARCH_TIME_LIMIT,
        };
        LogEntry::search(conn, reader, &query, scope)
            .unwrap()
            .into_iter()
            .map(|hit| hit.entry.body)
            .collect()
    }

    fn post(conn: &mut DbConnection, room: i32, author: i32, text: &str) -> LogEntry {
        let text = MessageText::parse(text).unwrap();
        let c = &mut Changes::default();
        LogEntry::post(conn, &NewPost::new(room, author, text, None), c).unwrap()
    }

    /// Ann, inside a room of hers: (her id, the room's).
    fn ann_in_the_attic(conn: &mut DbConnection) -> (i32, i32) {
        let c = &mut Changes::default();
        let ann = User::create(conn, &Username::parse("ann").unwrap(), "x")
            .unwrap()
            .id;
        let room = Room::create(conn, &RoomName::parse("Attic").unwrap(), ann, c)
            .unwrap()
            .id;
        Room::enter(conn, room, ann, c).unwrap();
        (ann, room)
    }

    #[test]
    fn search_finds_the_same_messages_on_this_backend() {
        for (_db, mut conn) in test_databases() {
            let conn = &mut conn;
            let c = &mut Changes::default();
            let user = |conn: &mut DbConnection, name: &str| {
                User::create(conn, &Username::parse(name).unwrap(), "x")
                    .unwrap()
                    .id
            };
            let (ann, bob, cat) = (user(conn, "ann"), user(conn, "Bob"), user(conn, "cat"));
            let kitchen = Room::create(conn, &RoomName::parse("Kitchen").unwrap(), ann, c)
                .unwrap()
                .id;
            Room::enter(conn, kitchen, ann, c).unwrap();
            post(conn, kitchen, ann, "Un Café crème, s'il vous plaît");
            post(conn, kitchen, ann, "Hello world");
            let edited = post(conn, kitchen, ann, "the old words");
            let gone = post(conn, kitchen, ann, "a deleted secret");
            post(conn, kitchen, ann, "100% sure, a_b");
            post(conn, kitchen, ann, "1000 sure, axb");
            Room::enter(conn, kitchen, bob, c).unwrap();
            post(conn, kitchen, bob, "hello from bob, the word hello");
            let text = MessageText::parse("the new words").unwrap();
            LogEntry::edit(
                conn,
                kitchen,
                edited.seq,
                ann,
                &text,
                &Default::default(),
                c,
            )
            .unwrap();
            Room::enter(conn, kitchen, ann, c).unwrap();
            LogEntry::delete_message(conn, kitchen, gone.seq, ann, c).unwrap();
            // A direct conversation between bob and cat: theirs alone.
            let direct = Room::open_direct(conn, bob, &LoginName::parse("cat").unwrap(), c)
                .unwrap()
                .id;
            post(conn, direct, bob, "hello cat, a private hello");

            assert_eq!(found(conn, ann, "CAFE"), ["Un Café crème, s'il vous plaît"]);
            assert_eq!(
                found(conn, ann, "crème plaît"),
                ["Un Café crème, s'il vous plaît"]
            );
            assert_eq!(
                found(conn, ann, "ello"),
                ["hello from bob, the word hello", "Hello world"]
            );
            assert_eq!(
                found(conn, ann, "hello wor"),
                ["hello from bob, the word hello", "Hello world"]
            );
            assert_eq!(found(conn, ann, "hello world"), ["Hello world"]);
            assert_eq!(
                found(conn, ann, "hello ob"),
                ["hello from bob, the word hello"]
            );
            assert_eq!(
                found(conn, ann, "from:BOB hello"),
                ["hello from bob, the word hello"]
            );
            assert!(found(conn, ann, "from:nobody hello").is_empty());
            assert_eq!(found(conn, ann, "new words"), ["the new words"]);
            assert!(
                found(conn, ann, "old words").is_empty(),
                "edited: by its current text only"
            );
            assert!(
                found(conn, ann, "secret").is_empty(),
                "deleted: never found"
            );
            assert_eq!(found(conn, ann, "100%"), ["100% sure, a_b"]);
            assert_eq!(found(conn, ann, "sure a_b"), ["100% sure, a_b"]);
            assert!(found(conn, ann, "\"\" NEAR( * -x AND").is_empty());
            // The direct conversation: its two people find it, nobody else.
            assert!(found(conn, ann, "private").is_empty());
            assert_eq!(found(conn, cat, "private"), ["hello cat, a private hello"]);
            assert_eq!(found(conn, bob, "private"), ["hello cat, a private hello"]);
            let query = SearchQuery::parse("private").unwrap();
            let scope = |room, before| SearchScope {
                room,
                before,
                limit: 1,
                time_limit: SEARCH_TIME_LIMIT,
            };
            assert!(matches!(
                LogEntry::search(conn, ann, &query, scope(Some(direct), None)),
                Err(ModelError::NotFound)
            ));
            let hits = LogEntry::search(conn, cat, &query, scope(Some(direct), None)).unwrap();
            assert_eq!(
                (hits[0].room.name.as_str(), hits[0].room.direct),
                ("Bob", true)
            );
            // Paging: one at a time, newest first, each page below the last.
            let query = SearchQuery::parse("hello").unwrap();
            let first = LogEntry::search(conn, bob, &query, scope(None, None)).unwrap();
            let second =
                LogEntry::search(conn, bob, &query, scope(None, Some(first[0].cursor))).unwrap();
            let third =
                LogEntry::search(conn, bob, &query, scope(None, Some(second[0].cursor))).unwrap();
            let pages: Vec<&str> = [&first, &second, &third]
                .iter()
                .map(|p| p[0].entry.body.as_str())
                .collect();
            assert_eq!(
                pages,
                [
                    "hello cat, a private hello",
                    "hello from bob, the word hello",
                    "Hello world"
                ]
            );
            let narrowed = LogEntry::search(conn, bob, &query, scope(Some(kitchen), None)).unwrap();
            assert_eq!(narrowed[0].room.name, "Kitchen");
        }
    }

    #[test]
    fn a_search_past_its_time_limit_is_stopped_on_sqlite() {
        let (_db, mut conn) = test_databases().swap_remove(0);
        let conn = &mut conn;
        let (ann, room) = ann_in_the_attic(conn);
        post(conn, room, ann, "words words");
        let query = SearchQuery::parse("words").unwrap();
        let scope = SearchScope {
            room: None,
            before: None,
            limit: 10,
            time_limit: Duration::ZERO,
        };
        assert!(matches!(
            LogEntry::search(conn, ann, &query, scope),
            Err(ModelError::SearchTooCostly)
        ));
        let scope = SearchScope {
            time_limit: SEARCH_TIME_LIMIT,
            ..scope
        };
        assert_eq!(LogEntry::search(conn, ann, &query, scope).unwrap().len(), 1);
    }

    #[test]
    fn messages_stored_before_search_are_indexed_when_the_database_is_brought_up_to_date() {
        for (_db, mut conn) in test_databases() {
            let conn = &mut conn;
            let (ann, room) = ann_in_the_attic(conn);
            post(conn, room, ann, "Ünïcode everywhere");
            post(conn, room, ann, "plain words");
            // As an older server left them: no folded text.
            diesel::update(log_entries::table)
                .set(log_entries::search_text.eq(None::<String>))
                .execute(conn)
                .unwrap();
            assert!(found(conn, ann, "unicode").is_empty());
            assert_eq!(LogEntry::index_unindexed(conn).unwrap(), 2);
            assert_eq!(found(conn, ann, "unicode"), ["Ünïcode everywhere"]);
            assert_eq!(found(conn, ann, "words"), ["plain words"]);
            assert_eq!(LogEntry::index_unindexed(conn).unwrap(), 0, "once");
        }
    }

    #[test]
    fn patterns_and_fts_strings_take_every_character_literally() {
        assert_eq!(like_containing("100%"), "%100\\%%");
        assert_eq!(like_containing("a_b\\c"), "%a\\_b\\\\c%");
        assert_eq!(fts_string("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(fts_string("NEAR(x"), "\"NEAR(x\"");
    }
}
