//! The transactional outbox: mail queued with the change it announces (its
//! body sealed, see `seal.rs`), and the dispatcher's leases.

use super::conn::{due_outbox_ids, write_tx, DbConn};
use super::rows::{NewOutboxRow, OutboxRow};
use super::schema::outbox;
use super::seal::OutboxSeal;
use super::{Database, DbError};
use accountd_domain::{OutgoingMail, Timestamp};
use accountd_ports::{Lease, OutboxRepository, QueuedMail, StoreError};
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
        let seal = self.seal.clone();
        self.write(&[], move |c| {
            claim(
                c,
                &owner,
                now.as_millis(),
                lease_until.as_millis(),
                i64::from(limit),
                seal.as_ref(),
            )
        })
        .await
    }

    async fn mark_sent(&self, id: i64, lease: &Lease, now: Timestamp) -> Result<bool, StoreError> {
        let lease = lease.clone();
        self.write(&[], move |c| {
            finish(c, id, &lease, now.as_millis(), "sent", None)
        })
        .await
    }

    async fn mark_dead(
        &self,
        id: i64,
        lease: &Lease,
        now: Timestamp,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let (lease, reason) = (lease.clone(), reason.to_owned());
        self.write(&[], move |c| {
            finish(c, id, &lease, now.as_millis(), "dead", Some(&reason))
        })
        .await
    }

    async fn retry_later(
        &self,
        id: i64,
        lease: &Lease,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<bool, StoreError> {
        let (lease, error) = (lease.clone(), error.to_owned());
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        self.write(&[], move |c| {
            retry(c, id, &lease, attempts, next_attempt_at.as_millis(), &error)
        })
        .await
    }
}

/// Queues `mails`, due at `now`, their bodies sealed (inside the caller's
/// transaction). Without a seal no mail is queued: the transaction fails
/// rather than store a code in clear.
pub(crate) fn queue(
    conn: &mut DbConn,
    mails: &[OutgoingMail],
    now: i64,
    seal: Option<&OutboxSeal>,
) -> Result<(), DbError> {
    if mails.is_empty() {
        return Ok(());
    }
    let seal = seal.ok_or_else(|| {
        DbError::Corrupt("no outbox key configured: mail cannot be queued".to_owned())
    })?;
    for mail in mails {
        let body = seal
            .seal(mail.to.as_str(), &mail.subject, &mail.text)
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        diesel::insert_into(outbox::table)
            .values(&NewOutboxRow::pending(mail, now, body))
            .execute(conn)?;
    }
    Ok(())
}

/// Writes the rows of decoy mails (see `NewOutboxRow::decoy`) inside the
/// caller's transaction: the same insert as a queued mail, never sent.
pub(crate) fn queue_decoys(
    conn: &mut DbConn,
    mails: &[OutgoingMail],
    now: i64,
) -> Result<(), DbError> {
    for mail in mails {
        diesel::insert_into(outbox::table)
            .values(&NewOutboxRow::decoy(mail, now))
            .execute(conn)?;
    }
    Ok(())
}

/// Leases up to `limit` due messages to `owner`, each under the row's next
/// lease id (see [`Lease`]).
pub(crate) fn claim(
    conn: &mut DbConn,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
    seal: Option<&OutboxSeal>,
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
                outbox::lease_id.eq(outbox::lease_id + 1),
            ))
            .execute(c)?;
        let rows: Vec<OutboxRow> = outbox::table
            .filter(outbox::id.eq_any(&ids))
            .order(outbox::id)
            .select(OutboxRow::as_select())
            .load(c)?;
        let mut opened = Vec::with_capacity(rows.len());
        for row in rows {
            match open(row, seal) {
                Ok(row) => opened.push(row),
                // Not sendable here (sealed under another server secret,
                // or altered): left pending under this claim's lease, so
                // nothing is lost when another instance holds the right
                // secret: it takes the row once the lease lapses. A row no
                // instance can open stays pending (the outbox alert fires)
                // until its code expires and it is dropped like any late
                // code mail.
                Err(id) => tracing::warn!(
                    outbox.id = id,
                    "an outbox body does not open under this server secret: left pending"
                ),
            }
        }
        Ok(opened)
    })?;
    rows.into_iter().map(OutboxRow::into_queued).collect()
}

/// `row` with its body opened when sealed; `Err(id)` when it does not open
/// (or there is no seal to open it with).
fn open(mut row: OutboxRow, seal: Option<&OutboxSeal>) -> Result<OutboxRow, i64> {
    if !row.body_sealed {
        // Queued before bodies were sealed: sent as stored.
        return Ok(row);
    }
    let (Some(seal), Some(body)) = (seal, row.body.as_deref()) else {
        return Err(row.id);
    };
    let text = seal
        .open(&row.recipient, &row.subject, body)
        .map_err(|_| row.id)?;
    row.body = Some(text);
    row.body_sealed = false;
    Ok(row)
}

/// The row `id` while `lease` still holds it: pending, claimed by the
/// same owner under the same lease id.
macro_rules! leased {
    ($id:expr, $lease:expr) => {
        outbox::table
            .filter(outbox::id.eq($id))
            .filter(outbox::state.eq("pending"))
            .filter(outbox::lease_owner.eq(&$lease.owner))
            .filter(outbox::lease_id.eq($lease.id))
    };
}

/// Ends a message (`sent` or `dead`), erasing its body, if `lease` still
/// holds it; returns whether it did.
pub(crate) fn finish(
    conn: &mut DbConn,
    id: i64,
    lease: &Lease,
    now: i64,
    state: &str,
    error: Option<&str>,
) -> Result<bool, DbError> {
    let n = diesel::update(leased!(id, lease))
        .set((
            outbox::state.eq(state),
            outbox::body.eq(None::<String>),
            outbox::finished_at.eq(now),
            outbox::lease_owner.eq(None::<String>),
            outbox::lease_until.eq(None::<i64>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Releases the lease and schedules another attempt, if `lease` still
/// holds the message; returns whether it did.
pub(crate) fn retry(
    conn: &mut DbConn,
    id: i64,
    lease: &Lease,
    attempts: i32,
    next_attempt_at: i64,
    error: &str,
) -> Result<bool, DbError> {
    let n = diesel::update(leased!(id, lease))
        .set((
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::lease_owner.eq(None::<String>),
            outbox::lease_until.eq(None::<i64>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(n == 1)
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
