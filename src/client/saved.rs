//! The remembered login between runs (`--remember`): one JSON file, readable by its owner only.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

use super::api::SavedSession;

/// What the file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedFile {
    pub session: SavedSession,
    pub user_id: i32,
}

/// ~/.config/chatroom/session.json (or under $XDG_CONFIG_HOME).
pub fn default_path() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("chatroom").join("session.json"))
}

/// Writes the file whole or not at all, readable by its owner only, in a folder only its owner
/// can enter: a temporary file beside it, made 0600 before anything is in it, synced, then
/// renamed over the old one. A file or folder left readable by an older client, a copy or a
/// restore gets its modes back at every save, not only when it is new.
pub fn save(path: &Path, file: &SavedFile) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let written = write_replacing(dir, path, serde_json::to_string(file)?.as_bytes());
    written.with_context(|| format!("cannot save the session in {}", path.display()))
}

fn write_replacing(dir: &Path, path: &Path, contents: &[u8]) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(0o700))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let suffix = Alphanumeric.sample_string(&mut rand::rng(), 12);
    let temporary = dir.join(format!(".{name}.{suffix}.tmp"));
    let written = (|| {
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        // The umask can only take bits away; this makes it 0600 exactly, whatever it is.
        out.set_permissions(Permissions::from_mode(0o600))?;
        out.write_all(contents)?;
        out.sync_all()?;
        std::fs::rename(&temporary, path)?;
        // The rename itself outlives a crash only once the folder is synced.
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The saved login, if there is a readable one.
pub fn load(path: &Path) -> Option<SavedFile> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}
