//! The login soft lock: repeated wrong passwords slow one account down.

use crate::Timestamp;

/// Wrong passwords allowed before the first delay.
pub const FREE_LOGIN_FAILURES: u32 = 3;
/// The longest delay, in seconds (15 minutes).
pub const MAX_LOGIN_DELAY_SECONDS: i64 = 900;

/// When an account whose last `failures` logins in a row failed, the last at
/// `last_failure`, may try again: `None` while fewer than four failed;
/// then 1 s after the fourth, 2 s after the fifth, 4 s after the sixth …,
/// at most 15 minutes after the last failure.
pub fn login_locked_until(failures: u32, last_failure: Timestamp) -> Option<Timestamp> {
    let over = failures.checked_sub(FREE_LOGIN_FAILURES)?.checked_sub(1)?;
    let delay = 1i64
        .checked_shl(over.min(62))
        .unwrap_or(MAX_LOGIN_DELAY_SECONDS)
        .min(MAX_LOGIN_DELAY_SECONDS);
    Some(last_failure.plus_seconds(delay))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp::from_millis(1_000_000);

    #[test]
    fn three_failures_are_free_then_the_delay_doubles_from_one_second() {
        assert_eq!(login_locked_until(0, T), None);
        assert_eq!(login_locked_until(3, T), None);
        assert_eq!(login_locked_until(4, T), Some(T.plus_seconds(1)));
        assert_eq!(login_locked_until(5, T), Some(T.plus_seconds(2)));
        assert_eq!(login_locked_until(6, T), Some(T.plus_seconds(4)));
        assert_eq!(login_locked_until(13, T), Some(T.plus_seconds(512)));
    }

    #[test]
    fn the_delay_is_capped_at_fifteen_minutes() {
        assert_eq!(login_locked_until(14, T), Some(T.plus_seconds(900)));
        assert_eq!(login_locked_until(1000, T), Some(T.plus_seconds(900)));
        assert_eq!(login_locked_until(u32::MAX, T), Some(T.plus_seconds(900)));
    }
}
