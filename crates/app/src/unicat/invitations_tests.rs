//! Unit tests of the invitee's routes, with every port mocked: each branch
//! of accept, decline, leave, the public decline and `init_invite`, and the
//! lost races (decided again on what is stored then, bounded).

use super::*;
use crate::unicat::test_support::*;
use accountd_domain::{Invitation, Notifications, ProjectStatus, Role, UserStatus};
use accountd_ports::{Applied, MockProjectRepository};
use std::sync::Mutex;

const LINK_TOKEN: &str = "the-latest-token-of-the-decline-link";

fn project_id() -> ProjectId {
    ProjectId::from_random_bytes([42; 16])
}

fn owner() -> User {
    user(7, "Olga", UserStatus::Active, &["olga@example.com"])
}

fn project(status: ProjectStatus) -> Project {
    Project {
        id: project_id(),
        name: "Atlas".into(),
        icon: None,
        owner: owner().id,
        status,
        timezone: "UTC".into(),
        languages: vec!["en".into()],
    }
}

/// Sent by Olga at t(-100), expiring at t(100), with [`LINK_TOKEN`].
fn invitation() -> Invitation {
    Invitation::issue(&key(), LINK_TOKEN, owner().id, t(-100), 200)
}

fn row(user: &User, status: MembershipStatus) -> Membership {
    Membership {
        project: project_id(),
        user: user.id,
        status,
        roles: vec![if user.id == owner().id {
            Role::Owner
        } else {
            Role::Member
        }],
        notifications: Notifications {
            email: user.emails.first().cloned(),
            ..Notifications::default()
        },
        rate_limit_per_second: None,
        invitation: (status != MembershipStatus::Active).then(invitation),
    }
}

fn owner_row() -> Membership {
    row(&owner(), MembershipStatus::Active)
}

/// What the repository holds, one state per load (the last one repeats).
type Stored = (Option<Project>, Vec<Membership>);

fn repo(states: Vec<Stored>) -> MockProjectRepository {
    let mut p = MockProjectRepository::new();
    let states = Arc::new(states);
    let (gets, rows) = (Arc::new(Mutex::new(0)), Arc::new(Mutex::new(0)));
    let s = states.clone();
    p.expect_get()
        .withf(|id| *id == project_id())
        .returning(move |_| {
            let mut n = gets.lock().unwrap();
            let state = &s[(*n).min(s.len() - 1)];
            *n += 1;
            Ok(state.0.clone())
        });
    p.expect_rows_of()
        .withf(|id| *id == project_id())
        .returning(move |_| {
            let mut n = rows.lock().unwrap();
            let state = &states[(*n).min(states.len() - 1)];
            *n += 1;
            Ok(state.1.clone())
        });
    p
}

/// The project in `status` with Olga's row and Ann's in `ann`.
fn with_ann(status: ProjectStatus, ann_row: Option<Membership>) -> Stored {
    let mut rows = vec![owner_row()];
    rows.extend(ann_row);
    (Some(project(status)), rows)
}

fn service(mut m: Mocks, projects: MockProjectRepository) -> Invitations {
    m.projects.expect_views_for().never();
    let (ports, sessions) = m.build();
    Invitations::new(ports, sessions, Arc::new(projects), key())
}

fn token(mut m: Mocks) -> Mocks {
    let (id, version) = (ann().id, ann().credential_version);
    m.tokens
        .expect_issue()
        .withf(move |u, v, a, n| (*u, *v, *a, *n) == (id, version, Some(t(-60)), t(0)))
        .times(1)
        .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
    m
}

fn untouched(mut m: Mocks) -> Mocks {
    m.writes.expect_change_own_row().never();
    m.tokens.expect_issue().never();
    m
}

/// One write of exactly `want`, answering `outcome`.
fn writes(mut m: Mocks, want: Vec<Change>, outcome: Applied) -> Mocks {
    m.writes
        .expect_change_own_row()
        .withf(move |changes, now| changes == &want && *now == t(0))
        .times(1)
        .return_once(move |_, _| Ok(outcome));
    m
}

