//! Every setting the server runs with: from flags and environment (see cli.rs), with defaults.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Key;
use anyhow::Context;

use crate::cli::{LimitArgs, ServeArgs, defaults};
use crate::clock::{self, Clock};
use crate::db::{Backend, FaultLog, ToLog};

/// The largest request body (form or JSON) the app reads; more gets 413.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Name of the environment variable that may hold the cookie key material.
pub const SECRET_ENV: &str = "CHATROOM_SECRET";

#[derive(Clone)]
pub struct Settings {
    pub bind: String,
    /// A SQLite path or a PostgreSQL URL (see `db::Backend`).
    pub database: String,
    pub secure_cookies: bool,
    pub bcrypt_cost: u32,
    pub session_idle: Duration,
    pub session_lifetime: Duration,
    /// Signs and encrypts the session cookie. Stable across restarts, so nobody is logged out.
    pub cookie_key: Key,
    pub trusted_proxy: Option<IpAddr>,
    /// `--public-url`: the only Host answered, and the origin of links.
    pub public_url: Option<PublicUrl>,
    pub limits: Limits,
    /// Adds GET /__panic, a handler that panics: for the tests that prove a panic is contained.
    /// No flag turns it on.
    pub panic_route: bool,
    /// The system's clocks; tests may set one they move by hand.
    pub clock: Arc<dyn Clock>,
    /// How many rooms keep their latest entries in memory (`live::TAILS`); tests lower it to
    /// see eviction. No flag sets it.
    pub room_tails: usize,
    /// Where storage faults are reported (the log); tests keep the reports to read them.
    pub fault_log: Arc<dyn FaultLog>,
    /// The most pages a SQLite database may grow to (`PRAGMA max_page_count` on every
    /// connection): tests fill it as a disk fills. No flag sets it.
    pub max_database_pages: Option<u32>,
    /// `--push-insecure-loopback`: web push endpoints may also be http://127.0.0.1:PORT
    /// (tests' local receivers); otherwise https only.
    pub push_insecure_loopback: bool,
}

#[derive(Clone, Debug)]
pub struct Limits {
    pub login_user: u32,
    pub login_address: u32,
    pub login_window: Duration,
    pub registrations: u32,
    pub registrations_window: Duration,
    /// Password hashes and checks waiting or running at once; more are refused with 503.
    pub hash_queue: usize,
    pub messages: u32,
    pub messages_window: Duration,
    pub rooms: u32,
    pub rooms_window: Duration,
    pub searches: u32,
    pub searches_window: Duration,
    pub request_timeout: Duration,
    /// The largest file one upload may carry, in bytes.
    pub attachment_max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            login_user: defaults::LOGIN_USER_LIMIT,
            login_address: defaults::LOGIN_ADDRESS_LIMIT,
            login_window: Duration::from_secs(defaults::LOGIN_WINDOW_SECS),
            registrations: defaults::REGISTRATION_LIMIT,
            registrations_window: Duration::from_secs(defaults::REGISTRATION_WINDOW_SECS),
            hash_queue: defaults::HASH_QUEUE_LIMIT,
            messages: defaults::MESSAGE_LIMIT,
            messages_window: Duration::from_secs(defaults::MESSAGE_WINDOW_SECS),
            rooms: defaults::ROOM_LIMIT,
            rooms_window: Duration::from_secs(defaults::ROOM_WINDOW_SECS),
            searches: defaults::SEARCH_LIMIT,
            searches_window: Duration::from_secs(defaults::SEARCH_WINDOW_SECS),
            request_timeout: Duration::from_secs(defaults::REQUEST_TIMEOUT_SECS),
            attachment_max_bytes: defaults::ATTACHMENT_MAX_BYTES as usize,
        }
    }
}

impl Limits {
    /// How long an upload may take: the request timeout, plus a second for every 32 KiB of
    /// the largest file (a 256 kbit/s connection). 10 MiB: 30 s + 320 s.
    pub fn upload_timeout(&self) -> Duration {
        let slowest = 32 * 1024;
        self.request_timeout + Duration::from_secs((self.attachment_max_bytes / slowest) as u64)
    }
}

