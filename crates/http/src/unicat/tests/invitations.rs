//! HTTP tests of the invitee's routes (`account/accept_invite`,
//! `account/decline_invite`, `account/leave_project`, `decline_invite`,
//! `init_invite`) and the decline page, every body byte for byte.

use super::*;
use accountd_domain::{ChangeSet, Conflict, Invitation};

const ACCEPT: &str = "/api/account/accept_invite";
const DECLINE: &str = "/api/account/decline_invite";
const LEAVE: &str = "/api/account/leave_project";
const PUBLIC_DECLINE: &str = "/api/decline_invite";
const INIT_INVITE: &str = "/api/init_invite";
const PAGE: &str = "/invite/decline";

const LINK_TOKEN: &str = "tok-of-the-link";
const EMPTY_SUCCESS: &str = r#"{"success":true,"result":{},"data":{}}"#;
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Zephyr, short form (what an invitee sees).
const ZEPHYR_SHORT: &str = r#"{"gid":"04040404-0404-4404-8404-040404040404","name":"Zephyr","icon":"icons/zephyr.png","owner":"02020202-0202-4202-8202-020202020202","status":"active"}"#;
/// Zephyr in the whole form (an active member's view).
const ZEPHYR: &str = r#"{"gid":"04040404-0404-4404-8404-040404040404","name":"Zephyr","icon":"icons/zephyr.png","owner":"02020202-0202-4202-8202-020202020202","status":"active","options":{"timezone":"UTC","languages":["de"]}}"#;
const ANN_SHORT: &str = r#"{"gid":"01010101-0101-4101-8101-010101010101","username":"ann","name":"","avatar":null,"status":"active"}"#;
const BOB_SHORT: &str = r#"{"gid":"02020202-0202-4202-8202-020202020202","username":"bob","name":"Bob Baker","avatar":null,"status":"active"}"#;

fn ann_row(status: &str) -> String {
    format!(
        r#"{{"project_gid":"{ZEPHYR_GID}","user_gid":"{ANN_GID}","status":"{status}","roles":["member"],"options":{{"notifications":{{"email":"ann@example.com","events":["all"],"frequency":"immediate"}},"rate_limit_per_second":null}}}}"#
    )
}

fn unprocessable(reason: &str) -> String {
    format!(
        r#"{{"success":false,"result":{{"code":422,"message":"Unprocessable Entity","info":{{"reason":"{reason}"}}}},"data":{{}}}}"#
    )
}

fn invite_invalid(reason: &str) -> String {
    format!(
        r#"{{"success":false,"result":{{"code":1004,"message":"Invite invalid","info":{{"reason":"{reason}"}}}},"data":{{}}}}"#
    )
}

fn bob() -> User {
    User {
        id: bob_id(),
        username: Some(Username::parse("bob").unwrap()),
        emails: vec![email("bob@example.com")],
        name: "Bob Baker".into(),
        ..ann()
    }
}

/// Sent by Bob 100 s before [`now`], expiring `ttl` seconds after that.
fn invitation(ttl: i64) -> Invitation {
    Invitation::issue(&key(), LINK_TOKEN, bob_id(), now().plus_seconds(-100), ttl)
}

fn zephyr(status: ProjectStatus) -> Project {
    Project {
        status,
        ..zephyr_invitation(ann_id()).project
    }
}

/// Ann's row in Zephyr in `status`, with an invitation living `ttl` s.
fn ann_in_zephyr(status: MembershipStatus, ttl: i64) -> Membership {
    Membership {
        status,
        invitation: (status != MembershipStatus::Active).then(|| invitation(ttl)),
        ..zephyr_invitation(ann_id()).own
    }
}

impl World {
    /// Zephyr stored in `status` with Bob's owner row and `ann` (if any).
    fn stores_zephyr(&mut self, status: ProjectStatus, ann: Option<Membership>) -> &mut Self {
        self.projects
            .expect_get()
            .withf(|p| *p == zephyr_id())
            .returning(move |_| Ok(Some(zephyr(status))));
        let mut rows = vec![zephyr_invitation(ann_id())
            .owner_row
            .expect("Bob owns Zephyr")];
        rows.extend(ann);
        self.projects
            .expect_rows_of()
            .returning(move |_| Ok(rows.clone()));
        self
    }

