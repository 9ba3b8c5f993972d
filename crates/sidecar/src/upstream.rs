//! The node behind the sidecar.

use std::{sync::Arc, time::Instant};

use axum::body::Bytes;
use cairn_core::ChainId;
use serde_json::{Value, json};

use crate::{SidecarConfig, SidecarError, error::shown, metrics::Metrics};

#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    url: url::Url,
    client: reqwest::Client,
    max_response: usize,
    metrics: Arc<Metrics>,
}

/// Why the node gave no usable bytes.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    Unreachable(String),
    Timeout,
    Status(u16),
    TooLarge(usize),
}

impl UpstreamError {
    fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "unreachable",
            Self::Timeout => "timeout",
            Self::Status(_) => "status",
            Self::TooLarge(_) => "too_large",
        }
    }
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(message) => f.write_str(message),
            Self::Timeout => f.write_str("timed out"),
            Self::Status(status) => write!(f, "HTTP {status}"),
            Self::TooLarge(limit) => write!(f, "answer over the limit of {limit} bytes"),
        }
    }
}

/// The error and its causes in one line, without the URL: errors can reach
/// clients, and the node's URL (often with an API key in it) must not.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn classify(error: reqwest::Error) -> UpstreamError {
    if error.is_timeout() {
        UpstreamError::Timeout
    } else {
        UpstreamError::Unreachable(describe(error))
    }
}

impl Upstream {
    pub(crate) fn new(config: &SidecarConfig, metrics: Arc<Metrics>) -> Result<Self, SidecarError> {
        let client = reqwest::Client::builder()
            .timeout(config.upstream_timeout)
            .connect_timeout(config.upstream_timeout.min(std::time::Duration::from_secs(5)))
            .build()
            .map_err(|e| SidecarError::Client(describe(e)))?;
        Ok(Self {
            url: config.upstream.clone(),
            client,
            max_response: config.max_response_bytes,
            metrics,
        })
    }

    /// Posts a JSON body and returns the node's answer bytes, read up to
    /// the response limit. `call` labels the latency histogram.
    pub(crate) async fn post(
        &self,
        body: Bytes,
        call: &'static str,
    ) -> Result<Bytes, UpstreamError> {
        let started = Instant::now();
        let result = self.post_inner(body).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => error.kind(),
        };
        self.metrics.upstream(call, outcome, started.elapsed());
        result
    }

    async fn post_inner(&self, body: Bytes) -> Result<Bytes, UpstreamError> {
        let mut response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(classify)?;
        if !response.status().is_success() {
            return Err(UpstreamError::Status(response.status().as_u16()));
        }
        if response.content_length().is_some_and(|n| n > self.max_response as u64) {
            return Err(UpstreamError::TooLarge(self.max_response));
        }
        let mut out = Vec::with_capacity(response.content_length().unwrap_or(1024) as usize);
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if out.len() + chunk.len() > self.max_response {
                return Err(UpstreamError::TooLarge(self.max_response));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.into())
    }

    /// One call of the sidecar's own (chain id, tip): its `result`.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let bytes = self
            .post(Bytes::from(body.to_string()), "sidecar")
            .await
            .map_err(|e| format!("{method}: {e}"))?;
        let mut answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{method}: the answer is not JSON ({e})"))?;
        if let Some(error) = answer.get("error") {
            return Err(format!("{method}: the node answered with an error: {error}"));
        }
        answer
            .get_mut("result")
            .map(Value::take)
            .ok_or_else(|| format!("{method}: the answer has no result"))
    }

    /// Refuses a node that serves another chain than `chain`.
    pub(crate) async fn check_chain(&self, chain: &ChainId) -> Result<(), SidecarError> {
        let expected =
            chain.evm_chain_id().ok_or_else(|| SidecarError::UnsupportedChain(chain.clone()))?;
        let url = shown(&self.url);
        let result = self
            .call("eth_chainId", json!([]))
            .await
            .map_err(|message| SidecarError::Unreachable { url: url.clone(), message })?;
        let actual = result.as_str().and_then(parse_quantity).ok_or_else(|| {
            SidecarError::BadUpstreamAnswer {
                url: url.clone(),
                method: "eth_chainId",
                message: format!("{result} is not a hex quantity"),
            }
        })?;
        if actual != expected {
            return Err(SidecarError::WrongChain {
                url,
                expected: chain.clone(),
                actual: ChainId::eip155(actual),
            });
        }
        Ok(())
    }
}

/// A JSON-RPC quantity: `0x` and hex digits without leading zeros.
pub(crate) fn parse_quantity(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}
