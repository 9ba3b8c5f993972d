use alloy::{
    network::TransactionBuilder,
    primitives::U256,
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
};
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Fault, FaultyRpc, address_of, anvil,
};
use serde_json::json;

use crate::support::{config, direct, endpoint, gateway, rpc_url};

#[tokio::test]
async fn a_transaction_goes_to_every_write_endpoint_once_even_when_one_fails() {
    let node = anvil();
    let failing = FaultyRpc::start(node.endpoint(), |method, _| {
        if method == "eth_sendRawTransaction" { Fault::Status(503) } else { Fault::Pass }
    })
    .await;
    let a = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let b = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let mut config = config();
    config.write_fanout = 3;
    let (gateway, _) = gateway(
        config,
        vec![
            endpoint(failing.url(), address_of(DEV_KEY_1)),
            endpoint(a.url(), address_of(DEV_KEY_2)),
            endpoint(b.url(), address_of(DEV_KEY_3)),
        ],
    )
    .await;
    let wallet = ProviderBuilder::new()
        .wallet(
            alloy::signers::local::PrivateKeySigner::from_bytes(&DEV_KEY_0.parse().expect("key"))
                .expect("signer"),
        )
        .connect_http(rpc_url(&gateway).parse().expect("url"));
    let to = address_of(DEV_KEY_3);
    let before =
        direct(&node.endpoint(), "eth_getBalance", json!([format!("{to:#x}"), "latest"])).await;
    let tx = TransactionRequest::default().with_to(to).with_value(U256::from(12_345u64));
    let receipt = wallet
        .send_transaction(tx)
        .await
        .expect("sent through the gateway")
        .get_receipt()
        .await
        .expect("mined");
    assert!(receipt.status());
    // Give the fan-out's slower sends time to land before counting.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for proxy in [&failing, &a, &b] {
        assert_eq!(proxy.requests_of("eth_sendRawTransaction"), 1, "exactly once each, no retry");
    }
    assert_eq!(failing.injected(Fault::Status(503)), 1);
    let after =
        direct(&node.endpoint(), "eth_getBalance", json!([format!("{to:#x}"), "latest"])).await;
    let delta = U256::from_str_radix(after.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        - U256::from_str_radix(before.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(delta, U256::from(12_345u64), "one transfer, not three");
}
