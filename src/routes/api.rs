//! The JSON API that the poller, the lobby's refresh and the terminal client speak. Errors
//! come out as `{"error": code, "message": text}` (see `AppError::respond`).

use std::borrow::Cow;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::auth::client_addr::ClientAddr;
use crate::chat::{Chat, Polled};
use crate::domain::{ClientId, MessageText, Page, Reaction, RoomName, Search};
use crate::errors::AppError;
use crate::json::{
    AttentionJson, EntryJson, LobbyRoomJson, MessageAnswer, RoomJson, SearchHitJson,
};
use crate::live::Attention;
use crate::models::{Level, LogEntry};

fn entries<'a>(log: impl IntoIterator<Item = &'a LogEntry>) -> Vec<EntryJson<'a>> {
    log.into_iter().map(EntryJson::from).collect()
}

#[derive(Serialize)]
struct HistoryAnswer<'a> {
    messages: Vec<EntryJson<'a>>,
}

#[derive(Deserialize)]
pub struct LogQuery {
    after: Option<String>,
    before: Option<String>,
    /// The entries around this one (where a search result opens the room).
    around: Option<String>,
    /// "1" while the user is typing: the poll carries it, so typing costs no request.
    typing: Option<String>,
    /// The `people_tag` of the lists the page shows: while they are the same, the answer
    /// leaves them out.
    people_tag: Option<String>,
}

/// A cursor: a non-negative integer. Numbers are i32 in the schema; a larger cursor is past
/// every number there can be.
fn cursor(raw: Option<&str>, name: &str) -> Result<Option<i32>, AppError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::BadRequest(format!(
            "`{name}` must be a non-negative integer."
        )));
    }
    Ok(Some(raw.parse::<i32>().unwrap_or(i32::MAX)))
}

/// GET /api/rooms/{id}/messages: `after=N` polls for what is new (with who is present and
/// typing); `before=N` pages back through older history; `around=N` gives the entries around
/// entry N (up to 50 on each side).
pub async fn log(
    user: CurrentUser,
    room_id: web::Path<i32>,
    query: web::Query<LogQuery>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    let after = cursor(query.after.as_deref(), "after")?;
    if let Some(before) = cursor(query.before.as_deref(), "before")? {
        let older = chat.older(&user, room_id, before).await?;
        return Ok(HttpResponse::Ok().json(HistoryAnswer {
            messages: entries(&older),
        }));
    }
    if let Some(around) = cursor(query.around.as_deref(), "around")? {
        let window = chat.around(&user, room_id, around).await?;
        return Ok(HttpResponse::Ok().json(HistoryAnswer {
            messages: entries(&window),
        }));
    }
    let typing = query.typing.as_deref() == Some("1");
    let polled = chat
        .poll(&user, room_id, after.unwrap_or(0), typing)
        .await?;
    poll_answer(&polled, query.people_tag.as_deref())
}

/// `{"messages": [...], "present": [...], "typing": [...], "people_tag": "...", "lobby": N,
/// "attention": {...}}`, assembled around the room's presence JSON, which is made once per
/// snapshot and shared by the room's pollers; without `present` and `typing` when the page
/// already shows them (`shown` is their tag). The empty poll, by far the most common answer,
/// skips the serializer.
fn poll_answer(polled: &Polled, shown: Option<&str>) -> Result<HttpResponse, AppError> {
    let messages: Cow<str> = match polled.entries.is_empty() {
        true => Cow::Borrowed("[]"),
        false => serde_json::to_string(&entries(polled.entries.iter().map(|e| &**e)))
            .map_err(AppError::internal)?
            .into(),
    };
    let attention: Cow<str> = match &polled.attention {
        Attention { count: 0, new } if new.is_empty() => Cow::Borrowed(NOTHING_NEEDS_YOU),
        attention => serde_json::to_string(&AttentionJson::from(attention))
            .map_err(AppError::internal)?
            .into(),
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(format!(
            "{{\"messages\":{messages},{},\"lobby\":{},\"attention\":{attention}}}",
            polled.people.listed().for_page(shown),
            polled.lobby
        )))
}

