//! `reset_password_request` and `reset_password`.

use super::session::Session;
use super::{Invalid, Reason, Sessions, UnicatSettings};
use crate::challenge_flow::{ChallengeFlow, NotConsumed, Refused};
use crate::ports::unexpected_conflict;
use crate::{mail, Failure, Ports, RateLimited, Secret};
use accountd_domain::{Conflict, Email, MacKey, Purpose, Subject, User};

/// What `reset_password_request` answers. `Debug` never shows the code.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetRequested {
    /// The validation code for step 2.
    pub validation_code: String,
    /// The accounts covered (see the enumeration-protection rules).
    pub usernames: Vec<String>,
}

impl std::fmt::Debug for ResetRequested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetRequested")
            .field("validation_code", &"***")
            .field("usernames", &self.usernames)
            .finish()
    }
}

/// What `reset_password` is given.
#[derive(Debug, Clone)]
pub struct ResetInput {
    /// One of the accounts of step 1.
    pub username: String,
    /// The new password, in clear.
    pub new_password: Secret,
    /// What step 1 answered.
    pub validation_code: Secret,
    /// What the mail carried.
    pub verification_code: Secret,
}

/// What step 1 found: the subject, its accounts, the addresses to mail.
type Found = (Subject, Vec<User>, Vec<Email>);

