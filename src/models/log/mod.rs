//! The log_entries table: each room's one ordered log of messages and events.
//!
//! Every change a poller must see (a message, someone joining or leaving, a message edited,
//! reacted to or deleted) is a new entry with the room's next number (`seq`: 1, 2, 3, ...
//! within the room), so one cursor (`after=<last seq>`) sees them all, in one order, and never
//! an entry above one already shown. A message read at any time comes in its current state
//! (`context`); the entries after it that changed it can be applied again without harm, which
//! is how every poller, whatever its cursor, ends in the same state. The number is taken from the room's row inside the write's transaction
//! (`numbering`): the row's lock orders writers, so numbers commit in order and a room's
//! log has no holes.

mod backfill;
mod change;
mod context;
mod numbering;
mod read;
mod search;
mod write;

pub use change::MAX_REACTIONS;
pub use read::OLDER_PAGE;
pub use search::{AROUND, RoomRef, SEARCH_TIME_LIMIT, SearchHit, SearchScope};
pub use write::NewPost;
