//! The mechanics every emailed-code flow shares: the Unicat sign-up and
//! password reset, forgotPassword, and any flow that comes next (an email
//! change). A flow is a [`ChallengeFlow`] for its [`Purpose`] and
//! [`ChallengeSettings`]; with it, step 1 checks the limits, draws a code
//! (and, for a flow whose step 2 names its challenge by a validation code,
//! that code too), builds the challenge and issues it with its mail; step 2
//! finds the challenge again, tries the code, and after a lost race says
//! why the challenge refused.
//!
//! Nothing here words a refusal: a code that is not accepted comes back as
//! a [`Refused`], which each family maps to its own answers
//! (forgotPassword: no code, rate limit exceeded, code incorrect; Unicat:
//! `code_invalid` with `attempts_left`, `code_expired`, `code_exhausted`).
//! Each flow keeps its own order of steps, its subjects and its mail.

use crate::ports::unexpected_conflict;
use crate::{Failure, Ports};
use accountd_domain::{
    Attempt, AuditEvent, AuditEventKind, AuditOutcome, Challenge, ChallengeError, ChallengeId,
    ChallengePolicy, Change, ChangeSet, CodeMac, Conflict, MacKey, OneTimeCode, OutgoingMail,
    PasswordPolicy, Purpose, Subject, Timestamp,
};
use accountd_ports::{Limit, RateDecision};

/// The numbers of an emailed-code flow.
#[derive(Debug, Clone)]
pub struct ChallengeSettings {
    /// Life of a code.
    pub code_ttl_seconds: i64,
    /// Failed tries that exhaust a code.
    pub max_failures: u32,
    /// Challenges per account or address per hour (0: off).
    pub codes_per_hour: u32,
    /// Challenges per account or address per day (0: off).
    pub codes_per_day: u32,
    /// Step-1 calls per client address per hour (0: off).
    pub step1_per_ip_per_hour: u32,
    /// Answer step 1 (and step 2) as if unknown accounts existed.
    pub enumeration_protection: bool,
    /// The password rules.
    pub password_policy: PasswordPolicy,
}

impl ChallengeSettings {
    fn policy(&self) -> ChallengePolicy {
        ChallengePolicy {
            max_failures: self.max_failures,
            ttl_seconds: self.code_ttl_seconds,
        }
    }

    fn issuance_limits(&self) -> [Limit; 2] {
        [
            Limit {
                window_seconds: 3600,
                max: self.codes_per_hour,
            },
            Limit {
                window_seconds: 86_400,
                max: self.codes_per_day,
            },
        ]
    }

    fn client_limit(&self) -> [Limit; 1] {
        [Limit {
            window_seconds: 3600,
            max: self.step1_per_ip_per_hour,
        }]
    }
}

/// A rate limit refused the call (an issuance limit, or the per-client one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests (retry after {retry_after_seconds} s)")]
pub struct RateLimited {
    /// Seconds to wait.
    pub retry_after_seconds: i64,
}

/// How step 2 finds the challenge of step 1.
#[derive(Debug, Clone)]
pub(crate) enum Locator {
    /// The latest challenge of the flow's purpose for this subject key: one
    /// live code per subject (forgotPassword).
    Latest(String),
    /// The challenge whose validation code (returned by step 1) has this MAC
    /// (the Unicat flows).
    Lookup(CodeMac),
}

/// Why a challenge did not accept a code, before a family words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// There is no such challenge (never issued, or a newer one replaced it).
    Missing,
    /// The challenge takes no tries any more.
    Closed(ChallengeError),
    /// A wrong code: one failure was counted, `attempts_left` tries remain.
    Wrong {
        /// Tries left before the challenge is exhausted.
        attempts_left: u32,
    },
}

/// Why step 2's write did not land; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotConsumed {
    /// The challenge was used, replaced or ran out meanwhile: the reloaded
    /// challenge's refusal.
    Refused(Refused),
    /// The account the write creates has a name taken meanwhile; the
    /// challenge is still live.
    UsernameTaken,
}

