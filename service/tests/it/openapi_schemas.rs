//! The OpenAPI document describes every body it names: each request and
//! response body has a schema, every `$ref` resolves, no schema named in a
//! description is missing, and no request body is a bare object.

use serde_json::Value;

fn document() -> Value {
    serde_json::to_value(cairn_service::http::openapi()).unwrap()
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    _ => refs(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

/// Whether a body schema says anything about its shape.
fn describes_shape(schema: &Value) -> bool {
    ["$ref", "oneOf", "anyOf", "allOf", "properties", "items"]
        .iter()
        .any(|k| schema.get(k).is_some())
        || schema.get("type").is_some_and(|t| t != "object")
}

#[test]
fn every_body_has_a_schema_and_every_reference_resolves() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
    let mut problems = Vec::new();

    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    for target in &targets {
        let name = target.strip_prefix("#/components/schemas/");
        match name {
            Some(name) if schemas.contains_key(name) => {}
            _ => problems.push(format!("dangling reference {target}")),
        }
    }

    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            if let Some(body) = operation.get("requestBody") {
                for (media, content) in body["content"].as_object().unwrap() {
                    match content.get("schema") {
                        Some(schema) if describes_shape(schema) => {}
                        Some(_) => {
                            problems.push(format!("{at}: {media} request body is a bare object"))
                        }
                        None => problems.push(format!("{at}: {media} request body has no schema")),
                    }
                }
                let text = body["description"].as_str().unwrap_or_default();
                for word in text.split('`').skip(1).step_by(2) {
                    let named = word.chars().next().is_some_and(char::is_uppercase)
                        && word.chars().all(char::is_alphanumeric);
                    if named && !schemas.contains_key(word) {
                        problems.push(format!(
                            "{at}: description names schema {word}, which is not in components"
                        ));
                    }
                }
            }
            // This document's own body is an OpenAPI 3.1 document, whose
            // schema is the specification's, not one of ours.
            if path == "/openapi.json" {
                continue;
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                let Some(content) = response.get("content").and_then(Value::as_object) else {
                    continue;
                };
                for (media, content) in content {
                    if content.get("schema").is_none_or(|schema| !describes_shape(schema)) {
                        problems.push(format!("{at} {status}: {media} response has no schema"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "the OpenAPI document is incomplete:\n{}", problems.join("\n"));
}

#[test]
fn the_intent_submission_schema_names_every_signed_field() {
    let doc = document();
    let fields = &doc["components"]["schemas"]["IntentFields"]["properties"];
    for field in ["payer", "payee", "asset", "amount", "nonce", "validUntil"] {
        assert!(fields.get(field).is_some(), "IntentFields lacks {field}: {fields}");
    }
    assert_eq!(fields["amount"]["type"], "string", "amounts are strings on the wire");
}
