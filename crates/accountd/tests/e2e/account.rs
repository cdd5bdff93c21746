//! End-to-end tests of `account/update`, `users/get` and `username`
//! through the real binary, on both backends, with a real SMTP listener.

use crate::support::{Reply, Server, Setup, TestDb};
use accountd_domain::{
    Change, ChangeSet, Membership, MembershipStatus, Notifications, Project, ProjectId,
    ProjectStatus, Role, UserId,
};
use accountd_testkit::{in_parallel, SmtpCapture, MAIL_WAIT, NEW_PASSWORD, PASSWORD};
use serde_json::{json, Value};

const UNPROCESSABLE: &str = r#"{"success":false,"result":{"code":422,"message":"Unprocessable Entity","info":{}},"data":{}}"#;
const REAUTH: &str = r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{"reason":"reauthentication_required"}},"data":{}}"#;

/// Logs `username` in with `password`: the token.
fn login(server: &Server, username: &str, password: &str) -> String {
    let r = server.post_json(
        "/api/login",
        &json!({"username": username, "password": password}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("authorization").expect("a token")
}

fn authed(server: &Server, path: &str, token: &str, body: &Value) -> Reply {
    server.post_json_with(path, body, &[("Authorization", &format!("Bearer {token}"))])
}

fn update(server: &Server, token: &str, body: &Value) -> Reply {
    authed(server, "/api/account/update", token, body)
}

fn init(server: &Server, token: &str) -> Reply {
    server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {token}"))],
    )
}

/// The caller's complete form as `init` shows it.
fn me(server: &Server, token: &str, gid: &str) -> Value {
    let r = init(server, token);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["data"]["cc.users"][gid].clone()
}

fn validation(field: &str, reason: &str, detail: &str) -> String {
    json!({
        "success": false,
        "result": {"code": 1001, "message": "Validation error",
                   "info": {"field": field, "reason": reason, "detail": detail}},
        "data": {},
    })
    .to_string()
}

fn complete(gid: &str, username: &str, email: &str, name: &str, language: &str, tz: &str) -> Value {
    json!({"gid": gid, "username": username, "email": email, "name": name,
           "avatar": null, "status": "active",
           "options": {"language": language, "timezone": tz}})
}

#[track_caller]
fn assert_user_answer(r: &Reply, gid: &str, form: &Value) {
    let expected = json!({"success": true, "result": {"user": gid},
                          "data": {"cc.users": {gid: form}}});
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, expected.to_string().as_str())
    );
    assert!(r.header("authorization").is_some(), "a fresh token");
}

