//! End-to-end tests of the Unicat account routes through the real binary:
//! `accountd serve` on a real port, its own database (every scenario on
//! SQLite and on PostgreSQL; the PostgreSQL runs are skipped only when
//! `TEST_DATABASE_URL` is unset), and a real SMTP server in this process
//! capturing the mail.

use crate::support::{self, code_invalid, validation, Reply, Server, Setup, TestDb};
use accountd_testkit::{in_parallel, Mail, SmtpCapture, MAIL_WAIT, NEW_PASSWORD, PASSWORD, STRONG};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const REALM: &str = r#"Bearer realm="JWT access to Unicat.""#;
const PERMISSION_DENIED: &str =
    r#"{"success":false,"result":{"code":401,"message":"Permission denied","info":{}},"data":{}}"#;
const UNKNOWN_USER: &str =
    r#"{"success":false,"result":{"code":403,"message":"Unknown user","info":{}},"data":{}}"#;
const NOT_FOUND: &str =
    r#"{"success":false,"result":{"code":404,"message":"Not found","info":{}},"data":{}}"#;
const PAYLOAD_TOO_LARGE: &str =
    r#"{"success":false,"result":{"code":413,"message":"Payload too large","info":{}},"data":{}}"#;
const UNPROCESSABLE: &str = r#"{"success":false,"result":{"code":422,"message":"Unprocessable Entity","info":{}},"data":{}}"#;

const SIGNUP_MISMATCH: &str = "The request does not match the sign-up request.";
const RESET_MISMATCH: &str = "The username is not one of the accounts of this reset request.";

/// The 24 official EU languages with the English names `cc.languages` gives.
const EU_LANGUAGES: &[(&str, &str)] = &[
    ("bg", "Bulgarian"),
    ("cs", "Czech"),
    ("da", "Danish"),
    ("de", "German"),
    ("el", "Modern Greek"),
    ("en", "English"),
    ("es", "Spanish"),
    ("et", "Estonian"),
    ("fi", "Finnish"),
    ("fr", "French"),
    ("ga", "Irish"),
    ("hr", "Croatian"),
    ("hu", "Hungarian"),
    ("it", "Italian"),
    ("lt", "Lithuanian"),
    ("lv", "Latvian"),
    ("mt", "Maltese"),
    ("nl", "Dutch"),
    ("pl", "Polish"),
    ("pt", "Portuguese"),
    ("ro", "Romanian"),
    ("sk", "Slovak"),
    ("sl", "Slovenian"),
    ("sv", "Swedish"),
];

// ---- Requests ----

fn signup_request(server: &Server, username: &str, password: &str, email: &str) -> Reply {
    server.post_json(
        "/api/signup_request",
        &json!({"username": username, "password": password, "email": email}),
    )
}

fn signup(
    server: &Server,
    username: &str,
    password: &str,
    email: &str,
    validation_code: &str,
    verification_code: &str,
) -> Reply {
    server.post_json(
        "/api/signup",
        &json!({
            "username": username,
            "password": password,
            "email": email,
            "validation_code": validation_code,
            "verification_code": verification_code,
        }),
    )
}

fn reset_request(server: &Server, username_or_email: &str) -> Reply {
    server.post_json(
        "/api/reset_password_request",
        &json!({ "username_or_email": username_or_email }),
    )
}

fn reset(
    server: &Server,
    username: &str,
    new_password: &str,
    validation_code: &str,
    verification_code: &str,
) -> Reply {
    server.post_json(
        "/api/reset_password",
        &json!({
            "username": username,
            "new_password": new_password,
            "validation_code": validation_code,
            "verification_code": verification_code,
        }),
    )
}

fn login(server: &Server, username: &str, password: &str) -> Reply {
    server.post_json(
        "/api/login",
        &json!({"username": username, "password": password}),
    )
}

/// `GET /api/init` with `Authorization: Bearer <token>`.
fn init(server: &Server, token: &str) -> Reply {
    server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {token}"))],
    )
}

// ---- Expected answers ----

/// Asserts status and the exact body text.
#[track_caller]
fn assert_reply(reply: &Reply, status: u16, body: &str) {
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (status, body),
        "unexpected answer"
    );
}

/// Asserts the exact 401 body and its `WWW-Authenticate` header.
#[track_caller]
fn assert_denied(reply: &Reply) {
    assert_reply(reply, 401, PERMISSION_DENIED);
    assert_eq!(reply.header("www-authenticate").as_deref(), Some(REALM));
    assert_eq!(reply.header("authorization"), None, "no token on a 401");
}

/// The exact 400 body for `parameter` and `reason`.
fn bad_request(parameter: &str, reason: &str) -> String {
    json!({
        "success": false,
        "result": {"code": 400, "message": "Bad request",
                   "info": {"parameter": parameter, "reason": reason}},
        "data": {},
    })
    .to_string()
}

fn code_exhausted() -> String {
    validation(
        "verification_code",
        "code_exhausted",
        "Too many wrong verification codes; request a new one.",
        &[],
    )
}

fn code_expired() -> String {
    validation(
        "verification_code",
        "code_expired",
        "The verification code has expired; request a new one.",
        &[],
    )
}

/// Asserts a 1001 whose `detail` is implementation wording: checks the
/// envelope, `field` and `reason`, and that `detail` is one non-empty
/// sentence; returns `info`.
#[track_caller]
fn assert_invalid(reply: &Reply, field: &str, reason: &str) -> serde_json::Map<String, Value> {
    assert_eq!(reply.status, 422, "{reply:?}");
    let body = reply.json();
    assert_eq!(body["success"], json!(false), "{reply:?}");
    assert_eq!(body["data"], json!({}), "{reply:?}");
    assert_eq!(body["result"]["code"], json!(1001), "{reply:?}");
    assert_eq!(body["result"]["message"], json!("Validation error"));
    let info = body["result"]["info"].as_object().unwrap().clone();
    assert_eq!(
        (info["field"].as_str(), info["reason"].as_str()),
        (Some(field), Some(reason)),
        "{reply:?}"
    );
    assert!(
        info["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{reply:?}"
    );
    info
}

/// Asserts `password_weak` with a list of textual suggestions: the
/// estimator's hints (non-empty) when it judged the password weak, or an
/// empty list when a rule (length, username, email) refused it first.
#[track_caller]
fn assert_weak(reply: &Reply, field: &str, by_estimator: bool) {
    let info = assert_invalid(reply, field, "password_weak");
    let suggestions = info
        .get("suggestions")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("a suggestions array in {reply:?}"));
    assert_eq!(suggestions.is_empty(), !by_estimator, "{reply:?}");
    assert!(
        suggestions
            .iter()
            .all(|s| s.as_str().is_some_and(|s| !s.is_empty())),
        "{reply:?}"
    );
}

