//! The two-step one-time-code state machine.
//!
//! A step-1 call issues a [`Challenge`]; a step-2 call presents a code, and the
//! challenge either accepts it (and is consumed together with its effect) or
//! counts a failure. Every transition is a pure function of the challenge and
//! `now`. Repositories apply the same transitions with conditional updates
//! (see `accountd-ports`), so parallel requests can neither gain tries nor use
//! a code twice.

use crate::{
    ChallengeId, CodeFormat, CodeMac, Email, MacKey, OneTimeCode, PasswordHash, Timestamp, UserId,
    Username,
};
use serde::{Deserialize, Serialize};

/// What a challenge is for. Each purpose has its own code format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// forgotPassword `sendEmail` / `checkCode` / `resetPassword`.
    ForgotPassword,
    /// Unicat `signup_request` / `signup`.
    Signup,
    /// Unicat `reset_password_request` / `reset_password`.
    ResetPassword,
    /// Unicat `update_email_request` / `update_email`.
    ChangeEmail,
}

impl Purpose {
    /// The storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ForgotPassword => "forgot_password",
            Self::Signup => "signup",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmail => "change_email",
        }
    }

    /// Parses the storage name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::ForgotPassword,
            Self::Signup,
            Self::ResetPassword,
            Self::ChangeEmail,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }

    /// The format of the code mailed for this purpose.
    pub fn code_format(self) -> CodeFormat {
        match self {
            Self::ForgotPassword => CodeFormat::Digits6,
            Self::Signup | Self::ResetPassword | Self::ChangeEmail => CodeFormat::Crockford6,
        }
    }
}

/// Who or what a challenge is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    /// One existing account (forgotPassword, a Unicat reset by username).
    Account {
        /// The account.
        user: UserId,
    },
    /// Every account sharing an address (a Unicat reset by email).
    Accounts {
        /// The address the code was mailed to.
        email: Email,
        /// The accounts covered.
        users: Vec<UserId>,
    },
    /// A pending sign-up: every step-1 field, the password only as a hash.
    Signup {
        /// The requested name.
        username: Username,
        /// The address to verify.
        email: Email,
        /// The hash of the step-1 password.
        password_hash: PasswordHash,
    },
    /// A pending change of address.
    EmailChange {
        /// The account.
        user: UserId,
        /// The address to verify.
        new_email: Email,
    },
    /// A decoy (enumeration protection): a real stored challenge standing
    /// in for an account that does not exist. It covers no account, counts
    /// tries like any other, and never accepts a code (see
    /// [`Subject::is_decoy`]).
    Decoy {
        /// `decoy:<Username::typed_key of the typed text>`: limited,
        /// superseded and found under it (see [`Subject::decoy`]).
        key: String,
        /// A digest of the exact typed username of a decoy by username
        /// (see [`Subject::decoy_covers`]); `None` for a decoy by email,
        /// which covers no username. No typed text is stored in clear.
        name: Option<String>,
    },
}

impl Subject {
    /// The decoy for `typed` (a username, or an address when `by_email`),
    /// keyed by the case-folded digest of the text, as a name that may not
    /// exist is everywhere else ([`Username::typed_key`]).
    pub fn decoy(typed: &str, by_email: bool) -> Self {
        Self::Decoy {
            key: Self::decoy_key(typed),
            name: (!by_email).then(|| exact_digest(typed)),
        }
    }

    /// The decoy for a name matched exactly (a Unicat reset by username,
    /// case-sensitive): superseded only by a request for the very same
    /// text, as a real account's challenge is by requests for its exact
    /// name (`Ghost` and `GHOST` are two decoys, as `Bob` and `BOB` are an
    /// account and a decoy). Its issuance is still limited under
    /// [`Subject::decoy_key`], the budget shared with forgotPassword.
    pub fn exact_decoy(typed: &str) -> Self {
        let name = exact_digest(typed);
        Self::Decoy {
            key: format!("decoy:exact:{name}"),
            name: Some(name),
        }
    }

