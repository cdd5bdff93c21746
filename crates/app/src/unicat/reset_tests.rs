//! Unit tests of `reset_password_request` and `reset_password`, with every
//! port mocked.

use super::*;
use crate::test_writes::{ChallengeEffect, ConsumeOutcome};
use crate::unicat::test_support::*;
use accountd_domain::{Attempt, Challenge, Conflict, Timestamp};
use accountd_domain::{
    ChallengeId, ChallengeState, OutgoingMail, PasswordHash, UserId, UserStatus,
};
use accountd_ports::{HashError, RateDecision};
use mockall::Sequence;
use std::sync::{Arc, Mutex};

const NEW_HASH: &str = "$2b$04$newhashnewhashnewhashnew";

fn service(m: Mocks, s: UnicatSettings) -> PasswordReset {
    let (ports, sessions) = m.build();
    PasswordReset::new(ports, sessions, key(), s)
}

fn new_hash() -> PasswordHash {
    hash(NEW_HASH)
}

fn bob() -> User {
    user(2, "bob", UserStatus::Active, &["Ann@Example.com"])
}

fn zoe() -> User {
    user(
        3,
        "zoe",
        UserStatus::Active,
        &["zoe@example.net", "ann@example.com"],
    )
}

fn carol_deleted() -> User {
    user(4, "carol", UserStatus::Deleted, &["ann@example.com"])
}

/// Every account with ann@example.com, as the store answers: oldest first,
/// not sorted by name, one of them deleted.
fn sharing_the_address() -> Vec<User> {
    vec![zoe(), carol_deleted(), ann(), bob()]
}

/// What one `issue` call stored.
type Issued = (Challenge, Vec<OutgoingMail>);

/// Captures the one challenge issued.
fn issued_into(mut m: Mocks, sink: Arc<Mutex<Vec<Issued>>>) -> Mocks {
    m.writes.expect_issue().times(1).returning(move |c, mails| {
        sink.lock().unwrap().push((c, mails));
        Ok(())
    });
    m
}

fn account_names(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("Account: "))
        .collect()
}

// ---------------------------------------------------- reset_password_request

/// A step-1 call at t(0) from a client under its limit.
fn step1() -> Mocks {
    Mocks::new().at(t(0)).ip_allowed()
}

/// One case-insensitive lookup of `name`, answering `found`; no email lookup.
fn by_name(mut m: Mocks, name: &'static str, found: Option<User>) -> Mocks {
    m.users
        .expect_find_by_username_ci()
        .withf(move |n| n == name)
        .times(1)
        .return_once(move |_| Ok(found));
    m.users.expect_find_by_email().never();
    m
}

/// One lookup of the accounts with `address` (any case), answering `found`;
/// no username lookup.
fn by_address(mut m: Mocks, address: &'static str, found: Vec<User>) -> Mocks {
    m.users
        .expect_find_by_email()
        .withf(move |e| e.key() == email(address).key())
        .times(1)
        .return_once(move |_| Ok(found));
    m.users.expect_find_by_username_ci().never();
    m
}

fn account_hit(m: Mocks, key: &str, decision: RateDecision) -> Mocks {
    m.hit(&format!("challenges:{key}"), code_limits(), t(0), decision)
}

/// One all-or-nothing set of issuance hits under exactly `keys` (each
/// prefixed `challenges:`) at t(0), answering `applied`.
fn hits_of(mut m: Mocks, keys: Vec<String>, applied: accountd_ports::Applied) -> Mocks {
    let want: Vec<(String, Vec<accountd_ports::Limit>)> = keys
        .into_iter()
        .map(|k| (format!("challenges:{k}"), code_limits()))
        .collect();
    m.writes
        .expect_hits()
        .withf(move |hits, now| *hits == want && *now == t(0))
        .times(1)
        .return_once(move |_, _| Ok(applied));
    m
}

/// The keys a reset by ann@example.com counts under: the address, then
/// every covered account.
fn address_keys(users: &[u8]) -> Vec<String> {
    std::iter::once("email:ann@example.com".to_owned())
        .chain(users.iter().map(|u| format!("user:{}", user_id(*u))))
        .collect()
}

fn nothing_issued(m: Mocks) -> Mocks {
    m.no_challenge_issued().nothing_drawn()
}

async fn request(
    m: Mocks,
    s: UnicatSettings,
    typed: &str,
) -> Result<ResetRequested, ResetRequestError> {
    service(m, s).request(typed, CLIENT).await
}

