//! Unit tests of `account/update`, `users/get` and `username`, with every
//! port mocked.

use super::*;
use crate::unicat::test_support::*;
use accountd_domain::{
    Membership, MembershipStatus, Notifications, OutgoingMail, PasswordHash, Project, ProjectId,
    ProjectStatus, Purpose, Role, UserStatus,
};
use accountd_ports::{Applied, MockProjectRepository, RateDecision};
use accountd_testkit::OTHER_STRONG;

/// Recent: a login a minute before t(0).
fn recent() -> Option<Timestamp> {
    Some(t(-60))
}

/// Stale: a login over 900 seconds before t(0).
fn stale() -> Option<Timestamp> {
    Some(t(-1000))
}

fn new_hash() -> PasswordHash {
    hash("$2b$04$the-new-hash")
}

/// The service over `m`, with `projects` as its project repository.
fn accounts_with(mut m: Mocks, projects: MockProjectRepository) -> Accounts {
    m.projects = MockProjectRepository::new();
    m.projects.expect_views_for().never();
    let (ports, sessions) = m.build();
    Accounts::new(ports, sessions, Arc::new(projects), settings())
}

fn accounts(m: Mocks) -> Accounts {
    let mut projects = MockProjectRepository::new();
    projects.expect_shared_rows().never();
    accounts_with(m, projects)
}

/// Nothing is looked up, hashed, written or issued.
fn quiet(mut m: Mocks) -> Mocks {
    m.users.expect_find_by_username_ci().never();
    m.users.expect_get().never();
    m.hasher.expect_hash().never();
    m.hasher.expect_verify().never();
    m.writes.expect_update_account().never();
    m.tokens.expect_issue().never();
    m
}

/// One token for `user` at `version` carrying `auth_time`.
fn token(mut m: Mocks, user: UserId, version: i64, auth_time: Option<Timestamp>) -> Mocks {
    m.tokens
        .expect_issue()
        .withf(move |u, v, a, n| (*u, *v, *a, *n) == (user, version, auth_time, t(0)))
        .times(1)
        .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
    m
}

/// One case-insensitive lookup of `name`, answering `found`.
fn lookup(mut m: Mocks, name: &'static str, found: Option<User>) -> Mocks {
    m.users
        .expect_find_by_username_ci()
        .withf(move |n| n == name)
        .times(1)
        .return_once(move |_| Ok(found));
    m
}

/// One update set equal to `changes` with mail to `to`, answering `applied`.
fn writes(
    mut m: Mocks,
    changes: Vec<Change>,
    to: &'static [&'static str],
    applied: Applied,
) -> Mocks {
    m.writes
        .expect_update_account()
        .withf(move |c, mails: &Vec<OutgoingMail>| {
            let got: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
            *c == changes && got == to
        })
        .times(1)
        .return_once(move |_, _| Ok(applied));
    m
}

fn profile(
    username: Option<&str>,
    name: Option<&str>,
    language: Option<&str>,
    timezone: Option<&str>,
) -> Change {
    Change::UpdateProfile {
        user: ann().id,
        expected_version: 3,
        username: username.map(|u| Username::parse(u).unwrap()),
        name: name.map(str::to_owned),
        language: language.map(str::to_owned),
        timezone: timezone.map(str::to_owned),
    }
}

fn password_change() -> [Change; 2] {
    [
        Change::SetPassword {
            user: ann().id,
            hash: new_hash(),
            expected_version: 3,
        },
        Change::ConsumeOpenChallenges {
            key: format!("user:{}", ann().id),
            purposes: vec![Purpose::ForgotPassword, Purpose::ResetPassword],
        },
    ]
}

fn hashes(mut m: Mocks, password: &'static str) -> Mocks {
    m.hasher
        .expect_hash()
        .withf(move |p| p.expose() == password)
        .times(1)
        .returning(|_| Ok(new_hash()));
    m
}

async fn update(
    m: Mocks,
    auth_time: Option<Timestamp>,
    input: UpdateInput,
) -> Result<Updated, UpdateError> {
    accounts(m).update(&ann(), auth_time, input).await
}

#[track_caller]
fn assert_invalid(r: Result<Updated, UpdateError>, field: &str, reason: Reason) {
    match r {
        Err(UpdateError::Invalid(i)) => assert_eq!((i.field, i.reason), (field, reason)),
        other => panic!("expected {field} {reason:?}, got {other:?}"),
    }
}

// -------------------------------------------------------------- refusals

