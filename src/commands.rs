//! The server's commands for the people who run it: `chatroom admin`, `rooms`, `users` and
//! `bots`.
//! They act on the database directly while servers run: a running server notices a deleted
//! room at its next catch-up and ended sessions at its next look at the revocations, each
//! within a second or so. Every command returns its output as text (or JSON) for main.rs to
//! print; every refusal is one line. Whatever people typed (names, messages) goes into the text
//! through `escaped`, so that it can neither break a line nor reorder one.

use std::borrow::Cow;
use std::io::BufRead;

use anyhow::{Context, anyhow};
use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;

use crate::admin::{Actor, SERVER_COMMAND, audited};
use crate::cli::{
    AdminCommand, BotsCommand, ListArgs, ResetPasswordArgs, RoomChoice, RoomCreateArgs,
    RoomsCommand, TailArgs, UserListArgs, UsersCommand,
};
use crate::db::DbConnection;
use crate::domain::{Password, RoomName, Username, WebhookUrl};
use crate::json::{BotJson, EntryJson, RoomOverviewJson, UserJson};
use crate::models::{self, LogEntry, ModelError, Room, User};

pub fn admin(command: &AdminCommand) -> anyhow::Result<String> {
    let (args, grant) = match command {
        AdminCommand::Grant(args) => (args, true),
        AdminCommand::Revoke(args) => (args, false),
    };
    let mut conn = models::open_existing(&args.database.url)?;
    let name = &user(&mut conn, &args.name)?.username;
    let user = audited::set_admin(&mut conn, &Actor::server_command(), name, grant)
        .map_err(|err| refusal(err, name))?;
    let name = escaped(&user.username);
    Ok(if user.is_admin {
        format!("{name} is an administrator")
    } else {
        format!("{name} is not an administrator")
    })
}

pub fn rooms(command: &RoomsCommand) -> anyhow::Result<String> {
    match command {
        RoomsCommand::List(args) => list_rooms(args),
        RoomsCommand::Create(args) => create_room(args),
        RoomsCommand::Delete(args) => {
            let mut conn = models::open_existing(&args.database.url)?;
            let room = public_room(&mut conn, &args.room)?;
            audited::delete_room(&mut conn, &Actor::server_command(), room.id)
                .map_err(|err| refusal(err, &room.name))?;
            Ok(format!("deleted {}", room.described()))
        }
        RoomsCommand::Tail(args) => tail(args),
    }
}

pub fn users(command: &UsersCommand) -> anyhow::Result<String> {
    match command {
        UsersCommand::List(args) => list_users(args),
        UsersCommand::Disable(args) | UsersCommand::Enable(args) => {
            let disable = matches!(command, UsersCommand::Disable(_));
            let mut conn = models::open_existing(&args.database.url)?;
            let user = user(&mut conn, &args.name)?;
            let user = audited::set_disabled(&mut conn, &Actor::server_command(), user.id, disable)
                .map_err(|err| refusal(err, &args.name))?;
            let name = escaped(&user.username);
            Ok(if disable {
                format!("{name} is disabled: every session of theirs has ended")
            } else {
                format!("{name} is enabled")
            })
        }
        UsersCommand::ResetPassword(args) => reset_password(args),
    }
}

