//! The JSON API for clients that are not browsers (the terminal client among them): creating
//! an account, logging in and out. POST /api/users and POST /api/session need no CSRF token
//! (there is no session yet to bind one to); they take only JSON, which a foreign page cannot
//! send without a CORS preflight we never grant, and cross-site requests are refused.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::accounts::{Accounts, Credentials};
use crate::auth::client_addr::{ClientAddr, Device};
use crate::auth::csrf;
use crate::errors::AppError;
use crate::json::SelfJson;
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
