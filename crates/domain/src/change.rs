//! One change set per use case: everything a request changes, applied in
//! one transaction or not at all.
//!
//! The app decides *what* changes: it loads, asks the domain's transitions,
//! and describes the result as a [`ChangeSet`]: rows to create, rows to
//! update with the state they must still be in (a guard), challenge
//! transitions, and the mail that announces the change. An adapter applies
//! it (the `Changes` port) in one transaction at a `now` the app passes in,
//! and decides nothing: when a guard no longer holds because a parallel
//! request won, the whole set is undone and the [`Conflict`] says which
//! guard failed. Audit events ride in the set too ([`ChangeSet::audit`]),
//! written in the same transaction as the change they record: a refused set
//! writes none.

use crate::{
    AuditEvent, Challenge, ChallengeId, CodeMac, Email, EmailRevert, Membership, MembershipStatus,
    OutgoingMail, PasswordHash, Project, ProjectId, Purpose, Subject, User, UserId, Username,
};

/// One row-level change, with the guard it is applied under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Stores a newly issued challenge and marks superseded every open
    /// challenge of the same purpose sharing any of its subject keys. No
    /// guard: issuing always wins.
    IssueChallenge(Challenge),
    /// Consumes the challenge. Guard: it is still open at `now` (stored
    /// open, tries left, not expired), else [`Conflict::ChallengeNotOpen`];
    /// of parallel consumptions exactly one wins.
    ConsumeChallenge(ChallengeId),
    /// Consumes every open challenge of these purposes carrying `key` (a
    /// subject key, e.g. `user:<gid>`); none at all is fine.
    ConsumeOpenChallenges {
        /// The subject key.
        key: String,
        /// Which purposes.
        purposes: Vec<Purpose>,
    },
    /// Creates a user (an account, or an invited placeholder). Guard: no
    /// user has the same username case-insensitively, else
    /// [`Conflict::UsernameTaken`].
    CreateUser(User),
    /// Sets the user's password hash and bumps the credential version by
    /// one (so every older token is refused), touching no other column.
    /// Guard: the stored credential version is still `expected_version`,
    /// else [`Conflict::UserChanged`].
    SetPassword {
        /// The account.
        user: UserId,
        /// The new hash.
        hash: PasswordHash,
        /// The credential version the stored row must still have.
        expected_version: i64,
    },
    /// Replaces the stored user by `user`, every field and address
    /// included. Guard: the stored credential version is still
    /// `expected_version`, else [`Conflict::UserChanged`]; a username taken
    /// by another user gives [`Conflict::UsernameTaken`]. A change that does
    /// not bump the version is not guarded against another such change
    /// (the last one wins, whole): a use case that must not lose a
    /// concurrent edit bumps the version or uses a narrower change.
    UpdateUser {
        /// The new state.
        user: User,
        /// The credential version the stored row must still have.
        expected_version: i64,
    },
    /// Creates a project with its owner's membership, stamped `now`.
    /// Guard: the owner is an active account, else
    /// [`Conflict::UserChanged`] (see [`Change::DeleteAccount`]).
    CreateProject {
        /// The project.
        project: Project,
        /// The owner's row.
        owner: Membership,
    },
    /// Writes a membership row, its invitation included. Guards: the
    /// stored row has status `expected` (`None`: there is no row yet), else
    /// [`Conflict::MembershipChanged`]; for a new row, its user is still
    /// stored and active or a placeholder (not deleted, not purged
    /// meanwhile: checked in the transaction and by the foreign key), else
    /// [`Conflict::UserChanged`].
    PutMembership {
        /// The new state.
        membership: Membership,
        /// The status the stored row must still have.
        expected: Option<MembershipStatus>,
    },
    /// Deletes a membership row. Guard: it still has status `expected`
    /// and is not the owner's row (a transfer to its user may have landed
    /// meanwhile), else [`Conflict::MembershipChanged`].
    RemoveMembership {
        /// The project.
        project: ProjectId,
        /// The member.
        user: UserId,
        /// The status the stored row must still have.
        expected: MembershipStatus,
    },
    /// Deletes the account (Unicat `account/delete`): the stored user
    /// becomes `User::deleted` of itself (status `deleted`, password hash,
    /// name and every address erased, credential version bumped by one so
    /// every older token is refused; the username and its case-insensitive
    /// key stay, so the name stays reserved) and every membership row of
    /// the user goes, in any status. Guards, in this order: the stored
    /// credential version is still `expected_version`, else
    /// [`Conflict::UserChanged`] (a password change or reset raced, and
    /// revoked the caller's token); and the user owns no project in any
    /// status, checked inside the transaction, else
    /// [`Conflict::OwnsProjects`] (a project created in parallel never
    /// ends up owned by a deleted account: creating a project takes the
    /// owner's lock too and requires an active owner).
    DeleteAccount {
        /// The account.
        user: UserId,
        /// The credential version the stored row must still have.
        expected_version: i64,
    },
    /// Makes `email` the user's primary address (position 0), keeping
    /// every other stored address; an entry of the same address elsewhere
    /// in the list is dropped (one address, one entry); every membership
    /// row of the user now notifies `email` (a row's notification address
    /// follows the primary address). The credential version stays. Guard: the stored credential version is still
    /// `expected_version`, else [`Conflict::UserChanged`].
    SetPrimaryEmail {
        /// The account.
        user: UserId,
        /// The credential version the stored row must still have.
        expected_version: i64,
        /// The new primary address.
        email: Email,
    },
    /// Stores a newly issued revert token (its MAC). No guard.
    IssueEmailRevert(EmailRevert),
    /// Undoes an email change with the token whose MAC is `token_mac`:
    /// spends every revert token of `user`, makes `restore` the primary
    /// address again (as [`Change::SetPrimaryEmail`] does) and bumps the
    /// credential version (every older token is refused). Guards: the
    /// token is stored for `user`, unspent and unexpired at `now`, else
    /// [`Conflict::RevertSpent`] (of parallel reverts with one token,
    /// exactly one wins); the user is still active, else
    /// [`Conflict::UserChanged`].
    RevertEmail {
        /// The account.
        user: UserId,
        /// The MAC of the presented token.
        token_mac: CodeMac,
        /// The address to restore.
        restore: Email,
    },
    /// Sets only the given profile columns of the user (`None`: that
    /// column is left as stored), so parallel edits of different fields
    /// each keep theirs; the credential version is not bumped. Guard: the
    /// stored credential version is still `expected_version`, else
    /// [`Conflict::UserChanged`]; a username taken by another user
    /// (case-insensitively) gives [`Conflict::UsernameTaken`].
    UpdateProfile {
        /// The account.
        user: UserId,
        /// The credential version the stored row must still have.
        expected_version: i64,
        /// The new username.
        username: Option<Username>,
        /// The new display name.
        name: Option<String>,
        /// The new language.
        language: Option<String>,
        /// The new time zone.
        timezone: Option<String>,
    },
    /// A guard only (writes nothing): `user` owns fewer than `max`
    /// projects, in any status (a soft-deleted one counts until it is
    /// purged), counted inside the transaction under the `user:<gid>` lock,
    /// else [`Conflict::TooManyProjects`]. Put before a
    /// [`Change::CreateProject`] of the same owner (which takes the same
    /// lock), parallel creates never exceed the cap.
    OwnsFewerThan {
        /// The owner.
        user: UserId,
        /// The cap.
        max: u32,
    },
    /// Sets only the given columns of the project (`None`: left as
    /// stored), under the project's lock. Guard: the project exists and is
    /// `active`, else [`Conflict::ProjectChanged`].
    UpdateProject {
        /// The project.
        project: ProjectId,
        /// The new name (checked: [`crate::ProjectName`]).
        name: Option<String>,
        /// The new IANA time zone.
        timezone: Option<String>,
        /// The new content languages.
        languages: Option<Vec<String>>,
    },
    /// Sets the project's status, stamping `deleted_at` with `now` when it
    /// becomes `deleted` (retention counts from there) and clearing it when
    /// it becomes `active`. Guard: the stored status is still `expected`,
    /// else [`Conflict::ProjectChanged`].
    SetProjectStatus {
        /// The project.
        project: ProjectId,
        /// The status the stored project must still have.
        expected: crate::ProjectStatus,
        /// The new status.
        status: crate::ProjectStatus,
    },
    /// Removes the project, every membership row of it, and each
    /// placeholder user (status `invited`) who had a row in it and is left
    /// with no membership anywhere. Guard: the project is stored and
    /// `deleted`, else [`Conflict::ProjectChanged`].
    DeleteProjectPermanently {
        /// The project.
        project: ProjectId,
    },
    /// Makes `to` the owner of the project and `from` an active member,
    /// under the project's lock: the old owner's row is demoted before the
    /// new one is promoted, so there are never two owner rows (a database
    /// constraint). Guards, in this order: the project is active and still
    /// owned by `from`, else [`Conflict::ProjectChanged`]; `to` still has
    /// an active row, else [`Conflict::MembershipChanged`].
    TransferProject {
        /// The project.
        project: ProjectId,
        /// The owner now.
        from: UserId,
        /// The new owner.
        to: UserId,
    },
    /// Creates an invited placeholder user (no username, no password, the
    /// one address of `User::emails`), under the lock of that address.
    /// Guard: no active account and no placeholder holds the address
    /// (compared case-insensitively), else [`Conflict::AddressTaken`]: one
    /// placeholder per address, shared by every project inviting it.
    CreatePlaceholder(User),
    /// A guard only (writes nothing): the row of `user` in `project` still
    /// holds the invitation sent at `sent_at` (`None`: none), the one the
    /// use case read and decided on, else [`Conflict::MembershipChanged`].
    /// Takes the project's lock, which every membership change takes: a
    /// resend in between (new token, new expiry) refuses a decline by the
    /// link it superseded, and an accept or decline never writes a stale
    /// invitation back over a resend's.
    InvitationSentAt {
        /// The project.
        project: ProjectId,
        /// The member.
        user: UserId,
        /// When the invitation read was sent.
        sent_at: Option<crate::Timestamp>,
    },
    /// A guard only (writes nothing): the project is stored and `active`,
    /// else [`Conflict::ProjectChanged`]. Takes the project's lock, which
    /// `SetProjectStatus` takes too.
    ProjectIsActive(ProjectId),
    /// A guard only: the project has fewer than `max` rows in status
    /// `invited` (expired ones included), counted under the project's lock
    /// after the changes before it, else [`Conflict::TooManyPendingInvites`];
    /// `max` 0 switches the guard off. Put after the row it counts is
    /// written, parallel invites never exceed the cap.
    PendingInvitesAtMost {
        /// The project.
        project: ProjectId,
        /// The cap (0: none).
        max: u32,
    },
    /// Counts one hit under `key` when every limit still has room at `now`
    /// (the `RateLimiter` port's rule, serialised per key by the key's
    /// lock), else [`Conflict::Limited`]; being in the change set, the hit
    /// is undone with everything else when any guard fails, so a refused
    /// call is never counted.
    CountHit {
        /// The limit key (e.g. `invite:inviter:<gid>`).
        key: String,
        /// The limits.
        limits: Vec<crate::Limit>,
    },
    /// Sign-up claiming invitations: under the lock of `email`'s address,
    /// every `invited` row of the placeholder holding that address whose
    /// invitation is unexpired at `now` moves to `user` (notifying
    /// `email`, the account's primary address), and the
    /// placeholder is deleted with every row it still has (expired or
    /// declined ones). No placeholder: nothing happens. No guard: the
    /// first sign-up of an address to commit claims them.
    ClaimInvitations {
        /// The verified address.
        email: Email,
        /// The new account.
        user: UserId,
    },
    /// Deletes the user when it is a placeholder (status `invited`) with
    /// no membership row left, checked in the transaction (so an invite
    /// racing it either lands first and keeps the placeholder, or finds it
    /// gone and is refused with [`Conflict::UserChanged`]). Anything else:
    /// nothing happens.
    DeletePlaceholderIfUnused(UserId),
}

