//! The log_entries table: each room's one ordered log of messages and events.
//!
//! Every change a poller must see (a message, someone joining or leaving, a message deleted)
//! is a new entry with the room's next number (`seq`: 1, 2, 3, ... within the room), so one
//! cursor (`after=<last seq>`) sees them all, in one order, and never an entry above one
//! already shown. The number is taken from the room's row inside the write's transaction
//! (`numbering`): the row's lock orders writers, so numbers commit in order and a room's
//! log has no holes.

mod numbering;
mod read;
mod write;

pub use read::OLDER_PAGE;
pub use write::NewPost;
