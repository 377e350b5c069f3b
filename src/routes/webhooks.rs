//! Incoming webhooks: made, listed and revoked by a room's creator or an administrator (over
//! the API, and by the room page's forms), and posted to at `/hooks/{key}` by whoever holds
//! the URL: JSON `{"text": ...}`, or a form's `payload={"text": ...}` as Slack's and
//! Mattermost's hooks take it.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::shell::Shell;
use super::{LinkOrigin, see_other};
use crate::auth::CurrentUser;
use crate::chat::{Chat, RoomView};
use crate::config::BODY_LIMIT;
use crate::domain::{Label, MessageText};
use crate::errors::AppError;
use crate::json::rfc3339;
use crate::models::Webhook;
use crate::templates::{NewHookView, RoomPage, render};

#[derive(Deserialize)]
pub struct NewHook {
    name: String,
}

#[derive(Serialize)]
struct CreatedAnswer<'a> {
    id: i32,
    name: &'a str,
    /// Shown this once: only the key's hash is kept.
    url: String,
}

#[derive(Serialize)]
struct HookJson<'a> {
    id: i32,
    name: &'a str,
    created_at: String,
    created_by: &'a str,
}

#[derive(Serialize)]
struct ListAnswer<'a> {
    webhooks: Vec<HookJson<'a>>,
}

impl<'a> From<&'a Webhook> for HookJson<'a> {
    fn from(hook: &'a Webhook) -> Self {
        Self {
            id: hook.id,
            name: &hook.name,
            created_at: rfc3339(hook.created_at),
            created_by: &hook.created_by,
        }
    }
}

/// Where a hook's key is posted to.
fn hook_url(req: &HttpRequest, key: &str) -> String {
    format!("{}/hooks/{key}", LinkOrigin::of(req))
}

/// POST /api/rooms/{id}/webhooks `{"name"}`: 201 `{"id", "name", "url"}`, the URL shown once.
pub async fn api_create(
    user: CurrentUser,
    room_id: web::Path<i32>,
    body: web::Json<NewHook>,
    req: HttpRequest,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let name = Label::parse(&body.name)?;
    let made = chat
        .create_webhook(&user, room_id.into_inner(), name)
        .await?;
    Ok(HttpResponse::Created().json(CreatedAnswer {
        id: made.hook.id,
        name: &made.hook.name,
        url: hook_url(&req, &made.key),
    }))
}

/// GET /api/rooms/{id}/webhooks: `{"webhooks": [{"id", "name", "created_at", "created_by"}]}`,
/// newest first, never a key.
pub async fn api_list(
    user: CurrentUser,
    room_id: web::Path<i32>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let hooks = chat.webhooks(&user, room_id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ListAnswer {
        webhooks: hooks.iter().map(HookJson::from).collect(),
    }))
}

