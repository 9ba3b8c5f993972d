//! The prober against real nodes: anvil instances behind fault-injecting
//! proxies (`cairn_test_utils::faulty_rpc`), with results stored on SQLite
//! and PostgreSQL.

mod probes;
mod rounds;
mod schedule;

use std::time::Duration;

use alloy_primitives::{Address, B256};
use cairn_prober::{Client, Target};

/// A target for `url`, registered as serving `chain` and operated by
/// `operator`.
pub(crate) fn target(url: &str, chain: &str, operator: Address) -> Target {
    Target {
        registry_chain: "eip155:31337".into(),
        service_id: B256::with_last_byte(1),
        chain: chain.parse().unwrap(),
        provider: format!("{operator:#x}"),
        operator,
        url: url.into(),
    }
}

pub(crate) fn client(timeout_ms: u64) -> Client {
    Client::new(Duration::from_millis(timeout_ms))
}

/// Sends one JSON-RPC call to `url` and returns its result.
pub(crate) async fn rpc(url: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let answer: serde_json::Value = serde_json::from_slice(
        &reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    answer["result"].clone()
}
