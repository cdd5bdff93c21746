//! HTTP-level tests of the Unicat family (`/api/...`), driving the real
//! actix app from [`crate::configure`] with every port mocked and the real
//! Unicat services of [`crate::testing`] on top.
//!
//! Every body is compared byte for byte (key order included), together with
//! the status, `Content-Type` and the headers the spec cares about
//! (`Authorization`, `WWW-Authenticate`, `Retry-After`). A port method
//! without an expectation panics when called; parameter tests pin every
//! port with `.never()`.

use crate::{configure, HttpSettings, HttpState};
use accountd_app::{ChallengeSettings, ForgotPassword, ForgotPasswordSettings, Ports};
use accountd_domain::{
    Challenge, ChallengeId, ChallengePolicy, Change, CodeFormat, Membership, MembershipStatus,
    Notifications, PasswordHash, PasswordPolicy, Project, ProjectId, ProjectStatus, ProjectView,
    Purpose, Role, Subject, Timestamp, User, UserId, UserStatus, Username,
};
use accountd_ports::{
    Applied, HashError, MockChallengeRepository, MockChanges, MockClock, MockHealthCheck,
    MockPasswordHasher, MockProjectRepository, MockRandom, MockRateLimiter, MockTokenService,
    MockUserRepository, RateDecision, StoreError, TokenClaims, TokenError,
};
use accountd_testkit::{email, key, OTHER_STRONG, STRONG};
use actix_web::http::header::{self, ContentType, HeaderMap, HeaderValue};
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use std::sync::Arc;

// ------------------------------------------------------------------ fixtures

const SIGNUP_REQUEST: &str = "/api/signup_request";
const SIGNUP: &str = "/api/signup";
const RESET_REQUEST: &str = "/api/reset_password_request";
const RESET: &str = "/api/reset_password";
const LOGIN: &str = "/api/login";
const INIT: &str = "/api/init";

/// Every POST route with its fields, in the order the spec lists them.
const ROUTES: [(&str, &[&str]); 5] = [
    (SIGNUP_REQUEST, &["username", "password", "email"]),
    (
        SIGNUP,
        &[
            "username",
            "password",
            "email",
            "validation_code",
            "verification_code",
        ],
    ),
    (RESET_REQUEST, &["username_or_email"]),
    (
        RESET,
        &[
            "username",
            "new_password",
            "validation_code",
            "verification_code",
        ],
    ),
    (LOGIN, &["username", "password"]),
];

const PEER: &str = "198.51.100.7:40000";
const STEP1_KEY: &str = "step1:ip:198.51.100.7";

/// The text of 32 bytes of `0x2a`, the validation code every step-1 test
/// draws, and the one the step-2 tests present.
const VALIDATION: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio";
/// The Crockford code of the draws `[1, 2, 3, 4, 5, 6]`.
const CODE: &str = "123456";

/// What the client sends in `Authorization: Bearer …`.
const OLD_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvbGQifQ.old-signature";
/// What `TokenService::issue` answers.
const FRESH_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmcmVzaCJ9.fresh-signature";

const ANN_GID: &str = "01010101-0101-4101-8101-010101010101";
const BOB_GID: &str = "02020202-0202-4202-8202-020202020202";
const ATLAS_GID: &str = "03030303-0303-4303-8303-030303030303";
const ZEPHYR_GID: &str = "04040404-0404-4404-8404-040404040404";
const NEW_GID: &str = "05050505-0505-4505-8505-050505050505";

const INNER_ERROR: &str = "malformed row 17 in table users";

const DENIED: &str =
    r#"{"success":false,"result":{"code":401,"message":"Permission denied","info":{}},"data":{}}"#;
const REALM: &str = r#"Bearer realm="JWT access to Unicat.""#;
const UNKNOWN_USER: &str =
    r#"{"success":false,"result":{"code":403,"message":"Unknown user","info":{}},"data":{}}"#;
const NOT_FOUND: &str =
    r#"{"success":false,"result":{"code":404,"message":"Not found","info":{}},"data":{}}"#;
const TOO_LARGE: &str =
    r#"{"success":false,"result":{"code":413,"message":"Payload too large","info":{}},"data":{}}"#;
const UNPROCESSABLE: &str = r#"{"success":false,"result":{"code":422,"message":"Unprocessable Entity","info":{}},"data":{}}"#;
const INTERNAL: &str = r#"{"success":false,"result":{"code":500,"message":"Internal server error","info":{}},"data":{}}"#;
const MALFORMED: &str = r#"{"success":false,"result":{"code":400,"message":"Bad request","info":{"parameter":"body","reason":"malformed_body"}},"data":{}}"#;

/// Ann's `cc.users` entry, complete form.
const ANN_COMPLETE: &str = r#"{"gid":"01010101-0101-4101-8101-010101010101","username":"ann","email":"ann@example.com","name":"","avatar":null,"status":"active","options":{"language":"en","timezone":"Europe/Amsterdam"}}"#;
/// The project Ann owns.
const ATLAS: &str = r#"{"gid":"03030303-0303-4303-8303-030303030303","name":"Atlas","icon":null,"owner":"01010101-0101-4101-8101-010101010101","status":"active","options":{"timezone":"Europe/Amsterdam","languages":["en","nl"]}}"#;
/// Bob's project Zephyr (time zone UTC, languages `["de"]`), to which Ann
/// is invited, as she sees it: the short form, no `options`.
const ZEPHYR_SHORT: &str = r#"{"gid":"04040404-0404-4404-8404-040404040404","name":"Zephyr","icon":"icons/zephyr.png","owner":"02020202-0202-4202-8202-020202020202","status":"active"}"#;
/// Bob, Zephyr's owner, in the short form.
const BOB_SHORT: &str = r#"{"gid":"02020202-0202-4202-8202-020202020202","username":"bob","name":"","avatar":null,"status":"active"}"#;
/// Ann's owner row in Atlas.
const ANN_IN_ATLAS: &str = r#"{"project_gid":"03030303-0303-4303-8303-030303030303","user_gid":"01010101-0101-4101-8101-010101010101","status":"active","roles":["owner"],"options":{"notifications":{"email":"ann@example.com","events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
/// Ann's invited row in Zephyr.
const ANN_IN_ZEPHYR: &str = r#"{"project_gid":"04040404-0404-4404-8404-040404040404","user_gid":"01010101-0101-4101-8101-010101010101","status":"invited","roles":["member"],"options":{"notifications":{"email":"ann@example.com","events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
/// Bob's owner row in Zephyr, as Ann (invited) sees it: no address.
const BOB_IN_ZEPHYR: &str = r#"{"project_gid":"04040404-0404-4404-8404-040404040404","user_gid":"02020202-0202-4202-8202-020202020202","status":"active","roles":["owner"],"options":{"notifications":{"email":null,"events":["records","definitions"],"frequency":"daily"},"rate_limit_per_second":10}}"#;
const LANGUAGES: &str = r#"{"en":"English","nl":"Dutch"}"#;

/// Ann's session payload `data`.
fn ann_data() -> String {
    format!(
        r#"{{"cc.users":{{"{ANN_GID}":{ANN_COMPLETE},"{BOB_GID}":{BOB_SHORT}}},"cc.projects":{{"{ATLAS_GID}":{ATLAS},"{ZEPHYR_GID}":{ZEPHYR_SHORT}}},"cc.projects_members":[{ANN_IN_ATLAS},{ANN_IN_ZEPHYR},{BOB_IN_ZEPHYR}],"cc.languages":{LANGUAGES}}}"#
    )
}

