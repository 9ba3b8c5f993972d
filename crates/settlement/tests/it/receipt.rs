use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolStruct;
use cairn_arweave::DataItem;
use cairn_core::{
    eip712::settlement_domain,
    netting::{BatchPolicy, ClosedBatch},
    signature::recover_address,
};
use cairn_settlement::{build_receipt, receipt::ReceiptBody, signed_intents, write_receipt};
use cairn_signer::{LocalSigner, Signer};
use cairn_store::{CloseOutcome, NewIntent, Store};
use cairn_test_utils::{DEV_KEY_0, DEV_KEY_1, index_deposit, stores};

const CHAIN: &str = "eip155:31337";
const SETTLEMENT: Address = Address::repeat_byte(0x5e);

/// Two payers' intents accepted and closed into batch 1.
pub(crate) async fn closed_batch(store: &Store) -> ClosedBatch {
    let asset = Address::repeat_byte(0xa0);
    for payer in [1u8, 2] {
        index_deposit(store, CHAIN, Address::repeat_byte(payer), asset, U256::from(1_000)).await;
    }
    let intents: Vec<NewIntent> = (0..6u64)
        .map(|n| NewIntent {
            hash: keccak256(n.to_be_bytes()),
            payer: Address::repeat_byte(1 + (n % 2) as u8),
            payee: Address::repeat_byte(0x50 + (n % 3) as u8),
            asset,
            amount: U256::from(10 + n),
            nonce: U256::from(n),
            valid_until: u64::MAX / 2,
            signature: [1; 65],
        })
        .collect();
    store.accept_intents(CHAIN, &intents, 100).await.unwrap();
    let policy =
        BatchPolicy { min_intents: 1, max_intents: 1, window_seconds: 0, max_deltas: 1_000 };
    match store.close_open_batch(CHAIN, &policy, 110).await.unwrap() {
        CloseOutcome::Closed(batch) => *batch,
        other => panic!("expected a closed batch, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_name_their_batch_and_are_written_once_on_both_backends() {
    let stores = stores().await;
    let domain = settlement_domain(31337, SETTLEMENT);
    let receipt_key = LocalSigner::from_hex(DEV_KEY_1).unwrap();
    let settlement_key = LocalSigner::from_hex(DEV_KEY_0).unwrap();
    for store in stores.both() {
        let batch = closed_batch(store).await;

        let written = write_receipt(
            store,
            CHAIN,
            &domain,
            1,
            &receipt_key,
            &settlement_key,
            cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
        )
        .await
        .unwrap()
        .expect("batch 1 exists");
        let item = &written.item;
        item.verify().unwrap();
        assert_eq!(item.owner(), receipt_key.public_key().as_slice());
        assert_eq!(item.tag("Batch-Id"), Some(&b"1"[..]));
        assert_eq!(item.tag("App-Name"), Some(&b"Cairn"[..]));
        assert_eq!(
            item.tag("Intents-Root"),
            Some(format!("{:#x}", batch.body.intents_root).as_bytes())
        );
        let body: ReceiptBody = serde_json::from_slice(item.data()).unwrap();
        assert_eq!(body.batch, batch, "the receipt carries the whole batch");
        assert_eq!((body.chain.as_str(), body.settlement), (CHAIN, SETTLEMENT));

        // The commitment names the receipt, and the settlement key signed it.
        assert_eq!(written.commitment.receiptId, B256::from(item.id()));
        assert_eq!(written.commitment, batch.body.commit(B256::from(item.id())));
        assert_eq!(written.commitment_hash, written.commitment.eip712_signing_hash(&domain));
        assert_eq!(
            recover_address(&written.commitment_hash, &written.commitment_signature).unwrap(),
            settlement_key.address()
        );

        // Recorded: the batch's stage, and the item waiting in the outbox.
        let (_, stage) = store.closed_batch(CHAIN, 1).await.unwrap().unwrap();
        assert_eq!(stage, "receipt_written");
        assert_eq!(
            store.batch_receipt(CHAIN, 1).await.unwrap(),
            Some((item.id_base64url(), written.commitment_hash))
        );
        let entry = store.outbox_entry(&item.id_base64url()).await.unwrap().unwrap();
        assert_eq!(
            (entry.kind.as_str(), entry.state.as_str(), entry.attempts),
            ("batch-receipt", "pending", 0)
        );
        assert_eq!(DataItem::decode(&entry.payload).unwrap(), *item);

        // After a crash the step runs again: same bytes, nothing new.
        let again = write_receipt(
            store,
            CHAIN,
            &domain,
            1,
            &receipt_key,
            &settlement_key,
            cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(again.item.encode(), item.encode(), "deterministic signatures, same item");
        // A different receipt for the same batch is refused.
        let other_key = LocalSigner::from_hex(DEV_KEY_0).unwrap();
        let other = write_receipt(
            store,
            CHAIN,
            &domain,
            1,
            &other_key,
            &settlement_key,
            cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
        )
        .await;
        assert!(other.is_err(), "a second, different receipt must not replace the first");
        assert_eq!(store.batch_receipt(CHAIN, 1).await.unwrap().unwrap().0, item.id_base64url());

        // No such batch: nothing to write.
        assert!(
            write_receipt(
                store,
                CHAIN,
                &domain,
                9,
                &receipt_key,
                &settlement_key,
                cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES
            )
            .await
            .unwrap()
            .is_none()
        );
        let signed = signed_intents(store, CHAIN, 1).await.unwrap();
        assert_eq!(signed.len(), batch.intents.len());
        let rebuilt = build_receipt(
            CHAIN,
            &domain,
            &batch,
            &signed,
            &receipt_key,
            &settlement_key,
            None,
            cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
        )
        .await
        .unwrap();
        assert_eq!(rebuilt.item.id(), item.id());
    }
    stores.cleanup().await;
}
