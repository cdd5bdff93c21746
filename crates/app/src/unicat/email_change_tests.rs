//! Unit tests of `update_email_request`, `update_email` and
//! `revert_email`, with every port mocked.

use super::*;
use crate::test_writes::{ChallengeEffect, ConsumeOutcome};
use crate::unicat::test_support::*;
use accountd_domain::{
    validation_code_text, Challenge, ChallengeState, OutgoingMail, UserId, UserStatus,
};
use accountd_ports::{Applied, RateDecision};
use std::sync::{Arc, Mutex};

/// What one `issue` call stored.
type Issued = Arc<Mutex<Vec<(Challenge, Vec<OutgoingMail>)>>>;
/// What one `consume` call applied.
type Consumed = Arc<Mutex<Vec<(ChallengeEffect, Vec<OutgoingMail>)>>>;

fn service(m: Mocks) -> EmailChange {
    let (ports, sessions) = m.build();
    EmailChange::new(ports, sessions, key(), settings())
}

/// A login five minutes before t(0): recent.
fn recent() -> Option<Timestamp> {
    Some(t(-300))
}

/// A login an hour before t(0): stale.
fn stale() -> Option<Timestamp> {
    Some(t(-3600))
}

fn new_address() -> Email {
    email("Ann.New@Example.org")
}

/// One fresh token for Ann carrying `auth_time`, issued at `now`.
fn token_for(mut m: Mocks, user: &User, auth_time: Option<Timestamp>, now: Timestamp) -> Mocks {
    let (id, version) = (user.id, user.credential_version);
    m.tokens
        .expect_issue()
        .withf(move |u, v, a, n| (*u, *v, *a, *n) == (id, version, auth_time, now))
        .times(1)
        .returning(|_, _, _, _| Ok(TOKEN.to_owned()));
    m
}

fn untouched(mut m: Mocks) -> Mocks {
    m.limiter.expect_hit().never();
    m.hasher.expect_verify().never();
    m.tokens.expect_issue().never();
    m.nothing_drawn().no_challenge_issued()
}

fn account_hit(m: Mocks, decision: RateDecision) -> Mocks {
    m.hit(
        &format!("challenges:user:{}", ann().id),
        code_limits(),
        t(0),
        decision,
    )
}

async fn request(
    m: Mocks,
    auth_time: Option<Timestamp>,
    email: &str,
    password: Option<&str>,
) -> Result<EmailChangeRequested, EmailChangeRequestError> {
    let password = password.map(|p| Secret::from(p.to_owned()));
    service(m)
        .request(&ann(), auth_time, email, password.as_ref(), CLIENT)
        .await
}

fn invalid_of<T: std::fmt::Debug>(r: Result<T, EmailChangeRequestError>) -> Invalid {
    match r {
        Err(EmailChangeRequestError::Invalid(i)) => i,
        other => panic!("expected a refused value, got {other:?}"),
    }
}

// ------------------------------------------------------ update_email_request

#[tokio::test]
async fn a_request_issues_a_change_email_challenge_and_mails_the_code_to_the_new_address() {
    let issued: Issued = Arc::default();
    let sink = issued.clone();
    let mut m = account_hit(Mocks::new().at(t(0)).ip_allowed(), RateDecision::Allowed).draws();
    m.writes.expect_issue().times(1).returning(move |c, mails| {
        sink.lock().unwrap().push((c, mails));
        Ok(())
    });
    let m = token_for(m, &ann(), recent(), t(0));

    let r = request(m, recent(), "Ann.New@Example.org", None)
        .await
        .unwrap();

    assert_eq!(r.validation_code, drawn_validation_code());
    assert_eq!(r.token, TOKEN);
    let issued = issued.lock().unwrap();
    let (c, mails) = &issued[0];
    assert_eq!(c.purpose(), Purpose::ChangeEmail);
    assert_eq!(
        c.subject(),
        &Subject::EmailChange {
            user: ann().id,
            new_email: new_address(),
        }
    );
    assert_eq!(c.max_failures(), 5);
    assert_eq!(c.expires_at(), t(900));
    assert_eq!(
        c.lookup(),
        Some(&Challenge::lookup_mac(
            &key(),
            Purpose::ChangeEmail,
            &drawn_validation_code()
        ))
    );
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), "Ann.New@Example.org");
    assert_eq!(code_in(&mails[0].text), CODE);
    assert_eq!(mails[0].not_after, Some(t(900)));
}

