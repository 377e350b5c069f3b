//! Builds the app: database, sessions, middleware and THE route table; binds and runs it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_web::cookie::{SameSite, time::Duration as CookieDuration};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Condition, from_fn};
use actix_web::rt::task::JoinHandle;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::sync::Notify;

use crate::accounts::{self, Accounts, Setup};
use crate::admin::Admin;
use crate::auth::client_addr::TrustedProxy;
use crate::auth::csrf::FormTokens;
use crate::auth::password::Hasher;
use crate::auth::session_store::{
    self, DbSessionStore, MemorySessionCache, RevocationCursor, SessionCache, SessionTimes,
};
use crate::chat::signals::Signals;
use crate::chat::{Chat, background};
use crate::clock::Clock;
use crate::config::{BODY_LIMIT, Settings};
use crate::db::{Backend, Db, Faults};
use crate::errors::AppError;
use crate::live::Live;
use crate::live::shared::SharedPresence;
use crate::middleware::session_shortcut::{CookieMemo, SessionShortcut, Shortcut};
use crate::middleware::{self, csrf_guard};
use crate::models;
use crate::outgoing::OutgoingWorker;
use crate::push::{Push, PushWorker};
use crate::routes::{
    self, LinkOrigin, account, administration as admin, api, api_account, assets, attachments,
    auth, bots, lobby, push as push_routes, room, search, webhooks,
};
use crate::throttle::{MemoryLimits, RateLimits, SharedLimits, Throttles};

/// Connections per database pool, one for each blocking thread that may want one: SQLite
/// serialises writers anyway; readers share WAL snapshots.
const POOL_SIZE: u32 = crate::blocking::THREADS as u32;
/// The session cookie's name; with `--secure-cookies` it carries the `__Host-` prefix, which
/// a browser accepts only from a secure origin, for the whole site, with no Domain: no other
/// host (a sibling subdomain, a plain-http page) can set or overwrite it.
pub fn session_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-chatroom_session"
    } else {
        "chatroom_session"
    }
}
/// While the database has no administrator, says on the console how to become it: the
/// setup link (made once, by the first server to start on the database; printed once, as only
/// its hash is kept), or where it went. Whoever reaches a new server first gets an ordinary
/// account; only the setup link's holder, who can read the console, gets the server.
async fn announce_setup(accounts: &Accounts, origin: &str) -> anyhow::Result<Option<String>> {
    let setup = accounts
        .offer_setup()
        .await
        .map_err(|err| anyhow::anyhow!("cannot make the setup link: {err}"))?;
    match setup {
        Setup::Made(token) => {
            log::warn!(
                "this database has no administrator: to become it, open {} and register \
                 (the link works once; `chatroom admin grant NAME` works too)",
                accounts::setup_link(origin, &token)
            );
            Ok(Some(token))
        }
        Setup::Pending => {
            log::warn!(
                "this database has no administrator: register with the setup link printed \
                 when its first server started, or register and run `chatroom admin grant NAME`"
            );
            Ok(None)
        }
        Setup::Done => Ok(None),
    }
}

/// Connections waiting to be accepted (the kernel caps it at net.core.somaxconn).
const LISTEN_BACKLOG: u32 = 4096;
/// How many rooms' latest entries are loaded at start-up (the most recently active): fewer
/// than memory keeps by default, so that warming up evicts nothing.
const WARM_ROOMS: usize = 1000;
const _: () = assert!(WARM_ROOMS < crate::live::TAILS);

