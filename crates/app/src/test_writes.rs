//! Test support: the writes the service tests were written against
//! (issuing a challenge, consuming one with its effect, creating a user),
//! as a mock behind the one write port.
//!
//! [`MockWrites`] implements `Changes`: it recognises each change set a
//! service builds, checks its shape exactly (a password change bumps the
//! version under its guard and closes both reset purposes; an issue is
//! applied at the challenge's own issue time; a sign-up creates an active
//! account at version 1; a deletion consumes every open code of the
//! account) and calls the matching mocked method, so each
//! test keeps its expectations on the challenge, the effect and the mail;
//! an `account/update` set goes to `update_account` whole.
//! A set of any other shape fails the test.

use accountd_domain::{
    AuditEvent, Challenge, ChallengeId, Change, ChangeSet, CodeMac, Conflict, Email, EmailRevert,
    NewUser, OutgoingMail, PasswordHash, Purpose, Timestamp, User, UserId, UserStatus,
};
use accountd_ports::{Applied, Changes, StoreError};
use async_trait::async_trait;

/// What consuming a challenge does besides consuming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChallengeEffect {
    /// A new password: version bumped, every reset code closed.
    SetPassword { user: UserId, hash: PasswordHash },
    /// A completed sign-up: the new account, and the invitations of an
    /// address claimed for a user (after the account is written).
    SignUp {
        user: NewUser,
        claims: (Email, UserId),
    },
    /// A confirmed email change: the new primary address under the
    /// user's version guard, and the revert token it issues (none when the
    /// account had no address before).
    SetPrimaryEmail {
        user: UserId,
        expected_version: i64,
        email: Email,
        revert: Option<EmailRevert>,
    },
}

/// How a consuming set ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsumeOutcome {
    Applied,
    NotOpen,
    UsernameTaken,
    /// The user's credential version moved meanwhile.
    UserChanged,
}

/// Why a user was not created.
#[derive(Debug)]
pub(crate) enum CreateUserError {
    UsernameTaken,
    Store(StoreError),
}

mockall::mock! {
    pub(crate) Writes {
        pub(crate) fn issue(
            &self,
            challenge: Challenge,
            mails: Vec<OutgoingMail>,
        ) -> Result<(), StoreError>;
        pub(crate) fn consume(
            &self,
            id: ChallengeId,
            now: Timestamp,
            effect: ChallengeEffect,
            mails: Vec<OutgoingMail>,
        ) -> Result<ConsumeOutcome, StoreError>;
        pub(crate) fn create(&self, user: NewUser) -> Result<User, CreateUserError>;
        pub(crate) fn revert(
            &self,
            user: UserId,
            token_mac: CodeMac,
            restore: Email,
            now: Timestamp,
            mails: Vec<OutgoingMail>,
        ) -> Result<Applied, StoreError>;
        pub(crate) fn delete_account(
            &self,
            user: UserId,
            expected_version: i64,
            now: Timestamp,
            mails: Vec<OutgoingMail>,
        ) -> Result<Applied, StoreError>;
        pub(crate) fn update_account(
            &self,
            changes: Vec<Change>,
            mails: Vec<OutgoingMail>,
        ) -> Result<Applied, StoreError>;
        pub(crate) fn change_project(
            &self,
            changes: Vec<Change>,
            mails: Vec<OutgoingMail>,
        ) -> Result<Applied, StoreError>;
        pub(crate) fn change_own_row(
            &self,
            changes: Vec<Change>,
            now: Timestamp,
        ) -> Result<Applied, StoreError>;
        /// A set of rate hits only (issuance under several keys, all or
        /// nothing): the keys, in order, each with its limits.
        pub(crate) fn hits(
            &self,
            hits: Vec<(String, Vec<accountd_domain::Limit>)>,
            now: Timestamp,
        ) -> Result<Applied, StoreError>;
    }
}

