//! End-to-end tests of enumeration protection through the real binary
//! (`ACCOUNTD_ENUMERATION_PROTECTION=true`, every scenario on SQLite and on
//! PostgreSQL): a decoy is a real stored challenge, so every later step
//! answers it exactly as a real one; no decoy mail reaches anyone; the
//! issuance limits of a reset by email count under every covered account;
//! and a sign-up password mismatch spends a try.

use crate::support::{code_invalid, validation, Reply, Server, Setup, TestDb};
use accountd_testkit::{Mail, SmtpCapture, MAIL_WAIT, NEW_PASSWORD, PASSWORD, STRONG, WEAK};
use serde_json::json;
use std::time::Duration;

const SENT: &str = r#"{"msg":"Sent"}"#;
const NO_CODE: &str = r#"{"msg":"There was no code for a password reset requested"}"#;
const CODE_INCORRECT: &str = r#"{"msg":"The code is incorrect","error_code":"code_incorrect"}"#;
const RATE_LIMIT_EXCEEDED: &str =
    r#"{"msg":"Rate limit exceeded","error_code":"rate_limit_exceeded"}"#;
/// A well-formed Unicat verification code that no mail carried.
const MADE_UP: &str = "ZZZZZZ";

fn protected(db: &TestDb, smtp: &SmtpCapture) -> Setup {
    Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_ENUMERATION_PROTECTION", "true")
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
    validation: &str,
    code: &str,
) -> Reply {
    server.post_json(
        "/api/reset_password",
        &json!({
            "username": username,
            "new_password": new_password,
            "validation_code": validation,
            "verification_code": code,
        }),
    )
}

#[track_caller]
fn assert_reply(reply: &Reply, status: u16, body: &str) {
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (status, body),
        "unexpected answer"
    );
}

/// A step-1 answer naming exactly `usernames`; its validation code.
#[track_caller]
fn validation_code_of(reply: &Reply, usernames: &[&str]) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    let code = reply.json()["result"]["validation_code"]
        .as_str()
        .unwrap_or_else(|| panic!("a validation code in {reply:?}"))
        .to_owned();
    assert_eq!(code.len(), 43, "{code:?}");
    let expected = json!({
        "success": true,
        "result": {"validation_code": code, "usernames": usernames},
        "data": {},
    });
    assert_eq!(reply.body, expected.to_string());
    code
}

/// The exact 429 body with the `Retry-After` the reply carries.
#[track_caller]
fn assert_too_many(reply: &Reply) {
    assert_eq!(reply.status, 429, "{reply:?}");
    let retry_after: u64 = reply
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("seconds");
    let expected = json!({
        "success": false,
        "result": {"code": 429, "message": "Too many requests",
                   "info": {"retry_after": retry_after}},
        "data": {},
    });
    assert_reply(reply, 429, &expected.to_string());
}

/// Waits until `n` mails arrived, then a little longer, and asserts that
/// no more came: every one is a real account's.
fn exactly_mails(smtp: &SmtpCapture, n: usize) -> Vec<Mail> {
    let mails = smtp.wait_for_n(n, MAIL_WAIT, |_| true);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(smtp.mails().len(), n, "{:?}", smtp.mails());
    mails
}

