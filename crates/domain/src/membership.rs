//! Invitations and the life of a membership row (Unicat section 5): invite,
//! resend, accept, decline, expire, remove and leave, each a pure function
//! of the project, the rows involved and `now`, returning the next row or
//! a typed refusal. Who may see what is [`crate::project_access`] and
//! [`crate::may_see_row`]; this module decides what a row may become.
//!
//! An invitation carries a 256-bit token drawn by the caller, for the
//! decline link of its mail and the invitation page; only its keyed MAC
//! ([`Invitation::token_mac`], domain-separated from every other MAC) is
//! stored, and a resend replaces it, so only the latest link works.

use crate::{
    CodeMac, Email, MacKey, Membership, MembershipStatus, Notifications, Project, ProjectStatus,
    Role, Timestamp, UserId,
};

/// The invitation of an `invited` or `declined` row: who sent it, when,
/// until when it may be accepted, and the MAC of its token (`None` once
/// housekeeping purged an expired token; the row stays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The user who sent (or last resent) it.
    pub inviter: UserId,
    /// When it was sent (or last resent).
    pub sent_at: Timestamp,
    /// From this instant on it can no longer be accepted.
    pub expires_at: Timestamp,
    /// The MAC of the latest token sent, while stored.
    pub token_mac: Option<CodeMac>,
}

impl Invitation {
    /// The MAC under which the token `token` is stored and checked.
    pub fn token_mac(key: &MacKey, token: &str) -> CodeMac {
        key.mac(&[b"invitation", token.as_bytes()])
    }

    /// A new invitation from `inviter` sent at `now` for `ttl_seconds`,
    /// with the token `token`.
    pub fn issue(
        key: &MacKey,
        token: &str,
        inviter: UserId,
        now: Timestamp,
        ttl_seconds: i64,
    ) -> Self {
        Self {
            inviter,
            sent_at: now,
            expires_at: now.plus_seconds(ttl_seconds),
            token_mac: Some(Self::token_mac(key, token)),
        }
    }

    /// Whether it can no longer be accepted at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Whether `token` is the latest one sent (compared in constant time);
    /// `false` once the token was purged.
    pub fn token_matches(&self, key: &MacKey, token: &str) -> bool {
        self.token_mac
            .is_some_and(|mac| mac == Self::token_mac(key, token))
    }
}

/// Why a membership transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    /// The project is deleted (422; it wins over every other refusal).
    #[error("the project is deleted")]
    ProjectDeleted,
    /// Invite: the user already has an active row (422 `already_member`).
    #[error("already a member")]
    AlreadyMember,
    /// Invite: the user already has an invited row, expired or not (422
    /// `already_invited`; use resend).
    #[error("already invited")]
    AlreadyInvited,
    /// Invite: the user declined (422 `invite_declined`; use resend), or
    /// accept of a declined row (1004 `invite_declined`).
    #[error("the invitation was declined")]
    InviteDeclined,
    /// Accept: the invitation expired (1004 `invite_expired`).
    #[error("the invitation expired")]
    InviteExpired,
    /// The route needs a row in another state, or a row at all: resend of
    /// an active row or of none, accept or decline without an invited row,
    /// leave without an active row, remove of a row that does not exist
    /// (422).
    #[error("no such membership row")]
    NoRow,
    /// The owner's own row cannot be removed or left (422
    /// `owner_cannot_leave`).
    #[error("the owner cannot leave")]
    OwnerCannotLeave,
    /// A member who is not the owner removing another user's row (403).
    #[error("not the owner")]
    NotOwner,
}

fn active(project: &Project) -> Result<(), MemberError> {
    match project.status {
        ProjectStatus::Active => Ok(()),
        ProjectStatus::Deleted => Err(MemberError::ProjectDeleted),
    }
}

/// `members/invite`: a new `invited` row (roles `["member"]`, notifications
/// to `notify`) for `invitee`, who has no row yet (`existing` is the row
/// of `invitee`, if any). An active project only.
pub fn invite(
    project: &Project,
    existing: Option<&Membership>,
    invitee: UserId,
    notify: Option<Email>,
    invitation: Invitation,
) -> Result<Membership, MemberError> {
    active(project)?;
    if let Some(row) = existing {
        return Err(match row.status {
            MembershipStatus::Active => MemberError::AlreadyMember,
            MembershipStatus::Invited => MemberError::AlreadyInvited,
            MembershipStatus::Declined => MemberError::InviteDeclined,
        });
    }
    Ok(Membership {
        project: project.id,
        user: invitee,
        status: MembershipStatus::Invited,
        roles: vec![Role::Member],
        notifications: Notifications {
            email: notify,
            ..Notifications::default()
        },
        rate_limit_per_second: None,
        invitation: Some(invitation),
    })
}

