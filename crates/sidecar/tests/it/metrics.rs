//! `/metrics` counts calls by method and outcome and times the node.

use serde_json::json;

use cairn_test_utils::anvil;

use crate::support::{ANVIL_CHAIN, config, get_text, post, post_bytes, serve};

#[tokio::test]
async fn metrics_count_calls_by_method_and_outcome() {
    let anvil = anvil();
    let sidecar = serve(config(&anvil.endpoint(), ANVIL_CHAIN)).await;
    let call = |method: &str| json!({"jsonrpc": "2.0", "id": 1, "method": method});
    for _ in 0..2 {
        assert_eq!(post(&sidecar.url, &call("eth_blockNumber")).await.status, 200);
    }
    post_bytes(&sidecar.url, b"{nope".to_vec()).await;
    // A name no node has is still forwarded (the node answers an error),
    // but counted under `other`: clients do not choose the label set.
    post(&sidecar.url, &call("x\"}bad{")).await;

    let text = get_text(&format!("{}/metrics", sidecar.url)).await;
    let chain = format!("chain=\"{ANVIL_CHAIN}\"");
    for line in [
        format!(
            "cairn_sidecar_requests_total{{{chain},method=\"eth_blockNumber\",outcome=\"ok\"}} 2"
        ),
        format!(
            "cairn_sidecar_requests_total{{{chain},method=\"none\",outcome=\"parse_error\"}} 1"
        ),
        format!("cairn_sidecar_requests_total{{{chain},method=\"other\",outcome=\"rpc_error\"}} 1"),
        format!("cairn_sidecar_signed_answers_total{{{chain}}} 3"),
        format!(
            "cairn_sidecar_upstream_duration_seconds_count{{{chain},call=\"forward\",outcome=\"ok\"}} 3"
        ),
        format!("cairn_sidecar_upstream_up{{{chain}}} 1"),
    ] {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
    }
    assert!(text.contains("# TYPE cairn_sidecar_upstream_duration_seconds histogram"));
    assert!(!text.contains("bad{"), "a client's method name became a label:\n{text}");
    let undocumented = cairn_test_utils::undocumented_metrics(&text);
    assert!(undocumented.is_empty(), "not in docs/operations.md: {undocumented:?}");
}
