//! The invitee's side of an invitation (Unicat section 5):
//! `account/accept_invite`, `account/decline_invite` and
//! `account/leave_project` for the caller's own row, and the public
//! `decline_invite` and `init_invite`, which the decline link of the
//! invitation mail authenticates with its token instead of a session.
//!
//! Each call loads the project and the row, decides with the domain's
//! [`membership`] transitions and writes one change set guarded by the
//! status it read; when a parallel call (a remove, another accept, a
//! delete) changed the row or the project first, it loads again and decides
//! again, so the answer is the one the order "the other call first" gives.
//!
//! The token of a link is checked only through
//! [`accountd_domain::Invitation::token_matches`] (a keyed MAC compared in
//! constant time), under the code MAC key. A link is as alive as its
//! invitation: from its expiry on (when housekeeping also clears the
//! stored MAC) it is refused like a wrong token, so what a link does never
//! depends on when housekeeping last ran. An expired invitation can still
//! be declined by its account through `account/decline_invite`.

use super::stored_project::StoredProject;
use super::Sessions;
use crate::ports::unexpected_conflict;
use crate::{Failure, Ports, Secret};
use accountd_domain::{
    membership, Change, ChangeSet, Conflict, MacKey, MemberError, Membership, MembershipStatus,
    Project, ProjectAccess, ProjectId, Timestamp, User, UserId,
};
use accountd_ports::ProjectRepository;
use std::fmt;
use std::sync::Arc;

/// How often a call decides again after a parallel change won its guard.
const ATTEMPTS: usize = 3;

/// The values of a decline link: the invitee, the project and the token.
#[derive(Debug, Clone)]
pub struct InvitationLink {
    /// The invited user (an account or a placeholder).
    pub invitee: UserId,
    /// The project.
    pub project: ProjectId,
    /// The token of the link (`Debug` shows `***`).
    pub token: Secret,
}

/// The caller's row after an accept or a decline, with the project as the
/// caller may now see it. `Debug` never shows the token.
#[derive(Clone)]
pub struct RowAnswered {
    /// The project.
    pub project: Project,
    /// Which form of the project to show: `Member` after an accept (the
    /// whole project), `Invited` after a decline (the short form the
    /// invitee saw).
    pub access: ProjectAccess,
    /// The row as written.
    pub row: Membership,
    /// A fresh token (the JWT routes), or none (the public decline).
    pub token: Option<String>,
}

impl fmt::Debug for RowAnswered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowAnswered")
            .field("project", &self.project.id)
            .field("row", &(self.row.user, self.row.status))
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// What `init_invite` (and the decline page) shows of an invitation.
#[derive(Debug, Clone)]
pub struct InvitationShown {
    /// The project (shown in the short form).
    pub project: Project,
    /// The invitee's `invited` row.
    pub row: Membership,
    /// The invitee.
    pub invitee: User,
    /// Who sent the invitation, while stored.
    pub inviter: Option<User>,
}

/// Why an invitation call changed and showed nothing.
#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    /// No such row (unknown project included), a row in another status
    /// than the route needs, or (public routes) a token that is not the
    /// latest one sent for an unexpired invitation: 422.
    #[error("no such invitation or membership")]
    NoRow,
    /// The project is deleted: 422 `project_deleted` (wins over 1004).
    #[error("the project is deleted")]
    ProjectDeleted,
    /// Accept of a declined row: 1004 `invite_declined`.
    #[error("the invitation was declined")]
    InviteDeclined,
    /// Accept of an expired invitation: 1004 `invite_expired`.
    #[error("the invitation expired")]
    InviteExpired,
    /// The owner cannot leave: 422 `owner_cannot_leave`.
    #[error("the owner cannot leave")]
    OwnerCannotLeave,
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<MemberError> for InvitationError {
    fn from(e: MemberError) -> Self {
        match e {
            MemberError::ProjectDeleted => Self::ProjectDeleted,
            MemberError::InviteDeclined => Self::InviteDeclined,
            MemberError::InviteExpired => Self::InviteExpired,
            MemberError::OwnerCannotLeave => Self::OwnerCannotLeave,
            // Not reachable from accept, decline or leave; a refusal all
            // the same.
            MemberError::NoRow
            | MemberError::AlreadyMember
            | MemberError::AlreadyInvited
            | MemberError::NotOwner => Self::NoRow,
        }
    }
}

/// Which own-row transition a call makes.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Accept,
    Decline,
    /// A decline by the mail's link: its token is checked again on the
    /// very read the decline is decided on.
    DeclineByLink(&'a InvitationLink),
}

/// The invitee's use cases.
#[derive(Clone)]
pub struct Invitations {
    ports: Ports,
    sessions: Sessions,
    projects: Arc<dyn ProjectRepository>,
    mac_key: MacKey,
}

impl fmt::Debug for Invitations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Invitations { .. }")
    }
}

