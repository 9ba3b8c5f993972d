use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, address_of, anvil, free_port};
use serde_json::json;

use crate::support::{breaker, config, direct, endpoint, gateway, post};

#[tokio::test]
async fn reads_keep_answering_when_one_endpoint_is_dead() {
    let node = anvil();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut config = config();
    // One failure opens it: a failed endpoint costs more, so the chooser
    // may not try it twice.
    config.breaker_failures = 1;
    config.breaker_open_ms = 60_000;
    // The dead endpoint weighs most, so it is tried first.
    let mut preferred = endpoint(dead.clone(), address_of(DEV_KEY_1));
    preferred.weight = 1e9;
    let (gateway, _) =
        gateway(config, vec![preferred, endpoint(node.endpoint(), address_of(DEV_KEY_2))]).await;
    let expected = direct(&node.endpoint(), "eth_chainId", json!([])).await;
    for id in 0..20 {
        let answer =
            post(&gateway, &json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId"})).await;
        assert_eq!(answer["result"], expected, "call {id}: {answer}");
        assert_eq!(answer["id"], id);
    }
    assert_eq!(breaker(&gateway, &dead).await, "open", "the dead endpoint's breaker opened");
    assert_eq!(breaker(&gateway, &node.endpoint()).await, "closed");
}

#[tokio::test]
async fn a_batch_is_answered_in_order_with_the_clients_ids() {
    let node = anvil();
    let (gateway, _) =
        gateway(config(), vec![endpoint(node.endpoint(), address_of(DEV_KEY_1))]).await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "id": "c", "method": "eth_getBalance",
         "params": [format!("{:#x}", address_of(DEV_KEY_1)), "latest"]},
    ]);
    let answer = post(&gateway, &batch).await;
    let answers = answer.as_array().expect("a batch answer");
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0]["id"], "a");
    assert_eq!(answers[0]["result"], "0x7a69");
    assert_eq!(answers[1]["id"], 7);
    assert_eq!(answers[1]["result"], "0x0");
    assert_eq!(answers[2]["id"], "c");
    assert_eq!(
        answers[2]["result"],
        direct(
            &node.endpoint(),
            "eth_getBalance",
            json!([format!("{:#x}", address_of(DEV_KEY_1)), "latest"])
        )
        .await
    );
}

#[tokio::test]
async fn reads_keep_answering_when_an_endpoint_dies_mid_run() {
    let node = anvil();
    let doomed =
        cairn_test_utils::FaultyRpc::start(node.endpoint(), |_, _| cairn_test_utils::Fault::Pass)
            .await;
    let survivor =
        cairn_test_utils::FaultyRpc::start(node.endpoint(), |_, _| cairn_test_utils::Fault::Pass)
            .await;
    let doomed_url = doomed.url();
    let (gateway, _) = gateway(
        config(),
        vec![
            endpoint(doomed_url.clone(), address_of(DEV_KEY_1)),
            endpoint(survivor.url(), address_of(DEV_KEY_2)),
        ],
    )
    .await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"});
    for _ in 0..10 {
        assert_eq!(post(&gateway, &call).await["result"], "0x7a69");
    }
    drop(doomed);
    for i in 0..30 {
        let answer = post(&gateway, &call).await;
        assert_eq!(answer["result"], "0x7a69", "call {i} after the death: {answer}");
    }
    assert!(survivor.requests() >= 30, "the survivor took the load");
}