    /// The key of the decoy for `typed`.
    pub fn decoy_key(typed: &str) -> String {
        format!("decoy:{}", Username::typed_key(typed))
    }

    /// Whether this is a decoy: it can never be consumed into an effect.
    pub fn is_decoy(&self) -> bool {
        matches!(self, Self::Decoy { .. })
    }

    /// Whether a decoy by username names exactly `username` (compared as
    /// exactly as a real account's name is at step 2: case-sensitively).
    pub fn decoy_covers(&self, username: &str) -> bool {
        match self {
            Self::Decoy {
                name: Some(name), ..
            } => *name == exact_digest(username),
            _ => false,
        }
    }

    /// The key of one account.
    pub fn user_key(user: &UserId) -> String {
        format!("user:{user}")
    }

    /// The key of one address (compared case-insensitively).
    pub fn email_key(email: &Email) -> String {
        format!("email:{}", email.key())
    }

    /// The main key, under which issuance limits count: one account, or one
    /// address for sign-ups and resets by email.
    pub fn key(&self) -> String {
        match self {
            Self::Account { user } | Self::EmailChange { user, .. } => Self::user_key(user),
            Self::Accounts { email, .. } | Self::Signup { email, .. } => Self::email_key(email),
            Self::Decoy { key, .. } => key.clone(),
        }
    }

    /// Every key the challenge is about: the main key and each covered
    /// account. A new challenge supersedes the open ones of the same purpose
    /// that share any key, and a password change consumes the open reset
    /// challenges that carry the account's key.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = vec![self.key()];
        if let Self::Accounts { users, .. } = self {
            keys.extend(users.iter().map(Self::user_key));
        }
        keys
    }
}

/// SHA-256 (hex) of the exact text, case kept.
fn exact_digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The numbers of one kind of challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengePolicy {
    /// Failed tries allowed; the next try after that many is refused.
    pub max_failures: u32,
    /// Life of a challenge, in seconds.
    pub ttl_seconds: i64,
}

impl ChallengePolicy {
    /// forgotPassword: 11 failed tries (the route spec), `ttl_seconds` life.
    pub fn forgot_password(ttl_seconds: i64) -> Self {
        Self {
            max_failures: 11,
            ttl_seconds,
        }
    }

    /// Unicat two-step flows: `max_failures` (default 5) failed tries.
    pub fn unicat(ttl_seconds: i64, max_failures: u32) -> Self {
        Self {
            max_failures,
            ttl_seconds,
        }
    }
}

/// A challenge's state. Only `Open`, `Consumed` and `Superseded` are
/// stored; `Expired` and `Exhausted` follow from the clock and the failure
/// count (see [`Challenge::state_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeState {
    /// Accepting tries.
    Open,
    /// Used: its effect was applied.
    Consumed,
    /// Every allowed failed try was spent.
    Exhausted,
    /// Past its expiry.
    Expired,
    /// A newer challenge for the same subject and purpose replaced it.
    Superseded,
}

impl ChallengeState {
    /// The storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Consumed => "consumed",
            Self::Exhausted => "exhausted",
            Self::Expired => "expired",
            Self::Superseded => "superseded",
        }
    }

    /// Parses the storage name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Open,
            Self::Consumed,
            Self::Exhausted,
            Self::Expired,
            Self::Superseded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// Why a challenge does not accept a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// Already used.
    #[error("the code was already used")]
    Consumed,
    /// Replaced by a newer code.
    #[error("the code was replaced by a newer one")]
    Superseded,
    /// Past its expiry.
    #[error("the code has expired")]
    Expired,
    /// Every allowed failed try was spent (refused even with the right code).
    #[error("too many failed tries")]
    Exhausted,
}

/// The outcome of presenting a code to a live challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The code matches.
    Correct,
    /// The code does not match: a failure must be recorded.
    Wrong,
}

