//! The handlers, grouped by page. Each is thin: extract, parse, one model call, answer.

pub mod api;
pub mod assets;
pub mod auth;
pub mod lobby;
pub mod room;

use actix_web::HttpResponse;
use actix_web::http::header;

use crate::errors::AppError;

/// 303 See Other: the answer to every successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Serves the router's "no such route" as our 404.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
