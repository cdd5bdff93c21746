//! The audit log: rows written inside a change set's transaction, read back
//! by `accountd audit`, purged by housekeeping.

use super::conn::DbConn;
use super::schema::audit_events;
use super::DbError;
use accountd_domain::{AuditEvent, AuditEventKind, AuditValue, Timestamp, UserId};
use diesel::prelude::*;

/// Which audit rows to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this user's.
    pub user: Option<UserId>,
    /// Only this event.
    pub event: Option<AuditEventKind>,
    /// Only those at or after this instant.
    pub since: Option<Timestamp>,
}

/// One stored audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Row id (orders rows of the same millisecond).
    pub id: i64,
    /// When the change it records was applied.
    pub time: Timestamp,
    /// The event's name.
    pub event: String,
    /// The user it concerns, if known.
    pub user_gid: Option<String>,
    /// The client's address, if known.
    pub client_addr: Option<String>,
    /// `success`, `failure` or `refused`.
    pub outcome: String,
    /// The details, a JSON object.
    pub details: serde_json::Value,
}

/// The JSON object of an event's details: ids as their text, words as
/// strings, counts as numbers.
pub(crate) fn details_json(event: &AuditEvent) -> serde_json::Value {
    let map = event
        .details
        .entries()
        .iter()
        .map(|(name, value)| {
            let v = match value {
                AuditValue::Word(w) => serde_json::Value::from(*w),
                AuditValue::User(u) => serde_json::Value::from(u.to_string()),
                AuditValue::Project(p) => serde_json::Value::from(p.to_string()),
                AuditValue::Count(n) => serde_json::Value::from(*n),
            };
            ((*name).to_owned(), v)
        })
        .collect();
    serde_json::Value::Object(map)
}

/// Writes `events` stamped `now` (inside the caller's transaction).
pub(crate) fn insert(conn: &mut DbConn, events: &[AuditEvent], now: i64) -> Result<(), DbError> {
    for event in events {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::time.eq(now),
                audit_events::event.eq(event.kind.as_str()),
                audit_events::user_gid.eq(event.user.map(|u| u.to_string())),
                audit_events::client_addr.eq(event.client.as_deref()),
                audit_events::outcome.eq(event.outcome.as_str()),
                audit_events::details.eq(details_json(event).to_string()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

type Row = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

/// Up to `limit` rows matching `filter`, oldest first (by time, then id),
/// after the row `(time, id)` of `after` when given.
pub(crate) fn page(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<AuditRecord>, DbError> {
    let mut q = audit_events::table
        .select((
            audit_events::id,
            audit_events::time,
            audit_events::event,
            audit_events::user_gid,
            audit_events::client_addr,
            audit_events::outcome,
            audit_events::details,
        ))
        .order((audit_events::time.asc(), audit_events::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(user) = filter.user {
        q = q.filter(audit_events::user_gid.eq(user.to_string()));
    }
    if let Some(event) = filter.event {
        q = q.filter(audit_events::event.eq(event.as_str()));
    }
    if let Some(since) = filter.since {
        q = q.filter(audit_events::time.ge(since.as_millis()));
    }
    if let Some((time, id)) = after {
        q = q.filter(
            audit_events::time
                .gt(time)
                .or(audit_events::time.eq(time).and(audit_events::id.gt(id))),
        );
    }
    let rows: Vec<Row> = q.load(conn)?;
    rows.into_iter()
        .map(
            |(id, time, event, user_gid, client_addr, outcome, details)| {
                let details = serde_json::from_str(&details)
                    .map_err(|e| DbError::Corrupt(format!("audit row {id}: details: {e}")))?;
                Ok(AuditRecord {
                    id,
                    time: Timestamp::from_millis(time),
                    event,
                    user_gid,
                    client_addr,
                    outcome,
                    details,
                })
            },
        )
        .collect()
}

/// Records that housekeeping purged the soft-deleted `project` of
/// `owner` after its retention (inside the purge's transaction).
pub(crate) fn insert_retention_purge(
    conn: &mut DbConn,
    project: &str,
    owner: &str,
    now: i64,
) -> Result<(), DbError> {
    let details = serde_json::json!({"project": project, "via": "retention"});
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::time.eq(now),
            audit_events::event.eq(AuditEventKind::ProjectPurged.as_str()),
            audit_events::user_gid.eq(owner),
            audit_events::client_addr.eq(None::<String>),
            audit_events::outcome.eq(accountd_domain::AuditOutcome::Success.as_str()),
            audit_events::details.eq(details.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes rows at or before `before` (inside the caller's transaction).
pub(crate) fn purge(conn: &mut DbConn, before: i64) -> Result<usize, DbError> {
    Ok(diesel::delete(audit_events::table.filter(audit_events::time.le(before))).execute(conn)?)
}
