//! The full-screen interface: rooms on the left (when the terminal is wide enough), the room's
//! log (wrapped, with scrollback), the input line (a small line editor), and a status line.
//! It draws `Chat` and feeds it keys; it polls once a second like the browser.

use std::io::Write;
use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, Paragraph};
use tokio::sync::mpsc;

use super::api::{Api, Entry};
use super::chat::{self, Chat, HELP, Next, Search};
use super::editor::LineEditor;
use super::view::{self, Scroll};

/// Runs the interface until /quit or Ctrl+C; the terminal is restored whatever happens.
pub async fn run(chat: &mut Chat) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, chat).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    chat: &mut Chat,
) -> anyhow::Result<()> {
    // Keys (and resizes, to redraw at once) arrive from a thread of their own, so that polling
    // never waits for the keyboard.
    let (keys, mut key_rx) = mpsc::unbounded_channel::<Event>();
    std::thread::spawn(move || {
        loop {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(
                        event @ (Event::Key(KeyEvent {
                            kind: KeyEventKind::Press | KeyEventKind::Repeat,
                            ..
                        })
                        | Event::Resize(..)),
                    ) => {
                        if keys.send(event).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                Ok(false) => {
                    if keys.is_closed() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });

    let mut screen = Screen::default();
    let mut failures = 0u32;
    let mut next_poll = Instant::now();
    let _ = chat.refresh_rooms().await;
    loop {
        let room = chat.room.as_ref().map(|r| r.id);
        if room != screen.room {
            screen.room = room;
            screen.scroll.bottom();
        }
        if chat.take_bell() {
            ring(terminal)?;
        }
        terminal.draw(|frame| draw(frame, chat, &mut screen))?;
        tokio::select! {
            event = key_rx.recv() => {
                let Some(event) = event else { return Ok(()) };
                let Event::Key(key) = event else { continue };
                if key.code == KeyCode::Enter {
                    let line = screen.editor.take();
                    if line.trim().is_empty() {
                        continue;
                    }
                    chat.status = chat::working(&line);
                    screen.scroll.bottom();
                    terminal.draw(|frame| draw(frame, chat, &mut screen))?;
                    if chat.command(&line).await == Next::Quit {
                        return Ok(());
                    }
                    next_poll = Instant::now() + Duration::from_secs(1);
                } else if !screen.key(key, chat).await {
                    return Ok(());
                }
            }
            () = tokio::time::sleep_until(next_poll.into()) => {
                chat.poll().await;
                failures = if chat.reconnecting { failures + 1 } else { 0 };
                if failures % 5 == 1 || chat.room.is_none() {
                    let _ = chat.refresh_rooms().await;
                }
                // Like the browser: the next poll a second after this one's answer.
                next_poll = Instant::now() + chat.poll_delay(failures);
            }
        }
    }
}

/// The terminal's bell (BEL), written through the backend that draws, between frames: a
/// message mentioning the user arrived.
fn ring(terminal: &mut ratatui::DefaultTerminal) -> std::io::Result<()> {
    let backend = terminal.backend_mut();
    backend.write_all(b"\x07")?;
    backend.flush()
}

/// What the interface keeps between frames: the input line, where the log is scrolled to, and
/// the log pane's inner size at the last frame (for paging by keys).
#[derive(Default)]
struct Screen {
    editor: LineEditor,
    scroll: Scroll,
    room: Option<i32>,
    log_width: usize,
    log_height: usize,
}

impl Screen {
    /// Handles a key other than Enter; false to quit.
    async fn key(&mut self, key: KeyEvent, chat: &mut Chat) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let editor = &mut self.editor;
        match key.code {
            KeyCode::Char('c') if ctrl => return false,
            KeyCode::Char('a') if ctrl => editor.home(),
            KeyCode::Char('e') if ctrl => editor.end(),
            KeyCode::Char('u') if ctrl => editor.delete_to_start(),
            KeyCode::Char('k') if ctrl => editor.delete_to_end(),
            KeyCode::Char(c) if !ctrl => {
                editor.insert(c);
                // A command (/react, /edit...) is not a message being written.
                if !editor.text().starts_with('/') {
                    chat.typed();
                }
            }
            KeyCode::Left => editor.left(),
            KeyCode::Right => editor.right(),
            KeyCode::Home => editor.home(),
            KeyCode::End => {
                editor.end();
                self.scroll.bottom();
            }
            KeyCode::Backspace => editor.backspace(),
            KeyCode::Delete => editor.delete(),
            KeyCode::Up => editor.older(),
            KeyCode::Down => editor.newer(),
            KeyCode::Esc => {
                chat.help = false;
                chat.search = None;
            }
            KeyCode::PageUp => self.page_up(chat).await,
            KeyCode::PageDown => {
                let total = log_rows(chat, self.log_width).len();
                self.scroll.page_down(total, self.log_height);
            }
            _ => {}
        }
        true
    }

    /// A page up; at the top of what the client has, a page of older history first.
    async fn page_up(&mut self, chat: &mut Chat) {
        let total = log_rows(chat, self.log_width).len();
        if self.scroll.page_up(total, self.log_height) || chat.load_older().await == 0 {
            return;
        }
        let now = log_rows(chat, self.log_width).len();
        self.scroll.prepended(now.saturating_sub(total));
        self.scroll.page_up(now, self.log_height);
    }
}

fn draw(frame: &mut Frame, chat: &Chat, screen: &mut Screen) {
    let [main, input_area, status_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let sidebar = view::sidebar_width(main.width);
    let [rooms_area, log_area] =
        Layout::horizontal([Constraint::Length(sidebar), Constraint::Min(10)]).areas(main);
    if sidebar > 0 {
        draw_rooms(frame, chat, rooms_area);
    }
    draw_log(frame, chat, screen, log_area);

    let inner = usize::from(input_area.width.saturating_sub(2));
    let (shown, column) = screen.editor.view(inner);
    frame.render_widget(
        Paragraph::new(shown.to_owned()).block(
            Block::default()
                .borders(Borders::ALL)
                .title("Message or /command"),
        ),
        input_area,
    );
    let column = u16::try_from(column).unwrap_or(u16::MAX);
    frame.set_cursor_position((input_area.x + 1 + column, input_area.y + 1));

    let mut status = format!("{} @ {}", chat.me, chat.api.server());
    if chat.reconnecting {
        status.push_str(" | reconnecting…");
    }
    if !chat.status.is_empty() {
        status.push_str(" | ");
        status.push_str(&chat.status);
    }
    frame.render_widget(
        Paragraph::new(status).style(Style::default().add_modifier(Modifier::REVERSED)),
        status_area,
    );
}

fn draw_rooms(frame: &mut Frame, chat: &Chat, area: Rect) {
    let columns = usize::from(area.width.saturating_sub(2));
    let current = chat.room.as_ref().map(|r| r.id);
    let rooms: Vec<ListItem> = chat
        .rooms
        .iter()
        .map(|room| {
            let name = if room.direct {
                format!("@{}", room.name)
            } else {
                room.name.clone()
            };
            let unread = (room.unread > 0 && Some(room.id) != current).then_some(room.unread);
            let style = if Some(room.id) == current {
                Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
            } else {
                Style::default()
            };
            ListItem::new(view::room_label(&name, unread, columns)).style(style)
        })
        .collect();
    frame.render_widget(
        List::new(rooms).block(Block::default().borders(Borders::ALL).title("Rooms")),
        area,
    );
}

fn draw_log(frame: &mut Frame, chat: &Chat, screen: &mut Screen, area: Rect) {
    screen.log_width = usize::from(area.width.saturating_sub(2));
    screen.log_height = usize::from(area.height.saturating_sub(2));
    let title = match &chat.room {
        Some(room) if room.present.is_empty() => room.name.clone(),
        Some(room) => format!("{} · here: {}", room.name, room.present.join(", ")),
        None => "No room".to_owned(),
    };
    let rows = log_rows(chat, screen.log_width);
    let (top, more_below) = screen.scroll.window(rows.len(), screen.log_height);
    let shown: Vec<Line> = rows.into_iter().skip(top).take(screen.log_height).collect();
    let mut block = Block::default().borders(Borders::ALL).title(title);
    if more_below {
        block = block.title_bottom(Line::from(" -- more below (End) -- ").right_aligned());
    }
    frame.render_widget(Paragraph::new(shown).block(block), area);
}

/// Every row of the log pane, `width` columns wide: the room's log, who is typing, the last
/// search's results, and the help when asked for (outside a room, unless results are shown).
fn log_rows(chat: &Chat, width: usize) -> Vec<Line<'static>> {
    let muted = Style::default().fg(Color::DarkGray);
    let mut rows = Vec::new();
    match &chat.room {
        Some(room) => {
            let today = chrono::Local::now().date_naive();
            let mut day = None;
            for entry in &room.log {
                let entry_day = view::local_moment(&entry.sent_at).map(|at| at.date_naive());
                if let Some(new_day) = entry_day.filter(|d| Some(*d) != day) {
                    day = Some(new_day);
                    let label = format!("── {} ──", view::day_label(new_day, today));
                    rows.extend(plain_rows(&label, width, muted));
                }
                rows.extend(entry_rows(entry, width, &chat.me, &chat.api));
            }
            if !room.typing.is_empty() {
                let typing = format!("{} typing…", room.typing.join(", "));
                rows.extend(plain_rows(&typing, width, muted));
            }
        }
        None => rows.extend(plain_rows(
            "You are in no room: /rooms lists yours, /join NAME or /create NAME enters one.",
            width,
            Style::default(),
        )),
    }
    if let Some(search) = &chat.search {
        rows.extend(search_rows(search, width));
    }
    if chat.help || (chat.room.is_none() && chat.search.is_none()) {
        for line in HELP {
            rows.extend(plain_rows(line, width, muted));
        }
    }
    rows
}

/// At most this many rows for one search result: a long message is cut.
const RESULT_ROWS: usize = 3;

/// The results of a search under a heading, newest last (nearest the input line, like the
/// log), one per line: "Kitchen · 12:04 alice: text" ("@bob" for a direct conversation), the
/// message's lines joined, each result wrapped to at most `RESULT_ROWS` rows.
fn search_rows(search: &Search, width: usize) -> Vec<Line<'static>> {
    let muted = Style::default().fg(Color::DarkGray);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let heading = match (search.hits.len(), search.more) {
        (0, _) => format!("── nothing found for {} ──", search.text),
        (_, true) => format!(
            "── the newest results for {} (more: be more precise) ──",
            search.text
        ),
        _ => format!("── results for {} ──", search.text),
    };
    let mut rows = plain_rows(&heading, width, muted);
    let today = chrono::Local::now().date_naive();
    let indent = 2.min(width / 3);
    let pad = " ".repeat(indent);
    for hit in search.hits.iter().rev() {
        let room = if hit.room.direct {
            format!("@{}", hit.room.name)
        } else {
            hit.room.name.clone()
        };
        let when = view::stamp(&hit.message.sent_at, today);
        let head = format!("{room} · {when} {}: ", hit.message.byline());
        let mut said = hit.message.text.replace('\n', " ");
        // A file found by its name: the name shows why.
        if let Some(file) = &hit.message.attachment {
            let size = crate::domain::human_size(file.size);
            said = format!("{said} [{}, {size}]", file.name)
                .trim_start()
                .to_owned();
        }
        let full = format!("{head}{said}");
        let mut wrapped = view::wrap(&full, width, width - indent);
        if wrapped.len() > RESULT_ROWS {
            wrapped.truncate(RESULT_ROWS);
            let last = wrapped.last_mut().expect("a row");
            *last = view::fit(&format!("{last} …"), width - indent);
        }
        let mut wrapped = wrapped.into_iter();
        let first = wrapped.next().unwrap_or_default();
        let head_end = head.len().min(first.len());
        rows.push(Line::from(vec![
            Span::styled(first[..head_end].to_owned(), bold),
            Span::raw(first[head_end..].to_owned()),
        ]));
        rows.extend(wrapped.map(|row| Line::raw(format!("{pad}{row}"))));
    }
    rows
}

fn plain_rows(text: &str, width: usize, style: Style) -> Vec<Line<'static>> {
    view::wrap(text, width, width)
        .into_iter()
        .map(|row| Line::styled(row, style))
        .collect()
}

