//! Issue 10, finding 3: names and addresses compare under full Unicode
//! case folding of their NFKC form. Rows written in the old form (keys
//! lower-cased, `keys_folded` false) get their caseless keys from
//! `Database::migrate`; accounts that collide under the new rule are kept,
//! each reachable by its own name, and listed; new names colliding with
//! any of them are refused. Each test runs on both backends.

use super::*;
use accountd_adapters::test_support::TestDb;
use accountd_adapters::{CollidingAccount, CollidingAddress, Migrated};

/// Runs `sql` on the test database directly, outside the adapter.
fn raw(test_db: &TestDb, sql: &str) {
    test_db.execute(sql);
}

/// A user row and its addresses as the code before migration 10 wrote
/// them: `username_key` and `email_key` lower-cased, keys not folded.
fn old_row(n: u8, username: &str, created_secs: i64, emails: &[&str]) -> String {
    let id = user_id(n);
    let created = T0_MILLIS + created_secs * 1000;
    let mut sql = format!(
        "INSERT INTO users (id, username, username_key, status, credential_version, \
         password_hash, name, language, timezone, created_at) VALUES \
         ('{id}', '{username}', '{key}', 'active', 1, '$2b$04$old', '', 'en', 'UTC', {created});",
        key = username.to_lowercase(),
    );
    for (i, e) in emails.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO user_emails (user_id, position, email, email_key) VALUES \
             ('{id}', {i}, '{e}', '{key}');",
            key = e.to_lowercase(),
        ));
    }
    sql
}

fn account(n: u8, username: &str) -> User {
    new_user(user_id(n), username, &[&format!("{n}@example.org")]).into_user()
}

fn colliding(n: u8, username: &str) -> CollidingAccount {
    CollidingAccount {
        gid: user_id(n).to_string(),
        username: username.to_owned(),
        status: "active".to_owned(),
    }
}

async fn name_of(db: &Database, typed: &str) -> Option<String> {
    db.find_by_username_ci(typed)
        .await
        .unwrap()
        .map(|u| u.username_str().to_owned())
}

async fn old_rows_get_caseless_keys_and_collisions_are_listed_not_merged(test_db: &TestDb) {
    let db = test_db.open(POOL_SIZE).await;
    raw(
        test_db,
        &[
            old_row(1, "ssam", -50, &["ssam@example.com"]),
            old_row(2, "ßam", -40, &["stra\u{df}e@example.com"]),
            old_row(3, "ΣΑΣ", -30, &[]),
            // `ΣΑΣ` lower-cases to `σας` (final sigma): the old rule already
            // joined those two, not these.
            old_row(4, "σασ", -20, &[]),
            old_row(5, "Kate", -10, &["STRASSE@example.com", "kate@kayak.com"]),
        ]
        .concat(),
    );

    let migrated = db.migrate().await.unwrap();
    assert_eq!(
        migrated,
        Migrated {
            applied: Vec::new(),
            refolded: accountd_adapters::Refolded {
                accounts: 5,
                // Oldest first in each group; groups by key (`ssam` < `σασ`).
                name_collisions: vec![
                    vec![colliding(1, "ssam"), colliding(2, "ßam")],
                    vec![colliding(3, "ΣΑΣ"), colliding(4, "σασ")],
                ],
                address_collisions: vec![vec![
                    CollidingAddress {
                        gid: user_id(2).to_string(),
                        masked_address: "s***@example.com".to_owned(),
                    },
                    CollidingAddress {
                        gid: user_id(5).to_string(),
                        masked_address: "S***@example.com".to_owned(),
                    },
                ]],
            },
        }
    );

    // Both accounts of a collision are kept and each is found by its own
    // name (as typed, or as the old lower-casing matched it).
    assert_eq!(name_of(&db, "ssam").await.as_deref(), Some("ssam"));
    assert_eq!(name_of(&db, "SSAM").await.as_deref(), Some("ssam"));
    assert_eq!(name_of(&db, "ßam").await.as_deref(), Some("ßam"));
    assert_eq!(name_of(&db, "ΣΑΣ").await.as_deref(), Some("ΣΑΣ"));
    assert_eq!(name_of(&db, "σασ").await.as_deref(), Some("σασ"));
    assert_eq!(name_of(&db, "σας").await.as_deref(), Some("ΣΑΣ"));
    // A spelling neither account chose finds the one holding the name.
    assert_eq!(name_of(&db, "SSam").await.as_deref(), Some("ssam"));
    assert_eq!(name_of(&db, "ſsam").await.as_deref(), Some("ssam"));
    assert_eq!(name_of(&db, "kate").await.as_deref(), Some("Kate"));
    // Addresses now compare caselessly: both holders of strasse/straße.
    let holders: BTreeSet<UserId> = db
        .find_by_email(&email("Strasse@Example.com"))
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(holders, BTreeSet::from([user_id(2), user_id(5)]));
    let kate = db
        .find_by_email(&email("\u{212a}ATE@kayak.com"))
        .await
        .unwrap();
    assert_eq!(kate.len(), 1);
    // Stored as typed, for display and mail.
    assert_eq!(kate[0].emails[1].as_str(), "kate@kayak.com");

    // A second run recomputes nothing and still lists the names.
    let again = db.migrate().await.unwrap();
    assert_eq!(again.refolded.accounts, 0);
    assert_eq!(
        again.refolded.name_collisions,
        migrated.refolded.name_collisions
    );
    assert!(again.refolded.address_collisions.is_empty());
}

