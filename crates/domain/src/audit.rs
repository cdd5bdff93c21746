//! Audit events: what a use case records about itself, in the same
//! transaction as the change it records.
//!
//! An [`AuditEvent`] names its event from a closed list ([`AuditEventKind`],
//! the spec's names), the user it concerns (when known), the client's
//! address, an [`AuditOutcome`] and a few [`AuditDetails`]. Details can
//! only hold ids (users, projects), static words chosen by the code (a
//! purpose, a limit's name, a reason) and small numbers: there is no way to
//! put a password, code, token, hash or any free text typed by a client
//! into one. The time is the `now` the change set is applied at.

use crate::{ProjectId, Purpose, UserId};

/// The events accountd records (operations spec, "Audit log").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditEventKind {
    /// An account was created (Unicat `signup`).
    Signup,
    /// A password proof succeeded (`login`).
    LoginSucceeded,
    /// A password proof failed (unknown name or wrong password).
    LoginFailed,
    /// A login was refused by the soft lock (the password was not checked).
    LoginLocked,
    /// A one-time code was issued (by mail).
    CodeIssued,
    /// A wrong one-time code was presented (one try counted).
    CodeFailed,
    /// A challenge ran out of tries with this failure.
    CodeExhausted,
    /// A password was changed or reset.
    PasswordChanged,
    /// An email address change was asked for (a code mailed to it).
    EmailChangeRequested,
    /// The primary address changed.
    EmailChanged,
    /// An email change was undone by its revert link.
    EmailReverted,
    /// Every token of the account was revoked (credential version bumped).
    TokensRevoked,
    /// A request was refused by a rate limit.
    RateLimited,
    /// An account was deleted.
    AccountDeleted,
    /// The username changed.
    UsernameChanged,
    /// A project was created.
    ProjectCreated,
    /// A project's name, time zone or languages changed.
    ProjectUpdated,
    /// A project was soft-deleted.
    ProjectDeleted,
    /// A soft-deleted project was restored.
    ProjectRestored,
    /// A project was purged for good (by its owner or by retention).
    ProjectPurged,
    /// A project changed owner.
    ProjectTransferred,
    /// Someone was invited to a project.
    MemberInvited,
    /// An invitation was sent again.
    InviteResent,
    /// An invitation was accepted.
    InviteAccepted,
    /// An invitation was declined.
    InviteDeclined,
    /// A member was removed by a manager.
    MemberRemoved,
    /// A member left a project.
    MemberLeft,
}

impl AuditEventKind {
    /// Every event, in the order of the spec's list.
    pub const ALL: [Self; 27] = [
        Self::Signup,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginLocked,
        Self::CodeIssued,
        Self::CodeFailed,
        Self::CodeExhausted,
        Self::PasswordChanged,
        Self::EmailChanged,
        Self::EmailReverted,
        Self::TokensRevoked,
        Self::RateLimited,
        Self::AccountDeleted,
        Self::ProjectCreated,
        Self::ProjectDeleted,
        Self::ProjectRestored,
        Self::ProjectPurged,
        Self::ProjectTransferred,
        Self::MemberInvited,
        Self::InviteAccepted,
        Self::InviteDeclined,
        Self::MemberRemoved,
        Self::MemberLeft,
        Self::InviteResent,
        Self::ProjectUpdated,
        Self::UsernameChanged,
        Self::EmailChangeRequested,
    ];

    /// The stored name (the spec's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginLocked => "login_locked",
            Self::CodeIssued => "code_issued",
            Self::CodeFailed => "code_failed",
            Self::CodeExhausted => "code_exhausted",
            Self::PasswordChanged => "password_changed",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::EmailReverted => "email_reverted",
            Self::TokensRevoked => "tokens_revoked",
            Self::RateLimited => "rate_limited",
            Self::AccountDeleted => "account_deleted",
            Self::UsernameChanged => "username_changed",
            Self::ProjectCreated => "project_created",
            Self::ProjectUpdated => "project_updated",
            Self::ProjectDeleted => "project_deleted",
            Self::ProjectRestored => "project_restored",
            Self::ProjectPurged => "project_purged",
            Self::ProjectTransferred => "project_transferred",
            Self::MemberInvited => "member_invited",
            Self::InviteResent => "invite_resent",
            Self::InviteAccepted => "invite_accepted",
            Self::InviteDeclined => "invite_declined",
            Self::MemberRemoved => "member_removed",
            Self::MemberLeft => "member_left",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// How the recorded action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// It was done.
    Success,
    /// It was tried and failed (a wrong password or code).
    Failure,
    /// It was refused before being tried (a soft lock, a rate limit).
    Refused,
}

