//! Fixtures shared by the Unicat unit tests: every port mocked, a fixed key
//! and clock, and the draws that make a known code and validation code.
//!
//! A port method without an expectation panics when called, so each test
//! names every call it allows; the ones that matter are pinned with
//! `.times(n)` or `.never()`.

use super::{Sessions, UnicatSettings};
use crate::test_writes::MockWrites;
use crate::{ChallengeSettings, Ports};
use accountd_domain::{
    validation_code_text, Challenge, ChallengeId, ChallengePolicy, CodeFormat, Membership,
    MembershipStatus, Notifications, PasswordPolicy, Project, ProjectId, ProjectStatus,
    ProjectView, Purpose, Role, Subject, Timestamp, User, UserId, UserStatus, Username,
};
use accountd_ports::{
    Limit, MockChallengeRepository, MockClock, MockLoginThrottle, MockPasswordHasher,
    MockProjectRepository, MockRandom, MockRateLimiter, MockTokenService, MockUserRepository,
    RateDecision, StoreError,
};
pub(crate) use accountd_testkit::{email, hash, key, t, user_id, STRONG, WEAK};
use std::sync::Arc;

/// The mailed code the draws below produce.
pub(crate) const CODE: &str = "10AMYZ";
/// One uniform draw per Crockford character of [`CODE`].
pub(crate) const CODE_DRAWS: [u32; 6] = [1, 0, 10, 20, 30, 31];
/// A well-formed code that is not [`CODE`].
pub(crate) const WRONG_CODE: &str = "ZZZZZZ";
pub(crate) const CLIENT: &str = "203.0.113.7";
pub(crate) const TOKEN: &str = "header.payload.signature";
/// The three `bytes16` draws of a step-1 call: the two halves of the
/// validation code, then the challenge id.
pub(crate) const VALIDATION_HALVES: [[u8; 16]; 2] = [[4; 16], [5; 16]];
pub(crate) const CHALLENGE_ID_BYTES: [u8; 16] = [2; 16];

pub(crate) fn settings() -> UnicatSettings {
    UnicatSettings {
        challenge: ChallengeSettings {
            code_ttl_seconds: 900,
            max_failures: 5,
            codes_per_hour: 5,
            codes_per_day: 10,
            step1_per_ip_per_hour: 30,
            enumeration_protection: false,
            password_policy: PasswordPolicy::DEFAULT,
        },
        default_timezone: accountd_domain::TimeZone::parse("Europe/Amsterdam")
            .expect("a zone of the tz database"),
        ui_languages: vec!["en".to_owned(), "de".to_owned(), "nl".to_owned()],
        email_revert_seconds: 604_800,
        lookups_per_ip_per_hour: 600,
        public_url: "https://accounts.example.com".to_owned(),
    }
}

pub(crate) fn protected() -> UnicatSettings {
    UnicatSettings {
        challenge: ChallengeSettings {
            enumeration_protection: true,
            ..settings().challenge
        },
        ..settings()
    }
}

pub(crate) fn ip_limits() -> Vec<Limit> {
    vec![Limit {
        window_seconds: 3600,
        max: 30,
    }]
}

pub(crate) fn code_limits() -> Vec<Limit> {
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

/// The validation code a step-1 call returns with the draws of
/// [`Mocks::draws`].
pub(crate) fn drawn_validation_code() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(&VALIDATION_HALVES[0]);
    bytes[16..].copy_from_slice(&VALIDATION_HALVES[1]);
    validation_code_text(&bytes)
}

/// The validation code a caller holds in step-2 tests.
pub(crate) fn held_validation_code() -> String {
    validation_code_text(&[7; 32])
}

