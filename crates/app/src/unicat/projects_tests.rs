//! Unit tests of `projects/create`, `projects/get` and `projects/update`,
//! with every port mocked.

use super::*;
use crate::unicat::test_support::*;
use accountd_domain::UserStatus;
use accountd_ports::{Applied, MockProjectRepository};

const PROJECT_BYTES: [u8; 16] = [42; 16];

fn project_id() -> ProjectId {
    ProjectId::from_random_bytes(PROJECT_BYTES)
}

fn project_settings() -> ProjectSettings {
    ProjectSettings {
        projects_per_user: 3,
        languages: vec!["en".into(), "de".into(), "nl".into()],
        default_timezone: TimeZone::parse("Europe/Amsterdam").unwrap(),
    }
}

fn bob() -> User {
    user(2, "Bob", UserStatus::Active, &["bob@example.com"])
}

fn stored(status: ProjectStatus) -> Project {
    Project {
        id: project_id(),
        name: "Atlas".into(),
        icon: None,
        owner: ann().id,
        status,
        timezone: "UTC".into(),
        languages: vec!["en".into()],
    }
}

fn row(user: &User, status: MembershipStatus, role: Role) -> Membership {
    Membership {
        project: project_id(),
        user: user.id,
        status,
        roles: vec![role],
        notifications: Notifications {
            email: user.emails.first().cloned(),
            ..Notifications::default()
        },
        rate_limit_per_second: None,
        invitation: None,
    }
}

/// The project stored with Ann as owner and Bob as a member in `bob_status`.
fn repo(status: ProjectStatus, bob_status: Option<MembershipStatus>) -> MockProjectRepository {
    let mut p = MockProjectRepository::new();
    p.expect_get()
        .withf(|id| *id == project_id())
        .returning(move |_| Ok(Some(stored(status))));
    p.expect_rows_of().returning(move |_| {
        let mut rows = vec![row(&ann(), MembershipStatus::Active, Role::Owner)];
        if let Some(s) = bob_status {
            rows.push(row(&bob(), s, Role::Member));
        }
        Ok(rows)
    });
    p
}

fn unknown_repo() -> MockProjectRepository {
    let mut p = MockProjectRepository::new();
    p.expect_get().returning(|_| Ok(None));
    p.expect_rows_of().never();
    p
}

fn service(mut m: Mocks, projects: MockProjectRepository) -> Projects {
    m.projects.expect_views_for().never();
    let (ports, sessions) = m.build();
    Projects::new(ports, sessions, Arc::new(projects), project_settings())
}

fn token(mut m: Mocks, user: &User) -> Mocks {
    let (id, version) = (user.id, user.credential_version);
    m.tokens
        .expect_issue()
        .withf(move |u, v, a, n| (*u, *v, *a, *n) == (id, version, Some(t(-60)), t(0)))
        .times(1)
        .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
    m
}

fn nothing_written(mut m: Mocks) -> Mocks {
    m.writes.expect_change_project().never();
    m.tokens.expect_issue().never();
    m
}

