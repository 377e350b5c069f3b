//! Who may create an account: anyone, people with an invitation, or nobody.

use super::Invalid;

/// What someone whose invitation link cannot be used is told (the registration form, and any
/// answer to a model's `InvitationUnusable`).
pub const INVITATION_UNUSABLE: &str = "This invitation cannot be used: it was used already, \
     withdrawn, or it expired. Ask for a new one.";

/// What someone whose setup link cannot be used is told.
pub const SETUP_UNUSABLE: &str =
    "This setup link cannot be used: it was used already, or this server has an administrator.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationMode {
    /// Anyone may register (the default).
    #[default]
    Open,
    /// Only with an unused, unexpired invitation link an administrator made.
    Invite,
    /// Nobody may register; administrators still can make accounts from the command line.
    Closed,
}

impl RegistrationMode {
    pub const ALL: [RegistrationMode; 3] = [Self::Open, Self::Invite, Self::Closed];

    /// The word stored in the settings table and sent by the admin form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Invite => "invite",
            Self::Closed => "closed",
        }
    }

    pub fn parse(word: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == word.trim())
            .ok_or_else(|| Invalid("Registration is open, invite or closed.".into()))
    }

    /// How the admin page and the login page describe it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Open => "open to anyone",
            Self::Invite => "by invitation only",
            Self::Closed => "closed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_reads_back_from_its_own_word() {
        for mode in RegistrationMode::ALL {
            assert_eq!(RegistrationMode::parse(mode.as_str()), Ok(mode));
        }
    }

    #[test]
    fn an_unknown_word_is_refused_with_the_choices() {
        let refused = RegistrationMode::parse("maybe").unwrap_err();
        assert!(refused.0.contains("open, invite or closed"));
    }
}