/// An entry as rows: "12:04 alice: text", wrapped, each further row (and each further line of
/// a message) indented to start under the author's name; "(edited)" after an edited text; a
/// file as "[name, size] URL" after the text (in its place when there is none), the URL in
/// full on `api`'s server; a reply's quote on a row above it, its reactions on rows below
/// (`me`'s own in bold).
fn entry_rows(entry: &Entry, width: usize, me: &str, api: &Api) -> Vec<Line<'static>> {
    let muted = Style::default().fg(Color::DarkGray);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let time = view::local_time(&entry.sent_at);
    let (head, body, body_style) = match entry.kind.as_str() {
        "joined" | "left" => (
            format!("{time} "),
            format!("{} {}", entry.author, entry.kind),
            muted,
        ),
        _ if entry.deleted => (
            format!("{time} {}: ", entry.byline()),
            "message deleted".to_owned(),
            muted.add_modifier(Modifier::ITALIC),
        ),
        // A message that mentions the reader stands out (and rang the bell when it came).
        _ if chat::mentions(entry, me) => (
            format!("{time} {}: ", entry.byline()),
            entry.text.clone(),
            mentioned_style(),
        ),
        _ => (
            format!("{time} {}: ", entry.byline()),
            entry.text.clone(),
            Style::default(),
        ),
    };
    let file = entry
        .attachment
        .as_ref()
        .filter(|_| !entry.deleted && entry.kind == "message")
        .map(|a| view::attachment_label(&a.name, a.size, &api.absolute(&a.url)));
    // A file without words stands where they would.
    let (body, file) = match file {
        Some(label) if body.is_empty() => (label, None),
        file => (body, file),
    };
    let edited = entry.edited && !entry.deleted;
    // The indent is the time's width, unless that leaves too little room for the text.
    let indent = (view::width(&time) + 1).min(width / 3);
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    if let Some(quote) = entry.reply_to.as_ref().filter(|_| !entry.deleted) {
        let excerpt = if quote.excerpt.is_empty() {
            "message deleted"
        } else {
            quote.excerpt.as_str()
        };
        let quoted = view::fit(&format!("↪ {}: {excerpt}", quote.author), width - indent);
        lines.push(Line::styled(format!("{pad}{quoted}"), muted));
    }
    let full = if edited {
        format!("{head}{body} {EDITED}")
    } else {
        format!("{head}{body}")
    };
    let mut rows = view::wrap(&full, width, width - indent).into_iter();
    let first = rows.next().unwrap_or_default();
    // The first row is the start of `full`: its time, then its author, then the body.
    let time_end = (time.len() + 1).min(first.len());
    let head_end = head.len().clamp(time_end, first.len());
    lines.push(Line::from(vec![
        Span::styled(first[..time_end].to_owned(), muted),
        Span::styled(first[time_end..head_end].to_owned(), bold),
        Span::styled(first[head_end..].to_owned(), body_style),
    ]));
    lines.extend(rows.map(|row| Line::styled(format!("{pad}{row}"), body_style)));
    if edited {
        mute_suffix(lines.last_mut().expect("a row"), EDITED, muted);
    }
    if let Some(label) = file {
        let style = Style::default().fg(Color::Cyan);
        lines.extend(
            view::wrap(&label, width - indent, width - indent)
                .into_iter()
                .map(|row| Line::styled(format!("{pad}{row}"), style)),
        );
    }
    if !entry.deleted {
        lines.extend(
            reaction_rows(entry, width - indent, me)
                .into_iter()
                .map(|mut row| {
                    row.spans.insert(0, Span::raw(pad.clone()));
                    row
                }),
        );
    }
    lines
}

