//! Unit tests of the forgotPassword use cases, with every port mocked.
//!
//! A port method without an expectation panics when called, and every
//! expectation that matters is pinned with `.times(n)` or `.never()`.

use super::*;
use crate::test_writes::{ChallengeEffect, ConsumeOutcome, MockWrites};
use crate::Ports;
use accountd_domain::{
    Attempt, AuditEvent, AuditEventKind, AuditOutcome, ChallengeId, ChallengePolicy,
    ChallengeState, CodeFormat, OutgoingMail, PasswordHash, PasswordPolicy, UserId, UserStatus,
};
use accountd_ports::{
    HashError, Limit, MockChallengeRepository, MockClock, MockPasswordHasher, MockRandom,
    MockRateLimiter, MockUserRepository, RateDecision, StoreError,
};
use accountd_testkit::{ann, ann_with, key, t, STRONG, WEAK};
use mockall::Sequence;
use std::sync::{Arc, Mutex};

const CODE: &str = "482901";
const WRONG_CODE: &str = "111111";
const CLIENT: &str = "203.0.113.7";
const CHALLENGE_ID_BYTES: [u8; 16] = [2; 16];
const NEW_HASH: &str = "$2b$04$newhashnewhashnewhashnewhash";

fn code_input(username: &str, code: &str) -> CheckCodeInput {
    CheckCodeInput {
        username: username.to_owned(),
        code: code.into(),
    }
}

fn reset_input(username: &str, code: &str, new_password: &str) -> ResetPasswordInput {
    ResetPasswordInput {
        username: username.to_owned(),
        code: code.into(),
        new_password: new_password.into(),
    }
}

fn user_id() -> UserId {
    UserId::from_random_bytes([1; 16])
}

fn user_key() -> String {
    format!("user:{}", user_id())
}

fn settings() -> ForgotPasswordSettings {
    ForgotPasswordSettings {
        challenge: ChallengeSettings {
            code_ttl_seconds: 900,
            max_failures: 11,
            codes_per_hour: 5,
            codes_per_day: 10,
            step1_per_ip_per_hour: 30,
            enumeration_protection: false,
            password_policy: PasswordPolicy::DEFAULT,
        },
    }
}

fn protected() -> ForgotPasswordSettings {
    ForgotPasswordSettings {
        challenge: ChallengeSettings {
            enumeration_protection: true,
            ..settings().challenge
        },
    }
}

fn account_limits() -> Vec<Limit> {
    vec![
        Limit {
            window_seconds: 3600,
            max: 5,
        },
        Limit {
            window_seconds: 86_400,
            max: 10,
        },
    ]
}

fn ip_limits() -> Vec<Limit> {
    vec![Limit {
        window_seconds: 3600,
        max: 30,
    }]
}

/// Ann's forgotPassword challenge for 482901, issued at t(0), living 900 s.
fn issued() -> Challenge {
    let code = CodeFormat::Digits6.code_from_draws(&[482_901]).unwrap();
    Challenge::issue(
        ChallengeId::from_random_bytes(CHALLENGE_ID_BYTES),
        Purpose::ForgotPassword,
        Subject::Account { user: user_id() },
        &code,
        &key(),
        ChallengePolicy::forgot_password(900),
        t(0),
    )
}

/// A newer challenge that superseded [`issued`].
fn newer() -> Challenge {
    let code = CodeFormat::Digits6.code_from_draws(&[777_777]).unwrap();
    Challenge::issue(
        ChallengeId::from_random_bytes([3; 16]),
        Purpose::ForgotPassword,
        Subject::Account { user: user_id() },
        &code,
        &key(),
        ChallengePolicy::forgot_password(900),
        t(30),
    )
}

fn with_failures(n: u32) -> Challenge {
    (0..n).fold(issued(), |c, _| c.with_failure(t(1)).unwrap())
}

fn new_hash() -> PasswordHash {
    PasswordHash::new(NEW_HASH.into())
}

fn unavailable() -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("connection pool timed out"))
}

fn unexpected() -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!("malformed row"))
}

/// What one `issue` call stored.
type Issued = (Challenge, Vec<OutgoingMail>);

/// The only line of `text` that is six characters alone.
fn code_in(text: &str) -> String {
    let six: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.chars().count() == 6)
        .collect();
    assert_eq!(six.len(), 1, "exactly one code line in {text:?}");
    six[0].to_owned()
}

struct Mocks {
    users: MockUserRepository,
    challenges: MockChallengeRepository,
    writes: MockWrites,
    limiter: MockRateLimiter,
    hasher: MockPasswordHasher,
    clock: MockClock,
    random: MockRandom,
}