/// The attention of someone nothing needs elsewhere: most polls' answer.
const NOTHING_NEEDS_YOU: &str = r#"{"count":0,"new":[]}"#;

/// PUT /api/rooms/{id}/notifications: how loud the room is for the caller, "all", "mentions"
/// or "nothing"; 204. The body is read as an object: a derived struct would also take
/// `["all"]`, and the contract answers 400 to anything but `{"level": ...}`.
pub async fn set_notifications(
    user: CurrentUser,
    room_id: web::Path<i32>,
    body: web::Json<serde_json::Map<String, serde_json::Value>>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let level = body.get("level").and_then(serde_json::Value::as_str);
    let level = level.and_then(Level::parse).ok_or_else(|| {
        AppError::BadRequest("`level` must be \"all\", \"mentions\" or \"nothing\".".into())
    })?;
    chat.set_level(&user, room_id.into_inner(), level).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct NewMessage {
    text: String,
    /// The client's name for this message: a retry with the same one is not stored twice.
    /// The Idempotency-Key header does the same.
    client_id: Option<String>,
    /// The number of the message of this room that it answers.
    reply_to: Option<i32>,
}

/// POST /api/rooms/{id}/messages: 201 with the stored message.
pub async fn post_message(
    user: CurrentUser,
    room_id: web::Path<i32>,
    req: HttpRequest,
    body: web::Json<NewMessage>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let text = MessageText::parse(&body.text)?;
    let client_id = client_id(&body, &req)?;
    let message = chat
        .post(&user, room_id.into_inner(), text, client_id, body.reply_to)
        .await?;
    Ok(HttpResponse::Created().json(MessageAnswer::from(&message)))
}

#[derive(Deserialize)]
pub struct Edit {
    text: String,
}

/// PATCH /api/rooms/{id}/messages/{message}: its author changes its text; 200 with the message
/// as it now is.
pub async fn edit_message(
    user: CurrentUser,
    path: web::Path<(i32, i32)>,
    body: web::Json<Edit>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let (room_id, seq) = path.into_inner();
    let text = MessageText::parse(&body.text)?;
    let message = chat.edit_message(&user, room_id, seq, text).await?;
    Ok(HttpResponse::Ok().json(MessageAnswer::from(&message)))
}

#[derive(Deserialize)]
pub struct NewReaction {
    emoji: String,
}

/// POST /api/rooms/{id}/messages/{message}/reactions: 201 with the message when the reaction
/// is new, 200 when the user had already given it.
pub async fn react(
    user: CurrentUser,
    path: web::Path<(i32, i32)>,
    body: web::Json<NewReaction>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let (room_id, seq) = path.into_inner();
    let emoji = Reaction::parse(&body.emoji)?;
    let (message, added) = chat.react(&user, room_id, seq, emoji, true).await?;
    let mut answer = match added {
        true => HttpResponse::Created(),
        false => HttpResponse::Ok(),
    };
    Ok(answer.json(MessageAnswer::from(&message)))
}

/// DELETE /api/rooms/{id}/messages/{message}/reactions/{emoji}: 204, whether or not the user
/// had given it.
pub async fn unreact(
    user: CurrentUser,
    path: web::Path<(i32, i32, String)>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let (room_id, seq, emoji) = path.into_inner();
    let emoji = Reaction::parse(&emoji)?;
    chat.react(&user, room_id, seq, emoji, false).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The message's name for retries: `client_id` in the body, else the Idempotency-Key header.
fn client_id(body: &NewMessage, req: &HttpRequest) -> Result<Option<ClientId>, AppError> {
    let header = req.headers().get("idempotency-key").map(|v| v.to_str());
    match (body.client_id.as_deref(), header) {
        (Some(id), _) | (None, Some(Ok(id))) => Ok(Some(ClientId::parse(id)?)),
        (None, Some(Err(_))) => Err(AppError::BadRequest(
            "The Idempotency-Key header is not ASCII.".into(),
        )),
        (None, None) => Ok(None),
    }
}

/// DELETE /api/rooms/{id}/messages/{message}: by its author, or in a public room by its
/// creator or an administrator.
pub async fn delete_message(
    user: CurrentUser,
    path: web::Path<(i32, i32)>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let (room_id, seq) = path.into_inner();
    chat.delete_message(&user, room_id, seq).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    before: Option<String>,
    room: Option<String>,
}

#[derive(Serialize)]
struct SearchAnswer<'a> {
    results: Vec<SearchHitJson<'a>>,
    /// Where the next page starts (`before=`), only when there are more results.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// GET /api/search?q=TEXT[&before=CURSOR][&room=ID]: the messages the caller may read that
/// hold every word, newest first, 50 a page.
pub async fn search(
    user: CurrentUser,
    params: web::Query<SearchParams>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let search = Search::parse(
        params.q.as_deref().unwrap_or_default(),
        params.room.as_deref(),
        params.before.as_deref(),
    )?;
    let found = chat.search(&user, search).await?;
    Ok(HttpResponse::Ok().json(SearchAnswer {
        results: found.hits.iter().map(SearchHitJson::from).collect(),
        next: found.next.map(|n| n.to_string()),
    }))
}

#[derive(Serialize)]
struct LobbyAnswer<'a> {
    rooms: Vec<LobbyRoomJson<'a>>,
    page: u32,
    /// The next page's number, only when there are more rooms.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u32>,
    /// What needs the reader (see the poll's).
    attention: AttentionJson<'a>,
}

#[derive(Deserialize)]
pub struct LobbyQuery {
    /// Which page of rooms, from 1.
    page: Option<u32>,
}

/// GET /api/lobby (and GET /api/rooms): a page of the lobby's list, for refreshing it without
/// a reload.
pub async fn lobby(
    user: CurrentUser,
    query: web::Query<LobbyQuery>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let lobby = chat.lobby(&user, Page::parse(query.page)?).await?;
    Ok(HttpResponse::Ok().json(LobbyAnswer {
        page: lobby.page,
        next: lobby.next,
        rooms: lobby.rooms.iter().map(LobbyRoomJson::from).collect(),
        attention: (&lobby.attention).into(),
    }))
}

#[derive(Serialize)]
struct RoomAnswer<'a> {
    room: RoomJson<'a>,
}