#[tokio::test]
async fn an_update_without_any_field_is_nothing_to_update_and_touches_nothing() {
    let m = quiet(Mocks::new());
    let input = UpdateInput {
        current_password: Some(STRONG.into()),
        ..UpdateInput::default()
    };
    let r = update(m, recent(), input).await;
    assert_invalid(r, "body", Reason::NothingToUpdate);
}

#[tokio::test]
async fn an_invalid_username_is_refused_before_any_lookup() {
    let m = quiet(Mocks::new().at(t(0)));
    let input = UpdateInput {
        username: Some("no spaces".into()),
        name: Some("x".into()),
        ..UpdateInput::default()
    };
    assert_invalid(
        update(m, recent(), input).await,
        "username",
        Reason::UsernameInvalid,
    );
}

#[tokio::test]
async fn a_username_another_account_holds_in_any_case_is_unavailable() {
    let bob = user(2, "bob", UserStatus::Deleted, &[]);
    let mut m = lookup(Mocks::new().at(t(0)), "BOB", Some(bob));
    m.writes.expect_update_account().never();
    m.tokens.expect_issue().never();
    let input = UpdateInput {
        username: Some("BOB".into()),
        ..UpdateInput::default()
    };
    assert_invalid(
        update(m, recent(), input).await,
        "username",
        Reason::UsernameUnavailable,
    );
}

