//! Rate limits, as numbers (the counting is the `RateLimiter` port's, or a
//! change set's [`crate::Change::CountHit`]).

/// One limit: at most `max` hits per `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Window length.
    pub window_seconds: i64,
    /// Hits allowed in a window; 0 switches the limit off.
    pub max: u32,
}
