//! The traits accountd's core needs from the outside world.
//!
//! What belongs here: one trait per outside capability (the reads of users,
//! challenges and projects; [`Changes`], the one transactional write of
//! every use case; the outbox, the rate limiter and login throttle, the
//! mailer, the clock, randomness, password hashing), each method documenting
//! the error an adapter must return when; and the small error types of that
//! contract.
//!
//! What must not: implementations (they live in `accountd-adapters`) or
//! business rules (in `accountd-domain` and `accountd-app`). With the
//! `mock` feature every trait gets a mockall mock (`MockUserRepository`, …).

use accountd_domain::{
    Challenge, ChallengeId, ChangeSet, CodeMac, Conflict, Email, EmailRevert, Membership,
    OutgoingMail, Password, PasswordHash, Project, ProjectId, ProjectView, Purpose, Timestamp,
    User, UserId,
};
use async_trait::async_trait;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached in time (pool exhausted, connection
    /// refused, locked for too long): the caller answers 503.
    #[error("the database is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The write waited its bound for a key that other requests hold (a
    /// flood aimed at one account): nothing was written; the caller answers
    /// 429 with `Retry-After`.
    #[error("contended: try again in {retry_after_seconds} s")]
    Contended {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
    /// Anything else: the caller answers 500 and logs the cause chain.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Reading users (written through [`Changes`]).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// The user whose username equals `username` case-insensitively, in any
    /// status; `Ok(None)` when there is none.
    async fn find_by_username_ci(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// The user with this gid, in any status.
    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The users with these gids that are stored, in any status, sorted by
    /// gid, each once (duplicates and unknown gids are skipped).
    async fn get_many(&self, ids: &[UserId]) -> Result<Vec<User>, StoreError>;

    /// Every user, in any status, with this address among theirs (compared
    /// case-insensitively), oldest first.
    async fn find_by_email(&self, email: &Email) -> Result<Vec<User>, StoreError>;

    /// The revert token of an email change whose MAC
    /// (`EmailRevert::token_mac`) is `token_mac`, spent or not, expired or
    /// not, as long as it is stored; `Ok(None)` when there is none (never
    /// issued, or purged).
    async fn find_email_revert(
        &self,
        token_mac: CodeMac,
    ) -> Result<Option<EmailRevert>, StoreError>;
}

/// Reading challenges, and counting failed tries (the rest of a
/// challenge's life is written through [`Changes`]).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ChallengeRepository: Send + Sync {
    /// The most recently issued challenge with this purpose carrying this
    /// subject key, in any state; `Ok(None)` when none was ever issued.
    /// An open one, if any, counts as the most recent.
    async fn latest(
        &self,
        purpose: Purpose,
        subject_key: &str,
    ) -> Result<Option<Challenge>, StoreError>;

    /// The challenge of this purpose whose lookup MAC (the MAC of the
    /// validation code its caller holds) is `lookup`, in any state.
    async fn find_by_lookup(
        &self,
        purpose: Purpose,
        lookup: CodeMac,
    ) -> Result<Option<Challenge>, StoreError>;

    /// Counts one failed try, atomically and only while the challenge is
    /// open at `now` (stored state open, failures below the maximum, not
    /// expired): a conditional update, so that parallel requests on any
    /// number of instances count exactly. Returns the new failure count, or
    /// `Ok(None)` when the condition did not hold (the caller reloads to
    /// learn why; every such condition is final).
    async fn record_failure(
        &self,
        id: ChallengeId,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError>;
}

/// What applying a change set came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Every change was applied and the mail queued, in one transaction.
    Committed,
    /// A guard no longer held (a parallel request won): nothing was
    /// applied, the mail included.
    Refused(Conflict),
}

/// The one write of every use case.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Changes: Send + Sync {
    /// Applies every change of `changes`, in order, and queues its mail in
    /// the outbox, in one transaction judged at `now` (waking the mail
    /// dispatcher after commit). Each change's guard is checked with the
    /// write itself (a conditional update, a unique index), so parallel
    /// requests on any number of instances are exact: when one no longer
    /// holds, everything is undone and the answer is
    /// [`Applied::Refused`] with the conflict the change documents
    /// (`accountd_domain::Change`). An adapter decides no rule and reads
    /// no clock.
    async fn apply(&self, changes: ChangeSet, now: Timestamp) -> Result<Applied, StoreError>;
}

