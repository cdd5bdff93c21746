//! End-to-end tests of "Sign-up claims invitations" (spec section 5)
//! through the real binary, on both backends: a placeholder with an
//! unexpired and an expired invitation (written through the adapter), then
//! sign-ups of its address through the real routes with the code from the
//! real SMTP listener.

use crate::support::{Reply, Server, Setup, TestDb};
use accountd_domain::{
    Change, ChangeSet, Invitation, Membership, MembershipStatus, Notifications, Project, ProjectId,
    ProjectStatus, Role, Timestamp, User, UserId, UserStatus,
};
use accountd_testkit::{email, key, SmtpCapture, MAIL_WAIT, STRONG};
use serde_json::{json, Value};

const ATLAS: [u8; 16] = [0x31; 16];
const ZEPHYR: [u8; 16] = [0x32; 16];
const PLACEHOLDER: [u8; 16] = [0x41; 16];

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// Two projects of `owner` (Atlas, Zephyr) and a placeholder of `address`
/// invited to Atlas for a week from now and to Zephyr with an invitation
/// that expired long ago. Returns the placeholder's gid.
fn invitations_for(db: &TestDb, owner: &str, address: &str) -> String {
    let owner = UserId::parse(owner).unwrap();
    let placeholder = User {
        id: UserId::from_random_bytes(PLACEHOLDER),
        username: None,
        emails: vec![email(address)],
        status: UserStatus::Invited,
        credential_version: 1,
        password_hash: None,
        name: String::new(),
        language: "en".to_owned(),
        timezone: "UTC".to_owned(),
        created_at: Timestamp::from_millis(0),
    };
    let mut set = ChangeSet::new().with(Change::CreatePlaceholder(placeholder.clone()));
    for (bytes, name, sent, ttl) in [
        (ATLAS, "Atlas", now_ms(), 7 * 86_400),
        (ZEPHYR, "Zephyr", 1_000, 60),
    ] {
        let project = Project {
            id: ProjectId::from_random_bytes(bytes),
            name: name.to_owned(),
            icon: None,
            owner,
            status: ProjectStatus::Active,
            timezone: "UTC".to_owned(),
            languages: vec!["en".to_owned()],
        };
        let row = |user, status, role, address: &str| Membership {
            project: project.id,
            user,
            status,
            roles: vec![role],
            notifications: Notifications {
                email: Some(email(address)),
                ..Notifications::default()
            },
            rate_limit_per_second: None,
            invitation: None,
        };
        set = set
            .with(Change::CreateProject {
                project: project.clone(),
                owner: row(
                    owner,
                    MembershipStatus::Active,
                    Role::Owner,
                    "ann@example.com",
                ),
            })
            .with(Change::PutMembership {
                membership: Membership {
                    invitation: Some(Invitation::issue(
                        &key(),
                        "an invitation token",
                        owner,
                        Timestamp::from_millis(sent),
                        ttl,
                    )),
                    ..row(
                        placeholder.id,
                        MembershipStatus::Invited,
                        Role::Member,
                        address,
                    )
                },
                expected: None,
            });
    }
    crate::support::apply(db, set);
    placeholder.id.to_string()
}

fn gid(bytes: [u8; 16]) -> String {
    ProjectId::from_random_bytes(bytes).to_string()
}