/// A step-1 answer: 200 with exactly `{"validation_code": …}` (plus
/// `usernames` when given) and empty `data`; returns the validation code.
#[track_caller]
fn validation_code_of(reply: &Reply, usernames: Option<&[&str]>) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("authorization"), None, "no token on step 1");
    let code = reply.json()["result"]["validation_code"]
        .as_str()
        .unwrap_or_else(|| panic!("a validation code in {reply:?}"))
        .to_owned();
    assert_eq!(code.len(), 43, "256 bits, base64url: {code:?}");
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "URL-safe: {code:?}"
    );
    let mut result = json!({ "validation_code": code });
    if let Some(names) = usernames {
        result["usernames"] = json!(names);
    }
    let expected = json!({"success": true, "result": result, "data": {}}).to_string();
    assert_eq!(reply.body, expected);
    code
}

/// A session payload for a user without projects: 200, a fresh raw JWT in
/// `Authorization`, and the exact body. Returns `(gid, token)`.
#[track_caller]
fn assert_session(
    reply: &Reply,
    username: &str,
    email: &str,
    with_version: bool,
) -> (String, String) {
    assert_eq!(reply.status, 200, "{reply:?}");
    let token = reply
        .header("authorization")
        .expect("a fresh token in Authorization");
    assert!(!token.starts_with("Bearer"), "the raw token: {token:?}");
    assert_eq!(token.split('.').count(), 3, "a JWT: {token:?}");
    let body = reply.json();
    let gid = body["result"]["user"]
        .as_str()
        .unwrap_or_else(|| panic!("result.user in {reply:?}"))
        .to_owned();
    assert_eq!(gid.len(), 36, "a uuid: {gid:?}");
    assert_eq!(gid, gid.to_lowercase(), "lower-case gid");
    assert_eq!(gid.matches('-').count(), 4, "hyphenated gid");

    let mut result = json!({"user": gid, "user_projects": {}});
    if with_version {
        result["cc.version"] = json!(env!("CARGO_PKG_VERSION"));
        result["cc.cursor"] = json!(0);
    }
    let mut users = serde_json::Map::new();
    users.insert(
        gid.clone(),
        json!({
            "gid": gid,
            "username": username,
            "email": email,
            "name": "",
            "avatar": null,
            "status": "active",
            "options": {"language": "en", "timezone": "Europe/Amsterdam"},
        }),
    );
    let languages: serde_json::Map<String, Value> = EU_LANGUAGES
        .iter()
        .map(|(c, n)| ((*c).to_owned(), json!(n)))
        .collect();
    let expected = json!({
        "success": true,
        "result": result,
        "data": {
            "cc.users": users,
            "cc.projects": {},
            "cc.projects_members": [],
            "cc.languages": languages,
        },
    });
    assert_eq!(body, expected, "the session payload");
    assert_eq!(reply.body, expected.to_string(), "the exact text");
    (gid, token)
}