/// A challenge for [`CODE`], issued at t(0), living 900 s, 5 tries,
/// findable by [`held_validation_code`].
pub(crate) fn challenge(purpose: Purpose, subject: Subject) -> Challenge {
    let code = CodeFormat::Crockford6.code_from_draws(&CODE_DRAWS).unwrap();
    Challenge::issue(
        ChallengeId::from_random_bytes(CHALLENGE_ID_BYTES),
        purpose,
        subject,
        &code,
        &key(),
        ChallengePolicy::unicat(900, 5),
        t(0),
    )
    .with_lookup(Challenge::lookup_mac(
        &key(),
        purpose,
        &held_validation_code(),
    ))
}

pub(crate) fn with_failures(c: Challenge, n: u32) -> Challenge {
    (0..n).fold(c, |c, _| c.with_failure(t(1)).unwrap())
}

/// An account: id from `id_byte`, credential version 3.
pub(crate) fn user(id_byte: u8, name: &str, status: UserStatus, emails: &[&str]) -> User {
    User {
        id: user_id(id_byte),
        username: Some(Username::parse(name).unwrap()),
        emails: emails.iter().map(|e| email(e)).collect(),
        status,
        credential_version: 3,
        password_hash: Some(hash(&format!("$2b$04$hash-of-{name}"))),
        name: String::new(),
        language: "en".into(),
        timezone: "UTC".into(),
        created_at: t(-86_400),
    }
}

/// Ann: active, two addresses.
pub(crate) fn ann() -> User {
    user(
        1,
        "Ann",
        UserStatus::Active,
        &["ann@example.com", "a.lee@work.example"],
    )
}

pub(crate) fn project_of(owner: UserId) -> ProjectView {
    let id = ProjectId::from_random_bytes([42; 16]);
    ProjectView {
        project: Project {
            id,
            name: "untitled project".into(),
            icon: None,
            owner,
            status: ProjectStatus::Active,
            timezone: "UTC".into(),
            languages: vec!["en".into()],
        },
        own: Membership {
            project: id,
            user: owner,
            status: MembershipStatus::Active,
            roles: vec![Role::Owner],
            notifications: Notifications::default(),
            rate_limit_per_second: None,
            invitation: None,
        },
        owner_row: None,
    }
}

pub(crate) fn unavailable() -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("connection pool timed out"))
}

pub(crate) fn unexpected() -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!("malformed row"))
}

/// The only line of `text` that is six characters alone.
pub(crate) fn code_in(text: &str) -> String {
    let six: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.chars().count() == 6)
        .collect();
    assert_eq!(six.len(), 1, "exactly one code line in {text:?}");
    six[0].to_owned()
}

/// Whether `s` is a validation code: 43 URL-safe base64 characters.
pub(crate) fn is_validation_code(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) struct Mocks {
    pub users: MockUserRepository,
    pub challenges: MockChallengeRepository,
    pub writes: MockWrites,
    pub limiter: MockRateLimiter,
    pub hasher: MockPasswordHasher,
    pub clock: MockClock,
    pub random: MockRandom,
    pub tokens: MockTokenService,
    pub projects: MockProjectRepository,
    pub throttle: MockLoginThrottle,
}

/// A login throttle that has seen no failure and accepts any call; the
/// soft-lock tests replace it with one of their own.
pub(crate) fn quiet_throttle() -> MockLoginThrottle {
    let mut t = MockLoginThrottle::new();
    t.expect_begin().returning(|_, _, _| Ok((1, Vec::new())));
    t.expect_forget().returning(|_| Ok(()));
    t.expect_clear().returning(|_| Ok(()));
    t
}

