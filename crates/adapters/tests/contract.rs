//! The repository contract: the same tests, written once, run against every
//! backend (SQLite always; PostgreSQL when `TEST_DATABASE_URL` names a server
//! on which databases may be created).
//!
//! Each contract is an `async fn(&Database)` below; `contracts!` at the end
//! turns each one into `sqlite::<name>` and `postgres::<name>` tests, each on
//! its own fresh database. They pin what `accountd-ports` documents, above
//! all the atomicity claims (parallel failures, consumptions, rate-limit hits
//! and outbox claims count exactly), which the mocks of the service tests
//! cannot check.

// The whole file is test code, but clippy's `allow-*-in-tests` only covers
// `#[test]` functions, not the contract functions they call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accountd_adapters::Database;
use accountd_domain::{
    Challenge, ChallengeId, ChallengePolicy, ChallengeState, Change, ChangeSet, CodeFormat,
    CodeMac, Conflict, Email, Membership, MembershipStatus, NewUser, Notifications, OutgoingMail,
    PasswordHash, Project, ProjectId, ProjectStatus, ProjectView, Purpose, Role, Subject,
    Timestamp, User, UserId, UserStatus, Username,
};
use accountd_ports::LoginThrottle;
use accountd_ports::{Applied, Changes, StoreError};
use accountd_ports::{
    ChallengeRepository, Limit, OutboxRepository, QueuedMail, RateDecision, RateLimiter,
    UserRepository,
};
use accountd_testkit::{email, hash, key, t as at, user_id, T0_MILLIS};
use std::collections::BTreeSet;
use tokio::task::JoinSet;

/// Connections per test database: enough for the parallel contracts to
/// really overlap.
const POOL_SIZE: u32 = 8;

// ---------------------------------------------------------------- fixtures
//
// The key, the instant `at(secs)` (t(0) plus `secs` seconds), `email`,
// `hash` and `user_id` are accountd-testkit's.

fn challenge_id(n: u8) -> ChallengeId {
    ChallengeId::from_random_bytes([n; 16])
}

fn new_user(id: UserId, username: &str, emails: &[&str]) -> NewUser {
    NewUser {
        id,
        username: Username::parse(username).unwrap(),
        emails: emails.iter().map(|e| email(e)).collect(),
        name: format!("{username} Lee"),
        password_hash: hash("$2b$04$initialinitialinitialinOriginalHashOfTheFirstPassword"),
        language: "de".to_owned(),
        timezone: "Europe/Berlin".to_owned(),
        created_at: at(-86_400),
    }
}

async fn create_user(db: &Database, n: u8, username: &str) -> User {
    db.create(new_user(
        user_id(n),
        username,
        &[&format!("{username}@example.com")],
    ))
    .await
    .unwrap()
}

/// A challenge for `code` 482901 under the test key.
fn challenge(
    id: ChallengeId,
    purpose: Purpose,
    subject: Subject,
    policy: ChallengePolicy,
    now: Timestamp,
) -> Challenge {
    let code = CodeFormat::Digits6.code_from_draws(&[482_901]).unwrap();
    Challenge::issue(id, purpose, subject, &code, &key(), policy, now)
}

/// A forgotPassword challenge for `user`: 11 tries, 15 minutes.
fn forgot(id: ChallengeId, user: UserId, now: Timestamp) -> Challenge {
    challenge(
        id,
        Purpose::ForgotPassword,
        Subject::Account { user },
        ChallengePolicy::forgot_password(900),
        now,
    )
}

fn code_mail(to: &str, text: &str, not_after: Option<Timestamp>) -> OutgoingMail {
    OutgoingMail {
        to: email(to),
        subject: "Your code".to_owned(),
        text: text.to_owned(),
        not_after,
    }
}

fn account_key(user: UserId) -> String {
    format!("user:{user}")
}

async fn latest(db: &Database, purpose: Purpose, subject_key: &str) -> Challenge {
    db.latest(purpose, subject_key)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {} challenge for {subject_key}", purpose.as_str()))
}

/// Queues `n` mails (through `issue`, the way mail enters the outbox) at `now`.
async fn queue_mails(db: &Database, n: u8, now: Timestamp) -> Vec<OutgoingMail> {
    let mails: Vec<OutgoingMail> = (0..n)
        .map(|i| {
            code_mail(
                &format!("user{i}@example.com"),
                &format!("code for mail {i}: 482901"),
                Some(now.plus_seconds(900)),
            )
        })
        .collect();
    let c = forgot(challenge_id(200), user_id(200), now);
    db.issue(c, mails.clone()).await.unwrap();
    mails
}

fn ids(claimed: &[QueuedMail]) -> Vec<i64> {
    claimed.iter().map(|q| q.id).collect()
}

