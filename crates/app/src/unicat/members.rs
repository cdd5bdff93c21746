//! The owner's side of members and invitations (Unicat section 5):
//! `p/{project}/members/invite`, `resend_invite`, `remove` and the two
//! forms of `members/get`. The project and its rows are loaded from the
//! project repository; what may happen is the domain's
//! [`project_access`], [`may_see_row`] and [`membership`] transitions;
//! each call is one change set, retried (bounded) when a parallel call
//! changed what it was decided on.

use super::projects::UserInProject;
use super::stored_project::StoredProject;
use super::{Invalid, Reason, Sessions};
use crate::ports::unexpected_conflict;
use crate::{mail, Failure, Ports, RateLimited};
use accountd_domain::{
    may_see_notification_email, may_see_row, membership, AuditEvent, AuditEventKind, AuditOutcome,
    Change, ChangeSet, Conflict, Email, Invitation, Limit, MacKey, MemberError, Membership,
    Project, ProjectAccess, ProjectId, TimeZone, Timestamp, User, UserId, UserStatus,
};
use accountd_ports::{ProjectRepository, RateDecision};
use std::fmt;
use std::sync::Arc;

/// How often a call is decided again when a parallel call changed what it
/// was decided on (a placeholder created or purged, a row accepted or
/// declined meanwhile).
const ATTEMPTS: usize = 3;

/// The most gids one `members/get` may ask for.
pub const MAX_MEMBERS_PER_GET: usize = 1000;

/// The numbers of the member routes.
#[derive(Debug, Clone)]
pub struct MemberSettings {
    /// Life of an invitation (`ACCOUNTD_INVITE_TTL_SECONDS`).
    pub invite_ttl_seconds: i64,
    /// `invited` rows one project may hold
    /// (`ACCOUNTD_PENDING_INVITES_PER_PROJECT`; 0: no cap).
    pub pending_invites_per_project: u32,
    /// Invitations and resends per inviter per hour
    /// (`ACCOUNTD_INVITES_PER_HOUR`; 0: no limit).
    pub invites_per_hour: u32,
    /// Invitations and resends per recipient per hour
    /// (`ACCOUNTD_INVITES_PER_RECIPIENT_PER_HOUR`; 0: no limit).
    pub invites_per_recipient_per_hour: u32,
    /// The base of the decline link (`ACCOUNTD_PUBLIC_URL`), without a
    /// trailing slash.
    pub public_url: String,
    /// The time zone of a new placeholder (`ACCOUNTD_DEFAULT_TIMEZONE`).
    pub default_timezone: TimeZone,
}

/// What `members/invite` is given.
#[derive(Debug, Clone)]
pub struct InviteInput {
    /// The project (from the path).
    pub project: ProjectId,
    /// A username (case-sensitive) or, when it contains `@`, an address.
    pub username_or_email: String,
}

/// What `members/resend_invite` and `members/remove` are given.
#[derive(Debug, Clone, Copy)]
pub struct MemberInput {
    /// The project (from the path).
    pub project: ProjectId,
    /// The member.
    pub user: UserId,
}

/// What `members/get` is given.
#[derive(Debug, Clone)]
pub struct GetMembersInput {
    /// The project.
    pub project: ProjectId,
    /// The gids asked for, in the order sent (duplicates allowed; they
    /// collapse).
    pub users: Vec<UserId>,
    /// `member` (one gid, `result.user`) rather than `members`
    /// (`result.users`).
    pub one: bool,
}

/// Rows of one project and their users, and a fresh token. `Debug` never
/// shows the token.
#[derive(Clone)]
pub struct MembersShown {
    /// The project.
    pub project: ProjectId,
    /// The rows, in the order asked for, each row's notification address
    /// already `None` where the caller may not see it.
    pub rows: Vec<Membership>,
    /// The user of each row, in the order of the rows.
    pub users: Vec<UserInProject>,
    /// One row asked for (`result.user`) rather than a list (`result.users`).
    pub one: bool,
    /// A fresh token carrying the caller's `auth_time`.
    pub token: String,
}