/// DELETE /api/rooms/{id}/webhooks/{hook}: 204; its URL stops working at once.
pub async fn api_revoke(
    user: CurrentUser,
    path: web::Path<(i32, i32)>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let (room_id, hook_id) = path.into_inner();
    chat.revoke_webhook(&user, room_id, hook_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// POST /rooms/{id}/webhooks (the room page's form, `name`): the room page again, with the
/// new hook's URL shown this once; a bad name re-renders with the reason, 400.
pub async fn create(
    user: CurrentUser,
    room_id: web::Path<i32>,
    form: web::Form<NewHook>,
    req: HttpRequest,
    chat: web::Data<Chat>,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    let (made, status) = match Label::parse(&form.name) {
        Ok(name) => {
            let made = chat.create_webhook(&user, room_id, name).await?;
            let url = hook_url(&req, &made.key);
            (Ok(NewHookView::made(made.hook.name, url)), StatusCode::OK)
        }
        Err(invalid) => (Err(invalid.0), StatusCode::BAD_REQUEST),
    };
    match chat.show(&user, room_id, None).await? {
        RoomView::Inside(inside) => {
            let layout = shell.in_room(inside.room.id);
            let mut page = RoomPage::new(layout, inside, &user);
            page.new_hook = Some(match made {
                Ok(made) => made,
                Err(error) => NewHookView::refused(form.into_inner().name, error),
            });
            render(&page, status)
        }
        // Made from outside (the maker left meanwhile): the room's page shows the way in.
        RoomView::Outside(..) => Ok(see_other(&format!("/rooms/{room_id}"))),
    }
}

/// POST /rooms/{id}/webhooks/{hook}/revoke (the room page's Revoke button): back to the room.
pub async fn revoke(
    user: CurrentUser,
    path: web::Path<(i32, i32)>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let (room_id, hook_id) = path.into_inner();
    chat.revoke_webhook(&user, room_id, hook_id).await?;
    Ok(see_other(&format!("/rooms/{room_id}")))
}

#[derive(Serialize)]
struct Posted {
    ok: bool,
    /// The message's number in the room's log.
    id: i32,
}

/// POST /hooks/{key}: posts the body's text into the hook's room under the hook's name; 200
/// `{"ok": true, "id": N}`. A wrong or revoked key is 404, a body that is not one of the two
/// shapes 400, a hook posting too fast 429 with Retry-After.
pub async fn post(
    key: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let body = body
        .to_bytes_limited(BODY_LIMIT)
        .await
        .map_err(|_| AppError::PayloadTooLarge("The request body is too large.".into()))?
        .map_err(|_| AppError::BadRequest("The request body could not be read.".into()))?;
    let text = MessageText::parse(&hook_text(req.headers(), &body)?)?;
    let id = chat.post_by_webhook(&key, text).await?;
    Ok(HttpResponse::Ok().json(Posted { ok: true, id }))
}

/// The text a hook's body carries: JSON `{"text": "..."}`, or a form whose `payload` field is
/// that JSON. Other fields are left alone (Slack's senders add some).
fn hook_text(headers: &HeaderMap, body: &[u8]) -> Result<String, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let json = if content_type.starts_with("application/json") {
        body.to_vec()
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(body)
            .find(|(name, _)| name == "payload")
            .map(|(_, payload)| payload.into_owned().into_bytes())
            .ok_or_else(|| AppError::BadRequest("The form has no `payload` field.".into()))?
    } else {
        return Err(AppError::BadRequest(
            "Send JSON {\"text\": ...} with Content-Type: application/json, or a form with \
             payload={\"text\": ...}."
                .into(),
        ));
    };
    let value: serde_json::Value = serde_json::from_slice(&json)
        .map_err(|_| AppError::BadRequest("The body is not JSON.".into()))?;
    value
        .get("text")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| AppError::BadRequest("`text` must be a string.".into()))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn typed(content_type: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers
    }

    #[test]
    fn the_text_comes_from_json_or_from_a_forms_payload() {
        let json = typed("application/json; charset=utf-8");
        assert_eq!(
            hook_text(&json, br#"{"text": "hi", "x": 1}"#).unwrap(),
            "hi"
        );
        let form = typed("application/x-www-form-urlencoded");
        let body = b"channel=x&payload=%7B%22text%22%3A%20%22a%26b%22%7D";
        assert_eq!(hook_text(&form, body).unwrap(), "a&b");
    }

    #[test]
    fn anything_else_is_refused() {
        let json = typed("application/json");
        for body in [
            &b"{"[..],
            b"[]",
            br#"{"text": 3}"#,
            br#"{"msg": "hi"}"#,
            b"\"hi\"",
        ] {
            assert!(hook_text(&json, body).is_err(), "{body:?}");
        }
        let form = typed("application/x-www-form-urlencoded");
        assert!(hook_text(&form, b"text=hi").is_err());
        assert!(hook_text(&form, b"payload=hi").is_err());
        assert!(hook_text(&typed("text/plain"), br#"{"text": "hi"}"#).is_err());
        assert!(hook_text(&HeaderMap::new(), br#"{"text": "hi"}"#).is_err());
    }
}
