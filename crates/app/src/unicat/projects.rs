//! The project routes (Unicat section 5): `projects/create`, `projects/get`
//! and `projects/update`. Who may see and do what is the domain's
//! [`project_access`] and [`may_see_row`]; each call is one change set.

use super::stored_project::StoredProject;
use super::{Invalid, Reason, Sessions};
use crate::ports::unexpected_conflict;
use crate::{Failure, Ports};
use accountd_domain::{
    may_see_notification_email, may_see_row, AuditEvent, AuditEventKind, Change, ChangeSet,
    Conflict, Membership, MembershipStatus, Notifications, Project, ProjectAccess, ProjectError,
    ProjectId, ProjectName, ProjectStatus, Role, TimeZone, Timestamp, User, DEFAULT_PROJECT_NAME,
};
use accountd_ports::ProjectRepository;
use std::fmt;
use std::sync::Arc;

/// The numbers of the project routes.
#[derive(Debug, Clone)]
pub struct ProjectSettings {
    /// Projects one user may own, in any status (`ACCOUNTD_PROJECTS_PER_USER`).
    pub projects_per_user: u32,
    /// The codes `options.languages` may hold (`ACCOUNTD_LANGUAGES`).
    pub languages: Vec<String>,
    /// The time zone of a new project (`ACCOUNTD_DEFAULT_TIMEZONE`).
    pub default_timezone: TimeZone,
}

/// One value of the `options` object, as the request held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    /// A string.
    Text(String),
    /// A list of strings.
    Texts(Vec<String>),
    /// Any other JSON value (refused with `options_invalid`).
    Other,
}

/// What `projects/create` is given.
#[derive(Debug, Clone, Default)]
pub struct ProjectInput {
    /// The name (default `untitled project`).
    pub name: Option<String>,
    /// The `options` object's keys with their values, in request order.
    pub options: Option<Vec<(String, OptionValue)>>,
}

/// What `projects/update` is given.
#[derive(Debug, Clone)]
pub struct UpdateProjectInput {
    /// The project.
    pub project: ProjectId,
    /// The new name and options.
    pub changes: ProjectInput,
}

/// What `projects/transfer` is given.
#[derive(Debug, Clone)]
pub struct TransferInput {
    /// The project.
    pub project: ProjectId,
    /// The new owner, an active member.
    pub user: accountd_domain::UserId,
    /// The current password, checked only when the session is stale.
    pub current_password: Option<crate::Secret>,
}

/// A user in `cc.users` of a project answer.
#[derive(Debug, Clone)]
pub struct UserInProject {
    /// The user.
    pub user: User,
    /// The caller (complete form) or another user (short form).
    pub complete: bool,
}

/// A project as the caller may see it, and a fresh token. `Debug` never
/// shows the token.
#[derive(Clone)]
pub struct ProjectShown {
    /// The project.
    pub project: Project,
    /// What the caller may do with it (`Invited`: the short form).
    pub access: ProjectAccess,
    /// The rows the caller may see, by user gid, each row's notification
    /// address already `None` where the caller may not see it.
    pub rows: Vec<Membership>,
    /// The user of each row, in the order of the rows.
    pub users: Vec<UserInProject>,
    /// A fresh token carrying the caller's `auth_time`.
    pub token: String,
}

impl fmt::Debug for ProjectShown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProjectShown")
            .field("project", &self.project.id)
            .field("access", &self.access)
            .field("rows", &self.rows.len())
            .field("token", &"***")
            .finish()
    }
}