/// Reading projects and memberships (written through [`Changes`]).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProjectRepository: Send + Sync {
    /// Every project `user` is an active or invited member of, with the
    /// user's own row and the owner's row (when it is someone else's),
    /// ordered by project name then gid.
    async fn views_for(&self, user: UserId) -> Result<Vec<ProjectView>, StoreError>;

    /// The gid of every project `user` owns, in any status (a soft-deleted
    /// project counts until it is purged), sorted by gid; empty when there
    /// is none or no such user.
    async fn owned_by(&self, user: UserId) -> Result<Vec<ProjectId>, StoreError>;

    /// Every project in which both `viewer` and `other` have a membership
    /// row (any status, any project status), each with `viewer`'s row then
    /// `other`'s, ordered by project gid; empty when they share none (or
    /// either is unknown). With `viewer == other`, each project the user
    /// has a row in, with that row twice.
    async fn shared_rows(
        &self,
        viewer: UserId,
        other: UserId,
    ) -> Result<Vec<(Project, Membership, Membership)>, StoreError>;

    /// The project, in any status; `None` when there is no such project.
    async fn get(&self, project: ProjectId) -> Result<Option<Project>, StoreError>;

    /// Every membership row of the project, in any status, sorted by user
    /// gid; empty for an unknown project.
    async fn rows_of(&self, project: ProjectId) -> Result<Vec<Membership>, StoreError>;
}

pub use accountd_domain::Limit;

/// A rate-limit verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Allowed, and counted.
    Allowed,
    /// Refused (and not counted); try again after this many seconds.
    Limited {
        /// Seconds until the oldest hit in the full window leaves it.
        retry_after_seconds: i64,
    },
}

/// Sliding-window rate limits kept in the database, exact across instances.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Atomically (serialised per key, across instances): when every limit
    /// still has room at `now`, records one hit under `key` and answers
    /// `Allowed`; otherwise records nothing and answers `Limited`.
    async fn hit(
        &self,
        key: &str,
        limits: &[Limit],
        now: Timestamp,
    ) -> Result<RateDecision, StoreError>;
}

/// Failed logins per key (the login soft lock), kept in the database so the
/// lock holds across instances.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Atomically, serialised per `key` across instances: lists the
    /// failures recorded under `key` after `since` (oldest first) and
    /// records this attempt at `now` as a failure, returning its id with
    /// the earlier failures. Parallel attempts therefore each see the ones
    /// before them. Entries older than a day may be pruned.
    async fn begin(
        &self,
        key: &str,
        now: Timestamp,
        since: Timestamp,
    ) -> Result<(i64, Vec<Timestamp>), StoreError>;
    /// Removes the attempt `id` recorded by `begin` (it turned out not to
    /// be a failure: refused by the lock, or not checked at all).
    async fn forget(&self, id: i64) -> Result<(), StoreError>;
    /// Forgets every failure under `key` (a successful login).
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}

/// A message claimed from the outbox for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Outbox row id.
    pub id: i64,
    /// The message.
    pub mail: OutgoingMail,
    /// Delivery attempts made before this one.
    pub attempts: u32,
    /// The claim this dispatcher holds on it: every later mark is fenced
    /// by it.
    pub lease: Lease,
}

/// One claim of one outbox row: the dispatcher that holds it and the
/// claim's number on that row (a fencing token: every claim of the row
/// takes the next one). A dispatcher whose lease lapsed and was taken over
/// by another, or by itself again, no longer matches and can mark nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The claiming dispatcher (unique per process).
    pub owner: String,
    /// The claim's number on the row.
    pub id: i64,
}

