//! The contract of the invitation writes and reads: a membership's
//! invitation round-trips, `Change::CreatePlaceholder` (one placeholder per
//! address), `ProjectIsActive`, `PendingInvitesAtMost` (exact under
//! parallel invites), `CountHit` (a rate hit inside a change set),
//! `ClaimInvitations` (sign-up), `DeletePlaceholderIfUnused`, the
//! housekeeping of invitation tokens and placeholders,
//! `UserRepository::get_many`, and the race of a placeholder purge with an
//! invite of that placeholder.

use super::*;
use accountd_domain::Invitation;

const HOUR: i64 = 3_600;

async fn rows_of(db: &Database, id: ProjectId) -> Vec<Membership> {
    accountd_ports::ProjectRepository::rows_of(db, id)
        .await
        .unwrap()
}

async fn user(db: &Database, id: UserId) -> Option<User> {
    UserRepository::get(db, id).await.unwrap()
}

/// A gid from a 16-bit number (the fixtures' `user_id` has 256 only).
fn wide_id(n: u16) -> UserId {
    let [hi, lo] = n.to_be_bytes();
    UserId::from_random_bytes([hi, lo, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7])
}

/// An invited placeholder holding `address`.
fn placeholder(id: UserId, address: &str) -> User {
    User {
        id,
        username: None,
        emails: vec![email(address)],
        status: UserStatus::Invited,
        credential_version: 1,
        password_hash: None,
        name: String::new(),
        language: "en".to_owned(),
        timezone: "UTC".to_owned(),
        created_at: at(0),
    }
}

async fn apply(db: &Database, set: ChangeSet) -> Applied {
    db.apply(set, at(0)).await.unwrap()
}

async fn apply_at(db: &Database, set: ChangeSet, now: Timestamp) -> Applied {
    db.apply(set, now).await.unwrap()
}

fn create_placeholder(u: &User) -> ChangeSet {
    ChangeSet::new().with(Change::CreatePlaceholder(u.clone()))
}

/// An invitation from `inviter` sent at `sent` (seconds), valid `ttl`
/// seconds, with the token `token`.
fn invitation(inviter: UserId, sent: i64, ttl: i64, token: &str) -> Invitation {
    Invitation::issue(&key(), token, inviter, at(sent), ttl)
}

/// `user`'s invited row in `project`, invited by its owner at `sent` for
/// `ttl` seconds.
fn invited(project: &Project, user: UserId, sent: i64, ttl: i64) -> Membership {
    Membership {
        invitation: Some(invitation(project.owner, sent, ttl, "token")),
        ..member(project, user, MembershipStatus::Invited, &[Role::Member])
    }
}

/// An invite's write: the new row.
fn invite(row: &Membership) -> ChangeSet {
    ChangeSet::new().with(Change::PutMembership {
        membership: row.clone(),
        expected: None,
    })
}

// ------------------------------------------------------------ round trip

