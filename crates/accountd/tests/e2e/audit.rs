//! The audit log through the real binary, on both backends: every event
//! of docs/OPERATIONS.md is written by some route (read back with
//! `accountd audit --json` as a subprocess), with its user, client address,
//! outcome and details; a refused change (the losers of parallel accepts of
//! one invitation, a call refused by its guard) writes none; the filters
//! and the text format of `accountd audit`, and its refusals of bad
//! arguments.

use crate::support::{Reply, Server, Setup, TestDb};
use accountd_testkit::{
    in_parallel, wrong_code, SmtpCapture, MAIL_WAIT, NEW_PASSWORD, PASSWORD, STRONG,
};
use serde_json::{json, Value};

const PUBLIC_URL: &str = "https://accounts.example.com";

fn login(server: &Server, username: &str, password: &str) -> Reply {
    server.post_json(
        "/api/login",
        &json!({"username": username, "password": password}),
    )
}

fn token(server: &Server, username: &str, password: &str) -> String {
    let r = login(server, username, password);
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("authorization").expect("a token")
}

fn authed(server: &Server, path: &str, token: &str, body: &Value) -> Reply {
    server.post_json_with(path, body, &[("Authorization", &format!("Bearer {token}"))])
}

fn ok(r: Reply) -> Reply {
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

/// The events of `events` named `name`.
fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == json!(name))
        .collect()
}

/// The one event named `name` (panics unless there is exactly one).
fn one<'a>(events: &'a [Value], name: &str) -> &'a Value {
    let found = named(events, name);
    assert_eq!(found.len(), 1, "one {name} in {events:#?}");
    found[0]
}