/// The new account a sign-up or `user add` creates, as it was given.
fn new_user_of(user: &User) -> NewUser {
    assert_eq!(user.status, UserStatus::Active, "a new account is active");
    assert_eq!(user.credential_version, 1, "a new account starts at 1");
    NewUser {
        id: user.id,
        username: user.username.clone().expect("a new account has a name"),
        emails: user.emails.clone(),
        name: user.name.clone(),
        password_hash: user
            .password_hash
            .clone()
            .expect("a new account has a hash"),
        language: user.language.clone(),
        timezone: user.timezone.clone(),
        created_at: user.created_at,
    }
}

fn applied(outcome: ConsumeOutcome) -> Applied {
    match outcome {
        ConsumeOutcome::Applied => Applied::Committed,
        ConsumeOutcome::NotOpen => Applied::Refused(Conflict::ChallengeNotOpen),
        ConsumeOutcome::UsernameTaken => Applied::Refused(Conflict::UsernameTaken),
        ConsumeOutcome::UserChanged => Applied::Refused(Conflict::UserChanged),
    }
}

thread_local! {
    /// The audit events of every set [`MockWrites`] was given on this
    /// thread (a `#[tokio::test]` runs on one), whatever the mocked write
    /// answered.
    static AUDITED: std::cell::RefCell<Vec<AuditEvent>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The audit events of the sets applied on this thread since the last
/// call, in order.
pub(crate) fn take_audited() -> Vec<AuditEvent> {
    AUDITED.with(|a| std::mem::take(&mut *a.borrow_mut()))
}

/// The event names of [`take_audited`].
pub(crate) fn audited_kinds() -> Vec<&'static str> {
    take_audited().iter().map(|e| e.kind.as_str()).collect()
}