fn unicat_decoys_answer_step_2_exactly_as_real_challenges(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = protected(db, &smtp);
    setup.add_user("Ann", &["ann@example.com"]);
    setup.add_user("Bea", &["bea@example.com"]);
    let server = setup.start();

    // Step 1: a real account and an unknown name, by username and by email.
    let real = validation_code_of(&reset_request(&server, "Ann"), &["Ann"]);
    let decoy = validation_code_of(&reset_request(&server, "Ghost"), &["Ghost"]);
    let real_by_email = validation_code_of(&reset_request(&server, "bea@example.com"), &[]);
    let decoy_by_email = validation_code_of(&reset_request(&server, "ghost@example.com"), &[]);
    // Only the real ones were mailed; the decoys reached nobody.
    let mails = exactly_mails(&smtp, 2);
    let real_addresses = |m: &Mail| m.is_to("ann@example.com") || m.is_to("bea@example.com");
    assert!(mails.iter().all(real_addresses), "{mails:?}");

    // A weak new password: the same answer for both, and no try spent.
    let weak_real = reset(&server, "Ann", WEAK, &real, MADE_UP);
    let weak_decoy = reset(&server, "Ghost", WEAK, &decoy, MADE_UP);
    assert_eq!(weak_real.status, 422, "{weak_real:?}");
    assert_eq!(
        weak_real.json()["result"]["info"]["reason"],
        json!("password_weak")
    );
    assert_eq!(
        (weak_decoy.status, weak_decoy.body.as_str()),
        (weak_real.status, weak_real.body.as_str())
    );

    // A wrong code counts one try on both: 4, then 3 left.
    for left in [4, 3] {
        for (name, vc) in [("Ann", &real), ("Ghost", &decoy)] {
            assert_reply(
                &reset(&server, name, NEW_PASSWORD, vc, MADE_UP),
                422,
                &code_invalid(left),
            );
        }
    }
    // A username the challenge does not cover spends a try like a wrong
    // code (a decoy by username covers the typed name, exactly).
    for (name, vc) in [("Bob", &real), ("ghost", &decoy)] {
        assert_reply(
            &reset(&server, name, NEW_PASSWORD, vc, MADE_UP),
            422,
            &code_invalid(2),
        );
    }
    // By email: a name not covered is a wrong code, for both.
    for vc in [&real_by_email, &decoy_by_email] {
        assert_reply(
            &reset(&server, "Zed", NEW_PASSWORD, vc, MADE_UP),
            422,
            &code_invalid(4),
        );
    }
    // Both run out alike: two more tries, then exhausted.
    for (name, vc) in [("Ann", &real), ("Ghost", &decoy)] {
        assert_reply(
            &reset(&server, name, NEW_PASSWORD, vc, MADE_UP),
            422,
            &code_invalid(1),
        );
        assert_reply(
            &reset(&server, name, NEW_PASSWORD, vc, MADE_UP),
            422,
            &code_invalid(0),
        );
        assert_reply(
            &reset(&server, name, NEW_PASSWORD, vc, MADE_UP),
            422,
            &validation(
                "verification_code",
                "code_exhausted",
                "Too many wrong verification codes; request a new one.",
                &[],
            ),
        );
    }

    // Another case of the name is another decoy, as `BOB` is not `Bob`'s
    // account: it leaves the first open. A newer request for the very name
    // supersedes a decoy as it does a real challenge.
    let first = validation_code_of(&reset_request(&server, "Ghost"), &["Ghost"]);
    validation_code_of(&reset_request(&server, "GHOST"), &["GHOST"]);
    assert_reply(
        &reset(&server, "Ghost", NEW_PASSWORD, &first, MADE_UP),
        422,
        &code_invalid(4),
    );
    validation_code_of(&reset_request(&server, "Ghost"), &["Ghost"]);
    assert_reply(
        &reset(&server, "Ghost", NEW_PASSWORD, &first, MADE_UP),
        422,
        &code_invalid(0),
    );
    // The real code by email still works for its account.
    let code = mails
        .iter()
        .find(|m| m.is_to("bea@example.com"))
        .map(Mail::unicat_code)
        .unwrap();
    let done = reset(&server, "Bea", NEW_PASSWORD, &real_by_email, &code);
    assert_eq!(done.status, 200, "{done:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        smtp.mails().iter().all(real_addresses),
        "no mail to a decoy address"
    );
}
on_both_backends!(unicat_decoys_answer_step_2_exactly_as_real_challenges);

fn without_protection_a_username_not_covered_stays_a_free_request_mismatch(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    setup.add_user("Ann", &["ann@example.com"]);
    let server = setup.start();

    let real = validation_code_of(&reset_request(&server, "Ann"), &["Ann"]);
    for _ in 0..6 {
        assert_reply(
            &reset(&server, "Bob", NEW_PASSWORD, &real, MADE_UP),
            422,
            &validation(
                "username",
                "request_mismatch",
                "The username is not one of the accounts of this reset request.",
                &[],
            ),
        );
    }
    assert_reply(
        &reset(&server, "Ann", NEW_PASSWORD, &real, MADE_UP),
        422,
        &code_invalid(4),
    );
}
on_both_backends!(without_protection_a_username_not_covered_stays_a_free_request_mismatch);

