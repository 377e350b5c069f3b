//! The administrators' pages (/admin) and API (/api/admin): registration and invitations,
//! users, rooms. Every handler takes an `Administrator`, so that to anyone else each of these
//! paths answers 404, as if it did not exist.

use super::NoticeQuery;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::shell::Shell;
use super::{LinkOrigin, see_other};
use crate::admin::Admin;
use crate::auth::Administrator;
use crate::auth::client_addr::ClientAddr;
use crate::domain::{Page, RegistrationMode};
use crate::errors::AppError;
use crate::json::{RoomOverviewJson, UserJson};
use crate::templates::{AdminPage, AdminRoomsPage, AdminUsersPage, render};

/// The session key of an invitation link just made, which the next /admin shows once.
const NEW_LINK: &str = "new_invitation";

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
    query: web::Query<NoticeQuery>,
    admin: web::Data<Admin>,
    session: Session,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    let overview = admin.overview().await?;
    let mut page = AdminPage::new(shell.0, overview);
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
    administrator: Administrator,
    form: web::Form<RegistrationForm>,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    let mode = RegistrationMode::parse(&form.mode)?;
    admin.set_registration(&administrator, mode).await?;
    Ok(see_other("/admin?notice=registration"))
}

/// POST /admin/invitations: a new link, shown once on /admin.
pub async fn invite(
    administrator: Administrator,
    admin: web::Data<Admin>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let made = admin.invite(&administrator).await?;
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
    administrator: Administrator,
    id: web::Path<i32>,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    admin
        .withdraw_invitation(&administrator, id.into_inner())
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
    admin: web::Data<Admin>,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    let UserSearch { q, notice: key } = query.into_inner();
    let users = admin.users(&q).await?;
    let search = q.trim().to_owned();
    let mut page = AdminUsersPage::new(shell.0, search, users);
    page.notice = notice(key.as_deref());
    render(&page, StatusCode::OK)
}

/// POST /admin/users/{id}/disable
pub async fn disable(
    administrator: Administrator,
    id: web::Path<i32>,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    admin
        .disable_account(&administrator, id.into_inner(), true)
        .await?;
    Ok(see_other("/admin/users?notice=disabled"))
}

/// POST /admin/users/{id}/enable
pub async fn enable(
    administrator: Administrator,
    id: web::Path<i32>,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    admin
        .disable_account(&administrator, id.into_inner(), false)
        .await?;
    Ok(see_other("/admin/users?notice=enabled"))
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
    admin: web::Data<Admin>,
    shell: Shell,
) -> Result<HttpResponse, AppError> {
    let page = Page::parse(query.page)?;
    let rooms = admin.rooms(page).await?;
    let mut page = AdminRoomsPage::new(shell.0, rooms);
    page.notice = notice(query.notice.as_deref());
    render(&page, StatusCode::OK)
}

/// POST /admin/rooms/{id}/delete: as its creator's deletion, members inside are told.
pub async fn delete_room(
    administrator: Administrator,
    id: web::Path<i32>,
    client: ClientAddr,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    admin
        .delete_room(&administrator, client, id.into_inner())
        .await?;
    Ok(see_other("/admin/rooms?notice=deleted"))
}

/// GET /api/admin/users?q=: `{"users": [...]}`
pub async fn api_users(
    _: Administrator,
    query: web::Query<UserSearch>,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    let users = admin.users(&query.q).await?;
    let users: Vec<UserJson> = users.iter().map(UserJson::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "users": users })))
}

/// POST /api/admin/users/{id}/disable: 200 with the user.
pub async fn api_disable(
    administrator: Administrator,
    id: web::Path<i32>,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    let user = admin
        .disable_account(&administrator, id.into_inner(), true)
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(&user)))
}

/// POST /api/admin/users/{id}/enable: 200 with the user.
pub async fn api_enable(
    administrator: Administrator,
    id: web::Path<i32>,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    let user = admin
        .disable_account(&administrator, id.into_inner(), false)
        .await?;
    Ok(HttpResponse::Ok().json(UserJson::from(&user)))
}

#[derive(Deserialize)]
pub struct PageQuery {
    /// Which page of rooms, from 1.
    page: Option<u32>,
}

#[derive(Serialize)]
struct RoomsAnswer<'a> {
    rooms: Vec<RoomOverviewJson<'a>>,
    page: u32,
    /// The next page's number, only when more rooms follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u32>,
}

/// GET /api/admin/rooms?page=N: `{"rooms": [...], "page": N, "next": N + 1}`, as the lobby.
pub async fn api_rooms(
    _: Administrator,
    query: web::Query<PageQuery>,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    let listed = admin.rooms(Page::parse(query.page)?).await?;
    Ok(HttpResponse::Ok().json(RoomsAnswer {
        rooms: listed.rooms.iter().map(RoomOverviewJson::from).collect(),
        page: listed.page,
        next: listed.next,
    }))
}

/// DELETE /api/admin/rooms/{id}: 204.
pub async fn api_delete_room(
    administrator: Administrator,
    id: web::Path<i32>,
    client: ClientAddr,
    admin: web::Data<Admin>,
) -> Result<HttpResponse, AppError> {
    admin
        .delete_room(&administrator, client, id.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
