//! diesel + r2d2 on PostgreSQL or SQLite, chosen from the URL scheme.
//!
//! Every call runs on tokio's blocking pool, never on an async worker. The
//! repositories implement the ports of `accountd-ports`; see `store.rs` for
//! how one body of SQL serves both backends.

mod rows;
mod schema;
mod store;

use accountd_domain::{
    Challenge, ChallengeEffect, ChallengeId, CodeMac, Email, Membership, NewUser, OutgoingMail,
    Project, ProjectView, Purpose, Timestamp, User, UserId,
};
use accountd_ports::{
    ChallengeRepository, ConsumeOutcome, CreateUserError, HealthCheck, Limit, LoginThrottle,
    OutboxRepository, ProjectRepository, QueuedMail, RateDecision, RateLimiter, StoreError,
    UserRepository,
};
use async_trait::async_trait;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
pub use store::Purged;
use store::{Store, StoredEffect};
use tokio::sync::Notify;

#[cfg(feature = "test-support")]
pub use rows::OutboxSnapshot;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// An adapter-internal database error, turned into a [`StoreError`] at the
/// port boundary.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl DbError {
    fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        let unavailable = match &e {
            DbError::Pool(_) => true,
            DbError::Query(diesel::result::Error::DatabaseError(kind, info)) => {
                matches!(kind, diesel::result::DatabaseErrorKind::ClosedConnection)
                    || info.message().contains("database is locked")
                    || info.message().contains("terminating connection")
            }
            _ => false,
        };
        let e = anyhow::Error::new(e).context("database");
        if unavailable {
            Self::Unavailable(e)
        } else {
            Self::Unexpected(e)
        }
    }
}

/// Which backend a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://…` or `postgresql://…`, passed to libpq as is.
    Postgres(String),
    /// `sqlite://PATH` (relative or absolute); the file is created if missing.
    Sqlite(PathBuf),
}

/// Why a database URL or connection was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Not `sqlite://` nor `postgres://`.
    /// The text is the scheme only: the rest may hold a password.
    #[error("must start with sqlite:// or postgres://, got {0:?}")]
    UnsupportedScheme(String),
    /// The SQLite file's folder could not be created.
    #[error("cannot create {path}: {source}")]
    CreateDir {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The pool could not be built.
    #[error("cannot open the database: {0}")]
    Pool(String),
    /// Migrations failed.
    #[error("migrations failed: {0}")]
    Migrate(String),
}

impl DatabaseUrl {
    /// Parses `ACCOUNTD_DATABASE_URL`.
    pub fn parse(url: &str) -> Result<Self, ConnectError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(ConnectError::UnsupportedScheme(
                    "sqlite:// without a path".to_owned(),
                ));
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else {
            let scheme = url.split_once("://").map_or("(no scheme)", |(s, _)| s);
            Err(ConnectError::UnsupportedScheme(format!("{scheme}://…")))
        }
    }
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

#[derive(Clone)]
enum Pools {
    Pg(Pool<ConnectionManager<PgConnection>>),
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
}