/// Opens every pooled connection, so that a burst of parallel calls is not
/// serialised by connection set-up and really overlaps.
async fn warm_up(db: &Database) {
    let mut tasks = JoinSet::new();
    for _ in 0..POOL_SIZE {
        let db = db.clone();
        tasks.spawn(async move { db.ping().await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
}

// ------------------------------------------- writes, through `Changes::apply`

/// The writes the contracts below were first written against, expressed as
/// the change sets the services now build, so that each older contract
/// (supersession, exact consumption, a username taken meanwhile, ...) keeps
/// pinning the same guarantee through the one write port.
#[derive(Debug, Clone)]
enum ChallengeEffect {
    /// What a reset does: the new password, every reset code closed.
    SetPassword { user: UserId, hash: PasswordHash },
    /// What a completed sign-up does.
    CreateUser(NewUser),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConsumeOutcome {
    Applied,
    NotOpen,
    UsernameTaken,
}

#[derive(Debug)]
enum CreateUserError {
    UsernameTaken,
    Store(#[allow(dead_code)] StoreError),
}

#[async_trait::async_trait]
trait Writes {
    async fn issue(&self, c: Challenge, mails: Vec<OutgoingMail>) -> Result<(), StoreError>;
    async fn consume(
        &self,
        id: ChallengeId,
        now: Timestamp,
        effect: ChallengeEffect,
        mails: Vec<OutgoingMail>,
    ) -> Result<ConsumeOutcome, StoreError>;
    async fn create(&self, user: NewUser) -> Result<User, CreateUserError>;
}

#[async_trait::async_trait]
impl Writes for Database {
    async fn issue(&self, c: Challenge, mails: Vec<OutgoingMail>) -> Result<(), StoreError> {
        let now = c.issued_at();
        let set = ChangeSet::new().with(Change::IssueChallenge(c)).mail(mails);
        match self.apply(set, now).await? {
            Applied::Committed => Ok(()),
            refused => panic!("issuing has no guard, yet: {refused:?}"),
        }
    }

    async fn consume(
        &self,
        id: ChallengeId,
        now: Timestamp,
        effect: ChallengeEffect,
        mails: Vec<OutgoingMail>,
    ) -> Result<ConsumeOutcome, StoreError> {
        let set = ChangeSet::new().with(Change::ConsumeChallenge(id));
        let set = match effect {
            ChallengeEffect::SetPassword { user, hash } => {
                // A user that is not stored gets a stand-in: its set must
                // then fail on the challenge (or on the user's guard).
                let user = match self.get(user).await? {
                    Some(u) => u,
                    None => new_user(user, "ghost", &[]).into_user(),
                };
                set.set_password(&user, hash)
            }
            ChallengeEffect::CreateUser(user) => set.with(Change::CreateUser(user.into_user())),
        };
        Ok(match self.apply(set.mail(mails), now).await? {
            Applied::Committed => ConsumeOutcome::Applied,
            Applied::Refused(Conflict::ChallengeNotOpen) => ConsumeOutcome::NotOpen,
            Applied::Refused(Conflict::UsernameTaken) => ConsumeOutcome::UsernameTaken,
            refused => panic!("unexpected: {refused:?}"),
        })
    }

    async fn create(&self, user: NewUser) -> Result<User, CreateUserError> {
        let user = user.into_user();
        let set = ChangeSet::new().with(Change::CreateUser(user.clone()));
        let applied = self.apply(set, user.created_at).await;
        match applied.map_err(CreateUserError::Store)? {
            Applied::Committed => Ok(user),
            Applied::Refused(Conflict::UsernameTaken) => Err(CreateUserError::UsernameTaken),
            refused => panic!("unexpected: {refused:?}"),
        }
    }
}

// ------------------------------------------------------------------- users

async fn a_created_user_round_trips_every_field_by_id_and_by_username(db: &Database) {
    let new = NewUser {
        id: user_id(1),
        username: Username::parse("Ann").unwrap(),
        emails: vec![
            email("Ann.Lee@Example.com"),
            email("zed@example.org"),
            email("ann@work.example"),
        ],
        name: "Ann Lee".to_owned(),
        password_hash: hash("$2b$04$abcdefghijklmnopqrstuuJ1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"),
        language: "fr".to_owned(),
        timezone: "America/New_York".to_owned(),
        created_at: Timestamp::from_millis(T0_MILLIS + 123),
    };
    let created = db.create(new.clone()).await.unwrap();
    let expected = User {
        id: user_id(1),
        username: Some(Username::parse("Ann").unwrap()),
        emails: new.emails.clone(),
        status: UserStatus::Active,
        credential_version: 1,
        password_hash: Some(new.password_hash.clone()),
        name: "Ann Lee".to_owned(),
        language: "fr".to_owned(),
        timezone: "America/New_York".to_owned(),
        created_at: Timestamp::from_millis(T0_MILLIS + 123),
    };
    assert_eq!(created, expected);

    let by_id = db.get(user_id(1)).await.unwrap().expect("found by id");
    assert_eq!(by_id, expected);
    assert_eq!(
        by_id.password_hash.as_ref().map(PasswordHash::expose),
        Some(new.password_hash.expose())
    );
    let emails: Vec<&str> = by_id.emails.iter().map(Email::as_str).collect();
    assert_eq!(
        emails,
        ["Ann.Lee@Example.com", "zed@example.org", "ann@work.example"],
        "emails keep their order and their case"
    );

    for typed in ["Ann", "ann", "ANN", "aNn"] {
        let found = db.find_by_username_ci(typed).await.unwrap();
        assert_eq!(found.as_ref(), Some(&expected), "looked up as {typed:?}");
    }
}

async fn a_username_is_found_case_insensitively_beyond_ascii(db: &Database) {
    let created = create_user(db, 2, "Jürgen").await;
    for typed in ["JÜRGEN", "jürgen"] {
        let found = db.find_by_username_ci(typed).await.unwrap();
        assert_eq!(found.as_ref(), Some(&created), "looked up as {typed:?}");
    }
}

async fn an_unknown_user_is_none(db: &Database) {
    create_user(db, 1, "ann").await;
    assert_eq!(db.get(user_id(9)).await.unwrap(), None);
    assert_eq!(db.find_by_username_ci("bob").await.unwrap(), None);
    assert_eq!(db.find_by_username_ci("an").await.unwrap(), None);
    assert_eq!(db.find_by_username_ci("ann%").await.unwrap(), None);
}

async fn a_username_taken_in_another_case_is_refused_and_nothing_is_stored(db: &Database) {
    let ann = create_user(db, 1, "Ann").await;
    let second = new_user(
        user_id(2),
        "ann",
        &["second@example.com", "other@example.com"],
    );
    let err = db.create(second).await.unwrap_err();
    assert!(
        matches!(err, CreateUserError::UsernameTaken),
        "expected UsernameTaken, got {err:?}"
    );
    assert_eq!(db.get(user_id(2)).await.unwrap(), None);
    assert_eq!(db.find_by_username_ci("ANN").await.unwrap(), Some(ann));

    // Had the refused user's addresses been stored, they would now show up
    // under an account that reuses its gid.
    db.create(new_user(user_id(2), "bob", &[])).await.unwrap();
    let bob = db.get(user_id(2)).await.unwrap().expect("bob");
    assert!(
        bob.emails.is_empty(),
        "the refused user's emails were stored"
    );
}

async fn of_eight_parallel_creates_of_one_name_exactly_one_succeeds(db: &Database) {
    let names = [
        "racer", "Racer", "RACER", "rAcer", "raCer", "racEr", "raceR", "RaCeR",
    ];
    let mut tasks = JoinSet::new();
    for (i, name) in names.into_iter().enumerate() {
        let db = db.clone();
        let n = u8::try_from(i).unwrap() + 10;
        tasks.spawn(async move { db.create(new_user(user_id(n), name, &[])).await });
    }
    let mut created = 0;
    let mut taken = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(_) => created += 1,
            Err(CreateUserError::UsernameTaken) => taken += 1,
            Err(e) => panic!("a create failed with something else than UsernameTaken: {e:?}"),
        }
    }
    assert_eq!((created, taken), (1, 7));
    assert!(db.find_by_username_ci("racer").await.unwrap().is_some());
}

async fn find_by_email_returns_every_user_with_the_address_case_insensitively_oldest_first_once_each(
    db: &Database,
) {
    let with_created_at = |mut u: NewUser, secs: i64| {
        u.created_at = at(secs);
        u
    };
    // Created newest first, so that insertion order is not the answer.
    let ann = db
        .create(with_created_at(
            new_user(
                user_id(1),
                "ann",
                &["ann@example.com", "other@example.org", "Ann@Example.COM"],
            ),
            -50,
        ))
        .await
        .unwrap();
    let carla = db
        .create(with_created_at(
            new_user(user_id(3), "carla", &["carla@example.com"]),
            -200,
        ))
        .await
        .unwrap();
    let bob = db
        .create(with_created_at(
            new_user(user_id(2), "bob", &["bob@example.net", "ANN@EXAMPLE.COM"]),
            -100,
        ))
        .await
        .unwrap();

    for typed in ["Ann@Example.com", "ann@example.com", "ANN@example.COM"] {
        let found = db.find_by_email(&email(typed)).await.unwrap();
        assert_eq!(
            found,
            vec![bob.clone(), ann.clone()],
            "looked up as {typed:?}"
        );
    }
    assert_eq!(
        db.find_by_email(&email("Carla@example.com")).await.unwrap(),
        vec![carla]
    );
    for unknown in ["nobody@example.com", "ann@example.co", "nn@example.com"] {
        assert!(
            db.find_by_email(&email(unknown)).await.unwrap().is_empty(),
            "{unknown:?} found someone"
        );
    }
}

// -------------------------------------------------------------- challenges

async fn an_issued_challenge_of_every_subject_kind_round_trips_through_latest(db: &Database) {
    let ann = user_id(1);
    let bob = user_id(2);
    let policy = ChallengePolicy::unicat(900, 5);
    let issued = [
        forgot(challenge_id(1), ann, at(0)),
        challenge(
            challenge_id(2),
            Purpose::ResetPassword,
            Subject::Accounts {
                email: email("Shared@Example.com"),
                users: vec![ann, bob],
            },
            policy,
            at(1),
        ),
        challenge(
            challenge_id(3),
            Purpose::Signup,
            Subject::Signup {
                username: Username::parse("Carla").unwrap(),
                email: email("carla@example.com"),
                password_hash: hash("$2b$04$signupsignupsignupsignuOHashOfTheStepOnePassword000"),
            },
            policy,
            at(2),
        ),
        challenge(
            challenge_id(4),
            Purpose::ChangeEmail,
            Subject::EmailChange {
                user: bob,
                new_email: email("Bob.New@example.net"),
            },
            ChallengePolicy::unicat(600, 3),
            at(3),
        ),
    ];
    for c in &issued {
        db.issue(c.clone(), Vec::new()).await.unwrap();
    }
    for c in &issued {
        let loaded = latest(db, c.purpose(), &c.subject().key()).await;
        assert_eq!(loaded, *c, "{} round trip", c.purpose().as_str());
        assert_eq!(loaded.code_mac().as_bytes(), c.code_mac().as_bytes());
        assert_eq!(loaded.stored_state(), ChallengeState::Open);
        assert_eq!(loaded.failures(), 0);
        if let Subject::Signup { password_hash, .. } = loaded.subject() {
            assert_eq!(
                password_hash.expose(),
                "$2b$04$signupsignupsignupsignuOHashOfTheStepOnePassword000"
            );
        }
    }
    assert_eq!(
        latest(db, Purpose::ResetPassword, "email:shared@example.com")
            .await
            .id(),
        challenge_id(2),
        "an Accounts subject is keyed by the lower-cased address"
    );
}

async fn latest_is_none_when_nothing_was_issued_for_the_purpose_and_key(db: &Database) {
    let ann = user_id(1);
    db.issue(forgot(challenge_id(1), ann, at(0)), Vec::new())
        .await
        .unwrap();
    let key = account_key(ann);
    assert!(db
        .latest(Purpose::ResetPassword, &key)
        .await
        .unwrap()
        .is_none());
    let other = account_key(user_id(2));
    assert!(db
        .latest(Purpose::ForgotPassword, &other)
        .await
        .unwrap()
        .is_none());
}

async fn latest_reflects_failures_and_consumption(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let c = forgot(challenge_id(1), ann.id, at(0));
    db.issue(c.clone(), Vec::new()).await.unwrap();
    db.record_failure(c.id(), at(1)).await.unwrap();
    db.record_failure(c.id(), at(2)).await.unwrap();
    let key = account_key(ann.id);
    let loaded = latest(db, Purpose::ForgotPassword, &key).await;
    assert_eq!(
        loaded,
        c.with_failure(at(1)).unwrap().with_failure(at(2)).unwrap()
    );

    let effect = ChallengeEffect::SetPassword {
        user: ann.id,
        hash: hash("$2b$04$new"),
    };
    assert!(db
        .consume(c.id(), at(3), effect, Vec::new())
        .await
        .unwrap()
        .won());
    let loaded = latest(db, Purpose::ForgotPassword, &key).await;
    assert_eq!(loaded.stored_state(), ChallengeState::Consumed);
    assert_eq!(loaded.failures(), 2);
}

async fn issuing_supersedes_the_open_challenge_of_the_same_purpose_and_subject_only(db: &Database) {
    let ann = user_id(1);
    let bob = user_id(2);
    let first = forgot(challenge_id(1), ann, at(0));
    let reset = challenge(
        challenge_id(2),
        Purpose::ResetPassword,
        Subject::Account { user: ann },
        ChallengePolicy::unicat(900, 5),
        at(1),
    );
    let bobs = forgot(challenge_id(3), bob, at(2));
    for c in [&first, &reset, &bobs] {
        db.issue(c.clone(), Vec::new()).await.unwrap();
    }
    let second = forgot(challenge_id(4), ann, at(10));
    db.issue(second.clone(), Vec::new()).await.unwrap();

    let key = account_key(ann);
    assert_eq!(latest(db, Purpose::ForgotPassword, &key).await, second);
    // The replaced challenge accepts neither a try nor a consumption.
    assert_eq!(db.record_failure(first.id(), at(11)).await.unwrap(), None);
    let effect = ChallengeEffect::SetPassword {
        user: ann,
        hash: hash("$2b$04$x"),
    };
    assert!(!db
        .consume(first.id(), at(11), effect, Vec::new())
        .await
        .unwrap()
        .won());
    // Another purpose of the same account and the same purpose of another
    // account stay open.
    assert_eq!(
        latest(db, Purpose::ResetPassword, &key)
            .await
            .stored_state(),
        ChallengeState::Open
    );
    assert_eq!(
        db.record_failure(reset.id(), at(11)).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        latest(db, Purpose::ForgotPassword, &account_key(bob))
            .await
            .stored_state(),
        ChallengeState::Open
    );
    assert_eq!(db.record_failure(bobs.id(), at(11)).await.unwrap(), Some(1));
    assert_eq!(
        db.record_failure(second.id(), at(11)).await.unwrap(),
        Some(1)
    );
}

async fn of_two_challenges_issued_in_the_same_millisecond_the_second_is_latest(db: &Database) {
    let ann = user_id(1);
    let first = forgot(challenge_id(1), ann, at(0));
    let second = forgot(challenge_id(2), ann, at(0));
    db.issue(first.clone(), Vec::new()).await.unwrap();
    db.issue(second.clone(), Vec::new()).await.unwrap();
    assert_eq!(
        latest(db, Purpose::ForgotPassword, &account_key(ann)).await,
        second
    );
    assert_eq!(db.record_failure(first.id(), at(1)).await.unwrap(), None);
}

async fn of_eight_parallel_issues_for_one_account_exactly_one_stays_open(db: &Database) {
    let ann = user_id(1);
    warm_up(db).await;
    for round in 0..4u8 {
        let mut tasks = JoinSet::new();
        for i in 0..8u8 {
            let db = db.clone();
            let c = forgot(challenge_id(10 * round + i + 1), ann, at(i64::from(round)));
            tasks.spawn(async move { db.issue(c, Vec::new()).await });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap().unwrap();
        }
        let mut open = 0;
        for i in 0..8u8 {
            let id = challenge_id(10 * round + i + 1);
            if db.record_failure(id, at(100)).await.unwrap().is_some() {
                open += 1;
            }
        }
        assert_eq!(
            open, 1,
            "round {round}: open challenges after parallel issues"
        );
    }
}

async fn issuing_queues_its_mails_in_the_outbox(db: &Database) {
    let ann = user_id(1);
    let mails = vec![
        code_mail("Ann@Example.com", "Your code is 482901.\n", Some(at(900))),
        code_mail("copy@example.org", "Also: 482901", None),
    ];
    db.issue(forgot(challenge_id(1), ann, at(0)), mails.clone())
        .await
        .unwrap();
    assert_eq!(db.outbox_pending().await.unwrap(), 2);
    let claimed = db.claim("d1", at(0), at(30), 10).await.unwrap();
    let got: Vec<&OutgoingMail> = claimed.iter().map(|q| &q.mail).collect();
    assert_eq!(got, mails.iter().collect::<Vec<_>>());
    assert_eq!(claimed[0].mail.text, "Your code is 482901.\n");
    assert!(claimed.iter().all(|q| q.attempts == 0));
}

async fn a_decoy_is_stored_findable_and_superseded_and_its_mail_row_is_never_sent(db: &Database) {
    let decoy = |id: u8, typed: &str, t: i64| {
        let code = CodeFormat::Digits6.code_from_draws(&[482_901]).unwrap();
        Challenge::issue(
            challenge_id(id),
            Purpose::ForgotPassword,
            Subject::decoy(typed, false),
            &code,
            &key(),
            ChallengePolicy::forgot_password(900),
            at(t),
        )
    };
    let first = decoy(1, "Ghost", 0);
    let row = code_mail("decoy@decoy.invalid", "482901", Some(at(900)));
    let set = ChangeSet::new()
        .with(Change::IssueChallenge(first.clone()))
        .decoy_mail([row]);
    assert_eq!(db.apply(set, at(0)).await.unwrap(), Applied::Committed);
    let key = Subject::decoy("ghost", false).key();
    assert_eq!(latest(db, Purpose::ForgotPassword, &key).await, first);
    // Its mail row: written, but nothing to send and nothing pending.
    assert_eq!(db.outbox_pending().await.unwrap(), 0);
    assert!(db.claim("d1", at(0), at(30), 10).await.unwrap().is_empty());
    let stored = db.outbox_snapshot(1).await.unwrap().expect("the decoy row");
    assert_eq!(
        (
            stored.state.as_str(),
            stored.body,
            stored.recipient.as_str()
        ),
        ("decoy", None, "decoy@decoy.invalid")
    );
    // Counted like any challenge, superseded by the next one for the text.
    assert_eq!(db.record_failure(first.id(), at(1)).await.unwrap(), Some(1));
    let second = decoy(2, "GHOST", 5);
    let set = ChangeSet::new().with(Change::IssueChallenge(second.clone()));
    assert_eq!(db.apply(set, at(5)).await.unwrap(), Applied::Committed);
    assert_eq!(latest(db, Purpose::ForgotPassword, &key).await, second);
    assert_eq!(db.record_failure(first.id(), at(6)).await.unwrap(), None);
}

async fn a_failed_issue_stores_nothing_and_supersedes_nothing(db: &Database) {
    let ann = user_id(1);
    let first = forgot(challenge_id(1), ann, at(0));
    db.issue(first.clone(), Vec::new()).await.unwrap();
    // The same id again: the insert fails after the supersede ran.
    let clash = forgot(challenge_id(1), ann, at(5));
    let mails = vec![code_mail("ann@example.com", "482901", Some(at(905)))];
    assert!(db.issue(clash, mails).await.is_err());
    assert_eq!(db.outbox_pending().await.unwrap(), 0, "the mail was queued");
    assert_eq!(
        latest(db, Purpose::ForgotPassword, &account_key(ann)).await,
        first,
        "the first challenge was superseded by an issue that failed"
    );
}

async fn record_failure_counts_up_and_refuses_once_the_maximum_is_reached(db: &Database) {
    let c = forgot(challenge_id(1), user_id(1), at(0));
    db.issue(c.clone(), Vec::new()).await.unwrap();
    for expected in 1..=11 {
        assert_eq!(
            db.record_failure(c.id(), at(1)).await.unwrap(),
            Some(expected)
        );
    }
    assert_eq!(db.record_failure(c.id(), at(1)).await.unwrap(), None);
    assert_eq!(db.record_failure(c.id(), at(2)).await.unwrap(), None);
    let loaded = latest(db, Purpose::ForgotPassword, &account_key(user_id(1))).await;
    assert_eq!(loaded.failures(), 11);
    assert_eq!(loaded.state_at(at(2)), ChallengeState::Exhausted);
}

async fn record_failure_refuses_from_the_expiry_instant_on(db: &Database) {
    let c = forgot(challenge_id(1), user_id(1), at(0));
    db.issue(c.clone(), Vec::new()).await.unwrap();
    let expires = c.expires_at();
    assert_eq!(
        db.record_failure(c.id(), expires.plus_millis(-1))
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(db.record_failure(c.id(), expires).await.unwrap(), None);
    assert_eq!(
        db.record_failure(c.id(), expires.plus_seconds(60))
            .await
            .unwrap(),
        None
    );
    let loaded = latest(db, Purpose::ForgotPassword, &account_key(user_id(1))).await;
    assert_eq!(loaded.failures(), 1);
}

async fn record_failure_refuses_a_consumed_or_superseded_challenge(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let used = forgot(challenge_id(1), ann.id, at(0));
    db.issue(used.clone(), Vec::new()).await.unwrap();
    let effect = ChallengeEffect::SetPassword {
        user: ann.id,
        hash: hash("$2b$04$new"),
    };
    assert!(db
        .consume(used.id(), at(1), effect, Vec::new())
        .await
        .unwrap()
        .won());
    assert_eq!(db.record_failure(used.id(), at(2)).await.unwrap(), None);

    let bob = user_id(2);
    let replaced = forgot(challenge_id(2), bob, at(0));
    db.issue(replaced.clone(), Vec::new()).await.unwrap();
    db.issue(forgot(challenge_id(3), bob, at(1)), Vec::new())
        .await
        .unwrap();
    assert_eq!(db.record_failure(replaced.id(), at(2)).await.unwrap(), None);
    assert_eq!(
        db.record_failure(challenge_id(99), at(2)).await.unwrap(),
        None
    );
}

async fn forty_parallel_failures_on_eleven_tries_count_exactly_eleven(db: &Database) {
    let c = forgot(challenge_id(1), user_id(1), at(0));
    db.issue(c.clone(), Vec::new()).await.unwrap();
    let mut tasks = JoinSet::new();
    for _ in 0..40 {
        let db = db.clone();
        let id = c.id();
        tasks.spawn(async move { db.record_failure(id, at(1)).await });
    }
    let mut counts = Vec::new();
    let mut refused = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap().unwrap() {
            Some(n) => counts.push(n),
            None => refused += 1,
        }
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=11).collect::<Vec<u32>>());
    assert_eq!(refused, 29);
    let loaded = latest(db, Purpose::ForgotPassword, &account_key(user_id(1))).await;
    assert_eq!(loaded.failures(), 11);
}

/// Consumes a challenge of `consumed` purpose for a fresh user while an open
/// challenge of `other` purpose exists for the same account, and checks the
/// whole effect.
async fn check_set_password(db: &Database, n: u8, consumed: Purpose, other: Purpose) {
    let user = create_user(db, n, &format!("user{n}")).await;
    let key = account_key(user.id);
    let reset_policy = ChallengePolicy::unicat(900, 5);
    let policy = |p| match p {
        Purpose::ForgotPassword => ChallengePolicy::forgot_password(900),
        _ => reset_policy,
    };
    let subject = Subject::Account { user: user.id };
    let target = challenge(
        challenge_id(n),
        consumed,
        subject.clone(),
        policy(consumed),
        at(0),
    );
    let sibling = challenge(challenge_id(n + 1), other, subject, policy(other), at(1));
    let email_change = challenge(
        challenge_id(n + 2),
        Purpose::ChangeEmail,
        Subject::EmailChange {
            user: user.id,
            new_email: email("new@example.com"),
        },
        reset_policy,
        at(2),
    );
    // Someone else's reset stays untouched.
    let stranger = create_user(db, n + 3, &format!("stranger{n}")).await;
    let strangers = challenge(
        challenge_id(n + 3),
        other,
        Subject::Account { user: stranger.id },
        policy(other),
        at(3),
    );
    for c in [&target, &sibling, &email_change, &strangers] {
        db.issue(c.clone(), Vec::new()).await.unwrap();
    }
    let pending_before = db.outbox_pending().await.unwrap();

    let effect = ChallengeEffect::SetPassword {
        user: user.id,
        hash: hash("$2b$04$theNewPasswordHash"),
    };
    let mails = vec![code_mail(
        "user@example.com",
        "Your password was changed.",
        None,
    )];
    let won = db
        .consume(target.id(), at(10), effect, mails)
        .await
        .unwrap()
        .won();
    assert!(won, "consume of an open {} challenge", consumed.as_str());

    let after = db.get(user.id).await.unwrap().unwrap();
    assert_eq!(
        after.password_hash.as_ref().map(PasswordHash::expose),
        Some("$2b$04$theNewPasswordHash")
    );
    assert_eq!(after.credential_version, user.credential_version + 1);
    assert_eq!(
        User {
            password_hash: user.password_hash.clone(),
            credential_version: user.credential_version,
            ..after
        },
        user,
        "nothing else about the user changed"
    );
    assert_eq!(
        latest(db, consumed, &key).await.stored_state(),
        ChallengeState::Consumed
    );
    assert_eq!(
        latest(db, other, &key).await.stored_state(),
        ChallengeState::Consumed,
        "the open {} challenge of the same account is consumed too",
        other.as_str()
    );
    assert_eq!(db.record_failure(sibling.id(), at(11)).await.unwrap(), None);
    assert_eq!(
        latest(db, Purpose::ChangeEmail, &key).await.stored_state(),
        ChallengeState::Open,
        "an email change is not a password reset"
    );
    assert_eq!(
        latest(db, other, &account_key(stranger.id))
            .await
            .stored_state(),
        ChallengeState::Open,
        "another account's challenge is untouched"
    );
    assert_eq!(db.outbox_pending().await.unwrap(), pending_before + 1);
}

async fn consuming_with_set_password_sets_the_hash_bumps_the_version_and_closes_every_reset(
    db: &Database,
) {
    check_set_password(db, 10, Purpose::ForgotPassword, Purpose::ResetPassword).await;
    check_set_password(db, 20, Purpose::ResetPassword, Purpose::ForgotPassword).await;
    let mut claimed = db.claim("d", at(10), at(40), 10).await.unwrap();
    claimed.retain(|q| q.mail.text == "Your password was changed.");
    assert_eq!(claimed.len(), 2, "each consume queued its mail");
}

async fn a_second_consume_returns_false_and_changes_nothing(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let c = forgot(challenge_id(1), ann.id, at(0));
    db.issue(c.clone(), Vec::new()).await.unwrap();
    let first = ChallengeEffect::SetPassword {
        user: ann.id,
        hash: hash("$2b$04$first"),
    };
    let mail = || vec![code_mail("ann@example.com", "changed", None)];
    assert!(db
        .consume(c.id(), at(1), first, mail())
        .await
        .unwrap()
        .won());
    let after_first = db.get(ann.id).await.unwrap().unwrap();
    let pending = db.outbox_pending().await.unwrap();

    let second = ChallengeEffect::SetPassword {
        user: ann.id,
        hash: hash("$2b$04$second"),
    };
    assert!(!db
        .consume(c.id(), at(2), second, mail())
        .await
        .unwrap()
        .won());
    let after_second = db.get(ann.id).await.unwrap().unwrap();
    assert_eq!(after_second, after_first);
    assert_eq!(
        after_second
            .password_hash
            .as_ref()
            .map(PasswordHash::expose),
        Some("$2b$04$first")
    );
    assert_eq!(after_second.credential_version, 2);
    assert_eq!(
        db.outbox_pending().await.unwrap(),
        pending,
        "a mail was queued"
    );
}

async fn of_eight_parallel_consumes_exactly_one_wins_and_the_version_moves_once(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let c = forgot(challenge_id(1), ann.id, at(0));
    db.issue(c.clone(), Vec::new()).await.unwrap();
    let mut tasks = JoinSet::new();
    for i in 0..8 {
        let db = db.clone();
        let (id, user) = (c.id(), ann.id);
        tasks.spawn(async move {
            let effect = ChallengeEffect::SetPassword {
                user,
                hash: hash(&format!("$2b$04$racer{i}")),
            };
            let mails = vec![code_mail("ann@example.com", "changed", None)];
            db.consume(id, at(1), effect, mails).await
        });
    }
    let mut wins = 0;
    while let Some(r) = tasks.join_next().await {
        if r.unwrap().unwrap().won() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    let after = db.get(ann.id).await.unwrap().unwrap();
    assert_eq!(after.credential_version, 2);
    assert_eq!(
        db.outbox_pending().await.unwrap(),
        1,
        "only the winner's mail"
    );
}

async fn an_exhausted_or_expired_challenge_is_not_consumed(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let exhausted = forgot(challenge_id(1), ann.id, at(0));
    db.issue(exhausted.clone(), Vec::new()).await.unwrap();
    for _ in 0..11 {
        db.record_failure(exhausted.id(), at(1)).await.unwrap();
    }
    let effect = || ChallengeEffect::SetPassword {
        user: ann.id,
        hash: hash("$2b$04$stolen"),
    };
    let mails = || vec![code_mail("ann@example.com", "changed", None)];
    assert!(!db
        .consume(exhausted.id(), at(2), effect(), mails())
        .await
        .unwrap()
        .won());

    let bob = create_user(db, 2, "bob").await;
    let expiring = forgot(challenge_id(2), bob.id, at(0));
    db.issue(expiring.clone(), Vec::new()).await.unwrap();
    let effect_bob = ChallengeEffect::SetPassword {
        user: bob.id,
        hash: hash("$2b$04$stolen"),
    };
    assert!(!db
        .consume(expiring.id(), expiring.expires_at(), effect_bob, mails())
        .await
        .unwrap()
        .won());

    assert!(!db
        .consume(challenge_id(99), at(2), effect(), mails())
        .await
        .unwrap()
        .won());
    for user in [ann, bob] {
        assert_eq!(
            db.get(user.id).await.unwrap().unwrap(),
            user,
            "user changed"
        );
    }
    assert_eq!(db.outbox_pending().await.unwrap(), 0);
    assert_eq!(
        latest(db, Purpose::ForgotPassword, &account_key(user_id(2)))
            .await
            .stored_state(),
        ChallengeState::Open,
        "a refused consume leaves the stored state alone"
    );
}

/// The policy of the Unicat two-step flows: 5 tries, 15 minutes.
fn unicat_policy() -> ChallengePolicy {
    ChallengePolicy::unicat(900, 5)
}

/// A sign-up challenge for `username` at `address`.
fn signup(id: ChallengeId, username: &str, address: &str, now: Timestamp) -> Challenge {
    challenge(
        id,
        Purpose::Signup,
        Subject::Signup {
            username: Username::parse(username).unwrap(),
            email: email(address),
            password_hash: hash("$2b$04$signupsignupsignupsignuOHashOfTheStepOnePassword000"),
        },
        unicat_policy(),
        now,
    )
}

/// A reset-by-email challenge covering `users`.
fn reset_by_email(id: ChallengeId, address: &str, users: &[UserId], now: Timestamp) -> Challenge {
    challenge(
        id,
        Purpose::ResetPassword,
        Subject::Accounts {
            email: email(address),
            users: users.to_vec(),
        },
        unicat_policy(),
        now,
    )
}

/// A reset-by-username challenge for `user`.
fn reset_by_username(id: ChallengeId, user: UserId, now: Timestamp) -> Challenge {
    challenge(
        id,
        Purpose::ResetPassword,
        Subject::Account { user },
        unicat_policy(),
        now,
    )
}

fn signup_lookup(validation_code: &str) -> CodeMac {
    Challenge::lookup_mac(&key(), Purpose::Signup, validation_code)
}

async fn a_challenge_is_found_by_its_lookup_mac_under_its_own_purpose_only(db: &Database) {
    let mac = signup_lookup("vc");
    let c = signup(challenge_id(1), "Carla", "carla@example.com", at(0)).with_lookup(mac);
    let other_mac = signup_lookup("vc2");
    let other = signup(challenge_id(2), "Dora", "dora@example.com", at(1)).with_lookup(other_mac);
    let plain = signup(challenge_id(3), "Emil", "emil@example.com", at(2));
    for x in [&c, &other, &plain] {
        db.issue(x.clone(), Vec::new()).await.unwrap();
    }

    let found = db
        .find_by_lookup(Purpose::Signup, mac)
        .await
        .unwrap()
        .expect("found by its lookup MAC");
    assert_eq!(found, c);
    assert_eq!(found.lookup(), Some(&mac));
    assert_eq!(found.code_mac().as_bytes(), c.code_mac().as_bytes());
    assert_eq!(
        db.find_by_lookup(Purpose::Signup, other_mac)
            .await
            .unwrap()
            .map(|x| x.id()),
        Some(challenge_id(2))
    );

    for purpose in [
        Purpose::ResetPassword,
        Purpose::ChangeEmail,
        Purpose::ForgotPassword,
    ] {
        assert_eq!(
            db.find_by_lookup(purpose, mac).await.unwrap(),
            None,
            "found under {}",
            purpose.as_str()
        );
    }
    let same_code_other_purpose = Challenge::lookup_mac(&key(), Purpose::ResetPassword, "vc");
    assert_eq!(
        db.find_by_lookup(Purpose::ResetPassword, same_code_other_purpose)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.find_by_lookup(Purpose::Signup, signup_lookup("vd"))
            .await
            .unwrap(),
        None
    );
    // A challenge without a lookup is never found, not even by its code's MAC.
    assert_eq!(
        db.find_by_lookup(Purpose::Signup, *plain.code_mac())
            .await
            .unwrap(),
        None
    );
    let loaded = latest(db, Purpose::Signup, "email:emil@example.com").await;
    assert_eq!(loaded, plain);
    assert_eq!(loaded.lookup(), None);
}

async fn a_challenge_is_found_by_its_lookup_mac_in_any_state(db: &Database) {
    let replaced = signup(challenge_id(1), "Carla", "carla@example.com", at(0))
        .with_lookup(signup_lookup("first"));
    db.issue(replaced.clone(), Vec::new()).await.unwrap();
    db.record_failure(replaced.id(), at(1)).await.unwrap();
    let newer = signup(challenge_id(2), "Carla", "carla@example.com", at(2))
        .with_lookup(signup_lookup("second"));
    db.issue(newer.clone(), Vec::new()).await.unwrap();

    let found = db
        .find_by_lookup(Purpose::Signup, signup_lookup("first"))
        .await
        .unwrap()
        .expect("a superseded challenge is still found");
    assert_eq!(found, replaced.with_failure(at(1)).unwrap().superseded());
    assert_eq!(found.stored_state(), ChallengeState::Superseded);

    let effect = ChallengeEffect::CreateUser(new_user(user_id(1), "Carla", &["carla@example.com"]));
    assert_eq!(
        db.consume(newer.id(), at(3), effect, Vec::new())
            .await
            .unwrap(),
        ConsumeOutcome::Applied
    );
    let found = db
        .find_by_lookup(Purpose::Signup, signup_lookup("second"))
        .await
        .unwrap()
        .expect("a consumed challenge is still found");
    assert_eq!(found.id(), newer.id());
    assert_eq!(found.stored_state(), ChallengeState::Consumed);
}

async fn consuming_a_signup_with_create_user_creates_the_user_and_consumes_the_challenge(
    db: &Database,
) {
    let c = signup(challenge_id(1), "Carla", "Carla@Example.com", at(0))
        .with_lookup(signup_lookup("vc"));
    db.issue(c.clone(), Vec::new()).await.unwrap();
    let new = NewUser {
        created_at: at(5),
        ..new_user(
            user_id(1),
            "Carla",
            &["Carla@Example.com", "carla@work.example"],
        )
    };
    let expected = new.clone().into_user();
    let mails = vec![code_mail("Carla@Example.com", "Welcome, Carla.", None)];
    assert_eq!(
        db.consume(c.id(), at(5), ChallengeEffect::CreateUser(new), mails)
            .await
            .unwrap(),
        ConsumeOutcome::Applied
    );

    assert_eq!(db.get(user_id(1)).await.unwrap(), Some(expected.clone()));
    assert_eq!(
        db.find_by_username_ci("CARLA").await.unwrap(),
        Some(expected.clone())
    );
    let emails: Vec<String> = db
        .get(user_id(1))
        .await
        .unwrap()
        .unwrap()
        .emails
        .iter()
        .map(|e| e.as_str().to_owned())
        .collect();
    assert_eq!(emails, ["Carla@Example.com", "carla@work.example"]);
    assert_eq!(
        db.find_by_email(&email("carla@example.com")).await.unwrap(),
        vec![expected.clone()]
    );
    assert_eq!(
        db.find_by_email(&email("CARLA@work.example"))
            .await
            .unwrap(),
        vec![expected]
    );

    assert_eq!(
        latest(db, Purpose::Signup, "email:carla@example.com")
            .await
            .stored_state(),
        ChallengeState::Consumed
    );
    assert_eq!(db.record_failure(c.id(), at(6)).await.unwrap(), None);
    assert_eq!(db.outbox_pending().await.unwrap(), 1, "the mail was queued");

    // The code is used: a second sign-up with it creates nothing.
    let again = ChallengeEffect::CreateUser(new_user(user_id(2), "Dora", &["dora@example.com"]));
    assert_eq!(
        db.consume(c.id(), at(7), again, Vec::new()).await.unwrap(),
        ConsumeOutcome::NotOpen
    );
    assert_eq!(db.get(user_id(2)).await.unwrap(), None);
}

async fn a_signup_whose_username_was_taken_meanwhile_creates_nothing_and_stays_open(db: &Database) {
    let taken = create_user(db, 1, "carla").await;
    let c =
        signup(challenge_id(1), "CARLA", "new@example.org", at(0)).with_lookup(signup_lookup("vc"));
    db.issue(c.clone(), Vec::new()).await.unwrap();
    let effect = ChallengeEffect::CreateUser(new_user(
        user_id(2),
        "CARLA",
        &["new@example.org", "second@example.org"],
    ));
    let mails = vec![code_mail("new@example.org", "Welcome.", None)];
    assert_eq!(
        db.consume(c.id(), at(1), effect, mails).await.unwrap(),
        ConsumeOutcome::UsernameTaken
    );

    assert_eq!(db.get(user_id(2)).await.unwrap(), None);
    assert_eq!(db.find_by_username_ci("Carla").await.unwrap(), Some(taken));
    for address in ["new@example.org", "second@example.org"] {
        assert!(
            db.find_by_email(&email(address)).await.unwrap().is_empty(),
            "{address} was stored"
        );
    }
    assert_eq!(db.outbox_pending().await.unwrap(), 0, "the mail was queued");
    let loaded = latest(db, Purpose::Signup, "email:new@example.org").await;
    assert_eq!(loaded, c, "the challenge changed");
    assert_eq!(loaded.stored_state(), ChallengeState::Open);
    assert_eq!(db.record_failure(c.id(), at(2)).await.unwrap(), Some(1));

    // Had the refused user's addresses been stored, they would now show up
    // under an account that reuses its gid; the challenge is still usable.
    let retry = ChallengeEffect::CreateUser(new_user(user_id(2), "carla2", &[]));
    assert_eq!(
        db.consume(c.id(), at(3), retry, Vec::new()).await.unwrap(),
        ConsumeOutcome::Applied
    );
    let created = db.get(user_id(2)).await.unwrap().expect("carla2");
    assert!(
        created.emails.is_empty(),
        "the refused user's emails were stored"
    );
}

async fn of_eight_parallel_consumes_of_one_signup_exactly_one_creates_the_user(db: &Database) {
    let c = signup(challenge_id(1), "Racer", "racer@example.com", at(0));
    db.issue(c.clone(), Vec::new()).await.unwrap();
    warm_up(db).await;
    let mut tasks = JoinSet::new();
    for i in 0..8u8 {
        let db = db.clone();
        let id = c.id();
        tasks.spawn(async move {
            let effect = ChallengeEffect::CreateUser(new_user(
                user_id(10 + i),
                "Racer",
                &["racer@example.com"],
            ));
            let mails = vec![code_mail("racer@example.com", "Welcome.", None)];
            db.consume(id, at(1), effect, mails).await
        });
    }
    let mut applied = 0;
    let mut not_open = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap().unwrap() {
            ConsumeOutcome::Applied => applied += 1,
            ConsumeOutcome::NotOpen => not_open += 1,
            other => panic!("a losing consume answered {other:?}"),
        }
    }
    assert_eq!((applied, not_open), (1, 7));
    assert_eq!(
        db.find_by_email(&email("racer@example.com"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(db.find_by_username_ci("racer").await.unwrap().is_some());
    assert_eq!(
        db.outbox_pending().await.unwrap(),
        1,
        "only the winner's mail"
    );
}

async fn a_reset_by_email_and_a_reset_by_username_of_a_covered_account_supersede_each_other(
    db: &Database,
) {
    let (a, b) = (user_id(1), user_id(2));
    let by_email = reset_by_email(challenge_id(1), "Shared@Example.com", &[a, b], at(0));
    db.issue(by_email.clone(), Vec::new()).await.unwrap();
    let by_name = reset_by_username(challenge_id(2), a, at(1));
    db.issue(by_name.clone(), Vec::new()).await.unwrap();

    assert_eq!(db.record_failure(by_email.id(), at(2)).await.unwrap(), None);
    assert_eq!(
        latest(db, Purpose::ResetPassword, "email:shared@example.com").await,
        by_email.superseded()
    );
    assert_eq!(
        latest(db, Purpose::ResetPassword, &account_key(a)).await,
        by_name
    );

    // And the other way round.
    let again = reset_by_email(challenge_id(3), "shared@example.com", &[b, a], at(3));
    db.issue(again.clone(), Vec::new()).await.unwrap();
    assert_eq!(db.record_failure(by_name.id(), at(4)).await.unwrap(), None);
    assert_eq!(
        latest(db, Purpose::ResetPassword, &account_key(a)).await,
        again
    );
    assert_eq!(db.record_failure(again.id(), at(4)).await.unwrap(), Some(1));
}

async fn a_reset_by_email_is_superseded_by_a_reset_of_any_covered_account_only(db: &Database) {
    let (a, b, c) = (user_id(1), user_id(2), user_id(3));
    let by_email = reset_by_email(challenge_id(1), "shared@example.com", &[a, b], at(0));
    db.issue(by_email.clone(), Vec::new()).await.unwrap();
    // An account it does not cover, and another purpose of a covered one.
    let strangers = reset_by_username(challenge_id(2), c, at(1));
    let forgot_a = forgot(challenge_id(3), a, at(2));
    let change_b = challenge(
        challenge_id(4),
        Purpose::ChangeEmail,
        Subject::EmailChange {
            user: b,
            new_email: email("b.new@example.com"),
        },
        unicat_policy(),
        at(3),
    );
    for x in [&strangers, &forgot_a, &change_b] {
        db.issue(x.clone(), Vec::new()).await.unwrap();
    }
    assert_eq!(
        db.record_failure(by_email.id(), at(4)).await.unwrap(),
        Some(1),
        "a forgotPassword challenge superseded a reset"
    );
    assert_eq!(
        db.record_failure(forgot_a.id(), at(4)).await.unwrap(),
        Some(1)
    );

    // A reset of the second covered account supersedes it too.
    let by_name_b = reset_by_username(challenge_id(5), b, at(5));
    db.issue(by_name_b, Vec::new()).await.unwrap();
    assert_eq!(db.record_failure(by_email.id(), at(6)).await.unwrap(), None);
    assert_eq!(
        db.record_failure(strangers.id(), at(6)).await.unwrap(),
        Some(1)
    );
}

async fn a_reset_by_email_is_latest_under_its_address_and_under_each_covered_account(
    db: &Database,
) {
    let (a, b) = (user_id(1), user_id(2));
    let by_email = reset_by_email(challenge_id(1), "Shared@Example.com", &[a, b], at(0));
    db.issue(by_email.clone(), Vec::new()).await.unwrap();
    for key in [
        "email:shared@example.com".to_owned(),
        account_key(a),
        account_key(b),
    ] {
        assert_eq!(
            latest(db, Purpose::ResetPassword, &key).await,
            by_email,
            "under {key}"
        );
    }
    assert!(db
        .latest(Purpose::ForgotPassword, &account_key(b))
        .await
        .unwrap()
        .is_none());
    assert!(db
        .latest(Purpose::ResetPassword, &account_key(user_id(3)))
        .await
        .unwrap()
        .is_none());
}

async fn a_password_change_consumes_the_open_reset_by_email_covering_the_account_only(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let carla = create_user(db, 3, "carla").await;
    // Covers ann (not first) and carla; bob's own reset shares no key with it.
    let covering_ann = reset_by_email(
        challenge_id(1),
        "Shared@Example.com",
        &[carla.id, ann.id],
        at(0),
    );
    let only_bob = reset_by_email(challenge_id(2), "bob@example.org", &[bob.id], at(1));
    let forgot_ann = forgot(challenge_id(3), ann.id, at(2));
    for c in [&covering_ann, &only_bob, &forgot_ann] {
        db.issue(c.clone(), Vec::new()).await.unwrap();
    }

    let effect = ChallengeEffect::SetPassword {
        user: ann.id,
        hash: hash("$2b$04$theNewPasswordHash"),
    };
    assert_eq!(
        db.consume(forgot_ann.id(), at(10), effect, Vec::new())
            .await
            .unwrap(),
        ConsumeOutcome::Applied
    );

    assert_eq!(
        db.record_failure(covering_ann.id(), at(11)).await.unwrap(),
        None,
        "the reset covering ann is still open"
    );
    for key in [
        "email:shared@example.com".to_owned(),
        account_key(ann.id),
        account_key(carla.id),
    ] {
        assert_eq!(
            latest(db, Purpose::ResetPassword, &key)
                .await
                .stored_state(),
            ChallengeState::Consumed,
            "under {key}"
        );
    }
    assert_eq!(
        latest(db, Purpose::ResetPassword, &account_key(bob.id))
            .await
            .stored_state(),
        ChallengeState::Open
    );
    assert_eq!(
        db.record_failure(only_bob.id(), at(11)).await.unwrap(),
        Some(1),
        "the reset covering only bob was closed"
    );
    for other in [bob, carla] {
        assert_eq!(
            db.get(other.id).await.unwrap().unwrap(),
            other,
            "another account changed"
        );
    }
}

// ------------------------------------------------------------ rate limiter

const HOURLY_5: Limit = Limit {
    window_seconds: 3600,
    max: 5,
};

fn limited(retry_after_seconds: i64) -> RateDecision {
    RateDecision::Limited {
        retry_after_seconds,
    }
}

async fn five_hits_an_hour_are_allowed_and_the_sixth_waits_for_the_oldest_to_leave(db: &Database) {
    for i in 0..5 {
        assert_eq!(
            db.hit("k", &[HOURLY_5], at(i * 10)).await.unwrap(),
            RateDecision::Allowed,
            "hit {i}"
        );
    }
    // The oldest hit (at 0 s) leaves the window at 3600 s: 3499.5 s from
    // 100.5 s, rounded up.
    let now = at(100).plus_millis(500);
    assert_eq!(db.hit("k", &[HOURLY_5], now).await.unwrap(), limited(3500));
    let d = db.hit("k", &[HOURLY_5], at(3599)).await.unwrap();
    assert_eq!(d, limited(1));
}

async fn a_refused_hit_is_not_counted(db: &Database) {
    for i in 0..5 {
        db.hit("k", &[HOURLY_5], at(i * 10)).await.unwrap();
    }
    for i in 0..20 {
        let d = db.hit("k", &[HOURLY_5], at(100 + i)).await.unwrap();
        assert!(matches!(d, RateDecision::Limited { .. }), "{d:?}");
    }
    // At 3600 s the hit from 0 s has left; had the refused hits counted,
    // the window would still be full.
    assert_eq!(
        db.hit("k", &[HOURLY_5], at(3600)).await.unwrap(),
        RateDecision::Allowed
    );
    // Now the window holds 10, 20, 30, 40 and 3600: the next slot frees at
    // 3610 s.
    assert_eq!(
        db.hit("k", &[HOURLY_5], at(3601)).await.unwrap(),
        limited(9)
    );
}

async fn hits_older_than_the_window_no_longer_count(db: &Database) {
    for i in 0..5 {
        db.hit("k", &[HOURLY_5], at(i)).await.unwrap();
    }
    for i in 0..5 {
        assert_eq!(
            db.hit("k", &[HOURLY_5], at(7200 + i)).await.unwrap(),
            RateDecision::Allowed,
            "hit {i} of the next window"
        );
    }
    assert_eq!(
        db.hit("k", &[HOURLY_5], at(7205)).await.unwrap(),
        limited(3595)
    );
}

async fn a_limit_of_zero_is_switched_off(db: &Database) {
    let off = Limit {
        window_seconds: 3600,
        max: 0,
    };
    for i in 0..50 {
        assert_eq!(
            db.hit("k", &[off], at(i)).await.unwrap(),
            RateDecision::Allowed
        );
    }
    assert_eq!(
        db.hit("k", &[], at(60)).await.unwrap(),
        RateDecision::Allowed
    );
    // Beside a real limit, only the real one counts.
    for i in 0..5 {
        assert_eq!(
            db.hit("j", &[off, HOURLY_5], at(i)).await.unwrap(),
            RateDecision::Allowed
        );
    }
    assert!(matches!(
        db.hit("j", &[off, HOURLY_5], at(6)).await.unwrap(),
        RateDecision::Limited { .. }
    ));
}

async fn the_daily_limit_binds_when_the_hourly_one_has_room(db: &Database) {
    let daily_10 = Limit {
        window_seconds: 86_400,
        max: 10,
    };
    let limits = [HOURLY_5, daily_10];
    for i in 0..5 {
        assert_eq!(
            db.hit("k", &limits, at(i)).await.unwrap(),
            RateDecision::Allowed
        );
    }
    assert_eq!(db.hit("k", &limits, at(5)).await.unwrap(), limited(3595));
    for i in 0..5 {
        assert_eq!(
            db.hit("k", &limits, at(3601 + i)).await.unwrap(),
            RateDecision::Allowed
        );
    }
    // Two hours later the hour is empty but the day holds ten hits; the
    // oldest (0 s) leaves the day at 86400 s.
    assert_eq!(
        db.hit("k", &limits, at(7300)).await.unwrap(),
        limited(86_400 - 7300)
    );
    assert_eq!(
        db.hit("k", &limits, at(86_400)).await.unwrap(),
        RateDecision::Allowed
    );
}

async fn different_keys_are_limited_independently(db: &Database) {
    for i in 0..5 {
        db.hit("ip:192.0.2.1", &[HOURLY_5], at(i)).await.unwrap();
    }
    assert!(matches!(
        db.hit("ip:192.0.2.1", &[HOURLY_5], at(5)).await.unwrap(),
        RateDecision::Limited { .. }
    ));
    for key in ["ip:192.0.2.2", "IP:192.0.2.1", "ip:192.0.2.1 "] {
        assert_eq!(
            db.hit(key, &[HOURLY_5], at(5)).await.unwrap(),
            RateDecision::Allowed,
            "{key:?}"
        );
    }
}

async fn of_thirty_parallel_hits_with_room_for_ten_exactly_ten_are_allowed(db: &Database) {
    let limit = Limit {
        window_seconds: 3600,
        max: 10,
    };
    warm_up(db).await;
    // Several bursts, each on its own key, so that a race shows up reliably.
    for round in 0..4 {
        let key = format!("burst:{round}");
        let mut tasks = JoinSet::new();
        for _ in 0..30 {
            let (db, key) = (db.clone(), key.clone());
            tasks.spawn(async move { db.hit(&key, &[limit], at(0)).await });
        }
        let mut allowed = 0;
        while let Some(r) = tasks.join_next().await {
            match r.unwrap().unwrap() {
                RateDecision::Allowed => allowed += 1,
                RateDecision::Limited {
                    retry_after_seconds,
                } => assert_eq!(retry_after_seconds, 3600),
            }
        }
        assert_eq!(allowed, 10, "burst {round}");
        assert!(matches!(
            db.hit(&key, &[limit], at(1)).await.unwrap(),
            RateDecision::Limited { .. }
        ));
    }
}

// ------------------------------------------------------------------ outbox

async fn claim_returns_due_mail_in_full_with_no_attempts(db: &Database) {
    let mails = queue_mails(db, 3, at(0)).await;
    assert!(
        db.claim("d1", at(-1), at(29), 10).await.unwrap().is_empty(),
        "claimed before it was due"
    );
    let claimed = db.claim("d1", at(0), at(30), 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    for (q, m) in claimed.iter().zip(&mails) {
        assert_eq!(q.attempts, 0);
        assert_eq!(q.mail.to.as_str(), m.to.as_str());
        assert_eq!(q.mail.subject, m.subject);
        assert_eq!(q.mail.text, m.text);
        assert_eq!(q.mail.not_after, m.not_after);
    }
    let row = db.outbox_snapshot(claimed[0].id).await.unwrap().unwrap();
    assert_eq!(row.lease_owner.as_deref(), Some("d1"));
    assert_eq!(row.lease_until, Some(at(30).as_millis()));
    assert_eq!(row.state, "pending");
}

async fn claim_takes_at_most_the_limit_oldest_first(db: &Database) {
    queue_mails(db, 5, at(0)).await;
    let first = db.claim("d1", at(0), at(30), 2).await.unwrap();
    let rest = db.claim("d1", at(0), at(30), 10).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(rest.len(), 3);
    assert!(ids(&first).iter().max() < ids(&rest).iter().min());
}

async fn a_leased_mail_is_not_claimed_again_until_its_lease_lapses(db: &Database) {
    queue_mails(db, 1, at(0)).await;
    let claimed = db.claim("d1", at(0), at(30), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(db.claim("d2", at(1), at(31), 10).await.unwrap().is_empty());
    assert!(db.claim("d2", at(29), at(59), 10).await.unwrap().is_empty());
    // d1 crashed: its lease lapses and d2 takes the mail over.
    let reclaimed = db.claim("d2", at(31), at(61), 10).await.unwrap();
    assert_eq!(ids(&reclaimed), ids(&claimed));
    assert_eq!(reclaimed[0].mail, claimed[0].mail);
    let row = db.outbox_snapshot(claimed[0].id).await.unwrap().unwrap();
    assert_eq!(row.lease_owner.as_deref(), Some("d2"));
    assert_eq!(row.lease_until, Some(at(61).as_millis()));
}

async fn a_dispatcher_whose_lease_was_taken_over_can_mark_nothing(db: &Database) {
    queue_mails(db, 1, at(0)).await;
    let first = db.claim("d1", at(0), at(30), 10).await.unwrap();
    let (id, stale) = (first[0].id, first[0].lease.clone());
    assert_eq!(stale.owner, "d1");
    // d1 stalls past its lease; d2 takes the mail over.
    let second = db.claim("d2", at(31), at(61), 10).await.unwrap();
    let taken = second[0].lease.clone();
    assert_eq!(taken.owner, "d2");
    assert_ne!(taken.id, stale.id);
    let before = db.outbox_snapshot(id).await.unwrap().unwrap();
    assert!(!db.mark_sent(id, &stale, at(32)).await.unwrap());
    assert!(!db.mark_dead(id, &stale, at(32), "550").await.unwrap());
    assert!(!db
        .retry_later(id, &stale, 1, at(90), "timeout")
        .await
        .unwrap());
    assert_eq!(
        db.outbox_snapshot(id).await.unwrap().unwrap(),
        before,
        "a stale lease changed the row"
    );
    // The same owner claiming again after its own lease lapsed holds a new
    // lease: its older one is stale too.
    let third = db.claim("d2", at(62), at(92), 10).await.unwrap();
    assert_eq!(third[0].lease.owner, "d2");
    assert!(!db.mark_sent(id, &taken, at(63)).await.unwrap());
    assert!(db.mark_sent(id, &third[0].lease, at(63)).await.unwrap());
    let row = db.outbox_snapshot(id).await.unwrap().unwrap();
    assert_eq!(row.state, "sent");
    // A finished row is marked no more, whoever asks.
    assert!(!db
        .mark_dead(id, &third[0].lease, at(64), "x")
        .await
        .unwrap());
    assert_eq!(db.outbox_snapshot(id).await.unwrap().unwrap(), row);
}

async fn a_pending_mail_body_is_stored_sealed_and_opens_only_when_claimed(db: &Database) {
    let mails = queue_mails(db, 2, at(0)).await;
    for id in [1, 2] {
        let row = db.outbox_snapshot(id).await.unwrap().unwrap();
        assert!(row.body_sealed, "row {id}");
        let body = row.body.unwrap();
        assert!(
            !body.contains("482901"),
            "the code is stored in clear: {body}"
        );
        assert!(
            !body.contains("code for mail"),
            "the text is stored in clear: {body}"
        );
    }
    let claimed = db.claim("d1", at(0), at(30), 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|q| q.mail.clone()).collect::<Vec<_>>(),
        mails
    );
    // Claiming opens the body for the dispatcher only: the row stays sealed.
    let row = db.outbox_snapshot(claimed[0].id).await.unwrap().unwrap();
    assert!(row.body_sealed);
    assert!(!row.body.unwrap().contains("482901"));
}

async fn a_body_another_secret_sealed_stays_pending_for_the_instance_that_can_open_it(
    db: &Database,
) {
    let mails = queue_mails(db, 1, at(0)).await;
    // An instance started with another secret (not the test key,
    // `TEST_OUTBOX_KEY`): it cannot open the body.
    let stranger = db.clone().with_outbox_key(&[0xa5; 32]);
    assert!(stranger
        .claim("d2", at(0), at(30), 10)
        .await
        .unwrap()
        .is_empty());
    let row = db.outbox_snapshot(1).await.unwrap().unwrap();
    assert_eq!(row.state, "pending", "the mail was given up");
    assert!(row.body.is_some(), "the body was erased");
    // Its claim's lease holds the row until it lapses; then the instance
    // with the right secret sends it.
    assert!(db.claim("d1", at(10), at(40), 10).await.unwrap().is_empty());
    let claimed = db.claim("d1", at(31), at(61), 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|q| q.mail.clone()).collect::<Vec<_>>(),
        mails
    );
}

async fn a_sent_mail_loses_its_body_and_is_never_claimed_again(db: &Database) {
    queue_mails(db, 2, at(0)).await;
    let claimed = db.claim("d1", at(0), at(30), 10).await.unwrap();
    let id = claimed[0].id;
    assert!(db.mark_sent(id, &claimed[0].lease, at(1)).await.unwrap());
    let row = db.outbox_snapshot(id).await.unwrap().unwrap();
    assert_eq!(row.state, "sent");
    assert_eq!(row.body, None, "the body (and its code) was kept");
    assert_eq!(row.finished_at, Some(at(1).as_millis()));
    assert_eq!(row.lease_owner, None);
    assert_eq!(row.lease_until, None);
    let later = db.claim("d2", at(100_000), at(100_030), 10).await.unwrap();
    assert_eq!(ids(&later), vec![claimed[1].id]);
    assert_eq!(db.outbox_pending().await.unwrap(), 1);
}

async fn a_mail_to_retry_is_claimed_again_only_from_its_next_attempt_on(db: &Database) {
    queue_mails(db, 1, at(0)).await;
    let claimed = db.claim("d1", at(0), at(30), 10).await.unwrap();
    let id = claimed[0].id;
    assert!(db
        .retry_later(id, &claimed[0].lease, 1, at(60), "421 try again later")
        .await
        .unwrap());
    let row = db.outbox_snapshot(id).await.unwrap().unwrap();
    assert_eq!(row.state, "pending");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.next_attempt_at, at(60).as_millis());
    assert_eq!(row.lease_owner, None);
    assert_eq!(row.lease_until, None);
    assert_eq!(row.last_error.as_deref(), Some("421 try again later"));
    assert!(row.body.is_some());

    assert!(db.claim("d1", at(59), at(89), 10).await.unwrap().is_empty());
    let again = db.claim("d1", at(60), at(90), 10).await.unwrap();
    assert_eq!(ids(&again), vec![id]);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].mail, claimed[0].mail);

    assert!(db
        .retry_later(id, &again[0].lease, 2, at(120), "timeout")
        .await
        .unwrap());
    let third = db.claim("d1", at(125), at(155), 10).await.unwrap();
    assert_eq!(third[0].attempts, 2);
}

async fn a_dead_mail_loses_its_body_keeps_its_reason_and_is_never_claimed_again(db: &Database) {
    queue_mails(db, 1, at(0)).await;
    let claimed = db.claim("d1", at(0), at(30), 10).await.unwrap();
    let id = claimed[0].id;
    assert!(db
        .mark_dead(id, &claimed[0].lease, at(2), "code expired")
        .await
        .unwrap());
    let row = db.outbox_snapshot(id).await.unwrap().unwrap();
    assert_eq!(row.state, "dead");
    assert_eq!(row.body, None);
    assert_eq!(row.last_error.as_deref(), Some("code expired"));
    assert_eq!(row.finished_at, Some(at(2).as_millis()));
    assert!(db
        .claim("d1", at(100_000), at(100_030), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(db.outbox_pending().await.unwrap(), 0);
}

async fn two_dispatchers_claiming_at_once_never_get_the_same_mail(db: &Database) {
    queue_mails(db, 20, at(0)).await;
    let mut tasks = JoinSet::new();
    for owner in ["d1", "d2"] {
        let db = db.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = db.claim(owner, at(0), at(300), 3).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(ids(&batch));
                tokio::task::yield_now().await;
            }
        });
    }
    let mut sets = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let mine = r.unwrap();
        let set: BTreeSet<i64> = mine.iter().copied().collect();
        assert_eq!(set.len(), mine.len(), "one dispatcher got a row twice");
        sets.push(set);
    }
    let (a, b) = (&sets[0], &sets[1]);
    assert!(
        a.is_disjoint(b),
        "both got {:?}",
        a.intersection(b).collect::<Vec<_>>()
    );
    assert_eq!(a.len() + b.len(), 20, "{} + {}", a.len(), b.len());
}