pub fn bots(command: &BotsCommand) -> anyhow::Result<String> {
    use crate::admin::bots;
    let actor = Actor::server_command();
    match command {
        BotsCommand::Create(args) => {
            let name = Username::parse(&args.name).map_err(|invalid| anyhow!("{invalid}"))?;
            let mut conn = models::open_existing(&args.list.database.url)?;
            let made = bots::create_bot(&mut conn, &actor, &name).map_err(|err| match err {
                ModelError::UsernameTaken => {
                    anyhow!("an account named {:?} exists already", args.name)
                }
                other => refusal(other, &args.name),
            })?;
            if args.list.json {
                return json(&serde_json::json!({
                    "id": made.bot.user_id,
                    "name": made.bot.name,
                    "token": made.token,
                }));
            }
            Ok(format!(
                "created the bot {}; its API token (shown only this once, keep it now):\n{}",
                escaped(&made.bot.name),
                made.token
            ))
        }
        BotsCommand::List(args) => {
            let mut conn = models::open_existing(&args.database.url)?;
            let all = crate::models::bot::Bot::all(&mut conn)?;
            if args.json {
                return json(&all.iter().map(BotJson::from).collect::<Vec<_>>());
            }
            if all.is_empty() {
                return Ok("no bots".into());
            }
            let rows = all.iter().map(|bot| {
                let failure = match (&bot.last_failure, bot.last_failure_at) {
                    (Some(why), Some(at)) => format!("{} {why}", minutes(at)),
                    _ => "-".into(),
                };
                vec![
                    bot.name.clone(),
                    minutes(bot.created_at),
                    bot.webhook_url.clone().unwrap_or_else(|| "-".into()),
                    failure,
                    if bot.disabled { "disabled" } else { "" }.into(),
                ]
            });
            Ok(table(
                &[
                    "NAME",
                    "CREATED (UTC)",
                    "WEBHOOK",
                    "LAST FAILURE (UTC)",
                    "STATE",
                ],
                rows,
            ))
        }
        BotsCommand::Delete(args) => {
            let mut conn = models::open_existing(&args.database.url)?;
            let bot = bots::bot_named(&mut conn, &args.name)
                .map_err(|_| anyhow!("there is no bot named {:?}", args.name))?;
            bots::delete_bot(&mut conn, &actor, bot.user_id)
                .map_err(|err| refusal(err, &args.name))?;
            Ok(format!(
                "deleted the bot {}: its tokens no longer work; what it wrote stays",
                escaped(&bot.name)
            ))
        }
        BotsCommand::Webhook(args) => {
            let url = match (&args.address, args.clear) {
                (Some(url), false) => {
                    Some(WebhookUrl::parse(url).map_err(|invalid| anyhow!("{invalid}"))?)
                }
                _ => None,
            };
            let mut conn = models::open_existing(&args.database.url)?;
            let bot = bots::bot_named(&mut conn, &args.name)
                .map_err(|_| anyhow!("there is no bot named {:?}", args.name))?;
            let bot = bots::set_bot_webhook(&mut conn, &actor, bot.user_id, url.as_ref())
                .map_err(|err| refusal(err, &args.name))?;
            let name = escaped(&bot.name);
            Ok(match &bot.webhook_url {
                Some(url) => format!("{name} is told at {}", escaped(url)),
                None => format!("{name} has no webhook"),
            })
        }
    }
}

fn list_rooms(args: &ListArgs) -> anyhow::Result<String> {
    let mut conn = models::open_existing(&args.database.url)?;
    let rooms = Room::overview(&mut conn)?;
    if args.json {
        return json(&rooms.iter().map(RoomOverviewJson::from).collect::<Vec<_>>());
    }
    if rooms.is_empty() {
        return Ok("no rooms yet".into());
    }
    let rows = rooms.iter().map(|room| {
        vec![
            room.id.to_string(),
            room.name.clone(),
            room.creator.clone(),
            room.messages.to_string(),
            minutes(room.last_activity_at),
        ]
    });
    Ok(table(
        &["ID", "NAME", "CREATOR", "MESSAGES", "LAST ACTIVITY (UTC)"],
        rows,
    ))
}

fn create_room(args: &RoomCreateArgs) -> anyhow::Result<String> {
    let name = RoomName::parse(&args.name).map_err(|invalid| anyhow!("{invalid}"))?;
    let mut conn = models::open_existing(&args.list.database.url)?;
    let owner = match &args.owner {
        Some(owner) => user(&mut conn, owner)?,
        None => User::oldest_administrator(&mut conn)?
            .context("there is no account yet to own the room: name one with --owner")?,
    };
    let room = Room::create_for(&mut conn, &name, owner.id, SERVER_COMMAND)
        .map_err(|err| refusal(err, &args.name))?;
    if args.list.json {
        return json(&serde_json::json!({
            "id": room.id,
            "name": room.name,
            "creator": owner.username,
        }));
    }
    Ok(format!(
        "created {} owned by {}",
        room.described(),
        escaped(&owner.username)
    ))
}

fn tail(args: &TailArgs) -> anyhow::Result<String> {
    let mut conn = models::open_existing(&args.list.database.url)?;
    let room = public_room(&mut conn, &args.room)?;
    let entries = LogEntry::latest(&mut conn, room.id, args.count)?;
    if args.list.json {
        return json(&entries.iter().map(EntryJson::from).collect::<Vec<_>>());
    }
    let lines: Vec<String> = entries.iter().filter_map(entry_line).collect();
    if lines.is_empty() {
        return Ok(format!("{} has no messages yet", room.described()));
    }
    Ok(lines.join("\n"))
}