impl Mocks {
    pub(crate) fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            challenges: MockChallengeRepository::new(),
            writes: MockWrites::new(),
            limiter: MockRateLimiter::new(),
            hasher: MockPasswordHasher::new(),
            clock: MockClock::new(),
            random: MockRandom::new(),
            tokens: MockTokenService::new(),
            projects: MockProjectRepository::new(),
            throttle: quiet_throttle(),
        }
    }

    /// The clock always reads `now`.
    pub(crate) fn at(mut self, now: Timestamp) -> Self {
        self.clock.expect_now().return_const(now);
        self
    }

    /// One hit on `key` with exactly `limits` at `now`, answering `decision`.
    pub(crate) fn hit(
        mut self,
        key: &str,
        limits: Vec<Limit>,
        now: Timestamp,
        decision: RateDecision,
    ) -> Self {
        let key = key.to_owned();
        self.limiter
            .expect_hit()
            .withf(move |k, l, n| k == key && l == limits.as_slice() && *n == now)
            .times(1)
            .return_once(move |_, _, _| Ok(decision));
        self
    }

    /// The client's step-1 hit at t(0), allowed.
    pub(crate) fn ip_allowed(self) -> Self {
        self.hit(
            &format!("step1:ip:{CLIENT}"),
            ip_limits(),
            t(0),
            RateDecision::Allowed,
        )
    }

    /// The draws of one step-1 call: six code characters making [`CODE`],
    /// the two validation-code halves, then the challenge id.
    pub(crate) fn draws(mut self) -> Self {
        let mut next = CODE_DRAWS.into_iter();
        self.random
            .expect_uniform()
            .withf(|lo, hi| (*lo, *hi) == (0, 31))
            .times(6)
            .returning(move |_, _| next.next().unwrap());
        let mut bytes = [
            VALIDATION_HALVES[0],
            VALIDATION_HALVES[1],
            CHALLENGE_ID_BYTES,
        ]
        .into_iter();
        self.random
            .expect_bytes16()
            .times(3)
            .returning(move || bytes.next().unwrap());
        self
    }

    pub(crate) fn nothing_drawn(mut self) -> Self {
        self.random.expect_uniform().never();
        self.random.expect_bytes16().never();
        self
    }

    pub(crate) fn no_challenge_issued(mut self) -> Self {
        self.writes.expect_issue().never();
        self
    }

    pub(crate) fn no_failure_counted(mut self) -> Self {
        self.challenges.expect_record_failure().never();
        self
    }

    pub(crate) fn nothing_consumed(mut self) -> Self {
        self.writes.expect_consume().never();
        self
    }

    pub(crate) fn nothing_hashed(mut self) -> Self {
        self.hasher.expect_hash().never();
        self
    }

    pub(crate) fn no_session(mut self) -> Self {
        self.tokens.expect_issue().never();
        self.projects.expect_views_for().never();
        self
    }

    /// One lookup of the challenge of `purpose` the caller's
    /// [`held_validation_code`] points to, answering `found`.
    pub(crate) fn lookup(mut self, purpose: Purpose, found: Option<Challenge>) -> Self {
        let want = Challenge::lookup_mac(&key(), purpose, &held_validation_code());
        self.challenges
            .expect_find_by_lookup()
            .withf(move |p, l| *p == purpose && *l == want)
            .times(1)
            .return_once(move |_, _| Ok(found));
        self
    }

    /// A session for `user` at credential `version`, opened at `now`, with
    /// one project.
    pub(crate) fn session_for(mut self, user: UserId, version: i64, now: Timestamp) -> Self {
        self.tokens
            .expect_issue()
            .withf(move |u, v, a, n| *u == user && *v == version && *a == Some(now) && *n == now)
            .times(1)
            .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
        self.projects
            .expect_views_for()
            .withf(move |u| *u == user)
            .times(1)
            .returning(move |u| Ok(vec![project_of(u)]));
        self
    }

    /// The ports and the session service over the same mocks.
    pub(crate) fn build(self) -> (Ports, Sessions) {
        let ports = Ports {
            users: Arc::new(self.users),
            challenges: Arc::new(self.challenges),
            changes: Arc::new(self.writes),
            limiter: Arc::new(self.limiter),
            hasher: Arc::new(self.hasher),
            clock: Arc::new(self.clock),
            random: Arc::new(self.random),
            admission: Default::default(),
        };
        let sessions = Sessions::new(
            ports.clone(),
            Arc::new(self.tokens),
            Arc::new(self.projects),
            Arc::new(self.throttle),
            900,
        );
        (ports, sessions)
    }
}
