//! Unit tests of the member routes (invite, resend_invite, remove,
//! members/get), with every port mocked: each branch, the exact change set
//! and its mail.

use super::*;
use crate::unicat::test_support::*;
use accountd_domain::{MembershipStatus, Notifications, OutgoingMail, ProjectStatus, Role};
use accountd_ports::{Applied, MockProjectRepository};
use std::sync::Mutex;

const PROJECT_BYTES: [u8; 16] = [42; 16];
/// Every `bytes16` draw of these tests.
const DRAW: [u8; 16] = [9; 16];

fn project_id() -> ProjectId {
    ProjectId::from_random_bytes(PROJECT_BYTES)
}

fn the_token() -> String {
    accountd_domain::validation_code_text(&[9; 32])
}

fn settings() -> MemberSettings {
    MemberSettings {
        invite_ttl_seconds: 604_800,
        pending_invites_per_project: 100,
        invites_per_hour: 50,
        invites_per_recipient_per_hour: 5,
        public_url: "https://accounts.example.com".into(),
        default_timezone: TimeZone::parse("Europe/Amsterdam").unwrap(),
    }
}

fn bob() -> User {
    user(2, "bob", UserStatus::Active, &["bob@example.com"])
}

fn cy() -> User {
    user(3, "cy", UserStatus::Active, &["cy@example.com"])
}

fn ghost() -> User {
    User {
        username: None,
        password_hash: None,
        ..user(4, "x", UserStatus::Invited, &["Ghost@Example.com"])
    }
}

fn stored(status: ProjectStatus, languages: &[&str]) -> Project {
    Project {
        id: project_id(),
        name: "Atlas".into(),
        icon: None,
        owner: ann().id,
        status,
        timezone: "UTC".into(),
        languages: languages.iter().map(|&l| l.to_owned()).collect(),
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
        invitation: (status != MembershipStatus::Active)
            .then(|| Invitation::issue(&key(), "old", ann().id, t(-100), 60)),
    }
}

fn owner_row() -> Membership {
    row(&ann(), MembershipStatus::Active, Role::Owner)
}

/// The project in `status`, stored with Ann's owner row and `others`.
fn repo(status: ProjectStatus, others: Vec<Membership>) -> MockProjectRepository {
    repo_in(stored(status, &["en"]), vec![others])
}

