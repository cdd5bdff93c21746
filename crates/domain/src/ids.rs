use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Builds the id from 16 random bytes (a version-4 UUID). The
            /// caller draws the bytes: the domain has no randomness.
            pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }

            /// Parses the lower- or upper-case hyphenated form.
            pub fn parse(text: &str) -> Option<Self> {
                Uuid::try_parse(text).ok().map(Self)
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        /// The lower-case hyphenated form (a Unicat "gid").
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }
    };
}

uuid_id!(
    /// A user's gid.
    UserId
);
uuid_id!(
    /// A challenge's id.
    ChallengeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_prints_as_a_lower_case_hyphenated_v4_uuid_and_parses_back() {
        let id = UserId::from_random_bytes([0xAB; 16]);
        let text = id.to_string();
        assert_eq!(text, "abababab-abab-4bab-abab-abababababab");
        assert_eq!(UserId::parse(&text), Some(id));
        assert_eq!(UserId::parse("not-a-uuid"), None);
    }
}
