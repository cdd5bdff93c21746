//! The forgotPassword capability: `sendEmail`, `checkCode`, `resetPassword`.

use crate::challenge_flow::{ChallengeFlow, Locator, NotConsumed, Refused};
use crate::ports::unexpected_conflict;
use crate::{mail, ChallengeSettings, Failure, Ports, RateLimited, Secret};
use accountd_domain::{
    Challenge, ChallengeError, ChallengePolicy, Conflict, MacKey, PasswordRejection, Purpose,
    Subject, Timestamp, User,
};
use tracing::{info, instrument};

/// The numbers of the forgotPassword flow.
#[derive(Debug, Clone)]
pub struct ForgotPasswordSettings {
    /// The numbers of its challenges; `max_failures` is always the route
    /// spec's, that of [`ChallengePolicy::forgot_password`] (11).
    ///
    /// [`ChallengePolicy::forgot_password`]: accountd_domain::ChallengePolicy::forgot_password
    pub challenge: ChallengeSettings,
}

/// What `checkCode` is given.
#[derive(Debug, Clone)]
pub struct CheckCodeInput {
    /// The account name, matched case-insensitively.
    pub username: String,
    /// The mailed code.
    pub code: Secret,
}

/// What `resetPassword` is given.
#[derive(Debug, Clone)]
pub struct ResetPasswordInput {
    /// The account name, matched case-insensitively.
    pub username: String,
    /// The mailed code.
    pub code: Secret,
    /// The new password, in clear.
    pub new_password: Secret,
}

/// Why `sendEmail` did not send.
#[derive(Debug, thiserror::Error)]
pub enum SendEmailError {
    /// No active user has this name.
    #[error("unknown username")]
    UnknownUsername,
    /// The user has no address to send to.
    #[error("the account has no email address")]
    NoEmailAddresses,
    /// An issuance limit was reached.
    #[error("too many requests")]
    TooManyRequests(#[from] RateLimited),
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Why `checkCode` did not confirm the code.
#[derive(Debug, thiserror::Error)]
pub enum CheckCodeError {
    /// No active user has this name.
    #[error("unknown username")]
    UnknownUsername,
    /// No live code: never requested, superseded, used or expired.
    #[error("no code")]
    NoCode,
    /// The code's failed tries are spent.
    #[error("rate limit exceeded")]
    RateLimitExceeded,
    /// Wrong code (one failure counted).
    #[error("code incorrect")]
    CodeIncorrect,
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Why `resetPassword` did not change the password.
#[derive(Debug, thiserror::Error)]
pub enum ResetPasswordError {
    /// No active user has this name.
    #[error("unknown username")]
    UnknownUsername,
    /// The new password fails the policy (the code is not spent).
    #[error("password rejected: {0}")]
    PasswordRejected(PasswordRejection),
    /// No live code.
    #[error("no code")]
    NoCode,
    /// The code's failed tries are spent.
    #[error("rate limit exceeded")]
    RateLimitExceeded,
    /// Wrong code (one failure counted).
    #[error("code incorrect")]
    CodeIncorrect,
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// How the route spec words a code that was not accepted; shared by
/// `checkCode` and `resetPassword`.
enum Refusal {
    NoCode,
    RateLimitExceeded,
    CodeIncorrect,
}

impl From<Refused> for Refusal {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Closed(ChallengeError::Exhausted) => Self::RateLimitExceeded,
            Refused::Missing
            | Refused::Closed(
                ChallengeError::Consumed | ChallengeError::Superseded | ChallengeError::Expired,
            ) => Self::NoCode,
            Refused::Wrong { .. } => Self::CodeIncorrect,
        }
    }
}

impl From<Refusal> for CheckCodeError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NoCode => Self::NoCode,
            Refusal::RateLimitExceeded => Self::RateLimitExceeded,
            Refusal::CodeIncorrect => Self::CodeIncorrect,
        }
    }
}

impl From<Refusal> for ResetPasswordError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NoCode => Self::NoCode,
            Refusal::RateLimitExceeded => Self::RateLimitExceeded,
            Refusal::CodeIncorrect => Self::CodeIncorrect,
        }
    }
}

