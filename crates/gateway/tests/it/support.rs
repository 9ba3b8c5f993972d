//! What the gateway's tests share: a gateway served on loopback, and the
//! real provider sidecar in front of a node, so answers carry valid
//! `cairn-answer` signatures by a chosen key.

use std::{net::SocketAddr, sync::Arc};

use alloy_primitives::Address;
use axum::Router;
use cairn_config::GatewayConfig;
use cairn_gateway::{Endpoint, Gateway, MemoryEvidence, StaticEndpoints};
use serde_json::{Value, json};

pub(crate) const CHAIN: &str = "eip155:31337";

/// A server on a loopback port, stopped when dropped.
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    pub(crate) async fn start(router: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { address, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A gateway over `endpoints` with its evidence kept in memory.
pub(crate) async fn gateway(
    config: GatewayConfig,
    endpoints: Vec<Endpoint>,
) -> (Served, Arc<MemoryEvidence>) {
    let evidence = Arc::new(MemoryEvidence::default());
    let gateway = Gateway::with_evidence(
        config,
        Arc::new(StaticEndpoints::new(CHAIN, endpoints)),
        evidence.clone(),
    );
    (Served::start(gateway.router()).await, evidence)
}

pub(crate) fn endpoint(url: String, operator: Address) -> Endpoint {
    Endpoint { provider: format!("{CHAIN}:{operator}"), url, operator, weight: 1.0 }
}

/// Quiet defaults for tests: no hedging unless a test turns it on.
pub(crate) fn config() -> GatewayConfig {
    let mut config = GatewayConfig::default();
    config.hedging.enabled = false;
    config.attempt_timeout_ms = 2_000;
    config
}

pub(crate) fn rpc_url(gateway: &Served) -> String {
    format!("{}/v1/rpc/{CHAIN}", gateway.url())
}

/// Posts `body` to the gateway's RPC route; the status and the JSON answer.
pub(crate) async fn post(gateway: &Served, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(rpc_url(gateway))
        .json(body)
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON answer")
}

pub(crate) async fn status(gateway: &Served) -> Value {
    reqwest::get(format!("{}/v1/rpc/status", gateway.url()))
        .await
        .expect("status answers")
        .json()
        .await
        .expect("status JSON")
}

/// The breaker state of the endpoint at `url` in `/v1/rpc/status`.
pub(crate) async fn breaker(gateway: &Served, url: &str) -> String {
    let status = status(gateway).await;
    status["chains"][0]["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|e| e["url"] == url)
        .map(|e| e["breaker"].as_str().expect("breaker").to_owned())
        .expect("endpoint listed")
}

pub(crate) async fn direct(upstream: &str, method: &str, params: Value) -> Value {
    let answer: Value = reqwest::Client::new()
        .post(upstream)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .expect("node answers")
        .json()
        .await
        .expect("JSON");
    answer["result"].clone()
}

/// The provider sidecar (`cairn_sidecar`, what `cairn provider serve` runs)
/// in front of `upstream`, signing every answer with `key`.
pub(crate) async fn signing_proxy(upstream: String, key: &str) -> Served {
    let signer = Arc::new(cairn_signer::LocalSigner::from_hex(key).expect("dev key"));
    let config = cairn_sidecar::SidecarConfig::new(
        upstream.parse().expect("url"),
        CHAIN.parse().expect("chain"),
        signer,
    );
    let state = cairn_sidecar::SidecarState::connect(config).await.expect("the sidecar starts");
    Served::start(cairn_sidecar::app(state)).await
}
