//! `GET /metrics` through the real binary: each metric of operations.md
//! moves by exactly what its event did, route labels are names of route
//! patterns (never a path), and `ACCOUNTD_ADMIN_BIND` moves `/metrics` and
//! `/health/*` to a second listener.

use crate::support::{Server, Setup, TestDb, CHECK_CODE};
use accountd_testkit::{unused_port, wrong_code, SmtpCapture, MAIL_WAIT, PASSWORD};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// One scrape: every sample as (name, labels, value).
struct Scrape(Vec<(String, BTreeSet<String>, f64)>);

impl Scrape {
    fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (key, value) = l.rsplit_once(' ').expect("a sample line");
                let (name, labels) = match key.split_once('{') {
                    Some((name, rest)) => (
                        name,
                        rest.trim_end_matches('}')
                            .split(',')
                            .map(str::to_owned)
                            .collect(),
                    ),
                    None => (key, BTreeSet::new()),
                };
                (name.to_owned(), labels, value.parse().expect("a number"))
            })
            .collect();
        Self(samples)
    }

    /// The sample `name` whose labels include every `k="v"` of `labels`
    /// (summed when several match); 0 when there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        self.0
            .iter()
            .filter(|(n, l, _)| n == name && wanted.iter().all(|w| l.contains(w)))
            .map(|(_, _, v)| v)
            .sum()
    }

    /// Every value of label `label` across the samples of `name`.
    fn label_values(&self, name: &str, label: &str) -> BTreeSet<String> {
        let prefix = format!("{label}=\"");
        self.0
            .iter()
            .filter(|(n, _, _)| n == name)
            .flat_map(|(_, l, _)| l.iter())
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim_end_matches('"').to_owned())
            .collect()
    }
}

fn scrape_at(base: &str) -> (String, Scrape) {
    let reply = reqwest::blocking::get(format!("{base}/metrics")).expect("a scrape");
    assert_eq!(reply.status(), 200);
    let content_type = reply
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = reply.text().expect("a body");
    let parsed = Scrape::parse(&text);
    (text, parsed)
}

fn scrape(server: &Server) -> Scrape {
    scrape_at(&server.base_url).1
}

