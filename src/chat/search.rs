//! Searching the messages someone may read, and opening a room at one of them.

use crate::auth::CurrentUser;
use crate::domain::SearchQuery;
use crate::errors::AppError;
use crate::models::{LogEntry, SEARCH_TIME_LIMIT, SearchHit, SearchScope};

use super::Chat;

/// The most results one page of a search holds.
pub const SEARCH_PAGE: usize = 50;

/// One page of a search's results, newest first.
pub struct Found {
    pub hits: Vec<SearchHit>,
    /// Where the next page starts (`before=`), if there are more.
    pub next: Option<i64>,
}

impl Chat {
    /// The messages `user` may read (public rooms and their own direct conversations) that
    /// hold every term of the query, newest first, a page at a time; `room` narrows to one
    /// room, `before` is the previous page's `next`. Counts against the user's search limit.
    pub async fn search(
        &self,
        user: &CurrentUser,
        query: SearchQuery,
        room: Option<i32>,
        before: Option<i64>,
    ) -> Result<Found, AppError> {
        self.throttles
            .search(user.id)
            .await
            .map_err(AppError::TooManyRequests)?;
        let reader = user.id;
        // One more than a page: whether it comes says whether there is a next page.
        let scope = SearchScope {
            room,
            before,
            limit: SEARCH_PAGE as i64 + 1,
            time_limit: SEARCH_TIME_LIMIT,
        };
        let mut hits = self
            .db
            .run(move |conn| Ok(LogEntry::search(conn, reader, &query, scope)?))
            .await?;
        let more = hits.len() > SEARCH_PAGE;
        hits.truncate(SEARCH_PAGE);
        let next = more.then(|| hits.last().map(|h| h.cursor)).flatten();
        Ok(Found { hits, next })
    }

    /// A member's look at the history around entry `seq` (where a search result opens the
    /// room), oldest first.
    pub async fn around(
        &self,
        user: &CurrentUser,
        room_id: i32,
        seq: i32,
    ) -> Result<Vec<LogEntry>, AppError> {
        let user_id = user.id;
        self.db
            .run(move |conn| Ok(LogEntry::around(conn, room_id, user_id, seq)?))
            .await
    }
}
