//! Web push (RFC 8030, with RFC 8291's encryption and RFC 8292's VAPID): what browsers
//! subscribe with and to (`Push`, for the routes), and the background worker that tells a
//! user's subscriptions of the notices meant for them while no page of theirs is open
//! (`worker`). The crypto is RustCrypto's; only its composition per the RFCs is here.

pub mod encrypt;
pub mod subscription;
pub mod vapid;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use actix_session::Session;

pub use subscription::{EndpointForm, Subscription, SubscriptionForm};
pub use vapid::Vapid;
pub use worker::PushWorker;

use crate::auth::{self, CurrentUser};
use crate::db::Db;
use crate::errors::AppError;
use crate::models::push::{NewSubscription, PushSubscription, VapidKey};

/// Whether a user has a page open that polls: someone looking at the chat needs no push.
/// Implemented over the live state (src/live), which sees every poll this server answers.
pub trait Polling: Send + Sync {
    /// Whether any page of the user polled this server within `within`.
    fn polled_within(&self, user_id: i32, within: Duration) -> bool;
}

/// The live state sees every poll this server answers (a room's or the lobby's): its
/// attention notes when each user last polled.
impl Polling for crate::live::Live {
    fn polled_within(&self, user_id: i32, within: Duration) -> bool {
        self.attention.polled_within(user_id, within)
    }
}

/// A user who polled within this long has a page open: no push for them.
pub const PAGE_OPEN_WITHIN: Duration = Duration::from_secs(60);

/// Subscribing and unsubscribing, and the server's VAPID key.
pub struct Push {
    db: Db,
    vapid: Arc<Vapid>,
    /// `CHATROOM_PUSH_INSECURE_LOOPBACK`: http://127.0.0.1:PORT endpoints too (tests).
    insecure_loopback: bool,
}

impl Push {
    /// Reads the VAPID key from the database, making it on the first start (see
    /// `VapidKey::get_or_insert`: every server on the database gets the same one).
    pub async fn start(db: Db, insecure_loopback: bool) -> anyhow::Result<Self> {
        let made = Vapid::generate();
        let stored = db
            .run(move |conn| Ok(VapidKey::get_or_insert(conn, &made)?))
            .await
            .map_err(|err| anyhow::anyhow!("cannot read the web push key: {err}"))?;
        let vapid = Vapid::from_stored(&stored).map_err(|_| {
            anyhow::anyhow!("the web push key stored in the settings table is not a P-256 key")
        })?;
        Ok(Self {
            db,
            vapid: Arc::new(vapid),
            insecure_loopback,
        })
    }

    /// The key pair, for the worker.
    pub fn vapid(&self) -> Arc<Vapid> {
        self.vapid.clone()
    }

    /// The public key, base64url of the uncompressed point: `applicationServerKey`.
    pub fn public_key(&self) -> &str {
        self.vapid.public_key()
    }

    /// Stores the subscription for the user, tied to the session asking (its logout ends it).
    pub async fn subscribe(
        &self,
        user: &CurrentUser,
        session: &Session,
        form: &SubscriptionForm,
    ) -> Result<(), AppError> {
        let sub = Subscription::parse(form, self.insecure_loopback)
            .map_err(|refused| AppError::BadRequest(refused.0))?;
        let session_id = auth::public_id(session).ok_or_else(|| {
            AppError::BadRequest("Only a logged-in browser session can subscribe.".into())
        })?;
        let user_id = user.id;
        self.db
            .run(move |conn| {
                let new = NewSubscription::new(
                    user_id,
                    &session_id,
                    &sub.endpoint,
                    &sub.p256dh,
                    &sub.auth,
                );
                Ok(PushSubscription::subscribe(conn, &new)?)
            })
            .await
    }

    /// Forgets the user's subscription at the endpoint; none there is no error.
    pub async fn unsubscribe(
        &self,
        user: &CurrentUser,
        form: EndpointForm,
    ) -> Result<(), AppError> {
        if form.endpoint.len() > subscription::MAX_ENDPOINT {
            return Err(AppError::BadRequest("`endpoint` is too long.".into()));
        }
        let user_id = user.id;
        self.db
            .run(move |conn| {
                Ok(PushSubscription::unsubscribe(
                    conn,
                    user_id,
                    &form.endpoint,
                )?)
            })
            .await
    }
}
