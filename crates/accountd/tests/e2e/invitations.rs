//! End-to-end tests of the invitee's routes through the real binary, on
//! both backends: `account/accept_invite`, `account/decline_invite`,
//! `account/leave_project`, the public `decline_invite` and `init_invite`,
//! the decline page, and the races (parallel accepts of one row; an accept
//! racing a remove).
//!
//! The invitations themselves are written through the adapter
//! ([`crate::support::apply`]) with tokens the test knows, under the code
//! MAC key the server derives from [`crate::support::SECRET`].

use crate::support::{Reply, Server, Setup, TestDb, SECRET};
use accountd_domain::{
    Change, ChangeSet, Invitation, MacKey, Membership, MembershipStatus, Notifications, ProjectId,
    Role, ServerSecret, Timestamp, User, UserId, UserStatus,
};
use accountd_testkit::{email, in_parallel, PASSWORD};
use serde_json::{json, Value};
use std::time::Duration;

const UNPROCESSABLE: &str = r#"{"success":false,"result":{"code":422,"message":"Unprocessable Entity","info":{}},"data":{}}"#;
const EMPTY: &str = r#"{"success":true,"result":{},"data":{}}"#;
const DAY: i64 = 86_400;

/// The server's code MAC key (the one invitations are issued under).
fn code_key() -> MacKey {
    ServerSecret::new(SECRET.as_bytes().to_vec())
        .unwrap()
        .code_mac_key()
}

fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp::from_millis(i64::try_from(millis).unwrap())
}

