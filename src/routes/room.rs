//! A room's page, leaving it, deleting it, and opening a direct conversation.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{actions, see_other, write};
use crate::auth::CurrentUser;
use crate::auth::client_addr::ClientAddr;
use crate::db::Db;
use crate::domain::Username;
use crate::errors::AppError;
use crate::live::Live;
use crate::models::{Kind, Room};
use crate::templates::{EntryView, Layout, RoomPage, render};

/// How much history a room page starts with; "load older" fetches the rest.
pub const HISTORY: i64 = 200;

/// Opening a room makes it the user's current room, taking them out of any other.
pub async fn show(
    user: CurrentUser,
    room_id: web::Path<i32>,
    db: web::Data<Db>,
    live: web::Data<Live>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let actions::Entered {
        room,
        last_read,
        history,
    } = actions::enter(&db, &live, &user, room_id.into_inner()).await?;
    let last_id = history.last().map_or(0, |e| e.id);
    let first_unread = last_read.and_then(|read| {
        history
            .iter()
            .find(|e| e.id > read && e.kind == Kind::Message && e.author_id != user.id)
            .map(|e| e.id)
    });
    let is_creator = room.creator_id == user.id;
    let page = RoomPage {
        layout: Layout::from_session(&session),
        room_id: room.id,
        room_name: room.name,
        is_direct: room.is_direct,
        is_creator,
        first_unread,
        last_id,
        first_id: history.first().map_or(0, |e| e.id),
        has_older: history.len() as i64 >= HISTORY,
        entries: history
            .into_iter()
            .filter(|e| e.kind != Kind::Deleted)
            .map(|e| EntryView::new(e, user.id, is_creator))
            .collect(),
    };
    render(&page, StatusCode::OK)
}

pub async fn leave(
    user: CurrentUser,
    room_id: web::Path<i32>,
    db: web::Data<Db>,
    live: web::Data<Live>,
) -> Result<HttpResponse, AppError> {
    actions::leave(&db, &live, &user, room_id.into_inner()).await?;
    Ok(see_other("/lobby"))
}

pub async fn delete(
    user: CurrentUser,
    client: ClientAddr,
    room_id: web::Path<i32>,
    db: web::Data<Db>,
    live: web::Data<Live>,
) -> Result<HttpResponse, AppError> {
    actions::delete(&db, &live, &user, client, room_id.into_inner()).await?;
    Ok(see_other("/lobby"))
}

#[derive(Deserialize)]
pub struct DirectForm {
    username: String,
}

/// POST /direct: opens (creating the first time) a private conversation with another user.
pub async fn direct(
    user: CurrentUser,
    form: web::Form<DirectForm>,
    db: web::Data<Db>,
    live: web::Data<Live>,
) -> Result<HttpResponse, AppError> {
    let other = Username::parse(&form.username).map_err(|_| AppError::NotFound)?;
    let room = write(&db, &live, move |conn, changes| {
        Ok(Room::open_direct(conn, user.id, &other, changes)?)
    })
    .await?;
    Ok(see_other(&format!("/rooms/{}", room.id)))
}
