use cairn_gateway::rpc::NO_ENDPOINT;
use cairn_test_utils::{DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, address_of, anvil};
use serde_json::json;

use crate::support::{config, endpoint, gateway, post, signing_proxy, status};

#[tokio::test]
async fn an_answer_signed_by_the_wrong_key_is_refused_and_never_evidence() {
    let node = anvil();
    // Registered for key 3's operator, but signs with key 0.
    let impostor = signing_proxy(node.endpoint(), DEV_KEY_0).await;
    let (gateway, evidence) =
        gateway(config(), vec![endpoint(impostor.url(), address_of(DEV_KEY_3))]).await;
    let answer =
        post(&gateway, &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"})).await;
    assert_eq!(answer["error"]["code"], NO_ENDPOINT, "{answer}");
    assert_eq!(answer["error"]["data"]["kind"], "bad_signature");
    assert!(evidence.records().is_empty());
}

#[tokio::test]
async fn the_right_signers_answer_wins_over_an_impostor() {
    let node = anvil();
    let impostor = signing_proxy(node.endpoint(), DEV_KEY_0).await;
    let honest = signing_proxy(node.endpoint(), DEV_KEY_1).await;
    let mut config = config();
    config.require_signed = true;
    config.max_attempts = 2;
    let (gateway, evidence) = gateway(
        config,
        vec![
            endpoint(impostor.url(), address_of(DEV_KEY_2)),
            endpoint(honest.url(), address_of(DEV_KEY_1)),
        ],
    )
    .await;
    for id in 0..6 {
        let answer =
            post(&gateway, &json!({"jsonrpc": "2.0", "id": id, "method": "eth_chainId"})).await;
        assert_eq!(answer["result"], "0x7a69", "{answer}");
    }
    assert!(evidence.records().is_empty());
    let status = status(&gateway).await;
    let impostor_status = status["chains"][0]["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|e| e["url"] == impostor.url())
        .expect("listed")
        .clone();
    let last = impostor_status["last_failure"].as_str().unwrap_or_default();
    assert!(last.starts_with("bad_signature"), "{impostor_status}");
}

#[tokio::test]
async fn unsigned_answers_are_refused_when_signatures_are_required() {
    let node = anvil();
    let mut config = config();
    config.require_signed = true;
    let (gateway, _) =
        gateway(config, vec![endpoint(node.endpoint(), address_of(DEV_KEY_1))]).await;
    let answer = post(&gateway, &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})).await;
    assert_eq!(answer["error"]["data"]["kind"], "unsigned", "{answer}");
}
