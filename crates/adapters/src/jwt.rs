//! Session tokens: JWT, HS256 under a key derived from the server secret
//! (the default), or EdDSA under Ed25519 signing keys that carry a `kid`
//! and whose public halves are published as a JWKS (RFC 8037 OKP keys).
//!
//! With EdDSA the keys form a ring of [`SigningKeyRecord`]s (stored in the
//! database, or one key from `ACCOUNTD_JWT_PRIVATE_KEY`). Each key is
//! published from its creation and signs from its `signs_from`; the key
//! that signs is the one with the latest `signs_from` that has come. A key
//! retires when the next key starts signing, and stays published (and
//! verifying) for the token lifetime after that, so its last token can
//! expire; then it is dropped.

use accountd_domain::{Timestamp, UserId};
use accountd_ports::{PublishedKey, PublishedKeys, TokenClaims, TokenError, TokenService};
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    exp: i64,
    jti: String,
    ver: i64,
    /// Seconds since the epoch of the last credential proof; absent in
    /// tokens issued before the claim existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
}

/// Why an Ed25519 key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not a PEM `PRIVATE KEY` block holding a PKCS#8 Ed25519 key.
    #[error("must be an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----, e.g. from `openssl genpkey -algorithm ed25519`)")]
    NotEd25519Pem,
    /// Stored key bytes that are not a PKCS#8 Ed25519 key.
    #[error("stored signing key {kid} is not a PKCS#8 Ed25519 key")]
    Corrupt {
        /// The key's id.
        kid: String,
    },
    /// The key could not be encoded (never expected).
    #[error("cannot encode an Ed25519 key as PKCS#8")]
    Encode,
}

/// An Ed25519 signing key and its key id. `Debug` shows the id only.
#[derive(Clone)]
pub struct Ed25519Key {
    signing: ed25519_dalek::SigningKey,
    kid: String,
    x: String,
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Key")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Ed25519Key {
    fn from_signing(signing: ed25519_dalek::SigningKey) -> Self {
        let x = b64url(signing.verifying_key().as_bytes());
        // RFC 7638 thumbprint: SHA-256 of the required members in
        // lexicographic order, no whitespace.
        let thumbprint = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = b64url(&Sha256::digest(thumbprint.as_bytes()));
        Self { signing, kid, x }
    }

    /// A new random key (from the operating system's generator).
    pub fn generate() -> Self {
        Self::from_signing(ed25519_dalek::SigningKey::from_bytes(&rand::random()))
    }

    /// The key of a PKCS#8 PEM text (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(text.trim())
            .map(Self::from_signing)
            .map_err(|_| KeyError::NotEd25519Pem)
    }

    /// The key of PKCS#8 DER bytes, as stored.
    pub(crate) fn from_pkcs8_der(der: &[u8], kid: &str) -> Result<Self, KeyError> {
        let key = ed25519_dalek::SigningKey::from_pkcs8_der(der)
            .map(Self::from_signing)
            .map_err(|_| KeyError::Corrupt {
                kid: kid.to_owned(),
            })?;
        if key.kid == kid {
            Ok(key)
        } else {
            Err(KeyError::Corrupt {
                kid: kid.to_owned(),
            })
        }
    }

    /// PKCS#8 DER bytes (zeroized when dropped).
    pub(crate) fn to_pkcs8_der(&self) -> Result<ed25519_dalek::pkcs8::SecretDocument, KeyError> {
        self.signing.to_pkcs8_der().map_err(|_| KeyError::Encode)
    }

    /// The key id: the RFC 7638 JWK thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key, base64url without padding (the JWK's `x`).
    pub fn x(&self) -> &str {
        &self.x
    }
}

/// A signing key with its schedule.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    /// The key.
    pub key: Ed25519Key,
    /// When it was created (published from then).
    pub created_at: Timestamp,
    /// When it starts signing.
    pub signs_from: Timestamp,
}