#[tokio::test]
async fn an_invalid_address_is_email_invalid_and_nothing_else_happens() {
    let i = invalid_of(request(untouched(Mocks::new()), recent(), "not-an-address", None).await);
    assert_eq!((i.field, i.reason), ("email", Reason::EmailInvalid));
}

#[tokio::test]
async fn the_current_primary_address_in_any_case_is_nothing_to_update() {
    let i = invalid_of(request(untouched(Mocks::new()), stale(), "ANN@example.COM", None).await);
    assert_eq!((i.field, i.reason), ("email", Reason::NothingToUpdate));
}

#[tokio::test]
async fn a_secondary_address_may_become_the_primary_one() {
    let mut m = account_hit(Mocks::new().at(t(0)).ip_allowed(), RateDecision::Allowed).draws();
    m.writes.expect_issue().times(1).returning(|_, _| Ok(()));
    let m = token_for(m, &ann(), recent(), t(0));
    assert!(request(m, recent(), "a.lee@work.example", None)
        .await
        .is_ok());
}

#[tokio::test]
async fn a_stale_session_without_a_password_is_refused_before_any_limit_counts() {
    let m = untouched(Mocks::new().at(t(0)));
    let r = request(m, stale(), "Ann.New@Example.org", None).await;
    assert!(matches!(
        r,
        Err(EmailChangeRequestError::RecentAuth(
            RecentAuthError::Required
        ))
    ));
}

#[tokio::test]
async fn a_stale_session_with_the_right_password_passes_and_the_token_carries_now() {
    let mut m = account_hit(Mocks::new().at(t(0)).ip_allowed(), RateDecision::Allowed).draws();
    m.hasher
        .expect_verify()
        .withf(|p, h| p == STRONG && *h == ann().password_hash)
        .times(1)
        .returning(|_, _| Ok(true));
    m.writes.expect_issue().times(1).returning(|_, _| Ok(()));
    let m = token_for(m, &ann(), Some(t(0)), t(0));

    let r = request(m, stale(), "Ann.New@Example.org", Some(STRONG)).await;

    assert_eq!(r.unwrap().token, TOKEN);
}

#[tokio::test]
async fn a_stale_session_with_a_wrong_password_is_refused() {
    let mut m = Mocks::new().at(t(0));
    m.hasher
        .expect_verify()
        .times(1)
        .returning(|_, _| Ok(false));
    m.limiter.expect_hit().never();
    let m = m.nothing_drawn().no_challenge_issued();
    let r = request(m, stale(), "Ann.New@Example.org", Some(WEAK)).await;
    assert!(matches!(
        r,
        Err(EmailChangeRequestError::RecentAuth(
            RecentAuthError::Required
        ))
    ));
}

#[tokio::test]
async fn a_client_over_its_step1_limit_gets_too_many_requests_and_nothing_is_issued() {
    let mut m = Mocks::new().at(t(0)).hit(
        &format!("step1:ip:{CLIENT}"),
        ip_limits(),
        t(0),
        RateDecision::Limited {
            retry_after_seconds: 12,
        },
    );
    m.tokens.expect_issue().never();
    let m = m.nothing_drawn().no_challenge_issued();
    let r = request(m, recent(), "Ann.New@Example.org", None).await;
    assert!(matches!(
        r,
        Err(EmailChangeRequestError::TooManyRequests(RateLimited {
            retry_after_seconds: 12
        }))
    ));
}

#[tokio::test]
async fn an_account_over_its_code_limit_shared_with_resets_gets_too_many_requests() {
    let mut m = account_hit(
        Mocks::new().at(t(0)).ip_allowed(),
        RateDecision::Limited {
            retry_after_seconds: 60,
        },
    );
    m.tokens.expect_issue().never();
    let m = m.nothing_drawn().no_challenge_issued();
    let r = request(m, recent(), "Ann.New@Example.org", None).await;
    assert!(matches!(
        r,
        Err(EmailChangeRequestError::TooManyRequests(RateLimited {
            retry_after_seconds: 60
        }))
    ));
}

