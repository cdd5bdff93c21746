//! End-to-end tests of the owner's side of members and invitations
//! (`p/{project}/members/invite`, `resend_invite`, `remove`, both forms of
//! `members/get`) through the real binary with a real SMTP listener, on
//! both backends.

use crate::support::{Reply, Server, Setup, TestDb};
use accountd_domain::{
    Change, ChangeSet, Invitation, MacKey, Membership, MembershipStatus, Notifications, ProjectId,
    Role, Timestamp, UserId,
};
use accountd_testkit::{email, in_parallel, SmtpCapture, MAIL_WAIT, PASSWORD};
use serde_json::{json, Value};

const FORBIDDEN: &str =
    r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{}},"data":{}}"#;
const UNPROCESSABLE: &str = r#"{"success":false,"result":{"code":422,"message":"Unprocessable Entity","info":{}},"data":{}}"#;
const PUBLIC_URL: &str = "https://accounts.example.com";

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

fn unprocessable(reason: &str) -> String {
    json!({"success": false,
           "result": {"code": 422, "message": "Unprocessable Entity", "info": {"reason": reason}},
           "data": {}})
    .to_string()
}

fn validation(reason: &str, detail: &str) -> String {
    json!({"success": false,
           "result": {"code": 1001, "message": "Validation error",
                      "info": {"field": "username_or_email", "reason": reason, "detail": detail}},
           "data": {}})
    .to_string()
}

fn short(gid: &str, username: Option<&str>, status: &str) -> Value {
    json!({"gid": gid, "username": username, "name": "", "avatar": null, "status": status})
}

fn complete(gid: &str, username: &str) -> Value {
    json!({"gid": gid, "username": username, "email": format!("{username}@example.com"),
           "name": "", "avatar": null, "status": "active",
           "options": {"language": "en", "timezone": "Europe/Amsterdam"}})
}

fn row(project: &str, user: &str, status: &str, role: &str, address: Option<&str>) -> Value {
    json!({"project_gid": project, "user_gid": user, "status": status, "roles": [role],
           "options": {"notifications": {"email": address, "events": ["all"], "frequency": "immediate"},
                       "rate_limit_per_second": null}})
}

/// The answer of invite and resend_invite.
fn invited(project: &str, user: &str, username: Option<&str>, address: &str) -> String {
    let status = if username.is_some() {
        "active"
    } else {
        "invited"
    };
    json!({"success": true, "result": {"user": user},
           "data": {"cc.users": {user: short(user, username, status)},
                    "cc.projects_members": [row(project, user, "invited", "member", Some(address))]}})
    .to_string()
}

