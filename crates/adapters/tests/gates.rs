//! Waiting without holding (security.md), on PostgreSQL, where another
//! instance can hold a key's advisory lock: a queue of writes behind one
//! key holds one connection of the pool, not one each, so reads go on; a
//! key held past the bound refuses the write as contended, writing
//! nothing. (SQLite has one writer: its gate is the adapter's unit tests'
//! and the contract's parallel tests'.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accountd_adapters::test_support::{advisory_lock_id, TestDb};
use accountd_adapters::Database;
use accountd_domain::Timestamp;
use accountd_ports::{Limit, RateDecision, RateLimiter, StoreError, UserRepository};
use accountd_testkit::{t as at, user_id};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use std::time::Duration;

const KEY: &str = "challenges:user:flooded";

fn limit(max: u32) -> [Limit; 1] {
    [Limit {
        max,
        window_seconds: 3600,
    }]
}

/// Holds `key`'s advisory lock from a connection of its own until dropped.
struct OtherInstance {
    _holding: PgConnection,
}

impl OtherInstance {
    fn holding(test_db: &TestDb, key: &str) -> Self {
        let mut c = PgConnection::establish(test_db.url()).unwrap();
        diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<BigInt, _>(advisory_lock_id(&format!("rate:{key}")))
            .execute(&mut c)
            .unwrap();
        Self { _holding: c }
    }
}

async fn hits(db: &Database, n: usize, max: u32, now: Timestamp) -> Vec<RateDecision> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let db = db.clone();
        tasks.spawn(async move { db.hit(KEY, &limit(max), now).await.unwrap() });
    }
    let mut all = Vec::new();
    while let Some(d) = tasks.join_next().await {
        all.push(d.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_queued_behind_a_held_key_hold_one_connection_and_reads_go_on() {
    let Some(test_db) = TestDb::postgres() else {
        return;
    };
    // Two connections, and a read gives up after one second without one.
    let db = test_db.open_with(2, Duration::from_secs(1)).await;
    let other = OtherInstance::holding(&test_db, KEY);
    let queued = {
        let db = db.clone();
        tokio::spawn(async move { hits(&db, 8, 100, at(0)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Eight writes wait for the key; were each holding a connection, the
    // pool's two would be gone and this read would time out (503).
    let read = db.get(user_id(1)).await;
    assert!(matches!(read, Ok(None)), "{read:?}");
    drop(other);
    let decisions = queued.await.unwrap();
    assert_eq!(decisions, vec![RateDecision::Allowed; 8]);
    // Each was recorded once: an eighth more fits a limit of 9, not of 8.
    assert!(matches!(
        db.hit(KEY, &limit(8), at(1)).await.unwrap(),
        RateDecision::Limited { .. }
    ));
    assert_eq!(
        db.hit(KEY, &limit(9), at(1)).await.unwrap(),
        RateDecision::Allowed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_held_past_the_bound_refuses_the_write_as_contended_and_records_nothing() {
    let Some(test_db) = TestDb::postgres() else {
        return;
    };
    let db = test_db.open(2).await;
    let other = OtherInstance::holding(&test_db, KEY);
    let refused = db.hit(KEY, &limit(1), at(0)).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Contended {
                retry_after_seconds: 1
            })
        ),
        "{refused:?}"
    );
    drop(other);
    // The refused hit counted nothing: the limit of one still has room.
    assert_eq!(
        db.hit(KEY, &limit(1), at(1)).await.unwrap(),
        RateDecision::Allowed
    );
    assert!(matches!(
        db.hit(KEY, &limit(1), at(2)).await.unwrap(),
        RateDecision::Limited { .. }
    ));
}