pub struct Application {
    /// None on a unix socket.
    addr: Option<SocketAddr>,
    server: Server,
    db: Db,
    live: Arc<Live>,
    /// The background tasks, which end with the server.
    tasks: Vec<JoinHandle<()>>,
    /// The setup link's token, if this server made it (see `announce_setup`).
    setup_token: Option<String>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (report, clashes) = models::initialize(&settings.database)?;
        if report.created || !report.applied.is_empty() {
            log::info!("{report}");
        }
        for clash in &clashes {
            log::error!("{clash}");
        }
        let faults = Arc::new(Faults::new(
            settings.clock.clone(),
            settings.fault_log.clone(),
        ));
        let db = Db::open_with(
            &settings.database,
            POOL_SIZE,
            faults,
            settings.max_database_pages,
        )?;
        let hasher = Arc::new(Hasher::new(
            settings.bcrypt_cost,
            settings.limits.hash_queue,
        )?);
        let clock = settings.clock.clone();
        let (limits, shared_limits) = rate_limits(&db, &settings, &clock);
        let throttles = Arc::new(Throttles::new(limits));
        // On PostgreSQL, presence and typing are shared with the other servers on the database.
        let shared_presence = (db.backend() == Backend::Postgres)
            .then(|| Arc::new(SharedPresence::new(clock.clone())));
        let live = Arc::new(match &shared_presence {
            Some(shared) => Live::with_presence(shared.clone(), &clock, settings.room_tails),
            None => Live::in_memory(&clock, settings.room_tails),
        });
        // On PostgreSQL, servers signal their writes to each other, to wake catch-up early.
        let wake = (db.backend() == Backend::Postgres).then(|| Arc::new(Notify::new()));
        let signals = match &wake {
            Some(wake) => Signals::start(db.url(), wake).context("cannot start the signals")?,
            None => Signals::none(),
        };
        let chat = Arc::new(Chat::start(
            db.clone(),
            live.clone(),
            throttles.clone(),
            signals,
            settings.limits.attachment_max_bytes,
        )?);
        chat.warm_up(WARM_ROOMS.min(settings.room_tails))
            .await
            .map_err(|err| anyhow::anyhow!("cannot load the rooms: {err}"))?;
        let sessions: Arc<dyn SessionCache> = Arc::new(MemorySessionCache::default());
        // Read up to the newest revocation before loading the sessions, so that the follower
        // goes on from there (and the cache may answer from the start).
        let mut revocations = RevocationCursor::default();
        session_store::follow_revocations(&db, &*sessions, &mut revocations)
            .await
            .map_err(|err| anyhow::anyhow!("cannot read the revocations: {err}"))?;
        session_store::warm_up(&*sessions, &db, &*clock)
            .await
            .map_err(|err| anyhow::anyhow!("cannot load the sessions: {err}"))?;
        let trusted_proxy = web::Data::new(TrustedProxy {
            address: settings.trusted_proxy,
            unix_socket: unix_socket(&settings.bind).is_some(),
        });
        let public_url = settings.public_url.clone().map(Arc::new);
        let public_origin = settings.public_url.as_ref().map(|u| u.origin().to_owned());
        let link_origin = web::Data::new(LinkOrigin(settings.public_url.clone()));
        let form_tokens = web::Data::new(FormTokens::new(
            &settings.cookie_key,
            settings.secure_cookies,
            clock.clone(),
        ));
        let session_times = SessionTimes {
            idle: settings.session_idle,
            clock: clock.clone(),
        };
        let accounts = Arc::new(Accounts::new(
            db.clone(),
            hasher,
            throttles.clone(),
            sessions.clone(),
            session_times.clone(),
            live.clone(),
        ));
        let admin = web::Data::new(Admin::new(db.clone(), chat.clone(), accounts.clone()));
        let push = web::Data::new(Push::start(db.clone(), settings.push_insecure_loopback).await?);
        let push_worker = PushWorker::new(
            db.clone(),
            push.vapid(),
            live.clone(),
            throttles.clone(),
            clock.clone(),
            settings.public_url.as_ref().map(|u| u.origin()),
        )?;
        let outgoing_worker = OutgoingWorker::new(db.clone(), chat.clone())?;
        let chat = web::Data::from(chat);
        let accounts_in_app = web::Data::from(accounts.clone());