#[tokio::test]
async fn a_client_over_its_step1_limit_gets_too_many_requests_with_the_retry_time() {
    let mut m = nothing_issued(Mocks::new().at(t(0)).hit(
        &format!("step1:ip:{CLIENT}"),
        ip_limits(),
        t(0),
        RateDecision::Limited {
            retry_after_seconds: 99,
        },
    ));
    m.users.expect_find_by_username_ci().never();
    m.users.expect_find_by_email().never();

    let r = request(m, settings(), "Ann").await;

    assert!(
        matches!(
            r,
            Err(ResetRequestError::TooManyRequests(RateLimited {
                retry_after_seconds: 99
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_unknown_username_is_not_found_and_nothing_is_issued() {
    let m = nothing_issued(by_name(step1(), "ghost", None));

    let r = request(m, settings(), "ghost").await;

    assert!(matches!(r, Err(ResetRequestError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn a_username_is_matched_case_sensitively_so_ann_does_not_find_ann_in_capitals() {
    let m = nothing_issued(by_name(step1(), "ann", Some(ann())));

    let r = request(m, settings(), "ann").await;

    assert!(matches!(r, Err(ResetRequestError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn an_invited_or_deleted_account_is_not_found() {
    for status in [UserStatus::Invited, UserStatus::Deleted] {
        let inactive = user(1, "Ann", status, &["ann@example.com"]);
        let m = nothing_issued(by_name(step1(), "Ann", Some(inactive)));

        let r = request(m, settings(), "Ann").await;

        assert!(
            matches!(r, Err(ResetRequestError::NotFound)),
            "{status:?}: {r:?}"
        );
    }
}

#[tokio::test]
async fn an_account_without_an_email_address_is_not_found() {
    let no_mail = user(1, "Ann", UserStatus::Active, &[]);
    let m = nothing_issued(by_name(step1(), "Ann", Some(no_mail)));

    let r = request(m, settings(), "Ann").await;

    assert!(matches!(r, Err(ResetRequestError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn a_reset_by_username_issues_one_challenge_for_the_account_and_mails_every_address() {
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let m = issued_into(
        account_hit(
            by_name(step1(), "Ann", Some(ann())),
            &format!("user:{}", user_id(1)),
            RateDecision::Allowed,
        )
        .draws(),
        Arc::clone(&stored),
    );

    let r = request(m, settings(), "Ann").await.unwrap();

    assert_eq!(r.usernames, vec!["Ann"]);
    assert_eq!(r.validation_code, drawn_validation_code());
    assert!(is_validation_code(&r.validation_code));
    let (challenge, mails) = stored.lock().unwrap().pop().unwrap();
    assert_eq!(
        challenge.id(),
        ChallengeId::from_random_bytes(CHALLENGE_ID_BYTES)
    );
    assert_eq!(challenge.purpose(), Purpose::ResetPassword);
    assert_eq!(challenge.subject(), &Subject::Account { user: user_id(1) });
    assert_eq!(
        challenge.lookup(),
        Some(&Challenge::lookup_mac(
            &key(),
            Purpose::ResetPassword,
            &r.validation_code
        ))
    );
    assert_eq!(challenge.max_failures(), 5);
    assert_eq!(challenge.stored_state(), ChallengeState::Open);
    assert_eq!(challenge.expires_at(), t(900));

    let recipients: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(recipients, ["ann@example.com", "a.lee@work.example"]);
    for mail in &mails {
        assert_eq!(mail.subject, "Your password reset code");
        assert_eq!(mail.not_after, Some(challenge.expires_at()));
        assert_eq!(account_names(&mail.text), ["Ann"]);
        let code = code_in(&mail.text);
        assert_eq!(code, CODE);
        assert_eq!(challenge.attempt(t(1), &key(), &code), Ok(Attempt::Correct));
    }
}

#[tokio::test]
async fn a_reset_by_email_covers_every_active_account_sorted_in_one_mail_to_the_stored_address() {
    for typed in ["ANN@example.com", "ann@EXAMPLE.COM", "Ann@Example.com"] {
        reset_by_email_mails_the_stored_address(typed).await;
    }
}

/// Issue 10, finding 2: the mail goes to the address as stored on the
/// oldest covered account (`ann@example.com`, Ann's), never to the typed
/// spelling that only matches it caselessly (nor to bob's `Ann@Example.com`).
async fn reset_by_email_mails_the_stored_address(typed: &'static str) {
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let m = issued_into(
        hits_of(
            by_address(step1(), typed, sharing_the_address()),
            address_keys(&[1, 2, 3]),
            accountd_ports::Applied::Committed,
        )
        .draws(),
        Arc::clone(&stored),
    );

    let r = request(m, settings(), typed).await.unwrap();

    assert_eq!(r.usernames, vec!["Ann", "bob", "zoe"]);
    assert_eq!(r.validation_code, drawn_validation_code());
    let (challenge, mails) = stored.lock().unwrap().pop().unwrap();
    assert_eq!(
        challenge.subject(),
        &Subject::Accounts {
            email: email("ann@example.com"),
            users: vec![user_id(1), user_id(2), user_id(3)],
        }
    );
    assert_eq!(
        challenge.lookup(),
        Some(&Challenge::lookup_mac(
            &key(),
            Purpose::ResetPassword,
            &r.validation_code
        ))
    );
    assert_eq!(mails.len(), 1, "one mail per request");
    let mail = &mails[0];
    assert_eq!(
        mail.to.as_str(),
        "ann@example.com",
        "to the address as stored on the oldest account, not as typed ({typed})"
    );
    assert_eq!(account_names(&mail.text), ["Ann", "bob", "zoe"]);
    assert!(
        !mail.text.contains("carol"),
        "deleted accounts are left out"
    );
    assert_eq!(
        challenge.attempt(t(1), &key(), &code_in(&mail.text)),
        Ok(Attempt::Correct)
    );
}

/// Review of issue 10: `straße@` and `strasse@` fold equal but may be two
/// mailboxes. A reset by `strasse@example.com` mails that spelling and
/// covers only the accounts storing it (up to case): the holder of
/// `strasse@` gets no code for the account at `straße@`, and the reverse.
#[tokio::test]
async fn a_reset_by_email_covers_only_the_accounts_at_the_mailed_spelling() {
    let older = user(1, "Ann", UserStatus::Active, &["straße@example.com"]);
    let younger = user(2, "bob", UserStatus::Active, &["Strasse@Example.com"]);
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let m = issued_into(
        hits_of(
            by_address(step1(), "strasse@example.com", vec![older, younger]),
            vec![
                "email:strasse@example.com".to_owned(),
                format!("user:{}", user_id(2)),
            ],
            accountd_ports::Applied::Committed,
        )
        .draws(),
        Arc::clone(&stored),
    );

    let r = request(m, settings(), "strasse@example.com").await.unwrap();

    assert_eq!(r.usernames, vec!["bob"]);
    let (challenge, mails) = stored.lock().unwrap().pop().unwrap();
    assert_eq!(
        challenge.subject(),
        &Subject::Accounts {
            email: email("Strasse@Example.com"),
            users: vec![user_id(2)],
        }
    );
    let recipients: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(recipients, ["Strasse@Example.com"]);
    assert_eq!(account_names(&mails[0].text), ["bob"]);
}

#[tokio::test]
async fn an_email_with_only_inactive_accounts_is_not_found() {
    let m = nothing_issued(by_address(
        step1(),
        "ann@example.com",
        vec![carol_deleted()],
    ));

    let r = request(m, settings(), "ann@example.com").await;

    assert!(matches!(r, Err(ResetRequestError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn an_unknown_email_is_not_found() {
    let m = nothing_issued(by_address(step1(), "nobody@example.com", Vec::new()));

    let r = request(m, settings(), "nobody@example.com").await;

    assert!(matches!(r, Err(ResetRequestError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn a_malformed_email_is_not_found_without_a_lookup() {
    for bad in ["ann@", "@example.com", "a b@example.com"] {
        let mut m = nothing_issued(step1());
        m.users.expect_find_by_email().never();
        m.users.expect_find_by_username_ci().never();

        let r = request(m, settings(), bad).await;

        assert!(
            matches!(r, Err(ResetRequestError::NotFound)),
            "{bad}: {r:?}"
        );
    }
}

#[tokio::test]
async fn an_account_over_its_code_limit_gets_too_many_requests_and_nothing_is_issued() {
    let m = nothing_issued(account_hit(
        by_name(step1(), "Ann", Some(ann())),
        &format!("user:{}", user_id(1)),
        RateDecision::Limited {
            retry_after_seconds: 600,
        },
    ));

    let r = request(m, settings(), "Ann").await;

    assert!(
        matches!(
            r,
            Err(ResetRequestError::TooManyRequests(RateLimited {
                retry_after_seconds: 600
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_address_or_a_covered_account_over_its_code_limit_gets_too_many_requests_and_nothing_is_issued(
) {
    // The set of hits is refused whole when any key has no room: the
    // address's, or that of one covered account (shared with its resets
    // by username and forgotPassword).
    let m = nothing_issued(hits_of(
        by_address(step1(), "Ann@Example.com", sharing_the_address()),
        address_keys(&[1, 2, 3]),
        accountd_ports::Applied::Refused(Conflict::Limited {
            retry_after_seconds: 60,
        }),
    ));

    let r = request(m, settings(), "Ann@Example.com").await;

    assert!(
        matches!(
            r,
            Err(ResetRequestError::TooManyRequests(RateLimited {
                retry_after_seconds: 60
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn with_enumeration_protection_an_unknown_username_gets_a_stored_decoy_echoing_the_typed_name(
) {
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let m = issued_into(
        account_hit(
            by_name(step1(), "Ghost", None),
            &decoy_key("ghost"),
            RateDecision::Allowed,
        )
        .draws(),
        Arc::clone(&stored),
    );

    let r = request(m, protected(), "Ghost").await.unwrap();

    assert_eq!(r.usernames, vec!["Ghost"]);
    assert_eq!(r.validation_code, drawn_validation_code());
    assert!(is_validation_code(&r.validation_code));
    // A real challenge, findable by the validation code, covering no
    // account; its mail a decoy row to nobody (`MockWrites` checks it is
    // not queued).
    let (challenge, mails) = stored.lock().unwrap().pop().unwrap();
    assert_eq!(challenge.subject(), &Subject::exact_decoy("Ghost"));
    assert_eq!(challenge.purpose(), Purpose::ResetPassword);
    assert_eq!(challenge.max_failures(), 5);
    assert_eq!(challenge.expires_at(), t(900));
    assert_eq!(
        challenge.lookup(),
        Some(&Challenge::lookup_mac(
            &key(),
            Purpose::ResetPassword,
            &r.validation_code
        ))
    );
    let recipients: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(recipients, ["decoy@decoy.invalid"]);
    assert_eq!(mails[0].subject, "Your password reset code");
    assert_eq!(account_names(&mails[0].text), ["Ghost"]);
}

#[tokio::test]
async fn with_enumeration_protection_an_unmatched_username_of_any_kind_gets_a_decoy() {
    // Wrong case, inactive, no address: each looks like a real account.
    let cases = [
        ("ann", Some(ann())),
        (
            "Ann",
            Some(user(1, "Ann", UserStatus::Deleted, &["ann@example.com"])),
        ),
        ("Ann", Some(user(1, "Ann", UserStatus::Active, &[]))),
    ];
    for (typed, found) in cases {
        let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
        let m = issued_into(
            account_hit(
                by_name(step1(), typed, found),
                &decoy_key("ann"),
                RateDecision::Allowed,
            )
            .draws(),
            Arc::clone(&stored),
        );

        let r = request(m, protected(), typed).await.unwrap();

        assert_eq!(r.usernames, vec![typed]);
        let (challenge, _) = stored.lock().unwrap().pop().unwrap();
        assert_eq!(challenge.subject(), &Subject::exact_decoy(typed));
    }
}

#[tokio::test]
async fn with_enumeration_protection_an_unknown_email_gets_a_stored_decoy_naming_nobody() {
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let m = issued_into(
        hits_of(
            by_address(step1(), "nobody@example.com", Vec::new()),
            vec![decoy_key("nobody@example.com")],
            accountd_ports::Applied::Committed,
        )
        .draws(),
        Arc::clone(&stored),
    );

    let r = request(m, protected(), "Nobody@Example.com").await.unwrap();

    assert_eq!(r.usernames, Vec::<String>::new());
    assert!(is_validation_code(&r.validation_code));
    let (challenge, mails) = stored.lock().unwrap().pop().unwrap();
    assert_eq!(
        challenge.subject(),
        &Subject::decoy("Nobody@Example.com", true)
    );
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), "decoy@decoy.invalid");
    assert_eq!(account_names(&mails[0].text), Vec::<&str>::new());
}

#[tokio::test]
async fn with_enumeration_protection_a_decoy_is_rate_limited_like_a_real_account() {
    let m = nothing_issued(account_hit(
        by_name(step1(), "Ghost", None),
        &decoy_key("ghost"),
        RateDecision::Limited {
            retry_after_seconds: 600,
        },
    ));

    let r = request(m, protected(), "Ghost").await;

    assert!(
        matches!(
            r,
            Err(ResetRequestError::TooManyRequests(RateLimited {
                retry_after_seconds: 600
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn with_enumeration_protection_names_found_by_email_are_mailed_but_never_returned() {
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let m = issued_into(
        hits_of(
            by_address(step1(), "ann@example.com", sharing_the_address()),
            address_keys(&[1, 2, 3]),
            accountd_ports::Applied::Committed,
        )
        .draws(),
        Arc::clone(&stored),
    );

    let r = request(m, protected(), "ann@example.com").await.unwrap();

    assert_eq!(r.usernames, Vec::<String>::new());
    let (_, mails) = stored.lock().unwrap().pop().unwrap();
    assert_eq!(account_names(&mails[0].text), ["Ann", "bob", "zoe"]);
}

#[tokio::test]
async fn with_enumeration_protection_a_real_username_is_echoed_and_gets_a_real_code() {
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let m = issued_into(
        account_hit(
            by_name(step1(), "Ann", Some(ann())),
            &format!("user:{}", user_id(1)),
            RateDecision::Allowed,
        )
        .draws(),
        Arc::clone(&stored),
    );

    let r = request(m, protected(), "Ann").await.unwrap();

    assert_eq!(r.usernames, vec!["Ann"]);
    assert_eq!(stored.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_database_outage_during_the_email_lookup_is_unavailable() {
    let mut m = nothing_issued(step1());
    m.users
        .expect_find_by_email()
        .times(1)
        .returning(|_| Err(unavailable()));

    let r = request(m, settings(), "ann@example.com").await;

    assert!(
        matches!(r, Err(ResetRequestError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_failed_issue_transaction_is_unexpected() {
    let mut m = account_hit(
        by_name(step1(), "Ann", Some(ann())),
        &format!("user:{}", user_id(1)),
        RateDecision::Allowed,
    )
    .draws();
    m.writes
        .expect_issue()
        .times(1)
        .returning(|_, _| Err(unexpected()));

    let r = request(m, settings(), "Ann").await;

    assert!(
        matches!(r, Err(ResetRequestError::Failure(Failure::Unexpected(_)))),
        "{r:?}"
    );
}

// ------------------------------------------------------------ reset_password

/// A reset code for Ann's account.
fn for_ann() -> Challenge {
    challenge(
        Purpose::ResetPassword,
        Subject::Account { user: user_id(1) },
    )
}

/// A reset code for the accounts of ann@example.com: Ann and bob.
fn for_address() -> Challenge {
    challenge(
        Purpose::ResetPassword,
        Subject::Accounts {
            email: email("ann@example.com"),
            users: vec![user_id(1), user_id(2)],
        },
    )
}

/// A step-2 call at `now` whose validation code finds `found`.
fn step2_at(now: Timestamp, found: Option<Challenge>) -> Mocks {
    Mocks::new().at(now).lookup(Purpose::ResetPassword, found)
}

/// One load of `id`, answering `found`.
fn load(mut m: Mocks, id: UserId, found: Option<User>) -> Mocks {
    m.users
        .expect_get()
        .withf(move |i| *i == id)
        .times(1)
        .return_once(move |_| Ok(found));
    m
}

/// A step-2 call at t(60) on Ann's code with `failures` spent; Ann loaded.
fn step2(failures: u32) -> Mocks {
    load(
        step2_at(t(60), Some(with_failures(for_ann(), failures))),
        user_id(1),
        Some(ann()),
    )
}

/// Nothing happens to the challenge or the password; no session.
fn untouched(m: Mocks) -> Mocks {
    m.no_failure_counted()
        .nothing_consumed()
        .nothing_hashed()
        .no_session()
}

fn refused(r: Result<Session, ResetError>) -> Invalid {
    match r {
        Err(ResetError::Invalid(i)) => i,
        other => panic!("expected a 1001, got {other:?}"),
    }
}

async fn complete(
    m: Mocks,
    username: &str,
    new_password: &str,
    code: &str,
) -> Result<Session, ResetError> {
    complete_with(m, settings(), username, new_password, code).await
}

async fn complete_with(
    m: Mocks,
    s: UnicatSettings,
    username: &str,
    new_password: &str,
    code: &str,
) -> Result<Session, ResetError> {
    service(m, s)
        .complete(ResetInput {
            username: username.to_owned(),
            new_password: new_password.into(),
            validation_code: held_validation_code().into(),
            verification_code: code.into(),
        })
        .await
}

#[tokio::test]
async fn an_unknown_validation_code_is_code_invalid_with_no_attempts_left() {
    let mut m = untouched(step2_at(t(60), None));
    m.users.expect_get().never();

    let i = refused(complete(m, "Ann", STRONG, CODE).await);

    assert_eq!(
        (i.field, i.reason, i.attempts_left),
        ("verification_code", Reason::CodeInvalid, Some(0))
    );
}

#[tokio::test]
async fn a_used_or_superseded_code_is_code_invalid_with_no_attempts_left_even_when_right() {
    for used in [for_ann().consumed(t(10)).unwrap(), for_ann().superseded()] {
        let mut m = untouched(step2_at(t(60), Some(used)));
        m.users.expect_get().never();

        let i = refused(complete(m, "Ann", STRONG, CODE).await);

        assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(0)));
    }
}

#[tokio::test]
async fn an_expired_code_is_code_expired_even_when_right() {
    let mut m = untouched(step2_at(t(900), Some(for_ann())));
    m.users.expect_get().never();

    let i = refused(complete(m, "Ann", STRONG, CODE).await);

    assert_eq!(i.reason, Reason::CodeExpired);
}

#[tokio::test]
async fn an_exhausted_code_is_code_exhausted_even_when_right() {
    let mut m = untouched(step2_at(t(60), Some(with_failures(for_ann(), 5))));
    m.users.expect_get().never();

    let i = refused(complete(m, "Ann", STRONG, CODE).await);

    assert_eq!(i.reason, Reason::CodeExhausted);
}

#[tokio::test]
async fn a_username_not_among_the_covered_accounts_is_a_request_mismatch() {
    for typed in ["carol", "ann", "BOB"] {
        let m = untouched(load(
            load(
                step2_at(t(60), Some(for_address())),
                user_id(1),
                Some(ann()),
            ),
            user_id(2),
            Some(bob()),
        ));

        let i = refused(complete(m, typed, STRONG, CODE).await);

        assert_eq!(
            (i.field, i.reason),
            ("username", Reason::RequestMismatch),
            "{typed}"
        );
    }
}

#[tokio::test]
async fn a_covered_account_that_is_no_longer_active_or_gone_is_a_request_mismatch() {
    for found in [
        Some(user(1, "Ann", UserStatus::Deleted, &["ann@example.com"])),
        None,
    ] {
        let m = untouched(load(step2_at(t(60), Some(for_ann())), user_id(1), found));

        let i = refused(complete(m, "Ann", STRONG, CODE).await);

        assert_eq!((i.field, i.reason), ("username", Reason::RequestMismatch));
    }
}

#[tokio::test]
async fn a_weak_new_password_is_password_weak_and_spends_no_try() {
    let m = untouched(step2(0));

    let i = refused(complete(m, "Ann", WEAK, WRONG_CODE).await);

    assert_eq!((i.field, i.reason), ("new_password", Reason::PasswordWeak));
    assert!(!i.suggestions.expect("suggestions").is_empty());
}

#[tokio::test]
async fn a_new_password_containing_the_username_or_an_address_is_password_weak() {
    for pw in ["my-ANN-horse-battery-staple", "horse-a.lee-battery-staple"] {
        let m = untouched(step2(0));

        let i = refused(complete(m, "Ann", pw, CODE).await);

        assert_eq!(
            (i.field, i.reason),
            ("new_password", Reason::PasswordWeak),
            "{pw}"
        );
    }
}

#[tokio::test]
async fn a_new_password_over_72_bytes_is_password_too_long_and_spends_no_try() {
    let m = untouched(step2(0));

    let i = refused(complete(m, "Ann", &"€".repeat(25), CODE).await);

    assert_eq!(
        (i.field, i.reason),
        ("new_password", Reason::PasswordTooLong)
    );
}

#[tokio::test]
async fn a_wrong_code_counts_exactly_one_failure_and_reports_the_attempts_left() {
    let mut m = step2(2).nothing_consumed().nothing_hashed().no_session();
    m.challenges
        .expect_record_failure()
        .withf(|id, now| *id == for_ann().id() && *now == t(60))
        .times(1)
        .returning(|_, _| Ok(Some(3)));

    let i = refused(complete(m, "Ann", STRONG, WRONG_CODE).await);

    assert_eq!(
        (i.field, i.reason, i.attempts_left),
        ("verification_code", Reason::CodeInvalid, Some(2))
    );
}

#[tokio::test]
async fn a_wrong_code_that_loses_the_race_reports_the_state_of_the_reloaded_challenge() {
    for (reloaded, want) in [
        (with_failures(for_ann(), 5), Reason::CodeExhausted),
        (for_ann().superseded(), Reason::CodeInvalid),
    ] {
        let mut m = load(Mocks::new().at(t(60)), user_id(1), Some(ann()))
            .nothing_consumed()
            .nothing_hashed()
            .no_session();
        let mut seq = Sequence::new();
        m.challenges
            .expect_find_by_lookup()
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_, _| Ok(Some(with_failures(for_ann(), 4))));
        m.challenges
            .expect_record_failure()
            .times(1)
            .in_sequence(&mut seq)
            .return_once(|_, _| Ok(None));
        m.challenges
            .expect_find_by_lookup()
            .withf(|p, _| *p == Purpose::ResetPassword)
            .times(1)
            .in_sequence(&mut seq)
            .return_once(move |_, _| Ok(Some(reloaded)));

        let i = refused(complete(m, "Ann", STRONG, WRONG_CODE).await);

        assert_eq!(i.reason, want);
    }
}

/// Ann after the reset: the new hash, credential version bumped.
fn ann_after_reset() -> User {
    User {
        credential_version: 4,
        password_hash: Some(new_hash()),
        ..ann()
    }
}

#[tokio::test]
async fn the_right_code_sets_the_new_hash_notifies_every_address_and_opens_a_session_at_the_bumped_version(
) {
    let mut m = Mocks::new()
        .at(t(60))
        .no_failure_counted()
        .session_for(user_id(1), 4, t(60));
    let mut seq = Sequence::new();
    m.challenges
        .expect_find_by_lookup()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(with_failures(for_ann(), 2))));
    m.users
        .expect_get()
        .withf(|id| *id == user_id(1))
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_| Ok(Some(ann())));
    m.hasher
        .expect_hash()
        .withf(|p| p.expose() == STRONG)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(new_hash()));
    let queued: Arc<Mutex<Vec<OutgoingMail>>> = Arc::default();
    let sink = Arc::clone(&queued);
    m.writes
        .expect_consume()
        .withf(|id, now, effect, _| {
            *id == for_ann().id()
                && *now == t(60)
                && *effect
                    == ChallengeEffect::SetPassword {
                        user: user_id(1),
                        hash: new_hash(),
                    }
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_, _, _, mails| {
            sink.lock().unwrap().extend(mails);
            Ok(ConsumeOutcome::Applied)
        });

    let session = complete(m, "Ann", STRONG, "10-amyz").await.unwrap();

    assert_eq!(session.token, TOKEN);
    assert_eq!(
        session.user,
        ann_after_reset(),
        "the user as the write stored it"
    );
    assert_eq!(session.projects, vec![project_of(user_id(1))]);
    let mails = queued.lock().unwrap().clone();
    let recipients: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(recipients, ["ann@example.com", "a.lee@work.example"]);
    for mail in &mails {
        assert_eq!(mail.subject, "Your password was changed");
        assert_eq!(mail.not_after, None);
        assert!(!mail.text.contains(STRONG), "the password is never mailed");
    }
}

#[tokio::test]
async fn a_reset_by_email_sets_the_password_of_the_named_account_only() {
    let mut m = load(
        load(
            step2_at(t(60), Some(for_address())),
            user_id(1),
            Some(ann()),
        ),
        user_id(2),
        Some(bob()),
    )
    .no_failure_counted()
    .session_for(user_id(2), 4, t(60));
    m.hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(new_hash()));
    let queued: Arc<Mutex<Vec<OutgoingMail>>> = Arc::default();
    let sink = Arc::clone(&queued);
    m.writes
        .expect_consume()
        .withf(|_, _, effect, _| {
            *effect
                == ChallengeEffect::SetPassword {
                    user: user_id(2),
                    hash: new_hash(),
                }
        })
        .times(1)
        .returning(move |_, _, _, mails| {
            sink.lock().unwrap().extend(mails);
            Ok(ConsumeOutcome::Applied)
        });
    let session = complete(m, "bob", STRONG, CODE).await.unwrap();

    assert_eq!(session.user.id, user_id(2));
    assert_eq!(
        session.user,
        User {
            credential_version: 4,
            password_hash: Some(new_hash()),
            ..bob()
        },
        "bob at his bumped version"
    );
    let recipients: Vec<String> = queued
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.to.to_string())
        .collect();
    assert_eq!(recipients, ["Ann@Example.com"]);
}

#[tokio::test]
async fn losing_the_race_to_consume_reports_the_state_of_the_reloaded_challenge() {
    let mut m = load(Mocks::new().at(t(60)), user_id(1), Some(ann()))
        .no_failure_counted()
        .no_session();
    m.hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(new_hash()));
    let mut seq = Sequence::new();
    m.challenges
        .expect_find_by_lookup()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(for_ann())));
    m.writes
        .expect_consume()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(ConsumeOutcome::NotOpen));
    m.challenges
        .expect_find_by_lookup()
        .withf(|p, _| *p == Purpose::ResetPassword)
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(for_ann().consumed(t(59)).unwrap())));

    let i = refused(complete(m, "Ann", STRONG, CODE).await);

    assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(0)));
}

#[tokio::test]
async fn an_overloaded_hasher_is_overloaded_with_its_retry_time_and_nothing_is_consumed() {
    let mut m = step2(0)
        .no_failure_counted()
        .nothing_consumed()
        .no_session();
    m.hasher.expect_hash().times(1).returning(|_| {
        Err(HashError::Overloaded {
            retry_after_seconds: 7,
        })
    });

    let r = complete(m, "Ann", STRONG, CODE).await;

    assert!(
        matches!(
            r,
            Err(ResetError::Failure(Failure::Overloaded {
                retry_after_seconds: 7
            }))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_version_moved_under_a_live_code_is_unavailable_and_the_code_stays_live() {
    let mut m = Mocks::new().at(t(60)).no_failure_counted().no_session();
    let mut seq = Sequence::new();
    m.challenges
        .expect_find_by_lookup()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_, _| Ok(Some(for_ann())));
    m.users
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .return_once(|_| Ok(Some(ann())));
    m.hasher
        .expect_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(new_hash()));
    m.writes
        .expect_consume()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(ConsumeOutcome::UserChanged));

    let r = complete(m, "Ann", STRONG, CODE).await;

    // Nothing was written and the code was not spent: try again (503),
    // never "code invalid".
    assert!(
        matches!(r, Err(ResetError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_database_outage_while_loading_a_covered_account_is_unavailable() {
    let mut m = untouched(step2_at(t(60), Some(for_ann())));
    m.users
        .expect_get()
        .times(1)
        .returning(|_| Err(unavailable()));

    let r = complete(m, "Ann", STRONG, CODE).await;

    assert!(
        matches!(r, Err(ResetError::Failure(Failure::Unavailable(_)))),
        "{r:?}"
    );
}

fn decoy_key(typed: &str) -> String {
    format!("decoy:{}", accountd_domain::Username::typed_key(typed))
}

// ------------------------------------------------------- decoys at step 2

/// A stored decoy by username for "Ghost", or by email for an unknown
/// address.
fn decoy(by_email: bool) -> Challenge {
    let typed = if by_email {
        "nobody@example.com"
    } else {
        "Ghost"
    };
    challenge(Purpose::ResetPassword, Subject::decoy(typed, by_email))
}

/// One failure counted on the challenge of [`CHALLENGE_ID_BYTES`] at
/// t(60), answering `failures` in all.
fn failure_counted(mut m: Mocks, failures: u32) -> Mocks {
    m.challenges
        .expect_record_failure()
        .withf(|id, now| *id == for_ann().id() && *now == t(60))
        .times(1)
        .returning(move |_, _| Ok(Some(failures)));
    m
}

#[tokio::test]
async fn a_decoy_counts_a_wrong_code_exactly_as_a_real_challenge_does() {
    for (failures, left) in [(0, 4), (1, 3), (2, 2)] {
        let real = failure_counted(step2(failures), failures + 1)
            .nothing_consumed()
            .nothing_hashed()
            .no_session();
        let fake = failure_counted(
            step2_at(t(60), Some(with_failures(decoy(false), failures))),
            failures + 1,
        )
        .nothing_consumed()
        .nothing_hashed()
        .no_session();

        let r = refused(complete_with(real, protected(), "Ann", STRONG, WRONG_CODE).await);
        let d = refused(complete_with(fake, protected(), "Ghost", STRONG, WRONG_CODE).await);

        assert_eq!(
            (r.field, r.reason, r.attempts_left),
            ("verification_code", Reason::CodeInvalid, Some(left))
        );
        assert_eq!(
            (d.field, d.reason, d.attempts_left, d.detail),
            (r.field, r.reason, r.attempts_left, r.detail)
        );
    }
}

#[tokio::test]
async fn a_decoy_never_accepts_a_code_even_the_right_one_which_counts_as_wrong() {
    let m = failure_counted(step2_at(t(60), Some(decoy(false))), 1)
        .nothing_consumed()
        .nothing_hashed()
        .no_session();

    let i = refused(complete_with(m, protected(), "Ghost", STRONG, CODE).await);

    assert_eq!((i.reason, i.attempts_left), (Reason::CodeInvalid, Some(4)));
}

#[tokio::test]
async fn a_weak_new_password_answers_the_same_for_a_decoy_and_a_real_account_and_spends_no_try() {
    let real = untouched(step2(0));
    let fake = untouched(step2_at(t(60), Some(decoy(false))));

    let r = refused(complete_with(real, protected(), "Ann", WEAK, WRONG_CODE).await);
    let d = refused(complete_with(fake, protected(), "Ghost", WEAK, WRONG_CODE).await);

    assert_eq!((r.field, r.reason), ("new_password", Reason::PasswordWeak));
    assert_eq!(
        (d.field, d.reason, d.detail, d.suggestions),
        (r.field, r.reason, r.detail, r.suggestions)
    );
    // The name typed is judged as the account's would be.
    let fake = untouched(step2_at(t(60), Some(decoy(false))));
    let i = refused(
        complete_with(
            fake,
            protected(),
            "Ghost",
            "my-GHOST-horse-battery-staple",
            CODE,
        )
        .await,
    );
    assert_eq!((i.field, i.reason), ("new_password", Reason::PasswordWeak));
}

#[tokio::test]
async fn with_enumeration_protection_a_username_the_challenge_does_not_cover_spends_a_try_as_a_wrong_code(
) {
    // A real reset by email, named with a name it does not cover; a
    // decoy by username named in another case; a decoy by email, which
    // covers no name at all. Each is a wrong code: one try, code_invalid.
    let real = load(
        load(
            step2_at(t(60), Some(for_address())),
            user_id(1),
            Some(ann()),
        ),
        user_id(2),
        Some(bob()),
    );
    let cases = [
        (real, "carol"),
        (step2_at(t(60), Some(decoy(false))), "ghost"),
        (step2_at(t(60), Some(decoy(true))), "Ghost"),
    ];
    for (m, typed) in cases {
        let m = failure_counted(m, 1)
            .nothing_consumed()
            .nothing_hashed()
            .no_session();

        let i = refused(complete_with(m, protected(), typed, STRONG, CODE).await);

        assert_eq!(
            (i.field, i.reason, i.attempts_left),
            ("verification_code", Reason::CodeInvalid, Some(4)),
            "{typed}"
        );
    }
}

// ------------------------------------------------------------ mail language

/// `u` with `language`, created `days` days ago.
fn speaking(mut u: User, language: &str, days: i64) -> User {
    u.language = language.to_owned();
    u.created_at = t(-days * 86_400);
    u
}

#[tokio::test]
async fn a_reset_by_email_is_mailed_in_the_language_of_the_oldest_account_it_covers() {
    let typed = "ann@example.com";
    let accounts = vec![
        speaking(zoe(), "nl", 30),
        speaking(ann(), "de", 10),
        speaking(bob(), "en", 20),
    ];
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let m = issued_into(
        hits_of(
            by_address(step1(), typed, accounts),
            address_keys(&[1, 2, 3]),
            accountd_ports::Applied::Committed,
        )
        .draws(),
        Arc::clone(&stored),
    );

    request(m, settings(), typed).await.unwrap();

    let (challenge, mails) = stored.lock().unwrap().pop().unwrap();
    let mail = &mails[0];
    assert_eq!(
        mail.subject,
        "Je code om je wachtwoord opnieuw in te stellen"
    );
    assert!(mail.text.contains("de volgende accounts"), "{}", mail.text);
    assert_eq!(account_names(&mail.text), ["Ann", "bob", "zoe"]);
    assert_eq!(
        challenge.attempt(t(1), &key(), &code_in(&mail.text)),
        Ok(Attempt::Correct)
    );
}

#[tokio::test]
async fn a_reset_by_username_is_mailed_in_the_accounts_language() {
    let stored: Arc<Mutex<Vec<Issued>>> = Arc::default();
    let m = issued_into(
        account_hit(
            by_name(step1(), "Ann", Some(speaking(ann(), "de", 1))),
            &format!("user:{}", user_id(1)),
            RateDecision::Allowed,
        )
        .draws(),
        Arc::clone(&stored),
    );

    request(m, settings(), "Ann").await.unwrap();

    let (_, mails) = stored.lock().unwrap().pop().unwrap();
    assert!(!mails.is_empty());
    for mail in &mails {
        assert_eq!(mail.subject, "Ihr Code zum Zurücksetzen des Passworts");
        assert!(mail.text.contains("\nKonto: Ann\n"), "{}", mail.text);
    }
}
