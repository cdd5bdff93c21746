//! Challenges (one-time codes) and their subject keys.

use super::conn::{lock_key, write_tx, DbConn};
use super::rows::ChallengeRow;
use super::schema::{challenge_keys, challenges};
use super::{outbox, users, Database, DbError};
use accountd_domain::{
    Challenge, ChallengeEffect, ChallengeId, Change, ChangeSet, CodeMac, OutgoingMail, Purpose,
    Timestamp,
};
use accountd_ports::{Applied, ChallengeRepository, Changes, ConsumeOutcome, StoreError};
use async_trait::async_trait;
use diesel::prelude::*;

#[async_trait]
impl ChallengeRepository for Database {
    async fn issue(
        &self,
        challenge: Challenge,
        mails: Vec<OutgoingMail>,
    ) -> Result<(), StoreError> {
        let now = challenge.issued_at();
        let set = ChangeSet::new()
            .with(Change::IssueChallenge(challenge))
            .mail(mails);
        match self.apply(set, now).await? {
            Applied::Committed => Ok(()),
            Applied::Refused(c) => Err(StoreError::Unexpected(anyhow::anyhow!(
                "issuing a challenge has no guard, yet it was refused: {c:?}"
            ))),
        }
    }

    async fn latest(
        &self,
        purpose: Purpose,
        subject_key: &str,
    ) -> Result<Option<Challenge>, StoreError> {
        let key = subject_key.to_owned();
        self.run(move |c| latest(c, purpose.as_str(), &key)).await
    }

    async fn find_by_lookup(
        &self,
        purpose: Purpose,
        lookup: CodeMac,
    ) -> Result<Option<Challenge>, StoreError> {
        self.run(move |c| by_lookup(c, purpose.as_str(), lookup.as_bytes()))
            .await
    }

