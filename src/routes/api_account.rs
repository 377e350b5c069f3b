//! The JSON API for clients that are not browsers (the terminal client among them): creating
//! an account, logging in and out, and the account's API tokens. POST /api/users and POST /api/session need no CSRF token
//! (there is no session yet to bind one to); they take only JSON, which a foreign page cannot
//! send without a CORS preflight we never grant, and cross-site requests are refused.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::accounts::{Accounts, Credentials};
use crate::auth::client_addr::{ClientAddr, Device};
use crate::auth::{CurrentUser, csrf};
use crate::domain::Label;
use crate::errors::AppError;
use crate::json::{NewTokenJson, SelfJson, TokensJson};
use crate::models::User;

/// The answer to a login or a registration: who you are, and the token for later requests.
#[derive(Serialize)]
struct SessionAnswer<'a> {
    user: SelfJson<'a>,
    csrf_token: String,
    /// The room the user was in when they last left, to come back to.
    current_room: Option<i32>,
}

fn session_answer<'a>(session: &Session, user: &'a User) -> SessionAnswer<'a> {
    SessionAnswer {
        csrf_token: csrf::token(session),
        current_room: user.current_room_id,
        user: user.into(),
    }
}

/// POST /api/users: 201 with the new user, logged in; `invite` carries an invitation's token
/// while registration is by invitation.
pub async fn register(
    body: web::Json<Credentials>,
    device: Device,
    accounts: web::Data<Accounts>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let user = accounts
        .register(&session, body.into_inner(), &device)
        .await??;
    Ok(HttpResponse::Created().json(session_answer(&session, &user)))
}

/// POST /api/session: 200 and the session cookie, or 401 `invalid_credentials` (403
/// `account_disabled` for the right password of a disabled account, 403
/// `one_time_password_expired` for a one-time password used or a day old).
pub async fn log_in(
    body: web::Json<Credentials>,
    device: Device,
    accounts: web::Data<Accounts>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let user = accounts
        .log_in(&session, body.into_inner(), &device)
        .await??;
    Ok(HttpResponse::Ok().json(session_answer(&session, &user)))
}

/// DELETE /api/session: 204; the server forgets the session.
pub async fn log_out(
    session: Session,
    client: ClientAddr,
    accounts: web::Data<Accounts>,
) -> HttpResponse {
    accounts.log_out(&session, client).await;
    HttpResponse::NoContent().finish()
}

/// What making a token or a webhook sends: `{"name"}`.
#[derive(Deserialize)]
pub struct Named {
    pub name: String,
}

/// POST /api/account/tokens `{"name"}`: 201 `{"id", "name", "token"}`; the token is shown
/// this once. Only a logged-in session (with its CSRF token) makes tokens, never a token.
pub async fn create_token(
    user: CurrentUser,
    body: web::Json<Named>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, AppError> {
    let name = Label::parse(&body.name).map_err(|invalid| AppError::BadRequest(invalid.0))?;
    let made = accounts.create_token(&user, name).await?;
    Ok(HttpResponse::Created().json(NewTokenJson::from(&made)))
}

/// GET /api/account/tokens: `{"tokens": [{"id", "name", "created_at", "last_used_at"}]}`,
/// newest first, without secrets.
pub async fn tokens(
    user: CurrentUser,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, AppError> {
    let tokens = accounts.tokens(&user).await?;
    Ok(HttpResponse::Ok().json(TokensJson::from(tokens.as_slice())))
}

/// DELETE /api/account/tokens/{id}: 204; the token stops working at once. 404 if the user
/// has no such token.
pub async fn revoke_token(
    user: CurrentUser,
    id: web::Path<i32>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, AppError> {
    accounts.revoke_token(&user, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
