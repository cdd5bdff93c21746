//! HTTP tests of `account/update_email_request`, `account/update_email`,
//! `account/revert_email` and the revert page, every body byte for byte.

use super::*;
use accountd_domain::{ChangeSet, EmailRevert, OutgoingMail};

const EMAIL_REQUEST: &str = "/api/account/update_email_request";
const EMAIL_UPDATE: &str = "/api/account/update_email";
const EMAIL_REVERT: &str = "/api/account/revert_email";
const PAGE: &str = "/account/revert-email";
const ANN_KEY: &str = "challenges:user:01010101-0101-4101-8101-010101010101";

const FORBIDDEN_REAUTH: &str = r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{"reason":"reauthentication_required"}},"data":{}}"#;
const EMPTY_SUCCESS: &str = r#"{"success":true,"result":{},"data":{}}"#;
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn validation(field: &str, reason: &str, detail: &str) -> String {
    format!(
        r#"{{"success":false,"result":{{"code":1001,"message":"Validation error","info":{{"field":"{field}","reason":"{reason}","detail":"{detail}"}}}},"data":{{}}}}"#
    )
}

fn with_bearer(req: TestRequest) -> TestRequest {
    req.insert_header((header::AUTHORIZATION, bearer()))
}

fn new_address() -> accountd_domain::Email {
    email("ann.new@example.org")
}

/// The open email-change challenge of Ann to ann.new@example.org, found
/// by [`VALIDATION`], mailed [`CODE`], issued a minute ago.
fn change_challenge(user: UserId) -> Challenge {
    let code = CodeFormat::Crockford6
        .code_from_draws(&[1, 2, 3, 4, 5, 6])
        .unwrap();
    Challenge::issue(
        ChallengeId::from_random_bytes([8; 16]),
        Purpose::ChangeEmail,
        Subject::EmailChange {
            user,
            new_email: new_address(),
        },
        &code,
        &key(),
        ChallengePolicy::unicat(900, 5),
        now().plus_seconds(-60),
    )
    .with_lookup(Challenge::lookup_mac(
        &key(),
        Purpose::ChangeEmail,
        VALIDATION,
    ))
}

/// [`OLD_TOKEN`] verifies as Ann's at version 3, last proved an hour ago
/// (stale under the 900-second default).
fn stale_token(w: &mut World) {
    w.clock();
    w.tokens.expect_verify().times(1).return_once(move |_, _| {
        Ok(TokenClaims {
            user: ann_id(),
            version: 3,
            auth_time: Some(now().plus_seconds(-3600)),
        })
    });
}

fn no_write(w: &mut World) {
    w.changes.expect_apply().never();
    w.limiter.expect_hit().never();
    w.random.expect_bytes16().never();
    w.random.expect_uniform().never();
    w.tokens.expect_issue().never();
}

// ------------------------------------------------------ update_email_request

