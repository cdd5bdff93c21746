//! The forgotPassword capability: `sendEmail`, `checkCode`, `resetPassword`.

use crate::{mail, Failure, Ports};
use accountd_domain::{
    Attempt, Challenge, ChallengeEffect, ChallengeError, ChallengeId, ChallengePolicy, MacKey,
    PasswordPolicy, PasswordRejection, Purpose, Subject, Timestamp, User,
};
use accountd_ports::{ConsumeOutcome, Limit, RateDecision};
use tracing::{info, instrument};

/// The numbers of the forgotPassword flow.
#[derive(Debug, Clone)]
pub struct ForgotPasswordSettings {
    /// Life of a code.
    pub code_ttl_seconds: i64,
    /// Challenges per account per hour (0: off).
    pub codes_per_hour: u32,
    /// Challenges per account per day (0: off).
    pub codes_per_day: u32,
    /// Step-1 calls per client address per hour (0: off).
    pub step1_per_ip_per_hour: u32,
    /// Answer as if unknown accounts existed.
    pub enumeration_protection: bool,
    /// The password rules.
    pub password_policy: PasswordPolicy,
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
    TooManyRequests {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
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

/// What a code check concluded, shared by `checkCode` and `resetPassword`.
enum Verdict {
    Correct(Challenge),
    Refused(Refusal),
}

enum Refusal {
    NoCode,
    RateLimitExceeded,
    CodeIncorrect,
}

impl From<ChallengeError> for Refusal {
    fn from(e: ChallengeError) -> Self {
        match e {
            ChallengeError::Exhausted => Self::RateLimitExceeded,
            ChallengeError::Consumed | ChallengeError::Superseded | ChallengeError::Expired => {
                Self::NoCode
            }
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
    mac_key: MacKey,
    settings: ForgotPasswordSettings,
}

impl ForgotPassword {
    /// Builds the service.
    pub fn new(ports: Ports, mac_key: MacKey, settings: ForgotPasswordSettings) -> Self {
        Self {
            ports,
            mac_key,
            settings,
        }
    }

    fn policy(&self) -> ChallengePolicy {
        ChallengePolicy::forgot_password(self.settings.code_ttl_seconds)
    }

    async fn active_user(&self, username: &str) -> Result<Option<User>, Failure> {
        Ok(self
            .ports
            .users
            .find_by_username_ci(username)
            .await?
            .filter(User::is_active))
    }

    async fn limit(
        &self,
        key: &str,
        limits: &[Limit],
        now: Timestamp,
    ) -> Result<(), SendEmailError> {
        match self
            .ports
            .limiter
            .hit(key, limits, now)
            .await
            .map_err(Failure::from)?
        {
            RateDecision::Allowed => Ok(()),
            RateDecision::Limited {
                retry_after_seconds,
            } => {
                info!(
                    limit.key_kind = key.split(':').next().unwrap_or(""),
                    "rate limit hit"
                );
                Err(SendEmailError::TooManyRequests {
                    retry_after_seconds,
                })
            }
        }
    }

    /// `sendEmail`: issues a new 6-digit code for `username` (matched
    /// case-insensitively), superseding older ones, and queues one mail per
    /// address of the account. `client` is the caller's address, for the
    /// per-address limit, checked (like the per-account one) after the
    /// user and address checks, in the route spec's order.
    #[instrument(skip_all, fields(route = "forgotPassword.sendEmail"))]
    pub async fn send_email(&self, username: &str, client: &str) -> Result<(), SendEmailError> {
        let now = self.ports.clock.now();
        let s = &self.settings;
        // The route spec's order: unknown user (404) and no address (400)
        // come before the issuance limits (429), the per-address one
        // included.
        let ip_limit = [Limit {
            window_seconds: 3600,
            max: s.step1_per_ip_per_hour,
        }];
        let ip_key = format!("step1:ip:{client}");
        let account_limits = [
            Limit {
                window_seconds: 3600,
                max: s.codes_per_hour,
            },
            Limit {
                window_seconds: 86_400,
                max: s.codes_per_day,
            },
        ];
        let user = match self.active_user(username).await? {
            Some(u) if !u.emails.is_empty() => u,
            found => {
                if s.enumeration_protection {
                    // Do the same kind of database work as a real send, under
                    // the same limits: otherwise only real accounts would ever
                    // get a 429, which tells them apart.
                    let key = format!("decoy:{}", accountd_domain::Username::typed_key(username));
                    self.limit(&ip_key, &ip_limit, now).await?;
                    self.limit(&key, &account_limits, now).await?;
                    return Ok(());
                }
                return Err(match found {
                    None => SendEmailError::UnknownUsername,
                    Some(_) => SendEmailError::NoEmailAddresses,
                });
            }
        };

        self.limit(&ip_key, &ip_limit, now).await?;
        let subject = Subject::Account { user: user.id };
        self.limit(
            &format!("challenges:{}", subject.key()),
            &account_limits,
            now,
        )
        .await?;

        let format = Purpose::ForgotPassword.code_format();
        let (lo, hi) = format.draw_range();
        let draws: Vec<u32> = (0..format.draws())
            .map(|_| self.ports.random.uniform(lo, hi))
            .collect();
        let code = format
            .code_from_draws(&draws)
            .ok_or_else(|| Failure::Unexpected(anyhow::anyhow!("random draw out of range")))?;
        let challenge = Challenge::issue(
            ChallengeId::from_random_bytes(self.ports.random.bytes16()),
            Purpose::ForgotPassword,
            subject,
            &code,
            &self.mac_key,
            self.policy(),
            now,
        );
        let mails = user
            .emails
            .iter()
            .map(|to| {
                mail::forgot_password_code(
                    &user,
                    to,
                    &code,
                    s.code_ttl_seconds,
                    challenge.expires_at(),
                )
            })
            .collect();
        self.ports
            .challenges
            .issue(challenge, mails)
            .await
            .map_err(Failure::from)?;
        info!(user.gid = %user.id, "forgotPassword code issued");
        Ok(())
    }

    /// Presents `code` to the user's latest forgotPassword challenge,
    /// counting a failure when it is wrong. A failure is counted with a
    /// conditional update; when that loses a race, the reloaded challenge
    /// says why (every losing condition is final).
    async fn verify(&self, user: &User, code: &str, now: Timestamp) -> Result<Verdict, Failure> {
        match self.live(user, now).await? {
            Ok(challenge) => self.attempt(user, challenge, code, now).await,
            Err(r) => Ok(Verdict::Refused(r)),
        }
    }

    /// The user's live code (steps 3 and 4 of the route spec): no code, or
    /// its tries spent, is a refusal.
    async fn live(
        &self,
        user: &User,
        now: Timestamp,
    ) -> Result<Result<Challenge, Refusal>, Failure> {
        let key = Subject::Account { user: user.id }.key();
        let Some(challenge) = self
            .ports
            .challenges
            .latest(Purpose::ForgotPassword, &key)
            .await?
        else {
            return Ok(Err(Refusal::NoCode));
        };
        Ok(challenge
            .ensure_open(now)
            .map(|()| challenge)
            .map_err(Refusal::from))
    }

    /// Presents `code` to a live challenge, counting a failure when wrong.
    async fn attempt(
        &self,
        user: &User,
        challenge: Challenge,
        code: &str,
        now: Timestamp,
    ) -> Result<Verdict, Failure> {
        let key = Subject::Account { user: user.id }.key();
        match challenge.attempt(now, &self.mac_key, code) {
            Err(e) => Ok(Verdict::Refused(e.into())),
            Ok(Attempt::Correct) => Ok(Verdict::Correct(challenge)),
            Ok(Attempt::Wrong) => {
                if self
                    .ports
                    .challenges
                    .record_failure(challenge.id(), now)
                    .await?
                    .is_some()
                {
                    info!(user.gid = %user.id, "forgotPassword code failure");
                    Ok(Verdict::Refused(Refusal::CodeIncorrect))
                } else {
                    self.refusal_after_lost_race(&key, now)
                        .await
                        .map(Verdict::Refused)
                }
            }
        }
    }

    async fn refusal_after_lost_race(&self, key: &str, now: Timestamp) -> Result<Refusal, Failure> {
        let reloaded = self
            .ports
            .challenges
            .latest(Purpose::ForgotPassword, key)
            .await?;
        Ok(match reloaded.map(|c| c.ensure_open(now)) {
            Some(Err(e)) => e.into(),
            // Superseded by a newer open code meanwhile: the old one is gone.
            Some(Ok(())) | None => Refusal::NoCode,
        })
    }

    /// `checkCode`: whether `code` is the user's live code. A correct code
    /// stays live and its failure count is unchanged.
    #[instrument(skip_all, fields(route = "forgotPassword.checkCode"))]
    pub async fn check_code(&self, username: &str, code: &str) -> Result<(), CheckCodeError> {
        let now = self.ports.clock.now();
        let Some(user) = self.active_user(username).await? else {
            return Err(if self.settings.enumeration_protection {
                CheckCodeError::NoCode
            } else {
                CheckCodeError::UnknownUsername
            });
        };
        match self.verify(&user, code, now).await? {
            Verdict::Correct(_) => Ok(()),
            Verdict::Refused(r) => Err(r.into()),
        }
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
        username: &str,
        code: &str,
        new_password: &str,
    ) -> Result<(), ResetPasswordError> {
        let now = self.ports.clock.now();
        let Some(user) = self.active_user(username).await? else {
            return Err(if self.settings.enumeration_protection {
                ResetPasswordError::NoCode
            } else {
                ResetPasswordError::UnknownUsername
            });
        };
        // Steps 3 and 4 first (no code, tries spent), as the route spec
        // orders them: a policy answer must not tell a real account from an
        // unknown one under enumeration protection.
        let challenge = match self.live(&user, now).await? {
            Ok(c) => c,
            Err(r) => return Err(r.into()),
        };
        // The policy before the code: a refused password never spends a try.
        let password = self
            .settings
            .password_policy
            .check(
                new_password,
                user.username.as_ref().map(|u| u.as_str()),
                &user.emails,
            )
            .map_err(ResetPasswordError::PasswordRejected)?;
        let challenge = match self.attempt(&user, challenge, code, now).await? {
            Verdict::Correct(c) => c,
            Verdict::Refused(r) => return Err(r.into()),
        };
        let hash = self
            .ports
            .hasher
            .hash(&password)
            .await
            .map_err(Failure::from)?;
        let mails = user
            .emails
            .iter()
            .map(|to| mail::password_changed(&user, to))
            .collect();
        // The hash may have taken a while: judge expiry at commit time.
        let now = self.ports.clock.now();
        let consumed = self
            .ports
            .challenges
            .consume(
                challenge.id(),
                now,
                ChallengeEffect::SetPassword {
                    user: user.id,
                    hash,
                },
                mails,
            )
            .await
            .map_err(Failure::from)?;
        if consumed != ConsumeOutcome::Applied {
            let key = Subject::Account { user: user.id }.key();
            return Err(self.refusal_after_lost_race(&key, now).await?.into());
        }
        info!(user.gid = %user.id, "password changed through forgotPassword");
        Ok(())
    }
}

#[cfg(test)]
#[path = "forgot_password_tests.rs"]
mod tests;
