//! The caseless keys of rows written before migration 10 (spec, security:
//! "Comparing names and addresses"), recomputed in Rust after the
//! migrations (SQL cannot fold), and the accounts that collide under them:
//! kept (both work), listed, and never joined by a new name.

use super::conn::{write_tx, DbConn};
use super::schema::{user_emails, users};
use super::DbError;
use accountd_domain::{caseless_key, Email, Username};
use diesel::prelude::*;

/// What a key refold did, and what collides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refolded {
    /// Accounts whose keys were recomputed by this run.
    pub accounts: usize,
    /// Usernames sharing one caseless key, every group oldest account
    /// first (the one holding the name's unique slot): listed by every
    /// run until an account is renamed.
    pub name_collisions: Vec<Vec<CollidingAccount>>,
    /// Accounts whose addresses compare equal only under the caseless rule
    /// (a reset by email now covers all of them): listed by the run that
    /// recomputed their keys, masked.
    pub address_collisions: Vec<Vec<CollidingAddress>>,
}

/// One account of a username collision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollidingAccount {
    /// The account's gid.
    pub gid: String,
    /// The username as chosen (not secret in Unicat).
    pub username: String,
    /// `active`, `deleted`, ...
    pub status: String,
}

/// One account of an address collision; the address masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollidingAddress {
    /// The account's gid.
    pub gid: String,
    /// The stored address, masked (`a***@example.com`).
    pub masked_address: String,
}

/// The prefix of the unique slot held by a younger account of an old
/// collision: no username's caseless key contains `:` (a domain test
/// checks every character), so it never blocks or matches a real name.
const LEGACY_SLOT: &str = "legacy:";

#[derive(Queryable)]
struct Unfolded {
    id: String,
    username: Option<String>,
}

/// Recomputes the keys of every row not yet folded, in one transaction,
/// then lists the collisions. Idempotent: a second run recomputes nothing.
pub(crate) fn refold(conn: &mut DbConn) -> Result<Refolded, DbError> {
    let (accounts, changed_addresses) = write_tx(conn, |c| {
        let rows: Vec<Unfolded> = users::table
            .filter(users::keys_folded.eq(false))
            .order((users::created_at.asc(), users::id.asc()))
            .select((users::id, users::username))
            .load(c)?;
        // Free every old slot first, so the oldest account of a collision
        // gets the caseless key whichever of them held it before.
        for row in rows.iter().filter(|r| r.username.is_some()) {
            diesel::update(users::table.find(&row.id))
                .set(users::username_key.eq(format!("{LEGACY_SLOT}{}", row.id)))
                .execute(c)?;
        }
        let mut changed_addresses = Vec::new();
        for row in &rows {
            if let Some(name) = &row.username {
                let key = Username::key_of(name);
                let taken: i64 = users::table
                    .filter(users::username_key.eq(&key))
                    .count()
                    .get_result(c)?;
                if taken == 0 {
                    diesel::update(users::table.find(&row.id))
                        .set(users::username_key.eq(&key))
                        .execute(c)?;
                }
                diesel::update(users::table.find(&row.id))
                    .set(users::username_fold.eq(&key))
                    .execute(c)?;
            }
            let addresses: Vec<(i32, String)> = user_emails::table
                .filter(user_emails::user_id.eq(&row.id))
                .select((user_emails::position, user_emails::email))
                .load(c)?;
            for (position, address) in addresses {
                let key = caseless_key(&address);
                if key != address.to_lowercase() {
                    changed_addresses.push(key.clone());
                }
                diesel::update(
                    user_emails::table
                        .filter(user_emails::user_id.eq(&row.id))
                        .filter(user_emails::position.eq(position)),
                )
                .set(user_emails::email_key.eq(&key))
                .execute(c)?;
            }
            diesel::update(users::table.find(&row.id))
                .set(users::keys_folded.eq(true))
                .execute(c)?;
        }
        Ok((rows.len(), changed_addresses))
    })?;
    Ok(Refolded {
        accounts,
        name_collisions: name_collisions(conn)?,
        address_collisions: address_collisions(conn, changed_addresses)?,
    })
}

/// Every group of accounts sharing a username key.
fn name_collisions(conn: &mut DbConn) -> Result<Vec<Vec<CollidingAccount>>, DbError> {
    let keys: Vec<Option<String>> = users::table
        .filter(users::username_fold.is_not_null())
        .group_by(users::username_fold)
        .having(diesel::dsl::count_star().gt(1))
        .select(users::username_fold)
        .order(users::username_fold.asc())
        .load(conn)?;
    let mut groups = Vec::with_capacity(keys.len());
    for key in keys.into_iter().flatten() {
        let rows: Vec<(String, Option<String>, String)> = users::table
            .filter(users::username_fold.eq(&key))
            .order((users::created_at.asc(), users::id.asc()))
            .select((users::id, users::username, users::status))
            .load(conn)?;
        groups.push(
            rows.into_iter()
                .map(|(gid, username, status)| CollidingAccount {
                    gid,
                    username: username.unwrap_or_default(),
                    status,
                })
                .collect(),
        );
    }
    Ok(groups)
}

/// The groups of accounts holding an address of one of these keys whose
/// spellings differ even lower-cased (so they did not compare equal before).
fn address_collisions(
    conn: &mut DbConn,
    mut keys: Vec<String>,
) -> Result<Vec<Vec<CollidingAddress>>, DbError> {
    keys.sort_unstable();
    keys.dedup();
    let mut groups = Vec::new();
    for key in keys {
        let rows: Vec<(String, String)> = user_emails::table
            .inner_join(users::table)
            .filter(user_emails::email_key.eq(&key))
            .order((users::created_at.asc(), users::id.asc()))
            .select((users::id, user_emails::email))
            .load(conn)?;
        let mut spellings: Vec<String> = rows.iter().map(|(_, e)| e.to_lowercase()).collect();
        spellings.sort_unstable();
        spellings.dedup();
        if spellings.len() < 2 {
            continue;
        }
        groups.push(
            rows.into_iter()
                .map(|(gid, address)| CollidingAddress {
                    gid,
                    masked_address: Email::parse(&address)
                        .map_or_else(|_| "***".to_owned(), |e| e.masked()),
                })
                .collect(),
        );
    }
    Ok(groups)
}