/// Scrapes until `done` holds (the dispatcher marks a message after the
/// SMTP server has it), at most `MAIL_WAIT`; the last scrape.
fn scrape_until(server: &Server, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let s = scrape(server);
        if done(&s) || Instant::now() >= deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn login(server: &Server, username: &str, password: &str) -> u16 {
    server
        .post_json(
            "/api/login",
            &json!({"username": username, "password": password}),
        )
        .status
}

/// The difference of one sample between two scrapes.
fn moved(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

fn logins_requests_and_hash_jobs_move_by_what_happened(db: &TestDb) {
    let setup = Setup::new(db);
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let logins = |outcome| [("outcome", outcome)];

    let s0 = scrape(&server);
    for outcome in ["success", "wrong", "locked"] {
        assert!(
            s0.0.iter().any(|(n, l, _)| n == "accountd_logins_total"
                && l.contains(&format!("outcome=\"{outcome}\""))),
            "every outcome is listed from the start"
        );
    }
    assert_eq!(login(&server, "ann", "not the password at all"), 403);
    let s1 = scrape(&server);
    assert_eq!(
        moved(&s0, &s1, "accountd_logins_total", &logins("wrong")),
        1.0
    );
    assert_eq!(
        moved(&s0, &s1, "accountd_logins_total", &logins("success")),
        0.0
    );
    assert_eq!(
        moved(
            &s0,
            &s1,
            "accountd_http_requests_total",
            &[("route", "unicat.login"), ("status", "403")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &s0,
            &s1,
            "accountd_http_request_duration_seconds_count",
            &[("route", "unicat.login")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &s0,
            &s1,
            "accountd_hash_jobs_total",
            &[("outcome", "computed")]
        ),
        1.0,
        "one bcrypt verification"
    );

    assert_eq!(login(&server, "ann", PASSWORD), 200);
    let s2 = scrape(&server);
    assert_eq!(
        moved(&s1, &s2, "accountd_logins_total", &logins("success")),
        1.0
    );
    assert_eq!(
        moved(&s1, &s2, "accountd_logins_total", &logins("wrong")),
        0.0
    );
    assert_eq!(
        moved(
            &s1,
            &s2,
            "accountd_http_requests_total",
            &[("route", "unicat.login"), ("status", "200")]
        ),
        1.0
    );

    // Wrong passwords for one name until the soft lock refuses one (after
    // the fourth failure in a row): each refusal is counted as what it was.
    let (mut wrong, mut locked) = (0.0, 0.0);
    for _ in 0..30 {
        match login(&server, "nobody", "wrong") {
            403 => wrong += 1.0,
            429 => {
                locked += 1.0;
                break;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(locked, 1.0, "the soft lock refused a login");
    let s3 = scrape(&server);
    assert_eq!(
        moved(&s2, &s3, "accountd_logins_total", &logins("wrong")),
        wrong
    );
    assert_eq!(
        moved(&s2, &s3, "accountd_logins_total", &logins("locked")),
        1.0
    );
    assert_eq!(
        moved(
            &s2,
            &s3,
            "accountd_hash_jobs_total",
            &[("outcome", "computed")]
        ),
        wrong,
        "a locked login computes nothing"
    );
    assert_eq!(s3.value("accountd_hash_queue_depth", &[]), 0.0);
    assert_eq!(
        s3.value("accountd_db_connections", &[("state", "in_use")]),
        0.0,
        "no request holds a connection between requests"
    );
    assert!(s3.value("accountd_db_connections", &[("state", "idle")]) >= 1.0);
    assert!(
        s3.value("accountd_db_wait_seconds_count", &[])
            > s2.value("accountd_db_wait_seconds_count", &[])
    );
}
on_both_backends!(logins_requests_and_hash_jobs_move_by_what_happened);

fn mail_codes_and_rate_limits_move_their_counters(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_CODES_PER_HOUR", "1")
        .env("ACCOUNTD_LOOKUPS_PER_IP_PER_HOUR", "1");
    setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let fp = [("purpose", "forgot_password")];

    let s0 = scrape(&server);
    assert_eq!(server.send_email("bob").status, 200);
    let code = smtp.code_for("bob@example.com");
    let s1 = scrape_until(&server, |s| {
        moved(&s0, s, "accountd_mail_sent_total", &[]) >= 1.0
    });
    assert_eq!(moved(&s0, &s1, "accountd_mail_sent_total", &[]), 1.0);
    assert_eq!(moved(&s0, &s1, "accountd_mail_dead_total", &[]), 0.0);
    assert_eq!(s1.value("accountd_outbox_pending", &[]), 0.0);
    assert_eq!(s1.value("accountd_outbox_oldest_pending_seconds", &[]), 0.0);

    // A second code within the hour: the issuance limit refuses it.
    assert_eq!(server.send_email("bob").status, 429);
    let s2 = scrape(&server);
    assert_eq!(
        moved(
            &s1,
            &s2,
            "accountd_rate_limited_total",
            &[("limit", "codes")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &s1,
            &s2,
            "accountd_http_requests_total",
            &[("route", "forgot_password.send_email"), ("status", "429")]
        ),
        1.0
    );

    // The per-client lookup limit.
    let ask = || {
        server
            .post_json("/api/username", &json!({"username": "someone"}))
            .status
    };
    assert_eq!(ask(), 200);
    assert_eq!(ask(), 429);
    let s3 = scrape(&server);
    assert_eq!(
        moved(
            &s2,
            &s3,
            "accountd_rate_limited_total",
            &[("limit", "lookups_per_ip")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &s2,
            &s3,
            "accountd_rate_limited_total",
            &[("limit", "codes")]
        ),
        0.0
    );

    // One wrong code is one failure; the eleventh exhausts the challenge.
    let wrong = wrong_code(&code);
    let check = |code: &str| {
        server
            .post_json(CHECK_CODE, &json!({"username": "bob", "code": code}))
            .status
    };
    assert_eq!(check(&wrong), 400);
    let s4 = scrape(&server);
    assert_eq!(moved(&s3, &s4, "accountd_code_failures_total", &fp), 1.0);
    assert_eq!(moved(&s3, &s4, "accountd_code_exhausted_total", &fp), 0.0);
    for _ in 1..11 {
        assert_eq!(check(&wrong), 400);
    }
    // Refused as exhausted: no further failure counted.
    assert_eq!(check(&code), 400);
    let s5 = scrape(&server);
    assert_eq!(moved(&s4, &s5, "accountd_code_failures_total", &fp), 10.0);
    assert_eq!(moved(&s3, &s5, "accountd_code_exhausted_total", &fp), 1.0);
    assert_eq!(
        moved(
            &s3,
            &s5,
            "accountd_code_failures_total",
            &[("purpose", "signup")]
        ),
        0.0
    );
}
on_both_backends!(mail_codes_and_rate_limits_move_their_counters);

fn the_outbox_backlog_and_dead_mail_are_visible(db: &TestDb) {
    // Nothing listens on the SMTP port at first: the message waits.
    let port = unused_port();
    let setup = Setup::new(db)
        .smtp(port)
        .env("ACCOUNTD_CODE_TTL_SECONDS", "2");
    setup.add_user("cleo", &["cleo@example.com"]);
    let server = setup.start();
    let s0 = scrape(&server);
    assert_eq!(s0.value("accountd_outbox_pending", &[]), 0.0);

    assert_eq!(server.send_email("cleo").status, 200);
    assert!(server
        .stderr_wait(MAIL_WAIT, |l| l.contains("will retry"))
        .is_some());
    std::thread::sleep(Duration::from_millis(1100));
    let s1 = scrape(&server);
    assert_eq!(s1.value("accountd_outbox_pending", &[]), 1.0);
    assert!(
        s1.value("accountd_outbox_oldest_pending_seconds", &[]) >= 1.0,
        "the message has waited at least the second slept"
    );

    // SMTP comes up after the code expired: the message is given up.
    std::thread::sleep(Duration::from_millis(1100));
    let _smtp = SmtpCapture::start_on(port);
    // One scrape reads the outbox before it renders the counters, so the
    // scrape in which the dead counter first moves may still show the
    // message pending: wait for both.
    let s2 = scrape_until(&server, |s| {
        moved(&s0, s, "accountd_mail_dead_total", &[]) >= 1.0
            && s.value("accountd_outbox_pending", &[]) == 0.0
    });
    assert_eq!(moved(&s0, &s2, "accountd_mail_dead_total", &[]), 1.0);
    assert_eq!(moved(&s0, &s2, "accountd_mail_sent_total", &[]), 0.0);
    assert_eq!(s2.value("accountd_outbox_pending", &[]), 0.0);
    assert_eq!(s2.value("accountd_outbox_oldest_pending_seconds", &[]), 0.0);
}
on_both_backends!(the_outbox_backlog_and_dead_mail_are_visible);

fn route_labels_are_route_names_never_paths(db: &TestDb) {
    let setup = Setup::new(db);
    let gid = setup.add_user("dora", &["dora@example.com"]);
    let server = setup.start();

    let s0 = scrape(&server);
    let path = format!("/api/p/{gid}/members/get");
    assert_eq!(server.post_json(&path, &json!({})).status, 401);
    assert_eq!(server.get(&format!("/no/such/{gid}")).status, 404);
    assert_eq!(server.get("/api/users/get/../../etc/passwd").status, 404);
    let (text, s1) = scrape_at(&server.base_url);
    assert_eq!(
        moved(
            &s0,
            &s1,
            "accountd_http_requests_total",
            &[("route", "unicat.p.members.get"), ("status", "401")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &s0,
            &s1,
            "accountd_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        2.0
    );
    assert!(!text.contains(&gid), "a gid in a label:\n{text}");
    assert!(!text.contains('/'), "a path in a label:\n{text}");
    let routes = s1.label_values("accountd_http_requests_total", "route");
    for route in &routes {
        assert!(
            route
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
            "{route}"
        );
    }
}
on_both_backends!(route_labels_are_route_names_never_paths);

fn an_admin_listener_takes_metrics_and_health_off_the_main_one(db: &TestDb) {
    let server = Setup::new(db)
        .env("ACCOUNTD_ADMIN_BIND", "127.0.0.1:0")
        .start();
    const PREFIX: &str = "accountd admin listening on http://";
    let admin = server
        .stdout
        .all()
        .iter()
        .find_map(|l| {
            l.strip_prefix(PREFIX)
                .map(|a| format!("http://{}", a.trim()))
        })
        .expect("the admin listening line");
    assert_ne!(admin, server.base_url);

    // The main listener: /metrics is an unknown route; the API still serves.
    let main = server.get("/metrics");
    assert_eq!(main.status, 404);
    assert_eq!(
        main.json(),
        json!({"success": false, "result": {"code": 404, "message": "Not found", "info": {}}, "data": {}})
    );
    assert_eq!(server.get("/api/ping").status, 200);

    // The admin listener: metrics and health, nothing else.
    let (_, s) = scrape_at(&admin);
    assert_eq!(
        s.value(
            "accountd_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0,
        "the main listener's /metrics is counted as an unknown route"
    );
    let get = |path: &str| reqwest::blocking::get(format!("{admin}{path}")).unwrap();
    assert_eq!(get("/health/live").status(), 200);
    assert_eq!(get("/health/ready").status(), 200);
    assert_eq!(get("/api/ping").status(), 404);
    assert_eq!(server.terminate().code(), Some(0));
}
on_both_backends!(an_admin_listener_takes_metrics_and_health_off_the_main_one);

fn without_an_admin_listener_the_main_one_serves_metrics(db: &TestDb) {
    let server = Setup::new(db).start();
    let (text, s) = scrape_at(&server.base_url);
    for name in [
        "accountd_hash_queue_depth",
        "accountd_outbox_pending",
        "accountd_outbox_oldest_pending_seconds",
        "accountd_mail_sent_total",
        "accountd_mail_dead_total",
        "accountd_db_connections",
    ] {
        assert!(
            s.0.iter().any(|(n, _, _)| n == name),
            "{name} missing:\n{text}"
        );
    }
    assert!(
        text.contains("# TYPE accountd_logins_total counter"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE accountd_db_wait_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE accountd_outbox_pending gauge"),
        "{text}"
    );
    // The scrape itself is counted, under its name.
    let (_, s) = scrape_at(&server.base_url);
    assert_eq!(
        s.value(
            "accountd_http_requests_total",
            &[("route", "metrics"), ("status", "200")]
        ),
        1.0
    );
}
on_both_backends!(without_an_admin_listener_the_main_one_serves_metrics);

fn a_full_hash_queue_counts_each_refused_job_as_overloaded(db: &TestDb) {
    // One thread, one waiting job, a cost that takes a while: most of a
    // burst of logins finds the queue full.
    let server = Setup::new(db)
        .env("ACCOUNTD_HASH_WORKERS", "1")
        .env("ACCOUNTD_HASH_QUEUE", "1")
        .env("ACCOUNTD_BCRYPT_COST", "11")
        .start();
    let jobs = |outcome| [("outcome", outcome)];
    let s0 = scrape(&server);
    // Distinct unknown names: no soft lock gets in the way.
    let statuses =
        accountd_testkit::in_parallel(12, |i| login(&server, &format!("nobody{i}"), "x"));
    let refused = statuses.iter().filter(|s| **s == 503).count() as f64;
    let checked = statuses.iter().filter(|s| **s == 403).count() as f64;
    assert_eq!(refused + checked, 12.0, "{statuses:?}");
    assert!(refused >= 1.0, "the queue never filled: {statuses:?}");
    let s1 = scrape(&server);
    assert_eq!(
        moved(&s0, &s1, "accountd_hash_jobs_total", &jobs("overloaded")),
        refused
    );
    assert_eq!(
        moved(&s0, &s1, "accountd_hash_jobs_total", &jobs("computed")),
        checked
    );
    assert_eq!(
        moved(
            &s0,
            &s1,
            "accountd_http_requests_total",
            &[("route", "unicat.login"), ("status", "503")]
        ),
        refused
    );
    // A refused job never started: it is no wrong login either.
    assert_eq!(
        moved(&s0, &s1, "accountd_logins_total", &[("outcome", "wrong")]),
        checked
    );
}
on_both_backends!(a_full_hash_queue_counts_each_refused_job_as_overloaded);

fn the_per_client_step1_limit_is_counted_under_its_own_name(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_STEP1_PER_IP_PER_HOUR", "1");
    setup.add_user("erin", &["erin@example.com"]);
    let server = setup.start();
    let limit = |name| [("limit", name)];
    let s0 = scrape(&server);
    assert_eq!(server.send_email("erin").status, 200);
    assert_eq!(server.send_email("erin").status, 429);
    let s1 = scrape(&server);
    assert_eq!(
        moved(
            &s0,
            &s1,
            "accountd_rate_limited_total",
            &limit("step1_per_ip")
        ),
        1.0
    );
    assert_eq!(
        moved(&s0, &s1, "accountd_rate_limited_total", &limit("codes")),
        0.0
    );
}
on_both_backends!(the_per_client_step1_limit_is_counted_under_its_own_name);
