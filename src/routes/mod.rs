//! The handlers, grouped by page. Each is thin: extract, parse, call the service (`chat`) or
//! `auth::accounts` once, answer. No handler module uses another.

pub mod account;
pub mod admin;
pub mod api;
pub mod api_account;
pub mod assets;
pub mod auth;
pub mod lobby;
pub mod room;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use crate::errors::AppError;

/// 303 See Other: the answer to every successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// What the router answers when nothing matched: 405 when the path is ours but the method is
/// not, else 404.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    // The administrators' paths exist only for administrators: a wrong method there says
    // nothing either.
    let path = req.path();
    if path == "/admin" || path.starts_with("/admin/") || path.starts_with("/api/admin/") {
        return Err(AppError::NotFound);
    }
    match req.match_pattern() {
        Some(_) => Err(AppError::MethodNotAllowed),
        None => Err(AppError::NotFound),
    }
}

/// Panics, so that tests can prove a panic is contained (see `Settings::panic_route`).
pub async fn panic() -> HttpResponse {
    panic!("a handler panicked on purpose")
}