/// What step 1 draws for a challenge: its id and the mailed code.
pub(crate) struct Drawn {
    pub id: ChallengeId,
    pub code: OneTimeCode,
}

/// One emailed-code flow: its purpose, key and numbers, over the ports.
#[derive(Debug, Clone)]
pub(crate) struct ChallengeFlow {
    ports: Ports,
    mac_key: MacKey,
    settings: ChallengeSettings,
    purpose: Purpose,
    refusals: crate::refusals::RefusalLog,
}

impl ChallengeFlow {
    pub(crate) fn new(
        ports: Ports,
        mac_key: MacKey,
        settings: ChallengeSettings,
        purpose: Purpose,
    ) -> Self {
        Self {
            ports,
            mac_key,
            settings,
            purpose,
            refusals: crate::refusals::RefusalLog::default(),
        }
    }

    pub(crate) fn settings(&self) -> &ChallengeSettings {
        &self.settings
    }

    /// Counts a step-1 call against the per-client limit.
    pub(crate) async fn limit_client(
        &self,
        client: &str,
        now: Timestamp,
    ) -> Result<Result<(), RateLimited>, Failure> {
        self.limit(
            &format!("step1:ip:{client}"),
            &self.settings.client_limit(),
            now,
            "step1_per_ip",
            None,
            Some(client),
        )
        .await
    }

    /// Counts one issuance under `key` (an account, an address, or a decoy
    /// standing in for an unknown one) against the issuance limits.
    /// A refusal is audited for `user` (when the key is an account's)
    /// from `client`.
    pub(crate) async fn limit_issuance(
        &self,
        key: &str,
        user: Option<accountd_domain::UserId>,
        client: Option<&str>,
        now: Timestamp,
    ) -> Result<Result<(), RateLimited>, Failure> {
        self.limit(
            key,
            &self.settings.issuance_limits(),
            now,
            "codes",
            user,
            client,
        )
        .await
    }

    /// Counts one issuance under each of `keys` (a reset by email: the
    /// address and every covered account) against the issuance limits,
    /// all or nothing: checked and recorded in one transaction, so a
    /// refused call counts nothing under any key. A refusal is audited
    /// once, for the account of the first key that names one (`user`).
    pub(crate) async fn limit_issuance_all(
        &self,
        keys: &[String],
        user: Option<accountd_domain::UserId>,
        client: Option<&str>,
        now: Timestamp,
    ) -> Result<Result<(), RateLimited>, Failure> {
        let limits = self.settings.issuance_limits().to_vec();
        let set = keys.iter().fold(ChangeSet::new(), |set, key| {
            set.with(Change::CountHit {
                key: key.clone(),
                limits: limits.clone(),
            })
        });
        match self.ports.apply(set, now).await? {
            Ok(()) => Ok(Ok(())),
            Err(Conflict::Limited {
                retry_after_seconds,
            }) => {
                let first = keys.first().map_or("", String::as_str);
                self.refused(first, now, "codes", user, client).await?;
                Ok(Err(RateLimited {
                    retry_after_seconds,
                }))
            }
            Err(conflict) => Err(unexpected_conflict(conflict)),
        }
    }

    async fn limit(
        &self,
        key: &str,
        limits: &[Limit],
        now: Timestamp,
        metric: &'static str,
        user: Option<accountd_domain::UserId>,
        client: Option<&str>,
    ) -> Result<Result<(), RateLimited>, Failure> {
        match self.ports.limiter.hit(key, limits, now).await? {
            RateDecision::Allowed => Ok(Ok(())),
            RateDecision::Limited {
                retry_after_seconds,
            } => {
                self.refused(key, now, metric, user, client).await?;
                Ok(Err(RateLimited {
                    retry_after_seconds,
                }))
            }
        }
    }