/// The own-row set: the project still active, the row still holding the
/// invitation read (every fixture row's is `invitation()`), then the row.
fn put(next: Membership, expected: MembershipStatus) -> Vec<Change> {
    vec![
        Change::ProjectIsActive(project_id()),
        Change::InvitationSentAt {
            project: project_id(),
            user: next.user,
            sent_at: Some(invitation().sent_at),
        },
        Change::PutMembership {
            membership: next,
            expected: Some(expected),
        },
    ]
}

fn accepted() -> Membership {
    Membership {
        status: MembershipStatus::Active,
        invitation: None,
        ..row(&ann(), MembershipStatus::Invited)
    }
}

fn declined() -> Membership {
    row(&ann(), MembershipStatus::Declined)
}

fn link(token: &str) -> InvitationLink {
    InvitationLink {
        invitee: ann().id,
        project: project_id(),
        token: token.into(),
    }
}

async fn accept(m: Mocks, states: Vec<Stored>) -> Result<RowAnswered, InvitationError> {
    service(m, repo(states))
        .accept(&ann(), Some(t(-60)), project_id())
        .await
}

// ------------------------------------------------------------------ accept

#[tokio::test]
async fn accept_makes_the_invited_row_active_under_the_project_guard_and_renews_the_token() {
    let m = writes(
        token(Mocks::new().at(t(0))),
        put(accepted(), MembershipStatus::Invited),
        Applied::Committed,
    );
    crate::test_writes::take_audited();
    let a = accept(
        m,
        vec![with_ann(
            ProjectStatus::Active,
            Some(row(&ann(), MembershipStatus::Invited)),
        )],
    )
    .await
    .unwrap();
    assert_eq!(
        crate::test_writes::take_audited(),
        [accountd_domain::AuditEvent::new(
            accountd_domain::AuditEventKind::InviteAccepted,
            Some(ann().id)
        )
        .project(project_id())],
        "in the set that accepts"
    );
    assert_eq!(a.row, accepted());
    assert_eq!(a.access, ProjectAccess::Member);
    assert_eq!(a.project, project(ProjectStatus::Active));
    assert_eq!(a.token.as_deref(), Some(TOKEN));
}

#[tokio::test]
async fn accept_without_a_row_an_active_row_or_an_unknown_project_is_no_row() {
    for state in [
        with_ann(ProjectStatus::Active, None),
        with_ann(
            ProjectStatus::Active,
            Some(row(&ann(), MembershipStatus::Active)),
        ),
        (None, Vec::new()),
        // A deleted project the caller has no row in says nothing about it.
        with_ann(ProjectStatus::Deleted, None),
    ] {
        let e = accept(untouched(Mocks::new().at(t(0))), vec![state.clone()])
            .await
            .unwrap_err();
        assert!(matches!(e, InvitationError::NoRow), "{state:?}: {e:?}");
    }
}

#[tokio::test]
async fn accept_of_a_declined_row_or_an_expired_invitation_is_a_1004_reason() {
    let e = accept(
        untouched(Mocks::new().at(t(0))),
        vec![with_ann(ProjectStatus::Active, Some(declined()))],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::InviteDeclined), "{e:?}");

    let e = accept(
        untouched(Mocks::new().at(t(100))),
        vec![with_ann(
            ProjectStatus::Active,
            Some(row(&ann(), MembershipStatus::Invited)),
        )],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::InviteExpired), "{e:?}");
}

#[tokio::test]
async fn on_a_deleted_project_the_422_wins_over_the_1004() {
    for own in [
        row(&ann(), MembershipStatus::Invited),
        declined(),
        row(&ann(), MembershipStatus::Active),
    ] {
        let e = accept(
            untouched(Mocks::new().at(t(100))),
            vec![with_ann(ProjectStatus::Deleted, Some(own))],
        )
        .await
        .unwrap_err();
        assert!(matches!(e, InvitationError::ProjectDeleted), "{e:?}");
    }
}