impl SigningKeyRecord {
    /// When the key retires among `all` (the keys of one ring): the
    /// `signs_from` of the first key that signs after it, if any.
    pub fn retires_at(&self, all: &[SigningKeyRecord]) -> Option<Timestamp> {
        all.iter()
            .map(|r| r.signs_from)
            .filter(|t| *t > self.signs_from)
            .min()
    }

    /// Whether tokens it signed may still be valid at `now`, with tokens
    /// living `ttl_seconds`.
    pub fn is_published(&self, all: &[SigningKeyRecord], now: Timestamp, ttl_seconds: i64) -> bool {
        self.retires_at(all)
            .is_none_or(|retired| now < retired.plus_seconds(ttl_seconds))
    }
}

/// One key of the ring, ready to sign and verify.
struct RingKey {
    kid: String,
    x: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    signs_from: Timestamp,
    retires_at: Option<Timestamp>,
}

/// The EdDSA keys, ordered by `signs_from`, then `kid`.
#[derive(Default)]
struct Ring(Vec<RingKey>);

impl Ring {
    fn build(records: &[SigningKeyRecord]) -> Result<Self, KeyError> {
        let mut keys = Vec::with_capacity(records.len());
        for r in records {
            let der = r.key.to_pkcs8_der()?;
            keys.push(RingKey {
                kid: r.key.kid.clone(),
                x: r.key.x.clone(),
                encoding: EncodingKey::from_ed_der(der.as_bytes()),
                decoding: DecodingKey::from_ed_der(r.key.signing.verifying_key().as_bytes()),
                signs_from: r.signs_from,
                retires_at: r.retires_at(records),
            });
        }
        keys.sort_by(|a, b| (a.signs_from, &a.kid).cmp(&(b.signs_from, &b.kid)));
        Ok(Self(keys))
    }

    /// The key that signs at `now`.
    fn signer(&self, now: Timestamp) -> Option<&RingKey> {
        self.0.iter().rev().find(|k| k.signs_from <= now)
    }

    fn published(&self, now: Timestamp, ttl_seconds: i64) -> impl Iterator<Item = &RingKey> {
        self.0.iter().filter(move |k| {
            k.retires_at
                .is_none_or(|retired| now < retired.plus_seconds(ttl_seconds))
        })
    }
}

#[derive(Clone)]
enum Keys {
    Hs256 {
        encoding: EncodingKey,
        decoding: DecodingKey,
    },
    EdDsa(Arc<RwLock<Ring>>),
}

/// Issues and verifies tokens. The verifier accepts the configured
/// algorithm only (HS256, or EdDSA with a `kid` of a published key), with
/// the configured issuer and audience, and checks `exp` against the clock
/// it is given (no leeway).
#[derive(Clone)]
pub struct JwtTokens {
    keys: Keys,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_seconds: i64,
}

impl fmt::Debug for JwtTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtTokens")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl_seconds", &self.ttl_seconds)
            .finish_non_exhaustive()
    }
}

fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.leeway = 0;
    validation.validate_exp = false;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

impl JwtTokens {
    /// HS256 tokens signed with `key` (derived from the server secret).
    pub fn new(key: &[u8; 32], issuer: &str, audience: &str, ttl_seconds: i64) -> Self {
        Self {
            keys: Keys::Hs256 {
                encoding: EncodingKey::from_secret(key),
                decoding: DecodingKey::from_secret(key),
            },
            validation: validation(Algorithm::HS256, issuer, audience),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_seconds,
        }
    }

    /// EdDSA tokens under the ring of `keys` (see the module's doc).
    pub fn eddsa(
        keys: &[SigningKeyRecord],
        issuer: &str,
        audience: &str,
        ttl_seconds: i64,
    ) -> Result<Self, KeyError> {
        Ok(Self {
            keys: Keys::EdDsa(Arc::new(RwLock::new(Ring::build(keys)?))),
            validation: validation(Algorithm::EdDSA, issuer, audience),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_seconds,
        })
    }

