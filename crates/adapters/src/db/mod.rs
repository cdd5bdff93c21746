//! diesel + r2d2 on PostgreSQL or SQLite, chosen from the URL scheme.
//!
//! One file per aggregate (`users`, `challenges`, `projects`, `outbox`,
//! `limits`, `housekeeping`, `email_reverts`, `audit`; `changes` applies a use case's change set), each holding that aggregate's port
//! implementations and one plain function per query over `conn::DbConn`,
//! diesel's `MultiConnection` of the two backends: every SQL text is written
//! once. The few real differences between the backends live in `conn.rs`.
//! Every call runs on tokio's blocking pool, never on an async worker.

mod audit;
mod challenges;
mod changes;
mod conn;
mod email_reverts;
mod fold;
mod gate;
mod housekeeping;
mod jwt_keys;
mod limits;
mod outbox;
mod projects;
mod rows;
mod schema;
mod seal;
mod users;

use accountd_domain::Timestamp;
use accountd_ports::StoreError;
use conn::{DbConn, Manager};
use diesel::r2d2::Pool;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

pub use audit::{AuditFilter, AuditRecord};
pub use fold::{CollidingAccount, CollidingAddress, Refolded};

/// What [`Database::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// The migration versions applied by this run.
    pub applied: Vec<String>,
    /// The caseless key refold, and the collisions it lists.
    pub refolded: Refolded,
}
pub use housekeeping::{PurgeBefore, Purged};
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
    /// A change set's guard did not hold; the transaction is rolled back.
    #[error("a change set's guard did not hold: {0:?}")]
    Conflict(accountd_domain::Conflict),
    /// A write waited longer than its bound for a key another request
    /// holds (this instance's gate, or the database lock of another
    /// instance): refused, nothing written (see `gate`).
    #[error("waited too long for a lock")]
    Contended,
}

impl DbError {
    fn is_foreign_key_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        )
    }

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

