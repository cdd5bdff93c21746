//! The contract of `Change::DeleteAccount` and `ProjectRepository::owned_by`:
//! a deletion erases exactly what the spec says, keeps the username
//! reserved, and never leaves a project owned by a deleted account.

use super::*;
use accountd_domain::{Change, ChangeSet, Conflict};
use accountd_ports::{Applied, Changes};

async fn apply(db: &Database, set: ChangeSet, now: Timestamp) -> Applied {
    Changes::apply(db, set, now).await.unwrap()
}

async fn owned_by(db: &Database, user: UserId) -> Vec<ProjectId> {
    accountd_ports::ProjectRepository::owned_by(db, user)
        .await
        .unwrap()
}

/// The set `account/delete` applies for `user` as loaded.
fn deletion(user: &User) -> ChangeSet {
    ChangeSet::new()
        .with(Change::DeleteAccount {
            user: user.id,
            expected_version: user.credential_version,
        })
        .with(Change::ConsumeOpenChallenges {
            key: account_key(user.id),
            purposes: vec![
                Purpose::ForgotPassword,
                Purpose::Signup,
                Purpose::ResetPassword,
                Purpose::ChangeEmail,
            ],
        })
        .mail(
            user.emails
                .iter()
                .map(|e| code_mail(e.as_str(), "your account was deleted", None)),
        )
}

async fn deleting_an_account_erases_its_credentials_addresses_and_memberships_and_keeps_its_name(
    db: &Database,
) {
    let ann = db
        .create(new_user(
            user_id(1),
            "Ann",
            &["ann@example.com", "a.lee@work.example"],
        ))
        .await
        .unwrap();
    let bob = create_user(db, 2, "bob").await;
    let alpha = project(1, "alpha", bob.id);
    let beta = project(2, "beta", bob.id);
    create_project(db, &alpha, &owner_row(&alpha)).await;
    create_project(db, &beta, &owner_row(&beta)).await;
    save_membership(
        db,
        &member(&alpha, ann.id, MembershipStatus::Active, &[Role::Member]),
    )
    .await;
    let declined = member(&beta, ann.id, MembershipStatus::Declined, &[Role::Member]);
    save_membership(db, &declined).await;
    let issue = ChangeSet::new()
        .with(Change::IssueChallenge(forgot(
            challenge_id(1),
            ann.id,
            at(0),
        )))
        .with(Change::IssueChallenge(reset_by_username(
            challenge_id(2),
            ann.id,
            at(0),
        )))
        .with(Change::IssueChallenge(forgot(
            challenge_id(3),
            bob.id,
            at(0),
        )));
    assert_eq!(apply(db, issue, at(0)).await, Applied::Committed);
    // An email change left a revert token holding two of Ann's addresses,
    // and one of Bob's.
    let revert = |user, token| {
        accountd_domain::EmailRevert::issue(
            &key(),
            token,
            user,
            email("old@example.com"),
            email("new@example.com"),
            at(0),
            3600,
        )
    };
    let tokens = ChangeSet::new()
        .with(Change::IssueEmailRevert(revert(ann.id, "ann-token")))
        .with(Change::IssueEmailRevert(revert(bob.id, "bob-token")));
    assert_eq!(apply(db, tokens, at(0)).await, Applied::Committed);
    let mac = |token| accountd_domain::EmailRevert::token_mac(&key(), token);
    let pending = db.outbox_pending().await.unwrap();

    assert_eq!(apply(db, deletion(&ann), at(1)).await, Applied::Committed);

    let deleted = ann.clone().deleted();
    assert_eq!(db.get(ann.id).await.unwrap(), Some(deleted.clone()));
    assert_eq!(deleted.status, UserStatus::Deleted);
    assert_eq!(deleted.credential_version, ann.credential_version + 1);
    assert_eq!(
        db.find_by_username_ci("ANN").await.unwrap(),
        Some(deleted),
        "the name stays, in any case"
    );
    assert!(db
        .find_by_email(&email("ann@example.com"))
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .find_by_email(&email("a.lee@work.example"))
        .await
        .unwrap()
        .is_empty());
    assert!(views_for(db, ann.id).await.is_empty());
    assert_eq!(
        views_for(db, bob.id).await,
        vec![
            view(&alpha, &owner_row(&alpha), None),
            view(&beta, &owner_row(&beta), None)
        ],
        "the owner's rows stay"
    );
    // The declined row went too, and a deleted account cannot be given a
    // new row (the guard of `PutMembership` since the invitations).
    assert!(
        !accountd_ports::ProjectRepository::rows_of(db, beta.id)
            .await
            .unwrap()
            .iter()
            .any(|r| r.user == ann.id),
        "the declined row is gone"
    );
    assert_eq!(
        apply(
            db,
            ChangeSet::new().with(Change::PutMembership {
                membership: declined,
                expected: None,
            }),
            at(2)
        )
        .await,
        Applied::Refused(Conflict::UserChanged)
    );
    let state = |c: Challenge| c.stored_state();
    assert_eq!(
        state(latest(db, Purpose::ForgotPassword, &account_key(ann.id)).await),
        ChallengeState::Consumed
    );
    assert_eq!(
        state(latest(db, Purpose::ResetPassword, &account_key(ann.id)).await),
        ChallengeState::Consumed
    );
    assert_eq!(
        state(latest(db, Purpose::ForgotPassword, &account_key(bob.id)).await),
        ChallengeState::Open
    );
    assert_eq!(db.outbox_pending().await.unwrap(), pending + 2);
    assert_eq!(
        db.find_email_revert(mac("ann-token")).await.unwrap(),
        None,
        "the revert tokens, with the addresses they hold, go"
    );
    assert_eq!(
        db.find_email_revert(mac("bob-token")).await.unwrap(),
        Some(revert(bob.id, "bob-token")),
        "another account's stay"
    );
    assert!(
        matches!(
            db.create(new_user(user_id(9), "aNN", &["new@example.com"]))
                .await,
            Err(CreateUserError::UsernameTaken)
        ),
        "the name stays reserved"
    );
}