/// One entry as a line of text, a message in its current state; none for the entries that
/// changed a message (the message shows what they did).
fn entry_line(entry: &LogEntry) -> Option<String> {
    use crate::models::Kind;
    let at = entry.sent_at.format("%Y-%m-%d %H:%M:%S");
    // A message's line breaks and bidi controls would forge lines in anyone's name.
    let author = escaped(&entry.author);
    let what = match entry.kind {
        Kind::Message if entry.deleted => format!("{author}: (message deleted)"),
        Kind::Message => {
            let mut line = format!("{author}: {}", escaped(&entry.body));
            if let Some(reply) = &entry.reply_to {
                line = format!("(re #{}) {line}", reply.seq);
            }
            if entry.edited {
                line.push_str(" (edited)");
            }
            for r in &entry.reactions {
                line.push_str(&format!(" [{} {}]", escaped(&r.emoji), r.by.len()));
            }
            line
        }
        Kind::Joined => format!("* {author} joined"),
        Kind::Left => format!("* {author} left"),
        Kind::Deleted | Kind::Edited | Kind::Reacted | Kind::Unreacted => return None,
    };
    Some(format!("[{at}] #{} {what}", entry.seq))
}

fn list_users(args: &UserListArgs) -> anyhow::Result<String> {
    let mut conn = models::open_existing(&args.list.database.url)?;
    let users = User::search(&mut conn, &args.search, i64::MAX)?;
    if args.list.json {
        return json(&users.iter().map(UserJson::from).collect::<Vec<_>>());
    }
    if users.is_empty() {
        return Ok("no users".into());
    }
    let rows = users.iter().map(|user| {
        let mut roles = Vec::new();
        if user.is_admin {
            roles.push("administrator");
        }
        if user.disabled_at.is_some() {
            roles.push("disabled");
        }
        vec![
            user.username.clone(),
            minutes(user.created_at),
            user.last_seen_at.map_or_else(|| "-".into(), minutes),
            roles.join(", "),
        ]
    });
    Ok(table(
        &["NAME", "REGISTERED (UTC)", "LAST SEEN (UTC)", "ROLE"],
        rows,
    ))
}

fn reset_password(args: &ResetPasswordArgs) -> anyhow::Result<String> {
    let mut conn = models::open_existing(&args.database.url)?;
    let user = user(&mut conn, &args.name)?;
    if User::is_bot(&mut conn, user.id)? {
        return Err(anyhow!(
            "{:?} is a bot: it has no password, it uses its API token",
            user.username
        ));
    }
    let (password, made_up) = if args.stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the new password from standard input")?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        let password =
            Password::parse_new(line, &user.username).map_err(|invalid| anyhow!("{invalid}"))?;
        (password, false)
    } else {
        let draw = || Alphanumeric.sample_string(&mut rand::rng(), 16);
        (made_up_password(&user.username, draw), true)
    };
    let hash = bcrypt::hash(password.expose(), args.bcrypt_cost)?;
    let ended = audited::reset_password(&mut conn, &Actor::server_command(), user.id, &hash)
        .map_err(|err| refusal(err, &args.name))?;
    let sessions = format!("{ended} session{} ended", if ended == 1 { "" } else { "s" });
    let name = escaped(&user.username);
    Ok(if made_up {
        format!(
            "one-time password for {name}: {}\n({sessions}; give it to them: it works for one \
             login, within 24 hours, which must choose a new password before anything else)",
            password.expose()
        )
    } else {
        format!(
            "{name} has a new one-time password ({sessions}; it works for one login, within 24 \
             hours, which must choose a new one)"
        )
    })
}

/// A password `draw` makes up that obeys the rules for `username`'s: one that happens to hold
/// the username ("bob" in 16 random letters and digits, now and then) is drawn again.
fn made_up_password(username: &str, mut draw: impl FnMut() -> String) -> Password {
    loop {
        if let Ok(password) = Password::parse_new(draw(), username) {
            return password;
        }
    }
}

fn user(conn: &mut DbConnection, name: &str) -> anyhow::Result<User> {
    User::find_by_username(conn, name)?.ok_or_else(|| anyhow!("there is no user named {name:?}"))
}

fn public_room(conn: &mut DbConnection, which: &RoomChoice) -> anyhow::Result<Room> {
    match (which.id, &which.name) {
        (Some(id), _) => {
            Room::find_public(conn, id)?.ok_or_else(|| anyhow!("there is no room {id}"))
        }
        (None, Some(name)) => Room::find_public_named(conn, name)?
            .ok_or_else(|| anyhow!("there is no room named {name:?}")),
        (None, None) => Err(anyhow!("name a room, or give --id")),
    }
}