async fn outbox_pending_counts_the_mail_still_to_send(db: &Database) {
    assert_eq!(db.outbox_pending().await.unwrap(), 0);
    queue_mails(db, 4, at(0)).await;
    assert_eq!(db.outbox_pending().await.unwrap(), 4);
    let claimed = db.claim("d1", at(0), at(30), 10).await.unwrap();
    assert_eq!(
        db.outbox_pending().await.unwrap(),
        4,
        "a leased mail is pending"
    );
    let [a, b, c, ..] = &claimed[..] else {
        panic!("three claimed")
    };
    assert!(db.mark_sent(a.id, &a.lease, at(1)).await.unwrap());
    assert!(db
        .mark_dead(b.id, &b.lease, at(1), "too many attempts")
        .await
        .unwrap());
    assert!(db
        .retry_later(c.id, &c.lease, 1, at(60), "timeout")
        .await
        .unwrap());
    assert_eq!(db.outbox_pending().await.unwrap(), 2);
}

// ---------------------------------------------------------------- projects

fn project_id(n: u8) -> ProjectId {
    ProjectId::from_random_bytes([n; 16])
}

/// An active project with default settings.
fn project(n: u8, name: &str, owner: UserId) -> Project {
    Project {
        id: project_id(n),
        name: name.to_owned(),
        icon: None,
        owner,
        status: ProjectStatus::Active,
        timezone: "UTC".to_owned(),
        languages: vec!["en".to_owned()],
    }
}

