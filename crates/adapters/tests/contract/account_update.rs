//! The contract of `Change::UpdateProfile`, the write of `account/update`:
//! only the given columns change, under the credential-version guard, with
//! a taken username as a conflict, and parallel edits of one account each
//! keep their fields.

use super::*;

async fn apply(db: &Database, set: ChangeSet, now: Timestamp) -> Applied {
    Changes::apply(db, set, now).await.unwrap()
}

fn edit(user: &User, version: i64) -> Change {
    up(user, version, P::default())
}

/// The columns of an `UpdateProfile`.
#[derive(Default)]
struct P {
    username: Option<Username>,
    name: Option<String>,
    language: Option<String>,
    timezone: Option<String>,
}

fn up(user: &User, version: i64, p: P) -> Change {
    Change::UpdateProfile {
        user: user.id,
        expected_version: version,
        username: p.username,
        name: p.name,
        language: p.language,
        timezone: p.timezone,
    }
}

fn with_name(change: Change, new: &str) -> Change {
    match change {
        Change::UpdateProfile {
            user,
            expected_version,
            username,
            language,
            timezone,
            ..
        } => Change::UpdateProfile {
            user,
            expected_version,
            username,
            name: Some(new.to_owned()),
            language,
            timezone,
        },
        other => other,
    }
}

async fn a_profile_update_sets_only_the_given_columns(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let set = ChangeSet::new().with(up(
        &ann,
        1,
        P {
            username: Some(Username::parse("Annika").unwrap()),
            timezone: Some("Asia/Tokyo".to_owned()),
            ..P::default()
        },
    ));
    assert_eq!(apply(db, set, at(0)).await, Applied::Committed);
    let expected = User {
        username: Some(Username::parse("Annika").unwrap()),
        timezone: "Asia/Tokyo".to_owned(),
        ..ann.clone()
    };
    assert_eq!(db.get(ann.id).await.unwrap(), Some(expected.clone()));
    // The new name is found case-insensitively; the old one is free.
    assert_eq!(
        db.find_by_username_ci("ANNIKA").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(db.find_by_username_ci("ann").await.unwrap(), None);

    let set = ChangeSet::new().with(up(
        &ann,
        1,
        P {
            name: Some(String::new()),
            language: Some("nl".to_owned()),
            ..P::default()
        },
    ));
    assert_eq!(apply(db, set, at(1)).await, Applied::Committed);
    assert_eq!(
        db.get(ann.id).await.unwrap(),
        Some(User {
            name: String::new(),
            language: "nl".to_owned(),
            ..expected
        })
    );
}

async fn a_profile_update_from_a_stale_version_or_of_no_user_is_a_conflict(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let reset = ChangeSet::new().set_password(&ann, hash("$2b$04$newnewnewnewnewnewnewnewnewnew"));
    assert_eq!(apply(db, reset, at(0)).await, Applied::Committed);
    let stored = db.get(ann.id).await.unwrap();
    for set in [
        ChangeSet::new().with(with_name(edit(&ann, 1), "Stale")),
        // Nothing to set: the guard alone still holds the set back.
        ChangeSet::new().with(edit(&ann, 1)),
        ChangeSet::new().with(with_name(edit(&account(9, "ghost"), 1), "Ghost")),
    ] {
        assert_eq!(
            apply(db, set, at(1)).await,
            Applied::Refused(Conflict::UserChanged)
        );
    }
    assert_eq!(db.get(ann.id).await.unwrap(), stored);
    // At the current version it applies.
    let set = ChangeSet::new().with(with_name(edit(&ann, 2), "Fresh"));
    assert_eq!(apply(db, set, at(2)).await, Applied::Committed);
    assert_eq!(db.get(ann.id).await.unwrap().unwrap().name, "Fresh");
}

fn account(n: u8, username: &str) -> User {
    new_user(user_id(n), username, &[&format!("{username}@example.com")]).into_user()
}

async fn renaming_to_a_name_taken_in_another_case_is_a_conflict_and_changes_nothing(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let _bob = create_user(db, 2, "bob").await;
    let set = ChangeSet::new().with(up(
        &ann,
        1,
        P {
            username: Some(Username::parse("BOB").unwrap()),
            name: Some("Not Bob".to_owned()),
            ..P::default()
        },
    ));
    assert_eq!(
        apply(db, set, at(0)).await,
        Applied::Refused(Conflict::UsernameTaken)
    );
    assert_eq!(db.get(ann.id).await.unwrap(), Some(ann.clone()));
    // Their own name in another case is theirs.
    let set = ChangeSet::new().with(up(
        &ann,
        1,
        P {
            username: Some(Username::parse("ANN").unwrap()),
            ..P::default()
        },
    ));
    assert_eq!(apply(db, set, at(1)).await, Applied::Committed);
    assert_eq!(db.get(ann.id).await.unwrap().unwrap().username_str(), "ANN");
}

async fn a_profile_update_and_a_password_change_apply_together_or_not_at_all(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let new_hash = hash("$2b$04$bothbothbothbothbothbothbothboth");
    let set = ChangeSet::new()
        .with(with_name(edit(&ann, 1), "Both"))
        .set_password(&ann, new_hash.clone());
    assert_eq!(apply(db, set, at(0)).await, Applied::Committed);
    let both = User {
        name: "Both".to_owned(),
        ..ann.clone()
    }
    .with_password(new_hash);
    assert_eq!(db.get(ann.id).await.unwrap(), Some(both.clone()));
    // From the old version again: refused whole, the profile included.
    let set = ChangeSet::new()
        .with(with_name(edit(&ann, 1), "Neither"))
        .set_password(&ann, hash("$2b$04$neither"));
    assert_eq!(
        apply(db, set, at(1)).await,
        Applied::Refused(Conflict::UserChanged)
    );
    assert_eq!(db.get(ann.id).await.unwrap(), Some(both));
}

async fn parallel_profile_updates_of_different_fields_each_keep_theirs(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let sets = [
        up(
            &ann,
            1,
            P {
                name: Some("Parallel".to_owned()),
                ..P::default()
            },
        ),
        up(
            &ann,
            1,
            P {
                language: Some("nl".to_owned()),
                ..P::default()
            },
        ),
        up(
            &ann,
            1,
            P {
                timezone: Some("Asia/Tokyo".to_owned()),
                ..P::default()
            },
        ),
        up(
            &ann,
            1,
            P {
                username: Some(Username::parse("annika").unwrap()),
                ..P::default()
            },
        ),
    ];
    let mut tasks = JoinSet::new();
    for change in sets {
        let db = db.clone();
        tasks.spawn(async move { Changes::apply(&db, ChangeSet::new().with(change), at(0)).await });
    }
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap(), Applied::Committed);
    }
    assert_eq!(
        db.get(ann.id).await.unwrap(),
        Some(User {
            username: Some(Username::parse("annika").unwrap()),
            name: "Parallel".to_owned(),
            language: "nl".to_owned(),
            timezone: "Asia/Tokyo".to_owned(),
            ..ann
        })
    );
}

contracts!(
    a_profile_update_sets_only_the_given_columns,
    a_profile_update_from_a_stale_version_or_of_no_user_is_a_conflict,
    renaming_to_a_name_taken_in_another_case_is_a_conflict_and_changes_nothing,
    a_profile_update_and_a_password_change_apply_together_or_not_at_all,
    parallel_profile_updates_of_different_fields_each_keep_theirs,
);
