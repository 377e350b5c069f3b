//! The poll's way past actix-session. Every open page asks `GET /api/rooms/{id}/messages`
//! once a second, and all it needs is who is asking. actix-session would parse every cookie,
//! decrypt the session cookie and hash the session's key to find it in the session cache:
//! over a third of an empty poll's instructions. This layer, in front of actix-session,
//! remembers which session cookie value opened which session row (the value is sealed by
//! the server's key, so only a value this server made can get in), and asks the session
//! cache for that row directly. The cache stays the authority: the revocation reader clears
//! it, so a revoked, expired or changed session fails the lookup and goes the long way.
//! So does every other request, and any poll this layer cannot answer from memory.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use actix_session::storage::SessionKey;
use actix_web::cookie::{Cookie, CookieJar, Key};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{Method, header};
use actix_web::{Error, HttpMessage};
use futures_util::future::LocalBoxFuture;

use crate::auth::session_store::{DbSessionStore, row_id};
use crate::auth::{CurrentUser, Polling};

/// How many cookie values are remembered before the memory starts over. One per session
/// per login (a value changes only when the session's key does), so this is the session
/// cache's own bound.
const MEMO_LIMIT: usize = 200_000;

/// Session cookie values this server has opened, each with its session's row id (the
/// SHA-256 of the key sealed inside). Shared by the server's workers.
#[derive(Default)]
pub struct CookieMemo {
    rows: Mutex<HashMap<Box<str>, Arc<str>>>,
}

impl CookieMemo {
    fn get(&self, value: &str) -> Option<Arc<str>> {
        self.lock().get(value).cloned()
    }

    fn remember(&self, value: &str, row: Arc<str>) {
        let mut rows = self.lock();
        if rows.len() >= MEMO_LIMIT {
            rows.clear();
        }
        rows.insert(value.into(), row);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<str>>> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the shortcut needs: the session cookie's name and key, the memo, and the store
/// (for its cache and its idle deadlines).
pub struct Shortcut {
    cookie_name: String,
    key: Key,
    memo: Arc<CookieMemo>,
    store: DbSessionStore,
}

impl Shortcut {
    pub fn new(cookie_name: &str, key: Key, memo: Arc<CookieMemo>, store: DbSessionStore) -> Self {
        Self {
            cookie_name: cookie_name.to_owned(),
            key,
            memo,
            store,
        }
    }

    /// The settled user of a poll whose session the cache knows live; `None` sends the
    /// request the long way.
    async fn user(&self, req: &ServiceRequest) -> Option<CurrentUser> {
        if req.method() != Method::GET || !is_poll(req.path()) {
            return None;
        }
        let value = cookie_value(req, &self.cookie_name)?;
        let row = match self.memo.get(value) {
            Some(row) => row,
            None => {
                let row: Arc<str> = self.open(value)?.into();
                self.memo.remember(value, row.clone());
                row
            }
        };
        self.store.settled_user(&row).await
    }

    /// The row id of the session key sealed in a cookie value, as actix-session opens it.
    fn open(&self, value: &str) -> Option<String> {
        let cookie = Cookie::parse_encoded(format!("{}={value}", self.cookie_name)).ok()?;
        let mut jar = CookieJar::new();
        jar.add_original(cookie.into_owned());
        let opened = jar.private(&self.key).get(&self.cookie_name)?;
        let key = SessionKey::try_from(opened.value().to_owned()).ok()?;
        Some(row_id(&key))
    }
}

/// `GET /api/rooms/{digits}/messages`, any query.
fn is_poll(path: &str) -> bool {
    path.strip_prefix("/api/rooms/")
        .and_then(|rest| rest.strip_suffix("/messages"))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// The raw value of the cookie `name` in the request's Cookie headers.
fn cookie_value<'a>(req: &'a ServiceRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim_start().strip_prefix(name)?.strip_prefix('='))
        .map(str::trim_end)
}

/// Wraps actix-session's middleware: polls it can answer skip it, the rest go through it.
pub struct SessionShortcut<T> {
    sessions: T,
    shortcut: Rc<Shortcut>,
}

impl<T> SessionShortcut<T> {
    pub fn new(sessions: T, shortcut: Shortcut) -> Self {
        Self {
            sessions,
            shortcut: Rc::new(shortcut),
        }
    }
}

impl<S, T, B> Transform<S, ServiceRequest> for SessionShortcut<T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    T: Transform<Shared<S>, ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    T::Transform: 'static,
    T::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = ShortcutService<S, T::Transform>;
    type InitError = T::InitError;
    type Future = LocalBoxFuture<'static, Result<Self::Transform, T::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let inner = Rc::new(service);
        let sessions = self.sessions.new_transform(Shared(inner.clone()));
        let shortcut = self.shortcut.clone();
        Box::pin(async move {
            Ok(ShortcutService {
                inner,
                sessions: Rc::new(sessions.await?),
                shortcut,
            })
        })
    }
}

/// The rest of the app, reachable both through actix-session and around it.
pub struct Shared<S>(Rc<S>);

impl<S: Service<ServiceRequest>> Service<ServiceRequest> for Shared<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        self.0.call(req)
    }
}

pub struct ShortcutService<S, U> {
    inner: Rc<S>,
    sessions: Rc<U>,
    shortcut: Rc<Shortcut>,
}

impl<S, U, B> Service<ServiceRequest> for ShortcutService<S, U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    U: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse<B>, Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.sessions.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let (inner, sessions, shortcut) = (
            self.inner.clone(),
            self.sessions.clone(),
            self.shortcut.clone(),
        );
        Box::pin(async move {
            match shortcut.user(&req).await {
                Some(user) => {
                    req.extensions_mut().insert(Polling(user));
                    inner.call(req).await
                }
                None => sessions.call(req).await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_poll;

    #[test]
    fn only_a_rooms_log_is_a_poll() {
        assert!(is_poll("/api/rooms/12/messages"));
        for path in [
            "/api/rooms//messages",
            "/api/rooms/1x/messages",
            "/api/rooms/12/messages/3",
            "/api/rooms/12",
            "/rooms/12/messages",
            "/api/rooms/12/messages/",
        ] {
            assert!(!is_poll(path), "{path}");
        }
    }
}
