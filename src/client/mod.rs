//! `chatroom chat`: a terminal client for any chatroom server, speaking only its public API.

pub mod api;
pub mod chat;
pub mod editor;
pub mod printable;
pub mod saved;
mod tui;
pub mod view;

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::Context;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal;

use crate::cli::ChatArgs;
use api::{Api, ApiError, LoggedIn};
use chat::Chat;
use saved::SavedFile;

/// Logs in (asking what it must), runs the interface, and logs out on the way out unless the
/// login is to be remembered.
pub async fn run(args: ChatArgs) -> anyhow::Result<()> {
    let mut api = Api::new(&args.server)?;
    let saved_path = saved::default_path();
    let (username, user_id, room) = match restore(&mut api, &args, saved_path.as_deref()).await {
        Some(saved) => saved,
        None => {
            let logged_in = log_in(&mut api, &args).await?;
            if args.remember
                && let (Some(path), Some(saved)) =
                    (&saved_path, api.saved(&logged_in.user.username))
            {
                let file = SavedFile {
                    session: saved,
                    user_id: logged_in.user.id,
                };
                saved::save(path, &file)?;
            }
            (
                logged_in.user.username,
                logged_in.user.id,
                logged_in.current_room,
            )
        }
    };
    let mut chat = Chat::new(api, username, user_id);
    if let Some(room) = room {
        let _ = chat.enter(room).await;
    }
    let outcome = tui::run(&mut chat).await;
    if !args.remember {
        let _ = chat.api.log_out().await;
    }
    outcome
}

async fn log_in(api: &mut Api, args: &ChatArgs) -> anyhow::Result<LoggedIn> {
    let username = match &args.user {
        Some(user) => user.clone(),
        None => prompt("Username: ")?,
    };
    loop {
        let password = prompt_hidden("Password: ")?;
        // A new password is typed blind: a slip would lock the account away from its owner.
        if args.register && prompt_hidden("Password again: ")? != password {
            eprintln!("The two passwords differ. Try again.");
            continue;
        }
        let attempt = if args.register {
            api.register(&username, &password).await
        } else {
            api.log_in(&username, &password).await
        };
        match attempt {
            Ok(logged_in) => return Ok(logged_in),
            Err(ApiError::WrongPassword) => eprintln!("Wrong username or password. Try again."),
            Err(ApiError::Unreachable) => {
                anyhow::bail!("cannot reach {}: is the server running?", api.server())
            }
            Err(other) => anyhow::bail!("{other}"),
        }
    }
}

fn prompt(label: &str) -> anyhow::Result<String> {
    eprint!("{label}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Reads a line without echoing it.
fn prompt_hidden(label: &str) -> anyhow::Result<String> {
    eprint!("{label}");
    std::io::stderr().flush()?;
    terminal::enable_raw_mode().context("the terminal cannot hide what is typed")?;
    let mut secret = String::new();
    let result = loop {
        match event::read() {
            Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => match key.code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(anyhow::anyhow!("interrupted"));
                }
                KeyCode::Backspace => {
                    secret.pop();
                }
                KeyCode::Char(c) => secret.push(c),
                _ => {}
            },
            Ok(_) => {}
            Err(err) => break Err(err.into()),
        }
    };
    terminal::disable_raw_mode()?;
    eprintln!();
    result.map(|()| secret)
}

/// A remembered login for this server, if it still works.
async fn restore(
    api: &mut Api,
    args: &ChatArgs,
    path: Option<&Path>,
) -> Option<(String, i32, Option<i32>)> {
    if !args.remember {
        return None;
    }
    let saved = saved::load(path?)?;
    let wanted = args.user.as_deref().unwrap_or(&saved.session.username);
    if saved.session.server != api.server() || wanted != saved.session.username {
        return None;
    }
    api.restore(&saved.session);
    api.rooms().await.ok()?;
    Some((saved.session.username, saved.user_id, None))
}
