//! The account page: who you are, your sessions, changing your password, and logging out of
//! every session at once.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::see_other;
use crate::auth::accounts::{self, PasswordRefused};
use crate::auth::client_addr::{ClientAddr, Device};
use crate::auth::password::Hasher;
use crate::auth::session_store::{SessionCache, SessionTimes};
use crate::auth::{Account, CurrentUser};
use crate::chat::Chat;
use crate::db::Db;
use crate::errors::AppError;
use crate::templates::{AccountPage, Layout, render};
use crate::throttle::Throttles;

#[derive(Deserialize)]
pub struct Notice {
    notice: Option<String>,
}

pub async fn page(
    Account(user): Account,
    query: web::Query<Notice>,
    db: web::Data<Db>,
    times: web::Data<SessionTimes>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let mut page = account_page(&session, &user, &db, &times).await?;
    page.notice = AccountPage::notice(query.notice.as_deref());
    render(&page, StatusCode::OK)
}

async fn account_page(
    session: &Session,
    user: &CurrentUser,
    db: &Db,
    times: &SessionTimes,
) -> Result<AccountPage, AppError> {
    let sessions = accounts::sessions(session, user, db, times).await?;
    Ok(AccountPage::new(Layout::from_session(session), sessions))
}

/// What the change-password form sends.
#[derive(Deserialize)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// POST /account/password: 303 to /account; the form again with 403 for a wrong current
/// password or 400 for a new one the rules refuse.
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    Account(user): Account,
    form: web::Form<PasswordChange>,
    device: Device,
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    throttles: web::Data<Throttles>,
    sessions: web::Data<dyn SessionCache>,
    times: web::Data<SessionTimes>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let PasswordChange {
        current_password,
        new_password,
    } = form.into_inner();
    let outcome = accounts::change_password(
        &session,
        &user,
        current_password,
        new_password,
        &device,
        &db,
        &hasher,
        &throttles,
        &**sessions,
    )
    .await?;
    let (status, why) = match outcome {
        Ok(()) => return Ok(see_other("/account?notice=password")),
        Err(PasswordRefused::WrongPassword) => (
            StatusCode::FORBIDDEN,
            "Your current password is not the one you typed.".to_owned(),
        ),
        Err(PasswordRefused::Invalid(why)) => (StatusCode::BAD_REQUEST, why),
    };
    let mut page = account_page(&session, &user, &db, &times).await?;
    page.password_error = Some(why);
    render(&page, status)
}

/// POST /account/sessions/{id}/end: 303 to /account, or to /login when it was this session.
pub async fn end_session(
    user: CurrentUser,
    public_id: web::Path<String>,
    client: ClientAddr,
    db: web::Data<Db>,
    sessions: web::Data<dyn SessionCache>,
    chat: web::Data<Chat>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let ended = accounts::end_session(
        &session,
        &user,
        public_id.into_inner(),
        client,
        &db,
        &**sessions,
    )
    .await?;
    let was_current = ended.ok_or(AppError::NotFound)?;
    if was_current {
        chat.logged_out(user.id).await;
        return Ok(see_other("/login"));
    }
    Ok(see_other("/account?notice=ended"))
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