fn create(server: &Server, token: &str, name: &str) -> String {
    let r = authed(
        server,
        "/api/projects/create",
        token,
        &json!({"name": name}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["result"]["project"].as_str().unwrap().to_owned()
}

fn invite(server: &Server, token: &str, project: &str, who: &str) -> Reply {
    authed(
        server,
        &format!("/api/p/{project}/members/invite"),
        token,
        &json!({"username_or_email": who}),
    )
}

fn member_call(server: &Server, token: &str, project: &str, route: &str, user: &str) -> Reply {
    authed(
        server,
        &format!("/api/p/{project}/members/{route}"),
        token,
        &json!({"user": user}),
    )
}

fn gid_of(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["result"]["user"].as_str().unwrap().to_owned()
}

/// The decline link of an invitation mail to `invitee` into `project`:
/// the token, 43 URL-safe characters.
fn decline_token(text: &str, invitee: &str, project: &str) -> String {
    let prefix = format!("{PUBLIC_URL}/invite/decline?invitee={invitee}&project={project}&token=");
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no decline link {prefix} in:\n{text}"));
    let token = &line[prefix.len()..];
    assert_eq!(token.len(), 43, "{line}");
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    token.to_owned()
}

/// Sets `user`'s invited row of `project` to `declined` through the adapter
/// (declining is another route's).
fn decline_through_the_adapter(db: &TestDb, project: &str, user: &str, inviter: &str) {
    let membership = Membership {
        project: ProjectId::parse(project).unwrap(),
        user: UserId::parse(user).unwrap(),
        status: MembershipStatus::Declined,
        roles: vec![Role::Member],
        notifications: Notifications {
            email: Some(email("bob@example.com")),
            ..Notifications::default()
        },
        rate_limit_per_second: None,
        invitation: Some(Invitation::issue(
            &MacKey::from_bytes([0; 32]),
            "t",
            UserId::parse(inviter).unwrap(),
            Timestamp::from_millis(0),
            60,
        )),
    };
    crate::support::apply(
        db,
        ChangeSet::new().with(Change::PutMembership {
            membership,
            expected: Some(MembershipStatus::Invited),
        }),
    );
}

fn invite_by_username_and_by_email_mails_the_decline_link_and_shares_one_placeholder(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_PUBLIC_URL", PUBLIC_URL);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let (ann_token, bob_token) = (login(&server, "ann"), login(&server, "bob"));
    let atlas = create(&server, &ann_token, "Atlas");
    let zephyr = create(&server, &ann_token, "Zephyr");

    // By username, case-sensitively.
    assert_reply(
        &invite(&server, &ann_token, &atlas, "Bob"),
        422,
        &unprocessable("user_not_found"),
    );
    let r = invite(&server, &ann_token, &atlas, "bob");
    assert_reply(
        &r,
        200,
        &invited(&atlas, &bob, Some("bob"), "bob@example.com"),
    );
    let mail = smtp.wait_for(MAIL_WAIT, |m| m.is_to("bob@example.com"));
    assert_eq!(mail.subject, "ann invites you to the project Atlas");
    assert!(mail.text.contains("log in"), "{}", mail.text);
    decline_token(&mail.text, &bob, &atlas);

    // By email: no account holds it, so a placeholder.
    let r = invite(&server, &ann_token, &atlas, "New.Person@example.com");
    let placeholder = gid_of(&r);
    assert_reply(
        &r,
        200,
        &invited(&atlas, &placeholder, None, "New.Person@example.com"),
    );
    let mail = smtp.wait_for(MAIL_WAIT, |m| m.is_to("new.person@example.com"));
    assert_eq!(mail.subject, "ann invites you to the project Atlas");
    assert!(
        mail.text
            .contains("sign up with this address (New.Person@example.com)"),
        "{}",
        mail.text
    );
    let first_token = decline_token(&mail.text, &placeholder, &atlas);

    // Another project, the address spelt otherwise: the same placeholder,
    // with its stored spelling.
    let r = invite(&server, &ann_token, &zephyr, "new.person@EXAMPLE.com");
    assert_reply(
        &r,
        200,
        &invited(&zephyr, &placeholder, None, "New.Person@example.com"),
    );
    let mails = smtp.wait_for_n(2, MAIL_WAIT, |m| m.is_to("new.person@example.com"));
    assert_eq!(mails[1].subject, "ann invites you to the project Zephyr");
    decline_token(&mails[1].text, &placeholder, &zephyr);

    // A placeholder's mail is in the project's first language with
    // templates; an account's in its own language.
    let r = authed(
        &server,
        "/api/projects/create",
        &ann_token,
        &json!({"name": "Noord", "options": {"languages": ["nl", "en"]}}),
    );
    let noord = r.json()["result"]["project"].as_str().unwrap().to_owned();
    let dutch = gid_of(&invite(&server, &ann_token, &noord, "piet@example.com"));
    let mail = smtp.wait_for(MAIL_WAIT, |m| m.is_to("piet@example.com"));
    assert_eq!(mail.subject, "ann nodigt je uit voor het project Noord");
    decline_token(&mail.text, &dutch, &noord);
    assert_eq!(invite(&server, &ann_token, &noord, "bob").status, 200);
    let mails = smtp.wait_for_n(2, MAIL_WAIT, |m| m.is_to("bob@example.com"));
    assert_eq!(mails[1].subject, "ann invites you to the project Noord");

    // By email of an account: that account.
    let r = invite(&server, &ann_token, &zephyr, "BOB@example.com");
    assert_reply(
        &r,
        200,
        &invited(&zephyr, &bob, Some("bob"), "bob@example.com"),
    );

    // Resend: a new token in a new mail.
    let r = member_call(&server, &ann_token, &atlas, "resend_invite", &placeholder);
    assert_reply(
        &r,
        200,
        &invited(&atlas, &placeholder, None, "New.Person@example.com"),
    );
    let mails = smtp.wait_for_n(3, MAIL_WAIT, |m| m.is_to("new.person@example.com"));
    let second_token = decline_token(&mails[2].text, &placeholder, &atlas);
    assert_ne!(first_token, second_token);

    // members/get, both forms.
    let r = authed(
        &server,
        "/api/members/get",
        &ann_token,
        &json!({"project": atlas, "member": bob}),
    );
    let want = json!({"success": true, "result": {"user": bob},
        "data": {"cc.users": {&bob: short(&bob, Some("bob"), "active")},
                 "cc.projects_members": [row(&atlas, &bob, "invited", "member", Some("bob@example.com"))]}});
    assert_reply(&r, 200, &want.to_string());
    let r = authed(
        &server,
        &format!("/api/p/{atlas}/members/get"),
        &ann_token,
        &json!({"members": [placeholder, ann, placeholder, bob]}),
    );
    let want = json!({"success": true, "result": {"users": [placeholder, ann, bob]},
        "data": {"cc.users": {&placeholder: short(&placeholder, None, "invited"),
                              &ann: complete(&ann, "ann"),
                              &bob: short(&bob, Some("bob"), "active")},
                 "cc.projects_members": [
                     row(&atlas, &placeholder, "invited", "member", Some("New.Person@example.com")),
                     row(&atlas, &ann, "active", "owner", Some("ann@example.com")),
                     row(&atlas, &bob, "invited", "member", Some("bob@example.com"))]}});
    assert_reply(&r, 200, &want.to_string());
    // An invited user sees their own row and the owner's (without its
    // address), nobody else's.
    let r = authed(
        &server,
        &format!("/api/p/{atlas}/members/get"),
        &bob_token,
        &json!({"members": [ann, bob]}),
    );
    let want = json!({"success": true, "result": {"users": [ann, bob]},
        "data": {"cc.users": {&ann: short(&ann, Some("ann"), "active"),
                              &bob: complete(&bob, "bob")},
                 "cc.projects_members": [
                     row(&atlas, &ann, "active", "owner", None),
                     row(&atlas, &bob, "invited", "member", Some("bob@example.com"))]}});
    assert_reply(&r, 200, &want.to_string());
    assert_reply(
        &authed(
            &server,
            &format!("/api/p/{atlas}/members/get"),
            &bob_token,
            &json!({"members": [bob, placeholder]}),
        ),
        422,
        UNPROCESSABLE,
    );
    assert_reply(
        &authed(
            &server,
            &format!("/api/p/{atlas}/members/get"),
            &bob_token,
            &json!({"member": placeholder}),
        ),
        422,
        UNPROCESSABLE,
    );
    // The invited user is not the owner.
    assert_reply(&invite(&server, &bob_token, &atlas, "ann"), 403, FORBIDDEN);
}
on_both_backends!(
    invite_by_username_and_by_email_mails_the_decline_link_and_shares_one_placeholder
);

fn every_refusal_of_invite_resend_and_remove_answers_its_reason(db: &TestDb) {
    let setup = Setup::new(db);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    setup.add_user("cy", &["shared@example.com"]);
    setup.add_user("dee", &["Shared@example.com"]);
    let server = setup.start();
    let (ann_token, bob_token) = (login(&server, "ann"), login(&server, "bob"));
    let atlas = create(&server, &ann_token, "Atlas");
    let unknown = "7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d";

    assert_reply(
        &invite(&server, &ann_token, &atlas, "shared@example.com"),
        422,
        &validation(
            "email_ambiguous",
            "Several accounts have this address; invite by username.",
        ),
    );
    let r = invite(&server, &ann_token, &atlas, "no-domain@");
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["result"]["code"], 1001);
    assert_eq!(r.json()["result"]["info"]["reason"], "email_invalid");
    assert_reply(
        &invite(&server, &ann_token, &atlas, "nobody"),
        422,
        &unprocessable("user_not_found"),
    );
    assert_reply(
        &invite(&server, &ann_token, &atlas, "ann"),
        422,
        &unprocessable("already_member"),
    );
    assert_eq!(invite(&server, &ann_token, &atlas, "bob").status, 200);
    assert_reply(
        &invite(&server, &ann_token, &atlas, "bob"),
        422,
        &unprocessable("already_invited"),
    );
    decline_through_the_adapter(db, &atlas, &bob, &ann);
    assert_reply(
        &invite(&server, &ann_token, &atlas, "bob"),
        422,
        &unprocessable("invite_declined"),
    );
    // A declined row may be resent; an active one or none may not.
    assert_reply(
        &member_call(&server, &ann_token, &atlas, "resend_invite", &bob),
        200,
        &invited(&atlas, &bob, Some("bob"), "bob@example.com"),
    );
    for user in [&ann, unknown] {
        assert_reply(
            &member_call(&server, &ann_token, &atlas, "resend_invite", user),
            422,
            UNPROCESSABLE,
        );
    }
    // remove: the owner's own row, and no row.
    assert_reply(
        &member_call(&server, &ann_token, &atlas, "remove", &ann),
        422,
        &unprocessable("owner_cannot_leave"),
    );
    assert_reply(
        &member_call(&server, &ann_token, &atlas, "remove", unknown),
        422,
        UNPROCESSABLE,
    );
    // Not the owner, an unknown project, a path that is no gid.
    assert_reply(&invite(&server, &bob_token, &atlas, "cy"), 403, FORBIDDEN);
    assert_reply(
        &member_call(&server, &bob_token, &atlas, "resend_invite", &bob),
        403,
        FORBIDDEN,
    );
    assert_reply(&invite(&server, &ann_token, unknown, "bob"), 403, FORBIDDEN);
    assert_reply(
        &invite(&server, &ann_token, "not-a-gid", "bob"),
        400,
        r#"{"success":false,"result":{"code":400,"message":"Bad request","info":{"parameter":"project","reason":"invalid_value"}},"data":{}}"#,
    );
    // A deleted project: its 422 before anything about the invitee.
    let r = authed(
        &server,
        "/api/projects/delete",
        &ann_token,
        &json!({"project": atlas}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for who in ["cy", "nobody", "new@example.com", "bob"] {
        assert_reply(
            &invite(&server, &ann_token, &atlas, who),
            422,
            &unprocessable("project_deleted"),
        );
    }
    assert_reply(
        &member_call(&server, &ann_token, &atlas, "resend_invite", &bob),
        422,
        &unprocessable("project_deleted"),
    );
    // ... and the invited user removing their own row is leaving it: 422
    // as account/leave_project answers.
    assert_reply(
        &member_call(&server, &bob_token, &atlas, "remove", &bob),
        422,
        &unprocessable("project_deleted"),
    );
}
on_both_backends!(every_refusal_of_invite_resend_and_remove_answers_its_reason);

fn parallel_invites_of_one_address_make_one_row(db: &TestDb) {
    let setup = Setup::new(db);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = login(&server, "ann");
    let atlas = create(&server, &token, "Atlas");
    let replies = in_parallel(8, |_| invite(&server, &token, &atlas, "rush@example.com"));
    let ok: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 1, "{replies:#?}");
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_reply(r, 422, &unprocessable("already_invited"));
    }
    let placeholder = gid_of(ok[0]);
    let r = authed(
        &server,
        "/api/projects/get",
        &token,
        &json!({"project": atlas}),
    );
    let rows = r.json()["data"]["cc.projects_members"].clone();
    let mut users: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user_gid"].as_str().unwrap())
        .collect();
    users.sort_unstable();
    let mut want = vec![ann.as_str(), placeholder.as_str()];
    want.sort_unstable();
    assert_eq!(users, want);
    // A second project invites the same placeholder.
    let zephyr = create(&server, &token, "Zephyr");
    let r = invite(&server, &token, &zephyr, "RUSH@example.com");
    assert_eq!(gid_of(&r), placeholder);
}
on_both_backends!(parallel_invites_of_one_address_make_one_row);

fn parallel_invites_past_the_pending_cap_stop_at_the_cap(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_PENDING_INVITES_PER_PROJECT", "3");
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = login(&server, "ann");
    let atlas = create(&server, &token, "Atlas");
    let replies = in_parallel(8, |i| {
        invite(&server, &token, &atlas, &format!("guest{i}@example.com"))
    });
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 3, "{replies:#?}");
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_reply(r, 422, &unprocessable("too_many_pending_invites"));
    }
    assert_reply(
        &invite(&server, &token, &atlas, "late@example.com"),
        422,
        &unprocessable("too_many_pending_invites"),
    );
}
on_both_backends!(parallel_invites_past_the_pending_cap_stop_at_the_cap);