/// A code that is not `code` (after normalisation).
fn wrong_code(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

/// `code` as a person might type it: lower-case, `0` as `o`, `1` as `l`,
/// with a hyphen in the middle (the server normalises all of it).
fn sloppy(code: &str) -> String {
    let lower: String = code
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'l',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    format!("{}-{}", &lower[..3], &lower[3..])
}

/// Signs up `username` through both steps; returns `(gid, token)`.
fn sign_up(server: &Server, smtp: &SmtpCapture, username: &str, email: &str) -> (String, String) {
    let validation_code =
        validation_code_of(&signup_request(server, username, STRONG, email), None);
    let code = smtp.signup_code_for(email);
    let reply = signup(server, username, STRONG, email, &validation_code, &code);
    assert_session(&reply, username, email, false)
}

// ---- Sign-up ----

fn signup_in_two_steps_opens_a_session_that_init_and_login_continue(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let server = Setup::new(db).smtp(smtp.port).start();

    let reply = signup_request(&server, "ann", STRONG, "ann@example.com");
    let validation_code = validation_code_of(&reply, None);
    let mail = smtp.wait_for(MAIL_WAIT, |m| m.is_to("ann@example.com"));
    assert!(mail.is_signup_mail(), "subject {:?}", mail.subject);
    assert_eq!(mail.recipients, vec!["ann@example.com"]);
    assert!(mail.text.starts_with("Hello ann,"), "{}", mail.text);
    let code = mail.unicat_code();
    for secret in [STRONG, validation_code.as_str()] {
        assert!(!mail.raw.contains(secret), "the mail leaks {secret:?}");
    }

    let reply = signup(
        &server,
        "ann",
        STRONG,
        "ann@example.com",
        &validation_code,
        &code,
    );
    let (gid, token) = assert_session(&reply, "ann", "ann@example.com", false);

    let reply = init(&server, &token);
    let (init_gid, fresh) = assert_session(&reply, "ann", "ann@example.com", true);
    assert_eq!(init_gid, gid);
    assert_ne!(fresh, token, "init renews the token");
    // Both the old and the renewed token are good.
    assert_eq!(init(&server, &fresh).status, 200);
    assert_eq!(init(&server, &token).status, 200);

    let reply = login(&server, "ann", STRONG);
    let (login_gid, login_token) = assert_session(&reply, "ann", "ann@example.com", true);
    assert_eq!(login_gid, gid);
    assert_eq!(init(&server, &login_token).status, 200);

    // Nothing else was mailed, and no log line holds a secret.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.mails().len(), 1, "only the sign-up mail");
    let log = server.stderr.all().join("\n") + &server.stdout.all().join("\n");
    for secret in [STRONG, &validation_code, &code, &token, &fresh] {
        assert!(!log.contains(secret), "the log leaks {secret:?}");
    }
}
on_both_backends!(signup_in_two_steps_opens_a_session_that_init_and_login_continue);

fn a_replayed_signup_gets_code_invalid(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let server = Setup::new(db).smtp(smtp.port).start();

    let email = "bob@example.com";
    let validation_code = validation_code_of(&signup_request(&server, "bob", STRONG, email), None);
    let code = smtp.signup_code_for(email);
    let ok = signup(&server, "bob", STRONG, email, &validation_code, &code);
    assert_session(&ok, "bob", email, false);

    let replay = signup(&server, "bob", STRONG, email, &validation_code, &code);
    assert_reply(&replay, 422, &code_invalid(0));
    // An unknown validation code is just as invalid.
    let made_up = signup(&server, "bob", STRONG, email, &"A".repeat(43), &code);
    assert_reply(&made_up, 422, &code_invalid(0));
    // And the name is now taken, in any case.
    for name in ["bob", "BOB"] {
        assert_reply(
            &signup_request(&server, name, STRONG, email),
            422,
            &validation(
                "username",
                "username_unavailable",
                "The username is already taken.",
                &[],
            ),
        );
    }
}
on_both_backends!(a_replayed_signup_gets_code_invalid);

fn five_wrong_codes_exhaust_a_signup_even_for_the_right_code(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let server = Setup::new(db).smtp(smtp.port).start();

    let email = "cleo@example.com";
    let validation_code = validation_code_of(&signup_request(&server, "cleo", STRONG, email), None);
    let code = smtp.signup_code_for(email);
    let wrong = wrong_code(&code);
    for left in [4, 3, 2] {
        let reply = signup(&server, "cleo", STRONG, email, &validation_code, wrong);
        assert_reply(&reply, 422, &code_invalid(left));
    }
    // Text that is no Crockford code at all is a wrong try as well.
    for (typed, left) in [("not a code", 1), ("", 0)] {
        let reply = signup(&server, "cleo", STRONG, email, &validation_code, typed);
        assert_reply(&reply, 422, &code_invalid(left));
    }
    for typed in [code.as_str(), wrong] {
        let reply = signup(&server, "cleo", STRONG, email, &validation_code, typed);
        assert_reply(&reply, 422, &code_exhausted());
    }
    assert_reply(&login(&server, "cleo", STRONG), 403, UNKNOWN_USER);
}
on_both_backends!(five_wrong_codes_exhaust_a_signup_even_for_the_right_code);

fn an_expired_signup_code_gets_code_expired(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let server = Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_CODE_TTL_SECONDS", "2")
        .start();

    let email = "dora@example.com";
    let asked = Instant::now();
    let validation_code = validation_code_of(&signup_request(&server, "dora", STRONG, email), None);
    let code = smtp.signup_code_for(email);
    let expiry = asked + Duration::from_millis(2300);
    std::thread::sleep(expiry.saturating_duration_since(Instant::now()));
    for typed in [code.as_str(), wrong_code(&code)] {
        let reply = signup(&server, "dora", STRONG, email, &validation_code, typed);
        assert_reply(&reply, 422, &code_expired());
    }
    assert_reply(&login(&server, "dora", STRONG), 403, UNKNOWN_USER);
}
on_both_backends!(an_expired_signup_code_gets_code_expired);

fn a_signup_that_does_not_match_its_request_is_refused_without_spending_a_try(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let server = Setup::new(db).smtp(smtp.port).start();

    let email = "Emil@Example.com";
    let validation_code = validation_code_of(&signup_request(&server, "Emil", STRONG, email), None);
    let code = smtp.signup_code_for(email);
    let mismatch = |field| validation(field, "request_mismatch", SIGNUP_MISMATCH, &[]);
    let cases = [
        ("emil", STRONG, email, "username"),
        ("EMIL", STRONG, email, "username"),
        ("other", STRONG, email, "username"),
        // A password that does not verify spends a try (see
        // `enumeration::a_signup_password_that_does_not_verify_spends_a_try`).
        ("Emil", STRONG, "emil@example.org", "email"),
        ("Emil", STRONG, "not an address", "email"),
    ];
    for (username, password, mail_to, field) in cases {
        // With the right code and with a wrong one alike.
        for typed in [code.as_str(), wrong_code(&code)] {
            let reply = signup(
                &server,
                username,
                password,
                mail_to,
                &validation_code,
                typed,
            );
            assert_reply(&reply, 422, &mismatch(field));
        }
    }
    // No try was spent.
    let reply = signup(
        &server,
        "Emil",
        STRONG,
        email,
        &validation_code,
        wrong_code(&code),
    );
    assert_reply(&reply, 422, &code_invalid(4));

    // The email matches case-insensitively, and the code is normalised.
    let reply = signup(
        &server,
        "Emil",
        STRONG,
        "emil@EXAMPLE.COM",
        &validation_code,
        &sloppy(&code),
    );
    assert_session(&reply, "Emil", email, false);
}
on_both_backends!(a_signup_that_does_not_match_its_request_is_refused_without_spending_a_try);

fn a_username_taken_between_the_two_steps_gets_username_unavailable(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let server = Setup::new(db).smtp(smtp.port).start();

    let first = validation_code_of(
        &signup_request(&server, "quinn", STRONG, "quinn@example.com"),
        None,
    );
    let second = validation_code_of(
        &signup_request(&server, "Quinn", STRONG, "other.quinn@example.com"),
        None,
    );
    let first_code = smtp.signup_code_for("quinn@example.com");
    let second_code = smtp.signup_code_for("other.quinn@example.com");
    assert_session(
        &signup(
            &server,
            "quinn",
            STRONG,
            "quinn@example.com",
            &first,
            &first_code,
        ),
        "quinn",
        "quinn@example.com",
        false,
    );
    assert_reply(
        &signup(
            &server,
            "Quinn",
            STRONG,
            "other.quinn@example.com",
            &second,
            &second_code,
        ),
        422,
        &validation(
            "username",
            "username_unavailable",
            "The username was taken meanwhile.",
            &[],
        ),
    );
    assert_reply(&login(&server, "Quinn", STRONG), 403, UNKNOWN_USER);
}
on_both_backends!(a_username_taken_between_the_two_steps_gets_username_unavailable);

fn a_code_beyond_the_hourly_limit_gets_429_with_retry_after(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_CODES_PER_HOUR", "1");
    setup.add_user("rita", &["rita@example.com"]);
    let server = setup.start();

    validation_code_of(
        &signup_request(&server, "sam", STRONG, "sam@example.com"),
        None,
    );
    validation_code_of(&reset_request(&server, "rita"), Some(&["rita"]));
    for reply in [
        // The limit counts per address (in any case) for sign-ups...
        signup_request(&server, "sam2", STRONG, "SAM@example.com"),
        // ...and per account for resets.
        reset_request(&server, "rita"),
    ] {
        assert_eq!(reply.status, 429, "{reply:?}");
        let retry_after: u64 = reply
            .header("retry-after")
            .expect("a Retry-After header")
            .parse()
            .expect("seconds");
        assert!(
            (1..=3600).contains(&retry_after),
            "Retry-After {retry_after}"
        );
        let expected = json!({
            "success": false,
            "result": {"code": 429, "message": "Too many requests",
                       "info": {"retry_after": retry_after}},
            "data": {},
        });
        assert_reply(&reply, 429, &expected.to_string());
    }
}
on_both_backends!(a_code_beyond_the_hourly_limit_gets_429_with_retry_after);

fn a_signup_request_with_an_unacceptable_value_names_the_field_and_the_reason(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    setup.add_user("Ann", &["ann@example.com"]);
    let server = setup.start();

    let email = "fred@example.com";
    assert_weak(
        &signup_request(&server, "fred", "abcdefgh", email),
        "password",
        true,
    );
    assert_weak(
        &signup_request(&server, "fred", "short", email),
        "password",
        false,
    );
    assert_weak(
        &signup_request(&server, "fred", "Fred-correct-horse-battery", email),
        "password",
        false,
    );
    assert_weak(
        &signup_request(
            &server,
            "fred",
            "staple-Mailbox77-horse",
            "mailbox77@example.com",
        ),
        "password",
        false,
    );

    let long = "correct horse battery staple ".repeat(3);
    let too_long = &long[..73];
    assert_eq!(too_long.len(), 73);
    assert_invalid(
        &signup_request(&server, "fred", too_long, email),
        "password",
        "password_too_long",
    );
    // Bytes count, not characters: 37 two-byte characters are 74 bytes.
    assert_invalid(
        &signup_request(&server, "fred", &"é".repeat(37), email),
        "password",
        "password_too_long",
    );

    for name in ["fred smith", "fred!", "", &"f".repeat(65)] {
        assert_invalid(
            &signup_request(&server, name, STRONG, email),
            "username",
            "username_invalid",
        );
    }
    for address in [
        "not-an-email",
        "fred@",
        "@example.com",
        "fred smith@example.com",
    ] {
        assert_invalid(
            &signup_request(&server, "fred", STRONG, address),
            "email",
            "email_invalid",
        );
    }
    for name in ["ANN", "ann", "Ann"] {
        assert_reply(
            &signup_request(&server, name, STRONG, email),
            422,
            &validation(
                "username",
                "username_unavailable",
                "The username is already taken.",
                &[],
            ),
        );
    }

    // None of those issued anything; 72 bytes, letters of any script and a
    // valid address pass.
    let just_fits = &long[..72];
    let reply = signup_request(&server, "Frédéric_2.0-x", just_fits, email);
    validation_code_of(&reply, None);
    smtp.signup_code_for(email);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        smtp.mails().len(),
        1,
        "one mail, for the one accepted request"
    );
}
on_both_backends!(a_signup_request_with_an_unacceptable_value_names_the_field_and_the_reason);