/// Ann's session payload with `cc.version` and `cc.cursor` (login, init).
fn ann_session_with_version() -> String {
    format!(
        r#"{{"success":true,"result":{{"user":"{ANN_GID}","user_projects":{{"{ATLAS_GID}":["owner"]}},"cc.version":"0.1.0","cc.cursor":0}},"data":{}}}"#,
        ann_data()
    )
}

/// Ann's session payload without them (signup, reset_password).
fn ann_session() -> String {
    format!(
        r#"{{"success":true,"result":{{"user":"{ANN_GID}","user_projects":{{"{ATLAS_GID}":["owner"]}}}},"data":{}}}"#,
        ann_data()
    )
}

/// The 400 envelope.
fn bad_request(parameter: &str, reason: &str) -> String {
    format!(
        r#"{{"success":false,"result":{{"code":400,"message":"Bad request","info":{{"parameter":"{parameter}","reason":"{reason}"}}}},"data":{{}}}}"#
    )
}

/// The 429 or 503 envelope.
fn retry_body(code: u16, message: &str, retry_after: i64) -> String {
    format!(
        r#"{{"success":false,"result":{{"code":{code},"message":"{message}","info":{{"retry_after":{retry_after}}}}},"data":{{}}}}"#
    )
}

fn now() -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000)
}

/// The `auth_time` of [`OLD_TOKEN`]: a login 10 minutes before [`now`]
/// (recent under the 900-second default).
fn auth_time() -> Timestamp {
    now().plus_seconds(-600)
}

fn ann_id() -> UserId {
    UserId::from_random_bytes([1; 16])
}

fn bob_id() -> UserId {
    UserId::from_random_bytes([2; 16])
}

fn new_id() -> UserId {
    UserId::from_random_bytes([5; 16])
}

fn atlas_id() -> ProjectId {
    ProjectId::from_random_bytes([3; 16])
}

fn zephyr_id() -> ProjectId {
    ProjectId::from_random_bytes([4; 16])
}

fn old_hash() -> PasswordHash {
    PasswordHash::new("$2b$04$oldhasholdhasholdhash".into())
}

fn new_hash() -> PasswordHash {
    PasswordHash::new("$2b$04$newhashnewhashnewhash".into())
}

/// Ann, active, at credential version `version`.
fn ann_at(version: i64) -> User {
    User {
        id: ann_id(),
        username: Some(Username::parse("ann").unwrap()),
        emails: vec![email("ann@example.com")],
        status: UserStatus::Active,
        credential_version: version,
        password_hash: Some(old_hash()),
        name: String::new(),
        language: "en".into(),
        timezone: "Europe/Amsterdam".into(),
        created_at: now().plus_seconds(-86_400),
    }
}

fn ann() -> User {
    ann_at(3)
}

/// Bob, Zephyr's owner.
fn bob() -> User {
    User {
        id: bob_id(),
        username: Some(Username::parse("bob").unwrap()),
        emails: vec![email("bob@example.com")],
        ..ann()
    }
}

/// Another active account sharing Ann's address.
fn annie() -> User {
    User {
        id: UserId::from_random_bytes([9; 16]),
        username: Some(Username::parse("annie").unwrap()),
        ..ann()
    }
}

fn membership(
    project: ProjectId,
    user: UserId,
    status: MembershipStatus,
    role: Role,
    to: &str,
) -> Membership {
    Membership {
        project,
        user,
        status,
        roles: vec![role],
        notifications: Notifications {
            email: Some(email(to)),
            ..Notifications::default()
        },
        rate_limit_per_second: None,
        invitation: None,
    }
}

/// Bob's project Zephyr with `user`'s invited row and Bob's owner row.
fn zephyr_invitation(user: UserId) -> ProjectView {
    ProjectView {
        project: Project {
            id: zephyr_id(),
            name: "Zephyr".into(),
            icon: Some("icons/zephyr.png".into()),
            owner: bob_id(),
            status: ProjectStatus::Active,
            timezone: "UTC".into(),
            languages: vec!["de".into()],
        },
        own: membership(
            zephyr_id(),
            user,
            MembershipStatus::Invited,
            Role::Member,
            "ann@example.com",
        ),
        owner_row: Some(Membership {
            notifications: Notifications {
                email: Some(email("bob@example.com")),
                events: vec!["records".into(), "definitions".into()],
                frequency: "daily".into(),
            },
            rate_limit_per_second: Some(10),
            invitation: None,
            ..membership(
                zephyr_id(),
                bob_id(),
                MembershipStatus::Active,
                Role::Owner,
                "bob@example.com",
            )
        }),
    }
}

/// What the project repository shows for Ann: Atlas, which she owns, and
/// Zephyr, Bob's, to which she is invited.
fn ann_views() -> Vec<ProjectView> {
    vec![
        ProjectView {
            project: Project {
                id: atlas_id(),
                name: "Atlas".into(),
                icon: None,
                owner: ann_id(),
                status: ProjectStatus::Active,
                timezone: "Europe/Amsterdam".into(),
                languages: vec!["en".into(), "nl".into()],
            },
            own: membership(
                atlas_id(),
                ann_id(),
                MembershipStatus::Active,
                Role::Owner,
                "ann@example.com",
            ),
            owner_row: None,
        },
        zephyr_invitation(ann_id()),
    ]
}

/// The open challenge of a sign-up step 1 for ann / [`STRONG`] /
/// ann@example.com, found by [`VALIDATION`], mailed [`CODE`], issued a minute
/// ago, with `failures` failed tries.
fn signup_challenge(failures: u32) -> Challenge {
    let code = CodeFormat::Crockford6
        .code_from_draws(&[1, 2, 3, 4, 5, 6])
        .unwrap();
    assert_eq!(code.expose(), CODE);
    let issued = Challenge::issue(
        ChallengeId::from_random_bytes([6; 16]),
        Purpose::Signup,
        Subject::Signup {
            username: Username::parse("ann").unwrap(),
            email: email("ann@example.com"),
            password_hash: old_hash(),
        },
        &code,
        &key(),
        ChallengePolicy::unicat(900, 5),
        now().plus_seconds(-60),
    )
    .with_lookup(Challenge::lookup_mac(&key(), Purpose::Signup, VALIDATION));
    (0..failures).fold(issued, |c, _| c.with_failure(now()).unwrap())
}