        let bind = settings.bind.clone();
        let time_limits = (
            settings.limits.request_timeout,
            settings.limits.upload_timeout(),
        );
        let panic_route = settings.panic_route;
        let sessions_in_background = sessions.clone();
        let cookie_memo = Arc::new(CookieMemo::default());
        let db_in_app = db.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(db_in_app.clone()))
                .app_data(chat.clone())
                .app_data(accounts_in_app.clone())
                .app_data(admin.clone())
                .app_data(push.clone())
                .app_data(trusted_proxy.clone())
                .app_data(link_origin.clone())
                .app_data(form_tokens.clone())
                .app_data(web::FormConfig::default().limit(BODY_LIMIT))
                .app_data(json_config())
                .wrap(from_fn(middleware::catch_panics))
                .wrap(from_fn(csrf_guard::protect))
                .wrap(from_fn(move |req, next| {
                    middleware::time_limit(time_limits, req, next)
                }))
                .wrap(from_fn(middleware::render_errors))
                .wrap(session_middleware(
                    &settings,
                    db_in_app.clone(),
                    session_times.clone(),
                    sessions.clone(),
                    cookie_memo.clone(),
                ))
                .wrap(from_fn({
                    let db = db_in_app.clone();
                    move |req, next| middleware::database_down(db.clone(), req, next)
                }))
                // Only with a public URL: without one, no request pays for the layer.
                .wrap(Condition::new(
                    public_url.is_some(),
                    from_fn({
                        let public_url = public_url.clone();
                        move |req, next| middleware::expected_host(public_url.clone(), req, next)
                    }),
                ))
                .wrap(middleware::security_headers())
                .wrap(from_fn(middleware::access_log))
                .configure(|cfg| routes(cfg, panic_route, db_in_app.faults()))
        })
        .worker_max_blocking_threads(crate::blocking::THREADS)
        // An idle connection is kept longer than nginx keeps its idle connections to us
        // (deploy/nginx.conf: 60 s), so that nginx never sends a request down one we have just
        // closed: it does not retry a POST, which would get 502. actix-web's default, 5 s, also
        // closed a client's connection under a POST made after a pause (the upload tests met
        // it while they drew a picture).
        .keep_alive(KEEP_ALIVE)
        // Room for every open page to reconnect at once after a restart: a connection that
        // finds the queue full waits a whole second to try again.
        .backlog(LISTEN_BACKLOG);
        let (server, addr) = match unix_socket(&bind) {
            Some(path) => {
                let listener = bind_unix_socket(path)
                    .with_context(|| format!("cannot listen on {}", path.display()))?;
                (server.listen_uds(listener)?, None)
            }
            None => {
                let server = server
                    .bind(&bind)
                    .with_context(|| format!("cannot listen on {bind}"))?;
                let addr = *server
                    .addrs()
                    .first()
                    .with_context(|| format!("{bind} names no address"))?;
                (server, Some(addr))
            }
        };
        let addrs = server.addrs();
        let server = server.run();
        match unix_socket(&bind) {
            Some(path) => log::info!("listening on unix:{}", path.display()),
            None => {
                for addr in addrs {
                    log::info!("listening on http://{addr}");
                }
            }
        }
        // Where a browser reaches this server, as the operator would type it.
        let origin = match (public_origin, addr) {
            (Some(public), _) => public,
            (None, Some(addr)) if addr.ip().is_unspecified() => {
                format!("http://localhost:{}", addr.port())
            }
            (None, Some(addr)) => format!("http://{addr}"),
            // Behind a proxy on a unix socket, with no public URL: the proxy's address.
            (None, None) => "http://<this server's address>".to_owned(),
        };
        let setup_token = announce_setup(&accounts, &origin).await?;
        let mut tasks = vec![
            spawn_revocation_follower(db.clone(), sessions_in_background.clone(), revocations),
            spawn_session_sweeper(db.clone(), sessions_in_background, clock),
            background::spawn_read_mark_writer(db.clone(), live.clone()),
            background::spawn_catch_up(db.clone(), live.clone(), wake.clone()),
            push_worker.spawn(),
            outgoing_worker.spawn(),
        ];
        if let Some(shared) = shared_presence {
            tasks.push(background::spawn_presence_sync(db.clone(), shared));
        }
        if let Some(shared) = shared_limits {
            tasks.push(background::every(Duration::from_secs(3600), move || {
                let shared = shared.clone();
                async move { shared.purge().await }
            }));
        }
        Ok(Self {
            addr,
            server,
            db,
            live,
            tasks,
            setup_token,
        })
    }

    /// The TCP port it listens on (0 on a unix socket).
    pub fn port(&self) -> u16 {
        self.addr.map_or(0, |addr| addr.port())
    }

    /// The token of the setup link this server printed at start, if it did.
    pub fn setup_token(&self) -> Option<&str> {
        self.setup_token.as_deref()
    }

    /// Stops the server from another task (`stop(true)` finishes the requests in flight).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until Ctrl+C, SIGTERM or `handle().stop(..)`, then finishes the requests in
    /// flight. The read marks still in memory are written last.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        for task in &self.tasks {
            task.abort();
        }
        background::save_all_read_marks(&self.db, &self.live).await;
        served
    }
}

