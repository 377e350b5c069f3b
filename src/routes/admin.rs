//! The administrators' pages (/admin) and API (/api/admin): registration and invitations,
//! users, rooms. Every handler takes an `Administrator`, so that to anyone else each of these
//! paths answers 404, as if it did not exist.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{LinkOrigin, see_other};
use crate::admin::{self, Actor};
use crate::auth::Administrator;
use crate::auth::client_addr::ClientAddr;
use crate::auth::session_store::SessionCache;
use crate::chat::Chat;
use crate::db::Db;
use crate::domain::{Page, RegistrationMode};
use crate::errors::AppError;
use crate::models::{RoomOverview, User};
use crate::templates::{AdminPage, AdminRoomsPage, AdminUsersPage, Layout, render, rfc3339};

/// The session key of an invitation link just made, which the next /admin shows once.
const NEW_LINK: &str = "new_invitation";

#[derive(Deserialize)]
pub struct Notice {
    notice: Option<String>,
}

/// What a redirect's `?notice=` key says on the page it lands on.
fn notice(key: Option<&str>) -> Option<String> {
    let text = match key? {
        "registration" => "Registration is saved.",
        "withdrawn" => "The invitation is withdrawn: its link no longer works.",
        "disabled" => "The account is disabled and all its sessions have ended.",
        "enabled" => "The account is enabled again.",
        "deleted" => "The room is deleted. Anyone inside was taken back to the lobby.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// GET /admin
pub async fn page(
    _: Administrator,
    query: web::Query<Notice>,
    db: web::Data<Db>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let overview = db.run(|conn| Ok(admin::overview(conn)?)).await?;
    let mut page = AdminPage::new(Layout::from_session(&session), overview);
    page.notice = notice(query.notice.as_deref());
    page.new_link = crate::auth::take_once(&session, NEW_LINK);
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct RegistrationForm {
    mode: String,
}

/// POST /admin/registration
pub async fn set_registration(
    admin: Administrator,
    form: web::Form<RegistrationForm>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let mode = RegistrationMode::parse(&form.mode)?;
    let actor = actor(&admin);
    db.run(move |conn| Ok(admin::set_registration(conn, &actor, mode)?))
        .await?;
    Ok(see_other("/admin?notice=registration"))
}

/// POST /admin/invitations: a new link, shown once on /admin.
pub async fn invite(
    admin: Administrator,
    db: web::Data<Db>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let actor = actor(&admin);
    let made = db.run(move |conn| Ok(admin::invite(conn, &actor)?)).await?;
    session
        .insert(NEW_LINK, invitation_link(&req, &made.token))
        .map_err(AppError::internal)?;
    Ok(see_other("/admin"))
}

/// The link as the person invited opens it: on the public URL, or else on the address the
/// administrator used.
fn invitation_link(req: &HttpRequest, token: &str) -> String {
    format!("{}/register?invite={token}", LinkOrigin::of(req))
}

/// POST /admin/invitations/{id}/withdraw
pub async fn withdraw(
    admin: Administrator,
    id: web::Path<i32>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let (actor, id) = (actor(&admin), id.into_inner());
    db.run(move |conn| Ok(admin::withdraw_invitation(conn, &actor, id)?))
        .await?;
    Ok(see_other("/admin?notice=withdrawn"))
}

#[derive(Deserialize)]
pub struct UserSearch {
    #[serde(default)]
    q: String,
    notice: Option<String>,
}

/// GET /admin/users?q=
pub async fn users(
    _: Administrator,
    query: web::Query<UserSearch>,
    db: web::Data<Db>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let UserSearch { q, notice: key } = query.into_inner();
    let search = q.trim().to_owned();
    let lookup = search.clone();
    let users = db.run(move |conn| Ok(admin::users(conn, &lookup)?)).await?;
    let mut page = AdminUsersPage::new(Layout::from_session(&session), search, users);
    page.notice = notice(key.as_deref());
    render(&page, StatusCode::OK)
}

/// POST /admin/users/{id}/disable
pub async fn disable(
    admin: Administrator,
    id: web::Path<i32>,
    db: web::Data<Db>,
    sessions: web::Data<dyn SessionCache>,
) -> Result<HttpResponse, AppError> {
    set_disabled(&admin, id.into_inner(), true, &db, &**sessions).await?;
    Ok(see_other("/admin/users?notice=disabled"))
}

/// POST /admin/users/{id}/enable
pub async fn enable(
    admin: Administrator,
    id: web::Path<i32>,
    db: web::Data<Db>,
    sessions: web::Data<dyn SessionCache>,
) -> Result<HttpResponse, AppError> {
    set_disabled(&admin, id.into_inner(), false, &db, &**sessions).await?;
    Ok(see_other("/admin/users?notice=enabled"))
}

/// Disables or enables the account; a disabled one's sessions stop working here at once
/// (other servers follow the revocation within a second).
async fn set_disabled(
    admin: &Administrator,
    user_id: i32,
    disabled: bool,
    db: &Db,
    sessions: &dyn SessionCache,
) -> Result<User, AppError> {
    let actor = actor(admin);
    let user = db
        .run(move |conn| Ok(admin::set_disabled(conn, &actor, user_id, disabled)?))
        .await?;
    if disabled {
        sessions.revoke_user(user.id).await;
    }
    let done = if disabled { "disabled" } else { "enabled" };
    log::info!("{} {done} the account of {}", admin.username, user.username);
    Ok(user)
}

#[derive(Deserialize)]
pub struct RoomsQuery {
    notice: Option<String>,
    /// Which page of rooms, from 1.
    page: Option<u32>,
}

/// GET /admin/rooms?page=N
pub async fn rooms(
    _: Administrator,
    query: web::Query<RoomsQuery>,
    db: web::Data<Db>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let page = Page::parse(query.page)?;
    let rooms = db.run(move |conn| Ok(admin::rooms(conn, page)?)).await?;
    let mut page = AdminRoomsPage::new(Layout::from_session(&session), rooms);
    page.notice = notice(query.notice.as_deref());
    render(&page, StatusCode::OK)
}

/// POST /admin/rooms/{id}/delete: as its creator's deletion, members inside are told.
pub async fn delete_room(
    admin: Administrator,
    id: web::Path<i32>,
    client: ClientAddr,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    chat.delete_room(&admin.as_user(), client, id.into_inner())
        .await?;
    Ok(see_other("/admin/rooms?notice=deleted"))
}

fn actor(admin: &Administrator) -> Actor {
    Actor::administrator(admin.id, &admin.username)
}

/// A user as the admin API (and `chatroom users list --json`) shows them.
#[derive(Serialize)]
pub struct UserJson<'a> {
    id: i32,
    username: &'a str,
    registered_at: String,
    last_seen_at: Option<String>,
    administrator: bool,
    disabled: bool,
}

impl<'a> From<&'a User> for UserJson<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            id: user.id,
            username: &user.username,
            registered_at: rfc3339(user.created_at),
            last_seen_at: user.last_seen_at.map(rfc3339),
            administrator: user.is_admin,
            disabled: user.disabled_at.is_some(),
        }
    }
}