fn login(server: &Server, username: &str) -> String {
    let r = server.post_json(
        "/api/login",
        &json!({"username": username, "password": PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("authorization").expect("a token")
}

fn authed(server: &Server, path: &str, token: &str, body: &Value) -> Reply {
    server.post_json_with(path, body, &[("Authorization", &format!("Bearer {token}"))])
}

#[track_caller]
fn assert_reply(r: &Reply, status: u16, body: &str) {
    assert_eq!((r.status, r.body.as_str()), (status, body));
}

fn because(code: u16, message: &str, reason: &str) -> String {
    json!({"success": false,
           "result": {"code": code, "message": message, "info": {"reason": reason}},
           "data": {}})
    .to_string()
}

fn create_project(server: &Server, token: &str, name: &str) -> String {
    let r = authed(
        server,
        "/api/projects/create",
        token,
        &json!({"name": name}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["result"]["project"].as_str().unwrap().to_owned()
}

/// Writes `user`'s `invited` row in `project` from `inviter`, sent at
/// `sent` and living `ttl` seconds, with the token `token`; `expected` is
/// the row's status before (`None`: no row yet).
#[allow(clippy::too_many_arguments)]
fn invite(
    db: &TestDb,
    project: &str,
    user: &str,
    address: &str,
    inviter: &str,
    token: &str,
    sent: Timestamp,
    ttl: i64,
    expected: Option<MembershipStatus>,
) {
    let membership = Membership {
        project: ProjectId::parse(project).unwrap(),
        user: UserId::parse(user).unwrap(),
        status: MembershipStatus::Invited,
        roles: vec![Role::Member],
        notifications: Notifications {
            email: Some(email(address)),
            ..Notifications::default()
        },
        rate_limit_per_second: None,
        invitation: Some(Invitation::issue(
            &code_key(),
            token,
            UserId::parse(inviter).unwrap(),
            sent,
            ttl,
        )),
    };
    crate::support::apply(
        db,
        ChangeSet::new().with(Change::PutMembership {
            membership,
            expected,
        }),
    );
}

/// A fresh invitation (a day) with `token`.
fn invite_now(db: &TestDb, project: &str, user: &str, address: &str, inviter: &str, token: &str) {
    invite(db, project, user, address, inviter, token, now(), DAY, None);
}

/// Creates the placeholder user of `address` and returns its gid.
fn placeholder(db: &TestDb, address: &str) -> String {
    let user = User {
        id: UserId::from_random_bytes(rand::random()),
        username: None,
        emails: vec![email(address)],
        status: UserStatus::Invited,
        credential_version: 1,
        password_hash: None,
        name: String::new(),
        language: "en".to_owned(),
        timezone: "UTC".to_owned(),
        created_at: now(),
    };
    let gid = user.id.to_string();
    crate::support::apply(db, ChangeSet::new().with(Change::CreatePlaceholder(user)));
    gid
}

fn row(project: &str, user: &str, status: &str, role: &str, address: Option<&str>) -> Value {
    json!({"project_gid": project, "user_gid": user, "status": status, "roles": [role],
           "options": {"notifications": {"email": address, "events": ["all"], "frequency": "immediate"},
                       "rate_limit_per_second": null}})
}

fn whole(gid: &str, name: &str, owner: &str) -> Value {
    json!({"gid": gid, "name": name, "icon": null, "owner": owner, "status": "active",
           "options": {"timezone": "Europe/Amsterdam", "languages": ["en"]}})
}

fn short_project(gid: &str, name: &str, owner: &str) -> Value {
    json!({"gid": gid, "name": name, "icon": null, "owner": owner, "status": "active"})
}

fn answered(project: &str, form: Value, row: Value) -> String {
    json!({"success": true, "result": {"project": project},
           "data": {"cc.projects": {project: form}, "cc.projects_members": [row]}})
    .to_string()
}

/// The status of `user`'s row as the owner sees it, if any.
fn status_of(server: &Server, owner_token: &str, project: &str, user: &str) -> Option<String> {
    let r = authed(
        server,
        "/api/projects/get",
        owner_token,
        &json!({"project": project}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["data"]["cc.projects_members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_gid"] == json!(user))
        .map(|m| m["status"].as_str().unwrap().to_owned())
}

fn the_invitee_accepts_declines_and_leaves_and_every_refusal_has_its_answer(db: &TestDb) {
    let setup = Setup::new(db);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let cy = setup.add_user("cy", &["cy@example.com"]);
    let dan = setup.add_user("dan", &["dan@example.com"]);
    let server = setup.start();
    let ann_token = login(&server, "ann");
    let (bob_token, cy_token, dan_token) = (
        login(&server, "bob"),
        login(&server, "cy"),
        login(&server, "dan"),
    );
    let atlas = create_project(&server, &ann_token, "Atlas");
    invite_now(db, &atlas, &bob, "bob@example.com", &ann, "bob-token");
    invite_now(db, &atlas, &cy, "cy@example.com", &ann, "cy-token");
    // Dan's invitation expired yesterday.
    invite(
        db,
        &atlas,
        &dan,
        "dan@example.com",
        &ann,
        "dan-token",
        now().plus_seconds(-2 * DAY),
        DAY,
        None,
    );
    let project = json!({"project": atlas});

    // Bob accepts: the whole project and his active row, a fresh token.
    let r = authed(&server, "/api/account/accept_invite", &bob_token, &project);
    assert_reply(
        &r,
        200,
        &answered(
            &atlas,
            whole(&atlas, "Atlas", &ann),
            row(&atlas, &bob, "active", "member", Some("bob@example.com")),
        ),
    );
    assert!(r.header("authorization").is_some());
    let init = server
        .get_with(
            "/api/init",
            &[("Authorization", &format!("Bearer {bob_token}"))],
        )
        .json();
    assert_eq!(init["result"]["user_projects"], json!({&atlas: ["member"]}));
    // Again: the row is active, no invitation to accept.
    for path in ["/api/account/accept_invite", "/api/account/decline_invite"] {
        assert_reply(
            &authed(&server, path, &bob_token, &project),
            422,
            UNPROCESSABLE,
        );
    }

    // Cy declines (the short form he saw), then cannot accept: 1004.
    let r = authed(&server, "/api/account/decline_invite", &cy_token, &project);
    assert_reply(
        &r,
        200,
        &answered(
            &atlas,
            short_project(&atlas, "Atlas", &ann),
            row(&atlas, &cy, "declined", "member", Some("cy@example.com")),
        ),
    );
    assert_reply(
        &authed(&server, "/api/account/accept_invite", &cy_token, &project),
        422,
        &because(1004, "Invite invalid", "invite_declined"),
    );
    assert_eq!(
        status_of(&server, &ann_token, &atlas, &cy).as_deref(),
        Some("declined")
    );

    // Dan's expired invitation cannot be accepted, but can be declined.
    assert_reply(
        &authed(&server, "/api/account/accept_invite", &dan_token, &project),
        422,
        &because(1004, "Invite invalid", "invite_expired"),
    );
    let r = authed(&server, "/api/account/decline_invite", &dan_token, &project);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        status_of(&server, &ann_token, &atlas, &dan).as_deref(),
        Some("declined")
    );

    // Leave: Bob goes; again is 422; the owner cannot.
    assert_reply(
        &authed(&server, "/api/account/leave_project", &bob_token, &project),
        200,
        EMPTY,
    );
    assert_eq!(status_of(&server, &ann_token, &atlas, &bob), None);
    assert_reply(
        &authed(&server, "/api/account/leave_project", &bob_token, &project),
        422,
        UNPROCESSABLE,
    );
    assert_reply(
        &authed(&server, "/api/account/leave_project", &ann_token, &project),
        422,
        &because(422, "Unprocessable Entity", "owner_cannot_leave"),
    );
    // Cy's declined row cannot be left (decline is the way out).
    assert_reply(
        &authed(&server, "/api/account/leave_project", &cy_token, &project),
        422,
        UNPROCESSABLE,
    );

    // No row, and an unknown project: 422 on every own-row route.
    let unknown = json!({"project": "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"});
    for path in [
        "/api/account/accept_invite",
        "/api/account/decline_invite",
        "/api/account/leave_project",
    ] {
        assert_reply(
            &authed(&server, path, &bob_token, &project),
            422,
            UNPROCESSABLE,
        );
        assert_reply(
            &authed(&server, path, &ann_token, &unknown),
            422,
            UNPROCESSABLE,
        );
    }

    // A deleted project: 422 project_deleted, over the 1004 of an expired
    // invitation too.
    let gone = create_project(&server, &ann_token, "Gone");
    invite(
        db,
        &gone,
        &cy,
        "cy@example.com",
        &ann,
        "gone-token",
        now().plus_seconds(-2 * DAY),
        DAY,
        None,
    );
    invite_now(db, &gone, &bob, "bob@example.com", &ann, "gone-bob");
    let r = authed(
        &server,
        "/api/projects/delete",
        &ann_token,
        &json!({"project": gone}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let deleted = because(422, "Unprocessable Entity", "project_deleted");
    for token in [&cy_token, &bob_token] {
        for path in ["/api/account/accept_invite", "/api/account/decline_invite"] {
            assert_reply(
                &authed(&server, path, token, &json!({"project": gone})),
                422,
                &deleted,
            );
        }
    }
    // The public decline of the deleted project, with the right token.
    let r = server.post_json(
        "/api/decline_invite",
        &json!({"invitee": bob, "project": gone, "token": "gone-bob"}),
    );
    assert_reply(&r, 422, &deleted);
}
on_both_backends!(the_invitee_accepts_declines_and_leaves_and_every_refusal_has_its_answer);

fn the_decline_link_works_with_its_latest_unexpired_token_only(db: &TestDb) {
    let setup = Setup::new(db);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let ann_token = login(&server, "ann");
    let atlas = create_project(&server, &ann_token, "Atlas <&> \"Co\"");
    let eve = placeholder(db, "eve@example.org");
    invite_now(db, &atlas, &eve, "eve@example.org", &ann, "first-token");
    // A resend: a new token replaces the first.
    invite(
        db,
        &atlas,
        &eve,
        "eve@example.org",
        &ann,
        "second-token",
        now(),
        DAY,
        Some(MembershipStatus::Invited),
    );
    let link = |token: &str| json!({"invitee": eve, "project": atlas, "token": token});

    // init_invite with the latest token.
    let name = "Atlas <&> \"Co\"";
    let shown = json!({"success": true, "result": {"project": atlas, "invitee": eve},
        "data": {"cc.projects": {&atlas: short_project(&atlas, name, &ann)},
                 "cc.users": {
                     &ann: {"gid": ann, "username": "ann", "name": "", "avatar": null, "status": "active"},
                     &eve: {"gid": eve, "username": null, "name": "", "avatar": null, "status": "invited"}},
                 "cc.projects_members": [row(&atlas, &eve, "invited", "member", Some("eve@example.org"))]}});
    let r = server.post_json("/api/init_invite", &link("second-token"));
    assert_reply(&r, 200, &shown.to_string());
    assert!(r.header("authorization").is_none());

    // A wrong, an empty or the old token: 422, on both public routes.
    for token in ["wrong", "", "first-token"] {
        for path in ["/api/init_invite", "/api/decline_invite"] {
            assert_reply(&server.post_json(path, &link(token)), 422, UNPROCESSABLE);
        }
    }
    // A missing token: 400.
    let r = server.post_json(
        "/api/decline_invite",
        &json!({"invitee": eve, "project": atlas}),
    );
    assert_reply(
        &r,
        400,
        r#"{"success":false,"result":{"code":400,"message":"Bad request","info":{"parameter":"token","reason":"missing"}},"data":{}}"#,
    );

    // The page: a GET names the project and the inviter, escaped, and
    // changes nothing, however often it is opened.
    let page = format!("/invite/decline?invitee={eve}&project={atlas}&token=second-token");
    for _ in 0..3 {
        let r = server.get(&page);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body.contains(
                "<strong>ann</strong> invited you to the project <strong>Atlas &lt;&amp;&gt; &quot;Co&quot;</strong>"
            ),
            "{}",
            r.body
        );
        assert!(r.body.contains("<form method=\"post\">"), "{}", r.body);
        assert_eq!(
            r.header("content-security-policy").as_deref(),
            Some("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        );
    }
    assert_eq!(
        status_of(&server, &ann_token, &atlas, &eve).as_deref(),
        Some("invited")
    );
    // The old link's page is refused, a page with a 4xx.
    let r = server.get(&format!(
        "/invite/decline?invitee={eve}&project={atlas}&token=first-token"
    ));
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("no longer valid"), "{}", r.body);

    // The button: the form-encoded POST to the same URL declines.
    let r = reqwest::blocking::Client::new()
        .post(server.url(&page))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(format!("invitee={eve}&project={atlas}&token=second-token"))
        .send()
        .expect("POST");
    let r = Reply::from(r);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("You declined the invitation"), "{}", r.body);
    assert_eq!(
        status_of(&server, &ann_token, &atlas, &eve).as_deref(),
        Some("declined")
    );
    // Declined: the link no longer opens anything.
    assert_reply(
        &server.post_json("/api/init_invite", &link("second-token")),
        422,
        UNPROCESSABLE,
    );
    assert_reply(
        &server.post_json("/api/decline_invite", &link("second-token")),
        422,
        UNPROCESSABLE,
    );

    // An account declines by the API with its link: the short project and
    // the declined row, no token header.
    invite_now(db, &atlas, &bob, "bob@example.com", &ann, "bob-link");
    let r = server.post_json(
        "/api/decline_invite",
        &json!({"invitee": bob, "project": atlas, "token": "bob-link"}),
    );
    assert_reply(
        &r,
        200,
        &answered(
            &atlas,
            short_project(&atlas, name, &ann),
            row(&atlas, &bob, "declined", "member", Some("bob@example.com")),
        ),
    );
    assert!(r.header("authorization").is_none());

    // An expired invitation's link is dead: 422, nothing changes.
    let cy = setup.add_user("cy", &["cy@example.com"]);
    invite(
        db,
        &atlas,
        &cy,
        "cy@example.com",
        &ann,
        "cy-link",
        now().plus_seconds(-2 * DAY),
        DAY,
        None,
    );
    let cy_link = json!({"invitee": cy, "project": atlas, "token": "cy-link"});
    for path in ["/api/init_invite", "/api/decline_invite"] {
        assert_reply(&server.post_json(path, &cy_link), 422, UNPROCESSABLE);
    }
    assert_eq!(
        status_of(&server, &ann_token, &atlas, &cy).as_deref(),
        Some("invited")
    );
}
on_both_backends!(the_decline_link_works_with_its_latest_unexpired_token_only);

fn of_eight_parallel_accepts_of_one_row_exactly_one_succeeds(db: &TestDb) {
    let setup = Setup::new(db);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let ann_token = login(&server, "ann");
    let bob_token = login(&server, "bob");
    let atlas = create_project(&server, &ann_token, "Atlas");
    invite_now(db, &atlas, &bob, "bob@example.com", &ann, "t");
    let replies = in_parallel(8, |_| {
        authed(
            &server,
            "/api/account/accept_invite",
            &bob_token,
            &json!({"project": atlas}),
        )
    });
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_reply(r, 422, UNPROCESSABLE);
    }
    assert_eq!(
        status_of(&server, &ann_token, &atlas, &bob).as_deref(),
        Some("active")
    );
}
on_both_backends!(of_eight_parallel_accepts_of_one_row_exactly_one_succeeds);

/// Applies `set` through the adapter and says whether it committed.
fn try_apply(db: &TestDb, set: ChangeSet) -> bool {
    use accountd_ports::Changes;
    let url = accountd_adapters::DatabaseUrl::parse(&db.url).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = accountd_adapters::Database::open(&url, 1, Duration::from_secs(10))
            .unwrap()
            .with_outbox_key(&crate::support::outbox_key());
        db.apply(set, now()).await.unwrap() == accountd_ports::Applied::Committed
    })
}

fn an_accept_racing_a_remove_ends_removed_or_active_never_both(db: &TestDb) {
    let setup = Setup::new(db);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let ann_token = login(&server, "ann");
    let bob_token = login(&server, "bob");
    let atlas = create_project(&server, &ann_token, "Atlas");
    let (mut accepted, mut removed) = (0, 0);
    for round in 0..6 {
        invite_now(db, &atlas, &bob, "bob@example.com", &ann, "t");
        let outcomes = in_parallel(2, |i| {
            if i == 0 {
                let r = authed(
                    &server,
                    "/api/account/accept_invite",
                    &bob_token,
                    &json!({"project": atlas}),
                );
                assert!([200, 422].contains(&r.status), "{}", r.body);
                r.status == 200
            } else {
                try_apply(
                    db,
                    ChangeSet::new().with(Change::RemoveMembership {
                        project: ProjectId::parse(&atlas).unwrap(),
                        user: UserId::parse(&bob).unwrap(),
                        expected: MembershipStatus::Invited,
                    }),
                )
            }
        });
        let stored = status_of(&server, &ann_token, &atlas, &bob);
        match (outcomes[0], outcomes[1]) {
            (true, false) => {
                assert_eq!(stored.as_deref(), Some("active"), "round {round}");
                accepted += 1;
            }
            (false, true) => {
                assert_eq!(stored, None, "round {round}");
                removed += 1;
            }
            other => panic!("round {round}: accept and remove both {other:?}, row {stored:?}"),
        }
        // Back to no row for the next round.
        if stored.is_some() {
            assert_reply(
                &authed(
                    &server,
                    "/api/account/leave_project",
                    &bob_token,
                    &json!({"project": atlas}),
                ),
                200,
                EMPTY,
            );
        }
    }
    assert_eq!(accepted + removed, 6);
}
on_both_backends!(an_accept_racing_a_remove_ends_removed_or_active_never_both);

/// Makes `user` an active member of `project` through the adapter.
fn add_member(db: &TestDb, project: &str, user: &str, address: &str) {
    let membership = Membership {
        project: ProjectId::parse(project).unwrap(),
        user: UserId::parse(user).unwrap(),
        status: MembershipStatus::Active,
        roles: vec![Role::Member],
        notifications: Notifications {
            email: Some(email(address)),
            ..Notifications::default()
        },
        rate_limit_per_second: None,
        invitation: None,
    };
    crate::support::apply(
        db,
        ChangeSet::new().with(Change::PutMembership {
            membership,
            expected: None,
        }),
    );
}

fn a_leave_racing_a_transfer_to_the_leaver_never_leaves_the_project_without_an_owner(db: &TestDb) {
    let setup = Setup::new(db);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let ann_token = login(&server, "ann");
    let bob_token = login(&server, "bob");
    let atlas = create_project(&server, &ann_token, "Atlas");
    let project = json!({"project": atlas});
    for round in 0..4 {
        add_member(db, &atlas, &bob, "bob@example.com");
        let replies = in_parallel(2, |i| {
            if i == 0 {
                authed(
                    &server,
                    "/api/projects/transfer",
                    &ann_token,
                    &json!({"project": atlas, "user": bob}),
                )
            } else {
                authed(&server, "/api/account/leave_project", &bob_token, &project)
            }
        });
        let (transfer, leave) = (&replies[0], &replies[1]);
        match (transfer.status, leave.status) {
            (200, 422) => {
                assert_reply(
                    leave,
                    422,
                    &because(422, "Unprocessable Entity", "owner_cannot_leave"),
                );
                // Bob owns it now: he gives it back and leaves.
                let r = authed(
                    &server,
                    "/api/projects/transfer",
                    &bob_token,
                    &json!({"project": atlas, "user": ann}),
                );
                assert_eq!(r.status, 200, "round {round}: {}", r.body);
                let r = authed(&server, "/api/account/leave_project", &bob_token, &project);
                assert_reply(&r, 200, EMPTY);
            }
            (422, 200) => {
                assert_reply(
                    transfer,
                    422,
                    &because(422, "Unprocessable Entity", "not_a_member"),
                );
            }
            other => panic!(
                "round {round}: transfer and leave {other:?}: {} / {}",
                transfer.body, leave.body
            ),
        }
        // Ann owns it, alone.
        let r = authed(&server, "/api/projects/get", &ann_token, &project);
        assert_eq!(r.status, 200, "{}", r.body);
        let rows = r.json()["data"]["cc.projects_members"].clone();
        assert_eq!(
            rows,
            json!([row(
                &atlas,
                &ann,
                "active",
                "owner",
                Some("ann@example.com")
            )]),
            "round {round}"
        );
    }
}
on_both_backends!(
    a_leave_racing_a_transfer_to_the_leaver_never_leaves_the_project_without_an_owner
);
