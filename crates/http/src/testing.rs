//! Building the Unicat services from mocked ports, for this crate's tests.

use crate::UnicatInfo;
use accountd_app::unicat::{
    AccountDeletion, Accounts, EmailChange, Invitations, MemberSettings, Members, PasswordReset,
    ProjectSettings, Projects, Sessions, Signup, UnicatSettings,
};
use accountd_app::{ChallengeSettings, Ports};
use accountd_domain::PasswordPolicy;
use accountd_ports::{ProjectRepository, TokenService};
use std::sync::Arc;

pub(crate) struct UnicatServices {
    pub signup: Signup,
    pub reset: PasswordReset,
    pub sessions: Sessions,
    pub deletion: AccountDeletion,
    pub email_change: EmailChange,
    pub accounts: Accounts,
    pub projects: Projects,
    pub invitations: Invitations,
    pub members: Members,
}

pub(crate) fn unicat_settings() -> UnicatSettings {
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

pub(crate) fn project_settings() -> ProjectSettings {
    ProjectSettings {
        projects_per_user: 100,
        languages: vec!["en".to_owned(), "nl".to_owned()],
        default_timezone: accountd_domain::TimeZone::parse("Europe/Amsterdam")
            .expect("a zone of the tz database"),
    }
}

pub(crate) fn member_settings() -> MemberSettings {
    MemberSettings {
        invite_ttl_seconds: 604_800,
        pending_invites_per_project: 100,
        invites_per_hour: 50,
        invites_per_recipient_per_hour: 5,
        public_url: "https://accounts.example.com".to_owned(),
        default_timezone: accountd_domain::TimeZone::parse("Europe/Amsterdam")
            .expect("a zone of the tz database"),
    }
}

pub(crate) fn unicat_services(
    ports: Ports,
    tokens: Arc<dyn TokenService>,
    projects: Arc<dyn ProjectRepository>,
) -> UnicatServices {
    let key = accountd_testkit::key();
    // A throttle that has seen no failure: the soft lock is the app's to test.
    let mut throttle = accountd_ports::MockLoginThrottle::new();
    throttle
        .expect_begin()
        .returning(|_, _, _| Ok((1, Vec::new())));
    throttle.expect_forget().returning(|_| Ok(()));
    throttle.expect_clear().returning(|_| Ok(()));
    let sessions = Sessions::new(
        ports.clone(),
        tokens,
        projects.clone(),
        Arc::new(throttle),
        900,
    );
    UnicatServices {
        signup: Signup::new(
            ports.clone(),
            sessions.clone(),
            key.clone(),
            unicat_settings(),
        ),
        reset: PasswordReset::new(
            ports.clone(),
            sessions.clone(),
            key.clone(),
            unicat_settings(),
        ),
        deletion: AccountDeletion::new(ports.clone(), sessions.clone(), projects.clone()),
        accounts: Accounts::new(
            ports.clone(),
            sessions.clone(),
            projects.clone(),
            unicat_settings(),
        ),
        projects: Projects::new(
            ports.clone(),
            sessions.clone(),
            projects.clone(),
            project_settings(),
        ),
        invitations: Invitations::new(
            ports.clone(),
            sessions.clone(),
            projects.clone(),
            key.clone(),
        ),
        members: Members::new(
            ports.clone(),
            sessions.clone(),
            projects,
            key.clone(),
            member_settings(),
        ),
        email_change: EmailChange::new(ports, sessions.clone(), key, unicat_settings()),
        sessions,
    }
}

pub(crate) fn unicat_info() -> UnicatInfo {
    UnicatInfo::new(
        "0.1.0".to_owned(),
        &[
            ("en".to_owned(), "English".to_owned()),
            ("nl".to_owned(), "Dutch".to_owned()),
        ],
    )
}

/// A `Changes` mock that accepts every set of audit events only (what
/// `Ports::record` applies after a login, a counted wrong code or a
/// refused limit); a test adds its own expectations for the other sets
/// (mockall tries expectations in the order they were set, and this one
/// matches no set with a change or a mail).
pub(crate) fn audit_only_changes() -> accountd_ports::MockChanges {
    let mut changes = accountd_ports::MockChanges::new();
    changes
        .expect_apply()
        .withf(|set, _| set.changes().is_empty() && set.mails().is_empty())
        .returning(|_, _| Ok(accountd_ports::Applied::Committed));
    changes
}

/// A state whose ports are mocks without expectations: for tests that
/// route requests but call no service.
pub(crate) fn idle_state() -> crate::HttpState {
    use accountd_app::{ForgotPassword, ForgotPasswordSettings};
    use accountd_ports::{
        MockChallengeRepository, MockChanges, MockClock, MockHealthCheck, MockPasswordHasher,
        MockProjectRepository, MockRandom, MockRateLimiter, MockTokenService, MockUserRepository,
    };
    let ports = Ports {
        users: Arc::new(MockUserRepository::new()),
        challenges: Arc::new(MockChallengeRepository::new()),
        changes: Arc::new(MockChanges::new()),
        limiter: Arc::new(MockRateLimiter::new()),
        hasher: Arc::new(MockPasswordHasher::new()),
        clock: Arc::new(MockClock::new()),
        random: Arc::new(MockRandom::new()),
        admission: Default::default(),
    };
    let unicat = unicat_services(
        ports.clone(),
        Arc::new(MockTokenService::new()),
        Arc::new(MockProjectRepository::new()),
    );
    crate::HttpState {
        forgot_password: ForgotPassword::new(
            ports,
            accountd_testkit::key(),
            ForgotPasswordSettings {
                challenge: unicat_settings().challenge,
            },
        ),
        signup: unicat.signup,
        reset: unicat.reset,
        sessions: unicat.sessions,
        unicat: unicat_info(),
        health: Arc::new(MockHealthCheck::new()),
        settings: crate::HttpSettings {
            max_body_bytes: 16 * 1024,
            body_timeout: std::time::Duration::from_secs(10),
            trusted_proxies: Vec::new(),
        },
        account_deletion: unicat.deletion,
        email_change: unicat.email_change,
        accounts: unicat.accounts,
        projects: unicat.projects,
        invitations: unicat.invitations,
        members: unicat.members,
        signing_keys: Arc::new(accountd_ports::NoPublishedKeys),
    }
}
