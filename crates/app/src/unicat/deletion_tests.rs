//! Unit tests of `account/delete`, with every port mocked.

use super::*;
use crate::unicat::test_support::*;
use accountd_domain::{OutgoingMail, UserId, UserStatus};
use accountd_ports::{Applied, MockLoginThrottle, MockProjectRepository};
use std::sync::{Arc, Mutex};

fn pid(byte: u8) -> ProjectId {
    ProjectId::from_random_bytes([byte; 16])
}

/// Ann with her two addresses and the same first address again in
/// another spelling.
fn ann_with_a_repeated_address() -> User {
    let mut ann = ann();
    ann.emails.push(email("ANN@example.com"));
    ann
}

/// The service over `m`, with `owned` as the project repository of the
/// deletion (the sessions' own is `m.projects`).
fn service(m: Mocks, owned: MockProjectRepository) -> AccountDeletion {
    let (ports, sessions) = m.build();
    AccountDeletion::new(ports, sessions, Arc::new(owned))
}

/// `owned_by(Ann)` answering `each` in turn, once per answer.
fn owns(answers: Vec<Vec<ProjectId>>) -> MockProjectRepository {
    let mut p = MockProjectRepository::new();
    let mut answers = answers.into_iter();
    let n = answers.len();
    p.expect_owned_by()
        .withf(|u| *u == user_id(1))
        .times(n)
        .returning(move |_| Ok(answers.next().unwrap()));
    p
}

fn owns_nothing() -> MockProjectRepository {
    owns(vec![Vec::new()])
}

fn never_asked() -> MockProjectRepository {
    let mut p = MockProjectRepository::new();
    p.expect_owned_by().never();
    p
}

/// What one `delete_account` call was given.
type Deleted = (UserId, i64, Timestamp, Vec<OutgoingMail>);

/// One deletion set, captured into `sink`, answering `outcome`.
fn deletes(mut m: Mocks, sink: Arc<Mutex<Vec<Deleted>>>, outcome: Applied) -> Mocks {
    m.writes
        .expect_delete_account()
        .times(1)
        .return_once(move |u, v, now, mails| {
            sink.lock().unwrap().push((u, v, now, mails));
            Ok(outcome)
        });
    m
}

fn nothing_deleted(mut m: Mocks) -> Mocks {
    m.writes.expect_delete_account().never();
    m
}

fn no_password_checked(mut m: Mocks) -> Mocks {
    m.hasher.expect_verify().never();
    m
}

/// A session that logged in 10 minutes before t(0): recent.
fn recent() -> Option<Timestamp> {
    Some(t(-600))
}

/// A session that logged in an hour before t(0): stale.
fn stale() -> Option<Timestamp> {
    Some(t(-3600))
}

fn with_password(p: &str) -> DeleteInput {
    DeleteInput {
        current_password: Some(p.to_owned().into()),
    }
}

/// One check of `password` against Ann's hash, answering `ok`.
fn verifies(mut m: Mocks, password: &'static str, ok: bool) -> Mocks {
    let want = ann().password_hash;
    m.hasher
        .expect_verify()
        .withf(move |p, h| p == password && *h == want)
        .times(1)
        .return_once(move |_, _| Ok(ok));
    m
}

/// A throttle under which Ann's name is soft-locked for 1 more second.
fn locked_throttle() -> MockLoginThrottle {
    let mut throttle = MockLoginThrottle::new();
    throttle
        .expect_begin()
        .times(1)
        .return_once(|_, _, _| Ok((7, vec![t(-40), t(-30), t(-20), t(0).plus_millis(-300)])));
    throttle
        .expect_forget()
        .withf(|id| *id == 7)
        .times(1)
        .returning(|_| Ok(()));
    throttle
}

#[tokio::test]
async fn a_recent_session_deletes_the_account_in_one_set_with_a_last_notice_per_address() {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let m = no_password_checked(deletes(
        Mocks::new().at(t(0)),
        sink.clone(),
        Applied::Committed,
    ));

    let r = service(m, owns_nothing())
        .delete(
            &ann_with_a_repeated_address(),
            recent(),
            DeleteInput::default(),
        )
        .await;

    assert!(r.is_ok(), "{r:?}");
    let deleted = sink.lock().unwrap().clone();
    let ann = ann_with_a_repeated_address();
    assert_eq!(
        deleted,
        [(
            user_id(1),
            3,
            t(0),
            vec![
                mail::account_deleted(&ann, &email("ann@example.com")),
                mail::account_deleted(&ann, &email("a.lee@work.example")),
            ]
        )]
    );
}

#[tokio::test]
async fn an_account_without_addresses_is_deleted_without_mail() {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let m = deletes(Mocks::new().at(t(0)), sink.clone(), Applied::Committed);
    let lonely = user(1, "Ann", UserStatus::Active, &[]);

    let r = service(m, owns_nothing())
        .delete(&lonely, recent(), DeleteInput::default())
        .await;

    assert!(r.is_ok(), "{r:?}");
    assert_eq!(sink.lock().unwrap()[0].3, Vec::<OutgoingMail>::new());
}

