//! Rows and their conversion to and from domain values. Every stored field
//! round-trips (the contract tests save then load each aggregate).

use super::schema::{challenges, memberships, outbox, projects, user_emails, users};
use super::DbError;
use accountd_domain::{
    Challenge, ChallengeId, ChallengeState, CodeMac, Email, Invitation, Membership,
    MembershipStatus, Notifications, OutgoingMail, PasswordHash, Project, ProjectId, ProjectStatus,
    Purpose, Role, Subject, Timestamp, User, UserId, UserStatus, Username,
};
use accountd_ports::{Lease, QueuedMail};
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub id: String,
    pub username: Option<String>,
    pub username_key: Option<String>,
    pub status: String,
    pub credential_version: i64,
    pub password_hash: Option<String>,
    pub name: String,
    pub language: String,
    pub timezone: String,
    pub created_at: i64,
    /// The caseless key of the username ([`Username::key`]); not unique.
    pub username_fold: Option<String>,
    /// Whether the keys of this row (and of its addresses) are caseless
    /// keys; false for rows written before migration 10 (see `fold.rs`).
    pub keys_folded: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_emails)]
pub(crate) struct EmailRow {
    pub user_id: String,
    pub position: i32,
    pub email: String,
    pub email_key: String,
}

impl UserRow {
    pub(crate) fn from_user(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username.as_ref().map(|n| n.as_str().to_owned()),
            username_key: u.username.as_ref().map(Username::key),
            status: u.status.as_str().to_owned(),
            credential_version: u.credential_version,
            password_hash: u.password_hash.as_ref().map(|h| h.expose().to_owned()),
            name: u.name.clone(),
            language: u.language.clone(),
            timezone: u.timezone.clone(),
            created_at: u.created_at.as_millis(),
            username_fold: u.username.as_ref().map(Username::key),
            keys_folded: true,
        }
    }

    pub(crate) fn into_user(self, emails: Vec<EmailRow>) -> Result<User, DbError> {
        let corrupt = |what: &str| DbError::Corrupt(format!("users.{what} of {}", self.id));
        Ok(User {
            id: UserId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            username: self
                .username
                .as_deref()
                .map(Username::parse)
                .transpose()
                .map_err(|_| corrupt("username"))?,
            emails: emails
                .iter()
                .map(|e| Email::parse(&e.email))
                .collect::<Result<_, _>>()
                .map_err(|_| corrupt("email"))?,
            status: UserStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            credential_version: self.credential_version,
            password_hash: self.password_hash.map(PasswordHash::new),
            name: self.name,
            language: self.language,
            timezone: self.timezone,
            created_at: Timestamp::from_millis(self.created_at),
        })
    }
}

pub(crate) fn email_rows(u: &User) -> Vec<EmailRow> {
    u.emails
        .iter()
        .enumerate()
        .map(|(i, e)| EmailRow {
            user_id: u.id.to_string(),
            position: i32::try_from(i).unwrap_or(i32::MAX),
            email: e.as_str().to_owned(),
            email_key: e.key(),
        })
        .collect()
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = challenges)]
pub(crate) struct ChallengeRow {
    pub id: String,
    pub purpose: String,
    pub subject_key: String,
    pub subject: String,
    pub code_mac: Vec<u8>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub failures: i32,
    pub max_failures: i32,
    pub state: String,
    pub lookup_mac: Option<Vec<u8>>,
}

impl ChallengeRow {
    pub(crate) fn from_challenge(c: &Challenge) -> Result<Self, DbError> {
        Ok(Self {
            id: c.id().to_string(),
            purpose: c.purpose().as_str().to_owned(),
            subject_key: c.subject().key(),
            subject: serde_json::to_string(c.subject())
                .map_err(|e| DbError::Corrupt(format!("subject not encodable: {e}")))?,
            code_mac: c.code_mac().as_bytes().to_vec(),
            issued_at: c.issued_at().as_millis(),
            expires_at: c.expires_at().as_millis(),
            failures: i32::try_from(c.failures()).unwrap_or(i32::MAX),
            max_failures: i32::try_from(c.max_failures()).unwrap_or(i32::MAX),
            state: c.stored_state().as_str().to_owned(),
            lookup_mac: c.lookup().map(|m| m.as_bytes().to_vec()),
        })
    }

