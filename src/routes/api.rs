//! The JSON API the poller (and any other client) speaks. Errors come out as
//! `{"error": code, "message": text}` (see errors.rs).

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::auth::client_addr::ClientAddr;
use crate::db::Db;
use crate::domain::{ClientId, MessageText, RoomName};
use crate::errors::AppError;
use crate::live::Live;
use crate::live::{Known, TAIL};
use crate::models::{LogEntry, ModelError, NewPost, Room, RoomListing};
use crate::poster::Poster;
use crate::routes::actions::{self, NameTaken};
use crate::routes::{save_read_marks, write};
use crate::templates::rfc3339;
use crate::throttle::Throttles;

/// The most entries one poll answers with; the client asks again from the last id it got.
pub const PAGE_LIMIT: i64 = 500;

/// A log entry as the API shows it.
#[derive(Serialize)]
pub struct EntryJson<'a> {
    id: i32,
    /// "message", "joined", "left" or "deleted".
    kind: &'static str,
    author: &'a str,
    /// Empty for anything but a message that was not deleted.
    text: &'a str,
    sent_at: String,
    /// For "deleted": the id of the message that was deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<i32>,
    /// For a message: true once it was deleted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
}

impl<'a> From<&'a LogEntry> for EntryJson<'a> {
    fn from(e: &'a LogEntry) -> Self {
        Self {
            id: e.id,
            kind: e.kind.as_str(),
            sent_at: rfc3339(e.sent_at),
            author: &e.author,
            text: &e.body,
            target: e.target,
            deleted: e.deleted,
        }
    }
}

fn entries(log: &[LogEntry]) -> Vec<EntryJson<'_>> {
    log.iter().map(EntryJson::from).collect()
}

#[derive(Serialize)]
struct HistoryAnswer<'a> {
    messages: Vec<EntryJson<'a>>,
}

#[derive(Serialize)]
struct PostAnswer<'a> {
    message: EntryJson<'a>,
}

#[derive(Deserialize)]
pub struct LogQuery {
    after: Option<String>,
    before: Option<String>,
    /// "1" while the user is typing: the poll carries it, so typing costs no request.
    typing: Option<String>,
}

/// A cursor: a non-negative integer. Ids are i32 in the schema; a larger cursor is past every
/// id there can be.
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
/// typing); `before=N` pages back through older history.
pub async fn log(
    user: CurrentUser,
    room_id: web::Path<i32>,
    query: web::Query<LogQuery>,
    db: web::Data<Db>,
    live: web::Data<Live>,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    let after = cursor(query.after.as_deref(), "after")?;
    if let Some(before) = cursor(query.before.as_deref(), "before")? {
        let older = db
            .run(move |conn| Ok(LogEntry::before(conn, room_id, user.id, before)?))
            .await?;
        return Ok(HttpResponse::Ok().json(HistoryAnswer {
            messages: entries(&older),
        }));
    }
    let after = after.unwrap_or(0);
    let typing = query.typing.as_deref() == Some("1");
    // Most polls are answered from memory, with no database and no thread hop.
    let limit = PAGE_LIMIT as usize;
    let new: Vec<Arc<LogEntry>> = match live.directory.poll(room_id, user.id, after, limit) {
        Some(Known::Deleted) => return Err(ModelError::Deleted.into()),
        Some(Known::Entries(entries)) => entries,
        None => {
            let (user_id, moves) = (user.id, live.directory.moves(user.id));
            let fill = !live.directory.has_tail(room_id);
            let shared = live.clone().into_inner();
            let new = db
                .run(move |conn| {
                    let new = LogEntry::since(conn, room_id, user_id, after, PAGE_LIMIT)?;
                    if fill {
                        let _turn = shared.log_turn();
                        let latest = LogEntry::latest(conn, room_id, TAIL as i64)?;
                        shared.directory.fill(room_id, latest);
                    }
                    Ok(new)
                })
                .await?;
            live.directory.learned(room_id, user_id, moves);
            new.into_iter().map(Arc::new).collect()
        }
    };
    live.presence
        .polled(room_id, user.id, &user.username, typing);
    if let Some(last) = new.last() {
        live.reads.saw(user.id, room_id, last.id);
    }
    // The answer is assembled around the room's presence JSON, made once per snapshot.
    let people = live.presence.snapshot(room_id);
    let messages: Vec<EntryJson> = new.iter().map(|e| EntryJson::from(&**e)).collect();
    let messages = serde_json::to_string(&messages).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(format!("{{\"messages\":{messages},{}}}", people.1)))
}

#[derive(Deserialize)]
pub struct NewMessage {
    text: String,
    /// The client's name for this message: a retry with the same one is not stored twice.
    /// The Idempotency-Key header does the same.
    client_id: Option<String>,
}

