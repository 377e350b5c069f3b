//! The account page: who you are, your sessions, changing your password, logging out of
//! every session at once, and your API tokens.

use super::NoticeQuery;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::see_other;
use super::shell::Shell;
use crate::accounts::{Accounts, NewToken, PasswordChange, PasswordRefused};
use crate::auth::client_addr::{ClientAddr, Device};
use crate::auth::{Account, CurrentUser};
use crate::domain::Label;
use crate::errors::AppError;
use crate::templates::{AccountPage, Layout, NewTokenView, render};

pub async fn page(
    Account(user): Account,
    query: web::Query<NoticeQuery>,
    accounts: web::Data<Accounts>,
    session: Session,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    let mut page = account_page(shell.0, &session, &user, &accounts).await?;
    page.notice = AccountPage::notice(query.notice.as_deref());
    page.password_error = crate::auth::take_once(&session, PASSWORD_ERROR);
    render(&page, StatusCode::OK)
}

/// The session key of why the last password change was refused: the account page shows it
/// once, after the redirect.
const PASSWORD_ERROR: &str = "password_error";

/// The page, with the sessions and the tokens it lists.
async fn account_page(
    layout: Layout,
    session: &Session,
    user: &CurrentUser,
    accounts: &Accounts,
) -> Result<AccountPage, AppError> {
    let sessions = accounts.sessions(session, user).await?;
    let tokens = accounts.tokens(user).await?;
    Ok(AccountPage::new(layout, sessions, tokens))
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
}

/// POST /account/tokens: the page again, with the new token's secret shown this once (a
/// redirect would have to keep the secret somewhere to show it after). A name the rules
/// refuse, or one token too many, comes back with the form and why, as a 4xx.
pub async fn create_token(
    user: CurrentUser,
    form: web::Form<TokenForm>,
    accounts: web::Data<Accounts>,
    session: Session,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    let made = match Label::parse(&form.name) {
        Ok(name) => accounts.create_token(&user, name).await,
        Err(invalid) => Err(invalid.into()),
    };
    let refusal = match made {
        Ok(NewToken { token, secret }) => {
            let mut page = account_page(shell.0, &session, &user, &accounts).await?;
            page.new_token = Some(NewTokenView {
                name: token.name,
                secret,
            });
            return render(&page, StatusCode::OK);
        }
        Err(err @ (AppError::BadRequest(_) | AppError::Conflict(_))) => err,
        Err(other) => return Err(other),
    };
    let mut page = account_page(shell.0, &session, &user, &accounts).await?;
    page.token_refused(form.into_inner().name, &refusal);
    render(&page, actix_web::ResponseError::status_code(&refusal))
}

/// POST /account/tokens/{id}/revoke: 303 to /account; someone else's token is not found.
pub async fn revoke_token(
    user: CurrentUser,
    id: web::Path<i32>,
    accounts: web::Data<Accounts>,
) -> Result<HttpResponse, AppError> {
    accounts.revoke_token(&user, id.into_inner()).await?;
    Ok(see_other("/account?notice=revoked"))
}

/// POST /account/password: 303 to /account, also when refused (a wrong current password, a
/// new one the rules refuse): the reason waits in the session for the page to show once, so
/// that reloading the page never posts the form again.
pub async fn change_password(
    Account(user): Account,
    form: web::Form<PasswordChange>,
    device: Device,
    accounts: web::Data<Accounts>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let outcome = accounts
        .change_password(&session, &user, form.into_inner(), &device)
        .await?;
    let why = match outcome {
        Ok(()) => return Ok(see_other("/account?notice=password")),
        Err(PasswordRefused::WrongPassword) => {
            "Your current password is not the one you typed.".to_owned()
        }
        Err(PasswordRefused::Invalid(why)) => why,
    };
    session
        .insert(PASSWORD_ERROR, why)
        .map_err(AppError::internal)?;
    Ok(see_other("/account"))
}

/// POST /account/sessions/{id}/end: 303 to /account, or to /login when it was this session.
pub async fn end_session(
    user: CurrentUser,
    public_id: web::Path<String>,
    client: ClientAddr,
    accounts: web::Data<Accounts>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let ended = accounts
        .end_session(&session, &user, public_id.into_inner(), client)
        .await?;
    match ended.ok_or(AppError::NotFound)? {
        true => Ok(see_other("/login")),
        false => Ok(see_other("/account?notice=ended")),
    }
}

/// POST /account/logout-everywhere: revokes every session of the user, this one included.
pub async fn logout_everywhere(
    user: CurrentUser,
    client: ClientAddr,
    accounts: web::Data<Accounts>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    accounts.log_out_everywhere(&session, &user, client).await?;
    Ok(see_other("/login"))
}
