//! The search page: a form, and the messages the reader may read that match it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError, web};
use serde::Deserialize;

use super::shell::Shell;
use crate::auth::CurrentUser;
use crate::chat::{Chat, Found};
use crate::domain::{Search, SearchQuery};
use crate::errors::AppError;
use crate::templates::{SearchPage, render};

#[derive(Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    /// Narrows the search to one room.
    room: Option<String>,
    /// The cursor of the next page (a result page's `next`).
    before: Option<String>,
}

/// GET /search: without `q`, the form; with it, the results, newest first, each a link into
/// its room at that message. A refused search (too short, too long, too many, a bad cursor)
/// comes back in the form with what was typed, the reason and the refusal's status.
pub async fn page(
    user: CurrentUser,
    params: web::Query<SearchParams>,
    chat: web::Data<Chat>,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    let SearchParams { q, room, before } = params.into_inner();
    let room_id = room.as_deref().and_then(|r| r.parse::<i32>().ok());
    let mut page = SearchPage::new(shell.0, q.clone().unwrap_or_default(), room_id);
    let Some(q) = q else {
        return render(&page, StatusCode::OK);
    };
    match search(&chat, &user, &q, room.as_deref(), before.as_deref()).await {
        Ok((query, found)) => {
            page.found(&query, found);
            render(&page, StatusCode::OK)
        }
        Err(refusal) if refusal.status_code().is_client_error() => {
            page.refused(&refusal);
            let mut answer = render(&page, refusal.status_code())?;
            // A rate limit says when to come back, on this page as in the API.
            if let Some(retry) = refusal.error_response().headers().get(header::RETRY_AFTER) {
                answer
                    .headers_mut()
                    .insert(header::RETRY_AFTER, retry.clone());
            }
            Ok(answer)
        }
        Err(other) => Err(other),
    }
}

async fn search(
    chat: &Chat,
    user: &CurrentUser,
    q: &str,
    room: Option<&str>,
    before: Option<&str>,
) -> Result<(SearchQuery, Found), AppError> {
    let search = Search::parse(q, room, before)?;
    let query = search.query.clone();
    Ok((query, chat.search(user, search).await?))
}
