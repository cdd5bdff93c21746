//! The one failure type every use case shares: what went wrong that is not
//! the caller's doing. Each use-case error enum keeps the refusals a caller
//! acts on and wraps this in a `Failure(#[from] Failure)` variant; each HTTP
//! family maps it to its answer in one place.

use accountd_ports::{HashError, StoreError};

/// A use case could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A bounded queue (the hash pool) is full: try again later.
    #[error("overloaded")]
    Overloaded {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
    /// Too many requests queued for one key (one account's flood): try
    /// again later (429, as a rate limit).
    #[error("contended")]
    Contended {
        /// Seconds to wait.
        retry_after_seconds: i64,
    },
    /// The database is unavailable: try again later.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: answered opaquely, its cause chain logged once.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(e) => Self::Unavailable(e),
            StoreError::Contended {
                retry_after_seconds,
            } => Self::Contended {
                retry_after_seconds,
            },
            StoreError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl From<HashError> for Failure {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Overloaded {
                retry_after_seconds,
            } => Self::Overloaded {
                retry_after_seconds,
            },
            HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_their_kind_and_cause() {
        let f = Failure::from(StoreError::Unavailable(anyhow::anyhow!("pool timed out")));
        assert!(
            matches!(&f, Failure::Unavailable(e) if e.to_string() == "pool timed out"),
            "{f:?}"
        );
        let f = Failure::from(StoreError::Unexpected(anyhow::anyhow!("malformed row")));
        assert!(
            matches!(&f, Failure::Unexpected(e) if e.to_string() == "malformed row"),
            "{f:?}"
        );
    }

    #[test]
    fn hash_errors_keep_their_retry_time_and_cause() {
        let f = Failure::from(HashError::Overloaded {
            retry_after_seconds: 3,
        });
        assert!(
            matches!(
                f,
                Failure::Overloaded {
                    retry_after_seconds: 3
                }
            ),
            "{f:?}"
        );
        let f = Failure::from(HashError::Unexpected(anyhow::anyhow!("worker died")));
        assert!(
            matches!(&f, Failure::Unexpected(e) if e.to_string() == "worker died"),
            "{f:?}"
        );
    }
}
