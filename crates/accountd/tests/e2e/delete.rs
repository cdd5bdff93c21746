//! End-to-end tests of `POST /api/account/delete` through the real binary
//! (every scenario on SQLite and on PostgreSQL, a real SMTP listener), and
//! of how every other door treats the deleted account afterwards.

use crate::support::{Reply, Server, Setup, TestDb};
use accountd_domain::{
    Change, ChangeSet, Membership, MembershipStatus, Notifications, Project, ProjectId,
    ProjectStatus, Role, UserId,
};
use accountd_testkit::{SmtpCapture, MAIL_WAIT, PASSWORD, STRONG};
use serde_json::{json, Value};
use std::time::Duration;

const DELETED: &str = r#"{"success":true,"result":{},"data":{}}"#;
const PERMISSION_DENIED: &str =
    r#"{"success":false,"result":{"code":401,"message":"Permission denied","info":{}},"data":{}}"#;
const UNKNOWN_USER: &str =
    r#"{"success":false,"result":{"code":403,"message":"Unknown user","info":{}},"data":{}}"#;
const UNPROCESSABLE: &str = r#"{"success":false,"result":{"code":422,"message":"Unprocessable Entity","info":{}},"data":{}}"#;
const REAUTH: &str = r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{"reason":"reauthentication_required"}},"data":{}}"#;

#[track_caller]
fn assert_reply(reply: &Reply, status: u16, body: &str) {
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (status, body),
        "unexpected answer"
    );
}

fn login(server: &Server, username: &str, password: &str) -> Reply {
    server.post_json(
        "/api/login",
        &json!({"username": username, "password": password}),
    )
}

/// Logs in and returns the raw token.
fn token_of(server: &Server, username: &str) -> String {
    let reply = login(server, username, PASSWORD);
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.header("authorization").expect("a token")
}

fn delete(server: &Server, token: &str, body: &Value) -> Reply {
    server.post_json_with(
        "/api/account/delete",
        body,
        &[("Authorization", &format!("Bearer {token}"))],
    )
}

fn init(server: &Server, token: &str) -> Reply {
    server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {token}"))],
    )
}

fn bad_request(parameter: &str, reason: &str) -> String {
    json!({
        "success": false,
        "result": {"code": 400, "message": "Bad request",
                   "info": {"parameter": parameter, "reason": reason}},
        "data": {},
    })
    .to_string()
}

/// Creates an active project owned by `owner` straight in the server's
/// database (`projects/create` is not served yet), through the adapter's
/// one write.
fn create_project(db: &TestDb, owner: &str, id_byte: u8, status: ProjectStatus) -> String {
    let owner = UserId::parse(owner).expect("a gid");
    let id = ProjectId::from_random_bytes([id_byte; 16]);
    let project = Project {
        id,
        name: "untitled project".to_owned(),
        icon: None,
        owner,
        status,
        timezone: "UTC".to_owned(),
        languages: vec!["en".to_owned()],
    };
    let row = Membership {
        project: id,
        user: owner,
        status: MembershipStatus::Active,
        roles: vec![Role::Owner],
        notifications: Notifications::default(),
        rate_limit_per_second: None,
        invitation: None,
    };
    crate::support::apply(
        db,
        ChangeSet::new().with(Change::CreateProject {
            project,
            owner: row,
        }),
    );
    id.to_string()
}