impl Mocks {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            challenges: MockChallengeRepository::new(),
            writes: MockWrites::new(),
            limiter: MockRateLimiter::new(),
            hasher: MockPasswordHasher::new(),
            clock: MockClock::new(),
            random: MockRandom::new(),
        }
    }

    /// The clock always reads `now`.
    fn at(mut self, now: Timestamp) -> Self {
        self.clock.expect_now().return_const(now);
        self
    }

    /// One lookup of "Ann", answering `found`.
    fn user(mut self, found: Option<User>) -> Self {
        self.users
            .expect_find_by_username_ci()
            .withf(|name| name == "Ann")
            .times(1)
            .return_once(move |_| Ok(found));
        self
    }

    /// One hit on `key` with exactly `limits` at `now`, answering `decision`.
    fn hit(
        mut self,
        key: String,
        limits: Vec<Limit>,
        now: Timestamp,
        decision: RateDecision,
    ) -> Self {
        self.limiter
            .expect_hit()
            .withf(move |k, l, n| k == key && l == limits.as_slice() && *n == now)
            .times(1)
            .return_once(move |_, _, _| Ok(decision));
        self
    }

    /// One load of Ann's latest forgotPassword challenge, answering `found`.
    fn latest(mut self, found: Option<Challenge>) -> Self {
        self.challenges
            .expect_latest()
            .withf(|purpose, k| *purpose == Purpose::ForgotPassword && k == user_key())
            .times(1)
            .return_once(move |_, _| Ok(found));
        self
    }

    fn no_challenge_issued(mut self) -> Self {
        self.writes.expect_issue().never();
        self.random.expect_uniform().never();
        self.random.expect_bytes16().never();
        self
    }

    fn code_never_loaded(mut self) -> Self {
        self.challenges.expect_latest().never();
        self
    }

    fn no_failure_counted(mut self) -> Self {
        self.challenges.expect_record_failure().never();
        self
    }

    fn nothing_consumed(mut self) -> Self {
        self.writes.expect_consume().never();
        self
    }

    fn nothing_hashed(mut self) -> Self {
        self.hasher.expect_hash().never();
        self
    }

    fn service(self, settings: ForgotPasswordSettings) -> ForgotPassword {
        ForgotPassword::new(
            Ports {
                users: Arc::new(self.users),
                challenges: Arc::new(self.challenges),
                changes: Arc::new(self.writes),
                limiter: Arc::new(self.limiter),
                hasher: Arc::new(self.hasher),
                clock: Arc::new(self.clock),
                random: Arc::new(self.random),
                admission: Default::default(),
            },
            key(),
            settings,
        )
    }
}

// ---------------------------------------------------------------- sendEmail

/// The route spec's order: a 404 or 400 is answered before any limit.
fn no_limit_checked() -> Mocks {
    let mut m = Mocks::new().at(t(0));
    m.limiter.expect_hit().never();
    m
}

fn ip_allowed() -> Mocks {
    Mocks::new().at(t(0)).hit(
        format!("step1:ip:{CLIENT}"),
        ip_limits(),
        t(0),
        RateDecision::Allowed,
    )
}

#[tokio::test]
async fn a_client_over_its_hourly_limit_gets_too_many_requests_with_the_retry_time() {
    let m = Mocks::new()
        .at(t(0))
        .hit(
            format!("step1:ip:{CLIENT}"),
            ip_limits(),
            t(0),
            RateDecision::Limited {
                retry_after_seconds: 1234,
            },
        )
        .no_challenge_issued()
        .user(Some(ann()));

    crate::test_writes::take_audited();

    let r = m.service(settings()).send_email("Ann", CLIENT).await;

    assert!(
        matches!(
            r,
            Err(SendEmailError::TooManyRequests(RateLimited {
                retry_after_seconds: 1234
            }))
        ),
        "{r:?}"
    );
    assert_eq!(
        crate::test_writes::take_audited(),
        [AuditEvent::new(AuditEventKind::RateLimited, None)
            .outcome(AuditOutcome::Refused)
            .client(Some(CLIENT))
            .purpose(Purpose::ForgotPassword)
            .word("limit", "step1_per_ip")]
    );
}

#[tokio::test]
async fn an_unknown_username_is_reported_as_unknown_and_no_code_is_issued() {
    let m = no_limit_checked().user(None).no_challenge_issued();

    let r = m.service(settings()).send_email("Ann", CLIENT).await;

    assert!(matches!(r, Err(SendEmailError::UnknownUsername)), "{r:?}");
}