/// The path in `--bind unix:PATH`, if the server is to listen on a unix socket.
pub fn unix_socket(bind: &str) -> Option<&Path> {
    bind.strip_prefix("unix:").map(Path::new)
}

/// Listens on a unix socket at `path`, readable and writable by its owner and group only
/// (nginx's group, say). A socket left by a server that is gone is replaced; anything else
/// in the way, a live server's socket or a file, is an error rather than deleted.
fn bind_unix_socket(path: &Path) -> anyhow::Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    use std::os::unix::net::{UnixListener, UnixStream};

    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            anyhow::bail!("{} exists and is not a socket", path.display())
        }
        Ok(_) if UnixStream::connect(path).is_ok() => {
            anyhow::bail!("another server listens on {}", path.display())
        }
        Ok(_) => std::fs::remove_file(path)?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err.into()),
    }
    // Bound where only this user may enter, given its mode, and only then moved into place:
    // a socket listens from the moment it is bound, and one that any local process could
    // reach even briefly would let it name its own client address.
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let private = parent.join(format!(".bind{}", std::process::id()));
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&private)?;
    let draft = private.join("s");
    let bound = UnixListener::bind(&draft).and_then(|listener| {
        std::fs::set_permissions(&draft, std::fs::Permissions::from_mode(0o660))?;
        std::fs::rename(&draft, path)?;
        Ok(listener)
    });
    let _ = std::fs::remove_file(&draft);
    let _ = std::fs::remove_dir(&private);
    Ok(bound?)
}

/// How long an idle connection stays open (see `keep_alive` above).
const KEEP_ALIVE: Duration = Duration::from_secs(75);