/// `members/resend_invite`: an `invited` or `declined` row becomes
/// `invited` again with the new invitation (new expiry, new token). An
/// active project only; an active row or none → [`MemberError::NoRow`].
pub fn resend(
    project: &Project,
    row: Option<&Membership>,
    invitation: Invitation,
) -> Result<Membership, MemberError> {
    active(project)?;
    match row {
        Some(row)
            if matches!(
                row.status,
                MembershipStatus::Invited | MembershipStatus::Declined
            ) =>
        {
            Ok(Membership {
                status: MembershipStatus::Invited,
                invitation: Some(invitation),
                ..row.clone()
            })
        }
        _ => Err(MemberError::NoRow),
    }
}

/// `account/accept_invite`: the caller's `invited`, unexpired row becomes
/// `active` (the invitation is spent). Deleted project first, then: no row
/// or an active one → [`MemberError::NoRow`]; declined →
/// [`MemberError::InviteDeclined`]; expired → [`MemberError::InviteExpired`].
pub fn accept(
    project: &Project,
    row: Option<&Membership>,
    now: Timestamp,
) -> Result<Membership, MemberError> {
    active(project)?;
    let row = row.ok_or(MemberError::NoRow)?;
    match row.status {
        MembershipStatus::Active => Err(MemberError::NoRow),
        MembershipStatus::Declined => Err(MemberError::InviteDeclined),
        MembershipStatus::Invited => {
            if row.invitation.as_ref().is_none_or(|i| i.is_expired(now)) {
                return Err(MemberError::InviteExpired);
            }
            Ok(Membership {
                status: MembershipStatus::Active,
                invitation: None,
                ..row.clone()
            })
        }
    }
}

/// `account/decline_invite` and the public `decline_invite`: an `invited`
/// row, expired or not, becomes `declined` (the invitation is kept, so a
/// resend can renew it). Deleted project first; any other row or none →
/// [`MemberError::NoRow`].
pub fn decline(project: &Project, row: Option<&Membership>) -> Result<Membership, MemberError> {
    active(project)?;
    match row {
        Some(row) if row.status == MembershipStatus::Invited => Ok(Membership {
            status: MembershipStatus::Declined,
            ..row.clone()
        }),
        _ => Err(MemberError::NoRow),
    }
}

/// `account/leave_project`: the caller's active row goes. The owner →
/// [`MemberError::OwnerCannotLeave`]; a deleted project →
/// [`MemberError::ProjectDeleted`]; an invited or declined row, or none →
/// [`MemberError::NoRow`] (decline an invitation instead). Returns the row
/// to remove.
pub fn leave(project: &Project, row: Option<&Membership>) -> Result<Membership, MemberError> {
    let row = row.ok_or(MemberError::NoRow)?;
    if row.user == project.owner {
        return Err(MemberError::OwnerCannotLeave);
    }
    active(project)?;
    match row.status {
        MembershipStatus::Active => Ok(row.clone()),
        MembershipStatus::Invited | MembershipStatus::Declined => Err(MemberError::NoRow),
    }
}