    /// One own-row write of `ann`'s row as `next` from `expected`.
    fn puts(&mut self, next: Membership, expected: MembershipStatus) -> &mut Self {
        self.changes
            .expect_apply()
            .withf(move |set: &ChangeSet, t| {
                *t == now()
                    && set.mails().is_empty()
                    && set.changes()
                        == [
                            Change::ProjectIsActive(zephyr_id()),
                            Change::InvitationSentAt {
                                project: zephyr_id(),
                                user: next.user,
                                sent_at: Some(now().plus_seconds(-100)),
                            },
                            Change::PutMembership {
                                membership: next.clone(),
                                expected: Some(expected),
                            },
                        ]
            })
            .times(1)
            .returning(|_, _| Ok(Applied::Committed));
        self
    }

    /// Nothing is written or issued.
    fn untouched_rows(&mut self) -> &mut Self {
        self.changes.expect_apply().never();
        self.tokens.expect_issue().never();
        self
    }

    /// As Ann, her token verified.
    fn as_invitee(&mut self) -> &mut Self {
        self.token_verifies(3).gets_ann(Some(ann()))
    }
}

fn authed(path: &str, body: &str) -> TestRequest {
    post(path, body).insert_header((header::AUTHORIZATION, bearer()))
}

fn project_body() -> String {
    format!(r#"{{"project":"{ZEPHYR_GID}"}}"#)
}

fn link_body(token: &str) -> String {
    format!(r#"{{"invitee":"{ANN_GID}","project":"{ZEPHYR_GID}","token":"{token}"}}"#)
}

fn answered(project: &str, row: &str) -> String {
    format!(
        r#"{{"success":true,"result":{{"project":"{ZEPHYR_GID}"}},"data":{{"cc.projects":{{"{ZEPHYR_GID}":{project}}},"cc.projects_members":[{row}]}}}}"#
    )
}

// ------------------------------------------------------------------ accept

#[actix_rt::test]
async fn accept_makes_the_row_active_and_answers_the_whole_project_and_the_row() {
    let a = call(
        |w| {
            w.as_invitee()
                .stores_zephyr(
                    ProjectStatus::Active,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 600)),
                )
                .puts(
                    Membership {
                        status: MembershipStatus::Active,
                        invitation: None,
                        ..ann_in_zephyr(MembershipStatus::Invited, 600)
                    },
                    MembershipStatus::Invited,
                )
                .issues_with(ann_id(), 3, Some(auth_time()));
        },
        authed(ACCEPT, &project_body()),
    )
    .await;

    assert_session(&a, &answered(ZEPHYR, &ann_row("active")));
}

#[actix_rt::test]
async fn accept_of_a_declined_or_an_expired_invitation_answers_1004_with_its_reason() {
    for (row, reason) in [
        (
            ann_in_zephyr(MembershipStatus::Declined, 600),
            "invite_declined",
        ),
        (
            ann_in_zephyr(MembershipStatus::Invited, 50),
            "invite_expired",
        ),
    ] {
        let a = call(
            |w| {
                w.as_invitee()
                    .stores_zephyr(ProjectStatus::Active, Some(row))
                    .untouched_rows();
            },
            authed(ACCEPT, &project_body()),
        )
        .await;

        assert_answer(&a, 422, &invite_invalid(reason));
    }
}

#[actix_rt::test]
async fn accept_on_a_deleted_project_answers_422_project_deleted_before_the_1004() {
    let a = call(
        |w| {
            w.as_invitee()
                .stores_zephyr(
                    ProjectStatus::Deleted,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 50)),
                )
                .untouched_rows();
        },
        authed(ACCEPT, &project_body()),
    )
    .await;

    assert_answer(&a, 422, &unprocessable("project_deleted"));
}

