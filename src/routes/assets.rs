//! The health check, and the static files, compiled into the binary so that it runs anywhere.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::errors::AppError;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "chat.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/chat.js"),
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
