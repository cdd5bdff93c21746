use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since the Unix epoch (UTC).
///
/// The domain never reads a clock: every transition that depends on time
/// takes a `Timestamp` from the caller (the `Clock` port in `accountd-ports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Builds a timestamp from milliseconds since the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant plus `seconds` (saturating).
    #[must_use]
    pub const fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// This instant plus `millis` (saturating).
    #[must_use]
    pub const fn plus_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    /// Whole seconds from `self` until `later`, rounded up, at least 1 when
    /// `later` is after `self`, 0 otherwise. Used for `Retry-After`.
    pub const fn seconds_until_ceil(self, later: Timestamp) -> i64 {
        let ms = later.0.saturating_sub(self.0);
        if ms <= 0 {
            0
        } else {
            (ms + 999) / 1000
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_until_rounds_up_and_never_goes_negative() {
        let t = Timestamp::from_millis(10_000);
        assert_eq!(t.seconds_until_ceil(Timestamp::from_millis(10_001)), 1);
        assert_eq!(t.seconds_until_ceil(Timestamp::from_millis(12_000)), 2);
        assert_eq!(t.seconds_until_ceil(Timestamp::from_millis(9_000)), 0);
        assert_eq!(t.plus_seconds(3).as_millis(), 13_000);
    }
}
