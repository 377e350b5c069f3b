//! Web push's API: the server's public key, and the page subscribing and unsubscribing.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::errors::AppError;
use crate::push::{EndpointForm, Push, SubscriptionForm};

#[derive(Serialize)]
struct KeyAnswer<'a> {
    public_key: &'a str,
}

/// GET /api/push/key: `{"public_key": "..."}`, the `applicationServerKey` to subscribe with.
pub async fn key(_user: CurrentUser, push: web::Data<Push>) -> HttpResponse {
    HttpResponse::Ok().json(KeyAnswer {
        public_key: push.public_key(),
    })
}

/// POST /api/push/subscriptions `{"endpoint", "keys": {"p256dh", "auth"}}`: 201 (the same
/// endpoint again updates it); 400 for an endpoint that is not https or keys that are not.
pub async fn subscribe(
    user: CurrentUser,
    session: Session,
    body: web::Json<SubscriptionForm>,
    push: web::Data<Push>,
) -> Result<HttpResponse, AppError> {
    push.subscribe(&user, &session, &body).await?;
    Ok(HttpResponse::Created().finish())
}

/// DELETE /api/push/subscriptions `{"endpoint"}`: 204, whether or not there was one.
pub async fn unsubscribe(
    user: CurrentUser,
    body: web::Json<EndpointForm>,
    push: web::Data<Push>,
) -> Result<HttpResponse, AppError> {
    push.unsubscribe(&user, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
