//! `GET /.well-known/jwks.json`: the public keys of EdDSA session tokens
//! (RFC 7517 key set of RFC 8037 OKP keys), so that other services verify
//! tokens without the server secret. With HS256 the set is empty.

use crate::HttpState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;

/// Where the key set is served.
pub(crate) const PATH: &str = "/.well-known/jwks.json";

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(jwks));
}

/// A JSON Web Key Set.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeySet {
    keys: Vec<OkpKey>,
}

/// One Ed25519 public key (RFC 8037).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OkpKey {
    /// Always `OKP`.
    #[schema(example = "OKP")]
    kty: &'static str,
    /// Always `Ed25519`.
    #[schema(example = "Ed25519")]
    crv: &'static str,
    /// The public key, base64url without padding.
    x: String,
    /// The key id tokens signed with it carry in their header.
    kid: String,
    /// Always `EdDSA`.
    #[schema(example = "EdDSA")]
    alg: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    use_: &'static str,
}

/// The public keys of the session tokens: every key whose tokens may still
/// be valid (a rotated-out key stays until its last token expired); empty
/// with `ACCOUNTD_JWT_ALGORITHM=HS256`.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "operations",
    responses((status = 200, description = "The key set.", body = KeySet,
        example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
            "alg": "EdDSA", "use": "sig"}]})))
)]
pub(crate) async fn jwks(state: web::Data<HttpState>) -> HttpResponse {
    let keys = state
        .signing_keys
        .published()
        .into_iter()
        .map(|k| OkpKey {
            kty: "OKP",
            crv: "Ed25519",
            x: k.x,
            kid: k.kid,
            alg: "EdDSA",
            use_: "sig",
        })
        .collect();
    HttpResponse::Ok()
        // Short: a rotated-in key is published 15 s before it signs, and
        // must reach verifiers first.
        .insert_header((header::CACHE_CONTROL, "public, max-age=10"))
        .json(KeySet { keys })
}

#[cfg(test)]
mod tests {
    use crate::testing::idle_state;
    use accountd_ports::{PublishedKey, PublishedKeys};
    use actix_web::{test, web, App};
    use std::sync::Arc;

    struct Two;

    impl PublishedKeys for Two {
        fn published(&self) -> Vec<PublishedKey> {
            ["a", "b"]
                .into_iter()
                .map(|n| PublishedKey {
                    kid: format!("kid-{n}"),
                    x: format!("x-{n}"),
                })
                .collect()
        }
    }

    async fn body(state: crate::HttpState) -> (u16, Option<String>, String) {
        let app =
            test::init_service(App::new().configure(crate::configure(web::Data::new(state)))).await;
        let res =
            test::call_service(&app, test::TestRequest::get().uri(super::PATH).to_request()).await;
        let status = res.status().as_u16();
        let cache = res
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = test::read_body(res).await;
        (status, cache, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[actix_web::test]
    async fn the_key_set_lists_every_published_key_as_an_okp_jwk() {
        let mut state = idle_state();
        state.signing_keys = Arc::new(Two);
        assert_eq!(
            body(state).await,
            (
                200,
                Some("public, max-age=10".to_owned()),
                r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"x-a","kid":"kid-a","alg":"EdDSA","use":"sig"},{"kty":"OKP","crv":"Ed25519","x":"x-b","kid":"kid-b","alg":"EdDSA","use":"sig"}]}"#
                    .to_owned()
            )
        );
    }

    #[actix_web::test]
    async fn without_published_keys_the_set_is_empty() {
        assert_eq!(body(idle_state()).await.2, r#"{"keys":[]}"#);
    }
}
