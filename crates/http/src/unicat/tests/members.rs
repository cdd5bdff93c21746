//! HTTP tests of `p/{project}/members/invite`, `resend_invite`, `remove`
//! and both forms of `members/get`: every body byte for byte, the order of
//! the refusals (body, then the path's gid), each refusal's envelope.

use super::*;
use accountd_domain::{Conflict, Invitation};

const FORBIDDEN: &str =
    r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{}},"data":{}}"#;
const REMOVED: &str = r#"{"success":true,"result":{},"data":{}}"#;
const CY_GID: &str = "06060606-0606-4606-8606-060606060606";

const ANN_ROW: &str = r#"{"project_gid":"03030303-0303-4303-8303-030303030303","user_gid":"01010101-0101-4101-8101-010101010101","status":"active","roles":["owner"],"options":{"notifications":{"email":"ann@example.com","events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
const ANN_ROW_HIDDEN: &str = r#"{"project_gid":"03030303-0303-4303-8303-030303030303","user_gid":"01010101-0101-4101-8101-010101010101","status":"active","roles":["owner"],"options":{"notifications":{"email":null,"events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
const BOB_INVITED: &str = r#"{"project_gid":"03030303-0303-4303-8303-030303030303","user_gid":"02020202-0202-4202-8202-020202020202","status":"invited","roles":["member"],"options":{"notifications":{"email":"bob@example.com","events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
const BOB_ACTIVE: &str = r#"{"project_gid":"03030303-0303-4303-8303-030303030303","user_gid":"02020202-0202-4202-8202-020202020202","status":"active","roles":["member"],"options":{"notifications":{"email":"bob@example.com","events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
const GHOST_INVITED: &str = r#"{"project_gid":"03030303-0303-4303-8303-030303030303","user_gid":"05050505-0505-4505-8505-050505050505","status":"invited","roles":["member"],"options":{"notifications":{"email":"New@Example.com","events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
const ANN_SHORT: &str = r#"{"gid":"01010101-0101-4101-8101-010101010101","username":"ann","name":"","avatar":null,"status":"active"}"#;
const BOB_SHORT: &str = r#"{"gid":"02020202-0202-4202-8202-020202020202","username":"bob","name":"","avatar":null,"status":"active"}"#;
const BOB_COMPLETE: &str = r#"{"gid":"02020202-0202-4202-8202-020202020202","username":"bob","email":"bob@example.com","name":"","avatar":null,"status":"active","options":{"language":"en","timezone":"Europe/Amsterdam"}}"#;
const GHOST_SHORT: &str = r#"{"gid":"05050505-0505-4505-8505-050505050505","username":null,"name":"","avatar":null,"status":"invited"}"#;

fn path(route: &str) -> String {
    format!("/api/p/{ATLAS_GID}/members/{route}")
}

fn authed(path: &str, body: &serde_json::Value) -> TestRequest {
    post_json(path, body).insert_header((header::AUTHORIZATION, bearer()))
}

fn unprocessable(reason: &str) -> String {
    format!(
        r#"{{"success":false,"result":{{"code":422,"message":"Unprocessable Entity","info":{{"reason":"{reason}"}}}},"data":{{}}}}"#
    )
}

fn one(user: &str, short: &str, row: &str) -> String {
    format!(
        r#"{{"success":true,"result":{{"user":"{user}"}},"data":{{"cc.users":{{"{user}":{short}}},"cc.projects_members":[{row}]}}}}"#
    )
}

fn bob() -> User {
    User {
        id: bob_id(),
        username: Some(Username::parse("bob").unwrap()),
        emails: vec![email("bob@example.com")],
        ..ann()
    }
}

fn ghost() -> User {
    User {
        id: new_id(),
        username: None,
        emails: vec![email("New@Example.com")],
        status: UserStatus::Invited,
        password_hash: None,
        credential_version: 1,
        ..ann()
    }
}

fn atlas() -> Project {
    Project {
        id: atlas_id(),
        name: "Atlas".into(),
        icon: None,
        owner: ann_id(),
        status: ProjectStatus::Active,
        timezone: "UTC".into(),
        languages: vec!["en".into()],
    }
}

fn invited(user: &User) -> Membership {
    Membership {
        invitation: Some(Invitation::issue(
            &key(),
            "old",
            ann_id(),
            now().plus_seconds(-60),
            600,
        )),
        ..membership(
            atlas_id(),
            user.id,
            MembershipStatus::Invited,
            Role::Member,
            user.emails[0].as_str(),
        )
    }
}