    pub(crate) fn into_challenge(self) -> Result<Challenge, DbError> {
        let corrupt = |what: &str| DbError::Corrupt(format!("challenges.{what} of {}", self.id));
        let subject: Subject =
            serde_json::from_str(&self.subject).map_err(|_| corrupt("subject"))?;
        Ok(Challenge::restore(
            ChallengeId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            Purpose::parse(&self.purpose).ok_or_else(|| corrupt("purpose"))?,
            subject,
            CodeMac::from_slice(&self.code_mac).ok_or_else(|| corrupt("code_mac"))?,
            self.lookup_mac
                .as_deref()
                .map(|b| CodeMac::from_slice(b).ok_or_else(|| corrupt("lookup_mac")))
                .transpose()?,
            Timestamp::from_millis(self.issued_at),
            Timestamp::from_millis(self.expires_at),
            u32::try_from(self.failures).map_err(|_| corrupt("failures"))?,
            u32::try_from(self.max_failures).map_err(|_| corrupt("max_failures"))?,
            ChallengeState::parse(&self.state).ok_or_else(|| corrupt("state"))?,
        ))
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub(crate) struct NewOutboxRow {
    pub recipient: String,
    pub subject: String,
    pub body: Option<String>,
    pub not_after: Option<i64>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub body_sealed: bool,
}

impl NewOutboxRow {
    /// A pending row for `mail`, its body `sealed_body` (see `seal.rs`).
    pub(crate) fn pending(mail: &OutgoingMail, now: i64, sealed_body: String) -> Self {
        Self {
            recipient: mail.to.as_str().to_owned(),
            subject: mail.subject.clone(),
            body: Some(sealed_body),
            body_sealed: true,
            not_after: mail.not_after.map(Timestamp::as_millis),
            state: "pending".to_owned(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            finished_at: None,
        }
    }

    /// The row of a decoy mail (enumeration protection): no body, state
    /// `decoy`, finished at once. No dispatcher claims it (only `pending`
    /// rows are due), no backlog counts it, and housekeeping purges it
    /// with the finished mail.
    pub(crate) fn decoy(mail: &OutgoingMail, now: i64) -> Self {
        Self {
            recipient: mail.to.as_str().to_owned(),
            subject: mail.subject.clone(),
            body: None,
            body_sealed: false,
            not_after: mail.not_after.map(Timestamp::as_millis),
            state: "decoy".to_owned(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            finished_at: Some(now),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub(crate) struct OutboxRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: Option<String>,
    pub not_after: Option<i64>,
    pub attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_id: i64,
    pub body_sealed: bool,
}

impl OutboxRow {
    pub(crate) fn into_queued(self) -> Result<QueuedMail, DbError> {
        let corrupt = |what: &str| DbError::Corrupt(format!("outbox.{what} of {}", self.id));
        Ok(QueuedMail {
            id: self.id,
            mail: OutgoingMail {
                to: Email::parse(&self.recipient).map_err(|_| corrupt("recipient"))?,
                subject: self.subject,
                text: self.body.ok_or_else(|| corrupt("body"))?,
                not_after: self.not_after.map(Timestamp::from_millis),
            },
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("attempts"))?,
            lease: Lease {
                owner: self.lease_owner.ok_or_else(|| corrupt("lease_owner"))?,
                id: self.lease_id,
            },
        })
    }
}

/// An outbox row exactly as stored, every column included (the erased body,
/// the lease, the last error), which no port exposes: for the contract tests.
#[cfg(feature = "test-support")]
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxSnapshot {
    /// Row id.
    pub id: i64,
    /// Recipient address.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// The body; `None` once sent or given up.
    pub body: Option<String>,
    /// Drop-after instant, in milliseconds.
    pub not_after: Option<i64>,
    /// `pending`, `sent` or `dead`.
    pub state: String,
    /// Delivery attempts made.
    pub attempts: i32,
    /// When the next attempt is due, in milliseconds.
    pub next_attempt_at: i64,
    /// The dispatcher holding the lease.
    pub lease_owner: Option<String>,
    /// When the lease lapses, in milliseconds.
    pub lease_until: Option<i64>,
    /// The last delivery error or the reason it was given up.
    pub last_error: Option<String>,
    /// When it was queued, in milliseconds.
    pub created_at: i64,
    /// When it was sent or given up, in milliseconds.
    pub finished_at: Option<i64>,
    /// The number of the row's latest claim (its fencing token).
    pub lease_id: i64,
    /// Whether `body` is sealed (encrypted, see the adapter's `seal.rs`).
    pub body_sealed: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = projects)]
pub(crate) struct ProjectRow {
    pub id: String,
    pub name: String,
    pub icon: Option<String>,
    pub owner_id: String,
    pub status: String,
    pub timezone: String,
    pub languages: String,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
}

impl ProjectRow {
    pub(crate) fn from_project(p: &Project, created_at: i64) -> Result<Self, DbError> {
        Ok(Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            icon: p.icon.clone(),
            owner_id: p.owner.to_string(),
            status: p.status.as_str().to_owned(),
            timezone: p.timezone.clone(),
            languages: json(&p.languages)?,
            created_at,
            // A project stored as deleted counts its retention from now.
            deleted_at: (p.status == ProjectStatus::Deleted).then_some(created_at),
        })
    }

    pub(crate) fn into_project(self) -> Result<Project, DbError> {
        let corrupt = |what: &str| DbError::Corrupt(format!("projects.{what} of {}", self.id));
        Ok(Project {
            id: ProjectId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            name: self.name.clone(),
            icon: self.icon.clone(),
            owner: UserId::parse(&self.owner_id).ok_or_else(|| corrupt("owner_id"))?,
            status: ProjectStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            timezone: self.timezone.clone(),
            languages: serde_json::from_str(&self.languages).map_err(|_| corrupt("languages"))?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub(crate) struct MembershipRow {
    pub project_id: String,
    pub user_id: String,
    pub status: String,
    pub roles: String,
    pub notify_email: Option<String>,
    pub notify_events: String,
    pub notify_frequency: String,
    pub rate_limit_per_second: Option<i32>,
    pub invited_by: Option<String>,
    pub invited_at: Option<i64>,
    pub invite_expires_at: Option<i64>,
    pub invite_token_mac: Option<Vec<u8>>,
}

impl MembershipRow {
    pub(crate) fn from_membership(m: &Membership) -> Result<Self, DbError> {
        let roles: Vec<&str> = m.roles.iter().map(|r| r.as_str()).collect();
        Ok(Self {
            project_id: m.project.to_string(),
            user_id: m.user.to_string(),
            status: m.status.as_str().to_owned(),
            roles: json(&roles)?,
            notify_email: m
                .notifications
                .email
                .as_ref()
                .map(|e| e.as_str().to_owned()),
            notify_events: json(&m.notifications.events)?,
            notify_frequency: m.notifications.frequency.clone(),
            rate_limit_per_second: m
                .rate_limit_per_second
                .map(|r| i32::try_from(r).unwrap_or(i32::MAX)),
            invited_by: m.invitation.as_ref().map(|i| i.inviter.to_string()),
            invited_at: m.invitation.as_ref().map(|i| i.sent_at.as_millis()),
            invite_expires_at: m.invitation.as_ref().map(|i| i.expires_at.as_millis()),
            invite_token_mac: m
                .invitation
                .as_ref()
                .and_then(|i| i.token_mac.as_ref())
                .map(|mac| mac.as_bytes().to_vec()),
        })
    }

    pub(crate) fn into_membership(self) -> Result<Membership, DbError> {
        let corrupt = |what: &str| {
            DbError::Corrupt(format!(
                "memberships.{what} of {}/{}",
                self.project_id, self.user_id
            ))
        };
        let roles: Vec<String> = serde_json::from_str(&self.roles).map_err(|_| corrupt("roles"))?;
        Ok(Membership {
            project: ProjectId::parse(&self.project_id).ok_or_else(|| corrupt("project_id"))?,
            user: UserId::parse(&self.user_id).ok_or_else(|| corrupt("user_id"))?,
            status: MembershipStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            roles: roles
                .iter()
                .map(|r| Role::parse(r))
                .collect::<Option<_>>()
                .ok_or_else(|| corrupt("roles"))?,
            notifications: Notifications {
                email: self
                    .notify_email
                    .as_deref()
                    .map(Email::parse)
                    .transpose()
                    .map_err(|_| corrupt("notify_email"))?,
                events: serde_json::from_str(&self.notify_events)
                    .map_err(|_| corrupt("notify_events"))?,
                frequency: self.notify_frequency.clone(),
            },
            rate_limit_per_second: self
                .rate_limit_per_second
                .map(u32::try_from)
                .transpose()
                .map_err(|_| corrupt("rate_limit_per_second"))?,
            invitation: match (&self.invited_by, self.invited_at, self.invite_expires_at) {
                (Some(by), Some(at), Some(until)) => Some(Invitation {
                    inviter: UserId::parse(by).ok_or_else(|| corrupt("invited_by"))?,
                    sent_at: Timestamp::from_millis(at),
                    expires_at: Timestamp::from_millis(until),
                    token_mac: self
                        .invite_token_mac
                        .as_deref()
                        .map(|b| CodeMac::from_slice(b).ok_or_else(|| corrupt("invite_token_mac")))
                        .transpose()?,
                }),
                (None, None, None) => None,
                _ => return Err(corrupt("invitation")),
            },
        })
    }
}

pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Corrupt(format!("not encodable: {e}")))
}
