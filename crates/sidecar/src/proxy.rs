//! `POST /`: forward a JSON-RPC request to the node and sign its answer.
//!
//! Both bodies are held whole: the request to check it before the node
//! sees it, the answer because the signature covers all of it and goes in
//! a header, ahead of the body. The limits bound what that costs.

use std::collections::HashSet;

use axum::{
    body::Bytes,
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use cairn_core::answer::{
    ANSWER_HEADER, AnswerClaim, AnswerHeader, canonical_request, order_batch_response,
};
use serde_json::Value;

use crate::{
    SidecarConfig, SidecarState,
    error::{Refusal, Refused},
    upstream::UpstreamError,
};

pub(crate) async fn rpc(
    State(state): State<SidecarState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let metrics = &state.0.metrics;
    match handle(&state, &headers, body).await {
        Ok((response, outcomes)) => {
            for (method, outcome) in outcomes {
                metrics.request(&method, outcome);
            }
            response
        }
        Err((refused, methods)) => {
            let outcome = refused.refusal.reason();
            if methods.is_empty() {
                metrics.request("none", outcome);
            }
            for method in methods {
                metrics.request(&method, outcome);
            }
            refused.into_response()
        }
    }
}

type Outcomes = Vec<(String, &'static str)>;

async fn handle(
    state: &SidecarState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Response, Outcomes), (Refused, Vec<String>)> {
    let config = &state.0.config;
    let refuse = |id: &Value, methods: &[String], refusal: Refusal| {
        (Refused { id: id.clone(), refusal }, methods.to_vec())
    };
    let too_large = Refusal::TooLarge { limit: config.max_request_bytes };
    // A declared length over the limit is refused before a byte is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > config.max_request_bytes as u64) {
        return Err(refuse(&Value::Null, &[], too_large));
    }
    let bytes = body.map_err(|rejection| {
        let refusal = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Refusal::TooLarge { limit: config.max_request_bytes }
        } else {
            Refusal::Invalid(format!("cannot read the body: {}", rejection.body_text()))
        };
        refuse(&Value::Null, &[], refusal)
    })?;
    let request: Value = serde_json::from_slice(&bytes)
        .map_err(|e| refuse(&Value::Null, &[], Refusal::Parse(e.to_string())))?;
    let id = id_of(&request);
    let methods = methods_of(&request);
    check_request(config, &request).map_err(|refusal| refuse(&id, &methods, refusal))?;

    let answer = state.0.upstream.post(bytes, "forward").await.map_err(|e| {
        let refusal = match e {
            UpstreamError::Unreachable(message) => Refusal::Unavailable(message),
            UpstreamError::Timeout => Refusal::Timeout(config.upstream_timeout.as_millis()),
            UpstreamError::Status(status) => Refusal::UpstreamStatus(status),
            UpstreamError::TooLarge(_) => Refusal::BadAnswer(e.to_string()),
        };
        refuse(&id, &methods, refusal)
    })?;
    let bad = |message: String| refuse(&id, &methods, Refusal::BadAnswer(message));
    let parsed: Value = serde_json::from_slice(&answer)
        .map_err(|e| bad(format!("the answer is not JSON ({e})")))?;
    let (response, body) = match (&request, parsed) {
        (Value::Array(calls), Value::Array(answers)) => {
            let in_order = answers.len() == calls.len()
                && calls.iter().zip(&answers).all(|(c, a)| c.get("id") == a.get("id"));
            let ordered = order_batch_response(calls, answers).map_err(|e| bad(e.to_string()))?;
            let response = Value::Array(ordered);
            // A node's own bytes are relayed when they already are in call
            // order; otherwise the reordered answer is written out.
            let body = if in_order { answer } else { Bytes::from(response.to_string()) };
            (response, body)
        }
        (Value::Array(_), other) => {
            return Err(bad(format!("a batch was answered with one object: {}", excerpt(&other))));
        }
        (_, answer_value @ Value::Object(_)) => {
            if answer_value.get("id") != request.get("id") {
                return Err(bad("the answer's id is not the request's".into()));
            }
            (answer_value, answer)
        }
        (_, other) => return Err(bad(format!("not a JSON-RPC answer: {}", excerpt(&other)))),
    };

    let signed =
        sign(state, &request, &response).await.map_err(|refusal| refuse(&id, &methods, refusal))?;
    let signed = HeaderValue::from_str(&signed)
        .map_err(|e| refuse(&id, &methods, Refusal::Signer(e.to_string())))?;

    let answers = match &response {
        Value::Array(answers) => answers.as_slice(),
        single => std::slice::from_ref(single),
    };
    let outcomes = methods
        .into_iter()
        .zip(answers)
        .map(|(method, answer)| {
            (method, if answer.get("error").is_some() { "rpc_error" } else { "ok" })
        })
        .collect();
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(ANSWER_HEADER, signed);
    Ok((response, outcomes))
}

