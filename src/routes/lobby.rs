//! The lobby: the list of rooms, and creating one.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::see_other;
use crate::auth::CurrentUser;
use crate::auth::client_addr::ClientAddr;
use crate::chat::{Chat, Lobby};
use crate::domain::{Page, RoomName};
use crate::errors::AppError;
use crate::templates::{Layout, LobbyPage, Sidebar, render};

#[derive(Deserialize)]
pub struct LobbyQuery {
    /// Why the room page sent the user here: "deleted" or "moved".
    notice: Option<String>,
    /// With "deleted": the room that was deleted, whose name the notice gives.
    room: Option<i32>,
    /// Which page of rooms, from 1.
    page: Option<u32>,
}

/// The session key of the lobby's notice, shown by the next lobby page, once.
const LOBBY_NOTICE: &str = "lobby_notice";

/// GET /lobby. With `?notice=`, the notice goes into the session and the answer is a 303 to
/// a clean /lobby that shows it once: a reload shows nothing. Its text is the server's own
/// (a deleted room's name comes from the server's record of it), never the URL's.
pub async fn lobby(
    user: CurrentUser,
    query: web::Query<LobbyQuery>,
    chat: web::Data<Chat>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    if let Some(key) = query.notice.as_deref() {
        let deleted = match (key, query.room) {
            ("deleted", Some(room)) => chat.deleted_room_name(room).await?,
            _ => None,
        };
        if let Some(text) = LobbyPage::notice(key, deleted.as_deref()) {
            session
                .insert(LOBBY_NOTICE, text)
                .map_err(AppError::internal)?;
        }
        return Ok(see_other("/lobby"));
    }
    let lobby = chat.lobby(&user, Page::parse(query.page)?).await?;
    let layout = shell(&session, &chat, &user, &lobby).await?;
    let mut page = LobbyPage::new(layout, lobby);
    let flash = crate::auth::take_once(&session, super::auth::FLASH);
    page.notice = match flash.as_deref() {
        Some("administrator") => Some(LobbyPage::SETUP_ACCOUNT.to_owned()),
        _ => crate::auth::take_once(&session, LOBBY_NOTICE),
    };
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct NewRoomForm {
    name: String,
}

/// POST /rooms: into the new room; a refused name comes back in the lobby's form, with the
/// reason and the refusal's status.
pub async fn create_room(
    user: CurrentUser,
    client: ClientAddr,
    form: web::Form<NewRoomForm>,
    chat: web::Data<Chat>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let created = match RoomName::parse(&form.name) {
        Ok(name) => chat.create_room(&user, client, name).await,
        Err(invalid) => Err(invalid.into()),
    };
    let refusal = match created {
        Ok(room) => return Ok(see_other(&format!("/rooms/{}", room.id))),
        Err(err @ (AppError::BadRequest(_) | AppError::Conflict(_))) => err,
        Err(other) => return Err(other),
    };
    let lobby = chat.lobby(&user, Page::FIRST).await?;
    let layout = shell(&session, &chat, &user, &lobby).await?;
    let mut page = LobbyPage::new(layout, lobby);
    page.refused(form.into_inner().name, &refusal);
    render(&page, actix_web::ResponseError::status_code(&refusal))
}

/// The lobby's layout: its sidebar from the lobby already read when that is the first page.
async fn shell(
    session: &Session,
    chat: &Chat,
    user: &CurrentUser,
    lobby: &Lobby,
) -> Result<Layout, AppError> {
    let sidebar = match lobby.page {
        1 => Sidebar::new(lobby),
        _ => Sidebar::new(&chat.lobby(user, Page::FIRST).await?),
    };
    Ok(Layout::shell(session, sidebar))
}
