//! Challenges (one-time codes) and their subject keys.

use super::conn::DbConn;
use super::rows::ChallengeRow;
use super::schema::{challenge_keys, challenges};
use super::{Database, DbError};
use accountd_domain::{Challenge, ChallengeId, CodeMac, Purpose, Timestamp};
use accountd_ports::{ChallengeRepository, StoreError};
use async_trait::async_trait;
use diesel::prelude::*;

#[async_trait]
impl ChallengeRepository for Database {
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
        // Tries at one challenge queue here, not on its row's lock in the
        // database (where each would hold a connection).
        let gate = [super::conn::lock_id(&format!("challenge-row:{id}"))];
        self.write(&gate, move |c| record_failure(c, &id, now.as_millis()))
            .await
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
    let open = open_ids(conn, &keys, std::slice::from_ref(&row.purpose))?;
    close(conn, &open, "superseded")?;
    diesel::insert_into(challenges::table)
        .values(&row)
        .execute(conn)?;
    for key in &keys {
        diesel::insert_into(challenge_keys::table)
            .values((
                challenge_keys::challenge_id.eq(&row.id),
                challenge_keys::key.eq(key),
                challenge_keys::purpose.eq(&row.purpose),
                challenge_keys::issued_at.eq(row.issued_at),
                challenge_keys::is_open.eq(true),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The open challenges of these purposes carrying any of `keys`, found
/// through the partial index of open key rows (`challenge_keys_open`), so
/// the cost does not grow with the closed challenges a key has had. The
/// filter names the column itself, not `= true`: a bound value would keep
/// SQLite from using the partial index.
fn open_ids(
    conn: &mut DbConn,
    keys: &[String],
    purposes: &[String],
) -> Result<Vec<String>, DbError> {
    let mut ids: Vec<String> = challenge_keys::table
        .filter(challenge_keys::is_open)
        .filter(challenge_keys::key.eq_any(keys))
        .filter(challenge_keys::purpose.eq_any(purposes))
        .select(challenge_keys::challenge_id)
        .load(conn)?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Moves the open challenges `ids` to `state` and clears the open flag of
/// every key row of theirs (each state change away from `open` goes
/// through here or [`consume`], which keep the flag in step).
fn close(conn: &mut DbConn, ids: &[String], state: &str) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(
        challenges::table
            .filter(challenges::id.eq_any(ids))
            .filter(challenges::state.eq("open")),
    )
    .set(challenges::state.eq(state))
    .execute(conn)?;
    clear_open(conn, ids)
}

/// Clears the open flag of every key row of the challenges `ids`, in the
/// transaction that closed them.
fn clear_open(conn: &mut DbConn, ids: &[String]) -> Result<(), DbError> {
    diesel::update(challenge_keys::table.filter(challenge_keys::challenge_id.eq_any(ids)))
        .set(challenge_keys::is_open.eq(false))
        .execute(conn)?;
    Ok(())
}

/// The most recent challenge of `purpose` carrying `subject_key`; an open
/// one, if any, counts as the most recent.
pub(crate) fn latest(
    conn: &mut DbConn,
    purpose: &str,
    subject_key: &str,
) -> Result<Option<Challenge>, DbError> {
    // Issuing supersedes every open challenge of the key, so an open one,
    // if any, is the latest, even within one millisecond or when another
    // instance's clock is behind. There is at most one open challenge per
    // key and purpose: load them, not `first()` (whose bound LIMIT makes
    // SQLite recompile the statement).
    let open: Vec<ChallengeRow> = challenge_keys::table
        .inner_join(challenges::table)
        .filter(challenge_keys::is_open)
        .filter(challenge_keys::key.eq(subject_key))
        .filter(challenge_keys::purpose.eq(purpose))
        .filter(challenges::state.eq("open"))
        .select(ChallengeRow::as_select())
        .load(conn)?;
    let row = match open.into_iter().max_by_key(|r| r.issued_at) {
        Some(r) => Some(r),
        None => challenge_keys::table
            .inner_join(challenges::table)
            .filter(challenge_keys::key.eq(subject_key))
            .filter(challenge_keys::purpose.eq(purpose))
            .order(challenge_keys::issued_at.desc())
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
    if won == 1 {
        clear_open(conn, &[id.to_owned()])?;
    }
    Ok(won == 1)
}

/// Consumes every open challenge of these purposes carrying `key`.
pub(crate) fn consume_open(
    conn: &mut DbConn,
    key: &str,
    purposes: &[Purpose],
) -> Result<(), DbError> {
    let purposes: Vec<String> = purposes.iter().map(|p| p.as_str().to_owned()).collect();
    let open = open_ids(conn, &[key.to_owned()], &purposes)?;
    close(conn, &open, "consumed")
}