/// The dispatcher's side of the outbox.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OutboxRepository: Send + Sync {
    /// Claims up to `limit` pending messages due at `now` whose lease is free
    /// or lapsed, leasing them to `owner` until `lease_until`. Two
    /// dispatchers never claim the same row at once (`FOR UPDATE SKIP
    /// LOCKED` on PostgreSQL, a write transaction on SQLite).
    async fn claim(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError>;

    /// Marks the message sent and erases its body, if `lease` is still the
    /// row's (its owner and id, the row still pending). Returns whether it
    /// was: `false` changes nothing (another claim took the row over, or
    /// it is finished).
    async fn mark_sent(&self, id: i64, lease: &Lease, now: Timestamp) -> Result<bool, StoreError>;

    /// Gives the message up (expired code, or too many attempts), erasing
    /// its body; `reason` is stored (it never holds a code). Fenced by
    /// `lease` as [`OutboxRepository::mark_sent`] is.
    async fn mark_dead(
        &self,
        id: i64,
        lease: &Lease,
        now: Timestamp,
        reason: &str,
    ) -> Result<bool, StoreError>;

    /// Releases the lease and schedules another attempt at
    /// `next_attempt_at`. Fenced by `lease` as
    /// [`OutboxRepository::mark_sent`] is.
    async fn retry_later(
        &self,
        id: i64,
        lease: &Lease,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<bool, StoreError>;
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying (connection refused, 4xx reply, timeout).
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    /// Not worth retrying (5xx reply, invalid recipient).
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Sends one message now.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers `mail`, or says whether a retry is worth it.
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// Why the hasher did not answer.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The bounded queue in front of the hash pool is full: answer 503 with
    /// `Retry-After`.
    #[error("the password hasher is overloaded")]
    Overloaded {
        /// Suggested wait.
        retry_after_seconds: i64,
    },
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Password hashing on a bounded pool off the async executor.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a policy-checked password.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Checks `candidate` against `hash`; with `hash` `None` (unknown user)
    /// verifies against a dummy hash of the same cost and answers `false`,
    /// taking the same time.
    async fn verify(&self, candidate: &str, hash: Option<PasswordHash>) -> Result<bool, HashError>;
}

/// What a valid session token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    /// The user (`sub`).
    pub user: UserId,
    /// The user's credential version when the token was issued (`ver`).
    pub version: i64,
    /// The time of the last credential proof (`auth_time`), copied
    /// unchanged on renewal; `None` for tokens issued before the claim
    /// existed (they count as not recent).
    pub auth_time: Option<Timestamp>,
}

/// Why a token was refused or not issued.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Malformed, badly signed, another algorithm, wrong issuer or audience.
    #[error("invalid token")]
    Invalid,
    /// Past its `exp`.
    #[error("expired token")]
    Expired,
    /// Signing failed.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Session tokens (JWT). Verification pins the algorithm: a token's own
/// `alg` choice (including `none`) is never trusted.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TokenService: Send + Sync {
    /// A fresh token for `user` at credential `version`, issued at `now`,
    /// carrying `auth_time` (the last credential proof; `None` keeps a
    /// token that never had one without it).
    fn issue(
        &self,
        user: UserId,
        version: i64,
        auth_time: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<String, TokenError>;
    /// The claims of a valid, unexpired token.
    fn verify(&self, token: &str, now: Timestamp) -> Result<TokenClaims, TokenError>;
}

/// A public signing key as published in the JWKS
/// (`GET /.well-known/jwks.json`): an Ed25519 key as an RFC 8037 OKP JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    /// The key id that tokens signed with it carry in `kid`.
    pub kid: String,
    /// The 32-byte public key, base64url without padding (the JWK's `x`).
    pub x: String,
}

/// The public keys other services verify tokens with.
pub trait PublishedKeys: Send + Sync {
    /// Every key whose tokens may still be valid now, oldest first.
    fn published(&self) -> Vec<PublishedKey>;
}

/// No published keys (HS256 tokens: the key is a secret).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPublishedKeys;

impl PublishedKeys for NoPublishedKeys {
    fn published(&self) -> Vec<PublishedKey> {
        Vec::new()
    }
}

/// Whether the service's storage answers (`/health/ready`).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// `Ok` when the database answers a trivial query.
    async fn ready(&self) -> Result<(), StoreError>;
}

/// The current time.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// Randomness from the operating system.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Random: Send + Sync {
    /// A uniform value in `low..=high` (no modulo bias).
    fn uniform(&self, low: u32, high: u32) -> u32;
    /// 16 random bytes (ids).
    fn bytes16(&self) -> [u8; 16];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mock_builds_and_answers_what_it_is_told() {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(Timestamp::from_millis(42));
        assert_eq!(clock.now(), Timestamp::from_millis(42));

        let mut random = MockRandom::new();
        random.expect_uniform().return_const(7u32);
        assert_eq!(random.uniform(0, 9), 7);

        let _ = (
            MockUserRepository::new(),
            MockChallengeRepository::new(),
            MockRateLimiter::new(),
            MockOutboxRepository::new(),
            MockMailer::new(),
            MockPasswordHasher::new(),
            MockHealthCheck::new(),
            MockTokenService::new(),
            MockProjectRepository::new(),
            MockLoginThrottle::new(),
            MockChanges::new(),
        );
    }

    #[tokio::test]
    async fn an_async_mock_returns_its_expectation() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_username_ci().returning(|_| Ok(None));
        assert!(users.find_by_username_ci("ann").await.unwrap().is_none());
    }
}
