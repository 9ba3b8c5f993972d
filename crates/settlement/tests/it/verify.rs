//! `verify_batch` against anvil and arlocal: an honest batch passes every
//! check; a receipt that carries a tampered intent and was signed by a key
//! other than the settlement signer — yet was settled on chain — fails
//! exactly those checks; a batch the chain has not settled is not verified.

use alloy_primitives::{Address, U256};
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain},
    netting::BatchPolicy,
};
use cairn_settlement::{
    Gateway, Pipeline, Step, Submitted, VerifyBatchError, build_receipt, record_written,
    signed_intents, verify_batch,
};
use cairn_signer::{LocalSigner, sign_typed};
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, address_of, arlocal, stores};

const TOKEN: u128 = 1_000_000_000_000_000_000;
const CHAIN: &str = "eip155:31337";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_batches_verify_and_forged_receipts_do_not() {
    let stores = stores().await;
    let store = &stores.sqlite;
    let node = arlocal();
    let crate::Funded { anvil, deployer, deployment } =
        crate::funded(store, &[DEV_KEY_1, DEV_KEY_2], 100 * TOKEN).await;
    let asset = deployment.stake_token;
    let domain = settlement_domain(31337, deployment.settlement);
    let accept = |nonces: std::ops::Range<u64>| {
        let (domain, store) = (domain.clone(), store.clone());
        async move {
            let mut intents = Vec::new();
            for n in nonces {
                let key = if n % 2 == 0 { DEV_KEY_1 } else { DEV_KEY_2 };
                let intent = PaymentIntent {
                    payer: address_of(key),
                    payee: Address::repeat_byte(0x30 + (n % 3) as u8),
                    asset,
                    amount: U256::from(TOKEN / 10 * u128::from(n + 1)),
                    nonce: U256::from(n),
                    validUntil: u64::MAX,
                };
                let signer = LocalSigner::from_hex(key).unwrap();
                let signature = sign_typed(&signer, &intent, &domain).await.unwrap().to_bytes();
                intents.push(crate::stored_intent(&intent, &domain, signature));
            }
            store.accept_intents(CHAIN, &intents, 10).await.unwrap();
        }
    };
    let pipeline = crate::pipeline(
        store,
        &anvil,
        &deployment,
        BatchPolicy { min_intents: 1, max_intents: 1_000, window_seconds: 0, max_deltas: 1_000 },
    );
    let settle = |batch_id: u64| {
        let (pipeline, node, anvil, deployment) = (&pipeline, &node, &anvil, &deployment);
        async move {
            crate::store_receipts(store, node).await;
            loop {
                match pipeline.step(100).await.unwrap() {
                    Step::Submitted(id, Submitted::Mined { .. }) if id == batch_id => break,
                    Step::Submitted(id, _) if id == batch_id => {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await
                    }
                    other => panic!("batch {batch_id}: unexpected {other:?}"),
                }
            }
            crate::index(store, anvil, deployment).await;
        }
    };
    let gateways = [Gateway::new(node.url().parse().unwrap())];
    let verify = |id| {
        verify_batch(&deployer, 31337, deployment.settlement, deployment.start_block, &gateways, id)
    };

    // Batch 1, honest: every check passes.
    accept(0..12).await;
    assert_eq!(pipeline.step(20).await.unwrap(), Step::Closed(1));
    assert_eq!(pipeline.step(21).await.unwrap(), Step::ReceiptWritten(1));
    settle(1).await;
    let honest = verify(1).await.unwrap();
    assert!(honest.passed(), "{honest:#?}");
    let names: Vec<&str> = honest.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "receipt id",
            "receipt signature",
            "receipt body",
            "intent signatures",
            "netting",
            "commitment"
        ]
    );
    assert_eq!(honest.receipt_url, format!("{}{}", node.url(), honest.receipt_id));

    // Batch 2: its receipt says one intent paid more than its payer signed,
    // and another key signed the receipt. The settlement signer still
    // commits to it, so the chain accepts it; only the receipt's intents
    // show it (its owner is not evidence: the commitment binds the item).
    accept(12..18).await;
    assert_eq!(pipeline.step(30).await.unwrap(), Step::Closed(2));
    let (batch, _) = store.closed_batch(CHAIN, 2).await.unwrap().unwrap();
    let mut signed = signed_intents(store, CHAIN, 2).await.unwrap();
    signed[0].intent.amount += U256::from(1);
    let stranger = LocalSigner::from_hex(DEV_KEY_3).unwrap();
    let forged = build_receipt(
        CHAIN,
        &domain,
        &batch,
        &signed,
        &stranger,
        pipeline.settlement_signer.as_ref(),
        None,
        cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
    )
    .await
    .unwrap();
    record_written(store, CHAIN, 2, &forged).await.unwrap();
    settle(2).await;
    let report = verify(2).await.unwrap();
    let failed: Vec<&str> = report.checks.iter().filter(|c| !c.passed).map(|c| c.name).collect();
    assert_eq!(failed, ["intent signatures"], "{report:#?}");
    assert!(report.checks.iter().any(|c| c.name == "chained" && c.passed), "{report:#?}");

    // Batch 3 is too large for its receipt (here: over 1,000 bytes): its
    // intents travel in a second item the receipt names by id and sha256,
    // and the batch settles only once both are stored.
    let small = Pipeline { max_receipt_bytes: 1_000, ..pipeline.clone() };
    accept(18..30).await;
    assert_eq!(small.step(40).await.unwrap(), Step::Closed(3));
    assert_eq!(small.step(41).await.unwrap(), Step::ReceiptWritten(3));
    let (receipt_id, _) = store.batch_receipt(CHAIN, 3).await.unwrap().unwrap();
    let outbox = store.due_outbox(i64::MAX / 2, 10).await.unwrap();
    assert_eq!(outbox.len(), 2, "the receipt and its intents item");
    let receipt = cairn_arweave::DataItem::decode(
        &outbox.iter().find(|e| e.item_id == receipt_id).unwrap().payload,
    )
    .unwrap();
    let body: serde_json::Value = serde_json::from_slice(receipt.data()).unwrap();
    assert!(body["signed_intents"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(body["intents_item"]["intent_count"], 12);
    settle(3).await;
    let pointed = verify(3).await.unwrap();
    assert!(pointed.passed(), "{pointed:#?}");
    assert!(pointed.checks.iter().any(|c| c.name == "intents item"), "{pointed:#?}");
    assert!(
        pointed
            .checks
            .iter()
            .any(|c| c.name == "intent signatures" && c.detail.contains("all 12 intents")),
        "{pointed:#?}"
    );

    // Batch 4 does not exist on chain.
    assert!(matches!(verify(4).await, Err(VerifyBatchError::NotSettled(4))));
    // A gateway that does not have the receipt cannot verify it.
    let elsewhere = arlocal();
    let nowhere = [Gateway::new(elsewhere.url().parse().unwrap())];
    let unavailable =
        verify_batch(&deployer, 31337, deployment.settlement, deployment.start_block, &nowhere, 1)
            .await;
    assert!(
        matches!(unavailable, Err(VerifyBatchError::ReceiptUnavailable { .. })),
        "{unavailable:?}"
    );
    stores.cleanup().await;
}