fn deleting_an_account_mails_a_last_notice_and_closes_every_door(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    let server = setup.start();
    let gid = setup.add_user("Ann", &["ann@example.com", "a.lee@work.example"]);
    let token = token_of(&server, "Ann");

    let reply = delete(&server, &token, &json!({"confirm": true}));

    assert_reply(&reply, 200, DELETED);
    assert_eq!(
        reply.header("authorization"),
        None,
        "no token for no account"
    );
    for to in ["ann@example.com", "a.lee@work.example"] {
        let mail = smtp.wait_for(MAIL_WAIT, |m| m.is_to(to));
        assert_eq!(mail.recipients, vec![to]);
        assert!(
            mail.subject.to_lowercase().contains("deleted"),
            "{:?}",
            mail.subject
        );
    }

    // The old token, the old password, either address, the old name: as
    // for an account that never existed, and the name stays taken.
    let old = init(&server, &token);
    assert_reply(&old, 401, PERMISSION_DENIED);
    assert_reply(&login(&server, "Ann", PASSWORD), 403, UNKNOWN_USER);
    for who in ["Ann", "ann@example.com", "A.Lee@work.example"] {
        let r = server.post_json(
            "/api/reset_password_request",
            &json!({ "username_or_email": who }),
        );
        assert_reply(&r, 422, UNPROCESSABLE);
    }
    let unknown = server.send_email("Ann-never-existed");
    let sent = server.send_email("Ann");
    assert_eq!(
        (sent.status, &sent.body),
        (unknown.status, &unknown.body),
        "forgotPassword sees no account"
    );
    for name in ["Ann", "ann", "ANN"] {
        let r = server.post_json(
            "/api/signup_request",
            &json!({"username": name, "password": STRONG, "email": "new@example.com"}),
        );
        assert_eq!(r.status, 422, "{r:?}");
        let info = &r.json()["result"]["info"];
        assert_eq!(
            (&info["field"], &info["reason"]),
            (&json!("username"), &json!("username_unavailable")),
            "{r:?}"
        );
    }
    let again = setup.try_add_user("ann", &["new@example.com"]);
    assert!(
        !again.status.success(),
        "user add must refuse a reserved name"
    );
    // No other mail went out: one notice per address, nothing for the
    // refused calls.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.mails().len(), 2, "{:?}", smtp.mails());
    assert_eq!(gid.len(), 36);
}
on_both_backends!(deleting_an_account_mails_a_last_notice_and_closes_every_door);

fn a_stale_session_must_send_the_current_password(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_REAUTH_SECONDS", "0");
    let server = setup.start();
    setup.add_user("bob", &["bob@example.com"]);
    let token = token_of(&server, "bob");
    std::thread::sleep(Duration::from_millis(5));

    assert_reply(
        &delete(&server, &token, &json!({"confirm": true})),
        403,
        REAUTH,
    );
    assert_reply(
        &delete(
            &server,
            &token,
            &json!({"confirm": true, "current_password": "not the password"}),
        ),
        403,
        REAUTH,
    );
    assert_eq!(init(&server, &token).status, 200, "nothing was deleted");

    let reply = delete(
        &server,
        &token,
        &json!({"confirm": true, "current_password": PASSWORD}),
    );

    assert_reply(&reply, 200, DELETED);
    assert_eq!(reply.header("authorization"), None);
    smtp.wait_for(MAIL_WAIT, |m| m.is_to("bob@example.com"));
    assert_reply(&init(&server, &token), 401, PERMISSION_DENIED);
}
on_both_backends!(a_stale_session_must_send_the_current_password);

fn confirm_must_be_true_and_an_owner_must_give_its_projects_away_first(db: &TestDb) {
    let setup = Setup::new(db);
    let server = setup.start();
    let gid = setup.add_user("cleo", &["cleo@example.com"]);
    let token = token_of(&server, "cleo");

    assert_reply(
        &delete(&server, &token, &json!({"confirm": false})),
        400,
        &bad_request("confirm", "invalid_value"),
    );
    assert_reply(
        &delete(&server, &token, &json!({})),
        400,
        &bad_request("confirm", "missing"),
    );
    assert_reply(
        &delete(&server, &token, &json!({"confirm": "yes"})),
        400,
        &bad_request("confirm", "invalid_type"),
    );

    let second = create_project(db, &gid, 0x99, ProjectStatus::Deleted);
    let first = create_project(db, &gid, 0x11, ProjectStatus::Active);
    let reply = delete(&server, &token, &json!({"confirm": true}));
    let owns = json!({
        "success": false,
        "result": {"code": 422, "message": "Unprocessable Entity",
                   "info": {"reason": "owns_projects", "projects": [first, second]}},
        "data": {},
    })
    .to_string();
    assert_reply(&reply, 422, &owns);
    assert_eq!(init(&server, &token).status, 200, "nothing was deleted");
    assert_eq!(login(&server, "cleo", PASSWORD).status, 200);
}
on_both_backends!(confirm_must_be_true_and_an_owner_must_give_its_projects_away_first);