fn account_update_changes_the_profile_and_refuses_each_bad_value(db: &TestDb) {
    let setup = Setup::new(db);
    let gid = setup.add_user("ann", &["ann@example.com"]);
    setup.add_user("Bob", &["bob@example.com"]);
    let server = setup.start();
    let token = login(&server, "ann", PASSWORD);

    let r = update(
        &server,
        &token,
        &json!({"username": "ANN", "name": "  Ann Lee ", "language": "nl", "timezone": "Asia/Tokyo"}),
    );
    let form = complete(
        &gid,
        "ANN",
        "ann@example.com",
        "Ann Lee",
        "nl",
        "Asia/Tokyo",
    );
    assert_user_answer(&r, &gid, &form);
    // The fresh token works, and the change is stored.
    let fresh = r.header("authorization").unwrap();
    assert_eq!(me(&server, &fresh, &gid), form);
    // The old token still works: no credential changed.
    assert_eq!(init(&server, &token).status, 200);

    let cases = [
        (
            json!({}),
            validation(
                "body",
                "nothing_to_update",
                "Give at least one of username, password, name, language and timezone.",
            ),
        ),
        (
            json!({"username": "bob"}),
            validation(
                "username",
                "username_unavailable",
                "The username is already taken.",
            ),
        ),
        (
            json!({"username": "a/b"}),
            validation(
                "username",
                "username_invalid",
                "The username may only contain letters, digits, '.', '-' and '_'.",
            ),
        ),
        (
            json!({"name": "x".repeat(201)}),
            validation(
                "name",
                "name_invalid",
                "The name may have at most 200 characters and no control characters.",
            ),
        ),
        (
            json!({"language": "fr"}),
            validation(
                "language",
                "language_unsupported",
                "The language is not one of the supported languages.",
            ),
        ),
        (
            json!({"timezone": "Mars/Olympus"}),
            validation(
                "timezone",
                "timezone_unsupported",
                "The time zone is not an IANA time zone name.",
            ),
        ),
        (
            json!({"name": 5}),
            json!({"success": false,
            "result": {"code": 400, "message": "Bad request",
                       "info": {"parameter": "name", "reason": "invalid_type"}},
            "data": {}})
            .to_string(),
        ),
    ];
    for (body, expected) in cases {
        let r = update(&server, &fresh, &body);
        let status = if expected.contains("\"code\":400") {
            400
        } else {
            422
        };
        assert_eq!(
            (r.status, r.body.as_str()),
            (status, expected.as_str()),
            "{body}"
        );
    }
    for (password, reason) in [
        ("password1", "password_weak"),
        (&*"x".repeat(73), "password_too_long"),
    ] {
        let r = update(&server, &fresh, &json!({"password": password}));
        assert_eq!(r.status, 422, "{}", r.body);
        let info = &r.json()["result"]["info"];
        assert_eq!(
            (&info["field"], &info["reason"]),
            (&json!("password"), &json!(reason))
        );
    }
    // Nothing of the refused calls was stored.
    assert_eq!(me(&server, &fresh, &gid), form);
    // Login is case-sensitive: the account is now `ANN`.
    login(&server, "ANN", PASSWORD);
}
on_both_backends!(account_update_changes_the_profile_and_refuses_each_bad_value);

