//! The contract of `ProjectRepository::shared_rows`, the read behind
//! `users/get`: every project two users both have a row in, with the
//! viewer's row then the other's, whatever the statuses.

use super::*;
use accountd_ports::ProjectRepository;

async fn shared(
    db: &Database,
    viewer: UserId,
    other: UserId,
) -> Vec<(Project, Membership, Membership)> {
    ProjectRepository::shared_rows(db, viewer, other)
        .await
        .unwrap()
}

async fn shared_rows_pair_the_viewers_row_with_the_others_in_every_project_both_are_in(
    db: &Database,
) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let cleo = create_user(db, 3, "cleo").await;
    // Ann's project, Bob invited; Bob's deleted project, Ann declined;
    // Cleo's project with Ann only; Cleo's project with Bob only.
    let atlas = project(20, "Atlas", ann.id);
    let zephyr = Project {
        status: ProjectStatus::Deleted,
        ..project(10, "Zephyr", bob.id)
    };
    let ann_only = project(30, "Mine", cleo.id);
    let bob_only = project(40, "Theirs", cleo.id);
    for p in [&atlas, &zephyr, &ann_only, &bob_only] {
        create_project(db, p, &owner_row(p)).await;
    }
    let bob_in_atlas = member(&atlas, bob.id, MembershipStatus::Invited, &[Role::Member]);
    let ann_in_zephyr = member(&zephyr, ann.id, MembershipStatus::Declined, &[Role::Member]);
    let ann_in_mine = member(&ann_only, ann.id, MembershipStatus::Active, &[Role::Member]);
    let bob_in_theirs = member(&bob_only, bob.id, MembershipStatus::Active, &[Role::Member]);
    for m in [&bob_in_atlas, &ann_in_zephyr, &ann_in_mine, &bob_in_theirs] {
        save_membership(db, m).await;
    }

    // By project gid: Zephyr (10) before Atlas (20).
    assert_eq!(
        shared(db, ann.id, bob.id).await,
        vec![
            (zephyr.clone(), ann_in_zephyr.clone(), owner_row(&zephyr)),
            (atlas.clone(), owner_row(&atlas), bob_in_atlas.clone()),
        ]
    );
    // The other way round, the rows swap places.
    assert_eq!(
        shared(db, bob.id, ann.id).await,
        vec![
            (zephyr.clone(), owner_row(&zephyr), ann_in_zephyr),
            (atlas.clone(), bob_in_atlas, owner_row(&atlas)),
        ]
    );
    assert_eq!(
        shared(db, ann.id, cleo.id).await,
        vec![(ann_only.clone(), ann_in_mine, owner_row(&ann_only))]
    );
}

async fn shared_rows_are_empty_for_users_without_a_common_project_or_unknown_ones(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let bob = create_user(db, 2, "bob").await;
    let atlas = project(20, "Atlas", ann.id);
    let zephyr = project(10, "Zephyr", bob.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    create_project(db, &zephyr, &owner_row(&zephyr)).await;
    assert_eq!(shared(db, ann.id, bob.id).await, vec![]);
    assert_eq!(shared(db, ann.id, user_id(9)).await, vec![]);
    assert_eq!(shared(db, user_id(9), ann.id).await, vec![]);
}

async fn shared_rows_of_a_user_with_themselves_give_their_row_twice(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let atlas = project(20, "Atlas", ann.id);
    create_project(db, &atlas, &owner_row(&atlas)).await;
    assert_eq!(
        shared(db, ann.id, ann.id).await,
        vec![(atlas.clone(), owner_row(&atlas), owner_row(&atlas))]
    );
}

contracts!(
    shared_rows_pair_the_viewers_row_with_the_others_in_every_project_both_are_in,
    shared_rows_are_empty_for_users_without_a_common_project_or_unknown_ones,
    shared_rows_of_a_user_with_themselves_give_their_row_twice,
);
