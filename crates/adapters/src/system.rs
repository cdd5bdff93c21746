//! The system clock and operating-system randomness.

use accountd_domain::Timestamp;
use accountd_ports::{Clock, Random};
use rand::Rng;
use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp::from_millis(ms)
    }
}

/// A cryptographically secure generator (rand's thread-local ChaCha,
/// seeded and reseeded from the operating system).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn uniform(&self, low: u32, high: u32) -> u32 {
        if low >= high {
            return low;
        }
        rand::rng().random_range(low..=high)
    }

    fn bytes16(&self) -> [u8; 16] {
        rand::rng().random()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_stays_in_range_and_covers_it() {
        let r = OsRandom;
        let mut seen = [false; 4];
        for _ in 0..400 {
            let v = r.uniform(10, 13);
            assert!((10..=13).contains(&v));
            seen[(v - 10) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(r.uniform(5, 5), 5);
        assert_ne!(r.bytes16(), r.bytes16());
    }

    #[test]
    fn the_clock_reads_a_time_after_2020() {
        assert!(SystemClock.now().as_millis() > 1_577_836_800_000);
    }
}
