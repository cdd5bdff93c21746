//! HTTP tests of `account/update`, `users/get` and `username`: every body
//! byte for byte, each refusal included.

use super::*;

const UPDATE: &str = "/api/account/update";
const USERS_GET: &str = "/api/users/get";
const USERNAME: &str = "/api/username";
const LOOKUP_KEY: &str = "lookup:ip:198.51.100.7";

/// An authenticated POST with [`OLD_TOKEN`].
fn authed(path: &str, body: &serde_json::Value) -> TestRequest {
    post_json(path, body).insert_header((header::AUTHORIZATION, bearer()))
}

/// The 1001 envelope.
fn validation(field: &str, reason: &str, detail: &str) -> String {
    format!(
        r#"{{"success":false,"result":{{"code":1001,"message":"Validation error","info":{{"field":"{field}","reason":"{reason}","detail":"{detail}"}}}},"data":{{}}}}"#
    )
}

/// `result = {"user": gid}`, `data = {"cc.users": {gid: form}}`.
fn user_answer(gid: &str, form: &str) -> String {
    format!(
        r#"{{"success":true,"result":{{"user":"{gid}"}},"data":{{"cc.users":{{"{gid}":{form}}}}}}}"#
    )
}

impl World {
    /// Ann's token verifies and Ann is loaded: the caller is Ann.
    fn as_ann(&mut self) -> &mut Self {
        self.token_verifies(3).gets_ann(Some(ann()))
    }

    /// As [`World::as_ann`], with a token whose `auth_time` is stale.
    fn as_stale_ann(&mut self) -> &mut Self {
        self.clock();
        self.tokens
            .expect_verify()
            .times(1)
            .return_once(move |_, _| {
                Ok(TokenClaims {
                    user: ann_id(),
                    version: 3,
                    auth_time: Some(now().plus_seconds(-901)),
                })
            });
        self.gets_ann(Some(ann()))
    }

    /// Nothing is written, hashed or issued.
    fn unchanged(&mut self) -> &mut Self {
        self.changes.expect_apply().never();
        self.hasher.expect_hash().never();
        self.tokens.expect_issue().never();
        self
    }
}

// ------------------------------------------------------------ account/update

