//! Creating an active user directly (the `accountd user add` command).

use crate::{Failure, Ports};
use accountd_domain::{
    Change, ChangeSet, Conflict, Email, EmailError, NewUser, PasswordPolicy, PasswordRejection,
    TimeZone, User, UserId, Username, UsernameError,
};
use accountd_ports::HashError;

/// What `accountd user add` was given. `Debug` leaves the password out.
#[derive(Clone)]
pub struct AddUserInput {
    /// The account name.
    pub username: String,
    /// Zero or more addresses.
    pub emails: Vec<String>,
    /// Display name.
    pub name: String,
    /// The initial password (read from standard input).
    pub password: String,
}

impl std::fmt::Debug for AddUserInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddUserInput")
            .field("username", &self.username)
            .field("emails", &self.emails.len())
            .field("password", &"***")
            .finish_non_exhaustive()
    }
}

/// Why the user was not created.
#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    /// The username is malformed.
    #[error("invalid username: {0}")]
    InvalidUsername(UsernameError),
    /// An address is malformed.
    #[error("invalid email {index}: {error}")]
    InvalidEmail {
        /// Which `--email`, from 1.
        index: usize,
        /// Why.
        error: EmailError,
    },
    /// The password fails the policy.
    #[error("password rejected: {0}")]
    PasswordRejected(PasswordRejection),
    /// Another account has this name (case-insensitively).
    #[error("the username is taken")]
    UsernameTaken,
    /// Storage or hashing failed. The command runs once and is not
    /// retried, so every such failure is [`Failure::Unexpected`], with its
    /// cause.
    #[error(transparent)]
    Failure(#[from] Failure),
}

/// Creates active users.
#[derive(Debug, Clone)]
pub struct AddUser {
    ports: Ports,
    policy: PasswordPolicy,
    timezone: TimeZone,
}

impl AddUser {
    /// Builds the service; new accounts get `timezone`
    /// (`ACCOUNTD_DEFAULT_TIMEZONE`) and language `en`.
    pub fn new(ports: Ports, policy: PasswordPolicy, timezone: TimeZone) -> Self {
        Self {
            ports,
            policy,
            timezone,
        }
    }

