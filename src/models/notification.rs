//! What needs someone (the notices table) and how loud each room is for them
//! (room_notifications). A message writes a notice for each person it should reach, in its own
//! transaction: everyone it mentions, the other person of a direct conversation, and whoever
//! set the room to `all`. The lobby counts unread mentions from here; each server's memory
//! (`live::attention`) and push workers learn of new notices from here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::notice::{Notice, Reason};
use super::{Changes, Room};
use crate::db::DbConnection;
use crate::db::schema::{
    log_entries, notices, room_members, room_notifications, room_reads, rooms, users,
};
use crate::domain::excerpt;

/// How loud a room is for someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Every message.
    All,
    /// Messages that mention them.
    Mentions,
    Nothing,
}

impl Level {
    pub fn parse(level: &str) -> Option<Self> {
        match level {
            "all" => Some(Self::All),
            "mentions" => Some(Self::Mentions),
            "nothing" => Some(Self::Nothing),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mentions => "mentions",
            Self::Nothing => "nothing",
        }
    }

    /// Without a choice of theirs: every message of a direct conversation, mentions elsewhere.
    pub fn default_for(is_direct: bool) -> Self {
        match is_direct {
            true => Self::All,
            false => Self::Mentions,
        }
    }

    /// Whether a message at this level tells its reader.
    fn notifies(self, mentioned: bool) -> bool {
        match self {
            Self::All => true,
            Self::Mentions => mentioned,
            Self::Nothing => false,
        }
    }
}

/// A message that was just written, as its notices need it.
pub struct Written<'a> {
    pub room: &'a Room,
    pub seq: i32,
    pub author_id: i32,
    pub author: &'a str,
    pub body: &'a str,
    /// The accounts it mentions (ids).
    pub mentions: &'a [i32],
    /// A bot wrote it (or an incoming webhook): no bot's outgoing webhook hears of it, so
    /// that bots cannot talk to each other without end.
    pub bot: bool,
}

#[derive(Insertable)]
#[diesel(table_name = notices)]
struct NewNotice {
    user_id: i32,
    room_id: i32,
    seq: i32,
    mention: bool,
    notify: bool,
    created_at: NaiveDateTime,
    push_state: i32,
}