#[tokio::test]
async fn a_weak_password_is_refused_with_suggestions_before_recent_auth() {
    let m = quiet(Mocks::new().at(t(0)));
    let input = UpdateInput {
        password: Some(WEAK.into()),
        ..UpdateInput::default()
    };
    match update(m, stale(), input).await {
        Err(UpdateError::Invalid(i)) => {
            assert_eq!((i.field, i.reason), ("password", Reason::PasswordWeak));
            assert!(i.suggestions.is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_password_containing_the_new_username_is_weak() {
    let m = lookup(quiet_lookups(Mocks::new().at(t(0))), "correcthorse", None);
    let input = UpdateInput {
        username: Some("correcthorse".into()),
        password: Some("correcthorse battery staple".into()),
        ..UpdateInput::default()
    };
    assert_invalid(
        update(m, recent(), input).await,
        "password",
        Reason::PasswordWeak,
    );
}

/// As [`quiet`], but a username lookup may be expected by the test.
fn quiet_lookups(mut m: Mocks) -> Mocks {
    m.hasher.expect_hash().never();
    m.writes.expect_update_account().never();
    m.tokens.expect_issue().never();
    m
}

#[tokio::test]
async fn a_name_over_200_characters_or_with_a_control_character_is_name_invalid() {
    for name in ["é".repeat(201), "Ann\u{7}".to_owned(), "A\nB".to_owned()] {
        let m = quiet(Mocks::new().at(t(0)));
        let input = UpdateInput {
            name: Some(name),
            ..UpdateInput::default()
        };
        assert_invalid(
            update(m, recent(), input).await,
            "name",
            Reason::NameInvalid,
        );
    }
}

#[tokio::test]
async fn a_language_outside_the_ui_languages_is_unsupported() {
    for language in ["fr", "EN", ""] {
        let m = quiet(Mocks::new().at(t(0)));
        let input = UpdateInput {
            language: Some(language.into()),
            ..UpdateInput::default()
        };
        assert_invalid(
            update(m, recent(), input).await,
            "language",
            Reason::LanguageUnsupported,
        );
    }
}

#[tokio::test]
async fn a_time_zone_the_tz_database_does_not_know_is_unsupported() {
    for tz in ["Europe/Atlantis", "europe/amsterdam", ""] {
        let m = quiet(Mocks::new().at(t(0)));
        let input = UpdateInput {
            timezone: Some(tz.into()),
            ..UpdateInput::default()
        };
        assert_invalid(
            update(m, recent(), input).await,
            "timezone",
            Reason::TimezoneUnsupported,
        );
    }
}

#[tokio::test]
async fn the_first_refused_field_in_field_order_is_the_answer() {
    let m = quiet(Mocks::new().at(t(0)));
    let input = UpdateInput {
        name: Some("\u{0}".into()),
        language: Some("xx".into()),
        timezone: Some("Nowhere".into()),
        ..UpdateInput::default()
    };
    assert_invalid(
        update(m, recent(), input).await,
        "name",
        Reason::NameInvalid,
    );
}

#[tokio::test]
async fn a_password_change_on_a_stale_session_without_current_password_needs_reauthentication() {
    let m = quiet(Mocks::new().at(t(0)));
    let input = UpdateInput {
        password: Some(OTHER_STRONG.into()),
        name: Some("Ann".into()),
        ..UpdateInput::default()
    };
    let r = update(m, stale(), input).await;
    assert!(
        matches!(r, Err(UpdateError::Recent(RecentAuthError::Required))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_profile_change_on_a_stale_session_needs_no_reauthentication() {
    let m = writes(
        Mocks::new().at(t(0)),
        vec![profile(None, Some("Ann Lee"), None, None)],
        &[],
        Applied::Committed,
    );
    let m = token(m, ann().id, 3, stale());
    let input = UpdateInput {
        name: Some("  Ann Lee  ".into()),
        ..UpdateInput::default()
    };
    let u = update(m, stale(), input).await.unwrap();
    assert_eq!(u.user.name, "Ann Lee");
    assert_eq!(u.token, TOKEN);
}

// -------------------------------------------------------------- success

#[tokio::test]
async fn a_profile_update_writes_only_the_given_columns_and_copies_the_auth_time() {
    let m = lookup(Mocks::new().at(t(0)), "annie", None);
    let m = writes(
        m,
        vec![profile(
            Some("annie"),
            None,
            Some("nl"),
            Some("America/New_York"),
        )],
        &[],
        Applied::Committed,
    );
    let mut m = token(m, ann().id, 3, recent());
    m.hasher.expect_hash().never();
    let input = UpdateInput {
        username: Some("annie".into()),
        language: Some("nl".into()),
        timezone: Some("America/New_York".into()),
        ..UpdateInput::default()
    };
    let u = update(m, recent(), input).await.unwrap();
    assert_eq!(
        u.user,
        User {
            username: Some(Username::parse("annie").unwrap()),
            language: "nl".into(),
            timezone: "America/New_York".into(),
            ..ann()
        }
    );
}

#[tokio::test]
async fn the_callers_own_name_in_another_case_needs_no_lookup() {
    let mut m = writes(
        Mocks::new().at(t(0)),
        vec![profile(Some("ANN"), None, None, None)],
        &[],
        Applied::Committed,
    );
    m.users.expect_find_by_username_ci().never();
    let m = token(m, ann().id, 3, recent());
    let input = UpdateInput {
        username: Some("ANN".into()),
        ..UpdateInput::default()
    };
    let u = update(m, recent(), input).await.unwrap();
    assert_eq!(u.user.username_str(), "ANN");
}

#[tokio::test]
async fn a_password_change_bumps_the_version_mails_every_address_and_proves_a_credential() {
    let m = hashes(Mocks::new().at(t(0)), OTHER_STRONG);
    let m = writes(
        m,
        password_change().to_vec(),
        &["ann@example.com", "a.lee@work.example"],
        Applied::Committed,
    );
    let m = token(m, ann().id, 4, Some(t(0)));
    let input = UpdateInput {
        password: Some(OTHER_STRONG.into()),
        ..UpdateInput::default()
    };
    let u = update(m, recent(), input).await.unwrap();
    assert_eq!(u.user.credential_version, 4);
    assert_eq!(u.user.password_hash, Some(new_hash()));
}

#[tokio::test]
async fn a_stale_session_changes_the_password_with_the_right_current_password() {
    let mut m = hashes(Mocks::new().at(t(0)), OTHER_STRONG);
    m.hasher
        .expect_verify()
        .withf(|c, h| c == STRONG && *h == ann().password_hash)
        .times(1)
        .returning(|_, _| Ok(true));
    let mut changes = vec![profile(None, Some("Ann"), None, None)];
    changes.extend(password_change());
    let m = writes(
        m,
        changes,
        &["ann@example.com", "a.lee@work.example"],
        Applied::Committed,
    );
    let m = token(m, ann().id, 4, Some(t(0)));
    let input = UpdateInput {
        password: Some(OTHER_STRONG.into()),
        name: Some("Ann".into()),
        current_password: Some(STRONG.into()),
        ..UpdateInput::default()
    };
    let u = update(m, stale(), input).await.unwrap();
    assert_eq!(
        (u.user.name.as_str(), u.user.credential_version),
        ("Ann", 4)
    );
}

#[tokio::test]
async fn a_wrong_current_password_on_a_stale_session_changes_nothing() {
    let mut m = Mocks::new().at(t(0));
    m.hasher
        .expect_verify()
        .times(1)
        .returning(|_, _| Ok(false));
    m.hasher.expect_hash().never();
    m.writes.expect_update_account().never();
    m.tokens.expect_issue().never();
    let input = UpdateInput {
        password: Some(OTHER_STRONG.into()),
        current_password: Some("wrong".into()),
        ..UpdateInput::default()
    };
    let r = update(m, stale(), input).await;
    assert!(
        matches!(r, Err(UpdateError::Recent(RecentAuthError::Required))),
        "{r:?}"
    );
}

// -------------------------------------------------------------- lost races

#[tokio::test]
async fn a_username_taken_meanwhile_is_unavailable() {
    let m = lookup(Mocks::new().at(t(0)), "annie", None);
    let mut m = writes(
        m,
        vec![profile(Some("annie"), None, None, None)],
        &[],
        Applied::Refused(Conflict::UsernameTaken),
    );
    m.tokens.expect_issue().never();
    let input = UpdateInput {
        username: Some("annie".into()),
        ..UpdateInput::default()
    };
    assert_invalid(
        update(m, recent(), input).await,
        "username",
        Reason::UsernameUnavailable,
    );
}

#[tokio::test]
async fn a_password_changed_meanwhile_revokes_the_session_and_changes_nothing() {
    let mut m = writes(
        Mocks::new().at(t(0)),
        vec![profile(None, Some("Ann"), None, None)],
        &[],
        Applied::Refused(Conflict::UserChanged),
    );
    m.users.expect_get().times(1).returning(|_| {
        Ok(Some(User {
            credential_version: 4,
            ..ann()
        }))
    });
    m.tokens.expect_issue().never();
    let input = UpdateInput {
        name: Some("Ann".into()),
        ..UpdateInput::default()
    };
    let r = update(m, recent(), input).await;
    assert!(matches!(r, Err(UpdateError::Revoked)), "{r:?}");
}

#[tokio::test]
async fn a_user_conflict_with_an_unchanged_version_is_unavailable() {
    let mut m = writes(
        Mocks::new().at(t(0)),
        vec![profile(None, Some("Ann"), None, None)],
        &[],
        Applied::Refused(Conflict::UserChanged),
    );
    m.users.expect_get().times(1).returning(|_| Ok(Some(ann())));
    m.tokens.expect_issue().never();
    let input = UpdateInput {
        name: Some("Ann".into()),
        ..UpdateInput::default()
    };
    let r = update(m, recent(), input).await;
    assert!(
        matches!(r, Err(UpdateError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_storage_failure_of_the_write_is_a_failure() {
    let mut m = Mocks::new().at(t(0));
    m.writes
        .expect_update_account()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    m.tokens.expect_issue().never();
    let input = UpdateInput {
        name: Some("Ann".into()),
        ..UpdateInput::default()
    };
    let r = update(m, recent(), input).await;
    assert!(
        matches!(r, Err(UpdateError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

// -------------------------------------------------------------- users/get

fn project(owner: UserId, status: ProjectStatus) -> Project {
    Project {
        id: ProjectId::from_random_bytes([42; 16]),
        name: "p".into(),
        icon: None,
        owner,
        status,
        timezone: "UTC".into(),
        languages: vec!["en".into()],
    }
}

fn row(user: UserId, status: MembershipStatus, role: Role) -> Membership {
    Membership {
        project: ProjectId::from_random_bytes([42; 16]),
        user,
        status,
        roles: vec![role],
        notifications: Notifications::default(),
        rate_limit_per_second: None,
        invitation: None,
    }
}

fn shared(rows: Vec<(Project, Membership, Membership)>) -> MockProjectRepository {
    let mut p = MockProjectRepository::new();
    p.expect_shared_rows()
        .withf(|v, o| (*v, *o) == (user_id(1), user_id(2)))
        .times(1)
        .return_once(move |_, _| Ok(rows));
    p
}

#[tokio::test]
async fn users_get_of_oneself_is_the_complete_form_without_a_project_read() {
    let mut m = token(Mocks::new().at(t(0)), ann().id, 3, recent());
    m.users.expect_get().never();
    let shown = accounts(m)
        .get_user(&ann(), recent(), ann().id)
        .await
        .unwrap();
    assert!(shown.complete);
    assert_eq!(shown.user, ann());
    assert_eq!(shown.token, TOKEN);
}

#[tokio::test]
async fn users_get_shows_the_owner_of_a_project_the_caller_is_invited_to() {
    let bob = user(2, "bob", UserStatus::Active, &["bob@example.com"]);
    let mut m = token(Mocks::new().at(t(0)), ann().id, 3, recent());
    let found = bob.clone();
    m.users
        .expect_get()
        .withf(|id| *id == user_id(2))
        .times(1)
        .return_once(move |_| Ok(Some(found)));
    let rows = vec![(
        project(user_id(2), ProjectStatus::Active),
        row(user_id(1), MembershipStatus::Invited, Role::Member),
        row(user_id(2), MembershipStatus::Active, Role::Owner),
    )];
    let shown = accounts_with(m, shared(rows))
        .get_user(&ann(), recent(), user_id(2))
        .await
        .unwrap();
    assert!(!shown.complete);
    assert_eq!(shown.user, bob);
}

#[tokio::test]
async fn users_get_of_a_user_whose_rows_the_caller_may_not_see_is_not_visible() {
    let cases = [
        // Both invited by someone else.
        vec![(
            project(user_id(3), ProjectStatus::Active),
            row(user_id(1), MembershipStatus::Invited, Role::Member),
            row(user_id(2), MembershipStatus::Invited, Role::Member),
        )],
        // Bob's deleted project.
        vec![(
            project(user_id(2), ProjectStatus::Deleted),
            row(user_id(1), MembershipStatus::Active, Role::Member),
            row(user_id(2), MembershipStatus::Active, Role::Owner),
        )],
        // Nothing shared (or an unknown gid).
        vec![],
    ];
    for rows in cases {
        let mut m = Mocks::new().at(t(0));
        m.users.expect_get().never();
        m.tokens.expect_issue().never();
        let r = accounts_with(m, shared(rows))
            .get_user(&ann(), recent(), user_id(2))
            .await;
        assert!(matches!(r, Err(GetUserError::NotVisible)), "{r:?}");
    }
}

#[tokio::test]
async fn users_get_of_a_row_without_a_stored_user_is_not_visible() {
    let mut m = Mocks::new().at(t(0));
    m.users.expect_get().times(1).returning(|_| Ok(None));
    m.tokens.expect_issue().never();
    let rows = vec![(
        project(user_id(1), ProjectStatus::Active),
        row(user_id(1), MembershipStatus::Active, Role::Owner),
        row(user_id(2), MembershipStatus::Declined, Role::Member),
    )];
    let r = accounts_with(m, shared(rows))
        .get_user(&ann(), recent(), user_id(2))
        .await;
    assert!(matches!(r, Err(GetUserError::NotVisible)), "{r:?}");
}

// -------------------------------------------------------------- username

fn lookup_limits() -> Vec<Limit> {
    vec![Limit {
        window_seconds: 3600,
        max: 600,
    }]
}

fn counted(m: Mocks, decision: RateDecision) -> Mocks {
    m.at(t(0)).hit(
        &format!("lookup:ip:{CLIENT}"),
        lookup_limits(),
        t(0),
        decision,
    )
}

#[tokio::test]
async fn a_free_valid_username_is_available() {
    let m = lookup(counted(Mocks::new(), RateDecision::Allowed), "Zoë", None);
    let a = accounts(m).username_available("Zoë", CLIENT).await.unwrap();
    assert_eq!(a, Availability::Available);
}

#[tokio::test]
async fn a_name_held_by_any_account_in_any_case_and_status_is_unavailable() {
    let deleted = user(2, "bob", UserStatus::Deleted, &[]);
    let m = lookup(
        counted(Mocks::new(), RateDecision::Allowed),
        "BOB",
        Some(deleted),
    );
    let a = accounts(m).username_available("BOB", CLIENT).await.unwrap();
    assert_eq!(a, Availability::Unavailable(Reason::UsernameUnavailable));
}

#[tokio::test]
async fn an_invalid_name_is_unavailable_without_a_lookup_but_counted() {
    let mut m = counted(Mocks::new(), RateDecision::Allowed);
    m.users.expect_find_by_username_ci().never();
    let a = accounts(m).username_available("a b", CLIENT).await.unwrap();
    assert_eq!(a, Availability::Unavailable(Reason::UsernameInvalid));
}

#[tokio::test]
async fn a_client_over_its_lookup_limit_is_told_when_to_come_back() {
    let mut m = counted(
        Mocks::new(),
        RateDecision::Limited {
            retry_after_seconds: 42,
        },
    );
    m.users.expect_find_by_username_ci().never();
    let r = accounts(m).username_available("ann", CLIENT).await;
    assert!(
        matches!(
            r,
            Err(LookupError::TooManyRequests(RateLimited {
                retry_after_seconds: 42
            }))
        ),
        "{r:?}"
    );
}
