//! The one connection type, and the few places where the backends differ.
//!
//! [`DbConn`] is diesel's `MultiConnection` over `PgConnection` and
//! `SqliteConnection`: every query in the aggregate modules is written once
//! against it. What cannot be written once is here, each a `match` on the
//! variant so the difference stays visible:
//!
//! - how a write transaction starts ([`write_tx`]: `BEGIN IMMEDIATE` on
//!   SQLite, so a read-then-write transaction never fails on lock upgrade);
//! - how a key is serialised across instances ([`lock_key`]:
//!   `pg_advisory_xact_lock` on the key's 64-bit hash on PostgreSQL;
//!   SQLite's single writer already serialises);
//! - how due outbox rows are locked ([`due_outbox_ids`]: `FOR UPDATE SKIP
//!   LOCKED` on PostgreSQL);
//! - how a connection is opened ([`Manager`]: the backend comes from the URL
//!   scheme, never from trying one driver after the other, and SQLite gets
//!   its pragmas).
//!
//! - how the hot reads run ([`load`]: on the backend's own connection,
//!   which caches their prepared statements by type).
//!
//! `RETURNING` works on both (SQLite ≥ 3.35, bundled) and needs no case here.

use super::schema::{outbox, users};
use super::{DatabaseUrl, DbError};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConn {
    /// PostgreSQL.
    Pg(PgConnection),
    /// SQLite.
    Sqlite(SqliteConnection),
}

/// Opens connections for the pool, for the backend the URL names. Its
/// `Debug` (shown by the pool's) is the URL's, which hides a password.
#[derive(Debug)]
pub(crate) struct Manager {
    url: DatabaseUrl,
}

impl Manager {
    pub(crate) fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

/// `cache_size = -512`: 512 KiB of page cache per connection instead of
/// SQLite's 2 MiB, so a pool of 8 holds at most 4 MiB of the RSS (pages
/// beyond it are read back from the kernel's page cache, which the server's
/// RSS does not count).
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                              PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                              PRAGMA cache_size = -512;";

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConn::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                let mut c = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                c.batch_execute(SQLITE_PRAGMAS)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || LOST.with(|lost| lost.replace(false)) || conn.is_broken()
    }
}

thread_local! {
    /// Set by [`mark_lost`] just before a pooled connection that lost its
    /// server is handed back (on the same thread: r2d2 asks
    /// [`Manager::has_broken`] synchronously in the guard's `drop`), so
    /// that the pool discards it instead of handing it to the next request
    /// (diesel only counts a connection broken inside a failed transaction,
    /// and libpq's state is not reachable through diesel).
    static LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The connection about to be handed back on this thread lost its server:
/// the pool drops it (see [`LOST`]).
pub(crate) fn mark_lost() {
    LOST.with(|lost| lost.set(true));
}

/// Loads `query` on the backend's own connection. The query value is
/// written once; only the call is made twice. For the reads on every
/// request's path (`GET /api/init`): a statement run through the
/// `MultiConnection` has its SQL text rebuilt on every execution (diesel
/// builds it while collecting the binds), which cost init about a sixth of
/// its rate on SQLite; the backend's own connection finds the prepared
/// statement by the query's type, as before.
pub(crate) fn load<'q, Q, U>(conn: &mut DbConn, query: Q) -> QueryResult<Vec<U>>
where
    Q: RunQueryDsl<PgConnection>
        + RunQueryDsl<SqliteConnection>
        + diesel::query_dsl::LoadQuery<'q, PgConnection, U>
        + diesel::query_dsl::LoadQuery<'q, SqliteConnection, U>,
{
    match conn {
        DbConn::Pg(c) => RunQueryDsl::<PgConnection>::load(query, c),
        DbConn::Sqlite(c) => RunQueryDsl::<SqliteConnection>::load(query, c),
    }
}

/// The columns of a `Selectable` row, as one expression for both backends
/// (`as_select()` is tied to one backend; these columns are not), for
/// queries run through [`load`].
pub(crate) fn columns<T: Selectable<diesel::sqlite::Sqlite>>() -> T::SelectExpression {
    T::construct_selection()
}

/// Runs `f` in a write transaction: committed when it returns `Ok`, rolled
/// back otherwise.
pub(crate) fn write_tx<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
) -> Result<T, DbError> {
    // Never nested: on PostgreSQL a nested call would silently become a
    // savepoint, on SQLite it would fail; every write is one transaction.
    let depth = match conn {
        DbConn::Pg(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
        DbConn::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
    };
    if depth.is_some() {
        return Err(DbError::Corrupt(
            "a write transaction was started inside another".to_owned(),
        ));
    }
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
    }
    match f(conn) {
        // A failed COMMIT is rolled back by diesel itself (or the connection
        // is marked broken and dropped by the pool).
        Ok(value) => commit(conn).map(|()| value).map_err(DbError::from),
        Err(e) => {
            // The error that ended the transaction is the one to report.
            let _ = rollback(conn);
            Err(e)
        }
    }
}

