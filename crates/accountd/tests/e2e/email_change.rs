//! End-to-end tests of the email change and its revert link through the
//! real binary: `update_email_request` (recent auth), `update_email`, the
//! notice with the revert link, `revert_email` and the revert page.

use crate::support::{code_invalid, validation, Reply, Server, Setup, TestDb};
use accountd_testkit::{in_parallel, Mail, SmtpCapture, MAIL_WAIT, PASSWORD};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const PERMISSION_DENIED: &str =
    r#"{"success":false,"result":{"code":401,"message":"Permission denied","info":{}},"data":{}}"#;
const UNPROCESSABLE: &str = r#"{"success":false,"result":{"code":422,"message":"Unprocessable Entity","info":{}},"data":{}}"#;
const FORBIDDEN_REAUTH: &str = r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{"reason":"reauthentication_required"}},"data":{}}"#;
const PUBLIC_URL: &str = "https://accounts.example.com";

fn login(server: &Server, username: &str, password: &str) -> Reply {
    server.post_json(
        "/api/login",
        &json!({"username": username, "password": password}),
    )
}

fn token_of(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    reply
        .header("authorization")
        .expect("a fresh token in Authorization")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn init(server: &Server, token: &str) -> Reply {
    server.get_with("/api/init", &[("Authorization", &bearer(token))])
}

fn email_request(server: &Server, token: &str, body: &Value) -> Reply {
    server.post_json_with(
        "/api/account/update_email_request",
        body,
        &[("Authorization", &bearer(token))],
    )
}

fn email_update(server: &Server, token: &str, email: &str, validation: &str, code: &str) -> Reply {
    server.post_json_with(
        "/api/account/update_email",
        &json!({"email": email, "validation_code": validation, "verification_code": code}),
        &[("Authorization", &bearer(token))],
    )
}

fn revert(server: &Server, token: &str) -> Reply {
    server.post_json("/api/account/revert_email", &json!({ "token": token }))
}

fn code_exhausted() -> String {
    validation(
        "verification_code",
        "code_exhausted",
        "Too many wrong verification codes; request a new one.",
        &[],
    )
}

/// The validation code of a successful step 1 (which renews the token).
fn validation_code_of(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.header("authorization").is_some(), "a fresh token");
    let v = reply.json()["result"]["validation_code"]
        .as_str()
        .unwrap_or_else(|| panic!("a validation code in {reply:?}"))
        .to_owned();
    assert_eq!(
        reply.body,
        json!({"success": true, "result": {"validation_code": v}, "data": {}}).to_string()
    );
    v
}

/// The code mailed to `to` (the one mail to it with a Crockford code).
fn code_mail_to(smtp: &SmtpCapture, to: &str) -> String {
    smtp.wait_for(MAIL_WAIT, |m| {
        m.is_to(to)
            && m.text
                .lines()
                .any(|l| accountd_testkit::is_crockford_code(l.trim()))
    })
    .unicat_code()
}

/// The notice to `to` carrying a revert link, and the link's token.
fn revert_notice_to(smtp: &SmtpCapture, to: &str) -> (Mail, String) {
    let mail = smtp.wait_for(MAIL_WAIT, |m| {
        m.is_to(to) && m.text.contains("/account/revert-email?token=")
    });
    let prefix = format!("{PUBLIC_URL}/account/revert-email?token=");
    let token = mail
        .text
        .lines()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("a link under {prefix} in:\n{}", mail.text))
        .to_owned();
    assert_eq!(token.len(), 43, "256 bits, base64url: {token:?}");
    (mail, token)
}

/// A server mailing to `smtp`, with links under [`PUBLIC_URL`].
fn setup(db: &TestDb, smtp: &SmtpCapture) -> Setup {
    Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_PUBLIC_URL", PUBLIC_URL)
}

/// The complete form of `gid` with `email`, as `update_email` answers it.
fn changed_body(gid: &str, username: &str, email: &str) -> String {
    json!({
        "success": true,
        "result": {"user": gid},
        "data": {"cc.users": {gid: {
            "gid": gid, "username": username, "email": email, "name": "",
            "avatar": null, "status": "active",
            "options": {"language": "en", "timezone": "Europe/Amsterdam"},
        }}},
    })
    .to_string()
}

/// Changes `username`'s address to `to` with the code from the mail;
/// answers the revert token mailed to `old`.
fn change(
    server: &Server,
    smtp: &SmtpCapture,
    token: &str,
    gid: &str,
    username: &str,
    old: &str,
    to: &str,
) -> String {
    let v = validation_code_of(&email_request(server, token, &json!({ "email": to })));
    let code = code_mail_to(smtp, to);
    let reply = email_update(server, token, to, &v, &code);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, changed_body(gid, username, to).as_str())
    );
    assert!(reply.header("authorization").is_some(), "a fresh token");
    revert_notice_to(smtp, old).1
}