/// A public room as the admin API (and `chatroom rooms list --json`) shows it.
#[derive(Serialize)]
pub struct RoomJson<'a> {
    id: i32,
    name: &'a str,
    creator: &'a str,
    messages: i64,
    created_at: String,
    last_activity_at: String,
}

impl<'a> From<&'a RoomOverview> for RoomJson<'a> {
    fn from(room: &'a RoomOverview) -> Self {
        Self {
            id: room.id,
            name: &room.name,
            creator: &room.creator,
            messages: room.messages,
            created_at: rfc3339(room.created_at),
            last_activity_at: rfc3339(room.last_activity_at),
        }
    }
}

/// GET /api/admin/users?q=: `{"users": [...]}`
pub async fn api_users(
    _: Administrator,
    query: web::Query<UserSearch>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let search = query.into_inner().q;
    let users = db
        .run(move |conn| Ok(admin::users(conn, search.trim())?))
        .await?;
    let users: Vec<UserJson> = users.iter().map(UserJson::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "users": users })))
}

/// POST /api/admin/users/{id}/disable: 200 with the user.
pub async fn api_disable(
    admin: Administrator,
    id: web::Path<i32>,
    db: web::Data<Db>,
    sessions: web::Data<dyn SessionCache>,
) -> Result<HttpResponse, AppError> {
    let user = set_disabled(&admin, id.into_inner(), true, &db, &**sessions).await?;
    Ok(HttpResponse::Ok().json(UserJson::from(&user)))
}

/// POST /api/admin/users/{id}/enable: 200 with the user.
pub async fn api_enable(
    admin: Administrator,
    id: web::Path<i32>,
    db: web::Data<Db>,
    sessions: web::Data<dyn SessionCache>,
) -> Result<HttpResponse, AppError> {
    let user = set_disabled(&admin, id.into_inner(), false, &db, &**sessions).await?;
    Ok(HttpResponse::Ok().json(UserJson::from(&user)))
}

#[derive(Deserialize)]
pub struct PageQuery {
    /// Which page of rooms, from 1.
    page: Option<u32>,
}

#[derive(Serialize)]
struct RoomsAnswer<'a> {
    rooms: Vec<RoomJson<'a>>,
    page: u32,
    /// The next page's number, only when more rooms follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u32>,
}

/// GET /api/admin/rooms?page=N: `{"rooms": [...], "page": N, "next": N + 1}`, as the lobby.
pub async fn api_rooms(
    _: Administrator,
    query: web::Query<PageQuery>,
    db: web::Data<Db>,
) -> Result<HttpResponse, AppError> {
    let page = Page::parse(query.page)?;
    let listed = db.run(move |conn| Ok(admin::rooms(conn, page)?)).await?;
    Ok(HttpResponse::Ok().json(RoomsAnswer {
        rooms: listed.rooms.iter().map(RoomJson::from).collect(),
        page: listed.page,
        next: listed.next,
    }))
}

/// DELETE /api/admin/rooms/{id}: 204.
pub async fn api_delete_room(
    admin: Administrator,
    id: web::Path<i32>,
    client: ClientAddr,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    chat.delete_room(&admin.as_user(), client, id.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
