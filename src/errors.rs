//! One error type, and the one place where errors become HTTP answers: an HTML page for pages,
//! `{"error": code, "message": text}` under /api.

use std::fmt;
use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};

use crate::db::{Db, DbConnection, RunError, StorageFault};
use crate::domain::search::{MAX_QUERY_CHARS, MAX_TERMS, MIN_TERM_CHARS};
use crate::domain::{
    INVITATION_UNUSABLE, Invalid, MessageTextError, SETUP_UNUSABLE, SearchQueryError,
};
use crate::models::{MAX_REACTIONS, ModelError};
use crate::throttle::RetryAfter;

#[derive(Debug)]
pub enum AppError {
    BadRequest(String),
    /// A 400 with a code of its own, for a refusal a client acts on (`query_too_short`).
    Refused {
        code: &'static str,
        message: String,
    },
    Unauthenticated,
    /// Logged in with a one-time password: nothing but choosing a new one until then.
    PasswordChangeRequired,
    /// A wrong password or an unknown user, alike.
    InvalidCredentials,
    /// An `Authorization: Bearer` token that is unknown, revoked, or its account's disabled.
    InvalidToken,
    Forbidden {
        code: &'static str,
        message: String,
    },
    NotFound,
    MethodNotAllowed,
    Conflict(String),
    /// A poll's cursor is past the room's last number: the client must start again.
    CursorAhead,
    Gone(String),
    /// The message was deleted.
    MessageGone,
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    TooManyRequests(RetryAfter),
    /// The message-posting limit: its own words, with how long to wait (`sending_too_fast`).
    SendingTooFast(RetryAfter, String),
    RequestTimeout,
    /// Too much work already waits (passwords to hash): refused at once rather than late.
    Busy(RetryAfter),
    /// The storage cannot take the request: a full disk, a read-only database, or one out of
    /// reach. 503, rather than an answer nobody could vouch for; the cause is logged once a
    /// minute (`db::Faults`), not with each answer.
    Storage(StorageFault, String),
    /// Anything unexpected: logged with its cause, shown as a generic 500.
    Internal(anyhow::Error),
}

impl AppError {
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    /// The same failure for each of the requests that shared one database call (a batch): a
    /// storage fault as it was, anything else as an internal error in its words.
    pub fn for_each_waiter(&self) -> Self {
        match self {
            Self::Storage(fault, cause) => Self::Storage(*fault, cause.clone()),
            err => Self::internal(anyhow::anyhow!("{err}")),
        }
    }