#[tokio::test]
async fn an_invited_or_deleted_user_is_treated_as_unknown() {
    for status in [UserStatus::Invited, UserStatus::Deleted] {
        let m = no_limit_checked()
            .user(Some(ann_with(status, &["ann@example.com"])))
            .no_challenge_issued();

        let r = m.service(settings()).send_email("Ann", CLIENT).await;

        assert!(
            matches!(r, Err(SendEmailError::UnknownUsername)),
            "{status:?}: {r:?}"
        );
    }
}

#[tokio::test]
async fn a_user_without_an_email_address_gets_no_email_addresses_and_no_code() {
    let m = no_limit_checked()
        .user(Some(ann_with(UserStatus::Active, &[])))
        .no_challenge_issued();

    let r = m.service(settings()).send_email("Ann", CLIENT).await;

    assert!(matches!(r, Err(SendEmailError::NoEmailAddresses)), "{r:?}");
}

fn decoy_key() -> String {
    format!("decoy:{}", accountd_domain::Username::typed_key("ann"))
}

/// The decoy `sendEmail` stores for "Ann" under protection: a real
/// challenge for 482901 covering no account.
fn decoy() -> Challenge {
    let code = CodeFormat::Digits6.code_from_draws(&[482_901]).unwrap();
    Challenge::issue(
        ChallengeId::from_random_bytes(CHALLENGE_ID_BYTES),
        Purpose::ForgotPassword,
        Subject::decoy("Ann", false),
        &code,
        &key(),
        ChallengePolicy::forgot_password(900),
        t(0),
    )
}

/// The draws and the one issue of a send, captured into `stored`.
fn drawn_and_issued(mut m: Mocks, stored: Arc<Mutex<Vec<Issued>>>) -> Mocks {
    m.random
        .expect_uniform()
        .withf(|lo, hi| (*lo, *hi) == (100_000, 999_999))
        .times(1)
        .return_const(482_901u32);
    m.random
        .expect_bytes16()
        .times(1)
        .return_const(CHALLENGE_ID_BYTES);
    m.writes.expect_issue().times(1).returning(move |c, mails| {
        stored.lock().unwrap().push((c, mails));
        Ok(())
    });
    m
}

#[tokio::test]
async fn with_enumeration_protection_an_unknown_user_or_one_without_addresses_gets_a_stored_decoy_and_no_mail(
) {
    for found in [None, Some(ann_with(UserStatus::Active, &[]))] {
        let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
        let m = drawn_and_issued(
            ip_allowed().user(found.clone()).hit(
                format!("challenges:{}", decoy_key()),
                account_limits(),
                t(0),
                RateDecision::Allowed,
            ),
            Arc::clone(&stored),
        );

        let r = m.service(protected()).send_email("Ann", CLIENT).await;

        assert!(r.is_ok(), "{r:?}");
        let (challenge, mails) = stored.lock().unwrap().pop().unwrap();
        assert_eq!(challenge, decoy(), "{found:?}");
        // Its mail is a decoy row (MockWrites: never a queued mail), to
        // nobody.
        let to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
        assert_eq!(to, ["decoy@decoy.invalid"]);
        assert_eq!(mails[0].subject, "Your password reset code");
    }
}