/// The forgotPassword use cases.
#[derive(Debug, Clone)]
pub struct ForgotPassword {
    ports: Ports,
    flow: ChallengeFlow,
}

impl ForgotPassword {
    /// Builds the service.
    pub fn new(ports: Ports, mac_key: MacKey, settings: ForgotPasswordSettings) -> Self {
        let mut challenge = settings.challenge;
        // The route spec's tries, whatever an embedder passed.
        challenge.max_failures =
            ChallengePolicy::forgot_password(challenge.code_ttl_seconds).max_failures;
        Self {
            flow: ChallengeFlow::new(ports.clone(), mac_key, challenge, Purpose::ForgotPassword),
            ports,
        }
    }

    async fn active_user(&self, username: &str) -> Result<Option<User>, Failure> {
        Ok(self
            .ports
            .users
            .find_by_username_ci(username)
            .await?
            .filter(User::is_active))
    }

    /// `sendEmail`: issues a new 6-digit code for `username` (matched
    /// case-insensitively), superseding older ones, and queues one mail per
    /// address of the account. `client` is the caller's address, for the
    /// per-address limit, checked (like the per-account one) after the
    /// user and address checks, in the route spec's order.
    #[instrument(skip_all, fields(route = "forgotPassword.sendEmail"))]
    pub async fn send_email(&self, username: &str, client: &str) -> Result<(), SendEmailError> {
        let _admitted = self.ports.admission.enter_typed(username).await?;
        let now = self.ports.clock.now();
        let s = self.flow.settings();
        // The route spec's order: unknown user (404) and no address (400)
        // come before the issuance limits (429), the per-address one
        // included.
        let user = match self.active_user(username).await? {
            Some(u) if !u.emails.is_empty() => Some(u),
            // A decoy: a real stored challenge that covers no account,
            // issued under the same limits in the same transaction as a
            // real one (its mail an outbox row that is never sent), so
            // neither a 429 nor the time taken tells the two apart.
            _ if s.enumeration_protection => None,
            None => return Err(SendEmailError::UnknownUsername),
            Some(_) => return Err(SendEmailError::NoEmailAddresses),
        };

        self.flow.limit_client(client, now).await??;
        // A decoy counts under `challenges:decoy:<typed key>`, the key a
        // Unicat reset of the same name counts under: one budget for both
        // families, as a real account has.
        let subject = match &user {
            Some(user) => Subject::Account { user: user.id },
            None => Subject::decoy(username, false),
        };
        let key = format!("challenges:{}", subject.key());
        self.flow
            .limit_issuance(&key, user.as_ref().map(|u| u.id), Some(client), now)
            .await??;

        let drawn = self.flow.draw()?;
        let challenge = self.flow.challenge(&drawn, None, subject, now);
        let mails = match &user {
            Some(user) => user
                .emails
                .iter()
                .map(|to| {
                    mail::forgot_password_code(
                        user,
                        to,
                        &drawn.code,
                        s.code_ttl_seconds,
                        challenge.expires_at(),
                    )
                })
                .collect(),
            None => vec![mail::forgot_password_decoy(
                username,
                &drawn.code,
                s.code_ttl_seconds,
                challenge.expires_at(),
            )],
        };
        self.flow
            .issue(challenge, mails, Some(client), None)
            .await?;
        match &user {
            Some(user) => info!(user.gid = %user.id, "forgotPassword code issued"),
            None => info!("forgotPassword code issued"),
        }
        Ok(())
    }

    /// Where the live code for `typed` is: the latest forgotPassword
    /// challenge of the account; with enumeration protection, for an
    /// unknown name or an account without an address (`None`), that of
    /// the decoy `sendEmail` issued for the typed name.
    fn code_of(&self, user: Option<&User>, typed: &str) -> Option<Locator> {
        match user {
            Some(u) if !(u.emails.is_empty() && self.flow.settings().enumeration_protection) => {
                Some(Locator::Latest(Subject::Account { user: u.id }.key()))
            }
            _ if self.flow.settings().enumeration_protection => {
                Some(Locator::Latest(Subject::decoy(typed, false).key()))
            }
            _ => None,
        }
    }

