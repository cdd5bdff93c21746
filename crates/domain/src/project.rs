//! Projects and memberships (Unicat section 3).

use crate::{Email, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The wire and storage name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Parses the wire and storage name.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// A project's status.
    ProjectStatus {
        /// In use.
        Active => "active",
        /// Soft-deleted (reversible).
        Deleted => "deleted",
    }
);

wire_enum!(
    /// A membership's status.
    MembershipStatus {
        /// A member.
        Active => "active",
        /// Invited, not yet accepted.
        Invited => "invited",
        /// The invitation was declined.
        Declined => "declined",
    }
);

wire_enum!(
    /// A member's role.
    Role {
        /// Owns the project.
        Owner => "owner",
        /// An ordinary member.
        Member => "member",
    }
);

/// A project's gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectId(uuid::Uuid);

impl ProjectId {
    /// Builds the id from 16 random bytes drawn by the caller.
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// Parses the hyphenated form.
    pub fn parse(text: &str) -> Option<Self> {
        uuid::Uuid::try_parse(text).ok().map(Self)
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The gid.
    pub id: ProjectId,
    /// The name (default `untitled project`).
    pub name: String,
    /// An icon reference, if any.
    pub icon: Option<String>,
    /// The owner.
    pub owner: UserId,
    /// Active or deleted.
    pub status: ProjectStatus,
    /// IANA time zone of the project.
    pub timezone: String,
    /// The project's content languages (ISO 639-1).
    pub languages: Vec<String>,
}

/// How a member is notified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notifications {
    /// Where notifications go.
    pub email: Option<Email>,
    /// Which events (`["all"]` by default).
    pub events: Vec<String>,
    /// `immediate` by default.
    pub frequency: String,
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            email: None,
            events: vec!["all".to_owned()],
            frequency: "immediate".to_owned(),
        }
    }
}

/// One user's membership in one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The project.
    pub project: ProjectId,
    /// The member.
    pub user: UserId,
    /// Active, invited or declined.
    pub status: MembershipStatus,
    /// Roles, e.g. `[Owner]`.
    pub roles: Vec<Role>,
    /// Notification settings.
    pub notifications: Notifications,
    /// Per-member API rate limit, if any.
    pub rate_limit_per_second: Option<u32>,
    /// The invitation of an `invited` or `declined` row; `None` for an
    /// active one.
    pub invitation: Option<crate::Invitation>,
}

/// One project as the session payload shows it: the project, the caller's
/// own membership row, and the owner's row when the owner is someone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectView {
    /// The project.
    pub project: Project,
    /// The caller's membership (active or invited).
    pub own: Membership,
    /// The owner's membership, when it is another user's.
    pub owner_row: Option<Membership>,
}

/// Whether the user of `viewer` (a membership row of `project`) may see
/// the row `other` of the same project (section 5, "Who sees what"): the
/// owner sees every row (active, invited, declined); an active member sees
/// the active rows and their own; an invited user sees their own row and
/// the owner's; a declined one only their own. A `deleted` project is
/// visible to its owner only.
pub fn may_see_row(project: &Project, viewer: &Membership, other: &Membership) -> bool {
    if viewer.project != project.id || other.project != project.id {
        return false;
    }
    let own = viewer.user == other.user;
    if viewer.user == project.owner {
        return true;
    }
    if project.status == ProjectStatus::Deleted {
        return false;
    }
    match viewer.status {
        MembershipStatus::Active => own || other.status == MembershipStatus::Active,
        MembershipStatus::Invited => own || other.user == project.owner,
        MembershipStatus::Declined => own,
    }
}

/// Longest project name, in characters after trimming.
pub const MAX_PROJECT_NAME_CHARS: usize = 200;

/// The name of a new project when none is given.
pub const DEFAULT_PROJECT_NAME: &str = "untitled project";

/// A project name: trimmed, 1 to [`MAX_PROJECT_NAME_CHARS`] characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