fn forgot_password_decoys_count_tries_and_judge_passwords_as_real_codes(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = protected(db, &smtp);
    setup.add_user("gina", &["gina@example.com"]);
    setup.add_user("noah", &[]);
    let server = setup.start();

    for name in ["gina", "ghost", "noah"] {
        assert_reply(&server.send_email(name), 200, SENT);
    }
    let mails = exactly_mails(&smtp, 1);
    assert!(mails[0].is_to("gina@example.com"));
    // An unknown name that never asked has no code, like a real account.
    assert_reply(&server.check_code("nobody", "123456"), 400, NO_CODE);

    // A weak new password: the same 422 for the real code and the decoys.
    let weak = server.reset_password("gina", "000000", WEAK);
    assert_eq!(weak.status, 422, "{weak:?}");
    for name in ["ghost", "noah"] {
        let reply = server.reset_password(name, "000000", WEAK);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (weak.status, weak.body.as_str()),
            "{name}"
        );
    }
    // Eleven wrong codes are counted on each, then the limit answers.
    let code = mails[0].code();
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for name in ["gina", "ghost", "noah"] {
        for i in 0..11 {
            let reply = if i % 2 == 0 {
                server.check_code(name, wrong)
            } else {
                server.reset_password(name, wrong, NEW_PASSWORD)
            };
            assert_reply(&reply, 400, CODE_INCORRECT);
        }
        assert_reply(&server.check_code(name, wrong), 400, RATE_LIMIT_EXCEEDED);
    }
    // Nothing changed for anyone.
    let login = server.post_json(
        "/api/login",
        &json!({"username": "gina", "password": PASSWORD}),
    );
    assert_eq!(login.status, 200, "{login:?}");
}
on_both_backends!(forgot_password_decoys_count_tries_and_judge_passwords_as_real_codes);

fn a_reset_by_email_counts_under_every_covered_account(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    setup.add_user("Ann", &["a1@example.com", "a2@example.com"]);
    let server = setup.start();

    // Five codes an hour for the account, whichever way they are asked.
    for typed in [
        "a1@example.com",
        "a2@example.com",
        "a1@example.com",
        "a2@example.com",
    ] {
        validation_code_of(&reset_request(&server, typed), &["Ann"]);
    }
    assert_reply(&server.send_email("Ann"), 200, SENT);
    // The account is full: by either address, by username, forgotPassword.
    for typed in ["a1@example.com", "a2@example.com", "Ann"] {
        assert_too_many(&reset_request(&server, typed));
    }
    let refused = server.send_email("Ann");
    assert_eq!(refused.status, 429, "{refused:?}");
    exactly_mails(&smtp, 6);
}
on_both_backends!(a_reset_by_email_counts_under_every_covered_account);

fn a_signup_password_that_does_not_verify_spends_a_try(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let server = Setup::new(db).smtp(smtp.port).start();

    let email = "emil@example.com";
    let reply = server.post_json(
        "/api/signup_request",
        &json!({"username": "Emil", "password": STRONG, "email": email}),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let validation_code = reply.json()["result"]["validation_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = smtp.signup_code_for(email);
    let signup = |password: &str, verification: &str| {
        server.post_json(
            "/api/signup",
            &json!({
                "username": "Emil",
                "password": password,
                "email": email,
                "validation_code": validation_code,
                "verification_code": verification,
            }),
        )
    };
    // With the right code too: the mismatch answers, and costs a try.
    for _ in 0..2 {
        assert_reply(
            &signup(NEW_PASSWORD, &code),
            422,
            &validation(
                "password",
                "request_mismatch",
                "The request does not match the sign-up request.",
                &[],
            ),
        );
    }
    assert_reply(&signup(STRONG, MADE_UP), 422, &code_invalid(2));
    let done = signup(STRONG, &code);
    assert_eq!(done.status, 200, "{done:?}");
}
on_both_backends!(a_signup_password_that_does_not_verify_spends_a_try);