impl fmt::Debug for MembersShown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MembersShown")
            .field("project", &self.project)
            .field("rows", &self.rows.len())
            .field("one", &self.one)
            .field("token", &"***")
            .finish()
    }
}

/// Why a member call changed and showed nothing.
#[derive(Debug, thiserror::Error)]
pub enum MembersError {
    /// Unknown project, or not visible to the caller (one answer): 403.
    #[error("not visible")]
    NotVisible,
    /// Visible, but the route is the owner's, or the row another user's: 403.
    #[error("not the owner")]
    NotOwner,
    /// A value was refused (1001 `email_invalid`, `email_ambiguous`).
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// The project is deleted: 422 `project_deleted`.
    #[error("the project is deleted")]
    ProjectDeleted,
    /// No active user has this username: 422 `user_not_found`.
    #[error("no such user")]
    UserNotFound,
    /// 422 `already_member`.
    #[error("already a member")]
    AlreadyMember,
    /// 422 `already_invited`.
    #[error("already invited")]
    AlreadyInvited,
    /// 422 `invite_declined`.
    #[error("the invitation was declined")]
    InviteDeclined,
    /// The project holds as many `invited` rows as the cap allows: 422
    /// `too_many_pending_invites`.
    #[error("too many pending invitations")]
    TooManyPendingInvites,
    /// The owner's own row: 422 `owner_cannot_leave`.
    #[error("the owner cannot leave")]
    OwnerCannotLeave,
    /// No such row (or none the caller may see, or none in the state the
    /// route needs): 422.
    #[error("no such row")]
    NoRow,
    /// An invitation limit has no room: 429.
    #[error(transparent)]
    TooManyRequests(#[from] RateLimited),
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<MemberError> for MembersError {
    fn from(e: MemberError) -> Self {
        match e {
            MemberError::ProjectDeleted => Self::ProjectDeleted,
            MemberError::AlreadyMember => Self::AlreadyMember,
            MemberError::AlreadyInvited => Self::AlreadyInvited,
            MemberError::InviteDeclined => Self::InviteDeclined,
            // Resend of a declined row is allowed; accept is not this
            // module's, so an expiry refusal cannot come up here.
            MemberError::InviteExpired | MemberError::NoRow => Self::NoRow,
            MemberError::OwnerCannotLeave => Self::OwnerCannotLeave,
            MemberError::NotOwner => Self::NotOwner,
        }
    }
}

/// Who an invitation goes to.
#[derive(Debug, Clone)]
struct Invitee {
    /// The account or placeholder.
    user: User,
    /// Whether the placeholder is still to be created in the set.
    create: bool,
}

/// The member use cases.
#[derive(Clone)]
pub struct Members {
    ports: Ports,
    sessions: Sessions,
    projects: Arc<dyn ProjectRepository>,
    mac_key: MacKey,
    settings: MemberSettings,
    refusals: crate::refusals::RefusalLog,
}

impl fmt::Debug for Members {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Members { .. }")
    }
}

impl Members {
    /// Builds the service.
    pub fn new(
        ports: Ports,
        sessions: Sessions,
        projects: Arc<dyn ProjectRepository>,
        mac_key: MacKey,
        settings: MemberSettings,
    ) -> Self {
        Self {
            ports,
            sessions,
            projects,
            mac_key,
            settings,
            refusals: crate::refusals::RefusalLog::default(),
        }
    }