// ---- Bad requests ----

fn malformed_requests_get_400_413_and_404_in_the_unicat_envelope(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_MAX_BODY_BYTES", "1024");
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();

    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "/api/signup_request",
            json!({"username": "ann", "email": "ann@example.com"}),
            "password",
            "missing",
        ),
        ("/api/signup_request", json!({}), "username", "missing"),
        (
            "/api/signup_request",
            json!({"username": "ann", "password": 12_345_678, "email": null}),
            "password",
            "invalid_type",
        ),
        (
            "/api/signup_request",
            json!({"username": "ann", "password": STRONG, "email": null}),
            "email",
            "missing",
        ),
        (
            "/api/signup",
            json!({"username": "ann", "password": STRONG, "email": "a@example.com",
                   "validation_code": "v"}),
            "verification_code",
            "missing",
        ),
        (
            "/api/signup",
            json!({"username": ["ann"], "verification_code": 5}),
            "username",
            "invalid_type",
        ),
        (
            "/api/reset_password_request",
            json!({"username": "ann"}),
            "username_or_email",
            "missing",
        ),
        (
            "/api/reset_password_request",
            json!({"username_or_email": {"name": "ann"}}),
            "username_or_email",
            "invalid_type",
        ),
        (
            "/api/reset_password",
            json!({"username": "ann", "new_password": [STRONG]}),
            "new_password",
            "invalid_type",
        ),
        (
            "/api/reset_password",
            json!({"username": "ann", "new_password": STRONG, "verification_code": "ABC"}),
            "validation_code",
            "missing",
        ),
        (
            "/api/login",
            json!({"username": true, "password": PASSWORD}),
            "username",
            "invalid_type",
        ),
        (
            "/api/login",
            json!({"username": "ann"}),
            "password",
            "missing",
        ),
    ];
    for (path, body, parameter, reason) in cases {
        let reply = server.post_json(path, &body);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (400, bad_request(parameter, reason).as_str()),
            "{path} {body}"
        );
    }
    // The exact text of one, spelled out.
    assert_reply(
        &server.post_json(
            "/api/signup_request",
            &json!({"username": "ann", "email": "ann@example.com"}),
        ),
        400,
        r#"{"success":false,"result":{"code":400,"message":"Bad request","info":{"parameter":"password","reason":"missing"}},"data":{}}"#,
    );
    // An empty body is `{}`.
    assert_reply(
        &server.post_raw("/api/login", None, ""),
        400,
        &bad_request("username", "missing"),
    );

    let malformed = bad_request("body", "malformed_body");
    for body in [
        r#"{"username": "ann", "password": "#,
        r#"["ann", "secret"]"#,
        "\"ann\"",
        "username=ann&password=x",
        "\u{0}\u{1}",
    ] {
        for path in ["/api/login", "/api/signup", "/api/reset_password_request"] {
            let reply = server.post_raw(path, Some("application/json"), body);
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (400, malformed.as_str()),
                "{path} {body:?}"
            );
        }
    }

    let big = json!({"username": "ann", "password": "x".repeat(1100)}).to_string();
    for path in ["/api/login", "/api/signup_request"] {
        assert_reply(
            &server.post_raw(path, Some("application/json"), big.clone()),
            413,
            PAYLOAD_TOO_LARGE,
        );
        // Without a Content-Length (chunked), too.
        let chunked = reqwest::blocking::Body::new(std::io::Cursor::new(big.clone().into_bytes()));
        assert_reply(
            &server.post_raw(path, Some("application/json"), chunked),
            413,
            PAYLOAD_TOO_LARGE,
        );
    }
    // Just under the cap is read.
    let fits =
        json!({"username": "ann", "password": PASSWORD, "padding": "p".repeat(900)}).to_string();
    assert!(fits.len() <= 1024);
    let reply = server.post_raw("/api/login", Some("application/json"), fits);
    assert_session(&reply, "ann", "ann@example.com", true);

    assert_reply(&server.get("/api/nope"), 404, NOT_FOUND);
    assert_reply(&server.post_json("/api/nope", &json!({})), 404, NOT_FOUND);
    assert_reply(
        &server.post_json("/api/account/upload_avatar", &json!({})),
        404,
        NOT_FOUND,
    );
    assert_reply(&server.get("/api/login/extra"), 404, NOT_FOUND);
    // A route with the wrong method is no route either.
    assert_reply(&server.get("/api/login"), 404, NOT_FOUND);
    assert_reply(&server.post_json("/api/init", &json!({})), 404, NOT_FOUND);
}
on_both_backends!(malformed_requests_get_400_413_and_404_in_the_unicat_envelope);