impl Notice {
    /// Writes the notices of messages just written, in their transaction, and hands them to
    /// `changes`. One read of their rooms' levels (and members, of direct conversations) for
    /// all of them: a batch of posts over a hundred rooms asks once, not once a room.
    pub(crate) fn record(
        conn: &mut DbConnection,
        messages: &[Written],
        changes: &mut Changes,
    ) -> QueryResult<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let rooms_where = |direct_only: bool| {
            let mut ids: Vec<i32> = messages
                .iter()
                .filter(|m| !direct_only || m.room.is_direct)
                .map(|m| m.room.id)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let levels: HashMap<(i32, i32), Level> = room_notifications::table
            .filter(room_notifications::room_id.eq_any(rooms_where(false)))
            .select((
                room_notifications::room_id,
                room_notifications::user_id,
                room_notifications::level,
            ))
            .load::<(i32, i32, String)>(conn)?
            .into_iter()
            .filter_map(|(room, user, level)| Some(((room, user), Level::parse(&level)?)))
            .collect();
        let direct = rooms_where(true);
        let mut members: HashMap<i32, Vec<i32>> = HashMap::new();
        if !direct.is_empty() {
            let rows: Vec<(i32, i32)> = room_members::table
                .filter(room_members::room_id.eq_any(&direct))
                .select((room_members::room_id, room_members::user_id))
                .load(conn)?;
            for (room, user) in rows {
                members.entry(room).or_default().push(user);
            }
        }
        // A bot's notices are for its outgoing webhook (`bot::BotNotices`), never web push.
        let bots = bots_among(conn, messages, &direct)?;
        let now = super::now();
        for message in messages {
            let room = message.room;
            let level_of = |user: i32| {
                levels
                    .get(&(room.id, user))
                    .copied()
                    .unwrap_or(Level::default_for(room.is_direct))
            };
            // Who it may reach: in a direct conversation only its two people.
            let mut recipients: Vec<i32> = match room.is_direct {
                true => members.get(&room.id).cloned().unwrap_or_default(),
                false => message
                    .mentions
                    .iter()
                    .copied()
                    .chain(
                        levels
                            .iter()
                            .filter(|((r, _), l)| *r == room.id && **l == Level::All)
                            .map(|((_, u), _)| *u),
                    )
                    .collect(),
            };
            recipients.sort_unstable();
            recipients.dedup();
            let rows: Vec<NewNotice> = recipients
                .into_iter()
                .filter(|&user| user != message.author_id)
                .filter_map(|user| {
                    let mention = message.mentions.contains(&user);
                    let notify = level_of(user).notifies(mention);
                    (mention || notify).then_some(NewNotice {
                        user_id: user,
                        room_id: room.id,
                        seq: message.seq,
                        mention,
                        notify,
                        created_at: now,
                        // Exactly what the issue asks a bot be told of: a mention, or a
                        // direct message, from someone who is not a bot.
                        push_state: match bots.contains(&user) {
                            false => 0,
                            true if !message.bot && (mention || room.is_direct) => {
                                super::bot::TO_DELIVER
                            }
                            true => super::bot::NOT_DELIVERED,
                        },
                    })
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            // One statement for all of the message's recipients. An edit writes again for
            // whom it now mentions (ON CONFLICT is beyond the multi-backend: each arm builds
            // it for its own).
            macro_rules! upsert {
                ($c:expr) => {
                    diesel::insert_into(notices::table)
                        .values(&rows)
                        .on_conflict((notices::user_id, notices::room_id, notices::seq))
                        .do_update()
                        .set(notices::mention.eq(excluded(notices::mention)))
                        .returning((notices::user_id, notices::id))
                        .get_results::<(i32, i32)>($c)?
                };
            }
            let ids: HashMap<i32, i32> = match conn {
                DbConnection::Sqlite(c) => upsert!(c),
                DbConnection::Postgres(c) => upsert!(c),
            }
            .into_iter()
            .collect();
            let room_name = match room.is_direct {
                true => message.author.to_owned(),
                false => room.name.clone(),
            };
            let excerpt = excerpt(message.body);
            for row in rows {
                let Some(&id) = ids.get(&row.user_id) else {
                    continue;
                };
                changes.notices.push(Notice {
                    id,
                    user_id: row.user_id,
                    room_id: room.id,
                    seq: message.seq,
                    mention: row.mention,
                    notify: row.notify,
                    reason: Reason::of(row.mention, room.is_direct),
                    room: room_name.clone(),
                    author: message.author.to_owned(),
                    excerpt: excerpt.clone(),
                    created_at: now,
                });
            }
        }
        Ok(())
    }

    /// An edit changed whom a message mentions: those it no longer mentions lose its mention
    /// (and the notice, if it was only that); `record` then adds the new ones.
    pub(crate) fn unmention(
        conn: &mut DbConnection,
        room_id: i32,
        seq: i32,
        still: &[i32],
    ) -> QueryResult<()> {
        let of_message = notices::table
            .filter(notices::room_id.eq(room_id))
            .filter(notices::seq.eq(seq))
            .filter(notices::mention)
            .filter(notices::user_id.ne_all(still));
        diesel::delete(of_message.clone().filter(notices::notify.eq(false))).execute(conn)?;
        diesel::update(of_message)
            .set(notices::mention.eq(false))
            .execute(conn)?;
        Ok(())
    }

    /// A message was deleted: nobody needs to read it any more.
    pub(crate) fn forget(conn: &mut DbConnection, room_id: i32, seq: i32) -> QueryResult<()> {
        diesel::delete(
            notices::table
                .filter(notices::room_id.eq(room_id))
                .filter(notices::seq.eq(seq)),
        )
        .execute(conn)?;
        Ok(())
    }

    /// Of these rooms, how many unread messages in each mention the user (rooms without any
    /// are left out). Unread: past the user's read mark, all of them if they never read the room.
    pub fn unread_mentions(
        conn: &mut DbConnection,
        user_id: i32,
        room_ids: &[i32],
    ) -> QueryResult<HashMap<i32, i64>> {
        if room_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i32, i64)> = unread_of(user_id)
            .filter(notices::room_id.eq_any(room_ids))
            .filter(notices::mention)
            .group_by(notices::room_id)
            .select((notices::room_id, diesel::dsl::count_star()))
            .load(conn)?;
        Ok(rows.into_iter().collect())
    }

    /// The user's newest unread notices that say to tell them (at most `limit`), oldest first:
    /// what a server's memory starts from (see `live::attention`).
    pub fn unread(conn: &mut DbConnection, user_id: i32, limit: i64) -> QueryResult<Vec<Notice>> {
        let ids = unread_of(user_id)
            .filter(notices::notify)
            .order(notices::id.desc())
            .limit(limit)
            .select(notices::id)
            .load::<i32>(conn)?;
        Self::by_ids(conn, &ids)
    }

    /// Which of these users have unread notices that say to tell them.
    pub fn waiting_among(conn: &mut DbConnection, user_ids: &[i32]) -> QueryResult<Vec<i32>> {
        past_read_marks()
            .filter(notices::user_id.eq_any(user_ids))
            .filter(notices::notify)
            .select(notices::user_id)
            .distinct()
            .load(conn)
    }

    /// `unread` for each of these users at once, keyed by user (those with none left out):
    /// one query finds who has any, as most people have none, then each of those is read
    /// alone.
    pub fn unread_of_each(
        conn: &mut DbConnection,
        user_ids: &[i32],
        limit: i64,
    ) -> QueryResult<HashMap<i32, Vec<Notice>>> {
        Self::waiting_among(conn, user_ids)?
            .into_iter()
            .map(|user_id| Ok((user_id, Self::unread(conn, user_id, limit)?)))
            .collect()
    }

    /// Notices numbered above `after` (every user's), oldest first, at most `limit`: what
    /// other servers wrote, for this one's memory to catch up with.
    pub fn since(conn: &mut DbConnection, after: i32, limit: i64) -> QueryResult<Vec<Notice>> {
        let ids = notices::table
            .filter(notices::id.gt(after))
            .order(notices::id)
            .limit(limit)
            .select(notices::id)
            .load::<i32>(conn)?;
        Self::by_ids(conn, &ids)
    }

    /// The newest notice's number (0 when there is none): where catching up starts.
    pub fn newest(conn: &mut DbConnection) -> QueryResult<i32> {
        Ok(notices::table
            .select(diesel::dsl::max(notices::id))
            .first::<Option<i32>>(conn)?
            .unwrap_or(0))
    }

    /// Moves these notices from `push_state` `from` to `to` and answers those it moved, whole:
    /// how a worker claims what it read was waiting (web push's, a bot's webhook's). A notice
    /// another server's worker claimed since the read fails the update's repeated
    /// `push_state = from` (PostgreSQL checks it again on a row it waited for; SQLite runs one
    /// writer at a time), so no notice is claimed twice.
    pub(crate) fn claim(
        conn: &mut DbConnection,
        ids: Vec<i32>,
        (from, to): (i32, i32),
    ) -> QueryResult<Vec<Notice>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let claimed: Vec<i32> = conn.write_transaction(|conn| {
            diesel::update(
                notices::table
                    .filter(notices::id.eq_any(ids))
                    .filter(notices::push_state.eq(from)),
            )
            .set(notices::push_state.eq(to))
            .returning(notices::id)
            .get_results(conn)
        })?;
        // Whole, as the pages are told of them (a message deleted since has no notice).
        Self::by_ids(conn, &claimed)
    }