pub async fn post_message(
    user: CurrentUser,
    room_id: web::Path<i32>,
    req: HttpRequest,
    body: web::Json<NewMessage>,
    throttles: web::Data<Throttles>,
    live: web::Data<Live>,
    poster: web::Data<Poster>,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    let text = MessageText::parse(&body.text)?;
    let header_key = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let client_id = body
        .client_id
        .as_deref()
        .or(header_key)
        .map(ClientId::parse)
        .transpose()
        .map_err(|invalid| AppError::BadRequest(invalid.0))?;
    throttles.messages.hit(&user.id.to_string())?;
    let message = poster
        .post(NewPost {
            room_id,
            author_id: user.id,
            text,
            client_id,
        })
        .await?;
    live.presence.sent(room_id, user.id);
    Ok(HttpResponse::Created().json(PostAnswer {
        message: (&message).into(),
    }))
}

/// DELETE /api/rooms/{id}/messages/{message}: by its author or the room's creator.
pub async fn delete_message(
    user: CurrentUser,
    path: web::Path<(i32, i32)>,
    db: web::Data<Db>,
    live: web::Data<Live>,
) -> Result<HttpResponse, AppError> {
    let (room_id, message_id) = path.into_inner();
    write(&db, &live, move |conn, changes| {
        Ok(LogEntry::delete_message(
            conn, room_id, message_id, user.id, changes,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
pub struct LobbyRoomJson {
    id: i32,
    name: String,
    creator: String,
    direct: bool,
    present: usize,
    unread: i64,
}

#[derive(Serialize)]
struct LobbyAnswer {
    rooms: Vec<LobbyRoomJson>,
}

/// GET /api/lobby: the lobby's list, for refreshing it without a reload.
pub async fn lobby(
    user: CurrentUser,
    db: web::Data<Db>,
    live: web::Data<Live>,
) -> Result<HttpResponse, AppError> {
    let rooms = lobby_rooms(&db, &live, user.id).await?;
    let present = live.presence.counts();
    let rooms = rooms
        .into_iter()
        .map(|r| LobbyRoomJson {
            present: present.get(&r.id).copied().unwrap_or(0),
            id: r.id,
            name: r.name,
            creator: r.creator,
            direct: r.direct,
            unread: r.unread,
        })
        .collect();
    Ok(HttpResponse::Ok().json(LobbyAnswer { rooms }))
}

/// The rooms a user's lobby lists, with read marks brought up to date first.
pub async fn lobby_rooms(
    db: &Db,
    live: &web::Data<Live>,
    user_id: i32,
) -> Result<Vec<RoomListing>, AppError> {
    save_read_marks(db, live, user_id).await?;
    db.run(move |conn| Ok(Room::lobby(conn, user_id)?)).await
}

#[derive(Serialize)]
struct RoomJson {
    id: i32,
    name: String,
    creator_id: i32,
    direct: bool,
}

impl From<Room> for RoomJson {
    fn from(room: Room) -> Self {
        Self {
            id: room.id,
            name: room.name,
            creator_id: room.creator_id,
            direct: room.is_direct,
        }
    }
}

#[derive(Serialize)]
struct RoomAnswer {
    room: RoomJson,
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
    db: web::Data<Db>,
    live: web::Data<Live>,
    throttles: web::Data<Throttles>,
) -> Result<HttpResponse, AppError> {
    let name = RoomName::parse(&body.name).map_err(|invalid| AppError::BadRequest(invalid.0))?;
    match actions::create(&db, &live, &throttles, &user, client, name).await? {
        Ok(room) => Ok(HttpResponse::Created().json(RoomAnswer { room: room.into() })),
        Err(NameTaken) => Err(AppError::Conflict(
            "A room with that name already exists.".into(),
        )),
    }
}

/// DELETE /api/rooms/{id}: 204; only the creator may.
pub async fn delete_room(
    user: CurrentUser,
    client: ClientAddr,
    room_id: web::Path<i32>,
    db: web::Data<Db>,
    live: web::Data<Live>,
) -> Result<HttpResponse, AppError> {
    actions::delete(&db, &live, &user, client, room_id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
struct EnterAnswer<'a> {
    room: RoomJson,
    /// The latest entries, oldest first: poll on from the last one's id.
    messages: Vec<EntryJson<'a>>,
}

/// POST /api/rooms/{id}/enter: makes it the user's room (leaving any other); 200 with the
/// room and its latest entries, as the room page starts with.
pub async fn enter_room(
    user: CurrentUser,
    room_id: web::Path<i32>,
    db: web::Data<Db>,
    live: web::Data<Live>,
) -> Result<HttpResponse, AppError> {
    let entered = actions::enter(&db, &live, &user, room_id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(EnterAnswer {
        messages: entries(&entered.history),
        room: entered.room.into(),
    }))
}

/// POST /api/rooms/{id}/leave: 204; out of the room if that is where the user is.
pub async fn leave_room(
    user: CurrentUser,
    room_id: web::Path<i32>,
    db: web::Data<Db>,
    live: web::Data<Live>,
) -> Result<HttpResponse, AppError> {
    actions::leave(&db, &live, &user, room_id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