fn commit(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::commit_transaction(c),
        DbConn::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
    }
}

fn rollback(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
        DbConn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
    }
}

/// The advisory-lock id of `key`: its 64-bit FNV-1a hash, computed here
/// (not by the server) so that a change set can take its locks sorted by
/// the very ids the server locks, and so every instance agrees.
pub(crate) fn lock_id(key: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Serialises writers of `key` until the transaction ends.
pub(crate) fn lock_key(conn: &mut DbConn, key: &str) -> Result<(), DbError> {
    lock_id_now(conn, lock_id(key), lock_deadline())
}

/// When a transaction that starts taking its locks now must have them all
/// ([`TRY_LOCK_FOR`] from now: one bound per transaction, not per lock).
pub(crate) fn lock_deadline() -> std::time::Instant {
    std::time::Instant::now() + TRY_LOCK_FOR
}

diesel::define_sql_function! {
    /// PostgreSQL's non-waiting advisory lock, held until the transaction ends.
    fn pg_try_advisory_xact_lock(key: BigInt) -> diesel::sql_types::Bool;
}

/// How long a write retries an advisory lock that another instance holds
/// before it is refused as contended ([`DbError::Contended`]). This
/// instance's own writers of the key already queue at its gate (`gate`),
/// so only another instance's short transaction can hold it here.
const TRY_LOCK_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// Takes the advisory lock `id` until the transaction ends. A caller taking
/// several takes them in ascending order, so two transactions never wait on
/// each other's locks. On PostgreSQL the lock is tried, not waited for: a
/// lock held elsewhere is tried again after 1, 2, 4 … 32 ms until
/// `deadline` (see [`lock_deadline`]), then the write is refused as
/// contended.
pub(crate) fn lock_id_now(
    conn: &mut DbConn,
    id: i64,
    deadline: std::time::Instant,
) -> Result<(), DbError> {
    match conn {
        DbConn::Pg(c) => {
            let mut pause = std::time::Duration::from_millis(1);
            while !diesel::select(pg_try_advisory_xact_lock(id)).get_result::<bool>(c)? {
                if std::time::Instant::now() + pause > deadline {
                    return Err(DbError::Contended);
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(32));
            }
        }
        // BEGIN IMMEDIATE already holds the database's only write lock.
        DbConn::Sqlite(_) => {}
    }
    Ok(())
}

/// Locks the row of the user while it is a placeholder, until the
/// transaction ends (PostgreSQL: `FOR UPDATE`, which waits for, and then
/// blocks, any transaction inserting a row that references it), so a check
/// made after it sees every such row committed; whether it is a stored
/// placeholder. A transaction takes these row locks before it touches any
/// membership row of the placeholder (`changes::apply` takes those of its
/// set first, the purge those of its project's placeholders, sorted), so
/// two transactions never wait on a placeholder's row and a membership row
/// in opposite orders.
pub(crate) fn lock_placeholder_row(conn: &mut DbConn, user_id: &str) -> Result<bool, DbError> {
    // Only a placeholder's row: an account's row is never locked here, so
    // a deletion or update of the account cannot wait on it in the other
    // order.
    let found = users::table
        .find(user_id)
        .filter(users::status.eq(accountd_domain::UserStatus::Invited.as_str()))
        .select(users::id);
    let ids: Vec<String> = match conn {
        DbConn::Pg(c) => found.for_update().load(c)?,
        // The write transaction already excludes every other writer.
        DbConn::Sqlite(c) => found.load(c)?,
    };
    Ok(!ids.is_empty())
}

/// Ids of due, unleased outbox rows, locked for this transaction.
pub(crate) fn due_outbox_ids(conn: &mut DbConn, now: i64, limit: i64) -> Result<Vec<i64>, DbError> {
    let due = outbox::table
        .select(outbox::id)
        .filter(outbox::state.eq("pending"))
        .filter(outbox::next_attempt_at.le(now))
        .filter(
            outbox::lease_until
                .is_null()
                .or(outbox::lease_until.le(now)),
        )
        .order(outbox::id)
        .limit(limit);
    Ok(match conn {
        DbConn::Pg(c) => due.for_update().skip_locked().load(c)?,
        // The write transaction already excludes every other claimer.
        DbConn::Sqlite(c) => due.load(c)?,
    })
}

/// Runs the embedded migrations of the connection's backend, then the
/// caseless key refold (see `fold.rs`); on PostgreSQL both serialised
/// across instances by an advisory lock.
pub(crate) fn migrate(conn: &mut DbConn) -> Result<(Vec<String>, super::fold::Refolded), String> {
    use diesel_migrations::MigrationHarness;
    fn versions(v: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }
    if let DbConn::Pg(c) = conn {
        c.batch_execute("SELECT pg_advisory_lock(7291530001)")
            .map_err(|e| e.to_string())?;
    }
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(super::PG_MIGRATIONS).map(versions),
        DbConn::Sqlite(c) => c
            .run_pending_migrations(super::SQLITE_MIGRATIONS)
            .map(versions),
    }
    .map_err(|e| e.to_string())
    .and_then(|applied| {
        super::fold::refold(conn)
            .map(|refolded| (applied, refolded))
            .map_err(|e| format!("cannot recompute the caseless keys: {e}"))
    });
    if let DbConn::Pg(c) = conn {
        let _ = c.batch_execute("SELECT pg_advisory_unlock(7291530001)");
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_transaction_is_never_nested_and_rolls_back_on_error() {
        let mut conn = DbConn::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        conn.batch_execute("CREATE TABLE t (x INTEGER)").unwrap();
        let nested = write_tx(&mut conn, |c| write_tx(c, |_| Ok(())));
        assert!(matches!(nested, Err(DbError::Corrupt(_))), "{nested:?}");
        // The outer one was rolled back and the connection is usable again.
        let failed: Result<(), DbError> = write_tx(&mut conn, |c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            Err(DbError::Corrupt("stop".to_owned()))
        });
        assert!(failed.is_err());
        write_tx(&mut conn, |c| {
            Ok(c.batch_execute("INSERT INTO t VALUES (2)")?)
        })
        .unwrap();
        let rows: i64 = diesel::select(diesel::dsl::sql::<BigInt>("(SELECT count(*) FROM t)"))
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(rows, 1, "only the committed row");
    }

    #[test]
    fn lock_ids_are_the_fnv_1a_hash_of_the_key() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(lock_id("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(lock_id("a") as u64, 0xaf63_dc4c_8601_ec8c);
        assert_ne!(lock_id("user:1"), lock_id("user:2"));
    }
}