#[tokio::test]
async fn with_enumeration_protection_an_unknown_user_is_rate_limited_like_a_real_account() {
    // Otherwise a sixth request in an hour would tell a real account (429)
    // from an unknown one (always 200).
    let m = ip_allowed()
        .user(None)
        .hit(
            format!("challenges:{}", decoy_key()),
            account_limits(),
            t(0),
            RateDecision::Limited {
                retry_after_seconds: 600,
            },
        )
        .no_challenge_issued();

    let r = m.service(protected()).send_email("Ann", CLIENT).await;

    assert!(
        matches!(
            r,
            Err(SendEmailError::TooManyRequests(RateLimited {
                retry_after_seconds: 600
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_account_over_its_code_limit_gets_too_many_requests_and_no_code() {
    let m = ip_allowed()
        .user(Some(ann()))
        .hit(
            format!("challenges:{}", user_key()),
            account_limits(),
            t(0),
            RateDecision::Limited {
                retry_after_seconds: 600,
            },
        )
        .no_challenge_issued();

    let r = m.service(settings()).send_email("Ann", CLIENT).await;

    assert!(
        matches!(
            r,
            Err(SendEmailError::TooManyRequests(RateLimited {
                retry_after_seconds: 600
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_send_issues_exactly_one_challenge_and_mails_its_code_to_every_address() {
    let mut m = ip_allowed().user(Some(ann())).hit(
        format!("challenges:{}", user_key()),
        account_limits(),
        t(0),
        RateDecision::Allowed,
    );
    m.random
        .expect_uniform()
        .withf(|lo, hi| (*lo, *hi) == (100_000, 999_999))
        .times(1)
        .return_const(482_901u32);
    m.random
        .expect_bytes16()
        .times(1)
        .return_const(CHALLENGE_ID_BYTES);
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let sink = Arc::clone(&stored);
    m.writes.expect_issue().times(1).returning(move |c, mails| {
        sink.lock().unwrap().push((c, mails));
        Ok(())
    });

    // Another number of tries in the settings: the route spec's 11 hold.
    let settings = ForgotPasswordSettings {
        challenge: ChallengeSettings {
            max_failures: 3,
            ..settings().challenge
        },
    };
    let r = m.service(settings).send_email("Ann", CLIENT).await;

    assert!(r.is_ok(), "{r:?}");
    let (challenge, mails) = stored.lock().unwrap().pop().unwrap();
    assert_eq!(
        challenge.id(),
        ChallengeId::from_random_bytes(CHALLENGE_ID_BYTES)
    );
    assert_eq!(challenge.purpose(), Purpose::ForgotPassword);
    assert_eq!(challenge.subject(), &Subject::Account { user: user_id() });
    assert_eq!(challenge.subject().key(), user_key());
    assert_eq!(challenge.stored_state(), ChallengeState::Open);
    assert_eq!(challenge.failures(), 0);
    assert_eq!(challenge.max_failures(), 11);
    assert_eq!(challenge.issued_at(), t(0));
    assert_eq!(challenge.expires_at(), t(900));

    let recipients: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(recipients, ["ann@example.com", "a.lee@work.example"]);
    for mail in &mails {
        assert_eq!(mail.subject, "Your password reset code");
        assert_eq!(mail.not_after, Some(challenge.expires_at()));
        let code = code_in(&mail.text);
        assert_eq!(code, CODE, "the drawn value is the code");
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(challenge.attempt(t(1), &key(), &code), Ok(Attempt::Correct));
        assert_eq!(
            challenge.attempt(t(1), &MacKey::from_bytes([8; 32]), &code),
            Ok(Attempt::Wrong),
            "the MAC is keyed with the service's key"
        );
    }
}

#[tokio::test]
async fn a_database_outage_during_the_lookup_is_unavailable() {
    let mut m = no_limit_checked().no_challenge_issued();
    m.users
        .expect_find_by_username_ci()
        .times(1)
        .returning(|_| Err(unavailable()));

    let r = m.service(settings()).send_email("Ann", CLIENT).await;

    assert!(
        matches!(r, Err(SendEmailError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_rate_limiter_failure_is_unexpected() {
    let mut m = Mocks::new()
        .at(t(0))
        .no_challenge_issued()
        .user(Some(ann()));
    m.limiter
        .expect_hit()
        .times(1)
        .returning(|_, _, _| Err(unexpected()));

    let r = m.service(settings()).send_email("Ann", CLIENT).await;

    assert!(
        matches!(r, Err(SendEmailError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_failed_issue_transaction_is_reported_as_unavailable() {
    let mut m = ip_allowed().user(Some(ann())).hit(
        format!("challenges:{}", user_key()),
        account_limits(),
        t(0),
        RateDecision::Allowed,
    );
    m.random.expect_uniform().times(1).return_const(482_901u32);
    m.random
        .expect_bytes16()
        .times(1)
        .return_const(CHALLENGE_ID_BYTES);
    m.writes
        .expect_issue()
        .times(1)
        .returning(|_, _| Err(unavailable()));

    let r = m.service(settings()).send_email("Ann", CLIENT).await;

    assert!(
        matches!(r, Err(SendEmailError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

// ---------------------------------------------------------------- checkCode

fn check(m: Mocks) -> Mocks {
    m.at(t(60)).user(Some(ann()))
}

#[tokio::test]
async fn checking_a_code_for_an_unknown_user_is_unknown_username() {
    let m = Mocks::new()
        .at(t(60))
        .user(None)
        .code_never_loaded()
        .no_failure_counted();

    let r = m
        .service(settings())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::UnknownUsername)), "{r:?}");
}

#[tokio::test]
async fn checking_a_code_for_an_inactive_user_is_unknown_username() {
    let m = Mocks::new()
        .at(t(60))
        .user(Some(ann_with(UserStatus::Deleted, &["ann@example.com"])))
        .code_never_loaded()
        .no_failure_counted();

    let r = m
        .service(settings())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::UnknownUsername)), "{r:?}");
}

/// One load of the latest forgotPassword challenge under the decoy key of
/// "Ann", answering `found`.
fn latest_decoy(mut m: Mocks, found: Option<Challenge>) -> Mocks {
    m.challenges
        .expect_latest()
        .withf(|purpose, k| *purpose == Purpose::ForgotPassword && k == decoy_key())
        .times(1)
        .return_once(move |_, _| Ok(found));
    m
}

#[tokio::test]
async fn with_enumeration_protection_checking_for_an_unknown_user_without_a_decoy_is_no_code() {
    let m = latest_decoy(Mocks::new().at(t(60)).user(None), None).no_failure_counted();

    let r = m
        .service(protected())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::NoCode)), "{r:?}");
}

#[tokio::test]
async fn with_enumeration_protection_a_decoy_counts_wrong_codes_like_a_real_code_and_never_accepts_one(
) {
    for found in [None, Some(ann_with(UserStatus::Active, &[]))] {
        for (code, failures) in [(WRONG_CODE, 1), (CODE, 2)] {
            let mut m = latest_decoy(Mocks::new().at(t(60)).user(found.clone()), Some(decoy()))
                .nothing_consumed();
            m.challenges
                .expect_record_failure()
                .withf(|id, now| *id == decoy().id() && *now == t(60))
                .times(1)
                .returning(move |_, _| Ok(Some(failures)));

            let r = m
                .service(protected())
                .check_code(code_input("Ann", code))
                .await;

            assert!(matches!(r, Err(CheckCodeError::CodeIncorrect)), "{r:?}");
        }
    }
}

#[tokio::test]
async fn with_enumeration_protection_a_spent_decoy_is_rate_limit_exceeded_like_a_real_code() {
    let spent = (0..11).fold(decoy(), |c, _| c.with_failure(t(1)).unwrap());
    let m = latest_decoy(Mocks::new().at(t(60)).user(None), Some(spent)).no_failure_counted();

    let r = m
        .service(protected())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::RateLimitExceeded)), "{r:?}");
}

#[tokio::test]
async fn checking_a_code_when_none_was_ever_requested_is_no_code() {
    let m = check(Mocks::new()).latest(None).no_failure_counted();

    let r = m
        .service(settings())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::NoCode)), "{r:?}");
}

#[tokio::test]
async fn the_right_code_is_confirmed_without_counting_a_failure() {
    let m = check(Mocks::new())
        .latest(Some(with_failures(3)))
        .no_failure_counted()
        .nothing_consumed();

    let r = m
        .service(settings())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(r.is_ok(), "{r:?}");
}

#[tokio::test]
async fn a_wrong_code_counts_exactly_one_failure_and_is_incorrect() {
    let mut m = check(Mocks::new())
        .latest(Some(issued()))
        .nothing_consumed();
    m.challenges
        .expect_record_failure()
        .withf(|id, now| *id == issued().id() && *now == t(60))
        .times(1)
        .returning(|_, _| Ok(Some(1)));
    crate::test_writes::take_audited();

    let r = m
        .service(settings())
        .check_code(code_input("Ann", WRONG_CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::CodeIncorrect)), "{r:?}");
    assert_eq!(
        crate::test_writes::take_audited(),
        [AuditEvent::new(AuditEventKind::CodeFailed, Some(user_id()))
            .purpose(Purpose::ForgotPassword)
            .outcome(AuditOutcome::Failure)
            .count("attempts_left", 10)]
    );
}

#[tokio::test]
async fn a_malformed_code_counts_as_a_wrong_one() {
    let mut m = check(Mocks::new()).latest(Some(issued()));
    m.challenges
        .expect_record_failure()
        .times(1)
        .returning(|_, _| Ok(Some(1)));

    let r = m
        .service(settings())
        .check_code(code_input("Ann", "48290x"))
        .await;

    assert!(matches!(r, Err(CheckCodeError::CodeIncorrect)), "{r:?}");
}

#[tokio::test]
async fn the_eleventh_wrong_code_is_still_just_incorrect() {
    let mut m = check(Mocks::new()).latest(Some(with_failures(10)));
    m.challenges
        .expect_record_failure()
        .times(1)
        .returning(|_, _| Ok(Some(11)));
    crate::test_writes::take_audited();

    let r = m
        .service(settings())
        .check_code(code_input("Ann", WRONG_CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::CodeIncorrect)), "{r:?}");
    let kinds = crate::test_writes::audited_kinds();
    assert_eq!(kinds, ["code_failed", "code_exhausted"]);
}

#[tokio::test]
async fn a_wrong_code_that_loses_the_race_for_the_last_try_is_rate_limited() {
    let mut m = Mocks::new().at(t(60)).user(Some(ann()));
    let mut seq = Sequence::new();
    m.challenges
        .expect_latest()
        .withf(|p, k| *p == Purpose::ForgotPassword && k == user_key())
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(with_failures(10))));
    m.challenges
        .expect_record_failure()
        .withf(|id, now| *id == issued().id() && *now == t(60))
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(None));
    m.challenges
        .expect_latest()
        .withf(|p, k| *p == Purpose::ForgotPassword && k == user_key())
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(with_failures(11))));

    let r = m
        .service(settings())
        .check_code(code_input("Ann", WRONG_CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::RateLimitExceeded)), "{r:?}");
}

#[tokio::test]
async fn a_wrong_code_that_loses_the_race_to_a_newer_code_is_no_code() {
    let mut m = Mocks::new().at(t(60)).user(Some(ann()));
    let mut seq = Sequence::new();
    m.challenges
        .expect_latest()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(issued())));
    m.challenges
        .expect_record_failure()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(None));
    m.challenges
        .expect_latest()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(newer())));

    let r = m
        .service(settings())
        .check_code(code_input("Ann", WRONG_CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::NoCode)), "{r:?}");
}