// -------------------------------------------------------------- update_email

/// The bytes16 draws of the revert token.
const TOKEN_HALF: [u8; 16] = [8; 16];

fn revert_token() -> String {
    validation_code_text(&[8; 32])
}

fn change_challenge(user: UserId) -> Challenge {
    challenge(
        Purpose::ChangeEmail,
        Subject::EmailChange {
            user,
            new_email: new_address(),
        },
    )
}

/// A step-2 call at t(60) finding `found`.
fn step2(found: Option<Challenge>) -> Mocks {
    Mocks::new().at(t(60)).lookup(Purpose::ChangeEmail, found)
}

fn input(email: &str, code: &str) -> EmailChangeInput {
    EmailChangeInput {
        email: email.to_owned(),
        validation_code: held_validation_code().into(),
        verification_code: code.to_owned().into(),
    }
}

async fn complete(
    m: Mocks,
    user: &User,
    email: &str,
    code: &str,
) -> Result<EmailChanged, EmailChangeError> {
    service(m)
        .complete(user, recent(), input(email, code))
        .await
}

fn refusal(r: Result<EmailChanged, EmailChangeError>) -> Invalid {
    match r {
        Err(EmailChangeError::Invalid(i)) => i,
        other => panic!("expected a refused value, got {other:?}"),
    }
}

fn no_write(mut m: Mocks) -> Mocks {
    m.tokens.expect_issue().never();
    m.nothing_drawn().nothing_consumed()
}

#[tokio::test]
async fn a_right_code_changes_the_primary_address_issues_a_revert_token_and_notifies_the_old_one() {
    let consumed: Consumed = Arc::default();
    let sink = consumed.clone();
    let mut m = step2(Some(change_challenge(ann().id))).no_failure_counted();
    m.random.expect_bytes16().times(2).return_const(TOKEN_HALF);
    m.writes
        .expect_consume()
        .withf(|id, now, _, _| *id == change_challenge(ann().id).id() && *now == t(60))
        .times(1)
        .returning(move |_, _, effect, mails| {
            sink.lock().unwrap().push((effect, mails));
            Ok(ConsumeOutcome::Applied)
        });
    let changed = User {
        emails: vec![new_address(), email("a.lee@work.example")],
        ..ann()
    };
    let m = token_for(m, &changed, recent(), t(60));

    let r = complete(m, &ann(), "ann.new@example.ORG", CODE)
        .await
        .unwrap();

    assert_eq!(r.user, changed, "the version stays: sessions stay valid");
    assert_eq!(r.token, TOKEN);
    let consumed = consumed.lock().unwrap();
    let (effect, mails) = &consumed[0];
    assert_eq!(
        effect,
        &ChallengeEffect::SetPrimaryEmail {
            user: ann().id,
            expected_version: 3,
            email: new_address(),
            revert: Some(EmailRevert::issue(
                &key(),
                &revert_token(),
                ann().id,
                email("ann@example.com"),
                new_address(),
                t(60),
                604_800,
            )),
        }
    );
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), "ann@example.com");
    let link = format!(
        "https://accounts.example.com/account/revert-email?token={}",
        revert_token()
    );
    assert!(mails[0].text.contains(&link), "{}", mails[0].text);
}

#[tokio::test]
async fn an_account_without_an_address_gets_one_without_a_notice_or_a_revert_token() {
    let bare = user(1, "Ann", UserStatus::Active, &[]);
    let mut m = step2(Some(change_challenge(bare.id))).no_failure_counted();
    m.random.expect_bytes16().never();
    m.writes
        .expect_consume()
        .withf(|_, _, effect, mails| {
            mails.is_empty()
                && *effect
                    == ChallengeEffect::SetPrimaryEmail {
                        user: user_id(1),
                        expected_version: 3,
                        email: new_address(),
                        revert: None,
                    }
        })
        .times(1)
        .returning(|_, _, _, _| Ok(ConsumeOutcome::Applied));
    let changed = User {
        emails: vec![new_address()],
        ..bare.clone()
    };
    let m = token_for(m, &changed, recent(), t(60));

    let r = complete(m, &bare, "Ann.New@Example.org", CODE)
        .await
        .unwrap();

    assert_eq!(r.user.emails, [new_address()]);
}