/// Both sign-up steps for `username` and `address`, the code read from the
/// mail addressed to `username`.
fn sign_up(server: &Server, smtp: &SmtpCapture, username: &str, address: &str) -> Reply {
    let r = server.post_json(
        "/api/signup_request",
        &json!({"username": username, "password": STRONG, "email": address}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let validation_code = r.json()["result"]["validation_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let greeting = format!("Hello {username},");
    let code = smtp
        .wait_for(MAIL_WAIT, |m| {
            m.is_signup_mail() && m.is_to(address) && m.text.starts_with(&greeting)
        })
        .unicat_code();
    server.post_json(
        "/api/signup",
        &json!({"username": username, "password": STRONG, "email": address,
                "validation_code": validation_code, "verification_code": code}),
    )
}

fn complete(gid: &str, username: &str, address: &str) -> Value {
    json!({"gid": gid, "username": username, "email": address, "name": "", "avatar": null,
           "status": "active", "options": {"language": "en", "timezone": "Europe/Amsterdam"}})
}

fn short(gid: &str, username: &str) -> Value {
    json!({"gid": gid, "username": username, "name": "", "avatar": null, "status": "active"})
}

fn row(project: &str, user: &str, status: &str, role: &str, address: Option<&str>) -> Value {
    json!({"project_gid": project, "user_gid": user, "status": status, "roles": [role],
           "options": {"notifications": {"email": address, "events": ["all"], "frequency": "immediate"},
                       "rate_limit_per_second": null}})
}

/// The user gid of a successful session answer, after checking its token.
fn session_user(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("authorization").is_some(), "a fresh token");
    r.json()["result"]["user"].as_str().unwrap().to_owned()
}

/// The session payload of `user` holding the claimed Atlas invitation:
/// Atlas in the short form, the user's invited row and Ann's owner row
/// (no address), Ann in the short form, no `user_projects`.
fn claimed_payload(r: &Reply, user: &str, username: &str, address: &str, ann: &str) -> String {
    let atlas = gid(ATLAS);
    let mut users = serde_json::Map::new();
    users.insert(user.to_owned(), complete(user, username, address));
    users.insert(ann.to_owned(), short(ann, "ann"));
    json!({"success": true, "result": {"user": user, "user_projects": {}},
           "data": {"cc.users": users,
                    "cc.projects": {&atlas: {"gid": atlas, "name": "Atlas", "icon": null,
                                             "owner": ann, "status": "active"}},
                    "cc.projects_members": [
                        row(&atlas, user, "invited", "member", Some(address)),
                        row(&atlas, ann, "active", "owner", None)],
                    "cc.languages": r.json()["data"]["cc.languages"].clone()}})
    .to_string()
}

/// The session payload of a user with nothing claimed.
fn empty_payload(r: &Reply, user: &str, username: &str, address: &str) -> String {
    json!({"success": true, "result": {"user": user, "user_projects": {}},
           "data": {"cc.users": {user: complete(user, username, address)},
                    "cc.projects": {}, "cc.projects_members": [],
                    "cc.languages": r.json()["data"]["cc.languages"].clone()}})
    .to_string()
}

fn login(server: &Server, username: &str) -> String {
    let r = server.post_json(
        "/api/login",
        &json!({"username": username, "password": accountd_testkit::PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("authorization").unwrap()
}

fn authed(server: &Server, path: &str, token: &str, body: &Value) -> Reply {
    server.post_json_with(path, body, &[("Authorization", &format!("Bearer {token}"))])
}

fn a_sign_up_claims_the_live_invitation_of_its_address_and_a_later_one_none(db: &TestDb) {
    let smtp = SmtpCapture::start();
    let setup = Setup::new(db).smtp(smtp.port);
    let ann = setup.add_user("ann", &["ann@example.com"]);
    let placeholder = invitations_for(db, &ann, "frank@example.com");
    let server = setup.start();

    // The address in another case: it is compared case-insensitively.
    let r = sign_up(&server, &smtp, "frank", "Frank@Example.com");
    let frank = session_user(&r);
    assert_eq!(
        r.body,
        claimed_payload(&r, &frank, "frank", "Frank@Example.com", &ann)
    );

    // init shows the same, with the version.
    let token = r.header("authorization").unwrap();
    let init = server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(init.status, 200, "{}", init.body);
    let body = init.json();
    assert_eq!(body["result"]["user_projects"], json!({}));
    assert_eq!(body["data"], r.json()["data"]);

    // The owner sees the claimed row in Atlas; the expired invitation went
    // with the placeholder, which is gone.
    let ann_token = login(&server, "ann");
    let (atlas, zephyr) = (gid(ATLAS), gid(ZEPHYR));
    let got = authed(
        &server,
        "/api/projects/get",
        &ann_token,
        &json!({"project": zephyr}),
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.json()["data"]["cc.projects_members"],
        json!([row(
            &zephyr,
            &ann,
            "active",
            "owner",
            Some("ann@example.com")
        )])
    );
    let got = authed(
        &server,
        "/api/projects/get",
        &ann_token,
        &json!({"project": atlas}),
    );
    let mut members: Vec<Value> = got.json()["data"]["cc.projects_members"]
        .as_array()
        .unwrap()
        .clone();
    members.sort_by_key(|m| m["user_gid"].as_str().unwrap().to_owned());
    let mut want = vec![
        row(&atlas, &ann, "active", "owner", Some("ann@example.com")),
        // The claimed row notifies the account's address as spelt at
        // sign-up: a row's notification address follows the primary one.
        row(
            &atlas,
            &frank,
            "invited",
            "member",
            Some("Frank@Example.com"),
        ),
    ];
    want.sort_by_key(|m| m["user_gid"].as_str().unwrap().to_owned());
    assert_eq!(members, want);
    let gone = authed(
        &server,
        "/api/users/get",
        &ann_token,
        &json!({"user": placeholder}),
    );
    assert_eq!(gone.status, 422, "{}", gone.body);

    // A later account of the address claims nothing.
    let r = sign_up(&server, &smtp, "frank2", "frank@example.com");
    let second = session_user(&r);
    assert_eq!(
        r.body,
        empty_payload(&r, &second, "frank2", "frank@example.com")
    );
}
on_both_backends!(a_sign_up_claims_the_live_invitation_of_its_address_and_a_later_one_none);

// Two sign-ups of one address cannot complete in parallel: a second
// `signup_request` of the address supersedes the first one's code (one open
// sign-up challenge per address), so the second account comes after. The
// claim under parallel commits is the adapter contract's
// `of_parallel_sign_ups_of_one_address_exactly_one_claims_the_invitations`.
