//! The pages, as askama templates, and the views they show. Rows never reach a template.

use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use chrono::NaiveDateTime;

use crate::auth::{CurrentUser, csrf};
use crate::errors::AppError;
use crate::models::{LogMessage, RoomListing};

/// What every page shows around its content: who is logged in, and the CSRF token.
pub struct Layout {
    pub user: Option<String>,
    pub csrf_token: String,
}

impl Layout {
    /// For an answer made without a session at hand: no user, no token.
    pub fn anonymous() -> Self {
        Self {
            user: None,
            csrf_token: String::new(),
        }
    }

    /// For an error page: the session's token if it has one, without starting a session for
    /// a passing anonymous visitor (or scanner).
    pub fn existing(session: &Session) -> Self {
        Self {
            user: CurrentUser::from_session(session).map(|u| u.username),
            csrf_token: csrf::existing(session).unwrap_or_default(),
        }
    }

    pub fn from_session(session: &Session) -> Self {
        Self {
            user: CurrentUser::from_session(session).map(|u| u.username),
            csrf_token: csrf::token(session),
        }
    }
}

/// Renders `page` with `status` as an HTML answer.
pub fn render(page: &impl Template, status: StatusCode) -> Result<HttpResponse, AppError> {
    let html = page.render().map_err(AppError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// RFC 3339 in UTC with milliseconds, as the API and the `<time datetime>` attributes show it.
pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub username: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub layout: Layout,
    pub username: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "lobby.html")]
pub struct LobbyPage {
    pub layout: Layout,
    pub notice: Option<&'static str>,
    pub rooms: Vec<RoomListing>,
    /// What the user typed into the new-room form, kept when it is refused.
    pub new_room_name: String,
    pub error: Option<String>,
}

pub struct MessageView {
    pub id: i32,
    pub author: String,
    pub text: String,
    pub sent_at: String,
    /// HH:MM in UTC, until the page's script shows it in the reader's own time zone.
    pub time: String,
}

impl From<LogMessage> for MessageView {
    fn from(m: LogMessage) -> Self {
        Self {
            id: m.id,
            author: m.author,
            text: m.body,
            sent_at: rfc3339(m.sent_at),
            time: m.sent_at.format("%H:%M").to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "room.html")]
pub struct RoomPage {
    pub layout: Layout,
    pub room_id: i32,
    pub room_name: String,
    pub is_creator: bool,
    pub messages: Vec<MessageView>,
    /// The poller's starting cursor: the last id shown, or 0.
    pub last_id: i32,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub layout: Layout,
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
}
