//! The contract of `Changes::apply`: every change of a set under its
//! guard, all in one transaction or nothing, exact under parallel calls.

use super::*;
use accountd_domain::{Change, ChangeSet, Conflict};
use accountd_ports::{Applied, Changes};

async fn apply(db: &Database, set: ChangeSet, now: Timestamp) -> Applied {
    Changes::apply(db, set, now).await.unwrap()
}

fn account(n: u8, username: &str) -> User {
    new_user(user_id(n), username, &[&format!("{username}@example.com")]).into_user()
}

async fn a_change_set_applies_every_change_and_queues_its_mail_in_one_transaction(db: &Database) {
    let cleo = account(3, "cleo");
    let c = forgot(challenge_id(1), cleo.id, at(0));
    let set = ChangeSet::new()
        .with(Change::CreateUser(cleo.clone()))
        .with(Change::IssueChallenge(c.clone()))
        .mail([code_mail("cleo@example.com", "482901", None)]);
    assert_eq!(apply(db, set, at(0)).await, Applied::Committed);
    assert_eq!(db.get(cleo.id).await.unwrap(), Some(cleo.clone()));
    assert_eq!(
        latest(db, Purpose::ForgotPassword, &account_key(cleo.id)).await,
        c
    );
    assert_eq!(db.outbox_pending().await.unwrap(), 1);
}

async fn a_guard_that_fails_undoes_every_earlier_change_and_the_mail(db: &Database) {
    let cleo = account(3, "cleo");
    let set = ChangeSet::new()
        .with(Change::CreateUser(cleo.clone()))
        .with(Change::IssueChallenge(forgot(
            challenge_id(1),
            cleo.id,
            at(0),
        )))
        .with(Change::ConsumeChallenge(challenge_id(9)))
        .mail([code_mail("cleo@example.com", "482901", None)]);
    assert_eq!(
        apply(db, set, at(0)).await,
        Applied::Refused(Conflict::ChallengeNotOpen)
    );
    assert_eq!(db.get(cleo.id).await.unwrap(), None);
    assert!(
        latest_opt(db, Purpose::ForgotPassword, &account_key(cleo.id))
            .await
            .is_none()
    );
    assert_eq!(db.outbox_pending().await.unwrap(), 0);
}

async fn creating_a_user_whose_name_is_taken_in_another_case_is_a_conflict(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let other = account(2, "ANN");
    let set = ChangeSet::new()
        .with(Change::CreateUser(other.clone()))
        .mail([code_mail("ann@example.com", "welcome", None)]);
    assert_eq!(
        apply(db, set, at(0)).await,
        Applied::Refused(Conflict::UsernameTaken)
    );
    assert_eq!(db.get(other.id).await.unwrap(), None);
    assert_eq!(db.find_by_username_ci("ann").await.unwrap(), Some(ann));
    assert_eq!(db.outbox_pending().await.unwrap(), 0);
}