async fn new_names_colliding_with_old_accounts_are_refused(test_db: &TestDb) {
    let db = test_db.open(POOL_SIZE).await;
    raw(
        test_db,
        &[old_row(1, "ssam", -50, &[]), old_row(2, "ßam", -40, &[])].concat(),
    );
    db.migrate().await.unwrap();

    for (n, taken) in [(10, "SSAM"), (11, "ẞAM"), (12, "ßAM"), (13, "ſſam")] {
        let set = ChangeSet::new().with(Change::CreateUser(account(n, taken)));
        assert_eq!(
            Changes::apply(&db, set, at(0)).await.unwrap(),
            Applied::Refused(Conflict::UsernameTaken),
            "{taken}"
        );
    }
    // A rename onto the key is refused too, even where only the younger
    // account (holding a `legacy:` slot) had it.
    let cleo = account(20, "cleo");
    let set = ChangeSet::new().with(Change::CreateUser(cleo.clone()));
    assert_eq!(
        Changes::apply(&db, set, at(0)).await.unwrap(),
        Applied::Committed
    );
    let rename = |name: &str, version: i64| Change::UpdateProfile {
        user: cleo.id,
        expected_version: version,
        username: Some(Username::parse(name).unwrap()),
        name: None,
        language: None,
        timezone: None,
    };
    assert_eq!(
        Changes::apply(&db, ChangeSet::new().with(rename("SSam", 1)), at(0))
            .await
            .unwrap(),
        Applied::Refused(Conflict::UsernameTaken)
    );
    // The older account renames itself away: its key goes, but the younger
    // one still holds it, so it stays refused.
    let ssam = db.get(user_id(1)).await.unwrap().unwrap();
    let away = Change::UpdateProfile {
        user: ssam.id,
        expected_version: 1,
        username: Some(Username::parse("samuel").unwrap()),
        name: None,
        language: None,
        timezone: None,
    };
    assert_eq!(
        Changes::apply(&db, ChangeSet::new().with(away), at(0))
            .await
            .unwrap(),
        Applied::Committed
    );
    assert_eq!(
        Changes::apply(&db, ChangeSet::new().with(rename("ssam", 1)), at(0))
            .await
            .unwrap(),
        Applied::Refused(Conflict::UsernameTaken)
    );
    // The younger account edits its profile, its name sent unchanged: it
    // keeps its name (and its slot) and the edit applies.
    let edit = Change::UpdateProfile {
        user: user_id(2),
        expected_version: 1,
        username: Some(Username::parse("ßam").unwrap()),
        name: Some("Sam".to_owned()),
        language: None,
        timezone: None,
    };
    assert_eq!(
        Changes::apply(&db, ChangeSet::new().with(edit), at(0))
            .await
            .unwrap(),
        Applied::Committed
    );
    let sam = db.get(user_id(2)).await.unwrap().unwrap();
    assert_eq!((sam.username_str(), sam.name.as_str()), ("ßam", "Sam"));
    assert_eq!(name_of(&db, "ßam").await.as_deref(), Some("ßam"));
    assert_eq!(name_of(&db, "SSAM").await.as_deref(), Some("ßam"));
}

async fn new_names_are_unique_under_the_caseless_rule(test_db: &TestDb) {
    let db = test_db.open(POOL_SIZE).await;
    for (n, first, second) in [
        (1, "ssam", "ßam"),
        (3, "σας", "ΣΑΣ"),
        (5, "skim", "ſkim"),
        (7, "FIX", "ﬁx"),
        (9, "kate", "\u{212a}ate"),
    ] {
        let set = ChangeSet::new().with(Change::CreateUser(account(n, first)));
        assert_eq!(
            Changes::apply(&db, set, at(0)).await.unwrap(),
            Applied::Committed
        );
        let set = ChangeSet::new().with(Change::CreateUser(account(n + 1, second)));
        assert_eq!(
            Changes::apply(&db, set, at(0)).await.unwrap(),
            Applied::Refused(Conflict::UsernameTaken),
            "{second} beside {first}"
        );
        assert_eq!(name_of(&db, second).await.as_deref(), Some(first));
    }
    let migrated = db.migrate().await.unwrap();
    assert_eq!(migrated.refolded, accountd_adapters::Refolded::default());
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(&super::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(test_db) = super::TestDb::postgres() else { return };
                    super::$name(&test_db).await;
                }
            )*
        }
    };
}

on_both!(
    old_rows_get_caseless_keys_and_collisions_are_listed_not_merged,
    new_names_colliding_with_old_accounts_are_refused,
    new_names_are_unique_under_the_caseless_rule,
);