/// A membership with default notifications and no rate limit.
fn member(project: &Project, user: UserId, status: MembershipStatus, roles: &[Role]) -> Membership {
    Membership {
        project: project.id,
        user,
        status,
        roles: roles.to_vec(),
        notifications: Notifications::default(),
        rate_limit_per_second: None,
        invitation: None,
    }
}

fn owner_row(project: &Project) -> Membership {
    member(
        project,
        project.owner,
        MembershipStatus::Active,
        &[Role::Owner],
    )
}

fn view(project: &Project, own: &Membership, owner_row: Option<&Membership>) -> ProjectView {
    ProjectView {
        project: project.clone(),
        own: own.clone(),
        owner_row: owner_row.cloned(),
    }
}

// `Database` is also a `UserRepository`, whose `create` would clash with
// `ProjectRepository::create` were the trait in scope.
async fn create_project(db: &Database, project: &Project, owner: &Membership) {
    let set = ChangeSet::new().with(Change::CreateProject {
        project: project.clone(),
        owner: owner.clone(),
    });
    assert_eq!(db.apply(set, at(0)).await.unwrap(), Applied::Committed);
}

/// Stores a new membership row.
async fn save_membership(db: &Database, membership: &Membership) {
    let set = ChangeSet::new().with(Change::PutMembership {
        membership: membership.clone(),
        expected: None,
    });
    assert_eq!(db.apply(set, at(0)).await.unwrap(), Applied::Committed);
}