    /// `members/invite`: owner only (403), then the invitee (1001 for a bad
    /// or ambiguous address), then the project's status and the row (422),
    /// then the limits (429). An unknown username counts one hit on the
    /// inviter's limit (refused: 429). One change set: the placeholder when
    /// new, the `invited` row, the guards, the two hits (last, so a 422
    /// wins over a 429 and a refused call counts nothing) and the mail.
    #[tracing::instrument(skip_all, fields(route = "unicat.members.invite"))]
    pub async fn invite(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        input: InviteInput,
    ) -> Result<MembersShown, MembersError> {
        for _ in 0..ATTEMPTS {
            let (project, rows, access) = self.load(caller, input.project).await?;
            if !access.may_manage() {
                return Err(MembersError::NotOwner);
            }
            let now = self.ports.clock.now();
            let Some(invitee) = self
                .invitee(caller, &project, &rows, &input.username_or_email, now)
                .await?
            else {
                return Err(MembersError::UserNotFound);
            };
            let existing = rows.iter().find(|r| r.user == invitee.user.id);
            let token = self.draw_token();
            let invitation = Invitation::issue(&self.mac_key, &token, caller.id, now, self.ttl());
            let row = membership::invite(
                &project,
                existing,
                invitee.user.id,
                invitee.user.emails.first().cloned(),
                invitation,
            )?;
            let mut set = ChangeSet::new();
            if invitee.create {
                set = set.with(Change::CreatePlaceholder(invitee.user.clone()));
            }
            set = set.with(Change::PutMembership {
                membership: row.clone(),
                expected: None,
            });
            set = self
                .guarded(set, caller, &project, &invitee.user)
                .mail(self.invitation_mail(&invitee.user, &project, caller, &token))
                .audit(
                    AuditEvent::new(AuditEventKind::MemberInvited, Some(caller.id))
                        .project(project.id)
                        .other_user("member", invitee.user.id),
                );
            match self.ports.apply(set, now).await? {
                Ok(()) => {}
                // A placeholder of the address was created or purged, or a
                // row of the invitee written, meanwhile: decide again.
                Err(
                    Conflict::AddressTaken | Conflict::UserChanged | Conflict::MembershipChanged,
                ) => continue,
                Err(c) => return Err(self.refusal(caller, project.id, c).await),
            }
            tracing::info!(
                user.gid = %caller.id,
                project.gid = %project.id,
                invitee.gid = %invitee.user.id,
                placeholder = invitee.create,
                "member invited"
            );
            return self.answer_one(caller, auth_time, row, invitee.user);
        }
        Err(retries_exhausted())
    }

    /// `members/resend_invite`: owner only; an `invited` or `declined` row
    /// becomes `invited` with a new expiry and token, and a new mail;
    /// same guards, limits and answer as invite.
    #[tracing::instrument(skip_all, fields(route = "unicat.members.resend_invite"))]
    pub async fn resend_invite(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        input: MemberInput,
    ) -> Result<MembersShown, MembersError> {
        for _ in 0..ATTEMPTS {
            let (project, rows, access) = self.load(caller, input.project).await?;
            if !access.may_manage() {
                return Err(MembersError::NotOwner);
            }
            let now = self.ports.clock.now();
            let existing = rows.iter().find(|r| r.user == input.user);
            let token = self.draw_token();
            let invitation = Invitation::issue(&self.mac_key, &token, caller.id, now, self.ttl());
            let row = membership::resend(&project, existing, invitation)?;
            let expected = existing.map(|r| r.status);
            let Some(invitee) = self
                .ports
                .users
                .get(input.user)
                .await
                .map_err(Failure::from)?
            else {
                // A row always has its user (a foreign key): gone meanwhile.
                return Err(MembersError::NoRow);
            };
            // Under the invitation read: a parallel decline or resend
            // makes the call decide again.
            let set = ChangeSet::new()
                .with(Change::InvitationSentAt {
                    project: project.id,
                    user: input.user,
                    sent_at: existing
                        .and_then(|r| r.invitation.as_ref())
                        .map(|i| i.sent_at),
                })
                .with(Change::PutMembership {
                    membership: row.clone(),
                    expected,
                });
            let set = self
                .guarded(set, caller, &project, &invitee)
                .mail(self.invitation_mail(&invitee, &project, caller, &token))
                .audit(
                    AuditEvent::new(AuditEventKind::InviteResent, Some(caller.id))
                        .project(project.id)
                        .other_user("member", invitee.id),
                );
            match self.ports.apply(set, now).await? {
                Ok(()) => {}
                // Accepted, declined or removed meanwhile: decide again.
                Err(Conflict::MembershipChanged | Conflict::UserChanged) => continue,
                Err(c) => return Err(self.refusal(caller, project.id, c).await),
            }
            tracing::info!(
                user.gid = %caller.id,
                project.gid = %project.id,
                invitee.gid = %invitee.id,
                "invitation resent"
            );
            return self.answer_one(caller, auth_time, row, invitee);
        }
        Err(retries_exhausted())
    }