/// The app's map: every route, top to bottom.
fn routes(cfg: &mut web::ServiceConfig, panic_route: bool, faults: &Arc<Faults>) {
    // Answered at once, with no async state or clone of its own: it is the cheapest request,
    // and the poll-cost guard measures polls against it.
    let faults = faults.clone();
    let healthz = move || std::future::ready(assets::healthz(&faults));
    cfg.route("/healthz", web::get().to(healthz))
        // JSON API (first: every open page polls it once a second)
        .service(
            web::resource("/api/rooms/{id}/messages")
                .get(api::log)
                .post(api::post_message),
        )
        .service(
            web::resource("/api/rooms/{id}/messages/{message}")
                .patch(api::edit_message)
                .delete(api::delete_message),
        )
        .route(
            "/api/rooms/{id}/messages/{message}/reactions",
            web::post().to(api::react),
        )
        .route(
            "/api/rooms/{id}/messages/{message}/reactions/{emoji}",
            web::delete().to(api::unreact),
        )
        .route("/api/lobby", web::get().to(api::lobby))
        .route("/api/search", web::get().to(api::search))
        .service(
            web::resource("/api/rooms")
                .get(api::lobby)
                .post(api::create_room),
        )
        .route(
            "/api/rooms/{id}/attachments",
            web::post().to(attachments::upload),
        )
        .route("/api/rooms/{id}", web::delete().to(api::delete_room))
        .route("/api/rooms/{id}/enter", web::post().to(api::enter_room))
        .route("/api/rooms/{id}/leave", web::post().to(api::leave_room))
        .route(
            "/api/rooms/{id}/notifications",
            web::put().to(api::set_notifications),
        )
        .service(
            web::resource("/api/rooms/{id}/webhooks")
                .get(webhooks::api_list)
                .post(webhooks::api_create),
        )
        .route(
            "/api/rooms/{id}/webhooks/{hook}",
            web::delete().to(webhooks::api_revoke),
        )
        .route("/api/push/key", web::get().to(push_routes::key))
        .service(
            web::resource("/api/push/subscriptions")
                .post(push_routes::subscribe)
                .delete(push_routes::unsubscribe),
        )
        .route("/api/users", web::post().to(api_account::register))
        // An account's API tokens: for its logged-in session only, never for a token.
        .service(
            web::resource("/api/account/tokens")
                .get(api_account::tokens)
                .post(api_account::create_token),
        )
        .route(
            "/api/account/tokens/{id}",
            web::delete().to(api_account::revoke_token),
        )
        .route("/api/admin/users", web::get().to(admin::api_users))
        .route(
            "/api/admin/users/{id}/disable",
            web::post().to(admin::api_disable),
        )
        .route(
            "/api/admin/users/{id}/enable",
            web::post().to(admin::api_enable),
        )
        .route("/api/admin/rooms", web::get().to(admin::api_rooms))
        .route(
            "/api/admin/rooms/{id}",
            web::delete().to(admin::api_delete_room),
        )
        .service(
            web::resource("/api/session")
                .post(api_account::log_in)
                .delete(api_account::log_out),
        )
        // Incoming webhooks: the key in the URL is the credential (no session, no CSRF token).
        .route("/hooks/{key}", web::post().to(webhooks::post))
        // Pages
        // Files in messages, for whoever may read their room.
        .route("/attachments/{id}", web::get().to(attachments::download))
        .route(
            "/attachments/{id}/thumbnail",
            web::get().to(attachments::thumbnail),
        )
        .route("/static/{name}", web::get().to(assets::asset))
        .route("/manifest.webmanifest", web::get().to(assets::manifest))
        .route("/sw.js", web::get().to(assets::service_worker))
        .route("/offline", web::get().to(assets::offline))
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
            "/account/password",
            web::post().to(account::change_password),
        )
        .route(
            "/account/sessions/{id}/end",
            web::post().to(account::end_session),
        )
        .route(
            "/account/logout-everywhere",
            web::post().to(account::logout_everywhere),
        )
        .route("/account/tokens", web::post().to(account::create_token))
        .route(
            "/account/tokens/{id}/revoke",
            web::post().to(account::revoke_token),
        )
        .route("/lobby", web::get().to(lobby::lobby))
        .route("/search", web::get().to(search::page))
        .route("/rooms", web::post().to(lobby::create_room))
        .route("/rooms/{id}", web::get().to(room::show))
        .route("/rooms/{id}/enter", web::post().to(room::enter))
        .route("/rooms/{id}/leave", web::post().to(room::leave))
        .route("/rooms/{id}/delete", web::post().to(room::delete))
        .route("/rooms/{id}/webhooks", web::post().to(webhooks::create))
        .route(
            "/rooms/{id}/webhooks/{hook}/revoke",
            web::post().to(webhooks::revoke),
        )
        .route("/direct", web::post().to(room::direct))
        // Administration (404 for anyone but an administrator)
        .route("/admin", web::get().to(admin::page))
        .route(
            "/admin/registration",
            web::post().to(admin::set_registration),
        )
        .route("/admin/invitations", web::post().to(admin::invite))
        .route(
            "/admin/invitations/{id}/withdraw",
            web::post().to(admin::withdraw),
        )
        .route("/admin/users", web::get().to(admin::users))
        .route("/admin/users/{id}/disable", web::post().to(admin::disable))
        .route("/admin/users/{id}/enable", web::post().to(admin::enable))
        .route("/admin/rooms", web::get().to(admin::rooms))
        .service(
            web::resource("/admin/bots")
                .get(bots::page)
                .post(bots::create),
        )
        .route(
            "/admin/bots/{id}/webhook",
            web::post().to(bots::set_webhook),
        )
        .route("/admin/bots/{id}/delete", web::post().to(bots::delete))
        .route(
            "/admin/rooms/{id}/delete",
            web::post().to(admin::delete_room),
        )
        .default_service(web::to(routes::not_found));
    if panic_route {
        cfg.route("/__panic", web::get().to(routes::panic));
    }
}

