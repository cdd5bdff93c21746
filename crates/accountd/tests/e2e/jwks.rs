//! EdDSA tokens and `GET /.well-known/jwks.json` through the real binary:
//! a token verified by an outsider with the published key alone, `accountd
//! keys rotate` against the same database while a server runs (the new key
//! published first, then signing; the old token still accepted), the
//! algorithm pinned (HS256 tokens, the public key as an HMAC secret, `alg:
//! none`, unknown and missing `kid`: 401), a configured PEM key, and the
//! empty set with HS256.

use crate::support::{Reply, Server, Setup, TestDb, SECRET};
use accountd_testkit::PASSWORD;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Digest;
use std::time::{Duration, Instant};

const PERMISSION_DENIED: &str =
    r#"{"success":false,"result":{"code":401,"message":"Permission denied","info":{}},"data":{}}"#;
const REALM: &str = r#"Bearer realm="JWT access to Unicat.""#;
const JWKS: &str = "/.well-known/jwks.json";

/// RFC 8032 test 1 as PKCS#8 PEM, its `x` and its RFC 7638 thumbprint
/// (RFC 8037 appendix A.3).
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
const PEM_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const PEM_KID: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn login(server: &Server) -> String {
    let reply = server.post_json(
        "/api/login",
        &json!({"username": "ann", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.header("authorization").expect("a token")
}

fn init(server: &Server, token: &str) -> Reply {
    server.get_with(
        "/api/init",
        &[("Authorization", &format!("Bearer {token}"))],
    )
}

#[track_caller]
fn assert_denied(reply: &Reply) {
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (401, PERMISSION_DENIED)
    );
    assert_eq!(reply.header("www-authenticate").as_deref(), Some(REALM));
}

fn header_of(token: &str) -> Value {
    let head = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap()
}

/// The exact JWKS body of these `(kid, x)` keys.
fn jwks_body(keys: &[(&str, &str)]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, x)| {
            json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid,
                "alg": "EdDSA", "use": "sig"})
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

/// The RFC 7638 thumbprint of an Ed25519 `x`, computed here.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    b64(&sha2::Sha256::digest(canonical.as_bytes()))
}

/// The `(kid, x)` of every key the server publishes, checking the body is
/// exactly the OKP key set of them.
fn published(server: &Server) -> Vec<(String, String)> {
    let reply = server.get(JWKS);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/json")
    );
    let keys: Vec<(String, String)> = reply.json()["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["x"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
    assert_eq!(reply.body, jwks_body(&pairs));
    keys
}