/// Why a project call changed and showed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProjectsError {
    /// Unknown, or not visible to the caller (one answer for both): 403.
    #[error("not visible")]
    NotVisible,
    /// Visible, but the route is the owner's: 403.
    #[error("not the owner")]
    NotOwner,
    /// A value was refused (1001).
    #[error("invalid: {0:?}")]
    Invalid(Invalid),
    /// The caller owns as many projects as the cap allows: 422.
    #[error("too many projects")]
    TooManyProjects,
    /// The project is deleted and the route needs an active one: 422.
    #[error("the project is deleted")]
    ProjectDeleted,
    /// The user to transfer to is not an active member (or is the
    /// caller): 422 `not_a_member`.
    #[error("not an active member")]
    NotAMember,
    /// A stale session without (or with a wrong) `current_password`, or a
    /// soft-locked account.
    #[error(transparent)]
    Recent(#[from] super::RecentAuthError),
    /// The project is active and the route needs a deleted one: 422.
    #[error("the project is not deleted")]
    ProjectNotDeleted,
    /// The caller's account changed while the call was served (deleted,
    /// its password changed): 401.
    #[error("the session was revoked meanwhile")]
    Revoked,
    /// The service could not do its work.
    #[error(transparent)]
    Failure(#[from] Failure),
}

fn invalid(field: &'static str, reason: Reason, detail: impl Into<String>) -> ProjectsError {
    ProjectsError::Invalid(Invalid::new(field, reason, detail))
}

/// The checked name and options of a create or an update.
#[derive(Debug, Default)]
struct Checked {
    name: Option<ProjectName>,
    timezone: Option<String>,
    languages: Option<Vec<String>>,
}

/// The project use cases.
#[derive(Clone)]
pub struct Projects {
    ports: Ports,
    sessions: Sessions,
    projects: Arc<dyn ProjectRepository>,
    settings: ProjectSettings,
}

impl fmt::Debug for Projects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Projects { .. }")
    }
}

impl Projects {
    /// Builds the service.
    pub fn new(
        ports: Ports,
        sessions: Sessions,
        projects: Arc<dyn ProjectRepository>,
        settings: ProjectSettings,
    ) -> Self {
        Self {
            ports,
            sessions,
            projects,
            settings,
        }
    }

    /// `projects/create`: checks `name` then `options`, then creates the
    /// project with the caller as its owner (an active row, roles
    /// `["owner"]`, notifications to the primary address) in one change set
    /// whose guard counts the caller's projects under the caller's lock, so
    /// parallel creates never pass the cap.
    #[tracing::instrument(skip_all, fields(route = "unicat.projects.create"))]
    pub async fn create(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        input: ProjectInput,
    ) -> Result<ProjectShown, ProjectsError> {
        let checked = self.checked(&input)?;
        let id = ProjectId::from_random_bytes(self.ports.random.bytes16());
        let project = Project {
            id,
            name: checked
                .name
                .as_ref()
                .map_or(DEFAULT_PROJECT_NAME, ProjectName::as_str)
                .to_owned(),
            icon: None,
            owner: caller.id,
            status: ProjectStatus::Active,
            timezone: checked
                .timezone
                .unwrap_or_else(|| self.settings.default_timezone.as_str().to_owned()),
            languages: checked.languages.unwrap_or_else(|| vec!["en".to_owned()]),
        };
        let owner = Membership {
            project: id,
            user: caller.id,
            status: MembershipStatus::Active,
            roles: vec![Role::Owner],
            notifications: Notifications {
                email: caller.emails.first().cloned(),
                ..Notifications::default()
            },
            rate_limit_per_second: None,
            invitation: None,
        };
        let set = ChangeSet::new()
            .with(Change::OwnsFewerThan {
                user: caller.id,
                max: self.settings.projects_per_user,
            })
            .with(Change::CreateProject {
                project: project.clone(),
                owner: owner.clone(),
            })
            .audit(AuditEvent::new(AuditEventKind::ProjectCreated, Some(caller.id)).project(id));
        match self.ports.apply(set, self.ports.clock.now()).await? {
            Ok(()) => {}
            Err(Conflict::TooManyProjects) => {
                tracing::info!(user.gid = %caller.id, "project refused: at the cap");
                return Err(ProjectsError::TooManyProjects);
            }
            Err(Conflict::UserChanged) => return Err(ProjectsError::Revoked),
            Err(
                c @ (Conflict::ChallengeNotOpen
                | Conflict::UsernameTaken
                | Conflict::MembershipChanged
                | Conflict::OwnsProjects
                | Conflict::RevertSpent
                | Conflict::ProjectChanged
                | Conflict::AddressTaken
                | Conflict::TooManyPendingInvites
                | Conflict::Limited { .. }),
            ) => return Err(unexpected_conflict(c).into()),
        }
        tracing::info!(user.gid = %caller.id, project.gid = %id, "project created");
        Ok(ProjectShown {
            project,
            access: ProjectAccess::Owner,
            rows: vec![owner],
            users: vec![UserInProject {
                user: caller.clone(),
                complete: true,
            }],
            token: self.sessions.token(caller, auth_time)?,
        })
    }