impl From<LimitArgs> for Limits {
    fn from(args: LimitArgs) -> Self {
        Self {
            login_user: args.login_user_limit,
            login_address: args.login_address_limit,
            login_window: Duration::from_secs(args.login_window_secs),
            registrations: args.registration_limit,
            registrations_window: Duration::from_secs(args.registration_window_secs),
            hash_queue: args.hash_queue_limit,
            messages: args.message_limit,
            messages_window: Duration::from_secs(args.message_window_secs),
            rooms: args.room_limit,
            rooms_window: Duration::from_secs(args.room_window_secs),
            searches: args.search_limit,
            searches_window: Duration::from_secs(args.search_window_secs),
            request_timeout: Duration::from_secs(args.request_timeout_secs),
            attachment_max_bytes: usize::try_from(args.attachment_max_bytes).unwrap_or(usize::MAX),
        }
    }
}

impl Settings {
    /// The defaults, for this database and key.
    pub fn new(database: impl Into<String>, cookie_key: Key) -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            database: database.into(),
            secure_cookies: false,
            bcrypt_cost: defaults::BCRYPT_COST,
            session_idle: Duration::from_secs(defaults::SESSION_IDLE_SECS),
            session_lifetime: Duration::from_secs(defaults::SESSION_LIFETIME_SECS),
            cookie_key,
            trusted_proxy: None,
            public_url: None,
            limits: Limits::default(),
            panic_route: false,
            clock: clock::system(),
            room_tails: crate::live::TAILS,
            fault_log: Arc::new(ToLog),
            max_database_pages: None,
            push_insecure_loopback: false,
        }
    }

    pub fn from_args(args: ServeArgs) -> anyhow::Result<Self> {
        let database = args.database.url;
        let cookie_key = match (std::env::var(SECRET_ENV), Backend::of(&database)) {
            (Ok(secret), _) => key_from_secret(&secret)?,
            (Err(_), Backend::Sqlite) => key_from_file(&secret_path(Path::new(&database)))?,
            // A key file kept beside a database on another host would be a guess at where
            // that is; and every server on one database must share the key.
            (Err(_), Backend::Postgres) => anyhow::bail!(
                "{SECRET_ENV} must be set (at least 32 bytes) when the database is PostgreSQL: \
                 the session cookies' key cannot live beside the database"
            ),
        };
        Ok(Self {
            bind: args.bind,
            secure_cookies: args.secure_cookies,
            bcrypt_cost: args.bcrypt_cost,
            session_idle: Duration::from_secs(args.session_idle_secs),
            session_lifetime: Duration::from_secs(args.session_lifetime_secs),
            trusted_proxy: args.trusted_proxy,
            public_url: args
                .public_url
                .as_deref()
                .map(PublicUrl::parse)
                .transpose()
                .context("--public-url (CHATROOM_PUBLIC_URL)")?,
            limits: args.limits.into(),
            push_insecure_loopback: args.push_insecure_loopback,
            ..Self::new(database, cookie_key)
        })
    }
}

/// The address people reach the server at (`--public-url`): an http or https origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl {
    /// `https://chat.example` or `http://127.0.0.1:8080`: no default port, no slash.
    origin: String,
    /// What a browser sends as Host for it: `chat.example`, `127.0.0.1:8080`.
    host: String,
    /// The scheme's own port, which a client may also write out.
    default_port: u16,
}