#[actix_rt::test]
async fn the_own_row_routes_without_the_row_or_for_an_unknown_project_answer_422() {
    for path in [ACCEPT, DECLINE, LEAVE] {
        let a = call(
            |w| {
                w.as_invitee()
                    .stores_zephyr(ProjectStatus::Active, None)
                    .untouched_rows();
            },
            authed(path, &project_body()),
        )
        .await;
        assert_answer(&a, 422, UNPROCESSABLE);

        let a = call(
            |w| {
                w.as_invitee().untouched_rows();
                w.projects.expect_get().times(1).returning(|_| Ok(None));
            },
            authed(path, &format!(r#"{{"project":"{NEW_GID}"}}"#)),
        )
        .await;
        assert_answer(&a, 422, UNPROCESSABLE);
    }
}

#[actix_rt::test]
async fn the_own_row_routes_check_the_token_then_the_project_parameter() {
    for path in [ACCEPT, DECLINE, LEAVE] {
        let a = refused(post(path, &project_body())).await;
        assert_denied(&a);

        for (body, want) in [
            ("{}", bad_request("project", "missing")),
            (r#"{"project":42}"#, bad_request("project", "invalid_type")),
            (
                r#"{"project":"not-a-gid"}"#,
                bad_request("project", "invalid_value"),
            ),
            ("[1]", MALFORMED.to_owned()),
        ] {
            let a = call(
                |w| {
                    w.as_invitee().untouched_rows();
                    w.projects.expect_get().never();
                },
                authed(path, body),
            )
            .await;
            assert_answer(&a, 400, &want);
        }
    }
}

#[actix_rt::test]
async fn an_accept_with_the_database_unavailable_answers_503_and_writes_nothing() {
    let a = call(
        |w| {
            w.as_invitee().untouched_rows();
            w.projects.expect_get().returning(|_| Err(unavailable()));
        },
        authed(ACCEPT, &project_body()),
    )
    .await;

    assert_retry(&a, 503, &retry_body(503, "Service unavailable", 5), "5");
}

// ----------------------------------------------------------------- decline

#[actix_rt::test]
async fn decline_makes_the_row_declined_and_answers_the_short_project_and_the_row() {
    let a = call(
        |w| {
            w.as_invitee()
                .stores_zephyr(
                    ProjectStatus::Active,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 50)),
                )
                .puts(
                    ann_in_zephyr(MembershipStatus::Declined, 50),
                    MembershipStatus::Invited,
                )
                .issues_with(ann_id(), 3, Some(auth_time()));
        },
        authed(DECLINE, &project_body()),
    )
    .await;

    assert_session(&a, &answered(ZEPHYR_SHORT, &ann_row("declined")));
}

// ------------------------------------------------------------------- leave

#[actix_rt::test]
async fn leave_removes_the_row_and_answers_empty_with_a_fresh_token() {
    let a = call(
        |w| {
            w.as_invitee()
                .stores_zephyr(
                    ProjectStatus::Active,
                    Some(ann_in_zephyr(MembershipStatus::Active, 0)),
                )
                .issues_with(ann_id(), 3, Some(auth_time()));
            w.changes
                .expect_apply()
                .withf(|set: &ChangeSet, _| {
                    set.changes()
                        == [Change::RemoveMembership {
                            project: zephyr_id(),
                            user: ann_id(),
                            expected: MembershipStatus::Active,
                        }]
                })
                .times(1)
                .returning(|_, _| Ok(Applied::Committed));
        },
        authed(LEAVE, &project_body()),
    )
    .await;

    assert_session(&a, EMPTY_SUCCESS);
}

#[actix_rt::test]
async fn the_owner_leaving_answers_422_owner_cannot_leave() {
    let a = call(
        |w| {
            w.clock();
            w.tokens.expect_verify().times(1).return_once(|_, _| {
                Ok(TokenClaims {
                    user: bob_id(),
                    version: 3,
                    auth_time: Some(auth_time()),
                })
            });
            w.users
                .expect_get()
                .withf(|u| *u == bob_id())
                .times(1)
                .return_once(|_| Ok(Some(bob())));
            w.stores_zephyr(ProjectStatus::Active, None)
                .untouched_rows();
        },
        authed(LEAVE, &project_body()),
    )
    .await;

    assert_answer(&a, 422, &unprocessable("owner_cannot_leave"));
}

#[actix_rt::test]
async fn a_leave_that_keeps_losing_its_guard_answers_503() {
    let a = call(
        |w| {
            w.as_invitee().stores_zephyr(
                ProjectStatus::Active,
                Some(ann_in_zephyr(MembershipStatus::Active, 0)),
            );
            w.tokens.expect_issue().never();
            w.changes
                .expect_apply()
                .times(3)
                .returning(|_, _| Ok(Applied::Refused(Conflict::MembershipChanged)));
        },
        authed(LEAVE, &project_body()),
    )
    .await;

    assert_eq!(a.status, 503);
}

// ---------------------------------------------------------- public decline

#[actix_rt::test]
async fn the_public_decline_with_the_latest_token_declines_without_a_session() {
    let a = call(
        |w| {
            w.clock()
                .stores_zephyr(
                    ProjectStatus::Active,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 600)),
                )
                .puts(
                    ann_in_zephyr(MembershipStatus::Declined, 600),
                    MembershipStatus::Invited,
                );
            w.tokens.expect_verify().never();
            w.tokens.expect_issue().never();
        },
        post(PUBLIC_DECLINE, &link_body(LINK_TOKEN)),
    )
    .await;

    assert_answer(&a, 200, &answered(ZEPHYR_SHORT, &ann_row("declined")));
}

