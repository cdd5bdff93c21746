//! Bad input on every account, project and member route, through the real binary on both
//! backends: malformed and non-object bodies, wrongly typed values,
//! over-long values and control characters each get the family's envelope
//! (400, 1001, 422; the HTML page its pages), never a 500, and change
//! nothing: afterwards the account, its password and its token are as
//! they were.

use crate::support::{Reply, Server, Setup, TestDb};
use accountd_testkit::PASSWORD;
use serde_json::{json, Value};

fn login(server: &Server) -> String {
    let r = server.post_json(
        "/api/login",
        &json!({"username": "ann", "password": PASSWORD}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("authorization").expect("a token")
}

fn me(server: &Server, token: &str, gid: &str) -> Value {
    let r = server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["data"]["cc.users"][gid].clone()
}

/// POSTs `body` as is (JSON content type) with the token.
fn raw(server: &Server, path: &str, token: &str, body: &str) -> Reply {
    let r = reqwest::blocking::Client::new()
        .post(server.url(path))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(body.to_owned())
        .send()
        .expect("POST");
    Reply::from(r)
}

/// The Unicat error envelope with one of `codes`, `data` `{}` and an
/// object `info`; never a 500.
#[track_caller]
fn assert_refused(r: &Reply, codes: &[i64], what: &str) {
    assert_ne!(r.status, 500, "{what}: {}", r.body);
    let v: Value = serde_json::from_str(&r.body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", r.body));
    assert_eq!(v["success"], json!(false), "{what}: {}", r.body);
    assert_eq!(v["data"], json!({}), "{what}: {}", r.body);
    assert!(v["result"]["info"].is_object(), "{what}: {}", r.body);
    let code = v["result"]["code"].as_i64().unwrap_or_default();
    assert!(codes.contains(&code), "{what}: code {code}: {}", r.body);
    let status = i64::from(r.status);
    assert_eq!(status, if code >= 1000 { 422 } else { code }, "{what}");
    assert!(
        r.header("authorization").is_none(),
        "{what}: no token on a refusal"
    );
}

/// Each route with the fields whose bad values are tried one at a time
/// (a field left out where a bad value would make a valid request do
/// something: `current_password` beside a fresh token, `confirm: true`).
const ROUTES: &[(&str, &[&str])] = &[
    (
        "/api/account/update",
        &["username", "password", "name", "language", "timezone"],
    ),
    ("/api/account/update_email_request", &["email"]),
    (
        "/api/account/update_email",
        &["email", "validation_code", "verification_code"],
    ),
    ("/api/account/revert_email", &["token"]),
    ("/api/account/delete", &["confirm"]),
    ("/api/users/get", &["user"]),
    ("/api/username", &["username"]),
    ("/api/projects/create", &["name"]),
    ("/api/projects/get", &["project"]),
    ("/api/projects/update", &["project"]),
    ("/api/projects/delete", &["project"]),
    ("/api/projects/undelete", &["project"]),
    ("/api/projects/permanent_delete", &["project"]),
    ("/api/projects/transfer", &["project", "user"]),
    ("/api/account/accept_invite", &["project"]),
    ("/api/account/decline_invite", &["project"]),
    ("/api/account/leave_project", &["project"]),
    ("/api/decline_invite", &["invitee", "project", "token"]),
    ("/api/init_invite", &["invitee", "project", "token"]),
    ("/api/members/get", &["project", "member"]),
    (
        "/api/p/7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d/members/invite",
        &["username_or_email"],
    ),
    (
        "/api/p/7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d/members/resend_invite",
        &["user"],
    ),
    (
        "/api/p/7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d/members/remove",
        &["user"],
    ),
    (
        "/api/p/7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d/members/get",
        &["member"],
    ),
];

/// The member routes under `/api/p/{project}/`.
const MEMBER_ROUTES: [&str; 4] = ["invite", "resend_invite", "remove", "get"];

fn bad_input_on_every_account_project_and_member_route_gets_its_envelope_and_changes_nothing(
    db: &TestDb,
) {
    let setup = Setup::new(db);
    let gid = setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    let token = login(&server);
    let before = me(&server, &token, &gid);

    let malformed = [
        "not json", "{", "{\"a\":", "[]", "[1,2]", "\"text\"", "null", "42", "\u{0}",
    ];
    let not_strings = [
        json!(1),
        json!(-1.5),
        json!(true),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({"a": 1}),
    ];
    let long = "x".repeat(60_000);
    // (U+0000 in a text field: `hardening`, on every route of both families.)
    let bad_strings = ["\u{7}\u{1b}[31m\r\n".to_owned(), long.clone()];

    for (path, fields) in ROUTES {
        for body in malformed {
            let r = raw(&server, path, &token, body);
            assert_refused(&r, &[400], &format!("{path} {body:?}"));
            assert_eq!(
                r.json()["result"]["info"],
                json!({"parameter": "body", "reason": "malformed_body"}),
                "{path} {body:?}"
            );
        }
        // The body cap holds for every route: 413 in the envelope.
        let huge = json!({fields[0]: "y".repeat(70_000)}).to_string();
        assert_refused(&raw(&server, path, &token, &huge), &[413], path);

        for field in *fields {
            for value in &not_strings {
                // `confirm` is the one non-string parameter.
                if *field == "confirm" && value == &json!(true) {
                    continue;
                }
                let body = json!({ *field: value }).to_string();
                let r = raw(&server, path, &token, &body);
                assert_refused(&r, &[400], &format!("{path} {body}"));
                if fields.len() == 1 || *path == "/api/account/update" {
                    assert_eq!(
                        r.json()["result"]["info"]["parameter"],
                        json!(field),
                        "{path} {body}"
                    );
                }
            }
            for value in &bad_strings {
                // The value under test, and a short filler in the route's
                // other fields so that none is missing and this value is
                // judged (account/update takes any one field alone).
                let body: serde_json::Map<String, Value> = fields
                    .iter()
                    .filter(|f| *f == field || *path != "/api/account/update")
                    .map(|f| {
                        let v = if f == field { value.as_str() } else { "a" };
                        ((*f).to_owned(), json!(v))
                    })
                    .collect();
                let body = Value::Object(body).to_string();
                let shown: String = value.chars().take(20).collect();
                let what = format!("{path} {field} = {shown:?}");
                let r = raw(&server, path, &token, &body);
                match *path {
                    // Availability is an answer, not a refusal.
                    "/api/username" => {
                        assert_eq!(r.status, 200, "{what}: {}", r.body);
                        assert_eq!(r.json()["result"]["available"], json!(false), "{what}");
                        assert_eq!(
                            r.json()["result"]["reason"],
                            json!("username_invalid"),
                            "{what}"
                        );
                    }
                    "/api/account/delete" | "/api/users/get" => {
                        assert_refused(&r, &[400], &what);
                        let expected = if *path == "/api/users/get" {
                            "invalid_value"
                        } else {
                            "invalid_type"
                        };
                        assert_eq!(
                            r.json()["result"]["info"]["reason"],
                            json!(expected),
                            "{what}"
                        );
                    }
                    "/api/account/revert_email" => assert_refused(&r, &[422], &what),
                    // A gid that is a string but not a UUID (the public
                    // invitation routes: the filler "a" of `invitee` too).
                    "/api/account/accept_invite"
                    | "/api/account/decline_invite"
                    | "/api/account/leave_project"
                    | "/api/decline_invite"
                    | "/api/init_invite" => {
                        assert_refused(&r, &[400], &what);
                        assert_eq!(
                            r.json()["result"]["info"]["reason"],
                            json!("invalid_value"),
                            "{what}"
                        );
                    }
                    // Any text is a username to look up: the body is fine,
                    // and the project unknown.
                    p if p.ends_with("/members/invite") => assert_refused(&r, &[403], &what),
                    // A gid that is a string but not a UUID.
                    p if (p.starts_with("/api/projects/") && p != "/api/projects/create")
                        || p.starts_with("/api/p/")
                        || p == "/api/members/get" =>
                    {
                        assert_refused(&r, &[400], &what);
                        assert_eq!(
                            r.json()["result"]["info"]["reason"],
                            json!("invalid_value"),
                            "{what}"
                        );
                    }
                    _ => assert_refused(&r, &[1001], &what),
                }
            }
        }
    }

    // `members`: a list of at most 1000 gids, never beside `member`; the
    // path's project gid, read after the body.
    let unknown = "7b0c9a3e-8f5d-4c1a-9e2b-6d4f3a2b1c0d";
    let get = format!("/api/p/{unknown}/members/get");
    let too_many: Vec<&str> = vec![unknown; 1001];
    for (members, reason) in [
        (json!("x"), "invalid_type"),
        (json!({}), "invalid_type"),
        (json!(1), "invalid_type"),
        (json!([1]), "invalid_type"),
        (json!([unknown, null]), "invalid_type"),
        (json!(["x"]), "invalid_value"),
        (json!([unknown, "not-a-gid"]), "invalid_value"),
        (json!(too_many), "invalid_value"),
    ] {
        let body = json!({ "members": members }).to_string();
        let r = raw(&server, &get, &token, &body);
        let what = format!("{get} {}", body.chars().take(60).collect::<String>());
        assert_refused(&r, &[400], &what);
        assert_eq!(
            r.json()["result"]["info"],
            json!({"parameter": "members", "reason": reason}),
            "{what}"
        );
    }
    let both = json!({"member": unknown, "members": [unknown]}).to_string();
    let r = raw(&server, &get, &token, &both);
    assert_refused(&r, &[400], "member and members");
    assert_eq!(
        r.json()["result"]["info"],
        json!({"parameter": "members", "reason": "invalid_value"})
    );
    for route in MEMBER_ROUTES {
        let body = json!({"username_or_email": "bob", "user": unknown, "member": unknown});
        for project in ["not-a-gid", "7B0C9A3E", "%00", unknown] {
            let path = format!("/api/p/{project}/members/{route}");
            let r = raw(&server, &path, &token, &body.to_string());
            if project == unknown {
                assert_refused(&r, &[403], &path);
                continue;
            }
            assert_refused(&r, &[400], &path);
            assert_eq!(
                r.json()["result"]["info"],
                json!({"parameter": "project", "reason": "invalid_value"}),
                "{path}"
            );
            // The body is judged first.
            let r = raw(&server, &path, &token, "{");
            assert_eq!(
                r.json()["result"]["info"]["parameter"],
                json!("body"),
                "{path}"
            );
        }
    }

    // The page's form: a bad or huge token is a page, never a 500.
    for body in ["token=%00", "token=", "", "a=b", "token=%ZZ"] {
        let r = reqwest::blocking::Client::new()
            .post(server.url("/account/revert-email"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .expect("POST");
        let status = r.status().as_u16();
        let text = r.text().expect("a page");
        assert!([400, 422].contains(&status), "{body:?}: {status} {text}");
        assert!(text.contains("<html"), "{body:?}: {text}");
    }

    // The decline page: bad or missing link values are a page with a 4xx,
    // never a 500, on GET and on the form's POST.
    let gid_ok = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f";
    for query in [
        String::new(),
        "?invitee=%00".to_owned(),
        format!("?invitee={gid_ok}&project={gid_ok}"),
        format!("?invitee={gid_ok}&project={gid_ok}&token="),
        format!("?invitee=x&project={gid_ok}&token=t"),
        format!("?invitee={gid_ok}&project={gid_ok}&token=%ZZ"),
        format!(
            "?invitee={gid_ok}&project={gid_ok}&token={}",
            "t".repeat(4000)
        ),
    ] {
        let r = server.get(&format!("/invite/decline{query}"));
        assert!(
            [400, 422].contains(&r.status),
            "{query}: {} {}",
            r.status,
            r.body
        );
        assert!(r.body.contains("<html"), "{query}: {}", r.body);
    }
    for body in [
        String::new(),
        "invitee=%00".to_owned(),
        "a=b".to_owned(),
        format!("invitee={gid_ok}&project={gid_ok}&token=%ZZ"),
        format!("invitee={gid_ok}&project={gid_ok}&token=t"),
    ] {
        let r = reqwest::blocking::Client::new()
            .post(server.url("/invite/decline"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.clone())
            .send()
            .expect("POST");
        let status = r.status().as_u16();
        let text = r.text().expect("a page");
        assert!([400, 422].contains(&status), "{body:?}: {status} {text}");
        assert!(text.contains("<html"), "{body:?}: {text}");
    }

    // Nothing changed: the same account, the same token, the same password,
    // and no project.
    assert_eq!(me(&server, &token, &gid), before);
    let r = server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(r.json()["data"]["cc.projects"], json!({}));
    login(&server);
}
on_both_backends!(
    bad_input_on_every_account_project_and_member_route_gets_its_envelope_and_changes_nothing
);
