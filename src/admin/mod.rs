//! The administration service: what the people who run the server do from /admin and
//! /api/admin (users, rooms, registration, invitations, the audit log). The operations
//! themselves are in `audited`, which the server's command line calls as well; this adds what
//! a running server must also do: tell the sessions and presence of a disabled account, and
//! delete rooms through `chat`, so that the members inside hear of it at once.

pub mod audited;
pub mod bots;

use std::sync::Arc;

use crate::accounts::Accounts;
use crate::auth::Administrator;
use crate::auth::client_addr::ClientAddr;
use crate::chat::Chat;
use crate::db::Db;
use crate::domain::{Page, RegistrationMode};
use crate::errors::AppError;
use crate::models::User;
pub use audited::{
    AUDIT_SHOWN, Actor, INVITATION_VALID, NewInvitation, Overview, ROOMS_PAGE, RoomsPage,
    SERVER_COMMAND, USERS_SHOWN,
};

pub struct Admin {
    db: Db,
    /// Deletes rooms, so that their members hear of it at once.
    chat: Arc<Chat>,
    /// Forgets a disabled account's sessions and presence.
    accounts: Arc<Accounts>,
}

impl Admin {
    pub fn new(db: Db, chat: Arc<Chat>, accounts: Arc<Accounts>) -> Self {
        Self { db, chat, accounts }
    }

    /// What the admin page's front shows: registration, unused invitations, the audit log.
    pub async fn overview(&self) -> Result<Overview, AppError> {
        self.db.run(|conn| Ok(audited::overview(conn)?)).await
    }

    /// Up to `USERS_SHOWN` users whose name contains `search` (trimmed), by name.
    pub async fn users(&self, search: &str) -> Result<Vec<User>, AppError> {
        let search = search.trim().to_owned();
        self.db
            .run(move |conn| Ok(audited::users(conn, &search)?))
            .await
    }

    /// A page of the public rooms, the most recently active first.
    pub async fn rooms(&self, page: Page) -> Result<RoomsPage, AppError> {
        self.db
            .run(move |conn| Ok(audited::rooms(conn, page)?))
            .await
    }

    /// Who may register from now on.
    pub async fn set_registration(
        &self,
        admin: &Administrator,
        mode: RegistrationMode,
    ) -> Result<(), AppError> {
        let actor = actor(admin);
        self.db
            .run(move |conn| Ok(audited::set_registration(conn, &actor, mode)?))
            .await
    }

    /// A new single-use invitation; its token is known only now.
    pub async fn invite(&self, admin: &Administrator) -> Result<NewInvitation, AppError> {
        let actor = actor(admin);
        self.db
            .run(move |conn| Ok(audited::invite(conn, &actor)?))
            .await
    }

    /// Withdraws an unused invitation: its link no longer works.
    pub async fn withdraw_invitation(
        &self,
        admin: &Administrator,
        id: i32,
    ) -> Result<(), AppError> {
        let actor = actor(admin);
        self.db
            .run(move |conn| Ok(audited::withdraw_invitation(conn, &actor, id)?))
            .await
    }

    /// Disables or enables the account; returns the user as they are now. A disabled one's
    /// sessions stop working here at once (other servers follow the revocation within a
    /// second), and nobody sees them present any more.
    pub async fn disable_account(
        &self,
        admin: &Administrator,
        user_id: i32,
        disabled: bool,
    ) -> Result<User, AppError> {
        let actor = actor(admin);
        let user = self
            .db
            .run(move |conn| Ok(audited::set_disabled(conn, &actor, user_id, disabled)?))
            .await?;
        if disabled {
            self.accounts.all_sessions_ended(user.id).await;
        }
        let done = if disabled { "disabled" } else { "enabled" };
        log::info!("{} {done} the account of {}", admin.username, user.username);
        Ok(user)
    }

    /// Deletes a public room as its creator would: the members inside are told.
    pub async fn delete_room(
        &self,
        admin: &Administrator,
        client: ClientAddr,
        room_id: i32,
    ) -> Result<(), AppError> {
        self.chat
            .delete_room(&admin.as_user(), client, room_id)
            .await?;
        Ok(())
    }
}

fn actor(admin: &Administrator) -> Actor {
    Actor::administrator(admin.id, &admin.username)
}