#[tokio::test]
async fn an_unknown_validation_code_is_code_invalid_with_no_attempts_left() {
    let m = no_write(step2(None).no_failure_counted());
    let i = refusal(complete(m, &ann(), "Ann.New@Example.org", CODE).await);
    assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(0)));
}

#[tokio::test]
async fn another_accounts_challenge_counts_as_missing_and_spends_no_try() {
    let m = no_write(step2(Some(change_challenge(user_id(2)))).no_failure_counted());
    let i = refusal(complete(m, &ann(), "Ann.New@Example.org", CODE).await);
    assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(0)));
}

#[tokio::test]
async fn another_address_than_step_one_is_a_free_request_mismatch() {
    for typed in ["other@example.org", "not an address"] {
        let m = no_write(step2(Some(change_challenge(ann().id))).no_failure_counted());
        let i = refusal(complete(m, &ann(), typed, CODE).await);
        assert_eq!((i.field, i.reason), ("email", Reason::RequestMismatch));
    }
}

#[tokio::test]
async fn a_wrong_code_counts_one_failure_and_says_how_many_tries_are_left() {
    let mut m = no_write(step2(Some(change_challenge(ann().id))));
    m.challenges
        .expect_record_failure()
        .withf(|id, now| *id == change_challenge(ann().id).id() && *now == t(60))
        .times(1)
        .returning(|_, _| Ok(Some(1)));
    let i = refusal(complete(m, &ann(), "Ann.New@Example.org", WRONG_CODE).await);
    assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(4)));
}

#[tokio::test]
async fn an_expired_or_exhausted_code_is_refused_even_when_right() {
    let m = no_write(
        Mocks::new()
            .at(t(900))
            .lookup(Purpose::ChangeEmail, Some(change_challenge(ann().id))),
    )
    .no_failure_counted();
    let i = refusal(complete(m, &ann(), "Ann.New@Example.org", CODE).await);
    assert_eq!(i.reason, Reason::CodeExpired);

    let spent = with_failures(change_challenge(ann().id), 5);
    let m = no_write(step2(Some(spent))).no_failure_counted();
    let i = refusal(complete(m, &ann(), "Ann.New@Example.org", CODE).await);
    assert_eq!(i.reason, Reason::CodeExhausted);
}

#[tokio::test]
async fn a_change_that_loses_the_race_for_the_code_answers_from_the_reloaded_challenge() {
    let mut m = step2(Some(change_challenge(ann().id))).no_failure_counted();
    m.random.expect_bytes16().times(2).return_const(TOKEN_HALF);
    m.writes
        .expect_consume()
        .times(1)
        .returning(|_, _, _, _| Ok(ConsumeOutcome::NotOpen));
    let used = change_challenge(ann().id).consumed(t(61)).unwrap();
    assert_eq!(used.stored_state(), ChallengeState::Consumed);
    let m = m.lookup(Purpose::ChangeEmail, Some(used));
    let mut m = m;
    m.tokens.expect_issue().never();
    let i = refusal(complete(m, &ann(), "Ann.New@Example.org", CODE).await);
    assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(0)));
}

#[tokio::test]
async fn a_change_whose_account_moved_meanwhile_is_unavailable_and_answers_no_token() {
    let mut m = step2(Some(change_challenge(ann().id))).no_failure_counted();
    m.random.expect_bytes16().times(2).return_const(TOKEN_HALF);
    m.writes
        .expect_consume()
        .times(1)
        .returning(|_, _, _, _| Ok(ConsumeOutcome::UserChanged));
    m.tokens.expect_issue().never();
    let r = complete(m, &ann(), "Ann.New@Example.org", CODE).await;
    assert!(matches!(
        r,
        Err(EmailChangeError::Failure(Failure::Unavailable(_)))
    ));
}