    async fn record_failure(
        &self,
        id: ChallengeId,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError> {
        let id = id.to_string();
        self.run(move |c| record_failure(c, &id, now.as_millis()))
            .await
    }

    async fn consume(
        &self,
        id: ChallengeId,
        now: Timestamp,
        effect: ChallengeEffect,
        mails: Vec<OutgoingMail>,
    ) -> Result<ConsumeOutcome, StoreError> {
        let id = id.to_string();
        let creates_user = matches!(effect, ChallengeEffect::CreateUser(_));
        let queued = !mails.is_empty();
        let now = now.as_millis();
        let result = self
            .run_raw(move |c| {
                write_tx(c, |c| {
                    // Both reset families consume a user's codes: take the
                    // user's lock first so two of them cannot lock each
                    // other's rows in opposite orders.
                    if let ChallengeEffect::SetPassword { user, .. } = &effect {
                        lock_key(c, &format!("user:{user}"))?;
                    }
                    if !consume(c, &id, now)? {
                        return Ok(false);
                    }
                    match &effect {
                        ChallengeEffect::SetPassword { user, hash } => {
                            let user_id = user.to_string();
                            users::set_password(c, &user_id, hash.expose())?;
                            // Any password-reset code issued before the
                            // change is stale.
                            consume_open(
                                c,
                                &format!("user:{user_id}"),
                                &[Purpose::ForgotPassword, Purpose::ResetPassword],
                            )?;
                        }
                        ChallengeEffect::CreateUser(user) => {
                            users::insert(c, &user.clone().into_user())?
                        }
                    }
                    outbox::queue(c, &mails, now)?;
                    Ok(true)
                })
            })
            .await;
        match result {
            Ok(true) => {
                if queued {
                    self.mail_queued.notify_one();
                }
                Ok(ConsumeOutcome::Applied)
            }
            Ok(false) => Ok(ConsumeOutcome::NotOpen),
            // The insert failed inside the transaction: nothing was kept,
            // the challenge included.
            Err(e) if creates_user && e.is_unique_violation() => Ok(ConsumeOutcome::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }
}

/// Marks superseded every open challenge of the same purpose sharing any of
/// the subject's keys, then stores `challenge` with its keys (inside the
/// caller's write transaction, which holds the keys' locks: see
/// `changes::apply`).
pub(crate) fn issue(conn: &mut DbConn, challenge: &Challenge) -> Result<(), DbError> {
    let row = ChallengeRow::from_challenge(challenge)?;
    let mut keys = challenge.subject().keys();
    keys.sort();
    keys.dedup();
    diesel::update(
        challenges::table
            .filter(challenges::purpose.eq(&row.purpose))
            .filter(challenges::state.eq("open"))
            .filter(
                challenges::id.eq_any(
                    challenge_keys::table
                        .filter(challenge_keys::key.eq_any(&keys))
                        .select(challenge_keys::challenge_id),
                ),
            ),
    )
    .set(challenges::state.eq("superseded"))
    .execute(conn)?;
    diesel::insert_into(challenges::table)
        .values(&row)
        .execute(conn)?;
    for key in &keys {
        diesel::insert_into(challenge_keys::table)
            .values((
                challenge_keys::challenge_id.eq(&row.id),
                challenge_keys::key.eq(key),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The most recent challenge of `purpose` carrying `subject_key`; an open
/// one, if any, counts as the most recent.
pub(crate) fn latest(
    conn: &mut DbConn,
    purpose: &str,
    subject_key: &str,
) -> Result<Option<Challenge>, DbError> {
    let base = challenges::table
        .filter(challenges::purpose.eq(purpose))
        .filter(
            challenges::id.eq_any(
                challenge_keys::table
                    .filter(challenge_keys::key.eq(subject_key))
                    .select(challenge_keys::challenge_id),
            ),
        );
    // Issuing supersedes every open challenge of the key, so an open one,
    // if any, is the latest, even within one millisecond.
    let open: Option<ChallengeRow> = base
        .filter(challenges::state.eq("open"))
        .order(challenges::issued_at.desc())
        .select(ChallengeRow::as_select())
        .first(conn)
        .optional()?;
    let row = match open {
        Some(r) => Some(r),
        None => base
            .order(challenges::issued_at.desc())
            .select(ChallengeRow::as_select())
            .first(conn)
            .optional()?,
    };
    row.map(ChallengeRow::into_challenge).transpose()
}

/// The challenge of `purpose` whose lookup MAC is `lookup`.
pub(crate) fn by_lookup(
    conn: &mut DbConn,
    purpose: &str,
    lookup: &[u8],
) -> Result<Option<Challenge>, DbError> {
    let row: Option<ChallengeRow> = challenges::table
        .filter(challenges::purpose.eq(purpose))
        .filter(challenges::lookup_mac.eq(lookup))
        .select(ChallengeRow::as_select())
        .first(conn)
        .optional()?;
    row.map(ChallengeRow::into_challenge).transpose()
}

/// Counts one failure while the challenge is open at `now`; the new count,
/// or `None` when it was not open.
pub(crate) fn record_failure(
    conn: &mut DbConn,
    id: &str,
    now: i64,
) -> Result<Option<u32>, DbError> {
    let failures: Option<i32> = diesel::update(
        challenges::table
            .filter(challenges::id.eq(id))
            .filter(challenges::state.eq("open"))
            .filter(challenges::failures.lt(challenges::max_failures))
            .filter(challenges::expires_at.gt(now)),
    )
    .set(challenges::failures.eq(challenges::failures + 1))
    .returning(challenges::failures)
    .get_result(conn)
    .optional()?;
    Ok(failures.map(|f| u32::try_from(f).unwrap_or(0)))
}

/// Consumes the challenge while it is open at `now`; whether it was.
pub(crate) fn consume(conn: &mut DbConn, id: &str, now: i64) -> Result<bool, DbError> {
    let won = diesel::update(
        challenges::table
            .filter(challenges::id.eq(id))
            .filter(challenges::state.eq("open"))
            .filter(challenges::failures.lt(challenges::max_failures))
            .filter(challenges::expires_at.gt(now)),
    )
    .set(challenges::state.eq("consumed"))
    .execute(conn)?;
    Ok(won == 1)
}

/// Consumes every open challenge of these purposes carrying `key`.
pub(crate) fn consume_open(
    conn: &mut DbConn,
    key: &str,
    purposes: &[Purpose],
) -> Result<(), DbError> {
    let purposes: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    diesel::update(
        challenges::table
            .filter(challenges::purpose.eq_any(purposes))
            .filter(challenges::state.eq("open"))
            .filter(
                challenges::id.eq_any(
                    challenge_keys::table
                        .filter(challenge_keys::key.eq(key))
                        .select(challenge_keys::challenge_id),
                ),
            ),
    )
    .set(challenges::state.eq("consumed"))
    .execute(conn)?;
    Ok(())
}