/// actix-session's middleware on the sessions table, behind the polls' shortcut past it.
fn session_middleware(
    settings: &Settings,
    db: Db,
    times: SessionTimes,
    cache: Arc<dyn SessionCache>,
    memo: Arc<CookieMemo>,
) -> SessionShortcut<SessionMiddleware<DbSessionStore>> {
    let name = session_cookie(settings.secure_cookies);
    let shortcut = Shortcut::new(
        name,
        settings.cookie_key.clone(),
        memo,
        DbSessionStore::new(db.clone(), times.clone(), cache.clone()),
    );
    let lifetime = CookieDuration::seconds(
        i64::try_from(settings.session_lifetime.as_secs()).unwrap_or(i64::MAX),
    );
    let sessions = SessionMiddleware::builder(
        DbSessionStore::new(db, times, cache),
        settings.cookie_key.clone(),
    )
    .cookie_name(name.to_owned())
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
    .build();
    SessionShortcut::new(sessions, shortcut)
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

/// Where the rate limits count: in memory on SQLite, where one server runs; on PostgreSQL
/// in the database, shared by every server on it (also returned, for its hourly sweep).
fn rate_limits(
    db: &Db,
    settings: &Settings,
    clock: &Arc<dyn Clock>,
) -> (Arc<dyn RateLimits>, Option<Arc<SharedLimits>>) {
    match db.backend() {
        Backend::Sqlite => (Arc::new(MemoryLimits::new(&settings.limits, clock)), None),
        Backend::Postgres => {
            let shared = Arc::new(SharedLimits::new(db.clone(), &settings.limits, clock));
            (shared.clone(), Some(shared))
        }
    }
}

/// Forgets the cached sessions that ended elsewhere (see `session_store::follow_revocations`),
/// going on from where `cursor` got to.
fn spawn_revocation_follower(
    db: Db,
    cache: Arc<dyn SessionCache>,
    cursor: RevocationCursor,
) -> JoinHandle<()> {
    let cursor = Arc::new(tokio::sync::Mutex::new(cursor));
    background::every(session_store::FOLLOW_REVOCATIONS_EVERY, move || {
        let (db, cache, cursor) = (db.clone(), cache.clone(), cursor.clone());
        async move {
            let mut cursor = cursor.lock().await;
            match session_store::follow_revocations(&db, &*cache, &mut cursor).await {
                // A storage fault is reported where it was met, once a minute.
                Err(err) if err.storage_fault().is_none() => {
                    log::warn!("cannot read the ended sessions: {err}");
                }
                _ => {}
            }
        }
    })
}

/// Deletes expired sessions every hour.
fn spawn_session_sweeper(
    db: Db,
    cache: Arc<dyn SessionCache>,
    clock: Arc<dyn Clock>,
) -> JoinHandle<()> {
    background::every(Duration::from_secs(3600), move || {
        let (db, cache, clock) = (db.clone(), cache.clone(), clock.clone());
        async move {
            match session_store::purge_expired(&db, &*cache, clock.unix_secs()).await {
                Ok(0) => {}
                Ok(n) => log::info!("removed {n} expired sessions"),
                Err(err) => log::warn!("cannot remove expired sessions: {err}"),
            }
        }
    })
}
