//! Request ids and the access log, through the real app of
//! [`crate::configure`] wrapped in [`access_log`], every port mocked (none is
//! expected to be called except the health check where a test says so).

use super::*;
use crate::{configure, HttpSettings, HttpState};
use accountd_app::{ChallengeSettings, ForgotPassword, ForgotPasswordSettings, Ports};
use accountd_domain::PasswordPolicy;
use accountd_ports::{
    MockChallengeRepository, MockClock, MockHealthCheck, MockPasswordHasher, MockRandom,
    MockRateLimiter, MockUserRepository, StoreError,
};
use actix_web::middleware::from_fn;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

const GID: &str = "03030303-0303-4303-8303-030303030303";
const TOKEN: &str = "c2VjcmV0LXRva2Vu";
const QUERY_SECRET: &str = "q-secret-7731";

fn state(health: MockHealthCheck, trusted: &str, max_body_bytes: usize) -> HttpState {
    let ports = Ports {
        users: Arc::new(MockUserRepository::new()),
        challenges: Arc::new(MockChallengeRepository::new()),
        changes: Arc::new(crate::testing::audit_only_changes()),
        limiter: Arc::new(MockRateLimiter::new()),
        hasher: Arc::new(MockPasswordHasher::new()),
        clock: Arc::new(MockClock::new()),
        random: Arc::new(MockRandom::new()),
        admission: Default::default(),
    };
    let unicat = crate::testing::unicat_services(
        ports.clone(),
        Arc::new(accountd_ports::MockTokenService::new()),
        Arc::new(accountd_ports::MockProjectRepository::new()),
    );
    HttpState {
        forgot_password: ForgotPassword::new(
            ports,
            accountd_testkit::key(),
            ForgotPasswordSettings {
                challenge: ChallengeSettings {
                    code_ttl_seconds: 900,
                    max_failures: 11,
                    codes_per_hour: 5,
                    codes_per_day: 10,
                    step1_per_ip_per_hour: 30,
                    enumeration_protection: false,
                    password_policy: PasswordPolicy::DEFAULT,
                },
            },
        ),
        signup: unicat.signup,
        reset: unicat.reset,
        sessions: unicat.sessions,
        unicat: crate::testing::unicat_info(),
        health: Arc::new(health),
        settings: HttpSettings {
            max_body_bytes,
            body_timeout: std::time::Duration::from_secs(10),
            trusted_proxies: crate::parse_trusted_proxies(trusted).unwrap(),
        },
        account_deletion: unicat.deletion,
        email_change: unicat.email_change,
        accounts: unicat.accounts,
        projects: unicat.projects,
        invitations: unicat.invitations,
        members: unicat.members,
        signing_keys: Arc::new(accountd_ports::NoPublishedKeys),
    }
}

/// Status and `X-Request-Id` of each request, through one app.
async fn answers(state: HttpState, requests: Vec<TestRequest>) -> Vec<(u16, Option<String>)> {
    let app = test::init_service(
        App::new()
            .wrap(from_fn(access_log))
            .configure(configure(web::Data::new(state))),
    )
    .await;
    let mut out = Vec::new();
    for req in requests {
        let res = test::call_service(&app, req.to_request()).await;
        let id = res
            .headers()
            .get(REQUEST_ID)
            .map(|v| v.to_str().unwrap().to_owned());
        out.push((res.status().as_u16(), id));
    }
    out
}

fn plain() -> HttpState {
    state(MockHealthCheck::new(), "", 64)
}

fn live() -> TestRequest {
    TestRequest::get().uri("/health/live")
}

fn with_id(value: &[u8]) -> TestRequest {
    live().insert_header((REQUEST_ID, HeaderValue::from_bytes(value).unwrap()))
}

fn is_uuid_v4(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4) && id.len() == 36
}

#[actix_rt::test]
async fn a_valid_incoming_id_is_kept() {
    let longest = "x".repeat(64);
    let visible: String = (0x21u8..=0x7e).map(char::from).take(64).collect();
    let sent = ["a", "req-1_Z.9~", longest.as_str(), visible.as_str()];
    let got = answers(
        plain(),
        sent.iter().map(|s| with_id(s.as_bytes())).collect(),
    )
    .await;
    for (s, (status, id)) in sent.iter().zip(got) {
        assert_eq!(status, 200);
        assert_eq!(id.as_deref(), Some(*s));
    }
}

#[actix_rt::test]
async fn an_invalid_incoming_id_is_replaced_by_a_fresh_one() {
    let too_long = "x".repeat(65);
    let sent: [&[u8]; 6] = [
        b"",
        too_long.as_bytes(),
        b"a b",
        b"a\tb",
        "caf\u{e9}".as_bytes(),
        b"\xff",
    ];
    let got = answers(plain(), sent.iter().map(|s| with_id(s)).collect()).await;
    for (s, (status, id)) in sent.iter().zip(got) {
        assert_eq!(status, 200);
        let id = id.unwrap();
        assert!(is_uuid_v4(&id), "{s:?} gave {id:?}");
    }
}

#[actix_rt::test]
async fn a_missing_id_is_generated_fresh_for_every_request() {
    let got = answers(plain(), vec![live(), live()]).await;
    let (a, b) = (got[0].1.clone().unwrap(), got[1].1.clone().unwrap());
    assert!(is_uuid_v4(&a) && is_uuid_v4(&b), "{a} {b}");
    assert_ne!(a, b);
}

