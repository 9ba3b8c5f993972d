#![doc = include_str!("../README.md")]

mod error;
mod metrics;
mod proxy;
mod tip;
mod upstream;
mod ws;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::{StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use cairn_core::ChainId;
use cairn_signer::Signer;
use serde_json::json;

pub use error::{SidecarError, codes};
pub use tip::Tip;

use crate::{
    metrics::Metrics,
    tip::{Health, TipTracker},
    upstream::Upstream,
};

/// Largest request body accepted unless configured otherwise (1 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1 << 20;
/// Largest upstream answer relayed unless configured otherwise (64 MiB):
/// `eth_getLogs` and traces can be large, but an answer must be held whole
/// to be signed.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 << 20;
/// Most calls in one batch unless configured otherwise.
pub const DEFAULT_MAX_BATCH: usize = 100;
/// How long the node may take to answer one request.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the node's tip is read.
pub const DEFAULT_TIP_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The member of a WebSocket answer that carries its signature: the same
/// text as the `cairn-answer` header of an HTTP answer.
pub const WS_ANSWER_FIELD: &str = "cairn_answer";

/// Where the sidecar listens unless told otherwise (loopback only).
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8645);

/// What a sidecar serves and how.
#[derive(Debug, Clone)]
pub struct SidecarConfig {
    /// The node's JSON-RPC endpoint (http or https).
    pub upstream: url::Url,
    /// The node's WebSocket endpoint (ws or wss), if it has one: clients'
    /// WebSockets (`eth_subscribe`) are passed through to it.
    pub upstream_ws: Option<url::Url>,
    /// The chain the node must serve; every answer is signed for it.
    pub chain: ChainId,
    /// The operator key that signs answers.
    pub signer: Arc<dyn Signer>,
    /// Where [`run`] listens.
    pub listen: SocketAddr,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
    pub max_batch: usize,
    pub upstream_timeout: Duration,
    pub tip_poll_interval: Duration,
    /// `/cairn/health` answers 503 once the last successful tip read is
    /// older than this.
    pub stale_after: Duration,
}

impl SidecarConfig {
    /// A configuration with the defaults above; `stale_after` is three poll
    /// intervals (at least two seconds), so one slow poll does not flap it.
    pub fn new(upstream: url::Url, chain: ChainId, signer: Arc<dyn Signer>) -> Self {
        Self {
            upstream,
            upstream_ws: None,
            chain,
            signer,
            listen: DEFAULT_LISTEN,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_batch: DEFAULT_MAX_BATCH,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
            tip_poll_interval: DEFAULT_TIP_POLL_INTERVAL,
            stale_after: stale_after(DEFAULT_TIP_POLL_INTERVAL),
        }
    }

    /// Sets the poll interval and the staleness limit that goes with it.
    pub fn with_tip_poll_interval(mut self, interval: Duration) -> Self {
        self.tip_poll_interval = interval;
        self.stale_after = stale_after(interval);
        self
    }
}

fn stale_after(interval: Duration) -> Duration {
    (interval * 3).max(Duration::from_secs(2))
}