#[actix_rt::test]
async fn an_update_of_the_profile_answers_the_complete_form_with_the_callers_auth_time() {
    let a = call(
        |w| {
            w.as_ann().issues_with(ann_id(), 3, Some(auth_time()));
            w.changes
                .expect_apply()
                .withf(|set, t| {
                    *t == now()
                        && set.mails().is_empty()
                        && set.changes()
                            == [Change::UpdateProfile {
                                user: ann_id(),
                                expected_version: 3,
                                username: None,
                                name: Some("Ann Lee".into()),
                                language: Some("nl".into()),
                                timezone: Some("UTC".into()),
                            }]
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(
            UPDATE,
            &serde_json::json!({"name": " Ann Lee ", "language": "nl", "timezone": "UTC"}),
        ),
    )
    .await;
    let form = ANN_COMPLETE
        .replace(r#""name":"""#, r#""name":"Ann Lee""#)
        .replace(
            r#"{"language":"en","timezone":"Europe/Amsterdam"}"#,
            r#"{"language":"nl","timezone":"UTC"}"#,
        );
    assert_session(&a, &user_answer(ANN_GID, &form));
}

#[actix_rt::test]
async fn a_password_change_answers_a_token_at_the_new_version_and_mails_the_notice() {
    let a = call(
        |w| {
            w.as_ann().issues(ann_id(), 4);
            w.hasher
                .expect_hash()
                .withf(|p| p.expose() == OTHER_STRONG)
                .times(1)
                .returning(|_| Ok(new_hash()));
            w.changes
                .expect_apply()
                .withf(|set, _| {
                    matches!(set.changes(), [Change::SetPassword { user, hash, expected_version: 3 }, Change::ConsumeOpenChallenges { .. }]
                        if *user == ann_id() && *hash == new_hash())
                        && set.mails().len() == 1
                        && set.mails()[0].to.as_str() == "ann@example.com"
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(UPDATE, &serde_json::json!({"password": OTHER_STRONG})),
    )
    .await;
    assert_session(&a, &user_answer(ANN_GID, ANN_COMPLETE));
}

#[actix_rt::test]
async fn an_update_without_a_field_answers_1001_nothing_to_update() {
    let a = call(
        |w| {
            w.as_ann().unchanged();
        },
        authed(UPDATE, &serde_json::json!({"current_password": STRONG})),
    )
    .await;
    assert_answer(
        &a,
        422,
        &validation(
            "body",
            "nothing_to_update",
            "Give at least one of username, password, name, language and timezone.",
        ),
    );
}

#[actix_rt::test]
async fn a_field_of_the_wrong_type_answers_400_naming_it_in_field_order() {
    for (body, field) in [
        (serde_json::json!({"username": 5, "name": 5}), "username"),
        (serde_json::json!({"name": ["Ann"], "language": 1}), "name"),
        (serde_json::json!({"timezone": true}), "timezone"),
        (
            serde_json::json!({"name": "Ann", "current_password": 1}),
            "current_password",
        ),
    ] {
        let a = call(
            |w| {
                w.as_ann().unchanged();
            },
            authed(UPDATE, &body),
        )
        .await;
        assert_answer(&a, 400, &bad_request(field, "invalid_type"));
    }
}

#[actix_rt::test]
async fn an_update_without_a_token_answers_401_before_its_parameters() {
    let a = refused(post_json(UPDATE, &serde_json::json!({"name": 5}))).await;
    assert_denied(&a);
}

#[actix_rt::test]
async fn each_refused_value_answers_its_1001() {
    let cases = [
        (
            serde_json::json!({"username": "a b"}),
            validation(
                "username",
                "username_invalid",
                "The username may only contain letters, digits, '.', '-' and '_'.",
            ),
        ),
        (
            serde_json::json!({"name": "x\u{0007}"}),
            validation(
                "name",
                "name_invalid",
                "The name may have at most 200 characters and no control characters.",
            ),
        ),
        (
            serde_json::json!({"language": "fr"}),
            validation(
                "language",
                "language_unsupported",
                "The language is not one of the supported languages.",
            ),
        ),
        (
            serde_json::json!({"timezone": "Mars/Olympus"}),
            validation(
                "timezone",
                "timezone_unsupported",
                "The time zone is not an IANA time zone name.",
            ),
        ),
    ];
    for (body, expected) in cases {
        let a = call(
            |w| {
                w.as_ann().unchanged();
            },
            authed(UPDATE, &body),
        )
        .await;
        assert_answer(&a, 422, &expected);
    }
}

#[actix_rt::test]
async fn a_username_another_account_holds_answers_1001_username_unavailable() {
    let a = call(
        |w| {
            w.as_ann().finds("Annie", Some(annie())).unchanged();
        },
        authed(UPDATE, &serde_json::json!({"username": "Annie"})),
    )
    .await;
    assert_answer(
        &a,
        422,
        &validation(
            "username",
            "username_unavailable",
            "The username is already taken.",
        ),
    );
}

#[actix_rt::test]
async fn a_password_change_on_a_stale_session_answers_403_reauthentication_required() {
    let a = call(
        |w| {
            w.as_stale_ann().unchanged();
        },
        authed(UPDATE, &serde_json::json!({"password": OTHER_STRONG})),
    )
    .await;
    assert_answer(
        &a,
        403,
        r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{"reason":"reauthentication_required"}},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn a_password_changed_meanwhile_answers_401() {
    let a = call(
        |w| {
            w.token_verifies(3);
            w.users.expect_get().times(2).returning({
                let mut n = 0;
                move |_| {
                    n += 1;
                    Ok(Some(if n == 1 { ann() } else { ann_at(4) }))
                }
            });
            w.changes
                .expect_apply()
                .times(1)
                .returning(|_, _| Ok(Applied::Refused(accountd_domain::Conflict::UserChanged)));
            w.tokens.expect_issue().never();
        },
        authed(UPDATE, &serde_json::json!({"name": "Ann"})),
    )
    .await;
    assert_denied(&a);
}

// ------------------------------------------------------------- users/get

#[actix_rt::test]
async fn users_get_of_oneself_answers_the_complete_form_and_a_fresh_token() {
    let a = call(
        |w| {
            w.as_ann().issues_with(ann_id(), 3, Some(auth_time()));
            w.projects.expect_shared_rows().never();
        },
        authed(USERS_GET, &serde_json::json!({"user": ANN_GID})),
    )
    .await;
    assert_session(&a, &user_answer(ANN_GID, ANN_COMPLETE));
}

/// Zephyr's rows: Ann's invitation and Bob's owner row.
fn zephyr_rows() -> Vec<(Project, Membership, Membership)> {
    let v = zephyr_invitation(ann_id());
    vec![(v.project, v.own, v.owner_row.unwrap())]
}

#[actix_rt::test]
async fn users_get_of_a_visible_placeholder_answers_the_short_form_with_a_null_username() {
    let a = call(
        |w| {
            w.as_ann().issues_with(ann_id(), 3, Some(auth_time()));
            w.projects
                .expect_shared_rows()
                .withf(|v, o| (*v, *o) == (ann_id(), bob_id()))
                .times(1)
                .returning(|_, _| Ok(zephyr_rows()));
            w.users
                .expect_get()
                .withf(|id| *id == bob_id())
                .times(1)
                .returning(|_| {
                    Ok(Some(User {
                        id: bob_id(),
                        username: None,
                        status: UserStatus::Invited,
                        password_hash: None,
                        name: "Bob".into(),
                        ..ann()
                    }))
                });
        },
        authed(USERS_GET, &serde_json::json!({"user": BOB_GID})),
    )
    .await;
    assert_session(
        &a,
        &user_answer(
            BOB_GID,
            &format!(
                r#"{{"gid":"{BOB_GID}","username":null,"name":"Bob","avatar":null,"status":"invited"}}"#
            ),
        ),
    );
}

#[actix_rt::test]
async fn users_get_of_a_user_the_caller_may_not_see_answers_422() {
    let a = call(
        |w| {
            w.as_ann();
            w.projects
                .expect_shared_rows()
                .times(1)
                .returning(|_, _| Ok(Vec::new()));
            w.tokens.expect_issue().never();
        },
        authed(USERS_GET, &serde_json::json!({"user": NEW_GID})),
    )
    .await;
    assert_answer(&a, 422, UNPROCESSABLE);
}

#[actix_rt::test]
async fn users_get_with_a_bad_gid_answers_400() {
    for (body, reason) in [
        (serde_json::json!({}), "missing"),
        (serde_json::json!({"user": 7}), "invalid_type"),
        (serde_json::json!({"user": "not-a-gid"}), "invalid_value"),
    ] {
        let a = call(
            |w| {
                w.as_ann();
                w.projects.expect_shared_rows().never();
                w.tokens.expect_issue().never();
            },
            authed(USERS_GET, &body),
        )
        .await;
        assert_answer(&a, 400, &bad_request("user", reason));
    }
}

// -------------------------------------------------------------- username

impl World {
    /// One lookup hit for [`PEER`], answering `decision`.
    fn lookup_hit(&mut self, decision: RateDecision) -> &mut Self {
        self.clock();
        self.limiter
            .expect_hit()
            .withf(|k, l, t| {
                k == LOOKUP_KEY
                    && *l
                        == [accountd_ports::Limit {
                            window_seconds: 3600,
                            max: 600,
                        }]
                    && *t == now()
            })
            .times(1)
            .return_once(move |_, _, _| Ok(decision));
        self
    }
}

#[actix_rt::test]
async fn username_answers_available_for_a_free_name_without_a_token() {
    let a = call(
        |w| {
            w.lookup_hit(RateDecision::Allowed).finds("Zoë", None);
        },
        post_json(USERNAME, &serde_json::json!({"username": "Zoë"})),
    )
    .await;
    assert_answer(
        &a,
        200,
        r#"{"success":true,"result":{"username":"Zoë","available":true},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn username_answers_unavailable_for_a_name_taken_in_another_case() {
    let a = call(
        |w| {
            w.lookup_hit(RateDecision::Allowed)
                .finds("ANN", Some(ann()));
        },
        post_json(USERNAME, &serde_json::json!({"username": "ANN"})),
    )
    .await;
    assert_answer(
        &a,
        200,
        r#"{"success":true,"result":{"username":"ANN","available":false,"reason":"username_unavailable"},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn username_answers_unavailable_for_an_invalid_name_as_sent() {
    let a = call(
        |w| {
            w.lookup_hit(RateDecision::Allowed);
            w.users.expect_find_by_username_ci().never();
        },
        post_json(USERNAME, &serde_json::json!({"username": " ann"})),
    )
    .await;
    assert_answer(
        &a,
        200,
        r#"{"success":true,"result":{"username":" ann","available":false,"reason":"username_invalid"},"data":{}}"#,
    );
}

#[actix_rt::test]
async fn username_over_the_lookup_limit_answers_429_with_retry_after() {
    let a = call(
        |w| {
            w.lookup_hit(RateDecision::Limited {
                retry_after_seconds: 120,
            });
            w.users.expect_find_by_username_ci().never();
        },
        post_json(USERNAME, &serde_json::json!({"username": "ann"})),
    )
    .await;
    assert_retry(&a, 429, &retry_body(429, "Too many requests", 120), "120");
}

#[actix_rt::test]
async fn username_without_a_string_answers_400_and_is_not_counted() {
    for (body, reason) in [
        (serde_json::json!({}), "missing"),
        (serde_json::json!({"username": 1}), "invalid_type"),
    ] {
        let a = refused(post_json(USERNAME, &body)).await;
        assert_answer(&a, 400, &bad_request("username", reason));
    }
}