/// Why a project name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a project name has 1 to 200 characters after trimming and no control characters")]
pub struct ProjectNameError;

impl ProjectName {
    /// Checks and trims `text`.
    pub fn parse(text: &str) -> Result<Self, ProjectNameError> {
        let name = text.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_PROJECT_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(ProjectNameError);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a project transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    /// The project is deleted, and the transition needs an active one.
    #[error("the project is deleted")]
    Deleted,
    /// The project is active, and the transition needs a deleted one.
    #[error("the project is not deleted")]
    NotDeleted,
    /// The user to transfer to is not an active member (the owner
    /// included: a transfer to oneself).
    #[error("not an active member")]
    NotAMember,
}

/// What a transfer writes: the project with its new owner, the old
/// owner's row demoted to `["member"]` and the new owner's promoted to
/// `["owner"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The project, owned by the new owner.
    pub project: Project,
    /// The old owner's row, now an active member.
    pub from: Membership,
    /// The new owner's row.
    pub to: Membership,
}

/// `transfer`: an active project to `to`, an active member of it other
/// than the owner. A deleted project → [`ProjectError::Deleted`] (it wins:
/// a deleted project's members are hidden); anyone else →
/// [`ProjectError::NotAMember`].
pub fn transfer(
    project: &Project,
    rows: &[Membership],
    to: UserId,
) -> Result<Transfer, ProjectError> {
    if project.status == ProjectStatus::Deleted {
        return Err(ProjectError::Deleted);
    }
    let find = |user: UserId| {
        rows.iter()
            .find(|r| r.project == project.id && r.user == user)
    };
    let new_owner = find(to)
        .filter(|r| r.user != project.owner && r.status == MembershipStatus::Active)
        .ok_or(ProjectError::NotAMember)?;
    let old_owner = find(project.owner).ok_or(ProjectError::NotAMember)?;
    Ok(Transfer {
        project: Project {
            owner: to,
            ..project.clone()
        },
        from: Membership {
            roles: vec![Role::Member],
            ..old_owner.clone()
        },
        to: Membership {
            roles: vec![Role::Owner],
            ..new_owner.clone()
        },
    })
}

impl Project {
    /// The project with the given parts replaced (`None`: kept); only an
    /// active project can be updated.
    pub fn updated(
        &self,
        name: Option<&ProjectName>,
        timezone: Option<&str>,
        languages: Option<&[String]>,
    ) -> Result<Self, ProjectError> {
        if self.status == ProjectStatus::Deleted {
            return Err(ProjectError::Deleted);
        }
        Ok(Self {
            name: name.map_or_else(|| self.name.clone(), |n| n.as_str().to_owned()),
            timezone: timezone.map_or_else(|| self.timezone.clone(), ToOwned::to_owned),
            languages: languages.map_or_else(|| self.languages.clone(), <[String]>::to_vec),
            ..self.clone()
        })
    }
}

impl Project {
    /// `delete`: active → deleted (members lose access; the adapter stamps
    /// when, for retention); already deleted → [`ProjectError::Deleted`].
    pub fn deleted(&self) -> Result<Self, ProjectError> {
        match self.status {
            ProjectStatus::Active => Ok(Self {
                status: ProjectStatus::Deleted,
                ..self.clone()
            }),
            ProjectStatus::Deleted => Err(ProjectError::Deleted),
        }
    }

    /// `undelete`: deleted → active; active → [`ProjectError::NotDeleted`].
    pub fn undeleted(&self) -> Result<Self, ProjectError> {
        match self.status {
            ProjectStatus::Deleted => Ok(Self {
                status: ProjectStatus::Active,
                ..self.clone()
            }),
            ProjectStatus::Active => Err(ProjectError::NotDeleted),
        }
    }

    /// `permanent_delete` is allowed only for a deleted project, else
    /// [`ProjectError::NotDeleted`].
    pub fn may_be_purged(&self) -> Result<(), ProjectError> {
        match self.status {
            ProjectStatus::Deleted => Ok(()),
            ProjectStatus::Active => Err(ProjectError::NotDeleted),
        }
    }
}