/// How a message that mentions the reader is drawn.
fn mentioned_style() -> Style {
    Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD)
}

/// What follows an edited message's text.
const EDITED: &str = "(edited)";

/// The line's last span split so that `suffix`, if it ends it, is drawn in `style`.
fn mute_suffix(line: &mut Line<'static>, suffix: &str, style: Style) {
    let Some(last) = line.spans.pop() else { return };
    match last.content.strip_suffix(suffix) {
        Some(before) => {
            let before = Span::styled(before.to_owned(), last.style);
            line.spans.push(before);
            line.spans.push(Span::styled(suffix.to_owned(), style));
        }
        None => line.spans.push(last),
    }
}

/// A message's reactions, "👍 2  🎉 1", as rows of at most `width` columns; `me`'s own in bold.
fn reaction_rows(entry: &Entry, width: usize, me: &str) -> Vec<Line<'static>> {
    const GAP: &str = "  ";
    let muted = Style::default().fg(Color::DarkGray);
    let mine = Style::default().add_modifier(Modifier::BOLD);
    let mut rows: Vec<Line<'static>> = Vec::new();
    let mut used = 0;
    for reaction in &entry.reactions {
        let label = view::fit(&format!("{} {}", reaction.emoji, reaction.count), width);
        let style = if reaction.by.iter().any(|name| name == me) {
            mine
        } else {
            muted
        };
        let label_width = view::width(&label);
        match rows.last_mut() {
            Some(row) if used + GAP.len() + label_width <= width => {
                row.spans.push(Span::raw(GAP));
                row.spans.push(Span::styled(label, style));
                used += GAP.len() + label_width;
            }
            _ => {
                rows.push(Line::from(Span::styled(label, style)));
                used = label_width;
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(author: &str, text: &str, mentions: &[&str]) -> Entry {
        Entry {
            id: 1,
            kind: "message".into(),
            author: author.into(),
            text: text.into(),
            sent_at: "2026-12-05T10:42:00.000Z".into(),
            target: None,
            deleted: false,
            edited: false,
            reply_to: None,
            reactions: Vec::new(),
            mentions: mentions.iter().map(|n| (*n).to_owned()).collect(),
            attachment: None,
            bot: false,
        }
    }

    fn api() -> Api {
        Api::new("http://chat.example:8080").unwrap()
    }

    /// The rows' text, without their styles.
    fn texts(rows: &[Line<'static>]) -> Vec<String> {
        rows.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_file_shows_after_its_text_or_in_its_place_with_its_full_address() {
        let file = super::super::api::Attachment {
            name: "cat.png".into(),
            size: 1536,
            url: "/attachments/7".into(),
        };
        let captioned = Entry {
            attachment: Some(file.clone()),
            ..message("alice", "look at this", &[])
        };
        let rows = texts(&entry_rows(&captioned, 80, "bob", &api()));
        assert!(rows[0].ends_with("alice: look at this"), "{rows:?}");
        assert_eq!(
            rows[1],
            "      [cat.png, 1.5 KiB] http://chat.example:8080/attachments/7"
        );
        let alone = Entry {
            attachment: Some(file.clone()),
            ..message("alice", "", &[])
        };
        let rows = texts(&entry_rows(&alone, 80, "bob", &api()));
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(
            rows[0].ends_with("alice: [cat.png, 1.5 KiB] http://chat.example:8080/attachments/7"),
            "{rows:?}"
        );
        let deleted = Entry {
            deleted: true,
            attachment: Some(file),
            ..message("alice", "", &[])
        };
        let rows = texts(&entry_rows(&deleted, 80, "bob", &api()));
        assert!(!rows.concat().contains("cat.png"), "{rows:?}");
    }

    #[test]
    fn a_bots_message_is_tagged_beside_its_name_and_a_persons_is_not() {
        let parse = |json: serde_json::Value| -> Entry { serde_json::from_value(json).unwrap() };
        let said = |bot: Option<bool>| {
            let mut json = serde_json::json!({
                "id": 3, "kind": "message", "author": "builds", "text": "green",
                "sent_at": "2026-12-05T10:42:00.000Z",
            });
            if let Some(bot) = bot {
                json["bot"] = bot.into();
            }
            texts(&entry_rows(&parse(json), 80, "bob", &api())).concat()
        };
        assert!(
            said(Some(true)).ends_with("builds [bot]: green"),
            "{}",
            said(Some(true))
        );
        assert!(said(None).ends_with(" builds: green"), "{}", said(None));
        assert!(said(Some(false)).ends_with(" builds: green"));
    }

    /// The style of the text after "12:04 alice: " on the entry's first row.
    fn body_style(entry: &Entry, me: &str) -> Style {
        let rows = entry_rows(entry, 80, me, &api());
        rows[0].spans.last().expect("a body span").style
    }

    #[test]
    fn a_message_mentioning_the_reader_is_drawn_apart_and_others_are_not() {
        let mentioned = message("alice", "hi @BOB", &["Bob"]);
        assert_eq!(body_style(&mentioned, "bob"), mentioned_style());
        assert_eq!(body_style(&mentioned, "carol"), Style::default());
        let plain = message("alice", "hi bob", &[]);
        assert_eq!(body_style(&plain, "bob"), Style::default());
        // Every row of a long one.
        let long = message("alice", &format!("@bob {}", "word ".repeat(40)), &["bob"]);
        let rows = entry_rows(&long, 30, "bob", &api());
        assert!(rows.len() > 2);
        assert!(
            rows[1..].iter().all(
                |row| row.style == mentioned_style() || row.spans[0].style == mentioned_style()
            )
        );
    }
}