/// Which guard of a change set no longer held; nothing was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// A challenge to consume is no longer open (used, replaced,
    /// exhausted, expired).
    ChallengeNotOpen,
    /// A username to create or rename to is taken (case-insensitively).
    UsernameTaken,
    /// A user to update changed its credential version meanwhile, or is gone.
    UserChanged,
    /// A membership is not in the state the change expected.
    MembershipChanged,
    /// An account to delete owns a project (in any status).
    OwnsProjects,
    /// A revert token is unknown, spent or expired.
    RevertSpent,
    /// The owner already owns as many projects as the cap allows.
    TooManyProjects,
    /// A project to change is gone or no longer in the status expected.
    ProjectChanged,
    /// A placeholder's address is held by an active account or another
    /// placeholder meanwhile.
    AddressTaken,
    /// The project has as many pending invitations as the cap allows.
    TooManyPendingInvites,
    /// A rate limit of the set has no room.
    Limited {
        /// Seconds until the oldest hit in the full window leaves it.
        retry_after_seconds: i64,
    },
}

/// Everything one use case changes, in order, and the mail announcing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    changes: Vec<Change>,
    mails: Vec<OutgoingMail>,
    decoy_mails: Vec<OutgoingMail>,
    audits: Vec<AuditEvent>,
}

