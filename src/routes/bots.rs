//! /admin/bots: administrators make bots (their token shown once), set or clear their
//! outgoing webhooks, and delete them. 404 to anyone else, as every admin path.

use super::NoticeQuery;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use serde::Deserialize;

use super::see_other;
use super::shell::Shell;
use crate::admin::Admin;
use crate::auth::Administrator;
use crate::errors::AppError;
use crate::templates::{AdminBotsPage, NewBotView, render};

/// What a redirect's `?notice=` key says on the page it lands on.
fn notice(key: Option<&str>) -> Option<String> {
    let text = match key? {
        "webhook" => "The webhook is saved.",
        "cleared" => "The webhook is cleared: the bot is told nothing any more.",
        "deleted" => "The bot is deleted: its token no longer works. What it wrote stays.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// GET /admin/bots
pub async fn page(
    _: Administrator,
    query: web::Query<NoticeQuery>,
    admin: web::Data<Admin>,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    let mut page = AdminBotsPage::new(shell.0, admin.bots().await?);
    page.notice = notice(query.notice.as_deref());
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct CreateForm {
    name: String,
}

/// POST /admin/bots: the page again (200) with the bot's token shown this once, as the account
/// page shows a new token: the secret is never kept anywhere, a session included, to be shown
/// after a redirect. A refused name re-renders the form with it and why.
pub async fn create(
    administrator: Administrator,
    form: web::Form<CreateForm>,
    admin: web::Data<Admin>,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    match admin.create_bot(&administrator, &form.name).await {
        Ok(made) => {
            let mut page = AdminBotsPage::new(shell.0, admin.bots().await?);
            page.new_bot = Some(NewBotView {
                name: made.bot.name,
                token: made.token,
            });
            render(&page, StatusCode::OK)
        }
        Err(err @ (AppError::BadRequest(_) | AppError::Conflict(_))) => {
            let status = err.status_code();
            let mut page = AdminBotsPage::new(shell.0, admin.bots().await?);
            page.error = Some(err.message().to_owned());
            page.name = form.into_inner().name;
            render(&page, status)
        }
        Err(err) => Err(err),
    }
}

#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    url: String,
    /// The Clear button.
    clear: Option<String>,
}

/// POST /admin/bots/{id}/webhook: sets the URL, or clears it (the Clear button, or an empty
/// URL); anything but an absolute http or https URL re-renders the page with a 400.
pub async fn set_webhook(
    administrator: Administrator,
    id: web::Path<i32>,
    form: web::Form<WebhookForm>,
    admin: web::Data<Admin>,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    let url = match form.clear {
        Some(_) => None,
        None => Some(form.url.as_str()),
    };
    match admin
        .set_bot_webhook(&administrator, id.into_inner(), url)
        .await
    {
        Ok(bot) if bot.webhook_url.is_some() => Ok(see_other("/admin/bots?notice=webhook")),
        Ok(_) => Ok(see_other("/admin/bots?notice=cleared")),
        Err(err @ AppError::BadRequest(_)) => {
            let mut page = AdminBotsPage::new(shell.0, admin.bots().await?);
            page.error = Some(err.message().to_owned());
            render(&page, err.status_code())
        }
        Err(err) => Err(err),
    }
}

/// POST /admin/bots/{id}/delete
pub async fn delete(
    administrator: Administrator,
    id: web::Path<i32>,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    admin.delete_bot(&administrator, id.into_inner()).await?;
    Ok(see_other("/admin/bots?notice=deleted"))
}