    /// The message-posting limit's refusal: "You're sending messages too fast; wait 3 s".
    /// The same code and status as any rate limit; only the words are the sender's own.
    pub fn sending_too_fast(retry: RetryAfter) -> Self {
        Self::SendingTooFast(
            retry,
            format!(
                "You're sending messages too fast; wait {} s",
                retry.secs().max(1)
            ),
        )
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// Stands in for an error that is not ours (an extractor's, the router's), by its status.
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge("The request body is too large.".into())
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Self::UnsupportedMediaType("Unsupported content type.".into())
            }
            StatusCode::UNAUTHORIZED => Self::Unauthenticated,
            StatusCode::FORBIDDEN => Self::forbidden("forbidden", "You may not do that."),
            s if s.is_client_error() => Self::BadRequest("The request is malformed.".into()),
            _ => Self::Internal(anyhow::anyhow!("unexpected error status {status}")),
        }
    }

    /// A fault of ours, to be logged with its cause; a refusal for being busy is not one, and
    /// a flood of them must not flood the error log.
    pub fn is_fault(&self) -> bool {
        matches!(self, Self::Internal(_))
    }

    /// The storage fault this answer is, if it is one: logged once a minute by the fault
    /// memory, so those who meet it need not log it again.
    pub fn storage_fault(&self) -> Option<StorageFault> {
        RunError::storage_fault(self)
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Refused { code, .. } => code,
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidToken => "invalid_token",
            Self::PasswordChangeRequired => "password_change_required",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden { code, .. } => code,
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::CursorAhead => "cursor_ahead",
            Self::Gone(_) => "room_deleted",
            Self::MessageGone => "message_deleted",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::TooManyRequests(_) | Self::SendingTooFast(..) => "rate_limited",
            Self::RequestTimeout => "request_timeout",
            Self::Busy(_) => "busy",
            Self::Storage(fault, _) => fault.code(),
            Self::Internal(_) => "internal",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::BadRequest(m)
            | Self::Refused { message: m, .. }
            | Self::Forbidden { message: m, .. }
            | Self::Conflict(m)
            | Self::Gone(m)
            | Self::SendingTooFast(_, m)
            | Self::PayloadTooLarge(m)
            | Self::UnsupportedMediaType(m) => m,
            Self::Unauthenticated => "You need to log in.",
            Self::InvalidToken => {
                "The API token is unknown or revoked, or its account is disabled."
            }
            Self::PasswordChangeRequired => {
                "You logged in with a one-time password: choose a new password on your \
                 account page first."
            }
            Self::CursorAhead => {
                "This room's log ends before that number: reload the room to start again."
            }
            Self::InvalidCredentials => "Wrong username or password.",
            Self::NotFound => "There is nothing here.",
            Self::MessageGone => "This message was deleted.",
            Self::MethodNotAllowed => "That method is not allowed here.",
            Self::TooManyRequests(_) => "Too many attempts. Please wait a little and try again.",
            Self::RequestTimeout => "The request took too long to arrive.",
            Self::Busy(_) => "The server is busy. Please try again in a moment.",
            Self::Storage(StorageFault::Full, _) => {
                "The server's storage is full: nothing can be saved just now. Please try again \
                 later."
            }
            Self::Storage(StorageFault::ReadOnly, _) => {
                "The server's database takes no changes just now. Please try again later."
            }
            Self::Storage(StorageFault::Unavailable, _) => {
                "The server cannot reach its database just now. Please try again in a moment."
            }
            Self::Internal(_) => "Something went wrong on our side. Please try again.",
        }
    }

    /// The status, and the headers that go with it.
    fn response_builder(&self) -> HttpResponseBuilder {
        let mut res = HttpResponse::build(self.status_code());
        if let Self::TooManyRequests(retry) | Self::SendingTooFast(retry, _) | Self::Busy(retry) =
            self
        {
            res.insert_header((header::RETRY_AFTER, retry.secs()));
        }
        if let Self::Storage(fault, _) = self {
            res.insert_header((header::RETRY_AFTER, retry_after(*fault)));
        }
        if let Self::InvalidToken = self {
            res.insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#));
        }
        res
    }

    pub fn title(&self) -> &'static str {
        match self {
            Self::Gone(_) => "This room was deleted",
            Self::MessageGone => "This message was deleted",
            Self::NotFound => "Not found",
            Self::Forbidden { .. } => "Not allowed",
            Self::TooManyRequests(_) | Self::SendingTooFast(..) => "Slow down",
            Self::Internal(_) => "Server error",
            Self::Unauthenticated | Self::InvalidCredentials | Self::InvalidToken => {
                "Please log in"
            }
            Self::PasswordChangeRequired => "Choose a new password",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict(_) => "Already taken",
            Self::CursorAhead => "Out of date",
            Self::PayloadTooLarge(_) => "Too large",
            Self::UnsupportedMediaType(_) => "Unsupported content type",
            Self::RequestTimeout => "Too slow",
            Self::Busy(_) => "Busy",
            Self::Storage(StorageFault::Full, _) => "Storage full",
            Self::Storage(StorageFault::ReadOnly, _) => "Read-only",
            Self::Storage(StorageFault::Unavailable, _) => "Unavailable",
            Self::BadRequest(_) | Self::Refused { .. } => "Bad request",
        }
    }
}

impl Db {
    /// Runs `f` with a pooled connection on the blocking thread pool, never on the async workers:
    /// `Db::run_as` in the web's error type, which is why it lives here rather than in db.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.run_as(f).await
    }
}

