//! `account/update_email_request`, `account/update_email` and
//! `account/revert_email`: a change of the primary address, confirmed by a
//! code mailed to the new address, announced to the old one with a link
//! that undoes it.
//!
//! The code is the shared challenge flow's (purpose `ChangeEmail`, subject
//! the account and the new address, so its issuance counts under the
//! account's key like a reset's). The revert link carries a 256-bit token
//! stored only as its MAC ([`EmailRevert`]); a revert restores the address
//! the change replaced, spends every token of the account, bumps the
//! credential version (every session ends) and consumes every open code of
//! the account, in one transaction.

use super::{Invalid, Reason, RecentAuthError, Sessions, UnicatSettings};
use crate::challenge_flow::{ChallengeFlow, NotConsumed, Refused};
use crate::ports::unexpected_conflict;
use crate::{mail, Failure, Ports, RateLimited, Secret};
use accountd_domain::{
    AuditEvent, AuditEventKind, Change, Conflict, Email, EmailRevert, MacKey, Purpose, Subject,
    Timestamp, User,
};

/// What `update_email_request` answers. `Debug` never shows the codes.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailChangeRequested {
    /// The validation code for step 2.
    pub validation_code: String,
    /// A fresh token (carrying the `auth_time` recent auth answered).
    pub token: String,
}

impl std::fmt::Debug for EmailChangeRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmailChangeRequested { validation_code: ***, token: *** }")
    }
}

/// What `update_email` is given.
#[derive(Debug, Clone)]
pub struct EmailChangeInput {
    /// The new address of step 1.
    pub email: String,
    /// What step 1 answered.
    pub validation_code: Secret,
    /// What the mail carried.
    pub verification_code: Secret,
}

/// What `update_email` answers. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailChanged {
    /// The user as stored after the change.
    pub user: User,
    /// A fresh token (the caller's `auth_time`, the same credential version).
    pub token: String,
}

impl std::fmt::Debug for EmailChanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChanged")
            .field("user", &self.user.id)
            .field("token", &"***")
            .finish()
    }
}

