//! Security hardening at the edge, the pool, the files and the outbox
//! (issue 10), through the real binary on both backends: U+0000 in any
//! text field is refused with the family's 4xx before it reaches the
//! database; two `Authorization` headers are ambiguous credentials (401);
//! losing every PostgreSQL connection never answers 500; the database
//! files and the generated secret are owner-only; a body that stalls gets
//! 408 and an oversized head 431, each in its family's envelope.

use crate::support::{Reply, Server, Setup, TestDb, CHECK_CODE, RESET_PASSWORD, SEND_EMAIL};
use accountd_testkit::PASSWORD;
use serde_json::{json, Map, Value};

fn login(server: &Server) -> String {
    let r = server.post_json(
        "/api/login",
        &json!({"username": "ann", "password": PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("authorization").expect("a token")
}

/// POSTs `body` (JSON) with the token, when given.
fn post(server: &Server, path: &str, token: Option<&str>, body: &Value) -> Reply {
    let mut req = reqwest::blocking::Client::new()
        .post(server.url(path))
        .json(body);
    if let Some(token) = token {
        req = req.header(reqwest::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    Reply::from(req.send().expect("POST"))
}

/// A gid no row has: the filler of gid parameters, so that only the field
/// under test offends.
const UNKNOWN: &str = "7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d";

/// Parameters that are gids (filled with [`UNKNOWN`]).
const GIDS: &[&str] = &["user", "project", "invitee", "member"];

/// Every Unicat route with a body and its text parameters, with whether it
/// needs the token.
const UNICAT: &[(&str, bool, &[&str])] = &[
    (
        "/api/signup_request",
        false,
        &["username", "password", "email"],
    ),
    (
        "/api/signup",
        false,
        &[
            "username",
            "password",
            "email",
            "validation_code",
            "verification_code",
        ],
    ),
    ("/api/reset_password_request", false, &["username_or_email"]),
    (
        "/api/reset_password",
        false,
        &[
            "username",
            "new_password",
            "validation_code",
            "verification_code",
        ],
    ),
    ("/api/login", false, &["username", "password"]),
    ("/api/username", false, &["username"]),
    (
        "/api/decline_invite",
        false,
        &["invitee", "project", "token"],
    ),
    ("/api/init_invite", false, &["invitee", "project", "token"]),
    ("/api/account/revert_email", false, &["token"]),
    (
        "/api/account/update",
        true,
        &["username", "password", "name", "language", "timezone"],
    ),
    ("/api/account/update_email_request", true, &["email"]),
    (
        "/api/account/update_email",
        true,
        &["email", "validation_code", "verification_code"],
    ),
    ("/api/users/get", true, &["user"]),
    ("/api/projects/create", true, &["name"]),
    ("/api/projects/get", true, &["project"]),
    ("/api/projects/update", true, &["project"]),
    ("/api/projects/delete", true, &["project"]),
    ("/api/projects/undelete", true, &["project"]),
    ("/api/projects/permanent_delete", true, &["project"]),
    ("/api/projects/transfer", true, &["project", "user"]),
    ("/api/account/accept_invite", true, &["project"]),
    ("/api/account/decline_invite", true, &["project"]),
    ("/api/account/leave_project", true, &["project"]),
    ("/api/members/get", true, &["project", "member"]),
    (
        "/api/p/7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d/members/invite",
        true,
        &["username_or_email"],
    ),
    (
        "/api/p/7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d/members/resend_invite",
        true,
        &["user"],
    ),
    (
        "/api/p/7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d/members/remove",
        true,
        &["user"],
    ),
    (
        "/api/p/7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d/members/get",
        true,
        &["member"],
    ),
];

/// The Unicat 400 naming `parameter` with `reason`, exactly.
#[track_caller]
fn assert_400(r: &Reply, parameter: &str, reason: &str, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.body);
    assert_eq!(
        r.json(),
        json!({"success": false, "result": {"code": 400, "message": "Bad request",
            "info": {"parameter": parameter, "reason": reason}}, "data": {}}),
        "{what}"
    );
}

fn a_nul_in_any_text_field_of_either_family_is_refused_with_its_4xx_and_changes_nothing(
    db: &TestDb,
) {
    let setup = Setup::new(db);
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = login(&server);

    for (path, authenticated, fields) in UNICAT {
        let token = authenticated.then_some(token.as_str());
        for (i, field) in fields.iter().enumerate() {
            // Every other parameter well formed, so that the NUL is what
            // offends; account/update takes any one field alone.
            let body: Map<String, Value> = fields
                .iter()
                .filter(|f| *f == field || *path != "/api/account/update")
                .map(|f| {
                    let v = if f == field {
                        "a\u{0}b"
                    } else if GIDS.contains(f) {
                        UNKNOWN
                    } else {
                        "a"
                    };
                    ((*f).to_owned(), json!(v))
                })
                .collect();
            let r = post(&server, path, token, &Value::Object(body));
            assert_400(&r, field, "invalid_value", &format!("{path} {field}"));
            // In a form as well.
            if i == 0 {
                let mut req = reqwest::blocking::Client::new()
                    .post(server.url(path))
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(format!("{field}=a%00b"));
                if let Some(token) = token {
                    req = req.header(reqwest::header::AUTHORIZATION, format!("Bearer {token}"));
                }
                let r = Reply::from(req.send().expect("POST"));
                assert_eq!(r.status, 400, "{path} form: {}", r.body);
                assert_ne!(r.json()["result"]["info"]["parameter"], json!("body"));
            }
        }
    }

    // A NUL where the route reads no text of its own (a nested value, an
    // unknown field, a key) is refused on the body, even beside a request
    // that would succeed.
    for body in [
        json!({"username": "ann", "password": PASSWORD, "extra": "\u{0}"}),
        json!({"username": "ann", "password": PASSWORD, "extra": {"deep": ["x\u{0}"]}}),
        json!({"username": "ann", "password": PASSWORD, "ke\u{0}y": 1}),
    ] {
        let r = post(&server, "/api/login", None, &body);
        assert_400(&r, "body", "invalid_value", &body.to_string());
        assert!(r.header("authorization").is_none());
    }
    let r = post(
        &server,
        "/api/projects/create",
        Some(&token),
        &json!({"name": "p", "options": {"language": "e\u{0}n"}}),
    );
    assert_400(&r, "body", "invalid_value", "nested options");

    // forgotPassword: the 422 map, the field holding the NUL named in its
    // rule order.
    for (path, body, expected) in [
        (
            SEND_EMAIL,
            json!({"username": "a\u{0}b"}),
            json!({"username": ["The username format is invalid."]}),
        ),
        (
            CHECK_CODE,
            json!({"username": "ann\u{0}", "code": "123456"}),
            json!({"username": ["The username format is invalid."]}),
        ),
        (
            CHECK_CODE,
            json!({"username": "ann", "code": "12345\u{0}"}),
            json!({"code": ["The code format is invalid."]}),
        ),
        (
            RESET_PASSWORD,
            json!({"username": "ann", "code": "123456", "new_password": "secret\u{0}secret"}),
            json!({"new_password": ["The new password format is invalid."]}),
        ),
        (
            RESET_PASSWORD,
            json!({"username": "\u{0}", "code": "\u{0}", "new_password": "\u{0}"}),
            json!({"code": ["The code format is invalid."],
                "username": ["The username format is invalid."],
                "new_password": ["The new password format is invalid."]}),
        ),
    ] {
        let r = server.post_json(path, &body);
        assert_eq!(r.status, 422, "{path} {body}: {}", r.body);
        assert_eq!(r.body, expected.to_string(), "{path} {body}");
    }
    let r = server.post_raw(
        SEND_EMAIL,
        Some("application/x-www-form-urlencoded"),
        "username=ann%00",
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"username": ["The username format is invalid."]}).to_string()
    );

    // Nothing was stored: no mail was queued for ann, and her password is
    // the one she had.
    assert_eq!(server.send_email("ann").status, 200);
    login(&server);
}
on_both_backends!(
    a_nul_in_any_text_field_of_either_family_is_refused_with_its_4xx_and_changes_nothing
);

fn two_authorization_headers_are_ambiguous_credentials_and_get_401(db: &TestDb) {
    let setup = Setup::new(db);
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = login(&server);
    let bearer = format!("Bearer {token}");
    let send = |values: &[&str]| {
        let mut req = reqwest::blocking::Client::new().get(server.url("/api/init"));
        for v in values {
            req = req.header(reqwest::header::AUTHORIZATION, *v);
        }
        Reply::from(req.send().expect("GET"))
    };
    // One header: the caller.
    assert_eq!(send(&[&bearer]).status, 200);
    let unauthorized = send(&[]);
    assert_eq!(unauthorized.status, 401, "{}", unauthorized.body);
    // Two, in either order, even both valid and equal: 401, exactly as a
    // missing token answers.
    for values in [
        [bearer.as_str(), "Bearer not-a-token"],
        ["Bearer not-a-token", bearer.as_str()],
        [bearer.as_str(), bearer.as_str()],
    ] {
        let r = send(&values);
        assert_eq!(r.status, 401, "{values:?}: {}", r.body);
        assert_eq!(r.body, unauthorized.body, "{values:?}");
        assert_eq!(
            r.header("www-authenticate"),
            unauthorized.header("www-authenticate"),
            "{values:?}"
        );
        assert!(r.header("www-authenticate").is_some());
        assert!(r.header("authorization").is_none(), "{values:?}");
    }
}
on_both_backends!(two_authorization_headers_are_ambiguous_credentials_and_get_401);

/// Only on PostgreSQL: a SQLite file cannot lose its server.
#[test]
fn losing_every_postgresql_connection_never_answers_500_and_the_routes_work_again() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    // Seven passes of step 1 for one account and one address: limits out
    // of the way (they are not what this test is about).
    let setup = Setup::new(&db)
        .env("ACCOUNTD_CODES_PER_HOUR", "1000")
        .env("ACCOUNTD_CODES_PER_DAY", "1000")
        .env("ACCOUNTD_STEP1_PER_IP_PER_HOUR", "1000");
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = login(&server);
    let routes = |what: &str| -> Vec<Reply> {
        let mut replies = vec![
            server.send_email("ann"),
            server.check_code("ann", "000000"),
            server.post_json(
                "/api/login",
                &json!({"username": "ann", "password": PASSWORD}),
            ),
            server.post_json(
                "/api/signup_request",
                &json!({"username": format!("bob{}", what.len()), "password": "a long passphrase 81",
                    "email": "bob@example.com"}),
            ),
            server.get_with("/api/init", &[("Authorization", &format!("Bearer {token}"))]),
            server.get("/health/ready"),
        ];
        for r in &replies {
            assert_ne!(r.status, 500, "{what}: {}", r.body);
            if r.status == 503 {
                assert!(r.header("retry-after").is_some(), "{what}: {r:?}");
            }
        }
        replies.retain(|r| r.status != 503);
        replies
    };
    // Warm the pool: several connections idle in it.
    let before = routes("before");
    assert_eq!(before.len(), 6, "every route answers before");
    for round in 0..3 {
        assert!(db.terminate_backends() > 0, "the server held connections");
        // Right after: the request that meets a dead connection answers 503
        // with Retry-After, never 500, and the pool then validates its
        // checkouts, replacing the other dead connections before they serve.
        let _ = routes(&format!("round {round}, right after"));
        let after = routes(&format!("round {round}"));
        // And they work: the same statuses as before.
        assert_eq!(
            after.iter().map(|r| r.status).collect::<Vec<_>>(),
            before.iter().map(|r| r.status).collect::<Vec<_>>(),
            "round {round}"
        );
    }
    assert!(
        server
            .stderr
            .all()
            .iter()
            .all(|l| !l.contains("unexpected error")),
        "no unexpected error logged"
    );
}

/// The mode bits of `path` (permissions only).
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// SQLite only: the database file and its `-wal` and `-shm` hold password
/// hashes; the generated secret is owner-only too.
#[cfg(unix)]
#[test]
fn the_sqlite_files_and_the_generated_secret_are_created_owner_only() {
    let db = TestDb::sqlite();
    let file = std::path::PathBuf::from(db.url.strip_prefix("sqlite://").unwrap());
    let data = tempfile::tempdir().unwrap();
    let setup = Setup::new(&db)
        .unset("ACCOUNTD_SECRET")
        .env("ACCOUNTD_DATA_DIR", &data.path().display().to_string());
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    // A write, so that the write-ahead log is in use.
    login(&server);
    assert_eq!(server.send_email("ann").status, 200);
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.clone().into_os_string();
        name.push(suffix);
        let path = std::path::PathBuf::from(name);
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert_eq!(mode(&data.path().join("secret")), 0o600);
    assert!(
        server
            .stderr
            .all()
            .iter()
            .all(|l| !l.contains("may be read by other users")),
        "no warning for an owner-only secret"
    );
}

/// An existing SQLite file others may read is narrowed to 0600 at start; an
/// existing secret file others may read is used, with a warning.
#[cfg(unix)]
#[test]
fn existing_files_others_may_read_are_narrowed_or_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;
    let db = TestDb::sqlite();
    let file = std::path::PathBuf::from(db.url.strip_prefix("sqlite://").unwrap());
    let data = tempfile::tempdir().unwrap();
    let setup = Setup::new(&db)
        .unset("ACCOUNTD_SECRET")
        .env("ACCOUNTD_DATA_DIR", &data.path().display().to_string());
    setup.add_user("ann", &["ann@example.com"]);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let secret = data.path().join("secret");
    std::fs::write(&secret, "an-existing-secret-of-more-than-32-bytes").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = setup.start();
    login(&server);
    assert_eq!(mode(&file), 0o600);
    assert!(
        server
            .stderr_wait(Duration::from_secs(10), |l| l
                .contains("may be read by other users"))
            .is_some(),
        "a warning for a secret others may read"
    );
    // The secret is still the one in the file (left as it was).
    assert_eq!(mode(&secret), 0o644);
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "an-existing-secret-of-more-than-32-bytes"
    );
}

