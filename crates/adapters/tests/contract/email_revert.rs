//! The contract of the email change's writes and reads: a new primary
//! address under the version guard, revert tokens stored by MAC and found
//! again, and the revert itself, exact under parallel calls.

use super::*;
use accountd_domain::EmailRevert;

async fn apply(db: &Database, set: ChangeSet, now: Timestamp) -> Applied {
    Changes::apply(db, set, now).await.unwrap()
}

fn token(n: u8) -> String {
    format!("revert-token-{n}")
}

fn mac(n: u8) -> CodeMac {
    EmailRevert::token_mac(&key(), &token(n))
}

/// A token `n` of `user` issued at `now`, living an hour: a revert restores
/// `restore`, which `replaced_by` replaced.
fn revert_token(
    n: u8,
    user: UserId,
    restore: &str,
    replaced_by: &str,
    now: Timestamp,
) -> EmailRevert {
    EmailRevert::issue(
        &key(),
        &token(n),
        user,
        email(restore),
        email(replaced_by),
        now,
        3600,
    )
}

/// The set `update_email` writes (without the challenge): the new primary
/// address and its revert token.
async fn change_email(db: &Database, user: &User, n: u8, to: &str, now: Timestamp) -> User {
    let old = user.emails[0].as_str().to_owned();
    let set = ChangeSet::new()
        .with(Change::SetPrimaryEmail {
            user: user.id,
            expected_version: user.credential_version,
            email: email(to),
        })
        .with(Change::IssueEmailRevert(revert_token(
            n, user.id, &old, to, now,
        )));
    assert_eq!(apply(db, set, now).await, Applied::Committed);
    db.get(user.id).await.unwrap().unwrap()
}

fn revert_set(user: UserId, n: u8, restore: &str) -> ChangeSet {
    ChangeSet::new()
        .with(Change::RevertEmail {
            user,
            token_mac: mac(n),
            restore: email(restore),
        })
        .mail([code_mail(restore, "undone", None)])
}

async fn a_revert_token_round_trips_by_its_mac_and_an_unknown_one_is_none(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let r = revert_token(1, ann.id, "ann@example.com", "new@example.org", at(0));
    let set = ChangeSet::new().with(Change::IssueEmailRevert(r.clone()));
    assert_eq!(apply(db, set, at(0)).await, Applied::Committed);

    assert_eq!(db.find_email_revert(mac(1)).await.unwrap(), Some(r));
    assert_eq!(db.find_email_revert(mac(2)).await.unwrap(), None);
}

