//! `POST /api/account/delete`: every answer, byte for byte, with the
//! fixtures of `tests/mod.rs`.

use super::*;
use accountd_app::unicat::{AccountDeletion, Sessions};
use accountd_domain::{ChangeSet, Conflict};
use accountd_ports::MockLoginThrottle;

const DELETE: &str = "/api/account/delete";
const DELETED: &str = r#"{"success":true,"result":{},"data":{}}"#;
const REAUTH: &str = r#"{"success":false,"result":{"code":403,"message":"Forbidden","info":{"reason":"reauthentication_required"}},"data":{}}"#;
const OWNS: &str = r#"{"success":false,"result":{"code":422,"message":"Unprocessable Entity","info":{"reason":"owns_projects","projects":["03030303-0303-4303-8303-030303030303","04040404-0404-4404-8404-040404040404"]}},"data":{}}"#;

/// `POST /api/account/delete` with Ann's bearer token and `body`.
fn delete(body: &str) -> TestRequest {
    post(DELETE, body).insert_header((header::AUTHORIZATION, bearer()))
}

async fn call(setup: impl FnOnce(&mut World), req: TestRequest) -> Answer {
    call_with(setup, req, |_| {}).await
}

impl World {
    /// [`OLD_TOKEN`] verifies as Ann's at version 3, issued with
    /// `auth_time`, and Ann loads.
    fn caller_since(&mut self, auth_time: Option<Timestamp>) -> &mut Self {
        self.clock();
        self.tokens
            .expect_verify()
            .withf(|token, t| token == OLD_TOKEN && *t == now())
            .times(1)
            .return_once(move |_, _| {
                Ok(TokenClaims {
                    user: ann_id(),
                    version: 3,
                    auth_time,
                })
            });
        self.gets_ann(Some(ann()))
    }

    /// Ann's token, recent, and nothing else may be called.
    fn caller_only(&mut self) -> &mut Self {
        self.caller_since(Some(auth_time()));
        self.changes.expect_apply().never();
        self.projects.expect_owned_by().never();
        self.hasher.expect_verify().never();
        self.tokens.expect_issue().never();
        self
    }

    /// Ann owns `projects`, asked once.
    fn owns(&mut self, projects: Vec<ProjectId>) -> &mut Self {
        self.projects
            .expect_owned_by()
            .withf(|u| *u == ann_id())
            .times(1)
            .return_once(move |_| Ok(projects));
        self
    }
}

/// The one set a deletion of Ann (version 3) applies.
fn deletion_set() -> ChangeSet {
    ChangeSet::new()
        .with(Change::DeleteAccount {
            user: ann_id(),
            expected_version: 3,
        })
        .with(Change::ConsumeOpenChallenges {
            key: format!("user:{ANN_GID}"),
            purposes: vec![
                Purpose::ForgotPassword,
                Purpose::Signup,
                Purpose::ResetPassword,
                Purpose::ChangeEmail,
            ],
        })
        .mail([accountd_app::mail::account_deleted(
            &ann(),
            &email("ann@example.com"),
        )])
        .audit(accountd_domain::AuditEvent::new(
            accountd_domain::AuditEventKind::AccountDeleted,
            Some(ann_id()),
        ))
        .audit(
            accountd_domain::AuditEvent::new(
                accountd_domain::AuditEventKind::TokensRevoked,
                Some(ann_id()),
            )
            .word("reason", "account_deleted"),
        )
}