/// A model's refusal as one line for the operator; `what` is what they named.
fn refusal(err: ModelError, what: &str) -> anyhow::Error {
    match err {
        ModelError::NotFound => anyhow!("there is no {what:?}"),
        ModelError::Deleted => anyhow!("{what:?} was deleted meanwhile"),
        ModelError::RoomNameTaken => anyhow!("a room named {what:?} exists already"),
        ModelError::LastAdministrator => {
            anyhow!("{what:?} is the last administrator who can log in: grant another first")
        }
        other => anyhow!(
            "cannot change {what:?}: {}",
            crate::errors::AppError::from(other).message()
        ),
    }
}

fn json(value: &impl Serialize) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)?)
}

/// A time to the minute, as the text tables show it.
fn minutes(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// Columns padded to their widest cell, two spaces apart; every cell `escaped`.
fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| (*h).to_owned()).collect())
        .chain(rows.map(|row| row.iter().map(|cell| escaped(cell).into_owned()).collect()))
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` as one line a terminal shows as it is: control characters (line breaks, `\r`, the
/// escape that starts a terminal's sequences), the line and paragraph separators and the
/// invisible format characters (bidi controls such as U+202E, which make what follows read
/// backwards; zero-width spaces) become visible escapes: `\n`, `\r`, `\t`, `\u{202e}`.
/// The joiners (U+200C, U+200D) and the tag characters that emoji sequences are built of stay.
/// Backslashes are left as they are: the text stays readable, and `--json` gives it exactly.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            '\t' => shown.push_str("\\t"),
            c if needs_escape(c) => shown.extend(c.escape_unicode()),
            c => shown.push(c),
        }
    }
    Cow::Owned(shown)
}

fn needs_escape(c: char) -> bool {
    use icu_properties::props::GeneralCategory;
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    let emoji_parts = matches!(c, '\u{200C}' | '\u{200D}' | '\u{E0020}'..='\u{E007F}');
    let category = icu_properties::CodePointMapData::<GeneralCategory>::new().get(c);
    match category {
        GeneralCategory::Control
        | GeneralCategory::LineSeparator
        | GeneralCategory::ParagraphSeparator => true,
        GeneralCategory::Format => !emoji_parts,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_shown_as_it_is() {
        for text in [
            "alice: hello",
            "Zoë's café, 東京, مرحبا",
            r"C:\temp\n is a path",
            "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} a family, \u{2764}\u{FE0F}",
            "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} Scotland",
        ] {
            assert!(matches!(escaped(text), Cow::Borrowed(_)), "{text:?}");
        }
    }

    #[test]
    fn a_made_up_password_that_holds_the_username_is_drawn_again() {
        let mut draws = ["x7Kq2bobZr9TmW4p", "x7Kq2ZZZZr9TmW4p"].into_iter();
        let password = made_up_password("bob", || draws.next().unwrap().to_owned());
        assert_eq!(password.expose(), "x7Kq2ZZZZr9TmW4p");
    }

    #[test]
    fn line_breaks_and_terminal_controls_cannot_forge_a_line() {
        assert_eq!(
            escaped("hi\n[2026-12-01 10:00:00] #8 bob: I resign\rx\ty"),
            r"hi\n[2026-12-01 10:00:00] #8 bob: I resign\rx\ty"
        );
        assert_eq!(escaped("\u{1b}[2J\u{7}\0"), r"\u{1b}[2J\u{7}\u{0}");
        assert_eq!(
            escaped("a\u{85}b\u{2028}c\u{2029}d"),
            r"a\u{85}b\u{2028}c\u{2029}d"
        );
        assert_eq!(escaped("del\u{7f}"), r"del\u{7f}");
    }

    #[test]
    fn bidi_controls_and_invisible_format_characters_are_shown() {
        let bidi = [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ];
        for c in bidi {
            let text = format!("evil{c}txt.exe");
            let expected = format!("evil\\u{{{:x}}}txt.exe", u32::from(c));
            assert_eq!(escaped(&text), expected);
        }
        assert_eq!(escaped("ali\u{200B}ce\u{FEFF}"), r"ali\u{200b}ce\u{feff}");
        assert_eq!(escaped("soft\u{AD}hyphen"), r"soft\u{ad}hyphen");
    }
}