fn input(name: Option<&str>, options: Option<Vec<(&str, OptionValue)>>) -> ProjectInput {
    ProjectInput {
        name: name.map(Into::into),
        options: options.map(|o| o.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
    }
}

fn text(s: &str) -> OptionValue {
    OptionValue::Text(s.to_owned())
}

fn texts(s: &[&str]) -> OptionValue {
    OptionValue::Texts(s.iter().map(|&c| c.to_owned()).collect())
}

fn reason_of(e: ProjectsError) -> (&'static str, Reason, String) {
    match e {
        ProjectsError::Invalid(i) => (i.field, i.reason, i.detail),
        other => panic!("not a 1001: {other:?}"),
    }
}

// ------------------------------------------------------------------ create

#[tokio::test]
async fn create_makes_the_caller_the_owner_under_the_cap_in_one_set() {
    let mut m = token(Mocks::new().at(t(0)), &ann());
    m.random
        .expect_bytes16()
        .times(1)
        .return_const(PROJECT_BYTES);
    m.writes
        .expect_change_project()
        .withf(|changes, mails| {
            let owner = row(&ann(), MembershipStatus::Active, Role::Owner);
            let project = Project {
                name: "Atlas".into(),
                timezone: "Europe/Berlin".into(),
                languages: vec!["nl".into(), "en".into()],
                ..stored(ProjectStatus::Active)
            };
            mails.is_empty()
                && changes
                    == &[
                        Change::OwnsFewerThan {
                            user: ann().id,
                            max: 3,
                        },
                        Change::CreateProject { project, owner },
                    ]
        })
        .times(1)
        .returning(|_, _| Ok(Applied::Committed));
    crate::test_writes::take_audited();
    let shown = service(m, MockProjectRepository::new())
        .create(
            &ann(),
            Some(t(-60)),
            input(
                Some("  Atlas "),
                Some(vec![
                    ("timezone", text("Europe/Berlin")),
                    ("languages", texts(&["nl", "en", "nl"])),
                ]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(shown.project.name, "Atlas");
    assert_eq!(shown.access, ProjectAccess::Owner);
    assert_eq!(shown.rows.len(), 1);
    assert_eq!(shown.users.len(), 1);
    assert!(shown.users[0].complete);
    assert_eq!(shown.token, TOKEN);
    assert_eq!(
        crate::test_writes::take_audited(),
        [accountd_domain::AuditEvent::new(
            accountd_domain::AuditEventKind::ProjectCreated,
            Some(ann().id)
        )
        .project(project_id())],
        "in the set that creates the project"
    );
}

#[tokio::test]
async fn create_without_name_or_options_takes_the_defaults() {
    let mut m = token(Mocks::new().at(t(0)), &ann());
    m.random.expect_bytes16().return_const(PROJECT_BYTES);
    m.writes
        .expect_change_project()
        .times(1)
        .returning(|_, _| Ok(Applied::Committed));
    let shown = service(m, MockProjectRepository::new())
        .create(&ann(), Some(t(-60)), input(None, None))
        .await
        .unwrap();
    assert_eq!(shown.project.name, "untitled project");
    assert_eq!(shown.project.timezone, "Europe/Amsterdam");
    assert_eq!(shown.project.languages, vec!["en"]);
}

#[tokio::test]
async fn create_at_the_cap_is_too_many_projects() {
    let mut m = Mocks::new().at(t(0));
    m.random.expect_bytes16().return_const(PROJECT_BYTES);
    m.tokens.expect_issue().never();
    m.writes
        .expect_change_project()
        .times(1)
        .returning(|_, _| Ok(Applied::Refused(Conflict::TooManyProjects)));
    let e = service(m, MockProjectRepository::new())
        .create(&ann(), Some(t(-60)), input(None, None))
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::TooManyProjects), "{e:?}");
}

#[tokio::test]
async fn create_by_an_account_deleted_meanwhile_is_revoked() {
    let mut m = Mocks::new().at(t(0));
    m.random.expect_bytes16().return_const(PROJECT_BYTES);
    m.tokens.expect_issue().never();
    m.writes
        .expect_change_project()
        .returning(|_, _| Ok(Applied::Refused(Conflict::UserChanged)));
    let e = service(m, MockProjectRepository::new())
        .create(&ann(), Some(t(-60)), input(None, None))
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::Revoked), "{e:?}");
}

#[tokio::test]
async fn create_refuses_a_bad_name_before_the_options() {
    for name in ["", "   ", "a\u{7}b", &"x".repeat(201)] {
        let m = nothing_written(Mocks::new().at(t(0)));
        let e = service(m, MockProjectRepository::new())
            .create(
                &ann(),
                Some(t(-60)),
                input(Some(name), Some(vec![("colour", text("red"))])),
            )
            .await
            .unwrap_err();
        let (field, reason, _) = reason_of(e);
        assert_eq!((field, reason), ("name", Reason::NameInvalid), "{name:?}");
    }
}

