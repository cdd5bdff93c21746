//! Projects and memberships.

use super::conn::{columns, load, DbConn};
use super::rows::{MembershipRow, ProjectRow};
use super::schema::{memberships, projects};
use super::{Database, DbError};
use accountd_domain::{
    Membership, MembershipStatus, Project, ProjectId, ProjectStatus, ProjectView, Role, UserId,
};
use accountd_ports::{ProjectRepository, StoreError};
use async_trait::async_trait;
use diesel::prelude::*;

#[async_trait]
impl ProjectRepository for Database {
    async fn views_for(&self, user: UserId) -> Result<Vec<ProjectView>, StoreError> {
        let id = user.to_string();
        self.run(move |c| views_for(c, &id)).await
    }

    async fn owned_by(&self, user: UserId) -> Result<Vec<ProjectId>, StoreError> {
        let id = user.to_string();
        self.run(move |c| owned_by(c, &id)).await
    }

    async fn shared_rows(
        &self,
        viewer: UserId,
        other: UserId,
    ) -> Result<Vec<(Project, Membership, Membership)>, StoreError> {
        let (viewer, other) = (viewer.to_string(), other.to_string());
        self.run(move |c| shared_rows(c, &viewer, &other)).await
    }

    async fn get(&self, project: ProjectId) -> Result<Option<Project>, StoreError> {
        let id = project.to_string();
        self.run(move |c| get(c, &id)).await
    }

    async fn rows_of(&self, project: ProjectId) -> Result<Vec<Membership>, StoreError> {
        let id = project.to_string();
        self.run(move |c| rows_of(c, &id)).await
    }
}

/// The project, if stored.
pub(crate) fn get(conn: &mut DbConn, project_id: &str) -> Result<Option<Project>, DbError> {
    load(
        conn,
        projects::table
            .find(project_id)
            .select(columns::<ProjectRow>()),
    )?
    .pop()
    .map(ProjectRow::into_project)
    .transpose()
}

/// Every membership row of the project, in any status, by user gid.
pub(crate) fn rows_of(conn: &mut DbConn, project_id: &str) -> Result<Vec<Membership>, DbError> {
    let rows: Vec<MembershipRow> = load(
        conn,
        memberships::table
            .filter(memberships::project_id.eq(project_id))
            .order(memberships::user_id.asc())
            .select(columns::<MembershipRow>()),
    )?;
    rows.into_iter()
        .map(MembershipRow::into_membership)
        .collect()
}

/// How many projects `user_id` owns, in any status.
pub(crate) fn count_owned(conn: &mut DbConn, user_id: &str) -> Result<i64, DbError> {
    Ok(projects::table
        .filter(projects::owner_id.eq(user_id))
        .count()
        .get_result(conn)?)
}