/// The open challenge of a reset step 1 for Ann, as [`signup_challenge`].
fn reset_challenge() -> Challenge {
    let code = CodeFormat::Crockford6
        .code_from_draws(&[1, 2, 3, 4, 5, 6])
        .unwrap();
    Challenge::issue(
        ChallengeId::from_random_bytes([8; 16]),
        Purpose::ResetPassword,
        Subject::Account { user: ann_id() },
        &code,
        &key(),
        ChallengePolicy::unicat(900, 5),
        now().plus_seconds(-60),
    )
    .with_lookup(Challenge::lookup_mac(
        &key(),
        Purpose::ResetPassword,
        VALIDATION,
    ))
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
    tokens: MockTokenService,
    projects: MockProjectRepository,
    health: MockHealthCheck,
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
            tokens: MockTokenService::new(),
            projects: MockProjectRepository::new(),
            health: MockHealthCheck::new(),
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
            Arc::new(self.tokens),
            Arc::new(self.projects),
        );
        HttpState {
            forgot_password: ForgotPassword::new(
                ports,
                key(),
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
                },
            ),
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
    fn ip_allowed(&mut self) -> &mut Self {
        self.clock();
        self.limiter
            .expect_hit()
            .withf(|key, _, t| key == STEP1_KEY && *t == now())
            .times(1)
            .returning(|_, _, _| Ok(RateDecision::Allowed));
        self
    }

    /// One issuance-limit hit under `key`, answering `decision`.
    fn issuance(&mut self, key: &'static str, decision: RateDecision) -> &mut Self {
        self.limiter
            .expect_hit()
            .withf(move |k, limits, _| k == key && limits.len() == 2)
            .times(1)
            .returning(move |_, _, _| Ok(decision));
        self
    }

    /// The draws of one step-1 call: six Crockford characters, then 16
    /// bytes of `0x2a` three times (the validation code and the id).
    fn draws(&mut self) -> &mut Self {
        self.random
            .expect_uniform()
            .withf(|lo, hi| (*lo, *hi) == (0, 31))
            .times(6)
            .return_const(7u32);
        self.random
            .expect_bytes16()
            .times(3)
            .return_const([0x2a; 16]);
        self
    }

    /// One case-insensitive lookup of `name`, answering `found`.
    fn finds(&mut self, name: &'static str, found: Option<User>) -> &mut Self {
        self.users
            .expect_find_by_username_ci()
            .withf(move |n| n == name)
            .times(1)
            .return_once(move |_| Ok(found));
        self
    }

    /// One check of `password` against Ann's hash, answering `ok`.
    fn verifies(&mut self, password: &'static str, ok: bool) -> &mut Self {
        self.hasher
            .expect_verify()
            .withf(move |p, h| p == password && *h == Some(old_hash()))
            .times(1)
            .return_once(move |_, _| Ok(ok));
        self
    }

    /// One fresh token for `user` at `version` after a credential proof
    /// now (`auth_time` = now): [`FRESH_TOKEN`].
    fn issues(&mut self, user: UserId, version: i64) -> &mut Self {
        self.issues_with(user, version, Some(now()))
    }

    /// One fresh token for `user` at `version` carrying `auth_time`.
    fn issues_with(
        &mut self,
        user: UserId,
        version: i64,
        auth_time: Option<Timestamp>,
    ) -> &mut Self {
        self.tokens
            .expect_issue()
            .withf(move |u, v, a, t| (*u, *v, *a, *t) == (user, version, auth_time, now()))
            .times(1)
            .return_once(|_, _, _, _| Ok(FRESH_TOKEN.to_owned()));
        self
    }

    /// One load of `user`'s project views, and (when a view shows another
    /// user's owner row: Bob's, in these fixtures) one batch load of those
    /// owners.
    fn views(&mut self, user: UserId, views: Vec<ProjectView>) -> &mut Self {
        let owners: Vec<UserId> = views
            .iter()
            .filter_map(|v| v.owner_row.as_ref().map(|o| o.user))
            .filter(|o| *o != user)
            .collect();
        self.projects
            .expect_views_for()
            .withf(move |u| *u == user)
            .times(1)
            .return_once(move |_| Ok(views));
        if !owners.is_empty() {
            assert!(
                owners.iter().all(|o| *o == bob_id()),
                "only Bob owns others' projects"
            );
            self.users
                .expect_get_many()
                .withf(move |ids| ids == owners.as_slice())
                .times(1)
                .return_once(|_| Ok(vec![bob()]));
        }
        self
    }

    /// A successful login of ann / [`STRONG`].
    fn login_ok(&mut self) -> &mut Self {
        self.clock()
            .finds("ann", Some(ann()))
            .verifies(STRONG, true)
            .issues(ann_id(), 3)
            .views(ann_id(), ann_views())
    }

    /// [`OLD_TOKEN`] verifies as Ann's at credential version `version`,
    /// with the `auth_time` of [`auth_time`].
    fn token_verifies(&mut self, version: i64) -> &mut Self {
        self.clock();
        self.tokens
            .expect_verify()
            .withf(|token, t| token == OLD_TOKEN && *t == now())
            .times(1)
            .return_once(move |_, _| {
                Ok(TokenClaims {
                    user: ann_id(),
                    version,
                    auth_time: Some(auth_time()),
                })
            });
        self
    }

    /// One load of Ann by gid, answering `found`.
    fn gets_ann(&mut self, found: Option<User>) -> &mut Self {
        self.users
            .expect_get()
            .withf(|id| *id == ann_id())
            .times(1)
            .return_once(move |_| Ok(found));
        self
    }

    /// One load of the challenge found by [`VALIDATION`] for `purpose`.
    fn finds_challenge(&mut self, purpose: Purpose, found: Option<Challenge>) -> &mut Self {
        let lookup = Challenge::lookup_mac(&key(), purpose, VALIDATION);
        self.challenges
            .expect_find_by_lookup()
            .withf(move |p, l| *p == purpose && *l == lookup)
            .times(1)
            .return_once(move |_, _| Ok(found));
        self
    }

    /// Not a single port may be called.
    fn untouched(&mut self) -> &mut Self {
        self.users.expect_find_by_username_ci().never();
        self.users.expect_get().never();
        self.users.expect_get_many().never();
        self.users.expect_find_by_email().never();
        self.challenges.expect_latest().never();
        self.challenges.expect_find_by_lookup().never();
        self.challenges.expect_record_failure().never();
        // Every write (a user or project created, a membership saved, a
        // challenge issued or consumed).
        self.changes.expect_apply().never();
        self.limiter.expect_hit().never();
        self.hasher.expect_hash().never();
        self.hasher.expect_verify().never();
        self.clock.expect_now().never();
        self.random.expect_uniform().never();
        self.random.expect_bytes16().never();
        self.tokens.expect_issue().never();
        self.tokens.expect_verify().never();
        self.projects.expect_views_for().never();
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

/// `status` and exactly `body`, as JSON, without a token, a realm or
/// `Retry-After`.
#[track_caller]
fn assert_answer(a: &Answer, status: u16, body: &str) {
    assert_eq!((a.status, a.body.as_str()), (status, body));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("authorization"), None);
    assert_eq!(a.header("www-authenticate"), None);
    assert_eq!(a.header("retry-after"), None);
}

/// `status` and exactly `body`, as JSON, with `Retry-After: retry_after`.
#[track_caller]
fn assert_retry(a: &Answer, status: u16, body: &str, retry_after: &str) {
    assert_eq!((a.status, a.body.as_str()), (status, body));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("retry-after"), Some(retry_after));
    assert_eq!(a.header("authorization"), None);
    assert_eq!(a.header("www-authenticate"), None);
}

/// 200, exactly `body`, and the raw [`FRESH_TOKEN`] in `Authorization`.
#[track_caller]
fn assert_session(a: &Answer, body: &str) {
    assert_eq!((a.status, a.body.as_str()), (200, body));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("authorization"), Some(FRESH_TOKEN));
    assert_eq!(a.header("www-authenticate"), None);
    assert_eq!(a.header("retry-after"), None);
}

/// The 401 envelope with the realm, and no token.
#[track_caller]
fn assert_denied(a: &Answer) {
    assert_eq!((a.status, a.body.as_str()), (401, DENIED));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("www-authenticate"), Some(REALM));
    assert_eq!(a.header("authorization"), None);
    assert_eq!(a.header("retry-after"), None);
}

/// A POST from [`PEER`] with a JSON body (honest `Content-Length`).
fn post(path: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .peer_addr(PEER.parse().unwrap())
        .insert_header(ContentType::json())
        .set_payload(body.to_owned())
}

/// A POST from [`PEER`] with `body` serialised.
fn post_json(path: &str, body: &serde_json::Value) -> TestRequest {
    post(path, &body.to_string())
}

/// A POST from [`PEER`] with a form-encoded body.
fn post_form(path: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .peer_addr(PEER.parse().unwrap())
        .insert_header(ContentType::form_url_encoded())
        .set_payload(body.to_owned())
}