/// The database: a connection pool for one backend, implementing every
/// repository port. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pools: Pools,
    mail_queued: Arc<Notify>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Builds a pool of `size` connections without connecting yet (see
    /// [`Database::ping`]); `checkout_timeout` bounds how long a request
    /// waits for a connection before answering 503.
    pub fn open(
        url: &DatabaseUrl,
        size: u32,
        checkout_timeout: Duration,
    ) -> Result<Self, ConnectError> {
        let pools = match url {
            DatabaseUrl::Postgres(u) => Pools::Pg(
                Pool::builder()
                    .max_size(size.max(1))
                    .min_idle(Some(0))
                    // diesel notices broken connections itself; a validation
                    // query on every checkout would double the round trips.
                    .test_on_check_out(false)
                    .connection_timeout(checkout_timeout)
                    .build_unchecked(ConnectionManager::new(u)),
            ),
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| ConnectError::CreateDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                Pools::Sqlite(
                    Pool::builder()
                        .max_size(size.max(1))
                        .min_idle(Some(0))
                        // diesel notices broken connections itself; a validation
                        // query on every checkout would double the round trips.
                        .test_on_check_out(false)
                        .connection_timeout(checkout_timeout)
                        .connection_customizer(Box::new(SqlitePragmas))
                        .build_unchecked(ConnectionManager::new(path.to_string_lossy())),
                )
            }
        };
        Ok(Self {
            pools,
            mail_queued: Arc::new(Notify::new()),
        })
    }

    /// `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        match self.pools {
            Pools::Pg(_) => "postgres",
            Pools::Sqlite(_) => "sqlite",
        }
    }

    /// Notified after every commit that queued mail: the dispatcher waits on it.
    pub fn mail_queued(&self) -> Arc<Notify> {
        Arc::clone(&self.mail_queued)
    }

    /// Applies pending migrations (serialised across instances on
    /// PostgreSQL by an advisory lock) and returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<String>, ConnectError> {
        let pools = self.pools.clone();
        let run = move || -> Result<Vec<String>, String> {
            let applied = match &pools {
                Pools::Pg(p) => {
                    let mut c = p.get().map_err(|e| e.to_string())?;
                    c.batch_execute("SELECT pg_advisory_lock(7291530001)")
                        .map_err(|e| e.to_string())?;
                    let r = c
                        .run_pending_migrations(PG_MIGRATIONS)
                        .map(|v| v.iter().map(ToString::to_string).collect());
                    let _ = c.batch_execute("SELECT pg_advisory_unlock(7291530001)");
                    r
                }
                Pools::Sqlite(p) => {
                    let mut c = p.get().map_err(|e| e.to_string())?;
                    c.run_pending_migrations(SQLITE_MIGRATIONS)
                        .map(|v| v.iter().map(ToString::to_string).collect())
                }
            };
            applied.map_err(|e| e.to_string())
        };
        tokio::task::spawn_blocking(run)
            .await
            .map_err(|e| ConnectError::Migrate(e.to_string()))?
            .map_err(ConnectError::Migrate)
    }

    /// Answers when the database does (`/health/ready`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|s| s.ping()).await
    }

    /// Removes what no rule needs any more: rate-limit and login-failure
    /// entries older than a day (the longest window), sent or dead outbox
    /// rows finished more than a week ago, and challenges expired more than
    /// a day ago. Run periodically by the server.
    pub async fn purge(&self, now: Timestamp) -> Result<Purged, StoreError> {
        self.run(move |s| s.purge(now.as_millis())).await
    }

    /// Messages waiting in the outbox.
    pub async fn outbox_pending(&self) -> Result<i64, StoreError> {
        self.run(|s| s.outbox_pending()).await
    }

    /// The outbox row `id` exactly as stored, including the columns no port
    /// exposes (whether the body was erased, the lease, the last error).
    /// Only with the `test-support` feature, for the repository contract tests.
    #[cfg(feature = "test-support")]
    pub async fn outbox_snapshot(&self, id: i64) -> Result<Option<OutboxSnapshot>, StoreError> {
        self.run(move |s| s.outbox_snapshot(id)).await
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Store) -> Result<T, DbError> + Send + 'static,
    {
        self.run_raw(f).await.map_err(StoreError::from)
    }

    async fn run_raw<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Store) -> Result<T, DbError> + Send + 'static,
    {
        let pools = self.pools.clone();
        tokio::task::spawn_blocking(move || match &pools {
            Pools::Pg(p) => {
                let mut c = p.get()?;
                f(&mut *c)
            }
            Pools::Sqlite(p) => {
                let mut c = p.get()?;
                f(&mut *c)
            }
        })
        .await?
    }
}

#[async_trait]
impl HealthCheck for Database {
    async fn ready(&self) -> Result<(), StoreError> {
        self.ping().await
    }
}

#[async_trait]
impl UserRepository for Database {
    async fn find_by_username_ci(&self, username: &str) -> Result<Option<User>, StoreError> {
        let key = accountd_domain::Username::key_of(username);
        self.run(move |s| s.user_by_username_key(&key)).await
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let id = id.to_string();
        self.run(move |s| s.user_by_id(&id)).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Vec<User>, StoreError> {
        let key = email.key();
        self.run(move |s| s.users_by_email_key(&key)).await
    }

    async fn create(&self, user: NewUser) -> Result<User, CreateUserError> {
        let user = user.into_user();
        let stored = user.clone();
        match self.run_raw(move |s| s.insert_user(&stored)).await {
            Ok(()) => Ok(user),
            Err(e) if e.is_unique_violation() => Err(CreateUserError::UsernameTaken),
            Err(e) => Err(CreateUserError::Store(e.into())),
        }
    }
}

#[async_trait]
impl ChallengeRepository for Database {
    async fn issue(
        &self,
        challenge: Challenge,
        mails: Vec<OutgoingMail>,
    ) -> Result<(), StoreError> {
        let now = challenge.issued_at().as_millis();
        let queued = !mails.is_empty();
        self.run(move |s| s.issue_challenge(&challenge, &mails, now))
            .await?;
        if queued {
            self.mail_queued.notify_one();
        }
        Ok(())
    }

