//! Delivers queued mail: claim with a lease, send, and on failure retry with
//! exponential backoff and jitter; drop mail whose code has expired; erase
//! the body once sent or given up.

use accountd_ports::{Clock, MailError, Mailer, OutboxRepository, QueuedMail, Random, StoreError};
use std::fmt;
use std::sync::Arc;
use tracing::{info, warn};

/// The dispatcher's numbers.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// How long a claim is held; a crashed holder's rows are reclaimed after it.
    pub lease_seconds: i64,
    /// Messages claimed per pass.
    pub batch: u32,
    /// Attempts before a message is marked dead.
    pub max_attempts: u32,
    /// First retry delay.
    pub base_backoff_ms: i64,
    /// Longest retry delay.
    pub max_backoff_ms: i64,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            lease_seconds: 30,
            // One message per claim: its lease (30 s) always covers the
            // send (SMTP timeout 15 s), so another instance never takes over
            // a message that is still being sent.
            batch: 1,
            max_attempts: 25,
            base_backoff_ms: 1_000,
            max_backoff_ms: 300_000,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Messages claimed.
    pub claimed: usize,
    /// Delivered.
    pub sent: usize,
    /// Scheduled for another attempt.
    pub retried: usize,
    /// Given up.
    pub dead: usize,
}

/// The outbox dispatcher. One per server instance; several never send one
/// message twice in the normal case (claims are leased).
#[derive(Clone)]
pub struct OutboxDispatcher {
    outbox: Arc<dyn OutboxRepository>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    owner: String,
    settings: DispatchSettings,
}

impl fmt::Debug for OutboxDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxDispatcher")
            .field("owner", &self.owner)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OutboxDispatcher {
    /// Builds a dispatcher whose leases carry `owner` (unique per process).
    pub fn new(
        outbox: Arc<dyn OutboxRepository>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        owner: String,
        settings: DispatchSettings,
    ) -> Self {
        Self {
            outbox,
            mailer,
            clock,
            random,
            owner,
            settings,
        }
    }

    /// The delay before attempt `attempts + 1`: `base * 2^(attempts-1)`,
    /// capped, then "equal jitter" (half fixed, half uniform) so that many
    /// failed messages do not retry in lockstep.
    pub fn backoff_ms(&self, attempts: u32) -> i64 {
        let exp = attempts.saturating_sub(1).min(30);
        let full = self
            .settings
            .base_backoff_ms
            .saturating_mul(1i64 << exp)
            .min(self.settings.max_backoff_ms)
            .max(2);
        let half = full / 2;
        let jitter = i64::from(
            self.random
                .uniform(0, u32::try_from(half).unwrap_or(u32::MAX)),
        );
        half + jitter
    }

    /// Claims one batch and handles every message in it.
    pub async fn run_once(&self) -> Result<PassReport, StoreError> {
        let now = self.clock.now();
        let claimed = self
            .outbox
            .claim(
                &self.owner,
                now,
                now.plus_seconds(self.settings.lease_seconds),
                self.settings.batch,
            )
            .await?;
        let mut report = PassReport {
            claimed: claimed.len(),
            ..PassReport::default()
        };
        for queued in claimed {
            self.deliver(queued, &mut report).await?;
        }
        Ok(report)
    }

    async fn deliver(&self, queued: QueuedMail, report: &mut PassReport) -> Result<(), StoreError> {
        let QueuedMail {
            id,
            mail,
            attempts,
            lease,
        } = queued;
        let now = self.clock.now();
        if mail.not_after.is_some_and(|t| now >= t) {
            warn!(outbox.id = id, "dropping mail whose code has expired");
            report.dead += 1;
            let held = self
                .outbox
                .mark_dead(id, &lease, now, "code expired before delivery")
                .await?;
            lost_unless(held, id);
            crate::metrics::mail_dead();
            return Ok(());
        }
        match self.mailer.send(&mail).await {
            Ok(()) => {
                info!(outbox.id = id, to = %mail.to.masked(), "mail sent");
                report.sent += 1;
                let held = self.outbox.mark_sent(id, &lease, self.clock.now()).await?;
                lost_unless(held, id);
                crate::metrics::mail_sent();
                Ok(())
            }
            Err(MailError::Permanent(reason)) => {
                let reason = scrub(&reason);
                warn!(outbox.id = id, %reason, "mail refused permanently");
                report.dead += 1;
                let held = self
                    .outbox
                    .mark_dead(id, &lease, self.clock.now(), &reason)
                    .await?;
                lost_unless(held, id);
                crate::metrics::mail_dead();
                Ok(())
            }
            Err(MailError::Transient(reason)) => {
                let reason = scrub(&reason);
                let attempts = attempts.saturating_add(1);
                if attempts >= self.settings.max_attempts {
                    warn!(outbox.id = id, %reason, attempts, "giving mail up");
                    report.dead += 1;
                    let held = self
                        .outbox
                        .mark_dead(id, &lease, self.clock.now(), &reason)
                        .await?;
                    lost_unless(held, id);
                    crate::metrics::mail_dead();
                    return Ok(());
                }
                let next = self.clock.now().plus_millis(self.backoff_ms(attempts));
                warn!(outbox.id = id, %reason, attempts, "mail delivery failed; will retry");
                report.retried += 1;
                let held = self
                    .outbox
                    .retry_later(id, &lease, attempts, next, &reason)
                    .await?;
                lost_unless(held, id);
                Ok(())
            }
        }
    }
}

/// Says so when a mark found the lease gone: the lease lapsed during the
/// attempt and another claim owns the row now, so the mark changed nothing
/// and that claim decides the row's fate.
fn lost_unless(held: bool, id: i64) {
    if !held {
        warn!(
            outbox.id = id,
            "the lease lapsed during the attempt and was taken over: the row was left to its new holder"
        );
    }
}

/// An SMTP reply often echoes the recipient: mask every word that holds an
/// `@` before the text reaches a log or the outbox row.
fn scrub(reason: &str) -> String {
    reason
        .split(' ')
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[path = "dispatcher_tests.rs"]
mod tests;
