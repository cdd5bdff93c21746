//! The Unicat account capabilities: sign-up, password reset, login and
//! session payloads. Each use case returns its own error enum; validation
//! failures carry an [`Invalid`] that the HTTP layer turns into a 1001.

mod reset;
mod session;
mod signup;
#[cfg(test)]
mod test_support;

pub use reset::{PasswordReset, ResetError, ResetRequestError, ResetRequested};
pub use session::{AuthError, LoginError, Session, Sessions};
pub use signup::{Signup, SignupError, SignupRequestError};

use crate::{Failure, Ports};
use accountd_domain::{
    Attempt, Challenge, ChallengeError, ChallengeId, CodeMac, MacKey, OneTimeCode, PasswordPolicy,
    PasswordRejection, Purpose, Timestamp,
};
use accountd_ports::{Limit, RateDecision};

/// The numbers of the Unicat flows.
#[derive(Debug, Clone)]
pub struct UnicatSettings {
    /// Life of a challenge.
    pub code_ttl_seconds: i64,
    /// Failed tries that exhaust a challenge.
    pub max_failures: u32,
    /// Challenges per account or address per hour (0: off).
    pub codes_per_hour: u32,
    /// Challenges per account or address per day (0: off).
    pub codes_per_day: u32,
    /// Step-1 calls per client address per hour (0: off).
    pub step1_per_ip_per_hour: u32,
    /// Answer reset requests as if unknown accounts existed.
    pub enumeration_protection: bool,
    /// The password rules.
    pub password_policy: PasswordPolicy,
}

/// Why a value was refused (Unicat code 1001).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    UsernameInvalid,
    UsernameUnavailable,
    PasswordWeak,
    PasswordTooLong,
    EmailInvalid,
    CodeInvalid,
    CodeExpired,
    CodeExhausted,
    RequestMismatch,
}

impl Reason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsernameInvalid => "username_invalid",
            Self::UsernameUnavailable => "username_unavailable",
            Self::PasswordWeak => "password_weak",
            Self::PasswordTooLong => "password_too_long",
            Self::EmailInvalid => "email_invalid",
            Self::CodeInvalid => "code_invalid",
            Self::CodeExpired => "code_expired",
            Self::CodeExhausted => "code_exhausted",
            Self::RequestMismatch => "request_mismatch",
        }
    }
}

/// A refused value: the field, the reason, one human sentence, and the
/// extras of some reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The request field.
    pub field: &'static str,
    /// Why.
    pub reason: Reason,
    /// One human sentence.
    pub detail: String,
    /// For `password_weak`: the estimator's hints.
    pub suggestions: Option<Vec<String>>,
    /// For `code_invalid`: failed tries left.
    pub attempts_left: Option<u32>,
}

impl Invalid {
    pub(crate) fn new(field: &'static str, reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            field,
            reason,
            detail: detail.into(),
            suggestions: None,
            attempts_left: None,
        }
    }

    pub(crate) fn password(field: &'static str, r: PasswordRejection) -> Self {
        let detail = r.to_string();
        match r {
            PasswordRejection::TooLong { .. } => Self::new(field, Reason::PasswordTooLong, detail),
            PasswordRejection::Weak { suggestions } => Self {
                suggestions: Some(suggestions),
                ..Self::new(field, Reason::PasswordWeak, detail)
            },
            // `password_weak` always carries `suggestions` (spec 2.1); a
            // rule failure has no estimator hints, so the list is empty.
            PasswordRejection::TooShort { .. }
            | PasswordRejection::ContainsUsername
            | PasswordRejection::ContainsEmail => Self {
                suggestions: Some(Vec::new()),
                ..Self::new(field, Reason::PasswordWeak, detail)
            },
        }
    }

    pub(crate) fn code_invalid(attempts_left: u32) -> Self {
        Self {
            attempts_left: Some(attempts_left),
            ..Self::new(
                "verification_code",
                Reason::CodeInvalid,
                "The verification code is not valid.",
            )
        }
    }

    /// The refusal for a challenge that does not accept tries.
    pub(crate) fn from_challenge(e: ChallengeError) -> Self {
        match e {
            ChallengeError::Consumed | ChallengeError::Superseded => Self::code_invalid(0),
            ChallengeError::Expired => Self::new(
                "verification_code",
                Reason::CodeExpired,
                "The verification code has expired; request a new one.",
            ),
            ChallengeError::Exhausted => Self::new(
                "verification_code",
                Reason::CodeExhausted,
                "Too many wrong verification codes; request a new one.",
            ),
        }
    }
}

