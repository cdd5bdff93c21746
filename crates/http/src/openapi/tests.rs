//! The document is valid OpenAPI 3.1, every `$ref` in it resolves, it
//! lists exactly the routes actix has registered, it is served as JSON,
//! and the bodies the envelopes really build conform to its schemas.
//!
//! `oas-3.1-schema-2022-10-07.json` is the official JSON Schema of OpenAPI
//! 3.1 documents, `https://spec.openapis.org/oas/3.1/schema/2022-10-07`,
//! as shipped by the `openapi-spec-validator` 0.9.0 package
//! (`openapi_spec_validator/resources/schemas/v3.1/schema.json`, sha256
//! e7cb616a2a10849a166c4e4a93c62c56cfea02cc00eadf287e2fb875e7124098).

use super::document;
use crate::testing::idle_state;
use actix_web::introspection::IntrospectionTree;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, HttpResponse, ResponseError};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const OAS_3_1_SCHEMA: &str = include_str!("oas-3.1-schema-2022-10-07.json");

fn document_json() -> Value {
    serde_json::to_value(document()).expect("the document serializes")
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let schema: Value = serde_json::from_str(OAS_3_1_SCHEMA).expect("the vendored schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the OpenAPI 3.1 schema compiles");
    let doc = document_json();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["openapi"], json!("3.1.0"));
    // The validator is not lenient: a document without `info` fails.
    let mut broken = doc.clone();
    broken.as_object_mut().map(|o| o.remove("info"));
    assert!(!validator.is_valid(&broken));
}

/// Every `"$ref": "#/…"` of `value`.
fn refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = document_json();
    let mut found = BTreeSet::new();
    refs(&doc, &mut found);
    assert!(found.len() > 20, "{found:?}");
    let dangling: Vec<&String> = found
        .iter()
        .filter(|r| {
            r.strip_prefix('#')
                .and_then(|pointer| doc.pointer(pointer))
                .is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "{dangling:?}");
}

#[test]
fn every_operation_has_its_own_id() {
    let doc = document_json();
    let mut ids = Vec::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("a path item").values() {
            ids.push(
                op["operationId"]
                    .as_str()
                    .expect("an operationId")
                    .to_owned(),
            );
        }
    }
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    for id in [
        "unicat.p.members.get",
        "unicat.ping.get",
        "unicat.ping.post",
        "forgot_password.send_email",
        "page.invite.decline.post",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
    }
}

/// `(METHOD, path)` of every operation of the document.
fn documented() -> BTreeSet<(String, String)> {
    let doc = document_json();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if ["parameters", "summary", "description", "servers"].contains(&method.as_str()) {
                continue;
            }
            ops.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    ops
}

/// `(METHOD, path)` of every route actix has registered from
/// [`crate::configure`], read from actix's own route table.
async fn registered() -> BTreeSet<(String, String)> {
    const PROBE: &str = "/__test_route_table";
    let app = test::init_service(
        App::new()
            .route(
                PROBE,
                web::get().to(|tree: web::Data<IntrospectionTree>| async move {
                    HttpResponse::Ok().body(tree.report_as_json())
                }),
            )
            .configure(crate::configure(web::Data::new(idle_state()))),
    )
    .await;
    let report: Value =
        test::call_and_read_body_json(&app, TestRequest::get().uri(PROBE).to_request()).await;
    let mut routes = BTreeSet::new();
    for item in report.as_array().expect("a list of routes") {
        let path = item["full_path"].as_str().expect("full_path");
        if path == PROBE || item["resource_type"] != json!("resource") {
            continue;
        }
        assert_ne!(
            item["potentially_unreachable"],
            json!(true),
            "{path} is shadowed: {item}"
        );
        let methods = item["methods"].as_array().expect("methods");
        assert!(!methods.is_empty(), "{path} answers any method");
        for m in methods {
            routes.insert((m.as_str().expect("a method").to_owned(), path.to_owned()));
        }
    }
    routes
}

#[actix_web::test]
async fn the_document_lists_every_registered_route_and_nothing_else() {
    let mut registered = registered().await;
    // Registered by the binary, next to the exporter it renders.
    registered.insert(("GET".to_owned(), "/metrics".to_owned()));
    let documented = documented();
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not documented: {missing:?}; documented but not registered: {extra:?}"
    );
    // Both families, the pages and the operational routes.
    assert!(registered.len() > 40, "{registered:?}");
    for route in [
        ("POST", "/api/p/{project}/members/get"),
        ("GET", "/api/ping"),
        ("POST", "/api/ping"),
        ("POST", "/api/auth/forgotPassword/resetPassword"),
        ("GET", "/invite/decline"),
        ("GET", "/health/ready"),
        ("GET", "/api/openapi.json"),
        ("GET", "/.well-known/jwks.json"),
    ] {
        assert!(
            registered.contains(&(route.0.to_owned(), route.1.to_owned())),
            "{route:?}"
        );
    }
}