async fn a_membership_with_its_invitation_round_trips_through_rows_of(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let carla = create_user(db, 3, "carla").await;
    let atlas = project(70, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let bob_row = Membership {
        notifications: Notifications {
            email: Some(email("Bob@Example.com")),
            ..Notifications::default()
        },
        ..invited(&atlas, bob.id, 10, 7 * 86_400)
    };
    // A declined row whose token MAC was cleared keeps the rest.
    let carla_row = Membership {
        invitation: Some(Invitation {
            token_mac: None,
            ..invitation(bob.id, 20, HOUR, "other")
        }),
        ..member(
            &atlas,
            carla.id,
            MembershipStatus::Declined,
            &[Role::Member],
        )
    };
    for row in [&bob_row, &carla_row] {
        assert_eq!(apply(db, invite(row)).await, Applied::Committed);
    }
    let mut expected = vec![owner_row(&atlas), bob_row.clone(), carla_row];
    expected.sort_by_key(|m| m.user.to_string());
    assert_eq!(rows_of(db, atlas.id).await, expected);
    assert_eq!(
        bob_row.invitation.as_ref().unwrap().token_mac,
        Some(Invitation::token_mac(&key(), "token")),
        "the stored MAC is the token's"
    );

    // Accepting clears the invitation; the round trip shows it gone.
    let accepted = Membership {
        status: MembershipStatus::Active,
        invitation: None,
        ..bob_row
    };
    let set = ChangeSet::new().with(Change::PutMembership {
        membership: accepted.clone(),
        expected: Some(MembershipStatus::Invited),
    });
    assert_eq!(apply(db, set).await, Applied::Committed);
    let rows = rows_of(db, atlas.id).await;
    assert!(rows.contains(&accepted), "{rows:?}");
}

async fn a_new_row_for_a_deleted_or_unknown_user_is_refused_with_user_changed(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = project(71, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let deletion = ChangeSet::new().with(Change::DeleteAccount {
        user: bob.id,
        expected_version: bob.credential_version,
    });
    assert_eq!(apply(db, deletion).await, Applied::Committed);
    for gone in [bob.id, user_id(99)] {
        assert_eq!(
            apply(db, invite(&invited(&atlas, gone, 0, HOUR))).await,
            Applied::Refused(Conflict::UserChanged)
        );
    }
    assert_eq!(rows_of(db, atlas.id).await, vec![owner_row(&atlas)]);
}

// ----------------------------------------------------------- placeholders

async fn a_second_placeholder_of_an_address_in_any_case_is_address_taken(db: &Database) {
    let first = placeholder(user_id(10), "dora@example.com");
    assert_eq!(
        apply(db, create_placeholder(&first)).await,
        Applied::Committed
    );
    assert_eq!(user(db, first.id).await, Some(first.clone()));
    for address in ["dora@example.com", "DORA@Example.COM"] {
        let again = placeholder(user_id(11), address);
        assert_eq!(
            apply(db, create_placeholder(&again)).await,
            Applied::Refused(Conflict::AddressTaken)
        );
        assert_eq!(user(db, again.id).await, None);
    }
}

async fn a_placeholder_of_an_address_an_active_account_holds_is_address_taken(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let p = placeholder(user_id(12), "ANN@example.com");
    assert_eq!(
        apply(db, create_placeholder(&p)).await,
        Applied::Refused(Conflict::AddressTaken)
    );
    assert_eq!(user(db, p.id).await, None);
    // Once the account is deleted (its addresses erased), the address is free.
    let deletion = ChangeSet::new().with(Change::DeleteAccount {
        user: ann.id,
        expected_version: ann.credential_version,
    });
    assert_eq!(apply(db, deletion).await, Applied::Committed);
    assert_eq!(apply(db, create_placeholder(&p)).await, Applied::Committed);
}

async fn of_eight_parallel_placeholder_creates_of_one_address_exactly_one_is_applied(
    db: &Database,
) {
    warm_up(db).await;
    let mut tasks = JoinSet::new();
    for n in 0..8u8 {
        let db = db.clone();
        let address = if n % 2 == 0 {
            "eve@example.com"
        } else {
            "Eve@Example.com"
        };
        let p = placeholder(user_id(20 + n), address);
        tasks.spawn(async move { db.apply(create_placeholder(&p), at(0)).await.unwrap() });
    }
    let mut committed = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Applied::Committed => committed += 1,
            refused => assert_eq!(refused, Applied::Refused(Conflict::AddressTaken)),
        }
    }
    assert_eq!(committed, 1);
    let holders = UserRepository::find_by_email(db, &email("eve@example.com"))
        .await
        .unwrap();
    assert_eq!(holders.len(), 1, "{holders:?}");
}

// ----------------------------------------------------------------- guards

async fn project_is_active_holds_for_an_active_project_only(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let active = project(72, "active", ann.id);
    let deleted = Project {
        status: ProjectStatus::Deleted,
        ..project(73, "deleted", ann.id)
    };
    for p in [&active, &deleted] {
        create_project(db, p, &owner_row(p)).await;
    }
    let guard = |p: ProjectId| ChangeSet::new().with(Change::ProjectIsActive(p));
    assert_eq!(apply(db, guard(active.id)).await, Applied::Committed);
    for p in [deleted.id, project_id(97)] {
        assert_eq!(
            apply(db, guard(p)).await,
            Applied::Refused(Conflict::ProjectChanged)
        );
    }
    // A guard that fails rolls back what came before it in the set.
    let bob = create_user(db, 2, "bob").await;
    let set = invite(&invited(&active, bob.id, 0, HOUR)).with(Change::ProjectIsActive(deleted.id));
    assert_eq!(
        apply(db, set).await,
        Applied::Refused(Conflict::ProjectChanged)
    );
    assert_eq!(rows_of(db, active.id).await, vec![owner_row(&active)]);
}

