//! The account page: who you are, and logging out of every session at once.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::see_other;
use crate::auth::client_addr::ClientAddr;
use crate::auth::session_store::SessionCache;
use crate::auth::{self, CurrentUser};
use crate::db::Db;
use crate::errors::AppError;
use crate::live::Live;
use crate::models::session::SessionRow;
use crate::templates::{AccountPage, Layout, render};

pub async fn page(_user: CurrentUser, session: Session) -> Result<HttpResponse, AppError> {
    let page = AccountPage {
        layout: Layout::from_session(&session),
    };
    render(&page, StatusCode::OK)
}

/// Revokes every session of the user, this one included.
pub async fn logout_everywhere(
    user: CurrentUser,
    client: ClientAddr,
    db: web::Data<Db>,
    live: web::Data<Live>,
    sessions: web::Data<SessionCache>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let user_id = user.id;
    let revoked = db
        .run(move |conn| Ok(SessionRow::delete_for_user(conn, user_id)?))
        .await?;
    sessions.revoke_user(user.id);
    live.presence.logged_out(user.id);
    log::info!(
        "{} logged out everywhere ({revoked} sessions) from {client}",
        user.username
    );
    auth::log_out(&session);
    Ok(see_other("/login"))
}
