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

#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(Debug, PartialEq, Eq))]
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

impl LogQuery {
    /// Reads a query string by hand when it is plain (`after=N`, as every poll sends): the
    /// form decoder cost a poll about 1,300 instructions, 3% of it. Anything else (an escape,
    /// a `+`, a key twice) goes through the decoder, which answers as it always did.
    fn parse(query: &str) -> Result<Self, AppError> {
        Self::parse_plain(query).map_or_else(
            || {
                web::Query::<Self>::from_query(query)
                    .map(web::Query::into_inner)
                    .map_err(|err| {
                        AppError::BadRequest(format!("The query is not understood: {err}."))
                    })
            },
            Ok,
        )
    }

    fn parse_plain(query: &str) -> Option<Self> {
        if query.contains(['%', '+']) {
            return None;
        }
        let mut out = Self::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match key {
                "after" => &mut out.after,
                "before" => &mut out.before,
                "around" => &mut out.around,
                "typing" => &mut out.typing,
                "people_tag" => &mut out.people_tag,
                _ => continue,
            };
            if slot.replace(value.to_owned()).is_some() {
                return None;
            }
        }
        Some(out)
    }
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
    request: HttpRequest,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    let query = LogQuery::parse(request.query_string())?;
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
/// "attention": {...}}`, assembled from each entry's JSON, made once for all who poll it (see
/// `live::Held`), and the room's presence JSON, made once per snapshot and shared by the
/// room's pollers; without `present` and `typing` when the page already shows them (`shown`
/// is their tag). The empty poll, by far the most common answer, skips the serializer.
fn poll_answer(polled: &Polled, shown: Option<&str>) -> Result<HttpResponse, AppError> {
    let messages: Cow<str> = match polled.entries.is_empty() {
        true => Cow::Borrowed("[]"),
        false => {
            let mut list = String::from("[");
            for (i, held) in polled.entries.iter().enumerate() {
                if i > 0 {
                    list.push(',');
                }
                list.push_str(
                    held.json(|e| serde_json::to_string(&EntryJson::from(e)))
                        .map_err(AppError::internal)?,
                );
            }
            list.push(']');
            list.into()
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_query_reads_by_hand_as_the_form_decoder_reads_it() {
        let decoded = |query: &str| {
            web::Query::<LogQuery>::from_query(query)
                .map(web::Query::into_inner)
                .ok()
        };
        for query in [
            "",
            "after=12",
            "after=0&typing=1&people_tag=00ff00ff00ff00ff",
            "typing&after=3",
            "after=&&before=9&around=4",
            "after=1&unknown=x&other",
            "after=%31%32&people_tag=a+b",
            "after=1&after=2",
            "after=-1",
        ] {
            assert_eq!(LogQuery::parse(query).ok(), decoded(query), "{query:?}");
        }
        assert_eq!(
            LogQuery::parse_plain("after=7&typing=1"),
            Some(LogQuery {
                after: Some("7".into()),
                typing: Some("1".into()),
                ..LogQuery::default()
            }),
            "read by hand"
        );
        assert_eq!(LogQuery::parse_plain("after=%37"), None, "escaped: decoded");
        assert_eq!(
            LogQuery::parse_plain("after=1&after=2"),
            None,
            "twice: refused"
        );
        assert!(matches!(
            LogQuery::parse("after=1&after=2"),
            Err(AppError::BadRequest(_))
        ));
    }
}
