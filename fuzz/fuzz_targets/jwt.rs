//! Arbitrary tokens through the verifier: a token the fuzzer made up is
//! never accepted; a token it signed with the key is accepted only when
//! its header pins HS256 and its claims are all there and right; a token
//! the service issued verifies until its `exp` and not from then on.
#![no_main]

use accountd_adapters::JwtTokens;
use accountd_domain::{Timestamp, UserId};
use accountd_ports::{TokenError, TokenService};
use arbitrary::Arbitrary;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const KEY: [u8; 32] = [7; 32];
const TTL: i64 = 3600;
// 2027-01-15, in seconds.
const NOW_SECONDS: i64 = 1_800_000_000;

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    Raw(&'a str),
    Signed {
        header: &'a str,
        claims: &'a str,
    },
    Issued {
        user: [u8; 16],
        version: i64,
        auth_time: Option<u32>,
        after: u16,
    },
}

fn sign(header: &str, claims: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&KEY) else {
        unreachable!("HMAC takes any key length");
    };
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fuzz_target!(|input: Input<'_>| {
    let tokens = JwtTokens::new(&KEY, "accountd", "accountd", TTL);
    let now = Timestamp::from_millis(NOW_SECONDS * 1000);
    match input {
        Input::Raw(token) => {
            assert!(
                tokens.verify(token, now).is_err(),
                "a made-up token verified"
            );
        }
        Input::Signed { header, claims } => {
            let Ok(verified) = tokens.verify(&sign(header, claims), now) else {
                return;
            };
            let header: Value = serde_json::from_str(header).unwrap_or_default();
            assert_eq!(header["alg"], "HS256");
            let claims: Value = serde_json::from_str(claims).unwrap_or_default();
            assert_eq!(claims["iss"], "accountd");
            assert!(
                claims["aud"] == "accountd"
                    || claims["aud"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|v| v == "accountd"))
            );
            assert!(claims["exp"].as_i64().is_some_and(|exp| exp > NOW_SECONDS));
            assert_eq!(
                claims["sub"].as_str().and_then(UserId::parse),
                Some(verified.user)
            );
            assert_eq!(claims["ver"].as_i64(), Some(verified.version));
        }
        Input::Issued {
            user,
            version,
            auth_time,
            after,
        } => {
            let user = UserId::from_random_bytes(user);
            let auth_time = auth_time.map(|s| Timestamp::from_millis(i64::from(s) * 1000));
            let Ok(token) = tokens.issue(user, version, auth_time, now) else {
                panic!("issuing failed");
            };
            let later = now.plus_seconds(i64::from(after));
            match tokens.verify(&token, later) {
                Ok(claims) => {
                    assert!(i64::from(after) < TTL);
                    assert_eq!(claims.user, user);
                    assert_eq!(claims.version, version);
                    assert_eq!(claims.auth_time, auth_time);
                }
                Err(TokenError::Expired) => assert!(i64::from(after) >= TTL),
                Err(e) => panic!("an issued token was refused: {e}"),
            }
        }
    }
});