/// Everything a request handler reaches; cheap to clone. The tip poller
/// runs while any clone is alive.
#[derive(Debug, Clone)]
pub struct SidecarState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: SidecarConfig,
    upstream: Upstream,
    tip: Arc<TipTracker>,
    metrics: Arc<Metrics>,
    // Held only to stop the poller when the last clone of the state drops.
    _poller: AbortOnDrop,
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SidecarState {
    /// Checks that the upstream serves `config.chain`, reads its tip and
    /// starts following it. Refuses to start on any other chain, and when
    /// the node cannot be asked (the chain check cannot be skipped).
    pub async fn connect(config: SidecarConfig) -> Result<Self, SidecarError> {
        if !matches!(config.upstream.scheme(), "http" | "https") {
            return Err(SidecarError::UpstreamScheme(error::shown(&config.upstream)));
        }
        if let Some(url) = &config.upstream_ws
            && !matches!(url.scheme(), "ws" | "wss")
        {
            return Err(SidecarError::UpstreamWsScheme(error::shown(url)));
        }
        let metrics = Arc::new(Metrics::default());
        let upstream = Upstream::new(&config, metrics.clone())?;
        upstream.check_chain(&config.chain).await?;
        if let Some(url) = &config.upstream_ws {
            ws::check_chain(url, &config.chain, config.upstream_timeout).await?;
        }
        let tip = Arc::new(TipTracker::default());
        let first = tip::fetch(&upstream).await.map_err(|message| SidecarError::Unreachable {
            url: error::shown(&config.upstream),
            message,
        })?;
        let _ = tip.record(Ok(first));
        let poller = AbortOnDrop(tokio::spawn(tip::poll(
            upstream.clone(),
            tip.clone(),
            config.tip_poll_interval,
        )));
        Ok(Self(Arc::new(Inner { config, upstream, tip, metrics, _poller: poller })))
    }

    pub fn config(&self) -> &SidecarConfig {
        &self.0.config
    }

    /// The newest tip read from the node.
    pub fn tip(&self) -> Option<Tip> {
        self.0.tip.current()
    }
}

/// The sidecar's routes: `POST /` (JSON-RPC), `GET /` (WebSocket, when the
/// node has one), `GET /cairn/tip`, `GET /cairn/health`, `GET /metrics`.
pub fn app(state: SidecarState) -> Router {
    let limit = state.0.config.max_request_bytes;
    Router::new()
        .route("/", post(proxy::rpc).get(ws::upgrade))
        .route("/cairn/tip", get(served_tip))
        .route("/cairn/health", get(health))
        .route("/metrics", get(render_metrics))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Connects (see [`SidecarState::connect`]), listens on `config.listen` and
/// serves until Ctrl-C or SIGTERM.
pub async fn run(config: SidecarConfig) -> Result<(), SidecarError> {
    let address = config.listen;
    let state = SidecarState::connect(config).await?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| SidecarError::Listen { address, source })?;
    let bound = listener.local_addr().unwrap_or(address);
    let tip = state.tip();
    tracing::info!(
        listen = %bound,
        chain = %state.0.config.chain,
        operator = %state.0.config.signer.address(),
        tip = tip.map_or(0, |t| t.number),
        "provider sidecar serving"
    );
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|source| SidecarError::Listen { address: bound, source })?;
    tracing::info!("provider sidecar stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM (what process managers send); every long-running
/// `cairn` command stops on it.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

async fn served_tip(State(state): State<SidecarState>) -> axum::response::Response {
    match state.tip() {
        Some(tip) => Json(tip.to_json(&state.0.config.chain)).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "chain": state.0.config.chain.to_string(),
                "reason": "no_tip_yet",
                "detail": "no block has been read from the upstream node yet",
            })),
        )
            .into_response(),
    }
}

async fn health(State(state): State<SidecarState>) -> axum::response::Response {
    let config = &state.0.config;
    let health = state.0.tip.health(config.stale_after);
    let tip = state.tip().map(|t| t.to_json(&config.chain));
    let body = |status: &str, reason: &str, detail: Option<&str>| {
        json!({
            "status": status,
            "reason": reason,
            "detail": detail,
            "chain": config.chain.to_string(),
            "tip": tip,
            "last_ok_ms_ago": state.0.tip.last_ok_age().map(|age| age.as_millis() as u64),
        })
    };
    match health {
        Health::Ok => (StatusCode::OK, Json(body("ok", "ok", None))).into_response(),
        Health::Unhealthy { reason, detail } => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(body("unhealthy", reason, Some(&detail))))
                .into_response()
        }
    }
}

async fn render_metrics(State(state): State<SidecarState>) -> impl IntoResponse {
    let text = state.0.metrics.render(
        &state.0.config.chain,
        state.tip(),
        matches!(state.0.tip.health(state.0.config.stale_after), Health::Ok),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
