use cairn_gateway::rpc::NO_ENDPOINT;
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Fault, FaultyRpc, address_of, anvil};
use serde_json::json;

use crate::support::{config, endpoint, gateway, post, status};

#[tokio::test]
async fn retries_stop_when_the_budget_is_spent() {
    let node = anvil();
    let mut proxies = Vec::new();
    for _ in 0..3 {
        proxies.push(FaultyRpc::start(node.endpoint(), |_, _| Fault::Status(503)).await);
    }
    let keys = [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3];
    let mut config = config();
    config.max_attempts = 3;
    config.retry_budget_percent = 0;
    config.retry_budget_reserve = 2;
    // Breakers stay closed, so only the budget limits the retries.
    config.breaker_failures = 1_000;
    let endpoints =
        proxies.iter().zip(keys).map(|(p, k)| endpoint(p.url(), address_of(k))).collect();
    let (gateway, _) = gateway(config, endpoints).await;
    for id in 0..10 {
        let answer =
            post(&gateway, &json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId"})).await;
        assert_eq!(answer["error"]["code"], NO_ENDPOINT, "{answer}");
        assert_eq!(answer["error"]["data"]["kind"], "status");
    }
    let sent: u64 = proxies.iter().map(FaultyRpc::requests).sum();
    assert_eq!(sent, 12, "ten first tries and the reserve's two retries");
    let counters = &status(&gateway).await["counters"];
    assert_eq!(counters["retries"], 2);
    assert_eq!(counters["retries_denied"], 9);
}

#[tokio::test]
async fn a_retry_on_another_endpoint_answers_after_limit_and_status_errors() {
    let node = anvil();
    let limited = FaultyRpc::start(node.endpoint(), |_, _| Fault::TooManyResults).await;
    let busy = FaultyRpc::start(node.endpoint(), |_, _| Fault::Status(429)).await;
    let good = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let mut config = config();
    config.max_attempts = 3;
    let (gateway, _) = gateway(
        config,
        vec![
            endpoint(limited.url(), address_of(DEV_KEY_1)),
            endpoint(busy.url(), address_of(DEV_KEY_2)),
            endpoint(good.url(), address_of(DEV_KEY_3)),
        ],
    )
    .await;
    for id in 0..5 {
        let answer =
            post(&gateway, &json!({"jsonrpc": "2.0", "id": id, "method": "eth_blockNumber"})).await;
        assert_eq!(answer["result"], "0x0", "{answer}");
    }
    assert_eq!(good.requests(), 5, "every call ended on the good endpoint");
}
