//! Outbox bodies sealed at rest: a pending message's body holds a live
//! code, so it is stored encrypted with XChaCha20-Poly1305 (an AEAD) under
//! a key derived from the server secret (`ServerSecret::outbox_key`), and
//! opened only by the dispatcher that sends it; once sent or given up the
//! body is erased. The recipient and subject are bound in as associated
//! data, so a body moved to a row of another recipient or subject does not
//! open.
//!
//! Stored form: base64 (standard, no padding) of the 24-byte random nonce
//! followed by the ciphertext and its tag; the row's `body_sealed` says a
//! body is sealed (rows queued before sealing existed are not, and are
//! sent as stored).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;

/// The key and cipher for outbox bodies. `Debug` shows nothing of the key.
#[derive(Clone)]
pub(crate) struct OutboxSeal(XChaCha20Poly1305);

impl fmt::Debug for OutboxSeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutboxSeal(***)")
    }
}

/// A body that does not open under this key: sealed under another server
/// secret, or altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sealed body does not open (another server secret, or altered)")]
pub(crate) struct Unopenable;

/// A body too large to seal (over 256 GiB): never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the body cannot be sealed")]
pub(crate) struct Unsealable;

const NONCE_BYTES: usize = 24;

/// The associated data of a row's body.
fn aad(recipient: &str, subject: &str) -> Vec<u8> {
    let mut v = b"accountd/v1/outbox-body\0".to_vec();
    v.extend_from_slice(recipient.as_bytes());
    v.push(0);
    v.extend_from_slice(subject.as_bytes());
    v
}

/// `msg` sealed under `cipher` with `aad`, in the stored form: a fresh
/// random nonce, then the ciphertext and tag, as base64.
fn seal_bytes(cipher: &XChaCha20Poly1305, aad: &[u8], msg: &[u8]) -> Result<String, Unsealable> {
    use base64::Engine;
    let nonce: [u8; NONCE_BYTES] = rand::random();
    // Encryption fails only for plaintexts of more than 256 GiB; such a
    // value fails its transaction rather than be stored unopenable.
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg, aad })
        .map_err(|_| Unsealable)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(out))
}

/// What [`seal_bytes`] sealed with `aad`, or [`Unopenable`].
fn open_bytes(cipher: &XChaCha20Poly1305, aad: &[u8], stored: &str) -> Result<Vec<u8>, Unopenable> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(stored)
        .map_err(|_| Unopenable)?;
    if bytes.len() < NONCE_BYTES {
        return Err(Unopenable);
    }
    let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad })
        .map_err(|_| Unopenable)
}

impl OutboxSeal {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Self(XChaCha20Poly1305::new(key.into()))
    }

    /// `text` sealed for the row to `recipient` with `subject`.
    pub(crate) fn seal(
        &self,
        recipient: &str,
        subject: &str,
        text: &str,
    ) -> Result<String, Unsealable> {
        seal_bytes(&self.0, &aad(recipient, subject), text.as_bytes())
    }

    /// The text of a body [`OutboxSeal::seal`] sealed for this row.
    pub(crate) fn open(
        &self,
        recipient: &str,
        subject: &str,
        stored: &str,
    ) -> Result<String, Unopenable> {
        let text = open_bytes(&self.0, &aad(recipient, subject), stored)?;
        String::from_utf8(text).map_err(|_| Unopenable)
    }
}

/// The Ed25519 signing keys stored in `jwt_keys`: each private key (PKCS#8
/// DER) sealed like an outbox body, under a key of its own
/// (`ServerSecret::jwt_signing_key_seal`), with the key's `kid` bound in as
/// associated data, so a sealed key moved to another row does not open.
#[derive(Clone)]
pub(crate) struct SigningKeySeal(XChaCha20Poly1305);

impl fmt::Debug for SigningKeySeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKeySeal(***)")
    }
}

fn key_aad(kid: &str) -> Vec<u8> {
    let mut v = b"accountd/v1/jwt-signing-key\0".to_vec();
    v.extend_from_slice(kid.as_bytes());
    v
}

impl SigningKeySeal {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Self(XChaCha20Poly1305::new(key.into()))
    }

    /// `der` sealed for the row of `kid`.
    pub(crate) fn seal(&self, kid: &str, der: &[u8]) -> Result<String, Unsealable> {
        seal_bytes(&self.0, &key_aad(kid), der)
    }

    /// The DER bytes [`SigningKeySeal::seal`] sealed for `kid` (zeroized
    /// when dropped).
    pub(crate) fn open(
        &self,
        kid: &str,
        stored: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, Unopenable> {
        open_bytes(&self.0, &key_aad(kid), stored).map(zeroize::Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_body_opens_only_under_its_key_for_its_row() {
        let seal = OutboxSeal::new(&[7; 32]);
        let text = "Hello,\n\n482901\n";
        let stored = seal.seal("ann@example.com", "Your code", text).unwrap();
        assert!(!stored.contains("482901"));
        assert_eq!(
            seal.open("ann@example.com", "Your code", &stored).unwrap(),
            text
        );
        // Two seals of one text differ (fresh nonce each).
        assert_ne!(
            stored,
            seal.seal("ann@example.com", "Your code", text).unwrap()
        );
        // Another key, another row, or an altered body: refused.
        let other = OutboxSeal::new(&[8; 32]);
        assert_eq!(
            other.open("ann@example.com", "Your code", &stored),
            Err(Unopenable)
        );
        assert_eq!(
            seal.open("bob@example.com", "Your code", &stored),
            Err(Unopenable)
        );
        let mut altered = stored.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(
            seal.open("ann@example.com", "Your code", &altered),
            Err(Unopenable)
        );
        assert_eq!(
            seal.open("ann@example.com", "Your code", "short"),
            Err(Unopenable)
        );
    }

    #[test]
    fn a_sealed_signing_key_opens_only_under_its_key_for_its_kid() {
        let seal = SigningKeySeal::new(&[7; 32]);
        let stored = seal.seal("kid-a", b"der bytes").unwrap();
        assert_eq!(
            seal.open("kid-a", &stored).unwrap().as_slice(),
            b"der bytes"
        );
        assert_eq!(seal.open("kid-b", &stored), Err(Unopenable));
        assert_eq!(
            SigningKeySeal::new(&[8; 32]).open("kid-a", &stored),
            Err(Unopenable)
        );
        // Not interchangeable with an outbox body under the same key.
        assert!(OutboxSeal::new(&[7; 32])
            .open("kid-a", "", &stored)
            .is_err());
        assert_eq!(format!("{seal:?}"), "SigningKeySeal(***)");
    }

    #[test]
    fn debug_shows_nothing_of_the_key() {
        assert_eq!(
            format!("{:?}", OutboxSeal::new(&[7; 32])),
            "OutboxSeal(***)"
        );
    }
}
