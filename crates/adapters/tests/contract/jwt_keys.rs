//! The EdDSA signing keys' contract: instances starting together create
//! one first key; a rotation adds a key published now and signing later,
//! keeps the old one while its tokens may live and deletes it after; the
//! private keys open only under the server secret that sealed them.

use super::*;
use accountd_adapters::{JwtTokens, SigningKeyRecord};

const SEAL: [u8; 32] = [9; 32];

fn kids(keys: &[SigningKeyRecord]) -> Vec<String> {
    keys.iter().map(|k| k.key.kid().to_owned()).collect()
}

async fn parallel_first_starts_create_exactly_one_signing_key(db: &Database) {
    let mut set = JoinSet::new();
    for _ in 0..8 {
        let db = db.clone();
        set.spawn(async move { db.jwt_signing_keys(&SEAL, at(0)).await.unwrap() });
    }
    let mut seen = BTreeSet::new();
    while let Some(keys) = set.join_next().await {
        let keys = keys.unwrap();
        assert_eq!(keys.len(), 1, "one key for every instance");
        // Signing from the epoch: an instance whose clock is behind the one
        // that stored the key finds it signing already.
        assert_eq!(
            (keys[0].created_at, keys[0].signs_from),
            (at(0), Timestamp::from_millis(0))
        );
        seen.insert(keys[0].key.kid().to_owned());
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    // A later start reads the same key.
    let again = db.jwt_signing_keys(&SEAL, at(50)).await.unwrap();
    assert_eq!(kids(&again), seen.into_iter().collect::<Vec<_>>());
}

async fn a_rotation_keeps_the_old_key_until_its_tokens_expired_then_deletes_it(db: &Database) {
    let first = db.jwt_signing_keys(&SEAL, at(0)).await.unwrap();
    let (second, after) = db
        .rotate_jwt_signing_key(&SEAL, at(100), at(115), 3600)
        .await
        .unwrap();
    assert_eq!((second.created_at, second.signs_from), (at(100), at(115)));
    assert_eq!(
        kids(&after),
        [first[0].key.kid(), second.key.kid()],
        "ordered by signs_from"
    );
    // What a server reloading now would sign with and publish.
    let tokens = JwtTokens::eddsa(&after, "accountd", "accountd", 3600).unwrap();
    assert_eq!(
        tokens.signing_kid(at(114)).as_deref(),
        Some(first[0].key.kid())
    );
    assert_eq!(
        tokens.signing_kid(at(115)).as_deref(),
        Some(second.key.kid())
    );
    assert_eq!(tokens.published_at(at(115 + 3599)).len(), 2);
    assert_eq!(tokens.published_at(at(115 + 3600)).len(), 1);
    // A rotation before the old key's last token expired keeps it ...
    let (third, after) = db
        .rotate_jwt_signing_key(&SEAL, at(115 + 3599), at(115 + 3614), 3600)
        .await
        .unwrap();
    assert_eq!(
        kids(&after),
        [first[0].key.kid(), second.key.kid(), third.key.kid()]
    );
    // ... one after it deletes it (the second key is still needed).
    let (fourth, after) = db
        .rotate_jwt_signing_key(&SEAL, at(115 + 3600), at(115 + 3615), 3600)
        .await
        .unwrap();
    assert_eq!(
        kids(&after),
        [second.key.kid(), third.key.kid(), fourth.key.kid()]
    );
    assert_eq!(
        kids(&db.jwt_signing_keys(&SEAL, at(115 + 3601)).await.unwrap()),
        kids(&after)
    );
}

async fn stored_keys_do_not_open_under_another_server_secret(db: &Database) {
    db.jwt_signing_keys(&SEAL, at(0)).await.unwrap();
    let e = db.jwt_signing_keys(&[8; 32], at(1)).await.unwrap_err();
    assert!(
        format!("{e:#}").contains("does not open under this server secret"),
        "{e:#}"
    );
}

contracts!(
    parallel_first_starts_create_exactly_one_signing_key,
    a_rotation_keeps_the_old_key_until_its_tokens_expired_then_deletes_it,
    stored_keys_do_not_open_under_another_server_secret,
);
