//! The transactional outbox: mail queued with the change it announces, and
//! the dispatcher's leases.

use super::conn::{due_outbox_ids, write_tx, DbConn};
use super::rows::{NewOutboxRow, OutboxRow};
use super::schema::outbox;
use super::{Database, DbError};
use accountd_domain::{OutgoingMail, Timestamp};
use accountd_ports::{OutboxRepository, QueuedMail, StoreError};
use async_trait::async_trait;
use diesel::prelude::*;

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
        self.run(move |c| {
            claim(
                c,
                &owner,
                now.as_millis(),
                lease_until.as_millis(),
                i64::from(limit),
            )
        })
        .await
    }

    async fn mark_sent(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.run(move |c| finish(c, id, now.as_millis(), "sent", None))
            .await
    }

    async fn mark_dead(&self, id: i64, now: Timestamp, reason: &str) -> Result<(), StoreError> {
        let reason = reason.to_owned();
        self.run(move |c| finish(c, id, now.as_millis(), "dead", Some(&reason)))
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
        self.run(move |c| retry(c, id, attempts, next_attempt_at.as_millis(), &error))
            .await
    }
}

/// Queues `mails`, due at `now` (inside the caller's transaction).
pub(crate) fn queue(conn: &mut DbConn, mails: &[OutgoingMail], now: i64) -> Result<(), DbError> {
    for mail in mails {
        diesel::insert_into(outbox::table)
            .values(&NewOutboxRow::pending(mail, now))
            .execute(conn)?;
    }
    Ok(())
}

/// Leases up to `limit` due messages to `owner`.
pub(crate) fn claim(
    conn: &mut DbConn,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<QueuedMail>, DbError> {
    let rows: Vec<OutboxRow> = write_tx(conn, |c| {
        let ids = due_outbox_ids(c, now, limit)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
            .set((
                outbox::lease_owner.eq(owner),
                outbox::lease_until.eq(lease_until),
            ))
            .execute(c)?;
        Ok(outbox::table
            .filter(outbox::id.eq_any(&ids))
            .order(outbox::id)
            .select(OutboxRow::as_select())
            .load(c)?)
    })?;
    rows.into_iter().map(OutboxRow::into_queued).collect()
}

/// Ends a message (`sent` or `dead`), erasing its body.
pub(crate) fn finish(
    conn: &mut DbConn,
    id: i64,
    now: i64,
    state: &str,
    error: Option<&str>,
) -> Result<(), DbError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::state.eq(state),
            outbox::body.eq(None::<String>),
            outbox::finished_at.eq(now),
            outbox::lease_owner.eq(None::<String>),
            outbox::lease_until.eq(None::<i64>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// Releases the lease and schedules another attempt.
pub(crate) fn retry(
    conn: &mut DbConn,
    id: i64,
    attempts: i32,
    next_attempt_at: i64,
    error: &str,
) -> Result<(), DbError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::lease_owner.eq(None::<String>),
            outbox::lease_until.eq(None::<i64>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// Messages waiting.
pub(crate) fn pending(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(outbox::table
        .filter(outbox::state.eq("pending"))
        .count()
        .get_result(conn)?)
}

/// Messages waiting, and when the oldest of them was queued (ms).
pub(crate) fn backlog(conn: &mut DbConn) -> Result<(i64, Option<i64>), DbError> {
    let pending = outbox::table.filter(outbox::state.eq("pending"));
    let count = pending.count().get_result(conn)?;
    let oldest = pending
        .select(diesel::dsl::min(outbox::created_at))
        .get_result(conn)?;
    Ok((count, oldest))
}

/// The row as stored, every column included.
#[cfg(feature = "test-support")]
pub(crate) fn snapshot(
    conn: &mut DbConn,
    id: i64,
) -> Result<Option<super::OutboxSnapshot>, DbError> {
    Ok(outbox::table
        .find(id)
        .select(super::OutboxSnapshot::as_select())
        .first(conn)
        .optional()?)
}