    /// `members/remove`: the domain's `remove` decides (the owner any row
    /// but their own; anyone else only their own); the row goes, and a
    /// placeholder left with no row goes with it, in one set. The fresh
    /// token.
    #[tracing::instrument(skip_all, fields(route = "unicat.members.remove"))]
    pub async fn remove(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        input: MemberInput,
    ) -> Result<String, MembersError> {
        for _ in 0..ATTEMPTS {
            // Spec section 6: a user removes their own row in any status,
            // a declined one included (hidden from them otherwise).
            let (project, rows) = if input.user == caller.id {
                self.load_own(caller, input.project).await?
            } else {
                let (project, rows, _) = self.load(caller, input.project).await?;
                (project, rows)
            };
            let existing = rows.iter().find(|r| r.user == input.user);
            let row = membership::remove(&project, caller.id, input.user, existing)?;
            // Removing one's own row is leaving (spec section 6).
            let event = if row.user == caller.id {
                AuditEvent::new(AuditEventKind::MemberLeft, Some(caller.id))
            } else {
                AuditEvent::new(AuditEventKind::MemberRemoved, Some(caller.id))
                    .other_user("member", row.user)
            };
            let set = ChangeSet::new()
                .with(Change::RemoveMembership {
                    project: project.id,
                    user: row.user,
                    expected: row.status,
                })
                .with(Change::DeletePlaceholderIfUnused(row.user))
                .audit(event.project(project.id));
            match self.ports.apply(set, self.ports.clock.now()).await? {
                Ok(()) => {}
                // Accepted, declined or removed meanwhile: decide again.
                Err(Conflict::MembershipChanged) => continue,
                Err(c) => return Err(self.refusal(caller, project.id, c).await),
            }
            tracing::info!(
                user.gid = %caller.id,
                project.gid = %project.id,
                member.gid = %row.user,
                "member removed"
            );
            return Ok(self.sessions.token(caller, auth_time)?);
        }
        Err(retries_exhausted())
    }

    /// `members/get`: the rows of `users` (duplicates collapsed, in the
    /// order sent), each of which the caller must see, else `NoRow` for
    /// the whole call; their users in one batch read, the caller in the
    /// complete form.
    #[tracing::instrument(skip_all, fields(route = "unicat.members.get"))]
    pub async fn get(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        input: GetMembersInput,
    ) -> Result<MembersShown, MembersError> {
        let (project, rows, _) = self.load(caller, input.project).await?;
        let Some(own) = rows.iter().find(|r| r.user == caller.id) else {
            return Err(MembersError::NotVisible);
        };
        let mut wanted: Vec<UserId> = Vec::with_capacity(input.users.len());
        for id in input.users {
            if !wanted.contains(&id) {
                wanted.push(id);
            }
        }
        let mut shown = Vec::with_capacity(wanted.len());
        for id in &wanted {
            let row = rows
                .iter()
                .find(|r| r.user == *id && may_see_row(&project, own, r))
                .ok_or(MembersError::NoRow)?;
            shown.push(self.redacted(&project, caller, row));
        }
        let others: Vec<UserId> = wanted.iter().copied().filter(|u| *u != caller.id).collect();
        let stored = if others.is_empty() {
            Vec::new()
        } else {
            self.ports
                .users
                .get_many(&others)
                .await
                .map_err(Failure::from)?
        };
        let mut users = Vec::with_capacity(wanted.len());
        for id in &wanted {
            if *id == caller.id {
                users.push(UserInProject {
                    user: caller.clone(),
                    complete: true,
                });
            } else {
                // A row always has its user (a foreign key); gone
                // meanwhile (a purged placeholder), it is no row now.
                let user = stored
                    .iter()
                    .find(|u| u.id == *id)
                    .ok_or(MembersError::NoRow)?;
                users.push(UserInProject {
                    user: user.clone(),
                    complete: false,
                });
            }
        }
        Ok(MembersShown {
            project: project.id,
            rows: shown,
            users,
            one: input.one,
            token: self.sessions.token(caller, auth_time)?,
        })
    }

