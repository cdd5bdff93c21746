//! The counters the use cases move, through the `metrics` facade (the
//! binary installs the Prometheus recorder; without one these do nothing).
//! Every label value is a fixed word, never user input.

use accountd_domain::Purpose;

/// `accountd_rate_limited_total{limit}`: a rate limit refused a call.
/// `limit` is one of `step1_per_ip`, `codes`, `lookups_per_ip`,
/// `invites_per_inviter`, `invites_per_recipient`.
pub(crate) fn rate_limited(limit: &'static str) {
    metrics::counter!("accountd_rate_limited_total", "limit" => limit).increment(1);
}

/// The outcome of a login (`accountd_logins_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Login {
    /// The password verified.
    Success,
    /// Wrong password or unknown name.
    Wrong,
    /// Refused by the soft lock, nothing checked.
    Locked,
}

pub(crate) fn login(outcome: Login) {
    let outcome = match outcome {
        Login::Success => "success",
        Login::Wrong => "wrong",
        Login::Locked => "locked",
    };
    metrics::counter!("accountd_logins_total", "outcome" => outcome).increment(1);
}

/// A wrong code was counted (`accountd_code_failures_total{purpose}`), and
/// when it was the last try, the challenge is exhausted
/// (`accountd_code_exhausted_total{purpose}`).
pub(crate) fn code_failure(purpose: Purpose, exhausted: bool) {
    metrics::counter!("accountd_code_failures_total", "purpose" => purpose.as_str()).increment(1);
    if exhausted {
        metrics::counter!("accountd_code_exhausted_total", "purpose" => purpose.as_str())
            .increment(1);
    }
}

/// A message left the outbox delivered (`accountd_mail_sent_total`).
pub(crate) fn mail_sent() {
    metrics::counter!("accountd_mail_sent_total").increment(1);
}

/// A message was given up (`accountd_mail_dead_total`).
pub(crate) fn mail_dead() {
    metrics::counter!("accountd_mail_dead_total").increment(1);
}
