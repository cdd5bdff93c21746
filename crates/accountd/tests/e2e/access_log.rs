//! Request ids and the access log through the real binary: the id is
//! echoed, the binary's log holds one access line carrying it (route
//! pattern, never the raw path or query), and `ACCOUNTD_LOG` switches the
//! access log off.

use crate::support::{Setup, TestDb};
use std::time::Duration;

const GID: &str = "03030303-0303-4303-8303-030303030303";
const WAIT: Duration = Duration::from_secs(10);

fn request_ids_are_echoed_and_logged(db: &TestDb) {
    let server = Setup::new(db).start();

    let live = server.get_with(
        "/health/live?q=query-secret",
        &[("X-Request-Id", "e2e-live-1")],
    );
    assert_eq!(live.status, 200);
    assert_eq!(live.header("x-request-id").as_deref(), Some("e2e-live-1"));

    let denied = server.post_json_with(
        &format!("/api/p/{GID}/members/get"),
        &serde_json::json!({}),
        &[
            ("X-Request-Id", "e2e-denied-2"),
            ("Authorization", "Bearer not-a-real-token"),
        ],
    );
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.header("x-request-id").as_deref(),
        Some("e2e-denied-2")
    );

    let missing = server.get_with("/no/such/route", &[("X-Request-Id", "has a space")]);
    assert_eq!(missing.status, 404);
    let generated = missing.header("x-request-id").unwrap();
    assert_eq!(generated.len(), 36, "{generated}");
    assert_ne!(generated, "has a space");

    let access = |id: &str| {
        let id = format!("request_id={id}");
        server
            .stderr_wait(WAIT, |l| l.contains("accountd::access") && l.contains(&id))
            .unwrap_or_else(|| panic!("no access line with {id}: {:#?}", server.stderr.all()))
    };
    let line = access("e2e-live-1");
    for part in [
        " INFO ",
        "method=GET",
        "route=/health/live",
        "status=200",
        "client_addr=127.0.0.1",
        "duration_ms=",
    ] {
        assert!(line.contains(part), "{part} not in {line}");
    }
    assert!(!line.contains("query-secret"), "{line}");
    let line = access("e2e-denied-2");
    for part in [
        "method=POST",
        "route=/api/p/{project}/members/get",
        "status=401",
    ] {
        assert!(line.contains(part), "{part} not in {line}");
    }
    let line = access(&generated);
    assert!(
        line.contains("route=unmatched") && line.contains("status=404"),
        "{line}"
    );

    let stderr = server.stderr.clone();
    assert!(server.terminate().success());
    assert!(stderr
        .wait_for(WAIT, |l| l.contains("accountd stopped"))
        .is_some());
    let all = stderr.all();
    let lines = |id: &str| all.iter().filter(|l| l.contains(id)).count();
    // One line per request: the access line (nothing else here logs).
    assert_eq!(lines("e2e-live-1"), 1, "{all:#?}");
    assert_eq!(lines("e2e-denied-2"), 1, "{all:#?}");
    for secret in [GID, "not-a-real-token", "query-secret"] {
        assert!(
            all.iter().all(|l| !l.contains(secret)),
            "{secret}: {all:#?}"
        );
    }
}

on_both_backends!(request_ids_are_echoed_and_logged);

fn the_access_log_is_switched_off_by_accountd_log(db: &TestDb) {
    let server = Setup::new(db)
        .env("ACCOUNTD_LOG", "info,accountd::access=off")
        .start();
    let live = server.get_with("/health/live", &[("X-Request-Id", "e2e-quiet-1")]);
    assert_eq!(live.status, 200);
    assert_eq!(live.header("x-request-id").as_deref(), Some("e2e-quiet-1"));
    let stderr = server.stderr.clone();
    assert!(server.terminate().success());
    assert!(stderr
        .wait_for(WAIT, |l| l.contains("accountd stopped"))
        .is_some());
    let all = stderr.all();
    assert!(
        all.iter().all(|l| !l.contains("accountd::access")),
        "{all:#?}"
    );
}

on_both_backends!(the_access_log_is_switched_off_by_accountd_log);
