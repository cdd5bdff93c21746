use crate::{Email, PasswordHash, Timestamp, UserId, Username};

/// A user's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// A normal account.
    Active,
    /// A placeholder created by an invitation: no credentials yet.
    Invited,
    /// Deleted: no credentials, no sessions.
    Deleted,
}

impl UserStatus {
    /// The storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Invited => "invited",
            Self::Deleted => "deleted",
        }
    }

    /// Parses the storage name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "invited" => Some(Self::Invited),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// A user as stored: 0..n email addresses, a status, and a credential
/// version that every password change bumps (so older tokens are refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The gid.
    pub id: UserId,
    /// `None` only for invited placeholders.
    pub username: Option<Username>,
    /// Every address of the account, in the order they were added.
    pub emails: Vec<Email>,
    /// Active, invited or deleted.
    pub status: UserStatus,
    /// Bumped by every password change, reset or deletion.
    pub credential_version: i64,
    /// `None` for accounts without a password (placeholders, deleted).
    pub password_hash: Option<PasswordHash>,
    /// Display name, possibly empty.
    pub name: String,
    /// UI and mail language (ISO 639-1).
    pub language: String,
    /// IANA time zone.
    pub timezone: String,
    /// When the account was created.
    pub created_at: Timestamp,
}

impl User {
    /// Whether the account can log in and reset its password.
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    /// The same account with a new password: the credential version is
    /// bumped, so every token issued before is refused.
    #[must_use]
    pub fn with_password(self, hash: PasswordHash) -> Self {
        Self {
            password_hash: Some(hash),
            credential_version: self.credential_version + 1,
            ..self
        }
    }

    /// The same account deleted (Unicat `account/delete`): status
    /// `deleted`, no password hash, no name, no address, and the credential
    /// version bumped so every token issued before is refused. The username
    /// stays, so it stays reserved; language, time zone and creation time
    /// stay as they were.
    #[must_use]
    pub fn deleted(self) -> Self {
        Self {
            status: UserStatus::Deleted,
            password_hash: None,
            name: String::new(),
            emails: Vec::new(),
            credential_version: self.credential_version + 1,
            ..self
        }
    }

    /// The username as text, empty for placeholders.
    pub fn username_str(&self) -> &str {
        self.username.as_ref().map_or("", Username::as_str)
    }
}

/// Everything needed to create an active account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The gid, drawn by the caller.
    pub id: UserId,
    /// The account name.
    pub username: Username,
    /// Addresses, possibly none.
    pub emails: Vec<Email>,
    /// Display name.
    pub name: String,
    /// The hash of the initial password.
    pub password_hash: PasswordHash,
    /// UI and mail language.
    pub language: String,
    /// IANA time zone.
    pub timezone: String,
    /// Creation time.
    pub created_at: Timestamp,
}

impl NewUser {
    /// The stored form of this new account.
    pub fn into_user(self) -> User {
        User {
            id: self.id,
            username: Some(self.username),
            emails: self.emails,
            status: UserStatus::Active,
            credential_version: 1,
            password_hash: Some(self.password_hash),
            name: self.name,
            language: self.language,
            timezone: self.timezone,
            created_at: self.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_storage_names() {
        for s in [UserStatus::Active, UserStatus::Invited, UserStatus::Deleted] {
            assert_eq!(UserStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(UserStatus::parse("ACTIVE"), None);
    }

    #[test]
    fn a_new_password_bumps_the_credential_version_and_keeps_the_rest() {
        let user = NewUser {
            id: UserId::from_random_bytes([3; 16]),
            username: Username::parse("ann").unwrap(),
            emails: Vec::new(),
            name: "Ann".to_owned(),
            password_hash: PasswordHash::new("old".to_owned()),
            language: "en".to_owned(),
            timezone: "UTC".to_owned(),
            created_at: Timestamp::from_millis(5),
        }
        .into_user();
        let changed = user
            .clone()
            .with_password(PasswordHash::new("new".to_owned()));
        assert_eq!(changed.credential_version, user.credential_version + 1);
        assert_eq!(
            changed.password_hash,
            Some(PasswordHash::new("new".to_owned()))
        );
        assert_eq!(
            User {
                password_hash: user.password_hash.clone(),
                credential_version: user.credential_version,
                ..changed
            },
            user
        );
    }

    #[test]
    fn a_deleted_account_keeps_only_its_username_and_settings_and_refuses_older_tokens() {
        let user = NewUser {
            id: UserId::from_random_bytes([3; 16]),
            username: Username::parse("Ann").unwrap(),
            emails: vec![
                Email::parse("ann@example.com").unwrap(),
                Email::parse("a.lee@work.example").unwrap(),
            ],
            name: "Ann Lee".to_owned(),
            password_hash: PasswordHash::new("hash".to_owned()),
            language: "nl".to_owned(),
            timezone: "Europe/Amsterdam".to_owned(),
            created_at: Timestamp::from_millis(5),
        }
        .into_user();
        let deleted = user.clone().deleted();
        assert_eq!(
            deleted,
            User {
                id: user.id,
                username: Some(Username::parse("Ann").unwrap()),
                emails: Vec::new(),
                status: UserStatus::Deleted,
                credential_version: 2,
                password_hash: None,
                name: String::new(),
                language: "nl".to_owned(),
                timezone: "Europe/Amsterdam".to_owned(),
                created_at: Timestamp::from_millis(5),
            }
        );
        assert!(!deleted.is_active());
    }
}