async fn updating_a_user_replaces_every_field_and_address_under_its_version(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let changed = User {
        username: Some(Username::parse("Annie").unwrap()),
        emails: vec![email("annie@example.org"), email("Second@Example.com")],
        name: "Annie Lee".to_owned(),
        language: "nl".to_owned(),
        timezone: "Europe/Amsterdam".to_owned(),
        ..ann.clone().with_password(hash(
            "$2b$04$anotheranotheranotheranotherhashofthenewpasswordX",
        ))
    };
    let set = ChangeSet::new().with(Change::UpdateUser {
        user: changed.clone(),
        expected_version: 1,
    });
    assert_eq!(apply(db, set, at(0)).await, Applied::Committed);
    assert_eq!(db.get(ann.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(changed.credential_version, 2);
    assert_eq!(
        db.find_by_username_ci("ANNIE").await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(db.find_by_username_ci("ann").await.unwrap(), None);
    assert!(db
        .find_by_email(&email("ann@example.com"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        db.find_by_email(&email("second@example.com"))
            .await
            .unwrap(),
        vec![changed.clone()]
    );

    // A set built on the old version is refused and changes nothing.
    let stale = ChangeSet::new().with(Change::UpdateUser {
        user: User {
            name: "stale".to_owned(),
            ..ann.clone()
        },
        expected_version: 1,
    });
    assert_eq!(
        apply(db, stale, at(1)).await,
        Applied::Refused(Conflict::UserChanged)
    );
    assert_eq!(db.get(ann.id).await.unwrap(), Some(changed));
}

async fn renaming_a_user_to_a_taken_name_is_a_conflict(db: &Database) {
    create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let set = ChangeSet::new().with(Change::UpdateUser {
        user: User {
            username: Some(Username::parse("Ann").unwrap()),
            ..bob.clone()
        },
        expected_version: 1,
    });
    assert_eq!(
        apply(db, set, at(0)).await,
        Applied::Refused(Conflict::UsernameTaken)
    );
    assert_eq!(db.get(bob.id).await.unwrap(), Some(bob));
}

async fn updating_a_user_that_does_not_exist_is_a_conflict(db: &Database) {
    let ghost = account(9, "ghost");
    let set = ChangeSet::new().with(Change::UpdateUser {
        user: ghost.clone(),
        expected_version: 1,
    });
    assert_eq!(
        apply(db, set, at(0)).await,
        Applied::Refused(Conflict::UserChanged)
    );
    assert_eq!(db.get(ghost.id).await.unwrap(), None);
}

async fn of_eight_parallel_updates_from_one_version_exactly_one_wins(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let mut tasks = JoinSet::new();
    for n in 0..8u8 {
        let db = db.clone();
        let user = User {
            name: format!("name {n}"),
            ..ann.clone().with_password(hash(&format!("hash {n}")))
        };
        tasks.spawn(async move {
            let set = ChangeSet::new()
                .with(Change::UpdateUser {
                    user,
                    expected_version: 1,
                })
                .mail([code_mail("ann@example.com", &format!("notice {n}"), None)]);
            (n, Changes::apply(&db, set, at(0)).await.unwrap())
        });
    }
    let mut winners = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            (n, Applied::Committed) => winners.push(n),
            (_, refused) => assert_eq!(refused, Applied::Refused(Conflict::UserChanged)),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one update wins");
    let stored = db.get(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.name, format!("name {}", winners[0]));
    assert_eq!(stored.credential_version, 2);
    assert_eq!(
        db.outbox_pending().await.unwrap(),
        1,
        "only the winner's mail"
    );
}

/// The shape of a password reset: the code, the password, every other
/// reset code, the notice.
fn reset_set(c: &Challenge, user: &User, n: u8) -> ChangeSet {
    ChangeSet::new()
        .with(Change::ConsumeChallenge(c.id()))
        .set_password(user, hash(&format!("hash {n}")))
        .mail([code_mail("ann@example.com", "changed", None)])
}

async fn of_eight_parallel_resets_with_one_code_exactly_one_applies(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let c = forgot(challenge_id(1), ann.id, at(0));
    apply(
        db,
        ChangeSet::new().with(Change::IssueChallenge(c.clone())),
        at(0),
    )
    .await;
    let mut tasks = JoinSet::new();
    for n in 0..8u8 {
        let (db, set) = (db.clone(), reset_set(&c, &ann, n));
        tasks.spawn(async move { Changes::apply(&db, set, at(1)).await.unwrap() });
    }
    let mut outcomes = Vec::new();
    while let Some(r) = tasks.join_next().await {
        outcomes.push(r.unwrap());
    }
    let won = outcomes
        .iter()
        .filter(|o| **o == Applied::Committed)
        .count();
    assert_eq!(won, 1, "{outcomes:?}");
    assert_eq!(db.get(ann.id).await.unwrap().unwrap().credential_version, 2);
    assert_eq!(db.outbox_pending().await.unwrap(), 1);
    assert_eq!(
        latest(db, Purpose::ForgotPassword, &account_key(ann.id))
            .await
            .stored_state(),
        ChallengeState::Consumed
    );
}

async fn consuming_open_challenges_closes_only_the_named_purposes_of_the_key(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let ann_forgot = forgot(challenge_id(1), ann.id, at(0));
    let bob_forgot = forgot(challenge_id(2), bob.id, at(0));
    let ann_reset = reset_by_username(challenge_id(3), ann.id, at(0));
    let issue = ChangeSet::new()
        .with(Change::IssueChallenge(ann_forgot))
        .with(Change::IssueChallenge(bob_forgot))
        .with(Change::IssueChallenge(ann_reset));
    assert_eq!(apply(db, issue, at(0)).await, Applied::Committed);
    let close = ChangeSet::new().with(Change::ConsumeOpenChallenges {
        key: account_key(ann.id),
        purposes: vec![Purpose::ForgotPassword],
    });
    assert_eq!(apply(db, close, at(1)).await, Applied::Committed);
    let state = |c: Challenge| c.stored_state();
    assert_eq!(
        state(latest(db, Purpose::ForgotPassword, &account_key(ann.id)).await),
        ChallengeState::Consumed
    );
    assert_eq!(
        state(latest(db, Purpose::ForgotPassword, &account_key(bob.id)).await),
        ChallengeState::Open
    );
    assert_eq!(
        state(latest(db, Purpose::ResetPassword, &account_key(ann.id)).await),
        ChallengeState::Open
    );
}

async fn memberships_are_written_and_removed_only_from_the_expected_state(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let alpha = project(1, "alpha", ann.id);
    let create = ChangeSet::new().with(Change::CreateProject {
        project: alpha.clone(),
        owner: owner_row(&alpha),
    });
    assert_eq!(apply(db, create, at(0)).await, Applied::Committed);
    assert_eq!(
        views_for(db, ann.id).await,
        vec![view(&alpha, &owner_row(&alpha), None)]
    );

    let invited = member(&alpha, bob.id, MembershipStatus::Invited, &[Role::Member]);
    let invite = || {
        ChangeSet::new().with(Change::PutMembership {
            membership: invited.clone(),
            expected: None,
        })
    };
    assert_eq!(apply(db, invite(), at(1)).await, Applied::Committed);
    assert_eq!(
        apply(db, invite(), at(2)).await,
        Applied::Refused(Conflict::MembershipChanged),
        "a second invitation finds the row"
    );

    let active = Membership {
        status: MembershipStatus::Active,
        ..invited.clone()
    };
    let accept = || {
        ChangeSet::new().with(Change::PutMembership {
            membership: active.clone(),
            expected: Some(MembershipStatus::Invited),
        })
    };
    assert_eq!(apply(db, accept(), at(3)).await, Applied::Committed);
    assert_eq!(
        apply(db, accept(), at(4)).await,
        Applied::Refused(Conflict::MembershipChanged)
    );
    assert_eq!(
        views_for(db, bob.id).await,
        vec![view(&alpha, &active, Some(&owner_row(&alpha)))]
    );

    let remove = |expected| {
        ChangeSet::new().with(Change::RemoveMembership {
            project: alpha.id,
            user: bob.id,
            expected,
        })
    };
    assert_eq!(
        apply(db, remove(MembershipStatus::Invited), at(5)).await,
        Applied::Refused(Conflict::MembershipChanged)
    );
    // The owner's row is never removed, whatever its status.
    let remove_owner = ChangeSet::new().with(Change::RemoveMembership {
        project: alpha.id,
        user: ann.id,
        expected: MembershipStatus::Active,
    });
    assert_eq!(
        apply(db, remove_owner, at(5)).await,
        Applied::Refused(Conflict::MembershipChanged)
    );
    assert_eq!(
        views_for(db, ann.id).await,
        vec![view(&alpha, &owner_row(&alpha), None)]
    );
    assert_eq!(
        apply(db, remove(MembershipStatus::Active), at(6)).await,
        Applied::Committed
    );
    assert!(views_for(db, bob.id).await.is_empty());
    assert_eq!(
        apply(db, remove(MembershipStatus::Active), at(7)).await,
        Applied::Refused(Conflict::MembershipChanged)
    );
}

async fn of_eight_parallel_accepts_of_one_invitation_exactly_one_applies(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let alpha = project(1, "alpha", ann.id);
    let invited = member(&alpha, bob.id, MembershipStatus::Invited, &[Role::Member]);
    let setup = ChangeSet::new()
        .with(Change::CreateProject {
            project: alpha.clone(),
            owner: owner_row(&alpha),
        })
        .with(Change::PutMembership {
            membership: invited.clone(),
            expected: None,
        });
    assert_eq!(apply(db, setup, at(0)).await, Applied::Committed);
    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let db = db.clone();
        let set = ChangeSet::new()
            .with(Change::PutMembership {
                membership: Membership {
                    status: MembershipStatus::Active,
                    ..invited.clone()
                },
                expected: Some(MembershipStatus::Invited),
            })
            .mail([code_mail("ann@example.com", "bob joined", None)]);
        tasks.spawn(async move { Changes::apply(&db, set, at(1)).await.unwrap() });
    }
    let mut won = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Applied::Committed => won += 1,
            refused => assert_eq!(refused, Applied::Refused(Conflict::MembershipChanged)),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(db.outbox_pending().await.unwrap(), 1);
}

async fn a_password_change_writes_only_the_hash_and_the_version_under_its_guard(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    // Another change, which does not move the version, lands first.
    let renamed = User {
        name: "Ann Renamed".to_owned(),
        language: "nl".to_owned(),
        ..ann.clone()
    };
    let rename = ChangeSet::new().with(Change::UpdateUser {
        user: renamed.clone(),
        expected_version: 1,
    });
    assert_eq!(apply(db, rename, at(0)).await, Applied::Committed);
    // A reset built on the user as loaded before the rename keeps it.
    let new_hash = hash("$2b$04$resetresetresetresetresetresetresetresetresetreset");
    let reset = ChangeSet::new().set_password(&ann, new_hash.clone());
    assert_eq!(apply(db, reset, at(1)).await, Applied::Committed);
    assert_eq!(
        db.get(ann.id).await.unwrap(),
        Some(renamed.clone().with_password(new_hash.clone()))
    );
    // A second reset from the same, now stale, version is refused.
    let again = ChangeSet::new().set_password(&ann, hash("$2b$04$other"));
    assert_eq!(
        apply(db, again, at(2)).await,
        Applied::Refused(Conflict::UserChanged)
    );
    assert_eq!(
        db.get(ann.id).await.unwrap(),
        Some(renamed.with_password(new_hash))
    );
}

contracts!(
    a_password_change_writes_only_the_hash_and_the_version_under_its_guard,
    a_change_set_applies_every_change_and_queues_its_mail_in_one_transaction,
    a_guard_that_fails_undoes_every_earlier_change_and_the_mail,
    creating_a_user_whose_name_is_taken_in_another_case_is_a_conflict,
    updating_a_user_replaces_every_field_and_address_under_its_version,
    renaming_a_user_to_a_taken_name_is_a_conflict,
    updating_a_user_that_does_not_exist_is_a_conflict,
    of_eight_parallel_updates_from_one_version_exactly_one_wins,
    of_eight_parallel_resets_with_one_code_exactly_one_applies,
    consuming_open_challenges_closes_only_the_named_purposes_of_the_key,
    memberships_are_written_and_removed_only_from_the_expected_state,
    of_eight_parallel_accepts_of_one_invitation_exactly_one_applies,
);