#[tokio::test]
async fn create_refuses_every_bad_option_naming_it() {
    let cases = [
        (
            vec![("colour", text("red"))],
            "options.colour is not a project option.",
        ),
        (
            vec![("timezone", text("Mars/Base"))],
            "options.timezone is not an IANA time zone name.",
        ),
        (
            vec![("timezone", OptionValue::Other)],
            "options.timezone must be an IANA time zone name.",
        ),
        (
            vec![("languages", texts(&[]))],
            "options.languages must be a non-empty list of supported language codes.",
        ),
        (
            vec![("languages", texts(&["xx"]))],
            "options.languages must be a non-empty list of supported language codes.",
        ),
        (
            vec![("languages", text("en"))],
            "options.languages must be a non-empty list of supported language codes.",
        ),
    ];
    for (options, detail) in cases {
        let m = nothing_written(Mocks::new().at(t(0)));
        let e = service(m, MockProjectRepository::new())
            .create(&ann(), Some(t(-60)), input(None, Some(options)))
            .await
            .unwrap_err();
        assert_eq!(
            reason_of(e),
            ("options", Reason::OptionsInvalid, detail.to_owned())
        );
    }
}

// ------------------------------------------------------------------ get

#[tokio::test]
async fn get_of_an_unknown_project_is_not_visible() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, unknown_repo())
        .get(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::NotVisible), "{e:?}");
}

#[tokio::test]
async fn get_by_a_stranger_a_declined_user_or_a_member_of_a_deleted_project_is_not_visible() {
    let cases = [
        (ProjectStatus::Active, None),
        (ProjectStatus::Active, Some(MembershipStatus::Declined)),
        (ProjectStatus::Deleted, Some(MembershipStatus::Active)),
        (ProjectStatus::Deleted, Some(MembershipStatus::Invited)),
    ];
    for (status, bob_status) in cases {
        let m = nothing_written(Mocks::new().at(t(0)));
        let e = service(m, repo(status, bob_status))
            .get(&bob(), Some(t(-60)), project_id())
            .await
            .unwrap_err();
        assert!(
            matches!(e, ProjectsError::NotVisible),
            "{status} {bob_status:?}: {e:?}"
        );
    }
}

#[tokio::test]
async fn get_by_the_owner_shows_every_row_with_every_address() {
    let mut m = token(Mocks::new().at(t(0)), &ann());
    m.users
        .expect_get_many()
        .withf(|ids| ids == [bob().id])
        .times(1)
        .returning(|_| Ok(vec![bob()]));
    let shown = service(
        m,
        repo(ProjectStatus::Deleted, Some(MembershipStatus::Declined)),
    )
    .get(&ann(), Some(t(-60)), project_id())
    .await
    .unwrap();
    assert_eq!(shown.access, ProjectAccess::Owner);
    assert_eq!(
        shown.rows,
        vec![
            row(&ann(), MembershipStatus::Active, Role::Owner),
            row(&bob(), MembershipStatus::Declined, Role::Member)
        ]
    );
    let forms: Vec<_> = shown
        .users
        .iter()
        .map(|u| (u.user.id, u.complete))
        .collect();
    assert_eq!(forms, vec![(ann().id, true), (bob().id, false)]);
}

#[tokio::test]
async fn get_by_a_member_hides_the_owners_notification_address() {
    let mut m = token(Mocks::new().at(t(0)), &bob());
    m.users
        .expect_get_many()
        .withf(|ids| ids == [ann().id])
        .times(1)
        .returning(|_| Ok(vec![ann()]));
    let shown = service(
        m,
        repo(ProjectStatus::Active, Some(MembershipStatus::Active)),
    )
    .get(&bob(), Some(t(-60)), project_id())
    .await
    .unwrap();
    assert_eq!(shown.access, ProjectAccess::Member);
    assert_eq!(shown.rows[0].user, ann().id);
    assert_eq!(shown.rows[0].notifications.email, None);
    assert_eq!(
        shown.rows[1].notifications.email,
        Some(email("bob@example.com"))
    );
    let forms: Vec<_> = shown
        .users
        .iter()
        .map(|u| (u.user.id, u.complete))
        .collect();
    assert_eq!(forms, vec![(ann().id, false), (bob().id, true)]);
}