#[tokio::test]
async fn an_accept_that_lost_to_a_parallel_accept_or_remove_decides_again_on_what_is_stored() {
    let invited = with_ann(
        ProjectStatus::Active,
        Some(row(&ann(), MembershipStatus::Invited)),
    );
    for then in [
        // Another accept of the same row won: now active, no invitation.
        with_ann(ProjectStatus::Active, Some(accepted())),
        // A remove won: no row.
        with_ann(ProjectStatus::Active, None),
    ] {
        let mut m = Mocks::new().at(t(0));
        m.tokens.expect_issue().never();
        let m = writes(
            m,
            put(accepted(), MembershipStatus::Invited),
            Applied::Refused(Conflict::MembershipChanged),
        );
        let e = accept(m, vec![invited.clone(), then]).await.unwrap_err();
        assert!(matches!(e, InvitationError::NoRow), "{e:?}");
    }
}

#[tokio::test]
async fn an_accept_that_lost_to_a_delete_of_the_project_is_project_deleted() {
    let mut m = Mocks::new().at(t(0));
    m.tokens.expect_issue().never();
    let m = writes(
        m,
        put(accepted(), MembershipStatus::Invited),
        Applied::Refused(Conflict::ProjectChanged),
    );
    let e = accept(
        m,
        vec![
            with_ann(
                ProjectStatus::Active,
                Some(row(&ann(), MembershipStatus::Invited)),
            ),
            with_ann(
                ProjectStatus::Deleted,
                Some(row(&ann(), MembershipStatus::Invited)),
            ),
        ],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::ProjectDeleted), "{e:?}");
}

#[tokio::test]
async fn an_accept_that_keeps_losing_gives_up_after_three_rounds_with_a_503() {
    let mut m = Mocks::new().at(t(0));
    m.tokens.expect_issue().never();
    m.writes
        .expect_change_own_row()
        .times(3)
        .returning(|_, _| Ok(Applied::Refused(Conflict::MembershipChanged)));
    let e = accept(
        m,
        vec![with_ann(
            ProjectStatus::Active,
            Some(row(&ann(), MembershipStatus::Invited)),
        )],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, InvitationError::Failure(Failure::Unavailable(_))),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_conflict_no_own_row_set_can_meet_is_a_failure_and_no_token() {
    let mut m = Mocks::new().at(t(0));
    m.tokens.expect_issue().never();
    let m = writes(
        m,
        put(accepted(), MembershipStatus::Invited),
        Applied::Refused(Conflict::UserChanged),
    );
    let e = accept(
        m,
        vec![with_ann(
            ProjectStatus::Active,
            Some(row(&ann(), MembershipStatus::Invited)),
        )],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::Failure(_)), "{e:?}");
}