    /// `projects/get`: the project, the rows the caller may see and their
    /// users; an unknown project and one the caller may not see are both
    /// `NotVisible`.
    #[tracing::instrument(skip_all, fields(route = "unicat.projects.get"))]
    pub async fn get(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        project: ProjectId,
    ) -> Result<ProjectShown, ProjectsError> {
        let (project, rows, access) = self.load(caller, project).await?;
        self.shown(caller, auth_time, project, &rows, access).await
    }

    /// `projects/update`: owner only; checks that something is given, then
    /// `name`, then `options` (keys given replace those keys only), then
    /// that the project is active; writes only the given columns, and
    /// answers as `projects/get`.
    #[tracing::instrument(skip_all, fields(route = "unicat.projects.update"))]
    pub async fn update(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        input: UpdateProjectInput,
    ) -> Result<ProjectShown, ProjectsError> {
        let (project, _, access) = self.load(caller, input.project).await?;
        if !access.may_manage() {
            return Err(ProjectsError::NotOwner);
        }
        let nothing = input.changes.name.is_none()
            && input.changes.options.as_ref().is_none_or(|o| o.is_empty());
        if nothing {
            return Err(invalid(
                "body",
                Reason::NothingToUpdate,
                "Give at least one of name and options.",
            ));
        }
        let checked = self.checked(&input.changes)?;
        project
            .updated(
                checked.name.as_ref(),
                checked.timezone.as_deref(),
                checked.languages.as_deref(),
            )
            .map_err(transition_error)?;
        let set = ChangeSet::new()
            .with(Change::UpdateProject {
                project: project.id,
                name: checked.name.map(|n| n.as_str().to_owned()),
                timezone: checked.timezone,
                languages: checked.languages,
            })
            .audit(
                AuditEvent::new(AuditEventKind::ProjectUpdated, Some(caller.id))
                    .project(project.id),
            );
        match self.ports.apply(set, self.ports.clock.now()).await? {
            Ok(()) => {}
            // Deleted (or purged) meanwhile.
            Err(Conflict::ProjectChanged) => return Err(ProjectsError::ProjectDeleted),
            Err(
                c @ (Conflict::ChallengeNotOpen
                | Conflict::UsernameTaken
                | Conflict::UserChanged
                | Conflict::MembershipChanged
                | Conflict::OwnsProjects
                | Conflict::RevertSpent
                | Conflict::TooManyProjects
                | Conflict::AddressTaken
                | Conflict::TooManyPendingInvites
                | Conflict::Limited { .. }),
            ) => return Err(unexpected_conflict(c).into()),
        }
        tracing::info!(user.gid = %caller.id, project.gid = %project.id, "project updated");
        let (project, rows, access) = self.load(caller, project.id).await?;
        self.shown(caller, auth_time, project, &rows, access).await
    }

    /// `projects/delete`: owner only; active → deleted, stamped now
    /// (members lose access; retention counts from here).
    #[tracing::instrument(skip_all, fields(route = "unicat.projects.delete"))]
    pub async fn delete(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        project: ProjectId,
    ) -> Result<ProjectShown, ProjectsError> {
        self.set_status(caller, auth_time, project, Project::deleted)
            .await
    }