    /// Replaces the EdDSA ring (every clone of this value sees it); nothing
    /// with HS256.
    pub fn replace_keys(&self, keys: &[SigningKeyRecord]) -> Result<(), KeyError> {
        if let Keys::EdDsa(ring) = &self.keys {
            let fresh = Ring::build(keys)?;
            *ring.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        }
        Ok(())
    }

    /// The JWKS keys at `now`: every key whose tokens may still be valid,
    /// ordered by when they sign; none with HS256.
    pub fn published_at(&self, now: Timestamp) -> Vec<PublishedKey> {
        match &self.keys {
            Keys::Hs256 { .. } => Vec::new(),
            Keys::EdDsa(ring) => ring
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .published(now, self.ttl_seconds)
                .map(|k| PublishedKey {
                    kid: k.kid.clone(),
                    x: k.x.clone(),
                })
                .collect(),
        }
    }

    /// The `kid` new tokens carry at `now` (EdDSA only).
    pub fn signing_kid(&self, now: Timestamp) -> Option<String> {
        match &self.keys {
            Keys::Hs256 { .. } => None,
            Keys::EdDsa(ring) => ring
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .signer(now)
                .map(|k| k.kid.clone()),
        }
    }

    fn sign(&self, claims: &Claims, now: Timestamp) -> Result<String, TokenError> {
        let signed = match &self.keys {
            Keys::Hs256 { encoding, .. } => {
                encode(&Header::new(Algorithm::HS256), claims, encoding)
            }
            Keys::EdDsa(ring) => {
                let ring = ring.read().unwrap_or_else(PoisonError::into_inner);
                let key = ring.signer(now).ok_or_else(|| {
                    TokenError::Unexpected(anyhow::anyhow!("no Ed25519 signing key is active"))
                })?;
                let mut header = Header::new(Algorithm::EdDSA);
                header.kid = Some(key.kid.clone());
                encode(&header, claims, &key.encoding)
            }
        };
        signed.map_err(|e| TokenError::Unexpected(anyhow::Error::new(e).context("sign a token")))
    }

    fn check(&self, token: &str, now: Timestamp) -> Result<Claims, TokenError> {
        let decoded = match &self.keys {
            Keys::Hs256 { decoding, .. } => decode::<Claims>(token, decoding, &self.validation),
            Keys::EdDsa(ring) => {
                // Only the `kid` is read from the header before the
                // signature is checked; the algorithm is pinned by
                // `validation`, whatever the header says.
                let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
                let kid = header.kid.ok_or(TokenError::Invalid)?;
                let ring = ring.read().unwrap_or_else(PoisonError::into_inner);
                let key = ring
                    .published(now, self.ttl_seconds)
                    .find(|k| k.kid == kid)
                    .ok_or(TokenError::Invalid)?;
                decode::<Claims>(token, &key.decoding, &self.validation)
            }
        };
        decoded.map(|d| d.claims).map_err(|_| TokenError::Invalid)
    }
}

impl PublishedKeys for JwtTokens {
    fn published(&self) -> Vec<PublishedKey> {
        use accountd_ports::Clock;
        self.published_at(crate::SystemClock.now())
    }
}

impl TokenService for JwtTokens {
    fn issue(
        &self,
        user: UserId,
        version: i64,
        auth_time: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<String, TokenError> {
        let iat = now.as_millis().div_euclid(1000);
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user.to_string(),
            iat,
            exp: iat + self.ttl_seconds,
            jti: UserId::from_random_bytes(rand::random()).to_string(),
            ver: version,
            auth_time: auth_time.map(|t| t.as_millis().div_euclid(1000)),
        };
        self.sign(&claims, now)
    }