#[tokio::test]
async fn get_loads_every_other_user_in_one_batch_in_row_order_and_skips_a_vanished_one() {
    let carla = user(3, "Carla", UserStatus::Active, &["carla@example.com"]);
    let dora = user(4, "Dora", UserStatus::Invited, &["dora@example.com"]);
    let mut m = token(Mocks::new().at(t(0)), &ann());
    let want = vec![dora.id, bob().id, carla.id];
    let (c, d) = (carla.clone(), dora.clone());
    m.users.expect_get().never();
    m.users
        .expect_get_many()
        .withf(move |ids| ids == want.as_slice())
        .times(1)
        // Sorted by gid as the port answers; Carla vanished meanwhile.
        .returning(move |_| Ok(vec![bob(), d.clone()]));
    let mut p = MockProjectRepository::new();
    p.expect_get()
        .returning(|_| Ok(Some(stored(ProjectStatus::Active))));
    let rows = vec![
        row(&dora, MembershipStatus::Invited, Role::Member),
        row(&ann(), MembershipStatus::Active, Role::Owner),
        row(&bob(), MembershipStatus::Active, Role::Member),
        row(&c, MembershipStatus::Declined, Role::Member),
    ];
    p.expect_rows_of().returning(move |_| Ok(rows.clone()));
    let shown = service(m, p)
        .get(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap();
    let forms: Vec<_> = shown
        .users
        .iter()
        .map(|u| (u.user.id, u.complete))
        .collect();
    assert_eq!(
        forms,
        vec![(dora.id, false), (ann().id, true), (bob().id, false)]
    );
    let row_users: Vec<_> = shown.rows.iter().map(|r| r.user).collect();
    assert_eq!(row_users, vec![dora.id, ann().id, bob().id]);
}

#[tokio::test]
async fn get_by_an_invited_user_is_invited_access_with_their_row_and_the_owners_only() {
    let carla = user(3, "Carla", UserStatus::Active, &["carla@example.com"]);
    let mut m = token(Mocks::new().at(t(0)), &bob());
    m.users
        .expect_get_many()
        .withf(|ids| ids == [ann().id])
        .times(1)
        .returning(|_| Ok(vec![ann()]));
    let mut p = MockProjectRepository::new();
    p.expect_get()
        .returning(|_| Ok(Some(stored(ProjectStatus::Active))));
    let rows = vec![
        row(&ann(), MembershipStatus::Active, Role::Owner),
        row(&bob(), MembershipStatus::Invited, Role::Member),
        row(&carla, MembershipStatus::Active, Role::Member),
    ];
    p.expect_rows_of().returning(move |_| Ok(rows.clone()));
    let shown = service(m, p)
        .get(&bob(), Some(t(-60)), project_id())
        .await
        .unwrap();
    assert_eq!(shown.access, ProjectAccess::Invited);
    let row_users: Vec<_> = shown.rows.iter().map(|r| r.user).collect();
    assert_eq!(row_users, vec![ann().id, bob().id]);
    assert_eq!(shown.rows[0].notifications.email, None);
}

#[tokio::test]
async fn get_when_the_store_is_down_is_a_failure() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let mut p = MockProjectRepository::new();
    p.expect_get().returning(|_| Err(unavailable()));
    let e = service(m, p)
        .get(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap_err();
    assert!(
        matches!(e, ProjectsError::Failure(Failure::Unavailable(_))),
        "{e:?}"
    );
}

// ------------------------------------------------------------------ update

fn update(name: Option<&str>, options: Option<Vec<(&str, OptionValue)>>) -> UpdateProjectInput {
    UpdateProjectInput {
        project: project_id(),
        changes: input(name, options),
    }
}

#[tokio::test]
async fn update_by_a_member_is_not_the_owner_even_with_nothing_to_update() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(
        m,
        repo(ProjectStatus::Active, Some(MembershipStatus::Active)),
    )
    .update(&bob(), Some(t(-60)), update(None, None))
    .await
    .unwrap_err();
    assert!(matches!(e, ProjectsError::NotOwner), "{e:?}");
}