/// The id a refusal answers with: the call's, or null for a batch.
pub(crate) fn id_of(request: &Value) -> Value {
    match request {
        Value::Object(object) => object.get("id").cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// The method of each call, for the metrics (`none` where there is none).
pub(crate) fn methods_of(request: &Value) -> Vec<String> {
    let calls = match request {
        Value::Array(calls) => calls.as_slice(),
        Value::Object(_) => std::slice::from_ref(request),
        _ => &[],
    };
    calls
        .iter()
        .map(|call| call.get("method").and_then(Value::as_str).unwrap_or("none").to_owned())
        .collect()
}

/// What is refused before the node sees it, on HTTP and WebSocket alike.
pub(crate) fn check_request(config: &SidecarConfig, request: &Value) -> Result<(), Refusal> {
    match request {
        Value::Array(calls) if calls.is_empty() => {
            return Err(Refusal::Invalid("an empty batch has nothing to answer".into()));
        }
        Value::Array(calls) if calls.len() > config.max_batch => {
            return Err(Refusal::BatchTooLarge { len: calls.len(), limit: config.max_batch });
        }
        Value::Array(calls) => {
            // Answers are matched to calls by id: two calls with one id
            // would make the match, and so what is signed for which call,
            // a guess.
            let mut ids = HashSet::with_capacity(calls.len());
            if !calls.iter().all(|call| ids.insert(call.get("id").map(Value::to_string))) {
                return Err(Refusal::Invalid("ids in a batch must be distinct".into()));
            }
        }
        Value::Object(_) => {}
        _ => {
            return Err(Refusal::Invalid(
                "a JSON-RPC request is an object, or a non-empty array of objects".into(),
            ));
        }
    }
    // The canonical form refuses what cannot be signed: calls without a
    // string method, and notifications (no id: no answer to sign).
    canonical_request(request).map(|_| ()).map_err(|e| Refusal::Invalid(e.to_string()))
}

/// The `cairn-answer` header for `response` to `request`, signed against
/// the newest tip read from the node.
pub(crate) async fn sign(
    state: &SidecarState,
    request: &Value,
    response: &Value,
) -> Result<String, Refusal> {
    let config = &state.0.config;
    let tip = state.tip().ok_or(Refusal::NoTip)?;
    let claim = AnswerClaim::new(config.chain.clone(), request, response, tip.number, tip.hash)
        .map_err(|e| Refusal::BadAnswer(e.to_string()))?;
    let signature = config
        .signer
        .sign_digest(claim.digest())
        .await
        .map_err(|e| Refusal::Signer(e.to_string()))?;
    state.0.metrics.signed();
    Ok(AnswerHeader {
        chain: config.chain.clone(),
        block_number: tip.number,
        block_hash: tip.hash,
        signature: signature.to_bytes(),
    }
    .render())
}

/// The start of a value, for error messages.
pub(crate) fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}
