//! The whole life of an invitation through the real routes only (no state
//! written through the adapter), on both backends with the real SMTP
//! listener: invite by email (a placeholder), decline by the mail's link,
//! resend after the decline (the old link dies), sign-up claiming the
//! invitation, accept, transfer to the new member, the old owner leaving,
//! and the new owner unable to leave.

use crate::support::{Reply, Server, Setup, TestDb};
use accountd_testkit::{SmtpCapture, MAIL_WAIT, PASSWORD, STRONG};
use serde_json::{json, Value};

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

/// The token of the decline link for `invitee` in `text`.
fn link_token(text: &str, invitee: &str, project: &str) -> String {
    let prefix = format!("{PUBLIC_URL}/invite/decline?invitee={invitee}&project={project}&token=");
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no decline link {prefix} in:\n{text}"));
    line[prefix.len()..].to_owned()
}

fn row_status(r: &Reply, user: &str) -> Option<String> {
    r.json()["data"]["cc.projects_members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_gid"] == json!(user))
        .map(|m| m["status"].as_str().unwrap().to_owned())
}

fn an_invitation_lives_its_whole_life_through_the_routes(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db)
        .smtp(smtp.port)
        .env("ACCOUNTD_PUBLIC_URL", PUBLIC_URL);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let ann_token = login(&server, "ann");
    let r = authed(
        &server,
        "/api/projects/create",
        &ann_token,
        &json!({"name": "Atlas"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let atlas = r.json()["result"]["project"].as_str().unwrap().to_owned();
    let invite = |who: &str| {
        authed(
            &server,
            &format!("/api/p/{atlas}/members/invite"),
            &ann_token,
            &json!({"username_or_email": who}),
        )
    };

    // Invite an address nobody holds: a placeholder, and a mail.
    let r = invite("dana@example.com");
    assert_eq!(r.status, 200, "{}", r.body);
    let placeholder = r.json()["result"]["user"].as_str().unwrap().to_owned();
    let mail = smtp.wait_for(MAIL_WAIT, |m| m.is_to("dana@example.com"));
    assert_eq!(mail.subject, "ann invites you to the project Atlas");
    let first = link_token(&mail.text, &placeholder, &atlas);

    // Declined by the mail's link, without a session.
    let link = json!({"invitee": placeholder, "project": atlas, "token": first});
    let r = server.post_json("/api/decline_invite", &link);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(row_status(&r, &placeholder).as_deref(), Some("declined"));
    assert_eq!(
        invite("dana@example.com").json()["result"]["info"]["reason"],
        json!("invite_declined")
    );

    // Resent after the decline: a new mail, and the first link is dead.
    let r = authed(
        &server,
        &format!("/api/p/{atlas}/members/resend_invite"),
        &ann_token,
        &json!({"user": placeholder}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let mails = smtp.wait_for_n(2, MAIL_WAIT, |m| m.is_to("dana@example.com"));
    let second = link_token(&mails[1].text, &placeholder, &atlas);
    assert_ne!(first, second);
    assert_eq!(server.post_json("/api/decline_invite", &link).status, 422);
    let r = server.post_json(
        "/api/init_invite",
        &json!({"invitee": placeholder, "project": atlas, "token": second}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(row_status(&r, &placeholder).as_deref(), Some("invited"));

    // Dana signs up with the address: the invitation is hers, still
    // invited, and the placeholder is gone.
    let r = server.post_json(
        "/api/signup_request",
        &json!({"username": "dana", "password": STRONG, "email": "dana@example.com"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let validation_code = r.json()["result"]["validation_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = smtp
        .wait_for(MAIL_WAIT, |m| {
            m.is_signup_mail() && m.is_to("dana@example.com")
        })
        .unicat_code();
    let r = server.post_json(
        "/api/signup",
        &json!({"username": "dana", "password": STRONG, "email": "dana@example.com",
                "validation_code": validation_code, "verification_code": code}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let dana = r.json()["result"]["user"].as_str().unwrap().to_owned();
    let dana_token = r.header("authorization").expect("a token");
    assert_ne!(dana, placeholder);
    assert_eq!(row_status(&r, &dana).as_deref(), Some("invited"));
    assert_eq!(r.json()["result"]["user_projects"], json!({}));
    let r = authed(
        &server,
        "/api/users/get",
        &ann_token,
        &json!({"user": placeholder}),
    );
    assert_eq!(r.status, 422, "the placeholder is gone: {}", r.body);

    // Accepted: Dana is a member.
    let r = authed(
        &server,
        "/api/account/accept_invite",
        &dana_token,
        &json!({"project": atlas}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(row_status(&r, &dana).as_deref(), Some("active"));
    let r = server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {dana_token}"))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["result"]["user_projects"],
        json!({ &atlas: ["member"] })
    );

    // Transferred to Dana; Ann stays as a member and may leave, Dana may not.
    let r = authed(
        &server,
        "/api/projects/transfer",
        &ann_token,
        &json!({"project": atlas, "user": dana}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["data"]["cc.projects"][&atlas]["owner"],
        json!(dana)
    );
    let leave = |token: &str| {
        authed(
            &server,
            "/api/account/leave_project",
            token,
            &json!({"project": atlas}),
        )
    };
    let r = leave(&dana_token);
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.json()["result"]["info"]["reason"],
        json!("owner_cannot_leave")
    );
    assert_eq!(leave(&ann_token).status, 200);
    let r = authed(
        &server,
        "/api/projects/get",
        &dana_token,
        &json!({"project": atlas}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(row_status(&r, &ann), None, "Ann left");
    assert_eq!(row_status(&r, &dana).as_deref(), Some("active"));
}
on_both_backends!(an_invitation_lives_its_whole_life_through_the_routes);
