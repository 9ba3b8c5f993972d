//! A pool of JSON-RPC URLs: each request is retried with backoff across the
//! URLs, a URL that keeps failing is skipped for a while (circuit breaker),
//! and every failure is counted by kind.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    transports::{RpcError as TransportError, TransportErrorKind},
};
use cairn_config::IndexerConfig;

use crate::metrics::Metrics;

/// Why one request failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Timeout,
    RateLimited,
    Unavailable,
    BadResponse,
    /// The node refuses the range as too large: shrink it, do not blame the URL.
    TooManyResults,
    /// The answer parsed but cannot be right (a failed consistency check).
    Inconsistent,
    Other,
}

impl FailureKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::BadResponse => "bad_response",
            Self::TooManyResults => "too_many_results",
            Self::Inconsistent => "inconsistent",
            Self::Other => "other",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind:?} from {url}: {message}")]
pub struct Failure {
    pub kind: FailureKind,
    pub url: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("{what}: every attempt failed; last: {last}")]
    Exhausted { what: &'static str, last: Failure },
    #[error("{what}: the range is too large for the node ({0})", .last.message)]
    TooManyResults { what: &'static str, last: Failure },
    #[error("reading the store while checking an answer: {0}")]
    Store(String),
}

/// Sorts a transport error into a [`FailureKind`].
pub fn classify(error: &TransportError<TransportErrorKind>) -> FailureKind {
    match error {
        TransportError::ErrorResp(payload) => {
            let message = payload.message.to_ascii_lowercase();
            if payload.code == -32005
                || message.contains("too many")
                || message.contains("limit exceeded")
                || message.contains("range")
                || message.contains("more than")
            {
                FailureKind::TooManyResults
            } else if payload.code == 429 || message.contains("rate") {
                FailureKind::RateLimited
            } else {
                FailureKind::Other
            }
        }
        TransportError::Transport(TransportErrorKind::HttpError(http)) => match http.status {
            429 => FailureKind::RateLimited,
            500..=599 => FailureKind::Unavailable,
            _ => FailureKind::Other,
        },
        TransportError::Transport(_) => FailureKind::Unavailable,
        TransportError::DeserError { .. } | TransportError::NullResp => FailureKind::BadResponse,
        _ => FailureKind::Other,
    }
}

#[derive(Debug)]
struct Endpoint {
    url: url::Url,
    /// HTTP endpoints have theirs from the start; a WebSocket one connects
    /// on first use, and again after a failure.
    provider: Option<DynProvider>,
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

fn is_websocket(url: &url::Url) -> bool {
    matches!(url.scheme(), "ws" | "wss")
}

#[derive(Debug, Clone)]
pub struct RpcPool {
    endpoints: Arc<Mutex<Vec<Endpoint>>>,
    settings: IndexerConfig,
    metrics: Arc<Metrics>,
}

impl RpcPool {
    pub fn new(urls: &[url::Url], settings: IndexerConfig, metrics: Arc<Metrics>) -> Self {
        let endpoints = urls
            .iter()
            .map(|url| Endpoint {
                url: url.clone(),
                provider: (!is_websocket(url))
                    .then(|| ProviderBuilder::new().connect_http(url.clone()).erased()),
                consecutive_failures: 0,
                open_until: None,
            })
            .collect();
        Self { endpoints: Arc::new(Mutex::new(endpoints)), settings, metrics }
    }

    /// The endpoint to try next: the first whose circuit is closed, else the
    /// one that reopens soonest.
    /// The first WebSocket URL of the pool, if any: where new heads are
    /// subscribed to.
    pub fn websocket_url(&self) -> Option<url::Url> {
        let endpoints = self.endpoints.lock().expect("rpc pool lock");
        endpoints.iter().map(|e| e.url.clone()).find(is_websocket)
    }

    fn pick(&self, attempt: u32) -> (usize, url::Url, Option<DynProvider>) {
        let endpoints = self.endpoints.lock().expect("rpc pool lock");
        let now = Instant::now();
        let count = endpoints.len();
        let start = attempt as usize % count;
        let choice = (0..count)
            .map(|i| (start + i) % count)
            .find(|&i| endpoints[i].open_until.is_none_or(|t| t <= now))
            .unwrap_or_else(|| {
                (0..count)
                    .min_by_key(|&i| endpoints[i].open_until.expect("all open"))
                    .expect("at least one URL")
            });
        (choice, endpoints[choice].url.clone(), endpoints[choice].provider.clone())
    }

    /// The endpoint's provider, connecting a WebSocket endpoint first.
    async fn provider(
        &self,
        index: usize,
        url: &url::Url,
        provider: Option<DynProvider>,
    ) -> Result<DynProvider, (FailureKind, String)> {
        if let Some(provider) = provider {
            return Ok(provider);
        }
        let connected = ProviderBuilder::new()
            .connect_ws(alloy::providers::WsConnect::new(url.as_str()))
            .await
            .map_err(|e| (FailureKind::Unavailable, format!("cannot connect: {e}")))?
            .erased();
        self.endpoints.lock().expect("rpc pool lock")[index].provider = Some(connected.clone());
        Ok(connected)
    }

    fn record(&self, index: usize, ok: bool) {
        let mut endpoints = self.endpoints.lock().expect("rpc pool lock");
        let endpoint = &mut endpoints[index];
        if ok {
            endpoint.consecutive_failures = 0;
            endpoint.open_until = None;
        } else {
            if is_websocket(&endpoint.url) {
                // Connect afresh next time: the socket may be what failed.
                endpoint.provider = None;
            }
            endpoint.consecutive_failures += 1;
            if endpoint.consecutive_failures >= self.settings.breaker_threshold {
                endpoint.open_until =
                    Some(Instant::now() + Duration::from_millis(self.settings.breaker_cooldown_ms));
                tracing::warn!(url = %endpoint.url, "RPC URL failing repeatedly; skipping it for a while");
            }
        }
    }

    /// Runs `request` against the pool until it succeeds or the attempts run
    /// out. The request itself may return an `Inconsistent` failure (a
    /// check on the answer failed), which is retried like any other.
    pub async fn call<T, F, Fut>(&self, what: &'static str, request: F) -> Result<T, RpcError>
    where
        F: Fn(DynProvider) -> Fut,
        Fut: Future<Output = Result<T, (FailureKind, String)>>,
    {
        let timeout = Duration::from_millis(self.settings.request_timeout_ms);
        let mut delay = Duration::from_millis(self.settings.backoff_initial_ms);
        let mut last = None;
        for attempt in 0..self.settings.rpc_attempts.max(1) {
            let (index, url, provider) = self.pick(attempt);
            let answer = async {
                let provider = self.provider(index, &url, provider).await?;
                request(provider).await
            };
            let outcome = match tokio::time::timeout(timeout, answer).await {
                Ok(outcome) => outcome,
                Err(_) => Err((FailureKind::Timeout, format!("no answer within {timeout:?}"))),
            };
            let url = url.to_string();
            match outcome {
                Ok(value) => {
                    self.record(index, true);
                    return Ok(value);
                }
                Err((kind, message)) => {
                    self.metrics.rpc_error(kind.label());
                    let failure = Failure { kind, url, message };
                    if kind == FailureKind::TooManyResults {
                        return Err(RpcError::TooManyResults { what, last: failure });
                    }
                    tracing::debug!(%failure, attempt, "{what} failed");
                    self.record(index, false);
                    last = Some(failure);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(self.settings.backoff_max_ms));
                }
            }
        }
        Err(RpcError::Exhausted { what, last: last.expect("at least one attempt ran") })
    }
}

/// Maps a transport error for [`RpcPool::call`].
pub fn failure(error: TransportError<TransportErrorKind>) -> (FailureKind, String) {
    (classify(&error), error.to_string())
}