impl PublicUrl {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(text).with_context(|| format!("{text:?} is not a URL"))?;
        let default_port = match url.scheme() {
            "http" => 80,
            "https" => 443,
            other => anyhow::bail!("{text:?}: the scheme must be http or https, not {other}"),
        };
        let host = url
            .host_str()
            .with_context(|| format!("{text:?} names no host"))?;
        anyhow::ensure!(
            url.username().is_empty() && url.password().is_none(),
            "{text:?}: no user or password in the public URL"
        );
        anyhow::ensure!(
            url.path() == "/" && url.query().is_none() && url.fragment().is_none(),
            "{text:?}: the public URL is an origin only (the server is served from its root)"
        );
        // `port()` is None for the scheme's own port, as browsers leave it out of Host.
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(Self {
            origin: format!("{}://{host}", url.scheme()),
            host,
            default_port,
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether a request's Host names this address: the same host in any letter case, and
    /// the same port (the scheme's own may be written out or left out).
    pub fn accepts(&self, host: &str) -> bool {
        if host.eq_ignore_ascii_case(&self.host) {
            return true;
        }
        host.rsplit_once(':').is_some_and(|(name, port)| {
            name.eq_ignore_ascii_case(&self.host) && port.parse() == Ok(self.default_port)
        })
    }
}

fn key_from_secret(secret: &str) -> anyhow::Result<Key> {
    anyhow::ensure!(
        secret.len() >= 32,
        "{SECRET_ENV} must be at least 32 bytes long"
    );
    Ok(Key::derive_from(secret.as_bytes()))
}

/// The key file lives beside the database: `chat.db` keeps its key in `chat.db.key`.
pub fn secret_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Reads the key file, or creates it (readable by the owner only) on first start.
///
/// Several servers may start at once on a new database: the key is written whole to a draft
/// of this start's own, then linked into place, which fails if another server got there
/// first. Whoever loses reads the winner's key, so no server ever reads half a file.
fn key_from_file(path: &Path) -> anyhow::Result<Key> {
    match read_key(path)? {
        Some(key) => Ok(key),
        None => {
            let key = Key::generate();
            let draft = draft_path(path);
            if let Err(err) = write_key(&draft, &key) {
                let _ = fs::remove_file(&draft);
                return Err(err)
                    .with_context(|| format!("cannot write key file {}", draft.display()));
            }
            let linked = fs::hard_link(&draft, path);
            // The draft was only a step on the way, whether or not it got there.
            let _ = fs::remove_file(&draft);
            match linked {
                Ok(()) => {
                    log::info!("generated a new cookie key in {}", path.display());
                    Ok(key)
                }
                // Another server's key got there first: it is whole, and it is the one.
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => read_key(path)?
                    .with_context(|| {
                        format!(
                            "cannot create key file {}: something is in the way (a broken link?)",
                            path.display()
                        )
                    }),
                Err(err) => {
                    Err(err).with_context(|| format!("cannot create key file {}", path.display()))
                }
            }
        }
    }
}

/// The key in the file, or None if there is no file.
fn read_key(path: &Path) -> anyhow::Result<Option<Key>> {
    match fs::read(path) {
        Ok(bytes) => Key::try_from(bytes.as_slice())
            .ok()
            .map(Some)
            .with_context(|| format!("{} is not a valid key file", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read key file {}", path.display())),
    }
}

/// A name beside the key file that no other start uses: this process's id, and a count of
/// the drafts it made.
fn draft_path(path: &Path) -> PathBuf {
    static DRAFTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = DRAFTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut draft = path.as_os_str().to_owned();
    draft.push(format!(".{}-{n}.draft", std::process::id()));
    PathBuf::from(draft)
}

fn write_key(path: &Path, key: &Key) -> std::io::Result<()> {
    // A draft of the same name can only be left from a crashed start of long ago.
    let _ = fs::remove_file(path);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key.master())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Barrier;

    use super::*;

    #[test]
    fn a_public_url_is_an_origin_whose_host_is_matched_as_browsers_send_it() {
        let url = PublicUrl::parse("https://Chat.Example/").unwrap();
        assert_eq!(url.origin(), "https://chat.example");
        assert!(url.accepts("chat.example"));
        assert!(url.accepts("CHAT.example:443"));
        assert!(!url.accepts("chat.example:8443"));
        assert!(!url.accepts("evil.example"));
        assert!(!url.accepts("chat.example.evil.example"));
        let url = PublicUrl::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(url.origin(), "http://127.0.0.1:8080");
        assert!(url.accepts("127.0.0.1:8080"));
        assert!(!url.accepts("127.0.0.1"));
        assert!(!url.accepts("localhost:8080"));
        let url = PublicUrl::parse("http://[::1]:8080").unwrap();
        assert!(url.accepts("[::1]:8080"));
        for wrong in [
            "chat.example",
            "ftp://chat.example",
            "https://chat.example/chat",
            "https://chat.example/?a=1",
            "https://user:pw@chat.example",
        ] {
            assert!(PublicUrl::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn servers_starting_at_once_share_one_whole_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db.key");
        let barrier = Barrier::new(8);
        let keys: Vec<Key> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        key_from_file(&path).unwrap()
                    })
                })
                .collect();
            starts.into_iter().map(|s| s.join().unwrap()).collect()
        });
        let on_disk = fs::read(&path).unwrap();
        for key in &keys {
            assert_eq!(key.master(), on_disk.as_slice());
        }
        let files: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "no drafts are left behind: {files:?}");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_broken_link_in_the_key_files_place_is_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db.key");
        std::os::unix::fs::symlink(dir.path().join("unmounted/key"), &path).unwrap();
        let Err(err) = key_from_file(&path) else {
            panic!("a key came out of a broken link");
        };
        assert!(
            format!("{err:#}").contains("something is in the way"),
            "{err:#}"
        );
        let files: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "no drafts are left behind: {files:?}");
    }
}
