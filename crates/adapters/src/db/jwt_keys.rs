//! The Ed25519 signing keys of EdDSA tokens (`jwt_keys`), shared by every
//! instance on the database. Creating the first key and rotating take one
//! lock (`jwt_keys`) in one write transaction, so instances starting
//! together create one first key, and rotations never interleave.

use super::conn::{lock_key, write_tx, DbConn};
use super::schema::jwt_keys;
use super::seal::SigningKeySeal;
use super::DbError;
use crate::jwt::{Ed25519Key, SigningKeyRecord};
use accountd_domain::Timestamp;
use diesel::prelude::*;

type Row = (String, String, String, i64, i64);

/// Every stored key, opened under `seal`, by `signs_from` then `kid`.
pub(crate) fn load(
    conn: &mut DbConn,
    seal: &SigningKeySeal,
) -> Result<Vec<SigningKeyRecord>, DbError> {
    let rows: Vec<Row> = jwt_keys::table
        .select((
            jwt_keys::kid,
            jwt_keys::public_x,
            jwt_keys::private_key,
            jwt_keys::created_at,
            jwt_keys::signs_from,
        ))
        .order((jwt_keys::signs_from.asc(), jwt_keys::kid.asc()))
        .load(conn)?;
    rows.into_iter()
        .map(|(kid, public_x, sealed, created_at, signs_from)| {
            let der = seal.open(&kid, &sealed).map_err(|_| {
                DbError::Corrupt(format!(
                    "signing key {kid} does not open under this server secret \
                     (written with another ACCOUNTD_SECRET, or altered)"
                ))
            })?;
            let key = Ed25519Key::from_pkcs8_der(&der, &kid)
                .map_err(|e| DbError::Corrupt(e.to_string()))?;
            if key.x() != public_x {
                return Err(DbError::Corrupt(format!(
                    "signing key {kid}: the public key does not match the private key"
                )));
            }
            Ok(SigningKeyRecord {
                key,
                created_at: Timestamp::from_millis(created_at),
                signs_from: Timestamp::from_millis(signs_from),
            })
        })
        .collect()
}

fn insert(
    conn: &mut DbConn,
    seal: &SigningKeySeal,
    record: &SigningKeyRecord,
) -> Result<(), DbError> {
    let der = record
        .key
        .to_pkcs8_der()
        .map_err(|e| DbError::Corrupt(e.to_string()))?;
    let sealed = seal
        .seal(record.key.kid(), der.as_bytes())
        .map_err(|e| DbError::Corrupt(e.to_string()))?;
    diesel::insert_into(jwt_keys::table)
        .values((
            jwt_keys::kid.eq(record.key.kid()),
            jwt_keys::public_x.eq(record.key.x()),
            jwt_keys::private_key.eq(sealed),
            jwt_keys::created_at.eq(record.created_at.as_millis()),
            jwt_keys::signs_from.eq(record.signs_from.as_millis()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The stored keys; when there are none, `first` (signing at once) is
/// stored first.
pub(crate) fn load_or_create(
    conn: &mut DbConn,
    seal: &SigningKeySeal,
    first: &SigningKeyRecord,
) -> Result<Vec<SigningKeyRecord>, DbError> {
    let existing = load(conn, seal)?;
    if !existing.is_empty() {
        return Ok(existing);
    }
    write_tx(conn, |c| {
        lock_key(c, "jwt_keys")?;
        let count: i64 = jwt_keys::table.count().get_result(c)?;
        if count == 0 {
            insert(c, seal, first)?;
        }
        Ok(())
    })?;
    load(conn, seal)
}

/// Adds `new`, and deletes the keys that retired `ttl_seconds` or more
/// before `now` (their last token has expired): one transaction. Answers
/// the keys after it.
pub(crate) fn rotate(
    conn: &mut DbConn,
    seal: &SigningKeySeal,
    new: &SigningKeyRecord,
    now: Timestamp,
    ttl_seconds: i64,
) -> Result<Vec<SigningKeyRecord>, DbError> {
    write_tx(conn, |c| {
        lock_key(c, "jwt_keys")?;
        let keys = load(c, seal)?;
        let mut all = keys.clone();
        all.push(new.clone());
        let gone: Vec<&str> = keys
            .iter()
            .filter(|k| !k.is_published(&all, now, ttl_seconds))
            .map(|k| k.key.kid())
            .collect();
        if !gone.is_empty() {
            diesel::delete(jwt_keys::table.filter(jwt_keys::kid.eq_any(gone))).execute(c)?;
        }
        insert(c, seal, new)
    })?;
    load(conn, seal)
}
