//! One call to one endpoint, and how its outcome is classified.

use std::time::{Duration, Instant};

use cairn_core::{
    ChainId,
    answer::{ANSWER_HEADER, AnswerHeader},
};
use serde_json::Value;

use crate::source::Endpoint;

/// A usable answer from an endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The node's JSON-RPC answer object (`result` or `error`).
    pub response: Value,
    /// The `cairn-answer` header as sent, when the endpoint signed and the
    /// signature recovers to the endpoint's operator.
    pub header: Option<String>,
    pub signed: Option<AnswerHeader>,
    pub elapsed: Duration,
    /// CAIP-10 id of the provider whose endpoint answered.
    pub provider: String,
}

/// Why an attempt gave nothing usable. Every kind is worth trying on
/// another endpoint: none of them says anything about the call itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Failure {
    #[error("timed out")]
    Timeout,
    #[error("could not reach the endpoint: {0}")]
    Connect(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("the answer is not a JSON-RPC response")]
    BadBody,
    #[error("the node refused for a limit: {0}")]
    Limited(String),
    #[error("the answer's signature is not the operator's: {0}")]
    BadSignature(String),
    #[error("the answer is not signed and signatures are required")]
    Unsigned,
}

impl Failure {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect(_) => "connect",
            Self::Status(_) => "status",
            Self::BadBody => "bad_body",
            Self::Limited(_) => "limited",
            Self::BadSignature(_) => "bad_signature",
            Self::Unsigned => "unsigned",
        }
    }
}

/// JSON-RPC errors by which nodes say "not now" or "not this much" rather
/// than "no": another endpoint may well answer.
fn is_limit_error(error: &Value) -> bool {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message =
        error.get("message").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    matches!(code, -32005 | -32016 | 429)
        || ["limit exceeded", "rate limit", "too many requests", "capacity exceeded"]
            .iter()
            .any(|needle| message.contains(needle))
}

pub(crate) async fn call(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    chain: &ChainId,
    request: &Value,
    timeout: Duration,
    require_signed: bool,
) -> Result<Answer, Failure> {
    let started = Instant::now();
    let body = serde_json::to_vec(request).map_err(|_| Failure::BadBody)?;
    let sent = client
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .body(body)
        .timeout(timeout)
        .send()
        .await
        .map_err(classify)?;
    let status = sent.status().as_u16();
    if status == 429 || status >= 500 {
        return Err(Failure::Status(status));
    }
    let header = sent.headers().get(ANSWER_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bytes = sent.bytes().await.map_err(classify)?;
    let response: Value = serde_json::from_slice(&bytes).map_err(|_| {
        if (200..300).contains(&status) { Failure::BadBody } else { Failure::Status(status) }
    })?;
    if !is_single_answer(&response) {
        return Err(Failure::BadBody);
    }
    if let Some(error) = response.get("error")
        && is_limit_error(error)
    {
        return Err(Failure::Limited(
            error.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
        ));
    }
    let signed = match &header {
        Some(text) => {
            let parsed =
                AnswerHeader::parse(text).map_err(|e| Failure::BadSignature(e.to_string()))?;
            let signer = parsed
                .signer(chain, request, &response)
                .map_err(|e| Failure::BadSignature(e.to_string()))?;
            if signer != endpoint.operator {
                return Err(Failure::BadSignature(format!(
                    "signed by {signer}, the operator is {}",
                    endpoint.operator
                )));
            }
            Some(parsed)
        }
        None if require_signed => return Err(Failure::Unsigned),
        None => None,
    };
    Ok(Answer {
        response,
        header,
        signed,
        elapsed: started.elapsed(),
        provider: endpoint.provider.clone(),
    })
}

/// One JSON-RPC answer: an object with exactly one of `result` and an
/// `error` object. Checked by shape, not by building its canonical bytes,
/// which unsigned answers never need.
fn is_single_answer(response: &Value) -> bool {
    let Some(object) = response.as_object() else { return false };
    match (object.get("result"), object.get("error")) {
        (Some(_), None) => true,
        (None, Some(error)) => error.is_object(),
        _ => false,
    }
}

fn classify(error: reqwest::Error) -> Failure {
    if error.is_timeout() {
        Failure::Timeout
    } else if let Some(status) = error.status() {
        Failure::Status(status.as_u16())
    } else if error.is_decode() || error.is_body() {
        Failure::BadBody
    } else {
        Failure::Connect(error.to_string())
    }
}