/// Replaces a membership row that has status `from`.
async fn update_membership(db: &Database, membership: &Membership, from: MembershipStatus) {
    let set = ChangeSet::new().with(Change::PutMembership {
        membership: membership.clone(),
        expected: Some(from),
    });
    assert_eq!(db.apply(set, at(0)).await.unwrap(), Applied::Committed);
}

async fn views_for(db: &Database, user: UserId) -> Vec<ProjectView> {
    accountd_ports::ProjectRepository::views_for(db, user)
        .await
        .unwrap()
}

async fn a_created_project_round_trips_every_field_in_its_owners_view(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let alpha = Project {
        id: project_id(1),
        name: "Alpha".to_owned(),
        icon: Some("icons/alpha.png".to_owned()),
        owner: ann.id,
        status: ProjectStatus::Active,
        timezone: "Europe/Berlin".to_owned(),
        languages: vec!["de".to_owned(), "en".to_owned(), "fr".to_owned()],
    };
    let alpha_owner = Membership {
        project: alpha.id,
        user: ann.id,
        status: MembershipStatus::Active,
        roles: vec![Role::Owner, Role::Member],
        notifications: Notifications {
            email: Some(email("Ann.Notify@Example.com")),
            events: vec!["comments".to_owned(), "releases".to_owned()],
            frequency: "daily".to_owned(),
        },
        rate_limit_per_second: Some(25),
        invitation: None,
    };
    let beta = Project {
        id: project_id(2),
        name: "Beta".to_owned(),
        icon: None,
        owner: ann.id,
        status: ProjectStatus::Deleted,
        timezone: "America/New_York".to_owned(),
        languages: Vec::new(),
    };
    let beta_owner = owner_row(&beta);
    create_project(db, &alpha, &alpha_owner).await;
    create_project(db, &beta, &beta_owner).await;

    assert_eq!(
        views_for(db, ann.id).await,
        vec![
            view(&alpha, &alpha_owner, None),
            view(&beta, &beta_owner, None)
        ]
    );
}

