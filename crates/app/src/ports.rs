use crate::Failure;
use accountd_domain::{ChangeSet, Conflict, Timestamp};
use accountd_ports::{
    Applied, ChallengeRepository, Changes, Clock, PasswordHasher, Random, RateLimiter,
    UserRepository,
};
use std::fmt;
use std::sync::Arc;

/// The ports a request-serving use case needs, shared behind `Arc`s so one
/// bundle serves every worker. (Dynamic dispatch costs nothing next to the
/// I/O behind each call, and keeps the services free of six type parameters.)
#[derive(Clone)]
pub struct Ports {
    /// Reading users.
    pub users: Arc<dyn UserRepository>,
    /// Reading challenges and counting failed tries.
    pub challenges: Arc<dyn ChallengeRepository>,
    /// The one write of every use case.
    pub changes: Arc<dyn Changes>,
    /// Issuance limits.
    pub limiter: Arc<dyn RateLimiter>,
    /// The bcrypt pool.
    pub hasher: Arc<dyn PasswordHasher>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub random: Arc<dyn Random>,
    /// How many requests about one account run at once, and the hash
    /// pool's places for logins (see `admission`).
    pub admission: Arc<crate::Admission>,
}

impl fmt::Debug for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ports { .. }")
    }
}

/// A conflict a use case's set does not expect. Its guards are the
/// challenge's, and whoever else writes the same rows consumes that
/// challenge first (a password change closes every reset code), so this is
/// a rule broken somewhere else; nothing was written and the code is still
/// live, so it is answered 503 (`Unavailable`): trying again is right.
pub(crate) fn unexpected_conflict(conflict: Conflict) -> Failure {
    tracing::warn!(
        ?conflict,
        "a change set met a conflict its use case does not expect"
    );
    Failure::Unavailable(anyhow::anyhow!(
        "the account changed while the request was served: {conflict:?}"
    ))
}

impl Ports {
    /// Applies `set`, a use case's one write, at `now`: `Ok(Err(conflict))`
    /// when a guard no longer held (another request won) and nothing was
    /// changed.
    pub(crate) async fn apply(
        &self,
        set: ChangeSet,
        now: Timestamp,
    ) -> Result<Result<(), Conflict>, Failure> {
        let set = crate::request::stamped(set);
        Ok(match self.changes.apply(set, now).await? {
            Applied::Committed => Ok(()),
            Applied::Refused(conflict) => Err(conflict),
        })
    }

    /// Records audit events that ride on no change set of their own (a
    /// refused call, a failed login, a counted wrong code: what they record
    /// was written by another port or nothing was written at all), as one
    /// small set of audit rows only, at `now`. Nothing to record: no call.
    pub(crate) async fn record(
        &self,
        events: impl IntoIterator<Item = accountd_domain::AuditEvent>,
        now: Timestamp,
    ) -> Result<(), Failure> {
        let set = events.into_iter().fold(ChangeSet::new(), ChangeSet::audit);
        if set.is_empty() {
            return Ok(());
        }
        let set = crate::request::stamped(set);
        match self.changes.apply(set, now).await {
            Ok(Applied::Committed) => Ok(()),
            Ok(Applied::Refused(conflict)) => Err(unexpected_conflict(conflict)),
            // What the events record was already written (or refused): a
            // queue of writers (SQLite's one writer under a flood) must not
            // turn it into a 429 after the fact. The events are lost.
            Err(accountd_ports::StoreError::Contended { .. }) => {
                tracing::warn!("audit events dropped: the database was contended");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