    fn verify(&self, token: &str, now: Timestamp) -> Result<TokenClaims, TokenError> {
        let claims = self.check(token, now)?;
        if claims.exp <= now.as_millis().div_euclid(1000) {
            return Err(TokenError::Expired);
        }
        let user = UserId::parse(&claims.sub).ok_or(TokenError::Invalid)?;
        Ok(TokenClaims {
            user,
            version: claims.ver,
            auth_time: claims
                .auth_time
                .map(|s| Timestamp::from_millis(s.saturating_mul(1000))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> JwtTokens {
        JwtTokens::new(&[7; 32], "accountd", "accountd", 3600)
    }
    fn user() -> UserId {
        UserId::from_random_bytes([1; 16])
    }
    const NOW: Timestamp = Timestamp::from_millis(1_800_000_000_000);

    fn b64(bytes: &[u8]) -> String {
        use std::fmt::Write;
        // base64url without padding, enough for forging test headers.
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                let _ = out.write_char(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn an_issued_token_verifies_to_its_user_and_version() {
        let t = tokens();
        let token = t
            .issue(user(), 3, Some(NOW.plus_seconds(-60)), NOW)
            .unwrap();
        assert!(!token.starts_with("Bearer"));
        let c = t.verify(&token, NOW.plus_seconds(10)).unwrap();
        assert_eq!(
            c,
            TokenClaims {
                user: user(),
                version: 3,
                auth_time: Some(NOW.plus_seconds(-60)),
            }
        );
    }

    #[test]
    fn a_token_without_auth_time_verifies_without_one() {
        let t = tokens();
        let token = t.issue(user(), 2, None, NOW).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        assert!(!payload.is_empty());
        let c = t.verify(&token, NOW).unwrap();
        assert_eq!(c.auth_time, None);
        // A token of the old shape (no claim at all) is accepted the same way.
        let old = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"iss": "accountd", "aud": "accountd",
                "sub": user().to_string(), "iat": 1, "exp": 1_900_000_000_i64,
                "jti": "j", "ver": 2}),
            &EncodingKey::from_secret(&[7; 32]),
        )
        .unwrap();
        assert_eq!(
            t.verify(&old, NOW).unwrap(),
            TokenClaims {
                user: user(),
                version: 2,
                auth_time: None,
            }
        );
    }

    #[test]
    fn a_token_is_refused_from_its_expiry_on() {
        let t = tokens();
        let token = t.issue(user(), 1, None, NOW).unwrap();
        assert!(t.verify(&token, NOW.plus_seconds(3599)).is_ok());
        assert!(matches!(
            t.verify(&token, NOW.plus_seconds(3600)),
            Err(TokenError::Expired)
        ));
    }

    #[test]
    fn a_token_signed_with_another_key_or_for_another_audience_is_invalid() {
        let token = JwtTokens::new(&[8; 32], "accountd", "accountd", 3600)
            .issue(user(), 1, None, NOW)
            .unwrap();
        assert!(matches!(
            tokens().verify(&token, NOW),
            Err(TokenError::Invalid)
        ));
        let token = JwtTokens::new(&[7; 32], "accountd", "other", 3600)
            .issue(user(), 1, None, NOW)
            .unwrap();
        assert!(matches!(
            tokens().verify(&token, NOW),
            Err(TokenError::Invalid)
        ));
        let token = JwtTokens::new(&[7; 32], "evil", "accountd", 3600)
            .issue(user(), 1, None, NOW)
            .unwrap();
        assert!(matches!(
            tokens().verify(&token, NOW),
            Err(TokenError::Invalid)
        ));
    }

    #[test]
    fn alg_none_and_tampered_tokens_are_invalid() {
        let t = tokens();
        let token = t.issue(user(), 1, None, NOW).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        assert!(matches!(t.verify(&none, NOW), Err(TokenError::Invalid)));
        let hs512 = format!(
            "{}.{}.{}",
            b64(br#"{"alg":"HS512","typ":"JWT"}"#),
            parts[1],
            parts[2]
        );
        assert!(matches!(t.verify(&hs512, NOW), Err(TokenError::Invalid)));
        let mut tampered = token.clone().into_bytes();
        let i = parts[0].len() + 5;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        assert!(matches!(
            t.verify(&String::from_utf8(tampered).unwrap(), NOW),
            Err(TokenError::Invalid)
        ));
        assert!(matches!(t.verify("garbage", NOW), Err(TokenError::Invalid)));
    }

    // ---- EdDSA ----

    fn record(key: &Ed25519Key, created: Timestamp, signs_from: Timestamp) -> SigningKeyRecord {
        SigningKeyRecord {
            key: key.clone(),
            created_at: created,
            signs_from,
        }
    }

    fn eddsa(keys: &[SigningKeyRecord]) -> JwtTokens {
        JwtTokens::eddsa(keys, "accountd", "accountd", 3600).unwrap()
    }

    fn header_of(token: &str) -> serde_json::Value {
        use base64::Engine;
        let head = token.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(head)
                .unwrap(),
        )
        .unwrap()
    }

    /// An RFC 8032 test key (test 1) as PKCS#8 PEM, with its public key.
    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
    const PEM_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn an_eddsa_token_carries_the_kid_and_verifies_with_the_published_key_alone() {
        let key = Ed25519Key::generate();
        let t = eddsa(&[record(&key, NOW, NOW)]);
        let token = t.issue(user(), 4, None, NOW).unwrap();
        assert_eq!(
            header_of(&token),
            serde_json::json!({"typ": "JWT", "alg": "EdDSA", "kid": key.kid()})
        );
        assert_eq!(t.verify(&token, NOW).unwrap().version, 4);
        assert_eq!(
            t.published_at(NOW),
            vec![PublishedKey {
                kid: key.kid().to_owned(),
                x: key.x().to_owned(),
            }]
        );
        // Anyone holding the JWKS entry verifies it without any secret.
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&["accountd"]);
        v.validate_exp = false;
        let public = DecodingKey::from_ed_components(key.x()).unwrap();
        let claims = decode::<serde_json::Value>(&token, &public, &v)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], user().to_string());
        // A key of the same ring shape but another key pair refuses it.
        let other = eddsa(&[record(&Ed25519Key::generate(), NOW, NOW)]);
        assert!(matches!(
            other.verify(&token, NOW),
            Err(TokenError::Invalid)
        ));
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint_and_pem_input_parses() {
        let key = Ed25519Key::from_pem(PEM).unwrap();
        assert_eq!(key.x(), PEM_X);
        // RFC 8037 appendix A.3: the thumbprint of this very key.
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert!(format!("{key:?}").contains(key.kid()));
        assert!(!format!("{key:?}").contains("signing"));
        for bad in [
            "",
            "garbage",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            // An RSA-sized body, and a public key.
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n",
        ] {
            assert_eq!(
                Ed25519Key::from_pem(bad).unwrap_err(),
                KeyError::NotEd25519Pem,
                "{bad:?}"
            );
        }
        // Stored bytes round-trip, and refuse another kid.
        let der = key.to_pkcs8_der().unwrap();
        assert_eq!(
            Ed25519Key::from_pkcs8_der(der.as_bytes(), key.kid())
                .unwrap()
                .x(),
            PEM_X
        );
        assert!(Ed25519Key::from_pkcs8_der(der.as_bytes(), "other").is_err());
        assert!(Ed25519Key::from_pkcs8_der(b"nope", key.kid()).is_err());
    }

    #[test]
    fn a_rotation_signs_with_the_new_key_and_keeps_the_old_one_until_its_tokens_expired() {
        let old = Ed25519Key::generate();
        let new = Ed25519Key::generate();
        let t = eddsa(&[record(&old, NOW, NOW)]);
        let old_token = t.issue(user(), 1, None, NOW).unwrap();
        // Rotated at NOW + 100 s; the new key signs from NOW + 110 s.
        let rotated = NOW.plus_seconds(100);
        let starts = NOW.plus_seconds(110);
        t.replace_keys(&[record(&old, NOW, NOW), record(&new, rotated, starts)])
            .unwrap();
        let kids = |at| -> Vec<String> { t.published_at(at).into_iter().map(|k| k.kid).collect() };
        // Published before it signs.
        assert_eq!(kids(rotated), [old.kid(), new.kid()]);
        assert_eq!(t.signing_kid(rotated).as_deref(), Some(old.kid()));
        assert_eq!(t.signing_kid(starts).as_deref(), Some(new.kid()));
        let new_token = t.issue(user(), 1, None, starts).unwrap();
        assert_eq!(header_of(&new_token)["kid"], new.kid());
        // The old key signed until `starts`; its last token lives 3600 s.
        let last_old = t.issue(user(), 1, None, starts.plus_seconds(-1)).unwrap();
        assert_eq!(header_of(&last_old)["kid"], old.kid());
        let end = starts.plus_seconds(3600);
        assert!(t.verify(&old_token, NOW.plus_seconds(3599)).is_ok());
        // Issued a second before the switch, it expires a second before `end`.
        assert!(t.verify(&last_old, end.plus_seconds(-2)).is_ok());
        assert_eq!(kids(end.plus_seconds(-1)), [old.kid(), new.kid()]);
        // Then the old key is gone: no longer published nor accepted.
        assert_eq!(kids(end), [new.kid()]);
        assert!(matches!(t.verify(&last_old, end), Err(TokenError::Invalid)));
        assert!(t.verify(&new_token, end.plus_seconds(-1)).is_ok());
        let fresh = t.issue(user(), 1, None, end).unwrap();
        assert_eq!(header_of(&fresh)["kid"], new.kid());
        assert!(t.verify(&fresh, end).is_ok());
    }

    #[test]
    fn eddsa_refuses_hs256_confusion_none_and_unknown_or_missing_kids() {
        let key = Ed25519Key::generate();
        let t = eddsa(&[record(&key, NOW, NOW)]);
        let good = t.issue(user(), 1, None, NOW).unwrap();
        let payload = good.split('.').nth(1).unwrap().to_owned();
        let claims = serde_json::json!({"iss": "accountd", "aud": "accountd",
            "sub": user().to_string(), "iat": 1, "exp": 1_900_000_000_i64,
            "jti": "j", "ver": 1});
        // HS256 signed with the public key (raw and as its JWK `x`) as the
        // HMAC secret, with the right kid: the classic confusion attack.
        let public = key.signing.verifying_key().to_bytes();
        for secret in [&public[..], key.x().as_bytes()] {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(key.kid().to_owned());
            let forged = encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
            assert!(matches!(t.verify(&forged, NOW), Err(TokenError::Invalid)));
        }
        // An HS256 token of the server secret (before a switch to EdDSA).
        let hs = tokens().issue(user(), 1, None, NOW).unwrap();
        assert!(matches!(t.verify(&hs, NOW), Err(TokenError::Invalid)));
        // alg none, with and without the kid.
        for head in [
            format!(r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#, key.kid()),
            r#"{"alg":"none"}"#.to_owned(),
        ] {
            let none = format!("{}.{payload}.", b64(head.as_bytes()));
            assert!(matches!(t.verify(&none, NOW), Err(TokenError::Invalid)));
        }
        // The right signature under another or no kid.
        let sig = good.split('.').nth(2).unwrap();
        for head in [
            r#"{"typ":"JWT","alg":"EdDSA","kid":"unknown"}"#.to_owned(),
            r#"{"typ":"JWT","alg":"EdDSA"}"#.to_owned(),
        ] {
            let token = format!("{}.{payload}.{sig}", b64(head.as_bytes()));
            assert!(matches!(t.verify(&token, NOW), Err(TokenError::Invalid)));
        }
        // A token signed by a key of another ring under this ring's kid.
        let stranger = Ed25519Key::generate();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid().to_owned());
        let der = stranger.to_pkcs8_der().unwrap();
        let forged = encode(&header, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap();
        assert!(matches!(t.verify(&forged, NOW), Err(TokenError::Invalid)));
        // And HS256 refuses EdDSA tokens.
        assert!(matches!(
            tokens().verify(&good, NOW),
            Err(TokenError::Invalid)
        ));
        assert!(tokens().published_at(NOW).is_empty());
    }
}
