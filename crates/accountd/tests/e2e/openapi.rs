//! `GET /api/openapi.json` through the real binary: served as JSON on the
//! main listener, and every operation without inputs that the document
//! lists answers there with a status and content type the document names
//! (`/metrics` included, which the binary registers itself).

use crate::support::{Setup, TestDb};
use serde_json::Value;

#[test]
fn the_binary_serves_the_document_and_answers_what_it_says() {
    let server = Setup::new(&TestDb::sqlite()).start();
    let doc = server.get("/api/openapi.json");
    assert_eq!(doc.status, 200, "{}", doc.body);
    assert_eq!(
        doc.header("content-type").as_deref(),
        Some("application/json")
    );
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut probed = Vec::new();
    for (path, item) in paths {
        let Some(op) = item.get("get") else { continue };
        let has_inputs = op.get("parameters").is_some() || op.get("requestBody").is_some();
        let secured = op.get("security").is_some();
        if has_inputs || secured {
            continue;
        }
        let reply = server.get(path);
        let answer = &op["responses"][reply.status.to_string()];
        let answer = match answer.get("$ref").and_then(Value::as_str) {
            Some(r) => doc
                .pointer(r.trim_start_matches('#'))
                .expect("the reference resolves"),
            None => answer,
        };
        assert!(
            answer.is_object(),
            "GET {path} answered {}, not in the document",
            reply.status
        );
        let content_type = reply.header("content-type").unwrap_or_default();
        let media = content_type.split(';').next().unwrap_or_default().trim();
        assert!(
            answer["content"].get(media).is_some(),
            "GET {path} answered {media}, not in the document"
        );
        probed.push(path.clone());
    }
    probed.sort();
    assert_eq!(
        probed,
        [
            "/.well-known/jwks.json",
            "/api/openapi.json",
            "/api/ping",
            "/health/live",
            "/health/ready",
            "/metrics"
        ]
    );
}