    /// The answer of invite and resend: the row (the owner sees its
    /// address) and the invitee's short form.
    fn answer_one(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        row: Membership,
        invitee: User,
    ) -> Result<MembersShown, MembersError> {
        Ok(MembersShown {
            project: row.project,
            rows: vec![row],
            users: vec![UserInProject {
                user: invitee,
                complete: false,
            }],
            one: true,
            token: self.sessions.token(caller, auth_time)?,
        })
    }

    /// The guards and hits every invitation set ends with, after its row:
    /// the project still active, the pending cap after the row, then the
    /// inviter's and the recipient's hits (last).
    fn guarded(
        &self,
        set: ChangeSet,
        caller: &User,
        project: &Project,
        invitee: &User,
    ) -> ChangeSet {
        set.with(Change::ProjectIsActive(project.id))
            .with(Change::PendingInvitesAtMost {
                project: project.id,
                max: self.settings.pending_invites_per_project,
            })
            .with(Change::CountHit {
                key: inviter_key(caller.id),
                limits: self.inviter_limits(),
            })
            .with(Change::CountHit {
                key: recipient_key(invitee),
                limits: vec![Limit {
                    window_seconds: 3600,
                    max: self.settings.invites_per_recipient_per_hour,
                }],
            })
    }

    fn inviter_limits(&self) -> Vec<Limit> {
        vec![Limit {
            window_seconds: 3600,
            max: self.settings.invites_per_hour,
        }]
    }