#[async_trait]
impl Changes for MockWrites {
    async fn apply(&self, set: ChangeSet, now: Timestamp) -> Result<Applied, StoreError> {
        AUDITED.with(|a| a.borrow_mut().extend(set.audits().iter().cloned()));
        let mails = set.mails().to_vec();
        match set.changes() {
            // Audit rows only (`Ports::record`): nothing the mocked writes
            // see; the tests of audit events look at them with MockChanges.
            [] if mails.is_empty() && !set.audits().is_empty() => Ok(Applied::Committed),
            [Change::IssueChallenge(c)] => {
                assert_eq!(now, c.issued_at(), "issued at its own issue time");
                // A decoy's mail is a decoy row, never a queued mail: the
                // mock is given the one kind its challenge may have.
                let mails = if c.subject().is_decoy() {
                    assert!(mails.is_empty(), "a decoy queues no mail");
                    set.decoy_mails().to_vec()
                } else {
                    assert!(set.decoy_mails().is_empty(), "a real issue has no decoy row");
                    mails
                };
                self.issue(c.clone(), mails)?;
                Ok(Applied::Committed)
            }
            hits if !hits.is_empty()
                && hits.iter().all(|c| matches!(c, Change::CountHit { .. })) =>
            {
                assert!(mails.is_empty() && set.decoy_mails().is_empty());
                let hits = hits
                    .iter()
                    .filter_map(|c| match c {
                        Change::CountHit { key, limits } => Some((key.clone(), limits.clone())),
                        _ => None,
                    })
                    .collect();
                self.hits(hits, now)
            }
            [Change::ConsumeChallenge(id), Change::SetPassword {
                user,
                hash,
                expected_version: _,
            }, Change::ConsumeOpenChallenges { key, purposes }] => {
                assert_eq!(key, &format!("user:{user}"));
                assert_eq!(
                    purposes,
                    &[Purpose::ForgotPassword, Purpose::ResetPassword],
                    "a password change closes every reset path"
                );
                let effect = ChallengeEffect::SetPassword {
                    user: *user,
                    hash: hash.clone(),
                };
                Ok(applied(self.consume(*id, now, effect, mails)?))
            }
            [Change::ConsumeChallenge(id), Change::CreateUser(user), Change::ClaimInvitations {
                email,
                user: claimer,
            }] => {
                let effect = ChallengeEffect::SignUp {
                    user: new_user_of(user),
                    claims: (email.clone(), *claimer),
                };
                Ok(applied(self.consume(*id, now, effect, mails)?))
            }
            [Change::CreateUser(user)] => {
                assert!(mails.is_empty());
                match self.create(new_user_of(user)) {
                    Ok(_) => Ok(Applied::Committed),
                    Err(CreateUserError::UsernameTaken) => {
                        Ok(Applied::Refused(Conflict::UsernameTaken))
                    }
                    Err(CreateUserError::Store(e)) => Err(e),
                }
            }
            [Change::ConsumeChallenge(id), Change::SetPrimaryEmail {
                user,
                expected_version,
                email,
            }, rest @ ..] => {
                let revert = match rest {
                    [] => None,
                    [Change::IssueEmailRevert(r)] => {
                        assert_eq!(r.user(), *user, "the revert token is the account's");
                        Some(r.clone())
                    }
                    other => panic!("an email change set with {other:?}"),
                };
                let effect = ChallengeEffect::SetPrimaryEmail {
                    user: *user,
                    expected_version: *expected_version,
                    email: email.clone(),
                    revert,
                };
                Ok(applied(self.consume(*id, now, effect, mails)?))
            }
            [Change::RevertEmail {
                user,
                token_mac,
                restore,
            }, Change::ConsumeOpenChallenges { key, purposes }] => {
                assert_eq!(key, &format!("user:{user}"));
                assert_eq!(
                    purposes,
                    &[
                        Purpose::ForgotPassword,
                        Purpose::Signup,
                        Purpose::ResetPassword,
                        Purpose::ChangeEmail
                    ],
                    "a revert closes every open code of the account"
                );
                self.revert(*user, *token_mac, restore.clone(), now, mails)
            }
            [Change::DeleteAccount {
                user,
                expected_version,
            }, Change::ConsumeOpenChallenges { key, purposes }] => {
                assert_eq!(key, &format!("user:{user}"));
                assert_eq!(
                    purposes,
                    &[
                        Purpose::ForgotPassword,
                        Purpose::Signup,
                        Purpose::ResetPassword,
                        Purpose::ChangeEmail,
                    ],
                    "a deletion consumes every open code of the account"
                );
                self.delete_account(*user, *expected_version, now, mails)
            }
            // `account/update`: the profile columns, a password change, or both
            // (the profile first: its guard is the version before the bump).
            [Change::UpdateProfile { .. }]
            | [Change::UpdateProfile { .. }, Change::SetPassword { .. }, Change::ConsumeOpenChallenges { .. }]
            | [Change::SetPassword { .. }, Change::ConsumeOpenChallenges { .. }] => {
                self.update_account(set.changes().to_vec(), mails)
            }
            // The project routes: a create under the cap, an update.
            [Change::OwnsFewerThan { .. }, Change::CreateProject { .. }]
            | [Change::UpdateProject { .. }]
            | [Change::SetProjectStatus { .. }]
            | [Change::DeleteProjectPermanently { .. }]
            | [Change::OwnsFewerThan { .. }, Change::TransferProject { .. }]
            // The member routes: an invitation (a placeholder first when
            // new), a resend, a removal.
            | [Change::CreatePlaceholder(_), Change::PutMembership { .. }, ..]
            | [Change::PutMembership { .. }, Change::ProjectIsActive(_), Change::PendingInvitesAtMost { .. }, Change::CountHit { .. }, Change::CountHit { .. }]
            | [Change::InvitationSentAt { .. }, Change::PutMembership { .. }, Change::ProjectIsActive(_), Change::PendingInvitesAtMost { .. }, Change::CountHit { .. }, Change::CountHit { .. }]
            | [Change::RemoveMembership { .. }, Change::DeletePlaceholderIfUnused(_)] => {
                self.change_project(set.changes().to_vec(), mails)
            }
            // The invitee's own row: accept or decline under the project's
            // guard, leave. No mail.
            [Change::ProjectIsActive(_), Change::InvitationSentAt { .. }, Change::PutMembership { .. }]
            | [Change::RemoveMembership { .. }] => {
                assert!(mails.is_empty(), "an own-row change sends no mail");
                self.change_own_row(set.changes().to_vec(), now)
            }
            other => panic!("a change set no service builds: {other:?}"),
        }
    }
}
