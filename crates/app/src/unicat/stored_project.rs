//! The one read every project, member and invitation call starts with: the
//! project and every membership row of it, as stored. Who may see it is
//! then the domain's [`project_access`]; each service answers "not there"
//! in its own words.

use crate::Failure;
use accountd_domain::{project_access, Membership, Project, ProjectAccess, ProjectId, UserId};
use accountd_ports::ProjectRepository;

/// A project with its rows (any status, sorted by user gid).
#[derive(Debug, Clone)]
pub(crate) struct StoredProject {
    pub(crate) project: Project,
    pub(crate) rows: Vec<Membership>,
}

impl StoredProject {
    /// The project and its rows; `None` when there is no such project.
    pub(crate) async fn load(
        projects: &dyn ProjectRepository,
        id: ProjectId,
    ) -> Result<Option<Self>, Failure> {
        let Some(project) = projects.get(id).await? else {
            return Ok(None);
        };
        let rows = projects.rows_of(project.id).await?;
        Ok(Some(Self { project, rows }))
    }

    /// The project, its rows and what `user` may do with it; `None` when
    /// there is no such project or it is hidden from `user` (one answer
    /// for both, section 5).
    pub(crate) async fn visible_to(
        projects: &dyn ProjectRepository,
        id: ProjectId,
        user: UserId,
    ) -> Result<Option<(Project, Vec<Membership>, ProjectAccess)>, Failure> {
        Ok(Self::load(projects, id).await?.and_then(|stored| {
            let access = stored.access_of(user);
            access
                .may_see()
                .then_some((stored.project, stored.rows, access))
        }))
    }

    /// The row of `user`, if any.
    pub(crate) fn row_of(&self, user: UserId) -> Option<&Membership> {
        self.rows.iter().find(|r| r.user == user)
    }

    /// What `user` may do with the project, by their row.
    pub(crate) fn access_of(&self, user: UserId) -> ProjectAccess {
        project_access(&self.project, self.row_of(user))
    }
}