    /// What a refused hit under `key` leaves: a log line, the metric, and
    /// the audit event (the hit itself was not counted).
    async fn refused(
        &self,
        key: &str,
        now: Timestamp,
        metric: &'static str,
        user: Option<accountd_domain::UserId>,
        client: Option<&str>,
    ) -> Result<(), Failure> {
        tracing::info!(
            limit.key_kind = key.split(':').next().unwrap_or(""),
            "rate limit hit"
        );
        crate::metrics::rate_limited(metric);
        // The refused hit was not counted: the event is all that is
        // written, once per key and window (see `refusals`).
        if self.refusals.first(key, now) {
            let event = AuditEvent::new(AuditEventKind::RateLimited, user)
                .outcome(AuditOutcome::Refused)
                .client(client)
                .purpose(self.purpose)
                .word("limit", metric);
            self.ports.record([event], now).await?;
        }
        Ok(())
    }

    /// Draws a code in the purpose's format, then the challenge id.
    pub(crate) fn draw(&self) -> Result<Drawn, Failure> {
        let code = self.draw_code()?;
        Ok(Drawn {
            id: self.draw_id(),
            code,
        })
    }

    /// Draws a code, a 256-bit validation code (for step 1 to return), then
    /// the challenge id.
    pub(crate) fn draw_with_validation_code(&self) -> Result<(Drawn, String), Failure> {
        let code = self.draw_code()?;
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(&self.ports.random.bytes16());
        bytes[16..].copy_from_slice(&self.ports.random.bytes16());
        let validation_code = accountd_domain::validation_code_text(&bytes);
        let drawn = Drawn {
            id: self.draw_id(),
            code,
        };
        Ok((drawn, validation_code))
    }

    fn draw_code(&self) -> Result<OneTimeCode, Failure> {
        let format = self.purpose.code_format();
        let (lo, hi) = format.draw_range();
        let draws: Vec<u32> = (0..format.draws())
            .map(|_| self.ports.random.uniform(lo, hi))
            .collect();
        format
            .code_from_draws(&draws)
            .ok_or_else(|| Failure::Unexpected(anyhow::anyhow!("random draw out of range")))
    }

    fn draw_id(&self) -> ChallengeId {
        ChallengeId::from_random_bytes(self.ports.random.bytes16())
    }

    /// The challenge of `drawn` for `subject`, issued at `now` under the
    /// flow's policy, findable by `validation_code` when given one.
    pub(crate) fn challenge(
        &self,
        drawn: &Drawn,
        validation_code: Option<&str>,
        subject: Subject,
        now: Timestamp,
    ) -> Challenge {
        let challenge = Challenge::issue(
            drawn.id,
            self.purpose,
            subject,
            &drawn.code,
            &self.mac_key,
            self.settings.policy(),
            now,
        );
        match validation_code {
            Some(v) => challenge.with_lookup(self.lookup_mac(v)),
            None => challenge,
        }
    }

    /// Stores `challenge` (superseding the subject's older ones) with the
    /// mail that carries its code, and records `code_issued` (from
    /// `client`), after the event `also` names if any, in the same
    /// transaction.
    pub(crate) async fn issue(
        &self,
        challenge: Challenge,
        mails: Vec<OutgoingMail>,
        client: Option<&str>,
        also: Option<AuditEventKind>,
    ) -> Result<(), Failure> {
        let now = challenge.issued_at();
        let mut set = ChangeSet::new();
        if let Some(kind) = also {
            set = set.audit(audit_of(kind, &challenge).client(client));
        }
        let event = audit_of(AuditEventKind::CodeIssued, &challenge).client(client);
        // A decoy's mail is rendered and written like a real one, as a
        // row no dispatcher sends (`ChangeSet::decoy_mail`).
        let decoy = challenge.subject().is_decoy();
        let set = set.with(Change::IssueChallenge(challenge));
        let set = if decoy {
            set.decoy_mail(mails)
        } else {
            set.mail(mails)
        };
        let set = set.audit(event);
        self.ports.apply(set, now).await?.map_err(|conflict| {
            Failure::Unexpected(anyhow::anyhow!(
                "issuing a challenge has no guard, yet it was refused: {conflict:?}"
            ))
        })
    }

