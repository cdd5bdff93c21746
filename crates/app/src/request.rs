//! The request a use case serves, for what it records.
//!
//! The audit log's `client_addr` is the client address of the request that
//! caused an event (after trusted proxies). The HTTP layer knows it for
//! every request; rather than threading it through every service call, it
//! runs each request inside [`for_client`], and every change set applied
//! while serving it (`Ports::apply`, `Ports::record`) has its audit events
//! stamped with that address ([`stamped`]) unless the use case named one
//! itself. Work outside a request (the CLI, housekeeping) records none.

use accountd_domain::ChangeSet;
use std::future::Future;

tokio::task_local! {
    static CLIENT: String;
}

/// Runs `serve` (a request's handling) for the client address `client`.
pub async fn for_client<F: Future>(client: String, serve: F) -> F::Output {
    CLIENT.scope(client, serve).await
}

/// `set` with the current request's client address on every audit event
/// that has none (unchanged outside a request).
pub(crate) fn stamped(set: ChangeSet) -> ChangeSet {
    if set.audits().is_empty() {
        return set;
    }
    match CLIENT.try_with(Clone::clone) {
        Ok(client) => set.from_client(&client),
        Err(_) => set,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accountd_domain::{AuditEvent, AuditEventKind};

    fn clients(set: &ChangeSet) -> Vec<Option<&str>> {
        set.audits().iter().map(|e| e.client.as_deref()).collect()
    }

    fn set() -> ChangeSet {
        ChangeSet::new()
            .audit(AuditEvent::new(AuditEventKind::Signup, None))
            .audit(AuditEvent::new(AuditEventKind::LoginFailed, None).client(Some("192.0.2.1")))
    }

    #[tokio::test]
    async fn inside_a_request_events_without_an_address_get_the_clients() {
        let set = for_client("203.0.113.9".to_owned(), async { stamped(set()) }).await;
        assert_eq!(clients(&set), [Some("203.0.113.9"), Some("192.0.2.1")]);
    }

    #[tokio::test]
    async fn outside_a_request_nothing_is_added() {
        assert_eq!(clients(&stamped(set())), [None, Some("192.0.2.1")]);
    }
}
