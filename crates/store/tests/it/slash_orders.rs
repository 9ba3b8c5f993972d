//! The slashing pipeline's rows: one per evidence and deployment, moved by
//! compare-and-set on the stage, the evidence receipt entering the outbox
//! with the stage change.

use alloy_primitives::{B256, U256};
use cairn_store::{SlashOrderFilter, SlashOrderRow, Store, slash_stage as stage};
use cairn_test_utils::{evidence::conflicting_answers, stores as backends};

const CHAIN: &str = "eip155:31337";

async fn orders_move_once_per_stage(store: &Store) {
    let operator = alloy::signers::local::PrivateKeySigner::from_slice(&[0x42; 32]).unwrap();
    let evidence = conflicting_answers(&operator);
    store.put_evidence(&evidence, 10).await.unwrap();
    let pending = store.unpursued_evidence(CHAIN, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    let row = SlashOrderRow::new(
        CHAIN,
        &pending[0],
        "0x00000000000000000000000000000000000000aa".into(),
        1,
        U256::from(10u64).pow(U256::from(19u64)),
        stage::PENDING,
        100,
    );
    assert!(store.create_slash_order(&row).await.unwrap());
    assert!(!store.create_slash_order(&row).await.unwrap(), "one order per evidence and chain");
    assert!(store.unpursued_evidence(CHAIN, 10).await.unwrap().is_empty());
    // Another deployment pursues the same evidence on its own.
    assert_eq!(store.unpursued_evidence("eip155:1", 10).await.unwrap().len(), 1);

    let stored = store.slash_order(CHAIN, &evidence.hash()).await.unwrap().unwrap();
    assert_eq!(stored.amount, row.amount);
    assert_eq!(stored.operator, format!("{:#x}", operator.address()));
    assert_eq!(store.due_slash_orders(CHAIN, 100, 10).await.unwrap().len(), 1);
    assert!(store.due_slash_orders(CHAIN, 99, 10).await.unwrap().is_empty(), "not due yet");

    // The receipt and the stage change land together, once.
    assert!(store.record_slash_receipt(&stored, "receipt-id", b"item bytes").await.unwrap());
    assert!(!store.record_slash_receipt(&stored, "receipt-id", b"item bytes").await.unwrap());
    let entry = store.outbox_entry("receipt-id").await.unwrap().expect("in the outbox");
    assert_eq!(entry.kind, "evidence-receipt");
    assert_eq!(entry.payload, b"item bytes");
    let written = store.slash_order(CHAIN, &evidence.hash()).await.unwrap().unwrap();
    assert_eq!(written.stage, stage::RECEIPT_WRITTEN);
    assert_eq!(written.receipt_id.as_deref(), Some("receipt-id"));

    // Compare-and-set: a writer that read an older stage changes nothing.
    let mut signed = written.clone();
    signed.stage = stage::SIGNED.into();
    signed.nonce = Some(U256::MAX);
    signed.deadline = Some(u64::from(u32::MAX));
    signed.signature = Some([7; 65]);
    signed.tx_hash = Some(B256::repeat_byte(3));
    assert!(!store.save_slash_order(stage::PENDING, &signed).await.unwrap());
    assert!(store.save_slash_order(stage::RECEIPT_WRITTEN, &signed).await.unwrap());
    let read = store.slash_order(CHAIN, &evidence.hash()).await.unwrap().unwrap();
    assert_eq!(
        (read.nonce, read.deadline, read.signature, read.tx_hash),
        (signed.nonce, signed.deadline, signed.signature, signed.tx_hash)
    );

    // The provider's recent order is found while it is open or slashed.
    let provider = "0x00000000000000000000000000000000000000aa";
    assert!(store.recent_slash_order(CHAIN, provider, 0).await.unwrap().is_some());
    assert!(store.recent_slash_order(CHAIN, provider, i64::MAX).await.unwrap().is_none());
    let listed = store
        .slash_orders(&SlashOrderFilter {
            stage: Some(stage::SIGNED.into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        store
            .slash_orders(&SlashOrderFilter {
                stage: Some(stage::SLASHED.into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    let mut refused = read.clone();
    refused.stage = stage::REFUSED.into();
    assert!(store.save_slash_order(stage::SIGNED, &refused).await.unwrap());
    assert!(
        store.due_slash_orders(CHAIN, i64::MAX, 10).await.unwrap().is_empty(),
        "an end stage is never due"
    );
    assert!(store.recent_slash_order(CHAIN, provider, 0).await.unwrap().is_none());
    assert!(!store.slash_indexed(CHAIN, &U256::MAX).await.unwrap());
}

#[tokio::test]
async fn slash_orders_on_both_backends() {
    let stores = backends().await;
    for store in stores.both() {
        orders_move_once_per_stage(store).await;
    }
    stores.cleanup().await;
}