    /// These notices, whole, oldest first: with the message's author and excerpt and the
    /// room as each reader names it.
    pub(crate) fn by_ids(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<Notice>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        type Row = (
            i32,
            i32,
            i32,
            i32,
            bool,
            bool,
            NaiveDateTime,
            String,
            bool,
            String,
            String,
        );
        let rows: Vec<Row> = notices::table
            .inner_join(rooms::table)
            .inner_join(
                log_entries::table.on(log_entries::room_id
                    .eq(notices::room_id)
                    .and(log_entries::seq.eq(notices::seq))),
            )
            .inner_join(users::table.on(users::id.eq(log_entries::author_id)))
            .filter(notices::id.eq_any(ids))
            .select((
                notices::id,
                notices::user_id,
                notices::room_id,
                notices::seq,
                notices::mention,
                notices::notify,
                notices::created_at,
                rooms::name,
                rooms::is_direct,
                users::username,
                log_entries::body,
            ))
            .load(conn)?;
        let mut found: Vec<Notice> = rows
            .into_iter()
            .map(
                |(
                    id,
                    user_id,
                    room_id,
                    seq,
                    mention,
                    notify,
                    created_at,
                    room,
                    direct,
                    author,
                    body,
                )| {
                    Notice {
                        id,
                        user_id,
                        room_id,
                        seq,
                        mention,
                        notify,
                        reason: Reason::of(mention, direct),
                        room: match direct {
                            true => author.clone(),
                            false => room,
                        },
                        author,
                        excerpt: excerpt(&body),
                        created_at,
                    }
                },
            )
            .collect();
        found.sort_by_key(|n| n.id);
        Ok(found)
    }
}

/// Which of the accounts these messages may reach are bots.
fn bots_among(
    conn: &mut DbConnection,
    messages: &[Written],
    direct: &[i32],
) -> QueryResult<Vec<i32>> {
    let mentioned: Vec<i32> = messages
        .iter()
        .flat_map(|m| m.mentions.iter().copied())
        .collect();
    // Most messages mention nobody in a public room: no question to ask.
    if mentioned.is_empty() && direct.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::is_bot)
        .filter(
            users::id.eq_any(mentioned).or(users::id.eq_any(
                room_members::table
                    .filter(room_members::room_id.eq_any(direct))
                    .select(room_members::user_id),
            )),
        )
        .select(users::id)
        .load(conn)
}