#[actix_rt::test]
async fn the_public_routes_answer_422_for_a_wrong_or_expired_token_or_no_invitation() {
    for path in [PUBLIC_DECLINE, INIT_INVITE] {
        for (row, token) in [
            (Some(ann_in_zephyr(MembershipStatus::Invited, 600)), "wrong"),
            (Some(ann_in_zephyr(MembershipStatus::Invited, 600)), ""),
            (
                Some(ann_in_zephyr(MembershipStatus::Invited, 50)),
                LINK_TOKEN,
            ),
            (
                Some(ann_in_zephyr(MembershipStatus::Declined, 600)),
                LINK_TOKEN,
            ),
            (None, LINK_TOKEN),
        ] {
            let a = call(
                |w| {
                    w.clock()
                        .stores_zephyr(ProjectStatus::Active, row)
                        .untouched_rows();
                    w.users.expect_get_many().never();
                },
                post(path, &link_body(token)),
            )
            .await;

            assert_answer(&a, 422, UNPROCESSABLE);
        }
    }
}

#[actix_rt::test]
async fn the_public_routes_name_the_first_offending_link_value() {
    for path in [PUBLIC_DECLINE, INIT_INVITE] {
        for (body, want) in [
            ("{}".to_owned(), bad_request("invitee", "missing")),
            (
                format!(r#"{{"invitee":"x","token":"{LINK_TOKEN}"}}"#),
                bad_request("invitee", "invalid_value"),
            ),
            (
                format!(r#"{{"invitee":"{ANN_GID}","token":"t"}}"#),
                bad_request("project", "missing"),
            ),
            (
                format!(r#"{{"invitee":"{ANN_GID}","project":"{ZEPHYR_GID}"}}"#),
                bad_request("token", "missing"),
            ),
            (
                format!(r#"{{"invitee":"{ANN_GID}","project":"{ZEPHYR_GID}","token":7}}"#),
                bad_request("token", "invalid_type"),
            ),
            ("nonsense".to_owned(), MALFORMED.to_owned()),
        ] {
            let a = refused(post(path, &body)).await;

            assert_answer(&a, 400, &want);
        }
    }
}

#[actix_rt::test]
async fn the_public_decline_of_a_deleted_project_answers_422_project_deleted() {
    let a = call(
        |w| {
            w.clock()
                .stores_zephyr(
                    ProjectStatus::Deleted,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 600)),
                )
                .untouched_rows();
        },
        post(PUBLIC_DECLINE, &link_body(LINK_TOKEN)),
    )
    .await;

    assert_answer(&a, 422, &unprocessable("project_deleted"));
}

// ------------------------------------------------------------- init_invite

#[actix_rt::test]
async fn init_invite_answers_the_short_project_the_inviter_the_invitee_and_the_row() {
    let a = call(
        |w| {
            w.clock()
                .stores_zephyr(
                    ProjectStatus::Active,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 600)),
                )
                .untouched_rows();
            w.users
                .expect_get_many()
                .withf(|ids| ids == [ann_id(), bob_id()])
                .times(1)
                .returning(|_| Ok(vec![ann(), bob()]));
        },
        post(INIT_INVITE, &link_body(LINK_TOKEN)),
    )
    .await;

    assert_answer(
        &a,
        200,
        &format!(
            r#"{{"success":true,"result":{{"project":"{ZEPHYR_GID}","invitee":"{ANN_GID}"}},"data":{{"cc.projects":{{"{ZEPHYR_GID}":{ZEPHYR_SHORT}}},"cc.users":{{"{BOB_GID}":{BOB_SHORT},"{ANN_GID}":{ANN_SHORT}}},"cc.projects_members":[{}]}}}}"#,
            ann_row("invited")
        ),
    );
}

