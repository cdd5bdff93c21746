//! Users and their addresses.

use super::conn::{columns, load, DbConn};
use super::rows::{email_rows, EmailRow, UserRow};
use super::schema::{memberships, user_emails, users};
use super::{Database, DbError};
use accountd_domain::{Email, User, UserId, UserStatus, Username};
use accountd_ports::{StoreError, UserRepository};
use async_trait::async_trait;
use diesel::prelude::*;

#[async_trait]
impl UserRepository for Database {
    async fn find_by_username_ci(&self, username: &str) -> Result<Option<User>, StoreError> {
        let typed = username.to_owned();
        self.run(move |c| by_username(c, &typed)).await
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let id = id.to_string();
        self.run(move |c| by_id(c, &id)).await
    }

    async fn get_many(&self, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.run(move |c| by_ids(c, &ids)).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Vec<User>, StoreError> {
        let key = email.key();
        self.run(move |c| by_email_key(c, &key)).await
    }

    async fn find_email_revert(
        &self,
        token_mac: accountd_domain::CodeMac,
    ) -> Result<Option<accountd_domain::EmailRevert>, StoreError> {
        self.email_revert(token_mac).await
    }
}

/// The user with this gid.
pub(crate) fn by_id(conn: &mut DbConn, id: &str) -> Result<Option<User>, DbError> {
    // A key lookup: load, not `first`, whose bound LIMIT makes SQLite
    // recompile the statement on every call.
    let row: Option<UserRow> =
        load(conn, users::table.find(id).select(columns::<UserRow>()))?.pop();
    hydrate(conn, row)
}

/// The users with these gids, by gid: two queries (the users, then all
/// their addresses) for up to [`BATCH`] gids at a time.
pub(crate) fn by_ids(conn: &mut DbConn, ids: &[String]) -> Result<Vec<User>, DbError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH) {
        let rows: Vec<UserRow> = users::table
            .filter(users::id.eq_any(chunk))
            .order(users::id.asc())
            .select(UserRow::as_select())
            .load(conn)?;
        let emails: Vec<EmailRow> = user_emails::table
            .filter(user_emails::user_id.eq_any(chunk))
            .order((user_emails::user_id.asc(), user_emails::position.asc()))
            .select(EmailRow::as_select())
            .load(conn)?;
        let mut of_user: std::collections::HashMap<String, Vec<EmailRow>> =
            std::collections::HashMap::new();
        for e in emails {
            of_user.entry(e.user_id.clone()).or_default().push(e);
        }
        for row in rows {
            let emails = of_user.remove(&row.id).unwrap_or_default();
            out.push(row.into_user(emails)?);
        }
    }
    Ok(out)
}

/// Gids per query of [`by_ids`] (well under SQLite's bound-parameter cap).
const BATCH: usize = 500;

/// The user whose username has the caseless key (`Username::key`) of
/// `typed`. Accounts that collided under the caseless rule before it was
/// enforced share a key (see `fold.rs`); of those, the one spelled exactly
/// as typed, else the one matching it under the old lower-casing, else the
/// one holding the key's unique slot (the oldest), so every one of them
/// can still be reached by its own name.
pub(crate) fn by_username(conn: &mut DbConn, typed: &str) -> Result<Option<User>, DbError> {
    let key = Username::key_of(typed);
    let mut rows: Vec<UserRow> = users::table
        .filter(users::username_fold.eq(&key))
        .order((users::created_at.asc(), users::id.asc()))
        .select(UserRow::as_select())
        .load(conn)?;
    let pick = rows
        .iter()
        .position(|r| r.username.as_deref() == Some(typed))
        .or_else(|| {
            let lower = typed.to_lowercase();
            rows.iter()
                .position(|r| r.username.as_deref().map(str::to_lowercase) == Some(lower.clone()))
        })
        .or_else(|| {
            rows.iter()
                .position(|r| r.username_key.as_deref() == Some(key.as_str()))
        })
        .or(if rows.is_empty() { None } else { Some(0) });
    let row = pick.map(|i| rows.swap_remove(i));
    hydrate(conn, row)
}

/// Whether a user other than `user_id` has a username whose caseless key
/// is `key`. Checked before a name is written: the unique slot
/// (`username_key`) alone would miss the younger accounts of an old
/// collision, which hold a `legacy:` slot; it still decides races between
/// new names.
pub(crate) fn name_key_held(conn: &mut DbConn, key: &str, user_id: &str) -> Result<bool, DbError> {
    let held: i64 = users::table
        .filter(users::username_fold.eq(key))
        .filter(users::id.ne(user_id))
        .count()
        .get_result(conn)?;
    Ok(held > 0)
}

