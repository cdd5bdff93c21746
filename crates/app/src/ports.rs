use accountd_ports::{
    ChallengeRepository, Clock, PasswordHasher, Random, RateLimiter, UserRepository,
};
use std::fmt;
use std::sync::Arc;

/// The ports a request-serving use case needs, shared behind `Arc`s so one
/// bundle serves every worker. (Dynamic dispatch costs nothing next to the
/// I/O behind each call, and keeps the services free of six type parameters.)
#[derive(Clone)]
pub struct Ports {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Challenges and their mail.
    pub challenges: Arc<dyn ChallengeRepository>,
    /// Issuance limits.
    pub limiter: Arc<dyn RateLimiter>,
    /// The bcrypt pool.
    pub hasher: Arc<dyn PasswordHasher>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub random: Arc<dyn Random>,
}

impl fmt::Debug for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ports { .. }")
    }
}
