//! Writing a room's log: appending an entry, posting messages one by one or in batches.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Integer};

use super::numbering;
use crate::db::DbConnection;
use crate::db::schema::{attachments, log_entries, users};
use crate::domain::markdown::Rendered;
use crate::domain::mention::Accounts;
use crate::domain::{ClientId, MessageText, excerpt, markdown, search};
use crate::models::attachment::{Attachment, NewAttachment};
use crate::models::log_entry::{COLUMNS, ReplyTo, Row};
use crate::models::notification::Written;
use crate::models::rate::{Hit, RateEvents};
use crate::models::{
    self, Author, Changes, Kind, LogEntry, ModelError, Notice, Room, User, now, write,
};

/// `None` is NULL, written out, rather than DEFAULT (the same here): only then does diesel
/// write many rows as one INSERT on SQLite. Otherwise it inserts them one by one inside a
/// savepoint of its own, and when SQLite ends the whole transaction on an error (a full disk)
/// diesel answers "no such savepoint" in place of that error.
#[derive(Insertable)]
#[diesel(table_name = log_entries, treat_none_as_default_value = false)]
struct NewEntry<'a> {
    room_id: i32,
    author_id: i32,
    kind: &'a str,
    body: &'a str,
    target_seq: Option<i32>,
    sent_at: NaiveDateTime,
    client_id: Option<&'a str>,
    seq: i32,
    posted_through: i32,
    author_through: i32,
    html: Option<&'a str>,
    reply_to: Option<i32>,
    /// A message's text folded for search (see `domain::search`); none for other entries.
    search_text: Option<String>,
    mentions: Option<String>,
    attachment_id: Option<i32>,
    posted_as: Option<&'a str>,
}

/// An entry's running counts, up to and including it: the room's messages, and its author's
/// messages in the room (0 for an entry that is not a message). The lobby's unread counts are
/// differences of these (see `RoomRead::unread_counts`).
#[derive(Debug, Clone, Copy)]
struct Through {
    posted: i32,
    author: i32,
}

impl<'a> NewEntry<'a> {
    /// The row that stores `entry` (built before it is written: see `LogEntry::insert`).
    fn of(
        entry: &'a LogEntry,
        client_id: Option<&'a str>,
        through: Through,
        posted_as: Option<&'a str>,
    ) -> Self {
        Self {
            room_id: entry.room_id,
            author_id: entry.author_id,
            kind: entry.kind.as_str(),
            body: &entry.body,
            target_seq: entry.target,
            sent_at: entry.sent_at,
            client_id,
            seq: entry.seq,
            posted_through: through.posted,
            author_through: through.author,
            html: entry.kind.has_html().then_some(entry.html.as_str()),
            reply_to: entry.reply_to.as_ref().map(|r| r.seq),
            search_text: (entry.kind == Kind::Message)
                .then(|| searched_text(&entry.body, entry.attachment.as_deref())),
            mentions: (!entry.mentions.is_empty()).then(|| entry.mentions.join(" ")),
            attachment_id: entry.attachment.as_ref().map(|a| a.id),
            posted_as,
        }
    }
}

/// What the message a reply answers reads back: author, text, deleted, its file's name.
type Quoted = (String, String, Option<NaiveDateTime>, Option<String>);

/// How a reply quotes a message: the start of its text, or the name of the file it is
/// (`excerpt`).
pub(super) fn quoted(body: &str, file: Option<&str>) -> String {
    match file {
        Some(name) if body.is_empty() => excerpt(name),
        _ => excerpt(body),
    }
}

/// What search finds a message by, folded: its text, and its file's name.
pub(super) fn searched_text(body: &str, attachment: Option<&Attachment>) -> String {
    match attachment {
        Some(file) => search::fold(&format!("{body}\n{}", file.name)),
        None => search::fold(body),
    }
}

/// What a batch of posts reads once, for all of them: authors by id (name, current room), and
/// rooms by id.
struct LockedRows {
    authors: HashMap<i32, (Author, Option<i32>)>,
    rooms: HashMap<i32, Room>,
}

/// Rows per INSERT: 13 values each, well under both backends' limits on bound values.
const INSERT_CHUNK: usize = 512;

