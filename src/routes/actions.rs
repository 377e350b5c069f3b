//! What people do with rooms, shared by the pages and the JSON API so that both follow the
//! same rules, limits and audit log; each handler only shapes the answer.

use actix_web::web;

use super::{with_read_marks_saved, write};
use crate::auth::CurrentUser;
use crate::auth::client_addr::ClientAddr;
use crate::db::Db;
use crate::domain::RoomName;
use crate::errors::AppError;
use crate::live::Live;
use crate::models::{LogEntry, ModelError, Room};
use crate::routes::room::HISTORY;
use crate::throttle::Throttles;

/// The name was taken (in any letter case).
pub struct NameTaken;

pub async fn create(
    db: &Db,
    live: &web::Data<Live>,
    throttles: &Throttles,
    user: &CurrentUser,
    client: ClientAddr,
    name: RoomName,
) -> Result<Result<Room, NameTaken>, AppError> {
    throttles.rooms.hit(&user.id.to_string())?;
    let creator = user.id;
    let created = write(db, live, move |conn, changes| {
        Ok(Room::create(conn, &name, creator, changes))
    })
    .await?;
    match created {
        Ok(room) => {
            log::info!(
                "{} created room {} {:?} from {client}",
                user.username,
                room.id,
                room.name
            );
            Ok(Ok(room))
        }
        Err(ModelError::NameTaken) => Ok(Err(NameTaken)),
        Err(other) => Err(other.into()),
    }
}

/// A room just entered: its latest entries, and the last one the user had read before.
pub struct Entered {
    pub room: Room,
    pub last_read: Option<i32>,
    pub history: Vec<LogEntry>,
}

/// Makes the room the user's room (leaving any other); they have now read all of it.
pub async fn enter(
    db: &Db,
    live: &web::Data<Live>,
    user: &CurrentUser,
    room_id: i32,
) -> Result<Entered, AppError> {
    let user_id = user.id;
    let entered = with_read_marks_saved(db, live, user_id, move |conn, changes| {
        let (room, last_read) = Room::enter(conn, room_id, user_id, changes)?;
        let history = LogEntry::latest(conn, room.id, HISTORY)?;
        Ok(Entered {
            room,
            last_read,
            history,
        })
    })
    .await?;
    let last_id = entered.history.last().map_or(0, |e| e.id);
    live.reads.saw(user.id, entered.room.id, last_id);
    Ok(entered)
}

pub async fn leave(
    db: &Db,
    live: &web::Data<Live>,
    user: &CurrentUser,
    room_id: i32,
) -> Result<(), AppError> {
    let user_id = user.id;
    write(db, live, move |conn, changes| {
        Ok(Room::leave(conn, room_id, user_id, changes)?)
    })
    .await?;
    live.presence.left(room_id, user.id);
    Ok(())
}

/// Only the creator may.
pub async fn delete(
    db: &Db,
    live: &web::Data<Live>,
    user: &CurrentUser,
    client: ClientAddr,
    room_id: i32,
) -> Result<Room, AppError> {
    let user_id = user.id;
    let room = write(db, live, move |conn, changes| {
        Ok(Room::delete(conn, room_id, user_id, changes)?)
    })
    .await?;
    log::info!(
        "{} deleted room {} {:?} from {client}",
        user.username,
        room.id,
        room.name
    );
    Ok(room)
}
