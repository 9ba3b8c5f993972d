//! Why the sidecar does not start, and the JSON-RPC errors it answers with
//! itself (never signed: only the node's answers carry a signature).

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use cairn_core::ChainId;
use serde_json::{Value, json};

/// Why the sidecar cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    #[error(
        "upstream {0} must be an http:// or https:// URL (a WebSocket one goes in --upstream-ws)"
    )]
    UpstreamScheme(String),
    #[error("WebSocket upstream {0} must be a ws:// or wss:// URL")]
    UpstreamWsScheme(String),
    #[error("cannot reach the upstream node at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error(
        "the upstream node at {url} serves chain {actual}, not {expected} (--chain): refusing to sign its answers"
    )]
    WrongChain { url: String, expected: ChainId, actual: ChainId },
    #[error("the upstream node at {url} answered {method} with something unexpected: {message}")]
    BadUpstreamAnswer { url: String, method: &'static str, message: String },
    #[error(
        "chain {0}: the sidecar serves eip155 chains only so far (it cannot check another node's chain)"
    )]
    UnsupportedChain(ChainId),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The JSON-RPC error codes the sidecar answers with itself. Codes from the
/// node (its `error` objects) pass through unchanged and are signed; these
/// are not, and their `error.data` is
/// `{"source": "cairn-sidecar", "reason": <the name below in snake case>}`.
pub mod codes {
    /// The body is not JSON (HTTP 400).
    pub const PARSE_ERROR: i64 = -32700;
    /// Not a JSON-RPC 2.0 request: not an object or a non-empty array of
    /// them, no string `method`, a notification (no `id`: it could not be
    /// answered, so not signed), or ids repeated in a batch (HTTP 400).
    pub const INVALID_REQUEST: i64 = -32600;
    /// The body is over the size limit (HTTP 413).
    pub const REQUEST_TOO_LARGE: i64 = -32090;
    /// The batch has more calls than allowed (HTTP 413).
    pub const BATCH_TOO_LARGE: i64 = -32091;
    /// The node cannot be reached or answered with an HTTP error (HTTP 502;
    /// 429 when the node itself said 429).
    pub const UPSTREAM_UNAVAILABLE: i64 = -32092;
    /// The node did not answer in time (HTTP 504).
    pub const UPSTREAM_TIMEOUT: i64 = -32093;
    /// The node's answer is not a JSON-RPC answer to the request (not
    /// JSON, wrong ids, a batch answered by other than one answer per call,
    /// over the response size limit) and so is not signed (HTTP 502).
    pub const UPSTREAM_INVALID: i64 = -32094;
    /// No chain tip has been read from the node yet, so there is nothing
    /// to sign the answer against (HTTP 503).
    pub const NO_TIP: i64 = -32095;
    /// The operator key's backend did not sign (HTTP 503).
    pub const SIGNER_UNAVAILABLE: i64 = -32096;
}

/// A request the sidecar answers itself.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("parse error: the body is not JSON ({0})")]
    Parse(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("request body is over the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("a batch of {len} calls is over the limit of {limit}")]
    BatchTooLarge { len: usize, limit: usize },
    #[error("upstream node unavailable: {0}")]
    Unavailable(String),
    #[error("upstream node answered HTTP {0}")]
    UpstreamStatus(u16),
    #[error("upstream node did not answer within {0} ms")]
    Timeout(u128),
    #[error("upstream node's answer cannot be signed: {0}")]
    BadAnswer(String),
    #[error("no chain tip has been read from the upstream node yet")]
    NoTip,
    #[error("the operator key did not sign: {0}")]
    Signer(String),
}

impl Refusal {
    pub(crate) fn code(&self) -> i64 {
        match self {
            Self::Parse(_) => codes::PARSE_ERROR,
            Self::Invalid(_) => codes::INVALID_REQUEST,
            Self::TooLarge { .. } => codes::REQUEST_TOO_LARGE,
            Self::BatchTooLarge { .. } => codes::BATCH_TOO_LARGE,
            Self::Unavailable(_) | Self::UpstreamStatus(_) => codes::UPSTREAM_UNAVAILABLE,
            Self::Timeout(_) => codes::UPSTREAM_TIMEOUT,
            Self::BadAnswer(_) => codes::UPSTREAM_INVALID,
            Self::NoTip => codes::NO_TIP,
            Self::Signer(_) => codes::SIGNER_UNAVAILABLE,
        }
    }

    /// Stable name, in `error.data.reason` and the metrics' `outcome`.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::Parse(_) => "parse_error",
            Self::Invalid(_) => "invalid_request",
            Self::TooLarge { .. } => "request_too_large",
            Self::BatchTooLarge { .. } => "batch_too_large",
            Self::Unavailable(_) | Self::UpstreamStatus(_) => "upstream_unavailable",
            Self::Timeout(_) => "upstream_timeout",
            Self::BadAnswer(_) => "upstream_invalid",
            Self::NoTip => "no_tip",
            Self::Signer(_) => "signer_unavailable",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Parse(_) | Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } | Self::BatchTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UpstreamStatus(429) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::UpstreamStatus(_) | Self::BadAnswer(_) => {
                StatusCode::BAD_GATEWAY
            }
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::NoTip | Self::Signer(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A refusal with the id of the call it answers (null for a batch, as
/// JSON-RPC 2.0 answers a batch it cannot take apart).
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) id: Value,
    pub(crate) refusal: Refusal,
}

impl Refused {
    /// The JSON-RPC error answer.
    pub(crate) fn body(&self) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": {
                "code": self.refusal.code(),
                "message": self.refusal.to_string(),
                "data": {"source": "cairn-sidecar", "reason": self.refusal.reason()},
            },
        })
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.refusal.status(), Json(self.body())).into_response()
    }
}

/// A URL as it may be shown in logs and errors: without a password (node
/// URLs often carry an API key there).
pub(crate) fn shown(url: &url::Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}
