//! The account page: who you are, and logging out of every session at once.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::see_other;
use crate::auth::client_addr::ClientAddr;
use crate::auth::session_store::SessionCache;
use crate::auth::{CurrentUser, accounts};
use crate::chat::Chat;
use crate::db::Db;
use crate::errors::AppError;
use crate::templates::{AccountPage, Layout, render};

pub async fn page(_user: CurrentUser, session: Session) -> Result<HttpResponse, AppError> {
    let page = AccountPage {
        layout: Layout::from_session(&session),
    };
    render(&page, StatusCode::OK)
}

/// POST /account/logout-everywhere: revokes every session of the user, this one included.
pub async fn logout_everywhere(
    user: CurrentUser,
    client: ClientAddr,
    db: web::Data<Db>,
    sessions: web::Data<dyn SessionCache>,
    chat: web::Data<Chat>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    accounts::log_out_everywhere(&session, &user, client, &db, &**sessions).await?;
    chat.logged_out(user.id).await;
    Ok(see_other("/login"))
}
