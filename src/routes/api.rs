//! The JSON API the poller (and any other client) speaks. Errors come out as
//! `{"error": code, "message": text}` (see errors.rs).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::db::Db;
use crate::domain::MessageText;
use crate::errors::AppError;
use crate::models::{LogMessage, Message};
use crate::templates::rfc3339;
use crate::throttle::Throttles;

/// The most messages one poll answers with; the client asks again from the last id it got.
pub const PAGE_LIMIT: i64 = 500;

#[derive(Serialize)]
pub struct MessageJson {
    id: i32,
    author: String,
    text: String,
    sent_at: String,
}

impl From<LogMessage> for MessageJson {
    fn from(m: LogMessage) -> Self {
        Self {
            id: m.id,
            sent_at: rfc3339(m.sent_at),
            author: m.author,
            text: m.body,
        }
    }
}

#[derive(Deserialize)]
pub struct PollQuery {
    after: Option<String>,
}

impl PollQuery {
    /// The cursor: a non-negative integer. Ids are i32 in the schema; a larger cursor is past
    /// every id there can be.
    fn after(&self) -> Result<i32, AppError> {
        let Some(raw) = self.after.as_deref() else {
            return Ok(0);
        };
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::BadRequest(
                "`after` must be a non-negative integer.".into(),
            ));
        }
        Ok(raw.parse::<i32>().unwrap_or(i32::MAX))
    }
}

pub async fn poll(
    user: CurrentUser,
    room_id: web::Path<i32>,
    query: web::Query<PollQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    let after = query.after()?;
    let messages = db
        .run(move |conn| Ok(Message::since(conn, room_id, user.id, after, PAGE_LIMIT)?))
        .await?;
    let messages: Vec<MessageJson> = messages.into_iter().map(MessageJson::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "messages": messages })))
}

#[derive(Deserialize)]
pub struct NewMessage {
    text: String,
}

pub async fn post_message(
    user: CurrentUser,
    room_id: web::Path<i32>,
    body: web::Json<NewMessage>,
    db: web::Data<Db>,
    throttles: web::Data<Throttles>,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    let text = MessageText::parse(&body.text)?;
    throttles.messages.hit(&user.id.to_string())?;
    let message = db
        .run(move |conn| Ok(Message::post(conn, room_id, user.id, &text)?))
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "message": MessageJson::from(message) })))
}