/// Sets the status of the project while it is `expected`, stamping
/// `deleted_at` (`now` when deleted, NULL when active); whether it did.
pub(crate) fn set_status(
    conn: &mut DbConn,
    project_id: &str,
    expected: ProjectStatus,
    status: ProjectStatus,
    now: i64,
) -> Result<bool, DbError> {
    let deleted_at = (status == ProjectStatus::Deleted).then_some(now);
    let updated = diesel::update(
        projects::table
            .filter(projects::id.eq(project_id))
            .filter(projects::status.eq(expected.as_str())),
    )
    .set((
        projects::status.eq(status.as_str()),
        projects::deleted_at.eq(deleted_at),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Removes a deleted project (deleted at or before `cutoff`, when given),
/// its memberships, and the placeholders among its members left with no
/// membership; whether the project was there and deleted (else nothing
/// changes). The project row goes first, under its status guard (on
/// PostgreSQL the delete waits for, then re-checks, a parallel undelete),
/// after the placeholders' rows are locked and before any membership row
/// is touched.
pub(crate) fn purge(
    conn: &mut DbConn,
    project_id: &str,
    cutoff: Option<i64>,
) -> Result<bool, DbError> {
    let mut members: Vec<String> = load(
        conn,
        memberships::table
            .filter(memberships::project_id.eq(project_id))
            .select(memberships::user_id),
    )?;
    members.sort_unstable();
    let mut placeholders = Vec::new();
    for user in &members {
        if super::conn::lock_placeholder_row(conn, user)? {
            placeholders.push(user);
        }
    }
    let target = projects::table
        .filter(projects::id.eq(project_id))
        .filter(projects::status.eq(ProjectStatus::Deleted.as_str()));
    let deleted = match cutoff {
        Some(cutoff) => {
            diesel::delete(target.filter(projects::deleted_at.le(cutoff))).execute(conn)?
        }
        None => diesel::delete(target).execute(conn)?,
    };
    if deleted != 1 {
        // Undeleted (or deleted again, later) meanwhile: nothing changes.
        return Ok(false);
    }
    diesel::delete(memberships::table.filter(memberships::project_id.eq(project_id)))
        .execute(conn)?;
    for user in placeholders {
        super::users::delete_placeholder_if_unused(conn, user)?;
    }
    Ok(true)
}

/// Purges every project deleted at or before `cutoff` (as [`purge`]
/// does); how many.
pub(crate) fn purge_deleted_before(
    conn: &mut DbConn,
    cutoff: i64,
) -> Result<Vec<(String, String)>, DbError> {
    let ids: Vec<(String, String)> = load(
        conn,
        projects::table
            .filter(projects::status.eq(ProjectStatus::Deleted.as_str()))
            .filter(projects::deleted_at.le(cutoff))
            .order(projects::id.asc())
            .select((projects::id, projects::owner_id)),
    )?;
    let mut purged = Vec::new();
    for (id, owner) in ids {
        if purge(conn, &id, Some(cutoff))? {
            purged.push((id, owner));
        }
    }
    Ok(purged)
}

/// How a transfer ended.
pub(crate) enum Transferred {
    Done,
    /// Not active, or no longer owned by `from`.
    ProjectChanged,
    /// `to` has no active row.
    NotAMember,
}

/// Makes `to` the owner: demotes `from`'s row first, then promotes `to`'s
/// (never two owner rows, which the unique index refuses), then sets the
/// project's owner. The caller holds the project's lock; a refusal rolls
/// the transaction back.
pub(crate) fn transfer(
    conn: &mut DbConn,
    project_id: &str,
    from: &str,
    to: &str,
) -> Result<Transferred, DbError> {
    let owned: i64 = projects::table
        .filter(projects::id.eq(project_id))
        .filter(projects::owner_id.eq(from))
        .filter(projects::status.eq(ProjectStatus::Active.as_str()))
        .count()
        .get_result(conn)?;
    if owned != 1 {
        return Ok(Transferred::ProjectChanged);
    }
    let member = super::rows::json(&[Role::Member.as_str()])?;
    let owner = super::rows::json(&[Role::Owner.as_str()])?;
    diesel::update(memberships::table.find((project_id, from)))
        .set(memberships::roles.eq(&member))
        .execute(conn)?;
    let promoted = diesel::update(
        memberships::table
            .find((project_id, to))
            .filter(memberships::status.eq(MembershipStatus::Active.as_str())),
    )
    .set(memberships::roles.eq(&owner))
    .execute(conn)?;
    if promoted != 1 {
        return Ok(Transferred::NotAMember);
    }
    diesel::update(projects::table.filter(projects::id.eq(project_id)))
        .set(projects::owner_id.eq(to))
        .execute(conn)?;
    Ok(Transferred::Done)
}

/// The project columns an update sets; a `None` column is left as stored
/// (diesel skips it).
#[derive(AsChangeset)]
#[diesel(table_name = projects)]
struct ProjectColumns<'a> {
    name: Option<&'a str>,
    timezone: Option<&'a str>,
    languages: Option<String>,
}

/// Sets the given columns of an active project; whether it is stored and
/// active (else nothing changes).
pub(crate) fn update(
    conn: &mut DbConn,
    project_id: &str,
    name: Option<&str>,
    timezone: Option<&str>,
    languages: Option<&[String]>,
) -> Result<bool, DbError> {
    let target = projects::table
        .filter(projects::id.eq(project_id))
        .filter(projects::status.eq(ProjectStatus::Active.as_str()));
    let columns = ProjectColumns {
        name,
        timezone,
        languages: languages.map(super::rows::json).transpose()?,
    };
    if columns.name.is_none() && columns.timezone.is_none() && columns.languages.is_none() {
        let found: i64 = target.count().get_result(conn)?;
        return Ok(found == 1);
    }
    let updated = diesel::update(target).set(&columns).execute(conn)?;
    Ok(updated == 1)
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

/// Writes the membership row while the stored one has status `expected`
/// (`None`: no row yet; a row meanwhile is a unique violation); whether it
/// did.
pub(crate) fn put_membership(
    conn: &mut DbConn,
    membership: &Membership,
    expected: Option<MembershipStatus>,
) -> Result<bool, DbError> {
    let row = MembershipRow::from_membership(membership)?;
    let Some(expected) = expected else {
        diesel::insert_into(memberships::table)
            .values(&row)
            .execute(conn)?;
        return Ok(true);
    };
    let updated = diesel::update(
        memberships::table
            .find((&row.project_id, &row.user_id))
            .filter(memberships::status.eq(expected.as_str())),
    )
    .set((
        memberships::status.eq(&row.status),
        memberships::roles.eq(&row.roles),
        memberships::notify_email.eq(&row.notify_email),
        memberships::notify_events.eq(&row.notify_events),
        memberships::notify_frequency.eq(&row.notify_frequency),
        memberships::rate_limit_per_second.eq(row.rate_limit_per_second),
        memberships::invited_by.eq(&row.invited_by),
        memberships::invited_at.eq(row.invited_at),
        memberships::invite_expires_at.eq(row.invite_expires_at),
        memberships::invite_token_mac.eq(&row.invite_token_mac),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// When the invitation of the row was sent: `None` without a row,
/// `Some(None)` for a row without an invitation.
pub(crate) fn invitation_sent_at(
    conn: &mut DbConn,
    project_id: &str,
    user_id: &str,
) -> Result<Option<Option<i64>>, DbError> {
    Ok(load(
        conn,
        memberships::table
            .find((project_id, user_id))
            .select(memberships::invited_at),
    )?
    .pop())
}

/// Whether the project is stored and active.
pub(crate) fn is_active(conn: &mut DbConn, project_id: &str) -> Result<bool, DbError> {
    let status: Option<String> = load(
        conn,
        projects::table.find(project_id).select(projects::status),
    )?
    .pop();
    Ok(status.as_deref() == Some(ProjectStatus::Active.as_str()))
}

/// How many rows of the project are `invited`, expired ones included.
pub(crate) fn count_invited(conn: &mut DbConn, project_id: &str) -> Result<i64, DbError> {
    Ok(memberships::table
        .filter(memberships::project_id.eq(project_id))
        .filter(memberships::status.eq(MembershipStatus::Invited.as_str()))
        .count()
        .get_result(conn)?)
}

/// Moves every `invited` row of `placeholder` unexpired at `now` to
/// `user`, notifying `notify` (the new account's primary address), inside
/// the caller's transaction, which holds the placeholder's row lock; how
/// many.
pub(crate) fn move_invitations(
    conn: &mut DbConn,
    placeholder: &str,
    user: &str,
    notify: &str,
    now: i64,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        memberships::table
            .filter(memberships::user_id.eq(placeholder))
            .filter(memberships::status.eq(MembershipStatus::Invited.as_str()))
            .filter(memberships::invite_expires_at.gt(now)),
    )
    .set((
        memberships::user_id.eq(user),
        memberships::notify_email.eq(notify),
    ))
    .execute(conn)?)
}

/// Clears the token MAC of every invitation expired at or before `cutoff`
/// (the rows stay); how many.
pub(crate) fn purge_invite_tokens(conn: &mut DbConn, cutoff: i64) -> Result<usize, DbError> {
    Ok(diesel::update(
        memberships::table
            .filter(memberships::invite_token_mac.is_not_null())
            .filter(memberships::invite_expires_at.le(cutoff)),
    )
    .set(memberships::invite_token_mac.eq(None::<Vec<u8>>))
    .execute(conn)?)
}

/// Deletes the membership row while it has status `expected`; whether it did.
/// What the one-owner index matches in `roles` (migration 000004).
const OWNER_ROLE_PATTERN: &str = "%\"owner\"%";

pub(crate) fn remove_membership(
    conn: &mut DbConn,
    project_id: &str,
    user_id: &str,
    expected: MembershipStatus,
) -> Result<bool, DbError> {
    let deleted = diesel::delete(
        memberships::table
            .find((project_id, user_id))
            .filter(memberships::status.eq(expected.as_str()))
            // Never the owner's row: a leave racing a transfer to the
            // leaver would otherwise leave the project without an owner.
            .filter(memberships::roles.not_like(OWNER_ROLE_PATTERN)),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// Every project the user is an active or invited member of, with the
/// user's row and the owner's, by project name then gid.
pub(crate) fn views_for(conn: &mut DbConn, user_id: &str) -> Result<Vec<ProjectView>, DbError> {
    let own: Vec<(MembershipRow, ProjectRow)> = load(
        conn,
        memberships::table
            .inner_join(projects::table)
            .filter(memberships::user_id.eq(user_id))
            // Active or invited. Not `eq_any`: diesel cannot cache a
            // statement with an IN list, and this runs on every init.
            .filter(memberships::status.ne(MembershipStatus::Declined.as_str()))
            .order((projects::name.asc(), projects::id.asc()))
            .select((columns::<MembershipRow>(), columns::<ProjectRow>())),
    )?;
    let mut views = Vec::with_capacity(own.len());
    for (member, project) in own {
        let owner_row = if project.owner_id == user_id {
            None
        } else {
            load(
                conn,
                memberships::table
                    .find((&project.id, &project.owner_id))
                    .select(columns::<MembershipRow>()),
            )?
            .pop()
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

/// The gid of every project `user_id` owns, in any status, sorted by gid
/// (the hyphenated lower-case text sorts as the UUID does).
pub(crate) fn owned_by(conn: &mut DbConn, user_id: &str) -> Result<Vec<ProjectId>, DbError> {
    let ids: Vec<String> = load(
        conn,
        projects::table
            .filter(projects::owner_id.eq(user_id))
            .order(projects::id.asc())
            .select(projects::id),
    )?;
    ids.iter()
        .map(|id| {
            ProjectId::parse(id).ok_or_else(|| DbError::Corrupt(format!("projects.id {id:?}")))
        })
        .collect()
}

/// Deletes every membership row of `user_id`, in any status (inside the
/// caller's transaction).
pub(crate) fn remove_memberships_of(conn: &mut DbConn, user_id: &str) -> Result<(), DbError> {
    diesel::delete(memberships::table.filter(memberships::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// Every project where both users have a row, with the viewer's row then
/// the other's, by project gid: one query reads the rows of both users in
/// the projects they share; they are paired here.
pub(crate) fn shared_rows(
    conn: &mut DbConn,
    viewer: &str,
    other: &str,
) -> Result<Vec<(Project, Membership, Membership)>, DbError> {
    let (of_viewer, of_other) =
        diesel::alias!(memberships as viewer_rows, memberships as other_rows);
    let viewer_projects = of_viewer
        .filter(of_viewer.field(memberships::user_id).eq(viewer))
        .select(of_viewer.field(memberships::project_id));
    let other_projects = of_other
        .filter(of_other.field(memberships::user_id).eq(other))
        .select(of_other.field(memberships::project_id));
    let rows: Vec<(MembershipRow, ProjectRow)> = memberships::table
        .inner_join(projects::table)
        .filter(
            memberships::user_id
                .eq(viewer)
                .or(memberships::user_id.eq(other)),
        )
        .filter(memberships::project_id.eq_any(viewer_projects))
        .filter(memberships::project_id.eq_any(other_projects))
        .order((projects::id.asc(), memberships::user_id.asc()))
        .select((columns::<MembershipRow>(), columns::<ProjectRow>()))
        .load(conn)?;
    let mut out: Vec<(Project, Membership, Membership)> = Vec::new();
    let mut pending: Option<(ProjectRow, Option<Membership>, Option<Membership>)> = None;
    for (member, project) in rows {
        if pending.as_ref().is_some_and(|(p, _, _)| p.id != project.id) {
            out.extend(pair(pending.take())?);
        }
        let entry = pending.get_or_insert((project, None, None));
        let is_viewer = member.user_id == viewer;
        let is_other = member.user_id == other;
        let m = member.into_membership()?;
        if is_viewer {
            entry.1 = Some(m.clone());
        }
        if is_other {
            entry.2 = Some(m);
        }
    }
    out.extend(pair(pending)?);
    Ok(out)
}

fn pair(
    entry: Option<(ProjectRow, Option<Membership>, Option<Membership>)>,
) -> Result<Option<(Project, Membership, Membership)>, DbError> {
    match entry {
        Some((project, Some(v), Some(o))) => Ok(Some((project.into_project()?, v, o))),
        _ => Ok(None),
    }
}
