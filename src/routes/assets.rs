//! The health check, and the static files, compiled into the binary so that it runs anywhere.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::db::Faults;
use crate::errors::{AppError, retry_after};

/// `ok` while the storage takes writes; while a storage fault stands (a full disk, a read-only
/// database, one out of reach: see `db::Faults`), 503 saying which, for the container's health
/// check. One atomic read when all is well, no query: a health check costs what it did, and
/// the poll-cost guard's baseline stays where it was.
pub fn healthz(faults: &Faults) -> HttpResponse {
    let Some((fault, lasted)) = faults.standing_for() else {
        return HttpResponse::Ok().content_type("text/plain").body("ok");
    };
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, retry_after(fault)))
        .json(serde_json::json!({
            "status": "unavailable",
            "error": fault.code(),
            "message": AppError::Storage(fault, String::new()).message(),
            "for_seconds": lasted.as_secs(),
        }))
}

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "chat.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/chat.js"),
    ),
    (
        "confirm.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/confirm.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../static/favicon.svg"),
    ),
    (
        "lobby.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/lobby.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../static/style.css"),
    ),
    (
        "times.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/times.js"),
    ),
];

pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(file, _, _)| *file == name.as_str())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        // Short, because the names carry no version: a deploy must reach browsers soon.
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(*body))
}