/// A message to store (see `post_batch`), rendered before any transaction begins.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub room_id: i32,
    pub author_id: i32,
    pub text: MessageText,
    pub html: String,
    pub client_id: Option<ClientId>,
    /// The number of the message of the same room it answers.
    pub reply_to: Option<i32>,
    /// The accounts it mentions: (id, canonical name).
    pub mentions: Vec<(i32, String)>,
    /// The file it carries (shared: a batch's retry must not copy the bytes).
    pub attachment: Option<Arc<NewAttachment>>,
    /// The name it is posted under, for its author: an incoming webhook's.
    pub posted_as: Option<String>,
    /// The message rate limit's event for it, and when it was asked (Unix milliseconds), when
    /// the limits are counted in the database: counted in the post's own transaction, which
    /// refuses the post past the limit (see `post_batch`).
    pub counted: Option<(Hit, i64)>,
}

impl NewPost {
    /// A post that mentions nobody.
    pub fn new(
        room_id: i32,
        author_id: i32,
        text: MessageText,
        client_id: Option<ClientId>,
    ) -> Self {
        Self::mentioning(room_id, author_id, text, client_id, &Accounts::new())
    }

    /// A post whose `@name`s of `accounts` are its mentions.
    pub fn mentioning(
        room_id: i32,
        author_id: i32,
        text: MessageText,
        client_id: Option<ClientId>,
        accounts: &Accounts,
    ) -> Self {
        let Rendered { html, mentions } = markdown::render_mentioning(text.as_str(), accounts);
        Self {
            room_id,
            author_id,
            html,
            text,
            client_id,
            reply_to: None,
            mentions,
            attachment: None,
            posted_as: None,
            counted: None,
        }
    }

    fn mention_ids(&self) -> Vec<i32> {
        self.mentions.iter().map(|(id, _)| *id).collect()
    }

    fn mention_names(&self) -> Vec<String> {
        self.mentions.iter().map(|(_, name)| name.clone()).collect()
    }

    /// The same post, carrying a file.
    pub fn carrying(self, attachment: NewAttachment) -> Self {
        Self {
            attachment: Some(Arc::new(attachment)),
            ..self
        }
    }

    /// The same post, by an incoming webhook of its author's named `name`.
    pub fn posted_as(self, name: String) -> Self {
        Self {
            posted_as: Some(name),
            ..self
        }
    }

    /// The same post, answering message `seq` of its room.
    pub fn replying_to(self, seq: Option<i32>) -> Self {
        Self {
            reply_to: seq,
            ..self
        }
    }

    /// The same post, counting this rate limit's event in its transaction.
    pub fn counting(self, counted: Option<(Hit, i64)>) -> Self {
        Self { counted, ..self }
    }
}

/// An entry about to be written: what its writer knows of it (`insert` numbers and dates it).
pub(super) struct Draft<'a> {
    pub room_id: i32,
    pub author: (i32, &'a Author),
    /// The name it is posted under, when not its author's (an incoming webhook's).
    pub posted_as: Option<&'a str>,
    pub kind: Kind,
    pub body: &'a str,
    pub html: &'a str,
    pub target: Option<i32>,
    pub reply_to: Option<ReplyTo>,
    pub client_id: Option<&'a str>,
    /// Canonical names of the accounts it mentions.
    pub mentions: Vec<String>,
    /// The file it carries, already written.
    pub attachment: Option<Attachment>,
}

impl LogEntry {
    /// which holds the room's row from here until it commits.
    pub(crate) fn append(
        conn: &mut DbConnection,
        room_id: i32,
        author_id: i32,
        kind: Kind,
        body: &str,
        target_seq: Option<i32>,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        let author = User::author(conn, author_id)?;
        let draft = Draft {
            room_id,
            author: (author_id, &author),
            posted_as: None,
            kind,
            body,
            html: "",
            target: target_seq,
            reply_to: None,
            client_id: None,
            mentions: Vec::new(),
            attachment: None,
        };
        Self::insert(conn, draft, changes)
    }

