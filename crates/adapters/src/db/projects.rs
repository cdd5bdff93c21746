//! Projects and memberships.

use super::conn::{upsert_membership, write_tx, DbConn};
use super::rows::{MembershipRow, ProjectRow};
use super::schema::{memberships, projects};
use super::{Database, DbError};
use accountd_domain::{Membership, MembershipStatus, Project, ProjectView, UserId};
use accountd_ports::{ProjectRepository, StoreError};
use async_trait::async_trait;
use diesel::prelude::*;

#[async_trait]
impl ProjectRepository for Database {
    async fn create(&self, project: Project, owner: Membership) -> Result<(), StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.run(move |c| write_tx(c, |c| insert(c, &project, &owner, now)))
            .await
    }

    async fn save_membership(&self, membership: Membership) -> Result<(), StoreError> {
        self.run(move |c| {
            let row = MembershipRow::from_membership(&membership)?;
            upsert_membership(c, &row)
        })
        .await
    }

    async fn views_for(&self, user: UserId) -> Result<Vec<ProjectView>, StoreError> {
        let id = user.to_string();
        self.run(move |c| views_for(c, &id)).await
    }
}

/// Inserts a project and its owner's membership (inside the caller's
/// transaction).
pub(crate) fn insert(
    conn: &mut DbConn,
    project: &Project,
    owner: &Membership,
    now: i64,
) -> Result<(), DbError> {
    let row = ProjectRow::from_project(project, now)?;
    let member = MembershipRow::from_membership(owner)?;
    diesel::insert_into(projects::table)
        .values(&row)
        .execute(conn)?;
    diesel::insert_into(memberships::table)
        .values(&member)
        .execute(conn)?;
    Ok(())
}

/// Every project the user is an active or invited member of, with the
/// user's row and the owner's, by project name then gid.
pub(crate) fn views_for(conn: &mut DbConn, user_id: &str) -> Result<Vec<ProjectView>, DbError> {
    let own: Vec<(MembershipRow, ProjectRow)> = memberships::table
        .inner_join(projects::table)
        .filter(memberships::user_id.eq(user_id))
        // Active or invited. Not `eq_any`: diesel cannot cache a statement
        // with an IN list, and this runs on every init.
        .filter(memberships::status.ne(MembershipStatus::Declined.as_str()))
        .order((projects::name.asc(), projects::id.asc()))
        .select((MembershipRow::as_select(), ProjectRow::as_select()))
        .load(conn)?;
    let mut views = Vec::with_capacity(own.len());
    for (member, project) in own {
        let owner_row = if project.owner_id == user_id {
            None
        } else {
            memberships::table
                .find((&project.id, &project.owner_id))
                .select(MembershipRow::as_select())
                .first(conn)
                .optional()?
                .map(MembershipRow::into_membership)
                .transpose()?
        };
        views.push(ProjectView {
            project: project.into_project()?,
            own: member.into_membership()?,
            owner_row,
        });
    }
    Ok(views)
}