#[actix_web::test]
async fn the_document_is_served_as_json_on_the_main_routes() {
    let app =
        test::init_service(App::new().configure(crate::configure(web::Data::new(idle_state()))))
            .await;
    let res = test::call_service(&app, TestRequest::get().uri(super::PATH).to_request()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body, document_json());
}

/// A validator for the component schema `name` of the document.
pub(crate) fn component(name: &str) -> jsonschema::Validator {
    let doc = document_json();
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::validator_for(&schema).expect("the component schema compiles")
}

async fn body_of(res: HttpResponse) -> Value {
    let bytes = actix_web::body::to_bytes(res.into_body())
        .await
        .expect("a body");
    serde_json::from_slice(&bytes).expect("a JSON body")
}

/// The refusals the Unicat family really builds conform to the error
/// envelope of the document, and a success does not.
#[actix_web::test]
async fn unicat_refusals_conform_to_the_error_envelope() {
    use crate::unicat::UnicatError;
    use accountd_app::unicat::{Invalid, Reason};
    use accountd_app::{Failure, RateLimited};
    let refusal = component("UnicatRefusal");
    let errors: Vec<UnicatError> = vec![
        UnicatError::PermissionDenied,
        UnicatError::UnknownUser,
        UnicatError::Forbidden(None),
        UnicatError::Forbidden(Some("reauthentication_required")),
        UnicatError::PayloadTooLarge,
        UnicatError::RequestTimeout,
        UnicatError::HeaderFieldsTooLarge,
        UnicatError::Unprocessable,
        UnicatError::UnprocessableBecause {
            reason: "owns_projects",
            extra: serde_json::Map::from_iter([(
                "projects".to_owned(),
                json!(["0b5f3e0e-8d1c-4d6b-9a53-3f9b1d2c4e5f"]),
            )]),
        },
        UnicatError::InviteInvalid("invite_expired"),
        UnicatError::Validation(Invalid {
            field: "password",
            reason: Reason::EmailInvalid,
            detail: "Not an address.".into(),
            suggestions: Some(vec!["Add a word.".to_owned()]),
            attempts_left: Some(2),
        }),
        UnicatError::TooManyRequests(RateLimited {
            retry_after_seconds: 3,
        }),
        Failure::Overloaded {
            retry_after_seconds: 3,
        }
        .into(),
        Failure::Unexpected(std::io::Error::other("bug").into()).into(),
    ];
    for e in errors {
        let body = body_of(e.error_response()).await;
        let failures: Vec<String> = refusal.iter_errors(&body).map(|e| e.to_string()).collect();
        assert!(failures.is_empty(), "{body}: {failures:?}");
    }
    assert!(!refusal.is_valid(&json!({"success": true, "result": {}, "data": {}})));
    assert!(!refusal.is_valid(&json!({
        "success": false,
        "result": {"code": 400, "message": "Bad request", "info": {"surprise": 1}},
        "data": {},
    })));
}

/// The forgotPassword bodies conform to their schemas.
#[actix_web::test]
async fn forgot_password_bodies_conform_to_their_schemas() {
    use crate::forgot_password::ForgotPasswordError;
    use accountd_app::Failure;
    let plain = component("ForgotPasswordBody");
    for e in [
        ForgotPasswordError::UnknownUsername,
        ForgotPasswordError::NoCode,
        ForgotPasswordError::PayloadTooLarge,
        ForgotPasswordError::RequestTimeout,
        ForgotPasswordError::HeaderFieldsTooLarge,
        Failure::Unexpected(std::io::Error::other("bug").into()).into(),
    ] {
        let body = body_of(e.error_response()).await;
        assert!(plain.is_valid(&body), "{body}");
    }
    let invalid = component("ForgotPasswordInvalid");
    let e = ForgotPasswordError::Invalid(serde_json::Map::from_iter([(
        "username".to_owned(),
        json!(["The username field is required."]),
    )]));
    let body = body_of(e.error_response()).await;
    assert!(invalid.is_valid(&body), "{body}");
    assert!(!invalid.is_valid(&json!({"password": ["x"]})));
}
