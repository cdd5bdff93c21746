//! How a [`Failure`] answers in either family: its cause chain logged once,
//! then a 503 after a wait (a full hash queue says how long; an unavailable
//! database is retried after [`UNAVAILABLE_RETRY_SECONDS`]), a 429 for a
//! write that waited its bound behind others of its key, or an opaque
//! 500. Each family words the answer in its own body.

use crate::cause::Cause;
use accountd_app::Failure;

/// `Retry-After` of a 503 for an unavailable database.
const UNAVAILABLE_RETRY_SECONDS: i64 = 5;

/// What a failure answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureAnswer {
    /// 503 with `Retry-After`.
    ServiceUnavailable {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
    /// 429 with `Retry-After`, as a rate limit.
    TooManyRequests {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
    /// 500, saying nothing of the cause.
    Internal,
}

/// Logs what needs logging (once per answer) and says how to answer.
pub(crate) fn triage(f: &Failure) -> FailureAnswer {
    match f {
        Failure::Overloaded {
            retry_after_seconds,
        } => FailureAnswer::ServiceUnavailable {
            retry_after_seconds: *retry_after_seconds,
        },
        Failure::Contended {
            retry_after_seconds,
        } => {
            tracing::info!("refused: too many requests queued for one key");
            FailureAnswer::TooManyRequests {
                retry_after_seconds: *retry_after_seconds,
            }
        }
        Failure::Unavailable(e) => {
            tracing::warn!(error = %Cause(e.as_ref()), "service unavailable");
            FailureAnswer::ServiceUnavailable {
                retry_after_seconds: UNAVAILABLE_RETRY_SECONDS,
            }
        }
        Failure::Unexpected(e) => {
            tracing::error!(error = %Cause(e.as_ref()), "unexpected error");
            FailureAnswer::Internal
        }
    }
}
