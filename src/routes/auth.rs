//! Registration, login, logout.

use actix_session::{Session, SessionExt};
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::see_other;
use crate::auth::CurrentUser;
use crate::auth::accounts::{self, Credentials, Refused};
use crate::auth::client_addr::{ClientAddr, Device};
use crate::auth::csrf::FormTokens;
use crate::auth::password::Hasher;
use crate::chat::Chat;
use crate::db::Db;
use crate::errors::AppError;
use crate::templates::{Layout, LoginPage, RegisterPage, render};
use crate::throttle::Throttles;

pub async fn index(user: Option<CurrentUser>) -> HttpResponse {
    see_other(if user.is_some() { "/lobby" } else { "/login" })
}

pub async fn login_page(
    req: HttpRequest,
    tokens: web::Data<FormTokens>,
) -> Result<HttpResponse, AppError> {
    login_form(&req, &tokens, String::new(), None, StatusCode::OK)
}

pub async fn register_page(
    req: HttpRequest,
    tokens: web::Data<FormTokens>,
) -> Result<HttpResponse, AppError> {
    register_form(&req, &tokens, String::new(), None, StatusCode::OK)
}

/// The session key of a notice the next lobby page shows once (see `LobbyPage::notice`).
pub const FLASH: &str = "flash";

pub async fn register(
    form: web::Form<Credentials>,
    device: Device,
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    throttles: web::Data<Throttles>,
    tokens: web::Data<FormTokens>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let session = req.get_session();
    let Credentials { username, password } = form.into_inner();
    match accounts::register(
        &session, &username, password, &device, &db, &hasher, &throttles,
    )
    .await?
    {
        Ok(user) => {
            // The first account of a new database runs the server: the lobby tells it so,
            // once.
            if user.is_admin {
                session
                    .insert(FLASH, "administrator")
                    .map_err(AppError::internal)?;
            }
            Ok(see_other("/lobby"))
        }
        Err(Refused::Invalid(message)) => register_form(
            &req,
            &tokens,
            username,
            Some(message),
            StatusCode::BAD_REQUEST,
        ),
        Err(Refused::Taken) => register_form(
            &req,
            &tokens,
            username.trim().to_owned(),
            Some("That username is taken. Please choose another.".into()),
            StatusCode::CONFLICT,
        ),
    }
}

pub async fn login(
    form: web::Form<Credentials>,
    device: Device,
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    throttles: web::Data<Throttles>,
    tokens: web::Data<FormTokens>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let session = req.get_session();
    let Credentials { username, password } = form.into_inner();
    let user = accounts::log_in(
        &session, &username, password, &device, &db, &hasher, &throttles,
    )
    .await?;
    match user {
        Some(user) => Ok(see_other(&back_to(user.current_room_id))),
        None => login_form(
            &req,
            &tokens,
            username.trim().to_owned(),
            Some("Wrong username or password.".into()),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// Where a login lands: the room the user was in when they last left (it still exists:
/// deleting a room empties it), or the lobby.
fn back_to(room: Option<i32>) -> String {
    room.map_or_else(|| "/lobby".to_owned(), |room| format!("/rooms/{room}"))
}

pub async fn logout(session: Session, client: ClientAddr, chat: web::Data<Chat>) -> HttpResponse {
    if let Some(user) = accounts::log_out(&session, client) {
        chat.logged_out(user.id).await;
    }
    see_other("/login")
}

fn login_form(
    req: &HttpRequest,
    tokens: &FormTokens,
    username: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (token, cookie) = tokens.issue(req);
    let page = LoginPage {
        layout: Layout::for_form(&req.get_session(), token),
        username,
        error,
    };
    with_cookie(render(&page, status)?, &cookie)
}

fn register_form(
    req: &HttpRequest,
    tokens: &FormTokens,
    username: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (token, cookie) = tokens.issue(req);
    let page = RegisterPage {
        layout: Layout::for_form(&req.get_session(), token),
        username,
        error,
    };
    with_cookie(render(&page, status)?, &cookie)
}

fn with_cookie(mut res: HttpResponse, cookie: &Cookie<'_>) -> Result<HttpResponse, AppError> {
    res.add_cookie(cookie).map_err(AppError::internal)?;
    Ok(res)
}