/// One issued challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    id: ChallengeId,
    purpose: Purpose,
    subject: Subject,
    code_mac: CodeMac,
    lookup: Option<CodeMac>,
    issued_at: Timestamp,
    expires_at: Timestamp,
    failures: u32,
    max_failures: u32,
    state: ChallengeState,
}

impl Challenge {
    /// Issues a challenge for `code` (drawn by the caller). Only the code's
    /// MAC, bound to the challenge id and purpose, is kept.
    pub fn issue(
        id: ChallengeId,
        purpose: Purpose,
        subject: Subject,
        code: &OneTimeCode,
        key: &MacKey,
        policy: ChallengePolicy,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            purpose,
            subject,
            code_mac: Self::mac_of(key, id, purpose, code.expose()),
            lookup: None,
            issued_at: now,
            expires_at: now.plus_seconds(policy.ttl_seconds),
            failures: 0,
            max_failures: policy.max_failures,
            state: ChallengeState::Open,
        }
    }

    /// Rebuilds a stored challenge (for repositories). `state` is the stored
    /// state: `Open`, `Consumed` or `Superseded`.
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        id: ChallengeId,
        purpose: Purpose,
        subject: Subject,
        code_mac: CodeMac,
        lookup: Option<CodeMac>,
        issued_at: Timestamp,
        expires_at: Timestamp,
        failures: u32,
        max_failures: u32,
        state: ChallengeState,
    ) -> Self {
        Self {
            id,
            purpose,
            subject,
            code_mac,
            lookup,
            issued_at,
            expires_at,
            failures,
            max_failures,
            state,
        }
    }

    /// The MAC under which a challenge is found by the validation code its
    /// caller holds (Unicat step 2). Bound to the purpose, not to an id.
    pub fn lookup_mac(key: &MacKey, purpose: Purpose, validation_code: &str) -> CodeMac {
        key.mac(&[
            b"validation-code",
            purpose.as_str().as_bytes(),
            validation_code.as_bytes(),
        ])
    }

    /// The challenge, findable by a validation code's [`Challenge::lookup_mac`].
    #[must_use]
    pub fn with_lookup(self, lookup: CodeMac) -> Self {
        Self {
            lookup: Some(lookup),
            ..self
        }
    }

    /// The stored lookup MAC, if the challenge has a validation code.
    pub fn lookup(&self) -> Option<&CodeMac> {
        self.lookup.as_ref()
    }

    fn mac_of(key: &MacKey, id: ChallengeId, purpose: Purpose, normalized: &str) -> CodeMac {
        key.mac(&[
            b"one-time-code",
            purpose.as_str().as_bytes(),
            id.as_uuid().as_bytes(),
            normalized.as_bytes(),
        ])
    }

    /// The id.
    pub fn id(&self) -> ChallengeId {
        self.id
    }
    /// The purpose.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }
    /// The subject.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }
    /// The stored MAC of the code.
    pub fn code_mac(&self) -> &CodeMac {
        &self.code_mac
    }
    /// When it was issued.
    pub fn issued_at(&self) -> Timestamp {
        self.issued_at
    }
    /// When it stops accepting tries.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
    /// Failed tries so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
    /// Failed tries allowed.
    pub fn max_failures(&self) -> u32 {
        self.max_failures
    }
    /// The stored state (see [`Challenge::state_at`] for the effective one).
    pub fn stored_state(&self) -> ChallengeState {
        self.state
    }
    /// Failed tries left before the challenge is exhausted.
    pub fn attempts_left(&self) -> u32 {
        self.max_failures.saturating_sub(self.failures)
    }

    /// The effective state at `now`. Precedence: used or replaced, then
    /// expired, then exhausted: an expired code is "no code" even when its
    /// tries were spent.
    pub fn state_at(&self, now: Timestamp) -> ChallengeState {
        match self.state {
            ChallengeState::Consumed | ChallengeState::Superseded => self.state,
            _ if now >= self.expires_at => ChallengeState::Expired,
            _ if self.failures >= self.max_failures => ChallengeState::Exhausted,
            ChallengeState::Exhausted => ChallengeState::Exhausted,
            _ => ChallengeState::Open,
        }
    }

    /// `Ok` when the challenge accepts a try at `now`.
    pub fn ensure_open(&self, now: Timestamp) -> Result<(), ChallengeError> {
        match self.state_at(now) {
            ChallengeState::Open => Ok(()),
            ChallengeState::Consumed => Err(ChallengeError::Consumed),
            ChallengeState::Superseded => Err(ChallengeError::Superseded),
            ChallengeState::Expired => Err(ChallengeError::Expired),
            ChallengeState::Exhausted => Err(ChallengeError::Exhausted),
        }
    }

    /// Presents `input` (normalised per the purpose's format; anything that
    /// cannot be a code is simply wrong). The comparison is constant-time.
    /// Refused when the challenge is not open, even when the code is right.
    pub fn attempt(
        &self,
        now: Timestamp,
        key: &MacKey,
        input: &str,
    ) -> Result<Attempt, ChallengeError> {
        self.ensure_open(now)?;
        let Some(normalized) = self.purpose.code_format().normalize(input) else {
            return Ok(Attempt::Wrong);
        };
        if Self::mac_of(key, self.id, self.purpose, &normalized) == self.code_mac {
            Ok(Attempt::Correct)
        } else {
            Ok(Attempt::Wrong)
        }
    }

    /// The challenge after one more failed try (a repository applies this
    /// only while the challenge is open at `now`).
    pub fn with_failure(&self, now: Timestamp) -> Result<Self, ChallengeError> {
        self.ensure_open(now)?;
        Ok(Self {
            failures: self.failures.saturating_add(1),
            ..self.clone()
        })
    }

    /// The challenge once used (only while open at `now`).
    pub fn consumed(&self, now: Timestamp) -> Result<Self, ChallengeError> {
        self.ensure_open(now)?;
        Ok(Self {
            state: ChallengeState::Consumed,
            ..self.clone()
        })
    }

    /// The challenge once replaced by a newer one (only while still stored
    /// as open; a used challenge stays used).
    pub fn superseded(&self) -> Self {
        let state = match self.state {
            ChallengeState::Open | ChallengeState::Exhausted | ChallengeState::Expired => {
                ChallengeState::Superseded
            }
            s => s,
        };
        Self {
            state,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MacKey {
        MacKey::from_bytes([9; 32])
    }
    fn t(secs: i64) -> Timestamp {
        Timestamp::from_millis(1_700_000_000_000).plus_seconds(secs)
    }
    fn user() -> UserId {
        UserId::from_random_bytes([1; 16])
    }
    fn forgot(code: u32) -> Challenge {
        let code = CodeFormat::Digits6.code_from_draws(&[code]).unwrap();
        Challenge::issue(
            ChallengeId::from_random_bytes([2; 16]),
            Purpose::ForgotPassword,
            Subject::Account { user: user() },
            &code,
            &key(),
            ChallengePolicy::forgot_password(900),
            t(0),
        )
    }

    #[test]
    fn a_new_challenge_is_open_until_it_expires() {
        let c = forgot(482_901);
        assert_eq!(c.state_at(t(0)), ChallengeState::Open);
        assert_eq!(c.state_at(t(899)), ChallengeState::Open);
        assert_eq!(c.state_at(t(900)), ChallengeState::Expired);
        assert_eq!(c.expires_at(), t(900));
    }

    #[test]
    fn the_right_code_is_correct_and_changes_nothing() {
        let c = forgot(482_901);
        assert_eq!(c.attempt(t(1), &key(), "482901"), Ok(Attempt::Correct));
        assert_eq!(c.failures(), 0);
    }

    #[test]
    fn a_wrong_or_malformed_code_is_wrong() {
        let c = forgot(482_901);
        assert_eq!(c.attempt(t(1), &key(), "482902"), Ok(Attempt::Wrong));
        assert_eq!(c.attempt(t(1), &key(), "48290"), Ok(Attempt::Wrong));
        assert_eq!(c.attempt(t(1), &key(), "abcdef"), Ok(Attempt::Wrong));
    }

    #[test]
    fn the_code_is_bound_to_the_key() {
        let c = forgot(482_901);
        let other = MacKey::from_bytes([8; 32]);
        assert_eq!(c.attempt(t(1), &other, "482901"), Ok(Attempt::Wrong));
    }

    #[test]
    fn eleven_failures_exhaust_a_forgot_password_code_and_the_twelfth_try_is_refused_even_when_right(
    ) {
        let mut c = forgot(482_901);
        for i in 0..11 {
            assert_eq!(c.attempts_left(), 11 - i);
            c = c.with_failure(t(1)).unwrap();
        }
        assert_eq!(c.failures(), 11);
        assert_eq!(c.state_at(t(2)), ChallengeState::Exhausted);
        assert_eq!(
            c.attempt(t(2), &key(), "482901"),
            Err(ChallengeError::Exhausted)
        );
        assert_eq!(c.with_failure(t(2)), Err(ChallengeError::Exhausted));
    }

    #[test]
    fn an_expired_code_is_refused_even_when_right_and_expiry_wins_over_exhaustion() {
        let mut c = forgot(482_901);
        assert_eq!(
            c.attempt(t(900), &key(), "482901"),
            Err(ChallengeError::Expired)
        );
        for _ in 0..11 {
            c = c.with_failure(t(1)).unwrap();
        }
        assert_eq!(c.ensure_open(t(901)), Err(ChallengeError::Expired));
    }

    #[test]
    fn a_consumed_code_cannot_be_used_again() {
        let c = forgot(482_901).consumed(t(1)).unwrap();
        assert_eq!(c.stored_state(), ChallengeState::Consumed);
        assert_eq!(
            c.attempt(t(2), &key(), "482901"),
            Err(ChallengeError::Consumed)
        );
        assert_eq!(c.consumed(t(2)), Err(ChallengeError::Consumed));
        assert_eq!(c.superseded().stored_state(), ChallengeState::Consumed);
    }

    #[test]
    fn a_superseded_code_is_refused_and_consumption_wins_over_expiry() {
        let c = forgot(482_901).superseded();
        assert_eq!(
            c.attempt(t(1), &key(), "482901"),
            Err(ChallengeError::Superseded)
        );
        let used = forgot(482_901).consumed(t(1)).unwrap();
        assert_eq!(used.state_at(t(5000)), ChallengeState::Consumed);
    }

    #[test]
    fn an_exhausted_code_cannot_be_consumed() {
        let mut c = forgot(482_901);
        for _ in 0..11 {
            c = c.with_failure(t(1)).unwrap();
        }
        assert_eq!(c.consumed(t(1)), Err(ChallengeError::Exhausted));
    }

    #[test]
    fn unicat_codes_are_crockford_normalised_and_exhaust_after_the_configured_tries() {
        let code = CodeFormat::Crockford6
            .code_from_draws(&[1, 0, 10, 20, 30, 31])
            .unwrap();
        assert_eq!(code.expose(), "10AMYZ");
        let c = Challenge::issue(
            ChallengeId::from_random_bytes([3; 16]),
            Purpose::ResetPassword,
            Subject::Account { user: user() },
            &code,
            &key(),
            ChallengePolicy::unicat(900, 5),
            t(0),
        );
        assert_eq!(c.attempt(t(1), &key(), "lo-amyz"), Ok(Attempt::Correct));
        let mut c = c;
        for _ in 0..5 {
            c = c.with_failure(t(1)).unwrap();
        }
        assert_eq!(c.attempts_left(), 0);
        assert_eq!(
            c.attempt(t(1), &key(), "10AMYZ"),
            Err(ChallengeError::Exhausted)
        );
    }

    #[test]
    fn the_same_code_under_two_challenges_has_different_macs() {
        let code = CodeFormat::Digits6.code_from_draws(&[111_111]).unwrap();
        let mk = |b| {
            Challenge::issue(
                ChallengeId::from_random_bytes([b; 16]),
                Purpose::ForgotPassword,
                Subject::Account { user: user() },
                &code,
                &key(),
                ChallengePolicy::forgot_password(900),
                t(0),
            )
        };
        assert_ne!(mk(4).code_mac(), mk(5).code_mac());
    }

    #[test]
    fn a_lookup_mac_depends_on_purpose_and_code_only() {
        let k = key();
        assert_eq!(
            Challenge::lookup_mac(&k, Purpose::Signup, "abc"),
            Challenge::lookup_mac(&k, Purpose::Signup, "abc")
        );
        assert_ne!(
            Challenge::lookup_mac(&k, Purpose::Signup, "abc"),
            Challenge::lookup_mac(&k, Purpose::ResetPassword, "abc")
        );
        let c = forgot(482_901).with_lookup(Challenge::lookup_mac(&k, Purpose::Signup, "abc"));
        assert_eq!(
            c.lookup(),
            Some(&Challenge::lookup_mac(&k, Purpose::Signup, "abc"))
        );
        assert_eq!(forgot(482_901).lookup(), None);
    }

    #[test]
    fn a_reset_by_email_carries_the_key_of_every_covered_account() {
        let (a, b) = (user(), UserId::from_random_bytes([9; 16]));
        let s = Subject::Accounts {
            email: Email::parse("Ann@Example.com").unwrap(),
            users: vec![a, b],
        };
        assert_eq!(
            s.keys(),
            vec![
                "email:ann@example.com".to_owned(),
                format!("user:{a}"),
                format!("user:{b}")
            ]
        );
        assert_eq!(
            Subject::Account { user: a }.keys(),
            vec![format!("user:{a}")]
        );
    }

    #[test]
    fn subject_keys_are_per_account_or_per_lower_cased_address() {
        let u = user();
        assert_eq!(Subject::Account { user: u }.key(), format!("user:{u}"));
        let s = Subject::Accounts {
            email: Email::parse("Ann@Example.com").unwrap(),
            users: vec![u],
        };
        assert_eq!(s.key(), "email:ann@example.com");
    }

    #[test]
    fn a_decoy_is_keyed_by_the_case_folded_digest_and_covers_only_the_exact_typed_name() {
        let d = Subject::decoy("Ghost", false);
        assert_eq!(d.key(), format!("decoy:{}", Username::typed_key("ghost")));
        assert_eq!(d.keys(), vec![d.key()]);
        assert_eq!(Subject::decoy("GHOST", false).key(), d.key());
        assert!(d.is_decoy());
        assert!(d.decoy_covers("Ghost"));
        assert!(!d.decoy_covers("ghost"));
        let by_email = Subject::decoy("nobody@example.com", true);
        assert!(!by_email.decoy_covers("nobody@example.com"));
        assert!(!Subject::Account { user: user() }.is_decoy());
        assert!(!Subject::Account { user: user() }.decoy_covers("Ghost"));
        // Stored as JSON like every subject: no typed text in clear.
        let json = serde_json::to_string(&d).unwrap();
        assert!(
            json.starts_with(r#"{"kind":"decoy","key":"decoy:"#),
            "{json}"
        );
        assert!(!json.to_lowercase().contains("ghost"), "{json}");
        assert_eq!(serde_json::from_str::<Subject>(&json).unwrap(), d);
    }

    #[test]
    fn purposes_and_states_round_trip_through_their_storage_names() {
        for p in [
            Purpose::ForgotPassword,
            Purpose::Signup,
            Purpose::ResetPassword,
            Purpose::ChangeEmail,
        ] {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
        for s in [
            ChallengeState::Open,
            ChallengeState::Consumed,
            ChallengeState::Exhausted,
            ChallengeState::Expired,
            ChallengeState::Superseded,
        ] {
            assert_eq!(ChallengeState::parse(s.as_str()), Some(s));
        }
    }
}
