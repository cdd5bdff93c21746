//! The Unicat account capabilities: sign-up, password reset, login,
//! session payloads, the account routes (`account/update`, `users/get`,
//! `username`), the email change and account deletion. Each use case
//! returns its own error enum; validation failures carry an [`Invalid`]
//! that the HTTP layer turns into a 1001.

mod account;
mod deletion;
mod email_change;
mod invitations;
mod members;
mod projects;
mod reset;
mod session;
mod signup;
mod stored_project;
#[cfg(test)]
mod test_support;

pub use account::{
    Accounts, Availability, GetUserError, LookupError, UpdateError, UpdateInput, Updated,
    UserShown, MAX_NAME_CHARS,
};
pub use deletion::{AccountDeletion, DeleteInput, DeletionError};
pub use email_change::{
    EmailChange, EmailChangeError, EmailChangeInput, EmailChangeRequestError, EmailChangeRequested,
    EmailChanged, RevertEmailError,
};
pub use invitations::{InvitationError, InvitationLink, InvitationShown, Invitations, RowAnswered};
pub use members::{
    GetMembersInput, InviteInput, MemberInput, MemberSettings, Members, MembersError, MembersShown,
    MAX_MEMBERS_PER_GET,
};
pub use projects::{
    OptionValue, ProjectInput, ProjectSettings, ProjectShown, Projects, ProjectsError,
    TransferInput, UpdateProjectInput, UserInProject,
};
pub use reset::{PasswordReset, ResetError, ResetInput, ResetRequestError, ResetRequested};
pub use session::{
    AuthError, Authenticated, LoginError, LoginInput, RecentAuthError, Session, Sessions,
};
pub use signup::{Signup, SignupError, SignupInput, SignupRequestError, SignupRequestInput};

use crate::challenge_flow::Refused;
use crate::ChallengeSettings;
use accountd_domain::{ChallengeError, PasswordRejection, TimeZone};

/// The numbers of the Unicat flows.
#[derive(Debug, Clone)]
pub struct UnicatSettings {
    /// The numbers of the sign-up, reset and email-change challenges.
    pub challenge: ChallengeSettings,
    /// The time zone of new accounts (`ACCOUNTD_DEFAULT_TIMEZONE`).
    pub default_timezone: TimeZone,
    /// The values `options.language` may take (`ACCOUNTD_UI_LANGUAGES`),
    /// each with mail templates.
    pub ui_languages: Vec<String>,
    /// Life of the revert link of an email-change notice
    /// (`ACCOUNTD_EMAIL_REVERT_SECONDS`).
    pub email_revert_seconds: i64,
    /// `/api/username` calls per client address per hour
    /// (`ACCOUNTD_LOOKUPS_PER_IP_PER_HOUR`; 0 switches the limit off).
    pub lookups_per_ip_per_hour: u32,
    /// The base of links in mail (`ACCOUNTD_PUBLIC_URL`), without a
    /// trailing slash.
    pub public_url: String,
}

/// Why a value was refused (Unicat code 1001).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    UsernameInvalid,
    UsernameUnavailable,
    PasswordWeak,
    PasswordTooLong,
    EmailInvalid,
    CodeInvalid,
    CodeExpired,
    CodeExhausted,
    RequestMismatch,
    NothingToUpdate,
    NameInvalid,
    LanguageUnsupported,
    TimezoneUnsupported,
    OptionsInvalid,
    EmailAmbiguous,
}

impl Reason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsernameInvalid => "username_invalid",
            Self::UsernameUnavailable => "username_unavailable",
            Self::PasswordWeak => "password_weak",
            Self::PasswordTooLong => "password_too_long",
            Self::EmailInvalid => "email_invalid",
            Self::CodeInvalid => "code_invalid",
            Self::CodeExpired => "code_expired",
            Self::CodeExhausted => "code_exhausted",
            Self::RequestMismatch => "request_mismatch",
            Self::NothingToUpdate => "nothing_to_update",
            Self::NameInvalid => "name_invalid",
            Self::LanguageUnsupported => "language_unsupported",
            Self::TimezoneUnsupported => "timezone_unsupported",
            Self::OptionsInvalid => "options_invalid",
            Self::EmailAmbiguous => "email_ambiguous",
        }
    }
}

/// A refused value: the field, the reason, one human sentence, and the
/// extras of some reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The request field.
    pub field: &'static str,
    /// Why.
    pub reason: Reason,
    /// One human sentence.
    pub detail: String,
    /// For `password_weak`: the estimator's hints.
    pub suggestions: Option<Vec<String>>,
    /// For `code_invalid`: failed tries left.
    pub attempts_left: Option<u32>,
}

impl Invalid {
    pub(crate) fn new(field: &'static str, reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            field,
            reason,
            detail: detail.into(),
            suggestions: None,
            attempts_left: None,
        }
    }

    pub(crate) fn password(field: &'static str, r: PasswordRejection) -> Self {
        let detail = r.to_string();
        match r {
            PasswordRejection::TooLong { .. } => Self::new(field, Reason::PasswordTooLong, detail),
            PasswordRejection::Weak { suggestions } => Self {
                suggestions: Some(suggestions),
                ..Self::new(field, Reason::PasswordWeak, detail)
            },
            // `password_weak` always carries `suggestions` (spec 2.1); a
            // rule failure has no estimator hints, so the list is empty.
            PasswordRejection::TooShort { .. }
            | PasswordRejection::ContainsUsername
            | PasswordRejection::ContainsEmail => Self {
                suggestions: Some(Vec::new()),
                ..Self::new(field, Reason::PasswordWeak, detail)
            },
        }
    }

    fn code_invalid(attempts_left: u32) -> Self {
        Self {
            attempts_left: Some(attempts_left),
            ..Self::new(
                "verification_code",
                Reason::CodeInvalid,
                "The verification code is not valid.",
            )
        }
    }

    /// The refusal for a code that was not accepted.
    pub(crate) fn refused(r: Refused) -> Self {
        match r {
            Refused::Missing => Self::code_invalid(0),
            Refused::Closed(e) => Self::closed(e),
            Refused::Wrong { attempts_left } => Self::code_invalid(attempts_left),
        }
    }

    fn closed(e: ChallengeError) -> Self {
        match e {
            ChallengeError::Consumed | ChallengeError::Superseded => Self::code_invalid(0),
            ChallengeError::Expired => Self::new(
                "verification_code",
                Reason::CodeExpired,
                "The verification code has expired; request a new one.",
            ),
            ChallengeError::Exhausted => Self::new(
                "verification_code",
                Reason::CodeExhausted,
                "Too many wrong verification codes; request a new one.",
            ),
        }
    }
}