    /// The user `text` names: an address (contains `@`) → the one active
    /// account holding it, else its placeholder, else a new one (1001 when
    /// it is not an address or several accounts hold it); a username → the
    /// active user with exactly that name. `None`: no such user, after the
    /// inviter's hit was counted (a refused hit: 429). A deleted project
    /// answers its 422 before a username is looked up.
    async fn invitee(
        &self,
        caller: &User,
        project: &Project,
        rows: &[Membership],
        text: &str,
        now: Timestamp,
    ) -> Result<Option<Invitee>, MembersError> {
        if text.contains('@') {
            let address = Email::parse(text).map_err(|e| {
                MembersError::Invalid(Invalid::new(
                    "username_or_email",
                    Reason::EmailInvalid,
                    format!("Not an email address: {e}."),
                ))
            })?;
            let held = self
                .ports
                .users
                .find_by_email(&address)
                .await
                .map_err(Failure::from)?;
            let mut active = held.iter().filter(|u| u.is_active());
            if let Some(one) = active.next() {
                if active.next().is_some() {
                    return Err(MembersError::Invalid(Invalid::new(
                        "username_or_email",
                        Reason::EmailAmbiguous,
                        "Several accounts have this address; invite by username.",
                    )));
                }
                return Ok(Some(Invitee {
                    user: one.clone(),
                    create: false,
                }));
            }
            if let Some(placeholder) = held.iter().find(|u| u.status == UserStatus::Invited) {
                return Ok(Some(Invitee {
                    user: placeholder.clone(),
                    create: false,
                }));
            }
            return Ok(Some(Invitee {
                user: self.placeholder(address, now),
                create: true,
            }));
        }
        if project.status == accountd_domain::ProjectStatus::Deleted {
            return Err(MembersError::ProjectDeleted);
        }
        // A full project answers before a name is looked up, so that a
        // refusal that counts nothing (the cap) and one that counts (an
        // unknown name) cannot tell names apart; the set's guard still
        // holds the cap exactly under parallel invites.
        let cap = self.settings.pending_invites_per_project;
        let pending = rows
            .iter()
            .filter(|r| r.status == accountd_domain::MembershipStatus::Invited)
            .count();
        if cap > 0 && pending >= usize::try_from(cap).unwrap_or(usize::MAX) {
            return Err(MembersError::TooManyPendingInvites);
        }
        let found = self
            .ports
            .users
            .find_by_username_ci(text)
            .await
            .map_err(Failure::from)?
            .filter(|u| u.is_active() && u.username.as_ref().is_some_and(|n| n.as_str() == text));
        if let Some(user) = found {
            return Ok(Some(Invitee {
                user,
                create: false,
            }));
        }
        // An unknown name costs the inviter one hit, so names cannot be
        // probed for free.
        match self
            .ports
            .limiter
            .hit(&inviter_key(caller.id), &self.inviter_limits(), now)
            .await
            .map_err(Failure::from)?
        {
            RateDecision::Allowed => Ok(None),
            RateDecision::Limited {
                retry_after_seconds,
            } => {
                tracing::info!(limit.key_kind = "invite_inviter", "rate limit hit");
                crate::metrics::rate_limited("invites_per_inviter");
                // Once per inviter and window (see `refusals`).
                if self.refusals.first(&inviter_key(caller.id), now) {
                    let event = AuditEvent::new(AuditEventKind::RateLimited, Some(caller.id))
                        .outcome(AuditOutcome::Refused)
                        .word("limit", "invites_per_inviter");
                    self.ports.record([event], now).await?;
                }
                Err(RateLimited {
                    retry_after_seconds,
                }
                .into())
            }
        }
    }

    /// A new placeholder for `address`: status `invited`, no username, no
    /// password, language `en` and the default time zone.
    fn placeholder(&self, address: Email, now: Timestamp) -> User {
        User {
            id: UserId::from_random_bytes(self.ports.random.bytes16()),
            username: None,
            emails: vec![address],
            status: UserStatus::Invited,
            credential_version: 1,
            password_hash: None,
            name: String::new(),
            language: mail::FALLBACK_LANGUAGE.to_owned(),
            timezone: self.settings.default_timezone.as_str().to_owned(),
            created_at: now,
        }
    }

    /// The invitation mail to the invitee's primary address: in their
    /// language, a placeholder's in the project's first language that has
    /// templates (else `en`).
    fn invitation_mail(
        &self,
        invitee: &User,
        project: &Project,
        inviter: &User,
        token: &str,
    ) -> Vec<accountd_domain::OutgoingMail> {
        let Some(to) = invitee.emails.first() else {
            return Vec::new();
        };
        let language = if invitee.status == UserStatus::Invited {
            project
                .languages
                .first()
                .map_or(mail::FALLBACK_LANGUAGE, |l| mail::template_language(l))
        } else {
            mail::template_language(&invitee.language)
        };
        let link = format!(
            "{}/invite/decline?invitee={}&project={}&token={token}",
            self.settings.public_url, invitee.id, project.id
        );
        vec![mail::invitation(
            language,
            invitee,
            to,
            &project.name,
            inviter.username_str(),
            &link,
            self.settings.invite_ttl_seconds,
        )]
    }