impl Invitations {
    /// Builds the service; `mac_key` is the code MAC key (the one the
    /// invitations were issued under).
    pub fn new(
        ports: Ports,
        sessions: Sessions,
        projects: Arc<dyn ProjectRepository>,
        mac_key: MacKey,
    ) -> Self {
        Self {
            ports,
            sessions,
            projects,
            mac_key,
        }
    }

    /// `account/accept_invite`: the caller's `invited`, unexpired row
    /// becomes `active`. No row (unknown project included) or an active
    /// one → `NoRow`; then the domain: a deleted project, a declined row,
    /// an expired invitation.
    #[tracing::instrument(skip_all, fields(route = "unicat.account.accept_invite"))]
    pub async fn accept(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        project: ProjectId,
    ) -> Result<RowAnswered, InvitationError> {
        let mut answered = self.step(caller.id, project, Step::Accept).await?;
        answered.token = Some(self.sessions.token(caller, auth_time)?);
        tracing::info!(user.gid = %caller.id, project.gid = %project, "invitation accepted");
        Ok(answered)
    }

    /// `account/decline_invite`: the caller's `invited` row, expired or
    /// not, becomes `declined`.
    #[tracing::instrument(skip_all, fields(route = "unicat.account.decline_invite"))]
    pub async fn decline(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        project: ProjectId,
    ) -> Result<RowAnswered, InvitationError> {
        let mut answered = self.step(caller.id, project, Step::Decline).await?;
        answered.token = Some(self.sessions.token(caller, auth_time)?);
        tracing::info!(user.gid = %caller.id, project.gid = %project, "invitation declined");
        Ok(answered)
    }

    /// `account/leave_project`: the caller's active row goes; the owner →
    /// `OwnerCannotLeave`. The fresh token.
    #[tracing::instrument(skip_all, fields(route = "unicat.account.leave_project"))]
    pub async fn leave(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        project: ProjectId,
    ) -> Result<String, InvitationError> {
        for _ in 0..ATTEMPTS {
            let (project, own) = self.own_row(caller.id, project).await?;
            let row = membership::leave(&project, Some(&own))?;
            let set = ChangeSet::new()
                .with(Change::RemoveMembership {
                    project: project.id,
                    user: row.user,
                    expected: row.status,
                })
                .audit(
                    accountd_domain::AuditEvent::new(
                        accountd_domain::AuditEventKind::MemberLeft,
                        Some(caller.id),
                    )
                    .project(project.id),
                );
            match self.ports.apply(set, self.ports.clock.now()).await? {
                Ok(()) => {
                    tracing::info!(user.gid = %caller.id, project.gid = %project.id, "project left");
                    return Ok(self.sessions.token(caller, auth_time)?);
                }
                // Removed, or the row changed, meanwhile: decide again.
                Err(Conflict::MembershipChanged) => {}
                Err(c) => return Err(unexpected(c)),
            }
        }
        Err(unexpected_conflict(Conflict::MembershipChanged).into())
    }

    /// The public `decline_invite`: as `account/decline_invite` for the
    /// link's invitee (a placeholder too), when the link's token is the
    /// latest one sent and the invitation has not expired (else `NoRow`,
    /// the same answer as no invitation at all).
    #[tracing::instrument(skip_all, fields(route = "unicat.decline_invite"))]
    pub async fn decline_public(
        &self,
        link: &InvitationLink,
    ) -> Result<RowAnswered, InvitationError> {
        // The token first: whoever does not hold it learns nothing, not
        // even whether the project is deleted.
        self.linked(link).await?;
        let answered = self
            .step(link.invitee, link.project, Step::DeclineByLink(link))
            .await?;
        tracing::info!(
            user.gid = %link.invitee,
            project.gid = %link.project,
            "invitation declined by its link"
        );
        Ok(answered)
    }

    /// `init_invite`: the invitation of a link (token checked as for
    /// [`Self::decline_public`]): the project, the invitee's `invited` row,
    /// the invitee and the inviter. A deleted project → `ProjectDeleted`;
    /// then a row that is not `invited` → `NoRow`.
    #[tracing::instrument(skip_all, fields(route = "unicat.init_invite"))]
    pub async fn init_invite(
        &self,
        link: &InvitationLink,
    ) -> Result<InvitationShown, InvitationError> {
        let (project, row) = self.linked(link).await?;
        // In the order of the decline: a deleted project first.
        if project.status != accountd_domain::ProjectStatus::Active {
            return Err(InvitationError::ProjectDeleted);
        }
        if row.status != MembershipStatus::Invited {
            return Err(InvitationError::NoRow);
        }
        let inviter = row.invitation.as_ref().map(|i| i.inviter);
        let mut ids = vec![row.user];
        ids.extend(inviter);
        let users = self
            .ports
            .users
            .get_many(&ids)
            .await
            .map_err(Failure::from)?;
        let Some(invitee) = users.iter().find(|u| u.id == row.user).cloned() else {
            // The row's user is gone meanwhile (a foreign key): no row.
            return Err(InvitationError::NoRow);
        };
        let inviter = inviter.and_then(|id| users.into_iter().find(|u| u.id == id));
        Ok(InvitationShown {
            project,
            row,
            invitee,
            inviter,
        })
    }

