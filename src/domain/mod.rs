//! Input parsed into types at the edge: inside the app, a `RoomName` is always a valid room name.

mod client_id;
mod file_name;
mod label;
pub mod markdown;
pub mod mention;
mod message_text;
mod name_key;
mod page;
mod password;
mod reaction;
mod registration;
mod room_name;
pub mod search;
pub mod size;
mod username;
mod visible;
mod webhook_url;

pub use client_id::ClientId;
pub use file_name::FileName;
pub use label::Label;
pub use message_text::{EXCERPT_CHARS, MessageText, MessageTextError, excerpt};
pub use name_key::name_key;
pub use page::Page;
pub use password::Password;
pub use reaction::Reaction;
pub use registration::{INVITATION_UNUSABLE, RegistrationMode, SETUP_UNUSABLE};
pub use room_name::RoomName;
pub use search::{Search, SearchQuery, SearchQueryError};
pub use size::human_size;
pub use username::{LoginName, Username};
pub use visible::has_visible;
pub use webhook_url::WebhookUrl;

/// Why a piece of input was refused, in words fit to show the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
