//! HTTP-level tests of the forgotPassword family and the shared pieces
//! (body reading, client address, unknown routes, health), driving the real
//! actix app from [`crate::configure`] with every port mocked.
//!
//! Every body is compared byte for byte. A port method without an
//! expectation panics when called; validation tests pin every port with
//! `.never()`.

use super::*;
use crate::{configure, HttpSettings, HttpState, IpNet};
use accountd_app::{ChallengeSettings, ForgotPassword, ForgotPasswordSettings, Ports};
use accountd_domain::{
    Challenge, ChallengeId, ChallengePolicy, Change, CodeFormat, PasswordHash, PasswordPolicy,
    Purpose, Subject, Timestamp, User, UserId, UserStatus,
};
use accountd_ports::{
    Applied, HashError, Limit, MockChallengeRepository, MockChanges, MockClock, MockHealthCheck,
    MockPasswordHasher, MockRandom, MockRateLimiter, MockUserRepository, RateDecision, StoreError,
};
use accountd_testkit::{ann, key, STRONG};
use actix_web::http::header::{self, ContentType, HeaderMap, HeaderValue};
use actix_web::test::{self, TestRequest};
use actix_web::App;
use std::sync::{Arc, Mutex};

// ------------------------------------------------------------------ fixtures

const SEND: &str = "/api/auth/forgotPassword/sendEmail";
const CHECK: &str = "/api/auth/forgotPassword/checkCode";
const RESET: &str = "/api/auth/forgotPassword/resetPassword";

const PEER: &str = "198.51.100.7:40000";
const CODE: &str = "482901";
const WRONG_CODE: &str = "111111";

const SENT: &str = r#"{"msg":"Sent"}"#;
const CODE_CORRECT: &str = r#"{"msg":"Code correct","success_code":"code_correct"}"#;
const CHANGED: &str = r#"{"msg":"Changed password successful"}"#;
const UNKNOWN_USERNAME: &str = r#"{"msg":"Unknown username","error_code":"unknown_username"}"#;
const NO_EMAILS: &str =
    r#"{"msg":"There are no email addresses for this account","error_code":"no_email_addresses"}"#;
const TOO_MANY: &str = r#"{"msg":"Too many requests","error_code":"too_many_requests"}"#;
const NO_CODE: &str = r#"{"msg":"There was no code for a password reset requested"}"#;
const RATE_LIMIT: &str = r#"{"msg":"Rate limit exceeded","error_code":"rate_limit_exceeded"}"#;
const CODE_INCORRECT: &str = r#"{"msg":"The code is incorrect","error_code":"code_incorrect"}"#;
const UNAVAILABLE: &str = r#"{"msg":"Service unavailable","error_code":"service_unavailable"}"#;
const INTERNAL: &str = r#"{"msg":"Internal server error","error_code":"internal_error"}"#;
const TOO_LARGE: &str = r#"{"msg":"Payload too large","error_code":"payload_too_large"}"#;
const NOT_FOUND: &str =
    r#"{"success":false,"result":{"code":404,"message":"Not found","info":{}},"data":{}}"#;

const USERNAME_REQUIRED: &str = r#"{"username":["The username field is required."]}"#;
const CODE_USERNAME_REQUIRED: &str =
    r#"{"code":["The code field is required."],"username":["The username field is required."]}"#;
const ALL_REQUIRED: &str = r#"{"code":["The code field is required."],"username":["The username field is required."],"new_password":["The new password field is required."]}"#;

const INNER_ERROR: &str = "malformed row 17 in table users";

fn now() -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000)
}

fn user_id() -> UserId {
    UserId::from_random_bytes([1; 16])
}

/// The testkit's active Ann with `emails`.
fn ann_with(emails: &[&str]) -> User {
    accountd_testkit::ann_with(UserStatus::Active, emails)
}

/// Ann's live forgotPassword challenge for [`CODE`], issued a minute ago.
fn issued() -> Challenge {
    let code = CodeFormat::Digits6.code_from_draws(&[482_901]).unwrap();
    Challenge::issue(
        ChallengeId::from_random_bytes([2; 16]),
        Purpose::ForgotPassword,
        Subject::Account { user: user_id() },
        &code,
        &key(),
        ChallengePolicy::forgot_password(900),
        now().plus_seconds(-60),
    )
}

/// [`issued`] after its 11 failed tries.
fn exhausted() -> Challenge {
    (0..11).fold(issued(), |c, _| c.with_failure(now()).unwrap())
}

fn unavailable() -> StoreError {
    StoreError::Unavailable(std::io::Error::other("connection pool timed out").into())
}

fn unexpected() -> StoreError {
    StoreError::Unexpected(std::io::Error::other(INNER_ERROR).into())
}

/// Every port, mocked, plus the settings; a test's closure sets it up.
struct World {
    users: MockUserRepository,
    challenges: MockChallengeRepository,
    changes: MockChanges,
    limiter: MockRateLimiter,
    hasher: MockPasswordHasher,
    clock: MockClock,
    random: MockRandom,
    health: MockHealthCheck,
    forgot: ForgotPasswordSettings,
    http: HttpSettings,
}