    /// Validates every field, hashes the password, stores the user.
    pub async fn add(&self, input: AddUserInput) -> Result<User, AddUserError> {
        let username = Username::parse(&input.username).map_err(AddUserError::InvalidUsername)?;
        let emails = input
            .emails
            .iter()
            .enumerate()
            .map(|(i, e)| {
                Email::parse(e).map_err(|error| AddUserError::InvalidEmail {
                    index: i + 1,
                    error,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let password = self
            .policy
            .check(&input.password, Some(username.as_str()), &emails)
            .map_err(AddUserError::PasswordRejected)?;
        let password_hash = self
            .ports
            .hasher
            .hash(&password)
            .await
            .map_err(|e| match e {
                HashError::Overloaded { .. } => {
                    Failure::Unexpected(anyhow::anyhow!("the password hasher is overloaded"))
                }
                HashError::Unexpected(e) => Failure::Unexpected(e),
            })?;
        let user = NewUser {
            id: UserId::from_random_bytes(self.ports.random.bytes16()),
            username,
            emails,
            name: input.name,
            password_hash,
            language: "en".to_owned(),
            timezone: self.timezone.as_str().to_owned(),
            created_at: self.ports.clock.now(),
        };
        let user = user.into_user();
        let set = ChangeSet::new()
            .with(Change::CreateUser(user.clone()))
            .audit(
                accountd_domain::AuditEvent::new(
                    accountd_domain::AuditEventKind::Signup,
                    Some(user.id),
                )
                .word("via", "cli"),
            );
        match self.ports.apply(set, user.created_at).await {
            Ok(Ok(())) => Ok(user),
            Ok(Err(Conflict::UsernameTaken)) => Err(AddUserError::UsernameTaken),
            Ok(Err(other)) => Err(Failure::Unexpected(anyhow::anyhow!(
                "creating a user was refused: {other:?}"
            ))
            .into()),
            // A command run once: no retry, so no 503-style answer either.
            Err(Failure::Unavailable(e)) => {
                Err(Failure::Unexpected(e.context("the database is unavailable")).into())
            }
            Err(Failure::Unexpected(e)) => Err(Failure::Unexpected(e).into()),
            Err(f @ (Failure::Overloaded { .. } | Failure::Contended { .. })) => Err(f.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_writes::{CreateUserError, MockWrites};
    use accountd_domain::{PasswordHash, Timestamp, UserStatus};
    use accountd_ports::{
        MockChallengeRepository, MockClock, MockPasswordHasher, MockRandom, MockRateLimiter,
        MockUserRepository, StoreError,
    };
    use accountd_testkit::STRONG;
    use std::sync::Arc;

    const HASH: &str = "$2b$04$hashhashhashhashhashhash";

    fn now() -> Timestamp {
        Timestamp::from_millis(1_700_000_000_000)
    }

    fn input(username: &str, emails: &[&str], password: &str) -> AddUserInput {
        AddUserInput {
            username: username.into(),
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            name: "Ann Lee".into(),
            password: password.into(),
        }
    }

    fn ann() -> AddUserInput {
        input("Ann", &["ann@example.com", "a.lee@work.example"], STRONG)
    }

    fn expected_new_user() -> NewUser {
        NewUser {
            id: UserId::from_random_bytes([5; 16]),
            username: Username::parse("Ann").unwrap(),
            emails: vec![
                Email::parse("ann@example.com").unwrap(),
                Email::parse("a.lee@work.example").unwrap(),
            ],
            name: "Ann Lee".into(),
            password_hash: PasswordHash::new(HASH.into()),
            language: "en".into(),
            timezone: "Europe/Amsterdam".into(),
            created_at: now(),
        }
    }

    struct Mocks {
        users: MockUserRepository,
        writes: MockWrites,
        hasher: MockPasswordHasher,
        clock: MockClock,
        random: MockRandom,
    }

    impl Mocks {
        fn new() -> Self {
            let mut clock = MockClock::new();
            clock.expect_now().return_const(now());
            let mut random = MockRandom::new();
            random.expect_bytes16().return_const([5u8; 16]);
            Self {
                users: MockUserRepository::new(),
                writes: MockWrites::new(),
                hasher: MockPasswordHasher::new(),
                clock,
                random,
            }
        }

        /// Validation refuses the input: nothing is hashed or stored.
        fn refused() -> Self {
            let mut m = Self::new();
            m.hasher.expect_hash().never();
            m.writes.expect_create().never();
            m
        }

        /// The password is hashed once, to [`HASH`].
        fn hashing(mut self) -> Self {
            self.hasher
                .expect_hash()
                .withf(|p| p.expose() == STRONG)
                .times(1)
                .returning(|_| Ok(PasswordHash::new(HASH.into())));
            self
        }

        fn service(self, policy: PasswordPolicy) -> AddUser {
            AddUser::new(
                Ports {
                    users: Arc::new(self.users),
                    challenges: Arc::new(MockChallengeRepository::new()),
                    changes: Arc::new(self.writes),
                    limiter: Arc::new(MockRateLimiter::new()),
                    hasher: Arc::new(self.hasher),
                    clock: Arc::new(self.clock),
                    random: Arc::new(self.random),
                    admission: Default::default(),
                },
                policy,
                TimeZone::parse("Europe/Amsterdam").unwrap(),
            )
        }
    }

    #[tokio::test]
    async fn a_malformed_username_is_refused_before_anything_is_hashed_or_stored() {
        for (name, why) in [
            ("", UsernameError::Empty),
            ("ann b", UsernameError::InvalidCharacter),
            ("ann@example.com", UsernameError::InvalidCharacter),
        ] {
            let r = Mocks::refused()
                .service(PasswordPolicy::DEFAULT)
                .add(input(name, &[], STRONG))
                .await;

            assert!(
                matches!(&r, Err(AddUserError::InvalidUsername(e)) if *e == why),
                "{name:?}: {r:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_malformed_email_is_reported_with_its_position_counted_from_one() {
        let r = Mocks::refused()
            .service(PasswordPolicy::DEFAULT)
            .add(input(
                "Ann",
                &["ann@example.com", "not-an-address", "x@y.org"],
                STRONG,
            ))
            .await;

        assert!(
            matches!(
                r,
                Err(AddUserError::InvalidEmail {
                    index: 2,
                    error: EmailError::Invalid
                })
            ),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn a_malformed_first_email_is_number_one() {
        let r = Mocks::refused()
            .service(PasswordPolicy::DEFAULT)
            .add(input("Ann", &["ann at example.com"], STRONG))
            .await;

        assert!(
            matches!(r, Err(AddUserError::InvalidEmail { index: 1, .. })),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn a_weak_password_is_refused_and_never_hashed() {
        let r = Mocks::refused()
            .service(PasswordPolicy::DEFAULT)
            .add(input("Ann", &["ann@example.com"], "password1"))
            .await;

        assert!(
            matches!(
                r,
                Err(AddUserError::PasswordRejected(
                    PasswordRejection::Weak { .. }
                ))
            ),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn a_password_containing_an_email_local_part_is_refused() {
        let r = Mocks::refused()
            .service(PasswordPolicy::new(8, 0))
            .add(input("zed", &["ann.lee@example.com"], "my-Ann.Lee-secret"))
            .await;

        assert!(
            matches!(
                r,
                Err(AddUserError::PasswordRejected(
                    PasswordRejection::ContainsEmail
                ))
            ),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn a_taken_username_is_reported_as_taken() {
        let mut m = Mocks::new().hashing();
        m.writes
            .expect_create()
            .times(1)
            .returning(|_| Err(CreateUserError::UsernameTaken));

        let r = m.service(PasswordPolicy::DEFAULT).add(ann()).await;

        assert!(matches!(r, Err(AddUserError::UsernameTaken)), "{r:?}");
    }

    #[tokio::test]
    async fn a_store_failure_while_creating_is_unexpected() {
        let mut m = Mocks::new().hashing();
        m.writes.expect_create().times(1).returning(|_| {
            Err(CreateUserError::Store(StoreError::Unavailable(
                anyhow::anyhow!("locked"),
            )))
        });

        let r = m.service(PasswordPolicy::DEFAULT).add(ann()).await;

        let Err(AddUserError::Failure(Failure::Unexpected(e))) = r else {
            panic!("{r:?}");
        };
        assert!(
            format!("{e:#}").starts_with("the database is unavailable"),
            "the line `user add` prints says why: {e:#}"
        );
    }

    #[tokio::test]
    async fn an_overloaded_hasher_is_unexpected_and_nothing_is_stored() {
        let mut m = Mocks::new();
        m.hasher.expect_hash().times(1).returning(|_| {
            Err(HashError::Overloaded {
                retry_after_seconds: 3,
            })
        });
        m.writes.expect_create().never();

        let r = m.service(PasswordPolicy::DEFAULT).add(ann()).await;

        assert!(
            matches!(r, Err(AddUserError::Failure(Failure::Unexpected(_)))),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn a_new_user_is_stored_with_the_hashed_password_and_returned() {
        let mut m = Mocks::new().hashing();
        m.writes
            .expect_create()
            .withf(|u| *u == expected_new_user())
            .times(1)
            .returning(|u| Ok(u.into_user()));

        let user = m.service(PasswordPolicy::DEFAULT).add(ann()).await.unwrap();

        assert_eq!(user.id, UserId::from_random_bytes([5; 16]));
        assert_eq!(user.username_str(), "Ann");
        assert_eq!(user.status, UserStatus::Active);
        assert_eq!(user.password_hash, Some(PasswordHash::new(HASH.into())));
        assert_ne!(
            user.password_hash.as_ref().map(PasswordHash::expose),
            Some(STRONG),
            "never the clear password"
        );
    }
}