    /// Step 2's one write, at `now`: consumes `challenge` (found at `at`)
    /// and, in the same change set, applies what `effect` adds (the flow's
    /// change and its mail). A lost race is answered from the reloaded
    /// challenge; a conflict no step 2 expects is a [`Failure`].
    pub(crate) async fn consume(
        &self,
        challenge: &Challenge,
        at: &Locator,
        now: Timestamp,
        effect: impl FnOnce(ChangeSet) -> ChangeSet,
    ) -> Result<Result<(), NotConsumed>, Failure> {
        let set = effect(ChangeSet::new().with(Change::ConsumeChallenge(challenge.id())));
        Ok(match self.ports.apply(set, now).await? {
            Ok(()) => Ok(()),
            // A password change also consumes every reset code, so whoever
            // else changed the account won this race too.
            Err(Conflict::ChallengeNotOpen) => Err(NotConsumed::Refused(
                self.refusal_after_lost_race(at, now).await?,
            )),
            Err(Conflict::UsernameTaken) => Err(NotConsumed::UsernameTaken),
            Err(
                conflict @ (Conflict::UserChanged
                | Conflict::MembershipChanged
                | Conflict::OwnsProjects
                | Conflict::RevertSpent
                | Conflict::TooManyProjects
                | Conflict::ProjectChanged
                | Conflict::AddressTaken
                | Conflict::TooManyPendingInvites
                | Conflict::Limited { .. }),
            ) => return Err(unexpected_conflict(conflict)),
        })
    }

    /// Where step 2 finds the challenge whose validation code this is.
    pub(crate) fn by_validation_code(&self, validation_code: &str) -> Locator {
        Locator::Lookup(self.lookup_mac(validation_code))
    }

    fn lookup_mac(&self, validation_code: &str) -> CodeMac {
        Challenge::lookup_mac(&self.mac_key, self.purpose, validation_code)
    }

    async fn find(&self, at: &Locator) -> Result<Option<Challenge>, Failure> {
        Ok(match at {
            Locator::Latest(subject_key) => {
                self.ports
                    .challenges
                    .latest(self.purpose, subject_key)
                    .await?
            }
            Locator::Lookup(mac) => {
                self.ports
                    .challenges
                    .find_by_lookup(self.purpose, *mac)
                    .await?
            }
        })
    }

    /// The challenge at `at` if it still takes tries at `now`; otherwise why
    /// not.
    pub(crate) async fn open(
        &self,
        at: &Locator,
        now: Timestamp,
    ) -> Result<Result<Challenge, Refused>, Failure> {
        Ok(match self.find(at).await? {
            None => Err(Refused::Missing),
            Some(c) => c.ensure_open(now).map(|()| c).map_err(Refused::Closed),
        })
    }

    /// Presents `code` to `challenge` (found at `at`). A wrong code counts
    /// one failure with a conditional update; when that loses a race, the
    /// reloaded challenge says why (every losing condition is final).
    pub(crate) async fn try_code(
        &self,
        challenge: &Challenge,
        at: &Locator,
        code: &str,
        now: Timestamp,
    ) -> Result<Result<(), Refused>, Failure> {
        match challenge.attempt(now, &self.mac_key, code) {
            Err(e) => Ok(Err(Refused::Closed(e))),
            // A decoy never accepts a code: its code was never sent, and
            // should one be hit anyway, it is a wrong code like any other.
            Ok(Attempt::Correct) if !challenge.subject().is_decoy() => Ok(Ok(())),
            Ok(Attempt::Correct | Attempt::Wrong) => self.fail(challenge, at, now).await.map(Err),
        }
    }