#[tokio::test]
async fn a_store_failure_while_loading_is_a_failure_and_writes_nothing() {
    let m = untouched(Mocks::new().at(t(0)));
    let mut p = MockProjectRepository::new();
    p.expect_get().returning(|_| Err(unavailable()));
    p.expect_rows_of().never();
    let e = service(m, p)
        .accept(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap_err();
    assert!(
        matches!(e, InvitationError::Failure(Failure::Unavailable(_))),
        "{e:?}"
    );
}

// ----------------------------------------------------------------- decline

#[tokio::test]
async fn decline_turns_the_invited_row_expired_or_not_into_declined() {
    for now in [t(0), t(500)] {
        let mut m = Mocks::new().at(now);
        let (id, version) = (ann().id, ann().credential_version);
        m.tokens
            .expect_issue()
            .withf(move |u, v, a, n| (*u, *v, *a, *n) == (id, version, Some(t(-60)), now))
            .times(1)
            .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
        let want = put(declined(), MembershipStatus::Invited);
        m.writes
            .expect_change_own_row()
            .withf(move |changes, n| changes == &want && *n == now)
            .times(1)
            .returning(|_, _| Ok(Applied::Committed));
        let a = service(
            m,
            repo(vec![with_ann(
                ProjectStatus::Active,
                Some(row(&ann(), MembershipStatus::Invited)),
            )]),
        )
        .decline(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap();
        assert_eq!(a.row, declined());
        assert_eq!(a.access, ProjectAccess::Invited);
        assert_eq!(a.token.as_deref(), Some(TOKEN));
    }
}

#[tokio::test]
async fn decline_of_anything_but_an_invited_row_is_no_row_and_a_deleted_project_422() {
    for (state, deleted) in [
        (with_ann(ProjectStatus::Active, Some(declined())), false),
        (
            with_ann(
                ProjectStatus::Active,
                Some(row(&ann(), MembershipStatus::Active)),
            ),
            false,
        ),
        (with_ann(ProjectStatus::Active, None), false),
        (
            with_ann(
                ProjectStatus::Deleted,
                Some(row(&ann(), MembershipStatus::Invited)),
            ),
            true,
        ),
    ] {
        let e = service(untouched(Mocks::new().at(t(0))), repo(vec![state]))
            .decline(&ann(), Some(t(-60)), project_id())
            .await
            .unwrap_err();
        if deleted {
            assert!(matches!(e, InvitationError::ProjectDeleted), "{e:?}");
        } else {
            assert!(matches!(e, InvitationError::NoRow), "{e:?}");
        }
    }
}

// ------------------------------------------------------------------- leave

#[tokio::test]
async fn leave_removes_the_active_row_under_its_status_and_renews_the_token() {
    let m = writes(
        token(Mocks::new().at(t(0))),
        vec![Change::RemoveMembership {
            project: project_id(),
            user: ann().id,
            expected: MembershipStatus::Active,
        }],
        Applied::Committed,
    );
    let token = service(
        m,
        repo(vec![with_ann(
            ProjectStatus::Active,
            Some(row(&ann(), MembershipStatus::Active)),
        )]),
    )
    .leave(&ann(), Some(t(-60)), project_id())
    .await
    .unwrap();
    assert_eq!(token, TOKEN);
}

#[tokio::test]
async fn the_owner_cannot_leave() {
    let e = service(
        untouched(Mocks::new().at(t(0))),
        repo(vec![with_ann(ProjectStatus::Active, None)]),
    )
    .leave(&owner(), Some(t(-60)), project_id())
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::OwnerCannotLeave), "{e:?}");
}

#[tokio::test]
async fn leave_without_an_active_row_is_no_row_and_of_a_deleted_project_422() {
    for (state, deleted) in [
        (
            with_ann(
                ProjectStatus::Active,
                Some(row(&ann(), MembershipStatus::Invited)),
            ),
            false,
        ),
        (with_ann(ProjectStatus::Active, Some(declined())), false),
        (with_ann(ProjectStatus::Active, None), false),
        ((None, Vec::new()), false),
        (
            with_ann(
                ProjectStatus::Deleted,
                Some(row(&ann(), MembershipStatus::Active)),
            ),
            true,
        ),
    ] {
        let e = service(untouched(Mocks::new().at(t(0))), repo(vec![state]))
            .leave(&ann(), Some(t(-60)), project_id())
            .await
            .unwrap_err();
        if deleted {
            assert!(matches!(e, InvitationError::ProjectDeleted), "{e:?}");
        } else {
            assert!(matches!(e, InvitationError::NoRow), "{e:?}");
        }
    }
}