/// Sends `head` (and then `body`, a byte at a time every `drip`, when
/// given) on a raw connection and reads the answer until the server closes
/// it; the socket's read timeout is only a backstop against a hang.
fn raw_exchange(
    server: &Server,
    head: &str,
    body: &[u8],
    drip: Option<std::time::Duration>,
) -> String {
    use std::io::{Read, Write};
    let addr = server.base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    stream.write_all(head.as_bytes()).expect("send the head");
    let writer = stream.try_clone().unwrap();
    let body = body.to_vec();
    let dripping = std::thread::spawn(move || {
        let mut writer = writer;
        match drip {
            None => {
                let _ = writer.write_all(&body);
            }
            // Until the server hangs up (or 150 bytes were sent).
            Some(every) => {
                for b in body.iter().cycle().take(150) {
                    if writer.write_all(&[*b]).is_err() {
                        return;
                    }
                    std::thread::sleep(every);
                }
            }
        }
    });
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    drop(stream);
    let _ = dripping.join();
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status and the body of a raw HTTP/1.1 answer (no chunking: actix
/// sends JSON with a length).
fn status_and_body(answer: &str) -> (u16, &str) {
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body)
}

fn bodies_that_stall_get_408_in_the_family_envelope_and_the_connection_is_closed(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_BODY_TIMEOUT_SECONDS", "1");
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = login(&server);
    let unicat_408 = json!({"success": false, "result": {"code": 408,
        "message": "Request timeout", "info": {}}, "data": {}})
    .to_string();
    let forgot_408 = json!({"msg": "Request timeout", "error_code": "request_timeout"}).to_string();
    for (path, auth, expected) in [
        ("/api/login", String::new(), &unicat_408),
        (
            "/api/account/update",
            format!("Authorization: Bearer {token}\r\n"),
            &unicat_408,
        ),
        (SEND_EMAIL, String::new(), &forgot_408),
    ] {
        // Announces 60,000 bytes and sends one.
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             {auth}Content-Length: 60000\r\n\r\n"
        );
        let answer = raw_exchange(&server, &head, b"{", None);
        let (status, body) = status_and_body(&answer);
        assert_eq!(status, 408, "{path}: {answer}");
        assert_eq!(body, expected.as_str(), "{path}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{path}: {answer}"
        );
        // Drips a byte every 200 ms (each arriving well within any idle
        // timeout): still 408, the total time is bounded.
        let answer = raw_exchange(
            &server,
            &head,
            b"{\"username\": \"ann\"}      ",
            Some(std::time::Duration::from_millis(200)),
        );
        let (status, body) = status_and_body(&answer);
        assert_eq!(status, 408, "{path} dripping: {answer}");
        assert_eq!(body, expected.as_str(), "{path} dripping");
        // Chunked, never finished.
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             {auth}Transfer-Encoding: chunked\r\n\r\n"
        );
        let answer = raw_exchange(&server, &head, b"1\r\n{\r\n", None);
        assert_eq!(
            status_and_body(&answer),
            (408, expected.as_str()),
            "{path} chunked"
        );
    }
    // A body that arrives in time is read as always.
    login(&server);
}
on_both_backends!(bodies_that_stall_get_408_in_the_family_envelope_and_the_connection_is_closed);