impl World {
    /// The token verifies as `who`'s, and `who` is loaded.
    fn members_caller(&mut self, who: User) -> &mut Self {
        self.clock();
        let id = who.id;
        self.tokens
            .expect_verify()
            .times(1)
            .return_once(move |_, _| {
                Ok(TokenClaims {
                    user: id,
                    version: 3,
                    auth_time: Some(auth_time()),
                })
            });
        self.users
            .expect_get()
            .withf(move |u| *u == id)
            .times(1)
            .return_once(move |_| Ok(Some(who)));
        self
    }

    /// Atlas is stored with Ann's owner row and `others`.
    fn members_atlas(&mut self, others: Vec<Membership>) -> &mut Self {
        self.projects
            .expect_get()
            .withf(|p| *p == atlas_id())
            .returning(|_| Ok(Some(atlas())));
        self.projects.expect_rows_of().returning(move |_| {
            let mut rows = vec![membership(
                atlas_id(),
                ann_id(),
                MembershipStatus::Active,
                Role::Owner,
                "ann@example.com",
            )];
            rows.extend(others.iter().cloned());
            Ok(rows)
        });
        self
    }

    /// Nothing is looked up, written, counted or issued.
    fn members_untouched(&mut self) -> &mut Self {
        self.projects.expect_get().never();
        self.users.expect_find_by_username_ci().never();
        self.users.expect_find_by_email().never();
        self.changes.expect_apply().never();
        self.limiter.expect_hit().never();
        self.tokens.expect_issue().never();
        self
    }

    /// One fresh token for `who`.
    fn members_token(&mut self, who: UserId) -> &mut Self {
        self.issues_with(who, 3, Some(auth_time()))
    }

    /// Every draw is `[5; 16]`.
    fn members_draws(&mut self) -> &mut Self {
        self.random.expect_bytes16().return_const([5u8; 16]);
        self
    }
}

// ------------------------------------------------------------------ invite

