use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

use crate::CodeMac;

/// Shortest accepted server secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The one server secret from which every other key is derived (HKDF-SHA-256
/// with a distinct label per use), so that a leaked derived key does not
/// reveal the others. `Debug` never shows it.
#[derive(Clone)]
pub struct ServerSecret(Vec<u8>);

/// Why a secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Shorter than 32 bytes.
    #[error("must be at least {min} bytes, got {got}")]
    TooShort {
        /// The minimum.
        min: usize,
        /// What was given.
        got: usize,
    },
}

impl ServerSecret {
    /// Accepts a secret of at least 32 bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, SecretError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort {
                min: MIN_SECRET_BYTES,
                got: bytes.len(),
            });
        }
        Ok(Self(bytes))
    }

    /// The key under which one-time codes are MACed.
    pub fn code_mac_key(&self) -> MacKey {
        MacKey(self.derive(b"accountd/v1/one-time-code-mac"))
    }

    /// The key under which pending outbox bodies are sealed (an AEAD key:
    /// they hold live codes until sent and erased).
    pub fn outbox_key(&self) -> [u8; 32] {
        self.derive(b"accountd/v1/outbox-body-aead")
    }

    /// The HS256 key for session tokens.
    pub fn jwt_key(&self) -> [u8; 32] {
        self.derive(b"accountd/v1/jwt-hs256")
    }

    /// The AEAD key that seals the Ed25519 signing keys stored in the
    /// database (`ACCOUNTD_JWT_ALGORITHM=EdDSA`).
    pub fn jwt_signing_key_seal(&self) -> [u8; 32] {
        self.derive(b"accountd/v1/jwt-signing-key-aead")
    }

    fn derive(&self, label: &[u8]) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(None, &self.0);
        let mut out = [0u8; 32];
        // `expand` only fails for outputs over 255 * 32 bytes; 32 is fixed.
        let _ = hk.expand(label, &mut out);
        out
    }
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(***)")
    }
}

/// An HMAC-SHA-256 key for one-time codes. `Debug` never shows it.
#[derive(Clone)]
pub struct MacKey([u8; 32]);

impl MacKey {
    /// Builds a key from raw bytes (tests, or a service embedding the domain
    /// with its own key management).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// HMAC-SHA-256 over the parts, each prefixed with its length so that
    /// no two different part lists give the same input.
    pub fn mac(&self, parts: &[&[u8]]) -> CodeMac {
        let mut m = match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(m) => m,
            // HMAC accepts keys of any length; this branch is unreachable.
            Err(_) => return CodeMac::from_bytes([0u8; 32]),
        };
        for part in parts {
            m.update(&(part.len() as u64).to_be_bytes());
            m.update(part);
        }
        CodeMac::from_bytes(m.finalize().into_bytes().into())
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_under_32_bytes_is_refused() {
        assert_eq!(
            ServerSecret::new(vec![1; 31]).err(),
            Some(SecretError::TooShort { min: 32, got: 31 })
        );
        assert!(ServerSecret::new(vec![1; 32]).is_ok());
    }

    #[test]
    fn derived_keys_differ_per_use_and_per_secret() {
        let a = ServerSecret::new(vec![1; 32]).unwrap();
        let b = ServerSecret::new(vec![2; 32]).unwrap();
        assert_ne!(a.jwt_key(), b.jwt_key());
        let ma = a.code_mac_key().mac(&[b"x"]);
        let mb = b.code_mac_key().mac(&[b"x"]);
        assert_ne!(ma, mb);
        assert_ne!(ma.as_bytes(), &a.jwt_key());
        let keys = [a.jwt_key(), a.outbox_key(), a.jwt_signing_key_seal()];
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
        assert_ne!(a.jwt_signing_key_seal(), b.jwt_signing_key_seal());
    }

    #[test]
    fn macs_are_length_prefixed_so_parts_cannot_be_shifted() {
        let k = MacKey::from_bytes([7; 32]);
        assert_ne!(k.mac(&[b"ab", b"c"]), k.mac(&[b"a", b"bc"]));
        assert_eq!(k.mac(&[b"ab", b"c"]), k.mac(&[b"ab", b"c"]));
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let s = ServerSecret::new(vec![0x41; 32]).unwrap();
        assert_eq!(format!("{s:?}"), "ServerSecret(***)");
        assert_eq!(format!("{:?}", s.code_mac_key()), "MacKey(***)");
    }
}
