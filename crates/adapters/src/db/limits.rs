//! Rate limits and the login soft lock: timestamped events per key,
//! serialised per key across instances.

use super::conn::{lock_id, lock_key, write_tx, DbConn};
use super::schema::rate_events;
use super::{Database, DbError};
use accountd_domain::Timestamp;
use accountd_ports::{Limit, LoginThrottle, RateDecision, RateLimiter, StoreError};
use async_trait::async_trait;
use diesel::prelude::*;

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
        let gate = [lock_id(&hit_lock_key(&key))];
        self.write(&gate, move |c| hit(c, &key, &limits, now.as_millis()))
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
        let gate = [lock_id(&hit_lock_key(&key))];
        let (id, prior) = self
            .write(&gate, move |c| {
                begin(c, &key, now.as_millis(), since.as_millis(), 86_400_000)
            })
            .await?;
        Ok((id, prior.into_iter().map(Timestamp::from_millis).collect()))
    }

    async fn forget(&self, id: i64) -> Result<(), StoreError> {
        self.write(&[], move |c| forget(c, id)).await
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        let gate = [lock_id(&hit_lock_key(&key))];
        self.write(&gate, move |c| clear(c, &key)).await
    }
}

/// Records a hit under `key` when every limit has room at `now`, in its
/// own write transaction under the key's lock.
pub(crate) fn hit(
    conn: &mut DbConn,
    key: &str,
    limits: &[Limit],
    now: i64,
) -> Result<RateDecision, DbError> {
    if limits.iter().all(|l| l.max == 0) {
        return Ok(RateDecision::Allowed);
    }
    write_tx(conn, |c| {
        lock_key(c, &hit_lock_key(key))?;
        hit_locked(c, key, limits, now)
    })
}

/// The lock [`hit_locked`] needs held.
pub(crate) fn hit_lock_key(key: &str) -> String {
    format!("rate:{key}")
}

/// [`hit`] inside the caller's write transaction, which holds the lock
/// [`hit_lock_key`] names.
pub(crate) fn hit_locked(
    c: &mut DbConn,
    key: &str,
    limits: &[Limit],
    now: i64,
) -> Result<RateDecision, DbError> {
    let active: Vec<Limit> = limits.iter().copied().filter(|l| l.max > 0).collect();
    let Some(longest) = active.iter().map(|l| l.window_seconds).max() else {
        return Ok(RateDecision::Allowed);
    };
    diesel::delete(
        rate_events::table
            .filter(rate_events::key.eq(key))
            .filter(rate_events::at.le(now - longest * 1000)),
    )
    .execute(c)?;
    let mut retry_ms: i64 = 0;
    for l in &active {
        let window_start = now - l.window_seconds * 1000;
        let hits: Vec<i64> = rate_events::table
            .filter(rate_events::key.eq(key))
            .filter(rate_events::at.gt(window_start))
            .order(rate_events::at.asc())
            .select(rate_events::at)
            .load(c)?;
        let max = usize::try_from(l.max).unwrap_or(usize::MAX);
        if hits.len() >= max {
            // The hit that must leave the window to make room.
            let leaving = hits.get(hits.len() - max).copied().unwrap_or(now);
            // Clamped to the window: with clock skew between instances
            // a later-stamped hit may have committed first.
            retry_ms = retry_ms
                .max((leaving + l.window_seconds * 1000 - now).min(l.window_seconds * 1000));
        }
    }
    if retry_ms > 0 {
        return Ok(RateDecision::Limited {
            retry_after_seconds: ((retry_ms + 999) / 1000).max(1),
        });
    }
    diesel::insert_into(rate_events::table)
        .values((rate_events::key.eq(key), rate_events::at.eq(now)))
        .execute(c)?;
    Ok(RateDecision::Allowed)
}

/// Lists the events under `key` after `since` and records one at `now`,
/// pruning those older than `keep_ms`.
pub(crate) fn begin(
    conn: &mut DbConn,
    key: &str,
    now: i64,
    since: i64,
    keep_ms: i64,
) -> Result<(i64, Vec<i64>), DbError> {
    write_tx(conn, |c| {
        lock_key(c, &hit_lock_key(key))?;
        diesel::delete(
            rate_events::table
                .filter(rate_events::key.eq(key))
                .filter(rate_events::at.le(now - keep_ms)),
        )
        .execute(c)?;
        let prior: Vec<i64> = rate_events::table
            .filter(rate_events::key.eq(key))
            .filter(rate_events::at.gt(since))
            .order((rate_events::at.asc(), rate_events::id.asc()))
            .select(rate_events::at)
            .load(c)?;
        let id: i64 = diesel::insert_into(rate_events::table)
            .values((rate_events::key.eq(key), rate_events::at.eq(now)))
            .returning(rate_events::id)
            .get_result(c)?;
        Ok((id, prior))
    })
}

/// Removes one event.
pub(crate) fn forget(conn: &mut DbConn, id: i64) -> Result<(), DbError> {
    diesel::delete(rate_events::table.find(id)).execute(conn)?;
    Ok(())
}

/// Removes every event under `key`.
pub(crate) fn clear(conn: &mut DbConn, key: &str) -> Result<(), DbError> {
    diesel::delete(rate_events::table.filter(rate_events::key.eq(key))).execute(conn)?;
    Ok(())
}