#[tokio::test]
async fn an_expired_code_is_no_code_even_when_right() {
    for now in [t(900), t(3600)] {
        let m = Mocks::new()
            .at(now)
            .user(Some(ann()))
            .latest(Some(issued()))
            .no_failure_counted();

        let r = m
            .service(settings())
            .check_code(code_input("Ann", CODE))
            .await;

        assert!(matches!(r, Err(CheckCodeError::NoCode)), "{now:?}: {r:?}");
    }
}

#[tokio::test]
async fn a_used_code_is_no_code() {
    let m = check(Mocks::new())
        .latest(Some(issued().consumed(t(10)).unwrap()))
        .no_failure_counted();

    let r = m
        .service(settings())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::NoCode)), "{r:?}");
}

#[tokio::test]
async fn a_superseded_code_is_no_code() {
    let m = check(Mocks::new())
        .latest(Some(issued().superseded()))
        .no_failure_counted();

    let r = m
        .service(settings())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::NoCode)), "{r:?}");
}

#[tokio::test]
async fn a_twelfth_try_is_refused_even_with_the_right_code() {
    let m = check(Mocks::new())
        .latest(Some(with_failures(11)))
        .no_failure_counted();

    let r = m
        .service(settings())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(matches!(r, Err(CheckCodeError::RateLimitExceeded)), "{r:?}");
}

