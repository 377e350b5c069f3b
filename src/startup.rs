//! Builds the app: database, sessions, middleware and THE route table; binds and runs it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_web::body::MessageBody;
use actix_web::cookie::{SameSite, time::Duration as CookieDuration};
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::auth::client_addr::TrustedProxy;
use crate::auth::csrf;
use crate::auth::password::Hasher;
use crate::auth::session_store::{self, DbSessionStore, SessionCache};
use crate::blocking;
use crate::config::{BODY_LIMIT, Settings};
use crate::db::{self, Db};
use crate::errors::{self, AppError};
use crate::live::{Live, TAIL};
use crate::models::{LogEntry, Room, User};
use crate::poster::Poster;
use crate::routes::{self, account, api, api_account, assets, auth, lobby, room};
use crate::throttle::Throttles;

/// Connections per database pool, one for each blocking thread that may want one: SQLite
/// serialises writers anyway; readers share WAL snapshots.
const POOL_SIZE: u32 = blocking::THREADS as u32;
pub const SESSION_COOKIE: &str = "chatroom_session";
/// Connections waiting to be accepted (the kernel caps it at net.core.somaxconn).
const LISTEN_BACKLOG: u32 = 4096;

/// Pages may load scripts, styles and images only from us, and nothing may frame them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; frame-ancestors 'none'; object-src 'none'; \
     base-uri 'none'; form-action 'self'";

pub struct Application {
    addr: SocketAddr,
    server: Server,
    db: Db,
    live: std::sync::Arc<Live>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let report = db::initialize(&settings.database_path)?;
        if report.created || !report.applied.is_empty() {
            log::info!("{report}");
        }
        let db = Db::open(&settings.database_path, POOL_SIZE)?;
        let hasher = web::Data::new(Hasher::new(settings.bcrypt_cost)?);
        let throttles = web::Data::new(Throttles::new(&settings.limits));
        let live = web::Data::new(Live::default());
        warm_up(&db, &live).await?;
        let poster = web::Data::new(Poster::start(db.clone(), live.clone().into_inner()));
        let sessions = web::Data::new(SessionCache::default());
        sessions
            .warm_up(&db)
            .await
            .map_err(|err| anyhow::anyhow!("cannot load the sessions: {err}"))?;
        let trusted_proxy = web::Data::new(TrustedProxy(settings.trusted_proxy));

        let bind = settings.bind.clone();
        let request_timeout = settings.limits.request_timeout;
        let panic_route = settings.panic_route;
        let (db_in_background, live_in_background) = (db.clone(), live.clone().into_inner());
        let sessions_in_background = sessions.clone().into_inner();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(db.clone()))
                .app_data(hasher.clone())
                .app_data(throttles.clone())
                .app_data(live.clone())
                .app_data(poster.clone())
                .app_data(sessions.clone())
                .app_data(trusted_proxy.clone())
                .app_data(web::FormConfig::default().limit(BODY_LIMIT))
                .app_data(json_config())
                .wrap(from_fn(errors::catch_panics))
                .wrap(from_fn(csrf::protect))
                .wrap(from_fn(move |req, next| {
                    errors::time_limit(request_timeout, req, next)
                }))
                .wrap(from_fn(errors::render))
                .wrap(session_middleware(
                    &settings,
                    db.clone(),
                    sessions.clone().into_inner(),
                ))
                .wrap(security_headers())
                .wrap(from_fn(access_log))
                .configure(|cfg| routes(cfg, panic_route))
        })
        .worker_max_blocking_threads(blocking::THREADS)
        // Room for every open page to reconnect at once after a restart: a connection that
        // finds the queue full waits a whole second to try again.
        .backlog(LISTEN_BACKLOG)
        .bind(&bind)
        .with_context(|| format!("cannot listen on {bind}"))?;
        let addrs = server.addrs();
        let addr = *addrs
            .first()
            .with_context(|| format!("{bind} names no address"))?;
        let server = server.run();
        for addr in addrs {
            log::info!("listening on http://{addr}");
        }
        spawn_session_sweeper(db_in_background.clone(), sessions_in_background);
        spawn_read_mark_writer(db_in_background.clone(), live_in_background.clone());
        Ok(Self {
            addr,
            server,
            db: db_in_background,
            live: live_in_background,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until Ctrl+C or SIGTERM, then finishes the requests in flight.
    /// The read marks still in memory are written last.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await?;
        let marks = self.live.reads.take_all();
        let count = marks.len();
        match routes::record_read_marks(&self.db, &self.live, marks).await {
            Ok(()) if count > 0 => log::info!("saved {count} read marks"),
            Ok(()) => {}
            Err(err) => log::warn!("cannot save {count} read marks: {err}"),
        }
        Ok(())
    }
}

/// How many rooms' latest entries are loaded at start-up (the most recently active).
const WARM_ROOMS: i64 = 1000;

/// Loads who is in which room, and the busiest rooms' latest entries, before serving: after a
/// restart, every open page polls within a second, and none of those polls should need the
/// database.
async fn warm_up(db: &Db, live: &web::Data<Live>) -> anyhow::Result<()> {
    let shared = live.clone().into_inner();
    db.run(move |conn| {
        let _turn = shared.log_turn();
        shared
            .directory
            .preload_memberships(&User::memberships(conn)?);
        for room in Room::most_active(conn, WARM_ROOMS)? {
            let latest = LogEntry::latest(conn, room, TAIL as i64)?;
            shared.directory.fill(room, latest);
        }
        Ok(())
    })
    .await
    .map_err(|err| anyhow::anyhow!("cannot load the rooms: {err}"))
}