    /// Counts one failure on `challenge` (found at `at`) exactly as a
    /// wrong code does, for a step-2 request whose values do not match
    /// the challenge: the refusal is [`Refused::Wrong`] with the tries
    /// left, or the reloaded challenge's after a lost race.
    pub(crate) async fn fail(
        &self,
        challenge: &Challenge,
        at: &Locator,
        now: Timestamp,
    ) -> Result<Refused, Failure> {
        let Some(failures) = self
            .ports
            .challenges
            .record_failure(challenge.id(), now)
            .await?
        else {
            return self.refusal_after_lost_race(at, now).await;
        };
        let attempts_left = challenge.max_failures().saturating_sub(failures);
        crate::metrics::code_failure(self.purpose, attempts_left == 0);
        // The failure was counted by the conditional update above; its
        // events follow it.
        let failed = audit_of(AuditEventKind::CodeFailed, challenge)
            .outcome(AuditOutcome::Failure)
            .count("attempts_left", i64::from(attempts_left));
        let exhausted = (attempts_left == 0).then(|| {
            audit_of(AuditEventKind::CodeExhausted, challenge).outcome(AuditOutcome::Failure)
        });
        self.ports
            .record([failed].into_iter().chain(exhausted), now)
            .await?;
        Ok(Refused::Wrong { attempts_left })
    }

    /// Why the challenge at `at` refused a step after a conditional update
    /// lost a race: its reloaded state, or [`Refused::Missing`] when it is
    /// gone or a newer challenge replaced it.
    pub(crate) async fn refusal_after_lost_race(
        &self,
        at: &Locator,
        now: Timestamp,
    ) -> Result<Refused, Failure> {
        Ok(match self.find(at).await?.map(|c| c.ensure_open(now)) {
            Some(Err(e)) => Refused::Closed(e),
            Some(Ok(())) | None => Refused::Missing,
        })
    }
}

/// An event about `challenge`: its purpose, and the account it concerns
/// when it names one (a reset by email covering several accounts names
/// none; it counts them).
pub(crate) fn audit_of(kind: AuditEventKind, challenge: &Challenge) -> AuditEvent {
    let event = match challenge.subject() {
        Subject::Account { user } | Subject::EmailChange { user, .. } => {
            AuditEvent::new(kind, Some(*user))
        }
        Subject::Accounts { users, .. } => match users.as_slice() {
            [one] => AuditEvent::new(kind, Some(*one)),
            many => AuditEvent::new(kind, None)
                .count("accounts", i64::try_from(many.len()).unwrap_or(i64::MAX)),
        },
        Subject::Signup { .. } => AuditEvent::new(kind, None),
        Subject::Decoy { .. } => AuditEvent::new(kind, None).word("subject", "decoy"),
    };
    event.purpose(challenge.purpose())
}