impl RunError for AppError {
    fn unavailable() -> Self {
        Self::Storage(StorageFault::Unavailable, "no database connection".into())
    }

    fn unexpected(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }

    fn is_unexpected(&self) -> bool {
        matches!(self, Self::Internal(_))
    }

    fn cause(&self) -> String {
        match self {
            Self::Internal(err) => format!("{err:#}"),
            Self::Storage(_, cause) => cause.clone(),
            other => other.to_string(),
        }
    }

    fn storage_fault(&self) -> Option<StorageFault> {
        match self {
            Self::Storage(fault, _) => Some(*fault),
            _ => None,
        }
    }
}

/// Seconds to wait before trying again: a database out of reach is often back at once (a
/// restart, another server); a full disk or a read-only database waits for an operator.
pub fn retry_after(fault: StorageFault) -> u32 {
    match fault {
        StorageFault::Unavailable => 1,
        StorageFault::Full | StorageFault::ReadOnly => 10,
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(cause) => write!(f, "internal error: {cause:#}"),
            other => write!(f, "{}: {}", other.code(), other.message()),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Refused { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::InvalidCredentials | Self::InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden { .. } | Self::PasswordChangeRequired => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::CursorAhead => StatusCode::CONFLICT,
            Self::Gone(_) | Self::MessageGone => StatusCode::GONE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) | Self::SendingTooFast(..) => StatusCode::TOO_MANY_REQUESTS,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Busy(_) | Self::Storage(..) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A bare answer; `render` below dresses it as a page or as JSON.
    fn error_response(&self) -> HttpResponse {
        self.response_builder().body(self.message().to_owned())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::Error;
        match err {
            Error::NotFound => Self::NotFound,
            // A closed connection is one too (the database restarted or is gone): the pool
            // drops the connection. `Db::run_as` remembers and reports the fault.
            other => match StorageFault::of(&other) {
                Some(fault) => Self::Storage(fault, other.to_string()),
                None => Self::Internal(other.into()),
            },
        }
    }
}

impl From<RetryAfter> for AppError {
    fn from(retry: RetryAfter) -> Self {
        Self::TooManyRequests(retry)
    }
}

impl From<ModelError> for AppError {
    fn from(err: ModelError) -> Self {
        match err {
            ModelError::NotFound => Self::NotFound,
            ModelError::Deleted => Self::Gone("This room was deleted.".into()),
            ModelError::NotInRoom => Self::forbidden(
                "not_in_room",
                "You are not in this room: you joined another room or left this one.",
            ),
            ModelError::NotCreator => Self::forbidden(
                "not_creator",
                "Only the room's creator or an administrator can delete it.",
            ),
            ModelError::NotAuthor => Self::forbidden(
                "not_author",
                "Only the message's author, the room's creator or an administrator can delete it.",
            ),
            ModelError::NotYourMessage => {
                Self::forbidden("not_author", "Only its author can edit a message.")
            }
            ModelError::MessageDeleted => Self::MessageGone,
            ModelError::NotAMessage => {
                Self::BadRequest("`reply_to` names no message of this room.".into())
            }
            ModelError::SendingTooFast(wait_ms) => {
                Self::sending_too_fast(RetryAfter(Duration::from_millis(wait_ms)))
            }
            ModelError::TooManyReactions => Self::BadRequest(format!(
                "This message already has {MAX_REACTIONS} different reactions."
            )),
            ModelError::SearchTooCostly => Self::Refused {
                code: "search_too_costly",
                message: "This search takes too long: use longer or fewer words, or search one \
                          room."
                    .into(),
            },
            ModelError::KeyReused => {
                Self::Conflict("That client_id already names a different message.".into())
            }
            ModelError::UsernameTaken => {
                Self::Conflict("That username is taken. Please choose another.".into())
            }
            ModelError::RoomNameTaken => {
                Self::Conflict("A room with that name already exists.".into())
            }
            ModelError::LastAdministrator => Self::Conflict(
                "The last administrator cannot be revoked: grant another first.".into(),
            ),
            ModelError::InvitationUnusable => {
                Self::forbidden("invitation_unusable", INVITATION_UNUSABLE)
            }
            ModelError::SetupUnusable => Self::forbidden("setup_unusable", SETUP_UNUSABLE),
            ModelError::NotAdministrator => Self::NotFound,
            ModelError::OwnAccount => Self::Conflict(
                "You cannot disable your own account: ask another administrator.".into(),
            ),
            ModelError::Database(err) => err.into(),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(invalid: Invalid) -> Self {
        Self::BadRequest(invalid.0)
    }
}

impl From<SearchQueryError> for AppError {
    fn from(err: SearchQueryError) -> Self {
        match err {
            SearchQueryError::TooShort => Self::Refused {
                code: "query_too_short",
                message: format!(
                    "Search for at least one word of {MIN_TERM_CHARS} or more characters."
                ),
            },
            SearchQueryError::TooLong => Self::Refused {
                code: "query_too_long",
                message: format!(
                    "A search has at most {MAX_QUERY_CHARS} characters and {MAX_TERMS} words."
                ),
            },
            SearchQueryError::BadRoom => Self::BadRequest("`room` must be a room's number.".into()),
            SearchQueryError::BadCursor => {
                Self::BadRequest("`before` must be a `next` from a search: search again.".into())
            }
        }
    }
}

impl From<MessageTextError> for AppError {
    fn from(err: MessageTextError) -> Self {
        match err {
            MessageTextError::Empty => Self::BadRequest("The message is empty.".into()),
            MessageTextError::ControlCharacter => {
                Self::BadRequest("The message contains a control character.".into())
            }
            MessageTextError::TooLong => Self::PayloadTooLarge(format!(
                "A message has at most {} characters.",
                crate::domain::MessageText::MAX_CHARS
            )),
        }
    }
}

impl AppError {
    /// The whole answer: `{"error": code, "message": text}` under /api; elsewhere the HTML
    /// page that `page` renders for it (or its message as plain text, if that fails), except
    /// that a page needing a login sends the visitor to the login form, and one needing a new
    /// password to the account page.
    pub fn respond(&self, api: bool, page: impl FnOnce(&Self) -> Option<String>) -> HttpResponse {
        if api {
            return self.response_builder().json(serde_json::json!({
                "error": self.code(),
                "message": self.message(),
            }));
        }
        let elsewhere = match self {
            Self::Unauthenticated => Some("/login"),
            Self::PasswordChangeRequired => Some("/account?notice=one-time"),
            _ => None,
        };
        if let Some(location) = elsewhere {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        match page(self) {
            Some(html) => self
                .response_builder()
                .content_type("text/html; charset=utf-8")
                .body(html),
            None => self.error_response(),
        }
    }
}

pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// An incoming webhook's URL (`/hooks/{key}`): programs post there, with the key as their
/// only credential.
pub fn is_hook(path: &str) -> bool {
    path.starts_with("/hooks/")
}

/// Errors are answered as JSON here (the API, and the hooks that programs call), as HTML
/// pages elsewhere.
pub fn answers_json(path: &str) -> bool {
    is_api(path) || is_hook(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_limit_says_how_long_to_wait_in_whole_seconds_rounded_up() {
        let refused = AppError::sending_too_fast(RetryAfter(Duration::from_millis(2300)));
        assert_eq!(
            refused.message(),
            "You're sending messages too fast; wait 3 s"
        );
        assert_eq!(refused.code(), "rate_limited");
        assert_eq!(refused.status_code(), StatusCode::TOO_MANY_REQUESTS);
        let soon = AppError::sending_too_fast(RetryAfter(Duration::from_millis(10)));
        assert_eq!(soon.message(), "You're sending messages too fast; wait 1 s");
    }

    #[test]
    fn other_rate_limits_keep_their_own_words() {
        let login = AppError::TooManyRequests(RetryAfter(Duration::from_secs(60)));
        assert!(login.message().starts_with("Too many attempts"));
        assert_eq!(login.code(), "rate_limited");
    }
}