    /// Writes the entry and answers it as a reader would read it back (the author given by id
    /// and name), without reading it back.
    pub(super) fn insert(
        conn: &mut DbConnection,
        draft: Draft,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        let Draft {
            room_id,
            author: (author_id, author),
            posted_as,
            kind,
            body,
            html,
            target,
            reply_to,
            client_id,
            mentions,
            attachment,
        } = draft;
        let sent_at = now();
        let activity = (kind == Kind::Message).then_some(sent_at);
        let (seq, posted) = numbering::next_seq(conn, room_id, activity)?;
        let author_through = match kind {
            Kind::Message => Self::authors_posted(conn, &[(room_id, author_id)])?
                .get(&(room_id, author_id))
                .copied()
                .unwrap_or(0)
                .saturating_add(1),
            _ => 0,
        };
        let through = Through {
            posted,
            author: author_through,
        };
        let entry = LogEntry {
            seq,
            room_id,
            kind,
            author: author.name.clone(),
            author_id,
            body: body.to_owned(),
            html: html.to_owned(),
            target,
            deleted: false,
            edited: false,
            reply_to,
            reactions: Vec::new(),
            sent_at,
            mentions,
            attachment: attachment.map(Box::new),
            bot: author.bot,
        };
        diesel::insert_into(log_entries::table)
            .values(&NewEntry::of(&entry, client_id, through, posted_as))
            .execute(conn)?;
        changes.appended.push(entry.clone());
        Ok(entry)
    }

    /// By the row's key, which never leaves this module.
    fn find(conn: &mut DbConnection, id: i32) -> QueryResult<LogEntry> {
        let rows = log_entries::table
            .inner_join(users::table)
            .filter(log_entries::id.eq(id))
            .select(COLUMNS)
            .load::<Row>(conn)?;
        Self::complete_one(conn, rows)
    }

    /// Stores a message from a member of the room. With a `client_id` the post is idempotent:
    /// if this author already sent a message under that id, it is returned instead of stored
    /// again (a retry after a lost answer). The same id for a different message is `KeyReused`.
    pub fn post(
        conn: &mut DbConnection,
        post: &NewPost,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        let NewPost {
            room_id,
            author_id,
            ref text,
            ref client_id,
            ..
        } = *post;
        write(conn, changes, |conn, changes| {
            // The idempotency check below is a check-then-write: one author's posts take turns.
            User::lock(conn, &[author_id])?;
            let client_id = client_id.as_ref();
            if let Some(earlier) = Self::sent_before(conn, room_id, author_id, text, client_id)? {
                return Ok(earlier);
            }
            // An incoming webhook posts under its own name for its maker, from outside.
            let (room, author) = match &post.posted_as {
                Some(name) => (
                    Room::find(conn, room_id, author_id)?,
                    Author {
                        name: name.clone(),
                        bot: true,
                    },
                ),
                None => (
                    Room::find_as_member(conn, room_id, author_id)?,
                    User::author(conn, author_id)?,
                ),
            };
            Self::store(conn, &room, &author, post, changes)
        })
    }

    /// The message this author already sent under `client_id`, if any: a retry gets it back.
    /// The same id for a different message (or room) is `KeyReused`.
    fn sent_before(
        conn: &mut DbConnection,
        room_id: i32,
        author_id: i32,
        text: &MessageText,
        client_id: Option<&ClientId>,
    ) -> Result<Option<LogEntry>, ModelError> {
        let Some(client_id) = client_id else {
            return Ok(None);
        };
        let earlier = log_entries::table
            .filter(log_entries::author_id.eq(author_id))
            .filter(log_entries::client_id.eq(client_id.as_str()))
            .select(log_entries::id)
            .first::<i32>(conn)
            .optional()?;
        let Some(id) = earlier else {
            return Ok(None);
        };
        Self::same_post(Self::find(conn, id)?, room_id, text).map(Some)
    }

    /// Writes a message into a room its author is inside.
    fn store(
        conn: &mut DbConnection,
        room: &Room,
        author: &Author,
        post: &NewPost,
        changes: &mut Changes,
    ) -> Result<LogEntry, ModelError> {
        let reply_to = match post.reply_to {
            Some(seq) => Some(Self::answered(conn, room.id, seq)?),
            None => None,
        };
        if room.is_direct {
            Room::unhide(conn, room.id)?;
        }
        let attachment = match &post.attachment {
            Some(file) => Some(file.insert(conn, room.id, now())?),
            None => None,
        };
        let draft = Draft {
            room_id: room.id,
            author: (post.author_id, author),
            posted_as: post.posted_as.as_deref(),
            kind: Kind::Message,
            body: post.text.as_str(),
            html: &post.html,
            target: None,
            reply_to,
            client_id: post.client_id.as_ref().map(ClientId::as_str),
            mentions: post.mention_names(),
            attachment,
        };
        let entry = Self::insert(conn, draft, changes)?;
        let written = Written {
            room,
            seq: entry.seq,
            author_id: post.author_id,
            author: &author.name,
            // A file sent without words is told by its name.
            body: match &entry.attachment {
                Some(file) if entry.body.is_empty() => &file.name,
                _ => &entry.body,
            },
            mentions: &post.mention_ids(),
            bot: author.bot || post.posted_as.is_some(),
        };
        Notice::record(conn, &[written], changes)?;
        Ok(entry)
    }

