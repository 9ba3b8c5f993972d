use cairn_core::evidence::EvidenceKind;
use cairn_gateway::rpc::NO_QUORUM;
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Fault, FaultyRpc, address_of, anvil,
};
use serde_json::json;

use crate::support::{config, direct, endpoint, gateway, post, signing_proxy, status};

/// Three providers over one chain; the third's node lies about balances
/// the first time it is asked, and its proxy signs the lie.
#[tokio::test]
async fn k_of_n_answers_the_truth_and_the_liars_signature_is_evidence() {
    let node = anvil();
    let liar_node = FaultyRpc::start(node.endpoint(), |method, n| {
        if method == "eth_getBalance" && n == 0 { Fault::AlterResult } else { Fault::Pass }
    })
    .await;
    let honest_a = signing_proxy(node.endpoint(), DEV_KEY_1).await;
    let honest_b = signing_proxy(node.endpoint(), DEV_KEY_2).await;
    let liar = signing_proxy(liar_node.url(), DEV_KEY_3).await;
    let (gateway, evidence) = gateway(
        config(),
        vec![
            endpoint(honest_a.url(), address_of(DEV_KEY_1)),
            endpoint(honest_b.url(), address_of(DEV_KEY_2)),
            endpoint(liar.url(), address_of(DEV_KEY_3)),
        ],
    )
    .await;
    let account = format!("{:#x}", address_of(DEV_KEY_0));
    let truth = direct(&node.endpoint(), "eth_getBalance", json!([account, "latest"])).await;
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "eth_getBalance", "params": [account, "latest"]});
    let answer = post(&gateway, &call).await;
    assert_eq!(answer["result"], truth, "the quorum's answer: {answer}");
    assert_eq!(liar_node.injected(Fault::AlterResult), 1, "the liar was asked and lied");

    let records = evidence.records();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record.kind, EvidenceKind::QuorumMismatch { k: 2 });
    assert_eq!(record.accused, address_of(DEV_KEY_3));
    // The block was pinned: the request names a number, not "latest".
    assert_eq!(record.answers[0].request["params"][1], "0x0");
    let verdict = record.verify().expect("the evidence verifies");
    assert_eq!(verdict.witnesses.len(), 2);
    // What `cairn evidence verify FILE` reads back from the JSON.
    let text = serde_json::to_string_pretty(record).expect("json");
    let (read, verdict) = cairn_gateway::evidence::verify_text(&text).expect("verifies from text");
    assert_eq!(verdict.accused, address_of(DEV_KEY_3));
    assert!(cairn_gateway::evidence::describe(&read, &verdict).contains("VALID"));

    // Asked again at the same block, the liar signs the truth: two
    // different signed answers to one question are evidence on their own.
    let answer = post(&gateway, &call).await;
    assert_eq!(answer["result"], truth);
    let records = evidence.records();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1].kind, EvidenceKind::ConflictingAnswers);
    assert_eq!(records[1].accused, address_of(DEV_KEY_3));
    records[1].verify().expect("conflict verifies");

    let status = status(&gateway).await;
    assert_eq!(status["counters"]["quorum_mismatches"], 1);
    assert_eq!(status["counters"]["evidence_stored"], 2);
    let liar_status = status["chains"][0]["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|e| e["url"] == liar.url())
        .expect("liar listed")
        .clone();
    assert_eq!(liar_status["disagreements"], 1, "the liar's standing fell");
}

#[tokio::test]
async fn without_k_agreeing_the_client_gets_a_no_quorum_error() {
    let node = anvil();
    let liar_node = FaultyRpc::start(node.endpoint(), |_, _| Fault::AlterResult).await;
    let honest_a = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let honest_b = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let mut config = config();
    config.quorum.k = 3;
    let (gateway, evidence) = gateway(
        config,
        vec![
            endpoint(honest_a.url(), address_of(DEV_KEY_1)),
            endpoint(honest_b.url(), address_of(DEV_KEY_2)),
            endpoint(liar_node.url(), address_of(DEV_KEY_3)),
        ],
    )
    .await;
    let account = format!("{:#x}", address_of(DEV_KEY_0));
    let answer = post(
        &gateway,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": [account, "latest"]}),
    )
    .await;
    assert_eq!(answer["error"]["code"], NO_QUORUM, "{answer}");
    assert!(evidence.records().is_empty(), "unsigned answers prove nothing");
}

#[tokio::test]
async fn unsigned_dissent_is_outvoted_but_not_evidence() {
    let node = anvil();
    let liar_node = FaultyRpc::start(node.endpoint(), |_, _| Fault::AlterResult).await;
    let honest_a = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let honest_b = FaultyRpc::start(node.endpoint(), |_, _| Fault::Pass).await;
    let (gateway, evidence) = gateway(
        config(),
        vec![
            endpoint(honest_a.url(), address_of(DEV_KEY_1)),
            endpoint(honest_b.url(), address_of(DEV_KEY_2)),
            endpoint(liar_node.url(), address_of(DEV_KEY_3)),
        ],
    )
    .await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
        "params": [{"to": "0x0000000000000000000000000000000000000004", "data": "0x1234"}, "latest"]});
    let answer = post(&gateway, &call).await;
    assert_eq!(answer["result"], "0x1234", "the identity precompile's answer: {answer}");
    assert!(evidence.records().is_empty());
    assert_eq!(status(&gateway).await["counters"]["quorum_mismatches"], 1);
}

/// `eth_getLogs` with a moving end is pinned before it is fanned out: every
/// endpoint is asked for the same concrete range.
#[tokio::test]
async fn a_log_query_is_pinned_to_one_block_for_every_endpoint() {
    let node = anvil();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut proxies = Vec::new();
    for _ in 0..3 {
        let seen = seen.clone();
        proxies.push(
            FaultyRpc::start_with_params(node.endpoint(), move |method, params, _| {
                if method == "eth_getLogs" {
                    seen.lock().unwrap().push(params.clone());
                }
                Fault::Pass
            })
            .await,
        );
    }
    let keys = [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3];
    let endpoints =
        proxies.iter().zip(keys).map(|(p, k)| endpoint(p.url(), address_of(k))).collect();
    let (gateway, _) = gateway(config(), endpoints).await;
    let answer = post(
        &gateway,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [{"fromBlock": "earliest"}]}),
    )
    .await;
    assert_eq!(answer["result"], json!([]), "{answer}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "asked of all three: {seen:?}");
    for params in &seen {
        assert_eq!(params[0]["fromBlock"], "earliest", "a fixed tag is left alone");
        assert_eq!(params[0]["toBlock"], "0x0", "the missing end became the pinned block");
    }
}