/// The stored username of the user with this gid.
fn stored_username(conn: &mut DbConn, user_id: &str) -> Result<Option<String>, DbError> {
    Ok(
        load(conn, users::table.find(user_id).select(users::username))?
            .pop()
            .flatten(),
    )
}

/// Every user with an address whose key is `key`, oldest first.
pub(crate) fn by_email_key(conn: &mut DbConn, key: &str) -> Result<Vec<User>, DbError> {
    let rows: Vec<UserRow> = users::table
        .filter(
            users::id.eq_any(
                user_emails::table
                    .filter(user_emails::email_key.eq(key))
                    .select(user_emails::user_id),
            ),
        )
        .order((users::created_at.asc(), users::id.asc()))
        .select(UserRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.extend(hydrate(conn, Some(row))?);
    }
    Ok(out)
}

/// Inserts the user's row and its addresses (inside the caller's transaction).
pub(crate) fn insert(conn: &mut DbConn, user: &User) -> Result<(), DbError> {
    if let Some(name) = &user.username {
        if name_key_held(conn, &name.key(), &user.id.to_string())? {
            return Err(DbError::Conflict(accountd_domain::Conflict::UsernameTaken));
        }
    }
    diesel::insert_into(users::table)
        .values(&UserRow::from_user(user))
        .execute(conn)?;
    insert_emails(conn, user)
}

/// Replaces the stored user by `user` while its credential version is still
/// `expected_version`; whether it was.
pub(crate) fn update(
    conn: &mut DbConn,
    user: &User,
    expected_version: i64,
) -> Result<bool, DbError> {
    let row = UserRow::from_user(user);
    // The name's columns are written only when it changes: a younger
    // account of an old collision keeps its `legacy:` slot.
    let renamed = stored_username(conn, &row.id)? != row.username;
    if renamed {
        if let Some(key) = &row.username_fold {
            if name_key_held(conn, key, &row.id)? {
                return Err(DbError::Conflict(accountd_domain::Conflict::UsernameTaken));
            }
        }
        diesel::update(users::table.filter(users::id.eq(&row.id)))
            .set((
                users::username.eq(&row.username),
                users::username_key.eq(&row.username_key),
                users::username_fold.eq(&row.username_fold),
            ))
            .execute(conn)?;
    }
    let updated = diesel::update(
        users::table
            .filter(users::id.eq(&row.id))
            .filter(users::credential_version.eq(expected_version)),
    )
    .set((
        users::status.eq(&row.status),
        users::credential_version.eq(row.credential_version),
        users::password_hash.eq(&row.password_hash),
        users::name.eq(&row.name),
        users::language.eq(&row.language),
        users::timezone.eq(&row.timezone),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(false);
    }
    diesel::delete(user_emails::table.filter(user_emails::user_id.eq(&row.id))).execute(conn)?;
    insert_emails(conn, user)?;
    Ok(true)
}

/// The profile columns an `UpdateProfile` sets; a `None` is left as
/// stored (diesel skips it).
#[derive(AsChangeset)]
#[diesel(table_name = users)]
pub(crate) struct ProfileColumns<'a> {
    pub username: Option<&'a str>,
    pub username_key: Option<String>,
    pub username_fold: Option<String>,
    pub name: Option<&'a str>,
    pub language: Option<&'a str>,
    pub timezone: Option<&'a str>,
}

impl ProfileColumns<'_> {
    fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.name.is_none()
            && self.language.is_none()
            && self.timezone.is_none()
    }
}

/// Sets only the given profile columns while the credential version is
/// still `expected_version`; whether it was. A username taken by another
/// row is a unique violation of `username_key`.
pub(crate) fn update_profile(
    conn: &mut DbConn,
    user_id: &str,
    expected_version: i64,
    columns: &ProfileColumns<'_>,
) -> Result<bool, DbError> {
    let target = users::table
        .filter(users::id.eq(user_id))
        .filter(users::credential_version.eq(expected_version));
    if let Some(name) = columns.username {
        if stored_username(conn, user_id)?.as_deref() == Some(name) {
            // Unchanged: a younger account of an old collision keeps its
            // `legacy:` slot (see `update`).
            let columns = ProfileColumns {
                username: None,
                username_key: None,
                username_fold: None,
                name: columns.name,
                language: columns.language,
                timezone: columns.timezone,
            };
            return update_profile(conn, user_id, expected_version, &columns);
        }
        if let Some(key) = &columns.username_fold {
            if name_key_held(conn, key, user_id)? {
                return Err(DbError::Conflict(accountd_domain::Conflict::UsernameTaken));
            }
        }
    }
    if columns.is_empty() {
        // Nothing to set: the guard alone.
        let found: i64 = target.count().get_result(conn)?;
        return Ok(found == 1);
    }
    let updated = diesel::update(target).set(columns).execute(conn)?;
    Ok(updated == 1)
}