// ---- Password reset ----

fn a_reset_by_email_covers_every_account_of_the_address_with_one_mail_and_one_code(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    setup.add_user("Ann", &["ann@example.com"]);
    setup.add_user("bert", &["Ann@Example.COM"]);
    setup.add_user("carl", &["carl@example.com"]);
    let server = setup.start();

    // By username: case-sensitive. Unknown: 422 code 422.
    for unknown in [
        "ann",
        "ANN",
        "nobody",
        "nobody@example.com",
        "not@an@address",
    ] {
        assert_reply(&reset_request(&server, unknown), 422, UNPROCESSABLE);
    }

    let before = assert_session(
        &login(&server, "bert", PASSWORD),
        "bert",
        "Ann@Example.COM",
        true,
    )
    .1;

    let reply = reset_request(&server, "ANN@example.com");
    let validation_code = validation_code_of(&reply, Some(&["Ann", "bert"]));
    let mail = smtp.wait_for(MAIL_WAIT, Mail::is_code_mail);
    assert_eq!(mail.recipients.len(), 1, "{:?}", mail.recipients);
    assert!(mail.is_to("ann@example.com"), "{:?}", mail.recipients);
    assert!(mail.text.contains("Account: Ann\n"), "{}", mail.text);
    assert!(mail.text.contains("Account: bert\n"), "{}", mail.text);
    assert!(!mail.text.contains("carl"), "{}", mail.text);
    let code = mail.unicat_code();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.mails().len(), 1, "one mail for both accounts");

    // Not one of the accounts of the request.
    for name in ["carl", "ann", "BERT", "nobody"] {
        assert_reply(
            &reset(&server, name, NEW_PASSWORD, &validation_code, &code),
            422,
            &validation("username", "request_mismatch", RESET_MISMATCH, &[]),
        );
    }
    // A weak new password; neither spends a try.
    assert_weak(
        &reset(&server, "bert", "abcdefgh", &validation_code, &code),
        "new_password",
        true,
    );
    assert_weak(
        &reset(
            &server,
            "bert",
            "my-BERT-battery-staple",
            &validation_code,
            &code,
        ),
        "new_password",
        false,
    );
    assert_invalid(
        &reset(&server, "bert", &"x".repeat(73), &validation_code, &code),
        "new_password",
        "password_too_long",
    );
    assert_reply(
        &reset(
            &server,
            "bert",
            NEW_PASSWORD,
            &validation_code,
            wrong_code(&code),
        ),
        422,
        &code_invalid(4),
    );

    let reply = reset(&server, "bert", NEW_PASSWORD, &validation_code, &code);
    let (_, after) = assert_session(&reply, "bert", "Ann@Example.COM", false);

    assert_reply(&login(&server, "bert", PASSWORD), 403, UNKNOWN_USER);
    assert_session(
        &login(&server, "bert", NEW_PASSWORD),
        "bert",
        "Ann@Example.COM",
        true,
    );
    assert_denied(&init(&server, &before));
    assert_session(&init(&server, &after), "bert", "Ann@Example.COM", true);
    // The other account of the address is untouched.
    assert_session(
        &login(&server, "Ann", PASSWORD),
        "Ann",
        "ann@example.com",
        true,
    );

    let notice = smtp.wait_for(MAIL_WAIT, Mail::is_change_notice);
    assert!(notice.is_to("ann@example.com"), "{:?}", notice.recipients);
    assert!(notice.text.starts_with("Hello bert,"), "{}", notice.text);
    assert!(!notice.raw.contains(NEW_PASSWORD));

    // The code is spent.
    assert_reply(
        &reset(&server, "Ann", NEW_PASSWORD, &validation_code, &code),
        422,
        &code_invalid(0),
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.mails().len(), 2, "the code mail and one notice");
}
on_both_backends!(a_reset_by_email_covers_every_account_of_the_address_with_one_mail_and_one_code);

fn a_reset_by_username_mails_every_address_and_a_newer_request_supersedes_it(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    setup.add_user("Gina", &["gina@example.com", "gina@example.org"]);
    let server = setup.start();
    let unicat_mail = |m: &Mail| m.is_code_mail() && m.text.contains("Account: Gina\n");

    let first = validation_code_of(&reset_request(&server, "Gina"), Some(&["Gina"]));
    let mails = smtp.wait_for_n(2, MAIL_WAIT, unicat_mail);
    assert!(mails.iter().any(|m| m.is_to("gina@example.com")));
    assert!(mails.iter().any(|m| m.is_to("gina@example.org")));
    let first_code = mails[0].unicat_code();
    assert_eq!(
        mails[1].unicat_code(),
        first_code,
        "one code for both addresses"
    );

    // A newer request (here by one of the addresses) supersedes the first.
    let second = validation_code_of(&reset_request(&server, "GINA@example.org"), Some(&["Gina"]));
    let mails = smtp.wait_for_n(3, MAIL_WAIT, unicat_mail);
    assert!(
        mails[2].is_to("gina@example.org"),
        "{:?}",
        mails[2].recipients
    );
    let second_code = mails[2].unicat_code();
    assert_reply(
        &reset(&server, "Gina", STRONG, &first, &first_code),
        422,
        &code_invalid(0),
    );

    // An open forgotPassword code of the account...
    assert_eq!(server.send_email("Gina").status, 200);
    let forgot = smtp
        .wait_for(MAIL_WAIT, |m| m.is_code_mail() && !unicat_mail(m))
        .code();

    let reply = reset(&server, "Gina", STRONG, &second, &sloppy(&second_code));
    assert_session(&reply, "Gina", "gina@example.com", false);
    assert_session(
        &login(&server, "Gina", STRONG),
        "Gina",
        "gina@example.com",
        true,
    );
    let notices = smtp.wait_for_n(2, MAIL_WAIT, Mail::is_change_notice);
    assert!(notices.iter().any(|m| m.is_to("gina@example.com")));
    assert!(notices.iter().any(|m| m.is_to("gina@example.org")));

    // ...is consumed by the reset.
    assert_reply(
        &server.check_code("Gina", &forgot),
        400,
        r#"{"msg":"There was no code for a password reset requested"}"#,
    );
}
on_both_backends!(a_reset_by_username_mails_every_address_and_a_newer_request_supersedes_it);