#[tokio::test]
async fn a_stale_session_without_a_password_is_refused_before_anything_is_read() {
    let m = nothing_deleted(no_password_checked(Mocks::new().at(t(0))));

    let r = service(m, never_asked())
        .delete(&ann(), stale(), DeleteInput::default())
        .await;

    assert!(
        matches!(r, Err(DeletionError::ReauthenticationRequired)),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_token_without_auth_time_is_never_recent() {
    let m = nothing_deleted(no_password_checked(Mocks::new().at(t(0))));

    let r = service(m, never_asked())
        .delete(&ann(), None, DeleteInput::default())
        .await;

    assert!(
        matches!(r, Err(DeletionError::ReauthenticationRequired)),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_stale_session_with_a_wrong_password_is_refused() {
    let m = nothing_deleted(verifies(Mocks::new().at(t(0)), "nope", false));

    let r = service(m, never_asked())
        .delete(&ann(), stale(), with_password("nope"))
        .await;

    assert!(
        matches!(r, Err(DeletionError::ReauthenticationRequired)),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_stale_session_with_the_right_password_deletes_the_account() {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let m = deletes(
        verifies(Mocks::new().at(t(0)), STRONG, true),
        sink.clone(),
        Applied::Committed,
    );

    let r = service(m, owns_nothing())
        .delete(&ann(), stale(), with_password(STRONG))
        .await;

    assert!(r.is_ok(), "{r:?}");
    assert_eq!(sink.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_owner_is_refused_with_every_project_it_owns_sorted_and_nothing_changes() {
    let m = nothing_deleted(Mocks::new().at(t(0)));

    let r = service(m, owns(vec![vec![pid(9), pid(3), pid(200)]]))
        .delete(&ann(), recent(), DeleteInput::default())
        .await;

    match r {
        Err(DeletionError::OwnsProjects(p)) => assert_eq!(p, [pid(3), pid(9), pid(200)]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_soft_locked_owner_gets_owns_projects_which_wins_over_the_lock() {
    let mut m = nothing_deleted(no_password_checked(Mocks::new().at(t(0))));
    m.throttle = locked_throttle();

    let r = service(m, owns(vec![vec![pid(3)]]))
        .delete(&ann(), stale(), with_password(STRONG))
        .await;

    assert!(
        matches!(&r, Err(DeletionError::OwnsProjects(p)) if p == &[pid(3)]),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_soft_locked_account_owning_nothing_is_told_to_wait() {
    let mut m = nothing_deleted(no_password_checked(Mocks::new().at(t(0))));
    m.throttle = locked_throttle();

    let r = service(m, owns_nothing())
        .delete(&ann(), stale(), with_password(STRONG))
        .await;

    assert!(
        matches!(
            r,
            Err(DeletionError::Locked {
                retry_after_seconds: 1
            })
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_password_change_that_won_the_race_revokes_the_caller() {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let m = deletes(
        Mocks::new().at(t(0)),
        sink,
        Applied::Refused(Conflict::UserChanged),
    );

    let r = service(m, owns_nothing())
        .delete(&ann(), recent(), DeleteInput::default())
        .await;

    assert!(matches!(r, Err(DeletionError::Revoked)), "{r:?}");
}

#[tokio::test]
async fn a_project_created_meanwhile_is_reported_from_a_fresh_read() {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let m = deletes(
        Mocks::new().at(t(0)),
        sink,
        Applied::Refused(Conflict::OwnsProjects),
    );

    let r = service(m, owns(vec![Vec::new(), vec![pid(7)]]))
        .delete(&ann(), recent(), DeleteInput::default())
        .await;

    assert!(
        matches!(&r, Err(DeletionError::OwnsProjects(p)) if p == &[pid(7)]),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_project_that_came_and_went_meanwhile_is_a_retryable_failure() {
    let sink = Arc::new(Mutex::new(Vec::new()));
    let m = deletes(
        Mocks::new().at(t(0)),
        sink,
        Applied::Refused(Conflict::OwnsProjects),
    );

    let r = service(m, owns(vec![Vec::new(), Vec::new()]))
        .delete(&ann(), recent(), DeleteInput::default())
        .await;

    assert!(
        matches!(r, Err(DeletionError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_unreachable_project_store_is_a_failure_and_nothing_changes() {
    let m = nothing_deleted(Mocks::new().at(t(0)));
    let mut p = MockProjectRepository::new();
    p.expect_owned_by()
        .times(1)
        .returning(|_| Err(unavailable()));

    let r = service(m, p)
        .delete(&ann(), recent(), DeleteInput::default())
        .await;

    assert!(
        matches!(r, Err(DeletionError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_failed_write_is_a_failure() {
    let mut m = Mocks::new().at(t(0));
    m.writes
        .expect_delete_account()
        .times(1)
        .returning(|_, _, _, _| Err(unexpected()));

    let r = service(m, owns_nothing())
        .delete(&ann(), recent(), DeleteInput::default())
        .await;

    assert!(
        matches!(r, Err(DeletionError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}
