//! JSON-RPC 2.0 framing and the gateway's stable error codes.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// The body is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON is not a JSON-RPC 2.0 request (or is an empty batch, or a
/// notification, which the gateway does not forward).
pub const INVALID_REQUEST: i64 = -32600;
/// The method is not on the gateway's allow-list.
pub const METHOD_NOT_ALLOWED: i64 = -32601;
/// The batch has more calls than `gateway.max_batch`.
pub const BATCH_TOO_LARGE: i64 = -32040;
/// No endpoint gave a usable answer (all failed, breakers open, or the
/// retry budget is spent).
pub const NO_ENDPOINT: i64 = -32050;
/// The endpoints asked disagree and no `k` of them agree.
pub const NO_QUORUM: i64 = -32051;

/// A JSON-RPC error object answering the call with `id`.
pub fn error(id: Value, code: i64, message: impl Into<String>, data: Option<Value>) -> Value {
    let mut error = json!({ "code": code, "message": message.into() });
    if let Some(data) = data {
        error["data"] = data;
    }
    json!({ "jsonrpc": "2.0", "id": id, "error": error })
}

/// The node's answer re-addressed to the client's `id`.
pub fn readdress(answer: &Value, id: Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("jsonrpc".into(), Value::from("2.0"));
    out.insert("id".into(), id);
    if let Some(result) = answer.get("result") {
        out.insert("result".into(), result.clone());
    } else if let Some(error) = answer.get("error") {
        out.insert("error".into(), error.clone());
    }
    Value::Object(out)
}

/// What a gateway route answers other than JSON-RPC: an RFC 9457 problem
/// with a stable `code`, as the rest of the Cairn API does.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into() }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("urn:cairn:problem:{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        let mut response = (self.status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response
    }
}
