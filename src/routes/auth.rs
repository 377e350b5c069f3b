//! Registration, login, logout.

use actix_session::{Session, SessionExt};
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;

use super::see_other;
use crate::accounts::{Accounts, Credentials, Refused};
use crate::auth::Account;
use crate::auth::client_addr::{ClientAddr, Device};
use crate::auth::csrf::FormTokens;
use crate::errors::AppError;
use crate::templates::{Layout, LoginPage, RegisterPage, render};

pub async fn index(user: Option<Account>) -> HttpResponse {
    see_other(if user.is_some() { "/lobby" } else { "/login" })
}

pub async fn login_page(
    req: HttpRequest,
    tokens: web::Data<FormTokens>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, AppError> {
    login_form(
        &req,
        &tokens,
        &accounts,
        String::new(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct RegisterQuery {
    /// An invitation link's token.
    invite: Option<String>,
    /// The setup link's token.
    setup: Option<String>,
}

/// GET /register: the form, or (registration closed, by invitation without a usable one, a
/// setup link that cannot be used) why there is none.
pub async fn register_page(
    req: HttpRequest,
    query: web::Query<RegisterQuery>,
    tokens: web::Data<FormTokens>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, AppError> {
    let RegisterQuery { invite, setup } = query.into_inner();
    let (invite, setup) = (invite.unwrap_or_default(), setup.unwrap_or_default());
    let admitted = accounts.may_register(invite.clone(), setup.clone()).await?;
    let form = RegisterForm {
        username: String::new(),
        invite,
        setup,
        error: None,
        closed: admitted.err().map(|refused| refused.message().to_owned()),
    };
    register_form(&req, &tokens, form, StatusCode::OK)
}

/// The session key of a notice the next lobby page shows once (see `LobbyPage::notice`).
pub const FLASH: &str = "flash";

pub async fn register(
    form: web::Form<Credentials>,
    device: Device,
    accounts: web::Data<Accounts>,
    tokens: web::Data<FormTokens>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let session = req.get_session();
    let form = form.into_inner();
    let (username, invite, setup) = (
        form.username.clone(),
        form.invite.clone(),
        form.setup.clone(),
    );
    let refused = match accounts.register(&session, form, &device).await? {
        Ok(user) => {
            // The setup link's account runs the server: the lobby tells it so, once.
            if user.is_admin {
                session
                    .insert(FLASH, "administrator")
                    .map_err(AppError::internal)?;
            }
            return Ok(see_other("/lobby"));
        }
        Err(refused) => refused,
    };
    // A registration that can never pass here (closed, no usable invitation or setup link)
    // loses the form.
    let closed = refused.is_final().then(|| refused.message().to_owned());
    let username = match refused {
        Refused::Invalid(_) => username,
        _ => username.trim().to_owned(),
    };
    let error = AppError::from(refused);
    let form = RegisterForm {
        username,
        invite: invite.unwrap_or_default(),
        setup: setup.unwrap_or_default(),
        error: closed.is_none().then(|| error.message().to_owned()),
        closed,
    };
    register_form(&req, &tokens, form, ResponseError::status_code(&error))
}

pub async fn login(
    form: web::Form<Credentials>,
    device: Device,
    accounts: web::Data<Accounts>,
    tokens: web::Data<FormTokens>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let session = req.get_session();
    let form = form.into_inner();
    let username = form.username.clone();
    match accounts.log_in(&session, form, &device).await? {
        Ok(user) => Ok(see_other(&back_to(user.current_room_id))),
        Err(refused) => {
            let error = AppError::from(refused);
            login_form(
                &req,
                &tokens,
                &accounts,
                username.trim().to_owned(),
                Some(error.message().to_owned()),
                ResponseError::status_code(&error),
            )
            .await
        }
    }
}

/// Where a login lands: the room the user was in when they last left (it still exists:
/// deleting a room empties it), or the lobby.
fn back_to(room: Option<i32>) -> String {
    room.map_or_else(|| "/lobby".to_owned(), |room| format!("/rooms/{room}"))
}

pub async fn logout(
    session: Session,
    client: ClientAddr,
    accounts: web::Data<Accounts>,
) -> HttpResponse {
    accounts.log_out(&session, client).await;
    see_other("/login")
}

async fn login_form(
    req: &HttpRequest,
    tokens: &FormTokens,
    accounts: &Accounts,
    username: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    // The login page says whether (and how) one may register.
    let registration = accounts.registration().await?;
    let (token, cookie) = tokens.issue(req);
    let page = LoginPage {
        layout: Layout::for_form(&req.get_session(), token),
        username,
        error,
        registration: registration.as_str(),
    };
    with_cookie(render(&page, status)?, &cookie)
}

/// What the registration form shows.
struct RegisterForm {
    username: String,
    invite: String,
    setup: String,
    error: Option<String>,
    /// Why there is no form: registration is closed, or by invitation without a usable one.
    closed: Option<String>,
}

fn register_form(
    req: &HttpRequest,
    tokens: &FormTokens,
    form: RegisterForm,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (token, cookie) = tokens.issue(req);
    let page = RegisterPage {
        layout: Layout::for_form(&req.get_session(), token),
        username: form.username,
        error: form.error,
        invite: form.invite,
        setup: form.setup,
        closed: form.closed,
    };
    with_cookie(render(&page, status)?, &cookie)
}

fn with_cookie(mut res: HttpResponse, cookie: &Cookie<'_>) -> Result<HttpResponse, AppError> {
    res.add_cookie(cookie).map_err(AppError::internal)?;
    Ok(res)
}
