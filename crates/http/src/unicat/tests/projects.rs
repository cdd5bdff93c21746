//! HTTP tests of `projects/create`, `projects/get` and `projects/update`:
//! every body byte for byte, each refusal included.

use super::*;
use accountd_domain::Conflict;

const CREATE: &str = "/api/projects/create";
const GET: &str = "/api/projects/get";
const UPDATE: &str = "/api/projects/update";

const FORBIDDEN: &str =
    r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{}},"data":{}}"#;

/// The project `projects/create` makes from the draw `[3; 16]` with no
/// name and no options.
const UNTITLED: &str = r#"{"gid":"03030303-0303-4303-8303-030303030303","name":"untitled project","icon":null,"owner":"01010101-0101-4101-8101-010101010101","status":"active","options":{"timezone":"Europe/Amsterdam","languages":["en"]}}"#;
/// Atlas as stored in these tests.
const STORED_ATLAS: &str = r#"{"gid":"03030303-0303-4303-8303-030303030303","name":"Atlas","icon":null,"owner":"01010101-0101-4101-8101-010101010101","status":"active","options":{"timezone":"UTC","languages":["en"]}}"#;
/// Ann's owner row in Atlas.
const ANN_ROW: &str = r#"{"project_gid":"03030303-0303-4303-8303-030303030303","user_gid":"01010101-0101-4101-8101-010101010101","status":"active","roles":["owner"],"options":{"notifications":{"email":"ann@example.com","events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
/// Bob's member row as Ann (the owner) sees it.
const BOB_ROW: &str = r#"{"project_gid":"03030303-0303-4303-8303-030303030303","user_gid":"02020202-0202-4202-8202-020202020202","status":"active","roles":["member"],"options":{"notifications":{"email":"bob@example.com","events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
/// Ann's row as Bob (a member) sees it: no address.
const ANN_ROW_HIDDEN: &str = r#"{"project_gid":"03030303-0303-4303-8303-030303030303","user_gid":"01010101-0101-4101-8101-010101010101","status":"active","roles":["owner"],"options":{"notifications":{"email":null,"events":["all"],"frequency":"immediate"},"rate_limit_per_second":null}}"#;
const ANN_SHORT: &str = r#"{"gid":"01010101-0101-4101-8101-010101010101","username":"ann","name":"","avatar":null,"status":"active"}"#;
const BOB_SHORT: &str = r#"{"gid":"02020202-0202-4202-8202-020202020202","username":"bob","name":"","avatar":null,"status":"active"}"#;
const BOB_COMPLETE: &str = r#"{"gid":"02020202-0202-4202-8202-020202020202","username":"bob","email":"bob@example.com","name":"","avatar":null,"status":"active","options":{"language":"en","timezone":"Europe/Amsterdam"}}"#;

fn authed(path: &str, body: &serde_json::Value) -> TestRequest {
    post_json(path, body).insert_header((header::AUTHORIZATION, bearer()))
}

fn validation(field: &str, reason: &str, detail: &str) -> String {
    format!(
        r#"{{"success":false,"result":{{"code":1001,"message":"Validation error","info":{{"field":"{field}","reason":"{reason}","detail":"{detail}"}}}},"data":{{}}}}"#
    )
}