impl ChangeSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a change, applied after the ones before it.
    #[must_use]
    pub fn with(mut self, change: Change) -> Self {
        self.changes.push(change);
        self
    }

    /// A new password for `user` (as loaded): the hash under the user's
    /// version guard with the version bumped, so every older token is
    /// refused (the stored user is then `user.with_password(hash)`), and
    /// every open reset code of the account consumed, forgotPassword and
    /// Unicat alike: a password change closes every reset path. Records
    /// `password_changed` and `tokens_revoked` (the version bump).
    #[must_use]
    pub fn set_password(self, user: &User, hash: PasswordHash) -> Self {
        let key = Subject::Account { user: user.id }.key();
        self.with(Change::SetPassword {
            user: user.id,
            hash,
            expected_version: user.credential_version,
        })
        .with(Change::ConsumeOpenChallenges {
            key,
            purposes: vec![Purpose::ForgotPassword, Purpose::ResetPassword],
        })
        .audit(AuditEvent::new(
            crate::AuditEventKind::PasswordChanged,
            Some(user.id),
        ))
        .audit(
            AuditEvent::new(crate::AuditEventKind::TokensRevoked, Some(user.id))
                .word("reason", "password_changed"),
        )
    }

    /// Queues mail in the same transaction.
    #[must_use]
    pub fn mail(mut self, mails: impl IntoIterator<Item = OutgoingMail>) -> Self {
        self.mails.extend(mails);
        self
    }

    /// Writes the outbox rows of a decoy (enumeration protection) in the
    /// same transaction: rows like a queued mail's, stored as `decoy`
    /// without a body, which no dispatcher claims and no backlog counts.
    /// The same write as a real issue, and nothing is ever sent.
    #[must_use]
    pub fn decoy_mail(mut self, mails: impl IntoIterator<Item = OutgoingMail>) -> Self {
        self.decoy_mails.extend(mails);
        self
    }

    /// The decoy outbox rows to write.
    pub fn decoy_mails(&self) -> &[OutgoingMail] {
        &self.decoy_mails
    }

    /// Records `event` in the same transaction (after every change and
    /// the mail): when any guard fails, no event of the set is written.
    #[must_use]
    pub fn audit(mut self, event: AuditEvent) -> Self {
        self.audits.push(event);
        self
    }

    /// Every audit event of the set that names no client address gets
    /// `client` (the address of the request the set is applied for).
    #[must_use]
    pub fn from_client(mut self, client: &str) -> Self {
        for event in self.audits.iter_mut().filter(|e| e.client.is_none()) {
            event.client = Some(client.to_owned());
        }
        self
    }

    /// The audit events to record, in order.
    pub fn audits(&self) -> &[AuditEvent] {
        &self.audits
    }

    /// The changes, in order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The mail to queue.
    pub fn mails(&self) -> &[OutgoingMail] {
        &self.mails
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.mails.is_empty()
            && self.decoy_mails.is_empty()
            && self.audits.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Email;

    fn mail(to: &str) -> OutgoingMail {
        OutgoingMail {
            to: Email::parse(to).unwrap(),
            subject: "s".to_owned(),
            text: "t".to_owned(),
            not_after: None,
        }
    }

    #[test]
    fn a_change_set_keeps_its_changes_in_order_with_its_mail() {
        let id = ChallengeId::from_random_bytes([1; 16]);
        let set = ChangeSet::new()
            .with(Change::ConsumeChallenge(id))
            .with(Change::ConsumeOpenChallenges {
                key: "user:x".to_owned(),
                purposes: vec![Purpose::ForgotPassword],
            })
            .mail([mail("a@example.com"), mail("b@example.com")]);
        assert!(!set.is_empty());
        assert_eq!(set.changes().len(), 2);
        assert_eq!(set.changes()[0], Change::ConsumeChallenge(id));
        let to: Vec<&str> = set.mails().iter().map(|m| m.to.as_str()).collect();
        assert_eq!(to, ["a@example.com", "b@example.com"]);
        assert!(ChangeSet::new().is_empty());
    }

    #[test]
    fn a_password_change_bumps_the_version_under_its_guard_and_closes_every_reset_path() {
        let user = crate::NewUser {
            id: UserId::from_random_bytes([4; 16]),
            username: crate::Username::parse("ann").unwrap(),
            emails: Vec::new(),
            name: String::new(),
            password_hash: PasswordHash::new("old".to_owned()),
            language: "en".to_owned(),
            timezone: "UTC".to_owned(),
            created_at: crate::Timestamp::from_millis(0),
        }
        .into_user();
        let user = User {
            credential_version: 7,
            ..user
        };
        let set = ChangeSet::new().set_password(&user, PasswordHash::new("new".to_owned()));
        assert_eq!(
            set.changes(),
            [
                Change::SetPassword {
                    user: user.id,
                    hash: PasswordHash::new("new".to_owned()),
                    expected_version: 7,
                },
                Change::ConsumeOpenChallenges {
                    key: format!("user:{}", user.id),
                    purposes: vec![Purpose::ForgotPassword, Purpose::ResetPassword],
                },
            ]
        );
        assert_eq!(
            set.audits(),
            [
                AuditEvent::new(crate::AuditEventKind::PasswordChanged, Some(user.id)),
                AuditEvent::new(crate::AuditEventKind::TokensRevoked, Some(user.id))
                    .word("reason", "password_changed"),
            ]
        );
    }

    #[test]
    fn an_audit_event_alone_makes_a_set_that_is_not_empty() {
        let set = ChangeSet::new().audit(AuditEvent::new(crate::AuditEventKind::LoginFailed, None));
        assert!(!set.is_empty());
        assert!(set.changes().is_empty() && set.mails().is_empty());
        assert_eq!(set.audits().len(), 1);
    }
}