async fn an_invited_member_sees_the_project_with_their_own_row_and_the_owners_row(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let p = project(1, "Alpha", ann.id);
    let owner = Membership {
        notifications: Notifications {
            email: Some(email("ann@example.com")),
            ..Notifications::default()
        },
        rate_limit_per_second: Some(10),
        invitation: None,
        ..owner_row(&p)
    };
    create_project(db, &p, &owner).await;
    let invited = Membership {
        notifications: Notifications {
            email: Some(email("Bob@Example.org")),
            events: vec!["mentions".to_owned()],
            frequency: "weekly".to_owned(),
        },
        rate_limit_per_second: Some(3),
        invitation: None,
        ..member(&p, bob.id, MembershipStatus::Invited, &[Role::Member])
    };
    save_membership(db, &invited).await;

    assert_eq!(
        views_for(db, bob.id).await,
        vec![view(&p, &invited, Some(&owner))]
    );
    assert_eq!(views_for(db, ann.id).await, vec![view(&p, &owner, None)]);
}

async fn a_declined_membership_is_not_listed(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let carla = create_user(db, 3, "carla").await;
    let dora = create_user(db, 4, "dora").await;
    let p = project(1, "Alpha", ann.id);
    create_project(db, &p, &owner_row(&p)).await;
    save_membership(
        db,
        &member(&p, bob.id, MembershipStatus::Invited, &[Role::Member]),
    )
    .await;
    update_membership(
        db,
        &member(&p, bob.id, MembershipStatus::Declined, &[Role::Member]),
        MembershipStatus::Invited,
    )
    .await;
    save_membership(
        db,
        &member(&p, carla.id, MembershipStatus::Declined, &[Role::Member]),
    )
    .await;

    assert!(views_for(db, bob.id).await.is_empty());
    assert!(views_for(db, carla.id).await.is_empty());
    assert!(
        views_for(db, dora.id).await.is_empty(),
        "not a member at all"
    );
    assert_eq!(views_for(db, ann.id).await.len(), 1);
}

