//! The health check, and the static files, compiled into the binary so that it runs anywhere:
//! those under /static/, and the few an installable app needs at fixed paths (its manifest,
//! its service worker at the root so that its scope is the whole site, its offline page).

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

/// The files under static/, by name, compiled in.
macro_rules! assets {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_bytes!(concat!("../../static/", $file)).as_slice())),*]
    };
}

const ASSETS: &[(&str, &[u8])] = assets![
    "alerts.js",
    "autocomplete.js",
    "chat.js",
    "composer.js",
    "confirm.js",
    "days.js",
    "delete-room.js",
    "favicon-dot.svg",
    "favicon.svg",
    "icon-192.png",
    "icon-512.png",
    "install.js",
    "lobby.js",
    "message-actions.js",
    "mentions.js",
    "message-view.js",
    "notify-level.js",
    "outbox.js",
    "page.js",
    "poller.js",
    "presence.js",
    "push.js",
    "reactions.js",
    "room-log.js",
    "send.js",
    "shell.js",
    "style.css",
    "times.js",
    "uploads.js",
];

/// A static file's type, from its extension (only ours are served).
fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("webmanifest") => "application/manifest+json",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (file, body) = ASSETS
        .iter()
        .find(|(file, _)| *file == name.as_str())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type(file))
        // Short, because the names carry no version: a deploy must reach browsers soon.
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(*body))
}

/// The web app manifest (what makes the site installable), at /manifest.webmanifest.
pub async fn manifest() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/manifest+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(include_str!("../../static/manifest.webmanifest"))
}

/// The service worker, at /sw.js: served from the root, its scope is the whole site. Never
/// cached by HTTP, so that browsers see a new one at their next visit.
pub async fn service_worker() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(include_str!("../../static/sw.js"))
}

/// The plain page the service worker shows when the server cannot be reached: static, so that
/// it can be kept in the worker's cache (it names no user and holds no token).
pub async fn offline() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(include_str!("../../static/offline.html"))
}