fn oversized_heads_get_431_in_the_family_envelope(db: &TestDb) {
    let setup = Setup::new(db);
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let unicat_431 = json!({"success": false, "result": {"code": 431,
        "message": "Request header fields too large", "info": {}}, "data": {}})
    .to_string();
    let forgot_431 = json!({"msg": "Request header fields too large",
        "error_code": "headers_too_large"})
    .to_string();
    let big = "x".repeat(40 * 1024);
    let many: String = (0..80).map(|i| format!("X-Filler-{i}: {i}\r\n")).collect();
    for (path, expected) in [
        ("/api/login", &unicat_431),
        ("/api/init", &unicat_431),
        ("/api/no-such-route", &unicat_431),
        (SEND_EMAIL, &forgot_431),
    ] {
        for (what, extra) in [
            ("one big header", format!("X-Big: {big}\r\n")),
            ("a big token", format!("Authorization: Bearer {big}\r\n")),
            ("many headers", many.clone()),
        ] {
            let body = r#"{"username":"ann"}"#;
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 {extra}Content-Length: {}\r\n\r\n",
                body.len()
            );
            let answer = raw_exchange(&server, &head, body.as_bytes(), None);
            let (status, got) = status_and_body(&answer);
            assert_eq!(
                status,
                431,
                "{path} {what}: {}",
                &answer[..answer.len().min(300)]
            );
            assert_eq!(got, expected.as_str(), "{path} {what}");
        }
        // A long target too.
        let head = format!("POST {path}?{big} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        let answer = raw_exchange(&server, &head, b"", None);
        assert_eq!(
            status_and_body(&answer),
            (431, expected.as_str()),
            "{path} target"
        );
    }
    // A usual head passes.
    login(&server);
}
on_both_backends!(oversized_heads_get_431_in_the_family_envelope);

