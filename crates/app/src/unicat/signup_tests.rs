//! Unit tests of `signup_request` and `signup`, with every port mocked.

use super::*;
use crate::test_writes::{ChallengeEffect, ConsumeOutcome};
use crate::unicat::test_support::*;
use accountd_domain::{Attempt, Challenge, MembershipStatus, Role};
use accountd_domain::{
    ChallengeId, ChallengeState, OutgoingMail, PasswordHash, Timestamp, User, UserStatus,
};
use accountd_ports::{HashError, RateDecision};
use mockall::Sequence;
use std::sync::{Arc, Mutex};

/// The step-1 fields.
fn input(username: &str, password: &str, email: &str) -> SignupRequestInput {
    SignupRequestInput {
        username: username.to_owned(),
        password: password.into(),
        email: email.to_owned(),
        accept_language: None,
    }
}

const NAME: &str = "Ann";
const ADDRESS: &str = "ann@example.com";
const STEP1_HASH: &str = "$2b$04$step1hashstep1hashstep1";

fn service(m: Mocks, s: UnicatSettings) -> Signup {
    let (ports, sessions) = m.build();
    Signup::new(ports, sessions, key(), s)
}

fn step1_hash() -> PasswordHash {
    hash(STEP1_HASH)
}

/// The refusal inside a step-1 result.
fn refused(r: Result<String, SignupRequestError>) -> Invalid {
    match r {
        Err(SignupRequestError::Invalid(i)) => i,
        other => panic!("expected a 1001, got {other:?}"),
    }
}

/// The refusal inside a step-2 result.
fn refused2(r: Result<Session, SignupError>) -> Invalid {
    match r {
        Err(SignupError::Invalid(i)) => i,
        other => panic!("expected a 1001, got {other:?}"),
    }
}

// ------------------------------------------------------------ signup_request

/// A step-1 call at t(0) from a client under its limit.
fn step1() -> Mocks {
    Mocks::new().at(t(0)).ip_allowed()
}

/// One case-insensitive lookup of `name`, answering `found`.
fn name_lookup(mut m: Mocks, name: &'static str, found: Option<User>) -> Mocks {
    m.users
        .expect_find_by_username_ci()
        .withf(move |n| n == name)
        .times(1)
        .return_once(move |_| Ok(found));
    m
}

/// The address's issuance hit, keyed by the lower-cased address.
fn address_hit(m: Mocks, lower: &str, decision: RateDecision) -> Mocks {
    m.hit(
        &format!("challenges:email:{lower}"),
        code_limits(),
        t(0),
        decision,
    )
}

/// One hash of the strong password, answering [`STEP1_HASH`].
fn hashed(mut m: Mocks) -> Mocks {
    m.hasher
        .expect_hash()
        .withf(|p| p.expose() == STRONG)
        .times(1)
        .returning(|_| Ok(step1_hash()));
    m
}

/// A step-1 call refused before anything is hashed, drawn or issued.
fn refused_before_hashing(m: Mocks) -> Mocks {
    m.nothing_hashed().nothing_drawn().no_challenge_issued()
}

