//! The full-screen interface: rooms on the left, the room's log, the input line, and a status
//! line. It draws `Chat` and feeds it keys; it polls once a second like the browser.

use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, Paragraph};
use tokio::sync::mpsc;

use super::chat::{Chat, Next};

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
    // Keys arrive from a thread of their own, so that polling never waits for the keyboard.
    let (keys, mut key_rx) = mpsc::unbounded_channel::<KeyEvent>();
    std::thread::spawn(move || {
        loop {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => {
                        if keys.send(key).is_err() {
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

    let mut input = String::new();
    let mut failures = 0u32;
    let mut next_poll = Instant::now();
    let _ = chat.refresh_rooms().await;
    loop {
        terminal.draw(|frame| draw(frame, chat, &input))?;
        tokio::select! {
            key = key_rx.recv() => {
                let Some(key) = key else { return Ok(()) };
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                match key.code {
                    KeyCode::Char('c') if ctrl => return Ok(()),
                    KeyCode::Enter => {
                        let line = std::mem::take(&mut input);
                        chat.status = "…".into();
                        terminal.draw(|frame| draw(frame, chat, &input))?;
                        if chat.command(&line).await == Next::Quit {
                            return Ok(());
                        }
                        next_poll = Instant::now() + Duration::from_secs(1);
                    }
                    KeyCode::Backspace => {
                        input.pop();
                    }
                    KeyCode::Char(c) if !ctrl => {
                        input.push(c);
                        chat.typed();
                    }
                    _ => {}
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

fn draw(frame: &mut Frame, chat: &Chat, input: &str) {
    let [main, input_area, status_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let [rooms_area, log_area] =
        Layout::horizontal([Constraint::Length(24), Constraint::Min(20)]).areas(main);

    let current = chat.room.as_ref().map(|r| r.id);
    let rooms: Vec<ListItem> = chat
        .rooms
        .iter()
        .map(|room| {
            let mut label = if room.direct {
                format!("@{}", room.name)
            } else {
                room.name.clone()
            };
            if room.unread > 0 && Some(room.id) != current {
                label.push_str(&format!(" ({})", room.unread));
            }
            let style = if Some(room.id) == current {
                Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
            } else {
                Style::default()
            };
            ListItem::new(label).style(style)
        })
        .collect();
    frame.render_widget(
        List::new(rooms).block(Block::default().borders(Borders::ALL).title("Rooms")),
        rooms_area,
    );

    let (title, lines) = match &chat.room {
        Some(room) => {
            let mut title = room.name.clone();
            if !room.present.is_empty() {
                title.push_str(&format!(" · here: {}", room.present.join(", ")));
            }
            let height = usize::from(log_area.height.saturating_sub(2));
            let mut lines: Vec<Line> = room.log.iter().map(log_line).collect();
            if !room.typing.is_empty() {
                lines.push(Line::styled(
                    format!("{} typing…", room.typing.join(", ")),
                    Style::default().fg(Color::DarkGray),
                ));
            }
            let skip = lines.len().saturating_sub(height);
            (title, lines.into_iter().skip(skip).collect())
        }
        None => (
            "No room".to_owned(),
            vec![Line::from(
                "Type /rooms to list rooms, /join NAME or /create NAME.",
            )],
        ),
    };
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        log_area,
    );

    frame.render_widget(
        Paragraph::new(input).block(
            Block::default()
                .borders(Borders::ALL)
                .title("Message or /command"),
        ),
        input_area,
    );
    frame.set_cursor_position((
        input_area.x + 1 + input.chars().count() as u16,
        input_area.y + 1,
    ));

    let status = format!(
        "{} @ {}{} | {}",
        chat.me,
        chat.api.server(),
        if chat.reconnecting {
            " | reconnecting…"
        } else {
            ""
        },
        chat.status
    );
    frame.render_widget(
        Paragraph::new(status).style(Style::default().add_modifier(Modifier::REVERSED)),
        status_area,
    );
}

fn log_line(entry: &super::api::Entry) -> Line<'static> {
    let time = entry.sent_at.get(11..16).unwrap_or("").to_owned();
    let muted = Style::default().fg(Color::DarkGray);
    match entry.kind.as_str() {
        "joined" | "left" => Line::styled(format!("{time} {} {}", entry.author, entry.kind), muted),
        _ if entry.deleted => Line::from(vec![
            Span::styled(format!("{time} "), muted),
            Span::styled(
                format!("{}: ", entry.author),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::styled("message deleted", muted.add_modifier(Modifier::ITALIC)),
        ]),
        _ => Line::from(vec![
            Span::styled(format!("{time} "), muted),
            Span::styled(
                format!("{}: ", entry.author),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(entry.text.clone()),
        ]),
    }
}