/// Why `update_email_request` issued nothing.
#[derive(Debug, thiserror::Error)]
pub enum EmailChangeRequestError {
    /// A value was refused (`email_invalid`, `nothing_to_update`).
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// The session is not recent enough (or the account is soft-locked).
    #[error(transparent)]
    RecentAuth(#[from] RecentAuthError),
    /// The per-client or the account's issuance limit was reached.
    #[error("too many requests")]
    TooManyRequests(#[from] RateLimited),
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Why `update_email` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum EmailChangeError {
    /// A value was refused (`request_mismatch` and every code failure).
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Why `revert_email` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum RevertEmailError {
    /// The token is unknown, spent or expired, or its account is no longer
    /// active.
    #[error("the revert token is not usable")]
    Unusable,
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The email-change use cases.
#[derive(Debug, Clone)]
pub struct EmailChange {
    ports: Ports,
    sessions: Sessions,
    flow: ChallengeFlow,
    mac_key: MacKey,
    revert_seconds: i64,
    public_url: String,
}

impl EmailChange {
    /// Builds the service.
    pub fn new(
        ports: Ports,
        sessions: Sessions,
        mac_key: MacKey,
        settings: UnicatSettings,
    ) -> Self {
        Self {
            flow: ChallengeFlow::new(
                ports.clone(),
                mac_key.clone(),
                settings.challenge,
                Purpose::ChangeEmail,
            ),
            ports,
            sessions,
            mac_key,
            revert_seconds: settings.email_revert_seconds,
            public_url: settings.public_url,
        }
    }

    /// Step 1 for the authenticated `user`: `email` must be an address other
    /// than the primary one (1001), the session recent or `current_password`
    /// right (403), then the per-client limit and the account's issuance
    /// limit (shared with resets) must have room (429). Mails a code to the
    /// new address; answers the validation code and a fresh token.
    #[tracing::instrument(skip_all, fields(route = "unicat.update_email_request"))]
    pub async fn request(
        &self,
        user: &User,
        auth_time: Option<Timestamp>,
        email: &str,
        current_password: Option<&Secret>,
        client: &str,
    ) -> Result<EmailChangeRequested, EmailChangeRequestError> {
        let new_email = Email::parse(email).map_err(|e| {
            EmailChangeRequestError::Invalid(Invalid::new(
                "email",
                Reason::EmailInvalid,
                e.to_string(),
            ))
        })?;
        if user.emails.first().map(Email::key) == Some(new_email.key()) {
            return Err(EmailChangeRequestError::Invalid(Invalid::new(
                "email",
                Reason::NothingToUpdate,
                "This is already the address of the account.",
            )));
        }
        let auth_time = self
            .sessions
            .ensure_recent(user, auth_time, current_password)
            .await?;

        let now = self.ports.clock.now();
        let s = self.flow.settings();
        self.flow.limit_client(client, now).await??;
        let subject = Subject::EmailChange {
            user: user.id,
            new_email: new_email.clone(),
        };
        self.flow
            .limit_issuance(
                &format!("challenges:{}", subject.key()),
                Some(user.id),
                Some(client),
                now,
            )
            .await??;
        let (drawn, validation_code) = self.flow.draw_with_validation_code()?;
        let challenge = self
            .flow
            .challenge(&drawn, Some(&validation_code), subject, now);
        let mails = vec![mail::email_change_code(
            user,
            &new_email,
            &drawn.code,
            s.code_ttl_seconds,
            challenge.expires_at(),
        )];
        self.flow
            .issue(
                challenge,
                mails,
                Some(client),
                Some(AuditEventKind::EmailChangeRequested),
            )
            .await?;
        tracing::info!(user.gid = %user.id, to = %new_email.masked(), "email change code issued");
        Ok(EmailChangeRequested {
            validation_code,
            token: self.sessions.token(user, auth_time)?,
        })
    }

    /// Step 2 for the authenticated `user`: the challenge of the validation
    /// code must be this account's (another account's counts as missing,
    /// no try spent), `email` the address of step 1 (else a free
    /// `request_mismatch`), then the code. A right code consumes it, makes
    /// the new address the primary one, and (when there was an old address)
    /// stores a revert token and mails the old address the notice with its
    /// link, in one transaction. Sessions stay valid.
    #[tracing::instrument(skip_all, fields(route = "unicat.update_email"))]
    pub async fn complete(
        &self,
        user: &User,
        auth_time: Option<Timestamp>,
        input: EmailChangeInput,
    ) -> Result<EmailChanged, EmailChangeError> {
        let now = self.ports.clock.now();
        let at = self.flow.by_validation_code(input.validation_code.expose());
        let challenge = self.flow.open(&at, now).await?.map_err(refused)?;
        let new_email = match challenge.subject() {
            Subject::EmailChange {
                user: owner,
                new_email,
            } if *owner == user.id => new_email.clone(),
            _ => return Err(refused(Refused::Missing)),
        };
        if Email::parse(&input.email).map(|e| e.key()).ok() != Some(new_email.key()) {
            return Err(EmailChangeError::Invalid(Invalid::new(
                "email",
                Reason::RequestMismatch,
                "The request does not match the email change request.",
            )));
        }

        self.flow
            .try_code(&challenge, &at, input.verification_code.expose(), now)
            .await?
            .map_err(refused)?;

        let old = user
            .emails
            .first()
            .filter(|old| old.key() != new_email.key())
            .cloned();
        let revert = match &old {
            Some(old) => {
                let token = self.draw_token();
                let revert = EmailRevert::issue(
                    &self.mac_key,
                    &token,
                    user.id,
                    old.clone(),
                    new_email.clone(),
                    now,
                    self.revert_seconds,
                );
                let link = format!("{}/account/revert-email?token={token}", self.public_url);
                let notice = mail::email_changed(user, old, &new_email, &link, self.revert_seconds);
                Some((revert, notice))
            }
            None => None,
        };
        let mut emails = vec![new_email.clone()];
        emails.extend(
            user.emails
                .iter()
                .skip(1)
                .filter(|e| e.key() != new_email.key())
                .cloned(),
        );
        let changed = User {
            emails,
            ..user.clone()
        };
        let written = self
            .flow
            .consume(&challenge, &at, self.ports.clock.now(), |set| {
                let set = set
                    .with(Change::SetPrimaryEmail {
                        user: user.id,
                        expected_version: user.credential_version,
                        email: new_email.clone(),
                    })
                    .audit(AuditEvent::new(AuditEventKind::EmailChanged, Some(user.id)));
                match revert {
                    Some((revert, notice)) => {
                        set.with(Change::IssueEmailRevert(revert)).mail([notice])
                    }
                    None => set,
                }
            })
            .await?;
        match written {
            Ok(()) => {}
            Err(NotConsumed::Refused(r)) => return Err(refused(r)),
            Err(NotConsumed::UsernameTaken) => {
                return Err(unexpected_conflict(Conflict::UsernameTaken).into())
            }
        }
        tracing::info!(user.gid = %user.id, "email changed");
        Ok(EmailChanged {
            token: self.sessions.token(&changed, auth_time)?,
            user: changed,
        })
    }

    /// `revert_email` (no token of a session needed): a usable `token`
    /// restores the address its change replaced, spends every revert token
    /// of the account, bumps the credential version, consumes every open
    /// code of the account and mails the restored address, in one
    /// transaction. Of parallel reverts with one token exactly one wins.
    #[tracing::instrument(skip_all, fields(route = "unicat.revert_email"))]
    pub async fn revert(&self, token: &str) -> Result<(), RevertEmailError> {
        let now = self.ports.clock.now();
        let mac = EmailRevert::token_mac(&self.mac_key, token);
        let Some(revert) = self
            .ports
            .users
            .find_email_revert(mac)
            .await
            .map_err(Failure::from)?
            .filter(|r| r.is_usable(now))
        else {
            return Err(RevertEmailError::Unusable);
        };
        let Some(user) = self
            .ports
            .users
            .get(revert.user())
            .await
            .map_err(Failure::from)?
            .filter(User::is_active)
        else {
            return Err(RevertEmailError::Unusable);
        };
        let restored = revert.restores().clone();
        let set = accountd_domain::ChangeSet::new()
            .with(Change::RevertEmail {
                user: user.id,
                token_mac: mac,
                restore: restored.clone(),
            })
            .with(Change::ConsumeOpenChallenges {
                key: Subject::user_key(&user.id),
                purposes: vec![
                    Purpose::ForgotPassword,
                    Purpose::Signup,
                    Purpose::ResetPassword,
                    Purpose::ChangeEmail,
                ],
            })
            .mail([mail::email_reverted(&user, &restored)])
            .audit(AuditEvent::new(
                AuditEventKind::EmailReverted,
                Some(user.id),
            ))
            .audit(
                AuditEvent::new(AuditEventKind::TokensRevoked, Some(user.id))
                    .word("reason", "email_reverted"),
            );
        match self.ports.apply(set, now).await? {
            Ok(()) => {
                tracing::info!(user.gid = %user.id, "email change reverted");
                Ok(())
            }
            Err(Conflict::RevertSpent | Conflict::UserChanged) => Err(RevertEmailError::Unusable),
            Err(
                c @ (Conflict::ChallengeNotOpen
                | Conflict::UsernameTaken
                | Conflict::MembershipChanged
                | Conflict::OwnsProjects
                | Conflict::TooManyProjects
                | Conflict::ProjectChanged
                | Conflict::AddressTaken
                | Conflict::TooManyPendingInvites
                | Conflict::Limited { .. }),
            ) => Err(unexpected_conflict(c).into()),
        }
    }

    /// 256 random bits as URL-safe text.
    fn draw_token(&self) -> String {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&self.ports.random.bytes16());
        bytes[16..].copy_from_slice(&self.ports.random.bytes16());
        accountd_domain::validation_code_text(&bytes)
    }
}

fn refused(r: Refused) -> EmailChangeError {
    EmailChangeError::Invalid(Invalid::refused(r))
}

#[cfg(test)]
#[path = "email_change_tests.rs"]
mod tests;