#[actix_web::test]
async fn a_recent_session_deletes_the_account_and_gets_no_token_back() {
    let a = call(
        |w| {
            w.caller_since(Some(auth_time())).owns(Vec::new());
            w.tokens.expect_issue().never();
            w.changes
                .expect_apply()
                .withf(|set, t| *set == deletion_set() && *t == now())
                .times(1)
                .return_once(|_, _| Ok(Applied::Committed));
        },
        delete(r#"{"confirm": true}"#),
    )
    .await;

    assert_answer(&a, 200, DELETED);
}

#[actix_web::test]
async fn confirm_must_be_present_and_json_true() {
    for (body, reason) in [
        ("{}", "missing"),
        ("", "missing"),
        (r#"{"confirm": null}"#, "missing"),
        (r#"{"confirm": false}"#, "invalid_value"),
        (r#"{"confirm": "true"}"#, "invalid_type"),
        (r#"{"confirm": 1}"#, "invalid_type"),
        (r#"{"confirm": [true]}"#, "invalid_type"),
        (
            r#"{"confirm": false, "current_password": 5}"#,
            "invalid_value",
        ),
    ] {
        let a = call(
            |w| {
                w.caller_only();
            },
            delete(body),
        )
        .await;
        assert_answer(&a, 400, &bad_request("confirm", reason));
    }
}

#[actix_web::test]
async fn a_current_password_that_is_not_a_string_is_a_400() {
    let a = call(
        |w| {
            w.caller_only();
        },
        delete(r#"{"confirm": true, "current_password": 5}"#),
    )
    .await;

    assert_answer(&a, 400, &bad_request("current_password", "invalid_type"));
}

#[actix_web::test]
async fn a_body_that_is_not_an_object_is_a_400() {
    let a = call(
        |w| {
            w.caller_only();
        },
        delete("[true]"),
    )
    .await;

    assert_answer(&a, 400, MALFORMED);
}

#[actix_web::test]
async fn without_a_token_the_401_comes_before_the_body_is_judged() {
    let a = call(
        |w| {
            w.untouched();
            w.projects.expect_owned_by().never();
        },
        post(DELETE, r#"{"confirm": false}"#),
    )
    .await;

    assert_denied(&a);
}

#[actix_web::test]
async fn a_stale_session_without_current_password_must_reauthenticate() {
    let a = call(
        |w| {
            w.caller_since(Some(now().plus_seconds(-3600)));
            w.projects.expect_owned_by().never();
            w.hasher.expect_verify().never();
            w.changes.expect_apply().never();
        },
        delete(r#"{"confirm": true}"#),
    )
    .await;

    assert_answer(&a, 403, REAUTH);
}

#[actix_web::test]
async fn a_stale_session_with_a_wrong_current_password_must_reauthenticate() {
    let a = call(
        |w| {
            w.caller_since(Some(now().plus_seconds(-3600)))
                .verifies("not it", false);
            w.projects.expect_owned_by().never();
            w.changes.expect_apply().never();
        },
        delete(r#"{"confirm": true, "current_password": "not it"}"#),
    )
    .await;

    assert_answer(&a, 403, REAUTH);
}

#[actix_web::test]
async fn a_stale_session_with_the_right_current_password_deletes_the_account() {
    let a = call(
        |w| {
            w.caller_since(None).verifies(STRONG, true).owns(Vec::new());
            w.changes
                .expect_apply()
                .withf(|set, _| *set == deletion_set())
                .times(1)
                .return_once(|_, _| Ok(Applied::Committed));
        },
        delete(&serde_json::json!({"confirm": true, "current_password": STRONG}).to_string()),
    )
    .await;

    assert_answer(&a, 200, DELETED);
}

#[actix_web::test]
async fn an_owner_is_told_which_projects_to_transfer_or_delete_first() {
    let a = call(
        |w| {
            w.caller_since(Some(auth_time()))
                .owns(vec![zephyr_id(), atlas_id()]);
            w.changes.expect_apply().never();
        },
        delete(r#"{"confirm": true}"#),
    )
    .await;

    assert_answer(&a, 422, OWNS);
}

#[actix_web::test]
async fn a_password_change_that_won_the_race_answers_as_a_revoked_token() {
    let a = call(
        |w| {
            w.caller_since(Some(auth_time())).owns(Vec::new());
            w.changes
                .expect_apply()
                .times(1)
                .return_once(|_, _| Ok(Applied::Refused(Conflict::UserChanged)));
        },
        delete(r#"{"confirm": true}"#),
    )
    .await;

    assert_denied(&a);
}

#[actix_web::test]
async fn a_broken_project_store_is_a_500_that_leaks_nothing() {
    let a = call(
        |w| {
            w.caller_since(Some(auth_time()));
            w.projects
                .expect_owned_by()
                .times(1)
                .return_once(|_| Err(unexpected()));
            w.changes.expect_apply().never();
        },
        delete(r#"{"confirm": true}"#),
    )
    .await;

    assert_answer(&a, 500, INTERNAL);
}

#[actix_web::test]
async fn a_soft_locked_account_is_told_to_wait() {
    // The app's own state, whose deletion service checks passwords under
    // a throttle that has Ann's name locked for one more second.
    let mut world = World::new();
    world.caller_since(Some(now().plus_seconds(-3600)));
    world.hasher.expect_verify().never();
    world.changes.expect_apply().never();
    let mut state = world.into_state();

    let mut clock = MockClock::new();
    clock.expect_now().return_const(now());
    let mut throttle = MockLoginThrottle::new();
    throttle.expect_begin().times(1).return_once(|_, _, _| {
        Ok((
            7,
            vec![
                now().plus_seconds(-40),
                now().plus_seconds(-30),
                now().plus_seconds(-20),
                now().plus_millis(-300),
            ],
        ))
    });
    throttle.expect_forget().times(1).returning(|_| Ok(()));
    let mut owned = MockProjectRepository::new();
    owned
        .expect_owned_by()
        .times(1)
        .return_once(|_| Ok(Vec::new()));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().never();
    let mut changes = crate::testing::audit_only_changes();
    changes.expect_apply().never();
    let ports = Ports {
        users: Arc::new(MockUserRepository::new()),
        challenges: Arc::new(MockChallengeRepository::new()),
        changes: Arc::new(changes),
        limiter: Arc::new(MockRateLimiter::new()),
        hasher: Arc::new(hasher),
        clock: Arc::new(clock),
        random: Arc::new(MockRandom::new()),
        admission: Default::default(),
    };
    let owned: Arc<dyn accountd_ports::ProjectRepository> = Arc::new(owned);
    let sessions = Sessions::new(
        ports.clone(),
        Arc::new(MockTokenService::new()),
        owned.clone(),
        Arc::new(throttle),
        900,
    );
    state.account_deletion = AccountDeletion::new(ports, sessions, owned);

    let app = test::init_service(App::new().configure(configure(web::Data::new(state)))).await;
    let res = test::call_service(
        &app,
        delete(r#"{"confirm": true, "current_password": "guess"}"#).to_request(),
    )
    .await;
    let a = Answer {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: String::from_utf8(test::read_body(res).await.to_vec()).unwrap(),
    };

    assert_retry(&a, 429, &retry_body(429, "Too many requests", 1), "1");
}
