//! `account/delete`: the account is erased in one transaction, keeping
//! only its username (reserved for good) and the settings no one can reach.

use super::{RecentAuthError, Sessions};
use crate::ports::unexpected_conflict;
use crate::{mail, Failure, Ports, Secret};
use accountd_domain::{
    Change, ChangeSet, Conflict, OutgoingMail, ProjectId, Purpose, Subject, Timestamp, User,
};
use accountd_ports::ProjectRepository;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

/// Every challenge purpose: a deletion consumes each open code of the
/// account, whatever it was for.
const EVERY_PURPOSE: [Purpose; 4] = [
    Purpose::ForgotPassword,
    Purpose::Signup,
    Purpose::ResetPassword,
    Purpose::ChangeEmail,
];

// A purpose added to the domain and not to the list above fails here.
const _: () = match Purpose::Signup {
    Purpose::ForgotPassword | Purpose::Signup | Purpose::ResetPassword | Purpose::ChangeEmail => {}
};

/// What `account/delete` is given besides its `confirm: true` (which the
/// HTTP layer checks).
#[derive(Debug, Clone, Default)]
pub struct DeleteInput {
    /// The caller's password, for a stale session (recent auth).
    pub current_password: Option<Secret>,
}

/// Why nothing was deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    /// The session is stale and no (or a wrong) `current_password` came:
    /// 403 `reauthentication_required`.
    #[error("reauthentication required")]
    ReauthenticationRequired,
    /// The account owns these projects (any status), sorted by gid: 422
    /// `owns_projects`.
    #[error("the account owns {} projects", .0.len())]
    OwnsProjects(Vec<ProjectId>),
    /// The stale session's password could not be checked: the account's
    /// name is soft-locked (429).
    #[error("soft-locked")]
    Locked {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
    /// The credential version moved while the request was served (a
    /// password change or reset won the race): the caller's token is
    /// revoked by it, so the answer is the token's, 401.
    #[error("the credentials changed meanwhile")]
    Revoked,
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// The account deletion use case.
#[derive(Clone)]
pub struct AccountDeletion {
    ports: Ports,
    sessions: Sessions,
    projects: Arc<dyn ProjectRepository>,
}

impl fmt::Debug for AccountDeletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountDeletion { .. }")
    }
}

impl AccountDeletion {
    /// Builds the service.
    pub fn new(ports: Ports, sessions: Sessions, projects: Arc<dyn ProjectRepository>) -> Self {
        Self {
            ports,
            sessions,
            projects,
        }
    }

    /// Deletes `caller`'s account (as the token loaded it), in the spec's
    /// order: recent auth (403), then owned projects (422), then a soft
    /// lock met while checking `current_password` (429: the 422 wins over
    /// it). The one write is [`Change::DeleteAccount`] under the caller's
    /// credential version, every open code of the account consumed, and
    /// one last notice per distinct address the account had.
    #[tracing::instrument(skip_all, fields(route = "unicat.account_delete", user.gid = %caller.id))]
    pub async fn delete(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        input: DeleteInput,
    ) -> Result<(), DeletionError> {
        match self
            .sessions
            .ensure_recent(caller, auth_time, input.current_password.as_ref())
            .await
        {
            Ok(_) => {}
            Err(RecentAuthError::Required) => return Err(DeletionError::ReauthenticationRequired),
            Err(RecentAuthError::Locked {
                retry_after_seconds,
            }) => {
                self.refuse_owner(caller).await?;
                return Err(DeletionError::Locked {
                    retry_after_seconds,
                });
            }
            Err(RecentAuthError::Failure(f)) => return Err(f.into()),
        }
        self.refuse_owner(caller).await?;

        let now = self.ports.clock.now();
        let set = ChangeSet::new()
            .with(Change::DeleteAccount {
                user: caller.id,
                expected_version: caller.credential_version,
            })
            .with(Change::ConsumeOpenChallenges {
                key: Subject::Account { user: caller.id }.key(),
                purposes: EVERY_PURPOSE.to_vec(),
            })
            .mail(last_notices(caller))
            .audit(accountd_domain::AuditEvent::new(
                accountd_domain::AuditEventKind::AccountDeleted,
                Some(caller.id),
            ))
            // The deletion bumps the credential version too.
            .audit(
                accountd_domain::AuditEvent::new(
                    accountd_domain::AuditEventKind::TokensRevoked,
                    Some(caller.id),
                )
                .word("reason", "account_deleted"),
            );
        match self.ports.apply(set, now).await? {
            Ok(()) => {
                tracing::info!("account deleted");
                Ok(())
            }
            Err(Conflict::UserChanged) => {
                tracing::info!("account deletion refused: the credentials changed meanwhile");
                Err(DeletionError::Revoked)
            }
            Err(Conflict::OwnsProjects) => {
                // A project was created in parallel: answer with the list
                // as it is now.
                self.refuse_owner(caller).await?;
                Err(unexpected_conflict(Conflict::OwnsProjects).into())
            }
            Err(other) => Err(unexpected_conflict(other).into()),
        }
    }

    /// `OwnsProjects` with the sorted list when `caller` owns any project.
    async fn refuse_owner(&self, caller: &User) -> Result<(), DeletionError> {
        let mut owned = self
            .projects
            .owned_by(caller.id)
            .await
            .map_err(Failure::from)?;
        if owned.is_empty() {
            return Ok(());
        }
        owned.sort_unstable();
        owned.dedup();
        tracing::info!(
            projects = owned.len(),
            "account deletion refused: owns projects"
        );
        Err(DeletionError::OwnsProjects(owned))
    }
}

/// The last notice, once per distinct address (compared case-insensitively,
/// the first stored spelling), about the account as it was.
fn last_notices(user: &User) -> Vec<OutgoingMail> {
    let mut seen = HashSet::new();
    user.emails
        .iter()
        .filter(|e| seen.insert(e.key()))
        .map(|to| mail::account_deleted(user, to))
        .collect()
}

#[cfg(test)]
#[path = "deletion_tests.rs"]
mod tests;