    async fn latest(
        &self,
        purpose: Purpose,
        subject_key: &str,
    ) -> Result<Option<Challenge>, StoreError> {
        let key = subject_key.to_owned();
        self.run(move |s| s.latest_challenge(purpose.as_str(), &key))
            .await
    }

    async fn find_by_lookup(
        &self,
        purpose: Purpose,
        lookup: CodeMac,
    ) -> Result<Option<Challenge>, StoreError> {
        self.run(move |s| s.challenge_by_lookup(purpose.as_str(), lookup.as_bytes()))
            .await
    }

    async fn record_failure(
        &self,
        id: ChallengeId,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError> {
        let id = id.to_string();
        self.run(move |s| s.record_failure(&id, now.as_millis()))
            .await
    }

    async fn consume(
        &self,
        id: ChallengeId,
        now: Timestamp,
        effect: ChallengeEffect,
        mails: Vec<OutgoingMail>,
    ) -> Result<ConsumeOutcome, StoreError> {
        let id = id.to_string();
        let creates_user = matches!(effect, ChallengeEffect::CreateUser(_));
        let effect = match effect {
            ChallengeEffect::SetPassword { user, hash } => StoredEffect::SetPassword {
                user_id: user.to_string(),
                hash: hash.expose().to_owned(),
                // Any password-reset code issued before the change is stale.
                purposes: vec![
                    Purpose::ForgotPassword.as_str().to_owned(),
                    Purpose::ResetPassword.as_str().to_owned(),
                ],
            },
            ChallengeEffect::CreateUser(user) => StoredEffect::CreateUser(user.into_user()),
        };
        let queued = !mails.is_empty();
        let result = self
            .run_raw(move |s| s.consume_challenge(&id, now.as_millis(), &effect, &mails))
            .await;
        match result {
            Ok(true) => {
                if queued {
                    self.mail_queued.notify_one();
                }
                Ok(ConsumeOutcome::Applied)
            }
            Ok(false) => Ok(ConsumeOutcome::NotOpen),
            // The insert failed inside the transaction: nothing was kept,
            // the challenge included.
            Err(e) if creates_user && e.is_unique_violation() => Ok(ConsumeOutcome::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl ProjectRepository for Database {
    async fn create(&self, project: Project, owner: Membership) -> Result<(), StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.run(move |s| s.insert_project(&project, &owner, now))
            .await
    }

    async fn save_membership(&self, membership: Membership) -> Result<(), StoreError> {
        self.run(move |s| s.save_membership(&membership)).await
    }

    async fn views_for(&self, user: UserId) -> Result<Vec<ProjectView>, StoreError> {
        let id = user.to_string();
        self.run(move |s| s.project_views(&id)).await
    }
}

#[async_trait]
impl RateLimiter for Database {
    async fn hit(
        &self,
        key: &str,
        limits: &[Limit],
        now: Timestamp,
    ) -> Result<RateDecision, StoreError> {
        let key = key.to_owned();
        let limits = limits.to_vec();
        self.run(move |s| s.rate_hit(&key, &limits, now.as_millis()))
            .await
    }
}

#[async_trait]
impl LoginThrottle for Database {
    async fn begin(
        &self,
        key: &str,
        now: Timestamp,
        since: Timestamp,
    ) -> Result<(i64, Vec<Timestamp>), StoreError> {
        let key = key.to_owned();
        // Entries older than a day no longer count (see Sessions::login).
        let (id, prior) = self
            .run(move |s| s.begin_event(&key, now.as_millis(), since.as_millis(), 86_400_000))
            .await?;
        Ok((id, prior.into_iter().map(Timestamp::from_millis).collect()))
    }

    async fn forget(&self, id: i64) -> Result<(), StoreError> {
        self.run(move |s| s.forget_event(id)).await
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.run(move |s| s.clear_events(&key)).await
    }
}

#[async_trait]
impl OutboxRepository for Database {
    async fn claim(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let owner = owner.to_owned();
        self.run(move |s| {
            s.outbox_claim(
                &owner,
                now.as_millis(),
                lease_until.as_millis(),
                i64::from(limit),
            )
        })
        .await
    }

    async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.run(move |s| s.outbox_finish(id, now.as_millis(), "sent", None))
            .await
    }

    async fn mark_dead(&self, id: i64, now: Timestamp, reason: &str) -> Result<(), StoreError> {
        let reason = reason.to_owned();
        self.run(move |s| s.outbox_finish(id, now.as_millis(), "dead", Some(&reason)))
            .await
    }

    async fn retry_later(
        &self,
        id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        self.run(move |s| s.outbox_retry(id, attempts, next_attempt_at.as_millis(), &error))
            .await
    }
}
