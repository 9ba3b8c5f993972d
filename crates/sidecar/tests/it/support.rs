//! What the sidecar tests share: a sidecar over HTTP in front of a node,
//! requests to it, and checks of the answers' signatures.

use std::{sync::Arc, time::Duration};

use alloy_primitives::Address;
use cairn_core::answer::{ANSWER_HEADER, AnswerHeader};
use cairn_sidecar::{SidecarConfig, SidecarState, app};
use cairn_signer::LocalSigner;
use cairn_test_utils::{DEV_KEY_1, address_of};
use serde_json::{Value, json};

/// anvil's default chain.
pub(crate) const ANVIL_CHAIN: &str = "eip155:31337";

/// The operator whose key the test sidecars sign with.
pub(crate) fn operator() -> Address {
    address_of(DEV_KEY_1)
}

/// A configuration for `upstream` on `chain`, signing with dev key 1 and
/// reading the tip every 100 ms.
pub(crate) fn config(upstream: &str, chain: &str) -> SidecarConfig {
    let signer = LocalSigner::from_hex(DEV_KEY_1).expect("dev key");
    SidecarConfig::new(
        upstream.parse().expect("upstream URL"),
        chain.parse().expect("CAIP-2 chain"),
        Arc::new(signer),
    )
    .with_tip_poll_interval(Duration::from_millis(100))
}

/// A sidecar serving HTTP on a loopback port; stops when dropped.
pub(crate) struct Sidecar {
    pub(crate) url: String,
    pub(crate) state: SidecarState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub(crate) async fn serve(config: SidecarConfig) -> Sidecar {
    let state = SidecarState::connect(config).await.expect("sidecar starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let router = app(state.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Sidecar { url, state, server }
}

/// One HTTP answer of the sidecar.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) signed: Option<String>,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn header(&self) -> AnswerHeader {
        AnswerHeader::parse(self.signed.as_deref().expect("a signed answer"))
            .expect("header parses")
    }

    /// Who signed this answer to `request`.
    pub(crate) fn signer(&self, request: &Value) -> Address {
        self.header()
            .signer(&ANVIL_CHAIN.parse().expect("chain"), request, &self.body)
            .expect("the signature recovers")
    }

    /// The JSON-RPC error code of a refusal, after checking it is the
    /// sidecar's own, unsigned, answer.
    pub(crate) fn refusal_code(&self) -> i64 {
        assert!(self.signed.is_none(), "a refusal must not be signed: {self:?}");
        assert_eq!(self.body["error"]["data"]["source"], "cairn-sidecar", "{self:?}");
        assert_eq!(self.body["jsonrpc"], "2.0");
        self.body["error"]["code"].as_i64().expect("an error code")
    }
}

pub(crate) async fn post(url: &str, request: &Value) -> Answer {
    post_bytes(url, request.to_string().into_bytes()).await
}

pub(crate) async fn post_bytes(url: &str, bytes: Vec<u8>) -> Answer {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(bytes)
        .send()
        .await
        .expect("the sidecar answers");
    let status = response.status().as_u16();
    let signed =
        response.headers().get(ANSWER_HEADER).map(|v| v.to_str().expect("ASCII header").to_owned());
    let body = response.json().await.expect("a JSON body");
    Answer { status, signed, body }
}

/// `result` of one call straight to a node.
pub(crate) async fn rpc(url: &str, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let answer: Value = reqwest::Client::new()
        .post(url)
        .json(&request)
        .send()
        .await
        .expect("node answers")
        .json()
        .await
        .expect("JSON");
    answer.get("result").cloned().unwrap_or_else(|| panic!("{method}: {answer}"))
}

pub(crate) async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("the sidecar answers");
    (response.status().as_u16(), response.json().await.expect("a JSON body"))
}

pub(crate) async fn get_text(url: &str) -> String {
    reqwest::get(url).await.expect("the sidecar answers").text().await.expect("text")
}

/// Polls `check` every 50 ms for up to 15 s.
pub(crate) async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

pub(crate) fn quantity(value: &Value) -> u64 {
    let text = value.as_str().expect("a quantity");
    u64::from_str_radix(text.trim_start_matches("0x"), 16).expect("hex")
}
