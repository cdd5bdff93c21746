//! End-to-end tests of `projects/create`, `projects/get` and
//! `projects/update` through the real binary, on both backends.

use crate::support::{Reply, Server, Setup, TestDb};
use accountd_domain::{
    Change, ChangeSet, Membership, MembershipStatus, Notifications, Project, ProjectId,
    ProjectStatus, Role, UserId,
};
use accountd_testkit::{email, in_parallel, SmtpCapture, MAIL_WAIT, PASSWORD};
use serde_json::{json, Value};

const FORBIDDEN: &str =
    r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{}},"data":{}}"#;

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
    assert_eq!(
        r.header("authorization").is_some(),
        status == 200,
        "a fresh token on success only"
    );
}

fn complete(gid: &str, username: &str) -> Value {
    json!({"gid": gid, "username": username, "email": format!("{username}@example.com"),
           "name": "", "avatar": null, "status": "active",
           "options": {"language": "en", "timezone": "Europe/Amsterdam"}})
}

fn short(gid: &str, username: &str) -> Value {
    json!({"gid": gid, "username": username, "name": "", "avatar": null, "status": "active"})
}

fn row(project: &str, user: &str, role: &str, address: Option<&str>) -> Value {
    json!({"project_gid": project, "user_gid": user, "status": "active", "roles": [role],
           "options": {"notifications": {"email": address, "events": ["all"], "frequency": "immediate"},
                       "rate_limit_per_second": null}})
}

fn project_json(gid: &str, name: &str, owner: &str, tz: &str, languages: &[&str]) -> Value {
    json!({"gid": gid, "name": name, "icon": null, "owner": owner, "status": "active",
           "options": {"timezone": tz, "languages": languages}})
}

fn unprocessable(reason: &str) -> String {
    json!({"success": false,
           "result": {"code": 422, "message": "Unprocessable Entity", "info": {"reason": reason}},
           "data": {}})
    .to_string()
}

/// Adds `user` to the project `project` as an active member, through the
/// adapter (invitations are not served yet).
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