#[actix_rt::test]
async fn update_email_request_answers_the_validation_code_and_a_fresh_token_and_mails_the_new_address(
) {
    let set: Arc<std::sync::Mutex<Option<ChangeSet>>> = Arc::default();
    let sink = set.clone();
    let a = call(
        |w| {
            w.token_verifies(3)
                .gets_ann(Some(ann()))
                .ip_allowed()
                .issuance(ANN_KEY, RateDecision::Allowed)
                .draws()
                .issues_with(ann_id(), 3, Some(auth_time()));
            w.changes.expect_apply().times(1).returning(move |s, _| {
                *sink.lock().unwrap() = Some(s);
                Ok(Applied::Committed)
            });
        },
        with_bearer(post_json(
            EMAIL_REQUEST,
            &serde_json::json!({"email": "Ann.New@Example.org"}),
        )),
    )
    .await;

    assert_session(
        &a,
        &format!(r#"{{"success":true,"result":{{"validation_code":"{VALIDATION}"}},"data":{{}}}}"#),
    );
    let set = set.lock().unwrap().take().unwrap();
    let [Change::IssueChallenge(c)] = set.changes() else {
        panic!("one challenge issued: {set:?}")
    };
    assert_eq!(c.purpose(), Purpose::ChangeEmail);
    let to: Vec<&str> = set.mails().iter().map(|m| m.to.as_str()).collect();
    assert_eq!(to, ["Ann.New@Example.org"]);
}

#[actix_rt::test]
async fn update_email_request_with_an_invalid_address_answers_1001_email_invalid() {
    let a = call(
        |w| {
            w.token_verifies(3).gets_ann(Some(ann()));
            no_write(w);
        },
        with_bearer(post_json(
            EMAIL_REQUEST,
            &serde_json::json!({"email": "no-at-sign"}),
        )),
    )
    .await;

    assert_answer(
        &a,
        422,
        &validation(
            "email",
            "email_invalid",
            "The email must be a valid email address.",
        ),
    );
}

#[actix_rt::test]
async fn update_email_request_with_the_current_address_answers_1001_nothing_to_update_before_reauth(
) {
    let a = call(
        |w| {
            stale_token(w);
            w.gets_ann(Some(ann()));
            w.hasher.expect_verify().never();
            no_write(w);
        },
        with_bearer(post_json(
            EMAIL_REQUEST,
            &serde_json::json!({"email": "ANN@example.com"}),
        )),
    )
    .await;

    assert_answer(
        &a,
        422,
        &validation(
            "email",
            "nothing_to_update",
            "This is already the address of the account.",
        ),
    );
}

#[actix_rt::test]
async fn update_email_request_on_a_stale_session_answers_403_reauthentication_required() {
    let a = call(
        |w| {
            stale_token(w);
            w.gets_ann(Some(ann()));
            no_write(w);
        },
        with_bearer(post_json(
            EMAIL_REQUEST,
            &serde_json::json!({"email": "ann.new@example.org"}),
        )),
    )
    .await;

    assert_answer(&a, 403, FORBIDDEN_REAUTH);
}

#[actix_rt::test]
async fn update_email_request_on_a_stale_session_with_a_wrong_password_answers_403() {
    let a = call(
        |w| {
            stale_token(w);
            w.gets_ann(Some(ann())).verifies(OTHER_STRONG, false);
            no_write(w);
        },
        with_bearer(post_json(
            EMAIL_REQUEST,
            &serde_json::json!({"email": "ann.new@example.org", "current_password": OTHER_STRONG}),
        )),
    )
    .await;

    assert_answer(&a, 403, FORBIDDEN_REAUTH);
}

#[actix_rt::test]
async fn update_email_request_on_a_stale_session_with_the_right_password_answers_a_token_of_now() {
    let a = call(
        |w| {
            stale_token(w);
            w.gets_ann(Some(ann()))
                .verifies(STRONG, true)
                .ip_allowed()
                .issuance(ANN_KEY, RateDecision::Allowed)
                .draws()
                .issues_with(ann_id(), 3, Some(now()));
            w.changes
                .expect_apply()
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        with_bearer(post_json(
            EMAIL_REQUEST,
            &serde_json::json!({"email": "ann.new@example.org", "current_password": STRONG}),
        )),
    )
    .await;

    assert_session(
        &a,
        &format!(r#"{{"success":true,"result":{{"validation_code":"{VALIDATION}"}},"data":{{}}}}"#),
    );
}

#[actix_rt::test]
async fn update_email_request_over_the_accounts_limit_answers_429_with_retry_after() {
    let a = call(
        |w| {
            w.token_verifies(3)
                .gets_ann(Some(ann()))
                .ip_allowed()
                .issuance(
                    ANN_KEY,
                    RateDecision::Limited {
                        retry_after_seconds: 321,
                    },
                );
            w.changes.expect_apply().never();
            w.tokens.expect_issue().never();
        },
        with_bearer(post_json(
            EMAIL_REQUEST,
            &serde_json::json!({"email": "ann.new@example.org"}),
        )),
    )
    .await;

    assert_retry(&a, 429, &retry_body(429, "Too many requests", 321), "321");
}

#[actix_rt::test]
async fn update_email_request_names_its_first_bad_parameter_and_needs_a_token() {
    for (body, want) in [
        (r#"{}"#, bad_request("email", "missing")),
        (r#"{"email":7}"#, bad_request("email", "invalid_type")),
        (
            r#"{"email":"a@b.example","current_password":7}"#,
            bad_request("current_password", "invalid_type"),
        ),
    ] {
        let a = call(
            |w| {
                w.token_verifies(3).gets_ann(Some(ann()));
                no_write(w);
            },
            with_bearer(post(EMAIL_REQUEST, body)),
        )
        .await;
        assert_answer(&a, 400, &want);
    }
    let a = refused(post(EMAIL_REQUEST, r#"{"email":"a@b.example"}"#)).await;
    assert_denied(&a);
}

// -------------------------------------------------------------- update_email

fn update_body(email: &str, code: &str) -> serde_json::Value {
    serde_json::json!({
        "email": email,
        "validation_code": VALIDATION,
        "verification_code": code,
    })
}

#[actix_rt::test]
async fn update_email_changes_the_address_and_answers_the_complete_user_with_a_fresh_token() {
    let set: Arc<std::sync::Mutex<Option<ChangeSet>>> = Arc::default();
    let sink = set.clone();
    let a = call(
        |w| {
            w.token_verifies(3)
                .gets_ann(Some(ann()))
                .finds_challenge(Purpose::ChangeEmail, Some(change_challenge(ann_id())))
                .issues_with(ann_id(), 3, Some(auth_time()));
            w.challenges.expect_record_failure().never();
            w.random.expect_bytes16().times(2).return_const([0x2a; 16]);
            w.changes.expect_apply().times(1).returning(move |s, _| {
                *sink.lock().unwrap() = Some(s);
                Ok(Applied::Committed)
            });
        },
        with_bearer(post_json(
            EMAIL_UPDATE,
            &update_body("Ann.New@Example.org", CODE),
        )),
    )
    .await;

    let complete = ANN_COMPLETE.replace("ann@example.com", "ann.new@example.org");
    assert_session(
        &a,
        &format!(
            r#"{{"success":true,"result":{{"user":"{ANN_GID}"}},"data":{{"cc.users":{{"{ANN_GID}":{complete}}}}}}}"#
        ),
    );
    let set = set.lock().unwrap().take().unwrap();
    assert_eq!(
        set.changes(),
        [
            Change::ConsumeChallenge(change_challenge(ann_id()).id()),
            Change::SetPrimaryEmail {
                user: ann_id(),
                expected_version: 3,
                email: new_address(),
            },
            Change::IssueEmailRevert(EmailRevert::issue(
                &key(),
                VALIDATION,
                ann_id(),
                email("ann@example.com"),
                new_address(),
                now(),
                604_800,
            )),
        ]
    );
    let mails: &[OutgoingMail] = set.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), "ann@example.com");
    assert!(mails[0].text.contains(&format!(
        "https://accounts.example.com/account/revert-email?token={VALIDATION}"
    )));
}

#[actix_rt::test]
async fn update_email_with_a_wrong_code_answers_1001_code_invalid_with_attempts_left() {
    let a = call(
        |w| {
            w.token_verifies(3)
                .gets_ann(Some(ann()))
                .finds_challenge(Purpose::ChangeEmail, Some(change_challenge(ann_id())));
            w.challenges
                .expect_record_failure()
                .times(1)
                .returning(|_, _| Ok(Some(1)));
            no_write(w);
        },
        with_bearer(post_json(
            EMAIL_UPDATE,
            &update_body("ann.new@example.org", "ZZZZZZ"),
        )),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"verification_code","reason":"code_invalid","detail":"The verification code is not valid.","attempts_left":4}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn update_email_with_another_accounts_validation_code_answers_code_invalid_spending_nothing()
{
    let a = call(
        |w| {
            w.token_verifies(3)
                .gets_ann(Some(ann()))
                .finds_challenge(Purpose::ChangeEmail, Some(change_challenge(bob_id())));
            w.challenges.expect_record_failure().never();
            no_write(w);
        },
        with_bearer(post_json(
            EMAIL_UPDATE,
            &update_body("ann.new@example.org", CODE),
        )),
    )
    .await;

    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"verification_code","reason":"code_invalid","detail":"The verification code is not valid.","attempts_left":0}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn update_email_with_another_address_than_step_one_answers_1001_request_mismatch() {
    let a = call(
        |w| {
            w.token_verifies(3)
                .gets_ann(Some(ann()))
                .finds_challenge(Purpose::ChangeEmail, Some(change_challenge(ann_id())));
            w.challenges.expect_record_failure().never();
            no_write(w);
        },
        with_bearer(post_json(
            EMAIL_UPDATE,
            &update_body("someone@example.org", CODE),
        )),
    )
    .await;

    assert_answer(
        &a,
        422,
        &validation(
            "email",
            "request_mismatch",
            "The request does not match the email change request.",
        ),
    );
}

#[actix_rt::test]
async fn update_email_names_its_first_bad_parameter_in_spec_order() {
    for (body, want) in [
        (r#"{}"#, bad_request("email", "missing")),
        (
            r#"{"email":"a@b.example"}"#,
            bad_request("validation_code", "missing"),
        ),
        (
            r#"{"email":"a@b.example","validation_code":"v","verification_code":1}"#,
            bad_request("verification_code", "invalid_type"),
        ),
    ] {
        let a = call(
            |w| {
                w.token_verifies(3).gets_ann(Some(ann()));
                w.challenges.expect_find_by_lookup().never();
                no_write(w);
            },
            with_bearer(post(EMAIL_UPDATE, body)),
        )
        .await;
        assert_answer(&a, 400, &want);
    }
}

// -------------------------------------------------------------- revert_email

/// The revert token every revert test presents.
const REVERT_TOKEN: &str = VALIDATION;

fn stored_revert() -> EmailRevert {
    EmailRevert::issue(
        &key(),
        REVERT_TOKEN,
        ann_id(),
        email("ann@example.com"),
        new_address(),
        now().plus_seconds(-60),
        604_800,
    )
}

/// The clock, the token lookup answering `found`, and (when found) Ann.
fn finds_revert(w: &mut World, found: Option<EmailRevert>) {
    w.clock();
    let want = EmailRevert::token_mac(&key(), REVERT_TOKEN);
    let load = found.is_some();
    w.users
        .expect_find_email_revert()
        .withf(move |mac| *mac == want)
        .times(1)
        .return_once(move |_| Ok(found));
    if load {
        w.gets_ann(Some(User {
            emails: vec![new_address()],
            ..ann()
        }));
    }
}

/// The revert's one write, answering `applied`.
fn reverts(w: &mut World, applied: Applied) {
    w.changes
        .expect_apply()
        .withf(|set, t| {
            *t == now()
                && matches!(
                    set.changes(),
                    [Change::RevertEmail { user, restore, .. }, Change::ConsumeOpenChallenges { .. }]
                        if *user == ann_id() && restore.as_str() == "ann@example.com"
                )
                && set.mails().len() == 1
                && set.mails()[0].to.as_str() == "ann@example.com"
        })
        .times(1)
        .return_once(move |_, _| Ok(applied));
}

#[actix_rt::test]
async fn revert_email_restores_the_address_and_answers_empty_without_a_token() {
    let a = call(
        |w| {
            finds_revert(w, Some(stored_revert()));
            reverts(w, Applied::Committed);
        },
        post_json(EMAIL_REVERT, &serde_json::json!({"token": REVERT_TOKEN})),
    )
    .await;

    assert_answer(&a, 200, EMPTY_SUCCESS);
}

#[actix_rt::test]
async fn revert_email_with_an_unknown_or_already_spent_token_answers_422() {
    let a = call(
        |w| finds_revert(w, None),
        post_json(EMAIL_REVERT, &serde_json::json!({"token": REVERT_TOKEN})),
    )
    .await;
    assert_answer(&a, 422, UNPROCESSABLE);

    let a = call(
        |w| {
            finds_revert(w, Some(stored_revert()));
            reverts(w, Applied::Refused(accountd_domain::Conflict::RevertSpent));
        },
        post_json(EMAIL_REVERT, &serde_json::json!({"token": REVERT_TOKEN})),
    )
    .await;
    assert_answer(&a, 422, UNPROCESSABLE);
}

#[actix_rt::test]
async fn revert_email_without_a_string_token_answers_400() {
    for (body, want) in [
        ("{}", bad_request("token", "missing")),
        (r#"{"token":1}"#, bad_request("token", "invalid_type")),
        ("[]", MALFORMED.to_owned()),
    ] {
        let a = refused(post(EMAIL_REVERT, body)).await;
        assert_answer(&a, 400, &want);
    }
}

// ---------------------------------------------------------------- the page

#[track_caller]
fn assert_page(a: &Answer, status: u16, title: &str, body: &str) {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:34rem;\
         margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}}\
         button{{font-size:1rem;padding:.5rem 1.25rem;cursor:pointer}}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n{body}\n</body>\n</html>\n"
    );
    assert_eq!((a.status, a.body.as_str()), (status, html.as_str()));
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(a.header("content-security-policy"), Some(CSP));
    assert_eq!(a.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    assert_eq!(a.header("authorization"), None);
}

const INCOMPLETE: &str =
    "<p>This link is incomplete. Open the link from the email again, exactly as it was sent.</p>";

#[actix_rt::test]
async fn the_page_shows_one_button_posting_the_escaped_token_and_changes_nothing() {
    let a = refused(
        TestRequest::get()
            .uri("/account/revert-email?token=a%3Cb%22c%26d")
            .peer_addr(PEER.parse().unwrap()),
    )
    .await;

    assert_page(
        &a,
        200,
        "Undo the email change",
        "<p>The email address of your account was changed. If you did not do this, undo the \
         change: your previous address becomes the account's address again and every session \
         is signed out.</p>\n<form method=\"post\">\n\
         <input type=\"hidden\" name=\"token\" value=\"a&lt;b&quot;c&amp;d\">\n\
         <button type=\"submit\">Undo the change</button>\n</form>",
    );
}

#[actix_rt::test]
async fn the_page_without_a_token_answers_400_and_changes_nothing() {
    for uri in [
        PAGE,
        "/account/revert-email?token=",
        "/account/revert-email?x=1",
    ] {
        let a = refused(TestRequest::get().uri(uri).peer_addr(PEER.parse().unwrap())).await;
        assert_page(&a, 400, "Undo the email change", INCOMPLETE);
    }
}

#[actix_rt::test]
async fn the_pages_form_post_reverts_and_says_so() {
    let a = call(
        |w| {
            finds_revert(w, Some(stored_revert()));
            reverts(w, Applied::Committed);
        },
        post_form(PAGE, &format!("token={REVERT_TOKEN}")),
    )
    .await;

    assert_page(
        &a,
        200,
        "The email change was undone",
        "<p>Your previous address is the account's address again, and every session was \
         signed out. If someone else changed it, they may know your password: choose a new \
         one now with \"Forgot password\" at sign-in.</p>",
    );
}

#[actix_rt::test]
async fn the_pages_form_post_with_an_unusable_token_answers_422_saying_the_link_is_no_longer_valid()
{
    let a = call(
        |w| finds_revert(w, None),
        post_form(PAGE, &format!("token={REVERT_TOKEN}")),
    )
    .await;

    assert_page(
        &a,
        422,
        "This link is no longer valid",
        "<p>The link was already used, has expired, or belongs to an account that no longer \
         exists. Nothing was changed.</p>",
    );
}

#[actix_rt::test]
async fn the_pages_form_post_without_a_token_answers_400() {
    for body in ["", "token=", "other=1"] {
        let a = refused(post_form(PAGE, body)).await;
        assert_page(&a, 400, "Undo the email change", INCOMPLETE);
    }
}

#[actix_rt::test]
async fn the_pages_form_post_with_the_database_down_answers_503_with_retry_after() {
    let a = call(
        |w| {
            w.clock();
            w.users
                .expect_find_email_revert()
                .times(1)
                .return_once(|_| Err(unavailable()));
        },
        post_form(PAGE, &format!("token={REVERT_TOKEN}")),
    )
    .await;

    assert_eq!(a.status, 503);
    assert_eq!(a.header("retry-after"), Some("5"));
    assert_eq!(a.header("content-security-policy"), Some(CSP));
}

#[actix_rt::test]
async fn update_email_request_over_the_per_client_limit_answers_429_before_the_accounts_limit() {
    let a = call(
        |w| {
            w.token_verifies(3).gets_ann(Some(ann()));
            w.limiter
                .expect_hit()
                .withf(|key, limits, _| key == STEP1_KEY && limits.len() == 1)
                .times(1)
                .returning(|_, _, _| {
                    Ok(RateDecision::Limited {
                        retry_after_seconds: 42,
                    })
                });
            w.changes.expect_apply().never();
            w.tokens.expect_issue().never();
        },
        with_bearer(post_json(
            EMAIL_REQUEST,
            &serde_json::json!({"email": "ann.new@example.org"}),
        )),
    )
    .await;

    assert_retry(&a, 429, &retry_body(429, "Too many requests", 42), "42");
}
