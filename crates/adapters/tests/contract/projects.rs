//! The contract of the project routes' writes and reads:
//! `ProjectRepository::get` and `rows_of`, `Change::OwnsFewerThan` (the
//! projects cap, exact under parallel creates), `Change::UpdateProject`,
//! and the one-owner constraint of the database.

use super::*;
use accountd_ports::ProjectRepository;

async fn get(db: &Database, id: ProjectId) -> Option<Project> {
    ProjectRepository::get(db, id).await.unwrap()
}

async fn rows_of(db: &Database, id: ProjectId) -> Vec<Membership> {
    ProjectRepository::rows_of(db, id).await.unwrap()
}

/// The set `projects/create` applies: under the cap, then the create.
fn capped_create(project: &Project, max: u32) -> ChangeSet {
    ChangeSet::new()
        .with(Change::OwnsFewerThan {
            user: project.owner,
            max,
        })
        .with(Change::CreateProject {
            project: project.clone(),
            owner: owner_row(project),
        })
}

async fn a_stored_project_and_its_rows_are_read_back_whole_and_unknown_ones_are_empty(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = Project {
        icon: Some("icons/atlas.png".to_owned()),
        languages: vec!["nl".to_owned(), "en".to_owned()],
        ..project(30, "Atlas", ann.id)
    };
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let bob_row = member(&atlas, bob.id, MembershipStatus::Declined, &[Role::Member]);
    save_membership(db, &bob_row).await;
    assert_eq!(get(db, atlas.id).await, Some(atlas.clone()));
    let mut expected = vec![owner_row(&atlas), bob_row];
    expected.sort_by_key(|m| m.user.to_string());
    assert_eq!(rows_of(db, atlas.id).await, expected);
    assert_eq!(get(db, project_id(99)).await, None);
    assert_eq!(rows_of(db, project_id(99)).await, vec![]);
}

async fn a_create_under_the_cap_is_applied_and_one_at_the_cap_is_refused_whole(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let first = project(31, "one", ann.id);
    assert_eq!(
        db.apply(capped_create(&first, 2), at(0)).await.unwrap(),
        Applied::Committed
    );
    // A deleted project counts too: it is stored until purged.
    let second = Project {
        status: ProjectStatus::Deleted,
        ..project(32, "two", ann.id)
    };
    create_project(db, &second, &owner_row(&second)).await;
    let third = project(33, "three", ann.id);
    assert_eq!(
        db.apply(capped_create(&third, 2), at(0)).await.unwrap(),
        Applied::Refused(Conflict::TooManyProjects)
    );
    assert_eq!(get(db, third.id).await, None);
    assert_eq!(rows_of(db, third.id).await, vec![]);
}

async fn of_eight_parallel_creates_with_room_for_three_exactly_three_are_applied(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let mut tasks = JoinSet::new();
    for n in 0..8u8 {
        let db = db.clone();
        let p = project(40 + n, &format!("p{n}"), ann.id);
        tasks.spawn(async move { db.apply(capped_create(&p, 3), at(0)).await.unwrap() });
    }
    let mut committed = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Applied::Committed => committed += 1,
            Applied::Refused(c) => assert_eq!(c, Conflict::TooManyProjects),
        }
    }
    assert_eq!(committed, 3);
    let owned = accountd_ports::ProjectRepository::owned_by(db, ann.id)
        .await
        .unwrap();
    assert_eq!(owned.len(), 3);
}