#[tokio::test]
async fn a_database_outage_while_loading_the_code_is_unavailable() {
    let mut m = check(Mocks::new()).no_failure_counted();
    m.challenges
        .expect_latest()
        .times(1)
        .returning(|_, _| Err(unavailable()));

    let r = m
        .service(settings())
        .check_code(code_input("Ann", CODE))
        .await;

    assert!(
        matches!(r, Err(CheckCodeError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_failure_to_count_a_failure_is_unexpected() {
    let mut m = check(Mocks::new()).latest(Some(issued()));
    m.challenges
        .expect_record_failure()
        .times(1)
        .returning(|_, _| Err(unexpected()));

    let r = m
        .service(settings())
        .check_code(code_input("Ann", WRONG_CODE))
        .await;

    assert!(
        matches!(r, Err(CheckCodeError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

// ------------------------------------------------------------ resetPassword

#[tokio::test]
async fn resetting_for_an_unknown_user_is_unknown_username() {
    let m = Mocks::new()
        .at(t(60))
        .user(None)
        .code_never_loaded()
        .nothing_hashed()
        .nothing_consumed();

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(
        matches!(r, Err(ResetPasswordError::UnknownUsername)),
        "{r:?}"
    );
}

#[tokio::test]
async fn with_enumeration_protection_resetting_for_an_unknown_user_without_a_decoy_is_no_code() {
    let m = latest_decoy(Mocks::new().at(t(60)).user(None), None)
        .nothing_hashed()
        .nothing_consumed();

    let r = m
        .service(protected())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(matches!(r, Err(ResetPasswordError::NoCode)), "{r:?}");
}

#[tokio::test]
async fn with_enumeration_protection_a_decoy_refuses_a_weak_password_as_a_real_code_does() {
    let real = check(Mocks::new())
        .latest(Some(issued()))
        .no_failure_counted()
        .nothing_hashed()
        .nothing_consumed();
    let fake = latest_decoy(Mocks::new().at(t(60)).user(None), Some(decoy()))
        .no_failure_counted()
        .nothing_hashed()
        .nothing_consumed();

    let r = real
        .service(protected())
        .reset_password(reset_input("Ann", WRONG_CODE, WEAK))
        .await;
    let d = fake
        .service(protected())
        .reset_password(reset_input("Ann", WRONG_CODE, WEAK))
        .await;

    match (r, d) {
        (
            Err(ResetPasswordError::PasswordRejected(a)),
            Err(ResetPasswordError::PasswordRejected(b)),
        ) => assert_eq!(a, b),
        other => panic!("both refused as weak: {other:?}"),
    }
}

#[tokio::test]
async fn with_enumeration_protection_resetting_with_a_decoy_counts_the_code_as_wrong_and_changes_nothing(
) {
    for code in [WRONG_CODE, CODE] {
        let mut m = latest_decoy(Mocks::new().at(t(60)).user(None), Some(decoy()))
            .nothing_hashed()
            .nothing_consumed();
        m.challenges
            .expect_record_failure()
            .times(1)
            .returning(|_, _| Ok(Some(1)));

        let r = m
            .service(protected())
            .reset_password(reset_input("Ann", code, STRONG))
            .await;

        assert!(matches!(r, Err(ResetPasswordError::CodeIncorrect)), "{r:?}");
    }
}

#[tokio::test]
async fn a_weak_new_password_is_rejected_and_the_code_is_not_spent() {
    let m = check(Mocks::new())
        .latest(Some(issued()))
        .no_failure_counted()
        .nothing_hashed()
        .nothing_consumed();

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, WEAK))
        .await;

    assert!(
        matches!(
            r,
            Err(ResetPasswordError::PasswordRejected(
                PasswordRejection::Weak { .. }
            ))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_new_password_containing_the_username_is_rejected_and_the_code_is_not_spent() {
    let m = check(Mocks::new())
        .latest(Some(issued()))
        .no_failure_counted()
        .nothing_hashed()
        .nothing_consumed();
    let s = ForgotPasswordSettings {
        challenge: ChallengeSettings {
            password_policy: PasswordPolicy::new(8, 0),
            ..settings().challenge
        },
    };

    let r = m
        .service(s)
        .reset_password(reset_input("Ann", CODE, "my-ANN-is-great"))
        .await;

    assert!(
        matches!(
            r,
            Err(ResetPasswordError::PasswordRejected(
                PasswordRejection::ContainsUsername
            ))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn the_right_code_sets_the_hashed_password_and_notifies_every_address() {
    let mut m = Mocks::new()
        .user(Some(ann()))
        .latest(Some(issued()))
        .no_failure_counted();
    // The hash takes a while: the code is consumed at the later time.
    let mut clock = Sequence::new();
    m.clock
        .expect_now()
        .times(1)
        .in_sequence(&mut clock)
        .return_const(t(60));
    m.clock
        .expect_now()
        .times(1)
        .in_sequence(&mut clock)
        .return_const(t(62));
    m.hasher
        .expect_hash()
        .withf(|p| p.expose() == STRONG)
        .times(1)
        .returning(|_| Ok(new_hash()));
    let queued: Arc<Mutex<Vec<OutgoingMail>>> = Arc::default();
    let sink = Arc::clone(&queued);
    m.writes
        .expect_consume()
        .withf(|id, now, effect, _| {
            *id == issued().id()
                && *now == t(62)
                && *effect
                    == ChallengeEffect::SetPassword {
                        user: user_id(),
                        hash: new_hash(),
                    }
        })
        .times(1)
        .returning(move |_, _, _, mails| {
            sink.lock().unwrap().extend(mails);
            Ok(ConsumeOutcome::Applied)
        });

    crate::test_writes::take_audited();
    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        crate::test_writes::take_audited(),
        [
            AuditEvent::new(AuditEventKind::PasswordChanged, Some(user_id())),
            AuditEvent::new(AuditEventKind::TokensRevoked, Some(user_id()))
                .word("reason", "password_changed"),
        ],
        "in the set that changes the password"
    );
    let mails = queued.lock().unwrap().clone();
    let recipients: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(recipients, ["ann@example.com", "a.lee@work.example"]);
    for mail in &mails {
        assert_eq!(mail.subject, "Your password was changed");
        assert_eq!(mail.not_after, None);
        assert!(
            !mail.text.contains(STRONG),
            "the mail never holds the password"
        );
    }
}

#[tokio::test]
async fn a_wrong_code_on_reset_counts_a_failure_and_changes_nothing() {
    let mut m = check(Mocks::new())
        .latest(Some(issued()))
        .nothing_hashed()
        .nothing_consumed();
    m.challenges
        .expect_record_failure()
        .withf(|id, now| *id == issued().id() && *now == t(60))
        .times(1)
        .returning(|_, _| Ok(Some(1)));

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", WRONG_CODE, STRONG))
        .await;

    assert!(matches!(r, Err(ResetPasswordError::CodeIncorrect)), "{r:?}");
}

#[tokio::test]
async fn resetting_with_no_code_requested_is_no_code() {
    let m = check(Mocks::new())
        .latest(None)
        .no_failure_counted()
        .nothing_hashed()
        .nothing_consumed();

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(matches!(r, Err(ResetPasswordError::NoCode)), "{r:?}");
}

#[tokio::test]
async fn resetting_with_an_expired_code_is_no_code_even_when_right() {
    let m = Mocks::new()
        .at(t(901))
        .user(Some(ann()))
        .latest(Some(issued()))
        .no_failure_counted()
        .nothing_hashed()
        .nothing_consumed();

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(matches!(r, Err(ResetPasswordError::NoCode)), "{r:?}");
}

#[tokio::test]
async fn resetting_with_an_exhausted_code_is_rate_limited_even_when_right() {
    let m = check(Mocks::new())
        .latest(Some(with_failures(11)))
        .no_failure_counted()
        .nothing_hashed()
        .nothing_consumed();

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(
        matches!(r, Err(ResetPasswordError::RateLimitExceeded)),
        "{r:?}"
    );
}

#[tokio::test]
async fn losing_the_race_to_consume_the_code_is_no_code() {
    let mut m = check(Mocks::new()).no_failure_counted();
    let mut seq = Sequence::new();
    m.challenges
        .expect_latest()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(issued())));
    m.hasher
        .expect_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(new_hash()));
    m.writes
        .expect_consume()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(ConsumeOutcome::NotOpen));
    m.challenges
        .expect_latest()
        .withf(|p, k| *p == Purpose::ForgotPassword && k == user_key())
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(issued().consumed(t(61)).unwrap())));

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(matches!(r, Err(ResetPasswordError::NoCode)), "{r:?}");
}

#[tokio::test]
async fn an_overloaded_hasher_is_overloaded_with_its_retry_time_and_nothing_is_consumed() {
    let mut m = check(Mocks::new())
        .latest(Some(issued()))
        .no_failure_counted()
        .nothing_consumed();
    m.hasher.expect_hash().times(1).returning(|_| {
        Err(HashError::Overloaded {
            retry_after_seconds: 7,
        })
    });

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(
        matches!(
            r,
            Err(ResetPasswordError::Failure(Failure::Overloaded {
                retry_after_seconds: 7
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_hasher_failure_is_unexpected_and_nothing_is_consumed() {
    let mut m = check(Mocks::new())
        .latest(Some(issued()))
        .no_failure_counted()
        .nothing_consumed();
    m.hasher
        .expect_hash()
        .times(1)
        .returning(|_| Err(HashError::Unexpected(anyhow::anyhow!("pool gone"))));

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(
        matches!(r, Err(ResetPasswordError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_database_outage_while_consuming_is_unavailable() {
    let mut m = check(Mocks::new())
        .latest(Some(issued()))
        .no_failure_counted();
    m.hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(new_hash()));
    m.writes
        .expect_consume()
        .times(1)
        .returning(|_, _, _, _| Err(unavailable()));

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(
        matches!(r, Err(ResetPasswordError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_unexpected_store_error_while_consuming_is_unexpected() {
    let mut m = check(Mocks::new())
        .latest(Some(issued()))
        .no_failure_counted();
    m.hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(new_hash()));
    m.writes
        .expect_consume()
        .times(1)
        .returning(|_, _, _, _| Err(unexpected()));

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(
        matches!(r, Err(ResetPasswordError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_database_outage_while_loading_the_user_for_a_reset_is_unavailable() {
    let mut m = Mocks::new()
        .at(t(60))
        .code_never_loaded()
        .nothing_hashed()
        .nothing_consumed();
    m.users
        .expect_find_by_username_ci()
        .times(1)
        .returning(|_| Err(unavailable()));

    let r = m
        .service(settings())
        .reset_password(reset_input("Ann", CODE, STRONG))
        .await;

    assert!(
        matches!(r, Err(ResetPasswordError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}