fn capped_invite(row: &Membership, max: u32) -> ChangeSet {
    invite(row).with(Change::PendingInvitesAtMost {
        project: row.project,
        max,
    })
}

async fn the_pending_cap_counts_invited_rows_expired_ones_included_and_zero_is_off(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(74, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let bob = create_user(db, 2, "bob").await;
    let carla = create_user(db, 3, "carla").await;
    let dora = create_user(db, 4, "dora").await;
    // Expired long ago: it still counts.
    assert_eq!(
        apply_at(
            db,
            capped_invite(&invited(&atlas, bob.id, 0, 1), 2),
            at(HOUR)
        )
        .await,
        Applied::Committed
    );
    // An active member does not count.
    save_membership(
        db,
        &member(&atlas, dora.id, MembershipStatus::Active, &[Role::Member]),
    )
    .await;
    assert_eq!(
        apply(db, capped_invite(&invited(&atlas, carla.id, 0, HOUR), 2)).await,
        Applied::Committed
    );
    let eve = create_user(db, 5, "eve").await;
    assert_eq!(
        apply(db, capped_invite(&invited(&atlas, eve.id, 0, HOUR), 2)).await,
        Applied::Refused(Conflict::TooManyPendingInvites)
    );
    assert_eq!(
        rows_of(db, atlas.id).await.len(),
        4,
        "the refused row is not stored"
    );
    assert_eq!(
        apply(db, capped_invite(&invited(&atlas, eve.id, 0, HOUR), 0)).await,
        Applied::Committed,
        "0 switches the cap off"
    );
}

async fn of_eight_parallel_invites_into_a_project_capped_at_three_exactly_three_are_stored(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(75, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let mut invitees = Vec::new();
    for n in 0..8u8 {
        invitees.push(create_user(db, 30 + n, &format!("guest{n}")).await.id);
    }
    warm_up(db).await;
    let mut tasks = JoinSet::new();
    for id in invitees {
        let db = db.clone();
        let row = invited(&atlas, id, 0, HOUR);
        tasks.spawn(async move { db.apply(capped_invite(&row, 3), at(0)).await.unwrap() });
    }
    let mut committed = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Applied::Committed => committed += 1,
            refused => assert_eq!(refused, Applied::Refused(Conflict::TooManyPendingInvites)),
        }
    }
    assert_eq!(committed, 3);
    let invited_rows = rows_of(db, atlas.id)
        .await
        .into_iter()
        .filter(|r| r.status == MembershipStatus::Invited)
        .count();
    assert_eq!(invited_rows, 3);
}

// -------------------------------------------------------------- count hit

fn hit(key: &str, max: u32) -> Change {
    Change::CountHit {
        key: key.to_owned(),
        limits: vec![Limit {
            window_seconds: HOUR,
            max,
        }],
    }
}

async fn a_hit_in_a_set_counts_until_the_limit_and_a_refused_one_is_not_counted(db: &Database) {
    let one = || ChangeSet::new().with(hit("invite:inviter:ann", 2));
    assert_eq!(apply_at(db, one(), at(0)).await, Applied::Committed);
    assert_eq!(apply_at(db, one(), at(10)).await, Applied::Committed);
    assert_eq!(
        apply_at(db, one(), at(20)).await,
        Applied::Refused(Conflict::Limited {
            retry_after_seconds: HOUR - 20
        })
    );
    // Once the first leaves the window there is room for one: the refused
    // hit at 20 did not count.
    assert_eq!(apply_at(db, one(), at(HOUR + 1)).await, Applied::Committed);
    assert_eq!(
        apply_at(db, one(), at(HOUR + 2)).await,
        Applied::Refused(Conflict::Limited {
            retry_after_seconds: 8
        })
    );
}

async fn a_hit_in_a_set_whose_later_guard_fails_is_rolled_back(db: &Database) {
    let key = "invite:recipient:ann";
    let failing = ChangeSet::new()
        .with(hit(key, 1))
        .with(Change::ProjectIsActive(project_id(96)));
    for _ in 0..3 {
        assert_eq!(
            apply(db, failing.clone()).await,
            Applied::Refused(Conflict::ProjectChanged)
        );
    }
    let one = || ChangeSet::new().with(hit(key, 1));
    assert_eq!(apply(db, one()).await, Applied::Committed);
    assert!(matches!(
        apply(db, one()).await,
        Applied::Refused(Conflict::Limited { .. })
    ));
}