fn a_password_change_revokes_older_tokens_and_mails_the_notice(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    let gid = setup.add_user("cleo", &["cleo@example.com", "c.lee@work.example"]);
    let server = setup.start();
    let first = login(&server, "cleo", PASSWORD);
    let second = login(&server, "cleo", PASSWORD);

    let r = update(&server, &first, &json!({"password": NEW_PASSWORD}));
    let form = complete(
        &gid,
        "cleo",
        "cleo@example.com",
        "",
        "en",
        "Europe/Amsterdam",
    );
    assert_user_answer(&r, &gid, &form);
    let fresh = r.header("authorization").unwrap();

    assert_eq!(init(&server, &fresh).status, 200);
    for old in [&first, &second] {
        let r = init(&server, old);
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let r = server.post_json(
        "/api/login",
        &json!({"username": "cleo", "password": PASSWORD}),
    );
    assert_eq!(r.status, 403);
    login(&server, "cleo", NEW_PASSWORD);
    for to in ["cleo@example.com", "c.lee@work.example"] {
        let m = smtp.wait_for(MAIL_WAIT, |m| m.is_to(to) && m.is_change_notice());
        assert!(
            m.text.contains("password of your account was just changed"),
            "{}",
            m.text
        );
    }
    // The fresh token is a credential proof: a second change needs no
    // current password.
    let r = update(&server, &fresh, &json!({"password": PASSWORD}));
    assert_eq!(r.status, 200, "{}", r.body);
}
on_both_backends!(a_password_change_revokes_older_tokens_and_mails_the_notice);

fn a_stale_session_changes_the_password_only_with_the_current_password(db: &TestDb) {
    // Every session is stale at once.
    let setup = Setup::new(db).env("ACCOUNTD_REAUTH_SECONDS", "0");
    let gid = setup.add_user("dora", &["dora@example.com"]);
    let server = setup.start();
    let token = login(&server, "dora", PASSWORD);
    std::thread::sleep(std::time::Duration::from_millis(5));

    let r = update(
        &server,
        &token,
        &json!({"password": NEW_PASSWORD, "name": "Dora"}),
    );
    assert_eq!((r.status, r.body.as_str()), (403, REAUTH));
    let r = update(
        &server,
        &token,
        &json!({"password": NEW_PASSWORD, "current_password": "not it"}),
    );
    assert_eq!((r.status, r.body.as_str()), (403, REAUTH));
    // Nothing changed: the old password and the old token still work.
    assert_eq!(me(&server, &token, &gid)["name"], "");

    // A profile change needs no recent authentication.
    let r = update(&server, &token, &json!({"name": "Dora"}));
    assert_eq!(r.status, 200, "{}", r.body);

    let r = update(
        &server,
        &token,
        &json!({"password": NEW_PASSWORD, "current_password": PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(init(&server, &token).status, 401);
    login(&server, "dora", NEW_PASSWORD);
}
on_both_backends!(a_stale_session_changes_the_password_only_with_the_current_password);

fn parallel_updates_of_one_account_end_in_one_consistent_row(db: &TestDb) {
    let setup = Setup::new(db);
    let gid = setup.add_user("eve", &["eve@example.com"]);
    let server = setup.start();
    let token = login(&server, "eve", PASSWORD);
    let bodies: Vec<Value> = vec![
        json!({"username": "Evelyn"}),
        json!({"language": "de"}),
        json!({"timezone": "America/Chicago"}),
        json!({"name": "Name 3"}),
        json!({"name": "Name 4"}),
        json!({"name": "Name 5"}),
        json!({"name": "Name 6"}),
        json!({"name": "Name 7"}),
    ];
    let replies = in_parallel(bodies.len(), |i| update(&server, &token, &bodies[i]));
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let row = me(&server, &token, &gid);
    let name = row["name"].as_str().unwrap().to_owned();
    assert!((3..8).any(|i| name == format!("Name {i}")), "{name}");
    assert_eq!(
        row,
        complete(
            &gid,
            "Evelyn",
            "eve@example.com",
            &name,
            "de",
            "America/Chicago"
        )
    );
}
on_both_backends!(parallel_updates_of_one_account_end_in_one_consistent_row);

fn users_get_shows_oneself_complete_and_refuses_unknown_or_bad_gids(db: &TestDb) {
    let setup = Setup::new(db);
    let gid = setup.add_user("finn", &["finn@example.com"]);
    let other = setup.add_user("gus", &["gus@example.com"]);
    let server = setup.start();
    let token = login(&server, "finn", PASSWORD);

    let r = authed(&server, "/api/users/get", &token, &json!({"user": gid}));
    let form = complete(
        &gid,
        "finn",
        "finn@example.com",
        "",
        "en",
        "Europe/Amsterdam",
    );
    assert_user_answer(&r, &gid, &form);
    // A user sharing no project, and an unknown gid: the same 422.
    for user in [other.as_str(), "00000000-0000-4000-8000-000000000000"] {
        let r = authed(&server, "/api/users/get", &token, &json!({"user": user}));
        assert_eq!((r.status, r.body.as_str()), (422, UNPROCESSABLE));
    }
    let r = authed(&server, "/api/users/get", &token, &json!({"user": "nope"}));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["result"]["info"],
        json!({"parameter": "user", "reason": "invalid_value"})
    );
}
on_both_backends!(users_get_shows_oneself_complete_and_refuses_unknown_or_bad_gids);

/// A project owned by `owner` (gid) with the rows `(gid, status)`, written
/// through the adapter (no served route creates projects yet).
fn project_with(db: &TestDb, owner: &str, rows: &[(&str, MembershipStatus)]) {
    let owner = UserId::parse(owner).unwrap();
    let id = ProjectId::from_random_bytes([77; 16]);
    let project = Project {
        id,
        name: "atlas".to_owned(),
        icon: None,
        owner,
        status: ProjectStatus::Active,
        timezone: "UTC".to_owned(),
        languages: vec!["en".to_owned()],
    };
    let row = |user: UserId, status, role| Membership {
        project: id,
        user,
        status,
        roles: vec![role],
        notifications: Notifications::default(),
        rate_limit_per_second: None,
        invitation: None,
    };
    let mut set = ChangeSet::new().with(Change::CreateProject {
        project,
        owner: row(owner, MembershipStatus::Active, Role::Owner),
    });
    for (user, status) in rows {
        set = set.with(Change::PutMembership {
            membership: row(UserId::parse(user).unwrap(), *status, Role::Member),
            expected: None,
        });
    }
    crate::support::apply(db, set);
}

fn users_get_shows_the_short_form_of_exactly_the_rows_the_caller_may_see(db: &TestDb) {
    let setup = Setup::new(db);
    let finn = setup.add_user("finn", &["finn@example.com"]);
    let gus = setup.add_user("gus", &["gus@example.com"]);
    let ida = setup.add_user("ida", &["ida@example.com"]);
    let jo = setup.add_user("jo", &["jo@example.com"]);
    project_with(
        db,
        &finn,
        &[
            (&gus, MembershipStatus::Active),
            (&ida, MembershipStatus::Invited),
            (&jo, MembershipStatus::Declined),
        ],
    );
    let server = setup.start();
    let short = |gid: &str, name: &str| json!({"gid": gid, "username": name, "name": "", "avatar": null, "status": "active"});
    let sees = |who: &str, whom: &str, name: &str| {
        let token = login(&server, who, PASSWORD);
        let r = authed(&server, "/api/users/get", &token, &json!({"user": whom}));
        assert_user_answer(&r, whom, &short(whom, name));
    };
    let refused = |who: &str, whom: &str| {
        let token = login(&server, who, PASSWORD);
        let r = authed(&server, "/api/users/get", &token, &json!({"user": whom}));
        assert_eq!(
            (r.status, r.body.as_str()),
            (422, UNPROCESSABLE),
            "{who} -> {whom}"
        );
    };
    // The owner sees every row: active, invited, declined.
    sees("finn", &gus, "gus");
    sees("finn", &ida, "ida");
    sees("finn", &jo, "jo");
    // An active member sees the active rows (the owner's among them).
    sees("gus", &finn, "finn");
    refused("gus", &ida);
    refused("gus", &jo);
    // An invited user sees the owner's row only; a declined one sees no one.
    sees("ida", &finn, "finn");
    refused("ida", &gus);
    refused("jo", &finn);
    refused("jo", &gus);
}
on_both_backends!(users_get_shows_the_short_form_of_exactly_the_rows_the_caller_may_see);

fn username_answers_availability_and_counts_lookups_per_client(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_LOOKUPS_PER_IP_PER_HOUR", "4");
    setup.add_user("Hanna", &["hanna@example.com"]);
    let server = setup.start();
    let ask = |name: &str| server.post_json("/api/username", &json!({"username": name}));
    let cases = [
        (
            "hanna",
            r#"{"success":true,"result":{"username":"hanna","available":false,"reason":"username_unavailable"},"data":{}}"#,
        ),
        (
            "ivy",
            r#"{"success":true,"result":{"username":"ivy","available":true},"data":{}}"#,
        ),
        (
            "i v y",
            r#"{"success":true,"result":{"username":"i v y","available":false,"reason":"username_invalid"},"data":{}}"#,
        ),
    ];
    for (name, body) in cases {
        let r = ask(name);
        assert_eq!((r.status, r.body.as_str()), (200, body));
        assert_eq!(r.header("authorization"), None);
    }
    // A 400 is not counted.
    assert_eq!(server.post_json("/api/username", &json!({})).status, 400);
    assert_eq!(ask("ivy").status, 200);
    let r = ask("ivy");
    assert_eq!(r.status, 429, "{}", r.body);
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
}
on_both_backends!(username_answers_availability_and_counts_lookups_per_client);