    /// `projects/undelete`: owner only; deleted → active (members get
    /// their access back).
    #[tracing::instrument(skip_all, fields(route = "unicat.projects.undelete"))]
    pub async fn undelete(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        project: ProjectId,
    ) -> Result<ProjectShown, ProjectsError> {
        self.set_status(caller, auth_time, project, Project::undeleted)
            .await
    }

    /// `projects/permanent_delete`: owner only, a deleted project only;
    /// removes it, its memberships and the placeholders left with none.
    /// The fresh token.
    #[tracing::instrument(skip_all, fields(route = "unicat.projects.permanent_delete"))]
    pub async fn permanent_delete(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        project: ProjectId,
    ) -> Result<String, ProjectsError> {
        let (project, _, access) = self.load(caller, project).await?;
        if !access.may_manage() {
            return Err(ProjectsError::NotOwner);
        }
        project.may_be_purged().map_err(transition_error)?;
        let set = ChangeSet::new()
            .with(Change::DeleteProjectPermanently {
                project: project.id,
            })
            .audit(
                AuditEvent::new(AuditEventKind::ProjectPurged, Some(caller.id)).project(project.id),
            );
        self.apply_status_set(set).await?;
        tracing::info!(user.gid = %caller.id, project.gid = %project.id, "project permanently deleted");
        Ok(self.sessions.token(caller, auth_time)?)
    }

    /// `projects/transfer`: owner only, recent auth; then the domain's
    /// transfer (a deleted project → `ProjectDeleted`, anyone but an active
    /// member → `NotAMember`); one change set: the new owner under the cap
    /// (counted under their lock), the transfer under the project's lock,
    /// and a notice to each of the two. Answers as `projects/get`.
    #[tracing::instrument(skip_all, fields(route = "unicat.projects.transfer"))]
    pub async fn transfer(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        input: TransferInput,
    ) -> Result<ProjectShown, ProjectsError> {
        let (project, rows, access) = self.load(caller, input.project).await?;
        if !access.may_manage() {
            return Err(ProjectsError::NotOwner);
        }
        let auth_time = self
            .sessions
            .ensure_recent(caller, auth_time, input.current_password.as_ref())
            .await?;
        accountd_domain::transfer(&project, &rows, input.user).map_err(transition_error)?;
        let Some(new_owner) = self
            .ports
            .users
            .get(input.user)
            .await
            .map_err(Failure::from)?
            .filter(User::is_active)
        else {
            return Err(ProjectsError::NotAMember);
        };
        let mut mails = Vec::new();
        if let Some(to) = new_owner.emails.first() {
            mails.push(crate::mail::project_transferred(
                &new_owner,
                to,
                &project.name,
                caller.username_str(),
                true,
            ));
        }
        if let Some(to) = caller.emails.first() {
            mails.push(crate::mail::project_transferred(
                caller,
                to,
                &project.name,
                new_owner.username_str(),
                false,
            ));
        }
        let set = ChangeSet::new()
            .with(Change::OwnsFewerThan {
                user: new_owner.id,
                max: self.settings.projects_per_user,
            })
            .with(Change::TransferProject {
                project: project.id,
                from: caller.id,
                to: new_owner.id,
            })
            .mail(mails)
            .audit(
                AuditEvent::new(AuditEventKind::ProjectTransferred, Some(caller.id))
                    .project(project.id)
                    .other_user("to", new_owner.id),
            );
        match self.ports.apply(set, self.ports.clock.now()).await? {
            Ok(()) => {}
            Err(Conflict::TooManyProjects) => return Err(ProjectsError::TooManyProjects),
            Err(Conflict::MembershipChanged) => return Err(ProjectsError::NotAMember),
            // Deleted, or given away by a parallel transfer, meanwhile.
            Err(Conflict::ProjectChanged) => {
                let (now, _, access) = self.load(caller, project.id).await?;
                return Err(if !access.may_manage() {
                    ProjectsError::NotOwner
                } else if now.status == ProjectStatus::Deleted {
                    ProjectsError::ProjectDeleted
                } else {
                    unexpected_conflict(Conflict::ProjectChanged).into()
                });
            }
            Err(
                c @ (Conflict::ChallengeNotOpen
                | Conflict::UsernameTaken
                | Conflict::UserChanged
                | Conflict::OwnsProjects
                | Conflict::RevertSpent
                | Conflict::AddressTaken
                | Conflict::TooManyPendingInvites
                | Conflict::Limited { .. }),
            ) => return Err(unexpected_conflict(c).into()),
        }
        tracing::info!(
            user.gid = %caller.id,
            project.gid = %project.id,
            to.gid = %new_owner.id,
            "project transferred"
        );
        let (project, rows, access) = self.load(caller, project.id).await?;
        self.shown(caller, auth_time, project, &rows, access).await
    }