// -------------------------------------------------------------------- page

#[track_caller]
fn assert_page(a: &Answer, status: u16, title: &str, body: &str) {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{title}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:34rem;\
         margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}}\
         button{{font-size:1rem;padding:.5rem 1.25rem;cursor:pointer}}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n{body}\n</body>\n</html>\n"
    );
    assert_eq!((a.status, a.body.as_str()), (status, html.as_str()));
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(a.header("content-security-policy"), Some(CSP));
    assert_eq!(a.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    assert_eq!(a.header("authorization"), None);
}

fn page_uri(token: &str) -> String {
    format!("{PAGE}?invitee={ANN_GID}&project={ZEPHYR_GID}&token={token}")
}

const INCOMPLETE: &str =
    "<p>This link is incomplete. Open the link from the email again, exactly as it was sent.</p>";
const NO_LONGER_VALID: &str = "<p>This invitation link is no longer valid: the invitation was \
                               declined, accepted, withdrawn or sent again with a newer link, \
                               or it has expired. Nothing was changed.</p>";

#[actix_rt::test]
async fn the_page_names_the_escaped_project_and_inviter_with_one_button_and_changes_nothing() {
    let a = call(
        |w| {
            w.clock().untouched_rows();
            w.projects.expect_get().returning(|_| {
                Ok(Some(Project {
                    name: "Zeph<yr> & \"co\"".into(),
                    ..zephyr(ProjectStatus::Active)
                }))
            });
            w.projects
                .expect_rows_of()
                .returning(|_| Ok(vec![ann_in_zephyr(MembershipStatus::Invited, 600)]));
            w.users.expect_get_many().times(1).returning(|_| {
                Ok(vec![
                    ann(),
                    User {
                        name: "<b>Bob</b>".into(),
                        ..bob()
                    },
                ])
            });
        },
        TestRequest::get()
            .uri(&page_uri(LINK_TOKEN))
            .peer_addr(PEER.parse().unwrap()),
    )
    .await;

    assert_page(
        &a,
        200,
        "Decline the invitation",
        &format!(
            "<p><strong>&lt;b&gt;Bob&lt;/b&gt; (bob)</strong> invited you to the project \
             <strong>Zeph&lt;yr&gt; &amp; &quot;co&quot;</strong>.</p>\n\
             <p>If you do not want to join, decline the invitation: the project's owner will \
             see that you declined. To join instead, sign in (or sign up with the address the \
             invitation was sent to) and accept it there.</p>\n\
             <form method=\"post\">\n\
             <input type=\"hidden\" name=\"invitee\" value=\"{ANN_GID}\">\n\
             <input type=\"hidden\" name=\"project\" value=\"{ZEPHYR_GID}\">\n\
             <input type=\"hidden\" name=\"token\" value=\"{LINK_TOKEN}\">\n\
             <button type=\"submit\">Decline the invitation</button>\n</form>"
        ),
    );
}

#[actix_rt::test]
async fn the_page_with_a_missing_or_bad_value_answers_400_and_reads_nothing() {
    for uri in [
        PAGE.to_owned(),
        format!("{PAGE}?invitee={ANN_GID}&project={ZEPHYR_GID}"),
        format!("{PAGE}?invitee={ANN_GID}&project={ZEPHYR_GID}&token="),
        format!("{PAGE}?invitee=nope&project={ZEPHYR_GID}&token=t"),
        format!("{PAGE}?invitee={ANN_GID}&project=%ZZ&token=t"),
    ] {
        let a = refused(
            TestRequest::get()
                .uri(&uri)
                .peer_addr(PEER.parse().unwrap()),
        )
        .await;
        assert_page(&a, 400, "Decline the invitation", INCOMPLETE);
    }
}

