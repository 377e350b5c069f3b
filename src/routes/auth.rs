//! Registration, login, logout.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::see_other;
use crate::auth::client_addr::ClientAddr;
use crate::auth::password::Hasher;
use crate::auth::{self, CurrentUser};
use crate::db::Db;
use crate::domain::{Password, Username};
use crate::errors::AppError;
use crate::live::Live;
use crate::models::{ModelError, User};
use crate::templates::{Layout, LoginPage, RegisterPage, render};
use crate::throttle::Throttles;

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

pub async fn index(user: Option<CurrentUser>) -> HttpResponse {
    see_other(if user.is_some() { "/lobby" } else { "/login" })
}

pub async fn login_page(session: Session) -> Result<HttpResponse, AppError> {
    login_form(&session, String::new(), None, StatusCode::OK)
}

pub async fn register_page(session: Session) -> Result<HttpResponse, AppError> {
    register_form(&session, String::new(), None, StatusCode::OK)
}

pub async fn register(
    form: web::Form<Credentials>,
    client: ClientAddr,
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let Credentials { username, password } = form.into_inner();
    let parsed = Username::parse(&username).and_then(|u| Ok((u, Password::parse(password)?)));
    let (username, password) = match parsed {
        Ok(valid) => valid,
        Err(invalid) => {
            return register_form(&session, username, Some(invalid.0), StatusCode::BAD_REQUEST);
        }
    };
    let hash = hasher.hash(password).await?;
    let name = username.clone();
    match db
        .run(move |conn| Ok(User::create(conn, &name, &hash)))
        .await?
    {
        Ok(user) => {
            log::info!("registered user {} from {client}", user.username);
            auth::log_in(&session, &user)?;
            Ok(see_other("/lobby"))
        }
        Err(ModelError::NameTaken) => register_form(
            &session,
            username.as_str().to_owned(),
            Some("That username is taken. Please choose another.".into()),
            StatusCode::CONFLICT,
        ),
        Err(other) => Err(other.into()),
    }
}

pub async fn login(
    form: web::Form<Credentials>,
    client: ClientAddr,
    db: web::Data<Db>,
    hasher: web::Data<Hasher>,
    throttles: web::Data<Throttles>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let Credentials { username, password } = form.into_inner();
    let username = username.trim().to_owned();
    let address = client.to_string();
    // Checked before the password: while throttled, even the right one does not help.
    if let Err(retry) = throttles.login.check(&username, &address) {
        log::warn!("throttled login for {username:?} from {client}");
        return Err(retry.into());
    }
    let lookup = username.clone();
    let user = db
        .run(move |conn| Ok(User::find_by_username(conn, &lookup)?))
        .await?;
    // Verify even when there is no such user, so that both failures take the same time.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = hasher.verify(password, stored).await?;
    match user {
        Some(user) if verified => {
            throttles.login.succeeded(&username, &address);
            log::info!("login of {} from {client}", user.username);
            auth::log_in(&session, &user)?;
            // Back to the room they were in last (it still exists: deleting a room empties it).
            Ok(match user.current_room_id {
                Some(room) => see_other(&format!("/rooms/{room}")),
                None => see_other("/lobby"),
            })
        }
        _ => {
            throttles.login.failed(&username, &address);
            log::info!("failed login for {username:?} from {client}");
            login_form(
                &session,
                username,
                Some("Wrong username or password.".into()),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

/// Ends the session. The user keeps their room (they come back to it at the next login) but
/// is no longer present in it.
pub async fn logout(session: Session, client: ClientAddr, live: web::Data<Live>) -> HttpResponse {
    if let Some(user) = CurrentUser::from_session(&session) {
        log::info!("logout of {} from {client}", user.username);
        live.presence.logged_out(user.id);
    }
    auth::log_out(&session);
    see_other("/login")
}

fn login_form(
    session: &Session,
    username: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = LoginPage {
        layout: Layout::from_session(session),
        username,
        error,
    };
    render(&page, status)
}

fn register_form(
    session: &Session,
    username: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = RegisterPage {
        layout: Layout::from_session(session),
        username,
        error,
    };
    render(&page, status)
}