fn the_invitation_limits_answer_429_and_count_no_refused_call(db: &TestDb) {
    let setup = Setup::new(db)
        .env("ACCOUNTD_INVITES_PER_HOUR", "3")
        .env("ACCOUNTD_INVITES_PER_RECIPIENT_PER_HOUR", "2");
    setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    setup.add_user("cy", &["cy@example.com"]);
    let server = setup.start();
    let token = login(&server, "ann");
    let atlas = create(&server, &token, "Atlas");
    // Bob: two of two for the recipient; the inviter: two of three.
    assert_eq!(invite(&server, &token, &atlas, "bob").status, 200);
    let resend = || member_call(&server, &token, &atlas, "resend_invite", &bob);
    assert_eq!(resend().status, 200);
    let r = resend();
    assert_eq!(r.status, 429, "{}", r.body);
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_reply(
        &r,
        429,
        &format!(
            r#"{{"success":false,"result":{{"code":429,"message":"Too many requests","info":{{"retry_after":{retry}}}}},"data":{{}}}}"#
        ),
    );
    // The refused resend was not counted for the inviter: one left.
    assert_eq!(invite(&server, &token, &atlas, "cy").status, 200);
    // The inviter's limit is full now; an unknown username is refused
    // 429 too, as it would have counted.
    let r = invite(&server, &token, &atlas, "nobody");
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
}
on_both_backends!(the_invitation_limits_answer_429_and_count_no_refused_call);