#[tokio::test]
async fn a_leave_that_lost_to_a_parallel_remove_is_no_row() {
    let mut m = Mocks::new().at(t(0));
    m.tokens.expect_issue().never();
    let m = writes(
        m,
        vec![Change::RemoveMembership {
            project: project_id(),
            user: ann().id,
            expected: MembershipStatus::Active,
        }],
        Applied::Refused(Conflict::MembershipChanged),
    );
    let e = service(
        m,
        repo(vec![
            with_ann(
                ProjectStatus::Active,
                Some(row(&ann(), MembershipStatus::Active)),
            ),
            with_ann(ProjectStatus::Active, None),
        ]),
    )
    .leave(&ann(), Some(t(-60)), project_id())
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::NoRow), "{e:?}");
}

// ---------------------------------------------------------- public decline

#[tokio::test]
async fn the_public_decline_with_the_latest_token_declines_a_placeholder_row_without_a_session() {
    let placeholder = User {
        username: None,
        password_hash: None,
        status: UserStatus::Invited,
        ..ann()
    };
    let mut m = writes(
        Mocks::new().at(t(0)),
        put(
            row(&placeholder, MembershipStatus::Declined),
            MembershipStatus::Invited,
        ),
        Applied::Committed,
    );
    m.tokens.expect_issue().never();
    let a = service(
        m,
        repo(vec![with_ann(
            ProjectStatus::Active,
            Some(row(&placeholder, MembershipStatus::Invited)),
        )]),
    )
    .decline_public(&link(LINK_TOKEN))
    .await
    .unwrap();
    assert_eq!(a.row.status, MembershipStatus::Declined);
    assert_eq!(a.access, ProjectAccess::Invited);
    assert!(a.token.is_none());
}

#[tokio::test]
async fn the_public_routes_refuse_a_wrong_an_old_a_purged_or_an_expired_token_alike() {
    let purged = Membership {
        invitation: Some(Invitation {
            token_mac: None,
            ..invitation()
        }),
        ..row(&ann(), MembershipStatus::Invited)
    };
    let resent = Membership {
        invitation: Some(Invitation::issue(
            &key(),
            "a-newer-token",
            owner().id,
            t(-10),
            200,
        )),
        ..row(&ann(), MembershipStatus::Invited)
    };
    let invited = row(&ann(), MembershipStatus::Invited);
    let cases = [
        (invited.clone(), "wrong", t(0)),
        (invited.clone(), "", t(0)),
        (resent, LINK_TOKEN, t(0)),
        (purged, LINK_TOKEN, t(0)),
        // Expired: the link is dead from its expiry on, purged or not.
        (invited.clone(), LINK_TOKEN, t(100)),
        // The right token does not open another user's row.
        (
            Membership {
                user: user_id(9),
                ..invited.clone()
            },
            LINK_TOKEN,
            t(0),
        ),
    ];
    for (own, token, now) in cases {
        let states = vec![with_ann(ProjectStatus::Active, Some(own.clone()))];
        let e = service(untouched(Mocks::new().at(now)), repo(states.clone()))
            .decline_public(&link(token))
            .await
            .unwrap_err();
        assert!(
            matches!(e, InvitationError::NoRow),
            "{own:?} {token}: {e:?}"
        );
        let mut m = untouched(Mocks::new().at(now));
        m.users.expect_get_many().never();
        let e = service(m, repo(states))
            .init_invite(&link(token))
            .await
            .unwrap_err();
        assert!(
            matches!(e, InvitationError::NoRow),
            "{own:?} {token}: {e:?}"
        );
    }
}

#[tokio::test]
async fn the_public_decline_of_a_deleted_project_is_422_only_for_the_token_holder() {
    let states = vec![with_ann(
        ProjectStatus::Deleted,
        Some(row(&ann(), MembershipStatus::Invited)),
    )];
    let e = service(untouched(Mocks::new().at(t(0))), repo(states.clone()))
        .decline_public(&link(LINK_TOKEN))
        .await
        .unwrap_err();
    assert!(matches!(e, InvitationError::ProjectDeleted), "{e:?}");
    let e = service(untouched(Mocks::new().at(t(0))), repo(states))
        .decline_public(&link("wrong"))
        .await
        .unwrap_err();
    assert!(matches!(e, InvitationError::NoRow), "{e:?}");
}