fn create_get_and_update_a_project_as_owner_and_as_member(db: &TestDb) {
    let setup = Setup::new(db);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let cy = setup.add_user("cy", &["cy@example.com"]);
    let server = setup.start();
    let (ann_token, bob_token, cy_token) = (
        login(&server, "ann"),
        login(&server, "bob"),
        login(&server, "cy"),
    );

    // create, with the defaults
    let r = authed(&server, "/api/projects/create", &ann_token, &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let gid = r.json()["result"]["project"].as_str().unwrap().to_owned();
    let created = json!({"success": true, "result": {"project": gid},
        "data": {"cc.projects": {&gid: project_json(&gid, "untitled project", &ann, "Europe/Amsterdam", &["en"])},
                 "cc.projects_members": [row(&gid, &ann, "owner", Some("ann@example.com"))]}});
    assert_reply(&r, 200, &created.to_string());

    // the session payload lists it
    let init = server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {ann_token}"))],
    );
    let init = init.json();
    assert_eq!(init["result"]["user_projects"], json!({&gid: ["owner"]}));
    assert_eq!(
        init["data"]["cc.projects"][&gid]["name"],
        "untitled project"
    );

    // update: name and one option key
    let r = authed(
        &server,
        "/api/projects/update",
        &ann_token,
        &json!({"project": gid, "name": " Atlas ", "options": {"languages": ["nl", "en"]}}),
    );
    let atlas = project_json(&gid, "Atlas", &ann, "Europe/Amsterdam", &["nl", "en"]);
    let alone = json!({"success": true, "result": {"project": gid},
        "data": {"cc.projects": {&gid: atlas},
                 "cc.projects_members": [row(&gid, &ann, "owner", Some("ann@example.com"))],
                 "cc.users": {&ann: complete(&ann, "ann")}}});
    assert_reply(&r, 200, &alone.to_string());

    // get, by the owner and by a member
    add_member(db, &gid, &bob, "bob@example.com");
    let mut rows = [
        (
            ann.clone(),
            row(&gid, &ann, "owner", Some("ann@example.com")),
        ),
        (
            bob.clone(),
            row(&gid, &bob, "member", Some("bob@example.com")),
        ),
    ];
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let by_owner = json!({"success": true, "result": {"project": gid},
        "data": {"cc.projects": {&gid: atlas},
                 "cc.projects_members": rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
                 "cc.users": rows.iter().map(|(u, _)| (u.clone(), if *u == ann { complete(&ann, "ann") } else { short(&bob, "bob") })).collect::<serde_json::Map<_, _>>()}});
    let r = authed(
        &server,
        "/api/projects/get",
        &ann_token,
        &json!({"project": gid}),
    );
    assert_reply(&r, 200, &by_owner.to_string());
    let by_member = json!({"success": true, "result": {"project": gid},
        "data": {"cc.projects": {&gid: atlas},
                 "cc.projects_members": rows.iter().map(|(u, _)| if *u == ann { row(&gid, &ann, "owner", None) } else { row(&gid, &bob, "member", Some("bob@example.com")) }).collect::<Vec<_>>(),
                 "cc.users": rows.iter().map(|(u, _)| (u.clone(), if *u == ann { short(&ann, "ann") } else { complete(&bob, "bob") })).collect::<serde_json::Map<_, _>>()}});
    let r = authed(
        &server,
        "/api/projects/get",
        &bob_token,
        &json!({"project": gid}),
    );
    assert_reply(&r, 200, &by_member.to_string());

    // refusals: a stranger and an unknown gid get the same 403; a member
    // may not update; a bad gid is a 400; nothing to update is a 1001
    let unknown = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f";
    for (token, project) in [(&cy_token, gid.as_str()), (&ann_token, unknown)] {
        assert_reply(
            &authed(
                &server,
                "/api/projects/get",
                token,
                &json!({"project": project}),
            ),
            403,
            FORBIDDEN,
        );
        assert_reply(
            &authed(
                &server,
                "/api/projects/update",
                token,
                &json!({"project": project, "name": "X"}),
            ),
            403,
            FORBIDDEN,
        );
    }
    let _ = cy;
    assert_reply(
        &authed(
            &server,
            "/api/projects/update",
            &bob_token,
            &json!({"project": gid, "name": "Mine"}),
        ),
        403,
        FORBIDDEN,
    );
    let bad = r#"{"success":false,"result":{"code":400,"message":"Bad request","info":{"parameter":"project","reason":"invalid_value"}},"data":{}}"#;
    assert_reply(
        &authed(
            &server,
            "/api/projects/get",
            &ann_token,
            &json!({"project": "atlas"}),
        ),
        400,
        bad,
    );
    let nothing = r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"body","reason":"nothing_to_update","detail":"Give at least one of name and options."}},"data":{}}"#;
    assert_reply(
        &authed(
            &server,
            "/api/projects/update",
            &ann_token,
            &json!({"project": gid}),
        ),
        422,
        nothing,
    );
    let options = r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"options","reason":"options_invalid","detail":"options.timezone is not an IANA time zone name."}},"data":{}}"#;
    assert_reply(
        &authed(
            &server,
            "/api/projects/update",
            &ann_token,
            &json!({"project": gid, "options": {"timezone": "Mars/Base"}}),
        ),
        422,
        options,
    );
    // Nothing changed.
    let r = authed(
        &server,
        "/api/projects/get",
        &ann_token,
        &json!({"project": gid}),
    );
    assert_reply(&r, 200, &by_owner.to_string());

    // account/delete of an owner now finds the project
    let r = authed(
        &server,
        "/api/account/delete",
        &ann_token,
        &json!({"confirm": true}),
    );
    let owns = json!({"success": false,
        "result": {"code": 422, "message": "Unprocessable Entity",
                   "info": {"reason": "owns_projects", "projects": [gid]}},
        "data": {}});
    assert_reply(&r, 422, &owns.to_string());
}
on_both_backends!(create_get_and_update_a_project_as_owner_and_as_member);