async fn writing_a_membership_replaces_every_field_of_the_row(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let p = project(1, "Alpha", ann.id);
    let owner = owner_row(&p);
    create_project(db, &p, &owner).await;
    let invited = member(&p, bob.id, MembershipStatus::Invited, &[Role::Member]);
    save_membership(db, &invited).await;
    let active = Membership {
        status: MembershipStatus::Active,
        notifications: Notifications {
            email: Some(email("bob@example.org")),
            events: vec!["all".to_owned()],
            frequency: "daily".to_owned(),
        },
        rate_limit_per_second: Some(5),
        invitation: None,
        ..invited.clone()
    };
    update_membership(db, &active, MembershipStatus::Invited).await;
    assert_eq!(
        views_for(db, bob.id).await,
        vec![view(&p, &active, Some(&owner))]
    );
    // Set fields are cleared again, not kept.
    update_membership(db, &invited, MembershipStatus::Active).await;
    assert_eq!(
        views_for(db, bob.id).await,
        vec![view(&p, &invited, Some(&owner))]
    );
    update_membership(db, &active, MembershipStatus::Invited).await;

    // The owner's row is replaced the same way, and read afresh.
    let owner_after = Membership {
        notifications: Notifications {
            email: Some(email("ann@example.net")),
            events: vec!["releases".to_owned()],
            frequency: "weekly".to_owned(),
        },
        rate_limit_per_second: Some(50),
        invitation: None,
        ..owner
    };
    update_membership(db, &owner_after, MembershipStatus::Active).await;
    assert_eq!(
        views_for(db, ann.id).await,
        vec![view(&p, &owner_after, None)]
    );
    assert_eq!(
        views_for(db, bob.id).await,
        vec![view(&p, &active, Some(&owner_after))]
    );
}

async fn views_are_ordered_by_project_name_then_gid(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let carla = create_user(db, 3, "carla").await;
    // Created, and numbered, in neither name nor gid order.
    let gamma = project(1, "Gamma", ann.id);
    let alpha = project(5, "Alpha", carla.id);
    let bobs_beta = project(4, "Beta", bob.id);
    let anns_beta = project(2, "Beta", ann.id);
    let delta = project(3, "Delta", ann.id);
    let epsilon = project(6, "Epsilon", carla.id);
    for p in [&gamma, &alpha, &bobs_beta, &anns_beta, &delta, &epsilon] {
        create_project(db, p, &owner_row(p)).await;
    }
    let in_gamma = member(&gamma, bob.id, MembershipStatus::Invited, &[Role::Member]);
    let in_alpha = member(&alpha, bob.id, MembershipStatus::Active, &[Role::Member]);
    let in_beta = member(
        &anns_beta,
        bob.id,
        MembershipStatus::Invited,
        &[Role::Member],
    );
    let in_delta = member(&delta, bob.id, MembershipStatus::Declined, &[Role::Member]);
    for m in [&in_gamma, &in_alpha, &in_beta, &in_delta] {
        save_membership(db, m).await;
    }

    assert_eq!(
        views_for(db, bob.id).await,
        vec![
            view(&alpha, &in_alpha, Some(&owner_row(&alpha))),
            view(&anns_beta, &in_beta, Some(&owner_row(&anns_beta))),
            view(&bobs_beta, &owner_row(&bobs_beta), None),
            view(&gamma, &in_gamma, Some(&owner_row(&gamma))),
        ]
    );
    let anns: Vec<ProjectId> = views_for(db, ann.id)
        .await
        .iter()
        .map(|v| v.project.id)
        .collect();
    assert_eq!(anns, [anns_beta.id, delta.id, gamma.id]);
}

// ----------------------------------------------------------------- runners

/// Runs each contract as `sqlite::<name>` and `postgres::<name>`, each on a
/// fresh database. The PostgreSQL ones pass without running when
/// `TEST_DATABASE_URL` is unset (and fail under CI, see `TestDb`).
macro_rules! contracts {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use accountd_adapters::test_support::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let test_db = TestDb::sqlite();
                    let db = test_db.open(super::POOL_SIZE).await;
                    super::$name(&db).await;
                }
            )*
        }

        mod postgres {
            use accountd_adapters::test_support::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(test_db) = TestDb::postgres() else { return };
                    let db = test_db.open(super::POOL_SIZE).await;
                    super::$name(&db).await;
                }
            )*
        }
    };
}