fn an_unknown_username_counts_against_the_inviters_limit(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_INVITES_PER_HOUR", "2");
    setup.add_user("ann", &["ann@example.com"]);
    setup.add_user("bob", &["bob@example.com"]);
    let server = setup.start();
    let token = login(&server, "ann");
    let atlas = create(&server, &token, "Atlas");
    for _ in 0..2 {
        assert_reply(
            &invite(&server, &token, &atlas, "nobody"),
            422,
            &unprocessable("user_not_found"),
        );
    }
    let r = invite(&server, &token, &atlas, "bob");
    assert_eq!(r.status, 429, "{}", r.body);
}
on_both_backends!(an_unknown_username_counts_against_the_inviters_limit);

fn remove_deletes_a_placeholder_left_with_no_row_and_lets_a_member_leave(db: &TestDb) {
    let setup = Setup::new(db);
    setup.add_user("ann", &["ann@example.com"]);
    let bob = setup.add_user("bob", &["bob@example.com"]);
    let cy = setup.add_user("cy", &["cy@example.com"]);
    let server = setup.start();
    let (ann_token, bob_token) = (login(&server, "ann"), login(&server, "bob"));
    let atlas = create(&server, &ann_token, "Atlas");
    let zephyr = create(&server, &ann_token, "Zephyr");
    let placeholder = gid_of(&invite(&server, &ann_token, &atlas, "ghost@example.com"));
    assert_eq!(
        gid_of(&invite(&server, &ann_token, &zephyr, "ghost@example.com")),
        placeholder
    );
    let removed = r#"{"success":true,"result":{},"data":{}}"#;
    // Still in Zephyr: the placeholder stays.
    assert_reply(
        &member_call(&server, &ann_token, &atlas, "remove", &placeholder),
        200,
        removed,
    );
    assert_eq!(
        gid_of(&invite(&server, &ann_token, &atlas, "ghost@example.com")),
        placeholder
    );
    // Left with no row: deleted, so the next invite makes a new one.
    for project in [&atlas, &zephyr] {
        assert_reply(
            &member_call(&server, &ann_token, project, "remove", &placeholder),
            200,
            removed,
        );
    }
    let again = gid_of(&invite(&server, &ann_token, &atlas, "ghost@example.com"));
    assert_ne!(again, placeholder);
    assert_reply(
        &member_call(&server, &ann_token, &atlas, "remove", &placeholder),
        422,
        UNPROCESSABLE,
    );

    // An invited user may remove their own row, not another's.
    assert_eq!(invite(&server, &ann_token, &atlas, "bob").status, 200);
    assert_eq!(invite(&server, &ann_token, &atlas, "cy").status, 200);
    assert_reply(
        &member_call(&server, &bob_token, &atlas, "remove", &cy),
        403,
        FORBIDDEN,
    );
    assert_reply(
        &member_call(&server, &bob_token, &atlas, "remove", &bob),
        200,
        removed,
    );
    // Removed: the project is hidden from bob again.
    assert_reply(
        &authed(
            &server,
            "/api/members/get",
            &bob_token,
            &json!({"project": atlas, "member": bob}),
        ),
        403,
        FORBIDDEN,
    );

    // A declined row is hidden from its user, who may still remove it
    // (spec section 6); then the owner no longer sees it.
    let cy_token = login(&server, "cy");
    let r = authed(
        &server,
        "/api/account/decline_invite",
        &cy_token,
        &json!({"project": atlas}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_reply(
        &member_call(&server, &cy_token, &atlas, "remove", &cy),
        200,
        removed,
    );
    assert_reply(
        &member_call(&server, &ann_token, &atlas, "remove", &cy),
        422,
        UNPROCESSABLE,
    );
}
on_both_backends!(remove_deletes_a_placeholder_left_with_no_row_and_lets_a_member_leave);