impl World {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            challenges: MockChallengeRepository::new(),
            changes: crate::testing::audit_only_changes(),
            limiter: MockRateLimiter::new(),
            hasher: MockPasswordHasher::new(),
            clock: MockClock::new(),
            random: MockRandom::new(),
            health: MockHealthCheck::new(),
            forgot: ForgotPasswordSettings {
                challenge: ChallengeSettings {
                    code_ttl_seconds: 900,
                    max_failures: 11,
                    codes_per_hour: 5,
                    codes_per_day: 10,
                    step1_per_ip_per_hour: 30,
                    enumeration_protection: false,
                    password_policy: PasswordPolicy::DEFAULT,
                },
            },
            http: HttpSettings {
                max_body_bytes: 16 * 1024,
                body_timeout: std::time::Duration::from_secs(10),
                trusted_proxies: Vec::new(),
            },
        }
    }

    fn into_state(self) -> HttpState {
        let ports = Ports {
            users: Arc::new(self.users),
            challenges: Arc::new(self.challenges),
            changes: Arc::new(self.changes),
            limiter: Arc::new(self.limiter),
            hasher: Arc::new(self.hasher),
            clock: Arc::new(self.clock),
            random: Arc::new(self.random),
            admission: Default::default(),
        };
        let unicat = crate::testing::unicat_services(
            ports.clone(),
            Arc::new(accountd_ports::MockTokenService::new()),
            Arc::new(accountd_ports::MockProjectRepository::new()),
        );
        HttpState {
            forgot_password: ForgotPassword::new(ports, key(), self.forgot),
            signup: unicat.signup,
            reset: unicat.reset,
            sessions: unicat.sessions,
            unicat: crate::testing::unicat_info(),
            health: Arc::new(self.health),
            settings: self.http,
            account_deletion: unicat.deletion,
            email_change: unicat.email_change,
            accounts: unicat.accounts,
            projects: unicat.projects,
            invitations: unicat.invitations,
            members: unicat.members,
            signing_keys: Arc::new(accountd_ports::NoPublishedKeys),
        }
    }

    /// The clock always reads [`now`].
    fn clock(&mut self) -> &mut Self {
        self.clock.expect_now().return_const(now());
        self
    }

    /// The clock, and one per-address step-1 hit that is allowed.
    /// The per-address limit allows the call. It is consulted only when the
    /// user and an address were found (404 and 400 come first), so at most
    /// once; the app's tests pin the order.
    fn ip_allowed(&mut self) -> &mut Self {
        self.clock();
        self.limiter
            .expect_hit()
            .withf(|key, _, _| key.starts_with("step1:ip:"))
            .times(0..=1)
            .returning(|_, _, _| Ok(RateDecision::Allowed));
        self
    }

    /// One case-insensitive lookup of "Ann", answering `found`.
    fn finds(&mut self, found: Option<User>) -> &mut Self {
        self.users
            .expect_find_by_username_ci()
            .withf(|name| name == "Ann")
            .times(1)
            .return_once(move |_| Ok(found));
        self
    }

    /// The clock and a lookup of "Ann" that finds her.
    fn ann(&mut self) -> &mut Self {
        self.clock().finds(Some(ann()))
    }

    /// One load of Ann's latest forgotPassword challenge, answering `found`.
    fn latest(&mut self, found: Option<Challenge>) -> &mut Self {
        let subject = Subject::Account { user: user_id() }.key();
        self.challenges
            .expect_latest()
            .withf(move |purpose, key| *purpose == Purpose::ForgotPassword && key == subject)
            .times(1)
            .return_once(move |_, _| Ok(found));
        self
    }

    /// A code check must not touch the challenge, the hasher or the store.
    fn code_untouched(&mut self) -> &mut Self {
        self.challenges.expect_latest().never();
        self.challenges.expect_record_failure().never();
        self.changes.expect_apply().never();
        self.hasher.expect_hash().never();
        self
    }

    /// Not a single port may be called.
    fn untouched(&mut self) -> &mut Self {
        self.users.expect_find_by_username_ci().never();
        self.users.expect_get().never();
        self.challenges.expect_latest().never();
        self.challenges.expect_record_failure().never();
        // Every write (a user created, a challenge issued or consumed).
        self.changes.expect_apply().never();
        self.limiter.expect_hit().never();
        self.hasher.expect_hash().never();
        self.hasher.expect_verify().never();
        self.clock.expect_now().never();
        self.random.expect_uniform().never();
        self.random.expect_bytes16().never();
        self.health.expect_ready().never();
        self
    }
}

/// What came back.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// `status` and exactly `body`, as JSON, without `Retry-After`.
#[track_caller]
fn assert_answer(a: &Answer, status: u16, body: &str) {
    assert_eq!((a.status, a.body.as_str()), (status, body));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("retry-after"), None);
}

