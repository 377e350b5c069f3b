//! The handlers, grouped by page. Each is thin: extract, parse, call one method of a service
//! (`chat`, `accounts` or `admin`), answer; a form refused re-renders with what its page
//! shows. No handler touches the database, and no handler module uses another: dependencies
//! point one way, from here to the services (and `json` and `templates` for the answers).
//! `shell` is not a handler module: it is the extractor that every logged-in page's handler
//! takes for its layout.

pub mod account;
pub mod administration;
pub mod api;
pub mod api_account;
pub mod assets;
pub mod attachments;
pub mod auth;
pub mod bots;
pub mod lobby;
pub mod push;
pub mod room;
pub mod search;
pub mod shell;
pub mod webhooks;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::auth::client_addr::TrustedProxy;
use crate::config::PublicUrl;
use crate::errors::AppError;

/// `?notice=KEY`: what a redirect after a form tells the page it lands on, each page
/// turning its own keys into words.
#[derive(Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// Where the links the server makes (invitations) point: `--public-url` if set.
pub struct LinkOrigin(pub Option<PublicUrl>);

impl LinkOrigin {
    /// `--public-url`, or else the scheme and Host the request came with: the scheme as the
    /// trusted proxy says (X-Forwarded-Proto), the Host as the proxy passed it on. Never a
    /// client's Forwarded or X-Forwarded-Host, which would put a link to anywhere in an
    /// administrator's hands.
    pub fn of(req: &HttpRequest) -> String {
        if let Some(public_url) = req
            .app_data::<web::Data<LinkOrigin>>()
            .and_then(|o| o.0.as_ref())
        {
            return public_url.origin().to_owned();
        }
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let scheme = match header("x-forwarded-proto") {
            Some("https") if TrustedProxy::sent(req) => "https",
            _ => "http",
        };
        let host = header(header::HOST.as_str())
            .filter(|host| {
                !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .map_or_else(|| req.app_config().host().to_owned(), str::to_owned);
        format!("{scheme}://{host}")
    }
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
