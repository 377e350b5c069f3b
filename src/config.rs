//! Every setting the server runs with: from flags and environment (see cli.rs), with defaults.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::cookie::Key;
use anyhow::Context;

use crate::cli::ServeArgs;

/// Name of the environment variable that may hold the cookie key material.
pub const SECRET_ENV: &str = "CHATROOM_SECRET";

#[derive(Clone)]
pub struct Settings {
    pub bind: String,
    pub database_path: PathBuf,
    pub secure_cookies: bool,
    pub bcrypt_cost: u32,
    pub session_idle: Duration,
    pub session_lifetime: Duration,
    /// Signs and encrypts the session cookie. Stable across restarts, so nobody is logged out.
    pub cookie_key: Key,
}

impl Settings {
    pub fn from_args(args: ServeArgs) -> anyhow::Result<Self> {
        let cookie_key = match std::env::var(SECRET_ENV) {
            Ok(secret) => key_from_secret(&secret)?,
            Err(_) => key_from_file(&secret_path(&args.database.path))?,
        };
        Ok(Self {
            bind: args.bind,
            database_path: args.database.path,
            secure_cookies: args.secure_cookies,
            bcrypt_cost: args.bcrypt_cost,
            session_idle: Duration::from_secs(args.session_idle_secs),
            session_lifetime: Duration::from_secs(args.session_lifetime_secs),
            cookie_key,
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
fn key_from_file(path: &Path) -> anyhow::Result<Key> {
    match fs::read(path) {
        Ok(bytes) => Key::try_from(bytes.as_slice())
            .ok()
            .with_context(|| format!("{} is not a valid key file", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = Key::generate();
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("cannot create key file {}", path.display()))?;
            file.write_all(key.master())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write key file {}", path.display()))?;
            log::info!("generated a new cookie key in {}", path.display());
            Ok(key)
        }
        Err(err) => Err(err).with_context(|| format!("cannot read key file {}", path.display())),
    }
}