#[tokio::test]
async fn a_client_over_its_step1_limit_gets_too_many_requests_with_the_retry_time() {
    let mut m = refused_before_hashing(Mocks::new().at(t(0)).hit(
        &format!("step1:ip:{CLIENT}"),
        ip_limits(),
        t(0),
        RateDecision::Limited {
            retry_after_seconds: 1234,
        },
    ));
    m.users.expect_find_by_username_ci().never();

    let r = service(m, settings())
        .request(input(NAME, STRONG, ADDRESS), CLIENT)
        .await;

    assert!(
        matches!(
            r,
            Err(SignupRequestError::TooManyRequests(RateLimited {
                retry_after_seconds: 1234
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_invalid_username_is_username_invalid_and_never_looked_up() {
    for bad in ["", "ann b", "a/b", "ann@example.com"] {
        let mut m = refused_before_hashing(step1());
        m.users.expect_find_by_username_ci().never();

        let r = service(m, settings())
            .request(input(bad, STRONG, ADDRESS), CLIENT)
            .await;

        let i = refused(r);
        assert_eq!(
            (i.field, i.reason),
            ("username", Reason::UsernameInvalid),
            "{bad:?}"
        );
        assert!(!i.detail.is_empty());
    }
}

#[tokio::test]
async fn a_username_taken_in_another_case_is_unavailable_and_the_password_is_never_hashed() {
    let taken = user(8, "ann", UserStatus::Active, &["other@example.com"]);
    let m = refused_before_hashing(name_lookup(step1(), NAME, Some(taken)));

    let r = service(m, settings())
        .request(input(NAME, STRONG, ADDRESS), CLIENT)
        .await;

    let i = refused(r);
    assert_eq!(
        (i.field, i.reason),
        ("username", Reason::UsernameUnavailable)
    );
}

#[tokio::test]
async fn a_username_held_by_a_deleted_account_is_still_unavailable() {
    let deleted = user(8, "Ann", UserStatus::Deleted, &[]);
    let m = refused_before_hashing(name_lookup(step1(), NAME, Some(deleted)));

    let r = service(m, settings())
        .request(input(NAME, STRONG, ADDRESS), CLIENT)
        .await;

    assert_eq!(refused(r).reason, Reason::UsernameUnavailable);
}

#[tokio::test]
async fn a_weak_password_is_password_weak_with_the_estimators_suggestions() {
    let m = refused_before_hashing(name_lookup(step1(), NAME, None));

    let r = service(m, settings())
        .request(input(NAME, WEAK, ADDRESS), CLIENT)
        .await;

    let i = refused(r);
    assert_eq!((i.field, i.reason), ("password", Reason::PasswordWeak));
    let suggestions = i.suggestions.expect("password_weak carries suggestions");
    assert!(!suggestions.is_empty());
    assert_eq!(i.attempts_left, None);
}

#[tokio::test]
async fn a_password_over_72_bytes_is_password_too_long_never_truncated() {
    let long = format!("{STRONG} {STRONG} {STRONG}");
    assert!(long.len() > 72);
    let m = refused_before_hashing(name_lookup(step1(), NAME, None));

    let r = service(m, settings())
        .request(input(NAME, &long, ADDRESS), CLIENT)
        .await;

    let i = refused(r);
    assert_eq!((i.field, i.reason), ("password", Reason::PasswordTooLong));
    assert_eq!(i.suggestions, None);
}

#[tokio::test]
async fn a_password_containing_the_username_in_any_case_is_password_weak() {
    let m = refused_before_hashing(name_lookup(step1(), NAME, None));

    let r = service(m, settings())
        .request(input(NAME, "my-ANN-horse-battery-staple", ADDRESS), CLIENT)
        .await;

    let i = refused(r);
    assert_eq!((i.field, i.reason), ("password", Reason::PasswordWeak));
    assert!(i.detail.contains("username"), "{}", i.detail);
}

#[tokio::test]
async fn a_password_containing_the_emails_local_part_is_password_weak() {
    let m = refused_before_hashing(name_lookup(step1(), "zed", None));

    let r = service(m, settings())
        .request(
            input("zed", "horse-lee.ann-battery", "Lee.Ann@example.com"),
            CLIENT,
        )
        .await;

    let i = refused(r);
    assert_eq!((i.field, i.reason), ("password", Reason::PasswordWeak));
    assert!(i.detail.contains("email"), "{}", i.detail);
}

#[tokio::test]
async fn an_invalid_email_is_email_invalid_when_username_and_password_are_fine() {
    for bad in ["ann@", "ann", "Ann <ann@example.com>", ""] {
        let m = refused_before_hashing(name_lookup(step1(), NAME, None));

        let r = service(m, settings())
            .request(input(NAME, STRONG, bad), CLIENT)
            .await;

        let i = refused(r);
        assert_eq!(
            (i.field, i.reason),
            ("email", Reason::EmailInvalid),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn the_first_bad_field_is_reported_in_the_order_username_password_email() {
    // Everything wrong: the username.
    let mut m = refused_before_hashing(step1());
    m.users.expect_find_by_username_ci().never();
    let r = service(m, settings())
        .request(input("ann b", WEAK, "not-an-address"), CLIENT)
        .await;
    assert_eq!(refused(r).field, "username");

    // Password and email wrong: the password.
    let m = refused_before_hashing(name_lookup(step1(), NAME, None));
    let r = service(m, settings())
        .request(input(NAME, WEAK, "not-an-address"), CLIENT)
        .await;
    assert_eq!(refused(r).field, "password");
}

#[tokio::test]
async fn an_address_over_its_code_limit_gets_too_many_requests_counted_under_the_lower_cased_address(
) {
    let m = refused_before_hashing(address_hit(
        name_lookup(step1(), NAME, None),
        "ann@example.com",
        RateDecision::Limited {
            retry_after_seconds: 600,
        },
    ));

    let r = service(m, settings())
        .request(input(NAME, STRONG, "Ann@Example.COM"), CLIENT)
        .await;

    assert!(
        matches!(
            r,
            Err(SignupRequestError::TooManyRequests(RateLimited {
                retry_after_seconds: 600
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_overloaded_hasher_is_overloaded_with_its_retry_time_and_nothing_is_issued() {
    let mut m = address_hit(
        name_lookup(step1(), NAME, None),
        ADDRESS,
        RateDecision::Allowed,
    )
    .nothing_drawn()
    .no_challenge_issued();
    m.hasher.expect_hash().times(1).returning(|_| {
        Err(HashError::Overloaded {
            retry_after_seconds: 7,
        })
    });

    let r = service(m, settings())
        .request(input(NAME, STRONG, ADDRESS), CLIENT)
        .await;

    assert!(
        matches!(
            r,
            Err(SignupRequestError::Failure(Failure::Overloaded {
                retry_after_seconds: 7
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_hasher_failure_is_unexpected_and_nothing_is_issued() {
    let mut m = address_hit(
        name_lookup(step1(), NAME, None),
        ADDRESS,
        RateDecision::Allowed,
    )
    .nothing_drawn()
    .no_challenge_issued();
    m.hasher
        .expect_hash()
        .times(1)
        .returning(|_| Err(HashError::Unexpected(anyhow::anyhow!("pool gone"))));

    let r = service(m, settings())
        .request(input(NAME, STRONG, ADDRESS), CLIENT)
        .await;

    assert!(
        matches!(r, Err(SignupRequestError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

/// What one `issue` call stored.
type Issued = (Challenge, Vec<OutgoingMail>);

#[tokio::test]
async fn a_sign_up_request_issues_one_challenge_bound_to_every_field_and_mails_the_code() {
    let typed_email = "Ann@Example.com";
    let mut m = hashed(address_hit(
        name_lookup(step1(), NAME, None),
        "ann@example.com",
        RateDecision::Allowed,
    ))
    .draws();
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let sink = Arc::clone(&stored);
    m.writes.expect_issue().times(1).returning(move |c, mails| {
        sink.lock().unwrap().push((c, mails));
        Ok(())
    });

    let validation_code = service(m, settings())
        .request(input(NAME, STRONG, typed_email), CLIENT)
        .await
        .unwrap();

    assert_eq!(validation_code, drawn_validation_code());
    assert!(is_validation_code(&validation_code), "{validation_code}");

    let (challenge, mails) = stored.lock().unwrap().pop().unwrap();
    assert_eq!(
        challenge.id(),
        ChallengeId::from_random_bytes(CHALLENGE_ID_BYTES)
    );
    assert_eq!(challenge.purpose(), Purpose::Signup);
    assert_eq!(
        challenge.subject(),
        &Subject::Signup {
            username: Username::parse(NAME).unwrap(),
            email: email(typed_email),
            password_hash: step1_hash(),
        }
    );
    assert_eq!(
        challenge.lookup(),
        Some(&Challenge::lookup_mac(
            &key(),
            Purpose::Signup,
            &validation_code
        ))
    );
    assert_eq!(challenge.max_failures(), 5);
    assert_eq!(challenge.failures(), 0);
    assert_eq!(challenge.stored_state(), ChallengeState::Open);
    assert_eq!(challenge.issued_at(), t(0));
    assert_eq!(challenge.expires_at(), t(900));

    assert_eq!(mails.len(), 1, "one mail");
    let mail = &mails[0];
    assert_eq!(mail.to, email(typed_email));
    assert_eq!(mail.not_after, Some(challenge.expires_at()));
    let code = code_in(&mail.text);
    assert_eq!(code, CODE, "the drawn characters are the code");
    assert!(code
        .bytes()
        .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)));
    assert_eq!(challenge.attempt(t(1), &key(), &code), Ok(Attempt::Correct));
    assert_eq!(
        challenge.attempt(t(1), &MacKey::from_bytes([8; 32]), &code),
        Ok(Attempt::Wrong),
        "the MAC is keyed with the service's key"
    );
    assert!(!mail.text.contains(STRONG), "the password is never mailed");
    assert!(!mail.text.contains(&validation_code));
}

#[tokio::test]
async fn a_database_outage_during_the_username_lookup_is_unavailable() {
    let mut m = refused_before_hashing(step1());
    m.users
        .expect_find_by_username_ci()
        .times(1)
        .returning(|_| Err(unavailable()));

    let r = service(m, settings())
        .request(input(NAME, STRONG, ADDRESS), CLIENT)
        .await;

    assert!(
        matches!(r, Err(SignupRequestError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_rate_limiter_failure_is_unexpected() {
    let mut m = refused_before_hashing(Mocks::new().at(t(0)));
    m.limiter
        .expect_hit()
        .times(1)
        .returning(|_, _, _| Err(unexpected()));
    m.users.expect_find_by_username_ci().never();

    let r = service(m, settings())
        .request(input(NAME, STRONG, ADDRESS), CLIENT)
        .await;

    assert!(
        matches!(r, Err(SignupRequestError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_failed_issue_transaction_is_reported_as_its_store_error() {
    for (err, unavailable_expected) in [(unavailable(), true), (unexpected(), false)] {
        let mut m = hashed(address_hit(
            name_lookup(step1(), NAME, None),
            ADDRESS,
            RateDecision::Allowed,
        ))
        .draws();
        m.writes
            .expect_issue()
            .times(1)
            .return_once(move |_, _| Err(err));

        let r = service(m, settings())
            .request(input(NAME, STRONG, ADDRESS), CLIENT)
            .await;

        if unavailable_expected {
            assert!(
                matches!(r, Err(SignupRequestError::Failure(Failure::Unavailable(_)))),
                "{r:?}"
            );
        } else {
            assert!(
                matches!(r, Err(SignupRequestError::Failure(Failure::Unexpected(_)))),
                "{r:?}"
            );
        }
    }
}

// -------------------------------------------------------------------- signup

/// Ann's pending sign-up: [`CODE`], issued at t(0), 5 tries.
fn pending() -> Challenge {
    challenge(
        Purpose::Signup,
        Subject::Signup {
            username: Username::parse(NAME).unwrap(),
            email: email(ADDRESS),
            password_hash: step1_hash(),
        },
    )
}

/// A step-2 call at `now` whose validation code finds `found`.
fn step2_at(now: Timestamp, found: Option<Challenge>) -> Mocks {
    Mocks::new().at(now).lookup(Purpose::Signup, found)
}

/// A step-2 call at t(60) on [`pending`] with `failures` spent.
fn step2(failures: u32) -> Mocks {
    step2_at(t(60), Some(with_failures(pending(), failures)))
}

/// One verification of `password` against the step-1 hash, answering `ok`.
fn verified(mut m: Mocks, password: &'static str, ok: bool) -> Mocks {
    m.hasher
        .expect_verify()
        .withf(move |c, h| c == password && *h == Some(step1_hash()))
        .times(1)
        .returning(move |_, _| Ok(ok));
    m
}

/// Nothing happens to the challenge and no account or session appears.
fn untouched(m: Mocks) -> Mocks {
    m.no_failure_counted().nothing_consumed().no_session()
}

async fn complete(
    m: Mocks,
    username: &str,
    password: &str,
    address: &str,
    code: &str,
) -> Result<Session, SignupError> {
    service(m, settings())
        .complete(SignupInput {
            username: username.to_owned(),
            password: password.into(),
            email: address.to_owned(),
            validation_code: held_validation_code().into(),
            verification_code: code.into(),
        })
        .await
}

#[tokio::test]
async fn an_unknown_validation_code_is_code_invalid_with_no_attempts_left() {
    let mut m = untouched(step2_at(t(60), None));
    m.hasher.expect_verify().never();

    let i = refused2(complete(m, NAME, STRONG, ADDRESS, CODE).await);

    assert_eq!(
        (i.field, i.reason, i.attempts_left),
        ("verification_code", Reason::CodeInvalid, Some(0))
    );
}

#[tokio::test]
async fn a_used_or_superseded_code_is_code_invalid_with_no_attempts_left_even_when_right() {
    for used in [pending().consumed(t(10)).unwrap(), pending().superseded()] {
        let mut m = untouched(step2_at(t(60), Some(used)));
        m.hasher.expect_verify().never();

        let i = refused2(complete(m, NAME, STRONG, ADDRESS, CODE).await);

        assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(0)));
    }
}

#[tokio::test]
async fn an_expired_code_is_code_expired_even_when_right() {
    for now in [t(900), t(3600)] {
        let mut m = untouched(step2_at(now, Some(pending())));
        m.hasher.expect_verify().never();

        let i = refused2(complete(m, NAME, STRONG, ADDRESS, CODE).await);

        assert_eq!(
            (i.field, i.reason),
            ("verification_code", Reason::CodeExpired)
        );
    }
}

#[tokio::test]
async fn an_exhausted_code_is_code_exhausted_even_when_right() {
    let mut m = untouched(step2(5));
    m.hasher.expect_verify().never();

    let i = refused2(complete(m, NAME, STRONG, ADDRESS, CODE).await);

    assert_eq!(
        (i.field, i.reason),
        ("verification_code", Reason::CodeExhausted)
    );
}

#[tokio::test]
async fn a_challenge_without_sign_up_data_is_code_invalid() {
    let other = challenge(Purpose::Signup, Subject::Account { user: user_id(1) });
    let mut m = untouched(step2_at(t(60), Some(other)));
    m.hasher.expect_verify().never();

    let i = refused2(complete(m, NAME, STRONG, ADDRESS, CODE).await);

    assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(0)));
}

#[tokio::test]
async fn a_username_that_differs_even_only_in_case_is_a_request_mismatch() {
    for other in ["ann", "ANN", "Bob"] {
        let mut m = untouched(step2(0));
        m.hasher.expect_verify().never();

        let i = refused2(complete(m, other, STRONG, ADDRESS, CODE).await);

        assert_eq!(
            (i.field, i.reason),
            ("username", Reason::RequestMismatch),
            "{other}"
        );
    }
}

#[tokio::test]
async fn a_password_that_does_not_verify_against_the_step1_hash_is_a_request_mismatch_and_counts_a_try(
) {
    let mut m = verified(step2(2), "another password", false)
        .nothing_consumed()
        .no_session();
    m.challenges
        .expect_record_failure()
        .withf(|_, now| *now == t(60))
        .times(1)
        .returning(|_, _| Ok(Some(3)));

    let i = refused2(complete(m, NAME, "another password", ADDRESS, CODE).await);

    assert_eq!((i.field, i.reason), ("password", Reason::RequestMismatch));
    let events = crate::test_writes::take_audited();
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == accountd_domain::AuditEventKind::CodeFailed)
        .collect();
    assert_eq!(failed.len(), 1, "counted like a wrong code: {events:?}");
}

#[tokio::test]
async fn a_password_mismatch_that_loses_the_race_answers_the_reloaded_challenge() {
    let mut m = verified(Mocks::new().at(t(60)), "another password", false)
        .nothing_consumed()
        .no_session();
    let mut seq = mockall::Sequence::new();
    m.challenges
        .expect_find_by_lookup()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(with_failures(pending(), 4))));
    m.challenges
        .expect_record_failure()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(None));
    m.challenges
        .expect_find_by_lookup()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(with_failures(pending(), 5))));

    let i = refused2(complete(m, NAME, "another password", ADDRESS, CODE).await);

    assert_eq!(
        (i.field, i.reason),
        ("verification_code", Reason::CodeExhausted)
    );
}

#[tokio::test]
async fn a_different_email_is_a_request_mismatch() {
    for other in ["bob@example.com", "ann@example.org", "not-an-address"] {
        let m = untouched(verified(step2(0), STRONG, true));

        let i = refused2(complete(m, NAME, STRONG, other, CODE).await);

        assert_eq!(
            (i.field, i.reason),
            ("email", Reason::RequestMismatch),
            "{other}"
        );
    }
}

#[tokio::test]
async fn the_email_matches_case_insensitively_so_the_code_is_checked() {
    let mut m = verified(step2(0), STRONG, true)
        .nothing_consumed()
        .no_session();
    m.challenges
        .expect_record_failure()
        .times(1)
        .returning(|_, _| Ok(Some(1)));

    let i = refused2(complete(m, NAME, STRONG, "ANN@Example.COM", WRONG_CODE).await);

    assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(4)));
}

#[tokio::test]
async fn a_wrong_code_counts_exactly_one_failure_and_reports_the_attempts_left() {
    let mut m = verified(step2(1), STRONG, true)
        .nothing_consumed()
        .no_session();
    m.challenges
        .expect_record_failure()
        .withf(|id, now| *id == pending().id() && *now == t(60))
        .times(1)
        .returning(|_, _| Ok(Some(2)));
    m.random.expect_bytes16().never();

    let i = refused2(complete(m, NAME, STRONG, ADDRESS, WRONG_CODE).await);

    assert_eq!(
        (i.field, i.reason, i.attempts_left),
        ("verification_code", Reason::CodeInvalid, Some(3))
    );
}

#[tokio::test]
async fn a_malformed_code_counts_as_a_wrong_one() {
    let mut m = verified(step2(0), STRONG, true)
        .nothing_consumed()
        .no_session();
    m.challenges
        .expect_record_failure()
        .times(1)
        .returning(|_, _| Ok(Some(1)));

    let i = refused2(complete(m, NAME, STRONG, ADDRESS, "10AMY").await);

    assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(4)));
}

#[tokio::test]
async fn a_wrong_code_that_loses_the_race_for_the_last_try_is_code_exhausted() {
    let mut m = Mocks::new().at(t(60)).nothing_consumed().no_session();
    m = verified(m, STRONG, true);
    let want = Challenge::lookup_mac(&key(), Purpose::Signup, &held_validation_code());
    let mut seq = Sequence::new();
    m.challenges
        .expect_find_by_lookup()
        .withf(move |p, l| *p == Purpose::Signup && *l == want)
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(with_failures(pending(), 4))));
    m.challenges
        .expect_record_failure()
        .withf(|id, now| *id == pending().id() && *now == t(60))
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(None));
    m.challenges
        .expect_find_by_lookup()
        .withf(move |p, l| *p == Purpose::Signup && *l == want)
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(with_failures(pending(), 5))));

    let i = refused2(complete(m, NAME, STRONG, ADDRESS, WRONG_CODE).await);

    assert_eq!(i.reason, Reason::CodeExhausted);
}

/// The gid drawn for a new account.
const NEW_USER_BYTES: [u8; 16] = [6; 16];

fn new_user_drawn(mut m: Mocks) -> Mocks {
    m.random
        .expect_bytes16()
        .times(1)
        .return_const(NEW_USER_BYTES);
    m
}

#[tokio::test]
async fn the_right_code_creates_the_account_from_the_step1_data_and_opens_a_session() {
    let new_id = UserId::from_random_bytes(NEW_USER_BYTES);
    let mut m = new_user_drawn(verified(step2(2), STRONG, true))
        .no_failure_counted()
        .session_for(new_id, 1, t(60));
    let effects: Arc<Mutex<Vec<ChallengeEffect>>> = Arc::default();
    let sink = Arc::clone(&effects);
    m.writes
        .expect_consume()
        .withf(|id, now, _, mails| *id == pending().id() && *now == t(60) && mails.is_empty())
        .times(1)
        .returning(move |_, _, effect, _| {
            sink.lock().unwrap().push(effect);
            Ok(ConsumeOutcome::Applied)
        });

    // The code as a person might type it: lower case, a hyphen, `l` for `1`.
    let session = complete(m, NAME, STRONG, "ANN@example.com", "lo-amyz")
        .await
        .unwrap();

    let effect = effects.lock().unwrap().pop().unwrap();
    let ChallengeEffect::SignUp {
        user: created,
        claims,
    } = effect
    else {
        panic!("expected SignUp, got {effect:?}");
    };
    assert_eq!(
        claims,
        (email(ADDRESS), new_id),
        "the verified address's invitations go to the new account, in the same set"
    );
    assert_eq!(created.id, new_id);
    assert_eq!(created.username.as_str(), NAME, "the step-1 name, exactly");
    assert_eq!(created.emails, vec![email(ADDRESS)], "the verified address");
    assert_eq!(created.password_hash, step1_hash(), "the step-1 hash");
    assert_eq!(created.created_at, t(60));

    assert_eq!(session.token, TOKEN);
    assert_eq!(session.user.id, new_id);
    assert_eq!(session.user.username_str(), NAME);
    assert_eq!(session.user.status, UserStatus::Active);
    assert_eq!(session.user.credential_version, 1);
    assert_eq!(session.projects, vec![project_of(new_id)]);
}

#[tokio::test]
async fn the_claimed_invitations_are_in_the_session_with_their_owners_loaded_in_one_batch() {
    let new_id = UserId::from_random_bytes(NEW_USER_BYTES);
    let owner = user(2, "Bob", UserStatus::Active, &["bob@example.com"]);
    let mut m = new_user_drawn(verified(step2(0), STRONG, true)).no_failure_counted();
    m.tokens
        .expect_issue()
        .withf(move |u, v, a, n| (*u, *v, *a, *n) == (new_id, 1, Some(t(60)), t(60)))
        .times(1)
        .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
    // What the store shows once the claim committed: the new account's
    // invited row in Bob's project, and Bob's owner row.
    let mut claimed = project_of(owner.id);
    let bobs_row = claimed.own.clone();
    claimed.own.user = new_id;
    claimed.own.status = MembershipStatus::Invited;
    claimed.own.roles = vec![Role::Member];
    claimed.owner_row = Some(bobs_row);
    let view = claimed.clone();
    m.projects
        .expect_views_for()
        .withf(move |u| *u == new_id)
        .times(1)
        .returning(move |_| Ok(vec![view.clone()]));
    let owner_id = owner.id;
    let loaded = owner.clone();
    m.users
        .expect_get_many()
        .withf(move |ids| ids == [owner_id])
        .times(1)
        .returning(move |_| Ok(vec![loaded.clone()]));
    m.writes
        .expect_consume()
        .withf(move |_, _, effect, _| {
            matches!(effect, ChallengeEffect::SignUp { user, claims }
                if user.id == new_id && *claims == (email(ADDRESS), new_id))
        })
        .times(1)
        .returning(|_, _, _, _| Ok(ConsumeOutcome::Applied));

    let session = complete(m, NAME, STRONG, ADDRESS, CODE).await.unwrap();

    assert_eq!(session.projects, vec![claimed]);
    assert_eq!(session.users, vec![owner]);
}

#[tokio::test]
async fn a_username_taken_meanwhile_is_username_unavailable_and_no_session_opens() {
    let mut m = new_user_drawn(verified(step2(0), STRONG, true))
        .no_failure_counted()
        .no_session();
    m.writes
        .expect_consume()
        .times(1)
        .returning(|_, _, _, _| Ok(ConsumeOutcome::UsernameTaken));

    let i = refused2(complete(m, NAME, STRONG, ADDRESS, CODE).await);

    assert_eq!(
        (i.field, i.reason),
        ("username", Reason::UsernameUnavailable)
    );
}

#[tokio::test]
async fn losing_the_race_to_consume_reports_the_state_of_the_reloaded_challenge() {
    let cases = [
        (
            Some(pending().consumed(t(59)).unwrap()),
            Reason::CodeInvalid,
        ),
        (Some(pending().superseded()), Reason::CodeInvalid),
        (Some(with_failures(pending(), 5)), Reason::CodeExhausted),
        (None, Reason::CodeInvalid),
    ];
    for (reloaded, want) in cases {
        let mut m = new_user_drawn(verified(Mocks::new().at(t(60)), STRONG, true))
            .no_failure_counted()
            .no_session();
        let mut seq = Sequence::new();
        m.challenges
            .expect_find_by_lookup()
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_, _| Ok(Some(pending())));
        m.writes
            .expect_consume()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(ConsumeOutcome::NotOpen));
        m.challenges
            .expect_find_by_lookup()
            .withf(|p, _| *p == Purpose::Signup)
            .times(1)
            .in_sequence(&mut seq)
            .return_once(move |_, _| Ok(reloaded));

        let i = refused2(complete(m, NAME, STRONG, ADDRESS, CODE).await);

        assert_eq!(i.reason, want);
        if want == Reason::CodeInvalid {
            assert_eq!(i.attempts_left, Some(0));
        }
    }
}

#[tokio::test]
async fn an_overloaded_hasher_during_the_password_check_is_overloaded_and_spends_no_try() {
    let mut m = untouched(step2(0));
    m.hasher.expect_verify().times(1).returning(|_, _| {
        Err(HashError::Overloaded {
            retry_after_seconds: 3,
        })
    });

    let r = complete(m, NAME, STRONG, ADDRESS, CODE).await;

    assert!(
        matches!(
            r,
            Err(SignupError::Failure(Failure::Overloaded {
                retry_after_seconds: 3
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_database_outage_while_loading_the_challenge_is_unavailable() {
    let mut m = untouched(Mocks::new().at(t(60)));
    m.challenges
        .expect_find_by_lookup()
        .times(1)
        .returning(|_, _| Err(unavailable()));

    let r = complete(m, NAME, STRONG, ADDRESS, CODE).await;

    assert!(
        matches!(r, Err(SignupError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_failure_to_count_a_failure_is_its_store_error() {
    let mut m = verified(step2(0), STRONG, true)
        .nothing_consumed()
        .no_session();
    m.challenges
        .expect_record_failure()
        .times(1)
        .returning(|_, _| Err(unavailable()));

    let r = complete(m, NAME, STRONG, ADDRESS, WRONG_CODE).await;

    assert!(
        matches!(r, Err(SignupError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_unexpected_store_error_while_consuming_is_unexpected_and_no_session_opens() {
    let mut m = new_user_drawn(verified(step2(0), STRONG, true))
        .no_failure_counted()
        .no_session();
    m.writes
        .expect_consume()
        .times(1)
        .returning(|_, _, _, _| Err(unexpected()));

    let r = complete(m, NAME, STRONG, ADDRESS, CODE).await;

    assert!(
        matches!(r, Err(SignupError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

// ------------------------------------------------------------ mail language

/// The one mail of a step-1 call carrying `accept_language`.
async fn signup_mail(accept_language: Option<&str>, s: UnicatSettings) -> OutgoingMail {
    let m = hashed(address_hit(
        name_lookup(step1(), NAME, None),
        "ann@example.com",
        RateDecision::Allowed,
    ))
    .draws();
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let sink = Arc::clone(&stored);
    let mut m = m;
    m.writes.expect_issue().times(1).returning(move |c, mails| {
        sink.lock().unwrap().push((c, mails));
        Ok(())
    });
    let mut i = input(NAME, STRONG, ADDRESS);
    i.accept_language = accept_language.map(str::to_owned);
    service(m, s).request(i, CLIENT).await.unwrap();
    let (_, mut mails) = stored.lock().unwrap().pop().unwrap();
    assert_eq!(mails.len(), 1);
    mails.remove(0)
}

#[tokio::test]
async fn the_sign_up_mail_is_in_the_first_accept_language_that_is_a_ui_language() {
    let mail = signup_mail(Some("fr-FR, nl-BE;q=0.8, de;q=0.9"), settings()).await;
    assert_eq!(mail.subject, "Ihr Bestätigungscode");
    assert!(mail.text.starts_with("Hallo Ann,\n"), "{}", mail.text);
    assert_eq!(code_in(&mail.text), CODE);

    let mail = signup_mail(Some("nl-NL,nl;q=0.9,en;q=0.8"), settings()).await;
    assert_eq!(mail.subject, "Je verificatiecode");
    assert_eq!(code_in(&mail.text), CODE);
}

#[tokio::test]
async fn the_sign_up_mail_skips_languages_the_deployment_does_not_offer_and_falls_back_to_english()
{
    let mut s = settings();
    s.ui_languages = vec!["en".to_owned(), "nl".to_owned()];
    let mail = signup_mail(Some("de-DE,de;q=0.9"), s).await;
    assert_eq!(mail.subject, "Your verification code");

    let mail = signup_mail(None, settings()).await;
    assert_eq!(mail.subject, "Your verification code");
    assert!(mail.text.starts_with("Hello Ann,\n"), "{}", mail.text);
}
