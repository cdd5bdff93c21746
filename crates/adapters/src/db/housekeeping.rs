//! What keeps the database small and tells whether it answers.

use super::conn::{write_tx, DbConn};
use super::schema::{challenge_keys, challenges, outbox, rate_events};
use super::{Database, DbError};
use accountd_domain::Timestamp;
use accountd_ports::{HealthCheck, StoreError};
use async_trait::async_trait;
use diesel::prelude::*;

/// What a purge removes: rows that no rule needs any more, by the cut-offs
/// the caller decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeBefore {
    /// Rate-limit and login-failure entries at or before this instant.
    pub rate_events: Timestamp,
    /// Sent or dead outbox rows finished at or before this instant.
    pub finished_mail: Timestamp,
    /// Challenges (with their keys) expired at or before this instant.
    pub expired_challenges: Timestamp,
    /// Email-change revert tokens expired, or spent, at or before this
    /// instant.
    pub email_reverts: Timestamp,
    /// Projects soft-deleted at or before this instant, purged as
    /// `projects/permanent_delete` does (memberships, placeholders left
    /// with none).
    pub deleted_projects: Timestamp,
    /// Invitation tokens (their MACs) expired at or before this instant;
    /// the invitation rows stay.
    pub invite_tokens: Timestamp,
    /// Audit rows written at or before this instant.
    pub audit_events: Timestamp,
    /// The instant of the pass: the time of the `project_purged` rows it
    /// records for the projects it purges.
    pub now: Timestamp,
}

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Rate-limit and login-failure entries older than a day.
    pub rate_events: usize,
    /// Sent or dead outbox rows finished more than a week ago.
    pub outbox: usize,
    /// Challenges expired more than a day ago (with their keys).
    pub challenges: usize,
    /// Revert tokens expired or spent.
    pub email_reverts: usize,
    /// Projects deleted longer ago than the retention.
    pub projects: usize,
    /// Expired invitation tokens cleared.
    pub invite_tokens: usize,
    /// Placeholders left with no membership, deleted.
    pub placeholders: usize,
    /// Audit rows older than the retention.
    pub audit_events: usize,
}

#[async_trait]
impl HealthCheck for Database {
    async fn ready(&self) -> Result<(), StoreError> {
        self.ping().await
    }
}

/// A trivial query.
pub(crate) fn ping(conn: &mut DbConn) -> Result<(), DbError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// Removes what no rule needs any more (see `Database::purge`).
pub(crate) fn purge(conn: &mut DbConn, before: PurgeBefore) -> Result<Purged, DbError> {
    let events = before.rate_events.as_millis();
    let mail = before.finished_mail.as_millis();
    let expired = before.expired_challenges.as_millis();
    let reverts = before.email_reverts.as_millis();
    write_tx(conn, |c| {
        let rate_events =
            diesel::delete(rate_events::table.filter(rate_events::at.le(events))).execute(c)?;
        let outbox = diesel::delete(
            outbox::table
                .filter(outbox::state.ne("pending"))
                .filter(outbox::finished_at.le(mail)),
        )
        .execute(c)?;
        let old = challenges::table
            .filter(challenges::expires_at.le(expired))
            .select(challenges::id);
        diesel::delete(challenge_keys::table.filter(challenge_keys::challenge_id.eq_any(old)))
            .execute(c)?;
        let challenges =
            diesel::delete(challenges::table.filter(challenges::expires_at.le(expired)))
                .execute(c)?;
        let email_reverts = super::email_reverts::purge(c, reverts, reverts)?;
        let purged = super::projects::purge_deleted_before(c, before.deleted_projects.as_millis())?;
        for (project, owner) in &purged {
            super::audit::insert_retention_purge(c, project, owner, before.now.as_millis())?;
        }
        let projects = purged.len();
        let invite_tokens =
            super::projects::purge_invite_tokens(c, before.invite_tokens.as_millis())?;
        let placeholders = super::users::purge_unused_placeholders(c)?;
        let audit_events = super::audit::purge(c, before.audit_events.as_millis())?;
        Ok(Purged {
            rate_events,
            outbox,
            challenges,
            email_reverts,
            projects,
            invite_tokens,
            placeholders,
            audit_events,
        })
    })
}