#[cfg(test)]
mod tests {
    use super::*;
    use accountd_domain::{CodeFormat, Email, UserId};
    use accountd_ports::{
        MockChallengeRepository, MockClock, MockPasswordHasher, MockRandom, MockRateLimiter,
        MockUserRepository,
    };
    use std::sync::Arc;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_millis(1_700_000_000_000).plus_seconds(secs)
    }

    fn settings() -> ChallengeSettings {
        ChallengeSettings {
            code_ttl_seconds: 900,
            max_failures: 3,
            codes_per_hour: 5,
            codes_per_day: 10,
            step1_per_ip_per_hour: 30,
            enumeration_protection: false,
            password_policy: PasswordPolicy::DEFAULT,
        }
    }

    fn subject() -> Subject {
        Subject::EmailChange {
            user: UserId::from_random_bytes([1; 16]),
            new_email: Email::parse("new@example.com").unwrap(),
        }
    }

    /// An email-change flow (a purpose no flow uses yet), drawing every
    /// uniform as 1 and `bytes16` calls of `[4; 16]`.
    fn flow(challenges: MockChallengeRepository, bytes16_calls: usize) -> ChallengeFlow {
        flow_with(
            challenges,
            bytes16_calls,
            accountd_ports::MockChanges::new(),
        )
    }

    fn flow_with(
        challenges: MockChallengeRepository,
        bytes16_calls: usize,
        changes: accountd_ports::MockChanges,
    ) -> ChallengeFlow {
        let mut random = MockRandom::new();
        random.expect_uniform().return_const(1u32);
        random
            .expect_bytes16()
            .times(bytes16_calls)
            .return_const([4u8; 16]);
        ChallengeFlow::new(
            Ports {
                users: Arc::new(MockUserRepository::new()),
                challenges: Arc::new(challenges),
                changes: Arc::new(changes),
                limiter: Arc::new(MockRateLimiter::new()),
                hasher: Arc::new(MockPasswordHasher::new()),
                clock: Arc::new(MockClock::new()),
                random: Arc::new(random),
                admission: Default::default(),
            },
            MacKey::from_bytes([9; 32]),
            settings(),
            Purpose::ChangeEmail,
        )
    }

    fn code() -> String {
        CodeFormat::Crockford6
            .code_from_draws(&[1; 6])
            .unwrap()
            .expose()
            .to_owned()
    }

    #[test]
    fn a_challenge_takes_the_flows_purpose_numbers_and_validation_code() {
        let f = flow(MockChallengeRepository::new(), 3);

        let (drawn, validation_code) = f.draw_with_validation_code().unwrap();
        let c = f.challenge(&drawn, Some(&validation_code), subject(), t(0));

        assert_eq!(drawn.code.expose(), code());
        assert_eq!(c.purpose(), Purpose::ChangeEmail);
        assert_eq!(c.max_failures(), 3);
        assert_eq!(c.expires_at(), t(900));
        let Locator::Lookup(mac) = f.by_validation_code(&validation_code) else {
            panic!("a lookup locator")
        };
        assert_eq!(c.lookup(), Some(&mac));
    }

    #[test]
    fn a_challenge_without_a_validation_code_has_no_lookup() {
        let f = flow(MockChallengeRepository::new(), 1);

        let drawn = f.draw().unwrap();
        let c = f.challenge(&drawn, None, subject(), t(0));

        assert_eq!(drawn.code.expose(), code());
        assert_eq!(c.lookup(), None);
    }

    #[tokio::test]
    async fn a_wrong_code_counts_a_failure_and_says_how_many_tries_are_left() {
        let issuer = flow(MockChallengeRepository::new(), 1);
        let c = issuer.challenge(&issuer.draw().unwrap(), None, subject(), t(0));
        let mut challenges = MockChallengeRepository::new();
        challenges
            .expect_record_failure()
            .times(1)
            .returning(|_, _| Ok(Some(1)));
        // The counted failure's event, alone in a set, at the try's time.
        let mut changes = accountd_ports::MockChanges::new();
        let user = UserId::from_random_bytes([1; 16]);
        changes
            .expect_apply()
            .withf(move |set, now| {
                *now == t(1)
                    && set.changes().is_empty()
                    && set.mails().is_empty()
                    && set.audits()
                        == [AuditEvent::new(AuditEventKind::CodeFailed, Some(user))
                            .purpose(Purpose::ChangeEmail)
                            .outcome(AuditOutcome::Failure)
                            .count("attempts_left", 2)]
            })
            .times(1)
            .returning(|_, _| Ok(accountd_ports::Applied::Committed));
        let f = flow_with(challenges, 0, changes);

        let r = f
            .try_code(&c, &Locator::Latest(subject().key()), "ZZZZZZ", t(1))
            .await
            .unwrap();

        assert_eq!(r, Err(Refused::Wrong { attempts_left: 2 }));
    }

    #[tokio::test]
    async fn a_failure_that_loses_a_race_answers_with_the_reloaded_state() {
        let issuer = flow(MockChallengeRepository::new(), 1);
        let c = issuer.challenge(&issuer.draw().unwrap(), None, subject(), t(0));
        let exhausted = (0..3).fold(c.clone(), |c, _| c.with_failure(t(1)).unwrap());
        let mut challenges = MockChallengeRepository::new();
        challenges
            .expect_record_failure()
            .times(1)
            .returning(|_, _| Ok(None));
        challenges
            .expect_latest()
            .withf(|p, k| *p == Purpose::ChangeEmail && k == subject().key())
            .times(1)
            .return_once(move |_, _| Ok(Some(exhausted)));
        let f = flow(challenges, 0);

        let r = f
            .try_code(&c, &Locator::Latest(subject().key()), "ZZZZZZ", t(1))
            .await
            .unwrap();

        assert_eq!(r, Err(Refused::Closed(ChallengeError::Exhausted)));
    }
}
