//! Session tokens: JWT with HS256 under a key derived from the server secret.

use accountd_domain::{Timestamp, UserId};
use accountd_ports::{TokenClaims, TokenError, TokenService};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fmt;

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

/// Issues and verifies HS256 tokens. The verifier accepts HS256 only, with
/// the configured issuer and audience, and checks `exp` against the clock
/// it is given (no leeway).
#[derive(Clone)]
pub struct JwtTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
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

impl JwtTokens {
    /// Tokens signed with `key` (derived from the server secret).
    pub fn new(key: &[u8; 32], issuer: &str, audience: &str, ttl_seconds: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 0;
        validation.validate_exp = false;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_seconds,
        }
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
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Unexpected(anyhow::Error::new(e).context("sign a token")))
    }

    fn verify(&self, token: &str, now: Timestamp) -> Result<TokenClaims, TokenError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.exp <= now.as_millis().div_euclid(1000) {
            return Err(TokenError::Expired);
        }
        let user = UserId::parse(&data.claims.sub).ok_or(TokenError::Invalid)?;
        Ok(TokenClaims {
            user,
            version: data.claims.ver,
            auth_time: data
                .claims
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
}