    /// The message a reply answers, as the reply quotes it: a message of the same room
    /// (`NotAMessage` otherwise), not deleted (`MessageDeleted`).
    fn answered(conn: &mut DbConnection, room_id: i32, seq: i32) -> Result<ReplyTo, ModelError> {
        let (author, body, deleted_at, file): Quoted = log_entries::table
            .inner_join(users::table)
            .left_join(attachments::table)
            .filter(log_entries::room_id.eq(room_id))
            .filter(log_entries::seq.eq(seq))
            .filter(log_entries::kind.eq(Kind::Message.as_str()))
            .select((
                users::username,
                log_entries::body,
                log_entries::deleted_at,
                attachments::name.nullable(),
            ))
            .first(conn)
            .optional()?
            .ok_or(ModelError::NotAMessage)?;
        if deleted_at.is_some() {
            return Err(ModelError::MessageDeleted);
        }
        Ok(ReplyTo {
            seq,
            author,
            excerpt: quoted(&body, file.as_deref()),
        })
    }

    /// Stores many posts in one transaction: one commit, one disk flush, for all of them (group
    /// commit). One post's refusal does not touch the others; if the commit itself fails, every
    /// post fails and nothing reaches `changes`.
    ///
    /// The batch reads its authors (name, current room) and rooms once, as it takes their
    /// rows, so that nothing it read can change before it commits. A post whose author is
    /// inside its room is then two statements (the room's number, the row); any other runs
    /// through `post`, in a savepoint of its own, for its precise refusal.
    ///
    /// The rate limit's events the posts carry (`NewPost::counted`) are counted first, all in
    /// one call, so that a post past the limit is refused with nothing stored, and the
    /// events of a batch that fails are not counted.
    pub fn post_batch(
        conn: &mut DbConnection,
        posts: &[NewPost],
        changes: &mut Changes,
    ) -> QueryResult<Vec<Result<LogEntry, ModelError>>> {
        let authors: Vec<i32> = posts.iter().map(|p| p.author_id).collect();
        let rooms: Vec<i32> = posts.iter().map(|p| p.room_id).collect();
        let (counted, hits): (Vec<usize>, Vec<Hit>) = posts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i, p.counted.as_ref()?.0.clone())))
            .unzip();
        // One moment for the batch, as a batch counted on its own is: the latest asked.
        let asked = posts.iter().filter_map(|p| Some(p.counted.as_ref()?.1));
        let now_ms = asked.max().unwrap_or_default();
        let (results, these) = models::retrying(conn, |conn| {
            let mut these = Changes::default();
            let results = conn.write_transaction(|conn| {
                // The rate limit's locks first: each name's is held to the commit, and every
                // batch takes them in one order before any row, so two never wait on each
                // other.
                let mut refused = vec![None; posts.len()];
                for (&i, wait_ms) in counted
                    .iter()
                    .zip(RateEvents::hit_many(conn, &hits, now_ms)?)
                {
                    refused[i] = u64::try_from(wait_ms).ok().filter(|&wait| wait > 0);
                }
                // Every row the batch will write, taken up front in the one order all writers
                // keep (see `retrying`), not post by post.
                let known = LockedRows {
                    authors: User::lock_names_and_rooms(conn, &authors)?,
                    rooms: Room::lock_many(conn, &rooms)?,
                };
                Self::post_each(conn, posts, &refused, &known, &mut these)
            })?;
            Ok::<_, diesel::result::Error>((results, these))
        })?;
        changes.appended.extend(these.appended);
        changes.notices.extend(these.notices);
        Ok(results)
    }

    /// Stores the posts of a batch but those `refused` by the rate limit (with the wait).
    fn post_each(
        conn: &mut DbConnection,
        posts: &[NewPost],
        refused: &[Option<u64>],
        known: &LockedRows,
        these: &mut Changes,
    ) -> QueryResult<Vec<Result<LogEntry, ModelError>>> {
        let sent = Self::sent_before_many(conn, posts)?;
        let mut results: Vec<Option<Result<LogEntry, ModelError>>> = refused
            .iter()
            .map(|wait| wait.map(|wait_ms| Err(ModelError::SendingTooFast(wait_ms))))
            .collect();
        // The posts to store, in order; and for a client_id sent twice in this batch, which
        // post stores it.
        let mut fresh: Vec<(usize, &Room, &Author)> = Vec::new();
        let mut first_of: HashMap<(i32, &str), usize> = HashMap::new();
        let mut again: Vec<(usize, usize)> = Vec::new();
        for (i, p) in posts.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            let inside = match (known.authors.get(&p.author_id), known.rooms.get(&p.room_id)) {
                // A reply reads the message it answers, a file is written before its
                // message, and bots and webhooks write from outside: the single post's path
                // does those.
                (Some((author, Some(current))), Some(room))
                    if *current == room.id
                        && p.reply_to.is_none()
                        && p.attachment.is_none()
                        && !author.bot
                        && p.posted_as.is_none() =>
                {
                    Some((author, room))
                }
                _ => None,
            };
            let Some((author, room)) = inside else {
                // Not inside the room (`post` finds out why), or a reply: in a savepoint of
                // its own.
                match Self::post(conn, p, these) {
                    // The database itself failed: SQLite may have rolled the whole
                    // transaction back already, so nothing after this may run in it.
                    Err(ModelError::Database(err)) => return Err(err),
                    result => results[i] = Some(result),
                }
                continue;
            };
            if let Some(client_id) = &p.client_id {
                let key = (p.author_id, client_id.as_str());
                if let Some(entry) = sent.get(&key) {
                    results[i] = Some(Self::same_post(entry.clone(), p.room_id, &p.text));
                    continue;
                }
                if let Some(&first) = first_of.get(&key) {
                    again.push((i, first));
                    continue;
                }
                first_of.insert(key, i);
            }
            fresh.push((i, room, author));
        }
        for (i, entry) in Self::store_many(conn, posts, &fresh, these)? {
            results[i] = Some(Ok(entry));
        }
        for (i, first) in again {
            let stored = results[first]
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .cloned();
            let post = &posts[i];
            results[i] = stored.map(|entry| Self::same_post(entry, post.room_id, &post.text));
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or(Err(ModelError::NotFound)))
            .collect())
    }

    /// The entry stored under a post's client_id, if it is that post (same room, same text):
    /// a retry. Otherwise the client reused its key for another message: `KeyReused`.
    fn same_post(
        entry: LogEntry,
        room_id: i32,
        text: &MessageText,
    ) -> Result<LogEntry, ModelError> {
        if entry.room_id == room_id && entry.body == text.as_str() {
            Ok(entry)
        } else {
            Err(ModelError::KeyReused)
        }
    }

    /// The entries already stored under the client_ids of these posts, by (author, client_id).
    fn sent_before_many<'p>(
        conn: &mut DbConnection,
        posts: &'p [NewPost],
    ) -> QueryResult<HashMap<(i32, &'p str), LogEntry>> {
        let keys: Vec<(i32, &str)> = posts
            .iter()
            .filter_map(|p| Some((p.author_id, p.client_id.as_ref()?.as_str())))
            .collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let authors: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let ids: Vec<&str> = keys.iter().map(|k| k.1).collect();
        let rows: Vec<(Row, Option<String>)> = log_entries::table
            .inner_join(users::table)
            .filter(log_entries::author_id.eq_any(&authors))
            .filter(log_entries::client_id.eq_any(&ids))
            .select((COLUMNS, log_entries::client_id))
            .load(conn)?;
        let (rows, client_ids): (Vec<Row>, Vec<Option<String>>) = rows.into_iter().unzip();
        let entries = Self::complete(conn, rows)?;
        let mut sent = HashMap::new();
        for (entry, client_id) in entries.into_iter().zip(client_ids) {
            let key = keys
                .iter()
                .find(|k| k.0 == entry.author_id && Some(k.1) == client_id.as_deref());
            if let Some(&key) = key {
                sent.insert(key, entry);
            }
        }
        Ok(sent)
    }

    /// Stores these posts, whose authors are inside their rooms: each room's numbers in one
    /// statement (rooms in ascending id, the lock order), then every row in one. Answers each
    /// post's index with its entry.
    fn store_many(
        conn: &mut DbConnection,
        posts: &[NewPost],
        fresh: &[(usize, &Room, &Author)],
        changes: &mut Changes,
    ) -> Result<Vec<(usize, LogEntry)>, diesel::result::Error> {
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let sent_at = now();
        let mut per_room: std::collections::BTreeMap<i32, (i32, bool)> = Default::default();
        for (_, room, _) in fresh {
            per_room.entry(room.id).or_insert((0, room.is_direct)).0 += 1;
        }
        for (&room_id, &(_, is_direct)) in &per_room {
            if is_direct {
                Room::unhide(conn, room_id)?;
            }
        }
        let counts: Vec<(i32, i32)> = per_room.iter().map(|(&id, &(n, _))| (id, n)).collect();
        let last = numbering::take_seqs_many(conn, &counts, sent_at)?;
        // The first number, and the first count of messages posted, each room gives this batch.
        let mut next: HashMap<i32, (i32, i32)> = HashMap::with_capacity(counts.len());
        for (room_id, count) in counts {
            // The room's row is held since the batch began: it cannot be gone.
            let Some(&(last, posted)) = last.get(&room_id) else {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!("room {room_id} vanished from under a held lock").into(),
                ));
            };
            next.insert(room_id, (last - count + 1, posted - count + 1));
        }
        // Each author's messages in each room so far: read under the rooms' held rows, so no
        // other post of theirs there can come between.
        let pairs: Vec<(i32, i32)> = fresh
            .iter()
            .map(|&(i, room, _)| (room.id, posts[i].author_id))
            .collect();
        let mut authors = Self::authors_posted(conn, &pairs)?;
        let mut stored = Vec::with_capacity(fresh.len());
        for &(i, room, author) in fresh {
            let post = &posts[i];
            let (seq, posted) = next.get_mut(&room.id).map_or((0, 0), |n| {
                *n = (n.0 + 1, n.1 + 1);
                (n.0 - 1, n.1 - 1)
            });
            let mine = authors.entry((room.id, post.author_id)).or_insert(0);
            *mine += 1;
            let through = Through {
                posted,
                author: *mine,
            };
            stored.push((
                i,
                through,
                LogEntry {
                    seq,
                    room_id: room.id,
                    kind: Kind::Message,
                    author: author.name.clone(),
                    author_id: post.author_id,
                    body: post.text.as_str().to_owned(),
                    html: post.html.clone(),
                    target: None,
                    deleted: false,
                    edited: false,
                    reply_to: None,
                    reactions: Vec::new(),
                    sent_at,
                    mentions: post.mention_names(),
                    attachment: None,
                    bot: author.bot,
                },
            ));
        }
        let rows: Vec<NewEntry> = stored
            .iter()
            .map(|(i, through, entry)| {
                let client_id = posts[*i].client_id.as_ref().map(ClientId::as_str);
                NewEntry::of(entry, client_id, *through, None)
            })
            .collect();
        // Several rows in one INSERT: each backend writes it its own way.
        for chunk in rows.chunks(INSERT_CHUNK) {
            let insert = diesel::insert_into(log_entries::table);
            match conn {
                DbConnection::Sqlite(c) => insert.values(chunk).execute(c)?,
                DbConnection::Postgres(c) => insert.values(chunk).execute(c)?,
            };
        }
        // The notices: one read of the rooms' levels for all the messages here.
        let mention_ids: Vec<Vec<i32>> = stored
            .iter()
            .map(|(i, ..)| posts[*i].mention_ids())
            .collect();
        let written: Vec<Written> = fresh
            .iter()
            .zip(&stored)
            .zip(&mention_ids)
            .map(|(((_, room, author), (_, _, entry)), mentions)| Written {
                room,
                seq: entry.seq,
                author_id: entry.author_id,
                author: &author.name,
                body: &entry.body,
                mentions,
                bot: entry.bot,
            })
            .collect();
        Notice::record(conn, &written, changes)?;
        changes
            .appended
            .extend(stored.iter().map(|(_, _, entry)| entry.clone()));
        Ok(stored.into_iter().map(|(i, _, entry)| (i, entry)).collect())
    }

    /// How many messages each `(room, author)` has posted in the room: the running count on
    /// the author's latest message there (one probe of `log_entries_room_author_seq` each).
    /// The caller holds the rooms' rows. Pairs with no message are missing.
    fn authors_posted(
        conn: &mut DbConnection,
        pairs: &[(i32, i32)],
    ) -> QueryResult<HashMap<(i32, i32), i32>> {
        #[derive(QueryableByName)]
        struct Posted {
            #[diesel(sql_type = Integer)]
            room_id: i32,
            #[diesel(sql_type = Integer)]
            author_id: i32,
            #[diesel(sql_type = Integer)]
            posted: i32,
        }
        let mut pairs = pairs.to_vec();
        pairs.sort_unstable();
        pairs.dedup();
        let found: Vec<Posted> = match conn {
            // One round trip for the whole batch.
            DbConnection::Postgres(c) => {
                let (rooms, authors): (Vec<i32>, Vec<i32>) = pairs.into_iter().unzip();
                diesel::sql_query(
                    "SELECT v.room_id, v.author_id, l.author_through AS posted \
                     FROM unnest($1::int[], $2::int[]) AS v(room_id, author_id) \
                     CROSS JOIN LATERAL (SELECT author_through FROM log_entries \
                         WHERE room_id = v.room_id AND author_id = v.author_id \
                           AND kind = 'message' ORDER BY seq DESC LIMIT 1) AS l",
                )
                .bind::<Array<Integer>, _>(rooms)
                .bind::<Array<Integer>, _>(authors)
                .load(c)?
            }
            DbConnection::Sqlite(c) => {
                let mut found = Vec::with_capacity(pairs.len());
                for (room_id, author_id) in pairs {
                    let posted = log_entries::table
                        .filter(log_entries::room_id.eq(room_id))
                        .filter(log_entries::author_id.eq(author_id))
                        // A literal, as the partial index is written: a bound
                        // parameter would not let the planner use it.
                        .filter(sql::<Bool>("kind = 'message'"))
                        .order(log_entries::seq.desc())
                        .select(log_entries::author_through)
                        .first::<i32>(c)
                        .optional()?;
                    found.extend(posted.map(|posted| Posted {
                        room_id,
                        author_id,
                        posted,
                    }));
                }
                found
            }
        };
        Ok(found
            .into_iter()
            .map(|p| ((p.room_id, p.author_id), p.posted))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RoomName, Username};
    use crate::models::test_databases;

    #[test]
    fn a_batch_stores_each_client_id_once_and_refuses_what_it_must_on_this_backend() {
        for (_db, mut conn) in test_databases() {
            let c = &mut Changes::default();
            let ann = User::create(&mut conn, &Username::parse("ann").unwrap(), "x").unwrap();
            let bob = User::create(&mut conn, &Username::parse("bob").unwrap(), "x").unwrap();
            let room =
                Room::create(&mut conn, &RoomName::parse("Kitchen").unwrap(), ann.id, c).unwrap();
            let post = |author_id, text: &str, client_id: Option<&str>| {
                NewPost::new(
                    room.id,
                    author_id,
                    MessageText::parse(text).unwrap(),
                    client_id.map(|id| ClientId::parse(id).unwrap()),
                )
            };
            let batch = [
                post(ann.id, "one", Some("k1")),
                post(ann.id, "one", Some("k1")),
                post(ann.id, "not one", Some("k1")),
                post(bob.id, "bob is outside", None),
                post(ann.id, "two", None),
            ];
            let mut changes = Changes::default();
            let results = LogEntry::post_batch(&mut conn, &batch, &mut changes).unwrap();
            let first = results[0].as_ref().unwrap();
            assert_eq!(
                results[1].as_ref().unwrap(),
                first,
                "a retry is the same message"
            );
            assert!(matches!(results[2], Err(ModelError::KeyReused)));
            assert!(matches!(results[3], Err(ModelError::NotInRoom)));
            let second = results[4].as_ref().unwrap();
            assert_eq!(
                second.seq,
                first.seq + 1,
                "numbered in order, without holes"
            );
            assert_eq!(changes.appended, vec![first.clone(), second.clone()]);
            let stored = LogEntry::after(&mut conn, room.id, 0, 100).unwrap();
            assert_eq!(
                &stored[stored.len() - 2..],
                &[first.clone(), second.clone()]
            );

            // Sent again in a later batch: the stored message comes back.
            let again = LogEntry::post_batch(&mut conn, &batch[..1], c).unwrap();
            assert_eq!(again[0].as_ref().unwrap(), first);
            assert_eq!(LogEntry::after(&mut conn, room.id, 0, 100).unwrap(), stored);
        }
    }
}