async fn a_new_primary_address_replaces_position_zero_only_and_keeps_the_version(db: &Database) {
    let ann = db
        .create(new_user(
            user_id(1),
            "ann",
            &["ann@example.com", "second@example.com", "third@example.com"],
        ))
        .await
        .unwrap();

    let changed = change_email(db, &ann, 1, "New@Example.org", at(0)).await;
    assert_eq!(
        changed,
        User {
            emails: vec![
                email("New@Example.org"),
                email("second@example.com"),
                email("third@example.com")
            ],
            ..ann.clone()
        }
    );

    // A stored secondary address becomes the primary one, kept once.
    let changed = change_email(db, &changed, 2, "THIRD@example.com", at(1)).await;
    assert_eq!(
        changed.emails,
        [email("THIRD@example.com"), email("second@example.com")]
    );
    assert_eq!(
        db.find_by_email(&email("third@example.com"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(db
        .find_by_email(&email("new@example.org"))
        .await
        .unwrap()
        .is_empty());
}

async fn an_account_without_an_address_gets_its_first_one(db: &Database) {
    let bare = db.create(new_user(user_id(1), "bare", &[])).await.unwrap();
    let set = ChangeSet::new().with(Change::SetPrimaryEmail {
        user: bare.id,
        expected_version: bare.credential_version,
        email: email("first@example.org"),
    });
    assert_eq!(apply(db, set, at(0)).await, Applied::Committed);
    assert_eq!(
        db.get(bare.id).await.unwrap().unwrap().emails,
        [email("first@example.org")]
    );
}

async fn a_new_primary_address_under_a_stale_version_is_a_conflict_and_changes_nothing(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    let set = ChangeSet::new()
        .with(Change::SetPrimaryEmail {
            user: ann.id,
            expected_version: ann.credential_version - 1,
            email: email("new@example.org"),
        })
        .with(Change::IssueEmailRevert(revert_token(
            1,
            ann.id,
            "ann@example.com",
            "new@example.org",
            at(0),
        )))
        .mail([code_mail("ann@example.com", "changed", None)]);
    assert_eq!(
        apply(db, set, at(0)).await,
        Applied::Refused(Conflict::UserChanged)
    );
    assert_eq!(db.get(ann.id).await.unwrap(), Some(ann));
    assert_eq!(db.find_email_revert(mac(1)).await.unwrap(), None);
    assert_eq!(db.outbox_pending().await.unwrap(), 0);
}

async fn a_revert_restores_the_replaced_address_spends_every_token_and_bumps_the_version(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    // A -> B -> C: token 1 restores A, token 2 restores B.
    let b = change_email(db, &ann, 1, "b@example.org", at(0)).await;
    let c = change_email(db, &b, 2, "c@example.org", at(1)).await;
    assert_eq!(c.credential_version, ann.credential_version);

    assert_eq!(
        apply(db, revert_set(ann.id, 1, "ann@example.com"), at(2)).await,
        Applied::Committed
    );

    let after = db.get(ann.id).await.unwrap().unwrap();
    assert_eq!(after.emails, [email("ann@example.com")]);
    assert_eq!(after.credential_version, ann.credential_version + 1);
    for n in [1, 2] {
        let r = db.find_email_revert(mac(n)).await.unwrap().unwrap();
        assert_eq!(r.spent_at(), Some(at(2)), "token {n} is spent");
    }
    assert_eq!(db.outbox_pending().await.unwrap(), 1);

    // Neither token works again; nothing more changes.
    for (n, restore) in [(1, "ann@example.com"), (2, "b@example.org")] {
        assert_eq!(
            apply(db, revert_set(ann.id, n, restore), at(3)).await,
            Applied::Refused(Conflict::RevertSpent)
        );
    }
    assert_eq!(db.get(ann.id).await.unwrap(), Some(after));
    assert_eq!(db.outbox_pending().await.unwrap(), 1);
}

async fn a_revert_with_an_expired_unknown_or_foreign_token_or_of_an_inactive_account_is_refused(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let changed = change_email(db, &ann, 1, "new@example.org", at(0)).await;

    // From the expiry instant on (issued at t(0), an hour).
    assert_eq!(
        apply(db, revert_set(ann.id, 1, "ann@example.com"), at(3600)).await,
        Applied::Refused(Conflict::RevertSpent)
    );
    // Unknown.
    assert_eq!(
        apply(db, revert_set(ann.id, 9, "ann@example.com"), at(1)).await,
        Applied::Refused(Conflict::RevertSpent)
    );
    // Another account's token.
    assert_eq!(
        apply(db, revert_set(bob.id, 1, "ann@example.com"), at(1)).await,
        Applied::Refused(Conflict::RevertSpent)
    );
    assert_eq!(db.get(bob.id).await.unwrap(), Some(bob));
    // An account no longer active.
    let deleted = User {
        status: UserStatus::Deleted,
        ..changed.clone()
    };
    let set = ChangeSet::new().with(Change::UpdateUser {
        user: deleted.clone(),
        expected_version: changed.credential_version,
    });
    assert_eq!(apply(db, set, at(1)).await, Applied::Committed);
    assert_eq!(
        apply(db, revert_set(ann.id, 1, "ann@example.com"), at(2)).await,
        Applied::Refused(Conflict::UserChanged)
    );

    assert_eq!(db.get(ann.id).await.unwrap(), Some(deleted));
    let r = db.find_email_revert(mac(1)).await.unwrap().unwrap();
    assert_eq!(r.spent_at(), None, "a refused revert spends nothing");
    assert_eq!(db.outbox_pending().await.unwrap(), 0);
}

async fn of_eight_parallel_reverts_with_one_token_exactly_one_commits(db: &Database) {
    warm_up(db).await;
    let ann = create_user(db, 1, "ann").await;
    change_email(db, &ann, 1, "new@example.org", at(0)).await;

    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let db = db.clone();
        tasks.spawn(async move {
            Changes::apply(&db, revert_set(user_id(1), 1, "ann@example.com"), at(5))
                .await
                .unwrap()
        });
    }
    let mut won = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Applied::Committed => won += 1,
            Applied::Refused(c) => assert_eq!(c, Conflict::RevertSpent),
        }
    }

    assert_eq!(won, 1);
    let after = db.get(ann.id).await.unwrap().unwrap();
    assert_eq!(after.credential_version, ann.credential_version + 1);
    assert_eq!(after.emails, [email("ann@example.com")]);
    assert_eq!(db.outbox_pending().await.unwrap(), 1);
}

async fn a_purge_removes_expired_and_spent_revert_tokens_only(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let cleo = create_user(db, 3, "cleo").await;
    // Ann's expires at t(3600); Bob's at t(5000) but is spent at t(10);
    // Cleo's is live.
    change_email(db, &ann, 1, "a2@example.org", at(0)).await;
    change_email(db, &bob, 2, "b2@example.org", at(1400)).await;
    assert_eq!(
        apply(db, revert_set(bob.id, 2, "bob@example.com"), at(1410)).await,
        Applied::Committed
    );
    change_email(db, &cleo, 3, "c2@example.org", at(3000)).await;

    let p = db
        .purge(accountd_adapters::PurgeBefore {
            email_reverts: at(3600),
            ..purge_before(at(3600))
        })
        .await
        .unwrap();

    assert_eq!(p.email_reverts, 2);
    assert_eq!(db.find_email_revert(mac(1)).await.unwrap(), None);
    assert_eq!(db.find_email_revert(mac(2)).await.unwrap(), None);
    assert!(db.find_email_revert(mac(3)).await.unwrap().is_some());
}

contracts!(
    a_revert_token_round_trips_by_its_mac_and_an_unknown_one_is_none,
    a_new_primary_address_replaces_position_zero_only_and_keeps_the_version,
    an_account_without_an_address_gets_its_first_one,
    a_new_primary_address_under_a_stale_version_is_a_conflict_and_changes_nothing,
    a_revert_restores_the_replaced_address_spends_every_token_and_bumps_the_version,
    a_revert_with_an_expired_unknown_or_foreign_token_or_of_an_inactive_account_is_refused,
    of_eight_parallel_reverts_with_one_token_exactly_one_commits,
    a_purge_removes_expired_and_spent_revert_tokens_only,
);