    /// The project and the link's row, when the link's token is the latest
    /// one sent and the invitation is unexpired; `NoRow` otherwise, in
    /// every case alike.
    async fn linked(
        &self,
        link: &InvitationLink,
    ) -> Result<(Project, Membership), InvitationError> {
        let (project, row) = self.own_row(link.invitee, link.project).await?;
        if !self.link_holds(&row, link, self.ports.clock.now()) {
            tracing::info!(
                user.gid = %link.invitee,
                project.gid = %link.project,
                "invitation link refused"
            );
            return Err(InvitationError::NoRow);
        }
        Ok((project, row))
    }

    /// Whether `link`'s token is the latest one sent for `row` and its
    /// invitation unexpired at `now`.
    fn link_holds(&self, row: &Membership, link: &InvitationLink, now: Timestamp) -> bool {
        row.invitation.as_ref().is_some_and(|i| {
            i.token_matches(&self.mac_key, link.token.expose()) && !i.is_expired(now)
        })
    }

    /// Accept or decline of `user`'s row: decide, write under the status
    /// read (and the project still active), and decide again when a
    /// parallel change won.
    async fn step(
        &self,
        user: UserId,
        project: ProjectId,
        step: Step<'_>,
    ) -> Result<RowAnswered, InvitationError> {
        for _ in 0..ATTEMPTS {
            let (project, own) = self.own_row(user, project).await?;
            let now = self.ports.clock.now();
            let (next, access) = match step {
                Step::Accept => (
                    membership::accept(&project, Some(&own), now)?,
                    ProjectAccess::Member,
                ),
                Step::Decline => (
                    membership::decline(&project, Some(&own))?,
                    ProjectAccess::Invited,
                ),
                Step::DeclineByLink(link) => {
                    if !self.link_holds(&own, link, now) {
                        return Err(InvitationError::NoRow);
                    }
                    (
                        membership::decline(&project, Some(&own))?,
                        ProjectAccess::Invited,
                    )
                }
            };
            let event = match step {
                Step::Accept => accountd_domain::AuditEventKind::InviteAccepted,
                Step::Decline | Step::DeclineByLink(_) => {
                    accountd_domain::AuditEventKind::InviteDeclined
                }
            };
            let event = accountd_domain::AuditEvent::new(event, Some(user)).project(project.id);
            let event = match step {
                Step::DeclineByLink(_) => event.word("via", "link"),
                Step::Accept | Step::Decline => event,
            };
            // The invitation read is the one decided on: a resend in
            // between refuses this set, and the call decides again.
            let set = ChangeSet::new()
                .with(Change::ProjectIsActive(project.id))
                .with(Change::InvitationSentAt {
                    project: project.id,
                    user,
                    sent_at: own.invitation.as_ref().map(|i| i.sent_at),
                })
                .with(Change::PutMembership {
                    membership: next.clone(),
                    expected: Some(own.status),
                })
                .audit(event);
            match self.ports.apply(set, now).await? {
                Ok(()) => {
                    return Ok(RowAnswered {
                        project,
                        access,
                        row: next,
                        token: None,
                    })
                }
                // Deleted, or the row removed or changed, meanwhile: the
                // next round decides on what is stored now.
                Err(Conflict::ProjectChanged | Conflict::MembershipChanged) => {}
                Err(c) => return Err(unexpected(c)),
            }
        }
        Err(unexpected_conflict(Conflict::MembershipChanged).into())
    }

    /// The project and `user`'s row in it; `NoRow` when either is missing
    /// (an unknown project answers as a project without the row).
    async fn own_row(
        &self,
        user: UserId,
        project: ProjectId,
    ) -> Result<(Project, Membership), InvitationError> {
        let Some(stored) = StoredProject::load(self.projects.as_ref(), project).await? else {
            return Err(InvitationError::NoRow);
        };
        let Some(own) = stored.row_of(user).cloned() else {
            return Err(InvitationError::NoRow);
        };
        Ok((stored.project, own))
    }
}

/// A conflict the set cannot meet: logged, answered as 503.
fn unexpected(c: Conflict) -> InvitationError {
    match c {
        Conflict::ChallengeNotOpen
        | Conflict::UsernameTaken
        | Conflict::UserChanged
        | Conflict::MembershipChanged
        | Conflict::OwnsProjects
        | Conflict::RevertSpent
        | Conflict::TooManyProjects
        | Conflict::ProjectChanged
        | Conflict::AddressTaken
        | Conflict::TooManyPendingInvites
        | Conflict::Limited { .. } => unexpected_conflict(c).into(),
    }
}

#[cfg(test)]
#[path = "invitations_tests.rs"]
mod tests;