/// The parts a step-1 call draws: the mailed code, the returned validation
/// code, and the challenge id.
pub(crate) struct Drawn {
    pub id: ChallengeId,
    pub code: OneTimeCode,
    pub validation_code: String,
    pub lookup: CodeMac,
}

pub(crate) fn draw(ports: &Ports, key: &MacKey, purpose: Purpose) -> Result<Drawn, Failure> {
    let format = purpose.code_format();
    let (lo, hi) = format.draw_range();
    let draws: Vec<u32> = (0..format.draws())
        .map(|_| ports.random.uniform(lo, hi))
        .collect();
    let code = format
        .code_from_draws(&draws)
        .ok_or_else(|| Failure::Unexpected(anyhow::anyhow!("random draw out of range")))?;
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(&ports.random.bytes16());
    bytes[16..].copy_from_slice(&ports.random.bytes16());
    let validation_code = accountd_domain::validation_code_text(&bytes);
    Ok(Drawn {
        id: ChallengeId::from_random_bytes(ports.random.bytes16()),
        code,
        lookup: Challenge::lookup_mac(key, purpose, &validation_code),
        validation_code,
    })
}

/// A rate-limit refusal, or a failure.
pub(crate) enum LimitError {
    Limited(i64),
    Failure(Failure),
}

pub(crate) async fn limit(
    ports: &Ports,
    key: &str,
    limits: &[Limit],
    now: Timestamp,
) -> Result<(), LimitError> {
    match ports.limiter.hit(key, limits, now).await {
        Ok(RateDecision::Allowed) => Ok(()),
        Ok(RateDecision::Limited {
            retry_after_seconds,
        }) => {
            tracing::info!(
                limit.key_kind = key.split(':').next().unwrap_or(""),
                "rate limit hit"
            );
            Err(LimitError::Limited(retry_after_seconds))
        }
        Err(e) => Err(LimitError::Failure(e.into())),
    }
}

/// `From<LimitError>` for step-1 errors with `TooManyRequests`.
macro_rules! from_limit_error {
    ($($t:ty),*) => {$(
        impl From<LimitError> for $t {
            fn from(e: LimitError) -> Self {
                match e {
                    LimitError::Limited(retry_after_seconds) => Self::TooManyRequests {
                        retry_after_seconds,
                    },
                    LimitError::Failure(f) => Self::Failure(f),
                }
            }
        }
    )*};
}
pub(crate) use from_limit_error;

/// Presents `code` to an open challenge (found by its `lookup` MAC). A
/// wrong code counts one failure with a conditional update; when that loses
/// a race, the reloaded challenge says why (every losing condition is
/// final). `Ok(Err(..))` is the refusal to answer.
pub(crate) async fn try_code(
    ports: &Ports,
    key: &MacKey,
    challenge: &Challenge,
    lookup: CodeMac,
    code: &str,
    now: Timestamp,
) -> Result<Result<(), Invalid>, Failure> {
    match challenge.attempt(now, key, code) {
        Err(e) => Ok(Err(Invalid::from_challenge(e))),
        Ok(Attempt::Correct) => Ok(Ok(())),
        Ok(Attempt::Wrong) => match ports.challenges.record_failure(challenge.id(), now).await? {
            Some(failures) => Ok(Err(Invalid::code_invalid(
                challenge.max_failures().saturating_sub(failures),
            ))),
            None => refusal_after_lost_race(ports, challenge.purpose(), lookup, now)
                .await
                .map(Err),
        },
    }
}

/// Why a challenge refused a step after a conditional update lost a race:
/// the reloaded state, or "invalid" when it is gone or was replaced.
pub(crate) async fn refusal_after_lost_race(
    ports: &Ports,
    purpose: Purpose,
    lookup: CodeMac,
    now: Timestamp,
) -> Result<Invalid, Failure> {
    let reloaded = ports.challenges.find_by_lookup(purpose, lookup).await?;
    Ok(match reloaded.map(|c| c.ensure_open(now)) {
        Some(Err(e)) => Invalid::from_challenge(e),
        Some(Ok(())) | None => Invalid::code_invalid(0),
    })
}

pub(crate) fn issuance_limits(s: &UnicatSettings) -> [Limit; 2] {
    [
        Limit {
            window_seconds: 3600,
            max: s.codes_per_hour,
        },
        Limit {
            window_seconds: 86_400,
            max: s.codes_per_day,
        },
    ]
}

pub(crate) fn ip_limit(s: &UnicatSettings) -> [Limit; 1] {
    [Limit {
        window_seconds: 3600,
        max: s.step1_per_ip_per_hour,
    }]
}