#[tokio::test]
async fn update_of_a_project_hidden_from_the_caller_is_not_visible() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, repo(ProjectStatus::Active, None))
        .update(&bob(), Some(t(-60)), update(Some("X"), None))
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::NotVisible), "{e:?}");
}

#[tokio::test]
async fn update_with_nothing_given_is_nothing_to_update() {
    for options in [None, Some(vec![])] {
        let m = nothing_written(Mocks::new().at(t(0)));
        let e = service(m, repo(ProjectStatus::Active, None))
            .update(&ann(), Some(t(-60)), update(None, options))
            .await
            .unwrap_err();
        assert_eq!(reason_of(e).1, Reason::NothingToUpdate);
    }
}

#[tokio::test]
async fn update_checks_values_before_the_deleted_status() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, repo(ProjectStatus::Deleted, None))
        .update(&ann(), Some(t(-60)), update(Some(""), None))
        .await
        .unwrap_err();
    assert_eq!(reason_of(e).1, Reason::NameInvalid);
}

#[tokio::test]
async fn update_of_a_deleted_project_is_project_deleted() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, repo(ProjectStatus::Deleted, None))
        .update(&ann(), Some(t(-60)), update(Some("New"), None))
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::ProjectDeleted), "{e:?}");
}

#[tokio::test]
async fn update_racing_a_delete_is_project_deleted() {
    let mut m = Mocks::new().at(t(0));
    m.tokens.expect_issue().never();
    m.writes
        .expect_change_project()
        .times(1)
        .returning(|_, _| Ok(Applied::Refused(Conflict::ProjectChanged)));
    let e = service(m, repo(ProjectStatus::Active, None))
        .update(&ann(), Some(t(-60)), update(Some("New"), None))
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::ProjectDeleted), "{e:?}");
}

#[tokio::test]
async fn update_writes_only_the_given_keys_and_answers_as_get() {
    let mut m = token(Mocks::new().at(t(0)), &ann());
    m.writes
        .expect_change_project()
        .withf(|changes, mails| {
            mails.is_empty()
                && changes
                    == &[Change::UpdateProject {
                        project: project_id(),
                        name: None,
                        timezone: None,
                        languages: Some(vec!["de".into()]),
                    }]
        })
        .times(1)
        .returning(|_, _| Ok(Applied::Committed));
    let shown = service(m, repo(ProjectStatus::Active, None))
        .update(
            &ann(),
            Some(t(-60)),
            update(None, Some(vec![("languages", texts(&["de"]))])),
        )
        .await
        .unwrap();
    assert_eq!(shown.project.id, project_id());
    assert_eq!(shown.rows.len(), 1);
    assert_eq!(shown.token, TOKEN);
}

// ------------------------------------------- delete, undelete, permanent_delete

#[tokio::test]
async fn delete_by_the_owner_sets_deleted_under_the_active_guard() {
    let mut m = token(Mocks::new().at(t(0)), &ann());
    m.writes
        .expect_change_project()
        .withf(|changes, mails| {
            mails.is_empty()
                && changes
                    == &[Change::SetProjectStatus {
                        project: project_id(),
                        expected: ProjectStatus::Active,
                        status: ProjectStatus::Deleted,
                    }]
        })
        .times(1)
        .returning(|_, _| Ok(Applied::Committed));
    let shown = service(
        m,
        repo(ProjectStatus::Active, Some(MembershipStatus::Active)),
    )
    .delete(&ann(), Some(t(-60)), project_id())
    .await
    .unwrap();
    assert_eq!(shown.project, stored(ProjectStatus::Deleted));
    assert_eq!(shown.token, TOKEN);
}