/// The app's map: every route, top to bottom.
fn routes(cfg: &mut web::ServiceConfig, panic_route: bool) {
    cfg.route("/healthz", web::get().to(assets::healthz))
        // Every open page asks here once a second. Routes are tried top to bottom, and each
        // pattern with a `{}` costs a regex match, so this one comes before the rest.
        .service(
            web::resource("/api/rooms/{id}/messages")
                .get(api::log)
                .post(api::post_message),
        )
        .route("/static/{name}", web::get().to(assets::asset))
        .route("/", web::get().to(auth::index))
        .service(
            web::resource("/register")
                .get(auth::register_page)
                .post(auth::register),
        )
        .service(
            web::resource("/login")
                .get(auth::login_page)
                .post(auth::login),
        )
        .route("/logout", web::post().to(auth::logout))
        .route("/account", web::get().to(account::page))
        .route(
            "/account/logout-everywhere",
            web::post().to(account::logout_everywhere),
        )
        .route("/lobby", web::get().to(lobby::lobby))
        .route("/rooms", web::post().to(lobby::create_room))
        .route("/rooms/{id}", web::get().to(room::show))
        .route("/rooms/{id}/leave", web::post().to(room::leave))
        .route("/rooms/{id}/delete", web::post().to(room::delete))
        .route("/direct", web::post().to(room::direct))
        .route("/api/lobby", web::get().to(api::lobby))
        .route("/api/users", web::post().to(api_account::register))
        .service(
            web::resource("/api/session")
                .post(api_account::log_in)
                .delete(api_account::log_out),
        )
        .service(
            web::resource("/api/rooms")
                .get(api::lobby)
                .post(api::create_room),
        )
        .route("/api/rooms/{id}", web::delete().to(api::delete_room))
        .route("/api/rooms/{id}/enter", web::post().to(api::enter_room))
        .route("/api/rooms/{id}/leave", web::post().to(api::leave_room))
        .route(
            "/api/rooms/{id}/messages/{message}",
            web::delete().to(api::delete_message),
        )
        .default_service(web::to(routes::not_found));
    if panic_route {
        cfg.route("/__panic", web::get().to(routes::panic));
    }
}

fn session_middleware(
    settings: &Settings,
    db: Db,
    cache: std::sync::Arc<SessionCache>,
) -> SessionMiddleware<DbSessionStore> {
    let lifetime = CookieDuration::seconds(
        i64::try_from(settings.session_lifetime.as_secs()).unwrap_or(i64::MAX),
    );
    SessionMiddleware::builder(
        DbSessionStore::new(db, settings.session_idle, cache),
        settings.cookie_key.clone(),
    )
    .cookie_name(SESSION_COOKIE.to_owned())
    .cookie_http_only(true)
    .cookie_same_site(SameSite::Lax)
    .cookie_path("/".to_owned())
    .cookie_secure(settings.secure_cookies)
    // The cookie lives as long as the session may; the store enforces the idle timeout.
    .session_lifecycle(
        PersistentSession::default()
            .session_ttl(lifetime)
            .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
    )
    .build()
}

/// Middleware: one log line per request, except the ones every open page makes every second
/// or so (polls, the lobby's refresh, health checks, static files): those would drown the rest.
/// (actix-web's Logger can skip paths only by regular expression, which cost a poll more than
/// the rest of its work together.)
async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    let routine = path == "/healthz"
        || path == "/api/lobby"
        || path.starts_with("/static/")
        || (path.starts_with("/api/rooms/") && path.ends_with("/messages"));
    if routine {
        return next.call(req).await;
    }
    let started = Instant::now();
    let peer = req.peer_addr().map(|a| a.ip());
    let line = format!("{} {}", req.method(), req.uri());
    let res = next.call(req).await?;
    log::info!(
        "{} \"{line}\" {} {}ms",
        peer.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
        res.status().as_u16(),
        started.elapsed().as_millis()
    );
    Ok(res)
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        // Pages and API answers are per user: no cache may keep them. Static files say otherwise.
        .add((header::CACHE_CONTROL, "no-store"))
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as E;
            let app_err = match err {
                E::ContentType => AppError::UnsupportedMediaType(
                    "Send JSON with Content-Type: application/json.".into(),
                ),
                E::Overflow { .. } | E::OverflowKnownLength { .. } => {
                    AppError::PayloadTooLarge("The request body is too large.".into())
                }
                _ => AppError::BadRequest("The request body is not the JSON expected.".into()),
            };
            app_err.into()
        })
}

/// Writes the read marks that polls gathered and that have waited their turn (see
/// `live::ReadMarks`), a few at a time, four times a second: one big batch now and then would
/// take the server's core away from the polls for a noticeable moment.
fn spawn_read_mark_writer(db: Db, live: std::sync::Arc<Live>) {
    const EVERY: Duration = Duration::from_millis(250);
    const AT_MOST: usize = 2_000;
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(EVERY);
        loop {
            tick.tick().await;
            let marks = live.reads.take(AT_MOST);
            if let Err(err) = routes::record_read_marks(&db, &live, marks).await {
                log::warn!("cannot save read marks, will try again: {err}");
            }
        }
    });
}

/// Deletes expired sessions every hour.
fn spawn_session_sweeper(db: Db, cache: std::sync::Arc<SessionCache>) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match session_store::purge_expired(&db, &cache).await {
                Ok(0) => {}
                Ok(n) => log::info!("removed {n} expired sessions"),
                Err(err) => log::warn!("cannot remove expired sessions: {err}"),
            }
        }
    });
}