async fn deleting_under_an_old_credential_version_is_a_conflict_and_changes_nothing(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let changed = ChangeSet::new().set_password(&ann, hash("$2b$04$changedchangedchanged"));
    assert_eq!(apply(db, changed, at(0)).await, Applied::Committed);
    let stored = db.get(ann.id).await.unwrap();
    let pending = db.outbox_pending().await.unwrap();

    assert_eq!(
        apply(db, deletion(&ann), at(1)).await,
        Applied::Refused(Conflict::UserChanged)
    );

    assert_eq!(db.get(ann.id).await.unwrap(), stored);
    assert_eq!(db.outbox_pending().await.unwrap(), pending);
}

async fn the_owner_of_a_project_in_any_status_is_not_deleted_and_nothing_changes(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let gone = Project {
        status: ProjectStatus::Deleted,
        ..project(1, "gone", ann.id)
    };
    create_project(db, &gone, &owner_row(&gone)).await;
    let bobs = project(2, "bobs", bob.id);
    create_project(db, &bobs, &owner_row(&bobs)).await;
    let row = member(&bobs, ann.id, MembershipStatus::Active, &[Role::Member]);
    save_membership(db, &row).await;
    let issue = ChangeSet::new().with(Change::IssueChallenge(forgot(
        challenge_id(1),
        ann.id,
        at(0),
    )));
    assert_eq!(apply(db, issue, at(0)).await, Applied::Committed);
    let pending = db.outbox_pending().await.unwrap();

    assert_eq!(
        apply(db, deletion(&ann), at(1)).await,
        Applied::Refused(Conflict::OwnsProjects)
    );

    assert_eq!(db.get(ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(
        views_for(db, ann.id).await,
        vec![
            view(&bobs, &row, Some(&owner_row(&bobs))),
            view(&gone, &owner_row(&gone), None),
        ]
    );
    assert_eq!(
        latest(db, Purpose::ForgotPassword, &account_key(ann.id))
            .await
            .stored_state(),
        ChallengeState::Open
    );
    assert_eq!(db.outbox_pending().await.unwrap(), pending);
}

async fn owned_by_lists_every_project_of_the_owner_in_any_status_sorted_by_gid(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let late = project(200, "a", ann.id);
    let early = Project {
        status: ProjectStatus::Deleted,
        ..project(7, "z", ann.id)
    };
    let bobs = project(9, "b", bob.id);
    for p in [&late, &early, &bobs] {
        create_project(db, p, &owner_row(p)).await;
    }
    save_membership(
        db,
        &member(&bobs, ann.id, MembershipStatus::Active, &[Role::Member]),
    )
    .await;

    assert_eq!(owned_by(db, ann.id).await, vec![early.id, late.id]);
    assert_eq!(owned_by(db, bob.id).await, vec![bobs.id]);
    assert!(owned_by(db, user_id(77)).await.is_empty());
}

async fn a_deleted_account_cannot_be_given_a_project(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    assert_eq!(apply(db, deletion(&ann), at(1)).await, Applied::Committed);
    let late = project(1, "late", ann.id);

    let set = ChangeSet::new().with(Change::CreateProject {
        project: late.clone(),
        owner: owner_row(&late),
    });
    assert_eq!(
        apply(db, set, at(2)).await,
        Applied::Refused(Conflict::UserChanged)
    );
    assert!(owned_by(db, ann.id).await.is_empty());
}

async fn a_deletion_racing_a_project_creation_never_leaves_a_deleted_owner(db: &Database) {
    for n in 1..=8u8 {
        let ann = create_user(db, n, &format!("racer{n}")).await;
        let p = project(n, "race", ann.id);
        let create = ChangeSet::new().with(Change::CreateProject {
            project: p.clone(),
            owner: owner_row(&p),
        });
        let (a, b) = (db.clone(), db.clone());
        let set = deletion(&ann);
        let deleting = tokio::spawn(async move { Changes::apply(&a, set, at(1)).await.unwrap() });
        let creating =
            tokio::spawn(async move { Changes::apply(&b, create, at(1)).await.unwrap() });
        let (deleted, created) = (deleting.await.unwrap(), creating.await.unwrap());
        let stored = db.get(ann.id).await.unwrap().unwrap();
        match (deleted, created) {
            (Applied::Committed, Applied::Refused(Conflict::UserChanged)) => {
                assert_eq!(stored.status, UserStatus::Deleted);
                assert!(owned_by(db, ann.id).await.is_empty());
            }
            (Applied::Refused(Conflict::OwnsProjects), Applied::Committed) => {
                assert_eq!(stored.status, UserStatus::Active);
                assert_eq!(owned_by(db, ann.id).await, vec![p.id]);
            }
            other => panic!("one of the two must win, cleanly: {other:?}"),
        }
    }
}

contracts!(
    deleting_an_account_erases_its_credentials_addresses_and_memberships_and_keeps_its_name,
    deleting_under_an_old_credential_version_is_a_conflict_and_changes_nothing,
    the_owner_of_a_project_in_any_status_is_not_deleted_and_nothing_changes,
    owned_by_lists_every_project_of_the_owner_in_any_status_sorted_by_gid,
    a_deleted_account_cannot_be_given_a_project,
    a_deletion_racing_a_project_creation_never_leaves_a_deleted_owner,
);