async fn a_hit_with_every_limit_at_zero_is_off_and_counts_nothing(db: &Database) {
    let key = "invite:inviter:off";
    for _ in 0..5 {
        let set = ChangeSet::new().with(hit(key, 0));
        assert_eq!(apply(db, set).await, Applied::Committed);
    }
    // Nothing was recorded under the key.
    let strict = [Limit {
        window_seconds: HOUR,
        max: 1,
    }];
    assert_eq!(
        db.hit(key, &strict, at(1)).await.unwrap(),
        RateDecision::Allowed
    );
}

// ----------------------------------------------------------------- claims

/// A sign-up's set as the service builds it: the account, then the claim
/// of its verified address.
fn sign_up(u: &User, address: &str) -> ChangeSet {
    ChangeSet::new()
        .with(Change::CreateUser(u.clone()))
        .with(Change::ClaimInvitations {
            email: email(address),
            user: u.id,
        })
}

async fn a_sign_up_claims_only_the_unexpired_invitations_and_the_placeholder_goes(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = project(76, "Atlas", ann.id);
    let zephyr = project(77, "Zephyr", bob.id);
    let vega = project(78, "Vega", ann.id);
    for p in [&atlas, &zephyr, &vega] {
        create_project(db, p, &owner_row(p)).await;
    }
    let p = placeholder(user_id(40), "frank@example.com");
    assert_eq!(apply(db, create_placeholder(&p)).await, Applied::Committed);
    let live = invited(&atlas, p.id, 0, 7 * 86_400);
    let expired = invited(&zephyr, p.id, 0, 60);
    let declined = Membership {
        status: MembershipStatus::Declined,
        ..invited(&vega, p.id, 0, 7 * 86_400)
    };
    for row in [&live, &expired, &declined] {
        assert_eq!(apply(db, invite(row)).await, Applied::Committed);
    }

    let frank = new_user(user_id(41), "frank", &["Frank@Example.com"]).into_user();
    assert_eq!(
        apply_at(db, sign_up(&frank, "Frank@Example.com"), at(HOUR)).await,
        Applied::Committed
    );

    // The claimed row notifies the account's primary address, as spelt
    // at sign-up (a row's notification address follows it).
    let claimed = Membership {
        user: frank.id,
        notifications: Notifications {
            email: Some(email("Frank@Example.com")),
            ..live.notifications.clone()
        },
        ..live
    };
    assert_eq!(
        views_for(db, frank.id).await,
        vec![view(&atlas, &claimed, Some(&owner_row(&atlas)))],
        "the live invitation, with its invitation, and the owner's row"
    );
    assert_eq!(user(db, p.id).await, None, "the placeholder is gone");
    assert_eq!(rows_of(db, zephyr.id).await, vec![owner_row(&zephyr)]);
    assert_eq!(rows_of(db, vega.id).await, vec![owner_row(&vega)]);
    assert_eq!(user(db, frank.id).await, Some(frank.clone()));

    // A second account of the address finds nothing to claim.
    let other = new_user(user_id(42), "frank2", &["frank@example.com"]).into_user();
    assert_eq!(
        apply_at(db, sign_up(&other, "frank@example.com"), at(HOUR)).await,
        Applied::Committed
    );
    assert_eq!(views_for(db, other.id).await, vec![]);
    assert_eq!(views_for(db, frank.id).await.len(), 1);
}

