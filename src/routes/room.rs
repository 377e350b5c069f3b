//! A room's page, entering and leaving it, deleting it, and opening a direct conversation.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::see_other;
use super::shell::Shell;
use crate::auth::CurrentUser;
use crate::auth::client_addr::ClientAddr;
use crate::chat::{Chat, RoomView};
use crate::domain::LoginName;
use crate::errors::AppError;
use crate::templates::{EnterPage, RoomPage, render};

/// GET /rooms/{id}: the room to someone inside it; to anyone else who may see it, its name
/// and an Enter button. Changes nothing.
pub async fn show(
    user: CurrentUser,
    room_id: web::Path<i32>,
    chat: web::Data<Chat>,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    match chat.show(&user, room_id.into_inner(), None).await? {
        RoomView::Inside(inside) => {
            let layout = shell.in_room(inside.room.id);
            render(&RoomPage::new(layout, inside, &user), StatusCode::OK)
        }
        RoomView::Outside(room, title) => {
            render(&EnterPage::new(shell.0, &room, title), StatusCode::OK)
        }
    }
}

/// POST /rooms/{id}/enter: into the room (out of any other), then its page.
pub async fn enter(
    user: CurrentUser,
    room_id: web::Path<i32>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let room = chat.enter(&user, room_id.into_inner()).await?;
    Ok(see_other(&format!("/rooms/{}", room.id)))
}

pub async fn leave(
    user: CurrentUser,
    room_id: web::Path<i32>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    chat.leave(&user, room_id.into_inner()).await?;
    Ok(see_other("/lobby"))
}

/// POST /rooms/{id}/delete: deletes a public room (its creator or an administrator), or hides
/// a direct conversation from the user's lobby; then the lobby.
pub async fn delete(
    user: CurrentUser,
    client: ClientAddr,
    room_id: web::Path<i32>,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    chat.delete_room(&user, client, room_id.into_inner())
        .await?;
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
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    // Any name an account may have, older rules' included: who is unknown is not found.
    let other = LoginName::parse(&form.username).ok_or(AppError::NotFound)?;
    let room = chat.open_direct(&user, other).await?;
    Ok(see_other(&format!("/rooms/{}", room.id)))
}