/// What a user may do with a project, by their own membership row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProjectAccess {
    /// Nothing: no row, a declined row, or a deleted project of someone
    /// else. Answered exactly as an unknown project.
    Hidden,
    /// Invited: sees the project, their own row and the owner's.
    Invited,
    /// An active member: sees the project and the active rows.
    Member,
    /// The owner: sees every row and may manage the project (update,
    /// delete, undelete, permanently delete, transfer), deleted or not.
    Owner,
}

impl ProjectAccess {
    /// Whether the project itself may be shown.
    pub fn may_see(self) -> bool {
        self != Self::Hidden
    }

    /// Whether the owner-only routes are open.
    pub fn may_manage(self) -> bool {
        self == Self::Owner
    }
}

/// What the user whose membership row is `own` (`None`: no row) may do with
/// `project` (section 5, "Who sees what"): the one rule behind every
/// project route; the rows themselves are filtered by [`may_see_row`].
pub fn project_access(project: &Project, own: Option<&Membership>) -> ProjectAccess {
    let Some(own) = own.filter(|m| m.project == project.id) else {
        return ProjectAccess::Hidden;
    };
    if own.user == project.owner {
        return ProjectAccess::Owner;
    }
    if project.status == ProjectStatus::Deleted {
        return ProjectAccess::Hidden;
    }
    match own.status {
        MembershipStatus::Active => ProjectAccess::Member,
        MembershipStatus::Invited => ProjectAccess::Invited,
        MembershipStatus::Declined => ProjectAccess::Hidden,
    }
}