/// Why `reset_password_request` issued nothing.
#[derive(Debug, thiserror::Error)]
pub enum ResetRequestError {
    /// No active account with that username or email (or none reachable by mail).
    #[error("not found")]
    NotFound,
    /// An issuance limit was reached.
    #[error("too many requests")]
    TooManyRequests(#[from] RateLimited),
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The stored address of `users` to mail for `typed`: the oldest covered
/// account's spelling of the typed address up to case, else the oldest
/// one that compares equal to it under the caseless rule.
fn stored_match(users: &[User], typed: &Email) -> Option<Email> {
    let mut by_age: Vec<&User> = users.iter().collect();
    by_age.sort_by_key(|u| (u.created_at, u.id));
    let lower = typed.as_str().to_lowercase();
    let key = typed.key();
    let stored = || by_age.iter().flat_map(|u| &u.emails);
    stored()
        .find(|address| address.as_str().to_lowercase() == lower)
        .or_else(|| stored().find(|address| address.key() == key))
        .cloned()
}

/// Why `reset_password` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// A value was refused (including every code failure).
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The Unicat password-reset use cases.
#[derive(Debug, Clone)]
pub struct PasswordReset {
    ports: Ports,
    sessions: Sessions,
    flow: ChallengeFlow,
}

impl PasswordReset {
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
                mac_key,
                settings.challenge,
                Purpose::ResetPassword,
            ),
            ports,
            sessions,
        }
    }

    /// Step 1: a value with `@` is an email (every active account with that
    /// address, case-insensitively); otherwise a username (case-sensitive).
    /// One challenge covers every account found; one mail per address, with
    /// the account names, carries its code.
    #[tracing::instrument(skip_all, fields(route = "unicat.reset_password_request"))]
    pub async fn request(
        &self,
        username_or_email: &str,
        client: &str,
    ) -> Result<ResetRequested, ResetRequestError> {
        let _admitted = self.ports.admission.enter_typed(username_or_email).await?;
        let now = self.ports.clock.now();
        let s = self.flow.settings();
        self.flow.limit_client(client, now).await??;

        let by_email = username_or_email.contains('@');
        let found = if by_email {
            self.by_email(username_or_email).await?
        } else {
            self.by_username(username_or_email).await?
        };
        // Unknown: 422, or with enumeration protection a decoy, a real
        // stored challenge that covers no account, issued exactly as a
        // real one (the same limits, the same transaction, an outbox row
        // that is never sent).
        let (subject, users, recipients) = match found {
            Some(found) => found,
            None if s.enumeration_protection => (
                if by_email {
                    Subject::decoy(username_or_email, true)
                } else {
                    Subject::exact_decoy(username_or_email)
                },
                Vec::new(),
                vec![Email::decoy()],
            ),
            None => return Err(ResetRequestError::NotFound),
        };

        // Every key the challenge counts under: the main one and, for a
        // reset by email, each covered account's (shared with its resets
        // by username and forgotPassword), all or nothing.
        let keys: Vec<String> = if subject.is_decoy() && !by_email {
            // A decoy by username: the budget of the typed name, shared
            // with forgotPassword (see `Subject::exact_decoy`).
            vec![format!(
                "challenges:{}",
                Subject::decoy_key(username_or_email)
            )]
        } else {
            subject
                .keys()
                .iter()
                .map(|k| format!("challenges:{k}"))
                .collect()
        };
        if by_email {
            self.flow
                .limit_issuance_all(&keys, None, Some(client), now)
                .await??;
        } else {
            let user = match &subject {
                Subject::Account { user } => Some(*user),
                _ => None,
            };
            let key = keys.first().map_or("", String::as_str);
            self.flow
                .limit_issuance(key, user, Some(client), now)
                .await??;
        }
        let (drawn, validation_code) = self.flow.draw_with_validation_code()?;
        let challenge = self
            .flow
            .challenge(&drawn, Some(&validation_code), subject, now);
        let names: Vec<String> = if users.is_empty() && !by_email {
            // A decoy by username lists the typed name, as a real mail would.
            vec![username_or_email.to_owned()]
        } else {
            users.iter().map(|u| u.username_str().to_owned()).collect()
        };
        // Several accounts: the oldest one's language (spec section 6).
        let language = users
            .iter()
            .min_by_key(|u| u.created_at)
            .map_or(mail::FALLBACK_LANGUAGE, |u| u.language.as_str());
        let mails = recipients
            .iter()
            .map(|to| {
                mail::reset_code(
                    language,
                    &names,
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
        tracing::info!(accounts = users.len(), "reset code issued");
        let usernames = if s.enumeration_protection {
            // Never reveal names found by email.
            if by_email {
                Vec::new()
            } else {
                vec![username_or_email.to_owned()]
            }
        } else {
            names
        };
        Ok(ResetRequested {
            validation_code,
            usernames,
        })
    }

    /// Every active account with the address `typed` (none when it is not
    /// an address), sorted by username, as one subject with the address
    /// to mail.
    async fn by_email(&self, typed: &str) -> Result<Option<Found>, Failure> {
        let Ok(email) = Email::parse(typed) else {
            return Ok(None);
        };
        let mut users: Vec<User> = self
            .ports
            .users
            .find_by_email(&email)
            .await?
            .into_iter()
            .filter(|u| u.is_active() && u.username.is_some())
            .collect();
        users.sort_by(|a, b| a.username_str().cmp(b.username_str()));
        // Mail goes only to stored addresses: the address as stored on
        // the covered accounts, never the typed text that merely
        // matches it under the caseless rule (`CAROL@EXAMPLE.COM`, a
        // Kelvin sign for a `k`). One mail per address: the oldest
        // account's spelling.
        let Some(stored) = stored_match(&users, &email) else {
            return Ok(None);
        };
        // And covers only the accounts that store that spelling (up to
        // case): an account whose address merely folds equal (`straße@`
        // beside `strasse@`) may be another mailbox, whose holder must not
        // get a code for it.
        let mailed = stored.as_str().to_lowercase();
        users.retain(|u| u.emails.iter().any(|e| e.as_str().to_lowercase() == mailed));
        let subject = Subject::Accounts {
            email: stored.clone(),
            users: users.iter().map(|u| u.id).collect(),
        };
        Ok(Some((subject, users, vec![stored])))
    }

    /// The active account named exactly `typed` that has an address, with
    /// every address to mail.
    async fn by_username(&self, typed: &str) -> Result<Option<Found>, Failure> {
        let found = self
            .ports
            .users
            .find_by_username_ci(typed)
            .await?
            .filter(|u| u.is_active() && u.username_str() == typed && !u.emails.is_empty());
        Ok(found.map(|user| {
            let recipients = user.emails.clone();
            (Subject::Account { user: user.id }, vec![user], recipients)
        }))
    }

    /// Step 2: `username` must be one of the step-1 accounts; the new
    /// password must pass the policy (checked before the code, so a refusal
    /// never spends a try); then the code. A right code consumes it, sets the
    /// password and revokes older tokens in one transaction.
    #[tracing::instrument(skip_all, fields(route = "unicat.reset_password"))]
    pub async fn complete(&self, input: ResetInput) -> Result<Session, ResetError> {
        let now = self.ports.clock.now();
        let at = self.flow.by_validation_code(input.validation_code.expose());
        let challenge = self.flow.open(&at, now).await?.map_err(refused)?;
        let covered = match challenge.subject() {
            Subject::Account { user } => vec![*user],
            Subject::Accounts { users, .. } => users.clone(),
            Subject::Signup { .. } | Subject::EmailChange { .. } | Subject::Decoy { .. } => {
                Vec::new()
            }
        };
        let mut user = None;
        for id in covered {
            if let Some(u) = self.ports.users.get(id).await.map_err(Failure::from)? {
                if u.is_active() && u.username_str() == input.username {
                    user = Some(u);
                    break;
                }
            }
        }
        // A decoy by username "covers" exactly the typed name, as a real
        // reset by username covers its account's.
        let decoy = challenge.subject().decoy_covers(&input.username);
        if user.is_none() && !decoy {
            // Under enumeration protection a username the challenge does
            // not cover is a wrong code: one try, `code_invalid` (else the
            // names of an address could be probed without limit).
            if self.flow.settings().enumeration_protection {
                return Err(refused(self.flow.fail(&challenge, &at, now).await?));
            }
            return Err(ResetError::Invalid(Invalid::new(
                "username",
                Reason::RequestMismatch,
                "The username is not one of the accounts of this reset request.",
            )));
        }
        let (name, emails) = match &user {
            Some(u) => (u.username_str(), u.emails.as_slice()),
            None => (input.username.as_str(), &[][..]),
        };
        let password = self
            .flow
            .settings()
            .password_policy
            .check(input.new_password.expose(), Some(name), emails)
            .map_err(|r| ResetError::Invalid(Invalid::password("new_password", r)))?;

        // A decoy never accepts a code (`ChallengeFlow::try_code`).
        self.flow
            .try_code(&challenge, &at, input.verification_code.expose(), now)
            .await?
            .map_err(refused)?;
        let Some(user) = user else {
            return Err(refused(Refused::Missing));
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
        let changed = user.clone().with_password(hash.clone());
        let written = self
            .flow
            .consume(&challenge, &at, self.ports.clock.now(), |set| {
                set.set_password(&user, hash).mail(mails)
            })
            .await?;
        match written {
            Ok(()) => {}
            Err(NotConsumed::Refused(r)) => return Err(refused(r)),
            Err(NotConsumed::UsernameTaken) => {
                return Err(unexpected_conflict(Conflict::UsernameTaken).into())
            }
        }
        let user = changed;
        tracing::info!(user.gid = %user.id, "password reset");
        Ok(self.sessions.open(user, Some(now)).await?)
    }
}

fn refused(r: Refused) -> ResetError {
    ResetError::Invalid(Invalid::refused(r))
}

#[cfg(test)]
#[path = "reset_tests.rs"]
mod tests;