async fn login_attempts_are_recorded_per_key_listed_since_a_time_and_cleared(db: &Database) {
    let mut ids = Vec::new();
    for i in 0..3 {
        let (id, prior) = LoginThrottle::begin(db, "login-fail:ann:v1", at(i), at(-1))
            .await
            .unwrap();
        assert_eq!(prior.len(), i as usize, "each attempt sees those before it");
        ids.push(id);
    }
    LoginThrottle::begin(db, "login-fail:bob:v1", at(1), at(-1))
        .await
        .unwrap();
    let (fourth, prior) = LoginThrottle::begin(db, "login-fail:ann:v1", at(3), at(0))
        .await
        .unwrap();
    assert_eq!(prior, vec![at(1), at(2)], "only attempts after `since`");
    // A forgotten attempt no longer counts.
    LoginThrottle::forget(db, fourth).await.unwrap();
    LoginThrottle::forget(db, ids[2]).await.unwrap();
    let (_, prior) = LoginThrottle::begin(db, "login-fail:ann:v1", at(4), at(-1))
        .await
        .unwrap();
    assert_eq!(prior, vec![at(0), at(1)]);
    LoginThrottle::clear(db, "login-fail:ann:v1").await.unwrap();
    let (_, prior) = LoginThrottle::begin(db, "login-fail:ann:v1", at(5), at(-1))
        .await
        .unwrap();
    assert!(prior.is_empty());
    let (_, prior) = LoginThrottle::begin(db, "login-fail:bob:v1", at(6), at(-1))
        .await
        .unwrap();
    assert_eq!(prior, vec![at(1)], "clearing one key leaves the others");
    // An attempt more than a day later prunes the old ones.
    let (_, prior) = LoginThrottle::begin(db, "login-fail:bob:v1", at(90_000), at(-1))
        .await
        .unwrap();
    assert!(prior.is_empty(), "{prior:?}");
}

async fn parallel_login_attempts_each_see_the_ones_before_them(db: &Database) {
    let db = std::sync::Arc::new(db.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let db = std::sync::Arc::clone(&db);
        tasks.spawn(async move {
            LoginThrottle::begin(&*db, "login-fail:race:v1", at(1), at(0))
                .await
                .unwrap()
                .1
                .len()
        });
    }
    let mut seen = Vec::new();
    while let Some(n) = tasks.join_next().await {
        seen.push(n.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..12).collect::<Vec<_>>());
}

async fn a_purge_removes_only_what_no_rule_needs_any_more(db: &Database) {
    const DAY: i64 = 86_400;
    let ann = create_user(db, 1, "ann").await.id;
    let bob = create_user(db, 2, "bob").await.id;
    // A challenge that expired long ago, and one still live.
    db.issue(forgot(challenge_id(1), ann, at(0)), Vec::new())
        .await
        .unwrap();
    db.issue(forgot(challenge_id(2), bob, at(DAY + 1000)), Vec::new())
        .await
        .unwrap();
    // Rate entries: one a day old at purge time, one recent.
    db.hit("k:old", &[HOURLY_5], at(0)).await.unwrap();
    db.hit("k:new", &[HOURLY_5], at(DAY + 1000)).await.unwrap();
    // Mail: one sent at t=1, one still pending.
    db.issue(
        forgot(challenge_id(3), bob, at(DAY + 1001)),
        vec![
            code_mail("bob@example.com", "sent", None),
            code_mail("bob@example.com", "waiting", None),
        ],
    )
    .await
    .unwrap();
    let sent = db
        .claim("d", at(DAY + 1002), at(DAY + 1032), 1)
        .await
        .unwrap();
    assert!(db
        .mark_sent(sent[0].id, &sent[0].lease, at(DAY + 1003))
        .await
        .unwrap());

    let p = db.purge(purge_before(at(DAY + 1100))).await.unwrap();
    assert_eq!((p.rate_events, p.challenges, p.outbox), (1, 1, 0));
    assert!(latest_opt(db, Purpose::ForgotPassword, &account_key(ann))
        .await
        .is_none());
    assert!(latest_opt(db, Purpose::ForgotPassword, &account_key(bob))
        .await
        .is_some());
    assert!(
        matches!(
            db.hit(
                "k:new",
                &[Limit {
                    window_seconds: DAY,
                    max: 1
                }],
                at(DAY + 1101)
            )
            .await
            .unwrap(),
            RateDecision::Limited { .. }
        ),
        "the recent entry is kept"
    );

    // A week after it was sent, the sent row goes; the pending one stays.
    let p = db.purge(purge_before(at(8 * DAY + 1100))).await.unwrap();
    assert_eq!(p.outbox, 1);
    assert_eq!(db.outbox_pending().await.unwrap(), 1);
}

/// The server's cut-offs at `now`: a day for rate events and expired
/// challenges, a week for finished mail.
fn purge_before(now: Timestamp) -> accountd_adapters::PurgeBefore {
    accountd_adapters::PurgeBefore {
        rate_events: now.plus_seconds(-86_400),
        finished_mail: now.plus_seconds(-7 * 86_400),
        expired_challenges: now.plus_seconds(-86_400),
        email_reverts: now,
        deleted_projects: now.plus_seconds(-30 * 86_400),
        invite_tokens: now,
        audit_events: now.plus_seconds(-365 * 86_400),
        now,
    }
}

async fn latest_opt(db: &Database, purpose: Purpose, key: &str) -> Option<Challenge> {
    ChallengeRepository::latest(db, purpose, key).await.unwrap()
}

contracts!(
    a_purge_removes_only_what_no_rule_needs_any_more,
    login_attempts_are_recorded_per_key_listed_since_a_time_and_cleared,
    parallel_login_attempts_each_see_the_ones_before_them,
    a_created_user_round_trips_every_field_by_id_and_by_username,
    a_username_is_found_case_insensitively_beyond_ascii,
    an_unknown_user_is_none,
    a_username_taken_in_another_case_is_refused_and_nothing_is_stored,
    of_eight_parallel_creates_of_one_name_exactly_one_succeeds,
    find_by_email_returns_every_user_with_the_address_case_insensitively_oldest_first_once_each,
    an_issued_challenge_of_every_subject_kind_round_trips_through_latest,
    latest_is_none_when_nothing_was_issued_for_the_purpose_and_key,
    latest_reflects_failures_and_consumption,
    issuing_supersedes_the_open_challenge_of_the_same_purpose_and_subject_only,
    of_two_challenges_issued_in_the_same_millisecond_the_second_is_latest,
    of_eight_parallel_issues_for_one_account_exactly_one_stays_open,
    issuing_queues_its_mails_in_the_outbox,
    a_decoy_is_stored_findable_and_superseded_and_its_mail_row_is_never_sent,
    a_failed_issue_stores_nothing_and_supersedes_nothing,
    record_failure_counts_up_and_refuses_once_the_maximum_is_reached,
    record_failure_refuses_from_the_expiry_instant_on,
    record_failure_refuses_a_consumed_or_superseded_challenge,
    forty_parallel_failures_on_eleven_tries_count_exactly_eleven,
    consuming_with_set_password_sets_the_hash_bumps_the_version_and_closes_every_reset,
    a_second_consume_returns_false_and_changes_nothing,
    of_eight_parallel_consumes_exactly_one_wins_and_the_version_moves_once,
    an_exhausted_or_expired_challenge_is_not_consumed,
    a_challenge_is_found_by_its_lookup_mac_under_its_own_purpose_only,
    a_challenge_is_found_by_its_lookup_mac_in_any_state,
    consuming_a_signup_with_create_user_creates_the_user_and_consumes_the_challenge,
    a_signup_whose_username_was_taken_meanwhile_creates_nothing_and_stays_open,
    of_eight_parallel_consumes_of_one_signup_exactly_one_creates_the_user,
    a_reset_by_email_and_a_reset_by_username_of_a_covered_account_supersede_each_other,
    a_reset_by_email_is_superseded_by_a_reset_of_any_covered_account_only,
    a_reset_by_email_is_latest_under_its_address_and_under_each_covered_account,
    a_password_change_consumes_the_open_reset_by_email_covering_the_account_only,
    five_hits_an_hour_are_allowed_and_the_sixth_waits_for_the_oldest_to_leave,
    a_refused_hit_is_not_counted,
    hits_older_than_the_window_no_longer_count,
    a_limit_of_zero_is_switched_off,
    the_daily_limit_binds_when_the_hourly_one_has_room,
    different_keys_are_limited_independently,
    of_thirty_parallel_hits_with_room_for_ten_exactly_ten_are_allowed,
    claim_returns_due_mail_in_full_with_no_attempts,
    claim_takes_at_most_the_limit_oldest_first,
    a_leased_mail_is_not_claimed_again_until_its_lease_lapses,
    a_dispatcher_whose_lease_was_taken_over_can_mark_nothing,
    a_pending_mail_body_is_stored_sealed_and_opens_only_when_claimed,
    a_body_another_secret_sealed_stays_pending_for_the_instance_that_can_open_it,
    a_sent_mail_loses_its_body_and_is_never_claimed_again,
    a_mail_to_retry_is_claimed_again_only_from_its_next_attempt_on,
    a_dead_mail_loses_its_body_keeps_its_reason_and_is_never_claimed_again,
    two_dispatchers_claiming_at_once_never_get_the_same_mail,
    outbox_pending_counts_the_mail_still_to_send,
    a_created_project_round_trips_every_field_in_its_owners_view,
    an_invited_member_sees_the_project_with_their_own_row_and_the_owners_row,
    a_declined_membership_is_not_listed,
    writing_a_membership_replaces_every_field_of_the_row,
    views_are_ordered_by_project_name_then_gid,
);

/// Whether a consume call won (applied its effect).
trait Won {
    fn won(self) -> bool;
}

impl Won for ConsumeOutcome {
    fn won(self) -> bool {
        self == ConsumeOutcome::Applied
    }
}

/// `Changes::apply`, the one write of every use case.
#[path = "contract/change_sets.rs"]
mod change_sets;

/// `Change::DeleteAccount` and `ProjectRepository::owned_by`.
#[path = "contract/delete.rs"]
mod delete;
/// The email change's writes and reads (revert tokens, the revert).
#[path = "contract/email_revert.rs"]
mod email_revert;
/// `ProjectRepository::shared_rows`, the read of `users/get`.
#[path = "contract/users_get.rs"]
mod users_get;

/// `Change::UpdateProfile`, the write of `account/update`.
#[path = "contract/account_update.rs"]
mod account_update;

/// The project routes' reads, the projects cap, `Change::UpdateProject`
/// and the one-owner constraint.
#[path = "contract/projects.rs"]
mod projects;

/// The invitation writes and reads: placeholders, the pending cap, rate
/// hits in a change set, the sign-up claim, placeholder clean-up and its
/// race with an invite, `UserRepository::get_many`.
#[path = "contract/invitations.rs"]
mod invitations;

/// The audit log: rows ride in a change set's transaction, are read back
/// filtered and in order, and are purged by age.
#[path = "contract/audit.rs"]
mod audit;

/// Caseless names and addresses: the key refold of old rows, collisions
/// listed and kept, new ones refused (issue 10, finding 3).
#[path = "contract/caseless.rs"]
mod caseless;

/// The EdDSA signing keys: one first key under parallel starts, rotation
/// keeping and then deleting the old key, sealing under the secret.
#[path = "contract/jwt_keys.rs"]
mod jwt_keys;
