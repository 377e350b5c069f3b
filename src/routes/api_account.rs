//! The JSON API for clients that are not browsers (the terminal client among them): creating
//! an account, logging in and out. POST /api/users and POST /api/session need no CSRF token
//! (there is no session yet to bind one to); they take only JSON, which a foreign page cannot
//! send without a CORS preflight we never grant, and cross-site requests are refused.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::accounts::{self, Credentials};
use crate::auth::client_addr::{ClientAddr, Device};
use crate::auth::csrf;
use crate::auth::password::Hasher;
use crate::auth::session_store::SessionTimes;
use crate::chat::Chat;
use crate::db::Db;
use crate::errors::AppError;
use crate::models::User;
use crate::throttle::Throttles;

#[derive(Serialize)]
struct UserJson {
    id: i32,
    username: String,
}

/// The answer to a login or a registration: who you are, and the token for later requests.
#[derive(Serialize)]
struct SessionAnswer {
    user: UserJson,
    csrf_token: String,
    /// The room the user was in when they last left, to come back to.
    current_room: Option<i32>,
}

fn session_answer(session: &Session, user: User) -> SessionAnswer {
    SessionAnswer {
        csrf_token: csrf::token(session),
        current_room: user.current_room_id,
        user: UserJson {
            id: user.id,
            username: user.username,
        },
    }
}

/// POST /api/users: 201 with the new user, logged in; `invite` carries an invitation's token
/// while registration is by invitation.
pub async fn register(
    body: web::Json<Credentials>,
    device: Device,
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    throttles: web::Data<Throttles>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let Credentials {
        username,
        password,
        invite,
        setup,
    } = body.into_inner();
    let user = accounts::register(
        &session, &username, password, invite, setup, &device, &db, &hasher, &throttles,
    )
    .await??;
    Ok(HttpResponse::Created().json(session_answer(&session, user)))
}

/// POST /api/session: 200 and the session cookie, or 401 `invalid_credentials` (403
/// `account_disabled` for the right password of a disabled account, 403
/// `one_time_password_expired` for a one-time password used or a day old).
pub async fn log_in(
    body: web::Json<Credentials>,
    device: Device,
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    throttles: web::Data<Throttles>,
    times: web::Data<SessionTimes>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let Credentials {
        username, password, ..
    } = body.into_inner();
    let user = accounts::log_in(
        &session,
        &username,
        password,
        &device,
        &db,
        &hasher,
        &throttles,
        &*times.clock,
    )
    .await??;
    Ok(HttpResponse::Ok().json(session_answer(&session, user)))
}

/// DELETE /api/session: 204; the server forgets the session.
pub async fn log_out(session: Session, client: ClientAddr, chat: web::Data<Chat>) -> HttpResponse {
    if let Some(user) = accounts::log_out(&session, client) {
        chat.logged_out(user.id).await;
    }
    HttpResponse::NoContent().finish()
}