fn unprocessable(reason: &str) -> String {
    format!(
        r#"{{"success":false,"result":{{"code":422,"message":"Unprocessable Entity","info":{{"reason":"{reason}"}}}},"data":{{}}}}"#
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

fn atlas(status: ProjectStatus) -> Project {
    Project {
        id: atlas_id(),
        name: "Atlas".into(),
        icon: None,
        owner: ann_id(),
        status,
        timezone: "UTC".into(),
        languages: vec!["en".into()],
    }
}

fn rows() -> Vec<Membership> {
    vec![
        membership(
            atlas_id(),
            ann_id(),
            MembershipStatus::Active,
            Role::Owner,
            "ann@example.com",
        ),
        membership(
            atlas_id(),
            bob_id(),
            MembershipStatus::Active,
            Role::Member,
            "bob@example.com",
        ),
    ]
}

impl World {
    /// The token verifies as `who`'s, and `who` is loaded.
    fn as_user(&mut self, who: User) -> &mut Self {
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

    /// Atlas is stored in `status` with Ann's and Bob's rows.
    fn stores_atlas(&mut self, status: ProjectStatus) -> &mut Self {
        self.projects
            .expect_get()
            .withf(|p| *p == atlas_id())
            .returning(move |_| Ok(Some(atlas(status))));
        self.projects.expect_rows_of().returning(|_| Ok(rows()));
        self
    }

    /// Nothing is written or issued.
    fn writes_nothing(&mut self) -> &mut Self {
        self.changes.expect_apply().never();
        self.tokens.expect_issue().never();
        self
    }
}

fn shown(users: &str, members: &str, project: &str) -> String {
    format!(
        r#"{{"success":true,"result":{{"project":"{ATLAS_GID}"}},"data":{{"cc.projects":{{"{ATLAS_GID}":{project}}},"cc.projects_members":[{members}],"cc.users":{{{users}}}}}}}"#
    )
}

// ------------------------------------------------------------------ create

#[actix_rt::test]
async fn create_answers_the_project_and_the_owner_row_with_a_fresh_token() {
    let a = call(
        |w| {
            w.as_user(ann()).issues_with(ann_id(), 3, Some(auth_time()));
            w.random.expect_bytes16().times(1).return_const([3u8; 16]);
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    *t == now()
                        && matches!(
                            set.changes(),
                            [
                                Change::OwnsFewerThan { max: 100, .. },
                                Change::CreateProject { .. }
                            ]
                        )
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(CREATE, &serde_json::json!({})),
    )
    .await;
    assert_session(
        &a,
        &format!(
            r#"{{"success":true,"result":{{"project":"{ATLAS_GID}"}},"data":{{"cc.projects":{{"{ATLAS_GID}":{UNTITLED}}},"cc.projects_members":[{ANN_ROW}]}}}}"#
        ),
    );
}

#[actix_rt::test]
async fn create_at_the_cap_answers_422_too_many_projects() {
    let a = call(
        |w| {
            w.as_user(ann());
            w.tokens.expect_issue().never();
            w.random.expect_bytes16().return_const([3u8; 16]);
            w.changes
                .expect_apply()
                .times(1)
                .returning(|_, _| Ok(Applied::Refused(Conflict::TooManyProjects)));
        },
        authed(CREATE, &serde_json::json!({"name": "Atlas"})),
    )
    .await;
    assert_answer(&a, 422, &unprocessable("too_many_projects"));
}

#[actix_rt::test]
async fn create_with_options_that_are_not_an_object_answers_400_invalid_type() {
    let a = call(
        |w| {
            w.as_user(ann()).writes_nothing();
        },
        authed(CREATE, &serde_json::json!({"options": ["en"]})),
    )
    .await;
    assert_answer(&a, 400, &bad_request("options", "invalid_type"));
}

#[actix_rt::test]
async fn create_with_a_name_that_is_not_a_string_answers_400_invalid_type() {
    let a = call(
        |w| {
            w.as_user(ann()).writes_nothing();
        },
        authed(CREATE, &serde_json::json!({"name": 7})),
    )
    .await;
    assert_answer(&a, 400, &bad_request("name", "invalid_type"));
}

#[actix_rt::test]
async fn create_with_a_blank_name_answers_1001_name_invalid() {
    let a = call(
        |w| {
            w.as_user(ann()).writes_nothing();
        },
        authed(CREATE, &serde_json::json!({"name": "  "})),
    )
    .await;
    assert_answer(
        &a,
        422,
        &validation(
            "name",
            "name_invalid",
            "Not a name: a project name has 1 to 200 characters after trimming and no control characters.",
        ),
    );
}

#[actix_rt::test]
async fn create_with_an_unknown_option_answers_1001_options_invalid_naming_it() {
    let a = call(
        |w| {
            w.as_user(ann()).writes_nothing();
        },
        authed(CREATE, &serde_json::json!({"options": {"colour": "red"}})),
    )
    .await;
    assert_answer(
        &a,
        422,
        &validation(
            "options",
            "options_invalid",
            "options.colour is not a project option.",
        ),
    );
}

#[actix_rt::test]
async fn create_with_an_unsupported_language_answers_1001_options_invalid() {
    let a = call(
        |w| {
            w.as_user(ann()).writes_nothing();
        },
        authed(
            CREATE,
            &serde_json::json!({"options": {"languages": ["en", "xx"]}}),
        ),
    )
    .await;
    assert_answer(
        &a,
        422,
        &validation(
            "options",
            "options_invalid",
            "options.languages must be a non-empty list of supported language codes.",
        ),
    );
}

#[actix_rt::test]
async fn create_without_a_token_answers_401_before_the_parameters() {
    let a = refused(post_json(CREATE, &serde_json::json!({"options": 1}))).await;
    assert_denied(&a);
}

// ------------------------------------------------------------------ get

#[actix_rt::test]
async fn get_by_the_owner_shows_every_row_and_address_and_the_owner_complete() {
    let a = call(
        |w| {
            w.as_user(ann())
                .stores_atlas(ProjectStatus::Active)
                .issues_with(ann_id(), 3, Some(auth_time()));
            w.users
                .expect_get_many()
                .withf(|ids| ids == [bob_id()])
                .times(1)
                .returning(|_| Ok(vec![bob()]));
        },
        authed(GET, &serde_json::json!({"project": ATLAS_GID})),
    )
    .await;
    assert_session(
        &a,
        &shown(
            &format!(r#""{ANN_GID}":{ANN_COMPLETE},"{BOB_GID}":{BOB_SHORT}"#),
            &format!("{ANN_ROW},{BOB_ROW}"),
            STORED_ATLAS,
        ),
    );
}

#[actix_rt::test]
async fn get_by_a_member_hides_the_owners_address_and_shows_the_member_complete() {
    let a = call(
        |w| {
            w.as_user(bob())
                .stores_atlas(ProjectStatus::Active)
                .issues_with(bob_id(), 3, Some(auth_time()));
            w.users
                .expect_get_many()
                .withf(|ids| ids == [ann_id()])
                .times(1)
                .returning(|_| Ok(vec![ann()]));
        },
        authed(GET, &serde_json::json!({"project": ATLAS_GID})),
    )
    .await;
    assert_session(
        &a,
        &shown(
            &format!(r#""{ANN_GID}":{ANN_SHORT},"{BOB_GID}":{BOB_COMPLETE}"#),
            &format!("{ANN_ROW_HIDDEN},{BOB_ROW}"),
            STORED_ATLAS,
        ),
    );
}

#[actix_rt::test]
async fn get_by_an_invited_user_shows_the_short_form_their_row_and_the_owners_only() {
    let a = call(
        |w| {
            w.as_user(bob()).issues_with(bob_id(), 3, Some(auth_time()));
            w.projects
                .expect_get()
                .withf(|p| *p == atlas_id())
                .returning(|_| Ok(Some(atlas(ProjectStatus::Active))));
            w.projects.expect_rows_of().returning(|_| {
                let mut rows = rows();
                rows[1].status = MembershipStatus::Invited;
                // A member Bob may not see while invited.
                rows.push(membership(
                    atlas_id(),
                    new_id(),
                    MembershipStatus::Active,
                    Role::Member,
                    "carla@example.com",
                ));
                Ok(rows)
            });
            w.users
                .expect_get_many()
                .withf(|ids| ids == [ann_id()])
                .times(1)
                .returning(|_| Ok(vec![ann()]));
        },
        authed(GET, &serde_json::json!({"project": ATLAS_GID})),
    )
    .await;
    assert_session(
        &a,
        &shown(
            &format!(r#""{ANN_GID}":{ANN_SHORT},"{BOB_GID}":{BOB_COMPLETE}"#),
            &format!(
                "{ANN_ROW_HIDDEN},{}",
                BOB_ROW.replace(r#""status":"active""#, r#""status":"invited""#)
            ),
            r#"{"gid":"03030303-0303-4303-8303-030303030303","name":"Atlas","icon":null,"owner":"01010101-0101-4101-8101-010101010101","status":"active"}"#,
        ),
    );
}

#[actix_rt::test]
async fn get_of_an_unknown_project_answers_the_same_403_as_a_hidden_one() {
    let unknown = call(
        |w| {
            w.as_user(ann()).writes_nothing();
            w.projects.expect_get().times(1).returning(|_| Ok(None));
        },
        authed(GET, &serde_json::json!({"project": ZEPHYR_GID})),
    )
    .await;
    assert_answer(&unknown, 403, FORBIDDEN);
    let hidden = call(
        |w| {
            w.as_user(bob())
                .writes_nothing()
                .stores_atlas(ProjectStatus::Deleted);
        },
        authed(GET, &serde_json::json!({"project": ATLAS_GID})),
    )
    .await;
    assert_answer(&hidden, 403, FORBIDDEN);
}

#[actix_rt::test]
async fn get_with_a_project_that_is_not_a_uuid_answers_400_invalid_value() {
    for (body, reason) in [
        (serde_json::json!({"project": "atlas"}), "invalid_value"),
        (serde_json::json!({"project": 3}), "invalid_type"),
        (serde_json::json!({}), "missing"),
    ] {
        let a = call(
            |w| {
                w.as_user(ann()).writes_nothing();
            },
            authed(GET, &body),
        )
        .await;
        assert_answer(&a, 400, &bad_request("project", reason));
    }
}

// ------------------------------------------------------------------ update

#[actix_rt::test]
async fn update_by_the_owner_writes_the_given_keys_and_answers_as_get() {
    let a = call(
        |w| {
            w.as_user(ann())
                .stores_atlas(ProjectStatus::Active)
                .issues_with(ann_id(), 3, Some(auth_time()));
            w.changes
                .expect_apply()
                .withf(|set, _| {
                    set.changes()
                        == [Change::UpdateProject {
                            project: atlas_id(),
                            name: Some("Atlas 2".into()),
                            timezone: Some("Europe/Berlin".into()),
                            languages: None,
                        }]
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
            w.users
                .expect_get_many()
                .withf(|ids| ids == [bob_id()])
                .times(1)
                .returning(|_| Ok(vec![bob()]));
        },
        authed(
            UPDATE,
            &serde_json::json!({"project": ATLAS_GID, "name": " Atlas 2 ", "options": {"timezone": "Europe/Berlin"}}),
        ),
    )
    .await;
    // The mocked store still holds the old Atlas: the answer is what it reads.
    assert_session(
        &a,
        &shown(
            &format!(r#""{ANN_GID}":{ANN_COMPLETE},"{BOB_GID}":{BOB_SHORT}"#),
            &format!("{ANN_ROW},{BOB_ROW}"),
            STORED_ATLAS,
        ),
    );
}

#[actix_rt::test]
async fn update_by_a_member_answers_403_before_the_values() {
    let a = call(
        |w| {
            w.as_user(bob())
                .writes_nothing()
                .stores_atlas(ProjectStatus::Active);
        },
        authed(
            UPDATE,
            &serde_json::json!({"project": ATLAS_GID, "name": ""}),
        ),
    )
    .await;
    assert_answer(&a, 403, FORBIDDEN);
}

#[actix_rt::test]
async fn update_with_nothing_answers_1001_nothing_to_update() {
    let a = call(
        |w| {
            w.as_user(ann())
                .writes_nothing()
                .stores_atlas(ProjectStatus::Active);
        },
        authed(UPDATE, &serde_json::json!({"project": ATLAS_GID})),
    )
    .await;
    assert_answer(
        &a,
        422,
        &validation(
            "body",
            "nothing_to_update",
            "Give at least one of name and options.",
        ),
    );
}

#[actix_rt::test]
async fn update_of_a_deleted_project_answers_422_project_deleted() {
    let a = call(
        |w| {
            w.as_user(ann())
                .writes_nothing()
                .stores_atlas(ProjectStatus::Deleted);
        },
        authed(
            UPDATE,
            &serde_json::json!({"project": ATLAS_GID, "name": "New"}),
        ),
    )
    .await;
    assert_answer(&a, 422, &unprocessable("project_deleted"));
}

#[actix_rt::test]
async fn update_checks_the_project_gid_before_the_options_type() {
    let a = call(
        |w| {
            w.as_user(ann()).writes_nothing();
        },
        authed(UPDATE, &serde_json::json!({"project": "x", "options": 1})),
    )
    .await;
    assert_answer(&a, 400, &bad_request("project", "invalid_value"));
}

// ------------------------------------------- delete, undelete, permanent_delete

const DELETE: &str = "/api/projects/delete";
const UNDELETE: &str = "/api/projects/undelete";
const PURGE: &str = "/api/projects/permanent_delete";

const DELETED_ATLAS: &str = r#"{"gid":"03030303-0303-4303-8303-030303030303","name":"Atlas","icon":null,"owner":"01010101-0101-4101-8101-010101010101","status":"deleted","options":{"timezone":"UTC","languages":["en"]}}"#;

fn status_answer(project: &str) -> String {
    format!(
        r#"{{"success":true,"result":{{"project":"{ATLAS_GID}"}},"data":{{"cc.projects":{{"{ATLAS_GID}":{project}}}}}}}"#
    )
}

#[actix_rt::test]
async fn delete_by_the_owner_answers_the_deleted_project_with_a_fresh_token() {
    let a = call(
        |w| {
            w.as_user(ann())
                .stores_atlas(ProjectStatus::Active)
                .issues_with(ann_id(), 3, Some(auth_time()));
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    *t == now()
                        && set.changes()
                            == [Change::SetProjectStatus {
                                project: atlas_id(),
                                expected: ProjectStatus::Active,
                                status: ProjectStatus::Deleted,
                            }]
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(DELETE, &serde_json::json!({"project": ATLAS_GID})),
    )
    .await;
    assert_session(&a, &status_answer(DELETED_ATLAS));
}

#[actix_rt::test]
async fn undelete_by_the_owner_answers_the_active_project() {
    let a = call(
        |w| {
            w.as_user(ann())
                .stores_atlas(ProjectStatus::Deleted)
                .issues_with(ann_id(), 3, Some(auth_time()));
            w.changes
                .expect_apply()
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(UNDELETE, &serde_json::json!({"project": ATLAS_GID})),
    )
    .await;
    assert_session(&a, &status_answer(STORED_ATLAS));
}

#[actix_rt::test]
async fn permanent_delete_of_a_deleted_project_answers_empty_result_and_data() {
    let a = call(
        |w| {
            w.as_user(ann())
                .stores_atlas(ProjectStatus::Deleted)
                .issues_with(ann_id(), 3, Some(auth_time()));
            w.changes
                .expect_apply()
                .withf(|set, _| {
                    set.changes()
                        == [Change::DeleteProjectPermanently {
                            project: atlas_id(),
                        }]
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(PURGE, &serde_json::json!({"project": ATLAS_GID})),
    )
    .await;
    assert_session(&a, r#"{"success":true,"result":{},"data":{}}"#);
}

#[actix_rt::test]
async fn each_status_route_refuses_the_wrong_status_with_its_reason() {
    for (path, status, reason) in [
        (DELETE, ProjectStatus::Deleted, "project_deleted"),
        (UNDELETE, ProjectStatus::Active, "project_not_deleted"),
        (PURGE, ProjectStatus::Active, "project_not_deleted"),
    ] {
        let a = call(
            |w| {
                w.as_user(ann()).writes_nothing().stores_atlas(status);
            },
            authed(path, &serde_json::json!({"project": ATLAS_GID})),
        )
        .await;
        assert_answer(&a, 422, &unprocessable(reason));
    }
}

#[actix_rt::test]
async fn each_status_route_answers_403_to_a_member_and_for_an_unknown_project() {
    for path in [DELETE, UNDELETE, PURGE] {
        let a = call(
            |w| {
                w.as_user(bob())
                    .writes_nothing()
                    .stores_atlas(ProjectStatus::Active);
            },
            authed(path, &serde_json::json!({"project": ATLAS_GID})),
        )
        .await;
        assert_answer(&a, 403, FORBIDDEN);
        let a = call(
            |w| {
                w.as_user(ann()).writes_nothing();
                w.projects.expect_get().returning(|_| Ok(None));
            },
            authed(path, &serde_json::json!({"project": ZEPHYR_GID})),
        )
        .await;
        assert_answer(&a, 403, FORBIDDEN);
        let a = call(
            |w| {
                w.as_user(ann()).writes_nothing();
            },
            authed(path, &serde_json::json!({"project": "zephyr"})),
        )
        .await;
        assert_answer(&a, 400, &bad_request("project", "invalid_value"));
    }
}

// ------------------------------------------------------------------ transfer

const TRANSFER: &str = "/api/projects/transfer";

#[actix_rt::test]
async fn transfer_to_a_member_answers_as_get_from_the_old_owners_new_seat() {
    let a = call(
        |w| {
            w.as_user(ann()).issues_with(ann_id(), 3, Some(auth_time()));
            // Before the transfer Ann owns Atlas; after it, Bob does.
            let mut reads = 0;
            w.projects.expect_get().returning(move |_| {
                reads += 1;
                Ok(Some(if reads == 1 {
                    atlas(ProjectStatus::Active)
                } else {
                    Project {
                        owner: bob_id(),
                        ..atlas(ProjectStatus::Active)
                    }
                }))
            });
            let mut loads = 0;
            w.projects.expect_rows_of().returning(move |_| {
                loads += 1;
                if loads == 1 {
                    Ok(rows())
                } else {
                    Ok(vec![
                        membership(
                            atlas_id(),
                            ann_id(),
                            MembershipStatus::Active,
                            Role::Member,
                            "ann@example.com",
                        ),
                        membership(
                            atlas_id(),
                            bob_id(),
                            MembershipStatus::Active,
                            Role::Owner,
                            "bob@example.com",
                        ),
                    ])
                }
            });
            w.users
                .expect_get()
                .withf(|u| *u == bob_id())
                .times(1)
                .returning(|_| Ok(Some(bob())));
            w.users
                .expect_get_many()
                .withf(|ids| ids == [bob_id()])
                .times(1)
                .returning(|_| Ok(vec![bob()]));
            w.changes
                .expect_apply()
                .withf(|set, _| {
                    set.mails().len() == 2
                        && set.changes()
                            == [
                                Change::OwnsFewerThan {
                                    user: bob_id(),
                                    max: 100,
                                },
                                Change::TransferProject {
                                    project: atlas_id(),
                                    from: ann_id(),
                                    to: bob_id(),
                                },
                            ]
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(
            TRANSFER,
            &serde_json::json!({"project": ATLAS_GID, "user": BOB_GID}),
        ),
    )
    .await;
    let bobs_atlas = STORED_ATLAS.replace(
        r#""owner":"01010101-0101-4101-8101-010101010101""#,
        r#""owner":"02020202-0202-4202-8202-020202020202""#,
    );
    let ann_member = ANN_ROW.replace(r#"["owner"]"#, r#"["member"]"#);
    let bob_owner = BOB_ROW
        .replace(r#"["member"]"#, r#"["owner"]"#)
        .replace("bob@example.com", "BOB");
    let bob_owner_hidden = bob_owner.replace(r#""BOB""#, "null");
    assert_session(
        &a,
        &shown(
            &format!(r#""{ANN_GID}":{ANN_COMPLETE},"{BOB_GID}":{BOB_SHORT}"#),
            &format!("{ann_member},{bob_owner_hidden}"),
            &bobs_atlas,
        ),
    );
}

#[actix_rt::test]
async fn transfer_to_oneself_answers_422_not_a_member() {
    let a = call(
        |w| {
            w.as_user(ann())
                .writes_nothing()
                .stores_atlas(ProjectStatus::Active);
        },
        authed(
            TRANSFER,
            &serde_json::json!({"project": ATLAS_GID, "user": ANN_GID}),
        ),
    )
    .await;
    assert_answer(&a, 422, &unprocessable("not_a_member"));
}

#[actix_rt::test]
async fn transfer_checks_project_then_user_for_400() {
    for (body, name, reason) in [
        (serde_json::json!({"user": "x"}), "project", "missing"),
        (serde_json::json!({"project": ATLAS_GID}), "user", "missing"),
        (
            serde_json::json!({"project": ATLAS_GID, "user": "bob"}),
            "user",
            "invalid_value",
        ),
        (
            serde_json::json!({"project": ATLAS_GID, "user": BOB_GID, "current_password": 1}),
            "current_password",
            "invalid_type",
        ),
    ] {
        let a = call(
            |w| {
                w.as_user(ann()).writes_nothing();
            },
            authed(TRANSFER, &body),
        )
        .await;
        assert_answer(&a, 400, &bad_request(name, reason));
    }
}

#[actix_rt::test]
async fn transfer_by_a_member_answers_403_forbidden() {
    let a = call(
        |w| {
            w.as_user(bob())
                .writes_nothing()
                .stores_atlas(ProjectStatus::Active);
        },
        authed(
            TRANSFER,
            &serde_json::json!({"project": ATLAS_GID, "user": ANN_GID}),
        ),
    )
    .await;
    assert_answer(&a, 403, FORBIDDEN);
}