fn a_deleted_project_is_hidden_from_members_and_refuses_updates(db: &TestDb) {
    let setup = Setup::new(db);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let id = ProjectId::from_random_bytes([88; 16]);
    let owner = Membership {
        project: id,
        user: UserId::parse(&ann).unwrap(),
        status: MembershipStatus::Active,
        roles: vec![Role::Owner],
        notifications: Notifications::default(),
        rate_limit_per_second: None,
        invitation: None,
    };
    crate::support::apply(
        db,
        ChangeSet::new().with(Change::CreateProject {
            project: Project {
                id,
                name: "gone".to_owned(),
                icon: None,
                owner: owner.user,
                status: ProjectStatus::Deleted,
                timezone: "UTC".to_owned(),
                languages: vec!["en".to_owned()],
            },
            owner,
        }),
    );
    let gid = id.to_string();
    add_member(db, &gid, &bob, "bob@example.com");
    let server = setup.start();
    let (ann_token, bob_token) = (login(&server, "ann"), login(&server, "bob"));
    let r = authed(
        &server,
        "/api/projects/get",
        &ann_token,
        &json!({"project": gid}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["data"]["cc.projects"][&gid]["status"], "deleted");
    assert_reply(
        &authed(
            &server,
            "/api/projects/get",
            &bob_token,
            &json!({"project": gid}),
        ),
        403,
        FORBIDDEN,
    );
    assert_reply(
        &authed(
            &server,
            "/api/projects/update",
            &ann_token,
            &json!({"project": gid, "name": "back"}),
        ),
        422,
        &unprocessable("project_deleted"),
    );
}
on_both_backends!(a_deleted_project_is_hidden_from_members_and_refuses_updates);

fn of_eight_parallel_creates_at_a_cap_of_three_exactly_three_succeed(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_PROJECTS_PER_USER", "3");
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = login(&server, "ann");
    let statuses = in_parallel(8, |i| {
        authed(
            &server,
            "/api/projects/create",
            &token,
            &json!({"name": format!("p{i}")}),
        )
    });
    let ok = statuses.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        3,
        "{:?}",
        statuses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in statuses.iter().filter(|r| r.status != 200) {
        assert_reply(r, 422, &unprocessable("too_many_projects"));
    }
    let init = server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(
        init.json()["result"]["user_projects"]
            .as_object()
            .unwrap()
            .len(),
        3
    );
}
on_both_backends!(of_eight_parallel_creates_at_a_cap_of_three_exactly_three_succeed);

fn the_lifecycle_delete_undelete_delete_permanent_delete(db: &TestDb) {
    let setup = Setup::new(db);
    setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let (ann_token, bob_token) = (login(&server, "ann"), login(&server, "bob"));
    let r = authed(
        &server,
        "/api/projects/create",
        &ann_token,
        &json!({"name": "Atlas"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let gid = r.json()["result"]["project"].as_str().unwrap().to_owned();
    let active = r.json()["data"]["cc.projects"].clone();
    add_member(db, &gid, &bob, "bob@example.com");
    let with_status = |status: &str| {
        let mut p = active.clone();
        p[&gid]["status"] = json!(status);
        json!({"success": true, "result": {"project": gid}, "data": {"cc.projects": p}}).to_string()
    };
    let call = |path: &str, token: &str| authed(&server, path, token, &json!({"project": gid}));
    let init = |token: &str| {
        server
            .get_with(
                "/api/init",
                &[("Authorization", &format!("Bearer {token}"))],
            )
            .json()
    };

    // Only the owner may delete; the member keeps access until then.
    assert_reply(&call("/api/projects/delete", &bob_token), 403, FORBIDDEN);
    assert_reply(
        &call("/api/projects/undelete", &ann_token),
        422,
        &unprocessable("project_not_deleted"),
    );
    assert_reply(
        &call("/api/projects/permanent_delete", &ann_token),
        422,
        &unprocessable("project_not_deleted"),
    );
    assert_reply(
        &call("/api/projects/delete", &ann_token),
        200,
        &with_status("deleted"),
    );
    assert_reply(
        &call("/api/projects/delete", &ann_token),
        422,
        &unprocessable("project_deleted"),
    );

    // Deleted: the owner's session lists it outside user_projects; the
    // member sees nothing of it.
    let owner = init(&ann_token);
    assert_eq!(owner["result"]["user_projects"], json!({}));
    assert_eq!(owner["data"]["cc.projects"][&gid]["status"], "deleted");
    let member = init(&bob_token);
    assert_eq!(member["result"]["user_projects"], json!({}));
    assert_eq!(member["data"]["cc.projects"], json!({}));
    assert_reply(&call("/api/projects/get", &bob_token), 403, FORBIDDEN);

    // Undelete gives the member access back.
    assert_reply(
        &call("/api/projects/undelete", &ann_token),
        200,
        &with_status("active"),
    );
    assert_eq!(
        init(&bob_token)["result"]["user_projects"],
        json!({&gid: ["member"]})
    );
    assert_eq!(call("/api/projects/get", &bob_token).status, 200);

    // Delete again, then permanently.
    assert_reply(
        &call("/api/projects/delete", &ann_token),
        200,
        &with_status("deleted"),
    );
    assert_reply(
        &call("/api/projects/permanent_delete", &bob_token),
        403,
        FORBIDDEN,
    );
    assert_reply(
        &call("/api/projects/permanent_delete", &ann_token),
        200,
        r#"{"success":true,"result":{},"data":{}}"#,
    );
    assert_reply(&call("/api/projects/get", &ann_token), 403, FORBIDDEN);
    assert_eq!(init(&ann_token)["data"]["cc.projects"], json!({}));
    // Nothing owned any more: the account can be deleted.
    let r = authed(
        &server,
        "/api/account/delete",
        &ann_token,
        &json!({"confirm": true}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}
on_both_backends!(the_lifecycle_delete_undelete_delete_permanent_delete);

fn transfer_with_recent_auth_to_an_active_member_mails_both_and_leaves_one_owner(db: &TestDb) {
    let smtp = SmtpCapture::start();
    // Every session is stale: the transfer needs `current_password`.
    let setup = Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_REAUTH_SECONDS", "0");
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let cy = setup.add_user("cy", &["cy@example.com"]);
    let server = setup.start();
    let (ann_token, bob_token) = (login(&server, "ann"), login(&server, "bob"));
    let r = authed(
        &server,
        "/api/projects/create",
        &ann_token,
        &json!({"name": "Atlas"}),
    );
    let gid = r.json()["result"]["project"].as_str().unwrap().to_owned();
    add_member(db, &gid, &bob, "bob@example.com");
    add_member(db, &gid, &cy, "cy@example.com");
    let transfer =
        |token: &str, body: Value| authed(&server, "/api/projects/transfer", token, &body);

    let reauth = r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{"reason":"reauthentication_required"}},"data":{}}"#;
    assert_reply(
        &transfer(&ann_token, json!({"project": gid, "user": bob})),
        403,
        reauth,
    );
    assert_reply(
        &transfer(
            &ann_token,
            json!({"project": gid, "user": bob, "current_password": "wrong"}),
        ),
        403,
        reauth,
    );
    // A member is refused before recent auth is even asked for.
    assert_reply(
        &transfer(&bob_token, json!({"project": gid, "user": cy})),
        403,
        FORBIDDEN,
    );
    assert_reply(
        &transfer(
            &ann_token,
            json!({"project": gid, "user": ann, "current_password": PASSWORD}),
        ),
        422,
        &unprocessable("not_a_member"),
    );

    // Parallel transfers to two members: exactly one wins.
    let replies = in_parallel(2, |i| {
        let to = if i == 0 { &bob } else { &cy };
        transfer(
            &ann_token,
            json!({"project": gid, "user": to, "current_password": PASSWORD}),
        )
    });
    let won: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_reply(r, 403, FORBIDDEN);
    }
    let body = won[0].json();
    let owner = body["data"]["cc.projects"][&gid]["owner"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(owner == bob || owner == cy, "{owner}");
    let rows = body["data"]["cc.projects_members"]
        .as_array()
        .unwrap()
        .clone();
    let owners: Vec<_> = rows
        .iter()
        .filter(|r| r["roles"] == json!(["owner"]))
        .collect();
    assert_eq!(owners.len(), 1, "{rows:?}");
    assert_eq!(owners[0]["user_gid"], json!(owner));
    let ann_row = rows.iter().find(|r| r["user_gid"] == json!(ann)).unwrap();
    assert_eq!(ann_row["roles"], json!(["member"]));
    assert_eq!(ann_row["status"], "active");

    // Both got a notice.
    let new_address = if owner == bob {
        "bob@example.com"
    } else {
        "cy@example.com"
    };
    let received = smtp.wait_for(MAIL_WAIT, |m| m.is_to(new_address));
    assert!(received.subject.contains("Atlas"), "{:?}", received.subject);
    let given = smtp.wait_for(MAIL_WAIT, |m| m.is_to("ann@example.com"));
    assert!(given.subject.contains("Atlas"), "{:?}", given.subject);
    assert_ne!(received.subject, given.subject);

    // The old owner is a member now: owner-only routes refuse them.
    assert_reply(
        &authed(
            &server,
            "/api/projects/update",
            &ann_token,
            &json!({"project": gid, "name": "X"}),
        ),
        403,
        FORBIDDEN,
    );
}
on_both_backends!(transfer_with_recent_auth_to_an_active_member_mails_both_and_leaves_one_owner);

fn transfer_to_a_member_at_the_cap_or_of_a_deleted_project_answers_its_reason(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_PROJECTS_PER_USER", "1");
    setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let (ann_token, bob_token) = (login(&server, "ann"), login(&server, "bob"));
    let create = |token: &str| {
        let r = authed(&server, "/api/projects/create", token, &json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["result"]["project"].as_str().unwrap().to_owned()
    };
    let atlas = create(&ann_token);
    create(&bob_token);
    add_member(db, &atlas, &bob, "bob@example.com");
    let transfer = || {
        authed(
            &server,
            "/api/projects/transfer",
            &ann_token,
            &json!({"project": atlas, "user": bob}),
        )
    };
    assert_reply(&transfer(), 422, &unprocessable("too_many_projects"));
    let r = authed(
        &server,
        "/api/projects/delete",
        &ann_token,
        &json!({"project": atlas}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_reply(&transfer(), 422, &unprocessable("project_deleted"));
}
on_both_backends!(transfer_to_a_member_at_the_cap_or_of_a_deleted_project_answers_its_reason);
