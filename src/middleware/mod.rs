//! The middleware every request passes through: security headers, the access log, CSRF and
//! cross-site checks, the time limit, contained panics, and the shaping of every error answer
//! (an HTML page for pages, JSON under /api; see `AppError::respond`).

pub mod csrf_guard;
pub mod session_shortcut;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_session::SessionExt;
use actix_web::ResponseError;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use askama::Template;
use futures_util::FutureExt;

use crate::auth::client_addr::ClientAddr;
use crate::config::PublicUrl;
use crate::db::{Db, StorageFault};
use crate::errors::{AppError, answers_json, is_hook};
use crate::templates::{ErrorPage, Layout};

/// Pages may load scripts, styles and images only from us, and nothing may frame them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; frame-ancestors 'none'; object-src 'none'; \
     base-uri 'none'; form-action 'self'";

const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_FRAME_OPTIONS, "DENY"),
    // Pages and API answers are per user: no cache may keep them. Static files say otherwise.
    (header::CACHE_CONTROL, "no-store"),
];

/// Adds the headers to every answer that leaves as a response; `render_errors` adds them to
/// the ones that leave as errors.
pub fn security_headers() -> DefaultHeaders {
    SECURITY_HEADERS
        .into_iter()
        .fold(DefaultHeaders::new(), |headers, pair| headers.add(pair))
}

/// One log line per request, except the successful ones every open page makes every second
/// or so (polls, posts, the lobby's refresh, health checks, static files, the service worker,
/// the manifest and the files in messages): those would drown
/// the rest. A refusal is always logged. The line names the client as the limits see it
/// (behind the trusted proxy, the address it forwarded). The request line is written as a
/// quoted, escaped string, so a crafted URI cannot forge fields, and an invitation's token is
/// left out of it. (actix-web's Logger can skip paths only by regular expression, which cost
/// a poll more than the rest of its work together.)
pub async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    let routine = path == "/healthz"
        || path == "/api/lobby"
        || path.starts_with("/static/")
        || (path.starts_with("/api/rooms/") && path.ends_with("/messages"))
        // Static files too, asked for by the service worker and the browser's app checks.
        || path == "/sw.js"
        || path == "/manifest.webmanifest"
        // A room's images, fetched by every page that shows them.
        || path.starts_with("/attachments/");
    let started = Instant::now();
    // Cheap to keep (shared bytes): an error that leaves without a response needs them.
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let client = ClientAddr::of(req.request());
    let outcome = next.call(req).await;
    let status = match &outcome {
        Ok(res) => res.status(),
        Err(err) => err.as_response_error().status_code(),
    };
    if !routine || status.as_u16() >= 400 {
        log::info!(
            "{} {:?} {} {}ms",
            client.map_or_else(|| "-".to_owned(), |a| a.to_string()),
            format!("{method} {}", redacted(&uri)),
            status.as_u16(),
            started.elapsed().as_millis()
        );
    }
    outcome
}

/// The query parameters whose values are secrets: an invitation link's token, and the setup
/// link's (whoever uses it first becomes the administrator).
const SECRET_PARAMETERS: [&str; 2] = ["invite", "setup"];

/// `uri` with the values of secret query parameters replaced, however their names are
/// spelled (`%69nvite` is `invite` to the handler too), and an incoming webhook's key left
/// out of its path.
fn redacted(uri: &actix_web::http::Uri) -> String {
    if is_hook(uri.path()) {
        return loggable_path(uri.path()).to_owned();
    }
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .map(|(name, _)| name);
            match name {
                Some(name) if SECRET_PARAMETERS.contains(&name.as_ref()) => {
                    format!("{name}=[redacted]")
                }
                _ => pair.to_owned(),
            }
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}

/// The path as logs may show it: an incoming webhook's key is its credential, and the logs
/// must not hand it to whoever reads them.
pub fn loggable_path(path: &str) -> &str {
    match is_hook(path) {
        true => "/hooks/[redacted]",
        false => path,
    }
}

/// With `--public-url`, a request for any other Host gets 400 before anything reads it: a page
/// of another site whose name was pointed at this server's address (DNS rebinding) gets
/// nothing, neither pages nor the API. /healthz answers whatever the Host: the container's
/// health check asks by address, and it tells and changes nothing.
pub async fn expected_host(
    public_url: Option<Arc<PublicUrl>>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(public_url) = public_url.filter(|public_url| {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        req.path() != "/healthz" && !host.is_some_and(|host| public_url.accepts(host))
    }) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let refusal = AppError::BadRequest(format!(
        "This server answers only as {}.",
        public_url.origin()
    ));
    let response = refusal.respond(answers_json(req.path()), |e| {
        error_page(Layout::anonymous(), e)
    });
    Ok(req.into_response(response).map_into_right_body())
}

