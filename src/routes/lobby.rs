//! The lobby: the list of rooms, and creating one.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::see_other;
use crate::auth::CurrentUser;
use crate::auth::client_addr::ClientAddr;
use crate::db::Db;
use crate::domain::RoomName;
use crate::errors::AppError;
use crate::live::Live;
use crate::routes::actions::{self, NameTaken};
use crate::routes::api;
use crate::templates::{Layout, LobbyPage, LobbyRoom, render};
use crate::throttle::Throttles;

#[derive(Deserialize)]
pub struct NewRoomForm {
    name: String,
}

#[derive(Deserialize)]
pub struct LobbyQuery {
    notice: Option<String>,
}

/// Why the room page sent the user here; only these fixed texts are ever shown.
fn notice(key: Option<&str>) -> Option<&'static str> {
    match key? {
        "deleted" => Some("The room you were in was deleted."),
        "moved" => Some("You left the room or entered another one in another tab or window."),
        _ => None,
    }
}

pub async fn lobby(
    _user: CurrentUser,
    query: web::Query<LobbyQuery>,
    db: web::Data<Db>,
    live: web::Data<Live>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let notice = notice(query.notice.as_deref());
    lobby_page(
        &db,
        &live,
        &session,
        notice,
        String::new(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn create_room(
    user: CurrentUser,
    client: ClientAddr,
    form: web::Form<NewRoomForm>,
    db: web::Data<Db>,
    live: web::Data<Live>,
    throttles: web::Data<Throttles>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let typed = form.into_inner().name;
    let name = match RoomName::parse(&typed) {
        Ok(name) => name,
        Err(invalid) => {
            return lobby_page(
                &db,
                &live,
                &session,
                None,
                typed,
                Some(invalid.0),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    match actions::create(&db, &live, &throttles, &user, client, name).await? {
        Ok(room) => Ok(see_other(&format!("/rooms/{}", room.id))),
        Err(NameTaken) => {
            let message = "A room with that name already exists.".to_owned();
            lobby_page(
                &db,
                &live,
                &session,
                None,
                typed,
                Some(message),
                StatusCode::CONFLICT,
            )
            .await
        }
    }
}

async fn lobby_page(
    db: &Db,
    live: &web::Data<Live>,
    session: &Session,
    notice: Option<&'static str>,
    new_room_name: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user = CurrentUser::from_session(session).ok_or(AppError::Unauthenticated)?;
    let rooms = api::lobby_rooms(db, live, user.id).await?;
    let present = live.presence.counts();
    let mut page = LobbyPage {
        layout: Layout::from_session(session),
        notice,
        active: Vec::new(),
        others: Vec::new(),
        direct: Vec::new(),
        new_room_name,
        error,
    };
    for room in rooms {
        let view = LobbyRoom {
            present: present.get(&room.id).copied().unwrap_or(0),
            id: room.id,
            name: room.name,
            creator: room.creator,
            unread: room.unread,
        };
        if room.direct {
            page.direct.push(view);
        } else if view.present > 0 {
            page.active.push(view);
        } else {
            page.others.push(view);
        }
    }
    render(&page, status)
}