impl DbError {
    /// Whether the connection lost its server (killed backend, restart,
    /// network): libpq says `CONNECTION_BAD` (diesel's `ClosedConnection`),
    /// cannot send (`UnableToSendCommand`: "no connection to the server"),
    /// or the server said it is terminating the session (SQLSTATE 57P01..3,
    /// class 08). Such a connection must not go back into the pool.
    fn is_connection_lost(&self) -> bool {
        use diesel::result::DatabaseErrorKind as K;
        let query = match self {
            // A COMMIT that failed, then its ROLLBACK too: the connection is
            // as lost as the first error says.
            Self::Query(diesel::result::Error::RollbackErrorOnCommit { commit_error, .. }) => {
                commit_error.as_ref()
            }
            Self::Query(e) => e,
            _ => return false,
        };
        match query {
            diesel::result::Error::DatabaseError(kind, info) => {
                matches!(kind, K::ClosedConnection | K::UnableToSendCommand)
                    || info.message().contains("terminating connection")
                    || info.message().contains("server closed the connection")
                    || info.message().contains("no connection to the server")
            }
            _ => false,
        }
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        if matches!(e, DbError::Contended) {
            return Self::Contended {
                retry_after_seconds: 1,
            };
        }
        let unavailable = e.is_connection_lost()
            || match &e {
                DbError::Pool(_) => true,
                DbError::Query(diesel::result::Error::DatabaseError(kind, info)) => {
                    // A deadlock or serialisation failure (PostgreSQL 40P01,
                    // 40001) rolled nothing in: the client may simply retry.
                    matches!(
                        kind,
                        diesel::result::DatabaseErrorKind::SerializationFailure
                    ) || info.message().contains("database is locked")
                        || info.message().contains("deadlock detected")
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

/// Which backend a database URL names. `Debug` never shows a PostgreSQL
/// URL, which may hold a password.
#[derive(Clone, PartialEq, Eq)]
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
    /// The SQLite file or its folder could not be created (or narrowed to
    /// mode 0600).
    #[error("cannot create {path}: {source}")]
    CreateDir {
        /// The folder or the file.
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

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres(_) => f.write_str("Postgres(\"postgres://…\")"),
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
        }
    }
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

/// Creates the SQLite file `path` with mode 0600 before SQLite opens it
/// (SQLite creates its `-wal` and `-shm` files with the database file's
/// mode), and narrows an existing file, `-wal` and `-shm` to 0600: they
/// hold password hashes. Not for `:memory:`.
fn owner_only_files(path: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if path.as_os_str() == ":memory:" {
            return Ok(());
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = std::path::PathBuf::from(name);
            match std::fs::metadata(&file) {
                Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The outbox backlog (`accountd_outbox_pending` and
/// `accountd_outbox_oldest_pending_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// Messages waiting (state `pending`).
    pub pending: i64,
    /// When the oldest of them was queued; `None` when none waits.
    pub oldest_queued_at: Option<Timestamp>,
}

/// The database: a connection pool for one backend, implementing every
/// repository port. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool<Manager>,
    /// Since when connections of the pool are suspected dead.
    suspect: Arc<Suspect>,
    backend: &'static str,
    mail_queued: Arc<Notify>,
    /// Seals outbox bodies; without it no mail can be queued (see
    /// [`Database::with_outbox_key`]).
    seal: Option<seal::OutboxSeal>,
    /// Where writes wait for their keys, holding no connection.
    gates: Arc<gate::Gates>,
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
        let backend = match url {
            DatabaseUrl::Postgres(_) => "postgres",
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| ConnectError::CreateDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                owner_only_files(path).map_err(|source| ConnectError::CreateDir {
                    path: path.display().to_string(),
                    source,
                })?;
                "sqlite"
            }
        };
        let pool = Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(0))
            // Not validated on every checkout: that would add a round trip
            // to every query of every request. A PostgreSQL connection that
            // lost its server (a restart, `pg_terminate_backend`, a proxy's
            // idle timeout) fails its first statement; it is then dropped
            // (`conn::mark_lost`), the request answers 503, and for
            // `SUSPECT_FOR` every checkout is validated, so the other dead
            // connections of the pool are replaced before they serve (see
            // `checkout`). A SQLite file cannot go away under its connection.
            .test_on_check_out(false)
            .connection_timeout(checkout_timeout)
            .build_unchecked(Manager::new(url.clone()));
        Ok(Self {
            pool,
            suspect: Arc::new(Suspect::default()),
            backend,
            mail_queued: Arc::new(Notify::new()),
            seal: None,
            gates: Arc::new(gate::Gates::new(
                backend == "sqlite",
                checkout_timeout.min(GATE_WAIT),
            )),
        })
    }

    /// The key (`ServerSecret::outbox_key`) under which pending outbox
    /// bodies are sealed at rest and opened for delivery. Without one,
    /// queuing mail fails (closed) and claiming cannot open a sealed body.
    #[must_use]
    pub fn with_outbox_key(mut self, key: &[u8; 32]) -> Self {
        self.seal = Some(seal::OutboxSeal::new(key));
        self
    }

    /// `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Notified after every commit that queued mail: the dispatcher waits on it.
    pub fn mail_queued(&self) -> Arc<Notify> {
        Arc::clone(&self.mail_queued)
    }

    /// Applies pending migrations, then recomputes the caseless keys of
    /// rows written before them (both serialised across instances on
    /// PostgreSQL by an advisory lock); returns the versions applied and
    /// the accounts that collide under the caseless rule.
    pub async fn migrate(&self) -> Result<Migrated, ConnectError> {
        let pool = self.pool.clone();
        let run = move || -> Result<Migrated, String> {
            let mut c = pool.get().map_err(|e| e.to_string())?;
            let (applied, refolded) = conn::migrate(&mut c)?;
            Ok(Migrated { applied, refolded })
        };
        tokio::task::spawn_blocking(run)
            .await
            .map_err(|e| ConnectError::Migrate(e.to_string()))?
            .map_err(ConnectError::Migrate)
    }

    /// Answers when the database does (`/health/ready`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(housekeeping::ping).await
    }

    /// Removes what no rule needs any more, by the caller's cut-offs:
    /// rate-limit and login-failure entries, sent or dead outbox rows and
    /// expired challenges (with their keys). Run periodically by the server.
    pub async fn purge(&self, before: PurgeBefore) -> Result<Purged, StoreError> {
        self.write(&[], move |c| housekeeping::purge(c, before))
            .await
    }

    /// Up to `limit` audit rows matching `filter`, oldest first (by time,
    /// then id), after the row `after` (its time and id) when given: page
    /// on by passing the last row of the page before.
    pub async fn audit_events(
        &self,
        filter: AuditFilter,
        after: Option<&AuditRecord>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let after = after.map(|r| (r.time.as_millis(), r.id));
        self.run(move |c| audit::page(c, &filter, after, i64::from(limit)))
            .await
    }

    /// The EdDSA signing keys, opened with `seal_key`
    /// (`ServerSecret::jwt_signing_key_seal`), by `signs_from`; when there
    /// are none yet, a new key signing from `now` is created first (once,
    /// also when several instances start together).
    pub async fn jwt_signing_keys(
        &self,
        seal_key: &[u8; 32],
        now: Timestamp,
    ) -> Result<Vec<crate::jwt::SigningKeyRecord>, StoreError> {
        let seal = seal::SigningKeySeal::new(seal_key);
        let first = crate::jwt::SigningKeyRecord {
            key: crate::jwt::Ed25519Key::generate(),
            created_at: now,
            // Signing from the epoch: an instance whose clock is behind the
            // one that stored it must find it signing already.
            signs_from: Timestamp::from_millis(0),
        };
        self.write(&[conn::lock_id("jwt_keys")], move |c| {
            jwt_keys::load_or_create(c, &seal, &first)
        })
        .await
    }

    /// Adds a new EdDSA signing key, published from `now` and signing from
    /// `signs_from`, and deletes the keys retired `ttl_seconds` or more
    /// before `now`; answers the new key and the keys after the rotation.
    pub async fn rotate_jwt_signing_key(
        &self,
        seal_key: &[u8; 32],
        now: Timestamp,
        signs_from: Timestamp,
        ttl_seconds: i64,
    ) -> Result<
        (
            crate::jwt::SigningKeyRecord,
            Vec<crate::jwt::SigningKeyRecord>,
        ),
        StoreError,
    > {
        let seal = seal::SigningKeySeal::new(seal_key);
        let new = crate::jwt::SigningKeyRecord {
            key: crate::jwt::Ed25519Key::generate(),
            created_at: now,
            signs_from,
        };
        let stored = new.clone();
        let all = self
            .write(&[conn::lock_id("jwt_keys")], move |c| {
                jwt_keys::rotate(c, &seal, &stored, now, ttl_seconds)
            })
            .await?;
        Ok((new, all))
    }

    /// Messages waiting in the outbox.
    pub async fn outbox_pending(&self) -> Result<i64, StoreError> {
        self.run(outbox::pending).await
    }

    /// The outbox backlog for `/metrics`: messages waiting, and when the
    /// oldest of them was queued.
    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog, StoreError> {
        let (pending, oldest) = self.run(outbox::backlog).await?;
        Ok(OutboxBacklog {
            pending,
            oldest_queued_at: oldest.map(Timestamp::from_millis),
        })
    }

    /// The pool's connections for `/metrics`: (in use, idle).
    pub fn connections(&self) -> (u32, u32) {
        let state = self.pool.state();
        (
            state.connections.saturating_sub(state.idle_connections),
            state.idle_connections,
        )
    }

    /// The outbox row `id` exactly as stored, including the columns no port
    /// exposes (whether the body was erased, the lease, the last error).
    /// Only with the `test-support` feature, for the repository contract tests.
    #[cfg(feature = "test-support")]
    pub async fn outbox_snapshot(&self, id: i64) -> Result<Option<OutboxSnapshot>, StoreError> {
        self.run(move |c| outbox::snapshot(c, id)).await
    }

    /// Runs `f` on a pooled connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    {
        self.run_raw(f).await.map_err(StoreError::from)
    }