/// Turns every error answer into the right shape for the caller, and logs 5xx causes.
pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let api = answers_json(req.path());
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // An error with no request left to answer (a panic, a timeout): the server answers
        // with the response we attach to it, which the middleware outside never sees, so it
        // gets the security headers here.
        Err(err) => {
            let fallback = AppError::from_status(err.as_response_error().status_code());
            let app_err = err.as_error::<AppError>().unwrap_or(&fallback);
            // The cause and its chain, never a backtrace: `{:?}` of an anyhow error prints
            // one whenever RUST_BACKTRACE is set, a screen of frames for one refused request.
            if app_err.is_fault() {
                log::error!("request failed: {err}");
            }
            let mut response = app_err.respond(api, |e| error_page(Layout::anonymous(), e));
            let headers = response.headers_mut();
            for (name, value) in SECURITY_HEADERS {
                headers.insert(name, HeaderValue::from_static(value));
            }
            return Err(InternalError::from_response(err, response).into());
        }
    };
    let Some(err) = res.response().error() else {
        return Ok(res);
    };
    let fallback = AppError::from_status(res.status());
    let app_err = err.as_error::<AppError>().unwrap_or(&fallback);
    let http_req = res.request();
    if app_err.is_fault() {
        let path = loggable_path(http_req.path());
        log::error!("{} {path} failed: {err}", http_req.method());
    }
    let layout = Layout::existing(&http_req.get_session());
    let response = app_err.respond(api, |e| error_page(layout, e));
    Ok(res.into_response(response))
}

/// While the database cannot be reached, a request that failed (reading its session, most
/// often: that happens before any handler, and actix-session makes it a bare 500) is
/// answered 503 `database_unavailable` with `Retry-After`, as the handlers answer: the client,
/// or the proxy, tries again shortly, perhaps elsewhere. Likewise a bare 500 while the disk is
/// full or the database read-only (saving a session, say) gets that fault's answer.
pub async fn database_down(
    db: Db,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let api = answers_json(req.path());
    // A 503 already says what it is (the health check's among them).
    let fault = |status: StatusCode| {
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return None;
        }
        if db.is_down() && status.is_server_error() {
            return Some(StorageFault::Unavailable);
        }
        db.faults()
            .standing()
            .filter(|_| status == StatusCode::INTERNAL_SERVER_ERROR)
    };
    match next.call(req).await {
        Ok(res) => match fault(res.status()) {
            Some(fault) => {
                let response = AppError::Storage(fault, String::new())
                    .respond(api, |e| error_page(Layout::anonymous(), e));
                Ok(res.into_response(response))
            }
            None => Ok(res.map_into_boxed_body()),
        },
        Err(err) => match fault(err.as_response_error().status_code()) {
            Some(fault) => {
                let mut response = AppError::Storage(fault, String::new())
                    .respond(api, |e| error_page(Layout::anonymous(), e));
                let headers = response.headers_mut();
                for (name, value) in SECURITY_HEADERS {
                    headers.insert(name, HeaderValue::from_static(value));
                }
                Err(InternalError::from_response(err, response).into())
            }
            None => Err(err),
        },
    }
}

fn error_page(layout: Layout, err: &AppError) -> Option<String> {
    let page = ErrorPage {
        layout,
        status: err.status_code().as_u16(),
        title: err.title(),
        message: err.message(),
    };
    page.render()
        .inspect_err(|render_err| log::error!("cannot render the error page: {render_err}"))
        .ok()
}

/// A handler that panics answers a generic 500, and the worker keeps serving.
pub async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Cheap to keep (shared bytes): only a panic needs them.
    let (method, uri) = (req.method().clone(), req.uri().clone());
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(panic) => {
            let route = format!("{method} {}", loggable_path(uri.path()));
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(AppError::internal(anyhow::anyhow!("{route} panicked: {what}")).into())
        }
    }
}

/// A request with a body not answered within `limit` (a stalled upload, say) gets 408; a
/// file's upload (a path ending in /attachments) within `upload_limit`, for a slow phone.
/// Requests without one (GET, HEAD) are left alone: actix-web already drops a client that
/// does not finish its headers, and the timer would cost every poll.
pub async fn time_limit(
    (limit, upload_limit): (Duration, Duration),
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method().is_safe() {
        return next.call(req).await;
    }
    let limit = match req.path().ends_with("/attachments") {
        true => upload_limit,
        false => limit,
    };
    match actix_web::rt::time::timeout(limit, next.call(req)).await {
        Ok(outcome) => outcome,
        Err(_elapsed) => Err(AppError::RequestTimeout.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_or_setup_token_never_reaches_the_log_however_its_name_is_spelled() {
        for (uri, logged) in [
            ("/register?invite=SECRET", "/register?invite=[redacted]"),
            (
                "/register?a=1&%69nvite=SECRET&b=2",
                "/register?a=1&invite=[redacted]&b=2",
            ),
            ("/register?invite", "/register?invite=[redacted]"),
            ("/register?setup=SECRET", "/register?setup=[redacted]"),
            ("/admin/users?q=invite", "/admin/users?q=invite"),
            ("/lobby", "/lobby"),
            ("/hooks/SECRET", "/hooks/[redacted]"),
            ("/hooks/SECRET?invite=1", "/hooks/[redacted]"),
        ] {
            let uri: actix_web::http::Uri = uri.parse().unwrap();
            assert_eq!(redacted(&uri), logged);
        }
    }
}