/// `members/remove` by `caller` of `target`'s row (`row`, if any): the
/// owner may remove any row but their own ([`MemberError::OwnerCannotLeave`]);
/// anyone else only their own row (active: as leave; invited or declined:
/// the row goes), another user's → [`MemberError::NotOwner`]. A row that
/// does not exist → [`MemberError::NoRow`]. On a deleted project only the
/// owner gets this far (the route is hidden from everyone else), and may
/// remove rows. Returns the row to remove.
pub fn remove(
    project: &Project,
    caller: UserId,
    target: UserId,
    row: Option<&Membership>,
) -> Result<Membership, MemberError> {
    let is_owner = caller == project.owner;
    if !is_owner && caller != target {
        return Err(MemberError::NotOwner);
    }
    let row = row
        .filter(|r| r.user == target && r.project == project.id)
        .ok_or(MemberError::NoRow)?;
    if target == project.owner {
        return Err(MemberError::OwnerCannotLeave);
    }
    if !is_owner {
        active(project)?;
    }
    Ok(row.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProjectId;
    use MembershipStatus::{Active, Declined, Invited};

    fn user(n: u8) -> UserId {
        UserId::from_random_bytes([n; 16])
    }

    fn project(status: ProjectStatus) -> Project {
        Project {
            id: ProjectId::from_random_bytes([1; 16]),
            name: "p".to_owned(),
            icon: None,
            owner: user(10),
            status,
            timezone: "UTC".to_owned(),
            languages: vec!["en".to_owned()],
        }
    }

    fn key() -> MacKey {
        MacKey::from_bytes([7; 32])
    }

    fn invitation(at: i64) -> Invitation {
        Invitation::issue(&key(), "tok", user(10), Timestamp::from_millis(at), 60)
    }

    fn row(n: u8, status: MembershipStatus) -> Membership {
        Membership {
            project: ProjectId::from_random_bytes([1; 16]),
            user: user(n),
            status,
            roles: vec![if n == 10 { Role::Owner } else { Role::Member }],
            notifications: Notifications::default(),
            rate_limit_per_second: None,
            invitation: (status != Active).then(|| invitation(0)),
        }
    }

    #[test]
    fn an_invitation_expires_at_its_ttl_and_checks_only_its_latest_token() {
        let i = invitation(1_000);
        assert_eq!(i.expires_at, Timestamp::from_millis(61_000));
        assert!(!i.is_expired(Timestamp::from_millis(60_999)));
        assert!(i.is_expired(Timestamp::from_millis(61_000)));
        assert!(i.token_matches(&key(), "tok"));
        assert!(!i.token_matches(&key(), "tok2"));
        assert!(!i.token_matches(&MacKey::from_bytes([8; 32]), "tok"));
        let purged = Invitation {
            token_mac: None,
            ..i
        };
        assert!(!purged.token_matches(&key(), "tok"));
        // Domain-separated from the revert token's MAC of the same text.
        assert_ne!(
            Invitation::token_mac(&key(), "tok"),
            crate::EmailRevert::token_mac(&key(), "tok")
        );
    }

    #[test]
    fn invite_makes_an_invited_member_row_unless_a_row_exists_or_the_project_is_deleted() {
        let p = project(ProjectStatus::Active);
        let email = Email::parse("b@example.com").ok();
        let made = invite(&p, None, user(2), email.clone(), invitation(0)).unwrap();
        assert_eq!(
            (made.project, made.user, made.status),
            (p.id, user(2), Invited)
        );
        assert_eq!(made.roles, vec![Role::Member]);
        assert_eq!(made.notifications.email, email);
        assert_eq!(made.invitation, Some(invitation(0)));
        let table = [
            (Active, MemberError::AlreadyMember),
            (Invited, MemberError::AlreadyInvited),
            (Declined, MemberError::InviteDeclined),
        ];
        for (status, expected) in table {
            assert_eq!(
                invite(&p, Some(&row(2, status)), user(2), None, invitation(0)),
                Err(expected),
                "{status}"
            );
        }
        let gone = project(ProjectStatus::Deleted);
        for existing in [None, Some(row(2, Active))] {
            assert_eq!(
                invite(&gone, existing.as_ref(), user(2), None, invitation(0)),
                Err(MemberError::ProjectDeleted)
            );
        }
    }

    #[test]
    fn resend_renews_an_invited_or_declined_row_only() {
        let p = project(ProjectStatus::Active);
        for status in [Invited, Declined] {
            let next = resend(&p, Some(&row(2, status)), invitation(5_000)).unwrap();
            assert_eq!(next.status, Invited);
            assert_eq!(next.invitation, Some(invitation(5_000)));
            assert_eq!(next.roles, vec![Role::Member]);
        }
        assert_eq!(
            resend(&p, Some(&row(2, Active)), invitation(0)),
            Err(MemberError::NoRow)
        );
        assert_eq!(resend(&p, None, invitation(0)), Err(MemberError::NoRow));
        assert_eq!(
            resend(
                &project(ProjectStatus::Deleted),
                Some(&row(2, Invited)),
                invitation(0)
            ),
            Err(MemberError::ProjectDeleted)
        );
    }

    #[test]
    fn accept_is_a_table_of_row_status_expiry_and_project_status() {
        let before = Timestamp::from_millis(59_999);
        let after = Timestamp::from_millis(60_000);
        let p = project(ProjectStatus::Active);
        let gone = project(ProjectStatus::Deleted);
        let table = [
            (&p, Some(row(2, Invited)), before, Ok(Active)),
            (
                &p,
                Some(row(2, Invited)),
                after,
                Err(MemberError::InviteExpired),
            ),
            (
                &p,
                Some(row(2, Declined)),
                before,
                Err(MemberError::InviteDeclined),
            ),
            (
                &p,
                Some(row(2, Declined)),
                after,
                Err(MemberError::InviteDeclined),
            ),
            (&p, Some(row(2, Active)), before, Err(MemberError::NoRow)),
            (&p, None, before, Err(MemberError::NoRow)),
            (
                &gone,
                Some(row(2, Invited)),
                before,
                Err(MemberError::ProjectDeleted),
            ),
            (
                &gone,
                Some(row(2, Invited)),
                after,
                Err(MemberError::ProjectDeleted),
            ),
            (&gone, None, before, Err(MemberError::ProjectDeleted)),
        ];
        for (project, own, now, expected) in table {
            let got = accept(project, own.as_ref(), now);
            assert_eq!(
                got.as_ref().map(|m| m.status).map_err(|e| *e),
                expected,
                "{own:?} {now:?}"
            );
            if let Ok(m) = got {
                assert_eq!(m.invitation, None);
                assert_eq!(m.roles, vec![Role::Member]);
            }
        }
    }

    #[test]
    fn decline_turns_an_invited_row_expired_or_not_into_declined_and_nothing_else() {
        let p = project(ProjectStatus::Active);
        let declined = decline(&p, Some(&row(2, Invited))).unwrap();
        assert_eq!(declined.status, Declined);
        assert_eq!(declined.invitation, row(2, Invited).invitation);
        for own in [Some(row(2, Declined)), Some(row(2, Active)), None] {
            assert_eq!(decline(&p, own.as_ref()), Err(MemberError::NoRow));
        }
        assert_eq!(
            decline(&project(ProjectStatus::Deleted), Some(&row(2, Invited))),
            Err(MemberError::ProjectDeleted)
        );
    }

    #[test]
    fn leave_removes_an_active_member_row_but_never_the_owner() {
        let p = project(ProjectStatus::Active);
        assert_eq!(leave(&p, Some(&row(2, Active))), Ok(row(2, Active)));
        assert_eq!(
            leave(&p, Some(&row(10, Active))),
            Err(MemberError::OwnerCannotLeave)
        );
        for own in [Some(row(2, Invited)), Some(row(2, Declined)), None] {
            assert_eq!(leave(&p, own.as_ref()), Err(MemberError::NoRow));
        }
        assert_eq!(
            leave(&project(ProjectStatus::Deleted), Some(&row(2, Active))),
            Err(MemberError::ProjectDeleted)
        );
    }

    #[test]
    fn remove_is_a_table_of_who_removes_whom() {
        let p = project(ProjectStatus::Active);
        let owner = user(10);
        // The owner removes any row but their own.
        for status in [Active, Invited, Declined] {
            assert_eq!(
                remove(&p, owner, user(2), Some(&row(2, status))),
                Ok(row(2, status))
            );
        }
        assert_eq!(
            remove(&p, owner, owner, Some(&row(10, Active))),
            Err(MemberError::OwnerCannotLeave)
        );
        assert_eq!(remove(&p, owner, user(2), None), Err(MemberError::NoRow));
        // A member removes their own row only, in any status.
        for status in [Active, Invited, Declined] {
            assert_eq!(
                remove(&p, user(2), user(2), Some(&row(2, status))),
                Ok(row(2, status))
            );
        }
        assert_eq!(
            remove(&p, user(2), user(3), Some(&row(3, Active))),
            Err(MemberError::NotOwner)
        );
        assert_eq!(
            remove(&p, user(2), owner, Some(&row(10, Active))),
            Err(MemberError::NotOwner)
        );
        // On a deleted project the owner still may; a row of another
        // user than the target is no row.
        let gone = project(ProjectStatus::Deleted);
        assert_eq!(
            remove(&gone, owner, user(2), Some(&row(2, Active))),
            Ok(row(2, Active))
        );
        assert_eq!(
            remove(&gone, user(2), user(2), Some(&row(2, Active))),
            Err(MemberError::ProjectDeleted)
        );
        assert_eq!(
            remove(&p, owner, user(2), Some(&row(3, Active))),
            Err(MemberError::NoRow)
        );
    }
}
