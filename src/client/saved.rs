//! The remembered login between runs (`--remember`): one JSON file, readable by its owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
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

pub fn save(path: &Path, file: &SavedFile) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot save the session in {}", path.display()))?;
    out.write_all(serde_json::to_string(file)?.as_bytes())?;
    Ok(())
}

/// The saved login, if there is a readable one.
pub fn load(path: &Path) -> Option<SavedFile> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}