/// The outbox row `id` as stored, read through the adapter itself.
fn stored_outbox_row(db: &TestDb, id: i64) -> accountd_adapters::OutboxSnapshot {
    let url = accountd_adapters::DatabaseUrl::parse(&db.url).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db =
            accountd_adapters::Database::open(&url, 1, std::time::Duration::from_secs(10)).unwrap();
        db.outbox_snapshot(id)
            .await
            .unwrap()
            .expect("the outbox row")
    })
}

fn a_code_waiting_in_the_outbox_during_an_smtp_outage_is_not_stored_in_clear(db: &TestDb) {
    use accountd_testkit::{unused_port, SmtpCapture};
    use std::time::Duration;
    let port = unused_port();
    let setup = Setup::new(db).smtp(port);
    setup.add_user("iris", &["iris@example.com"]);
    let server = setup.start();
    assert_eq!(server.send_email("iris").status, 200);
    // The first attempt fails (nothing listens): the mail waits.
    assert!(server
        .stderr_wait(Duration::from_secs(10), |l| l.contains("will retry"))
        .is_some());
    let waiting = stored_outbox_row(db, 1);
    assert_eq!(waiting.state, "pending");
    assert_eq!(waiting.recipient, "iris@example.com");
    assert!(waiting.body_sealed);
    let stored = waiting.body.clone().expect("a pending body");

    let smtp = SmtpCapture::start_on(port);
    let mail = smtp.wait_for(Duration::from_secs(15), |m| m.is_to("iris@example.com"));
    let code = mail.code();
    assert_eq!(code.len(), 6);
    assert!(
        !stored.contains(&code),
        "the live code {code} was stored in clear: {stored}"
    );
    for word in mail.text.split_whitespace().filter(|w| w.len() > 5) {
        assert!(!stored.contains(word), "{word:?} stored in clear: {stored}");
    }
    // The mail that arrived is the right one, and the body is erased now.
    assert_eq!(server.check_code("iris", &code).status, 200);
    let sent = stored_outbox_row(db, 1);
    assert_eq!(sent.state, "sent");
    assert_eq!(sent.body, None);
}
on_both_backends!(a_code_waiting_in_the_outbox_during_an_smtp_outage_is_not_stored_in_clear);
