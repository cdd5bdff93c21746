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
        let now = self.ports.clock.now();
        let s = self.flow.settings();
        // The route spec's order: unknown user (404) and no address (400)
        // come before the issuance limits (429), the per-address one
        // included.
        let user = match self.active_user(username).await? {
            Some(u) if !u.emails.is_empty() => u,
            found => {
                if s.enumeration_protection {
                    // Do the same kind of database work as a real send, under
                    // the same limits: otherwise only real accounts would ever
                    // get a 429, which tells them apart.
                    let key = format!("decoy:{}", accountd_domain::Username::typed_key(username));
                    self.flow.limit_client(client, now).await??;
                    self.flow
                        .limit_issuance(&key, None, Some(client), now)
                        .await??;
                    return Ok(());
                }
                return Err(match found {
                    None => SendEmailError::UnknownUsername,
                    Some(_) => SendEmailError::NoEmailAddresses,
                });
            }
        };

        self.flow.limit_client(client, now).await??;
        let subject = Subject::Account { user: user.id };
        self.flow
            .limit_issuance(
                &format!("challenges:{}", subject.key()),
                Some(user.id),
                Some(client),
                now,
            )
            .await??;

        let drawn = self.flow.draw()?;
        let challenge = self.flow.challenge(&drawn, None, subject, now);
        let mails = user
            .emails
            .iter()
            .map(|to| {
                mail::forgot_password_code(
                    &user,
                    to,
                    &drawn.code,
                    s.code_ttl_seconds,
                    challenge.expires_at(),
                )
            })
            .collect();
        self.flow
            .issue(challenge, mails, Some(client), None)
            .await?;
        info!(user.gid = %user.id, "forgotPassword code issued");
        Ok(())
    }

    /// Where the user's live code is: the latest forgotPassword challenge
    /// of the account.
    fn code_of(user: &User) -> Locator {
        Locator::Latest(Subject::Account { user: user.id }.key())
    }

    /// Presents `code` to the user's live code, counting a failure when it
    /// is wrong.
    async fn try_code(
        &self,
        user: &User,
        at: &Locator,
        challenge: &Challenge,
        code: &str,
        now: Timestamp,
    ) -> Result<Result<(), Refusal>, Failure> {
        let tried = self.flow.try_code(challenge, at, code, now).await?;
        if let Err(Refused::Wrong { .. }) = tried {
            info!(user.gid = %user.id, "forgotPassword code failure");
        }
        Ok(tried.map_err(Refusal::from))
    }

    /// `checkCode`: whether `code` is the user's live code. A correct code
    /// stays live and its failure count is unchanged.
    #[instrument(skip_all, fields(route = "forgotPassword.checkCode"))]
    pub async fn check_code(&self, input: CheckCodeInput) -> Result<(), CheckCodeError> {
        let now = self.ports.clock.now();
        let Some(user) = self.active_user(&input.username).await? else {
            return Err(if self.flow.settings().enumeration_protection {
                CheckCodeError::NoCode
            } else {
                CheckCodeError::UnknownUsername
            });
        };
        let at = Self::code_of(&user);
        let challenge = self.flow.open(&at, now).await?.map_err(Refusal::from)?;
        Ok(self
            .try_code(&user, &at, &challenge, input.code.expose(), now)
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
        let now = self.ports.clock.now();
        let s = self.flow.settings();
        let Some(user) = self.active_user(&input.username).await? else {
            return Err(if s.enumeration_protection {
                ResetPasswordError::NoCode
            } else {
                ResetPasswordError::UnknownUsername
            });
        };
        // Steps 3 and 4 first (no code, tries spent), as the route spec
        // orders them: a policy answer must not tell a real account from an
        // unknown one under enumeration protection.
        let at = Self::code_of(&user);
        let challenge = self.flow.open(&at, now).await?.map_err(Refusal::from)?;
        // The policy before the code: a refused password never spends a try.
        let password = s
            .password_policy
            .check(
                input.new_password.expose(),
                user.username.as_ref().map(|u| u.as_str()),
                &user.emails,
            )
            .map_err(ResetPasswordError::PasswordRejected)?;
        self.try_code(&user, &at, &challenge, input.code.expose(), now)
            .await??;
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