#[actix_rt::test]
async fn the_page_of_a_wrong_token_answers_422_and_changes_nothing() {
    let a = call(
        |w| {
            w.clock()
                .stores_zephyr(
                    ProjectStatus::Active,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 600)),
                )
                .untouched_rows();
        },
        TestRequest::get()
            .uri(&page_uri("wrong"))
            .peer_addr(PEER.parse().unwrap()),
    )
    .await;

    assert_page(&a, 422, "This link is no longer valid", NO_LONGER_VALID);
}

#[actix_rt::test]
async fn the_pages_form_post_declines_and_says_so() {
    let a = call(
        |w| {
            w.clock()
                .stores_zephyr(
                    ProjectStatus::Active,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 600)),
                )
                .puts(
                    ann_in_zephyr(MembershipStatus::Declined, 600),
                    MembershipStatus::Invited,
                );
        },
        post_form(
            &page_uri(LINK_TOKEN),
            &format!("invitee={ANN_GID}&project={ZEPHYR_GID}&token={LINK_TOKEN}"),
        ),
    )
    .await;

    assert_page(
        &a,
        200,
        "The invitation was declined",
        "<p>You declined the invitation to the project <strong>Zephyr</strong>. Nothing else \
         is needed; the project's owner can invite you again.</p>",
    );
}

#[actix_rt::test]
async fn the_pages_post_takes_the_querys_values_when_the_form_has_none() {
    let a = call(
        |w| {
            w.clock()
                .stores_zephyr(
                    ProjectStatus::Active,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 600)),
                )
                .puts(
                    ann_in_zephyr(MembershipStatus::Declined, 600),
                    MembershipStatus::Invited,
                );
        },
        post_form(&page_uri(LINK_TOKEN), ""),
    )
    .await;

    assert_eq!(a.status, 200, "{}", a.body);
}

#[actix_rt::test]
async fn the_pages_post_refusals_are_pages_never_a_500() {
    // A wrong token, a declined row: 422, nothing written.
    for row in [
        ann_in_zephyr(MembershipStatus::Declined, 600),
        ann_in_zephyr(MembershipStatus::Invited, 50),
    ] {
        let a = call(
            |w| {
                w.clock()
                    .stores_zephyr(ProjectStatus::Active, Some(row))
                    .untouched_rows();
            },
            post_form(
                PAGE,
                &format!("invitee={ANN_GID}&project={ZEPHYR_GID}&token={LINK_TOKEN}"),
            ),
        )
        .await;
        assert_page(&a, 422, "This link is no longer valid", NO_LONGER_VALID);
    }
    // A deleted project.
    let a = call(
        |w| {
            w.clock()
                .stores_zephyr(
                    ProjectStatus::Deleted,
                    Some(ann_in_zephyr(MembershipStatus::Invited, 600)),
                )
                .untouched_rows();
        },
        post_form(
            PAGE,
            &format!("invitee={ANN_GID}&project={ZEPHYR_GID}&token={LINK_TOKEN}"),
        ),
    )
    .await;
    assert_page(
        &a,
        422,
        "This project was deleted",
        "<p>The project of this invitation was deleted, so there is nothing to decline. \
         Nothing was changed.</p>",
    );
    // Missing values, a body that is no form.
    for body in ["", "invitee=x&project=y&token=z"] {
        let a = refused(post_form(PAGE, body)).await;
        assert_page(&a, 400, "Decline the invitation", INCOMPLETE);
    }
    // The database unavailable: 503 with Retry-After.
    let a = call(
        |w| {
            w.untouched_rows();
            w.projects.expect_get().returning(|_| Err(unavailable()));
        },
        post_form(
            PAGE,
            &format!("invitee={ANN_GID}&project={ZEPHYR_GID}&token={LINK_TOKEN}"),
        ),
    )
    .await;
    assert_eq!(a.status, 503);
    assert_eq!(a.header("retry-after"), Some("5"));
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
}