#[tokio::test]
async fn undelete_by_the_owner_sets_active_under_the_deleted_guard() {
    let mut m = token(Mocks::new().at(t(0)), &ann());
    m.writes
        .expect_change_project()
        .withf(|changes, _| {
            changes
                == &[Change::SetProjectStatus {
                    project: project_id(),
                    expected: ProjectStatus::Deleted,
                    status: ProjectStatus::Active,
                }]
        })
        .times(1)
        .returning(|_, _| Ok(Applied::Committed));
    let shown = service(m, repo(ProjectStatus::Deleted, None))
        .undelete(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap();
    assert_eq!(shown.project.status, ProjectStatus::Active);
}

#[tokio::test]
async fn delete_of_a_deleted_project_and_undelete_of_an_active_one_are_refused_unwritten() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, repo(ProjectStatus::Deleted, None))
        .delete(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::ProjectDeleted), "{e:?}");
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, repo(ProjectStatus::Active, None))
        .undelete(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::ProjectNotDeleted), "{e:?}");
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, repo(ProjectStatus::Active, None))
        .permanent_delete(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::ProjectNotDeleted), "{e:?}");
}

#[tokio::test]
async fn a_delete_that_lost_a_race_answers_as_the_second_call() {
    let mut m = Mocks::new().at(t(0));
    m.tokens.expect_issue().never();
    m.writes
        .expect_change_project()
        .times(1)
        .returning(|_, _| Ok(Applied::Refused(Conflict::ProjectChanged)));
    let e = service(m, repo(ProjectStatus::Active, None))
        .delete(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::ProjectDeleted), "{e:?}");
}

#[tokio::test]
async fn delete_undelete_and_purge_by_a_member_are_not_the_owner() {
    for status in [ProjectStatus::Active] {
        let s = || {
            service(
                nothing_written(Mocks::new().at(t(0))),
                repo(status, Some(MembershipStatus::Active)),
            )
        };
        let e = s()
            .delete(&bob(), Some(t(-60)), project_id())
            .await
            .unwrap_err();
        assert!(matches!(e, ProjectsError::NotOwner), "{e:?}");
        let e = s()
            .undelete(&bob(), Some(t(-60)), project_id())
            .await
            .unwrap_err();
        assert!(matches!(e, ProjectsError::NotOwner), "{e:?}");
        let e = s()
            .permanent_delete(&bob(), Some(t(-60)), project_id())
            .await
            .unwrap_err();
        assert!(matches!(e, ProjectsError::NotOwner), "{e:?}");
    }
}

#[tokio::test]
async fn delete_of_an_unknown_project_is_not_visible() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, unknown_repo())
        .delete(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap_err();
    assert!(matches!(e, ProjectsError::NotVisible), "{e:?}");
}

#[tokio::test]
async fn permanent_delete_of_a_deleted_project_purges_it_in_one_set() {
    let mut m = token(Mocks::new().at(t(0)), &ann());
    m.writes
        .expect_change_project()
        .withf(|changes, _| {
            changes
                == &[Change::DeleteProjectPermanently {
                    project: project_id(),
                }]
        })
        .times(1)
        .returning(|_, _| Ok(Applied::Committed));
    let token = service(m, repo(ProjectStatus::Deleted, None))
        .permanent_delete(&ann(), Some(t(-60)), project_id())
        .await
        .unwrap();
    assert_eq!(token, TOKEN);
}

// ------------------------------------------------------------------ transfer

fn transfer_to(user: accountd_domain::UserId) -> TransferInput {
    TransferInput {
        project: project_id(),
        user,
        current_password: None,
    }
}

