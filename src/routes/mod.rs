//! The handlers, grouped by page. Each is thin: extract, parse, one model call, answer.

pub mod account;
pub mod api;
pub mod api_account;
pub mod assets;
pub mod auth;
pub mod lobby;
pub mod room;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use diesel::SqliteConnection;

use crate::db::Db;
use crate::errors::AppError;
use crate::live::Live;
use crate::models::Changes;
use crate::models::read::RoomRead;

/// Runs a write on the database, then tells the live state what it changed.
pub async fn write<T, F>(db: &Db, live: &Live, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut SqliteConnection, &mut Changes) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    with_read_marks_saved(db, live, None, f).await
}

/// Like `write`, after first saving the user's read marks that are still in memory: for
/// anything that reads them (unread counts, the "new messages" line).
pub async fn with_read_marks_saved<T, F>(
    db: &Db,
    live: &Live,
    user_id: Option<i32>,
    f: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut SqliteConnection, &mut Changes) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let marks = user_id
        .map(|user| live.reads.take_for(user))
        .unwrap_or_default();
    let (out, changes) = db
        .run(move |conn| {
            if !marks.is_empty() {
                RoomRead::record(conn, &marks)?;
            }
            let mut changes = Changes::default();
            let out = f(conn, &mut changes)?;
            Ok((out, changes))
        })
        .await?;
    live.apply(&changes);
    Ok(out)
}

/// 303 See Other: the answer to every successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// What the router answers when nothing matched: 405 when the path is ours but the method is
/// not, else 404.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    match req.match_pattern() {
        Some(_) => Err(AppError::MethodNotAllowed),
        None => Err(AppError::NotFound),
    }
}

/// Panics, so that tests can prove a panic is contained (see `Settings::panic_route`).
pub async fn panic() -> HttpResponse {
    panic!("a handler panicked on purpose")
}