/// The project, whose rows read as each of `loads` in turn (the last one
/// from then on), Ann's owner row first in each.
fn repo_in(project: Project, loads: Vec<Vec<Membership>>) -> MockProjectRepository {
    let mut p = MockProjectRepository::new();
    p.expect_get()
        .withf(|id| *id == project_id())
        .returning(move |_| Ok(Some(project.clone())));
    let loads = Mutex::new(loads.into_iter());
    let last = Mutex::new(Vec::new());
    p.expect_rows_of().returning(move |_| {
        let mut last = last.lock().unwrap();
        if let Some(next) = loads.lock().unwrap().next() {
            *last = next;
        }
        let mut rows = vec![owner_row()];
        rows.extend(last.iter().cloned());
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

fn service(m: Mocks, projects: MockProjectRepository) -> Members {
    service_with(m, projects, settings())
}

fn service_with(mut m: Mocks, projects: MockProjectRepository, s: MemberSettings) -> Members {
    m.projects.expect_views_for().never();
    let (ports, sessions) = m.build();
    Members::new(ports, sessions, Arc::new(projects), key(), s)
}

/// One fresh token for `user` carrying `auth_time` t(-60).
fn token(mut m: Mocks, user: &User) -> Mocks {
    let (id, version) = (user.id, user.credential_version);
    m.tokens
        .expect_issue()
        .withf(move |u, v, a, n| (*u, *v, *a, *n) == (id, version, Some(t(-60)), t(0)))
        .times(1)
        .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
    m
}

fn draws(mut m: Mocks) -> Mocks {
    m.random.expect_bytes16().return_const(DRAW);
    m
}

fn nothing_written(mut m: Mocks) -> Mocks {
    m.writes.expect_change_project().never();
    m.tokens.expect_issue().never();
    m.limiter.expect_hit().never();
    m
}

type Sets = Arc<Mutex<Vec<(Vec<Change>, Vec<OutgoingMail>)>>>;

/// The sets written, answering `outcomes` in turn.
fn applies(mut m: Mocks, outcomes: Vec<Applied>) -> (Mocks, Sets) {
    let sets: Sets = Arc::default();
    let seen = sets.clone();
    let n = outcomes.len();
    let mut outcomes = outcomes.into_iter();
    m.writes
        .expect_change_project()
        .times(n)
        .returning(move |changes, mails| {
            seen.lock().unwrap().push((changes, mails));
            Ok(outcomes.next().unwrap())
        });
    (m, sets)
}

fn finds_name(mut m: Mocks, name: &'static str, found: Option<User>) -> Mocks {
    m.users
        .expect_find_by_username_ci()
        .withf(move |n| n == name)
        .times(1)
        .return_once(move |_| Ok(found));
    m
}

fn finds_address(mut m: Mocks, address: &'static str, found: Vec<User>) -> Mocks {
    m.users
        .expect_find_by_email()
        .withf(move |e| e.as_str() == address)
        .returning(move |_| Ok(found.clone()));
    m
}

fn invite_input(who: &str) -> InviteInput {
    InviteInput {
        project: project_id(),
        username_or_email: who.into(),
    }
}

fn invitation_now() -> Invitation {
    Invitation::issue(&key(), &the_token(), ann().id, t(0), 604_800)
}

fn invited_row(user: &User, address: &str) -> Membership {
    Membership {
        project: project_id(),
        user: user.id,
        status: MembershipStatus::Invited,
        roles: vec![Role::Member],
        notifications: Notifications {
            email: Some(email(address)),
            ..Notifications::default()
        },
        rate_limit_per_second: None,
        invitation: Some(invitation_now()),
    }
}

fn hour(max: u32) -> Vec<Limit> {
    vec![Limit {
        window_seconds: 3600,
        max,
    }]
}

/// The guards and hits after the row of an invitation set.
fn tail(recipient: &str) -> Vec<Change> {
    vec![
        Change::ProjectIsActive(project_id()),
        Change::PendingInvitesAtMost {
            project: project_id(),
            max: 100,
        },
        Change::CountHit {
            key: format!("invite:inviter:{}", ann().id),
            limits: hour(50),
        },
        Change::CountHit {
            key: format!("invite:recipient:{recipient}"),
            limits: hour(5),
        },
    ]
}

fn link_for(user: &User) -> String {
    format!(
        "https://accounts.example.com/invite/decline?invitee={}&project={}&token={}",
        user.id,
        project_id(),
        the_token()
    )
}

// ------------------------------------------------------------------ invite

#[tokio::test]
async fn invite_by_username_writes_the_row_its_guards_and_hits_and_mails_the_decline_link() {
    let m = token(
        draws(finds_name(Mocks::new().at(t(0)), "bob", Some(bob()))),
        &ann(),
    );
    let (m, sets) = applies(m, vec![Applied::Committed]);
    let shown = service(m, repo(ProjectStatus::Active, vec![]))
        .invite(&ann(), Some(t(-60)), invite_input("bob"))
        .await
        .unwrap();
    let sets = sets.lock().unwrap();
    let (changes, mails) = &sets[0];
    let mut want = vec![Change::PutMembership {
        membership: invited_row(&bob(), "bob@example.com"),
        expected: None,
    }];
    want.extend(tail(&bob().id.to_string()));
    assert_eq!(changes, &want);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, email("bob@example.com"));
    assert_eq!(mails[0].subject, "Ann invites you to the project Atlas");
    assert!(
        mails[0].text.contains(&link_for(&bob())),
        "{}",
        mails[0].text
    );
    assert_eq!(shown.rows, vec![invited_row(&bob(), "bob@example.com")]);
    assert_eq!(shown.users.len(), 1);
    assert_eq!(shown.users[0].user.id, bob().id);
    assert!(!shown.users[0].complete);
    assert!(shown.one);
    assert_eq!(shown.token, TOKEN);
    // Only the MAC of the token is stored.
    assert!(!format!("{changes:?}").contains(&the_token()));
}

#[tokio::test]
async fn a_username_matches_case_sensitively_and_an_unknown_one_costs_the_inviter_a_hit() {
    for (found, name) in [
        (Some(bob()), "Bob"),
        (None, "nobody"),
        (Some(user(2, "Bob", UserStatus::Deleted, &[])), "Bob"),
    ] {
        let m = nothing_written(finds_name(Mocks::new(), name, found));
        let m = m.hit(
            &format!("invite:inviter:{}", ann().id),
            hour(50),
            t(0),
            RateDecision::Allowed,
        );
        let e = service(m.at(t(0)), repo(ProjectStatus::Active, vec![]))
            .invite(&ann(), Some(t(-60)), invite_input(name))
            .await
            .unwrap_err();
        assert!(matches!(e, MembersError::UserNotFound), "{name}: {e:?}");
    }
}

#[tokio::test]
async fn an_unknown_username_past_the_inviters_limit_is_429() {
    let m = nothing_written(finds_name(Mocks::new(), "nobody", None)).hit(
        &format!("invite:inviter:{}", ann().id),
        hour(50),
        t(0),
        RateDecision::Limited {
            retry_after_seconds: 77,
        },
    );
    let e = service(m.at(t(0)), repo(ProjectStatus::Active, vec![]))
        .invite(&ann(), Some(t(-60)), invite_input("nobody"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            MembersError::TooManyRequests(RateLimited {
                retry_after_seconds: 77
            })
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_deleted_project_answers_before_a_username_is_looked_up_or_counted() {
    let mut m = nothing_written(Mocks::new().at(t(0)));
    m.users.expect_find_by_username_ci().never();
    let e = service(m, repo(ProjectStatus::Deleted, vec![]))
        .invite(&ann(), Some(t(-60)), invite_input("bob"))
        .await
        .unwrap_err();
    assert!(matches!(e, MembersError::ProjectDeleted), "{e:?}");
}

#[tokio::test]
async fn only_the_owner_invites_and_an_unknown_project_is_hidden() {
    let rows = vec![row(&bob(), MembershipStatus::Active, Role::Member)];
    let mut m = nothing_written(Mocks::new().at(t(0)));
    m.users.expect_find_by_username_ci().never();
    let e = service(m, repo(ProjectStatus::Active, rows))
        .invite(&bob(), Some(t(-60)), invite_input("cy"))
        .await
        .unwrap_err();
    assert!(matches!(e, MembersError::NotOwner), "{e:?}");
    for caller in [ann(), cy()] {
        let e = service(nothing_written(Mocks::new().at(t(0))), unknown_repo())
            .invite(&caller, Some(t(-60)), invite_input("cy"))
            .await
            .unwrap_err();
        assert!(matches!(e, MembersError::NotVisible), "{e:?}");
    }
    // A user with no row sees nothing either.
    let e = service(
        nothing_written(Mocks::new().at(t(0))),
        repo(ProjectStatus::Active, vec![]),
    )
    .invite(&cy(), Some(t(-60)), invite_input("bob"))
    .await
    .unwrap_err();
    assert!(matches!(e, MembersError::NotVisible), "{e:?}");
}

#[tokio::test]
async fn a_bad_or_ambiguous_address_is_1001_even_on_a_deleted_project() {
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, repo(ProjectStatus::Deleted, vec![]))
        .invite(&ann(), Some(t(-60)), invite_input("no-domain@"))
        .await
        .unwrap_err();
    match e {
        MembersError::Invalid(i) => {
            assert_eq!(
                (i.field, i.reason),
                ("username_or_email", Reason::EmailInvalid)
            );
        }
        other => panic!("{other:?}"),
    }
    let m = finds_address(
        nothing_written(Mocks::new().at(t(0))),
        "shared@example.com",
        vec![
            user(2, "bob", UserStatus::Active, &["shared@example.com"]),
            ghost(),
            user(3, "cy", UserStatus::Active, &["Shared@example.com"]),
        ],
    );
    let e = service(m, repo(ProjectStatus::Deleted, vec![]))
        .invite(&ann(), Some(t(-60)), invite_input("shared@example.com"))
        .await
        .unwrap_err();
    match e {
        MembersError::Invalid(i) => {
            assert_eq!(
                (i.field, i.reason, i.detail.as_str()),
                (
                    "username_or_email",
                    Reason::EmailAmbiguous,
                    "Several accounts have this address; invite by username."
                )
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_address_of_one_active_account_invites_that_account() {
    let m = finds_address(
        token(draws(Mocks::new().at(t(0))), &ann()),
        "BOB@example.com",
        vec![bob(), user(5, "old", UserStatus::Deleted, &[])],
    );
    let (m, sets) = applies(m, vec![Applied::Committed]);
    let shown = service(m, repo(ProjectStatus::Active, vec![]))
        .invite(&ann(), Some(t(-60)), invite_input("BOB@example.com"))
        .await
        .unwrap();
    assert_eq!(shown.users[0].user.id, bob().id);
    let sets = sets.lock().unwrap();
    // The mail and the row go to the stored address, not the typed one.
    assert_eq!(sets[0].1[0].to.as_str(), "bob@example.com");
    let mut want = vec![Change::PutMembership {
        membership: invited_row(&bob(), "bob@example.com"),
        expected: None,
    }];
    want.extend(tail(&bob().id.to_string()));
    assert_eq!(sets[0].0, want);
}

#[tokio::test]
async fn an_address_nobody_holds_gets_a_placeholder_in_the_projects_first_language() {
    for (languages, subject) in [
        (
            &["nl", "en"][..],
            "Ann nodigt je uit voor het project Atlas",
        ),
        (&["fr", "de"][..], "Ann invites you to the project Atlas"),
    ] {
        let m = finds_address(
            token(draws(Mocks::new().at(t(0))), &ann()),
            "New@Example.com",
            vec![],
        );
        let (m, sets) = applies(m, vec![Applied::Committed]);
        let project = stored(ProjectStatus::Active, languages);
        let shown = service(m, repo_in(project, vec![vec![]]))
            .invite(&ann(), Some(t(-60)), invite_input("New@Example.com"))
            .await
            .unwrap();
        let placeholder = User {
            id: UserId::from_random_bytes(DRAW),
            username: None,
            emails: vec![email("New@Example.com")],
            status: UserStatus::Invited,
            credential_version: 1,
            password_hash: None,
            name: String::new(),
            language: "en".into(),
            timezone: "Europe/Amsterdam".into(),
            created_at: t(0),
        };
        let sets = sets.lock().unwrap();
        let mut want = vec![
            Change::CreatePlaceholder(placeholder.clone()),
            Change::PutMembership {
                membership: invited_row(&placeholder, "New@Example.com"),
                expected: None,
            },
        ];
        want.extend(tail("new@example.com"));
        assert_eq!(sets[0].0, want);
        assert_eq!(sets[0].1[0].subject, subject);
        assert_eq!(sets[0].1[0].to.as_str(), "New@Example.com");
        assert!(sets[0].1[0].text.contains(&link_for(&placeholder)));
        assert_eq!(shown.users[0].user, placeholder);
    }
}

#[tokio::test]
async fn an_address_of_a_placeholder_invites_that_placeholder() {
    let m = finds_address(
        token(draws(Mocks::new().at(t(0))), &ann()),
        "ghost@example.com",
        vec![ghost()],
    );
    let (m, sets) = applies(m, vec![Applied::Committed]);
    service(m, repo(ProjectStatus::Active, vec![]))
        .invite(&ann(), Some(t(-60)), invite_input("ghost@example.com"))
        .await
        .unwrap();
    let sets = sets.lock().unwrap();
    let mut want = vec![Change::PutMembership {
        membership: invited_row(&ghost(), "Ghost@Example.com"),
        expected: None,
    }];
    want.extend(tail("ghost@example.com"));
    assert_eq!(sets[0].0, want);
}

#[tokio::test]
async fn a_row_that_exists_answers_its_reason() {
    for (status, want) in [
        (MembershipStatus::Active, "already_member"),
        (MembershipStatus::Invited, "already_invited"),
        (MembershipStatus::Declined, "invite_declined"),
    ] {
        let m = nothing_written(draws(finds_name(Mocks::new().at(t(0)), "bob", Some(bob()))));
        let e = service(
            m,
            repo(
                ProjectStatus::Active,
                vec![row(&bob(), status, Role::Member)],
            ),
        )
        .invite(&ann(), Some(t(-60)), invite_input("bob"))
        .await
        .unwrap_err();
        let got = match e {
            MembersError::AlreadyMember => "already_member",
            MembersError::AlreadyInvited => "already_invited",
            MembersError::InviteDeclined => "invite_declined",
            other => panic!("{other:?}"),
        };
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn a_placeholder_created_in_parallel_is_decided_again_and_found() {
    let mut m = token(draws(Mocks::new().at(t(0))), &ann());
    let mut answers = vec![vec![], vec![ghost()]].into_iter();
    m.users
        .expect_find_by_email()
        .times(2)
        .returning(move |_| Ok(answers.next().unwrap()));
    let (m, sets) = applies(
        m,
        vec![Applied::Refused(Conflict::AddressTaken), Applied::Committed],
    );
    service(m, repo(ProjectStatus::Active, vec![]))
        .invite(&ann(), Some(t(-60)), invite_input("ghost@example.com"))
        .await
        .unwrap();
    let sets = sets.lock().unwrap();
    assert!(matches!(sets[0].0[0], Change::CreatePlaceholder(_)));
    assert!(matches!(sets[1].0[0], Change::PutMembership { .. }));
}

#[tokio::test]
async fn a_parallel_invite_of_the_same_user_ends_in_already_invited() {
    let m = draws(finds_address(
        Mocks::new().at(t(0)),
        "ghost@example.com",
        vec![ghost()],
    ));
    let (mut m, _) = applies(m, vec![Applied::Refused(Conflict::MembershipChanged)]);
    m.tokens.expect_issue().never();
    let projects = repo_in(
        stored(ProjectStatus::Active, &["en"]),
        vec![
            vec![],
            vec![row(&ghost(), MembershipStatus::Invited, Role::Member)],
        ],
    );
    let e = service(m, projects)
        .invite(&ann(), Some(t(-60)), invite_input("ghost@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(e, MembersError::AlreadyInvited), "{e:?}");
}

#[tokio::test]
async fn conflicts_that_are_not_decided_again_answer_their_refusal() {
    let cases: Vec<(Conflict, ProjectStatus, &str)> = vec![
        (
            Conflict::TooManyPendingInvites,
            ProjectStatus::Active,
            "cap",
        ),
        (
            Conflict::Limited {
                retry_after_seconds: 9,
            },
            ProjectStatus::Active,
            "429",
        ),
        // Deleted meanwhile: the reload says so.
        (Conflict::ProjectChanged, ProjectStatus::Deleted, "deleted"),
        (Conflict::OwnsProjects, ProjectStatus::Active, "503"),
    ];
    for (conflict, after, want) in cases {
        let m = draws(finds_name(Mocks::new().at(t(0)), "bob", Some(bob())));
        let (mut m, _) = applies(m, vec![Applied::Refused(conflict)]);
        m.tokens.expect_issue().never();
        let mut p = MockProjectRepository::new();
        let mut statuses = vec![ProjectStatus::Active, after].into_iter();
        p.expect_get()
            .returning(move |_| Ok(Some(stored(statuses.next().unwrap_or(after), &["en"]))));
        p.expect_rows_of().returning(|_| Ok(vec![owner_row()]));
        let e = service(m, p)
            .invite(&ann(), Some(t(-60)), invite_input("bob"))
            .await
            .unwrap_err();
        let got = match e {
            MembersError::TooManyPendingInvites => "cap",
            MembersError::TooManyRequests(RateLimited {
                retry_after_seconds: 9,
            }) => "429",
            MembersError::ProjectDeleted => "deleted",
            MembersError::Failure(Failure::Unavailable(_)) => "503",
            other => panic!("{other:?}"),
        };
        assert_eq!(got, want, "{conflict:?}");
    }
}

#[tokio::test]
async fn a_placeholder_that_keeps_changing_gives_up_after_three_tries() {
    let m = draws(finds_address(
        Mocks::new().at(t(0)),
        "ghost@example.com",
        vec![],
    ));
    let (mut m, _) = applies(m, vec![Applied::Refused(Conflict::AddressTaken); 3]);
    m.tokens.expect_issue().never();
    let e = service(m, repo(ProjectStatus::Active, vec![]))
        .invite(&ann(), Some(t(-60)), invite_input("ghost@example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, MembersError::Failure(Failure::Unavailable(_))),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_full_project_answers_the_cap_before_any_name_is_looked_up_or_counted() {
    // With the cap reached, a known and an unknown name get the same 422
    // and nothing is counted: no free oracle between "cap" and "429".
    let mut m = nothing_written(Mocks::new().at(t(0)));
    m.users.expect_find_by_username_ci().never();
    let s = MemberSettings {
        pending_invites_per_project: 2,
        ..settings()
    };
    let full = vec![
        row(&bob(), MembershipStatus::Invited, Role::Member),
        row(&ghost(), MembershipStatus::Invited, Role::Member),
    ];
    let e = service_with(m, repo(ProjectStatus::Active, full), s)
        .invite(&ann(), Some(t(-60)), invite_input("nobody"))
        .await
        .unwrap_err();
    assert!(matches!(e, MembersError::TooManyPendingInvites), "{e:?}");
}

#[tokio::test]
async fn limits_of_zero_still_go_into_the_set_as_switched_off() {
    let m = token(
        draws(finds_name(Mocks::new().at(t(0)), "bob", Some(bob()))),
        &ann(),
    );
    let (m, sets) = applies(m, vec![Applied::Committed]);
    let s = MemberSettings {
        pending_invites_per_project: 0,
        invites_per_hour: 0,
        invites_per_recipient_per_hour: 0,
        ..settings()
    };
    service_with(m, repo(ProjectStatus::Active, vec![]), s)
        .invite(&ann(), Some(t(-60)), invite_input("bob"))
        .await
        .unwrap();
    let sets = sets.lock().unwrap();
    assert_eq!(
        sets[0].0[1..],
        [
            Change::ProjectIsActive(project_id()),
            Change::PendingInvitesAtMost {
                project: project_id(),
                max: 0
            },
            Change::CountHit {
                key: format!("invite:inviter:{}", ann().id),
                limits: hour(0),
            },
            Change::CountHit {
                key: format!("invite:recipient:{}", bob().id),
                limits: hour(0),
            },
        ]
    );
}

// ------------------------------------------------------------------ resend

fn member_input(user: &User) -> MemberInput {
    MemberInput {
        project: project_id(),
        user: user.id,
    }
}

fn gets(mut m: Mocks, user: User) -> Mocks {
    let id = user.id;
    m.users
        .expect_get()
        .withf(move |u| *u == id)
        .returning(move |_| Ok(Some(user.clone())));
    m
}

#[tokio::test]
async fn resend_renews_an_invited_or_declined_row_under_its_status_and_mails_again() {
    for status in [MembershipStatus::Invited, MembershipStatus::Declined] {
        let m = gets(token(draws(Mocks::new().at(t(0))), &ann()), bob());
        let (m, sets) = applies(m, vec![Applied::Committed]);
        let shown = service(
            m,
            repo(
                ProjectStatus::Active,
                vec![row(&bob(), status, Role::Member)],
            ),
        )
        .resend_invite(&ann(), Some(t(-60)), member_input(&bob()))
        .await
        .unwrap();
        let sets = sets.lock().unwrap();
        // Under the invitation read (a parallel decline or resend makes
        // it decide again).
        let read = row(&bob(), status, Role::Member);
        let mut want = vec![
            Change::InvitationSentAt {
                project: read.project,
                user: bob().id,
                sent_at: read.invitation.as_ref().map(|i| i.sent_at),
            },
            Change::PutMembership {
                membership: invited_row(&bob(), "bob@example.com"),
                expected: Some(status),
            },
        ];
        want.extend(tail(&bob().id.to_string()));
        assert_eq!(sets[0].0, want, "{status}");
        assert!(sets[0].1[0].text.contains(&link_for(&bob())));
        assert_eq!(shown.rows[0].status, MembershipStatus::Invited);
    }
}

#[tokio::test]
async fn resend_of_an_active_row_or_none_is_no_row_and_only_the_owner_resends() {
    for others in [
        vec![row(&bob(), MembershipStatus::Active, Role::Member)],
        vec![],
    ] {
        let m = nothing_written(draws(Mocks::new().at(t(0))));
        let e = service(m, repo(ProjectStatus::Active, others))
            .resend_invite(&ann(), Some(t(-60)), member_input(&bob()))
            .await
            .unwrap_err();
        assert!(matches!(e, MembersError::NoRow), "{e:?}");
    }
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(
        m,
        repo(
            ProjectStatus::Active,
            vec![row(&bob(), MembershipStatus::Active, Role::Member)],
        ),
    )
    .resend_invite(&bob(), Some(t(-60)), member_input(&bob()))
    .await
    .unwrap_err();
    assert!(matches!(e, MembersError::NotOwner), "{e:?}");
    let m = nothing_written(draws(Mocks::new().at(t(0))));
    let e = service(m, repo(ProjectStatus::Deleted, vec![]))
        .resend_invite(&ann(), Some(t(-60)), member_input(&bob()))
        .await
        .unwrap_err();
    assert!(matches!(e, MembersError::ProjectDeleted), "{e:?}");
}

#[tokio::test]
async fn resend_racing_an_accept_is_decided_again() {
    let m = gets(draws(Mocks::new().at(t(0))), bob());
    let (mut m, _) = applies(m, vec![Applied::Refused(Conflict::MembershipChanged)]);
    m.tokens.expect_issue().never();
    let projects = repo_in(
        stored(ProjectStatus::Active, &["en"]),
        vec![
            vec![row(&bob(), MembershipStatus::Invited, Role::Member)],
            vec![row(&bob(), MembershipStatus::Active, Role::Member)],
        ],
    );
    let e = service(m, projects)
        .resend_invite(&ann(), Some(t(-60)), member_input(&bob()))
        .await
        .unwrap_err();
    assert!(matches!(e, MembersError::NoRow), "{e:?}");
}

// ------------------------------------------------------------------ remove

#[tokio::test]
async fn remove_takes_the_row_and_a_placeholder_left_with_none_in_one_set() {
    for (caller, target, status) in [
        (ann(), ghost(), MembershipStatus::Invited),
        (ann(), bob(), MembershipStatus::Active),
        (bob(), bob(), MembershipStatus::Active),
        (bob(), bob(), MembershipStatus::Invited),
        // A declined row is hidden from its user, who may still remove it
        // (spec section 6).
        (bob(), bob(), MembershipStatus::Declined),
    ] {
        let m = token(Mocks::new().at(t(0)), &caller);
        let (m, sets) = applies(m, vec![Applied::Committed]);
        let token = service(
            m,
            repo(
                ProjectStatus::Active,
                vec![row(&target, status, Role::Member)],
            ),
        )
        .remove(&caller, Some(t(-60)), member_input(&target))
        .await
        .unwrap();
        assert_eq!(token, TOKEN);
        let sets = sets.lock().unwrap();
        assert_eq!(
            sets[0].0,
            vec![
                Change::RemoveMembership {
                    project: project_id(),
                    user: target.id,
                    expected: status,
                },
                Change::DeletePlaceholderIfUnused(target.id),
            ]
        );
        assert!(sets[0].1.is_empty());
    }
}

#[tokio::test]
async fn remove_refusals_follow_the_domain() {
    let bob_row = || vec![row(&bob(), MembershipStatus::Active, Role::Member)];
    let with_cy = || {
        vec![
            row(&bob(), MembershipStatus::Active, Role::Member),
            row(&cy(), MembershipStatus::Invited, Role::Member),
        ]
    };
    let cases: Vec<(User, User, Vec<Membership>, ProjectStatus, &str)> = vec![
        (
            ann(),
            ann(),
            bob_row(),
            ProjectStatus::Active,
            "owner_cannot_leave",
        ),
        (ann(), cy(), bob_row(), ProjectStatus::Active, "no_row"),
        (bob(), cy(), with_cy(), ProjectStatus::Active, "forbidden"),
        (cy(), bob(), bob_row(), ProjectStatus::Active, "hidden"),
        // Removing one's own row is leaving: on a deleted project, 422
        // as `account/leave_project` answers.
        (
            bob(),
            bob(),
            bob_row(),
            ProjectStatus::Deleted,
            "project_deleted",
        ),
    ];
    for (caller, target, rows, status, want) in cases {
        let m = nothing_written(Mocks::new().at(t(0)));
        let e = service(m, repo(status, rows))
            .remove(&caller, Some(t(-60)), member_input(&target))
            .await
            .unwrap_err();
        let got = match e {
            MembersError::OwnerCannotLeave => "owner_cannot_leave",
            MembersError::NoRow => "no_row",
            MembersError::NotOwner => "forbidden",
            MembersError::NotVisible => "hidden",
            MembersError::ProjectDeleted => "project_deleted",
            other => panic!("{other:?}"),
        };
        assert_eq!(
            got,
            want,
            "{} removes {}",
            caller.username_str(),
            target.username_str()
        );
    }
}

#[tokio::test]
async fn remove_racing_a_decline_is_decided_again_with_the_new_status() {
    let m = token(Mocks::new().at(t(0)), &ann());
    let (m, sets) = applies(
        m,
        vec![
            Applied::Refused(Conflict::MembershipChanged),
            Applied::Committed,
        ],
    );
    let projects = repo_in(
        stored(ProjectStatus::Active, &["en"]),
        vec![
            vec![row(&bob(), MembershipStatus::Invited, Role::Member)],
            vec![row(&bob(), MembershipStatus::Declined, Role::Member)],
        ],
    );
    service(m, projects)
        .remove(&ann(), Some(t(-60)), member_input(&bob()))
        .await
        .unwrap();
    let sets = sets.lock().unwrap();
    assert_eq!(
        sets[1].0[0],
        Change::RemoveMembership {
            project: project_id(),
            user: bob().id,
            expected: MembershipStatus::Declined,
        }
    );
}

// ------------------------------------------------------------------ get

fn get_input(users: &[&User], one: bool) -> GetMembersInput {
    GetMembersInput {
        project: project_id(),
        users: users.iter().map(|u| u.id).collect(),
        one,
    }
}

fn get_many(mut m: Mocks, want: Vec<UserId>, found: Vec<User>) -> Mocks {
    m.users
        .expect_get_many()
        .withf(move |ids| ids == want.as_slice())
        .times(1)
        .return_once(move |_| Ok(found));
    m
}

#[tokio::test]
async fn get_answers_the_rows_in_the_order_sent_without_repeats_in_one_batch_read() {
    let m = get_many(
        token(Mocks::new().at(t(0)), &ann()),
        vec![bob().id, ghost().id],
        vec![bob(), ghost()],
    );
    let rows = vec![
        row(&bob(), MembershipStatus::Active, Role::Member),
        row(&ghost(), MembershipStatus::Invited, Role::Member),
    ];
    let shown = service(m, repo(ProjectStatus::Active, rows.clone()))
        .get(
            &ann(),
            Some(t(-60)),
            get_input(&[&bob(), &ann(), &bob(), &ghost()], false),
        )
        .await
        .unwrap();
    assert_eq!(
        shown.rows,
        vec![rows[0].clone(), owner_row(), rows[1].clone()]
    );
    let users: Vec<(UserId, bool)> = shown
        .users
        .iter()
        .map(|u| (u.user.id, u.complete))
        .collect();
    assert_eq!(
        users,
        vec![(bob().id, false), (ann().id, true), (ghost().id, false)]
    );
    assert!(!shown.one);
    assert_eq!(shown.token, TOKEN);
}

#[tokio::test]
async fn a_member_sees_active_rows_with_other_addresses_hidden_and_nothing_else() {
    let rows = vec![
        row(&bob(), MembershipStatus::Active, Role::Member),
        row(&cy(), MembershipStatus::Invited, Role::Member),
    ];
    let m = get_many(
        token(Mocks::new().at(t(0)), &bob()),
        vec![ann().id],
        vec![ann()],
    );
    let shown = service(m, repo(ProjectStatus::Active, rows.clone()))
        .get(&bob(), Some(t(-60)), get_input(&[&ann(), &bob()], false))
        .await
        .unwrap();
    assert_eq!(shown.rows[0].notifications.email, None);
    assert_eq!(
        shown.rows[1].notifications.email,
        Some(email("bob@example.com"))
    );
    // Cy's invited row is hidden from a member: 422 for the whole call.
    let m = nothing_written(Mocks::new().at(t(0)));
    let e = service(m, repo(ProjectStatus::Active, rows))
        .get(&bob(), Some(t(-60)), get_input(&[&ann(), &cy()], false))
        .await
        .unwrap_err();
    assert!(matches!(e, MembersError::NoRow), "{e:?}");
}

#[tokio::test]
async fn get_of_oneself_reads_no_user_and_a_hidden_project_is_403() {
    let mut m = token(Mocks::new().at(t(0)), &ann());
    m.users.expect_get_many().never();
    let shown = service(m, repo(ProjectStatus::Active, vec![]))
        .get(&ann(), Some(t(-60)), get_input(&[&ann()], true))
        .await
        .unwrap();
    assert!(shown.one && shown.users[0].complete);
    for (caller, projects) in [
        (ann(), unknown_repo()),
        (cy(), repo(ProjectStatus::Active, vec![])),
    ] {
        let e = service(nothing_written(Mocks::new().at(t(0))), projects)
            .get(&caller, Some(t(-60)), get_input(&[&ann()], true))
            .await
            .unwrap_err();
        assert!(matches!(e, MembersError::NotVisible), "{e:?}");
    }
}

#[tokio::test]
async fn a_store_failure_is_a_failure_and_a_token_never_shows_in_debug() {
    let mut p = MockProjectRepository::new();
    p.expect_get().returning(|_| Err(unavailable()));
    let e = service(nothing_written(Mocks::new().at(t(0))), p)
        .get(&ann(), Some(t(-60)), get_input(&[&ann()], true))
        .await
        .unwrap_err();
    assert!(
        matches!(e, MembersError::Failure(Failure::Unavailable(_))),
        "{e:?}"
    );
    let shown = MembersShown {
        project: project_id(),
        rows: vec![],
        users: vec![],
        one: true,
        token: "secret-token".into(),
    };
    assert!(!format!("{shown:?}").contains("secret-token"));
}
