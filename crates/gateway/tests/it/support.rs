//! What the gateway's tests share: a gateway served on loopback, and a
//! small signing proxy that stands in for a provider's sidecar (the real
//! one is `cairn provider serve`), so answers carry valid `cairn-answer`
//! signatures by a chosen key.

use std::{net::SocketAddr, sync::Arc};

use alloy::signers::{SignerSync, local::PrivateKeySigner};
use alloy_primitives::{Address, B256};
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue},
};
use cairn_config::GatewayConfig;
use cairn_core::{
    ChainId,
    answer::{ANSWER_HEADER, AnswerClaim, AnswerHeader},
};
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

struct Signer {
    upstream: String,
    key: PrivateKeySigner,
    chain: ChainId,
    client: reqwest::Client,
}

/// A proxy that forwards single calls to `upstream` and signs each answer
/// with `key`, from the upstream's tip, as a sidecar does.
pub(crate) async fn signing_proxy(upstream: String, key: &str) -> Served {
    let signer = Arc::new(Signer {
        upstream,
        key: key.parse().expect("key"),
        chain: CHAIN.parse().expect("chain"),
        client: reqwest::Client::new(),
    });
    Served::start(Router::new().route("/", axum::routing::post(sign)).with_state(signer)).await
}

async fn sign(State(signer): State<Arc<Signer>>, body: Bytes) -> (HeaderMap, Bytes) {
    let forward = |body: Vec<u8>| {
        signer
            .client
            .post(&signer.upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let Ok(answer) = forward(body.to_vec()).await else { return (HeaderMap::new(), Bytes::new()) };
    let answer = answer.bytes().await.unwrap_or_default();
    let (Ok(request), Ok(response)) =
        (serde_json::from_slice::<Value>(&body), serde_json::from_slice::<Value>(&answer))
    else {
        return (HeaderMap::new(), answer);
    };
    let tip = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["latest", false]});
    let tip: Value = match forward(serde_json::to_vec(&tip).expect("json")).await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => Value::Null,
    };
    let number = tip["result"]["number"]
        .as_str()
        .and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    let hash: B256 =
        tip["result"]["hash"].as_str().and_then(|h| h.parse().ok()).unwrap_or_default();
    let mut headers = HeaderMap::new();
    if let Ok(claim) = AnswerClaim::new(signer.chain.clone(), &request, &response, number, hash) {
        let signature = signer.key.sign_hash_sync(&claim.digest()).expect("sign");
        let header = AnswerHeader {
            chain: signer.chain.clone(),
            block_number: number,
            block_hash: hash,
            signature: signature.as_bytes(),
        };
        headers.insert(ANSWER_HEADER, HeaderValue::from_str(&header.render()).expect("header"));
    }
    (headers, answer)
}
