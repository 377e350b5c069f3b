//! Who may register now: the registration mode, invitations and the setup link.

use crate::auth::secret_hash;

use super::Accounts;
use crate::db::DbConnection;
use crate::domain::{INVITATION_UNUSABLE, RegistrationMode, SETUP_UNUSABLE};
use crate::errors::AppError;
use crate::models::invitation::Invitation;
use crate::models::setting::Setting;
use crate::models::{ModelError, User};

/// Why a registration did not happen, in words for the person.
pub enum Refused {
    Invalid(String),
    Taken,
    /// Registration is closed.
    Closed,
    /// Registration is by invitation, and none came with it.
    InvitationRequired,
    /// The invitation is used, withdrawn or expired.
    InvitationUnusable,
    /// The setup link is not this database's, was used, or an administrator exists.
    SetupUnusable,
}

impl Refused {
    /// What the person is told.
    pub fn message(&self) -> &str {
        match self {
            Self::Invalid(message) => message,
            Self::Taken => "That username is taken. Please choose another.",
            Self::Closed => "Registration is closed on this server.",
            Self::InvitationRequired => {
                "Registration on this server is by invitation only: ask an administrator for a link."
            }
            Self::InvitationUnusable => INVITATION_UNUSABLE,
            Self::SetupUnusable => SETUP_UNUSABLE,
        }
    }

    /// A refusal that no second try of the same form can pass: the form is not shown again.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Closed
                | Self::InvitationRequired
                | Self::InvitationUnusable
                | Self::SetupUnusable
        )
    }
}

impl From<Refused> for AppError {
    fn from(refused: Refused) -> Self {
        let message = refused.message().to_owned();
        match refused {
            Refused::Invalid(message) => Self::BadRequest(message),
            Refused::Taken => Self::Conflict(message),
            Refused::Closed => Self::forbidden("registration_closed", message),
            Refused::InvitationRequired => Self::forbidden("invitation_required", message),
            Refused::InvitationUnusable => Self::forbidden("invitation_unusable", message),
            Refused::SetupUnusable => Self::forbidden("setup_unusable", message),
        }
    }
}

/// The setup link's token that registration was given (an empty one is none), as hashed to
/// compare with the stored one.
pub(super) fn setup_hash(setup: Option<&str>) -> Option<String> {
    setup.filter(|t| !t.is_empty()).map(secret_hash)
}

/// Whether the setup link with this token would make an administrator now. It lets its
/// holder register whatever the registration mode: it is how the owner gets in.
fn setup_admission(
    conn: &mut DbConnection,
    setup: &str,
) -> Result<Result<(), Refused>, ModelError> {
    let usable = match setup_hash(Some(setup)) {
        Some(hash) => Setting::setup_usable(conn, &hash)?,
        None => false,
    };
    Ok(if usable {
        Ok(())
    } else {
        Err(Refused::SetupUnusable)
    })
}

/// Whether someone may register now, with `invite` if they have one: `Ok` with the hash of
/// the invitation to use up (none while registration is open), or why not.
pub(super) fn admission(
    conn: &mut DbConnection,
    invite: Option<&str>,
) -> Result<Result<Option<String>, Refused>, ModelError> {
    match Setting::registration(conn)? {
        RegistrationMode::Open => Ok(Ok(None)),
        RegistrationMode::Closed => Ok(Err(Refused::Closed)),
        RegistrationMode::Invite => {
            let Some(token) = invite.filter(|t| !t.is_empty()) else {
                return Ok(Err(Refused::InvitationRequired));
            };
            let hash = secret_hash(token);
            if Invitation::is_usable(conn, &hash)? {
                Ok(Ok(Some(hash)))
            } else {
                Ok(Err(Refused::InvitationUnusable))
            }
        }
    }
}

/// How a server finds its database's administrators at start.
pub enum Setup {
    /// There is none: this new setup link's token (see `setup_link`) is to be shown once,
    /// since only its hash is kept.
    Made(String),
    /// There is none, and the setup link was made already (by another server, or at an
    /// earlier start) and is still unused.
    Pending,
    /// There is an administrator: no setup link works.
    Done,
}

/// The setup link's address on the server at `origin` (`http://host:port`).
pub fn setup_link(origin: &str, token: &str) -> String {
    format!("{}/register?setup={token}", origin.trim_end_matches('/'))
}

impl Accounts {
    /// Whether the registration form may be shown: with the setup link's token (`setup`, if
    /// not empty), whether that link still works; else whether registration is open to
    /// someone with `invite` (an invitation's token, or empty).
    pub async fn may_register(
        &self,
        invite: String,
        setup: String,
    ) -> Result<Result<(), Refused>, AppError> {
        self.db
            .run(move |conn| {
                Ok(match setup.is_empty() {
                    true => admission(conn, Some(&invite))?.map(drop),
                    false => setup_admission(conn, &setup)?,
                })
            })
            .await
    }

    /// Who may register now, as the login page tells.
    pub async fn registration(&self) -> Result<RegistrationMode, AppError> {
        self.db.run(|conn| Ok(Setting::registration(conn)?)).await
    }

    /// Makes the setup link of a database that has no administrator, if it has none yet.
    pub async fn offer_setup(&self) -> Result<Setup, AppError> {
        use rand::distr::{Alphanumeric, SampleString};
        let token = Alphanumeric.sample_string(&mut rand::rng(), 32);
        let hash = secret_hash(&token);
        self.db
            .run(move |conn| {
                Ok(if Setting::offer_setup(conn, &hash)? {
                    Setup::Made(token)
                } else if User::has_administrator(conn)? {
                    Setup::Done
                } else {
                    Setup::Pending
                })
            })
            .await
    }
}