/// Every event has exactly the documented fields, a UTC time, and never
/// a secret: none of the passwords or codes of the scenario appears in
/// any of them.
fn assert_well_formed(events: &[Value], secrets: &[&str]) {
    for e in events {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "time",
                "event",
                "user_gid",
                "client_addr",
                "outcome",
                "details"
            ],
            "{e}"
        );
        let time = e["time"].as_str().unwrap();
        assert_eq!(time.len(), 24, "{time}");
        assert!(time.ends_with('Z'), "{time}");
        assert!(e["details"].is_object(), "{e}");
        let text = e.to_string();
        for s in secrets {
            assert!(!text.contains(s), "{s:?} in {text}");
        }
    }
    let times: Vec<&str> = events.iter().map(|e| e["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted, "oldest first");
}

fn setup(db: &TestDb, smtp: &SmtpCapture) -> Setup {
    Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_PUBLIC_URL", PUBLIC_URL)
        .env("ACCOUNTD_LOOKUPS_PER_IP_PER_HOUR", "1")
}

fn every_account_event_is_audited_with_its_user_client_and_details(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = setup(db, &smtp);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let mut secrets = vec![PASSWORD, NEW_PASSWORD, STRONG];

    // Logins: a wrong password, an unknown name, a success.
    assert_eq!(login(&server, "ann", "not her password").status, 403);
    assert_eq!(
        login(&server, "nobody-here", "a password typed").status,
        403
    );
    let ann_token = token(&server, "ann", PASSWORD);

    // Sign-up through the routes.
    let r = ok(server.post_json(
        "/api/signup_request",
        &json!({"username": "dana", "password": STRONG, "email": "dana@example.com"}),
    ));
    let validation = r.json()["result"]["validation_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = smtp.signup_code_for("dana@example.com");
    let r = ok(server.post_json(
        "/api/signup",
        &json!({"username": "dana", "password": STRONG, "email": "dana@example.com",
                "validation_code": validation, "verification_code": code}),
    ));
    let dana = r.json()["result"]["user"].as_str().unwrap().to_owned();
    let dana_token = r.header("authorization").unwrap();

    // forgotPassword: a code, a wrong try, the reset.
    assert_eq!(server.send_email("bob").status, 200);
    let code = smtp.code_for("bob@example.com");
    let wrong = wrong_code(&code);
    assert_eq!(server.check_code("bob", &wrong).status, 400);
    assert_eq!(
        server.reset_password("bob", &code, NEW_PASSWORD).status,
        200
    );

    // An email change and its revert.
    let r = ok(authed(
        &server,
        "/api/account/update_email_request",
        &ann_token,
        &json!({"email": "ann@new.example.org"}),
    ));
    let validation = r.json()["result"]["validation_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = smtp
        .wait_for(MAIL_WAIT, |m| m.is_to("ann@new.example.org"))
        .unicat_code();
    ok(authed(
        &server,
        "/api/account/update_email",
        &ann_token,
        &json!({"email": "ann@new.example.org", "validation_code": validation,
                "verification_code": code}),
    ));
    let notice = smtp.wait_for(MAIL_WAIT, |m| {
        m.is_to("ann@example.com") && m.text.contains("/account/revert-email?token=")
    });
    let prefix = format!("{PUBLIC_URL}/account/revert-email?token=");
    let revert_token = notice
        .text
        .lines()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .unwrap()
        .to_owned();
    ok(server.post_json(
        "/api/account/revert_email",
        &json!({ "token": revert_token }),
    ));

    // account/update: a new username, then a new password.
    let dana_token = ok(authed(
        &server,
        "/api/account/update",
        &dana_token,
        &json!({"username": "dana2"}),
    ))
    .header("authorization")
    .unwrap();
    let dana_token = ok(authed(
        &server,
        "/api/account/update",
        &dana_token,
        &json!({"password": NEW_PASSWORD}),
    ))
    .header("authorization")
    .unwrap();

    // A rate limit (one lookup an hour per address).
    ok(server.post_json("/api/username", &json!({"username": "zed"})));
    assert_eq!(
        server
            .post_json("/api/username", &json!({"username": "zed"}))
            .status,
        429
    );

    // The soft lock: wrong passwords until one is refused unchecked.
    let mut locked = false;
    for _ in 0..12 {
        let r = login(&server, "dana2", "wrong password, entirely");
        if r.status == 429 {
            locked = true;
            break;
        }
        assert_eq!(r.status, 403, "{}", r.body);
    }
    assert!(locked, "the name was soft-locked");

    // The account deleted.
    ok(authed(
        &server,
        "/api/account/delete",
        &dana_token,
        &json!({"confirm": true}),
    ));

    let events = setup.audit_events(&[]);
    secrets.extend([revert_token.as_str(), validation.as_str(), wrong.as_str()]);
    assert_well_formed(&events, &secrets);

    // `user add` records its sign-up too.
    let signups = named(&events, "signup");
    assert_eq!(signups.len(), 3, "{signups:#?}");
    assert_eq!(signups[0]["user_gid"], json!(ann));
    assert_eq!(signups[0]["details"], json!({"via": "cli"}));
    assert_eq!(signups[0]["client_addr"], Value::Null);
    assert_eq!(signups[2]["user_gid"], json!(dana));
    assert_eq!(signups[2]["details"], json!({}));
    // An event of a route names the client even where the use case does
    // not take the address (the request's own, `app/src/request.rs`).
    assert_eq!(signups[2]["client_addr"], json!("127.0.0.1"));

    let failed = named(&events, "login_failed");
    assert_eq!(failed[0]["user_gid"], json!(ann));
    assert_eq!(failed[0]["client_addr"], json!("127.0.0.1"));
    assert_eq!(failed[0]["outcome"], json!("failure"));
    assert_eq!(failed[0]["details"], json!({"reason": "wrong_password"}));
    // An unknown name: no user, and the typed name is not stored.
    assert_eq!(failed[1]["user_gid"], Value::Null);
    assert_eq!(failed[1]["details"], json!({"reason": "unknown_user"}));
    assert!(!events.iter().any(|e| e.to_string().contains("nobody-here")));
    let succeeded = named(&events, "login_succeeded");
    assert_eq!(succeeded[0]["user_gid"], json!(ann));
    assert_eq!(succeeded[0]["client_addr"], json!("127.0.0.1"));
    assert_eq!(succeeded[0]["outcome"], json!("success"));
    let locked = one(&events, "login_locked");
    assert_eq!(locked["user_gid"], json!(dana));
    assert_eq!(locked["outcome"], json!("refused"));

    let issued = named(&events, "code_issued");
    let purposes: Vec<&Value> = issued.iter().map(|e| &e["details"]["purpose"]).collect();
    assert_eq!(
        purposes,
        [
            &json!("signup"),
            &json!("forgot_password"),
            &json!("change_email")
        ]
    );
    assert_eq!(issued[0]["user_gid"], Value::Null, "no account yet");
    assert_eq!(issued[1]["user_gid"], json!(bob));
    assert_eq!(issued[1]["client_addr"], json!("127.0.0.1"));
    let code_failed = one(&events, "code_failed");
    assert_eq!(code_failed["user_gid"], json!(bob));
    assert_eq!(code_failed["outcome"], json!("failure"));
    assert_eq!(
        code_failed["details"],
        json!({"purpose": "forgot_password", "attempts_left": 10})
    );

    let changed: Vec<&Value> = named(&events, "password_changed")
        .into_iter()
        .map(|e| &e["user_gid"])
        .collect();
    assert_eq!(changed, [&json!(bob), &json!(dana)]);
    let revoked: Vec<(&Value, &Value)> = named(&events, "tokens_revoked")
        .into_iter()
        .map(|e| (&e["user_gid"], &e["details"]["reason"]))
        .collect();
    assert_eq!(
        revoked,
        [
            (&json!(bob), &json!("password_changed")),
            (&json!(ann), &json!("email_reverted")),
            (&json!(dana), &json!("password_changed")),
            (&json!(dana), &json!("account_deleted")),
        ]
    );
    assert_eq!(
        one(&events, "email_change_requested")["user_gid"],
        json!(ann)
    );
    assert_eq!(
        one(&events, "email_change_requested")["client_addr"],
        json!("127.0.0.1")
    );
    assert_eq!(one(&events, "email_changed")["user_gid"], json!(ann));
    assert_eq!(one(&events, "email_reverted")["user_gid"], json!(ann));
    assert_eq!(one(&events, "username_changed")["user_gid"], json!(dana));
    let limited = one(&events, "rate_limited");
    assert_eq!(limited["outcome"], json!("refused"));
    assert_eq!(limited["client_addr"], json!("127.0.0.1"));
    assert_eq!(limited["details"], json!({"limit": "lookups_per_ip"}));
    assert_eq!(one(&events, "account_deleted")["user_gid"], json!(dana));

    // Filters: one user's, one event's, since an instant.
    let of_bob = setup.audit_events(&["--user", &bob]);
    assert!(!of_bob.is_empty());
    assert!(of_bob.iter().all(|e| e["user_gid"] == json!(bob)));
    assert_eq!(
        of_bob.len(),
        events
            .iter()
            .filter(|e| e["user_gid"] == json!(bob))
            .count()
    );
    let only_failed = setup.audit_events(&["--event", "login_failed"]);
    assert_eq!(only_failed.len(), failed.len());
    let last = events.last().unwrap()["time"].as_str().unwrap();
    let since_last = setup.audit_events(&["--since", last]);
    assert!(since_last
        .iter()
        .all(|e| e["time"].as_str().unwrap() >= last));
    assert!(since_last.contains(events.last().unwrap()));
    assert!(setup
        .audit_events(&["--since", "2999-01-01T00:00:00Z"])
        .is_empty());

    // The text format: one aligned line per event.
    let out = setup.audit(&["--event", "login_succeeded"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), succeeded.len());
    let line = lines[0];
    assert!(
        line.starts_with(succeeded[0]["time"].as_str().unwrap()),
        "{line}"
    );
    assert_eq!(&line[24..26], "  ");
    assert_eq!(&line[26..50], "login_succeeded         ");
    assert!(line.contains(&ann), "{line}");
}
on_both_backends!(every_account_event_is_audited_with_its_user_client_and_details);

fn a_code_exhausted_by_wrong_tries_is_audited_with_each_failure(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = setup(db, &smtp).env("ACCOUNTD_UNICAT_CODE_ATTEMPTS", "2");
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let r = ok(server.post_json(
        "/api/reset_password_request",
        &json!({"username_or_email": "ann"}),
    ));
    let validation = r.json()["result"]["validation_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = smtp
        .wait_for(MAIL_WAIT, |m| m.is_to("ann@example.com"))
        .unicat_code();
    let wrong = wrong_code(&code);
    for _ in 0..3 {
        let r = server.post_json(
            "/api/reset_password",
            &json!({"username": "ann", "new_password": NEW_PASSWORD,
                    "validation_code": validation, "verification_code": wrong}),
        );
        assert_eq!(r.status, 422, "{}", r.body);
    }
    let events = setup.audit_events(&["--user", &ann]);
    assert_well_formed(&events, &[&code, &wrong, &validation, NEW_PASSWORD]);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    // The third try finds the code exhausted: no try, no event.
    assert_eq!(
        kinds,
        [
            "signup",
            "code_issued",
            "code_failed",
            "code_failed",
            "code_exhausted"
        ]
    );
    assert_eq!(events[4]["details"], json!({"purpose": "reset_password"}));
    assert_eq!(events[4]["outcome"], json!("failure"));
    // forgotPassword's limits: a refused send is audited, no code issued.
    drop(server);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.clone().env("ACCOUNTD_CODES_PER_HOUR", "1").start();
    assert_eq!(server.send_email("bob").status, 200);
    assert_eq!(server.send_email("bob").status, 429);
    let of_bob = setup.audit_events(&["--user", &bob]);
    let kinds: Vec<&str> = of_bob
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signup", "code_issued", "rate_limited"]);
    let limited = setup.audit_events(&["--event", "rate_limited"]);
    assert_eq!(limited.len(), 1, "{limited:#?}");
    assert_eq!(limited[0]["client_addr"], json!("127.0.0.1"));
    assert_eq!(
        limited[0]["details"],
        json!({"purpose": "forgot_password", "limit": "codes"})
    );
    assert_eq!(limited[0]["outcome"], json!("refused"));
}
on_both_backends!(a_code_exhausted_by_wrong_tries_is_audited_with_each_failure);

fn every_project_and_membership_event_is_audited(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = setup(db, &smtp);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let cleo = setup.add_user("cleo", &["cleo@example.com"]);
    let server = setup.start();
    let ann_t = token(&server, "ann", PASSWORD);
    let bob_t = token(&server, "bob", PASSWORD);
    let cleo_t = token(&server, "cleo", PASSWORD);
    let create = |name: &str| -> String {
        let r = ok(authed(
            &server,
            "/api/projects/create",
            &ann_t,
            &json!({ "name": name }),
        ));
        r.json()["result"]["project"].as_str().unwrap().to_owned()
    };
    let on = |path: &str, t: &str, project: &str| {
        ok(authed(&server, path, t, &json!({ "project": project })));
    };

    // A project's life: created, updated, deleted, restored, deleted, purged.
    let old = create("Old");
    ok(authed(
        &server,
        "/api/projects/update",
        &ann_t,
        &json!({"project": old, "name": "Older"}),
    ));
    on("/api/projects/delete", &ann_t, &old);
    on("/api/projects/undelete", &ann_t, &old);
    on("/api/projects/delete", &ann_t, &old);
    // Refused by its guard (the project is deleted): no event.
    let r = authed(
        &server,
        "/api/projects/update",
        &ann_t,
        &json!({"project": old, "name": "Ghost"}),
    );
    assert_ne!(r.status, 200, "{}", r.body);
    on("/api/projects/permanent_delete", &ann_t, &old);

    // Memberships: invite, decline, resend, accept, remove, leave, transfer.
    let atlas = create("Atlas");
    let members = |route: &str, body: &Value| {
        ok(authed(
            &server,
            &format!("/api/p/{atlas}/members/{route}"),
            &ann_t,
            body,
        ))
    };
    members("invite", &json!({"username_or_email": "bob"}));
    on("/api/account/decline_invite", &bob_t, &atlas);
    members("resend_invite", &json!({ "user": bob }));
    on("/api/account/accept_invite", &bob_t, &atlas);
    members("invite", &json!({"username_or_email": "cleo"}));
    on("/api/account/accept_invite", &cleo_t, &atlas);
    members("remove", &json!({ "user": cleo }));
    ok(authed(
        &server,
        "/api/projects/transfer",
        &ann_t,
        &json!({"project": atlas, "user": bob}),
    ));
    on("/api/account/leave_project", &ann_t, &atlas);

    let events = setup.audit_events(&[]);
    assert_well_formed(&events, &[PASSWORD]);
    let project_events: Vec<(&str, &Value, &Value)> = events
        .iter()
        .filter(|e| e["details"].get("project").is_some())
        .map(|e| (e["event"].as_str().unwrap(), &e["user_gid"], &e["details"]))
        .collect();
    let p = |id: &str| json!(id);
    assert_eq!(
        project_events,
        [
            ("project_created", &p(&ann), &json!({"project": old})),
            ("project_updated", &p(&ann), &json!({"project": old})),
            ("project_deleted", &p(&ann), &json!({"project": old})),
            ("project_restored", &p(&ann), &json!({"project": old})),
            ("project_deleted", &p(&ann), &json!({"project": old})),
            ("project_purged", &p(&ann), &json!({"project": old})),
            ("project_created", &p(&ann), &json!({"project": atlas})),
            (
                "member_invited",
                &p(&ann),
                &json!({"project": atlas, "member": bob})
            ),
            ("invite_declined", &p(&bob), &json!({"project": atlas})),
            (
                "invite_resent",
                &p(&ann),
                &json!({"project": atlas, "member": bob})
            ),
            ("invite_accepted", &p(&bob), &json!({"project": atlas})),
            (
                "member_invited",
                &p(&ann),
                &json!({"project": atlas, "member": cleo})
            ),
            ("invite_accepted", &p(&cleo), &json!({"project": atlas})),
            (
                "member_removed",
                &p(&ann),
                &json!({"project": atlas, "member": cleo})
            ),
            (
                "project_transferred",
                &p(&ann),
                &json!({"project": atlas, "to": bob})
            ),
            ("member_left", &p(&ann), &json!({"project": atlas})),
        ]
    );
    // Each names the client of its request (the purge here is
    // `permanent_delete`'s, not housekeeping's).
    for e in events
        .iter()
        .filter(|e| e["details"].get("project").is_some())
    {
        assert_eq!(e["client_addr"], json!("127.0.0.1"), "{e}");
    }
}
on_both_backends!(every_project_and_membership_event_is_audited);

fn of_parallel_accepts_of_one_invitation_only_the_winner_is_audited(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = setup(db, &smtp);
    setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let ann_t = token(&server, "ann", PASSWORD);
    let bob_t = token(&server, "bob", PASSWORD);
    let r = ok(authed(
        &server,
        "/api/projects/create",
        &ann_t,
        &json!({"name": "Atlas"}),
    ));
    let atlas = r.json()["result"]["project"].as_str().unwrap().to_owned();
    ok(authed(
        &server,
        &format!("/api/p/{atlas}/members/invite"),
        &ann_t,
        &json!({"username_or_email": "bob"}),
    ));
    let replies = in_parallel(8, |_| {
        authed(
            &server,
            "/api/account/accept_invite",
            &bob_t,
            &json!({ "project": atlas }),
        )
        .status
    });
    // One accept wins; the others find the row active (no row to accept)
    // and their refused sets wrote no event.
    let won = replies.iter().filter(|s| **s == 200).count();
    assert_eq!(won, 1, "{replies:?}");
    let accepted = setup.audit_events(&["--event", "invite_accepted", "--user", &bob]);
    assert_eq!(accepted.len(), 1, "{accepted:#?}");
}
on_both_backends!(of_parallel_accepts_of_one_invitation_only_the_winner_is_audited);

fn accountd_audit_refuses_bad_arguments_clearly(db: &TestDb) {
    let setup = Setup::new(db);
    for (args, says) in [
        (&["--user", "ann"][..], "is not a user gid"),
        (
            &["--event", "mfa_enabled"][..],
            "is not an audit event; one of: signup,",
        ),
        (&["--since", "yesterday"][..], "is not an RFC 3339 time"),
        (&["--since", "2026-12-01"][..], "is not an RFC 3339 time"),
    ] {
        let out = setup.audit(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    // An empty log prints nothing and succeeds.
    assert_eq!(setup.audit_events(&[]), Vec::<Value>::new());
}
on_both_backends!(accountd_audit_refuses_bad_arguments_clearly);