#[derive(Deserialize)]
pub struct NewRoom {
    name: String,
}

/// POST /api/rooms: 201 with the room, which the creator is now in.
pub async fn create_room(
    user: CurrentUser,
    client: ClientAddr,
    body: web::Json<NewRoom>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let name = RoomName::parse(&body.name)?;
    let room = chat.create_room(&user, client, name).await?;
    Ok(HttpResponse::Created().json(RoomAnswer {
        room: (&room).into(),
    }))
}

/// DELETE /api/rooms/{id}: 204. A public room is deleted, by its creator or an
/// administrator; a direct conversation is hidden from the caller's lobby (either person
/// may), never deleted.
pub async fn delete_room(
    user: CurrentUser,
    client: ClientAddr,
    room_id: web::Path<i32>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    chat.delete_room(&user, client, room_id.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
struct EnterAnswer<'a> {
    room: RoomJson<'a>,
    /// The latest entries, oldest first: poll on from the last one's id.
    messages: Vec<EntryJson<'a>>,
}

/// POST /api/rooms/{id}/enter: makes it the user's room (leaving any other); 200 with the
/// room and its latest entries, as the room page starts with.
pub async fn enter_room(
    user: CurrentUser,
    room_id: web::Path<i32>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let entered = chat.enter_and_read(&user, room_id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(EnterAnswer {
        room: (&entered.room).into(),
        messages: entries(&entered.history),
    }))
}

/// POST /api/rooms/{id}/leave: 204; out of the room if that is where the user is.
pub async fn leave_room(
    user: CurrentUser,
    room_id: web::Path<i32>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    chat.leave(&user, room_id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