#[actix_rt::test]
async fn invite_by_username_answers_the_row_and_the_short_form_with_a_fresh_token() {
    let a = call(
        |w| {
            w.members_caller(ann())
                .members_atlas(vec![])
                .members_token(ann_id())
                .members_draws();
            w.users
                .expect_find_by_username_ci()
                .withf(|n| n == "bob")
                .times(1)
                .return_once(|_| Ok(Some(bob())));
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    *t == now()
                        && set.mails().len() == 1
                        && set.mails()[0].to.as_str() == "bob@example.com"
                        && matches!(
                            set.changes(),
                            [
                                Change::PutMembership { expected: None, .. },
                                Change::ProjectIsActive(_),
                                Change::PendingInvitesAtMost { max: 100, .. },
                                Change::CountHit { .. },
                                Change::CountHit { .. },
                            ]
                        )
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(
            &path("invite"),
            &serde_json::json!({"username_or_email": "bob"}),
        ),
    )
    .await;
    assert_session(&a, &one(BOB_GID, BOB_SHORT, BOB_INVITED));
}

#[actix_rt::test]
async fn invite_by_a_new_address_answers_the_placeholder() {
    let a = call(
        |w| {
            w.members_caller(ann())
                .members_atlas(vec![])
                .members_token(ann_id())
                .members_draws();
            w.users
                .expect_find_by_email()
                .times(1)
                .returning(|_| Ok(Vec::new()));
            w.changes
                .expect_apply()
                .withf(|set, _| matches!(set.changes()[0], Change::CreatePlaceholder(_)))
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(
            &path("invite"),
            &serde_json::json!({"username_or_email": "New@Example.com"}),
        ),
    )
    .await;
    assert_session(&a, &one(NEW_GID, GHOST_SHORT, GHOST_INVITED));
}

#[actix_rt::test]
async fn the_body_is_judged_before_the_paths_gid_and_the_token_before_both() {
    let bad_path = "/api/p/not-a-gid/members/invite";
    // No token: 401 before anything.
    let a = call(
        |w| {
            w.untouched().members_untouched();
        },
        post_json(bad_path, &serde_json::json!({})),
    )
    .await;
    assert_denied(&a);
    // A missing field beats a bad path.
    let a = call(
        |w| {
            w.members_caller(ann()).members_untouched();
        },
        authed(bad_path, &serde_json::json!({})),
    )
    .await;
    assert_answer(&a, 400, &bad_request("username_or_email", "missing"));
    let a = call(
        |w| {
            w.members_caller(ann()).members_untouched();
        },
        authed(bad_path, &serde_json::json!({"username_or_email": 7})),
    )
    .await;
    assert_answer(&a, 400, &bad_request("username_or_email", "invalid_type"));
    // A good body, a path that is no gid.
    for route in ["invite", "resend_invite", "remove", "get"] {
        let a = call(
            |w| {
                w.members_caller(ann()).members_untouched();
            },
            authed(
                &format!("/api/p/not-a-gid/members/{route}"),
                &serde_json::json!({"username_or_email": "bob", "user": BOB_GID, "member": BOB_GID}),
            ),
        )
        .await;
        assert_answer(&a, 400, &bad_request("project", "invalid_value"));
    }
}

#[actix_rt::test]
async fn invite_into_an_unknown_project_or_by_a_member_is_403() {
    let a = call(
        |w| {
            w.members_caller(ann());
            w.projects.expect_get().return_once(|_| Ok(None));
            w.changes.expect_apply().never();
        },
        authed(
            &path("invite"),
            &serde_json::json!({"username_or_email": "bob"}),
        ),
    )
    .await;
    assert_answer(&a, 403, FORBIDDEN);
    let a = call(
        |w| {
            w.members_caller(bob()).members_atlas(vec![membership(
                atlas_id(),
                bob_id(),
                MembershipStatus::Active,
                Role::Member,
                "bob@example.com",
            )]);
            w.users.expect_find_by_username_ci().never();
            w.changes.expect_apply().never();
        },
        authed(
            &path("invite"),
            &serde_json::json!({"username_or_email": "cy"}),
        ),
    )
    .await;
    assert_answer(&a, 403, FORBIDDEN);
}

#[actix_rt::test]
async fn an_unknown_username_is_422_user_not_found_and_counts_one_hit() {
    let a = call(
        |w| {
            w.members_caller(ann()).members_atlas(vec![]);
            w.users
                .expect_find_by_username_ci()
                .return_once(|_| Ok(Some(bob())));
            w.limiter
                .expect_hit()
                .withf(|k, _, _| k == format!("invite:inviter:{ANN_GID}"))
                .times(1)
                .returning(|_, _, _| Ok(RateDecision::Allowed));
            w.changes.expect_apply().never();
        },
        authed(
            &path("invite"),
            &serde_json::json!({"username_or_email": "BOB"}),
        ),
    )
    .await;
    assert_answer(&a, 422, &unprocessable("user_not_found"));
}

#[actix_rt::test]
async fn an_ambiguous_address_is_1001_email_ambiguous() {
    let a = call(
        |w| {
            w.members_caller(ann()).members_atlas(vec![]);
            w.users
                .expect_find_by_email()
                .return_once(|_| Ok(vec![ann(), annie()]));
            w.changes.expect_apply().never();
        },
        authed(
            &path("invite"),
            &serde_json::json!({"username_or_email": "ann@example.com"}),
        ),
    )
    .await;
    assert_answer(
        &a,
        422,
        r#"{"success":false,"result":{"code":1001,"message":"Validation error","info":{"field":"username_or_email","reason":"email_ambiguous","detail":"Several accounts have this address; invite by username."}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn each_refusal_of_an_invitation_set_has_its_envelope() {
    for (conflict, status, body) in [
        (
            Conflict::TooManyPendingInvites,
            422,
            unprocessable("too_many_pending_invites"),
        ),
        (
            Conflict::Limited {
                retry_after_seconds: 42,
            },
            429,
            retry_body(429, "Too many requests", 42),
        ),
    ] {
        let a = call(
            |w| {
                w.members_caller(ann())
                    .members_atlas(vec![])
                    .members_draws();
                w.users
                    .expect_find_by_username_ci()
                    .return_once(|_| Ok(Some(bob())));
                w.tokens.expect_issue().never();
                w.changes
                    .expect_apply()
                    .times(1)
                    .returning(move |_, _| Ok(Applied::Refused(conflict)));
            },
            authed(
                &path("invite"),
                &serde_json::json!({"username_or_email": "bob"}),
            ),
        )
        .await;
        if status == 429 {
            assert_retry(&a, 429, &body, "42");
        } else {
            assert_answer(&a, status, &body);
        }
    }
}

#[actix_rt::test]
async fn an_existing_row_answers_already_member_invited_or_declined() {
    for (status, reason) in [
        (MembershipStatus::Active, "already_member"),
        (MembershipStatus::Invited, "already_invited"),
        (MembershipStatus::Declined, "invite_declined"),
    ] {
        let a = call(
            |w| {
                let row = Membership {
                    status,
                    ..invited(&bob())
                };
                w.members_caller(ann())
                    .members_atlas(vec![row])
                    .members_draws();
                w.users
                    .expect_find_by_username_ci()
                    .return_once(|_| Ok(Some(bob())));
                w.changes.expect_apply().never();
            },
            authed(
                &path("invite"),
                &serde_json::json!({"username_or_email": "bob"}),
            ),
        )
        .await;
        assert_answer(&a, 422, &unprocessable(reason));
    }
}

// ------------------------------------------------------------------ resend, remove

#[actix_rt::test]
async fn resend_answers_as_invite_and_an_active_row_is_422() {
    let a = call(
        |w| {
            w.members_caller(ann())
                .members_atlas(vec![invited(&bob())])
                .members_token(ann_id())
                .members_draws();
            w.users
                .expect_get()
                .withf(|u| *u == bob_id())
                .return_once(|_| Ok(Some(bob())));
            w.changes
                .expect_apply()
                .withf(|set, _| {
                    matches!(
                        set.changes()[..2],
                        [
                            Change::InvitationSentAt { .. },
                            Change::PutMembership {
                                expected: Some(MembershipStatus::Invited),
                                ..
                            }
                        ]
                    )
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(
            &path("resend_invite"),
            &serde_json::json!({"user": BOB_GID}),
        ),
    )
    .await;
    assert_session(&a, &one(BOB_GID, BOB_SHORT, BOB_INVITED));
    let a = call(
        |w| {
            w.members_caller(ann())
                .members_atlas(vec![membership(
                    atlas_id(),
                    bob_id(),
                    MembershipStatus::Active,
                    Role::Member,
                    "bob@example.com",
                )])
                .members_draws();
            w.changes.expect_apply().never();
        },
        authed(
            &path("resend_invite"),
            &serde_json::json!({"user": BOB_GID}),
        ),
    )
    .await;
    assert_answer(&a, 422, UNPROCESSABLE);
}

#[actix_rt::test]
async fn remove_answers_empty_objects_and_its_refusals() {
    let a = call(
        |w| {
            w.members_caller(ann())
                .members_atlas(vec![invited(&ghost())])
                .members_token(ann_id());
            w.changes
                .expect_apply()
                .withf(|set, _| {
                    set.changes()
                        == [
                            Change::RemoveMembership {
                                project: atlas_id(),
                                user: new_id(),
                                expected: MembershipStatus::Invited,
                            },
                            Change::DeletePlaceholderIfUnused(new_id()),
                        ]
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(&path("remove"), &serde_json::json!({"user": NEW_GID})),
    )
    .await;
    assert_session(&a, REMOVED);
    let cases = [
        (ann(), ANN_GID, unprocessable("owner_cannot_leave"), 422),
        (ann(), CY_GID, UNPROCESSABLE.to_owned(), 422),
        (bob(), NEW_GID, FORBIDDEN.to_owned(), 403),
        (bob(), "user", bad_request("user", "invalid_value"), 400),
    ];
    for (caller, user, body, status) in cases {
        let a = call(
            |w| {
                w.members_caller(caller)
                    .members_atlas(vec![invited(&bob()), invited(&ghost())]);
                w.changes.expect_apply().never();
                w.tokens.expect_issue().never();
            },
            authed(&path("remove"), &serde_json::json!({ "user": user })),
        )
        .await;
        assert_answer(&a, status, &body);
    }
}

// ------------------------------------------------------------------ get

#[actix_rt::test]
async fn members_get_in_the_global_form_answers_one_row() {
    let a = call(
        |w| {
            w.members_caller(ann())
                .members_atlas(vec![invited(&bob())])
                .members_token(ann_id());
            w.users
                .expect_get_many()
                .withf(|ids| ids == [bob_id()])
                .times(1)
                .return_once(|_| Ok(vec![bob()]));
        },
        authed(
            "/api/members/get",
            &serde_json::json!({"project": ATLAS_GID, "member": BOB_GID}),
        ),
    )
    .await;
    assert_session(&a, &one(BOB_GID, BOB_SHORT, BOB_INVITED));
}

#[actix_rt::test]
async fn members_get_with_a_list_answers_in_the_order_sent_without_repeats() {
    let a = call(
        |w| {
            w.members_caller(bob())
                .members_atlas(vec![membership(
                    atlas_id(),
                    bob_id(),
                    MembershipStatus::Active,
                    Role::Member,
                    "bob@example.com",
                )])
                .members_token(bob_id());
            w.users
                .expect_get_many()
                .withf(|ids| ids == [ann_id()])
                .times(1)
                .return_once(|_| Ok(vec![ann()]));
        },
        authed(
            &path("get"),
            &serde_json::json!({"members": [BOB_GID, ANN_GID, BOB_GID]}),
        ),
    )
    .await;
    assert_session(
        &a,
        &format!(
            r#"{{"success":true,"result":{{"users":["{BOB_GID}","{ANN_GID}"]}},"data":{{"cc.users":{{"{BOB_GID}":{BOB_COMPLETE},"{ANN_GID}":{ANN_SHORT}}},"cc.projects_members":[{BOB_ACTIVE},{ANN_ROW_HIDDEN}]}}}}"#
        ),
    );
}

#[actix_rt::test]
async fn members_get_of_a_row_the_caller_may_not_see_is_422_for_the_whole_call() {
    let a = call(
        |w| {
            w.members_caller(bob()).members_atlas(vec![
                membership(
                    atlas_id(),
                    bob_id(),
                    MembershipStatus::Active,
                    Role::Member,
                    "bob@example.com",
                ),
                invited(&ghost()),
            ]);
            w.users.expect_get_many().never();
            w.tokens.expect_issue().never();
        },
        authed(
            &path("get"),
            &serde_json::json!({"members": [ANN_GID, NEW_GID]}),
        ),
    )
    .await;
    assert_answer(&a, 422, UNPROCESSABLE);
}

#[actix_rt::test]
async fn members_get_parameters_are_checked_before_anything_is_read() {
    let many: Vec<&str> = vec![BOB_GID; 1001];
    let cases = [
        (
            serde_json::json!({"member": BOB_GID, "members": [BOB_GID]}),
            bad_request("members", "invalid_value"),
        ),
        (
            serde_json::json!({"members": many}),
            bad_request("members", "invalid_value"),
        ),
        (
            serde_json::json!({"members": BOB_GID}),
            bad_request("members", "invalid_type"),
        ),
        (
            serde_json::json!({"members": [1]}),
            bad_request("members", "invalid_type"),
        ),
        (
            serde_json::json!({"members": ["x"]}),
            bad_request("members", "invalid_value"),
        ),
        (serde_json::json!({}), bad_request("member", "missing")),
        (
            serde_json::json!({"member": "x"}),
            bad_request("member", "invalid_value"),
        ),
    ];
    for (body, want) in cases {
        let a = call(
            |w| {
                // 1001 gids are more than the tests' 16 KiB cap.
                w.http.max_body_bytes = 64 * 1024;
                w.members_caller(ann()).members_untouched();
            },
            authed(&path("get"), &body),
        )
        .await;
        assert_answer(&a, 400, &want);
    }
    // The global form: `project` first, then `member`.
    let a = call(
        |w| {
            w.members_caller(ann()).members_untouched();
        },
        authed("/api/members/get", &serde_json::json!({"member": "x"})),
    )
    .await;
    assert_answer(&a, 400, &bad_request("project", "missing"));
}

#[actix_rt::test]
async fn the_owner_sees_every_address_in_a_list() {
    let a = call(
        |w| {
            w.members_caller(ann())
                .members_atlas(vec![invited(&ghost())])
                .members_token(ann_id());
            w.users.expect_get_many().return_once(|_| Ok(vec![ghost()]));
        },
        authed(
            &path("get"),
            &serde_json::json!({"members": [ANN_GID, NEW_GID]}),
        ),
    )
    .await;
    assert_session(
        &a,
        &format!(
            r#"{{"success":true,"result":{{"users":["{ANN_GID}","{NEW_GID}"]}},"data":{{"cc.users":{{"{ANN_GID}":{ANN_COMPLETE},"{NEW_GID}":{GHOST_SHORT}}},"cc.projects_members":[{ANN_ROW},{GHOST_INVITED}]}}}}"#
        ),
    );
}
