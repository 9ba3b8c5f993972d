//! Evidence against a provider's operator lowers its endpoints' reputation
//! while it is recent (`service.evidence_window_secs`), and `why` says so.

use alloy::primitives::{Address, B256};
use axum::http::StatusCode;
use cairn_core::{
    ChainId,
    answer::AnswerHeader,
    evidence::{EVIDENCE_VERSION, Evidence, EvidenceKind, SignedAnswer},
};
use cairn_service::http::app;
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_3, address_of};
use serde_json::{Value, json};

use crate::support::{Chain, get, p1, p2, service_config};

/// A record against `accused`; the store keeps records as given, the
/// gateway is what checks their signatures before storing them.
fn record(accused: Address, block: u64) -> Evidence {
    let chain: ChainId = "eip155:1".parse().unwrap();
    let header = AnswerHeader {
        chain: chain.clone(),
        block_number: block,
        block_hash: B256::repeat_byte(0xab),
        signature: [0x11; 65],
    }
    .render();
    let answer = |operator: Address, result: &str| SignedAnswer {
        operator,
        endpoint: None,
        request: json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}),
        response: json!({"jsonrpc": "2.0", "id": 1, "result": result}),
        header: header.clone(),
    };
    Evidence {
        version: EVIDENCE_VERSION,
        chain,
        kind: EvidenceKind::QuorumMismatch { k: 2 },
        accused,
        ignored_fields: vec![],
        answers: vec![
            answer(accused, "0x1"),
            answer(Address::repeat_byte(1), "0x2"),
            answer(Address::repeat_byte(2), "0x2"),
        ],
    }
}

fn provider_id(address: Address) -> String {
    format!("eip155:31337:{}", address.to_checksum(None))
}

async fn rpc_endpoints(app: &axum::Router) -> Vec<Value> {
    let answer = get(app, "/v1/services?chain=eip155:1&kind=rpc").await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["items"].as_array().unwrap().clone()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_evidence_lowers_reputation_and_rank_on_both_backends() {
    let chain = Chain::with_providers().await;
    let stores = cairn_test_utils::stores().await;
    for store in stores.both() {
        chain.index_into(store).await;
        let app = app(chain.state(store, service_config()));
        // Unprobed: P2 (0.4 of the stake) leads P1 (0.6, slashed once).
        let before = rpc_endpoints(&app).await;
        assert_eq!(before[0]["provider"], provider_id(p2()), "{before:?}");
        assert_eq!(before[0]["why"]["evidence"], 0);
        assert_eq!(before[0]["why"]["reputation_factor"], 1.0);

        // One record against P2's operator now; one against P1's operator
        // older than the window (7 days by default).
        store.put_evidence(&record(address_of(DEV_KEY_3), 7), now()).await.unwrap();
        store
            .put_evidence(&record(address_of(DEV_KEY_1), 8), now() - 8 * 24 * 3_600)
            .await
            .unwrap();

        let after = rpc_endpoints(&app).await;
        let p2_endpoint = after.iter().find(|s| s["provider"] == provider_id(p2())).unwrap();
        let why = &p2_endpoint["why"];
        assert_eq!(why["evidence"], 1, "{why}");
        assert_eq!(why["reputation_factor"], 0.5, "{why}");
        assert!((why["score"].as_f64().unwrap() - 0.1).abs() < 1e-9, "{why}");
        let summary = why["summary"].as_str().unwrap();
        assert!(summary.contains("1 recent evidence record against its operator"), "{summary}");
        // 0.4 × 0.5 × 0.5 = 0.1 now ranks below P1's 0.15.
        assert_eq!(after[0]["provider"], provider_id(p1()), "{after:?}");
        let p1_why = &after[0]["why"];
        assert_eq!(p1_why["evidence"], 0, "the old record is outside the window: {p1_why}");
        assert_eq!(p1_why["reputation_factor"], 0.5, "its slash only");
        assert!(!p1_why["summary"].as_str().unwrap().contains("evidence"), "{p1_why}");
    }

    // A window long enough takes the old record in as well.
    let store = &stores.sqlite;
    let mut config = service_config();
    config.evidence_window_secs = 30 * 24 * 3_600;
    let app = app(chain.state(store, config));
    let wide = rpc_endpoints(&app).await;
    let p1_endpoint = wide.iter().find(|s| s["provider"] == provider_id(p1())).unwrap();
    assert_eq!(p1_endpoint["why"]["evidence"], 1, "{wide:?}");
    assert_eq!(p1_endpoint["why"]["reputation_factor"], 0.25);
    stores.cleanup().await;
}