#[tokio::test]
async fn transfer_to_an_active_member_writes_the_cap_and_the_transfer_with_both_notices() {
    let mut m = token(Mocks::new().at(t(0)), &ann());
    m.users
        .expect_get()
        .withf(|id| *id == bob().id)
        .returning(|_| Ok(Some(bob())));
    m.users
        .expect_get_many()
        .withf(|ids| ids == [bob().id])
        .times(1)
        .returning(|_| Ok(vec![bob()]));
    m.writes
        .expect_change_project()
        .withf(|changes, mails| {
            let to: Vec<_> = mails.iter().map(|m| m.to.as_str().to_owned()).collect();
            to == ["bob@example.com", "ann@example.com"]
                && changes
                    == &[
                        Change::OwnsFewerThan {
                            user: bob().id,
                            max: 3,
                        },
                        Change::TransferProject {
                            project: project_id(),
                            from: ann().id,
                            to: bob().id,
                        },
                    ]
        })
        .times(1)
        .returning(|_, _| Ok(Applied::Committed));
    let shown = service(
        m,
        repo(ProjectStatus::Active, Some(MembershipStatus::Active)),
    )
    .transfer(&ann(), Some(t(-60)), transfer_to(bob().id))
    .await
    .unwrap();
    assert_eq!(shown.token, TOKEN);
}

#[tokio::test]
async fn transfer_to_oneself_an_invited_user_or_a_stranger_is_not_a_member() {
    for (bob_status, to) in [
        (Some(MembershipStatus::Active), ann().id),
        (Some(MembershipStatus::Invited), bob().id),
        (None, bob().id),
    ] {
        let m = nothing_written(Mocks::new().at(t(0)));
        let e = service(m, repo(ProjectStatus::Active, bob_status))
            .transfer(&ann(), Some(t(-60)), transfer_to(to))
            .await
            .unwrap_err();
        assert!(matches!(e, ProjectsError::NotAMember), "{e:?}");
    }
}

#[tokio::test]
async fn transfer_of_a_deleted_project_is_project_deleted() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(
        m,
        repo(ProjectStatus::Deleted, Some(MembershipStatus::Active)),
    )
    .transfer(&ann(), Some(t(-60)), transfer_to(bob().id))
    .await
    .unwrap_err();
    assert!(matches!(e, ProjectsError::ProjectDeleted), "{e:?}");
}

#[tokio::test]
async fn transfer_on_a_stale_session_without_a_password_needs_reauthentication_before_the_422() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, repo(ProjectStatus::Active, None))
        .transfer(&ann(), Some(t(-1000)), transfer_to(bob().id))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ProjectsError::Recent(super::super::RecentAuthError::Required)
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn transfer_by_a_member_is_not_the_owner_before_reauthentication() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(
        m,
        repo(ProjectStatus::Active, Some(MembershipStatus::Active)),
    )
    .transfer(&bob(), Some(t(-1000)), transfer_to(ann().id))
    .await
    .unwrap_err();
    assert!(matches!(e, ProjectsError::NotOwner), "{e:?}");
}

#[tokio::test]
async fn transfer_to_a_user_at_the_cap_is_too_many_projects() {
    let mut m = Mocks::new().at(t(0));
    m.tokens.expect_issue().never();
    m.users.expect_get().returning(|_| Ok(Some(bob())));
    m.writes
        .expect_change_project()
        .times(1)
        .returning(|_, _| Ok(Applied::Refused(Conflict::TooManyProjects)));
    let e = service(
        m,
        repo(ProjectStatus::Active, Some(MembershipStatus::Active)),
    )
    .transfer(&ann(), Some(t(-60)), transfer_to(bob().id))
    .await
    .unwrap_err();
    assert!(matches!(e, ProjectsError::TooManyProjects), "{e:?}");
}

#[tokio::test]
async fn a_transfer_racing_a_removal_of_the_member_is_not_a_member() {
    let mut m = Mocks::new().at(t(0));
    m.tokens.expect_issue().never();
    m.users.expect_get().returning(|_| Ok(Some(bob())));
    m.writes
        .expect_change_project()
        .times(1)
        .returning(|_, _| Ok(Applied::Refused(Conflict::MembershipChanged)));
    let e = service(
        m,
        repo(ProjectStatus::Active, Some(MembershipStatus::Active)),
    )
    .transfer(&ann(), Some(t(-60)), transfer_to(bob().id))
    .await
    .unwrap_err();
    assert!(matches!(e, ProjectsError::NotAMember), "{e:?}");
}