/// The claims of `token`, verified as an outsider would: with the
/// published `x` only (no secret), EdDSA pinned.
fn verify_outside(token: &str, x: &str) -> Value {
    let key = jsonwebtoken::DecodingKey::from_ed_components(x).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.set_audience(&["accountd"]);
    v.set_issuer(&["accountd"]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .expect("verifies with the published key")
        .claims
}

fn hs256(key: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

#[track_caller]
fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn eddsa_tokens_verify_with_the_jwks_and_survive_a_rotation(db: &TestDb) {
    let setup = Setup::new(db).env("ACCOUNTD_JWT_ALGORITHM", "EdDSA");
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();

    // One key, generated at the first start, published as an OKP JWK
    // whose kid is its thumbprint.
    let first = published(&server);
    assert_eq!(first.len(), 1, "{first:?}");
    let (kid1, x1) = first[0].clone();
    assert_eq!(kid1, thumbprint(&x1));
    assert_eq!(URL_SAFE_NO_PAD.decode(&x1).unwrap().len(), 32);

    let old = login(&server);
    assert_eq!(
        header_of(&old),
        json!({"typ": "JWT", "alg": "EdDSA", "kid": kid1})
    );
    let claims = verify_outside(&old, &x1);
    assert_eq!(claims["aud"], "accountd");
    assert_eq!(init(&server, &old).status, 200);

    // The algorithm is pinned: the public key as an HMAC secret (raw and
    // as its x) under the real kid, an HS256 token of the server secret
    // (as issued before a switch to EdDSA), alg none, unknown or no kid.
    let public = URL_SAFE_NO_PAD.decode(&x1).unwrap();
    let hs_header = json!({"typ": "JWT", "alg": "HS256", "kid": kid1});
    let jwt_key = accountd_domain::ServerSecret::new(SECRET.as_bytes().to_vec())
        .unwrap()
        .jwt_key();
    let parts: Vec<&str> = old.split('.').collect();
    let forged = [
        hs256(&public, &hs_header, &claims),
        hs256(x1.as_bytes(), &hs_header, &claims),
        hs256(&jwt_key, &json!({"typ": "JWT", "alg": "HS256"}), &claims),
        format!(
            "{}.{}.",
            b64(json!({"alg": "none", "kid": kid1}).to_string().as_bytes()),
            parts[1]
        ),
        format!(
            "{}.{}.{}",
            b64(json!({"typ": "JWT", "alg": "EdDSA", "kid": "unknown"})
                .to_string()
                .as_bytes()),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            b64(json!({"typ": "JWT", "alg": "EdDSA"}).to_string().as_bytes()),
            parts[1],
            parts[2]
        ),
    ];
    for token in &forged {
        assert_denied(&init(&server, token));
    }

    // `accountd keys rotate` on the same database, from another process.
    let out = setup.run(&["keys", "rotate"]);
    assert!(
        out.status.success(),
        "keys rotate failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let kid2 = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_ne!(kid2, kid1);
    // The server publishes the new key (within its reload interval)
    // before any token carries it.
    let both = wait_until("the new key in the JWKS", Duration::from_secs(15), || {
        let keys = published(&server);
        (keys.len() == 2).then_some(keys)
    });
    assert_eq!(both[0], (kid1.clone(), x1.clone()));
    assert_eq!(both[1].0, kid2);
    let x2 = both[1].1.clone();
    assert_eq!(kid2, thumbprint(&x2));
    let early = login(&server);
    assert_eq!(
        header_of(&early)["kid"],
        kid1,
        "signed before the new key's time"
    );

    // Then new tokens carry the new kid; the old token still works.
    let new = wait_until("a token of the new key", Duration::from_secs(30), || {
        let token = login(&server);
        (header_of(&token)["kid"] == kid2).then_some(token)
    });
    verify_outside(&new, &x2);
    assert!(jsonwebtoken::decode::<Value>(
        &new,
        &jsonwebtoken::DecodingKey::from_ed_components(&x1).unwrap(),
        &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA)
    )
    .is_err());
    assert_eq!(init(&server, &new).status, 200);
    assert_eq!(
        init(&server, &old).status,
        200,
        "the old key stays until exp"
    );
    assert_eq!(init(&server, &early).status, 200);
    assert_eq!(
        server.get(JWKS).body,
        jwks_body(&[(&kid1, &x1), (&kid2, &x2)])
    );

    // A restarted server reads the same keys (nothing new generated).
    drop(server);
    let again = setup.start();
    assert_eq!(
        again.get(JWKS).body,
        jwks_body(&[(&kid1, &x1), (&kid2, &x2)])
    );
    assert_eq!(init(&again, &old).status, 200);
    assert_eq!(header_of(&login(&again))["kid"], kid2);
}

on_both_backends!(eddsa_tokens_verify_with_the_jwks_and_survive_a_rotation);

fn a_configured_pem_key_signs_and_hs256_publishes_nothing(db: &TestDb) {
    let setup = Setup::new(db)
        .env("ACCOUNTD_JWT_ALGORITHM", "EdDSA")
        .env("ACCOUNTD_JWT_PRIVATE_KEY", PEM);
    setup.add_user("ann", &["ann@example.com"]);
    let server = setup.start();
    assert_eq!(server.get(JWKS).body, jwks_body(&[(PEM_KID, PEM_X)]));
    let token = login(&server);
    assert_eq!(header_of(&token)["kid"], PEM_KID);
    verify_outside(&token, PEM_X);
    assert_eq!(init(&server, &token).status, 200);
    // `--help` names the variable but never shows the key.
    let help = setup.run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("ACCOUNTD_JWT_PRIVATE_KEY"), "{help}");
    assert!(!help.contains("MC4CAQAw"), "{help}");
    // A configured key is not rotated by the command.
    let out = setup.run(&["keys", "rotate"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "accountd: keys rotate: ACCOUNTD_JWT_PRIVATE_KEY is set, so the signing key is \
         configured, not stored; replace that key instead\n"
    );
    drop(server);

    // HS256 (the default): an empty key set; the EdDSA token is refused.
    let hs = Setup::new(db);
    let server = hs.start();
    let reply = server.get(JWKS);
    assert_eq!((reply.status, reply.body.as_str()), (200, r#"{"keys":[]}"#));
    assert_denied(&init(&server, &token));
    assert_eq!(header_of(&login(&server))["alg"], "HS256");
    let out = hs.run(&["keys", "rotate"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "accountd: keys rotate: ACCOUNTD_JWT_ALGORITHM is HS256; rotation is for EdDSA keys\n"
    );

    // A bad PEM stops the start with one line naming the variable.
    let bad = setup.env(
        "ACCOUNTD_JWT_PRIVATE_KEY",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n",
    );
    let out = bad.run(&["serve"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("accountd: ACCOUNTD_JWT_PRIVATE_KEY: must be an Ed25519 private key"),
        "{stderr}"
    );
    assert!(!stderr.contains("AAAA"), "{stderr}");
}

on_both_backends!(a_configured_pem_key_signs_and_hs256_publishes_nothing);
