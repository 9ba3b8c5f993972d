//! A node that dies, stalls or errs: the client gets a JSON-RPC error with
//! a stable code, never a signature, and health says so.

use std::time::{Duration, Instant};

use cairn_sidecar::codes;
use cairn_test_utils::{Fault, FaultyRpc, anvil};
use serde_json::json;

use crate::support::{ANVIL_CHAIN, config, get, operator, post, serve, wait_until};

#[tokio::test]
async fn a_killed_node_gets_error_answers_and_health_turns_503() {
    let anvil = anvil();
    let port = anvil.port();
    let sidecar = serve(config(&anvil.endpoint(), ANVIL_CHAIN)).await;
    let request = json!({"jsonrpc": "2.0", "id": 5, "method": "eth_blockNumber"});
    let (status, health) = get(&format!("{}/cairn/health", sidecar.url)).await;
    assert_eq!((status, &health["status"]), (200, &json!("ok")), "{health}");
    assert_eq!(post(&sidecar.url, &request).await.signer(&request), operator());

    drop(anvil);
    let answer = post(&sidecar.url, &request).await;
    assert_eq!(answer.status, 502, "{answer:?}");
    assert_eq!(answer.refusal_code(), codes::UPSTREAM_UNAVAILABLE);
    assert_eq!(answer.body["id"], 5);
    assert_eq!(answer.body["error"]["data"]["reason"], "upstream_unavailable");
    // Clients never learn where the node is.
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(!message.contains(&port.to_string()), "{message}");

    let url = format!("{}/cairn/health", sidecar.url);
    wait_until("health to turn 503", async || get(&url).await.0 == 503).await;
    let (_, health) = get(&url).await;
    assert_eq!(health["status"], "unhealthy");
    assert_eq!(health["reason"], "upstream_error");
    assert!(
        health["detail"].as_str().is_some_and(|d| d.contains("eth_getBlockByNumber")),
        "{health}"
    );
}

#[tokio::test]
async fn a_node_that_stalls_gets_a_timeout_answer() {
    let anvil = anvil();
    let proxy = FaultyRpc::start(anvil.endpoint(), |method, _| {
        if method == "eth_getBalance" { Fault::Stall(Duration::from_secs(10)) } else { Fault::Pass }
    })
    .await;
    let mut config = config(&proxy.url(), ANVIL_CHAIN);
    config.upstream_timeout = Duration::from_millis(300);
    let sidecar = serve(config).await;
    let request = json!({
        "jsonrpc": "2.0", "id": "t", "method": "eth_getBalance",
        "params": ["0x0000000000000000000000000000000000000001", "latest"],
    });
    let started = Instant::now();
    let answer = post(&sidecar.url, &request).await;
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(answer.status, 504, "{answer:?}");
    assert_eq!(answer.refusal_code(), codes::UPSTREAM_TIMEOUT);
    assert_eq!(answer.body["id"], "t");
}

#[tokio::test]
async fn http_errors_and_broken_answers_of_the_node_are_not_signed() {
    let anvil = anvil();
    let proxy = FaultyRpc::start(anvil.endpoint(), |method, _| match method {
        "eth_gasPrice" => Fault::Status(429),
        "eth_getBalance" => Fault::Status(500),
        "net_version" => Fault::Truncate,
        _ => Fault::Pass,
    })
    .await;
    let sidecar = serve(config(&proxy.url(), ANVIL_CHAIN)).await;
    let call = |method: &str| json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []});

    let limited = post(&sidecar.url, &call("eth_gasPrice")).await;
    assert_eq!((limited.status, limited.refusal_code()), (429, codes::UPSTREAM_UNAVAILABLE));
    let failed = post(&sidecar.url, &call("eth_getBalance")).await;
    assert_eq!((failed.status, failed.refusal_code()), (502, codes::UPSTREAM_UNAVAILABLE));
    let broken = post(&sidecar.url, &call("net_version")).await;
    assert_eq!((broken.status, broken.refusal_code()), (502, codes::UPSTREAM_INVALID));
    // The node itself stays healthy: these were answers, not outages.
    assert_eq!(get(&format!("{}/cairn/health", sidecar.url)).await.0, 200);
}
