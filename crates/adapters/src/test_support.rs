//! Per-test databases, for this crate's tests and the end-to-end tests.
//!
//! Every test gets its own database: a fresh SQLite file in a temporary
//! folder, or a fresh PostgreSQL database created under `TEST_DATABASE_URL`
//! and dropped (with `FORCE`) when the [`TestDb`] is dropped. Without
//! `TEST_DATABASE_URL` the PostgreSQL variants are skipped, except under CI
//! (`CI` set), where a missing PostgreSQL is an error: CI must run them.

#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stderr
)]

use crate::{Database, DatabaseUrl};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;
use std::time::Duration;

/// The outbox key of [`TestDb::open`]'s databases.
pub const TEST_OUTBOX_KEY: [u8; 32] = [0x5a; 32];

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    /// The URL to give `ACCOUNTD_DATABASE_URL`.
    pub url: String,
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh SQLite file.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("accountd.db").display());
        Self {
            url,
            admin: None,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` when `TEST_DATABASE_URL` is
    /// unset (outside CI).
    pub fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            if std::env::var_os("CI").is_some() {
                panic!("TEST_DATABASE_URL must be set under CI: the PostgreSQL tests must run");
            }
            eprintln!("TEST_DATABASE_URL unset: skipping a PostgreSQL test");
            return None;
        };
        let name = format!("accountd_test_{:032x}", rand::random::<u128>());
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("cannot reach TEST_DATABASE_URL: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        let url = with_database(&admin_url, &name);
        Some(Self {
            url,
            admin: Some((admin_url, name)),
            _dir: None,
        })
    }

    /// Both backends: SQLite always, PostgreSQL when available.
    pub fn both() -> Vec<Self> {
        let mut v = vec![Self::sqlite()];
        v.extend(Self::postgres());
        v
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        if self.admin.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Ends every server-side session on this PostgreSQL test database
    /// (`pg_terminate_backend`), as a server restart or a failover would,
    /// and returns how many were ended; 0 on SQLite.
    pub fn terminate_backends(&self) -> usize {
        use diesel::sql_types::{BigInt, Text};
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Ended {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let Some((admin_url, name)) = &self.admin else {
            return 0;
        };
        let mut admin = PgConnection::establish(admin_url).expect("reach TEST_DATABASE_URL");
        let ended: Ended = diesel::sql_query(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n \
             FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind::<Text, _>(name)
        .get_result(&mut admin)
        .expect("terminate the backends");
        usize::try_from(ended.n).unwrap_or_default()
    }

    /// The database's URL (on PostgreSQL, for a connection of its own).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `sql` (several statements may follow each other) on this test
    /// database directly, outside the adapter: for rows in a form the
    /// adapter no longer writes (e.g. keys written before a migration).
    pub fn execute(&self, sql: &str) {
        use diesel::sqlite::SqliteConnection;
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            let mut c = SqliteConnection::establish(path).expect("open the SQLite test database");
            c.batch_execute(sql).expect("run the SQL");
        } else {
            let mut c =
                PgConnection::establish(&self.url).expect("reach the PostgreSQL test database");
            c.batch_execute(sql).expect("run the SQL");
        }
    }

    /// A migrated [`Database`] on this test database.
    pub async fn open(&self, pool_size: u32) -> Database {
        self.open_with(pool_size, Duration::from_secs(10)).await
    }

    /// [`TestDb::open`] with another pool checkout timeout.
    pub async fn open_with(&self, pool_size: u32, checkout_timeout: Duration) -> Database {
        let url = DatabaseUrl::parse(&self.url).expect("test URL");
        let db = Database::open(&url, pool_size, checkout_timeout)
            .expect("open")
            .with_outbox_key(&TEST_OUTBOX_KEY);
        db.migrate().await.expect("migrate");
        db
    }
}

/// `admin_url` with its database name replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.admin {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// The advisory-lock id a write takes for `key` (`rate:<key>` for a
/// rate-limit or login-throttle key), for a test that holds it from a
/// connection of its own, as another instance would.
pub fn advisory_lock_id(key: &str) -> i64 {
    crate::db::lock_id_for_tests(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_replaces_the_admin_one_and_keeps_parameters() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
