//! The revert tokens of email changes (stored only as MACs) and the revert
//! itself.

use super::conn::DbConn;
use super::schema::{email_reverts, users};
use super::{users as user_rows, Database, DbError};
use accountd_domain::{CodeMac, Email, EmailRevert, Timestamp, UserId};
use accountd_ports::StoreError;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = email_reverts)]
pub(crate) struct EmailRevertRow {
    pub token_mac: Vec<u8>,
    pub user_id: String,
    pub restore_email: String,
    pub replaced_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub spent_at: Option<i64>,
}

impl EmailRevertRow {
    fn from_revert(r: &EmailRevert) -> Self {
        Self {
            token_mac: r.mac().as_bytes().to_vec(),
            user_id: r.user().to_string(),
            restore_email: r.restores().as_str().to_owned(),
            replaced_by: r.replaced_by().as_str().to_owned(),
            created_at: r.created_at().as_millis(),
            expires_at: r.expires_at().as_millis(),
            spent_at: r.spent_at().map(Timestamp::as_millis),
        }
    }

    fn into_revert(self) -> Result<EmailRevert, DbError> {
        let corrupt =
            |what: &str| DbError::Corrupt(format!("email_reverts.{what} of {}", self.user_id));
        Ok(EmailRevert::restore_stored(
            CodeMac::from_slice(&self.token_mac).ok_or_else(|| corrupt("token_mac"))?,
            UserId::parse(&self.user_id).ok_or_else(|| corrupt("user_id"))?,
            Email::parse(&self.restore_email).map_err(|_| corrupt("restore_email"))?,
            Email::parse(&self.replaced_by).map_err(|_| corrupt("replaced_by"))?,
            Timestamp::from_millis(self.created_at),
            Timestamp::from_millis(self.expires_at),
            self.spent_at.map(Timestamp::from_millis),
        ))
    }
}

impl Database {
    /// `UserRepository::find_email_revert`.
    pub(crate) async fn email_revert(
        &self,
        token_mac: CodeMac,
    ) -> Result<Option<EmailRevert>, StoreError> {
        self.run(move |c| by_mac(c, token_mac.as_bytes())).await
    }
}

/// The token stored under `mac`, in any state.
pub(crate) fn by_mac(conn: &mut DbConn, mac: &[u8]) -> Result<Option<EmailRevert>, DbError> {
    let row: Option<EmailRevertRow> = email_reverts::table
        .filter(email_reverts::token_mac.eq(mac))
        .select(EmailRevertRow::as_select())
        .load(conn)?
        .pop();
    row.map(EmailRevertRow::into_revert).transpose()
}

/// Stores a new token (inside the caller's transaction).
pub(crate) fn insert(conn: &mut DbConn, revert: &EmailRevert) -> Result<(), DbError> {
    diesel::insert_into(email_reverts::table)
        .values(&EmailRevertRow::from_revert(revert))
        .execute(conn)?;
    Ok(())
}

/// What a revert came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reverted {
    /// Every token of the account spent, the address restored, the
    /// credential version bumped.
    Done,
    /// The token is not stored for this user, or is spent or expired.
    TokenUnusable,
    /// The user is gone or no longer active.
    UserInactive,
}

/// Spends the token `mac` of `user` while it is unspent and unexpired at
/// `now` (a conditional update: of parallel reverts exactly one wins), then
/// every other token of the account, restores `restore` as the primary
/// address and bumps the credential version while the user is active. The
/// caller rolls the transaction back unless the answer is `Done`.
pub(crate) fn revert(
    conn: &mut DbConn,
    user: &str,
    mac: &[u8],
    restore: &Email,
    now: i64,
) -> Result<Reverted, DbError> {
    let won = diesel::update(
        email_reverts::table
            .filter(email_reverts::token_mac.eq(mac))
            .filter(email_reverts::user_id.eq(user))
            .filter(email_reverts::spent_at.is_null())
            .filter(email_reverts::expires_at.gt(now)),
    )
    .set(email_reverts::spent_at.eq(now))
    .execute(conn)?;
    if won != 1 {
        return Ok(Reverted::TokenUnusable);
    }
    diesel::update(
        email_reverts::table
            .filter(email_reverts::user_id.eq(user))
            .filter(email_reverts::spent_at.is_null()),
    )
    .set(email_reverts::spent_at.eq(now))
    .execute(conn)?;
    let bumped = diesel::update(
        users::table
            .filter(users::id.eq(user))
            .filter(users::status.eq("active")),
    )
    .set(users::credential_version.eq(users::credential_version + 1))
    .execute(conn)?;
    if bumped != 1 {
        return Ok(Reverted::UserInactive);
    }
    user_rows::put_primary_email(conn, user, restore)?;
    Ok(Reverted::Done)
}

/// Deletes every token of `user_id`, spent or not (an account deletion:
/// the addresses they hold go with the account's).
pub(crate) fn remove_of(conn: &mut DbConn, user_id: &str) -> Result<(), DbError> {
    diesel::delete(email_reverts::table.filter(email_reverts::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(())
}

/// Deletes every token expired at or before `expired`, and every token
/// spent at or before `spent`; how many.
pub(crate) fn purge(conn: &mut DbConn, expired: i64, spent: i64) -> Result<usize, DbError> {
    Ok(diesel::delete(
        email_reverts::table.filter(
            email_reverts::expires_at
                .le(expired)
                .or(email_reverts::spent_at.le(spent)),
        ),
    )
    .execute(conn)?)
}
