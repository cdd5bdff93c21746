//! Unit tests of login, token authentication and session opening, with
//! every port mocked.

use super::*;
use crate::unicat::test_support::*;
use accountd_domain::{Timestamp, UserStatus};
use accountd_ports::{HashError, MockLoginThrottle, TokenClaims};

fn sessions(m: Mocks) -> Sessions {
    m.build().1
}

/// Ann's stored hash.
fn ann_hash() -> Option<accountd_domain::PasswordHash> {
    ann().password_hash
}

/// One case-insensitive lookup of `name`, answering `found`.
fn by_name(mut m: Mocks, name: &'static str, found: Option<User>) -> Mocks {
    m.users
        .expect_find_by_username_ci()
        .withf(move |n| n == name)
        .times(1)
        .return_once(move |_| Ok(found));
    m
}

/// One verification of `password` against `against`, answering `ok`.
fn verified(
    mut m: Mocks,
    password: &'static str,
    against: Option<accountd_domain::PasswordHash>,
    ok: bool,
) -> Mocks {
    m.hasher
        .expect_verify()
        .withf(move |c, h| c == password && *h == against)
        .times(1)
        .returning(move |_, _| Ok(ok));
    m
}

async fn login(m: Mocks, username: &str, password: &str) -> Result<Session, LoginError> {
    sessions(m)
        .login(LoginInput {
            username: username.to_owned(),
            password: password.into(),
        })
        .await
}

// --------------------------------------------------------------------- login

#[tokio::test]
async fn an_unknown_username_is_checked_against_the_dummy_hash_and_is_unknown_user() {
    let m = verified(
        by_name(Mocks::new().at(t(0)), "ghost", None),
        STRONG,
        None,
        false,
    )
    .no_session();

    let r = login(m, "ghost", STRONG).await;

    assert!(matches!(r, Err(LoginError::UnknownUser)), "{r:?}");
}

#[tokio::test]
async fn an_unknown_username_is_refused_even_if_the_dummy_check_said_yes() {
    let m = verified(
        by_name(Mocks::new().at(t(0)), "ghost", None),
        STRONG,
        None,
        true,
    )
    .no_session();

    let r = login(m, "ghost", STRONG).await;

    assert!(matches!(r, Err(LoginError::UnknownUser)), "{r:?}");
}

#[tokio::test]
async fn a_username_in_the_wrong_case_is_unknown_user_after_one_dummy_check() {
    // "ann" finds "Ann" case-insensitively, but login is case-sensitive:
    // the real hash is never tried, the dummy one is.
    let m = verified(
        by_name(Mocks::new().at(t(0)), "ann", Some(ann())),
        STRONG,
        None,
        false,
    )
    .no_session();

    let r = login(m, "ann", STRONG).await;

    assert!(matches!(r, Err(LoginError::UnknownUser)), "{r:?}");
}

#[tokio::test]
async fn a_wrong_password_is_unknown_user() {
    let m = verified(
        by_name(Mocks::new().at(t(0)), "Ann", Some(ann())),
        "not the password",
        ann_hash(),
        false,
    )
    .no_session();

    let r = login(m, "Ann", "not the password").await;

    assert!(matches!(r, Err(LoginError::UnknownUser)), "{r:?}");
}

#[tokio::test]
async fn an_invited_or_deleted_user_is_unknown_user_even_with_the_right_password() {
    for status in [UserStatus::Invited, UserStatus::Deleted] {
        let inactive = User { status, ..ann() };
        // The stored hash is not tried: only the dummy one.
        let m = verified(
            by_name(Mocks::new().at(t(0)), "Ann", Some(inactive)),
            STRONG,
            None,
            false,
        )
        .no_session();

        let r = login(m, "Ann", STRONG).await;

        assert!(
            matches!(r, Err(LoginError::UnknownUser)),
            "{status:?}: {r:?}"
        );
    }
}

