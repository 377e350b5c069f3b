//! CSRF protection for every state-changing request, enforced in one middleware so that no
//! handler can forget it: a token tied to the session (form field or header), and a refusal
//! of requests that the browser marks as cross-site. API reads are refused cross-site too: a
//! poll records presence and typing, which no other site may do in someone's name.

use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use crate::accounts::Accounts;
use crate::auth::csrf::{FIELD, FORM_PATHS, FormTokens, HEADER, existing};
use crate::auth::{Bearer, CurrentUser, bearer_token, token_opens};
use crate::config::BODY_LIMIT;
use crate::errors::{AppError, is_api, is_hook};

pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // An incoming webhook's key is its credential: no session, no token, and programs post
    // from anywhere (a CI server, another site's backend). Nothing there acts for a session.
    if is_hook(req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    // CSRF protects what a browser sends by itself (its cookies); a bearer token is sent only
    // by whoever holds it. Where a token does not count, the header is ignored and the
    // request is what its cookies make it.
    if token_opens(req.path())
        && let Some(token) = bearer_token(req.request())
    {
        let accounts = req.app_data::<web::Data<Accounts>>().cloned();
        let user = match accounts {
            Some(accounts) => accounts.bearer(token).await,
            None => Err(AppError::InvalidToken),
        };
        return match user {
            Ok(user) => {
                req.extensions_mut().insert(Bearer(user));
                next.call(req)
                    .await
                    .map(ServiceResponse::map_into_left_body)
            }
            Err(refusal) => Ok(req.error_response(refusal).map_into_right_body()),
        };
    }
    if req.method().is_safe() && !(is_api(req.path()) && is_cross_site(req.headers())) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let refusal = match check(&mut req).await {
        Ok(()) => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body);
        }
        Err(refusal) => refusal,
    };
    log::warn!("refused {} {}: {refusal}", req.method(), req.path());
    Ok(req.error_response(refusal).map_into_right_body())
}

async fn check(req: &mut ServiceRequest) -> Result<(), AppError> {
    if is_cross_site(req.headers()) {
        return Err(AppError::forbidden(
            "cross_site",
            "Requests from other sites are not allowed.",
        ));
    }
    // Logging in and registering over the API: no session yet to bind a token to. Only JSON,
    // which a foreign page cannot send without a CORS preflight (never granted).
    if req.method() == Method::POST && TOKENLESS.contains(&req.path()) {
        return if is_json(req.headers()) {
            Ok(())
        } else {
            Err(AppError::UnsupportedMediaType(
                "Send JSON with Content-Type: application/json.".into(),
            ))
        };
    }
    let presented = match req.headers().get(HEADER) {
        Some(value) => value.to_str().ok().map(str::to_owned),
        None if is_form(req.headers()) => token_from_form(req).await?,
        None => None,
    };
    // The login and register forms: signed tokens bound to a cookie, no session.
    if req.method() == Method::POST && FORM_PATHS.contains(&req.path()) {
        let tokens = req.app_data::<web::Data<FormTokens>>();
        return match (tokens, presented) {
            (Some(tokens), Some(presented)) if tokens.check(req.request(), &presented) => Ok(()),
            _ => Err(expired()),
        };
    }
    let session = req.get_session();
    // An API call from a browser whose session ended (expired, logged out elsewhere) gets the
    // handler's 401, which sends the page to the login form; it cannot change anything.
    if is_api(req.path()) && CurrentUser::from_session(&session).is_none() {
        return Ok(());
    }
    match (existing(&session), presented) {
        (Some(expected), Some(presented)) if constant_time_eq(&expected, &presented) => Ok(()),
        _ => Err(expired()),
    }
}

fn expired() -> AppError {
    AppError::forbidden(
        "csrf",
        "Your form has expired or the security token is missing. Reload the page and try again.",
    )
}

/// The browser says so (Sec-Fetch-Site), or, from an older browser, the Origin is not ours.
fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"cross-site";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (origin_host, host) {
        (Some(origin_host), Some(host)) => !origin_host.eq_ignore_ascii_case(host),
        _ => true,
    }
}

/// POST /api/users and POST /api/session: the two unsafe requests that need no token.
const TOKENLESS: [&str; 2] = ["/api/users", "/api/session"];

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// Reads the (bounded) form body for its token, then puts the body back for the handler.
async fn token_from_form(req: &mut ServiceRequest) -> Result<Option<String>, AppError> {
    let too_large = || AppError::PayloadTooLarge("The form is too large.".into());
    // A declared length over the limit is refused before a byte of the body is read.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT) {
        return Err(too_large());
    }
    let payload = req
        .extract::<web::Payload>()
        .await
        .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
    let body = payload
        .to_bytes_limited(BODY_LIMIT)
        .await
        .map_err(|_| too_large())?
        .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
    // Tokens are alphanumeric (a form token adds a dot), so they need no percent-decoding.
    let token = body
        .split(|&b| b == b'&')
        .filter_map(|pair| pair.strip_prefix(FIELD.as_bytes())?.strip_prefix(b"="))
        .next()
        .map(|value| String::from_utf8_lossy(value).into_owned());
    req.set_payload(body.into());
    Ok(token)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_cross_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "none")])));
    }

    #[test]
    fn without_sec_fetch_site_a_foreign_origin_is_cross_site() {
        let ours = [
            ("host", "chat.example:8080"),
            ("origin", "http://chat.example:8080"),
        ];
        assert!(!is_cross_site(&headers(&ours)));
        let theirs = [
            ("host", "chat.example:8080"),
            ("origin", "https://evil.example"),
        ];
        assert!(is_cross_site(&headers(&theirs)));
        assert!(is_cross_site(&headers(&[
            ("host", "a"),
            ("origin", "null")
        ])));
        assert!(!is_cross_site(&headers(&[("host", "a")])));
    }

    #[test]
    fn compares_tokens_exactly() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