fn email_of_session(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    let gid = body["result"]["user"].as_str().unwrap().to_owned();
    body["data"]["cc.users"][&gid]["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

// ---- The change ----

fn the_full_change_mails_the_code_to_the_new_address_and_the_revert_link_to_the_old_one(
    db: &TestDb,
) {
    let smtp = SmtpCapture::start();
    let setup = setup(db, &smtp);
    let gid = setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = token_of(&login(&server, "ann", PASSWORD));

    let v = validation_code_of(&email_request(
        &server,
        &token,
        &json!({"email": "Ann.New@Example.org"}),
    ));
    let code = code_mail_to(&smtp, "ann.new@example.org");
    assert!(
        smtp.mails().iter().all(|m| !m.is_to("ann@example.com")),
        "nothing to the old address yet"
    );

    // Each 1001 of step 2, none spending a try.
    let other = email_update(&server, &token, "other@example.org", &v, &code);
    assert_eq!(
        (other.status, other.body.as_str()),
        (
            422,
            validation(
                "email",
                "request_mismatch",
                "The request does not match the email change request.",
                &[]
            )
            .as_str()
        )
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = email_update(&server, &token, "ann.new@example.org", &v, wrong);
    assert_eq!((r.status, r.body.clone()), (422, code_invalid(4)));

    let reply = email_update(&server, &token, "ANN.NEW@example.org", &v, &code);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (
            200,
            changed_body(&gid, "ann", "Ann.New@Example.org").as_str()
        )
    );
    let fresh = token_of(&reply);
    let (notice, revert_token) = revert_notice_to(&smtp, "ann@example.com");
    assert!(!notice.text.contains(&code), "the notice holds no code");

    // The code is used up; sessions stay valid; login still works.
    let replay = email_update(&server, &token, "ann.new@example.org", &v, &code);
    assert_eq!((replay.status, replay.body.clone()), (422, code_invalid(0)));
    assert_eq!(
        email_of_session(&init(&server, &token)),
        "Ann.New@Example.org"
    );
    assert_eq!(
        email_of_session(&init(&server, &fresh)),
        "Ann.New@Example.org"
    );
    assert_eq!(
        email_of_session(&login(&server, "ann", PASSWORD)),
        "Ann.New@Example.org"
    );

    // Step 1's 1001s: an invalid address, the current one in any case.
    let r = email_request(&server, &token, &json!({"email": "nope"}));
    assert_eq!(
        (r.status, r.body.clone()),
        (
            422,
            validation(
                "email",
                "email_invalid",
                "The email must be a valid email address.",
                &[]
            )
        )
    );
    let r = email_request(&server, &token, &json!({"email": "ann.new@EXAMPLE.org"}));
    assert_eq!(
        (r.status, r.body.clone()),
        (
            422,
            validation(
                "email",
                "nothing_to_update",
                "This is already the address of the account.",
                &[]
            )
        )
    );
    assert_eq!(revert_token.len(), 43);
}
on_both_backends!(
    the_full_change_mails_the_code_to_the_new_address_and_the_revert_link_to_the_old_one
);

fn a_stale_session_is_refused_and_accepted_with_the_current_password(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = setup(db, &smtp).env("ACCOUNTD_REAUTH_SECONDS", "0");
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = token_of(&login(&server, "ann", PASSWORD));

    let body = json!({"email": "ann.new@example.org"});
    let r = email_request(&server, &token, &body);
    assert_eq!((r.status, r.body.as_str()), (403, FORBIDDEN_REAUTH));
    let r = email_request(
        &server,
        &token,
        &json!({"email": "ann.new@example.org", "current_password": "not the password"}),
    );
    assert_eq!((r.status, r.body.as_str()), (403, FORBIDDEN_REAUTH));
    assert!(smtp.mails().is_empty(), "a refused step 1 mails nothing");

    let r = email_request(
        &server,
        &token,
        &json!({"email": "ann.new@example.org", "current_password": PASSWORD}),
    );
    validation_code_of(&r);
    code_mail_to(&smtp, "ann.new@example.org");
}
on_both_backends!(a_stale_session_is_refused_and_accepted_with_the_current_password);

// ---- The revert ----

fn the_revert_link_undoes_the_change_and_refuses_every_older_token(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = setup(db, &smtp);
    let gid = setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = token_of(&login(&server, "ann", PASSWORD));
    // A -> B -> C; A's token restores A.
    let a_token = change(
        &server,
        &smtp,
        &token,
        &gid,
        "ann",
        "ann@example.com",
        "b@example.org",
    );
    let b_token = change(
        &server,
        &smtp,
        &token,
        &gid,
        "ann",
        "b@example.org",
        "c@example.org",
    );
    // An open code of the account, which the revert closes.
    let pending = validation_code_of(&email_request(
        &server,
        &token,
        &json!({"email": "d@example.org"}),
    ));
    let pending_code = code_mail_to(&smtp, "d@example.org");

    // Opening the link (a GET, as a link scanner would) changes nothing.
    let page = server.get(&format!("/account/revert-email?token={a_token}"));
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|c| c.starts_with("default-src 'none'")));
    assert!(page.body.contains(&format!(
        "<input type=\"hidden\" name=\"token\" value=\"{a_token}\">"
    )));
    assert!(!page.body.contains("<script"));
    assert_eq!(email_of_session(&init(&server, &token)), "c@example.org");

    let r = revert(&server, &a_token);
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, r#"{"success":true,"result":{},"data":{}}"#)
    );
    assert_eq!(r.header("authorization"), None);

    // Every older token is refused; the address is A again.
    let r = init(&server, &token);
    assert_eq!((r.status, r.body.as_str()), (401, PERMISSION_DENIED));
    let after = login(&server, "ann", PASSWORD);
    assert_eq!(email_of_session(&after), "ann@example.com");
    smtp.wait_for(MAIL_WAIT, |m| {
        m.is_to("ann@example.com") && m.text.contains("undone")
    });
    // Every revert token is spent; the open code is closed.
    for t in [&a_token, &b_token] {
        let r = revert(&server, t);
        assert_eq!((r.status, r.body.as_str()), (422, UNPROCESSABLE));
    }
    let fresh = token_of(&after);
    let r = email_update(&server, &fresh, "d@example.org", &pending, &pending_code);
    assert_eq!((r.status, r.body.clone()), (422, code_invalid(0)));
    let r = revert(&server, "not-a-token");
    assert_eq!((r.status, r.body.as_str()), (422, UNPROCESSABLE));
}
on_both_backends!(the_revert_link_undoes_the_change_and_refuses_every_older_token);