/// Sets the password hash and bumps the credential version while it is
/// still `expected_version`; whether it was.
pub(crate) fn set_password(
    conn: &mut DbConn,
    user_id: &str,
    hash: &str,
    expected_version: i64,
) -> Result<bool, DbError> {
    let updated = diesel::update(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::credential_version.eq(expected_version)),
    )
    .set((
        users::password_hash.eq(hash),
        users::credential_version.eq(users::credential_version + 1),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

fn insert_emails(conn: &mut DbConn, user: &User) -> Result<(), DbError> {
    for e in &email_rows(user) {
        diesel::insert_into(user_emails::table)
            .values(e)
            .execute(conn)?;
    }
    Ok(())
}

fn hydrate(conn: &mut DbConn, row: Option<UserRow>) -> Result<Option<User>, DbError> {
    let Some(row) = row else { return Ok(None) };
    let emails: Vec<EmailRow> = load(
        conn,
        user_emails::table
            .filter(user_emails::user_id.eq(&row.id))
            .order(user_emails::position)
            .select(columns::<EmailRow>()),
    )?;
    row.into_user(emails).map(Some)
}

/// Deletes the account while its credential version is still
/// `expected_version` (inside the caller's transaction): status `deleted`,
/// password hash, name and every address erased, the version bumped; the
/// username and its key stay (the name stays reserved). Whether it was.
pub(crate) fn delete_account(
    conn: &mut DbConn,
    user_id: &str,
    expected_version: i64,
) -> Result<bool, DbError> {
    let updated = diesel::update(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::credential_version.eq(expected_version)),
    )
    .set((
        users::status.eq(accountd_domain::UserStatus::Deleted.as_str()),
        users::password_hash.eq(None::<String>),
        users::name.eq(""),
        users::credential_version.eq(users::credential_version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(false);
    }
    diesel::delete(user_emails::table.filter(user_emails::user_id.eq(user_id))).execute(conn)?;
    Ok(true)
}

/// Whether the user with this gid exists and is active or a placeholder
/// (a user a membership row may be written for).
pub(crate) fn may_join(conn: &mut DbConn, user_id: &str) -> Result<bool, DbError> {
    let status: Option<String> =
        load(conn, users::table.find(user_id).select(users::status))?.pop();
    Ok(matches!(
        status.as_deref().and_then(UserStatus::parse),
        Some(UserStatus::Active | UserStatus::Invited)
    ))
}

/// Whether an active account or a placeholder holds an address whose key
/// is `email_key`.
pub(crate) fn address_held(conn: &mut DbConn, email_key: &str) -> Result<bool, DbError> {
    let holders: i64 = users::table
        .filter(
            users::id.eq_any(
                user_emails::table
                    .filter(user_emails::email_key.eq(email_key))
                    .select(user_emails::user_id),
            ),
        )
        .filter(users::status.ne(UserStatus::Deleted.as_str()))
        .count()
        .get_result(conn)?;
    Ok(holders > 0)
}

/// The placeholders holding an address whose key is `email_key`, by gid
/// (one at most, unless created before the guard existed).
pub(crate) fn placeholders_of(
    conn: &mut DbConn,
    email: &accountd_domain::Email,
) -> Result<Vec<String>, DbError> {
    let candidates: Vec<(String, String)> = users::table
        .inner_join(user_emails::table.on(user_emails::user_id.eq(users::id)))
        .filter(user_emails::email_key.eq(email.key()))
        .filter(users::status.eq(UserStatus::Invited.as_str()))
        .order(users::id.asc())
        .select((users::id, user_emails::email))
        .load(conn)?;
    // The placeholders invited at this very mailbox: an address that only
    // folds equal (`straße@` for `strasse@`, a Kelvin sign) may be
    // another mailbox, whose invitations the sign-up did not prove. Case
    // alone does not make another mailbox.
    let proved = email.as_str().to_lowercase();
    let mut ids: Vec<String> = candidates
        .into_iter()
        .filter(|(_, stored)| stored.to_lowercase() == proved)
        .map(|(id, _)| id)
        .collect();
    ids.dedup();
    Ok(ids)
}

/// Deletes the user (with its addresses and every row referencing it) when
/// it is a placeholder with no membership row, judged after locking its
/// row (see `conn::lock_user_row`); whether it did.
pub(crate) fn delete_placeholder_if_unused(
    conn: &mut DbConn,
    user_id: &str,
) -> Result<bool, DbError> {
    if !super::conn::lock_placeholder_row(conn, user_id)? {
        return Ok(false);
    }
    let rows: i64 = memberships::table
        .filter(memberships::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    if rows > 0 {
        return Ok(false);
    }
    delete_placeholder(conn, user_id)
}

/// Deletes every placeholder with no membership row (each judged as
/// [`delete_placeholder_if_unused`] does); how many.
pub(crate) fn purge_unused_placeholders(conn: &mut DbConn) -> Result<usize, DbError> {
    let candidates: Vec<String> = users::table
        .filter(users::status.eq(UserStatus::Invited.as_str()))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            memberships::table.filter(memberships::user_id.eq(users::id)),
        )))
        .order(users::id.asc())
        .select(users::id)
        .load(conn)?;
    let mut deleted = 0;
    for id in &candidates {
        if delete_placeholder_if_unused(conn, id)? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Deletes the user when it is a placeholder, whatever rows it has (they
/// go with it); whether it did. Any other user is left whole: its rows
/// and addresses are touched only once it is known to be a placeholder.
pub(crate) fn delete_placeholder(conn: &mut DbConn, user_id: &str) -> Result<bool, DbError> {
    let status: Option<String> =
        load(conn, users::table.find(user_id).select(users::status))?.pop();
    if status.as_deref().and_then(UserStatus::parse) != Some(UserStatus::Invited) {
        return Ok(false);
    }
    diesel::delete(memberships::table.filter(memberships::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(user_emails::table.filter(user_emails::user_id.eq(user_id))).execute(conn)?;
    let deleted = diesel::delete(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::status.eq(UserStatus::Invited.as_str())),
    )
    .execute(conn)?;
    Ok(deleted == 1)
}

/// Whether the user with this gid exists and is active.
pub(crate) fn is_active(conn: &mut DbConn, user_id: &str) -> Result<bool, DbError> {
    let status: Option<String> =
        load(conn, users::table.find(user_id).select(users::status))?.pop();
    Ok(status.as_deref() == Some(accountd_domain::UserStatus::Active.as_str()))
}

/// Makes `email` the primary address (position 0) of `user_id` while its
/// credential version is still `expected_version`, keeping the version;
/// whether it was.
pub(crate) fn set_primary_email(
    conn: &mut DbConn,
    user_id: &str,
    expected_version: i64,
    email: &Email,
) -> Result<bool, DbError> {
    // A no-op update: checks the version and locks the row.
    let held = diesel::update(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::credential_version.eq(expected_version)),
    )
    .set(users::credential_version.eq(users::credential_version))
    .execute(conn)?;
    if held != 1 {
        return Ok(false);
    }
    put_primary_email(conn, user_id, email)?;
    Ok(true)
}

/// Writes `email` at position 0 of `user_id`'s addresses, dropping the
/// entry it replaces and any other entry of the same address; the other
/// addresses keep their places. Every membership row of the user then
/// notifies the new primary address (spec section 6: a row's notification
/// address follows the member's primary address).
pub(crate) fn put_primary_email(
    conn: &mut DbConn,
    user_id: &str,
    email: &Email,
) -> Result<(), DbError> {
    let key = email.key();
    diesel::delete(
        user_emails::table
            .filter(user_emails::user_id.eq(user_id))
            .filter(
                user_emails::position
                    .eq(0)
                    .or(user_emails::email_key.eq(&key)),
            ),
    )
    .execute(conn)?;
    diesel::insert_into(user_emails::table)
        .values(&EmailRow {
            user_id: user_id.to_owned(),
            position: 0,
            email: email.as_str().to_owned(),
            email_key: key,
        })
        .execute(conn)?;
    diesel::update(memberships::table.filter(memberships::user_id.eq(user_id)))
        .set(memberships::notify_email.eq(email.as_str()))
        .execute(conn)?;
    Ok(())
}
