//! Which refusals are worth an audit row.
//!
//! A refusal (a rate limit hit, a soft-locked login) is cheap to provoke:
//! one audit row for each would turn a flood of refused calls into a flood
//! of writes (the very thing the limit protects) and let anyone grow the
//! audit table without bound. So a refusal is recorded at most once per
//! key (the limit's key or the locked name's key) per
//! [`RefusalLog::WINDOW_MS`] on each instance, and at most
//! [`RefusalLog::CAPACITY`] keys are remembered: past that, refusals of
//! new keys wait for the window to pass. The metrics count every refusal.
//!
//! Keys are kept as keyed hashes only: no address or name stays in memory.

use accountd_domain::Timestamp;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

/// The keys whose refusal was recorded lately, shared by clones.
#[derive(Debug, Clone, Default)]
pub(crate) struct RefusalLog {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    hasher: std::collections::hash_map::RandomState,
    recorded: Mutex<HashMap<u64, i64>>,
}

impl RefusalLog {
    /// How long one key's refusals are covered by one recorded row.
    pub(crate) const WINDOW_MS: i64 = 60_000;
    /// How many keys are remembered at once.
    pub(crate) const CAPACITY: usize = 1024;

    /// Whether a refusal of `key` at `now` is to be recorded (and, if so,
    /// remembers that it was).
    pub(crate) fn first(&self, key: &str, now: Timestamp) -> bool {
        let hash = self.inner.hasher.hash_one(key);
        let now = now.as_millis();
        // A poisoned lock only means another thread panicked while
        // holding it; the map is still a map.
        let mut recorded = self
            .inner
            .recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = recorded.get(&hash) {
            if now - *at < Self::WINDOW_MS {
                return false;
            }
        }
        if recorded.len() >= Self::CAPACITY && !recorded.contains_key(&hash) {
            recorded.retain(|_, at| now - *at < Self::WINDOW_MS);
            if recorded.len() >= Self::CAPACITY {
                return false;
            }
        }
        recorded.insert(hash, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn one_refusal_per_key_and_window() {
        let log = RefusalLog::default();
        assert!(log.first("a", at(0)));
        assert!(!log.first("a", at(1)));
        assert!(!log.first("a", at(RefusalLog::WINDOW_MS - 1)));
        assert!(log.first("b", at(1)), "another key is not covered");
        assert!(log.first("a", at(RefusalLog::WINDOW_MS)), "a new window");
        assert!(
            !log.clone().first("a", at(RefusalLog::WINDOW_MS + 1)),
            "clones share"
        );
    }

    #[test]
    fn past_its_capacity_it_records_new_keys_only_once_old_ones_expired() {
        let log = RefusalLog::default();
        for i in 0..RefusalLog::CAPACITY {
            assert!(log.first(&format!("k{i}"), at(0)));
        }
        assert!(!log.first("new", at(1)), "full: not recorded");
        assert!(!log.first("k0", at(1)), "still covered");
        assert!(
            log.first("new", at(RefusalLog::WINDOW_MS)),
            "the old ones expired"
        );
    }
}