#[actix_rt::test]
async fn the_id_is_echoed_on_errors_and_pages() {
    let got = answers(
        plain(),
        vec![
            with_id(b"on-404").uri("/no/such/route"),
            with_id(b"on-404-api").uri("/api/no_such_route"),
            TestRequest::post()
                .uri(&format!("/api/p/{GID}/members/get"))
                .insert_header((REQUEST_ID, "on-413"))
                .set_payload("x".repeat(100)),
            TestRequest::post()
                .uri(&format!("/api/p/{GID}/members/get"))
                .insert_header((REQUEST_ID, "on-401"))
                .insert_header(("Authorization", format!("Basic {TOKEN}"))),
            with_id(b"on-page").uri("/invite/decline"),
        ],
    )
    .await;
    assert_eq!(
        got,
        [
            (404, Some("on-404".to_owned())),
            (404, Some("on-404-api".to_owned())),
            (413, Some("on-413".to_owned())),
            (401, Some("on-401".to_owned())),
            (400, Some("on-page".to_owned())),
        ]
    );
}

// ------------------------------------------------------------- log capture

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The log of the whole test binary under the filter `info`, as one
/// global subscriber: tracing caches each callsite's interest across
/// threads, and a subscriber set for one thread only (`set_default`) can
/// miss the first events of a callsite another test thread registered
/// first. Each test reads back only the lines of its own request ids.
fn global_log() -> &'static Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(captured.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        captured
    })
}

/// The JSON lines, under the filter `info`, that belong to the requests
/// with these ids (their access lines and every line of their spans), in
/// the order written, and their text.
async fn logged_info(
    state: HttpState,
    requests: Vec<TestRequest>,
    ids: &[&str],
) -> (String, Vec<Value>) {
    let log = global_log();
    answers(state, requests).await;
    let ours = |l: &Value| {
        ids.iter()
            .any(|id| l["fields"]["request_id"] == *id || l["span"]["request_id"] == *id)
    };
    let text: Vec<String> = log
        .text()
        .lines()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| ours(&v)))
        .map(str::to_owned)
        .collect();
    let lines = text
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (text.join("\n"), lines)
}

/// The captured JSON lines of `requests` under the EnvFilter `filter`, with
/// a subscriber for this thread only (for a filter that drops lines: what
/// it lets through is what this thread wrote).
async fn logged(filter: &str, state: HttpState, requests: Vec<TestRequest>) -> Vec<Value> {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    answers(state, requests).await;
    captured.lines()
}

fn access_lines(lines: &[Value]) -> Vec<&Value> {
    lines
        .iter()
        .filter(|l| l["target"] == ACCESS_TARGET)
        .collect()
}

#[actix_rt::test]
async fn one_access_line_per_request_with_the_route_pattern_and_no_secret() {
    let mut health = MockHealthCheck::new();
    health.expect_ready().times(1).returning(|| {
        Err(StoreError::Unavailable(
            std::io::Error::other("down").into(),
        ))
    });
    let (text, lines) = logged_info(
        state(health, "10.0.0.0/8", 64),
        vec![
            TestRequest::post()
                .uri(&format!("/api/p/{GID}/members/get?token={QUERY_SECRET}"))
                .peer_addr("10.1.2.3:4000".parse().unwrap())
                .insert_header(("X-Forwarded-For", "6.6.6.6, 203.0.113.7"))
                .insert_header((REQUEST_ID, "first"))
                .insert_header(("Authorization", format!("Basic {TOKEN}")))
                .set_payload(r#"{"password":"body-secret-1"}"#),
            TestRequest::get()
                .uri(&format!("/no/such/{GID}?{QUERY_SECRET}"))
                .peer_addr("198.51.100.4:4000".parse().unwrap())
                .insert_header((REQUEST_ID, "second")),
            TestRequest::get()
                .uri("/health/ready")
                .peer_addr("[2001:db8::1]:4000".parse().unwrap())
                .insert_header((REQUEST_ID, "third")),
        ],
        &["first", "second", "third"],
    )
    .await;

    let access = access_lines(&lines);
    assert_eq!(access.len(), 3, "{lines:#?}");
    let expected = [
        (
            "first",
            "POST",
            "/api/p/{project}/members/get",
            401,
            "203.0.113.7",
        ),
        ("second", "GET", "unmatched", 404, "198.51.100.4"),
        ("third", "GET", "/health/ready", 503, "2001:db8::1"),
    ];
    for (line, (id, method, route, status, client)) in access.iter().zip(expected) {
        let f = &line["fields"];
        assert_eq!(line["level"], "INFO");
        assert_eq!(f["message"], "request");
        assert_eq!(f["method"], method);
        assert_eq!(f["route"], route);
        assert_eq!(f["status"], status);
        assert_eq!(f["request_id"], id);
        assert_eq!(f["client_addr"], client);
        assert!(f["duration_ms"].as_f64().is_some_and(|d| d >= 0.0), "{f}");
        assert_eq!(line["span"]["request_id"], id);
        let mut keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "client_addr",
                "duration_ms",
                "message",
                "method",
                "request_id",
                "route",
                "status"
            ]
        );
    }

    // The handler's own line (the failed readiness check) carries the id.
    let warned: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "readiness check failed")
        .collect();
    assert_eq!(warned.len(), 1, "{lines:#?}");
    assert_eq!(warned[0]["span"]["request_id"], "third");

    for secret in [
        GID,
        QUERY_SECRET,
        TOKEN,
        "Basic",
        "body-secret-1",
        "6.6.6.6",
    ] {
        assert!(!text.contains(secret), "{secret} logged: {text}");
    }
}

#[actix_rt::test]
async fn the_access_target_can_be_switched_off_by_the_filter() {
    let (_, on) = logged_info(plain(), vec![with_id(b"loud")], &["loud"]).await;
    assert_eq!(access_lines(&on).len(), 1);
    let off = logged(
        &format!("info,{ACCESS_TARGET}=off"),
        plain(),
        vec![with_id(b"quiet")],
    )
    .await;
    assert_eq!(access_lines(&off).len(), 0, "{off:#?}");
}