    /// [`Database::run_write`], with the port's error.
    async fn write<T, F>(&self, ids: &[i64], f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    {
        self.run_write(ids, f).await.map_err(StoreError::from)
    }

    /// [`Database::run`] for a write that takes the advisory locks `ids`
    /// (`conn::lock_id`): it first passes this instance's gates for them
    /// (and on SQLite the writer gate), holding no connection while it
    /// waits, so a queue behind one key never drains the pool.
    async fn run_write<T, F>(&self, ids: &[i64], f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    {
        let entered = self
            .gates
            .enter(ids)
            .await
            .map_err(|_| DbError::Contended)?;
        // Released by the blocking task when the write is over, not when
        // this future is: a request cancelled (its client left) while the
        // write runs keeps the next writer out until it has finished.
        self.run_raw(move |c| {
            let result = f(c);
            drop(entered);
            result
        })
        .await
    }

    /// [`Database::run`], keeping the adapter's error for callers that look
    /// at it (unique violations).
    async fn run_raw<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    {
        let (pool, suspect) = (self.pool.clone(), Arc::clone(&self.suspect));
        tokio::task::spawn_blocking(move || {
            let waiting = std::time::Instant::now();
            let c = checkout(&pool, &suspect);
            metrics::histogram!("accountd_db_wait_seconds").record(waiting.elapsed().as_secs_f64());
            let mut c = c?;
            let result = f(&mut c);
            if let Err(e) = &result {
                if e.is_connection_lost() {
                    // Dropped by the pool when `c` is handed back below,
                    // on this thread; its siblings are likely dead too.
                    conn::mark_lost();
                    suspect.since_now();
                }
            }
            drop(c);
            result
        })
        .await?
    }
}

/// `conn::lock_id`, for `test_support`.
#[cfg(feature = "test-support")]
pub(crate) fn lock_id_for_tests(key: &str) -> i64 {
    conn::lock_id(key)
}

/// The longest a write waits at the gates (bounded by the checkout
/// timeout too) before it is refused as contended.
const GATE_WAIT: Duration = Duration::from_secs(2);

/// How long after a lost connection every checkout is validated, in ms.
const SUSPECT_FOR_MS: u64 = 30_000;

/// When a connection of the pool was last found to have lost its server:
/// milliseconds since the pool's `origin`, plus one (0: never). Read on
/// every checkout, so an atomic load, not a lock.
#[derive(Debug)]
struct Suspect {
    origin: std::time::Instant,
    lost_at: std::sync::atomic::AtomicU64,
}

impl Default for Suspect {
    fn default() -> Self {
        Self {
            origin: std::time::Instant::now(),
            lost_at: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl Suspect {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn since_now(&self) {
        self.lost_at.store(
            self.elapsed_ms().saturating_add(1),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    fn now(&self) -> bool {
        match self.lost_at.load(std::sync::atomic::Ordering::Relaxed) {
            0 => false,
            at => self.elapsed_ms().saturating_sub(at - 1) < SUSPECT_FOR_MS,
        }
    }
}

/// A connection from `pool`: validated (`SELECT 1`) while the pool is
/// [`Suspect`], a dead one dropped and the next one tried, at most once per
/// connection the pool may hold.
fn checkout(
    pool: &Pool<Manager>,
    suspect: &Suspect,
) -> Result<diesel::r2d2::PooledConnection<Manager>, DbError> {
    let mut c = pool.get()?;
    if !suspect.now() {
        return Ok(c);
    }
    for _ in 0..pool.max_size() {
        if housekeeping::ping(&mut c).is_ok() {
            return Ok(c);
        }
        conn::mark_lost();
        drop(c);
        c = pool.get()?;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(kind: diesel::result::DatabaseErrorKind, message: &str) -> DbError {
        DbError::Query(diesel::result::Error::DatabaseError(
            kind,
            Box::new(message.to_owned()),
        ))
    }

    #[test]
    fn a_deadlock_or_serialisation_failure_is_unavailable_not_unexpected() {
        use diesel::result::DatabaseErrorKind as K;
        for e in [
            database_error(K::SerializationFailure, "could not serialize access"),
            database_error(K::Unknown, "deadlock detected"),
            database_error(K::Unknown, "database is locked"),
            database_error(K::ClosedConnection, "server closed the connection"),
            database_error(K::UnableToSendCommand, "no connection to the server"),
            database_error(
                K::Unknown,
                "terminating connection due to administrator command",
            ),
        ] {
            assert!(
                matches!(StoreError::from(e), StoreError::Unavailable(_)),
                "retryable"
            );
        }
        let other = database_error(K::Unknown, "syntax error at or near");
        assert!(matches!(StoreError::from(other), StoreError::Unexpected(_)));
    }

    #[test]
    fn a_pool_is_suspect_only_after_a_lost_connection() {
        let suspect = Suspect::default();
        assert!(!suspect.now(), "never lost: no validation");
        suspect.since_now();
        assert!(suspect.now(), "just lost: every checkout validated");
        // Lost long ago: the window has passed.
        let long_ago = Suspect::default();
        long_ago
            .lost_at
            .store(1, std::sync::atomic::Ordering::Relaxed);
        let origin = long_ago.origin;
        let aged = Suspect {
            origin: origin
                .checked_sub(Duration::from_secs(31))
                .unwrap_or(origin),
            lost_at: std::sync::atomic::AtomicU64::new(1),
        };
        assert!(!aged.now(), "31 s after the loss: no validation");
    }

    #[test]
    fn a_connection_lost_at_commit_is_unavailable_and_lost() {
        use diesel::result::DatabaseErrorKind as K;
        let lost = || {
            DbError::Query(diesel::result::Error::RollbackErrorOnCommit {
                commit_error: Box::new(diesel::result::Error::DatabaseError(
                    K::ClosedConnection,
                    Box::new("server closed the connection unexpectedly".to_owned()),
                )),
                rollback_error: Box::new(diesel::result::Error::BrokenTransactionManager),
            })
        };
        assert!(lost().is_connection_lost());
        assert!(matches!(
            StoreError::from(lost()),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn a_database_url_never_shows_its_password_in_debug() {
        let url = DatabaseUrl::parse("postgres://ann:hunter2@db.example/accountd").unwrap();
        let shown = format!("{url:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("ann"), "{shown}");
        let db = Database::open(&url, 1, Duration::from_secs(1)).unwrap();
        let pool = format!("{:?}", db.pool);
        assert!(!pool.contains("hunter2"), "{pool}");
        let sqlite = DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap();
        assert_eq!(format!("{sqlite:?}"), "Sqlite(\"/tmp/x.db\")");
    }
}