/// Notices past their user's read mark in each room (all of a room's if they never read it):
/// what counts as unread.
#[diesel::dsl::auto_type]
fn past_read_marks() -> _ {
    let read_mark = room_reads::room_id
        .eq(notices::room_id)
        .and(room_reads::user_id.eq(notices::user_id));
    let past_mark = room_reads::last_read_seq.is_null().or(notices::seq
        .nullable()
        .gt(room_reads::last_read_seq.nullable()));
    notices::table
        .left_join(room_reads::table.on(read_mark))
        .filter(past_mark)
}

/// The user's unread notices (see `past_read_marks`).
#[diesel::dsl::auto_type]
fn unread_of(user_id: i32) -> _ {
    let unread: past_read_marks = past_read_marks();
    unread.filter(notices::user_id.eq(user_id))
}

impl Level {
    /// The user's level for a room, the default if they chose none.
    pub fn of(conn: &mut DbConnection, user_id: i32, room: &Room) -> QueryResult<Level> {
        Ok(room_notifications::table
            .find((user_id, room.id))
            .select(room_notifications::level)
            .first::<String>(conn)
            .optional()?
            .and_then(|level| Level::parse(&level))
            .unwrap_or(Level::default_for(room.is_direct)))
    }

    /// The levels the user chose for these rooms (rooms left at the default are left out).
    pub fn chosen(
        conn: &mut DbConnection,
        user_id: i32,
        room_ids: &[i32],
    ) -> QueryResult<HashMap<i32, Level>> {
        Ok(room_notifications::table
            .filter(room_notifications::user_id.eq(user_id))
            .filter(room_notifications::room_id.eq_any(room_ids))
            .select((room_notifications::room_id, room_notifications::level))
            .load::<(i32, String)>(conn)?
            .into_iter()
            .filter_map(|(room, level)| Some((room, Level::parse(&level)?)))
            .collect())
    }

    /// Sets the user's level for a room they may read.
    pub fn set(
        conn: &mut DbConnection,
        user_id: i32,
        room_id: i32,
        level: Level,
    ) -> QueryResult<()> {
        let row = (
            room_notifications::user_id.eq(user_id),
            room_notifications::room_id.eq(room_id),
            room_notifications::level.eq(level.as_str()),
        );
        macro_rules! upsert {
            ($c:expr) => {
                diesel::insert_into(room_notifications::table)
                    .values(row)
                    .on_conflict((room_notifications::user_id, room_notifications::room_id))
                    .do_update()
                    .set(room_notifications::level.eq(level.as_str()))
                    .execute($c)?
            };
        }
        match conn {
            DbConnection::Sqlite(c) => upsert!(c),
            DbConnection::Postgres(c) => upsert!(c),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MessageText, RoomName, Username, mention};
    use crate::models::{LogEntry, NewPost, User, test_databases};

    /// One batch of posts over several rooms reads their levels together: each notice still
    /// goes by its own room's levels.
    #[test]
    fn a_batch_over_several_rooms_notifies_by_each_rooms_own_levels() {
        for (_db, mut conn) in test_databases() {
            let c = &mut Changes::default();
            let mut user = |name: &str| {
                User::create(&mut conn, &Username::parse(name).unwrap(), "x")
                    .unwrap()
                    .id
            };
            let (ann, bob, carol, dave) = (user("ann"), user("bob"), user("carol"), user("dave"));
            let mut room = |name: &str, by: i32| {
                Room::create(&mut conn, &RoomName::parse(name).unwrap(), by, c)
                    .unwrap()
                    .id
            };
            let (kitchen, garden) = (room("Kitchen", ann), room("Garden", bob));
            Level::set(&mut conn, carol, kitchen, Level::All).unwrap();
            Level::set(&mut conn, dave, garden, Level::All).unwrap();

            let mut post = |room_id: i32, author: i32, text: &str| {
                let keys = mention::keys(text);
                let accounts = User::mentionable(&mut conn, &keys).unwrap();
                let text = MessageText::parse(text).unwrap();
                NewPost::mentioning(room_id, author, text, None, &accounts)
            };
            let posts = [
                post(kitchen, ann, "soup is ready"),
                post(garden, bob, "roses are out"),
                post(kitchen, ann, "@dave come and eat"),
            ];
            let c = &mut Changes::default();
            let stored: Vec<LogEntry> = LogEntry::post_batch(&mut conn, &posts, c)
                .unwrap()
                .into_iter()
                .map(Result::unwrap)
                .collect();
            let mut told: Vec<(i32, i32, i32, Reason)> = c
                .notices
                .iter()
                .map(|n| (n.user_id, n.room_id, n.seq, n.reason))
                .collect();
            told.sort_unstable_by_key(|t| (t.0, t.1, t.2));
            assert_eq!(
                told,
                [
                    (carol, kitchen, stored[0].seq, Reason::All),
                    (carol, kitchen, stored[2].seq, Reason::All),
                    (dave, kitchen, stored[2].seq, Reason::Mention),
                    (dave, garden, stored[1].seq, Reason::All),
                ]
            );
        }
    }
}