/// Whether `viewer` may see the notification address of `row`: the row's
/// own user and the project owner may; anyone else sees `null`.
pub fn may_see_notification_email(project: &Project, viewer: UserId, row: &Membership) -> bool {
    viewer == row.user || viewer == project.owner
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(status: ProjectStatus) -> Project {
        Project {
            id: ProjectId::from_random_bytes([1; 16]),
            name: "p".to_owned(),
            icon: None,
            owner: UserId::from_random_bytes([10; 16]),
            status,
            timezone: "UTC".to_owned(),
            languages: vec!["en".to_owned()],
        }
    }

    fn row(user: u8, status: MembershipStatus) -> Membership {
        Membership {
            project: ProjectId::from_random_bytes([1; 16]),
            user: UserId::from_random_bytes([user; 16]),
            status,
            roles: vec![if user == 10 {
                Role::Owner
            } else {
                Role::Member
            }],
            notifications: Notifications::default(),
            rate_limit_per_second: None,
            invitation: None,
        }
    }

    use MembershipStatus::{Active, Declined, Invited};

    #[test]
    fn the_owner_sees_every_row_of_the_project_deleted_or_not() {
        for status in [ProjectStatus::Active, ProjectStatus::Deleted] {
            let p = project(status);
            for other in [Active, Invited, Declined] {
                assert!(may_see_row(&p, &row(10, Active), &row(2, other)), "{other}");
            }
        }
    }

    #[test]
    fn an_active_member_sees_the_active_rows_and_their_own_only() {
        let p = project(ProjectStatus::Active);
        let me = row(2, Active);
        assert!(may_see_row(&p, &me, &row(10, Active)));
        assert!(may_see_row(&p, &me, &row(3, Active)));
        assert!(may_see_row(&p, &me, &me));
        assert!(!may_see_row(&p, &me, &row(3, Invited)));
        assert!(!may_see_row(&p, &me, &row(3, Declined)));
    }

    #[test]
    fn an_invited_user_sees_the_owner_row_and_their_own_only() {
        let p = project(ProjectStatus::Active);
        let me = row(2, Invited);
        assert!(may_see_row(&p, &me, &row(10, Active)));
        assert!(may_see_row(&p, &me, &me));
        assert!(!may_see_row(&p, &me, &row(3, Active)));
        assert!(!may_see_row(&p, &me, &row(3, Invited)));
    }

    #[test]
    fn a_declined_user_sees_no_other_row() {
        let p = project(ProjectStatus::Active);
        let me = row(2, Declined);
        assert!(!may_see_row(&p, &me, &row(10, Active)));
        assert!(!may_see_row(&p, &me, &row(3, Active)));
        assert!(may_see_row(&p, &me, &me));
    }

    #[test]
    fn a_deleted_project_shows_nothing_to_anyone_but_its_owner() {
        let p = project(ProjectStatus::Deleted);
        for me in [row(2, Active), row(2, Invited), row(2, Declined)] {
            assert!(!may_see_row(&p, &me, &row(10, Active)));
            assert!(!may_see_row(&p, &me, &row(3, Active)));
        }
    }

    #[test]
    fn rows_of_another_project_are_never_visible() {
        let p = project(ProjectStatus::Active);
        let elsewhere = Membership {
            project: ProjectId::from_random_bytes([9; 16]),
            ..row(3, Active)
        };
        assert!(!may_see_row(&p, &row(10, Active), &elsewhere));
        assert!(!may_see_row(&p, &elsewhere, &row(10, Active)));
    }

    #[test]
    fn statuses_and_roles_round_trip_through_their_wire_names() {
        for s in [ProjectStatus::Active, ProjectStatus::Deleted] {
            assert_eq!(ProjectStatus::parse(s.as_str()), Some(s));
        }
        for s in [
            MembershipStatus::Active,
            MembershipStatus::Invited,
            MembershipStatus::Declined,
        ] {
            assert_eq!(MembershipStatus::parse(s.as_str()), Some(s));
        }
        for r in [Role::Owner, Role::Member] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Owner"), None);
    }

    #[test]
    fn default_notifications_are_all_events_immediately() {
        let n = Notifications::default();
        assert_eq!(n.events, vec!["all"]);
        assert_eq!(n.frequency, "immediate");
    }

    #[test]
    fn project_access_is_one_table_of_row_status_and_project_status() {
        use ProjectAccess::{Hidden, Invited as Inv, Member, Owner};
        let table = [
            (ProjectStatus::Active, Some(row(10, Active)), Owner),
            (ProjectStatus::Deleted, Some(row(10, Active)), Owner),
            (ProjectStatus::Active, Some(row(2, Active)), Member),
            (ProjectStatus::Active, Some(row(2, Invited)), Inv),
            (ProjectStatus::Active, Some(row(2, Declined)), Hidden),
            (ProjectStatus::Deleted, Some(row(2, Active)), Hidden),
            (ProjectStatus::Deleted, Some(row(2, Invited)), Hidden),
            (ProjectStatus::Deleted, Some(row(2, Declined)), Hidden),
            (ProjectStatus::Active, None, Hidden),
            (ProjectStatus::Deleted, None, Hidden),
        ];
        for (status, own, expected) in table {
            let p = project(status);
            let access = project_access(&p, own.as_ref());
            assert_eq!(access, expected, "{status} {own:?}");
            assert_eq!(access.may_see(), expected != Hidden);
            assert_eq!(access.may_manage(), expected == Owner);
        }
    }

    #[test]
    fn a_row_of_another_project_gives_no_access() {
        let p = project(ProjectStatus::Active);
        let elsewhere = Membership {
            project: ProjectId::from_random_bytes([9; 16]),
            ..row(10, Active)
        };
        assert_eq!(project_access(&p, Some(&elsewhere)), ProjectAccess::Hidden);
    }

    #[test]
    fn the_notification_address_shows_to_the_row_user_and_the_owner_only() {
        let p = project(ProjectStatus::Active);
        let member_row = row(2, Active);
        assert!(may_see_notification_email(
            &p,
            UserId::from_random_bytes([2; 16]),
            &member_row
        ));
        assert!(may_see_notification_email(&p, p.owner, &member_row));
        assert!(!may_see_notification_email(
            &p,
            UserId::from_random_bytes([3; 16]),
            &member_row
        ));
    }

    #[test]
    fn a_project_name_is_trimmed_and_has_1_to_200_characters_without_controls() {
        assert_eq!(
            ProjectName::parse("  Atlas ").map(|n| n.as_str().to_owned()),
            Ok("Atlas".to_owned())
        );
        assert_eq!(
            ProjectName::parse(&"é".repeat(200)).map(|n| n.as_str().chars().count()),
            Ok(200)
        );
        assert_eq!(ProjectName::parse(&"é".repeat(201)), Err(ProjectNameError));
        assert_eq!(ProjectName::parse("   "), Err(ProjectNameError));
        assert_eq!(ProjectName::parse(""), Err(ProjectNameError));
        assert_eq!(ProjectName::parse("a\u{7}b"), Err(ProjectNameError));
        assert_eq!(ProjectName::parse("a\nb"), Err(ProjectNameError));
    }

    #[test]
    fn an_update_replaces_only_the_given_parts_of_an_active_project() {
        let p = project(ProjectStatus::Active);
        let name = ProjectName::parse("Atlas").unwrap();
        let langs = vec!["nl".to_owned(), "de".to_owned()];
        let u = p.updated(Some(&name), None, Some(&langs)).unwrap();
        assert_eq!((u.name.as_str(), u.timezone.as_str()), ("Atlas", "UTC"));
        assert_eq!(u.languages, langs);
        assert_eq!((u.id, u.owner, u.status), (p.id, p.owner, p.status));
        let u = p.updated(None, Some("Europe/Berlin"), None).unwrap();
        assert_eq!(
            (u.name.as_str(), u.timezone.as_str()),
            ("p", "Europe/Berlin")
        );
        assert_eq!(u.languages, p.languages);
    }

    #[test]
    fn a_deleted_project_cannot_be_updated() {
        let p = project(ProjectStatus::Deleted);
        assert_eq!(
            p.updated(None, Some("UTC"), None),
            Err(ProjectError::Deleted)
        );
    }

    #[test]
    fn delete_undelete_and_purge_move_between_active_and_deleted_only() {
        let active = project(ProjectStatus::Active);
        let deleted = project(ProjectStatus::Deleted);
        assert_eq!(active.deleted(), Ok(deleted.clone()));
        assert_eq!(deleted.deleted(), Err(ProjectError::Deleted));
        assert_eq!(deleted.undeleted(), Ok(active.clone()));
        assert_eq!(active.undeleted(), Err(ProjectError::NotDeleted));
        assert_eq!(deleted.may_be_purged(), Ok(()));
        assert_eq!(active.may_be_purged(), Err(ProjectError::NotDeleted));
    }

    #[test]
    fn a_transfer_goes_to_an_active_member_other_than_the_owner_only() {
        let p = project(ProjectStatus::Active);
        let rows = vec![
            row(10, Active),
            row(2, Active),
            row(3, Invited),
            row(4, Declined),
        ];
        let t = transfer(&p, &rows, UserId::from_random_bytes([2; 16])).unwrap();
        assert_eq!(t.project.owner, UserId::from_random_bytes([2; 16]));
        assert_eq!(t.from.user, p.owner);
        assert_eq!(
            (t.from.roles.as_slice(), t.from.status),
            (&[Role::Member][..], Active)
        );
        assert_eq!(
            (t.to.roles.as_slice(), t.to.status),
            (&[Role::Owner][..], Active)
        );
        for to in [10, 3, 4, 9] {
            assert_eq!(
                transfer(&p, &rows, UserId::from_random_bytes([to; 16])),
                Err(ProjectError::NotAMember),
                "{to}"
            );
        }
        let gone = project(ProjectStatus::Deleted);
        assert_eq!(
            transfer(&gone, &rows, UserId::from_random_bytes([2; 16])),
            Err(ProjectError::Deleted)
        );
    }
}