    /// Presents `code` to the user's live code, counting a failure when it
    /// is wrong.
    async fn try_code(
        &self,
        user: Option<&User>,
        at: &Locator,
        challenge: &Challenge,
        code: &str,
        now: Timestamp,
    ) -> Result<Result<(), Refusal>, Failure> {
        let tried = self.flow.try_code(challenge, at, code, now).await?;
        if let (Err(Refused::Wrong { .. }), Some(user)) = (tried, user) {
            info!(user.gid = %user.id, "forgotPassword code failure");
        }
        Ok(tried.map_err(Refusal::from))
    }

    /// `checkCode`: whether `code` is the user's live code. A correct code
    /// stays live and its failure count is unchanged.
    #[instrument(skip_all, fields(route = "forgotPassword.checkCode"))]
    pub async fn check_code(&self, input: CheckCodeInput) -> Result<(), CheckCodeError> {
        let _admitted = self.ports.admission.enter_typed(&input.username).await?;
        let now = self.ports.clock.now();
        let user = self.active_user(&input.username).await?;
        let Some(at) = self.code_of(user.as_ref(), &input.username) else {
            return Err(CheckCodeError::UnknownUsername);
        };
        let challenge = self.flow.open(&at, now).await?.map_err(Refusal::from)?;
        Ok(self
            .try_code(user.as_ref(), &at, &challenge, input.code.expose(), now)
            .await??)
    }

    /// `resetPassword`: checks the new password against the policy (before
    /// touching the code, so a rejected password never spends it), then the
    /// code; when both are right, hashes the password and, in one
    /// transaction, consumes the code (and every other forgotPassword code of
    /// the user), sets the password, bumps the credential version and queues
    /// the change notice.
    #[instrument(skip_all, fields(route = "forgotPassword.resetPassword"))]
    pub async fn reset_password(
        &self,
        input: ResetPasswordInput,
    ) -> Result<(), ResetPasswordError> {
        let _admitted = self.ports.admission.enter_typed(&input.username).await?;
        let now = self.ports.clock.now();
        let s = self.flow.settings();
        let found = self.active_user(&input.username).await?;
        let Some(at) = self.code_of(found.as_ref(), &input.username) else {
            return Err(ResetPasswordError::UnknownUsername);
        };
        // Steps 3 and 4 first (no code, tries spent), as the route spec
        // orders them: a policy answer must not tell a real account from an
        // unknown one under enumeration protection.
        let challenge = self.flow.open(&at, now).await?.map_err(Refusal::from)?;
        // The policy before the code: a refused password never spends a
        // try. A decoy is judged for the typed name, as its account would be.
        let (name, emails) = match &found {
            Some(u) => (u.username.as_ref().map(|u| u.as_str()), u.emails.as_slice()),
            None => (Some(input.username.as_str()), &[][..]),
        };
        let password = s
            .password_policy
            .check(input.new_password.expose(), name, emails)
            .map_err(ResetPasswordError::PasswordRejected)?;
        // A decoy never accepts a code (`ChallengeFlow::try_code`).
        self.try_code(found.as_ref(), &at, &challenge, input.code.expose(), now)
            .await??;
        let Some(user) = found else {
            return Err(ResetPasswordError::NoCode);
        };
        let hash = self
            .ports
            .hasher
            .hash(&password)
            .await
            .map_err(Failure::from)?;
        let mails: Vec<_> = user
            .emails
            .iter()
            .map(|to| mail::password_changed(&user, to))
            .collect();
        // The hash may have taken a while: judge expiry at commit time.
        let now = self.ports.clock.now();
        let written = self
            .flow
            .consume(&challenge, &at, now, |set| {
                set.set_password(&user, hash).mail(mails)
            })
            .await?;
        match written {
            Ok(()) => {}
            Err(NotConsumed::Refused(refused)) => return Err(Refusal::from(refused).into()),
            Err(NotConsumed::UsernameTaken) => {
                return Err(unexpected_conflict(Conflict::UsernameTaken).into())
            }
        }
        info!(user.gid = %user.id, "password changed through forgotPassword");
        Ok(())
    }
}

#[cfg(test)]
#[path = "forgot_password_tests.rs"]
mod tests;
