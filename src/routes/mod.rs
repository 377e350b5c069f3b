//! The handlers, grouped by page. Each is thin: extract, parse, one model call, answer.

pub mod account;
pub mod actions;
pub mod api;
pub mod api_account;
pub mod assets;
pub mod auth;
pub mod lobby;
pub mod room;

use actix_web::http::header;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use diesel::SqliteConnection;

use crate::db::Db;
use crate::errors::AppError;
use crate::live::Live;
use crate::models::Changes;
use crate::models::read::RoomRead;

/// Runs a write on the database, then tells the live state what it changed. Writes take turns
/// (see `live::Directory`): the changes of one are applied before the next one commits.
pub async fn write<T, F>(db: &Db, live: &Arc<Live>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut SqliteConnection, &mut Changes) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let live = live.clone();
    db.run(move |conn| {
        let _turn = live.log_turn();
        let mut changes = Changes::default();
        let out = f(conn, &mut changes);
        // Whatever committed is applied, even if a later step of `f` failed.
        live.apply(&changes);
        if matches!(out, Err(AppError::Internal(_))) {
            // The database failed mid-way: memory may no longer match it. Start afresh.
            live.directory.reset();
        }
        out
    })
    .await
}

/// Like `write`, after first saving the user's read marks that are still in memory: for
/// anything that reads them (the "new messages" line, unread counts).
pub async fn with_read_marks_saved<T, F>(
    db: &Db,
    live: &web::Data<Live>,
    user_id: i32,
    f: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut SqliteConnection, &mut Changes) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    save_read_marks(db, live, user_id).await?;
    write(db, live, f).await
}

/// Writes the user's read marks that are still in memory (the writer task takes the rest
/// in turn).
pub async fn save_read_marks(db: &Db, live: &Live, user_id: i32) -> Result<(), AppError> {
    record_read_marks(db, live, live.reads.take_for(user_id)).await
}

/// Writes read marks taken from `live.reads`; if the write fails, hands them back so that
/// they are written later.
pub async fn record_read_marks(
    db: &Db,
    live: &Live,
    marks: Vec<(i32, i32, i32)>,
) -> Result<(), AppError> {
    if marks.is_empty() {
        return Ok(());
    }
    let batch = marks.clone();
    let saved = db
        .run(move |conn| Ok(RoomRead::record(conn, &batch)?))
        .await;
    if saved.is_err() {
        live.reads.give_back(&marks);
    }
    saved
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