impl AuditOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Refused => "refused",
        }
    }
}

/// One detail value: never free text from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditValue {
    /// A word chosen by the code (a purpose, a limit's name, a reason).
    Word(&'static str),
    /// A user's gid.
    User(UserId),
    /// A project's gid.
    Project(ProjectId),
    /// A count.
    Count(i64),
}

/// The details of an event: a few named values, in the order added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditDetails(Vec<(&'static str, AuditValue)>);

impl AuditDetails {
    /// The entries, in order.
    pub fn entries(&self) -> &[(&'static str, AuditValue)] {
        &self.0
    }

    fn with(mut self, name: &'static str, value: AuditValue) -> Self {
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value));
        self
    }
}

/// One audit row to write with a change set (stamped with its `now`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Which event.
    pub kind: AuditEventKind,
    /// The user it concerns, when known (`None`: e.g. a failed login of
    /// an unknown name).
    pub user: Option<UserId>,
    /// The client's address after trusted proxies, when the use case got it.
    pub client: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The details.
    pub details: AuditDetails,
}

impl AuditEvent {
    /// A successful `kind` concerning `user`.
    pub fn new(kind: AuditEventKind, user: Option<UserId>) -> Self {
        Self {
            kind,
            user,
            client: None,
            outcome: AuditOutcome::Success,
            details: AuditDetails::default(),
        }
    }

    /// With this outcome.
    #[must_use]
    pub fn outcome(mut self, outcome: AuditOutcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// From this client address (`None`: unknown).
    #[must_use]
    pub fn client(mut self, client: Option<&str>) -> Self {
        self.client = client.map(str::to_owned);
        self
    }

    /// The code's purpose (`purpose`).
    #[must_use]
    pub fn purpose(self, purpose: Purpose) -> Self {
        self.word("purpose", purpose.as_str())
    }

    /// The project concerned (`project`).
    #[must_use]
    pub fn project(mut self, project: ProjectId) -> Self {
        self.details = self.details.with("project", AuditValue::Project(project));
        self
    }

    /// Another user concerned (e.g. `member`, `to`, `by`).
    #[must_use]
    pub fn other_user(mut self, name: &'static str, user: UserId) -> Self {
        self.details = self.details.with(name, AuditValue::User(user));
        self
    }

    /// A word chosen by the code (e.g. `reason`, `limit`, `via`).
    #[must_use]
    pub fn word(mut self, name: &'static str, word: &'static str) -> Self {
        self.details = self.details.with(name, AuditValue::Word(word));
        self
    }

    /// A count (e.g. `failures`).
    #[must_use]
    pub fn count(mut self, name: &'static str, n: i64) -> Self {
        self.details = self.details.with(name, AuditValue::Count(n));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_parses_back_and_names_are_unique() {
        let mut names: Vec<&str> = AuditEventKind::ALL.iter().map(|k| k.as_str()).collect();
        for k in AuditEventKind::ALL {
            assert_eq!(AuditEventKind::parse(k.as_str()), Some(k));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditEventKind::ALL.len());
        assert_eq!(AuditEventKind::parse("mfa_enabled"), None);
        assert_eq!(AuditEventKind::parse("Signup"), None);
    }

    #[test]
    fn details_keep_their_order_and_a_name_once() {
        let p = ProjectId::from_random_bytes([1; 16]);
        let e = AuditEvent::new(AuditEventKind::CodeFailed, None)
            .purpose(Purpose::Signup)
            .project(p)
            .count("failures", 1)
            .count("failures", 2)
            .outcome(AuditOutcome::Failure)
            .client(Some("203.0.113.9"));
        assert_eq!(
            e.details.entries(),
            [
                ("purpose", AuditValue::Word("signup")),
                ("project", AuditValue::Project(p)),
                ("failures", AuditValue::Count(2)),
            ]
        );
        assert_eq!(e.outcome.as_str(), "failure");
        assert_eq!(e.client.as_deref(), Some("203.0.113.9"));
    }
}
