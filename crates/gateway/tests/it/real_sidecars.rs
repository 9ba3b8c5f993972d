//! The gateway over the real provider sidecar (`cairn_sidecar`, what
//! `cairn provider serve` runs), one of them in front of a lying node.

use cairn_core::evidence::EvidenceKind;
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Fault, FaultyRpc, address_of, anvil,
};
use serde_json::json;

use crate::support::{config, direct, endpoint, gateway, post, signing_proxy};

#[tokio::test(flavor = "multi_thread")]
async fn a_lie_signed_by_a_real_sidecar_is_outvoted_and_becomes_evidence() {
    let node = anvil();
    let lying_node = FaultyRpc::start(node.endpoint(), |method, n| {
        if method == "eth_getBalance" && n == 0 { Fault::AlterResult } else { Fault::Pass }
    })
    .await;
    let a = signing_proxy(node.endpoint(), DEV_KEY_1).await;
    let b = signing_proxy(node.endpoint(), DEV_KEY_2).await;
    let liar = signing_proxy(lying_node.url(), DEV_KEY_3).await;
    let mut config = config();
    config.require_signed = true;
    let (gateway, evidence) = gateway(
        config,
        vec![
            endpoint(a.url(), address_of(DEV_KEY_1)),
            endpoint(b.url(), address_of(DEV_KEY_2)),
            endpoint(liar.url(), address_of(DEV_KEY_3)),
        ],
    )
    .await;
    let account = format!("{:#x}", address_of(DEV_KEY_0));
    let truth = direct(&node.endpoint(), "eth_getBalance", json!([account, "latest"])).await;
    let answer = post(
        &gateway,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": [account, "latest"]}),
    )
    .await;
    assert_eq!(answer["result"], truth, "{answer}");
    assert_eq!(lying_node.injected(Fault::AlterResult), 1);
    let records = evidence.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].kind, EvidenceKind::QuorumMismatch { k: 2 });
    assert_eq!(records[0].accused, address_of(DEV_KEY_3));
    let verdict = records[0].verify().expect("the sidecars' signatures verify");
    assert_eq!(verdict.witnesses.len(), 2);
    // Every other call through real sidecars is signed and accepted.
    let answer = post(&gateway, &json!({"jsonrpc": "2.0", "id": 2, "method": "eth_chainId"})).await;
    assert_eq!(answer["result"], "0x7a69");
}