    /// Delete or undelete: the transition decides, one guarded change.
    async fn set_status(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        project: ProjectId,
        transition: fn(&Project) -> Result<Project, ProjectError>,
    ) -> Result<ProjectShown, ProjectsError> {
        let (project, _, access) = self.load(caller, project).await?;
        if !access.may_manage() {
            return Err(ProjectsError::NotOwner);
        }
        let next = transition(&project).map_err(transition_error)?;
        let kind = match next.status {
            ProjectStatus::Deleted => AuditEventKind::ProjectDeleted,
            ProjectStatus::Active => AuditEventKind::ProjectRestored,
        };
        let set = ChangeSet::new()
            .with(Change::SetProjectStatus {
                project: project.id,
                expected: project.status,
                status: next.status,
            })
            .audit(AuditEvent::new(kind, Some(caller.id)).project(project.id));
        self.apply_status_set(set).await?;
        tracing::info!(
            user.gid = %caller.id,
            project.gid = %project.id,
            status = %next.status,
            "project status set"
        );
        Ok(ProjectShown {
            project: next,
            access,
            rows: Vec::new(),
            users: Vec::new(),
            token: self.sessions.token(caller, auth_time)?,
        })
    }

    /// Applies a status or purge set; a parallel call that won answers
    /// as if it had come first.
    async fn apply_status_set(&self, set: ChangeSet) -> Result<(), ProjectsError> {
        let before = match set.changes() {
            [Change::SetProjectStatus { expected, .. }] => *expected,
            _ => ProjectStatus::Deleted,
        };
        match self.ports.apply(set, self.ports.clock.now()).await? {
            Ok(()) => Ok(()),
            // The status moved meanwhile (or the project was purged).
            Err(Conflict::ProjectChanged) => Err(match before {
                ProjectStatus::Active => ProjectsError::ProjectDeleted,
                ProjectStatus::Deleted => ProjectsError::ProjectNotDeleted,
            }),
            Err(
                c @ (Conflict::ChallengeNotOpen
                | Conflict::UsernameTaken
                | Conflict::UserChanged
                | Conflict::MembershipChanged
                | Conflict::OwnsProjects
                | Conflict::RevertSpent
                | Conflict::TooManyProjects
                | Conflict::AddressTaken
                | Conflict::TooManyPendingInvites
                | Conflict::Limited { .. }),
            ) => Err(unexpected_conflict(c).into()),
        }
    }

    /// The project, its rows and the caller's access; `NotVisible` when
    /// it is unknown or hidden from the caller.
    async fn load(
        &self,
        caller: &User,
        project: ProjectId,
    ) -> Result<(Project, Vec<Membership>, ProjectAccess), ProjectsError> {
        StoredProject::visible_to(self.projects.as_ref(), project, caller.id)
            .await?
            .ok_or(ProjectsError::NotVisible)
    }