fn a_forgot_password_reset_changes_the_unicat_login_and_revokes_unicat_tokens(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    setup.add_user("hugo", &["hugo@example.com"]);
    let server = setup.start();

    let (gid, before) = assert_session(
        &login(&server, "hugo", PASSWORD),
        "hugo",
        "hugo@example.com",
        true,
    );
    assert_eq!(init(&server, &before).status, 200);

    assert_eq!(server.send_email("hugo").status, 200);
    let code = smtp.code_for("hugo@example.com");
    assert_reply(
        &server.reset_password("hugo", &code, NEW_PASSWORD),
        200,
        r#"{"msg":"Changed password successful"}"#,
    );

    assert_reply(&login(&server, "hugo", PASSWORD), 403, UNKNOWN_USER);
    let (after_gid, after) = assert_session(
        &login(&server, "hugo", NEW_PASSWORD),
        "hugo",
        "hugo@example.com",
        true,
    );
    assert_eq!(after_gid, gid);
    assert_denied(&init(&server, &before));
    assert_eq!(init(&server, &after).status, 200);
}
on_both_backends!(a_forgot_password_reset_changes_the_unicat_login_and_revokes_unicat_tokens);

// ---- Tokens ----

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload` signed with HS256 under `key`.
fn hs256(signing_input: &str, key: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

fn forged_tokens_get_401_with_the_realm(db: &TestDb) {
    let setup = Setup::new(db);
    setup.add_user("ivy", &["ivy@example.com"]);
    let server = setup.start();

    let (gid, token) = assert_session(
        &login(&server, "ivy", PASSWORD),
        "ivy",
        "ivy@example.com",
        true,
    );
    assert_eq!(init(&server, &token).status, 200);
    let parts: Vec<&str> = token.split('.').collect();
    let (header, payload) = (parts[0], parts[1]);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    // The claims of the security spec, one hour of life by default, and
    // the time of the last credential proof (this login: when it was issued).
    let names: BTreeSet<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["aud", "auth_time", "exp", "iat", "iss", "jti", "sub", "ver"]),
        "{claims}"
    );
    assert_eq!(claims["auth_time"], claims["iat"], "{claims}");
    assert_eq!(claims["sub"], json!(gid));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    let header_json: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header_json["alg"], json!("HS256"));

    // One character of the payload flipped.
    let mut tampered = token.clone().into_bytes();
    let i = header.len() + 1 + payload.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_ne!(tampered, token);

    // Claims of another user (or a later version) under the real signature.
    let mut other_claims = claims.clone();
    other_claims["ver"] = json!(claims["ver"].as_i64().unwrap() + 1);
    let swapped_payload = format!(
        "{header}.{}.{}",
        b64(other_claims.to_string().as_bytes()),
        parts[2]
    );

    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let forged: Vec<(&str, String)> = vec![
        ("tampered payload", tampered),
        ("swapped payload", swapped_payload),
        ("alg none", format!("{none_header}.{payload}.")),
        (
            "alg none with the real signature",
            format!("{none_header}.{payload}.{}", parts[2]),
        ),
        (
            "alg HS512 with the real signature",
            format!(
                "{}.{payload}.{}",
                b64(br#"{"alg":"HS512","typ":"JWT"}"#),
                parts[2]
            ),
        ),
        (
            "HS256 under another key",
            hs256(
                &format!("{header}.{payload}"),
                b"another key, not the server's one!!",
            ),
        ),
        (
            "HS256 under the raw server secret",
            hs256(&format!("{header}.{payload}"), support::SECRET.as_bytes()),
        ),
        ("no signature", format!("{header}.{payload}.")),
        ("two parts", format!("{header}.{payload}")),
        ("garbage", "abc.def.ghi".to_owned()),
    ];
    for (what, forged) in &forged {
        let reply = init(&server, forged);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (401, PERMISSION_DENIED),
            "{what}"
        );
        assert_eq!(
            reply.header("www-authenticate").as_deref(),
            Some(REALM),
            "{what}"
        );
    }

    // A missing or non-Bearer header.
    assert_denied(&server.get("/api/init"));
    for value in [
        "Bearer",
        "Bearer ",
        token.as_str(),
        &format!("Basic {token}"),
        &format!("Token {token}"),
    ] {
        let reply = server.get_with("/api/init", &[("Authorization", value)]);
        assert_denied(&reply);
    }
    // The scheme is case-insensitive, and the real token still works.
    let reply = server.get_with(
        "/api/init",
        &[("Authorization", &format!("bearer {token}"))],
    );
    assert_session(&reply, "ivy", "ivy@example.com", true);
}
on_both_backends!(forged_tokens_get_401_with_the_realm);

fn a_token_signed_by_a_server_with_another_secret_gets_401(db: &TestDb) {
    // The other server runs on a database of its own, with a user of the
    // same name (another gid).
    let other_db = TestDb::sqlite();
    let other_setup = Setup::new(&other_db).env(
        "ACCOUNTD_SECRET",
        "another-accountd-secret-of-at-least-32-bytes",
    );
    other_setup.add_user("jan", &["jan@example.com"]);
    let other = other_setup.start();
    let foreign = login(&other, "jan", PASSWORD)
        .header("authorization")
        .unwrap();

    let setup = Setup::new(db);
    setup.add_user("jan", &["jan@example.com"]);
    let server = setup.start();
    assert_denied(&init(&server, &foreign));
    let own = login(&server, "jan", PASSWORD)
        .header("authorization")
        .unwrap();
    assert_eq!(init(&server, &own).status, 200);
    assert_denied(&init(&other, &own));
}
on_both_backends!(a_token_signed_by_a_server_with_another_secret_gets_401);

fn an_expired_token_gets_401(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_JWT_TTL_SECONDS", "2");
    setup.add_user("kim", &["kim@example.com"]);
    let server = setup.start();

    let (_, token) = assert_session(
        &login(&server, "kim", PASSWORD),
        "kim",
        "kim@example.com",
        true,
    );
    let (_, renewed) = assert_session(&init(&server, &token), "kim", "kim@example.com", true);
    // Both expire at most 2 s after they were issued.
    std::thread::sleep(Duration::from_millis(2100));
    assert_denied(&init(&server, &token));
    assert_denied(&init(&server, &renewed));
}
on_both_backends!(an_expired_token_gets_401);

// ---- Login ----

fn a_wrong_password_and_an_unknown_user_get_the_same_403(db: &TestDb) {
    let setup = Setup::new(db);
    setup.add_user("Lena", &["lena@example.com"]);
    let server = setup.start();

    let replies = [
        login(&server, "Lena", "wrong password, entirely"),
        login(&server, "Lena", ""),
        login(&server, "nobody", PASSWORD),
        login(&server, "lena", PASSWORD),
        login(&server, "LENA", PASSWORD),
        login(&server, "", ""),
    ];
    for reply in &replies {
        assert_reply(reply, 403, UNKNOWN_USER);
        assert_eq!(reply.header("authorization"), None);
        assert_eq!(reply.header("www-authenticate"), None);
    }
    assert_session(
        &login(&server, "Lena", PASSWORD),
        "Lena",
        "lena@example.com",
        true,
    );
}
on_both_backends!(a_wrong_password_and_an_unknown_user_get_the_same_403);

fn repeated_wrong_passwords_soft_lock_the_name_while_forgot_password_keeps_working(db: &TestDb) {
    let setup = Setup::new(db);
    setup.add_user("Kai", &["kai@example.com"]);
    let server = setup.start();

    // Three wrong passwords are free; the fourth starts a lock of 1 s.
    for _ in 0..4 {
        assert_reply(
            &login(&server, "Kai", "wrong password, entirely"),
            403,
            UNKNOWN_USER,
        );
    }
    let locked = login(&server, "Kai", PASSWORD);
    assert_reply(
        &locked,
        429,
        r#"{"success":false,"result":{"code":429,"message":"Too many requests","info":{"retry_after":1}},"data":{}}"#,
    );
    assert_eq!(locked.header("retry-after").as_deref(), Some("1"));
    assert_eq!(locked.header("authorization"), None);

    // The forgotPassword routes keep working while the login is locked.
    assert_eq!(server.send_email("Kai").status, 200);

    // Once the lock has lapsed the right password opens a session and
    // clears the count: the next wrong password is an ordinary 403.
    std::thread::sleep(Duration::from_millis(1100));
    assert_session(
        &login(&server, "Kai", PASSWORD),
        "Kai",
        "kai@example.com",
        true,
    );
    assert_reply(&login(&server, "Kai", "wrong again"), 403, UNKNOWN_USER);
    assert_session(
        &login(&server, "Kai", PASSWORD),
        "Kai",
        "kai@example.com",
        true,
    );
}
on_both_backends!(repeated_wrong_passwords_soft_lock_the_name_while_forgot_password_keeps_working);

fn parallel_wrong_passwords_cannot_slip_past_the_soft_lock(db: &TestDb) {
    let setup = Setup::new(db);
    setup.add_user("Rex", &["rex@example.com"]);
    let server = setup.start();

    let replies = in_parallel(20, |_| login(&server, "Rex", "a parallel guess"));
    let checked = replies.iter().filter(|r| r.status == 403).count();
    let locked = replies.iter().filter(|r| r.status == 429).count();
    // Three free failures and the fourth that starts the lock are checked;
    // every later guess of the burst is refused without a check.
    assert_eq!((checked, locked), (4, 16), "{replies:#?}");
}
on_both_backends!(parallel_wrong_passwords_cannot_slip_past_the_soft_lock);

// ---- Concurrency ----

fn parallel_signups_create_one_account_and_parallel_wrong_codes_count_five(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let server = Setup::new(db).smtp(smtp.port).start();

    let email = "max@example.com";
    let validation_code = validation_code_of(&signup_request(&server, "max", STRONG, email), None);
    let code = smtp.signup_code_for(email);
    let replies = in_parallel(8, |_| {
        signup(&server, "max", STRONG, email, &validation_code, &code)
    });
    let ok: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 1, "{replies:#?}");
    assert_session(ok[0], "max", email, false);
    let invalid = code_invalid(0);
    assert_eq!(
        replies
            .iter()
            .filter(|r| r.status == 422 && r.body == invalid)
            .count(),
        7,
        "{replies:#?}"
    );
    // One account: the address knows one username.
    let reply = reset_request(&server, email);
    validation_code_of(&reply, Some(&["max"]));

    let email = "nina@example.com";
    let validation_code = validation_code_of(&signup_request(&server, "nina", STRONG, email), None);
    let code = smtp.signup_code_for(email);
    let wrong = wrong_code(&code);
    let replies = in_parallel(20, |_| {
        signup(&server, "nina", STRONG, email, &validation_code, wrong)
    });
    let left: BTreeSet<u32> = (0..5)
        .filter(|n| replies.iter().any(|r| r.body == code_invalid(*n)))
        .collect();
    let counted = replies
        .iter()
        .filter(|r| (0..5).any(|n| r.body == code_invalid(n)))
        .count();
    let exhausted = code_exhausted();
    assert_eq!(
        (
            counted,
            replies
                .iter()
                .filter(|r| r.status == 422 && r.body == exhausted)
                .count()
        ),
        (5, 15),
        "{replies:#?}"
    );
    assert_eq!(
        left,
        (0..5).collect(),
        "each count reported once: {replies:#?}"
    );
    assert_reply(
        &signup(&server, "nina", STRONG, email, &validation_code, &code),
        422,
        &exhausted,
    );
}
on_both_backends!(parallel_signups_create_one_account_and_parallel_wrong_codes_count_five);

// ---- Restart ----

fn a_restart_keeps_the_account_and_its_tokens(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    let server = setup.start();
    let (gid, token) = sign_up(&server, &smtp, "olga", "olga@example.com");
    assert_eq!(server.terminate().code(), Some(0));

    let server = setup.start();
    let (init_gid, _) = assert_session(&init(&server, &token), "olga", "olga@example.com", true);
    assert_eq!(init_gid, gid);
    let (login_gid, _) = assert_session(
        &login(&server, "olga", STRONG),
        "olga",
        "olga@example.com",
        true,
    );
    assert_eq!(login_gid, gid);
}
on_both_backends!(a_restart_keeps_the_account_and_its_tokens);

fn the_secret_generated_in_the_data_dir_keeps_tokens_valid_across_a_restart(db: &TestDb) {
    let data = tempfile::tempdir().unwrap();
    let setup = Setup::new(db)
        .unset("ACCOUNTD_SECRET")
        .env("ACCOUNTD_DATA_DIR", data.path().to_str().unwrap());
    setup.add_user("pia", &["pia@example.com"]);
    let server = setup.start();
    let token = login(&server, "pia", PASSWORD)
        .header("authorization")
        .unwrap();
    assert_eq!(init(&server, &token).status, 200);
    assert_eq!(server.terminate().code(), Some(0));

    let server = setup.start();
    assert_session(&init(&server, &token), "pia", "pia@example.com", true);
    assert_eq!(server.terminate().code(), Some(0));

    // Another data directory: another generated secret.
    let elsewhere = tempfile::tempdir().unwrap();
    let server = setup
        .env("ACCOUNTD_DATA_DIR", elsewhere.path().to_str().unwrap())
        .start();
    assert_denied(&init(&server, &token));
}
on_both_backends!(the_secret_generated_in_the_data_dir_keeps_tokens_valid_across_a_restart);

fn ping_answers_pong_and_the_version_of_the_binary(db: &TestDb) {
    let server = Setup::new(db).start();
    let want = format!(
        r#"{{"success":true,"result":{{"pong":true,"cc.version":"{}"}},"data":{{}}}}"#,
        env!("CARGO_PKG_VERSION")
    );
    for reply in [
        server.get("/api/ping"),
        server.post_json("/api/ping", &serde_json::json!({})),
    ] {
        assert_eq!((reply.status, reply.body.as_str()), (200, want.as_str()));
    }
}
on_both_backends!(ping_answers_pong_and_the_version_of_the_binary);

// ---- Caseless names and addresses (issue 10, findings 2 and 3) ----

/// Usernames are unique under full Unicode case folding of their NFKC form:
/// each of these used to be accepted beside the name already taken.
fn a_name_equal_under_unicode_case_folding_is_unavailable(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    for name in ["ssam", "σασ", "skim", "FIX", "kate"] {
        setup.add_user(name, &[]);
    }
    let server = setup.start();

    for taken in [
        "ßam",
        "ẞAM",
        "SSAM",
        "ΣΑΣ",
        "σας",
        "ſkim",
        "ﬁx",
        "\u{212a}ate",
    ] {
        assert_reply(
            &signup_request(&server, taken, STRONG, "new.one@example.com"),
            422,
            &validation(
                "username",
                "username_unavailable",
                "The username is already taken.",
                &[],
            ),
        );
        let out = setup.try_add_user(taken, &[]);
        assert!(!out.status.success(), "user add {taken}: {out:?}");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.mails().len(), 0, "no request issued a code");
}
on_both_backends!(a_name_equal_under_unicode_case_folding_is_unavailable);

/// The reset code goes to the address as stored on the account, never to
/// the typed text that only matches it caselessly.
fn a_reset_by_email_mails_the_address_as_stored_not_as_typed(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    setup.add_user("carol", &["carol@example.com"]);
    setup.add_user("kate", &["kate@kayak.com"]);
    let server = setup.start();

    for (typed, stored, name) in [
        ("CAROL@EXAMPLE.COM", "carol@example.com", "carol"),
        ("\u{212a}ate@kayak.com", "kate@kayak.com", "kate"),
    ] {
        let reply = reset_request(&server, typed);
        let validation_code = validation_code_of(&reply, Some(&[name]));
        let account = format!("Account: {name}\n");
        let mail = smtp.wait_for(MAIL_WAIT, |m| m.is_code_mail() && m.text.contains(&account));
        assert_eq!(mail.recipients, [stored], "typed {typed:?}");
        assert_eq!(mail.to, [stored], "the header too, as stored");
        let code = mail.unicat_code();
        assert_session(
            &reset(&server, name, NEW_PASSWORD, &validation_code, &code),
            name,
            stored,
            false,
        );
    }
    let all = smtp.mails();
    assert!(
        all.iter().all(|m| m
            .to
            .iter()
            .all(|t| t == "carol@example.com" || t == "kate@kayak.com")),
        "every mail to a stored address: {:?}",
        all.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
}
on_both_backends!(a_reset_by_email_mails_the_address_as_stored_not_as_typed);

/// Accounts that collided under the caseless rule before it existed (rows
/// in the old form: keys lower-cased, not folded) are kept, listed by
/// `accountd migrate`, and both still log in; a new one is refused.
fn accounts_colliding_before_the_rule_are_listed_by_migrate_and_both_log_in(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    let ssam = setup.add_user("ssam", &["ssam@example.com"]);
    let sam = setup.add_user("placeholder", &["sam@example.com"]);
    // What the code before the rule would have written for `ßam` (its
    // lower-cased key differed from `ssam`'s), a minute younger.
    db.execute(&format!(
        "UPDATE users SET username = 'ßam', username_key = 'ßam', username_fold = NULL, \
         keys_folded = FALSE, created_at = created_at + 60000 WHERE id = '{sam}'; \
         UPDATE users SET username_fold = NULL, keys_folded = FALSE WHERE id = '{ssam}';"
    ));

    let out = setup.migrate();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "migrations applied\n\
             caseless keys recomputed for 2 accounts\n\
             username collision: {ssam} ssam (active), {sam} ßam (active)\n"
        )
    );
    // Listed again until resolved; nothing left to recompute.
    let out = setup.migrate();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "migrations applied\nusername collision: {ssam} ssam (active), {sam} ßam (active)\n"
        )
    );

    let server = setup.start();
    assert_session(
        &login(&server, "ssam", PASSWORD),
        "ssam",
        "ssam@example.com",
        true,
    );
    assert_session(
        &login(&server, "ßam", PASSWORD),
        "ßam",
        "sam@example.com",
        true,
    );
    for taken in ["SSAM", "ßAM", "ſſam"] {
        assert_reply(
            &signup_request(&server, taken, STRONG, "new.one@example.com"),
            422,
            &validation(
                "username",
                "username_unavailable",
                "The username is already taken.",
                &[],
            ),
        );
    }
}
on_both_backends!(accounts_colliding_before_the_rule_are_listed_by_migrate_and_both_log_in);
