use std::time::Duration;

use cairn_gateway::rpc::NO_ENDPOINT;
use cairn_test_utils::{DEV_KEY_1, Fault, FaultyRpc, address_of, anvil};
use serde_json::json;

use crate::support::{breaker, config, endpoint, gateway, post};

#[tokio::test]
async fn breaker_opens_after_failures_refuses_then_half_opens_and_closes() {
    let node = anvil();
    // The first two calls fail; every later one passes.
    let proxy =
        FaultyRpc::start(
            node.endpoint(),
            |_, n| {
                if n < 2 { Fault::Status(503) } else { Fault::Pass }
            },
        )
        .await;
    let mut config = config();
    config.breaker_failures = 2;
    config.breaker_open_ms = 500;
    config.max_attempts = 1;
    let (gateway, _) = gateway(config, vec![endpoint(proxy.url(), address_of(DEV_KEY_1))]).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"});
    for _ in 0..2 {
        assert_eq!(post(&gateway, &call).await["error"]["code"], NO_ENDPOINT);
    }
    assert_eq!(breaker(&gateway, &proxy.url()).await, "open");
    // Open: refused without reaching the endpoint.
    let answer = post(&gateway, &call).await;
    assert_eq!(answer["error"]["code"], NO_ENDPOINT, "{answer}");
    assert_eq!(proxy.requests(), 2, "an open breaker sends nothing");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(breaker(&gateway, &proxy.url()).await, "half_open");
    // The trial call passes and closes the breaker.
    assert_eq!(post(&gateway, &call).await["result"], "0x7a69");
    assert_eq!(breaker(&gateway, &proxy.url()).await, "closed");
    assert_eq!(proxy.requests(), 3);
}

#[tokio::test]
async fn a_failed_trial_opens_the_breaker_again() {
    let node = anvil();
    let proxy = FaultyRpc::start(node.endpoint(), |_, _| Fault::Status(502)).await;
    let mut config = config();
    config.breaker_failures = 1;
    config.breaker_open_ms = 300;
    config.max_attempts = 1;
    let (gateway, _) = gateway(config, vec![endpoint(proxy.url(), address_of(DEV_KEY_1))]).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"});
    post(&gateway, &call).await;
    assert_eq!(breaker(&gateway, &proxy.url()).await, "open");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(breaker(&gateway, &proxy.url()).await, "half_open");
    post(&gateway, &call).await;
    assert_eq!(breaker(&gateway, &proxy.url()).await, "open", "the trial failed");
    assert_eq!(proxy.requests(), 2);
    let metrics = reqwest::get(format!("{}/v1/rpc/metrics", gateway.url()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(&format!(
            "cairn_gateway_breaker_state{{chain=\"eip155:31337\",url=\"{}\"}} 2",
            proxy.url()
        )),
        "{metrics}"
    );
}