/// `GET /api/init` with this `Authorization` header, if any.
fn init(authorization: Option<&str>) -> TestRequest {
    let req = TestRequest::get()
        .uri(INIT)
        .peer_addr(PEER.parse().unwrap());
    match authorization {
        Some(v) => req.insert_header((header::AUTHORIZATION, v.to_owned())),
        None => req,
    }
}

fn bearer() -> String {
    format!("Bearer {OLD_TOKEN}")
}

/// Builds the app from a fresh [`World`] set up by `setup`, sends `req`
/// (after `tweak` has edited its headers) and collects the answer. The
/// mocks are dropped (and their call counts checked) before it returns.
async fn call_with(
    setup: impl FnOnce(&mut World),
    req: TestRequest,
    tweak: impl FnOnce(&mut HeaderMap),
) -> Answer {
    call_app(setup, |_| {}, req, tweak).await
}

/// As [`call_with`], with `routes` registered before the real ones.
async fn call_app(
    setup: impl FnOnce(&mut World),
    routes: impl FnOnce(&mut web::ServiceConfig),
    req: TestRequest,
    tweak: impl FnOnce(&mut HeaderMap),
) -> Answer {
    let mut world = World::new();
    setup(&mut world);
    let state = web::Data::new(world.into_state());
    let app = test::init_service(App::new().configure(routes).configure(configure(state))).await;
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

fn signup_request_body() -> serde_json::Value {
    serde_json::json!({"username": "ann", "password": STRONG, "email": "ann@example.com"})
}

fn signup_body(verification_code: &str) -> serde_json::Value {
    serde_json::json!({
        "username": "ann",
        "password": STRONG,
        "email": "ann@example.com",
        "validation_code": VALIDATION,
        "verification_code": verification_code,
    })
}

fn reset_body(new_password: &str, verification_code: &str) -> serde_json::Value {
    serde_json::json!({
        "username": "ann",
        "new_password": new_password,
        "validation_code": VALIDATION,
        "verification_code": verification_code,
    })
}

fn login_body(password: &str) -> serde_json::Value {
    serde_json::json!({"username": "ann", "password": password})
}

#[test]
fn the_fixture_gids_are_the_lower_case_hyphenated_ids() {
    assert_eq!(ann_id().to_string(), ANN_GID);
    assert_eq!(bob_id().to_string(), BOB_GID);
    assert_eq!(new_id().to_string(), NEW_GID);
    assert_eq!(atlas_id().to_string(), ATLAS_GID);
    assert_eq!(zephyr_id().to_string(), ZEPHYR_GID);
    assert_eq!(
        accountd_domain::validation_code_text(&[0x2a; 32]),
        VALIDATION
    );
}

// ------------------------------------------------------------- signup_request

#[actix_rt::test]
async fn signup_request_answers_the_validation_code_with_empty_data_and_no_token() {
    let a = call(
        |w| {
            w.ip_allowed().finds("ann", None);
            w.issuance("challenges:email:ann@example.com", RateDecision::Allowed);
            w.hasher
                .expect_hash()
                .withf(|p| p.expose() == STRONG)
                .times(1)
                .returning(|_| Ok(old_hash()));
            w.draws();
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    matches!(set.changes(), [Change::IssueChallenge(c)]
                        if c.purpose() == Purpose::Signup
                            && c.lookup()
                                == Some(&Challenge::lookup_mac(&key(), Purpose::Signup, VALIDATION))
                            && c.issued_at() == *t)
                        && *t == now()
                        && set.mails().len() == 1
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        post_json(SIGNUP_REQUEST, &signup_request_body()),
    )
    .await;

    assert_answer(
        &a,
        200,
        r#"{"success":true,"result":{"validation_code":"KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio"},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn signup_request_with_a_weak_password_answers_1001_password_weak_with_suggestions() {
    let a = call(
        |w| {
            w.ip_allowed().finds("ann", None);
            w.hasher.expect_hash().never();
            w.changes.expect_apply().never();
        },
        post_json(
            SIGNUP_REQUEST,
            &serde_json::json!({"username": "ann", "password": "password1", "email": "ann@example.com"}),
        ),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"password","reason":"password_weak","detail":"The password is too easy to guess.","suggestions":["This is a very common password.","Add another word or two. Uncommon words are better."]}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn signup_request_with_a_taken_username_answers_1001_username_unavailable_without_extras() {
    let a = call(
        |w| {
            w.ip_allowed().finds("ann", Some(ann()));
            w.hasher.expect_hash().never();
        },
        post_json(SIGNUP_REQUEST, &signup_request_body()),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"username","reason":"username_unavailable","detail":"The username is already taken."}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn signup_request_with_an_invalid_username_answers_1001_username_invalid() {
    let a = call(
        |w| {
            w.ip_allowed();
            w.users.expect_find_by_username_ci().never();
        },
        post_json(
            SIGNUP_REQUEST,
            &serde_json::json!({"username": "ann lee", "password": STRONG, "email": "ann@example.com"}),
        ),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"username","reason":"username_invalid","detail":"The username may only contain letters, digits, '.', '-' and '_'."}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn signup_request_over_the_per_address_limit_answers_429_with_retry_after() {
    let a = call(
        |w| {
            w.clock();
            w.limiter
                .expect_hit()
                .withf(|key, _, _| key == STEP1_KEY)
                .times(1)
                .returning(|_, _, _| {
                    Ok(RateDecision::Limited {
                        retry_after_seconds: 1234,
                    })
                });
            w.users.expect_find_by_username_ci().never();
        },
        post_json(SIGNUP_REQUEST, &signup_request_body()),
    )
    .await;

    assert_retry(
        &a,
        429,
        r#"{"success":false,"result":{"code":429,"message":"Too many requests","info":{"retry_after":1234}},"data":{}}"#,
        "1234",
    );
}

#[actix_rt::test]
async fn a_retry_after_below_one_second_is_sent_as_one_second_in_header_and_info() {
    let a = call(
        |w| {
            w.clock();
            w.limiter.expect_hit().times(1).returning(|_, _, _| {
                Ok(RateDecision::Limited {
                    retry_after_seconds: 0,
                })
            });
        },
        post_json(SIGNUP_REQUEST, &signup_request_body()),
    )
    .await;

    assert_retry(&a, 429, &retry_body(429, "Too many requests", 1), "1");
}

#[actix_rt::test]
async fn signup_request_with_the_hasher_overloaded_answers_503_with_its_retry_after() {
    let a = call(
        |w| {
            w.ip_allowed().finds("ann", None);
            w.issuance("challenges:email:ann@example.com", RateDecision::Allowed);
            w.hasher.expect_hash().times(1).returning(|_| {
                Err(HashError::Overloaded {
                    retry_after_seconds: 7,
                })
            });
            w.changes.expect_apply().never();
        },
        post_json(SIGNUP_REQUEST, &signup_request_body()),
    )
    .await;

    assert_retry(
        &a,
        503,
        r#"{"success":false,"result":{"code":503,"message":"Service unavailable","info":{"retry_after":7}},"data":{}}"#,
        "7",
    );
}

#[actix_rt::test]
async fn signup_request_with_the_database_unavailable_answers_503_with_retry_after() {
    let a = call(
        |w| {
            w.ip_allowed();
            w.users
                .expect_find_by_username_ci()
                .times(1)
                .returning(|_| Err(unavailable()));
        },
        post_json(SIGNUP_REQUEST, &signup_request_body()),
    )
    .await;

    assert_retry(&a, 503, &retry_body(503, "Service unavailable", 5), "5");
}

#[actix_rt::test]
async fn signup_request_with_an_unexpected_store_error_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.ip_allowed().finds("ann", None);
            w.issuance("challenges:email:ann@example.com", RateDecision::Allowed);
            w.hasher
                .expect_hash()
                .times(1)
                .returning(|_| Ok(old_hash()));
            w.draws();
            w.changes
                .expect_apply()
                .times(1)
                .returning(|_, _| Err(unexpected()));
        },
        post_json(SIGNUP_REQUEST, &signup_request_body()),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

// --------------------------------------------------------------------- signup

#[actix_rt::test]
async fn signup_creates_the_account_and_answers_the_session_with_pending_invitations_attached() {
    let a = call(
        |w| {
            w.clock()
                .finds_challenge(Purpose::Signup, Some(signup_challenge(0)))
                .verifies(STRONG, true);
            w.random.expect_bytes16().times(1).return_const([5u8; 16]);
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    matches!(set.changes(), [
                        Change::ConsumeChallenge(id),
                        Change::CreateUser(u),
                        Change::ClaimInvitations { email: claimed, user: claimer },
                    ]
                        if *id == signup_challenge(0).id()
                            && u.id == new_id()
                            && u.username_str() == "ann"
                            && *claimed == email("ann@example.com")
                            && *claimer == new_id())
                        && *t == now()
                        && set.mails().is_empty()
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
            w.issues(new_id(), 1)
                .views(new_id(), vec![zephyr_invitation(new_id())]);
        },
        // The code as a user might type it: lower case, with a hyphen.
        post_json(SIGNUP, &signup_body("123-456")),
    )
    .await;

    let new_in_zephyr = ANN_IN_ZEPHYR.replace(ANN_GID, NEW_GID);
    assert_session(
        &a,
        &format!(
            r#"{{"success":true,"result":{{"user":"{NEW_GID}","user_projects":{{}}}},"data":{{"cc.users":{{"{NEW_GID}":{{"gid":"{NEW_GID}","username":"ann","email":"ann@example.com","name":"","avatar":null,"status":"active","options":{{"language":"en","timezone":"Europe/Amsterdam"}}}},"{BOB_GID}":{BOB_SHORT}}},"cc.projects":{{"{ZEPHYR_GID}":{ZEPHYR_SHORT}}},"cc.projects_members":[{new_in_zephyr},{BOB_IN_ZEPHYR}],"cc.languages":{LANGUAGES}}}}}"#
        ),
    );
}

#[actix_rt::test]
async fn signup_with_a_wrong_code_counts_a_failure_and_answers_1001_code_invalid_with_attempts_left(
) {
    let a = call(
        |w| {
            w.clock()
                .finds_challenge(Purpose::Signup, Some(signup_challenge(0)))
                .verifies(STRONG, true);
            w.challenges
                .expect_record_failure()
                .withf(|id, t| *id == signup_challenge(0).id() && *t == now())
                .times(1)
                .returning(|_, _| Ok(Some(1)));
            w.changes.expect_apply().never();
        },
        post_json(SIGNUP, &signup_body("ZZZZZZ")),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"verification_code","reason":"code_invalid","detail":"The verification code is not valid.","attempts_left":4}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn signup_with_an_unknown_validation_code_answers_code_invalid_with_no_attempts_left() {
    let a = call(
        |w| {
            w.clock().finds_challenge(Purpose::Signup, None);
            w.hasher.expect_verify().never();
        },
        post_json(SIGNUP, &signup_body(CODE)),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"verification_code","reason":"code_invalid","detail":"The verification code is not valid.","attempts_left":0}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn signup_after_every_try_is_spent_answers_1001_code_exhausted() {
    let a = call(
        |w| {
            w.clock()
                .finds_challenge(Purpose::Signup, Some(signup_challenge(5)));
            w.hasher.expect_verify().never();
        },
        post_json(SIGNUP, &signup_body(CODE)),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"verification_code","reason":"code_exhausted","detail":"Too many wrong verification codes; request a new one."}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn signup_with_another_password_than_step_one_answers_1001_request_mismatch() {
    let a = call(
        |w| {
            w.clock()
                .finds_challenge(Purpose::Signup, Some(signup_challenge(0)))
                .verifies(OTHER_STRONG, false);
            // A password that does not verify counts one try like a wrong
            // code, and still answers request_mismatch.
            w.challenges
                .expect_record_failure()
                .times(1)
                .returning(|_, _| Ok(Some(1)));
        },
        post_json(
            SIGNUP,
            &serde_json::json!({
                "username": "ann",
                "password": OTHER_STRONG,
                "email": "ann@example.com",
                "validation_code": VALIDATION,
                "verification_code": CODE,
            }),
        ),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"password","reason":"request_mismatch","detail":"The request does not match the sign-up request."}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn signup_with_the_hasher_overloaded_answers_503_with_its_retry_after() {
    let a = call(
        |w| {
            w.clock()
                .finds_challenge(Purpose::Signup, Some(signup_challenge(0)));
            w.hasher.expect_verify().times(1).returning(|_, _| {
                Err(HashError::Overloaded {
                    retry_after_seconds: 3,
                })
            });
        },
        post_json(SIGNUP, &signup_body(CODE)),
    )
    .await;

    assert_retry(&a, 503, &retry_body(503, "Service unavailable", 3), "3");
}

// ----------------------------------------------------- reset_password_request

#[actix_rt::test]
async fn reset_password_request_by_email_answers_the_validation_code_then_every_username() {
    let a = call(
        |w| {
            w.ip_allowed();
            w.users
                .expect_find_by_email()
                .withf(|e| e.key() == "ann@example.com")
                .times(1)
                .returning(|_| Ok(vec![annie(), ann()]));
            // The address and every covered account, in one set.
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    let keys: Vec<&str> = set
                        .changes()
                        .iter()
                        .filter_map(|c| match c {
                            Change::CountHit { key, .. } => Some(key.as_str()),
                            _ => None,
                        })
                        .collect();
                    *t == now()
                        && keys.len() == set.changes().len()
                        && keys
                            == [
                                "challenges:email:ann@example.com",
                                "challenges:user:01010101-0101-4101-8101-010101010101",
                                "challenges:user:09090909-0909-4909-8909-090909090909",
                            ]
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
            w.draws();
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    matches!(set.changes(), [Change::IssueChallenge(c)]
                        if c.purpose() == Purpose::ResetPassword && c.issued_at() == *t)
                        && *t == now()
                        && set.mails().len() == 1
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        post_json(
            RESET_REQUEST,
            &serde_json::json!({"username_or_email": "Ann@Example.com"}),
        ),
    )
    .await;

    assert_answer(
        &a,
        200,
        r#"{"success":true,"result":{"validation_code":"KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio","usernames":["ann","annie"]},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn reset_password_request_by_username_answers_that_username() {
    let a = call(
        |w| {
            w.ip_allowed().finds("ann", Some(ann()));
            w.issuance(
                "challenges:user:01010101-0101-4101-8101-010101010101",
                RateDecision::Allowed,
            );
            w.draws();
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    matches!(set.changes(), [Change::IssueChallenge(c)]
                        if c.purpose() == Purpose::ResetPassword && c.issued_at() == *t)
                        && *t == now()
                        && set.mails().len() == 1
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        post_json(
            RESET_REQUEST,
            &serde_json::json!({"username_or_email": "ann"}),
        ),
    )
    .await;

    assert_answer(
        &a,
        200,
        r#"{"success":true,"result":{"validation_code":"KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio","usernames":["ann"]},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn reset_password_request_for_an_unknown_account_answers_422_code_422_not_1001() {
    let a = call(
        |w| {
            w.ip_allowed().finds("nobody", None);
            w.changes.expect_apply().never();
        },
        post_json(
            RESET_REQUEST,
            &serde_json::json!({"username_or_email": "nobody"}),
        ),
    )
    .await;

    assert_answer(&a, 422, UNPROCESSABLE);
}

#[actix_rt::test]
async fn reset_password_request_over_the_per_account_limit_answers_429_with_retry_after() {
    let a = call(
        |w| {
            w.ip_allowed().finds("ann", Some(ann()));
            w.issuance(
                "challenges:user:01010101-0101-4101-8101-010101010101",
                RateDecision::Limited {
                    retry_after_seconds: 600,
                },
            );
            w.changes.expect_apply().never();
        },
        post_json(
            RESET_REQUEST,
            &serde_json::json!({"username_or_email": "ann"}),
        ),
    )
    .await;

    assert_retry(&a, 429, &retry_body(429, "Too many requests", 600), "600");
}

#[actix_rt::test]
async fn reset_password_request_with_an_unexpected_store_error_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.ip_allowed();
            w.users
                .expect_find_by_email()
                .times(1)
                .returning(|_| Err(unexpected()));
        },
        post_json(
            RESET_REQUEST,
            &serde_json::json!({"username_or_email": "ann@example.com"}),
        ),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

// ------------------------------------------------------------- reset_password

#[actix_rt::test]
async fn reset_password_sets_the_password_and_answers_the_session_with_a_token_of_the_new_version()
{
    let a = call(
        |w| {
            w.clock()
                .finds_challenge(Purpose::ResetPassword, Some(reset_challenge()));
            // Ann is loaded once, at version 3; the session is opened with
            // the user as written (version 4, see the token below), not
            // reloaded.
            w.gets_ann(Some(ann_at(3)));
            w.hasher
                .expect_hash()
                .withf(|p| p.expose() == OTHER_STRONG)
                .times(1)
                .returning(|_| Ok(new_hash()));
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    set.changes()
                        == [
                            Change::ConsumeChallenge(reset_challenge().id()),
                            // The new hash, the version bumped under the
                            // guard of the loaded one.
                            Change::SetPassword {
                                user: ann_at(3).id,
                                hash: new_hash(),
                                expected_version: 3,
                            },
                            // Every other open reset code of Ann consumed.
                            Change::ConsumeOpenChallenges {
                                key: format!("user:{ANN_GID}"),
                                purposes: vec![Purpose::ForgotPassword, Purpose::ResetPassword],
                            },
                        ]
                        && *t == now()
                        && set.mails().len() == 1
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
            // The token is issued at the bumped credential version.
            w.issues(ann_id(), 4).views(ann_id(), ann_views());
        },
        post_json(RESET, &reset_body(OTHER_STRONG, CODE)),
    )
    .await;

    assert_session(&a, &ann_session());
}

#[actix_rt::test]
async fn reset_password_with_a_weak_password_answers_1001_on_new_password_before_the_code() {
    let a = call(
        |w| {
            w.clock()
                .finds_challenge(Purpose::ResetPassword, Some(reset_challenge()))
                .gets_ann(Some(ann()));
            w.challenges.expect_record_failure().never();
            w.hasher.expect_hash().never();
        },
        post_json(RESET, &reset_body("password1", "ZZZZZZ")),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"new_password","reason":"password_weak","detail":"The password is too easy to guess.","suggestions":["This is a very common password.","Add another word or two. Uncommon words are better."]}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn reset_password_with_a_wrong_code_answers_1001_code_invalid_with_attempts_left() {
    let a = call(
        |w| {
            w.clock()
                .finds_challenge(Purpose::ResetPassword, Some(reset_challenge()))
                .gets_ann(Some(ann()));
            w.challenges
                .expect_record_failure()
                .times(1)
                .returning(|_, _| Ok(Some(3)));
            w.hasher.expect_hash().never();
        },
        post_json(RESET, &reset_body(OTHER_STRONG, "ZZZZZZ")),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"verification_code","reason":"code_invalid","detail":"The verification code is not valid.","attempts_left":2}},"data":{}}"#,
    );
}

// ---------------------------------------------------------------------- login

#[actix_rt::test]
async fn login_answers_the_session_payload_with_version_cursor_and_the_raw_token() {
    let a = call(
        |w| {
            w.login_ok();
        },
        post_json(LOGIN, &login_body(STRONG)),
    )
    .await;

    assert_session(&a, &ann_session_with_version());
    assert!(!a.header("authorization").unwrap().starts_with("Bearer"));
}

#[actix_rt::test]
async fn login_with_a_wrong_password_answers_403_unknown_user() {
    let a = call(
        |w| {
            w.clock()
                .finds("ann", Some(ann()))
                .verifies("wrong password", false);
            w.tokens.expect_issue().never();
        },
        post_json(LOGIN, &login_body("wrong password")),
    )
    .await;

    assert_answer(&a, 403, UNKNOWN_USER);
}

#[actix_rt::test]
async fn login_with_an_unknown_username_answers_the_same_403_after_a_dummy_check() {
    let a = call(
        |w| {
            w.clock().finds("ann", None);
            w.hasher
                .expect_verify()
                .withf(|p, h| p == STRONG && h.is_none())
                .times(1)
                .returning(|_, _| Ok(false));
            w.tokens.expect_issue().never();
        },
        post_json(LOGIN, &login_body(STRONG)),
    )
    .await;

    assert_answer(&a, 403, UNKNOWN_USER);
}

#[actix_rt::test]
async fn login_with_the_database_unavailable_answers_503_with_retry_after() {
    let a = call(
        |w| {
            w.clock();
            w.users
                .expect_find_by_username_ci()
                .times(1)
                .returning(|_| Err(unavailable()));
        },
        post_json(LOGIN, &login_body(STRONG)),
    )
    .await;

    assert_retry(&a, 503, &retry_body(503, "Service unavailable", 5), "5");
}

#[actix_rt::test]
async fn login_with_the_hasher_overloaded_answers_503_with_its_retry_after() {
    let a = call(
        |w| {
            w.clock().finds("ann", Some(ann()));
            w.hasher.expect_verify().times(1).returning(|_, _| {
                Err(HashError::Overloaded {
                    retry_after_seconds: 9,
                })
            });
        },
        post_json(LOGIN, &login_body(STRONG)),
    )
    .await;

    assert_retry(&a, 503, &retry_body(503, "Service unavailable", 9), "9");
}

#[actix_rt::test]
async fn login_with_an_unexpected_store_error_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.clock();
            w.users
                .expect_find_by_username_ci()
                .times(1)
                .returning(|_| Err(unexpected()));
        },
        post_json(LOGIN, &login_body(STRONG)),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

#[actix_rt::test]
async fn login_with_the_projects_failing_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.clock()
                .finds("ann", Some(ann()))
                .verifies(STRONG, true)
                .issues(ann_id(), 3);
            w.projects
                .expect_views_for()
                .times(1)
                .returning(|_| Err(unexpected()));
        },
        post_json(LOGIN, &login_body(STRONG)),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

// ----------------------------------------------------------------------- init

#[actix_rt::test]
async fn init_with_a_valid_token_answers_the_session_with_version_and_a_fresh_token() {
    let a = call(
        |w| {
            w.token_verifies(3)
                .gets_ann(Some(ann()))
                .issues_with(ann_id(), 3, Some(auth_time()))
                .views(ann_id(), ann_views());
        },
        init(Some(&bearer())),
    )
    .await;

    assert_session(&a, &ann_session_with_version());
}

#[actix_rt::test]
async fn init_shows_a_project_the_caller_is_an_active_member_of_whole_with_its_owner_short() {
    let mut joined = zephyr_invitation(ann_id());
    joined.own.status = MembershipStatus::Active;
    let a = call(
        |w| {
            w.token_verifies(3)
                .gets_ann(Some(ann()))
                .issues_with(ann_id(), 3, Some(auth_time()))
                .views(ann_id(), vec![joined]);
        },
        init(Some(&bearer())),
    )
    .await;

    let zephyr = ZEPHYR_SHORT.replace(
        r#""status":"active"}"#,
        r#""status":"active","options":{"timezone":"UTC","languages":["de"]}}"#,
    );
    let ann_row = ANN_IN_ZEPHYR.replace(r#""status":"invited""#, r#""status":"active""#);
    assert_session(
        &a,
        &format!(
            r#"{{"success":true,"result":{{"user":"{ANN_GID}","user_projects":{{"{ZEPHYR_GID}":["member"]}},"cc.version":"0.1.0","cc.cursor":0}},"data":{{"cc.users":{{"{ANN_GID}":{ANN_COMPLETE},"{BOB_GID}":{BOB_SHORT}}},"cc.projects":{{"{ZEPHYR_GID}":{zephyr}}},"cc.projects_members":[{ann_row},{BOB_IN_ZEPHYR}],"cc.languages":{LANGUAGES}}}}}"#
        ),
    );
}

#[actix_rt::test]
async fn init_accepts_the_bearer_scheme_in_any_case() {
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let a = call(
            |w| {
                w.token_verifies(3)
                    .gets_ann(Some(ann()))
                    .issues_with(ann_id(), 3, Some(auth_time()))
                    .views(ann_id(), ann_views());
            },
            init(Some(&format!("{scheme} {OLD_TOKEN}"))),
        )
        .await;

        assert_session(&a, &ann_session_with_version());
    }
}

#[actix_rt::test]
async fn init_without_a_usable_authorization_header_answers_401_with_the_realm() {
    for authorization in [
        None,
        Some("Basic xyz".to_owned()),
        Some(format!("Basic {OLD_TOKEN}")),
        Some(OLD_TOKEN.to_owned()),
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some("Bearer    ".to_owned()),
        Some(String::new()),
    ] {
        let a = refused(init(authorization.as_deref())).await;

        assert_denied(&a);
    }
}

#[actix_rt::test]
async fn init_with_an_invalid_or_expired_token_answers_401_with_the_realm() {
    let errors: [fn() -> TokenError; 2] = [|| TokenError::Invalid, || TokenError::Expired];
    for error in errors {
        let a = call(
            |w| {
                w.clock();
                w.tokens
                    .expect_verify()
                    .withf(|token, _| token == OLD_TOKEN)
                    .times(1)
                    .returning(move |_, _| Err(error()));
                w.users.expect_get().never();
                w.tokens.expect_issue().never();
            },
            init(Some(&bearer())),
        )
        .await;

        assert_denied(&a);
    }
}

#[actix_rt::test]
async fn init_with_a_token_of_an_older_credential_version_answers_401() {
    let a = call(
        |w| {
            w.token_verifies(2).gets_ann(Some(ann()));
            w.tokens.expect_issue().never();
        },
        init(Some(&bearer())),
    )
    .await;

    assert_denied(&a);
}

#[actix_rt::test]
async fn init_with_a_token_of_a_deleted_or_vanished_user_answers_401() {
    let deleted = User {
        status: UserStatus::Deleted,
        ..ann()
    };
    for found in [Some(deleted), None] {
        let a = call(
            |w| {
                w.token_verifies(3).gets_ann(found);
                w.tokens.expect_issue().never();
            },
            init(Some(&bearer())),
        )
        .await;

        assert_denied(&a);
    }
}

#[actix_rt::test]
async fn init_with_the_database_unavailable_answers_503_with_retry_after() {
    let a = call(
        |w| {
            w.token_verifies(3);
            w.users
                .expect_get()
                .times(1)
                .returning(|_| Err(unavailable()));
        },
        init(Some(&bearer())),
    )
    .await;

    assert_retry(&a, 503, &retry_body(503, "Service unavailable", 5), "5");
}

#[actix_rt::test]
async fn init_with_an_unexpected_token_error_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.clock();
            w.tokens.expect_verify().times(1).returning(|_, _| {
                Err(TokenError::Unexpected(
                    std::io::Error::other(INNER_ERROR).into(),
                ))
            });
        },
        init(Some(&bearer())),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

#[actix_rt::test]
async fn init_with_the_projects_failing_answers_500_without_leaking_it() {
    let a = call(
        |w| {
            w.token_verifies(3)
                .gets_ann(Some(ann()))
                .issues_with(ann_id(), 3, Some(auth_time()));
            w.projects
                .expect_views_for()
                .times(1)
                .returning(|_| Err(unexpected()));
        },
        init(Some(&bearer())),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
    assert!(!a.body.contains("malformed"), "{}", a.body);
}

// ----------------------------------------------------------------- parameters

#[actix_rt::test]
async fn signup_request_with_the_username_but_no_password_names_the_password_missing() {
    let a = refused(post(
        SIGNUP_REQUEST,
        r#"{"username":"ann","email":"ann@example.com"}"#,
    ))
    .await;

    assert_answer(
        &a,
        400,
        r#"{"success":false,"result":{"code":400,"message":"Bad request","info":{"parameter":"password","reason":"missing"}},"data":{}}"#,
    );
}

/// A JSON value that is not a string, and how the 400 names it.
const WRONG_VALUES: [(Option<&str>, &str); 9] = [
    (None, "missing"),
    (Some("null"), "missing"),
    (Some("42"), "invalid_type"),
    (Some("4.5"), "invalid_type"),
    (Some(r#"["ann"]"#), "invalid_type"),
    (Some("[]"), "invalid_type"),
    (Some(r#"{"a":"ann"}"#), "invalid_type"),
    (Some("true"), "invalid_type"),
    (Some("false"), "invalid_type"),
];

#[actix_rt::test]
async fn the_first_offending_parameter_in_request_field_order_answers_400() {
    for (path, fields) in ROUTES {
        for (i, offending) in fields.iter().enumerate() {
            for (value, reason) in WRONG_VALUES {
                // Fields before the offending one are fine, every later one
                // is wrong too, and the body lists them in reverse order:
                // the first wrong field in the spec's order is reported.
                let members: Vec<String> = fields
                    .iter()
                    .enumerate()
                    .rev()
                    .filter_map(|(j, f)| {
                        let v = if j < i { Some(r#""x""#) } else { value };
                        v.map(|v| format!(r#""{f}":{v}"#))
                    })
                    .collect();
                let body = format!("{{{}}}", members.join(","));

                let a = refused(post(path, &body)).await;

                assert_eq!(a.body, bad_request(offending, reason), "{path} with {body}");
                assert_answer(&a, 400, &bad_request(offending, reason));
            }
        }
    }
}

#[actix_rt::test]
async fn an_empty_object_names_the_first_field_of_each_route_missing() {
    for (path, fields) in ROUTES {
        let a = refused(post(path, "{}")).await;

        assert_answer(&a, 400, &bad_request(fields[0], "missing"));
    }
}

#[actix_rt::test]
async fn an_empty_or_blank_body_on_login_names_the_username_missing() {
    for body in ["", " \r\n\t"] {
        let a = refused(post(LOGIN, body)).await;

        assert_answer(&a, 400, &bad_request("username", "missing"));
    }
    let a = refused(TestRequest::post().uri(LOGIN)).await;

    assert_answer(&a, 400, &bad_request("username", "missing"));
}

#[actix_rt::test]
async fn a_malformed_json_body_answers_400_malformed_body() {
    for body in [
        r#"{"username":"ann""#,
        "username=ann&password=x",
        "nonsense",
        "\u{1}",
        r#"{"username":"ann",}"#,
    ] {
        let a = refused(post(LOGIN, body)).await;

        assert_answer(&a, 400, MALFORMED);
    }
}

#[actix_rt::test]
async fn a_json_body_that_is_not_an_object_answers_400_malformed_body() {
    for path in [SIGNUP_REQUEST, SIGNUP, RESET_REQUEST, RESET, LOGIN] {
        for body in [
            r#"[{"username":"ann","password":"x"}]"#,
            "[]",
            r#""ann""#,
            "42",
            "null",
            "true",
        ] {
            let a = refused(post(path, body)).await;

            assert_answer(&a, 400, MALFORMED);
        }
    }
}

#[actix_rt::test]
async fn a_form_encoded_body_is_accepted() {
    let a = call(
        |w| {
            w.login_ok();
        },
        post_form(
            LOGIN,
            "username=ann&password=correct+horse+battery%20staple",
        ),
    )
    .await;

    assert_session(&a, &ann_session_with_version());
}

#[actix_rt::test]
async fn a_form_encoded_body_names_its_first_missing_field() {
    let a = refused(post_form(
        SIGNUP_REQUEST,
        "email=ann%40example.com&username=ann",
    ))
    .await;

    assert_answer(&a, 400, &bad_request("password", "missing"));
}

#[actix_rt::test]
async fn unknown_fields_are_ignored() {
    let a = call(
        |w| {
            w.login_ok();
        },
        post(
            LOGIN,
            r#"{"remember_me":true,"username":"ann","extra":{"nested":[1,2]},"password":"correct horse battery staple","otp":null}"#,
        ),
    )
    .await;

    assert_session(&a, &ann_session_with_version());
}

// ------------------------------------------------------------ body size cap

#[actix_rt::test]
async fn a_body_over_the_cap_with_an_honest_content_length_answers_413() {
    let body = format!(r#"{{"username":"{}","password":"x"}}"#, "a".repeat(100));
    for path in [SIGNUP_REQUEST, SIGNUP, RESET_REQUEST, RESET, LOGIN] {
        let a = call(
            |w| {
                w.http.max_body_bytes = 64;
                w.untouched();
            },
            post(path, &body),
        )
        .await;

        assert_answer(&a, 413, TOO_LARGE);
    }
}

#[actix_rt::test]
async fn a_chunked_body_over_the_cap_answers_413() {
    let body = format!(r#"{{"username":"{}","password":"x"}}"#, "a".repeat(100));
    let a = call_with(
        |w| {
            w.http.max_body_bytes = 64;
            w.untouched();
        },
        post(LOGIN, &body),
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
    let body = format!("{:<64}", r#"{"username":"ann","password":"wrong"}"#);
    assert_eq!(body.len(), 64);
    let a = call(
        |w| {
            w.http.max_body_bytes = 64;
            w.clock().finds("ann", Some(ann())).verifies("wrong", false);
        },
        post(LOGIN, &body),
    )
    .await;

    assert_answer(&a, 403, UNKNOWN_USER);
}

// ---------------------------------------------------------------------- ping

#[actix_rt::test]
async fn ping_answers_pong_and_the_version_to_get_and_post_without_a_token() {
    for req in [
        TestRequest::get().uri("/api/ping"),
        TestRequest::post().uri("/api/ping"),
        TestRequest::post()
            .uri("/api/ping")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload("{not json"),
        // A token, even a bad one, changes nothing.
        TestRequest::get()
            .uri("/api/ping")
            .insert_header((header::AUTHORIZATION, "Bearer nonsense")),
    ] {
        let a = refused(req).await;

        assert_answer(
            &a,
            200,
            r#"{"success":true,"result":{"pong":true,"cc.version":"0.1.0"},"data":{}}"#,
        );
    }
    let a = refused(TestRequest::put().uri("/api/ping")).await;
    assert_answer(&a, 404, NOT_FOUND);
}

// ------------------------------------------------------- methods and routes

#[actix_rt::test]
async fn a_wrong_method_or_an_unknown_route_answers_the_404_envelope() {
    for req in [
        TestRequest::get().uri(LOGIN),
        TestRequest::get().uri(SIGNUP_REQUEST),
        TestRequest::get().uri(SIGNUP),
        TestRequest::get().uri(RESET_REQUEST),
        TestRequest::get().uri(RESET),
        TestRequest::put().uri(LOGIN),
        TestRequest::delete().uri(LOGIN),
        TestRequest::post().uri(INIT),
        TestRequest::post().uri("/api/nope"),
        TestRequest::post().uri("/api/login/extra"),
        TestRequest::post().uri("/api"),
        TestRequest::get().uri("/api/"),
    ] {
        let a = refused(req.insert_header((header::AUTHORIZATION, bearer()))).await;

        assert_answer(&a, 404, NOT_FOUND);
    }
}

// ------------------------------------------- an authenticated route's order

/// What a future authenticated route with a body reads: one parameter.
struct Probe {
    name: String,
}

impl super::params::FromFields for Probe {
    fn from_fields(f: &super::params::Fields) -> Result<Self, super::params::BadParam> {
        Ok(Self {
            name: f.string("name")?,
        })
    }
}

/// An authenticated route with a body, the way a new one is written.
async fn probe(
    super::auth::Caller { user, params, .. }: super::auth::Caller<Probe>,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().body(format!("{} {}", user.username_str(), params.name))
}

const PROBE: &str = "/test/probe";

/// As [`call`], with the app serving [`probe`] at [`PROBE`] too.
async fn call_probe(setup: impl FnOnce(&mut World), req: TestRequest) -> Answer {
    let routes = |cfg: &mut web::ServiceConfig| {
        cfg.route(PROBE, web::post().to(probe));
    };
    call_app(setup, routes, req, |_| {}).await
}

#[actix_rt::test]
async fn an_authenticated_route_refuses_a_body_over_the_cap_before_it_looks_at_the_token() {
    let body = format!(r#"{{"name":"{}"}}"#, "a".repeat(100));
    let a = call_probe(
        |w| {
            w.http.max_body_bytes = 64;
            w.untouched();
        },
        post(PROBE, &body),
    )
    .await;

    assert_answer(&a, 413, TOO_LARGE);
}

#[actix_rt::test]
async fn an_authenticated_route_refuses_a_missing_token_before_it_reads_the_parameters() {
    for body in ["[1]", "{}", r#"{"name":42}"#] {
        let a = call_probe(
            |w| {
                w.untouched();
            },
            post(PROBE, body),
        )
        .await;

        assert_denied(&a);
    }
}

#[actix_rt::test]
async fn an_authenticated_route_names_the_first_offending_parameter_once_the_token_is_good() {
    for (body, want) in [
        ("[1]", MALFORMED.to_owned()),
        ("{}", bad_request("name", "missing")),
        (r#"{"name":42}"#, bad_request("name", "invalid_type")),
    ] {
        let a = call_probe(
            |w| {
                w.token_verifies(3).gets_ann(Some(ann()));
                w.tokens.expect_issue().never();
            },
            post(PROBE, body).insert_header((header::AUTHORIZATION, bearer())),
        )
        .await;

        assert_answer(&a, 400, &want);
    }
}

#[actix_rt::test]
async fn an_authenticated_route_gets_the_caller_and_its_parameters() {
    let a = call_probe(
        |w| {
            w.token_verifies(3).gets_ann(Some(ann()));
        },
        post(PROBE, r#"{"name":"Zed"}"#).insert_header((header::AUTHORIZATION, bearer())),
    )
    .await;

    assert_eq!((a.status, a.body.as_str()), (200, "ann Zed"));
}
mod account;
mod delete;
mod email_change;
mod invitations;
mod mail_language;
mod members;
mod projects;