    /// The answer of get and update: the visible rows, redacted, with their
    /// users (the caller in the complete form).
    async fn shown(
        &self,
        caller: &User,
        auth_time: Option<Timestamp>,
        project: Project,
        rows: &[Membership],
        access: ProjectAccess,
    ) -> Result<ProjectShown, ProjectsError> {
        let Some(own) = rows.iter().find(|r| r.user == caller.id) else {
            return Err(ProjectsError::NotVisible);
        };
        let seen: Vec<Membership> = rows
            .iter()
            .filter(|r| may_see_row(&project, own, r))
            .cloned()
            .collect();
        // Every other user of those rows in one batch, not one load each.
        let others: Vec<accountd_domain::UserId> = seen
            .iter()
            .map(|r| r.user)
            .filter(|id| *id != caller.id)
            .collect();
        let mut loaded: std::collections::HashMap<accountd_domain::UserId, User> =
            if others.is_empty() {
                std::collections::HashMap::new()
            } else {
                self.ports
                    .users
                    .get_many(&others)
                    .await
                    .map_err(Failure::from)?
                    .into_iter()
                    .map(|u| (u.id, u))
                    .collect()
            };
        let mut visible = Vec::new();
        let mut users = Vec::new();
        for mut row in seen {
            if !may_see_notification_email(&project, caller.id, &row) {
                row.notifications.email = None;
            }
            let user = if row.user == caller.id {
                UserInProject {
                    user: caller.clone(),
                    complete: true,
                }
            } else {
                match loaded.remove(&row.user) {
                    Some(user) => UserInProject {
                        user,
                        complete: false,
                    },
                    // A row always has its user (a foreign key); skip it
                    // rather than fail if one vanished meanwhile.
                    None => continue,
                }
            };
            users.push(user);
            visible.push(row);
        }
        Ok(ProjectShown {
            project,
            access,
            rows: visible,
            users,
            token: self.sessions.token(caller, auth_time)?,
        })
    }

    /// `name`, then `options`: the first refusal is the answer.
    fn checked(&self, input: &ProjectInput) -> Result<Checked, ProjectsError> {
        let name =
            match &input.name {
                None => None,
                Some(text) => Some(ProjectName::parse(text).map_err(|e| {
                    invalid("name", Reason::NameInvalid, format!("Not a name: {e}."))
                })?),
            };
        let mut checked = Checked {
            name,
            ..Checked::default()
        };
        for (key, value) in input.options.iter().flatten() {
            match (key.as_str(), value) {
                ("timezone", OptionValue::Text(tz)) => {
                    let zone = TimeZone::parse(tz).ok_or_else(|| {
                        options_invalid("options.timezone is not an IANA time zone name.")
                    })?;
                    checked.timezone = Some(zone.as_str().to_owned());
                }
                ("timezone", _) => {
                    return Err(options_invalid(
                        "options.timezone must be an IANA time zone name.",
                    ))
                }
                ("languages", OptionValue::Texts(codes))
                    if !codes.is_empty()
                        && codes.iter().all(|c| self.settings.languages.contains(c)) =>
                {
                    let mut unique: Vec<String> = Vec::with_capacity(codes.len());
                    for code in codes {
                        if !unique.contains(code) {
                            unique.push(code.clone());
                        }
                    }
                    checked.languages = Some(unique);
                }
                ("languages", _) => {
                    return Err(options_invalid(
                        "options.languages must be a non-empty list of supported language codes.",
                    ))
                }
                (other, _) => {
                    return Err(options_invalid(format!(
                        "options.{other} is not a project option."
                    )))
                }
            }
        }
        Ok(checked)
    }
}

fn transition_error(e: ProjectError) -> ProjectsError {
    match e {
        ProjectError::Deleted => ProjectsError::ProjectDeleted,
        ProjectError::NotDeleted => ProjectsError::ProjectNotDeleted,
        ProjectError::NotAMember => ProjectsError::NotAMember,
    }
}

fn options_invalid(detail: impl Into<String>) -> ProjectsError {
    invalid("options", Reason::OptionsInvalid, detail)
}

#[cfg(test)]
#[path = "projects_tests.rs"]
mod tests;