fn the_pages_form_post_reverts_and_a_spent_link_says_it_is_no_longer_valid(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = setup(db, &smtp);
    let gid = setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = token_of(&login(&server, "ann", PASSWORD));
    let link_token = change(
        &server,
        &smtp,
        &token,
        &gid,
        "ann",
        "ann@example.com",
        "new@example.org",
    );

    let path = format!("/account/revert-email?token={link_token}");
    let form = format!("token={link_token}");
    let done = server.post_raw(
        &path,
        Some("application/x-www-form-urlencoded"),
        form.clone(),
    );
    assert_eq!(done.status, 200, "{done:?}");
    assert!(done.body.contains("<h1>The email change was undone</h1>"));
    assert_eq!(
        done.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(init(&server, &token).status, 401);
    assert_eq!(
        email_of_session(&login(&server, "ann", PASSWORD)),
        "ann@example.com"
    );

    let again = server.post_raw(&path, Some("application/x-www-form-urlencoded"), form);
    assert_eq!(again.status, 422);
    assert!(again.body.contains("<h1>This link is no longer valid</h1>"));
}
on_both_backends!(the_pages_form_post_reverts_and_a_spent_link_says_it_is_no_longer_valid);

// ---- Parallel ----

fn twelve_parallel_wrong_email_change_codes_count_exactly_five(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = setup(db, &smtp);
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = token_of(&login(&server, "ann", PASSWORD));
    let v = validation_code_of(&email_request(
        &server,
        &token,
        &json!({"email": "new@example.org"}),
    ));
    let code = code_mail_to(&smtp, "new@example.org");
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let replies = in_parallel(12, |_| {
        email_update(&server, &token, "new@example.org", &v, wrong)
    });

    let counted = replies
        .iter()
        .filter(|r| (0..5).any(|n| r.body == code_invalid(n)))
        .count();
    let left: BTreeSet<u32> = (0..5)
        .filter(|n| replies.iter().any(|r| r.body == code_invalid(*n)))
        .collect();
    let exhausted = replies
        .iter()
        .filter(|r| r.status == 422 && r.body == code_exhausted())
        .count();
    assert_eq!((counted, exhausted), (5, 7), "{replies:#?}");
    assert_eq!(left, (0..5).collect(), "each count once: {replies:#?}");
    let r = email_update(&server, &token, "new@example.org", &v, &code);
    assert_eq!((r.status, r.body.clone()), (422, code_exhausted()));
    assert_eq!(email_of_session(&init(&server, &token)), "ann@example.com");
}
on_both_backends!(twelve_parallel_wrong_email_change_codes_count_exactly_five);
