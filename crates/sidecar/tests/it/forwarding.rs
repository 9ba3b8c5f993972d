//! Calls and batches reach the node, and every answer carries the
//! operator's signature over exactly what was answered.

use cairn_test_utils::{DEV_KEY_0, Fault, FaultyRpc, address_of, anvil};
use serde_json::{Value, json};

use crate::support::{ANVIL_CHAIN, config, operator, post, quantity, rpc, serve};

#[tokio::test]
async fn a_single_call_is_forwarded_and_signed_by_the_operator() {
    let anvil = anvil();
    let sidecar = serve(config(&anvil.endpoint(), ANVIL_CHAIN)).await;
    let account = address_of(DEV_KEY_0).to_string();
    let request = json!({
        "jsonrpc": "2.0", "id": 7, "method": "eth_getBalance", "params": [account, "latest"],
    });
    let answer = post(&sidecar.url, &request).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["id"], 7);
    assert_eq!(
        answer.body["result"],
        rpc(&anvil.endpoint(), "eth_getBalance", json!([account, "latest"])).await
    );
    assert_eq!(answer.signer(&request), operator());

    // The header names the tip the sidecar served from, as the node has it.
    let header = answer.header();
    assert_eq!(header.chain.to_string(), ANVIL_CHAIN);
    let block = rpc(&anvil.endpoint(), "eth_getBlockByNumber", json!(["latest", false])).await;
    assert_eq!(header.block_number, quantity(&block["number"]));
    assert_eq!(header.block_hash.to_string(), block["hash"].as_str().unwrap());
}

#[tokio::test]
async fn a_batch_is_answered_in_request_order_and_signed_as_one() {
    let anvil = anvil();
    let sidecar = serve(config(&anvil.endpoint(), ANVIL_CHAIN)).await;
    let request = json!([
        {"jsonrpc": "2.0", "id": "first", "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance",
         "params": [address_of(DEV_KEY_0).to_string(), "latest"]},
        {"jsonrpc": "2.0", "id": 4, "method": "cairn_noSuchMethod", "params": []},
    ]);
    let answer = post(&sidecar.url, &request).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let answers = answer.body.as_array().expect("a batch answer");
    let ids: Vec<&Value> = answers.iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [&json!("first"), &json!(2), &json!(3), &json!(4)]);
    assert_eq!(answers[0]["result"], "0x7a69");
    assert_eq!(answers[1]["result"], rpc(&anvil.endpoint(), "eth_blockNumber", json!([])).await);
    assert!(answers[3]["error"]["code"].is_i64(), "the node's own error is relayed: {answer:?}");
    assert_eq!(answer.signer(&request), operator());
}

#[tokio::test]
async fn a_batch_the_node_answers_out_of_order_is_put_in_call_order_before_signing() {
    let anvil = anvil();
    let proxy = FaultyRpc::start(anvil.endpoint(), |method, _| {
        if method == "batch" { Fault::ReverseBatch } else { Fault::Pass }
    })
    .await;
    let sidecar = serve(config(&proxy.url(), ANVIL_CHAIN)).await;
    let request = json!([
        {"jsonrpc": "2.0", "id": 10, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 11, "method": "eth_blockNumber"},
        {"jsonrpc": "2.0", "id": 12, "method": "net_version"},
    ]);
    let answer = post(&sidecar.url, &request).await;
    assert_eq!(proxy.injected(Fault::ReverseBatch), 1, "the node's answer came reversed");
    let ids: Vec<&Value> = answer.body.as_array().unwrap().iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [&json!(10), &json!(11), &json!(12)]);
    assert_eq!(answer.body[0]["result"], "0x7a69");
    assert_eq!(answer.signer(&request), operator());
}

#[tokio::test]
async fn the_nodes_error_answer_is_relayed_and_signed() {
    let anvil = anvil();
    let sidecar = serve(config(&anvil.endpoint(), ANVIL_CHAIN)).await;
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "cairn_noSuchMethod", "params": []});
    let answer = post(&sidecar.url, &request).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body["error"]["code"].is_i64(), "{answer:?}");
    assert!(answer.body["error"].get("data").is_none_or(|d| d.get("source").is_none()));
    assert_eq!(answer.signer(&request), operator());
}

#[tokio::test]
async fn an_answer_altered_below_the_sidecar_is_signed_as_served() {
    let anvil = anvil();
    let proxy = FaultyRpc::start(anvil.endpoint(), |method, _| {
        if method == "eth_getBalance" { Fault::AlterResult } else { Fault::Pass }
    })
    .await;
    let sidecar = serve(config(&proxy.url(), ANVIL_CHAIN)).await;
    let account = address_of(DEV_KEY_0).to_string();
    let request = json!({
        "jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": [account, "latest"],
    });
    let answer = post(&sidecar.url, &request).await;
    let truth = rpc(&anvil.endpoint(), "eth_getBalance", json!([account, "latest"])).await;
    assert_eq!(proxy.injected(Fault::AlterResult), 1);
    assert_ne!(answer.body["result"], truth, "the proxy lied");
    // The operator's valid signature is over the wrong answer, which makes
    // it evidence; over the true answer the same signature names nobody.
    assert_eq!(answer.signer(&request), operator());
    let mut honest = answer.body.clone();
    honest["result"] = truth;
    let recovered = answer.header().signer(&ANVIL_CHAIN.parse().unwrap(), &request, &honest);
    assert_ne!(recovered.ok(), Some(operator()));
}
