//! `/cairn/tip` follows the node as it mines, and answers are signed
//! against the tip the sidecar has read.

use serde_json::json;

use cairn_test_utils::anvil;

use crate::support::{ANVIL_CHAIN, config, get, post, quantity, rpc, serve, wait_until};

#[tokio::test]
async fn the_tip_tracks_anvil_as_blocks_are_mined() {
    let anvil = anvil();
    let sidecar = serve(config(&anvil.endpoint(), ANVIL_CHAIN)).await;
    let url = format!("{}/cairn/tip", sidecar.url);
    let (status, first) = get(&url).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["chain"], ANVIL_CHAIN);
    let latest = rpc(&anvil.endpoint(), "eth_getBlockByNumber", json!(["latest", false])).await;
    assert_eq!(first["number"].as_u64(), Some(quantity(&latest["number"])));
    assert_eq!(first["hash"], latest["hash"]);

    rpc(&anvil.endpoint(), "anvil_mine", json!(["0x3"])).await;
    let target = first["number"].as_u64().unwrap() + 3;
    wait_until("the tip to move 3 blocks", async || {
        get(&url).await.1["number"].as_u64() == Some(target)
    })
    .await;
    let (_, moved) = get(&url).await;
    let block =
        rpc(&anvil.endpoint(), "eth_getBlockByNumber", json!([format!("{target:#x}"), false]))
            .await;
    assert_eq!(moved["hash"], block["hash"]);
    assert!(moved["observed_at"].as_u64() >= first["observed_at"].as_u64());
    assert_eq!(sidecar.state.tip().map(|t| t.number), Some(target));

    // An answer now names the new tip.
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"});
    let answer = post(&sidecar.url, &request).await;
    assert_eq!(quantity(&answer.body["result"]), target);
    assert_eq!(answer.header().block_number, target);
    assert_eq!(answer.header().block_hash.to_string(), block["hash"].as_str().unwrap());
}
