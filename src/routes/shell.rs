//! The app shell around every logged-in page: its layout, with the sidebar read from the
//! reader's lobby. An extractor, so that a page handler asks for it as it asks for the user.

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::CurrentUser;
use crate::chat::Chat;
use crate::domain::Page;
use crate::errors::AppError;
use crate::templates::{Layout, Sidebar};

/// The layout of a logged-in page, with its sidebar. Without a login (or before a one-time
/// password is replaced, when only the account page opens) there is no sidebar: the page's
/// own extractor decides whether such a reader may see it at all.
pub struct Shell(pub Layout);

impl Shell {
    /// The room the reader is in: marked in the sidebar, and never counted unread.
    pub fn in_room(mut self, room_id: i32) -> Layout {
        if let Some(sidebar) = &mut self.0.sidebar {
            sidebar.enter(room_id);
        }
        self.0
    }
}

impl FromRequest for Shell {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let user = CurrentUser::settled(&session);
        let chat = req.app_data::<web::Data<Chat>>().cloned();
        Box::pin(async move {
            let (Some(user), Some(chat)) = (user, chat) else {
                return Ok(Shell(Layout::from_session(&session)));
            };
            let lobby = chat.lobby(&user, Page::FIRST).await?;
            Ok(Shell(Layout::shell(&session, Sidebar::new(&lobby))))
        })
    }
}