#[tokio::test]
async fn the_public_decline_of_a_declined_row_is_no_row() {
    let e = service(
        untouched(Mocks::new().at(t(0))),
        repo(vec![with_ann(ProjectStatus::Active, Some(declined()))]),
    )
    .decline_public(&link(LINK_TOKEN))
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::NoRow), "{e:?}");
}

// ------------------------------------------------------------- init_invite

#[tokio::test]
async fn init_invite_shows_the_project_the_row_the_invitee_and_the_inviter() {
    let mut m = untouched(Mocks::new().at(t(0)));
    m.users
        .expect_get_many()
        .withf(|ids| ids == [ann().id, owner().id])
        .times(1)
        .returning(|_| Ok(vec![ann(), owner()]));
    let shown = service(
        m,
        repo(vec![with_ann(
            ProjectStatus::Active,
            Some(row(&ann(), MembershipStatus::Invited)),
        )]),
    )
    .init_invite(&link(LINK_TOKEN))
    .await
    .unwrap();
    assert_eq!(shown.project, project(ProjectStatus::Active));
    assert_eq!(shown.row, row(&ann(), MembershipStatus::Invited));
    assert_eq!(shown.invitee, ann());
    assert_eq!(shown.inviter, Some(owner()));
}

#[tokio::test]
async fn init_invite_without_an_invited_row_is_no_row_and_of_a_deleted_project_422() {
    let mut m = untouched(Mocks::new().at(t(0)));
    m.users.expect_get_many().never();
    let e = service(
        m,
        repo(vec![with_ann(ProjectStatus::Active, Some(declined()))]),
    )
    .init_invite(&link(LINK_TOKEN))
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::NoRow), "{e:?}");
    let mut m = untouched(Mocks::new().at(t(0)));
    m.users.expect_get_many().never();
    let e = service(
        m,
        repo(vec![with_ann(
            ProjectStatus::Deleted,
            Some(row(&ann(), MembershipStatus::Invited)),
        )]),
    )
    .init_invite(&link(LINK_TOKEN))
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::ProjectDeleted), "{e:?}");
}

#[tokio::test]
async fn init_invite_whose_inviter_is_gone_shows_no_inviter() {
    let mut m = untouched(Mocks::new().at(t(0)));
    m.users
        .expect_get_many()
        .times(1)
        .returning(|_| Ok(vec![ann()]));
    let shown = service(
        m,
        repo(vec![with_ann(
            ProjectStatus::Active,
            Some(row(&ann(), MembershipStatus::Invited)),
        )]),
    )
    .init_invite(&link(LINK_TOKEN))
    .await
    .unwrap();
    assert_eq!(shown.inviter, None);
}

#[tokio::test]
async fn a_leave_that_lost_to_a_transfer_to_the_leaver_is_owner_cannot_leave() {
    let mut m = Mocks::new().at(t(0));
    m.tokens.expect_issue().never();
    let m = writes(
        m,
        vec![Change::RemoveMembership {
            project: project_id(),
            user: ann().id,
            expected: MembershipStatus::Active,
        }],
        Applied::Refused(Conflict::MembershipChanged),
    );
    let transferred = (
        Some(Project {
            owner: ann().id,
            ..project(ProjectStatus::Active)
        }),
        vec![Membership {
            roles: vec![Role::Owner],
            ..row(&ann(), MembershipStatus::Active)
        }],
    );
    let e = service(
        m,
        repo(vec![
            with_ann(
                ProjectStatus::Active,
                Some(row(&ann(), MembershipStatus::Active)),
            ),
            transferred,
        ]),
    )
    .leave(&ann(), Some(t(-60)), project_id())
    .await
    .unwrap_err();
    assert!(matches!(e, InvitationError::OwnerCannotLeave), "{e:?}");
}