async fn an_update_sets_only_the_given_columns_of_an_active_project(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(34, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let set = ChangeSet::new().with(Change::UpdateProject {
        project: atlas.id,
        name: None,
        timezone: Some("Europe/Berlin".to_owned()),
        languages: Some(vec!["de".to_owned(), "en".to_owned()]),
    });
    assert_eq!(db.apply(set, at(0)).await.unwrap(), Applied::Committed);
    let expected = Project {
        timezone: "Europe/Berlin".to_owned(),
        languages: vec!["de".to_owned(), "en".to_owned()],
        ..atlas.clone()
    };
    assert_eq!(get(db, atlas.id).await, Some(expected.clone()));
    let set = ChangeSet::new().with(Change::UpdateProject {
        project: atlas.id,
        name: Some("Atlas 2".to_owned()),
        timezone: None,
        languages: None,
    });
    assert_eq!(db.apply(set, at(0)).await.unwrap(), Applied::Committed);
    assert_eq!(
        get(db, atlas.id).await,
        Some(Project {
            name: "Atlas 2".to_owned(),
            ..expected
        })
    );
}

async fn an_update_of_a_deleted_or_unknown_project_is_refused_and_changes_nothing(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let gone = Project {
        status: ProjectStatus::Deleted,
        ..project(35, "Gone", ann.id)
    };
    create_project(db, &gone, &owner_row(&gone)).await;
    for (id, name) in [
        (gone.id, Some("New")),
        (project_id(98), Some("New")),
        (gone.id, None),
    ] {
        let set = ChangeSet::new().with(Change::UpdateProject {
            project: id,
            name: name.map(ToOwned::to_owned),
            timezone: None,
            languages: None,
        });
        assert_eq!(
            db.apply(set, at(0)).await.unwrap(),
            Applied::Refused(Conflict::ProjectChanged)
        );
    }
    assert_eq!(get(db, gone.id).await, Some(gone));
}

async fn the_database_refuses_a_second_owner_row_in_one_project(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = project(36, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let second_owner = member(&atlas, bob.id, MembershipStatus::Active, &[Role::Owner]);
    let set = ChangeSet::new().with(Change::PutMembership {
        membership: second_owner,
        expected: None,
    });
    // The unique index answers as a unique violation: the guard's conflict.
    assert_eq!(
        db.apply(set, at(0)).await.unwrap(),
        Applied::Refused(Conflict::MembershipChanged)
    );
    assert_eq!(rows_of(db, atlas.id).await, vec![owner_row(&atlas)]);
    // An owner row in another project is fine.
    let zephyr = project(37, "Zephyr", bob.id);
    create_project(db, &zephyr, &owner_row(&zephyr)).await;
    assert_eq!(rows_of(db, zephyr.id).await, vec![owner_row(&zephyr)]);
}

async fn status(
    db: &Database,
    project: &Project,
    expected: ProjectStatus,
    to: ProjectStatus,
) -> Applied {
    let set = ChangeSet::new().with(Change::SetProjectStatus {
        project: project.id,
        expected,
        status: to,
    });
    db.apply(set, at(5)).await.unwrap()
}

async fn delete_and_undelete_move_the_status_only_from_the_expected_one(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(50, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let deleted = Project {
        status: ProjectStatus::Deleted,
        ..atlas.clone()
    };
    assert_eq!(
        status(db, &atlas, ProjectStatus::Active, ProjectStatus::Deleted).await,
        Applied::Committed
    );
    assert_eq!(get(db, atlas.id).await, Some(deleted.clone()));
    assert_eq!(rows_of(db, atlas.id).await, vec![owner_row(&atlas)]);
    assert_eq!(
        status(db, &atlas, ProjectStatus::Active, ProjectStatus::Deleted).await,
        Applied::Refused(Conflict::ProjectChanged)
    );
    assert_eq!(
        status(db, &atlas, ProjectStatus::Deleted, ProjectStatus::Active).await,
        Applied::Committed
    );
    assert_eq!(get(db, atlas.id).await, Some(atlas.clone()));
    assert_eq!(
        status(
            db,
            &project(51, "x", ann.id),
            ProjectStatus::Active,
            ProjectStatus::Deleted
        )
        .await,
        Applied::Refused(Conflict::ProjectChanged)
    );
}

async fn of_eight_parallel_deletes_of_one_project_exactly_one_wins(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(52, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let mut tasks = JoinSet::new();
    for _ in 0..8 {
        let (db, atlas) = (db.clone(), atlas.clone());
        tasks.spawn(async move {
            status(&db, &atlas, ProjectStatus::Active, ProjectStatus::Deleted).await
        });
    }
    let mut won = 0;
    while let Some(outcome) = tasks.join_next().await {
        if outcome.unwrap() == Applied::Committed {
            won += 1;
        }
    }
    assert_eq!(won, 1);
}

fn placeholder(n: u8, address: &str) -> User {
    User {
        id: user_id(n),
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

async fn a_permanent_delete_removes_the_project_its_rows_and_only_the_placeholders_left_without_any(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let (lone, shared) = (
        placeholder(3, "lone@example.com"),
        placeholder(4, "shared@example.com"),
    );
    for u in [&lone, &shared] {
        let set = ChangeSet::new().with(Change::CreateUser(u.clone()));
        assert_eq!(db.apply(set, at(0)).await.unwrap(), Applied::Committed);
    }
    let atlas = project(53, "Atlas", ann.id);
    let zephyr = project(54, "Zephyr", bob.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    create_project(db, &zephyr, &owner_row(&zephyr)).await;
    for (p, u, s) in [
        (&atlas, bob.id, MembershipStatus::Active),
        (&atlas, lone.id, MembershipStatus::Invited),
        (&atlas, shared.id, MembershipStatus::Invited),
        (&zephyr, shared.id, MembershipStatus::Invited),
    ] {
        save_membership(db, &member(p, u, s, &[Role::Member])).await;
    }
    let purge = || ChangeSet::new().with(Change::DeleteProjectPermanently { project: atlas.id });
    // Only a deleted project is purged.
    assert_eq!(
        db.apply(purge(), at(0)).await.unwrap(),
        Applied::Refused(Conflict::ProjectChanged)
    );
    assert_eq!(rows_of(db, atlas.id).await.len(), 4);
    assert_eq!(
        status(db, &atlas, ProjectStatus::Active, ProjectStatus::Deleted).await,
        Applied::Committed
    );
    assert_eq!(db.apply(purge(), at(0)).await.unwrap(), Applied::Committed);
    assert_eq!(get(db, atlas.id).await, None);
    assert_eq!(rows_of(db, atlas.id).await, vec![]);
    assert_eq!(UserRepository::get(db, lone.id).await.unwrap(), None);
    assert_eq!(
        UserRepository::get(db, shared.id).await.unwrap(),
        Some(shared.clone())
    );
    assert!(UserRepository::get(db, bob.id).await.unwrap().is_some());
    assert_eq!(rows_of(db, zephyr.id).await.len(), 2);
    // A second purge finds nothing.
    assert_eq!(
        db.apply(purge(), at(0)).await.unwrap(),
        Applied::Refused(Conflict::ProjectChanged)
    );
}

async fn the_purge_removes_projects_deleted_longer_ago_than_the_retention_only(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let old = project(60, "old", ann.id);
    let recent = project(61, "recent", ann.id);
    let active = project(62, "active", ann.id);
    for p in [&old, &recent, &active] {
        create_project(db, p, &owner_row(p)).await;
    }
    let delete_at = |p: &Project, when: Timestamp| {
        let set = ChangeSet::new().with(Change::SetProjectStatus {
            project: p.id,
            expected: ProjectStatus::Active,
            status: ProjectStatus::Deleted,
        });
        let db = db.clone();
        async move { assert_eq!(db.apply(set, when).await.unwrap(), Applied::Committed) }
    };
    delete_at(&old, at(0)).await;
    delete_at(&recent, at(100)).await;
    let purged = db
        .purge(accountd_adapters::PurgeBefore {
            deleted_projects: at(50),
            ..purge_before(at(50))
        })
        .await
        .unwrap();
    assert_eq!(purged.projects, 1);
    assert_eq!(get(db, old.id).await, None);
    assert_eq!(rows_of(db, old.id).await, vec![]);
    assert!(get(db, recent.id).await.is_some());
    assert_eq!(get(db, active.id).await, Some(active));
    // The purge is audited, in its transaction, for the project it purged.
    let audited = db
        .audit_events(accountd_adapters::AuditFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].event, "project_purged");
    assert_eq!(audited[0].time, at(50));
    assert_eq!(audited[0].user_gid, Some(ann.id.to_string()));
    assert_eq!(audited[0].outcome, "success");
    assert_eq!(
        audited[0].details,
        serde_json::json!({"project": old.id.to_string(), "via": "retention"})
    );
    // A second pass purges nothing and records nothing.
    db.purge(accountd_adapters::PurgeBefore {
        deleted_projects: at(50),
        ..purge_before(at(60))
    })
    .await
    .unwrap();
    let again = db
        .audit_events(accountd_adapters::AuditFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
}

fn transfer_set(project: &Project, from: UserId, to: UserId) -> ChangeSet {
    ChangeSet::new()
        .with(Change::OwnsFewerThan { user: to, max: 100 })
        .with(Change::TransferProject {
            project: project.id,
            from,
            to,
        })
}

async fn a_transfer_swaps_the_roles_and_the_owner_and_leaves_exactly_one_owner_row(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let cy = create_user(db, 3, "cy").await;
    let atlas = project(70, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    save_membership(
        db,
        &member(&atlas, bob.id, MembershipStatus::Active, &[Role::Member]),
    )
    .await;
    save_membership(
        db,
        &member(&atlas, cy.id, MembershipStatus::Invited, &[Role::Member]),
    )
    .await;
    // Not to an invited user, nor to a stranger.
    for to in [cy.id, user_id(9)] {
        assert_eq!(
            db.apply(transfer_set(&atlas, ann.id, to), at(0))
                .await
                .unwrap(),
            Applied::Refused(Conflict::MembershipChanged)
        );
    }
    assert_eq!(
        db.apply(transfer_set(&atlas, ann.id, bob.id), at(0))
            .await
            .unwrap(),
        Applied::Committed
    );
    assert_eq!(get(db, atlas.id).await.map(|p| p.owner), Some(bob.id));
    let rows = rows_of(db, atlas.id).await;
    let role = |u: UserId| rows.iter().find(|r| r.user == u).map(|r| r.roles.clone());
    assert_eq!(role(ann.id), Some(vec![Role::Member]));
    assert_eq!(role(bob.id), Some(vec![Role::Owner]));
    assert_eq!(
        rows.iter()
            .filter(|r| r.roles.contains(&Role::Owner))
            .count(),
        1
    );
    // The old owner can no longer give it away.
    assert_eq!(
        db.apply(transfer_set(&atlas, ann.id, bob.id), at(0))
            .await
            .unwrap(),
        Applied::Refused(Conflict::ProjectChanged)
    );
}

async fn of_parallel_transfers_to_different_members_exactly_one_wins(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(71, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    let mut members = Vec::new();
    for n in 0..6u8 {
        let u = create_user(db, 10 + n, &format!("m{n}")).await;
        save_membership(
            db,
            &member(&atlas, u.id, MembershipStatus::Active, &[Role::Member]),
        )
        .await;
        members.push(u.id);
    }
    let mut tasks = JoinSet::new();
    for to in members {
        let (db, atlas) = (db.clone(), atlas.clone());
        tasks.spawn(async move {
            db.apply(transfer_set(&atlas, ann.id, to), at(0))
                .await
                .unwrap()
        });
    }
    let mut won = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Applied::Committed => won += 1,
            Applied::Refused(c) => assert_eq!(c, Conflict::ProjectChanged),
        }
    }
    assert_eq!(won, 1);
    let rows = rows_of(db, atlas.id).await;
    let owners: Vec<_> = rows
        .iter()
        .filter(|r| r.roles.contains(&Role::Owner))
        .collect();
    assert_eq!(owners.len(), 1);
    assert_eq!(
        get(db, atlas.id).await.map(|p| p.owner),
        Some(owners[0].user)
    );
}

async fn a_transfer_to_a_user_at_the_cap_or_of_a_deleted_project_is_refused(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = project(72, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    save_membership(
        db,
        &member(&atlas, bob.id, MembershipStatus::Active, &[Role::Member]),
    )
    .await;
    let bobs = project(73, "Bob's", bob.id);
    create_project(db, &bobs, &owner_row(&bobs)).await;
    let capped = ChangeSet::new()
        .with(Change::OwnsFewerThan {
            user: bob.id,
            max: 1,
        })
        .with(Change::TransferProject {
            project: atlas.id,
            from: ann.id,
            to: bob.id,
        });
    assert_eq!(
        db.apply(capped, at(0)).await.unwrap(),
        Applied::Refused(Conflict::TooManyProjects)
    );
    assert_eq!(
        status(db, &atlas, ProjectStatus::Active, ProjectStatus::Deleted).await,
        Applied::Committed
    );
    assert_eq!(
        db.apply(transfer_set(&atlas, ann.id, bob.id), at(0))
            .await
            .unwrap(),
        Applied::Refused(Conflict::ProjectChanged)
    );
    assert_eq!(get(db, atlas.id).await.map(|p| p.owner), Some(ann.id));
}

contracts!(
    a_stored_project_and_its_rows_are_read_back_whole_and_unknown_ones_are_empty,
    a_create_under_the_cap_is_applied_and_one_at_the_cap_is_refused_whole,
    of_eight_parallel_creates_with_room_for_three_exactly_three_are_applied,
    an_update_sets_only_the_given_columns_of_an_active_project,
    an_update_of_a_deleted_or_unknown_project_is_refused_and_changes_nothing,
    the_database_refuses_a_second_owner_row_in_one_project,
    delete_and_undelete_move_the_status_only_from_the_expected_one,
    of_eight_parallel_deletes_of_one_project_exactly_one_wins,
    a_permanent_delete_removes_the_project_its_rows_and_only_the_placeholders_left_without_any,
    the_purge_removes_projects_deleted_longer_ago_than_the_retention_only,
    a_transfer_swaps_the_roles_and_the_owner_and_leaves_exactly_one_owner_row,
    of_parallel_transfers_to_different_members_exactly_one_wins,
    a_transfer_to_a_user_at_the_cap_or_of_a_deleted_project_is_refused,
);