/// `status` and exactly `body`, as JSON, with `Retry-After: retry_after`.
#[track_caller]
fn assert_retry(a: &Answer, status: u16, body: &str, retry_after: &str) {
    assert_eq!((a.status, a.body.as_str()), (status, body));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("retry-after"), Some(retry_after));
}

/// A POST from [`PEER`] with a JSON body (honest `Content-Length`).
fn post(path: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .peer_addr(PEER.parse().unwrap())
        .insert_header(ContentType::json())
        .set_payload(body.to_owned())
}

/// A POST from [`PEER`] with a form-encoded body.
fn post_form(path: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .peer_addr(PEER.parse().unwrap())
        .insert_header(ContentType::form_url_encoded())
        .set_payload(body.to_owned())
}

/// Builds the app from a fresh [`World`] set up by `setup`, sends `req`
/// (after `tweak` has edited its headers) and collects the answer. The
/// mocks are dropped (and their call counts checked) before it returns.
async fn call_with(
    setup: impl FnOnce(&mut World),
    req: TestRequest,
    tweak: impl FnOnce(&mut HeaderMap),
) -> Answer {
    let mut world = World::new();
    setup(&mut world);
    let state = web::Data::new(world.into_state());
    let app = test::init_service(App::new().configure(configure(state))).await;
    let mut req = req.to_request();
    tweak(req.headers_mut());
    let res = test::call_service(&app, req).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = test::read_body(res).await;
    drop(app);
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn call(setup: impl FnOnce(&mut World), req: TestRequest) -> Answer {
    call_with(setup, req, |_| {}).await
}

/// A reset request for Ann with the right code and `new_password`.
fn reset_with(new_password: &str) -> TestRequest {
    let body = serde_json::json!({"username": "Ann", "code": CODE, "new_password": new_password});
    post(RESET, &body.to_string())
}

fn check_right_code() -> TestRequest {
    post(CHECK, r#"{"username":"Ann","code":"482901"}"#)
}

// ------------------------------------------------------------------ sendEmail

#[actix_rt::test]
async fn send_email_for_a_known_user_issues_a_code_mailed_to_every_address_and_answers_sent() {
    let a = call(
        |w| {
            w.ip_allowed().finds(Some(ann()));
            w.limiter
                .expect_hit()
                .withf(|key, _, _| key.starts_with("challenges:"))
                .times(1)
                .returning(|_, _, _| Ok(RateDecision::Allowed));
            w.random
                .expect_uniform()
                .withf(|lo, hi| (*lo, *hi) == (100_000, 999_999))
                .times(1)
                .return_const(482_901u32);
            w.random.expect_bytes16().times(1).return_const([2u8; 16]);
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    matches!(set.changes(), [Change::IssueChallenge(c)]
                        if c.purpose() == Purpose::ForgotPassword && c.issued_at() == *t)
                        && *t == now()
                        && set.mails().len() == 2
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        post(SEND, r#"{"username":"Ann"}"#),
    )
    .await;

    assert_answer(&a, 200, SENT);
}

#[actix_rt::test]
async fn send_email_for_an_unknown_username_answers_404_unknown_username() {
    let a = call(
        |w| {
            w.ip_allowed().finds(None);
            w.changes.expect_apply().never();
        },
        post(SEND, r#"{"username":"Ann"}"#),
    )
    .await;

    assert_answer(&a, 404, UNKNOWN_USERNAME);
}

#[actix_rt::test]
async fn send_email_for_a_user_without_addresses_answers_400_no_email_addresses() {
    let a = call(
        |w| {
            w.ip_allowed().finds(Some(ann_with(&[])));
            w.changes.expect_apply().never();
        },
        post(SEND, r#"{"username":"Ann"}"#),
    )
    .await;

    assert_answer(&a, 400, NO_EMAILS);
}

#[actix_rt::test]
async fn send_email_with_enumeration_protection_answers_sent_for_an_unknown_username() {
    let a = call(
        |w| {
            w.forgot.challenge.enumeration_protection = true;
            w.ip_allowed().finds(None);
            w.limiter
                .expect_hit()
                .withf(|key, _, _| {
                    *key == format!(
                        "challenges:decoy:{}",
                        accountd_domain::Username::typed_key("ann")
                    )
                })
                .times(1)
                .returning(|_, _, _| Ok(RateDecision::Allowed));
            w.random.expect_uniform().times(1).return_const(482_901u32);
            w.random.expect_bytes16().times(1).return_const([2u8; 16]);
            // A decoy: a stored challenge covering no account, its mail a
            // decoy row, nothing queued to send.
            w.changes
                .expect_apply()
                .withf(|set, _| {
                    matches!(set.changes(), [Change::IssueChallenge(c)]
                        if c.subject() == &accountd_domain::Subject::decoy("Ann", false))
                        && set.mails().is_empty()
                        && set.decoy_mails().len() == 1
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        post(SEND, r#"{"username":"Ann"}"#),
    )
    .await;

    assert_answer(&a, 200, SENT);
}

#[actix_rt::test]
async fn send_email_over_the_per_address_limit_answers_429_with_the_retry_after_of_the_limiter() {
    let a = call(
        |w| {
            w.clock();
            w.finds(Some(ann()));
            w.limiter.expect_hit().times(1).returning(|_, _, _| {
                Ok(RateDecision::Limited {
                    retry_after_seconds: 1234,
                })
            });
        },
        post(SEND, r#"{"username":"Ann"}"#),
    )
    .await;

    assert_retry(&a, 429, TOO_MANY, "1234");
}

#[actix_rt::test]
async fn send_email_over_the_per_account_limit_answers_429_with_retry_after() {
    let a = call(
        |w| {
            w.ip_allowed().finds(Some(ann()));
            w.limiter
                .expect_hit()
                .withf(|key, _, _| key.starts_with("challenges:"))
                .times(1)
                .returning(|_, _, _| {
                    Ok(RateDecision::Limited {
                        retry_after_seconds: 600,
                    })
                });
            w.changes.expect_apply().never();
        },
        post(SEND, r#"{"username":"Ann"}"#),
    )
    .await;

    assert_retry(&a, 429, TOO_MANY, "600");
}

#[actix_rt::test]
async fn a_retry_after_below_one_second_is_sent_as_one_second() {
    let a = call(
        |w| {
            w.clock().finds(Some(ann()));
            w.limiter.expect_hit().times(1).returning(|_, _, _| {
                Ok(RateDecision::Limited {
                    retry_after_seconds: 0,
                })
            });
        },
        post(SEND, r#"{"username":"Ann"}"#),
    )
    .await;

    assert_retry(&a, 429, TOO_MANY, "1");
}

#[actix_rt::test]
async fn send_email_with_the_database_unavailable_answers_503_with_retry_after() {
    let a = call(
        |w| {
            w.clock().finds(Some(ann()));
            w.limiter
                .expect_hit()
                .times(1)
                .returning(|_, _, _| Err(unavailable()));
        },
        post(SEND, r#"{"username":"Ann"}"#),
    )
    .await;

    assert_retry(&a, 503, UNAVAILABLE, "5");
}

#[actix_rt::test]
async fn send_email_with_an_unexpected_store_error_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.ip_allowed();
            w.users
                .expect_find_by_username_ci()
                .times(1)
                .returning(|_| Err(unexpected()));
        },
        post(SEND, r#"{"username":"Ann"}"#),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

// ------------------------------------------------------------------ checkCode

#[actix_rt::test]
async fn check_code_with_the_right_code_answers_code_correct_and_counts_no_failure() {
    let a = call(
        |w| {
            w.ann().latest(Some(issued()));
            w.challenges.expect_record_failure().never();
            w.changes.expect_apply().never();
        },
        check_right_code(),
    )
    .await;

    assert_answer(&a, 200, CODE_CORRECT);
}

#[actix_rt::test]
async fn check_code_for_an_unknown_username_answers_404_unknown_username() {
    let a = call(
        |w| {
            w.clock().finds(None).code_untouched();
        },
        check_right_code(),
    )
    .await;

    assert_answer(&a, 404, UNKNOWN_USERNAME);
}

#[actix_rt::test]
async fn check_code_without_a_requested_code_answers_400_with_msg_only() {
    let a = call(
        |w| {
            w.ann().latest(None);
        },
        check_right_code(),
    )
    .await;

    assert_answer(&a, 400, NO_CODE);
}

#[actix_rt::test]
async fn check_code_after_eleven_failures_answers_rate_limit_exceeded_even_for_the_right_code() {
    let a = call(
        |w| {
            w.ann().latest(Some(exhausted()));
            w.challenges.expect_record_failure().never();
        },
        check_right_code(),
    )
    .await;

    assert_answer(&a, 400, RATE_LIMIT);
}

#[actix_rt::test]
async fn check_code_with_a_wrong_code_counts_a_failure_and_answers_code_incorrect() {
    let a = call(
        |w| {
            w.ann().latest(Some(issued()));
            w.challenges
                .expect_record_failure()
                .times(1)
                .returning(|_, _| Ok(Some(1)));
        },
        post(CHECK, r#"{"username":"Ann","code":"111111"}"#),
    )
    .await;

    assert_answer(&a, 400, CODE_INCORRECT);
}

#[actix_rt::test]
async fn check_code_with_the_database_unavailable_answers_503_with_retry_after() {
    let a = call(
        |w| {
            w.clock();
            w.users
                .expect_find_by_username_ci()
                .times(1)
                .returning(|_| Err(unavailable()));
        },
        check_right_code(),
    )
    .await;

    assert_retry(&a, 503, UNAVAILABLE, "5");
}

#[actix_rt::test]
async fn check_code_with_an_unexpected_store_error_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.ann();
            w.challenges
                .expect_latest()
                .times(1)
                .returning(|_, _| Err(unexpected()));
        },
        check_right_code(),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

// -------------------------------------------------------------- resetPassword

#[actix_rt::test]
async fn reset_password_with_the_right_code_and_a_strong_password_answers_changed() {
    let a = call(
        |w| {
            w.ann().latest(Some(issued()));
            w.hasher
                .expect_hash()
                .withf(|p| p.expose() == STRONG)
                .times(1)
                .returning(|_| Ok(PasswordHash::new("$2b$04$newhashnewhashnewhash".into())));
            w.changes.expect_apply().times(1).returning(|set, t| {
                assert_eq!(set.mails().len(), 2);
                assert_eq!(t, now());
                assert_eq!(
                    set.changes(),
                    [
                        Change::ConsumeChallenge(issued().id()),
                        Change::SetPassword {
                            user: user_id(),
                            hash: PasswordHash::new("$2b$04$newhashnewhashnewhash".into()),
                            expected_version: 3,
                        },
                        Change::ConsumeOpenChallenges {
                            key: format!("user:{}", user_id()),
                            purposes: vec![Purpose::ForgotPassword, Purpose::ResetPassword],
                        },
                    ]
                );
                Ok(Applied::Committed)
            });
        },
        reset_with(STRONG),
    )
    .await;

    assert_answer(&a, 200, CHANGED);
}

#[actix_rt::test]
async fn reset_password_for_an_unknown_username_answers_404_unknown_username() {
    let a = call(
        |w| {
            w.clock().finds(None).code_untouched();
        },
        reset_with(STRONG),
    )
    .await;

    assert_answer(&a, 404, UNKNOWN_USERNAME);
}

#[actix_rt::test]
async fn reset_password_without_a_requested_code_answers_400_with_msg_only() {
    let a = call(
        |w| {
            w.ann().latest(None);
            w.hasher.expect_hash().never();
        },
        reset_with(STRONG),
    )
    .await;

    assert_answer(&a, 400, NO_CODE);
}

#[actix_rt::test]
async fn reset_password_after_eleven_failures_answers_rate_limit_exceeded() {
    let a = call(
        |w| {
            w.ann().latest(Some(exhausted()));
            w.hasher.expect_hash().never();
        },
        reset_with(STRONG),
    )
    .await;

    assert_answer(&a, 400, RATE_LIMIT);
}

#[actix_rt::test]
async fn reset_password_with_a_wrong_code_counts_a_failure_and_answers_code_incorrect() {
    let a = call(
        |w| {
            w.ann().latest(Some(issued()));
            w.challenges
                .expect_record_failure()
                .times(1)
                .returning(|_, _| Ok(Some(1)));
            w.hasher.expect_hash().never();
        },
        post(
            RESET,
            &serde_json::json!({"username": "Ann", "code": WRONG_CODE, "new_password": STRONG})
                .to_string(),
        ),
    )
    .await;

    assert_answer(&a, 400, CODE_INCORRECT);
}

/// Sends a reset for Ann with `new_password`, which the policy refuses
/// before the code is even loaded.
async fn rejected(new_password: &str) -> Answer {
    call(
        |w| {
            // The live code is looked at (steps 3 and 4 come first), but
            // never tried, counted or consumed.
            w.ann().latest(Some(issued()));
            w.challenges.expect_record_failure().never();
            w.changes.expect_apply().never();
            w.hasher.expect_hash().never();
        },
        reset_with(new_password),
    )
    .await
}

#[actix_rt::test]
async fn a_new_password_of_six_or_seven_characters_is_too_short_for_a_minimum_of_eight() {
    for password in ["Zq7#pL", "Zq7#pLx"] {
        let a = rejected(password).await;

        assert_answer(
            &a,
            422,
            r#"{"new_password":["The new password must be at least 8 characters."]}"#,
        );
    }
}

#[actix_rt::test]
async fn a_new_password_over_72_bytes_is_too_long() {
    // 25 characters, 75 bytes.
    let a = rejected(&"€".repeat(25)).await;

    assert_answer(
        &a,
        422,
        r#"{"new_password":["The new password may not be greater than 72 bytes."]}"#,
    );
}

#[actix_rt::test]
async fn a_new_password_containing_the_username_is_refused() {
    let a = rejected("Zebra-ANN-Quartz-91").await;

    assert_answer(
        &a,
        422,
        r#"{"new_password":["The new password must not contain the username."]}"#,
    );
}

#[actix_rt::test]
async fn a_new_password_containing_an_email_local_part_is_refused() {
    let a = rejected("Zebra-a.lee-Quartz-91").await;

    assert_answer(
        &a,
        422,
        r#"{"new_password":["The new password must not contain the email address."]}"#,
    );
}

#[actix_rt::test]
async fn a_weak_new_password_is_refused_with_the_estimators_suggestions() {
    let a = rejected("password1").await;

    assert_answer(
        &a,
        422,
        r#"{"new_password":["The new password is too easy to guess. This is a very common password. Add another word or two. Uncommon words are better."]}"#,
    );
}

#[actix_rt::test]
async fn reset_password_with_the_hasher_overloaded_answers_503_with_its_retry_after() {
    let a = call(
        |w| {
            w.ann().latest(Some(issued()));
            w.hasher.expect_hash().times(1).returning(|_| {
                Err(HashError::Overloaded {
                    retry_after_seconds: 7,
                })
            });
            w.changes.expect_apply().never();
        },
        reset_with(STRONG),
    )
    .await;

    assert_retry(&a, 503, UNAVAILABLE, "7");
}

#[actix_rt::test]
async fn reset_password_with_the_database_unavailable_answers_503_with_retry_after() {
    let a = call(
        |w| {
            w.ann().latest(Some(issued()));
            w.hasher
                .expect_hash()
                .times(1)
                .returning(|_| Ok(PasswordHash::new("$2b$04$newhashnewhashnewhash".into())));
            w.changes
                .expect_apply()
                .times(1)
                .returning(|_, _| Err(unavailable()));
        },
        reset_with(STRONG),
    )
    .await;

    assert_retry(&a, 503, UNAVAILABLE, "5");
}

#[actix_rt::test]
async fn reset_password_with_an_unexpected_store_error_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.clock();
            w.users
                .expect_find_by_username_ci()
                .times(1)
                .returning(|_| Err(unexpected()));
        },
        reset_with(STRONG),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

#[actix_rt::test]
async fn reset_password_with_an_unexpected_hasher_error_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.ann().latest(Some(issued()));
            w.hasher.expect_hash().times(1).returning(|_| {
                Err(HashError::Unexpected(
                    std::io::Error::other(INNER_ERROR).into(),
                ))
            });
            w.changes.expect_apply().never();
        },
        reset_with(STRONG),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

// ----------------------------------------------------------------- validation

/// Sends `req` to an app whose ports may not be called at all.
async fn refused(req: TestRequest) -> Answer {
    call(
        |w| {
            w.untouched();
        },
        req,
    )
    .await
}

#[actix_rt::test]
async fn an_empty_object_lists_every_field_of_each_route_as_required_in_rule_order() {
    for (path, expected) in [
        (SEND, USERNAME_REQUIRED),
        (CHECK, CODE_USERNAME_REQUIRED),
        (RESET, ALL_REQUIRED),
    ] {
        let a = refused(post(path, "{}")).await;

        assert_answer(&a, 422, expected);
    }
}

#[actix_rt::test]
async fn an_empty_or_blank_body_counts_as_every_field_missing() {
    for body in ["", " \r\n\t"] {
        let a = refused(post(RESET, body)).await;

        assert_answer(&a, 422, ALL_REQUIRED);
    }
}

#[actix_rt::test]
async fn failures_are_listed_in_rule_order_whatever_the_order_of_the_body() {
    let a = refused(post(
        RESET,
        r#"{"new_password":"abc","username":"","code":"12"}"#,
    ))
    .await;

    assert_answer(
        &a,
        422,
        r#"{"code":["The code must be 6 digits."],"username":["The username field is required."],"new_password":["The new password must be at least 6 characters."]}"#,
    );
}

#[actix_rt::test]
async fn null_whitespace_and_an_empty_array_count_as_missing() {
    let a = refused(post(
        RESET,
        r#"{"code":null,"username":" \t\n ","new_password":[]}"#,
    ))
    .await;

    assert_answer(&a, 422, ALL_REQUIRED);
}

#[actix_rt::test]
async fn non_strings_where_strings_are_expected_must_be_strings() {
    for (username, new_password) in [
        ("42", "true"),
        ("[\"Ann\"]", "{\"a\":1}"),
        ("4.5", "123456"),
    ] {
        let body =
            format!(r#"{{"code":"482901","username":{username},"new_password":{new_password}}}"#);

        let a = refused(post(RESET, &body)).await;

        assert_answer(
            &a,
            422,
            r#"{"username":["The username must be a string."],"new_password":["The new password must be a string."]}"#,
        );
    }
}

#[actix_rt::test]
async fn a_code_that_is_not_six_digits_must_be_six_digits() {
    for code in [
        r#""12345""#,
        r#""1234567""#,
        r#""12a456""#,
        r#""48 901""#,
        "1234567",
        "-12345",
        "482901.5",
        "true",
        r#"["482901"]"#,
        r#"{"a":"482901"}"#,
    ] {
        let body = format!(r#"{{"username":"Ann","code":{code}}}"#);

        let a = refused(post(CHECK, &body)).await;

        assert_answer(&a, 422, r#"{"code":["The code must be 6 digits."]}"#);
    }
}

#[actix_rt::test]
async fn a_code_sent_as_the_json_number_482901_passes_validation() {
    let a = call(
        |w| {
            w.ann().latest(Some(issued()));
        },
        post(CHECK, r#"{"code":482901,"username":"Ann"}"#),
    )
    .await;

    assert_answer(&a, 200, CODE_CORRECT);
}

#[actix_rt::test]
async fn a_username_over_190_characters_is_refused_counting_characters_not_bytes() {
    let body = serde_json::json!({ "username": "ü".repeat(191) }).to_string();

    let a = refused(post(SEND, &body)).await;

    assert_answer(
        &a,
        422,
        r#"{"username":["The username may not be greater than 190 characters."]}"#,
    );
}

#[actix_rt::test]
async fn a_username_of_190_multibyte_characters_passes_validation() {
    let long = "ü".repeat(190);
    let expected = long.clone();
    let a = call(
        move |w| {
            w.ip_allowed();
            w.users
                .expect_find_by_username_ci()
                .withf(move |name| name == expected)
                .times(1)
                .returning(|_| Ok(None));
        },
        post(SEND, &serde_json::json!({ "username": long }).to_string()),
    )
    .await;

    assert_answer(&a, 404, UNKNOWN_USERNAME);
}

#[actix_rt::test]
async fn a_new_password_under_six_characters_is_refused_counting_characters() {
    // Five characters, ten bytes.
    let a = refused(post(
        RESET,
        r#"{"code":"482901","username":"Ann","new_password":"äöüäö"}"#,
    ))
    .await;

    assert_answer(
        &a,
        422,
        r#"{"new_password":["The new password must be at least 6 characters."]}"#,
    );
}

#[actix_rt::test]
async fn a_malformed_json_body_is_treated_as_an_empty_one() {
    for body in [r#"{"username":"Ann""#, "username=Ann", "nonsense", "\u{1}"] {
        let a = refused(post(SEND, body)).await;

        assert_answer(&a, 422, USERNAME_REQUIRED);
    }
}

#[actix_rt::test]
async fn a_json_body_that_is_not_an_object_is_treated_as_an_empty_one() {
    for body in [r#"["Ann"]"#, r#""Ann""#, "42", "null"] {
        let a = refused(post(SEND, body)).await;

        assert_answer(&a, 422, USERNAME_REQUIRED);
    }
}

#[actix_rt::test]
async fn a_form_encoded_body_is_accepted() {
    let a = call(
        |w| {
            w.ann().latest(Some(issued()));
        },
        post_form(CHECK, "username=Ann&code=482901"),
    )
    .await;

    assert_answer(&a, 200, CODE_CORRECT);
}

#[actix_rt::test]
async fn a_form_encoded_body_is_validated_like_json() {
    let a = refused(post_form(
        RESET,
        "username=+&code=48290&new_password=%C3%A4",
    ))
    .await;

    assert_answer(
        &a,
        422,
        r#"{"code":["The code must be 6 digits."],"username":["The username field is required."],"new_password":["The new password must be at least 6 characters."]}"#,
    );
}

#[actix_rt::test]
async fn unknown_fields_are_ignored() {
    let a = call(
        |w| {
            w.ip_allowed().finds(None);
        },
        post(
            SEND,
            r#"{"username":"Ann","code":"not a code","extra":{"nested":[1,2]},"new_password":1}"#,
        ),
    )
    .await;

    assert_answer(&a, 404, UNKNOWN_USERNAME);
}

#[actix_rt::test]
async fn the_username_is_trimmed_before_the_lookup() {
    let a = call(
        |w| {
            w.ip_allowed().finds(None);
        },
        post(SEND, r#"{"username":"  Ann\t"}"#),
    )
    .await;

    assert_answer(&a, 404, UNKNOWN_USERNAME);
}

// ------------------------------------------------------------ body size cap

#[actix_rt::test]
async fn a_body_over_the_cap_with_an_honest_content_length_answers_413() {
    let body = format!(r#"{{"username":"{}"}}"#, "a".repeat(100));
    let a = call(
        |w| {
            w.http.max_body_bytes = 64;
            w.untouched();
        },
        post(SEND, &body),
    )
    .await;

    assert_answer(&a, 413, TOO_LARGE);
}

#[actix_rt::test]
async fn a_chunked_body_over_the_cap_answers_413() {
    let body = format!(r#"{{"username":"{}"}}"#, "a".repeat(100));
    let a = call_with(
        |w| {
            w.http.max_body_bytes = 64;
            w.untouched();
        },
        post(SEND, &body),
        |headers| {
            headers.remove(header::CONTENT_LENGTH);
            headers.insert(
                header::TRANSFER_ENCODING,
                HeaderValue::from_static("chunked"),
            );
        },
    )
    .await;

    assert_answer(&a, 413, TOO_LARGE);
}

#[actix_rt::test]
async fn a_body_of_exactly_the_cap_is_read() {
    let body = format!("{:<64}", r#"{"username":"Ann"}"#);
    assert_eq!(body.len(), 64);
    let a = call(
        |w| {
            w.http.max_body_bytes = 64;
            w.ip_allowed().finds(None);
        },
        post(SEND, &body),
    )
    .await;

    assert_answer(&a, 404, UNKNOWN_USERNAME);
}

// ------------------------------------------------------------ unknown routes

#[actix_rt::test]
async fn an_unknown_route_answers_404_in_the_unicat_envelope() {
    for req in [
        TestRequest::post().uri("/api/nope"),
        TestRequest::get().uri("/api/auth/forgotPassword/sendEmail"),
        TestRequest::get().uri("/api/auth/forgotPassword/checkCode"),
        TestRequest::put().uri("/api/auth/forgotPassword/resetPassword"),
        TestRequest::post().uri("/api/auth/forgotPassword/nope"),
        TestRequest::post().uri("/api/auth/forgotPassword"),
        TestRequest::post().uri("/health/live"),
        TestRequest::get().uri("/"),
    ] {
        let a = refused(req).await;

        assert_answer(&a, 404, NOT_FOUND);
    }
}

// ------------------------------------------------------------------- health

#[actix_rt::test]
async fn liveness_answers_ok_without_asking_the_database() {
    let a = refused(TestRequest::get().uri("/health/live")).await;

    assert_answer(&a, 200, r#"{"status":"ok"}"#);
}

#[actix_rt::test]
async fn readiness_answers_ok_when_the_database_answers() {
    let a = call(
        |w| {
            w.health.expect_ready().times(1).returning(|| Ok(()));
        },
        TestRequest::get().uri("/health/ready"),
    )
    .await;

    assert_answer(&a, 200, r#"{"status":"ok"}"#);
}

#[actix_rt::test]
async fn readiness_answers_503_with_retry_after_when_the_database_does_not_answer() {
    let a = call(
        |w| {
            w.health
                .expect_ready()
                .times(1)
                .returning(|| Err(unavailable()));
        },
        TestRequest::get().uri("/health/ready"),
    )
    .await;

    assert_retry(&a, 503, r#"{"status":"unavailable"}"#, "5");
}

// ----------------------------------------------------------- client address

/// The rate-limit keys `sendEmail` used for a request from `peer` with
/// `forwarded_for` (if any), behind `trusted` proxies. The limiter refuses,
/// so nothing else is called.
async fn limiter_keys(peer: &str, forwarded_for: Option<&str>, trusted: &[&str]) -> Vec<String> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_mock = Arc::clone(&seen);
    let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
    let mut req = TestRequest::post()
        .uri(SEND)
        .peer_addr(peer.parse().unwrap())
        .insert_header(ContentType::json())
        .set_payload(r#"{"username":"Ann"}"#);
    if let Some(xff) = forwarded_for {
        req = req.insert_header(("X-Forwarded-For", xff));
    }
    let a = call(
        move |w| {
            w.http.trusted_proxies = trusted;
            w.clock().finds(Some(ann()));
            w.limiter
                .expect_hit()
                .withf(|_, limits, t| {
                    limits
                        == [Limit {
                            window_seconds: 3600,
                            max: 30,
                        }]
                        && *t == now()
                })
                .times(1)
                .returning(move |key, _, _| {
                    seen_by_mock.lock().unwrap().push(key.to_owned());
                    Ok(RateDecision::Limited {
                        retry_after_seconds: 60,
                    })
                });
        },
        req,
    )
    .await;
    assert_retry(&a, 429, TOO_MANY, "60");
    let keys = seen.lock().unwrap().clone();
    keys
}

#[actix_rt::test]
async fn the_rate_limit_key_is_the_peer_address() {
    assert_eq!(
        limiter_keys("198.51.100.7:40000", None, &[]).await,
        ["step1:ip:198.51.100.7"]
    );
    assert_eq!(
        limiter_keys("[2001:db8::1]:443", None, &[]).await,
        ["step1:ip:2001:db8::1"]
    );
}

#[actix_rt::test]
async fn x_forwarded_for_is_ignored_from_an_untrusted_peer() {
    assert_eq!(
        limiter_keys("198.51.100.7:40000", Some("203.0.113.9"), &[]).await,
        ["step1:ip:198.51.100.7"]
    );
    assert_eq!(
        limiter_keys("198.51.100.7:40000", Some("203.0.113.9"), &["10.0.0.0/8"]).await,
        ["step1:ip:198.51.100.7"]
    );
}

#[actix_rt::test]
async fn x_forwarded_for_from_a_trusted_proxy_gives_the_rightmost_untrusted_address() {
    assert_eq!(
        limiter_keys(
            "10.1.2.3:5000",
            Some("6.6.6.6, 203.0.113.9, 10.0.0.7"),
            &["10.0.0.0/8"]
        )
        .await,
        ["step1:ip:203.0.113.9"]
    );
}

#[actix_rt::test]
async fn a_trusted_proxy_without_x_forwarded_for_is_the_client() {
    assert_eq!(
        limiter_keys("10.1.2.3:5000", None, &["10.0.0.0/8"]).await,
        ["step1:ip:10.1.2.3"]
    );
}

#[actix_rt::test]
async fn an_ipv4_mapped_peer_counts_as_its_ipv4_address_also_as_a_trusted_proxy() {
    // What a dual-stack `[::]` listener reports for IPv4 clients.
    assert_eq!(
        limiter_keys("[::ffff:198.51.100.7]:40000", None, &[]).await,
        ["step1:ip:198.51.100.7"]
    );
    assert_eq!(
        limiter_keys(
            "[::ffff:10.1.2.3]:5000",
            Some("203.0.113.9"),
            &["10.0.0.0/8"]
        )
        .await,
        ["step1:ip:203.0.113.9"]
    );
}