    /// The answer for a conflict that is not decided again: a guard of
    /// the set that held no more.
    async fn refusal(&self, caller: &User, project: ProjectId, conflict: Conflict) -> MembersError {
        match conflict {
            Conflict::TooManyPendingInvites => MembersError::TooManyPendingInvites,
            Conflict::Limited {
                retry_after_seconds,
            } => {
                tracing::info!(limit.key_kind = "invite", "rate limit hit");
                crate::metrics::rate_limited("invites_per_recipient");
                // The refused set wrote nothing, its hits included; its
                // event is written once per inviter and window (see
                // `refusals`).
                let now = self.ports.clock.now();
                if self.refusals.first(&format!("invites:{}", caller.id), now) {
                    let event = AuditEvent::new(AuditEventKind::RateLimited, Some(caller.id))
                        .outcome(AuditOutcome::Refused)
                        .project(project)
                        .word("limit", "invites");
                    if let Err(f) = self.ports.record([event], now).await {
                        return f.into();
                    }
                }
                RateLimited {
                    retry_after_seconds,
                }
                .into()
            }
            // Deleted, purged or given away meanwhile.
            Conflict::ProjectChanged => match self.load(caller, project).await {
                Err(e) => e,
                Ok((_, _, access)) if !access.may_manage() => MembersError::NotOwner,
                Ok((now, _, _)) if now.status == accountd_domain::ProjectStatus::Deleted => {
                    MembersError::ProjectDeleted
                }
                Ok(_) => unexpected_conflict(conflict).into(),
            },
            Conflict::ChallengeNotOpen
            | Conflict::UsernameTaken
            | Conflict::UserChanged
            | Conflict::MembershipChanged
            | Conflict::OwnsProjects
            | Conflict::RevertSpent
            | Conflict::TooManyProjects
            | Conflict::AddressTaken => unexpected_conflict(conflict).into(),
        }
    }

    /// A row as `caller` may see it.
    fn redacted(&self, project: &Project, caller: &User, row: &Membership) -> Membership {
        let mut row = row.clone();
        if !may_see_notification_email(project, caller.id, &row) {
            row.notifications.email = None;
        }
        row
    }

    fn ttl(&self) -> i64 {
        self.settings.invite_ttl_seconds
    }

    /// The project, its rows and the caller's access; `NotVisible` when
    /// it is unknown or hidden from the caller.
    async fn load(
        &self,
        caller: &User,
        project: ProjectId,
    ) -> Result<(Project, Vec<Membership>, ProjectAccess), MembersError> {
        StoredProject::visible_to(self.projects.as_ref(), project, caller.id)
            .await?
            .ok_or(MembersError::NotVisible)
    }

    /// As [`Self::load`], for a call about the caller's own row: a caller
    /// with any row passes even where the project is hidden from them (a
    /// declined row; a deleted project), for the domain to decide.
    async fn load_own(
        &self,
        caller: &User,
        project: ProjectId,
    ) -> Result<(Project, Vec<Membership>), MembersError> {
        match StoredProject::load(self.projects.as_ref(), project).await? {
            Some(stored) if stored.row_of(caller.id).is_some() => Ok((stored.project, stored.rows)),
            _ => Err(MembersError::NotVisible),
        }
    }

    /// A 256-bit invitation token (43 URL-safe characters).
    fn draw_token(&self) -> String {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&self.ports.random.bytes16());
        bytes[16..].copy_from_slice(&self.ports.random.bytes16());
        accountd_domain::validation_code_text(&bytes)
    }
}

/// The limit key of an inviter.
fn inviter_key(inviter: UserId) -> String {
    format!("invite:inviter:{inviter}")
}

/// The limit key of a recipient: the account's gid, a placeholder's folded
/// address.
fn recipient_key(invitee: &User) -> String {
    match (invitee.status, invitee.emails.first()) {
        (UserStatus::Invited, Some(address)) => format!("invite:recipient:{}", address.key()),
        _ => format!("invite:recipient:{}", invitee.id),
    }
}

fn retries_exhausted() -> MembersError {
    Failure::Unavailable(anyhow::anyhow!(
        "the membership kept changing while the request was served"
    ))
    .into()
}

#[cfg(test)]
#[path = "members_tests.rs"]
mod tests;