#[tokio::test]
async fn the_right_password_opens_a_session_at_the_users_credential_version() {
    let m = verified(
        by_name(Mocks::new().at(t(0)), "Ann", Some(ann())),
        STRONG,
        ann_hash(),
        true,
    )
    .session_for(user_id(1), 3, t(0));

    let session = login(m, "Ann", STRONG).await.unwrap();

    assert_eq!(session.user, ann());
    assert_eq!(session.token, TOKEN);
    assert_eq!(session.projects, vec![project_of(user_id(1))]);
}

#[tokio::test]
async fn an_overloaded_hasher_is_overloaded_with_its_retry_time() {
    let mut m = by_name(Mocks::new().at(t(0)), "Ann", Some(ann())).no_session();
    m.hasher.expect_verify().times(1).returning(|_, _| {
        Err(accountd_ports::HashError::Overloaded {
            retry_after_seconds: 5,
        })
    });

    let r = login(m, "Ann", STRONG).await;

    assert!(
        matches!(
            r,
            Err(LoginError::Failure(Failure::Overloaded {
                retry_after_seconds: 5
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_hasher_failure_is_unexpected() {
    let mut m = by_name(Mocks::new().at(t(0)), "Ann", Some(ann())).no_session();
    m.hasher.expect_verify().times(1).returning(|_, _| {
        Err(accountd_ports::HashError::Unexpected(anyhow::anyhow!(
            "pool gone"
        )))
    });

    let r = login(m, "Ann", STRONG).await;

    assert!(
        matches!(r, Err(LoginError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_database_outage_during_login_is_unavailable_and_no_hash_is_checked() {
    let mut m = Mocks::new().at(t(0)).no_session();
    m.users
        .expect_find_by_username_ci()
        .times(1)
        .returning(|_| Err(unavailable()));
    m.hasher.expect_verify().never();

    let r = login(m, "Ann", STRONG).await;

    assert!(
        matches!(r, Err(LoginError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_token_that_cannot_be_signed_fails_the_login_as_unexpected() {
    let mut m = verified(
        by_name(Mocks::new().at(t(0)), "Ann", Some(ann())),
        STRONG,
        ann_hash(),
        true,
    );
    m.tokens
        .expect_issue()
        .times(1)
        .returning(|_, _, _, _| Err(TokenError::Unexpected(anyhow::anyhow!("no key"))));
    m.projects.expect_views_for().never();

    let r = login(m, "Ann", STRONG).await;

    assert!(
        matches!(r, Err(LoginError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

// -------------------------------------------------------------- authenticate

/// The token service verifies "tok" at t(0), answering `claims`.
fn token_says(mut m: Mocks, claims: Result<TokenClaims, TokenError>) -> Mocks {
    m.tokens
        .expect_verify()
        .withf(|tok, now| tok == "tok" && *now == t(0))
        .times(1)
        .return_once(move |_, _| claims);
    m
}

fn claims(version: i64) -> TokenClaims {
    TokenClaims {
        user: user_id(1),
        version,
        auth_time: Some(t(-30)),
    }
}

/// One load of Ann's account, answering `found`.
fn ann_loaded(mut m: Mocks, found: Option<User>) -> Mocks {
    m.users
        .expect_get()
        .withf(|id| *id == user_id(1))
        .times(1)
        .return_once(move |_| Ok(found));
    m
}

#[tokio::test]
async fn an_invalid_or_expired_token_is_denied_without_a_lookup() {
    for e in [TokenError::Invalid, TokenError::Expired] {
        let mut m = token_says(Mocks::new().at(t(0)), Err(e));
        m.users.expect_get().never();

        let r = sessions(m).authenticate("tok").await;

        assert!(matches!(r, Err(AuthError::Denied)), "{r:?}");
    }
}

#[tokio::test]
async fn a_token_service_failure_is_unexpected() {
    let mut m = token_says(
        Mocks::new().at(t(0)),
        Err(TokenError::Unexpected(anyhow::anyhow!("bad key"))),
    );
    m.users.expect_get().never();

    let r = sessions(m).authenticate("tok").await;

    assert!(
        matches!(r, Err(AuthError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_token_of_a_user_who_no_longer_exists_is_denied() {
    let m = ann_loaded(token_says(Mocks::new().at(t(0)), Ok(claims(3))), None);

    let r = sessions(m).authenticate("tok").await;

    assert!(matches!(r, Err(AuthError::Denied)), "{r:?}");
}

#[tokio::test]
async fn a_token_issued_before_a_password_change_is_denied() {
    // Ann is at version 3; the token says 2.
    let m = ann_loaded(
        token_says(Mocks::new().at(t(0)), Ok(claims(2))),
        Some(ann()),
    );

    let r = sessions(m).authenticate("tok").await;

    assert!(matches!(r, Err(AuthError::Denied)), "{r:?}");
}

#[tokio::test]
async fn a_token_of_an_inactive_user_is_denied() {
    for status in [UserStatus::Invited, UserStatus::Deleted] {
        let inactive = User { status, ..ann() };
        let m = ann_loaded(
            token_says(Mocks::new().at(t(0)), Ok(claims(3))),
            Some(inactive),
        );

        let r = sessions(m).authenticate("tok").await;

        assert!(matches!(r, Err(AuthError::Denied)), "{status:?}: {r:?}");
    }
}

#[tokio::test]
async fn a_token_at_the_users_current_version_authenticates_the_user() {
    let m = ann_loaded(
        token_says(Mocks::new().at(t(0)), Ok(claims(3))),
        Some(ann()),
    );

    let a = sessions(m).authenticate("tok").await.unwrap();

    assert_eq!(a.user, ann());
    assert_eq!(a.auth_time, Some(t(-30)));
}

#[tokio::test]
async fn a_database_outage_while_authenticating_is_unavailable() {
    let mut m = token_says(Mocks::new().at(t(0)), Ok(claims(3)));
    m.users
        .expect_get()
        .times(1)
        .returning(|_| Err(unavailable()));

    let r = sessions(m).authenticate("tok").await;

    assert!(
        matches!(r, Err(AuthError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------- open

#[tokio::test]
async fn opening_a_session_issues_a_token_at_the_users_version_and_loads_the_projects() {
    let m = Mocks::new().at(t(5)).session_for(user_id(1), 3, t(5));

    let session = sessions(m).open(ann(), Some(t(5))).await.unwrap();

    assert_eq!(session.user, ann());
    assert_eq!(session.token, TOKEN);
    assert_eq!(session.projects, vec![project_of(user_id(1))]);
}

#[tokio::test]
async fn a_token_that_cannot_be_signed_is_an_unexpected_store_error_and_no_projects_load() {
    let mut m = Mocks::new().at(t(5));
    m.tokens
        .expect_issue()
        .times(1)
        .returning(|_, _, _, _| Err(TokenError::Unexpected(anyhow::anyhow!("no key"))));
    m.projects.expect_views_for().never();

    let r = sessions(m).open(ann(), Some(t(5))).await;

    assert!(matches!(r, Err(Failure::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_database_outage_while_loading_the_projects_is_unavailable() {
    let mut m = Mocks::new().at(t(5));
    m.tokens
        .expect_issue()
        .times(1)
        .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
    m.projects
        .expect_views_for()
        .times(1)
        .returning(|_| Err(unavailable()));

    let r = sessions(m).open(ann(), Some(t(5))).await;

    assert!(matches!(r, Err(Failure::Unavailable(_))), "{r:?}");
}

// ----------------------------------------------------------------- soft lock

/// A throttle whose `begin` under `key` sees `failures` and records
/// attempt 7; every other expectation is added by the test.
fn throttle_with(key: &str, failures: Vec<Timestamp>) -> MockLoginThrottle {
    let key = key.to_owned();
    let mut throttle = MockLoginThrottle::new();
    throttle
        .expect_begin()
        .withf(move |k, now, since| {
            k == key && *now == t(0) && *since == t(0).plus_seconds(-86_400)
        })
        .times(1)
        .return_once(move |_, _, _| Ok((7, failures)));
    throttle
}

#[tokio::test]
async fn three_wrong_passwords_in_a_row_do_not_lock_and_the_fourth_stays_recorded() {
    let mut m = verified(
        by_name(Mocks::new().at(t(0)), "Ann", Some(ann())),
        "nope",
        ann_hash(),
        false,
    )
    .no_session();
    m.throttle = throttle_with(&fail_key("ann", 3), vec![t(-30), t(-20), t(-10)]);
    // The attempt recorded by `begin` is the failure: nothing is undone.
    m.throttle.expect_forget().never();
    m.throttle.expect_clear().never();

    let r = login(m, "Ann", "nope").await;

    assert!(matches!(r, Err(LoginError::UnknownUser)), "{r:?}");
}

#[tokio::test]
async fn after_four_failures_the_name_is_locked_and_no_password_is_checked() {
    let mut m = by_name(Mocks::new().at(t(0)), "Ann", Some(ann())).no_session();
    // Four failures, the last 300 ms ago: locked for 1 s after it.
    m.throttle = throttle_with(
        &fail_key("ann", 3),
        vec![t(-40), t(-30), t(-20), t(0).plus_millis(-300)],
    );
    // The refused attempt is not a failure.
    m.throttle
        .expect_forget()
        .withf(|id| *id == 7)
        .times(1)
        .returning(|_| Ok(()));
    m.hasher.expect_verify().never();

    let r = login(m, "Ann", STRONG).await;

    assert!(
        matches!(
            r,
            Err(LoginError::Locked {
                retry_after_seconds: 1
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn the_lock_doubles_with_each_failure_and_lapses() {
    // Six failures: locked 4 s after the last one.
    let six = vec![t(-60), t(-50), t(-40), t(-30), t(-20), t(-3)];
    let mut m = by_name(Mocks::new().at(t(0)), "Ann", Some(ann())).no_session();
    m.throttle = throttle_with(&fail_key("ann", 3), six);
    m.throttle.expect_forget().times(1).returning(|_| Ok(()));
    m.hasher.expect_verify().never();
    let r = login(m, "Ann", STRONG).await;
    assert!(
        matches!(
            r,
            Err(LoginError::Locked {
                retry_after_seconds: 1
            })
        ),
        "{r:?}"
    );

    // The same six, the last 5 s ago: the lock has lapsed, the right
    // password opens a session and clears the count.
    let lapsed = vec![t(-60), t(-50), t(-40), t(-30), t(-20), t(-5)];
    let mut m = verified(
        by_name(Mocks::new().at(t(0)), "Ann", Some(ann())),
        STRONG,
        ann_hash(),
        true,
    )
    .session_for(user_id(1), 3, t(0));
    m.throttle = throttle_with(&fail_key("ann", 3), lapsed);
    let key = fail_key("ann", 3);
    m.throttle
        .expect_clear()
        .withf(move |k| k == key)
        .times(1)
        .returning(|_| Ok(()));
    assert!(login(m, "Ann", STRONG).await.is_ok());
}

#[tokio::test]
async fn an_unknown_name_is_counted_and_locked_like_a_known_one() {
    let mut m = verified(
        by_name(Mocks::new().at(t(0)), "Nobody", None),
        "guess",
        None,
        false,
    )
    .no_session();
    m.throttle = throttle_with(&fail_key("nobody", 0), vec![]);
    m.throttle.expect_forget().never();
    assert!(matches!(
        login(m, "Nobody", "guess").await,
        Err(LoginError::UnknownUser)
    ));

    let mut m = by_name(Mocks::new().at(t(0)), "Nobody", None).no_session();
    m.throttle = throttle_with(
        &fail_key("nobody", 0),
        vec![t(-4), t(-3), t(-2), t(0).plus_millis(-500)],
    );
    m.throttle.expect_forget().times(1).returning(|_| Ok(()));
    m.hasher.expect_verify().never();
    assert!(matches!(
        login(m, "Nobody", "guess").await,
        Err(LoginError::Locked { .. })
    ));
}

#[tokio::test]
async fn an_attempt_the_hasher_could_not_check_is_not_a_failure() {
    let mut m = by_name(Mocks::new().at(t(0)), "Ann", Some(ann())).no_session();
    m.throttle = throttle_with(&fail_key("ann", 3), vec![]);
    m.throttle
        .expect_forget()
        .withf(|id| *id == 7)
        .times(1)
        .returning(|_| Ok(()));
    m.hasher.expect_verify().times(1).returning(|_, _| {
        Err(HashError::Overloaded {
            retry_after_seconds: 1,
        })
    });
    assert!(matches!(
        login(m, "Ann", STRONG).await,
        Err(LoginError::Failure(Failure::Overloaded { .. }))
    ));
}

#[tokio::test]
async fn a_password_change_starts_a_new_count_through_the_credential_version() {
    // Ann at version 4 (after a reset): the failures under v3 are not asked for.
    let reset = User {
        credential_version: 4,
        ..ann()
    };
    let mut m = verified(
        by_name(Mocks::new().at(t(0)), "Ann", Some(reset)),
        STRONG,
        ann_hash(),
        true,
    )
    .session_for(user_id(1), 4, t(0));
    m.throttle = throttle_with(&fail_key("ann", 4), vec![]);
    m.throttle.expect_clear().times(1).returning(|_| Ok(()));

    assert!(login(m, "Ann", STRONG).await.is_ok());
}

fn fail_key(name: &str, version: i64) -> String {
    format!(
        "login-fail:{}:v{version}",
        accountd_domain::Username::typed_key(name)
    )
}

// ------------------------------------------------------------- recent auth

async fn recent(
    m: Mocks,
    auth_time: Option<Timestamp>,
    password: Option<&str>,
) -> Result<Option<Timestamp>, RecentAuthError> {
    let password = password.map(Secret::from);
    sessions(m)
        .ensure_recent(&ann(), auth_time, password.as_ref())
        .await
}

/// Nothing is checked and no failure is counted.
fn no_check(mut m: Mocks) -> Mocks {
    m.hasher.expect_verify().never();
    m.throttle = MockLoginThrottle::new();
    m.throttle.expect_begin().never();
    m
}

#[tokio::test]
async fn a_proof_at_most_reauth_seconds_old_is_recent_and_kept_unchanged() {
    for age in [0, 1, 899, 900] {
        let m = no_check(Mocks::new().at(t(0)));
        // A password sent along is not even looked at.
        let r = recent(m, Some(t(-age)), Some("whatever")).await;
        assert_eq!(r.unwrap(), Some(t(-age)), "age {age}");
    }
}

#[tokio::test]
async fn a_stale_or_missing_proof_without_a_password_is_refused_without_a_check() {
    for auth_time in [Some(t(-901)), None, Some(t(5))] {
        let m = no_check(Mocks::new().at(t(0)));
        let r = recent(m, auth_time, None).await;
        assert!(
            matches!(r, Err(RecentAuthError::Required)),
            "{auth_time:?}: {r:?}"
        );
    }
}

#[tokio::test]
async fn a_stale_session_with_the_right_password_passes_and_proves_now() {
    let mut m = verified(Mocks::new().at(t(0)), STRONG, ann_hash(), true);
    m.throttle = throttle_with(&fail_key("Ann", 3), Vec::new());
    m.throttle.expect_forget().never();
    m.throttle
        .expect_clear()
        .withf(|k| k == fail_key("Ann", 3))
        .times(1)
        .returning(|_| Ok(()));

    let r = recent(m, None, Some(STRONG)).await;

    assert_eq!(r.unwrap(), Some(t(0)));
}

#[tokio::test]
async fn a_wrong_current_password_is_refused_and_counts_one_login_failure() {
    let mut m = verified(Mocks::new().at(t(0)), "nope", ann_hash(), false);
    m.throttle = throttle_with(&fail_key("Ann", 3), vec![t(-50)]);
    // The failure `begin` recorded stays.
    m.throttle.expect_forget().never();
    m.throttle.expect_clear().never();

    let r = recent(m, Some(t(-4000)), Some("nope")).await;

    assert!(matches!(r, Err(RecentAuthError::Required)), "{r:?}");
}

#[tokio::test]
async fn a_soft_locked_account_is_locked_and_its_password_not_checked() {
    let mut m = Mocks::new().at(t(0));
    m.hasher.expect_verify().never();
    m.throttle = throttle_with(
        &fail_key("Ann", 3),
        vec![t(-40), t(-30), t(-20), t(0).plus_millis(-300)],
    );
    m.throttle
        .expect_forget()
        .withf(|id| *id == 7)
        .times(1)
        .returning(|_| Ok(()));

    let r = recent(m, None, Some(STRONG)).await;

    assert!(
        matches!(
            r,
            Err(RecentAuthError::Locked {
                retry_after_seconds: 1
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_overloaded_hasher_while_reauthenticating_is_a_failure_and_no_failure_is_counted() {
    let mut m = Mocks::new().at(t(0));
    m.hasher.expect_verify().times(1).returning(|_, _| {
        Err(HashError::Overloaded {
            retry_after_seconds: 1,
        })
    });
    m.throttle = throttle_with(&fail_key("Ann", 3), Vec::new());
    m.throttle
        .expect_forget()
        .withf(|id| *id == 7)
        .times(1)
        .returning(|_| Ok(()));

    let r = recent(m, None, Some(STRONG)).await;

    assert!(
        matches!(r, Err(RecentAuthError::Failure(Failure::Overloaded { .. }))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_deleted_project_stays_in_its_owners_session_and_leaves_its_members() {
    let mut m = Mocks::new().at(t(5));
    m.tokens
        .expect_issue()
        .times(1)
        .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
    let owned = {
        let mut v = project_of(user_id(1));
        v.project.status = accountd_domain::ProjectStatus::Deleted;
        v
    };
    let joined = {
        let mut v = project_of(user_id(2));
        v.project.id = accountd_domain::ProjectId::from_random_bytes([43; 16]);
        v.project.status = accountd_domain::ProjectStatus::Deleted;
        v.owner_row = Some(v.own.clone());
        v.own.user = user_id(1);
        v.own.project = v.project.id;
        v.own.roles = vec![accountd_domain::Role::Member];
        v
    };
    let listed = vec![owned.clone(), joined];
    m.projects
        .expect_views_for()
        .times(1)
        .return_once(move |_| Ok(listed));

    let session = sessions(m).open(ann(), Some(t(5))).await.unwrap();

    assert_eq!(session.projects, vec![owned]);
}

#[tokio::test]
async fn the_owners_of_the_rows_shown_are_loaded_once_each_in_one_batch() {
    let mut m = Mocks::new().at(t(5));
    m.tokens
        .expect_issue()
        .times(1)
        .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
    let bob = user(2, "Bob", UserStatus::Active, &["bob@example.com"]);
    let of_bob = |n: u8, status: accountd_domain::MembershipStatus| {
        let mut v = project_of(bob.id);
        v.project.id = accountd_domain::ProjectId::from_random_bytes([n; 16]);
        v.owner_row = Some(accountd_domain::Membership {
            project: v.project.id,
            ..v.own.clone()
        });
        v.own.user = user_id(1);
        v.own.project = v.project.id;
        v.own.status = status;
        v.own.roles = vec![accountd_domain::Role::Member];
        v
    };
    let listed = vec![
        project_of(user_id(1)),
        of_bob(43, accountd_domain::MembershipStatus::Active),
        of_bob(44, accountd_domain::MembershipStatus::Invited),
    ];
    let shown = listed.clone();
    m.projects
        .expect_views_for()
        .times(1)
        .return_once(move |_| Ok(listed));
    let (bob_id, loaded) = (bob.id, bob.clone());
    m.users
        .expect_get_many()
        .withf(move |ids| ids == [bob_id])
        .times(1)
        .return_once(move |_| Ok(vec![loaded]));

    let session = sessions(m).open(ann(), Some(t(5))).await.unwrap();

    assert_eq!(session.projects, shown);
    assert_eq!(session.users, vec![bob]);
}

// --------------------------------------------------------------- audit log

mod audit {
    use super::*;
    use crate::test_writes::{audited_kinds, take_audited};
    use accountd_domain::{AuditEvent, AuditEventKind, AuditOutcome};

    async fn login_from(m: Mocks, username: &str, password: &str) -> Result<Session, LoginError> {
        let input = LoginInput {
            username: username.to_owned(),
            password: password.into(),
        };
        sessions(m).login_from(input, Some("203.0.113.9")).await
    }

    #[tokio::test]
    async fn a_login_records_its_success_with_the_user_and_the_client() {
        take_audited();
        let m = verified(
            by_name(Mocks::new().at(t(0)), "Ann", Some(ann())),
            STRONG,
            ann_hash(),
            true,
        )
        .session_for(user_id(1), 3, t(0));

        login_from(m, "Ann", STRONG).await.unwrap();

        assert_eq!(
            take_audited(),
            [
                AuditEvent::new(AuditEventKind::LoginSucceeded, Some(user_id(1)))
                    .client(Some("203.0.113.9"))
            ]
        );
    }

    #[tokio::test]
    async fn a_wrong_password_records_a_failure_of_the_user() {
        take_audited();
        let m = verified(
            by_name(Mocks::new().at(t(0)), "Ann", Some(ann())),
            "nope",
            ann_hash(),
            false,
        )
        .no_session();

        let r = login_from(m, "Ann", "nope").await;

        assert!(matches!(r, Err(LoginError::UnknownUser)), "{r:?}");
        assert_eq!(
            take_audited(),
            [
                AuditEvent::new(AuditEventKind::LoginFailed, Some(user_id(1)))
                    .outcome(AuditOutcome::Failure)
                    .client(Some("203.0.113.9"))
                    .word("reason", "wrong_password")
            ]
        );
    }

    #[tokio::test]
    async fn an_unknown_name_records_a_failure_without_a_user_or_the_name() {
        take_audited();
        let m = verified(
            by_name(Mocks::new().at(t(0)), "ghost", None),
            STRONG,
            None,
            false,
        )
        .no_session();

        let _ = login_from(m, "ghost", STRONG).await;

        let events = take_audited();
        assert_eq!(
            events,
            [AuditEvent::new(AuditEventKind::LoginFailed, None)
                .outcome(AuditOutcome::Failure)
                .client(Some("203.0.113.9"))
                .word("reason", "unknown_user")]
        );
        assert!(!format!("{events:?}").contains("ghost"));
    }

    #[tokio::test]
    async fn a_soft_locked_login_records_a_refusal_and_no_failure() {
        take_audited();
        let mut m = by_name(Mocks::new().at(t(0)), "Ann", Some(ann())).no_session();
        m.throttle = throttle_with(
            &fail_key("ann", 3),
            vec![t(-40), t(-30), t(-20), t(0).plus_millis(-300)],
        );
        m.throttle.expect_forget().times(1).returning(|_| Ok(()));
        m.hasher.expect_verify().never();

        let r = login_from(m, "Ann", STRONG).await;

        assert!(matches!(r, Err(LoginError::Locked { .. })), "{r:?}");
        assert_eq!(
            take_audited(),
            [
                AuditEvent::new(AuditEventKind::LoginLocked, Some(user_id(1)))
                    .outcome(AuditOutcome::Refused)
                    .client(Some("203.0.113.9"))
            ]
        );
    }

    #[tokio::test]
    async fn a_flood_at_a_locked_name_is_recorded_once_per_window() {
        take_audited();
        let mut m = Mocks::new().at(t(0)).no_session();
        m.users
            .expect_find_by_username_ci()
            .times(3)
            .returning(|_| Ok(Some(ann())));
        let key = fail_key("ann", 3);
        m.throttle = MockLoginThrottle::new();
        m.throttle
            .expect_begin()
            .withf(move |k, _, _| k == key)
            .times(3)
            .returning(|_, _, _| Ok((7, vec![t(-40), t(-30), t(-20), t(0).plus_millis(-300)])));
        m.throttle.expect_forget().times(3).returning(|_| Ok(()));
        m.hasher.expect_verify().never();
        let s = sessions(m);

        for _ in 0..3 {
            let input = LoginInput {
                username: "Ann".to_owned(),
                password: STRONG.into(),
            };
            let r = s.login_from(input, Some("203.0.113.9")).await;
            assert!(matches!(r, Err(LoginError::Locked { .. })), "{r:?}");
        }

        // Three refusals, one row: a flood costs no write per call.
        assert_eq!(audited_kinds(), ["login_locked"]);
    }
}