// -------------------------------------------------------------- revert_email

fn stored_revert(spent_at: Option<Timestamp>) -> EmailRevert {
    let r = EmailRevert::issue(
        &key(),
        &revert_token(),
        ann().id,
        email("ann@example.com"),
        new_address(),
        t(0),
        604_800,
    );
    EmailRevert::restore_stored(
        *r.mac(),
        r.user(),
        r.restores().clone(),
        r.replaced_by().clone(),
        r.created_at(),
        r.expires_at(),
        spent_at,
    )
}

/// A revert at `now` whose token lookup answers `found`.
fn reverting(now: Timestamp, found: Option<EmailRevert>) -> Mocks {
    let mut m = Mocks::new().at(now);
    let want = EmailRevert::token_mac(&key(), &revert_token());
    m.users
        .expect_find_email_revert()
        .withf(move |mac| *mac == want)
        .times(1)
        .return_once(move |_| Ok(found));
    m
}

fn loads_ann(mut m: Mocks, found: Option<User>) -> Mocks {
    m.users
        .expect_get()
        .withf(|id| *id == ann().id)
        .times(1)
        .return_once(move |_| Ok(found));
    m
}

async fn revert(m: Mocks) -> Result<(), RevertEmailError> {
    service(m).revert(&revert_token()).await
}

#[tokio::test]
async fn a_usable_token_restores_the_address_ends_every_session_and_mails_the_restored_address() {
    let changed = User {
        emails: vec![new_address(), email("a.lee@work.example")],
        ..ann()
    };
    let mut m = loads_ann(reverting(t(60), Some(stored_revert(None))), Some(changed));
    let mac = EmailRevert::token_mac(&key(), &revert_token());
    m.writes
        .expect_revert()
        .withf(move |user, token_mac, restore, now, mails| {
            *user == ann().id
                && *token_mac == mac
                && restore.as_str() == "ann@example.com"
                && *now == t(60)
                && mails.len() == 1
                && mails[0].to.as_str() == "ann@example.com"
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(Applied::Committed));

    revert(m).await.unwrap();
}

#[tokio::test]
async fn an_unknown_spent_or_expired_token_is_unusable_and_nothing_is_written() {
    for (now, found) in [
        (t(60), None),
        (t(60), Some(stored_revert(Some(t(30))))),
        (t(604_800), Some(stored_revert(None))),
    ] {
        let mut m = reverting(now, found);
        m.users.expect_get().never();
        m.writes.expect_revert().never();
        assert!(matches!(revert(m).await, Err(RevertEmailError::Unusable)));
    }
}

#[tokio::test]
async fn a_token_of_an_account_no_longer_active_or_gone_is_unusable() {
    for found in [
        None,
        Some(User {
            status: UserStatus::Deleted,
            ..ann()
        }),
    ] {
        let mut m = loads_ann(reverting(t(60), Some(stored_revert(None))), found);
        m.writes.expect_revert().never();
        assert!(matches!(revert(m).await, Err(RevertEmailError::Unusable)));
    }
}

#[tokio::test]
async fn a_revert_that_loses_the_race_for_its_token_or_account_is_unusable() {
    for conflict in [Conflict::RevertSpent, Conflict::UserChanged] {
        let mut m = loads_ann(reverting(t(60), Some(stored_revert(None))), Some(ann()));
        m.writes
            .expect_revert()
            .times(1)
            .returning(move |_, _, _, _, _| Ok(Applied::Refused(conflict)));
        assert!(matches!(revert(m).await, Err(RevertEmailError::Unusable)));
    }
}

#[tokio::test]
async fn a_database_outage_while_finding_the_token_is_unavailable() {
    let mut m = Mocks::new().at(t(60));
    m.users
        .expect_find_email_revert()
        .times(1)
        .returning(|_| Err(unavailable()));
    assert!(matches!(
        revert(m).await,
        Err(RevertEmailError::Failure(Failure::Unavailable(_)))
    ));
}
