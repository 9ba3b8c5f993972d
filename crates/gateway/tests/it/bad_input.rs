use cairn_gateway::rpc::{BATCH_TOO_LARGE, INVALID_REQUEST, METHOD_NOT_ALLOWED, PARSE_ERROR};
use cairn_test_utils::{DEV_KEY_1, Fault, FaultyRpc, address_of, anvil};
use serde_json::{Value, json};

use crate::support::{Served, config, endpoint, gateway, post, rpc_url};

async fn raw(gateway: &Served, url: &str, body: Vec<u8>) -> (u16, String, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let _ = gateway;
    (status, kind, response.json().await.expect("JSON body"))
}

#[tokio::test]
async fn bad_input_gets_stable_errors_and_reaches_no_endpoint() {
    let node = anvil();
    let proxy = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let mut config = config();
    config.max_batch = 3;
    config.max_body_bytes = 2_048;
    let (gateway, _) = gateway(config, vec![endpoint(proxy.url(), address_of(DEV_KEY_1))]).await;
    let url = rpc_url(&gateway);

    let (status, _, answer) = raw(&gateway, &url, b"{not json".to_vec()).await;
    assert_eq!((status, answer["error"]["code"].clone()), (200, json!(PARSE_ERROR)));
    assert_eq!(answer["id"], Value::Null);

    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"});
    let answer = post(&gateway, &json!([call, call, call, call])).await;
    assert_eq!(answer["error"]["code"], BATCH_TOO_LARGE, "{answer}");
    assert_eq!(post(&gateway, &json!([])).await["error"]["code"], INVALID_REQUEST);

    let answer = post(
        &gateway,
        &json!({"jsonrpc": "2.0", "id": 2, "method": "eth_sendTransaction", "params": [{}]}),
    )
    .await;
    assert_eq!(answer["error"]["code"], METHOD_NOT_ALLOWED, "{answer}");
    assert_eq!(answer["id"], 2);
    let answer =
        post(&gateway, &json!({"jsonrpc": "2.0", "id": 3, "method": "anvil_setBalance"})).await;
    assert_eq!(answer["error"]["code"], METHOD_NOT_ALLOWED);

    // A notification, a call without a version, and junk in a batch are
    // each refused in place; the valid call beside them is answered.
    let answer = post(
        &gateway,
        &json!([
            {"jsonrpc": "2.0", "method": "eth_chainId"},
            {"id": 5, "method": "eth_chainId"},
            call,
        ]),
    )
    .await;
    assert_eq!(answer[0]["error"]["code"], INVALID_REQUEST);
    assert_eq!(answer[1]["error"]["code"], INVALID_REQUEST);
    assert_eq!(answer[2]["result"], "0x7a69");
    let answered = proxy.requests();
    assert_eq!(answered, 1, "only the valid call was forwarded");

    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["{}"]}}"#,
        "a".repeat(4_096)
    );
    let (status, kind, problem) = raw(&gateway, &url, big.into_bytes()).await;
    assert_eq!(status, 413);
    assert_eq!(kind, "application/problem+json");
    assert_eq!(problem["code"], "body_too_large");

    let other = format!("{}/v1/rpc/eip155:999", gateway.url());
    let (status, kind, problem) = raw(&gateway, &other, serde_json::to_vec(&call).unwrap()).await;
    assert_eq!((status, kind.as_str()), (404, "application/problem+json"));
    assert_eq!(problem["code"], "unknown_chain");
    let (status, _, problem) = raw(
        &gateway,
        &format!("{}/v1/rpc/not-a-chain", gateway.url()),
        serde_json::to_vec(&call).unwrap(),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("unknown_chain")));
    assert_eq!(proxy.requests(), answered, "nothing bad was forwarded");
}
