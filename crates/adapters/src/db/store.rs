//! Every database operation, written once and compiled for both backends.
//!
//! [`Store`] is object-safe; `impl_store!` expands the same diesel code for
//! `PgConnection` and `SqliteConnection`. What differs between the backends
//! lives in [`Backend`], written by hand for each: how a write transaction
//! starts (`BEGIN IMMEDIATE` on SQLite, so a read-then-write transaction never
//! fails on lock upgrade), how a key is serialised across instances
//! (`pg_advisory_xact_lock` on PostgreSQL; SQLite's single writer already
//! does), and how due outbox rows are locked (`FOR UPDATE SKIP LOCKED`).

use super::rows::{
    email_rows, ChallengeRow, EmailRow, MembershipRow, NewOutboxRow, OutboxRow, ProjectRow, UserRow,
};
use super::schema::{
    challenge_keys, challenges, memberships, outbox, projects, rate_events, user_emails, users,
};
use super::DbError;
use accountd_domain::{
    Challenge, Membership, MembershipStatus, OutgoingMail, Project, ProjectView, User,
};
use accountd_ports::{Limit, QueuedMail, RateDecision};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::SqliteConnection;
use diesel::upsert::excluded;

/// What consuming a challenge changes besides the challenge (storage form
/// of `ChallengeEffect`).
#[derive(Debug, Clone)]
pub(crate) enum StoredEffect {
    SetPassword {
        user_id: String,
        hash: String,
        /// Open challenges of these purposes for `user:<id>` are consumed too.
        purposes: Vec<String>,
    },
    CreateUser(User),
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
}

pub(crate) trait Store {
    fn ping(&mut self) -> Result<(), DbError>;
    fn user_by_id(&mut self, id: &str) -> Result<Option<User>, DbError>;
    fn user_by_username_key(&mut self, key: &str) -> Result<Option<User>, DbError>;
    fn insert_user(&mut self, user: &User) -> Result<(), DbError>;
    fn users_by_email_key(&mut self, key: &str) -> Result<Vec<User>, DbError>;
    fn challenge_by_lookup(
        &mut self,
        purpose: &str,
        lookup: &[u8],
    ) -> Result<Option<Challenge>, DbError>;
    fn insert_project(
        &mut self,
        project: &Project,
        owner: &Membership,
        now: i64,
    ) -> Result<(), DbError>;
    fn save_membership(&mut self, membership: &Membership) -> Result<(), DbError>;
    fn project_views(&mut self, user_id: &str) -> Result<Vec<ProjectView>, DbError>;
    fn issue_challenge(
        &mut self,
        challenge: &Challenge,
        mails: &[OutgoingMail],
        now: i64,
    ) -> Result<(), DbError>;
    fn latest_challenge(
        &mut self,
        purpose: &str,
        subject_key: &str,
    ) -> Result<Option<Challenge>, DbError>;
    fn record_failure(&mut self, id: &str, now: i64) -> Result<Option<u32>, DbError>;
    fn consume_challenge(
        &mut self,
        id: &str,
        now: i64,
        effect: &StoredEffect,
        mails: &[OutgoingMail],
    ) -> Result<bool, DbError>;
    fn rate_hit(&mut self, key: &str, limits: &[Limit], now: i64) -> Result<RateDecision, DbError>;
    fn begin_event(
        &mut self,
        key: &str,
        now: i64,
        since: i64,
        keep_ms: i64,
    ) -> Result<(i64, Vec<i64>), DbError>;
    fn forget_event(&mut self, id: i64) -> Result<(), DbError>;
    fn clear_events(&mut self, key: &str) -> Result<(), DbError>;
    fn purge(&mut self, now: i64) -> Result<Purged, DbError>;
    fn outbox_claim(
        &mut self,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<QueuedMail>, DbError>;
    fn outbox_finish(
        &mut self,
        id: i64,
        now: i64,
        state: &str,
        error: Option<&str>,
    ) -> Result<(), DbError>;
    fn outbox_retry(
        &mut self,
        id: i64,
        attempts: i32,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), DbError>;
    fn outbox_pending(&mut self) -> Result<i64, DbError>;
    #[cfg(feature = "test-support")]
    fn outbox_snapshot(&mut self, id: i64) -> Result<Option<super::OutboxSnapshot>, DbError>;
}

pub(crate) trait Backend: Connection {
    /// Runs `f` in a write transaction.
    fn write_tx<T, F>(&mut self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Self) -> Result<T, DbError>;
    /// Serialises writers of `key` until the transaction ends.
    fn lock_key(&mut self, key: &str) -> Result<(), DbError>;
    /// Ids of due, unleased outbox rows, locked for this transaction.
    fn due_outbox_ids(&mut self, now: i64, limit: i64) -> Result<Vec<i64>, DbError>;
}

impl Backend for PgConnection {
    fn write_tx<T, F>(&mut self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Self) -> Result<T, DbError>,
    {
        self.transaction(f)
    }

