use alloy_primitives::{Address, B256};
use cairn_core::{
    ChainId,
    answer::AnswerHeader,
    evidence::{EVIDENCE_VERSION, Evidence, EvidenceKind, SignedAnswer},
};
use cairn_store::{EvidenceFilter, Store};
use cairn_test_utils::stores as backends;
use serde_json::json;

/// A record of the right shape; the store keeps records, the gateway and
/// `cairn evidence verify` check their signatures.
fn record(accused: u8, block: u64, balance: &str) -> Evidence {
    let chain: ChainId = "eip155:31337".parse().unwrap();
    let header = AnswerHeader {
        chain: chain.clone(),
        block_number: block,
        block_hash: B256::repeat_byte(0xab),
        signature: [0x11; 65],
    }
    .render();
    let answer = |operator: Address, result: &str| SignedAnswer {
        operator,
        endpoint: Some("http://127.0.0.1:1".into()),
        request: json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x01", "0x2a"]}),
        response: json!({"jsonrpc": "2.0", "id": 1, "result": result}),
        header: header.clone(),
    };
    let accused = Address::repeat_byte(accused);
    Evidence {
        version: EVIDENCE_VERSION,
        chain,
        kind: EvidenceKind::QuorumMismatch { k: 2 },
        accused,
        ignored_fields: vec![],
        answers: vec![
            answer(accused, balance),
            answer(Address::repeat_byte(0x01), "0x10"),
            answer(Address::repeat_byte(0x02), "0x10"),
        ],
    }
}

async fn evidence_is_stored_once_and_read_back(store: &Store) {
    let first = record(0xaa, 42, "0x11");
    assert!(store.put_evidence(&first, 100).await.unwrap());
    assert!(!store.put_evidence(&first, 101).await.unwrap(), "one record, stored once");
    let row = store.evidence(&first.hash()).await.unwrap().expect("stored");
    assert_eq!(row.evidence, first);
    assert_eq!(row.hash, first.hash());
    assert_eq!(row.kind, "quorum_mismatch");
    assert_eq!(row.accused, format!("{:#x}", Address::repeat_byte(0xaa)));
    assert_eq!(row.block_number, 42);
    assert_eq!(row.recorded_at, 100);
    assert_eq!(store.evidence(&B256::repeat_byte(7)).await.unwrap(), None);

    let second = record(0xbb, 43, "0x12");
    let third = record(0xaa, 44, "0x13");
    store.put_evidence(&second, 200).await.unwrap();
    store.put_evidence(&third, 300).await.unwrap();
    let all =
        store.list_evidence(&EvidenceFilter { limit: 10, ..Default::default() }).await.unwrap();
    let times: Vec<i64> = all.iter().map(|r| r.recorded_at).collect();
    assert_eq!(times, [300, 200, 100], "newest first");
    let accused = store
        .list_evidence(&EvidenceFilter {
            accused: Some(format!("{:#x}", Address::repeat_byte(0xaa))),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(accused.iter().map(|r| r.block_number).collect::<Vec<_>>(), [44, 42]);
    let page = store
        .list_evidence(&EvidenceFilter { before: Some(300), limit: 1, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].evidence, second);
    let other_chain = store
        .list_evidence(&EvidenceFilter {
            chain: Some("eip155:1".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(other_chain.is_empty());

    let counts = store.evidence_counts(0).await.unwrap();
    let (aa, bb) = (
        format!("{:#x}", Address::repeat_byte(0xaa)),
        format!("{:#x}", Address::repeat_byte(0xbb)),
    );
    assert_eq!(counts.get(&aa), Some(&2));
    assert_eq!(counts.get(&bb), Some(&1));
    let recent = store.evidence_counts(200).await.unwrap();
    assert_eq!(
        (recent.get(&aa), recent.get(&bb)),
        (Some(&1), Some(&1)),
        "recorded at or after 200"
    );
    assert!(store.evidence_counts(301).await.unwrap().is_empty());
}

#[tokio::test]
async fn evidence_round_trips_on_both_backends() {
    let stores = backends().await;
    for store in stores.both() {
        evidence_is_stored_once_and_read_back(store).await;
    }
    stores.cleanup().await;
}
