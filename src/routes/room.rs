//! A room's page, leaving it, and deleting it.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::see_other;
use crate::auth::CurrentUser;
use crate::auth::client_addr::ClientAddr;
use crate::db::Db;
use crate::errors::AppError;
use crate::models::{Message, Room, User};
use crate::templates::{Layout, MessageView, RoomPage, render};

/// How much history a room page starts with; older messages are not shown.
pub const HISTORY: i64 = 200;

/// Opening a room makes it the user's current room, taking them out of any other.
pub async fn show(
    user: CurrentUser,
    room_id: web::Path<i32>,
    db: web::Data<Db>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    let (room, history) = db
        .run(move |conn| {
            let room = Room::enter(conn, room_id, user.id)?;
            let history = Message::latest(conn, room.id, HISTORY)?;
            Ok((room, history))
        })
        .await?;
    let page = RoomPage {
        layout: Layout::from_session(&session),
        room_id: room.id,
        room_name: room.name,
        is_creator: room.creator_id == user.id,
        last_id: history.last().map_or(0, |m| m.id),
        messages: history.into_iter().map(MessageView::from).collect(),
    };
    render(&page, StatusCode::OK)
}

pub async fn leave(
    user: CurrentUser,
    room_id: web::Path<i32>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    db.run(move |conn| Ok(User::leave_room(conn, user.id, room_id)?))
        .await?;
    Ok(see_other("/lobby"))
}

pub async fn delete(
    user: CurrentUser,
    client: ClientAddr,
    room_id: web::Path<i32>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let room_id = room_id.into_inner();
    let user_id = user.id;
    let room = db
        .run(move |conn| Ok(Room::delete(conn, room_id, user_id)?))
        .await?;
    log::info!(
        "{} deleted room {} {:?} from {client}",
        user.username,
        room.id,
        room.name
    );
    Ok(see_other("/lobby"))
}