    fn lock_key(&mut self, key: &str) -> Result<(), DbError> {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<Text, _>(key)
            .execute(self)?;
        Ok(())
    }

    fn due_outbox_ids(&mut self, now: i64, limit: i64) -> Result<Vec<i64>, DbError> {
        Ok(outbox::table
            .select(outbox::id)
            .filter(outbox::state.eq("pending"))
            .filter(outbox::next_attempt_at.le(now))
            .filter(
                outbox::lease_until
                    .is_null()
                    .or(outbox::lease_until.le(now)),
            )
            .order(outbox::id)
            .limit(limit)
            .for_update()
            .skip_locked()
            .load(self)?)
    }
}

impl Backend for SqliteConnection {
    fn write_tx<T, F>(&mut self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Self) -> Result<T, DbError>,
    {
        self.immediate_transaction(f)
    }

    fn lock_key(&mut self, _key: &str) -> Result<(), DbError> {
        // BEGIN IMMEDIATE already holds the database's only write lock.
        Ok(())
    }

    fn due_outbox_ids(&mut self, now: i64, limit: i64) -> Result<Vec<i64>, DbError> {
        Ok(outbox::table
            .select(outbox::id)
            .filter(outbox::state.eq("pending"))
            .filter(outbox::next_attempt_at.le(now))
            .filter(
                outbox::lease_until
                    .is_null()
                    .or(outbox::lease_until.le(now)),
            )
            .order(outbox::id)
            .limit(limit)
            .load(self)?)
    }
}

macro_rules! impl_store {
    ($conn:ty) => {
        impl Store for $conn {
            fn ping(&mut self) -> Result<(), DbError> {
                diesel::sql_query("SELECT 1").execute(self)?;
                Ok(())
            }

            fn user_by_id(&mut self, id: &str) -> Result<Option<User>, DbError> {
                // A key lookup: load, not `first`, whose bound LIMIT makes
                // SQLite recompile the statement on every call.
                let row: Option<UserRow> = users::table
                    .find(id)
                    .select(UserRow::as_select())
                    .load(self)?
                    .pop();
                self.hydrate_user(row)
            }

            fn user_by_username_key(&mut self, key: &str) -> Result<Option<User>, DbError> {
                let row: Option<UserRow> = users::table
                    .filter(users::username_key.eq(key))
                    .select(UserRow::as_select())
                    .load(self)?
                    .pop();
                self.hydrate_user(row)
            }

            fn insert_user(&mut self, user: &User) -> Result<(), DbError> {
                self.write_tx(|c| c.insert_user_rows(user))
            }

            fn users_by_email_key(&mut self, key: &str) -> Result<Vec<User>, DbError> {
                let rows: Vec<UserRow> = users::table
                    .filter(
                        users::id.eq_any(
                            user_emails::table
                                .filter(user_emails::email_key.eq(key))
                                .select(user_emails::user_id),
                        ),
                    )
                    .order((users::created_at.asc(), users::id.asc()))
                    .select(UserRow::as_select())
                    .load(self)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    out.extend(self.hydrate_user(Some(row))?);
                }
                Ok(out)
            }

            fn challenge_by_lookup(
                &mut self,
                purpose: &str,
                lookup: &[u8],
            ) -> Result<Option<Challenge>, DbError> {
                let row: Option<ChallengeRow> = challenges::table
                    .filter(challenges::purpose.eq(purpose))
                    .filter(challenges::lookup_mac.eq(lookup))
                    .select(ChallengeRow::as_select())
                    .first(self)
                    .optional()?;
                row.map(ChallengeRow::into_challenge).transpose()
            }

            fn insert_project(
                &mut self,
                project: &Project,
                owner: &Membership,
                now: i64,
            ) -> Result<(), DbError> {
                let row = ProjectRow::from_project(project, now)?;
                let member = MembershipRow::from_membership(owner)?;
                self.write_tx(|c| {
                    diesel::insert_into(projects::table)
                        .values(&row)
                        .execute(c)?;
                    diesel::insert_into(memberships::table)
                        .values(&member)
                        .execute(c)?;
                    Ok(())
                })
            }

            fn save_membership(&mut self, membership: &Membership) -> Result<(), DbError> {
                let row = MembershipRow::from_membership(membership)?;
                // One upsert: a delete then insert lets parallel saves of the
                // same row fail on the primary key under PostgreSQL.
                diesel::insert_into(memberships::table)
                    .values(&row)
                    .on_conflict((memberships::project_id, memberships::user_id))
                    .do_update()
                    .set((
                        memberships::status.eq(excluded(memberships::status)),
                        memberships::roles.eq(excluded(memberships::roles)),
                        memberships::notify_email.eq(excluded(memberships::notify_email)),
                        memberships::notify_events.eq(excluded(memberships::notify_events)),
                        memberships::notify_frequency.eq(excluded(memberships::notify_frequency)),
                        memberships::rate_limit_per_second
                            .eq(excluded(memberships::rate_limit_per_second)),
                    ))
                    .execute(self)?;
                Ok(())
            }

            fn project_views(&mut self, user_id: &str) -> Result<Vec<ProjectView>, DbError> {
                let own: Vec<(MembershipRow, ProjectRow)> = memberships::table
                    .inner_join(projects::table)
                    .filter(memberships::user_id.eq(user_id))
                    // Active or invited. Not `eq_any`: diesel cannot cache a
                    // statement with an IN list, and this runs on every init.
                    .filter(memberships::status.ne(MembershipStatus::Declined.as_str()))
                    .order((projects::name.asc(), projects::id.asc()))
                    .select((MembershipRow::as_select(), ProjectRow::as_select()))
                    .load(self)?;
                let mut views = Vec::with_capacity(own.len());
                for (member, project) in own {
                    let owner_row = if project.owner_id == user_id {
                        None
                    } else {
                        memberships::table
                            .find((&project.id, &project.owner_id))
                            .select(MembershipRow::as_select())
                            .first(self)
                            .optional()?
                            .map(MembershipRow::into_membership)
                            .transpose()?
                    };
                    views.push(ProjectView {
                        project: project.into_project()?,
                        own: member.into_membership()?,
                        owner_row,
                    });
                }
                Ok(views)
            }

            fn issue_challenge(
                &mut self,
                challenge: &Challenge,
                mails: &[OutgoingMail],
                now: i64,
            ) -> Result<(), DbError> {
                let row = ChallengeRow::from_challenge(challenge)?;
                let mut keys = challenge.subject().keys();
                keys.sort();
                keys.dedup();
                self.write_tx(|c| {
                    for key in &keys {
                        c.lock_key(&format!("challenge:{}:{key}", row.purpose))?;
                    }
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
                    .execute(c)?;
                    diesel::insert_into(challenges::table)
                        .values(&row)
                        .execute(c)?;
                    for key in &keys {
                        diesel::insert_into(challenge_keys::table)
                            .values((
                                challenge_keys::challenge_id.eq(&row.id),
                                challenge_keys::key.eq(key),
                            ))
                            .execute(c)?;
                    }
                    c.queue_mails(mails, now)
                })
            }

            fn latest_challenge(
                &mut self,
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
                // Issuing supersedes every open challenge of the key, so an
                // open one, if any, is the latest, even within one millisecond.
                let open: Option<ChallengeRow> = base
                    .filter(challenges::state.eq("open"))
                    .order(challenges::issued_at.desc())
                    .select(ChallengeRow::as_select())
                    .first(self)
                    .optional()?;
                let row = match open {
                    Some(r) => Some(r),
                    None => base
                        .order(challenges::issued_at.desc())
                        .select(ChallengeRow::as_select())
                        .first(self)
                        .optional()?,
                };
                row.map(ChallengeRow::into_challenge).transpose()
            }

            fn record_failure(&mut self, id: &str, now: i64) -> Result<Option<u32>, DbError> {
                let failures: Option<i32> = diesel::update(
                    challenges::table
                        .filter(challenges::id.eq(id))
                        .filter(challenges::state.eq("open"))
                        .filter(challenges::failures.lt(challenges::max_failures))
                        .filter(challenges::expires_at.gt(now)),
                )
                .set(challenges::failures.eq(challenges::failures + 1))
                .returning(challenges::failures)
                .get_result(self)
                .optional()?;
                Ok(failures.map(|f| u32::try_from(f).unwrap_or(0)))
            }

            fn consume_challenge(
                &mut self,
                id: &str,
                now: i64,
                effect: &StoredEffect,
                mails: &[OutgoingMail],
            ) -> Result<bool, DbError> {
                self.write_tx(|c| {
                    // Both reset families consume a user's codes: take the
                    // user's lock first so two of them cannot lock each
                    // other's rows in opposite orders.
                    if let StoredEffect::SetPassword { user_id, .. } = effect {
                        c.lock_key(&format!("user:{user_id}"))?;
                    }
                    let won = diesel::update(
                        challenges::table
                            .filter(challenges::id.eq(id))
                            .filter(challenges::state.eq("open"))
                            .filter(challenges::failures.lt(challenges::max_failures))
                            .filter(challenges::expires_at.gt(now)),
                    )
                    .set(challenges::state.eq("consumed"))
                    .execute(c)?;
                    if won == 0 {
                        return Ok(false);
                    }
                    match effect {
                        StoredEffect::SetPassword {
                            user_id,
                            hash,
                            purposes,
                        } => {
                            let changed = diesel::update(users::table.find(user_id))
                                .set((
                                    users::password_hash.eq(hash),
                                    users::credential_version.eq(users::credential_version + 1),
                                ))
                                .execute(c)?;
                            if changed != 1 {
                                return Err(DbError::Corrupt(format!(
                                    "user {user_id} vanished while its code was consumed"
                                )));
                            }
                            diesel::update(
                                challenges::table
                                    .filter(challenges::purpose.eq_any(purposes))
                                    .filter(challenges::state.eq("open"))
                                    .filter(
                                        challenges::id.eq_any(
                                            challenge_keys::table
                                                .filter(
                                                    challenge_keys::key
                                                        .eq(format!("user:{user_id}")),
                                                )
                                                .select(challenge_keys::challenge_id),
                                        ),
                                    ),
                            )
                            .set(challenges::state.eq("consumed"))
                            .execute(c)?;
                        }
                        StoredEffect::CreateUser(user) => c.insert_user_rows(user)?,
                    }
                    c.queue_mails(mails, now)?;
                    Ok(true)
                })
            }

            fn rate_hit(
                &mut self,
                key: &str,
                limits: &[Limit],
                now: i64,
            ) -> Result<RateDecision, DbError> {
                let active: Vec<Limit> = limits.iter().copied().filter(|l| l.max > 0).collect();
                let Some(longest) = active.iter().map(|l| l.window_seconds).max() else {
                    return Ok(RateDecision::Allowed);
                };
                self.write_tx(|c| {
                    c.lock_key(&format!("rate:{key}"))?;
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
                            retry_ms = retry_ms.max(
                                (leaving + l.window_seconds * 1000 - now)
                                    .min(l.window_seconds * 1000),
                            );
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
                })
            }

            fn begin_event(
                &mut self,
                key: &str,
                now: i64,
                since: i64,
                keep_ms: i64,
            ) -> Result<(i64, Vec<i64>), DbError> {
                self.write_tx(|c| {
                    c.lock_key(&format!("rate:{key}"))?;
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

            fn forget_event(&mut self, id: i64) -> Result<(), DbError> {
                diesel::delete(rate_events::table.find(id)).execute(self)?;
                Ok(())
            }

            fn clear_events(&mut self, key: &str) -> Result<(), DbError> {
                diesel::delete(rate_events::table.filter(rate_events::key.eq(key)))
                    .execute(self)?;
                Ok(())
            }

            fn purge(&mut self, now: i64) -> Result<Purged, DbError> {
                const DAY: i64 = 86_400_000;
                self.write_tx(|c| {
                    let rate_events =
                        diesel::delete(rate_events::table.filter(rate_events::at.le(now - DAY)))
                            .execute(c)?;
                    let outbox = diesel::delete(
                        outbox::table
                            .filter(outbox::state.ne("pending"))
                            .filter(outbox::finished_at.le(now - 7 * DAY)),
                    )
                    .execute(c)?;
                    let old = challenges::table
                        .filter(challenges::expires_at.le(now - DAY))
                        .select(challenges::id);
                    diesel::delete(
                        challenge_keys::table.filter(challenge_keys::challenge_id.eq_any(old)),
                    )
                    .execute(c)?;
                    let challenges = diesel::delete(
                        challenges::table.filter(challenges::expires_at.le(now - DAY)),
                    )
                    .execute(c)?;
                    Ok(Purged {
                        rate_events,
                        outbox,
                        challenges,
                    })
                })
            }

            fn outbox_claim(
                &mut self,
                owner: &str,
                now: i64,
                lease_until: i64,
                limit: i64,
            ) -> Result<Vec<QueuedMail>, DbError> {
                let rows: Vec<OutboxRow> = self.write_tx(|c| {
                    let ids = c.due_outbox_ids(now, limit)?;
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

            fn outbox_finish(
                &mut self,
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
                    .execute(self)?;
                Ok(())
            }

            fn outbox_retry(
                &mut self,
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
                    .execute(self)?;
                Ok(())
            }

            fn outbox_pending(&mut self) -> Result<i64, DbError> {
                Ok(outbox::table
                    .filter(outbox::state.eq("pending"))
                    .count()
                    .get_result(self)?)
            }

            #[cfg(feature = "test-support")]
            fn outbox_snapshot(
                &mut self,
                id: i64,
            ) -> Result<Option<super::OutboxSnapshot>, DbError> {
                Ok(outbox::table
                    .find(id)
                    .select(super::OutboxSnapshot::as_select())
                    .first(self)
                    .optional()?)
            }
        }

        impl Helpers for $conn {
            fn insert_user_rows(&mut self, user: &User) -> Result<(), DbError> {
                diesel::insert_into(users::table)
                    .values(&UserRow::from_user(user))
                    .execute(self)?;
                for e in &email_rows(user) {
                    diesel::insert_into(user_emails::table)
                        .values(e)
                        .execute(self)?;
                }
                Ok(())
            }

            fn queue_mails(&mut self, mails: &[OutgoingMail], now: i64) -> Result<(), DbError> {
                for mail in mails {
                    let row = NewOutboxRow::pending(mail, now);
                    diesel::insert_into(outbox::table)
                        .values(&row)
                        .execute(self)?;
                }
                Ok(())
            }

            fn hydrate_user(&mut self, row: Option<UserRow>) -> Result<Option<User>, DbError> {
                let Some(row) = row else { return Ok(None) };
                let emails: Vec<EmailRow> = user_emails::table
                    .filter(user_emails::user_id.eq(&row.id))
                    .order(user_emails::position)
                    .select(EmailRow::as_select())
                    .load(self)?;
                row.into_user(emails).map(Some)
            }
        }
    };
}

trait Helpers {
    fn insert_user_rows(&mut self, user: &User) -> Result<(), DbError>;
    fn queue_mails(&mut self, mails: &[OutgoingMail], now: i64) -> Result<(), DbError>;
    fn hydrate_user(&mut self, row: Option<UserRow>) -> Result<Option<User>, DbError>;
}

impl_store!(PgConnection);
impl_store!(SqliteConnection);