/// Review of issue 10: an address that only folds equal (`strasse@` for
/// `straße@`) may be another mailbox, so a sign-up that verified it claims
/// nothing; one that verified the invited spelling (case aside) claims.
async fn a_sign_up_claims_only_placeholders_invited_at_the_mailbox_it_verified(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(81, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let p = placeholder(user_id(44), "straße@example.com");
    assert_eq!(apply(db, create_placeholder(&p)).await, Applied::Committed);
    let live = invited(&atlas, p.id, 0, 7 * 86_400);
    assert_eq!(apply(db, invite(&live)).await, Applied::Committed);

    let other = new_user(user_id(45), "hans", &["strasse@example.com"]).into_user();
    assert_eq!(
        apply_at(db, sign_up(&other, "strasse@example.com"), at(HOUR)).await,
        Applied::Committed
    );
    assert_eq!(views_for(db, other.id).await, vec![]);
    assert!(user(db, p.id).await.is_some(), "the placeholder stays");

    let invitee = new_user(user_id(46), "grete", &["Straße@Example.com"]).into_user();
    assert_eq!(
        apply_at(db, sign_up(&invitee, "Straße@Example.com"), at(HOUR)).await,
        Applied::Committed
    );
    assert_eq!(views_for(db, invitee.id).await.len(), 1);
    assert_eq!(
        user(db, p.id).await,
        None,
        "claimed, the placeholder is gone"
    );
}

async fn a_claim_of_an_address_without_a_placeholder_changes_nothing(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(79, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let elsewhere = placeholder(user_id(43), "gina@example.com");
    assert_eq!(
        apply(db, create_placeholder(&elsewhere)).await,
        Applied::Committed
    );
    let row = invited(&atlas, elsewhere.id, 0, HOUR);
    assert_eq!(apply(db, invite(&row)).await, Applied::Committed);
    let hank = new_user(user_id(44), "hank", &["hank@example.com"]).into_user();
    assert_eq!(
        apply(db, sign_up(&hank, "hank@example.com")).await,
        Applied::Committed
    );
    assert_eq!(views_for(db, hank.id).await, vec![]);
    assert_eq!(user(db, elsewhere.id).await, Some(elsewhere));
    assert_eq!(rows_of(db, atlas.id).await.len(), 2);
}

async fn of_parallel_sign_ups_of_one_address_exactly_one_claims_the_invitations(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(80, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let p = placeholder(user_id(45), "ivy@example.com");
    assert_eq!(apply(db, create_placeholder(&p)).await, Applied::Committed);
    assert_eq!(
        apply(db, invite(&invited(&atlas, p.id, 0, HOUR))).await,
        Applied::Committed
    );
    warm_up(db).await;
    let mut tasks = JoinSet::new();
    let mut ids = Vec::new();
    for n in 0..6u8 {
        let db = db.clone();
        let u = new_user(user_id(50 + n), &format!("ivy{n}"), &["ivy@example.com"]).into_user();
        ids.push(u.id);
        tasks.spawn(async move {
            db.apply(sign_up(&u, "IVY@example.com"), at(10))
                .await
                .unwrap()
        });
    }
    while let Some(outcome) = tasks.join_next().await {
        assert_eq!(outcome.unwrap(), Applied::Committed);
    }
    let mut claimers = 0;
    for id in ids {
        match views_for(db, id).await.len() {
            0 => {}
            1 => claimers += 1,
            n => panic!("{n} views"),
        }
    }
    assert_eq!(claimers, 1);
    assert_eq!(user(db, p.id).await, None);
    assert_eq!(rows_of(db, atlas.id).await.len(), 2);
}

// ------------------------------------------------------ placeholder purge

async fn delete_placeholder_if_unused_keeps_one_with_a_row_and_ignores_active_users(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = project(81, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let used = placeholder(user_id(60), "used@example.com");
    let unused = placeholder(user_id(61), "unused@example.com");
    for u in [&used, &unused] {
        assert_eq!(apply(db, create_placeholder(u)).await, Applied::Committed);
    }
    assert_eq!(
        apply(db, invite(&invited(&atlas, used.id, 0, HOUR))).await,
        Applied::Committed
    );
    for id in [used.id, unused.id, bob.id, user_id(98)] {
        let set = ChangeSet::new().with(Change::DeletePlaceholderIfUnused(id));
        assert_eq!(apply(db, set).await, Applied::Committed);
    }
    assert_eq!(user(db, used.id).await, Some(used));
    assert_eq!(user(db, unused.id).await, None);
    assert_eq!(user(db, bob.id).await, Some(bob), "an active user stays");
    // Its address is free again.
    let again = placeholder(user_id(62), "UNUSED@example.com");
    assert_eq!(
        apply(db, create_placeholder(&again)).await,
        Applied::Committed
    );
}

async fn housekeeping_clears_expired_invitation_tokens_and_deletes_unused_placeholders(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = project(82, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let kept = placeholder(user_id(63), "kept@example.com");
    let lone = placeholder(user_id(64), "lone@example.com");
    for u in [&kept, &lone] {
        assert_eq!(apply(db, create_placeholder(u)).await, Applied::Committed);
    }
    let expired = invited(&atlas, kept.id, 0, 100);
    let live = invited(&atlas, bob.id, 0, 10 * 86_400);
    for row in [&expired, &live] {
        assert_eq!(apply(db, invite(row)).await, Applied::Committed);
    }

    let purged = db.purge(purge_before(at(200))).await.unwrap();
    assert_eq!((purged.invite_tokens, purged.placeholders), (1, 1));
    let mut cleared = expired.clone();
    if let Some(i) = cleared.invitation.as_mut() {
        i.token_mac = None;
    }
    let mut expected = vec![owner_row(&atlas), cleared, live];
    expected.sort_by_key(|m| m.user.to_string());
    assert_eq!(
        rows_of(db, atlas.id).await,
        expected,
        "the expired row stays, without its MAC; the live one keeps it"
    );
    assert_eq!(user(db, kept.id).await, Some(kept));
    assert_eq!(user(db, lone.id).await, None);

    let again = db.purge(purge_before(at(300))).await.unwrap();
    assert_eq!((again.invite_tokens, again.placeholders), (0, 0));
}

// ---------------------------------------------------------------- get_many

async fn get_many_answers_the_stored_users_sorted_once_each_with_their_addresses(db: &Database) {
    // More than one batch of 500, all in one transaction.
    let mut set = ChangeSet::new();
    let mut stored = Vec::new();
    for n in 0..620u16 {
        let u = placeholder(wide_id(n), &format!("p{n}@example.com"));
        set = set.with(Change::CreateUser(u.clone()));
        stored.push(u);
    }
    assert_eq!(apply(db, set).await, Applied::Committed);
    let ann = db
        .create(new_user(
            user_id(1),
            "ann",
            &["ann@example.com", "a.lee@work.example"],
        ))
        .await
        .unwrap();
    stored.push(ann.clone());

    // Asked in reverse, each twice, with unknown gids among them.
    let mut asked: Vec<UserId> = stored.iter().rev().map(|u| u.id).collect();
    asked.extend(stored.iter().map(|u| u.id));
    asked.push(user_id(200));
    asked.push(wide_id(9_999));
    let got = UserRepository::get_many(db, &asked).await.unwrap();

    let mut expected = stored.clone();
    expected.sort_by_key(|u| u.id.to_string());
    assert_eq!(got.len(), 621);
    assert_eq!(got, expected);
    let found = got.iter().find(|u| u.id == ann.id).unwrap();
    assert_eq!(
        found.emails,
        vec![email("ann@example.com"), email("a.lee@work.example")],
        "every address, primary first"
    );
    assert_eq!(UserRepository::get_many(db, &[]).await.unwrap(), vec![]);
}

// -------------------------------------------------------------------- race

/// How many times each race runs.
const RACES: u16 = 24;

/// Runs an invite of a fresh placeholder and `purge` in parallel, `RACES`
/// times; each end is one of the two orders: the invite committed and the
/// placeholder kept with its row, or the invite refused with
/// `UserChanged` and the placeholder gone without a row.
async fn race_purges_with_invites<F, Fut>(db: &Database, first: u16, purge: F)
where
    F: Fn(Database, UserId) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(83, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    warm_up(db).await;
    let (mut kept, mut gone) = (0, 0);
    for n in first..first + RACES {
        let p = placeholder(wide_id(n), &format!("race{n}@example.com"));
        assert_eq!(apply(db, create_placeholder(&p)).await, Applied::Committed);
        let row = invited(&atlas, p.id, 0, HOUR);
        let inviting = {
            let db = db.clone();
            let row = row.clone();
            tokio::spawn(async move { db.apply(invite(&row), at(0)).await.unwrap() })
        };
        let purging = tokio::spawn(purge(db.clone(), p.id));
        let invited_outcome = inviting.await.unwrap();
        purging.await.unwrap();
        let stored = user(db, p.id).await;
        let has_row = rows_of(db, atlas.id).await.iter().any(|r| r.user == p.id);
        match invited_outcome {
            Applied::Committed => {
                assert!(
                    stored.is_some() && has_row,
                    "race {n}: a committed invite lost its row"
                );
                kept += 1;
            }
            Applied::Refused(Conflict::UserChanged) => {
                assert!(stored.is_none() && !has_row, "race {n}: refused, yet kept");
                gone += 1;
            }
            other => panic!("race {n}: {other:?}"),
        }
    }
    assert_eq!(kept + gone, RACES);
}

async fn delete_placeholder_if_unused_racing_an_invite_ends_in_one_order(db: &Database) {
    race_purges_with_invites(db, 1_000, |db, id| async move {
        let set = ChangeSet::new().with(Change::DeletePlaceholderIfUnused(id));
        assert_eq!(db.apply(set, at(0)).await.unwrap(), Applied::Committed);
    })
    .await;
}

async fn housekeeping_racing_an_invite_ends_in_one_order(db: &Database) {
    race_purges_with_invites(db, 2_000, |db, _| async move {
        db.purge(purge_before(at(0))).await.unwrap();
    })
    .await;
}

async fn a_sign_up_claim_racing_an_invite_of_its_placeholder_ends_in_one_order(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(84, "Atlas", ann.id);
    let zephyr = project(85, "Zephyr", ann.id);
    for p in [&atlas, &zephyr] {
        create_project(db, p, &owner_row(p)).await;
    }
    warm_up(db).await;
    for n in 0..RACES {
        let address = format!("claim{n}@example.com");
        let p = placeholder(wide_id(3_000 + n), &address);
        assert_eq!(apply(db, create_placeholder(&p)).await, Applied::Committed);
        // One invitation already there, one racing the claim.
        assert_eq!(
            apply(db, invite(&invited(&atlas, p.id, 0, HOUR))).await,
            Applied::Committed
        );
        let racing = invited(&zephyr, p.id, 0, HOUR);
        let account = new_user(wide_id(4_000 + n), &format!("claimer{n}"), &[&address]).into_user();
        let inviting = {
            let db = db.clone();
            tokio::spawn(async move { db.apply(invite(&racing), at(0)).await.unwrap() })
        };
        let claiming = {
            let (db, account, address) = (db.clone(), account.clone(), address.clone());
            tokio::spawn(async move { db.apply(sign_up(&account, &address), at(0)).await.unwrap() })
        };
        let invited_outcome = inviting.await.unwrap();
        assert_eq!(claiming.await.unwrap(), Applied::Committed);
        assert_eq!(
            user(db, p.id).await,
            None,
            "race {n}: the placeholder is gone"
        );
        let claimed: Vec<ProjectId> = views_for(db, account.id)
            .await
            .iter()
            .map(|v| v.project.id)
            .collect();
        let zephyr_rows = rows_of(db, zephyr.id).await;
        assert!(!zephyr_rows.iter().any(|r| r.user == p.id), "race {n}");
        match invited_outcome {
            // The invite came first: the claim took it along.
            Applied::Committed => {
                let mut both = vec![atlas.id, zephyr.id];
                both.sort_by_key(|id| id.to_string());
                let mut got = claimed.clone();
                got.sort_by_key(|id| id.to_string());
                assert_eq!(got, both, "race {n}: a committed invite was lost");
            }
            // The claim came first: the invite found its user gone.
            Applied::Refused(Conflict::UserChanged) => {
                assert_eq!(claimed, vec![atlas.id], "race {n}");
            }
            other => panic!("race {n}: {other:?}"),
        }
    }
}

/// `InvitationSentAt` holds only while the row still has the invitation
/// read: a resend in between (a new `sent_at`) refuses the set, and so
/// does a row with none, or no row.
async fn invitation_sent_at_holds_for_the_invitation_read_only(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = project(82, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let first = invited(&atlas, bob.id, 0, 7 * 86_400);
    assert_eq!(apply(db, invite(&first)).await, Applied::Committed);
    let guard = |user: UserId, sent: Option<i64>| {
        ChangeSet::new().with(Change::InvitationSentAt {
            project: atlas.id,
            user,
            sent_at: sent.map(at),
        })
    };
    assert_eq!(apply(db, guard(bob.id, Some(0))).await, Applied::Committed);
    // A resend: the same row, a new invitation sent at 60 s.
    let resent = invited(&atlas, bob.id, 60, 7 * 86_400);
    let set = ChangeSet::new().with(Change::PutMembership {
        membership: resent,
        expected: Some(MembershipStatus::Invited),
    });
    assert_eq!(apply(db, set).await, Applied::Committed);
    assert_eq!(
        apply(db, guard(bob.id, Some(0))).await,
        Applied::Refused(Conflict::MembershipChanged),
        "the invitation read was replaced"
    );
    assert_eq!(apply(db, guard(bob.id, Some(60))).await, Applied::Committed);
    assert_eq!(
        apply(db, guard(ann.id, Some(60))).await,
        Applied::Refused(Conflict::MembershipChanged),
        "the owner's row has no invitation"
    );
    assert_eq!(apply(db, guard(ann.id, None)).await, Applied::Committed);
    assert_eq!(
        apply(db, guard(user_id(99), None)).await,
        Applied::Refused(Conflict::MembershipChanged),
        "no row at all"
    );
}

/// Spec section 6: a row's notification address follows the member's
/// primary address, through an email change and its revert.
async fn a_new_primary_address_becomes_every_row_notification_address_and_a_revert_restores_it(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = project(80, "Atlas", ann.id);
    let vega = project(81, "Vega", bob.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    create_project(db, &vega, &owner_row(&vega)).await;
    let ann_in_vega = Membership {
        notifications: Notifications {
            email: ann.emails.first().cloned(),
            ..Notifications::default()
        },
        ..invited(&vega, ann.id, 0, 7 * 86_400)
    };
    assert_eq!(apply(db, invite(&ann_in_vega)).await, Applied::Committed);
    let old = ann.emails.first().cloned().unwrap();
    let new = email("Ann.New@Example.org");
    let set = ChangeSet::new().with(Change::SetPrimaryEmail {
        user: ann.id,
        expected_version: ann.credential_version,
        email: new.clone(),
    });
    assert_eq!(apply(db, set).await, Applied::Committed);
    let notified = |rows: Vec<Membership>, user: UserId| {
        rows.into_iter()
            .find(|r| r.user == user)
            .and_then(|r| r.notifications.email)
    };
    assert_eq!(
        notified(rows_of(db, atlas.id).await, ann.id),
        Some(new.clone())
    );
    assert_eq!(
        notified(rows_of(db, vega.id).await, ann.id),
        Some(new.clone())
    );
    assert_eq!(
        notified(rows_of(db, vega.id).await, bob.id),
        None,
        "another member's row is untouched"
    );

    let token = accountd_domain::MacKey::from_bytes([3; 32]);
    let revert = accountd_domain::EmailRevert::issue(
        &token,
        "revert-token",
        ann.id,
        old.clone(),
        new,
        at(0),
        3_600,
    );
    let mac = *revert.mac();
    assert_eq!(
        apply(db, ChangeSet::new().with(Change::IssueEmailRevert(revert))).await,
        Applied::Committed
    );
    let set = ChangeSet::new().with(Change::RevertEmail {
        user: ann.id,
        token_mac: mac,
        restore: old.clone(),
    });
    assert_eq!(apply(db, set).await, Applied::Committed);
    assert_eq!(
        notified(rows_of(db, atlas.id).await, ann.id),
        Some(old.clone())
    );
    assert_eq!(notified(rows_of(db, vega.id).await, ann.id), Some(old));
}

contracts!(
    a_membership_with_its_invitation_round_trips_through_rows_of,
    a_new_row_for_a_deleted_or_unknown_user_is_refused_with_user_changed,
    a_second_placeholder_of_an_address_in_any_case_is_address_taken,
    a_placeholder_of_an_address_an_active_account_holds_is_address_taken,
    of_eight_parallel_placeholder_creates_of_one_address_exactly_one_is_applied,
    project_is_active_holds_for_an_active_project_only,
    the_pending_cap_counts_invited_rows_expired_ones_included_and_zero_is_off,
    of_eight_parallel_invites_into_a_project_capped_at_three_exactly_three_are_stored,
    a_hit_in_a_set_counts_until_the_limit_and_a_refused_one_is_not_counted,
    a_hit_in_a_set_whose_later_guard_fails_is_rolled_back,
    a_hit_with_every_limit_at_zero_is_off_and_counts_nothing,
    a_sign_up_claims_only_the_unexpired_invitations_and_the_placeholder_goes,
    a_sign_up_claims_only_placeholders_invited_at_the_mailbox_it_verified,
    a_claim_of_an_address_without_a_placeholder_changes_nothing,
    of_parallel_sign_ups_of_one_address_exactly_one_claims_the_invitations,
    delete_placeholder_if_unused_keeps_one_with_a_row_and_ignores_active_users,
    housekeeping_clears_expired_invitation_tokens_and_deletes_unused_placeholders,
    get_many_answers_the_stored_users_sorted_once_each_with_their_addresses,
    delete_placeholder_if_unused_racing_an_invite_ends_in_one_order,
    housekeeping_racing_an_invite_ends_in_one_order,
    a_sign_up_claim_racing_an_invite_of_its_placeholder_ends_in_one_order,
    a_new_primary_address_becomes_every_row_notification_address_and_a_revert_restores_it,
    invitation_sent_at_holds_for_the_invitation_read_only,
);
